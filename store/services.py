"""The store as a few services over one database handle and one outbox.

``Services.open`` builds them all once; the bot shell, the CLI and the tests
hold the bundle and hand each part to whoever needs it. Each service is its
own narrow interface: handlers depend on the services they use
(``deps.cases``, ``deps.review``...), never on one object that does
everything. The SQL lives in the services and reaches the database only
through ``store.db.Backend`` (``transaction()``, ``read()``): SQLite or PostgreSQL,
the same SQL for both (``store.pg`` translates placeholders).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from store import vault_steps
from store.approvals import ApprovalService
from store.cases import CaseService
from store.clock import Clock, SystemClock
from store.context import StoreContext
from store.db import Backend, Connection, open_database
from store.documents import DocumentService
from store.events import CaseChanged, DisputeHighRisk, EventBus, Journaled, PetitionerNotice, SweepDue
from store.forms import FormDrafts
from store.incidents import IncidentService
from store.indicators import IndicatorService
from store.journal import VerifyResult, verify
from store.ledger import LedgerService
from store.ledger_import import ImportService
from store.links import LinkService
from store.models import OutboxItem
from store.notices import NoticeKind
from store.org import Organization
from store.outbox import Outbox
from store.reception import ReceptionService
from store.repeats import RepeatService
from store.review import ReviewService, digest_refusal
from store.roster import RosterService
from store.screening import ScreeningService
from store.screening import refusal_to_tell as screening_refusal
from store.selfservice import SelfService
from store.staffing import StaffingService
from store.staffwork import StaffWork
from store.supervision import SupervisionService, rerank_case, sweep_supervision, tell_leader_in_charge
from store.vault import Vault, load_vault, new_key_text


@dataclass(frozen=True)
class Services:
    """Every service of one open store, sharing its database, outbox, organisation and clock."""

    context: StoreContext
    outbox: Outbox
    cases: CaseService
    self_service: SelfService
    staff_work: StaffWork
    review: ReviewService
    reception: ReceptionService
    indicators: IndicatorService
    supervision: SupervisionService
    screening: ScreeningService
    incidents: IncidentService
    ledger: LedgerService
    documents: DocumentService
    links: LinkService
    ledger_import: ImportService
    roster: RosterService
    staffing: StaffingService
    approvals: ApprovalService
    repeats: RepeatService
    forms: FormDrafts

    @classmethod
    def build(
        cls, db: Backend, org: Organization, clock: Clock | None = None, vault: Vault | None = None
    ) -> Services:
        clock = clock or SystemClock()
        events = EventBus()
        outbox = Outbox(db, clock, events)
        vault = vault or Vault(new_key_text())
        ctx = StoreContext(db=db, org=org, clock=clock, outbox=outbox, vault=vault)
        review = ReviewService(ctx)
        cases = CaseService(ctx, review)
        screening = ScreeningService(ctx)
        incidents = IncidentService(ctx)
        supervision = SupervisionService(ctx)
        ledger = LedgerService(ctx, cases, review)

        # Who reacts to whom (store/events.py), in the order they run inside the publisher's transaction.
        async def incident_for_dispute(conn: Connection, risky: DisputeHighRisk) -> None:
            # The plan's levels decide from the dispute's people whether an incident opens.
            await incidents.open_for("dispute", risky.ref, risky.people, unit=risky.unit, conn=conn)

        async def supervision_sweep(conn: Connection, due: SweepDue) -> None:
            await sweep_supervision(review, conn, due.today, due.report)

        async def rerank(conn: Connection, changed: CaseChanged) -> None:
            await rerank_case(conn, ctx.org, changed.today, changed.case_id, changed.inserted)

        async def lead_hears(conn: Connection, journaled: Journaled) -> None:
            await tell_leader_in_charge(ctx, conn, journaled)

        events.subscribe(CaseChanged, rerank)  # the queue's stored rank (store.supervision)
        events.subscribe(Journaled, lead_hears)  # 领导包案: the leader in charge hears every event
        events.subscribe(DisputeHighRisk, incident_for_dispute)
        events.subscribe(SweepDue, supervision_sweep)  # graded warnings, lifted cases, overdue orders
        events.subscribe(SweepDue, ledger.on_sweep)  # contact tasks due or overdue
        events.subscribe(PetitionerNotice, ledger.on_petitioner_notice)  # everyone in the case hears it
        return cls(
            context=ctx,
            outbox=outbox,
            cases=cases,
            self_service=SelfService(ctx, cases),
            staff_work=StaffWork(ctx, cases),
            review=review,
            reception=ReceptionService(ctx),
            indicators=IndicatorService(ctx),
            supervision=supervision,
            screening=screening,
            incidents=incidents,
            ledger=ledger,
            documents=DocumentService(ctx),
            links=LinkService(ctx, ledger),
            ledger_import=ImportService(ctx, ledger),
            roster=RosterService(ctx),
            staffing=StaffingService(ctx),
            approvals=ApprovalService(ctx, cases),
            repeats=RepeatService(ctx),
            forms=FormDrafts(ctx),
        )

    @classmethod
    async def open(
        cls,
        path: str | Path,
        org: Organization,
        clock: Clock | None = None,
        *,
        key_file: str | Path | None = None,
        secret: str | None = None,
    ) -> Services:
        """Open (and migrate) the database at ``path`` (a file, or a ``postgresql://`` URL) and build the services.

        The vault's key comes from ``secret`` (PETITION_SECRET_KEY), else the
        key file (PETITION_KEY_FILE, default ``<db>.key``, created 0600 if
        missing). After the SQL migrations, the vault's own steps run once
        (``store.vault_steps``): they need the key, which SQL cannot have.
        """
        db = await open_database(path, ZoneInfo(org.organization.timezone))
        try:
            vault = load_vault(path, key_file=key_file, secret=secret)
            await vault_steps.run(db, vault)
        except BaseException:
            await db.close()
            raise
        services = cls.build(db, org, clock, vault)
        try:
            # Staff managed in chat over the file's (store/staffing.py). Changes that no longer fit the file
            # (a unit it dropped) leave the file alone in effect, and ``staffing.problems`` says which.
            await services.staffing.apply()
        except BaseException:
            await db.close()
            raise
        return services

    async def close(self) -> None:
        await self.context.db.close()

    @property
    def db(self) -> Backend:
        return self.context.db

    @property
    def org(self) -> Organization:
        return self.context.org

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @property
    def tz(self) -> ZoneInfo:
        return self.context.tz

    async def may_receive(self, chat_id: int, item: OutboxItem) -> str | None:
        """At send time, scope again: why ``item`` may no longer go to ``chat_id`` (None: it may).

        A notice about a case: the case's rule (``StoreContext.may_receive``).
        One about no case (an incident, a screening request, the weekly digest):
        the rule its service queued it by, asked again now, so a person no longer
        in that role (moved, recused, no longer staff) gets nothing.
        """
        async with self.db.read() as conn:
            if item.case_id is None:
                kind = NoticeKind(item.kind) if item.kind in NoticeKind.__members__.values() else None
                if kind in (NoticeKind.INCIDENT_OPENED, NoticeKind.INCIDENT_RAISED, NoticeKind.INCIDENT_CLOSED):
                    return await self.incidents.refusal_to_tell(conn, chat_id, kind, item.params)
                if kind in (NoticeKind.SCREENING_ASK, NoticeKind.SCREENING_OVERDUE):
                    return screening_refusal(self.context.org, chat_id, kind, item.params)
                if kind is NoticeKind.LEADER_DIGEST:
                    return digest_refusal(self.context.org, chat_id)
            return await self.context.may_receive(conn, chat_id, item)

    async def chat_of(self, chat_id: int) -> int | None:
        """The Telegram chat an outbox row goes to: a keyed hash opened at send time (None: unknown)."""
        async with self.db.read() as conn:
            return await self.context.chat_of(conn, chat_id)

    async def verify_journal(self) -> VerifyResult:
        """Check the journal's hash chain (``petition-bot verify-journal``)."""
        async with self.db.read() as conn:
            return await verify(conn)


open_services = Services.open
