"""``petition-bot migrate`` moves the ledger, links, merges and co-handling to PostgreSQL as they were.

A duplicate merged into a newer case points at a row copied after it: the copy sets such columns once
every row is in. Organisation: tests/org_fixture.toml; officer 1001 (plant-1), leader 2001 (oilfield).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

import pytest

from store.clock import FakeClock
from store.ledger import PersonIn, Registration
from store.models import Actor, ActorRole, Channel
from store.org import Organization
from store.services import Services
from store.workflow import Action
from tests.conftest import rows

OFFICER = Actor(id=1001, role=ActorRole.OFFICER, name="王主任")
LEADER = Actor(id=2001, role=ActorRole.LEADER, name="赵总")
# Each table, and an order that lists its rows the same way on both backends.
TABLES = {"cases": "id", "petitioners": "id", "case_petitioners": "case_id, petitioner_id", "claim_codes": "code_hash",
          "contact_tasks": "id", "case_links": "low_id, high_id", "case_cohandlers": "case_id, unit", "events": "id"}


def letter(name: str, phone: str, subject: str) -> Registration:
    return Registration.model_validate({
        "channel": Channel.LETTER, "received_on": date(2026, 11, 2) - timedelta(days=3),
        "people": [PersonIn(name=name, phone=phone)], "category": "wages", "unit": "plant-1",
        "subject": subject, "details": "来信反映加班费未发放。",
    })


@pytest.mark.postgresql
async def test_migrate_moves_the_ledger_links_merges_and_co_handling(
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
        older = (await lite.ledger.register(OFFICER, letter("刘师傅", "13800138000", "加班费"))).case.number
        newer = (await lite.ledger.register(OFFICER, letter("刘师傅", "13800138000", "加班费（再次来信）"))).case
        third = (await lite.ledger.register(OFFICER, letter("陈师傅", "13900139000", "宿舍维修"))).case.number
        await lite.cases.act(OFFICER, newer.number, Action.ACCEPT)
        await lite.links.merge(LEADER, newer.number, older, "同一事项重复来信")  # the older one into the newer
        await lite.links.link(LEADER, newer.number, third)
        await lite.supervision.cohandle(LEADER, third, "plant-2", "协助核实")
    finally:
        await lite.close()
    assert rows(source, "SELECT number, merged_into FROM cases WHERE merged_into IS NOT NULL") == [
        (older, newer.id)]
    async with fresh_database("postgresql", tmp_path) as url:
        code = await asyncio.to_thread(cli.main, ["migrate", "--from", str(source), "--to", url, "--lang", "en"])
        assert code == 0, capsys.readouterr().err
        for table, order in TABLES.items():
            assert rows(url, f"SELECT * FROM {table} ORDER BY {order}") == rows(
                source, f"SELECT * FROM {table} ORDER BY {order}"), table
