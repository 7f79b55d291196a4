"""After the written opinion, and the leaders' overview.

Petitioners: rating buttons (满意 / 基本满意 / 不满意), an optional comment,
review (复查) and re-review (复核) requests, accepting an outcome.
Leaders: the review card and ``/review``, ``/alerts`` with acknowledgement,
``/stats``, ``/export``, ``/history``. Reminders, escalations, alerts and
the weekly digest are outbox rows rendered by the ``*_notice`` functions below.

Every window, scope and threshold is the store's decision; handlers parse,
check that the caller is staff where needed, call one store method and
answer in the caller's language.
"""

from __future__ import annotations

import asyncio
import re

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.ext import CommandHandler

from handlers import callbacks as cb
from handlers import hearing, reports, review_opinion, supervision
from handlers import keyboards as kb
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
    staff_caller,
)
from handlers.fallback import stale_button_message
from handlers.i18n import Html, t
from handlers.prompts import PROMPTS, Prompt
from handlers.refusals import answers_refusals
from handlers.render import (
    category_name,
    day,
    moment,
    pack,
    split_text,
    status_name,
    unit_name,
)
from handlers.review_opinion import OUTCOME_BUTTONS, OUTCOME_CODES
from store.errors import Refused
from store.event_data import CloseData, RateData, ReviewOpinionData, data_of
from store.models import Actor, ActorRole, Case, Event, OutboxItem, Rating, ReviewOutcome
from store.notices import AlertParams, DeadlineParams, DigestParams, params_of
from store.review import CONTENT
from store.services import Services
from store.workflow import Action

Rendered = list[tuple[Html, InlineKeyboardMarkup | None]]

RATING_CODES = {"s": Rating.SATISFIED, "b": Rating.BASIC, "d": Rating.DISSATISFIED}
HISTORY_LIMIT = 20
LONG_RUNNING_SHOWN = 20
_PERIOD_ARG = re.compile(r"^\d{4}")


# ----------------------------------------------------------------- prompts

async def _comment(d: Deps, actor: Actor, number: str, text: str) -> Case:
    return await d.review.comment_rating(_as_petitioner(actor), number, text)


async def _request(d: Deps, actor: Actor, number: str, text: str) -> Case:
    return await d.review.request_review(_as_petitioner(actor), number, text)


async def _opinion_unused(d: Deps, actor: Actor, number: str, text: str) -> object:
    raise Refused("refused")  # never called: the retired outcome prompts answer through review_opinion.asked_before


def _as_petitioner(actor: Actor) -> Actor:
    """Petitioner buttons act as the petitioner, even for a staff member's own petition."""
    return Actor(id=actor.id, role=ActorRole.PETITIONER, name=actor.name)


# Typed answers after a button (handlers/prompts.py asks, then performs them).
PROMPTS.update(
    {
        "rvc": Prompt("review.ask_comment", "review.comment_done", _comment, False),
        "rvq": Prompt("review.ask_review_reason", "review.review_requested", _request, False),
        "rrq": Prompt("review.ask_rereview_reason", "review.rereview_requested", _request, False),
        # The outcome buttons open the 复查 / 复核 form (handlers/review_opinion.py); a question they asked
        # before it existed is answered with where to go now.
        **{
            code: Prompt(f"procedure.ask_outcome_{outcome.value}", "review.opinion_done", _opinion_unused, True,
                         receive=review_opinion.asked_before, asks=False)
            for code, outcome in OUTCOME_CODES.items()
        },
    }
)


# ----------------------------------------------------------------- keyboards

def rating_markup(lang: str, number: str) -> InlineKeyboardMarkup:
    return kb.markup([[
        kb.button(t(lang, "rating.satisfied"), cb.Rv.RATE.encode("s", number)),
        kb.button(t(lang, "rating.basic"), cb.Rv.RATE.encode("b", number)),
        kb.button(t(lang, "rating.dissatisfied"), cb.Rv.RATE.encode("d", number)),
    ]])


