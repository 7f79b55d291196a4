"""What the Mini App's API answers: store results turned into JSON for the page, in the reader's language.

No rule lives here. Who may see what is the store's (``read_scope``,
``may_see``, the indicators' leaders-only scope); what may be done to a case
is the store's (``offered``, and ``CaseService.act`` checks again); the
figures are ``IndicatorService.indicators``, the very numbers of ``/stats``.
This module only lays them out, with texts from the catalogs
(``handlers/texts/*/webapp.toml`` and the bot's own).

A confidential reporter is a code name in every answer: no petitioner id,
name, phone or employee number of such a case is ever put into one (and no
phone or Telegram id of anybody's: the page does not need them).
"""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

from handlers import media
from handlers.documents import file_name, render_pdf, title
from handlers.i18n import catalog, t
from handlers.render import (
    category_name,
    channel_name,
    day,
    deadline_line,
    event_label,
    item_name,
    moment,
    petitioner_label,
    status_name,
    unit_name,
    unit_path,
    warning_line,
)
from handlers.staff_work import done_text
from handlers.webapp_charts import score_svg, trend_svg
from store.assessment import AssessmentReport, assess
from store.desk import DeskQuery, DeskService
from store.document_kinds import DocumentKind
from store.errors import NoDocument, NoFile, Refused
from store.event_data import (
    AssignData,
    DecideData,
    EventData,
    ExtendData,
    HearingEndData,
    ReviewOpinionData,
    TransferData,
    data_of,
)
from store.indicators import StatsReport
from store.models import Actor, ActorRole, Attachment, Case, Decision, Event
from store.opinion import PART_MAX, DeclineGrounds, OpinionParts
from store.org import Role
from store.services import Services
from store.supervision import WarningLevel, warning_level
from store.workflow import Action

_TAG = re.compile(r"<[^>]+>")
#: The figures of a unit's row the dashboard shows (all of ``/stats``'s counts and rates).
RATES = ("accepted_on_time_pct", "answered_on_time_pct", "participation_pct", "satisfaction_pct",
         "followup_pct", "repeat_pct", "redo_pct")
COUNTS = ("received", "matters", "decided", "within_time", "overdue_now", "notice_now", "warning_now", "serious_now",
          "led", "led_closed", "repeats", "rated", "satisfied")
#: What the page offers as buttons (the rest stays in chat: transfer, co-handling, review ...).
PAGE_ACTIONS = (Action.ACCEPT, Action.ASSIGN, Action.REPLY, Action.NOTE, Action.EXTEND, Action.DECIDE,
                Action.DECLINE)
LIST_LIMIT = 10
#: Public events whose text the petitioner reads in chat too (the notice's reply, reason or opinion; their own
#: additions). Other public events show as in ``/mycases``: the date and what happened.
PETITIONER_TEXTS = frozenset({"reply", "decline", "extend", "decide", "add_info"})
MINE_LIMIT = 20


def plain(text: str) -> str:
    """Catalog HTML as plain text (the page sets it with ``textContent``)."""
    return html.unescape(_TAG.sub("", str(text)))


def page_texts(lang: str) -> dict[str, str]:
    """The page's own texts (``webapp.*``) in ``lang``, as plain templates the page fills."""
    return {key.removeprefix("webapp."): value for key, value in catalog(lang).items() if key.startswith("webapp.")}


def me(services: Services, actor: Actor, lang: str) -> dict[str, Any]:
    staff = services.org.staff_member(actor.id) if actor.id is not None else None
    return {
        "role": actor.role.value,
        "name": staff.name if staff else "",
        "lang": lang,
        "dashboard": staff is not None and staff.role in (Role.LEADER, Role.ADMIN),
        "desk": staff is not None,
        "mine": staff is None,  # an employee's own cases (/mycases)
        "units": [{"id": u.id, "name": unit_path(services.org, u.id, lang)} for u in services.org.units
                  if staff is not None and services.org.covers(staff, u.id)],
        "categories": [{"id": c.id, "name": c.name.get(lang)} for c in services.org.categories],
        "channels": [{"id": c, "name": plain(channel_name(services.org, c, lang))}
                     for c in ("telegram", "letter", "visit", "call", "online", "transfer")],
        "texts": page_texts(lang),
    }


# ------------------------------------------------------------------ cases


