"""One ledger in Telegram: contact tasks for petitioners without Telegram, /claim, /find, and their notices.

The rules are the store's (``store.ledger``); this module parses commands and
buttons and words the outcomes in the reader's language. Staff registration
(``/register``) is its own conversation: ``handlers.register``.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, MessageHandler, filters

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers import verify
from handlers.common import (
    Context,
    Handler,
    answer_query,
    deps,
    error_text,
    lang_of,
    send,
    send_list,
    show,
    staff_caller,
)
from handlers.i18n import Html, t
from handlers.notifications import HOW_CODES, how_buttons, task_text, task_who
from handlers.refusals import answers_refusals
from handlers.render import channel_name, day, status_name, unit_name
from store.errors import ContactNeeded, NotOwnContact, StoreError
from store.models import Actor
from store.policy import Act
from store.services import Services

TASKS_SHOWN = 5  # open tasks listed under /queue


# ----------------------------------------------------------- the tasks


@answers_refusals()
async def on_task(update: Update, context: Context, task_id: int) -> None:
    """A task from the /queue list: what to tell, and the buttons to mark it done."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    await answer_query(update)
    d = deps(context)
    task = await d.ledger.task(actor, task_id)
    assert d.services is not None
    case = await d.cases.case_for(actor, task.number)
    # The buttons to mark it told only for whom the policy lets mark it (the lead unit, not a co-handler).
    may_mark = task.is_open and await d.cases.allows(actor, Act.TASK_DONE, case)
    await send_list(update, context, await task_text(task, d.services, lang), how_buttons(lang, task) if may_mark else None)


@answers_refusals()
async def on_done(update: Update, context: Context, task_id: int, how_code: str) -> None:
    """Mark a contact task done, with how the petitioner was told: journaled on the case."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    await answer_query(update)
    d = deps(context)
    task = await d.ledger.complete_task(actor, task_id, HOW_CODES[how_code])
    how = t(lang, f"ledger.how_{task.done_how.value}") if task.done_how else ""
    await show(update, context, t(lang, "ledger.task_done", number=task.number, how=how))


async def queue_tasks(actor: Actor, services: Services, lang: str) -> tuple[list[Html], InlineKeyboardMarkup] | None:
    """/queue's second part: the open contact tasks in the caller's scope, earliest due first (None: none)."""
    tasks, total = await services.ledger.open_tasks(actor, 0, TASKS_SHOWN)
    if total == 0:
        return None
    today = services.context.today()
    lines = [t(lang, "ledger.queue_title", total=total)]
    for task in tasks:
        key = "ledger.queue_item_overdue" if task.due_on < today else "ledger.queue_item"
        lines.append(t(lang, key, number=task.number, who=task_who(task, lang), due=day(task.due_on, lang)))
    if total > len(tasks):
        lines.append(t(lang, "ledger.queue_more", count=total - len(tasks)))
    buttons = [[kb.button(t(lang, "ledger.queue_open", number=task.number, id=task.id), cb.Lg.TASK.encode(task.id))]
               for task in tasks]
    return lines, kb.markup(buttons)


# --------------------------------------------------------------- /claim


async def claim(update: Update, context: Context) -> None:
    """/claim <code>: a petitioner binds a case registered for them, with the code on their receipt."""
    lang = await lang_of(update, context)
    user = update.effective_user
    message = update.effective_message
    chat = update.effective_chat
    if user is None or message is None:
        return
    if chat is not None and chat.type != "private":
        await send(update, context, t(lang, "common.private_only"))
        return
    words = (message.text or "").split(maxsplit=1)[1:]
    code = words[0].strip() if words else ""
    if not code or len(code) > 40:
        await send(update, context, t(lang, "ledger.claim_usage"))
        return
    await _claim(update, context, lang, code, None)


#: Where a claim waiting for the person's contact keeps its code (this chat's user_data; a restart forgets it
#: and the person is asked to send /claim again).
PENDING_CLAIM = "pending_claim"


async def _ask_contact(update: Update, context: Context, error: ContactNeeded) -> None:
    """The claim waits for the contact Telegram attests (its code kept in PENDING_CLAIM): the button to share it."""
    chat = update.effective_chat
    assert chat is not None
    lang = await lang_of(update, context)
    keyboard = ReplyKeyboardMarkup([[KeyboardButton(t(lang, "policy.share_contact"), request_contact=True)]],
                                   resize_keyboard=True, one_time_keyboard=True)
    await context.bot.send_message(chat.id, t(lang, "policy.claim_share_prompt"),
                                   parse_mode=ParseMode.HTML, reply_markup=keyboard)


async def _claim_refused(update: Update, context: Context, error: StoreError) -> None:
    """The claim refused: no claim waits any more; after a shared contact the contact keyboard goes too."""
    if context.user_data is not None:
        context.user_data.pop(PENDING_CLAIM, None)
    message = update.effective_message
    shared = message is not None and message.contact is not None
    await _answer_closing(update, context, error_text(await lang_of(update, context), error), shared)


async def _not_own_contact(update: Update, context: Context, error: NotOwnContact) -> None:
    """Someone else's contact: the claim still waits for the sender's own."""
    await send(update, context, t(await lang_of(update, context), "policy.contact_not_own"))


@answers_refusals(on={ContactNeeded: _ask_contact, NotOwnContact: _not_own_contact, StoreError: _claim_refused})
async def _claim(update: Update, context: Context, lang: str, code: str, phone: str | None,
                 contact_user_id: int | None = None) -> None:
    """Try the claim; where the registered person has a phone, ask for the contact Telegram attests."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    d = deps(context)
    user_data = context.user_data if context.user_data is not None else {}
    user_data[PENDING_CLAIM] = code  # kept only while the claim waits for the contact (ContactNeeded)
    claimed = await d.ledger.claim(user.id, code, phone, contact_user_id)
    user_data.pop(PENDING_CLAIM, None)
    case = claimed.case
    key = "ledger.claim_already" if claimed.already else "ledger.claim_done"
    markup = kb.markup([[kb.button(t(lang, "cases.open_case", number=case.number), cb.My.OPEN.encode(case.number))]])
    if phone is not None:  # the contact keyboard goes first (only a new message can take it away)
        await context.bot.send_message(chat.id, t(lang, "policy.contact_received"), parse_mode=ParseMode.HTML,
                                       reply_markup=ReplyKeyboardRemove())
    await send(update, context, t(lang, key, number=case.number, subject=case.subject,
                                  status=status_name(case.status.value, lang)), markup)


