"""Rules written in Python and in SQL must say the same thing.

The current deadline (``current_deadline`` and ``CURRENT_DUE_SQL``) and who may
see a case (``routing.can_handle`` and ``StoreContext.scope``) each exist in
both forms, because lists are filtered and sorted in SQL while single cases
are checked in Python. These tests hold the two forms together.
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from datetime import date
from itertools import product
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from store import routing
from store.clock import FakeClock
from store.context import read_scope_sql, scope_sql
from store.models import Actor, ActorRole, Decision, Status
from store.org import Organization, Role, Staff
from store.review import CURRENT_DUE_SQL, current_deadline
from store.services import Services
from store.sqltext import only_row
from store.workflow import Action
from tests.conftest import OPINION_PARTS, ORG_FILE, draft, petitioner

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)


async def test_a_case_in_review_sorts_by_its_review_due_date(store: Services, clock: FakeClock) -> None:
    """Not by the answer date of the written opinion it is being reviewed after."""
    reviewed = (await store.cases.submit(petitioner(5001), draft(), "a")).case
    await store.cases.act(OFFICER, reviewed.number, Action.ACCEPT)  # answer_due: 2027-01-01
    await store.cases.act(OFFICER, reviewed.number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.REJECT, body="意见")
    asked = await store.review.request_review(
        Actor(id=5001, role=ActorRole.PETITIONER), reviewed.number, "不服"
    )
    assert asked.status is Status.REVIEW and asked.review_due == date(2026, 12, 2)
    assert asked.answer_due == date(2027, 1, 1)
    clock.advance(days=20)
    waiting = (await store.cases.submit(petitioner(5002), draft(), "b")).case
    assert waiting.accept_due == date(2026, 12, 7)  # after the review's due date, before the old answer date

    queue, total = await store.cases.open_cases_for(ADMIN)

    assert total == 2
    assert [c.number for c in queue] == [reviewed.number, waiting.number]


async def test_python_and_sql_agree_on_the_current_deadline_in_every_status(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(), "k")).case
    dues = {
        "accept_due": "2026-11-17",
        "answer_due": "2027-01-01",
        "review_due": "2027-02-01",
        "rereview_due": "2027-03-01",
    }
    # A hearing (听证) stops the clock of a review: clock_stopped_on set or not, in every status.
    for status, present, stopped in product(Status, (dues, {"accept_due": dues["accept_due"]}), (None, "2026-12-01")):
        columns = {column: present.get(column) for column in dues}
        async with store.db.transaction() as conn:
            await conn.execute(
                "UPDATE cases SET status = :status, accept_due = :accept_due, answer_due = :answer_due,"
                " review_due = :review_due, rereview_due = :rereview_due, clock_stopped_on = :stopped"
                " WHERE id = :id",
                {"status": status.value, "id": case.id, "stopped": stopped, **columns},
            )
        async with store.db.read() as conn:
            async with conn.execute(f"SELECT {CURRENT_DUE_SQL} FROM cases WHERE id = ?", (case.id,)) as cur:
                (in_sql,) = await only_row(cur)
        loaded = await store.cases.case_by_id(case.id)
        assert loaded is not None
        found = current_deadline(loaded)
        in_python = found[1].isoformat() if found is not None else None
        assert in_python == in_sql, (status, present, stopped)


# ------------------------------------------------------------------ scope

BASE = Organization.model_validate(
    {**tomllib.loads(ORG_FILE.read_text(encoding="utf-8")), "staff": [], "reception": [], "incident_levels": []}
)
UNITS = [u.id for u in BASE.units]
CATEGORIES = [c.id for c in BASE.categories]
# Every unit x category, filed in the open and filed as confidential (保密):
# confidentiality, not only the category's kind, decides recusal.
CASES = [
    (unit, category, BASE.category(category).kind.value, confidential)
    for unit in UNITS
    for category in CATEGORIES
    for confidential in (False, True)
]


def _in_scope_by_sql(org: Organization, staff: Staff) -> set[tuple[str, str, bool]]:
    clause, args = scope_sql(org, Actor(id=staff.telegram_id, role=ActorRole(staff.role.value)))
    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE TABLE cases (unit TEXT, category TEXT, kind TEXT, confidential INTEGER)")
        conn.executemany("INSERT INTO cases VALUES (?, ?, ?, ?)", CASES)
        rows = conn.execute(f"SELECT unit, category, confidential FROM cases WHERE {clause}", args)
        return {(unit, category, bool(confidential)) for unit, category, confidential in rows.fetchall()}


subsets = st.lists(st.sampled_from(UNITS), unique=True, max_size=3)


#: Discipline staff at the top: reports then go along the discipline line (store/discipline.py), and the
#: scope of everyone else keeps them out, or leaves that to the categories an officer is named for.
LINE = {"telegram_id": 4343, "name": "集团纪委", "role": "officer", "units": ["hq"], "discipline": True}


@pytest.mark.parametrize("line", [False, True], ids=["no discipline line", "a discipline line"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    role=st.sampled_from(list(Role)),
    units=subsets,
    categories=st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=3),
    recuse=subsets,
)
def test_scope_in_sql_is_can_handle_for_every_unit_category_and_recusal(
    line: bool, role: Role, units: list[str], categories: list[str], recuse: list[str]
) -> None:
    member: dict[str, Any] = {
        "telegram_id": 4242, "name": "某人", "role": role.value,
        "units": units, "categories": categories, "recuse_units": recuse,
    }
    try:
        org = Organization.model_validate({**BASE.model_dump(), "staff": [member, *([LINE] if line else [])]})
    except pydantic.ValidationError:
        assume(False)  # a staff entry the organisation file would refuse
        return
    staff = org.staff[0]
    by_python = {
        (unit, category, confidential)
        for unit, category, _, confidential in CASES
        if routing.can_handle(org, staff, unit, category, confidential)
    }
    assert _in_scope_by_sql(org, staff) == by_python


def _read_by_sql(org: Organization, staff: Staff, co: list[list[str]]) -> set[tuple[str, str, bool]]:
    clause, args = read_scope_sql(org, Actor(id=staff.telegram_id, role=ActorRole(staff.role.value)))
    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE TABLE cases (id INTEGER, unit TEXT, category TEXT, kind TEXT, confidential INTEGER,"
                     " cohandlers TEXT)")  # cohandlers: the row's copy of case_cohandlers, as the store keeps it
        conn.execute("CREATE TABLE case_cohandlers (case_id INTEGER, unit TEXT)")
        conn.executemany("INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?)",
                         [(i, *c, json.dumps(_co_units(co, i, c[0]))) for i, c in enumerate(CASES)])
        conn.executemany("INSERT INTO case_cohandlers VALUES (?, ?)",
                         [(i, u) for i, c in enumerate(CASES) for u in _co_units(co, i, c[0])])
        found = conn.execute(f"SELECT unit, category, confidential FROM cases WHERE {clause}", args)
        return {(unit, category, bool(confidential)) for unit, category, confidential in found.fetchall()}


def _co_units(co: list[list[str]], index: int, unit: str) -> list[str]:
    """The co-handling units (协办) of case ``index``: one of the drawn sets, never its own unit."""
    return [u for u in co[index % len(co)] if u != unit]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    role=st.sampled_from(list(Role)),
    units=subsets,
    categories=st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=3),
    recuse=subsets,
    co=st.lists(st.lists(st.sampled_from(UNITS), unique=True, max_size=2), min_size=1, max_size=5),
)
def test_reading_scope_in_sql_is_can_read_with_co_handling_units(
    role: Role, units: list[str], categories: list[str], recuse: list[str], co: list[list[str]]
) -> None:
    """协办: the co-handling units' staff see a case too (recusal still applies); SQL and Python agree."""
    member: dict[str, Any] = {
        "telegram_id": 4242, "name": "某人", "role": role.value,
        "units": units, "categories": categories, "recuse_units": recuse,
    }
    try:
        org = Organization.model_validate({**BASE.model_dump(), "staff": [member]})
    except pydantic.ValidationError:
        assume(False)
        return
    staff = org.staff[0]
    by_python = {
        (unit, category, confidential)
        for index, (unit, category, _, confidential) in enumerate(CASES)
        if routing.can_read(org, staff, unit, category, confidential, _co_units(co, index, unit))
    }
    assert _read_by_sql(org, staff, co) == by_python
    # Co-handling only widens what is seen: every case in lead scope is still there.
    assert _in_scope_by_sql(org, staff) <= by_python


def test_the_scope_test_sees_every_kind_of_case() -> None:
    """The table above has a report, a claim and a suggestion in every unit, each open and confidential."""
    kinds = {(kind, confidential) for _, _, kind, confidential in CASES}
    assert kinds == {(k, c) for k in ("report", "claim", "suggestion") for c in (False, True)}
    assert len(CASES) == len(UNITS) * len(CATEGORIES) * 2
