"""Text made safe once, where it enters the store, and again where it leaves for a file.

People type, paste and import text with characters no reader wants: C0
controls (NUL, BEL, ESC, vertical tab, form feed ...), C1 controls
(U+0080-U+009F), non-characters (U+FFFE, U+FFFF) and lone surrogates. They
show as nothing or as boxes, can break an .xlsx file (openpyxl refuses
them), a terminal or a log line. ``clean`` keeps newline and tab, turns a
carriage return (``\\r\\n`` or alone) into a newline, drops the rest and
normalises the text to NFC (one spelling of a composed character, so the
same name found typed two ways is one name).

The models that cross the store's edge (a draft, a registration, a named
person, an attachment's name) use :data:`SafeText`; the journal cleans
every event's body and data before it hashes them; the import cleans each
cell. Exports clean again (``for_sheet``), so one value written before this
existed, or by a path not listed here, can never break a file.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator

# C0 except tab (09) and newline (0A); DEL; C1; lone surrogates; the two non-characters at the plane's end.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CR = re.compile("\r\n?")


def clean(text: str) -> str:
    """``text`` without control characters (newline and tab kept, CR as newline), in NFC."""
    if not text:
        return text
    text = _CR.sub("\n", text)
    text = _UNSAFE.sub("", text)
    return unicodedata.normalize("NFC", text)


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean(text)


def clean_deep(value: Any) -> Any:
    """Every string inside a JSON-able value cleaned (dict keys too)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_deep(k): clean_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_deep(v) for v in value]
    return value


#: A str field of a model at the store's edge: cleaned when the model is built.
SafeText = Annotated[str, AfterValidator(clean)]

# What openpyxl refuses in a cell (openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE), tab and newline allowed.
_SHEET_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def for_sheet(value: Any) -> Any:
    """A cell value an .xlsx or .csv file can hold: text cleaned, other values as they are."""
    if isinstance(value, str):
        return _SHEET_ILLEGAL.sub("", clean(value))
    return value
