"""Repeat petitions (重复信访): proposed by the system, confirmed by staff; 件数 and 件次 (store/repeats.py).

Both databases (the ``store`` fixture). docs/procedure.md, section 8.
"""

from __future__ import annotations

import json

import pytest
from telegram.ext import Application

from handlers.i18n import t
from store.clock import FakeClock
from store.errors import NotFound, Refused, StoreError
from store.ledger import PersonIn, Registration
from store.models import Actor, ActorRole, Case, Channel
from store.repeats import bigrams, shared
from store.services import Services
from tests.conftest import draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed

OFFICER = Actor(id=1001, role=ActorRole.OFFICER, name="王主任")  # plant-1, wages
OFFICER_OIL = Actor(id=1002, role=ActorRole.OFFICER, name="李科长")  # the oilfield, recused from plant-2
LEADER = Actor(id=2001, role=ActorRole.LEADER, name="赵总")
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)


async def _file(store: Services, user: int, key: str, **fields: object) -> Case:
    return (await store.cases.submit(petitioner(user), draft(**fields), key)).case


async def _proposed(store: Services, viewer: Actor, case: Case) -> list[str]:
    return [c.number for c in await store.repeats.candidates(viewer, case)]


async def _counts(store: Services) -> tuple[int, int, int]:
    """(件次, 件数, confirmed repeats) of the whole company this month."""
    row = (await store.indicators.indicators(ADMIN, "hq")).rows[0]
    assert row.received == row.matters + row.repeats
    return row.received, row.matters, row.repeats


def test_similarity_is_shared_character_bigrams() -> None:
    assert bigrams("加班费 未发放！") == {"加班", "班费", "费未", "未发", "发放"}
    assert shared("加班费未发放", "又一次反映加班费") == 2  # 加班, 班费
    assert shared("加班费未发放", "住房补贴") == 0
    assert shared(None, "加班费") == 0


async def test_the_same_matter_is_proposed_and_counts_only_once_confirmed(store: Services, clock: FakeClock) -> None:
    first = await _file(store, 5001, "a")
    clock.advance(days=3)
    again = await _file(store, 5001, "b", subject="加班费还是没有发放")
    # Proposed, not a verdict: nothing marked, two matters.
    assert (again.repeat_of, again.repeat_count) == (None, 0)
    assert await _proposed(store, OFFICER, again) == [first.number]
    assert await _counts(store) == (2, 2, 0)
    flagged = rows(store, "SELECT data FROM events WHERE case_id = ? AND action = 'flag'", again.id)
    assert [json.loads(d) for (d,) in flagged] == [{"candidates": [first.number]}]
    # The officer confirms: 件次 2, 件数 1; journaled; nothing more proposed.
    confirmed, matter = await store.repeats.confirm(OFFICER, again.number, first.number)
    assert (confirmed.repeat_of, confirmed.repeat_count, matter) == (first.number, 1, first.number)
    assert await _counts(store) == (2, 1, 1)
    report = await store.indicators.indicators(ADMIN, "hq")
    assert report.rows[0].repeat_pct == 50.0
    journal = rows(store, "SELECT actor_id, public, data FROM events WHERE case_id = ? AND action = 'repeat'", again.id)
    assert [(a, p, json.loads(d)["repeat_of"]) for a, p, d in journal] == [(OFFICER.id, 0, first.number)]
    assert await _proposed(store, OFFICER, confirmed) == []
    with pytest.raises(Refused) as twice:
        await store.repeats.confirm(OFFICER, again.number, first.number)
    assert twice.value.code == "repeat_already"


