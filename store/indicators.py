"""Indicators used to assess units (量化指标, 细化考核), computed in SQL.

Definitions (docs/leader.md repeats them); a period is a range of local calendar
days, and each unit row counts the cases of the unit and its whole subtree:

- received: cases submitted in the period;
- 及时受理率 accepted on time: of those received, the ones accepted, declined
  or answered on or before their acceptance deadline (15 days), ÷ the received
  ones that are already answered or whose acceptance deadline has passed
  (``accept_counted``): a case still within its 15 days is not counted yet;
- 按期答复率 answered on time: of the cases given a written opinion in the
  period (decided), the ones decided on or before their handling deadline
  (60 days, extension included), ÷ (decided + the cases still waiting for their
  written opinion whose handling deadline fell in the period and has passed)
  (``answer_counted``);
- 在期限内待办 within time: received cases still open whose current deadline
  has not passed; they are shown beside the rates, never inside them;
- 参评率 participation: of those decided, the ones the petitioner rated
  (满意, 基本满意 or 不满意; closing unrated does not count), ÷ decided;
- 满意率 satisfaction: (满意 + 基本满意) ÷ rated;
- 回访率 follow-up rate: of those decided, the ones followed up (``/followup``,
  a ``followup`` event at any time), ÷ decided;
- 重办率 redo rate: of those decided, the ones ordered redone (``/redo``, a
  ``redo`` event at any time), ÷ decided;
- 包案 under a leader's charge: received cases with a leader in charge (``/lead``),
  and of those the ones closed (包案办结);
- 件次 filings and 件数 matters: every case received is a filing (``received``);
  a matter is a received case that staff have not confirmed as a repeat of an
  earlier case's matter (``matters``; a repeat of a matter first received in an
  earlier period adds a filing, not a matter). The system only proposes
  repeats; a proposal not confirmed counts as a matter (store/repeats.py);
- 重复信访率 repeat rate: received cases confirmed as repeat petitions ÷ received
  (件次); a case marked by the rule before confirmations existed keeps its mark;
- received by channel: the received cases split by the channel they came in (the chat,
  来信, 来访, 来电, 网上, 转交办: store/ledger.py); the parts add up to received;
- warning levels now: open cases at 预警, 警告 and 严重警告 today (store.supervision;
  not period-bound);
- overdue now (超期): open cases past their current deadline today (not period-bound).

A case imported from the office's ledger (``petition-bot import``) counts where its
dates are known: received on its received date, overdue by its deadlines, but in
及时受理率 only once answered in the bot (or while it still waits for acceptance):
when it was answered before the import is not known.

A duplicate merged into another case (``/merge``, status ``merged``: store/links.py)
counts in none of these: the matter counts once, as its main case. The export's
cases sheet still lists it, with its status 已合并.

A percentage with a zero denominator is undefined (None), not 0.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from store import discipline
from store.assessment_counts import Count, row_count, unit_counts
from store.clock import iso, local_date, local_day_sql
from store.context import Service, StoreContext, local_midnight
from store.errors import Forbidden, Refused
from store.incidents import IncidentCount, incident_counts
from store.models import Actor, ActorRole, Case, Channel, Status, row_to_model
from store.org import Role, Unit
from store.review import CURRENT_DUE_SQL, DEADLINE_OF, OPEN_SQL, Stage, numbered
from store.supervision import WarningLevel, current_ranks
from store.trend_memo import MARKS_SQL, Key, Marks, TrendMemo

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{1,2})|[Qq](?P<quarter>[1-4])))?$")
TREND_MONTHS = 12
#: The months the job counts ahead for each leader's own view (IndicatorService.warm_trends): this one and
#: the one before each of the past year's trends reaches.
WARM_MONTHS = 2 * TREND_MONTHS
# Waiting for the written opinion (the handling deadline runs).
ANSWER_PENDING = tuple(s for s, (stage, _) in DEADLINE_OF.items() if stage is Stage.ANSWER)


class Period(BaseModel):
    start: date  # first day
    end: date  # the day after the last
    label: str


def month(year: int, number: int) -> Period:
    start = date(year, number, 1)
    end = date(year + (number == 12), number % 12 + 1, 1)
    return Period(start=start, end=end, label=f"{year}-{number:02d}")


def parse_period(text: str | None, today: date) -> Period:
    """"2026-11" (a month), "2026-Q4" (a quarter), "2026" (a year); nothing: the current month."""
    if not text:
        return month(today.year, today.month)
    found = _PERIOD.match(text.strip())
    if found is None:
        raise Refused("bad_period", period=text[:20])
    year = int(found["year"])
    if not 2000 <= year <= 2999:
        raise Refused("bad_period", period=text[:20])
    if found["month"]:
        number = int(found["month"])
        if not 1 <= number <= 12:
            raise Refused("bad_period", period=text[:20])
        return month(year, number)
    if found["quarter"]:
        first = (int(found["quarter"]) - 1) * 3 + 1
        end = month(year, first + 2).end
        return Period(start=date(year, first, 1), end=end, label=f"{year}-Q{found['quarter']}")
    return Period(start=date(year, 1, 1), end=date(year + 1, 1, 1), label=str(year))


def trend_months(period: Period, count: int = TREND_MONTHS) -> list[Period]:
    """The ``count`` months ending with the period's last month."""
    last = period.end - timedelta(days=1)
    year, number = last.year, last.month
    months = []
    for _ in range(count):
        months.append(month(year, number))
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
    return list(reversed(months))


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


