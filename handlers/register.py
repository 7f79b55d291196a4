"""/register: staff enter a letter, visit, call, another platform's or a transferred matter, step by step.

Declared for the one form engine (``handlers/forms.py``), which asks, saves
the registration and its step before each question (a restart resumes where
the staff member was), answers « 返回, 取消, the review's change buttons and
Submit once. What is the registration's own is here: its steps, their
validators and buttons, the unit browser, the review's text, the entries and
the submit. The rules (dates, how many representatives, routing, codes) are
the store's (``store.ledger``).

Steps: channel (→ reference number for 转交办) → date received → petitioner
(named: name → phone → employee no. → unit → another? → number of people;
or 匿名来信) → category → unit → subject → details → scans → confidentiality
→ review.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardButton, Message, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, ConversationHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers import media
from handlers.common import PRIVATE, Context, ConvHandler, Handler, deps, lang_of, send, show
from handlers.forms import CHOICE, FILES, REVIEW, TEXT, Buttons, Form, Hint, Step, Turn, visible
from handlers.i18n import Html, escape, t
from handlers.render import CHUNK, category_name, day, split_text, unit_path, utf16_len
from handlers.unit_step import BROWSING, UNIT, browsed, pick_unit, pick_unit_here, text_of, unit_back, unit_params
from store.conversations import Conversation
from store.ledger import (
    EMPLOYEE_NO_MAX,
    EXTERNAL_REF_MAX,
    NAME_MAX,
    NAMED_MAX,
    PERSON_UNIT_MAX,
    PHONE_MAX,
    RECEIVED_BACK_DAYS,
    PersonIn,
    PersonRole,
    Registered,
    Registration,
)
from store.models import ATTACHMENTS_MAX, DETAILS_MAX, PEOPLE_MAX, SUBJECT_MAX, Channel
from store.org import CategoryKind, Organization
from store.people import normalize_phone

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
SUBJECT = "subject"
DETAILS = "details"
FILES_STEP = "files"
SECRECY = "secrecy"
REVIEW_STEP = "review"

# The counter's steps; a sub-step counts as the step it belongs to (``Step.part_of``).
STEPS = [CHANNEL, RECEIVED, WHO, CATEGORY, UNIT, SUBJECT, DETAILS, FILES_STEP, SECRECY, REVIEW_STEP]
PERSON_STEPS = [P_NAME, P_PHONE, P_EMPLOYEE, P_UNIT, P_MORE]
EDITABLE = [CHANNEL, RECEIVED, WHO, COUNT, CATEGORY, UNIT, SUBJECT, DETAILS, FILES_STEP, SECRECY]


def order(data: Registration) -> list[str]:
    """This registration's steps in order: the reference only for 转交办, the people only when named."""
    people = [] if data.anonymous else [*PERSON_STEPS, *([COUNT] if len(data.people) > 1 else [])]
    return [CHANNEL, *([REF] if data.channel is Channel.TRANSFER else []), RECEIVED, WHO, *people,
            CATEGORY, UNIT, SUBJECT, DETAILS, FILES_STEP, SECRECY, REVIEW_STEP]


# --------------------------------------------------------------- channel, date


async def pick_channel(turn: Turn[Registration], channel: str) -> None:
    turn.data.channel = Channel(channel)
    if turn.data.channel is not Channel.TRANSFER:
        turn.data.external_ref = None


def channel_buttons(turn: Turn[Any]) -> list[InlineKeyboardButton]:
    return [kb.button(turn.text(f"ledger.channel_{c}"), cb.Rg.CHANNEL.encode(c))
            for c in ("letter", "visit", "call", "online", "transfer")]


def parse_ref(turn: Turn[Any], text: str) -> str:
    if not visible(text) or len(text) > EXTERNAL_REF_MAX:
        raise Hint("register.ref_invalid", max=EXTERNAL_REF_MAX)
    return text


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