def next_step_markup(lang: str, number: str, level: int) -> InlineKeyboardMarkup:
    """Dissatisfied: ask for review (level 0) or re-review (level 1), or accept and close."""
    ask = ("review.request_review", cb.Pr.REVIEW_REQUEST.encode(number)) if level == 0 else (
        "review.request_rereview", cb.Pr.REREVIEW_REQUEST.encode(number))
    return kb.markup([
        [kb.button(t(lang, ask[0]), ask[1])],
        [kb.button(t(lang, "review.accept_outcome"), cb.Rv.ACCEPT_OUTCOME.encode(number))],
    ])


def comment_markup(lang: str, number: str) -> InlineKeyboardMarkup:
    return kb.markup([[kb.button(t(lang, "review.add_comment"), cb.Pr.COMMENT.encode(number))]])


def opinion_markup(lang: str, number: str, hearing_pending: bool = False) -> InlineKeyboardMarkup:
    """The reviewers' outcomes: 维持, 撤销, 变更, 责令重办; the hearing (听证) buttons; the case."""
    return kb.markup([
        [kb.button(t(lang, f"decision.{outcome.value}"), OUTCOME_BUTTONS[outcome].encode(number))
         for outcome in ReviewOutcome],
        hearing.hearing_row(lang, number, hearing_pending),
        [kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(number))],
    ])


def open_markup(lang: str, number: str) -> InlineKeyboardMarkup:
    return kb.markup([[kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(number))]])


# ------------------------------------------------------- petitioner buttons

@answers_refusals()
async def on_rate(update: Update, context: Context, code: str, number: str) -> None:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    rating = RATING_CODES[code]
    case = await deps(context).review.rate(Actor(id=user.id, role=ActorRole.PETITIONER), number, rating)
    name = t(lang, f"rating.{rating.value}")
    due = day(case.review_request_due, lang) if case.review_request_due else ""
    if rating in CONTENT:  # recorded; the right to ask for review stays (Art. 35)
        ask = [[kb.button(t(lang, "review.request_review"), cb.Pr.REVIEW_REQUEST.encode(case.number))]]
        await show(update, context, t(lang, "procedure.rated_right_kept", rating=name, number=case.number, due=due),
                   kb.markup([*ask, *comment_markup(lang, case.number).inline_keyboard]))
        return
    markup = next_step_markup(lang, case.number, 0)
    rows = [*markup.inline_keyboard, *comment_markup(lang, case.number).inline_keyboard]
    await show(update, context, t(lang, "review.rated_dissatisfied", number=case.number, due=due),
               kb.markup(rows))


@answers_refusals()
async def on_accept(update: Update, context: Context, number: str) -> None:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    case = await deps(context).review.accept_outcome(Actor(id=user.id, role=ActorRole.PETITIONER), number)
    await show(update, context, t(lang, "review.closed_by_you", number=case.number))


# ------------------------------------------------------------ staff commands



