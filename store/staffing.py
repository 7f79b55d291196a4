"""Staff managed in chat, over the organisation file, in effect at once.

The organisation file declares units and categories and seeds the staff;
an administrator then adds, changes and removes staff in chat (``/staff``,
handlers/staffing.py). Each change is a row of ``staff_members`` (a removal
is a row without a role) and an entry of the hash-chained ``staff_journal``,
written in one transaction; the organisation in use (``ctx.org``) is then
replaced, so routing, scope and the send-time check follow at once, without
a restart. A row overrides the file's entry for the same person: the file's
``[[staff]]`` seeds only people not yet known here.

Every change is checked by the same rules as the file (``store.org.with_staff``):
no change can give an organisation the file itself could not. The identity
custodian is never set here and a custodian is never changed here: that stays
in the file, so no administrator can make anyone able to reveal a reporter.
Nor can a recusal the file sets be lifted here: a person removed and added
again keeps it.

When someone leaves or loses the units of a case they were assigned, the case
goes back to the unit's queue (unassigned) and the unit's leaders are told:
nothing stays with a person who can no longer act on it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

from store.context import Service, StoreContext
from store.db import Connection
from store.discipline import discipline_problems
from store.errors import Refused
from store.event_data import UnassignData
from store.journal import VerifyResult, append_chained, verify_chained
from store.models import OPEN_STATUSES, Actor, Case, row_to_model
from store.notices import NoticeKind
from store.org import Organization, OrgError, Role, Staff, review_problems, with_staff
from store.routing import leaders_of
from store.workflow import Action

CHAT = "chat"
FILE = "file"


class StaffEntry(BaseModel):
    """A staff member in effect, and where they come from (the file, or a change made in chat)."""

    member: Staff
    source: Literal["file", "chat"]


class Returned(BaseModel):
    """Cases that went back to their unit's queue after a change."""

    numbers: list[str] = []


def journal_content(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "at", "actor_id", "action", "telegram_id", "data")}


async def verify_staff_journal(conn: Connection) -> VerifyResult:
    return await verify_chained(conn, "staff_journal", journal_content)


def _member(row: dict[str, Any]) -> Staff | None:
    if row["role"] is None:
        return None
    return Staff(telegram_id=int(row["telegram_id"]), name=row["name"], role=Role(row["role"]),
                 units=tuple(json.loads(row["units"])), categories=tuple(json.loads(row["categories"])),
                 recuse_units=tuple(json.loads(row["recuse_units"])))


def merged(file_org: Organization, rows: list[dict[str, Any]]) -> Organization:
    """The file's organisation with the chat's changes over its staff (OrgError if they no longer fit it)."""
    changed = {int(r["telegram_id"]): _member(r) for r in rows}
    staff = [s for s in file_org.staff if s.telegram_id not in changed]
    staff += [m for _, m in sorted(changed.items()) if m is not None]  # the same order wherever it is built
    org = with_staff(file_org, staff)
    # The checks check-config makes: no change here may let a report reach anyone but the discipline
    # line above the unit, or leave a review to an administrator, where the file did not.
    known = {*discipline_problems(file_org), *review_problems(file_org)}
    fresh = [p for p in [*discipline_problems(org), *review_problems(org)] if p not in known]
    if fresh:
        raise OrgError(fresh)
    return org


def staff_toml(staff: list[Staff]) -> str:
    """The staff as the organisation file's ``[[staff]]`` entries (``petition-bot staff export``)."""
    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string

    def texts(values: tuple[str, ...]) -> str:
        return "[" + ", ".join(text(v) for v in values) + "]"

    parts = []
    for member in staff:
        lines = ["[[staff]]", f"telegram_id = {member.telegram_id}", f"name = {text(member.name)}",
                 f"role = {text(member.role.value)}"]
        for field in ("units", "categories", "recuse_units"):
            values = getattr(member, field)
            if values:
                lines.append(f"{field} = {texts(values)}")
        if member.custodian:
            lines.append("custodian = true")
        if member.discipline:
            lines.append("discipline = true")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


