"""The store serves chats side by side (store/db.py, store/pg.py), on both backends.

A read does not wait behind a write of the same process, and never sees a
write that is not committed; writes stay one at a time, so a read-then-write
transaction is never interleaved with another.
"""

from __future__ import annotations

import asyncio
import contextlib

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


async def test_a_read_cut_off_midway_leaves_no_answer_behind_for_the_next(store: Services) -> None:
    """A read stopped while it waits for the server (the dashboard stops its other parts when the
    indicators refuse the viewer) must not hand its connection on: on PostgreSQL the answer it left
    unread was once the next borrower's, and a case's record came back empty. Its connection is
    closed instead (the pool opens another); SQLite's reader finishes the statement on its thread."""
    postgres = store.db.dialect == "postgresql"
    slow = "SELECT pg_sleep(0.5)" if postgres else (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT count(*) FROM n")
    mine = "SELECT pg_backend_pid()" if postgres else "SELECT 0"
    async with store.db.transaction() as conn:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('conc-kept', 'here')")
    started = asyncio.Event()
    cut: list[int] = []

    async def cut_off() -> None:
        async with store.db.read() as conn:
            cur = await conn.execute(mine)
            row = await cur.fetchone()
            assert row is not None
            cut.append(int(row[0]))
            started.set()
            await conn.together([("SELECT count(*) FROM meta", None), (slow, None), ("SELECT 1", None)])

    async def kept() -> tuple[int, str | None]:
        async with store.db.read() as conn:
            cur = await conn.execute(mine)
            pid = await cur.fetchone()
            cur = await conn.execute("SELECT value FROM meta WHERE key = 'conc-kept'")
            row = await cur.fetchone()
        assert pid is not None
        return int(pid[0]), None if row is None else str(row[0])

    for _ in range(2):
        started.clear()
        read = asyncio.create_task(cut_off())
        await started.wait()
        await asyncio.sleep(0.1)
        read.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await read
        # Every connection a read is now given answers its own question, and none is the one cut off.
        answers = await asyncio.gather(*(kept() for _ in range(12)))
        assert [value for _, value in answers] == ["here"] * 12
        if postgres:
            assert cut[-1] not in {pid for pid, _ in answers}
