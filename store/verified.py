"""Which employee a Telegram account is verified as: the one query the roster and the cases share.

A case filed by a verified account records the employee number at filing
(``cases.employee_no``; never for a confidential case, which must not point
at anyone), so the staff card says 已核验 without asking the roster again and
the record stays what it was when the matter was filed.
"""

from __future__ import annotations

from typing import Any

from store.db import Connection
from store.vault import Vault

ACTIVE = "active"


def verified_query(telegram_hid: int) -> tuple[str, tuple[Any, ...]]:
    """``verified_row``'s statement, for a caller that sends it with others (``Connection.together``)."""
    return (
        "SELECT r.* FROM verified_accounts v JOIN roster r ON r.employee_no = v.employee_no"
        " WHERE v.telegram_hid = ? AND r.status = ?",
        (telegram_hid, ACTIVE),
    )


async def verified_row(conn: Connection, telegram_hid: int | None) -> dict[str, Any] | None:
    """The active roster row the account (``StoreContext.account_key``, never ``hid``) is verified as, or None."""
    if telegram_hid is None:
        return None
    async with conn.execute(*verified_query(telegram_hid)) as cur:
        found = await cur.fetchone()
    return None if found is None else dict(found)


def phone_tag(vault: Vault, number: str) -> str:
    """The keyed hash the roster finds a phone by (``number`` in E.164 form, ``store.people.e164``)."""
    return vault.tag(f"phone:{number}")


async def verified_account_of(conn: Connection, vault: Vault, number: str | None, employee_no: str | None) -> int | None:
    """The account (``StoreContext.account_key``) verified as the active employee with this phone (E.164) or employee number, if any.

    A claim for a case registered for such a person binds only to that account (store/ledger.py).
    """
    if number is None and employee_no is None:
        return None
    async with conn.execute(
        "SELECT v.telegram_hid FROM verified_accounts v JOIN roster r ON r.employee_no = v.employee_no"
        " WHERE r.status = ? AND (r.employee_no = ? OR r.phone_tag = ?) ORDER BY v.verified_at LIMIT 1",
        (ACTIVE, employee_no or "", phone_tag(vault, number) if number else ""),
    ) as cur:
        found = await cur.fetchone()
    return None if found is None else int(found[0])
