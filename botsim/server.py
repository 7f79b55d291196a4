"""The fake Telegram: an aiohttp server on loopback, the Bot API methods it models.

Every request is checked against the method's signature (``botsim.methods``)
and Telegram's text rules (``botsim.formatting``) before it changes the chat
state (``botsim.state``) a test inspects.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from botsim.errors import ApiError, JSONDict, bad_request
from botsim.formatting import (
    MAX_CAPTION_LENGTH,
    check_markup,
    check_text,
    format_text,
    utf16_len,
)
from botsim.methods import counts_as_send, decode, load_method_specs, validate
from botsim.state import (
    MAX_DOWNLOAD_SIZE,
    SimChat,
    SimFile,
    SimMessage,
    SimState,
    UploadedFile,
    media_payload,
    mime_for,
)

_LOGGER = logging.getLogger(__name__)

MAX_CALLBACK_ANSWER_LENGTH = 200
#: Uploads are accepted up to Telegram's 50 MB, plus room for the multipart framing.
MAX_REQUEST_SIZE = 52 * 1024 * 1024

#: Update types Telegram delivers when a bot never asked for specific ones.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")

_CAPTIONED_KINDS = frozenset({"photo", "document", "voice", "video", "audio", "animation"})


@dataclass
class Faults:
    """Random failures for fault tests: a share of matching calls fails before it runs.

    ``kinds`` may contain "429" (Too Many Requests with ``retry_after``), "500"
    (Internal Server Error) and "timeout" (no answer for ``hang_seconds``, then
    the connection is closed).  ``methods`` limits faults to those methods
    (case-insensitive); None means every method, getUpdates included.
    ``chats`` limits them to calls for those chats (the call's ``chat_id``),
    and ``limit`` to that many faults in all (then every call succeeds): a
    chat held by a 429 of its own, beside chats that are not.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "500", "timeout")
    methods: Collection[str] | None = None
    retry_after: int = 1
    seed: int | None = None
    hang_seconds: float = 10.0
    chats: Collection[int] | None = None
    limit: int | None = None
    _rng: random.Random = field(init=False, repr=False)
    _methods: frozenset[str] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - {"429", "500", "timeout"}
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self._rng = random.Random(self.seed)
        self._methods = None if self.methods is None else frozenset(m.lower() for m in self.methods)

    def pick(self, method: str, chat_id: object = None) -> str | None:
        """Decide whether this call (for ``chat_id``, if it names one) fails, and how."""
        if not self.kinds or (self._methods is not None and method.lower() not in self._methods):
            return None
        if self.chats is not None and str(chat_id) not in {str(chat) for chat in self.chats}:
            return None
        if self.limit is not None and self.limit <= 0:
            return None
        if self._rng.random() >= self.rate:
            return None
        if self.limit is not None:
            self.limit -= 1
        return self._rng.choice(self.kinds)


@dataclass(frozen=True)
class RateLimits:
    """Telegram's documented broadcast limits, enforced when ``enforce_rate_limits`` is on."""

    global_per_second: int = 30
    private_per_second: int = 1
    group_per_minute: int = 20


@dataclass
class SimStats:
    """Counters a fault or load test asserts on."""

    requests: int = 0
    errors: int = 0  # every answer with ok=false, faults included
    faults_429: int = 0
    faults_500: int = 0
    faults_timeout: int = 0
    rate_limited: int = 0  # 429s caused by enforce_rate_limits

    @property
    def too_many_requests(self) -> int:
        """All 429 answers, injected and rate-limit ones."""
        return self.faults_429 + self.rate_limited


# --------------------------------------------------------------------------- server


Handler = Callable[[JSONDict, dict[str, UploadedFile]], Awaitable[Any]]


