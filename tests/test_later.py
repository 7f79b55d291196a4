"""Changes put off (``Connection.later``): a write whose result nobody reads goes with the transaction's
next statement, or with its COMMIT, in the same trip. On both databases: what the next statement sees,
what a rollback leaves, where an error is raised, and where it is refused. And reads sent together
(``Connection.together``): each one's rows, in order, in one trip."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from store.pg import PgDatabase
from store.services import Services

#: A key that is already there, on either database.
TAKEN = (sqlite3.IntegrityError, psycopg.errors.UniqueViolation)
SET = "UPDATE meta SET value = ? WHERE key = 'later_probe'"
READ = "SELECT value FROM meta WHERE key = 'later_probe'"


async def probe(store: Services) -> str | None:
    async with store.db.read_one() as conn:
        async with conn.execute(READ) as cur:
            row = await cur.fetchone()
    return None if row is None else str(row["value"])


@pytest.fixture
async def meta_row(store: Services) -> Services:
    async with store.db.transaction() as conn:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('later_probe', 'before')")
    return store


async def test_the_next_statement_sees_a_change_put_off_and_the_commit_keeps_it(meta_row: Services) -> None:
    store = meta_row
    async with store.db.transaction() as conn:
        conn.later(SET, ("first",))
        async with conn.execute(READ) as cur:
            assert (await cur.fetchone())["value"] == "first"  # type: ignore[index]
        conn.later(SET, ("second",))  # nothing after it: it goes with the COMMIT
    assert await probe(store) == "second"


async def test_a_transaction_of_changes_put_off_alone_begins_and_commits(meta_row: Services) -> None:
    store = meta_row
    async with store.db.transaction() as conn:
        conn.later(SET, ("only",))
    assert await probe(store) == "only"


async def test_a_rollback_drops_the_changes_put_off(meta_row: Services) -> None:
    store = meta_row
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with store.db.transaction() as conn:
            await conn.execute(SET, ("ran",))
            conn.later(SET, ("put off",))
            raise RuntimeError("changed my mind")
    assert await probe(store) == "before"


async def test_an_error_in_a_change_put_off_is_raised_and_nothing_is_kept(meta_row: Services) -> None:
    store = meta_row
    with pytest.raises(TAKEN):  # raised with the COMMIT it went with
        async with store.db.transaction() as conn:
            await conn.execute(SET, ("ran",))
            conn.later("INSERT INTO meta (key, value) VALUES ('later_probe', 'twice')")  # the key exists
    assert await probe(store) == "before"
    with pytest.raises(TAKEN):  # raised by the statement it went with
        async with store.db.transaction() as conn:
            conn.later("INSERT INTO meta (key, value) VALUES ('later_probe', 'twice')")
            await conn.execute("SELECT 1")
    assert await probe(store) == "before"


async def test_only_a_transaction_puts_changes_off(store: Services) -> None:
    for opened in (store.db.read_one(), store.db.write_one()):
        async with opened as conn:
            with pytest.raises(RuntimeError, match="transaction"):
                conn.later(SET, ("no",))


@contextmanager
def pg_trace(store: Services) -> Iterator[list[str]]:
    """What the PostgreSQL layer sends meanwhile: one line per round trip (``store.pg.Statements``)."""
    db = store.db
    assert isinstance(db, PgDatabase)
    trace: list[str] = []
    db.statements.trace = trace
    try:
        yield trace
    finally:
        db.statements.trace = None


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_on_postgresql_a_change_put_off_costs_no_round_trip_of_its_own(meta_row: Services) -> None:
    with pg_trace(meta_row) as trace:
        async with meta_row.db.transaction() as conn:
            conn.later(SET, ("a",))
            await conn.execute(READ)
            conn.later(SET, ("b",))
    assert trace == [f"BEGIN ; {SET} ; {READ}", f"{SET} ; COMMIT"]
    assert await probe(meta_row) == "b"



async def test_statements_together_answer_each_in_order_after_the_changes_put_off(meta_row: Services) -> None:
    store = meta_row
    async with store.db.transaction() as conn:
        conn.later(SET, ("put off",))
        first, none, count = await conn.together([
            (READ, None), ("SELECT value FROM meta WHERE key = ?", ("no such key",)),
            ("SELECT count(*) AS n FROM meta WHERE key = ?", ("later_probe",)),
        ])
        assert [dict(row) for row in first] == [{"value": "put off"}]
        assert none == [] and count[0]["n"] == 1
    assert await probe(store) == "put off"
    async with store.db.read() as conn:  # a read of several statements may send them together too
        (again,) = await conn.together([(READ, None)])
        assert again[0]["value"] == "put off"


async def test_an_error_among_statements_together_is_raised_and_nothing_is_kept(meta_row: Services) -> None:
    store = meta_row
    with pytest.raises(TAKEN):
        async with store.db.transaction() as conn:
            await conn.execute(SET, ("ran",))
            await conn.together([(READ, None), ("INSERT INTO meta (key, value) VALUES ('later_probe', 'x')", None)])
    assert await probe(store) == "before"
    for opened in (store.db.read_one(), store.db.write_one()):
        async with opened as conn:
            with pytest.raises(RuntimeError, match="single statement"):
                await conn.together([(READ, None)])


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_on_postgresql_statements_together_are_one_round_trip(meta_row: Services) -> None:
    with pg_trace(meta_row) as trace:
        async with meta_row.db.transaction() as conn:
            conn.later(SET, ("a",))
            await conn.together([(READ, None), ("SELECT 1", None)])
    assert trace == [f"BEGIN ; {SET} ; {READ} ; SELECT 1", "COMMIT"]


async def test_a_statement_without_parameters_keeps_its_literal_percent_signs(store: Services) -> None:
    """A LIKE pattern or a modulo written into the SQL: PostgreSQL's layer doubles each % for psycopg's
    formatting, which must then run even with no parameters (it did not: '%%' reached the server)."""
    sql = "SELECT 'a%b' AS text, 7 % 3 AS rest, 'xa%b' LIKE '%a!%b' ESCAPE '!' AS matched"
    for opened in (store.db.read_one(), store.db.read(), store.db.transaction()):
        async with opened as conn:
            async with conn.execute(sql) as cur:
                row = await cur.fetchone()
        assert row is not None and (row["text"], row["rest"], bool(row["matched"])) == ("a%b", 1, True)
    async with store.db.transaction() as conn:
        conn.later("UPDATE meta SET value = value WHERE key LIKE '%never%'")
        ((found,),) = await conn.together([("SELECT count(*) FROM meta WHERE key LIKE '%'", None)])
    assert found[0] >= 1
