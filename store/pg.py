"""PostgreSQL connection, ordered migrations and the transaction helper.

The same contract as ``store.db.Database`` (SQLite), so the services run
unchanged on either: ``transaction()`` and ``read()`` yield a connection whose
``execute(sql, params)`` can be awaited for a cursor or used as
``async with conn.execute(...) as cur``; rows answer to ``row["name"]``,
``row[0]`` and ``dict(row)``. A pool of connections per process
(psycopg_pool): writes one at a time behind an asyncio lock, as with SQLite,
so a transaction never interleaves with another coroutine's writes and the
single active instance (the lease) is the only writer, which keeps the
services' read-then-write transactions correct; reads side by side, each on a
pooled connection in one read-only snapshot.

Differences that the services must not see are handled here: placeholders
(``store.sqltext``), enums (sent by value, as sqlite3 does), and the schema
version (a table; PostgreSQL has no ``user_version``). Flags are ``boolean``
columns here and INTEGER 0/1 in SQLite: the services bind Python's ``bool``
(psycopg sends a boolean, sqlite3 stores 1 or 0), test a flag as ``flag`` or
``NOT flag`` (never ``= 1``), and read back True/False here, 1/0 there, which
``bool()`` and the models take alike. Moments are ``timestamptz`` and days
``date`` here, texts in SQLite (migration 0026): the services bind the texts
(psycopg sends a text as of unknown type, which the server reads as the
column's), and read back here the very texts SQLite holds (:func:`configure`),
so a moment compares, hashes and renders alike on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date, datetime
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from store.clock import iso, iso_before_0035
from store.sqltext import Pending, one_statement, to_pyformat

log = logging.getLogger(__name__)

# Any 64-bit number: the advisory lock that serializes migrations between
# processes that start at the same moment.
MIGRATION_LOCK = 0x70657469_74696F6E  # "petition"


def migrations() -> list[tuple[int, str, str]]:
    """The PostgreSQL migrations, numbered in step with the SQLite ones."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("store.migrations.postgresql").iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        found.append((int(name.split("_", 1)[0]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, got {numbers}")
    return found


