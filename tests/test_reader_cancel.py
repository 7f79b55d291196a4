"""A read cancelled at any point leaves its SQLite reader clean for the next read.

The dashboard reads its parts side by side and stops them when the indicators refuse
the viewer: a read cancelled while its BEGIN was still on the reader's thread used to
put the reader back inside a transaction, and the next request on it failed with
"cannot start a transaction within a transaction" (a 500 for the next page).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from store.db import Database
from store.sqltext import only_row


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 5])
async def test_cancelled_read_leaves_the_reader_clean(tmp_path: Path, steps: int) -> None:
    db = await Database.open(tmp_path / "cases.db", readers=1)
    try:
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE t (x INTEGER)")
            await conn.execute("INSERT INTO t VALUES (1)")
        async with db.read() as conn:  # the reader opened: the steps below count from its BEGIN
            await conn.execute("SELECT 1")

        async def read() -> None:
            async with db.read() as conn:
                async with conn.execute("SELECT x FROM t") as cur:
                    await cur.fetchall()
                await asyncio.sleep(1)

        task = asyncio.ensure_future(read())
        for _ in range(steps):  # cancelled at BEGIN, at the SELECT, or while holding the reader
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The one reader serves the next reads, and each sees the newest committed data.
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES (2)")
        for _ in range(3):
            async with db.read() as conn:
                async with conn.execute("SELECT count(*) FROM t") as cur:
                    assert (await only_row(cur))[0] == 2
    finally:
        await db.close()
