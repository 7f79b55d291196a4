"""The dispute screening register (矛盾纠纷排查): reports, carry-over, the roll-up, the sweep, the hook.

Organisation (tests/review_fixture.py): hq (leader 3001) ▸ oilfield (leader 3002) ▸ plant-1
(leader 3003, officer 1001), plant-2 (officer 1002, no leader: the oilfield's leader is told);
refinery (leader 3004, officer 1003). No unit is marked, so the units with officers take part:
plant-1, plant-2, refinery. Monthly periods, requests on the 1st, reminder 3 days later, the
leaders 3 days after that. The clock starts on 2026-11-02 (Shanghai).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.orgcheck import check_config, config_warnings, screening_warnings
from store.clock import FakeClock
from store.db import Connection
from store.errors import NotFound, Refused
from store.events import DisputeHighRisk
from store.org import load_org, parse_org
from store.screening import (
    DisputeIn,
    DisputeStatus,
    ReportState,
    Risk,
    parse_period,
    period_of,
    screening_officers,
)
from store.services import Services
from tests.conftest import draft, petitioner, rows
from tests.review_fixture import (
    ADMIN,
    LEADER_HQ,
    LEADER_OIL,
    LEADER_P1,
    OFFICER_P1,
    OFFICER_P2,
    OFFICER_REF,
    ORG_TOML,
    at,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]


def entry(**overrides: object) -> DisputeIn:
    values: dict[str, object] = {
        "type": "labour", "subject": "外包工工资拖欠", "people": 12, "risk": "medium",
        "status": "screening", "responsible": "王干事", "next_step": "约谈外包单位",
    }
    values.update(overrides)
    return DisputeIn.model_validate(values)


def notices(store: Services) -> list[tuple[int, str, str, str]]:
    found = rows(store, "SELECT chat_id, kind, params FROM outbox WHERE kind LIKE 'sc_%' ORDER BY id")
    return [(chat, kind, json.loads(p)["unit"], json.loads(p)["level"]) for chat, kind, p in found]


def test_periods_monthly_and_weekly() -> None:
    org = parse_org(ORG_TOML)
    nov = period_of(org, date(2026, 11, 17))
    assert (nov.label, nov.start, nov.end, nov.request_day) == ("2026-11", date(2026, 11, 1), date(2026, 12, 1),
                                                              date(2026, 11, 1))
    assert parse_period(org, "2026-12") == period_of(org, date(2026, 12, 31))
    assert parse_period(org, "2026-13") is None and parse_period(org, "2026-W45") is None
    weekly = parse_org(ORG_TOML + "\n[screening]\nperiod = \"weekly\"\nrequest_day = 2\n")
    week = period_of(weekly, date(2026, 11, 5))  # a Thursday
    assert (week.label, week.start, week.request_day) == ("2026-W45", date(2026, 11, 2), date(2026, 11, 3))
    assert parse_period(weekly, "2026-w45") == week and parse_period(weekly, "2026-11") is None


async def test_unit_not_reporting_is_reminded_then_its_leaders_told_once(rstore: Services, clock: FakeClock) -> None:
    await rstore.screening.nil_report(OFFICER_REF, "refinery")  # the refinery reports before the request
    result = await rstore.screening.sweep()  # 2026-11-02: the request of 2026-11 is due
    assert result.requests == 2
    assert notices(rstore) == [(1001, "sc_ask", "plant-1", "request"), (1002, "sc_ask", "plant-2", "request")]
    assert (await rstore.screening.sweep()).requests == 0  # a rerun repeats nothing
    clock.set(at(date(2026, 11, 3)))
    await rstore.screening.file(OFFICER_P1, "plant-1", entry())  # plant-1 reports
    clock.set(at(date(2026, 11, 4)))  # the request went out on the 2nd: its 3 days are not over
    assert (await rstore.screening.sweep()).reminders == 0
    clock.set(at(date(2026, 11, 5)))  # 3 days after the request: plant-2 is reminded
    assert (await rstore.screening.sweep()).reminders == 1
    clock.set(at(date(2026, 11, 7)))
    assert (await rstore.screening.sweep()).model_dump() == {"requests": 0, "reminders": 0, "escalations": 0}
    clock.set(at(date(2026, 11, 8)))  # 3 days more: plant-2's leaders (the oilfield's, none at the plant)
    assert (await rstore.screening.sweep()).escalations == 1
    clock.set(at(date(2026, 11, 20)))
    await rstore.screening.sweep()
    await rstore.screening.sweep()
    assert notices(rstore)[2:] == [(1002, "sc_ask", "plant-2", "remind"), (3002, "sc_overdue", "plant-2", "escalate")]
    journal = rows(rstore, "SELECT actor_role, action, unit FROM screening_journal ORDER BY id")
    assert journal == [("officer", "nil", "refinery"), ("system", "request", "plant-1"),
                       ("system", "request", "plant-2"), ("officer", "file", "plant-1"),
                       ("system", "remind", "plant-2"), ("system", "escalate", "plant-2")]


async def test_late_request_day_reminds_into_the_next_period(rstore: Services, clock: FakeClock) -> None:
    # After a restart in December, November's reminder still goes out (its request did); the word to the
    # leaders follows 3 days after that reminder, never with it.
    await rstore.screening.sweep()
    clock.set(at(date(2026, 12, 2)))
    result = await rstore.screening.sweep()
    assert (result.requests, result.reminders, result.escalations) == (3, 3, 0)
    clock.set(at(date(2026, 12, 5)))
    assert (await rstore.screening.sweep()).escalations == 3
    periods = rows(rstore, "SELECT period, level FROM screening_notices WHERE unit = 'plant-1' ORDER BY id")
    assert periods == [("2026-11", "request"), ("2026-11", "remind"), ("2026-12", "request"), ("2026-11", "escalate"),
                       ("2026-12", "remind")]  # December's request went out on the 2nd


async def test_a_bot_started_late_in_the_period_asks_first_and_reminds_later(
    rstore: Services, clock: FakeClock
) -> None:
    # First run on the 29th, long after the request day: the request alone, never the reminder with it.
    clock.set(at(date(2026, 11, 29)))
    result = await rstore.screening.sweep()
    assert (result.requests, result.reminders, result.escalations) == (3, 0, 0)
    assert {level for *_, level in notices(rstore)} == {"request"}
    clock.set(at(date(2026, 12, 1)))  # December's request; November's reminder is due on the 2nd
    result = await rstore.screening.sweep()
    assert (result.requests, result.reminders) == (3, 0)
    clock.set(at(date(2026, 12, 2)))
    assert (await rstore.screening.sweep()).reminders == 3
    reminder = [p for chat, kind, p in rows(rstore, "SELECT chat_id, kind, params FROM outbox")
                if '"remind"' in p and '"2026-11"' in p]
    assert reminder and all('"request_day": "2026-11-29"' in p and '"days": 3' in p for p in reminder)


async def test_nil_report_counts_as_reported(rstore: Services, clock: FakeClock) -> None:
    assert await rstore.screening.nil_report(OFFICER_P2, "plant-2") is True
    assert await rstore.screening.nil_report(OFFICER_P2, "plant-2") is False  # once
    assert await rstore.screening.report_state("plant-2") is ReportState.NIL
    clock.set(at(date(2026, 11, 10)))
    await rstore.screening.sweep()
    assert [n for n in notices(rstore) if n[2] == "plant-2"] == []  # reported: not asked
    register = await rstore.screening.register(LEADER_OIL)
    assert [(u.unit, u.state) for u in register.units] == [("plant-1", ReportState.MISSING),
                                                          ("plant-2", ReportState.NIL)]
    # A dispute found after the nil report makes it a filed report; a nil report after disputes is refused.
    await rstore.screening.file(OFFICER_P2, "plant-2", entry())
    assert await rstore.screening.report_state("plant-2") is ReportState.FILED
    await rstore.screening.file(OFFICER_P1, "plant-1", entry())
    with pytest.raises(Refused) as refused:
        await rstore.screening.nil_report(OFFICER_P1, "plant-1")
    assert refused.value.code == "screening_nil_after_disputes"


async def test_open_disputes_carry_over_resolved_ones_do_not(rstore: Services, clock: FakeClock) -> None:
    open_one = await rstore.screening.file(OFFICER_P1, "plant-1", entry(subject="倒班补贴"))
    solved = await rstore.screening.file(OFFICER_P1, "plant-1", entry(subject="宿舍维修"))
    clock.set(at(date(2026, 11, 20)))
    after = await rstore.screening.update(OFFICER_P1, solved.id, DisputeStatus.RESOLVED, "已维修完毕，职工满意")
    assert (after.status, after.resolved_day) == (DisputeStatus.RESOLVED, date(2026, 11, 20))
    november = await rstore.screening.register(ADMIN, "2026-11")
    assert [d.subject for d in november.disputes] == ["倒班补贴", "宿舍维修"]
    clock.set(at(date(2026, 12, 3)))
    december = await rstore.screening.register(ADMIN)
    assert december.period.label == "2026-12"
    assert [(d.id, december.carried_over(d)) for d in december.disputes] == [(open_one.id, True)]
    # Not reported in December although the carried-over dispute shows: reporting is per period.
    assert [u.state for u in december.units] == [ReportState.MISSING] * 3
    notes = await rstore.screening.notes(OFFICER_P1, solved.id)
    assert [(n.day, n.status_before, n.status_after, n.text) for n in notes] == [
        (date(2026, 11, 2), None, DisputeStatus.SCREENING, "约谈外包单位"),
        (date(2026, 11, 20), DisputeStatus.SCREENING, DisputeStatus.RESOLVED, "已维修完毕，职工满意"),
    ]


async def test_roll_up_on_a_hand_computed_fixture(rstore: Services, clock: FakeClock) -> None:
    s = rstore.screening
    await s.file(OFFICER_P1, "plant-1", entry(type="labour", risk="high", people=60, subject="A"))
    await s.file(OFFICER_P1, "plant-1", entry(type="labour", risk="low", people=3, subject="B",
                                              status="mediating"))
    await s.file(OFFICER_P1, "plant-1", entry(type="safety", risk="high", people=8, subject="C", status="stable"))
    await s.file(OFFICER_REF, "refinery", entry(type="environment", risk="medium", people=20, subject="D"))
    resolved = await s.file(OFFICER_REF, "refinery", entry(type="land", risk="high", people=200, subject="E"))
    await s.update(OFFICER_REF, resolved.id, DisputeStatus.RESOLVED, "补偿已到位")
    register = await s.register(LEADER_HQ, "2026-11")
    assert [(u.unit, u.state) for u in register.units] == [
        ("plant-1", ReportState.FILED), ("plant-2", ReportState.MISSING), ("refinery", ReportState.FILED)]
    assert register.count_by("type") == {"labour": 2, "safety": 1, "environment": 1, "land": 1}
    assert register.count_by("risk") == {"high": 3, "low": 1, "medium": 1}
    assert register.count_by("status") == {"screening": 2, "mediating": 1, "stable": 1, "resolved": 1}
    assert [d.subject for d in register.high_risk()] == ["A", "C"]  # open ones, most people first
    # A leader sees their units only; a unit narrows it; officers are refused.
    plant = await s.register(LEADER_P1)
    assert [u.unit for u in plant.units] == ["plant-1"] and len(plant.disputes) == 3
    with pytest.raises(Refused):  # another leader's unit answers like one that does not exist
        await s.register(LEADER_P1, None, "refinery")
    above = await s.register(LEADER_P1, None, "集团总部")  # a unit above: the leader's own part of it
    assert [u.unit for u in above.units] == ["plant-1"]
    refinery = await s.register(ADMIN, "2026-11", "refinery")
    assert [d.subject for d in refinery.disputes] == ["D", "E"]
    for actor, args, code in ((OFFICER_P1, (), "screening_leaders_only"), (LEADER_OIL, ("2026-13",),
                              "screening_bad_period"), (ADMIN, (None, "nowhere"), "unknown_unit")):
        with pytest.raises(Refused) as refused:
            await s.register(actor, *args)
        assert refused.value.code == code


async def test_who_may_file_and_update(rstore: Services) -> None:
    s = rstore.screening
    for actor, unit, code in ((OFFICER_P2, "plant-1", "screening_not_yours"),
                              (LEADER_P1, "plant-1", "screening_not_yours"),
                              (OFFICER_P1, "hq", "screening_not_yours"),
                              (OFFICER_P1, "nowhere", "unknown_unit")):
        with pytest.raises(Refused) as refused:
            await s.file(actor, unit, entry())
        assert refused.value.code == code
    for bad, code in (({"type": "nope"}, "screening_bad_type"), ({"people": 0}, "screening_bad_people"),
                      ({"subject": "  "}, "text_required"), ({"next_step": "x" * 501}, "screening_too_long")):
        with pytest.raises(Refused) as refused:
            await s.file(OFFICER_P1, "plant-1", entry(**bad))
        assert refused.value.code == code
    dispute = await s.file(ADMIN, "plant-1", entry())
    with pytest.raises(NotFound):  # another unit's dispute answers like one that does not exist
        await s.update(OFFICER_P2, dispute.id, DisputeStatus.MEDIATING, "调处")
    with pytest.raises(NotFound):
        await s.update(OFFICER_P1, 999, DisputeStatus.MEDIATING, "调处")
    with pytest.raises(NotFound):
        await s.dispute(OFFICER_P2, dispute.id)
    assert s.filing_units(OFFICER_P1) == ["plant-1"] and s.filing_units(ADMIN) == ["plant-1", "plant-2", "refinery"]
    assert rows(rstore, "SELECT count(*) FROM disputes") == [(1,)]  # the refusals stored nothing


async def test_the_same_submission_is_one_dispute(rstore: Services) -> None:
    first = await rstore.screening.file(OFFICER_P1, "plant-1", entry(), submit_key="a" * 32)
    again = await rstore.screening.file(OFFICER_P1, "plant-1", entry(), submit_key="a" * 32)
    assert first.id == again.id and rows(rstore, "SELECT count(*) FROM disputes") == [(1,)]


async def test_link_to_a_petition_case(rstore: Services) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "k")).case.number
    dispute = await rstore.screening.file(OFFICER_P1, "plant-1", entry())
    linked = await rstore.screening.link_case(OFFICER_P1, dispute.id, number)
    assert linked.case_number == number
    assert rows(rstore, "SELECT action, data FROM screening_journal WHERE action = 'link'") == [
        ("link", json.dumps({"case": number}))]
    other = await rstore.screening.file(OFFICER_P2, "plant-2", entry())
    with pytest.raises(NotFound):  # a plant-1 case is not the plant-2 officer's to see
        await rstore.screening.link_case(OFFICER_P2, other.id, number)


async def test_high_risk_hook(rstore: Services) -> None:
    called: list[DisputeHighRisk] = []

    async def on_high_risk(_conn: Connection, risky: DisputeHighRisk) -> None:
        called.append(risky)

    s = rstore.screening
    rstore.context.events.subscribe(DisputeHighRisk, on_high_risk)
    medium = await s.file(OFFICER_P1, "plant-1", entry(risk="medium", people=60))
    assert called == []
    high = await s.file(OFFICER_P1, "plant-1", entry(risk="high", people=52))
    assert [(d.ref, d.people, d.unit) for d in called] == [(f"#{high.id}", 52, "plant-1")]
    await s.update(OFFICER_P1, high.id, DisputeStatus.MEDIATING, "已约谈代表")  # already known: not again
    assert len(called) == 1
    await s.update(OFFICER_P1, medium.id, DisputeStatus.MEDIATING, "风险升高", risk=Risk.HIGH)
    assert [d.ref for d in called] == [f"#{high.id}", f"#{medium.id}"]
    await s.update(OFFICER_P1, high.id, DisputeStatus.RESOLVED, "已化解")
    assert len(called) == 2

    async def failing(_conn: Connection, _risky: DisputeHighRisk) -> None:
        raise RuntimeError("the plan is down")

    rstore.context.events.subscribe(DisputeHighRisk, failing)  # a failing plan never loses the entry
    stored = await s.file(OFFICER_P1, "plant-1", entry(risk="high", people=80))
    assert (await s.dispute(OFFICER_P1, stored.id)).people == 80


async def test_marked_units_only_when_any_is_marked() -> None:
    org = parse_org(ORG_TOML.replace('id = "plant-2"\n', 'id = "plant-2"\nscreening = true\n', 1))
    assert [u.id for u in org.screening_units()] == ["plant-2"]
    assert [u.id for u in parse_org(ORG_TOML).screening_units()] == ["plant-1", "plant-2", "refinery"]


# The fixture has a report category, which check-config accepts only with discipline staff above the
# units and the discipline body above the company (the 纪检 track); this test is about the screening.
WITH_DISCIPLINE = ORG_TOML + """
[organization.discipline_body]
name = { zh = "驻集团纪检监察组", en = "Discipline inspection team" }
address = "西安市雁塔区"
phone = "029-87654321"
[[staff]]
telegram_id = 7001
name = "集团纪委"
role = "officer"
units = ["hq"]
discipline = true
"""


def test_discipline_staff_neither_file_nor_are_asked_to() -> None:
    """纪检 staff take reports only: the screening of the units they cover is the units' own officers' work."""
    org = parse_org(WITH_DISCIPLINE.replace('id = "hq"\n', 'id = "hq"\nscreening = true\n', 1))
    assert [s.name for s in screening_officers(org, "hq")] == ["管理员"]  # nobody but the admins, not 集团纪委
    assert [s.name for s in screening_officers(org, "plant-1")] == ["王干事"]
    assert screening_warnings(org) == [
        "units[0].screening: no officer covers hq; the administrators will be asked to file its dispute screening"]


def test_check_config_validates_the_screening_section(tmp_path: Path) -> None:
    base = WITH_DISCIPLINE + "\n[screening]\n"
    for extra, problem in (
        ('period = "daily"', "screening.period"),
        ('period = "weekly"\nrequest_day = 9', "request_day is a weekday"),
        ("request_day = 29", "screening.request_day"),
        ("reminder_days = 0", "screening.reminder_days"),
        ("types = []", "at least one"),
        ('[[screening.types]]\nid = "a"\nname = "甲"\n[[screening.types]]\nid = "a"\nname = "乙"',
         'duplicate type id "a"'),
        ('[[screening.types]]\nid = "bad id"\nname = "甲"', "screening.types[0].id"),
        ("colour = 1", "screening.colour: unknown key"),
    ):
        path = tmp_path / "org.toml"
        path.write_text(base + extra + "\n", encoding="utf-8")
        ok, lines = check_config(path)
        assert not ok and any(problem in line for line in lines), (extra, lines)
    path = tmp_path / "org.toml"
    path.write_text(base + 'period = "weekly"\nrequest_day = 5\n', encoding="utf-8")
    assert check_config(path)[0] and load_org(path).screening.request_day == 5
    # A marked unit nobody covers: allowed, with a warning each for the filing and the leaders.
    marked = WITH_DISCIPLINE.replace('id = "hq"\n', 'id = "hq"\nscreening = true\n', 1)
    path.write_text(marked, encoding="utf-8")
    assert check_config(path)[0]
    assert config_warnings(path, date(2026, 11, 2)) == [
        "units[0].screening: no officer covers hq; the administrators will be asked to file its dispute screening"]
