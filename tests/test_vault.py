"""Identities encrypted at rest, the identity custodian's /reveal, key rotation (issue 11, path 4).

After a confidential report, no table, column or byte of the database or its
WAL holds the reporter's Telegram id, names, username or phone in clear; the
reporter still gets every notice (the sender opens the keyed hash at send
time); only the custodian can read the identity, journaled; rotating the key
keeps everything readable with the new key and nothing with the old.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.cli import main
from bot.outbox import OutboxSender
from handlers.notifications import render
from store.clock import FakeClock
from store.errors import Refused
from store.models import Actor, ActorRole, Petitioner
from store.org import Organization
from store.services import Services
from store.vault import Vault, VaultError, load_vault
from store.workflow import Action
from tests.backends import fresh_database
from tests.conftest import draft, rows

REPORTER_ID = 777000123
NAME = "王五保密"
USERNAME = "wangwu_secret"
PHONE = "13912345678"
CUSTODIAN = Actor(id=7001, role=ActorRole.LEADER)
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)
LEADER = Actor(id=2001, role=ActorRole.LEADER)  # oilfield: the handling leader of plant-1
OFFICER = Actor(id=1001, role=ActorRole.OFFICER)
REPORTER = Actor(id=REPORTER_ID, role=ActorRole.PETITIONER)


class RecordingBot:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
        self.sent.append((chat_id, text))
        return SimpleNamespace(message_id=100 + len(self.sent))

    async def send_document(self, chat_id: int, document: Any, caption: str = "", **_: Any) -> Any:
        self.sent.append((chat_id, caption))  # a formal document (handlers/documents.py)
        return SimpleNamespace(message_id=100 + len(self.sent))


@pytest.fixture
def corg(org: Organization) -> Organization:
    custodian = {"telegram_id": 7001, "name": "身份保管人", "role": "leader", "units": ["hq"], "custodian": True}
    return Organization.model_validate(
        {**org.model_dump(), "staff": [*(s.model_dump() for s in org.staff), custodian]}
    )


async def _confidential_report(store: Services) -> str:
    """What the handlers do for a confidential reporter, from the first message to additions."""
    await store.cases.touch_user(REPORTER_ID, tg_language="zh", first_name=NAME, username=USERNAME)
    await store.cases.save_conversation("intake", f"{REPORTER_ID}:{REPORTER_ID}", "7")
    data = draft(confidential=True, phone=PHONE)  # a confidential claim about wages (plant-1)
    await store.cases.save_draft(REPORTER_ID, "review", data)
    await store.cases.set_prompt(REPORTER_ID, "add_info", "XF-2026-000001")
    petitioner = Petitioner(id=REPORTER_ID, name=NAME, username=USERNAME, language="zh")
    case = (await store.cases.submit(petitioner, data, "draft-1")).case
    await store.cases.clear_prompt(REPORTER_ID)
    await store.cases.act(OFFICER, case.number, Action.ACCEPT)
    await store.cases.act(OFFICER, case.number, Action.REPLY, body="请补充时间地点")
    await store.cases.add_info(REPORTER, case.number, "十月三日在二号仓库")
    await store.staff_work.remember_messages(REPORTER_ID, [55], case.id)
    await store.cases.save_conversation("intake", f"{REPORTER_ID}:{REPORTER_ID}", None)
    return case.number


def _scan(db: Path) -> list[str]:
    """Every place in the file, its WAL and every table and column where an identifier is in clear."""
    found: list[str] = []
    texts = [str(REPORTER_ID), NAME, USERNAME, PHONE]
    for path in (db, Path(f"{db}-wal")):
        if path.exists():
            raw = path.read_bytes()
            for text in texts:
                if text.encode() in raw:
                    found.append(f"{path.name}: {text}")
            if REPORTER_ID.to_bytes(4, "big") in raw:
                found.append(f"{path.name}: the id as a 4-byte integer")
    with sqlite3.connect(db) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if value == REPORTER_ID or any(text in str(value) for text in texts):
                        found.append(f"{table}: {value!r}")
    return found


async def test_no_identifier_of_a_confidential_reporter_is_stored_in_clear(
    tmp_path: Path, corg: Organization, clock: FakeClock
) -> None:
    db = tmp_path / "cases.db"
    store = await Services.open(db, corg, clock)
    try:
        number = await _confidential_report(store)
        bot = RecordingBot()
        await OutboxSender(store, bot, chat_interval=0.0).run_once()  # type: ignore[arg-type]
        assert _scan(db) == []
        # the reporter still got every notice: the keyed hash was opened at send time
        to_reporter = [text for chat, text in bot.sent if chat == REPORTER_ID]
        assert any("请补充时间地点" in text for text in to_reporter)
        assert any(number in text for text in to_reporter)
        # and still finds their own case, draft state and language by their id
        mine, total = await store.cases.cases_of_petitioner(REPORTER_ID)
        assert total == 1 and mine[0].number == number
        assert await store.cases.user_language(REPORTER_ID) == "zh"
        assert await store.staff_work.case_id_for_message(REPORTER_ID, 55) == mine[0].id
        await store.cases.save_conversation("intake", f"{REPORTER_ID}:{REPORTER_ID}", "3")
        assert await store.cases.load_conversations("intake") == {f"{REPORTER_ID}:{REPORTER_ID}": "3"}
        assert _scan(db) == []
    finally:
        await store.close()
    assert oct((tmp_path / "cases.key").stat().st_mode & 0o777) == "0o600"


async def test_the_custodian_reveals_journaled_and_nobody_else_can(
    tmp_path: Path, corg: Organization, clock: FakeClock
) -> None:
    db = tmp_path / "cases.db"
    store = await Services.open(db, corg, clock)
    try:
        number = await _confidential_report(store)
        for other in (ADMIN, LEADER, OFFICER, REPORTER):
            with pytest.raises(Refused) as refused:
                await store.cases.reveal(other, number, "核查需要")
            assert refused.value.code == "custodian_only"
        with pytest.raises(Refused):
            await store.cases.reveal(CUSTODIAN, number, "  ")  # a reason is required
        identity = await store.cases.reveal(CUSTODIAN, number, "纪检核查需要联系举报人")
        assert (identity.telegram_id, identity.name, identity.username, identity.phone) == (
            REPORTER_ID, NAME, USERNAME, PHONE)
        # journaled: who, when, why; the chain still verifies
        assert rows(db, "SELECT actor_id, body FROM events WHERE action = 'reveal'") == [(7001, "纪检核查需要联系举报人")]
        assert (await store.verify_journal()).ok
        # the handling leader is told that it was revealed, not to whom and not the identity
        notices = await store.outbox.pending_notifications()
        told = [n for n in notices if n.kind == "identity_revealed"]
        assert [n.chat_id for n in told] == [2001]
        text = " ".join(o.text or "" for o in await render(told[0], store))
        assert number in text and "身份保管人" in text
        assert all(secret not in text for secret in (NAME, USERNAME, PHONE, str(REPORTER_ID)))
        # nothing staff can read names the reporter
        case = await store.cases.case_for(ADMIN, number)
        assert case.petitioner_name is None and case.petitioner_phone is None
        assert case.petitioner_id != REPORTER_ID
    finally:
        await store.close()


async def test_rotate_key_reseals_everything_in_one_go(
    backend: str, tmp_path: Path, corg: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path) as db:  # a file, or PostgreSQL with PETITION_KEY_FILE set
        store = await Services.open(db, corg, clock)
        number = await _confidential_report(store)
        await store.close()
        old = load_vault(db, create=False)
        assert await asyncio.to_thread(main, ["rotate-key", "--db", str(db)]) == 0
        new = load_vault(db, create=False)
        assert new.key_text != old.key_text and new.hid(REPORTER_ID) == old.hid(REPORTER_ID)
        ((case_id, sealed),) = rows(db, "SELECT case_id, sealed FROM identities")
        with pytest.raises(VaultError):
            old.open(sealed, ("identities", "sealed", case_id))
        store = await Services.open(db, corg, clock)
        try:
            assert (await store.cases.reveal(CUSTODIAN, number, "复核")).phone == PHONE
            assert (await store.cases.get_draft(REPORTER_ID)) is None
            assert await store.cases.load_conversations("intake") == {}
        finally:
            await store.close()
        with pytest.raises(VaultError):  # a database refuses a key it was not sealed with
            await Services.open(db, corg, clock, secret=Vault(old.key_text).key_text)


async def test_a_draft_is_sealed_and_read_back(store: Services, tmp_path: Path) -> None:
    await store.cases.save_draft(REPORTER_ID, "identity", draft(phone=PHONE))
    assert (stored := await store.cases.get_draft(REPORTER_ID)) is not None and stored.data.phone == PHONE
    assert not any(PHONE in str(v) for row in rows(store, "SELECT * FROM conversations") for v in row)



async def test_the_cli_report_names_no_confidential_reporter(
    tmp_path: Path, corg: Organization, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cases.db"
    store = await Services.open(db, corg, clock)
    try:
        number = await _confidential_report(store)
    finally:
        await store.close()
    monkeypatch.setenv("PETITION_CONFIG", str(Path(__file__).with_name("org_fixture.toml")))
    out = tmp_path / "r.csv"
    code = await asyncio.to_thread(
        main, ["report", "--db", str(db), "--format", "csv", "--out", str(out), "--period", "2026", "--lang", "zh"]
    )
    assert code == 0
    written = out.read_text(encoding="utf-8-sig") + (tmp_path / "r-cases.csv").read_text(encoding="utf-8-sig")
    assert number in written
    assert all(secret not in written for secret in (NAME, USERNAME, PHONE, str(REPORTER_ID)))


async def test_an_older_database_is_sealed_once_at_open(
    tmp_path: Path, corg: Organization, clock: FakeClock
) -> None:
    """What older versions stored in clear is sealed by the vault's step after the migrations."""
    db = tmp_path / "cases.db"
    store = await Services.open(db, corg, clock)
    case = (await store.cases.submit(Petitioner(id=4242, name="x"), draft(), "old")).case
    await store.close()
    with sqlite3.connect(db) as conn:  # as version 7 left it: the reporter in clear
        conn.execute("UPDATE cases SET confidential = 1, petitioner_id = ?, petitioner_name = NULL WHERE id = ?",
                     (REPORTER_ID, case.id))
        conn.execute("INSERT INTO users (telegram_id, first_name, username, updated_at) VALUES (?, ?, ?, 'x')",
                     (REPORTER_ID, NAME, USERNAME))
        conn.execute("INSERT INTO conversations (name, key, state, data, updated_at) VALUES"
                     " ('intake', ?, 'review', ?, '2026-11-01T00:00:00+00:00')", (str(REPORTER_ID), f'{{"phone": "{PHONE}"}}'))
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'vault_version'")
    assert _scan(db) != []
    store = await Services.open(db, corg, clock)
    try:
        assert _scan(db) == []  # the file and its WAL, right after the sealing step
        identity = await store.cases.reveal(CUSTODIAN, case.number, "核查")
        assert (identity.telegram_id, identity.name, identity.username) == (REPORTER_ID, NAME, USERNAME)
        mine, _ = await store.cases.cases_of_petitioner(REPORTER_ID)
        assert [c.number for c in mine] == [case.number]
        assert (stored := await store.cases.get_draft(REPORTER_ID)) is not None and stored.data.phone == PHONE
    finally:
        await store.close()
    assert _scan(db) == []


