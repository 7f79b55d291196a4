"""Reception handlers driven update by update (offline Bot API): odd input, forged buttons, long lists."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from telegram.ext import Application

from botsim import parse_html
from handlers.i18n import t
from handlers.notifications import render
from handlers.reception_leader import parse_day
from store.clock import FakeClock
from store.conversations import Conversation
from store.models import OutboxItem
from store.services import Services
from tests.conftest import draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.test_reception_store import at, employee, publish

EMPLOYEE = 5001
LEADER = 2001




def answers(request: OfflineRequest) -> list[str]:
    return [str(c.params.get("text", "")) for c in request.calls if c.method == "answerCallbackQuery"]


async def test_forged_leader_buttons_from_an_employee_change_nothing(
    app: tuple[Application, OfflineRequest], store: Services, clock: FakeClock
) -> None:
    application, request = app
    session = await publish(store, slots=1)
    booked = await store.reception.book(employee(6001), session.id, "话题")
    clock.set(at(5, 12))
    user = Updates(EMPLOYEE)
    for data in (f"rc:cx:{session.id}", f"rc:o:{booked.booking.id}", f"rc:v:{session.id}", "rc:pL:2001",
                 "rc:pn:5", "rc:pp:" + "a" * 32, "rc:pd:20261120", "rc:pu:plant-1", "rc:lv"):
        await feed(application, user.tap(data))
    texts = request.texts_to(EMPLOYEE)
    assert "未找到该接访场次。" in texts and "未找到该预约。" in texts
    assert "该命令仅供领导和管理员使用。" in texts
    assert rows(store, "SELECT status FROM reception_sessions") == [("open",)]
    assert rows(store, "SELECT outcome FROM reception_bookings") == [(None,)]
    assert rows(store, "SELECT count(*) FROM reception_sessions") == [(1,)]
    assert await store.reception.reception_draft(EMPLOYEE) is None


async def test_garbage_button_data_is_answered_politely(app: tuple[Application, OfflineRequest]) -> None:
    application, request = app
    user = Updates(EMPLOYEE)
    for data in ("rc:", "rc:zz", "rc:s:abc", "rc:s:99999999999999999999", "rc:pd:2026-99-99", "rc:pp:short",
                 "rc:ps:9", "rc:pw:roof"):
        await feed(application, user.tap(data))
    assert answers(request).count("该按钮已失效，请按最新一条消息操作。") == 8
    await feed(application, user.tap("rc:b:999"))
    assert request.last_to(EMPLOYEE).text == "未找到该接访场次。"


async def test_odd_input_while_typing_the_topic(app: tuple[Application, OfflineRequest], store: Services) -> None:
    application, request = app
    session = await publish(store)
    user = Updates(EMPLOYEE)
    await feed(application, user.tap(f"rc:b:{session.id}"))
    ask = request.last_to(EMPLOYEE)  # a step of the form engine: the question with its 取消 button
    assert "请简要写明" in ask.text and ask.buttons() == [("取消", "rb:x")]
    await feed(application, user.sticker())
    assert request.texts_to(EMPLOYEE)[-2] == "这一步请输入文字，或发送 /cancel 取消。"
    assert "请简要写明" in request.last_to(EMPLOYEE).text  # and the question again
    await feed(application, user.text("长" * 5000))
    assert "不能超过 200 字（您输入了 5000 字）" in request.last_to(EMPLOYEE).text
    await feed(application, user.edited("改过的话题"))
    await feed(application, user.text("<b>宿舍</b> 漏水 & 发霉"))
    confirmation = request.last_to(EMPLOYEE)
    assert "预约成功" in confirmation.text
    assert "反映问题：&lt;b&gt;宿舍&lt;/b&gt; 漏水 &amp; 发霉" in confirmation.text
    bookings = await store.reception.my_reception_bookings(EMPLOYEE)
    assert [b.topic for b, _ in bookings] == ["<b>宿舍</b> 漏水 & 发霉"]
    # Booking twice is refused politely.
    await feed(application, user.tap(f"rc:b:{session.id}"))
    assert request.last_to(EMPLOYEE).text == "您已预约过本场接访，每场只能预约一次。"


@pytest.mark.filterwarnings("ignore:Tasks created via:telegram.warnings.PTBUserWarning")
async def test_cancel_and_other_commands_leave_the_typed_step(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    session = await publish(store)
    user = Updates(EMPLOYEE)
    await feed(application, user.tap(f"rc:b:{session.id}"))
    await feed(application, user.text("/cancel"))
    assert request.last_to(EMPLOYEE).text == "已取消。"
    assert await store.forms.get(Conversation.RECEPTION_BOOKING, EMPLOYEE) is None
    await feed(application, user.text("这句话不是话题"))
    assert await store.reception.my_reception_bookings(EMPLOYEE) == []
    await feed(application, user.tap(f"rc:b:{session.id}"))
    await feed(application, user.text("/mycases"))
    for _ in range(500):  # the command is handed on as a task of its own: wait for its answer
        if "您还没有提交过信访事项" in request.last_to(EMPLOYEE).text:
            break
        await asyncio.sleep(0.01)
    assert "您还没有提交过信访事项" in request.last_to(EMPLOYEE).text
    await feed(application, user.text("也不是话题"))
    assert await store.reception.my_reception_bookings(EMPLOYEE) == []
    assert await store.forms.get(Conversation.RECEPTION_BOOKING, EMPLOYEE) is None


async def test_publishing_with_a_typed_date_and_a_visited_unit(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    leader = Updates(LEADER, first_name="赵")
    await feed(application, leader.text("/reception_add"))
    assert "请选择接访日期" in request.last_to(LEADER).text
    await feed(application, leader.tap("rc:dt"))
    await feed(application, leader.text("明天"))
    assert "未能识别该日期" in request.last_to(LEADER).text
    await feed(application, leader.text("2028-01-01"))
    assert "请选择今天起 366 天以内的日期" in request.texts_to(LEADER)[-2]
    await feed(application, leader.tap("rc:dt"))
    await feed(application, leader.text("11月20日"))
    assert "2026年11月20日（周五）" in request.last_to(LEADER).text
    for data in ("rc:ps:0900", "rc:pe:1100", "rc:pw:unit"):
        await feed(application, leader.tap(data))
    units = request.last_to(LEADER)
    assert ("油田公司", "rc:pb:oilfield") in units.buttons()
    await feed(application, leader.tap("rc:pu:refinery"))  # forged: outside the leader's units
    assert "该单位不在接访领导的分管范围内。" in request.texts_to(LEADER)
    await feed(application, leader.tap("rc:pb:oilfield"))
    assert ("✔ 就是“油田公司”", "rc:pu:oilfield") in request.last_to(LEADER).buttons()
    await feed(application, leader.tap("rc:pu:plant-1"))
    assert "下访的具体地点" in request.last_to(LEADER).text
    await feed(application, leader.tap("rc:pk"))
    await feed(application, leader.tap("rc:pn:6"))
    review = request.last_to(LEADER)
    assert "下访单位：集团总部 › 油田公司 › 第一采油厂" in review.text and "名额：共 6 位" in review.text
    publish_data = next(data for _, data in review.buttons() if data.startswith("rc:pp:"))
    await feed(application, leader.tap(publish_data))
    await feed(application, leader.tap(publish_data))  # a repeated tap publishes nothing more
    sessions = await store.reception.upcoming_sessions()
    assert [(s.day, s.start, s.end, s.unit, s.place, s.slots) for s in sessions] == [
        (date(2026, 11, 20), "09:00", "11:00", "plant-1", None, 6)]


async def test_publishing_resumes_after_a_restart_and_its_cancel_button_ends_it(store: Services) -> None:
    """The publishing form saves its draft before each question: after a restart the next button carries on."""
    admin = Updates(9001)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, admin.text("/reception_add"))
        asked = request.last_to(9001)
        assert asked.text == "<b>发布接访场次</b>\n请选择接访领导：" and ("取消", "rc:pc") in asked.buttons()
        leader = next(data for _, data in asked.buttons() if data.startswith("rc:pL:"))
        await feed(application, admin.tap(leader))
        assert "请选择接访日期" in request.last_to(9001).text
        await feed(application, admin.tap("rc:pD:1"))  # the next fortnight
        assert ("11月16日 周一", "rc:pd:20261116") in request.last_to(9001).buttons()
    found = await store.forms.get(Conversation.RECEPTION_PUBLISH, 9001)
    assert found is not None and found.step == "day" and found.ui["days_page"] == 1
    async with offline_app(store, OfflineRequest()) as (application, request):  # the bot restarted
        await feed(application, admin.tap("rc:pd:20261116"))
        assert "日期：2026年11月16日（周一）" in request.last_to(9001).text
        await feed(application, admin.text("随便一句"))  # a step of buttons: the hint, the question again
        assert request.texts_to(9001)[-2] == t("zh", "reception.button_expected")
        await feed(application, admin.tap("rc:pc"))
        assert request.last_to(9001).text == "已取消发布。"
    assert await store.forms.get(Conversation.RECEPTION_PUBLISH, 9001) is None
    assert rows(store, "SELECT count(*) FROM reception_sessions") == [(0,)]


async def test_an_outcome_is_asked_below_the_list_and_resumes_after_a_restart(
    store: Services, clock: FakeClock
) -> None:
    """The outcome form asks in a message of its own (the session's list keeps its buttons), keeps the question
    on a text the store cannot take, and carries on after a restart."""
    session = await publish(store, slots=2)
    booked = await store.reception.book(employee(6001), session.id, "话题")
    clock.set(at(5, 12))
    leader = Updates(LEADER)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, leader.tap(f"rc:v:{session.id}"))
        await feed(application, leader.tap(f"rc:o:{booked.booking.id}"))
        asked = request.last_to(LEADER)
        assert asked.method == "sendMessage" and "请输入与 1 号" in asked.text
        assert asked.buttons() == [("取消", "rc:oc")]
        assert [c.method for c in request.calls if c.method == "editMessageText"] == ["editMessageText"]  # the list
        await feed(application, leader.text("   "))
        assert request.last_to(LEADER).text == t("zh", "errors.text_required")
    found = await store.forms.get(Conversation.RECEPTION_OUTCOME, LEADER)
    assert found is not None and found.step == "outcome"
    async with offline_app(store, OfflineRequest()) as (application, request):  # the bot restarted
        await feed(application, leader.text("已责成有关部门核实"))
        assert request.last_to(LEADER).text == "已记录 1 号的接访结果，并已告知该职工。"
    assert rows(store, "SELECT outcome FROM reception_bookings") == [("已责成有关部门核实",)]
    assert await store.forms.get(Conversation.RECEPTION_OUTCOME, LEADER) is None


async def test_a_session_cancellation_asks_for_the_reason_and_its_cancel_button_ends_it(store: Services) -> None:
    session = await publish(store)
    leader = Updates(LEADER)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, leader.tap(f"rc:cx:{session.id}"))
        asked = request.last_to(LEADER)
        assert "请输入取消" in asked.text and asked.buttons() == [("取消", "rc:cxc")]
        await feed(application, leader.tap("rc:cxc"))
        assert request.last_to(LEADER).text == "已取消。"
        await feed(application, leader.text("临时有会"))  # the form is over: not taken as a reason
        await feed(application, leader.tap(f"rc:cx:{session.id}"))
        await feed(application, leader.text("临时有紧急会议"))
        assert "已通知 0 位预约职工" in request.last_to(LEADER).text
    assert rows(store, "SELECT status, cancel_reason FROM reception_sessions") == [("cancelled", "临时有紧急会议")]


@pytest.mark.filterwarnings("ignore:Tasks created via:telegram.warnings.PTBUserWarning")
async def test_a_leaders_reception_steps_one_at_a_time(store: Services, clock: FakeClock) -> None:
    """An outcome or a cancellation begun drops the other steps under way (as when they shared one row): the
    text typed next is the step's begun last, whichever form was waiting before."""
    session = await publish(store, slots=2)
    booked = await store.reception.book(employee(6001), session.id, "话题")
    clock.set(at(5, 12))
    later = await publish(store, day=date(2026, 11, 9))
    leader = Updates(LEADER)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, leader.text("/reception_add"))  # publishing waits for a date button
        await feed(application, leader.tap(f"rc:o:{booked.booking.id}"))  # an outcome instead
        assert await store.forms.get(Conversation.RECEPTION_PUBLISH, LEADER) is None
        await feed(application, leader.tap(f"rc:cx:{later.id}"))  # and then a cancellation instead
        assert await store.forms.get(Conversation.RECEPTION_OUTCOME, LEADER) is None
        # The publishing form, dropped, hands the text on: it is handled again in the same turn of the chat.
        await feed(application, leader.text("临时出差"))
        assert "已通知 0 位预约职工" in request.last_to(LEADER).text
        await feed(application, leader.tap("rc:pd:20261120"))  # the publishing form's older button
        assert answers(request)[-1] == "" and request.last_to(LEADER).text == t("zh", "common.expired_button")
    assert rows(store, "SELECT outcome FROM reception_bookings") == [(None,)]
    assert rows(store, "SELECT id, cancel_reason FROM reception_sessions ORDER BY id") == [
        (session.id, None), (later.id, "临时出差")]


