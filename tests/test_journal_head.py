"""The journal's head is read once per transaction: later appends chain on what the transaction wrote.

``store.journal.append_chained`` keeps the last row's id and hash on the transaction's connection
(``heads``); a caller may hand it over read with its own reads (``head_statement`` / ``know_head``).
The chain must hold whatever the path: these tests verify it after each.
"""

from __future__ import annotations

import pytest

from store import journal
from store.db import Connection
from store.event_data import ActData
from store.models import SYSTEM, Status
from store.services import Services
from store.workflow import Action
from tests.conftest import draft, petitioner
from tests.test_later import pg_trace

HEAD = journal.head_statement("events")[0]


async def _events(store: Services) -> list[tuple[int, int, str]]:
    async with store.db.read() as conn:
        async with conn.execute("SELECT id, case_id, action FROM events ORDER BY id") as cur:
            return [(int(r["id"]), int(r["case_id"]), r["action"]) for r in await cur.fetchall()]


async def _append(store: Services, conn: Connection, case_id: int, note: str) -> int:
    """A staff note on a case just submitted (its status stays 待受理)."""
    return await store.context.event(conn, case_id, SYSTEM, Action.NOTE, Status.SUBMITTED, note, ActData())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_three_events_in_one_transaction_chain_on_each_other(store: Services) -> None:
    made = await store.cases.submit(petitioner(), draft(), "k1")
    before = await _events(store)
    async with store.db.transaction() as conn:
        ids = [await _append(store, conn, made.case.id, f"第{n}次") for n in range(3)]
    assert ids == [before[-1][0] + 1, before[-1][0] + 2, before[-1][0] + 3]
    assert [e[2] for e in (await _events(store))[-3:]] == ["note"] * 3
    assert (await store.verify_journal()).ok


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_the_head_is_read_once_per_transaction(store: Services) -> None:
    made = await store.cases.submit(petitioner(), draft(), "k1")
    with pg_trace(store) as trace:
        async with store.db.transaction() as conn:
            for n in range(3):
                await _append(store, conn, made.case.id, f"第{n}次")
    assert sum(HEAD in line for line in trace) == 1, trace
    assert (await store.verify_journal()).ok


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_savepoint_rolled_back_forgets_what_it_appended(store: Services) -> None:
    made = await store.cases.submit(petitioner(), draft(), "k1")
    async with store.db.transaction() as conn:
        await _append(store, conn, made.case.id, "保留")
        await conn.execute("SAVEPOINT part")
        await _append(store, conn, made.case.id, "撤回")
        await conn.execute("ROLLBACK TO SAVEPOINT part")
        await conn.execute("RELEASE SAVEPOINT part")
        kept = await _append(store, conn, made.case.id, "其后")
    events = await _events(store)
    assert events[-1][0] == kept == events[-2][0] + 1  # chained on the event kept, not on the one undone
    assert (await store.verify_journal()).ok


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_head_handed_over_is_the_one_appended_to(store: Services) -> None:
    made = await store.cases.submit(petitioner(), draft(), "k1")
    async with store.db.transaction() as conn:
        (head,) = await conn.together([journal.head_statement("events")])
        journal.know_head(conn, "events", head)
        first = await _append(store, conn, made.case.id, "一")
    assert first == int(head[0]["id"]) + 1
    assert (await store.verify_journal()).ok
