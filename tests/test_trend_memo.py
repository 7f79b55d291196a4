"""A unit's figures of a month remembered (store/trend_memo.py, migrations 0033, 0037): never older than
counting them again, and only the units whose cases changed counted again.

The fixture is tests/test_indicators.py's (cases of September to November, "now" 2026-12-01), seen by
the oilfield's leader (three units: oilfield, plant-1, plant-2) with December chosen: the trend is
January to December 2026, thirty-six units' months.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import cli
from bot.jobs import TREND_FIRST_SECONDS, TREND_INTERVAL_SECONDS, run_trend_warming
from store.clock import FakeClock
from store.context import scope_sql
from store.db import migrations
from store.indicators import IndicatorService, StatsReport
from store.models import Actor, ActorRole, Decision
from store.org import Organization, load_org
from store.services import Services
from store.trend_memo import WATCHED, WATCHED_ACTIONS, Marks, TrendMemo
from store.workflow import Action
from tests.backends import backend_of, db_error, execute, fresh_database, rows
from tests.conftest import OPINION_PARTS, ORG_FILE
from tests.offline import offline_app
from tests.review_fixture import LEADER_OIL, OFFICER_P1, review_org, rorg, rstore
from tests.test_indicators import build_fixture
from tests.test_moments import indexes
from tests.test_pg_schema import UNDO_CHANGE_MARKS
from tests.test_postgresql_native import set_version

__all__ = ["rorg", "rstore"]


async def trend(service: IndicatorService) -> dict[str, dict[str, Any]]:
    report = await service.indicators(LEADER_OIL, period="2026-12")
    return {point.label: point.model_dump(exclude={"label"}) for point in report.trend}


UNITS = 3  # the oilfield leader's: oilfield, plant-1, plant-2
VIEW = 12 * UNITS  # units' months of a view: December's (the period's) and eleven trend months


async def test_a_units_month_is_remembered_until_a_case_of_it_that_counts_changes(
    rstore: Services, clock: FakeClock
) -> None:
    numbers = await build_fixture(rstore, clock)
    service, memo = rstore.indicators, rstore.indicators.trend_memo

    async def checked(hits: int, period: str = "2026-12") -> StatsReport:
        """The view as the leader sees it, equal to a service that remembers nothing; ``hits`` units' months
        not counted again."""
        before = memo.hits
        seen = await service.indicators(LEADER_OIL, period=period)
        assert seen == await IndicatorService(service.ctx).indicators(LEADER_OIL, period=period)
        assert memo.hits - before == hits
        return seen

    first = await checked(hits=0)
    trend_of = {point.label: point for point in first.trend}
    assert len(trend_of) == 12 and trend_of["2026-11"].decided == 3 and trend_of["2026-10"].received == 1
    assert await checked(hits=VIEW) == first  # nothing changed: nothing counted again

    # A change that no figure reads (the subject, the stored queue rank): still remembered.
    execute(rstore, "UPDATE cases SET subject = 'x', queue_rank = NULL WHERE number = ?", numbers["F"])
    assert await checked(hits=VIEW) == first

    # Through the store: B (plant-1, received in November) decided today, December's figure. Only plant-1's
    # November (B's month) and December are counted again.
    await rstore.cases.act(OFFICER_P1, numbers["B"], Action.DECIDE, parts=OPINION_PARTS,
                           decision=Decision.EXPLAIN, body="意见")
    now = await checked(hits=VIEW - 2)
    assert now.trend[-1].decided == first.trend[-1].decided + 1

    # Past the store, as any path might: F (plant-1, received in September, decided 11-05) rated. plant-1's
    # September to December are counted again, and November's rated figure moves.
    execute(rstore, "UPDATE cases SET rating = 'satisfied' WHERE number = ?", numbers["F"])
    rated = await checked(hits=VIEW - 4)
    assert (rated.trend[-2].rated, rated.trend[-2].satisfied) == (now.trend[-2].rated + 1, now.trend[-2].satisfied + 1)

    # C (plant-2, November) led by a leader: a figure of the period, not of the trend; plant-2's November and
    # December counted again, and the November view shows it.
    # November's view first: only December 2025 counted; November itself and January to October are the
    # months December's view counted (a trend month and the month viewed on its own are one entry).
    november = await checked(hits=VIEW - UNITS, period="2026-11")
    execute(rstore, "UPDATE cases SET lead_id = 3002 WHERE number = ?", numbers["C"])
    led = await checked(hits=VIEW - 1, period="2026-11")
    assert led.rows[0].led == november.rows[0].led + 1

    # A follow-up recorded (回访) on F (plant-1, received in September, decided in November): a figure of the
    # journal, not of the case; plant-1's September to November counted again.
    await rstore.supervision.follow_up(OFFICER_P1, numbers["F"], "visit", "上门走访")
    assert (await checked(hits=VIEW - 3, period="2026-11")).rows[0].followed_up == led.rows[0].followed_up + 1

    # E (plant-1, received in October) moved out of the oilfield, to the refinery; December's view again:
    # plant-1's October to December (E's move) and plant-2's December (C led) counted again; not the
    # refinery (not in the view), nor plant-1's September or plant-2's November: November's view counted
    # them again after F's follow-up and C's leader, and the views share them. October counts one case fewer.
    execute(rstore, "UPDATE cases SET unit = 'refinery' WHERE number = ?", numbers["E"])
    moved = await checked(hits=VIEW - 4)
    assert moved.trend[-3].received == rated.trend[-3].received - 1

    # The next day nothing remembered is used: the figures count deadlines passed by today.
    clock.set(datetime(2026, 12, 2, 1, tzinfo=UTC))
    await checked(hits=0)


async def test_the_chosen_month_is_added_up_from_the_period_count_not_counted_again(
    rstore: Services, clock: FakeClock, monkeypatch: Any
) -> None:
    """With a month chosen (this month, by default), that trend month is the period's own count added up: one
    count of the thirteen fewer, and the same figures as December counted on its own (the trend of the
    quarter, whose months are the same twelve, counts December directly)."""
    numbers = await build_fixture(rstore, clock)
    await rstore.cases.act(OFFICER_P1, numbers["B"], Action.DECIDE, parts=OPINION_PARTS,
                           decision=Decision.EXPLAIN, body="意见")  # a December figure, so December is not all zeros

    def counting(service: IndicatorService) -> list[tuple[Any, Any]]:
        calls: list[tuple[Any, Any]] = []
        original = service._figures

        async def spy(conn: Any, units: Any, scope: Any, start: Any, end: Any, today: Any) -> Any:
            calls.append((start, end))
            return await original(conn, units, scope, start, end, today)

        monkeypatch.setattr(service, "_figures", spy)
        return calls

    by_month = IndicatorService(rstore.indicators.ctx)
    calls = counting(by_month)
    month = await by_month.indicators(LEADER_OIL, period="2026-12")
    assert len(calls) == len(set(calls)) == 12  # December (the period and its trend month) counted once

    by_quarter = IndicatorService(rstore.indicators.ctx)
    calls = counting(by_quarter)
    quarter = await by_quarter.indicators(LEADER_OIL, period="2026-Q4")
    assert len(calls) == len(set(calls)) == 13  # a quarter is no trend month: all twelve counted, and itself
    assert [p.label for p in month.trend] == [p.label for p in quarter.trend]
    assert month.trend[-1].label == "2026-12" and month.trend[-1].decided == 1
    assert month.trend == quarter.trend


async def test_the_leaders_own_trends_are_counted_ahead(rstore: Services, clock: FakeClock) -> None:
    """The job counts each leader's own view (their units) for the last two years where it is not remembered:
    the first view of the day finds this month's view counted, and a view of a month of the past year too."""
    numbers = await build_fixture(rstore, clock)
    async with offline_app(rstore) as (application, _request):
        assert application.job_queue is not None
        (job,) = application.job_queue.get_jobs_by_name("trend-warming")
        assert job.job.trigger.interval.total_seconds() == TREND_INTERVAL_SECONDS
    assert TREND_FIRST_SECONDS >= 60  # a restart answers users and drains the outbox first
    service, memo = rstore.indicators, rstore.indicators.trend_memo
    # The views warmed: each leader's and admin's units, once for the same units and scope.
    views: dict[Any, set[str]] = {}
    for staff in service.org.staff:
        if staff.role.value in ("leader", "admin"):
            actor = Actor(id=staff.telegram_id, role=ActorRole(staff.role.value))
            units = set().union(*(service.org.subtree(root) for root in service._report_roots(actor, None)))
            views[(tuple(sorted(units)), *service._report_scope(actor)[0:1])] = units
    assert len(views) >= 3  # the group's admin and the companies' leaders
    await run_trend_warming(service)
    counted = memo.misses
    assert counted == sum(2 * 12 * len(units) for units in views.values())

    hits = memo.hits
    seen = await trend(service)  # the oilfield's leader's own view: December, the current month
    assert memo.hits - hits == VIEW and memo.misses == counted
    assert seen == await trend(IndicatorService(service.ctx))
    hits = memo.hits
    earlier = await service.indicators(LEADER_OIL, period="2025-12")  # a year back: its trend reaches 2025-01
    assert memo.hits - hits == VIEW and memo.misses == counted
    assert earlier == await IndicatorService(service.ctx).indicators(LEADER_OIL, period="2025-12")

    assert await service.warm_trends() == 0  # nothing changed: nothing counted
    await rstore.cases.act(OFFICER_P1, numbers["B"], Action.DECIDE, parts=OPINION_PARTS,
                           decision=Decision.EXPLAIN, body="意见")
    # plant-1's November (B's month) and December, in each view that shows plant-1.
    assert await service.warm_trends() == 2 * sum("plant-1" in units for units in views.values())


