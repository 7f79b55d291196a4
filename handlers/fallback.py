"""What nobody else handled: unknown commands, stray messages, stale buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from handlers.common import Context, Handler, answer_query, lang_of, send
from handlers.i18n import t


async def unknown_command(update: Update, context: Context) -> None:
    await send(update, context, t(await lang_of(update, context), "common.unknown_command"))


async def not_understood(update: Update, context: Context) -> None:
    await send(update, context, t(await lang_of(update, context), "common.not_understood"))


async def stale_button(update: Update, context: Context) -> None:
    """A button no handler accepts (old, forged or malformed data): the tap's answer says so."""
    await answer_query(update, t(await lang_of(update, context), "common.expired_button"))


async def stale_button_message(update: Update, context: Context) -> None:
    """As :func:`stale_button`, said in a message (where the tap's answer alone was too easy to miss)."""
    await answer_query(update)
    await send(update, context, t(await lang_of(update, context), "common.expired_button"))


def fallback_handlers() -> list[Handler]:
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(filters.COMMAND & private & filters.UpdateType.MESSAGE, unknown_command),
        MessageHandler(private & filters.UpdateType.MESSAGE, not_understood),
        CallbackQueryHandler(stale_button),
    ]
