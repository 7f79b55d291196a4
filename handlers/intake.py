"""The employee's petition, step by step: category → unit → subject → details → files → identity → review.

Declared for the one form engine (``handlers/forms.py``), which asks, saves
the draft and its step before each question (a restart resumes where the
employee was), recognises a redelivered update, answers « 返回, 取消, the
review's change buttons, Submit once, and a hint for what a step cannot use
(naming a sticker, a location, a file out of place). What is the intake's
own is here: its steps and their buttons, the unit browser (the employee's
own unit first, once verified), the identity step with its phone number
shared through a reply keyboard, the review's text, the entry (/new, with
continue or start over) and the submit. The rules (the category's default
secrecy, where a report goes, the limits) are the store's.

The optional people and desired outcome are reached from the review only,
and go back there. The draft is kept as the intake always kept it
(``CaseService.get_draft`` reads it): ``DraftData`` sealed, the step, and in
``ui`` the review being changed (``editing``), the unit browsed
(``unit_browse``) and the last update applied.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardButton, KeyboardButton, Message, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, ConversationHandler, filters

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers import media
from handlers.common import PRIVATE, Context, ConvHandler, Handler, answer_query, deps, lang_of, send, show
from handlers.forms import CHOICE, FILES, REVIEW, TEXT, Buttons, Form, Hint, Step, Turn, labels, visible
from handlers.i18n import Html, t
from handlers.render import day, draft_summary, moment
from handlers.unit_step import BROWSING, UNIT, browsed, pick_unit, pick_unit_here, text_of, unit_back, unit_params
from store import discipline
from store.cases import choose_category
from store.conversations import Conversation
from store.models import ATTACHMENTS_MAX, DESIRED_MAX, DETAILS_MAX, PEOPLE_MAX, SUBJECT_MAX, Case, DraftData, Petitioner
from store.org import CategoryKind

log = logging.getLogger(__name__)

CATEGORY = "category"
SUBJECT = "subject"
DETAILS = "details"
ATTACHMENTS = "attachments"
IDENTITY = "identity"
PHONE = "phone"  # part of the identity step: sharing one's phone number (reply keyboard)
PEOPLE = "people"  # optional, reached from the review
DESIRED = "desired"  # optional, reached from the review
REVIEW_STEP = "review"

# The counter's steps; the phone counts as the identity (``Step.part_of``).
STEPS = [CATEGORY, UNIT, SUBJECT, DETAILS, ATTACHMENTS, IDENTITY, REVIEW_STEP]
ORDER = [CATEGORY, UNIT, SUBJECT, DETAILS, ATTACHMENTS, IDENTITY, PHONE, PEOPLE, DESIRED, REVIEW_STEP]
EDITABLE = [CATEGORY, UNIT, SUBJECT, DETAILS, ATTACHMENTS, IDENTITY, PEOPLE, DESIRED]


async def to_review(turn: Turn[DraftData]) -> str:
    """After the identity, the phone, the people or the desired outcome: the review."""
    return await turn.go(REVIEW_STEP)


# --------------------------------------------------------------- category, unit


def category_buttons(turn: Turn[Any]) -> list[InlineKeyboardButton]:
    return [kb.button(c.name.get(turn.lang), cb.In.CATEGORY.encode(c.id)) for c in turn.d.org.categories]


async def pick_category(turn: Turn[DraftData], category_id: str) -> str | None:
    org = turn.d.org
    category = org.find_category(category_id)
    if category is None:
        return CATEGORY
    choose_category(turn.data, category, org.find_category(turn.data.category or ""))
    return None






async def unit_rows(turn: Turn[Any]) -> list[list[InlineKeyboardButton]]:
    """A verified employee's own unit first, then this unit itself, then the units under it."""
    org, here, lang = turn.d.org, browsed(turn), turn.lang
    rows = []
    mine = await turn.d.roster.verified(turn.user_id) if not turn.draft.ui.get(BROWSING) else None
    if mine is not None and org.find_unit(mine.unit):
        rows.append([kb.button(turn.text("verify.my_unit", name=org.unit(mine.unit).name.get(lang)),
                               cb.In.UNIT_HERE.encode(mine.unit))])
    if here:
        rows.append([kb.button(turn.text("intake.unit_here", name=org.unit(here).name.get(lang)),
                               cb.In.UNIT_HERE.encode(here))])
    children = org.children(here) if here else org.roots()
    return rows + kb.grid(kb.button(u.name.get(lang), cb.In.UNIT.encode(u.id)) for u in children)










