"""Short-lived signed links for the Mini App's downloads (a document's PDF, a case file).

The page's requests carry ``initData`` in a header, but a file is often opened
where no header can be added: Telegram's own download (``downloadFile``, the
``web_app_request_file_download`` event) or the in-app browser fetch the URL
themselves. Such a URL carries ``?t=<token>`` instead::

    t = <user id>.<expiry>.<hex HMAC_SHA256(key, "user|number|item|expiry")>
    key = HMAC_SHA256("PetitionWebAppLink", bot_token)

The key is the bot token's, under a label of its own (an ``initData`` hash can
never pass for a link, nor a link for ``initData``). A token names one user,
one case and one item (``doc:accepted``, ``file:17``) and expires after
:data:`LINK_AGE` seconds; the case number and the item come from the URL's
path, so a token for one case or one file opens nothing else. It proves only
*who asked*: the download still goes through the store's checks for that
user, as the header's ``initData`` does.
"""

from __future__ import annotations

import hashlib
import hmac
import time

#: How long a download link works, in seconds.
LINK_AGE = 300
_LABEL = b"PetitionWebAppLink"


class LinkError(Exception):
    """A link token that is forged, for another case or file, or expired (answered with 401)."""


def _key(token: str) -> bytes:
    return hmac.new(_LABEL, token.encode(), hashlib.sha256).digest()


def _digest(token: str, user_id: int, number: str, item: str, expires: int) -> str:
    message = f"{user_id}|{number.upper()}|{item}|{expires}".encode()
    return hmac.new(_key(token), message, hashlib.sha256).hexdigest()


def link_token(token: str, user_id: int, number: str, item: str, *, now: float | None = None) -> str:
    """A token for ``user_id`` to fetch ``item`` of case ``number`` for the next :data:`LINK_AGE` seconds."""
    expires = int(time.time() if now is None else now) + LINK_AGE
    return f"{user_id}.{expires}.{_digest(token, user_id, number, item, expires)}"


def check_link(value: str, token: str, number: str, item: str, *, now: float | None = None) -> int:
    """The user a link token was made for, if it is this bot's, for this case and item, and not expired."""
    parts = value.split(".") if value and len(value) <= 200 else []
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise LinkError("malformed link token")
    user_id, expires = int(parts[0]), int(parts[1])
    expected = _digest(token, user_id, number, item, expires)
    if not hmac.compare_digest(parts[2].encode(), expected.encode()):
        raise LinkError("bad link signature")
    moment = time.time() if now is None else now
    if moment > expires or expires - moment > LINK_AGE + 60:
        raise LinkError("link expired")
    return user_id
