"""Scheduled work: the deadline sweep (reminders, escalation, lapsed windows, weekly digest).

The sweep's logic and memory live in the store (``ReviewService.sweep``): this
job only calls it periodically. What it did is recorded in the same
transaction as the notifications it queued, so the job can run as often as
wanted, be interrupted at any point and be restarted without sending any
reminder twice or forgetting one.
"""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from store.review import ReviewService

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 300.0
SWEEP_FIRST_SECONDS = 5.0


async def run_sweep(review: ReviewService) -> None:
    """One sweep as of the store clock; a failure is logged and retried at the next run."""
    try:
        report = await review.sweep()
    except Exception:
        log.exception("deadline sweep failed; it will run again")
        return
    if report.reminders or report.escalations or report.closed or report.digests:
        log.info(
            "sweep: %d reminders, %d escalations, %d closed, %d digests",
            report.reminders, report.escalations, report.closed, report.digests,
        )


def register(application: Application, review: ReviewService, interval: float = SWEEP_INTERVAL_SECONDS) -> None:
    """Run the sweep every ``interval`` seconds, first shortly after start."""
    job_queue = application.job_queue
    assert job_queue is not None, "install python-telegram-bot[job-queue]"

    async def sweep(_context: ContextTypes.DEFAULT_TYPE) -> None:
        await run_sweep(review)

    job_queue.run_repeating(sweep, interval=interval, first=SWEEP_FIRST_SECONDS, name="sweep")
