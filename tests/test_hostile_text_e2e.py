"""Hostile text round-trips literally from the employee to the officer, with no Bot API error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from botsim import SimMessage
from tests.e2e import running_bot
from tests.petitioner import api_errors, org_with, rows, since, step, submit, texts, to_subject

pytestmark = pytest.mark.slow

CORPUS = [
    '<b>粗体</b> <i>x</i> <a href="http://evil.example">链接</a> </code> <pre>',
    "AT&T &amp; &lt;tag&gt; & &#x27; &#39; \"quoted\" 'single' a < b > c",
    "😀👍🏽👨‍👩‍👧‍👦🇨🇳 加班费 ✅",
    "مرحبا بالعالم שלום עולם \u202eRTL override\u202c end",
    "zero\u200bwidth\u200c\u200d\ufeffjoiner\u2060word",
    "<script>alert(1)</script> {number} {0} %s \\n *_`[md](x)`_*",
]
LONG = ("\n".join(CORPUS) + "\n" + "😀" * 200 + "\n") * 20
LONG = LONG[:3992] + "\n【结束】END"  # exactly the details limit, far more than 4,096 UTF-16 units
DESIRED = ("👨‍👩‍👧‍👦<&>" * 50)[:500]  # the longest desired outcome, 700 UTF-16 units


def in_order(haystack: str, text: str) -> bool:
    """Every line of ``text`` appears in ``haystack``, in order (long texts come in parts)."""
    position = 0
    for line in text.splitlines():
        found = haystack.find(line, position)
        if found < 0:
            return False
        position = found + len(line)
    return True


def showing_the_end_of(text: str) -> Callable[[SimMessage], bool]:
    """A message showing the last 20 characters of ``text`` (as relayed, surrounding spaces trimmed)."""
    return lambda m: text.strip()[-20:] in m.visible_text


async def test_hostile_corpus_round_trips_zh_and_en(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=1000, submissions_per_day=50), db) as bot:
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        expected: list[tuple[str, str]] = []
        for index, subject in enumerate(CORPUS):
            lang = "zh" if index % 2 == 0 else "en"
            user = bot.sim.user(6000 + index, first_name=CORPUS[0][:20], language_code=lang)
            details = "\n".join(reversed(CORPUS))
            await to_subject(user, lang)
            await user.send(subject)
            await user.wait_for(step(lang, 4))
            await user.send(details)
            await user.wait_for(step(lang, 5))
            await user.tap("跳过" if lang == "zh" else "Skip")
            await user.wait_for(step(lang, 6))
            await user.tap("实名反映" if lang == "zh" else "Real name")
            review = await user.wait_for(step(lang, 7))
            assert subject in review.visible_text and details in review.visible_text
            number = await submit(user, lang)
            card = await officer.wait_for(number)
            assert subject in card.visible_text, subject
            assert details in card.visible_text
            assert CORPUS[0][:20] in card.visible_text  # the name, too, is shown literally
            expected.append((subject, details))

        # 5,000 characters are refused politely, in the user's language; 4,000 pass and split.
        for lang, too_long in (("zh", "标题不能超过 100 字（您输入了 5000 字）"),
                               ("en", "The subject can be at most 100 characters (you sent 5000)")):
            user = bot.sim.user(7000 if lang == "zh" else 7001, first_name="Long", language_code=lang)
            await to_subject(user, lang)
            await user.send("长" * 5000)
            await user.wait_for(too_long)
            await user.send("long details")
            await user.wait_for(step(lang, 4))
            await user.send("x" * 5000)
            await user.wait_for("4000")
            await user.send(LONG)
            await user.wait_for(step(lang, 5))
            await user.tap("跳过" if lang == "zh" else "Skip")
            await user.wait_for(step(lang, 6))
            await user.tap("实名反映" if lang == "zh" else "Real name")
            await user.wait_for(step(lang, 7))
            await user.wait_for("确认无误" if lang == "zh" else "If everything is right")  # the last part
            await user.tap("诉求" if lang == "zh" else "Desired outcome")
            await user.wait_for("500")
            await user.send(DESIRED)
            review = await user.wait_for(step(lang, 7))
            await user.wait_for("确认无误" if lang == "zh" else "If everything is right")  # the last part
            assert DESIRED in review.visible_text
            assert in_order(texts(since(user.messages, review)), LONG)
            number = await submit(user, lang)
            card = await officer.wait_for(number)
            assert DESIRED in card.visible_text  # with the longest details, still one valid message
            await officer.wait_for("【结束】END")  # the last part
            assert in_order(texts(since(officer.messages, card)), LONG)
            expected.append(("long details", LONG))

            if lang == "en":
                continue
            # The same corpus as added information, and 5,000 characters refused there too.
            await user.send(f"/status {number}")
            await user.wait_for(number)
            await user.tap("补充材料")
            for text in [*CORPUS, LONG]:
                await user.wait_for(number)
                await user.send(text)
                await user.wait_for("已将您补充的情况转给")
                relayed = await officer.wait_for(predicate=showing_the_end_of(text))
                assert text.strip()[-20:] in relayed.visible_text
                await user.tap("继续补充")
            await user.wait_for(number)
            await user.send("y" * 5000)
            await user.wait_for("补充内容不能超过 4000 字（您输入了 5000 字）")
            assert all(text in texts(officer.messages) for text in CORPUS)
        assert api_errors(bot.sim) == []

    stored = rows(db, "SELECT subject, details FROM cases ORDER BY id")
    assert stored == [(s, d.strip()) for s, d in expected]
    bodies = [b for (b,) in rows(db, "SELECT body FROM events WHERE action = 'add_info' ORDER BY id")]
    assert bodies == [t.strip() for t in [*CORPUS, LONG]]
