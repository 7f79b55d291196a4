"""``local_day_sql`` equals ``local_date`` (Python) for every instant tried, on both backends.

SQLite's SQL is generated from the zone's UTC offsets (store/clock.py), PostgreSQL's is
its own ``AT TIME ZONE`` with the zone's name; this proves the rules are one: random
instants over the generated years, each offset change and the second either side of it,
instants outside the years (the Python function answers there on SQLite), and NULL.
Zones with summer time (including a half-hour one) and without.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store.clock import LOCAL_DAY_YEARS, iso, local_date, local_day_sql, offset_stretches
from store.pg import load_as_texts
from tests.backends import pg_url

ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]


def instants(tz: ZoneInfo) -> list[datetime]:
    rng = random.Random(str(tz))
    start = datetime(LOCAL_DAY_YEARS[0], 1, 1, tzinfo=UTC)
    span = (datetime(LOCAL_DAY_YEARS[1], 1, 1, tzinfo=UTC) - start).total_seconds()
    found = [start + timedelta(seconds=rng.uniform(0, span)) for _ in range(2000)]
    for change, _ in offset_stretches(tz):
        found += [change + timedelta(seconds=s) for s in (-1, -0.000001, 0, 1)]
    # Around local midnight (where the day turns) and outside the generated years.
    found += [datetime(2026, 12, 20, 16, 0, tzinfo=UTC) + timedelta(hours=h, seconds=s)
              for h in range(-14, 15) for s in (-1, 0)]
    found += [datetime(1999, 12, 31, 20, tzinfo=UTC), datetime(2071, 6, 1, 12, tzinfo=UTC),
              datetime(LOCAL_DAY_YEARS[1], 1, 1, tzinfo=UTC)]
    return found


@pytest.mark.parametrize("zone", ZONES)
def test_sql_equals_python(zone: str) -> None:
    tz = ZoneInfo(zone)
    db = sqlite3.connect(":memory:")
    db.create_function("local_day", 1, lambda v: None if v is None else local_date(datetime.fromisoformat(v), tz)
                       .isoformat(), deterministic=True)
    db.execute("CREATE TABLE t (ts TEXT)")
    moments = instants(tz)
    db.executemany("INSERT INTO t VALUES (?)", [(iso(m),) for m in moments] + [(None,)])
    got = dict(db.execute(f"SELECT ts, {local_day_sql('ts', tz)} FROM t").fetchall())
    wrong = {ts: day for ts, day in got.items()
             if day != (None if ts is None else local_date(datetime.fromisoformat(ts), tz).isoformat())}
    assert not wrong, f"{len(wrong)} instants differ, e.g. {sorted(wrong.items(), key=str)[:3]}"
    assert got[None] is None and len(got) > 2000


def test_summer_time_is_seen() -> None:
    # Berlin changes its offset twice a year: 2 × 60 years, plus the first stretch.
    assert len(offset_stretches(ZoneInfo("Europe/Berlin"))) == 121
    assert len(offset_stretches(ZoneInfo("Asia/Shanghai"))) == 1


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.postgresql
def test_postgresql_sql_equals_python(zone: str) -> None:
    """PostgreSQL's own ``AT TIME ZONE`` (no function of the migrations), for the same instants."""
    import psycopg

    tz = ZoneInfo(zone)
    moments = instants(tz)
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        load_as_texts(conn)  # a date read back as the store reads it: 'YYYY-MM-DD'
        found = conn.execute(f"SELECT ts, {local_day_sql('ts', tz, 'postgresql')} FROM unnest(%s::text[]) AS t (ts)",
                             [[iso(m) for m in moments] + [None]]).fetchall()
    got: dict[str | None, str | None] = dict(found)
    wrong = {ts: day for ts, day in got.items()
             if day != (None if ts is None else local_date(datetime.fromisoformat(ts), tz).isoformat())}
    assert not wrong, f"{len(wrong)} instants differ, e.g. {sorted(wrong.items(), key=str)[:3]}"
    assert got[None] is None and len(got) > 2000


def test_postgresql_names_the_zone_inline() -> None:
    sql = local_day_sql("c.k_at", ZoneInfo("Asia/Shanghai"), "postgresql")
    assert sql == "CAST(CAST(c.k_at AS timestamptz) AT TIME ZONE 'Asia/Shanghai' AS date)"
    assert "local_day" not in sql