# --------------------------------------------------------------- texts, files




def parse_people(turn: Turn[Any], text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= PEOPLE_MAX:
        raise Hint("intake.people_invalid")
    return int(text)


async def attach(turn: Turn[DraftData], message: Message) -> Html:
    attachment = media.attachment_of(message)
    if attachment is None:
        raise Hint("intake.attachment_hint")
    refused = media.attachment_refused(turn.lang, attachment, len(turn.data.attachments))
    if refused is not None:
        raise Hint.said(refused)
    turn.data.attachments.append(attachment)
    added = turn.text("intake.attachment_added", count=len(turn.data.attachments))
    if visible(message.caption or ""):
        added = Html(added + "\n" + turn.text("intake.caption_not_kept"))
    return added


async def files_params(turn: Turn[Any]) -> Mapping[str, Any]:
    return {"max": ATTACHMENTS_MAX}


def files_done(turn: Turn[DraftData]) -> list[InlineKeyboardButton]:
    return [kb.button(turn.text("common.done" if turn.data.attachments else "common.skip"), cb.In.DONE.encode())]


async def pick_files_done(turn: Turn[DraftData]) -> None:
    return None


# --------------------------------------------------------------- identity, phone


def is_report(turn: Turn[DraftData]) -> bool:
    category = turn.d.org.find_category(turn.data.category or "")
    return category is not None and category.kind is CategoryKind.REPORT


def asks_leadership(turn: Turn[DraftData]) -> bool:
    """检举控告 on the discipline line: does it concern the unit's leadership? Then one level higher takes it."""
    return is_report(turn) and discipline.on_line(turn.d.org, turn.data.category)


async def identity_page(turn: Turn[DraftData], text: Html, params: Mapping[str, Any]) -> list[Html]:
    if is_report(turn):
        text = Html(text + "\n" + turn.text("intake.identity_report_default"))
    if asks_leadership(turn):
        text = Html(text + "\n" + turn.text("discipline.ask_leadership"))
    return [text]


def identity_rows(turn: Turn[DraftData]) -> list[list[InlineKeyboardButton]]:
    data = turn.data
    current = {True: "conf", False: "phone" if data.phone else "real", None: None}[data.confidential]
    choices = [("real", "intake.identity_real"), ("phone", "intake.identity_phone"),
               ("conf", "intake.identity_confidential")]
    if is_report(turn):  # the default first
        choices = choices[2:] + choices[:2]
    rows = []
    for value, key in choices:
        label = turn.text(key)
        if value == current:
            label = turn.text("intake.chosen", label=label)
        rows.append([kb.button(label, cb.In.IDENTITY.encode(value))])
    if asks_leadership(turn):
        answer = turn.text("discipline.leadership_yes" if data.about_leadership else "discipline.leadership_no")
        rows.append([kb.button(answer, cb.In.IDENTITY.encode("lead"))])
    return rows


async def pick_identity(turn: Turn[DraftData], choice: str) -> str:
    """Real name, confidential, or the phone number next; ``lead`` toggles and the question stays.

    Also taken at the phone step, whose question leaves the identity message's buttons on screen.
    """
    if choice == "phone":
        return PHONE
    if choice == "lead":
        turn.data.about_leadership = not turn.data.about_leadership
        return IDENTITY
    turn.data.confidential = choice == "conf"
    turn.data.phone = None
    return REVIEW_STEP


async def phone_params(turn: Turn[Any]) -> Mapping[str, Any]:
    return {"button": turn.text("intake.share_phone"), "skip": turn.text("intake.no_phone")}


def phone_keyboard(turn: Turn[Any]) -> list[list[KeyboardButton]]:
    return [[KeyboardButton(turn.text("intake.share_phone"), request_contact=True)],
            [KeyboardButton(turn.text("intake.no_phone"))]]


def use_the_button(turn: Turn[Any]) -> Html:
    return turn.text("intake.phone_use_button", button=turn.text("intake.share_phone"),
                     skip=turn.text("intake.no_phone"))


def parse_no_phone(turn: Turn[Any], text: str) -> bool:
    """Text at the phone step: only the keyboard's "no phone number" (« 返回 and 取消 are the engine's)."""
    if text not in labels("intake.no_phone"):
        raise Hint.said(use_the_button(turn))
    return True


def no_phone(turn: Turn[DraftData], _: bool) -> None:
    turn.data.phone = None
    turn.data.confidential = False


async def phone_skipped(turn: Turn[DraftData]) -> str:
    await turn.close(turn.text("intake.phone_skipped"))
    return await to_review(turn)


async def on_contact(turn: Turn[DraftData]) -> str:
    """The phone number shared with Telegram's contact button: the employee's own only."""
    contact = turn.update.effective_message.contact  # type: ignore[union-attr]
    if contact is None or contact.user_id != turn.user_id:
        await turn.say("intake.phone_not_own", button=turn.text("intake.share_phone"))
        return PHONE
    turn.data.phone = contact.phone_number
    turn.data.confidential = False
    await turn.close(turn.text("intake.phone_saved", phone=contact.phone_number))
    return await to_review(turn)


# --------------------------------------------------------------- review, submit


async def review_pages(turn: Turn[DraftData], text: Html, params: Mapping[str, Any]) -> list[Html]:
    """The heading with the facts, the details over as many messages as they need, the hint last."""
    user = turn.update.effective_user
    pseudonym = await turn.d.cases.pseudonym(turn.data.draft_id)
    parts = draft_summary(turn.data, turn.d.org, turn.lang, name=user.full_name if user else "",
                          pseudonym=pseudonym)
    pages = [Html(text + "\n\n" + parts[0]), *parts[1:]]
    pages[-1] = Html(pages[-1] + "\n\n" + turn.text("intake.review_hint"))
    return pages


async def submit(turn: Turn[DraftData]) -> int:
    """The one store call (it drops the draft with it), then the receipt."""
    user = turn.update.effective_user
    assert user is not None
    petitioner = Petitioner(id=user.id, name=user.full_name, username=user.username, language=turn.lang)
    result = await turn.d.cases.submit(petitioner, turn.data, submit_key=turn.data.draft_id)
    await receipt(turn.update, turn.context, result.case, turn.lang)
    return ConversationHandler.END


async def receipt(update: Update, context: Context, case: Case, lang: str) -> None:
    """The case number, always: if the answer fails even after its retries, through the outbox."""
    try:
        await show(update, context, t(lang, "intake.receipt", number=case.number, due=day(case.accept_due, lang)))
    except TelegramError as error:
        log.warning("receipt for %s not delivered (%s); queued for the outbox", case.number, error)
        await deps(context).cases.queue_receipt(case.id)


async def submitted_again(update: Update, context: Context, key: str) -> None:
    """A Submit whose draft is gone: a redelivery after the case was stored (its receipt again)."""
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    case = await deps(context).cases.case_by_submit_key(user.id, key)
    if case is None:
        await send(update, context, t(lang, "common.expired_button"))
    else:
        await receipt(update, context, case, lang)


# --------------------------------------------------------------- the form

FORM: Form[DraftData] = Form(
    Conversation.INTAKE,
    texts="intake",
    buttons=Buttons(back=cb.In.BACK, cancel=cb.In.CANCEL, submit=cb.In.SUBMIT, edit=cb.In.EDIT,
                    resume=cb.In.CONTINUE, restart=cb.In.RESTART),
    steps=[
        Step(CATEGORY, CHOICE, "intake.choose_category", options=category_buttons,
             choices={cb.In.CATEGORY: pick_category}),
        Step(UNIT, CHOICE, "intake.choose_unit", params=unit_params, rows=unit_rows, back_to=unit_back,
             choices={cb.In.UNIT: pick_unit, cb.In.UNIT_HERE: pick_unit_here}, screen=(BROWSING,)),
        Step(SUBJECT, TEXT, "intake.ask_subject", limit=SUBJECT_MAX,
             parse=text_of(SUBJECT_MAX, "intake.subject_too_long")),
        Step(DETAILS, TEXT, "intake.ask_details", limit=DETAILS_MAX,
             parse=text_of(DETAILS_MAX, "intake.details_too_long")),
        Step(ATTACHMENTS, FILES, "intake.ask_attachments", params=files_params, attach=attach,
             options=files_done, columns=1, choices={cb.In.DONE: pick_files_done},
             expected="intake.attachment_hint"),
        Step(IDENTITY, CHOICE, "intake.ask_identity", pages=identity_page, rows=identity_rows,
             choices={cb.In.IDENTITY: pick_identity}),
        Step(PHONE, TEXT, "intake.ask_phone", params=phone_params, reply=phone_keyboard, parse=parse_no_phone,
             put=no_phone, then=phone_skipped, expected=use_the_button, part_of=IDENTITY,
             back_to=lambda turn: IDENTITY, choices={cb.In.IDENTITY: pick_identity},
             takes=[(filters.CONTACT & PRIVATE & filters.UpdateType.MESSAGE, on_contact)]),
        Step(PEOPLE, TEXT, "intake.ask_people", parse=parse_people, then=to_review),
        Step(DESIRED, TEXT, "intake.ask_desired", limit=DESIRED_MAX, into="desired_outcome",
             parse=text_of(DESIRED_MAX, "intake.desired_too_long"), then=to_review),
        Step(REVIEW_STEP, REVIEW, "intake.review", pages=review_pages, back=False, edits=EDITABLE,
             edit_columns=3),
    ],
    order=lambda data: ORDER,
    counted=lambda data: STEPS,
    submit=submit,
    model=DraftData,
    keys={"command_in_step": "common.unknown_command", "edited": "intake.edited_ignored"},
    back_to_review=True,
    answer_edits=True,
    commands_wait=False,
    ask_after_command=False,
    cancel_in_place=True,
    resubmitted=submitted_again,
    says_what=True,
)


async def begin(update: Update, context: Context, actor: Any) -> str | int:
    """/new: start a draft, or offer to continue the one under way.

    With no draft under way but a petition submitted minutes ago, its number first, and a
    button to begin another: a receipt that never arrived (the process stopped after the
    case was stored) must not make the person file the same matter twice.
    """
    return await FORM.open(update, context, DraftData(), CATEGORY, first=named_if_just_submitted)


async def named_if_just_submitted(update: Update, context: Context) -> bool:
    """A petition submitted minutes ago, named with a button to begin another (True), or nothing (False)."""
    user = update.effective_user
    assert user is not None
    recent = await deps(context).cases.just_submitted(user.id)
    if recent is None:
        return False
    lang = await lang_of(update, context)
    await send(update, context,
               t(lang, "intake.just_submitted", number=recent.number, at=moment(recent.submitted_at, deps(context).tz)),
               kb.markup([[kb.button(t(lang, "intake.another"), cb.In.RESTART.encode())]]))
    return True


new = FORM.entry(begin)


def build() -> ConvHandler:
    return FORM.build(entry_points=[CommandHandler("new", new, filters=PRIVATE),
                                    *FORM.resume_entries(DraftData, CATEGORY, first=named_if_just_submitted)])


async def cancel_outside(update: Update, context: Context) -> int:
    """/cancel outside any conversation: a draft left without its step goes; else nothing to cancel."""
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    if await FORM.load(context, user.id) is not None:
        return await FORM.cancel(update, context)
    await send(update, context, t(await lang_of(update, context), "intake.nothing_to_cancel"))
    return ConversationHandler.END


def outside_conversation() -> list[Handler]:
    """After the conversation: a redelivered Submit, and /cancel with nothing to cancel."""
    return [*FORM.after_end(), CommandHandler("cancel", cancel_outside, filters=filters.ChatType.PRIVATE)]
