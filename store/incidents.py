"""The group-incident plan (群体性事件处置预案): incidents, their checklists, levels and journal.

The organisation file defines the plan's levels (``[[incident_levels]]``:
level 1 is the most serious; each with ``min_people``, a response group and
a checklist). An incident opens

- by itself when a collective-petition alert fires (``open_for_alert``, called
  by ``ReviewService`` in the submission's transaction), once per alert, and
  only when the number of people reaches a level; more people joining the
  same alert later raise its level;
- when a leader declares it for a case (``/incident <number> <level>``);
- from the screening register (a high-risk dispute): ``IncidentService.open_for``
  with ``source_kind="dispute"``;
- as a drill (演练, ``/incident_drill <level>``): the whole plan without a real
  case, marked as a drill everywhere and never counted with real incidents.

Its level follows the number of people: the most serious level whose
``min_people`` the people reach (a leader may still set another). The level's
response group gets the alert with the checklist as buttons; every step
ticked (who, when, note), every level change, the opening and the closing
(with its summary, which goes to the leaders above) is written to the
incident journal: ``incident_events``, append-only and hash-chained like the
case journal (a drill or a dispute has no case, so the case journal, whose
rows belong to a case, cannot hold them). ``verify_incident_journal``
recomputes its chain.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from store import routing
from store.context import Service, StoreContext
from store.db import Connection
from store.errors import BadInput, Forbidden, NotFound, Refused
from store.event_data import IncidentData
from store.journal import VerifyResult, append_chained, verify_chained
from store.models import SYSTEM, Actor, Case, row_to_model
from store.notices import IncidentLevelParams, IncidentParams, NoticeKind, params_of
from store.org import IncidentLevel, Role, Staff
from store.policy import Act
from store.safetext import clean
from store.workflow import Action

SourceKind = Literal["case", "dispute", "drill"]
SOURCE_KINDS: tuple[str, ...] = ("case", "dispute", "drill")
SUMMARY_MAX = 2000
NOTE_MAX = 500
SOURCE_REF_MAX = 64
PEOPLE_MAX = 1_000_000


class IncidentTick(BaseModel):
    level: int
    step: int
    text: str
    done_by: int
    done_at: datetime
    note: str | None = None


class Incident(BaseModel):
    id: int
    source_kind: SourceKind
    source_ref: str | None
    case_id: int | None
    alert_id: int | None
    unit: str | None
    confidential: bool
    level: int
    people: int
    is_drill: bool
    status: Literal["open", "closed"]
    opened_at: datetime
    opened_by: int | None
    closed_at: datetime | None
    closed_by: int | None
    summary: str | None
    ticks: list[IncidentTick] = []
    levels_reached: list[int] = []  # every level it has been at, the current one included

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def tick_of(self, level: int, step: int) -> IncidentTick | None:
        return next((t for t in self.ticks if t.level == level and t.step == step), None)


class IncidentCount(BaseModel):
    """Real incidents of one level opened in a period: still open, and closed."""

    level: int
    open: int
    closed: int


# ------------------------------------------------------------------ journal


def _content(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "incident_id", "at", "actor_id", "actor_role", "action", "body", "data")}


async def _journal(
    ctx: StoreContext, conn: Connection, incident_id: int, actor: Actor, action: str,
    body: str | None, data: dict[str, Any],
) -> int:
    """Append one event to the incident journal, in the caller's transaction."""
    return await append_chained(conn, "incident_events", {
        "incident_id": incident_id,
        "at": ctx.now(),
        "actor_id": actor.id,
        "actor_role": actor.role.value,
        "action": action,
        "body": body,
        "data": json.dumps(data, ensure_ascii=False, sort_keys=True),
    }, _content)


async def verify_incident_journal(conn: Connection) -> VerifyResult:
    """Recompute the incident journal's chain; the first event whose link does not hold."""
    return await verify_chained(conn, "incident_events", _content)


# ------------------------------------------------------------------ reading


