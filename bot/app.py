"""Wiring: the services, the PTB Application, handlers, jobs, and the run loop.

``serve`` is what production runs and what the end-to-end tests run: the
same function, pointed at Telegram or at a Bot API server on loopback.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ApplicationBuilder, TypeHandler
from telegram.request import BaseRequest

from bot import commands, jobs, lease, reception_jobs, webhook
from bot.metrics import Monitor, MonitoredApplication
from bot.network import bot_requests
from bot.outbox import OutboxSender, rate_limiter
from bot.pace import Pace, PacedRateLimiter
from bot.persistence import StorePersistence
from bot.reload import Reloader
from bot.updates import ChatOrderedProcessor
from bot.webapp import WebAppServer, set_menu_buttons
from handlers import (
    approvals,
    documents,
    employee,
    hearing,
    incidents,
    intake,
    ledger,
    limits,
    links,
    opinion,
    procedure,
    prompts,
    reception,
    reception_leader,
    register,
    relay,
    repeats,
    review,
    review_opinion,
    screening,
    staff,
    staffing,
    supervision,
    verify,
    webapp_chat,
)
from handlers.common import App, Deps, Handler, remember_user
from handlers.errors import on_error
from handlers.fallback import fallback_handlers
from store.clock import Clock
from store.org import Organization
from store.services import Services

log = logging.getLogger(__name__)

OUTBOX_INTERVAL_SECONDS = 1.0


def build_application(
    services: Services,
    token: str,
    *,
    base_url: str,
    base_file_url: str,
    request: BaseRequest | None = None,
    paced: bool = True,
    monitor: Monitor | None = None,
    proxy: str | None = None,
) -> App:
    """An Application wired to ``services``; nothing is started yet.

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
        # Chats side by side, each chat's updates in order (bot/updates.py).
        .concurrent_updates(ChatOrderedProcessor())
    )
    owed = limits.Owed()
    if paced:
        # Answers first and retried within a bound; the outbox's sends are paced behind them
        # and retried by the outbox itself (it persists them).
        limiter = rate_limiter()
        if isinstance(limiter, PacedRateLimiter):
            limiter.pace = Pace(services.org.limits.bot_messages_per_second)
            limiter.on_answered = owed.answered
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]  # PTB types the builder for no limiter
    application = (
        builder.token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .persistence(StorePersistence(services.cases))
        .build()
    )
    application.bot_data["deps"] = Deps.of(services)
    application.bot_data["owed"] = owed
    application.bot_data["monitor"] = monitor
    application.add_error_handler(on_error)
    sender = OutboxSender(services, application.bot)
    application.bot_data["outbox"] = sender
    job_queue = application.job_queue
    assert job_queue is not None, "install python-telegram-bot[job-queue]"

    async def deliver(_context: object) -> None:
        # A pass can take seconds (one message per second per chat), so it runs
        # as a task: the one-second tick never finds its last run still going. A stopping
        # application starts no pass it would not wait for (the rows wait in the outbox).
        if application.running and not sender.busy:
            application.create_task(sender.run_once(), name="outbox")

    job_queue.run_repeating(deliver, interval=OUTBOX_INTERVAL_SECONDS, first=0, name="outbox")

    def wake() -> None:
        if sender.wake():
            job_queue.run_once(deliver, 0, name="outbox-now")

    async def user_seen(update: object, _context: object) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is not None and await sender.user_seen(user.id):
            wake()

    services.outbox.on_queued = wake
    _register(application, [
        # First of all: someone the outbox could not reach has written, so try again now.
        TypeHandler(Update, user_seen),
        # Who the user is and their Telegram language, before anything answers them.
        TypeHandler(Update, remember_user),
        # The flood limit: an excess message stops here, before it is stored or acted on.
        limits.build(services.org.limits.messages_per_minute, owed=owed),
        # The staff command menu follows the caller's role and language (never stops handling).
        commands.handler(),
        # A reply to a case message is relayed to the other side, and handling stops there.
        relay.handler(),
    ], [
        # First, so that while they wait for typed text any other command ends that step: an employee's
        # reception booking (the form: 预约 and the case to link), a leader's reception forms (before reception's
        # rc: catch-all), then reception days' other steps.
        reception.build_booking(),
        # A booking's outcome and a session's cancellation (forms of one typed step) before publishing: begun
        # from a session's list, they drop a publishing draft, whose stale step of buttons must not take their text.
        reception_leader.build_outcome(),
        reception_leader.build_session_cancel(),
        reception_leader.build_publish(),
        reception.build(),
        # The reviewers' collective study and hearings (/hearing, rv: buttons); before review's rv: catch-all.
        *hearing.handlers(),
        # Commands and buttons of petitioners, officers and leaders (each its own pattern).
        *employee.handlers(), *staff.handlers(), *review.handlers(), *supervision.handlers(), *procedure.handlers(), *links.handlers(),
        # Dispute screening: /screening, /dispute and the menu's buttons (the filing conversation below).
        *screening.handlers(),
        # The group-incident plan: its commands, its checklist buttons, then its area's stale-button answer.
        *incidents.handlers(),
        # The ledger: /claim, /find and the contact tasks' buttons.
        *ledger.handlers(),
        # Formal documents: /document.
        *documents.handlers(),
        # The Mini App behind a button: /app.
        *webapp_chat.handlers(),
        # Staff managed in chat by an administrator: /staff, the user picker's answer, its buttons.
        *staffing.handlers(),
        # 签发: a leader's 批准 / 退回修改 on an officer's draft.
        *approvals.handlers(),
        # 重复信访: /repeat and the card's 确认为重复信访 / 不是同一事项, then its area's stale-button answer.
        *repeats.handlers(),
        # Typed answers after a prompt button; before intake, which would take any text.
        prompts.build(),
        # The written opinion's parts and a decline's reason and destination, step by step: /decide,
        # /decline and the card's buttons (after prompts, whose typed answer comes first while it waits).
        opinion.build(),
        opinion.stale_handler(),
        # A 复查 / 复核 opinion's request, facts, basis and text, step by step: /review and the review card's
        # outcome buttons (after prompts, for the same reason); its last step asks who studied it (hearing).
        review_opinion.build(),
        review_opinion.stale_handler(),
        # Filing or updating a screening dispute, step by step (before intake, which would take any text).
        screening.build(),
        screening.stale_handler(),
        # Staff registering a letter, visit or call; before intake, which would take any text.
        register.build(),
        *register.outside_conversation(),
        # The petition conversation: /start's button, /new, and every step's text and files.
        intake.build(),
        # After the conversation: a redelivered Submit, and /cancel with nothing to cancel.
        *intake.outside_conversation(),
        # /verify, its "not now", and the /start button (handlers/verify.py).
        *verify.handlers(),
        # A shared contact no conversation took: the /claim waiting for it, else a verification (handlers/ledger.py).
        *ledger.contact_handlers(),
        # Last: an unknown command, a message nobody took, a stale button: a polite hint.
        *fallback_handlers(),
    ])
    reception_jobs.register(application, services.reception)
    jobs.register(application, services.review)
    jobs.register_screening(application, services.screening)
    jobs.register_trend_warming(application, services.indicators)
    return application