async def test_a_transaction_raises_each_unit_and_month_it_changes(
    backend: str, rstore: Services, clock: FakeClock
) -> None:
    """Every transaction that changes a case of a unit's month raises that unit's month, so a reader after its
    commit sees it changed. On PostgreSQL once per transaction, unit and month: a counter row updated again
    within one transaction leaves a version behind for each later update to walk (a copy of a million cases
    grew quadratic)."""
    await build_fixture(rstore, clock)

    def count(month: str) -> dict[str, int]:
        return {str(unit): int(changes) for unit, changes in
                rows(rstore, "SELECT unit, changes FROM unit_month_changes WHERE month = ?", month)}

    november = count("2026-11")
    assert set(november) == {"plant-1", "plant-2", "refinery"}  # A, B; C, D; G
    between = "submitted_at >= '2026-11-01T00:00:00Z' AND submitted_at < '2026-12-01T00:00:00Z'"
    async with rstore.db.transaction() as conn:
        for rating in ("basic", "dissatisfied", "basic"):  # three changes to each of November's cases
            await conn.execute(f"UPDATE cases SET rating = ? WHERE {between}", (rating,))
    cases = {unit: 2 if unit != "refinery" else 1 for unit in november}  # per unit
    assert count("2026-11") == {unit: november[unit] + (1 if backend == "postgresql" else 3 * cases[unit])
                                for unit in november}
    execute(rstore, f"UPDATE cases SET rating = 'satisfied' WHERE {between}")  # a transaction of its own
    assert count("2026-11") == {unit: november[unit] + (2 if backend == "postgresql" else 4 * cases[unit])
                                for unit in november}
    # A case moved raises its month at both units, once each.
    before = count("2026-11")
    execute(rstore, "UPDATE cases SET unit = 'hq' WHERE unit = 'refinery' AND " + between)
    assert count("2026-11") == {**before, "refinery": before["refinery"] + 1, "hq": 1}


