"""Findings of the fourth hostile review (officer, employee, file holder), each proven by what is stored or seen.

Organisation: tests/org_fixture.toml (``store`` and ``app``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram.ext import Application

from handlers import callbacks as cb
from store import vault_steps
from store.clock import FakeClock
from store.models import AttachmentIn
from store.org import Organization
from store.services import Services
from tests.backends import execute, fresh_database
from tests.conftest import draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed
from tests.test_ledger_store import OFFICER

USER = 5001
#: The same pay slip, as Telegram describes it each time the employee sends it.
SIZE = 48213
SLIP = {"file_id": "BQACAgIAAxkBAAIBsGVpay-slip", "file_unique_id": "AgADpayslipUNIQ",
        "file_name": "工资条.pdf", "mime_type": "application/pdf", "file_size": SIZE}


def _slip() -> AttachmentIn:
    return AttachmentIn(kind="document", file_id=SLIP["file_id"], file_unique_id=SLIP["file_unique_id"],
                        file_name=SLIP["file_name"], mime_type=SLIP["mime_type"], size=SIZE)


def _document(user: Updates, caption: str) -> dict[str, Any]:
    message = user._message(document=dict(SLIP), caption=caption)
    return {"update_id": next(user._update_ids), "message": message}


def _shared_file_names(store: Services | str, secret: int) -> list[tuple[object, ...]]:
    """The file holder's joins from a confidential case's files to a real-name case holding the same file."""
    found: list[tuple[object, ...]] = []
    for column in ("file_unique_id", "file_id", "size"):
        found += rows(
            store,
            f"SELECT n.petitioner_name FROM attachments s JOIN attachments a ON a.{column} = s.{column}"
            f" JOIN cases n ON n.id = a.case_id WHERE s.case_id = ? AND NOT n.confidential",
            secret,
        )
    return found


async def test_the_same_file_sent_to_a_named_case_and_a_confidential_one_does_not_tie_them(
    store: Services, app: tuple[Application, OfflineRequest]
) -> None:
    """File holder: a confidential case's file kept Telegram's ``file_unique_id``, ``file_id`` and exact size.

    An employee who sends their pay slip with their wage claim (real name) and with their report of the
    payroll clerk (confidential) hands Telegram the same file twice: its ``file_unique_id`` is the same
    for every copy, its ``file_id`` usually too, and so is its size to the byte. One join on any of them
    named the reporter.
    """
    application, request = app
    named = (await store.cases.submit(petitioner(USER, "张三"), draft(attachments=[_slip()]), "named")).case
    secret = (await store.cases.submit(
        petitioner(USER, "张三"), draft(confidential=True, subject="举报", attachments=[_slip()]), "s")).case
    user = Updates(USER)
    for case in (named, secret):  # and once more each, added in chat
        await feed(application, user.tap(cb.Pr.ADD.encode(case.number)))
        await feed(application, _document(user, "补充：工资条"))
        assert case.number in request.last_to(USER).text
    assert rows(store, "SELECT count(*) FROM attachments WHERE case_id = ?", secret.id) == [(2,)]
    assert _shared_file_names(store, secret.id) == []
    # Staff who read the case still get the file Telegram knows, under its neutral name.
    _, files = await store.cases.files(OFFICER, named.number)
    assert [f.file_id for f in files] == [SLIP["file_id"]] * 2
    held = await store.cases.attachments(secret.id)
    assert [f.file_id for f in held] == [SLIP["file_id"]] * 2
    assert [f.file_name for f in held] == ["材料-1.pdf", "材料-2.pdf"]
    assert all(f.size is not None and f.size >= SIZE for f in held)


async def test_data_step_7_seals_the_files_an_older_version_kept_for_a_confidential_case(
    backend: str, tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path) as target:
        store = await Services.open(target, org, clock)
        named = (await store.cases.submit(petitioner(USER, "张三"), draft(attachments=[_slip()]), "named")).case
        secret = (await store.cases.submit(
            petitioner(USER, "张三"), draft(confidential=True, subject="举报", attachments=[_slip()]), "s")).case
        await store.close()
        # As version 6 left it: the confidential case's file as Telegram described it.
        execute(target, "UPDATE attachments SET file_id = ?, file_unique_id = ?, size = ? WHERE case_id = ?",
                SLIP["file_id"], SLIP["file_unique_id"], SIZE, secret.id)
        execute(target, "UPDATE meta SET value = '6' WHERE key = 'vault_version'")
        assert len(_shared_file_names(target, secret.id)) == 3
        store = await Services.open(target, org, clock)
        try:
            assert rows(target, "SELECT value FROM meta WHERE key = 'vault_version'") == [(str(vault_steps.VERSION),)]
            assert _shared_file_names(target, secret.id) == []
            assert [f.file_id for f in await store.cases.attachments(secret.id)] == [SLIP["file_id"]]
            assert [f.file_id for f in await store.cases.attachments(named.id)] == [SLIP["file_id"]]
        finally:
            await store.close()
