"""Reading a spreadsheet the office hands over (.xlsx, first sheet, or .csv) as a stream, and wording its rows' faults.

The first non-blank row is the header; every later non-blank row is data,
numbered as a spreadsheet shows it (the header of a file that starts with it
is row 1). CSV files may be UTF-8 (with or without a BOM) or GB18030 (what
Chinese Excel saves), separated by commas, semicolons or tabs. Rows are read
as they are needed: a file over the row cap stops at the first row past it,
the rest neither read nor held in memory. Cells come back as text, or as
dates where an .xlsx holds a date; what they mean is the store's. The ledger
(``petition-bot import``) and the roster (``petition-bot roster import``)
read through here.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bot.backup import plain
from handlers.i18n import catalog, has, placeholders, t
from store.ledger_import import Headers, Reason

Numbered = Iterator[tuple[int, list[Any]]]


class TableFileError(Exception):
    """The file cannot be read as a table at all (the command says why and writes nothing)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _blank(values: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _xlsx_rows(path: Path) -> Numbered:
    """The first sheet's rows as they are parsed (openpyxl's read-only mode streams the sheet's XML)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise TableFileError("unreadable", error=str(error)[:200] or type(error).__name__) from error
    try:
        sheet = book.worksheets[0]
        try:
            for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield index, list(values)
        except Exception as error:  # a broken sheet, found where it breaks
            raise TableFileError("unreadable", error=str(error)[:200] or type(error).__name__) from error
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
            raise TableFileError("unreadable", error=str(error)[:200]) from error


def _capped(numbered: Numbered, map_headers: Callable[[list[Any]], Headers], max_rows: int
            ) -> tuple[Headers, list[tuple[int, dict[str, Any]]]]:
    """The header read against the layout and the non-blank rows after it, stopping past ``max_rows``."""
    headers: Headers | None = None
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, values in numbered:
        if _blank(values):
            continue
        if headers is None:
            headers = map_headers(values)
            if headers.missing:  # not this kind of table: nothing more is read
                raise TableFileError("missing_columns", columns=headers.missing)
            continue
        if len(rows) == max_rows:  # one row over: the rest of the file is never read
            raise TableFileError("too_many_rows", max=max_rows)
        rows.append((line, {column: values[i] if i < len(values) else None for i, column in headers.columns.items()}))
    if headers is None:
        raise TableFileError("empty")
    return headers, rows


def read_table(
    path: Path, map_headers: Callable[[list[Any]], Headers], max_rows: int
) -> tuple[Headers, list[tuple[int, dict[str, Any]]]]:
    """The header read by ``map_headers``, and each data row as {column: cell} with its row number."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise TableFileError("format", suffix=suffix or "—")
    try:
        if suffix == ".xlsx":
            return _capped(_xlsx_rows(path), map_headers, max_rows)
        try:
            return _capped(_csv_rows(path, "utf-8-sig"), map_headers, max_rows)
        except UnicodeDecodeError:  # what Chinese Excel saves; gb18030 decodes any byte string
            return _capped(_csv_rows(path, "gb18030"), map_headers, max_rows)
    except OSError as error:
        raise TableFileError("unreadable", error=error.strerror or str(error)) from error


def reason_text(area: str, reason: Reason, lang: str) -> str:
    """One fault of a row in words: ``<area>.reason_<code>`` with its column's name (``<area>.column_<column>``)."""
    column_key = f"{area}.column_{reason.column or 'row'}"
    column = str(t(lang, column_key if has(lang, column_key) else f"{area}.column_row"))
    key = f"{area}.reason_{reason.code}"
    if not has(lang, key):
        return plain(t(lang, f"{area}.reason_invalid", column=column))
    params = {name: reason.params.get(name, "") for name in placeholders(catalog(lang)[key]) if name != "column"}
    return plain(t(lang, key, column=column, **params))
