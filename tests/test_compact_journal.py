"""The compact journal (migration 0023): new events keep a 32-byte digest, old ones their hex; one chain.

A database written as before the migration (hex ``hash`` and ``prev_hash``,
``data`` with spaces) is upgraded, then gets new events: no stored event
changes, every event still reads, and ``petition-bot verify-journal`` passes
over the old and the new rows, on both backends. A change to a compact row,
or a row taken out, is still found.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from bench.index_usage import usage
from bot import cli
from store import journal
from store.clock import FakeClock, hashed_moment
from store.db import migrations
from store.models import Actor, ActorRole, Decision
from store.org import Organization
from store.services import Services
from store.workflow import Action
from tests.backends import backend_of, execute, fresh_database, rows
from tests.conftest import OPINION_PARTS, draft, petitioner, trace_sql
from tests.test_postgresql_native import before_0025

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)
#: What migration 0023 changed, undone: the schema of the version before it.
BEFORE_0023 = [
    "ALTER TABLE events DROP COLUMN digest",
    "DROP INDEX events_first_answer",
    "CREATE INDEX events_by_action ON events (action, case_id, at)",
    "DROP INDEX cases_by_status_unit",
    "CREATE INDEX cases_queue ON cases (status, unit, category, kind, answer_due, accept_due, review_due, rereview_due)",
    "CREATE INDEX cases_by_status ON cases (status, accept_due, answer_due)",
]

#: What migrations after 0023 added, undone too: they run again after it.
AFTER_0023 = {"review_parts": ["ALTER TABLE review_drafts DROP COLUMN request",
                               "ALTER TABLE review_drafts DROP COLUMN facts",
                               "ALTER TABLE review_drafts DROP COLUMN basis"]}


def compact_number() -> int:
    return next(n for n, name, _ in migrations() if "compact_journal" in name)  # the integrator may renumber it


def verify_journal_cli(capsys: pytest.CaptureFixture[str], target: str) -> tuple[int, str]:
    code = cli.main(["verify-journal", "--db", target, "--lang", "en"])
    out, err = capsys.readouterr()
    return code, out + err


async def some_events(store: Services, key: str, who: int, *, transfer: bool = False) -> str:
    number = (await store.cases.submit(petitioner(who), draft(subject="工资 “拖欠”"), key)).case.number
    await store.cases.act(OFFICER, number, Action.ACCEPT)
    await store.cases.act(OFFICER, number, Action.REPLY, body="请提供工资条")
    if transfer:
        await store.cases.act(OFFICER, number, Action.TRANSFER, unit="plant-2", body="属二厂管辖")
    else:
        await store.cases.act(OFFICER, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="支持：补发加班费")
    return number


def test_the_hash_is_the_same_whatever_the_storage() -> None:
    content = {"id": 7, "case_id": 3, "at": "2026-11-20T02:00:00.000000+00:00", "actor_id": None,
               "actor_role": "system", "action": "close", "status_after": "closed", "body": None,
               "data": "{}", "public": 0}
    expected = hashlib.sha256(
        (journal.GENESIS + json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
        .encode()).hexdigest()
    assert journal.event_hash(journal.GENESIS, content) == expected
    # A row written to the second (since 0035) hashes its moment in the form of before: the same rule.
    assert journal.event_hash(journal.GENESIS, {**content, "at": "2026-11-20T02:00:00Z"}) == expected
    raw = bytes.fromhex(expected)
    for stored in ({"hash": expected}, {"hash": expected.upper()}, {"hash": "", "digest": raw},
                   {"hash": "", "digest": memoryview(raw)}, {"hash": raw}):
        assert journal.stored_hash(stored) == expected, stored
    # A column read back as numbers of another width, or as a parsed document (jsonb), hashes the same.
    row = {**content, "public": False, "data": {}, "hash": expected}
    assert journal.event_hash(journal.GENESIS, journal._content(row)) == expected
    payload = {"b": "乙", "a": [1, None]}
    assert journal.data_text(payload) == '{"a":[1,null],"b":"乙"}'
    assert journal.data_text(payload, compact=False) == '{"a": [1, null], "b": "乙"}'  # as before 0023


async def test_an_upgraded_database_chains_old_and_new_events(
    backend: str, tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with fresh_database(backend, tmp_path, "old.db") as target:
        # The journal as it was written before migration 0023: hex text, data with spaces.
        with monkeypatch.context() as before:
            before.setattr(journal, "COMPACT", frozenset())
            store = await Services.open(target, org, FakeClock())
            old_number = await some_events(store, "old", 5001)
            await some_events(store, "old-transferred", 5003, transfer=True)
            open_number = (await store.cases.submit(petitioner(5002), draft(), "old-open")).case.number
            await store.close()
        number = compact_number()
        later = [sql for n, name, _ in reversed(migrations()) if n > number
                 for key, statements in {**AFTER_0023, "postgresql_native": before_0025(backend)}.items()
                 if key in name for sql in statements]
        for statement in [*later, *BEFORE_0023]:
            execute(target, statement)
        if backend == "sqlite":
            execute(target, f"PRAGMA user_version = {number - 1}")
        else:
            execute(target, "UPDATE schema_version SET version = ?", number - 1)
        old_rows = rows(target, "SELECT * FROM events ORDER BY id")
        assert old_rows and all(len(r[-1]) == 64 and len(r[-2]) == 64 for r in old_rows)  # prev_hash, hash
        assert any(", " in r[8] or ": " in r[8] for r in old_rows)  # data as it was stored
        assert (await asyncio.to_thread(verify_journal_cli, capsys, target))[0] == 0

        store = await Services.open(target, org, FakeClock())  # the upgrade
        try:
            assert await store.db.schema_version() == migrations()[-1][0]
            # No stored event rewritten (PostgreSQL reads a whole second back as the store writes it now, …Z).
            def instants(found: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
                return [(*r[:2], hashed_moment(r[2]), *r[3:]) for r in found]
            assert instants(rows(target, "SELECT * FROM events ORDER BY id")[:len(old_rows)]) == instants(
                [(*r, None) for r in old_rows])
            new_number = await some_events(store, "new", 5004)
            await store.cases.act(OFFICER, open_number, Action.ACCEPT)  # an old case goes on
            new_rows = rows(target, "SELECT id, prev_hash, hash, digest, data FROM events WHERE id > ? ORDER BY id",
                            len(old_rows))
            assert len(new_rows) >= 5
            for _, prev_hash, hash_, digest, data in new_rows:
                assert prev_hash == "" and hash_ == "" and len(bytes(digest)) == 32
                assert ", " not in data and ": " not in data
            code, out = await asyncio.to_thread(verify_journal_cli, capsys, target)
            assert code == 0 and f"OK: {len(old_rows) + len(new_rows)} events, hash chain intact" in out
            # Old and new events read the same way.
            old_case_id, new_case_id = (rows(target, "SELECT id FROM cases WHERE number = ?", n)[0][0]
                                        for n in (old_number, new_number))
            old_timeline = await store.cases.timeline(old_case_id, public_only=False)
            new_timeline = await store.cases.timeline(new_case_id, public_only=False)
            assert [e.action for e in old_timeline] == ["submit", "accept", "reply", "decide"]
            assert [e.action for e in new_timeline] == ["submit", "accept", "reply", "decide"]
            assert old_timeline[3].data == new_timeline[3].data == {"decision": "support", "parts": OPINION_PARTS.model_dump()}
            transferred = await store.cases.event(8)
            assert transferred is not None and transferred.data == {"from_unit": "plant-1", "to_unit": "plant-2"}
            assert new_timeline[2].body == "请提供工资条" and new_timeline[3].body == "支持：补发加班费"
        finally:
            await store.close()

        # A changed compact row is found, as a changed old one is.
        last = int(rows(target, "SELECT max(id) FROM events")[0][0])
        if backend == "sqlite":
            execute(target, "DROP TRIGGER events_append_only_update")
        else:
            execute(target, "DROP TRIGGER events_append_only_update ON events")
        execute(target, "UPDATE events SET body = '已解决' WHERE id = ?", last - 1)
        code, out = await asyncio.to_thread(verify_journal_cli, capsys, target)
        assert code != 0 and str(last - 1) in out


async def test_a_compact_row_taken_out_breaks_the_chain(store: Services) -> None:
    for who, key in enumerate("ab"):
        await some_events(store, key, 5001 + who)
    assert (await store.verify_journal()).ok
    if backend_of(store) == "sqlite":
        execute(store, "DROP TRIGGER events_append_only_delete")
    else:
        execute(store, "DROP TRIGGER events_append_only_delete ON events")
    execute(store, "DELETE FROM outbox WHERE event_id = 3")
    execute(store, "DELETE FROM events WHERE id = 3")
    broken = await store.verify_journal()
    assert not broken.ok and broken.broken_event_id == 4


async def test_the_trace_records_what_the_stores_connections_run(
    tmp_path: Path, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/sqltrace.py: the writer's and the readers' statements, each query once, arguments inlined."""
    trace = tmp_path / "trace.jsonl"
    trace_sql(monkeypatch, trace)
    store = await Services.open(tmp_path / "traced.db", org, FakeClock())
    try:
        for i in range(2):
            await store.cases.submit(petitioner(5001 + i), draft(), f"k{i}")
        assert (await store.indicators.indicators(Actor(id=9001, role=ActorRole.ADMIN))).rows
    finally:
        await store.close()
    found = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    inserts = [sql for sql in found if sql.startswith("INSERT INTO cases")]
    assert len(inserts) == 1 and "'plant-1'" in inserts[0]  # two submissions, one query; its values inlined
    assert any("first_answer_at" in sql for sql in found)  # the indicators, on a reader


