"""A pytest plugin: every distinct SQL statement the store runs on SQLite, for ``bench.index_usage``.

Loaded with ``-p bench.sqltrace`` and ``SQLTRACE_OUT=<file>``: each connection
the store opens (``store.db.SqliteThread``, the writer's and every reader's)
gets a trace callback, and every statement (with its arguments inlined by
SQLite) is appended to the file once, one JSON string per line. Statements of the tests themselves (``tests/backends.py``
reads past the store with plain ``sqlite3``) are not traced.
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any

from store.db import SqliteThread

_OUT = os.environ.get("SQLTRACE_OUT")
_lock = threading.Lock()
_seen: set[str] = set()
_connect = SqliteThread.connect


def shape(sql: str) -> str:
    """A statement with its literals as ``?`` and ``IN`` lists as one mark: one line per query of the code."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"X\?", "?", sql)
    sql = re.sub(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", "?", sql)
    sql = re.sub(r"\(\s*\?(?:\s*,\s*\?)+\s*\)", "(?…)", sql)
    return re.sub(r"\s+", " ", sql).strip()


def _record(sql: str) -> None:
    key = shape(sql)
    with _lock:
        if key in _seen or _OUT is None:
            return
        _seen.add(key)
        with open(_OUT, "a", encoding="utf-8") as out:
            out.write(json.dumps(sql, ensure_ascii=False) + "\n")


async def _traced(cls: Any, *args: Any, **kwargs: Any) -> Any:
    conn = await _connect.__func__(cls, *args, **kwargs)  # type: ignore[attr-defined]
    await conn.set_trace_callback(_record)
    return conn


if _OUT:
    # Every connection the store opens is one of SqliteThread (store/db.py): the writer and each reader.
    SqliteThread.connect = classmethod(_traced)  # type: ignore[method-assign, assignment]
