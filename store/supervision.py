"""Supervision (督办): graded warnings on every open case.

Graded warnings (预警分级). A case's level comes from the share of its current
time limit already used: below ``warn_notice_pct`` (50 %) normal, then 预警,
from ``warn_warning_pct`` (75 %) 警告, from ``warn_serious_pct`` (90 %) 严重警告,
and 超期 once the deadline has passed (thresholds under ``[monitoring]``).

The current deadline is the store's one rule (``store.review.DEADLINE_OF``);
its time limit is the statutory number of days of that stage (the handling
limit with its extension), so the limit starts ``limit`` days before the
deadline, and a transfer (new acceptance deadline) or an extension (new
handling deadline) starts the grading again. With ``remaining = due - today``
in days the rule is, for each threshold ``p`` from the highest:
``remaining × 100 ≤ (100 − p) × limit``. It is written once as data
(``LIMIT_OF``) and used twice: ``warning_level`` (Python: cards, notices) and
``level_sql`` (SQL: the queue's order, the counts of /stats, the sweep's
selection). ``tests/test_warnings.py`` checks that they agree, day by day.

Entering 警告 or higher tells the handling officer, once per level and
deadline, and 严重警告 also the leaders of the case's unit. The sweep
(``ReviewService.sweep``) does it: each notice is recorded in
``warning_notices`` (UNIQUE per case, stage, deadline and level) in the
transaction that queues it, so a restart neither repeats nor misses one.

Supervision orders (督办). ``/supervise`` by a leader above the case's unit (or
an admin): progress is to be reported by a day, with an instruction (批示);
the handling officer and the unit's leaders are told. ``/progress`` by the
staff handling the case goes to the supervising leader and into the record;
no progress by the due day: the sweep reminds the handler the day after,
and ``escalate_again_days`` later tells the leaders one level above the
supervising leader (recorded in ``supervision_marks``, like the warnings).
``/urge`` (催办) by a leader in scope: a recorded nudge to the handler.

Follow-up (回访). After the written opinion, ``/followup`` by the staff
handling the case records how the petitioner was reached (phone, visit or a
talk in person) and the result: an internal event of the record. The follow-up
rate of ``/stats`` counts the cases decided in the period with such an event.

Leader in charge (领导包案). ``/lead`` by a leader in scope of the case takes
personal charge; ``/lead`` naming a leader, by a leader above the case's unit
(or an admin), gives it to that leader, who must be a leader in scope of the
case. The leader is stored on the case (``cases.lead_id``), named on the card,
and from then on every event of the case is told to them too
(``StoreContext.event`` queues it, in the event's transaction); a leader
replaced by another is told.

Lead and co-handling units (主办 / 协办). ``/cohandle`` by the lead unit's
handling officer, a leader in scope or an admin names a co-handling unit
(``case_cohandlers``, copied on ``cases.cohandlers``). Its staff may read the
case (``routing.can_read`` / ``read_scope_sql``), add notes and report
progress (``store.policy.POLICY``), and are reminded, warned and given
supervision orders with the handler (``StoreContext.cohandler_ids``); every
other action is the lead unit's (``StoreContext.check_lead``). The events are
internal: the petitioner never reads the co-handling unit.

重办 (/redo): the case's handling limit becomes ``redo_days`` (``cases.handle_limit``,
plus an extension granted after it), and the warnings are graded against it.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from store import routing
from store.clock import days_between_sql, local_date
from store.context import Service, StoreContext
from store.db import Backend, Connection
from store.errors import BadInput, Forbidden, Refused
from store.event_data import (
    EscalateData,
    EventData,
    FollowUpData,
    LeadData,
    ProgressData,
    RedoData,
    SuperviseData,
    UnitData,
)
from store.events import Journaled, SweepReport
from store.models import SYSTEM, Actor, Case, Rating, Status, row_to_model
from store.notices import (
    ByParams,
    CohandleParams,
    LeadEventParams,
    NoticeKind,
    OrderOverdueParams,
    OrderParams,
    WarningParams,
)
from store.org import Monitoring, Organization, Role, Staff
from store.review import CURRENT_DUE_SQL, OPEN_SQL, ReviewService, Stage, current_deadline
from store.sqltext import only_row
from store.workflow import OPENING, Action, next_status


class WarningLevel(StrEnum):
    """Warning levels in rising order (the order of ``LEVELS``)."""

    NORMAL = "normal"
    NOTICE = "notice"  # 预警
    WARNING = "warning"  # 警告
    SERIOUS = "serious"  # 严重警告
    OVERDUE = "overdue"  # 超期

    @property
    def rank(self) -> int:
        return LEVELS.index(self)


LEVELS = (WarningLevel.NORMAL, WarningLevel.NOTICE, WarningLevel.WARNING, WarningLevel.SERIOUS,
          WarningLevel.OVERDUE)
# Levels that notify when entered: the handling officer at each, the unit's leaders too at some.
NOTIFIED = (WarningLevel.WARNING, WarningLevel.SERIOUS, WarningLevel.OVERDUE)
LEADERS_TOO = (WarningLevel.SERIOUS,)


# The time limit (days) of each status's deadline: a number of [deadlines], plus a column,
# unless another column holds the whole limit (after a redo, ``handle_limit``).
LIMIT_OF: dict[Status, tuple[str, str | None, str | None]] = {
    Status.SUBMITTED: ("accept_days", None, None),
    Status.ACCEPTED: ("handle_days", "extended_days", "handle_limit"),
    Status.IN_PROGRESS: ("handle_days", "extended_days", "handle_limit"),
    Status.REVIEW: ("review_days", None, None),
    Status.REREVIEW: ("rereview_days", None, None),
}


def _thresholds(mon: Monitoring) -> tuple[tuple[WarningLevel, int], ...]:
    return (
        (WarningLevel.SERIOUS, mon.warn_serious_pct),
        (WarningLevel.WARNING, mon.warn_warning_pct),
        (WarningLevel.NOTICE, mon.warn_notice_pct),
    )


def time_limit(case: Case, org: Organization) -> int | None:
    """The number of days of the limit the case runs against now."""
    found = LIMIT_OF.get(case.status)
    if found is None:
        return None
    setting, extra, override = found
    if override is not None and getattr(case, override) is not None:
        return int(getattr(case, override))  # 重办: the redo's own limit, not the statutory one
    days: int = getattr(org.deadlines, setting)
    return days + (int(getattr(case, extra) or 0) if extra else 0)


def warning_level(case: Case, org: Organization, today: date) -> WarningLevel:
    """The warning level of a case on ``today`` (closed or waiting on the petitioner: normal)."""
    current = current_deadline(case)
    limit = time_limit(case, org)
    if current is None or limit is None:
        return WarningLevel.NORMAL
    _stage, due = current
    if due < today:
        return WarningLevel.OVERDUE
    remaining = (due - today).days
    for level, pct in _thresholds(org.monitoring):
        if remaining * 100 <= (100 - pct) * limit:
            return level
    return WarningLevel.NORMAL


def share_used(case: Case, org: Organization, today: date) -> int | None:
    """Whole percent of the current time limit used (for the texts; the level is ``warning_level``)."""
    current = current_deadline(case)
    limit = time_limit(case, org)
    if current is None or not limit:
        return None
    return max(0, round(100 * (limit - (current[1] - today).days) / limit))


def _limit_sql(org: Organization) -> str:
    parts = []
    for status, (setting, extra, override) in LIMIT_OF.items():
        days = int(getattr(org.deadlines, setting))
        value = f"({days} + COALESCE({extra}, 0))" if extra else str(days)
        if override:
            value = f"COALESCE({override}, {value})"
        parts.append(f"WHEN '{status.value}' THEN {value}")
    return "CASE status " + " ".join(parts) + " END"


def level_sql(org: Organization, today: date, dialect: str) -> str:
    """SQL for the rank (0 normal … 4 超期) of ``warning_level`` over the ``cases`` row, in ``dialect``.

    Literals only (the date is a date and the numbers are from the
    configuration), so it can stand anywhere in a query without parameters.
    """
    day = today.isoformat()
    due = f"({CURRENT_DUE_SQL})"
    limit = f"({_limit_sql(org)})"
    remaining = days_between_sql(due, f"'{day}'", dialect)
    steps = " ".join(
        f"WHEN {remaining} * 100 <= {100 - pct} * {limit} THEN {level.rank}"
        for level, pct in _thresholds(org.monitoring)
    )
    return f"(CASE WHEN {due} IS NULL OR {limit} IS NULL THEN 0 WHEN {due} < '{day}' THEN 4 {steps} ELSE 0 END)"


# ------------------------------------------------------------ stored ranks
# The queue's order (rank, then current deadline) is stored on the case
# (migration 0021): ``queue_fields`` is the one Python rule that fills it, from
# ``warning_level``; ``tests/test_queue_rank.py`` checks the stored rank equals
# the computed level (Python and ``level_sql``) for every case after changes.

NO_DUE = "9999-12-31"  # queue_due of an open case without a deadline: after the dated ones
QUEUE_COLUMNS = ("queue_rank", "queue_due", "rank_next_on")
RERANK_BATCH = 2000


def next_rank_day(case: Case, org: Organization, today: date) -> date | None:
    """The first day after ``today`` on which the case's level changes by itself, if any.

    The level for threshold ``p`` holds once ``due - today <= (100 - p) × limit // 100``
    (whole days), and 超期 from the day after the due date; levels only rise.
    """
    current = current_deadline(case)
    limit = time_limit(case, org)
    if current is None or limit is None:
        return None
    due = current[1]
    days = [due - timedelta(days=((100 - pct) * limit) // 100) for _, pct in _thresholds(org.monitoring)]
    days.append(due + timedelta(days=1))
    later = [d for d in days if d > today]
    return min(later) if later else None


def queue_fields(case: Case, org: Organization, today: date) -> dict[str, object]:
    """The stored queue columns of a case on ``today`` (all NULL once it is not open)."""
    if not case.is_open:
        return dict.fromkeys(QUEUE_COLUMNS)
    current = current_deadline(case)
    upcoming = next_rank_day(case, org, today)
    return {
        "queue_rank": warning_level(case, org, today).rank,
        "queue_due": current[1].isoformat() if current else NO_DUE,
        "rank_next_on": upcoming.isoformat() if upcoming else None,
    }


def rank_basis(org: Organization) -> str:
    """What the stored ranks depend on besides the case and the day: thresholds and time limits."""
    settings = sorted({setting for setting, _, _ in LIMIT_OF.values()})
    return json.dumps({
        "thresholds": [pct for _, pct in _thresholds(org.monitoring)],
        "limits": {name: int(getattr(org.deadlines, name)) for name in settings},
    }, sort_keys=True)


async def _store_ranks(conn: Connection, org: Organization, today: date, cases: list[Case],
                       stored: dict[int, tuple[object, ...]]) -> int:
    changed = 0
    for case in cases:
        fields = queue_fields(case, org, today)
        if tuple(fields.values()) == stored.get(case.id):
            continue
        conn.later(
            "UPDATE cases SET queue_rank = ?, queue_due = ?, rank_next_on = ? WHERE id = ?",
            (*fields.values(), case.id),
        )
        changed += 1
    return changed


async def tell_leader_in_charge(ctx: StoreContext, conn: Connection, journaled: Journaled) -> None:
    """领导包案: every event of a case goes to its leader in charge too (not their own; in scope now)."""
    if journaled.action in OPENING or journaled.inserted:  # a case just made has no leader in charge yet
        return
    case = await ctx.case_where(conn, "id = ? AND lead_id IS NOT NULL", (journaled.case_id,))
    if case is None or case.lead_id is None or case.lead_id == journaled.actor_id:
        return
    await ctx.queue_staff(conn, case.lead_id, NoticeKind.LEAD_EVENT, case, journaled.event_id)


async def rerank_case(conn: Connection, org: Organization, today: date, case_id: int,
                      inserted: Case | None = None) -> None:
    """Keep one case's stored rank current (after any change to it, in the same transaction).

    ``inserted``: the row of a case inserted in this transaction, which has no rank stored yet.
    """
    if inserted is not None:
        await _store_ranks(conn, org, today, [inserted], {inserted.id: (None,) * len(QUEUE_COLUMNS)})
        return
    async with conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        return
    case = row_to_model(Case, row)
    await _store_ranks(conn, org, today, [case], {case.id: tuple(row[c] for c in QUEUE_COLUMNS)})


async def refresh_ranks(conn: Connection, org: Organization, today: date) -> int:
    """The sweep's part: re-rank the cases whose level changes by today; every open case when the
    thresholds or limits changed (or after the upgrade that added the ranks). Cases changed."""
    basis = rank_basis(org)
    args: tuple[str, ...]
    async with conn.execute("SELECT basis FROM rank_basis WHERE id = 1") as cur:
        row = await cur.fetchone()
    if row is None or row["basis"] != basis:
        where, args = f"({OPEN_SQL} OR queue_rank IS NOT NULL)", ()
        await conn.execute("DELETE FROM rank_basis")
        await conn.execute("INSERT INTO rank_basis (id, basis) VALUES (1, ?)", (basis,))
    else:
        where, args = "rank_next_on IS NOT NULL AND rank_next_on <= ?", (today.isoformat(),)
    changed = 0
    after = 0
    while True:  # in batches by id, so memory stays small at any size
        async with conn.execute(
            f"SELECT * FROM cases WHERE {where} AND id > ? ORDER BY id LIMIT {RERANK_BATCH}", (*args, after)
        ) as cur:
            rows = await cur.fetchall()
        if not rows:
            return changed
        cases = [row_to_model(Case, r) for r in rows]
        stored = {int(r["id"]): tuple(r[c] for c in QUEUE_COLUMNS) for r in rows}
        changed += await _store_ranks(conn, org, today, cases, stored)
        after = cases[-1].id


async def ranks_stale(conn: Connection, org: Organization, today: date) -> bool:
    """Whether a day passed since the stored ranks were current (or the thresholds changed):
    one statement, the one row of ``rank_basis`` and a probe of ``cases_by_rank_day``."""
    async with conn.execute(
        "SELECT (SELECT basis FROM rank_basis WHERE id = 1) AS basis, EXISTS (SELECT 1 FROM cases"
        " WHERE rank_next_on IS NOT NULL AND rank_next_on <= ?) AS due", (today.isoformat(),)
    ) as cur:
        row = await only_row(cur)
    return row["basis"] != rank_basis(org) or bool(row["due"])


async def current_ranks(db: Backend, org: Organization, today: date) -> None:
    """Before a queue is read: re-rank now if the sweep has not yet done it today."""
    async with db.read_one() as conn:  # one statement, one round trip
        stale = await ranks_stale(conn, org, today)
    if stale:
        async with db.transaction() as conn:
            await refresh_ranks(conn, org, today)


QUEUE_ORDER = "queue_rank DESC, queue_due, id"  # the order of the cases_by_rank index


def queue_sql(scope: str, min_rank: int = 0) -> str:
    """The page query of /queue and /alerts: open cases in ``scope`` at ``min_rank`` or higher,
    highest level then nearest deadline first, read from ``cases_by_rank`` (no sort).
    Parameters: the scope's, then LIMIT and OFFSET."""
    return (f"SELECT * FROM cases WHERE queue_rank IS NOT NULL AND queue_rank >= {int(min_rank)} AND {scope}"
            f" ORDER BY {QUEUE_ORDER} LIMIT ? OFFSET ?")