class StaffingService(Service):
    """``/staff``: the administrator's changes to the staff, and the organisation they make."""

    def __init__(self, ctx: StoreContext) -> None:
        super().__init__(ctx)
        self.file_org = ctx.org  # the organisation file as loaded (replaced by a reload)
        self.problems: list[str] = []  # chat changes that no longer fit the file, after the last apply

    async def _rows(self, conn: Connection) -> list[dict[str, Any]]:
        async with conn.execute("SELECT * FROM staff_members ORDER BY telegram_id") as cur:
            return [dict(r) async for r in cur]

    async def apply(self, file_org: Organization | None = None) -> list[str]:
        """Put the file (``file_org``, else the one loaded) and the chat's changes in effect.

        Returns the problems of chat changes that no longer fit the file (a
        reloaded file that dropped a unit someone was given in chat): the file
        then stands alone for them, and the caller says so.
        """
        file_org = file_org or self.file_org
        async with self.db.read() as conn:
            rows = await self._rows(conn)
        try:
            org = merged(file_org, rows)
            problems: list[str] = []
        except OrgError as error:
            org, problems = file_org, error.errors
        self.file_org = file_org
        self.ctx.org = org
        self.problems = problems
        return problems

    def entries(self) -> list[StaffEntry]:
        """Everyone in effect now, the file's first as the file lists them."""
        file_ids = {s.telegram_id: s for s in self.file_org.staff}
        return [StaffEntry(member=s, source=FILE if file_ids.get(s.telegram_id) == s else CHAT) for s in self.org.staff]

    def _admin(self, actor: Actor) -> None:
        member = self.org.staff_member(actor.id) if actor.id is not None else None
        if member is None or member.role is not Role.ADMIN:
            raise Refused("staff_admin_only")

    async def candidate(self, actor: Actor, telegram_id: int, name: str) -> None:
        """Remember who the administrator picked (Telegram's user picker gives the name once)."""
        self._admin(actor)
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM staff_candidates WHERE telegram_id = ?", (telegram_id,))
            await conn.execute("INSERT INTO staff_candidates (telegram_id, name, proposed_at) VALUES (?, ?, ?)",
                               (telegram_id, name[:64] or str(telegram_id), self.ctx.now()))

    async def candidate_name(self, telegram_id: int) -> str | None:
        async with self.db.read() as conn, conn.execute(
            "SELECT name FROM staff_candidates WHERE telegram_id = ?", (telegram_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def put(self, actor: Actor, member: Staff) -> Returned:
        """Add ``member`` or change them to this; in effect once this returns."""
        self._admin(actor)
        before = self.org.staff_member(member.telegram_id)
        if member.custodian or (before is not None and before.custodian):
            raise Refused("staff_custodian_in_file")
        if member.discipline or (before is not None and before.discipline):
            raise Refused("staff_discipline_in_file")
        if before is not None and before.role is Role.ADMIN and member.role is not Role.ADMIN:
            self._not_last_admin(member.telegram_id)
        # A recusal the file sets stays, whatever is changed here (removed and added again included): only the
        # file can lift it, as only the file names the custodian and the discipline staff.
        kept = self.file_org.staff_member(member.telegram_id)
        if kept is not None and set(kept.recuse_units) - set(member.recuse_units):
            member = member.model_copy(update={"recuse_units": tuple(dict.fromkeys(
                (*member.recuse_units, *kept.recuse_units)))})
        return await self._write(actor, member.telegram_id, member, "add" if before is None else "change")

    async def remove(self, actor: Actor, telegram_id: int) -> Returned:
        self._admin(actor)
        before = self.org.staff_member(telegram_id)
        if before is None:
            raise Refused("staff_unknown")
        if before.custodian:
            raise Refused("staff_custodian_in_file")
        if before.discipline:
            raise Refused("staff_discipline_in_file")
        if before.role is Role.ADMIN:
            self._not_last_admin(telegram_id)
        return await self._write(actor, telegram_id, None, "remove")

    def _not_last_admin(self, telegram_id: int) -> None:
        if not any(s.role is Role.ADMIN and s.telegram_id != telegram_id for s in self.org.staff):
            raise Refused("staff_last_admin")

    async def _write(self, actor: Actor, telegram_id: int, member: Staff | None, action: str) -> Returned:
        returned = Returned()
        async with self.db.transaction() as conn:
            rows = [r for r in await self._rows(conn) if int(r["telegram_id"]) != telegram_id]
            before = self.org.staff_member(telegram_id)
            name = member.name if member is not None else before.name if before is not None else "—"
            row = {
                "telegram_id": telegram_id, "name": name, "role": member.role.value if member else None,
                "units": json.dumps(list(member.units) if member else []),
                "categories": json.dumps(list(member.categories) if member else []),
                "recuse_units": json.dumps(list(member.recuse_units) if member else []),
                "updated_at": self.ctx.now(), "updated_by": actor.id or 0,
            }
            try:
                org = merged(self.file_org, [*rows, row])
            except OrgError as error:
                raise Refused("staff_invalid", problems="; ".join(error.errors)) from None
            await conn.execute("DELETE FROM staff_members WHERE telegram_id = ?", (telegram_id,))
            await conn.execute(
                "INSERT INTO staff_members (telegram_id, name, role, units, categories, recuse_units, updated_at,"
                " updated_by) VALUES (:telegram_id, :name, :role, :units, :categories, :recuse_units, :updated_at,"
                " :updated_by)", row)
            await conn.execute("DELETE FROM staff_candidates WHERE telegram_id = ?", (telegram_id,))
            await append_chained(conn, "staff_journal", {
                "at": self.ctx.now(), "actor_id": actor.id or 0, "action": action, "telegram_id": telegram_id,
                "data": json.dumps({k: row[k] for k in ("role", "units", "categories", "recuse_units")},
                                   sort_keys=True),
            }, journal_content)
            previous, self.ctx.org = self.ctx.org, org
            try:
                returned = await self._return_work(conn, actor, telegram_id)
            except BaseException:
                self.ctx.org = previous  # the transaction rolls back: so does the organisation in use
                raise
        self.outbox.kick()
        return returned

    async def _return_work(self, conn: Connection, actor: Actor, telegram_id: int) -> Returned:
        """Cases assigned to (or in the charge of) someone who can no longer act on them go back to the unit."""
        returned = Returned()
        statuses = sorted(s.value for s in OPEN_STATUSES)
        marks = ", ".join("?" * len(statuses))
        async with conn.execute(
            f"SELECT * FROM cases WHERE (assignee_id = ? OR lead_id = ?) AND status IN ({marks}) ORDER BY id",
            (telegram_id, telegram_id, *statuses),
        ) as cur:
            cases = [row_to_model(Case, r) async for r in cur]
        for case in cases:
            member = self.org.staff_member(telegram_id)
            changes: dict[str, Any] = {}
            if case.assignee_id == telegram_id and not (member is not None and self.ctx.in_scope(telegram_id, case)):
                changes["assignee_id"] = None
            if case.lead_id == telegram_id and (member is None or member.role is not Role.LEADER
                                                or not self.ctx.in_scope(telegram_id, case)):
                changes["lead_id"] = None
            if not changes:
                continue
            case = await self.ctx.update_case(conn, case.id, changes)
            event_id = await self.ctx.event(conn, case.id, actor, Action.UNASSIGN, case.status, None,
                                            UnassignData(staff=telegram_id, fields=sorted(changes)))
            for leader in leaders_of(self.org, case.unit, case.category, case.confidential):
                await self.ctx.queue_staff(conn, leader.telegram_id, NoticeKind.STAFF_RETURNED, case, event_id)
            returned.numbers.append(case.number)
        return returned

    # ------------------------------------------------------------------ reload

    async def request_reload(self) -> str:
        """``petition-bot reload``: every running instance (standbys included) re-reads its file soon."""
        at = self.ctx.now()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('org_reload', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (at,))
        return at

    async def reload_requested(self) -> str | None:
        """When a reload was last asked for (None: never)."""
        async with self.db.read() as conn, conn.execute("SELECT value FROM meta WHERE key = 'org_reload'") as cur:
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def verify_journal(self) -> VerifyResult:
        async with self.db.read() as conn:
            return await verify_staff_journal(conn)
