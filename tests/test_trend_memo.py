"""The trend's months remembered (store/trend_memo.py, migration 0033): never older than counting them again.

The fixture is tests/test_indicators.py's (cases of September to November, "now" 2026-12-01), seen by
the oilfield's leader with December chosen: the trend is January to December 2026.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.jobs import TREND_FIRST_SECONDS, TREND_INTERVAL_SECONDS, run_trend_warming
from store.clock import FakeClock
from store.context import scope_sql
from store.db import migrations
from store.indicators import TREND_FIGURES, IndicatorService
from store.models import Actor, ActorRole, Decision
from store.org import Organization, load_org
from store.services import Services
from store.trend_memo import WATCHED, Marks
from store.workflow import Action
from tests.backends import execute, fresh_database, rows
from tests.conftest import OPINION_PARTS, ORG_FILE
from tests.offline import offline_app
from tests.review_fixture import LEADER_OIL, OFFICER_P1, review_org, rorg, rstore
from tests.test_indicators import build_fixture
from tests.test_pg_schema import UNDO_0033
from tests.test_postgresql_native import set_version

__all__ = ["rorg", "rstore"]


async def trend(service: IndicatorService) -> dict[str, dict[str, Any]]:
    report = await service.indicators(LEADER_OIL, period="2026-12")
    return {point.label: point.model_dump(exclude={"label"}) for point in report.trend}


async def test_a_month_is_remembered_until_a_case_that_counts_in_it_changes(
    rstore: Services, clock: FakeClock
) -> None:
    numbers = await build_fixture(rstore, clock)
    service, memo = rstore.indicators, rstore.indicators.trend_memo

    async def checked(hits: int) -> dict[str, dict[str, Any]]:
        """The trend as the leader sees it, equal to a service that remembers nothing; ``hits`` months not
        counted again."""
        before = memo.hits
        seen = await trend(service)
        assert seen == await trend(IndicatorService(service.ctx))
        assert memo.hits - before == hits
        return seen

    first = await checked(hits=0)
    assert len(first) == 12 and first["2026-11"]["decided"] == 3 and first["2026-10"]["received"] == 1
    assert await checked(hits=12) == first  # nothing changed: no month counted again

    # A change that no figure reads (the subject, the stored queue rank): still remembered.
    execute(rstore, "UPDATE cases SET subject = 'x', queue_rank = NULL WHERE number = ?", numbers["F"])
    assert await checked(hits=12) == first

    # Through the store: B (received in November) decided today, December's figure. January to October
    # are remembered; November (B's month) and December are counted again.
    await rstore.cases.act(OFFICER_P1, numbers["B"], Action.DECIDE, parts=OPINION_PARTS,
                           decision=Decision.EXPLAIN, body="意见")
    now = await checked(hits=10)
    assert now["2026-12"]["decided"] == first["2026-12"]["decided"] + 1

    # Past the store, as any path might: F (received in September, decided 11-05) rated. September to
    # December are counted again, and November's rated figure moves.
    execute(rstore, "UPDATE cases SET rating = 'satisfied' WHERE number = ?", numbers["F"])
    rated = await checked(hits=8)
    assert (rated["2026-11"]["rated"], rated["2026-11"]["satisfied"]) == (now["2026-11"]["rated"] + 1,
                                                                         now["2026-11"]["satisfied"] + 1)

    # E (received in October) moved out of the oilfield: October counts one case fewer.
    execute(rstore, "UPDATE cases SET unit = 'refinery' WHERE number = ?", numbers["E"])
    moved = await checked(hits=9)
    assert moved["2026-10"]["received"] == rated["2026-10"]["received"] - 1

    # The next day nothing remembered is used: the figures count deadlines passed by today.
    clock.set(datetime(2026, 12, 2, 1, tzinfo=UTC))
    await checked(hits=0)


async def test_the_chosen_month_is_added_up_from_the_period_count_not_counted_again(
    rstore: Services, clock: FakeClock, monkeypatch: Any
) -> None:
    """With a month chosen (this month, by default), that trend month is the period's own count added up:
    one count of the twelve fewer, and the same figures as December counted on its own (the trend of the
    quarter, whose months are the same twelve, counts December directly)."""
    numbers = await build_fixture(rstore, clock)
    await rstore.cases.act(OFFICER_P1, numbers["B"], Action.DECIDE, parts=OPINION_PARTS,
                           decision=Decision.EXPLAIN, body="意见")  # a December figure, so December is not all zeros

    def counting(service: IndicatorService) -> list[Any]:
        calls: list[Any] = []
        original = service._figures

        async def spy(*args: Any, **kwargs: Any) -> Any:
            calls.append(kwargs.get("only"))
            return await original(*args, **kwargs)

        monkeypatch.setattr(service, "_figures", spy)
        return calls

    by_month = IndicatorService(rstore.indicators.ctx)
    calls = counting(by_month)
    month = await by_month.indicators(LEADER_OIL, period="2026-12")
    assert len(calls) == 12 and calls.count(None) == 1  # the period's own count, and eleven other months

    by_quarter = IndicatorService(rstore.indicators.ctx)
    calls = counting(by_quarter)
    quarter = await by_quarter.indicators(LEADER_OIL, period="2026-Q4")
    assert len(calls) == 13 and calls.count(None) == 1  # a quarter is no trend month: all twelve counted
    assert [p.label for p in month.trend] == [p.label for p in quarter.trend]
    assert month.trend[-1].label == "2026-12" and month.trend[-1].decided == 1
    assert month.trend == quarter.trend


async def test_the_leaders_own_trends_are_counted_ahead(rstore: Services, clock: FakeClock) -> None:
    """The job counts each leader's own view (their units, this month) where it is not remembered: the first
    view of the day finds all twelve months counted."""
    numbers = await build_fixture(rstore, clock)
    async with offline_app(rstore) as (application, _request):
        assert application.job_queue is not None
        (job,) = application.job_queue.get_jobs_by_name("trend-warming")
        assert job.job.trigger.interval.total_seconds() == TREND_INTERVAL_SECONDS
    assert TREND_FIRST_SECONDS >= 60  # a restart answers users and drains the outbox first
    memo = rstore.indicators.trend_memo
    await run_trend_warming(rstore.indicators)
    counted = memo.misses
    views = counted // 12
    assert counted == 12 * views and views >= 3  # the group's admin and the companies' leaders, each once

    hits = memo.hits
    seen = await trend(rstore.indicators)  # the oilfield's leader's own view: December, the current month
    assert memo.hits - hits == 12 and memo.misses == counted
    assert seen == await trend(IndicatorService(rstore.indicators.ctx))

    assert await rstore.indicators.warm_trends() == 0  # nothing changed: nothing counted
    await rstore.cases.act(OFFICER_P1, numbers["B"], Action.DECIDE, parts=OPINION_PARTS,
                           decision=Decision.EXPLAIN, body="意见")
    assert await rstore.indicators.warm_trends() == 2 * views  # B's month (November) and December, each view


async def test_a_transaction_raises_each_month_it_changes(backend: str, rstore: Services, clock: FakeClock) -> None:
    """Every transaction that changes a case of a month raises that month's count, so a reader after its
    commit sees the month changed. On PostgreSQL once per transaction and month: a counter row updated
    again within one transaction leaves a version behind for each later update to walk (a copy of a
    million cases grew quadratic)."""
    await build_fixture(rstore, clock)

    def count(month: str) -> int:
        return int(rows(rstore, "SELECT changes FROM case_month_changes WHERE month = ?", month)[0][0])

    november = count("2026-11")
    async with rstore.db.transaction() as conn:
        for rating in ("basic", "dissatisfied", "basic"):  # three changes to each of November's cases
            await conn.execute("UPDATE cases SET rating = ? WHERE submitted_at >= ? AND submitted_at < ?",
                               (rating, "2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00"))
    cases = int(rows(rstore, "SELECT count(*) FROM cases WHERE submitted_at >= '2026-11-01T00:00:00+00:00'"
                             " AND submitted_at < '2026-12-01T00:00:00+00:00'")[0][0])
    assert cases == 5
    assert count("2026-11") == november + (1 if backend == "postgresql" else 3 * cases)
    execute(rstore, "UPDATE cases SET rating = 'satisfied' WHERE submitted_at >= '2026-11-01T00:00:00+00:00'"
                    " AND submitted_at < '2026-12-01T00:00:00+00:00'")  # a transaction of its own: counted again
    assert count("2026-11") == november + (2 if backend == "postgresql" else 4 * cases)


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


async def test_the_triggers_watch_every_column_the_trend_and_the_scopes_read(
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
        await service._figures(recorder, units, scope, date(2026, 11, 1), date(2026, 12, 1), date(2026, 12, 1),
                               only=TREND_FIGURES)
    if backend == "sqlite":
        columns = {row[1] for row in rows(rstore, "PRAGMA table_info(cases)")}
        [(definition,)] = rows(rstore, "SELECT sql FROM sqlite_master WHERE name = 'case_month_changed'")
    else:
        columns = {row[0] for row in rows(rstore, "SELECT column_name FROM information_schema.columns"
                                                  " WHERE table_name = 'cases' AND table_schema = current_schema()")}
        [(definition,)] = rows(rstore, "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'case_month_changed'"
                                       " AND tgrelid = 'cases'::regclass")
    words = set(re.findall(r"[a-z_]+", " ".join(recorder.sql)))
    read = columns & words
    assert {"submitted_at", "decided_at", "first_answer_at", "rating", "unit", "category", "kind"} <= read
    assert read <= set(WATCHED), f"read by the trend but not watched: {read - set(WATCHED)}"
    assert _named(definition) == [list(WATCHED)] * 3


def test_a_period_is_stamped_with_the_changes_to_cases_submitted_before_its_end() -> None:
    marks = Marks([("2026-10", 2), ("2026-11", 3), ("2026-12", 5)])
    shanghai = datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai"))  # 2026-11-30 16:00 UTC
    assert marks.stamp(shanghai) == 5  # October and November: December's cases were submitted after it ended
    assert marks.stamp(datetime(2026, 12, 1, tzinfo=UTC)) == 5  # the end is exclusive
    assert marks.stamp(datetime(2026, 12, 1, 0, 0, 0, 1, tzinfo=UTC)) == 10
    assert marks.stamp(datetime(2026, 10, 1, tzinfo=UTC)) == 0


async def test_an_upgraded_database_counts_changes_from_then_on(
    backend: str, tmp_path: Path, clock: FakeClock
) -> None:
    """Migration 0033 on a database with cases: nothing to fill in (a process remembers nothing when it starts);
    from then on each change is counted by its case's month."""
    async with fresh_database(backend, tmp_path, "upgrade.db", migrated=True) as target:
        store = await Services.open(target, review_org(), clock)
        try:
            numbers = await build_fixture(store, clock)
        finally:
            await store.close()
        assert rows(target, "SELECT month, changes FROM case_month_changes ORDER BY month")  # counted as they came
        for statement in UNDO_0033[backend]:
            execute(target, statement)
        # 0033 undone; the later ones run twice alike (0034: declared types; 0035, 0036: indexes).
        assert [name for _, name, _ in migrations()][33:] == [
            "0034_words_compact.sql", "0035_moments_to_the_second.sql", "0036_open_cases_by_unit.sql"]
        set_version(target, 32)
        store = await Services.open(target, review_org(), clock)  # the upgrade
        try:
            assert rows(target, "SELECT count(*) FROM case_month_changes") == [(0,)]
            seen = await trend(store.indicators)
            await store.cases.act(OFFICER_P1, numbers["B"], Action.DECIDE, parts=OPINION_PARTS,
                                  decision=Decision.EXPLAIN, body="意见")
            assert rows(target, "SELECT month, changes FROM case_month_changes") == [("2026-11", 1)]
            after = await trend(store.indicators)
            assert after == await trend(IndicatorService(store.indicators.ctx))
            assert after["2026-12"]["decided"] == seen["2026-12"]["decided"] + 1
        finally:
            await store.close()