async def test_index_usage_names_the_index_each_traced_query_uses(store: Services, tmp_path: Path) -> None:
    """bench/index_usage.py: EXPLAIN QUERY PLAN of traced statements, collected by index (docs/benchmarks.md)."""
    if backend_of(store) != "sqlite":
        return
    await some_events(store, "k", 5001)
    trace = tmp_path / "trace.jsonl"
    statements = ["SELECT * FROM events WHERE case_id = 1 ORDER BY id",
                  "SELECT id FROM cases WHERE decided_at >= '2026-11-01' AND decided_at < '2026-12-01'",
                  "SELECT * FROM events WHERE case_id = 2 ORDER BY id",  # the same query: counted once
                  "SELECT count(*) FROM cases WHERE status IN ('submitted', 'accepted') AND unit IN ('plant-1')"]
    trace.write_text("".join(json.dumps(s) + "\n" for s in statements), encoding="utf-8")
    found = usage(trace, Path(store.db.path), ["cases", "events"])
    assert found["queries_explained"] == 3
    assert found["indexes"]["events_by_case"]["queries"] == 1
    assert found["indexes"]["cases_by_decided"]["queries"] == 1
    assert found["indexes"]["cases_by_status_unit"]["queries"] == 1
    assert "cases_by_rank_day" in found["unused"] and "sqlite_autoindex_cases_1" not in found["unused"]