def case_summary(services: Services, actor: Actor, case: Case, lang: str) -> dict[str, Any]:
    org = services.org
    level = warning_level(case, org, services.supervision.today())
    due = case.answer_due if case.status.value in ("accepted", "in_progress") else case.accept_due
    return {
        "number": case.number,
        "subject": case.subject,
        "status": case.status.value,
        "status_name": plain(status_name(case.status.value, lang)),
        "unit": case.unit,
        "unit_name": unit_name(org, case.unit, lang),
        "category_name": category_name(org, case.category, lang),
        "channel_name": plain(channel_name(org, case.channel, lang)),
        "level": level.rank,
        "level_name": plain(t(lang, f"webapp.level_{level.rank}")),
        "due": due.isoformat() if due is not None and case.is_open else "",  # for machines; people read due_text
        "due_text": day(due, lang) if due is not None and case.is_open else "",
        "submitted": moment(case.submitted_at, services.tz),
        "petitioner": plain(petitioner_label(case, lang)),
        "confidential": case.identity_protected,
        "cohandle_only": services.cases.cohandles_only(actor, case),
    }


def _who(services: Services, event: Event, lang: str) -> str:
    if event.actor_role is ActorRole.PETITIONER:
        return plain(t(lang, "work.who_petitioner"))
    if event.actor_role is ActorRole.SYSTEM:
        return plain(t(lang, "work.who_system"))
    member = services.org.staff_member(event.actor_id) if event.actor_id is not None else None
    return member.name if member else ""


def _detail(services: Services, event: Event, lang: str) -> str:
    record = data_of(event, EventData)
    if isinstance(record, DecideData | ReviewOpinionData):
        return plain(t(lang, f"decision.{record.decision.value}"))
    if isinstance(record, TransferData):
        return unit_path(services.org, record.to_unit, lang)
    if isinstance(record, AssignData):
        return record.assignee
    if isinstance(record, ExtendData | HearingEndData):
        return plain(t(lang, "work.days", days=record.days))
    return ""


async def case_detail(services: Services, actor: Actor, number: str, lang: str) -> dict[str, Any]:
    """A case's card and whole record, as the caller may see it (NotFound otherwise).

    Anyone but staff gets their own case as ``/mycases`` shows it (:func:`own_case`), never the staff's card.
    """
    if not actor.is_staff:
        assert actor.id is not None
        return await own_case(services, actor.id, number, lang)
    case = await services.cases.case_for(actor, number)
    warned = await services.supervision.card_state(case)
    events = await services.cases.timeline(case.id, public_only=not actor.is_staff)
    files = await services.cases.attachments(case.id)
    assignee = services.org.staff_member(case.assignee_id) if case.assignee_id is not None else None
    offered = services.cases.offered(actor, case) if actor.is_staff else frozenset()
    timeline = []
    for event in events:
        entry = {
            "at": moment(event.at, services.tz),
            "what": plain(t(lang, event_label(event))),
            "detail": _detail(services, event, lang),
            "who": _who(services, event, lang),
            "text": event.body if event.body and event.action != "submit" else "",
        }
        timeline.append(entry)
    found = case_summary(services, actor, case, lang)
    found.update(
        details=case.details,
        desired_outcome=case.desired_outcome or "",
        people=case.people,
        unit_path=unit_path(services.org, case.unit, lang),
        deadline=plain(deadline_line(case, lang)),
        warning=plain(warning_line(warned, lang)),
        decision=plain(t(lang, f"decision.{case.decision.value}")) if case.decision else "",
        rating=plain(t(lang, f"rating.{case.rating}")) if case.rating else "",
        assignee=assignee.name if assignee else "",
        cohandlers=[unit_path(services.org, u, lang) for u in case.cohandlers],
        attachments=len(files),
        supervised=warned.order.instruction if warned.order is not None else "",
        timeline=timeline,
        # "Take it myself" is no choice for the one who has it already.
        actions=[a.value for a in PAGE_ACTIONS if a in offered and not (a is Action.ASSIGN and case.assignee_id == actor.id)],
        decisions=[{"id": d.value, "name": plain(t(lang, f"decision.{d.value}"))} for d in Decision],
        max_extension_days=services.org.deadlines.max_extension_days,
        # The written opinion's parts (Art. 32; the request offered from the case) and a decline's lists (诉访分离).
        request=case.desired_outcome or case.subject,
        decline_reasons=[{"id": r.id, "name": r.text.get(lang), "redirect": r.redirect, "note": r.note}
                         for r in services.org.decline_reasons],
        destinations=[{"id": x.id, "name": x.name.get(lang)} for x in services.org.destinations],
    )
    return found


