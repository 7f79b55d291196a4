"""The written opinion's parts (Art. 32) and a decline's reason and destination (Art. 21-22, 诉访分离).

Store rules on both databases (``rstore``: tests/review_fixture.py, which lists two destinations), the
documents read back from their PDFs, the petitioner's chat notice, approvals, the organisation file's
checks, and the chat forms with the production handlers (``offline_app``), a restart included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from handlers.common import error_text
from handlers.documents import render_pdf
from handlers.i18n import t
from handlers.notifications import render
from store.clock import FakeClock
from store.document_kinds import DocumentKind
from store.errors import AwaitingApproval, OpinionIncomplete, Refused
from store.models import Decision, Status
from store.notices import NoticeKind
from store.opinion import DeclineGrounds, OpinionParts
from store.org import OrgError, org_warnings, parse_org
from store.services import Services
from store.workflow import Action
from tests.backends import execute, fresh_database, rows
from tests.conftest import draft, petitioner
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import LEADER_OIL, OFFICER_P1, OFFICER_P2, ORG_TOML, rorg, rstore
from tests.test_documents import pdf_text, squeeze

__all__ = ["rorg", "rstore"]

PARTS = OpinionParts(request="要求补发2026年10月加班费。", facts="经核查考勤记录，10月加班36小时，加班费漏发属实。",
                     basis="《中华人民共和国劳动法》第四十四条；公司薪酬管理制度第十二条。")


async def filed(store: Services, key: str, unit: str = "plant-1", user: int = 5001) -> str:
    return (await store.cases.submit(petitioner(user), draft(unit=unit), key)).case.number


async def status(store: Services, number: str) -> Status:
    return (await store.cases.case_for(OFFICER_P1, number)).status


# ------------------------------------------------------------------- declines


async def test_a_decline_needs_a_listed_reason_and_where_the_matter_belongs_a_destination(rstore: Services) -> None:
    number = await filed(rstore, "a")
    for grounds, body, code in [
        (None, "不属于受理范围", "decline_reason_required"),
        (DeclineGrounds(reason="made-up"), None, "decline_reason_unknown"),
        (DeclineGrounds(reason="legal_channel"), None, "destination_required"),
        (DeclineGrounds(reason="legal_channel", destination="nowhere"), None, "destination_unknown"),
        (DeclineGrounds(reason="other"), "  ", "decline_note_required"),
    ]:
        with pytest.raises(Refused) as refused:
            await rstore.cases.act(OFFICER_P1, number, Action.DECLINE, grounds=grounds, body=body)
        assert refused.value.code == code
        assert t("zh", f"errors.{code}") and t("en", f"errors.{code}")  # a clear answer in both languages
    assert await status(rstore, number) is Status.SUBMITTED
    assert rows(rstore, "SELECT count(*) FROM outbox WHERE case_id IS NOT NULL AND kind = 'document'") == [(0,)]

    await rstore.cases.act(OFFICER_P1, number, Action.DECLINE,
                           grounds=DeclineGrounds(reason="legal_channel", destination="arbitration"),
                           body="您反映的加班费争议已申请劳动仲裁。")
    assert await status(rstore, number) is Status.DECLINED
    (data,) = [r[0] for r in rows(rstore, "SELECT data FROM events WHERE action = 'decline'")]
    assert "arbitration" in data and "延安市宝塔区百米大道12号" in data  # recorded as it was on the day

    (doc,) = await rstore.documents.documents(OFFICER_P1, number, DocumentKind.DECLINED)
    text = pdf_text(await render_pdf(doc, rstore.org))
    for words in ("不予受理告知书", "第二十一条、第二十二条", "不予受理的理由：已经或者依法应当通过诉讼、仲裁、行政复议等法定途径解决",
                  "您反映的加班费争议已申请劳动仲裁。", "延安市劳动人事争议仲裁委员会", "地址：延安市宝塔区百米大道12号",
                  "电话：0911-2345678"):
        assert squeeze(words) in text, words

    # The petitioner's chat notice names the reason and the body with its address.
    (item,) = [i for i in await rstore.outbox.pending_notifications()
               if i.kind == NoticeKind.PETITIONER_EVENT and i.chat_id == 5001 and i.case_id is not None]
    (notice, *_) = await render(item, rstore)
    assert notice.text is not None
    for words in ("已经或者依法应当通过诉讼", "已申请劳动仲裁", "延安市劳动人事争议仲裁委员会", "延安市宝塔区百米大道12号"):
        assert words in notice.text, words


async def test_a_reason_that_does_not_redirect_needs_no_destination_and_old_declines_render_as_before(
    rstore: Services,
) -> None:
    repeat = await filed(rstore, "r")
    await rstore.cases.act(OFFICER_P1, repeat, Action.DECLINE, grounds=DeclineGrounds(reason="repeat"))
    (doc,) = await rstore.documents.documents(OFFICER_P1, repeat, DocumentKind.DECLINED)
    text = pdf_text(await render_pdf(doc, rstore.org))
    assert squeeze("不予受理的理由：以同一事实和理由重复提出且已办结。") in text
    assert "请您依照" not in text

    other = await filed(rstore, "o")  # 其他: the note is the reason, with the general words on where to go
    await rstore.cases.act(OFFICER_P1, other, Action.DECLINE, grounds=DeclineGrounds(reason="other"),
                           body="岗位调整不属于信访事项。")
    (doc,) = await rstore.documents.documents(OFFICER_P1, other, DocumentKind.DECLINED)
    text = pdf_text(await render_pdf(doc, rstore.org, lang="en"))
    assert squeeze("The reason: 岗位调整不属于信访事项") in text
    assert squeeze("the body competent to handle it") in text


# ---------------------------------------------------------- the written opinion


async def test_the_opinion_records_its_parts_and_prints_them_under_their_headings(rstore: Services) -> None:
    number = await filed(rstore, "d")
    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    for missing, code in (("facts", "opinion_facts_required"), ("basis", "opinion_basis_required"),
                          ("request", "opinion_request_required")):
        with pytest.raises(Refused) as refused:
            await rstore.cases.act(OFFICER_P1, number, Action.DECIDE, decision=Decision.SUPPORT, body="予以补发。",
                                   parts=PARTS.model_copy(update={missing: " "}))
        assert refused.value.code == code
    assert await status(rstore, number) is Status.ACCEPTED

    await rstore.cases.act(OFFICER_P1, number, Action.DECIDE, decision=Decision.SUPPORT,
                           body="决定于2026年11月工资中补发。", parts=PARTS)
    (data,) = [r[0] for r in rows(rstore, "SELECT data FROM events WHERE action = 'decide'")]
    assert "经核查考勤记录" in data  # journaled with the decision
    (doc,) = await rstore.documents.documents(OFFICER_P1, number, DocumentKind.OPINION)
    text = pdf_text(await render_pdf(doc, rstore.org))
    order = [text.index(squeeze(w)) for w in ("一、信访人诉求", PARTS.request, "二、查明事实", PARTS.facts,
                                               "三、处理依据", PARTS.basis, "四、处理意见", "处理结果：予以支持",
                                               "决定于2026年11月工资中补发。", "复查")]
    assert order == sorted(order)
    assert squeeze("第三十二条") in text and squeeze("测试石油油田公司") in text  # the 复查 body named
    english = pdf_text(await render_pdf(doc, rstore.org, lang="en"))
    assert all(squeeze(w) in english for w in ("1. The petitioner's request", "2. Facts found", "3. Basis", "4. Opinion"))


async def test_no_opinion_reaches_the_petitioner_without_its_parts(rstore: Services) -> None:
    """A store rule (Art. 32), whoever calls: no parts, or a blank one, is refused and nothing is written."""
    number = await filed(rstore, "bare")
    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    before = rows(rstore, "SELECT count(*) FROM events"), rows(rstore, "SELECT count(*) FROM outbox")
    attempts: list[tuple[OpinionParts | None, str]] = [
        (None, "opinion_parts_required"),
        (OpinionParts(request="  ", facts="\n\t", basis=" "), "opinion_request_required"),
        (PARTS.model_copy(update={"facts": "\u3000 \n"}), "opinion_facts_required"),  # a full-width space too
        (PARTS.model_copy(update={"basis": ""}), "opinion_basis_required"),
    ]
    for parts, code in attempts:
        with pytest.raises(OpinionIncomplete) as refused:
            await rstore.cases.act(OFFICER_P1, number, Action.DECIDE, decision=Decision.SUPPORT, body="予以补发。",
                                   parts=parts)
        assert refused.value.code == code
        for lang in ("zh", "en"):
            assert error_text(lang, refused.value) != t(lang, "errors.refused")  # its own words in both languages
        # 提请签发 (held for a leader) is refused alike: no draft waits without its parts.
        with pytest.raises(OpinionIncomplete):
            await rstore.approvals.submit(OFFICER_P1, number, Action.DECIDE, decision=Decision.SUPPORT,
                                          body="予以补发。", parts=parts)
    assert "第三十二条" in error_text("zh", OpinionIncomplete()) and "Art. 32" in error_text("en", OpinionIncomplete())
    assert await status(rstore, number) is Status.ACCEPTED
    assert (rows(rstore, "SELECT count(*) FROM events"), rows(rstore, "SELECT count(*) FROM outbox")) == before
    assert rows(rstore, "SELECT count(*) FROM pending_acts") == [(0,)]
    with pytest.raises(Refused) as none:
        await rstore.documents.documents(OFFICER_P1, number, DocumentKind.OPINION)
    assert none.value.code == "document_none"


async def test_an_opinion_recorded_before_the_parts_renders_as_before(rstore: Services) -> None:
    number = await filed(rstore, "old")
    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    await rstore.cases.act(OFFICER_P1, number, Action.DECIDE, decision=Decision.EXPLAIN, body="差额系统计口径不同所致。",
                           parts=PARTS)
    (doc,) = await rstore.documents.documents(OFFICER_P1, number, DocumentKind.OPINION)
    old = doc.model_copy(update={"parts": None})  # an event written before the parts were recorded
    text = pdf_text(await render_pdf(old, rstore.org))
    assert squeeze("处理结果：解释说明") in text and "差额系统计口径不同所致" in text
    assert "查明事实" not in text and "信访人诉求" not in text


# -------------------------------------------------------------------- approvals


@pytest.fixture
async def astore(backend: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    org = parse_org(ORG_TOML + '\n[approvals]\nacts = ["decline", "decide"]\n')
    async with fresh_database(backend, tmp_path, "opinion-approvals.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        yield store
        await store.close()


async def test_a_held_draft_keeps_the_parts_and_the_grounds_for_its_approver(astore: Services) -> None:
    declined = await filed(astore, "x", unit="plant-2")
    with pytest.raises(AwaitingApproval):
        await astore.cases.act(OFFICER_P2, declined, Action.DECLINE,
                               grounds=DeclineGrounds(reason="legal_channel", destination="court"))
    decided = await filed(astore, "y", unit="plant-2")
    await astore.cases.act(LEADER_OIL, decided, Action.ACCEPT)
    with pytest.raises(AwaitingApproval):
        await astore.cases.act(OFFICER_P2, decided, Action.DECIDE, decision=Decision.EXPLAIN, body="说明。", parts=PARTS)
    drafts = [int(r[0]) for r in rows(astore, "SELECT id FROM pending_acts ORDER BY id")]
    first, second = [await astore.approvals.draft(i) for i in drafts]
    assert first.grounds == DeclineGrounds(reason="legal_channel", destination="court")
    assert second.parts == PARTS
    # The approver's card shows them.
    asked = [i for i in await astore.outbox.pending_notifications() if i.kind == NoticeKind.APPROVAL_ASKED]
    cards = [o.text for i in asked for o in await render(i, astore)]
    assert any(c and "延长县人民法院" in c for c in cards) and any(c and "经核查考勤记录" in c for c in cards)

    for draft_id in drafts:
        await astore.approvals.approve(LEADER_OIL, draft_id)
    (doc,) = await astore.documents.documents(LEADER_OIL, declined, DocumentKind.DECLINED)
    assert squeeze("延长县七里村镇法院路1号") in pdf_text(await render_pdf(doc, astore.org))
    (doc,) = await astore.documents.documents(LEADER_OIL, decided, DocumentKind.OPINION)
    assert doc.parts == PARTS and doc.approved


async def test_a_draft_held_without_its_parts_cannot_be_approved_only_returned(astore: Services) -> None:
    """A draft held before the parts were asked has none: 签发 is refused politely; 退回修改 sends it back."""
    number = await filed(astore, "z", unit="plant-2")
    await astore.cases.act(LEADER_OIL, number, Action.ACCEPT)
    with pytest.raises(AwaitingApproval) as held:
        await astore.cases.act(OFFICER_P2, number, Action.DECIDE, decision=Decision.EXPLAIN, body="说明。", parts=PARTS)
    draft_id = int(held.value.params["draft"])
    execute(astore, "UPDATE pending_acts SET params = ? WHERE id = ?",
            '{"body": "说明。", "decision": "explain", "days": null}', draft_id)  # as drafted before the parts
    with pytest.raises(OpinionIncomplete) as refused:
        await astore.approvals.approve(LEADER_OIL, draft_id)
    assert refused.value.code == "draft_parts_missing" and refused.value.params == {"number": number}
    assert number in error_text("zh", refused.value) and "退回修改" in error_text("zh", refused.value)
    assert (await astore.cases.case_for(LEADER_OIL, number)).status is Status.ACCEPTED
    assert rows(astore, "SELECT count(*) FROM events WHERE action = 'decide'") == [(0,)]
    returned = await astore.approvals.return_draft(LEADER_OIL, draft_id)
    assert returned.outcome == "returned"


# ------------------------------------------------------------ the organisation file


BASE = ('[organization]\nname = "测试"\n[[units]]\nid = "hq"\nname = "总部"\n'
        '[[categories]]\nid = "wages"\nname = "工资"\nkind = "claim"\n')


def test_check_config_validates_reasons_and_destinations() -> None:
    org = parse_org(BASE)
    assert [r.id for r in org.decline_reasons] == ["legal_channel", "not_ours", "repeat", "other"]
    assert any(w.startswith("destinations: none listed") for w in org_warnings(org, date(2026, 12, 1)))
    bad = [
        ("decline_reasons = []\n", "decline_reasons"),
        ('[[decline_reasons]]\nid = "a"\ntext = "甲"\n[[decline_reasons]]\nid = "a"\ntext = "乙"\n',
         'duplicate decline reason id "a"'),
        ('[[destinations]]\nid = "c"\nkind = "church"\nname = "某处"\naddress = "某地"\n', "destinations[0].kind"),
        ('[[destinations]]\nid = "c"\nkind = "court"\nname = "甲法院"\naddress = "某地"\n'
         '[[destinations]]\nid = "c"\nkind = "court"\nname = "乙法院"\naddress = "某地"\n', 'duplicate destination id "c"'),
        ('[[destinations]]\nid = "c"\nkind = "court"\nname = "甲法院"\n', "destinations[0].address"),
    ]
    for extra, expected in bad:
        with pytest.raises(OrgError) as error:
            parse_org(BASE + extra)
        assert expected in str(error.value), (extra, str(error.value))
    fine = parse_org(BASE + '[[destinations]]\nid = "c"\nkind = "party_appeal"\nname = "党委"\naddress = "某地"\n')
    assert not any(w.startswith("destinations") for w in org_warnings(fine, date(2026, 12, 1)))


# ------------------------------------------------------------------- the chat forms


async def test_the_decide_form_step_by_step_survives_a_restart(rstore: Services) -> None:
    number = await filed(rstore, "chat")
    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    officer = Updates(OFFICER_P1.id)
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, officer.text(f"/decide {number} support 决定于11月工资中补发。"))
        asked = request.last_to(OFFICER_P1.id)
        assert "信访人诉求" in asked.text and "（第 1/5 步）" in asked.text
        await feed(application, officer.tap("op:k"))  # keep the request (the case's own words)
        assert "查明事实" in request.last_to(OFFICER_P1.id).text
        await feed(application, officer.sticker())
        assert request.texts_to(OFFICER_P1.id)[-2] == t("zh", "opinion.text_expected")
        await feed(application, officer.text(PARTS.facts))
        assert "处理依据" in request.last_to(OFFICER_P1.id).text
    async with offline_app(rstore, OfflineRequest()) as (application, request):  # the bot restarted
        await feed(application, officer.text(PARTS.basis))
        asked = request.last_to(OFFICER_P1.id)
        assert "决定于11月工资中补发。" in asked.text  # the opinion typed with the command, offered to keep
        await feed(application, officer.tap("op:k"))
        review = request.last_to(OFFICER_P1.id)
        assert PARTS.facts in review.text and PARTS.basis in review.text
        labels = [label for label, _ in review.buttons()]
        assert labels[:5] == ["✅ 出具", "改诉求", "改事实", "改依据", "改意见"]
        await feed(application, officer.tap("op:e:basis"))  # change one part from the review
        await feed(application, officer.text("《劳动法》第四十四条。"))
        review = request.last_to(OFFICER_P1.id)
        assert "《劳动法》第四十四条。" in review.text
        submit = next(data for label, data in review.buttons() if label == "✅ 出具")
        await feed(application, officer.tap("op:ok:" + "0" * 32))  # forged: not this draft's
        assert request.texts_to(OFFICER_P1.id)[-2] == t("zh", "common.expired_button")
        await feed(application, officer.tap(submit))
        assert "已对" in request.texts_to(OFFICER_P1.id)[-1]
        await feed(application, officer.tap(submit))  # a redelivered tap: nothing twice
    assert await status(rstore, number) is Status.DECIDED
    (data,) = [r[0] for r in rows(rstore, "SELECT data FROM events WHERE action = 'decide'")]
    assert "《劳动法》第四十四条。" in data and PARTS.facts in data
    assert rows(rstore, "SELECT count(*) FROM conversations WHERE name = 'opinion' AND state IS NOT NULL") == [(0,)]


async def test_the_decline_form_in_english_refuses_a_redirecting_reason_without_a_destination(
    rstore: Services,
) -> None:
    number = await filed(rstore, "en")
    officer = Updates(OFFICER_P1.id, language_code="en")
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        await feed(application, officer.text(f"/decline {number}"))
        asked = request.last_to(OFFICER_P1.id)
        assert "Art. 21-22" in asked.text
        assert [label for label, _ in asked.buttons()][:4] == [
            "it has been or should be resolved through litigation, arbitration, administrative review or another"
            " legal channel", "it is not within this unit's responsibilities",
            "it repeats a matter already concluded on the same facts and grounds", "other"]
        await feed(application, officer.tap("op:d:court"))  # a button of another step: the question again
        assert request.texts_to(OFFICER_P1.id)[-2] == t("en", "opinion.button_expected")
        await feed(application, officer.tap("op:r:not_ours"))
        where = request.last_to(OFFICER_P1.id)
        assert "No destination" not in [label for label, _ in where.buttons()]
        await feed(application, officer.tap("op:nd"))  # forged "no destination" for a redirecting reason
        assert request.texts_to(OFFICER_P1.id)[-2] == t("en", "opinion.button_expected")
        await feed(application, officer.tap("op:d:court"))
        await feed(application, officer.tap("op:k"))  # no note
        review = request.last_to(OFFICER_P1.id)
        assert "Yanchang County People" in review.text and "七里村镇法院路1号" in review.text
        submit = next(data for label, data in review.buttons() if label == "✅ Issue")
        await feed(application, officer.tap(submit))
    assert await status(rstore, number) is Status.DECLINED
    (notice,) = [i for i in await rstore.outbox.pending_notifications()
                 if i.kind == NoticeKind.PETITIONER_EVENT and i.chat_id == 5001]
    (first, *_) = await render(notice, rstore)
    assert first.text is not None and "延长县人民法院" in first.text
