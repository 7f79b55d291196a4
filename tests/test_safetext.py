"""Control characters (issue 20, finding 4): cleaned where text enters the store and again in every export.

A subject with a BEL, an ESC or a C1 control, typed in the chat, registered from a letter or imported
from a ledger, used to be stored as it was; openpyxl then refused the whole export (``/export`` and
``report --format xlsx``) and the exception, subject included, went to the ERROR log.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.cli import main as cli
from bot.jobs import run_screening_sweep, run_sweep
from handlers import reports
from handlers.errors import on_error
from store.clock import FakeClock
from store.ledger import PersonIn, Registration
from store.models import SYSTEM, Actor, ActorRole, Channel
from store.org import Organization
from store.safetext import clean, for_sheet
from store.screening import DisputeIn, Risk
from store.services import Services
from store.workflow import Action
from tests.backends import execute
from tests.conftest import ORG_FILE, draft, petitioner, rows

OFFICER = Actor(id=1001, role=ActorRole.OFFICER, name="王主任")
BAD_SUBJECT = "加班费\x07未发放\x1b[31m\x00\x85"
OLD_SUBJECT = "加班费\x07未发放\x1b[31m\x85"  # PostgreSQL never held a NUL; an older SQLite file might
BAD_DETAILS = "第一行\r\n第二行\tA\x0b\x0c\x7f\ufffe"
CONTROLS = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]] + ["\ufffe", "\uffff"]


def has_control(value: Any) -> bool:
    return isinstance(value, str) and any(c in value for c in CONTROLS)


def test_clean_keeps_newline_and_tab_turns_cr_into_newline_and_drops_the_rest() -> None:
    assert clean(BAD_SUBJECT) == "加班费未发放[31m"
    assert clean(BAD_DETAILS) == "第一行\n第二行\tA"
    assert clean("a\rb") == "a\nb"
    assert clean("e\u0301") == "\u00e9"  # NFC: one spelling of é
    assert clean(clean(BAD_DETAILS)) == clean(BAD_DETAILS)
    assert for_sheet(3) == 3 and for_sheet(None) is None


async def test_a_subject_typed_in_the_chat_is_stored_clean_and_exports(store: Services, org: Organization) -> None:
    done = await store.cases.submit(
        petitioner(name="张\x1b三"), draft(subject=BAD_SUBJECT, details=BAD_DETAILS, desired_outcome="补发\x07"), "k1"
    )
    [(subject, details, desired, name)] = rows(
        store, "SELECT subject, details, desired_outcome, petitioner_name FROM cases WHERE id = ?", done.case.id
    )
    assert (subject, details, desired, name) == ("加班费未发放[31m", "第一行\n第二行\tA", "补发", "张三")
    data = await store.indicators.export_data(SYSTEM, None, "2026-11")
    book = load_workbook(io.BytesIO(reports.xlsx_bytes(data, org, "zh", store.tz)))
    assert [row[5] for row in list(book.worksheets[0].values)[1:]] == ["加班费未发放[31m"]


async def test_a_registered_letter_is_stored_clean(store: Services) -> None:
    done = await store.ledger.register(OFFICER, Registration.model_validate({
        "channel": Channel.LETTER,
        "received_on": "2026-10-30",
        "people": [PersonIn(name="刘\x00师傅", phone="138\x0700138000", unit="作业区\x9b")],
        "category": "wages",
        "unit": "plant-1",
        "subject": BAD_SUBJECT,
        "details": BAD_DETAILS,
    }))
    stored = rows(store, "SELECT subject, details, petitioner_name FROM cases WHERE id = ?", done.case.id)
    assert stored == [("加班费未发放[31m", "第一行\n第二行\tA", "刘师傅")]
    assert rows(store, "SELECT name, unit FROM petitioners") == [("刘师傅", "作业区")]
    for (body, data) in rows(store, "SELECT body, data FROM events"):
        assert not has_control(body) and not has_control(data)


async def test_a_progress_note_reaches_the_journal_clean(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(), "k1")).case
    await store.cases.act(OFFICER, case.number, Action.ACCEPT)
    await store.supervision.progress(OFFICER, case.number, "已联系\x1b[2J车间\x07")
    [(body,)] = rows(store, "SELECT body FROM events WHERE case_id = ? AND action = 'progress'", case.id)
    assert body == "已联系[2J车间"


async def test_one_bad_case_already_in_the_database_does_not_break_any_export(
    store: Services, org: Organization
) -> None:
    case = (await store.cases.submit(petitioner(), draft(), "k1")).case
    await store.cases.submit(petitioner(5002), draft(subject="宿舍漏水"), "k2")
    # Written by an older version, past every check of this one.
    execute(store, "UPDATE cases SET subject = ?, details = ? WHERE id = ?", OLD_SUBJECT, BAD_DETAILS[:-1], case.id)
    data = await store.indicators.export_data(SYSTEM, None, "2026-11")
    book = load_workbook(io.BytesIO(reports.xlsx_bytes(data, org, "zh", store.tz)))
    subjects = sorted(row[5] for row in list(book.worksheets[0].values)[1:])
    assert subjects == sorted(["加班费未发放[31m", "宿舍漏水"])
    _, cases_csv = reports.csv_texts(data, org, "zh", store.tz)
    cells = [cell for row in csv.reader(io.StringIO(cases_csv)) for cell in row]
    assert "加班费未发放[31m" in cells and not any(has_control(c) for c in cells)


async def test_report_xlsx_on_the_command_line_survives_a_bad_case(
    org: Organization, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cases.db"
    store = await Services.open(db, org, FakeClock())
    try:
        case = (await store.cases.submit(petitioner(), draft(), "k1")).case
        execute(store, "UPDATE cases SET subject = ? WHERE id = ?", OLD_SUBJECT, case.id)
    finally:
        await store.close()
    monkeypatch.setenv("PETITION_CONFIG", str(ORG_FILE))
    out = tmp_path / "report.xlsx"
    code = await asyncio.to_thread(cli, ["report", "--period", "2026-11", "--db", str(db), "--out", str(out)])
    capsys.readouterr()
    assert code == 0
    book = load_workbook(out)
    assert [row[5] for row in list(book.worksheets[0].values)[1:]] == ["加班费未发放[31m"]


async def test_an_error_log_names_the_exception_class_never_its_text(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError(f"cannot convert {BAD_SUBJECT!r} 张三 13800138000")
    except ValueError as error:
        fault = error
    with caplog.at_level(logging.ERROR, logger="handlers.errors"):
        await on_error(None, SimpleNamespace(error=fault))  # type: ignore[arg-type]
    [record] = caplog.records
    logged = record.getMessage() + (record.exc_text or "")
    assert "builtins.ValueError" in logged and "test_safetext.py" in logged
    assert "张三" not in logged and "加班费" not in logged and "13800138000" not in logged
    assert record.exc_info is None


async def test_an_imported_row_is_stored_clean(store: Services) -> None:
    row = {"received": "2026-10-20", "channel": "来信", "petitioner": "刘\x1b师傅", "phone": "", "unit": "plant-1",
           "category": "wages", "subject": OLD_SUBJECT, "details": BAD_DETAILS, "status": "", "external": "TZ\x07-1"}
    report = await store.ledger_import.run([(2, row)], dry_run=False)
    assert [r.line for r in report.imported] == [2] and report.bad == []
    assert rows(store, "SELECT subject, details, petitioner_name, external_ref FROM cases") == [
        ("加班费未发放[31m", "第一行\n第二行\tA", "刘师傅", "TZ-1")]


def test_a_screened_dispute_is_cleaned_too() -> None:
    entry = DisputeIn(type="wages", subject=BAD_SUBJECT, people=3, risk=Risk.LOW, responsible="王\x1b主任",
                      next_step="约谈\x07")
    assert (entry.subject, entry.responsible, entry.next_step) == ("加班费未发放[31m", "王主任", "约谈")


async def test_a_failed_sweep_logs_the_class_never_the_text(caplog: pytest.LogCaptureFixture) -> None:
    class Failing:
        async def sweep(self) -> None:
            raise ValueError(f"bad subject {BAD_SUBJECT!r} of 张三")

    with caplog.at_level(logging.ERROR, logger="bot.jobs"):
        await run_sweep(Failing())  # type: ignore[arg-type]
        await run_screening_sweep(Failing())  # type: ignore[arg-type]
    logged = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert len(logged) == 2 and all("builtins.ValueError" in line for line in logged)
    assert not [line for line in logged if "张三" in line or "加班费" in line]
