"""/staff in the chat, update by update with an offline Bot API: an administrator adds an officer who acts at once,
then removes them and their case goes back to the unit's queue.

Staff (tests/org_fixture.toml): officer 王主任 1001 (plant-1), officer 李科长 1002, leader 赵总 2001, admin 9001.
"""

from __future__ import annotations

import json

from telegram.ext import Application

from store.notices import NoticeKind
from store.services import Services
from tests.backends import rows
from tests.conftest import draft, petitioner
from tests.offline import OfflineRequest, Updates, feed

ADMIN = 9001
NEW = 4242


async def test_an_administrator_adds_an_officer_who_accepts_at_once_then_removes_them(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    admin = Updates(ADMIN, "管理员")
    await feed(application, admin.text("/staff"))
    listing = request.last_to(ADMIN)
    assert "共 4 人" in listing.text and ("➕ 添加工作人员", "sm:add") in listing.buttons()

    await feed(application, admin.tap("sm:add"))
    markup = request.last_to(ADMIN).params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    picker = markup["keyboard"][0][0]
    assert picker["request_users"]["user_is_bot"] is False and picker["request_users"]["max_quantity"] == 1

    await feed(application, admin.users_shared(NEW, "孙干事"))
    assert "请为 <b>孙干事</b> 选择角色" in request.last_to(ADMIN).text
    assert [data for _, data in request.last_to(ADMIN).buttons()] == [
        f"sm:nr:{NEW}:officer", f"sm:nr:{NEW}:leader", f"sm:nr:{NEW}:admin"]
    await feed(application, admin.tap(f"sm:nr:{NEW}:officer"))
    assert (f"sm:nb:{NEW}:officer:hq") in [data for _, data in request.last_to(ADMIN).buttons()]
    await feed(application, admin.tap(f"sm:nb:{NEW}:officer:hq"))
    await feed(application, admin.tap(f"sm:nb:{NEW}:officer:oilfield"))
    await feed(application, admin.tap(f"sm:nu:{NEW}:officer:plant-2"))
    card = request.last_to(ADMIN).text
    assert "<b>孙干事</b>（ID 4242）" in card and "负责单位：第二采油厂" in card and "在聊天中设置" in card
    assert rows(store, "SELECT role, units FROM staff_members WHERE telegram_id = ?", NEW) == [("officer", '["plant-2"]')]

    # The new officer acts at once: no restart.
    case = (await store.cases.submit(petitioner(), draft(unit="plant-2"), "k1")).case
    officer = Updates(NEW, "孙干事")
    await feed(application, officer.text(f"/accept {case.number}"))
    assert rows(store, "SELECT status, assignee_id FROM cases WHERE id = ?", case.id) == [("accepted", NEW)]

    # Removed: the case goes back to plant-2's queue, and the leader above is told.
    await feed(application, admin.tap(f"sm:rm:{NEW}"))
    assert "确定移除 <b>孙干事</b>" in request.last_to(ADMIN).text
    await feed(application, admin.tap(f"sm:ry:{NEW}"))
    assert request.last_to(ADMIN).text == f"已移除 孙干事。以下信访事项已退回所在单位待办队列：\n{case.number}"
    assert rows(store, "SELECT assignee_id FROM cases WHERE id = ?", case.id) == [(None,)]
    told = [i.chat_id for i in await store.outbox.pending_notifications(limit=200) if i.kind == NoticeKind.STAFF_RETURNED]
    assert told == [2001]
    await feed(application, officer.text(f"/note {case.number} 还在办"))
    assert rows(store, "SELECT COUNT(*) FROM events WHERE case_id = ? AND action = 'note'", case.id) == [(0,)]


async def test_only_an_administrator_manages_staff_and_bad_changes_are_refused_with_the_reason(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    await feed(application, Updates(1001, "王主任").text("/staff"))
    assert request.last_to(1001).text == "只有系统管理员可以管理工作人员。"
    await feed(application, Updates(1001, "王主任").tap("sm:ry:9001"))
    assert request.last_to(1001).text == "只有系统管理员可以管理工作人员。"
    admin = Updates(ADMIN, "管理员")
    await feed(application, admin.tap("sm:ut:1001:plant-1"))  # 王主任's only unit: an officer needs one
    refusal = [text for text in request.texts_to(ADMIN) if "这样修改后组织架构不成立" in text]
    assert len(refusal) == 1 and "needs at least one unit" in refusal[0]
    member = store.org.staff_member(1001)
    assert member is not None and member.units == ("plant-1",)
    await feed(application, admin.tap("sm:r:4242:boss"))  # forged
    await feed(application, admin.text("/staff add YC9999"))
    assert request.last_to(ADMIN).text == "花名册中没有工号 YC9999。"
    assert rows(store, "SELECT COUNT(*) FROM staff_members") == [(0,)]
