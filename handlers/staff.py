"""The officers' commands and case-card buttons.

Handlers check only that the caller is staff; whether the case is in their
scope and whether the action is legal now is the store's decision, and a
case outside one's scope answers exactly like a case that does not exist.
The menus behind the card's buttons (assign, reply, extend, decide,
transfer) are in :mod:`handlers.staff_work`.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import CommandHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers import ledger
from handlers import staff_work as menus
from handlers.common import (
    Context,
    Deps,
    Handler,
    answer_query,
    deps,
    lang_of,
    send,
    send_list,
    show,
    show_list,
    staff_caller,
)
from handlers.fallback import stale_button
from handlers.i18n import Html, t
from handlers.refusals import answers_refusals
from handlers.render import (
    case_card,
    day,
    event_label,
    moment,
    split_text,
    status_name,
    unit_path,
    warning_prefix,
)
from store.event_data import (
    AssignData,
    DecideData,
    EventData,
    ExtendData,
    HearingData,
    HearingEndData,
    ReviewOpinionData,
    TransferData,
    UnitData,
    data_of,
)
from store.models import Actor, ActorRole, Case, Event
from store.org import Organization
from store.workflow import Action

log = logging.getLogger(__name__)

done_text = menus.done_text


def _words(update: Update, count: int) -> list[str]:
    """The command's first ``count`` words after the command; the rest as typed (newlines kept)."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    return text.split(maxsplit=count)[1:]


@answers_refusals()
async def _run(
    update: Update, context: Context, caller: tuple[Actor, str], action: Action, call: object
) -> Case | None:
    """Await one store call and tell the caller the outcome in their language."""
    actor, lang = caller
    await answer_query(update)
    case: Case = await call  # type: ignore[misc]
    await send(update, context, done_text(lang, deps(context).org, actor, action, case))
    return case


async def _act(
    update: Update, context: Context, caller: tuple[Actor, str], number: str, action: Action,
    **kwargs: object,
) -> None:
    """Run one store action for a staff caller; a tapped card's buttons then follow the new status."""
    d = deps(context)
    case = await _run(update, context, caller, action, d.cases.act(caller[0], number, action, **kwargs))  # type: ignore[arg-type]
    if case is not None and update.callback_query is not None:
        await _refresh_buttons(update, context, caller[0], case)


