"""Exports are data, never formulas; files with petition data are 0600 whatever the umask (issue 11, paths 3-4)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main as cli
from handlers import reports
from store.clock import FakeClock
from store.models import SYSTEM
from store.org import Organization
from store.services import Services
from tests.conftest import ORG_FILE, draft, petitioner

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "a,=1+1"]


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def hostile_cases(store: Services) -> None:
    for n, subject in enumerate(HOSTILE):
        await store.cases.submit(petitioner(5001 + n, name=subject), draft(subject=subject), f"hostile-{n}")


async def test_xlsx_cells_with_formula_text_are_strings(store: Services, org: Organization) -> None:
    await hostile_cases(store)
    data = await store.indicators.export_data(SYSTEM, None, "2026-11")
    book = load_workbook(io.BytesIO(reports.xlsx_bytes(data, org, "zh", store.tz)))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    subjects = [row[5] for row in list(book.worksheets[0].values)[1:]]
    # The text itself, unchanged (XML stores a carriage return as a line feed).
    assert sorted(subjects) == sorted(s.replace("\r", "\n") for s in HOSTILE)
    petitioners = [row[4] for row in list(book.worksheets[0].values)[1:]]
    assert '=HYPERLINK("http://x","y")' in petitioners
    # Numbers stay numbers on the indicators sheet.
    indicators = list(book.worksheets[1].values)
    assert isinstance(indicators[2][1], int) and indicators[2][1] == len(HOSTILE)


async def test_csv_cells_are_neutralized_and_numbers_stay_numbers(store: Services, org: Organization) -> None:
    await hostile_cases(store)
    data = await store.indicators.export_data(SYSTEM, None, "2026-11")
    indicators, cases = reports.csv_texts(data, org, "en", store.tz)
    rows = list(csv.reader(io.StringIO(cases)))
    subjects = sorted(row[5] for row in rows[1:])
    # The store keeps a carriage return as a newline (store/safetext.py); a cell starting with either is quoted.
    expected = [s.replace("\r", "\n") for s in HOSTILE]
    assert subjects == sorted(["'" + s if s[0] in "=+-@\t\n" else s for s in expected])
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n")), cell
    # Every text cell is quoted (a "," inside cannot start a new cell); figures are bare numbers.
    raw = cases.splitlines()[1]
    assert raw.startswith('"') and '"a,=1+1"' in cases
    figures = indicators.splitlines()[1].split(",")
    assert figures[0].startswith('"') and figures[1] == str(len(HOSTILE))


async def test_database_wal_backup_and_reports_are_0600_under_umask_022(
    org: Organization, tmp_path: Path, umask_022: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "cases.db"
    store = await Services.open(db, org, FakeClock())
    try:
        await hostile_cases(store)
        companions = [Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in companions)
        assert {p.name: mode(p) for p in [db, *companions]} == {p.name: 0o600 for p in [db, *companions]}
        monkeypatch.setenv("PETITION_CONFIG", str(ORG_FILE))
        backup = tmp_path / "backup.db"
        assert await asyncio.to_thread(cli, ["backup", str(backup), "--db", str(db)]) == 0
        xlsx, csv_out = tmp_path / "report.xlsx", tmp_path / "report.csv"
        args = ["report", "--period", "2026-11", "--db", str(db)]
        assert await asyncio.to_thread(cli, [*args, "--format", "xlsx", "--out", str(xlsx)]) == 0
        assert await asyncio.to_thread(cli, [*args, "--format", "csv", "--out", str(csv_out)]) == 0
    finally:
        await store.close()
    written = [backup, xlsx, csv_out, tmp_path / "report-cases.csv"]
    assert {p.name: mode(p) for p in written} == {p.name: 0o600 for p in written}
    restored = tmp_path / "restored.db"
    assert await asyncio.to_thread(cli, ["restore", str(backup), "--db", str(restored)]) == 0
    assert mode(restored) == 0o600
    capsys.readouterr()


async def test_an_old_world_readable_database_is_made_private_on_open(org: Organization, tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    store = await Services.open(db, org)
    await store.close()
    os.chmod(db, 0o644)
    store = await Services.open(db, org)
    try:
        assert mode(db) == 0o600 and mode(Path(f"{db}-wal")) == 0o600
    finally:
        await store.close()
