"""Which index does each query of the store use? ``EXPLAIN QUERY PLAN`` of every traced statement.

Run from the repository root::

    SQLTRACE_OUT=/tmp/trace.jsonl .venv/bin/python -m pytest -q -n 2 -p bench.sqltrace -k "not postgresql" tests/...
    .venv/bin/python -m bench.index_usage --trace /tmp/trace.jsonl --db /tmp/scale.db [--tables cases,events,outbox]

The trace (``bench/sqltrace.py``) holds every distinct statement the store
ran on SQLite during those tests, arguments inlined. Each is explained against
``--db`` (a database of ``bench.store_scale --keep``: the planner chooses by
what a big database holds) and the indexes named in its plan are collected.
Printed as JSON: for each index of the tables asked about, how many distinct
queries use it and a few of them; the indexes no query uses; the queries
that scan a whole big table. A UNIQUE index (``sqlite_autoindex_…``, or one
declared UNIQUE) is listed but never proposed for removal: it enforces a rule.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from bench.sqltrace import shape
from store.words import words

WRITES_ONLY = re.compile(r"^\s*(INSERT|BEGIN|COMMIT|ROLLBACK|PRAGMA|CREATE|DROP|ALTER|SAVEPOINT|RELEASE)\b", re.I)
INDEX_IN_PLAN = re.compile(r"USING (?:COVERING )?INDEX (\w+)")


def local_day(value: str | None) -> str | None:
    return None if value is None else value[:10]


def explain(conn: sqlite3.Connection, sql: str) -> str | None:
    try:
        found = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    except sqlite3.Error:
        return None  # a statement of a table this database lacks, or one of several in a script
    return " | ".join(str(row[3]) for row in found)


def usage(trace: Path, db: Path, tables: list[str]) -> dict[str, Any]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    conn.create_function("local_day", 1, local_day, deterministic=True)
    conn.create_function("words", 1, words, deterministic=True)  # store/words.py, as the store's connections have it
    indexes = {name: (table, sql or "") for name, table, sql in conn.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'"
        f" AND tbl_name IN ({', '.join('?' * len(tables))}) ORDER BY tbl_name, name", tables)}
    used: dict[str, list[str]] = {name: [] for name in indexes}
    scans: list[dict[str, str]] = []
    statements = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines() if line.strip()]
    shapes: dict[str, str] = {}
    for sql in statements:
        shapes.setdefault(shape(sql), sql)
    explained = unexplained = 0
    for key, sql in sorted(shapes.items()):
        if WRITES_ONLY.match(sql) or not re.search(rf"\b({'|'.join(tables)})\b", sql):
            continue
        plan = explain(conn, sql)
        if plan is None:
            unexplained += 1
            continue
        explained += 1
        for name in sorted(set(INDEX_IN_PLAN.findall(plan))):
            if name in used:
                used[name].append(key)
        for table in tables:
            if re.search(rf"\bSCAN {table}\b(?! USING)", plan):
                scans.append({"query": key[:300], "plan": plan[:300]})
    sizes = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0] or 1
    conn.close()
    report: dict[str, Any] = {"statements_traced": len(statements), "queries_explained": explained,
                              "not_explained": unexplained, "indexes": {}}
    for name, (table, sql) in indexes.items():
        unique = name.startswith("sqlite_autoindex_") or sql.upper().startswith("CREATE UNIQUE")
        report["indexes"][name] = {
            "table": table,
            "bytes_per_case": round(sizes.get(name, 0) / cases),
            "queries": len(used[name]),
            "unique": unique,
            "examples": used[name][:4],
        }
    report["unused"] = [n for n, v in report["indexes"].items() if not v["queries"] and not v["unique"]]
    report["full_scans"] = scans
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", required=True, help="the statements bench/sqltrace.py wrote")
    parser.add_argument("--db", required=True, help="a database to explain them on (bench.store_scale --keep)")
    parser.add_argument("--tables", default="cases,events,outbox")
    args = parser.parse_args()
    print(json.dumps(usage(Path(args.trace), Path(args.db), args.tables.split(",")), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
