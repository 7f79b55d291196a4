"""Memory: the bot's resident set size with 10,000 open drafts.

Run from the repository root::

    .venv/bin/python -m bench.memory [--drafts 10000]

The production Application runs in its own process (PTB's rate limiter left
out so that the drafts are made in a minute, not in ten); 10,000 employees
each start a petition and choose a category, so each has a draft in the
store and a conversation state in PTB, and the bot has seen each user once
(language caches). RSS is read from /proc before any update, after the
drafts, and after a further idle second.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.harness import BenchSimulator, BotProcess, parse_args, report, rss_bytes


async def main(args: argparse.Namespace) -> None:
    sim = BenchSimulator()
    await sim.start()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "memory.db"
        try:
            async with BotProcess(sim, "petition", db, "--no-rate-limit") as bot:
                await asyncio.sleep(args.idle)
                idle = rss_bytes(bot.pid)
                began = time.perf_counter()
                errors = 0

                async def start_draft(user_id: int) -> None:
                    nonlocal errors
                    user = sim.user(user_id, first_name=f"员工{user_id}", language_code="zh-hans")
                    waiter = sim.expect(user_id)
                    await user.send("/new")
                    question = await asyncio.wait_for(waiter, 120)
                    waiter = sim.expect(user_id)
                    await user.tap("工资福利", message=question)
                    answer = await asyncio.wait_for(waiter, 120)
                    errors += "第 2/7 步" not in answer.visible_text

                wave = 500
                for first in range(0, args.drafts, wave):
                    await asyncio.gather(*(start_draft(300_000 + n)
                                           for n in range(first, min(first + wave, args.drafts))))
                elapsed = time.perf_counter() - began
                loaded = rss_bytes(bot.pid)
                await asyncio.sleep(args.idle)
                settled = rss_bytes(bot.pid)
                with sqlite3.connect(db) as conn:
                    drafts = conn.execute(
                        "SELECT count(*) FROM conversations WHERE name = 'intake' AND state IS NOT NULL").fetchone()[0]
        finally:
            await sim.stop()
    mib = 1024 * 1024
    figures = {
        "open_drafts": drafts,
        "wrong_answers": errors,
        "seconds_to_open": round(elapsed, 1),
        "rss_mib": {"idle": round(idle / mib, 1), "with_drafts": round(loaded / mib, 1),
                    "after_idle_second": round(settled / mib, 1)},
        "kib_per_draft": round((settled - idle) / 1024 / max(drafts, 1), 2),
    }
    report("memory", figures,
           f"memory: {drafts} open drafts, RSS {figures['rss_mib']['after_idle_second']} MiB "
           f"(idle {figures['rss_mib']['idle']} MiB, {figures['kib_per_draft']} KiB per draft)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=1.0, help="seconds the bot idles before and after the drafts")
    asyncio.run(main(parse_args(parser, drafts=5, idle=0.1)))
