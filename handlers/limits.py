"""The per-minute message limit against flooding (organisation file: [limits]).

Runs right after the user bookkeeping and before every handler that acts
on a message (the order is the one list in ``bot/app.py``): a message over
the limit is answered once with a polite "too fast" and then dropped, so
nothing in it is stored or acted on. Button taps count too (each intake tap
writes the draft): a tap over the limit is answered with the polite text as
a toast (answerCallbackQuery, every time, so the button never keeps
spinning) and does nothing else. Staff are not limited: their work is not
abuse.

A message sent while the bot still owes the user an answer (theirs was taken
but no answer has reached them yet, say the Bot API failed) is not counted
either, up to ``FREE_WHILE_OWED`` of them: typing again because nothing came
must not end in "too fast".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, TypeHandler

from handlers.common import Context, answer_query, deps, lang_of, send
from handlers.flood import MessageLimiter, Verdict
from handlers.i18n import t

log = logging.getLogger(__name__)

#: Messages not counted while an answer is owed (a bound, against a flood during an outage).
FREE_WHILE_OWED = 3


class Owed:
    """Users the bot owes an answer; the rate limiter reports each answer delivered."""

    def __init__(self) -> None:
        self._free: dict[int, int] = {}

    def begin(self, user_id: int) -> None:
        self._free.setdefault(user_id, FREE_WHILE_OWED)

    def answered(self, chat_id: int) -> None:
        self._free.pop(chat_id, None)

    def owes(self, user_id: int) -> bool:
        return user_id in self._free

    def take(self, user_id: int) -> bool:
        """True (and one fewer left) if this message is not counted."""
        left = self._free.get(user_id, 0)
        if left <= 0:
            return False
        self._free[user_id] = left - 1
        return True


def still_owed(context: Context, user_id: int) -> None:
    """The user was told only that something failed: the bot still owes them an answer."""
    owed = context.application.bot_data.get("owed")
    if isinstance(owed, Owed):
        owed.begin(user_id)


def build(per_minute: int, clock: Callable[[], float] = time.monotonic, owed: Owed | None = None) -> TypeHandler[Any, Context, Any]:
    limiter = MessageLimiter(per_minute, 60.0)

    async def limit(update: Update, context: Context) -> None:
        user, chat = update.effective_user, update.effective_chat
        tap = update.callback_query is not None
        if not tap and update.effective_message is None:
            return
        if user is None or chat is None or chat.type != ChatType.PRIVATE:
            return
        if deps(context).cases.actor(user.id).is_staff:
            return
        if owed is not None and owed.take(user.id):
            return
        verdict = limiter.check(user.id, clock())
        if verdict is Verdict.ALLOW:
            if owed is not None:
                owed.begin(user.id)
            return
        if tap:
            await answer_query(update, t(await lang_of(update, context), "common.too_fast_tap"))
        elif verdict is Verdict.REFUSE_AND_TELL:
            try:
                await send(update, context, t(await lang_of(update, context), "common.too_fast"))
            except TelegramError as error:  # refused all the same: nothing in it is acted on
                log.info("could not tell a user they send too fast: %s", error)
        raise ApplicationHandlerStop

    return TypeHandler(Update, limit)