@answers_refusals()
async def history(update: Update, context: Context) -> None:
    """/history <number>: the petitioner's cases the caller may see (repeat petitions)."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    if not context.args:
        await send(update, context, t(lang, "review.usage_history"))
        return
    d = deps(context)
    cases = await d.review.case_history(actor, context.args[0][:40])
    lines = [t(lang, "review.history_title", total=len(cases))]
    lines += [
        t(lang, "review.history_item", number=c.number, date=moment(c.submitted_at, d.tz),
          status=status_name(c.status.value, lang), category=category_name(d.org, c.category, lang),
          unit=unit_name(d.org, c.unit, lang), subject=c.subject)
        for c in cases[:HISTORY_LIMIT]
    ]
    # Twenty subjects of emoji outgrow one message (Telegram counts UTF-16 units): as many as needed.
    for message in pack(lines):
        await send(update, context, message)


@answers_refusals()
async def alerts(update: Update, context: Context) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    view = await d.review.alerts_for(actor)
    warned, warned_total = await d.supervision.warned_cases(actor)
    incidents = [i for i in await d.incidents.open_incidents(actor) if not i.is_drill]
    if incidents:
        await send(update, context, t(lang, "incident.in_alerts", count=len(incidents)))
    if warned:
        await send_list(update, context, supervision.warned_list(warned, warned_total, d.org, lang), separator="\n")
    if not view.alerts and not view.long_running:
        if warned or incidents:
            return
        await send(update, context, t(lang, "leader.alerts_none"))
        return
    for alert in view.alerts:
        text = t(lang, "leader.alert_item", number=alert.number, unit=unit_name(d.org, alert.unit, lang),
                 category=category_name(d.org, alert.category, lang), people=alert.people,
                 date=moment(alert.created_at, d.tz), id=alert.id)
        markup = kb.markup([[kb.button(t(lang, "leader.ack"), cb.Ld.ACK.encode(alert.id)),
                             kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(alert.number))]])
        await send(update, context, text, markup)
    if view.long_running:
        today = deps(context).clock.now().astimezone(d.tz).date()
        lines = [t(lang, "leader.long_title", days=view.long_running_days, count=len(view.long_running))]
        lines += [
            t(lang, "leader.long_item", number=c.number, status=status_name(c.status.value, lang),
              days=(today - c.submitted_at.astimezone(d.tz).date()).days,
              unit=unit_name(d.org, c.unit, lang))
            for c in view.long_running[:LONG_RUNNING_SHOWN]
        ]
        if len(view.long_running) > LONG_RUNNING_SHOWN:
            lines.append(t(lang, "leader.long_more", count=len(view.long_running) - LONG_RUNNING_SHOWN))
        await send_list(update, context, lines, separator="\n")


@answers_refusals()
async def on_ack(update: Update, context: Context, alert_id: int) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    await answer_query(update)
    alert = await deps(context).review.acknowledge_alert(actor, alert_id)
    await show(update, context, t(lang, "leader.acknowledged", id=alert.id, number=alert.number))


def _unit_and_period(args: list[str]) -> tuple[str | None, str | None]:
    period = None
    words: list[str] = []
    for arg in args[:8]:
        if _PERIOD_ARG.match(arg) and period is None:
            period = arg[:20]
        else:
            words.append(arg)
    return (" ".join(words)[:64] or None), period


@answers_refusals()
async def stats(update: Update, context: Context) -> None:
    """/stats [unit] [period]: the indicators per unit, then the monthly trend as a chart."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    unit, period = _unit_and_period(context.args or [])
    report = await d.indicators.indicators(actor, unit, period)
    for message in reports.stats_text(report, d.org, lang):
        await send(update, context, message)
    png = await asyncio.to_thread(reports.chart_png, report, lang)
    names = ", ".join(unit_name(d.org, u, lang) for u in report.units)[:600]  # captions: 1,024 at most
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_photo(
        chat.id,
        InputFile(png, filename=f"trend-{report.period.label}.png"),
        caption=t(lang, "leader.chart_caption", unit=names, period=report.period.label),
        parse_mode="HTML",
    )


@answers_refusals()
async def export(update: Update, context: Context) -> None:
    """/export [period] [unit]: an .xlsx with the cases and the indicators."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    unit, period = _unit_and_period(context.args or [])
    data = await d.indicators.export_data(actor, unit, period)
    register = await d.screening.register_for_export(actor, data.report.period.end, unit)
    content = await asyncio.to_thread(reports.xlsx_bytes, data, d.org, lang, d.tz, register)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_document(
        chat.id,
        InputFile(content, filename=reports.export_filename(data.report.period.label, "xlsx")),
        caption=t(lang, "leader.export_caption", period=data.report.period.label, count=len(data.cases)),
        parse_mode="HTML",
    )


def handlers() -> list[Handler]:
    return [
        CommandHandler("history", history),
        CommandHandler("alerts", alerts),
        CommandHandler("stats", stats),
        CommandHandler("export", export),
        cb.Rv.RATE.handler(on_rate),
        cb.Rv.ACCEPT_OUTCOME.handler(on_accept),
        cb.Ld.ACK.handler(on_ack),
        cb.Rv.area.stale_handler(stale_button_message),
        cb.Ld.area.stale_handler(stale_button_message),
    ]


# ------------------------------------------------------------- notifications

async def _about_case(item: OutboxItem, store: Services) -> Case | None:
    """The row's case; None when it is gone."""
    return await store.cases.case_by_id(item.case_id) if item.case_id is not None else None


