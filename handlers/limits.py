"""The per-minute message limit against flooding (organisation file: [limits]).

Runs right after the user bookkeeping and before every handler that acts
on a message (the order is the one list in ``bot/app.py``): a message over
the limit is answered once with a polite "too fast" and then dropped, so
nothing in it is stored or acted on. Button taps count too (each intake tap
writes the draft): a tap over the limit is answered with the polite text as
a toast (answerCallbackQuery, every time, so the button never keeps
spinning) and does nothing else. Staff are not limited: their work is not
abuse.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, TypeHandler

from handlers.common import Context, answer_query, deps, lang_of, send
from handlers.i18n import t
from handlers.flood import MessageLimiter, Verdict


def build(per_minute: int, clock: Callable[[], float] = time.monotonic) -> TypeHandler:
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
        verdict = limiter.check(user.id, clock())
        if verdict is Verdict.ALLOW:
            return
        if tap:
            await answer_query(update, t(await lang_of(update, context), "common.too_fast_tap"))
        elif verdict is Verdict.REFUSE_AND_TELL:
            await send(update, context, t(await lang_of(update, context), "common.too_fast"))
        raise ApplicationHandlerStop

    return TypeHandler(Update, limit)
