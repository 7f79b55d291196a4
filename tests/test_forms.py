"""The form engine (handlers/forms.py): drafts saved by the code before it still resume, on both databases.

Each ported form gets a draft row written exactly as the form's own code stored it before the engine
(the same conversation name, step, sealed data and ``ui``), then is answered through the production
handlers: the step, the answers and the chat state (changing one part from the review, the last update
applied) carry on as they were.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from handlers import callbacks as cb
from handlers.common import error_text
from handlers.i18n import t
from store.clock import FakeClock
from store.conversations import Conversation
from store.models import Decision, Status
from store.opinion import OpinionParts
from store.services import Services
from store.vault import is_sealed
from store.workflow import Action, TransitionError
from tests.backends import execute, rows
from tests.conftest import draft, petitioner, uid
from tests.offline import Call, OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import OFFICER_P1, rorg, rstore
from tests.test_reception_store import at, employee, publish

__all__ = ["rorg", "rstore"]


def write_old_row(store: Services, name: Conversation, user_id: int, step: str, data: dict[str, Any],
                  ui: dict[str, Any] | None = None) -> None:
    """A ``conversations`` row as the forms wrote it before the engine (sealed data, ``ui`` as given or the default)."""
    ctx = store.context
    key = ctx.conv_key(user_id)
    columns = "name, key, sealed_key, state, data, updated_at" + (", ui" if ui is not None else "")
    values = [name.value, key, ctx.seal_conv(name, key, "sealed_key", str(user_id)), step,
              ctx.seal_conv(name, key, "data", data), ctx.now()] + ([json.dumps(ui)] if ui is not None else [])
    execute(store, f"INSERT INTO conversations ({columns}) VALUES ({', '.join('?' * len(values))})", *values)


async def test_an_opinion_draft_saved_before_the_engine_resumes(rstore: Services) -> None:
    """OpinionService.save_draft kept the chat state in the sealed data (``editing``, ``last_update_id``)."""
    number = (await rstore.cases.submit(petitioner(5001), draft(unit="plant-1"), "old-opinion")).case.number
    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    officer = Updates(OFFICER_P1.id)
    redelivered = officer.text("已经处理过的一条")  # applied before the upgrade: asked again, not taken
    write_old_row(rstore, Conversation.OPINION, uid(OFFICER_P1), "facts", {
        "mode": "decide", "decision": "support", "opinion": "决定于11月工资中补发。", "number": number,
        "draft_id": "a" * 32, "request": "要求补发加班费。", "facts": "旧的事实", "basis": "《劳动法》第四十四条。",
        "editing": True, "last_update_id": redelivered["update_id"],
    })
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, redelivered)
        asked = request.last_to(OFFICER_P1.id)
        assert "查明事实" in asked.text and "旧的事实" in asked.text
        await feed(application, officer.text("经核查，加班费漏发属实。"))
        review = request.last_to(OFFICER_P1.id)  # changing one part from the review: back there
        assert "经核查，加班费漏发属实。" in review.text and "要求补发加班费。" in review.text
        submit = next(data for label, data in review.buttons() if label == "✅ 出具")
        assert submit == "op:ok:" + "a" * 32
        await feed(application, officer.tap(submit))
        assert "已对" in request.texts_to(OFFICER_P1.id)[-1]
    assert (await rstore.cases.case_for(OFFICER_P1, number)).status is Status.DECIDED
    (data,) = [r[0] for r in rows(rstore, "SELECT data FROM events WHERE action = 'decide'")]
    assert "经核查，加班费漏发属实。" in data and "已经处理过的一条" not in data
    assert rows(rstore, "SELECT count(*) FROM conversations WHERE name = 'opinion'") == [(0,)]


async def test_a_refused_issue_that_leaves_nothing_to_issue_ends_the_form(rstore: Services) -> None:
    """出具 after the case moved on (declined meanwhile): the refusal, the draft gone, the conversation over."""
    number = (await rstore.cases.submit(petitioner(5001), draft(unit="plant-1"), "moved-on")).case.number
    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    officer = Updates(OFFICER_P1.id)
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, officer.text(f"/decide {number} support 予以补发。"))
        for part in ("诉求", "事实", "依据"):
            await feed(application, officer.text(part))
        await feed(application, officer.tap("op:k"))
        submit = next(data for label, data in request.last_to(OFFICER_P1.id).buttons() if label == "✅ 出具")
        await rstore.cases.act(OFFICER_P1, number, Action.DECIDE, decision=Decision.SUPPORT, body="另行办结。",
                               parts=OpinionParts(request="诉求", facts="事实", basis="依据"))
        await feed(application, officer.tap(submit))
        assert request.texts_to(OFFICER_P1.id)[-1] == error_text("zh", TransitionError("wrong_status",
                                                                                       status="decided"))
        await feed(application, officer.text("随便说点什么"))  # the form is over: no step takes it
        assert request.texts_to(OFFICER_P1.id)[-1] != t("zh", "opinion.text_empty")
    assert rows(rstore, "SELECT count(*) FROM conversations WHERE name = 'opinion' AND state IS NOT NULL") == [(0,)]


async def test_a_screening_draft_saved_before_the_engine_resumes(rstore: Services) -> None:
    """ScreeningService.save_draft: the filing's answers and ``last_update_id`` in the sealed data, ``ui`` unset."""
    officer = Updates(OFFICER_P1.id)
    redelivered = officer.tap(cb.Sc.RISK.encode("low"))  # applied before the upgrade: asked again, not taken
    write_old_row(rstore, Conversation.SCREENING, uid(OFFICER_P1), "risk", {
        "mode": "file", "unit": "plant-1", "draft_id": "b" * 32, "type": "land", "subject": "井场占地补偿",
        "people": 30, "last_update_id": redelivered["update_id"],
    })
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, redelivered)
        assert request.last_to(OFFICER_P1.id).text == "第 4/8 步 · 请选择风险等级："
        await feed(application, officer.tap(cb.Sc.RISK.encode("high")))
        await feed(application, officer.tap(cb.Sc.STATUS.encode("mediating")))
        await feed(application, officer.text("王干事"))
        await feed(application, officer.text("约谈村民代表"))
        review = request.last_to(OFFICER_P1.id)
        assert "井场占地补偿" in review.text and "30 人" in review.text and "风险等级：高" in review.text
        await feed(application, officer.tap(cb.Sc.SUBMIT.encode("b" * 32)))
    assert rows(rstore, "SELECT type, subject, people, risk, status, responsible FROM disputes") == [
        ("land", "井场占地补偿", 30, "high", "mediating", "王干事")]
    assert rows(rstore, "SELECT count(*) FROM conversations WHERE name = 'screening'") == [(0,)]


