"""Text catalogs (zh, en) and the one function that fills them.

Every user-facing sentence lives in ``handlers/texts/<lang>/*.toml`` (one
file per area; a key may be defined only once per language). Texts are
Telegram HTML; the values put into them are escaped here unless they are
already-rendered :class:`Html`, so user text can never inject markup.
"""

from __future__ import annotations

import html
import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT = "zh"


class Html(str):
    """A string that is already valid Telegram HTML and must not be escaped again."""


def escape(value: Any) -> Html:
    """Escape user-supplied text for Telegram HTML (``<``, ``>``, ``&`` and quotes)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def language_for(code: str | None) -> str:
    """English for ``en*`` language codes; Chinese for ``zh*``, unknown or missing."""
    if code and code.lower().startswith("en"):
        return "en"
    return DEFAULT


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(name + ".", value, out)
        else:
            out[name] = str(value)


@cache
def catalog(lang: str) -> dict[str, str]:
    flat: dict[str, str] = {}
    folder = resources.files("handlers").joinpath("texts", lang)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        part: dict[str, str] = {}
        _flatten("", tomllib.loads(entry.read_text("utf-8")), part)
        clash = part.keys() & flat.keys()
        if clash:
            raise ValueError(f"{lang}/{entry.name} defines again: {sorted(clash)}")
        flat.update(part)
    return flat


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def t(lang: str, key: str, **params: Any) -> Html:
    """The text ``key`` in ``lang`` (falling back to Chinese), with escaped values."""
    texts = catalog(lang if lang in LANGUAGES else DEFAULT)
    template = texts.get(key)
    if template is None:
        template = catalog(DEFAULT)[key]
    return Html(template.format_map({name: escape(value) for name, value in params.items()}))


def has(lang: str, key: str) -> bool:
    return key in catalog(lang)
