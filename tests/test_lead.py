"""Leader in charge (领导包案): who may take or give charge, the card, and every event to the leader.

Organisation (tests/review_fixture.py): hq (刘总 3001) ▸ oilfield (陈经理 3002) ▸ plant-1
(张厂长 3003, officer 王干事 1001); plant-2 (officer 1002); refinery (吴经理 3004).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram.ext import Application

from bot.commands import LEADER_COMMANDS, OFFICER_COMMANDS
from handlers.notifications import render
from store.errors import NotFound, Refused
from store.services import Services
from store.workflow import Action
from tests.conftest import draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import (
    ADMIN,
    LEADER_HQ,
    LEADER_OIL,
    LEADER_P1,
    LEADER_REF,
    OFFICER_P1,
    employee,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]


async def lead_texts(store: Services) -> list[tuple[int, str]]:
    items = [i for i in await store.outbox.pending_notifications(limit=1000) if i.kind == "sv_lead_event"]
    return [(i.chat_id, str((await render(i, store))[0].text)) for i in items]


async def test_a_leader_takes_charge_and_is_told_every_event(rstore: Services) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    case, leader = await rstore.supervision.take_lead(LEADER_P1, number)
    assert (case.lead_id, leader.telegram_id) == (LEADER_P1.id, LEADER_P1.id)
    assert await lead_texts(rstore) == []  # not told of their own step

    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    await rstore.cases.act(OFFICER_P1, number, Action.NOTE, body="已约谈车间主任")
    await rstore.supervision.urge(LEADER_OIL, number, "请抓紧")
    await rstore.cases.add_info(employee(5001), number, "补充：三月份加班费也未发放")
    texts = await lead_texts(rstore)
    assert [chat for chat, _ in texts] == [LEADER_P1.id] * 4
    assert texts[0][1] == f"🎖 包案事项 <code>{number}</code>（第一采油厂）：王干事 · 受理"
    assert "王干事 · " in texts[1][1] and texts[1][1].endswith("\n已约谈车间主任")
    assert "陈经理 · 催办\n请抓紧" in texts[2][1]
    assert "信访人 · " in texts[3][1] and "三月份加班费也未发放" in texts[3][1]
    # Journaled, internal.
    found = rows(rstore, "SELECT action, actor_id, public FROM events WHERE action = 'lead'")
    assert [(a, who, bool(public)) for a, who, public in found] == [("lead", LEADER_P1.id, False)]


async def test_a_higher_leader_puts_a_leader_in_charge(rstore: Services) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    case, leader = await rstore.supervision.take_lead(LEADER_HQ, number, "张厂长")
    assert case.lead_id == LEADER_P1.id and leader.name == "张厂长"
    ((chat, text),) = await lead_texts(rstore)
    assert chat == LEADER_P1.id
    assert text.startswith(f"🎖 <b>领导包案</b>：刘总 指定您对信访事项 <code>{number}</code>（第一采油厂 · 工资福利）领导包案")
    case, _ = await rstore.supervision.take_lead(ADMIN, number, str(LEADER_OIL.id))  # by Telegram id
    assert case.lead_id == LEADER_OIL.id
    stored = rows(rstore, "SELECT lead_id FROM cases WHERE number = ?", number)
    assert stored == [(LEADER_OIL.id,)]


async def test_refusals(rstore: Services) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    with pytest.raises(NotFound):
        await rstore.supervision.take_lead(LEADER_REF, number)  # another company: out of scope
    with pytest.raises(Refused) as officer:
        await rstore.supervision.take_lead(OFFICER_P1, number)
    assert officer.value.code == "forbidden"
    with pytest.raises(Refused) as same_level:
        await rstore.supervision.take_lead(LEADER_P1, number, "陈经理")  # the plant's own leader names another
    assert same_level.value.code == "lead_above"
    with pytest.raises(Refused) as outside:
        await rstore.supervision.take_lead(LEADER_HQ, number, "吴经理")  # the refinery's leader: not in scope
    assert outside.value.code == "lead_out_of_scope"
    with pytest.raises(Refused) as officer_named:
        await rstore.supervision.take_lead(LEADER_HQ, number, "王干事")  # not a leader
    assert officer_named.value.code == "lead_unknown"
    with pytest.raises(Refused) as admin_self:
        await rstore.supervision.take_lead(ADMIN, number)
    assert admin_self.value.code == "lead_not_leader"
    await rstore.supervision.take_lead(LEADER_P1, number)
    with pytest.raises(Refused) as again:
        await rstore.supervision.take_lead(LEADER_P1, number)
    assert again.value.code == "lead_already"
    assert rows(rstore, "SELECT count(*) FROM events WHERE action = 'lead'") == [(1,)]


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore, OfflineRequest()) as running:
        yield running


async def test_the_command_and_the_card(app: tuple[Application, OfflineRequest], rstore: Services) -> None:
    application, request = app
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    await feed(application, Updates(LEADER_P1.id).text("/lead"))
    assert request.texts_to(LEADER_P1.id)[-1].startswith("用法：/lead 编号")
    await feed(application, Updates(LEADER_P1.id).text(f"/lead {number} 陈经理"))
    assert request.texts_to(LEADER_P1.id)[-1] == "指定其他领导包案须由信访事项所在单位的上级领导或管理员进行。"
    await feed(application, Updates(LEADER_OIL.id).text(f"/lead {number.lower()} 张厂长"))
    assert request.texts_to(LEADER_OIL.id)[-1] == f"已指定 张厂长 对信访事项 <code>{number}</code> 领导包案。"
    await feed(application, Updates(OFFICER_P1.id).text(f"/case {number}"))
    assert "🎖 包案领导：张厂长" in "\n".join(request.texts_to(OFFICER_P1.id)[-3:])
    await feed(application, Updates(OFFICER_P1.id, language_code="en").text(f"/case {number}"))
    assert "🎖 Leader in charge: 张厂长" in "\n".join(request.texts_to(OFFICER_P1.id)[-3:])
    await feed(application, Updates(OFFICER_P1.id).text(f"/lead {number}"))
    assert request.texts_to(OFFICER_P1.id)[-1] == "您没有权限进行此操作。"


def test_the_menus() -> None:
    assert "lead" in LEADER_COMMANDS and "lead" not in OFFICER_COMMANDS


async def test_the_leader_replaced_is_told(rstore: Services) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    await rstore.supervision.take_lead(LEADER_HQ, number, "张厂长")
    await rstore.supervision.take_lead(ADMIN, number, "陈经理")  # 张厂长 is replaced: told
    texts = await lead_texts(rstore)
    assert [chat for chat, _ in texts] == [LEADER_P1.id, LEADER_OIL.id, LEADER_P1.id]
    assert texts[2][1] == (
        f"🎖 <b>包案领导更替</b>：管理员 已指定 陈经理 对信访事项 <code>{number}</code>（第一采油厂 · 工资福利）领导包案，"
        "您不再包案此事项。")
    # 刘总 takes charge himself: 陈经理, replaced, is told; 刘总 is not told of his own step.
    await rstore.supervision.take_lead(LEADER_HQ, number)
    texts = await lead_texts(rstore)
    assert [chat for chat, _ in texts[3:]] == [LEADER_OIL.id]
    assert "🎖 <b>包案领导更替</b>：刘总 已指定 刘总" in texts[3][1]
