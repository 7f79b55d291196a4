"""One ledger (store/ledger.py), on both backends: registration, the register, claim codes, contact tasks, /find.

Organisation (tests/org_fixture.toml): officer 王主任 1001 (plant-1, wages), officer 李科长 1002
(oilfield, recused from plant-2's reports), leader 赵总 2001 (oilfield), admin 9001.
The clock starts on 2026-11-02 (Asia/Shanghai).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from store.clock import FakeClock
from store.errors import NotFound, Refused
from store.ledger import CODE_ALPHABET, InformHow, PersonIn, PersonRole, Registration, format_code, normalize_code
from store.models import Actor, ActorRole, Channel
from store.services import Services
from store.vault import is_person_key
from store.workflow import Action
from tests.conftest import draft, petitioner, rows

OFFICER = Actor(id=1001, role=ActorRole.OFFICER, name="王主任")
OFFICER_OIL = Actor(id=1002, role=ActorRole.OFFICER, name="李科长")
LEADER = Actor(id=2001, role=ActorRole.LEADER, name="赵总")
TODAY = date(2026, 11, 2)


def letter(**overrides: object) -> Registration:
    values: dict[str, object] = {
        "channel": Channel.LETTER,
        "received_on": TODAY - timedelta(days=10),
        "people": [PersonIn(name="刘师傅", phone="138-0013-8000", employee_no="yc 1024", unit="第一采油厂作业区")],
        "category": "wages",
        "unit": "plant-1",
        "subject": "加班费未发放",
        "details": "来信反映2026年9月加班费未发放。",
    }
    values.update(overrides)
    return Registration.model_validate(values)


def citizen(user_id: int) -> Actor:
    return Actor(id=user_id, role=ActorRole.PETITIONER)


async def test_a_letter_received_ten_days_ago_is_due_for_acceptance_in_five(store: Services) -> None:
    done = await store.ledger.register(OFFICER, letter())
    case = done.case
    assert done.created and case.number == "XF-2026-000001"
    assert (case.channel, case.received_on, case.registered_by) == ("letter", date(2026, 10, 23), 1001)
    # 15 days from the day received: 11-07, a Saturday, so the next working day, 11-09 (store/workdays.py)
    assert case.accept_due == TODAY + timedelta(days=7)
    assert is_person_key(case.petitioner_id)
    assert (case.petitioner_name, case.petitioner_phone) == ("刘师傅", "13800138000")
    # One claim code for the one named petitioner: 8 characters of the alphabet, shown K7PD-3MXQ.
    [code] = done.codes
    assert (code.name, code.role) == ("刘师傅", PersonRole.PETITIONER)
    assert len(code.code) == 8 and set(code.code) <= set(CODE_ALPHABET)
    assert not set(code.code) & set("0O1IL")
    assert code.shown == format_code(code.code) and code.shown[4] == "-"
    # Stored hashed, never in clear.
    stored = rows(store, "SELECT code_hash, expires_on FROM claim_codes")
    assert len(stored) == 1 and code.code not in stored[0][0]
    assert stored[0][1] == (TODAY + timedelta(days=90)).isoformat()
    # The register holds the person, normalised.
    assert rows(store, "SELECT name, phone, employee_no, unit, telegram_hid FROM petitioners") == [
        ("刘师傅", "13800138000", "YC1024", "第一采油厂作业区", None)
    ]
    # Journaled: who registered it, the channel and the date received; the card goes to the officer.
    [(actor_id, action, data)] = rows(store, "SELECT actor_id, action, data FROM events WHERE action = 'register'")
    assert (actor_id, action) == (1001, "register")
    assert json.loads(data)["channel"] == "letter" and json.loads(data)["received_on"] == "2026-10-23"
    cards = [(i.chat_id, i.kind) for i in await store.outbox.pending_notifications()]
    assert (1001, "case_card") in cards
    # Once per registration: a redelivered Submit returns the same case and no new codes.
    again = await store.ledger.register(OFFICER, letter(registration_id=letter_id(store, case.id)))
    assert (again.created, again.case.id, again.codes) == (False, case.id, [])


def letter_id(store: Services, case_id: int) -> str:
    return str(rows(store, "SELECT submit_key FROM cases WHERE id = ?", case_id)[0][0])


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"received_on": TODAY - timedelta(days=61)}, "ledger_received_too_old"),
        ({"received_on": TODAY + timedelta(days=1)}, "ledger_received_future"),
        ({"channel": Channel.TRANSFER}, "ledger_external_ref"),
        ({"channel": Channel.TELEGRAM}, "ledger_channel"),
        ({"people": []}, "ledger_petitioner_required"),
        ({"anonymous": True}, "ledger_anonymous_named"),
        ({"people": [PersonIn(name=f"代表{i}", role=PersonRole.REPRESENTATIVE) for i in range(6)]}, "ledger_too_many"),
        ({"people_count": 0}, "ledger_people_count"),
        ({"subject": " "}, "draft_incomplete"),
        ({"unit": "nowhere"}, "draft_incomplete"),
    ],
)
async def test_what_cannot_be_registered_is_refused(store: Services, changes: dict[str, object], code: str) -> None:
    with pytest.raises(Refused) as refused:
        await store.ledger.register(OFFICER, letter(**changes))
    assert refused.value.code == code
    assert rows(store, "SELECT count(*) FROM cases") == [(0,)]


async def test_only_staff_register_and_sixty_days_back_is_allowed(store: Services) -> None:
    with pytest.raises(Refused) as refused:
        await store.ledger.register(citizen(5001), letter())
    assert refused.value.code == "staff_only"
    done = await store.ledger.register(LEADER, letter(received_on=TODAY - timedelta(days=60)))
    assert done.case.accept_due == TODAY - timedelta(days=45)  # already overdue: the queue shows it first
    # An import of an old ledger lifts the bound.
    old = await store.ledger.register(LEADER, letter(received_on=date(2025, 3, 1)), back_days=None)
    assert old.case.received_on == date(2025, 3, 1)


async def test_a_transferred_matter_keeps_its_reference(store: Services) -> None:
    done = await store.ledger.register(OFFICER, letter(channel=Channel.TRANSFER, external_ref=" 12345-2026-0815 "))
    assert (done.case.channel, done.case.external_ref) == ("transfer", "12345-2026-0815")


async def test_a_walk_in_without_telegram_becomes_tasks_for_the_officer(store: Services) -> None:
    visit = letter(channel=Channel.VISIT, received_on=TODAY)
    number = (await store.ledger.register(OFFICER, visit)).case.number
    await store.cases.act(OFFICER, number, Action.ACCEPT)
    # No message to a chat that does not exist: a task for the officer, with the notice's own kind and event.
    assert not [i for i in await store.outbox.pending_notifications(limit=100) if is_person_key(i.chat_id)]
    tasks, total = await store.ledger.open_tasks(OFFICER)
    assert total == 1
    [task] = tasks
    assert (task.number, task.kind, task.name, task.phone) == (number, "petitioner_event", "刘师傅", "13800138000")
    assert task.due_on == TODAY + timedelta(days=3)
    told = [i for i in await store.outbox.pending_notifications(limit=100) if i.kind == "lg_task"]
    assert [(i.chat_id, i.params) for i in told] == [(1001, {"task": task.id})]
    # Out of scope: neither listed nor done.
    assert (await store.ledger.open_tasks(Actor(id=1002, role=ActorRole.OFFICER)))[1] == 1  # oilfield covers plant-1
    with pytest.raises(NotFound):
        await store.ledger.complete_task(citizen(5001), task.id, InformHow.PHONE)
    done = await store.ledger.complete_task(OFFICER, task.id, InformHow.PHONE)
    assert (done.done_how, done.is_open) == (InformHow.PHONE, False)
    assert (await store.ledger.open_tasks(OFFICER))[1] == 0
    journal = rows(store, "SELECT actor_id, action, data, public FROM events WHERE action = 'inform'")
    assert len(journal) == 1 and journal[0][0] == 1001 and json.loads(journal[0][2])["how"] == "phone" and not journal[0][3]
    with pytest.raises(Refused) as refused:
        await store.ledger.complete_task(OFFICER, task.id, InformHow.LETTER)
    assert refused.value.code == "task_done"


async def test_open_tasks_are_reminded_on_the_due_day_and_once_overdue(store: Services, clock: FakeClock) -> None:
    number = (await store.ledger.register(OFFICER, letter(channel=Channel.CALL))).case.number
    await store.cases.act(OFFICER, number, Action.ACCEPT)

    async def reminders() -> list[tuple[int, str]]:
        found = [i for i in await store.outbox.pending_notifications(limit=500) if i.kind == "lg_task_remind"]
        return [(i.chat_id, i.params["level"]) for i in found]

    await store.review.sweep()
    assert await reminders() == []
    clock.advance(days=3)
    await store.review.sweep()
    await store.review.sweep()
    assert await reminders() == [(1001, "due")]
    clock.advance(days=1)
    await store.review.sweep()
    clock.advance(days=1)
    await store.review.sweep()
    assert await reminders() == [(1001, "due"), (1001, "overdue")]


async def test_three_representatives_each_claim_a_joint_letter(store: Services) -> None:
    reps = [PersonIn(name=n, phone=p, role=PersonRole.REPRESENTATIVE)
            for n, p in (("甲", "13900000001"), ("乙", "13900000002"), ("丙", "13900000003"))]
    done = await store.ledger.register(OFFICER, letter(people=reps, people_count=40))
    number = done.case.number
    assert done.case.people == 40
    assert [c.name for c in done.codes] == ["甲", "乙", "丙"] and len({c.code for c in done.codes}) == 3
    # A notice before anyone claimed: a task per representative.
    await store.cases.act(OFFICER, number, Action.REPLY, body="请于周五前提供工资条复印件")
    assert (await store.ledger.open_tasks(OFFICER))[1] == 3
    for user, code, rep in zip((7001, 7002, 7003), done.codes, reps, strict=True):
        claimed = await store.ledger.claim(user, code.shown.lower(), rep.phone, user)
        assert (claimed.case.number, claimed.already) == (number, False)
        mine, total = await store.cases.cases_of_petitioner(user)
        assert total == 1 and mine[0].number == number
        assert (await store.cases.case_for(citizen(user), number)).number == number
    # Their tasks closed as superseded; what they were not told comes to their chats.
    assert (await store.ledger.open_tasks(OFFICER))[1] == 0
    assert rows(store, "SELECT count(*) FROM contact_tasks WHERE superseded_at IS NOT NULL") == [(3,)]
    hids = {store.context.claim_key(u) for u in (7001, 7002, 7003)}
    caught_up = [i for i in await store.outbox.pending_notifications(limit=500) if i.kind == "petitioner_event"]
    assert {i.chat_id for i in caught_up} == hids
    # Later notices come in chat to each of them, and may be sent there.
    await store.cases.act(OFFICER, number, Action.ACCEPT)
    later = [i for i in await store.outbox.pending_notifications(limit=500)
             if i.kind == "petitioner_event" and i.id > max(c.id for c in caught_up)]
    assert sorted(i.chat_id for i in later) == sorted(hids)
    for item in later:
        assert await store.may_receive(item.chat_id, item) is None
        assert await store.chat_of(item.chat_id) in (7001, 7002, 7003)
    assert (await store.ledger.open_tasks(OFFICER))[1] == 0
    # A code binds once: the same person again is told it is theirs; anyone else gets "used".
    again = await store.ledger.claim(7001, done.codes[0].code)
    assert again.already
    with pytest.raises(Refused) as refused:
        await store.ledger.claim(7009, done.codes[0].code)
    assert refused.value.code == "claim_used"
    # Someone who claimed nothing does not see the case.
    with pytest.raises(NotFound):
        await store.cases.case_for(citizen(7009), number)
    journal = rows(store, "SELECT count(*) FROM events WHERE action = 'claim'")
    assert journal == [(3,)]


async def test_a_burst_of_wrong_codes_is_throttled_until_the_next_day(store: Services, clock: FakeClock) -> None:
    code = (await store.ledger.register(OFFICER, letter())).codes[0].code
    wrong = "".join(CODE_ALPHABET[(CODE_ALPHABET.index(c) + 1) % len(CODE_ALPHABET)] for c in code)
    for attempt in ("WRONG", wrong, wrong, "ABCD-EFGH", wrong):
        with pytest.raises(Refused) as refused:
            await store.ledger.claim(8001, attempt)
        assert refused.value.code == "claim_wrong"
    # The sixth try is refused whatever the code, the right one included.
    for attempt in (wrong, code):
        with pytest.raises(Refused) as refused:
            await store.ledger.claim(8001, attempt)
        assert refused.value.code == "claim_throttled"
    # Someone else is not held back; the count survives a restart (it is in the store).
    assert rows(store, "SELECT failures FROM claim_failures") == [(5,)]
    clock.advance(days=1)
    claimed = await store.ledger.claim(8001, code, "+86 138 0013 8000", 8001)
    assert not claimed.already


async def test_a_code_expires_after_ninety_days(store: Services, clock: FakeClock) -> None:
    code = (await store.ledger.register(OFFICER, letter())).codes[0].code
    clock.advance(days=91)
    with pytest.raises(Refused) as refused:
        await store.ledger.claim(8001, code)
    assert refused.value.code == "claim_expired"
    # Staff in scope may issue new codes (the old ones stop binding).
    [fresh] = await store.ledger.reissue_codes(OFFICER, (await store.cases.case_by_id(1) or pytest.fail()).number)
    assert (await store.ledger.claim(8001, fresh.code, "8613800138000", 8001)).case.id == 1


async def test_repeat_proposals_cross_channels(store: Services) -> None:
    async def proposed(number: str) -> set[str]:
        case = await store.cases.case_for(OFFICER, number)
        return {c.number for c in await store.repeats.candidates(OFFICER, case)}

    # The same phone in the chat, then in a letter: proposed as a repeat petition, not marked.
    chat = await store.cases.submit(petitioner(5001), draft(phone="13800138000"), "k1")
    assert chat.case.channel == "telegram"
    first = await store.ledger.register(OFFICER, letter())
    assert (first.case.repeat_of, first.case.repeat_count) == (None, 0)
    assert await proposed(first.case.number) == {chat.case.number}
    await store.repeats.confirm(OFFICER, first.case.number, chat.case.number)
    # The same employee number with another phone: the same person again.
    second = await store.ledger.register(
        OFFICER, letter(channel=Channel.VISIT, people=[PersonIn(name="刘师傅", employee_no="YC1024", phone="021-555")])
    )
    assert await proposed(second.case.number) == {chat.case.number, first.case.number}
    confirmed, first_case = await store.repeats.confirm(OFFICER, second.case.number, first.case.number)
    assert (confirmed.repeat_count, confirmed.repeat_of, first_case) == (2, chat.case.number, chat.case.number)
    assert rows(store, "SELECT count(*) FROM petitioners") == [(1,)]  # one record per person
    # Once they claim, a case from their chat is proposed against theirs too.
    await store.ledger.claim(5002, first.codes[0].code, "13800138000", 5002)
    later = await store.cases.submit(petitioner(5002), draft(), "k2")
    assert await proposed(later.case.number) == {chat.case.number, first.case.number, second.case.number}
    assert (await store.repeats.confirm(OFFICER, later.case.number, second.case.number))[0].repeat_count == 3


async def test_a_registered_collective_visit_raises_the_alert(store: Services) -> None:
    done = await store.ledger.register(
        OFFICER,
        letter(channel=Channel.VISIT, received_on=TODAY,
               people=[PersonIn(name=f"代表{i}", role=PersonRole.REPRESENTATIVE) for i in range(5)], people_count=60),
    )
    assert done.case.collective_alert is not None
    assert rows(store, "SELECT reason, people FROM alerts") == [("visit", 60)]  # 集体访: counted by staff


async def test_a_registration_answers_the_case_as_stored(store: Services) -> None:
    """The register answers its case's row as inserted (or as an alert changed it), not read again: the
    same as the stored row for a named letter, a repeat of it, an anonymous letter and a collective visit."""
    registered = [await store.ledger.register(OFFICER, letter()),
                  await store.ledger.register(OFFICER, letter(subject="加班费仍未发放")),
                  await store.ledger.register(OFFICER, letter(anonymous=True, people=[])),
                  await store.ledger.register(OFFICER, letter(
                      channel=Channel.VISIT, received_on=TODAY, people_count=60,
                      people=[PersonIn(name=f"代表{i}", role=PersonRole.REPRESENTATIVE) for i in range(5)]))]
    for done in registered:
        async with store.db.read() as conn:
            stored = await store.context.case_where(conn, "id = ?", (done.case.id,))
        assert stored is not None and done.case.model_dump() == stored.model_dump(), done.case.number
    assert registered[-1].case.collective_alert is not None


async def test_find_stays_within_scope_and_never_shows_a_confidential_case(store: Services) -> None:
    open_case = (await store.ledger.register(OFFICER, letter())).case
    secret = await store.ledger.register(
        OFFICER, letter(category="misconduct", people=[PersonIn(name="刘师傅", phone="13800138000")])
    )
    assert secret.case.confidential and secret.case.petitioner_name is None
    elsewhere = (await store.ledger.register(  # the admin's: an officer registers only within their scope
        Actor(id=9001, role=ActorRole.ADMIN), letter(unit="refinery", people=[PersonIn(name="刘师傅", phone="13800138000")])
    )).case
    chat = (await store.cases.submit(petitioner(5001, "刘师傅"), draft(phone="13800138000"), "k1")).case
    for query in ("刘师傅", "138 0013 8000", "yc1024"):
        found = [f.case.number for f in await store.ledger.find(OFFICER, query)]
        assert secret.case.number not in found and elsewhere.number not in found
        assert open_case.number in found
    assert chat.number in [f.case.number for f in await store.ledger.find(OFFICER, "13800138000")]
    admin = Actor(id=9001, role=ActorRole.ADMIN)
    everything = [f.case.number for f in await store.ledger.find(admin, "刘师傅")]
    assert elsewhere.number in everything and secret.case.number not in everything
    # The confidential reporter's record holds nothing in clear.
    assert rows(store, "SELECT name, phone FROM petitioners WHERE confidential") == [(None, None)]
    with pytest.raises(Refused):
        await store.ledger.find(citizen(5001), "刘师傅")
    assert [f.case.number for f in await store.ledger.find(OFFICER, "nobody")] == []


async def test_find_knows_a_phone_in_every_form_it_was_stored_in(store: Services) -> None:
    """A chat case keeps the phone as Telegram's contact button gave it (``8613800138000``), a letter as the
    officer typed it: either is found by the phone typed either way."""
    chat = (await store.cases.submit(petitioner(5001, "刘师傅"), draft(phone="8613800138000"), "k1")).case
    letter_case = (await store.ledger.register(
        OFFICER, letter(people=[PersonIn(name="刘师傅", phone="138-0013-8000")]))).case
    for query in ("13800138000", "+86 138 0013 8000", "8613800138000"):
        found = [f.case.number for f in await store.ledger.find(OFFICER, query)]
        assert chat.number in found and letter_case.number in found, query
    assert [f.case.number for f in await store.ledger.find(OFFICER, "13900139000")] == []


async def test_an_anonymous_letter_has_no_codes_and_no_tasks(store: Services) -> None:
    done = await store.ledger.register(OFFICER, letter(anonymous=True, people=[]))
    assert done.codes == [] and done.case.petitioner_name is None
    await store.cases.act(OFFICER, done.case.number, Action.ACCEPT)
    assert (await store.ledger.open_tasks(OFFICER))[1] == 0


def test_codes_are_read_as_typed() -> None:
    assert normalize_code(" k7pd-3mxq ") == "K7PD3MXQ"
    assert format_code("K7PD3MXQ") == "K7PD-3MXQ"


async def test_history_lists_the_same_person_across_channels(store: Services) -> None:
    chat = (await store.cases.submit(petitioner(5001), draft(phone="13800138000", category="suggestion"), "k1")).case
    letter_case = (await store.ledger.register(OFFICER, letter())).case
    history = [c.number for c in await store.review.case_history(LEADER, letter_case.number)]
    assert history == [letter_case.number, chat.number]
    assert [c.number for c in await store.review.case_history(LEADER, chat.number)] == history


async def test_a_confidential_registration_is_sealed_for_the_custodian_alone(store: Services) -> None:
    done = await store.ledger.register(
        OFFICER, letter(category="misconduct", people=[PersonIn(name="吴某", phone="13600000000")])
    )
    case = done.case
    assert case.confidential and (case.petitioner_name, case.petitioner_phone) == (None, None)
    assert [c.name for c in done.codes] == ["吴某"]  # the receipt, to the registering staff member only
    assert await store.ledger.people_of(LEADER, case.number) == []
    stored = " ".join(str(v) for row in rows(store, "SELECT * FROM petitioners") for v in row)
    stored += " ".join(str(v) for row in rows(store, "SELECT * FROM identities") for v in row)
    assert "吴某" not in stored and "13600000000" not in stored
    # A notice for them becomes a task that names nobody.
    await store.cases.act(LEADER, case.number, Action.ACCEPT)
    [task] = (await store.ledger.open_tasks(LEADER))[0]
    assert task.confidential and (task.name, task.phone) == (None, None)


async def test_an_import_keeps_its_dates_and_tells_nobody(store: Services) -> None:
    from datetime import UTC, datetime

    from store.models import SYSTEM

    moment = datetime(2025, 3, 2, 2, 0, tzinfo=UTC)
    done = await store.ledger.register(
        SYSTEM, letter(received_on=date(2025, 3, 1)), back_days=None, submitted_at=moment, notify=False
    )
    assert done.case.submitted_at == moment and done.case.registered_by is None
    assert done.case.accept_due == date(2025, 3, 17)  # 03-16 is a Sunday: the next working day
    assert [i for i in await store.outbox.pending_notifications() if i.kind == "case_card"] == []


@pytest.mark.parametrize("phone", ["13800138000", "8613800138000", "+86 138 0013 8000"])  # typed; Telegram's
async def test_one_person_by_two_channels_is_one_person_in_a_cluster(store: Services, phone: str) -> None:
    # Four people within the window: a chat case and a call by the same phone count once.
    await store.cases.submit(petitioner(5001), draft(phone=phone), "k1")
    await store.ledger.register(OFFICER, letter(channel=Channel.CALL, received_on=TODAY))
    for n in range(3):
        await store.ledger.register(OFFICER, letter(received_on=TODAY, people=[PersonIn(name=f"职工{n}")]))
    assert rows(store, "SELECT count(*) FROM alerts") == [(0,)]
    await store.ledger.register(OFFICER, letter(received_on=TODAY, people=[PersonIn(name="第五人")]))
    assert rows(store, "SELECT reason, people FROM alerts") == [("cluster", 5)]


async def test_the_petitioners_of_a_merged_duplicate_follow_the_main_case(store: Services) -> None:
    main = (await store.cases.submit(petitioner(5001), draft(), "k1")).case
    duplicate = await store.ledger.register(OFFICER, letter(people=[PersonIn(name="韩师傅", phone="13500000000")]))
    chat_duplicate = (await store.cases.submit(petitioner(5002), draft(), "k2")).case
    async with store.db.transaction() as conn:
        assert await store.ledger.follow(conn, main.id, duplicate.case.id) == 1
        assert await store.ledger.follow(conn, main.id, chat_duplicate.id) == 1
        assert await store.ledger.follow(conn, main.id, chat_duplicate.id) == 0  # once
    # The chat submitter of the duplicate sees the main case; a notice of it reaches all three.
    assert main.number in [c.number for c in (await store.cases.cases_of_petitioner(5002))[0]]
    await store.cases.act(OFFICER, main.number, Action.ACCEPT)
    told = [i.chat_id for i in await store.outbox.pending_notifications(limit=500)
            if i.kind == "petitioner_event" and i.case_id == main.id]
    assert sorted(told) == sorted([5001, store.context.claim_key(5002)])
    [task] = (await store.ledger.open_tasks(OFFICER))[0]
    assert (task.number, task.name) == (main.number, "韩师傅")
    for item in [i for i in await store.outbox.pending_notifications(limit=500) if i.case_id == main.id]:
        if item.kind == "petitioner_event":
            assert await store.may_receive(item.chat_id, item) is None


async def test_a_petitioner_lists_own_and_claimed_cases_page_by_page(store: Services) -> None:
    """``cases_of_petitioner``: their own (real-name and confidential) and the claimed ones, newest first.

    Counted and paged alike on both backends, and nobody else's: not another person's case, not a
    letter for them that nobody claimed yet.
    """
    user = 7101
    own = [(await store.cases.submit(petitioner(user), draft(subject=f"事项{i}"), f"own-{i}")).case for i in range(3)]
    own.append((await store.cases.submit(petitioner(user), draft(confidential=True, phone="13800000001"),
                                         "own-confidential")).case)
    claimed = []
    for i in range(2):
        done = await store.ledger.register(OFFICER, letter(
            people=[PersonIn(name="刘师傅", phone=f"1380013800{i}")], subject=f"来信{i}"))
        await store.ledger.claim(user, done.codes[0].code, f"1380013800{i}", user)
        claimed.append(done.case)
    await store.cases.submit(petitioner(7102), draft(), "someone-else")
    await store.ledger.register(OFFICER, letter(people=[PersonIn(name="周师傅", phone="13800138009")]))
    expected = [c.number for c in sorted(own + claimed, key=lambda c: c.id, reverse=True)]
    seen: list[str] = []
    for page in range(4):
        listed, total = await store.cases.cases_of_petitioner(user, page * 2, 2)
        assert total == 6
        assert len(listed) == (2 if page < 3 else 0)
        seen += [c.number for c in listed]
    assert seen == expected
    assert (await store.cases.cases_of_petitioner(7103)) == ([], 0)