def received(turn: Turn[Any], when: date | None) -> date:
    """The day received, or a Hint: a date, not after today, not older than the ledger accepts."""
    today = turn.d.ledger.ctx.today()
    if when is None:
        raise Hint("register.date_invalid")
    if when > today:
        raise Hint("register.date_future", today=day(today, turn.lang))
    if when < today - timedelta(days=RECEIVED_BACK_DAYS):
        raise Hint("register.date_too_old", days=RECEIVED_BACK_DAYS,
                   oldest=day(today - timedelta(days=RECEIVED_BACK_DAYS), turn.lang))
    return when


def parse_received(turn: Turn[Any], text: str) -> date:
    return received(turn, parse_day(text, turn.d.ledger.ctx.today()) if len(text) <= 20 else None)


async def pick_today(turn: Turn[Registration], shown: date) -> None:
    # The button names the day it was shown; a button from yesterday still means that day.
    turn.data.received_on = received(turn, shown)


def today_button(turn: Turn[Any]) -> list[InlineKeyboardButton]:
    today = turn.d.ledger.ctx.today()
    return [kb.button(turn.text("register.today", date=day(today, turn.lang)), cb.Rg.TODAY.encode(today))]


async def received_params(turn: Turn[Any]) -> Mapping[str, Any]:
    return {"days": RECEIVED_BACK_DAYS}


# --------------------------------------------------------------- the people


async def pick_who(turn: Turn[Registration], who: str) -> None:
    turn.data.people = []
    turn.data.people_count = None
    turn.data.anonymous = who == "anon"


def who_buttons(turn: Turn[Any]) -> list[InlineKeyboardButton]:
    return [kb.button(turn.text("register.who_named"), cb.Rg.WHO.encode("named")),
            kb.button(turn.text("register.who_anonymous"), cb.Rg.WHO.encode("anon"))]


def roles(data: Registration) -> None:
    """One person named: the petitioner; several (a joint letter, a collective visit): representatives."""
    role = PersonRole.PETITIONER if len(data.people) == 1 else PersonRole.REPRESENTATIVE
    for person in data.people:
        person.role = role


def parse_name(turn: Turn[Registration], text: str) -> str:
    if not visible(text) or len(text) > NAME_MAX:
        raise Hint("register.name_invalid", max=NAME_MAX)
    if len(turn.data.people) >= NAMED_MAX:
        raise Hint("errors.ledger_too_many", limit=NAMED_MAX)
    return text


def add_person(turn: Turn[Registration], name: str) -> None:
    turn.data.people.append(PersonIn(name=name))
    roles(turn.data)


def name_question(turn: Turn[Registration]) -> str:
    return "register.ask_name_more" if turn.data.people else "register.ask_name"


async def name_params(turn: Turn[Registration]) -> Mapping[str, Any]:
    return {"n": len(turn.data.people) + 1, "limit": NAMED_MAX}


def name_back(turn: Turn[Registration]) -> str:
    return P_MORE if turn.data.people else WHO


def phone_back(turn: Turn[Registration]) -> str:
    """« 返回 from the phone: the name just entered is entered again."""
    if turn.data.people:
        turn.data.people.pop()
        roles(turn.data)
    return P_NAME


PERSON_FIELDS = {P_PHONE: ("phone", PHONE_MAX), P_EMPLOYEE: ("employee_no", EMPLOYEE_NO_MAX),
                 P_UNIT: ("unit", PERSON_UNIT_MAX)}


def person_field(step: str) -> Step:
    """The phone, employee number or unit of the person named last: optional (不详)."""
    field_name, limit = PERSON_FIELDS[step]

    def parse(turn: Turn[Registration], text: str) -> str:
        if not visible(text) or len(text) > limit:
            raise Hint("register.field_invalid", max=limit)
        if step == P_PHONE and (normalize_phone(text) is None or not re.fullmatch(r"[\d+\-\s()]{5,20}", text)):
            raise Hint("errors.ledger_phone")
        if not turn.data.people:
            raise Hint("register.name_invalid", max=NAME_MAX)
        return text

    def store(turn: Turn[Registration], value: str) -> None:
        setattr(turn.data.people[-1], field_name, value)

    async def params(turn: Turn[Registration]) -> Mapping[str, Any]:
        return {"name": turn.data.people[-1].name or "" if turn.data.people else ""}

    return Step(step, TEXT, f"register.ask_{step}", parse=parse, put=store, params=params, part_of=WHO,
                skip=lambda turn: "register.unknown", back_to=phone_back if step == P_PHONE else None)


