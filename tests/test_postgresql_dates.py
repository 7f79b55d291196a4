"""Migration 0026: PostgreSQL's moments become ``timestamptz`` and its days ``date``.

A database at the version before it, holding the rows a working office writes
(petitions and their events, notices, a registered letter with its people, an
incident, a screening report, a reception booking) and a sealed person's record
marked the way an older vault step marked it (``vault-4``), is upgraded on both
backends. Every moment and every day reads back as the very text it was, the
marker becomes a moment, the columns have PostgreSQL's own types, and
``petition-bot verify-journal`` passes over the events written before and after.
SQLite's 0026 changes nothing; its database goes through the same steps.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from store.clock import FakeClock
from store.db import migrations
from store.ledger import PersonIn
from store.models import Actor, ActorRole
from store.org import Organization
from store.screening import DisputeIn, Risk
from store.services import Services
from store.workflow import Action
from tests.backends import execute, fresh_database, rows
from tests.conftest import draft, petitioner
from tests.test_ledger_store import letter
from tests.test_pg_schema import DAYS, MOMENTS, before_0026
from tests.test_postgresql_native import set_version, verify_journal_cli

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)
LEADER = Actor(id=2001, role=ActorRole.LEADER)
MARKED = 777_000_001  # the hid of the person an older vault step marked instead of dating


def temporal(target: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every moment and day of every table, as read: rows in the order of their values (the marked person apart),
    each moment as the instant it names (PostgreSQL reads a whole second back as ``…Z``, store/pg.py)."""
    columns: dict[str, list[str]] = {}
    # told_due, first_answer_at: 0029's and 0031's, undone before
    for table, column in sorted((MOMENTS | DAYS) - {("cases", "told_due"), ("cases", "first_answer_at")}):
        columns.setdefault(table, []).append(column)
    found = {}
    for table, names in columns.items():
        where = f" WHERE hid <> {MARKED}" if table == "people" else ""
        listed = ", ".join(names)
        found[table] = [tuple(_instant(v) for v in row)
                        for row in rows(target, f"SELECT {listed} FROM {table}{where} ORDER BY {listed}")]
    return found


def _instant(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) and len(value) > 10 else value


def types(target: str) -> dict[tuple[str, str], str]:
    return {(t, c): kind for t, c, kind in rows(
        target, "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = current_schema()")}


async def test_an_upgraded_database_reads_every_moment_and_day_as_before(
    backend: str, tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fresh_database(backend, tmp_path, "old.db", migrated=True) as target:
        clock = FakeClock()
        store = await Services.open(target, org, clock)
        try:
            case = (await store.cases.submit(petitioner(5001), draft(unit="plant-1"), "k1")).case
            await store.cases.act(OFFICER, case.number, Action.ACCEPT)
            clock.advance(days=3, hours=5, microseconds=123_456)  # a fraction the store drops (to the second, 0035)
            await store.cases.act(OFFICER, case.number, Action.REPLY, body="请提供工资条")
            clock.advance(seconds=7.5)
            await store.self_service.add_information(5001, case.number, text="工资条", key="5001:1")
            clock.advance(minutes=42, microseconds=9)
            await store.ledger.register(
                OFFICER, letter(people=[PersonIn(name="刘师傅", phone="13800138000")]))
            await store.incidents.declare(LEADER, case.number, 3)
            await store.screening.file(OFFICER, "plant-1", DisputeIn(
                type="labour", subject="加班费争议", people=3, risk=Risk.LOW, responsible="王主任", next_step="约谈"))
        finally:
            await store.close()
        number = next(n for n, name, _ in migrations() if name.endswith("_postgresql_dates.sql"))
        for statement in before_0026(backend):
            execute(target, statement)
        set_version(target, number - 1)
        execute(target, "INSERT INTO people (hid, sealed, updated_at) VALUES (?, ?, ?)", MARKED, "sealed", "vault-4")
        before = temporal(target)
        assert all(before[t] for t in ("cases", "events", "outbox", "claim_codes", "incidents", "disputes")), before
        moments = {v for found in before.values() for row in found for v in row if isinstance(v, datetime)}
        assert len(moments) >= 4 and all(m.utcoffset() == timedelta(0) for m in moments), moments
        assert datetime(2026, 11, 5, 6, 42, 7, tzinfo=UTC) in moments, moments  # to the second (0035)
        events = rows(target, "SELECT count(*) FROM events")[0][0]

        store = await Services.open(target, org, clock)  # the upgrade
        try:
            assert await store.db.schema_version() == migrations()[-1][0]  # 0026, then the later ones
            assert temporal(target) == before
            (marked,), = rows(target, f"SELECT updated_at FROM people WHERE hid = {MARKED}")
            assert datetime.fromisoformat(marked).tzinfo is not None  # a moment now, whatever the backend
            if backend == "postgresql":
                found = types(target)
                assert {found[c] for c in MOMENTS} == {"timestamp with time zone"}
                assert {found[c] for c in DAYS} == {"date"}
                assert datetime.fromisoformat(marked) <= datetime.now(UTC)
            # The rules that count days and compare moments answer as before the upgrade.
            loaded = await store.cases.case_for(OFFICER, case.number)
            assert loaded.answer_due is not None and loaded.accepted_at is not None
            await store.cases.act(OFFICER, case.number, Action.NOTE, body="升级之后")
        finally:
            await store.close()
        code, out = await asyncio.to_thread(verify_journal_cli, capsys, target)
        assert code == 0 and f"OK: {events + 1} events, hash chain intact" in out, out
