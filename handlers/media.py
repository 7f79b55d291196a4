"""Files of a confidential case reach staff under neutral names, and images without their metadata.

A file the petitioner sent carries its own name (``张三_工号10086_举报材料.pdf``)
and, for a photo sent as a file, EXIF data (camera owner, GPS position,
time). Re-sending by file_id keeps both, so for a confidential case the
outbox downloads the file and uploads a copy named ``材料-1.pdf`` (the
recipient's language; the number is the file's place in the case), with an
image re-encoded without EXIF, XMP or comments. Photos sent as photos are
re-encoded by Telegram, which drops their metadata; voice notes and round
videos carry no file name.
"""

from __future__ import annotations

import io
import logging

from telegram import Message

from handlers.i18n import Html, t
from store import filenames
from store.models import ATTACHMENT_BYTES_MAX, ATTACHMENTS_MAX, Attachment, AttachmentIn, FileKind

log = logging.getLogger(__name__)

#: Kinds whose Telegram object keeps the sender's file name.
NAMED_KINDS = frozenset({FileKind.DOCUMENT, FileKind.VIDEO, FileKind.AUDIO})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".bmp", ".heic", ".heif"})
#: Formats Pillow reads and writes again, and the format each is written back as.
IMAGE_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "TIFF": "TIFF", "GIF": "GIF",
                 "BMP": "BMP"}


def attachment_of(message: Message) -> AttachmentIn | None:
    """The file a message carries, as the store records it (None: it carries none)."""
    if message.photo:
        photo = message.photo[-1]
        return AttachmentIn(kind=FileKind.PHOTO, file_id=photo.file_id,
                            file_unique_id=photo.file_unique_id, size=photo.file_size)
    for kind in (FileKind.DOCUMENT, FileKind.VOICE, FileKind.VIDEO, FileKind.AUDIO, FileKind.VIDEO_NOTE):
        media = getattr(message, kind.value)
        if media is not None:
            return AttachmentIn(
                kind=kind,
                file_id=media.file_id,
                file_unique_id=media.file_unique_id,
                file_name=getattr(media, "file_name", None),
                mime_type=getattr(media, "mime_type", None),
                size=media.file_size,
            )
    return None


def needs_neutral_copy(confidential: bool, attachment: Attachment) -> bool:
    return confidential and attachment.kind in NAMED_KINDS


def extension(attachment: Attachment) -> str:
    """The file's type as an extension: from its name, else its MIME type, else its kind (store/filenames.py)."""
    return filenames.extension(attachment.kind, attachment.file_name, attachment.mime_type)


def neutral_name(lang: str, number: int, attachment: Attachment) -> str:
    """``材料-1.pdf`` / ``material-1.pdf``: nothing of the original name but its type."""
    return str(t(lang, "staff.material_file", n=number, ext=extension(attachment)))


def is_image(attachment: Attachment) -> bool:
    return (attachment.mime_type or "").startswith("image/") or extension(attachment) in IMAGE_EXTENSIONS


def without_metadata(data: bytes) -> bytes | None:
    """The image re-encoded without EXIF, XMP, ICC or comments; None if Pillow cannot read it."""
    try:
        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(data)) as image:
            target = IMAGE_FORMATS.get(image.format or "")
            if target is None:
                return None
            image.load()
            upright = ImageOps.exif_transpose(image)  # keep how the photo is meant to be seen
            # A new image from the pixels alone: nothing of the file's metadata comes along.
            clean = Image.new(upright.mode, upright.size)
            clean.paste(upright)
            palette = upright.getpalette() if upright.mode == "P" else None
            if palette:
                clean.putpalette(palette)
            if target == "JPEG" and clean.mode not in ("RGB", "L", "CMYK"):
                clean = clean.convert("RGB")
            out = io.BytesIO()
            clean.save(out, format=target, **({"quality": 95} if target == "JPEG" else {}))
            return out.getvalue()
    except Exception as error:  # noqa: BLE001 - any unreadable image: the caller decides
        log.info("image metadata not stripped (%s)", type(error).__name__)
        return None


def neutral_copy(attachment: Attachment, data: bytes) -> bytes:
    """What is uploaded for a confidential case: images without metadata, other files as they are."""
    if is_image(attachment):
        clean = without_metadata(data)
        if clean is not None:
            return clean
    return data


def attachment_refused(lang: str, attachment: AttachmentIn, held: int) -> Html | None:
    """Why a file cannot join a draft that holds ``held`` files (too big, or one too many); None when it can.

    One rule for the petitioner's intake and the staff's registration.
    """
    if attachment.size is not None and attachment.size > ATTACHMENT_BYTES_MAX:
        return t(lang, "intake.attachment_too_big")
    if held >= ATTACHMENTS_MAX:
        return t(lang, "intake.attachment_limit", max=ATTACHMENTS_MAX)
    return None
