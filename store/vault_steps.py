"""The vault's data migrations: run once by ``Services.open`` after the SQL migrations.

Encrypting rows written before the vault existed needs the key, which SQL
cannot have, so these steps are Python, versioned by the ``vault_version``
row of ``meta`` and each run in one transaction with its version bump.
Step 1 seals what older versions kept in clear; step 2 gives a confidential
case's files the neutral names the store now writes (``store/filenames.py``);
step 3 seals every ``v1.`` value again as ``v2.``, bound to its table, column
and row (``store/vault.py``): the old values open while the step runs, and
never after it. Step 4 keys the recorded messages (``case_messages``) per
message, the verified accounts (``verified_accounts``) and the reception
bookings (``reception_bookings``) under labels of their own instead of the
person's ``hid``, which a confidential case keeps its reporter by: a copy of the database could join them to a named case or to the roster.
Step 5 does the same for the register: a real-name record's bound account
(``petitioners.telegram_hid``), the claim codes used for it (``claim_codes.used_by``)
and the outbox rows that told its claimant are keyed by the claim key
(``StoreContext.claim_key``); a confidential record keeps the ``hid``.
Step 6 seals the case number of a prompt left waiting (``conversations``, name
``prompt``): the row is keyed by the person's ``hid``, and a real-name case's
number beside it would name a confidential reporter.
Step 7 seals a confidential case's files' ``file_id``, drops their
``file_unique_id`` and rounds their size up (``store/filenames.py``): the same
file sent to a real-name case kept the same values, a join to the reporter's name.

The ``vault_check`` row holds a value sealed under the key: a database opened
with another key (a lost key file replaced by a fresh one, a wrong
``PETITION_SECRET_KEY``) stops at once instead of mixing two keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

from store import filenames
from store.clock import iso
from store.context import conv_where, file_where
from store.db import Backend, Connection
from store.models import FileKind
from store.vault import SEALED, Vault, VaultError, Where, is_hid, is_sealed

log = logging.getLogger(__name__)

CHECK = "petition-bot vault"
CHECK_WHERE: Where = ("meta", "value", "vault_check")
VERSION = 7
#: Every sealed column outside the conversations: (table, its key column, the sealed column).
SEALED_COLUMNS = (
    ("identities", "case_id", "sealed"),
    ("people", "hid", "sealed"),
    ("reception_bookings", "id", "user_name"),
    ("petitioners", "id", "sealed"),  # a confidential reporter's record (store/ledger.py)
    ("roster", "employee_no", "phone_sealed"),  # the employee roster (store/roster.py)
    ("roster", "employee_no", "id_tail_sealed"),
    ("meta", "key", "value"),
    ("attachments", "id", "file_id"),  # a confidential case's files (StoreContext.attach)
)


async def _meta(conn: Connection, key: str) -> str | None:
    async with conn.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
        row = await cur.fetchone()
    return None if row is None else row["value"]


async def _set_meta(conn: Connection, key: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def run(db: Backend, vault: Vault) -> None:
    rewrote = False
    async with db.transaction() as conn:
        check = await _meta(conn, "vault_check")
        if check is None:
            await _set_meta(conn, "vault_check", vault.seal(CHECK, CHECK_WHERE))
        else:
            try:
                ok = vault.open(check, CHECK_WHERE) == CHECK
            except VaultError:
                ok = False
            if not ok:
                raise VaultError("this key is not the one the database was sealed with")
        version = int(await _meta(conn, "vault_version") or 0)
        if version < 1:
            await _seal_existing(conn, vault)
            rewrote = True
        if version < 2:
            rewrote = await _neutral_file_names(conn) > 0 or rewrote
        if version < 3:
            await _bind_to_rows(conn, vault)
        if version < 4:
            rewrote = await _unlinkable_keys(conn, vault) > 0 or rewrote
        if version < 5:
            rewrote = await _claims_keyed_apart(conn, vault) > 0 or rewrote
        if version < 6:
            rewrote = await _prompts_sealed(conn, vault) > 0 or rewrote
        if version < 7:
            rewrote = await _files_sealed(conn, vault) > 0 or rewrote
        await _set_meta(conn, "vault_version", str(VERSION))
    vault.legacy = False  # every value is bound to its row now: an unbound one is refused
    checkpoint = getattr(db, "checkpoint", None)  # SQLite's WAL; another backend may have none
    if rewrote and checkpoint is not None:  # what was in clear must not linger in the WAL's old page images
        await checkpoint()


async def _seal_existing(conn: Connection, vault: Vault) -> None:
    """Step 1: confidential reporters of older databases behind keyed hashes, their identity sealed."""
    secret_hex = await _meta(conn, "pseudonym_secret")
    secret = bytes.fromhex(secret_hex) if secret_hex else b""
    async with conn.execute(
        "SELECT id, submit_key, petitioner_id, petitioner_name, petitioner_phone, submitted_at AS created"
        " FROM cases WHERE confidential ORDER BY id"
    ) as cur:
        cases = [dict(row) async for row in cur]
    for case in cases:
        user_id = case["petitioner_id"]
        if is_hid(user_id):
            continue
        async with conn.execute(
            "SELECT first_name, username FROM users WHERE telegram_id = ?", (user_id,)
        ) as cur:
            user = await cur.fetchone()
        identity = {
            "telegram_id": user_id,
            "name": case["petitioner_name"] or (user["first_name"] if user else None),
            "username": user["username"] if user else None,
            "phone": case["petitioner_phone"],
        }
        hid = vault.hid(user_id)
        code = hmac.new(secret, f"case:{case['submit_key']}".encode(), hashlib.sha256).hexdigest()[:4].upper()
        await conn.execute(
            "INSERT INTO identities (case_id, sealed, created_at) VALUES (?, ?, ?) ON CONFLICT (case_id) DO NOTHING",
            (case["id"], vault.seal(identity, ("identities", "sealed", case["id"])), case["created"]),
        )
        await conn.execute(
            "INSERT INTO people (hid, sealed, updated_at) VALUES (?, ?, ?) ON CONFLICT (hid) DO NOTHING",
            (hid, vault.seal(user_id, ("people", "sealed", hid)), case["created"]),
        )
        await conn.execute(
            "UPDATE cases SET petitioner_id = ?, petitioner_name = NULL, petitioner_phone = NULL,"
            " pseudonym = ? WHERE id = ?",
            (hid, code, case["id"]),
        )
        await conn.execute(
            "UPDATE outbox SET chat_id = ? WHERE case_id = ? AND chat_id = ?", (hid, case["id"], user_id)
        )
        await conn.execute(
            "UPDATE case_messages SET chat_id = ? WHERE case_id = ? AND chat_id = ?", (hid, case["id"], user_id)
        )
    async with conn.execute("SELECT DISTINCT chat_id FROM case_messages WHERE chat_id > 0") as cur:
        chats = [row["chat_id"] async for row in cur]
    for chat_id in chats:  # a private chat is looked up by its keyed hash
        await conn.execute("UPDATE case_messages SET chat_id = ? WHERE chat_id = ?", (vault.hid(chat_id), chat_id))
    async with conn.execute("SELECT telegram_id FROM users WHERE telegram_id > 0") as cur:
        users = [row["telegram_id"] async for row in cur]
    for user_id in users:  # users by keyed hash, their names not kept
        await conn.execute(
            "UPDATE users SET telegram_id = ?, first_name = NULL, username = NULL WHERE telegram_id = ?",
            (vault.hid(user_id), user_id),
        )
    async with conn.execute("SELECT id, user_id, user_name, created_at FROM reception_bookings WHERE user_id > 0") as cur:
        bookings = [dict(row) async for row in cur]
    for booking in bookings:  # bookings by keyed hash, the name sealed
        hid = vault.hid(booking["user_id"])
        await conn.execute(
            "INSERT INTO people (hid, sealed, updated_at) VALUES (?, ?, ?) ON CONFLICT (hid) DO NOTHING",
            (hid, vault.seal(booking["user_id"], ("people", "sealed", hid)), booking["created_at"]),
        )
        await conn.execute(
            "UPDATE reception_bookings SET user_id = ?, user_name = ? WHERE id = ?",
            (hid, vault.seal(booking["user_name"], ("reception_bookings", "user_name", booking["id"]))
             if booking["user_name"] else None, booking["id"]),
        )
        await conn.execute(
            "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND sent_at IS NULL", (hid, booking["user_id"])
        )
    async with conn.execute(
        "SELECT name, key, data FROM conversations"
    ) as cur:
        conversations = [dict(row) async for row in cur]
    for row in conversations:  # conversation keys by keyed hash (PTB's keys sealed), drafts sealed
        key = row["key"]
        if key.startswith("h:") or (key.lstrip("-").isdigit() and is_hid(int(key))):
            continue
        if key.isdigit():
            data = row["data"]
            stored = str(vault.hid(int(key)))
            if row["name"] == "intake" and data != "{}" and not is_sealed(data):
                data = vault.seal(json.loads(data), conv_where(row["name"], stored, "data"))
            await conn.execute(
                "UPDATE conversations SET key = ?, data = ? WHERE name = ? AND key = ?",
                (stored, data, row["name"], key),
            )
        else:
            stored = vault.tag(key)
            await conn.execute(
                "UPDATE conversations SET key = ?, sealed_key = ? WHERE name = ? AND key = ?",
                (stored, vault.seal(key, conv_where(row["name"], stored, "sealed_key")), row["name"], key),
            )
    sealed = sum(1 for c in cases if not is_hid(c["petitioner_id"]))
    if sealed:
        log.info("vault: %d confidential case(s) of an older database sealed", sealed)


async def _neutral_file_names(conn: Connection) -> int:
    """Step 2: a confidential case's files keep neutral names (``材料-3.pdf``), as staff receive them."""
    async with conn.execute(
        "SELECT a.id, a.case_id, a.kind, a.file_name, a.mime_type FROM attachments a"
        " JOIN cases c ON c.id = a.case_id WHERE c.confidential ORDER BY a.case_id, a.id"
    ) as cur:
        files = [dict(row) async for row in cur]
    place: dict[int, int] = {}
    renamed = 0
    for row in files:
        place[row["case_id"]] = place.get(row["case_id"], 0) + 1
        name = filenames.stored_name(place[row["case_id"]], FileKind(row["kind"]), row["file_name"], row["mime_type"])
        if name != row["file_name"]:
            await conn.execute("UPDATE attachments SET file_name = ? WHERE id = ?", (name, row["id"]))
            renamed += 1
    if renamed:
        log.info("data step 2: %d file name(s) of confidential cases made neutral", renamed)
    return renamed


