"""``petition-bot import``: reading a ledger file (.xlsx, first sheet, or .csv) and wording the report.

The first non-blank row is the header; every later non-blank row is one
matter, numbered as a spreadsheet shows it (the header of a file that starts
with it is row 1). CSV files may be UTF-8 (with or without a BOM) or GB18030
(what Chinese Excel saves), separated by commas, semicolons or tabs. Cells come
back as text, or as dates where an .xlsx holds a date; what they mean is the
store's (``store.ledger_import``).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.backup import plain
from handlers.common import error_text
from handlers.i18n import catalog, has, placeholders, t
from store.errors import Refused
from store.ledger_import import Headers, ImportReport, Reason, map_headers

MAX_ROWS = 50_000


class LedgerFileError(Exception):
    """The file cannot be read as a ledger at all (the CLI says why and imports nothing)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _blank(values: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


Numbered = Iterator[tuple[int, list[Any]]]


def _xlsx_rows(path: Path) -> Numbered:
    """The first sheet's rows as they are parsed (openpyxl's read-only mode streams the sheet's XML)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise LedgerFileError("unreadable", error=str(error)[:200] or type(error).__name__) from error
    try:
        sheet = book.worksheets[0]
        try:
            for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield index, list(values)
        except Exception as error:  # a broken sheet, found where it breaks
            raise LedgerFileError("unreadable", error=str(error)[:200] or type(error).__name__) from error
    finally:
        book.close()


def _csv_rows(path: Path, encoding: str) -> Numbered:
    """The rows as they are read, line by line; the separator is guessed from the first 4 KB."""
    with path.open(encoding=encoding, newline="") as stream:
        head = stream.read(4096)
        head += stream.readline()  # whole lines only: csv reads each string as a line
        try:
            dialect: Any = csv.Sniffer().sniff(head[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        try:
            for index, values in enumerate(csv.reader(itertools.chain(io.StringIO(head), stream), dialect), start=1):
                yield index, list(values)
        except csv.Error as error:
            raise LedgerFileError("unreadable", error=str(error)[:200]) from error


def _capped(numbered: Numbered) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """The header and the non-blank rows after it; stops reading as soon as there are more than MAX_ROWS."""
    header: list[Any] | None = None
    body: list[tuple[int, list[Any]]] = []
    for line, values in numbered:
        if _blank(values):
            continue
        if header is None:
            header = values
            continue
        if len(body) == MAX_ROWS:  # one row over: the rest of the file is never read
            raise LedgerFileError("too_many_rows", max=MAX_ROWS)
        body.append((line, values))
    if header is None:
        raise LedgerFileError("empty")
    return header, body


def read_ledger(path: Path) -> tuple[Headers, list[tuple[int, dict[str, Any]]]]:
    """The header read against the layout, and each data row as {column: cell} with its row number.

    The file is read as a stream: a sheet over the row cap stops at the first
    row past it, neither the rest read nor held in memory.
    """
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise LedgerFileError("format", suffix=suffix or "—")
    try:
        if suffix == ".xlsx":
            header, body = _capped(_xlsx_rows(path))
        else:
            try:
                header, body = _capped(_csv_rows(path, "utf-8-sig"))
            except UnicodeDecodeError:  # what Chinese Excel saves; gb18030 decodes any byte string
                header, body = _capped(_csv_rows(path, "gb18030"))
    except OSError as error:
        raise LedgerFileError("unreadable", error=error.strerror or str(error)) from error
    headers = map_headers(header)
    if headers.missing:
        raise LedgerFileError("missing_columns", columns=headers.missing)
    rows = [
        (line, {column: values[index] if index < len(values) else None for index, column in headers.columns.items()})
        for line, values in body
    ]
    return headers, rows


def _reason_text(reason: Reason, lang: str) -> str:
    column = str(t(lang, f"import.column_{reason.column or 'row'}")) if has(lang, f"import.column_{reason.column or 'row'}") \
        else str(t(lang, "import.column_row"))
    if reason.code == "refused":  # the ledger's own check (store/ledger.py), in its words
        params = dict(reason.params)
        return plain(error_text(lang, Refused(str(params.pop("code", "refused")), **params)))
    key = f"import.reason_{reason.code}"
    if not has(lang, key):
        return plain(t(lang, "import.reason_invalid", column=column))
    params = {name: reason.params.get(name, "") for name in placeholders(catalog(lang)[key]) if name != "column"}
    return plain(t(lang, key, column=column, **params))


def report_lines(report: ImportReport, headers: Headers, path: Path, lang: str) -> list[str]:
    """What ``petition-bot import`` prints: every bad row with its line and reasons, then the outcome."""
    lines = [plain(t(lang, "import.header", path=path, rows=report.rows))]
    if headers.ignored:
        lines.append(plain(t(lang, "import.ignored_columns", columns=", ".join(headers.ignored))))
    for bad in report.bad:
        reasons = str(t(lang, "import.reason_separator")).join(_reason_text(r, lang) for r in bad.reasons)
        lines.append(plain(t(lang, "import.bad_row", line=bad.line, reasons=reasons)))
    for row in report.present:
        lines.append(plain(t(lang, "import.present", line=row.line, external=row.external, number=row.number)))
    if report.dry_run:
        lines.append(plain(t(lang, "import.dry_run", count=len(report.imported), bad=len(report.bad))))
        return lines
    if report.imported:
        lines.append(plain(t(lang, "import.imported", count=len(report.imported),
                             numbers=", ".join(r.number for r in report.imported))))
    else:
        lines.append(plain(t(lang, "import.imported_none")))
    lines.append(plain(t(lang, "import.summary", rows=report.rows, imported=len(report.imported),
                         present=len(report.present), bad=len(report.bad))))
    return lines
