"""Authorization: roles × actions × cases, at the store and through the handlers.

The expected visibility is written out by hand below (not derived from the
routing code it checks). Every allowed combination succeeds on a fresh case;
every forbidden one is refused and leaves the database byte-for-byte as it was.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from telegram.ext import Application

from handlers.common import error_text
from handlers.i18n import t
from store.errors import NotFound, Refused, StoreError
from store.models import Actor, ActorRole, Decision, DraftData, Petitioner, Status
from store.opinion import DeclineGrounds
from store.org import Organization, parse_org
from store.services import Services
from store.workflow import Action
from tests.conftest import OPINION_PARTS
from tests.offline import OfflineRequest, Updates, feed

ORG = """
[organization]
name = "测试石油"
case_prefix = "XF"

[limits]
submissions_per_day = 1000
messages_per_minute = 10000  # the matrix sends hundreds of commands at once

[[units]]
id = "hq"
name = { zh = "集团总部", en = "Headquarters" }

[[units]]
id = "oilfield"
parent = "hq"
name = { zh = "油田公司", en = "Oilfield Company" }

[[units]]
id = "plant-1"
parent = "oilfield"
name = { zh = "第一采油厂", en = "No. 1 Oil Production Plant" }

[[units]]
id = "plant-2"
parent = "oilfield"
name = { zh = "第二采油厂", en = "No. 2 Oil Production Plant" }

[[units]]
id = "refinery"
parent = "hq"
name = { zh = "炼化公司", en = "Refining Company" }

[[categories]]
id = "wages"
name = { zh = "工资福利", en = "Wages and benefits" }
kind = "claim"

[[categories]]
id = "misconduct"
name = { zh = "违纪违法举报", en = "Misconduct report" }
kind = "report"

[[staff]]
telegram_id = 1001
name = "一厂干事"
role = "officer"
units = ["plant-1"]
categories = ["wages"]

[[staff]]
telegram_id = 1002
name = "油田干事"
role = "officer"
units = ["oilfield"]
recuse_units = ["plant-2"]

[[staff]]
telegram_id = 1003
name = "炼化干事"
role = "officer"
units = ["refinery"]

[[staff]]
telegram_id = 2001
name = "油田领导"
role = "leader"
units = ["oilfield"]

[[staff]]
telegram_id = 9001
name = "管理员"
role = "admin"

