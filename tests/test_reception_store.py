"""Reception days in the store: capacity under concurrency, waitlist, cut-off, reminders, outcomes, rights."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from store.clock import FakeClock
from store.db import migrations
from store.errors import BadInput, NotFound, Refused
from store.models import Actor, ActorRole
from store.org import Organization, parse_org
from store.reception import BookingStatus, Session
from store.services import Services
from tests.backends import execute, fresh_database, trigger_error
from tests.conftest import ORG_FILE, draft, petitioner, rows
from tests.test_pg_schema import before_0029
from tests.test_postgresql_native import set_version

TZ = ZoneInfo("Asia/Shanghai")
EXTRA_STAFF = """
[[staff]]
telegram_id = 2002
name = "钱书记"
role = "leader"
units = ["hq"]
recuse_units = ["plant-1"]
"""


def employee(user_id: int) -> Actor:
    return Actor(id=user_id, role=ActorRole.PETITIONER, name=f"职工{user_id}")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def outbox(store: Services, kind: str) -> list[tuple[int, dict]]:
    """Queued notices by the Telegram id they go to (an employee's row carries the keyed hash of it)."""
    found = rows(store, "SELECT chat_id, params FROM outbox WHERE kind = ? ORDER BY id", kind)
    people = {hid: int(store.context.vault.open(sealed, ("people", "sealed", hid)))
              for hid, sealed in rows(store, "SELECT hid, sealed FROM people")}
    return [(people.get(chat, chat), json.loads(params)) for chat, params in found]


async def publish(
    store: Services, *, leader: int = 2001, day: date = date(2026, 11, 5), start: str = "09:00",
    end: str = "11:00", slots: int = 10, place: str | None = "接待室", unit: str | None = None,
    by: int | None = None,
) -> Session:
    actor = store.cases.actor(by or leader)
    change = store.reception.change_publish_draft
    draft_ = await store.reception.begin_publish(actor)
    if draft_.leader_id is None:
        draft_ = change(actor, draft_, leader_id=leader)
    draft_ = change(actor, draft_, day=day, start=start)
    draft_ = change(actor, draft_, end=end, where="unit" if unit else "place")
    if unit:
        draft_ = change(actor, draft_, unit=unit)
    draft_ = change(actor, draft_, place=place, slots=slots)
    session, created = await store.reception.publish_session(actor, draft_)
    assert created
    return session


@pytest.fixture
def big_org() -> Organization:
    return parse_org(ORG_FILE.read_text(encoding="utf-8") + EXTRA_STAFF)


@pytest.fixture
async def rstore(
    backend: str, tmp_path: Path, big_org: Organization, clock: FakeClock
) -> AsyncIterator[Services]:
    async with fresh_database(backend, tmp_path, "cases.db", migrated=True) as target:
        s = await Services.open(target, big_org, clock)
        yield s
        await s.close()


# ------------------------------------------------------------------ capacity


async def test_fifty_simultaneous_bookings_fill_exactly_ten_slots(store: Services) -> None:
    session = await publish(store, slots=10)
    results = await asyncio.gather(*(store.reception.book(employee(6000 + i), session.id, f"话题 {i}") for i in range(50)))
    statuses = [r.booking.status for r in results]
    assert statuses.count(BookingStatus.BOOKED) == 10
    assert statuses.count(BookingStatus.WAITING) == 40
    assert sorted(r.booking.position for r in results if r.booking.position) == list(range(1, 41))
    assert rows(
        store, "SELECT status, count(*) FROM reception_bookings GROUP BY status ORDER BY status"
    ) == [("booked", 10), ("waiting", 40)]
    assert (await store.reception.reception_session(session.id)).free == 0


async def test_simultaneous_bookings_through_separate_connections_never_overbook(
    store: Services, org: Organization, clock: FakeClock
) -> None:
    session = await publish(store, slots=10)
    others = [await Services.open(store.db.path, org, clock) for _ in range(4)]
    stores = [store, *others]
    try:
        results = await asyncio.gather(*(
            stores[i % len(stores)].reception.book(employee(7000 + i), session.id, "话题") for i in range(50)
        ))
    finally:
        for other in others:
            await other.close()
    assert [r.booking.status for r in results].count(BookingStatus.BOOKED) == 10
    assert rows(store, "SELECT count(*) FROM reception_bookings WHERE status = 'booked'") == [(10,)]
    assert rows(store, "SELECT count(*) FROM reception_bookings") == [(50,)]


async def test_the_schema_refuses_an_overbooked_row_whatever_the_code(store: Services, backend: str) -> None:
    session = await publish(store, slots=1)
    await store.reception.book(employee(6001), session.id, "话题")
    waiting = await store.reception.book(employee(6002), session.id, "话题")
    before = rows(store, "SELECT id, user_id, status FROM reception_bookings ORDER BY id")
    with pytest.raises(trigger_error(backend), match="full"):
        execute(
            store,
            "INSERT INTO reception_bookings (session_id, user_id, topic, status, created_at)"
            " VALUES (?, 6003, 'x', 'booked', 'now')", session.id)
    with pytest.raises(trigger_error(backend), match="full"):
        execute(store, "UPDATE reception_bookings SET status = 'booked' WHERE id = ?", waiting.booking.id)
    assert rows(store, "SELECT id, user_id, status FROM reception_bookings ORDER BY id") == before


async def test_one_active_booking_per_employee_per_session(store: Services) -> None:
    session = await publish(store, slots=2)
    first = await store.reception.book(employee(6001), session.id, "话题")
    with pytest.raises(Refused) as refused:
        await store.reception.book(employee(6001), session.id, "再次预约")
    assert refused.value.code == "reception_already_booked"
    with pytest.raises(Refused):
        await store.reception.begin_booking(employee(6001), session.id)
    await store.reception.cancel_booking(employee(6001), first.booking.id)
    again = await store.reception.book(employee(6001), session.id, "重新预约")
    assert again.booking.status is BookingStatus.BOOKED
    # The same request repeated (same key) returns the booking made the first time.
    keyed = await store.reception.book(employee(6002), session.id, "话题", key="k-1")
    repeated = await store.reception.book(employee(6002), session.id, "话题", key="k-1")
    assert repeated.booking.id == keyed.booking.id and not repeated.created


async def test_cancelling_promotes_the_first_on_the_waitlist_and_tells_them(store: Services) -> None:
    session = await publish(store, slots=2)
    a, b, c, d = [await store.reception.book(employee(6001 + i), session.id, "话题") for i in range(4)]
    assert (c.booking.status, c.booking.position, d.booking.position) == (BookingStatus.WAITING, 1, 2)
    # Leaving the waitlist frees no slot and promotes nobody.
    await store.reception.cancel_booking(employee(6004), d.booking.id)
    assert outbox(store, "reception_promoted") == []
    result = await store.reception.cancel_booking(employee(6001), a.booking.id)
    assert result.promoted == c.booking.id
    assert result.session.booked == 2 and result.session.waiting == 0
    assert outbox(store, "reception_promoted") == [(6003, {"booking_id": c.booking.id})]
    booking, _ = await store.reception.booking_of(employee(6003), c.booking.id)
    assert booking.status is BookingStatus.BOOKED
    with pytest.raises(NotFound):
        await store.reception.cancel_booking(employee(6001), b.booking.id)  # not theirs
    with pytest.raises(Refused) as refused:
        await store.reception.cancel_booking(employee(6001), a.booking.id)
    assert refused.value.code == "reception_booking_cancelled"


async def test_cancel_cut_off_is_configurable(backend: str, tmp_path: Path, clock: FakeClock) -> None:
    async with fresh_database(backend, tmp_path, "c.db", migrated=True) as target:
        org = parse_org(ORG_FILE.read_text(encoding="utf-8") + "\n[reception_rules]\ncancel_hours_before = 24\n")
        store = await Services.open(target, org, clock)
        try:
            session = await publish(store, slots=1)
            booked = await store.reception.book(employee(6001), session.id, "话题")
            waiting = await store.reception.book(employee(6002), session.id, "话题")
            clock.set(at(4, 10))  # 23 hours before
            mine, _ = await store.reception.booking_of(employee(6001), booked.booking.id)
            assert not mine.cancellable
            with pytest.raises(Refused) as refused:
                await store.reception.cancel_booking(employee(6001), booked.booking.id)
            assert refused.value.code == "reception_cancel_too_late" and refused.value.params == {"hours": 24}
            # A place on the waitlist can be given up until the start.
            await store.reception.cancel_booking(employee(6002), waiting.booking.id)
            clock.set(at(5, 9, 1))
            with pytest.raises(Refused) as refused:
                await store.reception.cancel_booking(employee(6001), booked.booking.id)
            assert refused.value.code == "reception_started"
        finally:
            await store.close()


async def test_booking_needs_an_open_future_session_and_own_cases_only(store: Services, clock: FakeClock) -> None:
    session = await publish(store)
    own = (await store.cases.submit(petitioner(6001), draft(), "own")).case
    other = (await store.cases.submit(petitioner(6002), draft(), "other")).case
    with pytest.raises(NotFound):
        await store.reception.book(employee(6001), session.id, "话题", case_id=other.id)
    linked = await store.reception.book(employee(6001), session.id, "话题", case_id=own.id)
    assert linked.booking.case_number == own.number
    with pytest.raises(NotFound):
        await store.reception.book(employee(6003), 999, "话题")
    with pytest.raises(Refused) as refused:
        await store.reception.book(employee(6003), session.id, "  ")
    assert refused.value.code == "text_required"
    with pytest.raises(Refused) as refused:
        await store.reception.book(employee(6003), session.id, "长" * 201)
    assert refused.value.params == {"max": 200, "length": 201}
    clock.set(at(5, 9))
    with pytest.raises(Refused) as refused:
        await store.reception.book(employee(6003), session.id, "话题")
    assert refused.value.code == "reception_started"
    assert await store.reception.upcoming_sessions() == []


async def test_topic_step_books_at_once_without_cases_and_offers_own_cases_otherwise(store: Services) -> None:
    session = await publish(store)
    begun = await store.reception.begin_booking(employee(6001), session.id)
    step = await store.reception.submit_topic(employee(6001), begun.model_copy(update={"topic": "食堂"}), name="张三")
    assert step.result is not None and step.result.booking.user_name == "张三" and step.cases == []
    case = (await store.cases.submit(petitioner(6002), draft(), "k")).case
    begun = await store.reception.begin_booking(employee(6002), session.id)
    with pytest.raises(BadInput):  # the store's rule on the topic, whatever the form checked
        await store.reception.submit_topic(employee(6002), begun.model_copy(update={"topic": "   "}))
    begun.topic = "加班费"
    step = await store.reception.submit_topic(employee(6002), begun)
    assert step.result is None and [c.number for c in step.cases] == [case.number]
    assert await store.reception.my_reception_bookings(6002) == []  # nothing booked before the case is chosen
    begun.case_id = case.id
    result = await store.reception.finish_booking(employee(6002), begun)
    assert result.booking.case_id == case.id and result.booking.topic == "加班费"
    again = await store.reception.finish_booking(employee(6002), begun)  # a second tap on the same buttons
    assert again.booking.id == result.booking.id and not again.created
    with pytest.raises(Refused) as refused:
        await store.reception.finish_booking(employee(6002), begun.model_copy(update={"topic": None}))
    assert refused.value.code == "reception_no_draft"


# ------------------------------------------------------------------ reminders


async def test_reminders_once_each_across_restarts_and_never_after_the_start(
    store: Services, org: Organization, clock: FakeClock
) -> None:
    session = await publish(store)
    await store.reception.book(employee(6001), session.id, "话题")
    clock.set(at(4, 8, 59))
    assert await store.reception.queue_due_reminders() == 0
    clock.set(at(4, 9, 30))
    assert await store.reception.queue_due_reminders() == 1
    assert await store.reception.queue_due_reminders() == 0
    restarted = await Services.open(store.db.path, org, clock)
    try:
        assert await restarted.reception.queue_due_reminders() == 0
        clock.set(at(5, 7, 15))
        assert await restarted.reception.queue_due_reminders() == 1
        assert await store.reception.queue_due_reminders() == 0
    finally:
        await restarted.close()
    clock.set(at(5, 9, 30))
    assert await store.reception.queue_due_reminders() == 0
    assert [p["which"] for _, p in outbox(store, "reception_reminder")] == ["day", "hours"]


async def test_a_reminder_missed_while_down_is_sent_once_the_nearer_one_only(store: Services, clock: FakeClock) -> None:
    session = await publish(store)
    late = await publish(store, day=date(2026, 11, 2), start="20:00", end="21:00")
    await store.reception.book(employee(6001), session.id, "话题")
    await store.reception.book(employee(6002), late.id, "话题")  # booked 11 hours ahead: no day-before reminder
    clock.set(at(2, 18, 30))
    assert await store.reception.queue_due_reminders() == 1
    clock.set(at(5, 8))  # the bot was down through the day-before window
    assert await store.reception.queue_due_reminders() == 1
    assert [(c, p["which"]) for c, p in outbox(store, "reception_reminder")] == [(6002, "hours"), (6001, "hours")]


async def test_no_reminders_for_the_waitlist_or_cancelled_sessions(store: Services, clock: FakeClock) -> None:
    session = await publish(store, slots=1)
    other = await publish(store, day=date(2026, 11, 5), start="14:00", end="15:00")
    await store.reception.book(employee(6001), session.id, "话题")
    await store.reception.book(employee(6002), session.id, "话题")
    await store.reception.book(employee(6003), other.id, "话题")
    await store.reception.cancel_session(store.cases.actor(2001), other.id, "出差")
    clock.set(at(4, 10))
    assert await store.reception.queue_due_reminders() == 1
    assert [c for c, _ in outbox(store, "reception_reminder")] == [6001]


async def test_reminders_an_older_version_marked_skipped_stay_settled_after_the_upgrade(
    backend: str, tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    """Migration 0027: a reminder passed over was marked 'skipped' by older versions; it becomes the moment the
    slot was taken (a moment on both backends, timestamptz on PostgreSQL), is never sent late, and the reminder
    still owed goes once."""
    async with fresh_database(backend, tmp_path, "old.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        try:
            late = await publish(store, day=date(2026, 11, 2), start="20:00", end="21:00")
            await store.reception.book(employee(6002), late.id, "话题")  # 11 hours ahead: no day-before reminder
        finally:
            await store.close()
        [(settled, hours, taken)] = rows(target, "SELECT reminded_day, reminded_hours, created_at FROM reception_bookings")
        assert (settled, hours) == (taken, None)  # passed over when the slot was taken, and dated so
        # As an older version kept it: the marker in a text column, at the version before 0027.
        number = next(n for n, name, _ in migrations() if name.endswith("_reminders_as_moments.sql"))
        if backend == "postgresql":
            execute(target, "ALTER TABLE reception_bookings ALTER COLUMN reminded_day TYPE TEXT USING"
                            " to_char(reminded_day AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'),"
                            " ALTER COLUMN reminded_hours TYPE TEXT")
        execute(target, "UPDATE reception_bookings SET reminded_day = 'skipped'")
        for statement in before_0029(backend):  # a later migration's, run again after it
            execute(target, statement)
        set_version(target, number - 1)
        store = await Services.open(target, org, clock)  # the upgrade
        try:
            assert await store.db.schema_version() == migrations()[-1][0]
            assert rows(target, "SELECT reminded_day, reminded_hours FROM reception_bookings") == [(taken, None)]
            if backend == "postgresql":
                assert {kind for _, kind in rows(
                    target, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema ="
                            " current_schema() AND column_name IN ('reminded_day', 'reminded_hours')")} == {
                    "timestamp with time zone"}
            clock.set(at(2, 18, 30))
            assert await store.reception.queue_due_reminders() == 1
            assert await store.reception.queue_due_reminders() == 0
            assert [(c, p["which"]) for c, p in outbox(store, "reception_reminder")] == [(6002, "hours")]
        finally:
            await store.close()


async def test_a_sessions_clock_times_read_the_same_after_the_upgrade(
    backend: str, tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    """Migration 0028: a session's start and end ('HH:MM' texts) become PostgreSQL's time, and read as before."""
    async with fresh_database(backend, tmp_path, "old.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        try:
            published = await publish(store, start="09:00", end="11:30")
        finally:
            await store.close()
        number = next(n for n, name, _ in migrations() if name.endswith("_session_clock_times.sql"))
        if backend == "postgresql":  # as an older version kept them: texts
            execute(target, "ALTER TABLE reception_sessions ALTER COLUMN start_time TYPE TEXT USING"
                            " to_char(start_time, 'HH24:MI'), ALTER COLUMN end_time TYPE TEXT USING"
                            " to_char(end_time, 'HH24:MI')")
        assert rows(target, "SELECT start_time, end_time FROM reception_sessions") == [("09:00", "11:30")]
        for statement in before_0029(backend):  # a later migration's, run again after it
            execute(target, statement)
        set_version(target, number - 1)
        store = await Services.open(target, org, clock)  # the upgrade
        try:
            assert await store.db.schema_version() == migrations()[-1][0]
            [session] = await store.reception.upcoming_sessions()
            assert (session.id, session.start, session.end) == (published.id, "09:00", "11:30")
            assert rows(target, "SELECT start_time, end_time FROM reception_sessions WHERE start_time < ?",
                        "10:00") == [("09:00", "11:30")]
            if backend == "postgresql":
                assert {kind for _, kind in rows(
                    target, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema ="
                            " current_schema() AND column_name IN ('start_time', 'end_time')")} == {
                    "time without time zone"}
        finally:
            await store.close()


# ------------------------------------------------------------ leaders' side


async def test_outcome_is_an_event_on_the_linked_case_in_the_journal(rstore: Services, clock: FakeClock) -> None:
    store = rstore
    case = (await store.cases.submit(petitioner(6001), draft(), "k")).case
    session = await publish(store, slots=1)
    booked = await store.reception.book(employee(6001), session.id, "加班费", case_id=case.id, name="张三")
    waiting = await store.reception.book(employee(6002), session.id, "宿舍")
    leader = store.cases.actor(2001)
    with pytest.raises(Refused) as refused:
        await store.reception.record_outcome(leader, booked.booking.id, "提前记录")
    assert refused.value.code == "reception_not_held_yet"
    clock.set(at(5, 11, 5))
    with pytest.raises(NotFound):
        await store.reception.record_outcome(store.cases.actor(2002), booked.booking.id, "别的领导")
    with pytest.raises(NotFound):
        await store.reception.record_outcome(employee(6001), booked.booking.id, "自己记录")
    with pytest.raises(Refused) as refused:
        await store.reception.record_outcome(leader, waiting.booking.id, "候补")
    assert refused.value.code == "reception_not_booked"
    result = await store.reception.record_outcome(leader, booked.booking.id, "责成人力资源部两周内答复")
    assert result.outcome == "责成人力资源部两周内答复" and result.case_number == case.number
    events = await store.cases.timeline(case.id, public_only=True)
    assert (events[-1].action, events[-1].body, events[-1].actor_id) == (
        "reception_note", "责成人力资源部两周内答复", 2001)
    assert events[-1].status_after == case.status
    assert events[-1].data["session_id"] == session.id
    assert (await store.verify_journal()).ok
    sent = [row for row in outbox(store, "reception_outcome")]
    assert sent == [(6001, {"booking_id": booked.booking.id})]
    with pytest.raises(Refused) as refused:
        await store.reception.record_outcome(leader, booked.booking.id, "再记一次")
    assert refused.value.code == "reception_outcome_recorded"


async def test_outcome_without_a_linked_case_writes_no_event(store: Services, clock: FakeClock) -> None:
    session = await publish(store)
    booked = await store.reception.book(employee(6001), session.id, "话题")
    clock.set(at(5, 10))
    await store.reception.record_outcome(store.cases.actor(9001), booked.booking.id, "已当面解释政策")  # an administrator may
    assert rows(store, "SELECT count(*) FROM events WHERE action = 'reception_note'") == [(0,)]
    assert rows(store, "SELECT outcome, outcome_by FROM reception_bookings") == [("已当面解释政策", 9001)]


async def test_confidential_cases_appear_by_pseudonym_and_hidden_from_the_recused(rstore: Services) -> None:
    store = rstore
    report = (await store.cases.submit(petitioner(6001, "举报人"), draft(category="misconduct"), "r")).case
    assert report.confidential
    plain_case = (await store.cases.submit(petitioner(6002, "李四"), draft(), "p")).case
    mine = await publish(store, leader=2001)
    theirs = await publish(store, leader=2002, day=date(2026, 11, 6))
    for session in (mine, theirs):
        await store.reception.book(employee(6001), session.id, "举报事项", case_id=report.id, name="举报人")
        await store.reception.book(employee(6002), session.id, "工资", case_id=plain_case.id, name="李四")
    seen = (await store.reception.session_detail(store.cases.actor(2001), mine.id)).bookings
    assert [(b.name, b.pseudonym, b.case_number) for b in seen] == [
        (None, report.pseudonym, report.number), ("李四", None, plain_case.number)]
    recused = (await store.reception.session_detail(store.cases.actor(2002), theirs.id)).bookings
    assert (recused[0].name, recused[0].case_number, recused[0].linked_hidden) == (None, None, True)
    assert recused[0].pseudonym == report.pseudonym
    with pytest.raises(NotFound):
        await store.reception.session_detail(store.cases.actor(2002), mine.id)
    with pytest.raises(NotFound):
        await store.reception.session_detail(employee(6001), mine.id)
    assert [s.id for s in await store.reception.sessions_for(store.cases.actor(2001))] == [mine.id]
    assert [s.id for s in await store.reception.sessions_for(store.cases.actor(9001))] == [mine.id, theirs.id]
    with pytest.raises(Refused):
        await store.reception.sessions_for(store.cases.actor(1001))  # officers hold no sessions


async def test_cancelling_a_session_tells_everyone_booked_or_waiting(rstore: Services) -> None:
    store = rstore
    session = await publish(store, slots=1)
    first = await store.reception.book(employee(6001), session.id, "话题")
    second = await store.reception.book(employee(6002), session.id, "话题")
    with pytest.raises(NotFound):
        await store.reception.cancel_session(store.cases.actor(2002), session.id, "不是我的")
    with pytest.raises(NotFound):
        await store.reception.cancel_session(employee(6001), session.id, "职工")
    with pytest.raises(Refused) as refused:
        await store.reception.cancel_session(store.cases.actor(2001), session.id, " ")
    assert refused.value.code == "reason_required"
    cancelled, told = await store.reception.cancel_session(store.cases.actor(2001), session.id, "临时公务")
    assert told == 2 and cancelled.cancel_reason == "临时公务" and not cancelled.is_open
    assert outbox(store, "reception_session_cancelled") == [
        (6001, {"booking_id": first.booking.id}), (6002, {"booking_id": second.booking.id})]
    assert await store.reception.upcoming_sessions() == []
    with pytest.raises(Refused) as refused:
        await store.reception.book(employee(6003), session.id, "话题")
    assert refused.value.code == "reception_cancelled"
    with pytest.raises(Refused):
        await store.reception.cancel_session(store.cases.actor(9001), session.id, "再次取消")


# ------------------------------------------------------------------ publishing


async def test_publishing_rules(rstore: Services, clock: FakeClock) -> None:
    store = rstore
    with pytest.raises(Refused) as refused:
        await store.reception.begin_publish(employee(6001))
    assert refused.value.code == "reception_leaders_only"
    with pytest.raises(Refused):
        await store.reception.begin_publish(store.cases.actor(1001))  # officers neither
    leader = store.cases.actor(2001)
    change = store.reception.change_publish_draft
    draft_ = await store.reception.begin_publish(leader)
    assert draft_.leader_id == 2001
    with pytest.raises(Refused) as refused:
        change(leader, draft_, leader_id=2002)
    assert refused.value.code == "reception_not_a_leader"
    with pytest.raises(Refused) as refused:
        change(leader, draft_, day=date(2026, 11, 1))
    assert refused.value.code == "reception_bad_date"
    draft_ = change(leader, draft_, day=date(2026, 11, 2))
    with pytest.raises(Refused) as refused:
        change(leader, draft_, start="08:30")  # already past (it is 09:00)
    assert refused.value.code == "reception_in_past"
    draft_ = change(leader, draft_, start="15:00")
    with pytest.raises(Refused) as refused:
        change(leader, draft_, end="14:30")
    assert refused.value.code == "reception_bad_end"
    draft_ = change(leader, draft_, end="16:00", where="unit")
    with pytest.raises(Refused) as refused:
        change(leader, draft_, unit="refinery")
    assert refused.value.code == "reception_unit_out_of_scope"
    with pytest.raises(Refused) as refused:
        await store.reception.publish_session(leader, draft_)
    assert refused.value.code == "reception_draft_incomplete"
    draft_ = change(leader, draft_, unit="plant-2", slots=5)
    session, created = await store.reception.publish_session(leader, draft_)
    assert created and (session.unit, session.place, session.slots) == ("plant-2", None, 5)
    assert session.starts_at == datetime(2026, 11, 2, 15, 0, tzinfo=TZ)
    again, created = await store.reception.publish_session(leader, draft_)  # a repeated tap
    assert again.id == session.id and not created
    with pytest.raises(Refused) as refused:
        await publish(store, day=date(2026, 11, 2), start="15:30", end="17:00")
    assert refused.value.code == "reception_overlap"
    assert outbox(store, "reception_published") == []


async def test_an_administrator_publishes_for_a_leader_who_is_told(rstore: Services) -> None:
    store = rstore
    admin = store.cases.actor(9001)
    assert [s.telegram_id for s in store.reception.reception_leaders(admin)] == [2001, 9001, 2002]
    session = await publish(store, leader=2002, by=9001, unit="refinery", place=None)
    assert (session.leader_id, session.leader_name) == (2002, "钱书记")
    assert outbox(store, "reception_published") == [(2002, {"session_id": session.id})]
    assert store.reception.reception_units(2002) == ["hq"] and store.reception.reception_units(9001) == ["hq"]


# ------------------------------------------------------------ organisation file


SESSIONS = """
[[reception]]
id = "nov-5"
leader = 2001
date = 2026-11-05
start = 09:00:00
end = "11:30"
place = "油田公司二楼接待室"
slots = {slots}

[[reception]]
id = "nov-20-visit"
leader = 2002
date = 2026-11-20
start = "14:00"
end = "16:00"
unit = "refinery"
slots = 5
"""


def org_with(slots: int = 2, start: str = '09:00:00') -> Organization:
    text = SESSIONS.format(slots=slots).replace("start = 09:00:00", f"start = {start}")
    return parse_org(ORG_FILE.read_text(encoding="utf-8") + EXTRA_STAFF + text)


async def test_sessions_from_the_organisation_file(backend: str, tmp_path: Path, clock: FakeClock) -> None:
    async with fresh_database(backend, tmp_path, "cases.db", migrated=True) as path:
        store = await Services.open(path, org_with(slots=1), clock)
        try:
            assert await store.reception.sync_reception_config() == 2
            assert await store.reception.sync_reception_config() == 0
            sessions = await store.reception.upcoming_sessions()
            assert [(s.leader_name, s.start, s.end, s.place, s.unit) for s in sessions] == [
                ("赵总", "09:00", "11:30", "油田公司二楼接待室", None), ("钱书记", "14:00", "16:00", None, "refinery")]
            await store.reception.book(employee(6001), sessions[0].id, "话题")
            waiting = await store.reception.book(employee(6002), sessions[0].id, "话题")
        finally:
            await store.close()
        # More slots in the file: the waitlist moves up; a new time: everyone booked is told.
        store = await Services.open(path, org_with(slots=2, start='"10:00"'), clock)
        try:
            assert await store.reception.sync_reception_config() == 1
            session = await store.reception.reception_session(sessions[0].id)
            assert (session.start, session.booked, session.waiting) == ("10:00", 2, 0)
            assert outbox(store, "reception_promoted") == [(6002, {"booking_id": waiting.booking.id})]
            assert sorted(c for c, _ in outbox(store, "reception_changed")) == [6001, 6002]
        finally:
            await store.close()


def test_reception_entries_are_checked_with_their_place() -> None:
    from store.org import OrgError

    bad = """
[[reception]]
id = "a"
leader = 1001
date = 2026-11-05
start = "11:00"
end = "09:00"
place = "x"
slots = 3

[[reception]]
id = "a"
leader = 2001
date = 2026-11-06
start = "09:00"
end = "10:00"
unit = "refinery"
slots = 0

[[reception]]
id = "c"
leader = 4242
date = 2026-11-07
start = "09:00"
end = "10:00"
slots = 1
"""
    with pytest.raises(OrgError) as error:
        parse_org(ORG_FILE.read_text(encoding="utf-8") + bad)
    assert error.value.errors == [
        "reception[0]: end must be after start",
        "reception[0].leader: 1001 is not a leader or admin",
        "reception[1].slots: Input should be greater than 0",
        'reception[1].id: duplicate reception id "a" (first at reception[0])',
        'reception[1].unit: "refinery" is outside the units of leader 2001',
        "reception[2]: needs a place or a unit (下访), or both",
        "reception[2].leader: unknown staff member 4242 (not in [[staff]])",
    ]


def test_the_organisation_file_needs_no_reception_section(org: Organization) -> None:
    assert org.reception == () and org.reception_rules.cancel_hours_before == 2


async def test_forged_session_and_booking_ids_answer_not_found(store: Services) -> None:
    session = await publish(store)
    booked = await store.reception.book(employee(6001), session.id, "话题")
    with pytest.raises(NotFound):
        await store.reception.booking_of(employee(6002), booked.booking.id)
    with pytest.raises(NotFound):
        await store.reception.reception_session(12345)
    with pytest.raises(NotFound):
        await store.reception.begin_outcome(store.cases.actor(2001), 777)
    assert await store.reception.reception_notice(777) is None
    assert timedelta(0) < session.starts_at - store.clock.now()
