"""Unit assessment (考核): a weighted score per unit from the indicators of ``/stats`` and staff's counts.

The organisation file's ``[assessment]`` (store/org.py) names the items, each an
indicator of ``store.indicators`` or a count of what staff record
(store/assessment_counts.py) with a target, and a weight; the weights add up to
100. The figures are those of :meth:`IndicatorService.indicators`, the same
numbers ``/stats`` shows (its rows carry the counts): nothing is counted a
second time here.

For each unit:

- an indicator item's score is its rate (0-100), or 100 minus the rate for a
  penalty (重复信访率, 重办率: the fewer, the better);
- a count item's score is 100 · min(count / target, 1). The target is declared
  for the assessment's period and scaled to the period shown (× its months ÷
  the assessment's months: a quarterly target of 3 is 1 for a month, 12 for a
  year), and for ``screening_reports`` multiplied by the units taking part that
  the row covers;
- an item the unit has no data for (the rate is undefined: nothing to count
  in the period; a count whose source does not apply to the unit, such as
  screening reports of a unit taking no part in the screening) is left out,
  and the remaining weights are renormalised, so a unit is neither rewarded
  nor punished for what did not happen there. A count of zero is data: the
  work was not done;
- the unit's score is Σ weightᵢ · scoreᵢ / Σ weightᵢ over the items with
  data; its contribution per item is weightᵢ · scoreᵢ / Σ weightᵢ (the
  contributions add up to the score); a unit with no data at all has no score.

Units are ranked by score, highest first, a unit without a score last.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

from store.assessment_counts import Count
from store.clock import local_date
from store.context import Service, StoreContext
from store.indicators import IndicatorService, Period, StatsReport
from store.models import Actor
from store.org import ASSESSMENT_INDICATORS, Assessment


class ItemScore(BaseModel):
    kind: Literal["indicator", "count"] = "indicator"
    indicator: str | None = None  # an indicator item's indicator
    source: str | None = None  # a count item's source
    weight: float  # as declared
    penalty: bool
    value: float | None  # the indicator's rate, or the count; None: no data
    target: float | None = None  # a count item's target for this unit and period
    score: float | None = None  # 0-100 (None: left out)
    share: float | None = None  # the weight after renormalising, in % (None: left out)
    contribution: float | None = None  # points of the unit's score


class UnitScore(BaseModel):
    unit: str
    depth: int
    score: float | None
    rank: int | None  # 1 = best; None: no score
    items: list[ItemScore]


class AssessmentReport(BaseModel):
    period: str
    scores: list[UnitScore]  # ranked


def months(period: Period) -> int:
    """The calendar months of a ``/stats`` period (1, 3 or 12)."""
    return (period.end.year - period.start.year) * 12 + period.end.month - period.start.month


def score_unit(
    values: dict[str, float | None], assessment: Assessment, counts: dict[str, Count] | None = None,
    scale: float = 1.0,
) -> tuple[float | None, list[ItemScore]]:
    """The score of one unit from its rates (indicator → rate or None) and counts (source → count; absent: no data).

    ``scale``: the months of the period assessed ÷ the assessment's months (a count item's target is for the latter).
    """
    items = []
    for item in assessment.items:
        if item.counts:
            found = (counts or {}).get(str(item.source))
            target = None if found is None else float(item.target or 0) * found.units * scale
            score = None if found is None or not target else 100.0 * min(found.count / target, 1.0)
            items.append(ItemScore(kind="count", source=item.source, weight=item.weight, penalty=False,
                                   value=None if found is None else found.count, target=target, score=score))
            continue
        indicator = str(item.indicator)
        penalty = ASSESSMENT_INDICATORS[indicator]
        value = values.get(indicator)
        score = None if value is None else (100.0 - value if penalty else value)
        items.append(ItemScore(indicator=indicator, weight=item.weight, penalty=penalty, value=value, score=score))
    counted = sum(i.weight for i in items if i.score is not None)
    if counted == 0:
        return None, items
    for i in items:
        if i.score is not None:
            i.share = 100.0 * i.weight / counted
            i.contribution = i.weight * i.score / counted
    return sum(i.contribution or 0.0 for i in items), items


def assess(report: StatsReport, assessment: Assessment) -> AssessmentReport:
    """Every row of a ``/stats`` report scored and ranked."""
    scores = []
    scale = months(report.period) / assessment.months
    for row in report.rows:
        values = {name: getattr(row, name) for name in ASSESSMENT_INDICATORS}
        score, items = score_unit(values, assessment, row.counts, scale)
        scores.append(UnitScore(unit=row.unit, depth=row.depth, score=score, rank=None, items=items))
    ranked = sorted((s for s in scores if s.score is not None), key=lambda s: -(s.score or 0.0))
    for position, entry in enumerate(ranked, start=1):
        entry.rank = position
    ranked += [s for s in scores if s.score is None]
    return AssessmentReport(period=report.period.label, scores=ranked)


def default_period(assessment: Assessment, today: date) -> str:
    """The assessment's period containing ``today``, as ``/stats`` writes periods."""
    if assessment.period == "year":
        return str(today.year)
    if assessment.period == "quarter":
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    return f"{today.year}-{today.month:02d}"


class AssessmentService(Service):
    """The unit assessment of a leader's (or an administrator's) units, from the indicators service."""

    def __init__(self, ctx: StoreContext, indicators: IndicatorService) -> None:
        super().__init__(ctx)
        self.indicators = indicators

    async def assessment(self, actor: Actor, unit: str | None = None, period: str | None = None) -> AssessmentReport:
        """Scores of the units ``/stats`` shows this actor; ``period`` defaults to the assessment's own."""
        today = local_date(self.clock.now(), self.tz)
        chosen = period or default_period(self.org.assessment, today)
        report = await self.indicators.indicators(actor, unit, chosen)
        return assess(report, self.org.assessment)