def old_registration(store: Services, **more: Any) -> dict[str, Any]:
    """A registration as ``LedgerService.save_draft`` stored it before the engine (``Registration`` as JSON)."""
    values: dict[str, Any] = {
        "registration_id": "c" * 32, "channel": "letter", "external_ref": None,
        "received_on": store.context.today().isoformat(), "anonymous": False,
        "people": [{"name": "刘师傅", "role": "petitioner", "phone": "13800138000", "employee_no": None,
                    "unit": None}],
        "people_count": None, "category": "wages", "unit": "refinery", "subject": "九月加班费未发放",
        "details": "来信反映：九月加班费至今未发放。", "attachments": [], "confidential": None}
    values.update(more)
    return values


async def test_a_registration_draft_saved_before_the_engine_resumes(rstore: Services) -> None:
    """The registration's own loop kept ``editing``, ``unit_browse`` and ``last_update_id`` in ``ui``:
    changing the unit from the review, browsing the oilfield, carries on there and is registered."""
    officer = Updates(OFFICER_P1.id)
    redelivered = officer.tap(cb.Rg.UNIT.encode("oilfield"))  # applied before the upgrade: asked again, not taken
    write_old_row(rstore, Conversation.REGISTER, uid(OFFICER_P1), "unit", old_registration(rstore),
                  {"editing": True, "unit_browse": "oilfield", "last_update_id": redelivered["update_id"]})
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, redelivered)
        asked = request.last_to(OFFICER_P1.id)
        assert "第 5/10 步" in asked.text and "油田公司" in asked.text
        assert [data for _, data in asked.buttons() if data.startswith("rg:unit:")] == ["rg:unit:plant-1"]
        await feed(application, officer.tap(cb.Rg.UNIT.encode("plant-1")))
        review = request.last_to(OFFICER_P1.id)  # changing one part from the review: back there
        assert "第 10/10 步" in review.text and "第一采油厂" in review.text and "刘师傅（信访人）" in review.text
        await feed(application, officer.tap(cb.Rg.SUBMIT.encode("c" * 32)))
        assert "已登记" in request.last_to(OFFICER_P1.id).text
    assert rows(rstore, "SELECT unit, subject, channel FROM cases") == [("plant-1", "九月加班费未发放", "letter")]
    assert rows(rstore, "SELECT count(*) FROM conversations WHERE name = 'register'") == [(0,)]