async def test_not_the_same_matter_counts_two_matters(store: Services, clock: FakeClock) -> None:
    first = await _file(store, 5001, "a")
    again = await _file(store, 5001, "b", subject="加班费计算有误")
    assert await _proposed(store, OFFICER, again) == [first.number]
    dismissed = await store.repeats.dismiss(OFFICER, again.number)
    assert (dismissed.repeat_of, dismissed.repeat_count) == (None, 0)
    assert await _proposed(store, OFFICER, dismissed) == []
    assert await _counts(store) == (2, 2, 0)
    assert rows(store, "SELECT count(*) FROM events WHERE case_id = ? AND action = 'repeat'", again.id) == [(1,)]
    with pytest.raises(Refused) as nothing:
        await store.repeats.dismiss(OFFICER, again.number)
    assert nothing.value.code == "repeat_nothing"
    # A confirmation can be taken back the same way.
    await store.repeats.confirm(OFFICER, again.number, first.number)
    assert await _counts(store) == (2, 1, 1)
    await store.repeats.dismiss(OFFICER, again.number)
    assert await _counts(store) == (2, 2, 0)


async def test_another_persons_similar_case_is_never_proposed(store: Services) -> None:
    await _file(store, 5001, "a")
    other = await _file(store, 5002, "b")  # the same subject, word for word
    for viewer in (OFFICER, LEADER, ADMIN):
        assert await _proposed(store, viewer, other) == []
    assert rows(store, "SELECT count(*) FROM events WHERE case_id = ? AND action = 'flag'", other.id) == [(0,)]


async def test_the_closest_subjects_come_first_and_at_most_three(store: Services, clock: FakeClock) -> None:
    filed = []
    for key, subject in (("a", "加班费未发放"), ("b", "住房补贴问题"), ("c", "夜班津贴"), ("d", "工资条看不懂")):
        filed.append(await _file(store, 5001, key, subject=subject, details="无"))
        clock.advance(hours=1)
    again = await _file(store, 5001, "e", subject="十月加班费仍未发放", details="无")
    proposed = await _proposed(store, OFFICER, again)
    assert len(proposed) == 3 and proposed[0] == filed[0].number
    assert filed[0].number in proposed


async def test_the_matters_first_case_is_named_and_followers_move_along(store: Services, clock: FakeClock) -> None:
    a = await _file(store, 5001, "a")
    clock.advance(days=1)
    b = await _file(store, 5001, "b")
    clock.advance(days=1)
    c = await _file(store, 5001, "c")
    c, _ = await store.repeats.confirm(OFFICER, c.number, b.number)
    assert (c.repeat_of, c.repeat_count) == (b.number, 1)
    # b turns out to repeat a: c's matter is a's now, its third filing.
    await store.repeats.confirm(OFFICER, b.number, a.number)
    c = await store.cases.case_for(OFFICER, c.number)
    assert (c.repeat_of, c.repeat_count) == (a.number, 2)
    assert await _counts(store) == (3, 1, 2)
    # Only an earlier case, never itself, never a later one.
    for new, earlier, code in ((a.number, a.number, "repeat_same"), (a.number, c.number, "repeat_not_earlier")):
        with pytest.raises(Refused) as refused:
            await store.repeats.confirm(OFFICER, new, earlier)
        assert refused.value.code == code


async def test_only_staff_who_may_act_on_the_new_case_decide(store: Services) -> None:
    first = await _file(store, 5001, "a", unit="plant-2")
    again = await _file(store, 5001, "b", unit="plant-2")
    assert await _proposed(store, ADMIN, again) == [first.number]
    # Out of scope: plant-1's officer does not even see it.
    with pytest.raises(NotFound):
        await store.repeats.confirm(OFFICER, again.number, first.number)
    # The petitioner is no staff.
    with pytest.raises(StoreError):
        await store.repeats.dismiss(Actor(id=5001, role=ActorRole.PETITIONER), again.number)
    assert rows(store, "SELECT count(*) FROM events WHERE action = 'repeat'") == [(0,)]


