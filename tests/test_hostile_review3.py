"""Findings of the third hostile review (officer, employee, file holder), each proven by what is stored or seen.

Organisation: tests/org_fixture.toml (``store`` and ``app``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

from telegram.ext import Application

from handlers import callbacks as cb
from store.clock import FakeClock
from store.org import Organization
from store.services import Services
from tests.backends import execute, fresh_database
from tests.conftest import draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed

USER = 5001


async def test_information_a_reporter_adds_keeps_their_telegram_id_out_of_the_journal(
    store: Services, app: tuple[Application, OfflineRequest]
) -> None:
    """File holder: the journal of a confidential case named the reporter's chat in clear.

    Information added in chat was journaled with its message's key, ``"<chat id>:<message id>"``; the
    chat of a private chat is the person's Telegram id, the very value their real-name cases keep as
    ``petitioner_id``: one plain join named the reporter.
    """
    application, request = app
    named = (await store.cases.submit(petitioner(USER, "张三"), draft(), "named")).case
    secret = (await store.cases.submit(petitioner(USER, "张三"), draft(confidential=True, subject="举报"), "s")).case
    user = Updates(USER)
    await feed(application, user.tap(cb.Pr.ADD.encode(secret.number)))
    message = user.text("补充：经手人是财务科。")
    await feed(application, message)
    assert secret.number in request.last_to(USER).text  # told that it was added
    bodies = rows(store, "SELECT body FROM events WHERE case_id = ? AND action = 'add_info'", secret.id)
    assert bodies == [("补充：经手人是财务科。",)]
    # The file holder's join: any text of the confidential case's journal that holds a real-name petitioner's id.
    stored = rows(store, "SELECT data FROM events WHERE case_id = ?", secret.id)
    assert not [d for (d,) in stored if str(USER) in str(d)], stored
    assert rows(store, "SELECT count(*) FROM cases WHERE petitioner_id = ? AND id = ?", USER, named.id) == [(1,)]
    # The same message again (a redelivery) adds nothing.
    again = await store.self_service.add_information(
        USER, secret.number, text="补充：经手人是财务科。", key=f"{USER}:{message['message']['message_id']}")
    assert not again.created
    assert len(rows(store, "SELECT id FROM events WHERE case_id = ? AND action = 'add_info'", secret.id)) == 1


async def test_a_pending_prompt_does_not_tie_a_confidential_case_to_the_persons_named_case(
    store: Services, app: tuple[Application, OfflineRequest]
) -> None:
    """File holder: a prompt waiting for the person's answer named their real-name case under their ``hid``.

    The prompt row (``conversations``, name ``prompt``) is keyed by the keyed hash a confidential case keeps
    its reporter by, and held the number of the case it asks about in clear: the join
    ``conversations.key = cases.petitioner_id`` led from the confidential case to the named one.
    """
    application, request = app
    named = (await store.cases.submit(petitioner(USER, "张三"), draft(), "named")).case
    secret = (await store.cases.submit(petitioner(USER, "张三"), draft(confidential=True, subject="举报"), "s")).case
    user = Updates(USER)
    await feed(application, user.tap(cb.Pr.ADD.encode(named.number)))  # "add information" to the named case
    linked = rows(
        store,
        "SELECT n.petitioner_name FROM conversations v JOIN cases s ON CAST(s.petitioner_id AS TEXT) = v.key"
        " JOIN cases n ON v.data LIKE '%' || n.number || '%' WHERE s.id = ? AND NOT n.confidential",
        secret.id,
    )
    assert linked == []
    # The prompt still works: the next message is added to the named case.
    await feed(application, user.text("补充：十月也没有发。"))
    assert named.number in request.last_to(USER).text
    assert rows(store, "SELECT body FROM events WHERE case_id = ? AND action = 'add_info'", named.id) == [
        ("补充：十月也没有发。",)]
    assert await store.cases.get_prompt(USER) is None  # answered


async def test_data_step_6_seals_a_prompt_an_older_version_left_waiting(
    backend: str, tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path) as target:
        store = await Services.open(target, org, clock)
        named = (await store.cases.submit(petitioner(USER, "张三"), draft(), "named")).case
        await store.cases.set_prompt(USER, "add", named.number)
        await store.close()
        # As version 5 left it: the number in clear.
        execute(target, "UPDATE conversations SET data = ? WHERE name = 'prompt'", json.dumps({"number": named.number}))
        execute(target, "UPDATE meta SET value = '5' WHERE key = 'vault_version'")
        store = await Services.open(target, org, clock)
        try:
            assert rows(target, "SELECT count(*) FROM conversations WHERE data LIKE ?", f"%{named.number}%") == [(0,)]
            assert await store.cases.get_prompt(USER) == ("add", named.number)
        finally:
            await store.close()
