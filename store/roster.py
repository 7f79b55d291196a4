"""The employee roster (HR's list) and the Telegram accounts verified as one of its people.

The roster says who is *verified*, never who may be heard: leavers, retirees,
family and contractors petition like anyone else; their cases simply show
未核验 on the staff card.

``petition-bot roster import FILE.xlsx|csv [--dry-run]`` (bot/roster_file.py
reads the file) hands the rows here under their header names. Every row is
validated (``RosterRow``); one bad row and nothing is written: a roster is
HR's whole list, and half of one would mark the other half as left. A good
file is written in one transaction: new people added, known ones updated,
people missing from the file marked as left (never deleted), and the
changes journaled (``roster_journal``, hash-chained).

The phone and the ID-card tail are sealed (store/vault.py); the phone's keyed
hash, over its E.164 form, finds an entry from a contact that Telegram
attests (``verify``): only the account that owns the number can share it
with the contact button.

=============  ========================================  =========  =====================================
column         header names accepted                      required   value
=============  ========================================  =========  =====================================
employee_no    工号 员工编号 职工号 / employee no          yes        letters and digits, at most 32
name           姓名 / name                                 yes        at most 64 characters
unit           单位 所在单位 部门 / unit                    yes        a unit's id or its name
phone          手机 手机号 电话 联系电话 / phone / mobile    no         a mobile number (+86 by default)
status         状态 在职状态 / status                       no         在职 active, 离职 left, 退休 retired
                                                                       (empty: 在职)
id_tail        身份证后四位 证件后四位 / id tail            no         the last 4 to 6 characters
=============  ========================================  =========  =====================================
"""

from __future__ import annotations

import json
import re
import unicodedata
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from store.context import Service, StoreContext
from store.db import Connection
from store.errors import NotOwnContact, Refused
from store.journal import VerifyResult, append_chained, verify_chained
from store.ledger_import import BadRow, Headers, Reason, cell_text, header_key, map_layout, reasons_of
from store.org import Organization
from store.people import e164, normalize_employee_no
from store.verified import phone_tag, verified_row


class RosterStatus(StrEnum):
    ACTIVE = "active"  # the value store.verified.ACTIVE reads
    LEFT = "left"
    RETIRED = "retired"


COLUMNS: dict[str, tuple[str, ...]] = {
    "employee_no": ("工号", "员工编号", "职工号", "员工号", "人员编号", "employee no", "employee number",
                    "employee id", "staff no", "employee_no"),
    "name": ("姓名", "员工姓名", "name", "full name"),
    "unit": ("单位", "所在单位", "部门", "所属单位", "unit", "department"),
    "phone": ("手机", "手机号", "手机号码", "电话", "联系电话", "phone", "mobile", "mobile phone"),
    "status": ("状态", "在职状态", "人员状态", "status"),
    "id_tail": ("身份证后四位", "证件后四位", "身份证号后四位", "id tail", "id card tail"),
}
REQUIRED = ("employee_no", "name", "unit")
STATUS_WORDS: dict[RosterStatus, tuple[str, ...]] = {
    RosterStatus.ACTIVE: ("在职", "在岗", "active", "employed", "current"),
    RosterStatus.LEFT: ("离职", "调离", "解除", "left", "gone", "former"),
    RosterStatus.RETIRED: ("退休", "内退", "retired"),
}
_STATUSES = {header_key(w): status for status, words in STATUS_WORDS.items() for w in words}
NAME_MAX = 64
EMPLOYEE_NO_MAX = 32
_EMPLOYEE_NO = re.compile(r"^[0-9A-Z\-]+$")
_ID_TAIL = re.compile(r"^[0-9]{3,5}[0-9X]$")


def map_headers(header: list[Any]) -> Headers:
    return map_layout(header, COLUMNS, REQUIRED)


def _bad(code: str, **params: Any) -> PydanticCustomError:
    return PydanticCustomError(code, code, params)


