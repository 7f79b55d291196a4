"""Limits against abuse and the petitioner's language, over real polling."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import running_bot
from tests.petitioner import (
    api_errors,
    draft_of,
    org_with,
    rows,
    step,
    stored_draft,
    submit,
    to_review,
    toast,
    user_key,
)

pytestmark = pytest.mark.slow


async def test_message_limit_answers_once_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=6), db) as bot:
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        user = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        await user.send("/new")  # 1
        await user.wait_for("第 1/7 步")
        await user.tap("工资福利")  # 2: taps count too
        await user.wait_for("第 2/7 步")
        await user.tap("炼化公司")  # 3
        await user.wait_for("第 3/7 步")
        await user.send("标题")  # 4
        await user.wait_for("第 4/7 步")
        await user.send("/help")  # 5
        await user.wait_for("使用帮助")
        await user.send("第一次的内容")  # 6
        await user.wait_for("第 5/7 步")
        before = draft_of(db, 5001)
        await user.send_photo()  # 7: over the limit
        refused = await user.wait_for("过于频繁")
        await user.send_photo()  # 8: dropped without another answer
        await user.send("/mycases")  # 9: dropped as well
        # The officer (not limited) still works meanwhile, and nothing reached the draft.
        for _ in range(6):
            await officer.send("/queue")
            await officer.wait_for("待办")
        assert draft_of(db, 5001) == before and before is not None and before[1]["attachments"] == []
        assert [m.visible_text for m in user.messages if m.seq > refused.seq] == []
        assert api_errors(bot.sim) == []


async def test_taps_count_toward_the_limit_and_an_excess_tap_only_gets_a_toast(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=3), db) as bot:
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        user = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        await user.send("/new")  # 1
        await user.wait_for("第 1/7 步")
        await user.tap("工资福利")  # 2
        await user.wait_for("第 2/7 步")
        await user.tap("油田公司")  # 3
        await user.wait_for("当前位置：集团总部 › 油田公司")
        before, seen = draft_of(db, 5001), [(m.message_id, m.seq) for m in user.messages]
        assert before is not None and before[1].get("unit") != "plant-1"
        for _ in range(2):  # 4, 5: over the limit, each answered with a toast and nothing else
            query = await user.tap("第一采油厂")
            assert await toast(user, query) == "您操作过于频繁，请稍后再试。"
        assert draft_of(db, 5001) == before
        assert [(m.message_id, m.seq) for m in user.messages] == seen  # no message sent, none edited
        # Staff taps are not limited.
        await officer.send("/queue")
        await officer.wait_for("待办")
        assert api_errors(bot.sim) == []


async def test_daily_submission_limit_keeps_the_draft(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500, submissions_per_day=2), db) as bot:
        bot.sim.user(1001, first_name="王", language_code="zh-hans")
        user = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        for n in range(2):
            await to_review(user, "zh", f"第 {n} 件", "内容")
            await submit(user, "zh")
        await to_review(user, "zh", "第三件", "内容")
        await user.tap("✅ 提交")
        refusal = await user.wait_for("已达每日上限")
        assert "您今天已提交 2 件" in refusal.visible_text and "草稿已保存" in refusal.visible_text
        state, data = stored_draft(db, 5001)
        assert state == "review" and data["subject"] == "第三件"
        assert api_errors(bot.sim) == []
    assert rows(db, "SELECT count(*) FROM cases") == [(2,)]


async def test_language_follows_telegram_and_a_choice_is_remembered(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(), db) as bot:
        english = bot.sim.user(5001, first_name="Li", language_code="en-US")
        russian = bot.sim.user(5002, first_name="Ivan", language_code="ru")
        silent = bot.sim.user(5003, first_name="无", language_code=None)
        await english.send("/start")
        await english.wait_for("petition service")
        await russian.send("/start")
        await russian.wait_for("信访服务")
        await silent.send("/new")
        await silent.wait_for("第 1/7 步")

        await english.send("/language")
        choice = await english.wait_for("Please choose a language")
        assert choice.button_texts == ["中文", "English"]
        await english.tap("中文")
        await english.wait_for("已切换为中文")
        await english.send("/new")
        await english.wait_for(step("zh", 1))
        assert api_errors(bot.sim) == []

    async with running_bot(org_with(), db) as bot:  # a restart keeps the choice
        english = bot.sim.user(5001, first_name="Li", language_code="en-US")
        await english.send("/help")
        await english.wait_for("使用帮助")
        await english.send("/language")
        await english.wait_for("Please choose")
        await english.tap("English")
        await english.wait_for("Language set to English")
        await english.send("/help")
        await english.wait_for("Help\n/new")
    assert rows(db, "SELECT language FROM users WHERE telegram_id = ?", user_key(db, 5001)) == [("en",)]
