"""复查 / 复核 opinions state the request, the facts found and the basis (《信访工作条例》 Art. 35, 36).

Whoever asks (the store's rule): an opinion without them is refused in the officer's words and nothing is
written; with them it is journaled, its 复查意见书 / 复核意见书 prints them under their headings in the
reviewing body's name with its 文号, and the petitioner is told. In chat the outcome opens a form on the
engine (handlers/review_opinion.py) that survives a restart. A draft kept before migration 0024 still
shows and is not issued without them. Both databases.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.ext import Application

from handlers.common import error_text
from handlers.documents import render_pdf
from handlers.i18n import t
from store.clock import FakeClock
from store.db import migrations
from store.document_kinds import DocumentKind
from store.errors import Refused, ReviewIncomplete
from store.models import ReviewOutcome, Status
from store.opinion import OpinionParts
from store.org import Organization
from store.services import Services
from tests.backends import execute, fresh_database, rows
from tests.conftest import REVIEW_PARTS, uid
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import (
    LEADER_HQ,
    LEADER_OIL,
    answer_review_form,
    decided_case,
    deliver_opinion,
    employee,
    ids,
    rorg,
    rstore,
)
from tests.test_documents import pdf_text, squeeze
from tests.test_postgresql_native import before_0025
from tests.test_review_offline import delivered

__all__ = ["rorg", "rstore"]

USER = 5001
REASON = "加班费计算有误，请求复查并补发十月加班费"


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore) as running:
        yield running


async def in_review(store: Services, clock: FakeClock) -> str:
    number = await decided_case(store, clock)
    case = await store.review.request_review(employee(), number, REASON)
    assert case.status is Status.REVIEW
    return number


def without(part: str) -> OpinionParts:
    return REVIEW_PARTS.model_copy(update={part: "  \n"})


async def test_a_review_opinion_without_its_facts_is_refused_in_words_and_nothing_is_written(
    rstore: Services, clock: FakeClock
) -> None:
    number = await in_review(rstore, clock)
    await delivered(rstore, USER)  # what the petitioner was told so far
    events, queued = rows(rstore, "SELECT count(*) FROM events"), rows(rstore, "SELECT count(*) FROM outbox")
    for parts, code in ((None, "review_parts_required"), (without("request"), "review_request_required"),
                        (without("facts"), "review_facts_required"), (without("basis"), "review_basis_required")):
        with pytest.raises(ReviewIncomplete) as refused:
            await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持原处理意见。",
                                               ids(LEADER_OIL), parts=parts)
        assert refused.value.code == code
        with pytest.raises(ReviewIncomplete) as kept:  # nor is it kept for the collective study
            await rstore.review.draft_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持原处理意见。", parts)
        assert kept.value.code == code
    # What the officer reads: the missing part named, in both languages.
    assert error_text("zh", ReviewIncomplete("review_facts_required")) == "复查（复核）意见须写明查明事实。"
    assert error_text("en", ReviewIncomplete("review_facts_required")) == (
        "A review (re-review) opinion must state the facts found.")
    assert "第三十五条、第三十六条" in error_text("zh", ReviewIncomplete())
    # Nothing written, kept or queued.
    case = await rstore.cases.case_by_id(1)
    assert case is not None and case.status is Status.REVIEW and case.review_decision is None
    assert rows(rstore, "SELECT count(*) FROM events") == events
    assert rows(rstore, "SELECT count(*) FROM outbox") == queued
    assert rows(rstore, "SELECT count(*) FROM review_drafts") == [(0,)]


async def test_with_them_the_review_and_rereview_opinions_are_journaled_printed_and_told(
    rstore: Services, clock: FakeClock
) -> None:
    number = await in_review(rstore, clock)
    await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.CHANGE, "复查认为应补发十月加班费两天。",
                                       ids(LEADER_OIL), parts=REVIEW_PARTS)
    [(data,)] = rows(rstore, "SELECT data FROM events WHERE action = 'review_opinion'")
    assert json.loads(data)["parts"] == REVIEW_PARTS.model_dump()
    # The petitioner is told, and the 复查意见书 follows.
    told = await delivered(rstore, USER, "rv_petitioner")
    assert "复查意见：<b>变更</b>" in (told[0].text or "") and "补发十月加班费两天" in (told[0].text or "")
    assert rows(rstore, "SELECT count(*) FROM outbox WHERE chat_id = ? AND kind = 'document' AND event_id ="
                        " (SELECT id FROM events WHERE action = 'review_opinion')", USER) == [(1,)]
    [doc] = await rstore.documents.documents(employee(), number, DocumentKind.REVIEW)
    text = pdf_text(await render_pdf(doc, rstore.org, "zh"))
    for word in ("复查意见书", "第三十五条", "一、信访请求", REVIEW_PARTS.request, "二、查明事实", REVIEW_PARTS.facts,
                 "三、处理依据", REVIEW_PARTS.basis, "四、复查意见", "复查结果：变更", "复查认为应补发十月加班费两天。",
                 "本复查意见经陈经理于2026年11月2日集体研究作出。", "第三十六条"):
        assert squeeze(word) in text, word
    # In the reviewing body's name (油田公司, the parent of plant-1), with its own 文号.
    assert doc.issuer_unit == "oilfield" and doc.doc_no and squeeze(doc.doc_no) in text
    assert text.startswith("测试石油油田公司复查意见书油田信字〔2026〕") and "承办单位：油田公司" in text
    assert "测试石油油田公司（盖章）" in text
    en = pdf_text(await render_pdf(doc, rstore.org, "en"))
    for word in ("1.Therequest", squeeze(REVIEW_PARTS.facts), "2.Factsfound", "3.Basis", "4.Reviewopinion"):
        assert word in en, word

    # The 复核: the petitioner's new request offered by the form, here given as the store takes it.
    await deliver_opinion(rstore)
    await rstore.review.request_review(employee(), number, "补发金额不足")
    rereview = OpinionParts(request="请求复核补发金额。", facts="经复核，补发两天加班费计算无误。", basis="《工资支付暂行规定》第十三条。")
    with pytest.raises(ReviewIncomplete):
        await rstore.review.review_opinion(LEADER_HQ, number, ReviewOutcome.MAINTAIN, "维持复查意见。", ids(LEADER_HQ))
    await rstore.review.review_opinion(LEADER_HQ, number, ReviewOutcome.MAINTAIN, "维持复查意见。", ids(LEADER_HQ),
                                       parts=rereview)
    [final] = await rstore.documents.documents(employee(), number, DocumentKind.REREVIEW)
    text = pdf_text(await render_pdf(final, rstore.org, "zh"))
    for word in ("复核意见书", "第三十六条", "一、信访请求", rereview.request, "二、查明事实", rereview.facts, "三、处理依据",
                 rereview.basis, "四、复核意见", "复核结果：维持", "本复核意见为最终意见"):
        assert squeeze(word) in text, word
    assert final.issuer_unit == "hq" and final.doc_no and squeeze(final.doc_no) in text
    assert any("复核意见：<b>维持</b>" in (m.text or "") for m in await delivered(rstore, USER, "rv_petitioner"))


async def test_an_order_to_handle_again_prints_its_parts_and_no_right_to_contest(
    rstore: Services, clock: FakeClock
) -> None:
    number = await in_review(rstore, clock)
    await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.REDO, "事实不清，责令重新核查。", ids(LEADER_OIL),
                                       parts=REVIEW_PARTS)
    [doc] = await rstore.documents.documents(employee(), number, DocumentKind.REVIEW)
    text = pdf_text(await render_pdf(doc, rstore.org, "zh"))
    for word in ("二、查明事实", REVIEW_PARTS.facts, "复查结果：责令重办", "原办理机关、单位应当重新办理"):
        assert squeeze(word) in text, word
    assert "请求" + "测试石油集团总部" not in text and "复核。" not in text


async def test_a_review_opinion_issued_before_the_parts_prints_as_it_always_did(
    rstore: Services, clock: FakeClock
) -> None:
    number = await in_review(rstore, clock)
    await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持原处理意见。", ids(LEADER_OIL),
                                       parts=REVIEW_PARTS)
    [doc] = await rstore.documents.documents(employee(), number, DocumentKind.REVIEW)
    old = doc.model_copy(update={"parts": None})  # its event recorded no parts
    text = pdf_text(await render_pdf(old, rstore.org, "zh"))
    assert squeeze("复查结果：维持") in text and "维持原处理意见。" in text and "信访请求" not in text


# ------------------------------------------------------------------ the chat


async def test_in_chat_the_outcome_opens_a_form_that_resumes_after_a_restart_and_issues_with_the_parts(
    rstore: Services, clock: FakeClock
) -> None:
    number = await in_review(rstore, clock)
    leader = Updates(LEADER_OIL.id)
    async with offline_app(rstore) as (application, request):
        await feed(application, leader.tap(f"pr:rvg:{number}"))  # 变更
        first = request.last_to(LEADER_OIL.id)
        assert "（第 1/5 步）" in first.text and "<b>信访请求</b>" in first.text and "复查结论：变更" in first.text
        assert f"当前内容：{REASON}" in first.text  # the petitioner's reason for asking, offered to keep
        assert first.buttons() == [("沿用当前内容", "ro:k"), ("取消", "ro:x")]
        await feed(application, leader.tap("ro:k"))
        await feed(application, leader.text("   "))  # blank: the question stands
        assert request.last_to(LEADER_OIL.id).text == t("zh", "review_form.text_empty")
        await feed(application, leader.text(REVIEW_PARTS.facts))
        assert "<b>处理依据</b>" in request.last_to(LEADER_OIL.id).text
    # A restart: the draft and its step were stored before the question was asked.
    async with offline_app(rstore) as (application, request):
        await feed(application, leader.tap("ro:b"))  # « 返回 to the facts, kept
        back = request.last_to(LEADER_OIL.id)
        assert "（第 2/5 步）" in back.text and f"当前内容：{REVIEW_PARTS.facts}" in back.text
        await feed(application, leader.tap("ro:k"))
        await feed(application, leader.text(REVIEW_PARTS.basis))
        await feed(application, leader.text("复查认为应补发十月加班费两天。"))
        review = request.last_to(LEADER_OIL.id)
        assert "请核对复查意见" in review.text and REASON in review.text and REVIEW_PARTS.basis in review.text
        labels = [label for label, _ in review.buttons()]
        assert labels[:5] == ["✅ 下一步：集体研究", "改请求", "改事实", "改依据", "改意见"]
        await feed(application, leader.tap("ro:e:request"))  # change one part, then back to the check
        await feed(application, leader.text(REVIEW_PARTS.request))
        review = request.last_to(LEADER_OIL.id)
        assert "请核对复查意见" in review.text and REVIEW_PARTS.request in review.text
        submit = next(data for _, data in review.buttons() if data.startswith("ro:ok:"))
        await feed(application, leader.tap(submit))
        assert "请选择参加集体研究的人员" in request.last_to(LEADER_OIL.id).text
        await feed(application, leader.tap(f"rv:so:{number}"))
        assert "已就信访事项" in request.last_to(LEADER_OIL.id).text
    [(data,)] = rows(rstore, "SELECT data FROM events WHERE action = 'review_opinion'")
    assert json.loads(data)["parts"] == {"request": REVIEW_PARTS.request, "facts": REVIEW_PARTS.facts,
                                         "basis": REVIEW_PARTS.basis}
    assert rows(rstore, "SELECT count(*) FROM conversations WHERE name = 'review_opinion'") == [(0,)]
    told = await delivered(rstore, USER, "rv_petitioner")
    assert "复查意见：<b>变更</b>" in (told[0].text or "")


async def test_in_chat_only_the_designated_reviewer_opens_the_form(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = await in_review(rstore, clock)
    await feed(application, Updates(LEADER_HQ.id).tap(f"pr:rvm:{number}"))  # the 复核 body, not the 复查 one
    assert request.last_to(LEADER_HQ.id).text == error_text("zh", Refused("not_reviewer"))
    assert rows(rstore, "SELECT count(*) FROM conversations WHERE name = 'review_opinion'") == [(0,)]
    leader = Updates(LEADER_OIL.id, language_code="en")
    await feed(application, leader.text(f"/review {number} maintain"))
    assert "Please write the <b>request</b>" in request.last_to(LEADER_OIL.id).text
    screen = await answer_review_form(application, request, leader, opinion="The original opinion stands.")
    assert "Choose who took part in the collective study" in screen.text


# ------------------------------------------------------------- the upgrade


async def test_an_outcome_question_asked_before_the_form_is_answered_with_where_to_go_now(
    rstore: Services, clock: FakeClock
) -> None:
    """The old 维持 button asked for the opinion's text in one prompt; an answer after the upgrade issues nothing."""
    number = await in_review(rstore, clock)
    await rstore.cases.set_prompt(uid(LEADER_OIL), "rvm", number)  # as the old button left it
    async with offline_app(rstore) as (application, request):
        await feed(application, Updates(LEADER_OIL.id).text("经复查，维持原处理意见。"))
        assert request.last_to(LEADER_OIL.id).text == t("zh", "review_form.asked_before", number=number)
    assert await rstore.cases.get_prompt(uid(LEADER_OIL)) is None
    assert rows(rstore, "SELECT count(*) FROM review_drafts") == [(0,)]
    case = await rstore.cases.case_by_id(1)
    assert case is not None and case.status is Status.REVIEW


