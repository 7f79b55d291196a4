"""Repeat and collective petitions, alerts to leaders, long-running cases, the weekly digest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from store.clock import FakeClock
from store.errors import Refused
from store.opinion import DeclineGrounds
from store.org import Organization, OrgError
from store.services import Services
from store.workflow import Action
from tests.backends import fresh_database
from tests.conftest import draft, petitioner, rows
from tests.review_fixture import (
    ADMIN,
    LEADER_HQ,
    LEADER_OIL,
    LEADER_P1,
    LEADER_REF,
    OFFICER_P1,
    at,
    review_org,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]



# ------------------------------------------------------------------ repeat

async def test_a_repeat_petition_within_180_days_is_proposed_then_confirmed(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    first = (await rstore.cases.submit(petitioner(), draft(), "a")).case
    assert first.repeat_of is None
    clock.advance(days=179)
    second = (await rstore.cases.submit(petitioner(), draft(subject="又一次反映加班费"), "b")).case
    assert second.repeat_of is None and second.repeat_count == 0  # proposed, not marked
    assert [c.number for c in await rstore.repeats.candidates(OFFICER_P1, second)] == [first.number]
    second, _ = await rstore.repeats.confirm(OFFICER_P1, second.number, first.number)
    assert second.repeat_of == first.number and second.repeat_count == 1
    clock.advance(days=1)
    third = (await rstore.cases.submit(petitioner(), draft(), "c")).case
    # The first is exactly 180 days old: still within the window; the closer subject first.
    assert [c.number for c in await rstore.repeats.candidates(OFFICER_P1, third)] == [first.number, second.number]
    third, matter = await rstore.repeats.confirm(OFFICER_P1, third.number, second.number)
    assert (third.repeat_of, third.repeat_count, matter) == (first.number, 2, first.number)  # the matter's first
    events = rows(rstore, "SELECT action, public, data FROM events WHERE action IN ('flag', 'repeat') ORDER BY id")
    assert [(a, p, json.loads(d).get("candidates"), json.loads(d).get("repeat_of")) for a, p, d in events] == [
        ("flag", 0, [first.number], None), ("repeat", 0, [first.number], first.number),
        ("flag", 0, [first.number, second.number], None),
        ("repeat", 0, [first.number, second.number], first.number),
    ]
    history = await rstore.review.case_history(OFFICER_P1, third.number)
    assert [c.number for c in history] == [third.number, second.number, first.number]


async def test_not_a_repeat_after_the_window_or_for_another_category_unit_or_person(
    rstore: Services, clock: FakeClock
) -> None:
    await rstore.cases.submit(petitioner(), draft(), "a")
    other_category = (await rstore.cases.submit(petitioner(), draft(category="housing"), "b")).case
    other_unit = (await rstore.cases.submit(petitioner(), draft(unit="plant-2"), "c")).case
    other_person = (await rstore.cases.submit(petitioner(5002), draft(), "d")).case
    clock.advance(days=181)
    late = (await rstore.cases.submit(petitioner(), draft(unit="refinery"), "e")).case
    clock.advance(days=1)
    too_old = (await rstore.cases.submit(petitioner(), draft(category="housing"), "f")).case  # 182 days after "b"
    for case in (other_category, other_unit, other_person, late, too_old):
        assert case.repeat_of is None and await rstore.repeats.candidates(ADMIN, case) == [], case.number


async def test_the_repeat_window_is_configurable(backend: str, tmp_path: Path, clock: FakeClock) -> None:
    async with fresh_database(backend, tmp_path, "r.db", migrated=True) as target:
        store = await Services.open(target, review_org("repeat_days = 30"), clock)
        await store.cases.submit(petitioner(), draft(), "a")
        clock.advance(days=31)
        late = (await store.cases.submit(petitioner(), draft(), "b")).case
        assert await store.repeats.candidates(ADMIN, late) == []
        clock.advance(days=29)
        within = (await store.cases.submit(petitioner(), draft(), "c")).case
        assert [c.number for c in await store.repeats.candidates(ADMIN, within)] == [late.number]
        await store.close()


def test_monitoring_thresholds_are_checked_when_the_file_is_read() -> None:
    with pytest.raises(OrgError) as bad:
        review_org("digest_weekday = 8\ncollective_people = 1")
    assert any("monitoring.digest_weekday" in line for line in bad.value.errors)
    assert any("monitoring.collective_people" in line for line in bad.value.errors)


# -------------------------------------------------------------- collective

async def _file(store: Services, users: range | list[int], unit: str = "plant-1", prefix: str = "k") -> list[str]:
    return [
        (await store.cases.submit(petitioner(u), draft(unit=unit), f"{prefix}{u}")).case.number for u in users
    ]


async def test_five_people_within_72_hours_raise_one_alert_up_to_the_top(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    path = rstore.db.path
    await _file(rstore, range(5001, 5005))
    assert rows(path, "SELECT count(*) FROM alerts") == [(0,)]  # 4 people: below the threshold
    clock.advance(hours=71)
    numbers = await _file(rstore, [5005])
    (alert,) = rows(path, "SELECT id, reason, people, unit, category FROM alerts")
    assert alert[1:] == ("cluster", 5, "plant-1", "wages")
    # At once, to the unit's leaders and every leader above (plant-1, oilfield, hq), not the refinery's.
    assert rows(path, "SELECT chat_id FROM outbox WHERE kind = 'ld_alert' ORDER BY id") == [
        (LEADER_P1.id,), (LEADER_OIL.id,), (LEADER_HQ.id,),
    ]
    assert rows(path, "SELECT count(*) FROM cases WHERE collective_alert = ?", alert[0]) == [(5,)]
    clock.advance(hours=1)
    await _file(rstore, [5006])  # the same group grows: the alert is updated, not raised again
    assert rows(path, "SELECT id, people FROM alerts") == [(alert[0], 6)]
    assert rows(path, "SELECT count(*) FROM outbox WHERE kind = 'ld_alert'") == [(3,)]
    assert (await rstore.cases.case_for(OFFICER_P1, numbers[0])).collective_alert == alert[0]


async def test_no_collective_alert_below_the_threshold_or_outside_the_window(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    path = rstore.db.path
    await _file(rstore, [5001, 5002], prefix="a")
    await _file(rstore, [5001, 5002], prefix="b")  # 4 cases, 2 people
    await _file(rstore, [5003, 5004], unit="plant-2")  # another unit
    clock.advance(hours=73)
    await _file(rstore, [5005, 5006], prefix="c")  # 72 hours after the first ones: they no longer count
    assert rows(path, "SELECT count(*) FROM alerts") == [(0,)]
    assert rows(path, "SELECT count(*) FROM outbox WHERE kind = 'ld_alert'") == [(0,)]


async def test_a_case_declaring_five_people_raises_an_alert_and_four_does_not(
    rstore: Services, tmp_path: Path
) -> None:
    path = rstore.db.path
    four = (await rstore.cases.submit(petitioner(5001), draft(people=4, unit="refinery"), "a")).case
    assert four.collective_alert is None and rows(path, "SELECT count(*) FROM alerts") == [(0,)]
    five = (await rstore.cases.submit(petitioner(5002), draft(people=5, unit="refinery"), "b")).case
    assert five.collective_alert is not None
    assert rows(path, "SELECT reason, people FROM alerts") == [("declared", 5)]
    assert rows(path, "SELECT chat_id FROM outbox WHERE kind = 'ld_alert' ORDER BY id") == [
        (LEADER_REF.id,), (LEADER_HQ.id,),
    ]


async def test_collective_threshold_is_configurable(backend: str, tmp_path: Path, clock: FakeClock) -> None:
    async with fresh_database(backend, tmp_path, "c.db", migrated=True) as target:
        store = await Services.open(target, review_org("collective_people = 3\ncollective_hours = 24"), clock)
        await _file(store, [5001, 5002])
        clock.advance(hours=23)
        await _file(store, [5003])
        assert rows(target, "SELECT reason, people FROM alerts") == [("cluster", 3)]
        await store.close()


# ------------------------------------------------------------------ alerts

async def test_alerts_are_listed_for_leaders_in_scope_until_acknowledged(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    await _file(rstore, range(5001, 5006))
    view = await rstore.review.alerts_for(LEADER_HQ)
    (alert,) = view.alerts
    assert alert.unit == "plant-1" and alert.people == 5
    assert (await rstore.review.alerts_for(LEADER_REF)).alerts == []  # not their unit
    with pytest.raises(Refused) as officer:
        await rstore.review.alerts_for(OFFICER_P1)
    assert officer.value.code == "leaders_only"
    with pytest.raises(Refused) as other:
        await rstore.review.acknowledge_alert(LEADER_REF, alert.id)
    assert other.value.code == "alert_not_found"
    with pytest.raises(Refused) as officer_ack:
        await rstore.review.acknowledge_alert(OFFICER_P1, alert.id)
    assert officer_ack.value.code == "leaders_only"
    with pytest.raises(Refused) as missing:
        await rstore.review.acknowledge_alert(LEADER_HQ, 999)
    assert missing.value.code == "alert_not_found"

    done = await rstore.review.acknowledge_alert(LEADER_P1, alert.id)
    assert done.acknowledged_by == LEADER_P1.id
    assert (await rstore.review.alerts_for(LEADER_HQ)).alerts == []
    with pytest.raises(Refused) as twice:
        await rstore.review.acknowledge_alert(LEADER_HQ, alert.id)
    assert twice.value.code == "alert_acknowledged"
    assert rows(rstore, "SELECT actor_id FROM events WHERE action = 'ack_alert'") == [
        (LEADER_P1.id,)
    ]


async def test_long_running_cases_appear_after_ninety_days(rstore: Services, clock: FakeClock) -> None:
    old = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    done = (await rstore.cases.submit(petitioner(5002), draft(), "b")).case.number
    await rstore.cases.act(OFFICER_P1, done, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不属于受理范围")
    clock.advance(days=2)
    younger = (await rstore.cases.submit(petitioner(5003), draft(unit="refinery"), "c")).case.number
    clock.advance(days=89)  # "old" is 91 days open, "younger" 89
    view = await rstore.review.alerts_for(LEADER_HQ)
    assert [c.number for c in view.long_running] == [old] and view.long_running_days == 90
    assert (await rstore.review.alerts_for(LEADER_REF)).long_running == []
    clock.advance(days=2)
    assert [c.number for c in (await rstore.review.alerts_for(ADMIN)).long_running] == [old, younger]


# ------------------------------------------------------------------ digest

async def test_weekly_digest_goes_to_each_leader_once_a_week(
    rstore: Services, clock: FakeClock, tmp_path: Path, rorg: Organization
) -> None:
    path = rstore.db.path
    await rstore.cases.submit(petitioner(5001), draft(), "a")  # Monday 2026-11-02 09:00
    await rstore.cases.submit(petitioner(5002), draft(unit="refinery"), "b")
    clock.set(at(date(2026, 11, 9), hour=8))  # next Monday, before 09:00
    assert (await rstore.review.sweep()).digests == 0
    clock.set(at(date(2026, 11, 9), hour=9))
    assert (await rstore.review.sweep()).digests == 4
    clock.set(at(date(2026, 11, 12), hour=9))
    assert (await rstore.review.sweep()).digests == 0
    restarted = await Services.open(path, rorg, clock)
    assert (await restarted.review.sweep()).digests == 0
    await restarted.close()
    digests = {
        chat: json.loads(params)
        for chat, params in rows(path, "SELECT chat_id, params FROM outbox WHERE kind = 'ld_digest'")
    }
    assert set(digests) == {LEADER_HQ.id, LEADER_OIL.id, LEADER_P1.id, LEADER_REF.id}
    assert digests[LEADER_HQ.id]["received"] == 2 and digests[LEADER_P1.id]["received"] == 1
    assert digests[LEADER_REF.id]["received"] == 1 and digests[LEADER_HQ.id]["week"] == "2026-W46"
    clock.set(at(date(2026, 11, 18), hour=12))  # a week later (Wednesday): this week's digest, late but once
    assert (await rstore.review.sweep()).digests == 4