async def _unlinkable_keys(conn: Connection, vault: Vault) -> int:
    """Step 4: rows stored under a person's ``hid`` that a file holder could join to a confidential case, keyed apart.

    A recorded message's chat becomes its per-message key (``StoreContext.message_key``); a
    verified account its account key (``StoreContext.account_key``) and a booking its booking key
    (``StoreContext.booking_key``), each found from the sealed id behind its ``hid`` (``people``);
    an account whose id cannot be found is unverified (the employee verifies again with /verify).
    Returns how many rows changed.
    """
    changed = 0
    async with conn.execute("SELECT chat_id, message_id FROM case_messages") as cur:
        messages = [(int(row["chat_id"]), int(row["message_id"])) async for row in cur]
    for chat_id, message_id in messages:
        if not is_hid(chat_id):
            continue  # a group's chat (the staff group) is stored as it is
        await conn.execute("UPDATE case_messages SET chat_id = ? WHERE chat_id = ? AND message_id = ?",
                           (vault.keyed("message", chat_id, message_id), chat_id, message_id))
        changed += 1
    async with conn.execute("SELECT telegram_hid, employee_no FROM verified_accounts") as cur:
        accounts = [(int(row["telegram_hid"]), str(row["employee_no"])) async for row in cur]
    for hid, employee_no in accounts:
        user_id = await _person_behind(conn, vault, hid)
        if user_id is None or user_id <= 0:
            await conn.execute("DELETE FROM verified_accounts WHERE employee_no = ?", (employee_no,))
        else:
            key = await _remember_under(conn, vault, user_id, "account")
            await conn.execute("UPDATE verified_accounts SET telegram_hid = ? WHERE employee_no = ?", (key, employee_no))
        changed += 1
    async with conn.execute("SELECT id, user_id FROM reception_bookings") as cur:
        bookings = [(int(row["id"]), int(row["user_id"])) async for row in cur]
    for booking_id, hid in bookings:
        user_id = await _person_behind(conn, vault, hid)
        if user_id is None:
            continue  # nobody to reach behind it: the booking stays as it is
        key = await _remember_under(conn, vault, user_id, "booking")
        await conn.execute("UPDATE reception_bookings SET user_id = ? WHERE id = ?", (key, booking_id))
        changed += 1
    if changed:
        log.info("data step 4: %d recorded message(s), verified account(s) and booking(s) keyed apart", changed)
    return changed


