"""Graded warnings (预警, 警告, 严重警告, 超期): the rule, the sweep's notices, the queue, cards, /alerts, /stats.

A case submitted on 2026-11-02 has its acceptance deadline on 11-17 (15 days).
With the default thresholds (50, 75, 90 %) and ``remaining = 17 - day``:
预警 when remaining × 100 ≤ 50 × 15 (from 11-10), 警告 when ≤ 25 × 15 (from 11-14),
严重警告 when ≤ 10 × 15 (from 11-16), 超期 from 11-18.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from telegram.ext import Application

from handlers.notifications import render
from store.clock import FakeClock
from store.db import migrations
from store.models import Decision
from store.org import Organization
from store.review import current_deadline
from store.services import Services
from store.supervision import LEVELS, UNTOLD, WARNING_SWEEP_SQL, WarningLevel, level_sql, warning_level
from store.workflow import Action
from tests.backends import fresh_database
from tests.conftest import OPINION_PARTS, draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import LEADER_OIL, LEADER_P1, OFFICER_P1, at, review_org, rorg, rstore
from tests.test_pg_schema import before_0029

__all__ = ["rorg", "rstore"]

W = WarningLevel
EXPECTED_LEVELS = {  # day of November 2026 → level of the case submitted on the 2nd
    **{d: W.NORMAL for d in range(2, 10)},
    10: W.NOTICE, 11: W.NOTICE, 12: W.NOTICE, 13: W.NOTICE,
    14: W.WARNING, 15: W.WARNING,
    16: W.SERIOUS, 17: W.SERIOUS,
    18: W.OVERDUE, 19: W.OVERDUE, 20: W.OVERDUE,
}


def warnings_sent(db: Path | str | Services) -> list[tuple[int, str]]:
    found = rows(db, "SELECT chat_id, params FROM outbox WHERE kind = 'sv_warning' ORDER BY id")
    return [(chat, json.loads(params)["level"]) for chat, params in found]


async def sweep_on(store: Services, clock: FakeClock, day: date, hour: int = 9) -> None:
    clock.set(at(day, hour))
    await store.review.sweep()


async def sql_levels(store: Services, today: date) -> dict[int, WarningLevel]:
    async with store.db.read() as conn:
        async with conn.execute(f"SELECT id, {level_sql(store.org, today, store.db.dialect)} AS rank FROM cases ORDER BY id") as cur:
            return {row["id"]: LEVELS[int(row["rank"])] async for row in cur}


async def test_a_sweep_reads_only_the_cases_not_yet_told_of_their_level(rstore: Services, clock: FakeClock) -> None:
    """Once told of 警告, a case is not read again by the next sweeps until its level rises (严重警告, 超期)."""
    case = (await rstore.cases.submit(petitioner(), draft(), "k")).case

    async def read() -> list[int]:
        async with rstore.db.read() as conn:
            async with conn.execute(WARNING_SWEEP_SQL) as cur:
                return [int(row["id"]) async for row in cur]

    await sweep_on(rstore, clock, date(2026, 11, 14))  # 警告, told
    assert await read() == []
    await sweep_on(rstore, clock, date(2026, 11, 15))
    assert await read() == []
    clock.set(at(date(2026, 11, 16), 9))
    await rstore.review.sweep()  # 严重警告: read once, told, then not again
    assert await read() == []
    await sweep_on(rstore, clock, date(2026, 11, 18))  # 超期
    assert await read() == []
    assert {level for _, level in warnings_sent(rstore)} == {"warning", "serious", "overdue"}
    assert rows(rstore, "SELECT told_rank FROM cases") == [(W.OVERDUE.rank,)]
    async with rstore.db.transaction() as conn:  # as if 超期 had not been marked told: read again, not sent again
        await conn.execute("UPDATE cases SET told_rank = ?", (W.SERIOUS.rank,))
    assert await read() == [case.id]
    sent = len(warnings_sent(rstore))
    await sweep_on(rstore, clock, date(2026, 11, 18), hour=15)  # warning_notices says 超期 was told
    assert len(warnings_sent(rstore)) == sent and await read() == []


async def test_the_sweep_reads_its_cases_from_the_partial_index_of_untold_levels(rstore: Services) -> None:
    """``UNTOLD`` is the index's own expression (or the index would not serve the query), and serves it."""
    assert W.WARNING.rank == 2  # the number the migration wrote into the index
    if rstore.db.dialect == "sqlite":
        (index,) = rows(rstore, "SELECT sql FROM sqlite_schema WHERE name = 'cases_untold'")
        assert index[0].split(" WHERE ", 1)[1].split() == UNTOLD.split()
        plan = rows(rstore, f"EXPLAIN QUERY PLAN {WARNING_SWEEP_SQL}")
        assert any("cases_untold" in str(row[-1]) for row in plan), plan
    else:  # PostgreSQL writes the expression back in its own words: the same columns and comparisons
        (index,) = rows(rstore, "SELECT indexdef FROM pg_indexes WHERE indexname = 'cases_untold'")
        assert "told_rank IS NULL" in index[0] and "told_due <> queue_due" in index[0]
        lines = ""
        with contextlib.suppress(_Undone):
            async with rstore.db.transaction() as conn:
                await conn.execute("SET LOCAL enable_seqscan = off")  # a table of a few rows: any plan will do
                # On a few rows the indexes of every open case (the queue's cases_by_rank, today's figures'
                # cases_open_by_unit) cost the same and may be chosen: without them, only an index whose
                # predicate the query implies can serve it.
                await conn.execute("DROP INDEX cases_by_rank")
                await conn.execute("DROP INDEX cases_open_by_unit")
                async with conn.execute(f"EXPLAIN {WARNING_SWEEP_SQL}") as cur:
                    lines = " ".join([str(row[0]) async for row in cur])
                raise _Undone  # the index is back
        assert "cases_untold" in lines, lines
        assert rows(rstore, "SELECT count(*) FROM pg_indexes WHERE indexname = 'cases_by_rank'") == [(1,)]


