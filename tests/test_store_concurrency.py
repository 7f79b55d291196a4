"""The store serves chats side by side (store/db.py, store/pg.py), on both backends.

A read does not wait behind a write of the same process, and never sees a
write that is not committed; writes stay one at a time, so a read-then-write
transaction is never interleaved with another.
"""

from __future__ import annotations

import asyncio

from store.services import Services


async def _count(store: Services) -> int:
    async with store.db.read() as conn:
        cur = await conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'conc-%'")
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_a_read_does_not_wait_behind_a_write_nor_see_it_before_commit(store: Services) -> None:
    inside, release = asyncio.Event(), asyncio.Event()

    async def slow_write() -> None:
        async with store.db.transaction() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('conc-1', 'x')")
            inside.set()
            await release.wait()

    writer = asyncio.create_task(slow_write())
    await inside.wait()
    # The write is still open: the read is answered now, from what is committed.
    assert await asyncio.wait_for(_count(store), 30) == 0
    assert not writer.done()
    release.set()
    await writer
    assert await _count(store) == 1


async def test_writes_stay_one_at_a_time_and_reads_run_side_by_side(store: Services) -> None:
    log: list[str] = []

    async def write(n: int) -> None:
        async with store.db.transaction() as conn:
            log.append(f"begin {n}")
            cur = await conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'conc-%'")
            row = await cur.fetchone()
            assert row is not None
            await asyncio.sleep(0)
            await conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"conc-{n}", str(row[0])))
            log.append(f"end {n}")

    await asyncio.gather(*(write(n) for n in range(6)), *(_count(store) for _ in range(12)))
    # Never two write transactions at once: each began after the one before it ended.
    assert log == [entry for n in range(6) for entry in (f"begin {n}", f"end {n}")]
    async with store.db.read() as conn:
        cur = await conn.execute("SELECT value FROM meta WHERE key LIKE 'conc-%' ORDER BY key")
        seen = [row[0] for row in await cur.fetchall()]
    assert seen == [str(n) for n in range(6)]  # each read-then-write saw every write before it
