"""Delivers the notification outbox through PTB, at least once, in order per chat.

Rows are read in id order; the first undelivered row of a chat holds back
that chat's later rows, so a petitioner never reads "decided" before
"accepted". Chats are served concurrently (one worker per chat, a bounded
number of requests in flight), each paced to one message per
``chat_interval`` after a short burst of ``chat_burst``, as Telegram asks, and all of them through PTB's rate
limiter for the bot-wide limit, as bulk: answers to a person's own action go
first, and the outbox uses what the pace leaves (:mod:`bot.pace`).

Faults: a 429 for one chat holds that chat's rows for the retry_after
Telegram asks (its row waits, and the rows after it wait behind it) while the
other chats go on; only a bot-wide flood (429s for several chats at once, as
:class:`bot.pace.PacedRateLimiter` judges it) pauses every outbox send, 5xx answers, time-outs and other passing errors
back off exponentially per row (a time-out holds one of the ``concurrency``
request slots for PTB's read timeout, 5 s by default, while the other chats
go on), and a chat that cannot be reached (the user
never started the bot, or blocked it) is set aside until the user writes
again (:meth:`OutboxSender.user_seen`). A row that cannot even be rendered is
retried a few times, then set aside, so one bad row never stalls the rest.

Delivery is at least once: a crash between Telegram's answer and
``mark_sent``, or a time-out after Telegram did deliver, sends the message
again on the next pass. Nothing can make that exactly once, since the Bot
API has no idempotency key.

Every message sent about a case (a case card, a relayed text, a notice to the
petitioner) is recorded with its case, so that a Telegram reply to it can be
relayed to the other side (``handlers.relay``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter

from bot.pace import BULK, DEFAULT_PER_SECOND, PacedRateLimiter, retry_after_seconds
from handlers import media
from handlers.errors import fault
from handlers.notifications import Outgoing, UnknownNotice, render
from store.models import Attachment, FileKind, OutboxItem
from store.notices import REPLYABLE
from store.review import serves
from store.services import Services

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
#: Telegram: "avoid sending more than one message per second" to one chat; a
#: short burst (a case card and its files) is tolerated, then one per second.
CHAT_INTERVAL_SECONDS = 1.0
CHAT_BURST = 4
#: A row whose rendering keeps failing is set aside after this many attempts.
POISON_ATTEMPTS = 5
#: Bot-wide pace (the organisation file's ``[limits] bot_messages_per_second``):
#: Telegram allows about 30 messages per second. One message every 1/28 s
#: keeps every sliding second under 30 (see :class:`bot.pace.Pace`).
OVERALL_PER_SECOND = DEFAULT_PER_SECOND

#: The Bot API method that sends each kind of file again (``sendPhoto``, ``sendVideoNote`` ...).
SENDERS = {kind: f"send_{kind.value}" for kind in FileKind}


# Outbox kinds whose messages a private-chat reply may answer.
REPLYABLE_KINDS = REPLYABLE


def rate_limiter(per_second: float = OVERALL_PER_SECOND) -> AIORateLimiter:
    """PTB's limiter with one bot-wide pace, answers first (:mod:`bot.pace`).

    Outbox sends carry ``rate_limit_args=BULK``: they take what the pace leaves
    and are not retried there (the outbox persists its own retries).
    """
    return PacedRateLimiter(per_second)


def backoff(attempts: int, base: float = BACKOFF_BASE_SECONDS) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (0-based): 1, 2, 4, … 300."""
    return min(base * 2.0 ** min(attempts, 30), BACKOFF_MAX_SECONDS)


_retry_after = retry_after_seconds


class _Paused(Exception):
    """A 429 elsewhere paused the outbox, or the bot is stopping; this message was not attempted."""


