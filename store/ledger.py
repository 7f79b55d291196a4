"""One ledger for every letter, visit and call: staff registration, the petitioners' register, claim codes,
and tasks for the staff where a petitioner has no Telegram.

Registration (``LedgerService.register``). Staff enter a matter that came by
letter, visit, call, another online platform or transfer. It becomes a case
like any other (number, routing, clocks, repeat and collective detection,
journal), with its channel, the transferring body's reference number, the
date received (its acceptance deadline counts from that date) and the
registering staff member.

The register of petitioners. One record per person (``petitioners``): name,
phone, employee number, unit, and their Telegram id (as its keyed hash) once
known. The same phone or employee number is the same person, whichever
channel they came by; a case names its people in ``case_petitioners`` (the
petitioner, or up to five representatives, Art. 20). A confidential
reporter's record holds nothing in clear and is never searched.

A case registered for someone carries ``person_key(record)`` as its
``petitioner_id``: no chat. The outbox hands every notice to a case's
petitioner (``notices.PETITIONER_KINDS``, or any notice to such a key) to
``LedgerService.divert``: each person of the case who claimed it gets the
message in their chat; for each named person who has not, the staff
handling the case get a task (``contact_tasks``) to tell them by phone,
letter or in person, with the text to convey (the notice's own kind, event
and parameters, rendered like the message would be). ``follow`` adds a
merged duplicate's petitioners to the main case, so they hear it too.

Claim codes. Each named person of a registered case gets one code (8
characters without look-alikes, shown ``K7PD-3MXQ``), stored as a keyed hash;
it binds the case once, within 90 days. ``/claim`` with it binds the Telegram
user to the person's record: the case is theirs in ``/mycases``, notices come
in chat, and the open tasks for that person are closed as superseded (their
notices come to the chat instead). Wrong codes are counted per person and
local day in the store (``claim_failures``): after 5, every try that day is
refused, right or wrong, without saying whether the code exists.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from store import discipline, policy, routing
from store.cases import CaseService
from store.clock import iso, local_date
from store.context import Service, StoreContext
from store.conversations import Conversation
from store.db import Connection
from store.errors import BadInput, ContactNeeded, Forbidden, NotFound, NotOwnContact, Refused
from store.event_data import ClaimData, CodesData, InformData, RebindData, RegisterData
from store.events import PetitionerNotice, SweepDue, SweepReport
from store.forms import FormDrafts
from store.models import (
    ATTACHMENTS_MAX,
    DETAILS_MAX,
    PEOPLE_MAX,
    SUBJECT_MAX,
    Actor,
    ActorRole,
    AttachmentIn,
    Case,
    Channel,
    Status,
    new_key,
    row_to_model,
)
from store.newcase import NewCase, confidential_by_default, insert_case
from store.notices import NoticeKind, TaskParams, TaskReminderParams
from store.people import e164, normalize_employee_no, normalize_phone, phone_forms, phone_key
from store.policy import Act
from store.review import ReviewService
from store.safetext import SafeText
from store.sqltext import only_row
from store.vault import is_hid, is_person_key, person_key, record_of
from store.verified import verified_account_of
from store.workflow import Action

#: Refusals of a claim that do not count as a wrong try (the code was right; the person is asked to confirm).
NOT_A_WRONG_TRY = frozenset({"claim_contact_needed", "claim_staff_sees"})

#: Notices for the case's own petitioners only, never a follower who joined by /merge (store/policy.py).
OWN_PETITIONERS_ONLY = frozenset({NoticeKind.RATING_ASKED, NoticeKind.DOCUMENT})


REGISTERED_CHANNELS = (Channel.LETTER, Channel.VISIT, Channel.CALL, Channel.ONLINE, Channel.TRANSFER)


class PersonRole(StrEnum):
    PETITIONER = "petitioner"
    REPRESENTATIVE = "representative"


class InformHow(StrEnum):
    PHONE = "phone"
    LETTER = "letter"
    IN_PERSON = "in_person"


RECEIVED_BACK_DAYS = 60  # a matter received up to 60 days ago may be registered
NAMED_MAX = 5  # named petitioners / representatives of one case (Art. 20)
CLAIM_DAYS = 90  # a claim code binds within 90 days
CLAIM_TRIES = 5  # wrong codes a person may send per local day
TASK_DAYS = 3  # a petitioner without Telegram is to be told within 3 days
NAME_MAX = 50
PHONE_MAX = 20
EMPLOYEE_NO_MAX = 30
PERSON_UNIT_MAX = 100
EXTERNAL_REF_MAX = 60

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V: codes are read aloud and copied by hand.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
CODE_LENGTH = 8


def normalize_code(text: str) -> str:
    """A claim code as typed (``k7pd-3mxq``, ``K7PD 3MXQ``) in its stored form (``K7PDMXQ3``...)."""
    return re.sub(r"[\s\-_·.]", "", text or "").upper()


def format_code(code: str) -> str:
    """``K7PD3MXQ`` shown as ``K7PD-3MXQ``."""
    return f"{code[:4]}-{code[4:]}"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@contextlib.asynccontextmanager
async def _joined(conn: Connection) -> AsyncIterator[Connection]:
    """The caller's transaction, for a step that otherwise opens its own."""
    yield conn


# ------------------------------------------------------------------ models


class PersonIn(BaseModel):
    """A named petitioner or representative as the staff member knows them."""

    name: SafeText | None = None
    phone: SafeText | None = None
    employee_no: SafeText | None = None
    unit: SafeText | None = None  # where they work, as told (free text)
    role: PersonRole = PersonRole.PETITIONER
    telegram_id: int | None = None  # when known (an import may know it); else bound by a claim code

    @property
    def named(self) -> bool:
        return bool((self.name or "").strip())


class Registration(BaseModel):
    """What the staff member entered in ``/register`` (or an import row): one matter."""

    # Identifies this registration: a redelivered Submit (or import row) carries it again.
    registration_id: str = Field(default_factory=new_key)
    channel: Channel | None = None
    external_ref: SafeText | None = None  # 转交办: required
    received_on: date | None = None
    anonymous: bool = False  # 匿名来信: no person named
    people: list[PersonIn] = Field(default_factory=list)
    people_count: int | None = None  # a joint letter or collective visit: how many people in all
    category: str | None = None
    unit: str | None = None
    subject: SafeText | None = None
    details: SafeText | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)
    confidential: bool | None = None  # None: confidential when the category is a report


