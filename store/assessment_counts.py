"""The counts a unit assessment (考核) may weigh: what staff record, per unit, in a period.

An ``[[assessment.items]]`` entry of ``kind = "count"`` (store/org.py) names a
source of ``ASSESSMENT_COUNTS`` and a target; store/assessment.py turns the
count into a score. The sources are work every unit taking part is expected to
do in the period, so a count of zero is a zero, not "no data":

- ``screening_reports`` (矛盾纠纷排查): the reports a unit filed (store/screening.py:
  a dispute entered, or the nil report 本期未发现矛盾纠纷) for the screening
  periods that begin in the period (a month, or the weeks whose Monday falls in
  it). Only the units taking part in the screening (``screening_units``) are
  asked to file: a row none of whose units takes part has no data for the item,
  and its target is the item's target times the units taking part in it (each
  files once per screening period).
- ``receptions`` (领导接访日): the reception sessions held (not cancelled, and
  already over) on a day of the period (store/reception.py), at the unit visited
  (下访), or, for a session at a place only, at the receiving leader's first unit
  in the organisation file. The target is per row.

Like every figure of ``/stats``, a unit's row counts its whole subtree. One
query per source, over the report's units only. Neither source reads a case:
a count says nothing about a report (检举控告), on the discipline line or not.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from store.clock import iso
from store.context import local_midnight
from store.org import ASSESSMENT_COUNTS, Organization
from store.screening import period_of


class Count(BaseModel):
    """A row's count for one source; ``units``: how many times the item's target applies to the row."""

    count: int
    units: int = 1


def screening_labels(org: Organization, start: date, end: date) -> list[str]:
    """The screening periods (store/screening.py) that begin in [start, end)."""
    labels = []
    period = period_of(org, start)
    if period.start < start:
        period = period_of(org, period.end)
    while period.start < end:
        labels.append(period.label)
        period = period_of(org, period.end)
    return labels


def _marks(values: list[Any]) -> str:
    return ", ".join("?" * len(values)) or "NULL"


async def _screening_reports(
    conn: Any, org: Organization, units: list[str], start: date, end: date
) -> dict[str, int]:
    labels = screening_labels(org, start, end)
    async with conn.execute(
        f"SELECT unit, count(*) AS n FROM screening_reports WHERE unit IN ({_marks(units)})"
        f" AND period IN ({_marks(labels)}) GROUP BY unit",
        (*units, *labels),
    ) as cur:
        return {row["unit"]: int(row["n"]) async for row in cur}


async def _receptions(
    conn: Any, org: Organization, tz: ZoneInfo, units: list[str], start: date, end: date, now: datetime
) -> dict[str, int]:
    wanted = set(units)
    found: dict[str, int] = {}
    async with conn.execute(
        "SELECT unit, leader_id, count(*) AS n FROM reception_sessions WHERE status = 'open'"
        " AND starts_at >= ? AND starts_at < ? AND ends_at <= ? GROUP BY unit, leader_id",
        (iso(local_midnight(start, tz)), iso(local_midnight(end, tz)), iso(now)),
    ) as cur:
        async for row in cur:
            unit = row["unit"]
            if unit is None:  # at a place: the receiving leader's own (first) unit
                leader = org.staff_member(int(row["leader_id"]))
                unit = leader.units[0] if leader is not None and leader.units else None
            if unit in wanted:
                found[unit] = found.get(unit, 0) + int(row["n"])
    return found


async def unit_counts(
    conn: Any, org: Organization, tz: ZoneInfo, sources: list[str], units: set[str] | frozenset[str],
    start: date, end: date, now: datetime,
) -> dict[str, dict[str, int]]:
    """Per source, the count of each of ``units`` on its own (a unit not listed: 0), for [start, end)."""
    chosen = sorted(units)
    result: dict[str, dict[str, int]] = {}
    for source in dict.fromkeys(sources):
        if source == "screening_reports":
            result[source] = await _screening_reports(conn, org, chosen, start, end)
        elif source == "receptions":
            result[source] = await _receptions(conn, org, tz, chosen, start, end, now)
        else:  # pragma: no cover - the organisation file admits only ASSESSMENT_COUNTS
            raise ValueError(f"unknown count source {source!r}")
    return result


def row_count(org: Organization, source: str, subtree: frozenset[str], counted: dict[str, int]) -> Count | None:
    """A row's count over its subtree; None when the source does not apply to it (no data)."""
    total = sum(counted.get(unit, 0) for unit in subtree)
    if not ASSESSMENT_COUNTS[source]:
        return Count(count=total)
    taking = sum(1 for unit in org.screening_units() if unit.id in subtree)
    return Count(count=total, units=taking) if taking else None
