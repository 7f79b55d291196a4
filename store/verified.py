"""Which employee a Telegram account is verified as: the one query the roster and the cases share.

A case filed by a verified account records the employee number at filing
(``cases.employee_no``; never for a confidential case, which must not point
at anyone), so the staff card says 已核验 without asking the roster again and
the record stays what it was when the matter was filed.
"""

from __future__ import annotations

from typing import Any

from store.db import Connection

ACTIVE = "active"


async def verified_row(conn: Connection, telegram_hid: int) -> dict[str, Any] | None:
    """The active roster row the account (its keyed hash) is verified as, or None."""
    async with conn.execute(
        "SELECT r.* FROM verified_accounts v JOIN roster r ON r.employee_no = v.employee_no"
        " WHERE v.telegram_hid = ? AND r.status = ?",
        (telegram_hid, ACTIVE),
    ) as cur:
        found = await cur.fetchone()
    return None if found is None else dict(found)
