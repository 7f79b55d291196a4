"""The per-minute message limit against flooding (organisation file: [limits]).

Runs right after the user bookkeeping and before every handler that acts
on a message (the order is the one list in ``bot/app.py``): a message over
the limit is answered once with a polite "too fast" and then dropped, so
nothing in it is stored or acted on. Staff are
not limited: their work is not abuse. Button taps are not counted; they
store nothing new and the intake needs several in a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, TypeHandler

from handlers.common import Context, deps, lang_of, send
from handlers.i18n import t
from handlers.flood import MessageLimiter, Verdict


def build(per_minute: int, clock: Callable[[], float] = time.monotonic) -> TypeHandler:
    limiter = MessageLimiter(per_minute, 60.0)

    async def limit(update: Update, context: Context) -> None:
        user, chat = update.effective_user, update.effective_chat
        if update.callback_query is not None or update.effective_message is None:
            return
        if user is None or chat is None or chat.type != ChatType.PRIVATE:
            return
        if deps(context).cases.actor(user.id).is_staff:
            return
        verdict = limiter.check(user.id, clock())
        if verdict is Verdict.ALLOW:
            return
        if verdict is Verdict.REFUSE_AND_TELL:
            await send(update, context, t(await lang_of(update, context), "common.too_fast"))
        raise ApplicationHandlerStop

    return TypeHandler(Update, limit)
