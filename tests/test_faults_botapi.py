"""The outbox under Bot API faults: 429 with retry_after, 500s and time-outs.

The production Application (PTB's rate limiter with ``max_retries=0``, the
outbox sender from ``bot.app``) sends through real HTTP to the loopback
simulator, which fails a seeded 20% of sendMessage calls. Every
notification must arrive exactly once, in order per recipient; after a 429
nothing is sent to that chat until retry_after has passed, and a failed row waits
longer after each failure.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.outbox import POISON_ATTEMPTS, OutboxSender, backoff
from bot.request import AiohttpRequest
from botsim import BotApiSimulator, Faults
from store.models import Actor, ActorRole, Decision
from store.org import Organization
from store.services import Services
from store.workflow import Action
from tests.conftest import OPINION_PARTS, draft, petitioner, uid

TOKEN = "123456:FAULTS"
OFFICER = Actor(id=1001, role=ActorRole.OFFICER, name="王主任")
PETITIONERS = [5101, 5102, 5103, 5104, 5105, 5106]
RETRY_AFTER = 1
CLIENT_TIMEOUT = 0.3
BACKOFF_BASE = 0.1
# How late the sender may learn of an answer the simulator has already given: the client pauses when it has
# read the 429, and on a busy machine (formal documents are made in worker threads beside the event loop)
# a request already under way may reach the simulator a little after the answer left it. The rest of the
# 1 s window must stay quiet.
SLACK = 0.2
NUMBER = re.compile(r"[A-Z]+-\d{4}-\d{6}")
#: What a leader's collective-petition alert counts when it is sent: a retry after the next petition counts one more.
ALERT_COUNT = re.compile(r"已有 \d+ 名职工|最近一件 <code>[^<]*</code>")


class _StampedCalls(list):
    """The simulator's call log, stamping when each answer (or hang-up) happened."""

    def __init__(self, ended: dict[int, float]) -> None:
        super().__init__()
        self.ended = ended

    def append(self, entry: Any) -> None:
        self.ended[id(entry[1])] = time.monotonic()
        super().append(entry)


