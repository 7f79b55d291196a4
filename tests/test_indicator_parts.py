"""The period's figures are counted over three parts of its cases (store.indicators._figures): those
received in it, those decided in it, and those waiting for their opinion past a deadline in it. A case
in two parts counts once in each figure: here a case decided, redone (重办) and overdue again within
the same year, which is both decided in the year and waiting past a deadline in it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from store.clock import FakeClock
from store.models import Actor, ActorRole, Decision, Rating
from store.services import Services
from store.workflow import Action
from tests.backends import backend_of, rows
from tests.conftest import OPINION_PARTS, draft, petitioner

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)  # plant-1 (tests/org_fixture.toml)
LEADER = Actor(id=2001, role=ActorRole.LEADER)  # oilfield, above plant-1
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)


async def test_a_case_decided_and_waiting_again_in_the_period_counts_once(store: Services, clock: FakeClock) -> None:
    clock.set(datetime(2026, 2, 2, 1, 0, tzinfo=UTC))
    redone = (await store.cases.submit(petitioner(5001), draft(), "redone")).case.number
    other = (await store.cases.submit(petitioner(5002), draft(), "other")).case.number
    for number in (redone, other):
        await store.cases.act(OFFICER, number, Action.ACCEPT)
        await store.cases.act(OFFICER, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.REJECT,
                              body="不予支持。")
    await store.review.rate(Actor(id=5001, role=ActorRole.PETITIONER), redone, Rating.DISSATISFIED)
    await store.supervision.redo(LEADER, redone, "请重新核查考勤记录。")
    clock.advance(days=90)  # the redo's handling time (30 days) has passed: waiting past its deadline
    case = await store.cases.case_for(OFFICER, redone)
    assert case.status.value == "in_progress" and case.decided_at is not None
    assert case.answer_due is not None and case.answer_due < store.context.today()

    year = (await store.indicators.indicators(ADMIN, "plant-1", "2026")).rows[0]
    assert (year.received, year.decided, year.answer_counted, year.answered_on_time) == (2, 2, 2, 2)
    assert year.overdue_now == 1
    # February alone: both decided in it, the redone one's new deadline is in March.
    february = (await store.indicators.indicators(ADMIN, "plant-1", "2026-02")).rows[0]
    assert (february.decided, february.answer_counted) == (2, 2)
    # March: nothing decided in it; the redone case waits past its deadline in it.
    due_month = case.answer_due.strftime("%Y-%m")
    march = (await store.indicators.indicators(ADMIN, "plant-1", due_month)).rows[0]
    assert (march.received, march.decided, march.answer_counted) == (0, 0, 1)


async def test_the_received_part_is_found_by_unit_and_day(store: Services) -> None:
    """Migration 0032: cases_by_unit_day (unit, submitted_at) in place of the seven columns of cases_indicators."""
    if backend_of(store) == "sqlite":
        names = {name for (name,) in rows(store, "SELECT name FROM sqlite_schema WHERE type = 'index'")}
        plan = " | ".join(str(r[-1]) for r in rows(
            store, "EXPLAIN QUERY PLAN SELECT * FROM cases c WHERE c.unit IN ('plant-1', 'plant-2')"
                   " AND c.submitted_at >= '2026-11-01' AND c.submitted_at < '2026-12-01'"))
        assert "cases_by_unit_day (unit=? AND submitted_at>? AND submitted_at<?)" in plan, plan
    else:
        names = {name for (name,) in rows(store, "SELECT indexname FROM pg_indexes"
                                                 " WHERE schemaname = current_schema() AND tablename = 'cases'")}
    assert "cases_by_unit_day" in names and "cases_indicators" not in names
