"""Lengths as Telegram counts them (UTF-16 units): long lists are split, never refused (issue 11, path 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.common import Deps
from handlers.render import utf16_len
from store.clock import FakeClock
from store.models import Actor, ActorRole
from store.org import parse_org
from tests.conftest import draft, petitioner
from tests.e2e import running_bot
from tests.petitioner import ORG_FILE, api_errors, org_with
from tests.test_reception_e2e import SHANGHAI_0900_MON_2_NOV

pytestmark = pytest.mark.slow

# 100 characters, 200 UTF-16 units: what the intake allows as a subject.
EMOJI_SUBJECT = "😀🚀" * 50
# With a two-digit prefix, the 200 characters a topic may have: 210 of Python's in HTML, 400 UTF-16 units.
EMOJI_TOPIC = "<&" + "💰" * 196


async def test_history_of_twenty_emoji_subjects_is_split_and_every_part_is_valid(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500, submissions_per_day=100), db) as bot:
        d: Deps = bot.application.bot_data["deps"]
        numbers = [
            (await d.cases.submit(petitioner(5001), draft(subject=EMOJI_SUBJECT), f"emoji-{n}")).case.number
            for n in range(20)
        ]
        # 李科长 covers the unit (the new-case cards go to 王主任, who has not opened the bot).
        officer = bot.sim.user(1002, first_name="李", language_code="zh-hans")
        await officer.send(f"/history {numbers[-1]}")
        await officer.wait_for("共 20 件")
        await officer.wait_for(numbers[0])  # the oldest comes last
        replies = [m for m in officer.messages if m.from_bot]
        assert len(replies) > 1 and api_errors(bot.sim) == []
        assert all(utf16_len(m.visible_text) <= 4096 for m in replies)
        shown = "\n".join(m.visible_text for m in replies)
        assert all(number in shown for number in numbers) and shown.count(EMOJI_SUBJECT) == 20


async def test_reception_list_with_a_dozen_long_topics_is_split_and_every_part_is_valid(tmp_path: Path) -> None:
    session = """
[[reception]]
id = "2026-11-20-zhao"
leader = 2001
date = 2026-11-20
start = "09:00"
end = "11:30"
place = "集团总部三楼信访接待室"
slots = 20
"""
    org = parse_org(ORG_FILE.read_text(encoding="utf-8") + session)
    db = tmp_path / "e2e.db"
    async with running_bot(org, db, clock=FakeClock(SHANGHAI_0900_MON_2_NOV)) as bot:
        d: Deps = bot.application.bot_data["deps"]
        (upcoming,) = await d.reception.upcoming_sessions()
        for n in range(12):
            user = Actor(id=5001 + n, role=ActorRole.PETITIONER)
            await d.reception.book(user, upcoming.id, f"{n:02d}{EMOJI_TOPIC}", name=f"职工{n}")
        leader = bot.sim.user(2001, first_name="赵", language_code="zh-hans")
        await leader.send("/reception_list")
        listing = await leader.wait_for("场次")
        await leader.tap(callback_data=f"rc:v:{upcoming.id}")
        last = await leader.wait_for(predicate=lambda m: m.seq > listing.seq and bool(m.buttons)
                                     and "rc:lv" in str(m.reply_markup))
        replies = [m for m in leader.messages if listing.seq < m.seq <= last.seq]
        assert len(replies) > 1 and api_errors(bot.sim) == []
        assert all(utf16_len(m.visible_text) <= 4096 for m in replies)
        shown = "\n".join(m.visible_text for m in replies)
        topic = EMOJI_TOPIC
        assert all(f"{n:02d}{topic}" in shown for n in range(12))
