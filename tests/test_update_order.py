"""Updates of one chat in order, chats side by side (bot/updates.py).

What is asserted is order, delivery and exactly-once, never how long
anything took: a chat held up by its own slow update is shown not to hold
another chat by the other chat finishing while the first is still held.
"""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.updates import ChatOrderedProcessor, order_keys
from handlers.common import hand_on
from store.services import Services
from tests.backends import rows
from tests.conftest import draft, petitioner
from tests.offline import OfflineRequest, Updates, update

OFFICER_PLANT = 1001  # org_fixture.toml: officer of plant-1 (wages)
OFFICER_OILFIELD = 1002  # officer of the oilfield, above plant-1


def _update(raw: dict[str, Any]) -> Update:
    return Update.de_json(raw, None)


async def _run_all(processor: ChatOrderedProcessor, items: list[tuple[Update, Any]]) -> None:
    """As PTB's update fetcher does: one task per update, started in the order fetched."""
    await asyncio.gather(*(asyncio.ensure_future(processor.process_update(u, c)) for u, c in items))


async def test_each_chats_updates_are_handled_in_order_while_chats_interleave() -> None:
    processor = ChatOrderedProcessor(concurrency=8)
    seen: dict[int, list[int]] = {}
    running: set[int] = set()
    overlap: list[int] = []
    both: list[bool] = []
    rng = random.Random(21)

    async def handle(chat: int, n: int) -> None:
        if chat in running:
            overlap.append(chat)
        running.add(chat)
        both.append(len(running) > 1)
        for _ in range(rng.randrange(4)):
            await asyncio.sleep(0)
        seen.setdefault(chat, []).append(n)
        running.discard(chat)

    users = {chat: Updates(chat) for chat in range(7001, 7021)}
    order = [(chat, n) for n in range(15) for chat in users]
    rng.shuffle(order)  # chats interleave any which way; each chat's own order must hold
    items = []
    expected: dict[int, list[int]] = {}
    for chat, n in order:
        expected.setdefault(chat, []).append(n)
        raw = users[chat].tap(f"x:{n}") if n % 2 else users[chat].text(f"text {n}")
        items.append((_update(raw), handle(chat, n)))
    await _run_all(processor, items)
    assert seen == expected
    assert overlap == []  # never two updates of one chat at once
    assert any(both)  # and chats did run side by side
    assert processor.chats_waiting == 0


class _Application:
    """What ``hand_on`` asks of the application: the second handling of an update, and a task (never wanted here)."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def process_update(self, update: object) -> None:
        await asyncio.sleep(0)
        assert isinstance(update, Update) and update.message is not None
        self.log.append(f"again: {update.message.text}")

    def create_task(self, coroutine: Any, update: object = None) -> None:
        coroutine.close()
        raise AssertionError("handed on outside the chat's turn")


class _Context:
    def __init__(self, application: _Application) -> None:
        self.application = application


async def test_an_update_handed_on_is_handled_again_before_the_chats_next_update() -> None:
    """A text typed to a form that had ended is handed on (handlers/common.py ``hand_on``): it is handled again
    right after, in its chat's turn, before the next text of that chat and never beside it."""
    processor = ChatOrderedProcessor(concurrency=4)
    log: list[str] = []
    context = _Context(_Application(log))
    user, other = Updates(7301), Updates(7302)
    first, second, elsewhere = _update(user.text("to the ended form")), _update(user.text("next")), _update(other.text("x"))

    async def handle(u: Update, *, hand: bool = False) -> None:
        assert u.message is not None
        log.append(f"handled: {u.message.text}")
        if hand:
            hand_on(u, context)  # type: ignore[arg-type]  # a stand-in for PTB's context
        await asyncio.sleep(0)

    await _run_all(processor, [(first, handle(first, hand=True)), (second, handle(second)), (elsewhere, handle(elsewhere))])
    mine = [entry for entry in log if not entry.endswith(": x")]
    assert mine == ["handled: to the ended form", "again: to the ended form", "handled: next"]
    assert "handled: x" in log
    assert processor.chats_waiting == 0


async def test_a_chat_held_by_a_slow_update_does_not_hold_another_chat() -> None:
    processor = ChatOrderedProcessor(concurrency=2)
    release = asyncio.Event()
    log: list[str] = []
    slow_user, other_user = Updates(7101), Updates(7102)

    async def slow(name: str) -> None:
        log.append(f"{name} started")
        await release.wait()
        log.append(f"{name} done")

    async def quick(name: str) -> None:
        log.append(name)

    # The slow chat has far more updates queued than there are slots: waiting ones take none.
    items = [(_update(slow_user.text("/slow")), slow("A0"))]
    items += [(_update(slow_user.text(f"a{n}")), quick(f"A{n}")) for n in range(1, 20)]
    items += [(_update(other_user.text(f"b{n}")), quick(f"B{n}")) for n in range(10)]
    tasks = [asyncio.ensure_future(processor.process_update(u, c)) for u, c in items]
    for _ in range(50):
        await asyncio.sleep(0)
    # The other chat is answered in full while the first is still held by its own update.
    assert [e for e in log if e.startswith("B")] == [f"B{n}" for n in range(10)]
    assert log[0] == "A0 started" and "A0 done" not in log and "A1" not in log
    release.set()
    await asyncio.gather(*tasks)
    assert [e for e in log if e.startswith("A")] == ["A0 started", "A0 done"] + [f"A{n}" for n in range(1, 20)]


