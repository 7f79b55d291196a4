"""Indicators on a fixture of known cases: the store, /stats, /export and the report command.

The fixture (all "wages", local 09:00; "now" is 2026-12-01):

    case unit      who   submitted accepted  decided   answer due  rating        note
    F    plant-1   5005  09-01     09-02     11-05     11-01       —             answered late
    E    plant-1   5004  10-01     10-02     11-10     12-01       dissatisfied
    A    plant-1   5001  11-02     11-05     11-20     01-04       satisfied
    B    plant-1   5002  11-03     11-25     —         —           —             accepted late (due 11-18)
    C    plant-2   5003  11-04     declined 11-06                                timely (due 11-19)
    G    refinery  5006  11-05     —                                             overdue since 11-20
    D    plant-2   5003  11-10     —                                             repeat of C; overdue since 11-25

November 2026, oilfield subtree: received A B C D = 4; all four answered or past
their acceptance deadline (D) = 4; accepted on time A C = 2 (50 %);
decided A E F = 3, nothing else waiting past a deadline in November, so 3 count;
on time A E = 2 (66.7 %); rated A E = 2 (participation 66.7 %);
satisfied A = 1 (satisfaction 50 %); repeat D = 1 (25 %); within time B = 1
(accepted, its handling deadline in January); overdue now D = 1; followed up (回访)
A (on 11-22, after it closed) = 1 of the 3 decided (follow-up rate 33.3 %).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from telegram.ext import Application

from bench.index_usage import explain, local_day
from bot.cli import main as cli
from store.clock import FakeClock
from store.errors import Refused
from store.indicators import TREND_FIGURES, parse_period, trend_months
from store.models import Actor, ActorRole, Decision, Rating
from store.opinion import DeclineGrounds
from store.org import Organization
from store.services import Services
from store.workflow import Action
from tests.conftest import OPINION_PARTS, draft, petitioner, trace_sql
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import (
    ADMIN,
    LEADER_OIL,
    LEADER_REF,
    OFFICER_P1,
    OFFICER_P2,
    ORG_TOML,
    at,
    employee,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]

# (received, due for acceptance, accepted on time, decided, due for an answer, answered on time,
#  rated, satisfied, repeats, within time, overdue now)
EXPECTED = {
    "hq": (5, 5, 2, 3, 3, 2, 2, 1, 1, 1, 2),
    "oilfield": (4, 4, 2, 3, 3, 2, 2, 1, 1, 1, 1),
    "plant-1": (2, 2, 1, 3, 3, 2, 2, 1, 0, 1, 0),
    "plant-2": (2, 2, 1, 0, 0, 0, 0, 0, 1, 0, 1),
    "refinery": (1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1),
}
FIELDS = ("received", "accept_counted", "accepted_on_time", "decided", "answer_counted", "answered_on_time",
          "rated", "satisfied", "repeats", "within_time", "overdue_now")


async def build_fixture(store: Services, clock: FakeClock) -> dict[str, str]:
    numbers: dict[str, str] = {}

    def on(month: int, day: int) -> None:
        clock.set(at(date(2026, month, day)))

    async def submit(name: str, user: int, unit: str = "plant-1") -> None:
        numbers[name] = (await store.cases.submit(petitioner(user), draft(unit=unit), name)).case.number

    async def decide(name: str) -> None:
        await store.cases.act(OFFICER_P1, numbers[name], Action.DECIDE, parts=OPINION_PARTS, decision=Decision.EXPLAIN, body="意见")

    on(9, 1)
    await submit("F", 5005)
    on(9, 2)
    await store.cases.act(OFFICER_P1, numbers["F"], Action.ACCEPT)
    on(10, 1)
    await submit("E", 5004)
    on(10, 2)
    await store.cases.act(OFFICER_P1, numbers["E"], Action.ACCEPT)
    on(11, 2)
    await submit("A", 5001)
    on(11, 3)
    await submit("B", 5002)
    on(11, 4)
    await submit("C", 5003, "plant-2")
    on(11, 5)
    await store.cases.act(OFFICER_P1, numbers["A"], Action.ACCEPT)
    await decide("F")
    await submit("G", 5006, "refinery")
    on(11, 6)
    await store.cases.act(OFFICER_P2, numbers["C"], Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不属于受理范围")
    on(11, 10)
    await submit("D", 5003, "plant-2")
    await store.repeats.confirm(OFFICER_P2, numbers["D"], numbers["C"])  # proposed; the officer confirms it
    await decide("E")
    on(11, 11)
    await store.review.rate(employee(5004), numbers["E"], Rating.DISSATISFIED)
    on(11, 20)
    await decide("A")
    on(11, 21)
    await store.review.rate(employee(5001), numbers["A"], Rating.SATISFIED)
    on(11, 22)
    await store.supervision.follow_up(OFFICER_P1, numbers["A"], "phone", "电话回访，信访人对处理结果表示满意")
    on(11, 25)
    await store.cases.act(OFFICER_P1, numbers["B"], Action.ACCEPT)
    on(12, 1)
    return numbers


def figures(row: Any) -> tuple[int, ...]:
    return tuple(getattr(row, name) for name in FIELDS)


async def test_indicators_equal_the_hand_computed_figures(rstore: Services, clock: FakeClock) -> None:
    numbers = await build_fixture(rstore, clock)
    assert (await rstore.cases.case_for(OFFICER_P2, numbers["D"])).repeat_of == numbers["C"]

    report = await rstore.indicators.indicators(LEADER_OIL, period="2026-11")
    assert [(r.unit, r.depth) for r in report.rows] == [("oilfield", 0), ("plant-1", 1), ("plant-2", 1)]
    assert {r.unit: figures(r) for r in report.rows} == {u: EXPECTED[u] for u in ("oilfield", "plant-1", "plant-2")}
    oilfield = report.rows[0]
    assert oilfield.accepted_on_time_pct == 50.0
    assert oilfield.answered_on_time_pct == pytest.approx(200 / 3)
    assert oilfield.participation_pct == pytest.approx(200 / 3)
    assert oilfield.satisfaction_pct == 50.0
    assert oilfield.repeat_pct == 25.0
    assert (oilfield.received, oilfield.matters, oilfield.repeats) == (4, 3, 1)  # 件次 4, 件数 3: D repeats C
    assert (oilfield.followed_up, oilfield.followup_pct) == (1, pytest.approx(100 / 3))
    assert (report.rows[2].followed_up, report.rows[2].followup_pct) == (0, None)  # plant-2: nothing decided
    assert report.rows[2].answered_on_time_pct is None  # nothing decided: undefined, not 0 %

    admin = await rstore.indicators.indicators(ADMIN, period="2026-11")
    assert {r.unit: figures(r) for r in admin.rows} == {u: EXPECTED[u] for u in ("hq", "oilfield", "refinery")}

    # The monthly trend of the oilfield: September F, October E, November as above.
    trend = {p.label: p for p in report.trend}
    assert len(report.trend) == 12 and report.trend[-1].label == "2026-11"
    assert (trend["2026-09"].received, trend["2026-09"].accepted_on_time) == (1, 1)
    assert (trend["2026-10"].received, trend["2026-10"].decided) == (1, 0)
    # A trend month counts what its chart draws, the same as that month's own indicators.
    assert {name: getattr(trend["2026-11"], name) for name in TREND_FIGURES} == {
        name: getattr(oilfield, name) for name in TREND_FIGURES}
    assert trend["2025-12"].received == 0 and trend["2025-12"].accepted_on_time_pct is None

    october = await rstore.indicators.indicators(LEADER_OIL, "plant-1", "2026-10")
    assert [figures(r) for r in october.rows] == [(1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)]
    year = await rstore.indicators.indicators(LEADER_OIL, "第一采油厂", "2026")
    assert figures(year.rows[0]) == (4, 4, 3, 3, 3, 2, 2, 1, 0, 1, 0)  # F, E, A, B; by name


async def test_cases_within_their_time_are_not_counted_in_the_rates(rstore: Services, clock: FakeClock) -> None:
    """Three cases submitted this morning do not make 及时受理率 0 %: they are within time."""
    numbers = await build_fixture(rstore, clock)  # now 2026-12-01 09:00
    for user in (5011, 5012, 5013):
        await rstore.cases.submit(petitioner(user), draft(unit="plant-1"), f"dec-{user}")
    december = (await rstore.indicators.indicators(LEADER_OIL, "plant-1")).rows[0]
    assert december.received == 3 and december.accept_counted == 0 and december.within_time == 3
    assert december.accepted_on_time_pct is None  # not 0 %
    trend = (await rstore.indicators.indicators(LEADER_OIL, period="2026-12")).trend
    assert trend[-1].label == "2026-12" and trend[-1].accepted_on_time_pct is None

    # Accepting one counts it (on time); the other two are still within time.
    pending = (await rstore.indicators.export_data(LEADER_OIL, "plant-1")).cases
    assert len(pending) == 3
    await rstore.cases.act(OFFICER_P1, pending[0].number, Action.ACCEPT)
    december = (await rstore.indicators.indicators(LEADER_OIL, "plant-1")).rows[0]
    assert (december.accept_counted, december.accepted_on_time, december.within_time) == (1, 1, 3)
    assert december.accepted_on_time_pct == 100.0

    # Past the acceptance deadline (15 days: 12-16) the two unanswered count, late.
    clock.set(at(date(2026, 12, 17)))
    december = (await rstore.indicators.indicators(LEADER_OIL, "plant-1", "2026-12")).rows[0]
    assert (december.accept_counted, december.accepted_on_time, december.within_time) == (3, 1, 1)
    assert december.accepted_on_time_pct == pytest.approx(100 / 3)
    assert december.overdue_now == 2

    # B waits for its written opinion; once its handling deadline passes it counts in that month.
    b = await rstore.cases.case_for(OFFICER_P1, numbers["B"])
    assert b.answer_due is not None
    due_month = f"{b.answer_due.year}-{b.answer_due.month:02d}"
    before = (await rstore.indicators.indicators(LEADER_OIL, "plant-1", due_month)).rows[0]
    assert (before.answer_counted, before.answered_on_time_pct) == (0, None)
    clock.set(at(b.answer_due + timedelta(days=1)))
    after = (await rstore.indicators.indicators(LEADER_OIL, "plant-1", due_month)).rows[0]
    assert (after.decided, after.answer_counted, after.answered_on_time) == (0, 1, 0)
    assert after.answered_on_time_pct == 0.0


async def test_indicators_are_for_leaders_and_admins_within_their_units(rstore: Services) -> None:
    with pytest.raises(Refused) as officer:
        await rstore.indicators.indicators(OFFICER_P1)
    assert officer.value.code == "leaders_only"
    with pytest.raises(Refused) as outside:
        await rstore.indicators.indicators(LEADER_REF, "oilfield")
    assert outside.value.code == "unknown_unit"
    with pytest.raises(Refused) as unknown:
        await rstore.indicators.indicators(LEADER_OIL, "plant-9")
    assert unknown.value.code == "unknown_unit"
    with pytest.raises(Refused) as bad:
        await rstore.indicators.indicators(LEADER_OIL, period="2026-13")
    assert bad.value.code == "bad_period"


def test_periods() -> None:
    today = date(2026, 12, 1)
    assert parse_period(None, today).label == "2026-12"
    november = parse_period("2026-11", today)
    assert (november.start, november.end) == (date(2026, 11, 1), date(2026, 12, 1))
    q4 = parse_period("2026-q4", today)
    assert (q4.start, q4.end, q4.label) == (date(2026, 10, 1), date(2027, 1, 1), "2026-Q4")
    year = parse_period("2026", today)
    assert (year.start, year.end) == (date(2026, 1, 1), date(2027, 1, 1))
    assert [m.label for m in trend_months(q4, 3)] == ["2026-10", "2026-11", "2026-12"]
    for bad in ("11-2026", "2026-00", "2026-Q5", "abcd", "1999"):
        with pytest.raises(Refused):
            parse_period(bad, today)


# ----------------------------------------------------------- /stats /export

@dataclass
class RecordingRequest(OfflineRequest):
    """Also keeps uploaded files (photos, documents) by method."""

    files: list[tuple[str, str, bytes]] = field(default_factory=list)

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any, **kwargs: Any):
        if request_data is not None and request_data.multipart_data:
            for _name, (filename, content, _mime) in request_data.multipart_data.items():
                self.files.append((url.rsplit("/", 1)[-1], filename, content))
        return await super().do_request(url, method, request_data, *args, **kwargs)


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, RecordingRequest]]:
    request = RecordingRequest()
    async with offline_app(rstore, request) as (application, _):
        yield application, request



async def test_stats_sends_the_figures_and_a_trend_chart(
    app: tuple[Application, RecordingRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    await build_fixture(rstore, clock)
    await feed(application, Updates(LEADER_OIL.id).text("/stats 2026-11"))
    texts = request.texts_to(LEADER_OIL.id)
    table = "\n".join(texts)
    assert "信访工作指标</b> · 2026-11" in table
    oilfield = table.split("<b>油田公司</b>")[1].split("▸")[0]
    assert "收件 4 件 · 在期限内待办 1 件 · 当前超期 1 件" in oilfield
    assert "及时受理率 50.0% · 按期答复率 66.7%" in oilfield
    assert "参评率 66.7% · 满意率 50.0% · 重复信访率 25.0% · 回访率 33.3%" in oilfield
    plant2 = table.split("<b>第二采油厂</b>")[1].split("<i>")[0]
    assert "按期答复率 —" in plant2 and "重复信访率 50.0% · 回访率 —" in plant2
    ((method, filename, content),) = request.files
    assert method == "sendPhoto" and filename.endswith(".png") and content.startswith(b"\x89PNG")
    photo = next(c for c in request.calls if c.method == "sendPhoto")
    assert "2026-11" in str(photo.params.get("caption"))

    await feed(application, Updates(OFFICER_P1.id).text("/stats"))
    assert request.texts_to(OFFICER_P1.id)[-1] == "该功能仅供领导和管理员使用。"
    await feed(application, Updates(LEADER_OIL.id, language_code="en").text("/stats plant-1 2026-13"))
    assert "Cannot read the period" in request.texts_to(LEADER_OIL.id)[-1]
    await feed(application, Updates(5001).text("/stats"))
    assert request.texts_to(5001)[-1] == "该命令仅供信访工作人员使用。"
    assert len(request.files) == 1


async def test_export_sends_an_xlsx_with_the_cases_and_the_indicators(
    app: tuple[Application, RecordingRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    numbers = await build_fixture(rstore, clock)
    await feed(application, Updates(LEADER_OIL.id).text("/export 2026-11"))
    ((method, filename, content),) = request.files
    assert method == "sendDocument" and filename == "petitions-2026-11.xlsx"
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["信访事项", "指标", "单位考核", "矛盾纠纷排查"]
    # The screening register of the period: the oilfield's units taking part, none reported.
    register = list(book["矛盾纠纷排查"].values)
    assert register[0][:2] == ("统计期间", "2026-11")
    assert [(row[0], row[1]) for row in register[2:]] == [("第一采油厂", "未报送"), ("第二采油厂", "未报送")]
    cases = list(book["信访事项"].values)
    assert cases[0][:3] == ("编号", "登记时间", "类别")
    assert [row[0] for row in cases[1:]] == [numbers[n] for n in ("A", "B", "C", "D")]
    by_number = {row[0]: row for row in cases[1:]}
    header = cases[0]
    assert by_number[numbers["D"]][header.index("重复信访（前次编号）")] == numbers["C"]
    assert by_number[numbers["A"]][header.index("评价")] == "满意"
    indicators = list(book["指标"].values)
    assert indicators[0] == ("统计期间", "2026-11") + (None,) * 31
    assert indicators[1][:5] == ("单位", "收件数", "应受理数（已答复或已到期）", "及时受理数", "及时受理率%")
    assert indicators[1][-11:-6] == ("在期限内待办数", "当前预警数", "当前警告数", "当前严重警告数", "当前超期数")
    assert indicators[1][-6:] == ("收件数·网上（本平台）", "收件数·来信", "收件数·来访", "收件数·来电",
                                  "收件数·网上（其他平台）", "收件数·转交办")
    rows = {row[0].strip(): row[1:] for row in indicators[2:]}
    # Every case of the fixture came in the chat: all received in the first channel column.
    # ..., 满意率, 件数 (C and D one matter), 重复信访数, 重复信访率, ...
    assert rows["油田公司"] == (4, 4, 2, 50.0, 3, 3, 2, 66.7, 2, 66.7, 1, 50.0, 3, 1, 25.0, 1, 33.3, 0, 0.0, 0, 0, 1, 0, 0, 0, 1,
                                4, 0, 0, 0, 0, 0)
    assert rows["第二采油厂"] == (2, 2, 1, 50.0, 0, 0, 0, None, 0, None, 0, None, 1, 1, 50.0, 0, None, 0, None, 0, 0, 0, 0, 0, 0, 1,
                                  2, 0, 0, 0, 0, 0)


async def test_report_command_writes_the_same_figures(
    rstore: Services, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    numbers = await build_fixture(rstore, clock)
    config = tmp_path / "org.toml"
    config.write_text(ORG_TOML, encoding="utf-8")
    monkeypatch.setenv("PETITION_CONFIG", str(config))
    db = rstore.db.path
    out = tmp_path / "report.xlsx"
    assert await asyncio.to_thread(cli, ["report", "--period", "2026-11", "--format", "xlsx", "--out", str(out), "--db", db,
                                                "--lang", "zh"]) == 0
    assert "2026-11：5 件信访事项" in capsys.readouterr().out  # one language: the one asked for
    book = load_workbook(out)
    rows = {row[0].strip(): row[1:] for row in list(book["指标"].values)[2:]}
    assert set(rows) == {"集团总部", "油田公司", "炼化公司"}
    # Period figures (the last columns, within time and overdue now, depend on the real date).
    assert rows["集团总部"][:15] == (5, 5, 2, 40.0, 3, 3, 2, 66.7, 2, 66.7, 1, 50.0, 4, 1, 20.0)
    assert [r[0] for r in list(book["信访事项"].values)[1:]] == [numbers[n] for n in ("A", "B", "C", "G", "D")]

    csv_out = tmp_path / "report.csv"
    assert await asyncio.to_thread(cli, ["report", "--period", "2026-11", "--format", "csv", "--out", str(csv_out), "--db", db,
                "--unit", "plant-2", "--lang", "en"]) == 0
    lines = csv_out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith('"Unit","Received","Due for acceptance (answered or past the deadline)",'
                               '"Accepted on time","Accepted on time %"')
    assert lines[1].startswith('"No. 2 Plant",2,2,1,50.0,0,0,0,"",0,"",0,"",1,1,50.0,')
    cases = list(csv.reader(io.StringIO((tmp_path / "report-cases.csv").read_text(encoding="utf-8-sig"))))
    assert [row[0] for row in cases[1:]] == [numbers["C"], numbers["D"]]
    screening = list(csv.reader(io.StringIO((tmp_path / "report-screening.csv").read_text(encoding="utf-8-sig"))))
    assert screening[0][:3] == ["Unit", "Report", "No."] and [row[:2] for row in screening[1:]] == [
        ["No. 2 Plant", "not reported"]]

    assert await asyncio.to_thread(cli, ["report", "--period", "2026-13", "--out", str(out), "--db", db,
                                         "--lang", "zh"]) == 1
    assert capsys.readouterr().err == "--period 2026-13：无法识别的期间；请用 2026-11（月）、2026-Q4（季度）或 2026（年）\n"
    assert await asyncio.to_thread(cli, ["report", "--out", str(out), "--db", str(tmp_path / "missing.db")]) == 1


def test_org_fixture_is_valid(rorg: Organization) -> None:
    assert rorg.find_unit("plant-2") is not None and rorg.monitoring.collective_people == 5


async def test_todays_figures_read_the_open_cases_index_alone(
    tmp_path: Path, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today's figures (``_now``) count the open cases from cases_open_by_unit (migration 0036): in its order,
    no table row read and no sort, on SQLite, which has no statistics to find that alone (docs/benchmarks.md)."""
    trace = tmp_path / "trace.jsonl"
    trace_sql(monkeypatch, trace)
    store = await Services.open(tmp_path / "traced.db", org, FakeClock())
    try:
        for i in range(3):
            await store.cases.submit(petitioner(5001 + i), draft(unit=("plant-1", "plant-2")[i % 2]), f"k{i}")
        report = await store.indicators.indicators(Actor(id=9001, role=ActorRole.ADMIN))
        assert sum(r.received for r in report.rows if r.depth == 0) == 3
    finally:
        await store.close()
    (now,) = [sql for sql in map(json.loads, trace.read_text(encoding="utf-8").splitlines()) if "overdue_now" in sql]
    conn = sqlite3.connect(tmp_path / "traced.db")
    plan = explain(conn, now)
    assert plan is not None and "COVERING INDEX cases_open_by_unit" in plan and "TEMP B-TREE" not in plan, plan


