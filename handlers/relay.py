"""Telegram replies to case messages, relayed to the other side of the case.

An officer who replies (Telegram's "reply") to a case card or to a relayed
message of the petitioner answers the petitioner; a petitioner who replies to
a message about their case (an officer's question, a notice) writes to the
assigned officer, or to the responsible staff if nobody is assigned yet.

The outbox sender records which message belongs to which case
(``case_messages``). This handler runs in its own group before all others:
a reply to a case message is relayed and handling stops there; any other
message (a reply to a prompt's question, say) passes on untouched.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from handlers.common import Context, Handler, deps, lang_of, send
from handlers.i18n import t
from handlers.media import attachment_of
from handlers.refusals import answers_refusals

MEDIA = filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.VIDEO | filters.AUDIO


@answers_refusals(stop=True)  # a refused relay is answered, and goes no further
async def on_reply(update: Update, context: Context) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    target = message.reply_to_message
    if target is None or target.from_user is None or target.from_user.id != context.bot.id:
        return
    d = deps(context)
    attachment = attachment_of(message)
    relayed = await d.staff_work.relay_reply(
        user.id,
        message.chat_id,
        target.message_id,
        message.message_id,
        message.text or message.caption,
        [attachment.model_dump()] if attachment is not None else None,
    )
    if relayed is None:
        return  # not a case message: an ordinary reply, for the other handlers
    if not relayed.duplicate:
        lang = await lang_of(update, context)
        key = "staff.replied" if relayed.to_petitioner else "relay.sent_to_staff"
        await send(update, context, t(lang, key, number=relayed.case.number))
    raise ApplicationHandlerStop


def handler() -> Handler:
    return MessageHandler(
        filters.REPLY
        & filters.ChatType.PRIVATE
        & filters.UpdateType.MESSAGE
        & ~filters.COMMAND
        & (filters.TEXT | MEDIA),
        on_reply,
    )
