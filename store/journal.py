"""The append-only event journal with its SHA-256 hash chain.

Each event's hash covers the previous event's hash and the event's own
content, so changing, inserting or deleting any row breaks every link after
it. ``verify`` recomputes the chain from the first row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from store.db import Connection
from store.safetext import clean, clean_deep, clean_optional

GENESIS = "0" * 64


def event_hash(prev_hash: str, content: dict[str, Any]) -> str:
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _content(row: dict[str, Any]) -> dict[str, Any]:
    """The hashed fields of an event (``data`` as its stored JSON text)."""
    return {
        "id": row["id"],
        "case_id": row["case_id"],
        "at": row["at"],
        "actor_id": row["actor_id"],
        "actor_role": row["actor_role"],
        "action": row["action"],
        "status_after": row["status_after"],
        "body": row["body"],
        "data": row["data"],
        "public": int(row["public"]),
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
        "data": json.dumps(clean_deep(data), ensure_ascii=False, sort_keys=True),
        "public": int(public),
    }, _content)


async def append_chained(
    conn: Connection, table: str, row: dict[str, Any], content: Callable[[dict[str, Any]], dict[str, Any]]
) -> int:
    """Append ``row`` to a hash-chained table (``id``, its columns, ``prev_hash``, ``hash``); returns its id.

    Every journal (the cases', the group-incident plan's, the screening
    register's) chains the same way, so one ``verify-journal`` checks them all.
    The caller's transaction serializes writers: the id is the last one plus one.
    """
    async with conn.execute(f"SELECT id, hash FROM {table} ORDER BY id DESC LIMIT 1") as cur:
        last = await cur.fetchone()
    prev_hash = last["hash"] if last else GENESIS
    row = {k: clean(v) if isinstance(v, str) else v for k, v in row.items()}  # what is hashed is what is stored
    full = {"id": int(last["id"] if last else 0) + 1, **row}
    columns = [*full, "prev_hash", "hash"]
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
        {**full, "prev_hash": prev_hash, "hash": event_hash(prev_hash, content(full))},
    )
    return int(full["id"])


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
    """Recompute a hash-chained table from its first row; the first row whose link does not hold."""
    prev_hash = GENESIS
    checked = 0
    async with conn.execute(f"SELECT * FROM {table} ORDER BY id") as cur:
        async for raw in cur:
            row = dict(raw)
            if row["prev_hash"] != prev_hash:
                return VerifyResult(False, checked, row["id"], "previous hash does not match")
            if event_hash(prev_hash, content(row)) != row["hash"]:
                return VerifyResult(False, checked, row["id"], "content does not match its hash")
            prev_hash = row["hash"]
            checked += 1
    return VerifyResult(True, checked)
