"""The queue's stored rank (migration 0021): equal to the computed level for every case, after any change.

``cases.queue_rank`` / ``queue_due`` are written by the store whenever a case
changes and by the sweep (or the first queue read) when a level's day passes;
here they are compared, for every case, with ``warning_level`` (Python) and
``level_sql`` (SQL) — like tests/test_rules_once.py — on both backends, and
the page query is shown to be read from ``cases_by_rank`` with no sort.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from store import journal
from store.clock import FakeClock
from store.db import migrations
from store.journal import verify
from store.models import Case, Decision, row_to_model
from store.opinion import DeclineGrounds
from store.org import Organization
from store.review import CURRENT_DUE_SQL
from store.services import Services
from store.supervision import (
    NO_DUE,
    WarningLevel,
    current_ranks,
    level_sql,
    next_rank_day,
    queue_sql,
    warning_level,
)
from store.workflow import Action
from tests.backends import backend_of
from tests.conftest import OPINION_PARTS, draft, petitioner, rows
from tests.review_fixture import LEADER_OIL, OFFICER_P1, at, rorg, rstore
from tests.test_compact_journal import BEFORE_0023
from tests.test_pg_schema import before_0029

__all__ = ["rorg", "rstore"]


async def assert_ranks(store: Services, today: date) -> dict[int, int | None]:
    """Every case's stored rank and due equal the computed ones on ``today``; the ranks by id."""
    async with store.db.read() as conn:
        async with conn.execute(
            f"SELECT *, {level_sql(store.org, today, store.db.dialect)} AS sql_rank, {CURRENT_DUE_SQL} AS current_due"
            " FROM cases ORDER BY id"
        ) as cur:
            found = await cur.fetchall()
    assert found
    ranks: dict[int, int | None] = {}
    for row in found:
        case = row_to_model(Case, row)
        if case.is_open:
            expected = warning_level(case, store.org, today).rank
            assert row["queue_rank"] == expected == row["sql_rank"], (case.number, case.status, today)
            assert row["queue_due"] == (row["current_due"] or NO_DUE), (case.number, today)
        else:
            assert row["queue_rank"] is None and row["queue_due"] is None, (case.number, case.status)
        ranks[case.id] = row["queue_rank"]
    return ranks


