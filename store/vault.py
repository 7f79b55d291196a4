"""The vault: identities encrypted at rest, people found by a keyed hash.

A key has two parts, both 32 random bytes:

- the *sealing* key: AES-256-GCM (``cryptography``), authenticated, a fresh
  96-bit nonce per value; what it seals is stored as base64 text
  (``v2.<nonce+ciphertext>``). Each value is bound to its place: the table,
  the column and the row's key are its associated data, so a value copied
  into another row (another case's identity, another person's id) does not
  open. ``v1.`` values, sealed before that, open only until data step 3
  (``store/vault_steps.py``) has sealed them again in place.
  ``petition-bot rotate-key`` replaces the key and re-seals every value in
  one transaction.
- the *hashing* key: HMAC-SHA256 of a Telegram id, stored as a negative
  integer below -2^61 (``hid``), a range no Telegram chat id reaches, so the
  store finds a person's rows by it and the outbox tells it from a chat id.
  It is kept by rotation: the journal is append-only and hash-chained, and
  its rows carry these hashes.

The key never enters the database: a key file (mode 0600, created at first
open or by ``petition-bot init``; default next to the database, ``<db>.key``,
or ``PETITION_KEY_FILE``), or the environment (``PETITION_SECRET_KEY``, the
same one-line text as the file). Lose it and every sealed identity is gone
for good, and the people behind keyed hashes can no longer be reached.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from store.files import write_private

PREFIX = "pbk1"
SEALED = "v1."  # sealed before values were bound to their row (data step 3 seals them again)
BOUND = "v2."  # sealed with its table, column and row as associated data
#: Where a sealed value lives: (table, column, the row's key).
Where = tuple[str, str, object]


def is_sealed(text: object) -> bool:
    """Is this stored text a sealed value (of either version)?"""
    return isinstance(text, str) and text.startswith((SEALED, BOUND))


def _aad(where: Where) -> bytes:
    table, column, row = where
    return f"petition-bot:{table}.{column}:{row}".encode()
#: Keyed hashes of Telegram ids live below this (chat ids have at most 52 significant bits).
HID_CEILING = -(2**61)


HID_MEMO = 100_000  # keyed hashes (an id under its label) a process remembers (about 15 MB at most)


class VaultError(Exception):
    """A key that is missing, malformed, or not the one the values were sealed with."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


def new_key_text() -> str:
    """A fresh key as one line of text (hashing key, sealing key)."""
    return f"{PREFIX}:{_b64(os.urandom(32))}:{_b64(os.urandom(32))}"


def is_hid(chat_id: int) -> bool:
    """Is this a keyed hash standing for a person, rather than a Telegram chat id?"""
    return chat_id < HID_CEILING


# A petitioner of the register (store/ledger.py) without Telegram stands in a
# case's ``petitioner_id`` as LEDGER_CEILING - their record's id: below any
# Telegram chat id, above every keyed hash. The outbox turns a notice to such
# a key into tasks for the staff, or messages to those who claimed the case.
LEDGER_CEILING = -(2**60)


def person_key(record_id: int) -> int:
    """The ``petitioner_id`` a case carries for petitioner record ``record_id``."""
    return LEDGER_CEILING - int(record_id)


def is_person_key(chat_id: int) -> bool:
    """Does this id stand for a record of the petitioners' register (not a chat)?"""
    return HID_CEILING <= chat_id <= LEDGER_CEILING


def record_of(chat_id: int) -> int:
    """The petitioner record behind a ``person_key``."""
    return LEDGER_CEILING - chat_id