async def queue_page(conn: Connection, scope: str, args: list[object] | tuple[object, ...], *,
                     offset: int = 0, limit: int = 10, min_rank: int = 0) -> tuple[list[Case], int]:
    """One page of the queue (``queue_sql``) and how many cases it has in all: both in one trip, in the
    caller's snapshot (``read()``), so the count is the page's."""
    where = f"queue_rank IS NOT NULL AND queue_rank >= {int(min_rank)} AND {scope}"
    counted, page = await conn.together([
        (f"SELECT count(*) FROM cases WHERE {where}", tuple(args)),
        (queue_sql(scope, min_rank), (*args, limit, offset)),
    ])
    return [row_to_model(Case, row) for row in page], int(counted[0][0])


FOLLOW_UP_METHODS = ("phone", "visit", "chat")  # 电话回访, 上门走访, 当面约谈
INSTRUCTION_MAX = 1000  # an instruction, a progress report or an urging text
SUPERVISE_DAYS_MAX = 90
COHANDLERS_MAX = 5  # co-handling units (协办) of one case
UNIT_WORDS_MAX = 8  # a unit's name is at most this many words
OFF_WORDS = frozenset({"off", "取消", "解除", "remove"})  # after the unit: end co-handling instead of a note


class SupervisionOrder(BaseModel):
    id: int
    case_id: int
    leader_id: int
    instruction: str
    due: date
    created_at: datetime
    progress_at: datetime | None = None
    closed_at: datetime | None = None
    reason: Literal["transfers", "repeats"] | None = None  # None: ordered with /supervise; else 提级督办