async def test_a_persons_group_and_private_updates_share_their_order() -> None:
    """Conversations are per user: a person's update in a group waits for their private one, and the group's."""
    person = Updates(7201)
    in_group = person.text("/queue")
    in_group["message"]["chat"] = {"id": -100777, "type": "supergroup", "title": "工作群"}
    group_update, private_update = _update(in_group), _update(person.tap("x:1"))
    assert order_keys(group_update) == (-100777, 7201)
    assert order_keys(private_update) == (7201,)
    processor = ChatOrderedProcessor(concurrency=4)
    release = asyncio.Event()
    log: list[str] = []

    async def held() -> None:
        log.append("private started")
        await release.wait()
        log.append("private done")

    async def group() -> None:
        log.append("group")

    tasks = [asyncio.ensure_future(processor.process_update(private_update, held())),
             asyncio.ensure_future(processor.process_update(group_update, group()))]
    for _ in range(20):
        await asyncio.sleep(0)
    assert log == ["private started"]
    release.set()
    await asyncio.gather(*tasks)
    assert log == ["private started", "private done", "group"]


async def test_many_employees_filing_at_once_each_get_their_steps_in_order_and_one_receipt(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    """The production Application, its update queue fed as polling feeds it, employees interleaved."""
    application, request = app
    assert isinstance(application.update_processor, ChatOrderedProcessor)
    employees = [Updates(uid) for uid in range(8001, 8013)]
    steps = [
        lambda u: u.text("/new"), lambda u: u.tap("in:cat:wages"), lambda u: u.tap("in:unit:oilfield"),
        lambda u: u.tap("in:unit:plant-1"), lambda u: u.text(f"加班费未发放-{u.user_id}"),
        lambda u: u.text("十月份加班费至今未发放。"), lambda u: u.tap("in:done"), lambda u: u.tap("in:id:real"),
    ]
    await application.start()
    try:
        for step in steps:  # every employee's step n is queued before anyone's step n + 1
            for employee in employees:
                await application.update_queue.put(update(step(employee), application.bot))
        await application.update_queue.join()
        for employee in employees:
            uid = employee.user_id
            texts = request.texts_to(uid)
            progress = [int(m.group(1)) for text in texts if (m := re.search(r"第 (\d)/7 步", text))]
            assert progress == sorted(progress) and progress[-1] == 7, (uid, progress)
            review = request.last_to(uid)
            submit = next(data for _, data in review.buttons() if data.startswith("in:submit:"))
            # Submit tapped twice (a double tap, a redelivery): one case.
            await application.update_queue.put(update(employee.tap(submit), application.bot))
            await application.update_queue.put(update(employee.tap(submit), application.bot))
        await application.update_queue.join()
    finally:
        await application.stop()
    for employee in employees:
        uid = employee.user_id
        receipts = {m.group(1) for text in request.texts_to(uid)
                    if (m := re.search(r"<code>([A-Z]+-\d{4}-\d{6})</code>", text))}
        assert len(receipts) == 1, (uid, receipts)
        case = await store.cases.case_for(store.cases.actor(uid), receipts.pop())
        assert case.subject == f"加班费未发放-{uid}"
        assert await store.cases.get_draft(uid) is None


async def test_two_officers_accepting_one_case_from_two_chats_at_once_one_wins(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    """Side by side now, so the store's transaction decides: one acceptance, the other officer told so."""
    application, request = app
    result = await store.cases.submit(petitioner(), draft(), "race-1")
    number = result.case.number
    await application.start()
    try:
        for officer in (OFFICER_PLANT, OFFICER_OILFIELD):
            await application.update_queue.put(update(Updates(officer).text(f"/accept {number}"), application.bot))
        await application.update_queue.join()
    finally:
        await application.stop()
    case = await store.cases.case_for(store.cases.actor(OFFICER_PLANT), number)
    assert case.status.value == "accepted"
    accepted = rows(store, "SELECT actor_id FROM events WHERE case_id = ? AND action = 'accept'", case.id)
    assert len(accepted) == 1  # one acceptance, by one of them
    won = accepted[0][0]
    lost = OFFICER_OILFIELD if won == OFFICER_PLANT else OFFICER_PLANT
    refused = "“已受理”状态，不能进行此操作"
    # The other is told, in so many words, why nothing happened; the winner never is.
    assert sum(refused in text for text in request.texts_to(lost)) == 1, request.texts_to(lost)
    assert not any(refused in text for text in request.texts_to(won))
    assert any(text.startswith(f"已受理 <code>{number}</code>") for text in request.texts_to(won)), request.texts_to(won)
