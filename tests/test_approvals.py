"""签发 (store/drafts.py, store/approvals.py): an act [approvals] names reaches the petitioner only once approved.

Organisation: tests/review_fixture.py with ``[approvals] acts = ["decline", "extend", "decide"]``:
hq (leader 3001) ▸ oilfield (leader 3002) ▸ plant-1 (leader 3003; officer 1001), plant-2 (officer 1002, no
leader of its own: oilfield's 3002 approves). The clock stands at 2026-11-02 in Shanghai.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from handlers.documents import render_pdf
from handlers.notifications import render
from store.clock import FakeClock
from store.document_kinds import DocumentKind
from store.errors import AwaitingApproval, Refused
from store.models import Actor, ActorRole, Decision
from store.notices import NoticeKind
from store.opinion import DeclineGrounds
from store.org import Organization, OrgError, Role, Staff, parse_org
from store.services import Services
from store.workflow import Action
from tests.backends import fresh_database, rows
from tests.conftest import OPINION_PARTS, draft, petitioner
from tests.offline import Updates, feed, fill_opinion, offline_app
from tests.review_fixture import (
    ADMIN,
    LEADER_OIL,
    LEADER_P1,
    OFFICER_P1,
    OFFICER_P2,
    ORG_TOML,
    review_org,
    rorg,
    rstore,
)
from tests.test_documents import pdf_text

__all__ = ["rorg", "rstore"]

APPROVALS = '[approvals]\nacts = ["decline", "extend", "decide"]\n'


@pytest.fixture
async def astore(backend: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    org = parse_org(ORG_TOML + "\n" + APPROVALS)
    async with fresh_database(backend, tmp_path, "approvals.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        yield store
        await store.close()


async def accepted(store: Services, key: str = "k", unit: str = "plant-1") -> str:
    number = (await store.cases.submit(petitioner(5001), draft(unit=unit), key)).case.number
    await store.cases.act(OFFICER_P1 if unit == "plant-1" else OFFICER_P2, number, Action.ACCEPT)
    return number


async def kinds_to(store: Services, chat: int) -> list[str]:
    return [i.kind for i in await store.outbox.pending_notifications(limit=500) if i.chat_id == chat]


async def test_an_opinion_waits_for_the_nearest_leader_and_goes_out_only_once_approved(astore: Services) -> None:
    number = await accepted(astore)
    before = await kinds_to(astore, 5001)
    with pytest.raises(AwaitingApproval) as held:
        await astore.cases.act(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.EXPLAIN, body="经核实，已按规定发放。")
    assert held.value.params["approvers"] == "张厂长"  # plant-1's own leader, the nearest
    assert rows(astore, "SELECT status, decided_at FROM cases WHERE number = ?", number) == [("accepted", None)]
    assert await kinds_to(astore, 5001) == before  # nothing reached the petitioner
    asked = [i for i in await astore.outbox.pending_notifications(limit=500) if i.kind == NoticeKind.APPROVAL_ASKED]
    assert [i.chat_id for i in asked] == [3003]
    (card,) = await render(asked[0], astore)
    assert "待签发" in str(card.text) and "经核实，已按规定发放。" in str(card.text)

    with pytest.raises(Refused) as not_nearest:
        await astore.approvals.approve(LEADER_OIL, int(asked[0].params["draft"]))
    assert not_nearest.value.code == "approval_not_yours"
    with pytest.raises(Refused):
        await astore.approvals.approve(OFFICER_P1, int(asked[0].params["draft"]))  # the drafter never approves

    case = await astore.approvals.approve(LEADER_P1, int(asked[0].params["draft"]))
    assert case.status.value == "decided" and case.decision is Decision.EXPLAIN
    ((data,),) = rows(astore, "SELECT data FROM events WHERE case_id = ? AND action = 'decide'", case.id)
    assert json.loads(data)["approved_by"] == 3003
    told = [i for i in await astore.outbox.pending_notifications(limit=500)
            if i.chat_id == 5001 and i.kind == NoticeKind.PETITIONER_EVENT]
    assert "本件经单位领导批准签发" in str((await render(told[-1], astore))[0].text)
    (opinion,) = await astore.documents.documents(OFFICER_P1, number, DocumentKind.OPINION)
    assert opinion.approved and opinion.doc_no
    with pytest.raises(Refused) as twice:
        await astore.approvals.approve(LEADER_P1, int(asked[0].params["draft"]))
    assert twice.value.code == "draft_gone"


async def test_a_returned_draft_tells_the_officer_and_changes_nothing(astore: Services) -> None:
    # plant-2 has no leader of its own: oilfield's approves.
    number = (await astore.cases.submit(petitioner(5001), draft(unit="plant-2"), "k")).case.number
    with pytest.raises(AwaitingApproval) as held:
        await astore.cases.act(OFFICER_P2, number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="已进入劳动仲裁程序。")
    assert held.value.params["approvers"] == "陈经理"
    with pytest.raises(Refused) as second:
        await astore.cases.act(OFFICER_P2, number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不属于信访事项。")
    assert second.value.code == "draft_waiting"
    (draft_id,) = [int(i.params["draft"]) for i in await astore.outbox.pending_notifications(limit=500)
                   if i.kind == NoticeKind.APPROVAL_ASKED]
    await astore.approvals.return_draft(LEADER_OIL, draft_id)
    assert NoticeKind.APPROVAL_RETURNED in await kinds_to(astore, 1002)
    assert rows(astore, "SELECT status FROM cases WHERE number = ?", number) == [("submitted",)]
    with pytest.raises(AwaitingApproval):  # drafted again: waits again
        await astore.cases.act(OFFICER_P2, number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="该事项已进入劳动仲裁程序，请向仲裁委员会反映。")


async def test_an_approved_extension_says_so_and_a_leaders_own_act_needs_no_approval(astore: Services) -> None:
    number = await accepted(astore)
    with pytest.raises(AwaitingApproval):
        await astore.cases.act(OFFICER_P1, number, Action.EXTEND, days=10, body="需调取考勤记录核对。")
    (draft_id,) = [int(i.params["draft"]) for i in await astore.outbox.pending_notifications(limit=500)
                   if i.kind == NoticeKind.APPROVAL_ASKED]
    await astore.approvals.approve(LEADER_P1, draft_id)
    (extended,) = await astore.documents.documents(OFFICER_P1, number, DocumentKind.EXTENDED)
    assert "经批准，办理期限延长10日" in pdf_text(await render_pdf(extended, astore.org))
    other = await accepted(astore, "k2")
    decided = await astore.cases.act(LEADER_P1, other, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="予以支持。")
    assert decided.status.value == "decided"  # the approver's own act is signed by doing it


async def test_without_approvals_nothing_waits_and_nothing_says_approved(rstore: Services) -> None:
    number = await accepted(rstore)
    await rstore.cases.act(OFFICER_P1, number, Action.EXTEND, days=10, body="需调取考勤记录核对。")
    (extended,) = await rstore.documents.documents(OFFICER_P1, number, DocumentKind.EXTENDED)
    text = pdf_text(await render_pdf(extended, rstore.org))
    assert "办理期限延长10日" in text and "经批准" not in text


@pytest.mark.parametrize("act", ["extend", "decline", "decide"])
async def test_nothing_of_an_act_reaches_the_petitioner_before_it_is_approved(astore: Services, act: str) -> None:
    """Done when (#24): an extension, a decline or an opinion cannot reach the petitioner before it is approved."""
    number = await accepted(astore) if act != "decline" else (
        await astore.cases.submit(petitioner(5001), draft(), "d")).case.number
    every: dict[str, dict[str, Any]] = {
        "extend": {"days": 10, "body": "需调取考勤记录核对。"},
        "decline": {"grounds": DeclineGrounds(reason="legal_channel", destination="court")},
        "decide": {"decision": Decision.EXPLAIN, "body": "经核实，已按规定发放。", "parts": OPINION_PARTS},
    }
    kwargs = every[act]
    before = (await kinds_to(astore, 5001), rows(astore, "SELECT * FROM cases WHERE number = ?", number))
    with pytest.raises(AwaitingApproval):
        await astore.cases.act(OFFICER_P1, number, Action(act), **kwargs)
    assert (await kinds_to(astore, 5001), rows(astore, "SELECT * FROM cases WHERE number = ?", number)) == before
    issued_before = 0 if act == "decline" else 1  # the 受理告知书 of the accepted case, nothing of the held act
    assert rows(astore, "SELECT count(*) FROM issued_documents") == [(issued_before,)]
    (draft_id,) = [int(i.params["draft"]) for i in await astore.outbox.pending_notifications(limit=500)
                   if i.kind == NoticeKind.APPROVAL_ASKED]
    await astore.approvals.approve(LEADER_P1, draft_id)
    after = await kinds_to(astore, 5001)
    # The notice, then its document (after an opinion, the invitation to rate it too).
    assert after[len(before[0]):][:2] == [NoticeKind.PETITIONER_EVENT, NoticeKind.DOCUMENT]
    kind = {"extend": DocumentKind.EXTENDED, "decline": DocumentKind.DECLINED, "decide": DocumentKind.OPINION}[act]
    (doc,) = await astore.documents.documents(OFFICER_P1, number, kind)
    assert doc.approved and doc.doc_no


def test_check_config_refuses_a_unit_no_leader_can_approve_for() -> None:
    org: Organization = review_org()
    assert org.approvals.acts == ()
    leaderless = ORG_TOML.replace('role = "leader"', 'role = "officer"')
    with pytest.raises(OrgError) as refused:
        parse_org(leaderless + "\n" + APPROVALS)
    assert "no leader at" in str(refused.value) and "签发" in str(refused.value)
    assert parse_org(ORG_TOML + "\n" + APPROVALS).approvals.acts == ("decline", "extend", "decide")


async def test_the_leader_approves_with_a_tap_and_the_officer_is_told_in_chat(
    astore: Services,
) -> None:
    number = await accepted(astore)
    async with offline_app(astore) as (application, request):
        officer, leader = Updates(1001, "王"), Updates(3003, "孙")
        await feed(application, officer.text(f"/decide {number} explain 经核实，已按规定发放。"))
        await fill_opinion(application, request, officer, 1001)
        assert "已提交 张厂长 审批签发" in request.last_to(1001).text
        (draft_id,) = [int(i.params["draft"]) for i in await astore.outbox.pending_notifications(limit=500)
                       if i.kind == NoticeKind.APPROVAL_ASKED]
        await feed(application, leader.tap(f"ap:ok:{draft_id}"))
        assert request.last_to(3003).text == f"已批准签发信访事项 <code>{number}</code> 的文书，已告知信访人。"
        assert rows(astore, "SELECT status FROM cases WHERE number = ?", number) == [("decided",)]
        await feed(application, leader.tap("ap:ok:999"))
        assert "已审批或已撤回" in request.last_to(3003).text


async def test_a_leader_demoted_after_a_draft_was_held_no_longer_approves_it(astore: Services) -> None:
    number = await accepted(astore)
    with pytest.raises(AwaitingApproval) as held:
        await astore.cases.act(OFFICER_P1, number, Action.EXTEND, days=10, body="需要进一步核实")
    draft_id = int(held.value.params["draft"])
    assert rows(astore, "SELECT approvers FROM pending_acts WHERE id = ?", draft_id) == [("[3003]",)]
    # plant-1's leader becomes an officer of plant-1: the draft's list still names him, his role no longer does.
    await astore.staffing.put(ADMIN, Staff(telegram_id=3003, name="张厂长", role=Role.OFFICER, units=("plant-1",)))
    with pytest.raises(Refused) as refused:
        await astore.approvals.approve(Actor(id=3003, role=ActorRole.OFFICER), draft_id)
    assert refused.value.code == "approval_not_yours"
    with pytest.raises(Refused):
        await astore.approvals.return_draft(Actor(id=3003, role=ActorRole.OFFICER), draft_id)
    assert rows(astore, "SELECT outcome, extended_days FROM pending_acts p JOIN cases c ON c.id = p.case_id"
                        " WHERE p.id = ?", draft_id) == [(None, 0)]
    # The nearest leader now (the oilfield's) approves it.
    case = await astore.approvals.approve(LEADER_OIL, draft_id)
    assert case.extended_days == 10
