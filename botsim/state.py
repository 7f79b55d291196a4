"""What the simulated Telegram remembers: chats, messages, files, and the people in them.

``SimState`` holds it all (the server in ``botsim.server`` serves it);
``SimUser`` is the test's hand: it acts like a person (send, tap, edit) and
waits for the bot's answers in its chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import re
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botsim.errors import JSONDict
from botsim.formatting import utf16_len

#: getFile refuses files bigger than this (Bot API: "up to 20 MB in size"); bigger
#: files a user sends are only sized, never filled.
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024

#: File kinds: Telegram's folder in ``file_path`` and the default extension.
FILE_FOLDERS = {
    "photo": ("photos", ".jpg"),
    "document": ("documents", ".bin"),
    "voice": ("voice", ".oga"),
    "video": ("videos", ".mp4"),
    "audio": ("music", ".mp3"),
    "animation": ("animations", ".mp4"),
    "sticker": ("stickers", ".webp"),
    "video_note": ("video_notes", ".mp4"),
}

DEFAULT_MIME = {
    "photo": "image/jpeg",
    "document": "application/octet-stream",
    "voice": "audio/ogg",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "animation": "video/mp4",
    "sticker": "image/webp",
    "video_note": "video/mp4",
}

#: How long ``wait_for`` waits by default. A wait ends as soon as the message comes, so a long
#: default costs a passing test nothing; it is long because a loaded test machine (four workers
#: on two cores) sometimes needs seconds for a PDF or a bot process, and a test should fail on
#: what the bot said, not on the machine's load. A test that expects silence passes its own.
DEFAULT_WAIT = 20.0


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (PTB uploads files this way)."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class SimFile:
    """A file the simulated Telegram knows: uploaded by the bot or sent by a user."""

    file_id: str
    file_unique_id: str
    kind: str
    file_path: str
    size: int
    data: bytes | None
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(eq=False)
class SimMessage:
    """One message in a chat, as Telegram stores it; bot messages also keep the raw input."""

    chat_id: int
    message_id: int
    date: int
    sender: JSONDict
    from_bot: bool
    kind: str  # "text", "photo", "document", "voice", "video", "location", ...
    text: str | None = None  # raw text as sent (the HTML source for bot messages)
    plain_text: str | None = None  # what a person sees
    parse_mode: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    caption: str | None = None  # raw caption as sent
    plain_caption: str | None = None
    caption_entities: list[JSONDict] = field(default_factory=list)
    reply_markup: JSONDict | None = None
    file_id: str | None = None
    payload: JSONDict = field(default_factory=dict)  # kind-specific API fields
    extra: JSONDict = field(default_factory=dict)  # media_group_id, forward_origin, ...
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    history: list[JSONDict] = field(default_factory=list)  # state before each edit
    deleted: bool = False
    seq: int = 0  # simulator-wide change counter, used by SimUser.wait_for

    @property
    def visible_text(self) -> str:
        """Text or caption as the user sees it (empty string if neither)."""
        return self.plain_text or self.plain_caption or ""

    @property
    def inline_keyboard(self) -> list[list[JSONDict]]:
        """Rows of inline buttons, empty when the message has none."""
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            rows: list[list[JSONDict]] = self.reply_markup["inline_keyboard"]
            return rows
        return []

    @property
    def buttons(self) -> list[JSONDict]:
        """All inline buttons, row by row."""
        return [button for row in self.inline_keyboard for button in row]

    @property
    def button_texts(self) -> list[str]:
        """The labels of all inline buttons, row by row."""
        return [button.get("text", "") for button in self.buttons]

    def snapshot(self) -> JSONDict:
        """The editable state, as recorded in :attr:`history` before an edit."""
        return {
            "date": self.edit_date or self.date,
            "text": self.text,
            "plain_text": self.plain_text,
            "parse_mode": self.parse_mode,
            "caption": self.caption,
            "plain_caption": self.plain_caption,
            "reply_markup": self.reply_markup,
        }

    def describe(self) -> str:
        """One line for assertion messages."""
        who = "bot" if self.from_bot else self.sender.get("first_name", "user")
        flags = " (deleted)" if self.deleted else ""
        flags += " (edited)" if self.edit_date else ""
        buttons = f" buttons={self.button_texts}" if self.buttons else ""
        return f"#{self.message_id} {who} [{self.kind}]{flags}: {self.visible_text!r}{buttons}"


@dataclass(eq=False)
class SimChat:
    """A chat the simulated Telegram knows; bots may only write to known chats."""

    id: int
    type: str  # "private", "group" or "supergroup"
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    #: Statuses for getChatMember; users who write in a group become "member".
    members: dict[int, str] = field(default_factory=dict)
    #: A private chat whose user blocked the bot answers 403 to every send.
    blocked: bool = False
    store: dict[int, SimMessage] = field(default_factory=dict)
    next_message_id: int = 1
    #: The reply keyboard currently shown, as the bot last sent it (None when removed).
    reply_keyboard: JSONDict | None = None
    #: sendChatAction calls, oldest first.
    actions: list[str] = field(default_factory=list)

    def api(self) -> JSONDict:
        """The Chat object as it appears inside a Message."""
        data: JSONDict = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or ""
            if self.last_name:
                data["last_name"] = self.last_name
        else:
            data["title"] = self.title or ""
        if self.username:
            data["username"] = self.username
        return data

    def take_message_id(self) -> int:
        """Allocate the next message id; users and the bot share one counter per chat."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    @property
    def messages(self) -> list[SimMessage]:
        """The bot's messages in this chat that still exist, oldest first, edits applied."""
        return [m for m in self.store.values() if m.from_bot and not m.deleted]

    @property
    def all_messages(self) -> list[SimMessage]:
        """Every message of this chat, the users' and deleted ones included."""
        return list(self.store.values())


