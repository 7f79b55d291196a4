"""Who a petitioner is across channels: one person, whichever way they came.

The same phone or employee number is the same person; a Telegram account is
one person whether it submitted in the chat or claimed a registered case; a
confidential case is an island (only its own petitioner id). Repeat and
collective detection (``store.review``) and the ledger (``store.ledger``) both
count people through these functions, so they live below both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from store.context import StoreContext
from store.db import Connection
from store.models import Case
from store.vault import is_person_key, person_key, record_of
from store.verified import verified_row


def _in(values: list[Any]) -> str:
    return ", ".join("?" * len(values))


def normalize_phone(text: str | None) -> str | None:
    """Digits only (a leading + kept): ``138-0013 8000`` and ``13800138000`` are one phone."""
    if text is None:
        return None
    digits = re.sub(r"[^\d+]", "", text.strip())
    digits = digits[:1] + digits[1:].replace("+", "")
    return digits or None


def e164(text: str | None, default_country: str = "86") -> str | None:
    """A phone number in E.164 form (``+8613800138000``), +86 by default; None if it is not one.

    Accepted: ``+86 138-0013-8000``, ``008613800138000``, ``8613800138000`` (as
    Telegram gives a shared contact's number), ``13800138000``.
    """
    if not text:
        return None
    raw = unicodedata.normalize("NFKC", text).strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif default_country == "86" and len(digits) == 13 and digits.startswith("861"):
        number = digits
    elif default_country == "86" and len(digits) == 11 and digits.startswith("1"):
        number = "86" + digits
    else:
        return None
    return "+" + number if 8 <= len(number) <= 15 else None


def national(phone: str | None) -> str | None:
    """A Chinese mobile number as people write it (``13800138000``); other numbers in E.164."""
    if phone and phone.startswith("+86"):
        return phone[3:]
    return phone


@lru_cache(maxsize=8192)
def phone_key(text: str | None) -> str | None:
    """A phone as digits in one international form, for comparing (``+86 138…``, ``0086138…``, ``138…``).

    Telegram gives a shared contact's number in international form without
    the ``+``; staff type numbers as people say them. Numbers ``e164`` reads
    are compared in its form (without the ``+``); anything else by its digits.
    """
    if text is None:
        return None
    number = e164(text)
    if number is not None:
        return number[1:]
    return re.sub(r"\D", "", text) or None


@lru_cache(maxsize=8192)
def phone_forms(text: str | None) -> tuple[str, ...]:
    """Every form one phone may be stored in, for SQL's ``IN``: as a person typed it (``normalize_phone``),
    in E.164 with and without its ``+`` (as Telegram gives a shared contact's) and, for a Chinese mobile,
    as people write it (``national``). Stored phones are kept as they came, never rewritten; a letter's
    ``138-0013-8000`` and a chat's ``8613800138000`` are one person.

    Remembered, as :func:`phone_key` is: a submission counts the people of every case of its unit and
    category within the collective window (:func:`people_among`), the same phones each time."""
    forms = {normalize_phone(text)}
    number = e164(text)
    if number is not None:
        forms |= {number, number[1:], national(number)}
    return tuple(sorted(form for form in forms if form))


def normalize_employee_no(text: str | None) -> str | None:
    if text is None:
        return None
    value = re.sub(r"\s+", "", text).upper()
    return value or None


@dataclass(frozen=True)
class Filed:
    """What a submission in the chat already read of its petitioner, in its own transaction: their
    roster row if the account is a verified employee (else ``None``), and the register records that
    are the same person (``register_query``, read with the case's INSERT; ``None``: not read). A case
    filed a moment ago is linked to no register record yet (``case_petitioners``), so nothing is read
    again."""

    employee: dict[str, Any] | None
    registered: list[dict[str, Any]] | None = None


def register_query(ctx: StoreContext, petitioner_id: int, phone: str | None,
                   employee: dict[str, Any] | None) -> tuple[str, tuple[Any, ...]]:
    """The register records (``petitioners``) that are the person of a Telegram account: claimed by it,
    or of its phone, or (a verified employee, store/roster.py) of their roster phone or employee number."""
    phones = sorted({*phone_forms(phone), *phone_forms(_roster_phone(ctx, employee))})
    by_phone = f" OR phone IN ({_in(phones)})" if phones else ""
    return (
        f"SELECT * FROM petitioners WHERE NOT confidential AND (telegram_hid = ?{by_phone} OR employee_no = ?)",
        (ctx.claim_key(petitioner_id), *phones, employee["employee_no"] if employee else ""),
    )


def _roster_phone(ctx: StoreContext, employee: dict[str, Any] | None) -> str | None:
    if not employee or not employee["phone_sealed"]:
        return None
    return national(ctx.vault.open(employee["phone_sealed"], ("roster", "phone_sealed", employee["employee_no"])))


async def same_person(ctx: StoreContext, conn: Connection, case: Case,
                      filed: Filed | None = None) -> tuple[list[int], list[str], list[int]]:
    """Who the petitioner of ``case`` is across channels: petitioner ids, phones and register records.

    Repeat detection counts earlier cases carrying any of the ids, any of the
    phones (a case from the chat with the same phone) or naming any of the
    records. A confidential case is an island: only its own petitioner id.
    ``filed``: the case was just submitted in the chat (:class:`Filed`).
    """
    keys: set[int] = {case.petitioner_id}
    phones: set[str] = set()
    records: dict[int, dict[str, Any]] = {}
    if case.confidential:
        return sorted(keys), [], []
    if filed is None:
        async with conn.execute(
            "SELECT p.* FROM case_petitioners cp JOIN petitioners p ON p.id = cp.petitioner_id"
            " WHERE cp.case_id = ? AND NOT p.confidential",
            (case.id,),
        ) as cur:
            records.update({row["id"]: dict(row) async for row in cur})
    if not is_person_key(case.petitioner_id):
        phones.update(phone_forms(case.petitioner_phone))
        # A verified employee (store/roster.py) is also the person of their roster phone and employee number.
        employee = (filed.employee if filed is not None
                    else await verified_row(conn, ctx.account_key(case.petitioner_id)))
        phones.update(phone_forms(_roster_phone(ctx, employee)))
        if filed is not None and filed.registered is not None:
            records.update({row["id"]: row for row in filed.registered})
        else:
            async with conn.execute(*register_query(ctx, case.petitioner_id, case.petitioner_phone, employee)) as cur:
                records.update({row["id"]: dict(row) async for row in cur})
    for record in records.values():
        keys.add(person_key(record["id"]))
        phones.update(phone_forms(record["phone"]))
        if record["telegram_hid"] is not None:
            keys.add(record["telegram_hid"])
            chat = await ctx.chat_of(conn, record["telegram_hid"])
            if chat is not None:
                keys.add(chat)
    return sorted(keys), sorted(phones), sorted(records)


async def people_among(ctx: StoreContext, conn: Connection, cases: Sequence[Mapping[str, Any]]) -> int:
    """How many people petition in ``cases`` (rows with ``petitioner_id``, ``petitioner_phone``, ``confidential``).

    A Telegram account is one person whether it submitted in the chat or
    claimed a registered case; a register record is one person; a chat case
    with a record's phone is that record's person. A confidential case counts
    as its own petitioner id (an island). At most two queries, whatever the count.
    """
    # Each case once, read as it came (not copied): a confidential petitioner, a record, or a chat's
    # account with the phone it gave.
    islands: set[int] = set()
    records: set[int] = set()
    chats: set[tuple[int, str | None]] = set()
    for c in cases:
        petitioner = int(c["petitioner_id"])
        if c["confidential"]:
            islands.add(petitioner)
        elif is_person_key(petitioner):
            records.add(record_of(petitioner))
        else:
            chats.add((petitioner, c["petitioner_phone"]))
    bound: dict[int, int] = {}  # record → the Telegram account (keyed hash) that claimed it
    if records:
        listed = sorted(records)
        async with conn.execute(
            f"SELECT id, telegram_hid FROM petitioners WHERE id IN ({_in(listed)}) AND telegram_hid IS NOT NULL",
            listed,
        ) as cur:
            bound = {row["id"]: row["telegram_hid"] async for row in cur}
    by_phone: dict[str | None, int] = {}  # a phone of the register (phone_key) → its record, while nobody claimed it
    phones = sorted({form for _, phone in chats for form in phone_forms(phone)})
    if phones:
        async with conn.execute(
            f"SELECT id, phone FROM petitioners WHERE NOT confidential AND telegram_hid IS NULL"
            f" AND phone IN ({_in(phones)}) ORDER BY id DESC",
            phones,
        ) as cur:
            by_phone = {phone_key(row["phone"]): row["id"] async for row in cur}
    people: set[str] = {f"id:{petitioner}" for petitioner in islands}
    people |= {f"tg:{bound[record]}" if record in bound else f"record:{record}" for record in records}
    for petitioner, phone_text in chats:
        phone = phone_key(phone_text)
        people.add(f"record:{by_phone[phone]}" if phone and phone in by_phone else f"tg:{ctx.claim_key(petitioner)}")
    return len(people)


def same_person_sql(keys: list[int], phones: list[str], records: list[int]) -> tuple[str, list[Any]]:
    """SQL over ``cases`` for "the same person petitioned" (see ``same_person``)."""
    clauses = [f"petitioner_id IN ({_in(keys)})"]
    args: list[Any] = list(keys)
    if phones:
        clauses.append(f"(NOT confidential AND petitioner_phone IN ({_in(phones)}))")
        args += phones
    if records:
        clauses.append(f"id IN (SELECT case_id FROM case_petitioners WHERE petitioner_id IN ({_in(records)}))")
        args += records
    return "(" + " OR ".join(clauses) + ")", args
