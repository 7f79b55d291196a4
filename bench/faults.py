"""Answers under Bot API faults: ten employees at once, and a chat held by its own 429.

Run from the repository root::

    .venv/bin/python -m bench.faults [--employees 10] [--rounds 10] [--hold 3]

Two phases, the bot (production wiring: PTB's rate limiter with the
project's pacing, ``bot/pace.py``) in its own process against a fresh
loopback Bot API each time:

- faults: ``--employees`` people file at once while 25 % of the bot's sends
  and edits fail, three in five of those with 429 (retry after 1 s) and two
  in five with 500. Reported: receipts per person (exactly one each is the
  only right answer), the wait for each next question (p50 / p99 / max).
  The scene is played ``--rounds`` times (seeds ``--seed``, ``--seed`` + 1, …,
  a fresh bot each time), so that the p99 is a percentile: one round of ten
  people is 90 waits, whose p99 is their slowest, a single step that met
  three 429s in a row; each round's slowest is reported beside it.
- held chat: one person's answer gets a 429 asking to wait ``--hold``
  seconds, for that chat only; meanwhile another person files. Reported: the
  other person's waits during the hold beside the same steps without it (the
  delay the held chat causes to another chat), and the held person's wait.

The tests assert delivery and exactly-once (``tests/test_answer_faults.py``,
``tests/test_chat_pacing.py``); this prints how long people wait.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.burst_intake import OFFICER, Employee
from bench.harness import BenchSimulator, BotProcess, parse_args, percentile, report
from botsim import Faults

RECEIPT = "已登记"


def waits(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def receipts(sim: BenchSimulator, user_id: int) -> int:
    return sum(RECEIPT in message.visible_text for message in sim.user(user_id).messages)


async def under_faults(employees: int, seed: int) -> tuple[dict[str, Any], list[float]]:
    sim = BenchSimulator()
    await sim.start()
    sim.user(OFFICER, first_name="孙干事", language_code="zh-hans")
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with BotProcess(sim, "petition", Path(folder) / "faults.db"):
                people = [Employee(sim, 20_000 + i, echo=False) for i in range(employees)]
                sim.faults = Faults(rate=0.25, kinds=("429", "429", "429", "500", "500"), retry_after=1, seed=seed,
                                    methods=("sendMessage", "editMessageText"))
                began = time.perf_counter()
                await asyncio.gather(*(person.run(0.0) for person in people))
                elapsed = time.perf_counter() - began
                sim.faults = None
                await asyncio.sleep(1.0)  # a receipt sent twice would show by now
                counts = [receipts(sim, person.user.id) for person in people]
    finally:
        await sim.stop()
    latencies = [lat for person in people for lat in person.latencies]
    return {
        "seconds": round(elapsed, 2),
        "faults_429": sim.stats.faults_429,
        "faults_500": sim.stats.faults_500,
        "wait_for_next_question": waits(latencies),
        "receipts_per_person": sorted(set(counts)),
        "exactly_one_receipt_each": all(count == 1 for count in counts),
        "wrong_answers": sum(person.errors for person in people),
    }, latencies


async def held_chat(hold: int) -> dict[str, Any]:
    sim = BenchSimulator()
    await sim.start()
    sim.user(OFFICER, first_name="孙干事", language_code="zh-hans")
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with BotProcess(sim, "petition", Path(folder) / "held.db"):
                alone = Employee(sim, 30_001, echo=False)
                await alone.run(0.1)  # the other person's steps with no chat held
                held = Employee(sim, 30_002, echo=False)
                other = Employee(sim, 30_003, echo=False)
                sim.faults = Faults(rate=1.0, kinds=("429",), methods=("sendMessage",), chats=(held.user.id,),
                                    limit=1, retry_after=hold)
                held_answer = asyncio.ensure_future(held._do(held.user.send("/new"), "第 1/7 步"))
                for _ in range(2000):  # until Telegram has told the bot to wait for that chat (10 s at most)
                    if sim.stats.faults_429:
                        break
                    await asyncio.sleep(0.005)
                began = time.perf_counter()
                await other.run(0.1)
                other_seconds = time.perf_counter() - began
                await held_answer
    finally:
        await sim.stop()
    during = other.latencies
    return {
        "hold_seconds": hold,
        "other_chat_steps": len(during),
        "other_chat_steps_within_hold": other_seconds <= hold,
        "other_chat_without_hold": waits(alone.latencies),
        "other_chat_during_hold": waits(during),
        # The other chat's slowest step during the hold beside its slowest without it (≤ 0: no delay).
        "delay_to_other_chat_ms": round((max(during) - max(alone.latencies)) * 1000, 1),
        "held_chat_wait_ms": round(held.latencies[0] * 1000, 1),
        "wrong_answers": alone.errors + held.errors + other.errors,
    }


async def rounds_under_faults(employees: int, seed: int, rounds: int) -> dict[str, Any]:
    """The faults scene ``rounds`` times over, its waits together; each round's own figures kept."""
    played = []
    latencies: list[float] = []
    for n in range(rounds):
        one, waited = await under_faults(employees, seed + n)
        played.append({"seed": seed + n, **one})
        latencies.extend(waited)
    return {
        "employees": employees,
        "rounds": rounds,
        "steps": len(latencies),
        "wait_for_next_question": waits(latencies),
        "slowest_by_round_ms": [r["wait_for_next_question"]["max_ms"] for r in played],
        "exactly_one_receipt_each": all(r["exactly_one_receipt_each"] for r in played),
        "wrong_answers": sum(r["wrong_answers"] for r in played),
        "by_round": played,
    }


async def main(args: argparse.Namespace) -> None:
    results = {
        "faults": await rounds_under_faults(args.employees, args.seed, args.rounds),
        "held_chat": await held_chat(args.hold),
    }
    faults, held = results["faults"], results["held_chat"]
    report(
        "faults",
        results,
        f"faults: {faults['rounds']} × {faults['employees']} employees under 15 % 429 + 10 % 500: exactly one "
        f"receipt each {faults['exactly_one_receipt_each']}, next question p99 "
        f"{faults['wait_for_next_question']['p99_ms']} ms over {faults['steps']} steps (each round's slowest: "
        f"{', '.join(f'{ms:.0f}' for ms in faults['slowest_by_round_ms'])} ms); "
        f"a chat held {held['hold_seconds']} s delayed another chat by {held['delay_to_other_chat_ms']} ms at most",
    )


def main_cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=10)
    parser.add_argument("--hold", type=int, default=3, help="the held chat's retry_after, seconds")
    parser.add_argument("--seed", type=int, default=12, help="the first round's seed (then + 1 each round)")
    parser.add_argument("--rounds", type=int, default=10, help="how many times the faults scene is played")
    args = parse_args(parser, employees=3, hold=1, rounds=1)
    asyncio.run(main(args))


if __name__ == "__main__":
    main_cli()