# ------------------------------------------------------ an employee's own cases


def own_summary(services: Services, case: Case, lang: str) -> dict[str, Any]:
    """A case in the petitioner's list: what ``/mycases`` and ``/status`` say of it, nothing of the staff's."""
    return {
        "number": case.number,
        "subject": case.subject,
        "status": case.status.value,
        "status_name": plain(status_name(case.status.value, lang)),
        "deadline": plain(deadline_line(case, lang)),
        "submitted": moment(case.submitted_at, services.tz),
        "open": case.is_open,
        "own": True,
    }


async def my_cases(services: Services, user_id: int, lang: str, offset: int = 0) -> dict[str, Any]:
    """``/mycases`` in the page: the same store call (own cases and claimed ones), newest first."""
    found, total = await services.cases.cases_of_petitioner(user_id, max(offset, 0), MINE_LIMIT)
    return {"total": total, "offset": offset, "cases": [own_summary(services, c, lang) for c in found]}


async def own_case(services: Services, user_id: int, number: str, lang: str) -> dict[str, Any]:
    """The petitioner's own case as ``/status`` shows it: status, deadline in words, the public record.

    The same store call as the chat (``petitioner_case``: anyone else's case is NotFound, as in chat); only
    public events, with no staff name (who did it is "the office"), and the text of an event only where the
    petitioner reads it in chat too (:data:`PETITIONER_TEXTS`). Internal notes are never public.
    """
    view = await services.self_service.petitioner_case(user_id, number)
    case = view.case
    timeline = []
    for event in view.events:
        text = event.body if event.body and event.action in PETITIONER_TEXTS and event.public else ""
        timeline.append({"at": moment(event.at, services.tz), "what": plain(t(lang, event_label(event))),
                         "detail": plain(t(lang, f"decision.{data_of(event, DecideData).decision.value}"))
                         if event.action == Action.DECIDE else "",
                         "who": "", "text": text})
    found = own_summary(services, case, lang)
    found.update(timeline=timeline, actions=[], chat_actions=[a.value for a in view.actions])
    return found


# ------------------------------------------------------ documents and files


def file_label(case: Case, attachment: Attachment, place: int, lang: str) -> str:
    """A file's name as the chat gives it: a confidential case's (a report's) a neutral 材料-3.pdf, always."""
    if attachment.file_name and not (case.identity_protected):
        return attachment.file_name
    return media.neutral_name(lang, place, attachment)


async def documents(services: Services, actor: Actor, number: str, lang: str) -> dict[str, Any]:
    """The written notices the caller may have (``/document``'s check) and, for staff, the case's files.

    Each entry has the ``item`` a download link is signed for and the ``path`` under ``/app/api/``.
    """
    case, docs = await services.documents.issued(actor, number)
    listed = [
        {"kind": d.kind.value, "title": title(d, lang), "doc_no": d.doc_no or "", "issued": d.issued.isoformat(),
         "issued_text": day(d.issued, lang),
         "file_name": file_name(d), "item": f"doc:{d.kind.value}", "path": f"case/{case.number}/documents/{d.kind.value}"}
        for d in docs
    ]
    files: list[dict[str, Any]] = []
    if actor.is_staff:
        _, held = await services.cases.files(actor, case.number)
        for place, a in enumerate(held, start=1):
            files.append({"id": a.id, "name": file_label(case, a, place, lang), "kind": a.kind, "size": a.size,
                          "item": f"file:{a.id}", "path": f"case/{case.number}/files/{a.id}"})
    return {"number": case.number, "documents": listed, "files": files}


async def document_pdf(services: Services, actor: Actor, number: str, kind: str) -> tuple[str, bytes]:
    """One document's PDF: the chat's generator; the petitioner's 电子告知件, the officer's copy for staff."""
    try:
        chosen = DocumentKind(kind)
    except ValueError:
        raise NoDocument(number=number.upper(), kind=None) from None  # a kind no document has
    doc = (await services.documents.documents(actor, number, chosen))[0]
    copy = "officer" if actor.is_staff else "petitioner"
    return file_name(doc), await render_pdf(doc, services.org, copy=copy)