def person_line(lang: str, person: PersonIn) -> Html:
    return t(lang, "register.person_line", name=person.name or "—",
             role=t(lang, f"ledger.role_{person.role.value}"),
             phone=person.phone or "—", employee_no=person.employee_no or "—", unit=person.unit or "—")


async def people_params(turn: Turn[Registration]) -> Mapping[str, Any]:
    return {"count": len(turn.data.people)}


async def people_page(turn: Turn[Registration], text: Html, params: Mapping[str, Any]) -> list[Html]:
    lines = [str(params["step"]), text, *(person_line(turn.lang, p) for p in turn.data.people)]
    return [Html("\n".join(lines))]


def more_buttons(turn: Turn[Registration]) -> list[InlineKeyboardButton]:
    add = [kb.button(turn.text("register.add_person"), cb.Rg.MORE.encode("add"))] \
        if len(turn.data.people) < NAMED_MAX else []
    return [*add, kb.button(turn.text("register.people_done"), cb.Rg.MORE.encode("done"))]


async def pick_more(turn: Turn[Registration], choice: str) -> str | None:
    if choice == "add" and len(turn.data.people) < NAMED_MAX:
        return P_NAME
    if len(turn.data.people) <= 1:
        turn.data.people_count = None
    return None


def parse_count(turn: Turn[Registration], text: str) -> int:
    named = len(turn.data.people)
    if not text.isdigit() or len(text) > 6 or not named <= int(text) <= PEOPLE_MAX:
        raise Hint("errors.ledger_people_count", least=max(named, 1), most=PEOPLE_MAX)
    return int(text)


async def count_params(turn: Turn[Registration]) -> Mapping[str, Any]:
    return {"n": len(turn.data.people), "max": PEOPLE_MAX}


def count_named_button(turn: Turn[Registration]) -> list[InlineKeyboardButton]:
    return [kb.button(turn.text("register.count_named", n=len(turn.data.people)), cb.Rg.COUNT_NAMED.encode())]


async def pick_count_named(turn: Turn[Registration]) -> None:
    turn.data.people_count = len(turn.data.people) or None


# --------------------------------------------------------------- category, unit


def category_buttons(turn: Turn[Any]) -> list[InlineKeyboardButton]:
    return [kb.button(c.name.get(turn.lang), cb.Rg.CATEGORY.encode(c.id)) for c in turn.d.org.categories]


async def pick_category(turn: Turn[Registration], category_id: str) -> str | None:
    org = turn.d.org
    category = org.find_category(category_id)
    if category is None:
        return CATEGORY
    previous = org.find_category(turn.data.category or "")
    turn.data.category = category.id
    # A report (检举控告) is confidential unless the staff member chooses otherwise (Art. 30).
    if category.kind is CategoryKind.REPORT and (previous is None or previous.kind is not CategoryKind.REPORT):
        turn.data.confidential = None
    return None






def unit_rows(turn: Turn[Any]) -> list[list[InlineKeyboardButton]]:
    """Only units in the caller's scope, and the units above them to get there."""
    org, here = turn.d.org, browsed(turn)
    allowed = turn.d.ledger.registerable_units(turn.d.cases.actor(turn.user_id))
    children = [u for u in (org.children(here) if here else org.roots()) if org.subtree(u.id) & allowed]
    rows = []
    if here and here in allowed:
        rows.append([kb.button(turn.text("intake.unit_here", name=org.unit(here).name.get(turn.lang)),
                               cb.Rg.UNIT_HERE.encode(here))])
    return rows + kb.grid(kb.button(u.name.get(turn.lang), cb.Rg.UNIT.encode(u.id)) for u in children)










# --------------------------------------------------------------- texts, files, secrecy




