"""The 纪检 track (#24): reports of misconduct (检举控告) go only along the discipline line.

Discipline-inspection staff (``[[staff]] discipline = true``) of a unit ABOVE the unit reported on take
a report; the reported unit's own staff and leaders never see it (queues, scope, notices), an
administrator neither; overdue, it escalates along the discipline line. A report about a unit's
leadership goes one discipline level higher. The reporter gets no satisfaction rating and no
复查/复核. check-config refuses a file where a report could reach anyone else, and staff changed in
the chat pass the same checks.

    hq (discipline 7001; leader 3001)
    ├── oilfield (discipline 7002; leader 3002; officer 1005 all categories)
    │   ├── plant-1 (leader 3003; officer 1001)
    │   └── plant-2 (discipline 7003, the plant's own; leader 3005; officer 1002 all categories)
    └── refinery (officer 1003)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from bot.orgcheck import check_config
from handlers.common import error_text
from handlers.notifications import render
from handlers.reports import stats_text
from handlers.staffing import member_text
from store import discipline, routing
from store.clock import FakeClock
from store.errors import AwaitingApproval, NotFound, Refused
from store.ledger import Registration
from store.models import Actor, ActorRole, Channel, Decision
from store.org import OrgError, Staff, parse_org
from store.services import Services
from store.staffing import merged
from store.workflow import Action
from tests.backends import fresh_database
from tests.conftest import OPINION_PARTS, draft, petitioner, rows
from tests.offline import Updates, feed, offline_app

ORG = """
[organization]
name = "测试石油"
timezone = "Asia/Shanghai"

[organization.review_body]
name = "陕西省国资委信访处"
address = "西安市新城区"
phone = "029-12345678"

[organization.discipline_body]
name = { zh = "省纪委监委驻集团纪检监察组", en = "Provincial discipline inspection team" }
address = "西安市雁塔区"
phone = "029-87654321"

[[units]]
id = "hq"
name = "集团总部"
[[units]]
id = "oilfield"
parent = "hq"
name = "油田公司"
[[units]]
id = "plant-1"
parent = "oilfield"
name = "第一采油厂"
[[units]]
id = "plant-2"
parent = "oilfield"
name = "第二采油厂"
[[units]]
id = "refinery"
parent = "hq"
name = "炼化公司"

[[categories]]
id = "wages"
name = "工资福利"
kind = "claim"
[[categories]]
id = "misconduct"
name = "违纪违法举报"
kind = "report"