async def _about_event(item: OutboxItem, store: Services) -> tuple[Case, Event] | None:
    """The row's case and event; None when either is gone."""
    case = await _about_case(item, store)
    event = await store.cases.event(item.event_id) if item.event_id is not None and case else None
    if case is None or event is None:
        return None
    return case, event


async def digest_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``ld_digest``: the week's figures, to a leader."""
    p = params_of(item.kind, item.params, DigestParams)
    return [(t(lang, "leader.digest", week=p.week, received=p.received, decided=p.decided, closed=p.closed,
               repeats=p.repeats, overdue=p.overdue, long_running=p.long_running, alerts=p.alerts), None)]


async def rating_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``rv_rate``: the petitioner is asked to rate the opinion, unless they already did."""
    case = await _about_case(item, store)
    if case is None:
        return []
    if case.rating is not None or case.review_level > 0:
        return []
    due = day(case.rating_due, lang) if case.rating_due else ""
    return [(t(lang, "review.ask_rating", number=case.number, due=due), rating_markup(lang, case.number))]


async def reminder_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``rv_remind`` and ``rv_escalate``: a deadline near or passed, with the case to open."""
    case = await _about_case(item, store)
    if case is None:
        return []
    p = params_of(item.kind, item.params, DeadlineParams)
    stage = t(lang, f"review.stage_{p.stage}")
    key = {
        "before": "review.remind_before",
        "due": "review.remind_due",
        "escalate0": "review.escalate",
        "escalate1": "review.escalate_again",
    }[p.level]
    text = t(lang, key, number=case.number, unit=unit_name(store.org, case.unit, lang),
             category=category_name(store.org, case.category, lang), stage=stage,
             due=day(p.due, lang), days=p.overdue)
    return [(text, open_markup(lang, case.number))]


async def alert_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``ld_alert``: a collective petition, to a leader, with acknowledgement."""
    case = await _about_case(item, store)
    if case is None:
        return []
    org = store.org
    alert = await store.review.alert_by_id(params_of(item.kind, item.params, AlertParams).alert)
    if alert is None:
        return []
    # 同类问题预警 (cluster), a stated headcount (declared) or a registered 集体访 (visit): each its own words.
    kind = alert.reason if alert.reason in ("cluster", "declared", "visit") else "declared"
    reason = t(lang, f"procedure.alert.reason_{kind}", hours=org.monitoring.collective_hours,
               people=alert.people, number=case.number)
    markup = kb.markup([[kb.button(t(lang, "leader.ack"), cb.Ld.ACK.encode(alert.id)),
                         kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(case.number))]])
    return [(t(lang, "procedure.alert.notice", title=t(lang, f"procedure.alert.title_{kind}"),
               unit=unit_name(org, case.unit, lang), category=category_name(org, case.category, lang),
               reason=reason, ask=t(lang, f"procedure.alert.ask_{kind}")), markup)]


async def review_card_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``rv_review_card``: a review request, to the reviewers."""
    found = await _about_event(item, store)
    if found is None:
        return []
    case, event = found
    return await _review_card(case, event.body or "", store, lang)


