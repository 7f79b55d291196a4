"""Webhook mode: Telegram POSTs each update to us instead of the bot polling for it.

``petition-bot run --webhook https://bot.example.com/telegram`` (or
``PETITION_WEBHOOK_URL``). The bot serves it with its own small tornado
handler (:class:`WebhookServer`, in the bot's loop, like ``/healthz``), not
PTB's ``Updater.start_webhook``, for three things PTB's handler does not do:

- The secret token: Telegram sends it back in ``X-Telegram-Bot-Api-Secret-Token``
  on every request; a request without it, or with another value, is answered
  403 as soon as its headers are in, its body never read. The comparison is
  constant-time (``hmac.compare_digest``), so the answer's timing tells
  nothing about how much of a guess was right. ``PETITION_WEBHOOK_SECRET``
  sets it; when it is not set, a random one is generated at each start and
  the log says so (not its value). That is safe: the bot registers the
  secret with ``setWebhook`` itself at every start, so nobody else needs
  to know it.
- A body over 1 MB (:data:`MAX_BODY`; Telegram's updates are a few KB) is
  refused with 413 before it is read: by its ``Content-Length``, or, sent in
  chunks, as soon as what came exceeds it (tornado's own limit is 100 MB).
- Behind a reverse proxy: the public URL is what Telegram calls
  (``https://bot.example.com/telegram``); the proxy forwards to
  ``PETITION_WEBHOOK_LISTEN`` (default ``127.0.0.1:8443``: only the proxy on
  the same machine reaches it; plain HTTP, the proxy terminates TLS; the
  container image sets ``0.0.0.0:8443`` and compose publishes it on the
  host's loopback). The local path is the public URL's path unless
  ``PETITION_WEBHOOK_PATH`` says otherwise (a proxy that rewrites paths).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import ExtBot
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import HTTPError, RequestHandler, stream_request_body

from bot.network import split_listen
from handlers.common import App

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8443"
#: The largest request body read; Telegram's updates are a few KB.
MAX_BODY = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: setWebhook at start: tried this many more times, this many seconds apart (about 15 s in all).
BOOTSTRAP_RETRIES = 5
BOOTSTRAP_PAUSE = 3.0
#: What Telegram accepts as a secret token.
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class WebhookConfig:
    url: str  # the public HTTPS URL Telegram calls
    secret: str
    host: str = "127.0.0.1"
    port: int = 8443
    path: str = ""  # the local path; "" means the public URL's path

    @classmethod
    def from_settings(
        cls, url: str, *, listen: str = DEFAULT_LISTEN, secret: str | None = None, path: str | None = None
    ) -> WebhookConfig:
        """Check the values once, at start: a bad one fails here with its name, not at Telegram."""
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f'the webhook URL (--webhook or PETITION_WEBHOOK_URL) must be https://, got "{url}"')
        if secret:
            if not SECRET_SHAPE.fullmatch(secret):
                raise ValueError("PETITION_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        else:
            secret = secrets.token_urlsafe(32)
            log.info("PETITION_WEBHOOK_SECRET is not set: generated a random webhook secret for this run")
        host, port = split_listen(listen)
        return cls(url=url, secret=secret, host=host, port=port, path=path if path is not None else parts.path)

    @property
    def local_path(self) -> str:
        return (self.path or "/").lstrip("/")


def secret_matches(given: str | None, secret: str) -> bool:
    """The request's secret token is ours: compared in constant time (a missing one never matches)."""
    return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8"))


