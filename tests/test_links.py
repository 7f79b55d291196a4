"""Linked and merged cases (/link, /unlink, /merge): both backends, the store and the chat.

Organisation (tests/review_fixture.py): hq (刘总 3001) ▸ oilfield (陈经理 3002) ▸ plant-1
(张厂长 3003, officer 王干事 1001); plant-2 (officer 李干事 1002); refinery (吴经理 3004, officer 1003).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from telegram.ext import Application

from bot.commands import LEADER_COMMANDS, OFFICER_COMMANDS
from bot.outbox import OutboxSender
from handlers.notifications import render
from store.clock import FakeClock
from store.errors import NotFound, Refused
from store.models import Status
from store.services import Services
from store.workflow import Action
from tests.conftest import draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.review_fixture import (
    LEADER_OIL,
    LEADER_P1,
    OFFICER_P1,
    OFFICER_P2,
    at,
    employee,
    rorg,
    rstore,
)

__all__ = ["rorg", "rstore"]

MAIN_USER, DUP_USER, OTHER_USER = 5001, 5002, 5003


async def submit(store: Services, user: int, key: str, **fields: object) -> str:
    return (await store.cases.submit(petitioner(user, f"信访人{user}"), draft(**fields), key)).case.number


async def pending_texts(store: Services, kind: str) -> list[tuple[int, str]]:
    items = [i for i in await store.outbox.pending_notifications(limit=1000) if i.kind == kind]
    return [(i.chat_id, str((await render(i, store))[0].text)) for i in items]


# ------------------------------------------------------------------ store


async def test_merge_closes_the_duplicate_and_its_petitioner_follows_the_main_case(rstore: Services) -> None:
    main = await submit(rstore, MAIN_USER, "main")
    dup = await submit(rstore, DUP_USER, "dup")
    main_case, dup_case = await rstore.links.merge(OFFICER_P1, main.lower(), dup, "同一车间同一月份的加班费问题")
    assert dup_case.status is Status.MERGED and dup_case.merged_into == main_case.id
    assert dup_case.closed_at is not None and not dup_case.is_open

    # Both petitioners are told, each their own words; the main's petitioner is not told whose.
    assert await pending_texts(rstore, "lk_merged") == [(
        DUP_USER,
        f"您的信访事项 <code>{dup}</code> 与信访事项 <code>{main}</code> 反映的是同一问题，已并入该事项合并办理。"
        f"今后的办理情况将一并告知您，也可发送 /status {main} 查看。\n合并理由：同一车间同一月份的加班费问题",
    )]
    assert await pending_texts(rstore, "lk_joined") == [(
        MAIN_USER,
        f"与您的信访事项 <code>{main}</code> 反映同一问题的另一件信访已并入该事项，合并办理。办理期限不变，办理情况将继续告知您。",
    )]
    # Journaled on both cases, the reason as the body; public on both timelines.
    journal = rows(rstore, "SELECT c.number, e.action, e.body, e.public, e.actor_id FROM events e"
                           " JOIN cases c ON c.id = e.case_id WHERE e.action IN ('merge', 'join') ORDER BY e.id")
    assert journal == [(dup, "merge", "同一车间同一月份的加班费问题", 1, OFFICER_P1.id),
                       (main, "join", "同一车间同一月份的加班费问题", 1, OFFICER_P1.id)]
    assert (await rstore.verify_journal()).ok

    # The duplicate's petitioner sees the main case in their list, reads it and may add to it, not withdraw it.
    listed, total = await rstore.cases.cases_of_petitioner(DUP_USER)
    assert [c.number for c in listed] == [dup, main] and total == 2
    view = await rstore.self_service.petitioner_case(DUP_USER, main)
    assert view.case.number == main and view.actions == [Action.ADD_INFO]
    assert (await rstore.self_service.petitioner_case(MAIN_USER, main)).actions == [Action.ADD_INFO, Action.WITHDRAW]
    with pytest.raises(NotFound):
        await rstore.self_service.petitioner_case(OTHER_USER, main)
    with pytest.raises(Refused) as no_withdraw:
        await rstore.self_service.withdraw(DUP_USER, main)
    assert no_withdraw.value.code == "merged_no_withdraw"
    await rstore.cases.add_info(employee(DUP_USER), main, "补充：同车间另有十人")

    # The main case's notices to its petitioner go to the duplicate's too; nothing about the closed duplicate.
    await rstore.cases.act(OFFICER_P1, main, Action.ACCEPT)
    told = [(i.chat_id, i.case_id) for i in await rstore.outbox.pending_notifications(limit=1000)
            if i.kind == "petitioner_event"]
    assert told == [(rstore.context.claim_key(DUP_USER), main_case.id), (MAIN_USER, main_case.id)]
    # The closed duplicate leaves every queue.
    queue, _ = await rstore.cases.open_cases_for(OFFICER_P1)
    assert [c.number for c in queue] == [main]


async def test_the_followers_notice_passes_the_check_at_send_time(rstore: Services) -> None:
    main = await submit(rstore, MAIN_USER, "main")
    dup = await submit(rstore, DUP_USER, "dup")
    await rstore.links.merge(OFFICER_P1, main, dup, "重复")
    await rstore.cases.act(OFFICER_P1, main, Action.ACCEPT)
    for item in await rstore.outbox.pending_notifications(limit=1000):
        if item.kind == "petitioner_event":
            assert await rstore.may_receive(item.chat_id, item) is None
            assert await rstore.may_receive(OTHER_USER, item) == "not_staff"


async def test_a_merged_main_case_takes_its_duplicates_along(rstore: Services) -> None:
    first = await submit(rstore, MAIN_USER, "a")
    second = await submit(rstore, DUP_USER, "b")
    third = await submit(rstore, OTHER_USER, "c")
    await rstore.links.merge(OFFICER_P1, second, third, "重复")
    await rstore.links.merge(OFFICER_P1, first, second, "重复")
    stored = rows(rstore, "SELECT number, status, merged_into FROM cases ORDER BY id")
    first_id = rows(rstore, "SELECT id FROM cases WHERE number = ?", first)[0][0]
    assert stored == [(first, "submitted", None), (second, "merged", first_id), (third, "merged", first_id)]
    merged = await pending_texts(rstore, "lk_merged")
    # The third case's petitioner, who follows the second, is told again: the matter now follows the first.
    assert [(chat, text.split("，")[0]) for chat, text in merged] == [
        (OTHER_USER, f"您的信访事项 <code>{third}</code> 与信访事项 <code>{second}</code> 反映的是同一问题"),
        (rstore.context.claim_key(OTHER_USER),
         f"您的信访事项 <code>{second}</code> 与信访事项 <code>{first}</code> 反映的是同一问题"),
        (DUP_USER, f"您的信访事项 <code>{second}</code> 与信访事项 <code>{first}</code> 反映的是同一问题"),
    ]
    for item in await rstore.outbox.pending_notifications(limit=1000):
        assert await rstore.may_receive(item.chat_id, item) is None, item.kind
    listed, _ = await rstore.cases.cases_of_petitioner(OTHER_USER)
    assert [c.number for c in listed] == [third, second, first]
    # Both follow the first case: its notices reach all three.
    await rstore.cases.act(OFFICER_P1, first, Action.ACCEPT)
    told = {i.chat_id for i in await rstore.outbox.pending_notifications(limit=1000) if i.kind == "petitioner_event"}
    assert told == {MAIN_USER, rstore.context.claim_key(DUP_USER), rstore.context.claim_key(OTHER_USER)}


async def test_a_registered_letter_merged_into_a_chat_case(rstore: Services, clock: FakeClock) -> None:
    """The letter's petitioner (no Telegram) follows the main case through contact tasks, then by claiming."""
    from store.ledger import PersonIn, Registration
    from store.models import Channel

    main = await submit(rstore, MAIN_USER, "main")
    registered = await rstore.ledger.register(OFFICER_P1, Registration(
        channel=Channel.LETTER, received_on=clock.now().date(), people=[PersonIn(name="刘师傅", phone="13800138000")],
        category="wages", unit="plant-1", subject="加班费未发放", details="来信反映加班费未发放。"))
    dup = registered.case.number
    [code] = registered.codes
    await rstore.links.merge(OFFICER_P1, main, dup, "同一事项")
    tasks = rows(rstore, "SELECT c.number, t.kind FROM contact_tasks t JOIN cases c ON c.id = t.case_id ORDER BY t.id")
    assert tasks == [(dup, "lk_merged")]  # told by the staff that the letter was merged
    await rstore.cases.act(OFFICER_P1, main, Action.ACCEPT)
    tasks = rows(rstore, "SELECT c.number, t.kind FROM contact_tasks t JOIN cases c ON c.id = t.case_id ORDER BY t.id")
    assert tasks == [(dup, "lk_merged"), (main, "petitioner_event")]  # and of the main case's acceptance
    # The letter's claim code now claims the main case: it is theirs in /mycases, and notices come in chat.
    await rstore.ledger.claim(OTHER_USER, code.code, "13800138000", OTHER_USER)
    listed, _ = await rstore.cases.cases_of_petitioner(OTHER_USER)
    assert main in [c.number for c in listed]
    await rstore.cases.act(OFFICER_P1, main, Action.REPLY, body="请提供工资条")
    told = [i.chat_id for i in await rstore.outbox.pending_notifications(limit=1000)
            if i.kind == "petitioner_event" and i.event_id is not None]
    assert rstore.context.claim_key(OTHER_USER) in told and MAIN_USER in told
    for item in await rstore.outbox.pending_notifications(limit=1000):
        if item.kind == "petitioner_event":
            assert await rstore.may_receive(item.chat_id, item) is None


