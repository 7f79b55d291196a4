"""Formal documents (书面告知): what each step's PDF says, read back out of the PDF; who gets it; /document.

Organisation (tests/review_fixture.py): hq (刘总 3001) ▸ oilfield (陈经理 3002) ▸ plant-1
(张厂长 3003, officer 王干事 1001); plant-2 (officer 李干事 1002); refinery (吴经理 3004, officer 1003).
The clock stands at 2026-11-02 09:00 in Shanghai.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from telegram.ext import Application
from telegram.request import RequestData

from bot.outbox import OutboxSender
from handlers.documents import MISSING, TrueTypeGlyphs, file_name, render_pdf
from store.clock import FakeClock
from store.document_kinds import DocumentKind
from store.documents import STEPS
from store.errors import NotFound, Refused
from store.models import Decision, Petitioner, ReviewOutcome
from store.opinion import DeclineGrounds
from store.org import DocumentTemplates, OrgError, parse_org
from store.services import Services
from store.workflow import Action
from tests.backends import fresh_database
from tests.conftest import OPINION_PARTS, REVIEW_PARTS, draft, petitioner, rows, uid
from tests.offline import Call, OfflineRequest, Updates, feed, fill_opinion, offline_app
from tests.review_fixture import (
    LEADER_HQ,
    LEADER_OIL,
    OFFICER_P1,
    OFFICER_P2,
    ORG_TOML,
    deliver_opinion,
    employee,
    ids,
    review_org,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]

ORG = "测试石油"


@lru_cache(maxsize=16)
def test_a_documents_font_holds_its_characters_each_glyph_converted_once() -> None:
    """The font of a document is assembled from glyphs converted once per process (handlers/documents.py)."""
    from fontTools.ttLib import TTFont

    glyphs = TrueTypeGlyphs()
    first = TTFont(io.BytesIO(glyphs.font("信访事项 Ab1")))
    assert {chr(c) for c in first.getBestCmap()} == set("信访事项 Ab1" + MISSING)
    kept = glyphs.kept
    assert kept == len(set("信访事项 Ab1" + MISSING)) + 1  # and the notdef glyph
    second = TTFont(io.BytesIO(glyphs.font("事项已受理")))
    assert glyphs.kept == kept + 3  # 已, 受, 理: the others were kept
    assert {chr(c) for c in second.getBestCmap()} == set("事项已受理 " + MISSING)
    one, other = (font["glyf"][font.getBestCmap()[ord("事")]] for font in (first, second))
    assert one.getCoordinates(first["glyf"])[0] == other.getCoordinates(second["glyf"])[0]  # the same outline
    assert one.numberOfContours > 0


def pdf_text(data: bytes) -> str:
    """The PDF's text as a reader extracts it, without white space (lines wrap anywhere in Chinese).

    Kept per PDF: a test looks several times into the same document."""
    assert data.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return "".join(text.split())


def squeeze(text: str) -> str:
    return "".join(text.split())


async def whole_case(store: Services) -> str:
    """A case taken through every step that issues a document."""
    number = (await store.cases.submit(petitioner(5001), draft(), "whole")).case.number
    await store.cases.act(OFFICER_P1, number, Action.ACCEPT)
    await store.cases.act(OFFICER_P1, number, Action.EXTEND, days=10, body="需调取2025年全年考勤记录核对。")
    await store.cases.act(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.EXPLAIN,
                          body="经核实，加班费已按集团规定计发，差额系统计口径不同所致。")
    await deliver_opinion(store)  # 送达 in chat: the review window counts from today
    await store.review.request_review(employee(5001), number, "计算口径不对")
    await store.review.review_opinion(LEADER_OIL, number, ReviewOutcome.CHANGE, "复查认为应按实际工时补发加班费。", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    await deliver_opinion(store)
    await store.review.request_review(employee(5001), number, "补发金额不足")  # now a re-review (复核)
    await store.review.review_opinion(LEADER_HQ, number, ReviewOutcome.CHANGE, "复核维持复查意见，由第一采油厂补发。", participants=ids(LEADER_HQ), parts=REVIEW_PARTS)
    return number


# Each kind: the words its PDF must show besides the organisation, the number and the name.
EXPECTED = {
    DocumentKind.ACCEPTED: ["受理告知书", "现决定予以受理", "办理期限：2027年1月1日", "收到日期：2026年11月2日"],
    DocumentKind.EXTENDED: ["延期告知书", "办理期限延长10日", "需调取2025年全年考勤记录核对。", "延长后的办理期限：2027年1月11日"],
    DocumentKind.OPINION: ["信访处理意见书", "处理结果：解释说明", "差额系统计口径不同所致", "申请复查截止日期：2026年12月2日",
                           "30日内（2026年12月2日前）请求测试石油油田公司（原办理机关、单位的上一级机关、单位）复查"],
    DocumentKind.REVIEW: ["复查意见书", "复查结果：变更", "复查认为应按实际工时补发加班费。", "申请复核截止日期：2026年12月2日",
                          "请求测试石油集团总部（复查机关、单位的上一级机关、单位）复核"],
    DocumentKind.REREVIEW: ["复核意见书", "复核结果：变更", "复核维持复查意见，由第一采油厂补发。", "本复核意见为最终意见"],
    DocumentKind.FINAL: ["信访事项终结告知书", "信访终结", "不再受理", "复核意见已于2026年11月2日出具"],
}


@pytest.mark.slow
async def test_every_document_reads_back_from_its_pdf(rstore: Services) -> None:
    number = await whole_case(rstore)
    declined = (await rstore.cases.submit(petitioner(5002, "李四"), draft(unit="plant-2"), "declined")).case.number
    await rstore.cases.act(OFFICER_P2, declined, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="该事项已进入劳动仲裁程序。")
    seen = set()
    for kind, words in [*EXPECTED.items(), (DocumentKind.DECLINED, ["不予受理告知书", "该事项已进入劳动仲裁程序。",
                                                                     "可以向有权处理的机关、单位提出"])]:
        which, name, actor = (declined, "李四", OFFICER_P2) if kind is DocumentKind.DECLINED else (number, "张三", OFFICER_P1)
        (doc,) = await rstore.documents.documents(actor, which, kind)
        data = await render_pdf(doc, rstore.org)
        text = pdf_text(data)
        for word in [ORG, which, f"{name}：", "盖章", *words]:
            assert squeeze(word) in text, (kind, word, text)
        # Every document carries the handling unit and its own 文号 (numbered per unit and year).
        # A 复查 / 复核 opinion (and the 终结 notice after a 复核) goes out in the reviewing body's name.
        unit = {DocumentKind.DECLINED: "plant-2", DocumentKind.REVIEW: "oilfield", DocumentKind.REREVIEW: "hq",
                DocumentKind.FINAL: "hq"}.get(kind, "plant-1")
        issuer = rstore.org.find_unit(unit)
        assert issuer is not None and doc.issuer_unit == unit, (kind, doc.issuer_unit)
        assert doc.doc_no and re.fullmatch(r".+〔2026〕\d+号", doc.doc_no), (kind, doc.doc_no)
        assert squeeze(doc.doc_no) in text and squeeze(f"承办单位：{issuer.issuer}") in text, (kind, unit, text)
        if kind is DocumentKind.OPINION:  # the parts of Art. 32, each under its heading
            for word in ("一、信访人诉求", OPINION_PARTS.request, "二、查明事实", OPINION_PARTS.facts,
                         "三、处理依据", OPINION_PARTS.basis, "四、处理意见"):
                assert squeeze(word) in text, (kind, word)
        if kind in (DocumentKind.REVIEW, DocumentKind.REREVIEW):  # and those of Art. 35 / 36, in the reviewer's name
            stage = "复查" if kind is DocumentKind.REVIEW else "复核"
            for word in ("一、信访请求", REVIEW_PARTS.request, "二、查明事实", REVIEW_PARTS.facts,
                         "三、处理依据", REVIEW_PARTS.basis, f"四、{stage}意见", f"{stage}结果：变更"):
                assert squeeze(word) in text, (kind, word)
        assert len(data) < 120_000, (kind, len(data))  # the font is cut to the document's characters
        assert file_name(doc) == f"{which}-{kind.value}.pdf"
        seen.add(kind)
    assert seen == set(DocumentKind)


@pytest.mark.slow
async def test_a_confidential_case_shows_its_code_name_never_the_reporter(rstore: Services) -> None:
    secret = Petitioner(id=5003, name="王秘密", language="zh")
    case = (await rstore.cases.submit(secret, draft(confidential=True, phone="13800000000"), "secret")).case
    await rstore.cases.act(OFFICER_P1, case.number, Action.ACCEPT)
    (doc,) = await rstore.documents.documents(OFFICER_P1, case.number)
    assert doc.petitioner.name is None and doc.petitioner.code == case.pseudonym
    text = pdf_text(await render_pdf(doc, rstore.org))
    assert f"保密件-{case.pseudonym}：" in text and case.number in text
    assert "王秘密" not in text and "13800000000" not in text
    # What the outbox sends (to the officer and to the reporter) is the same document.
    items = [i for i in await rstore.outbox.pending_notifications(limit=100) if i.kind == "document"]
    assert {i.params["to"] for i in items} == {"officer", "petitioner"}
    for item in items:
        _, docs = await rstore.documents.for_event(item.case_id or 0, item.event_id or 0, [DocumentKind.ACCEPTED])
        assert "王秘密" not in pdf_text(await render_pdf(docs[0], rstore.org))


async def test_each_step_queues_its_documents_after_the_petitioners_notice(rstore: Services) -> None:
    number = await whole_case(rstore)
    found = rows(rstore, "SELECT o.chat_id, o.kind, o.params, e.action FROM outbox o JOIN events e ON e.id = o.event_id"
                         " JOIN cases c ON c.id = o.case_id WHERE c.number = ? ORDER BY o.id", number)
    documents = [(chat, json.loads(params)["kinds"], json.loads(params)["to"], action)
                 for chat, kind, params, action in found if kind == "document"]
    assert documents == [
        (5001, ["accepted"], "petitioner", "accept"), (1001, ["accepted"], "officer", "accept"),
        (5001, ["extended"], "petitioner", "extend"), (1001, ["extended"], "officer", "extend"),
        (5001, ["opinion"], "petitioner", "decide"), (1001, ["opinion"], "officer", "decide"),
        (5001, ["review"], "petitioner", "review_opinion"), (1001, ["review"], "officer", "review_opinion"),
        (5001, ["rereview", "final"], "petitioner", "rereview_opinion"),
        (1001, ["rereview", "final"], "officer", "rereview_opinion"),
    ]
    # The petitioner reads the step's notice first, then its document (per-chat order is the outbox's id order).
    to_petitioner = [(kind, action) for chat, kind, _, action in found if chat == 5001]
    for action in ("accept", "extend", "decide"):
        step = [kind for kind, a in to_petitioner if a == action]
        assert step[:2] == ["petitioner_event", "document"], (action, step)
    for action in ("review_opinion", "rereview_opinion"):
        assert [kind for kind, a in to_petitioner if a == action][:2] == ["rv_petitioner", "document"]
    assert set(STEPS) == {Action.ACCEPT, Action.DECLINE, Action.EXTEND, Action.DECIDE,
                          Action.REVIEW_OPINION, Action.REREVIEW_OPINION}


class FileRequest(OfflineRequest):
    """The offline Bot API, keeping the files uploaded with each call."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, dict[str, Any], bytes]] = []

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if request_data is not None and request_data.multipart_data:
            for _name, (_filename, content, *_rest) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                self.files.append((url.rsplit("/", 1)[-1], dict(request_data.parameters), data))
        return await super().do_request(url, method, request_data, *args, **kwargs)

    def documents_to(self, chat_id: int | None) -> list[tuple[Call, bytes]]:
        assert chat_id is not None, "a chat to look in"
        return [(Call(m, p), data) for m, p, data in self.files
                if m == "sendDocument" and int(p.get("chat_id", 0)) == chat_id]


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, FileRequest]]:
    request = FileRequest()
    async with offline_app(rstore, request) as (application, _):
        yield application, request