[[staff]]
telegram_id = 7001
name = "集团纪委"
role = "officer"
units = ["hq"]
discipline = true
[[staff]]
telegram_id = 7002
name = "油田纪委"
role = "officer"
units = ["oilfield"]
discipline = true
[[staff]]
telegram_id = 7003
name = "二厂纪委"
role = "officer"
units = ["plant-2"]
discipline = true
[[staff]]
telegram_id = 1001
name = "一厂干事"
role = "officer"
units = ["plant-1"]
[[staff]]
telegram_id = 1002
name = "二厂干事"
role = "officer"
units = ["plant-2"]
[[staff]]
telegram_id = 1005
name = "油田信访科"
role = "officer"
units = ["oilfield"]
[[staff]]
telegram_id = 1003
name = "炼化干事"
role = "officer"
units = ["refinery"]
[[staff]]
telegram_id = 3001
name = "集团领导"
role = "leader"
units = ["hq"]
[[staff]]
telegram_id = 3002
name = "油田领导"
role = "leader"
units = ["oilfield"]
[[staff]]
telegram_id = 3003
name = "一厂厂长"
role = "leader"
units = ["plant-1"]
[[staff]]
telegram_id = 3005
name = "二厂厂长"
role = "leader"
units = ["plant-2"]
[[staff]]
telegram_id = 9001
name = "管理员"
role = "admin"
"""

HQ_D, OIL_D, P2_D = 7001, 7002, 7003
PLANT2_OWN = (7003, 1002, 3005)  # the plant's own discipline staff, officer and director
OTHERS = (1001, 1005, 1003, 3001, 3002, 3003, 9001)


def staff(telegram_id: int) -> Actor:
    return Actor(id=telegram_id, role=ActorRole.OFFICER if telegram_id < 3000 or telegram_id >= 7000
                 else ActorRole.ADMIN if telegram_id == 9001 else ActorRole.LEADER)


@pytest.fixture
async def dstore(backend: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    async with fresh_database(backend, tmp_path, "discipline.db", migrated=True) as target:
        s = await Services.open(target, parse_org(ORG), clock)
        yield s
        await s.close()


async def report(store: Services, unit: str, key: str, leadership: bool = False) -> str:
    data = draft(category="misconduct", unit=unit, about_leadership=leadership)
    return (await store.cases.submit(petitioner(), data, key)).case.number


async def test_a_report_about_plant_2_never_reaches_that_plants_staff_or_leaders(dstore: Services) -> None:
    number = await report(dstore, "plant-2", "r1")
    # The store: recorded against the plant, told only to the oilfield's discipline staff.
    assert rows(dstore, "SELECT unit, kind FROM cases WHERE number = ?", number) == [("plant-2", "report")]
    told = {chat for (chat,) in rows(dstore, "SELECT chat_id FROM outbox WHERE chat_id <> 5001")}
    assert told == {OIL_D}
    # What each sees: the oilfield's (and the group's) discipline staff may open it; nobody else,
    # the plant's own discipline staff, officer and director included, nor the administrator.
    for who in (OIL_D, HQ_D):
        assert (await dstore.cases.case_for(staff(who), number)).number == number
    for who in (*PLANT2_OWN, *OTHERS):
        with pytest.raises(NotFound):
            await dstore.cases.case_for(staff(who), number)
        scope, args = dstore.context.scope(staff(who))
        assert rows(dstore, f"SELECT count(*) FROM cases WHERE {scope}", *args) == [(0,)], who
        with pytest.raises((NotFound, Refused)):
            await dstore.cases.act(staff(who), number, Action.ACCEPT)
    scope, args = dstore.context.scope(staff(OIL_D))
    assert rows(dstore, f"SELECT number FROM cases WHERE {scope}", *args) == [(number,)]


async def test_a_report_about_the_plants_leadership_goes_one_discipline_level_higher(dstore: Services) -> None:
    number = await report(dstore, "plant-2", "r2", leadership=True)
    assert rows(dstore, "SELECT unit FROM cases WHERE number = ?", number) == [("oilfield",)]
    assert {c for (c,) in rows(dstore, "SELECT chat_id FROM outbox WHERE chat_id <> 5001")} == {HQ_D}
    for who in (OIL_D, *PLANT2_OWN, *OTHERS):
        with pytest.raises(NotFound):
            await dstore.cases.case_for(staff(who), number)
    submitted = rows(dstore, "SELECT e.data FROM events e JOIN cases c ON c.id = e.case_id"
                     " WHERE c.number = ? AND e.action = 'submit'", number)
    payload = json.loads(submitted[0][0])
    assert payload["reported_unit"] == "plant-2" and payload["about_leadership"] is True


async def test_a_report_no_discipline_level_of_the_company_can_take_is_sent_outside(dstore: Services) -> None:
    with pytest.raises(Refused) as refused:
        await report(dstore, "hq", "r3")
    assert refused.value.code == "report_external"
    shown = error_text("zh", refused.value)
    assert "省纪委监委驻集团纪检监察组" in shown and "029-87654321" in shown
    with pytest.raises(Refused):  # the oilfield's leadership: only the group is above it
        await report(dstore, "oilfield", "r4", leadership=True)
    assert rows(dstore, "SELECT count(*) FROM cases") == [(0,)]


async def test_an_answered_report_has_no_rating_and_no_review(dstore: Services) -> None:
    number = await report(dstore, "plant-1", "r5")
    await dstore.cases.act(staff(OIL_D), number, Action.ACCEPT)
    await dstore.cases.act(staff(OIL_D), number, Action.DECIDE, decision=Decision.SUPPORT, body="经核实，已立案处理。",
                           parts=OPINION_PARTS)
    assert rows(dstore, "SELECT status FROM cases WHERE number = ?", number) == [("closed",)]
    assert rows(dstore, "SELECT count(*) FROM outbox WHERE kind = 'rv_rate'") == [(0,)]
    with pytest.raises(Refused) as refused:
        await dstore.review.request_review(Actor(id=5001, role=ActorRole.PETITIONER), number, "不服")
    assert refused.value.code == "report_no_review"
    assert "向上一级纪检监察机关反映" in error_text("zh", refused.value)
    # What the reporter reads: 受理 and 处理结果反馈 in the discipline wording; no 处理意见书 promising 复查.
    reporter = dstore.context.hid(5001)  # a report is confidential by default: its reporter is a keyed hash
    items = [i for i in await dstore.outbox.pending_notifications(limit=1000) if i.chat_id == reporter]
    texts = [str(o.text) for i in items if i.kind == "petitioner_event" for o in await render(i, dstore)]
    assert any("已由纪检监察机构受理" in text for text in texts), texts
    feedback = next(text for text in texts if "处理结果反馈" in text)
    assert "经核实，已立案处理。" in feedback and "向上一级纪检监察机关反映" in feedback and "复查" not in feedback
    decided = rows(dstore, "SELECT e.id FROM events e JOIN cases c ON c.id = e.case_id"
                   " WHERE c.number = ? AND e.action = 'decide'", number)[0][0]
    assert [i.kind for i in items if i.event_id == decided] == ["petitioner_event"]


def test_escalation_goes_along_the_discipline_line() -> None:
    org = parse_org(ORG)
    assert [s.telegram_id for s in routing.responsible_staff(org, "plant-2", "misconduct")] == [OIL_D]
    assert [s.telegram_id for s in routing.leaders_at_level(org, "plant-2", 0, "misconduct")] == [HQ_D]
    assert routing.leaders_at_level(org, "plant-2", 1, "misconduct") == []
    assert [s.telegram_id for s in routing.leaders_of(org, "plant-2", "misconduct")] == [HQ_D]
    # Claims still go nearest-first to the unit's own officers and leaders.
    assert [s.telegram_id for s in routing.responsible_staff(org, "plant-2", "wages")] == [1002]
    assert [s.telegram_id for s in routing.leaders_at_level(org, "plant-2", 0, "wages")] == [3005]


def test_check_config_refuses_a_file_where_a_report_could_reach_anyone_else(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text(ORG, encoding="utf-8")
    assert check_config(path)[0]
    # Without the oilfield's discipline staff, a report about the oilfield has nobody above it but the group:
    # fine; without the group's too, reports about the oilfield would have no discipline level above.
    no_group = ORG.replace('units = ["hq"]\ndiscipline = true', 'units = ["hq"]')
    path.write_text(no_group, encoding="utf-8")
    ok, lines = check_config(path)
    assert not ok and any('units[1]: a report about "oilfield" would reach no discipline staff' in line
                          for line in lines), lines
    # No discipline staff at all: reports would reach the units' own officers and leaders.
    path.write_text(ORG.replace("discipline = true", "discipline = false"), encoding="utf-8")
    ok, lines = check_config(path)
    assert not ok and any("categories[1]: a report category" in line for line in lines), lines
    # The body outside the company must be named.
    body = ORG[ORG.index("[organization.discipline_body]"):ORG.index("[[units]]")]
    path.write_text(ORG.replace(body, ""), encoding="utf-8")
    ok, lines = check_config(path)
    assert not ok and any(line.startswith("organization.discipline_body: required") for line in lines), lines
    assert discipline.discipline_problems(parse_org(ORG)) == []


def test_staff_changed_in_the_chat_pass_the_same_checks() -> None:
    org = parse_org(ORG)
    # Taking the group's discipline staff off the hq (in the chat) would leave reports about the oilfield unseen.
    row = {"telegram_id": HQ_D, "name": "集团纪委", "role": "officer", "units": '["refinery"]',
           "categories": "[]", "recuse_units": "[]"}
    with pytest.raises(OrgError) as error:
        merged(org, [row])
    assert any('a report about "oilfield"' in line for line in error.value.errors)
    # An ordinary officer changed in the chat is fine.
    fine = {"telegram_id": 1001, "name": "一厂干事", "role": "officer", "units": '["plant-1", "plant-2"]',
            "categories": "[]", "recuse_units": "[]"}
    assert merged(org, [fine]).staff_member(1001) is not None


async def test_discipline_is_set_only_in_the_file(dstore: Services) -> None:
    admin = Actor(id=9001, role=ActorRole.ADMIN)
    member = Staff(telegram_id=4242, name="新纪检", role="officer", units=("oilfield",), discipline=True)
    with pytest.raises(Refused) as refused:
        await dstore.staffing.put(admin, member)
    assert refused.value.code == "staff_discipline_in_file"
    with pytest.raises(Refused) as refused:
        await dstore.staffing.remove(admin, OIL_D)
    assert refused.value.code == "staff_discipline_in_file"
    assert "组织架构文件" in error_text("zh", refused.value)
    assert dstore.context.org.staff_member(OIL_D) is not None


async def test_outside_the_discipline_line_a_report_shows_only_as_a_count(dstore: Services) -> None:
    await report(dstore, "plant-2", "r6")
    await dstore.cases.submit(petitioner(5002), draft(unit="plant-2"), "claim")
    leader = Actor(id=3002, role=ActorRole.LEADER)
    stats = await dstore.indicators.indicators(leader)
    assert stats.reports_counted == 1
    assert next(r for r in stats.rows if r.unit == "oilfield").received == 1  # the claim; the report is not listed
    shown = "\n".join(stats_text(stats, dstore.context.org, "zh"))
    assert "检举控告：本期收到 1 件" in shown
    exported = await dstore.indicators.export_data(leader)
    assert [c.category for c in exported.cases] == ["wages"]
    # The leader's queue scope holds the claim only.
    scope, args = dstore.context.read_scope(leader)
    assert rows(dstore, f"SELECT category FROM cases WHERE {scope}", *args) == [("wages",)]


async def test_the_sql_scope_and_the_python_rule_agree_on_the_discipline_line(dstore: Services) -> None:
    org = dstore.context.org
    n = 0
    for unit in ("oilfield", "plant-1", "plant-2", "refinery"):
        for category in ("wages", "misconduct"):
            n += 1
            await dstore.cases.submit(petitioner(6000 + n), draft(unit=unit, category=category), f"k{n}")
    cases = rows(dstore, "SELECT number, unit, category, confidential FROM cases")
    for member in org.staff:
        actor = staff(member.telegram_id)
        for scope_of in (dstore.context.scope, dstore.context.read_scope):
            scope, args = scope_of(actor)
            in_sql = {number for (number,) in rows(dstore, f"SELECT number FROM cases WHERE {scope}", *args)}
            in_python = {number for number, unit, category, confidential in cases
                         if routing.can_read(org, member, unit, category, bool(confidential), [])}
            assert in_sql == in_python, member.telegram_id
    # The discipline staff see the reports below their unit and no claim at all.
    scope, args = dstore.context.scope(staff(OIL_D))
    assert {c for (c,) in rows(dstore, f"SELECT DISTINCT category FROM cases WHERE {scope}", *args)} == {"misconduct"}


async def test_a_registered_letter_reporting_on_the_top_unit_is_not_filed_here(dstore: Services,
                                                                              clock: FakeClock) -> None:
    today = clock.now().astimezone(dstore.context.tz).date()
    letter = Registration(channel=Channel.LETTER, received_on=today, anonymous=True, category="misconduct",
                          unit="hq", subject="举报集团领导", details="来信举报。")
    with pytest.raises(Refused) as refused:
        await dstore.ledger.register(staff(HQ_D), letter)
    assert refused.value.code == "report_register_external"
    assert "向上一级纪检监察机关反映" in error_text("zh", refused.value)
    registered = await dstore.ledger.register(staff(HQ_D), letter.model_copy(update={"unit": "plant-2",
                                                                                       "registration_id": "x2"}))
    assert rows(dstore, "SELECT unit, kind FROM cases WHERE number = ?", registered.case.number) == [
        ("plant-2", "report")]
    with pytest.raises(NotFound):
        await dstore.cases.case_for(staff(1002), registered.case.number)


async def test_a_report_is_accepted_within_15_working_days(dstore: Services) -> None:
    number = await report(dstore, "plant-1", "w1")
    claim = (await dstore.cases.submit(petitioner(5003), draft(unit="plant-1"), "w2")).case.number
    # Submitted on Monday 2026-11-02: 15 working days end on Monday 11-23; a claim's 15 days on Tuesday 11-17.
    assert rows(dstore, "SELECT accept_due FROM cases WHERE number = ?", number)[0][0] in ("2026-11-23",
                                                                                          date(2026, 11, 23))
    assert rows(dstore, "SELECT accept_due FROM cases WHERE number = ?", claim)[0][0] in ("2026-11-17",
                                                                                         date(2026, 11, 17))


async def test_intake_asks_whether_a_report_concerns_the_leadership(dstore: Services) -> None:
    async with offline_app(dstore) as (application, request):
        user = Updates(5001)
        for raw in (user.text("/new"), user.tap("in:cat:misconduct"), user.tap("in:unit:oilfield"),
                    user.tap("in:unit:plant-2"), user.text("厂领导违规使用公车"), user.text("第二采油厂领导长期公车私用。"),
                    user.tap("in:done")):
            await feed(application, raw)
        asked = request.last_to(5001)
        assert "是否涉及被反映单位的领导班子成员" in asked.text
        assert ("涉及单位领导班子成员：否", "in:id:lead") in [(str(label), data) for label, data in asked.buttons()]
        await feed(application, user.tap("in:id:lead"))
        toggled = request.last_to(5001)
        assert "涉及单位领导班子成员：是" in [str(label) for label, _ in toggled.buttons()]
        draft_now = await dstore.cases.get_draft(5001)
        assert draft_now is not None and draft_now.data.about_leadership is True
        await feed(application, user.tap("in:id:conf"))
        submit = next(d for _, d in request.last_to(5001).buttons() if d.startswith("in:submit:"))
        await feed(application, user.tap(submit))
    # Recorded against the oilfield, so the group's discipline staff take it; the oilfield's never see it.
    assert rows(dstore, "SELECT unit, kind FROM cases") == [("oilfield", "report")]
    told = {c for (c,) in rows(dstore, "SELECT chat_id FROM outbox WHERE chat_id NOT IN (?, ?)",
                               5001, dstore.context.hid(5001))}
    assert told == {HQ_D}
    (number,) = rows(dstore, "SELECT number FROM cases")[0]
    with pytest.raises(NotFound):
        await dstore.cases.case_for(staff(OIL_D), number)


APPROVALS = '\n[approvals]\nacts = ["decide"]\n'
DISCIPLINE_LEADER = """
[[staff]]
telegram_id = 7012
name = "油田纪委书记"
role = "leader"
units = ["oilfield"]
discipline = true
"""


async def test_a_reports_opinion_is_approved_by_a_discipline_leader_never_the_units(
    backend: str, tmp_path: Path, clock: FakeClock
) -> None:
    without = parse_org(ORG + APPROVALS)
    assert any("no discipline leader" in line for line in discipline.discipline_problems(without))
    org = parse_org(ORG + APPROVALS + DISCIPLINE_LEADER)
    assert [s.telegram_id for s in discipline.approvers(org, "plant-2")] == [7012]
    async with fresh_database(backend, tmp_path, "approve.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        try:
            number = await report(store, "plant-2", "a1")
            await store.cases.act(staff(OIL_D), number, Action.ACCEPT)
            with pytest.raises(AwaitingApproval):
                await store.cases.act(staff(OIL_D), number, Action.DECIDE, decision=Decision.SUPPORT, body="已核实。",
                                            parts=OPINION_PARTS)
            assert rows(store, "SELECT approvers FROM pending_acts") == [("[7012]",)]
            assert rows(store, "SELECT status FROM cases WHERE number = ?", number) == [("accepted",)]
            told = {c for (c,) in rows(store, "SELECT chat_id FROM outbox WHERE chat_id NOT IN (?, ?)",
                                       5001, store.context.hid(5001))}
            assert told <= {OIL_D, 7012, HQ_D} and 7012 in told
        finally:
            await store.close()


def test_staff_card_shows_the_discipline_mark() -> None:
    org = parse_org(ORG)
    member = org.staff_member(OIL_D)
    assert member is not None and member.discipline
    assert "纪检监察" in member_text(org, member, "file", "zh")
    assert "discipline inspection" in member_text(org, member, "file", "en")
    plain = org.staff_member(1005)
    assert plain is not None and "纪检监察" not in member_text(org, plain, "file", "zh")
