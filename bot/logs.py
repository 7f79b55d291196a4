"""Logging that never carries a person: no Telegram id, name, username, phone, petition text or token.

``setup`` is the one place the application configures logging (``petition-bot
run`` calls it). Two layers:

- The libraries that would log people are capped, whatever the level asked
  for: PTB logs whole updates and every request's parameters at DEBUG
  (names, ids, texts), httpx logs each request's URL at INFO (the token is
  in the Bot API URL), aiosqlite logs each statement with its parameters
  at DEBUG. Our own loggers log ids of rows (notification 17), never of
  people.
- A filter on every handler redacts what slips through anyway: the bot
  token (the configured one, and anything shaped like a token), runs of
  seven or more digits (Telegram user ids, phone numbers; group ids, which
  are negative, stay readable), and the input values pydantic quotes in
  validation errors. Exception tracebacks are redacted the same way.

``PETITION_LOG_FORMAT=json`` writes one JSON object per line for log
shippers (:class:`JsonFormatter`); the same filter runs first, so the JSON
carries nothing the text lines would not.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: The quietest level each library may log at, whatever PETITION_LOG_LEVEL says.
LIBRARY_FLOORS = {
    "telegram": logging.INFO,  # DEBUG: every update and every request's parameters
    "httpx": logging.WARNING,  # INFO: every request's URL, token included
    "httpcore": logging.WARNING,
    "hpack": logging.WARNING,
    "aiosqlite": logging.INFO,  # DEBUG: every statement with its parameters
    "apscheduler": logging.WARNING,  # INFO: one line per job run
    "aiohttp": logging.WARNING,  # access log: request paths (a loopback Bot API's carry the token)
    "tornado.access": logging.WARNING,  # one line per scrape and per webhook update; refusals stay
    "fontTools": logging.WARNING,  # INFO: the glyphs of each formal document cut from the font (its text)
    "fpdf": logging.WARNING,
}

TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
#: Seven or more digits not after a minus sign or a letter: a Telegram user id or a phone number.
LONG_NUMBER = re.compile(r"(?<![-\w])\+?\d{7,}(?!\w)")
PYDANTIC_INPUT = re.compile(r"input_value=.*?(?=, input_type=|\]$|$)", re.MULTILINE)

REDACTED = "[redacted]"


class Redactor(logging.Filter):
    """A handler filter that rewrites each record's message and traceback without secrets or ids."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = TOKEN_SHAPE.sub(REDACTED, text)
        text = PYDANTIC_INPUT.sub("input_value=" + REDACTED, text)
        return LONG_NUMBER.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record must not escape unredacted
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and exception if any.

    It formats what the handler's filters left: the message and traceback as
    :class:`Redactor` rewrote them (``exc_text``), never the raw exception.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def cap_libraries(level: int) -> None:
    """Hold each library's logger at its floor (or higher, if ``level`` is higher)."""
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(level, floor))


class StderrHandler(logging.StreamHandler[IO[str]]):
    """Writes to whatever ``sys.stderr`` is when a record comes (a redirected or captured stream)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


#: The handler :func:`setup` installed last, replaced when it is called again.
_installed: list[logging.Handler] = []


def setup(
    level: str | int, *, secrets: Iterable[str] = (), stream: IO[str] | None = None, fmt: str = "text"
) -> logging.Handler:
    """Configure the root logger: one stream handler with the redacting filter; libraries capped.

    ``fmt`` is "text" (one readable line per record) or "json" (one JSON object per line).
    Called again (another command in the same process, a test), it replaces
    the handler it installed before rather than adding a second one.
    """
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    handler: logging.StreamHandler[IO[str]] = (
        logging.StreamHandler(stream) if stream is not None else StderrHandler()
    )
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT))
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h in _installed]:
        root.removeHandler(old)
    _installed.clear()
    _installed.append(handler)
    root.addHandler(handler)
    root.setLevel(numeric)
    cap_libraries(numeric)
    return handler
