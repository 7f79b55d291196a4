"""Reading a spreadsheet the office hands over (.xlsx, first sheet, or .csv), one row at a time.

The first non-blank row is the header; every later non-blank row is data,
numbered as a spreadsheet shows it. CSV files may be UTF-8 (with or without a
BOM) or GB18030 (what Chinese Excel saves), separated by commas, semicolons
or tabs. Rows are read as they are needed, so a file over the row cap is
refused when its cap is passed, without reading the rest.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from store.ledger_import import Headers


class TableFileError(Exception):
    """The file cannot be read as a table at all (the caller says why and writes nothing)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _blank(values: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:
        raise TableFileError("unreadable", error=str(error)[:200] or type(error).__name__) from error
    try:
        sheet = book.worksheets[0]
        for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield index, list(values)
    finally:
        book.close()


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise TableFileError("encoding")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        yield from enumerate(csv.reader(io.StringIO(text), dialect), start=1)
    except csv.Error as error:
        raise TableFileError("unreadable", error=str(error)[:200]) from error


def read_table(
    path: Path, map_headers: Callable[[list[Any]], Headers], max_rows: int
) -> tuple[Headers, list[tuple[int, dict[str, Any]]]]:
    """The header read by ``map_headers``, and each data row as {column: cell} with its row number."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise TableFileError("format", suffix=suffix or "—")
    headers: Headers | None = None
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        for line, values in _xlsx_rows(path) if suffix == ".xlsx" else _csv_rows(path):
            if _blank(values):
                continue
            if headers is None:
                headers = map_headers(values)
                if headers.missing:
                    raise TableFileError("missing_columns", columns=headers.missing)
                continue
            if len(rows) == max_rows:
                raise TableFileError("too_many_rows", max=max_rows)
            rows.append((line, {column: values[i] if i < len(values) else None
                                for i, column in headers.columns.items()}))
    except OSError as error:
        raise TableFileError("unreadable", error=error.strerror or str(error)) from error
    if headers is None:
        raise TableFileError("empty")
    return headers, rows
