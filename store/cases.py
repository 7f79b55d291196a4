"""Cases and intake: users, drafts, submission, case lookup, actions, the timeline.

Every change is one transaction. A change checks the state machine, writes the case row, appends the journal
event and queues the notifications it causes, all before COMMIT. The caller
answers the user only after this returns, so a crash at any point leaves
either nothing or the whole change, notifications included.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from store import discipline, journal, policy, routing
from store.clock import iso, local_date
from store.context import Service, StoreContext, local_midnight
from store.conversations import Conversation
from store.db import Connection
from store.documents import queue_documents
from store.drafts import approvers_for, hold_draft, mark_approved
from store.errors import AwaitingApproval, BadInput, NotFound, Refused
from store.event_data import (
    AcceptData,
    ActData,
    AddInfoData,
    AssignData,
    DecideData,
    DeclineData,
    ExtendData,
    RevealData,
    SubmitData,
    TransferData,
)
from store.forms import FormDrafts
from store.models import (
    Actor,
    ActorRole,
    Attachment,
    Case,
    Decision,
    Draft,
    DraftData,
    Event,
    Identity,
    Petitioner,
    Status,
    SubmitResult,
    row_to_model,
)
from store.newcase import NewCase, confidential_by_default, insert_case_with
from store.notices import NoticeKind
from store.opinion import DeclineGrounds, OpinionParts, decline_data, required_parts
from store.org import Category, CategoryKind, Staff
from store.people import Filed, register_query
from store.policy import Act
from store.review import ReviewService
from store.sqltext import only_row
from store.supervision import current_ranks, queue_page
from store.vault import VaultError, is_hid, is_sealed
from store.verified import verified_query
from store.workflow import RULES, Action, next_status


def _is_report(category: Category) -> bool:
    return category.kind is CategoryKind.REPORT


def choose_category(data: DraftData, category: Category, previous: Category | None) -> None:
    """Put ``category`` on the draft: a report is confidential unless the petitioner says otherwise.

    Choosing a report (检举控告) makes the draft confidential and drops the
    phone number, unless it was a report already and the petitioner has
    chosen since; leaving a report keeps whatever was chosen.
    """
    data.category = category.id
    if _is_report(category) and (data.confidential is None or previous is None or not _is_report(previous)):
        data.confidential = True
        data.phone = None


#: The ids of a petitioner's cases: their own (parameters: their id, its keyed hash) and those
#: registered for them that they claimed (their two claim keys, ``StoreContext.claim_keys``).
#: bench/store_scale.py records its plans.
PETITIONER_CASES = (
    "SELECT id FROM cases WHERE petitioner_id IN (?, ?)"
    " UNION SELECT cp.case_id FROM case_petitioners cp JOIN petitioners p ON p.id = cp.petitioner_id"
    " WHERE p.telegram_hid IN (?, ?) AND cp.claimed_at IS NOT NULL"
)


#: How recent a submission /new names before starting another (its receipt may never have arrived).
JUST_SUBMITTED = timedelta(minutes=10)


class _SecondTap(Exception):
    """A second tap of Submit found the case the first made: the submission's transaction rolls back."""

    def __init__(self, case: Case) -> None:
        self.case = case