[[canned_replies]]
id = "received"
text = "已收悉。"
"""

OWNER, STRANGER = 5001, 5002
ACTORS = {
    "officer_plant1": Actor(id=1001, role=ActorRole.OFFICER),
    "officer_oilfield_recused": Actor(id=1002, role=ActorRole.OFFICER),
    "officer_refinery": Actor(id=1003, role=ActorRole.OFFICER),
    "leader_oilfield": Actor(id=2001, role=ActorRole.LEADER),
    "admin": Actor(id=9001, role=ActorRole.ADMIN),
    "petitioner_owner": Actor(id=OWNER, role=ActorRole.PETITIONER),
    "petitioner_stranger": Actor(id=STRANGER, role=ActorRole.PETITIONER),
}
# The cases: (category, unit). "confidential" is a report about plant-2, where 1002 is recused.
CASES = {
    "in_scope": ("wages", "plant-1"),
    "out_of_scope": ("wages", "refinery"),
    "confidential": ("misconduct", "plant-2"),
}
# Who may work on which case, by hand.
STAFF_SEES = {
    "officer_plant1": {"in_scope"},
    "officer_oilfield_recused": {"in_scope"},
    "officer_refinery": {"out_of_scope"},
    "leader_oilfield": {"in_scope", "confidential"},
    "admin": {"in_scope", "out_of_scope", "confidential"},
    "petitioner_owner": set(),
    "petitioner_stranger": set(),
}
NONEXISTENT = "XF-2026-999999"
NEEDS_ACCEPTED = {Action.EXTEND, Action.DECIDE}
ASSIGN_TO = {"in_scope": 2001, "out_of_scope": 9001, "confidential": 2001}
TRANSFER_TO = {"in_scope": "plant-2", "out_of_scope": "plant-1", "confidential": "plant-1"}
STAFF_ACTIONS = [Action.ACCEPT, Action.DECLINE, Action.ASSIGN, Action.REPLY, Action.NOTE,
                 Action.EXTEND, Action.DECIDE, Action.TRANSFER]
ADMIN = ACTORS["admin"]


@pytest.fixture
def org() -> Organization:
    return parse_org(ORG)


async def file(store: Services, kind: str, accepted: bool = False) -> str:
    category, unit = CASES[kind]
    draft = DraftData(category=category, unit=unit, subject="事由", details="详情")
    case = (await store.cases.submit(Petitioner(id=OWNER, name="张三", language="zh"), draft, uuid.uuid4().hex)).case
    if accepted:
        await store.cases.act(ADMIN, case.number, Action.ACCEPT)
    return case.number


def kwargs_for(action: Action, kind: str) -> dict[str, Any]:
    table: dict[Action, dict[str, Any]] = {
        Action.DECLINE: {"body": "理由", "grounds": DeclineGrounds(reason="other")},
        Action.ASSIGN: {"assignee_id": ASSIGN_TO.get(kind, 2001)},
        Action.REPLY: {"body": "答复"},
        Action.NOTE: {"body": "备注"},
        Action.EXTEND: {"days": 10, "body": "理由"},
        Action.DECIDE: {"decision": Decision.SUPPORT, "body": "处理意见", "parts": OPINION_PARTS},
        Action.TRANSFER: {"unit": TRANSFER_TO.get(kind, "plant-2"), "body": "理由"},
    }
    return table.get(action, {})


async def snapshot(store: Services) -> dict[str, list[tuple]]:
    tables = ("cases", "events", "outbox", "attachments", "case_messages", "conversations")
    out = {}
    async with store.db.read() as conn:
        for table in tables:
            async with conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2") as cur:
                out[table] = [tuple(row) async for row in cur]
    return out


@pytest.mark.parametrize("action", STAFF_ACTIONS, ids=lambda a: a.value)
async def test_roles_by_cases_for_every_staff_action(store: Services, action: Action) -> None:
    accepted = action in NEEDS_ACCEPTED
    shared = {kind: await file(store, kind, accepted) for kind in CASES}
    checked = 0
    for (name, actor), kind in itertools.product(ACTORS.items(), [*CASES, "nonexistent"]):
        allowed = kind in STAFF_SEES[name]
        if allowed:  # a fresh case each time, so every success starts from the same state
            number = await file(store, kind, accepted)
            events_before = len(await store.cases.timeline((await store.cases.case_for(ADMIN, number)).id, public_only=False))
            case = await store.cases.act(actor, number, action, **kwargs_for(action, kind))
            events = await store.cases.timeline(case.id, public_only=False)
            assert len(events) == events_before + 1 and events[-1].action == action.value
            assert events[-1].actor_id == actor.id, (name, kind)
        else:
            number = shared.get(kind, NONEXISTENT)
            before = await snapshot(store)
            with pytest.raises(StoreError) as refused:
                await store.cases.act(actor, number, action, **kwargs_for(action, kind))
            assert await snapshot(store) == before, (name, kind)
            if name == "petitioner_owner" and kind != "nonexistent":
                # The owner may see their case, but staff actions are not theirs to take.
                assert isinstance(refused.value, Refused) and refused.value.code == "forbidden"
            else:
                # Out of scope, confidential or absent: one and the same answer.
                assert type(refused.value) is NotFound and refused.value.params == {"number": number}
        checked += 1
    assert checked == len(ACTORS) * 4


@pytest.mark.parametrize("kind", [*CASES, "nonexistent"])
async def test_viewing_a_case_follows_the_same_scope(store: Services, kind: str) -> None:
    number = await file(store, kind) if kind in CASES else NONEXISTENT
    for name, actor in ACTORS.items():
        may = kind in STAFF_SEES[name] or (name == "petitioner_owner" and kind in CASES)
        if may:
            assert (await store.cases.case_for(actor, number)).number == number
        else:
            with pytest.raises(NotFound):
                await store.cases.case_for(actor, number)
        queue, _ = await store.cases.open_cases_for(actor, 0, 50)
        assert (number in [c.number for c in queue]) == (kind in STAFF_SEES[name]), (name, kind)


async def test_illegal_transitions_are_refused_and_change_nothing(store: Services) -> None:
    number = await file(store, "in_scope")
    officer = ACTORS["officer_plant1"]
    await store.cases.act(officer, number, Action.ACCEPT)
    cases: list[tuple[Action, dict[str, Any], str]] = [
        (Action.ACCEPT, {}, "wrong_status"),  # accepting twice
        (Action.DECLINE, {"body": "x", "grounds": DeclineGrounds(reason="other")}, "wrong_status"),
        (Action.EXTEND, {"days": 0, "body": "x"}, "extension_days"),
        (Action.EXTEND, {"days": 31, "body": "x"}, "extension_days"),
        (Action.EXTEND, {"days": 5, "body": "  "}, "reason_required"),
        (Action.DECIDE, {"body": "x"}, "decision_required"),
        (Action.DECIDE, {"decision": Decision.EXPLAIN, "body": " "}, "opinion_required"),
        (Action.TRANSFER, {"unit": "plant-1", "body": "x"}, "same_unit"),
        (Action.TRANSFER, {"unit": "nowhere", "body": "x"}, "unknown_unit"),
        (Action.TRANSFER, {"unit": "plant-2", "body": ""}, "reason_required"),
        (Action.ASSIGN, {"assignee_id": 1003}, "assignee_out_of_scope"),
        (Action.ASSIGN, {"assignee_id": 4242}, "assignee_out_of_scope"),
        (Action.REPLY, {"body": ""}, "text_required"),
    ]
    for action, kwargs, code in cases:
        before = await snapshot(store)
        with pytest.raises(Refused) as refused:
            await store.cases.act(officer, number, action, **kwargs)
        assert refused.value.code == code, action
        assert await snapshot(store) == before
    await store.cases.act(officer, number, Action.EXTEND, days=5, body="理由")
    before = await snapshot(store)
    with pytest.raises(Refused, match="already_extended"):
        await store.cases.act(officer, number, Action.EXTEND, days=5, body="理由")
    with pytest.raises(Refused, match="already_extended"):
        await store.staff_work.check_action(officer, number, Action.EXTEND)
    await store.cases.act(officer, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.REJECT, body="意见")
    for action in (Action.DECIDE, Action.EXTEND, Action.REPLY, Action.TRANSFER, Action.ASSIGN):
        before = await snapshot(store)
        with pytest.raises(Refused) as refused:
            await store.cases.act(officer, number, action, **kwargs_for(action, "in_scope"))
        assert refused.value.code == "wrong_status" and refused.value.params == {"status": "decided"}
        assert await snapshot(store) == before
    withdrawn = await file(store, "in_scope")
    await store.cases.act(ACTORS["petitioner_owner"], withdrawn, Action.WITHDRAW)
    with pytest.raises(Refused, match="wrong_status"):
        await store.cases.act(officer, withdrawn, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="x")
    assert (await store.cases.case_for(officer, withdrawn)).status is Status.WITHDRAWN


# ------------------------------------------------------------ through the handlers



COMMANDS = [
    "/accept {n}", "/decline {n} 理由", "/assign {n} 油田领导", "/reply {n} 答复", "/note {n} 备注",
    "/extend {n} 10 理由", "/decide {n} support 意见", "/transfer {n} plant-2 理由", "/case {n}",
    "/assign {n}", "/reply {n}", "/extend {n}", "/decide {n}", "/transfer {n}",
]
BUTTONS = [
    "st:acc:{n}", "st:me:{n}", "st:open:{n}", "sf:as:{n}", "sf:ap:{n}:2001", "sf:rp:{n}", "sf:cr:{n}:received",
    "sf:cs:{n}:received", "sf:ex:{n}", "sf:dc:{n}", "sf:tr:{n}", "sf:tu:{n}:oilfield",
    "pr:dec:{n}", "pr:rep:{n}", "pr:nt:{n}", "pr:ext:{n}:10", "pr:dcs:{n}:support", "pr:tr:{n}:plant-2",
]



def replies(request: OfflineRequest, chat_id: int, since: int) -> list[str]:
    return [c.text for c in request.calls[since:]
            if c.method in ("sendMessage", "editMessageText") and int(c.params.get("chat_id", 0)) == chat_id]


async def test_non_staff_commands_and_buttons_are_refused_and_change_nothing(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    numbers = [await file(store, kind) for kind in CASES] + [NONEXISTENT]
    not_staff = t("zh", "staff.not_staff")
    for user_id in (OWNER, STRANGER):
        user = Updates(user_id)
        for template, number in itertools.product(COMMANDS, numbers):
            before, since = await snapshot(store), len(request.calls)
            await feed(application, user.text(template.format(n=number)))
            assert replies(request, user_id, since) == [not_staff], template
            assert await snapshot(store) == before
        for template, number in itertools.product(BUTTONS, numbers):
            before, since = await snapshot(store), len(request.calls)
            await feed(application, user.tap(template.format(n=number)))
            assert replies(request, user_id, since) == [not_staff], template
            # A forged prompt button must not make the next text perform anything.
            await feed(application, user.text("随便写的文字"))
            assert await snapshot(store) == before, template


async def test_out_of_scope_answers_exactly_like_nonexistent(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    hidden = {
        1003: await file(store, "in_scope"),  # a refinery officer and a plant-1 case
        1001: await file(store, "out_of_scope"),
        1002: await file(store, "confidential"),  # recused from plant-2
    }
    for staff_id, number in hidden.items():
        officer = Updates(staff_id)
        for template in [*COMMANDS, *BUTTONS]:
            answers = []
            for target in (number, NONEXISTENT):
                before, since = await snapshot(store), len(request.calls)
                raw = officer.text(template.format(n=target)) if template.startswith("/") else officer.tap(
                    template.format(n=target))
                await feed(application, raw)
                got = replies(request, staff_id, since)
                assert await snapshot(store) == before, (staff_id, template)
                answers.append([text.replace(target, "NUMBER") for text in got])
            assert answers[0] == answers[1], (staff_id, template)
            expected = error_text("zh", NotFound(number="NUMBER"))
            assert answers[0] == [expected], (staff_id, template, answers[0])


async def test_relayed_reply_to_a_case_no_longer_in_scope_answers_not_found(store: Services) -> None:
    number = await file(store, "in_scope")
    case = await store.cases.case_for(ADMIN, number)
    await store.staff_work.remember_messages(1001, [77], case.id)
    await store.cases.act(ACTORS["officer_plant1"], number, Action.TRANSFER, unit="plant-2", body="属地")
    before = await snapshot(store)
    with pytest.raises(NotFound):
        await store.staff_work.relay_reply(1001, 1001, 77, 78, "还在吗", None)
    assert await snapshot(store) == before
    # A petitioner replying in a chat where that message does not exist relays nothing.
    assert await store.staff_work.relay_reply(STRANGER, STRANGER, 77, 79, "hi", None) is None


async def test_bad_input_gets_a_usage_hint_and_group_chats_are_refused(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    number = await file(store, "in_scope")
    officer = Updates(1001)
    expected = {
        "/accept": "staff.usage_accept",
        "/decline": "staff.usage_decline",
        "/assign": "work.usage_assign",
        "/reply": "work.usage_reply",
        "/note " + number: "work.usage_note",
        f"/extend {number} 十 理由": "work.usage_extend",
        f"/extend {number} 10": "work.usage_extend",
        f"/decide {number} maybe 意见": "work.usage_decide",
        f"/decide {number} support": "work.usage_decide",
        "/transfer": "work.usage_transfer",
        "/case": "staff.usage_case",
    }
    for command, key in expected.items():
        before, since = await snapshot(store), len(request.calls)
        await feed(application, officer.text(command))
        assert replies(request, 1001, since) == [t("zh", key, limit=30)], command
        assert await snapshot(store) == before

    raw = officer.text(f"/accept {number}")
    raw["message"]["chat"] = {"id": -1001234567890, "type": "supergroup", "title": "信访工作群"}
    before, since = await snapshot(store), len(request.calls)
    await feed(application, raw)
    assert replies(request, -1001234567890, since) == [t("zh", "common.private_only")]
    assert await snapshot(store) == before