class WarnedCase(BaseModel):
    case: Case
    level: WarningLevel
    used: int | None
    order: SupervisionOrder | None = None  # the open supervision order, on a card


class SupervisionService(Service):
    """Graded warnings: the level of a case, the warned cases of a leader, the sweep's notices."""

    def today(self) -> date:
        return local_date(self.clock.now(), self.tz)

    def level_of(self, case: Case) -> WarningLevel:
        return warning_level(case, self.org, self.today())

    def used_of(self, case: Case) -> int | None:
        return share_used(case, self.org, self.today())

    def warned(self, case: Case) -> WarnedCase:
        """The case with its level and share of the limit used today (for its card)."""
        today = self.today()
        return WarnedCase(case=case, level=warning_level(case, self.org, today), used=share_used(case, self.org, today))

    async def card_state(self, case: Case) -> WarnedCase:
        """What a staff card shows of supervision: the warning level and the open order."""
        async with self.db.read() as conn:
            order = await _open_order(conn, case.id)
        return self.warned(case).model_copy(update={"order": order})

    # ------------------------------------------------------ supervision orders

    def _staff(self, actor: Actor) -> Staff:
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if staff is None:
            raise Forbidden("forbidden")
        return staff

    def _is_above(self, staff: Staff, case: Case) -> bool:
        """A leader whose unit is above the case's unit (not the unit itself), or an admin; in scope."""
        if not routing.can_handle(self.org, staff, case.unit, case.category):
            return False
        if staff.role is Role.ADMIN:
            return True
        return staff.role is Role.LEADER and any(
            u != case.unit and case.unit in self.org.subtree(u) for u in staff.units
        )

    def _text(self, text: str | None, required: bool = True) -> str | None:
        text = (text or "").strip()
        if not text:
            if required:
                raise BadInput("text_required")
            return None
        if len(text) > INSTRUCTION_MAX:
            raise BadInput("supervision_too_long", max=INSTRUCTION_MAX, length=len(text))
        return text

    async def supervise(self, actor: Actor, number: str, days: int, instruction: str) -> SupervisionOrder:
        """/supervise: progress by ``days`` from today, with an instruction; a newer order replaces the older."""
        staff = self._staff(actor)
        if not 1 <= days <= SUPERVISE_DAYS_MAX:
            raise Refused("supervise_days", limit=SUPERVISE_DAYS_MAX)
        text = self._text(instruction)
        due = self.today() + timedelta(days=days)  # the leader's own date, as given (not a statutory limit)
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            next_status(case.status, Action.SUPERVISE, actor.role)
            self.ctx.check_lead(actor, case, Action.SUPERVISE)
            if not self._is_above(staff, case):
                raise Refused("supervise_above")
            now = self.ctx.now()
            await conn.execute(
                "UPDATE supervisions SET closed_at = ? WHERE case_id = ? AND closed_at IS NULL", (now, case.id)
            )
            async with conn.execute(
                "INSERT INTO supervisions (case_id, leader_id, instruction, due, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (case.id, staff.telegram_id, text, due.isoformat(), now),
            ) as cur:
                order_id = (await only_row(cur))[0]
            event_id = await self.ctx.event(
                conn, case.id, actor, Action.SUPERVISE, case.status, text,
                SuperviseData(supervision=order_id, due=due),
            )
            handlers = _handlers(self.org, case) + self.ctx.cohandler_ids(case)
            leaders = [s.telegram_id for s in routing.leaders_at_level(self.org, case.unit, 0, case.category)]
            recipients = [r for r in dict.fromkeys(handlers + leaders) if r != staff.telegram_id]
            for staff_id in recipients:
                await self.outbox.queue(conn, staff_id, NoticeKind.SUPERVISION_ORDER, case.id, event_id,
                                        OrderParams(due=due.isoformat(), by=staff.telegram_id))
            order = await _open_order(conn, case.id)
        self.outbox.kick()
        assert order is not None
        return order

    async def progress(self, actor: Actor, number: str, text: str) -> Case:
        """/progress: the staff handling the case report; the supervising leader is told."""
        staff = self._staff(actor)
        body = self._text(text)
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            next_status(case.status, Action.PROGRESS, actor.role)
            self.ctx.check_lead(actor, case, Action.PROGRESS)  # the lead unit's staff and the co-handlers' (协办)
            order = await _open_order(conn, case.id)
            now = self.ctx.now()
            event_id = await self.ctx.event(
                conn, case.id, actor, Action.PROGRESS, case.status, body,
                ProgressData(supervision=order.id if order else None),
            )
            if order is not None:
                await conn.execute("UPDATE supervisions SET progress_at = ? WHERE id = ?", (now, order.id))
                if order.leader_id != staff.telegram_id:
                    await self.outbox.queue(conn, order.leader_id, NoticeKind.SUPERVISION_PROGRESS, case.id,
                                            event_id, ByParams(by=staff.telegram_id))
        self.outbox.kick()
        return case

    async def urge(self, actor: Actor, number: str, text: str | None = None) -> Case:
        """/urge (催办): a leader in scope nudges the handler; recorded."""
        staff = self._staff(actor)
        body = self._text(text, required=False)
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            next_status(case.status, Action.URGE, actor.role)
            self.ctx.check_lead(actor, case, Action.URGE)
            if not routing.can_handle(self.org, staff, case.unit, case.category):
                raise Forbidden("forbidden")
            event_id = await self.ctx.event(conn, case.id, actor, Action.URGE, case.status, body, EventData())
            for staff_id in _handlers(self.org, case):
                if staff_id != staff.telegram_id:
                    await self.outbox.queue(conn, staff_id, NoticeKind.SUPERVISION_URGE, case.id, event_id,
                                            ByParams(by=staff.telegram_id))
        self.outbox.kick()
        return case

    async def follow_up(self, actor: Actor, number: str, method: str, result: str) -> Case:
        """/followup (回访): after the written opinion, the staff handling the case record the follow-up."""
        staff = self._staff(actor)
        if method not in FOLLOW_UP_METHODS:
            raise Refused("followup_method")
        body = self._text(result)
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            next_status(case.status, Action.FOLLOW_UP, actor.role)
            self.ctx.check_lead(actor, case, Action.FOLLOW_UP)
            if not routing.can_handle(self.org, staff, case.unit, case.category):
                raise Forbidden("forbidden")
            await self.ctx.event(conn, case.id, actor, Action.FOLLOW_UP, case.status, body, FollowUpData(method=method))
        return case

    async def redo(self, actor: Actor, number: str, reason: str) -> Case:
        """/redo (重办): the petitioner rated 不满意 and asked no review; the case returns to handling.

        A leader in scope orders it with a reason; the handling time starts again
        (``redo_days``), the opinion, the rating and its windows are cleared, so the
        rating and review windows open again with the new opinion. The petitioner
        and the handling staff are told.
        """
        staff = self._staff(actor)
        body = self._text(reason)
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            status = next_status(case.status, Action.REDO, actor.role)
            self.ctx.check_lead(actor, case, Action.REDO)
            if staff.role is not Role.ADMIN and not routing.can_handle(self.org, staff, case.unit, case.category):
                raise Forbidden("forbidden")
            if case.rating is not Rating.DISSATISFIED or case.review_level > 0:
                raise Refused("redo_dissatisfied")
            due = self.org.due_date(self.today(), "redo_days")
            case = await self.ctx.update_case(conn, case.id, {
                "status": status.value, "answer_due": due.isoformat(), "handle_limit": self.org.deadlines.redo_days,
                "decision": None, "rating": None,
                "rated_at": None, "rating_due": None, "review_request_due": None,
            })
            event_id = await self.ctx.event(conn, case.id, actor, Action.REDO, status, body,
                                            RedoData(answer_due=due))
            await self.outbox.queue(conn, case.petitioner_id, NoticeKind.PETITIONER_EVENT, case.id, event_id)
            for staff_id in _handlers(self.org, case):
                if staff_id != staff.telegram_id:
                    await self.ctx.queue_staff(conn, staff_id, NoticeKind.CASE_CARD, case, event_id)
        self.outbox.kick()
        return case

    async def take_lead(self, actor: Actor, number: str, leader: str | None = None) -> tuple[Case, Staff]:
        """/lead (领导包案): the caller takes charge, or a higher leader gives the case to ``leader``."""
        staff = self._staff(actor)
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            next_status(case.status, Action.LEAD, actor.role)
            self.ctx.check_lead(actor, case, Action.LEAD)
            if leader is None or not leader.strip():
                target = staff
            else:
                found = [s for s in _find_staff(self.org, leader) if s.role is Role.LEADER]
                if len(found) != 1:
                    raise Refused("lead_unknown")
                target = found[0]
            if target.telegram_id != staff.telegram_id and not self._is_above(staff, case):
                raise Refused("lead_above")
            if target.role is not Role.LEADER or not self.ctx.in_scope(target.telegram_id, case):
                raise Refused("lead_not_leader" if target is staff else "lead_out_of_scope")
            if case.lead_id == target.telegram_id:
                raise Refused("lead_already")
            before = case.lead_id
            case = await self.ctx.update_case(conn, case.id, {"lead_id": target.telegram_id})
            event_id = await self.ctx.event(conn, case.id, actor, Action.LEAD, case.status, None,
                                            LeadData(leader=target.telegram_id, before=before))
            if before is not None and before != staff.telegram_id:
                # The leader replaced is told who has charge of the case now.
                await self.ctx.queue_staff(conn, before, NoticeKind.LEAD_EVENT, case, event_id,
                                           LeadEventParams(replaced=True))
        self.outbox.kick()
        return case, target

    # ------------------------------------------------ co-handling units (协办)

    def _may_name_cohandlers(self, staff: Staff, case: Case) -> bool:
        """The handling officer of the lead unit, a leader in scope, or an admin."""
        if not routing.can_handle(self.org, staff, case.unit, case.category, case.confidential):
            return False
        return staff.role is not Role.OFFICER or staff.telegram_id in _handlers(self.org, case)

    def _cohandling_unit(self, query: str) -> str:
        found = [u.id for u in self.org.units_named(query)]
        if len(found) != 1:
            raise Refused("cohandle_unknown_unit" if not found else "ambiguous_unit")
        return found[0]

    async def cohandle_text(self, actor: Actor, number: str, text: str) -> tuple[Case, str, bool]:
        """``/cohandle``'s words: the unit at the start (English names have spaces), then ``off`` or a note.

        The case, the unit, and True when it was named (False: it no longer co-handles).
        """
        tokens = list(re.finditer(r"\S+", text))
        unit, rest = (tokens[0].group(0), text[tokens[0].end():]) if tokens else ("", "")
        for count in range(min(len(tokens), UNIT_WORDS_MAX), 0, -1):
            found = [u.id for u in self.org.units_named(" ".join(m.group(0) for m in tokens[:count]))]
            if len(found) > 1:
                raise Refused("ambiguous_unit")
            if found:
                unit, rest = found[0], text[tokens[count - 1].end():]
                break
        if rest.strip().lower() in OFF_WORDS:
            case, unit = await self.cohandle_off(actor, number, unit)
            return case, unit, False
        case, unit = await self.cohandle(actor, number, unit, rest.strip() or None)
        return case, unit, True

    async def cohandle(self, actor: Actor, number: str, unit: str, note: str | None = None) -> tuple[Case, str]:
        """/cohandle (协办): a unit co-handles the case with its lead unit (主办); its officers are told.

        The co-handling unit's staff then see the case, add internal notes and
        report progress, and are reminded with it; the lead unit alone answers
        and decides; the petitioner is never told (the event is internal).
        """
        staff = self._staff(actor)
        unit_id = self._cohandling_unit(unit)
        body = self._text(note, required=False)
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            next_status(case.status, Action.COHANDLE, actor.role)
            self.ctx.check_lead(actor, case, Action.COHANDLE)
            if not self._may_name_cohandlers(staff, case):
                raise Refused("cohandle_who")
            if unit_id == case.unit:
                raise Refused("cohandle_lead_unit")
            if unit_id in case.cohandlers:
                raise Refused("cohandle_already")
            if len(case.cohandlers) >= COHANDLERS_MAX:
                raise Refused("cohandle_too_many", max=COHANDLERS_MAX)
            told = routing.cohandling_officers(self.org, case.unit, case.category, case.confidential, unit_id)
            if not told:  # nobody there may see it (recused from a confidential case, or no staff)
                raise Refused("cohandle_nobody")
            await conn.execute(
                "INSERT INTO case_cohandlers (case_id, unit, note, added_by, added_at) VALUES (?, ?, ?, ?, ?)",
                (case.id, unit_id, body, staff.telegram_id, self.ctx.now()),
            )
            case = await self.ctx.set_cohandlers(conn, case.id)
            event_id = await self.ctx.event(conn, case.id, actor, Action.COHANDLE, case.status, body,
                                            UnitData(unit=unit_id))
            for s in told:
                if s.telegram_id != staff.telegram_id:
                    await self.ctx.queue_staff(conn, s.telegram_id, NoticeKind.COHANDLE, case, event_id,
                                               CohandleParams(unit=unit_id, by=staff.telegram_id, role="cohandler"))
            for staff_id in _handlers(self.org, case):
                if staff_id != staff.telegram_id and staff_id not in {s.telegram_id for s in told}:
                    await self.ctx.queue_staff(conn, staff_id, NoticeKind.COHANDLE, case, event_id,
                                               CohandleParams(unit=unit_id, by=staff.telegram_id, role="lead"))
        self.outbox.kick()
        return case, unit_id

    async def cohandle_off(self, actor: Actor, number: str, unit: str) -> tuple[Case, str]:
        """``/cohandle <no> <unit> off``: the unit no longer co-handles the case; journaled."""
        staff = self._staff(actor)
        unit_id = self._cohandling_unit(unit)
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            next_status(case.status, Action.COHANDLE_OFF, actor.role)
            self.ctx.check_lead(actor, case, Action.COHANDLE_OFF)
            if not self._may_name_cohandlers(staff, case):
                raise Refused("cohandle_who")
            if unit_id not in case.cohandlers:
                raise Refused("cohandle_not")
            await conn.execute("DELETE FROM case_cohandlers WHERE case_id = ? AND unit = ?", (case.id, unit_id))
            case = await self.ctx.set_cohandlers(conn, case.id)
            await self.ctx.event(conn, case.id, actor, Action.COHANDLE_OFF, case.status, None, UnitData(unit=unit_id))
        self.outbox.kick()
        return case, unit_id

    async def warned_cases(self, actor: Actor, limit: int = 30) -> tuple[list[WarnedCase], int]:
        """/alerts: open cases at 预警 or higher in the caller's scope, highest level then deadline first."""
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if staff is None or staff.role not in (Role.LEADER, Role.ADMIN):
            raise Forbidden("leaders_only")
        today = self.today()
        scope, args = self.ctx.scope(actor)
        await current_ranks(self.db, self.org, today)
        async with self.db.read() as conn:
            cases, total = await queue_page(conn, scope, args, limit=limit, min_rank=WarningLevel.NOTICE.rank)
        return [WarnedCase(case=c, level=warning_level(c, self.org, today), used=share_used(c, self.org, today))
                for c in cases], total