class _Rates:
    """The three rates the trend draws, over counts that both the figures and a trend month have."""

    if TYPE_CHECKING:  # the models' own fields (declared here, pydantic would take them first)
        accepted_on_time: int
        accept_counted: int
        answered_on_time: int
        answer_counted: int
        satisfied: int
        rated: int

    @property
    def accepted_on_time_pct(self) -> float | None:
        return percent(self.accepted_on_time, self.accept_counted)

    @property
    def answered_on_time_pct(self) -> float | None:
        return percent(self.answered_on_time, self.answer_counted)

    @property
    def satisfaction_pct(self) -> float | None:
        return percent(self.satisfied, self.rated)


class Figures(_Rates, BaseModel):
    received: int = 0  # 件次: every filing received
    matters: int = 0  # 件数: received and not a confirmed repeat petition (store/repeats.py)
    accept_counted: int = 0  # received and answered, or past the acceptance deadline
    accepted_on_time: int = 0
    decided: int = 0
    answer_counted: int = 0  # decided, or waiting for the opinion past a deadline in the period
    answered_on_time: int = 0
    within_time: int = 0  # received, open, current deadline not passed
    rated: int = 0
    satisfied: int = 0
    repeats: int = 0  # received and confirmed as a repeat petition (received = matters + repeats)
    followed_up: int = 0  # decided in the period and followed up (回访)
    redone: int = 0  # decided in the period and ordered redone (重办)
    led: int = 0  # received in the period and under a leader's charge (领导包案)
    led_closed: int = 0  # of those, closed (办结)
    notice_now: int = 0  # open cases at 预警 today (store.supervision), not period-bound
    warning_now: int = 0  # 警告
    serious_now: int = 0  # 严重警告
    overdue_now: int = 0  # 超期
    # Received, by the channel it came in (store/ledger.py): the chat, 来信, 来访, 来电, 网上, 转交办.
    received_telegram: int = 0
    received_letter: int = 0
    received_visit: int = 0
    received_call: int = 0
    received_online: int = 0
    received_transfer: int = 0

    @property
    def by_channel(self) -> list[tuple[Channel, int]]:
        """Received cases per channel, in the ledger's order (each received case in exactly one)."""
        return [(channel, int(getattr(self, f"received_{channel.value}"))) for channel in Channel]

    @property
    def participation_pct(self) -> float | None:
        return percent(self.rated, self.decided)

    @property
    def followup_pct(self) -> float | None:
        return percent(self.followed_up, self.decided)

    @property
    def redo_pct(self) -> float | None:
        return percent(self.redone, self.decided)

    @property
    def repeat_pct(self) -> float | None:
        return percent(self.repeats, self.received)


