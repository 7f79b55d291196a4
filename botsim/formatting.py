"""Telegram's text rules: its HTML dialect, entities, UTF-16 lengths, reply markup.

Kept apart from the server so a test can check a rendered text the way
Telegram would (``parse_html``) without starting anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from botsim.errors import JSONDict, bad_request

#: Telegram's limits, in UTF-16 code units after entity parsing.
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Telegram limit and entity offset."""
    return len(text.encode("utf-16-le")) // 2


class _EntityParseError(Exception):
    """Raised by the HTML parser; becomes ``Bad Request: can't parse entities: ...``."""


@dataclass
class _OpenTag:
    tag: str
    entity: JSONDict | None
    start: int  # UTF-16 offset in the plain text where the tag's content begins


_ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
        "tg-time",
    }
)

_SIMPLE_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "pre": "pre",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class _TelegramHTMLParser(HTMLParser):
    """Telegram's HTML dialect on top of :mod:`html.parser`.

    html.parser is deliberately forgiving (a stray ``<`` or ``&`` becomes text,
    ``</>`` disappears); Telegram is not.  So every event is checked to start
    exactly where the previous one ended, and raw ``<``/``&`` in text are errors.
    """

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._source = source
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]
        self._pos = 0  # character offset where the next event must start
        self._plain: list[str] = []
        self._length16 = 0
        self._stack: list[_OpenTag] = []
        self.entities: list[JSONDict] = []

    # -- position bookkeeping
    def _here(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def _byte_offset(self, char_offset: int) -> int:
        return len(self._source[:char_offset].encode("utf-8"))

    def _fail(self, reason: str, char_offset: int) -> None:
        raise _EntityParseError(f"{reason} at byte offset {self._byte_offset(char_offset)}")

    def _advance(self, start: int, length: int) -> None:
        if start != self._pos:
            self._fail_gap(self._pos)
        self._pos = start + length

    def _fail_gap(self, offset: int) -> None:
        rest = self._source[offset:]
        if rest.startswith("</"):
            self._fail("Empty end tag", offset)
        self._fail("Unsupported start tag", offset)

    def _emit(self, text: str) -> None:
        self._plain.append(text)
        self._length16 += utf16_len(text)

    # -- HTMLParser callbacks
    def handle_data(self, data: str) -> None:
        start = self._here()
        self._advance(start, len(data))
        for index, ch in enumerate(data):
            if ch == "<":
                after = self._source[start + index + 1 : start + index + 2]
                if after == "/":
                    self._fail("Unclosed end tag", start + index)
                if after.isalpha():
                    self._fail("Unclosed start tag", start + index)
                self._fail('Unsupported start tag ""', start + index)
            if ch == "&":
                self._fail(
                    'Character "&" must be escaped as "&amp;" (entity not recognised)',
                    start + index,
                )
        self._emit(data)

    def _reference_length(self, start: int, body: str) -> int:
        end = start + 1 + len(body)
        if self._source[end : end + 1] != ";":
            self._fail(f'Entity "&{body}" must end with ";"', start)
        return end + 1 - start

    def handle_entityref(self, name: str) -> None:
        start = self._here()
        self._advance(start, self._reference_length(start, name))
        if name not in _NAMED_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};"', start)
        self._emit(_NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        start = self._here()
        self._advance(start, self._reference_length(start, "#" + name))
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        except ValueError:
            code = -1
        if not (0 < code <= 0x10FFFF) or 0xD800 <= code <= 0xDFFF:
            self._fail(f'Invalid numeric HTML entity "&#{name};"', start)
        self._emit(chr(code))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._here()
        self._advance(start, len(self.get_starttag_text() or ""))
        if tag not in _ALLOWED_TAGS:
            self._fail(f'Unsupported start tag "{tag}"', start)
        attributes = dict(attrs)
        entity = self._entity_for(tag, attributes, start)
        if entity is not None:
            self.entities.append(entity)
        self._stack.append(_OpenTag(tag, entity, self._length16))

    def _entity_for(self, tag: str, attrs: dict[str, str | None], start: int) -> JSONDict | None:
        if tag in _SIMPLE_TAG_ENTITIES:
            return {"type": _SIMPLE_TAG_ENTITIES[tag]}
        if tag == "span":
            if attrs.get("class") != "tg-spoiler":
                self._fail('Tag "span" must have class "tg-spoiler"', start)
            return {"type": "spoiler"}
        if tag == "a":
            href = attrs.get("href")
            return {"type": "text_link", "url": href} if href else None
        if tag == "code":
            language = attrs.get("class") or ""
            parent = self._stack[-1] if self._stack else None
            if parent and parent.tag == "pre" and parent.entity is not None:
                if language.startswith("language-"):
                    parent.entity["language"] = language.removeprefix("language-")
                return None
            return {"type": "code"}
        if tag == "blockquote":
            expandable = "expandable" in attrs
            return {"type": "expandable_blockquote" if expandable else "blockquote"}
        if tag == "tg-emoji":
            emoji_id = attrs.get("emoji-id")
            if not emoji_id:
                self._fail('Tag "tg-emoji" must have attribute "emoji-id"', start)
            return {"type": "custom_emoji", "custom_emoji_id": emoji_id}
        # tg-time
        unix = attrs.get("unix") or ""
        if not unix.isdigit():
            self._fail('Tag "tg-time" must have a numeric attribute "unix"', start)
        entity: JSONDict = {"type": "date_time", "unix_time": int(unix)}
        if attrs.get("format"):
            entity["date_time_format"] = attrs["format"]
        return entity

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        start = self._here()
        close = self._source.find(">", start)
        self._advance(start, (close if close >= 0 else len(self._source)) + 1 - start)
        if not self._stack:
            self._fail("Unexpected end tag", start)
        top = self._stack.pop()
        if top.tag != tag:
            self._fail(f'Unmatched end tag, expected "</{top.tag}>", found "</{tag}>"', start)
        if top.entity is not None:
            top.entity["offset"] = top.start
            top.entity["length"] = self._length16 - top.start

    def _unsupported(self, data: str) -> None:
        self._fail("Unsupported start tag", self._here())

    handle_comment = handle_pi = unknown_decl = _unsupported

    def handle_decl(self, decl: str) -> None:
        self._unsupported(decl)

    def result(self) -> tuple[str, list[JSONDict]]:
        """Finish parsing and return the plain text and its entities."""
        self.close()
        if self._pos != len(self._source):
            self._fail_gap(self._pos)
        if self._stack:
            raise _EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self._stack[-1].tag}"'
            )
        entities = [e for e in self.entities if e.get("length", 0) > 0]
        entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self._plain), entities


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into (plain text, MessageEntity dicts).

    Raises :class:`ApiError` (400, ``can't parse entities: ...``) on anything
    Telegram would refuse, so callers can let it propagate into the response.
    """
    parser = _TelegramHTMLParser(source)
    try:
        parser.feed(source)
        return parser.result()
    except _EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None


def strip_text(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Trim surrounding whitespace like Telegram does, keeping entities aligned."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead16 = utf16_len(text[: len(text) - len(text.lstrip())])
    total16 = utf16_len(stripped)
    kept = []
    for entity in entities:
        begin = max(entity["offset"] - lead16, 0)
        end = min(entity["offset"] + entity["length"] - lead16, total16)
        if end > begin:
            kept.append({**entity, "offset": begin, "length": end - begin})
    return stripped, kept


def format_text(
    text: str, parse_mode: str | None, entities: list[JSONDict] | None
) -> tuple[str, list[JSONDict]]:
    """Apply ``parse_mode``/``entities`` the way Telegram does before storing a text."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        plain, parsed = parse_html(text)
    elif mode in ("", "markdown", "markdownv2"):
        # Markdown is accepted but not interpreted: the bot under test uses HTML.
        plain, parsed = text, list(entities or [])
    else:
        raise bad_request("unsupported parse_mode")
    return strip_text(plain, parsed)


def check_text(
    text: str, parse_mode: str | None, entities: list[JSONDict] | None
) -> tuple[str, list[JSONDict]]:
    plain, parsed = format_text(text, parse_mode, entities)
    if not plain:
        raise bad_request("message text is empty")
    if utf16_len(plain) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return plain, parsed


def check_markup(markup: Any, *, inline_only: bool = False) -> JSONDict | None:
    """Validate reply_markup like Telegram: button actions, callback_data size, shape."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not str(button.get("text", "")):
                raise bad_request("can't parse inline keyboard button: Text must be non-empty")
            actions = [a for a in _INLINE_BUTTON_ACTIONS if a in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button and not str(button["url"]).startswith(
                ("http://", "https://", "tg://")
            ):
                raise bad_request("BUTTON_URL_INVALID")
        return markup
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")
