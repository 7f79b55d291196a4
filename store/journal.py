"""The append-only event journal with its SHA-256 hash chain.

Each event's hash covers the previous event's hash and the event's own
content, so changing, inserting or deleting any row breaks every link after
it. ``verify`` recomputes the chain from the first row.

The hash is computed over a canonical form, the same whatever the storage:
the previous hash as 64 lowercase hex characters, then the event's fields as
compact, key-sorted JSON (``data`` as its stored JSON text, ``public`` as 0
or 1). How a row keeps its hash may change without breaking a link:

- rows written before migration 0023 keep ``hash`` and ``prev_hash`` as hex
  text (never rewritten);
- rows written since, in a *compact* table (the cases' ``events``), keep the
  32 bytes in ``digest`` (BLOB / bytea), leave ``hash`` and ``prev_hash``
  empty (the previous hash is the previous row's, so storing it again said
  nothing ``verify`` does not recompute) and store ``data`` without spaces;
- since migration 0034 their ``body`` and ``data`` are stored compactly on
  SQLite (store/words.py) and read back as the same text: the hash covers
  the text, whatever its stored form;
- since migration 0035 moments are stored to the second (``…:00Z``,
  store/clock.py): the hash covers ``at`` in the form it had before
  (``…:00.000000+00:00``, ``hashed_moment``), so older rows hash their very
  text and the rule is one for all.

Old and new rows chain together: a new row's previous hash is the last row's
hash in hex, whichever way that row keeps it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from store.clock import hashed_moment
from store.db import Connection
from store.safetext import clean, clean_deep, clean_optional
from store.words import COLUMNS, Words

GENESIS = "0" * 64
#: The tables whose new rows keep their hash as 32 bytes in ``digest`` (migration 0023).
COMPACT = frozenset({"events"})


def event_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """SHA-256 of the previous hash (hex) and the canonical JSON of the content, as hex."""
    if isinstance(content.get("at"), str):
        content = {**content, "at": hashed_moment(content["at"])}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _digest(row: Any) -> Any:
    """The row's ``digest`` (a dict, sqlite3's Row or store.pg's Row: ``in`` on the latter two tests values)."""
    names = row.keys()
    return row["digest"] if "digest" in names else None


def stored_hash(row: Any) -> str:
    """A row's hash in the canonical form (64 lowercase hex), whichever way the row keeps it."""
    digest = _digest(row)
    if digest is not None:
        return bytes(digest).hex()  # bytes from SQLite's BLOB, bytes or memoryview from bytea
    value = row["hash"]
    return bytes(value).hex() if isinstance(value, bytes | bytearray | memoryview) else str(value).lower()


def is_compact(row: Any) -> bool:
    """Whether a row was written in the compact form (its hash in ``digest``)."""
    return _digest(row) is not None


def data_text(data: Any, *, compact: bool = True) -> str:
    """An event's ``data`` as stored JSON text: compact for new rows, as before 0023 for the older ones.

    A row's stored text is what its hash covers; were the column ever read
    back as a parsed document (PostgreSQL's jsonb), this gives the same text
    again for rows of either form (both are key-sorted, non-ASCII kept).
    """
    if isinstance(data, str):
        return data
    if compact:
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _number(value: Any) -> Any:
    return None if value is None else int(value)


def _content(row: Any) -> dict[str, Any]:
    """The hashed fields of an event, in their canonical types (``data`` as its stored JSON text)."""
    return {
        "id": _number(row["id"]),
        "case_id": _number(row["case_id"]),
        "at": row["at"],
        "actor_id": _number(row["actor_id"]),
        "actor_role": row["actor_role"],
        "action": row["action"],
        "status_after": row["status_after"],
        "body": row["body"],
        "data": data_text(row["data"], compact=is_compact(row)),
        "public": int(row["public"]),  # 1 or 0, as hashed ever since: PostgreSQL's boolean too
    }


async def append(
    conn: Connection,
    *,
    case_id: int,
    at: str,
    actor_id: int | None,
    actor_role: str,
    action: str,
    status_after: str,
    body: str | None,
    data: dict[str, Any],
    public: bool,
) -> int:
    """Append one event inside the caller's transaction; returns its id."""
    return await append_chained(conn, "events", {
        "case_id": case_id,
        "at": at,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "action": action,
        "status_after": status_after,
        "body": clean_optional(body),
        "data": data_text(clean_deep(data), compact="events" in COMPACT),
        "public": bool(public),  # hashed as 1 or 0 all the same (_content)
    }, _content)