def _find_staff(org: Organization, query: str) -> list[Staff]:
    """Staff meant by ``query``: a Telegram id, or a name (exact, any case)."""
    query = query.strip().removeprefix("@")
    if query.isdigit():
        member = org.staff_member(int(query))
        return [member] if member is not None else []
    return [s for s in org.staff if s.name.casefold() == query.casefold()]


def _admins(org: Organization, case: Case) -> list[int]:
    return [s.telegram_id for s in org.staff
            if s.role is Role.ADMIN and routing.can_handle(org, s, case.unit, case.category)]


def _told_of_deadline(review: ReviewService, case: Case, stage: Stage) -> list[int]:
    """Who works against the deadline: the reviewers of a review (re-review), else the handler."""
    if stage in (Stage.REVIEW, Stage.REREVIEW):
        level = 1 if stage is Stage.REVIEW else 2
        return list(dict.fromkeys(s.telegram_id for s in review.reviewers(case, level)))
    return list(dict.fromkeys(_handlers(review.org, case) + review.ctx.cohandler_ids(case)))


def _leaders_over_deadline(org: Organization, case: Case, stage: Stage) -> list[int]:
    """The leaders of the case's unit; for a review (re-review), those above the reviewers."""
    if stage in (Stage.REVIEW, Stage.REREVIEW):  # the tier above the reviewing unit's leaders
        known = org.find_unit(case.unit) is not None
        reviewing = org.reviewing_unit(case.unit, 1 if stage is Stage.REVIEW else 2) if known else None
        found = routing.leaders_at_level(org, reviewing or case.unit, 1, case.category)
    else:
        found = routing.leaders_at_level(org, case.unit, 0, case.category)
    return [s.telegram_id for s in found] or _admins(org, case)


