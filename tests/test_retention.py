"""Retention (docs/retention.md): sent notices older than ``[retention] sent_notices_days`` are deleted, in batches.

Unsent, failed and skipped rows stay, and so does everything of the case's
record (its events and its journal chain, which verify-journal checks).
"""

from __future__ import annotations

from store.clock import FakeClock
from store.journal import verify
from store.org import Retention
from store.retention import prune_sent_notices
from store.services import Services
from store.workflow import Action
from tests.conftest import draft, petitioner, rows
from tests.review_fixture import OFFICER_P1, rorg, rstore

__all__ = ["rorg", "rstore"]


async def test_sent_notices_are_deleted_after_the_retention_and_nothing_else(
    rstore: Services, clock: FakeClock
) -> None:
    assert rstore.org.retention == Retention(sent_notices_days=90)
    old = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    await rstore.cases.act(OFFICER_P1, old, Action.ACCEPT)
    queued_then = rows(rstore, "SELECT id FROM outbox ORDER BY id")
    assert len(queued_then) >= 2
    first, *others = [i for (i,) in queued_then]
    for item in others:
        await rstore.outbox.mark_sent(item)
    await rstore.outbox.mark_failed(first, "chat not found")  # failed: kept for the operator
    clock.advance(days=91)
    recent = (await rstore.cases.submit(petitioner(5002), draft(), "b")).case.number
    recent_ids = [i for (i,) in rows(rstore, "SELECT id FROM outbox WHERE id > ? ORDER BY id", others[-1])]
    assert recent_ids
    for item in recent_ids:
        await rstore.outbox.mark_sent(item)  # sent today: within the retention
    unsent = (await rstore.cases.submit(petitioner(5003), draft(), "c")).case.number
    events_before = rows(rstore, "SELECT id, hash FROM events ORDER BY id")

    deleted = await prune_sent_notices(rstore.db, rstore.org, rstore.clock, batch=1)
    assert deleted == len(others)
    left = [i for (i,) in rows(rstore, "SELECT id FROM outbox ORDER BY id")]
    assert first in left and set(recent_ids) <= set(left) and not set(others) & set(left)
    assert rows(rstore, "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")[0][0] >= 1
    assert rows(rstore, "SELECT id, hash FROM events ORDER BY id") == events_before  # the record stays
    async with rstore.db.read() as conn:
        assert (await verify(conn)).ok
    assert await prune_sent_notices(rstore.db, rstore.org, rstore.clock) == 0  # nothing twice
    assert {old, recent, unsent}
