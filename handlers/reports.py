"""Indicators as people read them: a text table, a trend chart, an .xlsx or .csv file.

The figures come from ``store.indicators`` (SQL); this module only lays them
out in the reader's language. The chart uses matplotlib's Agg canvas directly
(no pyplot, no global state), so it can run in a worker thread.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from handlers.i18n import Html, t
from handlers.render import category_name, channel_name, item_name, moment, pack, petitioner_label, unit_name
from store.assessment import assess
from store.indicators import ExportData, Figures, StatsReport
from store.models import Case
from store.org import Organization
from store.safetext import for_sheet
from store.screening import Register

log = logging.getLogger(__name__)

# Fonts that can draw Chinese, in order of preference; without one the chart is labelled in English.
# The first comes with the project itself (the ``noto-cjk-sans-otc`` dependency), so a fresh
# machine draws Chinese labels too; a matplotlib that reads only the collection's first face
# finds it as "Noto Sans CJK JP", which has every simplified Chinese character as well.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "AR PL UMing CN",
)

INDICATOR_COLUMNS = (
    "received",
    "accept_counted",
    "accepted_on_time",
    "accepted_on_time_pct",
    "decided",
    "answer_counted",
    "answered_on_time",
    "answered_on_time_pct",
    "rated",
    "participation_pct",
    "satisfied",
    "satisfaction_pct",
    "matters",  # 件数; received is 件次 (store/repeats.py)
    "repeats",
    "repeat_pct",
    "followed_up",
    "followup_pct",
    "redone",
    "redo_pct",
    "led",
    "led_closed",
    "within_time",
    "notice_now",
    "warning_now",
    "serious_now",
    "overdue_now",
    # Received by channel (store/ledger.py): the chat, 来信, 来访, 来电, 网上, 转交办.
    "received_telegram",
    "received_letter",
    "received_visit",
    "received_call",
    "received_online",
    "received_transfer",
)

CASE_COLUMNS = (
    "number",
    "submitted",
    "category",
    "unit",
    "petitioner",
    "subject",
    "status",
    "accept_due",
    "accepted",
    "answer_due",
    "decided",
    "decision",
    "rating",
    "review",
    "rereview",
    "repeat_of",
    "collective",
    "closed",
    "lead",  # 包案领导: the leader in charge (领导包案)
    # How it came in (store/ledger.py): the channel, the date received, a transfer's or ledger's number.
    "channel",
    "received_on",
    "external_ref",
)


def pct(value: float | None, lang: str) -> str:
    return t(lang, "leader.na") if value is None else f"{value:.1f}%"


def stats_text(report: StatsReport, org: Organization, lang: str) -> list[Html]:
    """The indicator table as messages: one block per unit (phones are narrow)."""
    blocks = [t(lang, "leader.stats_title", period=report.period.label)]
    for row in report.rows:
        name = unit_name(org, row.unit, lang)
        head = t(lang, "leader.stats_unit_total" if row.depth == 0 else "leader.stats_unit", unit=name)
        blocks.append(Html(head + "\n" + _figures_text(row, org, lang)))
    if org.incident_levels or report.incidents:
        lines = [t(lang, "incident_stats.title")]
        lines += [t(lang, "incident_stats.row", level=name, open=open_, closed=closed)
                  for name, open_, closed in _incident_rows(report, org, lang)]
        blocks.append(Html("\n".join(lines)))
    if report.reports_counted:
        blocks.append(t(lang, "discipline.reports_counted", count=report.reports_counted))
    blocks.append(Html(t(lang, "leader.stats_definitions") + "\n" + t(lang, "lead_stats.definition")
                       + "\n" + t(lang, "repeat.stats_definition")))
    return pack(blocks)


def _incident_rows(report: StatsReport, org: Organization, lang: str) -> list[tuple[str, int, int]]:
    """Real group incidents (never drills) per level of the plan: (level's name, open, closed)."""
    counts = {c.level: c for c in report.incidents}
    levels = sorted({entry.level for entry in org.incident_levels} | set(counts))
    rows = []
    for number in levels:
        entry = org.incident_level(number)
        name = entry.name.get(lang) if entry is not None else str(t(lang, "incident.level_number", level=number))
        found = counts.get(number)
        rows.append((name, found.open if found else 0, found.closed if found else 0))
    return rows


def _figures_text(row: Figures, org: Organization, lang: str) -> Html:
    text = Html(_rates_text(row, lang) + "\n" + t(lang, "lead_stats.row", led=row.led, closed=row.led_closed)
                + "\n" + t(lang, "repeat.stats_line", filings=row.received, matters=row.matters, repeats=row.repeats))
    channels = [t(lang, "channels.stats_item", channel=channel_name(org, channel.value, lang), count=count)
                for channel, count in row.by_channel if count]
    if channels:
        text = Html(text + "\n" + t(lang, "channels.stats_line",
                                    channels=Html(str(t(lang, "channels.separator")).join(channels))))
    return text


def _rates_text(row: Figures, lang: str) -> Html:
    return t(
        lang,
        "leader.stats_row",
        received=row.received,
        overdue=row.overdue_now,
        within=row.within_time,
        notice=row.notice_now,
        warning=row.warning_now,
        serious=row.serious_now,
        accepted=pct(row.accepted_on_time_pct, lang),
        answered=pct(row.answered_on_time_pct, lang),
        participation=pct(row.participation_pct, lang),
        satisfaction=pct(row.satisfaction_pct, lang),
        repeat=pct(row.repeat_pct, lang),
        followup=pct(row.followup_pct, lang),
        redo=pct(row.redo_pct, lang),
    )


def _register_bundled_font() -> None:
    """Make the Noto Sans CJK collection installed with the project known to matplotlib."""
    from matplotlib import font_manager

    try:
        from noto_cjk_sans_otc import FONT_PATH
    except ImportError:  # an installation without it: the system's fonts, else English labels
        return
    path = str(FONT_PATH)
    if any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        return
    try:
        font_manager.fontManager.addfont(path)
    except (OSError, RuntimeError, ValueError) as error:
        log.warning("could not load the bundled CJK font %s: %s", path, error)


@cache
def _cjk_font() -> str | None:
    from matplotlib import font_manager

    _register_bundled_font()
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def chart_png(report: StatsReport, lang: str) -> bytes:
    """Monthly trend: cases received (bars) and the three rates (lines, right axis)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    font = _cjk_font()
    label_lang = lang if lang == "en" or font is not None else "en"
    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    months = [point.label for point in report.trend]
    figure = Figure(figsize=(8, 4.5), dpi=110)
    FigureCanvasAgg(figure)
    axis = figure.add_subplot()
    axis.bar(months, [p.received for p in report.trend], color="#9db4d3", label=t(label_lang, "leader.chart_received"))
    axis.set_ylabel(t(label_lang, "leader.chart_received"), fontfamily=families)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.tick_params(axis="x", labelrotation=45, labelsize=8)
    rates = axis.twinx()
    rates.set_ylim(0, 105)
    series = (
        ("leader.chart_accepted", [p.accepted_on_time_pct for p in report.trend], "#2e7d32"),
        ("leader.chart_answered", [p.answered_on_time_pct for p in report.trend], "#c62828"),
        ("leader.chart_satisfaction", [p.satisfaction_pct for p in report.trend], "#6a1b9a"),
    )
    for key, values, color in series:
        points = [(m, v) for m, v in zip(months, values, strict=True) if v is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            rates.plot(xs, ys, marker="o", color=color, label=t(label_lang, key))
    rates.set_ylabel("%")
    handles = axis.get_legend_handles_labels()
    more = rates.get_legend_handles_labels()
    rates.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=8,
                 prop={"family": families, "size": 8})
    axis.set_title(t(label_lang, "leader.chart_title", period=report.period.label), fontfamily=families)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


# ------------------------------------------------------------------ files

def _indicator_table(report: StatsReport, org: Organization, lang: str) -> list[list[Any]]:
    header = [t(lang, "export.unit")] + [_indicator_header(column, org, lang) for column in INDICATOR_COLUMNS]
    rows: list[list[Any]] = [header]
    for row in report.rows:
        name = unit_name(org, row.unit, lang)
        label = name if row.depth == 0 else f"  {name}"
        rows.append([label] + [_value(row, column) for column in INDICATOR_COLUMNS])
    return rows


def _indicator_header(column: str, org: Organization, lang: str) -> str:
    """A column's name; the chat's channel under the name ``[channels] telegram`` gives it, when it does."""
    if column == "received_telegram" and org.channels.telegram is not None:
        return str(t(lang, "channels.export_received", channel=channel_name(org, "telegram", lang)))
    return str(t(lang, f"export.{column}"))


def _value(row: Figures, column: str) -> Any:
    value = getattr(row, column)
    if column.endswith("_pct"):
        return None if value is None else round(value, 1)
    return value


def _case_table(cases: Sequence[Case], org: Organization, lang: str, tz: ZoneInfo) -> list[list[Any]]:
    header = [t(lang, f"export.case_{column}") for column in CASE_COLUMNS]

    def when(value: Any) -> str:
        return "" if value is None else moment(value, tz)

    def decision(value: Any) -> str:
        return "" if value is None else str(t(lang, f"decision.{value.value}"))

    def leader_name(staff_id: int | None) -> str:
        member = org.staff_member(staff_id) if staff_id is not None else None
        return member.name if member is not None else ""

    rows: list[list[Any]] = [header]
    for case in cases:
        rows.append([
            case.number,
            when(case.submitted_at),
            category_name(org, case.category, lang),
            unit_name(org, case.unit, lang),
            petitioner_label(case, lang),
            case.subject,
            str(t(lang, f"status.{case.status.value}")),
            case.accept_due.isoformat(),
            when(case.accepted_at),
            case.answer_due.isoformat() if case.answer_due else "",
            when(case.decided_at),
            decision(case.decision),
            str(t(lang, f"rating.{case.rating}")) if case.rating else "",
            decision(case.review_decision),
            decision(case.rereview_decision),
            case.repeat_of or "",
            case.collective_alert or "",
            when(case.closed_at),
            leader_name(case.lead_id),
            channel_name(org, case.channel, lang),
            (case.received_on or case.submitted_at.astimezone(tz).date()).isoformat(),
            case.external_ref or "",
        ])
    return rows


def assessment_table(report: StatsReport, org: Organization, lang: str) -> list[list[Any]]:
    """The assessment's ranking: rank, unit, score, then each item's points and rate (a count item: count, target)."""
    result = assess(report, org.assessment)
    header: list[Any] = [str(t(lang, "webapp.rank")), str(t(lang, "export.unit")), str(t(lang, "webapp.score"))]
    for item in org.assessment.items:
        name = str(item_name(lang, item.indicator, item.source))
        header.append(f"{name} ({item.weight:g}) {t(lang, 'webapp.contribution')}")
        if item.counts:
            header += [f"{name} {t(lang, 'webapp.count_col')}", f"{name} {t(lang, 'webapp.target_col')}"]
        else:
            header.append(f"{name} %")
    rows: list[list[Any]] = [header]
    for entry in result.scores:
        row: list[Any] = [entry.rank, unit_name(org, entry.unit, lang),
                          None if entry.score is None else round(entry.score, 1)]
        for i in entry.items:
            row.append(None if i.contribution is None else round(i.contribution, 2))
            if i.kind == "count":
                row += [None if i.value is None else int(i.value), None if i.target is None else round(i.target, 2)]
            else:
                row.append(None if i.value is None else round(i.value, 1))
        rows.append(row)
    return rows


SCREENING_COLUMNS = (
    "unit", "report", "id", "period", "type", "subject", "people", "risk", "status", "responsible", "next_step",
    "case", "carried",
)


def screening_table(register: Register, org: Organization, lang: str) -> list[list[Any]]:
    """The screening register (矛盾纠纷排查台账): a row per dispute shown in the period, a row for a unit without any."""
    header = [str(t(lang, f"screening_export.{column}")) for column in SCREENING_COLUMNS]
    rows: list[list[Any]] = [header]
    by_unit: dict[str, list[Any]] = {}
    for dispute in register.disputes:
        by_unit.setdefault(dispute.unit, []).append(dispute)
    for report in register.units:
        name = unit_name(org, report.unit, lang)
        state = str(t(lang, f"screening.state_{report.state.value}"))
        disputes = by_unit.get(report.unit, [])
        if not disputes:
            rows.append([name, state, None, "", "", "", None, "", "", "", "", "", ""])
        for d in disputes:
            kind = org.screening.find_type(d.type)
            rows.append([
                name, state, d.id, d.period, kind.name.get(lang) if kind else d.type, d.subject, d.people,
                str(t(lang, f"screening.risk_{d.risk.value}")), str(t(lang, f"screening.status_{d.status.value}")),
                d.responsible, d.next_step, d.case_number or "",
                str(t(lang, "screening_export.yes" if register.carried_over(d) else "screening_export.no")),
            ])
    return rows


def screening_csv(register: Register, org: Organization, lang: str) -> str:
    """The register as CSV text, neutralized against formula injection."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
    for values in screening_table(register, org, lang):
        writer.writerow([neutralize_csv(v) for v in values])
    return out.getvalue()


# A spreadsheet reads a cell beginning with one of these as a formula (OWASP: CSV injection).
# A newline too: the store turns a carriage return into one (store/safetext.py).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _append_as_data(sheet: Any, values: list[Any]) -> None:
    """Append a row whose text cells are typed as text: ``=...`` stays a string, never a formula.

    openpyxl infers a formula from a leading ``=``; the cell's type is set
    back to string after the value is in, so the file stores it as text.
    """
    sheet.append([for_sheet(v) for v in values])  # a control character would make openpyxl refuse the file
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def neutralize_csv(value: Any) -> Any:
    """A CSV cell as data: text that a spreadsheet would run as a formula gets a leading ``'``.

    Numbers stay numbers (the writer leaves them unquoted); every text cell is
    quoted by the writer, so separators and quotes inside it stay in the cell.
    """
    if value is None:
        return ""
    value = for_sheet(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def xlsx_bytes(
    data: ExportData, org: Organization, lang: str, tz: ZoneInfo, screening: Register | None = None
) -> bytes:
    """An .xlsx workbook: the cases, the indicators and (given) the screening register; text is never a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    cases = book.active
    cases.title = str(t(lang, "export.sheet_cases"))
    for values in _case_table(data.cases, org, lang, tz):
        _append_as_data(cases, values)
    indicators = book.create_sheet(str(t(lang, "export.sheet_indicators")))
    _append_as_data(indicators, [str(t(lang, "export.period")), data.report.period.label])
    for values in _indicator_table(data.report, org, lang):
        _append_as_data(indicators, values)
    if data.report.reports_counted:  # reports outside the viewer's line: a count only
        _append_as_data(indicators, [str(t(lang, "discipline.reports_counted_column")), data.report.reports_counted])
    sheets = [(cases, 1), (indicators, 2)]
    # The unit assessment (考核, store/assessment.py) of the same figures, as the Mini App shows it.
    scored = book.create_sheet(str(t(lang, "webapp.sheet_assessment")))
    _append_as_data(scored, [str(t(lang, "export.period")), data.report.period.label])
    for values in assessment_table(data.report, org, lang):
        _append_as_data(scored, values)
    sheets.append((scored, 2))
    if screening is not None:
        register = book.create_sheet(str(t(lang, "screening_export.sheet")))
        _append_as_data(register, [str(t(lang, "export.period")), screening.period.label])
        for values in screening_table(screening, org, lang):
            _append_as_data(register, values)
        sheets.append((register, 2))
    if org.incident_levels or data.report.incidents:
        incidents = book.create_sheet(str(t(lang, "incident_stats.sheet")))
        _append_as_data(incidents, [str(t(lang, "export.period")), data.report.period.label])
        _append_as_data(incidents, [str(t(lang, f"incident_stats.col_{c}")) for c in ("level", "open", "closed")])
        for name, open_, closed in _incident_rows(data.report, org, lang):
            _append_as_data(incidents, [name, open_, closed])
        sheets.append((incidents, 2))
    for sheet, header_row in sheets:
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_texts(data: ExportData, org: Organization, lang: str, tz: ZoneInfo) -> tuple[str, str]:
    """The same two tables as CSV texts: (indicators, cases), neutralized against formula injection."""

    def write(rows: list[list[Any]]) -> str:
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
        for values in rows:
            writer.writerow([neutralize_csv(v) for v in values])
        return out.getvalue()

    return write(_indicator_table(data.report, org, lang)), write(_case_table(data.cases, org, lang, tz))


def export_filename(period: str, extension: str) -> str:
    return f"petitions-{period}.{extension}"