class Row(Sequence[Any]):
    """A result row that behaves like ``sqlite3.Row``: by index, by name, ``dict(row)``."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._names[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._names)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=True))!r})"


#: Each result's column names by position, per distinct list of raw names: the same few queries run
#: again and again, and psycopg's ``description`` builds a ``Column`` (a type lookup) per column each time.
_NAMES: dict[tuple[bytes | None, ...], dict[str, int]] = {}
_NAMES_MAX = 4096


def _row_factory(cursor: Any) -> Any:
    res = cursor.pgresult
    key = tuple(res.fname(i) for i in range(res.nfields)) if res is not None else ()
    names = _NAMES.get(key)
    if names is None:
        names = {d.name: i for i, d in enumerate(cursor.description or [])}
        if len(_NAMES) < _NAMES_MAX:
            _NAMES[key] = names

    def make(values: Sequence[Any]) -> Row:
        return Row(names, values)

    return make


def _moment_text(text: str) -> str | None:
    """The store's text of PostgreSQL's ``2026-11-02 01:00:00+00`` (UTC, ISO style), else None: to the second
    as ``store.clock.iso()`` writes it (``…T01:00:00Z``), a moment stored with a fraction (before migration
    0035) in the form of then (``…T01:00:00.500000+00:00``), as SQLite keeps those rows."""
    if len(text) < 22 or text[10] != " " or not text.endswith("+00"):
        return None
    if text[19] != ".":
        return f"{text[:10]}T{text[11:19]}Z"
    return f"{text[:10]}T{text[11:19]}.{text[20:-3].ljust(6, '0')}+00:00"


@cache
def _loaders() -> tuple[type, type]:
    """Loaders of ``timestamptz`` and ``date`` as the texts the services know (see the module's docstring).

    Each reads PostgreSQL's ISO text in UTC itself, and leaves any other (a session whose TimeZone
    or DateStyle a URL's options changed) to psycopg's own loader.
    """
    from psycopg.adapt import Loader  # SQLite installs never need them
    from psycopg.types.datetime import DateLoader, TimestamptzLoader

    class MomentLoader(Loader):
        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parsed = TimestamptzLoader(oid, context)

        def load(self, data: Any) -> str:
            text = _moment_text(bytes(data).decode("ascii"))
            if text is not None:
                return text
            moment: datetime = self._parsed.load(data)
            return iso_before_0035(moment) if moment.microsecond else iso(moment)  # as _moment_text reads it

    class DayLoader(Loader):
        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parsed = DateLoader(oid, context)

        def load(self, data: Any) -> str:
            text = bytes(data).decode("ascii")
            if len(text) == 10 and text[4] == "-" and text[7] == "-":
                return text
            day: date = self._parsed.load(data)
            return day.isoformat()

    return MomentLoader, DayLoader


def _clock_loader() -> type:
    """A loader of ``time`` (a reception session's clock times) as SQLite's 'HH:MM'."""
    from psycopg.adapt import Loader

    class ClockLoader(Loader):
        def load(self, data: Any) -> str:
            return bytes(data).decode("ascii")[:5]  # 'HH:MM:SS' (ISO style, the session's), minutes kept

    return ClockLoader


#: Moments in UTC and dates in ISO style: what the loaders' short path reads (any other is parsed).
SESSION = "-c TimeZone=UTC -c DateStyle=ISO -c plan_cache_mode=force_custom_plan"


def session_options(url: str) -> str:
    """The URL's own ``options`` (a ``search_path``, say) and :data:`SESSION` after them."""
    from psycopg.conninfo import conninfo_to_dict  # SQLite installs never need it

    own = str(conninfo_to_dict(url).get("options") or "")
    return f"{own} {SESSION}".strip()


def load_as_texts(conn: Any) -> None:
    """Moments, days and clock times of ``conn`` (psycopg's, or its cursor's) load as the store's texts."""
    moment, day = _loaders()
    conn.adapters.register_loader("timestamptz", moment)
    conn.adapters.register_loader("date", day)
    conn.adapters.register_loader("time", _clock_loader())


async def configure(conn: Any) -> None:
    """Every pooled connection: moments and days load as texts (the pool asks for a coroutine; the
    session's UTC and ISO style come with the connection's options, :func:`session_options`)."""
    load_as_texts(conn)


def _adapt(value: Any) -> Any:
    # psycopg would send an enum by its name, sqlite3 sends a StrEnum's value. A bool goes as it is:
    # a boolean here, 1 or 0 under sqlite3.
    if isinstance(value, Enum):
        return value.value
    return value


def _params(params: Sequence[Any] | Mapping[str, Any] | None) -> Any:
    if params is None:  # still formatted by psycopg: to_pyformat doubled every literal % ('%' LIKE patterns)
        return ()
    if isinstance(params, Mapping):
        return {k: _adapt(v) for k, v in params.items()}
    return [_adapt(v) for v in params]


def _holds_rows(res: Any) -> bool:
    """Does a result hold rows (psycopg's test in ``Cursor.description``, without building its columns)?"""
    from psycopg.pq import ExecStatus  # imported here: SQLite installs never need it

    return res is not None and bool(
        res.nfields or res.status in (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK))


class Cursor:
    """The part of a DB-API cursor the services use."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    @property
    def rowcount(self) -> int:
        return int(self._raw.rowcount)

    @property
    def description(self) -> Sequence[Sequence[Any]] | None:
        """psycopg's columns (each a name first), or None for a statement without rows."""
        columns: Sequence[Sequence[Any]] | None = self._raw.description
        return columns

    async def fetchone(self) -> Row | None:
        if not _holds_rows(self._raw.pgresult):
            return None
        row: Row | None = await self._raw.fetchone()
        return row

    async def fetchall(self) -> list[Row]:
        if not _holds_rows(self._raw.pgresult):
            return []
        rows: list[Row] = await self._raw.fetchall()
        return rows

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Row:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def close(self) -> None:
        await self._raw.close()


class Statements:
    """What the process sent the server, in round trips: a count and, while ``trace`` is a list,
    what each carried (``BEGIN … ; SELECT …`` for a BEGIN sent with the first statement).

    For tests and benchmarks that count them (``tests/test_round_trips.py``); nothing is logged.
    """

    __slots__ = ("round_trips", "trace")

    def __init__(self) -> None:
        self.round_trips = 0
        self.trace: list[str] | None = None

    def sent(self, *sql: str) -> None:
        self.round_trips += 1
        if self.trace is not None:
            self.trace.append(" ; ".join(sql))


class ConnectionInterrupted(RuntimeError):
    """A transaction asked to commit after one of its round trips was cut off (a cancellation caught
    and ignored): it is rolled back instead."""


class Connection:
    """A PostgreSQL connection that speaks the services' SQL.

    ``begin``: the statement that opens the transaction, sent together with the first statement
    (psycopg's pipeline: one round trip for both), not on its own before it; a transaction that
    sends nothing sends no BEGIN either. ``single``: ``read_one()``'s connection (one SELECT) or
    ``write_one()``'s (one statement), outside any explicit transaction.

    ``broken``: a round trip was cut off (the task cancelled while it waited for the server, say), so
    what the server has still to answer is unknown. Such a connection goes back to the pool closed:
    put back as it is, it handed the next borrower an answer meant for the cut-off statement (a
    read of a case's record came back empty after the dashboard's parts were stopped).
    """

    def __init__(self, raw: Any, statements: Statements | None = None, *, begin: str | None = None,
                 single: str | None = None) -> None:
        self._raw = raw
        self._statements = statements or Statements()
        self._begin = begin
        self._single = single
        self._used = False
        self._later: list[tuple[str, Sequence[Any] | Mapping[str, Any] | None]] = []
        self.heads: dict[str, tuple[int, str]] = {}  # the journals' last rows, as this transaction knows them
        self.broken = False

    @property
    def began(self) -> bool:
        """Has the transaction's BEGIN been sent (so that it needs a COMMIT or a ROLLBACK)?"""
        return self._used and not self._single

    @property
    def raw(self) -> Any:
        """psycopg's own connection (a migration runs its script through it, after a first statement)."""
        if self._begin is not None:
            raise RuntimeError("the transaction has not begun: run a statement through execute() first")
        return self._raw

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Pending[Cursor]:
        if self.heads and sql.startswith("ROLLBACK TO"):
            self.heads.clear()  # what the savepoint's part appended is gone
        return Pending(self._execute(sql, params))

    def later(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> None:
        if self._single or not (self._begin is not None or self.began):
            raise RuntimeError("later() is for a transaction()")
        self._later.append((sql, params))

    def _ahead(self) -> list[tuple[str, Sequence[Any] | Mapping[str, Any] | None]]:
        """What goes before the next statement: the BEGIN (the first statement's only) and the changes put off."""
        begin, self._begin = self._begin, None
        ahead, self._later = self._later, []
        self._used = True
        return [(begin, None), *ahead] if begin is not None else ahead

    async def _send(self, statements: list[tuple[str, Sequence[Any] | Mapping[str, Any] | None]],
                    *cursors: Any) -> None:
        """``statements`` in one round trip, the last ones on ``cursors`` (one each, their rows to be read):
        psycopg's pipeline sends them all, then reads every answer at its end (an error among them is
        raised there)."""
        pipelined = len(statements) > 1 and _pipeline_supported()  # else one by one (a libpq without pipelines)
        if pipelined:
            self._statements.sent(*(sql for sql, _ in statements))
        on_cursor = len(statements) - len(cursors)
        with self._trip():
            async with self._raw.pipeline() if pipelined else contextlib.nullcontext():
                for n, (sql, params) in enumerate(statements):
                    if not pipelined:
                        self._statements.sent(sql)
                    on = cursors[n - on_cursor] if n >= on_cursor else self._raw
                    await on.execute(to_pyformat(sql), _params(params))

    @contextlib.contextmanager
    def _trip(self) -> Iterator[None]:
        """A round trip: cut off by anything but the server's own error (a cancellation), it leaves the
        connection ``broken``. The server's errors leave it in step (a ROLLBACK then ends the transaction)."""
        try:
            yield
        except Exception:
            raise
        except BaseException:
            self.broken = True
            raise

    async def discard(self) -> None:
        """Close a ``broken`` connection before it goes back (``PgDatabase._borrow``): the pool drops it."""
        with contextlib.suppress(Exception):
            await self._raw.close()

    async def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None) -> Cursor:
        if self._single:
            one_statement(sql, self._used, select=self._single == "read")
        raw = self._raw.cursor(row_factory=_row_factory)
        await self._send([*self._ahead(), (sql, params)], raw)
        return Cursor(raw)

    async def together(self, statements: Sequence[tuple[str, Sequence[Any] | Mapping[str, Any] | None]],
                       /) -> list[list[Row]]:
        if self._single:
            raise RuntimeError("read_one() and write_one() run a single statement")
        cursors = [self._raw.cursor(row_factory=_row_factory) for _ in statements]
        try:
            await self._send([*self._ahead(), *statements], *cursors)
            return [await Cursor(raw).fetchall() for raw in cursors]
        finally:
            for raw in cursors:
                await raw.close()

    async def executemany(self, sql: str, seq: Iterable[Sequence[Any] | Mapping[str, Any]]) -> None:
        if self._single:
            raise RuntimeError("read_one() and write_one() run a single statement")
        ahead = self._ahead()
        if ahead:
            await self._send(ahead)
        self._statements.sent(sql)  # one round trip: psycopg pipelines the rows
        with self._trip():
            async with self._raw.cursor() as raw:
                await raw.executemany(to_pyformat(sql), [_params(p) for p in seq])

    async def end(self, *, commit: bool) -> None:
        """COMMIT (or ROLLBACK) the transaction, if it began; a ROLLBACK that fails leaves the connection to the pool.

        The changes put off go with the COMMIT, in its round trip; a ROLLBACK drops them unsent. A
        ``broken`` connection sends nothing more: its context closes it, and the server rolls back what it
        had begun.
        """
        if self.broken:
            if commit:
                raise ConnectionInterrupted("a statement of this transaction was cut off; nothing was committed")
            return
        if commit and self._later:
            try:
                await self._send([*self._ahead(), ("COMMIT", None)])
            except BaseException:  # a change put off failed: the server's transaction is aborted, end it
                if not self.broken:
                    with contextlib.suppress(Exception):
                        await self._raw.execute("ROLLBACK")
                raise
            return
        self._later = []
        if not self.began:
            return
        statement = "COMMIT" if commit else "ROLLBACK"
        self._statements.sent(statement)
        with self._trip():
            if commit:
                await self._raw.execute(statement)
            else:
                with contextlib.suppress(Exception):  # a lost connection: the pool drops it
                    await self._raw.execute(statement)


@cache
def _pipeline_supported() -> bool:
    """libpq 14 or newer (psycopg's binary wheel brings one)."""
    import psycopg  # imported here: SQLite installs never need it

    return bool(psycopg.Pipeline.is_supported())


#: Connections of one process: reads run side by side on them, writes one at a time on one of them.
POOL_MIN = 2
POOL_MAX = 8
#: A read sees one snapshot (as it did when reads waited for the process's writes behind one lock).
WRITE_BEGIN = "BEGIN"
READ_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class PgDatabase:
    """The process's connections to a PostgreSQL case database (a pool).

    Transactions that write stay one at a time within the process (an asyncio lock around
    ``transaction()``), exactly as before the pool: the single active instance
    (the lease) is the only writer, so the services' read-then-write
    transactions stay correct under READ COMMITTED. Reads no longer wait for
    them: each ``read()`` takes a pooled connection and one read-only snapshot,
    so a read never sees half of another coroutine's transaction.
    """

    dialect = "postgresql"

    def __init__(self, url: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX) -> None:
        from psycopg_pool import AsyncConnectionPool  # imported here: SQLite installs never need it

        self.path = url
        self.statements = Statements()
        self._lock = asyncio.Lock()
        self.pool = AsyncConnectionPool(
            url, kwargs={"autocommit": True, "options": session_options(url)},
            configure=configure, min_size=min_size, max_size=max(min_size, max_size),
            open=False, name="petition-store",
        )

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True, min_size: int = POOL_MIN,
                   max_size: int = POOL_MAX) -> PgDatabase:
        """The pool on ``url``, migrated (unless ``migrate`` is false)."""
        import psycopg  # imported here: SQLite installs never need it

        # One direct connection first: an unreachable server or a refused login fails at once, as
        # psycopg's own error (a pool would retry it in the background until its time-out).
        probe = await psycopg.AsyncConnection.connect(url, autocommit=True)
        await probe.close()
        db = cls(url, min_size=min_size, max_size=max_size)
        await db.pool.open(wait=True)
        try:
            if migrate:
                await db.migrate()
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        await self.pool.close()

    async def set_timezone(self, tz: ZoneInfo) -> None:
        """Nothing to set: a local day is SQL naming its zone (``store.clock.local_day_sql``)."""

    async def schema_version(self) -> int:
        async with self.read() as conn:
            cur = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")
            row = await cur.fetchone()
            if row is None or not row[0]:
                return 0
            cur = await conn.execute("SELECT version FROM schema_version")
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the database's version, each in its own transaction.

        A database already at the newest version (every start but the first after an upgrade) is
        told by one read: no transaction, no lock per migration.
        """
        every = migrations()
        current = await self.schema_version()
        if every and current >= every[-1][0]:
            return current
        for number, name, sql in every:
            async with self.transaction() as conn:
                await conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"
                )
                cur = await conn.execute("SELECT version FROM schema_version")
                row = await cur.fetchone()
                current = int(row[0]) if row else 0
                if number <= current:
                    continue
                log.info("applying migration %s", name)
                # A whole script in one call (no parameters: the simple protocol).
                await conn.raw.execute(sql)
                if row is None:
                    await conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                else:
                    await conn.execute("UPDATE schema_version SET version = ?", (number,))
                current = number
        return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A write transaction: committed on exit, rolled back on error; one at a time in the process.

        Its BEGIN goes with its first statement (one round trip), its COMMIT on its own.
        """
        async with self._lock, self._borrow(begin=WRITE_BEGIN) as conn:
            try:
                yield conn
            except BaseException:
                await conn.end(commit=False)
                raise
            await conn.end(commit=True)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A read on a connection of its own, one snapshot; it does not wait for the process's writes.

        For a read of several statements that must agree (a count and its page, say); its BEGIN
        goes with its first statement. A single SELECT needs no transaction: ``read_one()``.
        """
        async with self._borrow(begin=READ_BEGIN) as conn:
            try:
                yield conn
            except BaseException:
                await conn.end(commit=False)
                raise
            await conn.end(commit=True)

    def read_one(self) -> AbstractAsyncContextManager[Connection]:
        """A read of one SELECT: no explicit transaction, one round trip (the statement is its own snapshot)."""
        return self._borrow(single="read")

    def write_one(self) -> AbstractAsyncContextManager[Connection]:
        """A change of one statement, its own transaction (autocommit): one round trip.

        It does not wait for the process's lock: one statement reads nothing it then decides on, and
        PostgreSQL's row locks order it with any transaction that touches the same row. A person's
        draft, written at every step of a form, so never waits behind another person's submission
        (a transaction of four round trips); SQLite's single writer still takes them in turn.
        """
        return self._borrow(single="write")

    @asynccontextmanager
    async def _borrow(self, *, begin: str | None = None, single: str | None = None) -> AsyncIterator[Connection]:
        """A pooled connection, handed back as it is, or closed if one of its round trips was cut off
        (``Connection.broken``): the pool then opens another."""
        async with self.pool.connection() as raw:
            conn = Connection(raw, self.statements, begin=begin, single=single)
            try:
                yield conn
            finally:
                if conn.broken:
                    await conn.discard()
