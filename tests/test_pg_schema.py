"""The two migration folders build the same schema: tables, columns, keys, indexes and triggers.

The store's SQL is written once for both backends, so a column or an index
that one folder has and the other lacks, or has otherwise, is a bug waiting
for the other backend. Each side is read from a database its own migrations
just built, and compared: per column its name, nullability, kind of type
(KINDS) and default; per table its primary key, UNIQUE constraints and
triggers (name, BEFORE/AFTER, event); per index its uniqueness, keys in order
(DESC included) and a partial index's WHERE. Foreign keys, CHECK constraints
and what a trigger does are not compared. Flags are INTEGER 0/1 on SQLite and
boolean on PostgreSQL, each listed (BOOLEAN_FLAGS).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import NamedTuple, TypedDict
from zoneinfo import ZoneInfo

import pytest

from store.db import open_database
from tests.backends import fresh_database, rows, tables


class Schema(TypedDict):
    tables: list[str]
    columns: dict[str, list[Column]]  # per table, in order
    keys: dict[str, list[str]]  # per table: its primary key's columns in order
    uniques: dict[str, list[tuple[str, ...]]]  # per table: its UNIQUE constraints' columns, sorted
    indexes: dict[str, Index]  # per index made by CREATE INDEX
    triggers: dict[str, set[tuple[str, str, str]]]  # per table: (name, BEFORE/AFTER, event)


class Column(NamedTuple):
    name: str
    not_null: bool
    kind: str  # from KINDS
    default: str | None  # normalised (norm_sql); "identity" for a key the database numbers


class Index(NamedTuple):
    unique: bool
    columns: tuple[str, ...]  # in order, normalised, each with " desc" when descending
    where: str | None  # a partial index's condition, normalised


#: Each SQLite declared type, the PostgreSQL type that holds the same values, and the kind both are.
#: A type in no row (a date or timestamp type, say) has no kind, so its column fails the comparison.
KINDS: list[tuple[str, str, str]] = [
    # SQLite's INTEGER is a signed integer of up to 8 bytes, as bigint: ids, Telegram ids (over
    # 32 bits), counts. (Flags SQLite keeps as INTEGER 0/1 are boolean on PostgreSQL: BOOLEAN_FLAGS.)
    ("INTEGER", "bigint", "integer"),
    # 4 bytes on PostgreSQL: the same numbers as long as they stay small (levels, ranks, day
    # counts, people); a value past 2**31 would be refused there only.
    ("INTEGER", "integer", "integer"),
    # Both IEEE 754 double precision.
    ("REAL", "double precision", "real"),
    # Unbounded strings. Moments, days and clock times are text on SQLite, and timestamptz, date
    # and time on PostgreSQL (MOMENTS, DAYS, CLOCK_TIMES: store/pg.py reads them back as SQLite's texts).
    ("TEXT", "text", "text"),
    ("TEXT", "timestamp with time zone", "timestamp with time zone"),
    ("TEXT", "date", "date"),
    ("TEXT", "time without time zone", "time without time zone"),
    # People's words: TEXT affinity on SQLite, read back as text there whatever their stored form
    # (store/words.py: GB 18030 or deflated, as a tagged BLOB); text on PostgreSQL.
    ("WORDS TEXT", "text", "text"),
    # Bytes in, bytes out (sqlite3 and psycopg both give bytes).
    ("BLOB", "bytea", "blob"),
    # A flag stored as true/false on PostgreSQL and as 0/1 under SQLite's BOOLEAN (numeric
    # affinity): both come back as something bool() reads alike, if the SQL says WHERE flag, not = 1.
    ("BOOLEAN", "boolean", "boolean"),
]
SQLITE_KINDS = {sqlite: kind for sqlite, _, kind in reversed(KINDS)}  # the first row of a type wins
PG_KINDS = {pg: kind for _, pg, kind in KINDS}

#: Differences by design. A table's one INTEGER PRIMARY KEY is SQLite's rowid, which SQLite
#: numbers when an INSERT leaves it out; there is no declaring it otherwise short of rebuilding the
#: table. These keys are given by the store on every INSERT (a Telegram id, a keyed hash, the
#: owning row's id, a journal's last id plus one in store/journal.py append_chained, a year, the
#: one row 1), so PostgreSQL has a plain key for them, no identity: an INSERT that forgot one is
#: refused there rather than numbered.
KEYS_THE_STORE_GIVES = {
    ("case_numbers", "year"),  # store/cases.py: the year a number is drawn for
    ("identities", "case_id"),  # the case's id
    ("people", "hid"),  # a keyed hash of a Telegram id
    ("rank_basis", "id"),  # always 1 (CHECK (id = 1))
    ("review_studies", "event_id"),  # the journal event's id
    ("roster_journal", "id"),  # append_chained: the last id plus one
    ("staff_candidates", "telegram_id"),
    ("staff_journal", "id"),  # append_chained
    ("staff_members", "telegram_id"),
    ("users", "telegram_id"),
    ("verified_accounts", "telegram_hid"),  # a keyed hash of a Telegram id
}


#: Flags: INTEGER 0/1 on SQLite (which has no boolean), boolean on PostgreSQL (migration 0025). The
#: store's SQL tests them as ``flag`` / ``NOT flag`` and binds Python's bool, which both take; each
#: is compared as SQLite's INTEGER with the default 0 or 1 its PostgreSQL default false or true says.
#: A new flag is added here on purpose: any other boolean column, or one of these that is not
#: boolean on PostgreSQL, is a difference.
BOOLEAN_FLAGS = {
    ("case_messages", "incoming"),
    ("cases", "confidential"),
    ("cases", "final"),
    ("cases", "imported"),
    ("events", "public"),
    ("incidents", "confidential"),
    ("incidents", "is_drill"),
    ("petitioners", "confidential"),
    ("screening_reports", "nil"),
}
FLAG_DEFAULTS = {"false": "0", "true": "1"}


#: Indexes whose entries end with the row's id on SQLite without naming it (an index of a rowid table
#: ends with the rowid, which an INTEGER PRIMARY KEY is): PostgreSQL's twin names it (migration 0035).
ENDS_WITH_THE_ROWID = {"events_by_case": "id"}


#: Moments: TEXT on SQLite (``store.clock.iso()``'s text), timestamptz on PostgreSQL (migration
#: 0026); days: TEXT ``YYYY-MM-DD`` on SQLite, date on PostgreSQL. store/pg.py reads both back as
#: SQLite's texts. Listed on purpose, as the flags are: any other timestamptz or date column, or
#: one of these that is not, is a difference.
MOMENTS = {
    ("alerts", "acknowledged_at"),
    ("alerts", "created_at"),
    ("alerts", "updated_at"),
    ("attachments", "added_at"),
    ("case_cohandlers", "added_at"),
    ("case_links", "linked_at"),
    ("case_messages", "created_at"),
    ("case_petitioners", "claimed_at"),
    ("cases", "accepted_at"),
    ("cases", "closed_at"),
    ("cases", "decided_at"),
    ("cases", "rated_at"),
    ("cases", "rereviewed_at"),
    ("cases", "reviewed_at"),
    ("cases", "submitted_at"),
    ("cases", "updated_at"),
    ("cases", "first_answer_at"),
    ("claim_codes", "created_at"),
    ("claim_codes", "used_at"),
    ("contact_tasks", "created_at"),
    ("contact_tasks", "done_at"),
    ("contact_tasks", "superseded_at"),
    ("conversations", "updated_at"),
    ("dispute_notes", "at"),
    ("disputes", "created_at"),
    ("disputes", "updated_at"),
    ("events", "at"),
    ("hearings", "scheduled_at"),
    ("identities", "created_at"),
    ("incident_events", "at"),
    ("incident_level_changes", "changed_at"),
    ("incident_ticks", "done_at"),
    ("incidents", "closed_at"),
    ("incidents", "opened_at"),
    ("incidents", "updated_at"),
    ("outbox", "created_at"),
    ("outbox", "due_at"),
    ("outbox", "failed_at"),
    ("outbox", "sent_at"),
    ("outbox", "skipped_at"),
    ("pending_acts", "decided_at"),
    ("pending_acts", "drafted_at"),
    ("people", "updated_at"),
    ("petitioners", "created_at"),
    ("petitioners", "updated_at"),
    ("reception_bookings", "cancelled_at"),
    ("reception_bookings", "created_at"),
    ("reception_bookings", "outcome_at"),
    ("reception_bookings", "promoted_at"),
    ("reception_bookings", "reminded_day"),  # since 0027: a moment, sent or passed over (was one, or 'skipped')
    ("reception_bookings", "reminded_hours"),
    ("reception_sessions", "cancelled_at"),
    ("reception_sessions", "created_at"),
    ("reception_sessions", "ends_at"),
    ("reception_sessions", "starts_at"),
    ("reception_sessions", "updated_at"),
    ("reminders", "sent_at"),
    ("review_drafts", "updated_at"),
    ("roster", "updated_at"),
    ("roster_journal", "at"),
    ("screening_journal", "at"),
    ("screening_notices", "sent_at"),
    ("screening_reports", "filed_at"),
    ("staff_candidates", "proposed_at"),
    ("staff_journal", "at"),
    ("staff_members", "updated_at"),
    ("supervision_marks", "sent_at"),
    ("supervisions", "closed_at"),
    ("supervisions", "created_at"),
    ("supervisions", "progress_at"),
    ("sweep_marks", "done_at"),
    ("users", "updated_at"),
    ("verified_accounts", "verified_at"),
    ("warning_notices", "sent_at"),
}
DAYS = {
    ("cases", "accept_due"),
    ("cases", "answer_due"),
    ("cases", "clock_stopped_on"),
    ("cases", "queue_due"),
    ("cases", "rank_next_on"),
    ("cases", "rating_due"),
    ("cases", "received_on"),
    ("cases", "rereview_due"),
    ("cases", "rereview_request_due"),
    ("cases", "review_due"),
    ("cases", "review_request_due"),
    ("cases", "served_on"),
    ("cases", "told_due"),
    ("claim_codes", "expires_on"),
    ("claim_failures", "day"),
    ("contact_tasks", "due_on"),
    ("dispute_notes", "day"),
    ("disputes", "found_day"),
    ("disputes", "resolved_day"),
    ("hearings", "due_after"),
    ("hearings", "due_before"),
    ("hearings", "ended_on"),
    ("hearings", "held_on"),
    ("hearings", "stopped_on"),
    ("reception_sessions", "day"),
    ("reminders", "due"),
    ("review_studies", "studied_on"),
    ("supervisions", "due"),
    ("warning_notices", "due"),
}
#: Clock times of a day ('HH:MM' on SQLite), time on PostgreSQL since 0028.
CLOCK_TIMES = {
    ("reception_sessions", "end_time"),
    ("reception_sessions", "start_time"),
}
TEMPORAL_KINDS = {"timestamp with time zone": MOMENTS, "date": DAYS, "time without time zone": CLOCK_TIMES}


def as_sqlite_flag(table: str, column: Column) -> Column:
    """A PostgreSQL column of BOOLEAN_FLAGS, MOMENTS, DAYS or CLOCK_TIMES as SQLite spells it (a listed one of
    another type: said so)."""
    for kind, listed in TEMPORAL_KINDS.items():
        if (table, column.name) in listed:
            if column.kind != kind:
                return column._replace(kind=f"{column.kind}, not {kind} (MOMENTS, DAYS, CLOCK_TIMES)")
            return column._replace(kind="text")
    if (table, column.name) not in BOOLEAN_FLAGS:
        return column
    if column.kind != "boolean":
        return column._replace(kind=f"{column.kind}, not boolean (BOOLEAN_FLAGS)")
    return column._replace(kind="integer", default=FLAG_DEFAULTS.get(column.default or "", column.default))


def norm_sql(text: str | None) -> str | None:
    """An expression as both backends would compare alike: PostgreSQL's ``::type`` casts and the
    parentheses it adds taken away, ``= ANY (ARRAY[…])`` read back as ``IN (…)``, case and spaces
    outside quotes evened out. Lossy (a parenthesis that groups is lost too), but no default or
    partial index's condition here depends on one."""
    if text is None:
        return None
    text = re.sub(r"= ANY \(ARRAY\[(.*?)\]\)", r"IN \1", text)
    text = re.sub(r"::(text|bigint|integer|smallint|double precision|boolean|bytea|regclass)\b(\[\])?", "", text)
    # Outside quotes (the even pieces of a split at '): no parentheses, lower case, single spaces.
    pieces = text.split("'")
    pieces[::2] = [re.sub(r"\s+", " ", re.sub(r"[()]", " ", piece)).lower() for piece in pieces[::2]]
    return re.sub(r" ,", ",", "'".join(pieces)).strip()