@pytest.mark.slow
async def test_the_officer_receives_the_document_at_acceptance_and_at_the_opinion(
    app: tuple[Application, FileRequest], rstore: Services
) -> None:
    application, request = app
    sender: OutboxSender = application.bot_data["outbox"]
    sender.chat_interval = 0.0
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    await sender.run_once()
    assert request.documents_to(OFFICER_P1.id) == []  # nothing at submission
    await feed(application, Updates(OFFICER_P1.id).text(f"/accept {number}"))
    await sender.run_once()
    ((call, data),) = request.documents_to(OFFICER_P1.id)
    assert call.params["caption"].startswith(f"📄 受理告知书（信访事项 <code>{number}</code>）：请打印、盖章后送达信访人")
    assert "受理告知书" in pdf_text(data) and number in pdf_text(data)
    # The petitioner: the step's notice, then the document in the same chat.
    ((mine, data),) = request.documents_to(5001)
    assert mine.params["caption"] == f"📄 受理告知书（信访事项 <code>{number}</code>）"
    assert "张三：" in pdf_text(data)
    methods = [c.method for c in request.calls if int(c.params.get("chat_id", 0) or 0) == 5001]
    assert methods[-2:] == ["sendMessage", "sendDocument"]

    officer = Updates(OFFICER_P1.id)
    await feed(application, officer.text(f"/decide {number} support 经核实，予以补发。"))
    await fill_opinion(application, request, officer, uid(OFFICER_P1))
    await sender.run_once()
    (_, (call, data)) = request.documents_to(OFFICER_P1.id)
    assert call.params["caption"].startswith("📄 信访处理意见书")
    assert "经核实，予以补发。" in pdf_text(data) and "处理结果：予以支持" in pdf_text(data)
    assert not await rstore.outbox.pending_notifications()  # everything went out


