"""A confidential case's files reach staff under neutral names, images without metadata (issue 11, path 6)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from botsim import BotApiSimulator, SimMessage, SimUser
from handlers.media import neutral_name
from store.models import Attachment
from store.org import parse_org
from tests.e2e import running_bot
from tests.petitioner import LABELS, ORG_FILE, api_errors, org_with, step, submit, to_subject

pytestmark = pytest.mark.slow

PDF = b"%PDF-1.4\n% the reporter's evidence\n"
REVEALING_PDF = "张三_工号10086_举报材料.pdf"
REVEALING_JPG = "IMG_张三_宿舍楼.jpg"


def photo_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x013B] = "Zhang San"  # Artist
    exif[0x010F] = "PhoneMaker"  # Make
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(out, "JPEG", exif=exif.tobytes(), comment=b"Zhang San's phone")
    return out.getvalue()


async def file_case(user: SimUser, lang: str, *, confidential: bool) -> str:
    L = LABELS[lang]
    await to_subject(user, lang, "report" if confidential else "wages")
    await user.send("材料")
    await user.wait_for(step(lang, 4))
    await user.send("详见附件。")
    await user.wait_for(step(lang, 5))
    await user.send_document(REVEALING_PDF, content=PDF)
    await user.wait_for("第 1 个材料")
    await user.send_document(REVEALING_JPG, mime_type="image/jpeg", content=photo_with_exif())
    await user.wait_for("第 2 个材料")
    await user.tap(L["done"])
    await user.wait_for(step(lang, 6))
    await user.tap(L["conf"] if confidential else L["real"])
    await user.wait_for(step(lang, 7))
    return await submit(user, lang)


def content_of(sim: BotApiSimulator, message: SimMessage) -> bytes:
    """The bytes of the file a message carries, as the simulated Telegram keeps them."""
    assert message.file_id is not None, message
    return sim._files[message.file_id].data or b""


async def test_confidential_files_are_renamed_and_images_stripped(tmp_path: Path) -> None:
    async with running_bot(org_with(messages_per_minute=500), tmp_path / "e2e.db") as bot:
        officer = bot.sim.user(1002, first_name="李", language_code="zh-hans")
        reporter = bot.sim.user(5005, first_name="张三", language_code="zh-hans")
        number = await file_case(reporter, "zh", confidential=True)
        await officer.wait_for(number)
        await officer.wait_for(predicate=lambda m: m.kind == "document" and "2/2" in (m.plain_caption or ""),
                               timeout=10)
        documents = [m for m in officer.messages if m.kind == "document"]
        assert [m.payload["document"]["file_name"] for m in documents] == ["材料-1.pdf", "材料-2.jpg"]
        pdf, jpg = (content_of(bot.sim, m) for m in documents)
        assert pdf == PDF  # the content is untouched
        assert b"Zhang San" not in jpg and b"Exif" not in jpg and b"PhoneMaker" not in jpg
        assert dict(Image.open(io.BytesIO(jpg)).getexif()) == {} and Image.open(io.BytesIO(jpg)).size == (32, 24)
        seen = "\n".join(m.visible_text + str(m.payload) for m in officer.messages)
        assert "张三" not in seen and "10086" not in seen

        # A file added later is numbered by its place in the case: 材料-3.
        await reporter.send("/mycases")
        await reporter.wait_for("我的信访事项")
        await reporter.tap(f"查看 {number}")
        await reporter.wait_for("办理记录")
        await reporter.tap("📎 补充材料")
        await reporter.wait_for("要补充的情况")
        await reporter.send_document("张三的补充说明.docx", mime_type="application/msword")
        await reporter.wait_for("已收到材料")
        await reporter.tap("完成")
        await reporter.wait_for("补充完毕")
        await officer.wait_for(predicate=lambda _: sum(m.kind == "document" for m in officer.messages) == 3,
                               timeout=10)
        added = [m for m in officer.messages if m.kind == "document"][-1]
        assert added.payload["document"]["file_name"] == "材料-3.docx"
        assert api_errors(bot.sim) == []


async def test_each_language_gets_its_neutral_copy_uploaded_once(tmp_path: Path) -> None:
    more_staff = """
[[staff]]
telegram_id = 1003
name = "周科员"
role = "officer"
units = ["oilfield"]

[[staff]]
telegram_id = 1004
name = "Chen"
role = "officer"
units = ["oilfield"]

[limits]
messages_per_minute = 500
"""
    org = parse_org(ORG_FILE.read_text(encoding="utf-8") + more_staff)
    async with running_bot(org, tmp_path / "e2e.db") as bot:
        officers = [bot.sim.user(1002, first_name="李", language_code="zh-hans"),
                    bot.sim.user(1003, first_name="周", language_code="zh-hans"),
                    bot.sim.user(1004, first_name="Chen", language_code="en")]
        for officer in officers:
            await officer.send("/start")
            await officer.wait_for("/queue")
        reporter = bot.sim.user(5005, first_name="张三", language_code="zh-hans")
        await file_case(reporter, "zh", confidential=True)
        for officer in officers:
            await officer.wait_for(predicate=lambda m: m.kind == "document" and ("2/2" in (m.plain_caption or "")
                                   or "2 of 2" in (m.plain_caption or "")), timeout=15)
        names = [[m.payload["document"]["file_name"] for m in o.messages if m.kind == "document"] for o in officers]
        assert names == [["材料-1.pdf", "材料-2.jpg"], ["材料-1.pdf", "材料-2.jpg"], ["material-1.pdf", "material-2.jpg"]]
        # One download and one upload per file and name; the second Chinese officer gets the same copy.
        files = [[m.file_id for m in o.messages if m.kind == "document"] for o in officers]
        assert files[0] == files[1] and not set(files[0]) & set(files[2])
        assert len([c for c in bot.sim.calls if c[0] == "getFile"]) == 4
        assert api_errors(bot.sim) == []


async def test_real_name_files_keep_their_names(tmp_path: Path) -> None:
    async with running_bot(org_with(messages_per_minute=500), tmp_path / "e2e.db") as bot:
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        number = await file_case(employee, "zh", confidential=False)
        await officer.wait_for(number)
        await officer.wait_for(predicate=lambda m: m.kind == "document" and "2/2" in (m.plain_caption or ""),
                               timeout=10)
        documents = [m for m in officer.messages if m.kind == "document"]
        assert [m.payload["document"]["file_name"] for m in documents] == [REVEALING_PDF, REVEALING_JPG]
        assert api_errors(bot.sim) == []


def test_neutral_names_follow_the_language_and_the_file_type() -> None:
    def file(name: str | None, mime: str | None = None, kind: str = "document") -> Attachment:
        return Attachment.model_validate({"id": 1, "case_id": 1, "event_id": None, "added_at": "2026-11-02T01:00:00Z",
                                          "kind": kind, "file_id": "f", "file_name": name, "mime_type": mime})

    assert neutral_name("zh", 1, file("张三_工号10086_举报材料.PDF")) == "材料-1.pdf"
    assert neutral_name("en", 3, file("report of Zhang.docx")) == "material-3.docx"
    assert neutral_name("en", 2, file(None, "video/mp4", "video")) == "material-2.mp4"
    assert neutral_name("zh", 4, file("no extension")) == "材料-4.bin"
