"""Sealed values are bound to their table, column and row (issue 20), on both backends.

Every value used one constant associated data, so someone able to write the database could move a
sealed value to another row: copy reporter A's sealed identity over reporter B's, and the custodian's
``/reveal`` of B named A; copy A's sealed Telegram id into B's ``people`` row, and B's notices went to A.
Now the value's table, column and row key are its associated data (``v2.``); data step 3 seals the
older ``v1.`` values again in place, which open only while it runs.

Organisation: tests/org_fixture.toml with the identity custodian 7001 (tests/test_vault.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main as cli
from store.clock import FakeClock
from store.errors import Refused
from store.models import Actor, ActorRole, Petitioner
from store.org import Organization
from store.services import Services
from store.vault import Vault, VaultError
from tests.backends import execute, fresh_database
from tests.conftest import draft, rows
from tests.offline import Updates, feed, offline_app
from tests.test_roster import ROSTER
from tests.test_vault import corg

__all__ = ["corg"]

CUSTODIAN = Actor(id=7001, role=ActorRole.LEADER)
A, B = 777000123, 777000456


@pytest.fixture
async def cstore(backend: str, tmp_path: Path, corg: Organization, clock: FakeClock) -> AsyncIterator[Services]:
    async with fresh_database(backend, tmp_path) as target:
        services = await Services.open(target, corg, clock)
        yield services
        await services.close()


async def report(store: Services, user_id: int, name: str, phone: str) -> tuple[str, int]:
    petitioner = Petitioner(id=user_id, name=name, language="zh")
    case = (await store.cases.submit(petitioner, draft(confidential=True, phone=phone), f"r{user_id}")).case
    return case.number, case.id


def legacy_seal(vault: Vault, value: Any) -> str:
    """A value as versions before issue 20 sealed it: one constant associated data for every row."""
    nonce = os.urandom(12)
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    sealed = vault._aead.encrypt(nonce, data, b"petition-bot")
    return "v1." + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


async def test_an_identity_moved_to_another_case_is_refused_not_revealed(cstore: Services) -> None:
    store = cstore
    number_a, id_a = await report(store, A, "欧阳小明", "13900000001")
    number_b, id_b = await report(store, B, "王五", "13900000002")
    ((sealed_a,),) = rows(store, "SELECT sealed FROM identities WHERE case_id = ?", id_a)
    execute(store, "UPDATE identities SET sealed = ? WHERE case_id = ?", sealed_a, id_b)
    with pytest.raises(Refused) as refused:
        await store.cases.reveal(CUSTODIAN, number_b, "核查")
    assert refused.value.code == "identity_unreadable"
    assert (await store.cases.reveal(CUSTODIAN, number_a, "核查")).name == "欧阳小明"  # in its own row it opens
    async with offline_app(store) as (application, request):  # what the custodian reads
        await feed(application, Updates(7001, "身份保管人").text(f"/reveal {number_b} 核查"))
        answer = request.last_to(7001).text
    assert answer.startswith("该件的身份记录无法打开") and "欧阳小明" not in answer


async def test_a_telegram_id_moved_to_another_persons_row_reaches_nobody(store: Services) -> None:
    await report(store, A, "欧阳小明", "13900000001")
    await report(store, B, "王五", "13900000002")
    hid_a, hid_b = store.context.hid(A), store.context.hid(B)
    assert await store.chat_of(hid_b) == B
    ((sealed_a,),) = rows(store, "SELECT sealed FROM people WHERE hid = ?", hid_a)
    execute(store, "UPDATE people SET sealed = ? WHERE hid = ?", sealed_a, hid_b)
    assert await store.chat_of(hid_b) is None  # B's notices are set aside as "unknown person", never sent to A
    assert await store.chat_of(hid_a) == A


async def test_data_step_3_binds_older_values_to_their_rows(
    backend: str, tmp_path: Path, corg: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path) as target:
        store = await Services.open(target, corg, clock)
        vault = store.context.vault
        number, case_id = await report(store, A, "欧阳小明", "13900000001")
        await store.cases.save_draft(B, "review", draft(phone="13900000002"))
        hid_a = store.context.hid(A)
        draft_key = store.context.conv_key(B)
        await store.close()
        # As a version before issue 20 left it: every value sealed with the one constant associated data.
        execute(target, "UPDATE identities SET sealed = ? WHERE case_id = ?",
                legacy_seal(vault, {"telegram_id": A, "name": "欧阳小明", "username": None, "phone": "13900000001"}),
                case_id)
        execute(target, "UPDATE people SET sealed = ? WHERE hid = ?", legacy_seal(vault, A), hid_a)
        execute(target, "UPDATE conversations SET data = ? WHERE name = 'intake' AND key = ?",
                legacy_seal(vault, draft(phone="13900000002").model_dump(mode="json")), draft_key)
        execute(target, "UPDATE meta SET value = ? WHERE key = 'vault_check'", legacy_seal(vault, "petition-bot vault"))
        execute(target, "UPDATE meta SET value = '2' WHERE key = 'vault_version'")
        store = await Services.open(target, corg, clock)
        try:
            sealed = [v for table, column in (("identities", "sealed"), ("people", "sealed"),
                                              ("conversations", "data"), ("conversations", "sealed_key"),
                                              ("meta", "value"))
                      for (v,) in rows(target, f"SELECT {column} FROM {table}") if str(v).startswith("v")]
            assert sealed and all(v.startswith("v2.") for v in sealed)
            assert (await store.cases.reveal(CUSTODIAN, number, "核查")).phone == "13900000001"
            assert await store.chat_of(hid_a) == A
            found = await store.cases.get_draft(B)
            assert found is not None and found.data.phone == "13900000002"
            # After the step an unbound value is refused, even one sealed under this very key.
            execute(target, "UPDATE people SET sealed = ? WHERE hid = ?", legacy_seal(vault, A), hid_a)
            assert await store.chat_of(hid_a) is None
            with pytest.raises(VaultError):
                store.context.vault.open(legacy_seal(vault, A), ("people", "sealed", hid_a))
        finally:
            await store.close()


async def test_the_rosters_sealed_phones_survive_rotate_key_and_do_not_move(
    backend: str, tmp_path: Path, corg: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path) as target:
        store = await Services.open(target, corg, clock)
        await store.roster.import_rows(ROSTER, dry_run=False)
        await store.close()
        assert await asyncio.to_thread(cli, ["rotate-key", "--db", str(target)]) == 0
        store = await Services.open(target, corg, clock)
        try:
            entries = {e.employee_no: e for e in await store.roster.entries()}
            assert entries["YC1025"].phone == "+8613900139000" and entries["YC1025"].id_tail == "123X"
            # One employee's sealed phone copied onto another's row does not read as theirs.
            ((phone_a,),) = rows(target, "SELECT phone_sealed FROM roster WHERE employee_no = 'YC1024'")
            execute(target, "UPDATE roster SET phone_sealed = ? WHERE employee_no = 'YC1025'", phone_a)
            with pytest.raises(VaultError):
                await store.roster.entries()
        finally:
            await store.close()