async def test_a_long_roster_is_split_and_keeps_its_buttons(
    app: tuple[Application, OfflineRequest], store: Services, clock: FakeClock
) -> None:
    application, request = app
    session = await publish(store, slots=30)
    for i in range(30):
        await store.reception.book(employee(6000 + i), session.id, f"{i}号" + "问题" * 97, name=f"职工<{i}>")
    clock.set(at(5, 12))
    await feed(application, Updates(LEADER).tap(f"rc:v:{session.id}"))
    sent = [c for c in request.calls if c.method in ("sendMessage", "editMessageText")
            and int(c.params.get("chat_id", 0)) == LEADER]
    assert len(sent) > 1
    for call in sent:
        plain, _ = parse_html(call.text)
        assert len(plain) <= 4096
    assert "职工&lt;0&gt;" in sent[0].text and "29号" in sent[-1].text
    buttons = sent[-1].buttons()
    assert ("记录 30 号结果", f"rc:o:{await _booking_id(store, 6029)}") in buttons
    assert all(not call.buttons() for call in sent[:-1])


async def _booking_id(store: Services, user_id: int) -> int:
    ((booking_id,),) = rows(  # bookings keep a keyed hash of the id of their own (StoreContext.booking_key)
        store, "SELECT id FROM reception_bookings WHERE user_id = ?", store.context.booking_key(user_id))
    return int(booking_id)


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_every_reception_notice_renders_valid_html(store: Services, clock: FakeClock, lang: str) -> None:
    await store.cases.set_language(6001, lang)
    await store.cases.set_language(2001, lang)
    case = (await store.cases.submit(petitioner(6001), draft(), "c")).case
    session = await publish(store, slots=1, by=9001, place="<三楼> & 会议室", unit="plant-1")
    booked = await store.reception.book(employee(6001), session.id, "话题 <i>", case_id=case.id)
    kinds: dict[str, dict[str, Any]] = {
        "reception_published": {"session_id": session.id},
        "reception_reminder": {"booking_id": booked.booking.id, "which": "day"},
        "reception_promoted": {"booking_id": booked.booking.id},
        "reception_changed": {"booking_id": booked.booking.id},
    }
    rendered = {}
    for kind, params in kinds.items():
        item = _item(2001 if kind == "reception_published" else 6001, kind, params)
        rendered[kind] = await render(item, store)
    clock.set(at(5, 10))
    await store.reception.record_outcome(store.cases.actor(2001), booked.booking.id, "结果 & <说明>")
    rendered["reception_outcome"] = await render(_item(6001, "reception_outcome", {"booking_id": booked.booking.id}), store)
    await store.reception.cancel_session(store.cases.actor(9001), (await publish(store, day=date(2026, 11, 9))).id, "原因 <x>")
    for kind, messages in rendered.items():
        assert len(messages) == 1, kind
        plain, _ = parse_html(messages[0].text or "")
        assert plain.strip(), kind
    assert "<三楼> & 会议室" in parse_html(rendered["reception_reminder"][0].text or "")[0]
    assert case.number in parse_html(rendered["reception_outcome"][0].text or "")[0]
    assert rendered["reception_reminder"][0].markup is not None  # can still cancel the day before


