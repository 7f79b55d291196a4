"""The operators' files in deploy/: systemd units, the backup timer, the Dockerfile, compose.yaml."""

from __future__ import annotations

import asyncio
import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import parser
from bot.metrics import Monitor
from store.services import Services

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
VENV_BIN = Path(sys.executable).parent
INSTALLED = "/opt/petition-bot/.venv/bin/petition-bot"


def unit(name: str) -> configparser.ConfigParser:
    config = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",), comment_prefixes=("#", ";"))
    config.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    config.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return config


def systemd_unescape(value: str) -> str:
    """What systemd hands to the process: %% is %, $$ is $ (a lone % would be a specifier)."""
    assert re.search(r"%(?!%)", value.replace("%%", "")) is None, f"unescaped % in {value}"
    return value.replace("%%", "%").replace("$$", "$")


def test_the_service_unit() -> None:
    config = unit("petition-bot.service")
    service = config["Service"]
    assert service["User"] == "petition-bot" and service["Group"] == "petition-bot"
    assert service["EnvironmentFile"] == "/etc/petition-bot/env"
    assert service["WorkingDirectory"] == "/var/lib/petition-bot"
    assert service["ExecStart"] == f"{INSTALLED} run"
    assert service["Restart"] == "on-failure"
    assert service["StateDirectory"] == "petition-bot" and service["UMask"] == "0077"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "CapabilityBoundingSet": ""}.items():
        assert service[key] == value, key
    assert config["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in config["Unit"]["After"]
    args = parser().parse_args(shlex.split(service["ExecStart"])[1:])
    assert args.command == "run"
    assert "mode 0600" in (DEPLOY / "petition-bot.service").read_text(encoding="utf-8")


def test_the_backup_timer_and_service() -> None:
    timer = unit("petition-bot-backup.timer")
    assert timer["Timer"]["Unit"] == "petition-bot-backup.service"
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:15:00" and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    service = unit("petition-bot-backup.service")["Service"]
    assert service["Type"] == "oneshot" and service["User"] == "petition-bot"
    assert service["ReadWritePaths"] == "/var/backups/petition-bot"
    shell, flag, script = shlex.split(systemd_unescape(service["ExecStart"]))
    assert (shell, flag) == ("/bin/sh", "-c")
    words = shlex.split(script)
    assert words[:2] == ["exec", INSTALLED]
    args = parser().parse_args(words[2:])  # the real command line's shape
    assert (args.command, args.db, args.force) == ("backup", "/var/lib/petition-bot/petitions.db", False)
    assert args.file == "/var/backups/petition-bot/petitions-$(date +%Y%m%d).db"


@pytest.mark.parametrize("backend", ["sqlite"])  # the timer copies the SQLite file the unit names
async def test_the_backup_command_writes_todays_file(store: Services, tmp_path: Path) -> None:
    """The unit's ExecStart, as systemd would run it, with this machine's paths."""
    backups = tmp_path / "backups"
    backups.mkdir()
    command = systemd_unescape(unit("petition-bot-backup.service")["Service"]["ExecStart"])
    command = (command.replace(INSTALLED, str(VENV_BIN / "petition-bot"))
               .replace("/var/lib/petition-bot/petitions.db", str(store.db.path))
               .replace("/var/backups/petition-bot", str(backups)))
    days = {time.strftime("%Y%m%d")}
    done = await asyncio.to_thread(subprocess.run, shlex.split(command), capture_output=True, text=True, timeout=60)
    days.add(time.strftime("%Y%m%d"))
    assert done.returncode == 0, done.stderr
    written = [p.name for p in backups.iterdir()]
    assert len(written) == 1 and written[0] in {f"petitions-{day}.db" for day in days}, written
    assert "backed up to" in done.stdout


# The directives these units may use, by section: a subset of systemd.directives(7) (systemd 252, Debian 12),
# so a misspelt or misplaced key fails here on any machine, with or without systemd.
DIRECTIVES = {
    "Unit": {"Description", "Documentation", "After", "Wants", "Requires", "Before"},
    "Service": {
        "Type", "User", "Group", "EnvironmentFile", "Environment", "WorkingDirectory", "ExecStart", "ExecStartPost", "ExecReload",
        "Restart", "RestartSec", "TimeoutStopSec", "KillSignal", "UMask", "StateDirectory", "StateDirectoryMode",
        "ReadWritePaths", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
        "PrivateNetwork", "ProtectClock", "ProtectControlGroups", "ProtectHostname", "ProtectKernelLogs",
        "ProtectKernelModules", "ProtectKernelTunables", "ProtectProc", "RemoveIPC", "RestrictAddressFamilies",
        "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "SystemCallArchitectures",
        "SystemCallErrorNumber", "SystemCallFilter", "CapabilityBoundingSet", "AmbientCapabilities",
    },
    "Timer": {"OnCalendar", "Persistent", "RandomizedDelaySec", "Unit", "AccuracySec"},
    "Install": {"WantedBy", "RequiredBy", "Alias"},
}
UNITS = ["petition-bot.service", "petition-bot-backup.service", "petition-bot-backup.timer"]


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    for name in UNITS:
        config = unit(name)
        assert set(config.sections()) <= set(DIRECTIVES), (name, config.sections())
        for section in config.sections():
            unknown = set(config[section]) - DIRECTIVES[section]
            assert not unknown, (name, section, unknown)
    services = [unit(n)["Service"] for n in UNITS if n.endswith(".service")]
    assert {s["Type"] for s in services} <= {"simple", "exec", "notify", "oneshot"}
    assert all(s.get("Restart", "no") in {"no", "on-failure", "always", "on-abnormal"} for s in services)
    # Where systemd itself is installed, its own check as well.
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        done = subprocess.run([analyze, "verify", "--man=no", *(str(DEPLOY / n) for n in UNITS)],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
        # Only complaint allowed: the installed program does not exist on a test machine.
        problems = [line for line in (done.stdout + done.stderr).splitlines()
                    if line.strip() and f"Command {INSTALLED} is not executable" not in line]
        assert problems == []


def test_the_dockerfile() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.MULTILINE)
    assert re.search(r"^USER petition-bot", text, re.MULTILINE) and "useradd --system" in text
    assert 'VOLUME ["/var/lib/petition-bot"]' in text
    assert "PETITION_METRICS_LISTEN=0.0.0.0:9464" in text and "PETITION_DB=/var/lib/petition-bot/" in text
    assert re.search(r'^CMD \["petition-bot", "run"\]$', text, re.MULTILINE)


async def test_the_container_health_check_follows_healthz(store: Services) -> None:
    """The HEALTHCHECK's own command, pointed at a live /healthz: exit 0 on 200, 1 on 503."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    (check,) = re.findall(r"^\s*CMD (\[.*\])$", text.split("HEALTHCHECK", 1)[1], re.MULTILINE)[:1]
    argv = json.loads(check)
    assert argv[0] == "python" and "/healthz" in argv[2] and "9464" in argv[2]
    monitor = Monitor()
    monitor.attach(store)
    assert await monitor.start_http("127.0.0.1:0")
    try:
        argv = [sys.executable, argv[1], argv[2].replace("9464", str(monitor.port))]
        unhealthy = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=30)
        assert unhealthy.returncode == 1 and unhealthy.stdout.startswith("503 Bot API")
        monitor.api_answered(200)
        healthy = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=30)
        assert (healthy.returncode, healthy.stdout) == (0, "200 ok\n")
    finally:
        await monitor.stop_http()


def test_compose_file_is_valid(tmp_path: Path) -> None:
    """The compose file as compose reads it: what each service needs, every volume and network declared.

    Where the docker compose plugin exists, ``docker compose config`` checks it against the spec too.
    """
    import yaml

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert (DEPLOY.parent / bot["build"]["context"].removeprefix("..").lstrip("/") / bot["build"]["dockerfile"]).is_file()
    assert bot["environment"]["PETITION_DB"] == "postgresql://petition@db/petition"
    # PostgreSQL has no file to keep the vault's key beside: it is named, in the persistent volume.
    assert bot["environment"]["PETITION_KEY_FILE"].startswith("/var/lib/petition-bot/")
    assert any(str(v).startswith("petition-data:/var/lib/petition-bot") for v in bot["volumes"])
    assert bot["env_file"] == [{"path": "./petition-bot.env", "required": True}]
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert db["image"] == "postgres:15" and db["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert "petition-db:/var/lib/postgresql/data" in db["volumes"]
    named = {str(v).split(":")[0] for service in compose["services"].values() for v in service.get("volumes", [])
             if isinstance(v, str)}
    assert named <= set(compose["volumes"]), named - set(compose["volumes"])
    networks = {n for service in compose["services"].values() for n in service.get("networks", [])} - {"default"}
    assert networks <= set(compose["networks"]) and compose["networks"]["backend"]["internal"] is True
    docker = shutil.which("docker")
    plugin = docker is not None and subprocess.run(
        [docker, "compose", "version"], capture_output=True, timeout=60).returncode == 0
    if plugin:
        copy = tmp_path / "deploy"
        copy.mkdir()
        shutil.copy(DEPLOY / "compose.yaml", copy)
        (copy / "petition-bot.env").write_text("PETITION_BOT_TOKEN=123:TEST\n")
        (copy / "petition-bot.toml").write_text("")
        done = subprocess.run([str(docker), "compose", "-f", str(copy / "compose.yaml"), "config", "-q"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