async def test_reports_and_confidential_cases_are_never_proposed_across(store: Services) -> None:
    real = await _file(store, 5001, "real")
    report = await _file(store, 5001, "report", category="misconduct", subject="加班费未发放，举报车间主任")
    secret = await _file(store, 5001, "secret", confidential=True)
    later = await _file(store, 5001, "later")
    # The real-name case after them is proposed the real-name one only, to anyone.
    for viewer in (OFFICER, OFFICER_OIL, LEADER, ADMIN):
        assert await _proposed(store, viewer, later) == [real.number]
    # The report and the confidential case get no proposals, and none names them.
    for case in (report, secret):
        assert await _proposed(store, ADMIN, case) == []
        assert rows(store, "SELECT count(*) FROM events WHERE case_id = ? AND action = 'flag'", case.id) == [(0,)]
    flags = rows(store, "SELECT data FROM events WHERE action = 'flag'")
    assert all(report.number not in d and secret.number not in d for (d,) in flags)
    with pytest.raises(StoreError):
        await store.repeats.confirm(ADMIN, later.number, secret.number)


async def test_a_registered_letter_is_proposed_against_the_chat_case(store: Services) -> None:
    chat = await _file(store, 5001, "chat", phone="8613800138000")  # as Telegram gives a shared contact
    letter = await store.ledger.register(OFFICER, Registration.model_validate({
        "channel": Channel.LETTER, "received_on": store.context.today(),
        "people": [PersonIn(name="张三", phone="138-0013-8000")], "category": "wages", "unit": "plant-1",
        "subject": "加班费未发放", "details": "来信反映加班费未发放。"}))
    assert await _proposed(store, OFFICER, letter.case) == [chat.number]


async def test_a_chat_filing_with_a_letters_phone_is_proposed_against_the_letter(store: Services) -> None:
    """The other way round: the submission reads the register records of the filer's phone with its own
    INSERT (``store.people.register_query``), and the letter of that phone is proposed on the chat case."""
    letter = await store.ledger.register(OFFICER, Registration.model_validate({
        "channel": Channel.LETTER, "received_on": store.context.today(),
        "people": [PersonIn(name="张三", phone="138-0013-8000")], "category": "wages", "unit": "plant-1",
        "subject": "加班费未发放", "details": "来信反映加班费未发放。"}))
    other = await _file(store, 5002, "other", phone="13900139000")
    chat = await _file(store, 5001, "chat", phone="8613800138000")  # as Telegram gives a shared contact
    assert await _proposed(store, OFFICER, chat) == [letter.case.number]
    assert await _proposed(store, OFFICER, other) == []  # another phone: another person


# ------------------------------------------------------------ in the chat


async def test_the_card_proposes_and_the_buttons_decide(
    store: Services, app: tuple[Application, OfflineRequest]
) -> None:
    application, request = app
    first = await _file(store, 5001, "a")
    again = await _file(store, 5001, "b", subject="加班费还是没有发放")
    officer = Updates(OFFICER.id, "王主任")
    await feed(application, officer.text(f"/case {again.number}"))
    card = "\n".join(request.texts_to(OFFICER.id))
    assert str(t("zh", "repeat.card_candidate", number=first.number, subject=first.subject)) in card
    buttons = {data: text for call in request.calls if int(call.params.get("chat_id", 0) or 0) == OFFICER.id
               for text, data in call.buttons()}
    confirm = f"re:ok:{again.number}:{first.number}"
    assert buttons[confirm] == t("zh", "repeat.confirm") and f"re:no:{again.number}" in buttons
    await feed(application, officer.tap(confirm))
    assert rows(store, "SELECT repeat_of, repeat_count FROM cases WHERE id = ?", again.id) == [(first.number, 1)]
    assert str(t("zh", "repeat.confirmed", number=again.number, first=first.number, count=1)) \
        in request.texts_to(OFFICER.id)
    # The command says it in words: none is "not the same matter"; a bad word gets the usage.
    await feed(application, officer.text(f"/repeat {again.number} none"))
    assert rows(store, "SELECT repeat_of FROM cases WHERE id = ?", again.id) == [(None,)]
    assert str(t("zh", "repeat.dismissed", number=again.number)) in request.texts_to(OFFICER.id)
    await feed(application, officer.text("/repeat"))
    assert request.texts_to(OFFICER.id)[-1] == t("zh", "repeat.usage")
    await feed(application, officer.text(f"/repeat {again.number} XF-2099-999999"))
    assert "XF-2099-999999" in request.texts_to(OFFICER.id)[-1]