async def append_chained(
    conn: Connection, table: str, row: dict[str, Any], content: Callable[[dict[str, Any]], dict[str, Any]]
) -> int:
    """Append ``row`` to a hash-chained table (``id``, its columns, ``prev_hash``, ``hash``); returns its id.

    Every journal (the cases', the group-incident plan's, the screening
    register's) chains the same way, so one ``verify-journal`` checks them all.
    The caller's transaction serializes writers: the id is the last one plus one.
    A table in ``COMPACT`` keeps the hash as 32 bytes in ``digest`` (``hash`` and
    ``prev_hash`` empty); the others as hex text in ``hash``, beside ``prev_hash``.
    The last row is read once per transaction (or handed over by ``know_head``): a transaction that
    journals three events reads the chain's head once.
    """
    last_id, prev_hash = await _head(conn, table)
    row = {k: clean(v) if isinstance(v, str) else v for k, v in row.items()}  # what is hashed is what is stored
    full = {"id": last_id + 1, **row}
    new_hash = event_hash(prev_hash, content(full))
    stored = full
    if table in COMPACT:
        chained = {"prev_hash": "", "hash": "", "digest": bytes.fromhex(new_hash)}
        # What was hashed is the text; its stored form is the shortest (store/words.py, on SQLite).
        # (Their columns of people's words, ``WORDS TEXT`` since migration 0034.)
        stored = {**full, **{k: Words(full[k]) for k in COLUMNS.get(table, ()) if isinstance(full.get(k), str)}}
    else:
        chained = {"prev_hash": prev_hash, "hash": new_hash}
    columns = [*full, *chained]
    conn.heads[table] = (last_id + 1, new_hash)  # the next append in this transaction chains on it unread
    conn.later(  # its id is known: the insert goes with the transaction's next statement
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
        {**stored, **chained},
    )
    return int(full["id"])


def head_statement(table: str) -> tuple[str, tuple[()]]:
    """The statement that reads a chained table's last row (its id and hash): for a transaction that
    sends it in a batch of its own reads (``Connection.together``), then hands the rows to ``know_head``."""
    digest = ", digest" if table in COMPACT else ""
    return f"SELECT id, hash{digest} FROM {table} ORDER BY id DESC LIMIT 1", ()


def know_head(conn: Connection, table: str, rows: list[Any]) -> None:
    """What ``head_statement`` read, in this transaction (which holds the writer): no read at the append."""
    conn.heads[table] = (int(rows[0]["id"]), stored_hash(rows[0])) if rows else (0, GENESIS)


async def _head(conn: Connection, table: str) -> tuple[int, str]:
    """The last row's id and hash: read once per transaction, then kept on the connection (``heads``),
    since the transaction holds the writer and every append in it goes through here."""
    known = conn.heads.get(table)
    if known is None:
        sql, params = head_statement(table)
        async with conn.execute(sql, params) as cur:
            last = await cur.fetchone()
        known = (int(last["id"]), stored_hash(last)) if last else (0, GENESIS)
        conn.heads[table] = known
    return known


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_event_id: int | None = None
    reason: str = ""


async def verify(conn: Connection) -> VerifyResult:
    """Recompute the cases' chain; report the first event whose link does not hold."""
    return await verify_chained(conn, "events", _content)


async def verify_chained(
    conn: Connection, table: str, content: Callable[[dict[str, Any]], dict[str, Any]]
) -> VerifyResult:
    """Recompute a hash-chained table from its first row; the first row whose link does not hold.

    Rows of both forms (hex text, 32-byte ``digest``) are compared in the
    canonical form; a compact row stores no previous hash, so its link is
    its own hash, computed over the previous row's.
    """
    prev_hash = GENESIS
    prev_id = 0
    checked = 0
    async with conn.execute(f"SELECT * FROM {table} ORDER BY id") as cur:
        async for raw in cur:
            row = dict(raw)
            compact = is_compact(row)
            # A compact row's link is its own hash; a row missing before it (ids run on by one) is named first.
            if compact and int(row["id"]) != prev_id + 1:
                return VerifyResult(False, checked, row["id"], "previous hash does not match")
            if not compact and str(row["prev_hash"]).lower() != prev_hash:
                return VerifyResult(False, checked, row["id"], "previous hash does not match")
            if compact and (row["prev_hash"] or row["hash"]):
                return VerifyResult(False, checked, row["id"], "a compact row carries a text hash")
            if event_hash(prev_hash, content(row)) != stored_hash(row):
                return VerifyResult(False, checked, row["id"], "content does not match its hash")
            prev_hash = stored_hash(row)
            prev_id = int(row["id"])
            checked += 1
    return VerifyResult(True, checked)
