"""``petition-bot import``: reading a ledger file (bot/tables.py) and wording the report.

Each data row is one matter; what its cells mean is the store's (``store.ledger_import``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.backup import plain
from bot.tables import TableFileError, read_table, reason_text
from handlers.common import error_text
from handlers.i18n import t
from store.errors import Refused
from store.ledger_import import Headers, ImportReport, Reason, map_headers

MAX_ROWS = 50_000


#: The file cannot be read as a ledger at all (the CLI says why and imports nothing).
LedgerFileError = TableFileError


def read_ledger(path: Path) -> tuple[Headers, list[tuple[int, dict[str, Any]]]]:
    """The header read against the layout, and each data row as {column: cell} with its row number.

    The file is read as a stream: a sheet over the row cap stops at the first
    row past it, neither the rest read nor held in memory.
    """
    return read_table(path, map_headers, MAX_ROWS)


def _reason_text(reason: Reason, lang: str) -> str:
    if reason.code == "refused":  # the ledger's own check (store/ledger.py), in its words
        params = dict(reason.params)
        return plain(error_text(lang, Refused(str(params.pop("code", "refused")), **params)))
    return reason_text("import", reason, lang)


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