class _Recorder:
    """A connection that keeps the SQL it is given and answers no rows."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def execute(self, sql: str, params: Any = None) -> _Recorder:
        self.sql.append(sql)
        return self

    async def __aenter__(self) -> _Recorder:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> _Recorder:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


def _named(sql: str) -> list[list[str]]:
    """The column lists of a trigger's definition: its ``UPDATE OF`` list, and the OLD and NEW rows its WHEN
    compares."""
    of = re.search(r"UPDATE OF (.*?) ON ", sql, re.S)
    when = re.search(r"WHEN (.*?)(BEGIN|EXECUTE)", sql, re.S)
    assert of is not None and when is not None, sql
    return [[name.strip() for name in of.group(1).split(",")],
            re.findall(r"OLD\.(\w+)", when.group(1), re.I), re.findall(r"NEW\.(\w+)", when.group(1), re.I)]


async def test_the_triggers_watch_every_column_the_figures_and_the_scopes_read(
    backend: str, tmp_path: Path, rstore: Services
) -> None:
    service = rstore.indicators
    recorder = _Recorder()
    units = set().union(*(service.org.subtree(u.id) for u in service.org.roots()))
    # Every staff member's scope in both fixtures' organisations: units, categories, recusals (kind,
    # confidential) and the discipline line.
    orgs: list[Organization] = [service.org, load_org(ORG_FILE)]
    scopes = [scope_sql(org, Actor(id=staff.telegram_id, role=ActorRole(staff.role.value)))
              for org in orgs for staff in org.staff]
    for scope in scopes:
        await service._figures(recorder, units, scope, date(2026, 11, 1), date(2026, 12, 1), date(2026, 12, 1))
    if backend == "sqlite":
        columns = {row[1] for row in rows(rstore, "PRAGMA table_info(cases)")}
        [(definition,)] = rows(rstore, "SELECT sql FROM sqlite_master WHERE name = 'unit_month_changed'")
        [(journal,)] = rows(rstore, "SELECT sql FROM sqlite_master WHERE name = 'unit_month_followed_up'")
    else:
        columns = {row[0] for row in rows(rstore, "SELECT column_name FROM information_schema.columns"
                                                  " WHERE table_name = 'cases' AND table_schema = current_schema()")}
        [(definition,)] = rows(rstore, "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'unit_month_changed'"
                                       " AND tgrelid = 'cases'::regclass")
        [(journal,)] = rows(rstore, "SELECT pg_get_triggerdef(oid) FROM pg_trigger"
                                    " WHERE tgname = 'unit_month_followed_up' AND tgrelid = 'events'::regclass")
    words = set(re.findall(r"[a-z_]+", " ".join(recorder.sql)))
    read = columns & words - {"id"}  # a case's id never changes
    assert {"submitted_at", "decided_at", "first_answer_at", "rating", "unit", "category", "kind"} <= read
    assert read <= set(WATCHED), f"read by the figures but not watched: {read - set(WATCHED)}"
    assert _named(definition) == [list(WATCHED)] * 3
    # The journal's actions the figures read (回访, 重办): recording one raises its case's unit and month.
    actions = set(re.findall(r"\baction = '(\w+)'", " ".join(recorder.sql)))
    assert actions == set(WATCHED_ACTIONS)
    assert set(re.findall(r"'(\w+)'", journal.split("WHEN", 1)[1].split("BEGIN")[0].split("EXECUTE")[0])) == actions


def test_a_period_is_stamped_with_the_changes_to_its_units_cases_submitted_before_its_end() -> None:
    marks = Marks([("plant-1", "2026-12", 5), ("plant-1", "2026-10", 2), ("plant-2", "2026-11", 7),
                   ("plant-1", "2026-11", 3)])
    shanghai = datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai"))  # 2026-11-30 16:00 UTC
    assert marks.stamp("plant-1", shanghai) == 5  # October and November: December's came after it ended
    assert marks.stamp("plant-1", datetime(2026, 12, 1, tzinfo=UTC)) == 5  # the end is exclusive
    assert marks.stamp("plant-1", datetime(2026, 12, 1, 0, 0, 0, 1, tzinfo=UTC)) == 10
    assert marks.stamp("plant-1", datetime(2026, 10, 1, tzinfo=UTC)) == 0
    assert marks.stamp("plant-1", datetime(2027, 3, 1, tzinfo=UTC)) == 10
    assert marks.stamp("plant-2", datetime(2027, 1, 1, tzinfo=UTC)) == 7
    assert marks.stamp("hq", datetime(2027, 1, 1, tzinfo=UTC)) == 0  # nothing changed at the unit


def _run_script(target: str, text: str) -> None:
    """A migration's file run past the store, as the schema of before had it."""
    if backend_of(target) == "sqlite":
        with sqlite3.connect(target) as conn:
            conn.executescript(text)
        return
    import psycopg

    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(text.encode())  # several statements: no parameters