async def attach(turn: Turn[Registration], message: Message) -> Html:
    """A scan or photo of the letter (the intake's attachment handling)."""
    attachment = media.attachment_of(message)
    if attachment is None:
        raise Hint("register.files_hint")
    refused = media.attachment_refused(turn.lang, attachment, len(turn.data.attachments))
    if refused is not None:
        raise Hint.said(refused)
    turn.data.attachments.append(attachment)
    return turn.text("intake.attachment_added", count=len(turn.data.attachments))


async def files_params(turn: Turn[Any]) -> Mapping[str, Any]:
    return {"max": ATTACHMENTS_MAX}


def files_done(turn: Turn[Registration]) -> list[InlineKeyboardButton]:
    return [kb.button(turn.text("common.done" if turn.data.attachments else "common.skip"),
                      cb.Rg.FILES_DONE.encode())]


async def pick_files_done(turn: Turn[Registration]) -> None:
    return None


async def secrecy_page(turn: Turn[Registration], text: Html, params: Mapping[str, Any]) -> list[Html]:
    category = turn.d.org.find_category(turn.data.category or "")
    if category is not None and category.kind is CategoryKind.REPORT:
        return [Html(text + "\n" + turn.text("register.secrecy_report_default"))]
    return [text]


def secrecy_rows(turn: Turn[Registration]) -> list[list[InlineKeyboardButton]]:
    current = turn.d.ledger.confidential(turn.data)
    rows = []
    for value, key in (("real", "register.secrecy_real"), ("conf", "register.secrecy_confidential")):
        label = turn.text(key)
        if (value == "conf") == current:
            label = turn.text("intake.chosen", label=label)
        rows.append([kb.button(label, cb.Rg.SECRECY.encode(value))])
    return rows


async def pick_secrecy(turn: Turn[Registration], choice: str) -> None:
    turn.data.confidential = choice == "conf"


# --------------------------------------------------------------- the review


def summary(data: Registration, org: Organization, lang: str, accept_days: int) -> list[Html]:
    """The review: every field entered, escaped, in as many messages as the details need."""
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
                     Html("\n" + "\n".join(person_line(lang, p) for p in data.people))))
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


async def review_pages(turn: Turn[Registration], text: Html, params: Mapping[str, Any]) -> list[Html]:
    """The review's messages: the heading with the facts, the details over as many as they need, the hint last."""
    d, lang = turn.d, turn.lang
    turn.data.confidential = d.ledger.confidential(turn.data)
    parts = summary(turn.data, d.org, lang, d.org.deadlines.accept_days)
    pages = [Html(text + "\n\n" + parts[0]), *parts[1:]]
    pages[-1] = Html(pages[-1] + "\n\n" + t(lang, "register.review_hint"))
    return pages


async def submit(turn: Turn[Registration]) -> int:
    """The one store call; a refusal (out of the caller's scope) leaves the draft at the review."""
    d = turn.d
    done = await d.ledger.register(d.cases.actor(turn.user_id), turn.data, from_draft=True)
    await receipt(turn.update, turn.context, done, turn.lang)
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


async def submitted_again(update: Update, context: Context, key: str) -> None:
    """A Submit whose registration is gone: registered already (the codes were on the first receipt)."""
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    d = deps(context)
    case = await d.ledger.case_by_registration(d.cases.actor(user.id), key)
    if case is None:
        await send(update, context, t(lang, "common.expired_button"))
    else:
        await send(update, context, t(lang, "register.already", number=case.number))


# --------------------------------------------------------------- the form

