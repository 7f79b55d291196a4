"""Over real polling: a written opinion, a dissatisfied rating, a review, indicators and export."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from bot.jobs import run_sweep
from store.clock import FakeClock
from store.models import Decision
from store.org import Organization
from store.workflow import Action
from tests.conftest import OPINION_PARTS, draft, petitioner, uid
from tests.e2e import running_bot
from tests.review_fixture import LEADER_OIL, LEADER_P1, OFFICER_P1, rorg

pytestmark = pytest.mark.slow

__all__ = ["rorg"]


async def test_rating_review_stats_and_export_end_to_end(rorg: Organization, tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_bot(rorg, tmp_path / "e2e.db", clock=clock) as bot:
        store = bot.application.bot_data["deps"]
        employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        leader = bot.sim.user(uid(LEADER_OIL), first_name="陈", language_code="zh-hans")
        plant_leader = bot.sim.user(uid(LEADER_P1), first_name="张", language_code="zh-hans")
        for user in (employee, leader, plant_leader):
            await user.send("/start")
            await user.wait_for("您好")

        number = (await store.cases.submit(petitioner(5001), draft(), "e2e")).case.number
        await store.cases.act(OFFICER_P1, number, Action.ACCEPT)
        await store.cases.act(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.REJECT,
                        body="经核实，十月加班费已随十一月工资发放。")
        ask = await employee.wait_for("作出评价")
        assert ask.button_texts == ["满意", "基本满意", "不满意"]
        await employee.tap("不满意", message=ask)
        choice = await employee.wait_for("申请复查")
        await employee.tap("申请复查", message=choice)
        await employee.wait_for("理由")
        await employee.send("工资条上没有加班费 <i>一项</i>")
        await employee.wait_for("复查申请已提交")

        card = await leader.wait_for("复查申请")
        assert "工资条上没有加班费 <i>一项</i>" in card.visible_text
        opinion_card = await leader.wait_for("被申请的意见全文")
        await leader.tap("变更", message=opinion_card)
        # The form (Art. 35): the petitioner's request offered to keep, the facts found, the basis, the opinion.
        ask = await leader.wait_for("信访请求")
        assert "工资条上没有加班费" in ask.visible_text
        await leader.tap("沿用当前内容", message=ask)
        await leader.wait_for("查明事实")
        await leader.send("经复查工资条和考勤记录，十月加班两天未计发加班费。")
        await leader.wait_for("处理依据")
        await leader.send("《工资支付暂行规定》第十三条。")
        await leader.wait_for("复查意见正文")
        await leader.send("经复查，应补发十月加班费。")
        check = await leader.wait_for("请核对复查意见")
        await leader.tap("✅ 下一步：集体研究", message=check)
        study = await leader.wait_for("请选择参加集体研究的人员")  # who studied it: the reviewer is marked already
        assert study.button_texts[0] == "✓ 陈经理（领导）"
        await leader.tap("确认出具", message=study)
        await leader.wait_for("已就信访事项")
        review = await employee.wait_for("复查意见")
        assert "变更" in review.visible_text and "应补发十月加班费" in review.visible_text
        nxt = await employee.wait_for("申请复核")
        await employee.tap("接受处理意见，办结", message=nxt)
        await employee.wait_for("已办结")

        # Overdue: the sweep (the same job the bot schedules) escalates to the plant's leader.
        late = (await store.cases.submit(petitioner(5002), draft(), "late")).case.number
        clock.advance(days=16)
        await run_sweep(store.review)
        escalation = await plant_leader.wait_for("超期预警")
        assert late in escalation.visible_text and escalation.button_texts == ["查看案卷"]

        await leader.send("/stats 2026-11")
        stats = await leader.wait_for("信访工作指标")
        assert "收件 2 件 · 在期限内待办 0 件 · 当前超期 1 件" in stats.visible_text
        chart = await leader.wait_for(predicate=lambda m: m.kind == "photo")
        assert "2026-11" in (chart.plain_caption or "")
        await leader.send("/export 2026-11")
        document = await leader.wait_for(predicate=lambda m: m.kind == "document")
        assert document.payload["document"]["file_name"] == "petitions-2026-11.xlsx"
        assert "信访事项 2 件" in (document.plain_caption or "")
        await bot.drained()

    with sqlite3.connect(tmp_path / "e2e.db") as conn:
        assert conn.execute("SELECT status, rating, review_decision FROM cases WHERE number = ?",
                            (number,)).fetchone() == ("closed", "dissatisfied", "change")
        # Everything was delivered, except to staff who never started the bot (Telegram refuses those: the
        # officer, other leaders told of the overdue case, officers asked for the screening if its job ran).
        undelivered = conn.execute("SELECT chat_id, last_error FROM outbox WHERE sent_at IS NULL").fetchall()
        assert all(error.startswith("unreachable") for _, error in undelivered), undelivered
        assert not {chat for chat, _ in undelivered} & {5001, LEADER_OIL.id, LEADER_P1.id}
        assert OFFICER_P1.id in {chat for chat, _ in undelivered}  # the case card it could not deliver
        assert conn.execute(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        ).fetchone() == (0,)
    assert re.fullmatch(r"[A-Z]+-\d{4}-\d{6}", late)
