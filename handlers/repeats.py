"""重复信访 in Telegram: /repeat, the card's proposals and its 确认为重复信访 / 不是同一事项 buttons.

The store proposes earlier cases and records the officer's word
(``store.repeats``); this module parses the command, words the outcome, and
draws the card's lines and buttons.
"""

from __future__ import annotations

from contextlib import suppress

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import Context, Handler, answer_query, deps, send, staff_caller
from handlers.fallback import stale_button
from handlers.i18n import t
from handlers.refusals import answers_refusals
from store.models import Actor, Case
from store.repeats import NONE_WORDS

NUMBER_MAX = 40


@answers_refusals()
async def _words_done(update: Update, context: Context, number: str, earlier: str | None) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    tapped = update.callback_query is not None
    if earlier is None:
        case = await d.repeats.dismiss(actor, number)
        text = t(lang, "repeat.dismissed", number=case.number)
        short = t(lang, "repeat.dismissed_short")
    else:
        case, first = await d.repeats.confirm(actor, number, earlier)
        text = t(lang, "repeat.confirmed", number=case.number, first=first, count=case.repeat_count)
        short = t(lang, "repeat.confirmed_short")
    if tapped:
        await answer_query(update, str(short))
        await _drop_buttons(update, context, actor, lang, case)
    await send(update, context, text)


async def _drop_buttons(update: Update, context: Context, actor: Actor, lang: str, case: Case) -> None:
    """The tapped card keeps its other buttons; the repeat buttons go (the proposal is decided)."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    d = deps(context)
    markup = kb.staff_card(lang, case.number, d.cases.offered(actor, case), canned=bool(d.org.canned_replies))
    with suppress(BadRequest):  # too old to edit, or not modified: the answer below still says it
        await query.edit_message_reply_markup(markup)


async def repeat(update: Update, context: Context) -> None:
    """/repeat <number> <earlier number> | none."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    _, lang = caller
    message = update.effective_message
    words = ((message.text or "") if message is not None else "").split()[1:]
    if len(words) < 2:
        await send(update, context, t(lang, "repeat.usage"))
        return
    number, earlier = words[0][:NUMBER_MAX], words[1][:NUMBER_MAX]
    await _words_done(update, context, number, None if earlier.lower() in NONE_WORDS else earlier)


async def on_confirm(update: Update, context: Context, number: str, earlier: str) -> None:
    await _words_done(update, context, number, earlier)


async def on_dismiss(update: Update, context: Context, number: str) -> None:
    await _words_done(update, context, number, None)


def handlers() -> list[Handler]:
    return [
        CommandHandler("repeat", repeat),
        cb.Re.CONFIRM.handler(on_confirm),
        cb.Re.DISMISS.handler(on_dismiss),
        cb.Re.area.stale_handler(stale_button),
    ]