async def test_refusals(rstore: Services) -> None:
    main = await submit(rstore, MAIN_USER, "main")
    dup = await submit(rstore, DUP_USER, "dup")
    other_plant = await submit(rstore, OTHER_USER, "p2", unit="plant-2")
    report = await submit(rstore, OTHER_USER, "r", category="misconduct")
    secret = (await rstore.cases.submit(petitioner(OTHER_USER), draft(confidential=True), "s")).case.number
    with pytest.raises(NotFound):  # out of scope answers like a number that does not exist
        await rstore.links.link(OFFICER_P2, main, other_plant)
    with pytest.raises(NotFound):
        await rstore.links.merge(OFFICER_P1, main, other_plant, "重复")
    with pytest.raises(Refused) as petitioner_tries:
        await rstore.links.link(employee(MAIN_USER), main, dup)
    assert petitioner_tries.value.code == "forbidden"
    for island in (report, secret):
        for call in (rstore.links.link(LEADER_OIL, main, island), rstore.links.merge(LEADER_OIL, island, dup, "重复"),
                     rstore.links.merge(LEADER_OIL, main, island, "重复")):
            with pytest.raises(Refused) as refused:
                await call
            assert refused.value.code == "link_confidential"
    with pytest.raises(Refused) as same:
        await rstore.links.merge(OFFICER_P1, main, main, "重复")
    assert same.value.code == "link_same"
    with pytest.raises(Refused) as no_reason:
        await rstore.links.merge(OFFICER_P1, main, dup, "  ")
    assert no_reason.value.code == "reason_required"
    await rstore.links.merge(OFFICER_P1, main, dup, "重复")
    with pytest.raises(Refused) as again:  # a merged duplicate is closed
        await rstore.links.merge(OFFICER_P1, main, dup, "重复")
    assert again.value.code == "wrong_status"
    with pytest.raises(Refused) as into_merged:
        await rstore.links.merge(OFFICER_P1, dup, await submit(rstore, OTHER_USER, "x"), "重复")
    assert into_merged.value.code == "wrong_status"
    assert rows(rstore, "SELECT count(*) FROM events WHERE action IN ('merge', 'join', 'link')") == [(2,)]


