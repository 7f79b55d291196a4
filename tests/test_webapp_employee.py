"""The Mini App for employees (their own cases, as ``/mycases``) and its documents and files, on both backends.

initData is signed as Telegram signs it (``bot.initdata.signed_for``); a download link's token as the page
receives it from ``…/documents``. Every answer an employee gets is searched for what they never read in chat:
internal notes, the names of the staff, other people's cases, a confidential reporter's identity.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader
from telegram.ext import Application

from bot.initdata import signed_for
from bot.webapp import WebAppServer, set_menu_buttons
from bot.webapp_links import LINK_AGE, LinkError, check_link, link_token
from handlers import webapp_chat
from handlers.i18n import t
from handlers.webapp_api import plain
from store.document_kinds import DocumentKind
from store.errors import Refused
from store.models import Decision
from store.services import Services
from store.workflow import Action
from tests.conftest import OPINION_PARTS, draft, petitioner
from tests.offline import OfflineRequest, Updates, feed
from tests.review_fixture import ADMIN, OFFICER_P1, rorg, rstore
from tests.test_discipline import OIL_D, dstore
from tests.test_discipline import staff as discipline_staff

__all__ = ["dstore", "rorg", "rstore"]

TOKEN = "123456:TEST-TOKEN"
STAFF_NAMES = ("王干事", "李干事", "周干事", "刘总", "陈经理", "张厂长", "吴经理", "管理员")


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (8, 8), (200, 10, 10))
    exif = Image.Exif()
    exif[0x013B] = "钱七"  # Artist
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


class FakeFile:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def download_as_bytearray(self) -> bytearray:
        return bytearray(self.data)


class FakeBot:
    """Telegram's getFile and download for the files of the fixture (what ``bot.get_file`` returns)."""

    def __init__(self) -> None:
        self.files = {"F-PDF": b"%PDF-1.4 evidence", "F-JPG": jpeg_with_exif()}
        self.asked: list[str] = []

    async def get_file(self, file_id: str) -> FakeFile:
        self.asked.append(file_id)
        return FakeFile(self.files[file_id])


@pytest.fixture
def fake_bot() -> FakeBot:
    return FakeBot()


@pytest.fixture
async def api(rstore: Services, fake_bot: FakeBot) -> AsyncIterator[httpx.AsyncClient]:
    server = WebAppServer(rstore, TOKEN, bot=fake_bot)  # type: ignore[arg-type]
    assert await server.start("127.0.0.1:0")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client:
        yield client
    await server.stop()


def auth(user_id: int, lang: str = "zh", token: str = TOKEN, **kw: Any) -> dict[str, str]:
    return {"Authorization": "tma " + signed_for(user_id, token, language=lang, **kw)}


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def api_path(url: str) -> str:
    """The path a listed URL names (it is relative to /app/api/)."""
    return "/app/api/" + url


async def scene(store: Services) -> dict[str, Any]:
    """Zhang San's case, accepted, with a reply, an internal note and an opinion; Li Si's case; a report."""
    mine = (await store.cases.submit(petitioner(5001, "张三"), draft(subject="加班费未发放"), "m1")).case
    await store.cases.act(OFFICER_P1, mine.number, Action.ACCEPT)
    await store.cases.act(OFFICER_P1, mine.number, Action.NOTE, body="内部备注：此人曾多次越级上访")
    await store.cases.act(OFFICER_P1, mine.number, Action.REPLY, body="请补充十一月的考勤记录。")
    await store.cases.act(OFFICER_P1, mine.number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="经核实，予以补发。")
    other = (await store.cases.submit(petitioner(5002, "李四"), draft(subject="宿舍漏水"), "o1")).case
    files = [
        {"kind": "document", "file_id": "F-PDF", "file_unique_id": "U-PDF", "file_name": "钱七_工号556677_举报材料.pdf",
         "mime_type": "application/pdf", "size": 17},
        {"kind": "document", "file_id": "F-JPG", "file_unique_id": "U-JPG", "file_name": "钱七现场照片.jpg",
         "mime_type": "image/jpeg", "size": 600},
    ]
    report = (await store.cases.submit(petitioner(5077, "钱七"), draft(category="misconduct", subject="采购回扣",
                                                                       details="举报采购环节吃回扣。", phone="13900001234",
                                                                       attachments=files), "r1")).case
    assert report.confidential
    await store.cases.act(ADMIN, report.number, Action.ACCEPT)
    await store.cases.act(ADMIN, report.number, Action.NOTE, body="已移交纪委核查")
    return {"mine": mine.number, "other": other.number, "report": report.number, "pseudonym": report.pseudonym}