class Vault:
    """Seal and open values, and hash Telegram ids, under one key."""

    def __init__(self, key_text: str) -> None:
        try:
            prefix, hashing, sealing = key_text.strip().split(":")
            self._hashing = _unb64(hashing)
            sealing_key = _unb64(sealing)
        except (ValueError, TypeError) as error:
            raise VaultError("the key is not a petition-bot key") from error
        if prefix != PREFIX or len(self._hashing) != 32 or len(sealing_key) != 32:
            raise VaultError("the key is not a petition-bot key")
        self._aead = AESGCM(sealing_key)
        self._hids: dict[tuple[str | int, ...], int] = {}
        self.key_text = key_text.strip()
        #: ``v1.`` values (not bound to a row) still open: until data step 3 has sealed them all again.
        self.legacy = True

    # ----------------------------------------------------------- hashing

    def hid(self, user_id: int) -> int:
        """The keyed hash of a Telegram id: a negative integer no chat id can be."""
        return self.keyed("user", int(user_id))

    def keyed(self, label: str, *parts: int) -> int:
        """A keyed hash in the range of ``hid`` under a label of its own (``hid`` is ``keyed("user", id)``).

        Rows that must not be joined to a person's other rows by someone holding
        the database without the key are keyed under their own label: a
        verified account (``"account"``, store/roster.py), a recorded message
        (``"message"``, its chat's hash and its id, store/staffwork.py).

        Remembered per process (up to ``HID_MEMO`` keys): a submission counts the people of every
        recent similar case (a collective petition), an HMAC each (``claim``, ``user``), inside the
        write transaction.
        """
        memo: tuple[str | int, ...] = (label, *parts)
        found = self._hids.get(memo)
        if found is None:
            text = ":".join([label, *(str(int(p)) for p in parts)])
            digest = hmac.new(self._hashing, text.encode(), hashlib.sha256).digest()
            found = HID_CEILING - int.from_bytes(digest[:8], "big") % (2**61)
            if len(self._hids) >= HID_MEMO:
                self._hids.clear()
            self._hids[memo] = found
        return found

    def tag(self, text: str) -> str:
        """The keyed hash of a text key (a conversation's key): hex, prefixed ``h:``."""
        return "h:" + hmac.new(self._hashing, f"key:{text}".encode(), hashlib.sha256).hexdigest()[:32]

    # ----------------------------------------------------------- sealing

    def seal(self, value: Any, where: Where) -> str:
        """Encrypt a JSON-able value for its place ``where`` (table, column, row key); the result is text."""
        nonce = os.urandom(12)
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return BOUND + _b64(nonce + self._aead.encrypt(nonce, data, _aad(where)))

    def open(self, sealed: str, where: Where) -> Any:
        """Decrypt what ``seal`` made for ``where``; VaultError if sealed under another key, for another place, or altered."""
        if sealed.startswith(BOUND):
            aad = _aad(where)
        elif sealed.startswith(SEALED) and self.legacy:
            aad = b"petition-bot"
        elif sealed.startswith(SEALED):
            raise VaultError("a value sealed before values were bound to their row")
        else:
            raise VaultError("not a sealed value")
        raw = _unb64(sealed[len(BOUND):])
        try:
            data = self._aead.decrypt(raw[:12], raw[12:], aad)
        except InvalidTag as error:
            raise VaultError("sealed under another key, for another place, or altered") from error
        return json.loads(data)

    def rotated(self) -> Vault:
        """A vault with a new sealing key and the same hashing key (``rotate-key``)."""
        prefix, hashing, _ = self.key_text.split(":")
        fresh = Vault(f"{prefix}:{hashing}:{_b64(os.urandom(32))}")
        fresh.legacy = False  # it seals anew; what it opens it sealed itself
        return fresh


def default_key_file(db_path: str | os.PathLike[str]) -> Path | None:
    """``petitions.db`` -> ``petitions.key`` (None for an in-memory database).

    A PostgreSQL database has no file to sit beside, and every instance of
    it (a standby too) must use the same key: it must be named.
    """
    text = str(db_path)
    if text.startswith(("postgresql://", "postgres://")):
        raise VaultError("a PostgreSQL database needs its vault key named: set PETITION_KEY_FILE or PETITION_SECRET_KEY")
    if text == ":memory:" or text.startswith("file:"):
        return None
    return Path(text).with_suffix(".key")


def load_vault(
    db_path: str | os.PathLike[str],
    *,
    key_file: str | os.PathLike[str] | None = None,
    secret: str | None = None,
    create: bool = True,
) -> Vault:
    """The vault of a database: ``secret`` if given, else the key file (created 0600 if missing).

    Neither given: ``PETITION_SECRET_KEY``, else ``PETITION_KEY_FILE``, else ``<db>.key``.
    """
    if secret is None and key_file is None:
        secret = os.environ.get("PETITION_SECRET_KEY") or None
        key_file = os.environ.get("PETITION_KEY_FILE") or None
    if secret:
        return Vault(secret)
    path = Path(key_file) if key_file is not None else default_key_file(db_path)
    if path is None:
        return Vault(new_key_text())  # an in-memory database lives and dies with its key
    if path.exists():
        return Vault(path.read_text(encoding="ascii"))
    if not create:
        raise VaultError(f"{path}: no key file")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = new_key_text()
    write_private(path, (text + "\n").encode("ascii"))
    return Vault(text)


def key_path(db_path: str | os.PathLike[str], key_file: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the key file of a database is: ``key_file``, ``PETITION_KEY_FILE``, else ``<db>.key``."""
    chosen = key_file or os.environ.get("PETITION_KEY_FILE") or None
    return Path(chosen) if chosen else default_key_file(db_path)


def save_key(path: str | os.PathLike[str], vault: Vault) -> None:
    """Write a key file (0600), replacing the old one."""
    write_private(path, (vault.key_text + "\n").encode("ascii"))
