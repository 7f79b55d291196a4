"""Burst intake: 2,000 simulated employees complete intake at once, against a bare PTB echo bot.

Run from the repository root::

    .venv/bin/python -m bench.burst_intake [--employees 2000] [--paced 200]

Each employee does the nine updates of a full intake (/new, category, two
unit taps, subject, details, skip files, real name, Submit) and waits for
the bot's answer to each before the next; the echo bot gets the same nine
updates (texts and button taps) and does the same Bot API work per update.

Phases, each bot in its own process with a fresh loopback Bot API:
- burst: all employees start at once; updates/s is the bot's capacity, the
  latency is mostly queueing;
- paced: ``--paced`` employees each wait one second between answer and next
  action (~200 updates/s offered), the load the latency target is set for;
- the petition bot also runs paced with PTB's rate limiter as production
  wires it, which holds every bot to Telegram's ~30 messages per second.

Latency is from the update being queued at the Bot API to the bot's answer
arriving there (sent or edited message).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import BenchSimulator, BotProcess, cpu_seconds, fresh_target, parse_args, percentile, report

OFFICER = 100006  # the example organisation's officer for wages at No. 1 Oil Production Plant
STEPS = 9


class Employee:
    def __init__(self, sim: BenchSimulator, user_id: int, echo: bool) -> None:
        self.sim = sim
        self.user = sim.user(user_id, first_name=f"员工{user_id}", language_code="zh-hans")
        self.echo = echo
        self.latencies: list[float] = []
        self.errors = 0

    async def _do(self, action: Any, expect: str | None) -> Any:
        waiter = self.sim.expect(self.user.id)
        started = time.perf_counter()
        await action
        message = await asyncio.wait_for(waiter, 120)
        self.latencies.append(time.perf_counter() - started)
        if expect is not None and expect not in message.visible_text:
            self.errors += 1
        return message

    async def run(self, think: float) -> None:
        user = self.user
        if self.echo:
            message = await self._do(user.send("/new"), None)
            for step in range(STEPS - 1):
                await asyncio.sleep(think)
                if step in (3, 4):
                    message = await self._do(user.send(f"文字 {step} " + "十月加班费至今未发放。" * 3), None)
                else:
                    message = await self._do(user.tap_data(message, f"in:x:{step}"), None)
            return
        q = await self._do(user.send("/new"), "第 1/7 步")
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


async def phase(
    mode: str, employees: int, think: float, *extra: str, first_id: int = 10_000, pg: str | None = None
) -> dict[str, Any]:
    """One bot process, ``employees`` people through intake; figures of that run.

    ``pg``: a PostgreSQL server URL; the bot's database is then a fresh schema there, not an SQLite file.
    """
    sim = BenchSimulator()
    await sim.start()
    sim.user(OFFICER, first_name="孙干事", language_code="zh-hans")
    with tempfile.TemporaryDirectory() as folder, fresh_target(pg, Path(folder) / "bench.db") as target:
        try:
            async with BotProcess(sim, mode, target, *extra) as bot:
                people = [Employee(sim, first_id + i, mode == "echo") for i in range(employees)]
                rng = random.Random(1)

                async def start(person: Employee) -> None:
                    if think:
                        await asyncio.sleep(rng.uniform(0, think))  # arrivals spread, not in lockstep
                    await person.run(think)

                began = time.perf_counter()
                bot_cpu, own_cpu = cpu_seconds(bot.pid), cpu_seconds()
                await asyncio.gather(*(start(p) for p in people))
                elapsed = time.perf_counter() - began
                bot_cpu, own_cpu = cpu_seconds(bot.pid) - bot_cpu, cpu_seconds() - own_cpu
        finally:
            await sim.stop()
    latencies = [lat for p in people for lat in p.latencies]
    return {
        "bot": mode + (" (PTB rate limiter)" if mode == "petition" and "--no-rate-limit" not in extra else ""),
        "database": "postgresql" if pg else ("sqlite" if mode == "petition" else None),
        "employees": employees,
        "think_seconds": think,
        "updates": len(latencies),
        "seconds": round(elapsed, 2),
        "updates_per_second": round(len(latencies) / elapsed, 1),
        "latency_ms": {
            "p50": round(percentile(latencies, 50) * 1000, 1),
            "p99": round(percentile(latencies, 99) * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
        },
        # Each step's own tail (the intake's steps in order: /new, category, unit, leaf unit, subject,
        # details, no files, real name, Submit): where the slow answers are.
        "p99_by_step_ms": [round(percentile([p.latencies[i] for p in people if len(p.latencies) > i], 99) * 1000, 1)
                           for i in range(max((len(p.latencies) for p in people), default=0))],
        "wrong_answers": sum(p.errors for p in people),
        # Busy share of one core: near 1.0 means that process was the bottleneck.
        "cpu_busy": {"bot": round(bot_cpu / elapsed, 2), "harness": round(own_cpu / elapsed, 2)},
    }


async def main(args: argparse.Namespace) -> None:
    results: dict[str, Any] = {}
    results["echo_burst"] = await phase("echo", args.employees, 0.0)
    results["intake_burst"] = await phase("petition", args.employees, 0.0, "--no-rate-limit")
    if args.paced:  # 0: the bursts only
        results["echo_paced"] = await phase("echo", args.paced, args.think)
        results["intake_paced"] = await phase("petition", args.paced, args.think, "--no-rate-limit")
    if args.pg:
        results["intake_burst_postgresql"] = await phase("petition", args.employees, 0.0, "--no-rate-limit", pg=args.pg)
        if args.paced:
            results["intake_paced_postgresql"] = await phase("petition", args.paced, args.think, "--no-rate-limit",
                                                             pg=args.pg)
    if args.limited:
        results["intake_paced_production_limiter"] = await phase("petition", args.limited, args.think)
    ratio = results["intake_burst"]["updates_per_second"] / results["echo_burst"]["updates_per_second"]
    results["ratio_intake_to_echo"] = round(ratio, 2)
    paced = results.get("intake_paced")
    report(
        "burst_intake",
        results,
        f"burst intake: {results['intake_burst']['updates_per_second']} updates/s vs echo "
        f"{results['echo_burst']['updates_per_second']} ({ratio:.2f}x)"
        + (f"; at {paced['updates_per_second']} updates/s p50 {paced['latency_ms']['p50']} ms,"
           f" p99 {paced['latency_ms']['p99']} ms" if paced else ""),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--paced", type=int, default=200, help="employees in the paced phase (1 s think time; 0: skip)")
    parser.add_argument("--limited", type=int, default=60,
                        help="employees in the paced phase with the production rate limiter (0: skip)")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between answer and next action when paced")
    parser.add_argument("--pg", metavar="URL", help="also run the intake phases on PostgreSQL at this server URL"
                        " (a fresh schema), beside SQLite")
    asyncio.run(main(parse_args(parser, employees=3, paced=2, limited=2, think=0.05)))
