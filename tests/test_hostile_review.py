"""Findings of the hostile review (officer, employee, file holder), each asserting the refusal itself.

Organisations: tests/review_fixture.py (``rstore``) and tests/org_fixture.toml (``store``), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json

import pytest

from store.errors import NotFound, NotOwnContact, Refused
from store.models import Actor, ActorRole
from store.org import Role, Staff
from store.screening import DisputeIn
from store.services import Services
from store.workflow import Action
from tests.backends import execute
from tests.conftest import draft, petitioner, rows
from tests.policy_fixture import CLAIMANT_USER, letter, porg, pstore
from tests.policy_fixture import OFFICER_P1 as POLICY_OFFICER
from tests.review_fixture import ADMIN, LEADER_P1, LEADER_REF, OFFICER_P1, rorg, rstore

__all__ = ["porg", "pstore", "rorg", "rstore"]

CHAT_ADMIN = Actor(id=9001, role=ActorRole.ADMIN)  # tests/org_fixture.toml


def dispute() -> DisputeIn:
    return DisputeIn.model_validate({"type": "labour", "subject": "食堂承包纠纷", "people": 3, "risk": "low",
                                     "responsible": "王主任", "next_step": "约谈双方"})


async def test_a_dispute_is_never_linked_to_a_confidential_case(rstore: Services) -> None:
    """The screening register is read by everyone covering the unit (recused staff too): a link to a
    confidential case or a report would point them at it."""
    secret = (await rstore.cases.submit(petitioner(5001), draft(confidential=True), "s")).case.number
    filed = await rstore.screening.file(OFFICER_P1, "plant-1", dispute())
    with pytest.raises(Refused) as refused:
        await rstore.screening.link_case(OFFICER_P1, filed.id, secret)
    assert refused.value.code == "screening_link_confidential"
    assert rows(rstore, "SELECT case_id FROM disputes WHERE id = ?", filed.id) == [(None,)]
    assert rows(rstore, "SELECT count(*) FROM screening_journal WHERE action = 'link'") == [(0,)]
    # A link an older version made is not shown in the register.
    case_id = rows(rstore, "SELECT id FROM cases WHERE number = ?", secret)[0][0]
    execute(rstore, "UPDATE disputes SET case_id = ? WHERE id = ?", case_id, filed.id)
    assert (await rstore.screening.dispute(ADMIN, filed.id)).case_number is None


async def test_a_recusal_the_file_sets_survives_a_change_made_in_chat(store: Services) -> None:
    """An administrator cannot lift a recusal the file sets (/staff: a person changed, or removed and added again,
    is written as a whole new entry)."""
    recused = Actor(id=1002, role=ActorRole.OFFICER)  # tests/org_fixture.toml: oilfield, recused from plant-2
    secret = (await store.cases.submit(petitioner(5001), draft(unit="plant-2", confidential=True), "s")).case.number
    with pytest.raises(NotFound):
        await store.cases.case_for(recused, secret)
    await store.staffing.put(CHAT_ADMIN, Staff(telegram_id=1002, name="李科长", role=Role.OFFICER, units=("oilfield",)))
    member = store.org.staff_member(1002)
    assert member is not None and member.recuse_units == ("plant-2",)
    with pytest.raises(NotFound):
        await store.cases.case_for(recused, secret)
    assert json.loads(rows(store, "SELECT recuse_units FROM staff_members WHERE telegram_id = 1002")[0][0]) == [
        "plant-2"]


async def test_a_collective_alert_follows_its_case_to_the_unit_it_was_transferred_to(rstore: Services) -> None:
    """An alert is shown to, and acknowledged by, the leaders in scope of its case as it is now: not the
    leaders of the unit the case left (who could otherwise still read and acknowledge it), nor hidden
    from those of the unit it went to."""
    numbers = [(await rstore.cases.submit(petitioner(u), draft(unit="plant-1"), f"k{u}")).case.number
               for u in range(5001, 5006)]
    (alert,) = (await rstore.review.alerts_for(LEADER_P1)).alerts
    case_number = alert.number
    assert case_number in numbers
    await rstore.cases.act(OFFICER_P1, case_number, Action.TRANSFER, unit="refinery", body="属炼化公司管辖")
    assert [a.number for a in (await rstore.review.alerts_for(LEADER_P1)).alerts] == []
    with pytest.raises(Refused) as refused:
        await rstore.review.acknowledge_alert(LEADER_P1, alert.id)
    assert refused.value.code == "alert_not_found"
    assert rows(rstore, "SELECT acknowledged_by FROM alerts WHERE id = ?", alert.id) == [(None,)]
    # The refinery's leader, in scope of the case now, sees it and acknowledges it.
    (moved,) = (await rstore.review.alerts_for(LEADER_REF)).alerts
    assert moved.id == alert.id and moved.unit == "refinery"
    assert (await rstore.review.acknowledge_alert(LEADER_REF, alert.id)).acknowledged_by == LEADER_REF.id


async def test_a_claim_counts_a_phone_only_from_the_claimants_own_contact(pstore: Services) -> None:
    """The store, not only the handler, refuses a forwarded contact card: someone holding the code and the
    registered person's contact (forwarded to them) is not that person."""
    done = await pstore.ledger.register(POLICY_OFFICER, letter(pstore.context.today()))
    [code] = await pstore.ledger.reissue_codes(POLICY_OFFICER, done.case.number)
    holder = 7777
    with pytest.raises(NotOwnContact):
        await pstore.ledger.claim(holder, code.code, "8613800138000", CLAIMANT_USER)  # the person's card, forwarded
    with pytest.raises(NotOwnContact):
        await pstore.ledger.claim(holder, code.code, "8613800138000")  # a number nobody attested
    assert rows(pstore, "SELECT telegram_hid FROM petitioners") == [(None,)]
    assert rows(pstore, "SELECT count(*) FROM claim_codes WHERE used_at IS NOT NULL") == [(0,)]
