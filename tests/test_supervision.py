"""Supervision orders (督办), progress reports, urging (催办) and the escalation of overdue orders.

Organisation (tests/review_fixture.py): hq (leader 3001) ▸ oilfield (leader 3002) ▸ plant-1
(leader 3003, officer 1001); plant-2 (officer 1002); refinery (leader 3004). A plant-1 case
is supervised by the oilfield's leader (above the plant); escalation goes one level above
the supervising leader: the headquarters.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.commands import LEADER_COMMANDS, OFFICER_COMMANDS
from handlers.notifications import render
from store.clock import FakeClock
from store.errors import NotFound, Refused
from store.opinion import DeclineGrounds
from store.org import Organization
from store.services import Services
from store.workflow import Action
from tests.backends import fresh_database
from tests.conftest import draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import (
    ADMIN,
    LEADER_HQ,
    LEADER_OIL,
    LEADER_P1,
    LEADER_REF,
    OFFICER_P1,
    OFFICER_P2,
    at,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]


def sent(db: Path | str | Services, kind: str) -> list[tuple[int, str | None]]:
    found = rows(db, "SELECT chat_id, params FROM outbox WHERE kind = ? ORDER BY id", kind)
    return [(chat, json.loads(params).get("level")) for chat, params in found]


async def texts_of(store: Services, kind: str) -> list[str]:
    items = [i for i in await store.outbox.pending_notifications(limit=1000) if i.kind == kind]
    return [str((await render(item, store))[0].text) for item in items]


async def test_supervise_progress_and_the_record(rstore: Services, clock: FakeClock) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number  # 2026-11-02
    order = await rstore.supervision.supervise(LEADER_OIL, number, 7, "请于一周内核实加班费发放情况")
    assert (order.leader_id, order.due, order.progress_at) == (LEADER_OIL.id, date(2026, 11, 9), None)
    # The handling officer and the plant's leaders get the order, with the instruction.
    assert sent(rstore, "sv_order") == [(OFFICER_P1.id, None), (LEADER_P1.id, None)]
    (text, _) = await texts_of(rstore, "sv_order")
    assert "陈经理 对信访事项 <code>" + number in text and "2026年11月9日前报告办理进展" in text
    assert text.endswith("批示：请于一周内核实加班费发放情况")

    clock.set(at(date(2026, 11, 5)))
    await rstore.supervision.progress(OFFICER_P1, number, "已约谈车间负责人，正在核对工资表")
    assert sent(rstore, "sv_progress") == [(LEADER_OIL.id, None)]
    (text,) = await texts_of(rstore, "sv_progress")
    assert text == f"📝 <b>办理进展</b>：王干事 报告信访事项 <code>{number}</code> 的办理进展：\n已约谈车间负责人，正在核对工资表"
    state = await rstore.supervision.card_state(await rstore.cases.case_for(OFFICER_P1, number))
    assert state.order is not None and state.order.progress_at is not None

    await rstore.supervision.urge(LEADER_P1, number, "请抓紧")
    assert sent(rstore, "sv_urge") == [(OFFICER_P1.id, None)]
    assert (await texts_of(rstore, "sv_urge"))[0].endswith("请您抓紧办理。\n请抓紧")

    # Every step is journaled, internal (not on the petitioner's timeline).
    events = rows(rstore, "SELECT action, actor_id, body, public FROM events WHERE action IN"
                          " ('supervise', 'progress', 'urge') ORDER BY id")
    assert [(a, who, body) for a, who, body, _ in events] == [
        ("supervise", LEADER_OIL.id, "请于一周内核实加班费发放情况"),
        ("progress", OFFICER_P1.id, "已约谈车间负责人，正在核对工资表"),
        ("urge", LEADER_P1.id, "请抓紧"),
    ]
    assert {bool(public) for *_, public in events} == {False}

    # Progress was reported in time: nothing is overdue.
    clock.set(at(date(2026, 11, 20)))
    await rstore.review.sweep()
    assert sent(rstore, "sv_overdue") == []


async def test_who_may_supervise_urge_and_report(rstore: Services) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    with pytest.raises(Refused) as own_unit:
        await rstore.supervision.supervise(LEADER_P1, number, 7, "督办")  # the plant's own leader
    assert own_unit.value.code == "supervise_above"
    with pytest.raises(Refused) as officer:
        await rstore.supervision.supervise(OFFICER_P1, number, 7, "督办")
    assert officer.value.code == "forbidden"
    with pytest.raises(NotFound):
        await rstore.supervision.supervise(LEADER_REF, number, 7, "督办")  # out of scope
    with pytest.raises(Refused) as days:
        await rstore.supervision.supervise(LEADER_OIL, number, 0, "督办")
    assert days.value.code == "supervise_days"
    with pytest.raises(Refused) as empty:
        await rstore.supervision.supervise(LEADER_OIL, number, 7, "  ")
    assert empty.value.code == "text_required"
    with pytest.raises(NotFound):
        await rstore.supervision.progress(OFFICER_P2, number, "进展")  # another plant's officer
    with pytest.raises(Refused) as urging_officer:
        await rstore.supervision.urge(OFFICER_P1, number)
    assert urging_officer.value.code == "forbidden"
    order = await rstore.supervision.supervise(ADMIN, number, 3, "督办")
    assert order.leader_id == ADMIN.id
    assert rows(rstore, "SELECT count(*) FROM events WHERE action IN ('supervise', 'progress', 'urge')") == [(1,)]
    # A closed case is not supervised.
    await rstore.cases.act(OFFICER_P1, number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不属于受理范围")
    with pytest.raises(Refused) as closed:
        await rstore.supervision.urge(LEADER_OIL, number)
    assert closed.value.code == "wrong_status"


async def test_overdue_supervision_reminds_then_escalates_once_across_restarts(
    backend: str, tmp_path: Path, rorg: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path, "supervision.db", migrated=True) as path:
        first = await Services.open(path, rorg, clock)
        number = (await first.cases.submit(petitioner(), draft(), "a")).case.number
        await first.supervision.supervise(LEADER_OIL, number, 3, "三日内报告")  # progress by 11-05
        clock.set(at(date(2026, 11, 5)))
        await first.review.sweep()
        assert sent(first, "sv_overdue") == []  # due today: not late yet
        clock.set(at(date(2026, 11, 6)))
        await first.review.sweep()
        await first.close()

        second = await Services.open(path, rorg, clock)
        await second.review.sweep()
        clock.set(at(date(2026, 11, 10)))  # escalate_again_days = 5: not yet
        await second.review.sweep()
        assert sent(second, "sv_overdue") == [(OFFICER_P1.id, "remind")]
        await second.close()

        third = await Services.open(path, rorg, clock)
        clock.set(at(date(2026, 11, 11)))
        await third.review.sweep()
        await third.review.sweep()
        clock.set(at(date(2026, 11, 20)))
        await third.review.sweep()
        # The next level up from the oilfield's leader: the headquarters' leader.
        assert sent(third, "sv_overdue") == [(OFFICER_P1.id, "remind"), (LEADER_HQ.id, "escalate")]
        texts = await texts_of(third, "sv_overdue")
        assert "须于2026年11月5日前报告办理进展，至今未报告" in texts[0]
        assert "<b>督办逾期</b>：陈经理 督办的信访事项" in texts[1] and "已逾期 6 天" in texts[1]
        assert rows(third, "SELECT count(*) FROM events WHERE action = 'escalate'"
                           " AND data LIKE '%\"supervision\"%'") == [(1,)]
        await third.close()


# ------------------------------------------------------------ in Telegram


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore, OfflineRequest()) as running:
        yield running


async def test_the_commands_in_telegram(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number

    await feed(application, Updates(LEADER_OIL.id).text("/supervise"))
    assert request.texts_to(LEADER_OIL.id)[-1].startswith("用法：/supervise 编号 天数 批示")
    await feed(application, Updates(LEADER_P1.id).text(f"/supervise {number} 5 抓紧办理"))
    assert request.texts_to(LEADER_P1.id)[-1] == "督办须由信访事项所在单位的上级领导或管理员下达。"
    await feed(application, Updates(LEADER_OIL.id).text(f"/supervise {number.lower()} 5天 请<b>尽快</b>核实"))
    assert request.texts_to(LEADER_OIL.id)[-1] == (
        f"已对信访事项 <code>{number}</code> 下达督办，承办人须于2026年11月7日前报告办理进展。"
    )

    await feed(application, Updates(OFFICER_P1.id).text(f"/case {number}"))
    card = "\n".join(request.texts_to(OFFICER_P1.id)[-3:])
    assert "📌 督办：陈经理 批示“请&lt;b&gt;尽快&lt;/b&gt;核实”，请于2026年11月7日前报告办理进展" in card

    await feed(application, Updates(OFFICER_P1.id).text(f"/progress {number}"))
    assert request.texts_to(OFFICER_P1.id)[-1] == "用法：/progress 编号 办理进展"
    await feed(application, Updates(OFFICER_P1.id).text(f"/progress {number} 已核实，正在整改"))
    assert request.texts_to(OFFICER_P1.id)[-1] == f"信访事项 <code>{number}</code> 的办理进展已报告并记录在案。"
    await feed(application, Updates(OFFICER_P1.id, language_code="en").text(f"/case {number}"))
    card = "\n".join(request.texts_to(OFFICER_P1.id)[-3:])
    assert "(progress due by 7 November 2026, reported)" in card

    await feed(application, Updates(OFFICER_P1.id).text(f"/urge {number}"))
    assert request.texts_to(OFFICER_P1.id)[-1] == "您没有权限进行此操作。"
    await feed(application, Updates(LEADER_P1.id).text(f"/urge {number}"))
    assert request.texts_to(LEADER_P1.id)[-1] == f"已对信访事项 <code>{number}</code> 催办，并记录在案。"
    await feed(application, Updates(5001).text(f"/urge {number}"))
    assert request.texts_to(5001)[-1] == "该命令仅供信访工作人员使用。"


def test_the_menus_offer_the_commands_to_the_roles_that_may_use_them() -> None:
    assert "progress" in OFFICER_COMMANDS and "supervise" not in OFFICER_COMMANDS
    assert {"supervise", "urge", "progress"} <= set(LEADER_COMMANDS)


async def test_a_case_transferred_three_times_is_lifted_to_the_next_level_once(
    rstore: Services, clock: FakeClock
) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number  # plant-1
    await rstore.cases.act(OFFICER_P1, number, Action.TRANSFER, unit="plant-2", body="属第二采油厂")
    await rstore.cases.act(OFFICER_P2, number, Action.TRANSFER, unit="plant-1", body="属第一采油厂")
    await rstore.review.sweep()
    assert sent(rstore, "sv_order") == []  # twice: not yet
    await rstore.cases.act(OFFICER_P1, number, Action.TRANSFER, unit="plant-2", body="属第二采油厂")
    await rstore.review.sweep()
    await rstore.review.sweep()
    # plant-2 has no leaders of its own: its leaders are the oilfield's, the next level up the headquarters'.
    assert sent(rstore, "sv_order") == [(LEADER_HQ.id, None), (OFFICER_P2.id, None), (LEADER_OIL.id, None)]
    (text, *_) = await texts_of(rstore, "sv_order")
    assert f"<b>提级督办</b>：信访事项 <code>{number}</code>（第二采油厂 · 工资福利）已转交 3 次，已由 刘总 提级督办" in text
    state = await rstore.supervision.card_state(await rstore.cases.case_for(OFFICER_P2, number))
    assert state.order is not None and (state.order.leader_id, state.order.reason) == (LEADER_HQ.id, "transfers")
    assert state.order.due == date(2026, 11, 17)  # lift_days = 15
    assert rows(rstore, "SELECT actor_role, action FROM events WHERE action = 'supervise'") == [("system", "supervise")]
    # Without progress it is overdue like any order: the handler is reminded.
    clock.set(at(date(2026, 11, 18)))
    await rstore.review.sweep()
    assert sent(rstore, "sv_overdue") == [(OFFICER_P2.id, "remind")]


async def test_the_third_repeat_petition_is_lifted(rstore: Services, clock: FakeClock) -> None:
    numbers = []
    for day in (2, 3, 4, 5):
        clock.set(at(date(2026, 11, day)))
        numbers.append((await rstore.cases.submit(petitioner(5001), draft(), f"r{day}")).case.number)
        if len(numbers) > 1:  # proposed as a repeat of the last one; the officer confirms the same matter
            await rstore.repeats.confirm(OFFICER_P1, numbers[-1], numbers[-2])
        await rstore.review.sweep()
    case = await rstore.cases.case_for(OFFICER_P1, numbers[-1])
    assert case.repeat_count == 3
    # Only the fourth petition, the third repeat; the plant's next level up is the oilfield.
    lifted = rows(rstore, "SELECT c.number, s.leader_id, s.reason FROM supervisions s JOIN cases c ON c.id = s.case_id")
    assert lifted == [(numbers[-1], LEADER_OIL.id, "repeats")]
    texts = await texts_of(rstore, "sv_order")
    assert "信访人已就同一事项重复信访 3 次，已由 陈经理 提级督办" in texts[0]


async def test_each_supervision_command_answers_words_it_cannot_take_with_its_usage(rstore: Services) -> None:
    from tests.offline import Updates, feed, offline_app

    async with offline_app(rstore) as (application, request):
        for typed, usage in [
            ("/supervise", "用法：/supervise 编号 天数 批示（天数 1–"),
            ("/supervise XF-2026-000001 三天 请督办", "用法：/supervise"),
            ("/progress XF-2026-000001", "用法：/progress 编号 办理进展"),
            ("/urge", "用法：/urge 编号 [催办内容]"),
            ("/followup XF-2026-000001 fax 已回访", "用法：/followup 编号 回访方式 回访情况"),
            ("/lead", "用法：/lead 编号 [领导姓名或 Telegram ID]"),
            ("/redo XF-2026-000001", "用法：/redo 编号 重办理由"),
            ("/cohandle", "用法：/cohandle 编号 单位 [说明]"),
        ]:
            await feed(application, Updates(LEADER_OIL.id).text(typed))
            assert request.texts_to(LEADER_OIL.id)[-1].startswith(usage), typed
        await feed(application, Updates(5001).text("/urge XF-2026-000001 快点"))
        assert request.texts_to(5001)[-1] == "该命令仅供信访工作人员使用。"
