"""Importing the office's ledger (petition-bot import), on both backends: the store and the command line.

Organisation (tests/review_fixture.py): hq ▸ oilfield ▸ plant-1 (officer 1001), plant-2 (officer 1002);
refinery (officer 1003); categories wages, housing (claims) and misconduct (a report). The store's
clock stands on 2026-11-02 (Asia/Shanghai); the command line runs on the real clock.
"""

from __future__ import annotations

import asyncio
import csv
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from bot.cli import main as cli
from store.ledger_import import ImportService
from store.models import Status
from store.services import Services
from store.workflow import Action
from tests.conftest import rows
from tests.review_fixture import LEADER_HQ, OFFICER_P1, ORG_TOML, TZ, rorg, rstore

__all__ = ["rorg", "rstore"]

HEADER = ["收到日期", "渠道", "信访人", "联系电话", "单位", "类别", "标题", "内容", "办理状态", "台账编号", "备注"]
# Row 1 is the header. Rows 4 and 6 are bad; the other four are imported.
SAMPLE: list[list[Any]] = [
    HEADER,
    [date(2026, 9, 14), "来信", "刘师傅", "138-0013-8000", "第一采油厂", "工资福利", "加班费未发放",
     "来信反映2026年8月加班费未发放。", "已受理", "TZ-2026-0101", "原件已存档"],
    ["2026/10/08", "来访", "王五", "", "plant-2", "住房与后勤", "宿舍漏水", "", "办结", "TZ-2026-0102", ""],
    ["2026-10-09", "传真", "赵六", "", "第九采油厂", "工资福利", "工资", "", "", "TZ-2026-0103", ""],
    ["2026年10月20日", "来电", "匿名", "", "refinery", "wages", "夜班补贴", "夜班补贴被取消。", "", "TZ-2026-0104", ""],
    ["2026-10-21", "转交办", "孙七", "13900000000", "plant-1", "wages", "", "", "处理中", "", ""],
    ["2026-10-30", "网上", "周八", "", "plant-1", "housing", "房租补贴", "", "办理中", "TZ-2026-0106", ""],
]


def cells(sample: list[list[Any]]) -> list[tuple[int, dict[str, Any]]]:
    """The sample as the file reader hands it over (line, {column: cell})."""
    keys = ["received", "channel", "petitioner", "phone", "unit", "category", "subject", "details", "status",
            "external"]
    return [(line, dict(zip(keys, values, strict=False))) for line, values in enumerate(sample[1:], start=2)]


def counts(store: Services) -> tuple[int, int, int, int]:
    return (rows(store, "SELECT count(*) FROM cases")[0][0], rows(store, "SELECT count(*) FROM events")[0][0],
            rows(store, "SELECT count(*) FROM outbox")[0][0], rows(store, "SELECT count(*) FROM petitioners")[0][0])