async def _load(conn: Connection, where: str, args: tuple[Any, ...]) -> Incident | None:
    async with conn.execute(f"SELECT * FROM incidents WHERE {where}", args) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    values = dict(row)
    async with conn.execute(
        "SELECT level, step, text, done_by, done_at, note FROM incident_ticks WHERE incident_id = ?"
        " ORDER BY level, step", (values["id"],)
    ) as cur:
        values["ticks"] = [IncidentTick.model_validate(dict(r)) async for r in cur]
    async with conn.execute(
        "SELECT from_level, to_level FROM incident_level_changes WHERE incident_id = ? ORDER BY id",
        (values["id"],),
    ) as cur:
        changes = [(r["from_level"], r["to_level"]) async for r in cur]
    reached = [changes[0][0]] if changes else []
    reached += [to for _, to in changes] + [values["level"]]
    values["levels_reached"] = list(dict.fromkeys(reached))
    return row_to_model(Incident, values)


async def incident_counts(conn: Connection, units: list[str], start: str, end: str) -> list[IncidentCount]:
    """Real incidents (never drills) at these units opened in [start, end), per current level."""
    if not units:
        return []
    async with conn.execute(
        "SELECT level, count(*) FILTER (WHERE status = 'open') AS open,"
        " count(*) FILTER (WHERE status = 'closed') AS closed FROM incidents"
        f" WHERE NOT is_drill AND unit IN ({', '.join('?' * len(units))}) AND opened_at >= ? AND opened_at < ?"
        " GROUP BY level ORDER BY level",
        (*units, start, end),
    ) as cur:
        return [IncidentCount(level=r["level"], open=r["open"], closed=r["closed"]) async for r in cur]


# ------------------------------------------------------------------ opening


def _recused(ctx: StoreContext, staff_id: int, unit: str | None, confidential: bool) -> bool:
    staff = ctx.org.staff_member(staff_id)
    return staff is None or (confidential and unit is not None and ctx.org.recused(staff, unit))


async def _tell_group(
    ctx: StoreContext, conn: Connection, incident_id: int, level: IncidentLevel, kind: NoticeKind,
    unit: str | None, confidential: bool, skip: set[int],
) -> None:
    """The level's response group gets the alert with its checklist (not those in ``skip``)."""
    for staff_id in ctx.org.incident_group(level):
        if staff_id in skip or _recused(ctx, staff_id, unit, confidential):
            continue
        await ctx.outbox.queue(conn, staff_id, kind, None, None,
                               IncidentLevelParams(incident=incident_id, level=level.level))


def _groups(ctx: StoreContext, levels: list[int]) -> set[int]:
    found: set[int] = set()
    for number in levels:
        entry = ctx.org.incident_level(number)
        if entry is not None:
            found.update(ctx.org.incident_group(entry))
    return found


async def _change_level(
    ctx: StoreContext, conn: Connection, incident: Incident, to: IncidentLevel, people: int, actor: Actor
) -> Incident:
    """Move an open incident to another level; a more serious one tells its group (those not told yet)."""
    now = ctx.now()
    await conn.execute(
        "UPDATE incidents SET level = ?, people = ?, updated_at = ? WHERE id = ?",
        (to.level, people, now, incident.id),
    )
    await conn.execute(
        "INSERT INTO incident_level_changes (incident_id, from_level, to_level, people, changed_at, changed_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (incident.id, incident.level, to.level, people, now, actor.id),
    )
    await _journal(ctx, conn, incident.id, actor, "level", None,
                   {"from": incident.level, "to": to.level, "people": people})
    if to.level < incident.level:
        told = _groups(ctx, incident.levels_reached)
        skip = told | ({actor.id} if actor.id is not None else set())
        await _tell_group(ctx, conn, incident.id, to, NoticeKind.INCIDENT_RAISED, incident.unit,
                          incident.confidential, skip)
    fresh = await _load(conn, "id = ?", (incident.id,))
    assert fresh is not None
    return fresh


