"""Leader reception days over real polling: publish → book → remind → cancel → waitlist → outcome."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.reception_jobs import send_due_reminders
from handlers.common import Deps
from store.clock import FakeClock
from store.org import Organization
from store.services import Services
from tests.conftest import draft, petitioner
from tests.e2e import running_bot

pytestmark = pytest.mark.slow

SHANGHAI_0900_MON_2_NOV = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in the organisation's time zone."""
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


def reminder_rows(db: Path, chat_id: int) -> list[str]:
    """Reminders queued to a person: their rows carry the booking's keyed hash of the id (StoreContext.booking_key)."""
    from store.vault import load_vault

    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute(
            "SELECT json_extract(params, '$.which') FROM outbox WHERE kind = 'reception_reminder'"
            " AND chat_id = ? ORDER BY id", (load_vault(db, create=False).keyed("booking", chat_id),))]


async def test_publish_book_remind_cancel_promote_and_record(org: Organization, tmp_path: Path) -> None:
    clock = FakeClock(SHANGHAI_0900_MON_2_NOV)
    db = tmp_path / "e2e.db"
    async with running_bot(org, db, clock=clock) as bot:
        store: Deps = bot.application.bot_data["deps"]
        leader = bot.sim.user(2001, first_name="赵", language_code="zh-hans")
        first = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        second = bot.sim.user(5002, first_name="Li", language_code="en")
        case = (await store.cases.submit(petitioner(5002, "Li"), draft(), "li-case")).case

        # The leader publishes a session: buttons for date, times and slots, typed text for the place.
        await leader.send("/reception_add")
        await leader.wait_for("请选择接访日期")
        await leader.tap("11月5日 周四")
        await leader.wait_for("请选择开始时间")
        await leader.tap("09:00")
        await leader.wait_for("请选择结束时间")
        await leader.tap("11:00")
        await leader.wait_for("请选择接访方式")
        await leader.tap("在接访地点接待")
        await leader.wait_for("请输入接访地点")
        await leader.send("集团总部三楼 <接待室> & 会议室")
        await leader.wait_for("请选择可预约的名额数")
        await leader.tap("1")
        review = await leader.wait_for("请核对后发布")
        assert "2026年11月5日（周四） 09:00–11:00" in review.visible_text
        assert "集团总部三楼 <接待室> & 会议室" in review.visible_text and "名额：共 1 位" in review.visible_text
        await leader.tap("✅ 发布")
        await leader.wait_for("接访场次已发布")

        # The first employee books the only slot; they have no petition, so nothing to link.
        await first.send("/reception")
        listing = await first.wait_for("领导接访日")
        assert any(label == "11月5日 周四 09:00 · 赵总 · 余 1 位" for label in listing.button_texts)
        await first.tap("11月5日 周四 09:00")
        await first.wait_for("名额：共 1 位，剩余 1 位")
        await first.tap("预约")
        await first.wait_for("请简要写明您想当面反映的问题")
        await first.send("食堂伙食 <差> & 贵")
        booked = await first.wait_for("预约成功")
        assert "反映问题：食堂伙食 <差> & 贵" in booked.visible_text
        assert "地点：集团总部三楼 <接待室> & 会议室" in booked.visible_text
        assert "2026年11月5日（周四） 09:00–11:00" in booked.visible_text
        assert "开始前 2 小时以前" in booked.visible_text

        # The second (English) employee finds it full, joins the waitlist and links their petition.
        await second.send("/reception")
        await second.wait_for("Leader reception days")
        await second.tap("Thu 5 Nov 09:00")
        await second.wait_for("Slots: 1 in all, 0 left")
        await second.tap("Join the waitlist")
        await second.wait_for("Please say briefly")
        await second.send("Overtime pay for October")
        link = await second.wait_for("Link one of your petitions?")
        assert any(case.number in label for label in link.button_texts)
        await second.tap(case.number)
        waitlisted = await second.wait_for("You are number 1 on the waitlist")
        assert f"Linked petition: {case.number}" in waitlisted.visible_text

        # The day before: only the booked employee is reminded, once, however often the job runs.
        clock.set(local(4, 9, 30))
        await send_due_reminders(store.reception)
        reminder = await first.wait_for("接访提醒")
        assert "明天" in reminder.visible_text and "食堂伙食 <差> & 贵" in reminder.visible_text
        await send_due_reminders(store.reception)
        assert reminder_rows(db, 5001) == ["day"]
        assert reminder_rows(db, 5002) == []

        # The first employee cancels from the reminder; the waitlisted one moves up and is told.
        await first.tap("取消预约", message=reminder)
        await first.wait_for("确定要取消")
        await first.tap("确定取消")
        await first.wait_for("已取消您的接访预约")
        promoted = await second.wait_for("moved up from the waitlist")
        assert "Overtime pay for October" in promoted.visible_text

        # Two hours before: the promoted employee is reminded (the day-before one had passed when promoted).
        clock.set(local(5, 7, 30))
        await send_due_reminders(store.reception)
        soon = await second.wait_for("starts today at 09:00")
        assert "Place: 集团总部三楼 <接待室> & 会议室" in soon.visible_text
        await send_due_reminders(store.reception)
        assert reminder_rows(db, 5002) == ["hours"]
        assert reminder_rows(db, 5001) == ["day"]

        # After the session the leader sees the booking and records the outcome.
        clock.set(local(5, 11, 30))
        await leader.send("/reception_list")
        await leader.wait_for("接访场次")
        await leader.tap("11月5日 周四 09:00")
        roster = await leader.wait_for("预约名单")
        assert "1. Li：Overtime pay for October" in roster.visible_text
        assert f"关联事项 {case.number}" in roster.visible_text
        assert "食堂" not in roster.visible_text  # the cancelled booking is gone
        await leader.tap("记录 1 号结果")
        await leader.wait_for("请输入与 1 号（Li）接访的处理情况")
        await leader.send("已责成人力资源部核实十月加班费，两周内书面答复。")
        await leader.wait_for("已记入关联信访事项的办理记录")
        outcome = await second.wait_for("The leader has recorded the outcome")
        assert "已责成人力资源部核实十月加班费" in outcome.visible_text and case.number in outcome.visible_text

        await second.send(f"/status {case.number}")
        record = await second.wait_for("Leader reception")
        assert case.number in record.visible_text
        await bot.drained()

    with sqlite3.connect(db, detect_types=sqlite3.PARSE_DECLTYPES) as conn:  # words as text (store/words.py)
        events = conn.execute(
            "SELECT action, actor_id, body, public FROM events WHERE case_id = ? ORDER BY id", (case.id,)
        ).fetchall()
        assert events[-1] == ("reception_note", 2001, "已责成人力资源部核实十月加班费，两周内书面答复。", 1)
        from store.vault import load_vault

        vault = load_vault(db, create=False)  # bookings keep a keyed hash of the id of their own (booking_key)
        assert conn.execute("SELECT user_id, status FROM reception_bookings ORDER BY id").fetchall() == [
            (vault.keyed("booking", 5001), "cancelled"), (vault.keyed("booking", 5002), "booked")
        ]
        # Everything owed to someone who uses the bot went out (officer 1001 never started it; nor did the
        # officers a screening request may go to, if its job ran during the test).
        assert conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND chat_id != 1001"
                            " AND NOT (failed_at IS NOT NULL AND last_error LIKE 'unreachable%')").fetchone() == (0,)
    reopened = await Services.open(db, org, clock)
    try:
        assert (await reopened.verify_journal()).ok
    finally:
        await reopened.close()


