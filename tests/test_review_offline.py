"""The petitioner's and the leaders' side in Telegram, update by update with an offline Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from telegram.ext import Application

from handlers.notifications import Outgoing, render
from handlers.render import deadline_line
from store.clock import FakeClock
from store.models import Rating, ReviewOutcome, Status
from store.services import Services
from store.workflow import Action
from tests.conftest import REVIEW_PARTS, draft, petitioner, uid
from tests.offline import OfflineRequest, Updates, buttons_of, feed, offline_app
from tests.review_fixture import (
    LEADER_HQ,
    LEADER_OIL,
    LEADER_P1,
    LEADER_REF,
    OFFICER_P1,
    answer_review_form,
    at,
    decided_case,
    deliver_opinion,
    employee,
    ids,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]
USER = 5001


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore) as running:
        yield running



async def delivered(store: Services, chat_id: int | None, kind: str | None = None) -> list[Outgoing]:
    """Render (and mark sent) the pending notifications of one chat, as the outbox sender would."""
    assert chat_id is not None, "a chat to look in"
    out: list[Outgoing] = []
    for item in await store.outbox.pending_notifications(1000):
        if item.chat_id == chat_id and (kind is None or item.kind == kind):
            out += await render(item, store)
            await store.outbox.mark_sent(item.id)
    return out


def data_of(message: Outgoing) -> list[str]:
    assert message.markup is not None
    return [data for _, data in buttons_of(message.markup)]


async def test_rate_dissatisfied_request_review_and_the_reviewer_answers(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = await decided_case(rstore, clock)
    (ask,) = await delivered(rstore, USER, "rv_rate")
    assert f"<code>{number}</code>" in (ask.text or "") and "请于2026年12月2日前评价" in (ask.text or "")
    assert data_of(ask) == [f"rv:rate:s:{number}", f"rv:rate:b:{number}", f"rv:rate:d:{number}"]

    user = Updates(USER)
    await feed(application, user.tap(f"rv:rate:d:{number}"))
    answer = request.last_to(USER)
    assert "不满意" in answer.text and "2026年12月2日前申请复查" in answer.text
    assert [d for _, d in answer.buttons()] == [f"pr:rvq:{number}", f"rv:acc:{number}", f"pr:rvc:{number}"]

    await feed(application, user.tap(f"pr:rvq:{number}"))
    assert "申请复查" in request.last_to(USER).text and "理由" in request.last_to(USER).text
    await feed(application, user.text("加班记录与工资条不符 <b>&</b>"))
    assert "复查申请已提交" in request.last_to(USER).text
    case = await rstore.cases.case_for(employee(), number)
    assert case.status is Status.REVIEW and case.rating == "dissatisfied"

    card = await delivered(rstore, LEADER_OIL.id, "rv_review_card")
    assert "复查申请" in (card[0].text or "") and "加班记录与工资条不符 &lt;b&gt;&amp;&lt;/b&gt;" in (card[0].text or "")
    assert "经核实，加班费已按规定发放。" in "".join(m.text or "" for m in card)
    # The 复查 outcomes: 维持, 撤销, 变更, 责令重办.
    assert data_of(card[-1])[:4] == [f"pr:rvm:{number}", f"pr:rvk:{number}", f"pr:rvg:{number}", f"pr:rvd:{number}"]

    leader = Updates(LEADER_OIL.id)
    await feed(application, leader.tap(f"pr:rvm:{number}"))
    # The form: the petitioner's request to the reviewing body offered (their reason), then facts, basis, opinion.
    first = request.last_to(LEADER_OIL.id)
    assert "信访请求" in first.text and "复查结论：维持" in first.text
    assert "加班记录与工资条不符 &lt;b&gt;&amp;&lt;/b&gt;" in first.text
    screen = await answer_review_form(application, request, leader, opinion="经复查，原处理意见依据充分。")
    assert "请选择参加集体研究的人员" in screen.text  # 集体研究, then issued
    await feed(application, leader.tap(f"rv:so:{number}"))
    assert "已就信访事项" in request.last_to(LEADER_OIL.id).text
    opinion = await delivered(rstore, USER, "rv_petitioner")
    assert "复查意见：<b>维持</b>" in (opinion[0].text or "") and "依据充分" in (opinion[0].text or "")
    assert data_of(opinion[-1]) == [f"pr:rrq:{number}", f"rv:acc:{number}"]

    await feed(application, user.tap(f"rv:acc:{number}"))
    assert "已办结" in request.last_to(USER).text
    assert (await rstore.cases.case_for(employee(), number)).status is Status.CLOSED


async def test_basically_satisfied_keeps_the_review_right_and_a_comment_reaches_the_officer(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = await decided_case(rstore, clock)
    user = Updates(USER, language_code="en")
    await feed(application, user.tap(f"rv:rate:b:{number}"))
    answer = request.last_to(USER)
    assert "Basically satisfied" in answer.text and "does not affect your rights" in answer.text
    assert ("Request a review", f"pr:rvq:{number}") in answer.buttons()
    await feed(application, user.tap(f"pr:rvc:{number}"))
    await feed(application, user.text("Handled quickly, thank you."))
    assert "comment" in request.last_to(USER).text
    staff = await delivered(rstore, OFFICER_P1.id, "rv_staff")
    assert [m.text for m in staff] == [
        f"信访人对信访事项 <code>{number}</code> 的评价：<b>基本满意</b>。",
        f"信访人对信访事项 <code>{number}</code> 的评价意见：\nHandled quickly, thank you.",
    ]
    await feed(application, user.tap(f"rv:rate:s:{number}"))
    assert request.last_to(USER).text == "This petition has already been rated."


async def test_late_review_request_is_refused_with_the_reason(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = await decided_case(rstore, clock)
    await rstore.review.rate(employee(), number, Rating.DISSATISFIED)
    clock.advance(days=31)
    user = Updates(USER)
    await feed(application, user.tap(f"pr:rvq:{number}"))
    await feed(application, user.text("不服"))
    assert request.last_to(USER).text == (
        "申请期限已过：应在收到意见之日起 30 日内（即2026年12月2日前）提出，现已逾期，不再受理。"
    )


async def test_forged_and_odd_buttons_change_nothing(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock, tmp_path: Path
) -> None:
    application, request = app
    number = await decided_case(rstore, clock)
    stranger = Updates(5999)
    await feed(application, stranger.tap(f"rv:rate:s:{number}"))
    assert "未找到编号" in request.last_to(5999).text
    await feed(application, stranger.tap(f"rv:acc:{number}"))
    await feed(application, stranger.tap("ld:ack:1"))
    assert request.last_to(5999).text == "该命令仅供信访工作人员使用。"
    await feed(application, stranger.text(f"/review {number} support 予以支持"))
    assert request.last_to(5999).text == "该命令仅供信访工作人员使用。"
    await feed(application, Updates(USER).tap(f"rv:rate:x:{number}"))
    assert "已失效" in request.last_to(USER).text
    await feed(application, Updates(USER).tap("rv:rate"))
    await feed(application, Updates(LEADER_HQ.id).tap("ld:ack:abc"))
    assert "已失效" in request.last_to(LEADER_HQ.id).text
    await feed(application, Updates(LEADER_HQ.id).tap("rv:zzz"))
    case = await rstore.cases.case_for(employee(), number)
    assert case.status is Status.DECIDED and case.rating is None


async def test_review_command_for_the_designated_reviewer_only(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    number = await decided_case(rstore, clock)
    await rstore.review.request_review(employee(), number, "不服")
    await feed(application, Updates(LEADER_P1.id).text(f"/review {number} 维持 维持原处理意见"))
    assert "您不是办理人" in request.last_to(LEADER_P1.id).text
    await feed(application, Updates(LEADER_OIL.id).text(f"/review {number}"))
    assert request.last_to(LEADER_OIL.id).text.startswith("用法：/review")
    await feed(application, Updates(LEADER_OIL.id).text(f"/review {number} maybe 不知道"))
    assert request.last_to(LEADER_OIL.id).text.startswith("用法：/review")
    await feed(application, Updates(LEADER_OIL.id).text(f"/review {number} 变更 经复查，应补发加班费 2 天。"))
    screen = await answer_review_form(application, request, Updates(LEADER_OIL.id))
    assert "请选择参加集体研究的人员" in screen.text
    await feed(application, Updates(LEADER_OIL.id).tap(f"rv:so:{number}"))
    assert "已就信访事项" in request.last_to(LEADER_OIL.id).text
    case = await rstore.cases.case_for(employee(), number)
    assert case.review_decision is ReviewOutcome.CHANGE
    events = await rstore.cases.timeline(case.id, public_only=True)
    assert events[-1].body == "经复查，应补发加班费 2 天。"


async def test_alerts_list_and_acknowledge(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    await feed(application, Updates(LEADER_HQ.id).text("/alerts"))
    assert "目前没有" in request.last_to(LEADER_HQ.id).text
    for user in range(5001, 5006):
        await rstore.cases.submit(petitioner(user), draft(), f"k{user}")
    (notice,) = await delivered(rstore, LEADER_HQ.id, "ld_alert")
    assert "同类问题预警" in (notice.text or "") and "72 小时内已有 5 名职工" in (notice.text or "")
    assert "系统不会自动启动" in (notice.text or "")  # a warning for a leader to judge
    assert "第一采油厂" in (notice.text or "") and "工资福利" in (notice.text or "")
    ack = data_of(notice)[0]
    assert ack.startswith("ld:ack:")

    await feed(application, Updates(OFFICER_P1.id).text("/alerts"))
    assert request.last_to(OFFICER_P1.id).text == "该功能仅供领导和管理员使用。"
    await feed(application, Updates(LEADER_REF.id).tap(ack))
    assert "未找到该预警" in request.last_to(LEADER_REF.id).text
    await feed(application, Updates(LEADER_HQ.id).text("/alerts"))
    listing = request.last_to(LEADER_HQ.id)
    assert "涉及 5 人" in listing.text and (listing.buttons()[0][1] == ack)
    await feed(application, Updates(LEADER_HQ.id).tap(ack))
    assert "已确认集体访预警" in request.last_to(LEADER_HQ.id).text
    await feed(application, Updates(LEADER_HQ.id).text("/alerts"))
    assert "目前没有" in request.last_to(LEADER_HQ.id).text

    clock.advance(days=91)
    await feed(application, Updates(LEADER_HQ.id).text("/alerts"))
    long = request.last_to(LEADER_HQ.id).text
    assert "长期未办结（超过 90 天）</b>：5 件" in long and "已 91 天" in long


async def test_repeat_flag_and_history_on_the_officers_card(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    first = (await rstore.cases.submit(petitioner(), draft(subject="十月加班费"), "a")).case.number
    clock.advance(days=30)
    second = (await rstore.cases.submit(petitioner(), draft(subject="仍未发放"), "b")).case.number
    cards = [m.text or "" for m in await delivered(rstore, OFFICER_P1.id, "case_card")]
    assert "重复信访" not in cards[0]
    # Proposed on the card, not marked: the officer confirms it, and the card then says so.
    assert f"可能为重复信访：<code>{first}</code>（十月加班费）" in cards[1] and "已确认" not in cards[1]
    await rstore.repeats.confirm(OFFICER_P1, second, first)
    await feed(application, Updates(OFFICER_P1.id).text(f"/case {second}"))
    card = "\n".join(request.texts_to(OFFICER_P1.id))
    assert f"已确认与 <code>{first}</code> 为同一事项" in card and f"/history {second}" in card
    assert "可能为重复信访" not in card
    await feed(application, Updates(OFFICER_P1.id).text(f"/history {second}"))
    history = request.last_to(OFFICER_P1.id).text
    assert "共 2 件" in history and history.index(second) < history.index(first)
    assert "仍未发放" in history and "十月加班费" in history
    await feed(application, Updates(LEADER_REF.id).text(f"/history {second}"))
    assert "未找到编号" in request.last_to(LEADER_REF.id).text
    await feed(application, Updates(USER).text(f"/history {second}"))
    assert request.last_to(USER).text == "该命令仅供信访工作人员使用。"


async def test_reminder_escalation_and_digest_texts(rstore: Services, clock: FakeClock) -> None:
    number = (await rstore.cases.submit(petitioner(), draft(), "k")).case.number
    await rstore.cases.set_language(uid(LEADER_P1), "en")
    for day in (14, 17, 18):
        clock.set(at(date(2026, 11, day)))
        await rstore.review.sweep()
    before, due = await delivered(rstore, OFFICER_P1.id, "rv_remind")
    assert before.text == (
        f"⏰ 提醒：信访事项 <code>{number}</code>（第一采油厂 · 工资福利）受理告知期限为2026年11月17日，即将到期，请抓紧办理。"
    )
    assert "期限为今天（2026年11月17日）" in (due.text or "") and data_of(due) == [f"st:open:{number}"]
    (escalation,) = await delivered(rstore, LEADER_P1.id, "rv_escalate")
    assert escalation.text == (
        f"⚠️ <b>Overdue warning</b>: the acceptance notice of petition <code>{number}</code> (No. 1 Plant · "
        "Wages and benefits) is 1 days overdue (deadline 17 November 2026). Please see that it is handled."
    )
    clock.set(at(date(2026, 11, 23)))
    await rstore.review.sweep()
    digest = await delivered(rstore, LEADER_HQ.id, "ld_digest")
    assert [("2026-W4" in (m.text or "")) for m in digest] == [True, True, True]
    assert "每周信访工作简报</b>（2026-W48）" in (digest[-1].text or "")
    assert "当前：超期未办 1 件" in (digest[-1].text or "")


async def test_decided_case_deadlines_are_shown_to_both_sides(rstore: Services, clock: FakeClock) -> None:
    number = await decided_case(rstore, clock)
    case = await rstore.cases.case_for(employee(), number)
    assert deadline_line(case, "zh") == "评价期限：2026年12月2日；如不服处理意见，可在2026年12月2日前申请复查"
    clock.advance(days=5)
    case = await rstore.review.request_review(employee(), number, "不服")
    assert deadline_line(case, "zh") == "复查期限：2026年12月7日"
    assert deadline_line(case, "en") == "Review due by 7 December 2026"
    clock.advance(days=2)
    await rstore.review.review_opinion(LEADER_OIL, number, ReviewOutcome.MAINTAIN, "维持", participants=ids(LEADER_OIL), parts=REVIEW_PARTS)
    await deliver_opinion(rstore)
    case = await rstore.cases.case_for(employee(), number)
    assert deadline_line(case, "zh") == "可在2026年12月9日前申请复核"  # 11-09 + 30 days
    await rstore.review.request_review(employee(), number, "不服")
    case = await rstore.review.review_opinion(LEADER_HQ, number, ReviewOutcome.MAINTAIN, "维持", participants=ids(LEADER_HQ), parts=REVIEW_PARTS)
    assert deadline_line(case, "zh") == "已复核：以同一事实和理由再次提出的，不再受理；有新的事实和理由的，可另行提出"
    final = await delivered(rstore, USER, "rv_petitioner")
    assert "不再受理" in (final[-1].text or "")
    assert Action.REREVIEW_OPINION.value == "rereview_opinion"
