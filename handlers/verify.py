"""/verify: an employee shares their own Telegram contact and is verified against the HR roster.

Telegram attests the number of a contact that an account shares of itself
(the ``request_contact`` button); the store (``store.roster``) accepts only
the sender's own contact and links the account to the active employee with
that number. No match is not a refusal to be heard: the person can still
file, and their cases show 未核验 to staff.
"""

from __future__ import annotations

import re

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, MessageHandler, filters

from handlers import callbacks as cb
from handlers.common import PRIVATE, Context, Handler, answer_query, deps, lang_of
from handlers.i18n import LANGUAGES, Html, t
from handlers.refusals import answers_refusals
from handlers.render import unit_name
from store.errors import NotOwnContact, Refused
from store.roster import RosterEntry


def _keyboard(lang: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(t(lang, "verify.share"), request_contact=True)],
                                [KeyboardButton(t(lang, "verify.not_now"))]],
                               resize_keyboard=True, one_time_keyboard=True)


async def _say(update: Update, context: Context, text: Html, keyboard: ReplyKeyboardMarkup | ReplyKeyboardRemove) -> None:
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)


def _who(lang: str, entry: RosterEntry, context: Context) -> Html:
    return t(lang, "verify.who", name=entry.name, employee_no=entry.employee_no,
             unit=unit_name(deps(context).org, entry.unit, lang))


async def start(update: Update, context: Context) -> None:
    """/verify or the /start button: already verified, or the contact button."""
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    entry = await deps(context).roster.verified(user.id)
    if entry is not None:
        await _say(update, context, t(lang, "verify.already", who=_who(lang, entry, context)), ReplyKeyboardRemove())
        return
    await _say(update, context, t(lang, "verify.ask", button=t(lang, "verify.share")), _keyboard(lang))


async def _not_own(update: Update, context: Context, error: NotOwnContact) -> None:
    """Someone else's contact: only one's own counts, and the button is offered again."""
    lang = await lang_of(update, context)
    await _say(update, context, t(lang, "verify.not_own", button=t(lang, "verify.share")), _keyboard(lang))


async def _no_match(update: Update, context: Context, error: Refused) -> None:
    """No employee of the roster has this number: not a refusal, where to ask instead (the person may still file)."""
    lang = await lang_of(update, context)
    contact = deps(context).org.organization.contact
    text = t(lang, "verify.no_match_contact", contact=contact) if contact else t(lang, "verify.no_match")
    await _say(update, context, text, ReplyKeyboardRemove())


@answers_refusals(on={NotOwnContact: _not_own, Refused: _no_match})
async def on_contact(update: Update, context: Context) -> None:
    """A contact shared outside any step that asked for one: the person's own verifies them."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.contact is not None and user is not None
    lang = await lang_of(update, context)
    d = deps(context)
    if not await d.roster.in_use():  # no roster to verify against, and no claim waited for it
        await _say(update, context, t(lang, "policy.contact_no_claim"), ReplyKeyboardRemove())
        return
    entry = await d.roster.verify(user.id, message.contact.user_id, message.contact.phone_number)
    await _say(update, context, t(lang, "verify.done", who=_who(lang, entry, context)), ReplyKeyboardRemove())


async def not_now(update: Update, context: Context) -> None:
    """The keyboard's "not now": the keyboard goes, nothing else changes."""
    await _say(update, context, t(await lang_of(update, context), "verify.cancelled"), ReplyKeyboardRemove())


def handlers() -> list[Handler]:
    """/verify, the /start button and "not now" (after every conversation); a contact shared on its own comes
    through handlers/ledger.py's, which serves a waiting /claim first."""
    not_now_words = "|".join(re.escape(str(t(lang, "verify.not_now"))) for lang in LANGUAGES)
    return [
        CommandHandler("verify", start, filters=PRIVATE),
        cb.Vf.START.handler(start),
        cb.Vf.area.stale_handler(start),
        MessageHandler(filters.Regex(f"^(?:{not_now_words})$") & PRIVATE & filters.UpdateType.MESSAGE, not_now),
    ]
