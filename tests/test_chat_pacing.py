"""A retry never holds another chat (bot/pace.py, bot/outbox.py).

A 429 for one chat pauses that chat only; the whole bot waits only when 429s
come for several chats within the same window. Asserted on order and
delivery: the other chat is answered while the held chat's answer is still
waiting out its own 429, and the held answer then arrives, once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import timedelta
from pathlib import Path

import pytest
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.pace import BULK, FLOOD_CHATS, FLOOD_SHARE, SERVER_RETRIES, PacedRateLimiter
from botsim import BotApiSimulator, Faults
from tests.e2e import TOKEN, running_bot
from tests.petitioner import LABELS, org_with, step

HELD, OTHER = 6301, 6302
RETRY_AFTER = 5  # within the answer's budget (about 10 s): the held answer is still retried
WAIT = 30.0  # a person's patience, not a timing assertion


@pytest.mark.slow  # the bot over the loopback Bot API, waiting out a real 3-second hold
async def test_a_chat_held_by_its_own_429_does_not_hold_another_chats_answer(tmp_path: Path) -> None:
    sim = BotApiSimulator(token=TOKEN)
    await sim.start()
    try:
        async with running_bot(org_with(messages_per_minute=60), tmp_path / "pace.db", sim=sim):
            held = sim.user(HELD, first_name="甲", language_code="zh-hans")
            other = sim.user(OTHER, first_name="乙", language_code="zh-hans")
            sim.faults = Faults(rate=1.0, kinds=("429",), methods=("sendMessage",), chats=(HELD,), limit=1,
                                retry_after=RETRY_AFTER)
            await held.send("/new")
            for _ in range(int(WAIT / 0.01)):  # until Telegram has told the bot to wait for HELD
                if sim.stats.faults_429:
                    break
                await asyncio.sleep(0.01)
            assert sim.stats.faults_429 == 1
            # The other chat goes through three steps while the held one still waits out its own 429
            # (under a bot-wide pause its first answer would come only as the held one's did).
            await other.send("/new")
            await other.wait_for(step("zh", 1), timeout=WAIT)
            await other.tap(LABELS["zh"]["wages"])
            await other.wait_for(step("zh", 2), timeout=WAIT)
            await other.tap("炼化公司")  # a unit without sub-units: chosen at once
            await other.wait_for(step("zh", 3), timeout=WAIT)
            assert not any(step("zh", 1) in (m.plain_text or "") for m in held.messages)
            await held.wait_for(step("zh", 1), timeout=WAIT)
            # Retried until delivered, once; and nobody was told the system is busy.
            assert sum(step("zh", 1) in (m.plain_text or "") for m in held.messages) == 1
            for user in (held, other):
                assert not any("系统繁忙" in (m.plain_text or "") for m in user.messages)
    finally:
        await sim.stop()


def test_one_chats_429_pauses_that_chat_and_several_chats_pause_the_bot() -> None:
    limiter = PacedRateLimiter()
    limiter.flooded(HELD, 5.0)
    assert limiter.chat_paused_for(HELD) > 0
    assert limiter.chat_paused_for(OTHER) == 0 and limiter.paused_for == 0
    for chat in range(1, FLOOD_CHATS):  # more chats answered 429 within the window: the bot-wide limit
        limiter.flooded(7000 + chat, 5.0)
    assert limiter.paused_for > 0 and limiter.chat_paused_for(OTHER) > 0
    limiter = PacedRateLimiter()
    limiter.flooded(None, 5.0)  # a request to no chat: only the bot's limit can be meant
    assert limiter.paused_for > 0


async def test_a_few_busy_chats_meeting_their_own_limits_do_not_pause_the_bot() -> None:
    """Ten chats sent to; 429s for three of them is their own limits, not the bot's (FLOOD_SHARE)."""
    limiter = PacedRateLimiter()

    async def sent(*_: object, **__: object) -> bool:
        return True

    for chat in range(8000, 8010):
        assert await limiter.process_request(sent, (), {}, "sendMessage", {"chat_id": chat}, None) is True
    for chat in range(8000, 8000 + FLOOD_CHATS):
        limiter.flooded(chat, 5.0)
    assert limiter.paused_for == 0 and limiter.chat_paused_for(8009) == 0
    assert all(limiter.chat_paused_for(chat) > 0 for chat in range(8000, 8000 + FLOOD_CHATS))
    # When most of the chats sent to are refused, it is the bot's limit.
    most = math.ceil(FLOOD_SHARE * 10)
    for chat in range(8000 + FLOOD_CHATS, 8000 + most - 1):  # one short of the share: still their own
        limiter.flooded(chat, 5.0)
    assert limiter.paused_for == 0 and limiter.chat_paused_for(8009) == 0
    limiter.flooded(8000 + most - 1, 5.0)
    assert limiter.paused_for > 0 and limiter.chat_paused_for(8009) > 0


