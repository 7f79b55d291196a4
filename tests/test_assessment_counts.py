"""Unit assessment (考核) with count items: what staff record, against a target (store/assessment_counts.py).

A small organisation (tests/review_fixture.py, plant-1 and plant-2 taking part in the
dispute screening, refinery not), assessed by quarter on three items:

    satisfaction_pct           weight 50
    count screening_reports    weight 30, target 3 a quarter (per unit taking part)
    count receptions           weight 20, target 2 a quarter

Recorded, as staff record them, on both backends:

- screening reports (nil reports): plant-1 for 2026-09, 10, 11, 12; plant-2 for 2026-10 only;
- reception sessions of the file ([[reception]]), the clock at 2026-12-10:
    r-sep  plant-1's leader, 09-28 at a place            (before the quarter)
    r-p1   plant-1's leader, 10-15 at a place            → plant-1 (the leader's unit)
    r-cxl  plant-1's leader, 11-05 at a place, cancelled (not held)
    r-p2   oilfield's leader, 11-12 visiting plant-2     → plant-2 (下访)
    r-oil  oilfield's leader, 11-20 at a place           → oilfield
    r-ref  refinery's leader, 11-03 at a place           → refinery
    r-dec  plant-1's leader, 12-20 at a place            (not held yet)
- satisfaction: a case of plant-1 rated 满意 and one of plant-2 rated 不满意, both in November.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import httpx
import pytest

from bot.orgcheck import check_config
from handlers.reports import xlsx_bytes
from store.assessment import AssessmentReport, UnitScore, assess
from store.clock import FakeClock
from store.models import Rating
from store.org import Organization, OrgError, parse_org
from store.services import Services
from tests.review_fixture import (
    ADMIN,
    LEADER_HQ,
    LEADER_OIL,
    LEADER_P1,
    OFFICER_P1,
    OFFICER_P2,
    ORG_TOML,
    at,
    decided_case,
    employee,
    rstore,
)
from tests.test_webapp_api import api, auth

__all__ = ["api", "rstore"]

ASSESSMENT = """
[assessment]
period = "quarter"
[[assessment.items]]
indicator = "satisfaction_pct"
weight = 50
[[assessment.items]]
kind = "count"
source = "screening_reports"
target = 3
weight = 30
[[assessment.items]]
kind = "count"
source = "receptions"
target = 2
weight = 20
"""

RECEPTION = """
[[reception]]
id = "{id}"
leader = {leader}
date = {day}
start = "09:00"
end = "11:00"
{where}
slots = 3
"""

SESSIONS = [
    ("r-sep", 3003, "2026-09-28", 'place = "第一采油厂接待室"'),
    ("r-p1", 3003, "2026-10-15", 'place = "第一采油厂接待室"'),
    ("r-cxl", 3003, "2026-11-05", 'place = "第一采油厂接待室"'),
    ("r-p2", 3002, "2026-11-12", 'unit = "plant-2"'),
    ("r-oil", 3002, "2026-11-20", 'place = "油田公司接待室"'),
    ("r-ref", 3004, "2026-11-03", 'place = "炼化公司接待室"'),
    ("r-dec", 3003, "2026-12-20", 'place = "第一采油厂接待室"'),
]


def counted_org() -> str:
    text = ORG_TOML
    for unit in ("plant-1", "plant-2"):
        text = text.replace(f'id = "{unit}"\n', f'id = "{unit}"\nscreening = true\n', 1)
    text += ASSESSMENT
    for key, leader, day, where in SESSIONS:
        text += RECEPTION.format(id=key, leader=leader, day=day, where=where)
    return text


@pytest.fixture
def rorg() -> Organization:
    return parse_org(counted_org())


async def record(store: Services, clock: FakeClock) -> None:
    """Everything the module's docstring lists, through the store's own services."""
    clock.set(at(date(2026, 9, 1)))
    assert await store.reception.sync_reception_config() == len(SESSIONS)
    for month in (9, 10, 11, 12):
        clock.set(at(date(2026, month, 2)))
        assert await store.screening.nil_report(OFFICER_P1, "plant-1")
        if month == 10:
            assert await store.screening.nil_report(OFFICER_P2, "plant-2")
        if month == 11:
            cancelled = next(s for s in await store.reception.upcoming_sessions(50) if s.config_key == "r-cxl")
            await store.reception.cancel_session(LEADER_P1, cancelled.id, "厂长临时出差")
            first = await decided_case(store, clock, "sat", 5001, "plant-1")
            await store.review.rate(employee(5001), first, Rating.SATISFIED)
            second = await decided_case(store, clock, "dis", 5002, "plant-2")
            await store.review.rate(employee(5002), second, Rating.DISSATISFIED)
    clock.set(at(date(2026, 12, 10)))


def by_unit(report: AssessmentReport) -> dict[str, UnitScore]:
    return {s.unit: s for s in report.scores}


async def test_scores_with_count_items_equal_hand_computed_figures(rstore: Services, clock: FakeClock) -> None:
    """The quarter 2026-Q4, by hand (score = Σ wᵢ·sᵢ / Σ wᵢ over the items with data).

    plant-1:  satisfaction 1/1 = 100; screening 3 of 3 (Oct, Nov, Dec; September is another quarter) = 100;
              receptions 1 (r-p1) of 2 = 50                        → (50·100 + 30·100 + 20·50) / 100 = 90
    plant-2:  satisfaction 0/1 = 0; screening 1 of 3 = 33.33; receptions 1 (r-p2, 下访) of 2 = 50
                                                                   → 0 + 10 + 10 = 20
    oilfield: satisfaction 1/2 = 50; screening 4 of 3 × 2 units = 66.67; receptions 3 (r-p1, r-p2, r-oil) of 2,
              at most 100                                          → 25 + 20 + 20 = 65
    """
    await record(rstore, clock)
    report = await rstore.indicators.indicators(LEADER_OIL, period="2026-Q4")
    scores = by_unit(assess(report, rstore.org.assessment))
    assert [(s.unit, s.rank) for s in assess(report, rstore.org.assessment).scores] == [
        ("plant-1", 1), ("oilfield", 2), ("plant-2", 3)]
    p1, p2, oil = scores["plant-1"], scores["plant-2"], scores["oilfield"]
    assert p1.score == pytest.approx(90.0)
    assert p2.score == pytest.approx(20.0)
    assert oil.score == pytest.approx(65.0)
    counts = [(i.kind, i.source, i.value, i.target, i.contribution) for i in p1.items]
    assert counts == [("indicator", None, 100.0, None, pytest.approx(50.0)),
                      ("count", "screening_reports", 3, 3.0, pytest.approx(30.0)),
                      ("count", "receptions", 1, 2.0, pytest.approx(10.0))]
    screening = oil.items[1]
    assert (screening.value, screening.target, screening.score) == (4, 6.0, pytest.approx(200 / 3))
    receptions = oil.items[2]
    assert (receptions.value, receptions.score, receptions.contribution) == (3, 100.0, pytest.approx(20.0))
    assert p2.items[1].score == pytest.approx(100 / 3)


async def test_a_month_scales_the_quarterly_target_and_a_zero_is_a_zero(rstore: Services, clock: FakeClock) -> None:
    """2026-11: the targets are a third of the quarter's (screening 1 per unit, receptions 2/3).

    plant-1:  satisfaction 100; screening 1 of 1 = 100; receptions 0 (r-cxl cancelled) = 0 → 50 + 30 + 0 = 80
    plant-2:  satisfaction 0; screening 0 of 1 = 0 (not filed: a zero, not "no data"); receptions 1 of ⅔ → 100
                                                                                     → 0 + 0 + 20 = 20
    oilfield: satisfaction 50; screening 1 of 2 = 50; receptions 2 (r-p2, r-oil) → 100 → 25 + 15 + 20 = 60
    """
    await record(rstore, clock)
    report = await rstore.indicators.indicators(LEADER_OIL, period="2026-11")
    scores = by_unit(assess(report, rstore.org.assessment))
    assert scores["plant-1"].score == pytest.approx(80.0)
    assert scores["plant-2"].score == pytest.approx(20.0)
    assert scores["oilfield"].score == pytest.approx(60.0)
    zero = scores["plant-2"].items[1]
    assert (zero.value, zero.target, zero.score, zero.contribution) == (0, pytest.approx(1.0), 0.0, 0.0)


async def test_a_unit_taking_no_part_in_the_screening_has_no_data_for_it(
    rstore: Services, clock: FakeClock
) -> None:
    """hq's view, 2026-Q4. refinery takes no part in the screening and had no case rated: both items are
    left out and receptions (1 of 2 = 50) carries the whole weight → 50. hq's own row: satisfaction 50,
    screening 4 of 6, receptions 4 (at most 100) → 25 + 20 + 20 = 65."""
    await record(rstore, clock)
    report = await rstore.indicators.indicators(LEADER_HQ, period="2026-Q4")
    scores = by_unit(assess(report, rstore.org.assessment))
    refinery = scores["refinery"]
    assert refinery.score == pytest.approx(50.0)
    assert [(i.value, i.share) for i in refinery.items] == [
        (None, None), (None, None), (1, pytest.approx(100.0))]
    assert scores["hq"].score == pytest.approx(65.0)
    # The administrator, over the whole group, gets the same figures for the same units.
    everything = by_unit(assess(await rstore.indicators.indicators(ADMIN, period="2026-Q4"), rstore.org.assessment))
    assert {u: everything[u].score for u in ("hq", "oilfield", "refinery")} == {
        u: scores[u].score for u in ("hq", "oilfield", "refinery")}


async def test_the_dashboard_and_the_report_carry_the_count_items(
    api: httpx.AsyncClient, rstore: Services, clock: FakeClock
) -> None:
    await record(rstore, clock)
    board = (await api.get("/app/api/dashboard", params={"period": "2026-Q4"}, headers=auth(3002))).json()
    units = {u["unit"]: u for u in board["assessment"]["units"]}
    assert [(u["unit"], u["score"], u["rank"]) for u in board["assessment"]["units"]] == [
        ("plant-1", 90.0, 1), ("oilfield", 65.0, 2), ("plant-2", 20.0, 3)]
    items = units["oilfield"]["items"]
    assert [(i["kind"], i["indicator"], i["source"], i["name"]) for i in items] == [
        ("indicator", "satisfaction_pct", None, "满意率"),
        ("count", None, "screening_reports", "矛盾纠纷排查报送次数"),
        ("count", None, "receptions", "领导接访日场次"),
    ]
    assert [(i["value"], i["target"], i["contribution"]) for i in items] == [
        (50.0, None, 25.0), (4, 6.0, 20.0), (3, 2.0, 20.0)]
    english = (await api.get("/app/api/dashboard", params={"period": "2026-Q4"}, headers=auth(3002, "en"))).json()
    assert english["assessment"]["units"][0]["items"][2]["name"] == "Reception days held"

    # /export and `petition-bot report`: the same workbook, the same table, the count and its target.
    from openpyxl import load_workbook

    data = await rstore.indicators.export_data(LEADER_OIL, period="2026-Q4")
    book = load_workbook(io.BytesIO(xlsx_bytes(data, rstore.org, "zh", rstore.tz)))
    rows = [[c.value for c in row] for row in book["单位考核"].iter_rows()]
    header = rows[1]
    assert header == ["名次", "单位", "得分", "满意率 (50) 得分贡献", "满意率 %",
                      "矛盾纠纷排查报送次数 (30) 得分贡献", "矛盾纠纷排查报送次数 数量", "矛盾纠纷排查报送次数 目标",
                      "领导接访日场次 (20) 得分贡献", "领导接访日场次 数量", "领导接访日场次 目标"]
    body = {r[1]: r for r in rows[2:]}
    assert body["油田公司"] == [2, "油田公司", 65.0, 25.0, 50.0, 20.0, 4, 6, 20.0, 3, 2]
    assert body["第二采油厂"][:3] == [3, "第二采油厂", 20.0]


# ------------------------------------------------------------ check-config


def test_count_items_are_read_from_the_file() -> None:
    org = parse_org(counted_org())
    items = org.assessment.items
    assert [(i.kind, i.key, i.target, i.weight) for i in items] == [
        ("indicator", "satisfaction_pct", None, 50), ("count", "screening_reports", 3, 30), ("count", "receptions", 2, 20)]
    assert org.assessment.count_sources == ["screening_reports", "receptions"]


@pytest.mark.parametrize(("change", "message"), [
    (('source = "receptions"', 'source = "hearings"'), 'unknown count source "hearings"'),
    (("target = 2\n", "target = 0\n"), "greater than 0"),
    (("target = 2\n", "target = -1\n"), "greater than 0"),
    (("target = 2\n", ""), 'needs a source and a target'),
    (('source = "receptions"', 'source = "receptions"\nindicator = "followup_pct"'), "has no indicator"),
    (('kind = "count"\nsource = "receptions"', 'source = "receptions"'), "belong to a kind = \"count\" item"),
    (('source = "receptions"', 'source = "screening_reports"'), '"screening_reports" appears twice'),
    (("weight = 20", "weight = 25"), "add up to 105, not 100"),
    (('kind = "count"\nsource = "receptions"', 'kind = "tally"\nsource = "receptions"'), "kind"),
])
def test_check_config_refuses_bad_count_items(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = counted_org()
    assert change[0] in text
    bad = text.replace(change[0], change[1], 1) if change[0] != "weight = 20" else _last(text, *change)
    with pytest.raises(OrgError) as raised:
        parse_org(bad)
    assert any(message in line and "assessment" in line for line in raised.value.errors), raised.value.errors
    path = tmp_path / "org.toml"
    path.write_text(bad, encoding="utf-8")
    ok, lines = check_config(path)
    assert not ok and any(message in line for line in lines), lines
    path.write_text(text, encoding="utf-8")
    assert not any("assessment" in line for line in check_config(path)[1])  # the good file: nothing about it


def _last(text: str, old: str, new: str) -> str:
    """``old`` replaced at its last occurrence (the receptions item's weight)."""
    head, _, tail = text.rpartition(old)
    return head + new + tail


def test_the_documented_examples_are_valid() -> None:
    """The starter file's commented [assessment] and docs/configuration.md's, as an administrator would use them."""
    root = Path(__file__).resolve().parent.parent
    starter = (root / "store" / "example_org.toml").read_text(encoding="utf-8")
    lines = starter.splitlines()
    first = lines.index("# [assessment]")
    last = next(i for i in range(first, len(lines)) if not lines[i].startswith("# "))
    uncommented = lines[:first] + [line[2:] for line in lines[first:last]] + lines[last:]
    org = parse_org("\n".join(uncommented))
    assert [(i.key, i.weight) for i in org.assessment.items][-2:] == [("screening_reports", 20), ("receptions", 10)]
    docs = (root / "docs" / "configuration.md").read_text(encoding="utf-8")
    block = docs.split("### Unit assessment (考核)", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    org = parse_org(ORG_TOML + block)
    assert org.assessment.period == "quarter" and org.assessment.count_sources == ["screening_reports", "receptions"]
