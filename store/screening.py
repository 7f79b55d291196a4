"""Regular dispute screening (矛盾纠纷排查): periods, unit reports, disputes, carry-over, reminders.

The essay asks for "经常性的矛盾纠纷排查调处": every unit screens for disputes
regularly, so that they are solved at the grassroots while they are small.

Periods. ``[screening] period`` is monthly (``2026-11``) or weekly
(``2026-W45``); on ``request_day`` of each period the responsible officers of
every unit taking part (``Organization.screening_units``) are asked to file.

Reports. A unit has filed for a period when it entered a dispute found in it,
or made the explicit nil report (本期未发现矛盾纠纷). No report
``reminder_days`` after the request: the officers are reminded; after
``escalate_days`` more, the unit's leaders are told. Each notice once: the
sweep records it in ``screening_notices`` (UNIQUE per period, unit and step)
in the transaction that queues it, like the case reminders.

Disputes. Type, subject, people involved, risk (低 / 中 / 高), status
(排查中 / 调处中 / 已化解 / 稳控), the person responsible and the next step.
An update changes the status and adds a dated note. A dispute shows in the
register of every period from the one it was found in until the one it was
resolved (已化解) in: open disputes carry over without being entered again.

Petition cases. A dispute may be linked to a petition case the caller can see
(``link_case``). A case is filed by its petitioner (or registered as petitions
are), never made by the screening itself: when a dispute becomes a petition,
the officer links the new case's number to it.

Who. Officers covering a unit (and administrators) file and update its
disputes; leaders (and administrators) read the register of their units.
Every action is journaled in ``screening_journal`` (append-only, hash-chained
like the case journal).

Group incidents. A dispute that is, or becomes, high-risk (高) while open is
published as ``store.events.DisputeHighRisk`` in the same transaction: the
group-incident plan (subscribed in ``store.services``) decides from its levels'
numbers of people whether an incident opens. It runs inside a savepoint: a
failing plan is logged and never loses the entry.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from store import journal, routing
from store.clock import local_date
from store.context import Service, StoreContext
from store.db import Connection
from store.errors import BadInput, Forbidden, NotFound, Refused
from store.events import DisputeHighRisk
from store.models import SYSTEM, Actor, ActorRole
from store.notices import NoticeKind, ScreeningParams, params_of
from store.org import Organization, Role, ScreeningPeriod, Staff
from store.safetext import SafeText
from store.sqltext import only_row

log = logging.getLogger(__name__)

SUBJECT_MAX = 200
RESPONSIBLE_MAX = 100
NEXT_STEP_MAX = 500
NOTE_MAX = 1000
PEOPLE_MAX = 100_000


class Risk(StrEnum):
    LOW = "low"  # 低
    MEDIUM = "medium"  # 中
    HIGH = "high"  # 高


class DisputeStatus(StrEnum):
    SCREENING = "screening"  # 排查中
    MEDIATING = "mediating"  # 调处中
    RESOLVED = "resolved"  # 已化解
    STABLE = "stable"  # 稳控


class ReportState(StrEnum):
    FILED = "filed"  # a dispute was entered for the period
    NIL = "nil"  # 本期未发现矛盾纠纷
    MISSING = "missing"  # not filed


# ------------------------------------------------------------------ periods


class Period(BaseModel):
    """One screening period: ``start`` included, ``end`` excluded; the request goes out on ``request_day``."""

    label: str
    start: date
    end: date
    request_day: date


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def period_of(org: Organization, day: date) -> Period:
    """The period ``day`` falls in."""
    conf = org.screening
    if conf.period is ScreeningPeriod.WEEKLY:
        start = day - timedelta(days=day.isoweekday() - 1)
        year, week, _ = start.isocalendar()
        return Period(label=f"{year}-W{week:02d}", start=start, end=start + timedelta(days=7),
                      request_day=start + timedelta(days=conf.request_day - 1))
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return Period(label=f"{start:%Y-%m}", start=start, end=end,
                  request_day=start + timedelta(days=conf.request_day - 1))


def parse_period(org: Organization, text: str) -> Period | None:
    """A period as written (2026-11 monthly, 2026-W45 weekly), in the configured kind; None if not one."""
    text = text.strip().upper()
    try:
        if org.screening.period is ScreeningPeriod.WEEKLY:
            found = _WEEK.fullmatch(text)
            return period_of(org, date.fromisocalendar(int(found[1]), int(found[2]), 1)) if found else None
        found = _MONTH.fullmatch(text)
        return period_of(org, date(int(found[1]), int(found[2]), 1)) if found else None
    except ValueError:
        return None


def previous_period(org: Organization, period: Period) -> Period:
    return period_of(org, period.start - timedelta(days=1))


# ----------------------------------------------------------------- records


#: A linked case's number as the register shows it: never a confidential case's or a report's (an island;
#: links made before they were refused stay in the journal, not in the register).
CASE_NUMBER = "CASE WHEN c.confidential OR c.kind = 'report' THEN NULL ELSE c.number END AS case_number"


class DisputeIn(BaseModel):
    """A dispute as the officer enters it."""

    type: str
    subject: SafeText
    people: int
    risk: Risk
    status: DisputeStatus = DisputeStatus.SCREENING
    responsible: SafeText
    next_step: SafeText


class Dispute(BaseModel):
    id: int
    unit: str
    period: str
    found_day: date
    type: str
    subject: str
    people: int
    risk: Risk
    status: DisputeStatus
    responsible: str
    next_step: str
    case_id: int | None = None
    case_number: str | None = None
    filed_by: int
    resolved_day: date | None = None

    @property
    def open(self) -> bool:
        return self.status is not DisputeStatus.RESOLVED


class DisputeNote(BaseModel):
    id: int
    dispute_id: int
    day: date
    actor_id: int
    status_before: DisputeStatus | None = None
    status_after: DisputeStatus
    text: str


class UnitReport(BaseModel):
    unit: str
    state: ReportState
    filed_at: str | None = None


class Register(BaseModel):
    """The register of one period over some units: who reported, and every dispute shown in it."""

    period: Period
    units: list[UnitReport]
    disputes: list[Dispute]  # found in the period or carried over into it, by unit order then id

    def reported(self) -> list[UnitReport]:
        return [u for u in self.units if u.state is not ReportState.MISSING]

    def missing(self) -> list[UnitReport]:
        return [u for u in self.units if u.state is ReportState.MISSING]

    def count_by(self, field: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for dispute in self.disputes:
            key = str(getattr(dispute, field))
            counts[key] = counts.get(key, 0) + 1
        return counts

    def high_risk(self) -> list[Dispute]:
        """High-risk disputes still open, most people first."""
        found = [d for d in self.disputes if d.risk is Risk.HIGH and d.open]
        return sorted(found, key=lambda d: (-d.people, d.id))

    def carried_over(self, dispute: Dispute) -> bool:
        return dispute.found_day < self.period.start


class SweepResult(BaseModel):
    requests: int = 0
    reminders: int = 0
    escalations: int = 0


def _became_high(before: Dispute | None, after: Dispute) -> bool:
    """Does ``after`` call for the incident plan: open and high-risk now, and not already so with as many people?"""
    if after.risk is not Risk.HIGH or not after.open:
        return False
    return before is None or before.risk is not Risk.HIGH or not before.open or after.people > before.people


def screening_officers(org: Organization, unit_id: str) -> list[Staff]:
    """Who files for a unit: the officers assigned there, else the nearest above; the admins if none.

    Discipline-inspection staff never file: they take reports only, as in routing.
    """
    for level in org.ancestors(unit_id):
        found = [s for s in org.staff if s.role is Role.OFFICER and level.id in s.units and not s.discipline]
        if found:
            return found
    return [s for s in org.staff if s.role is Role.ADMIN]


def screening_leaders(org: Organization, unit_id: str) -> list[Staff]:
    """Who is told of a unit that does not report: its nearest leaders; the admins if none."""
    return routing.leaders_at_level(org, unit_id, 0) or [s for s in org.staff if s.role is Role.ADMIN]


def refusal_to_tell(org: Organization, chat_id: int, kind: NoticeKind, params: dict[str, Any]) -> str | None:
    """At send time: why a screening request, reminder or escalation may no longer go to ``chat_id``.

    The same rule as when it was queued: the officers who file for the unit,
    or (escalated) its nearest leaders; None: it may.
    """
    if org.staff_member(chat_id) is None:
        return "not_staff"
    unit = params_of(kind, params, ScreeningParams).unit
    if org.find_unit(unit) is None:
        return "out_of_scope"
    wanted = screening_leaders(org, unit) if kind is NoticeKind.SCREENING_OVERDUE else screening_officers(org, unit)
    return None if chat_id in {s.telegram_id for s in wanted} else "out_of_scope"


class ScreeningService(Service):
    """The screening register: filing, nil reports, updates, links, the roll-up and the sweep."""

    def __init__(self, ctx: StoreContext) -> None:
        super().__init__(ctx)

    # ------------------------------------------------------------ periods

    def today(self) -> date:
        return local_date(self.clock.now(), self.tz)

    def current_period(self) -> Period:
        return period_of(self.org, self.today())

    def period(self, label: str | None = None) -> Period:
        """The period named ``label`` (None: the current one); Refused("bad_period") if it is not one."""
        if label is None:
            return self.current_period()
        found = parse_period(self.org, label)
        if found is None:
            raise Refused("screening_bad_period", period=label[:20])
        return found

    # --------------------------------------------------------------- scope

    def _staff(self, actor: Actor) -> Staff:
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if staff is None:
            raise Forbidden("forbidden")
        return staff

    def filing_units(self, actor: Actor) -> list[str]:
        """The units taking part that the caller may file for: an officer's covered units, every one for admins.

        Discipline-inspection staff file nothing: the screening is the units' own work.
        """
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if staff is None or staff.role is Role.LEADER or staff.discipline:
            return []
        return [u.id for u in self.org.screening_units() if self.org.covers(staff, u.id)]

    def _check_filer(self, actor: Actor, unit: str) -> Staff:
        staff = self._staff(actor)
        if self.org.find_unit(unit) is None:
            raise Refused("unknown_unit")
        if unit not in self.filing_units(actor):
            raise Refused("screening_not_yours")
        return staff

    def register_units(self, actor: Actor, unit: str | None = None) -> list[str]:
        """The units taking part whose register the caller may read (leaders: their subtrees; admins: all)."""
        units = [u.id for u in self.org.screening_units()]
        staff = None
        if actor.role is not ActorRole.SYSTEM:
            staff = self._staff(actor)
            if staff.role is Role.OFFICER:
                raise Refused("screening_leaders_only")
            units = [u for u in units if self.org.covers(staff, u)]
        if unit is not None:
            found = self.org.find_unit_named(unit)
            below = self.org.subtree(found.id) if found is not None else frozenset()
            if found is None or (staff is not None and not self.org.covers(staff, found.id)
                                 and not below & set(units)):
                raise Refused("unknown_unit")  # none, or out of the caller's units: alike
            units = [u for u in units if u in below]
        return units

    # ------------------------------------------------------------- journal

    async def _journal(
        self, conn: Connection, actor: Actor, action: str, period: str, unit: str,
        dispute_id: int | None = None, data: dict[str, Any] | None = None,
    ) -> int:
        return await journal.append_chained(conn, "screening_journal", {
            "at": self.ctx.now(),
            "actor_id": actor.id,
            "actor_role": actor.role.value,
            "action": action,
            "period": period,
            "unit": unit,
            "dispute_id": dispute_id,
            "data": json.dumps(data or {}, ensure_ascii=False, sort_keys=True),
        }, journal_content)

    # ------------------------------------------------------------- filing

    def _entry(self, entry: DisputeIn) -> DisputeIn:
        """The entry checked and trimmed; Refused with the field's code otherwise."""
        if self.org.screening.find_type(entry.type) is None:
            raise Refused("screening_bad_type")
        subject = entry.subject.strip()
        responsible = entry.responsible.strip()
        next_step = entry.next_step.strip()
        for value, limit in ((subject, SUBJECT_MAX), (responsible, RESPONSIBLE_MAX), (next_step, NEXT_STEP_MAX)):
            if not value:
                raise BadInput("text_required")
            if len(value) > limit:
                raise BadInput("screening_too_long", max=limit, length=len(value))
        if not 1 <= entry.people <= PEOPLE_MAX:
            raise Refused("screening_bad_people", max=PEOPLE_MAX)
        return entry.model_copy(update={"subject": subject, "responsible": responsible, "next_step": next_step})

    async def _mark_filed(self, conn: Connection, actor: Actor, period: str, unit: str, nil: bool) -> bool:
        """Record the unit's report for the period; a dispute after a nil report turns it into a filed one."""
        async with conn.execute(
            "INSERT INTO screening_reports (period, unit, nil, filed_by, filed_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (period, unit, nil, actor.id, self.ctx.now()),
        ) as cur:
            fresh = bool(cur.rowcount > 0)
        if not fresh and not nil:
            await conn.execute(
                "UPDATE screening_reports SET nil = FALSE WHERE period = ? AND unit = ?", (period, unit)
            )
        return fresh

    async def file(self, actor: Actor, unit: str, entry: DisputeIn, submit_key: str | None = None) -> Dispute:
        """A dispute found this period at ``unit``; the unit has reported. The same ``submit_key``: the same dispute."""
        self._check_filer(actor, unit)
        entry = self._entry(entry)
        period = self.current_period()
        today = self.today()
        async with self.db.transaction() as conn:
            if submit_key is not None:
                existing = await self._dispute_where(conn, "d.submit_key = ?", (submit_key,))
                if existing is not None:
                    return existing
            now = self.ctx.now()
            async with conn.execute(
                "INSERT INTO disputes (unit, period, found_day, type, subject, people, risk, status, responsible,"
                " next_step, filed_by, created_at, updated_at, resolved_day, submit_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (unit, period.label, today.isoformat(), entry.type, entry.subject, entry.people, entry.risk.value,
                 entry.status.value, entry.responsible, entry.next_step, actor.id, now, now,
                 today.isoformat() if entry.status is DisputeStatus.RESOLVED else None, submit_key),
            ) as cur:
                dispute_id = int((await only_row(cur))[0])
            await conn.execute(
                "INSERT INTO dispute_notes (dispute_id, day, at, actor_id, status_before, status_after, text)"
                " VALUES (?, ?, ?, ?, NULL, ?, ?)",
                (dispute_id, today.isoformat(), now, actor.id, entry.status.value, entry.next_step),
            )
            await self._mark_filed(conn, actor, period.label, unit, nil=False)
            await self._journal(conn, actor, "file", period.label, unit, dispute_id,
                                {"type": entry.type, "people": entry.people, "risk": entry.risk.value,
                                 "status": entry.status.value})
            dispute = await self._dispute_where(conn, "d.id = ?", (dispute_id,))
            assert dispute is not None
            await self._maybe_incident(conn, None, dispute)
        self.outbox.kick()
        return dispute

    async def nil_report(self, actor: Actor, unit: str) -> bool:
        """本期未发现矛盾纠纷 for ``unit`` this period; False if the unit had reported already (nothing changes)."""
        self._check_filer(actor, unit)
        period = self.current_period()
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT nil FROM screening_reports WHERE period = ? AND unit = ?", (period.label, unit)
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                if not row["nil"]:
                    raise Refused("screening_nil_after_disputes")
                return False
            await self._mark_filed(conn, actor, period.label, unit, nil=True)
            await self._journal(conn, actor, "nil", period.label, unit)
        return True

    async def update(
        self, actor: Actor, dispute_id: int, status: DisputeStatus, note: str,
        *, risk: Risk | None = None, people: int | None = None,
    ) -> Dispute:
        """A new status with a dated note (and, optionally, a new risk or number of people)."""
        text = note.strip()
        if not text:
            raise BadInput("text_required")
        if len(text) > NOTE_MAX:
            raise BadInput("screening_too_long", max=NOTE_MAX, length=len(text))
        if people is not None and not 1 <= people <= PEOPLE_MAX:
            raise Refused("screening_bad_people", max=PEOPLE_MAX)
        today = self.today()
        async with self.db.transaction() as conn:
            before = await self._own_dispute(conn, actor, dispute_id)
            now = self.ctx.now()
            resolved = today.isoformat() if status is DisputeStatus.RESOLVED else None
            await conn.execute(
                "UPDATE disputes SET status = ?, risk = ?, people = ?, updated_at = ?,"
                " resolved_day = CASE WHEN CAST(? AS TEXT) IS NULL THEN NULL"
                " ELSE COALESCE(resolved_day, ?) END WHERE id = ?",
                (status.value, (risk or before.risk).value, people or before.people, now, resolved, resolved,
                 dispute_id),
            )
            await conn.execute(
                "INSERT INTO dispute_notes (dispute_id, day, at, actor_id, status_before, status_after, text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (dispute_id, today.isoformat(), now, actor.id, before.status.value, status.value, text),
            )
            after = await self._dispute_where(conn, "d.id = ?", (dispute_id,))
            assert after is not None
            await self._journal(conn, actor, "update", self.current_period().label, before.unit, dispute_id,
                                {"from": before.status.value, "to": status.value, "risk": after.risk.value,
                                 "people": after.people})
            await self._maybe_incident(conn, before, after)
        self.outbox.kick()
        return after

    async def link_case(self, actor: Actor, dispute_id: int, number: str) -> Dispute:
        """Link the dispute to a petition case the caller may see (it became that petition, or belongs to it)."""
        async with self.db.transaction() as conn:
            dispute = await self._own_dispute(conn, actor, dispute_id)
            case = await self.ctx.load_case(conn, actor, number)
            if case.identity_protected:
                # An island (docs/confidentiality.md): the register is read by everyone covering the unit,
                # recused staff and the unit reported on included; a link would point them at the report.
                raise Refused("screening_link_confidential", number=case.number)
            await conn.execute(
                "UPDATE disputes SET case_id = ?, updated_at = ? WHERE id = ?", (case.id, self.ctx.now(), dispute_id)
            )
            await self._journal(conn, actor, "link", self.current_period().label, dispute.unit, dispute_id,
                                {"case": case.number})
            linked = await self._dispute_where(conn, "d.id = ?", (dispute_id,))
            assert linked is not None
        return linked

    async def _own_dispute(self, conn: Connection, actor: Actor, dispute_id: int) -> Dispute:
        """A dispute of a unit the caller files for; one of another unit answers like one that does not exist."""
        self._staff(actor)
        found = await self._dispute_where(conn, "d.id = ?", (dispute_id,))
        if found is None or found.unit not in self.filing_units(actor):
            raise NotFound("screening_no_dispute")
        return found

    async def _maybe_incident(self, conn: Connection, before: Dispute | None, after: Dispute) -> None:
        """A dispute that became high-risk: the incident plan (subscribed in store.services) decides, in this transaction."""
        if not _became_high(before, after):
            return
        await conn.execute("SAVEPOINT incident_plan")
        try:
            await self.ctx.events.publish(conn, DisputeHighRisk(f"#{after.id}", after.people, after.unit))
        except Exception:  # the dispute is stored; the plan's failure must not undo or hide that
            await conn.execute("ROLLBACK TO SAVEPOINT incident_plan")
            log.exception("the group-incident plan failed for a screening dispute")
        await conn.execute("RELEASE SAVEPOINT incident_plan")

    # ------------------------------------------------------------- reading

    async def _dispute_where(self, conn: Connection, where: str, args: tuple[Any, ...]) -> Dispute | None:
        async with conn.execute(
            "SELECT d.*, " + CASE_NUMBER + " FROM disputes d LEFT JOIN cases c ON c.id = d.case_id"
            f" WHERE {where}", args
        ) as cur:
            row = await cur.fetchone()
        return Dispute.model_validate(dict(row)) if row else None

    async def dispute(self, actor: Actor, dispute_id: int) -> Dispute:
        """One dispute, for someone who may file for its unit or read its register."""
        async with self.db.read() as conn:
            found = await self._dispute_where(conn, "d.id = ?", (dispute_id,))
        if found is None or not self._may_read(actor, found.unit):
            raise NotFound("screening_no_dispute")
        return found

    def _may_read(self, actor: Actor, unit: str) -> bool:
        if actor.role is ActorRole.SYSTEM:
            return True
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        return staff is not None and (staff.role is Role.ADMIN or self.org.covers(staff, unit))

    async def notes(self, actor: Actor, dispute_id: int) -> list[DisputeNote]:
        await self.dispute(actor, dispute_id)
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT * FROM dispute_notes WHERE dispute_id = ? ORDER BY id", (dispute_id,)
            ) as cur:
                return [DisputeNote.model_validate(dict(row)) async for row in cur]

    async def open_disputes(self, actor: Actor, unit: str) -> list[Dispute]:
        """The unit's disputes not yet resolved (what an officer updates), oldest first."""
        self._check_filer(actor, unit)
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT d.*, " + CASE_NUMBER + " FROM disputes d LEFT JOIN cases c ON c.id = d.case_id"
                " WHERE d.unit = ? AND d.status <> 'resolved' ORDER BY d.id",
                (unit,),
            ) as cur:
                return [Dispute.model_validate(dict(row)) async for row in cur]

    async def report_state(self, unit: str, period: Period | None = None) -> ReportState:
        period = period or self.current_period()
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT nil FROM screening_reports WHERE period = ? AND unit = ?", (period.label, unit)
            ) as cur:
                row = await cur.fetchone()
        if row is None:
            return ReportState.MISSING
        return ReportState.NIL if row["nil"] else ReportState.FILED

    async def register(self, actor: Actor, period: str | None = None, unit: str | None = None) -> Register:
        """/screening, /export, ``petition-bot report``: who reported, and the disputes of the period."""
        found = self.period(period)
        units = self.register_units(actor, unit)
        return await self._register(found, units)

    async def register_for_export(self, actor: Actor, end: date, unit: str | None = None) -> Register | None:
        """The register beside an export whose period ends (excluded) on ``end``: the screening period
        holding its last day, or today's if that is earlier; None for a caller without a register."""
        day = min(end - timedelta(days=1), self.today())
        try:
            units = self.register_units(actor, unit)
        except Refused:
            return None
        return await self._register(period_of(self.org, day), units)

    async def _register(self, period: Period, units: list[str]) -> Register:
        if not units:
            return Register(period=period, units=[], disputes=[])
        marks = ", ".join("?" * len(units))
        async with self.db.read() as conn:
            async with conn.execute(
                f"SELECT unit, nil, filed_at FROM screening_reports WHERE period = ? AND unit IN ({marks})",
                (period.label, *units),
            ) as cur:
                filed = {row["unit"]: row async for row in cur}
            async with conn.execute(
                "SELECT d.*, " + CASE_NUMBER + " FROM disputes d LEFT JOIN cases c ON c.id = d.case_id"
                f" WHERE d.unit IN ({marks}) AND d.found_day < ?"
                " AND (d.resolved_day IS NULL OR d.resolved_day >= ?) ORDER BY d.id",
                (*units, period.end.isoformat(), period.start.isoformat()),
            ) as cur:
                disputes = [Dispute.model_validate(dict(row)) async for row in cur]
        reports = []
        for unit in units:
            row = filed.get(unit)
            state = ReportState.MISSING if row is None else ReportState.NIL if row["nil"] else ReportState.FILED
            reports.append(UnitReport(unit=unit, state=state, filed_at=row["filed_at"] if row else None))
        order = {u: i for i, u in enumerate(units)}
        disputes.sort(key=lambda d: (order.get(d.unit, len(order)), d.id))
        return Register(period=period, units=reports, disputes=disputes)

    # ---------------------------------------------------------------- sweep

    async def sweep(self) -> SweepResult:
        """The requests, reminders and words to leaders due now; each once, whatever the number of runs.

        The current period's steps, and the previous period's reminder and
        escalation when its request went out (a late request day may run past
        the period's end).
        """
        result = SweepResult()
        today = self.today()
        current = self.current_period()
        units = [u.id for u in self.org.screening_units()]
        async with self.db.transaction() as conn:
            for period, ask in ((previous_period(self.org, current), False), (current, True)):
                for unit in units:
                    await self._sweep_unit(conn, period, unit, today, ask, result)
        if result.requests or result.reminders or result.escalations:
            self.outbox.kick()
        return result

    async def _sweep_unit(
        self, conn: Connection, period: Period, unit: str, today: date, ask: bool, result: SweepResult
    ) -> None:
        conf = self.org.screening
        async with conn.execute(
            "SELECT 1 FROM screening_reports WHERE period = ? AND unit = ?", (period.label, unit)
        ) as cur:
            if await cur.fetchone() is not None:
                return  # reported: nothing more to ask
        async with conn.execute(
            "SELECT level, sent_at FROM screening_notices WHERE period = ? AND unit = ?", (period.label, unit)
        ) as cur:
            done = {row["level"]: local_date(_moment(row["sent_at"]), self.tz) async for row in cur}
        if "request" not in done and not ask:
            return  # never asked in that period (the bot started after it): not reminded either
        # Each step counts from the day the one before it went out, so a bot started late in the period (or
        # back after an outage) gives the officers their full reminder_days, never a request and a
        # reminder at once.
        for level, previous, wait in (("request", None, 0), ("remind", "request", conf.reminder_days),
                                      ("escalate", "remind", conf.escalate_days)):
            if level in done:
                continue
            if previous is None:
                day = period.request_day
            elif previous in done:
                day = done[previous] + timedelta(days=wait)
            else:
                return
            if today < day:
                return
            if level == "escalate":
                recipients = [s.telegram_id for s in screening_leaders(self.org, unit)]
            else:
                recipients = [s.telegram_id for s in screening_officers(self.org, unit)]
            recipients = list(dict.fromkeys(recipients))
            async with conn.execute(
                "INSERT INTO screening_notices (period, unit, level, recipients, sent_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (period.label, unit, level, json.dumps(recipients), self.ctx.now()),
            ) as cur:
                if cur.rowcount == 0:
                    return  # another sweep sent it
            await self._journal(conn, SYSTEM, level, period.label, unit, None, {"to": recipients})
            kind = NoticeKind.SCREENING_OVERDUE if level == "escalate" else NoticeKind.SCREENING_ASK
            asked = done.get("request", today)
            params = ScreeningParams(period=period.label, unit=unit, level=level, request_day=asked.isoformat(),
                                     days=(today - asked).days)
            for staff_id in recipients:
                await self.outbox.queue(conn, staff_id, kind, None, None, params)
            if level == "request":
                result.requests += 1
            elif level == "remind":
                result.reminders += 1
            else:
                result.escalations += 1
            return  # one step a sweep: the next one counts from today


JOURNAL_FIELDS = ("id", "at", "actor_id", "actor_role", "action", "period", "unit", "dispute_id", "data")


def journal_content(row: dict[str, Any]) -> dict[str, Any]:
    """The hashed fields of a screening journal entry."""
    return {k: row[k] for k in JOURNAL_FIELDS}


async def verify_screening_journal(conn: Connection) -> journal.VerifyResult:
    """Recompute the screening register's chain; the first entry whose link does not hold."""
    return await journal.verify_chained(conn, "screening_journal", journal_content)


def _moment(value: object) -> datetime:
    """A stored ``sent_at`` (ISO text, as both backends keep it here) as an aware moment."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


__all__ = [
    "Dispute",
    "DisputeIn",
    "DisputeNote",
    "DisputeStatus",
    "Period",
    "Register",
    "ReportState",
    "Risk",
    "ScreeningService",
    "SweepResult",
    "parse_period",
    "period_of",
]