async def test_link_and_unlink_are_journaled_on_both(rstore: Services) -> None:
    first = await submit(rstore, MAIN_USER, "a")
    second = await submit(rstore, DUP_USER, "b", unit="plant-2")
    await rstore.links.link(LEADER_OIL, second, first)
    with pytest.raises(Refused) as again:
        await rstore.links.link(LEADER_OIL, first, second)
    assert again.value.code == "link_already"
    one = await rstore.cases.case_for(LEADER_OIL, first)
    two = await rstore.cases.case_for(LEADER_OIL, second)
    assert (await rstore.links.related(LEADER_OIL, one)).links == [second]
    assert (await rstore.links.related(LEADER_OIL, two)).links == [first]
    # An officer of plant-1 sees the first card, without the plant-2 case it may not see.
    assert (await rstore.links.related(OFFICER_P1, one)).empty
    await rstore.links.unlink(LEADER_OIL, first, second)
    assert (await rstore.links.related(LEADER_OIL, one)).empty
    with pytest.raises(Refused) as gone:
        await rstore.links.unlink(LEADER_OIL, first, second)
    assert gone.value.code == "link_none"
    journal = rows(rstore, "SELECT action, public FROM events WHERE action IN ('link', 'unlink') ORDER BY id")
    assert journal == [("link", 0), ("link", 0), ("unlink", 0), ("unlink", 0)]


