"""A copy of the database, without the key, must not tie a confidential reporter to who they are.

A confidential case keeps its petitioner behind the keyed hash of their Telegram id
(``cases.petitioner_id``). Every other row stored under that same hash is a bridge for
someone holding the files: if it also names the person, or points at a real-name case
(whose petitioner is named in clear), a plain join names the reporter, no key needed.
These tests play the file holder: SQL over the stored rows only. Organisation:
tests/org_fixture.toml (store fixture, SQLite and PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

from store import vault_steps
from store.clock import FakeClock
from store.models import Actor, ActorRole
from store.org import Organization
from store.services import Services
from store.workflow import Action
from tests.backends import execute, fresh_database
from tests.conftest import draft, petitioner, rows
from tests.test_ledger_store import OFFICER, letter
from tests.test_reception_store import publish
from tests.test_roster import ROSTER

USER = 5001


async def _two_cases(store: Services) -> tuple[int, int]:
    """The same person's real-name case and confidential report: (real id, confidential id)."""
    named = (await store.cases.submit(petitioner(USER, "张三"), draft(), "named")).case
    secret = (await store.cases.submit(petitioner(USER, "张三"), draft(confidential=True, subject="举报"), "secret")).case
    assert not named.confidential and secret.confidential
    return named.id, secret.id


async def test_recorded_case_messages_do_not_tie_a_confidential_case_to_the_same_persons_named_case(
    store: Services,
) -> None:
    named, secret = await _two_cases(store)
    # What the outbox records after sending each case's notice to the person's chat (replies are relayed by it).
    await store.staff_work.remember_messages(USER, [10], named)
    await store.staff_work.remember_messages(USER, [11], secret)
    # The relay still finds each message's case.
    assert await store.staff_work.case_id_for_message(USER, 10) == named
    assert await store.staff_work.case_id_for_message(USER, 11) == secret
    # The file holder's join: the confidential case's messages, the same chat's other messages, their case's name.
    linked = rows(
        store,
        "SELECT a.petitioner_name FROM case_messages mb JOIN case_messages ma ON ma.chat_id = mb.chat_id"
        " JOIN cases a ON a.id = ma.case_id WHERE mb.case_id = ? AND NOT a.confidential",
        secret,
    )
    assert linked == []
    # Nor is the confidential case's petitioner key the chat of any recorded message.
    assert rows(store, "SELECT count(*) FROM case_messages WHERE chat_id = (SELECT petitioner_id FROM cases"
                       " WHERE id = ?)", secret) == [(0,)]


async def test_a_verified_employees_confidential_report_is_not_joined_to_the_roster(store: Services) -> None:
    await store.roster.import_rows(ROSTER, dry_run=False)
    entry = await store.roster.verify(USER, USER, "8613800138000")
    assert entry.name == "刘师傅"
    secret = (await store.cases.submit(petitioner(USER, "刘师傅"), draft(confidential=True, subject="举报"), "s")).case
    named = rows(
        store,
        "SELECT r.name FROM cases c JOIN verified_accounts v ON v.telegram_hid = c.petitioner_id"
        " JOIN roster r ON r.employee_no = v.employee_no WHERE c.id = ?",
        secret.id,
    )
    assert named == []
    # The account is still the employee's: verified, and found by employee number (/staff add by number).
    found = await store.roster.verified(USER)
    assert found is not None and found.employee_no == "YC1024"
    _, chat = await store.roster.account_of("YC1024")
    assert chat == USER