class TimedSimulator(BotApiSimulator):
    """Records when each request started and ended (keyed by its params dict)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started: dict[int, float] = {}
        self.ended: dict[int, float] = {}
        self.calls = _StampedCalls(self.ended)

    async def _read_params(self, request: Any, spec: Any) -> Any:
        params, files = await super()._read_params(request, spec)
        self.started[id(params)] = time.monotonic()
        return params, files


@dataclass
class Attempt:
    chat_id: int
    text: str
    started: float
    ended: float
    outcome: str  # ok | 429 | 500 | timeout


def attempts(sim: TimedSimulator) -> list[Attempt]:
    found = []
    for name, params, body in sim.calls:
        if name != "sendMessage":
            continue
        if body.get("ok"):
            outcome = "ok"
        elif body.get("error_code") == 429:
            outcome = "429"
        elif body.get("error_code") == 500:
            outcome = "500"
        else:
            assert "simulated timeout" in body.get("description", ""), body
            outcome = "timeout"
        found.append(Attempt(int(params["chat_id"]), params["text"], sim.started[id(params)],
                             sim.ended[id(params)], outcome))
    return sorted(found, key=lambda a: a.started)


@pytest.fixture
async def setup(org: Organization, tmp_path: Path) -> AsyncIterator[tuple[TimedSimulator, Application, Services]]:
    sim = TimedSimulator(token=TOKEN)
    await sim.start()
    # The leader and the admin hear of collective petitions (many petitioners, one unit).
    for user_id in [uid(OFFICER), *PETITIONERS, 2001, 9001]:
        sim.user(user_id, first_name=f"u{user_id}", language_code="zh-hans")
    store = await Services.open(tmp_path / "faults.db", org)  # the real clock: backoff is real time
    request = AiohttpRequest(256, read_timeout=CLIENT_TIMEOUT, write_timeout=1.0, connect_timeout=1.0, pool_timeout=2.0)
    application = build_application(store, TOKEN, base_url=sim.base_url, base_file_url=sim.base_file_url,
                                     request=request)
    await application.initialize()
    try:
        yield sim, application, store
    finally:
        await application.shutdown()
        await store.close()
        await sim.stop()


async def officer_works(store: Services) -> dict[int, list[str]]:
    """Cases go through accept → two replies → extension → decision; returns what each petitioner (and the officer) is owed."""
    owed: dict[int, list[str]] = {}
    numbers = {}
    documents: list[str] = []  # the officer's copies of the formal documents, in order
    for user_id in PETITIONERS:
        numbers[user_id] = (await store.cases.submit(petitioner(user_id), draft(), f"key-{user_id}")).case.number
    for round_ in range(5):
        for user_id in PETITIONERS:
            number = numbers[user_id]
            if round_ == 0:
                await store.cases.act(OFFICER, number, Action.ACCEPT)
                owed.setdefault(user_id, []).append(f"{number} 已受理")
                owed[user_id].append(f"{number} 受理告知书")  # the step's formal document follows its notice
                documents.append(f"{number} 受理告知书")  # and the officer's copy
            elif round_ in (1, 2):
                text = f"第{round_}次答复-{user_id}"
                await store.cases.act(OFFICER, number, Action.REPLY, body=text)
                owed[user_id].append(text)
            elif round_ == 3:
                await store.cases.act(OFFICER, number, Action.EXTEND, days=10, body=f"延期理由-{user_id}")
                owed[user_id].append(f"延期理由-{user_id}")
                owed[user_id].append(f"{number} 延期告知书")
                documents.append(f"{number} 延期告知书")
            else:
                await store.cases.act(OFFICER, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body=f"意见-{user_id}")
                owed[user_id].append(f"{number} 已出具处理意见")
                owed[user_id].append(f"{number} 信访处理意见书")
                documents.append(f"{number} 信访处理意见书")
                owed[user_id].append(f"{number} 作出评价")  # the rating request that follows an opinion
        await asyncio.sleep(0.3)  # new rows arrive while earlier ones are being retried
    owed[uid(OFFICER)] = [*numbers.values(), *documents]
    return owed


def _matches(visible: str, expected: str) -> bool:
    return all(part in visible for part in expected.split(" "))


@pytest.mark.slow
async def test_every_notification_once_in_order_despite_429_500_and_timeouts(
    setup: tuple[TimedSimulator, Application, Services],
) -> None:
    sim, application, store = setup
    sender: OutboxSender = application.bot_data["outbox"]
    sender.backoff_base = BACKOFF_BASE
    sender.chat_interval = 0.05  # this simulator does not enforce Telegram's pace
    sim.faults = Faults(rate=0.2, methods=("sendMessage",), retry_after=RETRY_AFTER, seed=7,
                        hang_seconds=1.0)

    work = asyncio.create_task(officer_works(store))
    deadline = time.monotonic() + 180  # a cap for a stuck sender; the loop ends when the outbox drains
    while time.monotonic() < deadline:
        await sender.run_once()
        if work.done() and not await store.outbox.pending_notifications():
            break
        await asyncio.sleep(0.02)
    owed = await work
    assert await store.outbox.pending_notifications() == [], "the outbox did not drain"

    # Every notification arrived once, and each recipient read them in the order they were caused.
    for chat_id, expected in owed.items():
        received = [m.visible_text for m in sim.chat(chat_id).messages]
        assert len(received) == len(expected), (chat_id, received)
        for text, want in zip(received, expected, strict=True):
            assert _matches(text, want), (chat_id, want, received)

    # The faults really happened, each kind more than once.
    assert sim.stats.faults_429 >= 2 and sim.stats.faults_500 >= 2 and sim.stats.faults_timeout >= 2, sim.stats

    tried = attempts(sim)
    by_message: dict[tuple[int, str], list[Attempt]] = defaultdict(list)
    for attempt in tried:
        # A case card shows the case as it is when sent, so the officer's cards are told apart by number.
        number = NUMBER.search(attempt.text)
        # A leader's alert is one message whatever count it shows.
        key = number.group(0) if attempt.chat_id == OFFICER.id and number else ALERT_COUNT.sub("", attempt.text)
        by_message[(attempt.chat_id, key)].append(attempt)
    # Exactly one successful send per message, and nothing after it.
    for message, history in by_message.items():
        assert [a.outcome for a in history].count("ok") == 1, (message, history)
        assert history[-1].outcome == "ok", (message, history)

    # A 429 holds its own chat for retry_after: nothing new starts for that chat in the window (the
    # whole bot waits only when 429s come for several chats at once: bot/pace.py).
    for flood in (a for a in tried if a.outcome == "429"):
        too_soon = [a for a in tried if a.chat_id == flood.chat_id
                    and flood.ended + SLACK < a.started < flood.ended + RETRY_AFTER]
        assert not too_soon, (flood, too_soon)
    # After a 500 or a time-out the row waits backoff(attempts) before its next try, longer each time.
    waits = []
    for history in by_message.values():
        for failures, (failed, retry) in enumerate(zip(history, history[1:], strict=False)):
            wait = retry.started - failed.started
            if failed.outcome in ("500", "timeout"):
                assert wait >= backoff(failures, BACKOFF_BASE), (failed, retry, failures)
                waits.append((failures, wait))
            else:
                assert wait >= RETRY_AFTER, (failed, retry)
    assert waits, "no row was retried after a 500 or a time-out"


@pytest.mark.slow
async def test_a_blocked_chat_is_set_aside_and_served_again_when_the_user_writes(
    setup: tuple[TimedSimulator, Application, Services],
) -> None:
    sim, application, store = setup
    sender: OutboxSender = application.bot_data["outbox"]
    blocked, other = sim.user(PETITIONERS[0]), sim.user(PETITIONERS[1])
    blocked.blocked = True
    for user_id in (blocked.id, other.id):
        number = (await store.cases.submit(petitioner(user_id), draft(), f"k{user_id}")).case.number
        await store.cases.act(OFFICER, number, Action.ACCEPT)
    await sender.run_once()
    assert [m.visible_text for m in other.messages if "已受理" in m.visible_text]
    assert blocked.messages == [] and await store.outbox.pending_notifications() == []  # set aside, not retried

    blocked.blocked = False  # the user unblocks the bot and writes to it
    await application.process_update(Update.de_json(
        {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "你好",
                                     "chat": {"id": blocked.id, "type": "private"},
                                     "from": {"id": blocked.id, "is_bot": False, "first_name": "x"}}},
        application.bot))
    await sender.run_once()
    assert [m.visible_text for m in blocked.messages if "已受理" in m.visible_text]


async def test_a_row_that_cannot_be_rendered_does_not_hold_up_the_others(
    setup: tuple[TimedSimulator, Application, Services], monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, application, store = setup
    sender: OutboxSender = application.bot_data["outbox"]
    sender.backoff_base = 0.0
    import bot.outbox
    from handlers.notifications import render as real_render

    bad_case = (await store.cases.submit(petitioner(PETITIONERS[0]), draft(), "bad")).case
    await store.cases.submit(petitioner(PETITIONERS[1]), draft(), "good")

    async def render(item: Any, store_: Services) -> Any:
        if item.case_id == bad_case.id:
            raise KeyError("a text the catalog lacks")
        return await real_render(item, store_)

    monkeypatch.setattr(bot.outbox, "render", render)
    for _ in range(POISON_ATTEMPTS + 1):
        await sender.run_once()
    cards = [m.visible_text for m in sim.user(uid(OFFICER)).messages]
    assert len(cards) == 1 and "加班费未发放" in cards[0]
    assert await store.outbox.pending_notifications() == []
    assert await store.outbox.unreachable_chats() == [OFFICER.id]  # set aside with its reason, not lost
