"""The last line of defence: log the fault, tell the user politely, keep running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from handlers.common import Context, lang_of, send
from handlers.i18n import t
from handlers.limits import still_owed

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    try:
        await send(update, context, t(await lang_of(update, context), "common.busy"))
        if update.effective_user is not None:
            still_owed(context, update.effective_user.id)
    except (TelegramError, Exception):
        log.exception("could not tell the user about the error")