async def test_an_upgraded_database_counts_changes_by_unit_from_then_on(
    backend: str, tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Migration 0037 on a database with cases and 0033's count by month: nothing to fill in (a process
    remembers nothing when it starts); from then on each change is counted by its case's unit and month, and
    the two indexes a unit's month reads carry the unit."""
    async with fresh_database(backend, tmp_path, "upgrade.db", migrated=True) as target:
        store = await Services.open(target, review_org(), clock)
        try:
            numbers = await build_fixture(store, clock)
        finally:
            await store.close()
        assert rows(target, "SELECT month, unit, changes FROM unit_month_changes ORDER BY month")  # counted as they came
        # The schema of before 0037: 0033's table and triggers, the two indexes on their dates alone.
        for statement in UNDO_CHANGE_MARKS[backend]:
            execute(target, statement)
        folder = Path(__file__).parent.parent / "store" / "migrations" / ("postgresql" if backend != "sqlite" else "")
        _run_script(target, (folder / "0033_case_month_changes.sql").read_text(encoding="utf-8"))
        for index, columns in (("cases_by_decided", "decided_at"), ("cases_by_answer_due", "status, answer_due")):
            execute(target, f"DROP INDEX {index}")
            execute(target, f"CREATE INDEX {index} ON cases ({columns})")
        execute(target, "DROP INDEX events_followed_up")
        execute(target, "DROP INDEX events_redone")
        execute(target, "UPDATE cases SET rating = 'basic' WHERE number = ?", numbers["F"])
        assert rows(target, "SELECT month, changes FROM case_month_changes") == [("2026-09", 1)]
        assert [name for _, name, _ in migrations()][36:] == ["0037_unit_month_changes.sql"]
        set_version(target, 36)
        store = await Services.open(target, review_org(), clock)  # the upgrade
        try:
            assert rows(target, "SELECT count(*) FROM unit_month_changes") == [(0,)]
            with pytest.raises(db_error(backend)):
                rows(target, "SELECT count(*) FROM case_month_changes")
            seen = await trend(store.indicators)
            await store.cases.act(OFFICER_P1, numbers["B"], Action.DECIDE, parts=OPINION_PARTS,
                                  decision=Decision.EXPLAIN, body="意见")
            assert rows(target, "SELECT month, unit, changes FROM unit_month_changes") == [("2026-11", "plant-1", 1)]
            after = await trend(store.indicators)
            assert after == await trend(IndicatorService(store.indicators.ctx))
            assert after["2026-12"]["decided"] == seen["2026-12"]["decided"] + 1
        finally:
            await store.close()
        found = indexes(backend, target)
        assert (found["cases_by_decided"], found["cases_by_answer_due"]) == (
            ["decided_at", "unit"], ["status", "answer_due", "unit"])
        assert {"events_followed_up", "events_redone"} <= found.keys()
        code = await asyncio.to_thread(cli.main, ["verify-journal", "--db", target, "--lang", "en"])
        assert code == 0 and "hash chain intact" in capsys.readouterr().out


def test_the_memo_forgets_the_least_recently_used_and_any_older_stamp() -> None:
    memo = TrendMemo(size=2)
    scope = ("unit IN (?)", ["plant-1"])
    keys = [TrendMemo.key(date(2026, m, 1), date(2026, m + 1, 1), date(2026, 12, 1), "plant-1", scope)
            for m in (9, 10, 11)]
    memo.put(keys[0], 1, [1, 2])
    memo.put(keys[1], 1, [3, 4])
    assert list(memo.get(keys[0], 1) or []) == [1, 2]  # now the most recently used
    memo.put(keys[2], 1, [5, 6])  # the third: October's, the least recently used, goes
    assert memo.get(keys[1], 1) is None and list(memo.get(keys[2], 1) or []) == [5, 6]
    assert memo.get(keys[0], 2) is None  # a case of it changed since: not current
    assert (memo.hits, memo.misses) == (2, 2)
