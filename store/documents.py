"""Formal documents (书面告知): which step issues which document, and what it says.

The Regulations want written notices at each step: 受理告知书, 不予受理告知书
(with the reason and where else to turn), 延期告知书, 信访处理意见书 (with the
right to ask for review and its deadline), 复查意见书, 复核意见书, and the
notice that the matter is final (信访终结, Art. 36). This module decides which
case event issues which document (:data:`STEPS`), and what a document holds
(:class:`Document`): the organisation, the case number, the petitioner's name
(the case's code name when it is confidential), the dates and the text as the
store recorded it. The layout (a PDF) is the handlers' (``handlers/documents.py``).

A document is never stored: it is made again from the case and its event
whenever it is sent or asked for (``/document``). The event holds what the
step decided (the reason, the opinion, the dates of that moment), so a
document made later says what was decided then.

Delivery: with the step, in the same transaction, :func:`queue_documents`
queues one ``document`` outbox row to the petitioner (right after the step's
notice, so it arrives with it) and one to each officer handling the case (to
print, seal and mail when the petitioner wrote a letter).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from store import discipline, routing
from store.clock import local_date
from store.context import Service, StoreContext
from store.db import Connection
from store.document_kinds import FIELDS, DocumentKind
from store.errors import NoDocument, Refused
from store.event_data import (
    AcceptData,
    ActData,
    DecideData,
    DeclineData,
    EventData,
    ExtendData,
    ReviewOpinionData,
    data_of,
)
from store.models import Actor, Case, Decision, Event, ReviewOutcome, row_to_model
from store.notices import DocumentParams, NoticeKind
from store.opinion import OpinionParts
from store.org import Destination, LocalizedText
from store.policy import Act
from store.workflow import Action

#: Which case event issues which documents, in the order they are sent.
STEPS: dict[Action, tuple[DocumentKind, ...]] = {
    Action.ACCEPT: (DocumentKind.ACCEPTED,),
    Action.DECLINE: (DocumentKind.DECLINED,),
    Action.EXTEND: (DocumentKind.EXTENDED,),
    Action.DECIDE: (DocumentKind.OPINION,),
    Action.REVIEW_OPINION: (DocumentKind.REVIEW,),
    Action.REREVIEW_OPINION: (DocumentKind.REREVIEW, DocumentKind.FINAL),
}

def _issued(action: Action, *, final: bool) -> tuple[DocumentKind, ...]:
    """The documents a step issues: a 复核 that orders the case handled again (责令重办) ends nothing."""
    kinds = STEPS.get(action, ())
    return kinds if final else tuple(k for k in kinds if k is not DocumentKind.FINAL)


def event_kinds(ctx: StoreContext, case: Case, event: Event) -> tuple[DocumentKind, ...]:
    """The documents a recorded step of ``case`` issued, as :func:`queue_documents` sent them."""
    action = Action(event.action)
    if action is Action.DECIDE and discipline.on_line(ctx.org, case.category):
        return ()  # a report's outcome is fed back in the discipline wording, never a 处理意见书
    record = data_of(event, EventData)
    return _issued(action, final=not (isinstance(record, ReviewOpinionData) and record.decision is ReviewOutcome.REDO))


#: The documents that state 信访(人)诉求 / 查明事实 / 处理依据 when their event recorded them (Art. 32, 35-36).
PARTS_KINDS = frozenset({DocumentKind.OPINION, DocumentKind.REVIEW, DocumentKind.REREVIEW})

#: The event that issues each kind.
ISSUED_BY: dict[DocumentKind, Action] = {kind: action for action, kinds in STEPS.items() for kind in kinds}

class Addressee(BaseModel):
    """The petitioner as a document names them: a name, or the case's code name (confidential)."""

    name: str | None = None
    code: str | None = None  # the case's pseudonym: shown as 保密件-7F3A