def _handlers(org: Organization, case: Case) -> list[int]:
    """Who handles the case now: the assignee, else the responsible officers."""
    if case.assignee_id is not None and org.staff_member(case.assignee_id) is not None:
        return [case.assignee_id]
    return [s.telegram_id for s in routing.responsible_staff(org, case.unit, case.category)]


async def _open_order(conn: Connection, case_id: int) -> SupervisionOrder | None:
    async with conn.execute(
        "SELECT * FROM supervisions WHERE case_id = ? AND closed_at IS NULL ORDER BY id DESC LIMIT 1", (case_id,)
    ) as cur:
        row = await cur.fetchone()
    return SupervisionOrder.model_validate(dict(row)) if row else None


def _above_supervisor(org: Organization, order: SupervisionOrder, case: Case) -> list[int]:
    """The next level up from the supervising leader (分级负责); the admins at the top."""
    staff = org.staff_member(order.leader_id)
    base = case.unit
    levels_up = 1
    if staff is not None and staff.role is Role.LEADER:
        covering = [u for u in staff.units if case.unit in org.subtree(u)]
        if covering:
            base = covering[0]
    found = [s.telegram_id for s in routing.leaders_at_level(org, base, levels_up, case.category)]
    return [r for r in found or _admins(org, case) if r != order.leader_id]


