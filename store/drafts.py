"""Drafts held for approval (签发): which acts wait, for whom, and the held row.

``[approvals]`` (store/org.py) names the acts an officer drafts and a leader
approves before they go out: 不予受理, 延期, 处理意见书. ``CaseService.act``
checks such an act exactly as if it were done, then holds it here instead
(``hold_draft``) for the nearest leaders up the unit tree from the handling
unit; the case itself does not change, its deadlines and warnings keep
running. ``store.approvals`` approves (the act is then done, in the same
transaction, as the officer drafted it, with the approver recorded: the
notices say 经批准) or returns it. A leader who is themselves an approver of
the case signs their own acts.
"""

from __future__ import annotations

import json
from typing import Any

from store import discipline, routing
from store.context import StoreContext
from store.db import Connection
from store.errors import DraftWaiting, Refused
from store.event_data import DraftData
from store.models import Actor, Case
from store.notices import DraftParams, NoticeKind
from store.org import Organization, Staff
from store.sqltext import only_row
from store.workflow import Action

#: The acts [approvals] can name, by the word the file uses.
APPROVABLE: dict[str, Action] = {"decline": Action.DECLINE, "extend": Action.EXTEND, "decide": Action.DECIDE}


def approvers_of(org: Organization, case: Case) -> list[Staff]:
    """The nearest leaders up the unit tree from the handling unit (recusal as for escalation).

    A report's: the discipline line's own leaders (store/discipline.py), never the unit's.
    """
    if discipline.on_line(org, case.category):
        return discipline.approvers(org, case.unit)
    return routing.leaders_at_level(org, case.unit, 0, case.category, case.confidential)


def approvers_for(org: Organization, case: Case, action: Action, actor: Actor, *, asked: bool = False) -> list[Staff]:
    """Who must approve ``actor``'s ``action`` on ``case`` before it goes out: nobody (empty) when it needs none.

    ``asked``: the officer submits it for approval although ``[approvals]`` does not name it (提请签发).
    """
    if not asked and action not in {APPROVABLE[word] for word in org.approvals.acts}:
        return []
    if action not in APPROVABLE.values():
        raise Refused("not_approvable")
    approvers = approvers_of(org, case)
    if any(s.telegram_id == actor.id for s in approvers):
        return []  # the approver's own act: signed by doing it
    if not approvers:
        raise Refused("no_approver", number=case.number)
    return approvers


async def hold_draft(
    ctx: StoreContext, conn: Connection, case: Case, actor: Actor, action: Action, approvers: list[Staff],
    params: dict[str, Any],
) -> int:
    """Keep the checked act as a draft for ``approvers`` and tell them; its id. One draft at a time per case."""
    async with conn.execute("SELECT id FROM pending_acts WHERE case_id = ? AND outcome IS NULL", (case.id,)) as cur:
        if await cur.fetchone() is not None:
            raise DraftWaiting(number=case.number)
    async with conn.execute(
        "INSERT INTO pending_acts (case_id, action, params, drafted_by, drafted_at, approvers)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (case.id, action.value, json.dumps(params, ensure_ascii=False), actor.id, ctx.now(),
         json.dumps([s.telegram_id for s in approvers])),
    ) as cur:
        draft_id = int((await only_row(cur))[0])
    event_id = await ctx.event(conn, case.id, actor, Action.DRAFT, case.status, None,
                               DraftData(draft=draft_id, act=action.value))
    for leader in approvers:
        await ctx.queue_staff(conn, leader.telegram_id, NoticeKind.APPROVAL_ASKED, case, event_id,
                              DraftParams(draft=draft_id))
    return draft_id


async def mark_approved(ctx: StoreContext, conn: Connection, draft_id: int, leader: Actor) -> None:
    """The draft approved, in the transaction that does its act; Refused if it no longer waits."""
    async with conn.execute(
        "UPDATE pending_acts SET outcome = 'approved', decided_by = ?, decided_at = ? WHERE id = ? AND outcome IS NULL"
        " RETURNING id", (leader.id, ctx.now(), draft_id),
    ) as cur:
        if await cur.fetchone() is None:
            raise Refused("draft_gone")