@pytest.mark.slow
async def test_the_document_command(app: tuple[Application, FileRequest], rstore: Services) -> None:
    application, request = app
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    officer = Updates(OFFICER_P1.id)
    await feed(application, officer.text(f"/document {number}"))
    assert request.texts_to(OFFICER_P1.id)[-1] == f"信访事项 <code>{number}</code> 尚未进入需要书面告知的环节。"
    await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    await feed(application, officer.text(f"/document {number.lower()}"))  # the latest step's
    ((call, data),) = request.documents_to(OFFICER_P1.id)
    assert call.params["caption"] == f"📄 受理告知书（信访事项 <code>{number}</code>）"
    assert "受理告知书" in pdf_text(data) and number in pdf_text(data)
    await feed(application, officer.text(f"/document {number} 处理意见"))
    assert request.texts_to(OFFICER_P1.id)[-1] == f"信访事项 <code>{number}</code> 尚无信访处理意见书。"
    await rstore.cases.act(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="予以补发。")
    await feed(application, officer.text(f"/document {number} accepted"))  # an earlier one, by name
    await feed(application, officer.text(f"/document {number}"))
    kinds = [c.params["caption"].split("（")[0] for c, _ in request.documents_to(OFFICER_P1.id)]
    assert kinds == ["📄 受理告知书", "📄 受理告知书", "📄 信访处理意见书"]
    # Bad words: the usage, listing the documents.
    for typed in ("/document", f"/document {number} memo", f"/document {number} opinion extra"):
        await feed(application, officer.text(typed))
        answer = request.texts_to(OFFICER_P1.id)[-1]
        assert answer.startswith("用法：/document 编号 [文书]") and "rereview 复核意见书" in answer, typed
    # Out of scope answers like a number that does not exist; so does another petitioner's case.
    await feed(application, Updates(OFFICER_P2.id).text(f"/document {number}"))
    assert request.texts_to(OFFICER_P2.id)[-1] == f"未找到编号为 {number} 的信访事项。请检查编号是否正确。"
    await feed(application, Updates(5009).text(f"/document {number}"))
    assert request.texts_to(5009)[-1] == f"未找到编号为 {number} 的信访事项。请检查编号是否正确。"
    assert request.documents_to(OFFICER_P2.id) == [] and request.documents_to(5009) == []
    # The petitioner may have their own case's documents again.
    await feed(application, Updates(5001).text(f"/document {number} 受理"))
    ((call, data),) = request.documents_to(5001)
    assert "受理告知书" in pdf_text(data) and "张三：" in pdf_text(data)


