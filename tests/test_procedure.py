"""#24 part A: the procedure an office answers for (docs/procedure.md).

The working-day calendar (Art. 22-23, 34-36 limits, moved off rest days),
rights independent of ratings (Art. 35), 送达, clock integrity on transfer.
Organisation: tests/review_fixture.py (plant-1, officer 王干事 1001).
"""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram.ext import Application

from bot import cli
from bot.outbox import OutboxSender
from handlers.documents import render_pdf
from handlers.notifications import render
from handlers.render import deadline_line
from store.clock import FakeClock
from store.document_kinds import DocumentKind
from store.errors import Refused
from store.models import Decision, Rating, ReviewOutcome, Status
from store.org import HOLIDAYS_2026, OrgError, example_org, missing_holiday_notice, parse_org, starter_toml
from store.services import Services
from store.workflow import Action
from tests.conftest import OPINION_PARTS, REVIEW_PARTS, draft, petitioner, rows, uid
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import (
    LEADER_HQ,
    LEADER_OIL,
    OFFICER_P1,
    OFFICER_P2,
    at,
    decided_case,
    deliver_opinion,
    employee,
    ids,
    review_org,
    rorg,
    rstore,
)
from tests.test_documents import FileRequest, pdf_text
from tests.test_incidents import collective

__all__ = ["rorg", "rstore"]

CAL = example_org().workdays


# ------------------------------------------------------------ the calendar


def test_the_2026_notice_is_the_default_rest_and_make_up_days() -> None:
    rest = {day for h in HOLIDAYS_2026 for day in h.rest_days()}
    assert len(rest) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert not CAL.is_working_day(date(2026, 2, 23)) and CAL.is_working_day(date(2026, 2, 24))
    for made_up in (date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                    date(2026, 9, 20), date(2026, 10, 10)):
        assert made_up.isoweekday() >= 6 and CAL.is_working_day(made_up)
    assert not CAL.is_working_day(date(2026, 12, 20))  # a Sunday
    # Outside the notice's years only weekends rest: 2027-01-01 (a Friday) is a working day.
    assert CAL.is_working_day(date(2027, 1, 1)) and not CAL.is_working_day(date(2027, 1, 2))


def test_a_limit_ending_on_a_rest_day_ends_on_the_next_working_day() -> None:
    assert CAL.due_date(date(2026, 12, 5), 15) == date(2026, 12, 21)  # 12-20 is a Sunday
    assert CAL.due_date(date(2026, 8, 5), 60) == date(2026, 10, 8)  # 10-04 is in 国庆
    assert CAL.due_date(date(2026, 9, 5), 15) == date(2026, 9, 20)  # a Sunday worked instead: kept


def test_a_limit_in_working_days_counts_only_working_days() -> None:
    # From 09-30: 10-01..07 rest, 10-10 (Saturday) worked, 10-11 rest.
    assert CAL.due_date(date(2026, 9, 30), 15, working=True) == date(2026, 10, 27)
    org = parse_org(starter_toml().replace('# working_days = ["accept_days"]', 'working_days = ["accept_days"]'))
    assert org.due_date(date(2026, 9, 30), "accept_days") == date(2026, 10, 27)
    assert org.due_date(date(2026, 9, 30), "handle_days") == date(2026, 11, 30)  # 11-29 is a Sunday


@given(start=st.dates(date(2025, 6, 1), date(2027, 6, 30)), days=st.integers(1, 90), working=st.booleans())
def test_every_due_date_is_the_first_working_day_the_limit_allows(start: date, days: int, working: bool) -> None:
    due = CAL.due_date(start, days, working=working)
    assert CAL.is_working_day(due)
    if working:
        between = [start + timedelta(days=i) for i in range(1, (due - start).days + 1)]
        assert sum(CAL.is_working_day(d) for d in between) == days
    else:
        end = start + timedelta(days=days)
        assert due >= end and not any(CAL.is_working_day(end + timedelta(days=i)) for i in range((due - end).days))


