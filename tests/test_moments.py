"""Moments to the second (migration 0035, store/clock.py): the form, its order, its hash, the upgrade.

The store wrote ``2026-11-20T02:00:00.123456+00:00`` before and writes
``2026-11-20T02:00:00Z`` now. Both read as the same instant everywhere
(Python, pydantic, SQLite's date functions, PostgreSQL), compare in the
order of their instants across seconds, and hash in the older form, so the
journal's rule did not change; an upgraded database keeps its journal's
text and counts its cases in the right months.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import cli
from store.clock import FakeClock, hashed_moment, iso, local_day_sql
from store.db import migrations
from store.models import Actor, ActorRole
from store.org import Organization
from store.pg import _moment_text, load_as_texts
from store.services import Services
from store.workflow import Action
from tests.backends import execute, fresh_database, pg_url, rows
from tests.conftest import draft, petitioner

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)
SHANGHAI = ZoneInfo("Asia/Shanghai")

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                       timezones=st.just(UTC))


def before_0035(moment: datetime) -> str:
    """How the store wrote a moment before migration 0035."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


@given(moments)
def test_a_moment_is_kept_to_the_second_and_hashed_as_before(moment: datetime) -> None:
    text = iso(moment)
    assert len(text) == 20 and text.endswith("Z")
    assert datetime.fromisoformat(text) == second(moment)
    assert hashed_moment(text) == before_0035(second(moment))  # a new row hashes as the older form
    assert hashed_moment(before_0035(moment)) == before_0035(moment)  # an older row hashes its very text


@given(moments, moments)
def test_texts_of_either_form_compare_as_their_moments_in_different_seconds(a: datetime, b: datetime) -> None:
    if second(a) == second(b):
        return  # within one second an older text sorts below the newer (store/clock.py)
    assert (before_0035(a) < iso(b)) == (a < b)
    assert (iso(a) < before_0035(b)) == (a < b)
    assert (iso(a) < iso(b)) == (a < b)


@given(st.lists(moments, min_size=1, max_size=20))
def test_sqlite_reads_either_form_as_the_same_local_day(found: list[datetime]) -> None:
    db = sqlite3.connect(":memory:")
    db.create_function("local_day", 1, lambda t: datetime.fromisoformat(t).astimezone(SHANGHAI).date().isoformat())
    day = f"WITH given (ts) AS (SELECT ?) SELECT {local_day_sql('ts', SHANGHAI)} FROM given"
    for moment in found:
        expected = moment.astimezone(SHANGHAI).date().isoformat()
        assert db.execute(day, (iso(moment),)).fetchone()[0] == expected
        assert db.execute(day, (before_0035(moment),)).fetchone()[0] == expected
        assert db.execute("SELECT julianday(?) - julianday(?)", (iso(moment), before_0035(second(moment)))
                          ).fetchone()[0] == 0


def undo_0035(backend: str, target: str) -> None:
    """The schema as it was before 0035 (its moments are in the older form already)."""
    execute(target, "CREATE INDEX cases_by_petitioner_matter ON cases (petitioner_id, category, unit, submitted_at)")
    if backend == "sqlite":
        execute(target, "DROP INDEX events_by_case")
        execute(target, "CREATE INDEX events_by_case ON events (case_id, id)")
        execute(target, "PRAGMA user_version = 34")
    else:
        execute(target, "UPDATE schema_version SET version = 34")


def indexes(backend: str, target: str) -> dict[str, list[str]]:
    if backend == "sqlite":
        names = [n for (n,) in rows(target, "SELECT name FROM sqlite_schema WHERE type = 'index'"
                                            " AND tbl_name IN ('cases', 'events') AND sql IS NOT NULL")]
        return {n: [c for _, _, c in rows(target, f"PRAGMA index_info({n})")] for n in names}
    found = rows(target, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                         " AND tablename IN ('cases', 'events')")
    return {n: [c.strip() for c in d.split("(", 1)[1].rstrip(")").split(",")] for n, d in found}