async def sweep_supervision(review: ReviewService, conn: Connection, today: date, report: SweepReport) -> None:
    """The sweep's part for supervision, in its transaction: graded warnings, lifted cases, overdue orders."""
    await refresh_ranks(conn, review.org, today)  # first: the warnings read the stored ranks
    await sweep_warnings(review, conn, today, report)
    await lift_cases(review, conn, today, report)
    await sweep_orders(review, conn, today, report)


LIFT_REASONS = ("transfers", "repeats")


async def lift_cases(review: ReviewService, conn: Connection, today: date, report: SweepReport) -> None:
    """提级督办: a case transferred ``lift_transfers`` times, or a repeat petition numbered
    ``lift_repeats`` on the same matter, comes under supervision of the next level up, once.

    The order is the first leader's of the level above the case's unit (the admins at the
    top); every leader there, the handler and the unit's leaders are told.
    """
    org = review.org
    mon = org.monitoring
    transfers = "(SELECT count(*) FROM events e WHERE e.case_id = cases.id AND e.action = 'transfer')"
    conditions = []
    if mon.lift_transfers:
        conditions.append(f"{transfers} >= {int(mon.lift_transfers)}")
    if mon.lift_repeats:
        conditions.append(f"repeat_count >= {int(mon.lift_repeats)}")
    if not conditions:
        return
    statuses = ", ".join(f"'{s.value}'" for s in LIMIT_OF)
    async with conn.execute(
        f"SELECT cases.*, {transfers} AS transfers FROM cases WHERE status IN ({statuses})"
        f" AND ({' OR '.join(conditions)})"
        " AND NOT EXISTS (SELECT 1 FROM supervisions s WHERE s.case_id = cases.id AND s.reason IS NOT NULL)"
        " ORDER BY id"
    ) as cur:
        found = [(row_to_model(Case, row), int(row["transfers"])) async for row in cur]
    for case, transferred in found:
        lifted = mon.lift_transfers and transferred >= mon.lift_transfers
        reason = "transfers" if lifted else "repeats"
        count = transferred if lifted else case.repeat_count
        above = [s.telegram_id for s in routing.leaders_at_level(org, case.unit, 1, case.category)]
        above = above or _admins(org, case)
        if not above:
            continue
        due = today + timedelta(days=mon.lift_days)
        now = review.ctx.now()
        await conn.execute(
            "UPDATE supervisions SET closed_at = ? WHERE case_id = ? AND closed_at IS NULL", (now, case.id)
        )
        async with conn.execute(
            "INSERT INTO supervisions (case_id, leader_id, instruction, due, created_at, reason)"
            " VALUES (?, ?, '', ?, ?, ?) RETURNING id",
            (case.id, above[0], due.isoformat(), now, reason),
        ) as cur:
            order_id = (await only_row(cur))[0]
        params = {"due": due.isoformat(), "by": above[0], "reason": reason, "count": count}
        event_id = await review.ctx.event(
            conn, case.id, SYSTEM, Action.SUPERVISE, case.status, None,
            SuperviseData(supervision=order_id, due=due, by=above[0], reason=reason, count=count),
        )
        leaders = [s.telegram_id for s in routing.leaders_at_level(org, case.unit, 0, case.category)]
        for staff_id in dict.fromkeys(above + _handlers(org, case) + review.ctx.cohandler_ids(case) + leaders):
            await review.outbox.queue(conn, staff_id, NoticeKind.SUPERVISION_ORDER, case.id, event_id,
                                      OrderParams.model_validate(params))
        report.escalations += 1