class ClaimCode(BaseModel):
    """A claim code as given once, on the receipt: never stored in clear."""

    petitioner_id: int  # the record in the register
    name: str
    role: PersonRole
    code: str  # 8 characters; ``shown`` is how a person reads it

    @property
    def shown(self) -> str:
        return format_code(self.code)


class KeptName(BaseModel):
    """A phone named in a registration belongs to a person registered under another name: the name is kept."""

    phone: str
    kept: str
    given: str


class Registered(BaseModel):
    case: Case
    codes: list[ClaimCode]
    created: bool  # False: this registration_id was registered before (no codes again)
    kept_names: list[KeptName] = Field(default_factory=list)


class RegisterDraft(BaseModel):
    """A registration being entered in ``/register``, where it is, and the conversation's own state."""

    step: str | None
    data: Registration
    ui: dict[str, Any] = Field(default_factory=dict)  # the handler's (opaque here)
    updated_at: datetime


class Claimed(BaseModel):
    case: Case
    already: bool  # the same person claimed it with this code before


class PersonRecord(BaseModel):
    id: int
    telegram_hid: int | None
    name: str | None
    phone: str | None
    employee_no: str | None
    unit: str | None
    confidential: bool


class CasePerson(BaseModel):
    """A person named in a case, as the staff handling it see them (nothing for a confidential case)."""

    petitioner_id: int
    role: PersonRole
    name: str | None
    phone: str | None
    employee_no: str | None
    unit: str | None
    claimed: bool


class ContactTask(BaseModel):
    """Tell a petitioner without Telegram what the chat would have told them."""

    id: int
    case_id: int
    number: str
    petitioner_id: int
    name: str | None  # None for a confidential case: the identity custodian holds the details
    phone: str | None
    confidential: bool
    kind: str  # the NoticeKind the petitioner would have received
    event_id: int | None
    params: dict[str, Any]
    created_at: datetime
    due_on: date
    done_at: datetime | None = None
    done_how: InformHow | None = None
    superseded_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.done_at is None and self.superseded_at is None


class Found(BaseModel):
    """A /find hit: a case in the caller's scope and the person it matched."""

    case: Case
    name: str | None
    phone: str | None
    employee_no: str | None
    role: PersonRole


# -------------------------------------------------------------- the SQL


OPEN_TASK_SQL = "t.done_at IS NULL AND t.superseded_at IS NULL"


# ------------------------------------------------------------- the service