async def test_data_step_4_keys_apart_what_an_older_version_stored_under_the_persons_hash(
    backend: str, tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path) as target:
        store = await Services.open(target, org, clock)
        await store.roster.import_rows(ROSTER, dry_run=False)
        await store.roster.verify(USER, USER, "8613800138000")
        named, secret = await _two_cases(store)
        await store.staff_work.remember_messages(USER, [10], named)
        await store.staff_work.remember_messages(USER, [11], secret)
        session = await publish(store)
        await store.reception.book(Actor(id=USER, role=ActorRole.PETITIONER), session.id, "加班费", case_id=named)
        hid = store.context.hid(USER)
        await store.close()
        # As version 3 left them: both under the person's hash, which the confidential case keeps too.
        execute(target, "DELETE FROM people WHERE hid <> ?", hid)
        execute(target, "UPDATE case_messages SET chat_id = ?", hid)
        execute(target, "UPDATE verified_accounts SET telegram_hid = ?", hid)
        execute(target, "UPDATE reception_bookings SET user_id = ?", hid)
        execute(target, "UPDATE meta SET value = '3' WHERE key = 'vault_version'")
        assert rows(target, "SELECT count(*) FROM case_messages WHERE chat_id = (SELECT petitioner_id FROM cases"
                            " WHERE id = ?)", secret) == [(2,)]
        store = await Services.open(target, org, clock)
        try:
            assert rows(target, "SELECT value FROM meta WHERE key = 'vault_version'") == [(str(vault_steps.VERSION),)]
            assert rows(target, "SELECT count(*) FROM case_messages WHERE chat_id = ?", hid) == [(0,)]
            assert rows(target, "SELECT count(*) FROM verified_accounts WHERE telegram_hid = ?", hid) == [(0,)]
            assert await store.staff_work.case_id_for_message(USER, 10) == named
            assert await store.staff_work.case_id_for_message(USER, 11) == secret
            found = await store.roster.verified(USER)
            assert found is not None and found.employee_no == "YC1024"
            assert (await store.roster.account_of("YC1024"))[1] == USER
            assert rows(target, "SELECT count(*) FROM reception_bookings WHERE user_id = ?", hid) == [(0,)]
            assert len(await store.reception.my_reception_bookings(USER)) == 1
        finally:
            await store.close()


async def test_a_reception_booking_does_not_tie_a_confidential_case_to_the_bookers_named_case(
    store: Services, clock: FakeClock
) -> None:
    named, secret = await _two_cases(store)
    session = await publish(store)
    employee = Actor(id=USER, role=ActorRole.PETITIONER, name="张三")
    booked = await store.reception.book(employee, session.id, "加班费", case_id=named, name="张三")
    linked = rows(
        store,
        "SELECT a.petitioner_name FROM reception_bookings b JOIN cases a ON a.id = b.case_id"
        " JOIN cases s ON s.petitioner_id = b.user_id WHERE s.id = ?",
        secret,
    )
    assert linked == []
    # The employee still finds, cancels and hears of their booking.
    assert [b.id for b, _ in await store.reception.my_reception_bookings(USER)] == [booked.booking.id]
    assert (await store.reception.booking_of(employee, booked.booking.id))[0].case_id == named
    await store.reception.cancel_booking(employee, booked.booking.id)


# ------------------------------------------- F4: the register's bound accounts


def _holder_names(store: Services | str, secret: int) -> list[tuple[object, ...]]:
    """Every join a file holder has from a confidential case's petitioner key into the register."""
    found: list[tuple[object, ...]] = []
    petitioner = "(SELECT petitioner_id FROM cases WHERE id = ?)"
    found += rows(store, f"SELECT name FROM petitioners WHERE telegram_hid = {petitioner} AND NOT confidential", secret)
    found += rows(store, "SELECT c.petitioner_name FROM claim_codes k JOIN cases c ON c.id = k.case_id"
                         f" WHERE k.used_by = {petitioner} AND NOT c.confidential", secret)
    found += rows(store, "SELECT c.petitioner_name FROM outbox o JOIN cases c ON c.id = o.case_id"
                         f" WHERE o.chat_id = {petitioner} AND NOT c.confidential", secret)
    return found


async def _claimed_letter(store: Services) -> tuple[str, int]:
    """刘师傅's letter registered by an officer and claimed by USER from their Telegram account (number, case id)."""
    done = await store.ledger.register(OFFICER, letter())
    await store.ledger.claim(USER, done.codes[0].code, "8613800138000", USER)
    return done.case.number, done.case.id


