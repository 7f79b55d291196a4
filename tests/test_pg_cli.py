"""The command line on PostgreSQL: migrate an SQLite installation, verify, report, back up and restore."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from bot import cli
from store.clock import FakeClock
from store.org import Organization
from store.services import Services
from store.vault import key_path
from store.workflow import Action
from tests.backends import fresh_database, require_pg, rows
from tests.conftest import ORG_FILE, draft, petitioner

OFFICER = 1001


@pytest.fixture(autouse=True)
def _pg(monkeypatch: pytest.MonkeyPatch) -> None:
    require_pg()
    monkeypatch.setenv("PETITION_CONFIG", str(ORG_FILE))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main([*args, "--lang", "en"])
    out, err = capsys.readouterr()
    return code, out, err


async def fill(target: str, org: Organization, cases: int = 3) -> list[str]:
    """A few cases with their journal, notifications and a reply: something of every kind to copy."""
    services = await Services.open(target, org, FakeClock())
    try:
        numbers = []
        for n in range(cases):
            case = (await services.cases.submit(petitioner(5001 + n), draft(), f"fill-{n}")).case
            numbers.append(case.number)
        await services.cases.act(services.cases.actor(OFFICER), numbers[0], Action.ACCEPT)
        await services.cases.act(services.cases.actor(OFFICER), numbers[0], Action.REPLY, body="请补充工资条。")
        return numbers
    finally:
        await services.close()


TABLES = ["cases", "events", "outbox", "attachments", "meta", "case_numbers", "users"]


def table_counts(db: str | Path) -> dict[str, int]:
    return {t: rows(db, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


@pytest.mark.postgresql
async def test_migrate_moves_everything_and_the_copy_goes_on(
    tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "petitions.db"
    async with fresh_database("postgresql", tmp_path) as url:
        numbers = await fill(str(source), org)
        key = key_path(source)  # the key the SQLite installation seals with (PETITION_KEY_FILE, else beside it)
        code, out, err = await asyncio.to_thread(run, capsys, "migrate", "--from", str(source), "--to", url)
        assert (code, err) == (0, ""), err
        assert "copied 3 cases" in out and "journal verified" in out
        assert table_counts(url) == table_counts(source)
        assert rows(url, "SELECT number FROM cases ORDER BY id") == [(n,) for n in numbers]
        # The pseudonym secret came along, so code names stay the same.
        assert rows(url, "SELECT value FROM meta") == rows(source, "SELECT value FROM meta")
        assert await asyncio.to_thread(run, capsys, "verify-journal", "--db", url) == (
            0, f"OK: {table_counts(url)['events']} events, hash chain intact\n", ""
        )
        # The copy goes on where the file stopped: the next number and the next ids.
        # The copy's identities are sealed with the file's key: the instances on PostgreSQL use it.
        assert f"PETITION_KEY_FILE={key}" in out
        services = await Services.open(url, org, FakeClock(), key_file=key)
        try:
            fourth = (await services.cases.submit(petitioner(5100), draft(), "after-move")).case
        finally:
            await services.close()
        assert fourth.number.endswith("000004") and fourth.id == 4
        # Into a database that already holds cases: refused, nothing changed.
        code, _out, err = await asyncio.to_thread(run, capsys, "migrate", "--from", str(source), "--to", url)
        assert code == 1 and "already holds 4 cases" in err
        assert table_counts(url)["cases"] == 4


@pytest.mark.slow
@pytest.mark.postgresql
async def test_report_verify_backup_and_restore_on_postgresql(
    tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.umask", lambda _mask: 0o022)  # not applied: the files must be private anyway
    async with fresh_database("postgresql", tmp_path) as url:
        await fill(url, org)
        before = table_counts(url)
        out_file = tmp_path / "report.xlsx"
        code, out, err = await asyncio.to_thread(
            run, capsys, "report", "--db", url, "--period", "2026-11", "--out", str(out_file)
        )
        assert (code, err) == (0, "") and "3 cases" in out and out_file.stat().st_size > 0
        dump = tmp_path / "petitions.dump"
        code, out, err = await asyncio.to_thread(run, capsys, "backup", "--db", url, str(dump))
        assert (code, err) == (0, ""), err
        assert "3 cases" in out and stat.S_IMODE(dump.stat().st_mode) == 0o600
        # Restoring over a database that holds cases needs --force.
        code, _out, err = await asyncio.to_thread(run, capsys, "restore", "--db", url, str(dump))
        assert code == 1 and "already holds 3 cases" in err
        # Lose everything, then restore from the dump.
        schema = url.rsplit("%3D", 1)[1]
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")
        code, out, err = await asyncio.to_thread(run, capsys, "restore", "--db", url, str(dump))
        assert (code, err) == (0, ""), err
        assert "3 cases" in out
        assert table_counts(url) == before
        code, out, _err = await asyncio.to_thread(run, capsys, "verify-journal", "--db", url)
        assert code == 0 and "hash chain intact" in out


def test_migrate_needs_a_file_and_a_url(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = run(capsys, "migrate", "--from", "postgresql://127.0.0.1/test", "--to", str(tmp_path / "x.db"))
    assert code == 1 and "--from is an SQLite file" in err