async def _answer_closing(update: Update, context: Context, text: str, close: bool) -> None:
    """An answer; after a shared contact it also takes the contact keyboard away."""
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML,
                                   reply_markup=ReplyKeyboardRemove() if close else None)


async def on_contact(update: Update, context: Context) -> None:
    """A contact shared in a private chat outside any conversation: the claim waiting for it, else /verify's."""
    lang = await lang_of(update, context)
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None or message.contact is None:
        return
    code = (context.user_data or {}).get(PENDING_CLAIM)
    if not code:  # no claim waits for it: the person's own contact verifies them against the roster
        await verify.on_contact(update, context)
        return
    await _claim(update, context, lang, str(code), message.contact.phone_number, message.contact.user_id)


# ---------------------------------------------------------------- /find


@answers_refusals()
async def find(update: Update, context: Context) -> None:
    """/find <name | phone | employee no.>: cases in the caller's scope; never a confidential one."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    message = update.effective_message
    words = (message.text or "").split(maxsplit=1)[1:] if message is not None else []
    query = words[0].strip() if words else ""
    if not query or len(query) > 50:
        await send(update, context, t(lang, "ledger.find_usage"))
        return
    d = deps(context)
    found = await d.ledger.find(actor, query)
    if not found:
        await send(update, context, t(lang, "ledger.find_none", query=query))
        return
    lines = [t(lang, "ledger.find_title", query=query, count=len(found))]
    for hit in found:
        case = hit.case
        lines.append(t(lang, "ledger.find_item", number=case.number, status=status_name(case.status.value, lang),
                       channel=channel_name(d.org, case.channel, lang), unit=unit_name(d.org, case.unit, lang),
                       name=hit.name or "—", phone=hit.phone or "—", employee_no=hit.employee_no or "—",
                       role=t(lang, f"ledger.role_{hit.role.value}"), subject=case.subject))
    buttons = [[kb.button(hit.case.number, cb.St.OPEN.encode(hit.case.number))] for hit in found[:10]]
    await send_list(update, context, lines, kb.markup(buttons))


# ---------------------------------------------------------------- /codes


@answers_refusals()
async def codes(update: Update, context: Context) -> None:
    """/codes <number>: new claim codes for the people of a registered case who have not claimed it."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    message = update.effective_message
    words = (message.text or "").split()[1:] if message is not None else []
    if len(words) != 1 or len(words[0]) > 40:
        await send(update, context, t(lang, "ledger.codes_usage"))
        return
    issued = await deps(context).ledger.reissue_codes(actor, words[0])
    lines = [t(lang, "ledger.codes_done", number=words[0].upper())]
    lines += [t(lang, "register.receipt_code", code=code.shown, name=code.name or "—") for code in issued]
    lines.append(t(lang, "register.receipt_codes_hint"))
    await send_list(update, context, lines, separator="\n")


@answers_refusals()
async def rebind(update: Update, context: Context) -> None:
    """/rebind <number>: an admin unbinds the case's people from their Telegram accounts (journaled)."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    message = update.effective_message
    words = (message.text or "").split()[1:] if message is not None else []
    if len(words) != 1 or len(words[0]) > 40:
        await send(update, context, t(lang, "policy.rebind_usage"))
        return
    count = await deps(context).ledger.rebind(actor, words[0])
    await send(update, context, t(lang, "policy.rebind_done", number=words[0].upper(), count=count))


def handlers() -> list[Handler]:
    return [
        CommandHandler("rebind", rebind),
        CommandHandler("claim", claim),
        CommandHandler("find", find),
        CommandHandler("codes", codes),
        cb.Lg.TASK.handler(on_task),
        cb.Lg.DONE.handler(on_done),
    ]


def contact_handlers() -> list[Handler]:
    """A shared contact nobody's conversation took (after them in the table): a claim waiting for it."""
    return [MessageHandler(filters.CONTACT & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, on_contact)]
