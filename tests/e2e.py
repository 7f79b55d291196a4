"""End-to-end harness: the real bot, polling a Bot API server on 127.0.0.1.

``running_bot`` starts ``bot.app.serve`` (the production entry point) in the
test's event loop against a :class:`BotApiSimulator`, and stops it cleanly.
Its database is an SQLite path or a PostgreSQL URL (``tests.backends.fresh_database``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.app import serve
from botsim import BotApiSimulator
from store.clock import Clock
from store.org import Organization
from tests.backends import rows

TOKEN = "123456:TEST-TOKEN"


@dataclass
class Running:
    sim: BotApiSimulator
    application: Application
    db_path: Path | str

    async def drained(self, timeout: float = 15.0) -> None:
        """Wait until the outbox has nothing left to try (it paces itself like Telegram asks)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            ((left,),) = rows(self.db_path, "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
            if left == 0:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{left} notifications still unsent"
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_bot(
    org: Organization, db_path: Path | str, *, clock: Clock | None = None, sim: BotApiSimulator | None = None,
    token: str = TOKEN, **options: Any,
) -> AsyncIterator[Running]:
    """``options`` go to ``serve`` as they are (webhook_config, metrics_listen, proxy)."""
    own_sim = sim is None
    sim = sim or BotApiSimulator(token=token)
    if own_sim:
        await sim.start()
    stop = asyncio.Event()
    ready: asyncio.Future[Application] = asyncio.get_running_loop().create_future()

    async def on_ready(application: Application) -> None:
        ready.set_result(application)

    task = asyncio.create_task(
        serve(
            token=token,
            db_path=str(db_path),
            org=org,
            base_url=sim.base_url,
            base_file_url=sim.base_file_url,
            clock=clock,
            stop=stop,
            ready=on_ready,
            **options,
        )
    )
    try:
        started: set[asyncio.Future[Any]] = {task, ready}
        done, _ = await asyncio.wait(started, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # raises the start-up error
        application = await asyncio.wait_for(ready, 1)
        yield Running(sim, application, db_path)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        if own_sim:
            await sim.stop()
