"""Notification fan-out: 1,000 notifications through the outbox against Telegram's limits.

Run from the repository root::

    .venv/bin/python -m bench.fanout [--recipients 200] [--per-recipient 5]

The store holds ``recipients`` cases, each accepted, answered three times
and extended: five status notices per petitioner, 1,000 in all. The
production wiring (``bot.app.build_application``: PTB's rate limiter as
configured there, the outbox sender with its per-chat pace) delivers them to
a loopback Bot API that enforces Telegram's limits with 429s: 30 messages per
second in all, one per second per private chat. Reported: messages per
second over the whole run and over its slowest 5-second window, and the
number of 429s the Bot API answered.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram.ext import AIORateLimiter

import bot.app
from bench.harness import TOKEN, BenchSimulator, parse_args, report
from bot.app import build_application
from bot.outbox import OutboxSender
from store.clock import iso
from store.models import Actor, ActorRole, DraftData, Petitioner
from store.org import example_org
from store.services import Services
from store.workflow import Action

OFFICER = Actor(id=100006, role=ActorRole.OFFICER)


class CountingSimulator(BenchSimulator):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: list[float] = []

    def _touch(self, message: Any) -> None:
        super()._touch(message)
        self.arrivals.append(time.perf_counter())


async def prepare(store: Services, recipients: int, per_recipient: int) -> int:
    """Cases and actions that owe ``recipients * per_recipient`` notices; the officers' cards are set aside."""
    draft = DraftData.model_validate(
        {"category": "wages", "unit": "plant-1", "subject": "加班费未发放", "details": "十月加班费至今未发放。"}
    )
    numbers = []
    for n in range(recipients):
        petitioner = Petitioner(id=200_000 + n, name=f"员工{n}", language="zh")
        numbers.append((await store.cases.submit(petitioner, draft, f"fanout-{n}")).case.number)
    for round_ in range(per_recipient):
        for number in numbers:
            if round_ == 0:
                await store.cases.act(OFFICER, number, Action.ACCEPT)
            elif round_ == per_recipient - 1 and round_ > 1:
                await store.cases.act(OFFICER, number, Action.EXTEND, days=10, body="需要调取考勤记录")
            else:
                await store.cases.act(OFFICER, number, Action.REPLY, body=f"第{round_}次答复：正在核实。")
    with sqlite3.connect(store.db.path) as conn:  # only the petitioners' notices are measured
        conn.execute("UPDATE outbox SET sent_at = ? WHERE kind != 'petitioner_event'", (iso(store.clock.now()),))
        return conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]


async def main(args: argparse.Namespace) -> None:
    sim = CountingSimulator(enforce_rate_limits=True)
    await sim.start()
    for n in range(args.recipients):
        sim.user(200_000 + n, first_name=f"员工{n}", language_code="zh-hans")
    with tempfile.TemporaryDirectory() as folder:
        store = await Services.open(Path(folder) / "fanout.db", example_org())
        owed = await prepare(store, args.recipients, args.per_recipient)
        if args.ptb_defaults:  # for comparison: PTB's limiter as it comes, no per-chat pace in the outbox
            # The benchmark swaps the limiter the application is built with.
            bot.app.rate_limiter = lambda per_second=0.0: AIORateLimiter(max_retries=0)  # type: ignore[attr-defined]
        application = build_application(store, TOKEN, base_url=sim.base_url, base_file_url=sim.base_file_url)
        if args.ptb_defaults:
            application.bot_data["outbox"].chat_interval = 0.0
        elif not args.chat_burst:
            # This simulator enforces one message a second per private chat strictly;
            # Telegram tolerates the short burst the production outbox allows.
            application.bot_data["outbox"].chat_burst = 1
        await application.initialize()
        sender: OutboxSender = application.bot_data["outbox"]
        sim.arrivals.clear()
        began = time.perf_counter()
        while await store.outbox.pending_notifications(1):
            await sender.run_once()  # what the job queue does every second and on every commit
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - began
        await application.shutdown()
        await store.close()
    await sim.stop()
    arrivals = sim.arrivals
    window = 5.0
    rates = []
    start = arrivals[0]
    while start + window <= arrivals[-1]:
        rates.append(sum(1 for a in arrivals if start <= a < start + window) / window)
        start += 1.0
    figures = {
        "configuration": "PTB defaults, no per-chat pace" if args.ptb_defaults else "production (bot.app)",
        "notifications": owed,
        "delivered": len(arrivals),
        "seconds": round(elapsed, 2),
        "messages_per_second": round(len(arrivals) / (arrivals[-1] - arrivals[0]), 1),
        "slowest_5s_window_per_second": round(min(rates), 1) if rates else None,
        "too_many_requests_429": sim.stats.too_many_requests,
        "api_requests": sim.stats.requests,
        "limits_enforced": {"global_per_second": 30, "private_chat_per_second": 1},
    }
    report("fanout", figures,
           f"fan-out: {owed} notifications in {elapsed:.1f} s, {figures['messages_per_second']} msg/s sustained "
           f"(slowest 5 s window {figures['slowest_5s_window_per_second']}/s), {figures['too_many_requests_429']} × 429")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=200)
    parser.add_argument("--per-recipient", type=int, default=5)
    parser.add_argument("--chat-burst", action="store_true",
                        help="keep the production per-chat burst (this simulator answers it with 429s)")
    parser.add_argument("--ptb-defaults", action="store_true",
                        help="compare: AIORateLimiter(max_retries=0) with PTB's defaults, no per-chat pace")
    asyncio.run(main(parse_args(parser, recipients=3, per_recipient=2)))
