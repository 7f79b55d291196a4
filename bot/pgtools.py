"""PostgreSQL for the command line: backup and restore with PostgreSQL's own tools, and moving an installation.

Backup and restore call ``pg_dump``/``pg_restore`` (the client tools of the
server's major version, from the operating system's packages), in custom
format: consistent while the bot runs (one snapshot), compressed, restorable
into an empty database. A URL that sets ``search_path`` (one schema of a
shared database) dumps and restores only that schema.

``migrate`` copies an SQLite installation into an empty PostgreSQL database
of the same schema version, every table in one transaction, ids kept (so
case numbers, the journal's hash chain and replies to old messages still
hold), then moves the identity sequences past the copied ids. A flag, 0/1 in
SQLite, goes into PostgreSQL's boolean column as false/true.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bot.backup import BackupError
from store.db import Backend, Database, open_database
from store.files import make_private
from store.journal import verify
from store.pg import PgDatabase

# Parents before children (foreign keys); a table this list does not name is copied after these. The
# changes counted by unit and month (migration 0037) before the cases, whose copy the triggers count on top.
TABLE_ORDER = [
    "meta", "users", "case_numbers", "unit_month_changes", "cases", "events", "attachments", "outbox", "conversations",
    "reception_sessions", "reception_bookings", "case_messages", "reminders", "sweep_marks", "alerts",
    "incidents", "incident_ticks", "incident_level_changes", "incident_events",
    "screening_reports", "disputes", "dispute_notes", "screening_notices", "screening_journal",
    "petitioners", "case_petitioners", "claim_codes", "claim_failures", "contact_tasks",
    "case_links", "case_cohandlers", "roster", "verified_accounts", "roster_journal",
    "staff_members", "staff_candidates", "staff_journal",
]
# Columns that point at a row of their own table which may come later (a duplicate merged into a
# newer case): copied as NULL first, then set once every row is in.
LATER_COLUMNS = {"cases": ("merged_into",)}
UTC = ZoneInfo("UTC")


def display(url: str) -> str:
    """The URL without its password, for a terminal or a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":…@")
    return urlunsplit(parts._replace(netloc=netloc))


def _schema(url: str) -> str | None:
    """The schema a URL's ``options=-csearch_path=…`` names, if any."""
    for option in parse_qs(urlsplit(url).query).get("options", []):
        for part in option.split():
            if part.startswith("-csearch_path="):
                return part.split("=", 1)[1].split(",")[0].strip() or None
    return None


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError("pg_tool_missing", tool=name)
    return found


@dataclass(frozen=True)
class Counts:
    version: int
    tables: dict[str, int]

    @property
    def cases(self) -> int:
        return self.tables.get("cases", 0)

    @property
    def events(self) -> int:
        return self.tables.get("events", 0)


async def counts(db: Backend) -> Counts:
    tables: dict[str, int] = {}
    names = await _tables(db)
    async with db.read() as conn:
        for table in names:
            cur = await conn.execute(f"SELECT count(*) FROM {table}")
            row = await cur.fetchone()
            tables[table] = int(row[0]) if row else 0
    return Counts(await db.schema_version(), tables)


async def _tables(db: Backend) -> list[str]:
    async with db.read() as conn:
        if db.dialect == "sqlite":
            cur = await conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        else:
            cur = await conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                " AND table_name <> 'schema_version'"
            )
        names = {str(row[0]) for row in await cur.fetchall()}
    return [t for t in TABLE_ORDER if t in names] + sorted(names - set(TABLE_ORDER))


def pg_backup(url: str, target: Path, *, force: bool = False) -> None:
    """``pg_dump`` of the database (or the URL's schema) into ``target``, written 0600 and renamed into place."""
    if not target.parent.is_dir():
        raise BackupError("folder_missing", path=target, folder=target.parent)
    if target.exists() and not force:
        raise BackupError("exists_use_force", path=target)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    make_private(partial)
    schema = _schema(url)
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial)]
    command += [f"--schema={schema}"] if schema else []
    done = subprocess.run([*command, "--dbname", url], capture_output=True, text=True)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError("backup_failed", error=(done.stderr.strip().splitlines() or ["pg_dump failed"])[-1])
    partial.replace(target)


def pg_restore(dump: Path, url: str) -> None:
    """``pg_restore`` of a dump into the database (objects of the dump are replaced)."""
    if not dump.is_file():
        raise BackupError("no_such_file", path=dump)
    command = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction"]
    done = subprocess.run([*command, "--dbname", url, str(dump)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError("restore_failed", error=(done.stderr.strip().splitlines() or ["pg_restore failed"])[-1])


async def migrate(source: Path, url: str) -> tuple[Counts, Counts]:
    """Copy the SQLite database ``source`` into the empty PostgreSQL database ``url``; (source, copy) counts."""
    if not source.is_file():  # noqa: ASYNC240  # one stat of a local file, before anything runs
        raise BackupError("no_database", path=source)
    try:
        lite = await Database.open(source)  # brings an older file to this version's schema first
    except sqlite3.DatabaseError as error:
        raise BackupError("backup_unusable", path=source, error=error) from error
    try:
        pg = await open_database(url, UTC)
        assert isinstance(pg, PgDatabase)
        try:
            before = await counts(lite)
            existing = await counts(pg)
            if existing.version != before.version:
                raise BackupError("migrate_versions", source=before.version, target=existing.version)
            if existing.cases or existing.events:
                raise BackupError("migrate_not_empty", target=display(url), cases=existing.cases)
            await _copy(lite, pg)
            copied = await counts(pg)
            async with pg.read() as conn:
                checked = await verify(conn)
            if not checked.ok:
                raise BackupError("migrate_journal", event=checked.broken_event_id, reason=checked.reason)
            return before, copied
        finally:
            await pg.close()
    finally:
        await lite.close()


async def _flags(pg: PgDatabase) -> set[tuple[str, str]]:
    """(table, column) of every boolean column: a flag that SQLite keeps as 0/1."""
    async with pg.read() as conn:
        cur = await conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND data_type = 'boolean'"
        )
        return {(str(row[0]), str(row[1])) for row in await cur.fetchall()}


async def _copy(lite: Database, pg: PgDatabase) -> None:
    tables = [t for t in await _tables(lite) if t in set(await _tables(pg))]
    flags = await _flags(pg)
    async with pg.transaction() as target:
        for table in reversed(tables):  # what the migrations put there (the secret in meta): the source's wins
            await target.execute(f"DELETE FROM {table}")
        for table in tables:
            async with lite.read() as conn:
                cur = await conn.execute(f"SELECT * FROM {table}")
                names = [d[0] for d in cur.description or ()]
                data: list[tuple[Any, ...]] = [tuple(row) for row in await cur.fetchall()]
            if not data:
                continue
            columns = ", ".join(names)
            marks = ", ".join("?" for _ in names)
            later = [names.index(c) for c in LATER_COLUMNS.get(table, ()) if c in names]
            booleans = {i for i, name in enumerate(names) if (table, name) in flags}
            rows = [tuple(None if i in later else bool(v) if i in booleans and v is not None else v
                          for i, v in enumerate(row)) for row in data]
            await target.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
            for index in later:
                column = names[index]
                pairs = [(row[index], row[names.index("id")]) for row in data if row[index] is not None]
                if pairs:
                    await target.executemany(f"UPDATE {table} SET {column} = ? WHERE id = ?", pairs)
            if "id" in names:  # identity columns continue after the copied ids
                await target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