async def _claims_keyed_apart(conn: Connection, vault: Vault) -> int:
    """Step 5: a real-name record of the register bound under the person's ``hid``, bound under their claim key.

    The record names the person in clear; under the ``hid`` their confidential chat case
    keeps them by, one join named the reporter. Its used claim codes and the outbox rows
    to its claimant (about its own cases) move with it. A record whose person cannot be
    found behind the hash is unbound (an officer issues new codes, ``/codes``); the journal,
    append-only, never held these keys. Returns how many records changed.
    """
    async with conn.execute(
        "SELECT id, telegram_hid FROM petitioners WHERE NOT confidential AND telegram_hid IS NOT NULL ORDER BY id"
    ) as cur:
        records = [(int(row["id"]), int(row["telegram_hid"])) async for row in cur]
    changed = 0
    for record, hid in records:
        user_id = await _person_behind(conn, vault, hid) if is_hid(hid) else None
        if user_id is not None and vault.keyed("claim", user_id) == hid:
            continue  # keyed already
        key = None if user_id is None or user_id <= 0 else await _remember_under(conn, vault, user_id, "claim")
        await conn.execute("UPDATE petitioners SET telegram_hid = ? WHERE id = ?", (key, record))
        if key is None:
            await conn.execute("UPDATE case_petitioners SET claimed_at = NULL WHERE petitioner_id = ?", (record,))
            log.warning("data step 5: register record %d unbound (nobody found behind its account's hash)", record)
        await conn.execute("UPDATE claim_codes SET used_by = ? WHERE petitioner_id = ? AND used_by = ?",
                           (key, record, hid))
        if key is not None:
            await conn.execute(
                "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND case_id IN (SELECT cp.case_id FROM case_petitioners cp"
                " JOIN cases c ON c.id = cp.case_id WHERE cp.petitioner_id = ? AND NOT c.confidential)",
                (key, hid, record),
            )
        changed += 1
    if changed:
        log.info("data step 5: %d register record(s) bound under their claim key", changed)
    return changed


