"""The neutral name a confidential case's file is stored under (``材料-3.pdf``), never the sender's own.

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

DEFAULT_EXTENSIONS = {"document": ".bin", "video": ".mp4", "audio": ".mp3", "animation": ".mp4"}
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")
STORED_PREFIX = "材料-"


def extension(kind: str, file_name: str | None, mime_type: str | None) -> str:
    """The file's type as an extension (``.pdf``): from its name, else its MIME type, else its kind."""
    match = _EXTENSION.search(file_name or "")
    if match:
        return match.group(0).lower()
    guessed = mimetypes.guess_extension(mime_type or "") if mime_type else None
    return guessed or DEFAULT_EXTENSIONS.get(kind, ".bin")


def stored_name(place: int, kind: str, file_name: str | None, mime_type: str | None) -> str | None:
    """What a confidential case keeps as the name of its ``place``-th file (None: the file had no name)."""
    if file_name is None:
        return None
    return f"{STORED_PREFIX}{place}{extension(kind, file_name, mime_type)}"