class CaseService(Service):
    """Cases, journal, drafts, prompts, conversation states and user preferences."""

    def __init__(self, ctx: StoreContext, review: ReviewService) -> None:
        super().__init__(ctx)
        # Submission and the written opinion open review's work in the same transaction.
        self.review = review
        self.forms = FormDrafts(ctx)  # the intake's draft row

    # ----------------------------------------------------------- identity

    def actor(self, user_id: int, name: str = "") -> Actor:
        """The caller as the organisation file sees them: staff role or petitioner."""
        return self.ctx.actor(user_id, name)

    async def touch_user(
        self,
        user_id: int,
        *,
        tg_language: str | None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> None:
        """Remember the language Telegram reports. Users are stored by the keyed hash of their id,
        and their names not at all (a confidential reporter's are sealed with their case)."""
        del first_name, username
        async with self.db.write_one() as conn:  # one statement: on PostgreSQL it waits for no submission
            await conn.execute(
                "INSERT INTO users (telegram_id, tg_language, updated_at)"
                " VALUES (?, ?, ?)"
                " ON CONFLICT (telegram_id) DO UPDATE SET tg_language = excluded.tg_language,"
                " updated_at = excluded.updated_at",
                (self.ctx.hid(user_id), tg_language, self.ctx.now()),
            )

    async def set_language(self, user_id: int, language: str) -> None:
        async with self.db.write_one() as conn:
            await conn.execute(
                "INSERT INTO users (telegram_id, language, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (telegram_id) DO UPDATE SET language = excluded.language,"
                " updated_at = excluded.updated_at",
                (self.ctx.hid(user_id), language, self.ctx.now()),
            )

    async def user_language(self, user_id: int) -> str | None:
        """The chosen language, else the last one Telegram reported, else None."""
        async with self.db.read_one() as conn:
            async with conn.execute(
                "SELECT language, tg_language FROM users WHERE telegram_id = ?", (self.ctx.hid(user_id),)
            ) as cur:
                row = await cur.fetchone()
        if row is None and is_hid(user_id):
            # A key of its own (a booking's: StoreContext.booking_key): the person behind it, opened.
            async with self.db.read() as conn:
                chat = await self.ctx.chat_of(conn, user_id)
                if chat is not None and chat > 0:
                    async with conn.execute(
                        "SELECT language, tg_language FROM users WHERE telegram_id = ?", (self.ctx.hid(chat),)
                    ) as cur:
                        row = await cur.fetchone()
        if row is None:
            return None
        found: str | None = row["language"] or row["tg_language"]
        return found

    async def pseudonym(self, draft_id: str) -> str:
        """The code name the case this draft becomes will carry (one per case, not per person)."""
        async with self.db.read_one() as conn:
            return await self.ctx.pseudonym(conn, draft_id)

    # -------------------------------------------------------------- drafts

    async def get_draft(self, user_id: int) -> Draft | None:
        """The petition being written (store/forms.py keeps the row: sealed answers, step, chat state)."""
        found = await self.forms.get(Conversation.INTAKE, user_id)
        if found is None:
            return None
        return Draft(user_id=user_id, step=found.step, data=DraftData.model_validate(found.data), ui=found.ui,
                     updated_at=found.updated_at)

    async def save_draft(
        self, user_id: int, step: str, data: DraftData, ui: dict[str, Any] | None = None
    ) -> None:
        """Write the draft, the step it is at and the conversation's own state, before the next question.

        ``ui`` is the handler's (opaque here); None keeps what was stored.
        """
        await self.forms.save(Conversation.INTAKE, user_id, step, data.model_dump(mode="json"), ui)

    async def discard_draft(self, user_id: int) -> None:
        await self.forms.clear(Conversation.INTAKE, user_id)

    async def set_prompt(self, user_id: int, kind: str, number: str) -> None:
        """Remember that the user's next text answers ``kind`` for case ``number``.

        The number is sealed: the row is keyed by the person's ``hid``, which a confidential case keeps its
        reporter by, and a real-name case's number beside it would name the reporter to a copy of the database.
        """
        key = self.ctx.conv_key(user_id)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO conversations (name, key, sealed_key, state, data, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (name, key) DO UPDATE SET state = excluded.state,"
                " data = excluded.data, updated_at = excluded.updated_at",
                (Conversation.PROMPT, key,
                 self.ctx.seal_conv(Conversation.PROMPT, key, "sealed_key", str(user_id)), kind,
                 self.ctx.seal_conv(Conversation.PROMPT, key, "data", {"number": number}), self.ctx.now()),
            )

    async def get_prompt(self, user_id: int) -> tuple[str, str] | None:
        key = self.ctx.conv_key(user_id)
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT state, data FROM conversations WHERE name = ? AND key = ?"
                " AND state IS NOT NULL",
                (Conversation.PROMPT, key),
            ) as cur:
                row = await cur.fetchone()
        if row is None:
            return None
        stored = str(row["data"])  # sealed; a prompt an older version left waiting is plain JSON
        data = self.ctx.open_conv(Conversation.PROMPT, key, "data", stored) if is_sealed(stored) else json.loads(stored)
        return row["state"], data["number"]

    async def clear_prompt(self, user_id: int) -> None:
        async with self.db.transaction() as conn:
            await self.clear_prompt_in(conn, user_id)

    async def clear_prompt_in(self, conn: Connection, user_id: int) -> None:
        """``clear_prompt`` inside the caller's transaction."""
        await conn.execute(
            "DELETE FROM conversations WHERE name = ? AND key = ?", (Conversation.PROMPT, self.ctx.conv_key(user_id))
        )

    async def load_conversations(self, name: str) -> dict[str, str]:
        """PTB's conversation states; their keys (chat and user ids) are stored sealed, found by keyed hash."""
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT key, sealed_key, state FROM conversations WHERE name = ? AND state IS NOT NULL",
                (name,),
            ) as cur:
                return {
                    (self.ctx.open_conv(name, row["key"], "sealed_key", row["sealed_key"]) if row["sealed_key"]
                     else row["key"]): row["state"]
                    async for row in cur
                }

    def _stored_key(self, key: str) -> str:
        """A conversation key as stored: one person's id as the store's own rows key it, anything else tagged."""
        if key.isdigit():
            return self.ctx.conv_key(int(key))
        return self.ctx.vault.tag(key)

    async def save_conversation(self, name: str, key: str, state: str | None) -> None:
        """Conversation state for PTB; ending a conversation keeps any draft data."""
        stored = self._stored_key(key)
        async with self.db.transaction() as conn:
            if state is None:
                await conn.execute(
                    "DELETE FROM conversations WHERE name = ? AND key = ? AND data = '{}'",
                    (name, stored),
                )
                await conn.execute(
                    "UPDATE conversations SET state = NULL WHERE name = ? AND key = ?",
                    (name, stored),
                )
                return
            await conn.execute(
                "INSERT INTO conversations (name, key, sealed_key, state, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name, key) DO UPDATE SET state = excluded.state,"
                " updated_at = excluded.updated_at",
                (name, stored, self.ctx.seal_conv(name, stored, "sealed_key", key), state, self.ctx.now()),
            )

    # ---------------------------------------------------------- submission

    async def submit(
        self, petitioner: Petitioner, draft: DraftData, submit_key: str
    ) -> SubmitResult:
        """Store a complete draft as a new case, once per ``submit_key``.

        A redelivered or double-tapped Submit finds the case made the first
        time and returns it with ``created=False``; no second case, no second
        round of notifications.
        """
        category = self.org.find_category(draft.category) if draft.category else None
        if category is None or draft.unit is None or self.org.find_unit(draft.unit) is None:
            raise Refused("draft_incomplete")
        if not draft.subject or not draft.details:
            raise Refused("draft_incomplete")
        unit, submitted = self._reported(draft, category)
        now = self.clock.now()
        today = local_date(now, self.tz)
        confidential = confidential_by_default(draft.confidential, category)
        # A verified employee files under the roster's name and number; a confidential case records neither.
        account = None if confidential else self.ctx.account_key(petitioner.id)
        try:
            async with self.db.transaction() as conn:
                # What none of the rest needs another's answer for, in one trip: a second tap of Submit (the
                # case made the first time), today's count, which employee the account is verified as, the
                # year's next number, the journal's head. A refusal or a second tap rolls it all back (no
                # number is spent).
                existing, counted, numbered, head, *verified = await conn.together([
                    ("SELECT * FROM cases WHERE submit_key = ?", (submit_key,)),
                    self._submitted_on(petitioner.id, today),
                    self._number_statement(),
                    journal.head_statement("events"),
                    *([verified_query(account)] if account is not None else []),
                ])
                if existing:
                    raise _SecondTap(row_to_model(Case, existing[0]))
                if int(counted[0][0]) >= self.org.limits.submissions_per_day:
                    raise Refused("daily_limit", limit=self.org.limits.submissions_per_day)
                journal.know_head(conn, "events", head)
                number = self._number_of(numbered)
                employee = dict(verified[0][0]) if verified and verified[0] else None
                # A confidential reporter is stored only behind a keyed hash; who
                # they are is sealed in the vault, for the identity custodian alone.
                petitioner_key = await self.ctx.remember_person(conn, petitioner.id) if confidential else petitioner.id
                name = employee["name"] if employee is not None else petitioner.name
                accept_due = discipline.accept_due(self.org, category.id, today)
                identity = {
                    "telegram_id": petitioner.id,
                    "name": petitioner.name,
                    "username": petitioner.username,
                    "phone": draft.phone,
                }
                # The register records that are the same person (repeat detection, below) need nothing of
                # the case: read with its INSERT. A confidential case is an island: none are read.
                alongside = [] if confidential else [register_query(self.ctx, petitioner_key, draft.phone, employee)]
                case, registered = await insert_case_with(self.ctx, conn, NewCase(
                    number=number,
                    submit_key=submit_key,
                    petitioner_id=petitioner_key,
                    category=category,
                    unit=unit,
                    subject=draft.subject,
                    details=draft.details,
                    confidential=confidential,
                    submitted_at=now,
                    accept_due=accept_due,
                    name=name,
                    phone=draft.phone,
                    people=draft.people,
                    desired_outcome=draft.desired_outcome,
                    language=petitioner.language,
                    employee_no=employee["employee_no"] if employee is not None else None,
                    employee_unit=employee["unit"] if employee is not None else None,
                ), now, identity, alongside)
                event_id = await self.ctx.event(
                    conn,
                    case.id,
                    Actor(id=petitioner.id, role=ActorRole.PETITIONER),
                    Action.SUBMIT,
                    Status.SUBMITTED,
                    None,
                    SubmitData(attachments=len(draft.attachments), **submitted),
                    petitioner_key=petitioner_key,
                    inserted=case,
                )
                for attachment in draft.attachments:
                    await self.ctx.attach(conn, case.id, event_id, attachment.model_dump())
                conn.later(
                    "DELETE FROM conversations WHERE name = ? AND key = ?",
                    (Conversation.INTAKE, self.ctx.conv_key(petitioner.id)),
                )
                # The row as inserted: whom to tell depends on its unit, category and confidentiality, which
                # nothing since has changed; it is what the submission answers, unless an alert changes it.
                await self.notify_new_case(conn, case, event_id)
                filed = Filed(employee=employee, registered=[dict(row) for row in registered[0]] if registered else None)
                case = await self.review.after_submit(conn, case, filed)
        except _SecondTap as again:
            return SubmitResult(case=again.case, created=False)
        self.outbox.kick()
        return SubmitResult(case=case, created=True)

    def _reported(self, draft: DraftData, category: Category) -> tuple[str, dict[str, Any]]:
        """The unit a case is recorded against, and what the submission event notes about it.

        A report on the discipline line about a unit's leadership is recorded against the unit of
        the nearest discipline level above it, so that the level above that one takes it; when no
        discipline level of the company is high enough, the reporter is told where to go instead.
        """
        assert draft.unit is not None
        if not discipline.on_line(self.org, category.id):
            return draft.unit, {}
        leadership = bool(draft.about_leadership)
        unit = discipline.handling_unit(self.org, draft.unit, leadership)
        if unit is None:
            body = self.org.organization.discipline_body
            raise Refused("report_external", body=str(body.name) if body else "上一级纪检监察机关",
                          address=body.address if body else "-", phone=(body.phone if body else None) or "-")
        return unit, ({"reported_unit": draft.unit, "about_leadership": True} if leadership else {})

    async def next_number(self, conn: Connection) -> str:
        """The next case number of this year (XF-2026-000123), inside the caller's transaction."""
        sql, params = self._number_statement()
        async with conn.execute(sql, params) as cur:
            return self._number_of([await only_row(cur)])

    def _number_statement(self) -> tuple[str, tuple[Any, ...]]:
        """The statement that takes this year's next sequence number (rolled back with its transaction)."""
        return ("INSERT INTO case_numbers (year, last_seq) VALUES (?, 1)"
                " ON CONFLICT (year) DO UPDATE SET last_seq = case_numbers.last_seq + 1 RETURNING last_seq, year",
                (self.clock.now().astimezone(self.tz).year,))

    def _number_of(self, rows: list[Any]) -> str:
        """The case number ``_number_statement`` answered: XF-2026-000123."""
        return f"{self.org.organization.case_prefix}-{rows[0]['year']}-{int(rows[0]['last_seq']):06d}"

    def _submitted_on(self, user_id: int, day: date) -> tuple[str, tuple[Any, ...]]:
        """The statement that counts the person's submissions of ``day`` (the daily limit)."""
        start = iso(local_midnight(day, self.tz))
        end = iso(local_midnight(day + timedelta(days=1), self.tz))
        return (
            "SELECT count(*) FROM cases WHERE petitioner_id IN (?, ?) AND submitted_at >= ? AND submitted_at < ?",
            (*self.ctx.person_ids(user_id), start, end),
        )

    # ------------------------------------------------------------- reading

    async def case_for(self, viewer: Actor, number: str) -> Case:
        """The case by number if the viewer may see it; NotFound either way otherwise."""
        async with self.db.read() as conn:
            case = await self.ctx.load_case(conn, viewer, number)
        return case

    def offered(self, viewer: Actor, case: Case) -> frozenset[Action]:
        """The actions the viewer's case card offers now (a co-handling unit's staff: notes and progress)."""
        return self.ctx.offered(viewer, case)

    async def allows(self, viewer: Actor, act: Act, case: Case) -> bool:
        """Does the policy (store/policy.py) give ``viewer`` ``act`` on ``case``? For which buttons to offer."""
        async with self.db.read() as conn:
            relations = await self.ctx.relations(conn, viewer, case)
        return policy.allows(act, relations, case.identity_protected)

    def cohandles_only(self, viewer: Actor, case: Case) -> bool:
        """Does the viewer see this case only as a co-handling unit's staff (协办)?"""
        return self.ctx.only_cohandles(viewer, case)

    async def case_by_submit_key(self, user_id: int, submit_key: str) -> Case | None:
        """The case a draft became, for answering a redelivered Submit."""
        async with self.db.read_one() as conn:
            return await self.ctx.case_where(
                conn, "submit_key = ? AND petitioner_id IN (?, ?)", (submit_key, *self.ctx.person_ids(user_id))
            )

    async def queue_receipt(self, case_id: int) -> None:
        """The petitioner's receipt through the outbox, when the answer after Submit failed.

        Once per case: a second failed answer does not queue a second receipt.
        """
        async with self.db.transaction() as conn:
            case = await self.ctx.case_where(conn, "id = ?", (case_id,))
            if case is None:
                return
            async with conn.execute(
                "SELECT 1 FROM outbox WHERE case_id = ? AND kind = ?", (case_id, NoticeKind.RECEIPT)
            ) as cur:
                if await cur.fetchone() is not None:
                    return
            await self.outbox.queue(conn, case.petitioner_id, NoticeKind.RECEIPT, case.id)
        self.outbox.kick()

    async def just_submitted(self, user_id: int) -> Case | None:
        """The person's own case submitted in the last ``JUST_SUBMITTED`` (newest), if any.

        Asked when they start a new petition: one whose receipt never reached them
        (the process stopped after storing it) would otherwise be filed again.
        """
        since = iso(self.clock.now() - JUST_SUBMITTED)
        async with self.db.read_one() as conn:
            return await self.ctx.case_where(
                conn, "petitioner_id IN (?, ?) AND submitted_at >= ? AND status != ? ORDER BY id DESC LIMIT 1",
                (*self.ctx.person_ids(user_id), since, Status.WITHDRAWN.value),
            )

    async def case_by_id(self, case_id: int) -> Case | None:
        async with self.db.read_one() as conn:
            return await self.ctx.case_where(conn, "id = ?", (case_id,))

    async def cases_of_petitioner(
        self, user_id: int, offset: int = 0, limit: int = 10
    ) -> tuple[list[Case], int]:
        # Their own cases, and those registered for them that they claimed (store/ledger.py): the ids
        # of each part from its own index, then their union. (One ``petitioner_id IN … OR id IN
        # (subquery)`` filter cost PostgreSQL a walk over every case: it cannot combine an index
        # with a subquery's result, and SQLite can. docs/benchmarks.md has both plans.)
        mine = PETITIONER_CASES
        args = (*self.ctx.person_ids(user_id), *self.ctx.claim_keys(user_id))
        async with self.db.read() as conn:  # one snapshot: the count and the page agree
            async with conn.execute(f"SELECT count(*) FROM ({mine}) mine", args) as cur:
                total = (await only_row(cur))[0]
            async with conn.execute(
                f"SELECT * FROM cases WHERE id IN ({mine}) ORDER BY id DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ) as cur:
                cases = [row_to_model(Case, row) async for row in cur]
        return cases, total

    async def open_cases_for(
        self, actor: Actor, offset: int = 0, limit: int = 10
    ) -> tuple[list[Case], int]:
        """An officer's queue: open cases in scope (co-handled ones too), highest warning level, then nearest deadline first."""
        scope, args = self.ctx.read_scope(actor)
        await current_ranks(self.db, self.org, self.ctx.today())
        async with self.db.read() as conn:  # a page from the cases_by_rank index (store.supervision)
            cases, total = await queue_page(conn, scope, args, offset=offset, limit=limit)
        return cases, total

    async def timeline(self, case_id: int, *, public_only: bool) -> list[Event]:
        query = "SELECT * FROM events WHERE case_id = ?"
        if public_only:
            query += " AND public"
        async with self.db.read_one() as conn:
            async with conn.execute(query + " ORDER BY id", (case_id,)) as cur:
                return [row_to_model(Event, row) async for row in cur]

    async def event(self, event_id: int) -> Event | None:
        async with self.db.read_one() as conn:
            async with conn.execute("SELECT * FROM events WHERE id = ?", (event_id,)) as cur:
                row = await cur.fetchone()
        return row_to_model(Event, row) if row else None

    async def files(self, actor: Actor, number: str) -> tuple[Case, list[Attachment]]:
        """A case's files for staff who read it (``Act.FILES``); NotFound for a case ``actor`` may not see.

        Confidential cases hold their files under neutral names already (``StoreContext.attach``).
        """
        async with self.db.read() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            await self.ctx.require(conn, Act.FILES, actor, case)
            async with conn.execute("SELECT * FROM attachments WHERE case_id = ? ORDER BY id", (case.id,)) as cur:
                return case, [self.ctx.opened_file(row) async for row in cur]

    async def attachments(self, case_id: int) -> list[Attachment]:
        async with self.db.read_one() as conn:
            async with conn.execute(
                "SELECT * FROM attachments WHERE case_id = ? ORDER BY id", (case_id,)
            ) as cur:
                return [self.ctx.opened_file(row) async for row in cur]

    # ------------------------------------------------------------- actions

    async def act(
        self,
        actor: Actor,
        number: str,
        action: Action,
        *,
        body: str | None = None,
        decision: Decision | None = None,
        days: int | None = None,
        unit: str | None = None,
        assignee_id: int | None = None,
        approving: tuple[int, Actor] | None = None,
        ask_approval: bool = False,
        parts: OpinionParts | None = None,
        grounds: DeclineGrounds | None = None,
    ) -> Case:
        """Take ``action`` on a case: check who, check the state machine, write it all.

        An act ``[approvals]`` names, drafted by someone who is not its approver, is checked
        like the act itself and then held for the nearest leader up the unit tree
        (``store.approvals``): nothing reaches the petitioner, and ``AwaitingApproval`` says so.
        ``approving`` (the draft's id, the approving leader) applies a held draft, in the same
        transaction as its approval. ``ask_approval``: hold it even where ``[approvals]`` does not
        ask (an officer may always submit an act to the leader: 提请签发).
        ``parts``: a written opinion's request, facts and basis (Art. 32); ``grounds``: a decline's
        reason and destination (Art. 21-22, required), both recorded in the event (store/opinion.py).
        """
        now = self.clock.now()
        if action is Action.DECLINE and body is not None and not body.strip():
            body = None  # a decline's note is optional: its reason is the list's
        held: tuple[int, list[Staff]] | None = None
        async with self.db.transaction() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            self.ctx.check_lead(actor, case, action)
            new_status = next_status(case.status, action, actor.role)
            changes, data = await self._changes(conn, case, actor, action, now, body=body, decision=decision,
                                                days=days, unit=unit, assignee_id=assignee_id, parts=parts,
                                                grounds=grounds)
            changes = {"status": new_status.value, "updated_at": iso(now), **changes}
            approvers = approvers_for(self.org, case, action, actor, asked=ask_approval) if approving is None else []
            if approvers:
                held = (await hold_draft(self.ctx, conn, case, actor, action, approvers,
                                         {"body": body, "decision": decision.value if decision else None, "days": days,
                                          **({"parts": parts.model_dump()} if parts is not None else {}),
                                          **({"grounds": grounds.model_dump()} if grounds is not None else {})}),
                        approvers)
                updated = case
            else:
                if approving is not None:
                    draft_id, leader = approving
                    data = data.model_copy(update={"approved_by": leader.id, "approver": leader.name})
                    await mark_approved(self.ctx, conn, draft_id, leader)
                assignments = ", ".join(f"{column} = :{column}" for column in changes)
                await conn.execute(
                    f"UPDATE cases SET {assignments} WHERE id = :case_id",
                    {**changes, "case_id": case.id},
                )
                event_id = await self.ctx.event(conn, case.id, actor, action, new_status, body, data)
                found = await self.ctx.case_where(conn, "id = ?", (case.id,))
                assert found is not None
                await self._notify_action(conn, found, case, actor, action, event_id)
                updated = await self.review.after_action(conn, found, action, event_id)
        self.outbox.kick()
        if held is not None:
            raise AwaitingApproval(number=case.number, approvers="、".join(s.name for s in held[1]), draft=held[0])
        return updated

    async def _changes(
        self,
        conn: Connection,
        case: Case,
        actor: Actor,
        action: Action,
        now: datetime,
        *,
        body: str | None,
        decision: Decision | None,
        days: int | None,
        unit: str | None,
        assignee_id: int | None,
        parts: OpinionParts | None = None,
        grounds: DeclineGrounds | None = None,
    ) -> tuple[dict[str, Any], ActData]:
        """What ``action`` changes on the case and records in its event, each rule checked (Refused if one fails)."""
        changes: dict[str, Any] = {}
        data = ActData()
        if action is Action.DECLINE:
            # 诉访分离: a reason from the list and, where the matter belongs elsewhere, the body to turn to.
            data = DeclineData(**decline_data(self.org, grounds, body))
        if action in (Action.REPLY, Action.NOTE, Action.ADD_INFO) and not (
            body and body.strip()
        ):
            raise BadInput("text_required")
        if action is Action.ACCEPT:
            changes["accepted_at"] = iso(now)
            due = self.org.due_date(local_date(now, self.tz), "handle_days")
            changes["answer_due"] = due.isoformat()
            changes["handle_limit"] = None  # the statutory handling limit (a redo's is its own)
            # The notice says the due date of this moment, even if sent after an extension.
            data = AcceptData(answer_due=due)
            if case.assignee_id is None and actor.role is not ActorRole.PETITIONER:
                changes["assignee_id"] = actor.id
        elif action is Action.EXTEND:
            changes, data = self._extension(case, days, body)
        elif action is Action.DECIDE:
            if decision is None:
                raise Refused("decision_required")
            if not (body and body.strip()):
                raise Refused("opinion_required")
            changes["decision"] = decision.value
            changes["decided_at"] = iso(now)
            # Art. 32: every written opinion states the request, the facts found and the basis.
            data = DecideData(decision=decision, parts=required_parts(parts))
        elif action is Action.WITHDRAW:
            changes["closed_at"] = iso(now)
        elif action is Action.ASSIGN:
            target = self.org.staff_member(assignee_id) if assignee_id is not None else None
            if target is None or not routing.can_handle(
                self.org, target, case.unit, case.category, case.confidential
            ):
                raise Refused("assignee_out_of_scope")
            if target.telegram_id == case.assignee_id:
                raise Refused("already_assignee", name=target.name)
            changes["assignee_id"] = target.telegram_id
            data = AssignData(assignee_id=target.telegram_id, assignee=target.name)
        elif action is Action.TRANSFER:
            if unit is None or self.org.find_unit(unit) is None:
                raise Refused("unknown_unit")
            if unit == case.unit:
                raise Refused("same_unit")
            if not (body and body.strip()):
                raise BadInput("reason_required")
            # Clock integrity: the receiving unit inherits the case's time. Before acceptance
            # the acceptance limit still counts from the day received; after it the answer
            # deadline (and any extension) stays, so a transfer never buys a fresh 15 + 60 days.
            changes.update(unit=unit, assignee_id=None)
            data = TransferData(from_unit=case.unit, to_unit=unit)
            if unit in case.cohandlers:  # the co-handling unit becomes the lead unit (主办)
                await conn.execute(
                    "DELETE FROM case_cohandlers WHERE case_id = ? AND unit = ?", (case.id, unit)
                )
                changes["cohandlers"] = json.dumps([u for u in case.cohandlers if u != unit])
        return changes, data

    def _extension(self, case: Case, days: int | None, body: str | None) -> tuple[dict[str, Any], ExtendData]:
        """延期: once, within the limit, with a reason; the new answer deadline counted by the calendar rule."""
        changes: dict[str, Any] = {}
        if case.extended_days:
            raise Refused("already_extended")
        limit = self.org.deadlines.max_extension_days
        if days is None or not 1 <= days <= limit:
            raise Refused("extension_days", limit=limit)
        if not (body and body.strip()):
            raise BadInput("reason_required")
        assert case.answer_due is not None
        changes["extended_days"] = days
        if case.handle_limit is None and case.accepted_at is not None:  # counted from acceptance again
            extended = self.org.due_date(
                local_date(case.accepted_at, self.tz), "handle_days", self.org.deadlines.handle_days + days
            )
        else:
            extended = self.org.due_date(case.answer_due, "handle_days", days)
        changes["answer_due"] = extended.isoformat()
        if case.handle_limit is not None:  # extended after a redo: its limit grows with it
            changes["handle_limit"] = case.handle_limit + days
        return changes, ExtendData(days=days, answer_due=extended)

    async def add_info(
        self,
        actor: Actor,
        number: str,
        text: str | None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> Case:
        """The petitioner adds text and/or files to an open case."""
        async with self.db.transaction() as conn:
            case = await self.add_info_in(conn, actor, number, text, attachments or [], AddInfoData())
        self.outbox.kick()
        return case

    async def add_info_in(
        self,
        conn: Connection,
        actor: Actor,
        number: str,
        text: str | None,
        files: list[dict[str, Any]],
        data: AddInfoData,
    ) -> Case:
        """``add_info`` inside the caller's transaction (``data``: what the caller records beside the files)."""
        if not (text and text.strip()) and not files:
            raise BadInput("text_required")
        now = self.clock.now()
        case = await self.ctx.load_case(conn, actor, number)
        status = next_status(case.status, Action.ADD_INFO, actor.role)
        event_id = await self.ctx.event(
            conn, case.id, actor, Action.ADD_INFO, status, text,
            data.model_copy(update={"attachments": len(files)}),
        )
        for attachment in files:
            await self.ctx.attach(conn, case.id, event_id, attachment)
        await conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (iso(now), case.id))
        await self._notify_action(conn, case, case, actor, Action.ADD_INFO, event_id)
        return case

    # ------------------------------------------------------------ reveal

    async def reveal(self, actor: Actor, number: str, reason: str) -> Identity:
        """The identity custodian reads a confidential reporter's identity, with a reason.

        Only a staff member marked ``custodian = true`` may; the reveal is a
        journal event (who, when, the reason: hash-chained like every event),
        and the case's handling leaders are told that the identity was
        revealed, not to whom and not the identity. Anyone else gets
        ``custodian_only``, administrators included.
        """
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if staff is None or not staff.custodian:
            raise Refused("custodian_only")
        reason = (reason or "").strip()
        if not reason:
            raise BadInput("reason_required")
        async with self.db.transaction() as conn:
            case = await self.ctx.case_where(conn, "number = ?", (number.strip().upper(),))
            if case is None:
                raise NotFound(number=number)
            if not case.confidential:
                raise Refused("not_confidential")
            async with conn.execute("SELECT sealed FROM identities WHERE case_id = ?", (case.id,)) as cur:
                row = await cur.fetchone()
            if row is None:
                raise Refused("no_identity")
            try:  # sealed for this case's row: one copied from another case does not open
                opened = self.ctx.vault.open(row["sealed"], ("identities", "sealed", case.id))
            except VaultError:
                raise Refused("identity_unreadable") from None
            identity = Identity(number=case.number, **opened)
            event_id = await self.ctx.event(
                conn, case.id, actor, Action.REVEAL, case.status, reason, RevealData(reason=reason)
            )
            leaders = routing.leaders_at_level(self.org, case.unit, 0, case.category, case.confidential)
            for leader in leaders:
                if leader.telegram_id != actor.id:
                    await self.ctx.queue_staff(conn, leader.telegram_id, NoticeKind.IDENTITY_REVEALED, case, event_id)
        self.outbox.kick()
        return identity

    # ------------------------------------------------------- notifications

    def _responsible_ids(self, case: Case) -> list[int]:
        return [
            s.telegram_id
            for s in routing.responsible_staff(self.org, case.unit, case.category, case.confidential)
        ]

    async def notify_new_case(self, conn: Connection, case: Case, event_id: int) -> None:
        """A new case's card to the staff responsible (and a line to the staff group), in the caller's transaction."""
        for staff_id in self._responsible_ids(case):
            await self.ctx.queue_staff(conn, staff_id, NoticeKind.CASE_CARD, case, event_id)
        group = self.org.organization.staff_chat_id
        if group is not None and not case.identity_protected:
            await self.ctx.queue_staff(conn, group, NoticeKind.GROUP_NEW_CASE, case, event_id)

    async def _notify_action(
        self,
        conn: Connection,
        case: Case,
        before: Case,
        actor: Actor,
        action: Action,
        event_id: int,
    ) -> None:
        """Queue who must hear of this action, in the same transaction."""
        if RULES[action].public and actor.role is not ActorRole.PETITIONER:
            await self.outbox.queue(conn, case.petitioner_id, NoticeKind.PETITIONER_EVENT, case.id, event_id)
            # The step's formal document (书面告知) follows its notice: to the petitioner and the officers.
            await queue_documents(self.ctx, conn, case, action, event_id)
        if action is Action.TRANSFER:
            for staff_id in self._responsible_ids(case):
                await self.ctx.queue_staff(conn, staff_id, NoticeKind.CASE_CARD, case, event_id)
        elif action is Action.ASSIGN and case.assignee_id not in (None, actor.id):
            await self.ctx.queue_staff(conn, case.assignee_id, NoticeKind.CASE_CARD, case, event_id)
        elif actor.role is ActorRole.PETITIONER:
            # An assignee who lost scope meanwhile (recused, moved, gone) is not told: the responsible are.
            assignee = before.assignee_id
            keep = assignee is not None and self.ctx.refusal_to_receive(assignee, case) is None
            targets = [assignee] if keep and assignee is not None else self._responsible_ids(case)
            for staff_id in targets:
                await self.ctx.queue_staff(conn, staff_id, NoticeKind.STAFF_EVENT, case, event_id)