async def test_a_units_month_is_read_from_the_indexes_of_its_dates_and_unit(
    tmp_path: Path, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit's month counted again (store/trend_memo.py) reads only what can count in it, on SQLite, which has
    no statistics to find that alone: received from cases_by_unit_day, decided from cases_by_decided and waiting
    from cases_by_answer_due, whose entries carry the unit (migration 0037), and a case's follow-ups and redos
    from their own indexes; never every case of the unit (cases_by_unit) nor every event of a case."""
    trace = tmp_path / "trace.jsonl"
    trace_sql(monkeypatch, trace)
    store = await Services.open(tmp_path / "traced.db", org, FakeClock())
    try:
        await store.cases.submit(petitioner(5001), draft(unit="plant-1"), "k1")
        report = await store.indicators.indicators(Actor(id=9001, role=ActorRole.ADMIN))
        assert sum(r.received for r in report.rows if r.depth == 0) == 1
    finally:
        await store.close()
    counts = [sql for sql in map(json.loads, trace.read_text(encoding="utf-8").splitlines())
              if "answered_on_time" in sql and "followed_up" in sql]
    assert counts  # the period's own figures, all of them
    conn = sqlite3.connect(tmp_path / "traced.db")
    conn.create_function("local_day", 1, local_day, deterministic=True)  # as the store's connections have it
    plan = explain(conn, counts[0])
    assert plan is not None
    for index in ("cases_by_unit_day (unit=? AND submitted_at>? AND submitted_at<?)",
                  "cases_by_decided (decided_at>? AND decided_at<?)",
                  "cases_by_answer_due (status=? AND answer_due>? AND answer_due<?)",
                  "events_followed_up (case_id=?)", "events_redone (case_id=?)"):
        assert f"INDEX {index}" in plan, plan
    assert "cases_by_unit (" not in plan and "events_by_case" not in plan and "SCAN c " not in plan, plan