async def test_an_employee_sees_their_own_cases_and_nothing_of_the_staff(api: httpx.AsyncClient, rstore: Services) -> None:
    numbers = await scene(rstore)
    me = (await api.get("/app/api/me", headers=auth(5001))).json()
    assert (me["mine"], me["desk"], me["dashboard"]) == (True, False, False)
    # The list is /mycases's: their own case only.
    mine = (await api.get("/app/api/mine", headers=auth(5001))).json()
    assert [c["number"] for c in mine["cases"]] == [numbers["mine"]] and mine["total"] == 1
    chat_list, _ = await rstore.cases.cases_of_petitioner(5001)
    assert [c.number for c in chat_list] == [numbers["mine"]]
    assert mine["cases"][0]["status_name"] == "已答复" or mine["cases"][0]["status"] == "decided"
    # The case: status, deadline in words, the public record with the reply and the opinion as the chat said them.
    answer = await api.get(f"/app/api/case/{numbers['mine']}", headers=auth(5001))
    assert answer.status_code == 200
    case = answer.json()
    assert case["own"] is True and case["number"] == numbers["mine"]
    # Deadlines in words, as /status says them: Li Si's case waits to be accepted.
    theirs = (await api.get("/app/api/mine", headers=auth(5002))).json()["cases"]
    stored = await rstore.cases.case_by_id((await rstore.cases.cases_of_petitioner(5002))[0][0].id)
    assert stored is not None and stored.accept_due is not None
    assert [c["number"] for c in theirs] == [numbers["other"]]
    assert theirs[0]["deadline"] == "受理告知期限：2026年11月17日" and stored.accept_due == date(2026, 11, 17)
    whats = [e["what"] for e in case["timeline"]]
    assert whats[:2] == [plain(t("zh", "event.submit")), plain(t("zh", "event.accept"))]
    assert plain(t("zh", "event.note")) not in whats
    texts = [e["text"] for e in case["timeline"] if e["text"]]
    assert "请补充十一月的考勤记录。" in texts and "经核实，予以补发。" in texts
    assert case["actions"] == []
    # Never: the internal note, a staff member's name, the other employee's case.
    for seen in (answer, await api.get("/app/api/mine", headers=auth(5001)),
                 await api.get(f"/app/api/case/{numbers['mine']}/documents", headers=auth(5001))):
        assert seen.status_code == 200
        for secret in ("内部备注", "越级上访", *STAFF_NAMES, numbers["other"], "宿舍漏水", "李四"):
            assert secret not in seen.text, secret
    # Another person's case answers "not found", as in chat; the desk stays the staff's.
    for path in (f"/app/api/case/{numbers['other']}", f"/app/api/case/{numbers['other']}/documents",
                 f"/app/api/case/{numbers['other']}/documents/accepted", f"/app/api/case/{numbers['report']}",
                 f"/app/api/case/{numbers['report']}/documents", "/app/api/case/XF-2026-999999"):
        assert (await api.get(path, headers=auth(5001))).status_code == 404, path
    assert (await api.get("/app/api/cases", headers=auth(5001))).status_code == 403
    assert (await api.post(f"/app/api/case/{numbers['mine']}/accept", headers=auth(5001), content=b"{}")).status_code == 400