async def _prompts_sealed(conn: Connection, vault: Vault) -> int:
    """Step 6: a waiting prompt's case number, sealed for its row (``CaseService.set_prompt``); how many."""
    async with conn.execute("SELECT key, data FROM conversations WHERE name = 'prompt'") as cur:
        waiting = [(row["key"], str(row["data"])) async for row in cur]
    changed = 0
    for key, data in waiting:
        if is_sealed(data) or data in ("", "{}"):
            continue
        sealed = vault.seal(json.loads(data), conv_where("prompt", key, "data"))
        await conn.execute("UPDATE conversations SET data = ? WHERE name = 'prompt' AND key = ?", (sealed, key))
        changed += 1
    return changed


async def _files_sealed(conn: Connection, vault: Vault) -> int:
    """Step 7: a confidential case's files keep nothing a real-name copy of the same file shares; how many."""
    async with conn.execute(
        "SELECT a.id, a.file_id, a.size FROM attachments a JOIN cases c ON c.id = a.case_id"
        " WHERE c.confidential ORDER BY a.id"
    ) as cur:
        files = [dict(row) async for row in cur]
    changed = 0
    for row in files:
        if is_sealed(row["file_id"]):
            continue
        await conn.execute(
            "UPDATE attachments SET file_id = ?, file_unique_id = NULL, size = ? WHERE id = ?",
            (vault.seal(row["file_id"], file_where(row["id"])), filenames.stored_size(row["size"]), row["id"]),
        )
        changed += 1
    if changed:
        log.info("data step 7: %d file(s) of confidential cases sealed", changed)
    return changed


