"""Settings from PETITION_* variables, choosing the organisation file, check_config."""

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.orgcheck import check_config
from bot.settings import Settings, load_organization
from store.org import OrgError, example_org, starter_toml


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No PETITION_* variable of the machine leaks in; relative paths resolve in an empty folder."""
    for name in list(os.environ):
        if name.startswith("PETITION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = Settings()
    assert settings.bot_token is None
    assert settings.api_url == "https://api.telegram.org/bot"
    assert settings.api_file_url == "https://api.telegram.org/file/bot"
    assert settings.db == "petitions.db"
    assert settings.config == Path("petition-bot.toml")
    assert settings.log_level == "INFO"


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITION_BOT_TOKEN", "123:secret")
    monkeypatch.setenv("PETITION_API_URL", "http://127.0.0.1:8081/bot")
    monkeypatch.setenv("PETITION_DB", "/var/lib/petition/cases.db")
    monkeypatch.setenv("PETITION_CONFIG", "/etc/petition/org.toml")
    monkeypatch.setenv("PETITION_LOG_LEVEL", "debug")
    settings = Settings()
    assert isinstance(settings.bot_token, SecretStr)
    assert settings.bot_token.get_secret_value() == "123:secret"
    assert "123:secret" not in repr(settings)
    assert settings.api_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.db == "/var/lib/petition/cases.db"
    assert settings.config == Path("/etc/petition/org.toml")
    assert settings.log_level == "DEBUG"


def test_explicit_file_url_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITION_API_URL", "http://127.0.0.1:8081/bot")
    monkeypatch.setenv("PETITION_API_FILE_URL", "http://files.local/file/bot")
    assert Settings().api_file_url == "http://files.local/file/bot"


def test_no_file_url_is_guessed_for_other_api_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITION_API_URL", "http://127.0.0.1:8081/custom")
    assert Settings().api_file_url is None


def test_unknown_log_level_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITION_LOG_LEVEL", "LOUD")
    with pytest.raises(ValidationError, match='unknown log level "LOUD"'):
        Settings()


def test_without_a_file_the_example_is_used() -> None:
    org, source = load_organization(Settings())
    assert org == example_org()
    assert source == 'built-in example organisation (no file at "petition-bot.toml")'


def test_the_configured_file_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "org.toml"
    path.write_text(starter_toml().replace("延长石油（示例）", "测试油田"), encoding="utf-8")
    monkeypatch.setenv("PETITION_CONFIG", str(path))
    org, source = load_organization(Settings())
    assert org.organization.name == "测试油田"
    assert source == f'organisation file "{path}"'


def test_an_invalid_file_is_not_replaced_by_the_example(tmp_path: Path) -> None:
    (tmp_path / "petition-bot.toml").write_text("[organization]\n", encoding="utf-8")
    with pytest.raises(OrgError) as info:
        load_organization(Settings())
    assert "organization.name: required" in info.value.errors


def test_check_config_ok(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text(starter_toml(), encoding="utf-8")
    assert check_config(path) == (True, ["OK: 11 units, 9 categories, 9 staff"])


def test_check_config_lists_the_errors(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text(starter_toml().replace('units = ["plant-1"]', 'units = ["plant-9"]'), encoding="utf-8")
    assert check_config(path) == (False, ['staff[5].units[0]: unknown unit "plant-9"'])


def test_check_config_missing_file(tmp_path: Path) -> None:
    ok, lines = check_config(tmp_path / "nope.toml")
    assert not ok
    assert lines == [f'cannot read "{tmp_path / "nope.toml"}": No such file or directory']
