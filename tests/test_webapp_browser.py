"""The Mini App's page in a real headless Chromium, served by the real bot (``serve``) on loopback.

The bot runs against the loopback Bot API with the fixture of
tests/test_indicators.py; the page is opened as Telegram opens it
(``#tgWebAppData=<signed initData>&tgWebAppThemeParams=…``). A leader's
dashboard renders its figures (those of ``/stats``) and its SVG charts in
Telegram's light and dark themes; an officer finds a case by a two-character
word, opens it, replies from the page, and the petitioner receives the reply
in chat through the outbox.

Screenshots go to the test's folder, and to ``$WEBAPP_SCREENSHOTS`` when set
(``WEBAPP_SCREENSHOTS=docs`` made the ones in docs/).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote

from bot.initdata import signed_for
from store.clock import FakeClock
from store.services import Services
from tests.browser import Browser
from tests.e2e import TOKEN, running_bot
from tests.review_fixture import LEADER_OIL, review_org
from tests.test_indicators import build_fixture

LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579", "link_color": "#3390ec",
         "button_color": "#3390ec", "button_text_color": "#ffffff", "secondary_bg_color": "#f4f4f5"}
DARK = {"bg_color": "#212121", "text_color": "#ffffff", "hint_color": "#aaaaaa", "link_color": "#8774e1",
        "button_color": "#8774e1", "button_text_color": "#ffffff", "secondary_bg_color": "#181818"}


def page_url(port: int, user_id: int, theme: dict[str, str], lang: str = "zh") -> str:
    init = signed_for(user_id, TOKEN, language=lang)
    return (f"http://127.0.0.1:{port}/app/#tgWebAppData={quote(init, safe='')}"
            f"&tgWebAppVersion=8.0&tgWebAppPlatform=android"
            f"&tgWebAppThemeParams={quote(json.dumps(theme), safe='')}")


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
    org = review_org()
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
