"""Supervision (督办) in Telegram: graded warnings, /supervise, /progress, /urge and their notices.

The levels, who may order what and who is told are the store's
(``store.supervision``); this module parses the commands and words the
outcomes in the reader's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import Context, Deps, Handler, answer_query, deps, send, show, staff_caller
from handlers.fallback import stale_button
from handlers.i18n import Html, t
from handlers.refusals import answers_refusals
from handlers.render import category_name, day, event_label, split_text, unit_name, unit_path, warning_mark
from store.event_data import LeadData, data_of
from store.models import Actor, Case, Event, OutboxItem
from store.notices import (
    ByParams,
    CohandleParams,
    LeadEventParams,
    OrderOverdueParams,
    OrderParams,
    WarningParams,
    params_of,
)
from store.org import Organization
from store.review import current_deadline
from store.services import Services
from store.supervision import SUPERVISE_DAYS_MAX, WarnedCase, WarningLevel
from store.workflow import Action

# The follow-up's way (回访方式), as typed: the store's words, or the office's Chinese ones.
FOLLOW_UP_WORDS = {
    "phone": "phone", "电话": "phone", "电话回访": "phone",
    "visit": "visit", "走访": "visit", "上门": "visit", "上门走访": "visit",
    "chat": "chat", "面谈": "chat", "约谈": "chat", "当面": "chat",
}

Rendered = list[tuple[Html, InlineKeyboardMarkup | None]]

NOTICE_TEXTS = {
    WarningLevel.WARNING: "warning.notify_warning",
    WarningLevel.SERIOUS: "warning.notify_serious",
    WarningLevel.OVERDUE: "warning.notify_overdue",
}


async def warning_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_warning``: a case entered 警告, 严重警告 or 超期, with the case to open."""
    case = await store.cases.case_by_id(item.case_id) if item.case_id is not None else None
    if case is None:
        return []
    p = params_of(item.kind, item.params, WarningParams)
    try:
        level = WarningLevel(p.level)
    except ValueError:
        level = WarningLevel.WARNING
    text = t(lang, NOTICE_TEXTS.get(level, "warning.notify_warning"), number=case.number,
             unit=unit_name(store.org, case.unit, lang), category=category_name(store.org, case.category, lang),
             stage=t(lang, f"review.stage_{p.stage}"), used=p.used or 0, due=day(p.due, lang), days=p.overdue)
    return [(text, _open(lang, case.number))]


def warned_list(warned: list[WarnedCase], total: int, org: Organization, lang: str) -> list[Html]:
    """/alerts: the cases under warning, one line each (blocks of a list: ``send_list``)."""
    lines = [t(lang, "warning.alerts_title", count=total)]
    for item in warned:
        current = current_deadline(item.case)
        stage = t(lang, f"review.stage_{current[0].value}") if current else ""
        lines.append(t(lang, "warning.alerts_item", level=warning_mark(item.level, lang), number=item.case.number,
                       unit=unit_name(org, item.case.unit, lang), stage=stage,
                       due=day(current[1], lang) if current else ""))
    if total > len(warned):
        lines.append(t(lang, "warning.alerts_more", count=total - len(warned)))
    return lines


# ------------------------------------------------------------- commands


def _words(update: Update, count: int) -> list[str]:
    """Up to ``count`` pieces after the command, the last one the rest as typed (newlines kept)."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    return text.split(maxsplit=count)[1:]


# A command's words as its store call takes them, or None: the usage is shown instead.
Parse = Callable[[list[str]], "tuple[Any, ...] | None"]
# The store call, and the confirmation to send: (deps, actor, lang, *parsed words) -> text.
Act = Callable[..., Awaitable[Html]]


@answers_refusals()
async def _command(update: Update, context: Context, count: int, usage: str, parse: Parse, act: Act) -> None:
    """One staff command: staff only; the usage for words it cannot take; a refusal in the caller's words."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    args = parse(_words(update, count))
    if args is None:
        await send(update, context, t(lang, usage, limit=SUPERVISE_DAYS_MAX))
        return
    await send(update, context, await act(deps(context), actor, lang, *args))