async def test_an_upgraded_database_keeps_its_journal_and_counts_its_cases_in_their_months(
    backend: str, tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A later one would be undone here too, unless it runs twice alike (0036: an index; 0037: the changes by
    # unit and month, and two indexes).
    assert [name for _, name, _ in migrations()][34:] == [
        "0035_moments_to_the_second.sql", "0036_open_cases_by_unit.sql", "0037_unit_month_changes.sql"]
    # A quarter of a second into 1 November in Beijing: the first second of the month.
    first_second = datetime(2026, 10, 31, 16, 0, 0, 250_000, tzinfo=UTC)
    clock = FakeClock(first_second)
    async with fresh_database(backend, tmp_path, "old.db") as target:
        with monkeypatch.context() as before:  # written as the store wrote before 0035
            before.setattr(iso, "__code__", before_0035.__code__)
            store = await Services.open(target, org, clock)
            try:
                old = (await store.cases.submit(petitioner(5001), draft(), "old")).case
                clock.advance(days=2, seconds=1, microseconds=-250_000)  # a whole second: PostgreSQL reads it as …Z
                await store.cases.act(OFFICER, old.number, Action.ACCEPT)
            finally:
                await store.close()
        undo_0035(backend, target)
        # PostgreSQL keeps instants (timestamptz) and reads a whole second as the store writes it now.
        whole = "2026-11-02T16:00:01.000000+00:00" if backend == "sqlite" else "2026-11-02T16:00:01Z"
        submitted = rows(target, "SELECT submitted_at, accepted_at FROM cases")
        assert submitted == [("2026-10-31T16:00:00.250000+00:00", whole)]
        events_before = rows(target, "SELECT * FROM events ORDER BY id")
        assert [at for (at,) in rows(target, "SELECT at FROM events ORDER BY id")] == [
            "2026-10-31T16:00:00.250000+00:00", whole]

        clock.advance(hours=1, seconds=-1)
        store = await Services.open(target, org, clock)  # the upgrade
        try:
            assert await store.db.schema_version() == migrations()[-1][0]
            new = (await store.cases.submit(petitioner(5002), draft(), "new")).case
            await store.cases.act(OFFICER, old.number, Action.REPLY, body="请提供工资条")  # the old case goes on
            assert rows(target, "SELECT * FROM events ORDER BY id")[:len(events_before)] == events_before
            # SQLite's cases rewritten to the second (texts compare there); PostgreSQL's as they were (timestamptz).
            first = "2026-10-31T16:00:00Z" if backend == "sqlite" else "2026-10-31T16:00:00.250000+00:00"
            assert rows(target, "SELECT submitted_at FROM cases ORDER BY id") == [(first,), ("2026-11-02T17:00:00Z",)]
            november = await store.indicators.indicators(ADMIN, period="2026-11")
            october = await store.indicators.indicators(ADMIN, period="2026-10")
            # The first second's case counts in November.
            assert sum(r.received for r in november.rows if r.depth == 0) == 2
            assert sum(r.received for r in october.rows if r.depth == 0) == 0
            timeline = await store.cases.timeline(old.id, public_only=False)
            assert [e.action for e in timeline] == ["submit", "accept", "reply"]
            assert timeline[0].at == first_second and timeline[-1].at == datetime(2026, 11, 2, 17, tzinfo=UTC)
            assert (await store.cases.case_for(ADMIN, new.number)).submitted_at == datetime(
                2026, 11, 2, 17, tzinfo=UTC)
        finally:
            await store.close()
        code = await asyncio.to_thread(cli.main, ["verify-journal", "--db", target, "--lang", "en"])
        assert code == 0 and "hash chain intact" in capsys.readouterr().out
        found = indexes(backend, target)
        assert "cases_by_petitioner_matter" not in found
        assert found["events_by_case"] == (["case_id"] if backend == "sqlite" else ["case_id", "id"])
        if backend == "sqlite":
            assert rows(target, "PRAGMA integrity_check") == [("ok",)]


def test_the_journal_hashes_a_moment_in_the_form_of_before() -> None:
    """The golden hash of tests/test_compact_journal.py holds for a row written to the second."""
    assert hashed_moment("2026-11-20T02:00:00Z") == "2026-11-20T02:00:00.000000+00:00"
    assert iso(datetime(2026, 11, 20, 10, 0, 0, 999_999, tzinfo=ZoneInfo("Asia/Shanghai"))) == "2026-11-20T02:00:00Z"
    assert iso(datetime(2026, 11, 20, 2, tzinfo=UTC) + timedelta(microseconds=1)) == "2026-11-20T02:00:00Z"


def test_postgresql_texts_read_as_sqlite_keeps_them() -> None:
    """store/pg.py reads a timestamptz back as the text SQLite holds for the same row."""
    assert _moment_text("2026-11-02 01:00:00+00") == "2026-11-02T01:00:00Z"  # written since 0035
    assert _moment_text("2026-11-02 01:00:00.5+00") == "2026-11-02T01:00:00.500000+00:00"  # written before
    assert _moment_text("2026-11-02 01:00:00.123456+00") == "2026-11-02T01:00:00.123456+00:00"
    assert _moment_text("2026-11-02 09:00:00+08") is None  # another session's zone: parsed instead


async def test_a_session_in_another_zone_reads_the_same_texts() -> None:
    """A URL whose options set another TimeZone: the loader parses PostgreSQL's text and gives the same."""
    conn = await psycopg.AsyncConnection.connect(pg_url(), autocommit=True, options="-c TimeZone=Asia/Shanghai")
    async with conn:
        load_as_texts(conn)
        found = await (await conn.execute(
            "SELECT CAST('2026-11-02T01:00:00Z' AS timestamptz),"
            " CAST('2026-11-02T01:00:00.25+00:00' AS timestamptz)")).fetchone()
    assert found == ("2026-11-02T01:00:00Z", "2026-11-02T01:00:00.250000+00:00")