async def case_file(services: Services, actor: Actor, number: str, file_id: int, lang: str) -> tuple[Case, Attachment, str]:
    """One of the case's files for staff who read it (``Act.FILES``), with the name it is given."""
    case, held = await services.cases.files(actor, number)
    for place, a in enumerate(held, start=1):
        if a.id == file_id:
            return case, a, file_label(case, a, place, lang)
    raise NoFile(number=case.number)


def file_bytes_for(case: Case, attachment: Attachment, data: bytes) -> bytes:
    """What is handed out: a confidential case's images without their metadata (as the chat's copies)."""
    return media.neutral_copy(attachment, data) if case.identity_protected else data


async def case_list(services: Services, actor: Actor, query: DeskQuery, lang: str) -> dict[str, Any]:
    found, total = await DeskService(services.context).cases(actor, query)
    return {"total": total, "offset": query.offset, "cases": [case_summary(services, actor, c, lang) for c in found]}


async def act(services: Services, actor: Actor, number: str, action: str, body: dict[str, Any], lang: str) -> dict[str, Any]:
    """One action from the page's buttons: the very call the chat's commands make (``CaseService.act``)."""
    try:
        chosen = Action(action)
    except ValueError:
        raise Refused("bad_filter") from None
    if chosen not in PAGE_ACTIONS or not actor.is_staff:
        raise Refused("bad_filter")
    text = body.get("text")
    text = str(text)[:4000] if text is not None else None
    kwargs: dict[str, Any] = {}
    if chosen is Action.ASSIGN:
        kwargs["assignee_id"] = actor.id  # the page's button: "take it myself"
    if chosen is Action.DECIDE:
        try:
            kwargs["decision"] = Decision(str(body.get("decision", "")))
        except ValueError:
            raise Refused("decision_required") from None
    if chosen is Action.EXTEND:
        days = body.get("days")
        kwargs["days"] = int(days) if isinstance(days, int | str) and str(days).isdigit() else None
    if chosen is Action.DECLINE and isinstance(body.get("reason"), str):
        # 诉访分离: the ids of [[decline_reasons]] and [[destinations]]; without a reason the store refuses.
        where = body.get("destination")
        kwargs["grounds"] = DeclineGrounds(reason=body["reason"][:32],
                                           destination=where[:32] if isinstance(where, str) and where else None)
    if chosen is Action.DECIDE and any(k in body for k in ("request", "facts", "basis")):
        # Art. 32: the store refuses an opinion whose request, facts or basis is missing, naming which.
        kwargs["parts"] = OpinionParts(**{k: str(body.get(k) or "")[:PART_MAX + 1] for k in ("request", "facts", "basis")})
    if chosen in (Action.REPLY, Action.NOTE, Action.DECLINE, Action.DECIDE, Action.EXTEND):
        kwargs["body"] = text
    case = await services.cases.act(actor, number, chosen, **kwargs)
    return {
        "message": plain(done_text(lang, services.org, actor, chosen, case)),
        "case": await case_detail(services, actor, case.number, lang),
    }


# -------------------------------------------------------------- dashboard


def _figures(row: Any) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in COUNTS}
    values.update({name: None if getattr(row, name) is None else round(getattr(row, name), 1) for name in RATES})
    return values


def _assessment(report: AssessmentReport, services: Services, lang: str) -> dict[str, Any]:
    return {
        "period": report.period,
        "units": [
            {
                "unit": s.unit,
                "name": unit_name(services.org, s.unit, lang),
                "depth": s.depth,
                "score": None if s.score is None else round(s.score, 1),
                "rank": s.rank,
                "items": [
                    {
                        "kind": i.kind,  # indicator: value is a rate (%); count: value is the count, of target
                        "indicator": i.indicator,
                        "source": i.source,
                        "name": plain(item_name(lang, i.indicator, i.source)),
                        "weight": i.weight,
                        "penalty": i.penalty,
                        "value": None if i.value is None else round(i.value, 1),
                        "target": None if i.target is None else round(i.target, 2),
                        "share": None if i.share is None else round(i.share, 1),
                        "contribution": None if i.contribution is None else round(i.contribution, 2),
                    }
                    for i in s.items
                ],
            }
            for s in report.scores
        ],
        "chart": score_svg(
            [(unit_name(services.org, s.unit, lang), s.score) for s in report.scores],
            plain(t(lang, "webapp.assessment_title", period=report.period)),
        ),
    }