@dataclass
class CallbackRecord:
    """Who tapped, and the answer once given (a query may be answered only once)."""

    user_id: int
    answer: JSONDict | None = None


# --------------------------------------------------------------------------- users


class SimUser:
    """A person talking to the bot, bound to one chat (their private chat by default).

    Every action enqueues the update Telegram would deliver and moves this
    user's cursor, so a following :meth:`wait_for` only sees the bot's answer
    to that action.
    """

    def __init__(self, sim: SimState, info: JSONDict, chat: SimChat) -> None:
        self._sim = sim
        self.info = info
        self.chat = chat
        self._cursor = sim.seq

    def __repr__(self) -> str:
        return f"SimUser(id={self.id}, chat={self.chat.id})"

    @property
    def id(self) -> int:
        """The user's Telegram id (also the id of their private chat)."""
        return int(self.info["id"])

    @property
    def chat_id(self) -> int:
        """The chat this view of the user writes in."""
        return self.chat.id

    @property
    def first_name(self) -> str:
        """The user's first name as the bot sees it."""
        return str(self.info["first_name"])

    @property
    def blocked(self) -> bool:
        """Whether the user blocked the bot (sends to their private chat then fail with 403)."""
        return self._sim.chat(self.id).blocked

    @blocked.setter
    def blocked(self, value: bool) -> None:
        self._sim.chat(self.id).blocked = value

    @property
    def messages(self) -> list[SimMessage]:
        """The bot's messages in this chat, oldest first, edits applied, deleted ones left out."""
        return self.chat.messages

    @property
    def last_message(self) -> SimMessage | None:
        """The newest bot message in this chat, if any."""
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Labels of the reply keyboard the bot currently shows in this chat."""
        keyboard = self.chat.reply_keyboard
        if not keyboard:
            return None
        return [
            [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
            for row in keyboard.get("keyboard", [])
        ]

    @property
    def callback_answers(self) -> list[JSONDict]:
        """answerCallbackQuery parameters for this user's taps, oldest first."""
        return list(self._sim._callback_answers.get(self.id, []))

    def in_chat(self, chat: SimChat | int) -> SimUser:
        """The same person writing in another chat (e.g. a group), with its own cursor."""
        target = chat if isinstance(chat, SimChat) else self._sim.chat(chat)
        return SimUser(self._sim, self.info, target)

    # -- actions
    def _mark(self) -> None:
        self._cursor = self._sim.seq

    async def _post(self, kind: str, **fields: Any) -> JSONDict:
        self._mark()
        message = self._sim._add_user_message(self, kind, **fields)
        update = self._sim._enqueue({"message": self._sim._message_api(message)})
        await asyncio.sleep(0)
        return update

    async def send(self, text: str) -> JSONDict:
        """Send a text; a leading ``/command`` (or ``/command@bot``) gets its bot_command entity."""
        entities = []
        match = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if match:
            entities.append(
                {"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
            )
        return await self._post("text", text=text, entities=entities)

    async def send_photo(
        self, caption: str | None = None, *, content: bytes | None = None
    ) -> JSONDict:
        """Send a photo (a tiny PNG unless ``content`` is given)."""
        file = self._sim._register_file(
            "photo", content if content is not None else tiny_png(), "photo.png", "image/png"
        )
        return await self._post("photo", file=file, caption=caption)

    async def send_document(
        self,
        file_name: str = "document.pdf",
        size: int | None = None,
        *,
        mime_type: str = "application/pdf",
        caption: str | None = None,
        content: bytes | None = None,
    ) -> JSONDict:
        """Send a document; ``size`` fakes a file of that many bytes without storing huge data."""
        file = self._sim._register_file("document", content, file_name, mime_type, size=size)
        return await self._post("document", file=file, caption=caption)

    async def send_voice(self, duration: int = 2, *, content: bytes | None = None) -> JSONDict:
        """Send a voice note."""
        file = self._sim._register_file("voice", content, None, "audio/ogg")
        return await self._post("voice", file=file, duration=duration)

    async def send_video(
        self, duration: int = 3, caption: str | None = None, *, content: bytes | None = None
    ) -> JSONDict:
        """Send a video."""
        file = self._sim._register_file("video", content, "video.mp4", "video/mp4")
        return await self._post("video", file=file, caption=caption, duration=duration)

    async def send_sticker(self, emoji: str = "👍") -> JSONDict:
        """Send a sticker."""
        file = self._sim._register_file("sticker", None, None, "image/webp")
        return await self._post("sticker", file=file, emoji=emoji)

    async def send_location(
        self, latitude: float = 39.9042, longitude: float = 116.4074
    ) -> JSONDict:
        """Send a location."""
        return await self._post(
            "location", payload={"location": {"latitude": latitude, "longitude": longitude}}
        )

    async def send_contact(
        self, phone_number: str = "+8613800138000", own: bool = True, first_name: str | None = None
    ) -> JSONDict:
        """Share a contact; ``own=True`` shares the user's own number, as Telegram's button does."""
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or (self.first_name if own else "Contact"),
        }
        if own:
            contact["user_id"] = self.id
        return await self._post("contact", payload={"contact": contact})

    async def send_poll(self, question: str = "?", options: Iterable[str] = ("A", "B")) -> JSONDict:
        """Send a (regular, anonymous) poll."""
        return await self._post("poll", payload={"poll": self._sim._poll(question, options)})

    async def edit(self, message_id: int, text: str) -> JSONDict:
        """Edit one of this user's texts; the bot gets an ``edited_message`` update."""
        self._mark()
        message = self.chat.store.get(message_id)
        if message is None or message.from_bot or message.kind != "text":
            raise AssertionError(
                f"user {self.id} has no text message #{message_id} in chat {self.chat.id}"
            )
        message.history.append(message.snapshot())
        message.text = message.plain_text = text
        message.edit_date = int(time.time())
        update = self._sim._enqueue({"edited_message": self._sim._message_api(message)})
        await asyncio.sleep(0)
        return update

    async def reply_to(self, message: SimMessage | int, text: str) -> JSONDict:
        """Send a text that replies to ``message`` (a bot message or its id)."""
        target = message.message_id if isinstance(message, SimMessage) else message
        if target not in self.chat.store:
            raise AssertionError(f"no message #{target} in chat {self.chat.id}")
        return await self._post("text", text=text, reply_to=target)

    async def tap(
        self,
        text: str | None = None,
        *,
        callback_data: str | None = None,
        message: SimMessage | int | None = None,
    ) -> str:
        """Press an inline button and return the callback query id.

        Looks through the bot's messages in this chat, newest first (or only
        ``message``), for a button labelled ``text`` exactly, then for one whose
        label contains ``text``; or for ``callback_data``.
        """
        if (text is None) == (callback_data is None):
            raise TypeError("tap() needs exactly one of text or callback_data")
        candidates = self._candidates(message)

        def find(match: Callable[[JSONDict], bool]) -> tuple[SimMessage, JSONDict] | None:
            for msg in candidates:
                for button in msg.buttons:
                    if match(button):
                        return msg, button
            return None

        if text is None:
            found = find(lambda b: b.get("callback_data") == callback_data)
        else:
            label = text
            found = find(lambda b: b.get("text") == label) or find(
                lambda b: label in str(b.get("text", ""))
            )
        if found is None:
            visible = (
                "\n".join(f"  #{m.message_id}: {m.button_texts}" for m in candidates if m.buttons)
                or "  (no inline buttons)"
            )
            wanted = f"text {text!r}" if text is not None else f"callback_data {callback_data!r}"
            raise AssertionError(
                f"no inline button with {wanted} in chat {self.chat.id}; "
                f"visible buttons:\n{visible}"
            )
        msg, button = found
        if "callback_data" not in button:
            raise AssertionError(f"button {button.get('text')!r} has no callback_data: {button}")
        return await self.tap_data(msg, button["callback_data"])

    def _candidates(self, message: SimMessage | int | None) -> list[SimMessage]:
        if message is None:
            return list(reversed(self.messages))
        message_id = message.message_id if isinstance(message, SimMessage) else message
        found = self.chat.store.get(message_id)
        if found is None or found.deleted:
            raise AssertionError(f"no message #{message_id} in chat {self.chat.id}")
        return [found]

    async def tap_data(self, message: SimMessage | int, data: str) -> str:
        """Send a callback query with arbitrary (possibly forged) ``data`` for ``message``."""
        self._mark()
        target = self._candidates(message)[0]
        query_id = self._sim._new_callback(self)
        self._sim._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": dict(self.info),
                    "message": self._sim._message_api(target),
                    "chat_instance": str(abs(self.chat.id) * 7919 % 10**12),
                    "data": data,
                }
            }
        )
        await asyncio.sleep(0)
        return query_id

    async def wait_for(
        self,
        text_contains: str | None = None,
        predicate: Callable[[SimMessage], bool] | None = None,
        timeout: float = DEFAULT_WAIT,
        after: SimMessage | int | None = None,
    ) -> SimMessage:
        """Wait for a bot message (new or edited) in this chat that matches.

        Only changes after ``after`` count (a message, or a ``sim.seq`` value);
        by default those since this user's last action or last successful
        wait_for, so consecutive waits walk forward through the conversation.
        """
        cursor = (
            after.seq
            if isinstance(after, SimMessage)
            else (self._cursor if after is None else after)
        )

        def match() -> SimMessage | None:
            fresh = sorted((m for m in self.messages if m.seq > cursor), key=lambda m: m.seq)
            for msg in fresh:
                if text_contains is not None and text_contains not in msg.visible_text:
                    continue
                if predicate is not None and not predicate(msg):
                    continue
                return msg
            return None

        try:
            found = await self._sim._wait_until(match, timeout)
        except TimeoutError:
            recent = (
                "\n".join(f"  {m.describe()}" for m in self.chat.all_messages[-8:]) or "  (none)"
            )
            wanted = (
                f"text containing {text_contains!r}" if text_contains is not None else "a message"
            )
            raise AssertionError(
                f"timed out after {timeout}s waiting for {wanted}"
                f"{' matching the predicate' if predicate else ''} in chat {self.chat.id}; "
                f"last messages:\n{recent}"
            ) from None
        self._cursor = found.seq
        return found