async def petitioner_review_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``rv_petitioner``: a review opinion or the closing, to the petitioner."""
    found = await _about_event(item, store)
    if found is None:
        return []
    case, event = found
    return _petitioner_event(case, event, lang, store.org.deadlines.rereview_request_days)


async def staff_review_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``rv_staff``: the petitioner's rating or comment, or a review opinion, to the staff."""
    found = await _about_event(item, store)
    if found is None:
        return []
    case, event = found
    if event.action == Action.RATE:
        return [(t(lang, "review.rated_staff", number=case.number,
                   rating=t(lang, f"rating.{data_of(event, RateData).rating.value}")), None)]
    if event.action == "comment":
        parts = split_text(event.body or "")
        first: Rendered = [(t(lang, "review.comment_staff", number=case.number, text=parts[0]), None)]
        return first + [(Html(t(lang, "review.continued", text=part)), None) for part in parts[1:]]
    if event.action in (Action.REVIEW_OPINION, Action.REREVIEW_OPINION):
        stage = t(lang, "review.stage_review" if event.action == Action.REVIEW_OPINION else "review.stage_rereview")
        return [(t(lang, "review.opinion_staff", number=case.number, stage=stage,
                   decision=t(lang, f"decision.{data_of(event, ReviewOpinionData).decision.value}")), None)]
    return []


def _petitioner_event(case: Case, event: Event, lang: str, days: int) -> Rendered:
    action = event.action
    if action == Action.CLOSE:
        key = {"not_rated": "review.closed_not_rated", "window_closed": "review.closed_window"}.get(
            data_of(event, CloseData).reason, "review.closed")
        return [(t(lang, key, number=case.number), None)]
    if action not in (Action.REVIEW_OPINION, Action.REREVIEW_OPINION):
        return []
    data = data_of(event, ReviewOpinionData)
    decision = t(lang, f"decision.{data.decision.value}")
    parts = split_text(event.body or "")
    key = "review.review_opinion" if action == "review_opinion" else "review.rereview_opinion"
    out: Rendered = [(t(lang, key, number=case.number, decision=decision, text=parts[0]), None)]
    out += [(t(lang, "review.continued", text=part), None) for part in parts[1:]]
    if data.decision is ReviewOutcome.REDO:  # 责令重办: handled again, answered anew
        out.append((t(lang, "procedure.review_redo", number=case.number, due=day(data.answer_due or "", lang)), None))
    elif action == "review_opinion":
        # The 复核 window counts from receiving the review opinion (送达, Art. 36): a date once served.
        due = case.rereview_request_due if case.review_level == 1 else None
        text = (t(lang, "review.review_next", number=case.number, due=day(due, lang)) if due is not None
                else t(lang, "procedure.review_next_from_receipt", number=case.number, days=days))
        out.append((text, next_step_markup(lang, case.number, 1)))
    else:
        out.append((t(lang, "review.final_notice", number=case.number), None))
    return out


async def _review_card(case: Case, reason: str, services: Services, lang: str) -> Rendered:
    """For the reviewers: what is contested, the petitioner's reason, the opinion under review."""
    org = services.org
    rereview = case.review_level >= 2
    events = await services.cases.timeline(case.id, public_only=True)
    contested = next((e for e in reversed(events)
                      if e.action == ("review_opinion" if rereview else "decide")), None)
    decision = case.review_decision if rereview else case.decision
    due = case.rereview_due if rereview else case.review_due
    head = t(
        lang,
        "review.card",
        title=t(lang, "review.card_title_rereview" if rereview else "review.card_title_review"),
        number=case.number,
        category=category_name(org, case.category, lang),
        unit=unit_name(org, case.unit, lang),
        decision=t(lang, f"decision.{decision.value}") if decision else t(lang, "leader.na"),
        due=day(due, lang) if due else "",
    )
    out: Rendered = []
    reason_parts = split_text(reason)
    out.append((Html(head + "\n\n" + t(lang, "review.card_reason", text=reason_parts[0])), None))
    out += [(t(lang, "review.continued", text=part), None) for part in reason_parts[1:]]
    if contested is not None and contested.body:
        opinion_parts = split_text(contested.body)
        out.append((t(lang, "review.card_opinion", text=opinion_parts[0]), None))
        out += [(t(lang, "review.continued", text=part), None) for part in opinion_parts[1:]]
    last_text, _ = out[-1]
    out[-1] = (last_text, opinion_markup(lang, case.number, case.clock_stopped_on is not None))
    return out

