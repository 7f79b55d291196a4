"""``petition-bot import`` reads its file as a stream and stops at the row cap (issue 20).

It used to read the whole sheet before counting (a 9.8 MB .xlsx: 71 s, 440 MB). Two files show
that the rest is never read: a sheet whose XML is broken after the cap (read to the end, it is
"unreadable"), and a CSV arriving through a pipe that never ends (read to the end, it hangs).
"""

from __future__ import annotations

import asyncio
import os
import threading
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot import ledger_import
from bot.cli import main as cli
from bot.ledger_import import LedgerFileError, read_ledger
from tests.conftest import ORG_FILE

HEADER = ["收到日期", "渠道", "信访人", "联系电话", "单位", "类别", "标题", "内容", "办理状态", "台账编号"]
CAP = 5


def row(n: int) -> list[str]:
    return ["2026-10-20", "来信", f"刘{n}", "", "plant-1", "wages", f"标题{n}", "内容", "", f"TZ-{n}"]


def broken_after(path: Path, rows: int) -> None:
    """An .xlsx of ``rows`` data rows whose sheet XML is cut off (unparseable) after row CAP + 3."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for n in range(rows):
        sheet.append(row(n))
    book.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    cut = 0
    for _ in range(CAP + 4):  # the header and CAP + 3 rows stay whole
        cut = xml.index("</row>", cut) + len("</row>")
    parts["xl/worksheets/sheet1.xml"] = (xml[:cut] + '<row r="99"><c r="A99" t="inlineStr"><is><t>oops').encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)


def test_an_xlsx_over_the_cap_stops_before_the_rest_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_import, "MAX_ROWS", CAP)
    path = tmp_path / "ledger.xlsx"
    broken_after(path, 40)
    with pytest.raises(LedgerFileError) as refused:
        read_ledger(path)
    assert (refused.value.code, refused.value.params) == ("too_many_rows", {"max": CAP})
    # Within the cap, the same broken sheet is read to where it breaks, and said so.
    monkeypatch.setattr(ledger_import, "MAX_ROWS", 1000)
    with pytest.raises(LedgerFileError) as broken:
        read_ledger(path)
    assert broken.value.code == "unreadable"


def test_the_command_line_says_the_cap_in_the_persons_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ledger_import, "MAX_ROWS", CAP)
    monkeypatch.setenv("PETITION_CONFIG", str(ORG_FILE))
    path = tmp_path / "ledger.xlsx"
    broken_after(path, 40)
    assert cli(["import", str(path), "--db", str(tmp_path / "cases.db"), "--lang", "zh"]) == 1
    assert f"超过 {CAP} 行，一次最多导入 {CAP} 行，请分成几个文件" in capsys.readouterr().err
    assert cli(["import", str(path), "--db", str(tmp_path / "cases.db"), "--lang", "en"]) == 1
    assert f"more than {CAP} rows; at most {CAP} can be imported at once" in capsys.readouterr().err


async def test_a_csv_over_the_cap_is_not_read_to_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_import, "MAX_ROWS", CAP)
    fifo = tmp_path / "ledger.csv"
    os.mkfifo(fifo)
    release = threading.Event()

    def writer() -> None:  # the header and CAP + 2 rows, then the pipe stays open: the file has no end yet
        with fifo.open("w", encoding="utf-8") as stream:
            stream.write(",".join(HEADER) + "\n")
            for n in range(CAP + 2):  # long rows: well past what the reader takes in to guess the separator
                stream.write(",".join(row(n)[:7] + ["内容" * 600] + row(n)[8:]) + "\n")
            stream.flush()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        reading = asyncio.to_thread(read_ledger, fifo)
        with pytest.raises(LedgerFileError) as refused:
            await asyncio.wait_for(reading, 20)  # a reader wanting the whole file would wait for ever
        assert refused.value.code == "too_many_rows"
    finally:
        release.set()
        thread.join()


def test_a_csv_within_the_cap_is_read_whole_in_either_encoding(tmp_path: Path) -> None:
    for encoding in ("utf-8-sig", "gb18030"):
        path = tmp_path / f"ledger-{encoding}.csv"
        text = "\n".join(";".join(values) for values in [HEADER, *(row(n) for n in range(3))]) + "\n"
        path.write_bytes(text.encode(encoding))
        headers, rows = read_ledger(path)
        assert headers.missing == [] and [line for line, _ in rows] == [2, 3, 4]
        assert [r["petitioner"] for _, r in rows] == ["刘0", "刘1", "刘2"]
