"""What a connection's ``execute`` gives, alike on both backends (``store.sqltext.Cursor`` and ``Row``)."""

from __future__ import annotations

import pytest

from store.services import Services
from store.sqltext import only_row


async def test_a_cursor_and_its_rows_answer_alike_on_both_backends(store: Services) -> None:
    async with store.db.read() as conn:
        async with conn.execute("SELECT 7 AS n, 'x' AS s") as cur:
            assert [column[0] for column in cur.description or ()] == ["n", "s"]
            row = await only_row(cur)
        assert (row[0], row["n"], row[1], row["s"]) == (7, 7, "x", "x")
        assert (row.keys(), list(row), len(row), dict(row)) == (["n", "s"], [7, "x"], 2, {"n": 7, "s": "x"})
        async with conn.execute("SELECT count(*) FROM cases WHERE id < 0") as cur:
            assert (await only_row(cur))[0] == 0
        async with conn.execute("SELECT id FROM cases WHERE id < 0") as cur:
            with pytest.raises(LookupError):
                await only_row(cur)
