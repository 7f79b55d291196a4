"""The first hour with the command line: each mistake a new user makes gets one line and exit 1."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.settings import Settings
from botsim import BotApiSimulator
from store.org import example_org, starter_toml
from store.services import Services


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No PETITION_* variable or locale of the machine leaks in; relative paths resolve in an empty folder."""
    for name in list(os.environ):
        if name.startswith("PETITION_") or name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def database(path: Path) -> Path:
    async def make() -> None:
        store = await Services.open(path, example_org())
        await store.close()

    asyncio.run(make())
    return path


# ------------------------------------------------------------- verify-journal


def test_verify_journal_on_a_file_that_is_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n", encoding="utf-8")
    assert run(capsys, "verify-journal", "--db", str(path)) == (
        1, "", f"{path}: not a petition-bot database (file is not a database)\n"
    )


def test_verify_journal_on_a_damaged_database_exits(tmp_path: Path) -> None:
    """A file that starts like SQLite but is not one: one line, exit 1, and the process ends."""
    path = tmp_path / "damaged.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\x01" * 4000)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--lang", "en", "verify-journal", "--db", str(path)],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{path}: not a petition-bot database (file is not a database)"]


# --------------------------------------------------------- organisation file


def test_an_explicit_config_that_does_not_exist_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PETITION_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("PETITION_CONFIG", str(tmp_path / "org.toml"))
    monkeypatch.setenv("PETITION_DB", str(tmp_path / "cases.db"))
    code, _out, err = run(capsys, "run")
    assert (code, err) == (1, f"{tmp_path / 'org.toml'}: no such file (named by PETITION_CONFIG)\n")
    assert not (tmp_path / "cases.db").exists()


def test_without_config_the_example_runs_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        found = cli._organization(Settings(), "en")
    assert not isinstance(found, int), found  # an organisation, not an exit status
    org, source = found
    assert org == example_org()
    assert source == "built-in example organisation (no file at petition-bot.toml)"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "built-in EXAMPLE organisation" in warnings[0] and "petition-bot init petition-bot.toml" in warnings[0]


# ------------------------------------------------------------------ the token


async def test_a_refused_token_is_one_line_and_creates_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with BotApiSimulator(token="123456:RIGHT") as sim:
        monkeypatch.setenv("PETITION_BOT_TOKEN", "123456:WRONG")
        monkeypatch.setenv("PETITION_API_URL", sim.base_url)
        monkeypatch.setenv("PETITION_DB", str(tmp_path / "cases.db"))
        config = tmp_path / "petition-bot.toml"  # a real file: no example-organisation warning
        config.write_text(starter_toml(), encoding="utf-8")
        monkeypatch.setenv("PETITION_CONFIG", str(config))
        code = await asyncio.to_thread(cli.main, ["run"])
    _out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        f"the Bot API at {sim.base_url} refused the token in PETITION_BOT_TOKEN; copy it again from @BotFather"
    ]
    assert "WRONG" not in err
    assert not (tmp_path / "cases.db").exists()


def test_no_network_is_one_line_and_creates_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = f"http://127.0.0.1:{port}/bot"
    monkeypatch.setenv("PETITION_BOT_TOKEN", "123456:ANY")
    monkeypatch.setenv("PETITION_API_URL", api)
    monkeypatch.setenv("PETITION_DB", str(tmp_path / "cases.db"))
    config = tmp_path / "petition-bot.toml"  # a real file: no example-organisation warning
    config.write_text(starter_toml(), encoding="utf-8")
    monkeypatch.setenv("PETITION_CONFIG", str(config))
    code, _out, err = run(capsys, "run")
    assert code == 1
    assert len(err.splitlines()) == 1 and err.startswith(f"cannot reach the Bot API at {api} ("), err
    assert not (tmp_path / "cases.db").exists()


# ------------------------------------------------------- folders that do not exist


def test_init_into_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "etc" / "org.toml"
    assert run(capsys, "init", str(target)) == (1, "", f"{target}: the folder {target.parent} does not exist\n")


def test_report_into_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = database(tmp_path / "cases.db")
    out = tmp_path / "reports" / "nov.xlsx"
    assert run(capsys, "report", "--period", "2026-11", "--out", str(out), "--db", str(db)) == (
        1, "", f"{out}: the folder {out.parent} does not exist\n"
    )


def test_backup_into_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = database(tmp_path / "cases.db")
    out = tmp_path / "backup" / "cases.db"
    assert run(capsys, "backup", str(out), "--db", str(db)) == (
        1, "", f"{out}: the folder {out.parent} does not exist\n"
    )


# ---------------------------------------------------------------- report


