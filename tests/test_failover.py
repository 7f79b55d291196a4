"""Two instances on one PostgreSQL: the active one is killed in a burst, the standby takes over.

Two ``python -m bot run`` processes share a fresh PostgreSQL schema and the
loopback Bot API. The first holds the lease (``bot/lease.py``) and polls; the
second is a standby: its ``/metrics`` says ``petition_active 0``, its
``/healthz`` is 200 and says standby, and it never polls (one
``deleteWebhook``, the start of polling, per activation; no getUpdates
answered 409, which two pollers would cause). Ten employees go through
intake at once (the people of ``test_crash``, who act on the newest question
and try again when no answer comes) and an officer accepts each card; after
the third receipt the active process is killed with SIGKILL inside a Bot API
request that follows a Submit (the simulator kills it before answering, so a
receipt or a notification is in flight). Then:

- the standby is active (``petition_active 1``) within 15 s of the kill;
- everyone who submitted has one case, and every receipt they saw names it;
- every notification owed was sent (no unsent row), and no chat got a
  message twice beyond the one in flight at the kill: per case, at most one
  extra receipt, card or "accepted" notice in all;
- reminders: the cases' deadlines are set to today and two sweeps run at the
  same moment (an old and a new active one would); the ``reminders`` table
  has one row per case, and the officer got each case's reminder once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import psycopg
import pytest

from bot.jobs import run_sweep
from store.org import load_org
from store.services import Services
from tests.backends import fresh_database, require_pg, rows
from tests.test_crash import (
    NUMBER,
    OFFICER,
    ORG_FILE,
    ROOT,
    TOKEN,
    Employee,
    KillPoint,
    WatchedSimulator,
    _die_with_parent,
    officer_work,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sigkill")]

PEOPLE = 10
TAKEOVER_LIMIT = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class KillTimedSimulator(WatchedSimulator):
    """Notes the moment its armed kill falls."""

    killed_at: float | None = None

    def observe(self, name: str, params: dict) -> None:
        armed = self._point is not None
        super().observe(name, params)
        if armed and self._point is None:
            self.killed_at = time.monotonic()


class Instance:
    """One ``python -m bot run`` with its own /metrics port."""

    def __init__(self, sim: KillTimedSimulator, db: str, log: Path) -> None:
        self.sim, self.db, self.log = sim, db, log
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **os.environ,
            "PETITION_BOT_TOKEN": TOKEN,
            "PETITION_API_URL": self.sim.base_url,
            "PETITION_API_FILE_URL": self.sim.base_file_url,
            "PETITION_DB": self.db,
            "PETITION_CONFIG": str(ORG_FILE),
            "PETITION_LOG_LEVEL": "INFO",
            "PETITION_METRICS_LISTEN": f"127.0.0.1:{self.port}",
        }
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=out, stderr=out,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def get(self, path: str) -> tuple[int, str] | None:
        try:
            async with aiohttp.ClientSession() as session, session.get(
                f"http://127.0.0.1:{self.port}{path}", timeout=aiohttp.ClientTimeout(total=5)
            ) as response:
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def active(self) -> bool | None:
        """What its /metrics says: True, False, or None (not answering yet)."""
        got = await self.get("/metrics")
        if got is None or got[0] != 200:
            return None
        line = next(x for x in got[1].splitlines() if x.startswith("petition_active "))
        return float(line.split()[1]) == 1.0

    async def wait_active(self, want: bool, limit: float) -> None:
        deadline = time.monotonic() + limit
        while await self.active() is not want:
            assert self.process is not None and self.process.returncode is None, self.tail()
            assert time.monotonic() < deadline, f"not active={want} after {limit} s\n{self.tail()}"
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def unsent(db: str) -> int:
    """Notifications still owed to someone who uses the bot (as in test_crash)."""
    return rows(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
                " AND NOT (failed_at IS NOT NULL AND last_error LIKE 'unreachable%')")[0][0]


def receipt_messages(person: Employee, number: str) -> int:
    """Distinct bot messages that ever showed ``person`` the receipt for ``number`` (an edit is the same message)."""
    count = 0
    for message in person.user.chat.all_messages:
        texts = [message.visible_text, *(h.get("plain_text") or "" for h in message.history)]
        if message.from_bot and any("已登记" in t and number in t for t in texts):
            count += 1
    return count


async def wait_for(condition: Callable[[], bool], limit: float, what: Callable[[], str]) -> None:
    """Until ``condition`` holds, for ``limit`` seconds at most; ``what`` says what was missing, read at the end."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, what()
        await asyncio.sleep(0.05)


