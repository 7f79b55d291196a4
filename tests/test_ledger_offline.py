"""One ledger in the chat, update by update with an offline Bot API: /register, contact tasks, /claim, /find.

Staff (tests/org_fixture.toml): officer 王主任 1001 (plant-1, wages), admin 9001. The clock starts on
2026-11-02 (Asia/Shanghai): a letter received ten days ago was received on 2026-10-23 and is to be
accepted by 2026-11-09 (11-07 is a Saturday: the next working day).
"""

from __future__ import annotations

import re

from telegram.ext import Application

from handlers.notifications import render
from store.clock import FakeClock
from store.ledger import PersonIn, PersonRole, Registration
from store.models import Actor, ActorRole, Channel, Decision
from store.services import Services
from store.vault import is_person_key
from store.workflow import Action
from tests.conftest import OPINION_PARTS, rows
from tests.offline import OfflineRequest, Updates, feed

OFFICER = 1001
OFFICER_ACTOR = Actor(id=OFFICER, role=ActorRole.OFFICER, name="王主任")
CODE = re.compile(r"(?:认领码|Claim code)：?:? ?<code>([A-Z0-9]{4}-[A-Z0-9]{4})</code>")


async def walk(application: Application, user: Updates, *steps: dict[str, object]) -> None:
    for raw in steps:
        await feed(application, raw)


def submit_of(request: OfflineRequest, chat: int) -> str:
    return next(data for _, data in request.last_to(chat).buttons() if data.startswith("rg:submit:"))


async def notices_to(store: Services, chat: int, kind: str) -> list[str]:
    items = [i for i in await store.outbox.pending_notifications(limit=1000) if i.chat_id == chat and i.kind == kind]
    return [str(o.text) for i in items for o in await render(i, store) if o.text]