def test_no_module_counts_a_time_limit_but_the_calendar_rule() -> None:
    """Every ``[deadlines]`` limit becomes a date through ``Organization.due_date`` (store/workdays.py) only.

    What SQL compares (the queues, the sweep, the warning levels) are the
    dates so stored; no other place adds a limit's days to a date.
    """
    root = Path(__file__).parent.parent
    offenders = []
    for folder in ("store", "handlers", "bot"):
        for path in sorted((root / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "timedelta":
                    source = ast.unparse(node)
                    if "deadlines" in source or "accept_days" in source:
                        offenders.append(f"{path.name}: {source}")
    assert offenders == []


async def test_a_deadline_falling_on_sunday_2026_12_20_is_monday_2026_12_21(
    rstore: Services, clock: FakeClock
) -> None:
    clock.set(at(date(2026, 12, 5)))
    case = (await rstore.cases.submit(petitioner(5001), draft(), "s")).case
    assert case.accept_due == date(2026, 12, 21)
    assert rows(rstore, "SELECT accept_due FROM cases WHERE id = ?", case.id) == [("2026-12-21",)]
    assert deadline_line(case, "zh") == "受理告知期限：2026年12月21日"
    assert deadline_line(case, "en") == "You will be told whether it is accepted by 21 December 2026"
    # Not yet accepted on 12-20 (a Sunday): nobody is told it is overdue.
    clock.set(at(date(2026, 12, 21)))
    report = await rstore.review.sweep()
    assert report.escalations == 0
    assert rows(rstore, "SELECT count(*) FROM reminders WHERE case_id = ? AND level LIKE 'escalate%'",
                case.id) == [(0,)]


async def test_the_notice_prints_the_moved_date_in_chinese(rstore: Services, clock: FakeClock) -> None:
    clock.set(at(date(2026, 8, 5)))
    number = (await rstore.cases.submit(petitioner(5001), draft(), "h")).case.number
    accepted = await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    assert accepted.answer_due == date(2026, 10, 8)  # 60 days is 10-04, in 国庆
    [doc] = await rstore.documents.documents(OFFICER_P1, number)
    text = pdf_text(await render_pdf(doc, rstore.org))
    assert "2026年10月8日" in text and "2026-10-04" not in text


def test_the_missing_notice_of_next_year_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org = review_org()
    assert missing_holiday_notice(org, date(2026, 12, 5)) == 2027
    with_2027 = parse_org(starter_toml().replace(
        "[calendar]\nholidays = [",
        '[calendar]\nholidays = [\n    { name = "元旦", first = 2027-01-01, last = 2027-01-03 },', 1))
    assert missing_holiday_notice(with_2027, date(2026, 12, 5)) is None
    assert missing_holiday_notice(with_2027, date(2027, 3, 1)) == 2028
    path = tmp_path / "org.toml"
    path.write_text(starter_toml(), encoding="utf-8")
    assert cli.main(["--lang", "zh", "check-config", str(path)]) == 0
    out = capsys.readouterr().out
    year = missing_holiday_notice(example_org(), date.today())
    assert year is not None  # the 2027 notice is not yet known
    assert out.count(f"没有 {year} 年的国务院节假日安排通知") == 1


# ------------------------------------------------- rights independent of ratings


async def test_basically_satisfied_asks_for_review_on_day_29_after_service_and_it_is_accepted(
    rstore: Services, clock: FakeClock
) -> None:
    number = await decided_case(rstore, clock)  # the opinion served in chat on 2026-11-02
    rated = await rstore.review.rate(employee(), number, Rating.BASIC)
    assert rated.status is Status.DECIDED and rated.closed_at is None
    clock.set(at(date(2026, 11, 2) + timedelta(days=29)))
    assert (await rstore.review.sweep()).closed == 0
    view = await rstore.self_service.petitioner_case(uid(employee()), number)
    assert view.actions == [Action.REQUEST_REVIEW]  # the button stays on the case view
    asked = await rstore.review.request_review(employee(), number, "对处理意见不服")
    assert asked.status is Status.REVIEW and asked.rating == Rating.BASIC.value
    assert rows(rstore, "SELECT status, rating, review_level FROM cases WHERE number = ?", number) == [
        ("review", "basic", 1)]


# ------------------------------------------------------------------ 送达


@pytest.fixture
async def files_app(rstore: Services) -> AsyncIterator[tuple[Application, FileRequest]]:
    request = FileRequest()
    async with offline_app(rstore, request) as (application, _):
        yield application, request


async def test_an_opinion_delivered_in_chat_is_served_when_telegram_accepts_it(
    files_app: tuple[Application, FileRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = files_app
    sender: OutboxSender = application.bot_data["outbox"]
    sender.chat_interval = 0.0
    number = await decided_case(rstore, clock, served=False)
    case = await rstore.cases.case_for(employee(), number)
    assert (case.served_on, case.review_request_due) == (None, None)  # not yet received: no window yet
    await sender.run_once()
    # The 处理意见书 the petitioner received: the window from receipt, without a date (not known when sent).
    (_, (_, data)) = request.documents_to(employee().id)
    text = pdf_text(data)
    assert "自收到本意见书之日起30日内请求" in text and "12月2日前" not in text
    # Telegram accepted it: served today, on the case's record.
    served = await rstore.cases.case_for(employee(), number)
    assert (served.served_on, served.served_how, served.review_request_due) == (
        date(2026, 11, 2), "chat", date(2026, 12, 2))
    assert rows(rstore, "SELECT served_on, served_how FROM cases WHERE number = ?", number) == [("2026-11-02", "chat")]
    assert rows(rstore, "SELECT action, actor_role FROM events WHERE action = 'serve'") == [("serve", "system")]
    # Made again now, the document states the last day.
    [doc] = await rstore.documents.documents(OFFICER_P1, number, DocumentKind.OPINION)
    assert "自收到本意见书之日起30日内（2026年12月2日前）请求" in pdf_text(await render_pdf(doc, rstore.org))


async def test_a_printed_opinion_is_served_on_the_date_the_officer_records(
    rstore: Services, clock: FakeClock
) -> None:
    async with offline_app(rstore, OfflineRequest()) as (application, request):
        number = await decided_case(rstore, clock, served=False)
        # Never served: the sweep closes nothing, however long it waits.
        clock.set(at(date(2026, 12, 20)))
        assert (await rstore.review.sweep()).closed == 0
        clock.set(at(date(2026, 11, 9)))
        officer = Updates(OFFICER_P1.id)
        await feed(application, officer.text(f"/served {number} 2026-11-06 快递"))
        assert request.last_to(OFFICER_P1.id).text.startswith("用法：/served 编号 送达日期 方式")
        await feed(application, officer.text(f"/served {number} 2026-11-10 邮寄"))
        assert "送达日期2026年11月10日不对" in request.last_to(OFFICER_P1.id).text  # after today
        await feed(application, officer.text(f"/served {number.lower()} 2026-11-06 邮寄"))
        # 11-06 + 30 days is 12-06, a Sunday: the window ends on Monday 12-07.
        assert request.last_to(OFFICER_P1.id).text == (
            f"已记录：信访事项 <code>{number}</code> 的处理意见于2026年11月6日邮寄送达。"
            "信访人可在2026年12月7日前申请复查（复核）。")
        assert rows(rstore, "SELECT served_on, served_how, review_request_due FROM cases WHERE number = ?",
                    number) == [("2026-11-06", "post", "2026-12-07")]
        await feed(application, officer.text(f"/served {number} 2026-11-07 当面"))
        assert request.last_to(OFFICER_P1.id).text == (
            f"信访事项 <code>{number}</code> 的处理意见已于2026年11月6日送达，不再重复记录。")
        [doc] = await rstore.documents.documents(OFFICER_P1, number, DocumentKind.OPINION)
        assert "30日内（2026年12月7日前）请求" in pdf_text(await render_pdf(doc, rstore.org))
        # The petitioner: the review right runs to 12-07 (Art. 35), counted from 送达.
        clock.set(at(date(2026, 12, 7)))
        view = await rstore.self_service.petitioner_case(uid(employee()), number)
        assert view.actions == [Action.REQUEST_REVIEW]
        clock.set(at(date(2026, 12, 8)))
        assert (await rstore.review.sweep()).closed == 1


# ------------------------------------------------------------ clock integrity


async def test_a_transfer_after_acceptance_keeps_the_answer_deadline(rstore: Services, clock: FakeClock) -> None:
    number = (await rstore.cases.submit(petitioner(5001), draft(), "t")).case.number
    accepted = await rstore.cases.act(OFFICER_P1, number, Action.ACCEPT)
    assert accepted.answer_due == date(2027, 1, 1)
    clock.set(at(date(2026, 11, 20)))
    moved = await rstore.cases.act(OFFICER_P1, number, Action.TRANSFER, unit="plant-2", body="事发第二采油厂")
    # The receiving unit inherits the remaining time: no fresh 15 + 60 days.
    assert (moved.unit, moved.status, moved.answer_due, moved.accepted_at) == (
        "plant-2", Status.ACCEPTED, date(2027, 1, 1), accepted.accepted_at)
    assert rows(rstore, "SELECT unit, status, answer_due FROM cases WHERE number = ?", number) == [
        ("plant-2", "accepted", "2027-01-01")]
    seen = await rstore.cases.case_for(OFFICER_P2, number)
    assert deadline_line(seen, "zh") == "办理期限：2027年1月1日"
    with pytest.raises(Refused) as again:
        await rstore.cases.act(OFFICER_P2, number, Action.ACCEPT)  # accepted once: not accepted afresh
    assert again.value.code == "wrong_status"


async def test_a_transfer_before_acceptance_keeps_the_received_date(rstore: Services, clock: FakeClock) -> None:
    case = (await rstore.cases.submit(petitioner(5001), draft(), "r")).case
    assert case.accept_due == date(2026, 11, 17)
    clock.set(at(date(2026, 11, 10)))
    moved = await rstore.cases.act(OFFICER_P1, case.number, Action.TRANSFER, unit="plant-2", body="事发第二采油厂")
    assert (moved.status, moved.accept_due) == (Status.SUBMITTED, date(2026, 11, 17))
    assert rows(rstore, "SELECT accept_due FROM cases WHERE id = ?", case.id) == [("2026-11-17",)]
    accepted = await rstore.cases.act(OFFICER_P2, case.number, Action.ACCEPT)
    assert accepted.answer_due == date(2027, 1, 11)  # 60 days from the day it was accepted (Art. 34)


# ------------------------------------------------------ collective petitions


async def test_typing_100_people_opens_no_incident_and_asks_a_leader_to_judge(store: Services) -> None:
    """org_fixture's plan: level 1 at 100 people; a typed headcount is not a confirmed one."""
    number = (await store.cases.submit(petitioner(5001), draft(people=100), "p")).case.number
    assert rows(store, "SELECT reason, people FROM alerts") == [("declared", 100)]
    assert rows(store, "SELECT count(*) FROM incidents") == [(0,)]
    [(leader, text)] = [(i.chat_id, str((await render(i, store))[0].text))
                        for i in await store.outbox.pending_notifications(limit=1000) if i.kind == "ld_alert"]
    assert leader == 2001
    assert "涉及人数待研判" in text and "信访人自报涉及 100 人（未经核实）" in text and number in text
    assert "不会自动启动群体性事件预案" in text


async def test_many_similar_filings_are_a_warning_to_judge_not_an_incident(store: Services) -> None:
    for user in range(5001, 5021):  # 20 people, the plan's level 3
        await store.cases.submit(petitioner(user), draft(), f"s{user}")
    assert rows(store, "SELECT reason, people FROM alerts") == [("cluster", 20)]
    assert rows(store, "SELECT count(*) FROM incidents") == [(0,)]
    texts = [str((await render(i, store))[0].text)
             for i in await store.outbox.pending_notifications(limit=1000) if i.kind == "ld_alert"]
    assert texts and all("同类问题预警" in text and "系统不会自动启动" in text for text in texts)


async def test_a_registered_visit_of_twenty_is_a_collective_visit_that_opens_its_level(store: Services) -> None:
    number = await collective(store, people=20)
    assert rows(store, "SELECT reason, people FROM alerts") == [("visit", 20)]
    assert rows(store, "SELECT source_ref, level, people FROM incidents") == [(number, 3, 20)]
    texts = [str((await render(i, store))[0].text)
             for i in await store.outbox.pending_notifications(limit=1000) if i.kind == "ld_alert"]
    assert texts and "集体访" in texts[0] and "人数经工作人员登记" in texts[0]


async def test_the_review_opinion_notice_counts_the_re_review_window_from_receipt(
    rstore: Services, clock: FakeClock
) -> None:
    number = await decided_case(rstore, clock)
    await rstore.review.request_review(employee(), number, "不服")
    await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持原处理意见。", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    [item] = [i for i in await rstore.outbox.pending_notifications(limit=1000) if i.kind == "rv_petitioner"]
    texts = [str(m.text) for m in await render(item, rstore)]
    assert "自收到复查意见书之日起 30 日内申请复核" in texts[-1] and "前申请复核" not in texts[-1]


# ------------------------------------------------------------ 复查 outcomes


async def test_a_review_ordering_the_case_handled_again_returns_it_to_its_unit(
    rstore: Services, clock: FakeClock
) -> None:
    number = await decided_case(rstore, clock)
    await rstore.review.request_review(employee(), number, "不服")
    with pytest.raises(Refused) as old:
        await rstore.review.review_opinion(LEADER_OIL, number, Decision.SUPPORT, "予以支持", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)  # type: ignore[arg-type]
    assert old.value.code == "review_outcome"
    clock.set(at(date(2026, 11, 6)))
    redo = await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.REDO, "事实不清，责令重新核查。", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    # 11-06 + 30 days is 12-06, a Sunday: the new answer is due on Monday 12-07.
    assert (redo.status, redo.review_level, redo.answer_due, redo.review_decision) == (
        Status.IN_PROGRESS, 0, date(2026, 12, 7), ReviewOutcome.REDO)
    assert rows(rstore, "SELECT status, review_decision, final FROM cases WHERE number = ?", number) == [
        ("in_progress", "redo_ordered", 0)]
    items = await rstore.outbox.pending_notifications(limit=1000)
    [notice] = [i for i in items if i.kind == "rv_petitioner"]
    texts = [str(m.text) for m in await render(notice, rstore)]
    assert "复查意见：<b>责令重办</b>" in texts[0]
    assert "已责令原办理单位重新办理" in texts[-1] and "2026年12月7日前" in texts[-1]
    assert any(i.kind == "case_card" and i.chat_id == OFFICER_P1.id for i in items)  # the unit handles it again
    [doc] = await rstore.documents.documents(OFFICER_P1, number)  # the 复查意见书 alone: no 终结 notice
    text = pdf_text(await render_pdf(doc, rstore.org))
    assert "复查结果：责令重办" in text and "重新出具处理意见" in text and "请求复核" not in text
    # The unit answers again; the petitioner may contest the new opinion anew once it is served.
    await rstore.cases.act(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="经重新核查，予以补发。")
    await deliver_opinion(rstore)
    view = await rstore.self_service.petitioner_case(uid(employee()), number)
    assert view.actions == [Action.REQUEST_REVIEW]


async def test_a_re_review_that_changes_the_opinion_ends_the_matter(rstore: Services, clock: FakeClock) -> None:
    number = await decided_case(rstore, clock)
    await rstore.review.request_review(employee(), number, "不服")
    await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持原处理意见。", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    await deliver_opinion(rstore)
    await rstore.review.request_review(employee(), number, "仍不服")
    final = await rstore.review.review_opinion(LEADER_HQ, number, ReviewOutcome.CHANGE, "变更为补发两天加班费。", participants=ids(LEADER_HQ), parts=REVIEW_PARTS)
    assert (final.status, final.final, final.rereview_decision) == (Status.CLOSED, True, ReviewOutcome.CHANGE)
    [doc] = await rstore.documents.documents(OFFICER_P1, number, DocumentKind.REREVIEW)
    assert "复核结果：变更" in pdf_text(await render_pdf(doc, rstore.org))


def test_check_config_names_a_wrong_holiday_or_working_day_limit() -> None:
    bad = starter_toml().replace(
        '{ name = "清明节", first = 2026-04-04, last = 2026-04-06 }',
        '{ name = "清明节", first = 2026-04-06, last = 2026-04-04 }',
    ).replace('# working_days = ["accept_days"]', 'working_days = ["accept_dayz"]')
    with pytest.raises(OrgError) as found:
        parse_org(bad)
    text = "\n".join(found.value.errors)
    assert "calendar.holidays[2]" in text and "the last rest day is before the first" in text
    assert 'deadlines.working_days' in text and 'unknown limit "accept_dayz"' in text