class _Undone(Exception):
    """Rolls the transaction back."""


async def test_an_upgraded_database_tells_no_level_twice(
    backend: str, tmp_path: Path, rorg: Organization, clock: FakeClock
) -> None:
    """Cases told of 警告 before migration 0029: marked from warning_notices by the upgrade, so the next
    sweep reads none of them; the level after is told as before."""
    async with fresh_database(backend, tmp_path, "upgrade.db", migrated=True) as target:
        store = await Services.open(target, rorg, clock)
        try:
            for i in range(3):
                await store.cases.submit(petitioner(5001 + i), draft(), f"k{i}")
            await sweep_on(store, clock, date(2026, 11, 14))  # 警告, told
            told = warnings_sent(store)
            assert told and {level for _, level in told} == {"warning"}
            number = next(n for n, name, _ in migrations() if "told_levels" in name)
            # A later migration is undone first (before_0029 has 0031's, 0033's and 0037's), unless it runs twice alike (0030:
            # settings; 0032: an index; 0034: declared types; 0035, 0036: indexes).
            assert [name for n, name, _ in migrations() if n > number] == [
                "0030_cases_vacuumed.sql", "0031_first_answer.sql", "0032_unit_day_index.sql",
                "0033_case_month_changes.sql", "0034_words_compact.sql", "0035_moments_to_the_second.sql",
                "0036_open_cases_by_unit.sql", "0037_unit_month_changes.sql"]
            version = (f"PRAGMA user_version = {number - 1}" if backend == "sqlite"
                       else f"UPDATE schema_version SET version = {number - 1}")
            async with store.db.transaction() as conn:  # back to the schema before it
                for statement in (*before_0029(backend), version):
                    await conn.execute(statement)
        finally:
            await store.close()
        store = await Services.open(target, rorg, clock)
        try:
            assert await store.db.schema_version() == migrations()[-1][0]
            assert rows(store, "SELECT told_rank FROM cases") == [(W.WARNING.rank,)] * 3
            async with store.db.read() as conn:
                async with conn.execute(WARNING_SWEEP_SQL) as cur:
                    assert await cur.fetchall() == []
            await sweep_on(store, clock, date(2026, 11, 14), hour=15)
            assert warnings_sent(store) == told
            await sweep_on(store, clock, date(2026, 11, 16))  # 严重警告: told once each
            assert [level for _, level in warnings_sent(store)].count("serious") >= 3
            assert rows(store, "SELECT DISTINCT told_rank FROM cases") == [(W.SERIOUS.rank,)]
        finally:
            await store.close()


