"""PTB's requests to the Bot API on aiohttp, the client this bot uses instead of PTB's HTTPX one.

Why: under concurrent updates the bot holds dozens of connections, and httpx's pool looks at every
connection on every request (each one's socket asked whether it is still readable): at 64 calls
in flight a Bot API call cost 1.34 ms of CPU with httpx, 0.17 ms with this class, whose pool hands
out an idle connection at once (``python -m bench.client``; docs/benchmarks.md). The Bot API work is
a good part of every update's cost.

It keeps what PTB's HTTPX request gives: the same default time-outs (5 s to connect, read and write,
1 s to wait for a free connection, 20 s to write a request that carries files), time-outs raised as
:class:`telegram.error.TimedOut` and every other failure as :class:`telegram.error.NetworkError`,
uploads as multipart forms, and a proxy: ``http://``/``https://`` through aiohttp itself,
``socks5://`` (names resolved here) and ``socks5h://`` (names resolved by the proxy) through
aiohttp-socks. Certificates are checked with one TLS context per process (:func:`tls_context`).

aiohttp has no time-out for writing a request; a request as a whole is bounded by the sum of its
four time-outs instead (a stalled upload ends there).
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from functools import cache
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import aiohttp
import httpx  # PTB's own dependency: only its TLS defaults are used here
from aiohttp_socks import ProxyConnectionError, ProxyConnector, ProxyError, ProxyTimeoutError, ProxyType
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's own TLS settings (certifi's authorities, ``SSL_CERT_FILE`` honoured), made once per process:
    each client would otherwise load the certificate bundle again (about 20 ms of CPU apiece)."""
    return httpx.create_ssl_context()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NOT_SENT = ("No connection to the Bot API within the time-out (none free in the pool, or it could not"
            " be opened): the request was not sent.")


class AiohttpRequest(BaseRequest):
    """:class:`telegram.request.BaseRequest` on an :class:`aiohttp.ClientSession` (made in ``initialize``)."""

    __slots__ = ("_pool_size", "_proxy", "_defaults", "_media_write_timeout", "_session", "_slots", "_environment")

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        proxy: str | None = None,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._proxy = proxy or None
        self._defaults = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout,
                          "pool": pool_timeout}
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        # The pool's bound, kept here so that waiting for a free connection has its own time-out
        # (aiohttp's counts the wait and the connecting together).
        self._slots = asyncio.Semaphore(connection_pool_size)
        self._environment: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._defaults["read"]

    @property
    def proxy(self) -> str | None:
        return self._proxy

    def _connector(self) -> aiohttp.BaseConnector:
        """A SOCKS proxy's connector (aiohttp-socks), or aiohttp's own (direct, or an HTTP proxy)."""
        parts = urlsplit(self._proxy or "")
        if not parts.scheme.startswith("socks"):
            return aiohttp.TCPConnector(limit=self._pool_size, ssl=tls_context())
        assert parts.hostname is not None and parts.port is not None
        return ProxyConnector(
            proxy_type=ProxyType.SOCKS5, host=parts.hostname, port=parts.port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            rdns=parts.scheme == "socks5h", limit=self._pool_size, ssl=tls_context())

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = self._connector()
            self._session = aiohttp.ClientSession(  # a SOCKS connector carries its proxy itself
                connector=connector, proxy=None if isinstance(connector, ProxyConnector) else self._proxy,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(), headers={"User-Agent": self.USER_AGENT})
        return self._session

    def _environment_proxy(self, url: str) -> str | None:
        """Without a proxy of its own: the environment's HTTP proxy for ``url`` (``HTTPS_PROXY``,
        ``HTTP_PROXY``, ``ALL_PROXY``, unless ``NO_PROXY`` names its host), as PTB's HTTPX client
        honoured it. Read once per host: aiohttp's own ``trust_env`` reads it again in a thread on
        every call (half a millisecond of CPU each)."""
        parts = urlsplit(url)
        where = (parts.scheme, parts.hostname or "")
        if where not in self._environment:
            found = urllib.request.getproxies_environment()
            proxy = found.get(parts.scheme) or found.get("all")
            if (not proxy or not proxy.startswith(("http://", "https://"))
                    or urllib.request.proxy_bypass(where[1])):
                proxy = None
            self._environment[where] = proxy
        return self._environment[where]

    async def initialize(self) -> None:
        self._session_now()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _timeout(self, given: Any, name: str, files: bool = False) -> float | None:
        if not isinstance(given, DefaultValue):
            return given  # type: ignore[no-any-return]  # PTB's ODVInput[float]: a float or None here
        return self._media_write_timeout if files else self._defaults[name]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        files = bool(request_data and request_data.contains_files)
        read = self._timeout(read_timeout, "read")
        write = self._timeout(write_timeout, "write", files)
        connect = self._timeout(connect_timeout, "connect")
        pool = self._timeout(pool_timeout, "pool")
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            total=sum(p for p in parts if p is not None) if None not in parts else None,
            sock_connect=connect, sock_read=read)
        body: bytes | aiohttp.FormData | None = None
        headers: dict[str, str] | None = None
        if request_data is not None and files:
            body = aiohttp.FormData(quote_fields=False)
            for name, value in request_data.json_parameters.items():
                body.add_field(name, value)
            for name, (filename, content, mimetype) in (request_data.multipart_data or {}).items():
                body.add_field(name, content, filename=filename, content_type=mimetype)
        elif request_data is not None and request_data.json_parameters:
            body, headers = urlencode(request_data.json_parameters).encode("ascii"), FORM
        if self._slots.locked():  # every connection busy: wait for one, as long as the pool time-out
            try:
                await asyncio.wait_for(self._slots.acquire(), pool)
            except TimeoutError as error:
                raise TimedOut(NOT_SENT) from error
        else:
            await self._slots.acquire()
        try:
            proxy = self._environment_proxy(url) if self._proxy is None else None
            async with self._session_now().request(method, url, data=body, headers=headers, timeout=timeout,
                                                   proxy=proxy) as response:
                return response.status, await response.read()
        except (aiohttp.ConnectionTimeoutError, ProxyTimeoutError) as error:  # connecting: nothing sent
            raise TimedOut(NOT_SENT) from error
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:  # the class named: a message may be empty
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
        except (ProxyConnectionError, ProxyError) as error:  # the SOCKS proxy's answer (never its password)
            raise NetworkError(f"SOCKS proxy: {error}") from error
        finally:
            self._slots.release()
