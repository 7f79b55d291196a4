"""Updates of one chat in order, chats side by side.

PTB hands every update to an update processor as soon as it is fetched
(``ApplicationBuilder.concurrent_updates``). :class:`ChatOrderedProcessor`
runs updates of different chats concurrently, at most ``concurrency`` at a
time, and the updates of one chat strictly one after the other, in the order
Telegram numbered them.

The keys of an update are its effective chat and its effective user: in a
private chat the chat id is the user's id, so a person's messages and button
taps share one queue (a tap is never handled before the text typed just before
it). In a group an update waits both for the group's earlier updates and for
its sender's: the project's conversations are per user (handlers/common.py
``user_conversation``), so a person's updates in a group and in their private
chat are never handled at once either. An update with neither (a poll's
state) has no order to keep and runs as it comes.

A chat waiting behind its own slow update does not take one of the
``concurrency`` slots: only an update that is actually being handled does.
That is why PTB's own bound (``max_concurrent_updates``, a semaphore taken
before the processor sees the update) is set to :data:`QUEUED_LIMIT` and the
real bound is this class's: with PTB's bound alone, 64 taps queued behind one
slow chat would hold every slot and stall every other chat.

What stays correct under it: conversation state (per chat, so never two
updates of one conversation at once), drafts and pending prompts (written
through the store per person, who is in one chat), idempotent submissions
(the unique key in the cases table), and everything two chats may race for
(two staff acting on one case) is settled by the store's transactions.

An update a handler hands back (a form that ended meanwhile, a command that ends a form:
``handlers.common.hand_on``) is handled again in the same turn of its chat, right after
the handler that handed it on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from handlers.common import HANDED_ON, HandedOn

log = logging.getLogger(__name__)

#: Updates handled at the same moment (each in its own chat).
DEFAULT_CONCURRENCY = 64
#: PTB's own bound: updates fetched and waiting (behind their chat or for a slot).
QUEUED_LIMIT = 100_000


def order_keys(update: object) -> tuple[int, ...]:
    """The queues an update joins: its chat and its user (one queue in a private chat), or none."""
    if not isinstance(update, Update):
        return ()
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return (user.id,) if user is not None else ()
    if user is None or user.id == chat.id:
        return (chat.id,)
    return (chat.id, user.id)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Runs chats side by side, at most ``concurrency`` updates at once, each chat in order."""

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be positive")
        super().__init__(max_concurrent_updates=max(QUEUED_LIMIT, concurrency))
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        # Per chat, the event the next update of that chat waits for (set when the last one ends).
        self._tails: dict[int, asyncio.Event] = {}

    @property
    def chats_waiting(self) -> int:
        """Chats with an update being handled or waiting."""
        return len(self._tails)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys = order_keys(update)
        # Taken synchronously, before any await: the fetcher starts one task per update in
        # the order fetched, so each queue follows Telegram's order (and, taken at once for
        # both keys, no two updates can wait for each other).
        previous = [event for key in keys if (event := self._tails.get(key)) is not None]
        done = asyncio.Event()
        for key in keys:
            self._tails[key] = done
        started = False
        turn = HandedOn()
        HANDED_ON.set(turn)  # this update's task's own context: what its handlers hand on comes here
        try:
            for event in previous:
                await event.wait()
            async with self._slots:
                started = True
                await coroutine
                # An update a handler handed on (its form had ended: handlers/common.py hand_on) is
                # handled again now, in this chat's turn: before the chat's next update, never beside it.
                while turn.waiting:
                    await turn.waiting.pop(0)
        finally:
            turn.closed = True
            for left in turn.waiting:
                left.close()  # cancelled (the bot is stopping)
            if not started and asyncio.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting (the bot is stopping)
            done.set()
            for key in keys:
                if self._tails.get(key) is done:
                    del self._tails[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
