"""Messages that list things stay within Telegram's 4,096 UTF-16 units, never cutting an item (issue 20).

/find with 20 long hits and a contact task carrying a long reply used to go out as one message over
the limit (Telegram refuses it; the person read 系统繁忙). Every listing now goes through one helper
(``handlers.common.send_list`` / ``show_list``, notices ``notifications.listed``: ``render.pack``).

Staff (tests/org_fixture.toml): officer 王主任 1001 (plant-1, wages).
"""

from __future__ import annotations

import re
from datetime import timedelta

from telegram.ext import Application

from handlers.notifications import render
from handlers.render import utf16_len
from store.ledger import PersonIn, Registration
from store.models import Actor, ActorRole, Channel
from store.services import Services
from store.workflow import Action
from tests.offline import OfflineRequest, Updates, feed

OFFICER = 1001
OFFICER_ACTOR = Actor(id=OFFICER, role=ActorRole.OFFICER, name="王主任")
TELEGRAM_LIMIT = 4096
NAME = "欧阳" + "😀" * 40  # 42 characters, 82 UTF-16 units
NUMBER = re.compile(r"XF-\d{4}-\d{6}")


def subject(n: int) -> str:
    return f"{n:02d}号" + "🏭" * 95  # 98 characters, ~193 UTF-16 units


def visit(n: int) -> Registration:
    return Registration(channel=Channel.VISIT, received_on=None, people=[PersonIn(name=NAME, phone="13900001111",
                        employee_no="YC" + "9" * 28, unit="第一采油厂" + "🛢" * 40)],
                        category="wages", unit="plant-1", subject=subject(n), details="来访反映。")


async def test_find_with_twenty_long_hits_is_split_between_whole_items(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    numbers = []
    for n in range(20):
        r = visit(n).model_copy(update={"received_on": store.context.today() - timedelta(days=1)})
        numbers.append((await store.ledger.register(OFFICER_ACTOR, r)).case.number)
    await feed(application, Updates(OFFICER, "王主任").text(f"/find {NAME}"))
    sent = [c for c in request.calls if c.method == "sendMessage" and c.params.get("chat_id") == OFFICER]
    texts = [c.text for c in sent]
    assert len(texts) > 1  # 20 hits of ~400 units each do not fit one message
    assert all(utf16_len(text) <= TELEGRAM_LIMIT for text in texts), [utf16_len(x) for x in texts]
    assert "（20 件" in texts[0]
    # Each hit whole in one message: its number, its person and its subject together.
    for n, number in enumerate(numbers):
        [holder] = [text for text in texts if number in text]
        item = holder[holder.index(number):]
        assert subject(n) in item.split("<code>XF-")[0] and NAME in item.split("<code>XF-")[0]
    assert sorted(NUMBER.findall("".join(texts))) == sorted(numbers)
    # The buttons are under the last message only.
    assert [bool(c.buttons()) for c in sent] == [False] * (len(sent) - 1) + [True]


async def test_a_contact_task_with_a_long_reply_is_split_and_keeps_every_line(store: Services) -> None:
    r = visit(1).model_copy(update={"received_on": store.context.today()})
    number = (await store.ledger.register(OFFICER_ACTOR, r)).case.number
    await store.cases.act(OFFICER_ACTOR, number, Action.ACCEPT)
    reply = "\n".join(f"第{n:02d}条：" + "经核查，" * 20 + "🙏" * 10 for n in range(1, 41))  # ~4,000 characters
    await store.cases.act(OFFICER_ACTOR, number, Action.REPLY, body=reply)
    items = [i for i in await store.outbox.pending_notifications(limit=100)
             if i.chat_id == OFFICER and i.kind == "lg_task"]
    replied = []
    for item in items:
        outgoing = await render(item, store)
        texts = [str(o.text) for o in outgoing]
        if "第40条" in "".join(texts):
            replied.append(outgoing)
    [outgoing] = replied
    texts = [str(o.text) for o in outgoing]
    assert len(texts) > 1 and all(utf16_len(text) <= TELEGRAM_LIMIT for text in texts)
    joined = "\n".join(texts)
    for line in reply.splitlines():  # no line of the reply is cut or lost
        assert line in joined
    assert [o.markup is not None for o in outgoing] == [False] * (len(outgoing) - 1) + [True]
