"""The petitioner's own actions on their cases: view, add information, withdraw.

It works through the case service (``act``, ``add_info_in``). What a petitioner may do with
a case is read from the state machine (``store.workflow.RULES``), never
decided by a handler. Adding information is idempotent per Telegram message:
a message redelivered after a crash finds the event it made the first time.
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from store.cases import CaseService
from store.context import Service, StoreContext
from store.errors import BadInput, Refused
from store.event_data import AddInfoData, record_of
from store.links import joined_by_merge
from store.models import DETAILS_MAX, Actor, ActorRole, AttachmentIn, Case, Event, Status
from store.review import petitioner_window
from store.workflow import RULES, Action

# What a petitioner may add in one message: as much as the petition's details.
ADDITION_MAX = DETAILS_MAX

# The actions a petitioner may offer on a case view, in the order shown.
PETITIONER_ACTIONS = (Action.ADD_INFO, Action.WITHDRAW)



def petitioner_may(case: Case, action: Action) -> bool:
    """Whether the state machine lets the petitioner take ``action`` on ``case`` now."""
    rule = RULES[action]
    return ActorRole.PETITIONER in rule.roles and case.status in rule.allowed_from


def petitioner(user_id: int) -> Actor:
    return Actor(id=user_id, role=ActorRole.PETITIONER)


class PetitionerView(BaseModel):
    """A petitioner's own case: the case, its public record, what they may do now."""

    case: Case
    events: list[Event]
    actions: list[Action]


class Addition(BaseModel):
    case: Case
    created: bool  # False: this message had been added before (a redelivery)


class SelfService(Service):
    """What petitioners do with their own cases."""

    def __init__(self, ctx: StoreContext, cases: CaseService) -> None:
        super().__init__(ctx)
        self.cases = cases

    async def petitioner_case(self, user_id: int, number: str) -> PetitionerView:
        """The petitioner's own case by number; anyone else's answers NotFound."""
        case = await self.cases.case_for(petitioner(user_id), number)
        events = await self.cases.timeline(case.id, public_only=True)
        actions = [a for a in PETITIONER_ACTIONS if petitioner_may(case, a)]
        window = petitioner_window(case)
        if window is not None and self.ctx.today() <= window and not case.final:
            # 复查 (复核) stays on the case view for its whole window, whatever the rating (Art. 35-36).
            actions.append(Action.REQUEST_REVIEW if case.review_level == 0 else Action.REQUEST_REREVIEW)
        if Action.WITHDRAW in actions:
            async with self.db.read() as conn:
                if await joined_by_merge(self.ctx, conn, user_id, case):
                    actions.remove(Action.WITHDRAW)  # a merged duplicate's petitioner (store/links.py)
        return PetitionerView(case=case, events=events, actions=actions)

    async def add_information(
        self,
        user_id: int,
        number: str,
        *,
        text: str | None,
        attachments: list[AttachmentIn] | None = None,
        key: str,
        end_prompt: bool = False,
    ) -> Addition:
        """Append text and/or files from one message of the petitioner to their case.

        ``key`` names the message (chat and message id): the same message
        again changes nothing. It is journaled as its keyed hash (``Vault.tag``),
        never as given: a private chat's id is the person's Telegram id, which
        their real-name cases keep in clear, and a confidential case's journal
        holding it would name the reporter to anyone with a copy of the
        database. With ``end_prompt`` the pending prompt that
        asked for it is closed in the same transaction, so a crash can never
        leave the addition stored but the question still open, or the reverse.
        """
        body = text.strip() if text and text.strip() else None
        if body is not None and len(body) > ADDITION_MAX:
            raise BadInput("addition_too_long", max=ADDITION_MAX, length=len(body))
        files = [a.model_dump() for a in attachments or []]
        actor = petitioner(user_id)
        tagged = self.ctx.vault.tag(f"add_info:{key}")
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            # A case's additions are few: their keys are read here, not looked up in the JSON by SQL.
            async with conn.execute(
                "SELECT data FROM events WHERE case_id = ? AND action = ?", (case.id, Action.ADD_INFO.value)
            ) as cur:
                # The key as older versions journaled it, too (as given).
                seen = any(record_of(Action.ADD_INFO, json.loads(row["data"]), AddInfoData).key in (tagged, key)
                           for row in await cur.fetchall())
            if not seen:
                case = await self.cases.add_info_in(conn, actor, number, body, files, AddInfoData(key=tagged))
            if end_prompt:
                await self.cases.clear_prompt_in(conn, user_id)
        if not seen:
            self.outbox.kick()
        return Addition(case=case, created=not seen)

    async def withdraw(self, user_id: int, number: str) -> tuple[Case, bool]:
        """Withdraw the petitioner's case (撤回); a repeated request is a no-op.

        Returns the case and whether this call withdrew it. Whether a case
        may still be withdrawn is the state machine's answer.
        """
        case = await self.cases.case_for(petitioner(user_id), number)
        if case.status is Status.WITHDRAWN:
            return case, False
        async with self.db.read() as conn:
            if await joined_by_merge(self.ctx, conn, user_id, case):
                raise Refused("merged_no_withdraw")
        return await self.cases.act(petitioner(user_id), number, Action.WITHDRAW), True