def _number_and_text(words: list[str]) -> tuple[str, str] | None:
    return (words[0][:40], words[1]) if len(words) >= 2 else None


async def supervise(update: Update, context: Context) -> None:
    """/supervise <number> <days> <instruction>: a supervision order (督办) by a leader above the unit."""

    def parse(words: list[str]) -> tuple[str, int, str] | None:
        days = words[1].removesuffix("天") if len(words) > 1 else ""
        if len(words) < 3 or not days.isdigit() or len(days) > 3:
            return None
        return words[0][:40], int(days), words[2]

    async def act(d: Deps, actor: Actor, lang: str, number: str, days: int, instruction: str) -> Html:
        order = await d.supervision.supervise(actor, number, days, instruction)
        return t(lang, "supervision.supervise_done", number=number.upper(), due=day(order.due, lang))

    await _command(update, context, 3, "supervision.usage_supervise", parse, act)


async def progress(update: Update, context: Context) -> None:
    """/progress <number> <text>: the handler reports progress (to the supervising leader)."""

    async def act(d: Deps, actor: Actor, lang: str, number: str, text: str) -> Html:
        case = await d.supervision.progress(actor, number, text)
        return t(lang, "supervision.progress_done", number=case.number)

    await _command(update, context, 2, "supervision.usage_progress", _number_and_text, act)


async def urge(update: Update, context: Context) -> None:
    """/urge <number> [text]: 催办, a recorded nudge to the handler."""

    def parse(words: list[str]) -> tuple[str, str | None] | None:
        return (words[0][:40], words[1] if len(words) > 1 else None) if words else None

    async def act(d: Deps, actor: Actor, lang: str, number: str, text: str | None) -> Html:
        case = await d.supervision.urge(actor, number, text)
        return t(lang, "supervision.urge_done", number=case.number)

    await _command(update, context, 2, "supervision.usage_urge", parse, act)


async def followup(update: Update, context: Context) -> None:
    """/followup <number> phone|visit|chat <result>: 回访 after the written opinion, recorded."""

    def parse(words: list[str]) -> tuple[str, str, str] | None:
        method = FOLLOW_UP_WORDS.get(words[1].lower()) if len(words) > 1 else None
        return (words[0][:40], method, words[2]) if len(words) >= 3 and method is not None else None

    async def act(d: Deps, actor: Actor, lang: str, number: str, method: str, result: str) -> Html:
        case = await d.supervision.follow_up(actor, number, method, result)
        return t(lang, "supervision.followup_done", number=case.number,
                 method=t(lang, f"supervision.followup_{method}"))

    await _command(update, context, 3, "supervision.usage_followup", parse, act)


async def lead(update: Update, context: Context) -> None:
    """/lead <number> [leader]: 领导包案, the caller takes charge or a higher leader names the leader."""

    def parse(words: list[str]) -> tuple[str, str | None] | None:
        return (words[0][:40], words[1][:100] if len(words) > 1 else None) if words else None

    async def act(d: Deps, actor: Actor, lang: str, number: str, who: str | None) -> Html:
        case, leader = await d.supervision.take_lead(actor, number, who)
        key = "supervision.lead_taken" if leader.telegram_id == actor.id else "supervision.lead_given"
        return t(lang, key, number=case.number, name=leader.name)

    await _command(update, context, 2, "supervision.usage_lead", parse, act)


async def redo(update: Update, context: Context) -> None:
    """/redo <number> <reason>: 重办 after 不满意, by a leader in scope."""

    async def act(d: Deps, actor: Actor, lang: str, number: str, reason: str) -> Html:
        case = await d.supervision.redo(actor, number, reason)
        return t(lang, "supervision.redo_done", number=case.number,
                 due=day(case.answer_due, lang) if case.answer_due else "")

    await _command(update, context, 2, "supervision.usage_redo", _number_and_text, act)