async def sweep_orders(review: ReviewService, conn: Connection, today: date, report: SweepReport) -> None:
    """Orders without progress past their day: remind the handler, later tell the next level up; once each."""
    org = review.org
    again = org.monitoring.escalate_again_days
    async with conn.execute(
        "SELECT s.* FROM supervisions s JOIN cases c ON c.id = s.case_id"
        f" WHERE s.closed_at IS NULL AND s.progress_at IS NULL AND s.due < ? AND c.{OPEN_SQL}"
        " AND NOT EXISTS (SELECT 1 FROM supervision_marks m WHERE m.supervision_id = s.id"
        " AND m.level = 'escalate') ORDER BY s.id",
        (today.isoformat(),),
    ) as cur:
        orders = [SupervisionOrder.model_validate(dict(row)) async for row in cur]
    for order in orders:
        case = await review.ctx.case_where(conn, "id = ?", (order.case_id,))
        assert case is not None
        steps = ["remind"]
        if today > order.due + timedelta(days=again):
            steps.append("escalate")
        for step in steps:
            async with conn.execute(
                "INSERT INTO supervision_marks (supervision_id, level, sent_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (order.id, step, review.ctx.now()),
            ) as cur:
                if cur.rowcount == 0:
                    continue
            if step == "remind":  # the handler, and the co-handling units' officers (协办)
                recipients = list(dict.fromkeys(_handlers(org, case) + review.ctx.cohandler_ids(case)))
            else:
                recipients = _above_supervisor(org, order, case)
            await conn.execute(
                "UPDATE supervision_marks SET recipients = ? WHERE supervision_id = ? AND level = ?",
                (json.dumps(recipients), order.id, step),
            )
            params = {"level": step, "due": order.due.isoformat(), "by": order.leader_id,
                      "overdue": (today - order.due).days}
            event_id = None
            if step == "escalate":
                event_id = await review.ctx.event(
                    conn, case.id, SYSTEM, Action.ESCALATE, case.status, None,
                    EscalateData(level=step, due=order.due, by=order.leader_id, overdue=(today - order.due).days,
                                 supervision=order.id, to=recipients),
                )
                report.escalations += 1
            else:
                report.reminders += 1
            for staff_id in recipients:
                await review.outbox.queue(conn, staff_id, NoticeKind.SUPERVISION_OVERDUE, case.id, event_id,
                                          OrderOverdueParams.model_validate(params))