# --------------------------------------------------------------------------- the world


class SimState:
    """What the simulated Telegram remembers, apart from any wire: chats, people, files, updates.

    ``BotApiSimulator`` (botsim.server) serves it over HTTP; ``SimUser`` acts on it as a person
    would, each action enqueueing the update Telegram would deliver.
    """

    def __init__(self) -> None:
        self._chats: dict[int, SimChat] = {}
        self._users: dict[int, SimUser] = {}
        self._files: dict[str, SimFile] = {}
        self._files_by_path: dict[str, SimFile] = {}
        self._callbacks: dict[str, CallbackRecord] = {}
        self._callback_answers: dict[int, list[JSONDict]] = {}
        self._pending: list[JSONDict] = []
        self._redeliveries: list[JSONDict] = []
        self._history: dict[int, JSONDict] = {}
        self._next_update_id = 1
        self._seq = 0
        self._counter = 0
        self._updates_event = asyncio.Event()
        self._changed = asyncio.Event()

    @property
    def seq(self) -> int:
        """Change counter: bumped whenever the bot sends or edits a message."""
        return self._seq

    # -- people and chats
    def user(
        self,
        user_id: int,
        first_name: str = "Tester",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> SimUser:
        """Create (or return the existing) user; their private chat has the same id."""
        if user_id in self._users:
            return self._users[user_id]
        if user_id <= 0:
            raise ValueError("user ids are positive")
        info: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            info["last_name"] = last_name
        if username:
            info["username"] = username
        if language_code:
            info["language_code"] = language_code
        chat = SimChat(
            user_id, "private", first_name=first_name, last_name=last_name, username=username
        )
        self._chats[user_id] = chat
        self._users[user_id] = SimUser(self, info, chat)
        return self._users[user_id]

    def group(
        self, chat_id: int, title: str = "Test group", *, username: str | None = None
    ) -> SimChat:
        """Create (or return the existing) group; ids starting with -100 are supergroups."""
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id >= 0:
            raise ValueError("group ids are negative")
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        self._chats[chat_id] = SimChat(chat_id, kind, title=title, username=username)
        return self._chats[chat_id]

    def chat(self, chat_id: int) -> SimChat:
        """A known chat by id (KeyError if the test never created it)."""
        return self._chats[chat_id]

    # -- updates
    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates enqueued and not yet confirmed by a getUpdates offset."""
        return self._redeliveries + self._pending

    def inject(self, update: JSONDict) -> JSONDict:
        """Enqueue a raw update.

        Without ``update_id`` it gets the next id.  With one, it is delivered
        once more regardless of the bot's offset, which is how Telegram
        redelivers updates a crashed bot never confirmed.
        """
        if "update_id" not in update:
            return self._enqueue(dict(update))
        update = dict(update)
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self._redeliveries.append(update)
        self._history.setdefault(int(update["update_id"]), update)
        self._updates_event.set()
        return update

    async def redeliver(self, update_id: int) -> JSONDict:
        """Deliver an earlier update again, with its original update_id."""
        if update_id not in self._history:
            raise KeyError(f"update {update_id} was never enqueued")
        update = self.inject(json.loads(json.dumps(self._history[update_id])))
        await asyncio.sleep(0)
        return update

    # -- internals shared with SimUser and the server
    def _next_id(self) -> int:
        self._counter += 1
        return self._counter

    def _touch(self, message: SimMessage) -> None:
        self._seq += 1
        message.seq = self._seq
        self._changed.set()

    async def _wait_until(
        self, check: Callable[[], SimMessage | None], timeout: float
    ) -> SimMessage:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = check()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def _enqueue(self, body: JSONDict) -> JSONDict:
        update = {"update_id": self._next_update_id, **body}
        self._next_update_id += 1
        self._pending.append(update)
        self._history[update["update_id"]] = update
        self._updates_event.set()
        return update

    def _register_file(
        self,
        kind: str,
        data: bytes | None,
        file_name: str | None,
        mime_type: str | None,
        *,
        size: int | None = None,
    ) -> SimFile:
        """Store a file and give it ids and a path like Telegram's."""
        if data is None and (size is None or size <= MAX_DOWNLOAD_SIZE):
            data = filler(kind, size if size is not None else 1024)
        number = self._next_id()
        folder, default_ext = FILE_FOLDERS[kind]
        ext = "." + file_name.rsplit(".", 1)[1] if file_name and "." in file_name else default_ext
        file = SimFile(
            file_id=f"sim-{kind}-{number}",
            file_unique_id=f"u{number}",
            kind=kind,
            file_path=f"{folder}/file_{number}{ext}",
            size=len(data) if data is not None else int(size or 0),
            data=data,
            file_name=file_name,
            mime_type=mime_type or DEFAULT_MIME[kind],
        )
        self._files[file.file_id] = file
        self._files_by_path[file.file_path] = file
        return file

    def _add_user_message(
        self,
        user: SimUser,
        kind: str,
        *,
        text: str | None = None,
        entities: list[JSONDict] | None = None,
        caption: str | None = None,
        file: SimFile | None = None,
        payload: JSONDict | None = None,
        reply_to: int | None = None,
        **media_fields: Any,
    ) -> SimMessage:
        chat = user.chat
        if chat.type != "private":
            chat.members.setdefault(user.id, "member")
        message = SimMessage(
            chat_id=chat.id,
            message_id=chat.take_message_id(),
            date=int(time.time()),
            sender=dict(user.info),
            from_bot=False,
            kind=kind,
            text=text,
            plain_text=text,
            entities=entities or [],
            caption=caption,
            plain_caption=caption,
            file_id=file.file_id if file else None,
            payload=payload or (media_payload(file, media_fields) if file else {}),
            reply_to_message_id=reply_to,
        )
        chat.store[message.message_id] = message
        return message

    def _poll(self, question: str, options: Iterable[str]) -> JSONDict:
        return {
            "id": str(self._next_id()),
            "question": question,
            "options": [
                {"persistent_id": str(i), "text": text, "voter_count": 0}
                for i, text in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }

    def _new_callback(self, user: SimUser) -> str:
        query_id = str(4_000_000_000 + self._next_id())
        self._callbacks[query_id] = CallbackRecord(user.id)
        return query_id

    def _message_api(self, message: SimMessage, *, nested: bool = False) -> JSONDict:
        """The Message object for ``message``, as getUpdates and send* return it."""
        data: JSONDict = {
            "message_id": message.message_id,
            "from": message.sender,
            "chat": self._chats[message.chat_id].api(),
            "date": message.date,
        }
        if message.kind == "text":
            data["text"] = message.plain_text or ""
            if message.entities:
                data["entities"] = message.entities
        else:
            data.update(message.payload)
            if message.plain_caption:
                data["caption"] = message.plain_caption
                if message.caption_entities:
                    data["caption_entities"] = message.caption_entities
        if message.inline_keyboard:
            data["reply_markup"] = message.reply_markup
        if message.edit_date:
            data["edit_date"] = message.edit_date
        if message.reply_to_message_id is not None and not nested:
            target = self._chats[message.chat_id].store.get(message.reply_to_message_id)
            if target is not None and not target.deleted:
                data["reply_to_message"] = self._message_api(target, nested=True)
        data.update(message.extra)
        return data


def media_payload(file: SimFile, params: JSONDict) -> JSONDict:
    """The kind-specific Message fields (photo, document, ...) for a stored file."""
    base: JSONDict = {
        "file_id": file.file_id,
        "file_unique_id": file.file_unique_id,
        "file_size": file.size,
    }
    duration = int(params.get("duration") or 1)
    width, height = int(params.get("width") or 640), int(params.get("height") or 480)
    kind = file.kind
    if kind == "photo":
        return {"photo": [{**base, "width": width, "height": height}]}
    if kind in ("document", "audio", "video", "animation") and file.file_name:
        base["file_name"] = file.file_name
    if kind != "sticker":
        base["mime_type"] = file.mime_type
    if kind == "document":
        return {"document": base}
    if kind == "voice":
        return {"voice": {**base, "duration": duration}}
    if kind == "audio":
        extra = {k: params[k] for k in ("title", "performer") if k in params}
        return {"audio": {**base, "duration": duration, **extra}}
    if kind in ("video", "animation"):
        return {kind: {**base, "width": width, "height": height, "duration": duration}}
    if kind == "video_note":
        return {
            "video_note": {**base, "length": int(params.get("length") or 240), "duration": duration}
        }
    sticker: JSONDict = {
        **base,
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    if params.get("emoji"):
        sticker["emoji"] = params["emoji"]
    return {"sticker": sticker}


def mime_for(kind: str, upload: UploadedFile) -> str:
    """Telegram sniffs uploads; PTB labels unknown bytes octet-stream, so guess like Telegram."""
    if upload.content_type and upload.content_type != "application/octet-stream":
        return upload.content_type
    guessed = mimetypes.guess_type(upload.filename)[0] if kind == "document" else None
    return guessed or DEFAULT_MIME[kind]


def tiny_png() -> bytes:
    """A valid 1x1 PNG, so code that inspects downloaded photos gets a real image."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = chunk(b"IHDR", (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0]))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + pixels + chunk(b"IEND", b"")


def filler(kind: str, size: int) -> bytes:
    """Deterministic content for files whose bytes a test does not care about."""
    prefix = b"%PDF-1.4\n" if kind == "document" else f"sim-{kind}\n".encode()
    return (prefix + b"\0" * max(size - len(prefix), 0))[:size] if size else b""
