"""Officers' case work beyond single actions: relayed replies, look-ups, checks.

Built on the case service. Every change still goes
through ``act`` or ``add_info`` (one transaction with its journal event and
notifications); this module adds the bookkeeping around them: which Telegram
message belongs to which case, who is meant by a name typed after /assign,
which unit after /transfer, and the canned replies of the organisation file.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from store import routing
from store.cases import CaseService
from store.context import Service, StoreContext
from store.errors import NotFound, Refused
from store.event_data import AddInfoData
from store.models import Actor, ActorRole, Case
from store.org import Staff, Unit
from store.workflow import Action, next_status

_TOKEN = re.compile(r"\S+")


class Relayed(BaseModel):
    """A Telegram reply passed on to the other side of a case."""

    case: Case
    to_petitioner: bool  # True: staff → petitioner; False: petitioner → staff
    duplicate: bool = False  # the same message was relayed before (a redelivered update)


class StaffWork(Service):
    """Officers' work around the case actions: relaying, checking, resolving names."""

    def __init__(self, ctx: StoreContext, cases: CaseService) -> None:
        super().__init__(ctx)
        self.cases = cases

    # ------------------------------------------------ messages and relaying

    async def remember_messages(self, chat_id: int, message_ids: list[int], case_id: int) -> None:
        """Record that these messages of the bot in ``chat_id`` are about ``case_id``."""
        now = self.ctx.now()
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO case_messages (chat_id, message_id, case_id, incoming,"
                " created_at) VALUES (?, ?, ?, FALSE, ?) ON CONFLICT DO NOTHING",
                [(self.ctx.message_key(chat_id, message_id), message_id, case_id, now) for message_id in message_ids],
            )

    async def case_id_for_message(self, chat_id: int, message_id: int) -> int | None:
        """The case a message of the bot belongs to, if it was recorded."""
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT case_id FROM case_messages WHERE chat_id = ? AND message_id = ?"
                " AND NOT incoming",
                (self.ctx.message_key(chat_id, message_id), message_id),
            ) as cur:
                row = await cur.fetchone()
        return row["case_id"] if row else None

    async def relay_reply(
        self,
        user_id: int,
        chat_id: int,
        reply_to_id: int,
        message_id: int,
        text: str | None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> Relayed | None:
        """Pass a Telegram reply to a case message on to the other side of the case.

        None if ``reply_to_id`` is not a case message (the reply is then an
        ordinary message). The case's petitioner adds information for the
        officers (``add_info``); staff reply to the petitioner (``act`` REPLY),
        with the usual scope check: a case they may no longer see answers
        NotFound. A message relayed before is not relayed again.
        """
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT case_id, incoming, message_id FROM case_messages"
                " WHERE (chat_id = ? AND message_id = ?) OR (chat_id = ? AND message_id = ?)",
                (self.ctx.message_key(chat_id, reply_to_id), reply_to_id, self.ctx.message_key(chat_id, message_id),
                 message_id),
            ) as cur:
                rows = {row["message_id"]: row async for row in cur}
            target = rows.get(reply_to_id)
            if target is None or target["incoming"]:
                return None
            case = await self.ctx.case_where(conn, "id = ?", (target["case_id"],))
            assert case is not None
            # The petitioner, or someone who claimed the case registered for them (store/ledger.py).
            petitioner = self.ctx.owns(user_id, case) or await self.ctx.claimed(conn, user_id, case.id)
        to_petitioner = not petitioner
        if message_id in rows:
            return Relayed(case=case, to_petitioner=to_petitioner, duplicate=True)
        if not to_petitioner:
            # An answer to the staff's message, not material added on the petitioner's own initiative.
            actor = Actor(id=user_id, role=ActorRole.PETITIONER)
            async with self.db.transaction() as conn:
                case = await self.cases.add_info_in(conn, actor, case.number, text, attachments or [], AddInfoData(reply=True))
            self.outbox.kick()
        else:
            actor = self.ctx.actor(user_id)
            if not actor.is_staff:
                raise NotFound(number=case.number)
            if attachments and not (text and text.strip()):
                raise Refused("reply_text_only")
            case = await self.cases.act(actor, case.number, Action.REPLY, body=text)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO case_messages (chat_id, message_id, case_id, incoming,"
                " created_at) VALUES (?, ?, ?, TRUE, ?) ON CONFLICT DO NOTHING",
                (self.ctx.message_key(chat_id, message_id), message_id, case.id, self.ctx.now()),
            )
        return Relayed(case=case, to_petitioner=to_petitioner)

    # ----------------------------------------------------------- checking

    async def check_action(self, actor: Actor, number: str, action: Action) -> Case:
        """The case, if ``actor`` may take ``action`` on it now; else why not.

        For menus shown before the officer types a text (a written opinion,
        a reason), so that a case already decided, or out of scope, is
        refused before the typing, not after. ``act`` checks again.
        """
        case = await self.cases.case_for(actor, number)
        self.ctx.check_lead(actor, case, action)
        next_status(case.status, action, actor.role)
        if action is Action.EXTEND:
            if case.extended_days:
                raise Refused("already_extended")
            if self.org.deadlines.max_extension_days < 1:
                raise Refused("extension_days", limit=0)
        return case

    async def assignable_staff(self, actor: Actor, number: str) -> tuple[Case, list[Staff]]:
        """Who the case may be assigned to (everyone in scope for it)."""
        case = await self.check_action(actor, number, Action.ASSIGN)
        return case, routing.staff_in_scope_for(self.org, case.unit, case.category, case.confidential)

    # ------------------------------------------------------------ resolving

    def find_staff(self, query: str) -> list[Staff]:
        """Staff meant by ``query``: a Telegram id, or a name (exact, any case)."""
        query = query.strip().removeprefix("@")
        if query.isdigit():
            member = self.org.staff_member(int(query))
            return [member] if member is not None else []
        wanted = query.casefold()
        return [s for s in self.org.staff if s.name.casefold() == wanted]

    def find_units(self, query: str) -> list[Unit]:
        """Units meant by ``query``: an id, or a Chinese or English name (any case)."""
        query = query.strip()
        unit = self.org.find_unit(query)
        if unit is not None:
            return [unit]
        wanted = query.casefold()
        return [
            u for u in self.org.units
            if wanted in {(u.name.zh or "").casefold(), (u.name.en or "").casefold()}
        ]

    def split_unit(self, text: str) -> tuple[list[Unit], str]:
        """A unit at the start of ``text`` (the longest run of words naming one) and the rest.

        "/transfer XF-2026-000001 No. 2 Oil Production Plant wrong place"
        needs this: English unit names have spaces.
        """
        tokens = list(_TOKEN.finditer(text))
        for count in range(len(tokens), 0, -1):
            units = self.find_units(" ".join(m.group(0) for m in tokens[:count]))
            if units:
                return units, text[tokens[count - 1].end():].strip()
        return [], text.strip()

    async def assign_to(self, actor: Actor, number: str, who: str) -> Case:
        """/assign: the staff member by id or name, then the ASSIGN action."""
        await self.cases.case_for(actor, number)
        found = self.find_staff(who)
        if not found:
            raise Refused("unknown_staff", who=who)
        if len(found) > 1:
            raise Refused("ambiguous_staff", who=who)
        return await self.cases.act(actor, number, Action.ASSIGN, assignee_id=found[0].telegram_id)

    async def transfer_to(self, actor: Actor, number: str, where_and_reason: str) -> Case:
        """/transfer: the unit (id or name) at the start of the text, the reason after it."""
        await self.cases.case_for(actor, number)
        units, reason = self.split_unit(where_and_reason)
        if not units:
            raise Refused("unknown_unit")
        if len(units) > 1:
            raise Refused("ambiguous_unit")
        return await self.cases.act(actor, number, Action.TRANSFER, unit=units[0].id, body=reason)

    # ------------------------------------------------------- canned replies

    async def canned_text(self, actor: Actor, number: str, canned_id: str) -> tuple[Case, str]:
        """A canned reply as the petitioner will read it (in their language)."""
        case = await self.check_action(actor, number, Action.REPLY)
        canned = next((c for c in self.org.canned_replies if c.id == canned_id), None)
        if canned is None:
            raise Refused("unknown_canned")
        language = await self.cases.user_language(case.petitioner_id) or case.language or "zh"
        return case, canned.text.get(language)

    async def reply_canned(self, actor: Actor, number: str, canned_id: str) -> Case:
        """Send a canned reply to the petitioner: a REPLY whose text is the canned one."""
        _, text = await self.canned_text(actor, number, canned_id)
        return await self.cases.act(actor, number, Action.REPLY, body=text)