async def _open(
    ctx: StoreContext,
    conn: Connection,
    source_kind: SourceKind,
    source_ref: str | None,
    people: int,
    actor: Actor,
    *,
    unit: str | None,
    level: IncidentLevel | None,
    case: Case | None = None,
    alert_id: int | None = None,
    confidential: bool = False,
) -> Incident | None:
    """Open (or, for the same source, update) an incident in the caller's transaction.

    ``level`` None: the level follows ``people`` (None is returned when no
    level is reached). An open incident of the same source (or alert) is
    updated instead: more people may raise its level, never lower it.
    """
    if alert_id is not None:
        existing = await _load(conn, "alert_id = ?", (alert_id,))
        if existing is None and source_ref is not None:  # declared by a leader before the alert: that one
            existing = await _load(conn, "source_kind = ? AND source_ref = ? AND status = 'open'",
                                   (source_kind, source_ref))
            if existing is not None and existing.alert_id is None:
                await conn.execute("UPDATE incidents SET alert_id = ? WHERE id = ?", (alert_id, existing.id))
    elif source_ref is not None:
        existing = await _load(conn, "source_kind = ? AND source_ref = ? AND status = 'open'",
                               (source_kind, source_ref))
    else:
        existing = None
    wanted = level or ctx.org.incident_level_for(people)
    if existing is not None:
        if source_kind == "drill":  # the same drill asked again (a redelivered update): that one
            return existing
        if level is not None:
            raise Refused("incident_exists", id=existing.id)
        if not existing.is_open or people <= existing.people:
            return existing
        if wanted is not None and wanted.level < existing.level:
            return await _change_level(ctx, conn, existing, wanted, people, actor)
        await conn.execute("UPDATE incidents SET people = ?, updated_at = ? WHERE id = ?",
                           (people, ctx.now(), existing.id))
        return await _load(conn, "id = ?", (existing.id,))
    if wanted is None:
        return None
    now = ctx.now()
    drill = source_kind == "drill"
    async with conn.execute(
        "INSERT INTO incidents (source_kind, source_ref, case_id, alert_id, unit, confidential, level, people,"
        " is_drill, status, opened_at, opened_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING id",
        (source_kind, source_ref, case.id if case else None, alert_id, unit, confidential, wanted.level,
         people, drill, now, actor.id, now),
    ) as cur:
        row = await cur.fetchone()
    if row is None:  # another transaction opened it meanwhile
        return await _load(conn, "alert_id = ?" if alert_id is not None else
                           "source_kind = ? AND source_ref = ? AND status = 'open'",
                           (alert_id,) if alert_id is not None else (source_kind, source_ref))
    incident_id = int(row[0])
    await _journal(ctx, conn, incident_id, actor, "open", None, {
        "source": source_kind, "ref": source_ref, "level": wanted.level, "people": people, "drill": drill,
        "alert": alert_id,
    })
    if case is not None:  # the case's record shows it (internal), and its leader in charge is told
        await ctx.event(conn, case.id, actor, Action.INCIDENT_OPEN, case.status, None,
                        IncidentData(incident=incident_id, level=wanted.level, people=people))
    skip = {actor.id} if actor.id is not None else set()
    await _tell_group(ctx, conn, incident_id, wanted, NoticeKind.INCIDENT_OPENED, unit, confidential, skip)
    return await _load(conn, "id = ?", (incident_id,))


def _case_confidential(ctx: StoreContext, case: Case) -> bool:
    return case.identity_protected


async def open_for_alert(ctx: StoreContext, conn: Connection, alert_id: int, case: Case, people: int) -> None:
    """A collective-petition alert fired or grew: open its incident once a level is reached (idempotent).

    Called by ``ReviewService`` inside the submission's transaction; the
    incident's source is the case that raised the alert.
    """
    if not ctx.org.incident_levels:
        return
    async with conn.execute("SELECT case_id FROM alerts WHERE id = ?", (alert_id,)) as cur:
        row = await cur.fetchone()
    source = await ctx.case_where(conn, "id = ?", (row["case_id"],)) if row is not None else None
    source = source or case
    await _open(ctx, conn, "case", source.number, people, SYSTEM, unit=source.unit, level=None, case=source,
                alert_id=alert_id, confidential=_case_confidential(ctx, source))


# ------------------------------------------------------------------ the service


