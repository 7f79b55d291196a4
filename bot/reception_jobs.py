"""The reception reminder job: queues the reminders that are due (the day before, two hours before).

The store keeps each booking's reminder state and writes it in the same
transaction as the queued reminder, so this job may run as often as it likes,
and after a restart it sends what was missed (before the session starts) and
nothing twice. The outbox sender delivers what it queued.
"""

from __future__ import annotations

import logging

from telegram.ext import ContextTypes

from handlers.common import App
from store.reception import ReceptionService

log = logging.getLogger(__name__)

REMINDER_INTERVAL_SECONDS = 60.0


async def send_due_reminders(reception: ReceptionService) -> int:
    """Queue every reminder due now; returns how many were queued."""
    queued = await reception.queue_due_reminders()
    if queued:
        log.info("queued %d reception reminders", queued)
    return queued


def register(application: App, reception: ReceptionService) -> None:
    """Run the reminder check every minute, starting shortly after start-up."""
    job_queue = application.job_queue
    assert job_queue is not None, "install python-telegram-bot[job-queue]"

    async def remind(_context: ContextTypes.DEFAULT_TYPE) -> None:
        await send_due_reminders(reception)

    job_queue.run_repeating(remind, interval=REMINDER_INTERVAL_SECONDS, first=5, name="reception-reminders")