async def test_a_confidential_reporter_sees_their_own_case_as_in_chat(api: httpx.AsyncClient, rstore: Services) -> None:
    numbers = await scene(rstore)
    case = (await api.get(f"/app/api/case/{numbers['report']}", headers=auth(5077))).json()
    assert case["own"] is True and [e["who"] for e in case["timeline"]] == [""] * len(case["timeline"])
    listed = (await api.get(f"/app/api/case/{numbers['report']}/documents", headers=auth(5077))).json()
    assert [d["kind"] for d in listed["documents"]] == ["accepted"] and listed["files"] == []
    answer = await api.get(f"/app/api/case/{numbers['report']}", headers=auth(5077))
    for secret in ("已移交纪委", *STAFF_NAMES):
        assert secret not in answer.text
    # Their document is the chat's: the code name, never their name, even to themselves.
    pdf = await api.get(api_path(listed["documents"][0]["url"]))
    text = pdf_text(pdf.content)
    assert numbers["report"] in text and numbers["pseudonym"] in text and "钱七" not in text
    # Staff reading the report see its files under neutral names only; the reporter cannot download them here.
    staff = (await api.get(f"/app/api/case/{numbers['report']}/documents", headers=auth(9001))).json()
    assert [f["name"] for f in staff["files"]] == ["材料-1.pdf", "材料-2.jpg"]
    for answer in (await api.get(f"/app/api/case/{numbers['report']}/documents", headers=auth(9001)),
                   await api.get(f"/app/api/case/{numbers['report']}", headers=auth(9001))):
        for secret in ("钱七", "556677", "13900001234", "5077", str(rstore.context.hid(5077))):
            assert secret not in answer.text, secret
    file_id = staff["files"][0]["id"]
    assert (await api.get(f"/app/api/case/{numbers['report']}/files/{file_id}", headers=auth(5077))).status_code == 403


async def test_documents_are_the_chats_pdfs(api: httpx.AsyncClient, rstore: Services) -> None:
    numbers = await scene(rstore)
    listed = (await api.get(f"/app/api/case/{numbers['mine']}/documents", headers=auth(5001))).json()
    assert [(d["kind"], d["title"]) for d in listed["documents"]] == [("accepted", "受理告知书"), ("opinion", "信访处理意见书")]
    assert all(d["doc_no"] for d in listed["documents"]) and listed["files"] == []
    # The employee's copy, by the signed link alone (as Telegram's download fetches it): the chat's 电子告知件.
    answer = await api.get(api_path(listed["documents"][1]["url"]))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    assert f"{numbers['mine']}-opinion.pdf" in answer.headers["content-disposition"]
    text = pdf_text(answer.content)
    assert numbers["mine"] in text and "电子告知件" in text and "张三" in text and "经核实，予以补发。" in text
    # By the header too; the officer's copy (to print and seal) for staff, as their chat copy.
    by_header = await api.get(f"/app/api/case/{numbers['mine']}/documents/accepted", headers=auth(5001))
    assert by_header.content.startswith(b"%PDF") and "电子告知件" in pdf_text(by_header.content)
    officer = await api.get(f"/app/api/case/{numbers['mine']}/documents/accepted", headers=auth(1001))
    officer_text = pdf_text(officer.content)
    assert officer.status_code == 200 and numbers["mine"] in officer_text and "打印盖章后送达" in officer_text
    assert "电子告知件" not in officer_text
    # A kind the case has not issued, or no kind at all: not found.
    assert (await api.get(f"/app/api/case/{numbers['mine']}/documents/final", headers=auth(5001))).status_code == 404
    assert (await api.get(f"/app/api/case/{numbers['mine']}/documents/nonsense", headers=auth(5001))).status_code == 404
    # Out of scope: an officer of another unit gets "not found" for the list, the PDF and the files.
    for path in (f"/app/api/case/{numbers['mine']}/documents", f"/app/api/case/{numbers['mine']}/documents/accepted"):
        assert (await api.get(path, headers=auth(1003))).status_code == 404


