"""Store at scale: 1,000,000 cases, then the queries that must stay fast.

Run from the repository root::

    .venv/bin/python -m bench.store_scale [--cases 1000000] [--db /tmp/scale.db] [--keep] [--reuse]

The database is made by the store's own migrations, then filled with direct
SQL: five years of cases (most closed, the recent ones open, a few overdue),
their journal events (about four per case, each with a 32-byte SHA-256-sized digest,
as the store writes them since migration 0023) and
the outbox rows they caused, all sent, as they stay in the table. No
attachments. Then each query runs 200 times with varying arguments:

- officer queue: ``CaseService.open_cases_for`` (count + first page), for an
  officer of one plant, of the oilfield company, of headquarters, and an admin;
- overdue sweep: the ids of open cases past their acceptance or answer date (the query of
  older versions, kept for comparison);
- warning sweep: the cases the daily sweep reads (``store.supervision.WARNING_SWEEP_SQL``: 警告 or
  higher by stored rank, not yet told of it, from the partial index ``cases_untold``), as a day's sweep
  finds them: every case told of its level the day before, one in fifty risen since. The first sweep
  of a database never swept (or just upgraded), which reads every case in warning once, is timed
  once beside it (``warning_sweep_first``);
- a petitioner's own cases (``cases_of_petitioner``);
- the indicators as a leader waits for them: ``IndicatorService.indicators`` (/stats and the
  dashboard: a month's figures for every unit in scope, today's, and twelve trend months), for the
  group's leader and one company's. (Until 2026-12-07 two queries of this benchmark's own stood for
  them, a month's five figures from one index; no code of the store ran them.) ``stats_*`` is a first
  view of a period (no unit's month remembered); ``stats_*_warmed`` the first view of this month after
  the job counted the leaders' own views ahead (a day's first view), ``stats_*_past_month`` a month of
  the past year first viewed after it (the job counts two years); ``stats_*_again`` this month's
  view opened again after a recent case changed (its unit's months counted again, the other units'
  and the earlier months remembered: store/trend_memo.py). The store's clock stands at the data's
  "now" (2026-11-20), so this month is November, the month the latest cases came in.

Reported: p50/p99 per query, bytes per case (file size ÷ cases, journal
and outbox included) and the query plans.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from bench.harness import parse_args, percentile, report
from store.cases import PETITIONER_CASES
from store.clock import FakeClock, iso
from store.db import Database, is_postgres_url
from store.event_data import AcceptData, ActData, CloseData, DecideData, DeclineData, EventData, SubmitData, stored_data
from store.journal import data_text
from store.models import Decision
from store.opinion import OpinionParts
from store.org import DeclineReason, example_org
from store.review import RATED
from store.services import Services
from store.sqltext import Row
from store.supervision import WARNING_SWEEP_SQL, current_ranks, queue_sql
from store.trend_memo import TrendMemo
from store.words import Words, words
from store.workflow import Action

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
RETENTION = timedelta(days=90)  # store.retention: sent outbox rows older than this are deleted
YEARS = 5
OPEN = ("submitted", "accepted", "in_progress", "review", "rereview")


def _key(rng: random.Random) -> str:
    """A submit key of the form store.models.new_key makes (96 bits, URL-safe base64), from the benchmark's seed."""
    return base64.urlsafe_b64encode(rng.getrandbits(96).to_bytes(12, "big")).decode()


def _text(rng: random.Random, low: int, high: int) -> str:
    n = rng.randint(low, high)
    start = rng.randrange(0, len(BIG) - n)
    return BIG[start:start + n]


