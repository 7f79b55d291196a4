"""Leaders in charge (领导包案) in /stats and the export, on a small hand-computed fixture.

Organisation (tests/review_fixture.py): oilfield (陈经理 3002) ▸ plant-1 (张厂长 3003, officer 1001),
plant-2 (officer 1002). The fixture (wages, local 09:00; "now" is 2026-12-01):

    E  plant-1  submitted 10-10; 张厂长 takes charge 11-02         October's: led 1, closed 0
    A  plant-1  submitted 11-02; 张厂长 takes charge; decided, rated 满意 → closed
    B  plant-1  submitted 11-03; 陈经理 takes charge; accepted, open
    C  plant-2  submitted 11-04; nobody in charge
    D  plant-2  submitted 11-05; 陈经理 takes charge; declined (not 办结)

November: oilfield led 3, closed 1; plant-1 led 2, closed 1; plant-2 led 1, closed 0.
"""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from handlers.reports import stats_text, xlsx_bytes
from store.clock import FakeClock
from store.models import Decision, Rating, Status
from store.opinion import DeclineGrounds
from store.services import Services
from store.workflow import Action
from tests.conftest import OPINION_PARTS, draft, petitioner
from tests.review_fixture import (
    LEADER_OIL,
    LEADER_P1,
    OFFICER_P1,
    OFFICER_P2,
    TZ,
    at,
    deliver_opinion,
    employee,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]


async def build(store: Services, clock: FakeClock) -> dict[str, str]:
    numbers: dict[str, str] = {}

    async def submit(name: str, day: date, unit: str = "plant-1") -> None:
        clock.set(at(day))
        numbers[name] = (await store.cases.submit(petitioner(5000 + len(numbers)), draft(unit=unit), name)).case.number

    await submit("E", date(2026, 10, 10))
    await submit("A", date(2026, 11, 2))
    await store.supervision.take_lead(LEADER_P1, numbers["E"])
    await store.supervision.take_lead(LEADER_P1, numbers["A"])
    await store.cases.act(OFFICER_P1, numbers["A"], Action.ACCEPT)
    await store.cases.act(OFFICER_P1, numbers["A"], Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="予以补发")
    await deliver_opinion(store)  # served (送达): 办结 at this level
    await store.review.rate(employee(5001), numbers["A"], Rating.SATISFIED)
    await submit("B", date(2026, 11, 3))
    await store.supervision.take_lead(LEADER_OIL, numbers["B"])
    await store.cases.act(OFFICER_P1, numbers["B"], Action.ACCEPT)
    await submit("C", date(2026, 11, 4), "plant-2")
    await submit("D", date(2026, 11, 5), "plant-2")
    await store.supervision.take_lead(LEADER_OIL, numbers["D"])
    await store.cases.act(OFFICER_P2, numbers["D"], Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不属于受理范围")
    clock.set(at(date(2026, 12, 1)))
    return numbers


async def test_stats_count_the_cases_under_a_leaders_charge_and_those_closed(
    rstore: Services, clock: FakeClock
) -> None:
    numbers = await build(rstore, clock)
    # Served and rated 满意: 办结, with the 复查 right still open (the case stays decided).
    assert (await rstore.cases.case_for(OFFICER_P1, numbers["A"])).status is Status.DECIDED
    report = await rstore.indicators.indicators(LEADER_OIL, period="2026-11")
    assert {r.unit: (r.received, r.led, r.led_closed) for r in report.rows} == {
        "oilfield": (4, 3, 1), "plant-1": (2, 2, 1), "plant-2": (2, 1, 0)}
    october = await rstore.indicators.indicators(LEADER_OIL, period="2026-10")
    assert (october.rows[0].led, october.rows[0].led_closed) == (1, 0)

    text = "\n".join(stats_text(report, rstore.org, "zh"))
    assert "🎖 领导包案 3 件 · 已办结 1 件" in text and "🎖 领导包案 1 件 · 已办结 0 件" in text
    assert "领导包案＝本期收件中已由领导包案的件数" in text
    assert "🎖 Under a leader's charge 3 · closed 1" in "\n".join(stats_text(report, rstore.org, "en"))


async def test_the_export_names_the_leader_in_charge(rstore: Services, clock: FakeClock) -> None:
    numbers = await build(rstore, clock)
    data = await rstore.indicators.export_data(LEADER_OIL, period="2026-11")
    book = load_workbook(io.BytesIO(xlsx_bytes(data, rstore.org, "zh", TZ)))
    cases = list(book["信访事项"].values)
    column = cases[0].index("包案领导")
    assert {row[0]: row[column] for row in cases[1:]} == {
        numbers["A"]: "张厂长", numbers["B"]: "陈经理", numbers["C"]: None, numbers["D"]: "陈经理"}
    indicators = list(book["指标"].values)
    header = indicators[1]
    oilfield = next(row for row in indicators[2:] if row[0] == "油田公司")
    assert (oilfield[header.index("领导包案")], oilfield[header.index("包案办结")]) == (3, 1)
