"""The lease (bot/lease.py): one holder at a time, a lost lease noticed at once, a standby's health."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.lease import Lease, NoLease, lease_for
from bot.metrics import Monitor
from store.org import load_org
from store.pg import PgDatabase
from store.services import Services
from tests.backends import fresh_database, pg_url, require_pg

ORG_FILE = Path(__file__).with_name("org_fixture.toml")
KEY = 0x7465_7374_6C65_6173  # not the bot's own key: a running bot elsewhere is not disturbed


@pytest.mark.postgresql
async def test_one_holder_at_a_time_and_the_next_takes_it_when_it_frees() -> None:
    require_pg()
    stop = asyncio.Event()
    first, second = Lease(pg_url(), key=KEY, retry=0.05), Lease(pg_url(), key=KEY, retry=0.05)
    try:
        assert await first.acquire(stop)
        assert await first.still_held()
        assert not await second.try_once()
        waiting = asyncio.create_task(second.acquire(stop))
        await asyncio.sleep(0)
        assert not waiting.done()
        await first.release()
        assert await asyncio.wait_for(waiting, 10)
        assert await second.still_held()
    finally:
        await first.release()
        await second.release()


@pytest.mark.postgresql
async def test_a_standby_stops_waiting_when_told_to_stop() -> None:
    require_pg()
    holder, waiter = Lease(pg_url(), key=KEY), Lease(pg_url(), key=KEY, retry=0.05)
    stop = asyncio.Event()
    try:
        assert await holder.acquire(asyncio.Event())
        waiting = asyncio.create_task(waiter.acquire(stop))
        stop.set()
        assert await asyncio.wait_for(waiting, 10) is False
    finally:
        await holder.release()
        await waiter.release()


@pytest.mark.postgresql
async def test_an_active_instance_whose_lease_connection_dies_is_told_at_once() -> None:
    require_pg()
    lost: list[str] = []
    active = Lease(pg_url(), key=KEY, check=0.05, on_lost=lost.append)
    other = Lease(pg_url(), key=KEY)
    try:
        assert await active.acquire(asyncio.Event())
        assert not await other.try_once()
        await other.conn.execute("SELECT pg_terminate_backend(%s)", (active.conn.info.backend_pid,))
        for _ in range(200):
            if lost:
                break
            await asyncio.sleep(0.05)
        assert len(lost) == 1 and lost[0], lost
        assert not active.held
        assert await other.try_once()  # the lock went with the session
    finally:
        await active.release()
        await other.release()


async def test_sqlite_has_no_lease(tmp_path: Path) -> None:
    services = await Services.open(tmp_path / "cases.db", load_org(ORG_FILE))
    try:
        holder = lease_for(services.db)
        assert isinstance(holder, NoLease)
        assert await holder.acquire(asyncio.Event())
    finally:
        await services.close()


@pytest.mark.postgresql
async def test_a_standby_is_healthy_and_says_so_an_active_one_needs_the_bot_api(tmp_path: Path) -> None:
    async with fresh_database("postgresql", tmp_path) as url:
        services = await Services.open(url, load_org(ORG_FILE))
        try:
            assert isinstance(lease_for(services.db), Lease)
            monitor = Monitor()
            monitor.attach(services)
            monitor.set_active(False)
            ok, reason = await monitor.health()
            assert ok and reason.startswith("standby"), reason
            assert b"petition_active 0.0" in await monitor.exposition()
            monitor.set_active(True)
            ok, reason = await monitor.health()
            assert not ok and "Bot API" in reason, reason
            assert b"petition_active 1.0" in await monitor.exposition()
        finally:
            await services.close()


@pytest.mark.postgresql
async def test_each_installation_has_its_own_lease_and_a_negative_key_is_checked(tmp_path: Path) -> None:
    """The key is the database's and schema's: two schemas (installations, test runs) never wait for each other."""
    async with fresh_database("postgresql", tmp_path, "one") as one, fresh_database("postgresql", tmp_path, "two") as two:
        stop = asyncio.Event()
        a, a2, b = Lease(one, check=0.05), Lease(one), Lease(two)
        try:
            assert await a.acquire(stop) and await b.acquire(stop)
            assert a.key != b.key
            assert not await a2.try_once() and a2.key == a.key
            assert await a.still_held() and await b.still_held()
        finally:
            for lease in (a, a2, b):
                await lease.release()
    negative = Lease(pg_url(), key=-0x1234_5678_9ABC_DEF0)
    try:
        assert await negative.acquire(asyncio.Event())
        assert await negative.still_held()
    finally:
        await negative.release()


@pytest.mark.postgresql
async def test_a_standby_whose_store_connection_died_does_not_take_over_with_it(tmp_path: Path) -> None:
    async with fresh_database("postgresql", tmp_path) as url:
        services = await Services.open(url, load_org(ORG_FILE))
        lost: list[str] = []
        holder = lease_for(services.db, lost.append)
        other = Lease(url)
        try:
            assert isinstance(services.db, PgDatabase)
            await services.db.pool.close()  # as if the server had ended its connections while the standby waited
            assert await holder.acquire(asyncio.Event()) is False
            assert len(lost) == 1 and "store" in lost[0], lost
            assert await other.try_once()  # the lock was given back at once
        finally:
            await holder.release()
            await other.release()
            await services.close()
