"""Dispute screening in chat, offline: the filing conversation, the nil report, updates, /screening, notices.

The organisation is tests/review_fixture.py's (plant-1: officer 1001; plant-2: officer 1002;
refinery: officer 1003; leaders 3001 hq, 3002 oilfield, 3003 plant-1, 3004 refinery).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from telegram.ext import Application

from handlers import callbacks as cb
from handlers.notifications import render
from handlers.reports import screening_table
from store.clock import FakeClock
from store.conversations import Conversation
from store.screening import DisputeIn, DisputeStatus, ReportState
from store.services import Services
from tests.conftest import rows, uid
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import ADMIN, LEADER_HQ, OFFICER_P1, OFFICER_P2, OFFICER_REF, at, rorg, rstore

__all__ = ["rorg", "rstore"]


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore, OfflineRequest()) as running:
        yield running


def entry(**overrides: object) -> DisputeIn:
    values: dict[str, object] = {"type": "labour", "subject": "外包工工资拖欠", "people": 12, "risk": "medium",
                                 "status": "screening", "responsible": "王干事", "next_step": "约谈外包单位"}
    values.update(overrides)
    return DisputeIn.model_validate(values)


def answers(request: OfflineRequest) -> list[str]:
    return [str(c.params.get("text", "")) for c in request.calls if c.method == "answerCallbackQuery"]


async def test_filing_a_dispute_step_by_step(
    app: tuple[Application, OfflineRequest], rstore: Services
) -> None:
    application, request = app
    officer = Updates(OFFICER_P1.id)
    await feed(application, officer.tap(cb.Sc.FILE.encode("plant-1")))  # 填报 on the request notice
    first = request.last_to(OFFICER_P1.id)
    assert first.text == "第 1/8 步 · 填报矛盾纠纷（第一采油厂）\n请选择矛盾纠纷类型："
    assert first.buttons()[:3] == [("劳资", "sc:t:labour"), ("安全", "sc:t:safety"), ("征地", "sc:t:land")]
    assert first.buttons()[-1] == ("取消", "sc:x")  # no « 返回 on the first step
    await feed(application, officer.tap(cb.Sc.TYPE.encode("labour")))
    assert request.last_to(OFFICER_P1.id).text == "第 2/8 步 · 请简要填写矛盾纠纷事由（不超过 200 字）："
    await feed(application, officer.text("外包工工资拖欠 <三个月>"))
    assert request.last_to(OFFICER_P1.id).text == "第 3/8 步 · 涉及人数是多少？请输入数字。"
    await feed(application, officer.text("很多"))
    assert request.last_to(OFFICER_P1.id).text == "请输入 1 到 100000 之间的数字。"
    await feed(application, officer.text("52"))
    step4 = request.last_to(OFFICER_P1.id)
    assert step4.text == "第 4/8 步 · 请选择风险等级："
    assert step4.buttons() == [("低", "sc:r:low"), ("中", "sc:r:medium"), ("高", "sc:r:high"),
                               ("« 返回", "sc:b"), ("取消", "sc:x")]
    await feed(application, officer.tap(cb.Sc.RISK.encode("high")))
    await feed(application, officer.tap(cb.Sc.STATUS.encode("mediating")))
    assert request.last_to(OFFICER_P1.id).text == "第 6/8 步 · 请填写责任人（包案人）姓名（不超过 100 字）："
    await feed(application, officer.sticker())  # odd input: a hint, and the question again
    assert request.texts_to(OFFICER_P1.id)[-2:] == ["此步骤请输入文字。",
                                                   "第 6/8 步 · 请填写责任人（包案人）姓名（不超过 100 字）："]
    await feed(application, officer.text("王干事"))
    await feed(application, officer.tap(cb.Sc.BACK.encode()))  # « 返回: the previous step again
    assert request.last_to(OFFICER_P1.id).text.startswith("第 6/8 步")
    await feed(application, officer.text("张副厂长"))
    await feed(application, officer.text("x" * 501))
    assert request.last_to(OFFICER_P1.id).text == "内容过长（501 字），请控制在 500 字以内。"
    await feed(application, officer.text("约谈外包单位负责人，督促月底前结清"))
    review = request.last_to(OFFICER_P1.id)
    assert review.text == (
        "第 8/8 步 · 请核对后提交：\n单位：第一采油厂\n类型：劳资\n事由：外包工工资拖欠 &lt;三个月&gt;\n涉及人数：52 人\n"
        "风险等级：高\n状态：调处中\n责任人：张副厂长\n下一步：约谈外包单位负责人，督促月底前结清"
    )
    submit = review.buttons()[0]
    assert submit[0] == "✅ 提交" and submit[1].startswith("sc:ok:")
    assert rows(rstore, "SELECT count(*) FROM disputes") == [(0,)]  # nothing stored before Submit
    await feed(application, officer.tap(submit[1]))
    assert request.last_to(OFFICER_P1.id).text == (
        "✅ 已登记到 2026-11 矛盾纠纷排查台账：\n"
        "· #1 第一采油厂 · 劳资 · 外包工工资拖欠 &lt;三个月&gt; · 52 人 · 风险高 · 调处中\n继续填报请发送 /dispute。"
    )
    await feed(application, officer.tap(submit[1]))  # Submit once: a second tap stores nothing
    assert answers(request)[-1] == "该按钮已失效，请按最新一条消息操作。"
    assert rows(rstore, "SELECT unit, type, subject, people, risk, status, responsible, next_step FROM disputes") == [
        ("plant-1", "labour", "外包工工资拖欠 <三个月>", 52, "high", "mediating", "张副厂长",
         "约谈外包单位负责人，督促月底前结清")]
    assert await rstore.screening.report_state("plant-1") is ReportState.FILED


async def test_cancel_keeps_nothing(app: tuple[Application, OfflineRequest], rstore: Services) -> None:
    application, request = app
    officer = Updates(OFFICER_P1.id)
    await feed(application, officer.tap(cb.Sc.FILE.encode("plant-1")))
    await feed(application, officer.tap(cb.Sc.TYPE.encode("safety")))
    await feed(application, officer.text("/cancel"))
    assert request.last_to(OFFICER_P1.id).text == "已取消，未保存本次填写。"
    assert await rstore.forms.get(Conversation.SCREENING, uid(OFFICER_P1)) is None
    await feed(application, officer.text("随便说点什么"))  # the conversation is over: no step takes it
    assert rows(rstore, "SELECT count(*) FROM disputes") == [(0,)]


async def test_nil_report_in_one_tap_with_a_confirmation(
    app: tuple[Application, OfflineRequest], rstore: Services
) -> None:
    application, request = app
    officer = Updates(OFFICER_P2.id)
    await feed(application, officer.text("/dispute"))
    menu = request.last_to(OFFICER_P2.id)
    assert menu.text == "📋 <b>第二采油厂</b> · 2026-11 矛盾纠纷排查\n本期：未报送\n暂无未化解的矛盾纠纷。"
    assert menu.buttons() == [("填报", "sc:f:plant-2"), ("本期无矛盾纠纷", "sc:n:plant-2")]
    await feed(application, officer.tap(cb.Sc.NIL.encode("plant-2")))
    confirm = request.last_to(OFFICER_P2.id)
    assert confirm.text == "确认报送：<b>第二采油厂</b> 2026-11 本期未发现矛盾纠纷？"
    assert await rstore.screening.report_state("plant-2") is ReportState.MISSING  # not before the confirmation
    await feed(application, officer.tap(confirm.buttons()[0][1]))
    assert request.last_to(OFFICER_P2.id).text == "✅ 已报送：第二采油厂 2026-11 本期未发现矛盾纠纷。"
    assert await rstore.screening.report_state("plant-2") is ReportState.NIL
    await feed(application, officer.tap(confirm.buttons()[0][1]))
    assert request.last_to(OFFICER_P2.id).text == "第二采油厂 2026-11 已报送过，无需再次报送。"
    await feed(application, officer.text("/screening"))  # an officer's /screening is the same menu
    assert request.last_to(OFFICER_P2.id).buttons() == [("填报", "sc:f:plant-2")]


async def test_updating_a_carried_over_dispute(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    dispute = await rstore.screening.file(OFFICER_REF, "refinery", entry(subject="异味扰民", type="environment"))
    clock.set(at(date(2026, 12, 2)))
    officer = Updates(OFFICER_REF.id)
    await feed(application, officer.text("/dispute"))
    menu = request.last_to(OFFICER_REF.id)
    assert menu.text.endswith("本期：未报送\n未化解的矛盾纠纷 1 件（含上期结转），点击可更新状态：")
    assert (f"#{dispute.id} 异味扰民 · 排查中", f"sc:up:{dispute.id}") in menu.buttons()
    await feed(application, officer.tap(cb.Sc.UPDATE.encode(dispute.id)))
    assert request.last_to(OFFICER_REF.id).text.startswith("更新矛盾纠纷：\n· #1 炼化公司 · 环保 · 异味扰民")
    await feed(application, officer.tap(cb.Sc.STATUS.encode("resolved")))
    assert request.last_to(OFFICER_REF.id).text.startswith("状态将改为“已化解”。")
    await feed(application, officer.text("已加装除味设备，居民认可"))
    assert request.last_to(OFFICER_REF.id).text == (
        "✅ 已更新并记录：\n· #1 炼化公司 · 环保 · 异味扰民 · 12 人 · 风险中 · 已化解")
    notes = await rstore.screening.notes(OFFICER_REF, dispute.id)
    assert [(n.day, n.status_after, n.text) for n in notes][-1] == (
        date(2026, 12, 2), DisputeStatus.RESOLVED, "已加装除味设备，居民认可")


async def test_the_roll_up_command(
    app: tuple[Application, OfflineRequest], rstore: Services
) -> None:
    application, request = app
    s = rstore.screening
    await s.file(OFFICER_P1, "plant-1", entry(risk="high", people=60, subject="外包工工资拖欠"))
    await s.file(OFFICER_P1, "plant-1", entry(type="safety", risk="low", people=3, subject="劳保用品", status="stable"))
    await s.nil_report(OFFICER_REF, "refinery")
    leader = Updates(LEADER_HQ.id)
    await feed(application, leader.text("/screening 2026-11"))
    assert request.texts_to(LEADER_HQ.id)[-1] == (
        "📋 <b>矛盾纠纷排查 · 2026-11</b>（3 个单位）\n\n"
        "已报送 2：第一采油厂、炼化公司（无）\n未报送 1：第二采油厂\n\n"
        "矛盾纠纷 2 件（其中上期结转 0 件）\n按类型：劳资 1 · 安全 1\n按风险：高 1 · 低 1\n按状态：排查中 1 · 稳控 1\n\n"
        "⚠️ <b>高风险矛盾纠纷</b>（1 件，未化解）：\n· #1 第一采油厂 · 劳资 · 外包工工资拖欠 · 60 人 · 风险高 · 排查中"
    )
    await feed(application, leader.text("/screening 炼化公司"))
    assert "（1 个单位）" in request.texts_to(LEADER_HQ.id)[-1]
    assert "本期无未化解的高风险矛盾纠纷。" in request.texts_to(LEADER_HQ.id)[-1]
    await feed(application, leader.text("/screening 2026-13"))
    assert request.texts_to(LEADER_HQ.id)[-2:] == [
        "未找到该单位。", "用法：/screening [期间] [单位]（期间如 2026-11，不写即本期；单位写 id 或名称）"]
    english = Updates(ADMIN.id, language_code="en")
    await feed(application, english.text("/screening"))
    assert request.texts_to(ADMIN.id)[-1].startswith("📋 <b>Dispute screening · 2026-11</b> (3 units)")
    await feed(application, Updates(5001).text("/screening"))  # a petitioner
    assert request.texts_to(5001)[-1] == "该命令仅供信访工作人员使用。"


async def test_forged_and_stale_buttons_are_answered_politely(
    app: tuple[Application, OfflineRequest], rstore: Services
) -> None:
    application, request = app
    officer = Updates(OFFICER_P1.id)
    for data in ("sc:t:labour", "sc:zz", "sc:up:abc", "sc:ok:" + "0" * 32, "sc:r:huge", "sc:" + "x" * 70):
        await feed(application, officer.tap(data))
    assert answers(request).count("该按钮已失效，请按最新一条消息操作。") + \
        request.texts_to(OFFICER_P1.id).count("该按钮已失效，请按最新一条消息操作。") == 6
    await feed(application, officer.tap(cb.Sc.FILE.encode("refinery")))  # not the officer's unit
    await feed(application, officer.tap(cb.Sc.NIL_CONFIRMED.encode("plant-2")))
    await feed(application, officer.tap(cb.Sc.UPDATE.encode(99999)))
    assert request.texts_to(OFFICER_P1.id)[-3:] == [
        "您不负责该单位的矛盾纠纷排查。", "您不负责该单位的矛盾纠纷排查。", "未找到该矛盾纠纷，或不在您的职责范围内。"]
    await feed(application, Updates(5001).tap(cb.Sc.FILE.encode("plant-1")))
    assert request.texts_to(5001)[-1] == "该命令仅供信访工作人员使用。"
    assert rows(rstore, "SELECT count(*) FROM disputes") == [(0,)]
    assert rows(rstore, "SELECT count(*) FROM screening_reports") == [(0,)]


async def test_the_notices_and_the_export_rows(rstore: Services, clock: FakeClock) -> None:
    await rstore.screening.sweep()
    items = [i for i in await rstore.outbox.pending_notifications(limit=100) if i.kind == "sc_ask"]
    ((text, markup),) = [(o.text, o.markup) for o in await render(items[0], rstore)]
    assert text == ("📋 <b>矛盾纠纷排查</b>：请报送 <b>第一采油厂</b> 2026-11 的矛盾纠纷排查情况。"
                    "发现矛盾纠纷请逐件填报；未发现请点击“本期无矛盾纠纷”。")
    assert markup is not None
    assert [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row] == [
        ("填报", "sc:f:plant-1"), ("本期无矛盾纠纷", "sc:n:plant-1")]
    clock.set(at(date(2026, 11, 5)))  # 3 days after the request (sent on the 2nd): the reminder
    await rstore.screening.sweep()
    clock.set(at(date(2026, 11, 8)))  # 3 days after the reminder: the leaders
    await rstore.screening.sweep()
    overdue = [i for i in await rstore.outbox.pending_notifications(limit=100) if i.kind == "sc_overdue"]
    assert [i.chat_id for i in overdue] == [3003, 3002, 3004]  # plant-1's, plant-2's (the oilfield's), refinery's
    (out,) = await render(overdue[1], rstore)
    assert out.text == ("⚠️ <b>矛盾纠纷排查未报送</b>：第二采油厂 2026-11 的排查情况自2026年11月2日起已 6 天未报送"
                        "（已提醒），请您过问。")
    # The register's sheet: one row per dispute, a row for a unit without any; carried-over marked.
    await rstore.screening.file(OFFICER_P1, "plant-1", entry(subject="=HYPERLINK(1)"))
    await rstore.screening.nil_report(OFFICER_REF, "refinery")
    register = await rstore.screening.register(ADMIN)
    table = screening_table(register, rstore.org, "zh")
    assert table[0] == ["单位", "报送情况", "编号", "发现期间", "类型", "事由", "涉及人数", "风险等级", "状态",
                        "责任人", "下一步", "关联信访事项", "上期结转"]
    assert table[1:] == [
        ["第一采油厂", "已报送", 1, "2026-11", "劳资", "=HYPERLINK(1)", 12, "中", "排查中", "王干事", "约谈外包单位",
         "", "否"],
        ["第二采油厂", "未报送", None, "", "", "", None, "", "", "", "", "", ""],
        ["炼化公司", "已报送（本期未发现矛盾纠纷）", None, "", "", "", None, "", "", "", "", "", ""],
    ]


async def test_a_filing_survives_a_restart_and_a_refused_tap(rstore: Services) -> None:
    officer = Updates(OFFICER_P1.id)
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, officer.tap(cb.Sc.FILE.encode("plant-1")))
        await feed(application, officer.tap(cb.Sc.TYPE.encode("land")))
        await feed(application, officer.text("井场占地补偿"))
        await feed(application, officer.tap(cb.Sc.FILE.encode("refinery")))  # refused: the filing stays
        assert request.last_to(OFFICER_P1.id).text == "您不负责该单位的矛盾纠纷排查。"
    async with offline_app(rstore, OfflineRequest()) as (application, request):  # the bot restarted
        await feed(application, officer.text("30"))
        assert request.last_to(OFFICER_P1.id).text == "第 4/8 步 · 请选择风险等级："
    found = await rstore.forms.get(Conversation.SCREENING, uid(OFFICER_P1))
    assert found is not None and (found.step, found.data["subject"], found.data["people"]) == ("risk", "井场占地补偿", 30)
    # The draft is sealed in its row (it may name people).
    assert "井场" not in str(rows(rstore, "SELECT data FROM conversations WHERE name = 'screening'"))


async def test_linking_a_dispute_to_a_petition_case(
    app: tuple[Application, OfflineRequest], rstore: Services
) -> None:
    from tests.conftest import draft, petitioner

    application, request = app
    number = (await rstore.cases.submit(petitioner(5001), draft(), "k")).case.number
    dispute = await rstore.screening.file(OFFICER_P1, "plant-1", entry())
    officer = Updates(OFFICER_P1.id)
    for bad in ("/dispute 1", "/dispute one XF", "/dispute 1 2 3"):
        await feed(application, officer.text(bad))
        assert request.last_to(OFFICER_P1.id).text.startswith("用法：/dispute 打开本单位的矛盾纠纷排查")
    await feed(application, officer.text("/dispute 1 XF-2099-000001"))
    assert request.last_to(OFFICER_P1.id).text == "未找到编号为 XF-2099-000001 的信访事项。请检查编号是否正确。"
    await feed(application, officer.text(f"/dispute #{dispute.id} {number.lower()}"))
    assert request.last_to(OFFICER_P1.id).text == (
        f"✅ 已将矛盾纠纷关联到信访事项 <code>{number}</code>：\n· #1 第一采油厂 · 劳资 · 外包工工资拖欠 · 12 人 · 风险中 · 排查中")
    assert rows(rstore, "SELECT c.number FROM disputes d JOIN cases c ON c.id = d.case_id") == [(number,)]
    await feed(application, Updates(OFFICER_P2.id).text(f"/dispute {dispute.id} {number}"))
    assert request.last_to(OFFICER_P2.id).text == "未找到该矛盾纠纷，或不在您的职责范围内。"


async def test_the_bot_schedules_the_screening_sweep_after_it_has_settled(rstore: Services) -> None:
    from bot.jobs import SCREENING_FIRST_SECONDS, SCREENING_INTERVAL_SECONDS, run_screening_sweep
    async with offline_app(rstore) as (application, _request):
        assert application.job_queue is not None
        (job,) = application.job_queue.get_jobs_by_name("screening-sweep")
        assert job.job.trigger.interval.total_seconds() == SCREENING_INTERVAL_SECONDS
    assert SCREENING_FIRST_SECONDS >= 60  # a restart answers users and drains the outbox first
    # What the job runs: the sweep, which asks the units of the period once.
    await run_screening_sweep(rstore.screening)
    await run_screening_sweep(rstore.screening)
    asked = rows(rstore, "SELECT chat_id, kind FROM outbox WHERE kind LIKE 'sc_%' ORDER BY chat_id")
    assert asked == [(OFFICER_P1.id, "sc_ask"), (OFFICER_P2.id, "sc_ask"), (OFFICER_REF.id, "sc_ask")]
