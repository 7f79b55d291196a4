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
locks (:func:`pg_url`), and a migrated template whose copies (``CREATE
DATABASE … TEMPLATE``, each put back as the template left it after its test:
:class:`PgTemplate`) are the tests' stores, as an SQLite store is a copy of a
migrated file, instead of running every migration for every test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest

from store import vault_steps
from store.db import is_postgres_url, open_database
from store.files import make_private, write_private
from store.pg import load_as_texts
from store.services import Services
from store.sqltext import to_pyformat
from store.vault import Vault, default_key_file, new_key_text
from store.words import words

if TYPE_CHECKING:
    import psycopg  # only where PostgreSQL is installed: imported where used

ENV = "PETITION_TEST_PG"
DEFAULT_PG = "postgresql://127.0.0.1:5432/test"
#: Set by the conftest when no server could be had, saying why (the workers inherit it).
PROBLEM_ENV = "PETITION_TEST_PG_PROBLEM"
#: Set by the conftest when the run started its own server, which goes whole at the end.
THROWAWAY_ENV = "PETITION_TEST_PG_THROWAWAY"
BACKENDS = ["sqlite", "postgresql"]

#: This process's databases start with this name: the worker's id, then a random part, so that
#: two runs on one server (two developers, two sessions, CI) never meet.
PREFIX = f"pt_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
_created: list[str] = []


def one_row(conn: psycopg.Connection[Any], sql: str) -> tuple[Any, ...]:
    """The row a query answers, which it must (a psycopg connection's ``fetchone`` may answer None)."""
    row = conn.execute(sql).fetchone()
    assert row is not None, sql
    return tuple(row)


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
    # Commits need not wait for the disk here: a test's database never outlives a server crash.
    _admin(f"CREATE DATABASE {name} TEMPLATE {template}", f"ALTER DATABASE {name} SET synchronous_commit = off")
    _created.append(name)
    return with_database(server_url(), name)


def empty_pg_database() -> str:
    """A new database of its own on the server, empty (dropped with this process's others)."""
    require_pg()
    return _new_database(f"{PREFIX}_{uuid.uuid4().hex[:12]}")


@cache
def pg_url() -> str:
    """This process's own database: for schemas, and for advisory locks no other process takes."""
    require_pg()
    return _new_database(PREFIX)


#: Everything a test could change in a database's schema, as one digest: tables, columns, indexes,
#: triggers (and whether they fire), functions.
FINGERPRINT = """
SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
    SELECT 'r:' || c.relname || ':' || c.relkind::text AS x FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL SELECT 't:' || c.relname || '.' || t.tgname || ':' || t.tgenabled::text
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
    UNION ALL SELECT 'p:' || p.proname || ':' || md5(p.prosrc) FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
    UNION ALL SELECT 'a:' || c.relname || '.' || a.attname || ':' || a.atttypid::text || ':' || a.attnotnull::text
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
) s
"""


#: A copy's own pseudonym secret (the template's would make every copy's pseudonyms the same).
NEW_SECRET = "UPDATE meta SET value = ? WHERE key = 'pseudonym_secret'"


