"""Reading and checking a ledger file for ``petition-bot import`` (no database): headers, rows, reasons."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from bot.ledger_import import LedgerFileError, read_ledger, report_lines
from store.ledger_import import BadRow, Headers, ImportedRow, ImportReport, Reason, map_headers, validate_rows
from store.models import Channel, Status
from store.org import Organization
from tests.review_fixture import ORG_TOML

TODAY = date(2026, 11, 30)


@pytest.fixture
def org() -> Organization:
    from store.org import parse_org

    return parse_org(ORG_TOML)


def test_headers_in_chinese_or_english_any_case_and_spacing() -> None:
    found = map_headers(["收到日期", "Channel", " 信访人 ", "联系电话", "Unit", "类别", "Subject", "内容",
                         "办理状态", "External Number", "备注", None])
    assert found.columns == {0: "received", 1: "channel", 2: "petitioner", 3: "phone", 4: "unit", 5: "category",
                             6: "subject", 7: "details", 8: "status", 9: "external"}
    assert found.missing == [] and found.ignored == ["备注"]
    assert map_headers(["date", "subject"]).missing == ["channel", "unit", "category", "external"]


def test_rows_are_validated_with_every_reason(org: Organization) -> None:
    rows: list[tuple[int, dict[str, Any]]] = [
        (2, {"received": datetime(2026, 10, 20), "channel": "来信", "petitioner": "张三", "phone": "138-0000 0001",
             "unit": "第一采油厂", "category": "工资福利", "subject": "加班费", "details": "十月加班费未发",
             "status": "已受理", "external": "TZ-001"}),
        (3, {"received": "2026年11月3日", "channel": "Call", "petitioner": "匿名", "unit": "plant-2",
             "category": "Housing", "subject": "宿舍漏水", "details": None, "status": "", "external": 1002.0}),
        (4, {"received": "2027-01-01", "channel": "传真", "petitioner": "李四", "unit": "第九采油厂",
             "category": "工资福利", "subject": "", "status": "搁置", "external": "TZ-003"}),
        (5, {"received": "2026/11/3", "channel": "转交办", "unit": "refinery", "category": "wages",
             "subject": "x" * 101, "status": "办结", "external": "1002", "phone": "call me"}),
        (6, {"received": "2026-11-03", "channel": "visit", "unit": "plant-2", "category": "housing",
             "subject": "宿舍", "external": "1002"}),
    ]
    good, bad = validate_rows(rows, org, TODAY)
    assert [line for line, _ in good] == [2, 3]
    first, second = good[0][1], good[1][1]
    assert (first.received, first.channel, first.petitioner, first.phone, first.unit, first.category,
            first.status, first.external) == (date(2026, 10, 20), Channel.LETTER, "张三", "13800000001", "plant-1",
                                              "wages", Status.ACCEPTED, "TZ-001")
    assert (second.received, second.channel, second.petitioner, second.status, second.external, second.text) == (
        date(2026, 11, 3), Channel.CALL, None, Status.SUBMITTED, "1002", "宿舍漏水")
    assert [b.line for b in bad] == [4, 5, 6]
    assert [(r.column, r.code) for r in bad[0].reasons] == [
        ("received", "future_date"), ("channel", "bad_channel"), ("unit", "unknown_unit"),
        ("subject", "required"), ("status", "bad_status")]
    assert [(r.column, r.code) for r in bad[1].reasons] == [("phone", "bad_phone"), ("subject", "too_long")]
    # Row 6: the same external number and date as row 3.
    assert bad[2].reasons == [Reason(column="external", code="repeated_in_file", params={"line": 3})]


def _sample_rows() -> list[list[object]]:
    return [
        ["收到日期", "渠道", "信访人", "电话", "单位", "类别", "标题", "内容", "状态", "外部编号"],
        [date(2026, 10, 20), "来信", "张三", "13800000001", "第一采油厂", "工资福利", "加班费", "十月加班费未发",
         "已受理", "TZ-001"],
        [],
        ["2026-11-03", "来电", "", "", "plant-2", "housing", "宿舍漏水", "", "", "TZ-002"],
    ]


def test_xlsx_and_csv_read_alike(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for values in _sample_rows():
        sheet.append(values)
    book.save(tmp_path / "ledger.xlsx")
    with (tmp_path / "ledger.csv").open("w", encoding="gb18030", newline="") as handle:  # as Chinese Excel saves it
        csv.writer(handle).writerows([[v.isoformat() if isinstance(v, date) else v for v in r]
                                      for r in _sample_rows()])
    for name in ("ledger.xlsx", "ledger.csv"):
        headers, rows = read_ledger(tmp_path / name)
        assert headers.missing == []
        assert [line for line, _ in rows] == [2, 4], name  # the blank row 3 is skipped, lines as a spreadsheet
        assert rows[0][1]["external"] == "TZ-001" and rows[1][1]["subject"] == "宿舍漏水"


def test_files_that_are_no_ledger(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "b.csv").write_text("标题,内容\n一,二\n", encoding="utf-8")
    (tmp_path / "c.xlsx").write_bytes(b"not a zip")
    (tmp_path / "d.csv").write_text("\n\n", encoding="utf-8")
    codes = {}
    for name in ("a.txt", "b.csv", "c.xlsx", "d.csv"):
        with pytest.raises(LedgerFileError) as error:
            read_ledger(tmp_path / name)
        codes[name] = error.value.code
    assert codes == {"a.txt": "format", "b.csv": "missing_columns", "c.xlsx": "unreadable", "d.csv": "empty"}


def test_the_report_in_both_languages() -> None:
    report = ImportReport(
        dry_run=False, rows=4,
        imported=[ImportedRow(line=2, external="TZ-001", number="XF-2026-000001")],
        present=[ImportedRow(line=5, external="TZ-009", number="XF-2026-000009")],
        bad=[BadRow(line=4, reasons=[Reason(column="channel", code="bad_channel", params={"value": "传真"}),
                                     Reason(column="subject", code="required")])],
    )
    headers = Headers(columns={}, missing=[], repeated=[], ignored=["备注"])
    zh = report_lines(report, headers, Path("台账.xlsx"), "zh")
    assert zh == [
        "台账.xlsx：共 4 行数据。",
        "未使用的列：备注",
        "第 4 行：渠道“传真”无法识别（可用：来信、来访、来电、网上、转交办）；标题不能为空",
        "第 5 行：外部编号 TZ-009 已于此前导入（XF-2026-000009），本次跳过",
        "已导入 1 件，保留原收到日期和外部编号：XF-2026-000001",
        "共 4 行：导入 1 件，此前已导入 1 件，有误 1 行（未导入）。",
    ]
    refused = report.model_copy(update={"bad": [BadRow(line=7, reasons=[
        Reason(column=None, code="refused", params={"code": "ledger_phone"})])]})
    assert report_lines(refused, headers, Path("台账.xlsx"), "zh")[2] == "第 7 行：电话号码应为数字。"
    en = report_lines(report.model_copy(update={"dry_run": True}), headers, Path("ledger.csv"), "en")
    assert en[2] == 'Row 4: channel "传真" is unknown (use letter, visit, call, online or transfer); subject is empty'
    assert en[-1] == "Dry run: 1 would be imported, 1 rows are wrong; nothing was written."
