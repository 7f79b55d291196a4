"""The two backends the store runs on, for tests: a fresh SQLite file or a fresh PostgreSQL schema.

The PostgreSQL half needs a server: ``PETITION_TEST_PG`` (default
``postgresql://127.0.0.1:5432/test``, trust authentication, as this
project's machines and CI have). Each test gets its own schema, dropped
afterwards. Without a reachable server that half fails, saying where it
looked: the store's rules exist once for both backends, and a suite that
passed by leaving one out would say nothing about it.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from store.db import is_postgres_url
from store.services import Services
from store.sqltext import to_pyformat

PG_URL = os.environ.get("PETITION_TEST_PG", "postgresql://127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


@cache
def pg_problem() -> str | None:
    """Why the PostgreSQL half cannot run here, or None."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"no PostgreSQL server at {PG_URL} ({str(error).strip().splitlines()[0]})"
    return None


def require_pg() -> None:
    problem = pg_problem()
    if problem is None:
        return
    pytest.fail(f"the PostgreSQL half of the suite needs a server (PETITION_TEST_PG): {problem}", pytrace=False)


def _with_schema(url: str, schema: str) -> str:
    options = quote(f"-csearch_path={schema}")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@asynccontextmanager
async def fresh_database(backend: str, folder: Path, name: str = "cases.db") -> AsyncIterator[str]:
    """A database nobody has used: an SQLite path, or a PostgreSQL URL whose search_path is a new schema."""
    if backend == "sqlite":
        yield str(folder / name)
        return
    require_pg()
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:16]
    async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as admin:
        await admin.execute(f"CREATE SCHEMA {schema}")
    # A PostgreSQL database has no file beside it for its vault key: this test's key file, for
    # the store and for any bot process the test starts (they inherit the environment).
    had_key = os.environ.get("PETITION_KEY_FILE")
    if not had_key:
        os.environ["PETITION_KEY_FILE"] = str(folder / f"{schema}.key")
    try:
        yield _with_schema(PG_URL, schema)
    finally:
        if not had_key:
            os.environ.pop("PETITION_KEY_FILE", None)
        async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as admin:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")


def rows(db: Path | str | Services, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """What the database holds, read past the store (its own connection, committed rows only).

    ``db`` is an SQLite path, a PostgreSQL URL, or open services (their database's).
    """
    target = _target(db)
    if is_postgres_url(target):
        import psycopg

        params = [int(a) if isinstance(a, bool) else a for a in args]
        with psycopg.connect(target, autocommit=True) as conn:
            return [tuple(r) for r in conn.execute(to_pyformat(sql), params).fetchall()]
    with sqlite3.connect(target) as conn:
        return conn.execute(sql, args).fetchall()


def _target(db: Path | str | Services) -> str:
    return db.db.path if isinstance(db, Services) else str(db)


def backend_of(db: Path | str | Services) -> str:
    """``"postgresql"`` or ``"sqlite"``: which backend ``db`` (a path, a URL, open services) is on."""
    return "postgresql" if is_postgres_url(_target(db)) else "sqlite"


def execute(db: Path | str | Services, sql: str, *args: object) -> None:
    """Run one statement past the store, on its own connection, committed (to tamper, in tests).

    A statement the database refuses raises ``db_error(backend)``.
    """
    target = _target(db)
    if is_postgres_url(target):
        import psycopg

        params = [int(a) if isinstance(a, bool) else a for a in args]
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(to_pyformat(sql), params)
        return
    with sqlite3.connect(target) as conn:
        conn.execute(sql, args)


def db_error(backend: str) -> type[Exception]:
    """The exception class a refused statement raises on ``backend`` (a trigger's RAISE included)."""
    if backend == "postgresql":
        import psycopg

        return psycopg.Error
    return sqlite3.DatabaseError


def tables(db: Path | str | Services) -> set[str]:
    """The names of the tables the store's schema has (SQLite's file, or the PostgreSQL URL's schema)."""
    if backend_of(db) == "postgresql":
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return {name for (name,) in rows(db, sql)}


def trigger_error(backend: str) -> type[Exception]:
    """What a schema trigger's refusal raises on ``backend``: SQLite's RAISE(ABORT), PL/pgSQL's RAISE EXCEPTION."""
    if backend == "postgresql":
        import psycopg.errors

        return psycopg.errors.RaiseException
    return sqlite3.IntegrityError
