"""Health and metrics: ``/healthz`` and ``/metrics`` (Prometheus) on ``PETITION_METRICS_LISTEN``.

What is measured, and where:

- updates by type and the time each takes to handle: :class:`MonitoredApplication`
  (PTB's ``Application`` with ``process_update`` timed), the one path every
  update takes, from polling and from the webhook alike;
- the Bot API: :class:`WatchedRequest` wraps each PTB request object; every
  answer from the Bot API (any HTTP status below 500) is remembered as "the
  Bot API answered at ...", and each 429 is counted;
- the store's queues and case load (outbox backlog, the oldest pending row's
  age, cases by status, overdue cases): read at scrape time with one small
  read-only query each (``store/gauges.py``), so they are never stale;
- ``petition_active``: 1 while this instance is the active one, 0 while it
  is a standby waiting for the lease (``bot/lease.py``; with SQLite there is
  no lease and it is 1 once the bot runs). A standby's ``/healthz`` is 200
  with a body that says it is a standby, as long as its store answers: it
  is ready to take over, which is what its health means; it does not talk
  to the Bot API, so that check is left to the active instance.

Why tornado serves it: the webhook mode needs tornado anyway (PTB's
``webhooks`` extra), it runs in the bot's own asyncio loop, so ``/healthz``
and the scrape-time gauges await the store directly (no thread, no second
loop, no lock shared across threads), and its ``HTTPServer`` is small.
``prometheus_client.start_http_server`` would serve from a thread, where the
async store cannot be queried; aiohttp is not a runtime dependency.

Each :class:`Monitor` has its own ``CollectorRegistry``: two bots in one
process (tests) never mix their figures.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from telegram import Update
from telegram.request import BaseRequest, RequestData
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler

from bot.network import split_listen
from handlers.common import App
from store.clock import local_date
from store.gauges import ping, read_gauges

log = logging.getLogger(__name__)

#: ``/healthz`` fails when the Bot API has said nothing for this long. Long
#: polling asks every few seconds; a quiet webhook instance is kept honest by
#: :meth:`Monitor.keep_fresh`, which asks ``getMe`` when nothing else did.
MAX_API_SILENCE = 180.0
#: How long ``/healthz`` waits for the store's trivial query.
STORE_TIMEOUT = 5.0
#: Handling-time buckets in seconds: a handler writes to the store and answers once or twice.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def update_type(update: object) -> str:
    """The kind of an update as Telegram names it (``message``, ``callback_query``, ...)."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
        return "unknown"
    return "other"  # something put on the queue by the application itself