async def test_a_draft_kept_before_the_parts_still_shows_and_is_not_issued_without_them(
    backend: str, tmp_path: Path, rorg: Organization, clock: FakeClock
) -> None:
    """A database at 0023 holding a reviewer's draft (no parts), upgraded: it shows, it is refused, it can go."""
    number_0024 = next(n for n, name, _ in migrations() if name.endswith("_review_parts.sql"))
    async with fresh_database(backend, tmp_path, "old.db", migrated=True) as target:
        store = await Services.open(target, rorg, clock)
        number = await in_review(store, clock)
        await store.close()
        # Back to the schema before 0024 (0025 undone first), and the draft as the old code wrote it.
        for statement in before_0025(backend):
            execute(target, statement)
        for column in ("request", "facts", "basis"):
            execute(target, f"ALTER TABLE review_drafts DROP COLUMN {column}")
        if backend == "sqlite":
            with sqlite3.connect(str(target)) as conn:
                conn.execute(f"PRAGMA user_version = {number_0024 - 1}")
        else:
            execute(target, "UPDATE schema_version SET version = ?", number_0024 - 1)
        execute(target, "INSERT INTO review_drafts (case_id, reviewer_id, level, decision, body, participants,"
                        " updated_at) VALUES (1, ?, 1, 'maintain', '经复查，维持原处理意见。', ?, '2026-11-02T01:00:00+00:00')",
                LEADER_OIL.id, json.dumps([LEADER_OIL.id]))

        store = await Services.open(target, rorg, clock)
        try:
            assert await store.db.schema_version() == migrations()[-1][0]
            draft = await store.review.opinion_draft(LEADER_OIL, number)
            assert draft.text == "经复查，维持原处理意见。" and draft.parts is None
            async with offline_app(store) as (application, request):
                leader = Updates(LEADER_OIL.id)
                await feed(application, leader.tap(f"rv:sp:{number}:{LEADER_OIL.id}"))  # it shows, as before
                await feed(application, leader.tap(f"rv:sp:{number}:{LEADER_OIL.id}"))
                shown = request.last_to(LEADER_OIL.id).text
                assert "经复查，维持原处理意见。" in shown and "已选：陈经理" in shown
                assert t("zh", "hearing.study_parts_missing", number=number) in shown
                await feed(application, leader.tap(f"rv:so:{number}"))  # issuing it: refused, in words
                assert request.last_to(LEADER_OIL.id).text == error_text("zh", ReviewIncomplete())
                case = await store.cases.case_by_id(1)
                assert case is not None and case.status is Status.REVIEW
                await feed(application, leader.tap(f"rv:sx:{number}"))  # discarded; then written with its parts
                await feed(application, leader.text(f"/review {number} 维持 经复查，维持原处理意见。"))
                screen = await answer_review_form(application, request, leader)
                assert "请选择参加集体研究的人员" in screen.text
                await feed(application, leader.tap(f"rv:so:{number}"))
                assert "已就信访事项" in request.last_to(LEADER_OIL.id).text
            [(data,)] = rows(store, "SELECT data FROM events WHERE action = 'review_opinion'")
            assert json.loads(data)["parts"]["facts"] == REVIEW_PARTS.facts
        finally:
            await store.close()