async def test_a_letter_received_ten_days_ago_is_registered_end_to_end(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    staff = Updates(OFFICER, "王主任")
    await feed(application, staff.text("/register"))
    assert "第 1/10 步" in request.last_to(OFFICER).text and "信访渠道" in request.last_to(OFFICER).text
    await walk(application, staff, staff.tap("rg:ch:letter"))
    assert "第 2/10 步" in request.last_to(OFFICER).text
    await walk(application, staff, staff.text("10-23"), staff.tap("rg:who:named"), staff.text("刘师傅"),
               staff.text("138-0013-8000"), staff.tap("rg:skip"), staff.text("第一采油厂作业二区"))
    people = request.last_to(OFFICER).text
    assert "已填写 1 位信访人" in people and "刘师傅" in people and "138-0013-8000" in people
    await walk(application, staff, staff.tap("rg:more:done"), staff.tap("rg:cat:wages"),
               staff.tap("rg:unit:oilfield"), staff.tap("rg:unit:plant-1"),
               staff.text("九月加班费未发放"), staff.text("来信反映：2026年9月加班费至今未发放。"),
               staff.photo(), staff.tap("rg:files"), staff.tap("rg:sec:real"))
    review = request.last_to(OFFICER).text
    assert "第 10/10 步" in review
    assert "2026年10月23日（受理期限2026年11月9日）" in review and "来信" in review and "刘师傅（信访人）" in review
    # Restart-safe: the draft is in the store, at the review, sealed.
    draft = await store.ledger.get_draft(OFFICER)
    assert draft is not None and draft.step == "review" and draft.data.received_on is not None
    assert rows(store, "SELECT count(*) FROM conversations WHERE name = 'register' AND data LIKE '%刘师傅%'") == [(0,)]
    submit = submit_of(request, OFFICER)
    await feed(application, staff.tap(submit))
    receipt = request.last_to(OFFICER).text
    number = re.search(r"<code>(XF-\d{4}-\d{6})</code>", receipt)
    assert number and "已登记" in receipt and "受理期限2026年11月9日" in receipt and "2026年10月23日收到" in receipt
    [code] = CODE.findall(receipt)
    assert "（刘师傅）" in receipt
    case = await store.cases.case_for(OFFICER_ACTOR, number.group(1))
    assert (case.channel, case.received_on.isoformat() if case.received_on else None) == ("letter", "2026-10-23")
    assert case.accept_due.isoformat() == "2026-11-09" and case.registered_by == OFFICER
    assert len(await store.cases.attachments(case.id)) == 1
    assert await store.ledger.get_draft(OFFICER) is None
    # Submit once: the same button again registers nothing more.
    await feed(application, staff.tap(submit))
    assert "已登记，编号" in request.last_to(OFFICER).text
    assert rows(store, "SELECT count(*) FROM cases") == [(1,)]
    # The card tells how it came in and who registered it.
    cards = await notices_to(store, OFFICER, "case_card")
    assert any("来源：来信（2026年10月23日收到）" in text and "登记人：王主任" in text for text in cards)
    # The petitioner claims it with the code from the receipt.
    citizen = Updates(7001, "刘")
    await feed(application, citizen.text(f"/claim {code.lower()}"))
    assert "分享您的 Telegram 手机号码" in request.last_to(7001).text  # a phone was registered: confirm the person
    await feed(application, citizen.contact("+86 138 0013 8000"))
    assert "认领成功" in request.last_to(7001).text and number.group(1) in request.last_to(7001).text
    await feed(application, citizen.text("/mycases"))
    assert number.group(1) in request.last_to(7001).text
    await feed(application, citizen.tap(f"my:open:{number.group(1)}"))
    view = request.last_to(7001)
    assert "九月加班费未发放" in view.text and any(data.startswith("pr:add:") for _, data in view.buttons())
    # Adding information as the petitioner reaches the officer.
    await store.cases.add_info(store.cases.actor(7001), number.group(1), "补充：工资条已寄出")
    assert any("工资条已寄出" in text for text in await notices_to(store, OFFICER, "staff_event"))


async def test_a_walk_in_is_told_through_tasks_and_done_marking_is_journaled(
    app: tuple[Application, OfflineRequest], store: Services, clock: FakeClock
) -> None:
    application, request = app
    visit = Registration(channel=Channel.VISIT, received_on=store.context.today(),
                         people=[PersonIn(name="赵师傅", phone="13900001111")], category="wages", unit="plant-1",
                         subject="住房补贴", details="来访反映住房补贴未到位。")
    number = (await store.ledger.register(OFFICER_ACTOR, visit)).case.number
    await store.cases.act(OFFICER_ACTOR, number, Action.ACCEPT)
    [task_text] = await notices_to(store, OFFICER, "lg_task")
    assert "告知任务" in task_text and "赵师傅" in task_text and "13900001111" in task_text
    assert "已受理" in task_text and number in task_text  # the text to convey: what the chat would have said
    assert not [i for i in await store.outbox.pending_notifications(limit=100) if is_person_key(i.chat_id)]
    staff = Updates(OFFICER, "王主任")
    await feed(application, staff.text("/queue"))
    listing = request.last_to(OFFICER)
    assert "待办告知任务" in listing.text and "赵师傅" in listing.text
    [(_, open_task)] = [(label, data) for label, data in listing.buttons() if data.startswith("lg:t:")]
    await feed(application, staff.tap(open_task))
    task = request.last_to(OFFICER)
    done = next(data for label, data in task.buttons() if label == "已电话告知")
    await feed(application, staff.tap(done))
    assert "已电话告知信访人" in request.last_to(OFFICER).text
    assert rows(store, "SELECT action, actor_id FROM events WHERE action = 'inform'") == [("inform", OFFICER)]
    assert rows(store, "SELECT done_how, done_by FROM contact_tasks") == [("phone", OFFICER)]
    # Tapped again (or by a colleague): it was done already.
    await feed(application, staff.tap(done))
    assert "已完成" in request.last_to(OFFICER).text
    # A forged task id is answered, not crashed on; a stranger cannot mark it.
    await feed(application, staff.tap("lg:d:99999:p"))
    assert "未找到" in request.last_to(OFFICER).text
    stranger = Updates(5005)
    await feed(application, stranger.tap(done))
    assert "工作人员" in request.last_to(5005).text
    # The written opinion and the request to rate it: two more tasks, each with its text, no buttons of the chat.
    await store.cases.act(OFFICER_ACTOR, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="补贴将于本月补发。")
    tasks, total = await store.ledger.open_tasks(OFFICER_ACTOR)
    assert total == 2 and {task.kind for task in tasks} == {"petitioner_event", "rv_rate"}
    texts = await notices_to(store, OFFICER, "lg_task")
    assert any("补贴将于本月补发" in text for text in texts)
    assert sum("告知内容" in text for text in texts) == 3


async def test_three_representatives_each_claim_a_joint_letter(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    staff = Updates(OFFICER, "王主任")
    await walk(application, staff, staff.text("/register"), staff.tap("rg:ch:letter"), staff.text("2026-10-30"),
               staff.tap("rg:who:named"))
    for name, phone in (("甲", "13900000001"), ("乙", "13900000002"), ("丙", "13900000003")):
        await walk(application, staff, staff.text(name), staff.text(phone), staff.tap("rg:skip"),
                   staff.tap("rg:skip"))
        if name != "丙":
            await feed(application, staff.tap("rg:more:add"))
    await feed(application, staff.tap("rg:more:done"))
    assert "第 3/10 步" in request.last_to(OFFICER).text and "人数" in request.last_to(OFFICER).text
    await walk(application, staff, staff.text("2"))  # fewer than named: refused politely
    assert "人数应在 3 至" in request.last_to(OFFICER).text
    await walk(application, staff, staff.text("46"), staff.tap("rg:cat:wages"), staff.tap("rg:unit:oilfield"),
               staff.tap("rg:unit:plant-1"), staff.text("联名反映加班费"), staff.text("46名职工联名反映加班费未发放。"),
               staff.tap("rg:files"), staff.tap("rg:sec:real"))
    assert "甲（代表）" in request.last_to(OFFICER).text and "<b>人数：</b>46" in request.last_to(OFFICER).text
    await feed(application, staff.tap(submit_of(request, OFFICER)))
    receipt = request.last_to(OFFICER).text
    codes = CODE.findall(receipt)
    assert len(codes) == 3 and len(set(codes)) == 3
    number = re.search(r"<code>(XF-\d{4}-\d{6})</code>", receipt)
    assert number is not None
    users = (7101, 7102, 7103)
    phones = ("8613900000001", "8613900000002", "8613900000003")
    for user_id, code, phone in zip(users, codes, phones, strict=True):
        user = Updates(user_id, language_code="en")
        await feed(application, user.text(f"/claim {code}"))
        assert "share your Telegram phone number" in request.last_to(user_id).text
        await feed(application, user.contact(phone))
        assert "Claimed" in request.last_to(user_id).text
        await feed(application, user.text("/mycases"))
        assert number.group(1) in request.last_to(user_id).text
    await store.cases.act(OFFICER_ACTOR, number.group(1), Action.ACCEPT)
    for user_id in users:
        hid = store.context.claim_key(user_id)
        told = await notices_to(store, hid, "petitioner_event")
        assert any("accepted" in text and number.group(1) in text for text in told)
    assert (await store.ledger.open_tasks(OFFICER_ACTOR))[1] == 0


async def test_a_wrong_code_burst_is_throttled_until_the_next_day(
    app: tuple[Application, OfflineRequest], store: Services, clock: FakeClock
) -> None:
    application, request = app
    code = (await store.ledger.register(OFFICER_ACTOR, Registration(
        channel=Channel.CALL, received_on=store.context.today(),
        people=[PersonIn(name="钱师傅", role=PersonRole.PETITIONER)], category="wages", unit="plant-1",
        subject="工资", details="来电反映工资问题。"))).codes[0].shown
    user = Updates(8001)
    for wrong in ("AAAA-AAAA", "K7PD-3MXQ", "7777-7777", "nonsense", "CCCC-DDDD"):
        await feed(application, user.text(f"/claim {wrong}"))
        assert "认领码不正确" in request.last_to(8001).text
    await feed(application, user.text("/claim AAAA-AAAA"))
    throttled = request.last_to(8001).text
    assert "已达 5 次" in throttled and "明天再试" in throttled
    await feed(application, user.text(f"/claim {code}"))
    assert request.last_to(8001).text == throttled  # the right code too: the same answer, nothing revealed
    clock.advance(days=1)
    await feed(application, user.text(f"/claim {code}"))
    assert "认领成功" in request.last_to(8001).text
    # The usage for nothing to claim; staff who can see the case may not claim it.
    await feed(application, user.text("/claim"))
    assert "用法" in request.last_to(8001).text
    await feed(application, Updates(OFFICER).text(f"/claim {code}"))
    assert "工作人员，不能认领" in request.last_to(OFFICER).text


async def test_find_stays_in_scope_and_never_shows_a_confidential_case(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app

    def letter(**more: object) -> Registration:
        values: dict[str, object] = {
            "channel": Channel.LETTER, "received_on": store.context.today(),
            "people": [PersonIn(name="孙师傅", phone="13700001234", employee_no="YC-77")],
            "category": "wages", "unit": "plant-1", "subject": "工资", "details": "来信反映工资问题。"}
        values.update(more)
        return Registration.model_validate(values)

    mine = (await store.ledger.register(OFFICER_ACTOR, letter())).case.number
    secret = (await store.ledger.register(OFFICER_ACTOR, letter(category="misconduct"))).case.number
    # Registered by the admin: an officer registers only for units in their scope.
    elsewhere = (await store.ledger.register(store.cases.actor(9001), letter(unit="refinery"))).case.number
    staff = Updates(OFFICER)
    for query in ("孙师傅", "137 0000 1234", "yc-77"):
        await feed(application, staff.text(f"/find {query}"))
        text = request.last_to(OFFICER).text
        assert mine in text and secret not in text and elsewhere not in text
    admin = Updates(9001)
    await feed(application, admin.text("/find 孙师傅"))
    assert elsewhere in request.last_to(9001).text and secret not in request.last_to(9001).text
    await feed(application, staff.text("/find"))
    assert "用法：/find" in request.last_to(OFFICER).text
    await feed(application, staff.text("/find 无此人"))
    assert "未找到" in request.last_to(OFFICER).text
    await feed(application, Updates(5001).text("/find 孙师傅"))
    assert mine not in request.last_to(5001).text


async def test_odd_input_in_the_registration_is_answered_politely(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    await feed(application, Updates(5001).text("/register"))
    assert "工作人员" in request.last_to(5001).text and await store.ledger.get_draft(5001) is None
    staff = Updates(OFFICER)
    await walk(application, staff, staff.text("/register"), staff.tap("rg:ch:transfer"))
    assert "文号" in request.last_to(OFFICER).text
    await feed(application, staff.text("x" * 61))
    assert "60 字以内" in request.last_to(OFFICER).text
    await feed(application, staff.text("市12345-2026-0815"))
    for bad, answer in (("2026-13-45", "没能识别"), ("昨天", "没能识别"), ("2026-12-01", "不能晚于今天"),
                        ("2026-08-01", "60 天以内"), ("y" * 5000, "没能识别")):
        await feed(application, staff.text(bad))
        assert answer in request.last_to(OFFICER).text, bad
    await feed(application, staff.sticker())
    assert "没能识别" in " ".join(request.texts_to(OFFICER)[-2:])
    await feed(application, staff.text("/nonsense"))
    assert "暂不支持该命令" in request.last_to(OFFICER).text
    await feed(application, staff.tap("rg:ch:fax"))  # forged: no such channel
    await feed(application, staff.tap("rg:who:named"))  # a button of a later step
    draft = await store.ledger.get_draft(OFFICER)
    assert draft is not None and draft.step == "received" and draft.data.external_ref == "市12345-2026-0815"
    await walk(application, staff, staff.text("10-15"), staff.tap("rg:who:named"))
    await feed(application, staff.text("名" * 51))
    assert "50 字以内" in request.last_to(OFFICER).text
    await walk(application, staff, staff.text("周师傅"), staff.text("not a phone"))
    assert "电话号码应为数字" in request.last_to(OFFICER).text
    await feed(application, staff.tap("rg:back"))  # back to the name: entered again
    await walk(application, staff, staff.text("周师傅"), staff.tap("rg:skip"), staff.tap("rg:skip"),
               staff.tap("rg:skip"), staff.tap("rg:more:done"))
    draft = await store.ledger.get_draft(OFFICER)
    assert draft is not None and [p.name for p in draft.data.people] == ["周师傅"] and draft.step == "category"
    await feed(application, staff.text("/cancel"))
    assert "已取消本次登记" in request.last_to(OFFICER).text
    assert await store.ledger.get_draft(OFFICER) is None
    assert rows(store, "SELECT count(*) FROM cases") == [(0,)]


async def test_a_registration_resumes_and_edits_from_the_review(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    staff = Updates(OFFICER)
    await walk(application, staff, staff.text("/register"), staff.tap("rg:ch:call"), staff.tap("rg:today:20261102"),
               staff.tap("rg:who:anon"), staff.tap("rg:cat:wages"), staff.tap("rg:unit:oilfield"),
               staff.tap("rg:unit:plant-1"),
               staff.text("匿名来电"), staff.text("匿名来电反映情况。"), staff.tap("rg:files"))
    await feed(application, staff.text("/register"))  # again: continue or start over
    assert "未完成的登记" in request.last_to(OFFICER).text
    await feed(application, staff.tap("rg:cont"))
    assert "是否对信访人身份保密" in request.last_to(OFFICER).text
    await feed(application, staff.tap("rg:sec:real"))
    await feed(application, staff.tap("rg:edit:channel"))
    await feed(application, staff.tap("rg:ch:visit"))
    review = request.last_to(OFFICER).text
    assert "第 10/10 步" in review and "来访" in review and "匿名来信" in review
    await feed(application, staff.tap(submit_of(request, OFFICER)))
    receipt = request.last_to(OFFICER).text
    assert "匿名来信没有认领码" in receipt and not CODE.findall(receipt)


async def test_continue_on_an_old_offer_after_the_registration_was_submitted_begins_nothing(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    """An offer to continue, tapped after its registration became a case (the receipt lost with a stopped
    process): said so, with a button for another registration; no second registration begins unnoticed."""
    application, request = app
    staff = Updates(OFFICER)
    await walk(application, staff, staff.text("/register"), staff.tap("rg:ch:call"), staff.tap("rg:today:20261102"),
               staff.tap("rg:who:anon"), staff.tap("rg:cat:wages"), staff.tap("rg:unit:oilfield"),
               staff.tap("rg:unit:plant-1"), staff.text("匿名来电"), staff.text("匿名来电反映情况。"),
               staff.tap("rg:files"), staff.tap("rg:sec:real"))
    submit = submit_of(request, OFFICER)
    await feed(application, staff.text("/register"))  # the offer to continue, still on the screen
    assert ("继续填写", "rg:cont") in request.last_to(OFFICER).buttons()
    await feed(application, staff.tap(submit))
    assert "已登记" in request.last_to(OFFICER).text
    await feed(application, staff.tap("rg:cont"))
    told = request.last_to(OFFICER)
    assert "不在草稿中" in told.text and "/queue" in told.text
    assert told.buttons() == [("登记新事项", "rg:restart")]
    assert await store.ledger.get_draft(OFFICER) is None
    assert rows(store, "SELECT count(*) FROM cases") == [(1,)]
    await feed(application, staff.tap("rg:restart"))  # another letter: the first step
    assert "第 1/" in request.last_to(OFFICER).text


async def test_new_codes_replace_a_lost_receipt(app: tuple[Application, OfflineRequest], store: Services) -> None:
    application, request = app
    done = await store.ledger.register(OFFICER_ACTOR, Registration(
        channel=Channel.LETTER, received_on=store.context.today(), people=[PersonIn(name="冯师傅")],
        category="wages", unit="plant-1", subject="工资", details="来信反映工资问题。"))
    staff = Updates(OFFICER)
    await feed(application, staff.text("/codes"))
    assert "用法：/codes" in request.last_to(OFFICER).text
    await feed(application, staff.text(f"/codes {done.case.number.lower()}"))
    [fresh] = CODE.findall(request.last_to(OFFICER).text)
    assert "冯师傅" in request.last_to(OFFICER).text and fresh != done.codes[0].shown
    assert rows(store, "SELECT count(*) FROM events WHERE action = 'codes'") == [(1,)]
    citizen = Updates(7301)
    await feed(application, citizen.text(f"/claim {done.codes[0].shown}"))
    assert "认领码不正确" in request.last_to(7301).text  # the old code no longer binds
    await feed(application, citizen.text(f"/claim {fresh}"))
    assert "认领成功" in request.last_to(7301).text
    await feed(application, staff.text(f"/codes {done.case.number}"))
    assert "没有待认领的信访人" in request.last_to(OFFICER).text
    # A confidential case's codes name its reporter: the identity custodian's alone.
    secret = await store.ledger.register(OFFICER_ACTOR, Registration(
        channel=Channel.LETTER, received_on=store.context.today(), people=[PersonIn(name="褚某")],
        category="misconduct", unit="plant-1", subject="举报", details="来信举报。"))
    await feed(application, Updates(9001).text(f"/codes {secret.case.number}"))
    assert "身份保管人" in request.last_to(9001).text and "褚某" not in request.last_to(9001).text


async def test_register_offers_only_the_units_in_the_officers_scope(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    staff = Updates(OFFICER, "王主任")  # plant-1 only
    await walk(application, staff, staff.text("/register"), staff.tap("rg:ch:letter"), staff.text("10-23"),
               staff.tap("rg:who:anon"))
    while not any(data.startswith("rg:cat:") for _, data in request.last_to(OFFICER).buttons()):
        await feed(application, staff.text("1"))  # the count of people, if asked
    await feed(application, staff.tap("rg:cat:wages"))
    top = [data for _, data in request.last_to(OFFICER).buttons() if data.startswith(("rg:unit:", "rg:here:"))]
    assert top == ["rg:unit:oilfield"]  # not the headquarters itself, not the refining company
    await feed(application, staff.tap("rg:unit:oilfield"))
    below = [data for _, data in request.last_to(OFFICER).buttons() if data.startswith(("rg:unit:", "rg:here:"))]
    assert below == ["rg:unit:plant-1"]  # not the oilfield itself, not plant 2


async def test_the_people_changed_from_a_long_review_are_asked_through_and_the_review_comes_back(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    staff = Updates(OFFICER, "王主任")
    await walk(application, staff, staff.text("/register"), staff.tap("rg:ch:letter"), staff.text("10-23"),
               staff.tap("rg:who:anon"), staff.tap("rg:cat:wages"), staff.tap("rg:unit:oilfield"),
               staff.tap("rg:unit:plant-1"), staff.text("联名反映加班费"), staff.text("长" * 4000))
    await feed(application, staff.photo(size=30 * 1024 * 1024))  # too big: refused, the step stands
    assert "超过 20 MB" in request.last_to(OFFICER).text
    await feed(application, staff.photo())
    assert "已收到第 1 个材料" in request.last_to(OFFICER).text
    await walk(application, staff, staff.tap("rg:files"), staff.tap("rg:sec:real"))
    # The details need two messages: the heading on the first, Submit and the changes under the last.
    first, last = request.texts_to(OFFICER)[-2:]
    assert "第 10/10 步" in first and "匿名来信" in first and "第 10/10 步" not in last and "长" * 100 in last
    assert submit_of(request, OFFICER).startswith("rg:submit:")
    assert ("重填信访人", "rg:edit:who") in request.last_to(OFFICER).buttons()
    await feed(application, staff.edited("改一下"))  # an edited message: said what to do, nothing changes
    assert "修改的消息" in request.last_to(OFFICER).text
    await feed(application, staff.tap("rg:edit:who"))
    asked = request.last_to(OFFICER)
    assert "第 3/10 步" in asked.text and ("« 返回", "rg:back") in asked.buttons()
    await feed(application, staff.tap("rg:back"))  # changing one part: « 返回 goes back to the review
    assert submit_of(request, OFFICER).startswith("rg:submit:")
    await feed(application, staff.tap("rg:edit:who"))
    await feed(application, staff.tap("rg:who:named"))
    for name in ("甲", "乙"):
        await walk(application, staff, staff.text(name), staff.tap("rg:skip"), staff.tap("rg:skip"),
                   staff.tap("rg:skip"))
        assert "第 3/10 步" in request.last_to(OFFICER).text  # the people are one step of the counter
        await feed(application, staff.tap("rg:more:add" if name == "甲" else "rg:more:done"))
    assert "人数" in request.last_to(OFFICER).text  # two named: how many in all, before the review
    await feed(application, staff.text("5"))
    review = " ".join(request.texts_to(OFFICER)[-2:])
    assert "甲（代表）" in review and "乙（代表）" in review and "<b>人数：</b>5" in review
    assert ("改人数", "rg:edit:count") in request.last_to(OFFICER).buttons()
    await feed(application, staff.tap(submit_of(request, OFFICER)))
    assert len(CODE.findall(request.last_to(OFFICER).text)) == 2
    assert rows(store, "SELECT people FROM cases") == [(5,)]
    assert len(await store.cases.attachments(1)) == 1
