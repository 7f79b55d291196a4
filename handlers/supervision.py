"""Supervision (督办) in Telegram: graded warnings, /supervise, /progress, /urge and their notices.

The levels, who may order what and who is told are the store's
(``store.supervision``); this module parses the commands and words the
outcomes in the reader's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import Context, Deps, deps, error_text, send, staff_caller
from handlers.i18n import Html, t
from handlers.render import category_name, event_label, split_text, unit_name, warning_mark
from store.errors import StoreError
from store.models import Actor, Case, Event, OutboxItem
from store.org import Organization
from store.review import current_deadline
from store.services import Services
from store.supervision import SUPERVISE_DAYS_MAX, WarnedCase, WarningLevel

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
    p = item.params
    try:
        level = WarningLevel(str(p.get("level")))
    except ValueError:
        level = WarningLevel.WARNING
    text = t(lang, NOTICE_TEXTS.get(level, "warning.notify_warning"), number=case.number,
             unit=unit_name(store.org, case.unit, lang), category=category_name(store.org, case.category, lang),
             stage=t(lang, f"review.stage_{p.get('stage', 'answer')}"), used=p.get("used") or 0,
             due=p.get("due", ""), days=p.get("overdue", 0))
    return [(text, _open(lang, case.number))]


def warned_list(warned: list[WarnedCase], total: int, org: Organization, lang: str) -> Html:
    """/alerts: the cases under warning, one line each."""
    lines = [t(lang, "warning.alerts_title", count=total)]
    for item in warned:
        current = current_deadline(item.case)
        stage = t(lang, f"review.stage_{current[0].value}") if current else ""
        lines.append(t(lang, "warning.alerts_item", level=warning_mark(item.level, lang), number=item.case.number,
                       unit=unit_name(org, item.case.unit, lang), stage=stage,
                       due=current[1].isoformat() if current else ""))
    if total > len(warned):
        lines.append(t(lang, "warning.alerts_more", count=total - len(warned)))
    return Html("\n".join(lines))


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
    try:
        reply = await act(deps(context), actor, lang, *args)
    except StoreError as error:
        await send(update, context, error_text(lang, error))
        return
    await send(update, context, reply)


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
        return t(lang, "supervision.supervise_done", number=number.upper(), due=order.due.isoformat())

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
                 due=case.answer_due.isoformat() if case.answer_due else "")

    await _command(update, context, 2, "supervision.usage_redo", _number_and_text, act)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("supervise", supervise),
        CommandHandler("progress", progress),
        CommandHandler("urge", urge),
        CommandHandler("followup", followup),
        CommandHandler("lead", lead),
        CommandHandler("redo", redo),
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
    reason = item.params.get("reason")
    if reason in ("transfers", "repeats"):
        text = t(lang, "supervision.lift_notice", name=_name(store, item.params.get("by")), number=case.number,
                 unit=unit_name(store.org, case.unit, lang), category=category_name(store.org, case.category, lang),
                 due=item.params.get("due", ""),
                 reason=t(lang, f"supervision.lift_{reason}", count=item.params.get("count", 0)))
        return [(text, _open(lang, case.number))]
    text = t(lang, "supervision.order_notice", name=_name(store, item.params.get("by")), number=case.number,
             unit=unit_name(store.org, case.unit, lang), category=category_name(store.org, case.category, lang),
             due=item.params.get("due", ""), instruction=split_text(event.body or "")[0])
    return [(text, _open(lang, case.number))]


async def progress_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_progress``: the handler's progress report, to the supervising leader."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    text = t(lang, "supervision.progress_notice", name=_name(store, item.params.get("by")), number=case.number,
             text=split_text(event.body or "")[0])
    return [(text, _open(lang, case.number))]


async def urge_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_urge``: 催办, to the handler."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    name = _name(store, item.params.get("by"))
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
    p = item.params
    key = "supervision.overdue_escalate" if p.get("level") == "escalate" else "supervision.overdue_remind"
    text = t(lang, key, name=_name(store, p.get("by")), number=case.number,
             unit=unit_name(store.org, case.unit, lang), due=p.get("due", ""), days=p.get("overdue", 0))
    return [(text, _open(lang, case.number))]


async def lead_event_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_lead_event``: an event of a case under a leader's charge (领导包案), to that leader."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    unit = unit_name(store.org, case.unit, lang)
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