# The figures of today, not of a period (the open cases now): the same in every trend month.
NOW_FIGURES = ("notice_now", "warning_now", "serious_now", "overdue_now")
#: The figures counted among the cases given a written opinion in the period (the others but
#: answer_counted, among those received in it; today's, among the open cases: ``_now``).
DECIDED_FIGURES = ("decided", "answered_on_time", "rated", "satisfied", "followed_up", "redone")


class IndicatorRow(Figures):
    unit: str
    depth: int  # 0: a unit chosen (its whole subtree), 1: one of its subunits
    # The counts the unit assessment weighs (store/assessment_counts.py), per source; absent: no data.
    counts: dict[str, Count] = {}


class TrendPoint(_Rates, BaseModel):
    """One month of the trend: what its chart draws (cases received, the three rates, overdue today).

    Only these are counted for each of the twelve months; a month's other figures are the
    indicators of that month (``/stats <unit> 2026-10``).
    """

    label: str
    received: int = 0
    accept_counted: int = 0
    accepted_on_time: int = 0
    decided: int = 0
    answer_counted: int = 0
    answered_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    overdue_now: int = 0


TREND_FIGURES = tuple(name for name in TrendPoint.model_fields if name != "label")
#: What a trend month counts of its own (today's figures are the same in every month).
TREND_COUNTED = tuple(name for name in TREND_FIGURES if name not in NOW_FIGURES)
#: The figures a period counts (``_figures``): all but today's.
PERIOD_FIGURES = tuple(name for name in Figures.model_fields if name not in NOW_FIGURES)


class StatsReport(BaseModel):
    period: Period
    units: list[str]
    rows: list[IndicatorRow]
    trend: list[TrendPoint]
    # Real group incidents (never drills) opened in the period at the units, per level (store.incidents).
    incidents: list[IncidentCount] = []
    # Reports (检举控告) received in the period at the units that the viewer, outside the discipline
    # line, may not see: a count only, never the cases (store/discipline.py).
    reports_counted: int = 0


class ExportData(BaseModel):
    report: StatsReport
    cases: list[Case]


def _total(parts: Any, names: Collection[str] = tuple(Figures.model_fields)) -> dict[str, int]:
    """The figures of several units together: every figure is a count, so they add up."""
    total = dict.fromkeys(names, 0)
    for part in parts:
        for name in total:
            total[name] += int(part[name])
    return total


def _named_units(units: Collection[str]) -> tuple[str, dict[str, str]]:
    """The units as named parameters for an ``IN`` list (``:u0, :u1, …``; none: ``NULL``) and their values."""
    unit_list = sorted(units)
    return ", ".join(f":u{i}" for i in range(len(unit_list))) or "NULL", {f"u{i}": u for i, u in enumerate(unit_list)}