async def test_refusals_in_the_store(rstore: Services) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "a")).case.number
    with pytest.raises(NotFound):
        await rstore.documents.documents(OFFICER_P2, number)
    with pytest.raises(Refused) as none:
        await rstore.documents.documents(OFFICER_P1, number, DocumentKind.ACCEPTED)
    assert none.value.code == "document_none"


OVERRIDE = '''
[documents.zh]
accepted = """本公司已受理您的信访事项{number}，请于{due}前留意答复。
特此告知。"""
[documents.en]
accepted = "Accepted: {number}, answer by {due}."
'''


@pytest.mark.slow
async def test_the_organisation_file_replaces_a_text(tmp_path: Path, backend: str, clock: FakeClock) -> None:
    org = review_org()
    overridden = parse_org(ORG_TOML + OVERRIDE)
    assert overridden.documents.text("zh", "accepted") is not None
    async with fresh_database(backend, tmp_path, "override.db", migrated=True) as target:
        store = await Services.open(target, overridden, clock)
        try:
            number = (await store.cases.submit(petitioner(5001), draft(), "a")).case.number
            await store.cases.act(OFFICER_P1, number, Action.ACCEPT)
            (doc,) = await store.documents.documents(OFFICER_P1, number)
            text = pdf_text(await render_pdf(doc, store.org))
            assert f"本公司已受理您的信访事项{number}，请于2027年1月1日前留意答复。" in text and "特此告知。" in text
            assert "现决定予以受理" not in text
            english = pdf_text(await render_pdf(doc, store.org, "en"))
            assert f"Accepted:{number},answerby1January2027." in english
            assert "NoticeofAcceptance" in english
            # The built-in text where the file says nothing.
            assert "现决定予以受理" in pdf_text(await render_pdf(doc, org))
        finally:
            await store.close()


