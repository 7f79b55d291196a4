"""Online backup and restore of the case database (``petition-bot backup|restore``).

Backup uses SQLite's online backup API in a single step: the copy is one
read transaction, a snapshot of the last commit, while the running bot goes
on writing (in WAL mode writers do not wait for readers). The copy is
written beside the target, checked, switched to a single self-contained
file (no -wal) and only then renamed into place, so an interrupted backup
never leaves a half-written file under the final name.

Restore checks the file first (SQLite integrity, a petition-bot schema this
version knows) and refuses to overwrite an existing database, or one a
running bot has open, unless forced. It also writes through the backup
API, so it is safe even against a database with a stale -wal file.
"""

from __future__ import annotations

import html
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from handlers.i18n import t
from store.db import BUSY_TIMEOUT_MS, migrations
from store.files import make_private, private_database, write_private
from store.vault import default_key_file

REQUIRED_TABLES = frozenset({"cases", "events", "outbox", "conversations", "meta"})


class BackupError(Exception):
    """A backup or restore that was refused or failed; ``text(lang)`` says why, in one line."""

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return plain(t(lang, f"cli.{self.key}", **self.params))


def plain(text: str) -> str:
    """A catalog text for a terminal: no tags, no entities."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@dataclass(frozen=True)
class Summary:
    path: Path
    schema_version: int
    cases: int
    events: int
    bytes: int

    def describe(self, lang: str = "en") -> str:
        return plain(t(lang, "cli.summary", path=self.path, cases=self.cases, events=self.events,
                       version=self.schema_version, size=self.bytes))


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def in_use(db_path: Path) -> bool:
    """Whether a process has the database open (or left it without closing).

    In WAL mode SQLite keeps ``-wal`` and ``-shm`` beside the database while
    any connection is open and removes them when the last one closes cleanly.
    """
    return any(Path(f"{db_path}{suffix}").exists() for suffix in ("-wal", "-shm"))


def inspect(path: Path) -> Summary:
    """Check that ``path`` is an intact petition-bot database and count what it holds."""
    if not path.is_file():
        raise BackupError("no_such_file", path=path)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError("backup_damaged", path=path, detail=check)
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            missing = REQUIRED_TABLES - tables
            if missing or version < 1:
                raise BackupError("backup_not_ours", path=path, tables=", ".join(sorted(missing)))
            known = len(migrations())
            if version > known:
                raise BackupError("backup_too_new", path=path, version=version, known=known)
            cases = int(conn.execute("SELECT count(*) FROM cases").fetchone()[0])
            events = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise BackupError("backup_unusable", path=path, error=error) from error
    return Summary(path, version, cases, events, path.stat().st_size)


def backup(db_path: Path, target: Path, *, force: bool = False) -> Summary:
    """Copy the live database ``db_path`` to ``target`` consistently."""
    if not db_path.is_file():
        raise BackupError("no_database", path=db_path)
    if not target.parent.is_dir():
        raise BackupError("folder_missing", path=target, folder=target.parent)
    if target.exists() and not force:
        raise BackupError("exists_use_force", path=target)
    if target.resolve() == db_path.resolve():
        raise BackupError("backup_same")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    make_private(partial)  # 0600 whatever the umask; the rename keeps the mode
    source = _connect(db_path)
    try:
        copy = sqlite3.connect(str(partial), isolation_level=None)
        try:
            source.backup(copy)  # pages=-1: the whole snapshot in one read transaction
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            copy.close()
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise BackupError("backup_failed", error=error) from error
    finally:
        source.close()
    try:
        summary = inspect(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    _fsync(partial)
    os.replace(partial, target)
    return Summary(target, summary.schema_version, summary.cases, summary.events, summary.bytes)


def restore(backup_file: Path, db_path: Path, *, force: bool = False) -> Summary:
    """Replace ``db_path`` with the contents of ``backup_file``.

    Without ``force`` an existing database is never touched, and neither is
    one that a running bot has open. Forced over a running bot, the bot must
    be restarted afterwards: it caches some state (conversation steps).
    """
    summary = inspect(backup_file)
    if backup_file.resolve() == db_path.resolve():
        raise BackupError("restore_same")
    if not force:
        if in_use(db_path):
            raise BackupError("restore_in_use", path=db_path)
        if db_path.exists() and db_path.stat().st_size > 0:
            raise BackupError("exists_use_force", path=db_path)
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        private_database(db_path)
        target = _connect(db_path)
        try:
            source.backup(target)
            target.execute("PRAGMA wal_checkpoint(PASSIVE)")  # no-op unless in WAL mode
        finally:
            target.close()
    except sqlite3.Error as error:
        raise BackupError("restore_failed", error=error) from error
    finally:
        source.close()
    restored = inspect(db_path)
    _copy_key(default_key_file(backup_file), default_key_file(db_path))
    return Summary(db_path, restored.schema_version, summary.cases, summary.events, restored.bytes)


def _copy_key(source: Path | None, target: Path | None) -> None:
    """Restoring where no key is yet: a key the operator put beside the backup (``b.key``) goes along, 0600.

    A backup never carries its key (the key is kept apart, or a stolen backup
    would open with it); a key already at the target is never overwritten.
    """
    if source is None or target is None or not source.is_file() or target.exists():
        return
    write_private(target, source.read_bytes())


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