class Document(BaseModel):
    """What one document says; every value comes from the store."""

    kind: DocumentKind
    number: str
    org_name: str
    petitioner: Addressee
    unit: str  # unit id
    category: str  # category id
    subject: str
    received: date  # the local day the matter was received
    issued: date  # the local day of the step
    due: date | None = None  # the deadline the document states (answer, review or re-review request)
    days: int | None = None  # the extension, in days
    window: int | None = None  # the days the petitioner has to ask for (re-)review
    decision: Decision | ReviewOutcome | None = None  # ReviewOutcome: a 复查 / 复核 opinion's
    text: str | None = None  # the reason or the opinion, as recorded with the step
    language: str | None = None  # the petitioner's language: the document is addressed to them
    event_id: int
    # The handling unit that issued it (its unit then), and its 文号 (None: issued before documents were numbered).
    issuer_unit: str = ""
    doc_no: str | None = None
    approved: bool = False  # a leader approved the step (签发): the document says 经批准
    # A written opinion's 信访人诉求 / 查明事实 / 处理依据 (Art. 32), or a 复查 / 复核 opinion's 信访请求 / 查明事实 /
    # 处理依据 (Art. 35-36); None: decided before the parts were recorded.
    parts: OpinionParts | None = None
    # A decline's reason and destination as recorded on the day (Art. 21-22); None: declined before.
    reason: LocalizedText | None = None
    destination: Destination | None = None
    reason_is_note: bool = False  # a reason like 其他: the officer's note (``text``) is the reason given
    # 集体研究 of a 复查 / 复核 opinion (review_studies): who studied it and on which day.
    studied_by: list[str] = Field(default_factory=list)
    studied_on: date | None = None


def handling_officers(ctx: StoreContext, case: Case) -> list[int]:
    """Who handles the case now: its assignee while in scope, else the staff responsible for it."""
    if case.assignee_id is not None and ctx.in_scope(case.assignee_id, case):
        return [case.assignee_id]
    return [s.telegram_id for s in routing.responsible_staff(ctx.org, case.unit, case.category, case.confidential)]


async def queue_documents(ctx: StoreContext, conn: Connection, case: Case, action: Action, event_id: int) -> None:
    """The step's documents to the petitioner and to the officers handling the case, in the step's transaction.

    Called after the step's notice to the petitioner is queued, so the
    document follows it in the petitioner's chat.
    """
    kinds = _issued(action, final=case.final)
    if not kinds:
        return
    if action is Action.DECIDE and discipline.on_line(ctx.org, case.category):
        return  # a report's outcome is fed back in the discipline wording, not a 处理意见书 with 复查 rights
    await number_documents(ctx, conn, case, event_id, kinds, issuing_unit(ctx, case, action))
    listed = [kind.value for kind in kinds]
    await ctx.outbox.queue(conn, case.petitioner_id, NoticeKind.DOCUMENT, case.id, event_id,
                           DocumentParams(kinds=listed, to="petitioner"))
    for staff_id in handling_officers(ctx, case):
        await ctx.queue_staff(conn, staff_id, NoticeKind.DOCUMENT, case, event_id,
                              DocumentParams(kinds=listed, to="officer"))


def doc_number(prefix: str, year: int, serial: int) -> str:
    """A 文号 as offices write it: 延油信字〔2026〕15号."""
    return f"{prefix}〔{year}〕{serial}号"


def issuing_unit(ctx: StoreContext, case: Case, action: Action) -> str:
    """The unit in whose name a step's documents go out: the handling unit, or for a 复查 / 复核 opinion
    (and the 终结 notice that follows a 复核) the reviewing body that gave it (Art. 35-36)."""
    if action in (Action.REVIEW_OPINION, Action.REREVIEW_OPINION):
        level = 2 if action is Action.REREVIEW_OPINION else 1
        return ctx.org.reviewing_unit(case.unit, level) or case.unit
    return case.unit


