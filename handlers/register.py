"""/register: staff enter a letter, visit, call, another platform's or a transferred matter, step by step.

Built like the petitioner's intake (``handlers.intake``): a named step per
question, the step counter, « 返回 and 取消 on every step, the review with an
edit button per field, Submit once. The registration and its step are
written to the store before each question (``LedgerService.save_draft``), so
a restart resumes where the staff member was; an update already applied is
recognised by its update_id. The rules (dates, how many representatives,
routing, codes) are the store's (``store.ledger``).

Steps: channel (→ reference number for 转交办) → date received → petitioner
(named: name → phone → employee no. → unit → another? → number of people;
or 匿名来信) → category → unit → subject → details → scans → confidentiality
→ review.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from functools import wraps
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters

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
    staff_caller,
    user_conversation,
)
from handlers.i18n import Html, escape, t
from handlers.intake import attachment_of, visible
from handlers.render import CHUNK, category_name, day, split_text, unit_path, utf16_len
from store.conversations import Conversation
from store.errors import StoreError
from store.ledger import (
    EMPLOYEE_NO_MAX,
    EXTERNAL_REF_MAX,
    NAME_MAX,
    NAMED_MAX,
    PERSON_UNIT_MAX,
    PHONE_MAX,
    RECEIVED_BACK_DAYS,
    Channel,
    PersonIn,
    PersonRole,
    Registered,
    Registration,
    normalize_phone,
)
from store.models import ATTACHMENTS_MAX, DETAILS_MAX, PEOPLE_MAX, SUBJECT_MAX
from store.org import CategoryKind, Organization

log = logging.getLogger(__name__)

CHANNEL = "channel"
REF = "ref"  # 转交办: the transferring body's reference number
RECEIVED = "received"
WHO = "who"  # named petitioners, or an anonymous letter
P_NAME = "p_name"
P_PHONE = "p_phone"
P_EMPLOYEE = "p_employee"
P_UNIT = "p_unit"
P_MORE = "p_more"
COUNT = "count"  # how many people, when several are named
CATEGORY = "category"
UNIT = "unit"
SUBJECT = "subject"
DETAILS = "details"
FILES = "files"
SECRECY = "secrecy"
REVIEW = "review"

# The counter's steps; a sub-step counts as the step it belongs to.
STEPS = [CHANNEL, RECEIVED, WHO, CATEGORY, UNIT, SUBJECT, DETAILS, FILES, SECRECY, REVIEW]
PART_OF = {REF: CHANNEL, P_NAME: WHO, P_PHONE: WHO, P_EMPLOYEE: WHO, P_UNIT: WHO, P_MORE: WHO, COUNT: WHO}
EDITABLE = {CHANNEL, RECEIVED, WHO, COUNT, CATEGORY, UNIT, SUBJECT, DETAILS, FILES, SECRECY}
TEXT_STEPS = {REF, RECEIVED, P_NAME, P_PHONE, P_EMPLOYEE, P_UNIT, COUNT, SUBJECT, DETAILS}
SKIPPABLE = {P_PHONE, P_EMPLOYEE, P_UNIT}
PERSON_STEPS = [P_NAME, P_PHONE, P_EMPLOYEE, P_UNIT, P_MORE]
ORDER = [CHANNEL, REF, RECEIVED, WHO, *PERSON_STEPS, COUNT, CATEGORY, UNIT, SUBJECT, DETAILS, FILES, SECRECY, REVIEW]


@dataclass
class Form:
    """The registration being entered and where its conversation is (the handler's own state)."""

    step: str
    data: Registration
    editing: bool = False  # changing one field from the review: back there after it
    unit_browse: str | None = None
    last_update_id: int | None = None


async def load(context: Context, user_id: int) -> Form | None:
    found = await deps(context).ledger.get_draft(user_id)
    if found is None or found.step is None:
        return None
    return Form(step=found.step, data=found.data, editing=bool(found.ui.get("editing")),
                unit_browse=found.ui.get("unit_browse"), last_update_id=found.ui.get("last_update_id"))


async def go(update: Update, context: Context, form: Form, step: str) -> str:
    """Save the registration at ``step`` (with this update's id), then ask that step's question."""
    if step == REVIEW:
        form.editing = False
    form.step = step
    form.last_update_id = update.update_id
    user = update.effective_user
    assert user is not None
    ui = {"editing": form.editing, "unit_browse": form.unit_browse, "last_update_id": update.update_id}
    await deps(context).ledger.save_draft(user.id, step, form.data, ui)
    await ask(update, context, form)
    return step


# ------------------------------------------------------------ the order


def after(step: str, form: Form) -> str:
    """The step after ``step``: the review when editing (once a field's own sub-steps are done)."""
    data = form.data
    if step == CHANNEL and data.channel is Channel.TRANSFER:
        return REF
    if step == WHO:
        return P_NAME if not data.anonymous else REVIEW if form.editing else CATEGORY
    if step in PERSON_STEPS[:-1]:
        return PERSON_STEPS[PERSON_STEPS.index(step) + 1]
    if step == P_MORE and len(data.people) > 1:
        return COUNT
    if form.editing:
        return REVIEW
    if step == P_MORE:
        return CATEGORY
    following = ORDER[ORDER.index(step) + 1]
    return RECEIVED if following == REF else following


def before(step: str, form: Form) -> str:
    """The step « 返回 goes to."""
    data = form.data
    if form.editing and step in (CHANNEL, RECEIVED, WHO, COUNT, CATEGORY, UNIT, SUBJECT, DETAILS, FILES, SECRECY):
        return REVIEW
    if step == RECEIVED:
        return REF if data.channel is Channel.TRANSFER else CHANNEL
    if step == P_NAME:
        return P_MORE if data.people else WHO
    if step == CATEGORY:
        if data.anonymous or not data.people:
            return WHO
        return COUNT if len(data.people) > 1 else P_MORE
    if step == COUNT:
        return P_MORE
    index = ORDER.index(step)
    return ORDER[max(index - 1, 0)]


def step_label(lang: str, step: str) -> Html:
    step = PART_OF.get(step, step)
    return t(lang, "register.step", n=STEPS.index(step) + 1, total=len(STEPS))


# --------------------------------------------------------------- questions


def _nav(lang: str, *, back: bool = True) -> list[Any]:
    return kb.nav_row(lang, back=cb.Rg.BACK.encode() if back else None, cancel=cb.Rg.CANCEL.encode())


def _tree_top(org: Organization) -> str | None:
    roots = org.roots()
    return roots[0].id if len(roots) == 1 else None


def _person_line(lang: str, person: PersonIn) -> Html:
    return t(lang, "register.person_line", name=person.name or "—",
             role=t(lang, f"ledger.role_{person.role.value}"),
             phone=person.phone or "—", employee_no=person.employee_no or "—", unit=person.unit or "—")


async def ask(update: Update, context: Context, form: Form, *, fresh: bool = False) -> None:
    lang = await lang_of(update, context)
    present = send if fresh else show
    d = deps(context)
    org = d.org
    step, data = form.step, form.data
    label = step_label(lang, step)
    if step == CHANNEL:
        buttons = [kb.button(t(lang, f"ledger.channel_{c}"), cb.Rg.CHANNEL.encode(c))
                   for c in ("letter", "visit", "call", "online", "transfer")]
        await present(update, context, t(lang, "register.ask_channel", step=label),
                      kb.markup([*kb.grid(buttons, 3), _nav(lang, back=form.editing)]))
    elif step == REF:
        await present(update, context, t(lang, "register.ask_ref", step=label, max=EXTERNAL_REF_MAX),
                      kb.markup([_nav(lang)]))
    elif step == RECEIVED:
        today = d.ledger.ctx.today()
        await present(update, context, t(lang, "register.ask_received", step=label, days=RECEIVED_BACK_DAYS),
                      kb.markup([[kb.button(t(lang, "register.today", date=day(today, lang)),
                                            cb.Rg.TODAY.encode(today))], _nav(lang)]))
    elif step == WHO:
        await present(update, context, t(lang, "register.ask_who", step=label), kb.markup([
            [kb.button(t(lang, "register.who_named"), cb.Rg.WHO.encode("named"))],
            [kb.button(t(lang, "register.who_anonymous"), cb.Rg.WHO.encode("anon"))],
            _nav(lang),
        ]))
    elif step == P_NAME:
        key = "register.ask_name_more" if data.people else "register.ask_name"
        await present(update, context, t(lang, key, step=label, n=len(data.people) + 1, limit=NAMED_MAX),
                      kb.markup([_nav(lang)]))
    elif step in (P_PHONE, P_EMPLOYEE, P_UNIT):
        name = data.people[-1].name if data.people else ""
        await present(update, context, t(lang, f"register.ask_{step}", step=label, name=name or ""),
                      kb.markup([[kb.button(t(lang, "register.unknown"), cb.Rg.SKIP.encode())], _nav(lang)]))
    elif step == P_MORE:
        lines = [t(lang, "register.people_so_far", count=len(data.people))]
        lines += [_person_line(lang, p) for p in data.people]
        rows = []
        if len(data.people) < NAMED_MAX:
            rows.append([kb.button(t(lang, "register.add_person"), cb.Rg.MORE.encode("add"))])
        rows.append([kb.button(t(lang, "register.people_done"), cb.Rg.MORE.encode("done"))])
        await present(update, context, Html("\n".join([str(label), *lines])), kb.markup([*rows, _nav(lang)]))
    elif step == COUNT:
        named = len(data.people)
        await present(update, context, t(lang, "register.ask_count", step=label, n=named, max=PEOPLE_MAX),
                      kb.markup([[kb.button(t(lang, "register.count_named", n=named), cb.Rg.COUNT_NAMED.encode())],
                                 _nav(lang)]))
    elif step == CATEGORY:
        buttons = [kb.button(c.name.get(lang), cb.Rg.CATEGORY.encode(c.id)) for c in org.categories]
        await present(update, context, t(lang, "intake.choose_category", step=label),
                      kb.markup([*kb.grid(buttons), _nav(lang)]))
    elif step == UNIT:
        here = form.unit_browse if form.unit_browse and org.find_unit(form.unit_browse) else None
        here = here or _tree_top(org)
        user = update.effective_user
        allowed = deps(context).ledger.registerable_units(deps(context).cases.actor(user.id)) if user else frozenset()
        # Only units in the caller's scope, and the units above them to get there.
        children = [u for u in (org.children(here) if here else org.roots()) if org.subtree(u.id) & allowed]
        rows = []
        if here and here in allowed:
            rows.append([kb.button(t(lang, "intake.unit_here", name=org.unit(here).name.get(lang)),
                                   cb.Rg.UNIT_HERE.encode(here))])
        rows += kb.grid(kb.button(u.name.get(lang), cb.Rg.UNIT.encode(u.id)) for u in children)
        path = unit_path(org, here, lang) if here else "—"
        await present(update, context, t(lang, "register.ask_unit", step=label, path=path),
                      kb.markup([*rows, _nav(lang)]))
    elif step == SUBJECT:
        await present(update, context, t(lang, "register.ask_subject", step=label, max=SUBJECT_MAX),
                      kb.markup([_nav(lang)]))
    elif step == DETAILS:
        await present(update, context, t(lang, "register.ask_details", step=label, max=DETAILS_MAX),
                      kb.markup([_nav(lang)]))
    elif step == FILES:
        finish = kb.button(t(lang, "common.done" if data.attachments else "common.skip"), cb.Rg.FILES_DONE.encode())
        await present(update, context, t(lang, "register.ask_files", step=label, max=ATTACHMENTS_MAX),
                      kb.markup([[finish], _nav(lang)]))
    elif step == SECRECY:
        category = org.find_category(data.category or "")
        report = category is not None and category.kind is CategoryKind.REPORT
        text = t(lang, "register.ask_secrecy", step=label)
        if report:
            text = Html(text + "\n" + t(lang, "register.secrecy_report_default"))
        current = d.ledger.confidential(data)
        rows = []
        for value, key in (("real", "register.secrecy_real"), ("conf", "register.secrecy_confidential")):
            text_of = t(lang, key)
            if (value == "conf") == current:
                text_of = t(lang, "intake.chosen", label=text_of)
            rows.append([kb.button(text_of, cb.Rg.SECRECY.encode(value))])
        await present(update, context, text, kb.markup([*rows, _nav(lang)]))
    elif step == REVIEW:
        await show_review(update, context, form, lang, fresh=fresh)


def summary(form: Form, org: Organization, lang: str, accept_days: int) -> list[Html]:
    """The review: every field entered, escaped, in as many messages as the details need."""
    data = form.data
    rows = [(t(lang, "register.field_channel"), t(lang, f"ledger.channel_{data.channel.value}") if data.channel else "—")]
    if data.channel is Channel.TRANSFER:
        rows.append((t(lang, "register.field_ref"), data.external_ref or "—"))
    if data.received_on is not None:
        rows.append((t(lang, "register.field_received"), t(lang, "register.received_value",
                     date=day(data.received_on, lang),
                     due=day(org.due_date(data.received_on, "accept_days", accept_days), lang))))
    if data.anonymous:
        rows.append((t(lang, "register.field_people"), t(lang, "register.who_anonymous")))
    else:
        rows.append((t(lang, "register.field_people"),
                     Html("\n" + "\n".join(_person_line(lang, p) for p in data.people))))
    if data.people_count is not None:
        rows.append((t(lang, "register.field_count"), str(data.people_count)))
    rows += [
        (t(lang, "field.category"), category_name(org, data.category or "", lang)),
        (t(lang, "field.unit"), unit_path(org, data.unit or "", lang)),
        (t(lang, "field.subject"), data.subject or ""),
        (t(lang, "field.attachments"), t(lang, "field.attachments_count", count=len(data.attachments))),
        (t(lang, "register.field_secrecy"), t(lang, "register.secrecy_confidential" if data.confidential
                                             else "register.secrecy_real")),
    ]
    facts = "\n".join(t(lang, "field.row", label=label, value=value) for label, value in rows)
    parts = split_text(data.details or "", first=max(CHUNK - utf16_len(facts) - 200, 500))
    first = Html(f"{facts}\n" + t(lang, "field.details_block", details=parts[0]))
    return [first, *(escape(part) for part in parts[1:])]


async def show_review(update: Update, context: Context, form: Form, lang: str, *, fresh: bool = False) -> None:
    present = send if fresh else show
    d = deps(context)
    form.data.confidential = d.ledger.confidential(form.data)
    parts = summary(form, d.org, lang, d.org.deadlines.accept_days)
    head = Html(t(lang, "register.review", step=step_label(lang, REVIEW)) + "\n\n" + parts[0])
    fields = [CHANNEL, RECEIVED, WHO, *([COUNT] if len(form.data.people) > 1 else []),
              CATEGORY, UNIT, SUBJECT, DETAILS, FILES, SECRECY]
    edits = [kb.button(t(lang, f"register.edit_{field}"), cb.Rg.EDIT.encode(field)) for field in fields]
    keyboard = kb.markup([
        [kb.button(t(lang, "register.submit"), cb.Rg.SUBMIT.encode(form.data.registration_id))],
        *kb.grid(edits, 3),
        [kb.button(t(lang, "common.cancel"), cb.Rg.CANCEL.encode())],
    ])
    if len(parts) == 1:
        await present(update, context, Html(head + "\n\n" + t(lang, "register.review_hint")), keyboard)
        return
    await present(update, context, head)
    for part in parts[1:-1]:
        await send(update, context, part)
    await send(update, context, Html(parts[-1] + "\n\n" + t(lang, "register.review_hint")), keyboard)


# ------------------------------------------------------------ the plumbing


Step = Callable[..., Coroutine[Any, Any, str | int]]


def with_form(fn: Step) -> Step:
    """Staff only; load the registration; skip updates applied already; refusals answered politely."""

    @wraps(fn)
    async def wrapper(update: Update, context: Context, *values: object) -> str | int:
        await answer_query(update)
        user = update.effective_user
        if user is None:
            return ConversationHandler.END
        lang = await lang_of(update, context)
        if not deps(context).cases.actor(user.id).is_staff:
            await send(update, context, t(lang, "staff.not_staff"))
            return ConversationHandler.END
        form = await load(context, user.id)
        if form is None:
            submitted = cb.Rg.SUBMIT.decode(_data(update))
            if submitted is not None:
                return await on_submit_again(update, context, *submitted)
            await send(update, context, t(lang, "common.expired_button"))
            return ConversationHandler.END
        if form.last_update_id is not None and update.update_id <= form.last_update_id:
            await ask(update, context, form)
            return form.step
        try:
            return await fn(update, context, form, *values)
        except StoreError as error:
            await send(update, context, error_text(lang, error))
            return form.step

    return wrapper


def _data(update: Update) -> str:
    query = update.callback_query
    return (query.data or "") if query else ""


def _text(update: Update) -> str:
    message = update.effective_message
    return (message.text or "").strip() if message is not None else ""


# ------------------------------------------------------------ entry, exit


async def start(update: Update, context: Context) -> str | int:
    """/register: start a registration, or offer to continue the one in progress."""
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    _actor, lang = caller
    user = update.effective_user
    assert user is not None
    existing = await load(context, user.id)
    if existing is not None and existing.last_update_id is not None and update.update_id <= existing.last_update_id:
        await ask(update, context, existing)
        return existing.step
    if existing is not None:
        await send(update, context, t(lang, "register.draft_exists", step=step_label(lang, existing.step)),
                   kb.markup([[kb.button(t(lang, "intake.continue"), cb.Rg.CONTINUE.encode()),
                               kb.button(t(lang, "intake.restart"), cb.Rg.RESTART.encode())]]))
        return existing.step
    return await go(update, context, Form(step=CHANNEL, data=Registration()), CHANNEL)


async def resume(update: Update, context: Context) -> str | int:
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    form = await load(context, user.id)
    if form is None:
        return await go(update, context, Form(step=CHANNEL, data=Registration()), CHANNEL)
    await show(update, context, t(caller[1], "intake.resumed"))
    await ask(update, context, form, fresh=True)
    return form.step


async def restart(update: Update, context: Context) -> str | int:
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    await answer_query(update)
    return await go(update, context, Form(step=CHANNEL, data=Registration()), CHANNEL)


async def cancel(update: Update, context: Context) -> int:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    d = deps(context)
    if await load(context, user.id) is None:
        await send(update, context, t(lang, "intake.nothing_to_cancel"))
        return ConversationHandler.END
    await d.ledger.discard_draft(user.id)
    await show(update, context, t(lang, "register.cancelled"))
    return ConversationHandler.END


# ------------------------------------------------------------------ steps


@with_form
async def on_back(update: Update, context: Context, form: Form) -> str:
    org = deps(context).org
    if form.step == UNIT and form.unit_browse and form.unit_browse != _tree_top(org):
        unit = org.find_unit(form.unit_browse)
        form.unit_browse = unit.parent if unit else None
        return await go(update, context, form, UNIT)
    form.unit_browse = None
    target = before(form.step, form)
    if form.step == P_PHONE and form.data.people:  # the name just entered is entered again
        form.data.people.pop()
        target = P_NAME
    if target == REVIEW:
        form.editing = False
    return await go(update, context, form, target)


@with_form
async def on_channel(update: Update, context: Context, form: Form, channel: str) -> str:
    form.data.channel = Channel(channel)
    if form.data.channel is not Channel.TRANSFER:
        form.data.external_ref = None
    return await go(update, context, form, after(CHANNEL, form))


@with_form
async def on_ref(update: Update, context: Context, form: Form) -> str:
    lang = await lang_of(update, context)
    text = _text(update)
    if not visible(text) or len(text) > EXTERNAL_REF_MAX:
        await send(update, context, t(lang, "register.ref_invalid", max=EXTERNAL_REF_MAX))
        return REF
    form.data.external_ref = text
    return await go(update, context, form, REVIEW if form.editing else RECEIVED)


def parse_day(text: str, today: date) -> date | None:
    """``YYYY-MM-DD`` or ``MM-DD`` (also with / or ., or as dates are shown: 2026年11月20日, 11月20日).

    A month-day after today is last year's.
    """
    text = text.strip().replace(" ", "").replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-")
    text = text.removesuffix("日").removesuffix("号")
    full = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    short = re.fullmatch(r"(\d{1,2})-(\d{1,2})", text)
    try:
        if full:
            return date(int(full[1]), int(full[2]), int(full[3]))
        if short:
            day = date(today.year, int(short[1]), int(short[2]))
            return day if day <= today else date(today.year - 1, int(short[1]), int(short[2]))
    except ValueError:
        return None
    return None


async def _received(update: Update, context: Context, form: Form, received: date | None) -> str:
    lang = await lang_of(update, context)
    today = deps(context).ledger.ctx.today()
    if received is None:
        await send(update, context, t(lang, "register.date_invalid"))
        return RECEIVED
    if received > today:
        await send(update, context, t(lang, "register.date_future", today=day(today, lang)))
        return RECEIVED
    if received < today - timedelta(days=RECEIVED_BACK_DAYS):
        await send(update, context, t(lang, "register.date_too_old", days=RECEIVED_BACK_DAYS,
                                      oldest=day(today - timedelta(days=RECEIVED_BACK_DAYS), lang)))
        return RECEIVED
    form.data.received_on = received
    return await go(update, context, form, after(RECEIVED, form))


@with_form
async def on_received_text(update: Update, context: Context, form: Form) -> str:
    text = _text(update)
    return await _received(update, context, form, parse_day(text, deps(context).ledger.ctx.today())
                           if len(text) <= 20 else None)


@with_form
async def on_today(update: Update, context: Context, form: Form, day: date) -> str:
    # The button names the day it was shown; a button from yesterday still means that day.
    return await _received(update, context, form, day)


@with_form
async def on_who(update: Update, context: Context, form: Form, who: str) -> str:
    form.data.people = []
    form.data.people_count = None
    form.data.anonymous = who == "anon"
    return await go(update, context, form, after(WHO, form))


@with_form
async def on_name(update: Update, context: Context, form: Form) -> str:
    lang = await lang_of(update, context)
    text = _text(update)
    if not visible(text) or len(text) > NAME_MAX:
        await send(update, context, t(lang, "register.name_invalid", max=NAME_MAX))
        return P_NAME
    if len(form.data.people) >= NAMED_MAX:
        await send(update, context, t(lang, "errors.ledger_too_many", limit=NAMED_MAX))
        return await go(update, context, form, P_MORE)
    form.data.people.append(PersonIn(name=text))
    _roles(form.data)
    return await go(update, context, form, P_PHONE)


def _roles(data: Registration) -> None:
    """One person named: the petitioner; several (a joint letter, a collective visit): representatives."""
    role = PersonRole.PETITIONER if len(data.people) == 1 else PersonRole.REPRESENTATIVE
    for person in data.people:
        person.role = role


LIMITS = {P_PHONE: PHONE_MAX, P_EMPLOYEE: EMPLOYEE_NO_MAX, P_UNIT: PERSON_UNIT_MAX}
FIELDS = {P_PHONE: "phone", P_EMPLOYEE: "employee_no", P_UNIT: "unit"}


@with_form
async def on_person_field(update: Update, context: Context, form: Form) -> str:
    lang = await lang_of(update, context)
    step = form.step
    text = _text(update)
    if step not in LIMITS or not form.data.people:
        return await go(update, context, form, step)
    if not visible(text) or len(text) > LIMITS[step]:
        await send(update, context, t(lang, "register.field_invalid", max=LIMITS[step]))
        return step
    if step == P_PHONE and (normalize_phone(text) is None or not re.fullmatch(r"[\d+\-\s()]{5,20}", text)):
        await send(update, context, t(lang, "errors.ledger_phone"))
        return step
    setattr(form.data.people[-1], FIELDS[step], text)
    return await go(update, context, form, after(step, form))


@with_form
async def on_skip(update: Update, context: Context, form: Form) -> str:
    if form.step not in SKIPPABLE:
        return await go(update, context, form, form.step)
    return await go(update, context, form, after(form.step, form))


@with_form
async def on_more(update: Update, context: Context, form: Form, choice: str) -> str:
    if choice == "add" and len(form.data.people) < NAMED_MAX:
        return await go(update, context, form, P_NAME)
    if len(form.data.people) <= 1:
        form.data.people_count = None
    return await go(update, context, form, after(P_MORE, form))


@with_form
async def on_count(update: Update, context: Context, form: Form) -> str:
    lang = await lang_of(update, context)
    text = _text(update)
    named = len(form.data.people)
    if not text.isdigit() or len(text) > 6 or not named <= int(text) <= PEOPLE_MAX:
        await send(update, context, t(lang, "errors.ledger_people_count", least=max(named, 1), most=PEOPLE_MAX))
        return COUNT
    form.data.people_count = int(text)
    return await go(update, context, form, after(COUNT, form))


@with_form
async def on_count_named(update: Update, context: Context, form: Form) -> str:
    form.data.people_count = len(form.data.people) or None
    return await go(update, context, form, after(COUNT, form))


@with_form
async def on_category(update: Update, context: Context, form: Form, category_id: str) -> str:
    category = deps(context).org.find_category(category_id)
    if category is None:
        return await go(update, context, form, CATEGORY)
    previous = deps(context).org.find_category(form.data.category or "")
    form.data.category = category.id
    # A report (检举控告) is confidential unless the staff member chooses otherwise (Art. 30).
    if category.kind is CategoryKind.REPORT and (previous is None or previous.kind is not CategoryKind.REPORT):
        form.data.confidential = None
    return await go(update, context, form, after(CATEGORY, form))


@with_form
async def on_unit(update: Update, context: Context, form: Form, unit_id: str) -> str:
    return await _unit(update, context, form, unit_id, browse=True)


@with_form
async def on_unit_here(update: Update, context: Context, form: Form, unit_id: str) -> str:
    return await _unit(update, context, form, unit_id, browse=False)


async def _unit(update: Update, context: Context, form: Form, unit_id: str, *, browse: bool) -> str:
    org = deps(context).org
    unit = org.find_unit(unit_id)
    if unit is None:
        return await go(update, context, form, UNIT)
    if browse and org.children(unit.id):
        form.unit_browse = unit.id
        return await go(update, context, form, UNIT)
    form.data.unit = unit.id
    form.unit_browse = None
    return await go(update, context, form, after(UNIT, form))


def _text_step(step: str, limit: int, too_long: str, field: str) -> Step:
    async def handler(update: Update, context: Context, form: Form) -> str:
        lang = await lang_of(update, context)
        text = _text(update)
        if not visible(text):
            await send(update, context, t(lang, "intake.text_empty"))
            return step
        if len(text) > limit:
            await send(update, context, t(lang, too_long, max=limit, length=len(text)))
            return step
        setattr(form.data, field, text)
        return await go(update, context, form, after(step, form))

    handler.__name__ = f"on_{field}"
    return with_form(handler)


on_subject = _text_step(SUBJECT, SUBJECT_MAX, "intake.subject_too_long", "subject")
on_details = _text_step(DETAILS, DETAILS_MAX, "intake.details_too_long", "details")


@with_form
async def on_file(update: Update, context: Context, form: Form) -> str:
    """A scan or photo of the letter (the intake's attachment handling)."""
    lang = await lang_of(update, context)
    attachment = attachment_of(update.effective_message)  # type: ignore[arg-type]
    if attachment is None:
        await send(update, context, t(lang, "register.files_hint"))
        return FILES
    refused = media.attachment_refused(lang, attachment, len(form.data.attachments))
    if refused is not None:
        await send(update, context, refused)
        return FILES
    form.data.attachments.append(attachment)
    user = update.effective_user
    assert user is not None
    form.last_update_id = update.update_id
    await deps(context).ledger.save_draft(user.id, FILES, form.data, {
        "editing": form.editing, "unit_browse": form.unit_browse, "last_update_id": update.update_id})
    await send(update, context, t(lang, "intake.attachment_added", count=len(form.data.attachments)),
               kb.markup([[kb.button(t(lang, "common.done"), cb.Rg.FILES_DONE.encode())]]))
    return FILES


@with_form
async def on_files_done(update: Update, context: Context, form: Form) -> str:
    return await go(update, context, form, after(FILES, form))


@with_form
async def on_secrecy(update: Update, context: Context, form: Form, choice: str) -> str:
    form.data.confidential = choice == "conf"
    return await go(update, context, form, after(SECRECY, form))


@with_form
async def on_edit(update: Update, context: Context, form: Form, field: str) -> str:
    if field not in EDITABLE or form.step != REVIEW:
        return await go(update, context, form, form.step)
    form.editing = True
    if field == UNIT:
        form.unit_browse = None
    return await go(update, context, form, field)


@with_form
async def on_submit(update: Update, context: Context, form: Form, key: str) -> str | int:
    lang = await lang_of(update, context)
    user = update.effective_user
    assert user is not None
    if key != form.data.registration_id or form.step != REVIEW:
        await send(update, context, t(lang, "common.expired_button"))
        return await go(update, context, form, REVIEW if form.step == REVIEW else form.step)
    d = deps(context)
    try:
        done = await d.ledger.register(d.cases.actor(user.id), form.data, from_draft=True)
    except StoreError as error:  # out of the caller's scope: the draft stays, to change the unit
        await send(update, context, error_text(lang, error))
        return await go(update, context, form, REVIEW)
    await receipt(update, context, done, lang)
    return ConversationHandler.END


def receipt_text(done: Registered, lang: str) -> Html:
    """The staff member's receipt: the case number, its acceptance deadline, and each claim code."""
    case = done.case
    lines = [t(lang, "register.receipt", number=case.number,
               channel=t(lang, f"ledger.channel_{case.channel}"),
               received=day(case.received_on, lang) if case.received_on else "",
               due=day(case.accept_due, lang))]
    if done.codes:
        lines += [t(lang, "register.receipt_code", code=code.shown, name=code.name or "—") for code in done.codes]
        lines.append(t(lang, "register.receipt_codes_hint"))
    elif done.created:
        lines.append(t(lang, "register.receipt_no_codes"))
    lines += [t(lang, "policy.register_name_kept", phone=k.phone, kept=k.kept, given=k.given)
              for k in done.kept_names]
    return Html("\n".join(lines))


async def receipt(update: Update, context: Context, done: Registered, lang: str) -> None:
    try:
        await show(update, context, receipt_text(done, lang))
    except TelegramError as error:
        # The codes are not stored in clear: new ones can be issued for the case (LedgerService.reissue_codes).
        log.warning("registration receipt for %s not delivered (%s)", done.case.number, error)


async def on_submit_again(update: Update, context: Context, key: str) -> int:
    """A Submit whose registration is gone: registered already (the codes were on the first receipt)."""
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    d = deps(context)
    case = await d.ledger.case_by_registration(d.cases.actor(user.id), key)
    if case is None:
        await send(update, context, t(lang, "common.expired_button"))
    else:
        await send(update, context, t(lang, "register.already", number=case.number))
    return ConversationHandler.END


# ------------------------------------------------------- the unexpected


@with_form
async def on_unexpected(update: Update, context: Context, form: Form) -> str:
    """Anything the step cannot use gets a word on what it expects; the registration stays as it is."""
    lang = await lang_of(update, context)
    step = form.step
    message = update.effective_message
    if update.edited_message is not None:
        await send(update, context, t(lang, "intake.edited_ignored"))
        return step
    if message is not None and message.text and message.text.startswith("/"):
        await send(update, context, t(lang, "common.unknown_command"))
        return step
    if step == RECEIVED:
        expected = t(lang, "register.date_invalid")
    elif step in TEXT_STEPS:
        expected = t(lang, "intake.text_expected")
    elif step == FILES:
        expected = t(lang, "register.files_hint")
    else:
        expected = t(lang, "intake.button_expected")
    await send(update, context, expected)
    await ask(update, context, form)
    return step


async def on_stale_button(update: Update, context: Context) -> None:
    lang = await lang_of(update, context)
    await answer_query(update, t(lang, "common.expired_button"))


def build() -> ConversationHandler:
    text = PRIVATE_TEXT
    back = cb.Rg.BACK.handler(on_back)
    skip = cb.Rg.SKIP.handler(on_skip)
    return user_conversation(
        Conversation.REGISTER,
        entry_points=[
            CommandHandler("register", start, filters=PRIVATE),
            cb.Rg.CONTINUE.handler(resume),
            cb.Rg.RESTART.handler(restart),
        ],
        states={
            CHANNEL: [cb.Rg.CHANNEL.handler(on_channel), back],
            REF: [MessageHandler(text, on_ref), back],
            RECEIVED: [MessageHandler(text, on_received_text), cb.Rg.TODAY.handler(on_today), back],
            WHO: [cb.Rg.WHO.handler(on_who), back],
            P_NAME: [MessageHandler(text, on_name), back],
            P_PHONE: [MessageHandler(text, on_person_field), skip, back],
            P_EMPLOYEE: [MessageHandler(text, on_person_field), skip, back],
            P_UNIT: [MessageHandler(text, on_person_field), skip, back],
            P_MORE: [cb.Rg.MORE.handler(on_more), back],
            COUNT: [MessageHandler(text, on_count), cb.Rg.COUNT_NAMED.handler(on_count_named), back],
            CATEGORY: [cb.Rg.CATEGORY.handler(on_category), back],
            UNIT: [cb.Rg.UNIT.handler(on_unit), cb.Rg.UNIT_HERE.handler(on_unit_here), back],
            SUBJECT: [MessageHandler(text, on_subject), back],
            DETAILS: [MessageHandler(text, on_details), back],
            FILES: [MessageHandler(PRIVATE_FILES, on_file), cb.Rg.FILES_DONE.handler(on_files_done), back],
            SECRECY: [cb.Rg.SECRECY.handler(on_secrecy), back],
            REVIEW: [cb.Rg.SUBMIT.handler(on_submit), cb.Rg.EDIT.handler(on_edit)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            cb.Rg.CANCEL.handler(cancel),
            cb.Rg.CONTINUE.handler(resume),
            cb.Rg.RESTART.handler(restart),
            cb.Rg.area.stale_handler(on_stale_button),
            MessageHandler(filters.ALL & PRIVATE, on_unexpected),
        ],
    )


def outside_conversation() -> list[BaseHandler]:
    """After the conversation: a redelivered Submit."""
    return [cb.Rg.SUBMIT.handler(on_submit_again)]
