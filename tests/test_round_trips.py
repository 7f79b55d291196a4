"""Round trips to PostgreSQL per intake step: counted, so that a regression fails (speed itself is bench/'s).

The PostgreSQL layer counts what it sends in round trips (``store.pg.Statements``): a transaction's
``BEGIN`` goes with its first statement, its ``COMMIT`` is one more; a single SELECT
(``read_one()``) or a single change (``write_one()``) is one. On a server across a network each
round trip is a wait, and every write waits for the one before it (docs/concurrency.md).
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from telegram.ext import Application

from store.conversations import Conversation
from store.db import Database, SqliteThread
from store.models import Actor, ActorRole
from store.pg import PgDatabase
from store.services import Services
from tests.conftest import draft, petitioner
from tests.offline import OfflineRequest, Updates, feed

USER = 5001

#: Round trips per step of the intake, at most (the first update of a person also reads their
#: language and any notices set aside for them, once per process).
BUDGET = {
    # unreachable chats, the user's Telegram language (one statement, write_one()), their language, the
    # draft, a petition submitted minutes ago (its receipt may have been lost: named instead of a second
    # filing), the new draft
    "/new": 6,
    "category": 3,  # the draft, the draft written, whether the account is a verified employee
    "unit": 2,  # the draft, the draft written: every step that only moves on
    "leaf unit": 2,
    "subject": 2,
    "details": 2,
    "no files": 2,
    "real name": 3,  # and the pseudonym secret (once per process)
    # the draft, then one transaction: what needs no other answer in one trip (a second tap, today's
    # count, the verified employee, the year's next number, the journal's head), the case (its row comes
    # back with the INSERT, and its rank is stored from it) with the petitioner's register records, the
    # person's earlier cases with the unit's recent ones (the journal's insert, the rank, the draft's
    # deletion and the notices go with it: later()), the COMMIT. What the submission read of the
    # petitioner (verified or not, linked to nothing yet) is not read again, nor the case.
    "submit": 5,
}


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_round_trips_per_intake_step(app: tuple[Application, OfflineRequest], store: Services) -> None:
    application, request = app
    db = store.db
    assert isinstance(db, PgDatabase)
    user = Updates(USER)
    steps = [
        ("/new", user.text("/new")), ("category", user.tap("in:cat:wages")),
        ("unit", user.tap("in:unit:oilfield")), ("leaf unit", user.tap("in:unit:plant-1")),
        ("subject", user.text("加班费未发放")), ("details", user.text("十月份加班费至今未发放。")),
        ("no files", user.tap("in:done")), ("real name", user.tap("in:id:real")), ("submit", None),
    ]
    counts: dict[str, int] = {}
    traces: dict[str, list[str]] = {}
    for name, raw in steps:
        if raw is None:  # Submit: the button of the review message
            submit = next(data for _, data in request.last_to(USER).buttons() if data.startswith("in:submit:"))
            raw = user.tap(submit)
        db.statements.trace = []
        before = db.statements.round_trips
        await feed(application, raw)
        counts[name] = db.statements.round_trips - before
        traces[name] = db.statements.trace
        assert counts[name] == len(traces[name])
    db.statements.trace = None
    print("round trips per intake step:", counts)  # pytest -s shows them
    assert "已登记" in request.last_to(USER).text  # the steps did what they do
    over = {name: (counts[name], BUDGET[name], traces[name]) for name in BUDGET if counts[name] > BUDGET[name]}
    assert not over, f"more round trips than budgeted (count, budget, what was sent): {over}"
    # Each plain step: one read of the draft, one write of it, no BEGIN or COMMIT of their own.
    assert [t.split()[0] for t in traces["subject"]] == ["SELECT", "INSERT"]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_transaction_sends_begin_with_its_first_statement(store: Services) -> None:
    db = store.db
    assert isinstance(db, PgDatabase)
    db.statements.trace = []
    async with db.transaction() as conn:
        await conn.execute("UPDATE meta SET value = value WHERE key = 'pseudonym_secret'")
        await conn.execute("SELECT value FROM meta WHERE key = 'pseudonym_secret'")
    async with db.transaction():
        pass  # nothing sent: neither BEGIN nor COMMIT
    async with db.read() as conn:
        await conn.execute("SELECT 1")
        await conn.execute("SELECT 2")
    async with db.read_one() as conn:
        await conn.execute("SELECT 3")
    trace, db.statements.trace = db.statements.trace, None
    assert trace == [
        "BEGIN ; UPDATE meta SET value = value WHERE key = 'pseudonym_secret'",
        "SELECT value FROM meta WHERE key = 'pseudonym_secret'", "COMMIT",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY ; SELECT 1", "SELECT 2", "COMMIT",
        "SELECT 3",
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_one_statement_reads_and_writes_refuse_a_second(store: Services) -> None:
    async with store.db.read_one() as conn:
        await conn.execute("SELECT 1")
        with pytest.raises(RuntimeError):
            await conn.execute("SELECT 2")  # a second needs read(): one snapshot for both
    async with store.db.read_one() as conn:
        with pytest.raises(RuntimeError):
            await conn.execute("DELETE FROM meta")  # a read never writes
    async with store.db.write_one() as conn:
        await conn.execute("UPDATE meta SET value = value WHERE key = 'pseudonym_secret'")
        with pytest.raises(RuntimeError):
            await conn.execute("DELETE FROM meta")  # a second change needs transaction()
    assert await store.db.schema_version() > 0


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_draft_is_saved_while_another_persons_transaction_is_open(store: Services) -> None:
    """A person's draft (``write_one``) does not wait for the process's write lock on PostgreSQL."""
    held, release = asyncio.Event(), asyncio.Event()

    async def long_transaction() -> None:
        async with store.db.transaction() as conn:
            await conn.execute("UPDATE meta SET value = value WHERE key = 'pseudonym_secret'")
            held.set()
            await release.wait()

    holder = asyncio.create_task(long_transaction())
    await held.wait()
    try:
        await asyncio.wait_for(store.forms.save(Conversation.INTAKE, USER, "subject", {"category": "wages"}), 5)
        saved = await store.forms.get(Conversation.INTAKE, USER)
        assert saved is not None and saved.step == "subject" and saved.data == {"category": "wages"}
        assert not holder.done()  # the transaction was still open all along
    finally:
        release.set()
        await holder


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_queue_page_and_its_count_are_one_round_trip(store: Services) -> None:
    """/queue, /alerts and the desk read a page and the scope's count in one snapshot: sent together."""
    for n in range(3):
        await store.cases.submit(petitioner(5001 + n), draft(), f"q{n}")
    db = store.db
    assert isinstance(db, PgDatabase)
    officer = Actor(id=1001, role=ActorRole.OFFICER)
    await store.cases.open_cases_for(officer)  # the day's ranks checked once (current_ranks)
    db.statements.trace = []
    cases, total = await store.cases.open_cases_for(officer, limit=2)
    trace, db.statements.trace = db.statements.trace, None
    assert (len(cases), total) == (2, 3)
    queue = [t for t in trace if "count(*)" in t]
    assert len(queue) == 1 and queue[0].startswith("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY ; SELECT count(*)")
    assert "ORDER BY" in queue[0] and trace[-1] == "COMMIT", trace
    assert len(trace) == 3, trace  # and the day's ranks checked first, one statement: three in all


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_second_tap_of_submit_spends_no_case_number(store: Services) -> None:
    """The year's next number is taken with the submission's first reads: a second tap rolls it back."""
    first = await store.cases.submit(petitioner(), draft(), "k1")
    again = await store.cases.submit(petitioner(), draft(), "k1")
    other = await store.cases.submit(petitioner(5002), draft(), "k2")
    assert first.created and not again.created and other.created
    assert again.case.number == first.case.number
    assert [first.case.number[-6:], other.case.number[-6:]] == ["000001", "000002"]
    async with store.db.read() as conn:
        async with conn.execute("SELECT last_seq FROM case_numbers") as cur:
            assert [int(r[0]) for r in await cur.fetchall()] == [2]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_case_a_submission_answers_is_the_case_stored(store: Services) -> None:
    """The submission answers the row its INSERT returned, or as the alert it joined or raised changed it (no
    read at its end): a first filing, a repeat (proposals), the fifth person of a collective petition (an alert
    raised), the sixth (joined), a confidential report, a filing that declares six people."""
    filings = [(5001, draft(), "a"), (5001, draft(subject="加班费仍未发放"), "b"),
               *((5002 + n, draft(), f"c{n}") for n in range(5)),
               (5009, draft(category="misconduct", confidential=True), "d"),
               (5010, draft(unit="plant-2", people=6), "e")]
    alerted = []
    for user, filed, key in filings:
        case = (await store.cases.submit(petitioner(user), filed, key)).case
        async with store.db.read() as conn:
            stored = await store.context.case_where(conn, "id = ?", (case.id,))
        assert stored is not None
        assert case.model_dump() == stored.model_dump(), case.number
        alerted.append(case.collective_alert is not None)
    # the fifth person's filing raised the alert, the sixth's joined it; six people declared raise one
    assert alerted == [False] * 5 + [True, True, False, True]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_filing_with_proposals_costs_no_more_round_trips(store: Services) -> None:
    """A second filing of the same person on the same matter journals its proposals (a ``flag`` event) in
    the four trips of any submission: the case is the one just inserted (no read of its rank, nor of a leader in
    charge it cannot have yet)."""
    db = store.db
    assert isinstance(db, PgDatabase)
    await store.cases.submit(petitioner(5009), draft(unit="plant-2"), "w")  # what a process reads once
    counts = []
    for key, subject in (("a", "加班费未发放"), ("b", "加班费仍未发放")):
        before = db.statements.round_trips
        await store.cases.submit(petitioner(), draft(subject=subject), key)
        counts.append(db.statements.round_trips - before)
    async with db.read() as conn:
        async with conn.execute("SELECT action FROM events ORDER BY id") as cur:
            assert [row["action"] for row in await cur.fetchall()] == ["submit", "submit", "submit", "flag"]
    assert counts == [4, 4]  # the transaction's four: the first reads, the case and the register, the matter, COMMIT


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_on_sqlite_one_statement_is_one_trip_to_its_thread(store: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """``write_one()`` and ``read_one()`` run their statement in autocommit, its own transaction: one trip to
    the connection's thread (a ``transaction()`` or a ``read()`` takes two: the statement with its BEGIN, then
    the COMMIT). A person's draft is read and written so at every step of a form."""
    db = store.db
    assert isinstance(db, Database)
    trips: list[str] = []

    def counted(thread: SqliteThread) -> None:
        real = thread._execute
        async def execute(fn: Any, *args: Any, **kwargs: Any) -> Any:
            trips.append(getattr(fn, "__name__", str(fn)))
            return await real(fn, *args, **kwargs)
        monkeypatch.setattr(thread, "_execute", execute)

    async with db.read_one() as conn:  # opens the first reader, then counts its trips
        await conn.execute("SELECT 1")
    for thread in (db.conn, *db._readers):
        counted(thread)
    async with db.write_one() as conn:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('probe', 'one')")
    assert trips == ["_run"]
    async with db.read_one() as conn:
        async with conn.execute("SELECT value FROM meta WHERE key = 'probe'") as cur:
            assert [tuple(row) for row in await cur.fetchall()] == [("one",)]  # committed, seen by a reader
    assert trips == ["_run", "_run"]
    with pytest.raises(sqlite3.IntegrityError):  # a statement that fails keeps nothing, leaves nothing open
        async with db.write_one() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('probe', 'two')")
    async with db.transaction() as conn:
        await conn.execute("UPDATE meta SET value = 'three' WHERE key = 'probe'")
    async with db.read() as conn:
        async with conn.execute("SELECT value FROM meta WHERE key = 'probe'") as cur:
            assert [tuple(row) for row in await cur.fetchall()] == [("three",)]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_joining_a_collective_alert_costs_no_more_round_trips(store: Services) -> None:
    """A burst of filings on one matter is a collective petition: from the fifth person on, each filing joins
    the cluster's alert. The alert (and whether a leader opened its incident) is read with the submission's
    other reads, and the case is changed from the row the transaction holds (no read of it, nor of its rank)."""
    db = store.db
    assert isinstance(db, PgDatabase)
    for n in range(5):  # the fifth raises the alert
        await store.cases.submit(petitioner(5001 + n), draft(), f"k{n}")
    before = db.statements.round_trips
    joined = (await store.cases.submit(petitioner(5006), draft(), "k6")).case
    assert db.statements.round_trips - before == 4
    async with db.read() as conn:
        async with conn.execute("SELECT id, people FROM alerts") as cur:
            [(alert, people)] = [tuple(row) for row in await cur.fetchall()]
    assert joined.collective_alert == alert and people == 6