FORM: Form[Registration] = Form(
    Conversation.REGISTER,
    texts="register",
    buttons=Buttons(back=cb.Rg.BACK, cancel=cb.Rg.CANCEL, submit=cb.Rg.SUBMIT, keep=cb.Rg.SKIP, edit=cb.Rg.EDIT,
                    resume=cb.Rg.CONTINUE, restart=cb.Rg.RESTART),
    steps=[
        Step(CHANNEL, CHOICE, "register.ask_channel", options=channel_buttons, columns=3,
             choices={cb.Rg.CHANNEL: pick_channel}),
        Step(REF, TEXT, "register.ask_ref", parse=parse_ref, into="external_ref", limit=EXTERNAL_REF_MAX,
             part_of=CHANNEL),
        Step(RECEIVED, TEXT, "register.ask_received", parse=parse_received, into="received_on",
             params=received_params, options=today_button, choices={cb.Rg.TODAY: pick_today},
             expected="register.date_invalid"),
        Step(WHO, CHOICE, "register.ask_who", options=who_buttons, columns=1, choices={cb.Rg.WHO: pick_who}),
        Step(P_NAME, TEXT, name_question, parse=parse_name, put=add_person, params=name_params, part_of=WHO,
             back_to=name_back),
        person_field(P_PHONE),
        person_field(P_EMPLOYEE),
        person_field(P_UNIT),
        Step(P_MORE, CHOICE, "register.people_so_far", params=people_params, pages=people_page,
             options=more_buttons, columns=1, choices={cb.Rg.MORE: pick_more}, part_of=WHO),
        Step(COUNT, TEXT, "register.ask_count", parse=parse_count, into="people_count", params=count_params,
             options=count_named_button, choices={cb.Rg.COUNT_NAMED: pick_count_named}, part_of=WHO),
        Step(CATEGORY, CHOICE, "intake.choose_category", options=category_buttons,
             choices={cb.Rg.CATEGORY: pick_category}),
        Step(UNIT, CHOICE, "register.ask_unit", params=unit_params, rows=unit_rows, back_to=unit_back,
             choices={cb.Rg.UNIT: pick_unit, cb.Rg.UNIT_HERE: pick_unit_here}, screen=(BROWSING,)),
        Step(SUBJECT, TEXT, "register.ask_subject", limit=SUBJECT_MAX,
             parse=text_of(SUBJECT_MAX, "intake.subject_too_long")),
        Step(DETAILS, TEXT, "register.ask_details", limit=DETAILS_MAX,
             parse=text_of(DETAILS_MAX, "intake.details_too_long")),
        Step(FILES_STEP, FILES, "register.ask_files", params=files_params, attach=attach,
             options=files_done, columns=1, choices={cb.Rg.FILES_DONE: pick_files_done},
             expected="register.files_hint"),
        Step(SECRECY, CHOICE, "register.ask_secrecy", pages=secrecy_page, rows=secrecy_rows,
             choices={cb.Rg.SECRECY: pick_secrecy}),
        Step(REVIEW_STEP, REVIEW, "register.review", pages=review_pages, back=False, edits=EDITABLE,
             edit_columns=3),
    ],
    order=order,
    counted=lambda data: STEPS,
    submit=submit,
    model=Registration,
    key=lambda data: data.registration_id,
    keys={"text_expected": "intake.text_expected", "button_expected": "intake.button_expected",
          "text_empty": "intake.text_empty", "command_in_step": "common.unknown_command",
          "edited": "intake.edited_ignored", "continue": "intake.continue", "restart": "intake.restart",
          "resumed": "intake.resumed"},
    staff_only=True,
    back_to_review=True,
    answer_edits=True,
    commands_wait=False,
    ask_after_command=False,
    cancel_in_place=True,
    resubmitted=submitted_again,
)


async def begin(update: Update, context: Context, actor: Any) -> str | int:
    """/register: start a registration, or offer to continue the one in progress."""
    return await FORM.open(update, context, Registration(), CHANNEL)


start = FORM.staff_entry(begin)


async def no_longer_a_draft(update: Update, context: Context) -> bool:
    """继续登记 on an old offer whose registration is no longer a draft: said so, with a button to register
    another, instead of a new registration begun at its first step. It may have been submitted (its receipt
    lost with a stopped process): the same letter must not be registered twice unnoticed."""
    lang = await lang_of(update, context)
    await send(update, context, t(lang, "register.draft_gone"),
               kb.markup([[kb.button(t(lang, "register.another"), cb.Rg.RESTART.encode())]]))
    return True


def build() -> ConvHandler:
    return FORM.build(entry_points=[CommandHandler("register", start, filters=PRIVATE),
                                    *FORM.resume_entries(Registration, CHANNEL, first=no_longer_a_draft)])


def outside_conversation() -> list[Handler]:
    """After the conversation: a redelivered Submit."""
    return FORM.after_end()
