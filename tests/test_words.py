"""People's words stored compactly on SQLite (store/words.py, migration 0034), read back as written.

What is checked: every text comes back exactly (any Unicode); Chinese takes
two bytes a character or fewer on disk, English stays text; the store writes
cases' and events' words compactly and reads them back, in its models, its
search and its journal check, on both backends; a database upgraded from
schema 33 keeps its old rows as they were and reads old and new alike.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import cli
from store.clock import FakeClock
from store.db import Database, migrations
from store.desk import DeskQuery, DeskService
from store.models import Actor, ActorRole, Decision
from store.org import Organization
from store.services import Services
from store.words import DEFLATED, GB18030, Words, pack, unpack
from store.workflow import Action
from tests.backends import backend_of, execute, fresh_database, rows
from tests.conftest import OPINION_PARTS, draft, petitioner

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)
#: A petition's details as people write them: words come back, as in any prose.
DETAILS = ("本人系采油二厂作业区员工，2026年8月至10月期间，单位安排我们连续加班，每月加班时间超过60小时，"
           "但加班费至今未发放。我们多次向作业区领导反映，领导答复说要等厂里统一研究，至今没有结果。"
           "希望公司核实加班情况，按规定补发加班费，并规范今后的加班审批和加班费发放。") * 2


def stored(value: str) -> str | bytes:
    """What sqlite3 hands SQLite for a value the store marks as people's words."""
    adapted = sqlite3.adapters[(Words, sqlite3.PrepareProtocol)](Words(value))
    assert isinstance(adapted, str | bytes)
    return adapted


def test_a_text_sqlite_cannot_store_is_left_to_sqlite_to_refuse() -> None:
    assert pack("\ud800") == "\ud800"  # a lone surrogate: sqlite3 refuses it when it binds it, as before
    with pytest.raises(UnicodeEncodeError), sqlite3.connect(":memory:") as conn:
        conn.execute("SELECT ?", (Words("\ud800"),))


@given(st.text())
def test_every_text_comes_back_as_it_was_written(text: str) -> None:
    packed = pack(text)
    assert (unpack(packed) if isinstance(packed, bytes) else packed) == text
    assert isinstance(packed, str) or len(packed) < len(text.encode("utf-8"))  # a blob only where it is shorter


def test_chinese_is_kept_in_two_bytes_a_character_or_fewer_and_english_as_text() -> None:
    subject = "加班费未发放"
    assert pack(subject) == bytes((GB18030,)) + subject.encode("gb18030")
    assert len(pack(subject)) == 1 + 2 * len(subject)  # 13 bytes, not 18
    long = pack(DETAILS)
    assert isinstance(long, bytes) and long[0] == DEFLATED and unpack(long) == DETAILS
    assert len(long) < 0.5 * len(DETAILS.encode("utf-8"))  # prose repeats itself: deflated, under half
    for text in ("Overtime pay not received since October.", "", "13800138000", "{}"):
        assert pack(text) == text  # nothing shorter than UTF-8: kept as the text it is
    rare = "𠀀𪚥 龘 😀 — café"  # outside the BMP, an emoji, Latin with an accent
    packed = pack(rare)
    assert (unpack(packed) if isinstance(packed, bytes) else packed) == rare
    # Stored UTF-8 text (a row written before migration 0034) reads as itself.
    assert unpack("旧的文字".encode()) == "旧的文字"
    assert stored(subject) == pack(subject)  # the store's values go through pack on SQLite


async def test_a_case_and_its_events_are_kept_compactly_and_read_back_as_written(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(details=DETAILS), "k")).case
    await store.cases.act(OFFICER, case.number, Action.ACCEPT)
    await store.cases.act(OFFICER, case.number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT,
                          body="经核实，您反映的加班费问题属实，已责成单位在十五个工作日内补发。")
    # What the store reads: the text as written, in the case and in its journal.
    again = await store.cases.case_by_id(case.id)
    assert again is not None and again.subject == "加班费未发放" and again.details == DETAILS
    timeline = await store.cases.timeline(case.id, public_only=False)
    assert timeline[-1].body == "经核实，您反映的加班费问题属实，已责成单位在十五个工作日内补发。"
    assert timeline[-1].data == {"decision": "support", "parts": OPINION_PARTS.model_dump()}
    assert (await store.verify_journal()).ok
    # The search looks into the details, deflated or not.
    found, _ = await DeskService(store.context).cases(ADMIN, DeskQuery(q="审批", state="all"))
    assert [c.number for c in found] == [case.number]
    # What the database holds.
    if backend_of(store) == "postgresql":  # text, as before: PostgreSQL's columns are unchanged
        assert rows(store, "SELECT details FROM cases") == [(DETAILS,)]
        return
    with sqlite3.connect(store.db.path) as raw:  # no converters: the stored bytes themselves
        subject, details = raw.execute("SELECT subject, details FROM cases").fetchone()
        (body, data), = raw.execute("SELECT body, data FROM events WHERE action = 'decide'").fetchall()
    assert isinstance(subject, bytes) and isinstance(details, bytes)
    assert subject[0] == GB18030 and unpack(subject) == "加班费未发放"
    assert details[0] == DEFLATED and len(details) < len(DETAILS.encode()) / 2
    assert isinstance(body, bytes) and isinstance(data, bytes) and len(data) < len(json.dumps(timeline[-1].data, ensure_ascii=False).encode())


