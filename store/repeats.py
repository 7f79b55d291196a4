"""Repeat petitions (重复信访): the system proposes, the officer confirms.

A repeat petition is the same person on the same matter (docs/procedure.md,
《信访工作条例》 Art. 36: after the re-review the same matter is not accepted
again; the offices count 件数, matters, and 件次, filings, apart). The system
cannot know that two filings are the same matter, so it never decides it:

- **Candidates.** At submission (the chat's intake and a staff registration,
  ``ReviewService.after_submit``) :func:`earlier_query` finds the earlier cases of
  the same person (``store.people.same_person``: accounts, phones, employee
  numbers and register records unified) in the same category and unit within
  ``[monitoring] repeat_days``, ranks them by the character bigrams their
  subjects share (then the details', then the newest first) and keeps the
  first :data:`CANDIDATES_MAX`: a ``flag`` event names them (``candidates``),
  the journal being where they are kept. Nothing is marked: the case is a
  new matter until staff say otherwise, and counts as one.
- **The officer's word.** ``/repeat <no> <earlier no>`` (or 确认为重复信访 on
  the card) confirms it: ``repeat_of`` names the matter's first case (the
  earlier case's own ``repeat_of``, else the earlier case), ``repeat_count``
  the filings of the matter before this one; cases that named this one as
  their first follow to the new first case. ``/repeat <no> none`` (不是同一事项)
  records that it is a matter of its own, and clears a mark set earlier. Each
  is a ``repeat`` event, after which the card proposes nothing more. Who may:
  staff who may act on the new case (``store.policy``, ``Act.REPEAT``); the
  earlier case must be one they may see.
- **Islands.** A confidential case or a report of misconduct (检举控告) is
  never proposed, never given candidates, and can be confirmed against
  nothing, in either role: a link between a confidential reporter's case and
  another case would tell whoever sees both who the reporter is
  (docs/confidentiality.md). Its repeats are not counted.

The indicators (``store.indicators``) count a case with ``repeat_count > 0``
as a confirmed repeat: 件次 every filing received, 件数 the filings that are
not confirmed repeats.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from store.clock import iso
from store.context import Service, StoreContext
from store.db import Connection
from store.errors import Forbidden, Refused
from store.event_data import FlagData, RepeatData, record_of
from store.models import SYSTEM, Actor, Case, Status, row_to_model
from store.people import Filed, same_person, same_person_sql
from store.policy import Act
from store.sqltext import only_row
from store.workflow import Action, next_status

#: How many earlier cases a card proposes at most.
CANDIDATES_MAX = 3
#: What ``/repeat <no> none`` takes for "not the same matter".
NONE_WORDS = frozenset({"none", "no", "0", "-", "无", "否", "不是"})


def island(case: Case) -> bool:
    """A case never linked to another: confidential, or a report of misconduct."""
    return case.identity_protected


def bigrams(text: str | None) -> set[str]:
    """The pairs of adjacent characters of ``text``, letters and digits only (NFKC, lower case)."""
    if not text:
        return set()
    plain = "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())
    return {plain[i:i + 2] for i in range(len(plain) - 1)}


def shared(one: str | None, other: str | None) -> int:
    """How many bigrams two texts share: the similarity the candidates are ranked by."""
    return len(bigrams(one) & bigrams(other))


class Candidate(BaseModel):
    """An earlier case that may be the same matter, as a card shows it."""

    number: str
    subject: str
    shared: int  # subject bigrams in common


async def earlier_query(ctx: StoreContext, conn: Connection, case: Case,
                        filed: Filed | None = None) -> tuple[str, tuple[Any, ...]] | None:
    """The statement that reads the person's earlier cases of the same matter (``None``: an island);
    for a caller that sends it with reads of its own (``Connection.together``), then ``propose_from``."""
    if island(case):
        return None
    since = iso(ctx.clock.now() - timedelta(days=ctx.org.monitoring.repeat_days))
    who, who_args = same_person_sql(*await same_person(ctx, conn, case, filed))
    return (
        f"SELECT id, number, subject, details, submitted_at FROM cases WHERE {who} AND category = ? AND unit = ?"
        " AND id <> ? AND submitted_at >= ? AND NOT confidential AND kind <> 'report' AND status <> ?",
        (*who_args, case.category, case.unit, case.id, since, Status.MERGED.value),
    )


async def propose_from(ctx: StoreContext, conn: Connection, case: Case, rows: Sequence[Any]) -> list[str]:
    """What ``earlier_query`` read, proposed on the case (a ``flag`` event naming them); their numbers."""
    if not rows:
        return []
    earlier = [dict(row) for row in rows]
    ranked = sorted(
        earlier,
        key=lambda e: (shared(case.subject, e["subject"]), shared(case.details, e["details"]), e["id"]),
        reverse=True,
    )[:CANDIDATES_MAX]
    numbers = [row["number"] for row in ranked]
    # The case was inserted in this transaction (a submission, a registration): its row is ``case``.
    await ctx.event(conn, case.id, SYSTEM, Action.FLAG, case.status, None, FlagData(candidates=numbers),
                    inserted=case)
    return numbers


async def _undecided(conn: Connection, case: Case) -> list[str]:
    """The numbers the latest proposal named, unless staff have decided since (a ``repeat`` event)."""
    async with conn.execute(
        "SELECT action, data FROM events WHERE case_id = ? AND action IN (?, ?) ORDER BY id DESC",
        (case.id, Action.FLAG.value, Action.REPEAT.value),
    ) as cur:
        async for row in cur:
            if row["action"] == Action.REPEAT.value:
                return []
            flagged = record_of(row["action"], json.loads(row["data"] or "{}"), FlagData)
            if flagged.candidates is not None:
                return flagged.candidates
    return []


class RepeatService(Service):
    """/repeat and the card's 确认为重复信访 / 不是同一事项; the candidates a card shows."""

    def _staff_only(self, actor: Actor) -> None:
        if not actor.is_staff or actor.id is None or self.org.staff_member(actor.id) is None:
            raise Forbidden("forbidden")

    async def candidates(self, viewer: Actor, case: Case) -> list[Candidate]:
        """The proposed earlier cases still undecided, best first: only those ``viewer`` may see."""
        if island(case):
            return []
        async with self.db.read() as conn:
            numbers = await _undecided(conn, case)
            found: list[Case] = []
            for number in numbers:
                earlier = await self.ctx.case_where(conn, "number = ?", (number,))
                if earlier is not None:
                    found.append(earlier)
        return [
            Candidate(number=c.number, subject=c.subject, shared=shared(case.subject, c.subject))
            for c in found
            if not island(c) and c.status is not Status.MERGED and self.ctx.may_see(viewer, c)
        ]

    async def _case(self, conn: Connection, actor: Actor, number: str) -> Case:
        case = await self.ctx.load_case(conn, actor, number)
        await self.ctx.require(conn, Act.REPEAT, actor, case)
        next_status(case.status, Action.REPEAT, actor.role)
        return case

    async def _dropped(self, conn: Connection, case: Case) -> list[str]:
        return await _undecided(conn, case)

    async def _earlier_filings(self, conn: Connection, first: str, case: Case) -> int:
        async with conn.execute(
            "SELECT count(*) FROM cases WHERE (number = ? OR repeat_of = ?) AND id <> ? AND submitted_at <= ?"
            " AND status <> ?",
            (first, first, case.id, iso(case.submitted_at), Status.MERGED.value),
        ) as cur:
            return max(1, int((await only_row(cur))[0]))

    async def confirm(self, actor: Actor, number: str, earlier_number: str) -> tuple[Case, str]:
        """/repeat <no> <earlier no>: the case is a repeat of the earlier case's matter; (case, first case)."""
        self._staff_only(actor)
        async with self.db.transaction() as conn:
            case = await self._case(conn, actor, number)
            earlier = await self.ctx.load_case(conn, actor, earlier_number)
            if earlier.id == case.id:
                raise Refused("repeat_same", number=case.number)
            if island(case) or island(earlier):
                raise Refused("repeat_confidential", number=case.number)
            if earlier.status is Status.MERGED:
                raise Refused("repeat_merged", number=earlier.number)
            if (earlier.submitted_at, earlier.id) >= (case.submitted_at, case.id):
                raise Refused("repeat_not_earlier", number=case.number, earlier=earlier.number)
            first = earlier.repeat_of or earlier.number
            if case.repeat_of == first:
                raise Refused("repeat_already", number=case.number, first=first)
            count = await self._earlier_filings(conn, first, case)
            case = await self.ctx.update_case(conn, case.id, {"repeat_of": first, "repeat_count": count})
            # The cases that named this one as their first case follow to the matter's first case.
            async with conn.execute("SELECT * FROM cases WHERE repeat_of = ? ORDER BY id", (case.number,)) as cur:
                later = [row_to_model(Case, row) async for row in cur]
            for follower in later:
                await self.ctx.update_case(conn, follower.id, {
                    "repeat_of": first, "repeat_count": await self._earlier_filings(conn, first, follower),
                })
            dropped = await self._dropped(conn, case)
            await self.ctx.event(conn, case.id, actor, Action.REPEAT, case.status, None, RepeatData(
                repeat_of=first, earlier=earlier.number, count=count,
                candidates=dropped, moved=[c.number for c in later],
            ))
        return case, first

    async def dismiss(self, actor: Actor, number: str) -> Case:
        """/repeat <no> none, 不是同一事项: a matter of its own; the candidates dropped, a mark cleared."""
        self._staff_only(actor)
        async with self.db.transaction() as conn:
            case = await self._case(conn, actor, number)
            dropped = await self._dropped(conn, case)
            if not dropped and case.repeat_of is None and case.repeat_count == 0:
                raise Refused("repeat_nothing", number=case.number)
            was = case.repeat_of
            case = await self.ctx.update_case(conn, case.id, {"repeat_of": None, "repeat_count": 0})
            await self.ctx.event(conn, case.id, actor, Action.REPEAT, case.status, None, RepeatData(
                repeat_of=None, candidates=dropped, **({"was": was} if was else {}),
            ))
        return case
