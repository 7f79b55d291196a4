"""The webhook and /healthz as an attacker on the network meets them (issue 20, lower findings).

- the webhook listens on 127.0.0.1 unless told otherwise (the reverse proxy is the public face);
- the secret is compared in constant time, and a request without it is refused on its headers;
- a body over 1 MB is refused (413) before it is read: by its Content-Length, or in chunks as soon as
  1 MB has come; PTB's handler read up to tornado's 100 MB first;
- /healthz says "database unreachable", never the driver's text.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.metrics import Monitor
from bot.settings import Settings
from bot.webhook import MAX_BODY, SECRET_HEADER, WebhookConfig, WebhookServer
from store.services import Services
from tests.offline import OfflineRequest, Updates, offline_app

SECRET = "right-Secret_42"
PATH = "/local/hook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def hook(store: Services) -> AsyncIterator[tuple[Application, OfflineRequest, WebhookConfig]]:
    config = WebhookConfig(url="https://bot.example.com/tg/hook", secret=SECRET, port=free_port(), path=PATH)
    async with offline_app(store) as (application, request):
        server = WebhookServer(application, config)
        await server.start()
        try:
            yield application, request, config
        finally:
            await server.stop()


async def exchange(port: int, head: str, body: bytes = b"", *, wait: float = 5.0) -> str:
    """Send ``head`` (and ``body``, possibly partial) and read the status line that comes back within ``wait``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), wait)
        return line.decode().strip()
    finally:
        writer.close()


def request_head(length: int | None, secret: str | None, extra: str = "") -> str:
    lines = [f"POST {PATH} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if secret is not None:
        lines.append(f"{SECRET_HEADER}: {secret}")
    if extra:
        lines.append(extra)
    return "\r\n".join(lines) + "\r\n\r\n"


def test_the_webhook_listens_on_loopback_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PETITION_WEBHOOK_LISTEN", raising=False)
    config = WebhookConfig.from_settings("https://bot.example.com/telegram", listen=Settings().webhook_listen,
                                         secret="s")
    assert (config.host, config.port) == ("127.0.0.1", 8443)
    assert WebhookConfig(url="https://x.example/t", secret="s").host == "127.0.0.1"


async def test_an_update_with_the_secret_is_queued(hook: tuple[Application, OfflineRequest, WebhookConfig]) -> None:
    application, request, config = hook
    assert [(c.params["url"], c.params["secret_token"]) for c in request.calls if c.method == "setWebhook"] == [
        (config.url, SECRET)]
    body = json.dumps(Updates(5001).text("/start")).encode()
    status = await exchange(config.port, request_head(len(body), SECRET), body)
    assert status == "HTTP/1.1 200 OK"
    queued = application.update_queue.get_nowait()
    assert isinstance(queued, Update) and queued.effective_user is not None and queued.effective_user.id == 5001


async def test_the_secret_is_compared_in_constant_time(
    hook: tuple[Application, OfflineRequest, WebhookConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    application, _, config = hook
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module bot.webhook compares with
    body = json.dumps(Updates(6002).text("/start")).encode()
    assert await exchange(config.port, request_head(len(body), "right-Secret_4"), body) == "HTTP/1.1 403 Forbidden"
    assert await exchange(config.port, request_head(len(body), None), body) == "HTTP/1.1 403 Forbidden"
    assert compared == [(b"right-Secret_4", SECRET.encode())]
    assert application.update_queue.empty()


async def test_a_body_over_one_megabyte_is_refused_before_it_is_read(
    hook: tuple[Application, OfflineRequest, WebhookConfig],
) -> None:
    application, _, config = hook
    # Only the headers are sent: the answer comes at once, without waiting for the 2 MB announced.
    assert await exchange(config.port, request_head(2 * MAX_BODY, SECRET)) == "HTTP/1.1 413 Request Entity Too Large"
    # Without the secret, the same: refused on the headers.
    assert await exchange(config.port, request_head(50 * MAX_BODY, None)) == "HTTP/1.1 403 Forbidden"
    # In chunks, without a length: refused once 1 MB has come, before the rest (the end is never sent).
    chunk = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // len(chunk) + 2))
    head = request_head(None, SECRET, "Transfer-Encoding: chunked")
    assert await exchange(config.port, head, chunks) == "HTTP/1.1 413 Request Entity Too Large"
    assert application.update_queue.empty()


class _Unreachable:
    """A store whose database refuses, with the kind of text drivers put in their errors."""

    class db:  # shaped like Services.db
        @staticmethod
        def read() -> Any:
            raise OSError('connection to server at "10.2.3.4", port 5432 failed: password authentication failed'
                          ' for user "petition_admin"')


async def test_healthz_says_database_unreachable_without_the_drivers_text() -> None:
    monitor = Monitor()
    monitor.attach(_Unreachable())
    ok, reason = await monitor.health()
    assert not ok and reason.splitlines()[0] == "database unreachable"
    assert "10.2.3.4" not in reason and "petition_admin" not in reason and "password" not in reason
