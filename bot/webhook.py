"""Webhook mode: Telegram POSTs each update to us instead of the bot polling for it.

``petition-bot run --webhook https://bot.example.com/telegram`` (or
``PETITION_WEBHOOK_URL``). PTB's own ``Updater.start_webhook`` (tornado)
serves it; this module only turns the settings into its arguments.

- The secret token: Telegram sends it back in ``X-Telegram-Bot-Api-Secret-Token``
  on every request; PTB answers any request without it, or with another
  value, with 403 and never looks at the body. ``PETITION_WEBHOOK_SECRET``
  sets it; when it is not set, a random one is generated at each start and
  the log says so (not its value). That is safe: the bot registers the
  secret with ``setWebhook`` itself at every start, so nobody else needs
  to know it.
- Behind a reverse proxy: the public URL is what Telegram calls
  (``https://bot.example.com/telegram``); the proxy forwards to
  ``PETITION_WEBHOOK_LISTEN`` (default ``0.0.0.0:8443``, plain HTTP; the
  proxy terminates TLS). The local path is the public URL's path unless
  ``PETITION_WEBHOOK_PATH`` says otherwise (a proxy that rewrites paths).
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Updater

from bot.network import split_listen

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "0.0.0.0:8443"
#: What Telegram accepts as a secret token.
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class WebhookConfig:
    url: str  # the public HTTPS URL Telegram calls
    secret: str
    host: str = "0.0.0.0"
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


async def start(updater: Updater, config: WebhookConfig) -> None:
    """Listen for updates and register the webhook (with its secret) at the Bot API."""
    await updater.start_webhook(
        listen=config.host,
        port=config.port,
        url_path=config.local_path,
        webhook_url=config.url,
        secret_token=config.secret,
        allowed_updates=Update.ALL_TYPES,
        # A few tries (about 15 s), then the start fails: a webhook Telegram refuses must
        # stop the process where the operator sees it, not retry forever behind a green /healthz.
        bootstrap_retries=5,
    )
    log.info("webhook mode: listening on %s:%s/%s", config.host, config.port, config.local_path)


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
