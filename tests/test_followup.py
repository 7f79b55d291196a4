"""Follow-up (回访) after the written opinion: who may record it, when, and the record.

Organisation (tests/review_fixture.py): plant-1 (officer 1001, leader 3003) ▸ oilfield
(leader 3002); plant-2 (officer 1002). The follow-up rate of /stats is in test_indicators.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from telegram.ext import Application

from bot.commands import LEADER_COMMANDS, OFFICER_COMMANDS
from store.clock import FakeClock
from store.errors import NotFound, Refused
from store.services import Services
from store.workflow import Action
from tests.conftest import draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import LEADER_OIL, LEADER_P1, OFFICER_P1, OFFICER_P2, decided_case, rorg, rstore

__all__ = ["rorg", "rstore"]


async def test_a_follow_up_after_the_opinion_is_recorded(rstore: Services, clock: FakeClock) -> None:
    number = await decided_case(rstore, clock)
    case = await rstore.supervision.follow_up(OFFICER_P1, number, "visit", "上门走访，信访人表示理解")
    assert case.number == number
    await rstore.supervision.follow_up(LEADER_P1, number, "phone", "电话回访")
    found = rows(rstore, "SELECT action, actor_id, body, data, public FROM events WHERE action = 'followup' ORDER BY id")
    assert [(a, who, body, json.loads(data)["method"]) for a, who, body, data, _ in found] == [
        ("followup", OFFICER_P1.id, "上门走访，信访人表示理解", "visit"),
        ("followup", LEADER_P1.id, "电话回访", "phone"),
    ]
    assert {bool(public) for *_, public in found} == {False}  # internal, not on the petitioner's timeline


async def test_who_may_follow_up_and_when(rstore: Services, clock: FakeClock) -> None:
    open_number = (await rstore.cases.submit(petitioner(5002), draft(), "open")).case.number
    with pytest.raises(Refused) as early:
        await rstore.supervision.follow_up(OFFICER_P1, open_number, "phone", "回访")  # no opinion yet
    assert early.value.code == "wrong_status"
    number = await decided_case(rstore, clock)
    with pytest.raises(NotFound):
        await rstore.supervision.follow_up(OFFICER_P2, number, "phone", "回访")  # another plant: out of scope
    with pytest.raises(Refused) as way:
        await rstore.supervision.follow_up(OFFICER_P1, number, "letter", "回访")
    assert way.value.code == "followup_method"
    with pytest.raises(Refused) as empty:
        await rstore.supervision.follow_up(OFFICER_P1, number, "phone", "  ")
    assert empty.value.code == "text_required"
    await rstore.cases.act(OFFICER_P1, open_number, Action.DECLINE, body="不属于受理范围")
    with pytest.raises(Refused) as declined:
        await rstore.supervision.follow_up(OFFICER_P1, open_number, "phone", "回访")  # declined: no opinion
    assert declined.value.code == "wrong_status"
    assert rows(rstore, "SELECT count(*) FROM events WHERE action = 'followup'") == [(0,)]


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore, OfflineRequest()) as running:
        yield running


async def test_the_command_in_telegram(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = await decided_case(rstore, clock)
    await feed(application, Updates(OFFICER_P1.id).text(f"/followup {number} letter 已回访"))
    assert request.texts_to(OFFICER_P1.id)[-1].startswith("用法：/followup 编号 回访方式 回访情况")
    await feed(application, Updates(OFFICER_P1.id).text(f"/followup {number.lower()} 电话 信访人对<b>答复</b>满意"))
    assert request.texts_to(OFFICER_P1.id)[-1] == f"已记录信访事项 <code>{number}</code> 的电话回访情况。"
    await feed(application, Updates(OFFICER_P2.id).text(f"/followup {number} visit 走访"))
    assert "<code>" not in request.texts_to(OFFICER_P2.id)[-1]  # out of scope: like an unknown number
    await feed(application, Updates(LEADER_OIL.id, language_code="en").text(f"/followup {number} chat Talked"))
    assert request.texts_to(LEADER_OIL.id)[-1] == (
        f"The follow-up talk in person on petition <code>{number}</code> is recorded."
    )
    assert rows(rstore, "SELECT body FROM events WHERE action = 'followup' ORDER BY id") == [
        ("信访人对<b>答复</b>满意",), ("Talked",),
    ]
    await feed(application, Updates(5001).text(f"/followup {number} phone 好"))
    assert request.texts_to(5001)[-1] == "该命令仅供信访工作人员使用。"


def test_the_menus_offer_follow_up_to_staff() -> None:
    assert "followup" in OFFICER_COMMANDS and "followup" in LEADER_COMMANDS