@pytest.mark.parametrize(("table", "error"), [
    ('[documents.zh]\naccepted = "受理 {number} {sender}"',
     "documents.zh.accepted: unknown placeholder {sender}; this document has {category}, {due},"),
    ('[documents.zh]\ndeclined = "不予受理 {number}"',
     "documents.zh.declined: must contain {text} (the reason or opinion recorded with the step)"),
    ('[documents.en]\nacepted = "x"', "documents.en.acepted: unknown key (check the spelling)"),
    ('[documents.zh]\nfinal = "终结 {"', "documents.zh.final: unbalanced braces: write {{ and }} for a brace"),
    ('[documents.fr]\nfinal = "x"', "documents.fr: unknown key (check the spelling)"),
])
def test_check_config_names_a_bad_document_text(table: str, error: str) -> None:
    with pytest.raises(OrgError) as bad:
        parse_org(ORG_TOML + "\n" + table + "\n")
    assert any(line.startswith(error) for line in bad.value.errors), bad.value.errors


def test_every_document_has_a_key_in_the_organisation_file() -> None:
    assert set(DocumentTemplates.model_fields) == {kind.value for kind in DocumentKind}


async def test_an_english_petitioners_document_is_in_english(rstore: Services) -> None:
    await rstore.cases.set_language(5004, "en")
    number = (await rstore.cases.submit(Petitioner(id=5004, name="John Smith", language="en"), draft(), "en")).case.number
    await rstore.cases.act(OFFICER_P1, number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="This is a matter for the labour court.")
    (doc,) = await rstore.documents.documents(employee(5004), number)
    text = pdf_text(await render_pdf(doc, rstore.org))  # in the petitioner's language, whoever asks
    for word in ("NoticeofNon-Acceptance", "ToJohnSmith:", number, ORG, "Thisisamatterforthelabourcourt.", "(seal)"):
        assert word in text, word


async def test_making_a_document_logs_nothing_of_its_text_even_at_debug(rstore: Services) -> None:
    from bot import logs

    stream = io.StringIO()
    logs.setup("DEBUG", stream=stream)
    secret = Petitioner(id=5003, name="王秘密", language="zh")
    case = (await rstore.cases.submit(secret, draft(confidential=True), "secret")).case
    await rstore.cases.act(OFFICER_P1, case.number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="举报人王秘密反映的问题不属本单位职责。😀")
    (doc,) = await rstore.documents.documents(OFFICER_P1, case.number)
    text = pdf_text(await render_pdf(doc, rstore.org))
    assert "举报人王秘密反映的问题不属本单位职责。□" in text  # what the font cannot draw is a box, not a gap
    logged = stream.getvalue()
    assert "Glyph" not in logged and "cid" not in logged and "秘密" not in logged and "😀" not in logged


def test_the_starter_files_example_text_is_valid_once_uncommented() -> None:
    from store.org import starter_toml

    text = starter_toml()
    start = text.index("# [documents.zh]")
    uncommented = text[:start] + "\n".join(line.removeprefix("# ") for line in text[start:].splitlines())
    org = parse_org(uncommented)
    assert (org.documents.text("zh", "accepted") or "").startswith("您于{received}提出的信访事项")
