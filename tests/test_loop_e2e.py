"""The whole loop over real polling: an employee submits, an officer accepts or declines."""

from __future__ import annotations

import gc
import re
import time
from pathlib import Path

import pytest

from store.org import Organization
from tests.backends import fresh_database, rows
from tests.e2e import running_bot

pytestmark = pytest.mark.slow

NUMBER = re.compile(r"[A-Z]+-\d{4}-\d{6}")


async def submit_case(user, subject: str, details: str) -> str:
    await user.send("/new")
    await user.wait_for("第 1/7 步")
    await user.tap("工资福利")
    await user.wait_for("第 2/7 步")
    await user.tap("油田公司")
    await user.wait_for("油田公司")
    await user.tap("第一采油厂")
    await user.wait_for("第 3/7 步")
    await user.send(subject)
    await user.wait_for("第 4/7 步")
    await user.send(details)
    await user.wait_for("第 5/7 步")
    await user.tap("跳过")
    await user.wait_for("第 6/7 步")
    await user.tap("实名反映")
    review = await user.wait_for("第 7/7 步")
    assert subject in review.plain_text and details in review.plain_text
    await user.tap("✅ 提交")
    receipt = await user.wait_for("已登记")
    match = NUMBER.search(receipt.plain_text)
    assert match, receipt.plain_text
    return match.group(0)


async def test_submit_accept_and_status(backend: str, org: Organization, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path, "e2e.db", migrated=True) as db:
        async with running_bot(org, db) as bot:
            # What the bot holds once started is out of the collector's sight while it runs (bot.app.settle_heap).
            assert gc.get_freeze_count() > 10_000
            employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
            officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
            await officer.send("/start")
            await officer.wait_for("信访工作人员")

            await employee.send("/start")
            await employee.wait_for("信访服务")
            subject = "十月加班费 <b>未发</b> & 拖欠"
            details = "<i>十月</i>份加班费至今未发放 & 无人答复。"
            started = time.monotonic()
            number = await submit_case(employee, subject, details)
            assert re.fullmatch(r"^[A-Z]+-\d{4}-\d{6}$", number)

            card = await officer.wait_for(number, timeout=2.0)
            assert time.monotonic() - started < 10
            # HTML typed by the employee reaches the officer literally, not as markup.
            assert subject in card.visible_text and details in card.visible_text
            assert "张三" in card.visible_text and "第一采油厂" in card.visible_text
            assert not any(e["type"] in ("bold", "italic") and card.visible_text[e["offset"]:].startswith("未发")
                           for e in card.entities)

            await officer.tap("受理", message=card)
            await officer.wait_for("已受理")
            notice = await employee.wait_for("已受理")
            assert number in notice.visible_text

            await employee.send("/mycases")
            listing = await employee.wait_for("我的信访事项")
            assert number in listing.visible_text and "已受理" in listing.visible_text
            await employee.send(f"/status {number}")
            status = await employee.wait_for("办理记录")
            assert "状态：已受理" in status.visible_text
            assert "提交并登记" in status.visible_text and "受理" in status.visible_text
            assert "办理期限" in status.visible_text
            await bot.drained()
        assert gc.get_freeze_count() == 0  # given back to the collector when the bot stopped

        assert rows(db, "SELECT number, status FROM cases") == [(number, "accepted")]
        # Every notice of the case went out (a screening request, if its job ran, is not one of them).
        assert rows(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND case_id IS NOT NULL") == [(0,)]


async def test_decline_asks_for_a_reason_and_tells_the_employee(backend: str, org: Organization, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path, "e2e.db", migrated=True) as db:
        async with running_bot(org, db) as bot:
            employee = bot.sim.user(5002, first_name="Li", language_code="en")
            officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
            await officer.send("/start")
            await officer.wait_for("信访工作人员")

            await employee.send("/new")
            await employee.wait_for("Step 1 of 7")
            await employee.tap("Wages and benefits")
            await employee.wait_for("Step 2 of 7")
            await employee.tap("Oilfield Company")
            await employee.wait_for("Now at")
            await employee.tap("No. 1 Oil Production Plant")
            await employee.wait_for("Step 3 of 7")
            await employee.send("Overtime not paid")
            await employee.wait_for("Step 4 of 7")
            await employee.send("October overtime is still unpaid.")
            await employee.wait_for("Step 5 of 7")
            await employee.tap("Skip")
            await employee.wait_for("Step 6 of 7")
            await employee.tap("Real name")
            await employee.wait_for("Step 7 of 7")
            await employee.tap("✅ Submit")
            receipt = await employee.wait_for("registered")
            match = NUMBER.search(receipt.visible_text)
            assert match, receipt.visible_text
            number = match.group(0)

            card = await officer.wait_for(number)
            await officer.tap("不予受理", message=card)
            reasons = await officer.wait_for("不予受理的理由")
            await officer.tap("其他", message=reasons)  # a reason whose note is the reason given
            where = await officer.wait_for("不指明去向")
            await officer.tap("不指明去向", message=where)
            await officer.wait_for("具体说明")
            await officer.send("此事项应向社保中心反映 <b>&</b>")
            review = await officer.wait_for("请核对不予受理告知")
            await officer.tap("✅ 出具", message=review)
            await officer.wait_for("作出不予受理决定")
            notice = await employee.wait_for("not accepted")
            assert "此事项应向社保中心反映 <b>&</b>" in notice.visible_text
            assert "petition office one level up" in notice.visible_text

        assert rows(db, "SELECT status FROM cases") == [("declined",)]
        assert rows(db, "SELECT body FROM events WHERE action = 'decline'") == [("此事项应向社保中心反映 <b>&</b>",)]
