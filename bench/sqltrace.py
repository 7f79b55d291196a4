"""A pytest plugin: every distinct SQL statement the store runs on SQLite, for ``bench.index_usage``.

Loaded with ``-p bench.sqltrace`` and ``SQLTRACE_OUT=<file>``: each aiosqlite
connection the store opens gets a trace callback, and every statement (with
its arguments inlined by SQLite) is appended to the file once, one JSON
string per line. Statements of the tests themselves (``tests/backends.py``
reads past the store with plain ``sqlite3``) are not traced.
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any

import aiosqlite

_OUT = os.environ.get("SQLTRACE_OUT")
_lock = threading.Lock()
_seen: set[str] = set()
_connect = aiosqlite.connect


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


def _traced(*args: Any, **kwargs: Any) -> Any:
    connection = _connect(*args, **kwargs)

    async def opened() -> Any:
        conn = await connection
        await conn.set_trace_callback(_record)
        return conn

    return opened()


if _OUT:
    aiosqlite.connect = _traced