class PgTemplate:
    """A PostgreSQL database migrated once, and copies of it handed to tests one at a time.

    A copy is made with ``CREATE DATABASE … TEMPLATE``. After its test it is put back as the
    template left it (its rows deleted, the template's rows and sequences restored, a new
    pseudonym secret) and handed to the next test, unless the test changed its schema (a trigger
    dropped, say): that copy is set aside. Copies are dropped only when the process ends, since
    PostgreSQL checkpoints at every ``DROP DATABASE``: a second or more on a busy machine.
    """

    def __init__(self, name: str) -> None:
        import psycopg

        self.name = name
        self.free: list[str] = []
        with psycopg.connect(with_database(server_url(), name), autocommit=True) as conn:
            (self.fingerprint,) = one_row(conn, FINGERPRINT)
            tables = [t for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
            sequences = [q for (q,) in conn.execute(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename")]
            restore: list[str] = []
            for table in tables:
                cur = conn.execute(f"SELECT * FROM {table}")
                names = ", ".join(column.name for column in cur.description or ())
                for row in cur.fetchall():
                    values = ", ".join(_literal(conn, value) for value in row)
                    restore.append(f"INSERT INTO {table} ({names}) OVERRIDING SYSTEM VALUE VALUES ({values});")
            for sequence in sequences:
                last, called = one_row(conn, f"SELECT last_value, is_called FROM {sequence}")
                restore.append(f"SELECT setval('{sequence}', {int(last)}, {'true' if called else 'false'});")
        deletes = "".join(f"DELETE FROM {table};" for table in tables)
        # Foreign keys and append-only triggers are the table owner's rules, not the cleaner's:
        # session_replication_role = replica lets the rows go without firing them (superuser only;
        # without it TRUNCATE does the same, slower).
        self.reset = f"SET LOCAL session_replication_role = replica;{deletes}{''.join(restore)}"
        self.reset_unprivileged = (
            f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE;{''.join(restore)}" if tables else "")

    def take(self) -> str:
        """A database as the template is, with a pseudonym secret of its own: a put-back copy (given
        its new secret when it was put back, in the same transaction), else a new one."""
        if self.free:
            return with_database(server_url(), self.free.pop())
        name = f"{PREFIX}_{uuid.uuid4().hex[:12]}"
        _new_database(name, self.name)
        url = with_database(server_url(), name)
        execute(url, NEW_SECRET, secrets.token_hex(32))
        return url

    def put_back(self, url: str) -> None:
        import psycopg

        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(url, autocommit=True) as conn:
            # Whatever the test left connected (a bot process, a store not closed) goes first.
            conn.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                         " WHERE datname = current_database() AND pid <> pg_backend_pid()")
            if one_row(conn, FINGERPRINT) != (self.fingerprint,):
                return  # its schema changed: set aside, dropped at the end
            secret = to_pyformat(NEW_SECRET), [secrets.token_hex(32)]
            try:
                with conn.transaction():
                    conn.execute(self.reset)
                    conn.execute(*secret)
            except psycopg.errors.InsufficientPrivilege:
                with conn.transaction():
                    conn.execute(self.reset_unprivileged)
                    conn.execute(*secret)
        self.free.append(name)


def _literal(conn: Any, value: object) -> str:
    from psycopg.sql import Literal

    return str(Literal(value).as_string(conn))


_templates: dict[str, Any] = {}


#: The vault key of this process's templates: each copy is sealed with it (its key file written beside it, or
#: named by PETITION_KEY_FILE), so the vault's own steps (store/vault_steps.py) ran once, on the template.
TEMPLATE_KEY = new_key_text()


async def _migrated(target: str) -> None:
    """Every migration, and the vault's steps under ``TEMPLATE_KEY``."""
    db = await open_database(target, ZoneInfo("UTC"))
    try:
        await vault_steps.run(db, Vault(TEMPLATE_KEY))
    finally:
        await db.close()  # SQLite: the last connection closed, the WAL is in the file, and gone


async def _sqlite_template() -> str:
    """An SQLite file migrated once for this process."""
    if "sqlite" not in _templates:
        target = Path(tempfile.mkdtemp(prefix=PREFIX + "_")) / "template.db"
        await _migrated(str(target))
        _templates["sqlite"] = str(target)
    return str(_templates["sqlite"])


async def _pg_template() -> PgTemplate:
    """A PostgreSQL database migrated once for this process."""
    if "postgresql" not in _templates:
        name = PREFIX + "_template"
        await _migrated(_new_database(name))
        _templates["postgresql"] = PgTemplate(name)
    template = _templates["postgresql"]
    assert isinstance(template, PgTemplate)
    return template


def _template_key(path: Path) -> None:
    """The templates' key in ``path`` (0600), unless a key is there already (a second copy in one test)."""
    if not path.exists():
        write_private(path, (TEMPLATE_KEY + "\n").encode("ascii"))


_DROPPER = """
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    for name in sys.argv[2:]:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
"""


def drop_own_databases() -> None:
    """At the end of the process: its PostgreSQL databases and its template file go.

    Every ``DROP DATABASE`` waits for a checkpoint (seconds each on a busy server), so a process
    of their own drops them once the run is over, and nobody waits for it. A throwaway server
    goes whole with its databases (tests/pg_fallback.py).
    """
    sqlite = _templates.pop("sqlite", None)
    if sqlite is not None:
        shutil.rmtree(Path(sqlite).parent, ignore_errors=True)
    _templates.clear()
    names = list(reversed(_created))
    _created.clear()
    if names and not os.environ.get(THROWAWAY_ENV):
        subprocess.Popen(
            [sys.executable, "-c", _DROPPER, server_url(), *names],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )


def _with_schema(url: str, schema: str) -> str:
    options = quote(f"-csearch_path={schema}")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@asynccontextmanager
async def fresh_database(
    backend: str, folder: Path, name: str = "cases.db", *, migrated: bool = False
) -> AsyncIterator[str]:
    """A database nobody has used: an SQLite path, or a PostgreSQL URL.

    Without ``migrated`` it is empty: no file yet, or a new schema (the URL's
    search_path) in this process's database. With it, it is as every migration
    left it, before ``Services.open`` first opens it: a copy of a migrated file,
    or a database of its own (:class:`PgTemplate`).
    """
    if backend == "sqlite":
        path = folder / name
        if migrated:
            shutil.copyfile(await _sqlite_template(), path)
            make_private(path)
            key = default_key_file(path)
            assert key is not None
            _template_key(key)
            execute(path, "UPDATE meta SET value = ? WHERE key = 'pseudonym_secret'", secrets.token_hex(32))
        yield str(path)
        return
    require_pg()
    import psycopg

    template = await _pg_template() if migrated else None
    schema = None
    if template is not None:
        url = template.take()
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
    if template is not None:  # sealed with the templates' key: the test's key file holds it
        _template_key(Path(os.environ["PETITION_KEY_FILE"]))
    try:
        yield url
    finally:
        if not had_key:
            os.environ.pop("PETITION_KEY_FILE", None)
        if template is not None:
            template.put_back(url)
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

        with psycopg.connect(target, autocommit=True) as conn:
            load_as_texts(conn)  # moments and days as the store reads them
            return [tuple(r) for r in conn.execute(to_pyformat(sql), args).fetchall()]
    # People's words as text, as the store reads them (store/words.py: WORDS TEXT columns).
    with sqlite3.connect(target, detect_types=sqlite3.PARSE_DECLTYPES) as conn:
        conn.create_function("words", 1, words, deterministic=True)
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

        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(to_pyformat(sql), args)
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