def _trend(report: StatsReport, lang: str) -> dict[str, Any]:
    points = report.trend
    return {
        "points": [{"label": p.label, "received": p.received, "decided": p.decided, "overdue": p.overdue_now,
                    "satisfied": p.satisfied, "late": p.answer_counted - p.answered_on_time} for p in points],
        "chart": trend_svg(
            [p.label for p in points],
            [p.received for p in points],
            [
                ("line-accepted", plain(t(lang, "leader.chart_accepted")), [p.accepted_on_time_pct for p in points]),
                ("line-answered", plain(t(lang, "leader.chart_answered")), [p.answered_on_time_pct for p in points]),
                ("line-satisfied", plain(t(lang, "leader.chart_satisfaction")), [p.satisfaction_pct for p in points]),
            ],
            plain(t(lang, "leader.chart_title", period=report.period.label)),
        ),
    }


async def dashboard(
    services: Services, actor: Actor, lang: str, period: str | None = None, unit: str | None = None
) -> dict[str, Any]:
    """The leaders' dashboard: ``/stats``'s report (the same call), the assessment, the lists to act on."""
    desk = DeskService(services.context)
    # The indicators decide who may see the page (they refuse anyone but leaders and admins): asked
    # first, so that nothing is started for a refused viewer.
    services.indicators.require_reader(actor)
    # The parts read side by side, each on a reader of its own; if one fails (a bad period, say),
    # theirs is the answer and the others are stopped.
    start = asyncio.ensure_future
    report_task = start(services.indicators.indicators(actor, unit, period))
    warned_task = start(services.supervision.warned_cases(actor, limit=LIST_LIMIT))
    supervised_task = start(desk.cases(actor, DeskQuery(state="all", metric="supervised", limit=LIST_LIMIT)))
    led_task = start(desk.cases(actor, DeskQuery(metric="lead_open", limit=LIST_LIMIT)))
    alerts_task = start(services.review.alerts_for(actor, long_running=False))
    long_task = start(desk.cases(actor, DeskQuery(metric="long_running", limit=1)))
    incidents_task = start(services.incidents.open_incidents(actor))
    tasks = (report_task, warned_task, supervised_task, led_task, alerts_task, long_task, incidents_task)
    try:
        report = await report_task
        warned, warned_total = await warned_task
        supervised, supervised_total = await supervised_task
        led, led_total = await led_task
        alerts = await alerts_task
        _, long_running = await long_task
        incidents = await incidents_task
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # seen: a part's own failure after the answer's is not logged as lost
    assessment = assess(report, services.org.assessment)
    levels = [(WarningLevel.NOTICE, "notice_now"), (WarningLevel.WARNING, "warning_now"),
              (WarningLevel.SERIOUS, "serious_now"), (WarningLevel.OVERDUE, "overdue_now")]
    total = report.rows[0] if len(report.units) == 1 and report.rows else None
    return {
        "period": report.period.label,
        "rows": [{"unit": r.unit, "name": unit_name(services.org, r.unit, lang), "depth": r.depth, **_figures(r)}
                 for r in report.rows],
        "levels": [{"level": level.rank, "name": plain(t(lang, f"webapp.level_{level.rank}")), "metric": metric,
                    "count": sum(getattr(r, metric) for r in report.rows if r.depth == 0)}
                   for level, metric in levels],
        "trend": _trend(report, lang),
        "assessment": _assessment(assessment, services, lang),
        "warned": {"total": warned_total, "cases": [case_summary(services, actor, w.case, lang) for w in warned]},
        "supervised": {"total": supervised_total,
                       "cases": [case_summary(services, actor, c, lang) for c in supervised]},
        "led": {"total": led_total, "cases": [case_summary(services, actor, c, lang) for c in led]},
        "alerts": [{"number": a.number, "unit_name": unit_name(services.org, a.unit, lang), "people": a.people,
                    "at": moment(a.created_at, services.tz)} for a in alerts.alerts],
        "long_running": long_running,
        "incidents": [{"id": i.id, "level": i.level, "people": i.people, "drill": i.is_drill,
                       "unit_name": unit_name(services.org, i.unit, lang) if i.unit else "",
                       "at": moment(i.opened_at, services.tz)} for i in incidents],
        "total_unit": total.unit if total is not None else None,
    }