async def test_stale_notices_say_nothing(store: Services) -> None:
    session = await publish(store, slots=1)
    booked = await store.reception.book(employee(6001), session.id, "话题")
    await store.reception.cancel_booking(employee(6001), booked.booking.id)
    for kind in ("reception_reminder", "reception_promoted", "reception_changed"):
        params: dict[str, Any] = {"booking_id": booked.booking.id, "which": "hours"}
        if kind != "reception_reminder":
            params.pop("which")
        assert await render(_item(6001, kind, params), store) == []
    assert await render(_item(6001, "reception_reminder", {"booking_id": 999, "which": "day"}), store) == []
    assert await render(_item(6001, "reception_published", {"session_id": 999}), store) == []


def _item(chat_id: int, kind: str, params: dict[str, Any]) -> OutboxItem:
    return OutboxItem(id=1, chat_id=chat_id, kind=kind, case_id=None, event_id=None, params=params,
                      created_at="2026-11-02T01:00:00+00:00", due_at="2026-11-02T01:00:00+00:00",
                      attempts=0, progress=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", date(2026, 11, 20)),
        ("2026/11/20", date(2026, 11, 20)),
        ("2026年11月20日", date(2026, 11, 20)),
        ("11-20", date(2026, 11, 20)),
        ("11月20日", date(2026, 11, 20)),
        ("1月5日", date(2027, 1, 5)),
        ("2026-02-30", None),
        ("明天", None),
        ("", None),
        ("20261120", None),
    ],
)
def test_typed_dates(text: str, expected: date | None) -> None:
    assert parse_day(text, date(2026, 11, 2)) == expected


