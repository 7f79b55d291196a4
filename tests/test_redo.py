"""重办 (/redo): after 不满意 and before any review request, a leader returns the case to handling.

Organisation (tests/review_fixture.py): oilfield (陈经理 3002) ▸ plant-1 (张厂长 3003, officer
王干事 1001); refinery (吴经理 3004). Clock: 2026-11-02 09:00 local unless set.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date

import pytest
from telegram.ext import Application

from bot.commands import LEADER_COMMANDS, OFFICER_COMMANDS
from handlers.notifications import render
from store.clock import FakeClock
from store.errors import NotFound, Refused
from store.models import Decision, Rating, Status
from store.services import Services
from store.sqltext import only_row
from store.supervision import LEVELS, WarningLevel, level_sql, share_used, warning_level
from store.workflow import Action
from tests.conftest import OPINION_PARTS, rows
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import (
    LEADER_OIL,
    LEADER_P1,
    LEADER_REF,
    OFFICER_P1,
    at,
    decided_case,
    deliver_opinion,
    employee,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]


async def test_redo_returns_the_case_to_handling_and_the_windows_start_again(
    rstore: Services, clock: FakeClock
) -> None:
    number = await decided_case(rstore, clock)
    await rstore.review.rate(employee(5001), number, Rating.DISSATISFIED)
    clock.set(at(date(2026, 11, 10)))
    case = await rstore.supervision.redo(LEADER_P1, number, "答复未核实加班时长，重新核查")
    assert (case.status, case.answer_due, case.rating, case.decision) == (
        Status.IN_PROGRESS, date(2026, 12, 10), None, None)  # redo_days = 30
    # The petitioner is told, with the new deadline and the reason; the handler gets the card.
    items = [i for i in await rstore.outbox.pending_notifications(limit=1000) if i.event_id is not None]
    redo_items = [i for i in items if i.kind in ("petitioner_event", "case_card")
                  and rows(rstore, "SELECT action FROM events WHERE id = ?", i.event_id) == [("redo",)]]
    assert sorted((i.kind, i.chat_id) for i in redo_items) == [("case_card", OFFICER_P1.id),
                                                               ("petitioner_event", 5001)]
    petitioner_item = next(i for i in redo_items if i.kind == "petitioner_event")
    text = str((await render(petitioner_item, rstore))[0].text)
    assert "已责令重新办理，将于2026年12月10日前重新答复您" in text and text.endswith("理由：答复未核实加班时长，重新核查")

    # The new opinion opens the rating and review windows again.
    await rstore.cases.act(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="经重新核查，予以补发。")
    await deliver_opinion(rstore)
    case = await rstore.cases.case_for(OFFICER_P1, number)
    assert (case.status, case.rating_due, case.review_request_due) == (
        Status.DECIDED, date(2026, 12, 10), date(2026, 12, 10))
    await rstore.review.rate(employee(5001), number, Rating.SATISFIED)
    assert (await rstore.cases.case_for(OFFICER_P1, number)).status is Status.DECIDED  # a rating closes no right

    # Redo rate: both cases decided in November, one of them redone: 50 %.
    other = await decided_case(rstore, clock, key="b", user=5002)
    assert other
    report = await rstore.indicators.indicators(LEADER_OIL, "plant-1", "2026-11")
    row = report.rows[0]
    assert (row.decided, row.redone, row.redo_pct) == (2, 1, 50.0)


async def test_who_may_redo_and_when(rstore: Services, clock: FakeClock) -> None:
    number = await decided_case(rstore, clock)
    with pytest.raises(Refused) as unrated:
        await rstore.supervision.redo(LEADER_P1, number, "重办")
    assert unrated.value.code == "redo_dissatisfied"
    await rstore.review.rate(employee(5001), number, Rating.DISSATISFIED)
    with pytest.raises(Refused) as officer:
        await rstore.supervision.redo(OFFICER_P1, number, "重办")
    assert officer.value.code == "forbidden"
    with pytest.raises(NotFound):
        await rstore.supervision.redo(LEADER_REF, number, "重办")  # out of scope
    with pytest.raises(Refused) as empty:
        await rstore.supervision.redo(LEADER_P1, number, " ")
    assert empty.value.code == "text_required"
    await rstore.review.request_review(employee(5001), number, "不服处理意见")
    with pytest.raises(Refused) as reviewed:
        await rstore.supervision.redo(LEADER_P1, number, "重办")  # a review was asked: no redo
    assert reviewed.value.code == "wrong_status"
    assert rows(rstore, "SELECT count(*) FROM events WHERE action = 'redo'") == [(0,)]


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore, OfflineRequest()) as running:
        yield running


async def test_the_command(app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock) -> None:
    application, request = app
    number = await decided_case(rstore, clock)
    await feed(application, Updates(LEADER_P1.id).text(f"/redo {number}"))
    assert request.texts_to(LEADER_P1.id)[-1] == "用法：/redo 编号 重办理由"
    await feed(application, Updates(LEADER_P1.id).text(f"/redo {number} 重新核查"))
    assert request.texts_to(LEADER_P1.id)[-1].startswith("只有信访人评价为“不满意”")
    await rstore.review.rate(employee(5001), number, Rating.DISSATISFIED)
    await feed(application, Updates(LEADER_P1.id).text(f"/redo {number.lower()} 重新核查"))
    assert request.texts_to(LEADER_P1.id)[-1] == (
        f"已责令重新办理信访事项 <code>{number}</code>，须于2026年12月2日前重新答复信访人。"
    )


def test_the_menus() -> None:
    assert "redo" in LEADER_COMMANDS and "redo" not in OFFICER_COMMANDS


async def test_warnings_after_a_redo_are_graded_against_the_redo_limit(rstore: Services, clock: FakeClock) -> None:
    """30 days to answer again (redo_days), not the 60 of the first handling: on the day of the redo nothing is used."""
    number = await decided_case(rstore, clock)
    await rstore.review.rate(employee(5001), number, Rating.DISSATISFIED)
    clock.set(at(date(2026, 11, 10)))
    case = await rstore.supervision.redo(LEADER_P1, number, "重新核查")
    assert (case.answer_due, case.handle_limit) == (date(2026, 12, 10), 30)

    async def levels_on(day: date) -> tuple[WarningLevel, WarningLevel, int | None]:
        clock.set(at(day))
        loaded = await rstore.cases.case_for(OFFICER_P1, number)
        async with rstore.db.read() as conn:
            async with conn.execute(f"SELECT {level_sql(rstore.org, day, rstore.db.dialect)} FROM cases WHERE id = ?", (loaded.id,)) as cur:
                (rank,) = await only_row(cur)
        return warning_level(loaded, rstore.org, day), LEVELS[int(rank)], share_used(loaded, rstore.org, day)

    # (Against 60 days, the redo's day would already be 50 % used: 预警.)
    assert await levels_on(date(2026, 11, 10)) == (WarningLevel.NORMAL, WarningLevel.NORMAL, 0)
    assert await levels_on(date(2026, 11, 24)) == (WarningLevel.NORMAL, WarningLevel.NORMAL, 47)
    assert await levels_on(date(2026, 11, 25)) == (WarningLevel.NOTICE, WarningLevel.NOTICE, 50)
    assert await levels_on(date(2026, 12, 3)) == (WarningLevel.WARNING, WarningLevel.WARNING, 77)
    assert await levels_on(date(2026, 12, 8)) == (WarningLevel.SERIOUS, WarningLevel.SERIOUS, 93)
    assert await levels_on(date(2026, 12, 11)) == (WarningLevel.OVERDUE, WarningLevel.OVERDUE, 103)
    # An extension after the redo lengthens the redo's limit with its deadline: 40 days to 2026-12-20,
    # a Sunday, so the next working day, 2026-12-21 (store/workdays.py).
    clock.set(at(date(2026, 12, 3)))
    extended = await rstore.cases.act(OFFICER_P1, number, Action.EXTEND, days=10, body="需补充调查")
    assert (extended.answer_due, extended.handle_limit) == (date(2026, 12, 21), 40)
    assert await levels_on(date(2026, 12, 3)) == (WarningLevel.NOTICE, WarningLevel.NOTICE, 55)
    # The sweep tells 警告 once, on the day the redo's limit says so (75 % of 40 days: 10 left).
    clock.set(at(date(2026, 12, 10)))
    await rstore.review.sweep()
    assert rows(rstore, "SELECT params FROM outbox WHERE kind = 'sv_warning'") == []
    clock.set(at(date(2026, 12, 11)))
    await rstore.review.sweep()
    assert [json.loads(p)["level"] for (p,) in rows(rstore, "SELECT params FROM outbox WHERE kind = 'sv_warning'")] == [
        "warning"]
