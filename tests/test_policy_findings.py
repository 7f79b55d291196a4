"""Issue #20's numbered findings 1-3 and the /register scope hole, each asserting the refusal itself.

Each of these passed on main before the policy (store/policy.py): the co-handling unit's staff merged,
linked, unlinked, voided codes, marked tasks told and declared incidents on the lead unit's case; an
officer's private account claimed a registered case with a code it had issued; a follower rated the
main case, was sent its rating request and got its documents; staff registered for any unit and
renamed a person by naming their phone. Organisation: tests/policy_fixture.py.
"""

from __future__ import annotations

import json

import pytest

from store.errors import NotFound, Refused
from store.ledger import InformHow, PersonIn
from store.models import Decision, Rating, Status
from store.notices import NoticeKind
from store.services import Services
from store.workflow import Action
from tests.conftest import OPINION_PARTS, draft, petitioner, rows
from tests.policy_fixture import (
    ADMIN,
    CLAIMANT_USER,
    DUP_USER,
    LEADER_OIL,
    LEADER_P1,
    LEADER_P2,
    MAIN_USER,
    OFFICER_P1,
    OFFICER_P2,
    OFFICER_REF,
    chat_case,
    citizen,
    letter,
    porg,
    pstore,
)

__all__ = ["porg", "pstore"]


def events(store: Services, action: str) -> int:
    return int(rows(store, "SELECT count(*) FROM events WHERE action = ?", action)[0][0])


async def cohandled(store: Services, number: str) -> None:
    await store.supervision.cohandle(OFFICER_P1, number, "plant-2", "请协助核实")


# ---------------------------------------------------------------- finding 1


async def test_finding_1_a_cohandling_unit_may_not_merge_link_unlink_or_declare(pstore: Services) -> None:
    lead = await chat_case(pstore, MAIN_USER, "lead")
    other = await chat_case(pstore, DUP_USER, "other")
    # plant-2's own case, which a co-handler could otherwise merge the lead case into.
    own = (await pstore.cases.submit(petitioner(5004), draft(unit="plant-2"), "own")).case.number
    await cohandled(pstore, lead)
    await cohandled(pstore, other)
    for attempt in (
        pstore.links.merge(OFFICER_P2, own, lead, "同一事项"),
        pstore.links.merge(OFFICER_P2, lead, own, "同一事项"),
        pstore.links.link(OFFICER_P2, lead, own),
        pstore.links.link(OFFICER_P2, lead, other),
    ):
        with pytest.raises(Refused) as refused:
            await attempt
        assert refused.value.code == "cohandle_lead_only"
    assert (await pstore.cases.case_for(OFFICER_P1, lead)).status is Status.SUBMITTED
    assert rows(pstore, "SELECT count(*) FROM case_links") == [(0,)]
    assert events(pstore, "merge") == 0 and events(pstore, "link") == 0
    # The lead unit links them; the co-handler may not undo it either.
    await pstore.links.link(OFFICER_P1, lead, other)
    with pytest.raises(Refused) as refused:
        await pstore.links.unlink(OFFICER_P2, lead, other)
    assert refused.value.code == "cohandle_lead_only"
    assert rows(pstore, "SELECT count(*) FROM case_links") == [(1,)]
    # /incident <no> <level>: a co-handling unit's leader may not; the lead unit's may.
    with pytest.raises(Refused) as refused:
        await pstore.incidents.declare(LEADER_P2, lead, 4)
    assert refused.value.code == "cohandle_lead_only"
    assert rows(pstore, "SELECT count(*) FROM incidents") == [(0,)]
    await pstore.incidents.declare(LEADER_P1, lead, 4)
    assert rows(pstore, "SELECT count(*) FROM incidents") == [(1,)]
    # What the co-handler may do stays open to them: notes and progress.
    await pstore.cases.act(OFFICER_P2, lead, Action.NOTE, body="已核实考勤")
    assert events(pstore, "note") == 1


