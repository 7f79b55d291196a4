"""Drafts survive anything: a SIGKILL mid-intake, and Telegram redelivering updates.

The SIGKILL test runs the bot exactly as production does (``python -m bot run``
with PETITION_* settings) in a child process, against the loopback Bot API in
this process, and kills it without warning.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from botsim import BotApiSimulator
from tests.e2e import TOKEN, running_bot
from tests.petitioner import (
    ORG_FILE,
    api_errors,
    draft_of,
    org_with,
    rows,
    step,
    stored_draft,
    submit,
    to_review,
    to_subject,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def bot_process(sim: BotApiSimulator, db: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "PETITION_BOT_TOKEN": TOKEN,
        "PETITION_API_URL": sim.base_url,
        "PETITION_DB": str(db),
        "PETITION_CONFIG": str(ORG_FILE),
        "PETITION_LOG_LEVEL": "WARNING",
    }
    env.pop("PETITION_API_FILE_URL", None)
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


async def test_sigkill_mid_intake_resumes_where_the_employee_was(tmp_path: Path) -> None:
    db, log = tmp_path / "bot.db", tmp_path / "bot.log"
    async with BotApiSimulator(token=TOKEN) as sim:
        officer = sim.user(1001, first_name="王", language_code="zh-hans")
        user = sim.user(5001, first_name="张三", language_code="zh-hans")
        with bot_process(sim, db, log) as process:
            await user.send("/start")
            await user.wait_for("信访服务", timeout=20)  # the child has started
            await to_subject(user, "zh")
            await user.send("油田加班费 <b>拖欠</b> & 未付")
            await user.wait_for("第 4/7 步")
            kill(process)
        state, data = stored_draft(db, 5001)
        assert state == "details" and data["subject"] == "油田加班费 <b>拖欠</b> & 未付"

        # Typed while the bot is down: handled once it is back, at the step it was on.
        await user.send("十月份加班费至今未发放。")
        with bot_process(sim, db, log) as process:
            nxt = await user.wait_for("第 5/7 步", timeout=20)
            assert "材料" in nxt.visible_text
            state, data = stored_draft(db, 5001)
            assert state == "attachments" and data["details"] == "十月份加班费至今未发放。"
            assert data["subject"] == "油田加班费 <b>拖欠</b> & 未付"
            await user.send_photo()
            await user.wait_for("已收到第 1 个材料")
            # Killed right after a message, whether or not it was handled yet.
            await user.send_document("工资条.pdf")
            kill(process)

        with bot_process(sim, db, log) as process:
            await user.wait_for("第 2 个材料", timeout=20)  # handled once, never twice
            await user.send("/new")  # the draft is offered, not lost
            offer = await user.wait_for("尚未提交", timeout=10)
            assert "第 5/7 步" in offer.visible_text
            await user.tap("继续填写")
            await user.wait_for("第 5/7 步")
            await user.tap("完成")
            await user.wait_for("第 6/7 步")
            await user.tap("实名反映")
            review = await user.wait_for("第 7/7 步")
            assert "油田加班费 <b>拖欠</b> & 未付" in review.visible_text and "材料：2 个" in review.visible_text
            number = await submit(user, "zh")
            card = await officer.wait_for(number, timeout=10)
            assert "十月份加班费至今未发放。" in card.visible_text
            process.send_signal(signal.SIGTERM)  # a clean stop needs the simulator: do not block it
            assert await asyncio.wait_for(asyncio.to_thread(process.wait), 15) == 0
        assert api_errors(sim) == []
        assert "Traceback" not in log.read_text(encoding="utf-8")
    assert rows(db, "SELECT subject, details FROM cases") == [("油田加班费 <b>拖欠</b> & 未付", "十月份加班费至今未发放。")]
    assert rows(db, "SELECT kind, file_name FROM attachments ORDER BY id") == [("photo", None), ("document", "工资条.pdf")]
    assert draft_of(db, 5001) is None


async def test_redelivered_submit_creates_exactly_one_case(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        user = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        await to_review(user, "zh", "加班费", "未发放")
        query = await user.tap("✅ 提交")
        receipt = await user.wait_for("已登记")
        (submit_update,) = [u for u in bot.sim._history.values()
                            if u.get("callback_query", {}).get("id") == query]
        card = await officer.wait_for("加班费")
        for _ in range(2):
            await bot.sim.redeliver(submit_update["update_id"])  # as after a crash
        await user.send("/mycases")
        listing = await user.wait_for("共 1 件")
        assert receipt.visible_text.split("编号：")[1][:14] in listing.visible_text
        # Updates are handled one at a time, so the listing's answer means both redelivered
        # Submits were handled; a second case would have left an outbox row, sent by now.
        await bot.drained()
        assert [m for m in officer.messages if "加班费" in m.visible_text] == [card]
    assert rows(db, "SELECT count(*) FROM cases") == [(1,)]
    assert rows(db, "SELECT count(*) FROM outbox WHERE kind = 'case_card'") == [(1,)]
    assert rows(db, "SELECT count(*) FROM events WHERE action = 'submit'") == [(1,)]


async def test_redelivered_text_is_applied_once(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        user = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        await to_subject(user, "zh")
        sent = await user.send("第一次的标题")
        await user.wait_for("第 4/7 步")
        await bot.sim.redeliver(sent["update_id"])
        again = await user.wait_for("第 4/7 步")  # the current question, asked again
        assert "详细说明" in again.visible_text
        state, data = stored_draft(db, 5001)
        assert state == "details" and data["subject"] == "第一次的标题" and data["details"] is None
        await user.send("详情")
        await user.wait_for(step("zh", 5))
