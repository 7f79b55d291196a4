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
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel

from store.clock import local_date
from store.context import Service
from store.db import Connection
from store.errors import Refused
from store.models import Actor, Case, Status, row_to_model
from store.notices import NoticeKind
from store.org import Monitoring, Organization, Role
from store.review import CURRENT_DUE_SQL, OPEN_SQL, Stage, current_deadline

if TYPE_CHECKING:
    from store.review import ReviewService, SweepReport


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


# The time limit (days) of each status's deadline: a number of [deadlines], plus a column.
LIMIT_OF: dict[Status, tuple[str, str | None]] = {
    Status.SUBMITTED: ("accept_days", None),
    Status.ACCEPTED: ("handle_days", "extended_days"),
    Status.IN_PROGRESS: ("handle_days", "extended_days"),
    Status.REVIEW: ("review_days", None),
    Status.REREVIEW: ("rereview_days", None),
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
    setting, extra = found
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
    for status, (setting, extra) in LIMIT_OF.items():
        days = int(getattr(org.deadlines, setting))
        value = f"({days} + COALESCE({extra}, 0))" if extra else str(days)
        parts.append(f"WHEN '{status.value}' THEN {value}")
    return "CASE status " + " ".join(parts) + " END"


def level_sql(org: Organization, today: date) -> str:
    """SQL for the rank (0 normal … 4 超期) of ``warning_level`` over the ``cases`` row.

    Literals only (the date is a date and the numbers are from the
    configuration), so it can stand anywhere in a query without parameters.
    """
    day = today.isoformat()
    due = f"({CURRENT_DUE_SQL})"
    limit = f"({_limit_sql(org)})"
    remaining = f"(julianday({due}) - julianday('{day}'))"
    steps = " ".join(
        f"WHEN {remaining} * 100 <= {100 - pct} * {limit} THEN {level.rank}"
        for level, pct in _thresholds(org.monitoring)
    )
    return f"(CASE WHEN {due} IS NULL OR {limit} IS NULL THEN 0 WHEN {due} < '{day}' THEN 4 {steps} ELSE 0 END)"


class WarnedCase(BaseModel):
    case: Case
    level: WarningLevel
    used: int | None


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

    async def warned_cases(self, actor: Actor, limit: int = 30) -> tuple[list[WarnedCase], int]:
        """/alerts: open cases at 预警 or higher in the caller's scope, highest level then deadline first."""
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if staff is None or staff.role not in (Role.LEADER, Role.ADMIN):
            raise Refused("leaders_only")
        today = self.today()
        rank = level_sql(self.org, today)
        scope, args = self.ctx.scope(actor)
        where = f"{OPEN_SQL} AND {rank} >= 1 AND {scope}"
        async with self.db.read() as conn:
            async with conn.execute(f"SELECT count(*) FROM cases WHERE {where}", args) as cur:
                total = (await cur.fetchone())[0]
            async with conn.execute(
                f"SELECT * FROM cases WHERE {where} ORDER BY {rank} DESC, {CURRENT_DUE_SQL}, id LIMIT ?",
                (*args, limit),
            ) as cur:
                cases = [row_to_model(Case, row) async for row in cur]
        return [WarnedCase(case=c, level=warning_level(c, self.org, today), used=share_used(c, self.org, today))
                for c in cases], total


async def sweep_warnings(review: ReviewService, conn: Connection, today: date, report: SweepReport) -> None:
    """Part of the sweep, in its transaction: the notices of cases that entered 警告 or higher.

    Only the level a case is at now is told (a case that went from 预警 to 超期
    between two sweeps is not told 警告 afterwards); each once per deadline.
    """
    org = review.org
    rank = level_sql(org, today)
    due = f"({CURRENT_DUE_SQL})"
    async with conn.execute(
        f"SELECT * FROM cases WHERE {OPEN_SQL} AND {rank} >= {WarningLevel.WARNING.rank}"
        " AND NOT EXISTS (SELECT 1 FROM warning_notices w WHERE w.case_id = cases.id"
        f" AND w.due = {due} AND w.level = '{WarningLevel.OVERDUE.value}') ORDER BY id"
    ) as cur:
        cases = [row_to_model(Case, row) async for row in cur]
    for case in cases:
        level = warning_level(case, org, today)
        current = current_deadline(case)
        if level not in NOTIFIED or current is None:
            continue
        stage, deadline = current
        async with conn.execute(
            "INSERT INTO warning_notices (case_id, stage, due, level, recipients, sent_at)"
            " VALUES (?, ?, ?, ?, '[]', ?) ON CONFLICT DO NOTHING",
            (case.id, stage.value, deadline.isoformat(), level.value, review.ctx.now()),
        ) as cur:
            if cur.rowcount == 0:
                continue  # told already
        recipients = list(dict.fromkeys(review._reminded(case, stage)))
        if level in LEADERS_TOO:
            recipients += [r for r in review._escalated(case, stage, 0) if r not in recipients]
        await conn.execute(
            "UPDATE warning_notices SET recipients = ? WHERE case_id = ? AND stage = ? AND due = ? AND level = ?",
            (json.dumps(recipients), case.id, stage.value, deadline.isoformat(), level.value),
        )
        params = {
            "level": level.value,
            "stage": stage.value,
            "due": deadline.isoformat(),
            "used": share_used(case, org, today),
            "overdue": max(0, (today - deadline).days),
        }
        for staff_id in recipients:
            await review.outbox.queue(conn, staff_id, NoticeKind.WARNING_LEVEL, case.id, None, params)
        report.warnings += 1


__all__ = [
    "LEVELS",
    "Stage",
    "SupervisionService",
    "WarnedCase",
    "WarningLevel",
    "level_sql",
    "sweep_warnings",
    "warning_level",
]
