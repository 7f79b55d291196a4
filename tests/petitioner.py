"""Helpers for end-to-end tests of the petitioner's side (intake and self-service)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from botsim import BotApiSimulator, SimMessage, SimUser
from store.org import Organization, parse_org
from tests.conftest import rows

NUMBER = re.compile(r"[A-Z]+-\d{4}-\d{6}")
ORG_FILE = Path(__file__).with_name("org_fixture.toml")

# What a person sees for each label, by language.
LABELS = {
    "zh": {"wages": "工资福利", "report": "违纪违法举报", "oilfield": "油田公司", "plant": "第一采油厂",
           "step": "第 {n}/7 步", "skip": "跳过", "done": "完成", "real": "实名反映", "conf": "身份保密（代号）",
           "submit": "✅ 提交", "receipt": "已登记", "back": "« 返回", "cancel": "取消", "another": "反映新事项"},
    "en": {"wages": "Wages and benefits", "report": "Misconduct report", "oilfield": "Oilfield Company",
           "plant": "No. 1 Oil Production Plant", "step": "Step {n} of 7", "skip": "Skip", "done": "Done",
           "real": "Real name", "conf": "Confidential (code name)", "submit": "✅ Submit",
           "receipt": "registered", "back": "« Back", "cancel": "Cancel", "another": "New petition"},
}


def org_with(**limits: int) -> Organization:
    """The test organisation with other [limits] (e2e tests send many messages quickly)."""
    extra = "\n[limits]\n" + "".join(f"{key} = {value}\n" for key, value in limits.items())
    return parse_org(ORG_FILE.read_text(encoding="utf-8") + extra)


def step(lang: str, n: int) -> str:
    return LABELS[lang]["step"].format(n=n)


async def new_petition(user: SimUser, lang: str) -> SimMessage:
    """/new: the first step, also after a petition submitted minutes ago (named first, with a button to begin another)."""
    L = LABELS[lang]
    await user.send("/new")
    first = await user.wait_for(predicate=lambda m: step(lang, 1) in m.visible_text or L["another"] in m.button_texts)
    if L["another"] in first.button_texts:
        await user.tap(L["another"], message=first)
        first = await user.wait_for(step(lang, 1))
    return first


async def to_subject(user: SimUser, lang: str, category: str = "wages") -> None:
    """/new, a category and 第一采油厂: the subject question is next."""
    L = LABELS[lang]
    await new_petition(user, lang)
    await user.tap(L[category])
    await user.wait_for(step(lang, 2))
    await user.tap(L["oilfield"])
    await user.wait_for(L["oilfield"])
    await user.tap(L["plant"])
    await user.wait_for(step(lang, 3))


async def to_review(user: SimUser, lang: str, subject: str, details: str, *, confidential: bool = False,
                    category: str = "wages") -> SimMessage:
    L = LABELS[lang]
    await to_subject(user, lang, category)
    await user.send(subject)
    await user.wait_for(step(lang, 4))
    await user.send(details)
    await user.wait_for(step(lang, 5))
    await user.tap(L["skip"])
    await user.wait_for(step(lang, 6))
    await user.tap(L["conf"] if confidential else L["real"])
    return await user.wait_for(step(lang, 7))


async def submit(user: SimUser, lang: str) -> str:
    await user.tap(LABELS[lang]["submit"])
    receipt = await user.wait_for(LABELS[lang]["receipt"])
    match = NUMBER.search(receipt.plain_text or "")
    assert match, receipt.plain_text
    return match.group(0)



def draft_of(db: Path, user_id: int) -> tuple[str | None, dict[str, Any]] | None:
    """The stored draft: keyed by the keyed hash of the id, its data sealed (store/vault.py)."""
    import json

    from store.context import conv_where
    from store.vault import is_sealed, load_vault

    vault = load_vault(db, create=False)
    found = rows(db, "SELECT state, data FROM conversations WHERE name = 'intake' AND key = ?",
                 str(vault.hid(user_id)))
    if not found:
        return None
    state, data = found[0]
    where = conv_where("intake", str(vault.hid(user_id)), "data")
    return state, (vault.open(data, where) if is_sealed(data) else json.loads(data))


def stored_draft(db: Path, user_id: int) -> tuple[str | None, dict[str, Any]]:
    """The stored draft (its state and data), which the test expects to be there."""
    found = draft_of(db, user_id)
    assert found is not None, f"no draft of {user_id}"
    return found


def newest(user: SimUser) -> SimMessage:
    """The newest bot message in ``user``'s chat, which the test expects to be there."""
    message = user.last_message
    assert message is not None, "the bot has sent nothing to this chat"
    return message


def user_key(db: Path, user_id: int) -> int:
    """How the users table (and other lookups by person) store a Telegram id: its keyed hash."""
    from store.vault import load_vault

    return load_vault(db, create=False).hid(user_id)


def api_errors(sim: BotApiSimulator) -> list[tuple[str, str]]:
    """Bot API calls the simulator refused.

    Skipped as harmless: an unchanged edit, and a notification to someone who
    never opened the bot (a leader told of a collective petition, say), which
    the outbox sets aside until they do.
    """
    harmless = ("not modified", "chat not found")
    return [
        (name, str(body.get("description")))
        for name, _params, body in sim.calls
        if not body.get("ok") and name != "getUpdates"
        and not any(h in str(body.get("description")) for h in harmless)
    ]


def texts(messages: list[SimMessage]) -> str:
    return "\n".join(m.visible_text for m in messages)


def since(messages: list[SimMessage], first: SimMessage) -> list[SimMessage]:
    """``first`` and the messages sent or edited after it, in that order (an edit keeps its place)."""
    return sorted((m for m in messages if m.seq >= first.seq), key=lambda m: m.seq)


async def toast(user: SimUser, query_id: str, timeout: float = 5.0) -> str:
    """The text the bot answered a tap with (answerCallbackQuery), once it has."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for answer in user.callback_answers:
            if answer.get("callback_query_id") == query_id:
                return str(answer.get("text") or "")
        await asyncio.sleep(0.02)
    raise AssertionError(f"tap {query_id} was never answered")