async def test_most_chats_meeting_a_429_now_and_then_are_not_the_bots_limit() -> None:
    """Ten busy chats, four requests each within the window, and a 429 for eight of them: one request
    in five refused is chats' own limits (bench.faults' random 429s), not the bot's, which refuses
    nearly every request."""
    limiter = PacedRateLimiter()

    async def sent(*_: object, **__: object) -> bool:
        return True

    for _ in range(4):
        for chat in range(8100, 8110):
            assert await limiter.process_request(sent, (), {}, "sendMessage", {"chat_id": chat}, None) is True
    for chat in range(8100, 8108):
        limiter.flooded(chat, 1.0)
    assert limiter.paused_for == 0 and limiter.chat_paused_for(8109) == 0
    assert all(limiter.chat_paused_for(chat) > 0 for chat in range(8100, 8108))


async def test_a_handled_429_is_no_error_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """PTB's limiter logs every 429 it does not retry itself as an ERROR with a traceback; this layer
    retries an answer (an INFO line) and leaves a notice to the outbox: neither is an error."""
    limiter = PacedRateLimiter()
    calls = 0

    async def flooded_once(*_: object, **__: object) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryAfter(timedelta(seconds=0.2))
        return True

    caplog.set_level(logging.INFO)
    assert await limiter.process_request(flooded_once, (), {}, "sendMessage", {"chat_id": HELD}, None) is True
    assert calls == 2  # the answer, tried again once its 429 had passed
    with pytest.raises(RetryAfter):  # a notice: the outbox retries it
        await limiter.process_request(_refused, (), {}, "sendMessage", {"chat_id": OTHER}, BULK)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any(r.name == "bot.pace" and "429" in r.getMessage() for r in caplog.records)


async def _refused(*_: object, **__: object) -> bool:
    raise RetryAfter(timedelta(seconds=0.2))


async def test_an_answer_is_tried_again_after_5xx_while_its_budget_lasts_and_a_time_out_twice_only() -> None:
    """A 5xx means the message did not go: tried again, backing off, until it goes (within ~10 s).
    A time-out may have been delivered: tried twice more only (a person may be shown it twice)."""
    limiter = PacedRateLimiter(server_backoff=0.001)
    attempts: list[str] = []

    async def down_five_times(*_: object, **__: object) -> bool:
        attempts.append("try")
        if len(attempts) <= 5:
            raise NetworkError("Bad Gateway")
        return True

    assert await limiter.process_request(down_five_times, (), {}, "editMessageText", {"chat_id": HELD}, None)
    assert len(attempts) == 6  # five failures, then delivered: nobody is told the system is busy
    attempts.clear()

    async def timing_out(*_: object, **__: object) -> bool:
        attempts.append("try")
        raise TimedOut()

    with pytest.raises(TimedOut):
        await limiter.process_request(timing_out, (), {}, "sendMessage", {"chat_id": OTHER}, None)
    assert len(attempts) == 3
    attempts.clear()

    async def down(*_: object, **__: object) -> bool:
        attempts.append("try")
        raise NetworkError("Internal Server Error")

    with pytest.raises(NetworkError):  # a Bot API that stays down: given up after SERVER_RETRIES more
        await limiter.process_request(down, (), {}, "sendMessage", {"chat_id": OTHER}, None)
    assert len(attempts) == SERVER_RETRIES + 1