class IncidentService(Service):
    """The group-incident plan: open, tick, change level, close, list; drills apart."""

    # -------------------------------------------------------------- who

    def _staff(self, actor: Actor | None) -> Staff:
        staff = self.org.staff_member(actor.id) if actor is not None and actor.id is not None else None
        if staff is None:
            raise Forbidden("forbidden")
        return staff

    def _leader(self, actor: Actor | None) -> Staff:
        staff = self._staff(actor)
        if staff.role not in (Role.LEADER, Role.ADMIN):
            raise Refused("incident_leaders_only")
        return staff

    def may_see(self, staff: Staff, incident: Incident) -> bool:
        """Admins; the response groups of every level it has been at; leaders covering its unit."""
        if staff.role is Role.ADMIN or staff.telegram_id in _groups(self.ctx, incident.levels_reached):
            return True
        if staff.role is not Role.LEADER:
            return False
        if incident.unit is None:
            return True
        if incident.confidential and self.org.recused(staff, incident.unit):
            return False
        return self.org.covers(staff, incident.unit)

    def may_lead(self, staff: Staff, incident: Incident) -> bool:
        """Changing the level and closing: leaders and admins who may see it."""
        return staff.role in (Role.LEADER, Role.ADMIN) and self.may_see(staff, incident)

    def may_raise(self, user_id: int, incident: Incident) -> bool:
        """Who is offered the raise button: the rule ``set_level`` checks, asked before the tap."""
        staff = self.org.staff_member(user_id)
        return staff is not None and incident.is_open and self.may_lead(staff, incident)

    async def _visible(self, conn: Connection, staff: Staff, incident_id: int) -> Incident:
        incident = await _load(conn, "id = ?", (incident_id,))
        if incident is None or not self.may_see(staff, incident):
            raise Refused("incident_not_found", id=incident_id)
        return incident

    # -------------------------------------------------------------- opening

    async def open_for(
        self,
        source_kind: SourceKind,
        source_ref: str | None,
        people: int,
        actor: Actor | None = None,
        *,
        unit: str | None = None,
        level: int | None = None,
        conn: Connection | None = None,
    ) -> Incident | None:
        """Open an incident for a case, a dispute or a drill; the entry point for other parts of the store.

        ``source_ref``: the case number (``"case"``), the dispute's reference
        (``"dispute"``, with its ``unit``); for a drill None, or a key that
        makes the same request return the drill it opened. ``people``:
        the number of people involved. ``actor``: the leader or admin opening
        it, None for the system (automatic: a high-risk dispute). ``level``:
        None to follow the number of people (then nothing opens, and None is
        returned, when no level's ``min_people`` is reached), or a level of
        the plan (a leader's declaration; refused with ``incident_exists``
        if the source already has an open incident). Idempotent without a
        level: the same source again updates its open incident (more people
        may raise the level). With ``conn``, it runs in the caller's
        transaction (the caller commits and kicks the outbox); otherwise in
        its own.
        """
        if conn is None:
            async with self.db.transaction() as own:
                incident = await self.open_for(source_kind, source_ref, people, actor, unit=unit, level=level,
                                               conn=own)
            self.outbox.kick()
            return incident
        if source_kind not in SOURCE_KINDS:
            raise Refused("incident_source")
        if not 0 <= people <= PEOPLE_MAX:
            raise Refused("incident_people")
        who = SYSTEM if actor is None else actor
        staff = None if actor is None else self._leader(actor)
        entry = None
        if level is not None:
            entry = self.org.incident_level(level)
            if entry is None:
                raise Refused("incident_level_unknown", level=level)
        case: Case | None = None
        confidential = False
        if source_kind == "case":
            if source_ref is None:
                raise Refused("incident_source")
            case = await (self.ctx.load_case(conn, who, source_ref) if actor is not None
                          else self.ctx.case_where(conn, "number = ?", (source_ref.strip().upper(),)))
            if case is None:
                raise NotFound(number=source_ref)
            source_ref, unit, confidential = case.number, case.unit, _case_confidential(self.ctx, case)
        elif source_kind == "dispute":
            if source_ref is None or not source_ref.strip() or len(source_ref) > SOURCE_REF_MAX:
                raise Refused("incident_source")
            if unit is None or self.org.find_unit(unit) is None:
                raise Refused("unknown_unit")
            if staff is not None and not self.org.covers(staff, unit):
                raise Refused("incident_out_of_scope")
        else:
            source_ref = (source_ref or "").strip()[:SOURCE_REF_MAX] or None  # a drill's idempotency key
            if entry is None:
                raise Refused("incident_level_unknown", level=level)
            if unit is None and staff is not None and staff.role is Role.LEADER:
                unit = staff.units[0]
        return await _open(self.ctx, conn, source_kind, source_ref, people, who, unit=unit, level=entry, case=case,
                           confidential=confidential)

    async def declare(self, actor: Actor, number: str, level: int) -> Incident:
        """/incident <number> <level>: a leader in scope of the case declares an incident at a level."""
        async with self.db.transaction() as conn:
            self._leader(actor)
            case = await self.ctx.load_case(conn, actor, number)
            await self.ctx.require(conn, Act.INCIDENT, actor, case)  # the lead unit's leaders, not a co-handler's
            incident = await self.open_for("case", case.number, case.people or 0, actor, level=level, conn=conn)
        self.outbox.kick()
        assert incident is not None
        return incident

    async def drill(self, actor: Actor, level: int, key: str | None = None) -> Incident:
        """/incident_drill <level>: the plan run without a real case, marked 演练 everywhere.

        ``key`` (the Telegram update's id) makes a redelivered command return the drill it started.
        """
        entry = self.org.incident_level(level)
        people = entry.min_people if entry is not None else 0
        incident = await self.open_for("drill", key, people, actor, level=level)
        assert incident is not None
        return incident

    # -------------------------------------------------------------- handling

    async def get(self, actor: Actor, incident_id: int) -> Incident:
        staff = self._staff(actor)
        async with self.db.read() as conn:
            return await self._visible(conn, staff, incident_id)

    async def incident_by_id(self, incident_id: int) -> Incident | None:
        """For rendering a notice (its recipients were chosen when it was queued)."""
        async with self.db.read() as conn:
            return await _load(conn, "id = ?", (incident_id,))

    async def tick(
        self, actor: Actor, incident_id: int, level: int, step: int, note: str | None = None
    ) -> tuple[Incident, bool]:
        """A step of the checklist done (who, when, an optional note); False if it already was."""
        staff = self._staff(actor)
        note = (note or "").strip() or None
        if note is not None and len(note) > NOTE_MAX:
            raise BadInput("incident_too_long", max=NOTE_MAX, length=len(note))
        async with self.db.transaction() as conn:
            incident = await self._visible(conn, staff, incident_id)
            if not incident.is_open:
                raise Refused("incident_closed", id=incident_id)
            entry = self.org.incident_level(level)
            if entry is None or level not in incident.levels_reached or not 1 <= step <= len(entry.steps):
                raise Refused("incident_step_unknown", step=step)
            text = entry.steps[step - 1].get("zh")
            cur = await conn.execute(
                "INSERT INTO incident_ticks (incident_id, level, step, text, done_by, done_at, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (incident_id, level, step, text, staff.telegram_id, self.ctx.now(), note),
            )
            if cur.rowcount == 0:
                return incident, False
            await _journal(self.ctx, conn, incident_id, actor, "tick", note,
                           {"level": level, "step": step, "text": text})
            await conn.execute("UPDATE incidents SET updated_at = ? WHERE id = ?", (self.ctx.now(), incident_id))
            fresh = await _load(conn, "id = ?", (incident_id,))
        assert fresh is not None
        return fresh, True

    async def set_level(self, actor: Actor, incident_id: int, level: int) -> Incident:
        """/incident <id> level <n> (or the raise button): a more serious level tells its group."""
        staff = self._staff(actor)
        entry = self.org.incident_level(level)
        async with self.db.transaction() as conn:
            incident = await self._visible(conn, staff, incident_id)
            if not self.may_lead(staff, incident):
                raise Refused("incident_leaders_only")
            if not incident.is_open:
                raise Refused("incident_closed", id=incident_id)
            if entry is None:
                raise Refused("incident_level_unknown", level=level)
            if entry.level == incident.level:
                raise Refused("incident_same_level", level=level)
            incident = await _change_level(self.ctx, conn, incident, entry, incident.people, actor)
        self.outbox.kick()
        return incident

    async def close(self, actor: Actor, incident_id: int, summary: str) -> Incident:
        """/incident_close <id> <summary>: the summary is required and goes to the leaders above."""
        staff = self._staff(actor)
        text = clean(summary or "").strip()
        if not text:
            raise Refused("incident_summary_required")
        if len(text) > SUMMARY_MAX:
            raise BadInput("incident_too_long", max=SUMMARY_MAX, length=len(text))
        async with self.db.transaction() as conn:
            incident = await self._visible(conn, staff, incident_id)
            if not self.may_lead(staff, incident):
                raise Refused("incident_leaders_only")
            if not incident.is_open:
                raise Refused("incident_closed", id=incident_id)
            now = self.ctx.now()
            await conn.execute(
                "UPDATE incidents SET status = 'closed', closed_at = ?, closed_by = ?, summary = ?, updated_at = ?"
                " WHERE id = ?",
                (now, staff.telegram_id, text, now, incident_id),
            )
            await _journal(self.ctx, conn, incident_id, actor, "close", text, {"level": incident.level})
            case = await self.ctx.case_where(conn, "id = ?", (incident.case_id,)) if incident.case_id else None
            if case is not None:
                await self.ctx.event(conn, case.id, actor, Action.INCIDENT_CLOSE, case.status, text,
                                     IncidentData(incident=incident_id, level=incident.level))
            for staff_id in self._leaders_above(incident):
                if staff_id != staff.telegram_id:
                    await self.outbox.queue(conn, staff_id, NoticeKind.INCIDENT_CLOSED, None, None,
                                            IncidentParams(incident=incident_id))
            fresh = await _load(conn, "id = ?", (incident_id,))
        self.outbox.kick()
        assert fresh is not None
        return fresh

    def _leaders_above(self, incident: Incident) -> list[int]:
        """The leaders of the incident's unit and every unit above it, then the admins."""
        if incident.unit is not None and self.org.find_unit(incident.unit) is not None:
            leaders = [s.telegram_id for s in routing.leaders_of(self.org, incident.unit)]
        else:
            leaders = [s.telegram_id for s in self.org.staff if s.role is Role.LEADER
                       and any(u.id in s.units for u in self.org.roots())]
        admins = [s.telegram_id for s in self.org.staff if s.role is Role.ADMIN]
        return [i for i in dict.fromkeys(leaders + admins)
                if not _recused(self.ctx, i, incident.unit, incident.confidential)]

    async def refusal_to_tell(self, conn: Connection, chat_id: int, kind: NoticeKind, params: dict[str, Any]) -> str | None:
        """At send time: why an incident notice may no longer go to ``chat_id`` (None: it may).

        The same rule as when it was queued: the level's response group for an
        opening or a raise, the leaders above and the admins for a closing; a
        recused member never about a confidential source.
        """
        if self.org.staff_member(chat_id) is None:
            return "not_staff"
        incident = await _load(conn, "id = ?", (params_of(kind, params, IncidentParams).incident,))
        if incident is None:
            return "no_incident"
        if kind is NoticeKind.INCIDENT_CLOSED:
            return None if chat_id in self._leaders_above(incident) else "out_of_scope"
        entry = self.org.incident_level(params_of(kind, params, IncidentLevelParams).level)
        if entry is None or chat_id not in self.org.incident_group(entry):
            return "out_of_scope"
        return "out_of_scope" if _recused(self.ctx, chat_id, incident.unit, incident.confidential) else None

    async def open_incidents(self, actor: Actor) -> list[Incident]:
        """/incident: the open incidents the caller may see, most serious first (drills among them, marked)."""
        staff = self._staff(actor)
        async with self.db.read() as conn:
            async with conn.execute("SELECT id FROM incidents WHERE status = 'open' ORDER BY level, id") as cur:
                ids = [r["id"] async for r in cur]
            found = [await _load(conn, "id = ?", (i,)) for i in ids]
        return [i for i in found if i is not None and self.may_see(staff, i)]

    async def journal(self, incident_id: int) -> list[dict[str, Any]]:
        """The incident's journal rows, oldest first (for the record and the tests)."""
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT * FROM incident_events WHERE incident_id = ? ORDER BY id", (incident_id,)
            ) as cur:
                return [dict(r) async for r in cur]

    async def verify_journal(self) -> VerifyResult:
        async with self.db.read() as conn:
            return await verify_incident_journal(conn)


__all__ = [
    "Incident",
    "IncidentCount",
    "IncidentService",
    "IncidentTick",
    "SourceKind",
    "incident_counts",
    "open_for_alert",
    "verify_incident_journal",
]

