"""The officers' side over real polling: two officers, a leader and two employees.

Every officer command and every case-card button is used at least once;
replies are relayed both ways with Telegram's "reply"; a case is extended,
one is transferred, and each of the three decisions reaches its employee.
Cases are filed through the store (the intake has its own end-to-end tests),
so this file depends only on the officers' side of the bot.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from botsim import SimMessage, SimUser
from handlers.render import day
from store.models import DraftData, Petitioner
from store.org import Organization, parse_org
from tests.conftest import rows as db_rows
from tests.e2e import Running, running_bot

pytestmark = pytest.mark.slow

GROUP = -1001234567890

ORG = f"""
[organization]
name = "测试石油"
case_prefix = "XF"
timezone = "Asia/Shanghai"
staff_chat_id = {GROUP}

[[units]]
id = "hq"
name = {{ zh = "集团总部", en = "Headquarters" }}

[[units]]
id = "oilfield"
parent = "hq"
name = {{ zh = "油田公司", en = "Oilfield Company" }}

[[units]]
id = "plant-1"
parent = "oilfield"
name = {{ zh = "第一采油厂", en = "No. 1 Oil Production Plant" }}

[[units]]
id = "plant-2"
parent = "oilfield"
name = {{ zh = "第二采油厂", en = "No. 2 Oil Production Plant" }}

[[units]]
id = "refinery"
parent = "hq"
name = {{ zh = "炼化公司", en = "Refining Company" }}

[[categories]]
id = "wages"
name = {{ zh = "工资福利", en = "Wages and benefits" }}
kind = "claim"

[[categories]]
id = "misconduct"
name = {{ zh = "违纪违法举报", en = "Misconduct report" }}
kind = "report"

[[categories]]
id = "suggestion"
name = {{ zh = "意见建议", en = "Suggestions" }}
kind = "suggestion"

[[staff]]
telegram_id = 1001
name = "王主任"
role = "officer"
units = ["plant-1"]

[[staff]]
telegram_id = 1002
name = "李科长"
role = "officer"
units = ["plant-2"]

[[staff]]
telegram_id = 2001
name = "赵总"
role = "leader"
units = ["oilfield"]

[[canned_replies]]
id = "received"
text = {{ zh = "您反映的情况已收悉，我们正在核实。", en = "We have received your information and are verifying it." }}

[[destinations]]
id = "social-security"
kind = "other_organ"
name = {{ zh = "延安市社会保险经办中心", en = "Yan'an Social Insurance Centre" }}
address = "延安市宝塔区枣园路8号"

[[canned_replies]]
id = "more-info"
text = {{ zh = "请补充具体的时间、地点和相关材料。", en = "Please add the time, the place and any documents." }}
"""


@pytest.fixture
def work_org() -> Organization:
    return parse_org(ORG)


async def file_case(
    bot: Running, user_id: int, name: str, lang: str, *, category: str = "wages", unit: str = "plant-1",
    subject: str = "十月加班费未发放", details: str = "十月份加班费至今未发放。", confidential: bool | None = None,
) -> str:
    store = bot.application.bot_data["deps"]
    draft = DraftData(category=category, unit=unit, subject=subject, details=details, confidential=confidential)
    result = await store.cases.submit(Petitioner(id=user_id, name=name, language=lang), draft, uuid.uuid4().hex)
    return result.case.number


async def recorded(bot: Running, message: SimMessage) -> SimMessage:
    """Wait until the bot has recorded ``message`` as a case message (it does so right after sending)."""
    store = bot.application.bot_data["deps"]
    for _ in range(500):
        if await store.staff_work.case_id_for_message(message.chat_id, message.message_id) is not None:
            return message
        await asyncio.sleep(0.01)
    raise AssertionError(f"message #{message.message_id} was never recorded for a case")


async def complete_opinion(user: SimUser) -> None:
    """The written opinion's form after a one-line /decide: keep the request, give facts and basis, keep the text."""
    asked = await user.wait_for("信访人诉求")
    await user.tap("沿用当前内容", message=asked)
    await user.wait_for("查明事实")
    await user.send("经调查核实，情况属实。")
    await user.wait_for("处理依据")
    await user.send("公司有关管理规定。")
    asked = await user.wait_for("当前内容")
    await user.tap("沿用当前内容", message=asked)
    review = await user.wait_for("请核对书面处理意见")
    await user.tap("✅ 出具", message=review)


