"""The last line of defence: log the fault, tell the user politely, keep running."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import TelegramError

from handlers.common import Context, lang_of, send
from handlers.i18n import t
from handlers.limits import still_owed

log = logging.getLogger(__name__)


def fault(error: BaseException | None) -> str:
    """An exception as the log may hold it: its class and where it was raised, never its message.

    A message may quote what a person wrote (a subject a library refused, a
    value a driver echoes); the class and the frames (file, line, function: no
    source text) say where to look.
    """
    if error is None:
        return "unknown"
    kind = type(error)
    frames = [f"  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(error.__traceback__)]
    return "\n".join([f"{kind.__module__}.{kind.__qualname__}", *frames])


async def on_error(update: object, context: Context) -> None:
    log.error("error while handling an update: %s", fault(context.error))
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