async def _refresh_buttons(update: Update, context: Context, actor: Actor, case: Case) -> None:
    """After a tap on a case card, the card shows the new status and its buttons follow it.

    A card long enough to need several messages keeps its text (the status
    line is in an earlier message); only its buttons change.
    """
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    d = deps(context)
    lang = await lang_of(update, context)
    repeats = await d.repeats.candidates(actor, case)
    markup = kb.staff_card(lang, case.number, d.cases.offered(actor, case), canned=bool(d.org.canned_replies),
                           repeats=repeats)
    files = await d.cases.attachments(case.id)
    parts = case_card(case, d.org, lang, header=t(lang, "staff.card_header"), attachments=len(files),
                      warned=await d.supervision.card_state(case), cohandler=d.cases.cohandles_only(actor, case),
                      related=await d.links.related(actor, case), repeats=repeats)
    try:
        if len(parts) == 1:
            await query.edit_message_text(parts[0], parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            await query.edit_message_reply_markup(markup)
    except BadRequest as error:  # "message is not modified", or too old to edit
        log.debug("card not refreshed: %s", error)


async def on_accept(update: Update, context: Context, number: str) -> None:
    caller = await staff_caller(update, context)
    if caller is not None:
        await _act(update, context, caller, number, Action.ACCEPT)


async def on_open(update: Update, context: Context, number: str) -> None:
    caller = await staff_caller(update, context)
    if caller is not None:
        await answer_query(update)
        await _show_card(update, context, caller, number)


async def on_assign_me(update: Update, context: Context, number: str) -> None:
    caller = await staff_caller(update, context)
    if caller is not None:
        await _act(update, context, caller, number, Action.ASSIGN, assignee_id=caller[0].id)


# ------------------------------------------------------------------ commands


async def accept(update: Update, context: Context) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    words = _words(update, 1)
    if not words:
        await send(update, context, t(caller[1], "staff.usage_accept"))
        return
    await _act(update, context, caller, words[0][:40], Action.ACCEPT)


async def assign(update: Update, context: Context) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    words = _words(update, 2)
    if not words:
        await send(update, context, t(caller[1], "work.usage_assign"))
        return
    if len(words) == 1:
        await menus.assign_menu(update, context, caller, words[0][:40])
        return
    d = deps(context)
    await _run(update, context, caller, Action.ASSIGN, d.staff_work.assign_to(caller[0], words[0][:40], words[1]))


async def reply(update: Update, context: Context) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    words = _words(update, 2)
    if not words:
        await send(update, context, t(caller[1], "work.usage_reply"))
        return
    if len(words) == 1:
        await menus.reply_menu(update, context, caller, words[0][:40])
        return
    await _act(update, context, caller, words[0][:40], Action.REPLY, body=words[1])


async def note(update: Update, context: Context) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    words = _words(update, 2)
    if len(words) < 2:
        await send(update, context, t(caller[1], "work.usage_note"))
        return
    await _act(update, context, caller, words[0][:40], Action.NOTE, body=words[1])


async def extend(update: Update, context: Context) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    lang = caller[1]
    words = _words(update, 3)
    if len(words) == 1:
        await menus.extend_menu(update, context, caller, words[0][:40])
        return
    days = words[1].removesuffix("天") if len(words) > 1 else ""
    if len(words) < 3 or not days.isdigit() or len(days) > 3:
        limit = deps(context).org.deadlines.max_extension_days
        await send(update, context, t(lang, "work.usage_extend", limit=limit))
        return
    await _act(update, context, caller, words[0][:40], Action.EXTEND, days=int(days), body=words[2])


async def transfer(update: Update, context: Context) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    words = _words(update, 2)
    if len(words) == 1:
        await menus.transfer_menu(update, context, caller, words[0][:40])
        return
    if len(words) < 2:
        await send(update, context, t(caller[1], "work.usage_transfer"))
        return
    d = deps(context)
    await _run(update, context, caller, Action.TRANSFER, d.staff_work.transfer_to(caller[0], words[0][:40], words[1]))


async def case_command(update: Update, context: Context) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    words = _words(update, 1)
    if not words:
        await send(update, context, t(caller[1], "staff.usage_case"))
        return
    await _show_card(update, context, caller, words[0][:40])


@answers_refusals()
async def reveal(update: Update, context: Context) -> None:
    """/reveal <number> <reason>: the identity custodian reads a confidential reporter's identity."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    words = _words(update, 2)
    if len(words) < 2:
        await send(update, context, t(lang, "staff.usage_reveal"))
        return
    identity = await deps(context).cases.reveal(actor, words[0][:40], words[1])
    none = t(lang, "staff.reveal_none")
    await send(update, context, t(
        lang, "staff.revealed", number=identity.number, telegram_id=identity.telegram_id,
        name=identity.name or none, username=f"@{identity.username}" if identity.username else none,
        phone=identity.phone or none,
    ))


# ---------------------------------------------------------------- the card


@answers_refusals()
async def _show_card(update: Update, context: Context, caller: tuple[Actor, str], number: str) -> None:
    """The case card with its buttons and the full record; replying to it reaches the petitioner."""
    actor, lang = caller
    d = deps(context)
    case = await d.cases.case_for(actor, number)
    files = await d.cases.attachments(case.id)
    assignee = d.org.staff_member(case.assignee_id) if case.assignee_id is not None else None
    who = t(lang, "work.assignee", name=assignee.name) if assignee else t(lang, "work.unassigned")
    header = Html(t(lang, "staff.card_header") + "\n" + who)
    repeats = await d.repeats.candidates(actor, case)
    parts = case_card(case, d.org, lang, header=header, attachments=len(files),
                      warned=await d.supervision.card_state(case), cohandler=d.cases.cohandles_only(actor, case),
                      related=await d.links.related(actor, case), repeats=repeats)
    markup = kb.staff_card(lang, case.number, d.cases.offered(actor, case), canned=bool(d.org.canned_replies),
                           repeats=repeats)
    sent = []
    for index, part in enumerate(parts):
        sent.append(await send(update, context, part, markup if index == len(parts) - 1 else None))
    events = await d.cases.timeline(case.id, public_only=False)
    for chunk in staff_timeline(events, lang, d):
        sent.append(await send(update, context, chunk))
    chat = update.effective_chat
    assert chat is not None
    if chat.type == "private":
        await d.staff_work.remember_messages(chat.id, [m.message_id for m in sent], case.id)


TIMELINE_TEXT_MAX = 300


def staff_timeline(events: list[Event], lang: str, d: Deps) -> list[Html]:
    """The full record for staff: who did what, with the text of replies, notes and opinions."""
    lines = [t(lang, "cases.timeline_title")]
    for event in events:
        what = t(lang, event_label(event))
        detail = _event_detail(event, lang, d.org)
        if detail:
            what = t(lang, "work.timeline_detail", what=what, detail=detail)
        if event.actor_role is ActorRole.PETITIONER:
            who = t(lang, "work.who_petitioner")
        elif event.actor_role is ActorRole.SYSTEM:
            who = t(lang, "work.who_system")
        else:
            member = d.org.staff_member(event.actor_id) if event.actor_id is not None else None
            who = Html(member.name if member else str(event.actor_id))
        lines.append(t(lang, "work.timeline_entry", date=moment(event.at, d.tz), what=what, who=who))
        if event.body and event.action != "submit":
            text = event.body if len(event.body) <= TIMELINE_TEXT_MAX else event.body[:TIMELINE_TEXT_MAX] + "…"
            lines.append(t(lang, "work.timeline_text", text=text))
    # Each line is complete HTML, so splitting at line breaks keeps every tag whole.
    return [Html(chunk.rstrip("\n")) for chunk in split_text("\n".join(lines))]


def _event_detail(event: Event, lang: str, org: Organization) -> str | Html:
    record = data_of(event, EventData)
    if isinstance(record, DecideData | ReviewOpinionData):
        decision = t(lang, f"decision.{record.decision.value}")
        study = record.study if isinstance(record, ReviewOpinionData) else None
        if study is not None:  # 集体研究 of a 复查 / 复核 opinion
            names = "、".join(member.name if (member := org.staff_member(i)) else str(i) for i in study.by)
            stage = t(lang, "review.stage_rereview" if event.action == Action.REREVIEW_OPINION else "review.stage_review")
            return Html(decision + t(lang, "hearing.card_study", stage=stage, names=names, date=day(study.on, lang)))
        return decision
    if isinstance(record, HearingData):  # 听证: when and where; the clock stopped from the day it was scheduled
        return t(lang, "hearing.card_pending", date=day(record.on, lang), place=record.place,
                 stopped=day(record.stopped, lang))
    if isinstance(record, TransferData):
        return unit_path(org, record.to_unit, lang)
    if isinstance(record, UnitData):
        return unit_path(org, record.unit, lang)  # the co-handling unit (协办)
    if isinstance(record, AssignData):
        return record.assignee
    if isinstance(record, ExtendData | HearingEndData):
        return t(lang, "work.days", days=record.days)
    return ""


# ---------------------------------------------------------------- the queue


QUEUE_PAGE = 8


async def queue(update: Update, context: Context) -> None:
    await _queue_page(update, context, 0)


async def on_queue_page(update: Update, context: Context, page: int) -> None:
    await answer_query(update)
    await _queue_page(update, context, page)


async def _queue_page(update: Update, context: Context, page: int) -> None:
    """Open cases in the caller's scope, nearest deadline first, with a button each."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    cases, total = await d.cases.open_cases_for(actor, page * QUEUE_PAGE, QUEUE_PAGE)
    # Petitioners without Telegram to tell (handlers.ledger): below the first page of the queue.
    tasks = await ledger.queue_tasks(actor, d.services, lang) if page == 0 and d.services is not None else None
    if total == 0:
        await show(update, context, t(lang, "staff.queue_empty"))
        if tasks is not None:
            await send_list(update, context, *tasks)
        return
    lines = [t(lang, "staff.queue_title", total=total)]
    lines += [
        Html(warning_prefix(d.supervision.level_of(c), lang)
             + (str(t(lang, "cohandle.queue_mark")) if d.cases.cohandles_only(actor, c) else "")
             + t(lang, "staff.queue_item", number=c.number, status=status_name(c.status.value, lang),
                 due=day(c.answer_due or c.accept_due, lang), subject=c.subject))
        for c in cases
    ]
    rows = [[kb.button(c.number, cb.St.OPEN.encode(c.number))] for c in cases]
    pager = []
    if page > 0:
        pager.append(kb.button(t(lang, "common.prev_page"), cb.Queue.PAGE.encode(page - 1)))
    if (page + 1) * QUEUE_PAGE < total:
        pager.append(kb.button(t(lang, "common.next_page"), cb.Queue.PAGE.encode(page + 1)))
    await show_list(update, context, lines, kb.markup([*rows, pager]))
    if tasks is not None:
        await send_list(update, context, *tasks)


def handlers() -> list[Handler]:
    return [
        CommandHandler("accept", accept),
        CommandHandler("assign", assign),
        CommandHandler("reply", reply),
        CommandHandler("note", note),
        CommandHandler("extend", extend),
        CommandHandler("transfer", transfer),
        CommandHandler("case", case_command),
        CommandHandler("reveal", reveal),
        CommandHandler("queue", queue),
        cb.Queue.PAGE.handler(on_queue_page),
        cb.St.ACCEPT.handler(on_accept),
        cb.St.OPEN.handler(on_open),
        cb.St.ASSIGN_ME.handler(on_assign_me),
        cb.St.area.stale_handler(stale_button),
        cb.Queue.area.stale_handler(stale_button),
        *menus.handlers(),
    ]
