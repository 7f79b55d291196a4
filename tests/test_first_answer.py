"""A case keeps the moment of its first answer (migration 0031): 及时受理率 reads it from the row.

The first accept, decline or decide event's moment is the case's ``first_answer_at``, set in the
transaction that journals it, and never moved by a later answer; an upgraded database has it filled
from the journal. The indicators count a case answered on time by it (store/indicators.py), as
they did when they looked the journal up for every case.
"""

from __future__ import annotations

from pathlib import Path

from store.clock import FakeClock
from store.db import migrations
from store.models import Actor, ActorRole, Decision, Rating
from store.opinion import DeclineGrounds
from store.org import Organization
from store.services import Services
from store.workflow import FIRST_ANSWER, Action
from tests.backends import execute, fresh_database, rows
from tests.conftest import OPINION_PARTS, draft, petitioner
from tests.test_pg_schema import before_0031
from tests.test_postgresql_native import set_version

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)  # plant-1 (tests/org_fixture.toml)
LEADER = Actor(id=2001, role=ActorRole.LEADER)  # oilfield, above plant-1


def first_answers(db: Services | str) -> dict[str, str | None]:
    """Each case's stored first answer, and what the journal says it is (min(at) of its answers)."""
    actions = ", ".join(f"'{a.value}'" for a in FIRST_ANSWER)
    stored = rows(db, "SELECT number, first_answer_at FROM cases ORDER BY id")
    journal = dict(rows(db, f"SELECT c.number, min(e.at) FROM cases c JOIN events e ON e.case_id = c.id"
                            f" WHERE e.action IN ({actions}) GROUP BY c.number"))
    found = {number: (None if at is None else str(at)) for number, at in stored}
    assert found == {number: (None if number not in journal else str(journal[number])) for number in found}
    return found


async def answered_cases(store: Services, clock: FakeClock) -> dict[str, str]:
    """A case accepted, then decided; one declined; one decided, redone and decided again; one waiting."""
    numbers: dict[str, str] = {}
    for key in ("accepted", "declined", "redone", "waiting"):
        numbers[key] = (await store.cases.submit(petitioner(5001 + len(numbers)), draft(), key)).case.number
    clock.advance(days=2)
    await store.cases.act(OFFICER, numbers["accepted"], Action.ACCEPT)
    await store.cases.act(OFFICER, numbers["declined"], Action.DECLINE, grounds=DeclineGrounds(reason="other"),
                          body="不属于信访事项。")
    await store.cases.act(OFFICER, numbers["redone"], Action.ACCEPT)
    clock.advance(days=3)
    await store.cases.act(OFFICER, numbers["accepted"], Action.DECIDE, parts=OPINION_PARTS,
                          decision=Decision.SUPPORT, body="支持：补发加班费。")
    await store.cases.act(OFFICER, numbers["redone"], Action.DECIDE, parts=OPINION_PARTS,
                          decision=Decision.REJECT, body="不予支持。")
    await store.review.rate(Actor(id=5003, role=ActorRole.PETITIONER), numbers["redone"], Rating.DISSATISFIED)
    clock.advance(days=1)
    await store.supervision.redo(LEADER, numbers["redone"], "请重新核查考勤记录。")
    clock.advance(days=1)
    await store.cases.act(OFFICER, numbers["redone"], Action.DECIDE, parts=OPINION_PARTS,
                          decision=Decision.SUPPORT, body="支持：补发加班费。")
    return numbers


async def test_the_first_answer_is_kept_and_never_moved(store: Services, clock: FakeClock) -> None:
    numbers = await answered_cases(store, clock)
    found = first_answers(store)  # equal to the journal's, case by case
    assert found[numbers["waiting"]] is None
    accepted = rows(store, "SELECT e.at FROM events e JOIN cases c ON c.id = e.case_id"
                           " WHERE c.number = ? AND e.action = 'accept'", numbers["redone"])
    assert found[numbers["redone"]] == str(accepted[0][0])  # the acceptance, not either opinion
    assert all(found[numbers[key]] is not None for key in ("accepted", "declined"))
    # 及时受理率 counts the three answered within their 15 days (the waiting one is still within them).
    report = await store.indicators.indicators(Actor(id=9001, role=ActorRole.ADMIN), "plant-1",
                                               store.context.today().strftime("%Y-%m"))
    row = report.rows[0]
    assert (row.received, row.accept_counted, row.accepted_on_time) == (4, 3, 3)


async def test_an_upgraded_database_has_its_first_answers_from_the_journal(
    backend: str, tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path, "upgrade.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        try:
            await answered_cases(store, clock)
            expected = first_answers(store)
        finally:
            await store.close()
        number = next(n for n, name, _ in migrations() if name.endswith("_first_answer.sql"))
        # A later migration would be undone first, unless it runs twice alike (0032: an index; 0034: declared types;
        # 0035, 0036: indexes).
        assert [name for n, name, _ in migrations() if n > number] == [
            "0032_unit_day_index.sql", "0033_case_month_changes.sql", "0034_words_compact.sql",
            "0035_moments_to_the_second.sql", "0036_open_cases_by_unit.sql", "0037_unit_month_changes.sql"]
        for statement in before_0031(backend):  # the schema before it: no column, the journal's index back
            execute(target, statement)
        set_version(target, number - 1)
        store = await Services.open(target, org, clock)
        try:
            assert await store.db.schema_version() == migrations()[-1][0]
            assert first_answers(store) == expected and sum(at is not None for at in expected.values()) == 3
            assert not rows(store, "SELECT 1 FROM cases WHERE first_answer_at IS NULL AND status <> 'submitted'")
        finally:
            await store.close()

