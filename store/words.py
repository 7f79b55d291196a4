"""People's words, kept compactly in SQLite: GB 18030, deflated when that is shorter.

What petitioners and officers write (a case's subject and details, an event's
text and record, with the parts of a written opinion) is most of what a case
weighs, and it is Chinese: three bytes a character in UTF-8, two in GB 18030
(GB 18030-2005, the national standard every Chinese system reads, which maps
all of Unicode). Longer texts are then deflated (zlib, raw) when that is
shorter still. A value is kept in whichever form is the shortest, and UTF-8
text stays text: an English reply, a short code.

A compact value is a BLOB whose first byte says its form. Neither tag byte
(0xFE, 0xFF) can begin UTF-8 text, so a stored value of either kind, read as
bytes, says which it is: rows written before migration 0034 are plain text,
never rewritten (the journal's above all), and read as before.

How it is wired, on SQLite only (PostgreSQL keeps text: its columns and queries
are unchanged):

- the columns are declared ``WORDS TEXT`` (migration 0034; still TEXT affinity,
  no row touched), and the store's SQLite connections read declared types
  (``PARSE_DECLTYPES``), so :func:`unpack` gives back the text of every such
  column that a query selects as it is (``SELECT details``, ``RETURNING *``,
  through views and subqueries);
- the store marks what it writes there as :class:`Words`, which sqlite3 adapts
  with :func:`pack` (psycopg takes it as the ``str`` it is);
- SQL that works on the text itself (the desk's search) reads it through
  ``words(column)``: a function on SQLite connections, the identity on
  PostgreSQL (migration 0034), so one SQL text serves both.

The hash chain covers the text, not its stored form (store/journal.py), so a
compact row verifies like any other.
"""

from __future__ import annotations

import sqlite3
import zlib

#: The stored forms' first bytes: never the first byte of UTF-8.
GB18030 = 0xFE
DEFLATED = 0xFF
#: Texts shorter than this (in UTF-8 bytes) are not tried deflated: its tables cost more than it saves.
DEFLATE_FROM = 96
#: The declared type sqlite3 recognises (the first word of ``WORDS TEXT``).
DECLARED = "WORDS"
#: The columns of people's words, by table (migration 0034 declares them ``WORDS TEXT``).
COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": ("subject", "details", "desired_outcome"),
    "events": ("body", "data"),
}


class Words(str):
    """A text stored compactly on SQLite (:func:`pack`); an ordinary ``str`` everywhere else."""

    __slots__ = ()


def pack(text: str) -> str | bytes:
    """The shortest stored form of ``text``: itself, or a tagged BLOB (GB 18030, deflated or not)."""
    try:
        plain = text.encode("utf-8")
        national = text.encode("gb18030")
    except UnicodeEncodeError:  # a lone surrogate: not storable as text either, sqlite3 says so
        return text
    if national.decode("gb18030") != text:  # a round trip is the condition, whatever the codec's table
        return text
    forms = [bytes((GB18030,)) + national]
    if len(plain) >= DEFLATE_FROM:
        squeezer = zlib.compressobj(9, zlib.DEFLATED, -15)
        forms.append(bytes((DEFLATED,)) + squeezer.compress(national) + squeezer.flush())
    best = min(forms, key=len)  # the first of equals: GB 18030 alone, read without inflating
    return best if len(best) < len(plain) else text


def unpack(value: bytes) -> str:
    """The text of a stored value, whichever form it has (sqlite3 hands a converter its bytes)."""
    tag = value[0] if value else None
    if tag == GB18030:
        return value[1:].decode("gb18030")
    if tag == DEFLATED:
        return zlib.decompress(value[1:], -15).decode("gb18030")
    return value.decode("utf-8")


def words(value: str | bytes | None) -> str | None:
    """SQL ``words(column)`` on SQLite: the text of a stored value (NULL as it is)."""
    if isinstance(value, bytes):
        return unpack(value)
    return value


def register() -> None:
    """Teach sqlite3 the stored form (process-wide: adapters and converters are module state)."""
    sqlite3.register_adapter(Words, pack)
    sqlite3.register_converter(DECLARED, unpack)


register()
