"""A new case, written once: the petition filed in chat and the matter staff register.

Both ways in (``store/cases.py``'s submission, ``store/ledger.py``'s
registration) decide who the petitioner is and what the matter is in their
own words; what a case row holds, which identity a confidential case seals
and whether a matter is confidential by default are decided here, once, so
the two can never drift apart (a column added to one insert and forgotten in
the other, a report that one path leaves open).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from store.clock import iso
from store.context import StoreContext
from store.db import Connection
from store.models import Case, Status, row_to_model
from store.org import Category, CategoryKind
from store.words import Words


def confidential_by_default(choice: bool | None, category: Category | None) -> bool:
    """The petitioner's (or the registering staff's) choice, else confidential for a report (Art. 30)."""
    if choice is not None:
        return choice
    return category is not None and category.kind is CategoryKind.REPORT


@dataclass(frozen=True)
class NewCase:
    """One row of ``cases`` as it is first written; ``name`` and ``phone`` are dropped when confidential."""

    number: str
    submit_key: str  # the draft's submit key, or the registration's id: a second insert finds the first
    petitioner_id: int | str  # a Telegram id, or a person record's key (store/vault.py)
    category: Category
    unit: str
    subject: str
    details: str
    confidential: bool
    submitted_at: datetime
    accept_due: date
    name: str | None = None
    phone: str | None = None
    people: int | None = None
    desired_outcome: str | None = None
    language: str | None = None
    employee_no: str | None = None
    employee_unit: str | None = None
    channel: str = "telegram"  # store.ledger.Channel's value: the bot's own chat, or how a matter came in
    external_ref: str | None = None
    received_on: date | None = None
    registered_by: int | None = None


async def insert_case(
    ctx: StoreContext, conn: Connection, new: NewCase, now: datetime, identity: dict[str, Any] | None = None
) -> Case:
    """Write the case (and, for a confidential one, its sealed ``identity``); the row as written.

    The row comes back with the INSERT (``RETURNING *``), so a submission needs no read of it; a
    change made after (the journal's, the queue's rank) is not in it.

    A confidential case keeps no name, phone or employee number in the row: who
    the petitioner is lives only in the vault, for the identity custodian alone.
    """
    case, _ = await insert_case_with(ctx, conn, new, now, identity)
    return case


async def insert_case_with(
    ctx: StoreContext, conn: Connection, new: NewCase, now: datetime, identity: dict[str, Any] | None = None,
    alongside: Sequence[tuple[str, Any]] = (),
) -> tuple[Case, list[list[Any]]]:
    """``insert_case``, and reads that need nothing of the case sent in the same trip: the case, then
    each read's rows (``Connection.together``)."""
    confidential = new.confidential
    inserted, *read = await conn.together([(
        "INSERT INTO cases (number, submit_key, petitioner_id, petitioner_name, petitioner_phone, confidential,"
        " pseudonym, category, kind, unit, subject, details, people, desired_outcome, status, submitted_at,"
        " accept_due, language, updated_at, employee_no, employee_unit, channel, external_ref, received_on,"
        " registered_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            new.number,
            new.submit_key,
            new.petitioner_id,
            None if confidential else new.name,
            None if confidential else new.phone,
            confidential,
            await ctx.pseudonym(conn, new.submit_key),
            new.category.id,
            new.category.kind.value,
            new.unit,
            Words(new.subject),  # people's words: compact on SQLite (store/words.py)
            Words(new.details),
            new.people,
            None if new.desired_outcome is None else Words(new.desired_outcome),
            Status.SUBMITTED.value,
            iso(new.submitted_at),
            new.accept_due.isoformat(),
            new.language,
            iso(now),
            None if confidential else new.employee_no,
            None if confidential else new.employee_unit,
            new.channel,
            new.external_ref,
            new.received_on.isoformat() if new.received_on is not None else None,
            new.registered_by,
        ),
    ), *alongside])
    case = row_to_model(Case, inserted[0])
    case_id = case.id
    if confidential and identity is not None:
        await conn.execute(
            "INSERT INTO identities (case_id, sealed, created_at) VALUES (?, ?, ?)",
            (case_id, ctx.vault.seal(identity, ("identities", "sealed", case_id)), iso(now)),
        )
    return case, read