def texts(user: SimUser) -> str:
    return "\n".join(m.visible_text for m in user.messages)


async def wait_menus(bot: Running) -> None:
    for _ in range(500):
        if bot.sim.commands({"type": "chat", "chat_id": 2001}):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the command menus were never set")


async def test_card_buttons_relayed_replies_extension_assignment_and_support(
    work_org: Organization, tmp_path: Path
) -> None:
    db = tmp_path / "work.db"
    async with running_bot(work_org, db) as bot:
        group = bot.sim.group(GROUP, "信访工作群")
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        leader = bot.sim.user(2001, first_name="赵", language_code="zh-hans")
        employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        other = bot.sim.user(5002, first_name="Li", language_code="en")
        for user in (officer, leader, employee):
            await user.send("/start")
            await user.wait_for("您好")

        # Command menus: petitioners' per language, staff's per chat.
        await wait_menus(bot)
        assert [c["command"] for c in bot.sim.commands()] == [
            "start", "new", "mycases", "app", "status", "document", "reception", "claim", "verify", "language", "cancel",
            "help"]
        assert bot.sim.commands()[1]["description"] == "提交信访事项"
        assert bot.sim.commands(language_code="en")[1]["description"] == "Submit a petition"
        staff_menu = bot.sim.commands({"type": "chat", "chat_id": 1001})
        assert {"queue", "case", "accept", "decline", "assign", "reply", "note", "extend", "decide",
                "transfer"} <= {c["command"] for c in staff_menu}
        assert next(c for c in staff_menu if c["command"] == "decide")["description"].startswith("处理意见")

        number = await file_case(bot, 5001, "张三", "zh")
        card = await officer.wait_for(number)
        assert "张三" in card.visible_text and "十月加班费未发放" in card.visible_text
        assert card.button_texts == ["受理", "不予受理", "由我办理", "分派", "回复信访人", "内部备注", "转交",
                                     "📝 报告进展", "🤝 协办"]
        # The staff group hears of it in one line, without the petitioner's name or the subject.
        notice = await bot.sim.user(1001).in_chat(group).wait_for(number, after=0)
        assert "张三" not in notice.visible_text and "加班费" not in notice.visible_text
        assert len(group.messages) == 1

        # A petitioner tapping a forged staff button changes nothing.
        await employee.tap_data(employee.messages[-1], f"st:acc:{number}")
        await employee.wait_for("仅供信访工作人员使用")
        await employee.send(f"/accept {number}")
        await employee.wait_for("仅供信访工作人员使用")

        await officer.tap("受理", message=card)
        await officer.wait_for("已受理")
        await employee.wait_for("已受理")

        # Canned reply: choose, preview, send.
        await officer.tap("回复信访人", message=card)
        menu = await officer.wait_for("请选择常用答复")
        assert "✍️ 自行输入答复" in menu.button_texts
        await officer.tap("您反映的情况已收悉", message=menu)
        await officer.wait_for("将向")
        await officer.tap("✅ 发送", message=menu)
        await officer.wait_for("已将回复发送给")
        canned = await employee.wait_for("工作人员回复")
        assert "您反映的情况已收悉，我们正在核实。" in canned.visible_text

        # A typed reply, answered by the employee with Telegram's reply.
        await officer.tap("回复信访人", message=card)
        menu = await officer.wait_for("请选择常用答复")
        await officer.tap("✍️ 自行输入答复", message=menu)
        await officer.wait_for("请输入给信访人的回复")
        await officer.send("请问是哪几天的加班？<b>请写明</b> & 时段")
        await officer.wait_for("已将回复发送给")
        question = await employee.wait_for("请问是哪几天的加班？<b>请写明</b> & 时段")
        assert "直接回复本条消息" in question.visible_text
        await recorded(bot, question)
        await employee.reply_to(question, "10月3日至5日，每天加班4小时。")
        await employee.wait_for("您的回复已转给办理")
        relayed = await officer.wait_for("10月3日至5日，每天加班4小时。")
        assert "信访人就" in relayed.visible_text and "回复了您" in relayed.visible_text and "张三" not in relayed.visible_text

        # The officer answers the relayed message, and then the case card, with Telegram's reply.
        await recorded(bot, relayed)
        await officer.reply_to(relayed, "收到，我们核实后答复您。")
        await officer.wait_for("已将回复发送给")
        await employee.wait_for("收到，我们核实后答复您。")
        await recorded(bot, card)
        await officer.reply_to(card, "另请提供十月份工资条。")
        await officer.wait_for("已将回复发送给")
        await employee.wait_for("另请提供十月份工资条。")

        # An internal note: recorded, never shown to the employee.
        await officer.tap("内部备注", message=card)
        await officer.wait_for("仅工作人员可见")
        await officer.send("经核实，财务确有漏发。")
        await officer.wait_for("记录内部备注")

        # Extension: days by button, then the reason.
        await officer.tap("延期", message=card)
        days = await officer.wait_for("延期天数")
        assert days.button_texts[:3] == ["7 天", "15 天", "30 天"]
        await officer.tap("15 天", message=days)
        await officer.wait_for("延期 15 天的理由")
        await officer.send("需财务部门核对考勤。")
        await officer.wait_for("已延期")
        extended = await employee.wait_for("延长 15 天")
        assert "需财务部门核对考勤。" in extended.visible_text
        await officer.send(f"/extend {number} 5 再延一次")
        await officer.wait_for("已延期过一次")

        # Assignment by buttons: the leader is told, with a card of their own.
        await officer.tap("分派", message=card)
        choose = await officer.wait_for("办理人")
        assert choose.button_texts == ["✓ 王主任", "赵总", "取消"]  # in scope only; he holds it now
        await officer.tap("赵总", message=choose)
        await officer.wait_for("分派给赵总")
        leader_card = await leader.wait_for("分派给您办理的信访事项")
        assert number in leader_card.visible_text

        # The leader decides by buttons: 予以支持 and the written opinion.
        await leader.tap("出具处理意见", message=leader_card)
        kinds = await leader.wait_for("处理意见类型")
        assert kinds.button_texts[:3] == ["予以支持", "解释说明", "不予支持"]
        await leader.tap("予以支持", message=kinds)
        asked = await leader.wait_for("信访人诉求")
        assert "十月加班费未发放" in asked.visible_text  # the request's default: the case's own words
        await leader.tap("沿用当前内容", message=asked)
        await leader.wait_for("查明事实")
        await leader.send("经查，十月加班费漏发属实。")
        await leader.wait_for("处理依据")
        await leader.send("公司薪酬管理制度第十二条。")
        await leader.wait_for("处理意见")
        await leader.send("将于十一月补发。")
        review = await leader.wait_for("请核对书面处理意见")
        assert "经查，十月加班费漏发属实。" in review.visible_text and "公司薪酬管理制度第十二条。" in review.visible_text
        await leader.tap("✅ 出具", message=review)
        await leader.wait_for("已对")
        opinion = await employee.wait_for("处理意见")
        assert "予以支持" in opinion.visible_text and "将于十一月补发" in opinion.visible_text

        # The case card, asked again, now offers a note and the follow-up (回访); the record shows everything.
        await officer.send(f"/case {number}")
        again = await officer.wait_for("办理人：赵总")
        assert again.button_texts == ["内部备注", "📞 回访"]
        record = await officer.wait_for("办理记录")
        for line in ("内部备注 · 王主任", "经核实，财务确有漏发。", "延期办理（15 天）", "分派办理人（赵总）",
                     "出具处理意见（予以支持） · 赵总", "回复工作人员 · 信访人"):
            assert line in record.visible_text, line

        assert "经核实，财务确有漏发。" not in texts(employee)
        assert texts(other) == ""
        await bot.drained()

    assert db_rows(db, "SELECT status, decision, extended_days, assignee_id FROM cases") == [
        ("decided", "support", 15, 2001)]
    # Every notice of the case went out (the screening request to an officer who never opened the bot is not one).
    assert db_rows(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND case_id IS NOT NULL") == [(0,)]


async def test_commands_transfer_explain_reject_and_decline(work_org: Organization, tmp_path: Path) -> None:
    db = tmp_path / "work.db"
    async with running_bot(work_org, db) as bot:
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        second = bot.sim.user(1002, first_name="李", language_code="zh-hans")
        leader = bot.sim.user(2001, first_name="赵", language_code="zh-hans")
        zhang = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        li = bot.sim.user(5002, first_name="Li", language_code="en")
        for user in (officer, second, leader, zhang, li):
            await user.send("/start")
            await user.wait_for("")

        en_case = await file_case(bot, 5002, "Li", "en", subject="Overtime unpaid")
        suggestion = await file_case(bot, 5001, "张三", "zh", category="suggestion", subject="建议增设班车")
        wrong = await file_case(bot, 5001, "张三", "zh", subject="社保缴费基数有误")
        moved = await file_case(bot, 5001, "张三", "zh", subject="宿舍漏水")
        elsewhere = await file_case(bot, 5001, "张三", "zh", subject="申请调换岗位")
        for number in (en_case, suggestion, wrong, moved, elsewhere):
            await officer.wait_for(number)

        await officer.send("/queue")
        queue = await officer.wait_for("待办信访事项")
        assert all(n in queue.visible_text for n in (en_case, suggestion, wrong, moved, elsewhere))

        # From the queue to the card, and "Decline" on the card: the reason is asked, then sent.
        await officer.tap(elsewhere, message=queue)
        card = await officer.wait_for("申请调换岗位")
        await officer.tap("不予受理", message=card)
        reasons = await officer.wait_for("不予受理的理由")
        await officer.send("岗位调整不属于信访事项。")  # a text where a button is expected: a hint
        await officer.wait_for("请点选上面的按钮")
        await officer.tap_data(reasons, "op:r:no-such-reason")  # forged: asked again, politely
        reasons = await officer.wait_for("不予受理的理由")
        await officer.tap("其他", message=reasons)
        where = await officer.wait_for("不指明去向")
        await officer.tap("不指明去向", message=where)
        await officer.wait_for("具体说明")
        await officer.send("岗位调整不属于信访事项，请向人力资源部门申请。")
        review = await officer.wait_for("请核对不予受理告知")
        await officer.tap("✅ 出具", message=review)
        await officer.wait_for("作出不予受理决定")
        refused = await zhang.wait_for("不予受理")
        assert elsewhere in refused.visible_text and "请向人力资源部门申请" in refused.visible_text

        # /case shows the card; replying to it reaches the employee, in English.
        await officer.send(f"/case {en_case}")
        card = await officer.wait_for("Overtime unpaid")
        await officer.wait_for("办理记录")
        await recorded(bot, card)
        await officer.reply_to(card, "We are looking into it.")
        await officer.wait_for("已将回复发送给")
        await li.wait_for("We are looking into it.")

        await officer.send(f"/accept {en_case}")
        await officer.wait_for("已受理")
        await li.wait_for("is accepted")
        await officer.send(f"/reply {en_case} Which month was it?\nPlease list the dates.")
        await officer.wait_for("已将回复发送给")
        question = await li.wait_for("Which month was it?\nPlease list the dates.")
        assert "reply to this message" in question.visible_text
        await recorded(bot, question)
        await li.reply_to(question, "October, the 3rd to the 5th.")
        await li.wait_for("passed to the staff")
        await officer.wait_for("October, the 3rd to the 5th.")

        await officer.send(f"/note {en_case} 需要向财务核实")
        await officer.wait_for("记录内部备注")
        await officer.send(f"/extend {en_case} 10 payroll records are archived")
        await officer.wait_for("已延期 10 天")
        extension = await li.wait_for("extended by 10 days")
        assert "payroll records are archived" in extension.visible_text
        # The deadline as extended (the day depends on the day the test runs: the bot's clock is real).
        ((extended_days, due),) = db_rows(db, "SELECT extended_days, answer_due FROM cases WHERE number = ?", en_case)
        assert extended_days == 10

        await officer.send(f"/assign {en_case} 赵总")
        await officer.wait_for("分派给赵总")
        await leader.wait_for(en_case)
        await officer.send(f"/assign {en_case} 李科长")  # plant-2 is not his
        await officer.wait_for("不负责此类信访事项")
        await officer.send(f"/assign {en_case} 无名氏")
        await officer.wait_for("未找到工作人员")

        # Transfer to the other plant by command (English unit name with spaces).
        await officer.send(f"/transfer {en_case} No. 2 Oil Production Plant the matter arose at plant 2")
        await officer.wait_for("转交")
        transferred = await second.wait_for("转来的信访事项")
        assert en_case in transferred.visible_text
        # Accepted before the transfer: still in progress, with the answer deadline it had (extension included).
        assert "状态：办理中" in transferred.visible_text and f"办理期限：{day(due, 'zh')}" in transferred.visible_text
        notice = await li.wait_for("transferred to")
        assert "No. 2 Oil Production Plant" in notice.visible_text and "the matter arose at plant 2" in notice.visible_text
        await officer.send(f"/case {en_case}")  # no longer his: answered as if it did not exist
        gone = await officer.wait_for("未找到")
        await officer.send("/case XF-2026-999999")
        missing = await officer.wait_for("未找到")
        assert gone.visible_text.replace(en_case, "N") == missing.visible_text.replace("XF-2026-999999", "N")

        # The new unit explains, within the time the case had left (no fresh acceptance, no fresh 60 days).
        await second.send(f"/decide {en_case} explain The overtime was paid in November's salary, line 12.")
        await complete_opinion(second)
        await second.wait_for("解释说明")
        explained = await li.wait_for("written opinion")
        assert "Explained" in explained.visible_text and "line 12" in explained.visible_text

        # A suggestion not supported, by command with the Chinese term.
        await officer.send(f"/accept {suggestion}")
        await officer.wait_for("已受理")
        await officer.send(f"/decide {suggestion} 不予支持 经研究，现有班车已覆盖该线路。")
        await complete_opinion(officer)
        await officer.wait_for("不予支持")
        rejected = await zhang.wait_for("不予支持")
        assert "现有班车已覆盖该线路" in rejected.visible_text

        # Decline by command: the reason and where else to turn.
        # Decline by command, the note typed with it: the reason and the body to turn to (诉访分离), chosen.
        await officer.send(f"/decline {wrong} 社保缴费基数由社保中心核定。")
        reasons = await officer.wait_for("不予受理的理由")
        await officer.tap("不属于本单位职责范围", message=reasons)
        where = await officer.wait_for("向哪个机关、单位提出")
        assert "不指明去向" not in where.button_texts  # this reason sends the matter elsewhere
        await officer.tap("延安市社会保险经办中心", message=where)
        note = await officer.wait_for("社保缴费基数由社保中心核定。")
        await officer.tap("沿用当前内容", message=note)
        review = await officer.wait_for("请核对不予受理告知")
        assert "延安市宝塔区枣园路8号" in review.visible_text
        await officer.tap("✅ 出具", message=review)
        await officer.wait_for("作出不予受理决定")
        declined = await zhang.wait_for("不予受理")
        for words in ("不属于本单位职责范围", "社保缴费基数由社保中心核定", "延安市社会保险经办中心", "延安市宝塔区枣园路8号"):
            assert words in declined.visible_text, words

        # "I'll handle it", then a transfer by buttons: browse the tree, choose, give the reason.
        card = await officer.wait_for(moved, after=0)
        await officer.tap("由我办理", message=card)
        await officer.wait_for("已由您办理")
        await officer.tap("转交", message=card)
        units = await officer.wait_for("转交的单位")
        await officer.tap("油田公司 ›", message=units)
        units = await officer.wait_for("转交的单位")
        assert "第一采油厂" not in units.button_texts  # where it is now
        await officer.tap("第二采油厂", message=units)
        await officer.wait_for("第二采油厂的理由")
        await officer.send("宿舍归第二采油厂管理。")
        await officer.wait_for("已将")
        await second.wait_for(moved)
        moved_notice = await zhang.wait_for("已转交")
        assert "第二采油厂" in moved_notice.visible_text and "宿舍归第二采油厂管理。" in moved_notice.visible_text

        assert "需要向财务核实" not in texts(li)

    assert db_rows(db, "SELECT number, status, decision, unit FROM cases ORDER BY id") == [
        (en_case, "decided", "explain", "plant-2"),
        (suggestion, "decided", "reject", "plant-1"),
        (wrong, "declined", None, "plant-1"),
        (moved, "submitted", None, "plant-2"),
        (elsewhere, "declined", None, "plant-1"),
    ]


async def test_reports_are_never_announced_in_the_staff_group(work_org: Organization, tmp_path: Path) -> None:
    async with running_bot(work_org, tmp_path / "work.db") as bot:
        group = bot.sim.group(GROUP, "信访工作群")
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        report = await file_case(bot, 5001, "张三", "zh", category="misconduct", subject="某科长收受回扣")
        card = await officer.wait_for(report)
        assert "张三" not in card.visible_text and "保密件" in card.visible_text
        claim = await file_case(bot, 5001, "张三", "zh")
        await officer.wait_for(claim)
        await bot.sim.user(1001).in_chat(group).wait_for(claim, after=0)
        assert [report in m.visible_text for m in group.messages] == [False]
