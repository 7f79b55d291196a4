"""Telegram Mini App ``initData``: checked with the bot token, as Telegram's Web App spec says.

The page receives ``initData`` from Telegram (the URL fragment's ``tgWebAppData``)
and sends it back with each request (``Authorization: tma <initData>``). It is a
query string whose ``hash`` is::

    secret = HMAC_SHA256(key="WebAppData", msg=bot_token)
    hash   = hex(HMAC_SHA256(key=secret, msg=data_check_string))

where ``data_check_string`` is every other field as ``key=value``, sorted by
key, joined by ``\\n``. A valid hash proves Telegram made it for this bot;
``auth_date`` (seconds since the epoch) older than :data:`MAX_AGE` is refused,
so a leaked ``initData`` does not open the page for ever.

Nothing here trusts the page: the user's id and language come only from a
string whose hash checked out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

#: How old ``auth_date`` may be, in seconds.
MAX_AGE = 3600
#: A little clock skew between Telegram and us is tolerated for dates in the future.
FUTURE_SKEW = 60


class InitDataError(Exception):
    """``initData`` that does not prove who the caller is (always answered with 401)."""


@dataclass(frozen=True)
class WebAppUser:
    id: int
    first_name: str
    language_code: str | None
    auth_date: int


def _secret(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign(fields: dict[str, str], token: str) -> str:
    """``initData`` for ``fields`` as Telegram would make it (tests, the demo, the benchmark)."""
    values = {k: v for k, v in fields.items() if k != "hash"}
    digest = hmac.new(_secret(token), _check_string(values).encode(), hashlib.sha256).hexdigest()
    return urlencode({**values, "hash": digest})


def signed_for(user_id: int, token: str, *, language: str = "zh", first_name: str = "", auth_date: int | None = None) -> str:
    """Signed ``initData`` for one user (what Telegram hands the page when that user opens it)."""
    user = {"id": user_id, "first_name": first_name or str(user_id), "language_code": language}
    return sign(
        {
            "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
            "auth_date": str(int(time.time()) if auth_date is None else auth_date),
            "query_id": "AAE" + str(user_id),
        },
        token,
    )


def verify(init_data: str, token: str, *, now: float | None = None, max_age: int = MAX_AGE) -> WebAppUser:
    """The user ``init_data`` was made for, if its hash is this bot's and it is fresh; else InitDataError."""
    if not init_data or len(init_data) > 8192:
        raise InitDataError("missing or oversized initData")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as error:
        raise InitDataError("initData is not a query string") from error
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("a field appears twice")
    received = fields.get("hash", "")
    expected = hmac.new(_secret(token), _check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(received.encode(), expected.encode()):
        raise InitDataError("bad hash")
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as error:
        raise InitDataError("auth_date or user missing") from error
    moment = time.time() if now is None else now
    if auth_date > moment + FUTURE_SKEW or moment - auth_date > max_age:
        raise InitDataError("expired")
    language = user.get("language_code")
    return WebAppUser(
        id=user_id,
        first_name=str(user.get("first_name") or ""),
        language_code=language if isinstance(language, str) else None,
        auth_date=auth_date,
    )
