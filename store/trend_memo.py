"""A unit's figures of a month remembered until a case that counts in them changes (migrations 0033, 0037).

/stats and the dashboard draw a period's figures and twelve months of trend; at a million cases each
month counts some 10,000 cases a unit tree, most of the view's time. A unit's figures of a past month
change only when one of its cases that counts in them is inserted or changed in a column the figures
read (no case is ever deleted), and every such case was submitted in that month or before (received in
it, or decided or due in it after its submission). The database counts those changes by the month of
the case's submission and its unit (``unit_month_changes``, kept by triggers, so no code path can
change a case unseen; a case moved between units raises both); the sum of a unit's counts up to a month
is its *stamp*. Figures remembered with a stamp are current while the stamp is: a change to any case
that could count in them raises it. A leader's view after one case changed counts that case's unit
again, not every unit in sight.

A unit's figures are remembered by period, the viewer's scope and today's date (the figures count
deadlines passed by today), so nothing is remembered past the day; a trend month is the same period as
that month viewed on its own, so each view reuses what another counted. The stamps are read
before the figures are counted, so a change committed in between makes them look older than they are
(counted again next time), never newer.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

#: The columns of ``cases`` whose change raises its unit's month: every column the indicators' SQL and
#: the leaders' scopes read (tests/test_trend_memo.py derives that set from the SQL and compares).
#: Migration 0037 names the same in its triggers, on both backends.
WATCHED = ("submitted_at", "unit", "category", "kind", "confidential", "status", "first_answer_at", "accept_due",
           "imported", "decided_at", "answer_due", "rating", "repeat_count", "lead_id", "served_on", "channel",
           "review_due", "rereview_due", "clock_stopped_on")
#: The journal's actions the figures count (回访, 重办): recording one raises its case's unit and month.
WATCHED_ACTIONS = ("followup", "redo")

#: The units' periods a process remembers: a hundred leaders' views of ten units, the two years the job
#: counts ahead (bot/jobs.py), and the whole group's of two hundred, with room to spare. An entry (its
#: key, stamp and some twenty counts) takes about 0.8 KB: at most some 40 MB.
MEMO_SIZE = 50_000

MARKS_SQL = "SELECT unit, month, changes FROM unit_month_changes"

Key = tuple[date, date, date, str, str, tuple[Any, ...]]


def month_of(moment: datetime) -> str:
    """The month a stored moment is counted under (``YYYY-MM``, UTC, as the triggers take it)."""
    return moment.astimezone(UTC).strftime("%Y-%m")


class Marks:
    """``unit_month_changes`` as read: a unit's stamp of a period is the sum of its changes up to its end."""

    def __init__(self, rows: Iterable[Any]) -> None:
        by_unit: dict[str, list[tuple[str, int]]] = {}
        for row in rows:
            by_unit.setdefault(str(row[0]), []).append((str(row[1]), int(row[2])))
        # Per unit, its months in order and the running sums of their changes.
        self._months: dict[str, list[str]] = {}
        self._sums: dict[str, list[int]] = {}
        for unit, found in by_unit.items():
            found.sort()
            self._months[unit] = [month for month, _ in found]
            self._sums[unit] = list(accumulate(changes for _, changes in found))

    def stamp(self, unit: str, end: datetime) -> int:
        """The changes to ``unit``'s cases submitted before ``end`` (the period's end, exclusive), which are
        every case that could count in its period."""
        months = self._months.get(unit)
        if not months:
            return 0
        upto = bisect_right(months, month_of(end - timedelta(microseconds=1)))
        return self._sums[unit][upto - 1] if upto else 0


class TrendMemo:
    """A unit's figures of a period (its counts, in an order the caller keeps), per (period, today, unit,
    scope), each with the stamp it was counted at; the least recently used go first. ``hits`` and
    ``misses`` count units' periods."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._memo: OrderedDict[Key, tuple[int, array[int]]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(start: date, end: date, today: date, unit: str, scope: tuple[str, list[Any]]) -> Key:
        return start, end, today, unit, scope[0], tuple(scope[1])

    def get(self, key: Key, stamp: int) -> array[int] | None:
        found = self._memo.get(key)
        if found is None or found[0] != stamp:
            self.misses += 1
            return None
        self._memo.move_to_end(key)
        self.hits += 1
        return found[1]

    def put(self, key: Key, stamp: int, counted: Iterable[int]) -> None:
        self._memo[key] = (stamp, array("q", counted))  # 8 bytes a count, not an object each
        self._memo.move_to_end(key)
        while len(self._memo) > self.size:
            self._memo.popitem(last=False)
