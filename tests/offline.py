"""PTB's offline request pattern: a request class that answers the Bot API locally.

Handlers run for real (``Application.process_update``) while every API call
is recorded and answered with a plausible result, with no network at all.
Updates are built with small message builders, as in PTB's ``tests/auxil``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

BOT = {"id": 4242, "is_bot": True, "first_name": "信访", "username": "petition_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


def buttons_of(markup: InlineKeyboardMarkup | None) -> list[tuple[str, str]]:
    """Each inline button's label and callback data, row by row (the bot's buttons carry a string)."""
    out = []
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            assert isinstance(button.callback_data, str), button
            out.append((button.text, button.callback_data))
    return out


@dataclass
class OfflineRequest(BaseRequest):
    calls: list[Call] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append(Call(api_method, params))
        return 200, json.dumps({"ok": True, "result": self._result(api_method, params)}).encode()

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {**BOT, "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
        if method.startswith("send") or method.startswith("edit"):
            chat_id = int(params.get("chat_id", 0) or 0)
            message = {
                "message_id": int(params.get("message_id", next(self._ids))),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": BOT,
            }
            if "text" in params:
                message["text"] = params["text"]
            markup = params.get("reply_markup")
            markup = json.loads(markup) if isinstance(markup, str) else markup
            if markup and "inline_keyboard" in markup:  # as Telegram: a ForceReply is not echoed
                message["reply_markup"] = markup
            return message
        if method in ("getUpdates", "getMyCommands"):
            return []
        return True

    def texts_to(self, chat_id: int | None) -> list[str]:
        assert chat_id is not None, "a chat to look in"
        return [c.text for c in self.calls if c.method in ("sendMessage", "editMessageText")
                and int(c.params.get("chat_id", 0) or 0) == chat_id]

    def last_to(self, chat_id: int | None) -> Call:
        assert chat_id is not None, "a chat to look in"
        for call in reversed(self.calls):
            if call.method in ("sendMessage", "editMessageText") and int(call.params.get("chat_id", 0) or 0) == chat_id:
                return call
        raise AssertionError(f"nothing was sent to {chat_id}")


class Updates:
    """Message builders: private-chat updates from one user, with increasing ids."""

    _update_ids = itertools.count(1)
    _message_ids = itertools.count(1)

    def __init__(self, user_id: int | None, first_name: str = "张三", language_code: str = "zh-hans") -> None:
        assert user_id is not None, "an update comes from a person"  # tests pass an Actor's id
        self.user_id = user_id
        self.user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": self.user["id"], "type": "private", "first_name": self.user["first_name"]},
            "from": self.user,
            **fields,
        }

    def text(self, text: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": self._message(**fields)}

    def edited(self, text: str) -> dict[str, Any]:
        message = self._message(text=text, edit_date=int(time.time()))
        return {"update_id": next(self._update_ids), "edited_message": message}

    def sticker(self) -> dict[str, Any]:
        sticker = {"file_id": "S1", "file_unique_id": "s1", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False}
        return {"update_id": next(self._update_ids), "message": self._message(sticker=sticker)}

    def photo(self, size: int = 1000) -> dict[str, Any]:
        n = next(self._message_ids)
        photo = [{"file_id": f"P{n}", "file_unique_id": f"p{n}", "width": 800, "height": 600, "file_size": size}]
        return {"update_id": next(self._update_ids), "message": self._message(photo=photo)}

    def contact(self, phone: str, user_id: int | None = None, *, own: bool = True) -> dict[str, Any]:
        """A contact shared with Telegram's button: ``user_id`` whose contact it is (default the sender's own,
        as Telegram attests it); ``own=False``: a contact card without an account."""
        contact: dict[str, Any] = {"phone_number": phone, "first_name": self.user["first_name"]}
        if user_id is not None:
            contact["user_id"] = user_id
        elif own:
            contact["user_id"] = self.user["id"]
        return {"update_id": next(self._update_ids), "message": self._message(contact=contact)}

    def users_shared(self, user_id: int, first_name: str, request_id: int = 1) -> dict[str, Any]:
        """The answer of a request_users button: the person the user picked."""
        shared = {"request_id": request_id, "users": [{"user_id": user_id, "first_name": first_name}]}
        return {"update_id": next(self._update_ids), "message": self._message(users_shared=shared)}

    def tap(self, data: str) -> dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._update_ids)),
                "from": self.user,
                "chat_instance": "ci",
                "data": data,
                "message": self._message(text="…"),
            },
        }


def update(raw: dict[str, Any], bot: Any) -> Update:
    return Update.de_json(raw, bot)


@contextlib.asynccontextmanager
async def offline_app(
    store: Any, request: OfflineRequest | None = None
) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    """The production Application wired to ``store``, its Bot API answered offline.

    The rate limiter is left out: these tests send hundreds of calls at once.
    """
    from bot.app import build_application

    request = request or OfflineRequest()
    application = build_application(
        store,
        "123:TEST",
        base_url="http://offline.invalid/bot",
        base_file_url="http://offline.invalid/file/bot",
        request=request,
        paced=False,
    )
    await application.initialize()
    try:
        yield application, request
    finally:
        await application.shutdown()


async def feed(application: Application, raw: dict[str, Any]) -> None:
    """Handle one update exactly as polling would hand it over: through the application's update
    processor (bot/updates.py), which also handles what a handler hands on before it returns."""
    parsed = update(raw, application.bot)
    await application.update_processor.process_update(parsed, application.process_update(parsed))


async def fill_opinion(application: Application, request: OfflineRequest, user: Updates, chat_id: int) -> None:
    """The written opinion's form after a one-line /decide (handlers/opinion.py): keep the request, give the
    facts and the basis, keep the opinion typed with the command, then 出具."""
    await feed(application, user.tap("op:k"))
    await feed(application, user.text("经调查核实，情况属实。"))
    await feed(application, user.text("公司有关管理规定。"))
    await feed(application, user.tap("op:k"))
    submit = next(data for _label, data in request.last_to(chat_id).buttons() if data.startswith("op:ok:"))
    await feed(application, user.tap(submit))
