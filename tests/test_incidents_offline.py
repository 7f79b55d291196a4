"""The group-incident plan in chat: commands, checklist buttons, refusals, drills in /stats and /export.

Organisation: tests/org_fixture.toml (plan: 1 ≥ 100 → admin 9001; 2 ≥ 50 → leader 2001 and officer 1002;
3 ≥ 20 → officer 1001).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from telegram.ext import Application

from bot.commands import LEADER_COMMANDS, OFFICER_COMMANDS, PETITIONER_COMMANDS
from store.services import Services
from tests.conftest import rows
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.test_incidents import collective  # a collective visit, counted by staff

App = tuple[Application, OfflineRequest]
LEADER, OFFICER_OIL, OFFICER_P1, ADMIN = 2001, 1002, 1001, 9001




def incident_ids(store: Services, drill: bool) -> list[int]:
    return [i for (i,) in rows(store, "SELECT id FROM incidents WHERE is_drill = ? ORDER BY id", drill)]


async def test_the_checklist_ticks_by_button_and_the_message_shows_it(app: App, store: Services) -> None:
    application, request = app
    await collective(store)
    (incident,) = incident_ids(store, drill=False)
    await feed(application, Updates(OFFICER_OIL).text(f"/incident {incident}"))
    shown = request.last_to(OFFICER_OIL)
    assert "⬜ 1. 分管领导赶赴现场" in shown.text
    assert shown.buttons()[0] == ("⬜ 1. 分管领导赶赴现场", f"ic:t:{incident}:2:1")
    await feed(application, Updates(OFFICER_OIL).tap(f"ic:t:{incident}:2:1"))
    edited = request.last_to(OFFICER_OIL)
    assert edited.method == "editMessageText"
    assert "✅ 1. 分管领导赶赴现场 — 李科长 2026-11-02 09:00" in edited.text
    assert "处置清单（已完成 1/3" in edited.text
    assert [data for _, data in edited.buttons()] == [f"ic:t:{incident}:2:2", f"ic:t:{incident}:2:3",
                                                     f"ic:v:{incident}"]
    answers = [c for c in request.calls if c.method == "answerCallbackQuery"]
    assert answers[-1].params.get("text") == "已勾选第 1 步。"
    # A step with a note, by command; journaled with it.
    await feed(application, Updates(LEADER).text(f"/incident {incident} step 2 已与5名代表座谈"))
    assert "✅ 2. 与群众代表对话 — 赵总 2026-11-02 09:00（已与5名代表座谈）" in request.last_to(LEADER).text
    assert rows(store, "SELECT action, actor_id, body FROM incident_events ORDER BY id") == [
        ("open", None, None), ("tick", OFFICER_OIL, None), ("tick", LEADER, "已与5名代表座谈")]


async def test_raising_by_button_tells_the_next_group(app: App, store: Services) -> None:
    application, request = app
    await collective(store)
    (incident,) = incident_ids(store, drill=False)
    await feed(application, Updates(OFFICER_OIL).tap(f"ic:up:{incident}:1"))  # an officer: refused politely
    answer = [c for c in request.calls if c.method == "answerCallbackQuery"][-1]
    assert answer.params.get("text") == "启动、调整级别和结束处置须由领导或管理员进行。"
    # The raise button is offered by the store's rule (IncidentService.may_raise): the leader, not the officer.
    await feed(application, Updates(LEADER).text(f"/incident {incident}"))
    assert ("⬆️ 升级为一级（重大）", f"ic:up:{incident}:1") in request.last_to(LEADER).buttons()
    await feed(application, Updates(OFFICER_OIL).text(f"/incident {incident}"))
    assert not any(data.startswith("ic:up:") for _, data in request.last_to(OFFICER_OIL).buttons())
    await feed(application, Updates(LEADER).tap(f"ic:up:{incident}:1"))
    assert "🚨 <b>群体性事件 · 一级（重大）</b>" in request.last_to(LEADER).text
    assert rows(store, "SELECT chat_id FROM outbox WHERE kind = 'ic_raised'") == [(ADMIN,)]
    await feed(application, Updates(LEADER).text(f"/incident {incident} level 2"))
    assert request.last_to(LEADER).text.startswith(f"事件 #{incident} 已调整为二级（较大）。")
    assert rows(store, "SELECT from_level, to_level, changed_by FROM incident_level_changes ORDER BY id") == [
        (2, 1, LEADER), (1, 2, LEADER)]


async def test_declaring_closing_and_refusals(app: App, store: Services) -> None:
    application, request = app
    number = await collective(store, people=8)  # a collective petition below every level: nothing opens
    assert incident_ids(store, drill=False) == []
    await feed(application, Updates(OFFICER_P1).text(f"/incident {number} 3"))
    assert request.texts_to(OFFICER_P1)[-1] == "启动、调整级别和结束处置须由领导或管理员进行。"
    await feed(application, Updates(5001).text(f"/incident {number} 3"))
    assert request.texts_to(5001)[-1] == "该命令仅供信访工作人员使用。"
    await feed(application, Updates(LEADER).text(f"/incident {number} 3"))
    (incident,) = incident_ids(store, drill=False)
    assert request.last_to(LEADER).text.startswith(f"已启动事件 #{incident} 的处置预案")
    assert rows(store, "SELECT chat_id, kind FROM outbox WHERE kind LIKE 'ic_%'") == [(OFFICER_P1, "ic_opened")]
    await feed(application, Updates(LEADER).text(f"/incident {number} 3"))
    assert request.texts_to(LEADER)[-1] == f"该事项已有处置中的事件 #{incident}，请发送 /incident {incident} 查看。"
    await feed(application, Updates(LEADER).text(f"/incident {number} 5"))
    assert request.texts_to(LEADER)[-1] == "预案中没有 5 级。"
    await feed(application, Updates(LEADER).text("/incident XF-2099-999999 3"))
    assert request.texts_to(LEADER)[-1].startswith("未找到编号为 XF-2099-999999 的信访事项")
    for odd in ("/incident what is this", "/incident 1 fly 2", "/incident 99999999999999999999"):
        await feed(application, Updates(LEADER).text(odd))
        assert request.texts_to(LEADER)[-1].startswith("用法：\n/incident — 处置中的事件")
    # Closing needs a summary; it goes to the leaders above (here the admin; the closer is the unit's leader).
    await feed(application, Updates(LEADER).text(f"/incident_close {incident}"))
    assert request.texts_to(LEADER)[-1].startswith("用法：/incident_close 事件号 处置情况")
    await feed(application, Updates(OFFICER_P1).text(f"/incident_close {incident} 已平息"))
    assert request.texts_to(OFFICER_P1)[-1] == "启动、调整级别和结束处置须由领导或管理员进行。"
    await feed(application, Updates(LEADER).text(f"/incident_close {incident} 群众代表接受答复，已疏散"))
    assert request.texts_to(LEADER)[-1] == f"事件 #{incident} 已结束处置，处置情况已报送上级领导。"
    assert rows(store, "SELECT chat_id FROM outbox WHERE kind = 'ic_closed'") == [(ADMIN,)]
    assert rows(store, "SELECT status, summary FROM incidents") == [("closed", "群众代表接受答复，已疏散")]
    await feed(application, Updates(LEADER).text(f"/incident_close {incident} 再次"))
    assert request.texts_to(LEADER)[-1] == f"事件 #{incident} 已结束处置。"
    # The case's record shows both, internal (never on the petitioner's timeline).
    assert rows(store, "SELECT action, actor_id, body, public FROM events WHERE action LIKE 'incident%' ORDER BY id") == [
        ("incident_open", LEADER, None, 0), ("incident_close", LEADER, "群众代表接受答复，已疏散", 0)]
    await feed(application, Updates(LEADER).text(f"/case {number}"))
    record = "\n".join(request.texts_to(LEADER)[-3:])
    assert "启动群体性事件处置预案" in record and "群体性事件处置结束" in record


async def test_forged_and_odd_button_data_is_answered_politely(app: App, store: Services) -> None:
    application, request = app
    await collective(store)
    (incident,) = incident_ids(store, drill=False)
    for data in (f"ic:t:{incident}:2:99", "ic:t:424242:2:1", f"ic:v:{incident + 1}"):
        await feed(application, Updates(LEADER).tap(data))
        answer = [c for c in request.calls if c.method == "answerCallbackQuery"][-1]
        assert answer.params.get("show_alert") is True
        assert answer.params.get("text") in ("处置清单中没有第 99 步。", "未找到事件 #424242，或您不负责该事件。",
                                             f"未找到事件 #{incident + 1}，或您不负责该事件。")
    for data in ("ic:t:x:2:1", "ic:t", "ic:zz:1", "ic:t:1:2:3:4"):
        await feed(application, Updates(LEADER).tap(data))
        answer = [c for c in request.calls if c.method == "answerCallbackQuery"][-1]
        assert answer.params.get("text") == "该按钮已失效，请按最新一条消息操作。"
    # Someone outside the incident's groups and units taps a real button: not found, nothing ticked.
    await feed(application, Updates(OFFICER_P1).tap(f"ic:t:{incident}:2:1"))
    assert rows(store, "SELECT count(*) FROM incident_ticks") == [(0,)]


@dataclass
class RecordingRequest(OfflineRequest):
    """Also keeps uploaded files (the export), by method."""

    files: list[tuple[str, str, bytes]] = field(default_factory=list)

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any, **kwargs: Any) -> Any:
        if request_data is not None and request_data.multipart_data:
            for _name, (filename, content, _mime) in request_data.multipart_data.items():
                self.files.append((url.rsplit("/", 1)[-1], filename, content))
        return await super().do_request(url, method, request_data, *args, **kwargs)


async def test_a_drill_is_marked_and_kept_apart(store: Services) -> None:
    recording = RecordingRequest()
    async with offline_app(store, recording) as (application, _):
        await _drill_scenario(application, recording, store)


async def _drill_scenario(application: Application, request: RecordingRequest, store: Services) -> None:
    await collective(store)
    await feed(application, Updates(LEADER).text("/incident_drill"))
    assert request.texts_to(LEADER)[-1].startswith("用法：/incident_drill 级别")
    await feed(application, Updates(OFFICER_OIL).text("/incident_drill 2"))
    assert request.texts_to(OFFICER_OIL)[-1] == "启动、调整级别和结束处置须由领导或管理员进行。"
    command = Updates(LEADER).text("/incident_drill 2")
    await feed(application, command)
    await feed(application, command)  # Telegram delivers it again (after a crash): still one drill
    (drill,) = incident_ids(store, drill=True)
    (real,) = incident_ids(store, drill=False)
    started = request.last_to(LEADER)
    assert started.text.startswith(f"🧪 演练 #{drill} 已开始")
    assert "🧪 <b>【演练】群体性事件 · 二级（较大）</b>" in started.text
    await feed(application, Updates(LEADER).text("/incident"))
    listing = request.last_to(LEADER)
    lines = listing.text.splitlines()
    assert lines[0] == "🚨 <b>处置中的群体性事件</b>（1 起）"
    assert lines[1].startswith(f"二级（较大） · 事件 #{real} · 信访事项")
    assert lines[2] == "🧪 <b>演练</b>（1 起，不计入统计）"
    assert lines[3].startswith(f"二级（较大） · 事件 #{drill} · 演练（非真实事件）")
    assert [b for b, _ in listing.buttons()] == [f"事件 #{real}", f"🧪 演练 #{drill}"]
    # /stats and /export count the real incident only.
    await feed(application, Updates(LEADER).text("/stats"))
    stats = "\n".join(request.texts_to(LEADER)[-3:])
    block = stats.split("🚨 <b>群体性事件</b>（本期启动，不含演练）")[1].split("<i>")[0]
    assert block.strip().splitlines() == [
        "一级（重大）：处置中 0 起，已结束 0 起", "二级（较大）：处置中 1 起，已结束 0 起", "三级（一般）：处置中 0 起，已结束 0 起"]
    await feed(application, Updates(LEADER).text("/export"))
    ((_, _, content),) = [f for f in request.files if f[0] == "sendDocument"]
    book = load_workbook(io.BytesIO(content))
    assert list(book["群体性事件"].values)[1:] == [
        ("级别", "处置中", "已结束"), ("一级（重大）", 0, 0), ("二级（较大）", 1, 0), ("三级（一般）", 0, 0)]
    await feed(application, Updates(LEADER, language_code="en").text(f"/incident_close {drill} good drill"))
    assert request.texts_to(LEADER)[-1] == f"Drill #{drill} is over; the summary went to the leaders above."


def test_the_menus() -> None:
    assert "incident" in OFFICER_COMMANDS and "incident_close" not in OFFICER_COMMANDS
    assert {"incident", "incident_close", "incident_drill"} <= set(LEADER_COMMANDS)
    assert "incident" not in PETITIONER_COMMANDS


async def test_the_outbox_delivers_the_checklist_and_a_tap_on_it_ticks(app: App, store: Services) -> None:
    application, request = app
    await feed(application, Updates(OFFICER_OIL, language_code="en").text("/help"))  # 1002 reads English
    await collective(store)
    (incident,) = incident_ids(store, drill=False)
    sender = application.bot_data["outbox"]
    await sender.run_once()
    to_leader = request.last_to(LEADER)
    assert to_leader.text.startswith("🚨 已启动群体性事件处置预案（二级（较大）），请您按清单处置。")
    assert [data for _, data in to_leader.buttons()][:3] == [f"ic:t:{incident}:2:{n}" for n in (1, 2, 3)]
    to_officer = request.last_to(OFFICER_OIL)
    assert to_officer.text.splitlines()[:2] == [
        "🚨 The group-incident plan (Level 2 (serious)) has started; please work through the checklist.",
        "🚨 <b>Group incident · Level 2 (serious)</b>",
    ]
    assert to_officer.buttons()[0] == ("⬜ 1. The leader in charge goes to the site", f"ic:t:{incident}:2:1")
    await feed(application, Updates(OFFICER_OIL, language_code="en").tap(f"ic:t:{incident}:2:1"))
    edited = request.last_to(OFFICER_OIL)
    assert edited.method == "editMessageText"
    assert "✅ 1. The leader in charge goes to the site — 李科长 2026-11-02 09:00" in edited.text
    assert rows(store, "SELECT count(*) FROM outbox WHERE kind = 'ic_opened' AND sent_at IS NULL") == [(0,)]


async def test_alerts_count_the_real_incidents_being_handled(app: App, store: Services) -> None:
    application, request = app
    await feed(application, Updates(LEADER).text("/incident_drill 3"))  # a drill is not an alert
    await feed(application, Updates(LEADER).text("/alerts"))
    assert not any("处置中的群体性事件" in text for text in request.texts_to(LEADER))
    await collective(store)
    await feed(application, Updates(LEADER).text("/alerts"))
    assert "🚨 处置中的群体性事件 1 起（不含演练），详见 /incident。" in request.texts_to(LEADER)