async def test_the_stored_rank_is_the_level_after_every_change_and_every_day(
    rstore: Services, clock: FakeClock
) -> None:
    """Submitted, accepted, extended, decided, transferred; then day by day for four months."""
    submitted = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    await assert_ranks(rstore, rstore.context.today())
    accepted = (await rstore.cases.submit(petitioner(5002), draft(), "b")).case.number
    await rstore.cases.act(OFFICER_P1, accepted, Action.ACCEPT)
    await assert_ranks(rstore, rstore.context.today())
    clock.set(at(date(2026, 11, 5)))
    await current_ranks(rstore.db, rstore.org, rstore.context.today())
    extended = (await rstore.cases.submit(petitioner(5003), draft(), "c")).case.number
    await rstore.cases.act(OFFICER_P1, extended, Action.ACCEPT)
    await rstore.cases.act(OFFICER_P1, extended, Action.EXTEND, days=30, body="情况复杂，需延期")
    await assert_ranks(rstore, rstore.context.today())
    decided = (await rstore.cases.submit(petitioner(5004), draft(), "d")).case.number
    await rstore.cases.act(OFFICER_P1, decided, Action.ACCEPT)
    await rstore.cases.act(OFFICER_P1, decided, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.EXPLAIN, body="意见")
    await assert_ranks(rstore, rstore.context.today())
    clock.set(at(date(2026, 11, 12)))
    await rstore.review.sweep()
    transferred = (await rstore.cases.submit(petitioner(5005), draft(), "e")).case.number
    await rstore.cases.act(OFFICER_P1, transferred, Action.TRANSFER, unit="plant-2", body="转第二采油厂")
    await rstore.cases.act(OFFICER_P1, submitted, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不予受理")
    await assert_ranks(rstore, rstore.context.today())
    assert {c for c in (submitted, accepted, extended, decided, transferred)}

    seen: set[int | None] = set()
    day = date(2026, 11, 12)
    while day <= date(2027, 3, 1):
        clock.set(at(day))
        if day.day % 2:
            await rstore.review.sweep()  # the sweep re-ranks the cases whose day came …
        else:
            await rstore.cases.open_cases_for(OFFICER_P1)  # … or the first queue read of the day does
        seen |= set((await assert_ranks(rstore, day)).values())
        day += timedelta(days=1)
    assert seen >= {None, *(level.rank for level in WarningLevel)}


async def test_the_day_a_rank_changes_is_the_first_day_its_level_does(rstore: Services, clock: FakeClock) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    await rstore.cases.act(OFFICER_P1, number, Action.EXTEND, days=17, body="需延期")
    case = await rstore.cases.case_for(LEADER_OIL, number)
    day = rstore.context.today()
    while (upcoming := next_rank_day(case, rstore.org, day)) is not None:
        level = warning_level(case, rstore.org, day)
        between = day + timedelta(days=1)
        while between < upcoming:
            assert warning_level(case, rstore.org, between) is level, between
            between += timedelta(days=1)
        assert warning_level(case, rstore.org, upcoming).rank > level.rank, upcoming
        day = upcoming
    assert warning_level(case, rstore.org, day) is WarningLevel.OVERDUE


async def test_the_page_is_read_from_the_rank_index_without_sorting(rstore: Services) -> None:
    if backend_of(rstore) != "sqlite":
        return  # the plan's words are SQLite's; PostgreSQL's plan is recorded in docs/benchmarks.md
    for i in range(3):
        await rstore.cases.submit(petitioner(5001 + i), draft(), str(i))
    for actor in (OFFICER_P1, LEADER_OIL):
        scope, args = rstore.context.read_scope(actor)
        for min_rank in (0, 1):
            plan = rows(rstore, "EXPLAIN QUERY PLAN " + queue_sql(scope, min_rank), *args, 10, 0)
            words = " | ".join(str(r[-1]) for r in plan)
            assert "cases_by_rank" in words, words
            assert "TEMP B-TREE" not in words, words
    cases, total = await rstore.cases.open_cases_for(OFFICER_P1)
    assert total == 3 and len(cases) == 3


async def test_a_database_at_the_previous_version_upgrades_with_ranks_and_its_journal_intact(
    tmp_path: Path, rorg: Organization, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cases written before migration 0021 (no ranks): upgraded, ranked at the first read, journal unchanged."""
    path = tmp_path / "old.db"
    monkeypatch.setattr(journal, "COMPACT", frozenset())  # the journal as written then (hex hashes)
    store = await Services.open(path, rorg, clock)
    numbers = [(await store.cases.submit(petitioner(5001 + i), draft(), str(i))).case.number for i in range(6)]
    await store.cases.act(OFFICER_P1, numbers[1], Action.ACCEPT)
    await store.cases.act(OFFICER_P1, numbers[2], Action.ACCEPT)
    await store.cases.act(OFFICER_P1, numbers[2], Action.DECIDE, parts=OPINION_PARTS, decision=Decision.EXPLAIN, body="意见")
    await store.cases.act(OFFICER_P1, numbers[3], Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不予受理")
    await store.close()
    monkeypatch.undo()
    number = next(n for n, name, _ in migrations() if "queue_rank" in name)  # the integrator may renumber it
    # What later migrations added, removed too: they run again after it.
    later = {"hearing_and_study": ("DROP TABLE review_drafts", "DROP TABLE review_studies", "DROP TABLE hearings",
                                   "ALTER TABLE cases DROP COLUMN clock_stopped_on"),
             "compact_journal": tuple(BEFORE_0023), "told_levels": tuple(before_0029("sqlite")),
             "open_cases_by_unit": ("DROP INDEX cases_open_by_unit",)}
    undo = [s for n, name, _ in reversed(migrations()) if n > number for key, sql in later.items() if key in name
            for s in sql]  # the latest first
    with sqlite3.connect(path) as conn:  # back to the schema before it: what it added, removed
        for statement in (*undo, "DROP INDEX cases_by_rank", "DROP INDEX cases_by_rank_day", "DROP TABLE rank_basis",
                          "ALTER TABLE cases DROP COLUMN queue_rank", "ALTER TABLE cases DROP COLUMN queue_due",
                          "ALTER TABLE cases DROP COLUMN rank_next_on", f"PRAGMA user_version = {number - 1}"):
            conn.execute(statement)
    events_before = rows(path, "SELECT id, hash FROM events ORDER BY id")

    clock.set(at(date(2026, 11, 15)))  # days later: levels moved on since the cases were written
    store = await Services.open(path, rorg, clock)
    try:
        assert await store.db.schema_version() == migrations()[-1][0]
        assert rows(path, "SELECT count(*) FROM cases WHERE queue_rank IS NOT NULL") == [(0,)]
        cases, total = await store.cases.open_cases_for(OFFICER_P1)  # the first read ranks them
        assert total == 4 and [c.number for c in cases][0] == numbers[0]
        ranks = await assert_ranks(store, date(2026, 11, 15))
        assert sorted(r for r in ranks.values() if r is not None) == [0, 2, 2, 2]
        assert rows(path, "SELECT id, hash FROM events ORDER BY id") == events_before
        async with store.db.read() as conn:
            assert (await verify(conn)).ok
    finally:
        await store.close()