class Monitor:
    """The figures of one bot process, and the answers to ``/healthz``."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_api_silence: float = MAX_API_SILENCE,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.clock = clock
        self.max_api_silence = max_api_silence
        self.store: Any = None
        self.api_answered_at: float | None = None
        self.standby = False
        self._server: Any = None
        self.port: int | None = None
        r = self.registry
        self.updates = Counter("petition_updates", "Updates received, by type", ["type"], registry=r)
        self.latency = Histogram(
            "petition_update_handling_seconds", "Time to handle one update", buckets=LATENCY_BUCKETS, registry=r
        )
        self.api_429 = Counter(
            "petition_botapi_429", "Bot API answers 429 Too Many Requests (flood control)", registry=r
        )
        self.api_calls = Counter(
            "petition_botapi_requests", "Bot API requests, by HTTP status", ["code"], registry=r
        )
        self.outbox_backlog = Gauge(
            "petition_outbox_backlog", "Notifications waiting to be sent (not sent, not given up)", registry=r
        )
        self.outbox_oldest = Gauge(
            "petition_outbox_oldest_age_seconds", "Age of the oldest notification waiting; 0 when none", registry=r
        )
        self.cases = Gauge("petition_cases", "Cases by status", ["status"], registry=r)
        self.overdue = Gauge("petition_cases_overdue", "Open cases past their current deadline", registry=r)
        self.active = Gauge("petition_active", "1 if this instance is the active one, else 0", registry=r)
        self.api_silence = Gauge(
            "petition_botapi_silence_seconds", "Seconds since the Bot API last answered (-1: never)", registry=r
        )
        self.set_active(True)

    # -- hooks
    def set_active(self, active: bool) -> None:
        """Called by ``serve`` as the lease is awaited (False: a standby) and taken (True)."""
        self.standby = not active
        self.active.set(1 if active else 0)

    def attach(self, store: Any) -> None:
        """The store whose health and queues are reported."""
        self.store = store

    def api_answered(self, code: int) -> None:
        """One HTTP answer from the Bot API (``WatchedRequest`` calls this)."""
        self.api_calls.labels(code=str(code)).inc()
        if code == 429:
            self.api_429.inc()
        if code < 500:
            self.api_answered_at = self.clock()

    def watch(self, request: BaseRequest) -> BaseRequest:
        return WatchedRequest(request, self)

    # -- reading
    def api_silence_seconds(self) -> float | None:
        return None if self.api_answered_at is None else self.clock() - self.api_answered_at

    async def health(self) -> tuple[bool, str]:
        """(healthy, reason): the store answers a trivial query and the Bot API answered recently."""
        problems = []
        if self.store is None:
            problems.append("store: not open")
        else:
            try:
                async with asyncio.timeout(STORE_TIMEOUT):
                    async with self.store.db.read() as conn:
                        await ping(conn)
            except Exception as error:  # noqa: BLE001 - any failure is the answer
                # Never the driver's text: it may name the server, the database, the user or a path.
                log.warning("health: the database did not answer (%s)", type(error).__name__)
                problems.append("database unreachable")
        if self.standby:
            # Ready to take over is all a standby can be: it does not call the Bot API.
            if problems:
                return False, "standby\n" + "\n".join(problems)
            return True, "standby: another instance holds the lease; this one takes over when it frees"
        silence = self.api_silence_seconds()
        if silence is None:
            problems.append("Bot API: no answer yet")
        elif silence > self.max_api_silence:
            problems.append(f"Bot API: no answer for {silence:.0f} s (limit {self.max_api_silence:.0f} s)")
        if problems:
            return False, "\n".join(problems)
        return True, "ok"

    async def refresh(self) -> None:
        """Read the scrape-time gauges from the store (leaves them as they were if it fails)."""
        silence = self.api_silence_seconds()
        self.api_silence.set(-1 if silence is None else silence)
        store = self.store
        if store is None:
            return
        now = store.clock.now()
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                async with store.db.read() as conn:
                    gauges = await read_gauges(conn, now, local_date(now, store.tz))
        except Exception as error:  # noqa: BLE001 - /healthz says what is wrong; the scrape still answers
            log.warning("metrics: the store did not answer (%s); gauges keep their last values", type(error).__name__)
            return
        self.outbox_backlog.set(gauges.outbox_pending)
        self.outbox_oldest.set(gauges.outbox_oldest_age)
        self.cases.clear()
        for status, count in gauges.cases_by_status.items():
            self.cases.labels(status=status).set(count)
        self.overdue.set(gauges.overdue)

    async def exposition(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry)

    async def keep_fresh(self, bot: Any) -> None:
        """Ask the Bot API something small when nothing else has for a while (webhook mode is often quiet)."""
        silence = self.api_silence_seconds()
        if silence is None or silence > self.max_api_silence / 3:
            try:
                await bot.get_me()
            except Exception as error:  # noqa: BLE001 - /healthz reports the silence
                log.warning("Bot API health probe failed: %s", type(error).__name__)

    def probe_when_quiet(self, application: App) -> None:
        """A job that keeps "the Bot API answered recently" true while it does.

        Long polling keeps it fresh by itself; a webhook instance may hear nothing
        for hours, so the job asks ``getMe`` when nothing else was asked for a while.
        """
        assert application.job_queue is not None, "install python-telegram-bot[job-queue]"

        async def probe(_context: object) -> None:
            await self.keep_fresh(application.bot)

        application.job_queue.run_repeating(probe, interval=30, first=30, name="api-probe")

    # -- the HTTP endpoint
    async def start_http(self, listen: str) -> bool:
        """Serve ``/healthz`` and ``/metrics`` on ``host:port`` (port 0: any free port; see ``port``).

        When the address cannot be bound (in use, not ours) the bot still runs
        and says so at ERROR: petitions matter more than figures, and the
        health check that cannot connect reports the problem anyway.
        """
        host, port = split_listen(listen)
        app = WebApplication([(r"/healthz", _Health, {"monitor": self}), (r"/metrics", _Metrics, {"monitor": self})])
        try:
            sockets = bind_sockets(port, host, family=socket.AF_UNSPEC)
        except OSError as error:
            log.error("health and metrics endpoint NOT started: cannot listen on %s: %s", listen, error.strerror)
            return False
        self._server = HTTPServer(app, xheaders=False)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        log.info("health and metrics on http://%s:%s/healthz and /metrics", host, self.port)
        return True

    async def stop_http(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None


class _Health(RequestHandler):
    def initialize(self, monitor: Monitor) -> None:
        self.monitor = monitor

    async def get(self) -> None:
        ok, reason = await self.monitor.health()
        self.set_status(200 if ok else 503)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(reason + "\n")


class _Metrics(RequestHandler):
    def initialize(self, monitor: Monitor) -> None:
        self.monitor = monitor

    async def get(self) -> None:
        body = await self.monitor.exposition()
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(body)


class WatchedRequest(BaseRequest):
    """A PTB request object that tells the monitor about every Bot API answer, then passes it on."""

    __slots__ = ("inner", "monitor")

    def __init__(self, inner: BaseRequest, monitor: Monitor) -> None:
        self.inner = inner
        self.monitor = monitor

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await self.inner.do_request(
            url,
            method,
            request_data=request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        self.monitor.api_answered(code)
        return code, payload


class MonitoredApplication(App):
    """PTB's Application, counting each update by type and timing its handling."""

    def __init__(self, *, monitor: Monitor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.monitor = monitor

    async def process_update(self, update: object) -> None:
        self.monitor.updates.labels(type=update_type(update)).inc()
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            self.monitor.latency.observe(time.perf_counter() - started)
