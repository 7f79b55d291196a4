"""Re-reading the organisation file in a running bot: SIGHUP, or ``petition-bot reload`` for every instance.

A file that does not validate is refused and the one in use stays (logged
with its problems, which name no person). A changed time zone is refused
too: deadlines already counted in the old zone would shift under running
cases; that takes a restart. Staff managed in chat stay over the new file
(store/staffing.py). ``petition-bot reload`` writes a request into the
database, which every running instance (active or standby, on any machine)
checks every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram.ext import ContextTypes

from handlers.common import App
from store.org import Organization, OrgError
from store.services import Services

log = logging.getLogger(__name__)

WATCH_SECONDS = 5.0


class Reloader:
    """Reloads ``services``' organisation from ``load`` (the file, read again)."""

    def __init__(self, services: Services, load: Callable[[], Organization]) -> None:
        self.services = services
        self.load = load
        self.seen: str | None = None  # the last reload request acted on (or there at start)
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self.seen = await self.services.staffing.reload_requested()

    async def reload(self) -> bool:
        """Read the file again and put it in effect; False (the old one kept) if it is refused."""
        async with self._lock:
            try:
                org = await asyncio.to_thread(self.load)
            except OrgError as error:
                log.error("organisation file refused, the one in use stays:\n  %s", "\n  ".join(error.errors))
                return False
            if org.organization.timezone != self.services.org.organization.timezone:
                log.error("organisation file refused: its time zone changed (%s); restart the bot for that",
                          org.organization.timezone)
                return False
            problems = await self.services.staffing.apply(org)
            for problem in problems:
                log.warning("a staff change made in chat no longer fits the file and is set aside: %s", problem)
            log.info("organisation file reloaded: %d units, %d staff", len(org.units), len(self.services.org.staff))
            return True

    async def check(self) -> bool:
        """Act on a ``petition-bot reload`` written since the last check; True if one was acted on."""
        requested = await self.services.staffing.reload_requested()
        if requested is None or requested == self.seen:
            return False
        self.seen = requested
        await self.reload()
        return True

    def register(self, application: App) -> None:
        job_queue = application.job_queue
        assert job_queue is not None, "install python-telegram-bot[job-queue]"

        async def watch(_context: ContextTypes.DEFAULT_TYPE) -> None:
            try:
                await self.check()
            except Exception:
                log.exception("checking for a reload request failed; it is checked again shortly")

        job_queue.run_repeating(watch, interval=WATCH_SECONDS, first=WATCH_SECONDS, name="reload-watch")
