"""The two backends the store runs on, for tests: a fresh SQLite file or a fresh PostgreSQL database.

The PostgreSQL half needs a server: ``PETITION_TEST_PG`` (a URL, trust
authentication), else 127.0.0.1:5432 (database ``test``) as this project's
machines and CI have, else a throwaway server the run starts itself from the
``pgserver`` wheel (``tests/pgserver.py``; the conftest decides, once per run,
and tells the workers through ``PETITION_TEST_PG``). Without any of them that
half fails, saying where it looked: the store's rules exist once for both
backends, and a suite that passed by leaving one out would say nothing about it.

Each test process (an xdist worker, say) has databases of its own on that
server, named after it and dropped when it ends: one for schemas and advisory
locks (:func:`pg_url`), and a migrated template that a test's store is copied
from (``CREATE DATABASE … TEMPLATE``), as its SQLite file is copied from a
migrated file, instead of running every migration for every test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest

from store.db import is_postgres_url, open_database
from store.files import make_private
from store.services import Services
from store.sqltext import to_pyformat

ENV = "PETITION_TEST_PG"
DEFAULT_PG = "postgresql://127.0.0.1:5432/test"
#: Set by the conftest when no server could be had, saying why (the workers inherit it).
PROBLEM_ENV = "PETITION_TEST_PG_PROBLEM"
BACKENDS = ["sqlite", "postgresql"]

#: This process's databases start with this name: the worker's id, then a random part, so that
#: two runs on one server (two developers, two sessions, CI) never meet.
PREFIX = f"pt_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
_created: list[str] = []


def server_url() -> str:
    """The server the PostgreSQL half uses (``PETITION_TEST_PG``, else 127.0.0.1:5432)."""
    return os.environ.get(ENV) or DEFAULT_PG


def default_server_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    """Whether something listens where the default URL points (a PostgreSQL server, it is assumed)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def with_database(url: str, name: str) -> str:
    """``url`` naming the database ``name`` instead (a host, a port or a socket folder are kept)."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@cache
def pg_problem() -> str | None:
    """Why the PostgreSQL half cannot run here, or None."""
    if os.environ.get(PROBLEM_ENV):
        return os.environ[PROBLEM_ENV]
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    try:
        with psycopg.connect(server_url(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"no PostgreSQL server at {server_url()} ({str(error).strip().splitlines()[0]})"
    return None


def require_pg() -> None:
    problem = pg_problem()
    if problem is None:
        return
    pytest.fail(f"the PostgreSQL half of the suite needs a server (PETITION_TEST_PG): {problem}", pytrace=False)


def _admin(*statements: str) -> None:
    import psycopg

    with psycopg.connect(server_url(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _new_database(name: str, template: str = "template0") -> str:
    _admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    _created.append(name)
    return with_database(server_url(), name)


def _drop_database(name: str) -> None:
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if name in _created:
        _created.remove(name)


@cache
def pg_url() -> str:
    """This process's own database: for schemas, and for advisory locks no other process takes."""
    require_pg()
    return _new_database(PREFIX)


_templates: dict[str, str] = {}


async def _template(backend: str) -> str:
    """A database migrated once for this process (an SQLite file, or a PostgreSQL database's name)."""
    if backend in _templates:
        return _templates[backend]
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=PREFIX + "_"))
        target = str(folder / "template.db")
    else:
        name = PREFIX + "_template"
        target = _new_database(name)
    db = await open_database(target, ZoneInfo("UTC"))  # the zone is a connection's setting, not stored
    await db.close()  # SQLite: the last connection closed, the WAL is in the file and gone
    _templates[backend] = target if backend == "sqlite" else name
    return _templates[backend]


def drop_own_databases() -> None:
    """At the end of the process: its PostgreSQL databases and its template file go."""
    sqlite = _templates.pop("sqlite", None)
    if sqlite is not None:
        shutil.rmtree(Path(sqlite).parent, ignore_errors=True)
    _templates.clear()
    for name in list(reversed(_created)):
        try:
            _drop_database(name)
        except Exception:  # noqa: BLE001  # the server went first (a throwaway one): nothing left to drop
            _created.remove(name)


def _with_schema(url: str, schema: str) -> str:
    options = quote(f"-csearch_path={schema}")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


def _fresh_secret(target: str) -> None:
    """A copied database draws its own pseudonym secret, as its migration would have."""
    rows_changed = "UPDATE meta SET value = ? WHERE key = 'pseudonym_secret'"
    execute(target, rows_changed, secrets.token_hex(32))


@asynccontextmanager
async def fresh_database(
    backend: str, folder: Path, name: str = "cases.db", *, migrated: bool = False
) -> AsyncIterator[str]:
    """A database nobody has used: an SQLite path, or a PostgreSQL URL.

    Without ``migrated`` it is empty: no file yet, or a new schema (the URL's
    search_path) in this process's database. With it, it is a copy of a
    database every migration ran on, as ``Services.open`` would leave it
    before its first use (a file of its own, or a database of its own).
    """
    if backend == "sqlite":
        path = folder / name
        if migrated:
            shutil.copyfile(await _template("sqlite"), path)
            make_private(path)
            _fresh_secret(str(path))
        yield str(path)
        return
    require_pg()
    import psycopg

    if migrated:
        database = f"{PREFIX}_{uuid.uuid4().hex[:12]}"
        url = _new_database(database, await _template("postgresql"))
        _fresh_secret(url)
        schema = None
    else:
        schema = "t_" + uuid.uuid4().hex[:16]
        async with await psycopg.AsyncConnection.connect(pg_url(), autocommit=True) as admin:
            await admin.execute(f"CREATE SCHEMA {schema}")
        url = _with_schema(pg_url(), schema)
    # A PostgreSQL database has no file beside it for its vault key: this test's key file, for
    # the store and for any bot process the test starts (they inherit the environment).
    had_key = os.environ.get("PETITION_KEY_FILE")
    if not had_key:
        os.environ["PETITION_KEY_FILE"] = str(folder / f"{uuid.uuid4().hex[:16]}.key")
    try:
        yield url
    finally:
        if not had_key:
            os.environ.pop("PETITION_KEY_FILE", None)
        if schema is None:
            _drop_database(database)
        else:
            async with await psycopg.AsyncConnection.connect(pg_url(), autocommit=True) as admin:
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