async def number_documents(
    ctx: StoreContext, conn: Connection, case: Case, event_id: int, kinds: tuple[DocumentKind, ...],
    issuer: str | None = None,
) -> None:
    """Give each document a step issues its 文号, per issuing unit and year, in the step's transaction.

    ``issuer``: the issuing unit (default: the case's). The step's transaction serializes
    writers, so two steps never take one number.
    """
    issuer = issuer or case.unit
    unit = ctx.org.find_unit(issuer)
    prefix = unit.prefix if unit is not None else f"{ctx.org.organization.case_prefix}信字"
    year = ctx.today().year
    for kind in kinds:
        async with conn.execute("SELECT last FROM document_counters WHERE unit = ? AND year = ?",
                                (issuer, year)) as cur:
            row = await cur.fetchone()
        serial = (int(row[0]) if row is not None else 0) + 1
        if row is None:
            await conn.execute("INSERT INTO document_counters (unit, year, last) VALUES (?, ?, ?)",
                               (issuer, year, serial))
        else:
            await conn.execute("UPDATE document_counters SET last = ? WHERE unit = ? AND year = ?",
                               (serial, issuer, year))
        await conn.execute(
            "INSERT INTO issued_documents (event_id, kind, unit, doc_no) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (event_id, kind) DO NOTHING",
            (event_id, kind.value, issuer, doc_number(prefix, year, serial)),
        )


def parse_kinds(values: Any) -> list[DocumentKind]:
    """The kinds an outbox row names (unknown ones left out: a row from a newer version)."""
    known = {kind.value for kind in DocumentKind}
    return [DocumentKind(v) for v in values if v in known] if isinstance(values, list) else []