def _prose(rng: random.Random, n: int) -> str:
    """``n`` characters of text shaped like people's Chinese prose, as far as storage can tell.

    Words of one to four characters (30, 55, 10, 5 in a hundred), each character drawn by a Zipf law
    (exponent 0.9) over 5,000 characters; 20,000 such words, used by a Zipf law (exponent 1.1), as
    a language uses its words; a comma or stop every three to ten words; now and then a number (a
    sum, a year, a count of days). What matters here is how well it compresses (store/words.py), and
    it compresses a little less than real prose: stored, pieces of 40-400 characters keep 0.57 of
    their UTF-8 bytes, of 20-120 0.66, of 8-30 0.69, where pieces of those lengths from a real
    essay on petition work in an oil company (Chinese, 2,800 characters) kept 0.54, 0.64 and 0.70.
    (Until 2026-12-07 this text was one character repeated, by a generator seeded anew for each
    character. Without compression a text's size depends on its length alone, so the figures
    before were not affected; with it, that text would have measured nothing real.)
    """
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 5000)]
    rng.shuffle(chars)  # the frequent ones spread over the block, not its first code points
    by_char = list(accumulate(1 / (rank + 1) ** 0.9 for rank in range(len(chars))))
    vocabulary = ["".join(rng.choices(chars, cum_weights=by_char, k=rng.choices((1, 2, 3, 4), (30, 55, 10, 5))[0]))
                  for _ in range(20_000)]
    by_word = list(accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(vocabulary))))
    out: list[str] = []
    while len(out) < n:
        out.extend(rng.choices(vocabulary, cum_weights=by_word, k=rng.randint(3, 10)))
        if rng.random() < 0.08:
            out.append(str(rng.choice([rng.randint(1, 31), rng.randint(2015, 2026), rng.randint(100, 20000)])))
        out.append(rng.choice("，，，，。。、；"))
    return "".join(out)[:n]


BIG = _prose(random.Random(7), 200_000)


def _record(action: str, rng: random.Random, answer_due: date | None, decision: str | None,
            reasons: Sequence[DeclineReason]) -> str:
    """The record the store journals with each action (store/event_data.py), as ``events.data`` holds it."""
    record: EventData
    if action == "submit":
        record = SubmitData(attachments=rng.choice([0, 0, 0, 1, 2]))
    elif action == "accept":
        assert answer_due is not None
        record = AcceptData(answer_due=answer_due)
    elif action == "decline":
        reason = rng.choice(list(reasons))
        record = DeclineData(reason=reason.id, reason_text=reason.text)
    elif action == "decide":
        assert decision is not None  # Art. 32: the request, the facts found, the basis
        record = DecideData(decision=Decision(decision), parts=OpinionParts(
            request=_text(rng, 10, 60), facts=_text(rng, 20, 120), basis=_text(rng, 10, 60)))
    elif action == "close":
        record = CloseData(reason=rng.choice(["not_rated", "window_closed", "accepted"]))
    else:
        record = ActData()
    return data_text(stored_data(Action(action), record))


#: When a declined case is told it is not accepted (不予受理): its first answer (``first_answer_at``).
DECLINED_AFTER = timedelta(days=3)