def _undo_0034(path: str) -> None:
    """The schema of version 33 on SQLite: the columns declared TEXT again (no row touched)."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_schema SET sql = replace(sql, 'WORDS TEXT', 'TEXT')"
                     " WHERE type = 'table' AND name IN ('cases', 'events')")
        conn.execute(f"PRAGMA schema_version = {version + 1}")
        conn.execute("PRAGMA writable_schema = OFF")
        conn.execute("PRAGMA user_version = 33")


async def test_an_upgraded_database_keeps_its_old_rows_and_reads_old_and_new_alike(
    backend: str, tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The later ones run twice alike (0035, 0036: indexes; 0037: the changes by unit and month, and indexes).
    assert [name for _, name, _ in migrations()][33:] == [
        "0034_words_compact.sql", "0035_moments_to_the_second.sql", "0036_open_cases_by_unit.sql",
        "0037_unit_month_changes.sql"]
    async with fresh_database(backend, tmp_path, "old.db") as target:
        with monkeypatch.context() as before:  # written as the store wrote before 0034: UTF-8 text
            before.setitem(sqlite3.adapters, (Words, sqlite3.PrepareProtocol), str)  # type: ignore[misc]
            store = await Services.open(target, org, FakeClock())
            old = (await store.cases.submit(petitioner(5001), draft(details=DETAILS), "old")).case
            await store.cases.act(OFFICER, old.number, Action.ACCEPT)
            await store.cases.act(OFFICER, old.number, Action.REPLY, body="请提供考勤记录。")
            await store.close()
        if backend == "sqlite":
            _undo_0034(target)
            old_rows = rows(target, "SELECT typeof(subject), typeof(details), subject FROM cases")
            assert old_rows == [("text", "text", "加班费未发放")]
        else:
            execute(target, "DROP FUNCTION words(text)")
            execute(target, "UPDATE schema_version SET version = 33")
        events_before = rows(target, "SELECT * FROM events ORDER BY id")

        store = await Services.open(target, org, FakeClock())  # the upgrade
        try:
            assert await store.db.schema_version() == migrations()[-1][0]
            new = (await store.cases.submit(petitioner(5002), draft(details=DETAILS), "new")).case
            await store.cases.act(OFFICER, new.number, Action.ACCEPT)
            await store.cases.act(OFFICER, old.number, Action.REPLY, body="已收到考勤记录，正在核实。")  # an old case goes on
            assert rows(target, "SELECT * FROM events ORDER BY id")[:len(events_before)] == events_before
            for number in (old.number, new.number):
                case = await store.cases.case_for(ADMIN, number)
                assert case.subject == "加班费未发放" and case.details == DETAILS
            replies = [e.body for e in await store.cases.timeline(old.id, public_only=False) if e.action == "reply"]
            assert replies == ["请提供考勤记录。", "已收到考勤记录，正在核实。"]
            found, _ = await DeskService(store.context).cases(ADMIN, DeskQuery(q="审批", state="all"))
            assert {c.number for c in found} == {old.number, new.number}
        finally:
            await store.close()
        code = await asyncio.to_thread(cli.main, ["verify-journal", "--db", target, "--lang", "en"])
        assert code == 0 and "hash chain intact" in capsys.readouterr().out
        if backend == "sqlite":
            assert rows(target, "SELECT typeof(subject), typeof(details) FROM cases ORDER BY id") == [
                ("text", "text"), ("blob", "blob")]  # the old row as it was, the new one compact
            assert rows(target, "PRAGMA integrity_check") == [("ok",)]
            declared = {name: kind for _, name, kind, *_ in rows(target, "PRAGMA table_info(cases)")}
            assert declared["subject"] == declared["details"] == "WORDS TEXT" and declared["number"] == "TEXT"


async def test_a_file_whose_words_are_not_declared_is_refused(tmp_path: Path) -> None:
    """Were 0034's edit of the schema's text to find nothing to edit, the store would write compact values
    it then read back as bytes: it refuses to open such a file instead, naming the columns."""
    path = tmp_path / "odd.db"
    db = await Database.open(path)
    await db.close()
    _undo_0034(str(path))
    execute(path, "PRAGMA user_version = 34")  # as if 0034 had run and edited nothing
    with pytest.raises(RuntimeError, match=r"cases\.subject, details, desired_outcome not declared WORDS TEXT"):
        await Database.open(path)
