"""Lead and co-handling units (主办 / 协办): who may name them, what the co-handlers see and may do, who is told.

Organisation (tests/review_fixture.py): hq (刘总 3001) ▸ oilfield (陈经理 3002) ▸ plant-1 (张厂长 3003,
officer 王干事 1001), plant-2 (officer 李干事 1002, no leader); refinery (吴经理 3004, officer 周干事 1003).
The cases are plant-1's (the lead unit, 主办); plant-2 co-handles (协办); the refinery is a third unit.
Clock: 2026-11-02 09:00 local unless set.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.commands import LEADER_COMMANDS, OFFICER_COMMANDS
from handlers import callbacks as cb
from handlers.i18n import Html
from handlers.notifications import render
from handlers.render import case_card
from store.clock import FakeClock
from store.errors import NotFound, Refused
from store.models import Actor, ActorRole, Decision, Status
from store.opinion import DeclineGrounds
from store.org import Organization, parse_org
from store.services import Services
from store.workflow import Action
from tests.backends import fresh_database
from tests.conftest import OPINION_PARTS, draft, petitioner, rows, uid
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import (
    ADMIN,
    LEADER_OIL,
    LEADER_P1,
    LEADER_REF,
    OFFICER_P1,
    OFFICER_P2,
    OFFICER_REF,
    ORG_TOML,
    at,
    employee,
)

# A second officer of plant-2, recused from plant-1: never sees plant-1's confidential cases, co-handled or not.
RECUSED_P2 = Actor(id=1004, role=ActorRole.OFFICER)
ORG = ORG_TOML + """
[[staff]]
telegram_id = 1004
name = "孙干事"
role = "officer"
units = ["plant-2"]
recuse_units = ["plant-1"]
"""


@pytest.fixture
def corg() -> Organization:
    return parse_org(ORG)


@pytest.fixture
async def cstore(backend: str, tmp_path: Path, corg: Organization, clock: FakeClock) -> AsyncIterator[Services]:
    async with fresh_database(backend, tmp_path, "cohandle.db", migrated=True) as target:
        s = await Services.open(target, corg, clock)
        yield s
        await s.close()


async def new_case(store: Services, key: str = "a", **fields: object) -> str:
    return (await store.cases.submit(petitioner(5001), draft(**fields), key)).case.number


async def texts_of(store: Services, kind: str) -> list[tuple[int, str]]:
    items = [i for i in await store.outbox.pending_notifications(limit=1000) if i.kind == kind]
    return [(i.chat_id, str((await render(i, store))[0].text)) for i in items]


# ------------------------------------------------------------------ the store


async def test_the_co_handling_unit_sees_the_case_and_a_third_unit_does_not(cstore: Services) -> None:
    number = await new_case(cstore)
    with pytest.raises(NotFound):
        await cstore.cases.case_for(OFFICER_P2, number)  # not yet: plant-2 is not the case's unit
    case, unit = await cstore.supervision.cohandle(OFFICER_P1, number, "第二采油厂", "请核实该员工在二厂的考勤记录")
    assert (unit, case.cohandlers) == ("plant-2", ["plant-2"])
    assert rows(cstore, "SELECT unit, note, added_by FROM case_cohandlers") == [
        ("plant-2", "请核实该员工在二厂的考勤记录", OFFICER_P1.id)]

    # Reading: the card (Python scope) and the queue (SQL scope), marked as co-handled.
    seen = await cstore.cases.case_for(OFFICER_P2, number)
    assert cstore.cases.cohandles_only(OFFICER_P2, seen) and not cstore.cases.cohandles_only(OFFICER_P1, seen)
    queue, total = await cstore.cases.open_cases_for(OFFICER_P2)
    assert (total, [c.number for c in queue]) == (1, [number])
    # A third unit: neither.
    with pytest.raises(NotFound):
        await cstore.cases.case_for(OFFICER_REF, number)
    assert await cstore.cases.open_cases_for(OFFICER_REF) == ([], 0)
    with pytest.raises(NotFound):
        await cstore.cases.act(OFFICER_REF, number, Action.NOTE, body="看一下")

    # Told: plant-2's officers (both may see this open case), with the note.
    told = await texts_of(cstore, "sv_cohandle")
    assert [chat for chat, _ in told] == [OFFICER_P2.id, RECUSED_P2.id]
    assert told[0][1] == (
        f"🤝 <b>协办</b>：王干事 请贵单位（第二采油厂）协办信访事项 <code>{number}</code>（主办单位：第一采油厂 · 工资福利）。"
        "您可查看案卷、添加内部备注（/note）和报告办理进展（/progress）；答复和办理意见由主办单位作出。"
        "\n说明：请核实该员工在二厂的考勤记录")
    # Journaled, internal.
    found = rows(cstore, "SELECT action, actor_id, public, data FROM events WHERE action = 'cohandle'")
    assert [(a, who, bool(public), json.loads(data)) for a, who, public, data in found] == [
        ("cohandle", OFFICER_P1.id, False, {"unit": "plant-2"})]


async def test_co_handlers_read_note_and_report_progress_but_the_lead_unit_answers(cstore: Services) -> None:
    number = await new_case(cstore)
    await cstore.supervision.cohandle(LEADER_P1, number, "plant-2")
    refused_to_co_handler: list[tuple[Action, dict[str, Any]]] = [
        (Action.ACCEPT, {}), (Action.DECLINE, {"body": "不予受理", "grounds": DeclineGrounds(reason="other")}),
        (Action.REPLY, {"body": "您好"}),
        (Action.ASSIGN, {"assignee_id": OFFICER_P2.id}), (Action.TRANSFER, {"unit": "plant-2", "body": "属二厂"}),
    ]
    for action, extra in refused_to_co_handler:
        with pytest.raises(Refused) as refused:
            await cstore.cases.act(OFFICER_P2, number, action, **extra)
        assert refused.value.code == "cohandle_lead_only", action
    await cstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    lead_only: list[tuple[Action, dict[str, Any]]] = [
        (Action.DECIDE, {"decision": Decision.SUPPORT, "body": "予以补发", "parts": OPINION_PARTS}),
        (Action.EXTEND, {"days": 10, "body": "需二厂配合"}),
    ]
    for action, extra in lead_only:
        with pytest.raises(Refused) as refused:
            await cstore.cases.act(OFFICER_P2, number, action, **extra)
        assert refused.value.code == "cohandle_lead_only", action
    with pytest.raises(Refused) as menu:
        await cstore.staff_work.check_action(OFFICER_P2, number, Action.DECIDE)  # before the opinion is typed
    assert menu.value.code == "cohandle_lead_only"
    with pytest.raises(Refused) as naming:
        await cstore.supervision.cohandle(OFFICER_P2, number, "refinery")
    assert naming.value.code == "cohandle_lead_only"

    noted = await cstore.cases.act(OFFICER_P2, number, Action.NOTE, body="二厂考勤显示当月加班 36 小时")
    assert noted.status is Status.ACCEPTED
    await cstore.supervision.progress(OFFICER_P2, number, "考勤记录已调取")
    assert rows(cstore, "SELECT action, actor_id FROM events WHERE actor_id = ? ORDER BY id", OFFICER_P2.id) == [
        ("note", OFFICER_P2.id), ("progress", OFFICER_P2.id)]
    # The lead unit still answers: the case is the lead unit's, the co-handler only offered notes and progress.
    case = await cstore.cases.case_for(OFFICER_P2, number)
    assert cstore.cases.offered(OFFICER_P2, case) == {Action.NOTE, Action.PROGRESS}
    assert Action.DECIDE in cstore.cases.offered(OFFICER_P1, case)
    decided = await cstore.cases.act(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="予以补发")
    assert decided.status is Status.DECIDED


async def test_who_may_name_a_co_handling_unit(cstore: Services) -> None:
    number = await new_case(cstore)
    await cstore.cases.act(OFFICER_P1, number, Action.ACCEPT)  # 王干事 handles it now
    with pytest.raises(NotFound):
        await cstore.supervision.cohandle(LEADER_REF, number, "plant-2")  # out of scope
    cases = [(LEADER_P1, "plant-1", "cohandle_lead_unit"), (ADMIN, "no-such-unit", "cohandle_unknown_unit")]
    for actor, unit, code in cases:
        with pytest.raises(Refused) as refused:
            await cstore.supervision.cohandle(actor, number, unit)
        assert refused.value.code == code
    await cstore.supervision.cohandle(ADMIN, number, "plant-2")
    with pytest.raises(Refused) as again:
        await cstore.supervision.cohandle(LEADER_OIL, number, "plant-2")
    assert again.value.code == "cohandle_already"
    case, _ = await cstore.supervision.cohandle(OFFICER_P1, number, "Refining Company")  # an English name
    assert case.cohandlers == ["plant-2", "refinery"]


async def test_removing_a_co_handling_unit_and_transferring_to_it(cstore: Services) -> None:
    number = await new_case(cstore)
    await cstore.supervision.cohandle(LEADER_P1, number, "plant-2")
    await cstore.supervision.cohandle(LEADER_P1, number, "refinery")
    case, unit, added = await cstore.supervision.cohandle_text(LEADER_P1, number, "refinery off")
    assert (unit, added, case.cohandlers) == ("refinery", False, ["plant-2"])
    with pytest.raises(NotFound):
        await cstore.cases.case_for(OFFICER_REF, number)
    with pytest.raises(Refused) as gone:
        await cstore.supervision.cohandle_off(LEADER_P1, number, "refinery")
    assert gone.value.code == "cohandle_not"
    action, data = rows(cstore, "SELECT action, data FROM events WHERE action LIKE 'cohandle%' ORDER BY id")[-1]
    assert (action, json.loads(data)) == ("cohandle_off", {"unit": "refinery"})
    # Transferred to the co-handling unit: it leads now, and co-handles no more.
    moved = await cstore.cases.act(OFFICER_P1, number, Action.TRANSFER, unit="plant-2", body="属二厂管辖")
    assert (moved.unit, moved.cohandlers) == ("plant-2", [])
    assert rows(cstore, "SELECT count(*) FROM case_cohandlers") == [(0,)]
    with pytest.raises(NotFound):
        await cstore.cases.case_for(OFFICER_P1, number)  # plant-1 neither leads nor co-handles it now


async def test_a_co_handlers_progress_reaches_the_supervising_leader(cstore: Services) -> None:
    number = await new_case(cstore)
    await cstore.supervision.cohandle(OFFICER_P1, number, "plant-2")
    await cstore.supervision.supervise(LEADER_OIL, number, 7, "请主办、协办单位共同核实")
    ordered = [chat for chat, _ in await texts_of(cstore, "sv_order")]
    assert OFFICER_P2.id in ordered and OFFICER_P1.id in ordered  # the co-handlers get the order too
    await cstore.supervision.progress(OFFICER_P2, number, "二厂考勤记录已调取，加班属实")
    ((chat, text),) = await texts_of(cstore, "sv_progress")
    assert chat == LEADER_OIL.id
    assert text == f"📝 <b>办理进展</b>：李干事 报告信访事项 <code>{number}</code> 的办理进展：\n二厂考勤记录已调取，加班属实"
    assert rows(cstore, "SELECT progress_at IS NOT NULL FROM supervisions") == [(True,)]


async def test_co_handlers_are_reminded_and_warned_with_the_handler(cstore: Services, clock: FakeClock) -> None:
    number = await new_case(cstore)  # accept_due 2026-11-17
    await cstore.supervision.cohandle(OFFICER_P1, number, "plant-2")
    clock.set(at(date(2026, 11, 14)))  # three days before: a reminder; 80 % of 15 days used: 警告
    await cstore.review.sweep()
    reminded = rows(cstore, "SELECT chat_id FROM outbox WHERE kind = 'rv_remind' ORDER BY chat_id")
    assert [chat for (chat,) in reminded] == [OFFICER_P1.id, OFFICER_P2.id, RECUSED_P2.id]
    warned = rows(cstore, "SELECT chat_id FROM outbox WHERE kind = 'sv_warning' ORDER BY chat_id")
    assert [chat for (chat,) in warned] == [OFFICER_P1.id, OFFICER_P2.id, RECUSED_P2.id]
    # Not the third unit; and each notice renders for the co-handler.
    texts = dict(await texts_of(cstore, "sv_warning"))
    assert texts[uid(OFFICER_P2)].startswith(f"🟠 <b>警告</b>：信访事项 <code>{number}</code>（第一采油厂 · 工资福利）")


async def test_a_confidential_case_keeps_its_reporter_from_the_co_handlers(cstore: Services) -> None:
    number = (await cstore.cases.submit(petitioner(5001, "张三"), draft(category="misconduct"), "r")).case.number
    case = await cstore.cases.case_for(OFFICER_P1, number)
    assert case.confidential
    await cstore.supervision.cohandle(LEADER_P1, number, "plant-2", "请协助核实")
    # Of plant-2 only 李干事 is told: 孙干事 is recused from plant-1, so never sees the case, co-handled or not.
    told = await texts_of(cstore, "sv_cohandle")
    assert [chat for chat, _ in told] == [OFFICER_P2.id, OFFICER_P1.id]
    assert told[1][1] == f"🤝 张厂长 已请 第二采油厂 协办信访事项 <code>{number}</code>，主办单位仍为 第一采油厂。\n说明：请协助核实"
    with pytest.raises(NotFound):
        await cstore.cases.case_for(RECUSED_P2, number)
    assert await cstore.cases.open_cases_for(RECUSED_P2) == ([], 0)
    seen = await cstore.cases.case_for(OFFICER_P2, number)
    assert seen.petitioner_name is None and seen.pseudonym  # a code name only, as for the handlers
    card = "\n".join(case_card(seen, cstore.org, "zh", header=Html(""), attachments=0, cohandler=True))
    assert f"信访人：保密件-{seen.pseudonym}" in card and "张三" not in card
    with pytest.raises(Refused) as reveal:
        await cstore.cases.reveal(OFFICER_P2, number, "核实")
    assert reveal.value.code == "custodian_only"


async def test_another_officer_and_a_unit_where_nobody_may_see_it(backend: str, tmp_path: Path, clock: FakeClock) -> None:
    """An officer of the lead unit who is not handling the case may not name a co-handler; nor may anyone
    name a unit whose staff (up to the top) are all recused from a confidential case's unit."""
    toml = (ORG.replace('units = ["refinery"]\n[[staff]]', 'units = ["refinery"]\nrecuse_units = ["plant-1"]\n[[staff]]')
            .replace('units = ["hq"]\n', 'units = ["hq"]\nrecuse_units = ["plant-1"]\n')  # the refinery's chain up
            + '\n[[staff]]\ntelegram_id = 1005\nname = "钱干事"\nrole = "officer"\nunits = ["plant-1"]\n')
    org = parse_org(toml)
    members = [org.staff_member(i) for i in (1003, 3004, 3001)]
    assert all(m is not None and org.recused(m, "plant-1") for m in members)
    async with fresh_database(backend, tmp_path, "other.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        try:
            number = (await store.cases.submit(petitioner(5001), draft(), "a")).case.number
            await store.cases.act(OFFICER_P1, number, Action.ACCEPT)  # 王干事 handles it now
            with pytest.raises(Refused) as not_handler:
                await store.supervision.cohandle(Actor(id=1005, role=ActorRole.OFFICER), number, "plant-2")
            assert not_handler.value.code == "cohandle_who"
            report = (await store.cases.submit(petitioner(5002), draft(category="misconduct"), "r")).case.number
            with pytest.raises(Refused) as nobody:
                await store.supervision.cohandle(LEADER_P1, report, "refinery")
            assert nobody.value.code == "cohandle_nobody"
            case, _ = await store.supervision.cohandle(LEADER_P1, number, "refinery")  # not confidential: fine
            assert case.cohandlers == ["refinery"]
        finally:
            await store.close()


async def test_the_petitioner_never_reads_the_co_handling_unit(cstore: Services) -> None:
    number = await new_case(cstore)
    await cstore.supervision.cohandle(OFFICER_P1, number, "plant-2", "请协助核实考勤")
    await cstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    await cstore.cases.act(OFFICER_P2, number, Action.NOTE, body="第二采油厂已核实")
    await cstore.supervision.progress(OFFICER_P2, number, "第二采油厂考勤已调取")
    await cstore.cases.act(OFFICER_P1, number, Action.REPLY, body="您反映的情况正在核实。")
    await cstore.cases.act(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="予以补发加班费。")
    mine = [i for i in await cstore.outbox.pending_notifications(limit=1000) if i.chat_id == 5001]
    assert {i.kind for i in mine} >= {"petitioner_event", "rv_rate"}
    for item in mine:
        for message in await render(item, cstore):
            assert "第二采油厂" not in str(message.text) and "plant-2" not in str(message.text)
            assert "协办" not in str(message.text)
    own = await cstore.cases.case_for(employee(5001), number)
    events = await cstore.cases.timeline(own.id, public_only=True)
    assert "cohandle" not in {e.action for e in events} and "note" not in {e.action for e in events}


# --------------------------------------------------------- in Telegram


@pytest.fixture
async def capp(cstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(cstore, OfflineRequest()) as running:
        yield running


async def test_the_command_the_card_and_the_queue(capp: tuple[Application, OfflineRequest], cstore: Services) -> None:
    application, request = capp
    number = await new_case(cstore)
    await feed(application, Updates(OFFICER_P1.id).text("/cohandle"))
    assert request.texts_to(OFFICER_P1.id)[-1].startswith("用法：/cohandle 编号 单位 [说明]")
    await feed(application, Updates(OFFICER_P1.id).text(f"/cohandle {number} 第二采油厂 请核实考勤记录"))
    assert request.texts_to(OFFICER_P1.id)[-1] == (
        f"已请 第二采油厂 协办信访事项 <code>{number}</code>。协办单位可查看案卷、添加内部备注和报告办理进展；"
        "答复和办理意见仍由主办单位 第一采油厂 作出。")
    await feed(application, Updates(OFFICER_P1.id).text(f"/cohandle {number}"))  # the number alone: the tree
    assert request.texts_to(OFFICER_P1.id)[-1].startswith(f"请选择协办信访事项 <code>{number}</code> 的单位")
    await feed(application, Updates(OFFICER_REF.id).text(f"/cohandle {number} refinery"))
    assert request.texts_to(OFFICER_REF.id)[-1] == f"未找到编号为 {number} 的信访事项。请检查编号是否正确。"

    # The co-handler's card: both units named, marked 协办, only notes and progress offered.
    await feed(application, Updates(OFFICER_P2.id).text(f"/case {number}"))
    card = next(c for c in request.calls if c.method == "sendMessage" and c.params.get("chat_id") == OFFICER_P2.id
                and "🤝 协办单位：第二采油厂" in c.text)
    assert "🤝 <b>贵单位为协办单位</b>" in card.text and "第一采油厂" in card.text
    assert [label for label, _ in card.buttons()] == ["内部备注", "📝 报告进展"]
    # The lead unit's card names the co-handling unit too, without the mark.
    await feed(application, Updates(OFFICER_P1.id).text(f"/case {number}"))
    lead_card = next(c for c in reversed(request.calls) if c.params.get("chat_id") == OFFICER_P1.id
                     and "🤝 协办单位：第二采油厂" in c.text)
    assert "贵单位为协办单位" not in lead_card.text and ("受理", cb.St.ACCEPT.encode(number)) in lead_card.buttons()
    record = request.texts_to(OFFICER_P1.id)[-1]
    assert "<b>安排协办（集团总部 › 油田公司 › 第二采油厂）</b> · 王干事\n　请核实考勤记录" in record

    # Refused politely: answering; allowed: a note.
    await feed(application, Updates(OFFICER_P2.id).text(f"/accept {number}"))
    assert request.texts_to(OFFICER_P2.id)[-1] == (
        f"信访事项 <code>{number}</code> 由主办单位答复和办理。贵单位为协办单位，可添加内部备注（/note）和报告办理进展（/progress）。")
    await feed(application, Updates(OFFICER_P2.id, language_code="en").text(f"/decide {number} support 同意"))
    assert request.texts_to(OFFICER_P2.id)[-1].startswith(f"Petition <code>{number}</code> is answered and decided by its lead unit.")
    await feed(application, Updates(OFFICER_P2.id).text(f"/note {number} 考勤已调取"))
    assert "考勤已调取" in rows(cstore, "SELECT body FROM events WHERE action = 'note'")[0][0]
    # The queue marks it.
    await feed(application, Updates(OFFICER_P2.id).text("/queue"))
    assert f"🤝 协办 · <code>{number}</code>" in request.texts_to(OFFICER_P2.id)[-1]
    # The petitioner's own view names the lead unit's work only.
    await feed(application, Updates(5001).text(f"/status {number}"))
    status = "\n".join(request.texts_to(5001))
    assert number in status and "第二采油厂" not in status and "协办" not in status
    # Ended with "off".
    await feed(application, Updates(LEADER_P1.id).text(f"/cohandle {number} plant-2 off"))
    assert request.texts_to(LEADER_P1.id)[-1] == f"第二采油厂 已不再协办信访事项 <code>{number}</code>。"
    await feed(application, Updates(OFFICER_P2.id).text(f"/case {number}"))
    assert request.texts_to(OFFICER_P2.id)[-1] == f"未找到编号为 {number} 的信访事项。请检查编号是否正确。"


async def test_the_card_buttons_do_what_the_command_does(
    capp: tuple[Application, OfflineRequest], cstore: Services
) -> None:
    application, request = capp
    number = await new_case(cstore)
    user = Updates(OFFICER_P1.id)
    await feed(application, user.tap(cb.Sv.COHANDLE.encode(number)))
    menu = request.last_to(OFFICER_P1.id)
    assert menu.text.startswith(f"请选择协办信访事项 <code>{number}</code> 的单位")
    assert ("油田公司 ›", cb.Sv.COHANDLE_UNIT.encode(number, "oilfield")) in menu.buttons()
    await feed(application, user.tap(cb.Sv.COHANDLE_UNIT.encode(number, "oilfield")))
    opened = request.last_to(OFFICER_P1.id).buttons()
    assert ("第二采油厂", cb.Pr.COHANDLE.encode(number, "plant-2")) in opened
    assert all(data != cb.Pr.COHANDLE.encode(number, "plant-1") for _, data in opened)  # not the lead unit
    await feed(application, user.tap(cb.Pr.COHANDLE.encode(number, "plant-2")))
    assert request.last_to(OFFICER_P1.id).text.startswith("请写给协办单位的说明")
    await feed(application, user.text("请核实二厂考勤"))
    assert request.last_to(OFFICER_P1.id).text == f"已为信访事项 <code>{number}</code> 安排协办单位。"
    assert rows(cstore, "SELECT unit, note, added_by FROM case_cohandlers") == [
        ("plant-2", "请核实二厂考勤", OFFICER_P1.id)]  # as /cohandle <no> plant-2 请核实二厂考勤

    # Progress by the co-handler through its button: as /progress.
    co = Updates(OFFICER_P2.id)
    await feed(application, co.tap(cb.Pr.PROGRESS.encode(number)))
    assert request.last_to(OFFICER_P2.id).text == f"请写信访事项 <code>{number}</code> 的办理进展："
    await feed(application, co.text("考勤已调取"))
    assert request.last_to(OFFICER_P2.id).text == f"信访事项 <code>{number}</code> 的办理进展已报告并记录在案。"

    # Urge and take charge: one tap each, as /urge and /lead.
    leader = Updates(LEADER_OIL.id)
    await feed(application, leader.tap(cb.Sv.URGE.encode(number)))
    assert request.last_to(LEADER_OIL.id).text == f"已对信访事项 <code>{number}</code> 催办，并记录在案。"
    await feed(application, leader.tap(cb.Sv.LEAD.encode(number)))
    assert rows(cstore, "SELECT lead_id FROM cases") == [(LEADER_OIL.id,)]
    # Supervise: days, then the instruction; as /supervise <no> 7 <instruction>.
    await feed(application, Updates(3001).tap(cb.Sv.SUPERVISE.encode(number)))
    assert ("7 天", cb.Pr.SUPERVISE.encode(number, 7)) in request.last_to(3001).buttons()
    await feed(application, Updates(3001).tap(cb.Pr.SUPERVISE.encode(number, 7)))
    await feed(application, Updates(3001).text("请抓紧核实"))
    assert request.last_to(3001).text == f"已对信访事项 <code>{number}</code> 下达督办。"
    assert rows(cstore, "SELECT leader_id, instruction, due FROM supervisions") == [(3001, "请抓紧核实", "2026-11-09")]
    actions = [a for (a,) in rows(cstore, "SELECT action FROM events ORDER BY id")]
    assert actions == ["submit", "cohandle", "progress", "urge", "lead", "supervise"]
    # A button of a co-handler that is the lead unit's: refused like the command.
    await feed(application, co.tap(cb.Sv.COHANDLE.encode(number)))
    assert "由主办单位答复和办理" in request.last_to(OFFICER_P2.id).text
    # The lead unit's menu offers to end it; the tap does what "/cohandle <no> plant-2 off" does.
    await feed(application, user.tap(cb.Sv.COHANDLE.encode(number)))
    assert ("✖ 取消 第二采油厂 协办", cb.Sv.COHANDLE_OFF.encode(number, "plant-2")) in request.last_to(
        OFFICER_P1.id).buttons()
    await feed(application, user.tap(cb.Sv.COHANDLE_OFF.encode(number, "plant-2")))
    assert request.last_to(OFFICER_P1.id).text == f"第二采油厂 已不再协办信访事项 <code>{number}</code>。"
    assert rows(cstore, "SELECT cohandlers FROM cases") == [("[]",)]
    assert rows(cstore, "SELECT action FROM events ORDER BY id DESC LIMIT 1") == [("cohandle_off",)]


async def test_follow_up_and_redo_buttons(capp: tuple[Application, OfflineRequest], cstore: Services) -> None:
    application, request = capp
    number = await new_case(cstore)
    await cstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    await cstore.cases.act(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.REJECT, body="经核实，已按规定发放。")
    officer = Updates(OFFICER_P1.id)
    await feed(application, officer.tap(cb.Sv.FOLLOW_UP.encode(number)))
    assert ("电话回访", cb.Pr.FOLLOW_UP.encode(number, "phone")) in request.last_to(OFFICER_P1.id).buttons()
    await feed(application, officer.tap(cb.Pr.FOLLOW_UP.encode(number, "phone")))
    assert request.last_to(OFFICER_P1.id).text == f"请写电话回访的情况，信访事项 <code>{number}</code>："
    await feed(application, officer.text("信访人表示理解"))
    assert [(body, json.loads(data)) for body, data in rows(
        cstore, "SELECT body, data FROM events WHERE action = 'followup'")] == [("信访人表示理解", {"method": "phone"})]
    await cstore.review.rate(employee(5001), number, __import__("store.review", fromlist=["Rating"]).Rating.DISSATISFIED)
    # The leader's card offers 重办 now.
    await feed(application, Updates(LEADER_P1.id).text(f"/case {number}"))
    card = next(c for c in reversed(request.calls) if c.params.get("chat_id") == LEADER_P1.id and c.buttons())
    assert ("🔁 重办", cb.Pr.REDO.encode(number)) in card.buttons()
    await feed(application, Updates(LEADER_P1.id).tap(cb.Pr.REDO.encode(number)))
    await feed(application, Updates(LEADER_P1.id).text("未核实加班时长"))
    assert request.last_to(LEADER_P1.id).text == f"已责令重新办理信访事项 <code>{number}</code>。"
    assert rows(cstore, "SELECT status, handle_limit FROM cases") == [("in_progress", 30)]


def test_the_menus() -> None:
    assert "cohandle" in OFFICER_COMMANDS and "cohandle" in LEADER_COMMANDS


async def test_forged_or_old_buttons_change_nothing(capp: tuple[Application, OfflineRequest], cstore: Services) -> None:
    application, request = capp
    number = await new_case(cstore)
    officer = Updates(OFFICER_P1.id)
    for data in [f"sv:cu:{number}:no-such-unit", f"pr:chn:{number}:no-such-unit", f"pr:svi:{number}:99999",
                 f"pr:fui:{number}:fax", "sv:ur", f"sv:zz:{number}", f"sv:cx:{number}:plant-2"]:
        await feed(application, officer.tap(data))
    answers = [str(c.params.get("text", "")) for c in request.calls if c.method == "answerCallbackQuery"]
    sent = request.texts_to(OFFICER_P1.id)
    assert "该按钮已失效，请按最新一条消息操作。" in answers  # the malformed ones, in the tap's answer
    assert sent.count("该按钮已失效，请按最新一条消息操作。") == 4  # a unit, days or a way no prompt takes
    assert sent[-1] == "该单位没有协办此信访事项。"
    # A petitioner tapping a staff button is told it is for staff.
    await feed(application, Updates(5001).tap(cb.Sv.URGE.encode(number)))
    assert request.texts_to(5001)[-1] == "该命令仅供信访工作人员使用。"
    assert rows(cstore, "SELECT action FROM events ORDER BY id") == [("submit",)]
    assert rows(cstore, "SELECT count(*) FROM case_cohandlers") == [(0,)]
