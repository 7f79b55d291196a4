"""Migration 0025: PostgreSQL's flags become boolean and its imitations of SQLite's functions go.

A database at the version before it, holding rows with every flag set one way
and the other (a confidential case and its reporter's record, public and
internal events, a drill, a nil screening report, a message of the bot and a
reply to it, an imported and a final case), is upgraded on both backends: each
flag keeps its value, the rules that read them answer as before (scope and
recusal, the petitioner's timeline, the ledger's search, replies to the bot's
messages), and ``petition-bot verify-journal`` passes over the events written
before and after (``public`` is hashed as 1 or 0 whatever the column's type).
SQLite's 0025 changes nothing; its database goes through the same steps.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from store.clock import FakeClock
from store.db import migrations
from store.errors import NotFound
from store.ledger import PersonIn
from store.models import Actor, ActorRole
from store.org import Organization
from store.screening import DisputeIn, ReportState, Risk
from store.services import Services
from store.workflow import Action
from tests.backends import backend_of, execute, fresh_database, rows
from tests.conftest import draft, petitioner
from tests.test_ledger_store import letter
from tests.test_pg_schema import BOOLEAN_FLAGS, before_0026

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)  # plant-1, wages
RECUSED = Actor(id=1002, role=ActorRole.OFFICER)  # the oilfield, recused from plant-2
LEADER = Actor(id=2001, role=ActorRole.LEADER)

#: The flags as migrations 0001-0024 made them on PostgreSQL (the widths of their integers).
FLAG_TYPES = {("screening_reports", "nil"): "INTEGER"}
FLAG_DEFAULTS = {("events", "public"): 1}
#: The functions 0001 and 0009 created, as they were.
IMITATIONS = [
    "CREATE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE STRICT"
    " AS $$ SELECT (doc::jsonb) #>> string_to_array(substr(path, 3), '.') $$",
    "CREATE FUNCTION local_day(ts TEXT) RETURNS TEXT LANGUAGE sql STABLE STRICT AS $$ SELECT"
    " to_char((ts::timestamptz) AT TIME ZONE current_setting('petition.timezone'), 'YYYY-MM-DD') $$",
    "CREATE FUNCTION julianday(day TEXT) RETURNS DOUBLE PRECISION LANGUAGE sql IMMUTABLE STRICT"
    " AS $$ SELECT CAST(CAST(day AS date) - DATE '2000-01-01' AS DOUBLE PRECISION) + 2451544.5 $$",
]


def before_0025(backend: str) -> list[str]:
    """What migrations 0025 and after changed, undone: the schema of the version before 0025 (SQLite's: as it
    is but for 0029's columns)."""
    if backend == "sqlite":
        return before_0026(backend)
    undo = [
        f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT,"
        f" ALTER COLUMN {column} TYPE {FLAG_TYPES.get((table, column), 'BIGINT')}"
        f" USING CASE WHEN {column} THEN 1 ELSE 0 END,"
        f" ALTER COLUMN {column} SET DEFAULT {FLAG_DEFAULTS.get((table, column), 0)}"
        for table, column in sorted(BOOLEAN_FLAGS)
    ]
    return [*before_0026(backend), *undo, *IMITATIONS]


def set_version(target: str, version: int) -> None:
    if backend_of(target) == "sqlite":
        execute(target, f"PRAGMA user_version = {version}")
    else:
        execute(target, "UPDATE schema_version SET version = ?", version)


def flags(target: str) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """Every flag of every row, by table and column: (the row's key, the flag as stored)."""
    keys = {"case_messages": "chat_id, message_id", "screening_reports": "period, unit"}
    return {(table, column): rows(target, f"SELECT {keys.get(table, 'id')}, {column} FROM {table} ORDER BY 1, 2")
            for table, column in sorted(BOOLEAN_FLAGS)}


def verify_journal_cli(capsys: pytest.CaptureFixture[str], target: str) -> tuple[int, str]:
    code = cli.main(["verify-journal", "--db", target, "--lang", "en"])
    out, err = capsys.readouterr()
    return code, out + err


async def test_an_upgraded_database_keeps_every_flag_and_its_rules(
    backend: str, tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fresh_database(backend, tmp_path, "old.db", migrated=True) as target:
        store = await Services.open(target, org, FakeClock())
        try:
            shown = (await store.cases.submit(petitioner(5001), draft(unit="plant-2"), "shown")).case
            hidden = (await store.cases.submit(petitioner(5002), draft(unit="plant-2", confidential=True),
                                               "hidden")).case
            await store.cases.act(RECUSED, shown.number, Action.ACCEPT)
            await store.cases.act(RECUSED, shown.number, Action.NOTE, body="内部备注")  # not on the timeline
            await store.cases.act(RECUSED, shown.number, Action.REPLY, body="请提供工资条")
            await store.staff_work.remember_messages(5001, [800], shown.id)  # the bot's message to the petitioner
            await store.staff_work.relay_reply(5001, 5001, 800, 801, "工资条已上传")  # their reply to it
            registered = (await store.ledger.register(OFFICER, letter())).case
            secret = (await store.ledger.register(
                OFFICER, letter(category="misconduct", people=[PersonIn(name="刘师傅", phone="13800138000")]))).case
            drill = await store.incidents.drill(LEADER, 2)
            declared = await store.incidents.declare(LEADER, hidden.number, 3)  # from a confidential case
            assert await store.screening.nil_report(OFFICER, "plant-1")
            await store.screening.file(RECUSED, "oilfield", DisputeIn(
                type="labour", subject="加班费争议", people=3, risk=Risk.LOW, responsible="王主任", next_step="约谈"))
        finally:
            await store.close()
        # The version before 0025, and flags only older versions set: an imported case, a final one.
        number = next(n for n, name, _ in migrations() if name.endswith("_postgresql_native.sql"))
        # 0026 to 0029, 0031 and 0033 (moments, days and clock times; the told level; the first answer; the
        # changes by month), undone by before_0025 first; 0030 (the table's vacuum settings), 0032 (an
        # index), 0034 (declared types), 0035 and 0036 (indexes) and 0037 (the changes by unit and month,
        # 0033's undone with it) run twice alike; a later one would be undone too.
        assert migrations()[-1][0] == number + 12
        for statement in before_0025(backend):
            execute(target, statement)
        set_version(target, number - 1)
        execute(target, "UPDATE cases SET imported = 1 WHERE id = ?", registered.id)
        execute(target, "UPDATE cases SET final = 1 WHERE id = ?", shown.id)
        before = flags(target)
        assert all(isinstance(v[-1], int) and not isinstance(v[-1], bool) for found in before.values() for v in found)
        assert all({v[-1] for v in found} == {0, 1} for found in before.values()), before  # each flag both ways
        events = rows(target, "SELECT count(*) FROM events")[0][0]

        store = await Services.open(target, org, FakeClock())  # the upgrade
        try:
            assert await store.db.schema_version() == migrations()[-1][0]
            after = flags(target)
            assert {key: [(*v[:-1], int(v[-1])) for v in found] for key, found in after.items()} == before
            if backend == "postgresql":
                assert {type(v[-1]) for found in after.values() for v in found} == {bool}
                assert rows(target, "SELECT proname FROM pg_proc WHERE proname IN ('json_extract', 'local_day',"
                                    " 'julianday') AND pronamespace = current_schema()::regnamespace") == []
            # Recusal reads the confidential flag: the recused officer sees the real-name case only.
            cases, _ = await store.cases.open_cases_for(RECUSED)
            assert shown.number in [c.number for c in cases] and hidden.number not in [c.number for c in cases]
            with pytest.raises(NotFound):
                await store.cases.case_for(RECUSED, hidden.number)
            loaded = await store.cases.case_for(RECUSED, shown.number)
            assert loaded.final is True and loaded.confidential is False
            # The petitioner's timeline: public events only (the note is not one).
            view = await store.self_service.petitioner_case(5001, shown.number)
            assert [e.action for e in view.events] == ["submit", "accept", "reply", "add_info"]
            # A reply to the bot's message is relayed; the petitioner's own message is no bot message.
            assert await store.staff_work.case_id_for_message(5001, 800) == shown.id
            assert await store.staff_work.case_id_for_message(5001, 801) is None
            # The ledger's search never shows a confidential case or its reporter's record.
            found = [f.case.number for f in await store.ledger.find(OFFICER, "刘师傅")]
            assert registered.number in found and secret.number not in found
            assert (await store.incidents.get(LEADER, drill.id)).is_drill
            assert (await store.incidents.get(LEADER, declared.id)).confidential
            assert await store.screening.report_state("plant-1") is ReportState.NIL
            assert await store.screening.report_state("oilfield") is ReportState.FILED
            # New events chain on the old ones, and the journal verifies over both.
            await store.cases.act(RECUSED, shown.number, Action.NOTE, body="升级之后")
            await store.self_service.add_information(5001, shown.number, text="升级之后的补充", key="5001:900")
        finally:
            await store.close()
        code, out = await asyncio.to_thread(verify_journal_cli, capsys, target)
        assert code == 0 and f"OK: {events + 2} events, hash chain intact" in out, out
