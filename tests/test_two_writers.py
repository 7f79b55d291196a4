"""Two processes' connections to one PostgreSQL running the scheduled jobs at the same moment.

The lease keeps the jobs to one instance, but for the seconds around a lost
lease an old and a new active instance might both run them: even then no
reminder is queued twice. (Each store below has its own connection, as two
processes would.)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from bot.jobs import run_sweep
from store.clock import FakeClock
from store.org import load_org
from store.services import Services
from tests.backends import fresh_database, rows
from tests.conftest import ORG_FILE
from tests.test_reception_store import at, employee, publish

pytestmark = pytest.mark.postgresql  # every test here needs the PostgreSQL server


async def test_two_reception_reminder_runs_at_once_queue_each_reminder_once(tmp_path: Path) -> None:
    async with fresh_database("postgresql", tmp_path) as url:
        clock = FakeClock(at(1, 8))
        org = load_org(ORG_FILE)
        one, two = await Services.open(url, org, clock), await Services.open(url, org, clock)
        try:
            session = await publish(one, slots=30)
            for i in range(30):
                await one.reception.book(employee(6100 + i), session.id, f"话题 {i}")
            for moment in (at(4, 9, 30), at(5, 7, 15)):  # the day before, then two hours before
                clock.set(moment)
                counts = await asyncio.gather(*(s.reception.queue_due_reminders() for s in (one, two, one, two)))
                assert sum(counts) == 30, counts
        finally:
            await one.close()
            await two.close()
        queued = rows(url, "SELECT chat_id, params FROM outbox WHERE kind = 'reception_reminder'")
        assert len(queued) == 60
        assert set(Counter(chat for chat, _ in queued).values()) == {2}


async def test_two_deadline_sweeps_at_once_remind_once(tmp_path: Path) -> None:
    async with fresh_database("postgresql", tmp_path) as url:
        clock = FakeClock(at(1, 8))
        org = load_org(ORG_FILE)
        one, two = await Services.open(url, org, clock), await Services.open(url, org, clock)
        try:
            from tests.conftest import draft, petitioner

            for i in range(5):
                await one.cases.submit(petitioner(5400 + i), draft(subject=f"问题 {i}"), f"key-{i}")
            clock.advance(days=30)  # every acceptance deadline is long past
            await asyncio.gather(run_sweep(one.review), run_sweep(two.review))
            await asyncio.gather(run_sweep(two.review), run_sweep(one.review))
        finally:
            await one.close()
            await two.close()
        reminders = rows(url, "SELECT case_id, stage, due, level FROM reminders")
        assert reminders and max(Counter(reminders).values()) == 1, reminders
        notices = rows(url, "SELECT chat_id, case_id, params FROM outbox WHERE kind IN ('rv_remind', 'rv_escalate')")
        assert notices and max(Counter(notices).values()) == 1, notices
