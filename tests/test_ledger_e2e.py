"""One ledger over real polling: a walk-in registered, told through a task, then claimed and told in chat."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e import running_bot
from tests.petitioner import org_with, rows

pytestmark = pytest.mark.slow


async def test_a_walk_in_is_registered_told_by_phone_then_claims_and_is_told_in_chat(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        citizen = bot.sim.user(7001, first_name="赵", language_code="zh-hans")
        await officer.send("/register")
        await officer.wait_for("第 1/10 步")
        for tap, then in (("来访", "第 2/10 步"), ("今天收到", "第 3/10 步"), ("填写信访人", "姓名")):
            await officer.tap(tap)
            await officer.wait_for(then)
        for text, then in (("赵师傅", "联系电话"), ("139-0000-1111", "员工编号")):
            await officer.send(text)
            await officer.wait_for(then)
        for tap, then in (("不详", "在哪个单位工作"), ("不详", "已填写 1 位"), ("信访人已填写完毕", "第 4/10 步"),
                          ("工资福利", "第 5/10 步"), ("油田公司", "油田公司"), ("第一采油厂", "第 6/10 步")):
            await officer.tap(tap)
            await officer.wait_for(then)
        for text, then in (("住房补贴", "第 7/10 步"), ("来访反映住房补贴未到位。", "第 8/10 步")):
            await officer.send(text)
            await officer.wait_for(then)
        await officer.tap("跳过")
        await officer.wait_for("第 9/10 步")
        await officer.tap("实名")
        await officer.wait_for("请核对登记内容")
        await officer.tap("提交登记")
        receipt = await officer.wait_for("认领码")
        number = re.search(r"XF-\d{4}-\d{6}", receipt.visible_text)
        code = re.search(r"认领码：([A-Z0-9]{4}-[A-Z0-9]{4})", receipt.visible_text)
        assert number is not None and code is not None

        # Without Telegram: accepting it gives the officer a task with the words to say.
        await officer.send(f"/accept {number.group(0)}")
        task = await officer.wait_for("告知任务", timeout=15)
        assert "赵师傅" in task.visible_text and "13900001111" in task.visible_text and "已受理" in task.visible_text
        await officer.tap("已电话告知", message=task)
        await officer.wait_for("已电话告知信访人")
        assert rows(db, "SELECT count(*) FROM events WHERE action = 'inform'") == [(1,)]

        # Claimed: the next notice comes to the petitioner's own chat, and no task.
        await citizen.send(f"/claim {code.group(1)}")
        await citizen.wait_for("分享您的 Telegram 手机号码")  # a phone was registered: Telegram attests it
        await citizen.send_contact("+8613900001111")
        await citizen.wait_for("认领成功")
        await officer.send(f"/reply {number.group(0)} 请于周五前带上房产证明。")
        told = await citizen.wait_for("请于周五前带上房产证明", timeout=15)
        assert number.group(0) in told.visible_text
        await bot.drained()
        assert rows(db, "SELECT count(*) FROM contact_tasks") == [(1,)]