async def test_a_merged_duplicate_counts_once_in_the_indicators(rstore: Services, clock: FakeClock) -> None:
    clock.set(at(date(2026, 11, 2)))
    main = await submit(rstore, MAIN_USER, "main")
    dup = await submit(rstore, DUP_USER, "dup")
    await submit(rstore, OTHER_USER, "other")
    before = await rstore.indicators.indicators(LEADER_P1, period="2026-11")
    assert before.rows[0].received == 3
    await rstore.links.merge(OFFICER_P1, main, dup, "重复")
    clock.set(at(date(2026, 11, 30)))  # all three past their acceptance deadline, none answered
    report = await rstore.indicators.indicators(LEADER_P1, period="2026-11")
    row = report.rows[0]
    assert (row.received, row.accept_counted, row.accepted_on_time, row.overdue_now, row.within_time) == (2, 2, 0, 2, 0)
    exported = await rstore.indicators.export_data(LEADER_P1, period="2026-11")
    assert exported.report.rows[0].received == 2
    assert [c.status.value for c in exported.cases] == ["submitted", "merged", "submitted"]  # listed, not counted


async def test_the_weekly_digest_counts_a_merged_matter_once(rstore: Services, clock: FakeClock) -> None:
    clock.set(at(date(2026, 11, 3)))  # a Tuesday
    main = await submit(rstore, MAIN_USER, "main")
    dup = await submit(rstore, DUP_USER, "dup")
    await rstore.links.merge(OFFICER_P1, main, dup, "重复")
    clock.set(at(date(2026, 11, 9), hour=10))  # the next Monday, after the digest hour
    assert (await rstore.review.sweep()).digests > 0
    digest = [i for i in await rstore.outbox.pending_notifications(limit=1000)
              if i.kind == "ld_digest" and i.chat_id == LEADER_P1.id]
    assert [(i.params["received"], i.params["closed"]) for i in digest] == [(1, 0)]


# ------------------------------------------------------------------ chat


