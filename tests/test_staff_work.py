"""Officers' case work in detail: journal tampering, relayed replies, look-ups, menus, long texts."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from telegram import BotCommandScopeChat
from telegram.error import BadRequest

from bot import cli, commands
from handlers.i18n import t
from handlers.keyboards import staff_card
from handlers.notifications import render
from store.errors import NotFound, Refused
from store.models import Actor, ActorRole, Decision, Petitioner, Status
from store.opinion import DeclineGrounds
from store.org import Organization
from store.services import Services
from store.workflow import Action, available_actions
from tests.backends import fresh_database
from tests.conftest import OPINION_PARTS, draft, petitioner
from tests.offline import buttons_of

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)  # plant-1, wages
OILFIELD = Actor(id=1002, role=ActorRole.OFFICER)  # oilfield, recused from plant-2
LEADER = Actor(id=2001, role=ActorRole.LEADER)


async def new_case(store: Services, user_id: int = 5001, **fields: Any) -> str:
    return (await store.cases.submit(petitioner(user_id), draft(**fields), uuid.uuid4().hex)).case.number


# ------------------------------------------------------------------ journal


async def _journal_with_events(path: Path, org: Organization) -> int:
    store = await Services.open(path, org)
    number = await new_case(store)
    await store.cases.act(OFFICER, number, Action.ACCEPT)
    await store.cases.act(OFFICER, number, Action.NOTE, body="内部备注")
    await store.cases.act(OFFICER, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="处理意见")
    await store.close()
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]


def test_verify_journal_ok_then_tampered_event_is_named(
    tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    path = tmp_path / "j.db"
    total = asyncio.run(_journal_with_events(path, org))
    assert total == 4
    assert cli.main(["verify-journal", "--db", str(path)]) == 0
    assert f"OK: {total} events" in capsys.readouterr().out

    with sqlite3.connect(path) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET body = 'x' WHERE id = 3")
        conn.execute("DROP TRIGGER events_append_only_update")
        conn.execute("UPDATE events SET body = '改过的备注' WHERE id = 3")
    assert cli.main(["verify-journal", "--db", str(path)]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at event 3" in err and "2 events before it are intact" in err


def test_verify_journal_names_the_event_after_a_deleted_one(
    tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    path = tmp_path / "j.db"
    asyncio.run(_journal_with_events(path, org))
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER events_append_only_delete")
        conn.execute("DELETE FROM events WHERE id = 2")
    assert cli.main(["verify-journal", "--db", str(path)]) == 1
    assert "BROKEN at event 3: previous hash does not match" in capsys.readouterr().err


# ------------------------------------------------------------------ relaying


async def test_relay_both_ways_once_per_message(store: Services) -> None:
    number = await new_case(store)
    case = await store.cases.case_for(OFFICER, number)
    await store.staff_work.remember_messages(1001, [10], case.id)  # the card in the officer's chat
    await store.staff_work.remember_messages(5001, [20], case.id)  # a notice in the petitioner's chat

    relayed = await store.staff_work.relay_reply(1001, 1001, 10, 11, "请补充材料", None)
    assert relayed is not None and relayed.to_petitioner and not relayed.duplicate
    again = await store.staff_work.relay_reply(1001, 1001, 10, 11, "请补充材料", None)  # a redelivered update
    assert again is not None and again.duplicate

    photo = {"kind": "photo", "file_id": "P1", "file_unique_id": "p1", "size": 10}
    back = await store.staff_work.relay_reply(5001, 5001, 20, 21, "工资条见图", [photo])
    assert back is not None and not back.to_petitioner
    events = await store.cases.timeline(case.id, public_only=False)
    assert [(e.action, e.body) for e in events] == [
        ("submit", None), ("reply", "请补充材料"), ("add_info", "工资条见图")]
    assert [a.file_id for a in await store.cases.attachments(case.id)] == ["P1"]
    async with store.db.read() as conn:
        async with conn.execute("SELECT chat_id, kind FROM outbox ORDER BY id") as cur:
            queued = [tuple(r) async for r in cur]
    assert queued == [(1001, "case_card"), (5001, "petitioner_event"), (1001, "staff_event")]

    assert await store.staff_work.relay_reply(1001, 1001, 999, 30, "不是案卷消息", None) is None
    assert await store.staff_work.relay_reply(1001, 1001, 11, 31, "回复自己的消息", None) is None
    with pytest.raises(Refused, match="reply_text_only"):
        await store.staff_work.relay_reply(1001, 1001, 10, 32, None, [photo])


async def test_relay_from_a_stranger_or_on_a_closed_case(store: Services) -> None:
    number = await new_case(store)
    case = await store.cases.case_for(OFFICER, number)
    await store.staff_work.remember_messages(5002, [40], case.id)  # cannot happen, but must not help a stranger
    with pytest.raises(NotFound):
        await store.staff_work.relay_reply(5002, 5002, 40, 41, "hi", None)
    await store.staff_work.remember_messages(5001, [50], case.id)
    await store.cases.act(OFFICER, number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不属于受理范围")
    with pytest.raises(Refused, match="wrong_status"):
        await store.staff_work.relay_reply(5001, 5001, 50, 51, "为什么？", None)


# ------------------------------------------------------------------ look-ups


async def test_staff_and_units_by_name_or_id(store: Services) -> None:
    assert [s.telegram_id for s in store.staff_work.find_staff("李科长")] == [1002]
    assert [s.telegram_id for s in store.staff_work.find_staff("2001")] == [2001]
    assert store.staff_work.find_staff("9999") == [] and store.staff_work.find_staff("nobody") == []
    units, rest = store.staff_work.split_unit("No. 2 Oil Production Plant  the matter\narose there")
    assert [u.id for u in units] == ["plant-2"] and rest == "the matter\narose there"
    units, rest = store.staff_work.split_unit("第一采油厂 属地管理")
    assert [u.id for u in units] == ["plant-1"] and rest == "属地管理"
    units, rest = store.staff_work.split_unit("refinery")
    assert [u.id for u in units] == ["refinery"] and rest == ""
    assert store.staff_work.split_unit("火星基地 理由") == ([], "火星基地 理由")


async def test_assign_and_transfer_by_typed_names(store: Services) -> None:
    number = await new_case(store)
    case = await store.staff_work.assign_to(OFFICER, number, "李科长")
    assert case.assignee_id == 1002
    with pytest.raises(Refused, match="unknown_staff"):
        await store.staff_work.assign_to(OFFICER, number, "无名氏")
    with pytest.raises(NotFound):  # scope first: an unknown name does not reveal the case
        await store.staff_work.assign_to(Actor(id=1003, role=ActorRole.OFFICER), number, "无名氏")
    moved = await store.staff_work.transfer_to(OFFICER, number, "No. 2 Oil Production Plant wrong place")
    assert moved.unit == "plant-2" and moved.assignee_id is None and moved.status is Status.SUBMITTED
    with pytest.raises(Refused, match="unknown_unit"):
        await store.staff_work.transfer_to(LEADER, number, "火星基地 理由")


async def test_assigning_oneself_sends_no_card_to_oneself(store: Services) -> None:
    number = await new_case(store)
    await store.cases.act(OFFICER, number, Action.ASSIGN, assignee_id=1001)
    await store.cases.act(OFFICER, number, Action.ASSIGN, assignee_id=2001)
    pending = await store.outbox.pending_notifications()
    assert [(p.chat_id, p.kind) for p in pending] == [(1001, "case_card"), (2001, "case_card")]


async def test_check_action_refuses_before_typing(store: Services, org: Organization) -> None:
    number = await new_case(store)
    with pytest.raises(Refused, match="wrong_status"):
        await store.staff_work.check_action(OFFICER, number, Action.DECIDE)  # not accepted yet
    await store.cases.act(OFFICER, number, Action.ACCEPT)
    assert (await store.staff_work.check_action(OFFICER, number, Action.DECIDE)).number == number
    with pytest.raises(NotFound):
        await store.staff_work.check_action(Actor(id=5002, role=ActorRole.PETITIONER), number, Action.DECIDE)


async def test_canned_reply_in_the_petitioners_language(backend: str, tmp_path: Path, org: Organization) -> None:
    async with fresh_database(backend, tmp_path, "c.db", migrated=True) as target:
        from store.org import parse_org

        text = (Path(__file__).with_name("org_fixture.toml")).read_text(encoding="utf-8")
        text += '\n[[canned_replies]]\nid = "ok"\ntext = { zh = "已收悉。", en = "Received." }\n'
        store = await Services.open(target, parse_org(text))
        try:
            number = (await store.cases.submit(Petitioner(id=5002, name="Li", language="en"), draft(), "k")).case.number
            case, reply = await store.staff_work.canned_text(OFFICER, number, "ok")
            assert reply == "Received."
            await store.cases.set_language(5002, "zh")
            assert (await store.staff_work.canned_text(OFFICER, number, "ok"))[1] == "已收悉。"
            with pytest.raises(Refused, match="unknown_canned"):
                await store.staff_work.canned_text(OFFICER, number, "nope")
            sent = await store.staff_work.reply_canned(OFFICER, number, "ok")
            events = await store.cases.timeline(sent.id, public_only=True)
            assert events[-1].action == "reply" and events[-1].body == "已收悉。"
        finally:
            await store.close()


# ------------------------------------------------------------------ rendering


def test_card_buttons_follow_the_status() -> None:
    def labels(status: Status, canned: bool = False) -> list[tuple[str, str]]:
        markup = staff_card("zh", "XF-2026-000001", available_actions(status, ActorRole.OFFICER), canned=canned)
        return buttons_of(markup)

    assert [label for label, _ in labels(Status.SUBMITTED)] == [
        "受理", "不予受理", "由我办理", "分派", "回复信访人", "内部备注", "转交", "📝 报告进展", "🤝 协办"]
    assert [label for label, _ in labels(Status.ACCEPTED)] == [
        "由我办理", "分派", "回复信访人", "内部备注", "延期", "出具处理意见", "转交", "📝 报告进展", "🤝 协办"]
    assert labels(Status.DECIDED) == [("内部备注", "pr:nt:XF-2026-000001"), ("📞 回访", "sv:fu:XF-2026-000001")]
    assert ("回复信访人", "sf:rp:XF-2026-000001") in labels(Status.ACCEPTED, canned=True)
    assert ("回复信访人", "pr:rep:XF-2026-000001") in labels(Status.ACCEPTED)
    assert available_actions(Status.ACCEPTED, ActorRole.PETITIONER) == {Action.WITHDRAW, Action.ADD_INFO}
    assert staff_card("zh", "X", frozenset()) is None


async def test_long_replies_and_opinions_are_split_for_telegram(store: Services) -> None:
    number = await new_case(store)
    await store.cases.act(OFFICER, number, Action.ACCEPT)
    long_text = "\n".join(f"第{i}条：" + "依据《信访工作条例》" * 9 + " <&>" for i in range(60))
    assert len(long_text) > 5000
    await store.cases.act(OFFICER, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.EXPLAIN, body=long_text)
    item = [p for p in await store.outbox.pending_notifications() if p.chat_id == 5001 and p.kind == "petitioner_event"][-1]
    messages = await render(item, store)
    assert len(messages) >= 2
    plain = []
    for message in messages:
        assert message.text is not None and len(message.text) <= 4096
        plain.append(message.text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert "解释说明" in plain[0] and "（续 2）" in plain[1]
    for i in range(60):
        assert any(f"第{i}条：" in p for p in plain)


async def test_relayed_petitioner_text_carries_the_hint(store: Services) -> None:
    number = await new_case(store)
    await store.cases.add_info(Actor(id=5001, role=ActorRole.PETITIONER), number, "补充：<b>三天</b>")
    item = [p for p in await store.outbox.pending_notifications() if p.kind == "staff_event"][0]
    (message,) = await render(item, store)
    assert message.text is not None
    assert "补充：&lt;b&gt;三天&lt;/b&gt;" in message.text and t("zh", "relay.hint_staff") in message.text


# ------------------------------------------------------------------ menus


class MenuBot:
    """Records set_my_commands; refuses chat menus for the ids in ``unreachable``."""

    def __init__(self, unreachable: set[int]) -> None:
        self.unreachable = unreachable
        self.menus: dict[tuple[str, str | None], list[tuple[str, str]]] = {}

    async def set_my_commands(self, cmds: list, scope: Any = None, language_code: str | None = None) -> bool:
        if isinstance(scope, BotCommandScopeChat) and scope.chat_id in self.unreachable:
            raise BadRequest("Chat not found")
        key = (f"chat:{scope.chat_id}" if scope else "default", language_code)
        self.menus[key] = [(c.command, c.description) for c in cmds]
        return True


async def test_menus_per_language_and_per_staff_member(
    store: Services, caplog: pytest.LogCaptureFixture
) -> None:
    await store.cases.set_language(1002, "en")
    bot = MenuBot(unreachable={2001})
    application = SimpleNamespace(bot=bot, bot_data={})
    with caplog.at_level(logging.INFO, logger="bot.commands"):
        await commands.setup(application, store.cases)  # type: ignore[arg-type]
    zh = bot.menus[("default", None)]
    assert [c for c, _ in zh] == ["start", "new", "mycases", "app", "status", "document", "reception", "claim", "verify",
                                  "language", "cancel", "help"]
    assert dict(zh)["new"] == "提交信访事项" and dict(bot.menus[("default", "en")])["new"] == "Submit a petition"
    assert dict(bot.menus[("chat:1001", None)])["decide"].startswith("处理意见")
    assert dict(bot.menus[("chat:1002", None)])["decide"].startswith("Written opinion")
    assert "stats" not in dict(bot.menus[("chat:1001", None)])  # officers: case work only
    assert {"alerts", "stats", "reception_add", "staff"} <= set(dict(bot.menus[("chat:9001", None)]))  # admins: more
    assert "staff" not in dict(bot.menus[("chat:1001", None)])
    assert ("chat:2001", None) not in bot.menus
    # Logged (without the Telegram id), and the other menus were still set.
    assert "staff command menu is not set yet" in caplog.text and "2001" not in caplog.text
    assert application.bot_data[commands.STATE_KEY] == {1001: "zh:officer:0", 1002: "en:officer:0", 9001: "zh:admin:0"}


async def test_menu_setup_never_raises(store: Services, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        async def set_my_commands(self, *args: Any, **kwargs: Any) -> bool:
            raise RuntimeError("network down")

    with caplog.at_level(logging.ERROR, logger="bot.commands"):
        await commands.setup(SimpleNamespace(bot=Broken(), bot_data={}), store.cases)  # type: ignore[arg-type]
    assert "could not set the command menus" in caplog.text


def test_menu_descriptions_fit_telegram() -> None:
    for lang in ("zh", "en"):
        for name in {*commands.PETITIONER_COMMANDS, *commands.OFFICER_COMMANDS, *commands.LEADER_COMMANDS}:
            description = t(lang, f"menu.{name}")
            assert 1 <= len(description) <= 256 and "<" not in description and "&" not in description



async def test_assigning_the_current_assignee_again_changes_nothing(store: Services) -> None:
    number = await new_case(store)
    await store.cases.act(OFFICER, number, Action.ACCEPT)  # the one who accepts holds the case
    with pytest.raises(Refused, match="already_assignee"):
        await store.cases.act(OFFICER, number, Action.ASSIGN, assignee_id=1001)  # a second tap on "I'll handle it"
    case = await store.cases.case_for(OFFICER, number)
    assert [e.action for e in await store.cases.timeline(case.id, public_only=False)] == ["submit", "accept"]
