"""Findings of the third hostile review (officer, employee, file holder), each proven by what is stored or seen.

Organisation: tests/org_fixture.toml (``store`` and ``app``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from telegram.ext import Application

from handlers import callbacks as cb
from store.services import Services
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