@pytest.fixture
async def app(rstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(rstore, OfflineRequest()) as running:
        yield running


async def test_merge_in_chat_tells_both_petitioners_and_stats_count_it_once(
    app: tuple[Application, OfflineRequest], rstore: Services, clock: FakeClock
) -> None:
    application, request = app
    clock.set(at(date(2026, 11, 2)))
    main = await submit(rstore, MAIN_USER, "main")
    dup = await submit(rstore, DUP_USER, "dup")
    await rstore.cases.set_language(DUP_USER, "en")
    sender: OutboxSender = application.bot_data["outbox"]
    await sender.run_once()
    request.calls.clear()

    await feed(application, Updates(OFFICER_P1.id).text("/merge"))
    assert request.texts_to(OFFICER_P1.id)[-1] == "用法：/merge 主办事项编号 重复事项编号 合并理由"
    await feed(application, Updates(OFFICER_P1.id).text(f"/merge {main} {dup}"))
    assert request.texts_to(OFFICER_P1.id)[-1] == "用法：/merge 主办事项编号 重复事项编号 合并理由"
    await feed(application, Updates(OFFICER_P2.id).text(f"/merge {main} {dup} 重复"))
    assert request.texts_to(OFFICER_P2.id)[-1] == f"未找到编号为 {main} 的信访事项。请检查编号是否正确。"
    await feed(application, Updates(MAIN_USER).text(f"/merge {main} {dup} 重复"))
    assert request.texts_to(MAIN_USER)[-1] == "该命令仅供信访工作人员使用。"

    await feed(application, Updates(OFFICER_P1.id).text(f"/merge {main} {dup} 同一车间同一月份的加班费问题"))
    assert request.texts_to(OFFICER_P1.id)[-1] == (
        f"已将信访事项 <code>{dup}</code> 并入 <code>{main}</code> 合并办理，已告知双方信访人。")
    await sender.run_once()
    assert request.texts_to(DUP_USER) == [
        f"Your petition <code>{dup}</code> raises the same matter as petition <code>{main}</code> and has been merged"
        f" into it. You will be told how it is handled; you can also send /status {main}.\n"
        "Reason: 同一车间同一月份的加班费问题"]
    assert request.texts_to(MAIN_USER)[-1] == (
        f"与您的信访事项 <code>{main}</code> 反映同一问题的另一件信访已并入该事项，合并办理。办理期限不变，办理情况将继续告知您。")

    # From now on the duplicate's petitioner hears of the main case, and sees it.
    await feed(application, Updates(OFFICER_P1.id).text(f"/accept {main}"))
    await sender.run_once()
    assert main in request.texts_to(DUP_USER)[-1] and "accepted" in request.texts_to(DUP_USER)[-1]
    await feed(application, Updates(DUP_USER, language_code="en").text("/mycases"))
    listing = request.texts_to(DUP_USER)[-1]
    assert main in listing and dup in listing and "Merged" in listing

    # The cards name the relation both ways.
    await feed(application, Updates(OFFICER_P1.id).text(f"/case {dup}"))
    assert f"🔀 已合并入信访事项 <code>{main}</code>" in "\n".join(request.texts_to(OFFICER_P1.id)[-3:])
    await feed(application, Updates(OFFICER_P1.id).text(f"/case {main}"))
    assert f"🔀 并入本事项的信访：<code>{dup}</code>" in "\n".join(request.texts_to(OFFICER_P1.id)[-3:])

    # /stats counts the matter once.
    await feed(application, Updates(LEADER_P1.id).text("/stats 2026-11"))
    table = "\n".join(request.texts_to(LEADER_P1.id))
    assert "收件 1 件" in table and "收件 2 件" not in table


async def test_link_shows_on_both_cards(app: tuple[Application, OfflineRequest], rstore: Services) -> None:
    application, request = app
    first = await submit(rstore, MAIN_USER, "a")
    second = await submit(rstore, DUP_USER, "b")
    await feed(application, Updates(OFFICER_P1.id).text("/link " + first))
    assert request.texts_to(OFFICER_P1.id)[-1].startswith("用法：/link 编号 编号")
    await feed(application, Updates(OFFICER_P1.id).text(f"/link {first} {second.lower()} 同一车间"))
    assert request.texts_to(OFFICER_P1.id)[-1] == (
        f"已将信访事项 <code>{first}</code> 与 <code>{second}</code> 相互关联。")
    await feed(application, Updates(OFFICER_P1.id).text(f"/case {first}"))
    assert f"🔗 关联信访事项：<code>{second}</code>" in "\n".join(request.texts_to(OFFICER_P1.id)[-3:])
    await feed(application, Updates(OFFICER_P1.id, language_code="en").text(f"/case {second}"))
    assert f"🔗 Related petitions: <code>{first}</code>" in "\n".join(request.texts_to(OFFICER_P1.id)[-3:])
    await feed(application, Updates(OFFICER_P1.id, language_code="en").text("/unlink"))
    assert request.texts_to(OFFICER_P1.id)[-1] == "Usage: /unlink number number"
    await feed(application, Updates(OFFICER_P1.id, language_code="en").text(f"/unlink {first} {second}"))
    assert request.texts_to(OFFICER_P1.id)[-1] == (
        f"The link between <code>{first}</code> and <code>{second}</code> is removed.")
    report = (await rstore.cases.submit(petitioner(OTHER_USER), draft(category="misconduct"), "r")).case.number
    await feed(application, Updates(LEADER_P1.id).text(f"/link {first} {report}"))
    assert request.texts_to(LEADER_P1.id)[-1].startswith("保密的信访事项（检举控告或信访人选择保密的事项）不能关联或合并")


def test_the_menus() -> None:
    for name in ("link", "unlink", "merge"):
        assert name in OFFICER_COMMANDS and name in LEADER_COMMANDS
