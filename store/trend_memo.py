"""The trend's months remembered until a case that counts in them changes (migration 0033).

The dashboard and /stats draw twelve months of figures; at a million cases each month counts some
30,000 of them, most of the view's time. A past month's figures change only when a case that counts
in it is inserted or changed in a column the figures read (no case is ever deleted), and every such
case was submitted in that month or before (received in it, or decided or due in it after its
submission). The database counts those changes by the month of the case's submission
(``case_month_changes``, kept by triggers, so no code path can change a case unseen); the sum of the
counts up to a month is its *stamp*. Figures remembered with a stamp are current while the stamp is:
a change to any case that could count in them raises it.

A remembered month is also keyed by its units, the viewer's scope and today's date (the figures count
deadlines passed by today), so nothing is remembered past the day. The stamp is read before the figures are counted, so a change committed
in between makes them look older than they are (counted again next time), never newer.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

#: The columns of ``cases`` whose change raises its month's count: every column the trend's SQL and the
#: leaders' scopes read (tests/test_trend_memo.py derives that set from the SQL and compares). Migration
#: 0033 names the same in its triggers, on both backends.
WATCHED = ("submitted_at", "unit", "category", "kind", "confidential", "status", "first_answer_at", "accept_due",
           "imported", "decided_at", "answer_due", "rating")

#: The months a process remembers (a viewer's twelve, for some hundred leaders' scopes; a few hundred bytes each).
MEMO_SIZE = 2048

MARKS_SQL = "SELECT month, changes FROM case_month_changes"

Key = tuple[date, date, date, tuple[str, ...], str, tuple[Any, ...]]


def month_of(moment: datetime) -> str:
    """The month a stored moment is counted under (``YYYY-MM``, UTC, as the triggers take it)."""
    return moment.astimezone(UTC).strftime("%Y-%m")


class Marks:
    """``case_month_changes`` as read: the stamp of a period is the sum of the changes up to its end."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = sorted((str(row[0]), int(row[1])) for row in rows)

    def stamp(self, end: datetime) -> int:
        """The changes to every case submitted before ``end`` (the period's end, exclusive) could count in."""
        last = month_of(end - timedelta(microseconds=1))
        return sum(changes for month, changes in self._rows if month <= last)


class TrendMemo:
    """A month's counts, added up over its units, per (period, units, scope, today), each with the stamp it
    was counted at; the least recently used go first."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._memo: OrderedDict[Key, tuple[int, dict[str, int]]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(start: date, end: date, today: date, units: Collection[str], scope: tuple[str, list[Any]]) -> Key:
        return start, end, today, tuple(sorted(units)), scope[0], tuple(scope[1])

    def get(self, key: Key, stamp: int) -> dict[str, int] | None:
        found = self._memo.get(key)
        if found is None or found[0] != stamp:
            self.misses += 1
            return None
        self._memo.move_to_end(key)
        self.hits += 1
        return found[1]

    def put(self, key: Key, stamp: int, counted: dict[str, int]) -> None:
        self._memo[key] = (stamp, counted)
        self._memo.move_to_end(key)
        while len(self._memo) > self.size:
            self._memo.popitem(last=False)
