"""Answers ahead of bulk notices: intake latency while the outbox drains a backlog.

Run from the repository root::

    .venv/bin/python -m bench.priority [--notifications 1000] [--employees 20] [--think 1.0]
    .venv/bin/python -m bench.priority --fifo      # for comparison: one queue for both
    .venv/bin/python -m bench.priority --smoke     # a few seconds, to see that it runs

The store owes ``notifications`` status notices (five to each of
``notifications / 5`` petitioners) when ``employees`` simulated employees
start doing intake, each waiting ``think`` seconds between the bot's answer
and their next action, round after round, until the backlog is delivered.
The production wiring (``bot.app.build_application``: the bot-wide pace of
``[limits] bot_messages_per_second`` with answers first, the outbox with its
per-chat pace) talks to a loopback Bot API that enforces Telegram's limits
with 429s: 30 messages a second in all, one a second per private chat.

Reported: answer latency (from the employee's action reaching the Bot API to
the bot's answer arriving there; p50, p99, max), how long the backlog took
to drain and at what rate, and the 429s. ``--fifo`` sends the outbox at the
answers' priority, as one queue, which is how it was before.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import TOKEN, BenchSimulator, percentile, report
from bot.app import build_application
from bot.outbox import OutboxSender
from bot.pace import PacedRateLimiter
from store.clock import iso
from store.models import Actor, ActorRole, DraftData, Petitioner
from store.org import parse_org, starter_toml
from store.services import Services
from store.workflow import Action

OFFICER = Actor(id=100006, role=ActorRole.OFFICER)  # the example organisation's officer for wages, plant 1
PER_RECIPIENT = 5


def organisation() -> Any:
    """The example organisation, letting each employee submit as often as the run needs."""
    text = starter_toml().replace("submissions_per_day = 5", "submissions_per_day = 1000")
    text = text.replace("messages_per_minute = 20", "messages_per_minute = 1000")
    return parse_org(text)


async def backlog(store: Services, notifications: int) -> int:
    """Cases and actions that owe ``notifications`` notices to petitioners; the rest is marked sent."""
    draft = DraftData.model_validate(
        {"category": "wages", "unit": "plant-1", "subject": "加班费未发放", "details": "十月加班费至今未发放。"}
    )
    numbers = []
    for n in range(max(1, notifications // PER_RECIPIENT)):
        petitioner = Petitioner(id=200_000 + n, name=f"员工{n}", language="zh")
        numbers.append((await store.cases.submit(petitioner, draft, f"backlog-{n}")).case.number)
    for round_ in range(PER_RECIPIENT):
        for number in numbers:
            if round_ == 0:
                await store.cases.act(OFFICER, number, Action.ACCEPT)
            else:
                await store.cases.act(OFFICER, number, Action.REPLY, body=f"第{round_}次答复：正在核实。")
    with sqlite3.connect(store.db.path) as conn:  # only the petitioners' notices make the backlog
        conn.execute("UPDATE outbox SET sent_at = ? WHERE kind != 'petitioner_event'", (iso(store.clock.now()),))
        return conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]


class Employee:
    def __init__(self, sim: BenchSimulator, user_id: int) -> None:
        self.sim = sim
        self.user = sim.user(user_id, first_name=f"员工{user_id}", language_code="zh-hans")
        self.latencies: list[float] = []
        self.errors = 0
        self.intakes = 0

    async def _do(self, action: Any, expect: str) -> Any:
        waiter = self.sim.expect(self.user.id)
        started = time.perf_counter()
        await action
        message = await asyncio.wait_for(waiter, 120)
        self.latencies.append(time.perf_counter() - started)
        if expect not in message.visible_text:
            self.errors += 1
        return message

    async def intake(self, think: float) -> None:
        user = self.user
        if self.intakes == 0:
            q = await self._do(user.send("/new"), "第 1/7 步")
        else:  # /new names the petition filed minutes ago (its receipt may have been lost); a new one is asked for
            q = await self._do(user.send("/new"), "反映新事项")
            await asyncio.sleep(think)
            q = await self._do(user.tap("反映新事项", message=q), "第 1/7 步")
        for label, expect in (("工资福利", "第 2/7 步"), ("油田公司", "油田公司"), ("第一采油厂", "第 3/7 步")):
            await asyncio.sleep(think)
            q = await self._do(user.tap(label, message=q), expect)
        await asyncio.sleep(think)
        q = await self._do(user.send(f"加班费未发放-{user.id}"), "第 4/7 步")
        await asyncio.sleep(think)
        q = await self._do(user.send("十月加班费至今未发放。" * 3), "第 5/7 步")
        for label, expect in (("跳过", "第 6/7 步"), ("实名反映", "第 7/7 步"), ("✅ 提交", "已登记")):
            await asyncio.sleep(think)
            q = await self._do(user.tap(label, message=q), expect)
        self.intakes += 1

    async def run(self, think: float, until: asyncio.Event, rounds: int | None) -> None:
        while not until.is_set() and (rounds is None or self.intakes < rounds):
            await self.intake(think)
            await asyncio.sleep(think)


async def main(args: argparse.Namespace) -> None:
    sim = BenchSimulator(enforce_rate_limits=True)
    await sim.start()
    employees = [Employee(sim, 300_000 + n) for n in range(args.employees)]
    for n in range(max(1, args.notifications // PER_RECIPIENT)):
        sim.user(200_000 + n, first_name=f"员工{n}", language_code="zh-hans")
    with tempfile.TemporaryDirectory() as folder:
        store = await Services.open(Path(folder) / "priority.db", organisation())
        try:
            owed = await backlog(store, args.notifications)
            application = build_application(store, TOKEN, base_url=sim.base_url, base_file_url=sim.base_file_url)
            limiter = application.bot.rate_limiter
            assert isinstance(limiter, PacedRateLimiter)
            sender: OutboxSender = application.bot_data["outbox"]
            # The officer's cards for the employees' new cases are not part of the backlog measured.
            assert OFFICER.id is not None
            sim.user(OFFICER.id, first_name="officer", language_code="zh-hans")
            # This simulator enforces one message a second per private chat strictly;
            # Telegram tolerates the short burst the production outbox allows (as in bench/fanout.py).
            sender.chat_burst = 1
            if args.fifo:
                sender._bulk = {}
            async with application:
                await application.start()
                assert application.updater is not None
                await application.updater.start_polling()
                sim.stats.rate_limited = 0
                drained = asyncio.Event()
                began = time.perf_counter()

                async def watch() -> float:
                    while True:
                        with sqlite3.connect(store.db.path) as conn:
                            left = conn.execute(
                                "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
                                " AND kind = 'petitioner_event' AND chat_id >= 200000 AND chat_id < 300000"
                            ).fetchone()[0]
                        if left == 0:
                            drained.set()
                            return time.perf_counter() - began
                        await asyncio.sleep(0.1)

                watcher = asyncio.create_task(watch())
                rounds = 2 if args.smoke else None  # a second round: /new after a petition just filed
                try:
                    await asyncio.gather(*(e.run(args.think, drained, rounds) for e in employees))
                    drain_seconds = await asyncio.wait_for(watcher, 600)
                finally:  # stopped also when an employee's step failed: the process ends instead of hanging
                    watcher.cancel()
                    sender.close()
                    await application.updater.stop()
                    await application.stop()
        finally:  # its connections' threads would keep the process from ending
            await store.close()
    await sim.stop()
    if args.verbose:
        for name, params, body in sim.calls:
            if body.get("error_code") == 429:
                print("429:", name, params.get("chat_id"), str(params.get("text", ""))[:30])
    latencies = [x for e in employees for x in e.latencies]
    figures = {
        "mode": "fifo" if args.fifo else "answers first",
        "bot_messages_per_second": store.org.limits.bot_messages_per_second,
        "notifications": owed,
        "employees": args.employees,
        "think_seconds": args.think,
        "intakes_completed": sum(e.intakes for e in employees),
        "answers": len(latencies),
        "wrong_answers": sum(e.errors for e in employees),
        "answer_latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "answer_latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "answer_latency_max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "drain_seconds": round(drain_seconds, 1),
        "notifications_per_second": round(owed / drain_seconds, 1) if drain_seconds else None,
        "too_many_requests": sim.stats.too_many_requests,
    }
    report("priority", figures,
           f"priority ({figures['mode']}): p99 answer {figures['answer_latency_p99_ms']:.0f} ms over {len(latencies)} answers "
           f"while {owed} notifications drained in {drain_seconds:.1f} s "
           f"({figures['notifications_per_second']}/s), {figures['too_many_requests']} 429s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--employees", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between an answer and the next action")
    parser.add_argument("--fifo", action="store_true", help="the outbox at the answers' priority (comparison)")
    parser.add_argument("--smoke", action="store_true", help="a small run (50 notices, 2 employees, two intakes each)")
    parser.add_argument("--verbose", action="store_true", help="list the calls answered with 429")
    args = parser.parse_args(argv)
    if args.smoke:
        args.notifications, args.employees = 50, 2
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
