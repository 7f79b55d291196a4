"""Store side of the petitioner's self-service, the message limiter and UTF-16 splitting."""

from __future__ import annotations

import pytest

from handlers.flood import MessageLimiter, Verdict
from handlers.render import split_text, utf16_len
from store.errors import NotFound, Refused
from store.event_data import AddInfoData
from store.models import Actor, ActorRole, AttachmentIn, Decision, Status
from store.selfservice import ADDITION_MAX, petitioner_may
from store.services import Services
from store.workflow import Action
from tests.conftest import OPINION_PARTS, draft, petitioner
from tests.review_fixture import deliver_opinion

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)
PHOTO = AttachmentIn(kind="photo", file_id="F1", file_unique_id="u1", size=10)


async def outbox(store: Services) -> list[tuple[int, str]]:
    return [(item.chat_id, item.kind) for item in await store.outbox.pending_notifications()]


async def test_a_case_view_offers_what_the_state_machine_allows(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(), "k1")).case
    view = await store.self_service.petitioner_case(5001, case.number.lower())
    assert view.case.id == case.id and [e.action for e in view.events] == ["submit"]
    assert view.actions == [Action.ADD_INFO, Action.WITHDRAW]
    await store.cases.act(OFFICER, case.number, Action.NOTE, body="内部备注")
    await store.cases.act(OFFICER, case.number, Action.ACCEPT)
    view = await store.self_service.petitioner_case(5001, case.number)
    assert [e.action for e in view.events] == ["submit", "accept"]  # the note is internal
    await store.cases.act(OFFICER, case.number, Action.DECIDE, parts=OPINION_PARTS, body="意见", decision=Decision.SUPPORT)
    view = await store.self_service.petitioner_case(5001, case.number)
    assert view.case.status is Status.DECIDED and view.actions == []  # not yet served (送达)
    await deliver_opinion(store)
    view = await store.self_service.petitioner_case(5001, case.number)
    # 复查 stays on the case view for its window (Art. 35), whatever the rating
    assert view.actions == [Action.REQUEST_REVIEW]
    with pytest.raises(NotFound):
        await store.self_service.petitioner_case(5002, case.number)  # someone else's: as if it did not exist
    with pytest.raises(NotFound):
        await store.self_service.petitioner_case(5001, "XF-2026-999999")


@pytest.mark.parametrize("status", list(Status))
def test_withdraw_only_before_a_decision(status: Status) -> None:
    from datetime import UTC, date, datetime

    from store.models import Case

    case = Case(id=1, number="XF-2026-000001", petitioner_id=1, petitioner_name=None, petitioner_phone=None,
                confidential=False, pseudonym="ABCD", category="wages", kind="claim", unit="plant-1",
                subject="s", details="d", people=None, desired_outcome=None, status=status, assignee_id=None,
                decision=None, rating=None, submitted_at=datetime.now(UTC), accepted_at=None, decided_at=None,
                closed_at=None, accept_due=date.today(), answer_due=None, extended_days=0, language=None,
                updated_at=datetime.now(UTC))
    undecided = status in (Status.SUBMITTED, Status.ACCEPTED, Status.IN_PROGRESS)
    assert petitioner_may(case, Action.WITHDRAW) is undecided
    assert petitioner_may(case, Action.ACCEPT) is False


async def test_adding_information_is_once_per_message_and_notifies_officers(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(), "k1")).case
    await store.cases.set_prompt(5001, "add", case.number)
    before = await outbox(store)
    first = await store.self_service.add_information(5001, case.number, text=" 补充 <b>&</b> ", key="5001:7")
    assert first.created
    assert await store.cases.get_prompt(5001) == ("add", case.number)  # files may follow
    again = await store.self_service.add_information(5001, case.number, text=" 补充 <b>&</b> ", key="5001:7", end_prompt=True)
    assert not again.created and await store.cases.get_prompt(5001) is None
    photo = await store.self_service.add_information(5001, case.number, text=None, attachments=[PHOTO], key="5001:8")
    assert photo.created
    events = [e for e in await store.cases.timeline(case.id, public_only=True) if e.action == "add_info"]
    assert [(e.body, e.data["attachments"]) for e in events] == [("补充 <b>&</b>", 0), (None, 1)]
    assert [(a.kind, a.event_id) for a in await store.cases.attachments(case.id)] == [("photo", events[1].id)]
    assert (await outbox(store))[len(before):] == [(1001, "staff_event"), (1001, "staff_event")]