async def test_a_booking_resumes_after_a_restart_and_its_cancel_button_ends_it(store: Services) -> None:
    session = await publish(store)
    case = (await store.cases.submit(petitioner(EMPLOYEE), draft(), "linkable")).case
    user = Updates(EMPLOYEE)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, user.tap(f"rc:b:{session.id}"))
        await feed(application, user.text("宿舍漏水"))
        assert request.last_to(EMPLOYEE).text == t("zh", "reception.ask_link")
    async with offline_app(store, OfflineRequest()) as (application, request):  # the bot restarted
        await feed(application, user.text("随便一句"))  # the step waits for a button: the hint, the question again
        assert request.texts_to(EMPLOYEE)[-2:] == [t("zh", "reception.button_expected"), t("zh", "reception.ask_link")]
        await feed(application, user.tap(f"rc:l:{case.id}"))
        assert "预约成功" in request.last_to(EMPLOYEE).text and case.number in request.last_to(EMPLOYEE).text
        other = await publish(store, day=date(2026, 11, 6))
        await feed(application, user.tap(f"rc:b:{other.id}"))
        await feed(application, user.tap("rb:x"))  # 取消: the question's message says so
        assert request.last_to(EMPLOYEE).text == "已取消。"
        assert await store.forms.get(Conversation.RECEPTION_BOOKING, EMPLOYEE) is None
        await feed(application, user.tap("rb:x"))  # the form is over: the button has expired
        assert answers(request)[-1] == "该按钮已失效，请按最新一条消息操作。"
    assert [(b.topic, b.case_id) for b, _ in await store.reception.my_reception_bookings(EMPLOYEE)] == [
        ("宿舍漏水", case.id)]
