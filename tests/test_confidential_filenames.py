"""A confidential case's files are stored under neutral names (issue 20, finding 5), on both backends.

Staff already received ``材料-1.pdf``; the database (and so every backup) kept
``欧阳小明_工号556677_举报材料.pdf``. Now the database holds the neutral name from the start, and
the data step after the migrations renames what older versions stored.
"""

from __future__ import annotations

from pathlib import Path

from store import vault_steps
from store.clock import FakeClock
from store.models import Actor, ActorRole, AttachmentIn
from store.org import Organization
from store.services import Services
from tests.backends import execute, fresh_database
from tests.conftest import draft, petitioner, rows

REPORT_FILE = "欧阳小明_工号556677_举报材料.pdf"
PHOTO = AttachmentIn(kind="photo", file_id="ph-1", file_unique_id="u-ph-1", size=1000)


def document(name: str, file_id: str, mime: str = "application/pdf") -> AttachmentIn:
    return AttachmentIn(kind="document", file_id=file_id, file_unique_id=f"u-{file_id}", file_name=name,
                        mime_type=mime, size=2000)


def names(store: Services, case_id: int) -> list[str | None]:
    return [n for (n,) in rows(store, "SELECT file_name FROM attachments WHERE case_id = ? ORDER BY id", case_id)]


async def test_a_confidential_reports_files_are_stored_under_neutral_names(store: Services) -> None:
    report = (await store.cases.submit(
        petitioner(5001), draft(category="misconduct", attachments=[document(REPORT_FILE, "d-1"), PHOTO]), "r1"
    )).case
    assert report.confidential
    actor = Actor(id=report.petitioner_id, role=ActorRole.PETITIONER)
    await store.cases.add_info(actor, report.number, None, [document("欧阳小明的录音说明.docx", "d-2", "").model_dump()])
    claim = (await store.cases.submit(petitioner(5002), draft(attachments=[document("工资条.pdf", "d-3")]), "c1")).case
    assert names(store, report.id) == ["材料-1.pdf", None, "材料-3.docx"]
    assert names(store, claim.id) == ["工资条.pdf"]  # a real-name case keeps the name staff see anyway
    held = [str(v) for row in rows(store, "SELECT * FROM attachments") for v in row]
    held += [str(v) for row in rows(store, "SELECT body, data FROM events") for v in row]
    assert not [v for v in held if "欧阳小明" in v]


async def test_the_data_step_renames_what_older_versions_stored(
    backend: str, tmp_path: Path, org: Organization
) -> None:
    async with fresh_database(backend, tmp_path) as target:
        store = await Services.open(target, org, FakeClock())
        try:
            report = (await store.cases.submit(
                petitioner(5001), draft(category="misconduct", attachments=[PHOTO, document("a.pdf", "d-1")]), "r1"
            )).case
            claim = (await store.cases.submit(petitioner(5002), draft(attachments=[document("工资条.pdf", "d-2")]),
                                              "c1")).case
            # As an older version left it: the reporter's own names.
            execute(store, "UPDATE attachments SET file_name = ? WHERE case_id = ? AND kind = 'document'",
                    REPORT_FILE, report.id)
            execute(store, "INSERT INTO attachments (case_id, kind, file_id, file_name, mime_type, added_at)"
                           " VALUES (?, 'video', 'v-1', '欧阳小明_现场.MOV', 'video/quicktime',"
                           " '2026-11-02T01:00:00.000000+00:00')", report.id)
            execute(store, "UPDATE meta SET value = '1' WHERE key = 'vault_version'")
            assert names(store, report.id) == [None, REPORT_FILE, "欧阳小明_现场.MOV"]
        finally:
            await store.close()
        store = await Services.open(target, org, FakeClock())
        try:
            assert names(store, report.id) == [None, "材料-2.pdf", "材料-3.mov"]
            assert names(store, claim.id) == ["工资条.pdf"]
            assert rows(store, "SELECT value FROM meta WHERE key = 'vault_version'") == [(str(vault_steps.VERSION),)]
        finally:
            await store.close()
    if backend == "sqlite":  # nor in the file or its WAL
        for path in (Path(target), Path(f"{target}-wal")):
            assert not path.exists() or "欧阳小明".encode() not in path.read_bytes()
