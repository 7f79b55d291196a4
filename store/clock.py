"""Time as the store sees it: injectable so tests can move the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that stands still until moved: for tests and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 2, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date in the organisation's time zone (deadlines count these)."""
    return moment.astimezone(tz).date()


def iso(moment: datetime) -> str:
    """A moment as the store keeps it: UTC to the second, ``2026-11-20T02:00:00Z`` (migration 0035).

    Twenty characters where the form before 0035 took thirty-two
    (``2026-11-20T02:00:00.123456+00:00``): at some fifteen moments a case, 200
    bytes a case at a million (docs/benchmarks.md). SQLite's date functions,
    PostgreSQL, Python and pydantic read both forms as the same instant. Texts
    of the two forms compare in the order of their instants but within one
    second: an older ``…:00.5+00:00`` sorts below ``…:00Z``. So 0035 rewrote
    the cases' moments, which are counted by period, on SQLite; the journals
    keep their text (no query compares it with a bound) and hash it as
    :func:`hashed_moment` gives it; other older rows (a notice's due time, a
    draft's last change) may read as up to a second early against a bound.
    """
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def iso_not_before(moment: datetime) -> str:
    """A time before which something must not happen (a notice's retry after Telegram's ``retry_after``),
    as stored: the first whole second at or after it, where :func:`iso` would keep the second before."""
    whole = moment.replace(microsecond=0)
    return iso(whole if whole == moment else whole + timedelta(seconds=1))


def iso_before_0035(moment: datetime) -> str:
    """A moment in the form the store wrote before migration 0035: ``2026-11-20T02:00:00.123456+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def hashed_moment(text: str) -> str:
    """The form a moment's text had before migration 0035, which the journal's hashes cover.

    Rows written before keep that very text (this gives it back unchanged); a
    newer row's ``…:00Z`` hashes as ``…:00.000000+00:00``, so the chain's rule
    is the same for every row and on either backend.
    """
    return iso_before_0035(datetime.fromisoformat(text))


# ------------------------------------------------------------ local day in SQL
# :func:`local_day_sql` is the SQL twin of :func:`local_date` over a stored
# :func:`iso` text. In SQLite ``local_day(ts)`` is a Python function registered
# on the connection, and every call took the GIL: the dashboard's twelve trend
# months, meant to run side by side on SQLite's readers, then queued behind each
# other (one query's thousands of calls against another's). So the rule is
# written as plain SQL from the zone's UTC offsets: one ``date(ts, '+N seconds')``
# per stretch of time with one offset, the stretches found from ``zoneinfo``
# itself. Outside ``LOCAL_DAY_YEARS`` the Python function still answers.
# PostgreSQL has the rule built in (``AT TIME ZONE``, from its own time zone
# data), written inline with the zone's name. ``tests/test_local_day_sql.py``
# proves each equal to Python's, a zone with summer time among them.

LOCAL_DAY_YEARS = (2000, 2060)


@cache
def offset_stretches(tz: ZoneInfo, years: tuple[int, int] = LOCAL_DAY_YEARS) -> list[tuple[datetime, int]]:
    """``(start, offset in seconds)`` of each stretch with one UTC offset, from ``years[0]`` to ``years[1]``."""

    def offset(moment: datetime) -> int:
        delta = moment.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    moment = datetime(years[0], 1, 1, tzinfo=UTC)
    end = datetime(years[1], 1, 1, tzinfo=UTC)
    stretches = [(moment, offset(moment))]
    step = timedelta(hours=6)  # no zone changes its offset twice within six hours
    while moment < end:
        later = min(moment + step, end)
        if offset(later) != stretches[-1][1]:
            low, high = moment, later  # the change lies in (low, high]: find its second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (low, middle) if offset(middle) != stretches[-1][1] else (middle, high)
            stretches.append((high.replace(microsecond=0), offset(high)))
        moment = later
    return stretches


@cache
def local_day_sql(expression: str, tz: ZoneInfo, dialect: str = "sqlite") -> str:
    """SQL for the local date of the UTC moment ``expression``: a ``YYYY-MM-DD`` text in SQLite, a ``date``
    in PostgreSQL (which store/pg.py reads back as the same text)."""
    if dialect == "postgresql":
        zone = str(tz).replace("'", "''")  # a quoted literal, whatever the name holds
        return f"CAST(CAST({expression} AS timestamptz) AT TIME ZONE '{zone}' AS date)"
    if dialect != "sqlite":
        raise ValueError(f"no local day for the dialect {dialect!r}")
    stretches = offset_stretches(tz)
    low, end = iso(stretches[0][0]), iso(datetime(LOCAL_DAY_YEARS[1], 1, 1, tzinfo=UTC))
    parts = [f"WHEN {expression} IS NULL THEN NULL",
             f"WHEN {expression} < '{low}' OR {expression} >= '{end}' THEN local_day({expression})"]
    # The newest stretch first: most timestamps are recent.
    for start, seconds in reversed(stretches[1:]):
        parts.append(f"WHEN {expression} >= '{iso(start)}' THEN date({expression}, '{seconds:+d} seconds')")
    parts.append(f"ELSE date({expression}, '{stretches[0][1]:+d} seconds')")
    return "(CASE " + " ".join(parts) + " END)"


def days_between_sql(later: str, earlier: str, dialect: str) -> str:
    """SQL for the days from ``earlier`` to ``later``, two ``YYYY-MM-DD`` texts (NULL if either is)."""
    if dialect == "postgresql":
        return f"(CAST({later} AS date) - CAST({earlier} AS date))"  # an integer
    if dialect != "sqlite":
        raise ValueError(f"no day count for the dialect {dialect!r}")
    return f"(julianday({later}) - julianday({earlier}))"  # whole days, as a real