async def test_finding_1_a_cohandling_unit_may_not_void_codes_or_mark_tasks_told(pstore: Services) -> None:
    done = await pstore.ledger.register(OFFICER_P1, letter(pstore.context.today()))
    number = done.case.number
    await cohandled(pstore, number)
    await pstore.cases.act(OFFICER_P1, number, Action.ACCEPT)  # a notice the petitioner without Telegram is owed
    [task], _ = await pstore.ledger.open_tasks(OFFICER_P1)
    codes_before = rows(pstore, "SELECT code_hash, used_at FROM claim_codes")
    with pytest.raises(Refused) as refused:
        await pstore.ledger.reissue_codes(OFFICER_P2, number)
    assert refused.value.code == "cohandle_lead_only"
    assert rows(pstore, "SELECT code_hash, used_at FROM claim_codes") == codes_before  # the receipt's code still binds
    with pytest.raises(Refused) as refused:
        await pstore.ledger.complete_task(OFFICER_P2, task.id, InformHow.PHONE)
    assert refused.value.code == "cohandle_lead_only"
    assert rows(pstore, "SELECT done_at FROM contact_tasks") == [(None,)]
    assert events(pstore, "inform") == 0 and events(pstore, "codes") == 0
    # The lead unit may.
    assert (await pstore.ledger.complete_task(OFFICER_P1, task.id, InformHow.PHONE)).done_at is not None
    assert len(await pstore.ledger.reissue_codes(OFFICER_P1, number)) == 1


# ---------------------------------------------------------------- finding 2


async def test_finding_2_an_officer_cannot_claim_a_registered_case_from_a_private_account(pstore: Services) -> None:
    done = await pstore.ledger.register(OFFICER_P1, letter(pstore.context.today()))
    number = done.case.number
    [code] = await pstore.ledger.reissue_codes(OFFICER_P1, number)  # the officer holds a live code
    private = 7777  # the officer's own private account: no staff entry
    with pytest.raises(Refused) as refused:
        await pstore.ledger.claim(private, code.code)  # the code alone: the person must be confirmed
    assert refused.value.code == "claim_contact_needed"
    with pytest.raises(Refused) as refused:
        await pstore.ledger.claim(private, code.code, "+86 139 0000 7777", private)  # their own number, attested
    assert refused.value.code == "claim_phone_mismatch"
    # Nothing is bound: the register, the case, the code; the private account cannot rate or see it.
    assert rows(pstore, "SELECT telegram_hid FROM petitioners") == [(None,)]
    assert rows(pstore, "SELECT count(*) FROM claim_codes WHERE used_at IS NOT NULL") == [(0,)]
    with pytest.raises(NotFound):
        await pstore.cases.case_for(citizen(private), number)
    # The officer's staff account may not claim a case it can see, nor may a co-handler's.
    await cohandled(pstore, number)
    for staff in (OFFICER_P1.id, OFFICER_P2.id, ADMIN.id):
        assert staff is not None
        with pytest.raises(Refused) as refused:
            await pstore.ledger.claim(staff, code.code, "13800138000", staff)
        assert refused.value.code == "claim_staff_sees"
    # The person, whose Telegram account Telegram attests has the registered number, claims it.
    claimed = await pstore.ledger.claim(CLAIMANT_USER, code.shown, "8613800138000", CLAIMANT_USER)
    assert claimed.case.number == number
    assert rows(pstore, "SELECT telegram_hid FROM petitioners") == [(pstore.context.claim_key(CLAIMANT_USER),)]
    [(data,)] = rows(pstore, "SELECT data FROM events WHERE action = 'claim'")
    assert json.loads(data)["confirmed"] == "phone"
    # Nobody told the staff: the person was confirmed.
    assert [i for i in await pstore.outbox.pending_notifications(limit=500) if i.kind == NoticeKind.CLAIM_BY_CODE] == []


async def test_finding_2_a_code_alone_binds_only_without_a_phone_and_the_handler_and_leaders_are_told(
    pstore: Services,
) -> None:
    done = await pstore.ledger.register(OFFICER_P1, letter(pstore.context.today(), phone=None, name="冯师傅"))
    claimed = await pstore.ledger.claim(CLAIMANT_USER, done.codes[0].code)
    assert claimed.case.number == done.case.number
    told = sorted(i.chat_id for i in await pstore.outbox.pending_notifications(limit=500)
                  if i.kind == NoticeKind.CLAIM_BY_CODE)
    assert told == [1001, 1005, 3003]  # the unit's officers handling it (no assignee yet) and its leader
    assert rows(pstore, "SELECT count(*) FROM events WHERE action = 'claim' AND data LIKE '%\"code\"%'") == [(1,)]


