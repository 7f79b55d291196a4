"""Linked and merged cases (关联案件, 合并).

``/link <no> <no>``: two related matters; each card lists the other. Both cases
must be in the caller's scope; the link is a journal event (internal) on both.
``/unlink`` removes it, journaled the same way.

``/merge <main> <duplicate> <reason>``: the duplicate (still being worked:
登记, 受理 or 办理中) is closed as merged (status ``merged``, 已合并) and points
at the main case (``cases.merged_into``); cases merged into the duplicate
earlier move along. Everyone who petitions in the duplicate petitions in the
main case from then on (``LedgerService.follow``, store/ledger.py: a chat
submitter bound to their account, named people with or without Telegram):
``/mycases`` lists it, they read it and may add material, and the ledger tells
them its notices (in chat, or through contact tasks for the staff); they may
not withdraw it (``joined_by_merge``): the matter is the main petitioner's too.
Unused claim codes of the duplicate claim the main case. Both sides are told,
in the merge's transaction: everyone in the duplicate that it was merged into
the main case, with the reason; everyone in the main case that a related
submission was joined to it (not whose). The staff handling either case are
told. A merged duplicate is left out of every indicator
(``store.indicators``) and of the weekly digest: the matter counts once.

Confidential cases are islands (docs/confidentiality.md): a link or a merge
ties two cases together for everyone who sees either card, and a confidential
reporter's case tied to another case (perhaps their own real-name one, or one
naming the same people) would let staff connect the reporter to it. So a
confidential case (a report of misconduct, or any case filed as 保密) can be
neither linked nor merged, in either role; such a request is refused with a
reason, after the scope check (a case out of scope stays "not found").
"""

from __future__ import annotations

from pydantic import BaseModel

from store import routing
from store.context import Service, StoreContext
from store.db import Connection
from store.errors import BadInput, Forbidden, Refused
from store.event_data import CaseRefData, JoinData, MergeData
from store.ledger import LedgerService
from store.models import Actor, Case, row_to_model
from store.notices import MergedParams, MergeStaffParams, NoticeKind
from store.org import Organization
from store.policy import Act
from store.workflow import Action, next_status

REASON_MAX = 1000


class RelatedCases(BaseModel):
    """What a staff card shows of a case's relations (only cases the viewer may see)."""

    links: list[str] = []
    merged_into: str | None = None
    merged_from: list[str] = []

    @property
    def empty(self) -> bool:
        return not self.links and self.merged_into is None and not self.merged_from


def _island(case: Case) -> bool:
    return case.identity_protected


def _handlers(org: Organization, case: Case) -> list[int]:
    """Who handles the case now: the assignee, else the responsible staff."""
    if case.assignee_id is not None and org.staff_member(case.assignee_id) is not None:
        return [case.assignee_id]
    return [s.telegram_id for s in routing.responsible_staff(org, case.unit, case.category, case.confidential)]