def _register(application: App, early: list[Handler], default: list[Handler]) -> None:
    """Add the handlers in the one order of ``build_application``.

    ``early`` handlers each get their own group, in list order, before the
    default group (PTB runs one handler per group, lower groups first, and a
    handler may stop the rest with ApplicationHandlerStop); in the default
    group the first handler that matches an update takes it.
    """
    for group, handler in enumerate(early, start=-len(early)):
        application.add_handler(handler, group=group)
    for handler in default:
        application.add_handler(handler)


def settle_heap() -> None:
    """Once the bot has started: what it holds by then (PTB's classes, the organisation, pydantic's
    schemas, the connections) lives as long as the process, so it is moved out of the collector's
    sight (``gc.freeze``). A full collection then scans only what updates made since: without it, one
    paused the event loop 12–46 ms every few seconds of a busy bot, every answer waiting
    (docs/benchmarks.md). ``serve`` gives it all back to the collector when the bot stops."""
    gc.collect()
    gc.freeze()


async def serve(
    *,
    token: str,
    db_path: str,
    org: Organization,
    base_url: str,
    base_file_url: str,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    ready: Callable[[App], Awaitable[None]] | None = None,
    webhook_config: webhook.WebhookConfig | None = None,
    metrics_listen: str = "",
    proxy: str | None = None,
    on_lost: Callable[[str], None] | None = None,
    load_org: Callable[[], Organization] | None = None,
    webapp_listen: str = "",
    webapp_url: str | None = None,
) -> None:
    """Run the bot until ``stop`` is set (or SIGINT/SIGTERM).

    Long polling, or a webhook server with ``webhook_config``; ``/healthz`` and
    ``/metrics`` on ``metrics_listen`` (host:port; "" for none). With
    PostgreSQL it first waits as a standby until it holds the lease
    (``bot/lease.py``); ``on_lost`` replaces ending the process when the lease is lost.
    ``load_org`` reads the organisation file again: on SIGHUP and on
    ``petition-bot reload`` (bot/reload.py).
    """
    services = await Services.open(db_path, org, clock)
    reloader = Reloader(services, load_org) if load_org is not None else None
    if reloader is not None:
        await reloader.start()
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if reloader is not None:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(reloader.reload()))
    monitor = Monitor()
    monitor.attach(services)
    holder = lease.lease_for(services.db, on_lost)
    webapp = WebAppServer(services, token)
    try:
        if metrics_listen:
            await monitor.start_http(metrics_listen)
        # A standby (PostgreSQL, another instance active) waits here; bot/lease.py.
        monitor.set_active(False)
        if not await holder.acquire(stop):
            return
        if reloader is not None:  # a standby may have waited for hours: the file as it is now
            await reloader.reload()
        await services.reception.sync_reception_config()
        application = build_application(
            services, token, base_url=base_url, base_file_url=base_file_url, monitor=monitor, proxy=proxy
        )
        if reloader is not None:
            reloader.register(application)
        async with application:
            await application.start()
            settle_heap()  # before the first update can arrive
            assert application.updater is not None
            monitor.probe_when_quiet(application)
            hook = None
            if webhook_config is not None:
                hook = await webhook.start(application, webhook_config)
            else:
                await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            monitor.set_active(True)
            if webapp_listen:
                webapp.bot = application.bot  # staff download a case's files through it
                await webapp.start(webapp_listen)
                application.bot_data["webapp"] = webapp
                if webapp_url:
                    application.bot_data[webapp_chat.URL_KEY] = webapp_url  # /app answers with it
                    application.create_task(set_menu_buttons(application.bot, services, webapp_url), name="webapp-menu")
            log.info("petition-bot is running (%s)", "webhook" if webhook_config is not None else "polling")
            application.create_task(commands.setup(application, services.cases), name="command-menus")
            if ready is not None:
                await ready(application)
            await stop.wait()
            application.bot_data["outbox"].close()
            if hook is not None:
                await hook.stop()
            else:
                await application.updater.stop()
            await application.stop()
    finally:
        gc.unfreeze()  # a process that serves again (the tests) collects what this run held
        await holder.release()
        await webapp.stop()
        await monitor.stop_http()
        await services.close()
