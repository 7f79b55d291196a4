"""Re-reading the organisation file in a running bot (bot/reload.py): a good file in effect, a bad one refused.

``petition-bot reload`` asks every running instance through the database; the end-to-end test edits the
file under a running bot, runs the command, and a new officer is answered as staff within seconds.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot import reload as reload_module
from bot.cli import main as cli
from bot.reload import Reloader
from store.models import Actor, ActorRole
from store.org import Organization, Role, Staff, load_org
from store.services import Services
from tests.conftest import ORG_FILE
from tests.e2e import running_bot

ADMIN = Actor(id=9001, role=ActorRole.ADMIN, name="管理员")
OFFICER_4343 = '\n[[staff]]\ntelegram_id = 4343\nname = "周干事"\nrole = "officer"\nunits = ["plant-2"]\n'


def with_officer(text: str) -> str:
    return text.replace("# The dispute screening", OFFICER_4343 + "\n# The dispute screening", 1)


async def test_a_good_file_is_put_in_effect_with_the_chats_changes_over_it(store: Services, tmp_path: Path) -> None:
    config = tmp_path / "org.toml"
    config.write_text(ORG_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    reloader = Reloader(store, lambda: load_org(config))
    await store.staffing.put(ADMIN, Staff(telegram_id=1002, name="李科长", role=Role.LEADER, units=("oilfield",)))
    config.write_text(with_officer(config.read_text(encoding="utf-8")), encoding="utf-8")
    assert await reloader.reload()
    assert store.org.staff_member(4343) is not None and store.cases.actor(4343).role is ActorRole.OFFICER
    leader = store.org.staff_member(1002)
    assert leader is not None and leader.role is Role.LEADER  # the chat's change stays over the file


async def test_a_bad_file_or_a_new_time_zone_is_refused_and_the_old_one_stays(
    store: Services, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "org.toml"
    good = ORG_FILE.read_text(encoding="utf-8")
    reloader = Reloader(store, lambda: load_org(config))
    before = store.org
    config.write_text(good.replace('units = ["plant-1"]', 'units = ["plant-9"]', 1), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="bot.reload"):
        assert not await reloader.reload()
    assert 'unknown unit "plant-9"' in caplog.text and store.org is before
    config.write_text(good.replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Urumqi"'), encoding="utf-8")
    assert not await reloader.reload()
    assert "time zone" in caplog.text and store.org is before


async def test_reload_reaches_a_running_bot_which_answers_a_new_officer_as_staff(
    org: Organization, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "org.toml"
    config.write_text(ORG_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("PETITION_CONFIG", str(config))
    monkeypatch.setattr(reload_module, "WATCH_SECONDS", 0.2)
    db = tmp_path / "cases.db"
    async with running_bot(org, db, load_org=lambda: load_org(config)) as bot:
        newcomer = bot.sim.user(4343, first_name="周", language_code="zh-hans")
        await newcomer.send("/queue")
        await newcomer.wait_for("仅供信访工作人员使用")

        config.write_text(with_officer(config.read_text(encoding="utf-8")), encoding="utf-8")
        assert await asyncio.to_thread(cli, ["reload", "--db", str(db), "--lang", "zh"]) == 0
        assert "已通知所有运行中的实例" in capsys.readouterr().out
        for _ in range(50):
            if bot.application.bot_data["deps"].org.staff_member(4343) is not None:
                break
            await asyncio.sleep(0.1)
        await newcomer.send("/queue")
        answer = await newcomer.wait_for(predicate=lambda m: "仅供信访工作人员使用" not in m.visible_text)
        assert answer.text == "目前没有待办的信访事项。"

        config.write_text("[organization]\nname = \n", encoding="utf-8")  # broken: refused by the command itself
        assert await asyncio.to_thread(cli, ["reload", "--db", str(db), "--lang", "en"]) == 1


async def test_staff_export_writes_what_is_in_effect_as_toml_the_file_accepts(
    store: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib

    monkeypatch.setenv("PETITION_CONFIG", str(ORG_FILE))
    await store.staffing.put(ADMIN, Staff(telegram_id=4242, name='孙 "小" 干事', role=Role.OFFICER, units=("plant-2",),
                                          categories=("wages",)))
    await store.staffing.put(ADMIN, Staff(telegram_id=1002, name="李科长", role=Role.LEADER, units=("oilfield",)))
    out = tmp_path / "staff.toml"
    assert await asyncio.to_thread(cli, ["staff", "export", str(out), "--db", store.db.path, "--lang", "en"]) == 0
    exported = tomllib.loads(out.read_text(encoding="utf-8"))["staff"]
    assert [(s["telegram_id"], s["role"]) for s in exported] == [
        (1001, "officer"), (2001, "leader"), (9001, "admin"), (1002, "leader"), (4242, "officer")]
    assert exported[-1] == {"telegram_id": 4242, "name": '孙 "小" 干事', "role": "officer", "units": ["plant-2"],
                            "categories": ["wages"]}
    file_without_staff = ORG_FILE.read_text(encoding="utf-8").split("[[staff]]")[0]
    rest = ORG_FILE.read_text(encoding="utf-8").split("# The dispute screening")[1]
    from store.org import parse_org

    rebuilt = parse_org(file_without_staff + out.read_text(encoding="utf-8") + "\n# The dispute screening" + rest)
    assert rebuilt.staff == store.org.staff