class LinkService(Service):
    """/link, /unlink and /merge, and the relations a card shows."""

    def __init__(self, ctx: StoreContext, ledger: LedgerService) -> None:
        super().__init__(ctx)
        self.ledger = ledger

    def _staff_only(self, actor: Actor) -> None:
        if not actor.is_staff or actor.id is None or self.org.staff_member(actor.id) is None:
            raise Forbidden("forbidden")

    async def _pair(
        self, conn: Connection, actor: Actor, first: str, second: str, act: Act
    ) -> tuple[Case, Case]:
        """Both cases, each in the caller's scope (else "not found") and the policy's for ``act`` on both
        (a co-handling unit's staff may not: ``store.policy``); two different, neither confidential."""
        one = await self.ctx.load_case(conn, actor, first)
        other = await self.ctx.load_case(conn, actor, second)
        await self.ctx.require(conn, act, actor, one)
        await self.ctx.require(conn, act, actor, other)
        if one.id == other.id:
            raise Refused("link_same")
        if _island(one) or _island(other):
            raise Refused("link_confidential")
        return one, other

    async def link(self, actor: Actor, first: str, second: str) -> tuple[Case, Case]:
        """/link: the two cases are related; both cards show it. Journaled on both."""
        self._staff_only(actor)
        async with self.db.transaction() as conn:
            one, other = await self._pair(conn, actor, first, second, Act.LINK)
            for case in (one, other):
                next_status(case.status, Action.LINK, actor.role)
            low, high = sorted((one.id, other.id))
            async with conn.execute(
                "INSERT INTO case_links (low_id, high_id, linked_by, linked_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (low, high, actor.id, self.ctx.now()),
            ) as cur:
                if cur.rowcount == 0:
                    raise Refused("link_already")
            await self.ctx.event(conn, one.id, actor, Action.LINK, one.status, None, CaseRefData(case=other.number))
            await self.ctx.event(conn, other.id, actor, Action.LINK, other.status, None, CaseRefData(case=one.number))
        self.outbox.kick()
        return one, other

    async def unlink(self, actor: Actor, first: str, second: str) -> tuple[Case, Case]:
        """/unlink: the link is removed, journaled on both."""
        self._staff_only(actor)
        async with self.db.transaction() as conn:
            one, other = await self._pair(conn, actor, first, second, Act.UNLINK)
            low, high = sorted((one.id, other.id))
            async with conn.execute(
                "DELETE FROM case_links WHERE low_id = ? AND high_id = ?", (low, high)
            ) as cur:
                if cur.rowcount == 0:
                    raise Refused("link_none")
            await self.ctx.event(conn, one.id, actor, Action.UNLINK, one.status, None, CaseRefData(case=other.number))
            await self.ctx.event(conn, other.id, actor, Action.UNLINK, other.status, None, CaseRefData(case=one.number))
        self.outbox.kick()
        return one, other

    async def merge(self, actor: Actor, main_number: str, duplicate_number: str, reason: str) -> tuple[Case, Case]:
        """/merge: close the duplicate as merged into the main case; its petitioner(s) follow the main case.

        One transaction: the duplicate's status and pointer, the duplicates
        merged into it moved along, an event on each case (the reason as body),
        and the notices: the duplicate's petitioner(s), the main case's
        petitioner, and the staff handling either case.
        """
        self._staff_only(actor)
        reason = (reason or "").strip()
        if not reason:
            raise BadInput("reason_required")
        if len(reason) > REASON_MAX:
            raise BadInput("merge_too_long", max=REASON_MAX, length=len(reason))
        async with self.db.transaction() as conn:
            main, duplicate = await self._pair(conn, actor, main_number, duplicate_number, Act.MERGE)
            status = next_status(duplicate.status, Action.MERGE, actor.role)
            next_status(main.status, Action.JOIN, actor.role)
            now = self.ctx.now()
            # Cases merged into the duplicate earlier are merged into the main case now.
            await conn.execute("UPDATE cases SET merged_into = ? WHERE merged_into = ?", (main.id, duplicate.id))
            duplicate = await self.ctx.update_case(
                conn, duplicate.id, {"status": status.value, "closed_at": now, "merged_into": main.id}
            )
            merged_event = await self.ctx.event(
                conn, duplicate.id, actor, Action.MERGE, status, reason, MergeData(into=main.number)
            )
            joined_event = await self.ctx.event(
                conn, main.id, actor, Action.JOIN, main.status, reason, JoinData(duplicate=duplicate.number)
            )
            # Told to everyone who petitions in the duplicate, and in the main case, before they join.
            await self.outbox.queue(conn, duplicate.petitioner_id, NoticeKind.MERGED_PETITIONER, duplicate.id,
                                    merged_event, MergedParams(main=main.number))
            await self.outbox.queue(conn, main.petitioner_id, NoticeKind.JOINED_PETITIONER, main.id, joined_event)
            # Everyone who petitions in the duplicate petitions in the main case too (store/ledger.py):
            # the ledger tells them of it (in chat, or through tasks for the staff) and lists it in
            # their /mycases; unused claim codes of the duplicate now claim the main case.
            await self.ledger.follow(conn, main.id, duplicate.id)
            await conn.execute(
                "UPDATE claim_codes SET case_id = ? WHERE case_id = ? AND used_at IS NULL", (main.id, duplicate.id)
            )
            params = MergeStaffParams(main=main.number, duplicate=duplicate.number, by=actor.id)
            for staff_id in dict.fromkeys(_handlers(self.org, main) + _handlers(self.org, duplicate)):
                if staff_id == actor.id:
                    continue
                if not await self.ctx.queue_staff(conn, staff_id, NoticeKind.MERGE_STAFF, main, joined_event, params):
                    await self.ctx.queue_staff(conn, staff_id, NoticeKind.MERGE_STAFF, duplicate, merged_event, params)
        self.outbox.kick()
        return main, duplicate

    # ----------------------------------------------------------- reading

    async def related(self, viewer: Actor, case: Case) -> RelatedCases:
        """The relations of ``case`` a staff card shows: only cases ``viewer`` may see, never a confidential one."""
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT c.* FROM case_links l JOIN cases c"
                " ON c.id = CASE WHEN l.low_id = ? THEN l.high_id ELSE l.low_id END"
                " WHERE l.low_id = ? OR l.high_id = ? ORDER BY c.id",
                (case.id, case.id, case.id),
            ) as cur:
                linked = [row_to_model(Case, row) async for row in cur]
            async with conn.execute("SELECT * FROM cases WHERE merged_into = ? ORDER BY id", (case.id,)) as cur:
                merged_from = [row_to_model(Case, row) async for row in cur]
            into = (
                await self.ctx.case_where(conn, "id = ?", (case.merged_into,)) if case.merged_into is not None else None
            )

        def visible(other: Case | None) -> bool:
            return other is not None and not _island(other) and self.ctx.may_see(viewer, other)

        return RelatedCases(
            links=[c.number for c in linked if visible(c)],
            merged_into=into.number if into is not None and visible(into) else None,
            merged_from=[c.number for c in merged_from if visible(c)],
        )


async def joined_by_merge(ctx: StoreContext, conn: Connection, user_id: int, case: Case) -> bool:
    """Does ``user_id`` petition in ``case`` only because their duplicate was merged into it?

    Such a petitioner follows the case (reads it, adds material, hears its
    notices) but may not withdraw it: the matter is the main petitioner's too.
    """
    return await ctx.follows(conn, user_id, case)