async def test_the_level_is_the_same_in_python_and_sql_every_day(rstore: Services, clock: FakeClock) -> None:
    """Submitted, accepted, extended, transferred and decided cases, day by day for four months."""
    submitted = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    accepted = (await rstore.cases.submit(petitioner(5002), draft(), "b")).case.number
    await rstore.cases.act(OFFICER_P1, accepted, Action.ACCEPT)
    clock.set(at(date(2026, 11, 5)))
    extended = (await rstore.cases.submit(petitioner(5003), draft(), "c")).case.number
    await rstore.cases.act(OFFICER_P1, extended, Action.ACCEPT)
    await rstore.cases.act(OFFICER_P1, extended, Action.EXTEND, days=30, body="情况复杂，需延期")
    decided = (await rstore.cases.submit(petitioner(5004), draft(), "d")).case.number
    await rstore.cases.act(OFFICER_P1, decided, Action.ACCEPT)
    await rstore.cases.act(OFFICER_P1, decided, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.EXPLAIN, body="意见")
    clock.set(at(date(2026, 11, 9)))
    transferred = (await rstore.cases.submit(petitioner(5005), draft(), "e")).case.number
    clock.set(at(date(2026, 11, 12)))
    await rstore.cases.act(OFFICER_P1, transferred, Action.TRANSFER, unit="plant-2", body="转第二采油厂")
    numbers = [submitted, accepted, extended, decided, transferred]
    cases = [await rstore.cases.case_for(LEADER_OIL, n) for n in numbers]

    seen: set[WarningLevel] = set()
    day = date(2026, 11, 2)
    while day <= date(2027, 3, 1):
        in_sql = await sql_levels(rstore, day)
        for case in cases:
            level = warning_level(case, rstore.org, day)
            assert in_sql[case.id] == level, (case.number, case.status, day)
            seen.add(level)
        day += timedelta(days=1)
    assert seen == set(WarningLevel)
    assert warning_level(cases[0], rstore.org, date(2026, 11, 9)) is W.NORMAL
    assert warning_level(cases[0], rstore.org, date(2026, 11, 10)) is W.NOTICE
    # The extension lengthens the limit: 90 days from 11-05, due 2027-02-03; 警告 at 22 days left.
    assert warning_level(cases[2], rstore.org, date(2027, 1, 12)) is W.WARNING
    assert warning_level(cases[2], rstore.org, date(2027, 1, 11)) is W.NOTICE
    # The transfer starts the acceptance limit again: due 11-27.
    assert warning_level(cases[4], rstore.org, date(2026, 11, 16)) is W.NORMAL
    assert warning_level(cases[3], rstore.org, date(2027, 3, 1)) is W.NORMAL  # waits on the petitioner


async def test_todays_figures_in_stats_are_the_open_cases_levels_every_day(rstore: Services, clock: FakeClock) -> None:
    """/stats' 预警, 警告, 严重警告 and 超期 now come from the stored ranks (store.indicators._now): day by day,
    with no sweep between the days, they equal the levels and deadlines computed for each open case."""
    numbers = []
    for i, key in enumerate(("s1", "s2", "a1", "a2")):
        clock.set(at(date(2026, 11, 2 + 3 * i)))
        numbers.append((await rstore.cases.submit(petitioner(5001 + i), draft(), key)).case.number)
        if key.startswith("a"):
            await rstore.cases.act(OFFICER_P1, numbers[-1], Action.ACCEPT)
    cases = [await rstore.cases.case_for(LEADER_OIL, n) for n in numbers]
    seen: set[tuple[int, ...]] = set()
    day = date(2026, 11, 10)
    while day <= date(2027, 1, 20):
        clock.set(at(day))
        (row, *_) = (await rstore.indicators.indicators(LEADER_OIL, "plant-1")).rows
        levels = [warning_level(c, rstore.org, day) for c in cases if c.is_open]
        due = [d[1] for c in cases if c.is_open and (d := current_deadline(c)) is not None]
        expected = (levels.count(W.NOTICE), levels.count(W.WARNING), levels.count(W.SERIOUS),
                    sum(d < day for d in due))
        assert (row.notice_now, row.warning_now, row.serious_now, row.overdue_now) == expected, day
        seen.add(expected)
        day += timedelta(days=2 if day.day % 5 else 1)
    assert len(seen) >= 6 and any(f[0] for f in seen) and any(f[1] for f in seen) and any(f[2] for f in seen)