async def test_import_reports_the_bad_rows_and_imports_the_rest_with_their_dates(rstore: Services) -> None:
    dry = await rstore.ledger_import.run(cells(SAMPLE), dry_run=True)
    assert counts(rstore) == (0, 0, 0, 0)  # --dry-run writes nothing
    assert [(b.line, [(r.column, r.code) for r in b.reasons]) for b in dry.bad] == [
        (4, [("channel", "bad_channel"), ("unit", "unknown_unit")]),
        (6, [("subject", "required"), ("status", "bad_status"), ("external", "required")]),
    ]
    assert [r.line for r in dry.imported] == [2, 3, 5, 7] and dry.present == []

    report = await rstore.ledger_import.run(cells(SAMPLE), dry_run=False)
    assert report.bad == dry.bad
    assert [(r.line, r.external, r.number) for r in report.imported] == [
        (2, "TZ-2026-0101", "XF-2026-000001"), (3, "TZ-2026-0102", "XF-2026-000002"),
        (5, "TZ-2026-0104", "XF-2026-000003"), (7, "TZ-2026-0106", "XF-2026-000004")]
    stored = rows(rstore, "SELECT number, channel, external_ref, received_on, status, accept_due, answer_due,"
                          " petitioner_name, petitioner_phone, unit, category, imported FROM cases ORDER BY id")
    assert stored == [
        ("XF-2026-000001", "letter", "TZ-2026-0101", "2026-09-14", "accepted", "2026-09-29", "2026-11-13",
         "刘师傅", "13800138000", "plant-1", "wages", 1),
        ("XF-2026-000002", "visit", "TZ-2026-0102", "2026-10-08", "closed", "2026-10-23", None,
         "王五", None, "plant-2", "housing", 1),
        ("XF-2026-000003", "call", "TZ-2026-0104", "2026-10-20", "submitted", "2026-11-04", None,
         None, None, "refinery", "wages", 1),
        # 10-30 + 15 days is 11-14, a Saturday: the next working day, 11-16 (store/workdays.py)
        ("XF-2026-000004", "online", "TZ-2026-0106", "2026-10-30", "in_progress", "2026-11-16", "2026-12-29",
         "周八", None, "plant-1", "housing", 1),
    ]
    # The original received date is the submission moment (local midnight) and the start of the deadlines.
    first = await rstore.cases.case_for(LEADER_HQ, "XF-2026-000001")
    assert first.submitted_at.astimezone(TZ).date() == date(2026, 9, 14) and first.received_on == date(2026, 9, 14)
    assert first.details == "来信反映2026年8月加班费未发放。"
    third = await rstore.cases.case_for(LEADER_HQ, "XF-2026-000003")
    assert third.details == "夜班补贴被取消。"
    # Journaled (registered, then the ledger's status), and no case cards for the staff.
    journal = rows(rstore, "SELECT c.number, e.action, e.status_after FROM events e JOIN cases c ON c.id = e.case_id"
                           " WHERE e.action IN ('register', 'import') ORDER BY e.id")
    assert journal == [
        ("XF-2026-000001", "register", "submitted"), ("XF-2026-000001", "import", "accepted"),
        ("XF-2026-000002", "register", "submitted"), ("XF-2026-000002", "import", "closed"),
        ("XF-2026-000003", "register", "submitted"), ("XF-2026-000003", "import", "submitted"),
        ("XF-2026-000004", "register", "submitted"), ("XF-2026-000004", "import", "in_progress"),
    ]
    assert (await rstore.verify_journal()).ok
    assert rows(rstore, "SELECT count(*) FROM outbox WHERE kind = 'case_card'") == [(0,)]
    # The named petitioners are in the register; the anonymous call has a record of its own.
    assert sorted(n for (n,) in rows(rstore, "SELECT name FROM petitioners") if n) == ["刘师傅", "周八", "王五"]
    # Open imported cases are worked like any other.
    queue, _ = await rstore.cases.open_cases_for(OFFICER_P1)
    assert {c.number for c in queue} == {"XF-2026-000001", "XF-2026-000004"}
    await rstore.cases.act(OFFICER_P1, "XF-2026-000004", Action.REPLY, body="请提供租房合同")
    from handlers.render import channel_line

    fourth = await rstore.cases.case_for(OFFICER_P1, "XF-2026-000004")
    assert channel_line(fourth, "zh") == "来源：网上（其他平台）（2026年10月30日收到） · 台账编号 TZ-2026-0106"

    # A second import of the same file duplicates nothing.
    before = counts(rstore)
    again = await rstore.ledger_import.run(cells(SAMPLE), dry_run=False)
    assert again.imported == [] and [(r.line, r.number) for r in again.present] == [
        (2, "XF-2026-000001"), (3, "XF-2026-000002"), (5, "XF-2026-000003"), (7, "XF-2026-000004")]
    assert counts(rstore) == before
    rerun = await rstore.ledger_import.run(cells(SAMPLE), dry_run=True)
    assert rerun.imported == [] and len(rerun.present) == 4