async def test_a_claimed_register_record_does_not_tie_a_confidential_case_to_the_claimants_name(
    store: Services,
) -> None:
    secret = (await store.cases.submit(petitioner(USER), draft(confidential=True, subject="举报"), "s")).case
    number, named = await _claimed_letter(store)
    await store.cases.act(OFFICER, number, Action.ACCEPT)  # the claimant is told in their chat
    assert _holder_names(store, secret.id) == []
    # The claimant still has both cases, and the notice of the claimed one reaches their chat.
    mine, total = await store.cases.cases_of_petitioner(USER)
    assert total == 2 and {c.id for c in mine} == {named, secret.id}
    told = [i for i in await store.outbox.pending_notifications(limit=500)
            if i.case_id == named and i.kind == "petitioner_event"]
    assert len(told) == 1
    async with store.db.read() as conn:
        assert await store.context.chat_of(conn, told[0].chat_id) == USER


async def test_a_merge_follower_record_does_not_tie_a_confidential_case_to_the_followers_name(
    store: Services,
) -> None:
    secret = (await store.cases.submit(petitioner(USER), draft(confidential=True, subject="举报"), "s")).case
    main = (await store.cases.submit(petitioner(5002, "李四"), draft(), "main")).case
    dup = (await store.cases.submit(petitioner(USER, "张三"), draft(), "dup")).case
    await store.links.merge(OFFICER, main.number, dup.number, "同一事项")
    await store.cases.act(OFFICER, main.number, Action.ACCEPT)
    assert _holder_names(store, secret.id) == []
    assert rows(store, "SELECT count(*) FROM petitioners WHERE telegram_hid = ?", secret.petitioner_id) == [(0,)]
    # The follower still sees the main case and is told of it.
    assert main.number in [c.number for c in (await store.cases.cases_of_petitioner(USER))[0]]
    told = [i.chat_id for i in await store.outbox.pending_notifications(limit=500)
            if i.kind == "petitioner_event" and i.case_id == main.id]
    async with store.db.read() as conn:
        assert USER in [await store.context.chat_of(conn, chat) for chat in told]


async def test_data_step_5_keys_a_register_record_bound_under_the_persons_hash_apart(
    backend: str, tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    async with fresh_database(backend, tmp_path) as target:
        store = await Services.open(target, org, clock)
        secret = (await store.cases.submit(petitioner(USER), draft(confidential=True, subject="举报"), "s")).case
        number, named = await _claimed_letter(store)
        await store.cases.act(OFFICER, number, Action.ACCEPT)
        hid, claim = store.context.hid(USER), store.context.claim_key(USER)
        await store.close()
        # As version 4 left them: the record, its code and the claimant's notices under the person's hash.
        execute(target, "UPDATE petitioners SET telegram_hid = ? WHERE telegram_hid = ?", hid, claim)
        execute(target, "UPDATE claim_codes SET used_by = ? WHERE used_by = ?", hid, claim)
        execute(target, "UPDATE outbox SET chat_id = ? WHERE chat_id = ?", hid, claim)
        execute(target, "DELETE FROM people WHERE hid = ?", claim)
        execute(target, "UPDATE meta SET value = '4' WHERE key = 'vault_version'")
        assert _holder_names(target, secret.id) != []
        store = await Services.open(target, org, clock)
        try:
            assert rows(target, "SELECT value FROM meta WHERE key = 'vault_version'") == [(str(vault_steps.VERSION),)]
            assert _holder_names(target, secret.id) == []
            assert rows(target, "SELECT telegram_hid FROM petitioners") == [(claim,)]
            # Nothing lost: both cases are still the person's, and the claimant's notice still reaches them.
            mine, total = await store.cases.cases_of_petitioner(USER)
            assert total == 2 and {c.id for c in mine} == {named, secret.id}
            told = [i for i in await store.outbox.pending_notifications(limit=500)
                    if i.case_id == named and i.kind == "petitioner_event"]
            async with store.db.read() as conn:
                assert [await store.context.chat_of(conn, i.chat_id) for i in told] == [USER]
        finally:
            await store.close()
