"""Wiring: the store, the PTB Application, handlers, jobs, and the run loop.

``serve`` is what production runs and what the end-to-end tests run: the
same function, pointed at Telegram or at a Bot API server on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.request import BaseRequest
from telegram.ext import Application, ApplicationBuilder, TypeHandler

from bot import commands, jobs, reception_jobs, webhook
from bot.metrics import Monitor, MonitoredApplication
from bot.network import bot_requests
from bot.outbox import OutboxSender, rate_limiter
from bot.persistence import StorePersistence
from handlers import employee, intake, limits, prompts, reception, relay, review, staff
from handlers.common import Deps, remember_user
from handlers.errors import on_error
from handlers.fallback import fallback_handlers
from store.clock import Clock
from store.org import Organization
from store.base import Store
from store.service import SqliteStore

log = logging.getLogger(__name__)

OUTBOX_INTERVAL_SECONDS = 1.0


def build_application(
    store: Store,
    token: str,
    *,
    base_url: str,
    base_file_url: str,
    request: BaseRequest | None = None,
    paced: bool = True,
    monitor: Monitor | None = None,
    proxy: str | None = None,
) -> Application:
    """An Application wired to ``store``; nothing is started yet.

    ``request`` replaces PTB's HTTP client (tests use an offline one);
    ``paced=False`` drops the rate limiter (offline tests send hundreds of
    answers to nobody and need not wait for Telegram's 30 per second).
    ``monitor`` counts updates and Bot API answers (bot/metrics.py); ``proxy``
    carries every Bot API call (bot/network.py).
    """
    monitor = monitor or Monitor()
    calls, updates = (request, request) if request is not None else bot_requests(proxy)
    builder = (
        ApplicationBuilder()
        .application_class(MonitoredApplication, kwargs={"monitor": monitor})
        .request(monitor.watch(calls))
        .get_updates_request(monitor.watch(updates))
    )
    if paced:
        # Retries are the outbox's job (it persists them); the limiter only paces.
        builder = builder.rate_limiter(rate_limiter())
    application = (
        builder.token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .persistence(StorePersistence(store))
        .build()
    )
    application.bot_data["deps"] = Deps(store=store, org=store.org)
    application.bot_data["monitor"] = monitor
    # Before the default group (0), one handler per group, in this order: who the
    # user is, the per-minute message limit (excess stops here), their staff
    # command menu, then replies to case messages (relayed, and handling stops there).
    application.add_handler(TypeHandler(Update, remember_user), group=-4)
    application.add_handler(limits.build(store.org.limits.messages_per_minute), group=limits.GROUP)
    application.add_handler(commands.handler(), group=commands.GROUP)
    application.add_handler(relay.handler(), group=relay.GROUP)
    # First in the default group, so that while it waits for typed text any other command ends that step.
    application.add_handler(reception.build())
    for handler in [*employee.handlers(), *staff.handlers(), *review.handlers()]:
        application.add_handler(handler)
    application.add_handler(prompts.build())
    application.add_handler(intake.build())
    for handler in intake.outside_conversation():
        application.add_handler(handler)
    for handler in fallback_handlers():
        application.add_handler(handler)
    application.add_error_handler(on_error)

    sender = OutboxSender(store, application.bot)
    application.bot_data["outbox"] = sender
    job_queue = application.job_queue
    assert job_queue is not None, "install python-telegram-bot[job-queue]"

    async def deliver(_context: object) -> None:
        # A pass can take seconds (one message per second per chat), so it runs
        # as a task: the one-second tick never finds its last run still going.
        if not sender.busy:
            application.create_task(sender.run_once(), name="outbox")

    job_queue.run_repeating(deliver, interval=OUTBOX_INTERVAL_SECONDS, first=0, name="outbox")

    def wake() -> None:
        if sender.wake():
            job_queue.run_once(deliver, 0, name="outbox-now")

    async def user_seen(update: object, _context: object) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is not None and await sender.user_seen(user.id):
            wake()

    store.on_queued = wake
    # First of all: someone the outbox could not reach has written, so try again now.
    application.add_handler(TypeHandler(Update, user_seen), group=-5)
    reception_jobs.register(application, store)
    jobs.register(application, store)
    return application


async def serve(
    *,
    token: str,
    db_path: str,
    org: Organization,
    base_url: str,
    base_file_url: str,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    ready: Callable[[Application], Awaitable[None]] | None = None,
    webhook_config: webhook.WebhookConfig | None = None,
    metrics_listen: str = "",
    proxy: str | None = None,
) -> None:
    """Run the bot until ``stop`` is set (or SIGINT/SIGTERM).

    Long polling, or a webhook server with ``webhook_config``; ``/healthz`` and
    ``/metrics`` on ``metrics_listen`` (host:port; "" for none).
    """
    store = await SqliteStore.open(db_path, org, clock)
    await store.sync_reception_config()
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    monitor = Monitor()
    monitor.attach(store)
    application = build_application(
        store, token, base_url=base_url, base_file_url=base_file_url, monitor=monitor, proxy=proxy
    )
    try:
        if metrics_listen:
            await monitor.start_http(metrics_listen)
        async with application:
            await application.start()
            assert application.updater is not None
            monitor.probe_when_quiet(application)
            if webhook_config is not None:
                await webhook.start(application.updater, webhook_config)
            else:
                await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            log.info("petition-bot is running as @%s", application.bot.username)
            application.create_task(commands.setup(application, store), name="command-menus")
            if ready is not None:
                await ready(application)
            await stop.wait()
            application.bot_data["outbox"].close()
            await application.updater.stop()
            await application.stop()
    finally:
        await monitor.stop_http()
        await store.close()
