"""Received cases by channel in /stats, /export and petition-bot report, on a small hand-computed fixture.

The fixture (review organisation; "now" is 2026-11-20, Asia/Shanghai):

    case       channel    unit      received     note
    A          telegram   plant-1   11-02
    B          telegram   plant-2   11-05
    C          telegram   plant-1   11-06        merged into A: counts nowhere
    L          letter     plant-1   11-10        registered by staff on 11-20
    V          visit      plant-2   11-18        registered by staff on 11-20
    T          transfer   plant-1   11-03        imported from the ledger
    K          call       refinery  10-15        imported: October

November, oilfield: received A B L V T = 5: chat 2, letter 1, visit 1, transfer 1 (call 0, online 0).
November, hq: the same 5 (the refinery's call was received in October). October, hq: call 1.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.cli import main as cli
from handlers import reports
from store.clock import FakeClock
from store.ledger import PersonIn, Registration
from store.models import Channel
from store.services import Services
from tests.conftest import draft, petitioner
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import ADMIN, LEADER_OIL, OFFICER_P1, OFFICER_P2, ORG_TOML, at, rorg, rstore

__all__ = ["rorg", "rstore"]

CHANNELS = ("received_telegram", "received_letter", "received_visit", "received_call", "received_online",
            "received_transfer")


async def build(store: Services, clock: FakeClock) -> None:
    async def chat(user: int, unit: str, day: int, key: str) -> str:
        clock.set(at(date(2026, 11, day)))
        return (await store.cases.submit(petitioner(user), draft(unit=unit), key)).case.number

    a = await chat(5001, "plant-1", 2, "a")
    await chat(5002, "plant-2", 5, "b")
    c = await chat(5003, "plant-1", 6, "c")
    clock.set(at(date(2026, 11, 20)))
    await store.links.merge(OFFICER_P1, a, c, "同一事项")
    for officer, channel, unit, day in ((OFFICER_P1, Channel.LETTER, "plant-1", 10),
                                        (OFFICER_P2, Channel.VISIT, "plant-2", 18)):
        await store.ledger.register(officer, Registration(
            channel=channel, received_on=date(2026, 11, day), people=[PersonIn(name="刘师傅")], category="wages",
            unit=unit, subject="加班费", details="加班费未发放"))
    header = {"received": None, "channel": None, "unit": None, "category": None, "subject": None, "external": None}
    ledger = [
        (2, {**header, "received": "2026-11-03", "channel": "转交办", "unit": "plant-1", "category": "wages",
             "subject": "工资", "external": "12345-001"}),
        (3, {**header, "received": "2026-10-15", "channel": "来电", "unit": "refinery", "category": "wages",
             "subject": "补贴", "external": "TZ-9"}),
    ]
    report = await store.ledger_import.run(ledger, dry_run=False)
    assert len(report.imported) == 2 and report.bad == []


def split(row: object) -> tuple[int, ...]:
    return tuple(getattr(row, name) for name in ("received", *CHANNELS))


async def test_received_cases_split_by_channel(rstore: Services, clock: FakeClock) -> None:
    await build(rstore, clock)
    november = await rstore.indicators.indicators(LEADER_OIL, period="2026-11")
    assert {r.unit: split(r) for r in november.rows} == {
        "oilfield": (5, 2, 1, 1, 0, 0, 1),
        "plant-1": (3, 1, 1, 0, 0, 0, 1),
        "plant-2": (2, 1, 0, 1, 0, 0, 0),
    }
    for row in november.rows:
        assert sum(count for _, count in row.by_channel) == row.received
    admin = await rstore.indicators.indicators(ADMIN, period="2026-11")
    assert split(admin.rows[0]) == (5, 2, 1, 1, 0, 0, 1)  # hq
    october = await rstore.indicators.indicators(ADMIN, period="2026-10")
    assert split(october.rows[0]) == (1, 0, 0, 0, 1, 0, 0)
    trend = {p.label: p.received for p in admin.trend}  # the chart's bars: every channel together
    assert trend["2026-10"] == 1 and trend["2026-11"] == 5

    # The export's indicator sheet: a column per channel, after the others.
    data = await rstore.indicators.export_data(LEADER_OIL, period="2026-11")
    indicators, cases = reports.csv_texts(data, rstore.org, "zh", rstore.tz)
    listed = list(csv.reader(io.StringIO(cases)))
    assert listed[0][-3:] == ["来源渠道", "收到日期", "转交文号或台账编号"]
    assert sorted(tuple(row[-3:]) for row in listed[1:]) == sorted([
        ("网上（本平台）", "2026-11-02", ""), ("网上（本平台）", "2026-11-05", ""), ("网上（本平台）", "2026-11-06", ""),
        ("来信", "2026-11-10", ""), ("来访", "2026-11-18", ""), ("转交办", "2026-11-03", "12345-001")])
    table = list(csv.reader(io.StringIO(indicators)))
    assert table[0][-6:] == ["收件数·网上（本平台）", "收件数·来信", "收件数·来访", "收件数·来电",
                             "收件数·网上（其他平台）", "收件数·转交办"]
    assert [row[-6:] for row in table[1:]] == [["2", "1", "1", "0", "0", "1"], ["1", "1", "0", "0", "0", "1"],
                                                ["1", "0", "1", "0", "0", "0"]]


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore, OfflineRequest()) as running:
        yield running


async def test_stats_and_the_report_command_show_the_split(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    application, request = app
    await build(rstore, clock)
    await feed(application, Updates(LEADER_OIL.id).text("/stats 2026-11"))
    table = "\n".join(request.texts_to(LEADER_OIL.id))
    oilfield = table.split("<b>油田公司</b>")[1].split("▸")[0]
    assert "收件 5 件" in oilfield and "按渠道：网上（本平台） 2 · 来信 1 · 来访 1 · 转交办 1" in oilfield
    plant2 = table.split("<b>第二采油厂</b>")[1]
    assert "按渠道：网上（本平台） 1 · 来访 1" in plant2
    await feed(application, Updates(LEADER_OIL.id, language_code="en").text("/stats 2026-11"))
    english = "\n".join(request.texts_to(LEADER_OIL.id))
    assert "By channel: Online (this bot) 2 · Letter 1 · Visit 1 · Transferred 1" in english

    config = tmp_path / "org.toml"
    config.write_text(ORG_TOML, encoding="utf-8")
    monkeypatch.setenv("PETITION_CONFIG", str(config))
    out = tmp_path / "report.csv"
    assert await asyncio.to_thread(cli, ["report", "--period", "2026-11", "--format", "csv", "--out", str(out),
                                         "--db", rstore.db.path, "--lang", "en"]) == 0
    lines = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert lines[0][-6:] == ["Received: this bot", "Received: letters", "Received: visits", "Received: calls",
                             "Received: other online platforms", "Received: transferred"]
    assert lines[1][0] == "Headquarters" and lines[1][1] == "5" and lines[1][-6:] == ["2", "1", "1", "0", "0", "1"]


async def test_a_case_reads_its_channel_as_the_enum(rstore: Services, clock: FakeClock) -> None:
    """``Case.channel`` is a ``Channel`` read back from the store, whichever way the case came in."""
    clock.set(at(date(2026, 11, 2)))
    chat = (await rstore.cases.submit(petitioner(5001), draft(unit="plant-1"), "a")).case
    letter = (await rstore.ledger.register(OFFICER_P1, Registration(
        channel=Channel.LETTER, received_on=date(2026, 11, 1), people=[PersonIn(name="刘师傅")], category="wages",
        unit="plant-1", subject="加班费", details="加班费未发放"))).case
    read = [await rstore.cases.case_for(OFFICER_P1, number) for number in (chat.number, letter.number)]
    assert [type(c.channel) for c in read] == [Channel, Channel]
    assert [c.channel for c in read] == [Channel.TELEGRAM, Channel.LETTER]