async def _person_behind(conn: Connection, vault: Vault, hid: int) -> int | None:
    """The Telegram id sealed behind a keyed hash (``people``), or None where none opens."""
    async with conn.execute("SELECT sealed FROM people WHERE hid = ?", (hid,)) as cur:
        person = await cur.fetchone()
    if person is None:
        return None
    try:
        return int(vault.open(person["sealed"], ("people", "sealed", hid)))
    except (VaultError, TypeError, ValueError):
        return None


async def _remember_under(conn: Connection, vault: Vault, user_id: int, label: str) -> int:
    """The person's key under ``label`` (``Vault.keyed``), with their id sealed behind it so the outbox reaches them."""
    key = vault.keyed(label, user_id)
    await conn.execute(
        "INSERT INTO people (hid, sealed, updated_at) VALUES (?, ?, ?) ON CONFLICT (hid) DO NOTHING",
        (key, vault.seal(user_id, ("people", "sealed", key)), iso(datetime.now(UTC))),
    )
    return key


async def _bind_to_rows(conn: Connection, vault: Vault) -> int:
    """Step 3: every value sealed before values were bound to their row, sealed again for its row."""
    return await _reseal_in(conn, vault, vault, only_unbound=True)


async def reseal(db: Backend, old: Vault, new: Vault) -> int:
    """Every sealed value opened with ``old`` and sealed again with ``new``, in one transaction.

    The keyed hashes stay (the hashing key is kept: the append-only journal
    carries them). Returns how many values were sealed again.
    """
    async with db.transaction() as conn:
        return await _reseal_in(conn, old, new, only_unbound=False)


async def _reseal_in(conn: Connection, old: Vault, new: Vault, *, only_unbound: bool) -> int:
    """Open each sealed value with ``old`` and seal it with ``new`` for its place (``only_unbound``: ``v1.`` ones)."""

    def wanted(value: object) -> bool:
        return is_sealed(value) and (not only_unbound or str(value).startswith(SEALED))

    count = 0
    for table, key, column in SEALED_COLUMNS:
        async with conn.execute(f"SELECT {key} AS k, {column} AS v FROM {table}") as cur:
            values = [(row["k"], row["v"]) async for row in cur]
        for row_key, value in values:
            if not wanted(value):
                continue
            where: Where = (table, column, row_key)
            await conn.execute(
                f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (new.seal(old.open(value, where), where), row_key)
            )
            count += 1
    async with conn.execute("SELECT name, key, sealed_key, data FROM conversations") as cur:
        conversations = [dict(row) async for row in cur]
    for row in conversations:
        changes = {
            column: new.seal(old.open(row[column], conv_where(row["name"], row["key"], column)),
                             conv_where(row["name"], row["key"], column))
            for column in ("sealed_key", "data")
            if wanted(row[column])
        }
        if changes:
            await conn.execute(
                "UPDATE conversations SET " + ", ".join(f"{c} = :{c}" for c in changes)
                + " WHERE name = :name AND key = :key",
                {**changes, "name": row["name"], "key": row["key"]},
            )
            count += len(changes)
    return count
