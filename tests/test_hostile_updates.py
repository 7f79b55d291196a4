"""A generated corpus of hostile updates against the real Application (offline Bot API).

Hypothesis writes scripts of updates from a few ordinary employees: odd and
oversized text, HTML and control characters, commands with junk arguments,
edits, media with hostile file names, group-chat and channel messages,
taps on buttons that never existed (staff buttons, other people's case
numbers and draft ids, over-long and empty data), taps on messages the bot
cannot access, duplicated and out-of-order update ids.

After every single update:
- no handler raised (the application's error handlers never ran);
- nobody else's data changed: drafts, prompts, cases, journal and
  preferences of every other user are as they were;
- every call to the Bot API would be accepted by Telegram: the text is
  valid Telegram HTML within the length limits, buttons carry 1-64 bytes.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from botsim import parse_html, utf16_len
from store.models import Petitioner
from store.org import Organization
from store.services import Services
from tests.conftest import draft
from tests.offline import BOT, OfflineRequest

pytestmark = pytest.mark.slow

VICTIM = 5001
ATTACKERS = (7001, 7002, 7003)
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ANSWER_LIMIT = 200


# --------------------------------------------------------------- the corpus

any_char = st.characters(exclude_categories=["Cs"])  # Telegram sends valid UTF-8 only
odd_text = st.one_of(
    st.text(any_char, min_size=0, max_size=40),
    st.text(st.sampled_from("<>&\"'/ab中文\n\t\u200b\u202e\x00\x7f😀"), min_size=1, max_size=60),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "中", "😀", "<b>", "&amp;", "\n"]),
              st.integers(100, 5000)),
)
NUMBERS = st.sampled_from(["XF-2026-000001", "xf-2026-000001", "XF-2026-999999", "XF-0000-000000",
                           "", "'; DROP TABLE cases; --", "<b>", "%", "_", "9" * 80])
COMMANDS = st.sampled_from(["/start", "/help", "/new", "/cancel", "/mycases", "/status", "/language",
                            "/queue", "/accept", "/decline", "/case", "/unknown", "/new@petition_test_bot",
                            "/start@other_bot", "/status@petition_test_bot"])
command_text = st.builds(lambda c, a: f"{c} {a}".rstrip(), COMMANDS,
                         st.one_of(st.just(""), NUMBERS, odd_text, st.builds(lambda n, r: f"{n} {r}", NUMBERS, odd_text)))
CALLBACK_PREFIXES = st.sampled_from([
    "in:cat:", "in:unit:", "in:here:", "in:edit:", "in:submit:", "in:id:", "st:acc:", "st:me:",
    "st:open:", "st:", "pr:dec:", "pr:rep:", "pr:zzz:", "pr:", "my:open:", "my:page:", "q:", "lang:", "",
])
CALLBACK_ARGS = st.one_of(
    NUMBERS, st.sampled_from(["wages", "misconduct", "plant-1", "oilfield", "hq", "nowhere", "subject",
                              "details", "people", "desired", "real", "conf", "zh", "en", "-1", "1", "99999",
                              "VICTIM_DRAFT"]),
    st.text(any_char, max_size=20),
)
FIXED_CALLBACKS = st.sampled_from(["in:back", "in:done", "in:cancel", "in:cont", "in:restart", "in:id:real",
                                   "in:id:conf", "in:cat:wages", "in:unit:oilfield", "in:unit:plant-1",
                                   "in:here:plant-1", "in:cat:misconduct", "in:submit:OWN_DRAFT"])
callback_data = st.one_of(
    FIXED_CALLBACKS,
    st.builds(lambda p, a: p + a, CALLBACK_PREFIXES, CALLBACK_ARGS),
    st.builds(lambda p, a: p + a, CALLBACK_PREFIXES, CALLBACK_ARGS),
    st.text(any_char, min_size=0, max_size=70),  # over-long or empty: Telegram never sends it, we cope anyway
)
file_names = st.one_of(st.none(), st.sampled_from(["<script>.pdf", "a&b.doc", "x" * 300, "工资条.jpg", ""]), st.text(any_char, max_size=30))

ARGS: dict[str, st.SearchStrategy[Any]] = {
    "text": st.one_of(odd_text, command_text),
    "tap": callback_data,
    "tap_inaccessible": callback_data,
    "tap_no_data": st.none(),
    "edit": odd_text,
    "photo": st.integers(0, 60_000_000),
    "document": st.tuples(file_names, st.integers(0, 60_000_000), st.one_of(st.none(), odd_text)),
    "sticker": st.none(),
    "location": st.none(),
    "contact": st.none(),
    "group_text": st.one_of(command_text, odd_text),
    "channel_post": st.one_of(command_text, odd_text),
    "blocked": st.none(),
    "duplicate": st.none(),
    "walk": st.booleans(),  # a whole intake, so later junk meets every step
}
# Forged buttons and typed commands are the likeliest attacks: drawn more often.
KINDS = [*ARGS, *["tap"] * 6, *["text"] * 2]
action = st.sampled_from(KINDS).flatmap(lambda kind: st.tuples(st.just(kind), ARGS[kind]))
step = st.tuples(
    st.sampled_from(ATTACKERS),
    st.sampled_from([None, "en", "zh-hans", "ru", "xx-yy"]),
    st.integers(-3, 2),  # shifts the update id: repeated and out-of-order ids
    action,
)
scripts = st.lists(step, min_size=1, max_size=12)


# --------------------------------------------------------------- the harness

class Harness:
    def __init__(self, application: Application, request: OfflineRequest, store: Services, db_path: Path) -> None:
        self.application = application
        self.request = request
        self.store = store
        self.db_path = db_path
        self.errors: list[BaseException] = []
        self.update_ids = itertools.count(10_000)
        self.message_ids = itertools.count(10_000)
        self.previous: dict[str, Any] | None = None
        self.victim_draft = ""
        self.victim_case = ""

    @classmethod
    async def create(cls, org: Organization, db_path: Path) -> Harness:
        # The corpus is hundreds of updates a second: lift the anti-abuse limits it is not testing.
        limits = org.limits.model_copy(update={"messages_per_minute": 1_000_000, "submissions_per_day": 1_000_000})
        store = await Services.open(db_path, org.model_copy(update={"limits": limits}))
        request = OfflineRequest()
        application = build_application(store, "123:TEST", base_url="http://offline.invalid/bot",
                                        base_file_url="http://offline.invalid/file/bot", request=request,
                                        paced=False)  # pacing is not under test here
        await application.initialize()
        harness = cls(application, request, store, db_path)

        async def record(_update: object, context: Any) -> None:
            harness.errors.append(context.error)

        application.add_error_handler(record)
        # The victim: a registered case, and a draft half-way through intake.
        victim = Petitioner(id=VICTIM, name="受害人", language="zh")
        harness.victim_case = (await store.cases.submit(victim, draft(), "victim-key")).case.number
        open_draft = draft(details=None)
        await store.cases.save_draft(VICTIM, "details", open_draft, {"last_update_id": 1})
        harness.victim_draft = open_draft.draft_id
        await store.cases.set_language(VICTIM, "en")
        return harness

    async def close(self) -> None:
        await self.application.shutdown()
        await self.store.close()

    # ---- building updates
    def _user(self, user_id: int, language: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"<i>员工{user_id}</i>&"}
        if language:
            user["language_code"] = language
        return user

    def _message(self, user: dict[str, Any], chat: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        return {"message_id": next(self.message_ids), "date": int(time.time()),
                "chat": chat or {"id": user["id"], "type": "private", "first_name": user["first_name"]},
                "from": user, **fields}

    async def _own_draft_id(self, user_id: int) -> str:
        found = await self.store.cases.get_draft(user_id)
        return found.data.draft_id if found else "none"

    async def build(self, user_id: int, language: str | None, shift: int, act: tuple[str, Any]) -> dict[str, Any] | None:
        kind, arg = act
        user = self._user(user_id, language)
        update_id = next(self.update_ids) + shift
        if kind == "duplicate":
            return copy.deepcopy(self.previous) if self.previous else None
        if kind in ("text", "group_text", "channel_post", "edit"):
            fields: dict[str, Any] = {"text": arg or "?"}
            if fields["text"].startswith("/"):
                fields["entities"] = [{"type": "bot_command", "offset": 0,
                                       "length": utf16_len(fields["text"].split(" ")[0])}]
            if kind == "group_text":
                group = {"id": -1001234, "type": "supergroup", "title": "<b>群</b>"}
                return {"update_id": update_id, "message": self._message(user, group, **fields)}
            if kind == "channel_post":
                channel = {"id": -1009999, "type": "channel", "title": "频道"}
                post = self._message(user, channel, **fields)
                del post["from"]
                return {"update_id": update_id, "channel_post": post}
            if kind == "edit":
                return {"update_id": update_id,
                        "edited_message": self._message(user, edit_date=int(time.time()), **fields)}
            return {"update_id": update_id, "message": self._message(user, **fields)}
        if kind in ("tap", "tap_inaccessible", "tap_no_data"):
            data = arg
            if data is not None:
                data = data.replace("VICTIM_DRAFT", self.victim_draft)
                if "OWN_DRAFT" in data:
                    data = data.replace("OWN_DRAFT", await self._own_draft_id(user_id))
            if kind == "tap_inaccessible":
                message = {"message_id": 1, "date": 0, "chat": {"id": user_id, "type": "private"}}
            else:
                message = self._message(BOT | {}, {"id": user_id, "type": "private"}, text="…")
            query: dict[str, Any] = {"id": str(update_id), "from": user, "chat_instance": "ci", "message": message}
            if data is not None:
                query["data"] = data
            else:
                query["game_short_name"] = "game"
            return {"update_id": update_id, "callback_query": query}
        if kind == "photo":
            n = next(self.message_ids)
            photo = [{"file_id": f"P{n}", "file_unique_id": f"p{n}", "width": 90, "height": 90, "file_size": arg}]
            return {"update_id": update_id, "message": self._message(user, photo=photo)}
        if kind == "document":
            name, size, caption = arg
            document: dict[str, Any] = {"file_id": f"D{update_id}", "file_unique_id": f"d{update_id}", "file_size": size,
                                        "mime_type": "application/pdf"}
            if name is not None:
                document["file_name"] = name
            extra = {"caption": caption} if caption else {}
            return {"update_id": update_id, "message": self._message(user, document=document, **extra)}
        if kind == "sticker":
            sticker = {"file_id": "S1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
                       "is_animated": False, "is_video": False}
            return {"update_id": update_id, "message": self._message(user, sticker=sticker)}
        if kind == "location":
            return {"update_id": update_id,
                    "message": self._message(user, location={"latitude": 36.6, "longitude": 109.5})}
        if kind == "contact":
            contact = {"phone_number": "+8613800000000", "first_name": "<b>x</b>", "user_id": VICTIM}
            return {"update_id": update_id, "message": self._message(user, contact=contact)}
        if kind == "blocked":
            chat = {"id": user_id, "type": "private", "first_name": "x"}
            member = {"chat": chat, "from": user, "date": int(time.time()),
                      "old_chat_member": {"status": "member", "user": BOT},
                      "new_chat_member": {"status": "kicked", "user": BOT, "until_date": 0}}
            return {"update_id": update_id, "my_chat_member": member}
        raise AssertionError(kind)

    # ---- invariants
    def others(self, sender: int) -> dict[str, list[tuple[Any, ...]]]:
        """Everything in the store that belongs to someone other than ``sender``."""
        from store.vault import load_vault

        vault = load_vault(self.db_path, create=False)
        mine = vault.hid(sender)  # the store keeps people by the keyed hash of their id
        with sqlite3.connect(self.db_path) as conn:
            return {
                "conversations": conn.execute(
                    "SELECT name, key, state, data, ui FROM conversations WHERE key NOT IN (?, ?, ?)"
                    " ORDER BY name, key",
                    (str(sender), str(mine), vault.tag(f"{sender}:{sender}"))).fetchall(),
                "cases": conn.execute(
                    "SELECT * FROM cases WHERE petitioner_id NOT IN (?, ?) ORDER BY id", (sender, mine)).fetchall(),
                "events": conn.execute(
                    "SELECT e.* FROM events e JOIN cases c ON c.id = e.case_id WHERE c.petitioner_id NOT IN (?, ?)"
                    " ORDER BY e.id", (sender, mine)).fetchall(),
                "attachments": conn.execute(
                    "SELECT a.* FROM attachments a JOIN cases c ON c.id = a.case_id"
                    " WHERE c.petitioner_id NOT IN (?, ?)", (sender, mine)).fetchall(),
                "users": conn.execute(
                    "SELECT * FROM users WHERE telegram_id NOT IN (?, ?) ORDER BY telegram_id",
                    (sender, mine)).fetchall(),
            }

    def check_calls(self, start: int) -> None:
        for call in self.request.calls[start:]:
            params = call.params
            if call.method == "answerCallbackQuery":
                text = str(params.get("text") or "")
                # Plain text: a catalog text with markup or escapes would show them literally.
                assert len(text) <= ANSWER_LIMIT and parse_html(text)[0] == text, params
                continue
            for field, limit in (("text", TEXT_LIMIT), ("caption", CAPTION_LIMIT)):
                if field not in params:
                    continue
                assert params.get("parse_mode") == "HTML", (call.method, params)
                plain, _ = parse_html(str(params[field]))  # raises on invalid Telegram HTML
                assert plain.strip() or field == "caption", (call.method, "empty text")
                assert utf16_len(plain) <= limit, (call.method, field, utf16_len(plain))
            markup = params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            for row in (markup or {}).get("inline_keyboard", []):
                for button in row:
                    assert str(button["text"]).strip(), button
                    assert 1 <= len(button["callback_data"].encode()) <= 64, button

    async def feed(self, raw: dict[str, Any], sender: int) -> None:
        before = self.others(sender)
        start = len(self.request.calls)
        await self.application.process_update(Update.de_json(copy.deepcopy(raw), self.application.bot))
        # Work a handler started in the background (a command that ends a prompt) belongs to this update.
        background = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        if background:
            await asyncio.wait(background, timeout=5)
        assert not self.errors, (raw, self.errors)
        assert self.others(sender) == before, ("another user's data changed", raw)
        self.check_calls(start)
        self.previous = raw

    async def run(self, script: list[tuple[int, str | None, int, tuple[str, Any]]]) -> None:
        for user_id, language, shift, act in script:
            if act[0] == "walk":
                for step_act in WALK + ([("tap", "in:submit:OWN_DRAFT")] if act[1] else []):
                    walked = await self.build(user_id, language, 0, step_act)
                    assert walked is not None, step_act  # only a duplicate may have nothing to send
                    await self.feed(walked, user_id)
                continue
            raw = await self.build(user_id, language, shift, act)
            if raw is None:
                continue
            sender = user_id if act[0] != "duplicate" else _sender(raw)
            await self.feed(raw, sender)


WALK: list[tuple[str, Any]] = [
    ("text", "/new"), ("tap", "in:restart"), ("tap", "in:cat:wages"), ("tap", "in:unit:oilfield"),
    ("tap", "in:unit:plant-1"), ("text", "加班费 <b>未发</b> & 拖欠"), ("text", "十月份加班费至今未发放。"),
    ("tap", "in:done"), ("tap", "in:id:real"),
]


def _sender(raw: dict[str, Any]) -> int:
    for key, value in raw.items():
        if key != "update_id":
            return int(value.get("from", {}).get("id", 0))
    return 0


def test_hostile_updates_never_crash_leak_or_break_html(org: Organization, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    harness = loop.run_until_complete(Harness.create(org, tmp_path / "hostile.db"))

    @settings(max_examples=200, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(script=scripts)
    def check(script: list[tuple[int, str | None, int, tuple[str, Any]]]) -> None:
        loop.run_until_complete(harness.run(script))

    try:
        check()
        # The corpus reached the bot's real answers, not only refusals.
        sent = " ".join(c.text for c in harness.request.calls)
        assert "第 1/7 步" in sent and "第 7/7 步" in sent and "已登记" in sent
        assert "仅供信访工作人员使用" in sent
        victim = loop.run_until_complete(harness.store.cases.get_draft(VICTIM))
        assert victim is not None and victim.step == "details"
    finally:
        loop.run_until_complete(harness.close())
        loop.close()
