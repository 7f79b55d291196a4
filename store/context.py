"""What every service shares: the database, the outbox, the organisation, the clock.

The helpers here are the store's common vocabulary (load a case with its
access check, write a journal event, the SQL form of "cases this person may
act on"). Services call them by their public names; no service reaches into
another's private methods.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from store import discipline, filenames, journal, policy, routing
from store.clock import Clock, iso, local_date
from store.db import Backend, Connection
from store.errors import Forbidden, NotFound
from store.event_data import EventData, stored_data
from store.events import CaseChanged, EventBus, Journaled
from store.models import Actor, ActorRole, Attachment, Case, Rating, Status, row_to_model
from store.notices import NoticeParams
from store.org import Organization
from store.outbox import Outbox
from store.policy import Act, Relation
from store.sqltext import only_row
from store.vault import Vault, VaultError, is_hid, is_sealed
from store.workflow import FIRST_ANSWER, RULES, Action, available_actions


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The start of a local calendar day (periods and daily limits count these)."""
    return datetime.combine(day, time(0), tzinfo=tz)


def scope_sql(org: Organization, actor: Actor) -> tuple[str, list[Any]]:
    """SQL for "cases this staff member may act on": the same rule as routing.can_handle.

    ``tests/test_rules_once.py`` checks the two forms agree for every role,
    unit, category, confidentiality (reports, and cases filed as confidential
    under any category) and recusal of a small organisation.
    """
    staff = org.staff_member(actor.id) if actor.id is not None else None
    if staff is None:
        return "FALSE", []
    clauses: list[str] = ["FALSE"] if staff.discipline else []  # discipline staff take reports only
    args: list[Any] = []
    if staff.role.value != "admin":
        units = sorted(set().union(*(org.subtree(u) for u in staff.units)))
        clauses.append(f"unit IN ({', '.join('?' * len(units))})")
        args += units
    if staff.role.value == "officer" and staff.categories:
        clauses.append(f"category IN ({', '.join('?' * len(staff.categories))})")
        args += list(staff.categories)
    if staff.recuse_units:
        recused = sorted(set().union(*(org.subtree(u) for u in staff.recuse_units)))
        clauses.append(
            f"NOT ((kind = 'report' OR confidential) AND unit IN ({', '.join('?' * len(recused))}))"
        )
        args += recused
    return _on_line((" AND ".join(clauses) or "TRUE"), args, org, staff)


def _on_line(clause: str, args: list[Any], org: Organization, staff: Any) -> tuple[str, list[Any]]:
    """With a discipline line, reports are in scope only for its staff above the unit (store/discipline.py)."""
    reports = sorted(c.id for c in org.categories if discipline.on_line(org, c.id))
    if not reports:
        return clause, args
    marks = ", ".join("?" * len(reports))
    taken = [u.id for u in org.units if discipline.takes(org, staff, u.id)]
    line = f"(category IN ({marks}) AND unit IN ({', '.join('?' * len(taken))}))" if taken else "FALSE"
    return (f"((category NOT IN ({marks}) AND {clause}) OR {line})",
            [*reports, *args, *(reports if taken else []), *taken])


def read_scope_sql(org: Organization, actor: Actor) -> tuple[str, list[Any]]:
    """SQL for "cases this staff member may see": the lead unit's scope, or a co-handling unit's (协办).

    The same rule as ``routing.can_read``; ``tests/test_rules_once.py`` checks
    the two forms agree. Columns of ``cases`` are named ``cases.…`` inside the
    co-handling clause, so the query must read the table as ``cases``.
    """
    lead, args = scope_sql(org, actor)
    staff = org.staff_member(actor.id) if actor.id is not None else None
    if staff is None or staff.role.value == "admin" or staff.discipline:
        return lead, args  # an admin covers every unit: co-handling adds nothing; discipline staff never co-handle
    units = sorted(set().union(*(org.subtree(u) for u in staff.units)))
    if not units:
        return lead, args
    inner = [f"ch.case_id = cases.id AND ch.unit IN ({', '.join('?' * len(units))})"]
    co_args: list[Any] = list(units)
    outer: list[str] = []
    if staff.recuse_units:
        recused = sorted(set().union(*(org.subtree(u) for u in staff.recuse_units)))
        marks = ", ".join("?" * len(recused))
        inner.append(f"NOT ((cases.kind = 'report' OR cases.confidential) AND ch.unit IN ({marks}))")
        co_args += recused
        outer.append(f"NOT ((kind = 'report' OR confidential) AND unit IN ({marks}))")
        co_args += recused
    reports = sorted(c.id for c in org.categories if discipline.on_line(org, c.id))
    if reports:  # a report is never co-handled outside the discipline line
        outer.append(f"category NOT IN ({', '.join('?' * len(reports))})")
        co_args += reports
    # cases.cohandlers is the row's copy of case_cohandlers (set_cohandlers): most cases have none,
    # and the test of the copy spares them the look-up (a queue's count stays in its index).
    co = " AND ".join(["cases.cohandlers <> '[]'",
                       f"EXISTS (SELECT 1 FROM case_cohandlers ch WHERE {' AND '.join(inner)})", *outer])
    return f"(({lead}) OR ({co}))", [*args, *co_args]


