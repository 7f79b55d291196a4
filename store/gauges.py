"""Read-only figures for operators: is the store answering, and how full are its queues.

``bot/metrics.py`` reads these at scrape time (``/healthz``, ``/metrics``).
Nothing here writes or decides; the SQL is portable (no SQLite-only
functions): times are ISO-8601 UTC text compared as text, as everywhere in
the store, and ages are computed in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from store.review import CURRENT_DUE_SQL, OPEN_SQL

PENDING_OUTBOX = "sent_at IS NULL AND failed_at IS NULL"


@dataclass(frozen=True)
class Gauges:
    """One snapshot of the store's queues and case load."""

    outbox_pending: int = 0
    outbox_oldest_age: float = 0.0  # seconds since the oldest pending row was written; 0 when none
    cases_by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0  # open cases past their current deadline (local calendar date)


async def ping(conn: Any) -> None:
    """The trivial query ``/healthz`` asks: raises when the store does not answer."""
    async with conn.execute("SELECT 1") as cur:
        await cur.fetchone()


async def read_gauges(conn: Any, now: datetime, today: date) -> Gauges:
    """The outbox backlog and its oldest row's age, cases per status, and overdue cases."""
    async with conn.execute(f"SELECT count(*), min(created_at) FROM outbox WHERE {PENDING_OUTBOX}") as cur:
        pending, oldest = await cur.fetchone()
    age = 0.0
    if oldest:
        age = max((now - datetime.fromisoformat(oldest)).total_seconds(), 0.0)
    async with conn.execute("SELECT status, count(*) FROM cases GROUP BY status") as cur:
        by_status = {str(status): int(count) for status, count in await cur.fetchall()}
    async with conn.execute(
        f"SELECT count(*) FROM cases WHERE {OPEN_SQL} AND {CURRENT_DUE_SQL} < :today",
        {"today": today.isoformat()},
    ) as cur:
        (overdue,) = await cur.fetchone()
    return Gauges(int(pending or 0), age, by_status, int(overdue or 0))
