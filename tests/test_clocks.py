"""The deadline sweep with a controllable clock: reminders once each, escalation by level, restarts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from store.clock import FakeClock
from store.models import Decision, Rating, Status
from store.opinion import DeclineGrounds
from store.org import Organization
from store.review import current_deadline
from store.services import Services
from store.workflow import Action
from tests.backends import fresh_database
from tests.conftest import OPINION_PARTS, draft, petitioner, rows
from tests.review_fixture import (
    LEADER_HQ,
    LEADER_OIL,
    LEADER_P1,
    OFFICER_P1,
    OFFICER_P2,
    at,
    decided_case,
    deliver_opinion,
    employee,
    review_org,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]


def outbox(db: Path | str | Services, *kinds: str) -> list[tuple[int, str, str | None]]:
    """(chat, kind, level) of the queued rows of these kinds, in order."""
    marks = ", ".join("?" * len(kinds))
    found = rows(db, f"SELECT chat_id, kind, params FROM outbox WHERE kind IN ({marks}) ORDER BY id", *kinds)
    return [(chat, kind, json.loads(params).get("level")) for chat, kind, params in found]


async def sweep_on(store: Services, clock: FakeClock, day: date, hour: int = 9) -> None:
    clock.set(at(day, hour))
    await store.review.sweep()


async def test_deadlines_are_stored_with_the_case_from_the_organisation_file(
    rstore: Services, clock: FakeClock
) -> None:
    case = (await rstore.cases.submit(petitioner(), draft(), "k")).case
    assert case.accept_due == date(2026, 11, 17)  # 2026-11-02 + 15 days (Art. 22-23)
    assert (due := current_deadline(case)) is not None and due[1] == date(2026, 11, 17)
    accepted = await rstore.cases.act(OFFICER_P1, case.number, Action.ACCEPT)
    assert accepted.answer_due == date(2027, 1, 1)  # + 60 days (Art. 34)
    decided = await rstore.cases.act(OFFICER_P1, case.number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.EXPLAIN, body="意见")
    assert decided.rating_due is None and decided.review_request_due is None  # they count from 送达
    await deliver_opinion(rstore)
    served = await rstore.cases.case_for(OFFICER_P1, case.number)
    assert served.rating_due == date(2026, 12, 2) and served.review_request_due == date(2026, 12, 2)


async def test_the_organisation_file_overrides_the_defaults(tmp_path: Path, clock: FakeClock) -> None:
    org = review_org("repeat_days = 30\ncollective_people = 3")
    assert org.monitoring.repeat_days == 30 and org.monitoring.collective_people == 3
    assert org.monitoring.collective_hours == 72 and org.monitoring.long_running_days == 90
    text = review_org().model_dump()
    assert text["monitoring"]["remind_before_days"] == 3 and text["monitoring"]["escalate_again_days"] == 5


async def test_reminders_go_once_each_and_escalation_climbs_one_level_after_five_days(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    path = rstore
    number = (await rstore.cases.submit(petitioner(), draft(), "k")).case.number  # accept_due 2026-11-17
    kinds = ("rv_remind", "rv_escalate")

    await sweep_on(rstore, clock, date(2026, 11, 13))
    assert outbox(path, *kinds) == []  # 4 days before: nothing yet
    await sweep_on(rstore, clock, date(2026, 11, 14))
    assert outbox(path, *kinds) == [(1001, "rv_remind", "before")]  # 3 days before, to the officer
    await sweep_on(rstore, clock, date(2026, 11, 14), hour=18)
    await sweep_on(rstore, clock, date(2026, 11, 16))
    assert len(outbox(path, *kinds)) == 1  # not again for the same deadline
    await sweep_on(rstore, clock, date(2026, 11, 17))
    assert outbox(path, *kinds)[1:] == [(1001, "rv_remind", "due")]  # on the day
    await sweep_on(rstore, clock, date(2026, 11, 18))
    # Overdue: the leaders of the case's unit (plant-1's leader), not the higher ones.
    assert outbox(path, *kinds)[2:] == [(LEADER_P1.id, "rv_escalate", "escalate0")]
    await sweep_on(rstore, clock, date(2026, 11, 22))
    assert len(outbox(path, *kinds)) == 3  # 5 days have not passed since the escalation
    await sweep_on(rstore, clock, date(2026, 11, 23))
    assert outbox(path, *kinds)[3:] == [(LEADER_OIL.id, "rv_escalate", "escalate1")]  # one level up
    await sweep_on(rstore, clock, date(2026, 12, 30))
    assert len(outbox(path, *kinds)) == 4
    escalations = rows(path, "SELECT actor_role, public, data FROM events WHERE action = 'escalate' ORDER BY id")
    assert [(role, public) for role, public, _ in escalations] == [("system", 0), ("system", 0)]
    assert json.loads(escalations[1][2])["to"] == [LEADER_OIL.id]
    assert number


async def test_a_case_at_a_unit_without_leaders_escalates_to_the_nearest_ones_above(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    await rstore.cases.submit(petitioner(), draft(unit="plant-2"), "k")
    await sweep_on(rstore, clock, date(2026, 11, 18))
    await sweep_on(rstore, clock, date(2026, 11, 23))
    assert outbox(rstore, "rv_escalate") == [
        (LEADER_OIL.id, "rv_escalate", "escalate0"),
        (LEADER_HQ.id, "rv_escalate", "escalate1"),
    ]


async def test_handling_deadline_reminds_the_assignee_and_an_extension_starts_a_new_round(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    path = rstore
    number = (await rstore.cases.submit(petitioner(), draft(unit="plant-2"), "k")).case.number
    await rstore.cases.act(OFFICER_P2, number, Action.ACCEPT)  # answer_due 2027-01-01
    await sweep_on(rstore, clock, date(2026, 12, 29))
    await sweep_on(rstore, clock, date(2027, 1, 1))
    assert outbox(path, "rv_remind") == [(1002, "rv_remind", "before"), (1002, "rv_remind", "due")]
    await rstore.cases.act(OFFICER_P2, number, Action.EXTEND, days=10, body="需要调取工资台账")  # → 2027-01-11
    await sweep_on(rstore, clock, date(2027, 1, 2))
    assert outbox(path, "rv_escalate") == []  # the new deadline is not passed
    await sweep_on(rstore, clock, date(2027, 1, 8))
    assert outbox(path, "rv_remind")[2:] == [(1002, "rv_remind", "before")]
    assert rows(path, "SELECT due, level FROM reminders ORDER BY id") == [
        ("2027-01-01", "before"), ("2027-01-01", "due"), ("2027-01-11", "before"),
    ]


async def test_a_restarted_sweep_neither_misses_nor_repeats(
    backend: str, tmp_path: Path, rorg: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path, "restart.db", migrated=True) as path:
        first = await Services.open(path, rorg, clock)
        await first.cases.submit(petitioner(), draft(), "a")  # accept_due 2026-11-17
        await sweep_on(first, clock, date(2026, 11, 14))
        await first.close()

        # The bot was down from the 15th to the 19th: on restart it does what is due now, once.
        second = await Services.open(path, rorg, clock)
        await sweep_on(second, clock, date(2026, 11, 19))
        await sweep_on(second, clock, date(2026, 11, 19), hour=10)
        await second.close()
        third = await Services.open(path, rorg, clock)
        await sweep_on(third, clock, date(2026, 11, 19), hour=11)
        # Down again over the second escalation: it is sent late, not lost.
        await sweep_on(third, clock, date(2026, 11, 30))
        await third.close()
        assert outbox(path, "rv_remind", "rv_escalate") == [
            (1001, "rv_remind", "before"),
            (LEADER_P1.id, "rv_escalate", "escalate0"),
            (LEADER_OIL.id, "rv_escalate", "escalate1"),
        ]


async def test_a_sweep_that_fails_midway_leaves_nothing_and_the_next_run_does_it_all(
    rstore: Services, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = rstore
    await rstore.cases.submit(petitioner(5001), draft(), "a")
    await rstore.cases.submit(petitioner(5002), draft(), "b")
    real_queue = rstore.outbox.queue
    calls = 0

    async def failing(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("crash while queueing")
        await real_queue(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rstore.outbox, "queue", failing)
    clock.set(at(date(2026, 11, 18)))
    with pytest.raises(RuntimeError):
        await rstore.review.sweep()
    assert rows(path, "SELECT count(*) FROM reminders") == [(0,)]
    assert rows(path, "SELECT count(*) FROM events WHERE action = 'escalate'") == [(0,)]
    monkeypatch.setattr(rstore.outbox, "queue", real_queue)
    await rstore.review.sweep()
    await rstore.review.sweep()
    assert outbox(path, "rv_escalate") == [
        (LEADER_P1.id, "rv_escalate", "escalate0"),
        (LEADER_P1.id, "rv_escalate", "escalate0"),
    ]
    assert rows(path, "SELECT count(DISTINCT case_id) FROM reminders") == [(2,)]


async def test_review_deadline_reminds_the_reviewers_and_escalates_above_them(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    path = rstore
    number = await decided_case(rstore, clock)
    await rstore.review.rate(employee(), number, Rating.DISSATISFIED)
    case = await rstore.review.request_review(employee(), number, "加班记录与工资条不符")
    assert case.status is Status.REVIEW and case.review_due == date(2026, 12, 2)
    await sweep_on(rstore, clock, date(2026, 11, 29))
    await sweep_on(rstore, clock, date(2026, 12, 3))
    await sweep_on(rstore, clock, date(2026, 12, 8))
    # Reviewers of a plant-1 case are the oilfield leaders; overdue goes to hq, then (top passed) the admin.
    assert outbox(path, "rv_remind", "rv_escalate") == [
        (LEADER_OIL.id, "rv_remind", "before"),
        (LEADER_HQ.id, "rv_escalate", "escalate0"),
        (9001, "rv_escalate", "escalate1"),
    ]


async def test_nothing_is_reminded_for_closed_declined_or_decided_cases(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    declined = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    await rstore.cases.act(OFFICER_P1, declined, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不属于信访事项")
    await decided_case(rstore, clock, key="b", user=5002)
    await sweep_on(rstore, clock, date(2026, 11, 20))
    assert outbox(rstore, "rv_remind", "rv_escalate") == []


async def test_the_sweep_in_small_batches_reminds_every_due_case_once(rstore: Services, clock: FakeClock) -> None:
    """Bounded batches (one transaction each, answers in between): every case still reminded, once."""
    rstore.review.sweep_batch = 2
    numbers = [(await rstore.cases.submit(petitioner(5001 + n), draft(), f"batch-{n}")).case.number for n in range(5)]
    await sweep_on(rstore, clock, date(2026, 11, 14))
    assert outbox(rstore, "rv_remind") == [(1001, "rv_remind", "before")] * 5
    assert rows(rstore, "SELECT count(DISTINCT case_id) FROM reminders") == [(5,)]
    await sweep_on(rstore, clock, date(2026, 11, 14), hour=18)
    assert len(outbox(rstore, "rv_remind")) == 5  # not again
    assert len(numbers) == 5