@dataclass
class StoreContext:
    """The database handle, the outbox, the organisation, the clock and its time zone."""

    db: Backend
    org: Organization
    clock: Clock
    outbox: Outbox
    vault: Vault
    tz: ZoneInfo = field(init=False)
    events: EventBus = field(init=False)
    _secret: bytes | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.tz = ZoneInfo(self.org.organization.timezone)
        self.events = self.outbox.events  # one bus: the outbox publishes on it too

    # ------------------------------------------------------------- time

    def now(self) -> str:
        """The store clock's now, as stored (UTC ISO text)."""
        return iso(self.clock.now())

    def today(self) -> date:
        """The organisation's local calendar date (deadlines count these)."""
        return local_date(self.clock.now(), self.tz)

    # --------------------------------------------------------- identity

    def actor(self, user_id: int, name: str = "") -> Actor:
        """The caller as the organisation file sees them: staff role or petitioner."""
        staff = self.org.staff_member(user_id)
        if staff is None:
            return Actor(id=user_id, role=ActorRole.PETITIONER, name=name)
        return Actor(id=user_id, role=ActorRole(staff.role.value), name=staff.name)

    async def pseudonym(self, conn: Connection, submit_key: str) -> str:
        """A four-character code name per case (its draft's id), not per person.

        Two confidential cases of one reporter get unrelated codes, so nobody
        can tie them together by their code names; without the secret the
        code cannot be recomputed from the draft's id either.
        """
        if self._secret is None:
            async with conn.execute(
                "SELECT value FROM meta WHERE key = 'pseudonym_secret'"
            ) as cur:
                row = await only_row(cur)
            self._secret = bytes.fromhex(row["value"])
        digest = hmac.new(self._secret, f"case:{submit_key}".encode(), hashlib.sha256).hexdigest()
        return digest[:4].upper()

    # ------------------------------------------------------------ vault

    def hid(self, user_id: int) -> int:
        """The keyed hash standing for a Telegram id where the store keeps no id in clear."""
        return user_id if is_hid(user_id) else self.vault.hid(user_id)

    def message_key(self, chat_id: int, message_id: int) -> int:
        """How a recorded message's chat is stored (``case_messages``): a person's chat keyed per message.

        Keyed by the chat's hash and the message's id under a label of their own, so
        that a copy of the database cannot gather one person's messages, and through
        them tie their confidential case to their real-name ones (whose petitioner is
        named in clear). Found again from the chat and the message id; a group's
        chat (the staff group) is stored as it is.
        """
        if chat_id > 0 or is_hid(chat_id):
            return self.vault.keyed("message", self.hid(chat_id), message_id)
        return chat_id

    def account_key(self, user_id: int) -> int | None:
        """How a verified account is stored (``verified_accounts``): keyed apart from ``hid``.

        A confidential case's petitioner is the ``hid`` of their id; the roster names
        every employee in clear, so the account verified as one must not be stored
        under that same hash. None for what is not a Telegram id (a keyed hash).
        """
        return None if user_id <= 0 else self.vault.keyed("account", user_id)

    def booking_key(self, user_id: int) -> int:
        """How a reception booking's employee is stored (``reception_bookings.user_id``): keyed apart from ``hid``.

        A booking may name the employee's real-name case; under the ``hid`` a
        confidential case keeps its reporter by, a copy of the database would join the two.
        """
        return user_id if is_hid(user_id) else self.vault.keyed("booking", user_id)

    def claim_key(self, user_id: int, confidential: bool = False) -> int:
        """How the register stores the Telegram account a person's record is bound to.

        ``petitioners.telegram_hid`` and ``claim_codes.used_by`` (store/ledger.py). A real-name
        record names the person in clear, so its account is keyed under a label of its own: under
        the ``hid`` a confidential case keeps its reporter by, a copy of the database would join the
        two and name the reporter. A confidential record is itself sealed and keeps the ``hid``.
        A keyed hash given (an outbox row's chat) is its own key.
        """
        if is_hid(user_id) or confidential:
            return self.hid(user_id)
        return self.vault.keyed("claim", user_id)

    def claim_keys(self, user_id: int) -> tuple[int, int]:
        """Both keys a record bound to this person may carry: (a real-name record's, a confidential one's)."""
        return self.claim_key(user_id), self.claim_key(user_id, confidential=True)

    def reach_keys(self, user_id: int) -> set[int]:
        """Every key the outbox may hold a row to this person under (their id, ``hid``, claim and booking keys)."""
        return {user_id, self.hid(user_id), *self.claim_keys(user_id), self.booking_key(user_id)}

    def person_ids(self, user_id: int) -> tuple[int, int]:
        """The forms a person's own rows may carry: their id (real-name cases) and its keyed hash."""
        return user_id, self.hid(user_id)

    def owns(self, user_id: int | None, case: Case) -> bool:
        """Is ``user_id`` (a Telegram id or its keyed hash) the case's petitioner?"""
        return user_id is not None and self.hid(user_id) == self.hid(case.petitioner_id)

    def conv_key(self, user_id: int) -> str:
        """A person's conversation rows (drafts, prompts) are keyed by the keyed hash of their id."""
        return str(self.hid(user_id))

    def seal_conv(self, name: str, key: str, column: str, value: Any) -> str:
        """A value of the conversation row (``name``, stored ``key``), sealed for that row and column."""
        return self.vault.seal(value, conv_where(name, key, column))

    def open_conv(self, name: str, key: str, column: str, sealed: str) -> Any:
        return self.vault.open(sealed, conv_where(name, key, column))

    async def remember_person(self, conn: Connection, user_id: int, key: int | None = None) -> int:
        """Keep the sealed id behind a keyed hash (``hid``, or ``key``), so the outbox can reach the person; the hash."""
        hid = self.hid(user_id) if key is None else key
        if hid != user_id:
            await conn.execute(
                "INSERT INTO people (hid, sealed, updated_at) VALUES (?, ?, ?) ON CONFLICT (hid) DO NOTHING",
                (hid, self.vault.seal(user_id, ("people", "sealed", hid)), self.now()),
            )
        return hid

    async def chat_of(self, conn: Connection, chat_id: int) -> int | None:
        """The Telegram chat behind an outbox row's chat id (a keyed hash is opened; None: unknown)."""
        if not is_hid(chat_id):
            return chat_id
        async with conn.execute("SELECT sealed FROM people WHERE hid = ?", (chat_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        try:  # sealed for this hash's row: an id copied from another person's row does not open
            return int(self.vault.open(row["sealed"], ("people", "sealed", chat_id)))
        except VaultError:
            return None

    # ------------------------------------------------------ who sees what

    def may_see(self, viewer: Actor, case: Case) -> bool:
        """The Python form of reading scope (``read_scope`` is the SQL form of the same rule).

        Staff see the cases of their lead scope and those their units co-handle (协办).
        """
        if viewer.role is ActorRole.SYSTEM:
            return True
        if viewer.role is ActorRole.PETITIONER:
            return self.owns(viewer.id, case)
        staff = self.org.staff_member(viewer.id) if viewer.id is not None else None
        return staff is not None and routing.can_read(
            self.org, staff, case.unit, case.category, case.confidential, case.cohandlers
        )

    def only_cohandles(self, viewer: Actor, case: Case) -> bool:
        """Staff who see the case only as a co-handling unit's (协办): reading, notes and progress."""
        return self.staff_relations(viewer, case) == frozenset({Relation.COHANDLER})

    # ------------------------------------------------- who may do what

    def staff_relations(self, actor: Actor, case: Case) -> frozenset[Relation]:
        """How a staff member stands to the case (``store.policy``); empty for anyone else."""
        staff = self.org.staff_member(actor.id) if actor.id is not None and actor.is_staff else None
        return frozenset() if staff is None else policy.staff_relations(self.org, staff, case)

    async def relations(self, conn: Connection, actor: Actor, case: Case) -> frozenset[Relation]:
        """How ``actor`` stands to ``case``: the one computation every check and every menu uses."""
        if actor.is_staff:
            found = self.staff_relations(actor, case)
            if found:
                return found
        if actor.id is None:
            return frozenset({Relation.STRANGER})
        if self.owns(actor.id, case):
            return frozenset({Relation.PETITIONER})
        if await self.follows(conn, actor.id, case):
            return frozenset({Relation.FOLLOWER})
        if await self.claimed(conn, actor.id, case.id):
            return frozenset({Relation.CLAIMANT})
        return frozenset({Relation.STRANGER})

    async def follows(self, conn: Connection, user_id: int, case: Case) -> bool:
        """Does ``user_id`` petition in ``case`` only because their duplicate was merged into it?"""
        if self.owns(user_id, case):
            return False
        async with conn.execute(
            "SELECT 1 FROM cases d WHERE d.merged_into = ? AND (d.petitioner_id IN (?, ?) OR d.id IN"
            " (SELECT cp.case_id FROM case_petitioners cp JOIN petitioners p ON p.id = cp.petitioner_id"
            " WHERE p.telegram_hid IN (?, ?)))",
            (case.id, *self.person_ids(user_id), *self.claim_keys(user_id)),
        ) as cur:
            return await cur.fetchone() is not None

    def refusal_code(self, act: Act, relations: frozenset[Relation]) -> str:
        """The typed refusal's code for an act the relations do not allow."""
        if Relation.COHANDLER in relations:
            return "cohandle_lead_only"
        if Relation.FOLLOWER in relations:
            return "policy_follower"
        if act in policy.REFUSAL:
            return policy.REFUSAL[act]
        if act is Act.CODES and Relation.CUSTODIAN not in relations:
            return "custodian_only"
        return "forbidden"

    async def require(self, conn: Connection, act: Act, actor: Actor, case: Case) -> frozenset[Relation]:
        """Refuse ``act`` unless the policy allows it to ``actor`` on ``case``; the relations when it does.

        The one check before every write (``store.policy.POLICY``). A person who
        may not see the case at all was answered "not found" before this.
        """
        if actor.role is ActorRole.SYSTEM:
            return frozenset()
        relations = await self.relations(conn, actor, case)
        if not policy.allows(act, relations, case.identity_protected):
            raise Forbidden(self.refusal_code(act, relations), number=case.number)
        return relations

    def check_lead(self, actor: Actor, case: Case, action: Action) -> None:
        """Refuse staff an action of the state machine that the policy does not give them on this case."""
        act = policy.OF_ACTION.get(action)
        relations = self.staff_relations(actor, case)
        if act is None or not relations:
            return
        if not policy.allows(act, relations, case.identity_protected):
            raise Forbidden(self.refusal_code(act, relations), number=case.number)

    def offered(self, actor: Actor, case: Case) -> frozenset[Action]:
        """The actions a card offers ``actor`` now: the state machine's, filtered by the policy."""
        actions = available_actions(case.status, actor.role)
        relations = self.staff_relations(actor, case)
        if relations:
            confidential = case.identity_protected
            actions = frozenset(
                a for a in actions
                if ((act := policy.OF_ACTION.get(a)) is None and Relation.COHANDLER not in relations)
                or (act is not None and policy.allows(act, relations, confidential))
            )
        if case.rating is not Rating.DISSATISFIED or case.review_level > 0:
            actions -= {Action.REDO}  # 重办 only after 不满意, before any review request
        if case.lead_id is not None and case.lead_id == actor.id:
            actions -= {Action.LEAD}
        return actions

    def cohandler_ids(self, case: Case) -> list[int]:
        """The co-handling units' officers (协办), who are told and reminded with the handler."""
        found: list[int] = []
        for unit in case.cohandlers:
            for s in routing.cohandling_officers(self.org, case.unit, case.category, case.confidential, unit):
                if s.telegram_id not in found:
                    found.append(s.telegram_id)
        return found

    def in_scope(self, staff_id: int, case: Case) -> bool:
        """Is this Telegram id a staff member who may act on the case now (recusal included)?"""
        staff = self.org.staff_member(staff_id)
        return staff is not None and routing.can_handle(
            self.org, staff, case.unit, case.category, case.confidential
        )

    def refusal_to_receive(self, chat_id: int, case: Case) -> str | None:
        """Why ``chat_id`` may not be told about ``case`` now (None: it may).

        The case's own petitioner may; the staff group only about cases that
        are neither reports nor confidential; anyone else only while a staff
        member in scope for the case (recusal and confidentiality included).
        Checked when a notice is queued and again when it is sent.
        """
        if self.owns(chat_id, case):
            return None
        group = self.org.organization.staff_chat_id
        if group is not None and chat_id == group:
            return "confidential" if case.identity_protected else None
        staff = self.org.staff_member(chat_id)
        if staff is None:
            return "not_staff"
        if not routing.can_read(self.org, staff, case.unit, case.category, case.confidential, case.cohandlers):
            return "out_of_scope"
        return None

    async def queue_staff(
        self,
        conn: Connection,
        chat_id: int,
        kind: Any,
        case: Case,
        event_id: int | None = None,
        params: NoticeParams | dict[str, Any] | None = None,
    ) -> bool:
        """Queue a notice about ``case`` to a staff member or the staff group, if in scope now."""
        if self.refusal_to_receive(chat_id, case) is not None:
            return False
        await self.outbox.queue(conn, chat_id, kind, case.id, event_id, params)
        return True

    async def may_receive(self, conn: Connection, chat_id: int, item: Any) -> str | None:
        """At send time: why this outbox row may no longer go to ``chat_id`` (None: it may)."""
        if item.case_id is None:
            return None
        case = await self.case_where(conn, "id = ?", (item.case_id,))
        if case is None:
            return "no_case"
        refusal = self.refusal_to_receive(chat_id, case)
        if refusal == "not_staff" and await self.claimed(conn, chat_id, case.id):
            return None
        return refusal

    async def claimed(self, conn: Connection, user_id: int, case_id: int) -> bool:
        """Did this person (a Telegram id or its keyed hash) claim the case with a claim code (store/ledger.py)?"""
        async with conn.execute(
            "SELECT 1 FROM case_petitioners cp JOIN petitioners p ON p.id = cp.petitioner_id"
            " WHERE cp.case_id = ? AND p.telegram_hid IN (?, ?) AND cp.claimed_at IS NOT NULL",
            (case_id, *self.claim_keys(user_id)),
        ) as cur:
            return await cur.fetchone() is not None

    def scope(self, actor: Actor) -> tuple[str, list[Any]]:
        """SQL for "cases this staff member may act on" (see ``scope_sql``)."""
        return scope_sql(self.org, actor)

    def read_scope(self, actor: Actor) -> tuple[str, list[Any]]:
        """SQL for "cases this staff member may see", co-handled ones included (see ``read_scope_sql``)."""
        return read_scope_sql(self.org, actor)

    async def set_cohandlers(self, conn: Connection, case_id: int) -> Case:
        """Copy the case's co-handling units from ``case_cohandlers`` onto its row (``cases.cohandlers``)."""
        async with conn.execute(
            "SELECT unit FROM case_cohandlers WHERE case_id = ? ORDER BY added_at, unit", (case_id,)
        ) as cur:
            units = [row["unit"] async for row in cur]
        return await self.update_case(conn, case_id, {"cohandlers": json.dumps(units)})

    # ------------------------------------------------------------ cases

    async def case_where(self, conn: Connection, where: str, args: tuple[Any, ...]) -> Case | None:
        async with conn.execute(f"SELECT * FROM cases WHERE {where}", args) as cur:
            row = await cur.fetchone()
        return row_to_model(Case, row) if row else None

    async def load_case(self, conn: Connection, viewer: Actor, number: str) -> Case:
        """The case by number if ``viewer`` may see it; NotFound either way otherwise."""
        case = await self.case_where(conn, "number = ?", (number.strip().upper(),))
        if case is None:
            raise NotFound(number=number)
        if not self.may_see(viewer, case) and not (
            viewer.role is ActorRole.PETITIONER and viewer.id is not None
            and await self.claimed(conn, viewer.id, case.id)
        ):
            raise NotFound(number=number)
        return case

    async def update_case(self, conn: Connection, case_id: int, changes: dict[str, Any]) -> Case:
        """Set some columns of a case (and ``updated_at``); the case as it now is."""
        await self.change_case(conn, case_id, changes)
        case = await self.case_where(conn, "id = ?", (case_id,))
        assert case is not None
        return case

    async def change_case(self, conn: Connection, case_id: int, changes: dict[str, Any], *,
                          row: Case | None = None) -> Case | None:
        """``update_case`` for a caller that does not need the case read back: the change goes with the next
        trip. ``row``: the case as this transaction holds it (one it inserted): then its rank is stored
        from the changed row, unread, and the changed row is returned."""
        changes = {**changes, "updated_at": self.now()}
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        conn.later(f"UPDATE cases SET {assignments} WHERE id = :case_id", {**changes, "case_id": case_id})
        changed = Case.model_validate({**row.model_dump(), **changes}) if row is not None else None
        await self.events.publish(conn, CaseChanged(case_id, self.today(), changed))
        return changed

    async def event(
        self,
        conn: Connection,
        case_id: int,
        actor: Actor,
        action: Action,
        status_after: Status,
        body: str | None,
        data: EventData,
        *,
        petitioner_key: int | None = None,
        inserted: Case | None = None,
    ) -> int:
        """Append a journal event (public or not by the state machine's table), its record typed
        by the action's model (``store.event_data.DATA``).

        A confidential case's petitioner is journaled by the keyed hash its
        case row carries, never by their Telegram id: read from the row, unless
        the caller passes it (``petitioner_key``, the row's ``petitioner_id``).
        ``inserted``: the case's row as its INSERT in this transaction returned it
        (the events of a new case in the transaction that made it), so that its rank is
        stored without reading it, and nobody follows it yet (no leader in charge).
        """
        actor_id = actor.id
        if actor.role is ActorRole.PETITIONER and petitioner_key is not None:
            actor_id = petitioner_key
        elif actor.role is ActorRole.PETITIONER and actor_id is not None:
            async with conn.execute(
                "SELECT petitioner_id FROM cases WHERE id = ? AND confidential", (case_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                actor_id = row["petitioner_id"]
        at = self.now()
        if action in FIRST_ANSWER:  # with the append's trip (conn.later), no trip of its own
            conn.later("UPDATE cases SET first_answer_at = ? WHERE id = ? AND first_answer_at IS NULL", (at, case_id))
        event_id = await journal.append(
            conn,
            case_id=case_id,
            at=at,
            actor_id=actor_id,
            actor_role=actor.role.value,
            action=action.value,
            status_after=status_after.value,
            body=body,
            data=stored_data(action, data),
            public=RULES[action].public,
        )
        await self.events.publish(conn, CaseChanged(case_id, self.today(), inserted))
        await self.events.publish(conn, Journaled(case_id, event_id, action, actor.id, inserted is not None))
        return event_id

    async def attach(self, conn: Connection, case_id: int, event_id: int, a: dict[str, Any]) -> None:
        """Record a file of a case; a confidential case keeps a neutral name (``材料-3.pdf``), not the sender's."""
        async with conn.execute(
            "SELECT confidential, (SELECT count(*) FROM attachments WHERE case_id = cases.id) AS held"
            " FROM cases WHERE id = ?", (case_id,)
        ) as cur:
            row = await cur.fetchone()
        confidential = row is not None and bool(row["confidential"])
        name, unique, size = a.get("file_name"), a.get("file_unique_id"), a.get("size")
        if confidential:  # nothing a real-name case's copy of the same file would share (store/filenames.py)
            assert row is not None
            name = filenames.stored_name(int(row["held"]) + 1, a["kind"], name, a.get("mime_type"))
            unique, size = None, filenames.stored_size(size)
        async with conn.execute(
            "INSERT INTO attachments (case_id, event_id, kind, file_id, file_unique_id,"
            " file_name, mime_type, size, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (case_id, event_id, a["kind"], "" if confidential else a["file_id"], unique, name,
             a.get("mime_type"), size, self.now()),
        ) as cur:
            added = await cur.fetchone()
        if confidential:
            assert added is not None
            await conn.execute(
                "UPDATE attachments SET file_id = ? WHERE id = ?",
                (self.vault.seal(a["file_id"], file_where(added["id"])), added["id"]),
            )

    def opened_file(self, row: Any) -> Attachment:
        """A stored file as staff and the outbox use it: a confidential case's ``file_id`` opened."""
        file = row_to_model(Attachment, row)
        if is_sealed(file.file_id):
            file.file_id = str(self.vault.open(file.file_id, file_where(file.id)))
        return file


def file_where(attachment_id: int) -> tuple[str, str, str]:
    """Where a confidential case's sealed ``file_id`` lives: its attachment row."""
    return ("attachments", "file_id", str(attachment_id))


def conv_where(name: str, key: str, column: str) -> tuple[str, str, str]:
    """Where a sealed value of a conversation row lives: the row's key is its name and stored key."""
    return ("conversations", column, f"{name}:{key}")


class Service:
    """A service over the shared context: ``db``, ``org``, ``clock``, ``tz`` and ``outbox`` at hand."""

    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.clock = ctx.clock
        self.tz = ctx.tz
        self.outbox = ctx.outbox

    @property
    def org(self) -> Organization:
        """The organisation as it is now: staff managed in chat and a reloaded file replace it (store/staffing.py)."""
        return self.ctx.org
