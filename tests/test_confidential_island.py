"""A confidential case is an island (issue 11, paths 1 and 8).

Nothing staff can see links a confidential case to another case of the same
person, in either direction; two confidential cases of one person carry
unrelated code names; no repeat petition is proposed to, from or among
them (store/repeats.py), so none is counted; and a case filed
as confidential under any category never reaches staff recused from its unit.
"""

from __future__ import annotations

from pathlib import Path

from handlers.render import case_flags
from handlers.reports import csv_texts
from store.clock import FakeClock
from store.errors import Refused
from store.models import Actor, ActorRole
from store.services import Services
from store.workflow import Action
from tests.conftest import draft, petitioner, rows

ADMIN = Actor(id=9001, role=ActorRole.ADMIN)
LEADER = Actor(id=2001, role=ActorRole.LEADER)
RECUSED = Actor(id=1002, role=ActorRole.OFFICER)  # covers the oilfield, recused from plant-2


async def _real_then_confidential(store: Services) -> tuple[str, str]:
    real = (await store.cases.submit(petitioner(5001), draft(phone="13800000000"), "real")).case
    secret = (await store.cases.submit(petitioner(5001), draft(confidential=True), "secret")).case
    assert not real.confidential and secret.confidential
    return real.number, secret.number


async def test_history_of_a_confidential_case_lists_only_itself(store: Services) -> None:
    real, secret = await _real_then_confidential(store)
    for viewer in (ADMIN, LEADER):
        assert [c.number for c in await store.review.case_history(viewer, secret)] == [secret]


async def test_history_of_a_real_name_case_never_lists_a_confidential_one(store: Services) -> None:
    real, secret = await _real_then_confidential(store)
    later = (await store.cases.submit(petitioner(5001), draft(subject="又一件"), "later")).case
    for viewer in (ADMIN, LEADER):
        listed = [c.number for c in await store.review.case_history(viewer, real)]
        assert secret not in listed and listed == [later.number, real]


async def test_a_confidential_case_is_never_proposed_as_a_repeat_nor_given_proposals(
    store: Services, tmp_path: Path
) -> None:
    real, secret = await _real_then_confidential(store)
    first = await store.cases.case_for(ADMIN, secret)
    assert first.repeat_of is None and first.repeat_count == 0
    again = (await store.cases.submit(petitioner(5001), draft(confidential=True), "again")).case
    assert again.repeat_of is None and again.repeat_count == 0
    for viewer in (ADMIN, LEADER):
        assert await store.repeats.candidates(viewer, again) == []
        assert await store.repeats.candidates(viewer, first) == []
    assert not str(case_flags(again, "zh"))
    # Nothing journaled names another case: no proposal at all.
    assert rows(store, "SELECT count(*) FROM events WHERE case_id IN (?, ?) AND action = 'flag'", again.id, first.id) \
        == [(0,)]


async def test_a_real_name_case_after_a_confidential_one_is_not_linked_to_it(store: Services) -> None:
    secret = (await store.cases.submit(petitioner(5001), draft(confidential=True), "secret")).case
    real = (await store.cases.submit(petitioner(5001), draft(), "real")).case
    assert real.repeat_of is None and real.repeat_count == 0
    assert secret.number not in str(case_flags(real, "zh"))
    assert await store.repeats.candidates(ADMIN, real) == []
    # Nor can staff tie them by hand, either way round.
    for new, earlier in ((real.number, secret.number), (secret.number, real.number)):
        try:
            await store.repeats.confirm(ADMIN, new, earlier)
        except Refused as error:
            assert error.code in ("repeat_confidential", "repeat_not_earlier")
        else:
            raise AssertionError("a confidential case was tied to another")
    assert rows(store, "SELECT count(*) FROM events WHERE action = 'repeat'") == [(0,)]


async def test_confidential_cases_count_as_matters_their_repeats_unproposed(store: Services) -> None:
    for key in ("a", "b", "c"):
        await store.cases.submit(petitioner(5001), draft(confidential=True), key)
    report = await store.indicators.indicators(ADMIN, "hq")
    row = report.rows[0]
    assert (row.received, row.matters, row.repeats) == (3, 3, 0)


async def test_the_exports_repeat_column_never_names_across_confidentiality(store: Services) -> None:
    real, secret = await _real_then_confidential(store)
    back = (await store.cases.submit(petitioner(5001), draft(), "back")).case
    assert [c.number for c in await store.repeats.candidates(ADMIN, back)] == [real]  # never the secret one
    back, _ = await store.repeats.confirm(ADMIN, back.number, real)
    assert back.repeat_of == real  # real-name repeats stay linked to real-name cases
    data = await store.indicators.export_data(ADMIN, "hq")
    _, cases_csv = csv_texts(data, store.org, "zh", store.tz)
    secret_line = next(line for line in cases_csv.splitlines() if line.startswith(f'"{secret}"'))
    assert real not in secret_line and back.number not in secret_line
    for line in cases_csv.splitlines():
        if not line.startswith(f'"{secret}"'):
            assert secret not in line


async def test_two_confidential_cases_of_one_person_carry_unrelated_code_names(store: Services) -> None:
    codes = [
        (await store.cases.submit(petitioner(5001), draft(category="misconduct"), key)).case.pseudonym
        for key in ("r1", "r2", "r3")
    ]
    assert len(set(codes)) > 1  # one code per person would make them all equal


async def test_a_confidential_claim_never_reaches_staff_recused_from_its_unit(
    store: Services, tmp_path: Path, clock: FakeClock
) -> None:
    """Recusal follows the case's confidentiality, not only the category's kind (path 8)."""
    claim = (await store.cases.submit(petitioner(5001), draft(unit="plant-2", confidential=True), "c")).case
    open_claim = (await store.cases.submit(petitioner(5002), draft(unit="plant-2"), "o")).case
    queue, _ = await store.cases.open_cases_for(RECUSED)
    assert [c.number for c in queue] == [open_claim.number]
    assert [c.number for c in await store.review.case_history(RECUSED, open_claim.number)] == [open_claim.number]
    _, choices = await store.staff_work.assignable_staff(ADMIN, claim.number)
    assert 1002 not in {s.telegram_id for s in choices}
    chats = {chat for (chat,) in rows(store, "SELECT chat_id FROM outbox WHERE case_id = ?", claim.id)}
    assert 1002 not in chats
    await store.cases.act(ADMIN, claim.number, Action.ACCEPT)
    clock.advance(days=80)  # overdue: escalations go to leaders, never the recused
    await store.review.sweep()
    chats = {chat for (chat,) in rows(store, "SELECT chat_id FROM outbox WHERE case_id = ?", claim.id)}
    assert 1002 not in chats


async def test_a_confidential_submission_is_journaled_under_its_keyed_id_not_the_telegram_id(store: Services) -> None:
    # The submission passes the key it stored to the journal (one read fewer): the same key, never 5001.
    real, secret = await _real_then_confidential(store)
    assert rows(store, "SELECT c.number, e.actor_id = c.petitioner_id, e.actor_id = 5001 FROM events e"
                       " JOIN cases c ON c.id = e.case_id WHERE e.action = 'submit' ORDER BY c.id") == [
        (real, 1, 1), (secret, 1, 0)]