def sqlite_kind(declared: str) -> str:
    return SQLITE_KINDS.get(declared.upper(), f"no kind for SQLite's {declared!r}")


def pg_kind(data_type: str) -> str:
    return PG_KINDS.get(data_type, f"no kind for PostgreSQL's {data_type!r}")


def split_top_level(text: str) -> list[str]:
    """``text`` cut at the commas outside parentheses and quotes."""
    parts, depth, quoted, current = [], 0, False, ""
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        if char == "," and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def index_key(part: str) -> str:
    """One key of an index, normalised: its column or expression, `` desc`` when descending."""
    key = norm_sql(part) or ""
    key = re.sub(r" asc$", "", key)
    return key


def sqlite_index(sql: str, unique: bool) -> Index:
    """An index from its CREATE INDEX statement (SQLite keeps it as written): the keys between the
    parenthesis after ``ON table`` and the one that closes it, then a partial index's WHERE."""
    match = re.match(r"(?is)CREATE\s+(?:UNIQUE\s+)?INDEX\s+\w+\s+ON\s+\w+\s*\(", sql)
    assert match, sql
    depth, start = 1, match.end()
    end = start
    while depth:
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        end += 1
    rest = sql[end:].strip()
    where = re.match(r"(?is)WHERE\s+(.*)$", rest)
    assert where or not rest, sql
    return Index(unique, tuple(index_key(p) for p in split_top_level(sql[start:end - 1])),
                 norm_sql(where.group(1) if where else None))


