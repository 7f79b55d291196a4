"""Leader reception days (领导接访日): sessions, bookings, the waitlist, reminders.

The essay asks that leaders receive petitioners in person and go down to the
grassroots (接访、下访). A leader (or an administrator for a leader) publishes
a session: a date, start and end in the organisation's time zone, a place
and/or a unit visited, and a number of slots. Employees book a slot with a
short topic and may link one of their own cases; when a session is full they
join its waitlist and move up automatically when someone cancels. After the
session the leader records the outcome per booking, which becomes an event on
the linked case's journal.

Every rule lives here: who may publish, cancel or record; capacity (checked in
the booking's own write transaction, so concurrent bookings cannot overbook,
and guarded again by a trigger in the schema); one active booking per
employee per session; the cancellation cut-off; when reminders are due. Each
change queues the notifications it causes in the same transaction.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from store.clock import iso, local_date
from store.context import Service
from store.conversations import Conversation
from store.db import Connection
from store.errors import BadInput, NoDraft, NotFound, Refused
from store.event_data import ReceptionNoteData
from store.models import Actor, ActorRole, Case, Status, new_key, row_to_model
from store.notices import BookingParams, NoticeKind, ReminderParams, SessionParams
from store.org import RECEPTION_PLACE_MAX, RECEPTION_SLOTS_MAX, Role, Staff
from store.safetext import clean
from store.sqltext import only_row
from store.workflow import Action, next_status

TOPIC_MAX = 200
OUTCOME_MAX = 2000
REASON_MAX = 500
DAYS_AHEAD_MAX = 366
LINKABLE_CASES = 5
LEADER_LIST_DAYS = 30  # /reception_list shows sessions that ended at most this long ago

# Reminders: the day before (24 hours ahead) and two hours ahead.
REMIND_DAY_BEFORE = timedelta(hours=24)
REMIND_HOURS_BEFORE = timedelta(hours=2)

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class SessionStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class BookingStatus(StrEnum):
    BOOKED = "booked"
    WAITING = "waiting"
    CANCELLED = "cancelled"


class Session(BaseModel):
    """A published reception session, with how many slots are taken."""

    id: int
    config_key: str | None
    leader_id: int
    leader_name: str
    day: date  # local calendar date
    start: str  # local HH:MM
    end: str
    starts_at: datetime
    ends_at: datetime
    place: str | None
    unit: str | None
    slots: int
    status: SessionStatus
    cancel_reason: str | None
    booked: int = 0
    waiting: int = 0
    cancel_until: datetime  # employees may cancel a booking until this moment
    bookable: bool = False  # open and not yet started (as of loading)

    @property
    def free(self) -> int:
        return max(self.slots - self.booked, 0)

    @property
    def is_open(self) -> bool:
        return self.status is SessionStatus.OPEN


class Booking(BaseModel):
    """An employee's booking as the employee sees it."""

    id: int
    session_id: int
    user_id: int
    user_name: str | None
    topic: str
    case_id: int | None
    case_number: str | None
    status: BookingStatus
    position: int | None = None  # place on the waitlist, 1 = next to move up
    outcome: str | None
    outcome_at: datetime | None
    cancellable: bool = False  # may the employee still cancel it now?


class LeaderBooking(BaseModel):
    """A booking as the receiving leader sees it: confidential petitioners by pseudonym only."""

    id: int
    number: int  # 1, 2, … in booking order within the session (waitlist after the booked)
    status: BookingStatus
    position: int | None
    name: str | None  # None when the linked case is confidential
    pseudonym: str | None  # set when the linked case is confidential
    topic: str
    case_number: str | None  # None if no case, or the leader may not see it
    linked_hidden: bool  # a linked case the leader may not see
    outcome: str | None


class SessionDetail(BaseModel):
    session: Session
    bookings: list[LeaderBooking]
    started: bool  # outcomes can be recorded
    cancellable: bool  # the session can still be cancelled


class SessionDraft(BaseModel):
    """A session being published in chat, step by step."""

    draft_id: str = Field(default_factory=new_key)
    leader_id: int | None = None
    day: date | None = None
    start: str | None = None
    end: str | None = None
    where: str | None = None  # "place" or "unit": which the publisher chose
    place: str | None = None
    unit: str | None = None
    slots: int | None = None


class PublishStep(BaseModel):
    """Publishing a session: the draft so far, as kept in the reception row before publishing was a form.

    The publishing form keeps its ``SessionDraft`` sealed in a row of its own (``handlers/reception_leader.py``,
    ``Conversation.RECEPTION_PUBLISH``); ``adopt_reception_draft`` moves a draft still kept here.
    """

    flow: Literal["publish"] = "publish"
    draft: SessionDraft


class BookingStep(BaseModel):
    """Booking a slot: the session, the booking's idempotency key, the topic once given, the case to link.

    The booking form's draft (``handlers/reception.py``, sealed by ``store/forms.py``). Before booking was a
    form it was kept in clear in the person's reception row; ``adopt_booking_draft`` moves such a draft.
    """

    flow: Literal["book"] = "book"
    session_id: int
    key: str = Field(default_factory=new_key)
    topic: str | None = None
    case_id: int | None = None


# The booking form's steps, as stored with its draft (an adopted draft is put at one of them).
BOOKING_TOPIC = "topic"
BOOKING_LINK = "link"


class OutcomeStep(BaseModel):
    """Recording what came of a meeting: which booking, and the outcome once typed.

    The outcome form's draft (``handlers/reception_leader.py``, sealed by ``store/forms.py``); before it was a form it
    was kept in clear in the reception row, and ``adopt_reception_draft`` moves it.
    """

    flow: Literal["outcome"] = "outcome"
    booking_id: int
    outcome: str | None = None


class CancelSessionStep(BaseModel):
    """Cancelling a session: which one, and the reason once typed (a form's draft, as ``OutcomeStep``)."""

    flow: Literal["cancel_session"] = "cancel_session"
    session_id: int
    reason: str | None = None


# The user's unfinished reception step, as stored in their reception conversation row.
ReceptionDraft = Annotated[
    PublishStep | BookingStep | OutcomeStep | CancelSessionStep, Field(discriminator="flow")
]
_RECEPTION_DRAFT: TypeAdapter[ReceptionDraft] = TypeAdapter(ReceptionDraft)