def _case_rows(n: int, rng: random.Random, units: list[str], categories: list[tuple[str, str]],
               reasons: Sequence[DeclineReason]):
    """Cases in submission order, with the events and outbox rows each caused."""
    span = timedelta(days=365 * YEARS)
    begin = NOW - span
    event_id = 0
    outbox_id = 0
    for case_id in range(1, n + 1):
        submitted = begin + span * (case_id / n) + timedelta(seconds=rng.randint(0, 60))
        age = (NOW - submitted).days
        category, kind = categories[rng.randrange(len(categories))]
        unit = units[rng.randrange(len(units))]
        accept_due = (submitted + timedelta(days=15)).date()
        accepted = decided = closed = None
        rating = decision = None
        if age < 15 and rng.random() < 0.6:
            status = "submitted"
        elif age < 75 or rng.random() < 0.003:  # recent, or one of the few long-running ones
            accepted = submitted + timedelta(days=rng.uniform(0, min(age, 20)))
            status = rng.choice(["accepted", "in_progress", "in_progress"])
            if age > 30 and rng.random() < 0.4:
                status = "decided"
        else:
            accepted = submitted + timedelta(days=rng.uniform(0, 20))
            status = rng.choices(["closed", "decided", "declined", "withdrawn"], [90, 5, 3, 2])[0]
        if status == "declined":
            accepted = None
        answer_due = (accepted + timedelta(days=60)).date() if accepted else None
        if status in ("decided", "closed"):
            assert accepted is not None
            decided = accepted + timedelta(days=rng.uniform(5, min(max(age - 20, 6), 85)))
            decision = rng.choice(["support", "explain", "reject"])
        if status == "closed":
            assert decided is not None
            closed = decided + timedelta(days=rng.uniform(0, 30))
            # The ratings the store writes (store.models.Rating): 满意, 基本满意, 不满意, or none yet.
            rating = rng.choices([*(r.value for r in RATED), None], [55, 25, 10, 10])[0]
        petitioner = rng.randrange(1, 50_000)
        case = (
            # The submit key is the draft's id, as the intake makes it (store.models.new_key: 16 characters).
            case_id, f"YC-{submitted.year}-{case_id:07d}", _key(rng), petitioner, f"员工{petitioner}",
            None, 0, f"{petitioner % 65536:04X}", category, kind, unit, Words(_text(rng, 8, 30)), Words(_text(rng, 40, 400)),
            None, None, status, 100006 if accepted else None, decision, rating, iso(submitted),
            iso(accepted) if accepted else None, iso(decided) if decided else None,
            iso(closed) if closed else None, accept_due.isoformat(),
            answer_due.isoformat() if answer_due else None, 0, "zh", iso(closed or decided or accepted or submitted),
            iso(first) if (first := accepted or (submitted + DECLINED_AFTER if status == "declined" else None))
            else None,
        )
        events: list[tuple[str, str, str | None, datetime, int]] = [("submit", "submitted", None, submitted, 1)]
        if accepted:
            events.append(("accept", "accepted", None, accepted, 1))
            for k in range(rng.choice([0, 1, 1, 2])):
                events.append(("reply", "in_progress", _text(rng, 20, 120), accepted + timedelta(days=k + 1), 1))
        if status == "declined":
            events.append(("decline", "declined", _text(rng, 20, 80), submitted + DECLINED_AFTER, 1))
        if decided:
            events.append(("decide", "decided", _text(rng, 60, 300), decided, 1))
        if closed:
            events.append(("close", "closed", None, closed, 0))
        event_rows = []
        outbox_rows = []
        for action, after, body, at, public in events:
            event_id += 1
            event_rows.append((event_id, case_id, iso(at), petitioner if action == "submit" else 100006,
                               "petitioner" if action == "submit" else "officer", action, after,
                               None if body is None else Words(body),  # as store/journal.py stores them
                               Words(_record(action, rng, answer_due, decision, reasons)),
                               public, "", "", rng.getrandbits(256).to_bytes(32, "big")))
            # Only what the retention keeps: sent notices go after [retention] sent_notices_days (90).
            if (action == "submit" or (public and action != "close")) and at >= NOW - RETENTION:
                outbox_id += 1
                chat = 100006 if action == "submit" else petitioner
                kind_ = "case_card" if action == "submit" else "petitioner_event"
                outbox_rows.append((outbox_id, chat, kind_, case_id, event_id, "{}", iso(at), iso(at), 1, 0,
                                    iso(at + timedelta(seconds=1))))
        yield case, event_rows, outbox_rows