async def cohandle(update: Update, context: Context) -> None:
    """/cohandle <number> <unit> [note]: 协办, a unit co-handles the case; ``off`` ends it; the number alone: the tree."""
    words = _words(update, 2)
    if len(words) == 1:
        await on_cohandle(update, context, words[0][:40])
        return

    async def act(d: Deps, actor: Actor, lang: str, number: str, rest: str) -> Html:
        case, unit, added = await d.supervision.cohandle_text(actor, number, rest)
        name = unit_name(d.org, unit, lang)
        if not added:
            return t(lang, "cohandle.off_done", number=case.number, unit=name)
        return t(lang, "cohandle.done", number=case.number, unit=name, lead=unit_name(d.org, case.unit, lang))

    await _command(update, context, 2, "cohandle.usage", _number_and_text, act)


# ------------------------------------------------------------- card buttons


async def _tap(update: Update, context: Context) -> tuple[Actor, str] | None:
    caller = await staff_caller(update, context)
    if caller is not None:
        await answer_query(update)
    return caller


@answers_refusals()
async def _store_call(update: Update, context: Context, lang: str, call: Awaitable[Html]) -> None:
    await send(update, context, await call)


async def on_urge(update: Update, context: Context, number: str) -> None:
    """催办 from the card: a recorded nudge without a text (``/urge`` takes one)."""
    caller = await _tap(update, context)
    if caller is None:
        return
    actor, lang = caller

    async def call() -> Html:
        case = await deps(context).supervision.urge(actor, number)
        return t(lang, "supervision.urge_done", number=case.number)

    await _store_call(update, context, lang, call())


async def on_lead(update: Update, context: Context, number: str) -> None:
    """领导包案 from the card: the caller takes charge (``/lead <no> <leader>`` gives it to another)."""
    caller = await _tap(update, context)
    if caller is None:
        return
    actor, lang = caller

    async def call() -> Html:
        case, leader = await deps(context).supervision.take_lead(actor, number)
        return t(lang, "supervision.lead_taken", number=case.number, name=leader.name)

    await _store_call(update, context, lang, call())


@answers_refusals(None)
async def _checked(update: Update, context: Context, caller: tuple[Actor, str], number: str,
                   action: Action) -> Case | None:
    """The case if the caller may take ``action`` now (before a menu); else the refusal is sent."""
    return await deps(context).staff_work.check_action(caller[0], number, action)


def _cancel_row(lang: str) -> list[InlineKeyboardButton]:
    return [kb.button(t(lang, "common.cancel"), cb.Sf.CANCEL.encode())]


SUPERVISE_CHOICES = (3, 7, 15, 30)


async def on_supervise(update: Update, context: Context, number: str) -> None:
    """督办 from the card: the days to report progress in; the instruction is asked next (``pr:svi``)."""
    caller = await _tap(update, context)
    if caller is None or (case := await _checked(update, context, caller, number, Action.SUPERVISE)) is None:
        return
    lang = caller[1]
    buttons = [kb.button(t(lang, "work.days", days=days), cb.Pr.SUPERVISE.encode(case.number, days))
               for days in SUPERVISE_CHOICES]
    await send(update, context, t(lang, "buttons.choose_supervise_days", number=case.number),
               kb.markup([buttons, _cancel_row(lang)]))


async def on_follow_up(update: Update, context: Context, number: str) -> None:
    """回访 from the card: phone, visit or talk; the result is asked next (``pr:fui``)."""
    caller = await _tap(update, context)
    if caller is None or (case := await _checked(update, context, caller, number, Action.FOLLOW_UP)) is None:
        return
    lang = caller[1]
    buttons = [kb.button(t(lang, f"supervision.followup_{way}"), cb.Pr.FOLLOW_UP.encode(case.number, way))
               for way in ("phone", "visit", "chat")]
    await send(update, context, t(lang, "buttons.choose_followup", number=case.number),
               kb.markup([buttons, _cancel_row(lang)]))