async def test_a_case_moves_through_every_level_and_each_notice_comes_once(
    rstore: Services, clock: FakeClock
) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number  # 11-02, due 11-17
    for day, expected in EXPECTED_LEVELS.items():
        await sweep_on(rstore, clock, date(2026, 11, day))
        await sweep_on(rstore, clock, date(2026, 11, day), hour=15)  # again the same day: nothing new
        assert rstore.supervision.level_of(await rstore.cases.case_for(OFFICER_P1, number)) is expected, day
    # The officer at 警告, 严重警告 and 超期; the plant's leader at 严重警告 as well.
    assert warnings_sent(rstore) == [
        (OFFICER_P1.id, "warning"),
        (OFFICER_P1.id, "serious"),
        (LEADER_P1.id, "serious"),
        (OFFICER_P1.id, "overdue"),
    ]
    assert rows(rstore, "SELECT stage, due, level FROM warning_notices ORDER BY id") == [
        ("accept", "2026-11-17", "warning"), ("accept", "2026-11-17", "serious"), ("accept", "2026-11-17", "overdue"),
    ]

    # Accepted on the 20th: a new deadline (2027-01-19), graded from the start again.
    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    await sweep_on(rstore, clock, date(2026, 12, 20))
    assert rstore.supervision.level_of(await rstore.cases.case_for(OFFICER_P1, number)) is W.NOTICE
    assert len(warnings_sent(rstore)) == 4
    await sweep_on(rstore, clock, date(2027, 1, 5))  # 14 days left of 60: 警告
    assert warnings_sent(rstore)[4:] == [(OFFICER_P1.id, "warning")]

    # What the officer reads.
    items = [i for i in await rstore.outbox.pending_notifications() if i.kind == "sv_warning"]
    texts = [str((await render(item, rstore))[0].text) for item in items]
    assert texts[0].startswith("🟠 <b>警告</b>：信访事项 <code>" + number)
    assert "受理告知时限已用 80%（期限2026年11月17日）" in texts[0]
    assert "即将超期" in texts[1] and "93%" in texts[1]
    assert "已超期 1 天（期限2026年11月17日）" in texts[3]
    assert "答复时限已用 77%（期限2027年1月19日）" in texts[4]


async def test_a_restart_neither_repeats_nor_misses_a_warning(
    backend: str, tmp_path: Path, rorg: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path, "warnings.db", migrated=True) as path:
        first = await Services.open(path, rorg, clock)
        await first.cases.submit(petitioner(), draft(), "a")  # due 11-17
        await sweep_on(first, clock, date(2026, 11, 14))  # 警告
        await first.close()

        second = await Services.open(path, rorg, clock)
        await sweep_on(second, clock, date(2026, 11, 14), hour=10)
        await sweep_on(second, clock, date(2026, 11, 16))  # 严重警告
        await second.close()

        # Down from the 17th to the 20th: on restart the level reached now is told, once.
        third = await Services.open(path, rorg, clock)
        await sweep_on(third, clock, date(2026, 11, 20))
        await third.close()
        fourth = await Services.open(path, rorg, clock)
        await sweep_on(fourth, clock, date(2026, 11, 21))
        assert warnings_sent(fourth) == [
            (OFFICER_P1.id, "warning"),
            (OFFICER_P1.id, "serious"),
            (LEADER_P1.id, "serious"),
            (OFFICER_P1.id, "overdue"),
        ]
        await fourth.close()