class IndicatorService(Service):
    """Indicators per unit, the monthly trend and the export, for leaders and admins."""

    def __init__(self, ctx: StoreContext) -> None:
        super().__init__(ctx)
        #: The trend's months as last counted, current while their stamp is (store/trend_memo.py).
        self.trend_memo = TrendMemo()

    def require_reader(self, actor: Actor) -> None:
        """Forbidden unless ``actor`` may read the indicators (leaders and admins): asked before work
        that would only be thrown away for anyone else (the dashboard's other parts)."""
        self._report_scope(actor)

    def _report_scope(self, actor: Actor) -> tuple[str, list[Any]]:
        if actor.role is ActorRole.SYSTEM:
            return "TRUE", []
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if staff is None or staff.role not in (Role.LEADER, Role.ADMIN):
            raise Forbidden("leaders_only")
        return self.ctx.scope(actor)

    def _find_unit_loose(self, text: str) -> Unit | None:
        """A unit by id, or by its exact Chinese or English name."""
        text = text.strip()
        unit = self.org.find_unit(text)
        if unit is not None:
            return unit
        for candidate in self.org.units:
            if text in (candidate.name.zh, candidate.name.en):
                return candidate
        return None

    def _report_roots(self, actor: Actor, unit: str | None) -> list[str]:
        staff = self.org.staff_member(actor.id) if actor.id is not None else None
        if unit:
            found = self._find_unit_loose(unit)
            if found is None or (staff is not None and not self.org.covers(staff, found.id)):
                raise Refused("unknown_unit")
            return [found.id]
        if staff is None or staff.role is Role.ADMIN:
            return [u.id for u in self.org.roots()]
        own = list(dict.fromkeys(staff.units))
        # A unit inside another of the leader's units is already counted there.
        return [u for u in own if not any(o != u and u in self.org.subtree(o) for o in own)]

    async def _figures(
        self,
        conn: Any,
        units: Collection[str],
        scope: tuple[str, list[Any]],
        start: date,
        end: date,
        today: date,
    ) -> dict[str, dict[str, Any]]:
        """The figures of ``units`` for the period [start, end), per unit (:func:`_total` adds them up),
        but for today's (NOW_FIGURES: ``_now``).

        Only the rows that can count are read: those received, decided or due for an answer in the
        period (every figure needs one of the three).
        """
        clause, named = numbered(*scope)
        in_units, unit_params = _named_units(units)
        received = "c.submitted_at >= :a AND c.submitted_at < :b"
        k_day, decided_day = (local_day_sql(column, self.tz, self.db.dialect)
                              for column in ("c.first_answer_at", "c.decided_at"))
        decided = "c.decided_at >= :a AND c.decided_at < :b"
        # An imported case (petition-bot import) answered before the import has no answer date:
        # it counts for timely acceptance only once answered here, or while it waits for acceptance.
        known = f"(NOT c.imported OR c.first_answer_at IS NOT NULL OR c.status = '{Status.SUBMITTED.value}')"
        waiting = "c.status IN (" + ", ".join(f"'{s.value}'" for s in ANSWER_PENDING) + ")"
        # Each figure: what a case must be to count in it.
        counts = {
            "received": received,
            "matters": f"{received} AND c.repeat_count = 0",
            "accept_counted": f"{received} AND (c.first_answer_at IS NOT NULL OR c.accept_due < :today) AND {known}",
            "accepted_on_time": f"{received} AND c.first_answer_at IS NOT NULL AND {k_day} <= c.accept_due",
            "decided": decided,
            "answer_counted": f"{decided} OR ({waiting} AND c.answer_due >= :a_day AND c.answer_due < :b_day"
                              " AND c.answer_due < :today)",
            "answered_on_time": f"{decided} AND {decided_day} <= c.answer_due",
            "within_time": f"{received} AND {OPEN_SQL} AND {CURRENT_DUE_SQL} >= :today",
            "rated": f"{decided} AND c.rating IN ('satisfied', 'basic', 'dissatisfied')",
            "satisfied": f"{decided} AND c.rating IN ('satisfied', 'basic')",
            "repeats": f"{received} AND c.repeat_count > 0",
            "followed_up": f"{decided} AND EXISTS (SELECT 1 FROM events f WHERE f.case_id = c.id"
                           " AND f.action = 'followup')",
            "redone": f"{decided} AND EXISTS (SELECT 1 FROM events r WHERE r.case_id = c.id AND r.action = 'redo')",
            "led": f"{received} AND c.lead_id IS NOT NULL",
            # 办结: the written opinion served (送达), whatever the rating; or closed.
            "led_closed": f"{received} AND c.lead_id IS NOT NULL AND (c.status = 'closed'"
                          " OR (c.status = 'decided' AND c.served_on IS NOT NULL))",
            **{f"received_{channel.value}": f"{received} AND c.channel = '{channel.value}'" for channel in Channel},
        }
        wanted = list(counts)
        # Each figure counts among the cases received in the period (R), or decided in it (D), or, for
        # answer_counted, decided in it or waiting for their opinion past a deadline in it (D and W).
        source = {name: "D" for name in DECIDED_FIGURES} | {"answer_counted": "DW"}
        # D and W name their units as an expression on SQLite: without statistics it would otherwise take
        # cases_by_unit for the unit list and walk every case of the units (13 s at a million cases)
        # instead of the period's few thousand from the date's index, whose entries carry the unit
        # (migration 0037: the other units' are passed over without reading their rows). PostgreSQL,
        # with statistics, takes the date's index either way, and the plain column as part of its
        # condition (an expression it would check on each row read: 10 ms → 1 for a unit's month).
        unit = "(c.unit || '')" if self.db.dialect == "sqlite" else "c.unit"
        rows_of = {
            "R": f"c.unit IN ({in_units}) AND {received}",
            "D": f"{decided} AND {unit} IN ({in_units})",
            # Waiting, and not decided in the period (a case redone after its opinion may be both).
            "W": f"{waiting} AND c.answer_due >= :a_day AND c.answer_due < :b_day AND c.answer_due < :today"
                 f" AND (c.decided_at IS NULL OR NOT ({decided})) AND {unit} IN ({in_units})",
        }
        # One grouped pass over each part's rows, found by its own index (cases_by_unit_day, cases_by_decided,
        # cases_by_answer_due), each row read once; the parts' counts added up per unit. (They were one
        # union of ids, each row then fetched again by id: twice the work on PostgreSQL.)
        parts = [
            "SELECT c.unit AS unit, " + ", ".join(
                f"count(*) FILTER (WHERE {counts[name]}) AS {name}" if part in source.get(name, "R") else f"0 AS {name}"
                for name in wanted)
            + f" FROM cases c WHERE {where} AND ({clause}) AND c.status <> '{Status.MERGED.value}' GROUP BY c.unit"
            for part, where in rows_of.items() if any(part in source.get(name, "R") for name in wanted)
        ]
        sql = ("SELECT unit, " + ", ".join(f"sum({name}) AS {name}" for name in wanted)
               + " FROM (" + " UNION ALL ".join(parts) + ") parts GROUP BY unit")
        params = {
            "a": iso(local_midnight(start, self.tz)),
            "b": iso(local_midnight(end, self.tz)),
            "today": today.isoformat(),
            "a_day": start.isoformat(),
            "b_day": end.isoformat(),
            **unit_params,
            **named,
        }
        async with conn.execute(sql, params) as cur:
            return {row["unit"]: dict(row) async for row in cur}

    async def _now(self, conn: Any, units: Collection[str], scope: tuple[str, list[Any]],
                   today: date) -> dict[str, dict[str, Any]]:
        """Today's figures (NOW_FIGURES) per unit: the open cases at each warning level and past their
        deadline, counted from the ranks the queue stores (migration 0021: ``queue_rank`` is
        ``warning_level``'s, ``queue_due`` the current deadline; the caller has them current, and
        tests/test_queue_rank.py proves them equal to the computed ones). From the open cases' own index
        (cases_open_by_unit), instead of the level computed for each of the 33,000 open cases at a million."""
        clause, named = numbered(*scope)
        in_units, unit_params = _named_units(units)
        level = {"notice_now": WarningLevel.NOTICE, "warning_now": WarningLevel.WARNING,
                 "serious_now": WarningLevel.SERIOUS}
        counted = [f"count(*) FILTER (WHERE queue_rank = {lv.rank}) AS {name}" for name, lv in level.items()]
        # From cases_open_by_unit alone (migration 0036): the open cases by unit, with every column a scope
        # names, so they are counted in its order, no table read and no sort (8 ms at a million cases; the
        # queue's cases_by_rank, then sorted by unit, took 33).
        sql = (f"SELECT unit, {', '.join(counted)}, count(*) FILTER (WHERE queue_due < :today) AS overdue_now"
               f" FROM cases WHERE queue_rank IS NOT NULL AND unit IN ({in_units}) AND ({clause}) GROUP BY unit")
        params = {"today": today.isoformat(), **unit_params, **named}
        async with conn.execute(sql, params) as cur:
            return {row["unit"]: {name: int(row[name]) for name in NOW_FIGURES} async for row in cur}

    async def indicators(
        self, actor: Actor, unit: str | None = None, period: str | None = None
    ) -> StatsReport:
        """/stats: a row per chosen unit (its subtree) and per subunit, plus the monthly trend."""
        scope = self._report_scope(actor)
        today = local_date(self.clock.now(), self.tz)
        chosen = parse_period(period, today)
        roots = self._report_roots(actor, unit)

        rows: list[IndicatorRow] = []
        everything: set[str] = set()
        for root in roots:
            everything |= self.org.subtree(root)
        await current_ranks(self.db, self.org, today)  # as the queue does: today's ranks stored
        # What has changed, read before any month is counted: a month counted later is at least as new.
        marks = await self.read_marks()

        # The period's figures, the trend months, the incidents, the reports outside the viewer's line
        # and what staff record do not depend on each other: each runs on a reader of its own, side by
        # side (SQLite's readers and PostgreSQL's pool serve them at once). Each reads its own snapshot;
        # a report is figures of the moment, and none of them is checked against another. The period's and
        # the trend months' figures are each unit's as remembered while none of its cases changed
        # (store/trend_memo.py), only the others counted.
        # The period's own figures, read once: when the period is one of the trend's months (this month, by
        # default) that month is added up from them rather than counted again.
        period_counted = asyncio.ensure_future(
            self._remembered(everything, scope, chosen.start, chosen.end, today, marks))

        async def today_figures() -> dict[str, dict[str, int]]:
            async with self.db.read_one() as conn:
                return await self._now(conn, everything, scope, today)

        # Today's figures, per unit (the rows) and in all (the same for every trend month), counted beside
        # the period's.
        today_counted = asyncio.ensure_future(today_figures())

        async def chosen_figures() -> dict[str, dict[str, Any]]:
            figures, now = await period_counted, await today_counted
            zeros = dict.fromkeys(Figures.model_fields, 0)
            return {u: {**zeros, **figures.get(u, {}), **now.get(u, {})} for u in figures.keys() | now.keys()}

        async def month(point: Period) -> TrendPoint:
            if (point.start, point.end) == (chosen.start, chosen.end):
                per_unit = await period_counted
            else:
                per_unit = await self._remembered(everything, scope, point.start, point.end, today, marks)
            counted = _total(per_unit.values(), TREND_COUNTED)
            today_total = _total((await today_counted).values(), NOW_FIGURES)
            return TrendPoint(label=point.label, **counted, **{f: today_total[f] for f in TREND_FIGURES
                                                                if f in NOW_FIGURES})

        async def incidents() -> list[IncidentCount]:
            async with self.db.read_one() as conn:
                return await incident_counts(conn, sorted(everything), iso(local_midnight(chosen.start, self.tz)),
                                             iso(local_midnight(chosen.end, self.tz)))

        async def elsewhere() -> int:
            async with self.db.read_one() as conn:
                return await self._reports_elsewhere(conn, everything, scope, chosen.start, chosen.end)

        async def staff_recorded() -> dict[str, dict[str, int]]:
            # For the assessment's count items only (one query per source).
            sources = self.org.assessment.count_sources
            if not sources:
                return {}
            async with self.db.read() as conn:
                return await unit_counts(conn, self.org, self.tz, sources, everything, chosen.start, chosen.end,
                                         self.clock.now())

        try:
            per_unit, trend, found, counted, recorded = await asyncio.gather(
                chosen_figures(), asyncio.gather(*(month(point) for point in trend_months(chosen))), incidents(),
                elsewhere(), staff_recorded())
        finally:
            for part in (period_counted, today_counted):
                part.cancel()  # only if a part failed before it was awaited: nothing left running
        for root in roots:
            parts = [(root, 0)] + [(child.id, 1) for child in self.org.children(root)]
            for unit_id, depth in parts:
                subtree = self.org.subtree(unit_id)
                figures = _total(per_unit[u] for u in subtree if u in per_unit)
                counts = {source: n for source, units in recorded.items()
                          if (n := row_count(self.org, source, subtree, units)) is not None}
                rows.append(IndicatorRow(unit=unit_id, depth=depth, counts=counts, **figures))
        return StatsReport(period=chosen, units=roots, rows=rows, trend=list(trend), incidents=found,
                           reports_counted=counted)

    async def _remembered(self, units: Collection[str], scope: tuple[str, list[Any]], start: date, end: date,
                          today: date, marks: Marks) -> dict[str, dict[str, int]]:
        """The figures of [start, end) per unit of ``units`` (all but today's), each as remembered while none of
        the unit's cases that could count changed (store/trend_memo.py), the others counted together in one
        query and remembered. A trend month and the same month viewed as the period are one entry: counting
        all the figures of a trend month (some 30 % more than its own eight) lets every view reuse it.
        ``marks``: read before, as ``read_marks``."""
        end_moment = local_midnight(end, self.tz)
        found: dict[str, Iterable[int]] = {}
        missing: dict[str, tuple[Key, int]] = {}
        for unit in units:
            key = TrendMemo.key(start, end, today, unit, scope)
            stamp = marks.stamp(unit, end_moment)
            remembered = self.trend_memo.get(key, stamp)
            if remembered is None:
                missing[unit] = key, stamp
            else:
                found[unit] = remembered
        if missing:
            async with self.db.read_one() as conn:
                counted = await self._figures(conn, missing.keys(), scope, start, end, today)
            for unit, (key, stamp) in missing.items():
                row = counted.get(unit, {})
                found[unit] = [int(row.get(name) or 0) for name in PERIOD_FIGURES]
                self.trend_memo.put(key, stamp, found[unit])
        return {unit: dict(zip(PERIOD_FIGURES, values, strict=True)) for unit, values in found.items()}

    async def read_marks(self) -> Marks:
        """What has changed, by unit and month (store/trend_memo.py): read before the figures it stamps are
        counted."""
        async with self.db.read_one() as conn, conn.execute(MARKS_SQL) as cur:
            return Marks(await cur.fetchall())

    async def warm_trends(self) -> int:
        """Count the figures of every leader's and administrator's own view (their units) for each month of
        the last two years where they are not remembered: the first view of the day, or after a restart,
        then finds this month's view counted, and a view of any month of the past year too (its trend
        reaches a year further back). Leaders one after another, their months side by side, as a view does.
        Answers the units' months counted."""
        today = local_date(self.clock.now(), self.tz)
        months = trend_months(parse_period(None, today), WARM_MONTHS)
        marks = await self.read_marks()
        before = self.trend_memo.misses
        viewed: set[tuple[tuple[str, ...], str, tuple[Any, ...]]] = set()
        for staff in self.org.staff:
            if staff.role not in (Role.LEADER, Role.ADMIN):
                continue
            actor = Actor(id=staff.telegram_id, role=ActorRole(staff.role.value))
            scope = self._report_scope(actor)
            units = set().union(*(self.org.subtree(root) for root in self._report_roots(actor, None)))
            view = (tuple(sorted(units)), scope[0], tuple(scope[1]))
            if view in viewed:  # another leader of the same units and scope
                continue
            viewed.add(view)
            await asyncio.gather(*(self._remembered(units, scope, point.start, point.end, today, marks)
                                   for point in months))
        return self.trend_memo.misses - before

    async def _reports_elsewhere(
        self, conn: Any, units: set[str], scope: tuple[str, list[Any]], start: date, end: date
    ) -> int:
        """Reports on the discipline line received at ``units`` that ``scope`` does not show: counted only."""
        reports = sorted(c.id for c in self.org.categories if discipline.on_line(self.org, c.id))
        if not reports or not units:
            return 0
        clause, args = scope
        unit_list = sorted(units)
        async with conn.execute(
            f"SELECT count(*) FROM cases WHERE category IN ({', '.join('?' * len(reports))})"
            f" AND unit IN ({', '.join('?' * len(unit_list))}) AND submitted_at >= ? AND submitted_at < ?"
            f" AND NOT ({clause}) AND status <> '{Status.MERGED.value}'",
            (*reports, *unit_list, iso(local_midnight(start, self.tz)), iso(local_midnight(end, self.tz)), *args),
        ) as cur:
            return int((await cur.fetchone())[0])

    async def export_data(
        self, actor: Actor, unit: str | None = None, period: str | None = None
    ) -> ExportData:
        """/export and ``petition-bot report``: the indicators and the cases received in the period."""
        report = await self.indicators(actor, unit, period)
        scope, args = self._report_scope(actor)
        units = sorted(set().union(*(self.org.subtree(u) for u in report.units)))
        start = iso(local_midnight(report.period.start, self.tz))
        end = iso(local_midnight(report.period.end, self.tz))
        async with self.db.read() as conn:
            async with conn.execute(
                f"SELECT * FROM cases WHERE unit IN ({', '.join('?' * len(units))}) AND ({scope})"
                " AND submitted_at >= ? AND submitted_at < ? ORDER BY id",
                (*units, *args, start, end),
            ) as cur:
                cases = [row_to_model(Case, row) async for row in cur]
        return ExportData(report=report, cases=cases)