class DocumentService(Service):
    """Documents made from the store: for a caller (``/document``) or for an outbox row."""

    async def petitioner_name(self, conn: Connection, case: Case) -> Addressee:
        """The petitioner's name on a document: the one place that decides it.

        A confidential case (or one without a name) shows its code name,
        never the reporter's identity.
        """
        if case.confidential or not case.petitioner_name:
            return Addressee(code=case.pseudonym)
        return Addressee(name=case.petitioner_name)

    async def _language(self, conn: Connection, case: Case) -> str | None:
        async with conn.execute(
            "SELECT language, tg_language FROM users WHERE telegram_id = ?", (self.ctx.hid(case.petitioner_id),)
        ) as cur:
            row = await cur.fetchone()
        chosen = (row["language"] or row["tg_language"]) if row is not None else None
        return chosen or case.language

    async def _make(self, conn: Connection, case: Case, event: Event, kind: DocumentKind) -> Document:
        record = data_of(event, EventData)
        issued = local_date(event.at, self.tz)
        d = self.org.deadlines
        due: date | None = None
        window: int | None = None
        if kind in (DocumentKind.ACCEPTED, DocumentKind.EXTENDED) and isinstance(record, AcceptData | ExtendData):
            due = record.answer_due
        elif kind is DocumentKind.OPINION:
            # The window counts from 送达 (Art. 35): a date only once the opinion is served.
            window = d.review_request_days
            due = case.review_request_due
        elif kind is DocumentKind.REVIEW:
            window = d.rereview_request_days
            due = case.rereview_request_due
        opinion = record if isinstance(record, DecideData | ReviewOpinionData) else None
        decline = record if isinstance(record, DeclineData) and kind is DocumentKind.DECLINED else None
        text = event.body if "text" in FIELDS[kind] else None
        async with conn.execute("SELECT unit, doc_no FROM issued_documents WHERE event_id = ? AND kind = ?",
                                (event.id, kind.value)) as cur:
            issued_as = await cur.fetchone()
        studied_by: list[str] = []
        studied_on: date | None = None
        if kind in (DocumentKind.REVIEW, DocumentKind.REREVIEW):
            async with conn.execute("SELECT studied_on, participants FROM review_studies WHERE event_id = ?",
                                    (event.id,)) as cur:
                study = await cur.fetchone()
            if study is not None:
                studied_on = date.fromisoformat(str(study["studied_on"]))
                studied_by = [str(m.get("name", "")) for m in json.loads(study["participants"])]
        return Document(
            kind=kind,
            number=case.number,
            org_name=self.org.organization.name,
            petitioner=await self.petitioner_name(conn, case),
            unit=case.unit,
            category=case.category,
            subject=case.subject,
            received=case.received_on or local_date(case.submitted_at, self.tz),  # a letter: the day it came
            issued=issued,
            due=due,
            days=record.days if isinstance(record, ExtendData) and kind is DocumentKind.EXTENDED else None,
            window=window,
            decision=opinion.decision if opinion and kind not in (DocumentKind.FINAL, DocumentKind.ACCEPTED) else None,
            text=text,
            language=await self._language(conn, case),
            event_id=event.id,
            issuer_unit=issued_as["unit"] if issued_as is not None else case.unit,
            doc_no=issued_as["doc_no"] if issued_as is not None else None,
            approved=isinstance(record, ActData) and record.approved_by is not None,
            parts=opinion.parts if opinion and kind in PARTS_KINDS else None,
            reason=decline.reason_text if decline else None,
            destination=decline.destination if decline else None,
            reason_is_note=decline.reason_is_note if decline else False,
            studied_by=studied_by,
            studied_on=studied_on,
        )

    async def _steps(self, conn: Connection, case: Case) -> list[Event]:
        """The case's events that issued documents, newest first."""
        actions = sorted(action.value for action in STEPS)
        async with conn.execute(
            f"SELECT * FROM events WHERE case_id = ? AND action IN ({', '.join('?' * len(actions))})"
            " ORDER BY id DESC",
            (case.id, *actions),
        ) as cur:
            return [row_to_model(Event, row) async for row in cur]

    async def documents(self, actor: Actor, number: str, kind: DocumentKind | None = None) -> list[Document]:
        """``/document``: the latest step's documents, or the latest document of ``kind``.

        Staff in scope of the case and its own petitioner; anyone else gets
        NotFound, as for a number that does not exist. Refused
        ``NoDocument`` when the case has no such document (yet).
        """
        async with self.db.read() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            # Staff who read the case and its own petitioners; never a follower (the documents name the
            # main petitioner).
            await self.ctx.require(conn, Act.DOCUMENT, actor, case)
            for event in await self._steps(conn, case):
                kinds = event_kinds(self.ctx, case, event)
                if kind is None and kinds:
                    return [await self._make(conn, case, event, k) for k in kinds]
                if kind in kinds:
                    return [await self._make(conn, case, event, kind)]
        raise NoDocument(number=case.number, kind=kind)

    async def issued(self, actor: Actor, number: str) -> tuple[Case, list[Document]]:
        """Every kind of document the case has issued, the latest of each, in the order issued (the Mini App's list).

        The same check as ``/document`` (:meth:`documents`): staff who read the
        case and its own petitioners; NotFound for anyone else. Each is what
        ``documents(actor, number, kind)`` gives for its kind.
        """
        async with self.db.read() as conn:
            case = await self.ctx.load_case(conn, actor, number)
            await self.ctx.require(conn, Act.DOCUMENT, actor, case)
            latest: dict[DocumentKind, Event] = {}
            for event in await self._steps(conn, case):  # newest first: the first of each kind is its latest
                for kind in event_kinds(self.ctx, case, event):
                    latest.setdefault(kind, event)
            found = [await self._make(conn, case, event, kind)
                     for kind, event in sorted(latest.items(), key=lambda pair: (pair[1].id, list(DocumentKind).index(pair[0])))]
        return case, found

    async def for_event(self, case_id: int, event_id: int, kinds: list[DocumentKind]) -> tuple[Case, list[Document]]:
        """The documents an outbox row carries, made at send time (its recipient was checked by scope)."""
        async with self.db.read() as conn:
            case = await self.ctx.case_where(conn, "id = ?", (case_id,))
            async with conn.execute("SELECT * FROM events WHERE id = ? AND case_id = ?", (event_id, case_id)) as cur:
                row = await cur.fetchone()
            if case is None or row is None:
                raise Refused("document_gone")
            event = row_to_model(Event, row)
            return case, [await self._make(conn, case, event, kind) for kind in kinds]