class OutboxSender:
    def __init__(
        self,
        services: Services,
        bot: Bot,
        *,
        batch: int = 500,
        per_chat: int = 5,
        concurrency: int = 8,
        chat_interval: float = CHAT_INTERVAL_SECONDS,
        chat_burst: int = CHAT_BURST,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.services = services
        self.outbox = services.outbox
        self.bot = bot
        # Behind answers in the bot-wide pace, and no retries inside the limiter.
        limiter = getattr(bot, "rate_limiter", None)
        self._limiter = limiter if isinstance(limiter, PacedRateLimiter) else None
        self._bulk: dict[str, Any] = {"rate_limit_args": BULK} if self._limiter is not None else {}
        self.batch = batch
        self.per_chat = per_chat
        self.concurrency = concurrency
        self.chat_interval = chat_interval
        self.chat_burst = max(1, chat_burst)
        self.backoff_base = backoff_base
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._paused_until = 0.0
        # Per chat, when its sends so far would be over at one per interval (GCRA).
        self._next_send: dict[int, float] = {}
        self._unreachable: set[int] | None = None  # chats with rows set aside
        # Neutral copies of a confidential case's files already uploaded: (attachment, name) -> file_id.
        self._copies: dict[tuple[int, str], str] = {}
        self._copy_locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._wanted = False
        self._closing = asyncio.Event()

    # ------------------------------------------------------------- wake-ups

    def wake(self) -> bool:
        """Ask for a pass soon. True if the caller should schedule one.

        Called after every commit that queued notifications; a pass already
        running looks again before it ends, so a burst of commits costs one
        extra pass, not one pass each.
        """
        if self._wanted:
            return False
        self._wanted = True
        return True

    async def user_seen(self, user_id: int) -> bool:
        """The user wrote to the bot: notifications set aside as unreachable get another chance."""
        if self._unreachable is None:
            self._unreachable = set(await self.outbox.unreachable_chats())
        # A confidential reporter's rows carry the keyed hash of their id; a claimant's and a booker's, keys of their own.
        hit = self.services.context.reach_keys(user_id) & self._unreachable
        if not hit:
            return False
        self._unreachable -= hit
        requeued = 0
        for chat in hit:
            requeued += await self.outbox.requeue_failed(chat)
        return requeued > 0

    @property
    def busy(self) -> bool:
        """A pass is running (it picks up rows queued meanwhile before it ends)."""
        return self._lock.locked()

    def close(self) -> None:
        """The bot is stopping: end the running pass after the request in flight."""
        self._closing.set()

    # ---------------------------------------------------------------- passes

    @property
    def paused_for(self) -> float:
        """Seconds left of a pause Telegram asked for with a 429."""
        return max(0.0, self._paused_until - self._monotonic())

    async def run_once(self) -> int:
        """Deliver what is due now; returns how many rows were completed."""
        async with self._lock:
            total = 0
            while True:
                self._wanted = False
                if self.paused_for > 0 or self._closing.is_set():
                    return total
                done, more = await self._pass()
                total += done
                if not (self._wanted or (more and done)):
                    return total

    async def _pass(self) -> tuple[int, bool]:
        now = self._monotonic()
        self._next_send = {chat: at for chat, at in self._next_send.items() if at > now}
        rows = await self.outbox.pending_notifications(self.batch, per_chat=self.per_chat)
        by_chat: dict[int, list[OutboxItem]] = {}
        for item in rows:
            by_chat.setdefault(item.chat_id, []).append(item)
        slots = asyncio.Semaphore(self.concurrency)
        results = await asyncio.gather(
            *(self._serve_chat(items, slots) for items in by_chat.values())
        )
        more = len(rows) >= self.batch or any(
            len(items) >= self.per_chat and done == len(items)
            for items, done in zip(by_chat.values(), results, strict=True)
        )
        return sum(results), more

    async def _serve_chat(self, items: list[OutboxItem], slots: asyncio.Semaphore) -> int:
        """Deliver one chat's rows in order, stopping at the first that is not done."""
        done = 0
        for item in items:
            if item.due_at > self.services.clock.now() or self.paused_for > 0 or self._closing.is_set():
                break
            if not await self._deliver(item, slots):
                break
            done += 1
        return done

    async def _deliver(self, item: OutboxItem, slots: asyncio.Semaphore) -> bool:
        """Send one row; True when it is finished with (sent, skipped or set aside)."""
        refusal = await self.services.may_receive(item.chat_id, item)
        if refusal is not None:  # lost scope since it was queued: recused, moved, no longer staff
            log.info("notification %s skipped: %s", item.id, refusal)
            await self.outbox.mark_skipped(item.id, refusal)
            return True
        chat_id = await self.services.chat_of(item.chat_id)  # a keyed hash opened only now
        if chat_id is None:
            log.error("notification %s set aside: no recipient behind its key", item.id)
            await self.outbox.mark_failed(item.id, "unknown person")
            return True
        try:
            messages = await render(item, self.services)
        except UnknownNotice as error:  # retrying cannot teach this version a new kind
            log.error("notification %s set aside: %s", item.id, error)
            await self.services.outbox.mark_failed(item.id, f"render: {error}")
            return True
        except Exception as error:  # noqa: BLE001 - any failure: retried, logged by its class, never its text
            log.error("notification %s could not be rendered: %s", item.id, fault(error))
            if item.attempts + 1 >= POISON_ATTEMPTS:
                await self.outbox.mark_failed(item.id, f"render: {error!r}")
                return True
            await self.outbox.mark_retry(item.id, backoff(item.attempts, self.backoff_base), f"render: {error!r}")
            return False
        try:
            for index, message in enumerate(messages):
                if index < item.progress:
                    continue
                await self._pace(item.chat_id)
                async with slots:
                    if self.paused_for > 0:
                        raise _Paused
                    sent = await self._send(chat_id, message)
                now = self._monotonic()
                self._next_send[item.chat_id] = max(self._next_send.get(item.chat_id, now), now) + self.chat_interval
                if item.case_id is not None and item.kind in REPLYABLE_KINDS and chat_id > 0:
                    await self.services.staff_work.remember_messages(chat_id, [sent.message_id], item.case_id)
                if len(messages) > 1:
                    await self.outbox.mark_progress(item.id, index + 1)
        except _Paused:
            return False
        except RetryAfter as error:
            seconds = _retry_after(error)
            # This chat's row (and the rows behind it) wait; every chat waits only when the
            # limiter judged it the bot-wide limit (or there is no such limiter to ask).
            everyone = seconds if self._limiter is None else self._limiter.paused_for
            if everyone > 0:
                self._paused_until = max(self._paused_until, self._monotonic() + everyone)
            await self.outbox.mark_retry(item.id, seconds, f"429 retry after {seconds}s")
            return False
        except Forbidden as error:
            # Nothing of the recipient (it may be a confidential reporter): the row and the error class only.
            log.warning("notification %s set aside, its recipient is unreachable (%s)", item.id, type(error).__name__)
            await self._set_aside(item, f"forbidden: {error}")
            return True
        except ChatMigrated as error:
            # Only a group migrates to a supergroup; still, no id in the log: the new one is in the row.
            log.error("notification %s set aside: the staff group became a supergroup; put its new id (the outbox "
                      "row's last_error) in the organisation file", item.id)
            await self._set_aside(item, f"migrated to {error.new_chat_id}")
            return True
        except BadRequest as error:
            if "chat not found" in str(error).lower():
                await self._set_aside(item, f"unreachable: {error}")
                return True
            log.error("notification %s refused by the Bot API: %s", item.id, error)
            await self.outbox.mark_failed(item.id, f"bad request: {error}")
            return True
        except TelegramError as error:  # TimedOut, NetworkError (5xx), anything passing
            delay = backoff(item.attempts, self.backoff_base)
            log.info("notification %s failed (%s), retry in %.1fs", item.id, error, delay)
            await self.outbox.mark_retry(item.id, delay, f"{type(error).__name__}: {error}")
            return False
        if serves(item):  # the written opinion reached the petitioner: 送达, on the case's record too
            await self.services.review.delivered(item)
        else:
            await self.outbox.mark_sent(item.id)
        return True

    async def _pace(self, chat_id: int) -> None:
        """Wait until ``chat_id`` may receive: ``chat_burst`` at once, then one per interval."""
        allowance = (self.chat_burst - 1) * self.chat_interval
        wait = self._next_send.get(chat_id, 0.0) - allowance - self._monotonic()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), wait)
        if self.paused_for > 0 or self._closing.is_set():
            raise _Paused

    async def _set_aside(self, item: OutboxItem, reason: str) -> None:
        await self.outbox.mark_failed(item.id, reason)
        if self._unreachable is not None:
            self._unreachable.add(item.chat_id)

    async def _send(self, chat_id: int, message: Outgoing) -> Message:
        if message.upload is not None:  # a file the bot made: a formal document
            return await self.bot.send_document(
                chat_id, InputFile(message.upload.data, filename=message.upload.file_name),
                caption=message.text, parse_mode=ParseMode.HTML, **self._bulk,
            )
        if message.attachment is not None and message.file_name is not None:
            return await self._send_neutral_copy(chat_id, message.attachment, message.file_name, message.text)
        if message.attachment is not None:
            return await self._send_file(chat_id, message.attachment, message.text)
        assert message.text is not None
        return await self.bot.send_message(
            chat_id, message.text, parse_mode=ParseMode.HTML, reply_markup=message.markup, **self._bulk
        )

    async def _send_file(self, chat_id: int, attachment: Attachment, caption: str | None) -> Message:
        method: Callable[..., Awaitable[Message]] = getattr(self.bot, SENDERS[attachment.kind])
        if attachment.kind is FileKind.VIDEO_NOTE:  # round videos take no caption
            return await method(chat_id, attachment.file_id, **self._bulk)
        return await method(chat_id, attachment.file_id, caption=caption, parse_mode=ParseMode.HTML, **self._bulk)

    async def _send_neutral_copy(
        self, chat_id: int, attachment: Attachment, file_name: str, caption: str | None
    ) -> Message:
        """A confidential case's file: a copy under a neutral name, an image without its metadata.

        The copy is uploaded once per name; later recipients get it by the
        file_id Telegram gave it (which keeps the neutral name).
        """
        method: Callable[..., Awaitable[Message]] = getattr(self.bot, SENDERS[attachment.kind])
        key = (attachment.id, file_name)
        # Chats are served concurrently: the first upload of a copy is awaited by the others.
        async with self._copy_locks.setdefault(key, asyncio.Lock()):
            cached = self._copies.get(key)
            if cached is not None:
                return await method(chat_id, cached, caption=caption, parse_mode=ParseMode.HTML, **self._bulk)
            source = await self.bot.get_file(attachment.file_id)
            data = media.neutral_copy(attachment, bytes(await source.download_as_bytearray()))
            sent = await method(chat_id, InputFile(data, filename=file_name), caption=caption,
                                parse_mode=ParseMode.HTML, **self._bulk)
            uploaded = sent.effective_attachment
            if uploaded is not None and hasattr(uploaded, "file_id"):
                self._copies[key] = uploaded.file_id
            return sent
