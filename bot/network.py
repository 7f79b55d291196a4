"""How the bot reaches the Bot API: PTB's HTTPX client, through ``PETITION_PROXY`` when set.

The proxy (``http://``, ``https://`` or ``socks5://``; socks needs
``httpx[socks]``, a dependency) carries every Bot API call: the requests
the bot makes and the long polls for updates, and file downloads. The
pool sizes are PTB's own defaults (256 for calls, 1 for getUpdates).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl

    from telegram.request import BaseRequest

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def check_proxy(proxy: str) -> str:
    parts = urlsplit(proxy)
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        raise ValueError(f"expected a {', '.join(s + '://' for s in PROXY_SCHEMES)} URL with a host")
    return proxy


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's own TLS settings (certifi's authorities, ``SSL_CERT_FILE`` honoured), made once per process:
    each HTTPX client would otherwise load the certificate bundle again (about 20 ms of CPU apiece)."""
    import httpx

    return httpx.create_ssl_context()


def bot_requests(proxy: str | None = None) -> tuple[BaseRequest, BaseRequest]:
    """(request for Bot API calls, request for getUpdates), both through ``proxy`` if given."""
    from telegram.request import HTTPXRequest

    proxy = proxy or None
    shared = {"verify": tls_context()}
    return (
        HTTPXRequest(connection_pool_size=256, proxy=proxy, httpx_kwargs=shared),
        HTTPXRequest(connection_pool_size=1, proxy=proxy, httpx_kwargs=shared),
    )


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) as (host, port)."""
    host, sep, port = listen.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f'expected host:port, got "{listen}"')
    return host.strip("[]") or "0.0.0.0", int(port)