async def test_staff_download_a_cases_files_neutral_and_without_metadata(
    api: httpx.AsyncClient, rstore: Services, fake_bot: FakeBot
) -> None:
    numbers = await scene(rstore)
    listed = (await api.get(f"/app/api/case/{numbers['report']}/documents", headers=auth(9001))).json()
    pdf, jpg = listed["files"]
    answer = await api.get(api_path(pdf["url"]))
    assert answer.status_code == 200 and answer.content == b"%PDF-1.4 evidence"
    assert "556677" not in answer.headers["content-disposition"] and "%E6%9D%90%E6%96%99-1.pdf" in answer.headers[
        "content-disposition"]
    photo = await api.get(f"/app/api/case/{numbers['report']}/files/{jpg['id']}", headers=auth(9001))
    assert photo.status_code == 200
    with Image.open(io.BytesIO(photo.content)) as image:
        assert image.size == (8, 8) and not image.getexif()
    assert "钱七".encode() not in photo.content
    # Out of scope: not found; a file of another case through this case's path: not found.
    assert (await api.get(f"/app/api/case/{numbers['report']}/files/{jpg['id']}", headers=auth(1003))).status_code == 404
    assert (await api.get(f"/app/api/case/{numbers['mine']}/files/{jpg['id']}", headers=auth(1001))).status_code == 404
    assert fake_bot.asked == ["F-PDF", "F-JPG"]


