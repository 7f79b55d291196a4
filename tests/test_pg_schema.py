"""The two migration folders build the same schema: tables, columns (names, nullability), keys and indexes.

The store's SQL is written once for both backends, so a column or an index
that one folder has and the other lacks is a bug waiting for the other
backend. Each side is read from a database its own migrations just built.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TypedDict
from zoneinfo import ZoneInfo

import pytest

from store.db import open_database
from tests.backends import fresh_database, rows, tables


class Schema(TypedDict):
    tables: list[str]
    columns: dict[str, list[tuple[str, bool]]]  # per table: (name, NOT NULL) in order
    keys: dict[str, list[str]]  # per table: its primary key's columns in order
    indexes: dict[str, bool]  # per index: unique


def migration_files(package: str) -> list[str]:
    return sorted(e.name for e in resources.files(package).iterdir() if e.name.endswith(".sql"))


def sqlite_schema(path: str) -> Schema:
    names = sorted(t for t in tables(path) if not t.startswith("sqlite_"))
    columns: dict[str, list[tuple[str, bool]]] = {}
    keys: dict[str, list[str]] = {}
    indexes: dict[str, bool] = {}
    for table in names:
        info = rows(path, f"PRAGMA table_info({table})")  # cid, name, type, notnull, default, pk
        # A primary key column is NOT NULL on PostgreSQL; SQLite's pragma reports it as nullable.
        columns[table] = [(name, bool(notnull) or pk > 0) for _, name, _, notnull, _, pk in info]
        keys[table] = [name for _, name, _, _, _, pk in sorted(info, key=lambda c: c[5]) if pk > 0]
        for _, name, unique, origin, _ in rows(path, f"PRAGMA index_list({table})"):
            if origin == "c":  # created by CREATE INDEX, not behind a PRIMARY KEY or UNIQUE constraint
                indexes[name] = bool(unique)
    return {"tables": names, "columns": columns, "keys": keys, "indexes": indexes}


def pg_schema(url: str) -> Schema:
    names = sorted(t for t in tables(url) if t != "schema_version")  # the migration runner's own table
    columns: dict[str, list[tuple[str, bool]]] = {}
    keys: dict[str, list[str]] = {}
    for table in names:
        columns[table] = [
            (name, nullable == "NO")
            for name, nullable in rows(
                url,
                "SELECT column_name, is_nullable FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                table,
            )
        ]
        keys[table] = [
            name
            for (name,) in rows(
                url,
                "SELECT k.column_name FROM information_schema.table_constraints c"
                " JOIN information_schema.key_column_usage k"
                "  ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name"
                " WHERE c.table_schema = current_schema() AND c.table_name = ?"
                "  AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position",
                table,
            )
        ]
    indexes = {
        name: bool(unique)
        for name, unique in rows(
            url,
            "SELECT i.relname, x.indisunique FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_namespace n ON n.oid = i.relnamespace"
            " WHERE n.nspname = current_schema()"
            "  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        )
    }
    return {"tables": names, "columns": columns, "keys": keys, "indexes": indexes}


def test_both_folders_have_the_same_numbered_migrations() -> None:
    sqlite = migration_files("store.migrations")
    postgresql = migration_files("store.migrations.postgresql")
    assert sqlite and sqlite == postgresql
    numbers = [int(name.split("_", 1)[0]) for name in sqlite]
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.slow
async def test_sqlite_and_postgresql_migrations_build_the_same_schema(tmp_path: Path) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    schemas: dict[str, Schema] = {}
    for backend in ("sqlite", "postgresql"):
        async with fresh_database(backend, tmp_path, "schema.db") as target:
            db = await open_database(target, tz)
            await db.close()
            schemas[backend] = sqlite_schema(target) if backend == "sqlite" else pg_schema(target)
    sqlite, postgresql = schemas["sqlite"], schemas["postgresql"]
    assert {"cases", "events", "outbox", "reception_bookings"} <= set(sqlite["tables"])
    assert sqlite["tables"] == postgresql["tables"]
    for table in sqlite["tables"]:
        assert sqlite["columns"][table] == postgresql["columns"][table], table
        assert sqlite["keys"][table] == postgresql["keys"][table], table
    assert sqlite["indexes"] == postgresql["indexes"]