async def test_a_registration_draft_in_the_people_resumes_with_continue(rstore: Services) -> None:
    """/register finds the old draft at a person's phone: continue asks it afresh; « 返回 enters the name again."""
    officer = Updates(OFFICER_P1.id)
    write_old_row(rstore, Conversation.REGISTER, uid(OFFICER_P1), "p_phone",
                  old_registration(rstore, people=[{"name": "刘师傅", "role": "petitioner"}], unit=None),
                  {"editing": False, "unit_browse": None, "last_update_id": 0})
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, officer.text("/register"))
        offer = request.last_to(OFFICER_P1.id)
        assert "未完成的登记" in offer.text and "第 3/10 步" in offer.text
        await feed(application, officer.tap(cb.Rg.CONTINUE.encode()))
        asked = request.last_to(OFFICER_P1.id)
        assert "刘师傅 的联系电话" in asked.text and ("不详", "rg:skip") in asked.buttons()
        await feed(application, officer.tap(cb.Rg.BACK.encode()))
        assert "请输入信访人的姓名" in request.last_to(OFFICER_P1.id).text
    found = await rstore.ledger.get_draft(uid(OFFICER_P1))
    assert found is not None and found.step == "p_name" and found.data.people == []
    assert found.data.subject == "九月加班费未发放"


def reply_markup(call: Call) -> dict[str, Any]:
    markup = call.params["reply_markup"]
    return dict(json.loads(markup) if isinstance(markup, str) else markup)


def old_intake(**more: Any) -> dict[str, Any]:
    """A petition as ``CaseService.save_draft`` stored it before the engine (``DraftData`` as JSON)."""
    values: dict[str, Any] = {
        "draft_id": "d" * 32, "category": "wages", "unit": "refinery", "subject": "十月加班费未发放",
        "details": "十月份加班费至今未发放。", "attachments": [], "confidential": False, "phone": None,
        "people": None, "desired_outcome": None, "about_leadership": None}
    values.update(more)
    return values


async def test_an_intake_draft_saved_before_the_engine_resumes(rstore: Services) -> None:
    """The intake's own loop kept ``editing``, ``unit_browse`` and ``last_update_id`` in ``ui``: changing the
    unit from the review, browsing the oilfield, carries on there and is submitted."""
    employee = Updates(5001)
    redelivered = employee.tap(cb.In.UNIT.encode("oilfield"))  # applied before the upgrade: asked again, not taken
    write_old_row(rstore, Conversation.INTAKE, 5001, "unit", old_intake(),
                  {"editing": True, "unit_browse": "oilfield", "last_update_id": redelivered["update_id"]})
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, redelivered)
        asked = request.last_to(5001)
        assert "第 2/7 步" in asked.text and "集团总部 › 油田公司" in asked.text
        assert [data for _, data in asked.buttons()][:2] == ["in:here:oilfield", "in:unit:plant-1"]
        await feed(application, employee.tap(cb.In.UNIT.encode("plant-1")))
        review = request.last_to(5001)  # changing one part from the review: back there
        assert "第 7/7 步" in review.text and "第一采油厂" in review.text and "十月加班费未发放" in review.text
        await feed(application, employee.tap(cb.In.SUBMIT.encode("d" * 32)))
        assert "已登记" in request.last_to(5001).text
    assert rows(rstore, "SELECT unit, subject, confidential FROM cases") == [("plant-1", "十月加班费未发放", 0)]
    assert rows(rstore, "SELECT count(*) FROM conversations WHERE name = 'intake'") == [(0,)]


async def test_an_intake_draft_at_the_phone_resumes_with_continue(rstore: Services) -> None:
    """/new finds the old draft at the phone number (its reply keyboard): continue asks it again with the
    keyboard; the contact shared is kept, the keyboard taken away, and the review follows."""
    employee = Updates(5001)
    write_old_row(rstore, Conversation.INTAKE, 5001, "phone", old_intake(confidential=None),
                  {"editing": False, "unit_browse": None, "last_update_id": 0})
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, employee.text("/new"))
        offer = request.last_to(5001)
        assert t("zh", "intake.draft_exists", step="第 6/7 步") == offer.text
        await feed(application, employee.tap(cb.In.CONTINUE.encode()))
        asked = request.last_to(5001)
        keyboard = reply_markup(asked)["keyboard"]
        assert "第 6/7 步" in asked.text and keyboard[0][0]["request_contact"] is True
        await feed(application, employee.contact("+8613800138000"))
        closed, review = request.calls[-2:]
        assert "+8613800138000" in closed.text and reply_markup(closed) == {"remove_keyboard": True}
        assert "第 7/7 步" in review.text and "+8613800138000" in review.text
    found = await rstore.cases.get_draft(5001)
    assert found is not None and found.step == "review"
    assert found.data.phone == "+8613800138000" and found.data.confidential is False


def write_old_booking(store: Services, user_id: int, session_id: int, topic: str | None, *, state: str | None,
                      sealed_key: bool) -> None:
    """A booking's row as ``ReceptionService.begin_booking`` / ``submit_topic`` stored it before the booking form:
    the reception row, ``BookingStep`` as plain JSON, ``ui`` empty; the step PTB kept (``topic`` while typing,
    none once the cases to link were offered), its key sealed only where PTB wrote the row first."""
    ctx = store.context
    key = ctx.conv_key(user_id)
    data = json.dumps({"flow": "book", "session_id": session_id, "key": "e" * 32, "topic": topic})
    execute(store, "INSERT INTO conversations (name, key, sealed_key, state, data, ui, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, '{}', ?)",
            Conversation.RECEPTION.value, key,
            ctx.seal_conv(Conversation.RECEPTION, key, "sealed_key", str(user_id)) if sealed_key else None,
            state, data, ctx.now())


def nothing_in_clear(store: Services, *texts: str) -> None:
    for name, data, ui in rows(store, "SELECT name, data, ui FROM conversations"):
        assert all(text not in str(data) and text not in str(ui) for text in texts), name


async def test_a_booking_at_its_topic_saved_before_the_booking_form_resumes(store: Services) -> None:
    """PTB kept the reception conversation at the topic: the topic typed is the booking form's, from the draft it
    adopts (sealed, the reception row gone); the case offered is linked with the booking's own key."""
    session = await publish(store)
    case = (await store.cases.submit(petitioner(5001), draft(), "old-booking")).case
    write_old_booking(store, 5001, session.id, None, state="topic", sealed_key=True)
    employee = Updates(5001)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, employee.text("宿舍漏水"))
        offer = request.last_to(5001)
        assert offer.text == t("zh", "reception.ask_link")
        assert (f"{case.number} {case.subject[:24]}", f"rc:l:{case.id}") in offer.buttons()
        nothing_in_clear(store, "宿舍漏水")  # the adopted draft is sealed, the old row gone
        assert rows(store, "SELECT name, state FROM conversations WHERE key = ?", store.context.conv_key(5001)) == [
            ("reception_booking", "link")]
        await feed(application, employee.tap(f"rc:l:{case.id}"))
        booked = request.last_to(5001).text
        assert "预约成功" in booked and "反映问题：宿舍漏水" in booked and case.number in booked
    assert rows(store, "SELECT topic, case_id, booking_key FROM reception_bookings") == [
        ("宿舍漏水", case.id, "e" * 32)]
    assert rows(store, "SELECT count(*) FROM conversations WHERE data != '{}'") == [(0,)]


async def test_a_booking_offering_cases_saved_before_the_booking_form_resumes(store: Services) -> None:
    """The topic given and the cases offered (the reception conversation over, its row's key unsealed): the
    case button on that older message still books, with the topic typed then."""
    session = await publish(store)
    case = (await store.cases.submit(petitioner(5001), draft(), "old-booking")).case
    write_old_booking(store, 5001, session.id, "食堂伙食", state=None, sealed_key=False)
    employee = Updates(5001)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, employee.tap(f"rc:l:{case.id}"))
        booked = request.last_to(5001).text
        assert "预约成功" in booked and "反映问题：食堂伙食" in booked and case.number in booked
        await feed(application, employee.tap("rc:l:0"))  # a second tap on the same buttons: nothing more
        assert "预约成功" not in request.last_to(5001).text
    assert rows(store, "SELECT topic, case_id FROM reception_bookings") == [("食堂伙食", case.id)]
    assert rows(store, "SELECT count(*) FROM conversations WHERE data != '{}'") == [(0,)]


async def test_a_booking_draft_holds_no_topic_in_clear(store: Services) -> None:
    """The booking's draft is sealed like every form's: the row under the person's keyed hash names no topic."""
    session = await publish(store)
    case = (await store.cases.submit(petitioner(5001), draft(), "linkable")).case
    employee = Updates(5001)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, employee.tap(f"rc:b:{session.id}"))
        await feed(application, employee.text("加班费 <未发>"))
        assert request.last_to(5001).text == t("zh", "reception.ask_link")
        ((data,),) = rows(store, "SELECT data FROM conversations WHERE name = 'reception_booking'")
        assert is_sealed(data)
        nothing_in_clear(store, "加班费")
        await feed(application, employee.tap(cb.Rb.BACK.encode()))  # « 返回: the topic again
        assert "请简要写明" in request.last_to(5001).text
        await feed(application, employee.text("加班费"))
        await feed(application, employee.tap(f"rc:l:{case.id}"))
        assert "预约成功" in request.last_to(5001).text
    assert rows(store, "SELECT topic, case_id FROM reception_bookings") == [("加班费", case.id)]


def write_old_publishing(store: Services, user_id: int, session: dict[str, Any], ui: dict[str, Any], *,
                         state: str | None) -> None:
    """A session being published as ``ReceptionService.edit_publish_draft`` stored it before the publishing form:
    the reception row, ``PublishStep`` as plain JSON, the handler's own state (``unit_browse``, ``place_done``) in
    ``ui``; the step PTB kept (``place`` or ``date`` while typing, none on a step of buttons), its key sealed
    where PTB wrote the row."""
    ctx = store.context
    key = ctx.conv_key(user_id)
    execute(store, "INSERT INTO conversations (name, key, sealed_key, state, data, ui, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)",
            Conversation.RECEPTION.value, key,
            ctx.seal_conv(Conversation.RECEPTION, key, "sealed_key", str(user_id)) if state else None, state,
            json.dumps({"flow": "publish", "draft": {"draft_id": "f" * 32, "leader_id": 2001, **session}}),
            json.dumps(ui), ctx.now())


async def test_a_session_browsing_units_saved_before_the_publishing_form_resumes(store: Services) -> None:
    """On a step of buttons (PTB kept no step): the unit being browsed carries on, the buttons of the older
    message still answer, and the session is published once under the draft's own key."""
    write_old_publishing(store, 2001, {"day": "2026-11-20", "start": "09:00", "end": "11:00", "where": "unit"},
                         {"unit_browse": "oilfield", "place_done": False}, state=None)
    leader = Updates(2001)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, leader.tap("rc:pn:4"))  # another step's button: the hint, the question again
        hint, asked = request.texts_to(2001)[-2:]
        assert hint == t("zh", "reception.button_expected") and "当前位置：集团总部 › 油田公司" in asked
        assert ("✔ 就是“油田公司”", "rc:pu:oilfield") in request.last_to(2001).buttons()
        nothing_in_clear(store, "2026-11-20")  # adopted: sealed in the form's row, the reception row gone
        assert rows(store, "SELECT name, state FROM conversations WHERE key = ?", store.context.conv_key(2001)) == [
            ("reception_publish", "unit")]
        await feed(application, leader.tap("rc:pu:plant-1"))  # a button of the older message
        assert "下访的具体地点" in request.last_to(2001).text
        await feed(application, leader.tap("rc:pk"))
        await feed(application, leader.tap("rc:pn:4"))
        review = request.last_to(2001)
        assert "下访单位：集团总部 › 油田公司 › 第一采油厂" in review.text and "名额：共 4 位" in review.text
        await feed(application, leader.tap("rc:pp:" + "f" * 32))
        assert "接访场次已发布" in request.last_to(2001).text
    assert rows(store, "SELECT day, start_time, unit, place, slots, publish_key FROM reception_sessions") == [
        ("2026-11-20", "09:00", "plant-1", None, 4, "f" * 32)]
    assert rows(store, "SELECT count(*) FROM conversations WHERE data != '{}'") == [(0,)]