async def test_a_message_journaled_by_an_older_version_is_not_added_again(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(), "k1")).case
    async with store.db.transaction() as conn:  # as older versions journaled it: the key as given
        await store.cases.add_info_in(conn, Actor(id=5001, role=ActorRole.PETITIONER), case.number, "旧版本补充", [],
                                      AddInfoData(key="5001:7"))
    again = await store.self_service.add_information(5001, case.number, text="旧版本补充", key="5001:7")
    other = await store.self_service.add_information(5001, case.number, text="另一条", key="5001:8")
    assert not again.created and other.created
    assert [e.body for e in await store.cases.timeline(case.id, public_only=True) if e.action == "add_info"] \
        == ["旧版本补充", "另一条"]


async def test_adding_information_is_refused_politely(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(), "k1")).case
    with pytest.raises(Refused) as too_long:
        await store.self_service.add_information(5001, case.number, text="长" * (ADDITION_MAX + 1), key="a")
    assert too_long.value.params == {"max": ADDITION_MAX, "length": ADDITION_MAX + 1}
    with pytest.raises(Refused, match="text_required"):
        await store.self_service.add_information(5001, case.number, text="  ", key="b")
    with pytest.raises(NotFound):
        await store.self_service.add_information(5002, case.number, text="别人的", key="c")
    await store.self_service.withdraw(5001, case.number)
    with pytest.raises(Refused, match="wrong_status"):
        await store.self_service.add_information(5001, case.number, text="撤回之后", key="d")
    assert [e.action for e in await store.cases.timeline(case.id, public_only=False)] == ["submit", "withdraw"]


async def test_withdrawing_twice_changes_nothing_the_second_time(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(), "k1")).case
    withdrawn, changed = await store.self_service.withdraw(5001, case.number)
    assert changed and withdrawn.status is Status.WITHDRAWN
    queued = await outbox(store)
    assert queued[-1] == (1001, "staff_event")
    again, changed = await store.self_service.withdraw(5001, case.number)
    assert not changed and again.status is Status.WITHDRAWN
    assert await outbox(store) == queued
    with pytest.raises(NotFound):
        await store.self_service.withdraw(5002, case.number)


def test_limiter_allows_the_limit_then_tells_once() -> None:
    limiter = MessageLimiter(3, 60.0)
    assert [limiter.check(1, t) for t in (0, 1, 2)] == [Verdict.ALLOW] * 3
    assert limiter.check(1, 3) is Verdict.REFUSE_AND_TELL
    assert limiter.check(1, 4) is Verdict.REFUSE_SILENTLY
    assert limiter.check(2, 4) is Verdict.ALLOW  # per user
    assert limiter.check(1, 59.9) is Verdict.REFUSE_SILENTLY
    assert limiter.check(1, 60.0) is Verdict.ALLOW  # the first message has left the window
    assert limiter.check(1, 60.5) is Verdict.REFUSE_AND_TELL  # a new flood is told again


def test_limiter_forgets_quiet_users() -> None:
    limiter = MessageLimiter(2, 10.0, sweep_every=1000)
    for user in range(100):
        limiter.check(user, 0)
    limiter.check(1000, 5)
    limiter.sweep(10.5)
    assert len(limiter) == 1
    with pytest.raises(ValueError):
        MessageLimiter(0)


def test_split_text_counts_utf16_like_telegram() -> None:
    emoji = "😀" * 4000  # 8,000 UTF-16 units
    parts = split_text(emoji, 3500)
    assert "".join(parts) == emoji and all(utf16_len(p) <= 3500 for p in parts)
    mixed = "ab😀\n" * 2000
    parts = split_text(mixed, 100, first=30)
    assert "".join(parts) == mixed and utf16_len(parts[0]) <= 30
    assert all(utf16_len(p) <= 100 for p in parts) and all(p.endswith("\n") for p in parts)
    assert split_text("") == [""]


async def test_a_late_persistence_flush_cannot_undo_a_stored_question(store: Services) -> None:
    """PTB writes conversation snapshots on a timer; the store's own state must win."""
    from bot.persistence import StorePersistence

    persistence = StorePersistence(store.cases)
    await store.cases.set_prompt(5001, "add", "XF-2026-000001")
    await persistence.update_conversation("prompt", (5001,), None)  # a snapshot from before the tap
    assert await store.cases.get_prompt(5001) == ("add", "XF-2026-000001")
    assert await persistence.get_conversations("prompt") == {(5001,): "add"}
    # Reception keeps only its list in the store; PTB keeps its step.
    await persistence.update_conversation("reception", (5001,), "step")
    assert await persistence.get_conversations("reception") == {(5001,): "step"}
