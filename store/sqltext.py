"""The store's SQL as written once, its PostgreSQL spelling, and what both backends' connections share.

The services write portable SQL with SQLite's placeholders (``?`` and
``:name``). PostgreSQL's driver (psycopg) takes ``%s`` and ``%(name)s``, and
reads a bare ``%`` as the start of one. ``to_pyformat`` rewrites a statement
once (cached): placeholders outside string literals, quoted identifiers and
comments become psycopg's, a literal ``%`` is doubled, and ``::`` casts are
left alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Generator, Iterator, Sequence
from functools import lru_cache
from typing import Any, Generic, Protocol, TypeVar


class Row(Protocol):
    """A result row on either backend (``sqlite3.Row``, ``store.pg.Row``): by position, by column name,
    ``dict(row)``, ``tuple(row)``. Its values are the columns' (the models validate them)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> list[str]: ...


class Closable(Protocol):
    async def close(self) -> None: ...


class Cursor(Closable, Protocol):
    """What a statement's ``execute`` gives on either backend (``store.db.Result``, ``store.pg.Cursor``)."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Sequence[Sequence[Any]] | None:
        """DB-API's: a column's name first, per column; None for a statement without rows."""
        ...

    async def fetchone(self) -> Row | None: ...

    async def fetchall(self) -> Sequence[Row]: ...

    def __aiter__(self) -> AsyncIterator[Row]: ...


async def only_row(cursor: Cursor) -> Row:
    """The row of a statement that always gives one: an aggregate without GROUP BY, an INSERT's
    ``RETURNING``, a row that a foreign key or a migration guarantees."""
    row = await cursor.fetchone()
    if row is None:
        raise LookupError("the statement gave no row")
    return row


C_co = TypeVar("C_co", bound=Closable, covariant=True)


class Pending(Awaitable[C_co], Generic[C_co]):
    """What a connection's ``execute`` returns, on either backend: awaited, its cursor; in ``async with``,
    the cursor, closed after."""

    __slots__ = ("_run", "_cursor")

    def __init__(self, run: Awaitable[C_co]) -> None:
        self._run = run
        self._cursor: C_co | None = None

    def __await__(self) -> Generator[Any, None, C_co]:
        return self._run.__await__()

    async def __aenter__(self) -> C_co:
        self._cursor = await self._run
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


@lru_cache(maxsize=2048)
def to_pyformat(sql: str) -> str:
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # an escaped quote
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == ":" and i + 1 < n and sql[i + 1] == ":":
            out.append("::")
            i += 2
        elif ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            end = i + 1
            while end < n and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            out.append(f"%({sql[i + 1 : end]})s")
            i = end
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def one_statement(sql: str, used: bool, *, select: bool) -> None:
    """What ``read_one()`` (a single SELECT) and ``write_one()`` (a single statement) accept.

    Each runs its statement outside any explicit transaction: one statement is its own snapshot,
    and its own atomic change.
    """
    if used:
        raise RuntimeError("read_one() and write_one() run a single statement: use read() or transaction()")
    if select and sql.lstrip()[:6].upper() != "SELECT":
        raise RuntimeError("read_one() runs a SELECT only")
