"""复查 / 复核: the collective study (集体研究) behind an opinion, and the hearing (听证) that stops its clock.

Organisation: tests/review_fixture.py, with an officer at the reviewing unit (oilfield: 陈经理 3002,
leader; 赵干事 1004, officer). The clock starts at 2026-11-02 (Mon) 09:00 in Shanghai; a review asked
for that day is due 2026-12-02 (30 calendar days, Art. 35).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from telegram.ext import Application

from handlers.common import error_text
from handlers.documents import render_pdf
from handlers.i18n import t
from handlers.review import opinion_markup
from store.clock import FakeClock
from store.document_kinds import DocumentKind
from store.errors import Refused
from store.models import Actor, ActorRole, ReviewOutcome, Status
from store.org import Organization, parse_org
from store.review import CURRENT_DUE_SQL, current_deadline
from store.services import Services
from store.sqltext import only_row
from store.workdays import WorkCalendar
from tests.backends import fresh_database
from tests.conftest import REVIEW_PARTS, rows, uid
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import (
    ADMIN,
    LEADER_OIL,
    LEADER_P1,
    ORG_TOML,
    answer_review_form,
    decided_case,
    employee,
    ids,
    rstore,
)
from tests.test_documents import pdf_text
from tests.test_review_offline import data_of, delivered

__all__ = ["rstore"]

OFFICER_OIL = 1004  # 赵干事, officer of the reviewing unit (oilfield)
OFFICER_OIL_ACTOR = Actor(id=OFFICER_OIL, role=ActorRole.OFFICER)
EXTRA = """
[[staff]]
telegram_id = 1004
name = "赵干事"
role = "officer"
units = ["oilfield"]
"""
DUE = date(2026, 12, 2)  # the review's due date, asked on 2026-11-02


@pytest.fixture
def rorg() -> Organization:
    return parse_org(ORG_TOML + EXTRA)


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore) as running:
        yield running


async def in_review(store: Services, clock: FakeClock, key: str = "k") -> str:
    number = await decided_case(store, clock, key)
    case = await store.review.request_review(employee(), number, "加班费计算有误")
    assert case.status is Status.REVIEW and case.review_due == DUE
    return number


async def sql_due(store: Services, number: str) -> str | None:
    async with store.db.read() as conn:
        async with conn.execute(f"SELECT {CURRENT_DUE_SQL} FROM cases WHERE number = ?", (number,)) as cur:
            (due,) = await only_row(cur)
    return str(due) if due is not None else None


# ------------------------------------------------------------ collective study


async def test_an_opinion_needs_a_leader_of_the_reviewing_unit_among_those_who_studied_it(
    rstore: Services, clock: FakeClock
) -> None:
    number = await in_review(rstore, clock)
    refusals = []
    for participants in ([], [OFFICER_OIL], ids(LEADER_P1, LEADER_OIL), ids(ADMIN, LEADER_OIL)):
        with pytest.raises(Refused) as refused:
            await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持", participants, parts=REVIEW_PARTS)
        refusals.append(refused.value)
    assert [r.code for r in refusals] == ["study_required", "study_required", "study_participant", "study_participant"]
    assert refusals[2].params == {"name": "张厂长"}  # a leader of the unit that decided, not of the reviewing one
    with pytest.raises(Refused, match="study_date"):
        await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持", ids(LEADER_OIL),
                                           studied_on=date(2026, 11, 3), parts=REVIEW_PARTS)
    # Each refusal has its own words in both languages, never the generic one.
    for lang in ("zh", "en"):
        for error in refusals:
            assert error_text(lang, error) != t(lang, "errors.refused")
    assert "至少选择一名参加研究的领导" in error_text("zh", refusals[0])
    assert rows(rstore, "SELECT count(*) FROM review_studies") == [(0,)]
    assert (await rstore.cases.case_by_id(1)).status is Status.REVIEW  # type: ignore[union-attr]

    case = await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "经集体研究，维持原处理意见。",
                                              [*ids(LEADER_OIL), OFFICER_OIL], studied_on=date(2026, 11, 2), parts=REVIEW_PARTS)
    assert case.status is Status.DECIDED
    [study] = await rstore.review.studies(case.id)
    assert study.level == 1 and study.studied_on == date(2026, 11, 2)
    assert [(m.name, m.leader) for m in study.participants] == [("陈经理", True), ("赵干事", False)]
    [(data,)] = rows(rstore, "SELECT data FROM events WHERE action = 'review_opinion'")
    assert '"study"' in data and str(OFFICER_OIL) in data  # journaled with the opinion


async def test_the_review_opinion_pdf_names_who_studied_it(rstore: Services, clock: FakeClock) -> None:
    number = await in_review(rstore, clock)
    await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.CHANGE, "复查认为应补发加班费。",
                                       [OFFICER_OIL, *ids(LEADER_OIL)], parts=REVIEW_PARTS)
    [doc] = await rstore.documents.documents(LEADER_OIL, number, DocumentKind.REVIEW)
    assert doc.studied_by == ["赵干事", "陈经理"]
    zh = pdf_text(await render_pdf(doc, rstore.org, "zh"))
    assert "本复查意见经赵干事、陈经理于2026年11月2日集体研究作出。" in zh
    en = pdf_text(await render_pdf(doc, rstore.org, "en"))
    assert "赵干事,陈经理" in en and "collectivestudy" in en


async def test_in_the_chat_the_reviewer_marks_who_studied_the_opinion_and_then_issues_it(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = await in_review(rstore, clock)
    leader = Updates(LEADER_OIL.id)
    await feed(application, leader.text(f"/review {number} 变更 经复查，应补发加班费 2 天。"))
    screen = await answer_review_form(application, request, leader)  # request, facts, basis; the opinion kept
    assert "请选择参加集体研究的人员" in screen.text and "已选：陈经理" in screen.text
    assert screen.buttons() == [
        ("✓ 陈经理（领导）", f"rv:sp:{number}:{LEADER_OIL.id}"), ("赵干事", f"rv:sp:{number}:{OFFICER_OIL}"),
        ("确认出具", f"rv:so:{number}"), ("放弃此意见", f"rv:sx:{number}"),
    ]
    assert (await rstore.cases.case_by_id(1)).status is Status.REVIEW  # type: ignore[union-attr]
    # Only the officer marked: the store refuses, and the buttons stay for another try.
    await feed(application, leader.tap(f"rv:sp:{number}:{OFFICER_OIL}"))
    await feed(application, leader.tap(f"rv:sp:{number}:{LEADER_OIL.id}"))
    assert "已选：赵干事" in request.last_to(LEADER_OIL.id).text
    await feed(application, leader.tap(f"rv:so:{number}"))
    assert "至少选择一名参加研究的领导" in request.last_to(LEADER_OIL.id).text
    # A forged toggle for someone outside the reviewing unit changes nothing.
    await feed(application, leader.tap(f"rv:sp:{number}:{LEADER_P1.id}"))
    assert "不能列为参加集体研究的人员" in request.last_to(LEADER_OIL.id).text
    await feed(application, leader.tap(f"rv:sp:{number}:{LEADER_OIL.id}"))
    await feed(application, leader.tap(f"rv:so:{number}"))
    assert "已就信访事项" in request.last_to(LEADER_OIL.id).text
    case = await rstore.cases.case_by_id(1)
    assert case is not None and case.review_decision is ReviewOutcome.CHANGE
    [study] = await rstore.review.studies(case.id)
    assert [m.name for m in study.participants] == ["赵干事", "陈经理"]
    # The case record shows it, on the staff timeline.
    await feed(application, leader.text(f"/case {number}"))
    assert any("复查意见经 赵干事、陈经理 于2026年11月2日集体研究" in text for text in request.texts_to(LEADER_OIL.id))


async def test_the_outcome_button_then_the_text_asks_for_the_participants(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = await in_review(rstore, clock)
    card = await delivered(rstore, LEADER_OIL.id, "rv_review_card")
    assert data_of(card[-1])[4:6] == [f"pr:hrs:{number}", f"st:open:{number}"]
    leader = Updates(LEADER_OIL.id, language_code="en")
    await feed(application, leader.tap(f"pr:rvm:{number}"))
    screen = await answer_review_form(application, request, leader, opinion="The original opinion stands.")
    assert "Choose who took part in the collective study" in screen.text
    await feed(application, leader.tap(f"rv:so:{number}"))
    case = await rstore.cases.case_by_id(1)
    assert case is not None and case.status is Status.DECIDED and case.review_decision is ReviewOutcome.MAINTAIN
    await feed(application, leader.tap(f"rv:so:{number}"))  # tapped again: nothing waits any more
    assert "no review (re-review) opinion waiting" in request.last_to(LEADER_OIL.id).text


# ---------------------------------------------------------------------- hearings


def test_the_days_stopped_are_counted_as_the_limit_counts() -> None:
    calendar = WorkCalendar.of(rest=[date(2026, 12, 25)], work=[], years=[2026])
    # Calendar days: ten days stopped move 12-02 to 12-12, a Saturday: the next working day.
    assert calendar.resumed(DUE, date(2026, 11, 5), date(2026, 11, 15)) == (date(2026, 12, 14), 10)
    assert calendar.resumed(DUE, date(2026, 11, 5), date(2026, 11, 12)) == (date(2026, 12, 9), 7)
    assert calendar.resumed(DUE, date(2026, 11, 5), date(2026, 11, 5)) == (DUE, 0)
    # Working days: 11-06 (Fri) to 11-15 (Sun) hold six working days; 12-18 (Fri) + 6 skips the rest day 12-25.
    assert calendar.resumed(date(2026, 12, 18), date(2026, 11, 5), date(2026, 11, 15), working=True) == (
        date(2026, 12, 29), 6)


async def test_a_hearing_stops_the_review_clock_and_moves_the_due_date_by_its_days(
    rstore: Services, clock: FakeClock
) -> None:
    number = await in_review(rstore, clock)
    clock.advance(days=3)  # Thu 11-05
    case = await rstore.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 12), "油田公司信访办会议室", "请携带考勤记录")
    assert case.clock_stopped_on == date(2026, 11, 5)
    assert current_deadline(case) is None and await sql_due(rstore, number) is None
    [(stopped, level, place)] = rows(rstore, "SELECT stopped_on, level, place FROM hearings WHERE ended IS NULL")
    assert (stopped, level, place) == ("2026-11-05", 1, "油田公司信访办会议室")
    with pytest.raises(Refused, match="hearing_pending"):  # one at a time, and no opinion meanwhile
        await rstore.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 20), "另一地点")
    with pytest.raises(Refused, match="hearing_pending"):
        await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持", ids(LEADER_OIL), parts=REVIEW_PARTS)
    with pytest.raises(Refused, match="hearing_not_yet"):
        await rstore.review.end_hearing(LEADER_OIL, number, held=True)
    clock.advance(days=10)  # Sun 11-15: ten days stopped
    case, hearing = await rstore.review.end_hearing(OFFICER_OIL_ACTOR, number, held=True)
    assert hearing.days == 10 and hearing.due_before == DUE
    assert case.review_due == date(2026, 12, 14)  # 12-12 is a Saturday: the next working day
    assert case.clock_stopped_on is None and current_deadline(case) is not None
    assert await sql_due(rstore, number) == "2026-12-14"
    assert rows(rstore, "SELECT ended, days, due_after FROM hearings") == [("held", 10, "2026-12-14")]
    assert [a for (a,) in rows(rstore, "SELECT action FROM events WHERE action LIKE 'hearing%' ORDER BY id")] == [
        "hearing", "hearing_end"]
    # A second hearing, cancelled after seven days: seven more.
    await rstore.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 30), "油田公司信访办会议室")
    clock.advance(days=7)
    case, hearing = await rstore.review.end_hearing(LEADER_OIL, number, held=False)
    assert hearing.ended == "cancelled" and case.review_due == date(2026, 12, 21)


async def test_a_review_limit_in_working_days_moves_by_the_working_days_stopped(
    backend: str, tmp_path: Path, clock: FakeClock
) -> None:
    org = parse_org(ORG_TOML + EXTRA + '\n[deadlines]\nworking_days = ["review_days"]\n')
    async with fresh_database(backend, tmp_path, "wd.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        try:
            number = await decided_case(store, clock)
            case = await store.review.request_review(employee(), number, "不服")
            assert case.review_due == date(2026, 12, 14)  # 30 working days from Mon 11-02
            clock.advance(days=3)  # Thu 11-05
            await store.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 12), "油田公司信访办会议室")
            clock.advance(days=10)  # Sun 11-15: six working days stopped (11-06, 11-09 … 11-13)
            case, hearing = await store.review.end_hearing(LEADER_OIL, number, held=True)
            assert hearing.days == 6 and case.review_due == date(2026, 12, 22)
        finally:
            await store.close()


async def test_only_the_reviewing_body_schedules_a_hearing_and_only_in_review(
    rstore: Services, clock: FakeClock
) -> None:
    number = await decided_case(rstore, clock)
    with pytest.raises(Refused, match="hearing_not_in_review"):
        await rstore.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 12), "会议室")
    await rstore.review.request_review(employee(), number, "不服")
    for who in (LEADER_P1, ADMIN):  # the unit that decided; an administrator never reviews
        with pytest.raises(Refused, match="not_reviewing_body"):
            await rstore.review.schedule_hearing(who, number, date(2026, 11, 12), "会议室")
    with pytest.raises(Refused, match="hearing_date"):
        await rstore.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 1), "会议室")
    with pytest.raises(Refused, match="hearing_place"):
        await rstore.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 12), "  ")
    with pytest.raises(Refused, match="hearing_none"):
        await rstore.review.end_hearing(LEADER_OIL, number, held=False)
    assert rows(rstore, "SELECT count(*) FROM hearings") == [(0,)]


async def test_the_sweep_does_not_count_the_hearing_days_as_late(rstore: Services, clock: FakeClock) -> None:
    number = await in_review(rstore, clock)
    clock.advance(days=3)
    await rstore.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 20), "油田公司信访办会议室")
    clock.advance(days=32)  # 12-07: five days past the review's old due date, the clock still stopped
    await rstore.review.sweep()
    assert rows(rstore, "SELECT count(*) FROM reminders WHERE stage = 'review'") == [(0,)]
    case = await rstore.cases.case_by_id(1)
    assert case is not None and rstore.supervision.level_of(case).value == "normal"
    assert rows(rstore, "SELECT queue_rank, queue_due FROM cases WHERE number = ?", number) == [(0, "9999-12-31")]
    _case, hearing = await rstore.review.end_hearing(LEADER_OIL, number, held=True)  # 32 days stopped
    assert hearing.days == 32 and hearing.due_after == date(2027, 1, 4)  # 2027-01-03 is a Sunday
    await rstore.review.sweep()
    assert rows(rstore, "SELECT count(*) FROM reminders WHERE stage = 'review'") == [(0,)]
    clock.advance(days=30)  # 2027-01-06: now late, counted from the moved date
    await rstore.review.sweep()
    assert ("escalate0", "2027-01-04") in rows(rstore, "SELECT level, due FROM reminders WHERE stage = 'review'")


async def test_the_petitioner_is_told_of_the_hearing_and_of_its_end(rstore: Services, clock: FakeClock) -> None:
    number = await in_review(rstore, clock)
    await delivered(rstore, 5001)  # what came before
    await rstore.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 12), "油田公司信访办会议室")
    [(kind, chat)] = rows(rstore, "SELECT kind, chat_id FROM outbox WHERE kind = 'rv_hearing'")
    assert (kind, chat) == ("rv_hearing", 5001)
    [told] = await delivered(rstore, 5001, "rv_hearing")
    assert "时间：2026年11月12日" in (told.text or "") and "油田公司信访办会议室" in (told.text or "")
    assert "听证所需时间不计入复查期限" in (told.text or "")
    clock.advance(days=2)
    await rstore.review.end_hearing(LEADER_OIL, number, held=False)
    [cancelled] = await delivered(rstore, 5001, "rv_hearing")
    assert "原定于2026年11月12日举行的听证已取消" in (cancelled.text or "") and "2026年12月4日前" in (cancelled.text or "")

async def test_the_reviewer_schedules_and_records_a_hearing_in_the_chat(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = await in_review(rstore, clock)
    leader = Updates(LEADER_OIL.id)
    await feed(application, leader.tap(f"pr:hrs:{number}"))
    assert "第一行：听证日期" in request.last_to(LEADER_OIL.id).text
    await feed(application, leader.text("下周四\n会议室"))
    assert "未能识别" in request.last_to(LEADER_OIL.id).text  # the question stays
    await feed(application, leader.text("2026-11-12\n油田公司信访办会议室\n请携带考勤记录"))
    assert "已为信访事项" in request.last_to(LEADER_OIL.id).text
    assert [d for _, d in request.last_to(LEADER_OIL.id).buttons()] == [f"rv:hh:{number}", f"rv:hc:{number}"]
    assert rows(rstore, "SELECT held_on, place, note FROM hearings") == [
        ("2026-11-12", "油田公司信访办会议室", "请携带考勤记录")]
    # The review card now offers held / cancel instead of scheduling.
    buttons = [b.callback_data for row in opinion_markup("zh", number, True).inline_keyboard for b in row]
    assert f"rv:hh:{number}" in buttons and f"rv:hc:{number}" in buttons and f"pr:hrs:{number}" not in buttons
    # An officer of the unit that decided may not record it.
    await feed(application, Updates(1001).text(f"/hearing {number} 已举行"))
    assert "听证由复查（复核）机关、单位的工作人员安排" in request.last_to(1001).text
    await feed(application, leader.text(f"/hearing {number}"))
    assert request.last_to(LEADER_OIL.id).text.startswith("用法：")
    clock.advance(days=10)
    await feed(application, Updates(OFFICER_OIL).tap(f"rv:hh:{number}"))
    assert "期限暂停 10 日，复查期限顺延至2026年12月14日" in request.last_to(OFFICER_OIL).text
    await feed(application, leader.text(f"/hearing {number} 2026-11-20 油田公司会议室 第二次听证"))
    assert "已为信访事项" in request.last_to(LEADER_OIL.id).text
    await feed(application, leader.text(f"/hearing {number} 取消"))
    assert "已取消信访事项" in request.last_to(LEADER_OIL.id).text
    assert rows(rstore, "SELECT ended FROM hearings ORDER BY id") == [("held",), ("cancelled",)]



@pytest.mark.parametrize("language_code", ["zh-hans", "en"])
async def test_a_refused_hearing_answer_keeps_the_question_only_when_the_words_are_at_fault(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock, language_code: str
) -> None:
    """A past date (BadInput) is answered once and asked again; a hearing already pending closes the question."""
    application, request = app
    lang = "en" if language_code == "en" else "zh"
    number = await in_review(rstore, clock)
    leader = Updates(LEADER_OIL.id, language_code=language_code)
    await feed(application, leader.tap(f"pr:hrs:{number}"))
    sent = len(request.texts_to(LEADER_OIL.id))
    await feed(application, leader.text("2026-10-01\n油田公司信访办会议室"))
    assert request.texts_to(LEADER_OIL.id)[sent:] == [
        t(lang, "errors.hearing_date", date="2026年10月1日" if lang == "zh" else "1 October 2026")]
    assert await rstore.cases.get_prompt(uid(LEADER_OIL)) is not None  # the question stands
    await rstore.review.schedule_hearing(LEADER_OIL, number, date(2026, 11, 12), "会议室")  # meanwhile, elsewhere
    await feed(application, leader.text("2026-11-13\n油田公司信访办会议室"))
    assert request.texts_to(LEADER_OIL.id)[sent + 1:] == [t(lang, "errors.hearing_pending", number=number)]
    assert await rstore.cases.get_prompt(uid(LEADER_OIL)) is None  # closed: the next text is not taken as a hearing
    assert rows(rstore, "SELECT held_on FROM hearings") == [("2026-11-12",)]