class BotApiSimulator(SimState):
    """The fake Telegram: an aiohttp server in front of the state tests inspect.

    ``strict`` refuses parameters the method does not have (Telegram itself
    ignores them silently, which hides typos).  All state lives in memory and is
    served from the running asyncio loop.
    """

    def __init__(
        self,
        token: str = "123:TEST",
        bot_username: str = "petition_test_bot",
        strict: bool = True,
        *,
        bot_name: str = "Petition Test Bot",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        enforce_rate_limits: bool = False,
        rate_limits: RateLimits = RateLimits(),
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        self.strict = strict
        self.host = host
        self.port = port
        self.faults = faults
        self.enforce_rate_limits = enforce_rate_limits
        self.rate_limits = rate_limits
        self.bot_user: JSONDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.calls: list[tuple[str, JSONDict, JSONDict]] = []
        self.stats = SimStats()
        self.webhook_url = ""
        self.menu_buttons: dict[int | None, JSONDict] = {}

        self._specs = load_method_specs()
        self._canonical = {name.lower(): name for name in self._specs}
        self._handlers: dict[str, Handler] = self._build_handlers()
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._sent_all: deque[float] = deque()
        self._sent_per_chat: dict[int, deque[float]] = {}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- lifecycle
    async def start(self) -> None:
        """Start serving on ``host:port`` (port 0 picks a free one) in the running loop."""
        app = web.Application(client_max_size=MAX_REQUEST_SIZE)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._closing.clear()
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        _LOGGER.debug("Bot API simulator listening on %s", self.base_url)

    async def stop(self) -> None:
        """Stop serving; pending long polls return at once so clients shut down quickly."""
        self._closing.set()
        self._updates_event.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: PTB appends ``token/method``."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's ``base_file_url``: PTB appends ``token/file_path``."""
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def polls(self) -> int:
        """getUpdates calls begun so far: a test waits for a long poll to begin on this."""
        return self._poll_generation

    # -- test-side API
    def commands(self, scope: object = None, language_code: str = "") -> list[JSONDict]:
        """What setMyCommands stored for this scope (a dict or PTB BotCommandScope) and language."""
        return [dict(c) for c in self._commands.get((_scope_key(scope), language_code), [])]

    def calls_to(self, method: str) -> list[JSONDict]:
        """Parameters of every call of ``method`` (case-insensitive), oldest first."""
        return [params for name, params, _ in self.calls if name.lower() == method.lower()]

    # -- HTTP
    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests += 1
        name = request.match_info["method"]
        params: JSONDict = {}
        fault: str | None = None
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            method = self._canonical.get(name.lower())
            if method is None:
                raise ApiError(404, "Not Found: method not found")
            name = method
            params, files = await self._read_params(request, self._specs[method])
            fault = self.faults.pick(method, params.get("chat_id")) if self.faults else None
            if fault == "timeout" and self.faults is not None:
                return await self._hang(request, self.faults.hang_seconds)
            if fault is not None:
                raise self._fault_error(fault)
            self._validate(method, params)
            if self.enforce_rate_limits and counts_as_send(method):
                self._check_rate(params.get("chat_id"))
            handler = self._handlers.get(method, _always_true)
            body: JSONDict = {"ok": True, "result": await handler(params, files)}
            status = 200
        except ApiError as exc:
            body, status = exc.body(), exc.status
        except asyncio.CancelledError:
            # A dropped long poll or a simulated timeout: logged, but no answer is sent.
            reason = "simulated timeout" if fault == "timeout" else "client disconnected"
            self.calls.append(
                (name, params, {"ok": False, "description": f"{reason}: no answer sent"})
            )
            raise
        except Exception as exc:  # a simulator bug must reach the test, not vanish in aiohttp
            _LOGGER.exception("simulator failed on %s", name)
            body = {
                "ok": False,
                "error_code": 500,
                "description": f"Internal Server Error: simulator bug: {exc!r}",
            }
            status = 500
        if not body["ok"]:
            self.stats.errors += 1
        self.calls.append((name, params, body))
        return web.json_response(body, status=status, dumps=_dumps)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.stats.requests += 1
        if request.match_info["token"] != self.token:
            body = ApiError(401, "Unauthorized").body()
            self.calls.append(("<download>", {"file_path": path}, body))
            return web.json_response(body, status=401)
        file = self._files_by_path.get(path)
        if file is None or file.data is None:
            body = ApiError(404, "Not Found").body()
            self.calls.append(("<download>", {"file_path": path}, body))
            return web.json_response(body, status=404)
        self.calls.append(("<download>", {"file_path": path}, {"ok": True, "size": len(file.data)}))
        return web.Response(
            body=file.data, content_type=file.mime_type or "application/octet-stream"
        )

    async def _hang(self, request: web.Request, seconds: float) -> web.StreamResponse:
        """Simulate a request that never gets an answer: wait, then drop the connection."""
        self.stats.faults_timeout += 1
        self.stats.errors += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError

    def _fault_error(self, kind: str) -> ApiError:
        if kind == "429":
            self.stats.faults_429 += 1
            retry = self.faults.retry_after if self.faults else 1
            return ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        self.stats.faults_500 += 1
        return ApiError(500, "Internal Server Error")

    async def _read_params(
        self, request: web.Request, spec: dict[str, JSONDict]
    ) -> tuple[JSONDict, dict[str, UploadedFile]]:
        """Collect parameters from the query string and any body PTB or a human may send."""
        texts: dict[str, str] = dict(request.query)
        native: JSONDict = {}
        files: dict[str, UploadedFile] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON body") from None
                if not isinstance(body, dict):
                    raise bad_request("JSON body must be an object")
                native.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(
                            value.filename, value.content_type, value.file.read()
                        )
                    else:
                        texts[key] = str(value)
        params: JSONDict = {}
        for key, value in texts.items():
            params[key] = decode(key, value, spec.get(key, {}).get("types"))
        for key, value in native.items():
            params[key] = (
                str(value)
                if spec.get(key, {}).get("types") == ["String"] and isinstance(value, (int, float))
                else value
            )
        # A file part named like a field is that field's value; others are attach:// targets.
        for key in [k for k in files if k in spec]:
            params[key] = files.pop(key)
        return params, files

    def _validate(self, method: str, params: JSONDict) -> None:
        validate(self._specs[method], params, strict=self.strict)

    def _check_rate(self, chat_id: Any) -> None:
        """Refuse sends over Telegram's broadcast limits with a realistic retry_after."""
        now = asyncio.get_running_loop().time()
        windows = [(self._sent_all, 1.0, self.rate_limits.global_per_second)]
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is not None:
            queue = self._sent_per_chat.setdefault(chat.id, deque())
            if chat.type == "private":
                windows.append((queue, 1.0, self.rate_limits.private_per_second))
            else:
                windows.append((queue, 60.0, self.rate_limits.group_per_minute))
        for queue, window, cap in windows:
            while queue and queue[0] <= now - window:
                queue.popleft()
            if len(queue) >= cap:
                retry = max(1, math.ceil(queue[0] + window - now))
                self.stats.rate_limited += 1
                raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        for queue, _, _ in windows:
            queue.append(now)

    # -- method handlers
    def _build_handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "sendLocation": self._send_location,
            "sendVenue": self._send_venue,
            "sendContact": self._send_contact,
            "sendPoll": self._send_poll,
            "sendDice": self._send_dice,
        }
        for method, kind in (
            ("sendPhoto", "photo"),
            ("sendDocument", "document"),
            ("sendVoice", "voice"),
            ("sendVideo", "video"),
            ("sendAudio", "audio"),
            ("sendAnimation", "animation"),
            ("sendSticker", "sticker"),
            ("sendVideoNote", "video_note"),
        ):
            handlers[method] = functools.partial(self._send_media, kind)
        return handlers

    async def _get_me(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> list[JSONDict]:
        """Long polling: confirm by offset, answer at once when updates exist, else wait."""
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params:
            allowed = params["allowed_updates"] or []
            self._allowed_updates = frozenset(allowed) if allowed else None
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_event.set()  # a concurrent poll must notice it is superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            self._confirm(offset)
            ready = self._ready_updates(limit)
            if ready:
                delivered = {id(u) for u in ready}
                self._redeliveries = [u for u in self._redeliveries if id(u) not in delivered]
                return ready
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing.is_set():
                return []
            self._updates_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_event.wait(), remaining)

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def _ready_updates(self, limit: int) -> list[JSONDict]:
        def allowed(update: JSONDict) -> bool:
            kind = next(k for k in update if k != "update_id")
            if self._allowed_updates is None:
                return kind not in _DEFAULT_EXCLUDED_UPDATES
            return kind in self._allowed_updates

        # Updates the bot did not ask for are dropped, as Telegram never stores them for it.
        self._pending = [u for u in self._pending if allowed(u)]
        self._redeliveries = [u for u in self._redeliveries if allowed(u)]
        return (self._redeliveries + self._pending)[:limit]

    async def _set_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = params["url"]
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _delete_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
            self._redeliveries.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    async def _set_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        commands = params["commands"]
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request(
                "BOT_COMMANDS_TOO_MUCH"
                if isinstance(commands, list)
                else "can't parse commands JSON object"
            )
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> list[JSONDict]:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    async def _delete_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        self._commands.pop(
            (_scope_key(params.get("scope")), params.get("language_code") or ""), None
        )
        return True

    async def _set_chat_menu_button(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._resolve_chat(chat_id).id
        self.menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._resolve_chat(chat_id).id
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}

    def _resolve_chat(self, chat_id: Any) -> SimChat:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == chat_id[1:].lower():
                    return chat
        elif isinstance(chat_id, int) and chat_id in self._chats:
            return self._chats[chat_id]
        raise bad_request("chat not found")

    def _chat_for_send(self, params: JSONDict) -> SimChat:
        chat = self._resolve_chat(params["chat_id"])
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _reply_target(self, chat: SimChat, params: JSONDict) -> int | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            return None
        message_id = reply.get("message_id")
        source = self._resolve_chat(reply["chat_id"]) if "chat_id" in reply else chat
        target = source.store.get(message_id) if isinstance(message_id, int) else None
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return message_id if source is chat else None

    def _new_bot_message(
        self, chat: SimChat, kind: str, params: JSONDict, **fields: Any
    ) -> SimMessage:
        markup = check_markup(params.get("reply_markup"))
        message = SimMessage(
            chat_id=chat.id,
            message_id=chat.take_message_id(),
            date=int(time.time()),
            sender=self.bot_user,
            from_bot=True,
            kind=kind,
            reply_markup=markup,
            reply_to_message_id=self._reply_target(chat, params),
            **fields,
        )
        if markup and ("keyboard" in markup or "remove_keyboard" in markup):
            chat.reply_keyboard = markup if "keyboard" in markup else None
        chat.store[message.message_id] = message
        self._touch(message)
        return message

    def _caption_fields(self, params: JSONDict) -> JSONDict:
        caption = params.get("caption")
        if caption is None:
            return {}
        plain, entities = format_text(
            caption, params.get("parse_mode"), params.get("caption_entities")
        )
        if utf16_len(plain) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return {
            "caption": caption,
            "plain_caption": plain,
            "caption_entities": entities,
            "parse_mode": params.get("parse_mode"),
        }

    async def _send_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for_send(params)
        text = params["text"]
        plain, entities = check_text(text, params.get("parse_mode"), params.get("entities"))
        message = self._new_bot_message(
            chat,
            "text",
            params,
            text=text,
            plain_text=plain,
            entities=entities,
            parse_mode=params.get("parse_mode"),
        )
        return self._message_api(message)

    def _input_file(self, value: Any, files: dict[str, UploadedFile], kind: str) -> SimFile:
        """Turn an InputFile-or-String value into a stored file (never fetching URLs)."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = files.get(value.removeprefix("attach://"))
            if value is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        if isinstance(value, UploadedFile):
            return self._register_file(kind, value.data, value.filename, mime_for(kind, value))
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            # The network is closed: the URL's file is stored as an empty stand-in.
            return self._register_file(kind, b"", value.rsplit("/", 1)[-1] or None, None)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        raise bad_request("wrong file identifier/HTTP URL specified")

    async def _send_media(
        self, kind: str, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict:
        chat = self._chat_for_send(params)
        file = self._input_file(params[kind], files, kind)
        message = self._new_bot_message(
            chat,
            kind,
            params,
            file_id=file.file_id,
            payload=media_payload(file, params),
            **self._caption_fields(params),
        )
        return self._message_api(message)

    async def _send_media_group(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> list[JSONDict]:
        chat = self._chat_for_send(params)
        media = params["media"]
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the album, must be 2-10")
        prepared = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "audio", "document"):
                raise bad_request("can't parse InputMedia: unsupported media type")
            file = self._input_file(item.get("media"), files, kind)
            prepared.append((kind, file, item, self._caption_fields(item)))
        group_id = str(10**17 + self._next_id())
        results = []
        for kind, file, item, caption in prepared:
            message = self._new_bot_message(
                chat,
                kind,
                params,
                file_id=file.file_id,
                payload=media_payload(file, item),
                extra={"media_group_id": group_id},
                **caption,
            )
            results.append(self._message_api(message))
        return results

    async def _send_location(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for_send(params)
        location = {"latitude": params["latitude"], "longitude": params["longitude"]}
        message = self._new_bot_message(chat, "location", params, payload={"location": location})
        return self._message_api(message)

    async def _send_venue(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for_send(params)
        location = {"latitude": params["latitude"], "longitude": params["longitude"]}
        venue = {"location": location, "title": params["title"], "address": params["address"]}
        message = self._new_bot_message(
            chat, "venue", params, payload={"venue": venue, "location": location}
        )
        return self._message_api(message)

    async def _send_contact(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for_send(params)
        contact = {
            k: params[k]
            for k in ("phone_number", "first_name", "last_name", "vcard")
            if k in params
        }
        message = self._new_bot_message(chat, "contact", params, payload={"contact": contact})
        return self._message_api(message)

    async def _send_poll(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for_send(params)
        options = [o.get("text", "") if isinstance(o, dict) else str(o) for o in params["options"]]
        if not 2 <= len(options) <= 12:
            raise bad_request("POLL_OPTIONS_INVALID")
        message = self._new_bot_message(
            chat, "poll", params, payload={"poll": self._poll(params["question"], options)}
        )
        return self._message_api(message)

    async def _send_dice(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for_send(params)
        dice = {"emoji": params.get("emoji") or "🎲", "value": 1 + self._next_id() % 6}
        message = self._new_bot_message(chat, "dice", params, payload={"dice": dice})
        return self._message_api(message)

    def _find_message(self, params: JSONDict, action: str) -> SimMessage:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        if "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self._resolve_chat(params["chat_id"])
        message = chat.store.get(params["message_id"])
        if message is None or message.deleted:
            raise bad_request(f"message to {action} not found")
        return message

    def _editable(self, params: JSONDict) -> SimMessage:
        message = self._find_message(params, "edit")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: SimMessage, **changes: Any) -> JSONDict:
        message.history.append(message.snapshot())
        for key, value in changes.items():
            setattr(message, key, value)
        message.edit_date = int(time.time())
        self._touch(message)
        return self._message_api(message)

    async def _edit_message_text(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict:
        message = self._editable(params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        plain, entities = check_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        # Telegram drops the inline keyboard when an edit does not repeat it.
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        if (
            plain == message.plain_text
            and entities == message.entities
            and markup == _inline(message)
        ):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        return self._apply_edit(
            message,
            text=params["text"],
            plain_text=plain,
            entities=entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
        )

    async def _edit_message_caption(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict:
        message = self._editable(params)
        if message.kind not in _CAPTIONED_KINDS:
            raise bad_request("there is no caption in the message to edit")
        caption = self._caption_fields(params) or {
            "caption": None,
            "plain_caption": None,
            "caption_entities": [],
            "parse_mode": None,
        }
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        if (
            caption["plain_caption"] == message.plain_caption
            and caption["caption_entities"] == message.caption_entities
            and markup == _inline(message)
        ):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        return self._apply_edit(message, reply_markup=markup, **caption)

    async def _edit_message_reply_markup(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict:
        message = self._editable(params)
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        if markup == _inline(message):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        return self._apply_edit(message, reply_markup=markup)

    async def _delete_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        message = self._find_message(params, "delete")
        message.deleted = True
        self._changed.set()
        return True

    async def _delete_messages(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._resolve_chat(params["chat_id"])
        for message_id in params["message_ids"]:
            if message_id in chat.store:
                chat.store[message_id].deleted = True
        self._changed.set()
        return True

    async def _answer_callback_query(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> bool:
        record = self._callbacks.get(params["callback_query_id"])
        if record is None or record.answer is not None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(params.get("text") or "") > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answer = dict(params)
        self._callback_answers.setdefault(record.user_id, []).append(record.answer)
        return True

    def _source_message(self, params: JSONDict, action: str) -> SimMessage:
        source = self._resolve_chat(params["from_chat_id"]).store.get(params["message_id"])
        if source is None or source.deleted:
            raise bad_request(f"message to {action} not found")
        return source

    async def _copy_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for_send(params)
        source = self._source_message(params, "copy")
        content: JSONDict = {"payload": dict(source.payload), "file_id": source.file_id}
        if source.kind == "text":
            content.update(
                text=source.plain_text, plain_text=source.plain_text, entities=list(source.entities)
            )
        elif "caption" in params:
            content.update(self._caption_fields(params))
        else:
            content.update(
                caption=source.plain_caption,
                plain_caption=source.plain_caption,
                caption_entities=list(source.caption_entities),
            )
        message = self._new_bot_message(chat, source.kind, params, **content)
        return {"message_id": message.message_id}

    async def _forward_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for_send(params)
        source = self._source_message(params, "forward")
        origin = {"type": "user", "sender_user": source.sender, "date": source.date}
        message = self._new_bot_message(
            chat,
            source.kind,
            {},
            text=source.plain_text,
            plain_text=source.plain_text,
            entities=list(source.entities),
            caption=source.plain_caption,
            plain_caption=source.plain_caption,
            caption_entities=list(source.caption_entities),
            file_id=source.file_id,
            payload=dict(source.payload),
            extra={"forward_origin": source.extra.get("forward_origin", origin)},
        )
        return self._message_api(message)

    async def _get_file(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        file = self._files.get(params["file_id"])
        if file is None:
            raise bad_request("invalid file_id")
        if file.size > MAX_DOWNLOAD_SIZE:
            raise bad_request("file is too big")
        return {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": file.size,
            "file_path": file.file_path,
        }

    async def _send_chat_action(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._chat_for_send(params)
        if params["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.actions.append(params["action"])
        return True

    async def _get_chat(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._resolve_chat(params["chat_id"])
        return {
            **chat.api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._resolve_chat(params["chat_id"])
        user_id = params["user_id"]
        if user_id == self.bot_user["id"]:
            user = self.bot_user
        elif user_id in self._users:
            user = self._users[user_id].info
        else:
            raise bad_request("user not found")
        if chat.type == "private":
            status = "member" if user_id in (chat.id, self.bot_user["id"]) else "left"
        else:
            status = chat.members.get(user_id, "left")
        return _chat_member(status, user)


# --------------------------------------------------------------------------- helpers


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


async def _always_true(params: JSONDict, files: dict[str, UploadedFile]) -> bool:
    """Answer for valid calls of methods the simulator does not model."""
    return True


def _scope_key(scope: object) -> str:
    """Commands are stored per scope; PTB objects and their dict form must land on one key."""
    to_dict = getattr(scope, "to_dict", None)
    return json.dumps((to_dict() if to_dict else scope) or {"type": "default"}, sort_keys=True)


def _inline(message: SimMessage) -> JSONDict | None:
    return message.reply_markup if message.inline_keyboard else None


def _chat_member(status: str, user: JSONDict) -> JSONDict:
    """A ChatMember object with the fields each status requires."""
    member: JSONDict = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            {
                key: key != "is_anonymous"
                for key in (
                    "can_be_edited",
                    "is_anonymous",
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_promote_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                )
            }
        )
        member["can_be_edited"] = False
    elif status == "kicked":
        member["until_date"] = 0
    elif status not in ("member", "left"):
        raise bad_request(f"unsupported simulated member status {status!r}")
    return member