@stream_request_body
class _UpdateHandler(RequestHandler):
    """One POSTed update: secret and size checked on the headers, the body read only then."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot_application: App, secret: str) -> None:
        self.application_ = bot_application
        self.secret = secret
        self.chunks: list[bytes] = []
        self.size = 0
        self.refused = False

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", 'application/json; charset="utf-8"')

    def prepare(self) -> None:
        headers = self.request.headers
        if not secret_matches(headers.get(SECRET_HEADER), self.secret):
            raise HTTPError(HTTPStatus.FORBIDDEN)
        if headers.get("Content-Type") != "application/json":
            raise HTTPError(HTTPStatus.FORBIDDEN)
        length = headers.get("Content-Length")
        if length is not None and (not length.strip().isdigit() or int(length) > MAX_BODY):
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)

    def data_received(self, chunk: bytes) -> None:
        if self.refused:
            return
        self.size += len(chunk)
        if self.size > MAX_BODY:  # sent in chunks, without a length: refused as soon as it is too much
            self.refused = True
            self.chunks = []
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return
        self.chunks.append(chunk)

    async def post(self) -> None:
        if self.refused:
            return
        try:
            data = json.loads(b"".join(self.chunks))
            update = Update.de_json(data, self.application_.bot)
        except Exception as error:  # noqa: BLE001 - not an update: refused, the body not logged
            log.warning("webhook: a request that is not an update was refused (%s)", type(error).__name__)
            raise HTTPError(HTTPStatus.BAD_REQUEST) from None
        if update is None:
            raise HTTPError(HTTPStatus.BAD_REQUEST)
        if isinstance(self.application_.bot, ExtBot):
            self.application_.bot.insert_callback_data(update)
        await self.application_.update_queue.put(update)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, *args: Any) -> None:
        """Nothing of a refused request in the log: the status says it."""


class WebhookServer:
    """The webhook's HTTP server in the bot's loop; ``start`` also registers the webhook with its secret."""

    def __init__(self, application: App, config: WebhookConfig) -> None:
        self.application = application
        self.config = config
        app = WebApplication(
            [(rf"/{config.local_path}/?" if config.local_path else r"/", _UpdateHandler,
              {"bot_application": application, "secret": config.secret})],
            log_function=lambda _handler: None,
        )
        self.http = HTTPServer(app)

    async def start(self) -> None:
        self.http.listen(self.config.port, address=self.config.host)
        try:
            await self._register()
        except BaseException:
            await self.stop()
            raise
        log.info("webhook mode: listening on %s:%s/%s", self.config.host, self.config.port, self.config.local_path)

    async def _register(self) -> None:
        """setWebhook, tried a few times (about 15 s): one Telegram refuses stops the start, where it shows."""
        for attempt in range(BOOTSTRAP_RETRIES + 1):
            try:
                await self.application.bot.set_webhook(
                    url=self.config.url, secret_token=self.config.secret, allowed_updates=Update.ALL_TYPES,
                    max_connections=40,
                )
                return
            except InvalidToken:
                raise
            except TelegramError as error:
                if attempt == BOOTSTRAP_RETRIES:
                    raise
                log.warning("setWebhook failed (%s); trying again", type(error).__name__)
                await asyncio.sleep(BOOTSTRAP_PAUSE)

    async def stop(self) -> None:
        self.http.stop()
        await self.http.close_all_connections()


async def start(application: App, config: WebhookConfig) -> WebhookServer:
    """Listen for updates and register the webhook (with its secret) at the Bot API."""
    server = WebhookServer(application, config)
    await server.start()
    return server


def serve_options(settings: Any, webhook_url: str | None = None) -> dict[str, Any]:
    """``serve``'s operations arguments from the settings (and ``run --webhook URL``, which wins).

    Raises ValueError naming the setting that is wrong.
    """
    url = webhook_url or settings.webhook_url
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret is not None else None
    config = None
    if url:
        config = WebhookConfig.from_settings(
            url, listen=settings.webhook_listen, secret=secret, path=settings.webhook_path
        )
    return {
        "webhook_config": config,
        "metrics_listen": settings.metrics_listen,
        "webapp_listen": settings.webapp_listen,
        "webapp_url": settings.webapp_url,
        "proxy": settings.proxy.get_secret_value() if settings.proxy is not None else None,
    }


def log_secrets(settings: Any) -> list[str]:
    """Values the log must never show: the webhook secret and the proxy's password."""
    found = []
    if settings.webhook_secret is not None:
        found.append(settings.webhook_secret.get_secret_value())
    if settings.proxy is not None:
        found.append(urlsplit(settings.proxy.get_secret_value()).password or "")
    return [s for s in found if s]
