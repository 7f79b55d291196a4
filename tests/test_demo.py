"""``petition-bot demo`` plays a whole lifecycle and prints both sides."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from bot.demo import play

pytestmark = pytest.mark.slow


async def test_demo_plays_a_whole_case() -> None:
    out = io.StringIO()
    await play(out)
    text = out.getvalue()
    number = re.search(r"编号：(XF-\d{4}-\d{6})", text)
    assert number, text[:2000]
    assert "📥 新信访事项" in text  # the officer's card
    assert f"您的信访事项 {number.group(1)} 已受理" in text
    assert "请问加班是否经班组长审批" in text  # the officer's question reached the employee
    assert "信访人就" in text and "回复了您" in text and "考勤表已拍照" in text  # and the answer came back
    assert "予以支持" in text and "财务部门将于12月10日前补发" in text  # the written opinion
    # rated: recorded, and the right to ask for 复查 kept (Art. 35); the case stays answered (已答复)
    assert "感谢您的评价（基本满意）" in text and "仍可在" in text and "状态：已答复" in text
    assert "Your petition is registered." in text  # the English employee
    blocks = [b.split("\n▶")[0] for b in text.split("  ◀ bot → ")]
    cards = [b for b in blocks if b.startswith("petition officer 吴监察（集团纪委）:")
             and "Fuel cards used privately" in b]
    assert cards
    for card in cards:  # the reporter's identity never reaches the officer
        assert re.search(r"信访人：保密件-[0-9A-F]{4}", card)
        assert "Li Si" not in card and "200002" not in card
    assert text.rstrip().endswith("Demo finished.")


def test_demo_command_exits_zero_without_token_or_network() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"], capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Demo finished." in result.stdout


async def test_the_narration_speaks_one_language_and_a_reply_is_not_additional_material() -> None:
    out = io.StringIO()
    await play(out, lang="zh")
    text = out.getvalue()
    narration = [line for line in text.splitlines() if line.startswith(("▶", "===", "petition-bot"))]
    assert narration and all(not re.search(r"\b(taps|types|sends|employee|officer|Demo)\b", line) for line in narration)
    # Staff are labelled as the bot calls them when greeting them.
    assert "▶ 信访工作人员 孙干事（第一采油厂）: /start" in text and "您是延长石油（示例）的信访工作人员" in text
    # The employee's answer to the officer's question is recorded as an answer, not as 补充材料.
    record = text[text.index("▶ 员工 张三: /status"):]
    assert "回复工作人员" in record and "补充材料" not in record
    assert text.rstrip().endswith("演示结束。")