def generate(path: Path, n: int) -> float:
    """Fill the (migrated, empty) database with ``n`` cases; returns seconds taken."""
    org = example_org()
    units = [u.id for u in org.units]
    categories = [(c.id, c.kind.value) for c in org.categories]
    rng = random.Random(2026)
    began = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    # A bulk load: no journal, a large cache; the bot's own WAL mode is restored below.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    conn.execute("DROP TRIGGER IF EXISTS events_append_only_update")  # restored below
    conn.execute("BEGIN")
    cases: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    outbox: list[tuple[Any, ...]] = []

    def flush() -> None:
        conn.executemany(f"INSERT INTO cases (id, number, submit_key, petitioner_id, petitioner_name,"
                         " petitioner_phone, confidential, pseudonym, category, kind, unit, subject, details,"
                         " people, desired_outcome, status, assignee_id, decision, rating, submitted_at,"
                         " accepted_at, decided_at, closed_at, accept_due, answer_due, extended_days, language,"
                         f" updated_at, first_answer_at) VALUES ({', '.join('?' * 29)})", cases)
        # As the store writes events since migration 0023: the hash as 32 bytes in digest (store/journal.py).
        conn.executemany("INSERT INTO events (id, case_id, at, actor_id, actor_role, action, status_after, body,"
                         " data, public, prev_hash, hash, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         events)
        conn.executemany("INSERT INTO outbox (id, chat_id, kind, case_id, event_id, params, created_at, due_at,"
                         " attempts, progress, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", outbox)
        cases.clear()
        events.clear()
        outbox.clear()

    for case, event_rows, outbox_rows in _case_rows(n, rng, units, categories, org.decline_reasons):
        cases.append(case)
        events.extend(event_rows)
        outbox.extend(outbox_rows)
        if len(cases) >= 20_000:
            flush()
    flush()
    conn.execute("INSERT OR REPLACE INTO case_numbers (year, last_seq) VALUES (?, ?)", (NOW.year, n))
    conn.execute("COMMIT")
    conn.execute("CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events"
                 " BEGIN SELECT RAISE(ABORT, 'the event journal is append-only'); END")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    return time.perf_counter() - began


OVERDUE = """
SELECT id FROM cases
WHERE (status = 'submitted' AND accept_due < :today)
   OR (status IN ('accepted', 'in_progress') AND answer_due < :today)
"""


def months_back(k: int) -> tuple[str, str]:
    first = date(NOW.year, NOW.month, 1)
    for _ in range(k):
        first = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first.isoformat(), following.isoformat()


async def measure(path: Path | str, runs: int) -> tuple[dict[str, Any], dict[str, str]]:
    timings: dict[str, list[float]] = {}
    plans: dict[str, str] = {}
    org = example_org()
    # The store's today is the data's (NOW): this month is the one the cases were last received in, as on a
    # working server, not an empty one after the day the benchmark happens to run.
    store = await Services.open(path, org, FakeClock(NOW))
    explain = "EXPLAIN " if is_postgres_url(str(path)) else "EXPLAIN QUERY PLAN "

    async def plan_of(conn: Any, query: str, args: Any) -> str:
        async with conn.execute(explain + query, args) as cur:
            found = await cur.fetchall()
        return " | ".join(str(row[0] if explain == "EXPLAIN " else row[3]).strip() for row in found)

    # The generated (or upgraded) cases carry no stored rank yet: the first queue read of the day
    # ranks every open case once (migration 0021); timed apart, then the queries below read pages.
    began = time.perf_counter()
    await current_ranks(store.db, store.org, store.context.today())
    plans["rank_every_open_case_seconds"] = f"{time.perf_counter() - began:.1f}"
    rng = random.Random(5)
    # The first sweep reads every case in warning (nothing told yet); then the database as a day's sweep
    # leaves it: every case told of its level, and one in fifty risen overnight (its mark one behind).
    async with store.db.read() as conn:
        began = time.perf_counter()
        async with conn.execute(WARNING_SWEEP_SQL) as cur:
            first = len(await cur.fetchall())
        plans["warning_sweep_first"] = f"{first} rows in {(time.perf_counter() - began) * 1000:.1f} ms"
    # Only the rows not yet so (a second measure() of the same database changes nothing: on PostgreSQL a
    # changed row costs an index-only scan a visit to the table until the next VACUUM).
    async with store.db.transaction() as conn:
        await conn.execute("UPDATE cases SET told_rank = queue_rank, told_due = queue_due WHERE queue_rank >= 2"
                           " AND id % 50 <> 0 AND (told_rank IS NULL OR told_rank <> queue_rank"
                           " OR told_due <> queue_due)")
        await conn.execute("UPDATE cases SET told_rank = queue_rank - 1, told_due = queue_due WHERE queue_rank >= 2"
                           " AND id % 50 = 0 AND (told_rank IS NULL OR told_rank <> queue_rank - 1"
                           " OR told_due <> queue_due)")
    if explain == "EXPLAIN ":
        # What autovacuum does on a production server within the minute (migration 0030 asks it after 1 %
        # of the rows changed): without it the ranking above leaves every open case's page off the
        # visibility map, and each queue count visits the table for every row (autovacuum may be off on
        # a benchmark's server: recorded beside the figures).
        import psycopg  # the PostgreSQL extra, present when a URL was given

        with psycopg.connect(str(path), autocommit=True) as pg:
            plans["autovacuum"] = str(pg.execute("SHOW autovacuum").fetchone()[0])  # type: ignore[index]
            began = time.perf_counter()
            pg.execute("VACUUM (ANALYZE) cases")
            plans["vacuum_after_ranking_seconds"] = f"{time.perf_counter() - began:.1f}"

    async def timed(name: str, call: Any) -> Any:
        began = time.perf_counter()
        result = await call
        timings.setdefault(name, []).append(time.perf_counter() - began)
        return result

    async def sql(query: str, args: Any) -> Sequence[Row]:
        async with store.db.read() as conn:
            async with conn.execute(query, args) as cur:
                return await cur.fetchall()

    staff = {"queue_plant_officer": 100006, "queue_oilfield_officer": 100005, "queue_hq_officer": 100004,
             "queue_admin": 100001}
    sizes: dict[str, int] = {}

    for i in range(runs):
        for name, staff_id in staff.items():
            actor = store.cases.actor(staff_id)
            _, total = await timed(name, store.cases.open_cases_for(actor, offset=10 * (i % 3), limit=10))
            sizes[name] = total
        today = (NOW.date() - timedelta(days=rng.randint(0, 30))).isoformat()
        sizes["overdue_sweep"] = len(await timed("overdue_sweep", sql(OVERDUE, {"today": today})))
        sizes["warning_sweep"] = len(await timed("warning_sweep", sql(WARNING_SWEEP_SQL, ())))
        await timed("petitioner_cases", store.cases.cases_of_petitioner(rng.randrange(1, 50_000)))
    # What a leader waits for: /stats and the dashboard's indicators (IndicatorService.indicators: a month's
    # figures for every unit in scope and twelve trend months), fewer rounds (a second or so each at first).
    # The first view of a period: no trend month remembered (store/trend_memo.py).
    leaders = (("stats_group_leader", 100002), ("stats_company_leader", 100003))
    for _ in range(max(3, runs // 4)):
        period = months_back(rng.randint(1, 24))[0][:7]
        for name, staff_id in leaders:
            store.indicators.trend_memo = TrendMemo()
            await timed(name, store.indicators.indicators(store.cases.actor(staff_id), None, period))
    # The first view of the day as a leader finds it: the job has counted every leader's own view ahead
    # (bot/jobs.py: run_trend_warming, 90 s after start and every ten minutes), timed apart.
    for _ in range(max(3, runs // 4)):
        store.indicators.trend_memo = TrendMemo()
        began = time.perf_counter()
        warmed = await store.indicators.warm_trends()
        plans["trend_warming"] = f"{warmed} units' months in {time.perf_counter() - began:.1f} s"
        for name, staff_id in leaders:
            await timed(name + "_warmed", store.indicators.indicators(store.cases.actor(staff_id)))
        # A month of the past year, first viewed that day: the job counted its trend too (two years ahead).
        period = months_back(rng.randint(1, 12))[0][:7]
        for name, staff_id in leaders:
            await timed(name + "_past_month", store.indicators.indicators(store.cases.actor(staff_id), None, period))
    # The view a leader opens again, this month's, after a recent case changed between two views (its unit's
    # month counted again; the other units' and the earlier trend months remembered).
    for _ in range(max(3, runs // 4)):
        async with store.db.transaction() as conn:
            await conn.execute("UPDATE cases SET rating = CASE WHEN rating IS NULL THEN 'satisfied' END"
                               " WHERE id = (SELECT max(id) FROM cases)")
        for name, staff_id in leaders:
            await timed(name + "_again", store.indicators.indicators(store.cases.actor(staff_id)))
    async with store.db.read() as conn:
        for name, query, args in (
            ("overdue_sweep", OVERDUE, {"today": NOW.date().isoformat()}),
            ("warning_sweep", WARNING_SWEEP_SQL, ()),
        ):
            plans[name] = await plan_of(conn, query, args)
        mine = (*store.context.person_ids(4242), *store.context.claim_keys(4242))  # cases_of_petitioner's two
        plans["petitioner_cases_count"] = await plan_of(conn, f"SELECT count(*) FROM ({PETITIONER_CASES}) mine", mine)
        plans["petitioner_cases"] = await plan_of(
            conn, f"SELECT * FROM cases WHERE id IN ({PETITIONER_CASES}) ORDER BY id DESC LIMIT ? OFFSET ?",
            (*mine, 10, 0))
        for name, staff_id in staff.items():  # the page query of /queue (and /alerts, from rank 1)
            scope_sql, scope_args = store.context.read_scope(store.cases.actor(staff_id))
            for suffix, min_rank in (("", 0), ("_alerts", 1)):
                plans[name + suffix] = await plan_of(conn, queue_sql(scope_sql, min_rank), [*scope_args, 10, 0])
                plans[name + suffix + "_count"] = await plan_of(
                    conn, "SELECT count(*) FROM cases WHERE queue_rank IS NOT NULL"
                    f" AND queue_rank >= {min_rank} AND {scope_sql}", scope_args)
    await store.close()
    figures = {
        name: {"p50_ms": round(percentile(values, 50) * 1000, 2), "p99_ms": round(percentile(values, 99) * 1000, 2),
               **({"rows": sizes[name]} if name in sizes else {})}
        for name, values in timings.items()
    }
    return figures, plans


async def main(args: argparse.Namespace) -> None:
    folder = None
    if args.db:
        path = Path(args.db)
    else:
        folder = tempfile.mkdtemp(prefix="scale-")
        path = Path(folder) / "scale.db"
    seconds = None
    if not (args.reuse and path.exists()):
        if path.exists():
            path.unlink()
        db = await Database.open(path)  # the schema exactly as the store migrates it
        await db.close()
        seconds = generate(path, args.cases)
    began = time.perf_counter()
    db = await Database.open(path)  # a reused database gets any newer migrations here
    migrate_seconds = time.perf_counter() - began
    version = await db.schema_version()
    await db.close()
    with sqlite3.connect(path) as conn:
        conn.create_function("words", 1, words, deterministic=True)  # a stored value's text (store/words.py)
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("cases", "events", "outbox")}
        open_cases = conn.execute(f"SELECT count(*) FROM cases WHERE status IN {OPEN}").fetchone()[0]
        # What people wrote (subjects, details, replies, opinions and their parts) in UTF-8, as against
        # the bookkeeping around it.
        text_bytes = conn.execute(
            "SELECT (SELECT sum(length(CAST(words(subject) AS BLOB)) + length(CAST(words(details) AS BLOB)))"
            " FROM cases)"
            " + (SELECT coalesce(sum(length(CAST(words(body) AS BLOB))), 0) FROM events)"
            " + (SELECT coalesce(sum(length(CAST(json_extract(words(data), '$.parts.request') AS BLOB))"
            " + length(CAST(json_extract(words(data), '$.parts.facts') AS BLOB))"
            " + length(CAST(json_extract(words(data), '$.parts.basis') AS BLOB))), 0)"
            " FROM events WHERE action = 'decide')"
        ).fetchone()[0]
        # The columns of people's words (WORDS TEXT), as text in UTF-8 and as stored.
        utf8, stored = conn.execute(
            "SELECT sum(u), sum(s) FROM ("
            " SELECT length(CAST(words(subject) AS BLOB)) + length(CAST(words(details) AS BLOB)) AS u,"
            " length(CAST(subject AS BLOB)) + length(CAST(details AS BLOB)) AS s FROM cases"
            " UNION ALL SELECT coalesce(length(CAST(words(body) AS BLOB)), 0) + length(CAST(words(data) AS BLOB)),"
            " coalesce(length(CAST(body AS BLOB)), 0) + length(CAST(data AS BLOB)) FROM events)"
        ).fetchone()
        try:
            tables = dict(conn.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall())
        except sqlite3.OperationalError:
            tables = {}
    pg_figures: dict[str, Any] = {}
    if args.pg:  # the same database copied into PostgreSQL by `petition-bot migrate`, measured there
        from bot.backup import BackupError
        from bot.pgtools import migrate
        from store.vault import key_path

        os.environ.setdefault("PETITION_KEY_FILE", str(key_path(path)))  # the copy opens with the file's key
        began = time.perf_counter()
        try:
            await migrate(path, args.pg)
        except BackupError as error:  # the generated journal's hashes are random, not a chain:
            if "journal" not in str(error):  # the copy is whole, only its journal check fails
                raise
        pg_figures["copy_seconds"] = round(time.perf_counter() - began, 1)
        import psycopg

        with psycopg.connect(args.pg, autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE")
            size_row = pg.execute("SELECT pg_database_size(current_database())").fetchone()
            assert size_row is not None
            pg_figures["database_bytes"] = size_row[0]
            pg_figures["bytes_per_case"] = round(pg_figures["database_bytes"] / counts["cases"])
            pg_figures["bytes_by_table_and_index"] = dict(pg.execute(
                "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                " AND relkind IN ('r', 'i') ORDER BY 2 DESC LIMIT 20").fetchall())
        pg_figures["queries"], pg_figures["plans"] = await measure(args.pg, args.runs)
    queries, plans = await measure(path, args.runs)
    size = path.stat().st_size
    if not (args.keep or args.reuse):  # a database to reuse is kept for the next run, as --keep keeps it
        path.unlink()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240  # the benchmark is over: nothing else runs
        path.with_suffix(".key").unlink(missing_ok=True)  # the vault's key file beside it
        if folder:
            os.rmdir(folder)
    worst = max(q["p99_ms"] for q in queries.values())
    figures = {
        "schema_version": version,
        "rows": counts,
        "open_cases": open_cases,
        "generate_seconds": round(seconds, 1) if seconds is not None else "reused",
        "migrate_seconds": round(migrate_seconds, 1),
        "file_bytes": size,
        "bytes_per_case": round(size / counts["cases"]),
        "text_bytes_per_case": round(text_bytes / counts["cases"]),
        "bytes_per_case_besides_text": round((size - text_bytes) / counts["cases"]),
        "words_columns_per_case": {"utf8": round(utf8 / counts["cases"]), "stored": round(stored / counts["cases"])},
        "bytes_by_table_and_index": {k: v for k, v in tables.items() if v > 4096},
        **({"postgresql": pg_figures} if pg_figures else {}),
        "runs_per_query": args.runs,
        "queries": queries,
        "plans": plans,
    }
    report("store_scale", figures,
           f"store at scale: {counts['cases']:,} cases, {figures['bytes_per_case']} bytes/case, "
           f"worst query p99 {worst} ms ("
           + ", ".join(f"{k} {v['p99_ms']}" for k, v in queries.items()) + ")")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--pg", metavar="URL",
                        help="also copy the database into this empty PostgreSQL database and measure there")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--db", help="where to build the database (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="use the database at --db if it exists (newer migrations are applied to it),"
                             " and keep it afterwards")
    asyncio.run(main(parse_args(parser, cases=2_000, runs=3)))
