"""Scheduled work: the deadline sweep (reminders, escalation, lapsed windows, weekly digest), the screening sweep,
the leaders' trends counted ahead.

The sweep's logic and memory live in the store (``ReviewService.sweep``): this
job only calls it periodically. What it did is recorded in the same
transaction as the notifications it queued, so the job can run as often as
wanted, be interrupted at any point and be restarted without sending any
reminder twice or forgetting one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram.ext import ContextTypes

from handlers.common import App
from handlers.errors import fault
from store.events import SweepReport
from store.indicators import IndicatorService
from store.retention import prune_sent_notices
from store.review import ReviewService
from store.screening import ScreeningService

log = logging.getLogger(__name__)

T = TypeVar("T")


async def _attempt(what: str, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None when it failed: logged (its class, never its text, which may hold what
    people wrote), for the next run to try again."""
    try:
        return await work
    except Exception as error:  # noqa: BLE001 - any failure: logged, run again
        log.error("%s failed; it will run again: %s", what, fault(error))
        return None


def _repeat(application: App, name: str, run: Callable[[], Awaitable[None]], interval: float, first: float) -> None:
    """``run`` every ``interval`` seconds, the first time ``first`` seconds after start (PTB's job queue)."""
    job_queue = application.job_queue
    assert job_queue is not None, "install python-telegram-bot[job-queue]"

    async def job(_context: ContextTypes.DEFAULT_TYPE) -> None:
        await run()

    job_queue.run_repeating(job, interval=interval, first=first, name=name)


SWEEP_INTERVAL_SECONDS = 300.0
SWEEP_FIRST_SECONDS = 5.0


async def run_sweep(review: ReviewService) -> None:
    """One sweep as of the store clock; a failure is logged and retried at the next run."""

    async def sweep() -> SweepReport:
        report = await review.sweep()
        await prune_sent_notices(review.db, review.org, review.clock)  # [retention] sent_notices_days
        return report

    report = await _attempt("deadline sweep", sweep())
    if report is None:
        return
    if report.reminders or report.escalations or report.closed or report.digests:
        log.info(
            "sweep: %d reminders, %d escalations, %d closed, %d digests",
            report.reminders, report.escalations, report.closed, report.digests,
        )


def register(application: App, review: ReviewService, interval: float = SWEEP_INTERVAL_SECONDS) -> None:
    """Run the sweep every ``interval`` seconds, first shortly after start."""
    _repeat(application, "sweep", lambda: run_sweep(review), interval, SWEEP_FIRST_SECONDS)


SCREENING_INTERVAL_SECONDS = 600.0
# A period's request is a matter of days: the first screening sweep waits until the bot has settled
# (answers and the outbox's backlog first after a restart).
SCREENING_FIRST_SECONDS = 120.0


async def run_screening_sweep(screening: ScreeningService) -> None:
    """The dispute screening's requests, reminders and words to leaders due now (each once; see the store)."""
    result = await _attempt("screening sweep", screening.sweep())
    if result is None:
        return
    if result.requests or result.reminders or result.escalations:
        log.info("screening: %d requests, %d reminders, %d escalations",
                 result.requests, result.reminders, result.escalations)


def register_screening(
    application: App, screening: ScreeningService, interval: float = SCREENING_INTERVAL_SECONDS
) -> None:
    """Run the screening sweep every ``interval`` seconds, the first two minutes after start."""
    _repeat(application, "screening-sweep", lambda: run_screening_sweep(screening), interval, SCREENING_FIRST_SECONDS)


TREND_INTERVAL_SECONDS = 600.0
# After the bot has settled (answers and the outbox's backlog first after a restart).
TREND_FIRST_SECONDS = 90.0


async def run_trend_warming(indicators: IndicatorService) -> None:
    """The leaders' own trends counted where not remembered (the first run of a day counts them all)."""
    counted = await _attempt("counting the leaders' trends", indicators.warm_trends())
    if counted:
        log.debug("trends: %d units' months counted", counted)


def register_trend_warming(
    application: App, indicators: IndicatorService, interval: float = TREND_INTERVAL_SECONDS
) -> None:
    """Count the leaders' trends every ``interval`` seconds, the first shortly after start: a leader's
    first view of the day (or after a restart) then finds every unit's months counted (store/trend_memo.py)."""
    _repeat(application, "trend-warming", lambda: run_trend_warming(indicators), interval, TREND_FIRST_SECONDS)
