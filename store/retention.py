"""Retention: sent notices are deleted after ``[retention] sent_notices_days`` (default 90).

A sent outbox row is only the delivery of a message: what a case's record
needs (the events, the dates a document was served, the warnings and
reminders told) is kept in the case's own tables and journal, never only in
the outbox. Unsent, failed and skipped rows are kept (the operator still has
to see them). The job walks the outbox in id order, which is the order rows
were queued, and stops at the first row queued after the cut-off (a row is
sent after it is queued), deleting in small batches, each its own
transaction, so the bot's writers wait at most one batch. See docs/retention.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from store.clock import Clock, iso
from store.db import Backend
from store.org import Organization

PRUNE_BATCH = 2000


def cutoff(org: Organization, now: datetime) -> str:
    """Rows sent before this moment (stored UTC ISO text) are past their retention."""
    return iso(now - timedelta(days=org.retention.sent_notices_days))


async def prune_sent_notices(db: Backend, org: Organization, clock: Clock, batch: int = PRUNE_BATCH) -> int:
    """Delete the outbox rows sent before the retention's cut-off; how many were deleted."""
    before = cutoff(org, clock.now())
    deleted = 0
    after = 0
    while True:
        async with db.transaction() as conn:
            async with conn.execute(
                "SELECT id, created_at, sent_at FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (after, batch)
            ) as cur:
                found = await cur.fetchall()
            if not found:
                return deleted
            ids = [int(r["id"]) for r in found if r["sent_at"] is not None and r["sent_at"] < before]
            if ids:
                await conn.execute(f"DELETE FROM outbox WHERE id IN ({', '.join('?' * len(ids))})", ids)
                deleted += len(ids)
            after = int(found[-1]["id"])
            if any(r["created_at"] >= before for r in found):
                return deleted  # everything further on was queued, hence sent, after the cut-off


__all__ = ["PRUNE_BATCH", "cutoff", "prune_sent_notices"]