async def test_the_queue_sorts_by_level_then_deadline(rstore: Services, clock: FakeClock) -> None:
    clock.set(at(date(2026, 10, 1)))
    answer = (await rstore.cases.submit(petitioner(5001), draft(), "w")).case.number
    await rstore.cases.act(OFFICER_P1, answer, Action.ACCEPT)  # answer due 11-30
    clock.set(at(date(2026, 11, 2)))
    first = (await rstore.cases.submit(petitioner(5002), draft(), "v")).case.number  # due 11-17
    clock.set(at(date(2026, 11, 7)))
    # due 11-22, a Sunday: the next working day, 11-23 (store/workdays.py)
    later = (await rstore.cases.submit(petitioner(5003), draft(), "y")).case.number
    clock.set(at(date(2026, 11, 15)))
    # 11-15: the first has 2 of 15 days left (警告), the answer 15 of 60 (警告), the later 8 of 15 (normal):
    # the answer (due 11-30) comes before the later one (due 11-23), its level being higher.
    cases, total = await rstore.cases.open_cases_for(OFFICER_P1)
    assert total == 3
    assert [c.number for c in cases] == [first, answer, later]
    assert [rstore.supervision.level_of(c) for c in cases] == [W.WARNING, W.WARNING, W.NORMAL]
    clock.set(at(date(2026, 11, 18)))  # the first is overdue; a page of one after it
    cases, _ = await rstore.cases.open_cases_for(OFFICER_P1, 1, 1)
    assert [c.number for c in cases] == [answer]


# ------------------------------------------------------- what people see


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore, OfflineRequest()) as running:
        yield running


async def test_cards_queue_alerts_and_stats_show_the_levels(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    warned = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number  # due 11-17
    clock.set(at(date(2026, 11, 8)))
    calm = (await rstore.cases.submit(petitioner(5002), draft(), "b")).case.number  # due 11-23
    clock.set(at(date(2026, 11, 14)))  # 警告 and normal

    await feed(application, Updates(OFFICER_P1.id).text("/queue"))
    queue = request.texts_to(OFFICER_P1.id)[-1]
    assert f"🟠 警告 · <code>{warned}</code>" in queue
    assert f"\n\n<code>{calm}</code>" in queue  # normal: no marker
    assert queue.index(warned) < queue.index(calm)

    await feed(application, Updates(OFFICER_P1.id).text(f"/case {warned}"))
    assert "督办预警：🟠 警告（受理告知时限已用 80%）" in "\n".join(request.texts_to(OFFICER_P1.id)[-3:])
    await feed(application, Updates(OFFICER_P1.id, language_code="en").text(f"/case {calm}"))
    assert "Supervision:" not in "\n".join(request.texts_to(OFFICER_P1.id)[-3:])

    await feed(application, Updates(LEADER_OIL.id).text("/alerts"))
    alerts = "\n".join(request.texts_to(LEADER_OIL.id))
    assert "预警中的信访事项</b>（共 1 件" in alerts
    assert f"🟠 警告 · <code>{warned}</code> · 第一采油厂 · 受理告知期限2026年11月17日" in alerts
    await feed(application, Updates(OFFICER_P1.id).text("/alerts"))
    assert request.texts_to(OFFICER_P1.id)[-1] == "该功能仅供领导和管理员使用。"

    clock.set(at(date(2026, 11, 18)))  # 超期 and 预警
    await feed(application, Updates(LEADER_OIL.id).text("/stats plant-1"))
    stats = "\n".join(request.texts_to(LEADER_OIL.id))
    assert "当前预警：🟡 预警 1 · 🟠 警告 0 · 🔴 严重警告 0 · ⛔ 超期 1" in stats
    await feed(application, Updates(LEADER_OIL.id, language_code="en").text("/alerts"))
    alerts = request.texts_to(LEADER_OIL.id)[-1]
    assert alerts.index(f"⛔ Overdue · <code>{warned}</code>") < alerts.index(f"🟡 Notice · <code>{calm}</code>")


def test_thresholds_come_from_the_organisation_file() -> None:
    org = review_org("warn_notice_pct = 20\nwarn_warning_pct = 40\nwarn_serious_pct = 60\n")
    assert (org.monitoring.warn_notice_pct, org.monitoring.warn_serious_pct) == (20, 60)
