"""PostgreSQL plans every statement with its values, also once psycopg has prepared it.

psycopg prepares a statement on the server after five executions on a connection; PostgreSQL then
soon switches to a generic plan, one made without the parameters' values. For the queue's count that
plan costs twice the time at a million cases (docs/benchmarks.md): a scope's ``unit IN (?, ?, …)``
becomes an array built again for every index entry and searched in turn, where a plan made with the
values searches a hashed constant. The pool's sessions set ``plan_cache_mode = force_custom_plan``
(``store.pg.SESSION``).
"""

from __future__ import annotations

import pytest

from store.models import Actor, ActorRole
from store.services import Services
from store.supervision import queue_sql

OILFIELD_OFFICER = Actor(id=1002, role=ActorRole.OFFICER)  # tests/org_fixture.toml: the oilfield and its plants


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_prepared_queue_count_is_still_planned_with_its_values(store: Services) -> None:
    scope, args = store.context.read_scope(OILFIELD_OFFICER)
    assert "unit IN" in scope  # a scope with a list of units: what a generic plan makes slow
    count = f"SELECT count(*) FROM cases WHERE queue_rank IS NOT NULL AND queue_rank >= 0 AND {scope}"
    async with store.db.read() as conn:
        for _ in range(12):  # psycopg prepares it after five; PostgreSQL would go generic after five more
            async with conn.execute(count, args) as cur:
                assert [tuple(row) for row in await cur.fetchall()] == [(0,)]
            async with conn.execute(queue_sql(scope), [*args, 10, 0]) as cur:
                assert await cur.fetchall() == []
        async with conn.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE 'SELECT count(*) FROM cases WHERE queue_rank%'"
            " OR statement LIKE 'SELECT * FROM cases WHERE queue_rank%'"
        ) as cur:
            prepared = await cur.fetchall()
    assert len(prepared) == 2, prepared  # both prepared on the server by now
    assert all(row["generic_plans"] == 0 and row["custom_plans"] >= 5 for row in prepared), prepared
