"""The guided submission: category → unit → subject → details → files → identity → review.

Every step is a named conversation state. Before a question is asked, the
draft and the step it is at are written to the d, so a crash or restart
resumes the petitioner exactly where they were with everything they typed;
``bot.persistence`` hands those steps back to the ConversationHandler.

Updates already applied to the draft (Telegram redelivers after a crash) are
recognised by their update_id and only re-ask the current question.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import wraps
from typing import Any

from telegram import (
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers import media
from handlers.common import (
    PRIVATE,
    PRIVATE_FILES,
    PRIVATE_TEXT,
    Context,
    answer_query,
    deps,
    error_text,
    lang_of,
    send,
    show,
    user_conversation,
)
from handlers.forms import visible
from handlers.i18n import LANGUAGES, Html, t
from handlers.media import attachment_of
from handlers.render import day, draft_summary, unit_path
from store import discipline
from store.cases import choose_category
from store.conversations import Conversation
from store.errors import StoreError
from store.models import (
    ATTACHMENTS_MAX,
    DESIRED_MAX,
    DETAILS_MAX,
    PEOPLE_MAX,
    SUBJECT_MAX,
    Case,
    DraftData,
    Petitioner,
)
from store.org import CategoryKind, Organization

log = logging.getLogger(__name__)

CATEGORY = "category"
UNIT = "unit"
SUBJECT = "subject"
DETAILS = "details"
ATTACHMENTS = "attachments"
IDENTITY = "identity"
REVIEW = "review"
PEOPLE = "people"  # optional, reached from the review screen
DESIRED = "desired"  # optional, reached from the review screen
PHONE = "phone"  # part of the identity step: sharing one's phone number (reply keyboard)

STEPS = [CATEGORY, UNIT, SUBJECT, DETAILS, ATTACHMENTS, IDENTITY, REVIEW]
EDITABLE = {CATEGORY, UNIT, SUBJECT, DETAILS, ATTACHMENTS, IDENTITY, PEOPLE, DESIRED}



class Form(DraftData):
    """The petition being written, plus where its conversation is (this module's own state).

    The store keeps the petition as a draft and the rest as an opaque blob
    next to it (``Draft.ui``), written together at every step.
    """

    editing: bool = False  # changing one field from the review screen: back there after it
    unit_browse: str | None = None  # the unit whose subunits are listed

    def petition(self) -> DraftData:
        return DraftData.model_validate(self.model_dump(exclude=set(UI_FIELDS)))


UI_FIELDS = ("editing", "unit_browse")


@dataclass
class IntakeDraft:
    step: str | None
    data: Form
    last_update_id: int | None  # a redelivered update (id at most this) was applied already


async def load_draft(context: Context, user_id: int) -> IntakeDraft | None:
    found = await deps(context).cases.get_draft(user_id)
    if found is None:
        return None
    ui = {name: found.ui[name] for name in UI_FIELDS if name in found.ui}
    form = Form.model_validate({**found.data.model_dump(), **ui})
    return IntakeDraft(step=found.step, data=form, last_update_id=found.ui.get("last_update_id"))


async def save_draft(context: Context, user_id: int, step: str, form: Form, update_id: int) -> None:
    ui = {**form.model_dump(include=set(UI_FIELDS)), "last_update_id": update_id}
    await deps(context).cases.save_draft(user_id, step, form.petition(), ui)


StepFn = Callable[..., Awaitable[str | int]]  # (update, context, draft, *values of the button tapped)


def step_label(lang: str, step: str) -> Html:
    step = IDENTITY if step == PHONE else step
    number = STEPS.index(step) + 1 if step in STEPS else len(STEPS)
    return t(lang, "intake.step", n=number, total=len(STEPS))


def _petitioner_name(update: Update) -> str:
    user = update.effective_user
    return user.full_name if user else ""


# ----------------------------------------------------------------- questions


async def ask(update: Update, context: Context, step: str, draft: Form, *, fresh: bool = False) -> None:
    """Ask the question of ``step``; every step has Back and Cancel.

    After a tap the question replaces the tapped message, unless ``fresh``.
    """
    lang = await lang_of(update, context)
    present = send if fresh else show
    org = deps(context).org
    label = step_label(lang, step)
    first = step == CATEGORY
    back = None if first and not draft.editing else cb.In.BACK.encode()
    if step == CATEGORY:
        buttons = [kb.button(c.name.get(lang), cb.In.CATEGORY.encode(c.id)) for c in org.categories]
        await present(update, context, t(lang, "intake.choose_category", step=label),
                   kb.markup([*kb.grid(buttons), kb.nav_row(lang, back=back)]))
    elif step == UNIT:
        here = draft.unit_browse if draft.unit_browse and org.find_unit(draft.unit_browse) else None
        here = here or _tree_top(org)
        children = org.children(here) if here else org.roots()
        rows = []
        user = update.effective_user
        mine = await deps(context).roster.verified(user.id) if user and not draft.unit_browse else None
        if mine is not None and org.find_unit(mine.unit):  # a verified employee's own unit first
            rows.append([kb.button(t(lang, "verify.my_unit", name=org.unit(mine.unit).name.get(lang)),
                                   cb.In.UNIT_HERE.encode(mine.unit))])
        if here:
            this_unit = t(lang, "intake.unit_here", name=org.unit(here).name.get(lang))
            rows.append([kb.button(this_unit, cb.In.UNIT_HERE.encode(here))])
        rows += kb.grid(kb.button(u.name.get(lang), cb.In.UNIT.encode(u.id)) for u in children)
        path = unit_path(org, here, lang) if here else "—"
        await present(update, context, t(lang, "intake.choose_unit", step=label, path=path),
                   kb.markup([*rows, kb.nav_row(lang)]))
    elif step == SUBJECT:
        await present(update, context, t(lang, "intake.ask_subject", step=label, max=SUBJECT_MAX),
                   kb.markup([kb.nav_row(lang)]))
    elif step == DETAILS:
        await present(update, context, t(lang, "intake.ask_details", step=label, max=DETAILS_MAX),
                   kb.markup([kb.nav_row(lang)]))
    elif step == ATTACHMENTS:
        finish = kb.button(t(lang, "common.done" if draft.attachments else "common.skip"), cb.In.DONE.encode())
        await present(update, context, t(lang, "intake.ask_attachments", step=label, max=ATTACHMENTS_MAX),
                   kb.markup([[finish], kb.nav_row(lang)]))
    elif step == IDENTITY:
        text = t(lang, "intake.ask_identity", step=label)
        category = org.find_category(draft.category or "")
        report = category is not None and category.kind is CategoryKind.REPORT
        if report:
            text = Html(text + "\n" + t(lang, "intake.identity_report_default"))
        current = {True: "conf", False: "phone" if draft.phone else "real", None: None}[draft.confidential]
        choices = [("real", "intake.identity_real"), ("phone", "intake.identity_phone"),
                   ("conf", "intake.identity_confidential")]
        if report:  # the default first
            choices = choices[2:] + choices[:2]
        rows = []
        for value, key in choices:
            label = t(lang, key)
            if value == current:
                label = t(lang, "intake.chosen", label=label)
            rows.append([kb.button(label, cb.In.IDENTITY.encode(value))])
        if report and discipline.on_line(org, category.id if category else None):
            # 检举控告: does it concern the unit's leadership? Then one discipline level higher takes it.
            text = Html(text + "\n" + t(lang, "discipline.ask_leadership"))
            answer = t(lang, "discipline.leadership_yes" if draft.about_leadership else "discipline.leadership_no")
            rows.append([kb.button(answer, cb.In.IDENTITY.encode("lead"))])
        await present(update, context, text, kb.markup([*rows, kb.nav_row(lang)]))
    elif step == PHONE:
        button, skip = t(lang, "intake.share_phone"), t(lang, "intake.no_phone")
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(button, request_contact=True)], [KeyboardButton(skip)],
             [KeyboardButton(t(lang, "common.back")), KeyboardButton(t(lang, "common.cancel"))]],
            resize_keyboard=True,
        )
        await _send_keyboard(update, context, t(lang, "intake.ask_phone", step=label, button=button, skip=skip),
                             keyboard)
    elif step == PEOPLE:
        await present(update, context, t(lang, "intake.ask_people"), kb.markup([kb.nav_row(lang)]))
    elif step == DESIRED:
        await present(update, context, t(lang, "intake.ask_desired", max=DESIRED_MAX),
                   kb.markup([kb.nav_row(lang)]))
    elif step == REVIEW:
        await show_review(update, context, draft, lang, fresh=fresh)


async def _send_keyboard(
    update: Update, context: Context, text: Html, keyboard: ReplyKeyboardMarkup | ReplyKeyboardRemove
) -> None:
    """A message with a reply keyboard (which cannot be edited into an existing message)."""
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)


async def close_keyboard(update: Update, context: Context, text: Html) -> None:
    """Take the phone step's reply keyboard away (only a new message can)."""
    await _send_keyboard(update, context, text, ReplyKeyboardRemove())


def _labels(key: str) -> set[str]:
    """A button label in every language (the user may have switched meanwhile)."""
    return {str(t(lang, key)) for lang in LANGUAGES}


def _tree_top(org: Organization) -> str | None:
    """Browsing starts inside the root when there is only one (the group headquarters)."""
    roots = org.roots()
    return roots[0].id if len(roots) == 1 else None


async def show_review(update: Update, context: Context, draft: DraftData, lang: str, *, fresh: bool = False) -> None:
    present = send if fresh else show
    d = deps(context)
    pseudonym = await d.cases.pseudonym(draft.draft_id)
    parts = draft_summary(draft, deps(context).org, lang, name=_petitioner_name(update), pseudonym=pseudonym)
    head = Html(t(lang, "intake.review", step=step_label(lang, REVIEW)) + "\n\n" + parts[0])
    edits = [
        kb.button(t(lang, f"intake.edit_{field}"), cb.In.EDIT.encode(field))
        for field in ("category", "unit", "subject", "details", "attachments", "identity", "people", "desired")
    ]
    keyboard = kb.markup([
        [kb.button(t(lang, "intake.submit"), cb.In.SUBMIT.encode(draft.draft_id))],
        *kb.grid(edits, 3),
        [kb.button(t(lang, "common.cancel"), cb.In.CANCEL.encode())],
    ])
    if len(parts) == 1:
        await present(update, context, Html(head + "\n\n" + t(lang, "intake.review_hint")), keyboard)
        return
    await present(update, context, head)
    for part in parts[1:-1]:
        await send(update, context, part)
    await send(update, context, Html(parts[-1] + "\n\n" + t(lang, "intake.review_hint")), keyboard)


# ------------------------------------------------------------- step plumbing


async def go(update: Update, context: Context, draft: Form, step: str) -> str:
    """Save the draft at ``step`` (with this update's id), then ask that step's question."""
    if step == REVIEW:
        draft.editing = False
    user_id = update.effective_user.id  # type: ignore[union-attr]
    await save_draft(context, user_id, step, draft, update.update_id)
    await ask(update, context, step, draft)
    return step


def after(step: str, draft: Form) -> str:
    """The step that follows ``step``: back to review when editing from there."""
    step = IDENTITY if step == PHONE else step
    if draft.editing or step in (PEOPLE, DESIRED):
        return REVIEW
    return STEPS[STEPS.index(step) + 1]


def before(step: str, draft: Form) -> str:
    if step == PHONE:
        return IDENTITY
    if draft.editing or step in (PEOPLE, DESIRED):
        return REVIEW
    index = STEPS.index(step)
    return STEPS[max(index - 1, 0)]


def with_draft(fn: StepFn) -> Callable[..., Coroutine[Any, Any, str | int]]:
    """Load the draft; skip updates already applied; turn refusals into polite answers."""

    @wraps(fn)
    async def wrapper(update: Update, context: Context, *values: object) -> str | int:
        await answer_query(update)
        user = update.effective_user
        if user is None:
            return ConversationHandler.END
        draft = await load_draft(context, user.id)
        if draft is None or draft.step is None:
            submitted = cb.In.SUBMIT.decode(_data(update))
            if submitted is not None:
                return await on_submit_again(update, context, *submitted)
            # The draft was submitted or cancelled meanwhile (or another device did it).
            lang = await lang_of(update, context)
            await send(update, context, t(lang, "common.expired_button"))
            return ConversationHandler.END
        if draft.last_update_id is not None and update.update_id <= draft.last_update_id:
            await ask(update, context, draft.step, draft.data)
            return draft.step
        try:
            return await fn(update, context, draft, *values)
        except StoreError as error:
            lang = await lang_of(update, context)
            await send(update, context, error_text(lang, error))
            return draft.step

    return wrapper


def _data(update: Update) -> str:
    query = update.callback_query
    return (query.data or "") if query else ""


# --------------------------------------------------------------- entry, exit


async def new(update: Update, context: Context) -> str:
    """/new: start a draft, or offer to continue the one that exists."""
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    existing = await load_draft(context, user.id)
    if existing is not None and existing.step and existing.last_update_id is not None \
            and update.update_id <= existing.last_update_id:
        # A /new redelivered after a restart: it made this draft; just ask again.
        await ask(update, context, existing.step, existing.data)
        return existing.step
    if existing is not None and existing.step:
        await send(update, context, t(lang, "intake.draft_exists", step=step_label(lang, existing.step)),
                   kb.markup([[kb.button(t(lang, "intake.continue"), cb.In.CONTINUE.encode()),
                               kb.button(t(lang, "intake.restart"), cb.In.RESTART.encode())]]))
        return existing.step
    return await go(update, context, Form(), CATEGORY)


async def resume(update: Update, context: Context) -> str | int:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    draft = await load_draft(context, user.id)
    if draft is None or not draft.step:
        return await go(update, context, Form(), CATEGORY)
    lang = await lang_of(update, context)
    await show(update, context, t(lang, "intake.resumed"))
    await ask(update, context, draft.step, draft.data, fresh=True)
    return draft.step


async def restart(update: Update, context: Context) -> str:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    existing = await load_draft(context, user.id)
    if existing is not None and existing.step == PHONE:
        await close_keyboard(update, context, t(await lang_of(update, context), "intake.keyboard_closed"))
    return await go(update, context, Form(), CATEGORY)


async def cancel(update: Update, context: Context) -> int:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    d = deps(context)
    draft = await load_draft(context, user.id)
    if draft is None:
        await send(update, context, t(lang, "intake.nothing_to_cancel"))
        return ConversationHandler.END
    await d.cases.discard_draft(user.id)
    if draft.step == PHONE:
        await close_keyboard(update, context, t(lang, "intake.cancelled"))
    else:
        await show(update, context, t(lang, "intake.cancelled"))
    return ConversationHandler.END


# ------------------------------------------------------------------- steps


@with_draft
async def on_back(update: Update, context: Context, draft: IntakeDraft) -> str:
    data = draft.data
    org = deps(context).org
    if draft.step == PHONE:
        await close_keyboard(update, context, t(await lang_of(update, context), "intake.keyboard_closed"))
    if draft.step == UNIT and data.unit_browse and data.unit_browse != _tree_top(org):
        unit = org.find_unit(data.unit_browse)
        data.unit_browse = unit.parent if unit else None
        return await go(update, context, data, UNIT)
    data.unit_browse = None
    target = before(draft.step or CATEGORY, data)
    data.editing = False if target == REVIEW else data.editing
    return await go(update, context, data, target)


@with_draft
async def on_category(update: Update, context: Context, draft: IntakeDraft, category_id: str) -> str:
    org = deps(context).org
    category = org.find_category(category_id)
    if category is None:
        return await go(update, context, draft.data, CATEGORY)
    choose_category(draft.data, category, org.find_category(draft.data.category or ""))
    return await go(update, context, draft.data, after(CATEGORY, draft.data))


@with_draft
async def on_unit(update: Update, context: Context, draft: IntakeDraft, unit_id: str) -> str:
    """A unit of the tree: opened when it has units under it, else chosen."""
    return await _unit(update, context, draft, unit_id, browse=True)


@with_draft
async def on_unit_here(update: Update, context: Context, draft: IntakeDraft, unit_id: str) -> str:
    """"This unit itself", although it has units under it."""
    return await _unit(update, context, draft, unit_id, browse=False)


async def _unit(update: Update, context: Context, draft: IntakeDraft, unit_id: str, *, browse: bool) -> str:
    org = deps(context).org
    unit = org.find_unit(unit_id)
    if unit is None:
        return await go(update, context, draft.data, UNIT)
    if browse and org.children(unit.id):
        draft.data.unit_browse = unit.id
        return await go(update, context, draft.data, UNIT)
    draft.data.unit = unit.id
    draft.data.unit_browse = None
    return await go(update, context, draft.data, after(UNIT, draft.data))


def _text_step(step: str, limit: int, too_long: str, field: str) -> Callable[..., Coroutine[Any, Any, str | int]]:
    async def handler(update: Update, context: Context, draft: IntakeDraft) -> str:
        lang = await lang_of(update, context)
        text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
        if not visible(text):
            await send(update, context, t(lang, "intake.text_empty"))
            return step
        if len(text) > limit:
            await send(update, context, t(lang, too_long, max=limit, length=len(text)))
            return step
        setattr(draft.data, field, text)
        return await go(update, context, draft.data, after(step, draft.data))

    handler.__name__ = f"on_{field}"
    return with_draft(handler)


on_subject = _text_step(SUBJECT, SUBJECT_MAX, "intake.subject_too_long", "subject")
on_details = _text_step(DETAILS, DETAILS_MAX, "intake.details_too_long", "details")
on_desired = _text_step(DESIRED, DESIRED_MAX, "intake.desired_too_long", "desired_outcome")


@with_draft
async def on_people(update: Update, context: Context, draft: IntakeDraft) -> str:
    lang = await lang_of(update, context)
    text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    if not text.isdigit() or not 1 <= int(text) <= PEOPLE_MAX:
        await send(update, context, t(lang, "intake.people_invalid"))
        return PEOPLE
    draft.data.people = int(text)
    return await go(update, context, draft.data, REVIEW)


@with_draft
async def on_attachment(update: Update, context: Context, draft: IntakeDraft) -> str:
    lang = await lang_of(update, context)
    attachment = attachment_of(update.effective_message)  # type: ignore[arg-type]
    if attachment is None:
        await send(update, context, t(lang, "intake.attachment_hint"))
        return ATTACHMENTS
    refused = media.attachment_refused(lang, attachment, len(draft.data.attachments))
    if refused is not None:
        await send(update, context, refused)
        return ATTACHMENTS
    draft.data.attachments.append(attachment)
    user_id = update.effective_user.id  # type: ignore[union-attr]
    await save_draft(context, user_id, ATTACHMENTS, draft.data, update.update_id)
    added = t(lang, "intake.attachment_added", count=len(draft.data.attachments))
    if visible(update.effective_message.caption or ""):  # type: ignore[union-attr]
        added = Html(added + "\n" + t(lang, "intake.caption_not_kept"))
    await send(update, context, added, kb.markup([[kb.button(t(lang, "common.done"), cb.In.DONE.encode())]]))
    return ATTACHMENTS


@with_draft
async def on_attachments_done(update: Update, context: Context, draft: IntakeDraft) -> str:
    return await go(update, context, draft.data, after(ATTACHMENTS, draft.data))


@with_draft
async def on_identity(update: Update, context: Context, draft: IntakeDraft, choice: str) -> str:
    lang = await lang_of(update, context)
    if choice == "phone":
        return await go(update, context, draft.data, PHONE)
    if choice == "lead":  # the report's leadership answer toggles; the identity question stays
        draft.data.about_leadership = not draft.data.about_leadership
        return await go(update, context, draft.data, IDENTITY)
    if draft.step == PHONE:  # chosen on the identity message while its keyboard is shown
        await close_keyboard(update, context, t(lang, "intake.keyboard_closed"))
    draft.data.confidential = choice == "conf"
    draft.data.phone = None
    return await go(update, context, draft.data, after(IDENTITY, draft.data))


@with_draft
async def on_contact(update: Update, context: Context, draft: IntakeDraft) -> str:
    """The phone number shared with Telegram's contact button: the user's own only."""
    lang = await lang_of(update, context)
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    contact = message.contact
    if contact is None or contact.user_id != user.id:
        await send(update, context, t(lang, "intake.phone_not_own", button=t(lang, "intake.share_phone")))
        return PHONE
    draft.data.phone = contact.phone_number
    draft.data.confidential = False
    await close_keyboard(update, context, t(lang, "intake.phone_saved", phone=contact.phone_number))
    return await go(update, context, draft.data, after(PHONE, draft.data))


@with_draft
async def on_phone_text(update: Update, context: Context, draft: IntakeDraft) -> str | int:
    """Text at the phone step: the keyboard's own buttons, or a hint to use them."""
    lang = await lang_of(update, context)
    text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    if text in _labels("intake.no_phone"):
        draft.data.phone = None
        draft.data.confidential = False
        await close_keyboard(update, context, t(lang, "intake.phone_skipped"))
        return await go(update, context, draft.data, after(PHONE, draft.data))
    if text in _labels("common.back"):
        await close_keyboard(update, context, t(lang, "intake.keyboard_closed"))
        return await go(update, context, draft.data, before(PHONE, draft.data))
    if text in _labels("common.cancel"):
        return await cancel(update, context)
    await send(update, context, t(lang, "intake.phone_use_button", button=t(lang, "intake.share_phone"),
                                  skip=t(lang, "intake.no_phone")))
    return PHONE


@with_draft
async def on_edit(update: Update, context: Context, draft: IntakeDraft, field: str) -> str:
    if field not in EDITABLE or draft.step != REVIEW:
        return await go(update, context, draft.data, draft.step or REVIEW)
    draft.data.editing = True
    if field == UNIT:
        draft.data.unit_browse = None
    return await go(update, context, draft.data, field)


@with_draft
async def on_submit(update: Update, context: Context, draft: IntakeDraft, key: str) -> str | int:
    lang = await lang_of(update, context)
    user = update.effective_user
    assert user is not None
    if key != draft.data.draft_id:
        # The Submit button of an earlier draft (started over since): show this one.
        await send(update, context, t(lang, "common.expired_button"))
        return await go(update, context, draft.data, REVIEW)
    d = deps(context)
    petitioner = Petitioner(id=user.id, name=user.full_name, username=user.username, language=lang)
    result = await d.cases.submit(petitioner, draft.data.petition(), submit_key=draft.data.draft_id)
    await receipt(update, context, result.case, lang)
    return ConversationHandler.END


async def receipt(update: Update, context: Context, case: Case, lang: str) -> None:
    """The case number, always: if the answer fails even after its retries, through the outbox."""
    try:
        await show(update, context, t(lang, "intake.receipt", number=case.number, due=day(case.accept_due, lang)))
    except TelegramError as error:
        log.warning("receipt for %s not delivered (%s); queued for the outbox", case.number, error)
        await deps(context).cases.queue_receipt(case.id)


async def on_submit_again(update: Update, context: Context, key: str) -> int:
    """A Submit tap whose draft is gone: a redelivery after the case was stored."""
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    case = await deps(context).cases.case_by_submit_key(user.id, key)
    if case is None:
        await send(update, context, t(lang, "common.expired_button"))
    else:
        await receipt(update, context, case, lang)
    return ConversationHandler.END


# ------------------------------------------------------- the unexpected input


@with_draft
async def on_unexpected(update: Update, context: Context, draft: IntakeDraft) -> str:
    """Anything the current step cannot use gets a hint; the draft stays as it is."""
    lang = await lang_of(update, context)
    step = draft.step or CATEGORY
    if update.edited_message is not None:
        await send(update, context, t(lang, "intake.edited_ignored"))
        return step
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        await send(update, context, t(lang, "common.unknown_command"))
        return step
    if step in (SUBJECT, DETAILS, PEOPLE, DESIRED):
        expected = t(lang, "intake.text_expected")
    elif step == ATTACHMENTS:
        expected = t(lang, "intake.attachment_hint")
    elif step == PHONE:
        expected = t(lang, "intake.phone_use_button", button=t(lang, "intake.share_phone"),
                     skip=t(lang, "intake.no_phone"))
    else:
        expected = t(lang, "intake.button_expected")
    what = _what_was_sent(message, lang, step)
    await send(update, context, Html(f"{what}\n{expected}") if what else expected)
    await ask(update, context, step, draft.data)
    return step


def _what_was_sent(message: Message | None, lang: str, step: str) -> Html | None:
    """A word on the kind of message that cannot be used, when it is not plain text."""
    if message is None or message.text:
        return None
    if message.sticker:
        return t(lang, "intake.odd_sticker")
    if message.location or message.venue:
        return t(lang, "intake.odd_location")
    if message.poll:
        return t(lang, "intake.odd_poll")
    if message.contact:
        return t(lang, "intake.odd_contact")
    if attachment_of(message) is not None:
        return None if step == ATTACHMENTS else t(lang, "intake.odd_media")
    return t(lang, "intake.odd_other")


async def on_stale_button(update: Update, context: Context) -> str | None:
    """A button from an earlier step: say so, and stay where we are."""
    lang = await lang_of(update, context)
    await answer_query(update, t(lang, "common.expired_button"))
    return None


def build() -> ConversationHandler:
    private, text = PRIVATE, PRIVATE_TEXT
    media = PRIVATE_FILES
    back = cb.In.BACK.handler(on_back)
    # At the phone step the identity keyboard is still shown: its real-name and confidential buttons work.
    identity_not_phone = cb.In.IDENTITY.handler(on_identity, when=lambda choice: choice != "phone")
    return user_conversation(
        Conversation.INTAKE,
        entry_points=[
            CommandHandler("new", new, filters=private),
            cb.In.CONTINUE.handler(resume),
            cb.In.RESTART.handler(restart),
        ],
        states={
            CATEGORY: [cb.In.CATEGORY.handler(on_category), back],
            UNIT: [cb.In.UNIT.handler(on_unit), cb.In.UNIT_HERE.handler(on_unit_here), back],
            SUBJECT: [MessageHandler(text, on_subject), back],
            DETAILS: [MessageHandler(text, on_details), back],
            ATTACHMENTS: [
                MessageHandler(media, on_attachment),
                cb.In.DONE.handler(on_attachments_done),
                back,
            ],
            IDENTITY: [cb.In.IDENTITY.handler(on_identity), back],
            PHONE: [
                MessageHandler(filters.CONTACT & private & filters.UpdateType.MESSAGE, on_contact),
                MessageHandler(text, on_phone_text),
                identity_not_phone,
                back,
            ],
            REVIEW: [
                cb.In.SUBMIT.handler(on_submit),
                cb.In.EDIT.handler(on_edit),
            ],
            PEOPLE: [MessageHandler(text, on_people), back],
            DESIRED: [MessageHandler(text, on_desired), back],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            cb.In.CANCEL.handler(cancel),
            cb.In.CONTINUE.handler(resume),
            cb.In.RESTART.handler(restart),
            cb.In.area.stale_handler(on_stale_button),
            MessageHandler(filters.ALL & private, on_unexpected),
        ],
    )


def submit_outside_conversation() -> CallbackQueryHandler:
    """Catches a redelivered Submit once the conversation has already ended."""
    return cb.In.SUBMIT.handler(on_submit_again)


def outside_conversation() -> list[BaseHandler]:
    """After the conversation: a redelivered Submit, and /cancel with nothing to cancel."""
    return [submit_outside_conversation(), CommandHandler("cancel", cancel, filters=filters.ChatType.PRIVATE)]