class RosterRow(BaseModel):
    """One employee of the roster, validated. ``model_validate(cells, context={"org": org})``."""

    employee_no: str
    name: str
    unit: str  # the unit's id
    phone: str | None = None  # E.164
    status: RosterStatus = RosterStatus.ACTIVE
    id_tail: str | None = None

    @field_validator("employee_no", mode="before")
    @classmethod
    def _employee_no(cls, value: Any) -> str:
        text = normalize_employee_no(unicodedata.normalize("NFKC", cell_text(value)))
        if not text:
            raise _bad("required")
        if len(text) > EMPLOYEE_NO_MAX or not _EMPLOYEE_NO.match(text):
            raise _bad("bad_employee_no", value=text[:40])
        return text

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        text = " ".join(cell_text(value).split())
        if not text:
            raise _bad("required")
        if len(text) > NAME_MAX or not text.isprintable():
            raise _bad("too_long", max=NAME_MAX, length=len(text))
        return text

    @field_validator("unit", mode="before")
    @classmethod
    def _unit(cls, value: Any, info: ValidationInfo) -> str:
        text = cell_text(value)
        if not text:
            raise _bad("required")
        org: Organization | None = (info.context or {}).get("org")
        if org is None:
            return text
        found = org.find_unit_named(text)
        if found is None:
            raise _bad("unknown_unit", value=text[:60])
        return found.id

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> str | None:
        text = cell_text(value)
        if not text:
            return None
        number = e164(text)
        if number is None:
            raise _bad("bad_phone", value=text[:40])
        return number

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> RosterStatus:
        text = cell_text(value)
        if not text:
            return RosterStatus.ACTIVE
        status = _STATUSES.get(header_key(text))
        if status is None:
            raise _bad("bad_status", value=text[:40])
        return status

    @field_validator("id_tail", mode="before")
    @classmethod
    def _id_tail(cls, value: Any) -> str | None:
        text = cell_text(value).upper()
        if not text:
            return None
        if not _ID_TAIL.match(text):
            raise _bad("bad_id_tail")
        return text


def validate_rows(
    rows: list[tuple[int, dict[str, Any]]], org: Organization
) -> tuple[list[tuple[int, RosterRow]], list[BadRow]]:
    """Every row validated: the good ones and the bad ones with every reason.

    An employee number twice, or one phone under two employee numbers: the later row is bad.
    """
    good: list[tuple[int, RosterRow]] = []
    bad: list[BadRow] = []
    numbers: dict[str, int] = {}
    phones: dict[str, int] = {}
    for line, cells in rows:
        number = normalize_employee_no(unicodedata.normalize("NFKC", cell_text(cells.get("employee_no"))))
        repeated = number is not None and number in numbers
        if number is not None and not repeated:
            numbers[number] = line
        try:
            row = RosterRow.model_validate(cells, context={"org": org})
        except ValidationError as error:
            reasons = reasons_of(error)
            if repeated and number is not None:
                reasons.insert(0, Reason(column="employee_no", code="repeated_in_file", params={"line": numbers[number]}))
            bad.append(BadRow(line=line, reasons=reasons))
            continue
        reasons = []
        if repeated:
            reasons.append(Reason(column="employee_no", code="repeated_in_file", params={"line": numbers[row.employee_no]}))
        if row.phone and row.phone in phones:
            reasons.append(Reason(column="phone", code="repeated_in_file", params={"line": phones[row.phone]}))
        if reasons:
            bad.append(BadRow(line=line, reasons=reasons))
            continue
        if row.phone:
            phones[row.phone] = line
        good.append((line, row))
    return good, bad


class RosterChange(BaseModel):
    employee_no: str
    name: str
    change: Literal["added", "updated", "left", "back"]


class RosterReport(BaseModel):
    """What a roster import did (or, with ``dry_run``, would do): nothing at all if any row is bad."""

    dry_run: bool
    rows: int = 0
    bad: list[BadRow] = []
    changes: list[RosterChange] = []
    unchanged: int = 0

    @property
    def written(self) -> bool:
        return not self.dry_run and not self.bad

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)


class RosterEntry(BaseModel):
    """An employee as the roster holds them, phone and ID tail opened."""

    employee_no: str
    name: str
    unit: str
    phone: str | None
    status: RosterStatus
    id_tail: str | None

    @property
    def active(self) -> bool:
        return self.status is RosterStatus.ACTIVE


def journal_content(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "at", "action", "employee_no", "data")}


