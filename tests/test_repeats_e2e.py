"""Over real polling: a second filing on the same matter proposed on the officer's card, confirmed with its button."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.clock import FakeClock
from store.org import Organization
from tests.conftest import draft, petitioner, uid
from tests.e2e import running_bot
from tests.review_fixture import LEADER_OIL, OFFICER_P1, rorg

pytestmark = pytest.mark.slow

__all__ = ["rorg"]


async def test_the_officer_confirms_a_proposed_repeat_petition_end_to_end(rorg: Organization, tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_bot(rorg, tmp_path / "e2e.db", clock=clock) as bot:
        store = bot.application.bot_data["deps"]
        officer = bot.sim.user(uid(OFFICER_P1), first_name="王", language_code="zh-hans")
        leader = bot.sim.user(uid(LEADER_OIL), first_name="陈", language_code="zh-hans")
        for user in (officer, leader):
            await user.send("/start")
            await user.wait_for("您好")

        first = (await store.cases.submit(petitioner(5001), draft(), "r1")).case.number
        await officer.wait_for(first)
        clock.advance(days=2)
        again = (await store.cases.submit(petitioner(5001), draft(subject="加班费还是没有发放"), "r2")).case.number
        card = await officer.wait_for("可能为重复信访")
        assert again in card.visible_text and f"{first}（加班费未发放）" in card.visible_text
        assert "确认为重复信访" in card.button_texts and "不是同一事项" in card.button_texts

        # Proposed only: the indicators count two matters until the officer confirms.
        await leader.send("/stats")
        assert "件次 2 · 件数 2" in (await leader.wait_for("件次")).visible_text

        await officer.tap("确认为重复信访", message=card)
        done = await officer.wait_for("已确认")
        assert again in done.visible_text and first in done.visible_text
        # The card keeps its other buttons; the proposal's are gone.
        edited = officer.chat.store[card.message_id]
        assert "确认为重复信访" not in edited.button_texts and edited.button_texts

        await leader.send("/stats")
        stats = await leader.wait_for("件次")
        assert "件次 2 · 件数 1 · 其中经确认的重复信访 1 件次" in stats.visible_text
        assert "重复信访率 50.0%" in stats.visible_text
        await bot.drained()