async def on_cohandle(update: Update, context: Context, number: str, node: str | None = None,
                      edit: bool = False) -> None:
    """协办 from the card: the unit tree to choose from (the note is asked next), and the current ones to end."""
    caller = await _tap(update, context)
    if caller is None or (case := await _checked(update, context, caller, number, Action.COHANDLE)) is None:
        return
    lang = caller[1]
    org = deps(context).org
    roots = org.roots()
    if node is None and len(roots) == 1:
        node = roots[0].id
    unit = org.find_unit(node) if node else None
    if node and unit is None:
        await send(update, context, t(lang, "common.expired_button"))
        return
    taken = {case.unit, *case.cohandlers}
    rows: list[list[InlineKeyboardButton]] = []
    if unit is not None and unit.id not in taken:
        rows.append([kb.button(t(lang, "cohandle.pick_unit", unit=unit.name.get(lang)),
                               cb.Pr.COHANDLE.encode(case.number, unit.id))])
    buttons = []
    for child in org.children(unit.id) if unit is not None else roots:
        name = child.name.get(lang)
        if org.children(child.id):
            buttons.append(kb.button(t(lang, "work.open_unit", unit=name),
                                     cb.Sv.COHANDLE_UNIT.encode(case.number, child.id)))
        elif child.id not in taken:
            buttons.append(kb.button(name, cb.Pr.COHANDLE.encode(case.number, child.id)))
    rows += kb.grid(buttons)
    rows += [[kb.button(t(lang, "buttons.cohandle_off", unit=unit_name(org, u, lang)),
                        cb.Sv.COHANDLE_OFF.encode(case.number, u))] for u in case.cohandlers]
    back = []
    if unit is not None and (unit.parent is not None or len(roots) > 1):
        back.append(kb.button(t(lang, "work.up"), cb.Sv.COHANDLE_UNIT.encode(case.number, unit.parent or "")))
    rows.append([*back, *_cancel_row(lang)])
    text = t(lang, "cohandle.choose_unit", number=case.number, unit=unit_path(org, case.unit, lang))
    if edit:
        await show(update, context, text, kb.markup(rows))
    else:
        await send(update, context, text, kb.markup(rows))


async def on_cohandle_unit(update: Update, context: Context, number: str, node: str) -> None:
    await on_cohandle(update, context, number, node or None, edit=True)


async def on_cohandle_off(update: Update, context: Context, number: str, unit: str) -> None:
    """A co-handling unit ended from the menu: the same store call as ``/cohandle <no> <unit> off``."""
    caller = await _tap(update, context)
    if caller is None:
        return
    actor, lang = caller

    async def call() -> Html:
        case, found = await deps(context).supervision.cohandle_off(actor, number, unit)
        return t(lang, "cohandle.off_done", number=case.number, unit=unit_name(deps(context).org, found, lang))

    await _store_call(update, context, lang, call())


def handlers() -> list[Handler]:
    return [
        CommandHandler("supervise", supervise),
        CommandHandler("progress", progress),
        CommandHandler("urge", urge),
        CommandHandler("followup", followup),
        CommandHandler("lead", lead),
        CommandHandler("redo", redo),
        CommandHandler("cohandle", cohandle),
        cb.Sv.URGE.handler(on_urge),
        cb.Sv.LEAD.handler(on_lead),
        cb.Sv.SUPERVISE.handler(on_supervise),
        cb.Sv.FOLLOW_UP.handler(on_follow_up),
        cb.Sv.COHANDLE.handler(on_cohandle),
        cb.Sv.COHANDLE_UNIT.handler(on_cohandle_unit),
        cb.Sv.COHANDLE_OFF.handler(on_cohandle_off),
        cb.Sv.area.stale_handler(stale_button),
    ]


# ------------------------------------------------------------ notices


def _name(store: Services, staff_id: object) -> str:
    staff = store.org.staff_member(int(staff_id)) if isinstance(staff_id, int) else None
    return staff.name if staff is not None else "—"


async def _about(item: OutboxItem, store: Services) -> tuple[Case | None, Event | None]:
    """The case and the event a notice is about (either may be gone, or never set)."""
    case = await store.cases.case_by_id(item.case_id) if item.case_id is not None else None
    event = await store.cases.event(item.event_id) if item.event_id is not None else None
    return case, event


def _open(lang: str, number: str) -> InlineKeyboardMarkup:
    return kb.markup([[kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(number))]])


