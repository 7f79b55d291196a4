"""After the written opinion, and around every deadline: the statutory clocks.

《信访工作条例》 gives the petitioner 30 days to ask for review (复查, Art. 35)
and, after the review opinion, 30 days to ask for re-review (复核, Art. 36);
the reviewers have 30 days each, and after the re-review the matter is final
(不再受理). This module holds those rules, the petitioner's rating of the
answer (满意 / 基本满意 / 不满意), the proposal of repeat petitions (store/repeats.py) and
the detection of collective petitions at submission, the alerts to leaders, and the deadline sweep.

The sweep is a pure query plus one transaction: what is due is read from the
cases, and every reminder or escalation is recorded in ``reminders`` (UNIQUE
per case, stage, deadline and level) together with its outbox rows. A sweep
that crashes leaves nothing; a restarted sweep finds what was sent and sends
only what is still missing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel

from store import discipline, routing
from store.clock import iso, local_date
from store.context import Service, local_midnight
from store.db import Connection
from store.documents import queue_documents
from store.errors import BadInput, Forbidden, Refused
from store.event_data import (
    AckAlertData,
    CloseData,
    EscalateData,
    EventData,
    FlagData,
    HearingData,
    HearingEndData,
    RateData,
    RequestData,
    ReviewOpinionData,
    ServeData,
    StudyData,
)
from store.events import SweepDue, SweepReport
from store.incidents import open_for_alert
from store.models import (
    DETAILS_MAX,
    OPEN_STATUSES,
    PAPER_SERVICE,
    SYSTEM,
    Actor,
    ActorRole,
    Case,
    Channel,
    OutboxItem,
    Rating,
    ReviewOutcome,
    ServedHow,
    Status,
    row_to_model,
)
from store.notices import AlertParams, DeadlineParams, DigestParams, DocumentParams, NoticeKind, params_of
from store.opinion import PART_MAX, OpinionParts, required_parts
from store.org import Organization, Role, Staff
from store.people import Filed, people_among, same_person, same_person_sql
from store.policy import Act
from store.repeats import earlier_query, propose_from
from store.sqltext import only_row
from store.workflow import Action, next_status

COMMENT_MAX = 1000
SERVING_KINDS = ("opinion", "review")  # the documents whose delivery serves the opinion


def serves(item: OutboxItem) -> bool:
    """Whether sending this row serves an opinion: its document, to the petitioner."""
    if item.kind != NoticeKind.DOCUMENT.value:
        return False
    params = params_of(item.kind, item.params, DocumentParams)
    return params.to == "petitioner" and any(k in SERVING_KINDS for k in params.kinds)


RATED = (Rating.SATISFIED, Rating.BASIC, Rating.DISSATISFIED)
CONTENT = (Rating.SATISFIED, Rating.BASIC)


class Stage(StrEnum):
    """Which deadline a case is running against."""

    ACCEPT = "accept"  # register and tell acceptance (Art. 22-23)
    ANSWER = "answer"  # the written opinion (Art. 34)
    REVIEW = "review"  # the review opinion (Art. 35)
    REREVIEW = "rereview"  # the re-review opinion (Art. 36)


class Level(StrEnum):
    """Steps of the sweep for one deadline, in order."""

    BEFORE = "before"  # to the responsible officers, some days before
    DUE = "due"  # to the responsible officers, on the day
    ESCALATE0 = "escalate0"  # overdue: the leaders of the case's unit
    ESCALATE1 = "escalate1"  # still overdue some days later: one level up


#: An alert as staff see it: its case's unit and category as they are now (the alert's own columns keep
#: where the cluster was counted): who may read and acknowledge it follows the case when it is transferred.
ALERT_COLUMNS = ("a.id, a.kind, a.reason, a.case_id, c.number, c.unit, c.category, a.people, a.created_at,"
                 " a.acknowledged_at, a.acknowledged_by, c.confidential")


class Alert(BaseModel):
    id: int
    kind: Literal["collective"]
    reason: Literal["cluster", "declared", "visit"]  # counted, declared by the petitioner, a registered visit
    case_id: int
    number: str
    unit: str
    category: str
    people: int
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    confidential: bool = False  # the case's: recused staff never see it


class StudyMember(BaseModel):
    """One of the reviewing unit's staff who may take part in the collective study (集体研究)."""

    id: int
    name: str
    leader: bool


class Study(BaseModel):
    """Who studied a 复查 / 复核 opinion, and when (review_studies)."""

    level: int
    studied_on: date
    participants: list[StudyMember]


class OpinionDraft(BaseModel):
    """An opinion written in the chat, waiting for its reviewer to mark who studied it."""

    number: str
    level: int
    decision: ReviewOutcome
    text: str
    participants: list[int]
    candidates: list[StudyMember]
    # 信访请求, 查明事实, 处理依据 (Art. 35-36); None: drafted before they were asked (migration 0024).
    parts: OpinionParts | None = None


class OpinionOpening(BaseModel):
    """What the reviewer's form starts from: the case, the level (1 复查, 2 复核) and the petitioner's request.

    ``request`` is the reason the petitioner gave when asking for the review (or re-review), offered as
    the opinion's 信访请求; empty when none was recorded.
    """

    number: str
    level: int
    request: str


class Hearing(BaseModel):
    """A 听证 of the reviewing body: the review clock stands still from ``stopped_on`` until it ends."""

    id: int
    case_id: int
    level: int
    held_on: date
    place: str
    note: str | None
    scheduled_by: int
    stopped_on: date
    ended: Literal["held", "cancelled"] | None = None
    ended_on: date | None = None
    days: int | None = None
    due_before: date | None = None
    due_after: date | None = None


PLACE_MAX = 200
HEARING_NOTE_MAX = 1000


class AlertsView(BaseModel):
    """A leader's /alerts: unacknowledged collective petitions and long-running cases."""

    alerts: list[Alert]
    long_running: list[Case]
    long_running_days: int


# The staff deadline of each status: its stage and the column holding its date.
# current_deadline (Python) and CURRENT_DUE_SQL (SQL) are both made from this
# one table, so the sweep, the indicators, the officers' queue and what the
# case card shows cannot disagree.
DEADLINE_OF: dict[Status, tuple[Stage, str]] = {
    Status.SUBMITTED: (Stage.ACCEPT, "accept_due"),
    Status.ACCEPTED: (Stage.ANSWER, "answer_due"),
    Status.IN_PROGRESS: (Stage.ANSWER, "answer_due"),
    Status.REVIEW: (Stage.REVIEW, "review_due"),
    Status.REREVIEW: (Stage.REREVIEW, "rereview_due"),
}


#: The statuses whose clock a hearing (听证) stops: while ``clock_stopped_on`` is set the case runs
#: against no deadline (Art. 36: 听证所需时间不计算在时限内), so nothing reminds, warns or escalates.
HEARING_STOPS = frozenset({Status.REVIEW, Status.REREVIEW})


def current_deadline(case: Case) -> tuple[Stage, date] | None:
    """The staff deadline the case runs against now, if any."""
    found = DEADLINE_OF.get(case.status)
    if found is None or (case.status in HEARING_STOPS and case.clock_stopped_on is not None):
        return None
    stage, column = found
    due: date | None = getattr(case, column)
    return None if due is None else (stage, due)


def petitioner_window(case: Case) -> date | None:
    """The last day the petitioner may still act on a written opinion (rate, ask for review)."""
    if case.status is not Status.DECIDED:
        return None
    if case.review_level == 0:
        return case.review_request_due
    return case.rereview_request_due


