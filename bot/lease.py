"""Which instance works: the lease (PostgreSQL), so several processes can share one database.

With PostgreSQL, any number of ``petition-bot run`` processes may point at
the same database (other machines, other units); exactly one of them is
*active*: it polls Telegram (or serves the webhook), runs the sweep and the
reception reminders and sends the outbox. The others are *standbys*: they
keep their store connection and ``/healthz`` and ``/metrics`` answering
(``petition_active 0``) and try every :data:`RETRY_SECONDS` to become active.

The lease is a session-level advisory lock, ``pg_try_advisory_lock(key)``
(the key names the database and the schema: :data:`LEASE_KEY_SQL`), held on
a connection of its own (never the store's, whose transactions come and
go): PostgreSQL keeps it exactly as long as that connection lives. When
the active process dies, even by SIGKILL, the kernel closes its socket, the
server ends the session and the lock is free for the next standby's try.
The server also probes the lease connection with TCP keepalives set on it
(:data:`KEEPALIVE`), so a machine that vanished from the network frees the
lease in well under a minute instead of the system's two hours.

The other way round: an active process that can no longer show, on that
connection, that it holds the lock (the connection broke, the server
restarted, an operator ran ``pg_terminate_backend``) must stop at once,
since a standby may already be working. :class:`Lease` checks every
:data:`CHECK_SECONDS`; on a failed check it logs at CRITICAL and ends the
process with exit status :data:`EXIT_LEASE_LOST` (no graceful stop, which
could still poll or send): systemd's ``Restart=`` or docker's restart policy
starts it again, as a standby. Until it notices (at most CHECK_SECONDS +
CHECK_TIMEOUT) a standby may have started too; the store's reminders and
sweep marks are written so that two writers at once still queue each
reminder once (tests/test_two_writers.py), and Telegram answers a second
poller with 409.

With SQLite there is no lease: one process owns the file, and
:func:`lease_for` gives a :class:`NoLease` that is held at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: The advisory lock's key, which every instance of one installation computes
#: alike: 64 bits of the md5 of the database's and the schema's names. Advisory
#: locks are database-wide, so two installations in two schemas of one database
#: (or two test runs) each have their own lease.
LEASE_KEY_SQL = (
    "SELECT ('x' || substr(md5('petition-bot lease ' || current_database() || '.'"
    " || coalesce(current_schema(), '')), 1, 16))::bit(64)::bigint"
)
#: How often a standby tries to take the lease.
RETRY_SECONDS = 2.0
#: How often the active instance checks it still holds the lease, and how long one check may take.
CHECK_SECONDS = 1.0
CHECK_TIMEOUT = 5.0
#: Exit status of a process that lost its lease (EX_TEMPFAIL: start it again).
EXIT_LEASE_LOST = 75
#: Server-side TCP keepalives for the lease connection (seconds): a vanished peer
#: is noticed after about idle + interval x count.
KEEPALIVE = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}


class Holder(Protocol):
    """What ``serve`` needs of a lease."""

    async def acquire(self, stop: asyncio.Event) -> bool: ...

    async def release(self) -> None: ...


def lease_for(backend: Any, on_lost: Callable[[str], None] | None = None) -> Holder:
    """The lease for the store ``backend``: advisory lock with PostgreSQL, none with SQLite."""
    if getattr(backend, "dialect", "sqlite") == "postgresql":
        return Lease(backend.path, on_lost=on_lost, store=backend)
    return NoLease()


class NoLease:
    """SQLite: one process per database file, always active."""

    async def acquire(self, stop: asyncio.Event) -> bool:
        return not stop.is_set()

    async def release(self) -> None:
        return None


def exit_now(reason: str) -> None:
    """The default for a lost lease: say why and end the process, non-zero, without a graceful stop."""
    log.critical("the lease is lost (%s): stopping at once so that a standby can take over", reason)
    for stream in (sys.stderr, sys.stdout):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(EXIT_LEASE_LOST)


class Lease:
    """The advisory lock on its own connection, and the watch that keeps it honest."""

    def __init__(
        self,
        url: str,
        *,
        key: int | None = None,
        retry: float = RETRY_SECONDS,
        check: float = CHECK_SECONDS,
        on_lost: Callable[[str], None] | None = None,
        store: Any = None,
    ) -> None:
        self.url = url
        self.store = store  # checked as the lease is taken: a standby's connection may have died meanwhile
        self.key = key  # None: computed on the first connection (LEASE_KEY_SQL)
        self.retry = retry
        self.check = check
        self.on_lost = on_lost or exit_now
        self.conn: Any = None
        self.held = False
        self._watch: asyncio.Task[None] | None = None

    async def _connect(self) -> Any:
        import psycopg  # only PostgreSQL installs come here

        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, application_name="petition-bot lease")
        for name, value in KEEPALIVE.items():
            with contextlib.suppress(psycopg.Error):  # a Unix socket has no TCP keepalives; harmless
                await conn.execute(f"SET {name} = {int(value)}")
        return conn

    async def try_once(self) -> bool:
        """One attempt: True if this process now holds the lease."""
        if self.conn is None or self.conn.closed:
            self.conn = await self._connect()
        if self.key is None:
            cur = await self.conn.execute(LEASE_KEY_SQL)
            row = await cur.fetchone()
            assert row is not None
            self.key = int(row[0])
        cur = await self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
        row = await cur.fetchone()
        return bool(row and row[0])

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this process holds the lease (True), or until ``stop`` is set (False)."""
        waiting_said = False
        while not stop.is_set():
            try:
                got = await self.try_once()
            except Exception as error:  # noqa: BLE001 - the database may come back; keep trying
                log.warning("lease: cannot reach the database (%s: %s); trying again", type(error).__name__, error)
                await self._drop()
                got = False
            if got and not await self._store_answers():
                return False
            if got:
                self.held = True
                log.info("lease taken: this instance is the active one")
                self._watch = asyncio.create_task(self._keep(), name="lease-watch")
                return True
            if not waiting_said:
                log.info("standby: another instance holds the lease; trying every %.0f s", self.retry)
                waiting_said = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.retry)
        return False

    async def _store_answers(self) -> bool:
        """The store's own connection works (it has no reconnect; a fresh process gets a new one)."""
        if self.store is None:
            return True
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                async with self.store.read() as conn:
                    await conn.execute("SELECT 1")
        except Exception as error:  # noqa: BLE001 - whatever it is, this process cannot work
            await self._drop()  # the lock goes back at once
            self.on_lost(f"the store's connection does not answer ({type(error).__name__}: {error})")
            return False
        return True

    async def still_held(self) -> bool:
        """Ask the server, on the lease connection, whether this session holds the lock."""
        assert self.key is not None, "acquire first"
        cur = await self.conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid() AND classid = %s AND objid = %s AND objsubid = 1",
            ((self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF),
        )
        row = await cur.fetchone()
        return bool(row and row[0])

    async def _keep(self) -> None:
        while self.held:
            await asyncio.sleep(self.check)
            if not self.held:
                return
            try:
                async with asyncio.timeout(CHECK_TIMEOUT):
                    ok = await self.still_held()
                reason = "" if ok else "the database says this session no longer holds the lock"
            except Exception as error:  # noqa: BLE001 - any failure means we cannot show we hold it
                reason = f"{type(error).__name__}: {error}".strip()
            if reason and self.held:
                self.held = False
                self.on_lost(reason)
                return

    async def _drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def release(self) -> None:
        """Give the lease up (a clean stop): a standby takes over at its next try."""
        self.held = False
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
            self._watch = None
        await self._drop()  # closing the session releases the lock
