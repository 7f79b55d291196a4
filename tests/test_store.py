"""The case store: migrations, numbering, transactions, outbox, journal, rules."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from store.clock import FakeClock
from store.db import Database, migrations
from store.errors import NotFound, Refused
from store.models import Actor, ActorRole, Decision, Status
from store.opinion import DeclineGrounds
from store.org import Organization
from store.reception import PublishStep
from store.services import Services
from store.workflow import Action
from tests.backends import db_error, execute, fresh_database, tables
from tests.conftest import OPINION_PARTS, draft, petitioner, rows

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)
OILFIELD_OFFICER = Actor(id=1002, role=ActorRole.OFFICER)
PETITIONER = Actor(id=5001, role=ActorRole.PETITIONER)



async def test_migrations_create_schema_and_rerun_is_a_no_op(backend: str, tmp_path: Path, org: Organization) -> None:
    latest = len(migrations())
    async with fresh_database(backend, tmp_path, "m.db") as target:
        store = await Services.open(target, org)
        assert await store.db.schema_version() == latest
        assert {"cases", "events", "attachments", "outbox", "conversations", "users"} <= tables(target)
        await store.cases.submit(petitioner(), draft(), "k1")
        await store.close()
        secret = rows(target, "SELECT value FROM meta WHERE key = 'pseudonym_secret'")
        assert len(secret) == 1

        again = await Services.open(target, org)  # re-running migrations keeps everything
        assert await again.db.schema_version() == latest
        cases, total = await again.cases.cases_of_petitioner(5001)
        assert total == 1 and cases[0].subject == "加班费未发放"
        await again.close()
        assert rows(target, "SELECT value FROM meta WHERE key = 'pseudonym_secret'") == secret


async def test_the_sqlite_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = await Database.open(path)
    assert await db.schema_version() == len(migrations())
    await db.close()
    assert {"cases", "events", "attachments", "outbox", "conversations", "users"} <= tables(path)
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]


async def test_case_numbers_are_sequential_per_year(store: Services, clock: FakeClock) -> None:
    first = (await store.cases.submit(petitioner(), draft(), "a")).case
    second = (await store.cases.submit(petitioner(5002), draft(), "b")).case
    assert re.fullmatch(r"^[A-Z]+-\d{4}-\d{6}$", first.number)
    assert first.number == "XF-2026-000001"
    assert second.number == "XF-2026-000002"
    clock.set(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 January in Shanghai
    third = (await store.cases.submit(petitioner(5003), draft(), "c")).case
    assert third.number == "XF-2027-000001"


async def test_submit_is_idempotent_per_key(store: Services, tmp_path: Path) -> None:
    one = await store.cases.submit(petitioner(), draft(), "draft-1")
    two = await store.cases.submit(petitioner(), draft(subject="其他"), "draft-1")
    assert one.created and not two.created
    assert two.case.number == one.case.number
    assert two.case.subject == "加班费未发放"
    path = store
    assert rows(path, "SELECT count(*) FROM cases") == [(1,)]
    assert rows(path, "SELECT count(*) FROM events") == [(1,)]
    assert rows(path, "SELECT chat_id, kind FROM outbox") == [(1001, "case_card")]


async def test_submit_is_all_or_nothing(store: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await store.cases.save_draft(5001, "review", draft())

    async def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store.cases, "notify_new_case", broken)
    with pytest.raises(RuntimeError):
        await store.cases.submit(petitioner(), draft(), "x")
    path = store
    assert rows(path, "SELECT count(*) FROM cases") == [(0,)]
    assert rows(path, "SELECT count(*) FROM events") == [(0,)]
    assert rows(path, "SELECT count(*) FROM case_numbers") == [(0,)]
    assert (await store.cases.get_draft(5001)) is not None  # the draft survives a failed submit


async def test_submit_deletes_the_draft_and_sets_the_acceptance_deadline(store: Services) -> None:
    await store.cases.save_draft(5001, "review", draft())
    case = (await store.cases.submit(petitioner(), draft(), "k")).case
    assert await store.cases.get_draft(5001) is None
    assert case.status is Status.SUBMITTED
    # 2026-11-02 09:00 in Shanghai + 15 days (Art. 22-23)
    assert case.accept_due == date(2026, 11, 17)
    assert case.petitioner_name == "张三"


async def test_reports_are_confidential_by_default(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(category="misconduct", phone="138"), "r")).case
    assert case.confidential and case.petitioner_name is None and case.petitioner_phone is None
    assert re.fullmatch(r"[0-9A-F]{4}", case.pseudonym)
    again = (await store.cases.submit(petitioner(), draft(category="misconduct"), "r2")).case
    third = (await store.cases.submit(petitioner(), draft(category="misconduct"), "r3")).case
    # one code name per case, not per person: a person's reports cannot be tied together
    assert len({case.pseudonym, again.pseudonym, third.pseudonym}) > 1


async def test_accept_writes_status_event_and_notification_together(store: Services, tmp_path: Path) -> None:
    number = (await store.cases.submit(petitioner(), draft(), "k")).case.number
    case = await store.cases.act(OFFICER, number, Action.ACCEPT)
    assert case.status is Status.ACCEPTED
    assert case.assignee_id == 1001
    assert case.answer_due == date(2027, 1, 1)  # 60 days (Art. 34)
    path = store
    assert rows(path, "SELECT action, status_after FROM events ORDER BY id") == [
        ("submit", "submitted"),
        ("accept", "accepted"),
    ]
    assert rows(path, "SELECT chat_id, kind FROM outbox ORDER BY id") == [
        (1001, "case_card"),
        (5001, "petitioner_event"),
        (5001, "document"),  # the 受理告知书, after the notice
        (1001, "document"),  # and the officer's copy to print
    ]


async def test_illegal_transitions_are_refused_and_change_nothing(store: Services, tmp_path: Path) -> None:
    number = (await store.cases.submit(petitioner(), draft(), "k")).case.number
    await store.cases.act(OFFICER, number, Action.ACCEPT)
    path = store
    before = rows(path, "SELECT * FROM events"), rows(path, "SELECT * FROM outbox"), rows(path, "SELECT * FROM cases")
    with pytest.raises(Refused) as refused:
        await store.cases.act(OFFICER, number, Action.ACCEPT)
    assert refused.value.code == "wrong_status" and refused.value.params == {"status": "accepted"}
    with pytest.raises(Refused):
        await store.cases.act(PETITIONER, number, Action.DECIDE, parts=OPINION_PARTS, body="x", decision=Decision.SUPPORT)
    with pytest.raises(Refused):
        await store.cases.act(OFFICER, number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="   ")
    after = rows(path, "SELECT * FROM events"), rows(path, "SELECT * FROM outbox"), rows(path, "SELECT * FROM cases")
    assert before == after


async def test_out_of_scope_answers_like_nonexistent(store: Services) -> None:
    number = (await store.cases.submit(petitioner(), draft(unit="plant-2"), "k")).case.number
    with pytest.raises(NotFound):
        await store.cases.act(OFFICER, number, Action.ACCEPT)  # plant-1 officer, plant-2 case
    with pytest.raises(NotFound):
        await store.cases.case_for(OFFICER, number)
    with pytest.raises(NotFound):
        await store.cases.case_for(OFFICER, "XF-2026-999999")
    with pytest.raises(NotFound):
        await store.cases.case_for(Actor(id=5002, role=ActorRole.PETITIONER), number)
    assert (await store.cases.case_for(OILFIELD_OFFICER, number)).number == number


async def test_decline_reaches_the_petitioner_with_its_reason(store: Services) -> None:
    number = (await store.cases.submit(petitioner(), draft(), "k")).case.number
    case = await store.cases.act(OFFICER, number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不属于本单位职责")
    assert case.status is Status.DECLINED
    pending = await store.outbox.pending_notifications()
    notice = [p for p in pending if p.chat_id == 5001 and p.kind == "petitioner_event"]
    assert len(notice) == 1 and notice[0].event_id is not None
    assert [p.params["kinds"] for p in pending if p.chat_id == 5001 and p.kind == "document"] == [["declined"]]
    event = await store.cases.event(notice[0].event_id)
    assert event is not None and event.body == "不属于本单位职责"


async def test_daily_submission_limit(store: Services, clock: FakeClock) -> None:
    for i in range(5):
        await store.cases.submit(petitioner(), draft(), f"k{i}")
    with pytest.raises(Refused) as refused:
        await store.cases.submit(petitioner(), draft(), "k5")
    assert refused.value.code == "daily_limit"
    clock.advance(days=1)
    assert (await store.cases.submit(petitioner(), draft(), "k6")).created


async def test_outbox_retry_and_delivery_bookkeeping(store: Services, clock: FakeClock) -> None:
    await store.cases.submit(petitioner(), draft(), "k")
    (item,) = await store.outbox.pending_notifications()
    await store.outbox.mark_retry(item.id, 30, "429")
    (again,) = await store.outbox.pending_notifications()
    assert again.attempts == 1 and (again.due_at - clock.now()).total_seconds() == 30
    # Kept to the second (0035), a retry's due time rounds up: never before Telegram's retry_after has passed.
    clock.advance(seconds=0.7)
    await store.outbox.mark_retry(item.id, 0.4, "429")
    (later,) = await store.outbox.pending_notifications()
    assert later.due_at == clock.now().replace(microsecond=0) + timedelta(seconds=2) >= clock.now() + timedelta(
        seconds=0.4)
    await store.outbox.mark_failed(item.id, "forbidden")
    assert await store.outbox.pending_notifications() == []
    assert await store.outbox.requeue_failed(1001) == 1
    (back,) = await store.outbox.pending_notifications()
    await store.outbox.mark_sent(back.id)
    assert await store.outbox.pending_notifications() == []


async def test_journal_chain_detects_tampering(store: Services, backend: str) -> None:
    number = (await store.cases.submit(petitioner(), draft(), "k")).case.number
    await store.cases.act(OFFICER, number, Action.ACCEPT)
    await store.cases.act(OFFICER, number, Action.REPLY, body="请提供工资条")
    ok = await store.verify_journal()
    assert ok.ok and ok.checked == 3
    before = rows(store, "SELECT * FROM events ORDER BY id")
    with pytest.raises(db_error(backend), match="append-only"):
        execute(store, "UPDATE events SET body = 'x' WHERE id = 2")
    assert rows(store, "SELECT * FROM events ORDER BY id") == before
    if backend == "sqlite":
        execute(store, "DROP TRIGGER events_append_only_update")
    else:
        execute(store, "DROP TRIGGER events_append_only_update ON events")
    execute(store, "UPDATE events SET body = '已解决' WHERE id = 2")
    broken = await store.verify_journal()
    assert not broken.ok and broken.broken_event_id == 2


async def test_queue_shows_cases_in_scope_nearest_deadline_first(store: Services, clock: FakeClock) -> None:
    late = (await store.cases.submit(petitioner(5001), draft(unit="plant-1"), "a")).case
    clock.advance(days=-3)
    early = (await store.cases.submit(petitioner(5002), draft(unit="plant-2"), "b")).case
    other = (await store.cases.submit(petitioner(5003), draft(unit="refinery"), "c")).case
    report = (await store.cases.submit(petitioner(5004), draft(unit="plant-2", category="misconduct"), "d")).case
    suggestion = (await store.cases.submit(petitioner(5005), draft(unit="plant-1", category="suggestion"), "e")).case

    def numbers(cases: list) -> list[str]:
        return [c.number for c in cases]

    officer_cases, total = await store.cases.open_cases_for(OFFICER)  # plant-1, wages only
    assert numbers(officer_cases) == [late.number] and total == 1
    oilfield, _ = await store.cases.open_cases_for(OILFIELD_OFFICER)  # oilfield subtree, recused from plant-2 reports
    assert numbers(oilfield) == [early.number, suggestion.number, late.number]
    admin, total = await store.cases.open_cases_for(Actor(id=9001, role=ActorRole.ADMIN))
    assert total == 5 and numbers(admin)[0] == early.number
    assert other.number in numbers(admin) and report.number in numbers(admin)
    nobody, total = await store.cases.open_cases_for(PETITIONER)
    assert nobody == [] and total == 0


async def test_chat_state_of_drafts_in_progress_moves_out_of_the_drafts(
    tmp_path: Path, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0007: a draft begun before it keeps its place in the chat (now the handler's blob)."""
    import store.db

    path = tmp_path / "old.db"
    every = migrations()
    monkeypatch.setattr(store.db, "migrations", lambda: every[:6])
    old = await Database.open(path)
    async with old.transaction() as conn:
        await conn.execute(
            "INSERT INTO conversations (name, key, state, data, last_update_id, updated_at)"
            " VALUES ('intake', '5001', 'unit', ?, 41, '2026-11-02T01:00:00+00:00')",
            ('{"draft_id": "d1", "category": "wages", "editing": true, "unit_browse": "oilfield"}',),
        )
        await conn.execute(
            "INSERT INTO conversations (name, key, state, data, updated_at)"
            " VALUES ('reception', '2001', NULL, ?, '2026-11-02T01:00:00+00:00')",
            ('{"flow": "publish", "draft": {"draft_id": "p1", "leader_id": 2001, "where": "unit",'
             ' "unit_browse": "oilfield", "place_done": true}}',),
        )
    await old.close()
    monkeypatch.setattr(store.db, "migrations", lambda: every)

    services = await Services.open(path, org)
    try:
        saved = await services.cases.get_draft(5001)
        assert saved is not None and saved.step == "unit" and saved.data.category == "wages"
        assert saved.ui == {"editing": True, "unit_browse": "oilfield", "last_update_id": 41}
        assert "editing" not in saved.data.model_dump()
        publishing = await services.reception.reception_draft(2001)  # the publishing form adopts it when read
        assert isinstance(publishing, PublishStep)
        assert publishing.draft.draft_id == "p1" and publishing.draft.where == "unit"
        assert await services.reception.reception_ui(2001) == {"unit_browse": "oilfield", "place_done": True}
    finally:
        await services.close()