async def test_cancelled_session_tells_everyone_booked(org: Organization, tmp_path: Path) -> None:
    clock = FakeClock(SHANGHAI_0900_MON_2_NOV)
    async with running_bot(org, tmp_path / "e2e.db", clock=clock) as bot:
        store: Deps = bot.application.bot_data["deps"]
        leader = bot.sim.user(2001, first_name="赵", language_code="zh-hans")
        employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        by = store.cases.actor(2001)
        admin_draft = store.reception.change_publish_draft(by, await store.reception.begin_publish(by),
                                                           day=date(2026, 11, 6), start="14:00", end="16:00",
                                                           where="unit", unit="plant-1", slots=3)
        session, _ = await store.reception.publish_session(by, admin_draft)
        await store.reception.book(store.cases.actor(5001), session.id, "宿舍漏水")

        await employee.send("/reception")
        await employee.wait_for("您的预约")
        await leader.send("/reception_list")
        await leader.wait_for("接访场次")
        await leader.tap("11月6日 周五 14:00")
        roster = await leader.wait_for("预约名单")
        assert "下访单位：集团总部 › 油田公司 › 第一采油厂" in roster.visible_text
        await leader.tap("取消本场接访")
        await leader.wait_for("请输入取消")
        await leader.send("临时有紧急会议")
        await leader.wait_for("已通知 1 位预约职工")
        told = await employee.wait_for("已取消")
        assert "原因：临时有紧急会议" in told.visible_text and "2026年11月6日（周五） 14:00–16:00" in told.visible_text
