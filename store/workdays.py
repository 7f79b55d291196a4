"""Working days: the one calendar rule every time limit is counted by.

The State Council publishes each year's holiday notice (国务院办公厅关于某年部分
节假日安排的通知): the rest days (放假) and the make-up working days (调休上班),
which fall on weekends. The organisation file holds that notice as data
(``[calendar]``, :class:`store.org.Calendar`); the 2026 notice ships as the
default. A day is a rest day when the notice says so, or when it is a Saturday
or Sunday the notice does not make a working day; outside the years the
notice covers, only weekends are rest days.

Every due date the bot stores is made by :func:`due_date`, so the sweep, the
warnings, the SQL that sorts and filters by due dates, the case cards and the
documents all read the same, already-rolled date: a limit counted in calendar
days that ends on a rest day ends on the next working day instead; a limit
counted in working days counts only working days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class WorkCalendar:
    """The rest days and make-up working days of the years a holiday notice covers."""

    rest: frozenset[date] = field(default_factory=frozenset)
    work: frozenset[date] = field(default_factory=frozenset)
    years: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def of(cls, rest: Iterable[date], work: Iterable[date], years: Iterable[int]) -> WorkCalendar:
        return cls(rest=frozenset(rest), work=frozenset(work), years=frozenset(years))

    def is_working_day(self, day: date) -> bool:
        if day in self.work:
            return True
        if day in self.rest:
            return False
        return day.isoweekday() <= 5

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def due_date(self, start: date, days: int, *, working: bool = False) -> date:
        """The last day of a limit of ``days`` counted from ``start`` (the day of the step).

        Calendar days: ``start + days``, moved to the next working day when it
        is a rest day. Working days: only working days are counted.
        """
        if working:
            return self.add_working_days(start, days)
        return self.next_working_day(start + timedelta(days=days))

    def resumed(self, due: date, stopped: date, resumed: date, *, working: bool = False) -> tuple[date, int]:
        """A limit whose clock stood still from ``stopped`` to ``resumed`` (a hearing, 听证): its new last day.

        Returns the new last day and the days stopped, counted as the limit
        counts. Calendar days: the days from ``stopped`` to ``resumed`` are
        added to ``due``, and a last day on a rest day moves to the next
        working day. Working days: the working days after ``stopped`` up to
        and including ``resumed`` are added as working days.
        """
        if resumed <= stopped:
            return due, 0
        if working:
            days = sum(
                1 for n in range(1, (resumed - stopped).days + 1)
                if self.is_working_day(stopped + timedelta(days=n))
            )
            return self.add_working_days(due, days), days
        days = (resumed - stopped).days
        return self.next_working_day(due + timedelta(days=days)), days

    def covers(self, year: int) -> bool:
        """Whether the holiday notice of ``year`` is in the calendar."""
        return year in self.years
