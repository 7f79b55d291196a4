"""Notices about no case are checked at send time too (issue 20): a person no longer in the role gets nothing.

An incident's alert, a screening request and the weekly digest carry no case, and the sender let them
all through: someone who left the response group, moved to another unit, stopped being a leader or
left the staff between queueing and sending still got the checklist, the request or the figures.
Now each is asked again by the rule its service queued it by; such rows are skipped with the reason.

Organisation: tests/org_fixture.toml. hq ▸ oilfield (leader 赵总 2001; officer 李科长 1002) ▸ plant-1
(officer 王主任 1001), plant-2; refinery; admin 9001. Incident level 2 (≥ 50 people): leader@oilfield, 1002.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bot.outbox import OutboxSender
from store.clock import FakeClock
from store.notices import NoticeKind
from store.org import Organization
from store.services import Services
from tests.backends import fresh_database
from tests.conftest import rows
from tests.test_incidents import collective


class RecordingBot:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
        self.sent.append((chat_id, text))
        return SimpleNamespace(message_id=len(self.sent))


def changed(org: Organization, notify: dict[int, list[Any]] | None = None, **staff: dict[str, Any] | None) -> Organization:
    """The organisation file edited: ``s1002=None`` removes 1002, ``s2001={...}`` changes 2001;
    ``notify`` gives incident levels other response groups."""
    edits = {int(key[1:]): value for key, value in staff.items()}
    members = [
        {**s.model_dump(), **(edits[s.telegram_id] or {})} if s.telegram_id in edits else s.model_dump()
        for s in org.staff if not (s.telegram_id in edits and edits[s.telegram_id] is None)
    ]
    data = org.model_dump()
    for level in data["incident_levels"]:
        level["notify"] = (notify or {}).get(level["level"], level["notify"])
    return Organization.model_validate({**data, "staff": members})


async def queue(store: Services, chat_id: int, kind: NoticeKind, params: dict[str, Any]) -> None:
    async with store.db.transaction() as conn:
        await store.outbox.queue(conn, chat_id, kind, None, None, params)


async def send_all(store: Services) -> RecordingBot:
    bot = RecordingBot()
    await OutboxSender(store, bot, chat_interval=0.0).run_once()  # type: ignore[arg-type]
    return bot


def outcome(store: Services, kind: str) -> list[tuple[int, bool, str | None]]:
    return [(chat, sent, reason) for chat, sent, reason in rows(
        store, "SELECT chat_id, sent_at IS NOT NULL, skip_reason FROM outbox WHERE kind = ? ORDER BY id", kind)]


async def test_an_incident_alert_reaches_only_who_is_still_in_its_response_group(
    backend: str, tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path, migrated=True) as target:
        before = await Services.open(target, org, clock)
        await collective(before, 52)  # a collective visit staff counted: level 2, 2001 and 1002 are told
        assert [chat for chat, _, _ in outcome(before, "ic_opened")] == [2001, 1002]
        await before.close()
        # 1002 left level 2's response group (and the plan names 1001 in his place); 2001 now leads the
        # refinery (no longer leader@oilfield).
        edited = changed(org, notify={2: ["leader@oilfield", 1001]}, s2001={"units": ["refinery"]})
        after = await Services.open(target, edited, clock)
        try:
            bot = await send_all(after)
            assert not [chat for chat, _ in bot.sent if chat in (1002, 2001)]
            assert outcome(after, "ic_opened") == [(2001, False, "out_of_scope"), (1002, False, "out_of_scope")]
        finally:
            await after.close()


async def test_an_incident_alert_still_reaches_its_group(store: Services) -> None:
    await collective(store, 52)  # a collective visit staff counted (a typed headcount opens no incident)
    bot = await send_all(store)
    assert {chat for chat, text in bot.sent if "群体性事件" in text} == {1002, 2001}
    assert outcome(store, "ic_opened") == [(2001, True, None), (1002, True, None)]


async def test_a_screening_request_goes_only_to_who_files_for_the_unit_now(store: Services, org: Organization) -> None:
    params = {"period": "2026-11", "unit": "plant-1", "level": "request", "request_day": "2026-11-01", "days": 0}
    await queue(store, 1001, NoticeKind.SCREENING_ASK, params)  # plant-1's officer when queued
    await queue(store, 1002, NoticeKind.SCREENING_ASK, params)  # never plant-1's filer (1001 is nearer)
    await queue(store, 2001, NoticeKind.SCREENING_OVERDUE, {**params, "level": "escalate"})
    bot = await send_all(store)
    assert {chat for chat, _ in bot.sent} == {1001, 2001}
    assert outcome(store, "sc_ask") == [(1001, True, None), (1002, False, "out_of_scope")]
    # 1001 moves to the refinery: plant-1's filer is now the oilfield's officer.
    moved = changed(org, s1001={"units": ["refinery"]})
    store.context.org = moved
    await queue(store, 1001, NoticeKind.SCREENING_ASK, {**params, "level": "remind"})
    await queue(store, 1002, NoticeKind.SCREENING_ASK, {**params, "level": "remind"})
    bot = await send_all(store)
    assert [chat for chat, _ in bot.sent] == [1002]
    assert outcome(store, "sc_ask")[-2:] == [(1001, False, "out_of_scope"), (1002, True, None)]


async def test_the_weekly_digest_goes_only_to_who_is_still_a_leader(store: Services, org: Organization) -> None:
    figures = {"week": "2026-W45", "received": 3}
    await queue(store, 2001, NoticeKind.LEADER_DIGEST, figures)
    await queue(store, 1001, NoticeKind.LEADER_DIGEST, figures)  # an officer: never a leader's figures
    await queue(store, 1002, NoticeKind.LEADER_DIGEST, figures)
    # Before the send, 2001 stepped down to officer and 1002 left the staff.
    store.context.org = changed(org, notify={2: ["leader@oilfield"]}, s2001={"role": "officer"}, s1002=None)
    bot = await send_all(store)
    assert bot.sent == []
    assert outcome(store, "ld_digest") == [
        (2001, False, "out_of_scope"), (1001, False, "out_of_scope"), (1002, False, "not_staff")]