#: The cases the sweep may have to tell of a warning level: 警告 or higher by their stored rank, and not
#: told of that rank for their current deadline (``told_rank``, ``told_due``: migration 0029), so a day's
#: sweep reads the cases whose level changed, not every case in warning. ``UNTOLD`` is the partial index
#: ``cases_untold``'s own expression, word for word (a query uses a partial index only when its WHERE
#: states the index's); ``tests/test_warnings.py`` checks the two agree. ``bench.store_scale`` times it.
#: No ORDER BY: the sweep sorts them itself.
UNTOLD = (f"queue_rank >= {WarningLevel.WARNING.rank}"
          " AND (told_rank IS NULL OR told_due <> queue_due OR told_rank < queue_rank)")
WARNING_SWEEP_SQL = f"SELECT * FROM cases WHERE {UNTOLD}"


async def sweep_warnings(review: ReviewService, conn: Connection, today: date, report: SweepReport) -> None:
    """Part of the sweep, in its transaction: the notices of cases that entered 警告 or higher.

    Only the level a case is at now is told (a case that went from 预警 to 超期
    between two sweeps is not told 警告 afterwards); each once per deadline.
    """
    org = review.org
    async with conn.execute(WARNING_SWEEP_SQL) as cur:  # the stored ranks, refreshed for today by refresh_ranks
        found = sorted([(row_to_model(Case, row), row["queue_rank"], row["queue_due"]) async for row in cur],
                       key=lambda read: read[0].id)
    for case, rank, rank_due in found:
        level = warning_level(case, org, today)
        current = current_deadline(case)
        if level not in NOTIFIED or current is None:
            continue
        stage, deadline = current
        # Told (now, or before the case had its mark): out of the sweep's reading until its rank or deadline moves.
        conn.later("UPDATE cases SET told_rank = ?, told_due = ? WHERE id = ?", (rank, rank_due, case.id))
        async with conn.execute(
            "INSERT INTO warning_notices (case_id, stage, due, level, recipients, sent_at)"
            " VALUES (?, ?, ?, ?, '[]', ?) ON CONFLICT DO NOTHING",
            (case.id, stage.value, deadline.isoformat(), level.value, review.ctx.now()),
        ) as cur:
            if cur.rowcount == 0:
                continue  # told already
        recipients = _told_of_deadline(review, case, stage)
        if level in LEADERS_TOO:
            recipients += [r for r in _leaders_over_deadline(org, case, stage) if r not in recipients]
        await conn.execute(
            "UPDATE warning_notices SET recipients = ? WHERE case_id = ? AND stage = ? AND due = ? AND level = ?",
            (json.dumps(recipients), case.id, stage.value, deadline.isoformat(), level.value),
        )
        params = WarningParams(level=level.value, stage=stage.value, due=deadline.isoformat(),
                               used=share_used(case, org, today), overdue=max(0, (today - deadline).days))
        for staff_id in recipients:
            await review.outbox.queue(conn, staff_id, NoticeKind.WARNING_LEVEL, case.id, None, params)
        report.warnings += 1


__all__ = [
    "FOLLOW_UP_METHODS",
    "LEVELS",
    "Stage",
    "SupervisionService",
    "WarnedCase",
    "WarningLevel",
    "level_sql",
    "current_ranks",
    "queue_fields",
    "queue_page",
    "queue_sql",
    "refresh_ranks",
    "rerank_case",
    "sweep_supervision",
    "sweep_warnings",
    "warning_level",
]
