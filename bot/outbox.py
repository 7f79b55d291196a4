"""Delivers the notification outbox through PTB, at least once, in order per chat.

Rows are read in id order; the first undelivered row of a chat holds back
that chat's later rows, so a petitioner never reads "decided" before
"accepted". A 429 waits the retry_after Telegram asks for, network faults
back off exponentially, and a chat that cannot be reached (the user never
started the bot, or blocked it) is set aside until the user writes again.

Every message sent about a case (a case card, a relayed text, a notice to the
petitioner) is recorded with its case, so that a Telegram reply to it can be
relayed to the other side (``handlers.relay``).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from handlers.notifications import Outgoing, render
from store.models import Attachment, OutboxItem
from store.base import Store

log = logging.getLogger(__name__)

BACKOFF_MAX_SECONDS = 300.0
SENDERS = {
    "photo": "send_photo",
    "document": "send_document",
    "voice": "send_voice",
    "video": "send_video",
    "audio": "send_audio",
    "video_note": "send_video_note",
}


# Outbox kinds whose messages a private-chat reply may answer.
REPLYABLE_KINDS = frozenset({"case_card", "staff_event", "petitioner_event"})


def backoff(attempts: int) -> float:
    return min(2.0 ** attempts, BACKOFF_MAX_SECONDS)


class OutboxSender:
    def __init__(self, store: Store, bot: Bot, batch: int = 200) -> None:
        self.store = store
        self.bot = bot
        self.batch = batch
        self._lock = asyncio.Lock()

    async def run_once(self) -> int:
        """Deliver what is due now; returns how many rows were completed."""
        async with self._lock:
            now = self.store.clock.now()
            held: set[int] = set()
            done = 0
            for item in await self.store.pending_notifications(self.batch):
                if item.chat_id in held:
                    continue
                held.add(item.chat_id)  # later rows of this chat wait for this one
                if item.due_at > now:
                    continue
                if await self._deliver(item):
                    held.discard(item.chat_id)
                    done += 1
            return done

    async def _deliver(self, item: OutboxItem) -> bool:
        try:
            messages = await render(item, self.store)
            for index, message in enumerate(messages):
                if index < item.progress:
                    continue
                sent = await self._send(item.chat_id, message)
                if item.case_id is not None and item.kind in REPLYABLE_KINDS and item.chat_id > 0:
                    await self.store.remember_messages(item.chat_id, [sent.message_id], item.case_id)
                if len(messages) > 1:
                    await self.store.mark_progress(item.id, index + 1)
        except RetryAfter as error:
            delay = error.retry_after
            seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
            await self.store.mark_retry(item.id, seconds, f"429 retry after {seconds}s")
            return False
        except Forbidden as error:
            log.warning("chat %s unreachable, notification %s set aside: %s", item.chat_id, item.id, error)
            await self.store.mark_failed(item.id, f"forbidden: {error}")
            return True
        except BadRequest as error:
            if "chat not found" in str(error).lower():
                await self.store.mark_failed(item.id, f"unreachable: {error}")
                return True
            log.error("notification %s refused by the Bot API: %s", item.id, error)
            await self.store.mark_failed(item.id, f"bad request: {error}")
            return True
        except (TimedOut, NetworkError) as error:
            await self.store.mark_retry(item.id, backoff(item.attempts), f"network: {error}")
            return False
        await self.store.mark_sent(item.id)
        return True

    async def _send(self, chat_id: int, message: Outgoing) -> Message:
        if message.attachment is not None:
            return await self._send_file(chat_id, message.attachment)
        assert message.text is not None
        return await self.bot.send_message(
            chat_id, message.text, parse_mode=ParseMode.HTML, reply_markup=message.markup
        )

    async def _send_file(self, chat_id: int, attachment: Attachment) -> Message:
        method = getattr(self.bot, SENDERS.get(attachment.kind, "send_document"))
        return await method(chat_id, attachment.file_id)