def test_report_names_the_unit_it_does_not_know(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = database(tmp_path / "cases.db")
    code, out, err = run(capsys, "report", "--unit", "炼油三厂", "--out", str(tmp_path / "r.xlsx"), "--db", str(db))
    assert (code, out) == (1, "")
    assert err == "--unit 炼油三厂: no such unit in the organisation file (give a unit id or its name)\n"


def test_one_language_per_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = database(tmp_path / "cases.db")
    code, _out, err = run(capsys, "report", "--unit", "炼油三厂", "--out", str(tmp_path / "r.xlsx"),
                          "--db", str(db), "--lang", "zh")
    assert (code, err) == (1, "--unit 炼油三厂：组织配置文件中没有该单位（请填写单位 id 或名称）\n")
    # The language before the command works too, and the locale decides when none is given.
    target = tmp_path / "etc" / "org.toml"
    assert run(capsys, "--lang", "zh", "init", str(target))[2] == f"{target}：文件夹 {target.parent} 不存在\n"


def test_the_language_follows_the_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    target = tmp_path / "etc" / "org.toml"
    assert run(capsys, "init", str(target))[2] == f"{target}：文件夹 {target.parent} 不存在\n"


# ------------------------------------------------------------- check-config


def test_check_config_reports_every_error_in_one_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "org.toml"
    path.write_text(starter_toml().replace('units = ["plant-1"]', 'units = ["plant-9"]') + """
[[reception]]
id = "r1"
leader = 100002
date = 2026-12-05
start = "11:00"
end = "09:00"
slots = 0
""", encoding="utf-8")
    code, out, err = run(capsys, "check-config", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f'{path}: staff[5].units[0]: unknown unit "plant-9"',
        f"{path}: reception[0].slots: Input should be greater than 0",
        f"{path}: reception[0]: end must be after start",
        f"{path}: reception[0]: needs a place or a unit (下访), or both",
    ]


def test_check_config_warns_but_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "org.toml"
    path.write_text(starter_toml().replace("accept_days = 15", "accept_days = 20") + """
[[reception]]
id = "r1"
leader = 100002
date = 2020-01-06
start = "09:00"
end = "11:00"
place = "二楼接待室"
slots = 5
""", encoding="utf-8")
    code, out, err = run(capsys, "check-config", str(path))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "OK: 11 units, 9 categories, 9 staff"
    assert f"WARNING: {path}: deadlines.accept_days: 20 days is longer than the 15 that 《信访工作条例》 Art. 22-23 allows" in lines
    assert f"WARNING: {path}: reception[0].date: 2020-01-06 is in the past; nobody can book it" in lines
    placeholder = [line for line in lines if "example id from the starter file" in line]
    assert len(placeholder) == 9 and f"WARNING: {path}: staff[0].telegram_id: 100001 is an example id" \
        " from the starter file; put this person's own Telegram id" in lines


# ------------------------------------------------------------ help, version


def test_version_and_run_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("petition-bot ")
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    help_text = capsys.readouterr().out
    for name in ("PETITION_BOT_TOKEN", "PETITION_CONFIG", "PETITION_DB", "PETITION_API_URL", "PETITION_LOG_LEVEL"):
        assert name in help_text, name


def test_a_database_that_is_a_database_still_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = database(tmp_path / "cases.db")
    assert run(capsys, "verify-journal", "--db", str(db)) == (0, "OK: 0 events, hash chain intact\n", "")
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] > 0


async def test_run_names_a_missing_database_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with BotApiSimulator(token="123456:RIGHT") as sim:
        monkeypatch.setenv("PETITION_BOT_TOKEN", "123456:RIGHT")
        monkeypatch.setenv("PETITION_API_URL", sim.base_url)
        monkeypatch.setenv("PETITION_DB", str(tmp_path / "data" / "cases.db"))
        config = tmp_path / "petition-bot.toml"  # a real file: no example-organisation warning
        config.write_text(starter_toml(), encoding="utf-8")
        monkeypatch.setenv("PETITION_CONFIG", str(config))
        code = await asyncio.to_thread(cli.main, ["run"])
        assert [name for name, *_ in sim.calls] == ["getMe"]  # the token was checked, nothing else done
    _out, err = capsys.readouterr()
    assert (code, err) == (1, f"{tmp_path / 'data' / 'cases.db'}: the folder {tmp_path / 'data'} does not exist\n")


def test_check_config_warns_of_a_pace_above_telegrams(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "org.toml"
    path.write_text(starter_toml().replace("bot_messages_per_second = 28", "bot_messages_per_second = 60"),
                    encoding="utf-8")
    code, out, _err = run(capsys, "check-config", str(path))
    assert code == 0
    assert f"WARNING: {path}: limits.bot_messages_per_second: 60 is more than the 30 a second Telegram" \
        " allows most bots" in out.splitlines()