# SQL for the deadline a case runs against: the same table as current_deadline.
CURRENT_DUE_SQL = (
    "CASE status "
    + " ".join(
        f"WHEN '{status.value}' THEN "
        + (f"CASE WHEN clock_stopped_on IS NULL THEN {column} END" if status in HEARING_STOPS else column)
        for status, (_, column) in DEADLINE_OF.items()
    )
    + " END"
)
_OPEN = sorted(s.value for s in OPEN_STATUSES)
OPEN_SQL = "status IN (" + ", ".join(f"'{s}'" for s in _OPEN) + ")"


#: Cases handled per transaction by the sweep: between batches, waiting answers get the writer.
SWEEP_BATCH = 50


def digest_refusal(org: Organization, chat_id: int) -> str | None:
    """At send time: the weekly digest goes to leaders only, as when it was queued (None: it may)."""
    staff = org.staff_member(chat_id)
    if staff is None:
        return "not_staff"
    return None if staff.role is Role.LEADER else "out_of_scope"

class ReviewService(Service):
    """Rating, review and re-review, repeat/collective detection, alerts, the sweep."""

    sweep_batch = SWEEP_BATCH

    # ------------------------------------------------------------ recipients

    def _admins_for(self, case_unit: str, category: str, confidential: bool = False) -> list[Staff]:
        return [
            s
            for s in self.org.staff
            if s.role is Role.ADMIN and routing.can_handle(self.org, s, case_unit, category, confidential)
        ]

    def reviewers(self, case: Case, level: int) -> list[Staff]:
        """Who gives the review (level 1) or re-review (level 2) opinion.

        The leaders assigned at the reviewing unit of that level
        (``Organization.reviewing_unit``: ``reviewed_by``, else the parent).
        Nobody when the reviewing body is outside the company (above the top
        unit): an administrator never reviews (check-config refuses a file
        where one would have to).
        """
        unit = self.org.reviewing_unit(case.unit, level) if self.org.find_unit(case.unit) else None
        if unit is None:
            return []
        return [
            s for s in self.org.staff
            if s.role is Role.LEADER and unit in s.units
            and routing.can_handle(self.org, s, case.unit, case.category, case.confidential)
        ]

    def _officers_for(self, case: Case) -> list[int]:
        """Who is reminded of a handling deadline: the assignee, else the responsible officers."""
        if case.assignee_id is not None and self.ctx.in_scope(case.assignee_id, case):
            return [case.assignee_id]
        return [
            s.telegram_id
            for s in routing.responsible_staff(self.org, case.unit, case.category, case.confidential)
        ]

    def _reminded(self, case: Case, stage: Stage) -> list[int]:
        if stage is Stage.REVIEW:
            return [s.telegram_id for s in self.reviewers(case, 1)]
        if stage is Stage.REREVIEW:
            return [s.telegram_id for s in self.reviewers(case, 2)]
        # The handler, and the co-handling units' officers (协办) with them.
        return list(dict.fromkeys(self._officers_for(case) + self.ctx.cohandler_ids(case)))

    def _escalated(self, case: Case, stage: Stage, step: int) -> list[int]:
        """Escalation step 0 and 1: the leaders of the case's unit, then one level up (分级负责).

        For a review (re-review) the steps start above the reviewers.
        """
        if stage in (Stage.REVIEW, Stage.REREVIEW):
            reviewing = self.org.reviewing_unit(case.unit, 1 if stage is Stage.REVIEW else 2)
            base, level = reviewing or case.unit, 1 + step
        else:
            base, level = case.unit, step
        found = routing.leaders_at_level(self.org, base, level, case.category, case.confidential)
        return [s.telegram_id for s in found or self._admins_for(case.unit, case.category, case.confidential)]

    def _leaders_above(self, unit: str, category: str, confidential: bool = False) -> list[int]:
        """The unit's leaders and every leader above, up to the top (the group-incident plan)."""
        found = routing.leaders_of(self.org, unit, category, confidential)
        return [s.telegram_id for s in found or self._admins_for(unit, category, confidential)]

    # --------------------------------------------------------------- helpers

    def _staff_to_tell(self, case: Case) -> list[int]:
        return self._officers_for(case)

    # ------------------------------- hooks called by CaseService, in its transaction

    async def after_action(
        self, conn: Connection, case: Case, action: Action, event_id: int
    ) -> Case:
        """After a written opinion: ask for a rating; its windows open when it is served (送达)."""
        if action is not Action.DECIDE:
            return case
        if discipline.on_line(self.org, case.category):
            # 检举控告: the outcome is fed back (处理结果反馈) and the report is closed; there is no
            # satisfaction rating and no 复查/复核 (the discipline rules' path is the level above).
            return await self._close(conn, case, SYSTEM, "report_feedback", notify=False)
        case = await self.ctx.update_case(
            conn, case.id, {"rating_due": None, "review_request_due": None, "served_on": None, "served_how": None}
        )
        await self.outbox.queue(conn, case.petitioner_id, NoticeKind.RATING_ASKED, case.id, event_id)
        return case

    async def after_submit(self, conn: Connection, case: Case, filed: Filed | None = None) -> Case:
        """Propose earlier cases that may be the same matter, and detect a collective petition, in the submission.

        A repeat petition is never marked here: the earlier cases of the same
        person (across channels, store/people.py) are proposed on the card and
        staff confirm or dismiss them (store/repeats.py); a confidential case
        or a report is an island, neither proposed nor given proposals.
        ``filed``: what a submission in the chat already read of its petitioner.
        """
        # The person's earlier cases, the unit's recent ones and its latest cluster alert (a collective
        # petition): one trip for all three.
        earlier = await earlier_query(self.ctx, conn, case, filed)
        *proposed, recent, alert = await conn.together(
            [*([earlier] if earlier is not None else []), self._recent_query(case), self._cluster_query(case)])
        await propose_from(self.ctx, conn, case, proposed[0] if proposed else [])
        # The case as inserted, or as the alert it joined or raised changed it: no read of it again.
        return await self._detect_collective(conn, case, recent, dict(alert[0]) if alert else None) or case

    def _since(self) -> str:
        """The start of the window in which collective filings are counted."""
        return iso(self.clock.now() - timedelta(hours=self.org.monitoring.collective_hours))

    def _recent_query(self, case: Case) -> tuple[str, tuple[Any, ...]]:
        """The cases of the same category and unit within the collective window (``_detect_collective``)."""
        return ("SELECT id, petitioner_id, petitioner_phone, confidential FROM cases"
                " WHERE category = ? AND unit = ? AND submitted_at >= ?", (case.category, case.unit, self._since()))

    def _cluster_query(self, case: Case) -> tuple[str, tuple[Any, ...]]:
        """The unit's latest cluster alert of the category within the window, and whether a leader opened an
        incident for it (or on the case that raised it) that is not a drill."""
        return ("SELECT a.id, EXISTS (SELECT 1 FROM incidents i WHERE NOT i.is_drill AND (i.alert_id = a.id"
                " OR (i.status = 'open' AND i.case_id = a.case_id))) AS incident"
                " FROM alerts a WHERE a.kind = 'collective' AND a.reason = 'cluster'"
                " AND a.unit = ? AND a.category = ? AND a.created_at >= ? ORDER BY a.id DESC LIMIT 1",
                (case.unit, case.category, self._since()))

    async def _detect_collective(self, conn: Connection, case: Case, recent: Sequence[Mapping[str, Any]],
                                 cluster: dict[str, Any] | None) -> Case | None:
        """A collective petition among ``recent`` (``_recent_query``; ``cluster``: ``_cluster_query``'s row),
        or declared: the case as the alert it joined or raised changed it, else ``None``."""
        mon = self.org.monitoring
        # One person is one, whichever channel each of their cases came by (store/ledger.py).
        people = await people_among(self.ctx, conn, recent)
        if people >= mon.collective_people:
            if cluster is not None:  # the same group again: join its alert, do not raise another
                alert_id = cluster["id"]
                conn.later(
                    "UPDATE alerts SET people = CASE WHEN people > ? THEN people ELSE ? END, updated_at = ? WHERE id = ?",
                    (people, people, self.ctx.now(), alert_id),
                )
                changed = await self.ctx.change_case(conn, case.id, {"collective_alert": alert_id}, row=case)
                if cluster["incident"]:  # one a leader opened: its level follows the group
                    await open_for_alert(self.ctx, conn, alert_id, case, people)
                return changed
            # 同类问题预警: many similar filings are a warning for a leader to judge, never an incident by itself.
            changed = await self._raise_alert(conn, case, "cluster", people, incident=False)
            ids = [row["id"] for row in recent]
            await conn.execute(
                f"UPDATE cases SET collective_alert = ? WHERE collective_alert IS NULL"
                f" AND id IN ({', '.join('?' * len(ids))})",
                (changed.collective_alert, *ids),
            )
            return changed
        if case.people is not None and case.people >= mon.collective_people:
            # 集体访: a visit (来访) of five or more, its people counted by the staff who registered it,
            # may open a level of the plan. A headcount the petitioner typed (or a joint letter's) asks a
            # leader to judge it and opens nothing by itself.
            visit = case.channel is Channel.VISIT and case.registered_by is not None
            return await self._raise_alert(conn, case, "visit" if visit else "declared", case.people, incident=visit)
        return None

    async def _raise_alert(self, conn: Connection, case: Case, reason: str, people: int, *, incident: bool) -> Case:
        """A collective alert raised by ``case`` (a case inserted in this transaction): the case as it now is,
        its ``collective_alert`` the alert's id."""
        now = self.ctx.now()
        async with conn.execute(
            "INSERT INTO alerts (kind, reason, case_id, unit, category, people, created_at, updated_at)"
            " VALUES ('collective', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (reason, case.id, case.unit, case.category, people, now, now),
        ) as cur:
            alert_id = (await only_row(cur))[0]
        changed = await self.ctx.change_case(conn, case.id, {"collective_alert": alert_id}, row=case)
        assert changed is not None
        event_id = await self.ctx.event(
            conn, case.id, SYSTEM, Action.FLAG, case.status, None,
            FlagData(collective=alert_id, reason=reason, people=people), inserted=changed,
        )
        for leader in self._leaders_above(case.unit, case.category, case.confidential):
            await self.ctx.queue_staff(conn, leader, NoticeKind.LEADER_ALERT, case, event_id, AlertParams(alert=alert_id))
        # The group-incident plan: a level reached by people staff confirmed opens its incident (store/incidents.py).
        if incident:
            await open_for_alert(self.ctx, conn, alert_id, case, people)
        return changed

    # ------------------------------------------------------ the petitioner

    async def rate(self, actor: Actor, number: str, rating: Rating) -> Case:
        """The petitioner rates the written opinion (满意度评价): recorded beside it, closing no right."""
        if rating not in RATED:
            raise Refused("refused")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            await self.ctx.require(conn, Act.RATE, actor, case)  # the case's own petitioners, not a follower
            due = case.rating_due
            lapsed = case.status is Status.DECIDED and due is not None and self.ctx.today() > due
            if due is not None and (lapsed or case.rating is Rating.NONE):
                raise Refused("rating_window_closed", due=due.isoformat())
            if case.rating is not None or case.review_level > 0:
                raise Refused("already_rated")
            status = next_status(case.status, Action.RATE, actor.role)
            case = await self.ctx.update_case(conn, case.id, {"rating": rating.value, "rated_at": iso(now)})
            event_id = await self.ctx.event(conn, case.id, actor, Action.RATE, status, None, RateData(rating=rating))
            for staff_id in self._staff_to_tell(case):
                await self.ctx.queue_staff(conn, staff_id, NoticeKind.REVIEW_STAFF, case, event_id)
            # A rating is an evaluation, never a waiver: 满意 / 基本满意 leave the case decided
            # (办结 at this level) and the right to ask for review open until its window ends (Art. 35).
        self.outbox.kick()
        return case

    async def comment_rating(self, actor: Actor, number: str, text: str) -> Case:
        """The petitioner's optional words on the handling, once, after rating."""
        text = (text or "").strip()
        if not text:
            raise BadInput("text_required")
        if len(text) > COMMENT_MAX:
            raise BadInput("comment_too_long", max=COMMENT_MAX, length=len(text))
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            await self.ctx.require(conn, Act.COMMENT, actor, case)
            if case.rating not in RATED:
                raise Refused("rate_first")
            status = next_status(case.status, Action.COMMENT, actor.role)
            async with conn.execute(
                "SELECT count(*) FROM events WHERE case_id = ? AND action = ?",
                (case.id, Action.COMMENT.value),
            ) as cur:
                if (await only_row(cur))[0]:
                    raise Refused("already_commented")
            event_id = await self.ctx.event(conn, case.id, actor, Action.COMMENT, status, text, EventData())
            for staff_id in self._staff_to_tell(case):
                await self.ctx.queue_staff(conn, staff_id, NoticeKind.REVIEW_STAFF, case, event_id)
        self.outbox.kick()
        return case

    async def request_review(self, actor: Actor, number: str, reason: str) -> Case:
        """Ask for review (复查) after the written opinion, or re-review (复核) after the review opinion.

        Refused with the reason after the window (30 days by default) and
        after a re-review, when the matter is final.
        """
        reason = (reason or "").strip()
        now = self.clock.now()
        await self._told_where_to_go(actor, number)
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            await self.ctx.require(conn, Act.REQUEST_REVIEW, actor, case)
            if case.final:
                raise Refused("review_final")
            d = self.org.deadlines
            if case.review_level == 0:
                action, window, days = Action.REQUEST_REVIEW, case.review_request_due, d.review_request_days
            else:
                action, window, days = Action.REQUEST_REREVIEW, case.rereview_request_due, d.rereview_request_days
            if (
                case.status in (Status.DECIDED, Status.CLOSED)
                and window is not None
                and self.ctx.today() > window
            ):
                raise Refused("review_window_closed", due=window.isoformat(), days=days)
            status = next_status(case.status, action, actor.role)
            if case.review_level >= 2:
                raise Refused("review_final")
            if not reason:
                raise BadInput("reason_required")
            if len(reason) > DETAILS_MAX:
                raise BadInput("comment_too_long", max=DETAILS_MAX, length=len(reason))
            today = self.ctx.today()
            changes: dict[str, Any] = {"status": status.value, "review_level": case.review_level + 1}
            if action is Action.REQUEST_REVIEW:
                changes["review_due"] = self.org.due_date(today, "review_days").isoformat()
                if case.rating is None:  # asking for review is a rating of 不满意
                    changes.update(rating=Rating.DISSATISFIED.value, rated_at=iso(now))
                due = changes["review_due"]
            else:
                changes["rereview_due"] = self.org.due_date(today, "rereview_days").isoformat()
                due = changes["rereview_due"]
            case = await self.ctx.update_case(conn, case.id, changes)
            event_id = await self.ctx.event(conn, case.id, actor, action, status, reason, RequestData(due=due))
            for staff_id in self._reminded(case, Stage.REVIEW if action is Action.REQUEST_REVIEW else Stage.REREVIEW):
                await self.ctx.queue_staff(conn, staff_id, NoticeKind.REVIEW_CARD, case, event_id)
        self.outbox.kick()
        return case

    async def _told_where_to_go(self, actor: Actor, number: str) -> None:
        """Above the top unit the 上一级 is outside the company (Art. 35-36): no staff here review.

        A request the petitioner may make (a decided case, within its window)
        is answered with that body's name, address and phone, and the telling
        is recorded on the case; then the request is refused with those words.
        """
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            await self.ctx.require(conn, Act.REQUEST_REVIEW, actor, case)
            if discipline.on_line(self.org, case.category):
                raise Refused("report_no_review")  # 向上一级纪检监察机关反映, not 复查
            level = case.review_level + 1
            window = case.review_request_due if level == 1 else case.rereview_request_due
            if case.final or level > 2 or case.status is not Status.DECIDED or (
                window is not None and self.ctx.today() > window
            ):
                return  # the request's own checks answer it
            external = self._external_review(case, level)
            if external is None:
                return
            await self.ctx.event(conn, case.id, actor, Action.FLAG, case.status, None,
                                 FlagData(review_external=level, body=external["body"]))
        raise Refused("review_external", **external)

    def _external_review(self, case: Case, level: int) -> dict[str, str] | None:
        """The body outside the company that gives this review, as a refusal's words; None when staff here do."""
        if self.org.find_unit(case.unit) is None or self.org.reviewing_unit(case.unit, level) is not None:
            return None
        body = self.org.organization.review_body
        if body is None:  # not named in the file: say at least that it is the body above the company
            return {"body": "本公司的上一级主管机关", "address": "-", "phone": "-"}
        return {"body": str(body.name), "address": body.address, "phone": body.phone or ""}

    async def accept_outcome(self, actor: Actor, number: str) -> Case:
        """The petitioner accepts the (review) opinion instead of asking further: the case closes."""
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            await self.ctx.require(conn, Act.ACCEPT_OUTCOME, actor, case)
            if case.status is Status.DECIDED and case.review_level == 0 and case.rating is None:
                raise Refused("rate_first")
            next_status(case.status, Action.CLOSE, actor.role)
            case = await self._close(conn, case, actor, "accepted", notify=False)
        self.outbox.kick()
        return case

    async def _close(
        self, conn: Connection, case: Case, actor: Actor, reason: str, *, notify: bool
    ) -> Case:
        status = next_status(case.status, Action.CLOSE, actor.role)
        changes: dict[str, Any] = {"status": status.value, "closed_at": self.ctx.now()}
        if case.rating is None and case.review_level == 0:
            changes["rating"] = Rating.NONE.value
        case = await self.ctx.update_case(conn, case.id, changes)
        event_id = await self.ctx.event(conn, case.id, actor, Action.CLOSE, status, None, CloseData(reason=reason))
        if notify:
            await self.outbox.queue(conn, case.petitioner_id, NoticeKind.REVIEW_PETITIONER, case.id, event_id)
        return case

    # ------------------------------------------------------------ 送达

    async def _serve(self, conn: Connection, case: Case, day: date, how: ServedHow, actor: Actor) -> Case:
        """Record the service of the latest opinion on ``day``; the petitioner's windows count from it."""
        if case.status is not Status.DECIDED:
            raise Refused("serve_nothing", number=case.number)
        if case.served_on is not None:
            raise Refused("already_served", number=case.number, date=case.served_on.isoformat())
        changes: dict[str, Any] = {"served_on": day.isoformat(), "served_how": how}
        if case.review_level == 0:
            changes["rating_due"] = self.org.due_date(day, "rating_days").isoformat()
            changes["review_request_due"] = due = self.org.due_date(day, "review_request_days").isoformat()
        else:
            changes["rereview_request_due"] = due = self.org.due_date(day, "rereview_request_days").isoformat()
        next_status(case.status, Action.SERVE, actor.role)
        case = await self.ctx.update_case(conn, case.id, changes)
        await self.ctx.event(conn, case.id, actor, Action.SERVE, case.status, None,
                             ServeData(on=day, how=how, due=due))
        return case

    async def serve(self, actor: Actor, number: str, day: date, how: ServedHow) -> Case:
        """An officer records the service of a printed opinion (送达回证): in person, by post, or refused."""
        if how not in PAPER_SERVICE:
            raise Refused("serve_how")
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            self.ctx.check_lead(actor, case, Action.SERVE)
            opinion = case.reviewed_at if case.review_level else case.decided_at
            if day > self.ctx.today() or (opinion is not None and day < local_date(opinion, self.tz)):
                raise Refused("serve_date", date=day.isoformat())
            case = await self._serve(conn, case, day, how, actor)
        self.outbox.kick()
        return case

    async def delivered(self, item: OutboxItem) -> None:
        """Telegram accepted a row: marked sent; the petitioner's written opinion is served by it, in one go."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                               (self.ctx.now(), item.id))
            if not serves(item) or item.case_id is None:
                return
            case = await self.ctx.case_where(conn, "id = ?", (item.case_id,))
            if case is None or case.status is not Status.DECIDED or case.served_on is not None:
                return
            async with conn.execute(
                "SELECT max(id) FROM events WHERE case_id = ? AND action IN (?, ?)",
                (case.id, Action.DECIDE.value, Action.REVIEW_OPINION.value),
            ) as cur:
                (latest,) = await only_row(cur)
            if latest == item.event_id:  # this opinion, not an earlier one sent late
                await self._serve(conn, case, self.ctx.today(), ServedHow.CHAT, SYSTEM)

    # ----------------------------------------------------------- reviewers

    async def review_opinion(
        self, actor: Actor, number: str, decision: ReviewOutcome, text: str,
        participants: Sequence[int] = (), studied_on: date | None = None, parts: OpinionParts | None = None,
    ) -> Case:
        """The review (复查) or re-review (复核) opinion, by the designated leaders, after collective study.

        Its outcome is 维持, 撤销, 变更 or 责令重办, and it states ``parts``: what the
        petitioner asks the reviewing body (信访请求), the facts found (查明事实) and
        the basis (处理依据) (Art. 35-36); without them it is refused
        (``ReviewIncomplete``) and nothing is written. ``participants`` are the
        reviewing unit's staff who studied it (集体研究), at least one of its
        leaders; ``studied_on`` the day of the study meeting (default: today).
        After the re-review opinion the case is closed and final: the same
        matter is not accepted again (Art. 36). 责令重办 returns the case to
        the unit that decided, with ``redo_days`` to answer again; its new
        opinion can be contested anew.
        """
        async with self.db.transaction() as conn:
            case = await self._give_opinion(conn, actor, number, decision, text, participants, studied_on, parts)
        self.outbox.kick()
        return case

    async def _opinion_case(self, conn: Connection, actor: Actor, number: str) -> tuple[Case, Action, int]:
        """The case under review and who may give its opinion: (case, action, level), or a refusal."""
        case = await self.ctx.load_case(conn, actor, number)
        await self.ctx.require(conn, Act.REVIEW_OPINION, actor, case)
        action = Action.REREVIEW_OPINION if case.status is Status.REREVIEW else Action.REVIEW_OPINION
        next_status(case.status, action, actor.role)
        level = 2 if action is Action.REREVIEW_OPINION else 1
        if actor.id not in {s.telegram_id for s in self.reviewers(case, level)}:
            raise Refused("not_reviewer")
        return case, action, level

    def study_candidates(self, case: Case, level: int) -> list[StudyMember]:
        """The reviewing unit's staff who may take part in the collective study: leaders first.

        Staff assigned at the reviewing unit of ``level`` who may handle the
        case (recusal applies); never an administrator.
        """
        unit = self.org.reviewing_unit(case.unit, level) if self.org.find_unit(case.unit) else None
        if unit is None:
            return []
        found = [
            s for s in self.org.staff
            if s.role is not Role.ADMIN and unit in s.units
            and routing.can_handle(self.org, s, case.unit, case.category, case.confidential)
        ]
        found.sort(key=lambda s: (s.role is not Role.LEADER, s.telegram_id))
        return [StudyMember(id=s.telegram_id, name=s.name, leader=s.role is Role.LEADER) for s in found]

    def _study(self, case: Case, level: int, participants: Sequence[int], studied_on: date) -> Study:
        """Check who studied the opinion: the reviewing unit's staff, at least one leader, on a past day."""
        candidates = {m.id: m for m in self.study_candidates(case, level)}
        chosen = list(dict.fromkeys(participants))
        for staff_id in chosen:
            if staff_id not in candidates:
                member = self.org.staff_member(staff_id)
                raise Refused("study_participant", name=member.name if member else str(staff_id))
        members = [candidates[i] for i in chosen]
        if not any(m.leader for m in members):
            raise Refused("study_required")
        if studied_on > self.ctx.today():
            raise Refused("study_date", date=studied_on.isoformat())
        return Study(level=level, studied_on=studied_on, participants=members)

    async def _give_opinion(
        self, conn: Connection, actor: Actor, number: str, decision: ReviewOutcome, text: str,
        participants: Sequence[int], studied_on: date | None, parts: OpinionParts | None,
    ) -> Case:
        text = (text or "").strip()
        now = self.clock.now()
        case, action, level = await self._opinion_case(conn, actor, number)
        status = next_status(case.status, action, actor.role)
        if decision is None:
            raise Refused("decision_required")
        if not isinstance(decision, ReviewOutcome):
            raise Refused("review_outcome")
        if not text:
            raise Refused("opinion_required")
        parts = required_parts(parts, review=True)  # 信访请求, 查明事实, 处理依据 (Art. 35-36)
        if case.clock_stopped_on is not None:
            raise Refused("hearing_pending", number=case.number)
        study = self._study(case, level, participants, studied_on or self.ctx.today())
        if decision is ReviewOutcome.REDO:
            status = Status.IN_PROGRESS
            due = self.org.due_date(self.ctx.today(), "redo_days")
            column = "rereview" if action is Action.REREVIEW_OPINION else "review"
            changes: dict[str, Any] = {
                "status": status.value, f"{column}ed_at": iso(now), f"{column}_decision": decision.value,
                "review_level": 0, "answer_due": due.isoformat(), "handle_limit": self.org.deadlines.redo_days,
                "decision": None, "rating": None, "rated_at": None, "rating_due": None,
                "review_request_due": None, "rereview_request_due": None, "served_on": None, "served_how": None,
            }
            said: dict[str, Any] = {"answer_due": due}
        elif action is Action.REVIEW_OPINION:
            # The 复核 window opens when the review opinion is served (送达, Art. 36).
            changes = {
                "status": status.value,
                "reviewed_at": iso(now),
                "review_decision": decision.value,
                "rereview_request_due": None,
                "served_on": None,
                "served_how": None,
            }
            said = {}
        else:
            changes = {
                "status": status.value,
                "rereviewed_at": iso(now),
                "rereview_decision": decision.value,
                "final": True,
                "closed_at": iso(now),
            }
            said = {"final": True}
        # The parts are journaled with the opinion and printed in its 意见书; so is the 集体研究
        # (kept for the 意见书 in review_studies too).
        data = ReviewOpinionData(
            decision=decision, parts=parts,
            study=StudyData(on=study.studied_on, by=[m.id for m in study.participants]), **said,
        )
        case = await self.ctx.update_case(conn, case.id, changes)
        event_id = await self.ctx.event(conn, case.id, actor, action, status, text, data)
        await conn.execute(
            "INSERT INTO review_studies (event_id, case_id, level, studied_on, participants) VALUES (?, ?, ?, ?, ?)",
            (event_id, case.id, level, study.studied_on.isoformat(),
             json.dumps([m.model_dump() for m in study.participants], ensure_ascii=False)),
        )
        await conn.execute("DELETE FROM review_drafts WHERE case_id = ?", (case.id,))
        await self.outbox.queue(conn, case.petitioner_id, NoticeKind.REVIEW_PETITIONER, case.id, event_id)
        # The 复查意见书 / 复核意见书 (and the 终结 notice, unless handled again) follow the notice.
        await queue_documents(self.ctx, conn, case, action, event_id)
        if decision is ReviewOutcome.REDO:  # the unit that decided handles it again
            for staff_id in self._officers_for(case):
                await self.ctx.queue_staff(conn, staff_id, NoticeKind.CASE_CARD, case, event_id)
        for staff_id in self._staff_to_tell(case):
            if staff_id != actor.id:
                await self.ctx.queue_staff(conn, staff_id, NoticeKind.REVIEW_STAFF, case, event_id)
        return case

    async def studies(self, case_id: int) -> list[Study]:
        """Who studied each 复查 / 复核 opinion of a case, oldest first (for its card and documents)."""
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT level, studied_on, participants FROM review_studies WHERE case_id = ? ORDER BY event_id",
                (case_id,),
            ) as cur:
                return [
                    Study(level=row["level"], studied_on=row["studied_on"],
                          participants=json.loads(row["participants"]))
                    async for row in cur
                ]

    async def study_of_event(self, event_id: int) -> Study | None:
        """The collective study recorded with one opinion event."""
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT level, studied_on, participants FROM review_studies WHERE event_id = ?", (event_id,)
            ) as cur:
                row = await cur.fetchone()
        if row is None:
            return None
        return Study(level=row["level"], studied_on=row["studied_on"], participants=json.loads(row["participants"]))

    # ------------------------------------------- an opinion drafted in the chat

    async def opinion_opening(self, actor: Actor, number: str) -> OpinionOpening:
        """Whether ``actor`` may give the case's 复查 / 复核 opinion now, and what the form starts from.

        The same checks as the opinion (the designated reviewer, the case under review, no hearing
        pending), made before the reviewer types its parts; the opinion checks them again.
        """
        async with self.db.read() as conn:
            case, action, level = await self._opinion_case(conn, actor, number)
            if case.clock_stopped_on is not None:
                raise Refused("hearing_pending", number=case.number)
            asked = Action.REQUEST_REREVIEW if action is Action.REREVIEW_OPINION else Action.REQUEST_REVIEW
            async with conn.execute(
                "SELECT body FROM events WHERE case_id = ? AND action = ? ORDER BY id DESC LIMIT 1",
                (case.id, asked.value),
            ) as cur:
                row = await cur.fetchone()
        request = str(row["body"] or "").strip() if row is not None else ""
        return OpinionOpening(number=case.number, level=level, request=request[:PART_MAX])

    async def draft_opinion(self, actor: Actor, number: str, decision: ReviewOutcome, text: str,
                            parts: OpinionParts | None = None) -> OpinionDraft:
        """Keep an opinion written in the chat until its reviewer marks who studied it (集体研究).

        The checks of the opinion itself are made now, its request, facts and
        basis included (``ReviewIncomplete`` without them); the reviewer is marked
        as a participant when they are one of the reviewing unit's staff.
        """
        text = (text or "").strip()
        async with self.db.transaction() as conn:
            case, _action, level = await self._opinion_case(conn, actor, number)
            if not isinstance(decision, ReviewOutcome):
                raise Refused("review_outcome")
            if not text:
                raise Refused("opinion_required")
            if len(text) > DETAILS_MAX:
                raise Refused("comment_too_long", max=DETAILS_MAX, length=len(text))
            parts = required_parts(parts, review=True)
            if case.clock_stopped_on is not None:
                raise Refused("hearing_pending", number=case.number)
            candidates = self.study_candidates(case, level)
            chosen = [m.id for m in candidates if m.id == actor.id]
            await conn.execute("DELETE FROM review_drafts WHERE case_id = ? AND reviewer_id = ?", (case.id, actor.id))
            await conn.execute(
                "INSERT INTO review_drafts (case_id, reviewer_id, level, decision, body, participants, updated_at,"
                " request, facts, basis) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (case.id, actor.id, level, decision.value, text, json.dumps(chosen), self.ctx.now(),
                 parts.request, parts.facts, parts.basis),
            )
        return OpinionDraft(number=case.number, level=level, decision=decision, text=text, participants=chosen,
                            candidates=candidates, parts=parts)

    async def _draft(self, conn: Connection, actor: Actor, number: str) -> tuple[Case, OpinionDraft]:
        case = await self.ctx.load_case(conn, actor, number)
        async with conn.execute(
            "SELECT level, decision, body, participants, request, facts, basis FROM review_drafts"
            " WHERE case_id = ? AND reviewer_id = ?",
            (case.id, actor.id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:  # issued, discarded, or never written
            raise Refused("study_no_draft", number=case.number)
        case, _action, level = await self._opinion_case(conn, actor, number)
        if row["level"] != level:
            raise Refused("study_no_draft", number=case.number)
        return case, OpinionDraft(
            number=case.number, level=level, decision=ReviewOutcome(row["decision"]), text=row["body"],
            participants=json.loads(row["participants"]), candidates=self.study_candidates(case, level),
            # A draft written before the parts were asked (migration 0024) has none: it shows, and is not issued.
            parts=OpinionParts(request=row["request"], facts=row["facts"], basis=row["basis"])
            if row["request"] is not None and row["facts"] is not None and row["basis"] is not None else None,
        )

    async def opinion_draft(self, actor: Actor, number: str) -> OpinionDraft:
        """The reviewer's opinion waiting for its participants; refused when there is none."""
        async with self.db.read() as conn:
            return (await self._draft(conn, actor, number))[1]

    async def toggle_participant(self, actor: Actor, number: str, staff_id: int) -> OpinionDraft:
        """Mark or unmark one of the reviewing unit's staff as having taken part in the study."""
        async with self.db.transaction() as conn:
            case, draft = await self._draft(conn, actor, number)
            if staff_id not in {m.id for m in draft.candidates}:
                member = self.org.staff_member(staff_id)
                raise Refused("study_participant", name=member.name if member else str(staff_id))
            chosen = [i for i in draft.participants if i != staff_id]
            if staff_id not in draft.participants:
                chosen.append(staff_id)
            await conn.execute(
                "UPDATE review_drafts SET participants = ?, updated_at = ? WHERE case_id = ? AND reviewer_id = ?",
                (json.dumps(chosen), self.ctx.now(), case.id, actor.id),
            )
        return draft.model_copy(update={"participants": chosen})

    async def confirm_opinion(self, actor: Actor, number: str) -> Case:
        """Issue the drafted opinion with the participants marked (the same checks as ``review_opinion``).

        A draft kept before its request, facts and basis were asked (migration 0024) is refused
        (``ReviewIncomplete``): the reviewer writes it again through the form.
        """
        async with self.db.transaction() as conn:
            _case, draft = await self._draft(conn, actor, number)
            case = await self._give_opinion(conn, actor, number, draft.decision, draft.text, draft.participants, None,
                                            draft.parts)
        self.outbox.kick()
        return case

    async def drop_opinion_draft(self, actor: Actor, number: str) -> None:
        """The reviewer discards the opinion they drafted (nothing was issued)."""
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            await conn.execute("DELETE FROM review_drafts WHERE case_id = ? AND reviewer_id = ?", (case.id, actor.id))

    # ------------------------------------------------------------- 听证

    def reviewing_staff(self, case: Case) -> list[Staff]:
        """The reviewing body's staff for the current 复查 / 复核: who may schedule and record a hearing."""
        level = 2 if case.status is Status.REREVIEW else 1
        ids = {m.id for m in self.study_candidates(case, level)}
        return [s for s in self.org.staff if s.telegram_id in ids]

    async def _hearing_case(self, conn: Connection, actor: Actor, number: str) -> Case:
        case = await self.ctx.load_case(conn, actor, number)
        await self.ctx.require(conn, Act.HEARING, actor, case)
        if case.status not in HEARING_STOPS:
            raise Refused("hearing_not_in_review", number=case.number)
        if actor.id not in {s.telegram_id for s in self.reviewing_staff(case)}:
            raise Refused("not_reviewing_body", number=case.number)
        return case

    async def pending_hearing(self, case_id: int) -> Hearing | None:
        """The case's hearing not yet held or cancelled, if any."""
        async with self.db.read() as conn:
            return await self._pending_hearing(conn, case_id)

    async def _pending_hearing(self, conn: Connection, case_id: int) -> Hearing | None:
        async with conn.execute("SELECT * FROM hearings WHERE case_id = ? AND ended IS NULL", (case_id,)) as cur:
            row = await cur.fetchone()
        return Hearing.model_validate(dict(row)) if row else None

    async def hearings(self, case_id: int) -> list[Hearing]:
        """Every hearing of a case, oldest first."""
        async with self.db.read() as conn:
            async with conn.execute("SELECT * FROM hearings WHERE case_id = ? ORDER BY id", (case_id,)) as cur:
                return [Hearing.model_validate(dict(row)) async for row in cur]

    async def schedule_hearing(self, actor: Actor, number: str, on: date, place: str, note: str | None = None) -> Case:
        """The reviewing body schedules a 听证 (date, place, note): the review clock stops from today.

        The petitioner is told the date and place (an outbox row, in the same
        transaction). One hearing at a time; the opinion waits until it is
        recorded as held or cancelled.
        """
        place = (place or "").strip()
        note = (note or "").strip() or None
        async with self.db.transaction() as conn:
            case = await self._hearing_case(conn, actor, number)
            if case.clock_stopped_on is not None or await self._pending_hearing(conn, case.id) is not None:
                raise Refused("hearing_pending", number=case.number)
            today = self.ctx.today()
            if on < today:
                raise BadInput("hearing_date", date=on.isoformat())
            if not place:
                raise BadInput("hearing_place")
            if len(place) > PLACE_MAX:
                raise BadInput("comment_too_long", max=PLACE_MAX, length=len(place))
            if note is not None and len(note) > HEARING_NOTE_MAX:
                raise BadInput("comment_too_long", max=HEARING_NOTE_MAX, length=len(note))
            level = 2 if case.status is Status.REREVIEW else 1
            await conn.execute(
                "INSERT INTO hearings (case_id, level, held_on, place, note, scheduled_by, scheduled_at, stopped_on)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (case.id, level, on.isoformat(), place, note, actor.id, self.ctx.now(), today.isoformat()),
            )
            case = await self.ctx.update_case(conn, case.id, {"clock_stopped_on": today.isoformat()})
            event_id = await self.ctx.event(
                conn, case.id, actor, Action.HEARING, case.status, note,
                HearingData(on=on, place=place, level=level, stopped=today),
            )
            await self.outbox.queue(conn, case.petitioner_id, NoticeKind.HEARING, case.id, event_id)
        self.outbox.kick()
        return case

    async def end_hearing(self, actor: Actor, number: str, *, held: bool) -> tuple[Case, Hearing]:
        """The hearing was held (or is cancelled): the clock runs again and the review due date moves.

        The days stopped (from the scheduling to today) are counted as the
        review limit counts, calendar or working days (``Organization.resumed_due``).
        """
        async with self.db.transaction() as conn:
            case = await self._hearing_case(conn, actor, number)
            hearing = await self._pending_hearing(conn, case.id)
            if hearing is None or case.clock_stopped_on is None:
                raise Refused("hearing_none", number=case.number)
            today = self.ctx.today()
            if held and today < hearing.held_on:
                raise Refused("hearing_not_yet", date=hearing.held_on.isoformat())
            limit, column = ("rereview_days", "rereview_due") if case.status is Status.REREVIEW else (
                "review_days", "review_due")
            before: date | None = getattr(case, column)
            if before is None:
                after, days = None, 0
            else:
                after, days = self.org.resumed_due(before, limit, case.clock_stopped_on, today)
            how = "held" if held else "cancelled"
            await conn.execute(
                "UPDATE hearings SET ended = ?, ended_on = ?, ended_by = ?, days = ?, due_before = ?, due_after = ?"
                " WHERE id = ?",
                (how, today.isoformat(), actor.id, days, before.isoformat() if before else None,
                 after.isoformat() if after else None, hearing.id),
            )
            changes: dict[str, Any] = {"clock_stopped_on": None}
            if after is not None:
                changes[column] = after.isoformat()
            case = await self.ctx.update_case(conn, case.id, changes)
            event_id = await self.ctx.event(
                conn, case.id, actor, Action.HEARING_END, case.status, None,
                HearingEndData(how=how, days=days, due=after, was=before, hearing=hearing.id),
            )
            await self.outbox.queue(conn, case.petitioner_id, NoticeKind.HEARING, case.id, event_id)
        self.outbox.kick()
        ended = hearing.model_copy(update={"ended": how, "ended_on": today, "days": days,
                                           "due_before": before, "due_after": after})
        return case, ended

    async def case_history(self, actor: Actor, number: str) -> list[Case]:
        """Every case of the same petitioner that the viewer may see, newest first.

        A confidential case is an island: its history is itself alone, and
        the history of a real-name case never lists a confidential one.
        """
        async with self.db.read() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            if case.confidential:
                return [case]
            # The same person across channels (store/ledger.py): phone, employee number, a claim.
            who, args = same_person_sql(*await same_person(self.ctx, conn, case))
            async with conn.execute(
                f"SELECT * FROM cases WHERE {who} AND NOT confidential ORDER BY id DESC", args
            ) as cur:
                cases = [row_to_model(Case, row) async for row in cur]
        return [c for c in cases if self.ctx.may_see(actor, c)]

    # --------------------------------------------------------------- alerts

    def _leader(self, actor: Actor) -> Staff:
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if staff is None or staff.role not in (Role.LEADER, Role.ADMIN):
            raise Forbidden("leaders_only")
        return staff

    async def alerts_for(self, actor: Actor, *, long_running: bool = True) -> AlertsView:
        """Unacknowledged collective-petition alerts and long-running cases in the leader's scope.

        ``long_running=False`` leaves the long-running cases out (the Mini App counts them itself).
        """
        staff = self._leader(actor)
        days = self.org.monitoring.long_running_days
        before = iso(self.clock.now() - timedelta(days=days))
        scope, args = self.ctx.scope(actor)
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT " + ALERT_COLUMNS + " FROM alerts a JOIN cases c ON c.id = a.case_id"
                " WHERE a.acknowledged_at IS NULL ORDER BY a.id DESC"
            ) as cur:
                alerts = [Alert.model_validate(dict(row)) async for row in cur]
            async with conn.execute(
                f"SELECT * FROM cases WHERE {OPEN_SQL} AND submitted_at < ? AND {scope}"
                " ORDER BY submitted_at, id" + ("" if long_running else " LIMIT 0"),
                (before, *args),
            ) as cur:
                found = [row_to_model(Case, row) async for row in cur]
        visible = [
            a for a in alerts if routing.can_handle(self.org, staff, a.unit, a.category, a.confidential)
        ]
        return AlertsView(alerts=visible, long_running=found, long_running_days=days)

    async def alert_by_id(self, alert_id: int) -> Alert | None:
        """An alert for rendering its notification (the recipients were chosen by scope)."""
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT " + ALERT_COLUMNS + " FROM alerts a JOIN cases c ON c.id = a.case_id WHERE a.id = ?",
                (alert_id,),
            ) as cur:
                row = await cur.fetchone()
        return Alert.model_validate(dict(row)) if row else None

    async def acknowledge_alert(self, actor: Actor, alert_id: int) -> Alert:
        staff = self._leader(actor)
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT " + ALERT_COLUMNS + " FROM alerts a JOIN cases c ON c.id = a.case_id WHERE a.id = ?",
                (alert_id,),
            ) as cur:
                row = await cur.fetchone()
            alert = Alert.model_validate(dict(row)) if row else None
            if alert is None or not routing.can_handle(
                self.org, staff, alert.unit, alert.category, alert.confidential
            ):
                raise Refused("alert_not_found")
            if alert.acknowledged_at is not None:
                raise Refused("alert_acknowledged")
            now = self.ctx.now()
            await conn.execute(
                "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, updated_at = ? WHERE id = ?",
                (now, actor.id, now, alert_id),
            )
            case = await self.ctx.case_where(conn, "id = ?", (alert.case_id,))
            assert case is not None
            await self.ctx.event(conn, case.id, actor, Action.ACK_ALERT, case.status, None, AckAlertData(alert=alert_id))
        return alert.model_copy(update={"acknowledged_at": now, "acknowledged_by": actor.id})

    # ---------------------------------------------------------------- sweep

    async def sweep(self) -> SweepReport:
        """Reminders, escalations, lapsed windows and the weekly digest, as of the store clock.

        Safe to run as often as wanted and after any restart: whatever was
        already done is recorded, and whatever is due and not recorded is
        done now, in one transaction with its notifications.
        """
        report = SweepReport()
        now = self.clock.now()
        today = local_date(now, self.tz)
        mon = self.org.monitoring
        horizon = (today + timedelta(days=mon.remind_before_days)).isoformat()
        # In bounded batches, one transaction each, so that answers to people never wait behind
        # one long write (each case's reminders are recorded, so a batch is never done twice).
        after = 0
        while True:
            async with self.db.transaction() as conn:
                async with conn.execute(
                    f"SELECT * FROM cases WHERE id > ? AND {OPEN_SQL} AND {CURRENT_DUE_SQL} <= ?"
                    # cases whose last escalation is out have nothing more to wait for
                    " AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.case_id = cases.id"
                    f" AND r.level = 'escalate1' AND r.due = {CURRENT_DUE_SQL}) ORDER BY id LIMIT ?",
                    (after, horizon, self.sweep_batch),
                ) as cur:
                    due_cases = [row_to_model(Case, row) async for row in cur]
                for case in due_cases:
                    await self._sweep_case(conn, case, today, report)
            if len(due_cases) < self.sweep_batch:
                break
            after = due_cases[-1].id
            await asyncio.sleep(0)  # let waiting answers in between batches
        async with self.db.transaction() as conn:
            # Supervision's warnings and orders, the ledger's contact tasks (subscribed in store.services).
            await self.ctx.events.publish(conn, SweepDue(today, report))
        after = 0
        while True:
            async with self.db.transaction() as conn:
                closed = await self._close_lapsed(conn, today, report, after)
            if closed is None:
                break
            after = closed
            await asyncio.sleep(0)
        async with self.db.transaction() as conn:
            await self._weekly_digest(conn, now, report)
        if report.reminders or report.escalations or report.closed or report.digests or report.warnings:
            self.outbox.kick()
        return report

    def _levels(self, due: date, today: date) -> list[Level]:
        mon = self.org.monitoring
        levels: list[Level] = []
        if mon.remind_before_days and due - timedelta(days=mon.remind_before_days) <= today < due:
            levels.append(Level.BEFORE)
        if today == due:
            levels.append(Level.DUE)
        if today > due:
            levels.append(Level.ESCALATE0)
        if today > due + timedelta(days=mon.escalate_again_days):
            levels.append(Level.ESCALATE1)
        return levels

    async def _sweep_case(
        self, conn: Connection, case: Case, today: date, report: SweepReport
    ) -> None:
        found = current_deadline(case)
        if found is None:
            return
        stage, due = found
        levels = self._levels(due, today)
        if not levels:
            return
        async with conn.execute(
            "SELECT level FROM reminders WHERE case_id = ? AND stage = ? AND due = ?",
            (case.id, stage.value, due.isoformat()),
        ) as cur:
            done = {row["level"] async for row in cur}
        for level in levels:
            if level.value in done:
                continue
            escalation = level in (Level.ESCALATE0, Level.ESCALATE1)
            if escalation:
                recipients = self._escalated(case, stage, 0 if level is Level.ESCALATE0 else 1)
            else:
                recipients = self._reminded(case, stage)
            params = {
                "stage": stage.value,
                "level": level.value,
                "due": due.isoformat(),
                "overdue": (today - due).days,
            }
            await conn.execute(
                "INSERT INTO reminders (case_id, stage, due, level, recipients, sent_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (case.id, stage.value, due.isoformat(), level.value, json.dumps(recipients), self.ctx.now()),
            )
            event_id = None
            if escalation:
                event_id = await self.ctx.event(
                    conn, case.id, SYSTEM, Action.ESCALATE, case.status, None,
                    EscalateData(stage=stage.value, level=level.value, due=due, overdue=(today - due).days,
                                 to=recipients),
                )
                report.escalations += 1
            else:
                report.reminders += 1
            kind = NoticeKind.ESCALATION if escalation else NoticeKind.REMINDER
            for staff_id in recipients:
                await self.ctx.queue_staff(conn, staff_id, kind, case, event_id, DeadlineParams.model_validate(params))

    async def _close_lapsed(self, conn: Connection, today: date, report: SweepReport, after: int = 0) -> int | None:
        """Close written opinions nobody acted on within the window (not rated, or no review asked).

        One batch, of cases after the id ``after``; the last id closed when a full batch was, so
        there may be more, else None.
        """
        day = today.isoformat()
        async with conn.execute(
            "SELECT * FROM cases WHERE id > ? AND status = 'decided' AND served_on IS NOT NULL AND ("
            " (review_level = 0 AND review_request_due < ? AND (rating IS NOT NULL OR rating_due < ?))"
            " OR (review_level = 1 AND rereview_request_due < ?)) ORDER BY id LIMIT ?",
            (after, day, day, day, self.sweep_batch),
        ) as cur:
            lapsed = [row_to_model(Case, row) async for row in cur]
        for case in lapsed:
            reason = "not_rated" if case.rating is None and case.review_level == 0 else "window_closed"
            await self._close(conn, case, SYSTEM, reason, notify=True)
            report.closed += 1
        return lapsed[-1].id if len(lapsed) >= self.sweep_batch else None

    async def _weekly_digest(self, conn: Connection, now: datetime, report: SweepReport) -> None:
        """Once per ISO week, at the configured local day and hour (or at the first sweep after it)."""
        mon = self.org.monitoring
        local = now.astimezone(self.tz)
        monday = local.date() - timedelta(days=local.isoweekday() - 1)
        moment = local_midnight(monday + timedelta(days=mon.digest_weekday - 1), self.tz) + timedelta(
            hours=mon.digest_hour
        )
        if now < moment:
            return
        year, week, _ = monday.isocalendar()
        key = f"digest:{year}-W{week:02d}"
        async with conn.execute(
            "INSERT INTO sweep_marks (key, done_at) VALUES (?, ?) ON CONFLICT DO NOTHING", (key, self.ctx.now())
        ) as cur:
            if cur.rowcount == 0:
                return
        start = moment - timedelta(days=7)
        for staff in self.org.staff:
            if staff.role is not Role.LEADER:
                continue
            leader = Actor(id=staff.telegram_id, role=ActorRole.LEADER, name=staff.name)
            params = await self._digest_figures(conn, leader, start, moment)
            params["week"] = f"{year}-W{week:02d}"
            await self.outbox.queue(conn, staff.telegram_id, NoticeKind.LEADER_DIGEST, None, None,
                                    DigestParams.model_validate(params))
            report.digests += 1

    async def _digest_figures(
        self, conn: Connection, leader: Actor, start: datetime, end: datetime
    ) -> dict[str, Any]:
        scope, named = numbered(*self.ctx.scope(leader))
        staff = self.org.staff_member(leader.id)  # type: ignore[arg-type]
        assert staff is not None
        today = local_date(end, self.tz).isoformat()
        old = iso(end - timedelta(days=self.org.monitoring.long_running_days))
        async with conn.execute(
            "SELECT"
            " count(*) FILTER (WHERE submitted_at >= :a AND submitted_at < :b) AS received,"
            " count(*) FILTER (WHERE decided_at >= :a AND decided_at < :b) AS decided,"
            " count(*) FILTER (WHERE closed_at >= :a AND closed_at < :b) AS closed,"
            f" count(*) FILTER (WHERE {OPEN_SQL} AND {CURRENT_DUE_SQL} < :today) AS overdue,"
            f" count(*) FILTER (WHERE {OPEN_SQL} AND submitted_at < :old) AS long_running,"
            " count(*) FILTER (WHERE repeat_count > 0 AND submitted_at >= :a AND submitted_at < :b) AS repeats"
            # A duplicate merged into another case (store/links.py) is counted as its main case only.
            f" FROM cases WHERE {scope} AND status <> '{Status.MERGED.value}'",
            {"a": iso(start), "b": iso(end), "today": today, "old": old, **named},
        ) as cur:
            figures = dict(await only_row(cur))
        async with conn.execute(
            "SELECT a.unit, a.category, c.confidential FROM alerts a JOIN cases c ON c.id = a.case_id"
            " WHERE a.acknowledged_at IS NULL"
        ) as cur:
            open_alerts = [row async for row in cur]
        figures["alerts"] = sum(
            1
            for row in open_alerts
            if routing.can_handle(self.org, staff, row["unit"], row["category"], bool(row["confidential"]))
        )
        return figures


def numbered(clause: str, args: list[Any]) -> tuple[str, dict[str, Any]]:
    """A clause with "?" placeholders rewritten to :s0, :s1... to mix with named parameters."""
    parts = clause.split("?")
    text = parts[0] + "".join(f":s{i}{part}" for i, part in enumerate(parts[1:]))
    return text, {f"s{i}": value for i, value in enumerate(args)}
