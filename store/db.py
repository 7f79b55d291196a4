"""SQLite connection, ordered migrations and the transaction helper.

One aiosqlite connection per process writes. SQLite allows a single writer at
a time anyway, and a single writer connection means a transaction can never
interleave with another coroutine's statements: the asyncio lock below makes
each ``transaction()`` block exclusive within the process, while ``BEGIN
IMMEDIATE`` and the busy timeout keep a second process (a CLI backup, a
report) from corrupting or blocking it. Reads run on a few read-only
connections beside it (WAL mode lets them read during a write), so an answer
that only reads never waits behind another chat's write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import aiosqlite

from store.files import private_database
from store.sqltext import Cursor, Pending, one_statement
from store.words import COLUMNS, words

log = logging.getLogger(__name__)



class Connection(Protocol):
    """What the services use of a connection from ``transaction()`` or ``read()``.

    ``SqliteConnection`` (or ``OneStatement``) below and ``store.pg.Connection`` all fit:
    ``execute`` returns a ``store.sqltext.Cursor`` to await, or to use as ``async with``
    (closed after); its rows answer to ``row["name"]``, ``row[0]`` and ``dict(row)``.
    """

    def execute(self, sql: str, parameters: Any = ..., /) -> Pending[Cursor]: ...

    async def executemany(self, sql: str, parameters: Any, /) -> None: ...

    #: The hash-chained tables' last rows as this transaction knows them (``store.journal``): table →
    #: (id, hash). A transaction holds the writer, so what it appended is the head; a ``ROLLBACK TO``
    #: a savepoint forgets them all.
    heads: dict[str, tuple[int, str]]

    def later(self, sql: str, parameters: Any = ..., /) -> None:
        """A change whose result nobody reads (no rows, no row count): it runs right before the
        transaction's next statement or its COMMIT, in the same trip, and an error it meets is
        raised there. In ``transaction()`` only."""

    async def together(self, statements: Sequence[tuple[str, Any]], /) -> list[list[Any]]:
        """Statements none of which needs another's answer, in one trip, in order: each one's rows.

        For the reads a transaction makes before it decides (is this a second tap, how many today,
        who is this): one wait instead of one each. Not in ``read_one()`` or ``write_one()``."""


class Backend(Protocol):
    """A case database: SQLite's ``Database`` below or ``store.pg.PgDatabase``.

    The services see only this; what differs between the two (placeholders,
    the schema's spelling, how a timestamp becomes a local day) stays in
    their two modules and the two migration folders.
    """

    dialect: str
    path: str

    def transaction(self) -> AbstractAsyncContextManager[Connection]: ...

    def read(self) -> AbstractAsyncContextManager[Connection]: ...

    def read_one(self) -> AbstractAsyncContextManager[Connection]: ...

    def write_one(self) -> AbstractAsyncContextManager[Connection]: ...

    async def close(self) -> None: ...

    async def schema_version(self) -> int: ...

    async def set_timezone(self, tz: ZoneInfo) -> None: ...

BUSY_TIMEOUT_MS = 10_000


class Result:
    """A statement's rows and row count, fetched on the connection's thread with the statement itself
    (SQLite's ``store.sqltext.Cursor``).

    aiosqlite hands each call to its connection's thread and back (a queue, a
    future, a wake-up of the event loop): ``execute``, each ``fetchone`` and the
    cursor's ``close`` were a round trip each. The services read a handful of
    rows per statement, so the rows come back with the statement, as psycopg's
    client-side cursor brings them on PostgreSQL.
    """

    __slots__ = ("_rows", "_next", "rowcount", "description")

    def __init__(self, rows: list[sqlite3.Row], rowcount: int, description: Sequence[Sequence[Any]] | None) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.description = description  # DB-API's: the columns' names first

    async def fetchone(self) -> sqlite3.Row | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[sqlite3.Row]:
        rest = self._rows[self._next:]
        self._next = len(self._rows)
        return rest

    def __aiter__(self) -> Result:
        return self

    async def __anext__(self) -> sqlite3.Row:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def close(self) -> None:
        self._rows = []


#: Changes put off (``Connection.later``): each statement and its parameters, in order.
Later = list[tuple[str, Any]]


class SqliteThread(aiosqlite.Connection):
    """aiosqlite's connection (a thread of its own), able to run a statement and fetch its rows in one trip.

    ``_execute`` is how aiosqlite's own cursor methods reach the thread; the
    functions below run there and use the ``sqlite3`` connection directly.
    """

    @classmethod
    async def connect(cls, database: str, **kwargs: Any) -> SqliteThread:
        """A connection that reads people's words as text (``WORDS TEXT`` columns, store/words.py)."""
        thread = cls(partial(sqlite3.connect, database, detect_types=sqlite3.PARSE_DECLTYPES, **kwargs), 64)
        await thread
        try:
            await thread.create_function("words", 1, words, deterministic=True)
        except BaseException:
            await thread.close()
            raise
        return thread

    async def run(self, begin: str | None, first: Later, sql: str, parameters: Any) -> Result:
        result: Result = await self._on_thread(self._run, begin, first, sql, parameters)
        return result

    async def run_together(self, begin: str | None, first: Later, statements: Sequence[tuple[str, Any]]
                           ) -> list[list[sqlite3.Row]]:
        rows: list[list[sqlite3.Row]] = await self._on_thread(self._run_together, begin, first, statements)
        return rows

    async def run_many(self, begin: str | None, first: Later, sql: str, seq: list[Any]) -> None:
        await self._on_thread(self._run_many, begin, first, sql, seq)

    async def end(self, begin: str | None, first: Later, statement: str) -> None:
        await self._on_thread(self._end, begin, first, statement)

    @property
    def _on_thread(self) -> Callable[..., Awaitable[Any]]:
        return self._execute  # typed here: aiosqlite leaves it untyped

    def _first(self, begin: str | None, first: Later) -> None:
        """On the thread: the transaction's BEGIN (with its first statement), then the changes put off."""
        if begin is not None:
            self._conn.execute(begin)
        for sql, parameters in first:
            self._conn.execute(sql, parameters).close()

    def _run(self, begin: str | None, first: Later, sql: str, parameters: Any) -> Result:
        """On the thread: what comes first, the statement, its rows."""
        self._first(begin, first)
        cursor = self._conn.execute(sql, parameters)
        try:
            return Result(cursor.fetchall(), cursor.rowcount, cursor.description)
        finally:
            cursor.close()

    def _run_together(self, begin: str | None, first: Later, statements: Sequence[tuple[str, Any]]
                      ) -> list[list[sqlite3.Row]]:
        self._first(begin, first)
        answers = []
        for sql, parameters in statements:
            cursor = self._conn.execute(sql, () if parameters is None else parameters)
            try:
                answers.append(cursor.fetchall())
            finally:
                cursor.close()
        return answers

    def _run_many(self, begin: str | None, first: Later, sql: str, seq: list[Any]) -> None:
        self._first(begin, first)
        self._conn.executemany(sql, seq).close()

    def _end(self, begin: str | None, first: Later, statement: str) -> None:
        """On the thread: the changes put off (before a COMMIT), then COMMIT or ROLLBACK, if a
        transaction is open (its BEGIN may have failed)."""
        try:
            if statement == "COMMIT":
                self._first(begin, first)
            if self._conn.in_transaction:
                self._conn.execute(statement)
        except BaseException:
            if self._conn.in_transaction:  # a change put off (or the COMMIT) failed: nothing of it is kept
                self._conn.execute("ROLLBACK")
            raise


class SqliteConnection:
    """An aiosqlite connection as the services use it: one trip to its thread per statement.

    ``begin``: the statement that opens the transaction, run on the thread just
    before the first statement (in the same trip), as PostgreSQL's connection
    sends it in the same round trip; a transaction that runs nothing begins
    nothing and ends nothing.
    """

    __slots__ = ("_raw", "_begin", "_began", "_later", "heads")

    def __init__(self, raw: SqliteThread, *, begin: str | None = None) -> None:
        self._raw = raw
        self._begin = begin
        self._began = False
        self._later: list[tuple[str, Any]] = []
        self.heads: dict[str, tuple[int, str]] = {}

    @property
    def began(self) -> bool:
        """Was the BEGIN handed to the thread (so that the transaction needs its end)?"""
        return self._began

    def execute(self, sql: str, parameters: Any = None, /) -> Pending[Result]:
        if self.heads and sql.startswith("ROLLBACK TO"):
            self.heads.clear()  # what the savepoint's part appended is gone
        return Pending(self._raw.run(self._take_begin(), self._take_later(), sql,
                                     () if parameters is None else parameters))

    async def executemany(self, sql: str, parameters: Any, /) -> None:
        await self._raw.run_many(self._take_begin(), self._take_later(), sql, list(parameters))

    async def together(self, statements: Sequence[tuple[str, Any]], /) -> list[list[Any]]:
        rows: list[list[Any]] = await self._raw.run_together(self._take_begin(), self._take_later(), statements)
        return rows

    def later(self, sql: str, parameters: Any = None, /) -> None:
        if self._begin is None and not self._began:
            raise RuntimeError("later() is for a transaction()")
        self._later.append((sql, () if parameters is None else parameters))

    def _take_begin(self) -> str | None:
        """The BEGIN to run with this statement: the first statement's only."""
        begin, self._begin = self._begin, None
        self._began = self._began or begin is not None
        return begin

    def _take_later(self) -> Later:
        first, self._later = self._later, []
        return first

    async def end(self, *, commit: bool) -> None:
        """COMMIT what began (the changes put off first) or ROLLBACK it; nothing if nothing ran."""
        first = self._take_later() if commit else []
        begin = self._take_begin() if first else None
        if self._began:
            self._began = False
            await self._raw.end(begin, first, "COMMIT" if commit else "ROLLBACK")


class OneStatement:
    """``read_one()``'s and ``write_one()``'s connection on SQLite, for one statement."""

    def __init__(self, conn: Connection, *, select: bool) -> None:
        self._conn = conn
        self._select = select
        self._used = False
        self.heads: dict[str, tuple[int, str]] = {}  # never used: a journal appends in a transaction()

    def execute(self, sql: str, parameters: Any = None, /) -> Pending[Cursor]:
        one_statement(sql, self._used, select=self._select)
        self._used = True
        return self._conn.execute(sql, parameters)

    async def executemany(self, sql: str, parameters: Any, /) -> None:
        raise RuntimeError("read_one() and write_one() run a single statement")

    async def together(self, statements: Sequence[tuple[str, Any]], /) -> list[list[Any]]:
        raise RuntimeError("read_one() and write_one() run a single statement")

    def later(self, sql: str, parameters: Any = None, /) -> None:
        raise RuntimeError("later() is for a transaction()")


def migrations() -> list[tuple[int, str, str]]:
    """The ordered schema migrations shipped in ``store/migrations``.

    Files are named ``NNNN_what.sql``; the number is the ``user_version`` the
    database has after the file has run.
    """
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("store.migrations").iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number = int(name.split("_", 1)[0])
        found.append((number, name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, got {numbers}")
    return found


#: The migration that declares the columns of people's words ``WORDS TEXT`` (store/words.py).
WORDS_DECLARED = 34

#: Read-only connections of one process (each a thread of aiosqlite's): reads side by side.
READERS = 4


class Database:
    """The process's connections to an SQLite case database (the embedded default).

    One writer connection, behind an asyncio lock: every ``transaction()`` is
    exclusive within the process, short, and never interleaves with another
    coroutine's statements. Reads go to up to ``readers`` read-only
    connections of their own (WAL lets them read while a write is under way),
    each ``read()`` one snapshot, so they wait neither for writes nor for
    each other. An in-memory database has one connection only: reads share
    the writer's, behind its lock, as before.
    """

    dialect = "sqlite"

    def __init__(self, conn: SqliteThread, path: str, readers: int = READERS) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._readers_max = readers if path != ":memory:" else 0
        # The readers' URI, resolved once here (a path operation blocks: never on the loop at each open).
        self._reader_uri = Path(path).resolve().as_uri() + "?mode=ro" if self._readers_max else ""
        self._readers: list[SqliteThread] = []  # every reader opened
        self._idle: list[SqliteThread] = []
        self._reader_free = asyncio.Condition()
        self._opening = 0
        self._local_day: Any = None
        self._ending: set[asyncio.Future[None]] = set()  # reads being ended (see ``read``)

    @classmethod
    async def open(cls, path: str | Path, *, readers: int = READERS) -> Database:
        private_database(path)  # 0600 before SQLite creates it; -wal and -shm follow its mode
        conn = await SqliteThread.connect(str(path), isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA foreign_keys = ON")
            # Deleted and overwritten content is zeroed, not left in free space
            # (a draft after submission, a value sealed by the vault).
            await conn.execute("PRAGMA secure_delete = ON")
            if str(path) != ":memory:":
                await conn.execute("PRAGMA journal_mode = WAL")
                # NORMAL is durable in WAL mode against process crashes; only an
                # OS crash or power loss can lose the last transactions.
                await conn.execute("PRAGMA synchronous = NORMAL")
            db = cls(conn, str(path), readers)
            await db.migrate()
        except BaseException:
            await conn.close()  # not a database, say: its thread must not keep the process alive
            raise
        return db

    async def close(self) -> None:
        self._readers_max = 0  # no reader opens after this: reads go to the closed connection and fail
        readers, self._readers, self._idle = self._readers, [], []
        for reader in readers:
            await reader.close()
        await self.conn.close()

    async def set_timezone(self, tz: ZoneInfo) -> None:
        """SQL ``local_day(ts)``: the local calendar date (YYYY-MM-DD) of a stored UTC timestamp.

        A Python function, for the instants ``store.clock.local_day_sql``'s plain SQL leaves to it;
        PostgreSQL needs none (its own ``AT TIME ZONE``).
        """

        def local_day(value: str | None) -> str | None:
            if value is None:
                return None
            return datetime.fromisoformat(value).astimezone(tz).date().isoformat()

        self._local_day = local_day
        for conn in (self.conn, *self._readers):
            await conn.create_function("local_day", 1, local_day, deterministic=True)

    async def checkpoint(self) -> None:
        """Copy the WAL into the database and empty it (old page images of rewritten rows go with it)."""
        if self.path != ":memory:":
            async with self._lock:
                await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row is not None else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the file's ``user_version``.

        Each migration runs in its own transaction together with the version
        bump, so a crash leaves the database at a clean version boundary.
        """
        current = await self.schema_version()
        for number, name, sql in migrations():
            if number <= current:
                continue
            log.info("applying migration %s", name)
            async with self.transaction() as conn:
                for statement in _split_sql(sql):
                    await conn.execute(statement)
                if "writable_schema" in sql:  # the schema's text edited in place (0034): re-read by every connection
                    async with conn.execute("PRAGMA schema_version") as cur:
                        version = await cur.fetchone()
                    assert version is not None
                    await conn.execute(f"PRAGMA schema_version = {int(version[0]) + 1}")
                await conn.execute(f"PRAGMA user_version = {number}")
            current = number
        if current >= WORDS_DECLARED:
            await self._check_words_declared()
        return current

    async def _check_words_declared(self) -> None:
        """Refuse a file whose columns of people's words are not declared ``WORDS TEXT`` (store/words.py):
        the store would write them compactly and read back bytes. Migration 0034 declares them by editing
        the schema's text; a text it did not expect (a schema not made by these migrations) is stopped here."""
        for table, columns in COLUMNS.items():
            async with self.conn.execute(f"PRAGMA table_info({table})") as cur:
                declared = {row[1]: str(row[2]).upper() for row in await cur.fetchall()}
            wrong = [c for c in columns if declared.get(c) != "WORDS TEXT"]
            if wrong:
                raise RuntimeError(f"{table}.{', '.join(wrong)} not declared WORDS TEXT (migration {WORDS_DECLARED}):"
                                   " this file's schema was not made by the store's migrations")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """An exclusive write transaction: committed on exit, rolled back on error."""
        async with self._lock:
            conn = SqliteConnection(self.conn, begin="BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.end(commit=False)
                raise
            else:
                await conn.end(commit=True)

    @asynccontextmanager
    async def write_one(self) -> AsyncIterator[Connection]:
        """A change of one statement, its own transaction: the writer connection is in autocommit between
        transactions, so it is one trip to the writer's thread, where ``transaction()`` takes two (the
        statement with its BEGIN, then the COMMIT). Behind the process's lock all the same (one writer)."""
        async with self._lock:
            yield OneStatement(SqliteConnection(self.conn), select=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A consistent read (one snapshot) on a read-only connection; it does not wait for writes."""
        if self._readers_max == 0:
            async with self._lock:
                yield SqliteConnection(self.conn)
            return
        reader = await self._take_reader()
        conn = SqliteConnection(reader, begin="BEGIN")
        try:
            yield conn
        finally:
            # A read transaction: nothing to keep or undo. The reader is free again only once its
            # COMMIT has run, also when this read was cancelled (a BEGIN still on its way runs first,
            # on the reader's own thread): the next read never finds a transaction left open.
            ending = asyncio.ensure_future(self._end_read(reader, conn))
            self._ending.add(ending)
            ending.add_done_callback(self._ending.discard)
            await asyncio.shield(ending)

    async def _end_read(self, reader: SqliteThread, conn: SqliteConnection) -> None:
        with contextlib.suppress(sqlite3.Error):
            await conn.end(commit=True)
        await self._release(reader)

    async def _release(self, reader: SqliteThread) -> None:
        self._idle.append(reader)
        async with self._reader_free:
            self._reader_free.notify()

    @asynccontextmanager
    async def read_one(self) -> AsyncIterator[Connection]:
        """A read of one SELECT, its own snapshot (the reader is in autocommit): one trip to a reader's
        thread, where ``read()`` takes two (the statement with its BEGIN, then the COMMIT)."""
        if self._readers_max == 0:
            async with self._lock:
                yield OneStatement(SqliteConnection(self.conn), select=True)
            return
        reader = await self._take_reader()
        try:
            yield OneStatement(SqliteConnection(reader), select=True)
        finally:
            # Free again also when this read was cancelled: a statement still on its way runs first, on
            # the reader's own thread, and leaves no transaction open.
            await asyncio.shield(self._release(reader))

    async def _take_reader(self) -> SqliteThread:
        async with self._reader_free:
            while not self._idle:
                if len(self._readers) + self._opening < self._readers_max:
                    self._opening += 1
                    try:
                        reader = await self._open_reader()
                    finally:
                        self._opening -= 1
                    self._readers.append(reader)
                    return reader
                await self._reader_free.wait()
            return self._idle.pop()

    async def _open_reader(self) -> SqliteThread:
        reader = await SqliteThread.connect(self._reader_uri, uri=True, isolation_level=None)
        try:
            reader.row_factory = aiosqlite.Row
            await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self._local_day is not None:
                await reader.create_function("local_day", 1, self._local_day, deterministic=True)
        except BaseException:
            await reader.close()
            raise
        return reader


def is_postgres_url(value: str | Path) -> bool:
    return str(value).startswith(("postgresql://", "postgres://"))


async def open_database(target: str | Path, tz: ZoneInfo) -> Backend:
    """The case database named by ``target`` (``PETITION_DB``), migrated and ready.

    A ``postgresql://`` URL selects PostgreSQL (production); anything else is
    an SQLite file (the embedded default).
    """
    db: Backend
    if is_postgres_url(target):
        from store.pg import PgDatabase  # psycopg is needed only for PostgreSQL

        db = await PgDatabase.open(str(target))
    else:
        db = await Database.open(target)
    await db.set_timezone(tz)
    return db


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (executescript would COMMIT on its own)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if line.rstrip().endswith(";") and sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements

