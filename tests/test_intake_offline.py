"""The intake conversation, driven update by update with an offline Bot API."""

from __future__ import annotations

import re
from pathlib import Path

from telegram.ext import Application

from store.clock import FakeClock
from store.services import Services
from tests.offline import OfflineRequest, Updates, feed

USER = 5001




async def walk_to_review(application: Application, user: Updates) -> None:
    for raw in (
        user.text("/new"), user.tap("in:cat:wages"), user.tap("in:unit:oilfield"),
        user.tap("in:unit:plant-1"), user.text("加班费 <b>未发</b> & 拖欠"),
        user.text("十月份加班费至今未发放。"), user.tap("in:done"), user.tap("in:id:real"),
    ):
        await feed(application, raw)


def submit_button(request: OfflineRequest) -> str:
    """The review's Submit button (its data carries the draft's submit key)."""
    return next(d for _, d in request.last_to(USER).buttons() if d.startswith("in:submit:"))


async def test_intake_to_receipt(app: tuple[Application, OfflineRequest], store: Services, tmp_path: Path) -> None:
    application, request = app
    user = Updates(USER)
    await walk_to_review(application, user)
    review = request.last_to(USER)
    assert "第 7/7 步" in review.text
    assert "加班费 &lt;b&gt;未发&lt;/b&gt; &amp; 拖欠" in review.text  # escaped, shown literally
    submit = next(data for _, data in review.buttons() if data.startswith("in:submit:"))
    await feed(application, user.tap(submit))
    receipt = request.last_to(USER).text
    number = re.search(r"<code>([A-Z]+-\d{4}-\d{6})</code>", receipt)
    assert number and "已登记" in receipt
    case = await store.cases.case_for(store.cases.actor(USER), number.group(1))
    assert case.subject == "加班费 <b>未发</b> & 拖欠" and case.unit == "plant-1"
    assert await store.cases.get_draft(USER) is None


async def test_every_step_is_counted_and_back_returns(app: tuple[Application, OfflineRequest], store: Services) -> None:
    application, request = app
    user = Updates(USER)
    await feed(application, user.text("/new"))
    assert "第 1/7 步" in request.last_to(USER).text
    await feed(application, user.tap("in:cat:wages"))
    assert "第 2/7 步" in request.last_to(USER).text
    await feed(application, user.tap("in:unit:refinery"))  # a leaf: chosen at once
    assert "第 3/7 步" in request.last_to(USER).text
    await feed(application, user.tap("in:back"))
    assert "第 2/7 步" in request.last_to(USER).text
    draft = await store.cases.get_draft(USER)
    assert draft is not None and draft.step == "unit" and draft.data.unit == "refinery"


async def test_odd_input_gets_a_hint_and_keeps_the_draft(app: tuple[Application, OfflineRequest], store: Services) -> None:
    application, request = app
    user = Updates(USER)
    for raw in (user.text("/new"), user.tap("in:cat:wages"), user.tap("in:unit:refinery")):
        await feed(application, raw)
    await feed(application, user.sticker())
    assert "请输入文字" in request.texts_to(USER)[-1] or "请输入文字" in request.texts_to(USER)[-2]
    await feed(application, user.text("x" * 101))
    assert "不能超过 100 字" in request.last_to(USER).text
    await feed(application, user.edited("改过的"))
    assert "修改" in request.last_to(USER).text
    await feed(application, user.text("/unknown"))
    assert "暂不支持该命令" in request.last_to(USER).text
    await feed(application, user.tap("in:cat:wages"))  # a stale button from step 1
    draft = await store.cases.get_draft(USER)
    assert draft is not None and draft.step == "subject" and draft.data.category == "wages"
    assert draft.data.subject is None


async def test_a_redelivered_update_is_applied_once(app: tuple[Application, OfflineRequest], store: Services) -> None:
    application, _ = app
    user = Updates(USER)
    for raw in (user.text("/new"), user.tap("in:cat:wages"), user.tap("in:unit:refinery")):
        await feed(application, raw)
    subject = user.text("第一次")
    await feed(application, subject)
    await feed(application, subject)  # Telegram sends it again after a crash
    draft = await store.cases.get_draft(USER)
    assert draft is not None and draft.step == "details" and draft.data.subject == "第一次"
    assert draft.data.details is None


async def test_forged_staff_button_from_a_petitioner_changes_nothing(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    user = Updates(USER)
    await walk_to_review(application, user)
    submit = submit_button(request)
    await feed(application, user.tap(submit))
    (case,), _ = await store.cases.cases_of_petitioner(USER)
    await feed(application, user.tap(f"st:acc:{case.number}"))
    await feed(application, user.tap("st:acc:" + "9" * 80))
    assert "仅供信访工作人员使用" in request.last_to(USER).text
    unchanged = await store.cases.case_by_id(case.id)
    assert unchanged is not None and unchanged.status.value == "submitted"


async def test_submit_twice_creates_one_case(app: tuple[Application, OfflineRequest], store: Services) -> None:
    application, request = app
    user = Updates(USER)
    await walk_to_review(application, user)
    submit = submit_button(request)
    await feed(application, user.tap(submit))
    first = request.last_to(USER).text
    await feed(application, user.tap(submit))  # double tap, or a redelivery
    assert request.last_to(USER).text == first
    _, total = await store.cases.cases_of_petitioner(USER)
    assert total == 1


async def test_myid_tells_the_user_their_telegram_id(app: tuple[Application, OfflineRequest]) -> None:
    application, request = app
    await feed(application, Updates(4242001).text("/myid"))
    assert "<code>4242001</code>" in request.last_to(4242001).text
    await feed(application, Updates(4242002, language_code="en").text("/myid"))
    assert request.last_to(4242002).text.startswith("Your Telegram id: <code>4242002</code>")


async def test_a_unit_with_units_under_it_opens_and_can_be_chosen_itself(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    user = Updates(USER)
    await feed(application, user.text("/new"))
    await feed(application, user.tap("in:cat:wages"))
    await feed(application, user.tap("in:unit:oilfield"))  # has units under it: opened, not chosen
    opened = request.last_to(USER)
    assert "第 2/7 步" in opened.text and "油田公司" in opened.text
    assert (opened.buttons()[0][1], opened.buttons()[1][1]) == ("in:here:oilfield", "in:unit:plant-1")
    await feed(application, user.tap("in:here:oilfield"))
    assert "第 3/7 步" in request.last_to(USER).text
    draft = await store.cases.get_draft(USER)
    assert draft is not None and draft.data.unit == "oilfield"


async def test_new_right_after_a_submission_names_it_before_starting_another(
    app: tuple[Application, OfflineRequest], store: Services, clock: FakeClock
) -> None:
    """A receipt lost with a stopped process must not make the person file the same matter twice."""
    application, request = app
    user = Updates(USER)
    await walk_to_review(application, user)
    submit = submit_button(request)
    await feed(application, user.tap(submit))
    [case] = (await store.cases.cases_of_petitioner(USER))[0]
    clock.advance(minutes=9)
    await feed(application, user.text("/new"))
    notice = request.last_to(USER)
    assert "已登记" in notice.text and case.number in notice.text
    assert notice.buttons() == [("反映新事项", "in:restart")]
    assert await store.cases.get_draft(USER) is None  # nothing begun until they ask for it
    await feed(application, user.tap("in:restart"))
    assert "第 1/7 步" in request.last_to(USER).text
    # Later, /new begins at once.
    await feed(application, user.text("/cancel"))
    clock.advance(minutes=2)
    await feed(application, user.text("/new"))
    assert "第 1/7 步" in request.last_to(USER).text
    assert (await store.cases.cases_of_petitioner(USER))[1] == 1


async def test_continue_on_an_old_offer_after_the_draft_was_submitted_names_the_case(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    """An offer to continue, tapped after its draft became a case (the receipt lost with a stopped
    process): the case is named, as /new names it, and no second intake begins."""
    application, request = app
    user = Updates(USER)
    await walk_to_review(application, user)
    submit = submit_button(request)
    await feed(application, user.text("/new"))  # the offer to continue, still on the screen
    offer = request.last_to(USER)
    assert ("继续填写", "in:cont") in offer.buttons()
    await feed(application, user.tap(submit))
    [case] = (await store.cases.cases_of_petitioner(USER))[0]
    await feed(application, user.tap("in:cont"))
    notice = request.last_to(USER)
    assert "已登记" in notice.text and case.number in notice.text
    assert notice.buttons() == [("反映新事项", "in:restart")]
    assert await store.cases.get_draft(USER) is None
