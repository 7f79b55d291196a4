"""Unit assessment (考核): a weighted score per unit from the indicators of ``/stats``.

The organisation file's ``[assessment]`` (store/org.py) names the items, each an
indicator of ``store.indicators`` with a weight; the weights add up to 100.
The figures are those of :meth:`IndicatorService.indicators`, the same
numbers ``/stats`` shows: nothing is counted a second time here.

For each unit:

- an item's score is its rate (0-100), or 100 minus the rate for a penalty
  (重复信访率, 重办率: the fewer, the better);
- an item the unit has no data for (the rate is undefined: nothing to count
  in the period) is left out, and the remaining weights are renormalised, so
  a unit is neither rewarded nor punished for what did not happen there;
- the unit's score is Σ weightᵢ · scoreᵢ / Σ weightᵢ over the items with
  data; its contribution per item is weightᵢ · scoreᵢ / Σ weightᵢ (the
  contributions add up to the score); a unit with no data at all has no score.

Units are ranked by score, highest first, a unit without a score last.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from store.clock import local_date
from store.context import Service, StoreContext
from store.indicators import IndicatorService, StatsReport
from store.models import Actor
from store.org import ASSESSMENT_INDICATORS, Assessment


class ItemScore(BaseModel):
    indicator: str
    weight: float  # as declared
    penalty: bool
    value: float | None  # the indicator's rate, None: no data
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


def score_unit(values: dict[str, float | None], assessment: Assessment) -> tuple[float | None, list[ItemScore]]:
    """The score of one unit from its rates (indicator → rate or None)."""
    items = []
    for item in assessment.items:
        penalty = ASSESSMENT_INDICATORS[item.indicator]
        value = values.get(item.indicator)
        score = None if value is None else (100.0 - value if penalty else value)
        items.append(ItemScore(indicator=item.indicator, weight=item.weight, penalty=penalty, value=value, score=score))
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
    for row in report.rows:
        values = {name: getattr(row, name) for name in ASSESSMENT_INDICATORS}
        score, items = score_unit(values, assessment)
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
