"""The Mini App's page in a real headless Chromium, served by the real bot (``serve``) on loopback.

The bot runs against the loopback Bot API with the fixture of
tests/test_indicators.py; the page is opened as Telegram opens it
(``#tgWebAppData=<signed initData>&tgWebAppThemeParams=…``). A leader's
dashboard renders its figures (those of ``/stats``) and its SVG charts in
Telegram's light and dark themes; an officer finds a case by a two-character
word, opens it, replies from the page, and the petitioner receives the reply
in chat through the outbox. An employee gets the page's button from ``/app``,
finds their own case in it with its record and written notices, and a notice's
signed link gives its PDF; an officer downloads the file the petitioner sent,
fetched from the simulator's getFile.

Screenshots go to the test's folder, and to ``$WEBAPP_SCREENSHOTS`` when set
(``WEBAPP_SCREENSHOTS=docs`` made the ones in docs/).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.initdata import signed_for
from botsim import BotApiSimulator
from store.clock import FakeClock
from store.document_kinds import DocumentKind
from store.models import Decision
from store.org import parse_org
from store.services import Services
from store.workflow import Action
from tests.browser import Browser
from tests.conftest import OPINION_PARTS, draft, petitioner
from tests.e2e import TOKEN, running_bot
from tests.review_fixture import LEADER_OIL, OFFICER_P1, ORG_TOML, review_org
from tests.test_indicators import build_fixture

pytestmark = pytest.mark.slow  # each starts a headless Chromium and the bot's web server

LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579", "link_color": "#3390ec",
         "button_color": "#3390ec", "button_text_color": "#ffffff", "secondary_bg_color": "#f4f4f5"}
DARK = {"bg_color": "#212121", "text_color": "#ffffff", "hint_color": "#aaaaaa", "link_color": "#8774e1",
        "button_color": "#8774e1", "button_text_color": "#ffffff", "secondary_bg_color": "#181818"}


def page_url(port: int, user_id: int, theme: dict[str, str], lang: str = "zh") -> str:
    init = signed_for(user_id, TOKEN, language=lang)
    return (f"http://127.0.0.1:{port}/app/#tgWebAppData={quote(init, safe='')}"
            f"&tgWebAppVersion=8.0&tgWebAppPlatform=android"
            f"&tgWebAppThemeParams={quote(json.dumps(theme), safe='')}")


# The default items with a count item among them (docs/webapp.md): reception days held, one a month.
WITH_A_COUNT = ORG_TOML + """
[assessment]
[[assessment.items]]
indicator = "accepted_on_time_pct"
weight = 25
[[assessment.items]]
indicator = "answered_on_time_pct"
weight = 25
[[assessment.items]]
indicator = "satisfaction_pct"
weight = 20
[[assessment.items]]
indicator = "followup_pct"
weight = 10
[[assessment.items]]
indicator = "repeat_pct"
weight = 10
[[assessment.items]]
kind = "count"
source = "receptions"
target = 1
weight = 10
"""


def keep(shot: Path) -> None:
    folder = os.environ.get("WEBAPP_SCREENSHOTS")
    if folder:
        shutil.copy(shot, Path(folder) / shot.name)


async def show_november(browser: Browser) -> None:
    await browser.run("document.getElementById('period').value = '2026-11';")
    await browser.click("#dashboard form button[type=submit]")
    await browser.wait("document.getElementById('dashboard').dataset.ready === '1'"
                       " && document.getElementById('period').value === '2026-11'")


async def test_dashboard_case_and_action_in_chromium(tmp_path: Path, clock: FakeClock) -> None:
    org = parse_org(WITH_A_COUNT)
    db = tmp_path / "webapp.db"
    services = await Services.open(db, org, clock)
    numbers = await build_fixture(services, clock)
    stats = await services.indicators.indicators(LEADER_OIL, period="2026-11")
    await services.close()

    async with running_bot(org, db, clock=clock, webapp_listen="127.0.0.1:0",
                           webapp_url="https://petitions.example.com/app/") as bot:
        petitioner = bot.sim.user(5002, first_name="李", language_code="zh-hans")
        port = bot.application.bot_data["webapp"].port
        async with Browser() as browser:
            # A leader: the dashboard, light theme.
            await browser.get(page_url(port, 3002, LIGHT))
            await browser.wait("document.getElementById('dashboard').dataset.ready === '1'")
            assert await browser.run("return document.getElementById('period').value;") == "2026-12"
            await show_november(browser)
            bars = await browser.run("return document.querySelectorAll('#dashboard svg.trend rect.bar').length;")
            assert bars == 12
            assert await browser.run("return document.querySelectorAll('#dashboard svg.scores rect.score').length;") >= 2
            first = await browser.run(
                "return Array.from(document.querySelectorAll('#indicators tbody tr:first-child td')).map(td => td.textContent);")
            assert first[0] == "油田公司" and first[1] == str(stats.rows[0].received)
            # The assessment's count item: its column, and in each row its points (count/target).
            heads = await browser.run(
                "return Array.from(document.querySelectorAll('#assessment thead th')).map(th => th.textContent);")
            assert heads[-1] == "领导接访日场次 (10)"
            cells = await browser.run(
                "return Array.from(document.querySelectorAll('#assessment tbody tr td:last-child'))"
                ".map(td => td.textContent);")
            assert cells and all(cell == "0.0 (0/1)" for cell in cells), cells  # no reception day held
            assert await browser.run("return getComputedStyle(document.body).backgroundColor;") == "rgb(255, 255, 255)"
            shot = tmp_path / "webapp-dashboard-light.png"
            await browser.screenshot(shot)
            keep(shot)

            # The same in Telegram's dark theme.
            await browser.get("about:blank")
            await browser.get(page_url(port, 3002, DARK))
            await browser.wait("document.getElementById('dashboard').dataset.ready === '1'")
            await show_november(browser)
            assert await browser.run("return getComputedStyle(document.body).backgroundColor;") == "rgb(33, 33, 33)"
            shot = tmp_path / "webapp-dashboard-dark.png"
            await browser.screenshot(shot)
            keep(shot)

            # Drill-down from the overdue figure to its cases, and one case's card and record.
            await browser.click("#indicators button[data-metric='overdue_now']")
            await browser.wait("document.getElementById('desk').dataset.ready === '1'")
            listed = await browser.run(
                "return Array.from(document.querySelectorAll('#results li')).map(li => li.dataset.number);")
            assert listed == [numbers["D"]]

            # An officer: the desk, a search for a two-character word, the case, a reply.
            await browser.get("about:blank")
            await browser.get(page_url(port, 1001, LIGHT))
            await browser.wait("document.getElementById('desk').dataset.ready === '1'")
            await browser.type("#q", "加班")
            await browser.click("#filters button[type=submit]")
            await browser.wait(f"document.querySelector(\"#results li[data-number='{numbers['B']}']\")")
            await browser.click(f"#results li[data-number='{numbers['B']}']")
            await browser.wait("document.getElementById('case').dataset.ready === '1'")
            assert await browser.run("return document.getElementById('case-title').textContent;") == "加班费未发放"
            assert await browser.run("return document.querySelectorAll('#timeline li').length;") >= 2
            shot = tmp_path / "webapp-case.png"
            await browser.screenshot(shot)
            keep(shot)
            await browser.click("button[data-action='reply']")
            await browser.type("#text", "请您补充十一月的加班记录。")
            await browser.click("#send")
            await browser.wait("document.getElementById('done')")
            assert numbers["B"] in await browser.run("return document.getElementById('done').textContent;")
        # The reply reached the petitioner in chat, through the outbox, like a reply typed in chat.
        await petitioner.wait_for("请您补充十一月的加班记录。", after=0, timeout=15)
        menus = bot.sim.calls_to("setChatMenuButton")
        assert any(json.loads(c["menu_button"])["web_app"]["url"] == "https://petitions.example.com/app/"
                   if isinstance(c["menu_button"], str) else c["menu_button"]["web_app"]["url"]
                   == "https://petitions.example.com/app/" for c in menus)


async def test_employee_page_and_documents_in_chromium(tmp_path: Path, clock: FakeClock) -> None:
    """An employee opens the page from /app's button: their case, its record and written notices; a PDF opens.

    Staff open a case with a file the petitioner sent: the file comes from Telegram (the simulator's getFile
    and download) through a signed link, as Telegram's own download would fetch it.
    """
    org = review_org()
    db = tmp_path / "employee.db"
    sim = BotApiSimulator(token=TOKEN)
    await sim.start()
    evidence = b"%PDF-1.4 attendance sheet"
    sent = sim._register_file("document", evidence, "十一月考勤记录.pdf", "application/pdf")
    services = await Services.open(db, org, clock)
    files = [{"kind": "document", "file_id": sent.file_id, "file_unique_id": sent.file_unique_id,
              "file_name": "十一月考勤记录.pdf", "mime_type": "application/pdf", "size": len(evidence)}]
    mine = (await services.cases.submit(petitioner(5001, "张三"), draft(subject="加班费未发放", attachments=files),
                                        "e1")).case
    await services.cases.act(OFFICER_P1, mine.number, Action.ACCEPT)
    await services.cases.act(OFFICER_P1, mine.number, Action.NOTE, body="内部备注：需核对考勤")
    await services.cases.act(OFFICER_P1, mine.number, Action.REPLY, body="请补充十一月的考勤记录。")
    await services.cases.act(OFFICER_P1, mine.number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="经核实，予以补发。")
    other = (await services.cases.submit(petitioner(5002, "李四"), draft(subject="宿舍漏水"), "e2")).case
    await services.close()

    try:
        async with running_bot(org, db, clock=clock, sim=sim, webapp_listen="127.0.0.1:0",
                               webapp_url="https://petitions.example.com/app/") as bot:
            employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
            await employee.send("/app")
            answer = await employee.wait_for("网页", timeout=15)
            assert answer.reply_markup is not None
            [[button]] = answer.reply_markup["inline_keyboard"]
            assert button["web_app"]["url"] == "https://petitions.example.com/app/"
            port = bot.application.bot_data["webapp"].port
            async with Browser() as browser:
                await browser.get(page_url(port, 5001, LIGHT))
                await browser.wait("document.getElementById('mine').dataset.ready === '1'")
                listed = await browser.run(
                    "return Array.from(document.querySelectorAll('#mine-list li')).map(li => li.dataset.number);")
                assert listed == [mine.number] and other.number not in listed
                assert await browser.run("return getComputedStyle(document.getElementById('tabs')).display;") == "none"
                await browser.click(f"#mine-list li[data-number='{mine.number}']")
                await browser.wait("document.getElementById('case').dataset.ready === '1'"
                                   " && document.getElementById('documents').dataset.ready === '1'")
                page = await browser.run("return document.getElementById('case').innerText;")
                assert "请补充十一月的考勤记录。" in page and "经核实，予以补发。" in page
                assert "内部备注" not in page and "王干事" not in page
                kinds = await browser.run(
                    "return Array.from(document.querySelectorAll('#document-list li')).map(li => li.dataset.kind);")
                assert kinds == ["accepted", "opinion"]
                # The link works on its own (no header): what Telegram's download fetches.
                head = await browser.run(
                    "var a = document.querySelector(\"#document-list li[data-kind='opinion'] a\");"
                    "var x = new XMLHttpRequest(); x.open('GET', a.href, false);"
                    "x.overrideMimeType('text/plain; charset=x-user-defined'); x.send();"
                    "return [x.status, x.responseText.slice(0, 4)];")
                assert head == [200, "%PDF"]
                shot = tmp_path / "webapp-employee.png"
                await browser.screenshot(shot)
                keep(shot)

                # The officer: the same case with its written notices and the petitioner's file, fetched from Telegram.
                await browser.get("about:blank")
                await browser.get(page_url(port, 1001, LIGHT))
                await browser.wait("document.getElementById('desk').dataset.ready === '1'")
                await browser.run("document.getElementById('f-state').value = 'all';")
                await browser.click("#filters button[type=submit]")
                await browser.wait(f"document.querySelector(\"#results li[data-number='{mine.number}']\")")
                await browser.click(f"#results li[data-number='{mine.number}']")
                await browser.wait("document.getElementById('case').dataset.ready === '1'"
                                   " && document.getElementById('documents').dataset.ready === '1'")
                names = await browser.run(
                    "return Array.from(document.querySelectorAll('#file-list a')).map(a => a.textContent);")
                assert names == ["十一月考勤记录.pdf"]
                fetched = await browser.run(
                    "var a = document.querySelector('#file-list a');"
                    "var x = new XMLHttpRequest(); x.open('GET', a.href, false); x.send();"
                    "return [x.status, x.responseText];")
                assert fetched == [200, evidence.decode()]
                shot = tmp_path / "webapp-case-documents.png"
                await browser.screenshot(shot)
                keep(shot)
            assert any(call[0] == "getFile" for call in bot.sim.calls)
    finally:
        await sim.stop()


async def test_an_officer_issues_the_written_opinion_from_the_page(tmp_path: Path, clock: FakeClock) -> None:
    """Art. 32 on the page: 处理意见 without the facts found is refused in words; with its parts it reaches the petitioner.

    The form offers the petitioner's request from the case; the officer clears nothing, leaves the facts
    empty and sends: the store's refusal is shown under the form and the case stays accepted. With the
    facts and the basis filled in, the case is decided, the written opinion holds the three parts, and
    the petitioner is told in chat.
    """
    org = review_org()
    db = tmp_path / "opinion.db"
    services = await Services.open(db, org, clock)
    case = (await services.cases.submit(petitioner(5001, "张三"), draft(subject="加班费未发放"), "o1")).case
    await services.cases.act(OFFICER_P1, case.number, Action.ACCEPT)
    await services.close()

    async with running_bot(org, db, clock=clock, webapp_listen="127.0.0.1:0",
                           webapp_url="https://petitions.example.com/app/") as bot:
        employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        port = bot.application.bot_data["webapp"].port
        async with Browser() as browser:
            await browser.get(page_url(port, 1001, LIGHT))
            await browser.wait("document.getElementById('desk').dataset.ready === '1'")
            await browser.wait(f"document.querySelector(\"#results li[data-number='{case.number}']\")")
            await browser.click(f"#results li[data-number='{case.number}']")
            await browser.wait("document.getElementById('case').dataset.ready === '1'")
            await browser.click("button[data-action='decide']")
            await browser.wait("document.getElementById('facts')")
            assert await browser.run("return document.getElementById('request').value;") == "加班费未发放"
            await browser.run("document.getElementById('decision').value = 'support';")
            await browser.type("#basis", "《劳动法》第四十四条")
            await browser.type("#text", "经核实，予以补发。")
            await browser.click("#send")
            await browser.wait("document.getElementById('action-error')")
            refusal = await browser.run("return document.getElementById('action-error').textContent;")
            assert "查明事实" in refusal, refusal
            assert await browser.run("return document.getElementById('send').disabled;") is False

            await browser.type("#facts", "经核查考勤记录，十一月加班属实。")
            await browser.click("#send")
            await browser.wait("document.getElementById('done')")
            assert case.number in await browser.run("return document.getElementById('done').textContent;")
        await employee.wait_for("经核实，予以补发。", after=0, timeout=15)

    services = await Services.open(db, org, clock)
    try:
        decided = await services.cases.case_for(OFFICER_P1, case.number)
        assert decided.status.value == "decided"
        (opinion,) = await services.documents.documents(OFFICER_P1, case.number, DocumentKind.OPINION)
        assert opinion.parts is not None
        assert (opinion.parts.request, opinion.parts.facts, opinion.parts.basis) == (
            "加班费未发放", "经核查考勤记录，十一月加班属实。", "《劳动法》第四十四条")
    finally:
        await services.close()