TRIGGER = re.compile(
    r"(?is)CREATE\s+TRIGGER\s+(\w+)\s+(BEFORE|AFTER|INSTEAD\s+OF)?\s*"
    r"(INSERT|DELETE|UPDATE(?:\s+OF\s+\w+(?:\s*,\s*\w+)*)?)\s+ON\s+(?:\w+\.)?(\w+)")


def trigger(sql: str) -> tuple[str, str, tuple[str, str, str]]:
    """(table, name, (name, timing, event)) from a CREATE TRIGGER statement: SQLite's as written,
    PostgreSQL's from pg_get_triggerdef. BEFORE is SQLite's default timing; the event keeps an
    UPDATE's column list (UPDATE OF status). A WHEN clause is not compared: PostgreSQL's triggers
    here test it inside their function."""
    match = TRIGGER.match(sql.strip())
    assert match, sql
    name, timing, event, table = match.groups()
    timing = " ".join((timing or "BEFORE").upper().split())
    event = re.sub(r"\s*,\s*", ", ", " ".join(event.split())).upper()
    return table, name, (name, timing, event)


def migration_files(package: str) -> list[str]:
    return sorted(e.name for e in resources.files(package).iterdir() if e.name.endswith(".sql"))


def sqlite_schema(path: str) -> Schema:
    names = sorted(t for t in tables(path) if not t.startswith("sqlite_"))
    columns: dict[str, list[Column]] = {}
    keys: dict[str, list[str]] = {}
    uniques: dict[str, list[tuple[str, ...]]] = {}
    indexes: dict[str, Index] = {}
    triggers: dict[str, set[tuple[str, str, str]]] = {table: set() for table in names}
    for table in names:
        info = rows(path, f"PRAGMA table_info({table})")  # cid, name, type, notnull, default, pk
        keys[table] = [name for _, name, _, _, _, pk in sorted(info, key=lambda c: c[5]) if pk > 0]
        # A table's one INTEGER PRIMARY KEY is its rowid (unless WITHOUT ROWID): SQLite numbers it
        # when a row leaves it out.
        ((created,),) = rows(path, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table)
        rowid = keys[table][0] if len(keys[table]) == 1 and "WITHOUT ROWID" not in created.upper() and any(
            c[1] == keys[table][0] and c[2].upper() == "INTEGER" for c in info) else None
        columns[table] = [
            # A primary key column is NOT NULL on PostgreSQL; SQLite's pragma reports it as nullable.
            Column(name, bool(notnull) or pk > 0, sqlite_kind(declared),
                   "identity" if name == rowid else norm_sql(default))
            for _, name, declared, notnull, default, pk in info
        ]
        uniques[table] = []
        for _, name, unique, origin, _ in rows(path, f"PRAGMA index_list({table})"):
            if origin == "u":  # behind a UNIQUE constraint: named by SQLite, compared by its columns
                info = rows(path, f"PRAGMA index_info({name})")  # seqno, cid, name
                uniques[table].append(tuple(column for _, _, column in sorted(info)))
            if origin == "c":  # created by CREATE INDEX, not behind a PRIMARY KEY or UNIQUE constraint
                ((sql,),) = rows(path, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", name)
                indexes[name] = sqlite_index(sql, bool(unique))
    for (sql,) in rows(path, "SELECT sql FROM sqlite_master WHERE type = 'trigger'"):
        table, _, row = trigger(sql)
        triggers[table].add(row)
    uniques = {table: sorted(found) for table, found in uniques.items()}
    return {"tables": names, "columns": columns, "keys": keys, "uniques": uniques, "indexes": indexes,
            "triggers": triggers}


def pg_schema(url: str) -> Schema:
    names = sorted(t for t in tables(url) if t != "schema_version")  # the migration runner's own table
    columns: dict[str, list[Column]] = {}
    keys: dict[str, list[str]] = {}
    triggers: dict[str, set[tuple[str, str, str]]] = {table: set() for table in names}
    for table in names:
        columns[table] = [
            Column(name, nullable == "NO", pg_kind(data_type),
                   # An identity column, or a serial one (a sequence's nextval), is numbered by the database.
                   "identity" if identity == "YES" or (default or "").startswith("nextval(") else norm_sql(default))
            for name, nullable, data_type, default, identity in rows(
                url,
                "SELECT column_name, is_nullable, data_type, column_default, is_identity"
                " FROM information_schema.columns"
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
    indexes: dict[str, Index] = {}
    for oid, name, unique, keycount, options, where in rows(
        url,
        "SELECT x.indexrelid::bigint, i.relname, x.indisunique, x.indnkeyatts, x.indoption::int2[],"
        " pg_get_expr(x.indpred, x.indrelid)"
        " FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_namespace n ON n.oid = i.relnamespace"
        " WHERE n.nspname = current_schema()"
        "  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
    ):
        parts = [
            part
            for (part,) in rows(
                url,
                "SELECT pg_get_indexdef(?::oid, k, true) FROM generate_series(1, ?) k ORDER BY k",
                oid, keycount,
            )
        ]
        # indoption's bit 1 is DESC (pg_index.h: INDOPTION_DESC).
        keys_in_order = tuple(
            index_key(part) + (" desc" if option & 1 else "") for part, option in zip(parts, options, strict=True))
        indexes[name] = Index(bool(unique), keys_in_order, norm_sql(where))
    for (sql,) in rows(
        url,
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND NOT t.tgisinternal",
    ):
        table, _, row = trigger(sql)
        triggers[table].add(row)
    uniques: dict[str, list[tuple[str, ...]]] = {table: [] for table in names}
    for table, found in rows(
        url,
        "SELECT t.relname, array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k (num, i)"
        "  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.i)"
        " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
        " JOIN pg_namespace n ON n.oid = t.relnamespace"
        " WHERE n.nspname = current_schema() AND c.contype = 'u'",
    ):
        uniques[table].append(tuple(found))
    uniques = {table: sorted(found) for table, found in uniques.items()}
    return {"tables": names, "columns": columns, "keys": keys, "uniques": uniques, "indexes": indexes,
            "triggers": triggers}


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
    # The comparison reads something on both sides: a reader that found nothing would pass.
    assert sum(len(found) for found in sqlite["triggers"].values()) >= 12
    assert any(index.where for index in sqlite["indexes"].values())
    assert {column.default for table in sqlite["columns"].values() for column in table} >= {"0", "'[]'", "identity"}
    differences = schema_differences(sqlite, postgresql)
    assert not differences, "\n".join(differences)
    booleans = {(table, c.name) for table, found in postgresql["columns"].items() for c in found if c.kind == "boolean"}
    assert booleans == BOOLEAN_FLAGS
    for kind, listed in TEMPORAL_KINDS.items():
        assert {(table, c.name) for table, found in postgresql["columns"].items() for c in found if c.kind == kind} == listed


def schema_differences(sqlite: Schema, postgresql: Schema) -> list[str]:
    """Every way the two schemas differ, but for KEYS_THE_STORE_GIVES and BOOLEAN_FLAGS, one line each."""
    differences = []
    for table in sqlite["tables"]:
        pg_columns = [
            column._replace(default="identity") if (table, column.name) in KEYS_THE_STORE_GIVES
            and column.default is None else as_sqlite_flag(table, column)
            for column in postgresql["columns"][table]
        ]
        if [c.name for c in sqlite["columns"][table]] != [c.name for c in pg_columns]:
            differences.append(f"{table}: columns {[c.name for c in sqlite['columns'][table]]}"
                               f" on SQLite, {[c.name for c in pg_columns]} on PostgreSQL")
        differences += [
            f"{table}: {mine} on SQLite, {theirs} on PostgreSQL"
            for mine, theirs in zip(sqlite["columns"][table], pg_columns, strict=False) if mine != theirs
        ]
        for part in ("keys", "uniques", "triggers"):
            mine, theirs = sqlite[part][table], postgresql[part][table]
            if mine != theirs:
                differences.append(f"{table}: {part} {sorted(mine)} on SQLite, {sorted(theirs)} on PostgreSQL")
    for name in sorted(set(sqlite["indexes"]) | set(postgresql["indexes"])):
        mine_index, their_index = sqlite["indexes"].get(name), postgresql["indexes"].get(name)
        if mine_index is not None and name in ENDS_WITH_THE_ROWID:
            mine_index = mine_index._replace(columns=(*mine_index.columns, ENDS_WITH_THE_ROWID[name]))
        if mine_index != their_index:
            differences.append(f"index {name}: {mine_index} on SQLite, {their_index} on PostgreSQL")
    return differences


def one_table(table: str, *columns: Column) -> Schema:
    return {"tables": [table], "columns": {table: list(columns)}, "keys": {table: []}, "uniques": {table: []},
            "indexes": {}, "triggers": {table: set()}}


def test_a_flag_is_integer_on_sqlite_and_boolean_on_postgresql_and_nothing_else_passes() -> None:
    sqlite = one_table("cases", Column("confidential", True, "integer", "0"), Column("people", False, "integer", None))
    same = one_table("cases", Column("confidential", True, "boolean", "false"), Column("people", False, "integer", None))
    assert schema_differences(sqlite, same) == []
    for wrong in (
        Column("confidential", True, "boolean", "true"),  # another default
        Column("confidential", False, "boolean", "false"),  # nullable
        Column("confidential", True, "integer", "0"),  # listed, yet still an integer on PostgreSQL
    ):
        assert schema_differences(sqlite, one_table("cases", wrong, same["columns"]["cases"][1])) != [], wrong
    # A boolean column nobody listed (people is no flag) differs from SQLite's INTEGER.
    unlisted = one_table("cases", same["columns"]["cases"][0], Column("people", False, "boolean", None))
    assert schema_differences(sqlite, unlisted) != []


@pytest.mark.parametrize(("sqlite", "postgresql"), [
    # How each backend gives back what the migrations wrote alike.
    ("'{}'", "'{}'::text"),
    ("0", "0"),
    ("action IN ('accept', 'decline')", "(action = ANY (ARRAY['accept'::text, 'decline'::text]))"),
    ("done_at IS NULL AND superseded_at IS NULL", "((done_at IS NULL) AND (superseded_at IS NULL))"),
    ("status = 'open' AND x IS NOT NULL", "((status = 'open'::text) AND (x IS NOT NULL))"),
])
def test_the_same_expression_reads_the_same_from_both(sqlite: str, postgresql: str) -> None:
    assert norm_sql(sqlite) == norm_sql(postgresql)


@pytest.mark.parametrize(("one", "other"), [
    ("'open'", "'OPEN'"),  # case inside quotes counts
    ("'{}'", "'[]'"),
    ("0", "1"),
    ("sent_at IS NULL AND failed_at IS NULL", "sent_at IS NULL"),
])
def test_different_expressions_stay_different(one: str, other: str) -> None:
    assert norm_sql(one) != norm_sql(other)


def test_an_index_and_a_trigger_are_read_from_their_sql() -> None:
    sqlite = sqlite_index("CREATE UNIQUE INDEX one ON bookings (session_id, user_id DESC)\n"
                          "    WHERE status IN ('booked', 'waiting')", True)
    assert sqlite == Index(True, ("session_id", "user_id desc"), "status in 'booked', 'waiting'")
    assert sqlite_index("CREATE INDEX two ON cases (lower(name), id ASC)", False).columns == ("lower name", "id")
    assert trigger("CREATE TRIGGER t BEFORE UPDATE OF status ON reception_bookings WHEN NEW.status = 'x' BEGIN END") \
        == ("reception_bookings", "t", ("t", "BEFORE", "UPDATE OF STATUS"))
    assert trigger("CREATE TRIGGER t UPDATE ON events BEGIN END")[2] == ("t", "BEFORE", "UPDATE")  # SQLite's default
    assert trigger("CREATE TRIGGER t AFTER DELETE ON public.events FOR EACH ROW EXECUTE FUNCTION f()") \
        == ("events", "t", ("t", "AFTER", "DELETE"))
    assert sqlite_kind("integer") == pg_kind("bigint") == pg_kind("integer") == "integer"
    assert sqlite_kind("TEXT") == pg_kind("text") != pg_kind("timestamp with time zone")


#: What migration 0031 changed (the first answer's moment on the case; the journal's index it replaced), undone.
#: What migrations 0033 and 0037 added (the changes counted by unit and month, store/trend_memo.py; 0037
#: replaced 0033's count by month), removed: their triggers name the columns older migrations add, which
#: cannot be dropped under them.
UNDO_CHANGE_MARKS = {
    "sqlite": ["DROP TRIGGER unit_month_inserted", "DROP TRIGGER unit_month_changed",
               "DROP TRIGGER unit_month_followed_up", "DROP TABLE unit_month_changes"],
    "postgresql": ["DROP TRIGGER unit_month_inserted ON cases", "DROP TRIGGER unit_month_changed ON cases",
                   "DROP TRIGGER unit_month_followed_up ON events", "DROP FUNCTION unit_month_changed()",
                   "DROP FUNCTION unit_month_mark(text, text)", "DROP TABLE unit_month_changes"],
}


def before_0031(backend: str) -> list[str]:
    """What migration 0031 added (the first answer on the case), removed, 0033's and 0037's undone first."""
    return [*UNDO_CHANGE_MARKS[backend], "ALTER TABLE cases DROP COLUMN first_answer_at",
            "CREATE INDEX events_first_answer ON events (case_id) WHERE action IN ('accept', 'decline', 'decide')"]


def before_0029(backend: str) -> list[str]:
    """What migration 0029 added (the told warning level), removed, and what later ones changed
    (``before_0031``) undone first: they all run again after the older ones."""
    return [*before_0031(backend), "DROP INDEX cases_untold", "ALTER TABLE cases DROP COLUMN told_rank",
            "ALTER TABLE cases DROP COLUMN told_due"]


def before_0026(backend: str) -> list[str]:
    """What migrations 0026 to 0029 changed, undone: 0029's columns gone (``before_0029``), and moments, days
    and clock times as the texts they were (SQLite: 0029 alone).

    0027's data step (a reminder's 'skipped' becomes a moment) finds nothing to change when it runs again.
    """
    if backend == "sqlite":
        return before_0029(backend)
    days = DAYS - {("cases", "told_due")}  # a column of 0029's, dropped first
    moments = MOMENTS - {("cases", "first_answer_at")}  # 0031's, dropped first
    undo: dict[str, list[str]] = {table: [] for table, _ in sorted(moments | days | CLOCK_TIMES)}
    for table, column in sorted(moments):
        undo[table].append(f"ALTER COLUMN {column} TYPE TEXT"
                           f" USING to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')")
    for table, column in sorted(days):
        undo[table].append(f"ALTER COLUMN {column} TYPE TEXT USING to_char({column}, 'YYYY-MM-DD')")
    for table, column in sorted(CLOCK_TIMES):
        undo[table].append(f"ALTER COLUMN {column} TYPE TEXT USING to_char({column}, 'HH24:MI')")
    return [*before_0029(backend), *(f"ALTER TABLE {table} {', '.join(parts)}" for table, parts in undo.items())]


@pytest.mark.postgresql
async def test_cases_are_vacuumed_often_and_fully_on_postgresql(tmp_path: Path) -> None:
    """Migration 0030: the queue's count reads cases_by_rank alone only where autovacuum left pages all-visible."""
    async with fresh_database("postgresql", tmp_path, migrated=True) as url:
        (options,) = rows(url, "SELECT reloptions FROM pg_class WHERE relname = 'cases'"
                               " AND relnamespace = current_schema()::regnamespace")
    assert set(options[0]) == {"vacuum_index_cleanup=on", "autovacuum_vacuum_scale_factor=0.01",
                               "autovacuum_vacuum_insert_scale_factor=0.01", "autovacuum_analyze_scale_factor=0.02"}
