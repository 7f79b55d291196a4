"""Answers to a person's own action survive Bot API faults.

The production bot (``bot.app.serve``) polls the loopback simulator, which
fails a share of the bot's sends: 15 % with 429 (retry after 1 s) and 10 %
with 500. Answers are retried within a bound a waiting person can bear, so
every employee finishes intake without typing anything twice and reads
exactly one receipt; when the answer after Submit fails for good, the
receipt comes through the outbox, with the same number, and a second Submit
makes no second case.
"""

from __future__ import annotations

import asyncio
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.pace import SERVER_RETRIES, Pace, PacedRateLimiter
from botsim import BotApiSimulator, Faults, SimUser
from tests.e2e import TOKEN, running_bot
from tests.petitioner import LABELS, NUMBER, org_with, rows, step

# A waiting person's patience, not a timing assertion: faults make each step slower.
WAIT = 60.0
RECEIPT = "已登记"


@dataclass
class PerChatFaults(Faults):
    """The simulator's faults, drawn from one seeded sequence per chat.

    With ten employees at once the order of calls across chats varies from
    run to run; per chat it does not, so a run is reproducible.
    """

    _rngs: dict[Any, random.Random] = field(default_factory=dict, init=False, repr=False)

    def pick(self, method: str, chat_id: object = None) -> str | None:
        self._rng = self._rngs.setdefault(chat_id, random.Random(f"{self.seed}:{chat_id}"))
        return super().pick(method, chat_id)


def sends_faults(seed: int) -> PerChatFaults:
    # 25 % of sends fail: three in five of those with 429, two in five with 500.
    return PerChatFaults(rate=0.25, kinds=("429", "429", "429", "500", "500"), retry_after=1, seed=seed,
                         methods=("sendMessage", "editMessageText"))


async def intake(user: SimUser, n: int) -> str:
    """The whole intake, each step typed or tapped once; returns the receipt's case number."""
    L = LABELS["zh"]
    await user.send("/new")
    await user.wait_for(step("zh", 1), timeout=WAIT)
    await user.tap(L["wages"])
    await user.wait_for(step("zh", 2), timeout=WAIT)
    await user.tap(L["oilfield"])
    await user.wait_for("当前位置：集团总部 › 油田公司", timeout=WAIT)
    await user.tap(L["plant"])
    await user.wait_for(step("zh", 3), timeout=WAIT)
    await user.send(f"加班费未发放{n}")
    await user.wait_for(step("zh", 4), timeout=WAIT)
    await user.send(f"十月加班费至今未发放（{n}）。")
    await user.wait_for(step("zh", 5), timeout=WAIT)
    await user.tap(L["skip"])
    await user.wait_for(step("zh", 6), timeout=WAIT)
    await user.tap(L["real"])
    await user.wait_for(step("zh", 7), timeout=WAIT)
    await user.tap(L["submit"])
    receipt = await user.wait_for(RECEIPT, timeout=WAIT)
    match = NUMBER.search(receipt.plain_text or "")
    assert match, receipt.plain_text
    return match.group(0)


def receipts(user: SimUser) -> list[str]:
    return [m.visible_text for m in user.messages if RECEIPT in m.visible_text]


@pytest.mark.slow
async def test_ten_employees_finish_intake_at_429_and_500_rates(tmp_path: Path) -> None:
    db = tmp_path / "faults.db"
    sim = BotApiSimulator(token=TOKEN)
    await sim.start()
    try:
        async with running_bot(org_with(messages_per_minute=20), db, sim=sim) as bot:
            limiter = bot.application.bot.rate_limiter
            assert isinstance(limiter, PacedRateLimiter)
            # What is asserted here is that nothing is lost or doubled; how long a person waits
            # under these faults is bench/faults.py's figure. On a loaded test machine the
            # ten-second budget can run out before the retries do, so it is widened here.
            limiter.answer_budget = 60.0
            users = [sim.user(6100 + n, first_name=f"员工{n}", language_code="zh-hans") for n in range(10)]
            sim.user(1002, first_name="李", language_code="zh-hans")  # the officer reads the case cards
            sim.faults = sends_faults(seed=12)
            numbers = await asyncio.gather(*(intake(user, n) for n, user in enumerate(users)))
            await bot.drained(timeout=WAIT)
            sim.faults = None
            for user, number in zip(users, numbers, strict=True):
                # Exactly one receipt, with the number the store gave; never "busy", never "too fast".
                assert len(receipts(user)) == 1 and number in receipts(user)[0], (user.id, receipts(user))
                seen = "\n".join(m.plain_text or "" for m in user.messages)
                assert "系统繁忙" not in seen and "过于频繁" not in seen, seen
        # The faults were real, of both kinds, and answers were among the calls that failed.
        assert sim.stats.faults_429 >= 5 and sim.stats.faults_500 >= 3, sim.stats
        failed_answers = [p for name, p, body in sim.calls if not body.get("ok")
                          and int(p.get("chat_id", 0)) in {u.id for u in users}]
        assert len(failed_answers) >= 5
        assert sorted(rows(db, "SELECT petitioner_id FROM cases")) == [(u.id,) for u in users]
        assert sorted(n for (n,) in rows(db, "SELECT number FROM cases")) == sorted(numbers)
    finally:
        await sim.stop()


