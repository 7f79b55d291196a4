"""``petition-bot roster import|export``: the roster file read and written, the report worded."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from bot.backup import plain
from bot.tables import read_table, reason_text
from handlers.i18n import t
from store.ledger_import import Headers
from store.people import national
from store.roster import COLUMNS, RosterEntry, RosterReport, map_headers

MAX_ROWS = 200_000
EXPORT_COLUMNS = tuple(COLUMNS)


def read_roster(path: Path) -> tuple[Headers, list[tuple[int, dict[str, Any]]]]:
    return read_table(path, map_headers, MAX_ROWS)


def report_lines(report: RosterReport, headers: Headers, path: Path, lang: str) -> list[str]:
    """What ``roster import`` prints: every bad row, or what changed."""
    lines = [plain(t(lang, "roster.header", path=path, rows=report.rows))]
    if headers.ignored:
        lines.append(plain(t(lang, "roster.ignored_columns", columns=", ".join(headers.ignored))))
    if report.bad:
        for bad in report.bad:
            reasons = str(t(lang, "roster.reason_separator")).join(reason_text("roster", r, lang) for r in bad.reasons)
            lines.append(plain(t(lang, "roster.bad_row", line=bad.line, reasons=reasons)))
        lines.append(plain(t(lang, "roster.refused", bad=len(report.bad))))
        return lines
    for change in report.changes:
        lines.append(plain(t(lang, f"roster.change_{change.change}", employee_no=change.employee_no,
                             name=change.name)))
    counts = {c: report.count(c) for c in ("added", "updated", "left", "back")}
    key = "roster.dry_run" if report.dry_run else "roster.summary"
    lines.append(plain(t(lang, key, unchanged=report.unchanged, **counts)))
    return lines


def export_csv(entries: list[RosterEntry], lang: str) -> str:
    """The roster as CSV (UTF-8 with a BOM, so Excel opens it), headers in ``lang``; it imports back unchanged."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([plain(t(lang, f"roster.column_{c}")) for c in EXPORT_COLUMNS])
    for e in entries:
        status = plain(t(lang, f"roster.status_{e.status.value}"))
        writer.writerow([e.employee_no, e.name, e.unit, national(e.phone) or "", status, e.id_tail or ""])
    return out.getvalue()