class LedgerService(Service):
    """Registration by staff, the petitioners' register, claim codes and the staff's contact tasks."""

    def __init__(self, ctx: StoreContext, cases: CaseService, review: ReviewService) -> None:
        super().__init__(ctx)
        self.cases = cases
        self.review = review
        self.forms = FormDrafts(ctx)  # the registration's draft row

    # ------------------------------------------------------------- drafts

    async def get_draft(self, user_id: int) -> RegisterDraft | None:
        """The staff member's registration in progress (sealed: it holds names and phones)."""
        found = await self.forms.get(Conversation.REGISTER, user_id)
        if found is None:
            return None
        return RegisterDraft(step=found.step, data=Registration.model_validate(found.data), ui=found.ui,
                             updated_at=found.updated_at)

    # ----------------------------------------------------------- register

    def check(self, registration: Registration, *, back_days: int | None = RECEIVED_BACK_DAYS) -> None:
        """Refused with the first thing that keeps ``registration`` from being registered."""
        r = registration
        if r.channel is None or r.channel not in REGISTERED_CHANNELS:
            raise Refused("ledger_channel")
        if r.channel is Channel.TRANSFER and not (r.external_ref or "").strip():
            raise Refused("ledger_external_ref")
        if r.external_ref is not None and len(r.external_ref) > EXTERNAL_REF_MAX:
            raise Refused("ledger_external_ref")
        today = self.ctx.today()
        if r.received_on is None:
            raise Refused("ledger_received_on")
        if r.received_on > today:
            raise Refused("ledger_received_future")
        if back_days is not None and r.received_on < today - timedelta(days=back_days):
            raise Refused("ledger_received_too_old", days=back_days)
        named = [p for p in r.people if p.named]
        if len(named) != len(r.people):
            raise Refused("ledger_person_name")
        if r.anonymous and named:
            raise Refused("ledger_anonymous_named")
        if not r.anonymous and not named:
            raise Refused("ledger_petitioner_required")
        if len(named) > NAMED_MAX:
            raise Refused("ledger_too_many", limit=NAMED_MAX)
        for person in named:
            if (
                len(person.name or "") > NAME_MAX
                or len(person.phone or "") > PHONE_MAX
                or len(person.employee_no or "") > EMPLOYEE_NO_MAX
                or len(person.unit or "") > PERSON_UNIT_MAX
            ):
                raise BadInput("ledger_person_too_long")
            if person.phone and not normalize_phone(person.phone):
                raise Refused("ledger_phone")
        if r.people_count is not None and not max(1, len(named)) <= r.people_count <= PEOPLE_MAX:
            raise Refused("ledger_people_count", least=max(1, len(named)), most=PEOPLE_MAX)
        category = self.org.find_category(r.category) if r.category else None
        if category is None or r.unit is None or self.org.find_unit(r.unit) is None:
            raise Refused("draft_incomplete")
        if not (r.subject or "").strip() or not (r.details or "").strip():
            raise Refused("draft_incomplete")
        if len(r.subject or "") > SUBJECT_MAX or len(r.details or "") > DETAILS_MAX:
            raise Refused("draft_incomplete")
        if len(r.attachments) > ATTACHMENTS_MAX:
            raise Refused("draft_incomplete")

    def confidential(self, registration: Registration) -> bool:
        """The staff member's choice, else the default every new case has (store/newcase.py)."""
        category = self.org.find_category(registration.category) if registration.category else None
        return confidential_by_default(registration.confidential, category)

    def registerable_units(self, actor: Actor) -> frozenset[str]:
        """The units ``actor`` may register a matter for (``/register``'s unit picker offers only these)."""
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        return frozenset(u.id for u in self.org.units
                         if policy.allows(Act.REGISTER, policy.unit_relations(self.org, staff, u.id)))

    async def register(
        self,
        actor: Actor,
        registration: Registration,
        *,
        back_days: int | None = RECEIVED_BACK_DAYS,
        from_draft: bool = False,
        submitted_at: datetime | None = None,
        notify: bool = True,
        within: Connection | None = None,
        scoped: bool = True,
    ) -> Registered:
        """Register a matter received by letter, visit, call, another platform or transfer: a new case.

        Any staff member may. Once per ``registration_id``: a second call
        returns the case made the first time, ``created=False`` and no codes.
        ``back_days`` bounds how long ago it may have been received (None:
        any past date, for importing an existing ledger). ``from_draft``: the
        staff member's ``/register`` draft is deleted in the same transaction.
        For an import (``actor`` may then be ``SYSTEM``): ``submitted_at`` keeps
        the original moment (default now), ``notify=False`` sends no case cards.
        ``within``: in the caller's transaction (an import writes a whole file in one).
        ``scoped``: staff register only for units in their scope (``store.policy``, ``Act.REGISTER``);
        the operator's ``petition-bot import`` of the office's whole ledger names its staff member
        with ``scoped=False``.
        """
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if actor.role is not ActorRole.SYSTEM and (staff is None or not actor.is_staff):
            raise Forbidden("staff_only")
        self.check(registration, back_days=back_days)
        if scoped and actor.role is not ActorRole.SYSTEM and not policy.allows(
            Act.REGISTER, policy.unit_relations(self.org, staff, registration.unit)
        ):
            raise Refused("register_out_of_scope")  # staff register only for units in their scope
        r = registration
        assert r.category is not None and r.unit is not None and r.received_on is not None
        category = self.org.find_category(r.category)
        assert category is not None
        if discipline.on_line(self.org, category.id) and discipline.handling_unit(self.org, r.unit) is None:
            raise Refused("report_register_external")  # no discipline level of the company above the unit
        confidential = self.confidential(r)
        now = self.clock.now()
        submitted = submitted_at or now
        codes: list[ClaimCode] = []
        async with self.db.transaction() if within is None else _joined(within) as conn:
            existing = await self.ctx.case_where(conn, "submit_key = ?", (r.registration_id,))
            if existing is not None:
                return Registered(case=existing, codes=[], created=False)
            number = await self.cases.next_number(conn)
            people = [p for p in r.people if p.named]
            kept: list[KeptName] = []
            records = [await self._record_for(conn, p, confidential, kept) for p in people]
            if not records:  # 匿名来信: a record of its own, so it is nobody's repeat petition
                records = [await self._new_record(conn, PersonIn(), confidential=False)]
            first = people[0] if people else None
            accept_due = discipline.accept_due(self.org, category.id, r.received_on)
            identity = None if first is None else {
                "telegram_id": person_key(records[0].id),
                "name": first.name,
                "phone": normalize_phone(first.phone),
                "people": [p.model_dump(mode="json") for p in people],
            }
            case = await insert_case(self.ctx, conn, NewCase(
                number=number,
                submit_key=r.registration_id,
                petitioner_id=person_key(records[0].id),
                category=category,
                unit=r.unit,
                subject=r.subject.strip() if r.subject else "",
                details=r.details.strip() if r.details else "",
                confidential=confidential,
                submitted_at=submitted,
                accept_due=accept_due,
                name=first.name.strip() if first is not None and first.name else None,
                phone=normalize_phone(first.phone) if first is not None else None,
                people=r.people_count,
                channel=r.channel.value if r.channel else Channel.TELEGRAM.value,
                external_ref=(r.external_ref or "").strip() or None,
                received_on=r.received_on,
                registered_by=actor.id,
            ), now, identity)
            case_id = case.id
            for person, record in zip(people or [PersonIn()], records, strict=True):
                bound = record.telegram_hid is not None
                await conn.execute(
                    "INSERT INTO case_petitioners (case_id, petitioner_id, role, claimed_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (case_id, petitioner_id) DO NOTHING",
                    (case_id, record.id, person.role.value, iso(now) if bound else None),
                )
                if person.named and not bound:
                    code = await self._issue_code(conn, case_id, record.id)
                    codes.append(
                        ClaimCode(petitioner_id=record.id, name=(person.name or "").strip(), role=person.role, code=code)
                    )
            event_id = await self.ctx.event(
                conn,
                case_id,
                actor,
                Action.REGISTER,
                Status.SUBMITTED,
                None,
                RegisterData(
                    channel=r.channel,
                    external_ref=(r.external_ref or "").strip() or None,
                    received_on=r.received_on,
                    registered_by=actor.id,
                    named=len(people),
                    people=r.people_count,
                    attachments=len(r.attachments),
                    **({"names_kept": len(kept)} if kept else {}),
                ),
                inserted=case,
            )
            for attachment in r.attachments:
                await self.ctx.attach(conn, case_id, event_id, attachment.model_dump())
            if from_draft and actor.id is not None:
                await conn.execute("DELETE FROM conversations WHERE name = ? AND key = ?",
                                   (Conversation.REGISTER, self.ctx.conv_key(actor.id)))
            # The row as inserted: nothing since (its people, codes, files) changed it.
            if notify:
                await self.cases.notify_new_case(conn, case, event_id)
            case = await self.review.after_submit(conn, case)
        self.outbox.kick()
        return Registered(case=case, codes=codes, created=True, kept_names=kept)

    async def _record_for(
        self, conn: Connection, person: PersonIn, confidential: bool, kept: list[KeptName] | None = None
    ) -> PersonRecord:
        """The person's record in the register: found by employee number, phone or Telegram id, else new.

        A confidential reporter gets a sealed record of their own (never found, never matched). A
        registration never renames a person already registered: a different name is kept out and
        noted in ``kept`` (the staff member's receipt says so).
        """
        if confidential:
            return await self._new_record(conn, person, confidential=True)
        phone = normalize_phone(person.phone)
        employee_no = normalize_employee_no(person.employee_no)
        hid = self.ctx.claim_key(person.telegram_id) if person.telegram_id else None
        found = None
        for column, value in (("employee_no", employee_no), ("phone", phone), ("telegram_hid", hid)):
            if value is None:
                continue
            async with conn.execute(
                f"SELECT * FROM petitioners WHERE NOT confidential AND {column} = ? ORDER BY id LIMIT 1", (value,)
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                found = row_to_model(PersonRecord, row)
                break
        if found is None:
            return await self._new_record(conn, person, confidential=False)
        given = (person.name or "").strip() or None
        if given is not None and found.name is not None and given != found.name and kept is not None:
            kept.append(KeptName(phone=found.phone or phone or "", kept=found.name, given=given))
        # What is known now fills what the record lacked (its name included); a unit as told now replaces the old.
        await conn.execute(
            "UPDATE petitioners SET name = COALESCE(name, ?), phone = COALESCE(phone, ?),"
            " employee_no = COALESCE(employee_no, ?), unit = COALESCE(?, unit),"
            " telegram_hid = COALESCE(telegram_hid, ?), updated_at = ? WHERE id = ?",
            ((person.name or "").strip() or None, phone, employee_no, (person.unit or "").strip() or None,
             hid, self.ctx.now(), found.id),
        )
        if hid is not None and person.telegram_id is not None:
            await self.ctx.remember_person(conn, person.telegram_id, hid)
        async with conn.execute("SELECT * FROM petitioners WHERE id = ?", (found.id,)) as cur:
            return row_to_model(PersonRecord, await cur.fetchone())

    async def _new_record(self, conn: Connection, person: PersonIn, *, confidential: bool) -> PersonRecord:
        now = self.ctx.now()
        hid = None
        if person.telegram_id:
            hid = await self.ctx.remember_person(
                conn, person.telegram_id, self.ctx.claim_key(person.telegram_id, confidential))
        if confidential:  # sealed below, once the row's id (its associated data) is known
            values: tuple[Any, ...] = (hid, None, None, None, None, True, None)
        else:
            values = (
                hid,
                (person.name or "").strip() or None,
                normalize_phone(person.phone),
                normalize_employee_no(person.employee_no),
                (person.unit or "").strip() or None,
                False,
                None,
            )
        async with conn.execute(
            "INSERT INTO petitioners (telegram_hid, name, phone, employee_no, unit, confidential, sealed,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (*values, now, now),
        ) as cur:
            record = row_to_model(PersonRecord, await cur.fetchone())
        if confidential:
            sealed = self.ctx.vault.seal(person.model_dump(mode="json"), ("petitioners", "sealed", record.id))
            async with conn.execute("UPDATE petitioners SET sealed = ? WHERE id = ? RETURNING *",
                                    (sealed, record.id)) as cur:
                record = row_to_model(PersonRecord, await cur.fetchone())
        return record

    async def _issue_code(self, conn: Connection, case_id: int, record_id: int) -> str:
        expires = self.ctx.today() + timedelta(days=CLAIM_DAYS)
        while True:
            code = new_code()
            async with conn.execute(
                "INSERT INTO claim_codes (code_hash, case_id, petitioner_id, created_at, expires_on)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (code_hash) DO NOTHING RETURNING code_hash",
                (self._code_hash(code), case_id, record_id, self.ctx.now(), expires.isoformat()),
            ) as cur:
                if await cur.fetchone() is not None:
                    return code

    async def case_by_registration(self, actor: Actor, registration_id: str) -> Case | None:
        """The case this staff member's registration became (a redelivered Submit after the draft is gone)."""
        async with self.db.read() as conn:
            return await self.ctx.case_where(
                conn, "submit_key = ? AND registered_by = ?", (registration_id, actor.id)
            )

    def _code_hash(self, code: str) -> str:
        return self.ctx.vault.tag("claim:" + normalize_code(code))

    async def reissue_codes(self, actor: Actor, number: str) -> list[ClaimCode]:
        """New claim codes for the named people of a registered case who have not claimed it.

        For staff in scope (a receipt that was lost, a code that expired): the
        unused codes of the case stop binding; journaled without the codes. A
        confidential case's codes name its reporter: the identity custodian only.
        """
        async with self.db.transaction() as conn:
            case = await self._staff_case(conn, actor, number)
            await self.ctx.require(conn, Act.CODES, actor, case)  # the lead unit; a confidential case's custodian
            staff = self.org.staff_member(actor.id) if actor.id is not None else None
            if case.confidential and (staff is None or not staff.custodian):
                raise Refused("custodian_only")
            async with conn.execute(
                "SELECT cp.petitioner_id, cp.role, p.name, p.sealed FROM case_petitioners cp"
                " JOIN petitioners p ON p.id = cp.petitioner_id"
                " WHERE cp.case_id = ? AND cp.claimed_at IS NULL ORDER BY cp.petitioner_id",
                (case.id,),
            ) as cur:
                waiting = [dict(row) async for row in cur]
            await conn.execute("DELETE FROM claim_codes WHERE case_id = ? AND used_at IS NULL", (case.id,))
            codes = []
            for row in waiting:
                name = row["name"]
                if row["sealed"]:
                    name = self.ctx.vault.open(row["sealed"], ("petitioners", "sealed", row["petitioner_id"])).get("name")
                if not name:
                    continue
                code = await self._issue_code(conn, case.id, row["petitioner_id"])
                codes.append(ClaimCode(petitioner_id=row["petitioner_id"], name=name,
                                       role=PersonRole(row["role"]), code=code))
            if not codes:
                raise Refused("ledger_nothing_to_claim")
            await self.ctx.event(conn, case.id, actor, Action.CODES, case.status, None, CodesData(codes=len(codes)))
        self.outbox.kick()
        return codes

    async def rebind(self, actor: Actor, number: str) -> int:
        """``/rebind``: an admin unbinds the people of a case from the Telegram accounts they are bound to.

        For a person bound to the wrong account (the one who claimed was not them): the register's
        records of the case's people lose their Telegram account, their claims of every case are
        undone, and the staff may issue new codes (``reissue_codes``) for the right person to claim.
        Journaled on the case. How many people were unbound; refused ``rebind_none`` when nobody was.
        """
        async with self.db.transaction() as conn:
            case = await self._staff_case(conn, actor, number)
            await self.ctx.require(conn, Act.REBIND, actor, case)
            async with conn.execute(
                "SELECT p.id FROM case_petitioners cp JOIN petitioners p ON p.id = cp.petitioner_id"
                " WHERE cp.case_id = ? AND p.telegram_hid IS NOT NULL ORDER BY p.id", (case.id,),
            ) as cur:
                followers = await self.followers(conn, case)
                bound = [row["id"] async for row in cur if row["id"] not in followers]
            if not bound:
                raise Refused("rebind_none", number=case.number)
            now = self.ctx.now()
            for record in bound:
                await conn.execute("UPDATE petitioners SET telegram_hid = NULL, updated_at = ? WHERE id = ?",
                                   (now, record))
                await conn.execute("UPDATE case_petitioners SET claimed_at = NULL WHERE petitioner_id = ?", (record,))
            await self.ctx.event(conn, case.id, actor, Action.REBIND, case.status, None, RebindData(people=bound))
        return len(bound)

    # -------------------------------------------------------------- claim

    async def claim(self, user_id: int, code: str, phone: str | None = None,
                    contact_user_id: int | None = None) -> Claimed:
        """Bind the Telegram user to the person a claim code was given for, and the case to them.

        Claiming is tied to the person, not only to the code: where the person
        was registered with a phone, ``phone`` (the number Telegram attests for
        the account, from a shared contact) must match it; without it the claim
        is refused ``claim_contact_needed`` (not a wrong try: the handler asks
        for the contact and tries again). A code alone binds only where no phone
        was registered, and then the case's handler and the unit's leaders are
        told (``CLAIM_BY_CODE``). Staff who can see the case never claim it
        (``claim_staff_sees``); a person bound to another account is refused
        ``claim_person_bound`` (``rebind`` is an admin's act).

        Refused ``claim_wrong`` / ``claim_expired`` / ``claim_used`` /
        ``claim_phone_mismatch`` (each a wrong try), or ``claim_throttled``
        once the day's tries are spent, whatever the code. ``contact_user_id``: the account the shared
        contact belongs to; a ``phone`` counts only from the claimant's own contact (``NotOwnContact``).
        """
        if phone is not None and contact_user_id != user_id:
            raise NotOwnContact()  # only Telegram's attestation of this account's own number counts
        hid = self.ctx.hid(user_id)
        today = self.ctx.today()
        refusal: str | None = None
        result: Claimed | None = None
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT failures FROM claim_failures WHERE user_hid = ? AND day = ?", (hid, today.isoformat())
            ) as cur:
                row = await cur.fetchone()
            if row is not None and row["failures"] >= CLAIM_TRIES:
                refusal = "claim_throttled"
            else:
                refusal, result = await self._try_code(conn, user_id, code, today, phone)
                if refusal is not None and refusal not in NOT_A_WRONG_TRY:
                    await conn.execute(
                        "INSERT INTO claim_failures (user_hid, day, failures) VALUES (?, ?, 1)"
                        " ON CONFLICT (user_hid, day) DO UPDATE SET failures = claim_failures.failures + 1",
                        (hid, today.isoformat()),
                    )
        if refusal == ContactNeeded.code:
            raise ContactNeeded()
        if refusal is not None:
            raise Refused(refusal, limit=CLAIM_TRIES)
        assert result is not None
        self.outbox.kick()
        return result

    async def _try_code(
        self, conn: Connection, user_id: int, code: str, today: date, phone: str | None
    ) -> tuple[str | None, Claimed | None]:
        plain = normalize_code(code)
        if len(plain) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in plain):
            return "claim_wrong", None
        async with conn.execute("SELECT * FROM claim_codes WHERE code_hash = ?", (self._code_hash(plain),)) as cur:
            row = await cur.fetchone()
        if row is None:
            return "claim_wrong", None
        case = await self.ctx.case_where(conn, "id = ?", (row["case_id"],))
        assert case is not None
        claimant = self.ctx.actor(user_id)
        if claimant.is_staff and not policy.allows(Act.CLAIM, self.ctx.staff_relations(claimant, case)):
            return "claim_staff_sees", None  # staff never pose as a petitioner of a case they can see
        if row["used_at"] is not None:
            if row["used_by"] in self.ctx.claim_keys(user_id):
                return None, Claimed(case=case, already=True)
            return "claim_used", None
        if date.fromisoformat(row["expires_on"]) < today:
            return "claim_expired", None
        async with conn.execute(
            "SELECT telegram_hid, phone, employee_no, confidential, sealed FROM petitioners WHERE id = ?",
            (row["petitioner_id"],),
        ) as cur:
            person = await only_row(cur)
        key = self.ctx.claim_key(user_id, bool(person["confidential"]))  # never the hid of a real-name record
        bound = person["telegram_hid"]
        if bound is not None and bound != key:
            return "claim_person_bound", None  # this person is someone else's Telegram account already
        registered = person["phone"]
        if person["sealed"]:
            registered = self.ctx.vault.open(person["sealed"], ("petitioners", "sealed", row["petitioner_id"])).get("phone")
        # A person of the employee roster who verified an account (store/roster.py) claims with that account only.
        verified = await verified_account_of(conn, self.ctx.vault, e164(registered), person["employee_no"])
        if verified is not None and verified != self.ctx.account_key(user_id):
            return "claim_not_verified_person", None
        if phone_key(registered) is not None:
            if phone is None:
                return "claim_contact_needed", None
            if phone_key(phone) != phone_key(registered):
                return "claim_phone_mismatch", None
        now = self.ctx.now()
        await self.ctx.remember_person(conn, user_id, key)
        await conn.execute("UPDATE claim_codes SET used_at = ?, used_by = ? WHERE code_hash = ?",
                           (now, key, row["code_hash"]))
        await conn.execute("UPDATE petitioners SET telegram_hid = ?, updated_at = ? WHERE id = ?",
                           (key, now, row["petitioner_id"]))
        await conn.execute(
            "UPDATE case_petitioners SET claimed_at = ? WHERE case_id = ? AND petitioner_id = ?",
            (now, case.id, row["petitioner_id"]),
        )
        # What the staff were still to tell this person now comes in their chat.
        async with conn.execute(
            "SELECT * FROM contact_tasks t WHERE t.case_id = ? AND t.petitioner_id = ? AND "
            + OPEN_TASK_SQL + " ORDER BY t.id",
            (case.id, row["petitioner_id"]),
        ) as cur:
            superseded = [dict(task) async for task in cur]
        await conn.execute(
            "UPDATE contact_tasks SET superseded_at = ? WHERE case_id = ? AND petitioner_id = ?"
            " AND done_at IS NULL AND superseded_at IS NULL",
            (now, case.id, row["petitioner_id"]),
        )
        missed = [
            (NoticeKind(task["kind"]), task["event_id"],
             task["params"] if isinstance(task["params"], dict) else json.loads(task["params"]))
            for task in superseded
        ]
        for kind, event_id, params in missed:  # each as the petitioner would have read it
            await self.outbox.queue(conn, key, kind, case.id, event_id, params)
        by_code_alone = phone_key(registered) is None
        event_id = await self.ctx.event(
            conn, case.id, Actor(id=user_id, role=ActorRole.PETITIONER), Action.CLAIM, case.status, None,
            ClaimData(petitioner=row["petitioner_id"], superseded=len(superseded),
                      confirmed="code" if by_code_alone else "phone"),
        )
        if by_code_alone:
            # Nobody could confirm the person: the case's handler and the unit's leaders are told.
            told = self.handlers_of(case) + [
                s.telegram_id for s in routing.leaders_at_level(self.org, case.unit, 0, case.category,
                                                                case.confidential)
            ]
            for staff_id in dict.fromkeys(told):
                await self.ctx.queue_staff(conn, staff_id, NoticeKind.CLAIM_BY_CODE, case, event_id)
        return None, Claimed(case=case, already=False)

    async def claimant(self, user_id: int, case_id: int) -> bool:
        """Did this person (Telegram id or its keyed hash) claim the case?"""
        async with self.db.read() as conn:
            return await self.ctx.claimed(conn, user_id, case_id)

    # ------------------------------------------------- notices and tasks

    async def on_petitioner_notice(self, conn: Connection, notice: PetitionerNotice) -> None:
        """Subscribed to the outbox's notices for a case's petitioner (store.services): see ``divert``."""
        notice.taken = await self.divert(conn, notice.chat_id, notice.kind, notice.case_id, notice.event_id,
                                         notice.params)

    async def on_sweep(self, conn: Connection, due: SweepDue) -> None:
        """Subscribed to the deadline sweep (store.services): the contact tasks' reminders."""
        await self.sweep_tasks(conn, due.today, due.report)

    async def divert(
        self,
        conn: Connection,
        chat_id: int,
        kind: NoticeKind,
        case_id: int | None,
        event_id: int | None,
        params: dict[str, Any],
    ) -> bool:
        """A notice to a case's petitioner: everyone who petitions in the case hears it.

        Those who claimed it (or whose Telegram account is known) get it in
        their chat; for each named person without Telegram the staff handling
        the case get a task. True when the notice was for a petitioner without
        a chat (``person_key``): the outbox writes no row for it.
        """
        if case_id is None:
            return False
        case = await self.ctx.case_where(conn, "id = ?", (case_id,))
        if case is None or chat_id != case.petitioner_id:
            return is_person_key(chat_id)  # a claimant's own copy, or a row for no case: as it is
        async with conn.execute(
            "SELECT cp.petitioner_id, cp.claimed_at, p.telegram_hid, p.name, p.phone, p.confidential, p.sealed"
            " FROM case_petitioners cp JOIN petitioners p ON p.id = cp.petitioner_id"
            " WHERE cp.case_id = ? ORDER BY cp.petitioner_id",
            (case_id,),
        ) as cur:
            people = [dict(row) async for row in cur]
        keyed = is_person_key(chat_id)
        if not keyed:  # a chat case's own petitioner is told by the row itself
            mine = self.ctx.claim_keys(chat_id)
            people = [p for p in people if p["telegram_hid"] not in mine]
        if kind in OWN_PETITIONERS_ONLY:
            # A follower (joined by /merge) is told of the outcome, but the rating request and the
            # documents naming the main petitioner are the case's own petitioners' (store/policy.py).
            followers = await self.followers(conn, case)
            people = [p for p in people if p["petitioner_id"] not in followers]
        await self._tell(conn, case, people, kind, event_id, params)
        return keyed

    async def _tell(
        self,
        conn: Connection,
        case: Case,
        people: list[dict[str, Any]],
        kind: NoticeKind,
        event_id: int | None,
        params: dict[str, Any],
    ) -> None:
        due = self.ctx.today() + timedelta(days=TASK_DAYS)
        created = []
        for person in people:
            if person["claimed_at"] is not None and person["telegram_hid"] is not None:
                await self.outbox.queue(conn, person["telegram_hid"], kind, case.id, event_id, params)
                continue
            if not (person["name"] or person["phone"] or person["sealed"]):
                continue  # 匿名来信: nobody to tell
            if kind is NoticeKind.DOCUMENT:
                # The officers get the step's documents to print, seal and mail; the step's own task says so.
                continue
            async with conn.execute(
                "INSERT INTO contact_tasks (case_id, petitioner_id, kind, event_id, params, created_at, due_on)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (case.id, person["petitioner_id"], str(kind), event_id,
                 json.dumps(params), self.ctx.now(), due.isoformat()),
            ) as cur:
                created.append((await only_row(cur))[0])
        for task_id in created:
            for staff_id in self.handlers_of(case):
                await self.ctx.queue_staff(conn, staff_id, NoticeKind.CONTACT_TASK, case, event_id,
                                            TaskParams(task=task_id))

    async def followers(self, conn: Connection, case: Case) -> set[int]:
        """The register's records that petition in ``case`` only because a duplicate was merged into it.

        The people named in a merged duplicate, and a chat duplicate's submitter; never the case's
        own petitioner (who may have petitioned in the duplicate too).
        """
        async with conn.execute(
            "SELECT cp.petitioner_id FROM case_petitioners cp JOIN cases d ON d.id = cp.case_id"
            " WHERE d.merged_into = ?", (case.id,),
        ) as cur:
            found = {row["petitioner_id"] async for row in cur}
        async with conn.execute("SELECT petitioner_id FROM cases WHERE merged_into = ?", (case.id,)) as cur:
            submitters = [row["petitioner_id"] async for row in cur]
        for submitter in [p for p in submitters if not is_person_key(p)]:
            async with conn.execute(
                "SELECT cp.petitioner_id FROM case_petitioners cp JOIN petitioners p ON p.id = cp.petitioner_id"
                " WHERE cp.case_id = ? AND p.telegram_hid IN (?, ?)", (case.id, *self.ctx.claim_keys(submitter)),
            ) as cur:
                found.update([row["petitioner_id"] async for row in cur])
        if is_person_key(case.petitioner_id):
            found.discard(record_of(case.petitioner_id))
        else:
            async with conn.execute(
                "SELECT id FROM petitioners WHERE telegram_hid IN (?, ?)", self.ctx.claim_keys(case.petitioner_id)
            ) as cur:
                found.difference_update([row["id"] async for row in cur])
        return found

    async def follow(self, conn: Connection, case_id: int, from_case_id: int) -> int:
        """The petitioners of ``from_case`` petition in ``case`` too, inside the caller's transaction (a merge).

        Each is named in the case: told of it in their chat when they have
        Telegram (a chat case's submitter is bound to their account), else
        through the staff's tasks; it shows in their ``/mycases``. How many
        people were added.
        """
        source = await self.ctx.case_where(conn, "id = ?", (from_case_id,))
        if source is None:
            raise NotFound(number=str(from_case_id))
        async with conn.execute(
            "SELECT petitioner_id, role, claimed_at FROM case_petitioners WHERE case_id = ?", (from_case_id,)
        ) as cur:
            links = [dict(row) async for row in cur]
        if not is_person_key(source.petitioner_id):
            # A case from the chat: its submitter, as a record bound to their Telegram account (besides
            # anyone who follows it already, from a duplicate merged into it earlier).
            hid = self.ctx.claim_key(source.petitioner_id, source.confidential)
            if not is_hid(source.petitioner_id):
                await self.ctx.remember_person(conn, source.petitioner_id, hid)
            async with conn.execute(
                "SELECT id FROM petitioners WHERE telegram_hid = ? AND confidential = ? ORDER BY id LIMIT 1",
                (hid, source.confidential),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                now = self.ctx.now()
                async with conn.execute(
                    "INSERT INTO petitioners (telegram_hid, name, phone, confidential, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (hid, source.petitioner_name, normalize_phone(source.petitioner_phone),
                     source.confidential, now, now),
                ) as cur:
                    row = await only_row(cur)
            links.append({"petitioner_id": row["id"], "role": PersonRole.PETITIONER.value, "claimed_at": self.ctx.now()})
        added = 0
        for link in links:
            async with conn.execute(
                "INSERT INTO case_petitioners (case_id, petitioner_id, role, claimed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (case_id, petitioner_id) DO NOTHING RETURNING petitioner_id",
                (case_id, link["petitioner_id"], link["role"], link["claimed_at"]),
            ) as cur:
                added += await cur.fetchone() is not None
        return added

    def handlers_of(self, case: Case) -> list[int]:
        """Who is to tell the petitioner: the assignee while in scope, else the staff responsible."""
        if case.assignee_id is not None and self.ctx.in_scope(case.assignee_id, case):
            return [case.assignee_id]
        return [s.telegram_id for s in routing.responsible_staff(self.org, case.unit, case.category, case.confidential)]

    def _task(self, row: Any) -> ContactTask:
        values = dict(row)
        if values.get("confidential"):
            values["name"] = None
            values["phone"] = None
        values["confidential"] = bool(values.get("confidential"))
        return row_to_model(ContactTask, values)

    _TASK_COLUMNS = (
        "t.*, c.number, c.confidential, p.name, p.phone FROM contact_tasks t"
        " JOIN cases c ON c.id = t.case_id JOIN petitioners p ON p.id = t.petitioner_id"
    )

    async def open_tasks(self, actor: Actor, offset: int = 0, limit: int = 10) -> tuple[list[ContactTask], int]:
        """Open contact tasks of the cases in the staff member's scope, the earliest due first."""
        scope, args = self.ctx.scope(actor)
        where = f"{OPEN_TASK_SQL} AND t.case_id IN (SELECT id FROM cases WHERE {scope})"
        async with self.db.read() as conn:
            async with conn.execute(f"SELECT count(*) FROM contact_tasks t WHERE {where}", args) as cur:
                total = (await only_row(cur))[0]
            async with conn.execute(
                f"SELECT {self._TASK_COLUMNS} WHERE {where} ORDER BY t.due_on, t.id LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ) as cur:
                tasks = [self._task(row) async for row in cur]
        return tasks, total

    async def tasks_of_case(self, actor: Actor, number: str) -> list[ContactTask]:
        """Every contact task of a case (open, done, superseded), for staff in scope."""
        async with self.db.read() as conn:
            case = await self._staff_case(conn, actor, number)
            async with conn.execute(f"SELECT {self._TASK_COLUMNS} WHERE t.case_id = ? ORDER BY t.id",
                                    (case.id,)) as cur:
                return [self._task(row) async for row in cur]

    async def task_by_id(self, task_id: int) -> ContactTask | None:
        """A contact task as stored, for rendering a notice already checked for scope (no access check)."""
        async with self.db.read() as conn:
            async with conn.execute(f"SELECT {self._TASK_COLUMNS} WHERE t.id = ?", (task_id,)) as cur:
                row = await cur.fetchone()
        return None if row is None else self._task(row)

    async def task(self, actor: Actor, task_id: int) -> ContactTask:
        """One contact task, if the staff member may act on its case (NotFound otherwise)."""
        async with self.db.read() as conn:
            return await self._task_in(conn, actor, task_id)

    async def _task_in(self, conn: Connection, actor: Actor, task_id: int) -> ContactTask:
        async with conn.execute(f"SELECT {self._TASK_COLUMNS} WHERE t.id = ?", (task_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(number=str(task_id))
        task = self._task(row)
        case = await self.ctx.case_where(conn, "id = ?", (task.case_id,))
        if case is None or not actor.is_staff or not self.ctx.may_see(actor, case):
            raise NotFound(number=str(task_id))
        return task

    async def complete_task(self, actor: Actor, task_id: int, how: InformHow) -> ContactTask:
        """The staff member told the petitioner (phone, letter, in person): journaled on the case."""
        how = InformHow(how)
        async with self.db.transaction() as conn:
            task = await self._task_in(conn, actor, task_id)
            case = await self.ctx.case_where(conn, "id = ?", (task.case_id,))
            assert case is not None
            await self.ctx.require(conn, Act.TASK_DONE, actor, case)  # the lead unit tells, not a co-handler
            if task.superseded_at is not None:
                raise Refused("task_superseded")
            if task.done_at is not None:
                raise Refused("task_done", how=task.done_how.value if task.done_how else "")
            now = self.ctx.now()
            await conn.execute(
                "UPDATE contact_tasks SET done_at = ?, done_by = ?, done_how = ? WHERE id = ? AND done_at IS NULL",
                (now, actor.id, how.value, task.id),
            )
            case = await self.ctx.case_where(conn, "id = ?", (task.case_id,))
            assert case is not None
            await self.ctx.event(
                conn, case.id, actor, Action.INFORM, case.status, None,
                InformData(task=task.id, how=how.value, notice=task.kind, petitioner=task.petitioner_id),
            )
            done = await self._task_in(conn, actor, task_id)
        self.outbox.kick()
        return done

    async def sweep_tasks(self, conn: Connection, today: date, report: SweepReport) -> None:
        """Remind the handling staff of open tasks on their due day and once when overdue (inside the sweep)."""
        async with conn.execute(
            f"SELECT t.id, t.case_id, t.due_on, t.reminded FROM contact_tasks t WHERE {OPEN_TASK_SQL}"
            " AND t.due_on <= ? ORDER BY t.id",
            (today.isoformat(),),
        ) as cur:
            due = [dict(row) async for row in cur]
        for task in due:
            level = "due" if task["due_on"] == today.isoformat() else "overdue"
            if task["reminded"] == level or task["reminded"] == "overdue":
                continue
            case = await self.ctx.case_where(conn, "id = ?", (task["case_id"],))
            assert case is not None
            await conn.execute("UPDATE contact_tasks SET reminded = ? WHERE id = ?", (level, task["id"]))
            for staff_id in self.handlers_of(case):
                if await self.ctx.queue_staff(conn, staff_id, NoticeKind.CONTACT_TASK_REMINDER, case, None,
                                              TaskReminderParams(task=task["id"], level=level)):
                    report.reminders += 1

    # ------------------------------------------------------ the register

    async def people_of(self, actor: Actor, number: str) -> list[CasePerson]:
        """The people a case names, for staff in scope; nothing of a confidential case's reporter."""
        async with self.db.read() as conn:
            case = await self._staff_case(conn, actor, number)
            if case.confidential:
                return []
            async with conn.execute(
                "SELECT cp.petitioner_id, cp.role, cp.claimed_at, p.name, p.phone, p.employee_no, p.unit"
                " FROM case_petitioners cp JOIN petitioners p ON p.id = cp.petitioner_id"
                " WHERE cp.case_id = ? AND NOT p.confidential ORDER BY cp.petitioner_id",
                (case.id,),
            ) as cur:
                return [
                    CasePerson(petitioner_id=row["petitioner_id"], role=PersonRole(row["role"]), name=row["name"],
                               phone=row["phone"], employee_no=row["employee_no"], unit=row["unit"],
                               claimed=row["claimed_at"] is not None)
                    async for row in cur
                    if row["name"] or row["phone"]
                ]

    async def find(self, actor: Actor, query: str, limit: int = 20) -> list[Found]:
        """Cases in the staff member's scope whose petitioner has this name, phone or employee number.

        Confidential cases never appear, nor does a confidential reporter's record.
        """
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if staff is None or not actor.is_staff:
            raise Forbidden("staff_only")
        text = (query or "").strip()
        if not text or len(text) > NAME_MAX:
            raise Refused("find_usage")
        # A phone in every form it may be stored in (a letter's as typed, a chat's as Telegram gives it).
        phones = phone_forms(text) if re.fullmatch(r"[\d+\-\s()]{5,}", text) else ()
        marks = ", ".join("?" * len(phones))
        employee_no = normalize_employee_no(text)
        scope, args = self.ctx.scope(actor)
        found: dict[int, Found] = {}
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT c.*, p.name AS p_name, p.phone AS p_phone, p.employee_no AS p_employee_no, cp.role AS p_role"
                " FROM petitioners p JOIN case_petitioners cp ON cp.petitioner_id = p.id"
                " JOIN cases c ON c.id = cp.case_id"
                " WHERE NOT p.confidential AND (p.name = ? OR p.employee_no = ?"
                + (f" OR p.phone IN ({marks})" if phones else "") + ")"
                f" AND NOT c.confidential AND c.id IN (SELECT id FROM cases WHERE {scope})"
                " ORDER BY c.id DESC LIMIT ?",
                (text, employee_no, *phones, *args, limit),
            ) as cur:
                async for row in cur:
                    values = dict(row)
                    person = {k[2:]: values.pop(k) for k in list(values) if k.startswith("p_") and k != "p_role"}
                    role = PersonRole(values.pop("p_role"))
                    case = row_to_model(Case, values)
                    found.setdefault(case.id, Found(case=case, role=role, **person))
            # Cases from the chat name their petitioner on the case row (never a confidential one).
            async with conn.execute(
                "SELECT * FROM cases WHERE NOT confidential AND channel = 'telegram'"
                " AND (petitioner_name = ? OR petitioner_phone = ?"
                + (f" OR petitioner_phone IN ({marks})" if phones else "") + ")"
                f" AND {scope} ORDER BY id DESC LIMIT ?",
                (text, text, *phones, *args, limit),
            ) as cur:
                async for row in cur:
                    case = row_to_model(Case, row)
                    found.setdefault(case.id, Found(case=case, name=case.petitioner_name,
                                                    phone=case.petitioner_phone, employee_no=None,
                                                    role=PersonRole.PETITIONER))
        return sorted(found.values(), key=lambda f: f.case.id, reverse=True)[:limit]

    async def _staff_case(self, conn: Connection, actor: Actor, number: str) -> Case:
        if not actor.is_staff:
            raise NotFound(number=number)
        return await self.ctx.load_case(conn, actor, number)


def is_registered(case: Case) -> bool:
    """Was the case registered by staff (a letter, visit, call...) rather than submitted in the chat?"""
    return case.channel is not Channel.TELEGRAM


def local_received(case: Case, tz: Any) -> date:
    """The day the matter was received: the registered date, else the day it was submitted."""
    return case.received_on or local_date(case.submitted_at, tz)