class BookingResult(BaseModel):
    booking: Booking
    session: Session
    created: bool  # False when the same booking was seen before


class TopicStep(BaseModel):
    """After the topic: either the booking is made, or the employee may link one of these cases."""

    session: Session
    cases: list[Case]
    result: BookingResult | None


class CancelResult(BaseModel):
    booking: Booking
    session: Session
    promoted: int | None  # booking id moved up from the waitlist


def check_topic(topic: str) -> str:
    """A booking's topic as kept: cleaned, neither empty nor longer than ``TOPIC_MAX`` (else ``BadInput``)."""
    topic = clean(topic).strip()
    if not topic:
        raise BadInput("text_required")
    if len(topic) > TOPIC_MAX:
        raise BadInput("reception_too_long", max=TOPIC_MAX, length=len(topic))
    return topic


def parse_hhmm(value: str) -> time | None:
    match = _HHMM.match(value or "")
    return time(int(match[1]), int(match[2])) if match else None


def hhmm(value: time) -> str:
    return value.strftime("%H:%M")


class ReceptionService(Service):
    """Reception days: publishing, booking, the waitlist, outcomes, reminders."""

    # ------------------------------------------------------------ helpers

    def _moments(self, day: date, start: str, end: str) -> tuple[datetime, datetime]:
        begin, finish = parse_hhmm(start), parse_hhmm(end)
        assert begin is not None and finish is not None
        return (
            datetime.combine(day, begin, tzinfo=self.tz),
            datetime.combine(day, finish, tzinfo=self.tz),
        )

    def _cancel_until(self, starts_at: datetime) -> datetime:
        return starts_at - timedelta(hours=self.org.reception_rules.cancel_hours_before)

    def _is_leader_role(self, actor: Actor) -> bool:
        return actor.role in (ActorRole.LEADER, ActorRole.ADMIN)

    def _holds(self, actor: Actor, session: Session) -> bool:
        """May this person manage the session: its leader, or any administrator."""
        return actor.role is ActorRole.ADMIN or (
            actor.role is ActorRole.LEADER and actor.id == session.leader_id
        )

    async def _session(self, conn: Connection, session_id: int) -> Session | None:
        async with conn.execute(
            _SESSION_SELECT + " WHERE s.id = ?", (session_id,)
        ) as cur:
            row = await cur.fetchone()
        return self._session_model(row) if row else None

    async def _sessions(
        self, conn: Connection, where: str, args: tuple[Any, ...]
    ) -> list[Session]:
        async with conn.execute(
            _SESSION_SELECT + f" WHERE {where} ORDER BY s.starts_at, s.id", args
        ) as cur:
            return [self._session_model(row) async for row in cur]

    def _session_model(self, row: Any) -> Session:
        values = dict(row)
        values["start"], values["end"] = values.pop("start_time"), values.pop("end_time")
        starts_at = datetime.fromisoformat(values["starts_at"])
        values["cancel_until"] = self._cancel_until(starts_at)
        values["bookable"] = values["status"] == SessionStatus.OPEN.value and starts_at > self.clock.now()
        return Session.model_validate(values)

    async def _booking(self, conn: Connection, booking_id: int) -> Booking | None:
        async with conn.execute(_BOOKING_SELECT + " WHERE b.id = ?", (booking_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return await self._booking_model(conn, row)

    async def _booking_model(self, conn: Connection, row: Any) -> Booking:
        values = dict(row)
        if values.get("user_name"):  # sealed in the vault
            values["user_name"] = self.ctx.vault.open(values["user_name"], ("reception_bookings", "user_name", values["id"]))
        starts_at = datetime.fromisoformat(values.pop("starts_at"))
        session_open = values.pop("session_status") == SessionStatus.OPEN.value
        status = BookingStatus(values["status"])
        if status is BookingStatus.WAITING:
            values["position"] = await self._position(conn, values["session_id"], values["id"])
        # A slot may be given back until the cut-off; a place on the waitlist until the start.
        now = self.clock.now()
        values["cancellable"] = session_open and (
            (status is BookingStatus.BOOKED and now < self._cancel_until(starts_at))
            or (status is BookingStatus.WAITING and now < starts_at)
        )
        return Booking.model_validate(values)

    async def _position(self, conn: Connection, session_id: int, booking_id: int) -> int:
        async with conn.execute(
            "SELECT count(*) FROM reception_bookings WHERE session_id = ? AND status = 'waiting'"
            " AND id <= ?",
            (session_id, booking_id),
        ) as cur:
            return int((await only_row(cur))[0])

    def _reminder_flags(self, starts_at: datetime, now: datetime) -> tuple[str | None, str | None]:
        """``reminded_day`` and ``reminded_hours`` for a slot taken now: each the moment its reminder was settled,
        sent or passed over. One whose moment has passed when the slot is taken is not sent late: settled now.
        None: still to send (the outbox keeps which were sent)."""
        day = iso(now) if now >= starts_at - REMIND_DAY_BEFORE else None
        hours = iso(now) if now >= starts_at - REMIND_HOURS_BEFORE else None
        return day, hours

    # ------------------------------------------------------------ drafts

    async def reception_draft(self, user_id: int) -> ReceptionDraft | None:
        """The user's unfinished reception step (publishing, outcome, cancelling; a booking only if begun before
        the booking form, until ``adopt_booking_draft`` moves it)."""
        async with self.db.read() as conn:
            return await self._draft(conn, user_id)

    async def reception_ui(self, user_id: int) -> dict[str, Any]:
        """The reception conversation's own state, as its handler last saved it (opaque here)."""
        async with self.db.read() as conn:
            async with conn.execute(
                "SELECT ui FROM conversations WHERE name = ? AND key = ?", (Conversation.RECEPTION, self.ctx.conv_key(user_id))
            ) as cur:
                row = await cur.fetchone()
        return json.loads(row["ui"]) if row is not None else {}

    async def _draft(self, conn: Connection, user_id: int) -> ReceptionDraft | None:
        async with conn.execute(
            "SELECT data FROM conversations WHERE name = ? AND key = ?", (Conversation.RECEPTION, self.ctx.conv_key(user_id))
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        data = json.loads(row["data"])
        return _RECEPTION_DRAFT.validate_python(data) if data.get("flow") else None

    async def _clear_draft(self, conn: Connection, user_id: int) -> None:
        await conn.execute(
            "UPDATE conversations SET data = '{}', ui = '{}', updated_at = ? WHERE name = ? AND key = ?",
            (self.ctx.now(), Conversation.RECEPTION, self.ctx.conv_key(user_id)),
        )

    async def clear_reception_draft(self, user_id: int) -> None:
        async with self.db.transaction() as conn:
            await self._clear_draft(conn, user_id)

    # -------------------------------------------------------- publishing

    def reception_leaders(self, actor: Actor) -> list[Staff]:
        """For whom the caller may publish: a leader for themselves, an administrator for any leader or themselves."""
        if actor.role is ActorRole.LEADER:
            staff = self.org.staff_member(actor.id) if actor.id is not None else None
            return [staff] if staff is not None else []
        if actor.role is ActorRole.ADMIN:
            return [s for s in self.org.staff if s.role is Role.LEADER or s.telegram_id == actor.id]
        return []

    def reception_units(self, leader_id: int) -> list[str]:
        """Where browsing for a unit to visit starts: the leader's own units (all roots for an administrator)."""
        staff = self.org.staff_member(leader_id)
        if staff is None:
            return []
        if staff.role is Role.ADMIN:
            return [u.id for u in self.org.roots()]
        return [u for u in staff.units if self.org.find_unit(u) is not None]

    async def begin_publish(self, actor: Actor) -> SessionDraft:
        """Check the caller may publish: the draft to begin with (kept by its form); a leader publishes for themselves.

        A draft an older version kept in the reception row is dropped: this one replaces it.
        """
        if not self._is_leader_role(actor):
            raise Refused("reception_leaders_only")
        draft = SessionDraft()
        leaders = self.reception_leaders(actor)
        if actor.role is ActorRole.LEADER and leaders:
            draft.leader_id = leaders[0].telegram_id
        if isinstance(await self.reception_draft(actor.id or 0), PublishStep):
            await self.clear_reception_draft(actor.id or 0)
        return draft

    def change_publish_draft(self, actor: Actor, draft: SessionDraft, **changes: Any) -> SessionDraft:
        """The draft with some fields set, each value checked as it is given (a start anew drops the end, a choice
        of place or unit anew drops both); ``draft`` itself is left as it was."""
        if not self._is_leader_role(actor):  # no longer a leader: the form is no longer theirs
            raise NoDraft("reception_leaders_only")
        now = self.clock.now()
        changed = draft.model_copy()
        for name, value in changes.items():
            self._check_field(actor, changed, name, value, now)
            setattr(changed, name, value)
            if name == "start":
                changed.end = None
            if name == "where":
                changed.place = changed.unit = None
        return changed

    async def adopt_reception_draft(self, user_id: int, old: ReceptionDraft, step: str,
                                    ui: dict[str, Any] | None = None) -> bool:
        """A step begun before publishing, an outcome or a cancellation was a form (``old``, as read from the
        reception row, in clear): moved into that form's row, sealed, at ``step`` with ``ui`` (the handler's, not
        read here); a session being published as its ``SessionDraft``. Nothing is moved if the row changed."""
        forms: dict[type[BaseModel], Conversation] = {
            PublishStep: Conversation.RECEPTION_PUBLISH, OutcomeStep: Conversation.RECEPTION_OUTCOME,
            CancelSessionStep: Conversation.RECEPTION_CANCEL, BookingStep: Conversation.RECEPTION_BOOKING}
        name = forms[type(old)]
        data = old.draft if isinstance(old, PublishStep) else old
        key = self.ctx.conv_key(user_id)
        async with self.db.transaction() as conn:
            if await self._draft(conn, user_id) != old:
                return False
            await conn.execute(
                "INSERT INTO conversations (name, key, sealed_key, state, data, ui, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, key) DO NOTHING",
                (name, key, self.ctx.seal_conv(name, key, "sealed_key", str(user_id)), step,
                 self.ctx.seal_conv(name, key, "data", data.model_dump(mode="json")), json.dumps(ui or {}),
                 self.ctx.now()),
            )
            await conn.execute("DELETE FROM conversations WHERE name = ? AND key = ?", (Conversation.RECEPTION, key))
        return True

    def _check_field(self, actor: Actor, draft: SessionDraft, name: str, value: Any, now: datetime) -> None:
        today = local_date(now, self.tz)
        if name == "leader_id":
            if value not in {s.telegram_id for s in self.reception_leaders(actor)}:
                raise Refused("reception_not_a_leader")
        elif name == "day":
            if not isinstance(value, date) or not today <= value <= today + timedelta(days=DAYS_AHEAD_MAX):
                raise Refused("reception_bad_date", days=DAYS_AHEAD_MAX)
        elif name == "start":
            if draft.day is None or parse_hhmm(value) is None:
                raise Refused("reception_bad_time")
            if datetime.combine(draft.day, parse_hhmm(value), tzinfo=self.tz) <= now:  # type: ignore[arg-type]
                raise Refused("reception_in_past")
        elif name == "end":
            begin, finish = parse_hhmm(draft.start or ""), parse_hhmm(value)
            if begin is None or finish is None or finish <= begin:
                raise Refused("reception_bad_end")
        elif name == "where":
            if value not in ("place", "unit"):
                raise Refused("reception_bad_where")
        elif name == "place":
            if value is not None:
                self._check_place(value)
        elif name == "unit":
            if value is not None:
                self.check_visit_unit(draft.leader_id, value)
        elif name == "slots":
            if not isinstance(value, int) or not 1 <= value <= RECEPTION_SLOTS_MAX:
                raise Refused("reception_bad_slots", max=RECEPTION_SLOTS_MAX)
        else:
            raise ValueError(f"not a draft field: {name}")

    def _check_place(self, place: str) -> None:
        if not place.strip():
            raise BadInput("text_required")
        if len(place) > RECEPTION_PLACE_MAX:
            raise BadInput("reception_too_long", max=RECEPTION_PLACE_MAX, length=len(place))

    def check_visit_unit(self, leader_id: int | None, unit_id: str) -> None:
        """Refused unless the leader may visit (下访) this unit: one in their own subtree."""
        leader = self.org.staff_member(leader_id) if leader_id is not None else None
        if self.org.find_unit(unit_id) is None or leader is None:
            raise Refused("unknown_unit")
        if not self.org.covers(leader, unit_id):
            raise Refused("reception_unit_out_of_scope")

    async def published_session(self, actor: Actor, draft_id: str) -> Session:
        """The session the caller published from the draft ``draft_id`` (a Submit tapped again), else ``NoDraft``."""
        async with self.db.read() as conn:
            session = await self._published(conn, actor, draft_id)
        if session is None:
            raise NoDraft()
        return session

    async def _published(self, conn: Connection, actor: Actor, draft_id: str) -> Session | None:
        async with conn.execute(
            "SELECT id, created_by FROM reception_sessions WHERE publish_key = ?", (draft_id,)
        ) as cur:
            seen = await cur.fetchone()
        return await self._session(conn, seen["id"]) if seen is not None and seen["created_by"] == actor.id else None

    async def publish_session(self, actor: Actor, draft: SessionDraft) -> tuple[Session, bool]:
        """Publish the drafted session, once per draft: (session, created)."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            seen = await self._published(conn, actor, draft.draft_id)
            if seen is not None:
                return seen, False
            if not self._is_leader_role(actor):
                raise NoDraft("reception_leaders_only")
            if None in (draft.leader_id, draft.day, draft.start, draft.end, draft.slots) or (
                draft.place is None and draft.unit is None
            ):
                raise Refused("reception_draft_incomplete")
            for name in ("leader_id", "day", "start", "end", "place", "unit", "slots"):
                self._check_field(actor, draft, name, getattr(draft, name), now)
            assert draft.leader_id is not None and draft.day and draft.start and draft.end
            leader = self.org.staff_member(draft.leader_id)
            assert leader is not None and draft.slots is not None
            session_id = await self._insert_session(
                conn,
                leader=leader,
                day=draft.day,
                start=draft.start,
                end=draft.end,
                place=draft.place,
                unit=draft.unit,
                slots=draft.slots,
                created_by=actor.id,
                publish_key=draft.draft_id,
            )
            if leader.telegram_id != actor.id:
                await self.outbox.queue(conn, leader.telegram_id, NoticeKind.RECEPTION_PUBLISHED, None,
                                  params=SessionParams(session_id=session_id))
            session = await self._session(conn, session_id)
            assert session is not None
        self.outbox.kick()
        return session, True

    async def _insert_session(
        self,
        conn: Connection,
        *,
        leader: Staff,
        day: date,
        start: str,
        end: str,
        place: str | None,
        unit: str | None,
        slots: int,
        created_by: int | None,
        publish_key: str | None = None,
        config_key: str | None = None,
    ) -> int:
        starts_at, ends_at = self._moments(day, start, end)
        if config_key is None:  # the organisation file is taken as its administrator wrote it
            await self._check_overlap(conn, leader.telegram_id, starts_at, ends_at)
        now = self.ctx.now()
        async with conn.execute(
            "INSERT INTO reception_sessions (config_key, publish_key, leader_id, leader_name,"
            " created_by, day, start_time, end_time, starts_at, ends_at, place, unit, slots,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (config_key, publish_key, leader.telegram_id, leader.name, created_by, day.isoformat(),
             start, end, iso(starts_at), iso(ends_at), place, unit, slots, now, now),
        ) as cur:
            return int((await only_row(cur))[0])

    async def _check_overlap(
        self, conn: Connection, leader_id: int, starts_at: datetime, ends_at: datetime
    ) -> None:
        """A leader cannot be in two sessions at once."""
        async with conn.execute(
            "SELECT count(*) FROM reception_sessions WHERE leader_id = ? AND status = 'open'"
            " AND starts_at < ? AND ends_at > ?",
            (leader_id, iso(ends_at), iso(starts_at)),
        ) as cur:
            if (await only_row(cur))[0]:
                raise Refused("reception_overlap")

    async def sync_reception_config(self) -> int:
        """Bring the organisation file's [[reception]] sessions into the store; returns how many changed.

        New entries are added; changed entries are updated (their bookings stay,
        and everyone booked is told of a new time or place); more slots move
        people up from the waitlist. Entries removed from the file are left as
        they are: a session with bookings is cancelled in chat, with a reason.
        Cancelled sessions are not revived by the file.
        """
        changed = 0
        async with self.db.transaction() as conn:
            for entry in self.org.reception:
                leader = self.org.staff_member(entry.leader)
                assert leader is not None  # checked when the file was loaded
                start, end = hhmm(entry.start), hhmm(entry.end)
                async with conn.execute(
                    "SELECT * FROM reception_sessions WHERE config_key = ?", (entry.id,)
                ) as cur:
                    row = await cur.fetchone()
                if row is None:
                    await self._insert_session(
                        conn, leader=leader, day=entry.date, start=start, end=end, place=entry.place,
                        unit=entry.unit, slots=entry.slots, created_by=None, config_key=entry.id,
                    )
                    changed += 1
                    continue
                if row["status"] != SessionStatus.OPEN.value:
                    continue
                new = (leader.telegram_id, leader.name, entry.date.isoformat(), start, end, entry.place,
                       entry.unit, entry.slots)
                old = (row["leader_id"], row["leader_name"], row["day"], row["start_time"], row["end_time"],
                       row["place"], row["unit"], row["slots"])
                if new == old:
                    continue
                starts_at, ends_at = self._moments(entry.date, start, end)
                await conn.execute(
                    "UPDATE reception_sessions SET leader_id = ?, leader_name = ?, day = ?, start_time = ?,"
                    " end_time = ?, starts_at = ?, ends_at = ?, place = ?, unit = ?, slots = ?,"
                    " updated_at = ? WHERE id = ?",
                    (*new[:5], iso(starts_at), iso(ends_at), entry.place, entry.unit, entry.slots,
                     self.ctx.now(), row["id"]),
                )
                changed += 1
                if new[2:7] != old[2:7]:
                    now = self.clock.now()
                    async with conn.execute(
                        "SELECT id, user_id, status FROM reception_bookings WHERE session_id = ?"
                        " AND status IN ('booked', 'waiting')",
                        (row["id"],),
                    ) as cur:
                        affected = await cur.fetchall()
                    day_flag, hours_flag = self._reminder_flags(starts_at, now)
                    for booking in affected:
                        await conn.execute(
                            "UPDATE reception_bookings SET reminded_day = ?, reminded_hours = ? WHERE id = ?",
                            (day_flag, hours_flag, booking["id"]),
                        )
                        await self.outbox.queue(conn, booking["user_id"], NoticeKind.RECEPTION_CHANGED, None,
                                          params=BookingParams(booking_id=booking["id"]))
                await self._fill_from_waitlist(conn, row["id"])
        if changed:
            self.outbox.kick()
        return changed

    # ----------------------------------------------------------- browsing

    async def upcoming_sessions(self, limit: int = 20) -> list[Session]:
        """Open sessions that have not started, soonest first."""
        async with self.db.read() as conn:
            return (await self._sessions(
                conn, "s.status = 'open' AND s.starts_at > ?", (self.ctx.now(),)
            ))[:limit]

    async def reception_session(self, session_id: int) -> Session:
        async with self.db.read() as conn:
            session = await self._session(conn, session_id)
        if session is None:
            raise NotFound("reception_not_found")
        return session

    async def my_reception_bookings(self, user_id: int) -> list[tuple[Booking, Session]]:
        """The employee's active bookings for sessions that have not ended."""
        async with self.db.read() as conn:
            async with conn.execute(
                _BOOKING_SELECT + " WHERE b.user_id = ? AND b.status IN ('booked', 'waiting')"
                " AND s.ends_at > ? ORDER BY s.starts_at, b.id",
                (self.ctx.booking_key(user_id), self.ctx.now()),
            ) as cur:
                rows = await cur.fetchall()
            out = []
            for row in rows:
                booking = await self._booking_model(conn, row)
                session = await self._session(conn, booking.session_id)
                assert session is not None
                out.append((booking, session))
        return out

    async def booking_of(self, actor: Actor, booking_id: int) -> tuple[Booking, Session]:
        """One of the caller's own bookings; NotFound for anyone else's."""
        async with self.db.read() as conn:
            booking = await self._booking(conn, booking_id)
            if booking is None or actor.id is None or booking.user_id != self.ctx.booking_key(actor.id):
                raise NotFound("reception_booking_not_found")
            session = await self._session(conn, booking.session_id)
        assert session is not None
        return booking, session

    async def reception_notice(self, booking_id: int) -> tuple[Booking, Session] | None:
        """A booking and its session for rendering a notification to its employee."""
        async with self.db.read() as conn:
            booking = await self._booking(conn, booking_id)
            if booking is None:
                return None
            session = await self._session(conn, booking.session_id)
        return (booking, session) if session is not None else None

    # ------------------------------------------------------------ booking

    def _bookable(self, session: Session | None, now: datetime) -> Session:
        if session is None:
            raise NotFound("reception_not_found")
        if not session.is_open:
            raise Refused("reception_cancelled")
        if session.starts_at <= now:
            raise Refused("reception_started")
        return session

    async def _active_booking_id(self, conn: Connection, session_id: int, user_id: int) -> int | None:
        async with conn.execute(
            "SELECT id FROM reception_bookings WHERE session_id = ? AND user_id = ?"
            " AND status IN ('booked', 'waiting')",
            (session_id, self.ctx.booking_key(user_id)),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def begin_booking(self, actor: Actor, session_id: int) -> BookingStep:
        """Check the session can be booked by the caller: the booking's draft to begin with (kept by its form)."""
        now = self.clock.now()
        async with self.db.read() as conn:
            self._bookable(await self._session(conn, session_id), now)
            if await self._active_booking_id(conn, session_id, actor.id or 0) is not None:
                raise Refused("reception_already_booked")
        return BookingStep(session_id=session_id)

    async def _linkable(self, conn: Connection, actor: Actor) -> list[Case]:
        async with conn.execute(
            # Their own cases and those registered for them that they claimed (store/ledger.py).
            "SELECT * FROM cases WHERE (petitioner_id = ? OR id IN (SELECT cp.case_id FROM case_petitioners cp"
            " JOIN petitioners p ON p.id = cp.petitioner_id WHERE p.telegram_hid IN (?, ?) AND cp.claimed_at IS NOT NULL))"
            " AND status != ? ORDER BY id DESC LIMIT ?",
            (actor.id, *self.ctx.claim_keys(actor.id or 0), Status.WITHDRAWN.value, LINKABLE_CASES),
        ) as cur:
            return [row_to_model(Case, row) async for row in cur]

    async def linkable_cases(self, actor: Actor) -> list[Case]:
        """The employee's own cases a booking may link (the newest few, none withdrawn)."""
        async with self.db.read() as conn:
            return await self._linkable(conn, actor)

    async def submit_topic(self, actor: Actor, draft: BookingStep, name: str = "") -> TopicStep:
        """The draft's topic given: book now, or offer the employee's cases to link (the draft stays the form's)."""
        topic = check_topic(draft.topic or "")
        async with self.db.read() as conn:
            session = self._bookable(await self._session(conn, draft.session_id), self.clock.now())
            cases = await self._linkable(conn, actor)
        if cases:
            return TopicStep(session=session, cases=cases, result=None)
        result = await self.book(actor, session.id, topic, name=name, key=draft.key)
        return TopicStep(session=result.session, cases=[], result=result)

    async def finish_booking(self, actor: Actor, draft: BookingStep, name: str = "") -> BookingResult:
        """Book with the draft's topic, linking the case it names (or none)."""
        if not draft.topic:
            raise NoDraft()
        return await self.book(actor, draft.session_id, draft.topic, case_id=draft.case_id, name=name, key=draft.key)

    async def adopt_booking_draft(self, user_id: int) -> bool:
        """A booking begun before booking was a form (its draft in the reception row, in clear): moved into the
        booking form's row, sealed, at its step (the topic, or the case to link once the topic was given)."""
        key = self.ctx.conv_key(user_id)
        if not isinstance(await self.reception_draft(user_id), BookingStep):
            return False  # the usual answer, told by a read: the writer is not taken for it
        async with self.db.transaction() as conn:
            old = await self._draft(conn, user_id)
            if not isinstance(old, BookingStep):
                return False
            name = Conversation.RECEPTION_BOOKING
            await conn.execute(
                "INSERT INTO conversations (name, key, sealed_key, state, data, ui, updated_at)"
                " VALUES (?, ?, ?, ?, ?, '{}', ?) ON CONFLICT (name, key) DO NOTHING",
                (name, key, self.ctx.seal_conv(name, key, "sealed_key", str(user_id)),
                 BOOKING_LINK if old.topic else BOOKING_TOPIC,
                 self.ctx.seal_conv(name, key, "data", old.model_dump(mode="json")), self.ctx.now()),
            )
            await conn.execute("DELETE FROM conversations WHERE name = ? AND key = ?", (Conversation.RECEPTION, key))
        return True

    async def book(
        self,
        actor: Actor,
        session_id: int,
        topic: str,
        *,
        case_id: int | None = None,
        name: str = "",
        key: str | None = None,
    ) -> BookingResult:
        """Take a slot, or a place on the waitlist when the session is full.

        Capacity is counted and the row written in one write transaction
        (BEGIN IMMEDIATE: one writer at a time, across processes too), so no
        number of simultaneous bookings can overbook; a trigger in the schema
        refuses an overbooked row in any case. One active booking per
        employee per session; ``key`` makes a repeated request return the
        booking made the first time.
        """
        topic, name = check_topic(topic), clean(name)
        user_id = actor.id or 0
        now = self.clock.now()
        async with self.db.transaction() as conn:
            # The session's row is locked before its bookings are counted: on
            # PostgreSQL simultaneous bookings of one session wait here (SQLite's
            # BEGIN IMMEDIATE has already made this transaction the only writer).
            await conn.execute("UPDATE reception_sessions SET slots = slots WHERE id = ?", (session_id,))
            if key is not None:
                async with conn.execute(
                    "SELECT id FROM reception_bookings WHERE booking_key = ? AND user_id = ?",
                    (key, self.ctx.booking_key(user_id)),
                ) as cur:
                    seen = await cur.fetchone()
                if seen is not None:
                    booking = await self._booking(conn, seen["id"])
                    assert booking is not None
                    session = await self._session(conn, booking.session_id)
                    assert session is not None
                    return BookingResult(booking=booking, session=session, created=False)
            session = self._bookable(await self._session(conn, session_id), now)
            if case_id is not None:
                case = await self.ctx.case_where(conn, "id = ?", (case_id,))
                if case is None or not (self.ctx.owns(user_id, case) or await self.ctx.claimed(conn, user_id, case.id)):
                    raise NotFound("reception_case_not_found")
            if await self._active_booking_id(conn, session_id, user_id) is not None:
                raise Refused("reception_already_booked")
            status = BookingStatus.BOOKED if session.booked < session.slots else BookingStatus.WAITING
            day_flag, hours_flag = self._reminder_flags(session.starts_at, now)
            async with conn.execute(
                "INSERT INTO reception_bookings (session_id, user_id, user_name, topic, case_id, status,"
                " booking_key, created_at, reminded_day, reminded_hours)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (session_id, await self.ctx.remember_person(conn, user_id, key=self.ctx.booking_key(user_id)),
                 None, topic, case_id, status.value, key, iso(now),
                 day_flag, hours_flag),
            ) as cur:
                booking_id = int((await only_row(cur))[0])
            if name:  # sealed for its row, once the row's id is known
                await conn.execute("UPDATE reception_bookings SET user_name = ? WHERE id = ?", (
                    self.ctx.vault.seal(name, ("reception_bookings", "user_name", booking_id)), booking_id))
            if isinstance(await self._draft(conn, user_id), BookingStep):
                await self._clear_draft(conn, user_id)
            booking = await self._booking(conn, booking_id)
            session = await self._session(conn, session_id)
            assert booking is not None and session is not None
        return BookingResult(booking=booking, session=session, created=True)

    async def cancel_booking(self, actor: Actor, booking_id: int) -> CancelResult:
        """The employee cancels their booking; the first on the waitlist moves up and is told."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            booking = await self._booking(conn, booking_id)
            if booking is None or actor.id is None or booking.user_id != self.ctx.booking_key(actor.id):
                raise NotFound("reception_booking_not_found")
            session = await self._session(conn, booking.session_id)
            assert session is not None
            if booking.status is BookingStatus.CANCELLED:
                raise Refused("reception_booking_cancelled")
            if not session.is_open:
                raise Refused("reception_cancelled")
            if not booking.cancellable:
                if booking.status is BookingStatus.BOOKED and now < session.starts_at:
                    raise Refused("reception_cancel_too_late",
                                  hours=self.org.reception_rules.cancel_hours_before)
                raise Refused("reception_started")
            await conn.execute(
                "UPDATE reception_bookings SET status = 'cancelled', cancelled_at = ?,"
                " cancelled_by = 'employee' WHERE id = ?",
                (iso(now), booking_id),
            )
            promoted = await self._fill_from_waitlist(conn, session.id)
            booking = await self._booking(conn, booking_id)
            session = await self._session(conn, session.id)
            assert booking is not None and session is not None
        if promoted:
            self.outbox.kick()
        return CancelResult(booking=booking, session=session, promoted=promoted[0] if promoted else None)

    async def _fill_from_waitlist(self, conn: Connection, session_id: int) -> list[int]:
        """Move people up from the waitlist into free slots, in the order they joined; tell each."""
        session = await self._session(conn, session_id)
        assert session is not None
        now = self.clock.now()
        if not session.is_open or session.starts_at <= now:
            return []
        promoted: list[int] = []
        day_flag, hours_flag = self._reminder_flags(session.starts_at, now)
        async with conn.execute(
            "SELECT id, user_id FROM reception_bookings WHERE session_id = ? AND status = 'waiting'"
            " ORDER BY id LIMIT ?",
            (session_id, session.free),
        ) as cur:
            waiting = await cur.fetchall()
        for row in waiting:
            await conn.execute(
                "UPDATE reception_bookings SET status = 'booked', promoted_at = ?, reminded_day = ?,"
                " reminded_hours = ? WHERE id = ?",
                (iso(now), day_flag, hours_flag, row["id"]),
            )
            await self.outbox.queue(conn, row["user_id"], NoticeKind.RECEPTION_PROMOTED, None,
                                    params=BookingParams(booking_id=row["id"]))
            promoted.append(int(row["id"]))
        return promoted

    # ------------------------------------------------------- the leader's side

    async def sessions_for(self, actor: Actor) -> list[Session]:
        """The caller's sessions (all of them for an administrator): upcoming and recently held."""
        if not self._is_leader_role(actor):
            raise Refused("reception_leaders_only")
        since = iso(self.clock.now() - timedelta(days=LEADER_LIST_DAYS))
        async with self.db.read() as conn:
            if actor.role is ActorRole.ADMIN:
                return await self._sessions(conn, "s.status = 'open' AND s.ends_at > ?", (since,))
            return await self._sessions(
                conn, "s.status = 'open' AND s.ends_at > ? AND s.leader_id = ?", (since, actor.id)
            )

    async def _held_session(self, conn: Connection, actor: Actor, session_id: int) -> Session:
        session = await self._session(conn, session_id)
        if session is None or not self._holds(actor, session):
            raise NotFound("reception_not_found")
        return session

    async def session_detail(self, actor: Actor, session_id: int) -> SessionDetail:
        """A session with its bookings and topics, for its leader or an administrator."""
        async with self.db.read() as conn:
            session = await self._held_session(conn, actor, session_id)
            bookings = await self._leader_bookings(conn, actor, session_id)
        now = self.clock.now()
        return SessionDetail(
            session=session,
            bookings=bookings,
            started=session.starts_at <= now,
            cancellable=session.is_open and now < session.ends_at,
        )

    async def _leader_bookings(
        self, conn: Connection, actor: Actor, session_id: int, only: int | None = None
    ) -> list[LeaderBooking]:
        async with conn.execute(
            "SELECT * FROM reception_bookings WHERE session_id = ? AND status IN ('booked', 'waiting')"
            " ORDER BY status = 'waiting', id",
            (session_id,),
        ) as cur:
            rows = await cur.fetchall()
        out: list[LeaderBooking] = []
        position = 0
        for number, row in enumerate(rows, start=1):
            waiting = row["status"] == BookingStatus.WAITING.value
            position += 1 if waiting else 0
            if only is not None and row["id"] != only:
                continue
            case = await self.ctx.case_where(conn, "id = ?", (row["case_id"],)) if row["case_id"] else None
            confidential = case is not None and case.confidential
            visible = case is not None and self.ctx.may_see(actor, case)
            out.append(LeaderBooking(
                id=row["id"],
                number=number,
                status=BookingStatus(row["status"]),
                position=position if waiting else None,
                name=None if confidential or not row["user_name"]
                else self.ctx.vault.open(row["user_name"], ("reception_bookings", "user_name", row["id"])),
                pseudonym=case.pseudonym if confidential and case is not None else None,
                topic=row["topic"],
                case_number=case.number if visible and case is not None else None,
                linked_hidden=case is not None and not visible,
                outcome=row["outcome"],
            ))
        return out

    async def _outcome_target(self, conn: Connection, actor: Actor, booking_id: int) -> tuple[Any, Session]:
        async with conn.execute("SELECT * FROM reception_bookings WHERE id = ?", (booking_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound("reception_booking_not_found")
        session = await self._session(conn, row["session_id"])
        if session is None or not self._holds(actor, session):
            raise NotFound("reception_booking_not_found")
        if row["status"] != BookingStatus.BOOKED.value:
            raise Refused("reception_not_booked")
        if session.starts_at > self.clock.now():
            raise Refused("reception_not_held_yet")
        if row["outcome"] is not None:
            raise Refused("reception_outcome_recorded")
        return row, session

    async def begin_outcome(self, actor: Actor, booking_id: int) -> LeaderBooking:
        """Check the caller may record this booking's outcome now: the booking (its form keeps the draft)."""
        async with self.db.read() as conn:
            row, session = await self._outcome_target(conn, actor, booking_id)
            return (await self._leader_bookings(conn, actor, session.id, only=booking_id))[0]

    async def record_outcome(self, actor: Actor, booking_id: int, outcome: str) -> LeaderBooking:
        """Record what came of the meeting; on a linked case it becomes a journal event, in the same transaction."""
        outcome = outcome.strip()
        if not outcome:
            raise BadInput("text_required")
        if len(outcome) > OUTCOME_MAX:
            raise BadInput("reception_too_long", max=OUTCOME_MAX, length=len(outcome))
        now = self.clock.now()
        async with self.db.transaction() as conn:
            row, session = await self._outcome_target(conn, actor, booking_id)
            case = await self.ctx.case_where(conn, "id = ?", (row["case_id"],)) if row["case_id"] else None
            event_id: int | None = None
            if case is not None:
                status = next_status(case.status, Action.RECEPTION_NOTE, actor.role)
                event_id = await self.ctx.event(
                    conn, case.id, actor, Action.RECEPTION_NOTE, status, outcome,
                    ReceptionNoteData(
                        session_id=session.id, booking_id=booking_id, leader=session.leader_name, day=session.day,
                    ),
                )
                await conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (iso(now), case.id))
            await conn.execute(
                "UPDATE reception_bookings SET outcome = ?, outcome_at = ?, outcome_by = ?,"
                " outcome_event_id = ? WHERE id = ?",
                (outcome, iso(now), actor.id, event_id, booking_id),
            )
            if isinstance(await self._draft(conn, actor.id or 0), OutcomeStep):
                await self._clear_draft(conn, actor.id or 0)
            # To the booking's key, which is not the case's petitioner key: a notice about no case (the
            # renderer names the linked case from the booking, which only its own employee could make).
            await self.outbox.queue(conn, row["user_id"], NoticeKind.RECEPTION_OUTCOME, None,
                                    event_id, params=BookingParams(booking_id=booking_id))
            result = (await self._leader_bookings(conn, actor, session.id, only=booking_id))[0]
        self.outbox.kick()
        return result

    async def begin_session_cancel(self, actor: Actor, session_id: int) -> Session:
        """Check the caller may cancel this session now: the session (its form keeps the draft)."""
        async with self.db.read() as conn:
            return await self._cancellable_session(conn, actor, session_id)

    async def _cancellable_session(self, conn: Connection, actor: Actor, session_id: int) -> Session:
        session = await self._held_session(conn, actor, session_id)
        if not session.is_open:
            raise Refused("reception_cancelled")
        if session.ends_at <= self.clock.now():
            raise Refused("reception_over")
        return session

    async def cancel_session(self, actor: Actor, session_id: int, reason: str) -> tuple[Session, int]:
        """Cancel a session with a reason; everyone booked or waiting is told. Returns (session, how many told)."""
        reason = reason.strip()
        if not reason:
            raise BadInput("reason_required")
        if len(reason) > REASON_MAX:
            raise BadInput("reception_too_long", max=REASON_MAX, length=len(reason))
        now = iso(self.clock.now())
        async with self.db.transaction() as conn:
            await self._cancellable_session(conn, actor, session_id)
            await conn.execute(
                "UPDATE reception_sessions SET status = 'cancelled', cancel_reason = ?, cancelled_at = ?,"
                " updated_at = ? WHERE id = ?",
                (reason, now, now, session_id),
            )
            async with conn.execute(
                "SELECT id, user_id FROM reception_bookings WHERE session_id = ?"
                " AND status IN ('booked', 'waiting') ORDER BY id",
                (session_id,),
            ) as cur:
                affected = list(await cur.fetchall())
            await conn.execute(
                "UPDATE reception_bookings SET status = 'cancelled', cancelled_at = ?, cancelled_by = 'session'"
                " WHERE session_id = ? AND status IN ('booked', 'waiting')",
                (now, session_id),
            )
            for row in affected:
                await self.outbox.queue(conn, row["user_id"], NoticeKind.RECEPTION_SESSION_CANCELLED, None,
                                  params=BookingParams(booking_id=row["id"]))
            if isinstance(await self._draft(conn, actor.id or 0), CancelSessionStep):
                await self._clear_draft(conn, actor.id or 0)
            updated = await self._session(conn, session_id)
            assert updated is not None
        self.outbox.kick()
        return updated, len(affected)

    # ---------------------------------------------------------- reminders

    async def queue_due_reminders(self) -> int:
        """Queue the reminders that are due now: the day before, and two hours before.

        The reminder's state is written in the transaction that queues it, so
        running this again (or after a restart) never sends one twice, and a
        reminder missed while the bot was down is sent when it runs next, as
        long as the session has not started. When both are due at once, only
        the nearer (two hours) one is sent.
        """
        now = self.clock.now()
        soon_day, soon_hours = iso(now + REMIND_DAY_BEFORE), iso(now + REMIND_HOURS_BEFORE)
        queued = 0
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT b.id, b.user_id, b.reminded_day, b.reminded_hours, s.starts_at"
                " FROM reception_bookings b JOIN reception_sessions s ON s.id = b.session_id"
                " WHERE b.status = 'booked' AND s.status = 'open' AND s.starts_at > ?"
                " AND ((b.reminded_day IS NULL AND s.starts_at <= ?)"
                " OR (b.reminded_hours IS NULL AND s.starts_at <= ?)) ORDER BY s.starts_at, b.id",
                (iso(now), soon_day, soon_hours),
            ) as cur:
                due = await cur.fetchall()
            for row in due:
                if row["reminded_hours"] is None and row["starts_at"] <= soon_hours:
                    # The nearer one sent: the day-before one, if still owed, is passed over now.
                    which, day_flag, hours_flag = "hours", row["reminded_day"] or iso(now), iso(now)
                else:
                    which, day_flag, hours_flag = "day", iso(now), row["reminded_hours"]
                # Still unsent as of this write (PostgreSQL re-checks after a concurrent
                # writer's commit): two sweeps at once can never queue it twice.
                async with conn.execute(
                    "UPDATE reception_bookings SET reminded_day = ?, reminded_hours = ? WHERE id = ?"
                    f" AND reminded_{which} IS NULL",
                    (day_flag, hours_flag, row["id"]),
                ) as cur:
                    if cur.rowcount != 1:
                        continue
                await self.outbox.queue(conn, row["user_id"], NoticeKind.RECEPTION_REMINDER, None,
                                  params=ReminderParams(booking_id=row["id"], which=which))
                queued += 1
        if queued:
            self.outbox.kick()
        return queued


_SESSION_SELECT = (
    "SELECT s.id, s.config_key, s.leader_id, s.leader_name, s.day, s.start_time, s.end_time,"
    " s.starts_at, s.ends_at, s.place, s.unit, s.slots, s.status, s.cancel_reason,"
    " (SELECT count(*) FROM reception_bookings b WHERE b.session_id = s.id AND b.status = 'booked')"
    " AS booked,"
    " (SELECT count(*) FROM reception_bookings b WHERE b.session_id = s.id AND b.status = 'waiting')"
    " AS waiting"
    " FROM reception_sessions s"
)

_BOOKING_SELECT = (
    "SELECT b.id, b.session_id, b.user_id, b.user_name, b.topic, b.case_id, c.number AS case_number,"
    " b.status, b.outcome, b.outcome_at, s.starts_at, s.status AS session_status"
    " FROM reception_bookings b JOIN reception_sessions s ON s.id = b.session_id"
    " LEFT JOIN cases c ON c.id = b.case_id"
)

__all__ = [
    "BOOKING_LINK",
    "BOOKING_TOPIC",
    "Booking",
    "BookingResult",
    "BookingStatus",
    "BookingStep",
    "CancelResult",
    "CancelSessionStep",
    "LeaderBooking",
    "OutcomeStep",
    "PublishStep",
    "ReceptionDraft",
    "ReceptionService",
    "Session",
    "SessionDetail",
    "SessionDraft",
    "SessionStatus",
    "TopicStep",
    "check_topic",
    "hhmm",
    "parse_hhmm",
]
