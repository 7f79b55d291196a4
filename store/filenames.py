"""The neutral name a confidential case's file is stored under (``材料-3.pdf``), never the sender's own.

Nor does the database keep what Telegram says of the file itself: the same
file sent to a real-name case and to a confidential one has the same
``file_unique_id`` (and often ``file_id``) and byte size, a join that names
the reporter to anyone with a copy of the files. A confidential case's file
keeps its ``file_id`` sealed for its row (``StoreContext.attach``), no
``file_unique_id`` (never read) and its size rounded up (:func:`stored_size`).

A file's name is often the most identifying thing about it
(``欧阳小明_工号556677_举报材料.pdf``). Staff already receive a confidential
case's files as copies under neutral names (``handlers/media.py``); the
database, and every backup of it, holds the same kind of name: ``材料-`` and
the file's place among the case's files, then its type as an extension. The
extension is the one rule for both: from the name, else the MIME type, else
the kind.
"""

from __future__ import annotations

import mimetypes
import re

from store.models import FileKind

DEFAULT_EXTENSIONS = {FileKind.DOCUMENT: ".bin", FileKind.VIDEO: ".mp4", FileKind.AUDIO: ".mp3"}
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")
STORED_PREFIX = "材料-"
#: A confidential case's file sizes are kept rounded up to this (the 20 MiB limit is a multiple of it).
SIZE_STEP = 64 * 1024


def extension(kind: FileKind, file_name: str | None, mime_type: str | None) -> str:
    """The file's type as an extension (``.pdf``): from its name, else its MIME type, else its kind."""
    match = _EXTENSION.search(file_name or "")
    if match:
        return match.group(0).lower()
    guessed = mimetypes.guess_extension(mime_type or "") if mime_type else None
    return guessed or DEFAULT_EXTENSIONS.get(kind, ".bin")


def stored_name(place: int, kind: FileKind, file_name: str | None, mime_type: str | None) -> str | None:
    """What a confidential case keeps as the name of its ``place``-th file (None: the file had no name)."""
    if file_name is None:
        return None
    return f"{STORED_PREFIX}{place}{extension(kind, file_name, mime_type)}"


def stored_size(size: int | None) -> int | None:
    """What a confidential case keeps as a file's size: rounded up to :data:`SIZE_STEP`, not the exact bytes."""
    if size is None or size <= 0:
        return size
    return -(-size // SIZE_STEP) * SIZE_STEP
