"""Staff managed in chat (store/staffing.py), on both backends: in effect at once, checked like the file, journaled.

Organisation (tests/org_fixture.toml): officer 王主任 1001 (plant-1, wages; named in incident level 3),
officer 李科长 1002 (oilfield), leader 赵总 2001 (oilfield), admin 9001.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from store.clock import FakeClock
from store.errors import Refused
from store.models import Actor, ActorRole
from store.notices import NoticeKind
from store.org import Organization, Role, Staff, parse_org
from store.services import Services
from store.workflow import Action
from tests.backends import rows
from tests.conftest import ORG_FILE, draft, petitioner

ADMIN = Actor(id=9001, role=ActorRole.ADMIN, name="管理员")
NEW = Staff(telegram_id=4242, name="孙干事", role=Role.OFFICER, units=("plant-2",))


async def test_an_officer_added_in_chat_acts_at_once_and_is_journaled(store: Services) -> None:
    returned = await store.staffing.put(ADMIN, NEW)
    assert returned.numbers == []
    assert store.org.staff_member(4242) == NEW  # every service sees the organisation in use
    case = (await store.cases.submit(petitioner(), draft(unit="plant-2"), "k1")).case
    officer = store.cases.actor(4242)
    assert officer.role is ActorRole.OFFICER
    accepted = await store.cases.act(officer, case.number, Action.ACCEPT)
    assert accepted.assignee_id == 4242
    assert rows(store, "SELECT action, telegram_id FROM staff_journal") == [("add", 4242)]
    assert (await store.staffing.verify_journal()).ok
    card_to = {i.chat_id for i in await store.outbox.pending_notifications(limit=100) if i.kind == NoticeKind.CASE_CARD}
    assert 4242 in card_to  # routing followed: the new officer got the new case's card


async def test_removing_an_officer_returns_their_open_case_to_the_unit_and_tells_its_leaders(store: Services) -> None:
    await store.staffing.put(ADMIN, NEW)
    case = (await store.cases.submit(petitioner(), draft(unit="plant-2"), "k1")).case
    await store.cases.act(store.cases.actor(4242), case.number, Action.ACCEPT)
    returned = await store.staffing.remove(ADMIN, 4242)
    assert returned.numbers == [case.number]
    assert store.org.staff_member(4242) is None and not store.cases.actor(4242).is_staff
    assert rows(store, "SELECT assignee_id FROM cases WHERE id = ?", case.id) == [(None,)]
    assert ("unassign",) in rows(store, "SELECT action FROM events WHERE case_id = ?", case.id)
    told = [i.chat_id for i in await store.outbox.pending_notifications(limit=100) if i.kind == NoticeKind.STAFF_RETURNED]
    assert told == [2001]  # 赵总, leader of oilfield above plant-2


async def test_losing_the_unit_of_a_case_returns_it_too(store: Services) -> None:
    await store.staffing.put(ADMIN, NEW)
    case = (await store.cases.submit(petitioner(), draft(unit="plant-2"), "k1")).case
    await store.cases.act(store.cases.actor(4242), case.number, Action.ACCEPT)
    moved = NEW.model_copy(update={"units": ("refinery",)})
    assert (await store.staffing.put(ADMIN, moved)).numbers == [case.number]
    still = NEW.model_copy(update={"units": ("plant-2", "refinery")})
    await store.staffing.put(ADMIN, still)
    await store.cases.act(store.cases.actor(4242), case.number, Action.NOTE, body="已联系")  # in scope again
    assert (await store.staffing.put(ADMIN, still.model_copy(update={"name": "孙科长"}))).numbers == []


async def test_changes_are_checked_like_the_file_and_refused_with_the_reason(store: Services) -> None:
    with pytest.raises(Refused) as no_unit:
        await store.staffing.put(ADMIN, NEW.model_copy(update={"units": ()}))
    assert no_unit.value.code == "staff_invalid" and "needs at least one unit" in no_unit.value.params["problems"]
    with pytest.raises(Refused) as unknown:
        await store.staffing.put(ADMIN, NEW.model_copy(update={"units": ("plant-9",)}))
    assert 'unknown unit "plant-9"' in unknown.value.params["problems"]
    with pytest.raises(Refused) as in_plan:
        await store.staffing.remove(ADMIN, 1001)  # the incident plan's level 3 names them
    assert "incident_levels" in in_plan.value.params["problems"]
    with pytest.raises(Refused) as custodian:
        await store.staffing.put(ADMIN, NEW.model_copy(update={"custodian": True}))
    assert custodian.value.code == "staff_custodian_in_file"
    with pytest.raises(Refused) as officer:
        await store.staffing.put(Actor(id=1001, role=ActorRole.OFFICER, name="王主任"), NEW)
    assert officer.value.code == "staff_admin_only"
    with pytest.raises(Refused) as last:
        await store.staffing.remove(ADMIN, 9001)
    assert last.value.code == "staff_last_admin"
    assert rows(store, "SELECT COUNT(*) FROM staff_members") == [(0,)]
    assert store.org.staff_member(4242) is None


async def test_the_database_holds_the_staff_and_the_file_seeds_only_the_unknown(
    backend: str, tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    from tests.backends import fresh_database

    async with fresh_database(backend, tmp_path, migrated=True) as target:
        first = await Services.open(target, org, clock)
        await first.staffing.put(ADMIN, NEW)
        await first.staffing.put(ADMIN, Staff(telegram_id=1002, name="李科长", role=Role.LEADER, units=("oilfield",)))
        await first.close()
        again = await Services.open(target, org, clock)  # the file still says 1002 is an officer
        try:
            assert again.org.staff_member(4242) == NEW
            member = again.org.staff_member(1002)
            assert member is not None and member.role is Role.LEADER
            # A reloaded file without plant-2: the chat's change no longer fits, the file alone stands.
            smaller = parse_org(ORG_FILE.read_text(encoding="utf-8").replace('"plant-2"', '"plant-3"'))
            problems = await again.staffing.apply(smaller)
            assert problems and again.org.staff_member(4242) is None
        finally:
            await again.close()