async def test_the_standby_takes_over_a_killed_active_instance_and_nothing_is_lost_or_repeated(
    tmp_path: Path,
) -> None:
    require_pg()
    async with fresh_database("postgresql", tmp_path) as db:
        sim = KillTimedSimulator(token=TOKEN)
        await sim.start()
        first = Instance(sim, db, tmp_path / "first.log")
        second = Instance(sim, db, tmp_path / "second.log")
        officer = sim.user(OFFICER, first_name="王", language_code="zh-hans")
        people = [
            Employee(sim, sim.user(5300 + i, first_name=f"员工{i}", language_code="zh-hans"), None,
                     subject=f"食堂卫生-{i}", details=f"三号食堂餐具清洗不彻底，工号 {5300 + i}。")
            for i in range(PEOPLE)
        ]
        accepted: set[str] = set()
        officer_stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        try:
            await first.start()
            await first.wait_active(True, 30)
            await second.start()
            await second.wait_active(False, 30)
            health = await second.get("/healthz")
            assert health is not None and health[0] == 200 and "standby" in health[1], health
            assert len(sim.calls_to("deleteWebhook")) == 1  # only the active one began to poll

            until = time.monotonic() + 45
            tasks.append(asyncio.create_task(officer_work(officer, until + 15, accepted, officer_stop)))
            tasks += [asyncio.create_task(p.run(until)) for p in people]

            # In the middle of the burst: after the third receipt, inside the request after a Submit.
            def receipts_seen() -> int:
                return sum(any("已登记" in m.visible_text for m in p.user.messages) for p in people)

            await wait_for(lambda: receipts_seen() >= 3, 30, lambda: f"no burst\n{first.tail()}")
            assert receipts_seen() < PEOPLE, "the burst was over before the kill"
            sim.arm(first.pid, KillPoint(True, 2))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sim.killed.wait(), 10)
            if sim.killed_at is None:  # no Submit came in time: kill it now, mid-burst all the same
                sim.disarm()
                assert first.process is not None
                first.process.kill()
                sim.killed_at = time.monotonic()
            assert first.process is not None
            assert await first.process.wait() == -9, first.tail()

            await second.wait_active(True, TAKEOVER_LIMIT + 5)
            took = time.monotonic() - sim.killed_at
            assert took <= TAKEOVER_LIMIT, f"took over after {took:.1f} s"
            assert len(sim.calls_to("deleteWebhook")) == 2
            # The new instance polls with no offset: Telegram sends again what the dead one had not confirmed.
            since = max(i for i, (name, _, _) in enumerate(sim.calls) if name == "deleteWebhook")
            polls = lambda: [p for name, p, _ in sim.calls[since:] if name == "getUpdates"]  # noqa: E731
            await wait_for(lambda: bool(polls()), 30, lambda: "the new instance does not poll")
            first_poll = polls()[0]
            assert first_poll.get("offset") in (None, 0), first_poll
            print(f"took over {took:.1f} s after the kill")

            # The burst completes with the second instance.
            await asyncio.gather(*tasks[1:])
            submitted = [p for p in people if p.receipts]
            assert len(submitted) == PEOPLE, [p.user.id for p in people if not p.receipts]
            await wait_for(lambda: len(accepted) >= PEOPLE and unsent(db) == 0, 30,
                           lambda: f"accepted {len(accepted)}, unsent {unsent(db)}\n{second.tail()}")
            officer_stop.set()
            await tasks[0]

            cases = rows(db, "SELECT number, petitioner_id, status, id FROM cases")
            numbers = Counter(number for number, *_ in cases)
            assert all(n == 1 for n in numbers.values()), numbers
            for person in people:
                mine = [c for c in cases if c[1] == person.user.id]
                assert len(mine) == 1, (person.user.id, mine)
                assert person.receipts == {mine[0][0]}, (person.receipts, mine)
            assert {status for _, _, status, _ in cases} == {"accepted"}

            # Nothing twice beyond what was in flight at the kill (at most one message per chat).
            extra = 0
            for person in people:
                number = next(c[0] for c in cases if c[1] == person.user.id)
                shown = receipt_messages(person, number)
                notices = sum(number in m.visible_text and "已受理" in m.visible_text
                              for m in person.user.messages)
                assert 1 <= shown <= 2 and 1 <= notices <= 2, (person.user.id, shown, notices)
                extra += (shown - 1) + (notices - 1)
            # Case cards: the messages with buttons the bot sent the officer, per case.
            cards = Counter(
                found.group(0)
                for name, p, b in sim.calls
                if name == "sendMessage" and b.get("ok") and str(p.get("chat_id")) == str(OFFICER)
                and p.get("reply_markup") and (found := NUMBER.search(str(p.get("text"))))
            )
            assert set(cards) == set(numbers) and all(n <= 2 for n in cards.values()), cards
            extra += sum(n - 1 for n in cards.values())
            assert extra <= 1, f"{extra} messages repeated; only what was in flight may be"
            conflicts = [b for name, _, b in sim.calls if name == "getUpdates" and b.get("error_code") == 409]
            assert not conflicts, conflicts

            # Reminders: due today; two sweeps at once, as an old and a new active instance might.
            org = load_org(ORG_FILE)
            today = datetime.now(ZoneInfo(org.organization.timezone)).date().isoformat()
            with psycopg.connect(db, autocommit=True) as conn:
                conn.execute("UPDATE cases SET answer_due = %s", (today,))
            one, two = await Services.open(db, org), await Services.open(db, org)
            try:
                await asyncio.gather(run_sweep(one.review), run_sweep(two.review))
                await run_sweep(one.review)
            finally:
                await one.close()
                await two.close()
            reminders = rows(db, "SELECT case_id, stage, due, level, recipients FROM reminders")
            assert Counter((c, s, d, lv) for c, s, d, lv, _ in reminders) == Counter(
                {(case_id, "answer", today, "due"): 1 for *_, case_id in cases}), reminders
            assert any(OFFICER in json.loads(r[4]) for r in reminders), reminders
            await wait_for(lambda: unsent(db) == 0, 30, lambda: f"unsent {unsent(db)}\n{second.tail()}")
            for number, *_ in cases:
                reminded = [m for m in officer.messages if "提醒" in m.visible_text and number in m.visible_text]
                assert len(reminded) == 1, (number, [m.visible_text for m in reminded])
            assert await second.active() is True
        finally:
            officer_stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await first.stop()
            await second.stop()
            await sim.stop()


async def test_an_active_instance_that_loses_its_lease_stops_at_once(tmp_path: Path) -> None:
    """Its lease session ended (here by an operator): the process ends, non-zero, and says why."""
    from bot.lease import EXIT_LEASE_LOST, LEASE_KEY_SQL

    require_pg()
    async with fresh_database("postgresql", tmp_path) as db:
        sim = KillTimedSimulator(token=TOKEN)
        await sim.start()
        bot = Instance(sim, db, tmp_path / "bot.log")
        try:
            await bot.start()
            await bot.wait_active(True, 30)
            with psycopg.connect(db, autocommit=True) as conn:
                lease = conn.execute(LEASE_KEY_SQL).fetchone()
                assert lease is not None
                key = lease[0]
                holders = conn.execute(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
                    ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
                ).fetchall()
                assert len(holders) == 1, holders
                conn.execute("SELECT pg_terminate_backend(%s)", (holders[0][0],))
            assert bot.process is not None
            assert await asyncio.wait_for(bot.process.wait(), 15) == EXIT_LEASE_LOST, bot.tail()
            assert "the lease is lost" in bot.tail()
        finally:
            await bot.stop()
            await sim.stop()
