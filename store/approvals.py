"""签发: a leader approves or returns an officer's draft (held by ``CaseService.act``, store/drafts.py).

Approving does the drafted act, as the officer drafted it and in one
transaction with the approval, so the act and its approval are never apart;
the event records the approver, and the petitioner's notice and document say
经批准. Returning it tells the officer, who drafts again.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from store.cases import CaseService
from store.context import Service, StoreContext
from store.db import Connection
from store.drafts import approvers_of
from store.errors import AwaitingApproval, OpinionIncomplete, Refused
from store.event_data import DraftData
from store.models import Actor, Case, Decision, ReviewOutcome
from store.notices import DraftParams, NoticeKind
from store.opinion import DeclineGrounds, OpinionParts
from store.org import Role
from store.policy import Act
from store.workflow import Action


class Draft(BaseModel):
    """An act waiting for approval, or one that waited."""

    id: int
    case_id: int
    number: str
    action: Action
    body: str | None
    decision: str | None
    days: int | None
    drafted_by: int
    approvers: list[int]
    outcome: str | None
    parts: OpinionParts | None = None  # a written opinion's request, facts and basis (Art. 32)
    grounds: DeclineGrounds | None = None  # a decline's reason and destination (Art. 21-22)


class ApprovalService(Service):
    """Approve (签发) or return the drafts ``[approvals]`` holds."""

    def __init__(self, ctx: StoreContext, cases: CaseService) -> None:
        super().__init__(ctx)
        self.cases = cases

    async def _draft(self, conn: Connection, draft_id: int) -> Draft:
        async with conn.execute(
            "SELECT p.*, c.number FROM pending_acts p JOIN cases c ON c.id = p.case_id WHERE p.id = ?", (draft_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise Refused("draft_gone")
        params: dict[str, Any] = json.loads(row["params"])
        return Draft(id=row["id"], case_id=row["case_id"], number=row["number"], action=Action(row["action"]),
                     body=params.get("body"), decision=params.get("decision"), days=params.get("days"),
                     drafted_by=row["drafted_by"], approvers=json.loads(row["approvers"]), outcome=row["outcome"],
                     parts=params.get("parts"), grounds=params.get("grounds"))

    async def draft(self, draft_id: int) -> Draft:
        async with self.db.read() as conn:
            return await self._draft(conn, draft_id)

    async def _waiting_for(self, conn: Connection, leader: Actor, draft_id: int) -> tuple[Draft, Case]:
        """The draft if it still waits and ``leader`` may approve it (the policy, then the nearest leaders)."""
        draft = await self._draft(conn, draft_id)
        if draft.outcome is not None:
            raise Refused("draft_gone", number=draft.number)
        case = await self.ctx.load_case(conn, leader, draft.number)
        await self.ctx.require(conn, Act.APPROVE, leader, case)
        # The nearest leaders now, or one the draft named who is still a leader (the draft's list is of its
        # day: a leader since made an officer of the unit no longer approves).
        member = self.org.staff_member(leader.id) if leader.id is not None else None
        named = leader.id in draft.approvers and member is not None and member.role is Role.LEADER
        if not named and all(s.telegram_id != leader.id for s in approvers_of(self.org, case)):
            raise Refused("approval_not_yours", number=case.number)
        return draft, case

    async def submit(self, actor: Actor, number: str, action: Action, *, body: str | None = None,
                     decision: Decision | None = None, days: int | None = None, parts: OpinionParts | None = None,
                     grounds: DeclineGrounds | None = None) -> int:
        """提请签发: hold the act for the nearest leaders although ``[approvals]`` does not ask; the draft's id."""
        try:
            await self.cases.act(actor, number, action, body=body, decision=decision, days=days, ask_approval=True,
                                 parts=parts, grounds=grounds)
        except AwaitingApproval as held:
            return int(held.params["draft"])
        raise Refused("approval_own", number=number)  # the approver's own act was done at once

    async def approve(self, leader: Actor, draft_id: int) -> Case:
        """签发: the drafted act is done now, as drafted, with ``leader`` recorded as its approver."""
        async with self.db.read() as conn:
            draft, _case = await self._waiting_for(conn, leader, draft_id)
        author = self.ctx.actor(draft.drafted_by)
        if not author.is_staff:
            raise Refused("draft_author_gone", number=draft.number)
        if draft.action is Action.DECIDE and draft.parts is None:
            # Drafted before the parts were asked: it cannot go out as it is (Art. 32); 退回修改 lets it be redrafted.
            raise OpinionIncomplete("draft_parts_missing", number=draft.number)
        decision: Decision | None = None
        if draft.decision is not None:
            decision = Decision(draft.decision) if draft.decision in {d.value for d in Decision} else None
            if decision is None and draft.decision in {o.value for o in ReviewOutcome}:
                raise Refused("draft_gone", number=draft.number)
        return await self.cases.act(author, draft.number, draft.action, body=draft.body, decision=decision,
                                    days=draft.days, approving=(draft.id, leader), parts=draft.parts,
                                    grounds=draft.grounds)

    async def return_draft(self, leader: Actor, draft_id: int) -> Draft:
        """退回修改: the draft goes back to the officer, who is told; nothing reaches the petitioner."""
        async with self.db.transaction() as conn:
            draft, case = await self._waiting_for(conn, leader, draft_id)
            await conn.execute(
                "UPDATE pending_acts SET outcome = 'returned', decided_by = ?, decided_at = ? WHERE id = ?",
                (leader.id, self.ctx.now(), draft.id))
            event_id = await self.ctx.event(conn, case.id, leader, Action.DRAFT_RETURNED, case.status, None,
                                            DraftData(draft=draft.id, act=draft.action.value))
            await self.ctx.queue_staff(conn, draft.drafted_by, NoticeKind.APPROVAL_RETURNED, case, event_id,
                                       DraftParams(draft=draft.id))
        self.outbox.kick()
        return draft.model_copy(update={"outcome": "returned"})
