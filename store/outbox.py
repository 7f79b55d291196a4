"""The outbox: notifications written in the transaction that causes them.

Every service queues what someone must be told through :meth:`Outbox.queue`,
inside its own write transaction, and calls :meth:`Outbox.kick` after the
commit so the sender (``bot/outbox.py``) wakes up. The sender reads and marks
rows through the other methods here, each mark a single statement
(``write_one``): on PostgreSQL it does not take the process's write lock, so
a notice going out never waits behind a submission, nor holds one up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from store.clock import Clock, iso, iso_not_before
from store.db import Backend, Connection
from store.events import EventBus, PetitionerNotice
from store.models import OutboxItem, row_to_model
from store.notices import PETITIONER_KINDS, NoticeKind, NoticeParams, stored_params
from store.vault import is_person_key


class Outbox:
    """Queueing notifications (inside a change) and the sender's bookkeeping (after it)."""

    def __init__(self, db: Backend, clock: Clock, events: EventBus | None = None) -> None:
        self.db = db
        self.clock = clock
        self.events = events or EventBus()
        # Called after a commit that queued notifications (the sender wakes up).
        self.on_queued: Callable[[], None] | None = None

    def _now(self) -> str:
        return iso(self.clock.now())

    # ------------------------------------------------------ inside a change

    async def queue(
        self,
        conn: Connection,
        chat_id: int,
        kind: NoticeKind,
        case_id: int | None,
        event_id: int | None = None,
        params: NoticeParams | dict[str, Any] | None = None,
    ) -> None:
        """Write one notification in the caller's transaction (its params checked against its kind's model)."""
        stored = stored_params(kind, params)
        if case_id is not None and (is_person_key(chat_id) or kind in PETITIONER_KINDS):
            # A notice to a case's petitioner: the ledger tells everyone who petitions in the case, and one
            # to a petitioner without a chat (``store.vault.person_key``) becomes tasks for the staff instead.
            notice = PetitionerNotice(chat_id, kind, case_id, event_id, stored)
            await self.events.publish(conn, notice)
            if notice.taken:
                return
        now = self._now()
        conn.later(
            "INSERT INTO outbox (chat_id, kind, case_id, event_id, params, created_at, due_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (chat_id, kind, case_id, event_id, json.dumps(stored), now, now),
        )

    def kick(self) -> None:
        """After a commit that queued something: wake the sender."""
        if self.on_queued is not None:
            self.on_queued()

    # ------------------------------------------------------------ the sender

    async def pending_notifications(
        self, limit: int = 100, per_chat: int | None = None
    ) -> list[OutboxItem]:
        """Unsent notifications in order; the sender keeps per-chat order itself.

        ``per_chat`` takes only the first rows of each chat, so one chat's
        backlog cannot crowd every other chat out of the batch.
        """
        pending = "SELECT * FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND skipped_at IS NULL"
        if per_chat is not None:
            pending = (
                "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY chat_id ORDER BY id)"
                f" AS nth FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
                f" AND skipped_at IS NULL) AS waiting WHERE nth <= {int(per_chat)}"
            )
        async with self.db.read() as conn:
            async with conn.execute(pending + " ORDER BY id LIMIT ?", (limit,)) as cur:
                return [row_to_model(OutboxItem, row) async for row in cur]

    async def unreachable_chats(self) -> list[int]:
        """Chats whose notifications were set aside because Telegram could not reach them."""
        async with self.db.read_one() as conn:
            async with conn.execute(
                "SELECT DISTINCT chat_id FROM outbox WHERE failed_at IS NOT NULL AND sent_at IS NULL"
            ) as cur:
                return [row[0] async for row in cur]

    async def mark_sent(self, item_id: int) -> None:
        async with self.db.write_one() as conn:
            await conn.execute(
                "UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                (self._now(), item_id),
            )

    async def mark_skipped(self, item_id: int, reason: str) -> None:
        """Not sent, and never to be: its recipient may no longer hear of the case (``reason``)."""
        async with self.db.write_one() as conn:
            await conn.execute(
                "UPDATE outbox SET skipped_at = ?, skip_reason = ? WHERE id = ?",
                (self._now(), reason, item_id),
            )

    async def mark_progress(self, item_id: int, progress: int) -> None:
        """Record how many messages of a multi-message item are out, so a retry skips them."""
        async with self.db.write_one() as conn:
            await conn.execute("UPDATE outbox SET progress = ? WHERE id = ?", (progress, item_id))

    async def requeue_failed(self, chat_id: int) -> int:
        """Give undeliverable notifications another chance once the user is reachable."""
        async with self.db.write_one() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET failed_at = NULL, due_at = ? WHERE chat_id = ?"
                " AND failed_at IS NOT NULL AND sent_at IS NULL",
                (self._now(), chat_id),
            )
            return int(cur.rowcount)

    async def mark_retry(self, item_id: int, delay_seconds: float, error: str) -> None:
        now = self.clock.now()  # a wait rounds up to the second it ends in; none asked: due now
        due = iso_not_before(now + timedelta(seconds=delay_seconds)) if delay_seconds > 0 else iso(now)
        async with self.db.write_one() as conn:
            await conn.execute(
                "UPDATE outbox SET due_at = ?, attempts = attempts + 1, last_error = ?"
                " WHERE id = ?",
                (due, error[:500], item_id),
            )

    async def mark_failed(self, item_id: int, error: str) -> None:
        async with self.db.write_one() as conn:
            await conn.execute(
                "UPDATE outbox SET failed_at = ?, attempts = attempts + 1, last_error = ?"
                " WHERE id = ?",
                (self._now(), error[:500], item_id),
            )