async def test_the_receipt_arrives_through_the_outbox_when_the_answer_fails(tmp_path: Path) -> None:
    db = tmp_path / "receipt.db"
    sim = BotApiSimulator(token=TOKEN)
    await sim.start()
    try:
        async with running_bot(org_with(messages_per_minute=50), db, sim=sim) as bot:
            limiter = bot.application.bot.rate_limiter
            assert isinstance(limiter, PacedRateLimiter)
            limiter.server_backoff = 0.01
            user = sim.user(6201, first_name="张三", language_code="zh-hans")
            sim.user(1002, first_name="李", language_code="zh-hans")
            L = LABELS["zh"]
            await user.send("/new")
            await user.wait_for(step("zh", 1))
            await user.tap(L["wages"])
            await user.wait_for(step("zh", 2))
            await user.tap(L["oilfield"])
            await user.wait_for("油田公司")
            await user.tap(L["plant"])
            await user.wait_for(step("zh", 3))
            await user.send("加班费未发放")
            await user.wait_for(step("zh", 4))
            await user.send("十月加班费至今未发放。")
            await user.wait_for(step("zh", 5))
            await user.tap(L["skip"])
            await user.wait_for(step("zh", 6))
            await user.tap(L["real"])
            review = await user.wait_for(step("zh", 7))

            # Every edit of the review message fails: the answer to Submit cannot arrive that way.
            sim.faults = PerChatFaults(rate=1.0, kinds=("500",), seed=1, methods=("editMessageText",))
            await user.tap(L["submit"], message=review)
            receipt = await user.wait_for(RECEIPT, timeout=WAIT)  # a new message, from the outbox
            number = NUMBER.search(receipt.plain_text or "")
            assert number and receipt.message_id != review.message_id
            assert sim.stats.faults_500 >= 3  # the answer was tried again and again before it gave way

            # Submit again on the same review (its edit still fails): no second case, no second receipt.
            await user.tap(L["submit"], message=review)
            await bot.drained()
            sim.faults = None
            # And once edits work again, the same number.
            await user.tap(L["submit"], message=review)
            again = await user.wait_for(predicate=lambda m: m.message_id == review.message_id
                                        and RECEIPT in (m.plain_text or ""))
            assert number.group(0) in (again.plain_text or "")
            new_messages = [m for m in user.messages if RECEIPT in (m.plain_text or "")
                            and m.message_id != review.message_id]
            assert len(new_messages) == 1
            assert "系统繁忙" not in "\n".join(m.plain_text or "" for m in user.messages)
        assert rows(db, "SELECT number FROM cases") == [(number.group(0),)]
        assert rows(db, "SELECT count(*) FROM outbox WHERE kind = 'receipt'") == [(1,)]
    finally:
        await sim.stop()