def test_reveal_is_in_the_custodians_menu_only() -> None:
    from bot.commands import staff_commands
    from handlers.i18n import t
    from store.org import Role

    for role in Role:
        assert "reveal" not in staff_commands(role)
        assert "reveal" in staff_commands(role, custodian=True)
    assert "/reveal" in t("zh", "menu.reveal") and "/reveal" in t("en", "menu.reveal")


def test_the_organisation_file_takes_a_custodian_flag(org: Organization) -> None:
    import pydantic

    member = {"telegram_id": 7001, "name": "保管人", "role": "leader", "units": ["hq"]}
    base = {**org.model_dump(), "staff": [*(s.model_dump() for s in org.staff)]}
    assert not Organization.model_validate({**base, "staff": [*base["staff"], member]}).staff[-1].custodian
    flagged = Organization.model_validate({**base, "staff": [*base["staff"], {**member, "custodian": True}]})
    assert flagged.staff[-1].custodian
    with pytest.raises(pydantic.ValidationError):
        Organization.model_validate({**base, "staff": [*base["staff"], {**member, "custodian": "maybe"}]})


async def test_reveal_in_telegram_answers_the_custodian_and_refuses_an_admin(
    tmp_path: Path, corg: Organization, clock: FakeClock
) -> None:
    from tests.offline import Updates, feed, offline_app

    store = await Services.open(tmp_path / "cases.db", corg, clock)
    try:
        number = await _confidential_report(store)
        async with offline_app(store) as (application, request):
            await feed(application, Updates(9001, "管理员").text(f"/reveal {number} 想看看"))
            refused = " ".join(request.texts_to(9001))
            assert "只有身份保管人" in refused and NAME not in refused and PHONE not in refused
            await feed(application, Updates(7001, "保管人").text(f"/reveal {number} 纪检核查需要联系举报人"))
            shown = " ".join(request.texts_to(7001))
            assert all(value in shown for value in (NAME, f"@{USERNAME}", PHONE, str(REPORTER_ID), number))
        assert rows(store, "SELECT actor_id FROM events WHERE action = 'reveal'") == [(7001,)]
    finally:
        await store.close()
