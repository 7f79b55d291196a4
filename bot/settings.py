"""Settings from the environment (PETITION_*) and the choice of organisation file.

Secrets and paths come from the environment so the same image can run in any
deployment; everything about the company itself lives in the organisation file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.network import check_proxy, split_listen
from store.org import Organization, example_org, load_org

_BOT_SUFFIX = "/bot"
_FILE_SUFFIX = "/file/bot"


class Settings(BaseSettings):
    """Runtime settings; each field is read from PETITION_<FIELD> (e.g. PETITION_BOT_TOKEN)."""

    model_config = SettingsConfigDict(env_prefix="PETITION_", extra="ignore")

    bot_token: SecretStr | None = None
    api_url: str = "https://api.telegram.org/bot"
    api_file_url: str | None = None
    db: str = "petitions.db"  # an SQLite file, or a postgresql:// URL
    config: Path = Path("petition-bot.toml")
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Operations (docs/deployment.md): webhook instead of polling, health and metrics, a proxy.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1:8443"  # the reverse proxy on this machine is the public face
    webhook_path: str | None = None
    webhook_secret: SecretStr | None = None
    metrics_listen: str = "127.0.0.1:9464"
    proxy: SecretStr | None = None
    # The Mini App (bot/webapp.py): where it listens ("" turns it off) and its public https URL.
    webapp_listen: str = "127.0.0.1:8090"
    webapp_url: str | None = None

    @field_validator("webhook_listen", "metrics_listen", "webapp_listen")
    @classmethod
    def _listen(cls, value: str, info: ValidationInfo) -> str:
        """host:port, checked at start; an empty PETITION_METRICS_LISTEN (or _WEBAPP_LISTEN) turns it off."""
        value = value.strip()
        if value or info.field_name not in ("metrics_listen", "webapp_listen"):
            split_listen(value)
        return value

    @field_validator("webapp_url")
    @classmethod
    def _webapp_url(cls, value: str | None) -> str | None:
        """The page's public URL: Telegram opens only https:// Mini Apps."""
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f'PETITION_WEBAPP_URL must be an https:// URL, got "{value}"')
        return value

    @field_validator("db", mode="before")
    @classmethod
    def _db(cls, value: object) -> object:
        """Kept as written (a Path would fold a URL's ``//``), without surrounding blanks."""
        return str(value).strip()

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        check_proxy(value.get_secret_value().strip())
        return SecretStr(value.get_secret_value().strip())
    # The vault's key (store/vault.py): the key file (default: next to the
    # database, petitions.db -> petitions.key, created 0600 at first run or by
    # init), or the key itself in the environment.
    key_file: Path | None = None
    secret_key: SecretStr | None = None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        """Accept "debug" as well as "DEBUG", but fail at start on a level logging does not know."""
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f'unknown log level "{value}"')
        return level

    @model_validator(mode="after")
    def _derive_file_url(self) -> Self:
        """A self-hosted Bot API server serves files next to its API: .../bot -> .../file/bot."""
        if self.api_file_url is None and self.api_url.endswith(_BOT_SUFFIX):
            self.api_file_url = self.api_url.removesuffix(_BOT_SUFFIX) + _FILE_SUFFIX
        return self


class ConfigMissing(Exception):
    """PETITION_CONFIG names a file that does not exist."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: no such file (named by PETITION_CONFIG)")
        self.path = path


def load_organization(settings: Settings) -> tuple[Organization, str]:
    """The organisation from `settings.config` if that file exists, else the built-in example.

    Also says where it came from, for the start-up log. A file that exists but
    is invalid raises OrgError, and a file named by PETITION_CONFIG that does
    not exist raises ConfigMissing: silently falling back to the example would
    send real petitions to example staff. Only with no PETITION_CONFIG at all
    does the example run (the CLI announces it at WARNING).
    """
    path = settings.config
    if "config" in settings.model_fields_set and not path.is_file():
        raise ConfigMissing(path)
    if path.is_file():
        return load_org(path), f'organisation file "{path}"'
    return example_org(), f'built-in example organisation (no file at "{path}")'