async def test_a_session_at_its_typed_place_saved_before_the_publishing_form_resumes(store: Services) -> None:
    """PTB kept the reception conversation at the place: the place typed is the publishing form's."""
    write_old_publishing(store, 2001, {"day": "2026-11-20", "start": "14:00", "end": "16:00", "where": "place"},
                         {"unit_browse": None, "place_done": False}, state="place")
    leader = Updates(2001)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, leader.text("集团总部三楼接待室"))
        assert "请选择可预约的名额数" in request.last_to(2001).text
        nothing_in_clear(store, "集团总部三楼接待室")
        await feed(application, leader.tap("rc:pn:2"))
        assert "地点：集团总部三楼接待室" in request.last_to(2001).text
        await feed(application, leader.tap("rc:pp:" + "f" * 32))
        await feed(application, leader.tap("rc:pp:" + "f" * 32))  # a second tap publishes nothing more
        assert "接访场次已发布" in request.last_to(2001).text
    assert rows(store, "SELECT start_time, place, slots FROM reception_sessions") == [
        ("14:00", "集团总部三楼接待室", 2)]


async def test_a_session_at_its_typed_date_saved_before_the_publishing_form_resumes(store: Services) -> None:
    """PTB kept the reception conversation at the typed date (其他日期): the date typed is the form's."""
    write_old_publishing(store, 2001, {}, {}, state="date")
    leader = Updates(2001)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, leader.text("11月20日"))
        asked = request.last_to(2001)
        assert "2026年11月20日（周五）" in asked.text and ("09:00", "rc:ps:0900") in asked.buttons()
    assert rows(store, "SELECT name, state FROM conversations WHERE key = ?", store.context.conv_key(2001)) == [
        ("reception_publish", "start")]


def write_old_step(store: Services, user_id: int, step: dict[str, Any], state: str) -> None:
    """An outcome or a cancellation as ``begin_outcome`` / ``begin_session_cancel`` stored it before their forms:
    the reception row, the step as plain JSON, ``ui`` empty; PTB kept the conversation at the typed step."""
    ctx = store.context
    key = ctx.conv_key(user_id)
    execute(store, "INSERT INTO conversations (name, key, sealed_key, state, data, ui, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, '{}', ?)",
            Conversation.RECEPTION.value, key, ctx.seal_conv(Conversation.RECEPTION, key, "sealed_key", str(user_id)),
            state, json.dumps(step), ctx.now())


async def test_an_outcome_and_a_cancellation_saved_before_their_forms_resume(store: Services, clock: FakeClock) -> None:
    """PTB kept the reception conversation at the outcome (then at a cancellation's reason): the text typed is
    the form's, from the draft it adopts, and the store records it."""
    session = await publish(store, slots=2)
    booked = await store.reception.book(employee(6001), session.id, "话题")
    later = await publish(store, day=date(2026, 11, 9))
    clock.set(at(5, 12))
    write_old_step(store, 2001, {"flow": "outcome", "booking_id": booked.booking.id}, "outcome")
    leader = Updates(2001)
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, leader.text("已当面答复"))
        assert request.last_to(2001).text == "已记录 1 号的接访结果，并已告知该职工。"
    assert rows(store, "SELECT outcome FROM reception_bookings") == [("已当面答复",)]
    assert rows(store, "SELECT count(*) FROM conversations WHERE data != '{}'") == [(0,)]
    write_old_step(store, 2001, {"flow": "cancel_session", "session_id": later.id}, "reason")
    async with offline_app(store, OfflineRequest()) as (application, request):
        await feed(application, leader.text("临时出差"))
        assert "已通知 0 位预约职工" in request.last_to(2001).text
    assert rows(store, "SELECT cancel_reason FROM reception_sessions WHERE id = ?", later.id) == [("临时出差",)]
    assert rows(store, "SELECT count(*) FROM conversations WHERE data != '{}'") == [(0,)]
