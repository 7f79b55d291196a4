"""How the bot reaches the Bot API: aiohttp (bot/request.py), through ``PETITION_PROXY`` when set.

The proxy (``http://``, ``https://``, ``socks5://`` or ``socks5h://``; socks
through aiohttp-socks, a dependency) carries every Bot API call: the requests
the bot makes and the long polls for updates, and file downloads. The
pool sizes are PTB's own defaults (256 for calls, 1 for getUpdates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.request import AiohttpRequest

if TYPE_CHECKING:
    from telegram.request import BaseRequest

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def check_proxy(proxy: str) -> str:
    parts = urlsplit(proxy)
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        raise ValueError(f"expected a {', '.join(s + '://' for s in PROXY_SCHEMES)} URL with a host")
    return proxy


def bot_requests(proxy: str | None = None) -> tuple[BaseRequest, BaseRequest]:
    """(request for Bot API calls, request for getUpdates), both through ``proxy`` if given."""
    return AiohttpRequest(256, proxy=proxy), AiohttpRequest(1, proxy=proxy)


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) as (host, port)."""
    host, sep, port = listen.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f'expected host:port, got "{listen}"')
    return host.strip("[]") or "0.0.0.0", int(port)
