"""A high-risk dispute in the screening register opens the group-incident plan when enough people are involved.

Organisation: tests/org_fixture.toml (plan: level 1 ≥ 100 people, 2 ≥ 50, 3 ≥ 20; officer 1001 files for plant-1).
The wiring is ``Services.build``: a ``DisputeHighRisk`` event hands the dispute to ``incidents.open_for``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from store.clock import FakeClock
from store.models import Actor, ActorRole
from store.org import Organization
from store.screening import DisputeIn, DisputeStatus, Risk
from store.services import Services
from tests.conftest import rows

OFFICER_P1 = Actor(id=1001, role=ActorRole.OFFICER)


def entry(risk: str, people: int) -> DisputeIn:
    return DisputeIn.model_validate({
        "type": "labour", "subject": "外包工工资拖欠", "people": people, "risk": risk,
        "status": "screening", "responsible": "王干事", "next_step": "约谈外包单位",
    })


def incidents(store: Services) -> list[tuple[object, ...]]:
    return rows(store, "SELECT source_kind, source_ref, unit, level, people, is_drill, status FROM incidents"
                       " ORDER BY id")


async def test_a_high_risk_dispute_of_52_people_opens_level_2(store: Services) -> None:
    medium = await store.screening.file(OFFICER_P1, "plant-1", entry("medium", 60))
    few = await store.screening.file(OFFICER_P1, "plant-1", entry("high", 10))
    assert incidents(store) == []  # 中 is never handed on; 高 with 10 people reaches no level

    high = await store.screening.file(OFFICER_P1, "plant-1", entry("high", 52))
    assert incidents(store) == [("dispute", f"#{high.id}", "plant-1", 2, 52, 0, "open")]
    sent = rows(store, "SELECT chat_id FROM outbox WHERE kind = 'ic_opened' ORDER BY id")
    assert sent == [(2001,), (1002,)]  # level 2's response group: leader@oilfield, then 1002

    # 中 raised to 高 with 60 people: its own incident, at level 2 as well.
    await store.screening.update(OFFICER_P1, medium.id, DisputeStatus.MEDIATING, "风险升高", risk=Risk.HIGH)
    assert incidents(store)[1] == ("dispute", f"#{medium.id}", "plant-1", 2, 60, 0, "open")
    assert few.id not in {int(str(ref)[1:]) for _, ref, *_ in incidents(store)}


@pytest.mark.postgresql
async def test_migrate_copies_the_register_and_its_incident_to_postgresql(
    tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import cli
    from tests.backends import fresh_database, require_pg
    from tests.conftest import ORG_FILE

    require_pg()
    monkeypatch.setenv("PETITION_CONFIG", str(ORG_FILE))
    source = tmp_path / "petitions.db"
    lite = await Services.open(source, org, FakeClock())
    try:
        high = await lite.screening.file(OFFICER_P1, "plant-1", entry("high", 52))
        await lite.screening.update(OFFICER_P1, high.id, DisputeStatus.MEDIATING, "已约谈代表")
    finally:
        await lite.close()
    tables = ("screening_reports", "disputes", "dispute_notes", "screening_journal", "incidents", "incident_events")
    async with fresh_database("postgresql", tmp_path) as url:
        code = await asyncio.to_thread(cli.main, ["migrate", "--from", str(source), "--to", url, "--lang", "en"])
        assert code == 0, capsys.readouterr().err
        copied = {t: rows(url, f"SELECT * FROM {t} ORDER BY id") for t in tables}
        assert copied == {t: rows(source, f"SELECT * FROM {t} ORDER BY id") for t in tables}
        assert len(copied["dispute_notes"]) >= 1 and len(copied["incidents"]) == 1


async def test_verify_journal_checks_the_screening_register_too(
    store: Services, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main as cli
    from tests.backends import execute

    high = await store.screening.file(OFFICER_P1, "plant-1", entry("medium", 12))
    await store.screening.update(OFFICER_P1, high.id, DisputeStatus.MEDIATING, "已约谈代表")
    capsys.readouterr()
    assert await asyncio.to_thread(cli, ["--lang", "en", "verify-journal", "--db", store.db.path]) == 0
    assert "OK: 2 dispute screening entries, hash chain intact" in capsys.readouterr().out.splitlines()

    # Someone with the database's password rewrites an entry: the chain says where.
    if backend == "sqlite":
        execute(store, "DROP TRIGGER screening_journal_append_only_update")
    else:
        execute(store, "DROP TRIGGER screening_journal_append_only_update ON screening_journal")
    execute(store, "UPDATE screening_journal SET unit = 'plant-2' WHERE id = 2")
    assert await asyncio.to_thread(cli, ["--lang", "en", "verify-journal", "--db", store.db.path]) == 1
    assert ("BROKEN at dispute screening entry 2: content does not match its hash (1 entries before it are intact)"
            in capsys.readouterr().err)
