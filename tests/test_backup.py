"""``petition-bot backup`` while cases are being written, and ``petition-bot restore``."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.backup import BackupError, inspect, restore
from bot.cli import main
from store.models import Actor, ActorRole
from store.org import Organization
from store.services import Services
from store.sqltext import only_row
from store.workflow import Action
from tests.conftest import draft, petitioner

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)


@pytest.mark.slow
async def test_a_backup_taken_under_load_restores_every_committed_case(
    org: Organization, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "live.db"
    store = await Services.open(db, org)
    committed: list[str] = []
    stop = asyncio.Event()

    async def load() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            case = (await store.cases.submit(petitioner(6000 + n % 400), draft(subject=f"事项{n}"), f"load-{n}")).case
            if n % 3 == 0:
                await store.cases.act(OFFICER, case.number, Action.ACCEPT)
            committed.append(case.number)
            await asyncio.sleep(0)

    writer = asyncio.create_task(load())
    while len(committed) < 150:  # noqa: ASYNC110  # the writer's progress, read as it goes
        await asyncio.sleep(0.01)
    before = list(committed)  # committed before the backup began: all must be in it
    code = await asyncio.to_thread(main, ["backup", str(tmp_path / "b.db"), "--db", str(db)])
    during = len(committed) - len(before)
    while len(committed) < len(before) + during + 50:  # noqa: ASYNC110  # and the load goes on afterwards
        await asyncio.sleep(0.01)
    stop.set()
    await writer
    assert code == 0
    assert "backed up to" in capsys.readouterr().out

    # The bot's database is live: restoring over it is refused without --force.
    assert main(["restore", str(tmp_path / "b.db"), "--db", str(db)]) == 1
    assert "in use by a running bot" in capsys.readouterr().err
    await store.close()
    assert main(["restore", str(tmp_path / "b.db"), "--db", str(db)]) == 1
    assert "already exists" in capsys.readouterr().err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == len(committed)

    restored_path = tmp_path / "restored.db"
    # The backup never carries the vault's key: the operator brings the key file, kept apart.
    (tmp_path / "b.key").write_bytes(db.with_suffix(".key").read_bytes())
    assert main(["restore", str(tmp_path / "b.db"), "--db", str(restored_path)]) == 0
    assert not (tmp_path / "b.db").with_suffix(".key").samefile(restored_path.with_suffix(".key"))
    restored = await Services.open(restored_path, org)
    try:
        for number in before:
            case = await restored.cases.case_for(OFFICER, number)
            assert case.number == number
        # The snapshot is one commit: every case in it is whole, numbered without gaps.
        async with restored.db.read() as reader:
            async with reader.execute("SELECT number FROM cases ORDER BY id") as cur:
                numbers = [row[0] async for row in cur]
            async with reader.execute(
                "SELECT count(*) FROM cases WHERE id NOT IN (SELECT case_id FROM events WHERE action = 'submit')"
            ) as cur:
                assert (await only_row(cur))[0] == 0
            async with reader.execute(
                "SELECT count(*) FROM cases c WHERE status = 'accepted' AND NOT EXISTS"
                " (SELECT 1 FROM outbox o JOIN events e ON e.id = o.event_id"
                "  WHERE o.case_id = c.id AND e.action = 'accept')"
            ) as cur:
                assert (await only_row(cur))[0] == 0
        assert numbers == committed[: len(numbers)]
        assert len(before) <= len(numbers) <= len(before) + during
        assert (await restored.verify_journal()).ok
    finally:
        await restored.close()

    # With --force the old database is replaced.
    assert main(["restore", str(tmp_path / "b.db"), "--db", str(db), "--force"]) == 0
    assert inspect(db).cases == len(numbers)


def test_backup_and_restore_refuse_what_they_should(org: Organization, tmp_path: Path) -> None:
    assert main(["backup", str(tmp_path / "b.db"), "--db", str(tmp_path / "missing.db")]) == 1
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello", encoding="utf-8")
    with pytest.raises(BackupError, match="not a usable SQLite database"):
        restore(not_a_db, tmp_path / "new.db")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(BackupError, match="not a petition-bot database"):
        restore(other, tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()


async def test_backup_does_not_overwrite_without_force(org: Organization, tmp_path: Path) -> None:
    store = await Services.open(tmp_path / "live.db", org)
    await store.cases.submit(petitioner(), draft(), "k")
    target = tmp_path / "b.db"
    target.write_bytes(b"keep me")
    assert main(["backup", str(target), "--db", str(tmp_path / "live.db")]) == 1
    assert target.read_bytes() == b"keep me"
    assert main(["backup", str(target), "--db", str(tmp_path / "live.db"), "--force"]) == 0
    await store.close()
    assert inspect(target).cases == 1
    assert not Path(f"{target}-wal").exists()  # noqa: ASYNC240