class RosterService(Service):
    """The roster: import, export, verification of accounts by a shared contact."""

    def __init__(self, ctx: StoreContext) -> None:
        super().__init__(ctx)

    # ----------------------------------------------------------------- import

    def _sealed(self, row: RosterRow) -> dict[str, Any]:
        vault = self.ctx.vault
        return {
            "phone_tag": phone_tag(vault, row.phone) if row.phone else None,
            "phone_sealed": vault.seal(row.phone, ("roster", "phone_sealed", row.employee_no)) if row.phone else None,
            "id_tail_sealed": vault.seal(row.id_tail, ("roster", "id_tail_sealed", row.employee_no))
            if row.id_tail else None,
        }

    async def _entries(self, conn: Connection) -> dict[str, RosterEntry]:
        async with conn.execute("SELECT * FROM roster ORDER BY employee_no") as cur:
            return {row["employee_no"]: self._entry(dict(row)) async for row in cur}

    def _entry(self, row: dict[str, Any]) -> RosterEntry:
        vault = self.ctx.vault
        return RosterEntry(
            employee_no=row["employee_no"], name=row["name"], unit=row["unit"],
            phone=vault.open(row["phone_sealed"], ("roster", "phone_sealed", row["employee_no"]))
            if row["phone_sealed"] else None,
            status=RosterStatus(row["status"]),
            id_tail=vault.open(row["id_tail_sealed"], ("roster", "id_tail_sealed", row["employee_no"]))
            if row["id_tail_sealed"] else None,
        )

    async def _journal(self, conn: Connection, action: str, employee_no: str | None, data: dict[str, Any]) -> None:
        await append_chained(conn, "roster_journal", {
            "at": self.ctx.now(), "action": action, "employee_no": employee_no,
            "data": json.dumps(data, ensure_ascii=False, sort_keys=True),
        }, journal_content)

    async def import_rows(self, rows: list[tuple[int, dict[str, Any]]], *, dry_run: bool) -> RosterReport:
        """The roster replaced by ``rows`` (HR's whole list), or nothing written if any row is bad."""
        good, bad = validate_rows(rows, self.org)
        report = RosterReport(dry_run=dry_run, rows=len(rows), bad=bad)
        if bad:
            return report
        async with (self.db.read() if dry_run else self.db.transaction()) as conn:
            known = await self._entries(conn)
            seen: set[str] = set()
            for _line, row in good:
                seen.add(row.employee_no)
                before = known.get(row.employee_no)
                entry = RosterEntry(employee_no=row.employee_no, name=row.name, unit=row.unit, phone=row.phone,
                                    status=row.status, id_tail=row.id_tail)
                if before == entry:
                    report.unchanged += 1
                    continue
                change = "added" if before is None else (
                    "back" if not before.active and entry.active else "left" if before.active and not entry.active
                    else "updated")
                report.changes.append(RosterChange(employee_no=row.employee_no, name=row.name, change=change))
                if dry_run:
                    continue
                values = {"employee_no": row.employee_no, "name": row.name, "unit": row.unit,
                          "status": row.status.value, "updated_at": self.ctx.now(), **self._sealed(row)}
                if before is None:
                    await conn.execute(
                        "INSERT INTO roster (employee_no, name, unit, phone_tag, phone_sealed, id_tail_sealed,"
                        " status, updated_at) VALUES (:employee_no, :name, :unit, :phone_tag, :phone_sealed,"
                        " :id_tail_sealed, :status, :updated_at)", values)
                else:
                    await conn.execute(
                        "UPDATE roster SET name = :name, unit = :unit, phone_tag = :phone_tag,"
                        " phone_sealed = :phone_sealed, id_tail_sealed = :id_tail_sealed, status = :status,"
                        " updated_at = :updated_at WHERE employee_no = :employee_no", values)
                    if before.phone != row.phone:  # a new number: the old verification no longer holds
                        await self._unverify(conn, row.employee_no, "phone_changed")
                await self._journal(conn, change, row.employee_no, {"unit": row.unit, "status": row.status.value})
            for number, before in known.items():
                if number in seen or not before.active:
                    continue
                report.changes.append(RosterChange(employee_no=number, name=before.name, change="left"))
                if dry_run:
                    continue
                await conn.execute("UPDATE roster SET status = ?, updated_at = ? WHERE employee_no = ?",
                                   (RosterStatus.LEFT.value, self.ctx.now(), number))
                await self._journal(conn, "left", number, {"missing_from_file": True})
            if not dry_run:
                await self._journal(conn, "import", None, {
                    "rows": report.rows, "unchanged": report.unchanged,
                    **{c: report.count(c) for c in ("added", "updated", "left", "back")}})
        return report

    async def in_use(self) -> bool:
        """Has a roster been imported (so that verification means something)?"""
        async with self.db.read() as conn, conn.execute("SELECT 1 FROM roster LIMIT 1") as cur:
            return await cur.fetchone() is not None

    async def entries(self) -> list[RosterEntry]:
        """The whole roster, opened (``roster export``, for the administrator)."""
        async with self.db.read() as conn:
            return list((await self._entries(conn)).values())

    # ----------------------------------------------------------- verification

    async def verify(self, user_id: int, contact_user_id: int | None, phone: str) -> RosterEntry:
        """Link the account ``user_id`` to the active employee whose roster phone is ``phone``.

        ``contact_user_id`` is the Telegram account the shared contact belongs
        to: only one's own contact verifies (Telegram attests the number of the
        account that shares its own contact). Refused: someone else's contact,
        a number in no active roster entry.
        """
        if contact_user_id != user_id:
            raise NotOwnContact()
        number = e164(phone) or e164("+" + phone)  # Telegram gives a contact's number with its country code
        if number is None:
            raise Refused("verify_no_match")
        # Keyed apart from the hash a confidential case keeps its reporter by (StoreContext.account_key):
        # the roster names every employee in clear, and a copy of the database must not join the two.
        hid = self.ctx.account_key(user_id)
        if hid is None:
            raise NotOwnContact()
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT * FROM roster WHERE phone_tag = ? AND status = ?",
                                    (phone_tag(self.ctx.vault, number), RosterStatus.ACTIVE.value)) as cur:
                found = await cur.fetchone()
            if found is None:
                raise Refused("verify_no_match")
            entry = self._entry(dict(found))
            async with conn.execute("SELECT telegram_hid FROM verified_accounts WHERE employee_no = ?",
                                    (entry.employee_no,)) as cur:
                before = await cur.fetchone()
            if before is not None and before[0] == hid:
                return entry
            await conn.execute("DELETE FROM verified_accounts WHERE employee_no = ? OR telegram_hid = ?",
                               (entry.employee_no, hid))
            await conn.execute("INSERT INTO verified_accounts (telegram_hid, employee_no, verified_at) VALUES (?, ?, ?)",
                               (hid, entry.employee_no, self.ctx.now()))
            await self.ctx.remember_person(conn, user_id, key=hid)  # /staff adds an employee by number (account_of)
            await self._journal(conn, "verify", entry.employee_no, {"moved": before is not None})
        return entry

    async def _unverify(self, conn: Connection, employee_no: str, reason: str) -> None:
        async with conn.execute("SELECT 1 FROM verified_accounts WHERE employee_no = ?", (employee_no,)) as cur:
            if await cur.fetchone() is None:
                return
        await conn.execute("DELETE FROM verified_accounts WHERE employee_no = ?", (employee_no,))
        await self._journal(conn, "unverify", employee_no, {"reason": reason})

    async def verified(self, user_id: int, *, conn: Connection | None = None) -> RosterEntry | None:
        """The employee the account ``user_id`` is verified as (an active roster entry), or None."""
        key = self.ctx.account_key(user_id)
        if key is None:
            return None
        if conn is not None:
            found = await verified_row(conn, key)
        else:
            async with self.db.read_one() as own:
                found = await verified_row(own, key)
        return None if found is None else self._entry(found)

    async def account_of(self, employee_no: str) -> tuple[RosterEntry, int | None]:
        """The active employee with this number and the Telegram account verified as them (None: not verified).

        NotFound-like Refused ``staff_no_employee`` when the roster has no such active employee.
        """
        number = normalize_employee_no(employee_no) or ""
        async with self.db.read() as conn:
            async with conn.execute("SELECT * FROM roster WHERE employee_no = ? AND status = ?",
                                    (number, RosterStatus.ACTIVE.value)) as cur:
                found = await cur.fetchone()
            if found is None:
                raise Refused("staff_no_employee", employee_no=number)
            async with conn.execute("SELECT telegram_hid FROM verified_accounts WHERE employee_no = ?",
                                    (number,)) as cur:
                account = await cur.fetchone()
            chat = await self.ctx.chat_of(conn, int(account[0])) if account is not None else None
        return self._entry(dict(found)), chat

    async def verify_journal(self) -> VerifyResult:
        async with self.db.read() as conn:
            return await verify_roster_journal(conn)


async def verify_roster_journal(conn: Connection) -> VerifyResult:
    """The roster journal's hash chain (``petition-bot verify-journal``)."""
    return await verify_chained(conn, "roster_journal", journal_content)