async def test_download_links_are_signed_single_case_and_expire(
    api: httpx.AsyncClient, rstore: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    numbers = await scene(rstore)
    listed = (await api.get(f"/app/api/case/{numbers['mine']}/documents", headers=auth(5001))).json()
    url = listed["documents"][0]["url"]
    token = parse_qs(urlsplit(url).query)["t"][0]
    assert (await api.get(api_path(url))).status_code == 200
    user, expires, signature = token.split(".")
    forged = [
        f"{user}.{expires}.{'0' * len(signature)}",  # a made-up signature
        f"5002.{expires}.{signature}",  # another user
        f"{user}.{int(expires) + 3600}.{signature}",  # a later expiry
        link_token("654321:OTHER-TOKEN", 5001, numbers["mine"], "doc:accepted"),  # another bot's key
        link_token(TOKEN, 5001, numbers["mine"], "doc:accepted", now=time.time() - LINK_AGE - 5),  # expired
        "garbage",
    ]
    for value in forged:
        answer = await api.get(f"/app/api/case/{numbers['mine']}/documents/accepted", params={"t": value})
        assert answer.status_code == 401 and answer.json() == {"error": "unauthorized"}, value
    # The token opens this case's item only: not another document, not another case.
    assert (await api.get(f"/app/api/case/{numbers['mine']}/documents/opinion", params={"t": token})).status_code == 401
    assert (await api.get(f"/app/api/case/{numbers['other']}/documents/accepted", params={"t": token})).status_code == 401
    # A valid token of someone who may not see the case is still refused by the store, as "not found".
    stranger = link_token(TOKEN, 5002, numbers["mine"], "doc:accepted")
    assert (await api.get(f"/app/api/case/{numbers['mine']}/documents/accepted", params={"t": stranger})).status_code == 404
    # The server's log has the requests, but neither a token nor the user it names (httpx's lines are the client's).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("tornado", "bot")))
    assert f"/app/api/case/{numbers['mine']}/documents/accepted" in logged
    assert signature not in logged and "5001" not in logged and "5002" not in logged
    # Forged, expired or missing initData on the new endpoints: 401 before anything.
    expired = {"Authorization": "tma " + signed_for(5001, TOKEN, auth_date=int(time.time()) - 2 * 3600)}
    forged_header = {"Authorization": "tma " + signed_for(5001, "654321:OTHER-TOKEN")}
    for headers in ({}, expired, forged_header):
        for path in ("/app/api/mine", f"/app/api/case/{numbers['mine']}/documents",
                     f"/app/api/case/{numbers['mine']}/documents/accepted", f"/app/api/case/{numbers['report']}/files/1"):
            answer = await api.get(path, headers=headers)
            assert answer.status_code == 401, (path, headers)


def test_a_link_token_checks_user_case_item_and_time() -> None:
    now = 1_800_000_000.0
    value = link_token(TOKEN, 5001, "XF-2026-000001", "doc:accepted", now=now)
    assert check_link(value, TOKEN, "xf-2026-000001", "doc:accepted", now=now + LINK_AGE - 1) == 5001
    for number, item, moment, token in (("XF-2026-000002", "doc:accepted", now, TOKEN),
                                        ("XF-2026-000001", "doc:opinion", now, TOKEN),
                                        ("XF-2026-000001", "doc:accepted", now + LINK_AGE + 1, TOKEN),
                                        ("XF-2026-000001", "doc:accepted", now, "654321:OTHER-TOKEN")):
        with pytest.raises(LinkError):
            check_link(value, token, number, item, now=moment)


async def test_files_stay_in_chat_without_a_bot(rstore: Services) -> None:
    numbers = await scene(rstore)
    server = WebAppServer(rstore, TOKEN)
    assert await server.start("127.0.0.1:0")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client:
            listed = (await client.get(f"/app/api/case/{numbers['report']}/documents", headers=auth(9001))).json()
            assert listed["files_in_chat"] is True and [f["url"] for f in listed["files"]] == ["", ""]
            answer = await client.get(f"/app/api/case/{numbers['report']}/files/{listed['files'][0]['id']}",
                                      headers=auth(9001))
            assert answer.status_code == 404 and json.loads(answer.text)["error"] == "files_in_chat"
    finally:
        await server.stop()


# ------------------------------------------------------------------ chat


async def test_app_in_chat_answers_with_a_web_app_button(app: tuple[Application, OfflineRequest]) -> None:
    application, request = app
    user = Updates(5001)
    await feed(application, user.text("/app"))
    assert request.last_to(5001).text == str(t("zh", "webapp_chat.not_set"))  # no public URL set
    application.bot_data[webapp_chat.URL_KEY] = "https://petitions.example.com/app/"
    await feed(application, user.text("/app"))
    sent = request.last_to(5001)
    assert sent.text == str(t("zh", "webapp_chat.open"))
    markup = sent.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    [[button]] = markup["inline_keyboard"]
    assert button["web_app"] == {"url": "https://petitions.example.com/app/"} and button["text"] == "打开网页版"


async def test_the_menu_button_opens_the_page_for_everyone(store: Services) -> None:
    class MenuBot:
        def __init__(self) -> None:
            self.calls: list[tuple[int | None, Any]] = []

        async def set_chat_menu_button(self, chat_id: int | None = None, menu_button: Any = None) -> bool:
            self.calls.append((chat_id, menu_button))
            return True

    bot = MenuBot()
    done = await set_menu_buttons(bot, store, "https://petitions.example.com/app/")  # type: ignore[arg-type]
    assert done == 1 + len(store.org.staff)
    default = [button for chat, button in bot.calls if chat is None]
    assert len(default) == 1 and default[0].web_app.url == "https://petitions.example.com/app/"
    assert default[0].text == "我的信访事项"
    assert {chat for chat, _ in bot.calls if chat is not None} == {s.telegram_id for s in store.org.staff}


async def test_a_reports_answer_issues_no_opinion_in_the_page_nor_by_document(dstore: Services) -> None:
    """A report on the discipline line is answered in the discipline wording: no 处理意见书 promising 复查."""
    number = (await dstore.cases.submit(petitioner(), draft(category="misconduct", unit="plant-1"), "d1")).case.number
    officer = discipline_staff(OIL_D)
    await dstore.cases.act(officer, number, Action.ACCEPT)
    await dstore.cases.act(officer, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="经核实，已立案处理。")
    _, issued = await dstore.documents.issued(officer, number)
    assert [d.kind.value for d in issued] == ["accepted"]
    assert [d.kind.value for d in await dstore.documents.documents(officer, number)] == ["accepted"]
    with pytest.raises(Refused) as refused:
        await dstore.documents.documents(officer, number, DocumentKind.OPINION)
    assert refused.value.code == "document_none"