async def test_a_failure_mid_way_leaves_nothing(rstore: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    register = rstore.ledger.register

    async def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the disk is full")
        return await register(*args, **kwargs)

    monkeypatch.setattr(rstore.ledger, "register", failing)
    with pytest.raises(RuntimeError):
        await rstore.ledger_import.run(cells(SAMPLE), dry_run=False)
    assert len(calls) == 3
    assert counts(rstore) == (0, 0, 0, 0)  # the two rows before the failure are not in either


async def test_the_ledgers_own_check_is_a_bad_row(rstore: Services) -> None:
    sample = [HEADER, ["2026-10-01", "来信", "x" * 60, "", "plant-1", "wages", "工资", "", "", "TZ-1", ""]]
    report = await rstore.ledger_import.run(cells(sample), dry_run=False)
    assert [(b.line, [(r.column, r.code) for r in b.reasons]) for b in report.bad] == [(2, [("petitioner", "too_long")])]
    assert isinstance(rstore.ledger_import, ImportService) and counts(rstore)[0] == 0


def write_xlsx(path: Path, sample: list[list[Any]]) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for values in sample:
        sheet.append(values)
    book.save(path)


async def test_the_command_with_an_xlsx_and_a_csv(
    rstore: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "org.toml"
    config.write_text(ORG_TOML, encoding="utf-8")
    monkeypatch.setenv("PETITION_CONFIG", str(config))
    db = rstore.db.path
    ledger = tmp_path / "台账.xlsx"
    write_xlsx(ledger, SAMPLE)

    assert await asyncio.to_thread(cli, ["import", str(ledger), "--dry-run", "--db", db, "--lang", "zh"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{ledger}：共 6 行数据。",
        "未使用的列：备注",
        "第 4 行：渠道“传真”无法识别（可用：来信、来访、来电、网上、转交办）；单位“第九采油厂”不在组织架构中",
        "第 6 行：标题不能为空；状态“处理中”无法识别（可用：登记、受理、办理中、不予受理、已答复、办结、撤回）；外部编号不能为空",
        "试运行：可导入 4 件，2 行有误，未写入任何内容。",
    ]
    assert rows(db, "SELECT count(*) FROM cases") == [(0,)]

    assert await asyncio.to_thread(cli, ["import", str(ledger), "--db", db, "--lang", "zh", "--by", "王干事"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == ("已导入 4 件，保留原收到日期和外部编号："
                       "XF-2026-000001, XF-2026-000002, XF-2026-000003, XF-2026-000004")
    assert out[-1] == "共 6 行：导入 4 件，此前已导入 0 件，有误 2 行（未导入）。"
    assert rows(db, "SELECT external_ref, received_on, registered_by FROM cases ORDER BY id") == [
        ("TZ-2026-0101", "2026-09-14", 1001), ("TZ-2026-0102", "2026-10-08", 1001),
        ("TZ-2026-0104", "2026-10-20", 1001), ("TZ-2026-0106", "2026-10-30", 1001)]

    # The same ledger as CSV, English headers, UTF-8: the good rows are there already.
    english = ["received date", "channel", "petitioner", "phone", "unit", "category", "subject", "details", "status",
               "external number", "note"]
    path = tmp_path / "ledger.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([english] + [[v.isoformat() if isinstance(v, date) else v for v in r]
                                                  for r in SAMPLE[1:]])
    assert await asyncio.to_thread(cli, ["import", str(path), "--db", db, "--lang", "en"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "Row 2: external number TZ-2026-0101 was imported before (XF-2026-000001); skipped" in out
    assert out[-2:] == ["Nothing was imported.", "6 rows: 0 imported, 4 imported before, 2 wrong (not imported)."]
    assert rows(db, "SELECT count(*) FROM cases") == [(4,)]

    # A file that is no ledger: one line, exit 1, nothing written.
    (tmp_path / "x.csv").write_text("标题,内容\n一,二\n", encoding="utf-8")
    assert await asyncio.to_thread(cli, ["import", str(tmp_path / "x.csv"), "--db", db, "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'x.csv'}: required columns missing: received, channel, unit, category,")
    assert await asyncio.to_thread(cli, ["import", str(ledger), "--db", db, "--lang", "en", "--by", "nobody"]) == 1
    assert "--by nobody: no such staff member" in capsys.readouterr().err


def test_every_action_has_a_label_in_both_languages() -> None:
    from handlers.i18n import has

    assert [a.value for a in Action if not (has("zh", f"event.{a.value}") and has("en", f"event.{a.value}"))] == []


def test_status_map_covers_every_word_once() -> None:
    from store.ledger_import import STATUS_WORDS
    from store.ledger_import import header_key as _key

    words = [_key(w) for values in STATUS_WORDS.values() for w in values]
    assert len(words) == len(set(words))
    assert set(STATUS_WORDS) == {Status.SUBMITTED, Status.ACCEPTED, Status.IN_PROGRESS, Status.DECLINED,
                                 Status.CLOSED, Status.WITHDRAWN}
