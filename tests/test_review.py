"""Rating, review (复查) and re-review (复核): who, when, and what the petitioner is told."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from store.clock import FakeClock
from store.errors import NotFound, Refused
from store.models import Rating, ReviewOutcome, Status
from store.services import Services
from tests.conftest import REVIEW_PARTS, rows
from tests.review_fixture import (
    LEADER_HQ,
    LEADER_OIL,
    LEADER_P1,
    LEADER_REF,
    OFFICER_P1,
    at,
    decided_case,
    deliver_opinion,
    employee,
    ids,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]



async def test_a_written_opinion_asks_the_petitioner_to_rate_it(rstore: Services, clock: FakeClock,
                                                                 tmp_path: Path) -> None:
    number = await decided_case(rstore, clock)
    assert rows(rstore, "SELECT chat_id, kind FROM outbox WHERE chat_id = 5001 ORDER BY id") == [
        (5001, "petitioner_event"), (5001, "document"),  # accepted: the notice, then the 受理告知书
        (5001, "petitioner_event"), (5001, "document"), (5001, "rv_rate"),  # the opinion, its 处理意见书, the rating
    ]
    case = await rstore.cases.case_for(employee(), number)
    assert case.rating is None and case.rating_due == date(2026, 12, 2)


@pytest.mark.parametrize("rating", [Rating.SATISFIED, Rating.BASIC])
async def test_satisfied_is_recorded_and_closes_no_right(rstore: Services, clock: FakeClock, tmp_path: Path,
                                                         rating: Rating) -> None:
    """A rating is an evaluation, not a waiver (Art. 35): the case stays decided, 复查 stays open."""
    number = await decided_case(rstore, clock)
    case = await rstore.review.rate(employee(), number, rating)
    assert case.status is Status.DECIDED and case.rating == rating.value and case.closed_at is None
    assert (await rstore.cases.case_for(employee(), number)).rating is rating  # read back as the enum
    path = rstore
    assert rows(path, "SELECT action, actor_role, status_after FROM events WHERE id > 3 ORDER BY id") == [
        ("serve", "system", "decided"), ("rate", "petitioner", "decided"),  # 送达 in chat, then the rating
    ]
    assert rows(path, "SELECT chat_id, kind FROM outbox WHERE kind = 'rv_staff'") == [(1001, "rv_staff")]
    with pytest.raises(Refused) as again:
        await rstore.review.rate(employee(), number, Rating.DISSATISFIED)
    assert again.value.code == "already_rated"
    commented = await rstore.review.comment_rating(employee(), number, "办理及时，态度很好")
    assert commented.status is Status.DECIDED
    with pytest.raises(Refused) as twice:
        await rstore.review.comment_rating(employee(), number, "再补充一句")
    assert twice.value.code == "already_commented"
    asked = await rstore.review.request_review(employee(), number, "还是不满意")
    assert asked.status is Status.REVIEW and asked.rating == rating.value


async def test_only_the_petitioner_rates_and_only_their_own_case(rstore: Services, clock: FakeClock) -> None:
    number = await decided_case(rstore, clock)
    with pytest.raises(NotFound):
        await rstore.review.rate(employee(5999), number, Rating.SATISFIED)
    with pytest.raises(Refused) as staff:
        await rstore.review.rate(OFFICER_P1, number, Rating.SATISFIED)
    assert staff.value.code == "forbidden"
    with pytest.raises(Refused) as early:
        await rstore.review.comment_rating(employee(), number, "先评论")
    assert early.value.code == "rate_first"
    assert (await rstore.cases.case_for(employee(), number)).rating is None


async def test_review_and_re_review_go_up_one_level_each_and_end_final(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    path = rstore
    number = await decided_case(rstore, clock)  # a plant-1 case, decided 2026-11-02
    rated = await rstore.review.rate(employee(), number, Rating.DISSATISFIED)
    assert rated.status is Status.DECIDED and rated.review_request_due == date(2026, 12, 2)

    clock.set(at(date(2026, 12, 2)))  # the last day of the window
    case = await rstore.review.request_review(employee(), number, "加班记录与工资条不符")
    assert case.status is Status.REVIEW and case.review_due == date(2027, 1, 1) and case.review_level == 1
    # The review goes to the leaders of the parent unit (oilfield), not plant-1's own leader.
    assert rows(path, "SELECT chat_id FROM outbox WHERE kind = 'rv_review_card'") == [(LEADER_OIL.id,)]
    for wrong in (LEADER_P1, LEADER_HQ, OFFICER_P1):
        with pytest.raises(Refused) as refused:
            await rstore.review.review_opinion(wrong, number, ReviewOutcome.CHANGE, "意见", participants=ids(wrong), parts=REVIEW_PARTS)
        assert refused.value.code in ("not_reviewer", "forbidden")
    with pytest.raises(NotFound):
        await rstore.review.review_opinion(LEADER_REF, number, ReviewOutcome.CHANGE, "意见", participants=ids(LEADER_REF), parts=REVIEW_PARTS)  # another unit: not even visible
    with pytest.raises(Refused) as empty:
        await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.CHANGE, "  ", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    assert empty.value.code == "opinion_required"

    clock.advance(days=10)  # 2026-12-12
    reviewed = await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "经复查，原处理意见有依据。", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    assert reviewed.status is Status.DECIDED and reviewed.review_decision is ReviewOutcome.MAINTAIN
    assert reviewed.rereview_request_due is None  # the 复核 window opens when the review opinion is served
    await deliver_opinion(rstore)
    assert (await rstore.cases.case_for(employee(), number)).rereview_request_due == date(2027, 1, 11)
    assert rows(path, "SELECT kind FROM outbox WHERE chat_id = 5001 ORDER BY id DESC LIMIT 2") == [
        ("document",), ("rv_petitioner",)  # the review opinion, then its 复查意见书
    ]

    clock.set(at(date(2027, 1, 11)))
    again = await rstore.review.request_review(employee(), number, "复查未核对考勤记录")
    assert again.status is Status.REREVIEW and again.rereview_due == date(2027, 2, 10) and again.review_level == 2
    # Re-review: one level higher than the review (hq).
    assert rows(path, "SELECT chat_id FROM outbox WHERE kind = 'rv_review_card' ORDER BY id") == [
        (LEADER_OIL.id,), (LEADER_HQ.id,),
    ]
    with pytest.raises(Refused) as not_them:
        await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.CHANGE, "意见", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    assert not_them.value.code == "not_reviewer"
    final = await rstore.review.review_opinion(LEADER_HQ, number, ReviewOutcome.MAINTAIN, "经复核，维持复查意见。", participants=ids(LEADER_HQ), parts=REVIEW_PARTS)
    assert final.status is Status.CLOSED and final.final and final.rereview_decision is ReviewOutcome.MAINTAIN
    with pytest.raises(Refused) as closed:
        await rstore.review.request_review(employee(), number, "再次申请")
    assert closed.value.code == "review_final"
    assert rows(path, "SELECT action, status_after FROM events WHERE action LIKE '%review%' ORDER BY id") == [
        ("request_review", "review"), ("review_opinion", "decided"),
        ("request_rereview", "rereview"), ("rereview_opinion", "closed"),
    ]
    assert (await rstore.verify_journal()).ok


async def test_a_review_request_after_thirty_days_is_refused_with_the_reason(
    rstore: Services, clock: FakeClock
) -> None:
    number = await decided_case(rstore, clock)
    await rstore.review.rate(employee(), number, Rating.DISSATISFIED)
    clock.set(at(date(2026, 12, 3)))  # day 31 after the opinion; the sweep has not run yet
    with pytest.raises(Refused) as late:
        await rstore.review.request_review(employee(), number, "不服")
    assert late.value.code == "review_window_closed"
    assert late.value.params == {"due": "2026-12-02", "days": 30}
    assert (await rstore.cases.case_for(employee(), number)).status is Status.DECIDED
    # After the sweep has closed the case the answer is the same reason, not "wrong status".
    await rstore.review.sweep()
    assert (await rstore.cases.case_for(employee(), number)).status is Status.CLOSED
    with pytest.raises(Refused) as still:
        await rstore.review.request_review(employee(), number, "不服")
    assert still.value.code == "review_window_closed"


async def test_a_re_review_request_after_thirty_days_is_refused(rstore: Services, clock: FakeClock) -> None:
    number = await decided_case(rstore, clock)
    await rstore.review.request_review(employee(), number, "不服")  # unrated: a review request counts as 不满意
    assert (await rstore.cases.case_for(employee(), number)).rating == "dissatisfied"
    await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    await deliver_opinion(rstore)
    clock.advance(days=31)
    with pytest.raises(Refused) as late:
        await rstore.review.request_review(employee(), number, "不服复查")
    assert late.value.code == "review_window_closed" and late.value.params["days"] == 30


async def test_no_rating_within_thirty_days_closes_as_not_rated(
    rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    path = rstore
    number = await decided_case(rstore, clock)
    clock.advance(days=30)  # 2026-12-02: still within the window
    assert (await rstore.review.sweep()).closed == 0
    clock.advance(days=1)
    report = await rstore.review.sweep()
    assert report.closed == 1
    case = await rstore.cases.case_for(employee(), number)
    assert case.status is Status.CLOSED and case.rating == "none"
    assert [json.loads(data)["reason"] for (data,) in rows(path, "SELECT data FROM events WHERE action = 'close'")] \
        == ["not_rated"]
    assert rows(path, "SELECT kind FROM outbox WHERE chat_id = 5001 ORDER BY id DESC LIMIT 1") == [("rv_petitioner",)]
    assert (await rstore.review.sweep()).closed == 0  # once
    with pytest.raises(Refused) as late:
        await rstore.review.rate(employee(), number, Rating.SATISFIED)
    assert late.value.code == "rating_window_closed"


async def test_dissatisfied_without_a_review_request_closes_when_the_window_ends(
    rstore: Services, clock: FakeClock
) -> None:
    number = await decided_case(rstore, clock)
    await rstore.review.rate(employee(), number, Rating.DISSATISFIED)
    clock.advance(days=31)
    assert (await rstore.review.sweep()).closed == 1
    case = await rstore.cases.case_for(employee(), number)
    assert case.status is Status.CLOSED and case.rating == "dissatisfied"


async def test_accepting_the_review_opinion_closes_the_case(rstore: Services, clock: FakeClock) -> None:
    number = await decided_case(rstore, clock)
    with pytest.raises(Refused) as first:
        await rstore.review.accept_outcome(employee(), number)
    assert first.value.code == "rate_first"
    await rstore.review.request_review(employee(), number, "不服")
    await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.CHANGE, "予以支持，补发加班费。", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    case = await rstore.review.accept_outcome(employee(), number)
    assert case.status is Status.CLOSED and not case.final