async def test_finding_2_a_person_bound_to_one_account_is_refused_to_another(pstore: Services) -> None:
    today = pstore.context.today()
    first = await pstore.ledger.register(OFFICER_P1, letter(today))
    second = await pstore.ledger.register(OFFICER_P1, letter(today))  # the same person (phone), another letter
    assert rows(pstore, "SELECT count(*) FROM petitioners") == [(1,)]
    await pstore.ledger.claim(CLAIMANT_USER, first.codes[0].code, "13800138000", CLAIMANT_USER)
    with pytest.raises(Refused) as refused:
        await pstore.ledger.claim(7777, second.codes[0].code, "13800138000", 7777)
    assert refused.value.code == "claim_person_bound"
    assert rows(pstore, "SELECT telegram_hid FROM petitioners") == [(pstore.context.claim_key(CLAIMANT_USER),)]
    with pytest.raises(NotFound):
        await pstore.cases.case_for(citizen(7777), second.case.number)


# ---------------------------------------------------------------- finding 3


async def test_finding_3_a_follower_may_not_rate_request_review_or_get_documents(pstore: Services) -> None:
    main = await chat_case(pstore, MAIN_USER, "main")
    dup = await chat_case(pstore, DUP_USER, "dup")
    await pstore.links.merge(OFFICER_P1, main, dup, "同一事项")
    await pstore.cases.act(OFFICER_P1, main, Action.ACCEPT)
    await pstore.cases.act(OFFICER_P1, main, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="经核实，予以支持。")
    follower = citizen(DUP_USER)
    for attempt in (
        pstore.review.rate(follower, main, Rating.SATISFIED),
        pstore.review.request_review(follower, main, "不满意"),
        pstore.documents.documents(follower, main),
    ):
        with pytest.raises(Refused) as refused:
            await attempt
        assert refused.value.code == "policy_follower"
    case = await pstore.cases.case_for(citizen(MAIN_USER), main)
    assert (case.status, case.rating, case.review_level) == (Status.DECIDED, None, 0)
    assert events(pstore, "rate") == 0 and events(pstore, "request_review") == 0
    # Told of the outcome, but not asked to rate; the main petitioner is asked.
    pending = await pstore.outbox.pending_notifications(limit=1000)
    follower_chat = pstore.context.claim_key(DUP_USER)
    assert any(i.kind == NoticeKind.PETITIONER_EVENT and i.chat_id == follower_chat for i in pending)
    assert [i for i in pending if i.kind == NoticeKind.RATING_ASKED and i.chat_id == follower_chat] == []
    assert [i for i in pending if i.kind == NoticeKind.DOCUMENT and i.chat_id == follower_chat] == []
    assert any(i.kind == NoticeKind.RATING_ASKED and i.chat_id == MAIN_USER for i in pending)
    # The follower still reads the case and adds material; the main petitioner rates it.
    assert (await pstore.cases.case_for(follower, main)).number == main
    await pstore.review.rate(citizen(MAIN_USER), main, Rating.SATISFIED)
    assert events(pstore, "rate") == 1


# ------------------------------------------------------------ /register scope


async def test_register_is_scoped_and_never_renames_a_registered_person(pstore: Services) -> None:
    today = pstore.context.today()
    with pytest.raises(Refused) as refused:
        await pstore.ledger.register(OFFICER_REF, letter(today))  # refinery's officer, for plant-1
    assert refused.value.code == "register_out_of_scope"
    with pytest.raises(Refused) as refused:
        await pstore.ledger.register(OFFICER_P2, letter(today, unit="plant-1"))
    assert refused.value.code == "register_out_of_scope"
    assert rows(pstore, "SELECT count(*) FROM cases") == [(0,)]
    first = await pstore.ledger.register(OFFICER_P1, letter(today))
    assert first.kept_names == []
    await pstore.ledger.register(LEADER_OIL, letter(today, unit="plant-2"))  # a leader above both plants
    # Naming the same phone with another name keeps the registered name, and says so.
    other = letter(today, name="王某")
    other.people = [PersonIn(name="王某", phone="138 0013 8000")]
    again = await pstore.ledger.register(ADMIN, other)
    assert [(k.kept, k.given) for k in again.kept_names] == [("刘师傅", "王某")]
    assert rows(pstore, "SELECT name FROM petitioners") == [("刘师傅",)]