async def order_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_order``: a supervision order, to the handler and the unit's leaders."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    order = params_of(item.kind, item.params, OrderParams)
    if order.reason is not None:
        text = t(lang, "supervision.lift_notice", name=_name(store, order.by), number=case.number,
                 unit=unit_name(store.org, case.unit, lang), category=category_name(store.org, case.category, lang),
                 due=day(order.due, lang), reason=t(lang, f"supervision.lift_{order.reason}", count=order.count or 0))
        return [(text, _open(lang, case.number))]
    text = t(lang, "supervision.order_notice", name=_name(store, order.by), number=case.number,
             unit=unit_name(store.org, case.unit, lang), category=category_name(store.org, case.category, lang),
             due=day(order.due, lang), instruction=split_text(event.body or "")[0])
    return [(text, _open(lang, case.number))]


async def progress_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_progress``: the handler's progress report, to the supervising leader."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    text = t(lang, "supervision.progress_notice", name=_name(store, params_of(item.kind, item.params, ByParams).by),
             number=case.number,
             text=split_text(event.body or "")[0])
    return [(text, _open(lang, case.number))]


async def urge_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_urge``: 催办, to the handler."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    name = _name(store, params_of(item.kind, item.params, ByParams).by)
    if event.body:
        text = t(lang, "supervision.urge_notice_text", name=name, number=case.number,
                 text=split_text(event.body)[0])
    else:
        text = t(lang, "supervision.urge_notice", name=name, number=case.number)
    return [(text, _open(lang, case.number))]


async def overdue_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_overdue``: no progress by the day; a reminder to the handler, then the next level up."""
    case = await store.cases.case_by_id(item.case_id) if item.case_id is not None else None
    if case is None:
        return []
    p = params_of(item.kind, item.params, OrderOverdueParams)
    key = "supervision.overdue_escalate" if p.level == "escalate" else "supervision.overdue_remind"
    text = t(lang, key, name=_name(store, p.by), number=case.number,
             unit=unit_name(store.org, case.unit, lang), due=day(p.due, lang), days=p.overdue)
    return [(text, _open(lang, case.number))]


async def lead_event_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_lead_event``: an event of a case under a leader's charge (领导包案), to that leader."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    unit = unit_name(store.org, case.unit, lang)
    if event.action == "lead" and params_of(item.kind, item.params, LeadEventParams).replaced:
        text = t(lang, "supervision.lead_replaced", by=_name(store, event.actor_id),
                 name=_name(store, data_of(event, LeadData).leader), number=case.number, unit=unit,
                 category=category_name(store.org, case.category, lang))
        return [(text, _open(lang, case.number))]
    if event.action == "lead":
        text = t(lang, "supervision.lead_notice", name=_name(store, event.actor_id), number=case.number, unit=unit,
                 category=category_name(store.org, case.category, lang))
        return [(text, _open(lang, case.number))]
    if event.actor_role in ("officer", "leader", "admin"):
        who = _name(store, event.actor_id)
    else:
        who = t(lang, f"supervision.lead_by_{'petitioner' if event.actor_role == 'petitioner' else 'system'}")
    text = t(lang, "supervision.lead_event", number=case.number, unit=unit, who=who,
             what=t(lang, event_label(event)))
    if event.body:
        text = t(lang, "supervision.lead_event_text", head=text, text=split_text(event.body)[0])
    return [(text, _open(lang, case.number))]


async def cohandle_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_cohandle``: a co-handling unit (协办) named; to its officers, or to the lead unit's handler."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    p = params_of(item.kind, item.params, CohandleParams)
    names = {"name": _name(store, p.by), "number": case.number,
             "unit": unit_name(store.org, p.unit, lang), "lead": unit_name(store.org, case.unit, lang),
             "category": category_name(store.org, case.category, lang)}
    if p.role == "cohandler":
        text = t(lang, "cohandle.notice_cohandler", **names)
    else:
        text = t(lang, "cohandle.notice_lead", **{k: v for k, v in names.items() if k != "category"})
    if event.body:
        text = t(lang, "cohandle.notice_note", head=text, note=split_text(event.body)[0])
    return [(text, _open(lang, case.number))]