async def test_typing_again_while_owed_an_answer_is_not_counted(tmp_path: Path) -> None:
    db = tmp_path / "owed.db"
    sim = BotApiSimulator(token=TOKEN)
    await sim.start()
    try:
        async with running_bot(org_with(messages_per_minute=2), db, sim=sim) as bot:
            limiter = bot.application.bot.rate_limiter
            assert isinstance(limiter, PacedRateLimiter)
            limiter.server_backoff = 0.01
            user = sim.user(6301, first_name="王五", language_code="zh-hans")
            # The Bot API is down for sends: the person types again and again and reads nothing.
            sim.faults = PerChatFaults(rate=1.0, kinds=("500",), seed=1, methods=("sendMessage",))
            for _ in range(3):
                before = len(sim.calls)
                await user.send("/start")
                # Its answer (or the "too fast" notice) was tried again and again, and the bot gave up.
                for _wait in range(1000):
                    given_up = [p for name, p, body in sim.calls[before:] if name == "sendMessage"
                                and ("系统繁忙" in p["text"] or "过于频繁" in p["text"])]
                    if len(given_up) >= SERVER_RETRIES + 1:  # its every attempt
                        break
                    await asyncio.sleep(0.01)
            assert user.messages == []
            sim.faults = None
            # Four messages within the minute, limit two: the fourth is still answered, not refused.
            mark = sim.seq
            await user.send("/start")
            answer = await user.wait_for(predicate=lambda m: True, after=mark)
            assert "您好" in (answer.plain_text or ""), answer.plain_text
    finally:
        await sim.stop()


async def test_answers_take_the_pace_before_bulk_sends() -> None:
    pace = Pace(20.0)
    await pace.acquire(urgent=False)  # the slot now is taken: both below must wait for later ones
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await pace.acquire(urgent=urgent)
        order.append(name)

    bulk = [asyncio.create_task(take(f"notice{n}", False)) for n in range(3)]
    await asyncio.sleep(0)  # the notices are waiting first
    answers = [asyncio.create_task(take(f"answer{n}", True)) for n in range(2)]
    await asyncio.gather(*bulk, *answers)
    assert sorted(order[:2]) == ["answer0", "answer1"], order  # both answers before any notice


async def test_answers_waiting_for_the_pace_go_in_turn_and_wake_once_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fifty answers at once: each reserves its slot and sleeps once (not all woken at every slot, one winning)."""
    pace = Pace(1000.0)
    real_sleep = asyncio.sleep
    sleeps = 0

    async def counted(delay: float) -> None:
        nonlocal sleeps
        # The patch is asyncio's own sleep, for everyone in the process: only the pace's sleeps are counted
        # (in a full run another library's sleep in this process counted too, once).
        if sys._getframe(1).f_globals.get("__name__") == "bot.pace":
            sleeps += 1
        await real_sleep(delay)

    monkeypatch.setattr("bot.pace.asyncio.sleep", counted)
    order: list[int] = []

    async def take(n: int) -> None:
        await pace.acquire(urgent=True)
        order.append(n)

    await asyncio.gather(*(take(n) for n in range(50)))
    assert order == list(range(50))  # in the order they came
    assert sleeps <= 49, sleeps  # the first goes at once; before: about 1,200 wake-ups


async def test_an_answer_that_came_after_the_slot_of_one_before_it_still_goes_after_it() -> None:
    """A busy loop: an answer comes when an earlier answer's slot has passed but that one is not woken yet.
    It has no slot to wait for, yet it goes second (it went first, and a full run under load saw it)."""
    now = [0.0]
    pace = Pace(10.0, monotonic=lambda: now[0])  # a slot every 0.1 s
    order: list[int] = []

    async def take(n: int) -> None:
        await pace.acquire(urgent=True)
        order.append(n)

    first, second = asyncio.create_task(take(0)), asyncio.create_task(take(1))  # at once; at 0.1 s
    await asyncio.sleep(0)
    now[0] = 5.0  # long after the second's slot, which still sleeps its 0.1 s
    await take(2)
    await asyncio.gather(first, second)
    assert order == [0, 1, 2]


def test_the_pace_is_the_organisation_files_setting(tmp_path: Path) -> None:
    from bot.app import build_application
    from store.org import example_org, parse_org, starter_toml

    async def build(org: Any) -> float:
        from store.services import Services

        store = await Services.open(tmp_path / f"pace{id(org)}.db", org)
        try:
            application = build_application(store, TOKEN, base_url="http://127.0.0.1:9/bot",
                                            base_file_url="http://127.0.0.1:9/file/bot")
            limiter = application.bot.rate_limiter
            assert isinstance(limiter, PacedRateLimiter)
            return limiter.pace.interval
        finally:
            await store.close()

    assert example_org().limits.bot_messages_per_second == 28
    faster = parse_org(starter_toml().replace("bot_messages_per_second = 28", "bot_messages_per_second = 100"))
    assert asyncio.run(build(example_org())) == 1 / 28
    assert asyncio.run(build(faster)) == 1 / 100
