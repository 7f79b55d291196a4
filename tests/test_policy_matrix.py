"""The policy matrix, generated from the declaration (store/policy.py), on both databases.

For every declared act, every relation and a real-name and a confidential case, a person standing
in that relation calls the store entry point behind the command or button. Declared allowed (and
the state machine's role for it): it succeeds and the journal holds one more event (or, for a read,
it answers). Declared refused: a typed refusal (StoreError: Refused, or NotFound for those who may
not see the case at all) and the journal holds nothing more. ``DOMAIN`` lists the few outcomes where
a rule other than who-may (the state machine's, a confidential case's island) answers, each with its
code. Then: every command and button of the application's handler table is declared, and a
representative subset is driven through the Telegram handlers with the offline Bot API.
Organisation: tests/policy_fixture.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from telegram import CallbackQuery, Update, User
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.app import build_application
from handlers import callbacks as cb
from store.errors import Refused, StoreError
from store.ledger import InformHow, PersonIn, Registration
from store.models import Actor, Decision, Rating, ReviewOutcome, ServedHow
from store.opinion import DeclineGrounds
from store.policy import ENTRY_POINTS, POLICY, Act, Relation, allows, markdown_table, unit_relations
from store.services import Services
from store.workflow import RULES, Action
from tests.conftest import OPINION_PARTS, REVIEW_PARTS, draft, petitioner, rows
from tests.offline import OfflineRequest, Updates, feed, offline_app
from tests.policy_fixture import (
    ADMIN,
    CLAIMANT_USER,
    DUP_USER,
    MAIN_USER,
    OFFICER_P1,
    STRANGER_USER,
    citizen,
    letter,
    porg,
    pstore,
)

__all__ = ["porg", "pstore"]

R = Relation
LEADER_ACTS = {Act.SUPERVISE, Act.URGE, Act.LEAD, Act.REDO, Act.REVIEW_OPINION, Act.INCIDENT, Act.APPROVE}

#: Who stands in each relation: (an officer or anyone, a leader for the acts only leaders take).
PEOPLE: dict[Relation, tuple[int, int]] = {
    R.HANDLER: (1001, 3003),  # the case is assigned to them
    R.LEAD_STAFF: (1001, 3003),
    R.COHANDLER: (1002, 3005),
    R.LEADER_ABOVE: (3002, 3002),
    R.ADMIN: (9001, 9001),
    R.CUSTODIAN: (1005, 1005),
    R.PETITIONER: (MAIN_USER, MAIN_USER),
    R.CLAIMANT: (CLAIMANT_USER, CLAIMANT_USER),
    R.FOLLOWER: (DUP_USER, DUP_USER),
    R.STAFF_ELSEWHERE: (1003, 3004),
    R.STRANGER: (STRANGER_USER, STRANGER_USER),
}

#: The state machine's action behind each act, whose roles also bound who may (None: no role rule).
ROLE_OF: dict[Act, Action | None] = {
    Act.READ: None, Act.ACCEPT: Action.ACCEPT, Act.DECLINE: Action.DECLINE, Act.ASSIGN: Action.ASSIGN,
    Act.REPLY: Action.REPLY, Act.NOTE: Action.NOTE, Act.EXTEND: Action.EXTEND, Act.DECIDE: Action.DECIDE,
    Act.TRANSFER: Action.TRANSFER, Act.REVEAL: Action.REVEAL, Act.SUPERVISE: Action.SUPERVISE,
    Act.PROGRESS: Action.PROGRESS, Act.URGE: Action.URGE, Act.FOLLOW_UP: Action.FOLLOW_UP, Act.LEAD: Action.LEAD,
    Act.REDO: Action.REDO, Act.COHANDLE: Action.COHANDLE, Act.COHANDLE_OFF: Action.COHANDLE_OFF,
    Act.REVIEW_OPINION: Action.REVIEW_OPINION, Act.INCIDENT: Action.INCIDENT_OPEN, Act.LINK: Action.LINK,
    Act.UNLINK: Action.UNLINK, Act.MERGE: Action.MERGE, Act.REGISTER: Action.REGISTER, Act.CODES: Action.CODES,
    Act.TASK_DONE: Action.INFORM, Act.CLAIM: None, Act.REBIND: Action.REBIND, Act.VIEW_OWN: None, Act.ADD_INFO: Action.ADD_INFO,
    Act.WITHDRAW: Action.WITHDRAW, Act.RATE: Action.RATE, Act.COMMENT: Action.COMMENT,
    Act.ACCEPT_OUTCOME: Action.CLOSE, Act.REQUEST_REVIEW: Action.REQUEST_REVIEW, Act.DOCUMENT: None, Act.FILES: None,
    Act.SERVE: Action.SERVE, Act.APPROVE: None, Act.REPEAT: Action.REPEAT, Act.HEARING: Action.HEARING,
}

#: Where a rule other than who-may answers a person the policy allows: (act, relation, confidential) → code.
DOMAIN: dict[tuple[Act, Relation, bool], str] = {
    **{(act, rel, True): "link_confidential" for act in (Act.LINK, Act.UNLINK, Act.MERGE)
       for rel in Relation},  # a confidential case is an island: never linked or merged
    **{(Act.REPEAT, rel, True): "repeat_confidential" for rel in Relation},  # nor confirmed as a repeat
    # Only the designated reviewers of the level above give the opinion; oilfield's leader is one.
    # 领导包案: an officer cannot take charge; nor can an admin (not a leader).
    (Act.LEAD, R.ADMIN, False): "lead_not_leader", (Act.LEAD, R.ADMIN, True): "lead_not_leader",
    # Of the lead unit's scope, only the designated reviewers (oilfield's leader, above plant-1) give the opinion.
    **{(Act.REVIEW_OPINION, rel, conf): "not_reviewer" for rel in (R.HANDLER, R.LEAD_STAFF, R.ADMIN)
       for conf in (False, True)},
    # 听证: of the lead unit's scope, only the reviewing body's staff (oilfield's, above plant-1); never an admin.
    **{(Act.HEARING, rel, conf): "not_reviewing_body" for rel in (R.HANDLER, R.LEAD_STAFF, R.ADMIN, R.CUSTODIAN)
       for conf in (False, True)},
    # A case filed in the chat names nobody to give claim codes to, and has no contact tasks (see REGISTERED).
    # 签发: of the leaders the policy lets approve, only the nearest to the handling unit (plant-1's 3003) do.
    # Anyone else the policy lets approve (an admin or the custodian stand as lead-unit staff, but are no
    # leaders) is refused by that rule too: only 3003, the handler and lead-unit leader here, approves.
    **{(Act.APPROVE, rel, conf): "approval_not_yours" for rel in Relation if rel not in (R.HANDLER, R.LEAD_STAFF)
       for conf in (False, True)},
}

#: Acts that need a case registered by staff (claim codes, contact tasks); the CLAIMANT relation needs one too.
REGISTERED = {Act.CODES, Act.TASK_DONE, Act.CLAIM, Act.REBIND}
#: Acts that only read: allowed means an answer, never a journal event.
READS = {Act.READ, Act.VIEW_OWN, Act.DOCUMENT, Act.FILES}
#: The status each act is tried in.
STAGE: dict[Act, str] = {
    Act.EXTEND: "accepted", Act.DECIDE: "accepted", Act.FOLLOW_UP: "decided", Act.RATE: "decided",
    Act.REQUEST_REVIEW: "decided", Act.DOCUMENT: "decided", Act.REDO: "dissatisfied",
    Act.COMMENT: "dissatisfied", Act.ACCEPT_OUTCOME: "dissatisfied", Act.REVIEW_OPINION: "review",
    Act.SERVE: "decided", Act.APPROVE: "accepted", Act.HEARING: "review",
}


#: Acts on two cases: their scene has a second case of the lead unit (the others' scene has one case).
PAIRED = {Act.LINK, Act.UNLINK, Act.MERGE, Act.REPEAT}
#: The relations whose scene differs from the others' (an assignee set, a duplicate merged, a code claimed).
SCENE_OF_ITS_OWN = {R.HANDLER, R.FOLLOWER, R.CLAIMANT}


@dataclass
class Scene:
    number: str
    other: str  # a second case of the lead unit, co-handled too (PAIRED acts; else the case itself)
    owner: int  # who rates, reviews (the case's own petitioner)
    codes: list[str]  # unused claim codes (registered cases)
    confidential: bool
    draft: int = 0  # a draft waiting for approval (签发), for Act.APPROVE


async def _set(store: Services, sql: str, *args: object) -> None:
    async with store.db.transaction() as conn:
        await conn.execute(sql, args)


async def _rows(store: Services, sql: str, *args: object) -> list[tuple[object, ...]]:
    """What the database holds, committed, read on the store's own pool (``rows`` opens a connection per call)."""
    async with store.db.read_one() as conn:
        async with conn.execute(sql, args) as cur:
            return [tuple(row) for row in await cur.fetchall()]


async def journal_size(store: Services) -> int:
    [(count,)] = await _rows(store, "SELECT count(*) FROM events")
    return int(str(count))


async def case_rows(store: Services, case: Scene) -> list[tuple[object, ...]]:
    """Everything the cases of a scene hold (to tell that a refusal changed nothing there either)."""
    return await _rows(store, "SELECT * FROM cases WHERE number IN (?, ?) ORDER BY number", case.number, case.other)


async def scene(store: Services, act: Act, rel: Relation, confidential: bool, key: str) -> Scene:
    """A case in plant-1 co-handled by plant-2, in the stage ``act`` needs, with someone standing in ``rel``."""
    registered = act in REGISTERED or rel is R.CLAIMANT
    codes: list[str] = []
    if registered:
        people = [PersonIn(name="刘师傅"), PersonIn(name="王师傅")]
        done = await store.ledger.register(ADMIN, Registration(
            **{**letter(store.context.today(), confidential=confidential).model_dump(), "people": people}))
        number = done.case.number
        codes = [c.code for c in done.codes]
        owner = CLAIMANT_USER
        if rel is R.CLAIMANT:
            await store.ledger.claim(CLAIMANT_USER, codes.pop(0))
        elif act is Act.REBIND:  # someone bound, to unbind
            await store.ledger.claim(7006, codes.pop(0))
    else:
        fields: dict[str, object] = {"unit": "plant-1"}
        if confidential:
            fields["confidential"] = True
        number = (await store.cases.submit(petitioner(MAIN_USER), draft(**fields), key)).case.number
        owner = MAIN_USER
    other = number
    if act in PAIRED:
        other = (await store.cases.submit(petitioner(5004), draft(unit="plant-1"), key + "o")).case.number
        await store.supervision.cohandle(ADMIN, other, "plant-2")
    await store.supervision.cohandle(ADMIN, number, "plant-2")
    if rel is R.FOLLOWER:
        dup = (await store.cases.submit(petitioner(DUP_USER), draft(unit="plant-1"), key + "d")).case.number
        if not confidential:
            await store.links.merge(ADMIN, number, dup, "同一事项")
    if rel is R.HANDLER:
        await _set(store, "UPDATE cases SET assignee_id = ? WHERE number = ?", person(act, rel), number)
    if act is Act.INCIDENT:  # a collective-petition alert of the many cases filed here may have opened one
        await _set(store, "UPDATE incidents SET status = 'closed' WHERE status = 'open'")
    if act is Act.REPEAT:  # the second case filed a year before the first: the earlier case of its matter
        [(filed,)] = await _rows(store, "SELECT submitted_at FROM cases WHERE number = ?", number)
        assert isinstance(filed, str)
        await _set(store, "UPDATE cases SET submitted_at = ? WHERE number = ?",
                   str(int(filed[:4]) - 1) + filed[4:], other)
    if act is Act.UNLINK and not confidential:
        await store.links.link(ADMIN, number, other)
    if act is Act.TASK_DONE or STAGE.get(act):
        await store.cases.act(ADMIN, number, Action.ACCEPT)
    stage = STAGE.get(act)
    if stage in ("decided", "dissatisfied", "review"):
        await store.cases.act(ADMIN, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.REJECT, body="经核实，不予支持。")
    if stage == "dissatisfied":
        await store.review.rate(citizen(owner), number, Rating.DISSATISFIED)
    if stage == "review":
        await store.review.request_review(citizen(owner), number, "不服")
    draft_id = 0
    if act is Act.APPROVE:  # plant-1's officer drafts the opinion and submits it for approval (提请签发)
        draft_id = await store.approvals.submit(OFFICER_P1, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT,
                                                body="予以支持")
    return Scene(number, other, owner, codes, confidential, draft_id)


def person(act: Act, rel: Relation) -> int:
    officer, leader = PEOPLE[rel]
    return leader if act in LEADER_ACTS else officer


async def task_of(store: Services, number: str) -> int:
    [(task_id,)] = await _rows(store, "SELECT t.id FROM contact_tasks t JOIN cases c ON c.id = t.case_id"
                                     " WHERE c.number = ? ORDER BY t.id LIMIT 1", number)
    return int(str(task_id))


Driver = Callable[[Services, Actor, Scene], Awaitable[object]]

#: The store call behind each act's commands and buttons.
DRIVERS: dict[Act, Driver] = {
    Act.READ: lambda s, a, c: s.cases.case_for(a, c.number),
    Act.ACCEPT: lambda s, a, c: s.cases.act(a, c.number, Action.ACCEPT),
    Act.DECLINE: lambda s, a, c: s.cases.act(a, c.number, Action.DECLINE, grounds=DeclineGrounds(reason="other"), body="不属于信访事项"),
    Act.ASSIGN: lambda s, a, c: s.cases.act(a, c.number, Action.ASSIGN, assignee_id=1005),
    Act.REPLY: lambda s, a, c: s.cases.act(a, c.number, Action.REPLY, body="请补充材料"),
    Act.NOTE: lambda s, a, c: s.cases.act(a, c.number, Action.NOTE, body="内部备注"),
    Act.EXTEND: lambda s, a, c: s.cases.act(a, c.number, Action.EXTEND, days=10, body="情况复杂"),
    Act.DECIDE: lambda s, a, c: s.cases.act(a, c.number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="予以支持"),
    Act.TRANSFER: lambda s, a, c: s.cases.act(a, c.number, Action.TRANSFER, unit="refinery", body="转交"),
    Act.REVEAL: lambda s, a, c: s.cases.reveal(a, c.number, "依法调查"),
    Act.SUPERVISE: lambda s, a, c: s.supervision.supervise(a, c.number, 3, "抓紧办理"),
    Act.PROGRESS: lambda s, a, c: s.supervision.progress(a, c.number, "已约谈"),
    Act.URGE: lambda s, a, c: s.supervision.urge(a, c.number, "请加快"),
    Act.FOLLOW_UP: lambda s, a, c: s.supervision.follow_up(a, c.number, "phone", "已电话回访"),
    Act.LEAD: lambda s, a, c: s.supervision.take_lead(a, c.number),
    Act.REDO: lambda s, a, c: s.supervision.redo(a, c.number, "重新核实"),
    Act.COHANDLE: lambda s, a, c: s.supervision.cohandle(a, c.number, "refinery"),
    Act.COHANDLE_OFF: lambda s, a, c: s.supervision.cohandle_off(a, c.number, "plant-2"),
    Act.REVIEW_OPINION: lambda s, a, c: s.review.review_opinion(a, c.number, ReviewOutcome.MAINTAIN, "维持", participants=[_id(a)], parts=REVIEW_PARTS),
    Act.INCIDENT: lambda s, a, c: s.incidents.declare(a, c.number, 4),
    Act.LINK: lambda s, a, c: s.links.link(a, c.number, c.other),
    Act.UNLINK: lambda s, a, c: s.links.unlink(a, c.number, c.other),
    Act.MERGE: lambda s, a, c: s.links.merge(a, c.other, c.number, "同一事项"),
    Act.REPEAT: lambda s, a, c: s.repeats.confirm(a, c.number, c.other),
    Act.CODES: lambda s, a, c: s.ledger.reissue_codes(a, c.number),
    Act.TASK_DONE: lambda s, a, c: _task_done(s, a, c),
    Act.CLAIM: lambda s, a, c: s.ledger.claim(_id(a), c.codes[-1]),
    Act.REBIND: lambda s, a, c: s.ledger.rebind(a, c.number),
    Act.VIEW_OWN: lambda s, a, c: s.self_service.petitioner_case(_id(a), c.number),
    Act.ADD_INFO: lambda s, a, c: s.self_service.add_information(_id(a), c.number, text="补充材料", key="m1"),
    Act.WITHDRAW: lambda s, a, c: s.self_service.withdraw(_id(a), c.number),
    Act.RATE: lambda s, a, c: s.review.rate(a, c.number, Rating.SATISFIED),
    Act.COMMENT: lambda s, a, c: s.review.comment_rating(a, c.number, "态度很好"),
    Act.ACCEPT_OUTCOME: lambda s, a, c: s.review.accept_outcome(a, c.number),
    Act.REQUEST_REVIEW: lambda s, a, c: s.review.request_review(a, c.number, "不服"),
    Act.DOCUMENT: lambda s, a, c: s.documents.documents(a, c.number),
    Act.FILES: lambda s, a, c: s.cases.files(a, c.number),
    Act.SERVE: lambda s, a, c: s.review.serve(a, c.number, s.context.today(), ServedHow.IN_PERSON),
    Act.APPROVE: lambda s, a, c: s.approvals.approve(a, c.draft),
    Act.HEARING: lambda s, a, c: s.review.schedule_hearing(a, c.number, s.context.today(), "油田公司信访办会议室"),
}


def _id(actor: Actor) -> int:
    assert actor.id is not None
    return actor.id


async def _task_done(store: Services, actor: Actor, case: Scene) -> object:
    return await store.ledger.complete_task(actor, await task_of(store, case.number), InformHow.PHONE)


def role_allows(store: Services, act: Act, actor: Actor) -> bool:
    action = ROLE_OF[act]
    return action is None or actor.role in RULES[action].roles


def applies(act: Act, rel: Relation, confidential: bool) -> bool:
    """Can someone stand in ``rel`` to the case ``act`` needs? (No chat petitioner of a registered case, no
    follower of a confidential case: it is never merged.)"""
    if rel is R.PETITIONER and (act in REGISTERED):
        return False
    if rel is R.FOLLOWER and confidential:
        return False
    return not (rel is R.CLAIMANT and act is Act.CLAIM)  # the claimant's own claim: tested in test_ledger_store


CASE_ACTS = [act for act in Act if act is not Act.REGISTER]


@pytest.mark.parametrize("act", CASE_ACTS, ids=[a.value for a in CASE_ACTS])
async def test_the_store_allows_exactly_what_the_policy_declares(pstore: Services, act: Act) -> None:
    assert act in POLICY and act in DRIVERS
    checked = 0
    for confidential in (False, True):
        # The relations whose scene is the same case: one case serves them while the act is refused
        # and leaves the journal and the cases as they were; after an allowed act, a fresh one.
        shared: Scene | None = None
        for rel in Relation:
            if not applies(act, rel, confidential):
                continue
            key = f"{act.value}-{rel.value}-{int(confidential)}"
            plain = rel not in SCENE_OF_ITS_OWN
            case = shared if plain and shared is not None else await scene(pstore, act, rel, confidential, key)
            shared = None
            actor = pstore.cases.actor(person(act, rel))
            # The person stands in the relation under test (the store's one computation of it).
            async with pstore.db.read() as conn:
                loaded = await pstore.context.case_where(conn, "number = ?", (case.number,))
                assert loaded is not None
                relations = await pstore.context.relations(conn, actor, loaded)
            assert rel in relations, (key, relations)
            allowed = allows(act, relations, confidential) and role_allows(pstore, act, actor)
            domain = DOMAIN.get((act, rel, confidential)) if allowed else None
            before = await journal_size(pstore)
            cases_before = await case_rows(pstore, case)
            try:
                await DRIVERS[act](pstore, actor, case)
            except StoreError as error:
                assert not allowed or domain == error.code, (key, relations, error.code, error.params)
                assert await journal_size(pstore) == before, key
            else:
                assert allowed and domain is None, (key, relations, "allowed but declared refused")
                grew = await journal_size(pstore) > before
                assert grew or act in READS, (key, "nothing journaled")
            # A scene that nothing changed (a refusal, a read) serves the next relation.
            if plain and await journal_size(pstore) == before and await case_rows(pstore, case) == cases_before:
                shared = case
            checked += 1
    assert checked >= 15


async def test_register_is_allowed_for_the_units_in_scope_only(pstore: Services) -> None:
    today = pstore.context.today()
    for confidential in (False, True):
        for staff_id in (1001, 1002, 1003, 1005, 3002, 3003, 3004, 3005, 9001, MAIN_USER):
            actor = pstore.cases.actor(staff_id)
            staff = pstore.org.staff_member(staff_id)
            allowed = actor.is_staff and allows(Act.REGISTER, unit_relations(pstore.org, staff, "plant-1"),
                                                confidential)
            before = rows(pstore, "SELECT count(*) FROM cases")[0][0]
            try:
                await pstore.ledger.register(actor, letter(today, confidential=confidential, name=f"人{staff_id}",
                                                           phone=None))
            except Refused as error:
                assert not allowed, (staff_id, error.code)
                assert error.code in ("register_out_of_scope", "staff_only")
                assert rows(pstore, "SELECT count(*) FROM cases")[0][0] == before
            else:
                assert allowed, staff_id
                assert rows(pstore, "SELECT count(*) FROM cases")[0][0] == before + 1


# ------------------------------------------------------------ the handler table


def _entry_points(handlers: list[BaseHandler], taps: dict[str, Update] | None = None) -> set[str]:
    """Every command and button head the handlers answer (conversations opened up)."""
    if taps is None:  # a tap on each button of the catalog, made once for every handler
        taps = {b.head: _query(b.head if not b.fields else _sample(b)) for area in cb.AREAS for b in area.buttons}
    found: set[str] = set()
    for handler in handlers:
        if isinstance(handler, ConversationHandler):
            inner = [*handler.entry_points, *handler.fallbacks]
            for state in handler.states.values():
                inner += state
            found |= _entry_points(inner, taps)
        elif isinstance(handler, CommandHandler):
            found |= {f"/{c}" for c in handler.commands}
        elif isinstance(handler, CallbackQueryHandler):
            found |= {head for head, tap in taps.items() if handler.check_update(tap)}
    return found


def _sample(button: cb.Button) -> str:
    samples: dict[str, str | int] = {"int": 1, "number": "XF-2026-000001", "key": "plant-1", "key_or_empty": "plant-1",
               "token": "0" * 32, "hhmm": "09:00"}
    values: list[str | int | date] = []  # what each field's type writes (handlers/callbacks.py)
    for f in button.fields:
        if f.name == "choice":
            values.append(f.regex.split("|")[0].replace("\\", ""))
        elif f.name == "day":
            values.append(date(2026, 11, 2))
        else:
            values.append(samples[f.name])
    return button.encode(*values)


def _query(data: str) -> Update:
    return Update(1, callback_query=CallbackQuery("1", User(1, "x", False), "ci", data=data))


def test_every_command_and_button_of_the_application_is_declared(pstore: Services) -> None:
    application = build_application(pstore, "1:x", base_url="http://127.0.0.1:9/bot",
                                    base_file_url="http://127.0.0.1:9/file", paced=False)
    handlers = [h for group in application.handlers.values() for h in group]
    found = _entry_points(handlers)
    assert found, "no commands found in the handler table"
    missing = sorted(found - set(ENTRY_POINTS))
    assert missing == [], f"commands or buttons not declared in store/policy.py ENTRY_POINTS: {missing}"
    heads = {b.head for area in cb.AREAS for b in area.buttons}
    assert heads <= set(ENTRY_POINTS), sorted(heads - set(ENTRY_POINTS))
    stale = sorted(set(ENTRY_POINTS) - found - heads)
    assert stale == [], f"declared but not in the application: {stale}"
    for name, act in ENTRY_POINTS.items():
        assert act is None or act in POLICY, name


# ------------------------------------------------- through the Telegram handlers


@pytest.fixture
async def papp(pstore: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    async with offline_app(pstore) as running:
        yield running


async def test_a_cohandler_is_refused_merge_link_and_codes_in_the_chat(
    pstore: Services, papp: tuple[Application, OfflineRequest]
) -> None:
    application, request = papp
    lead = (await pstore.cases.submit(petitioner(MAIN_USER), draft(unit="plant-1"), "a")).case.number
    own = (await pstore.cases.submit(petitioner(5004), draft(unit="plant-2"), "b")).case.number
    registered = (await pstore.ledger.register(OFFICER_P1, letter(pstore.context.today()))).case.number
    for n in (lead, registered):
        await pstore.supervision.cohandle(ADMIN, n, "plant-2")
    cohandler = Updates(1002, "李干事")
    for command in (f"/merge {own} {lead} 同一事项", f"/link {lead} {own}", f"/codes {registered}"):
        await feed(application, cohandler.text(command))
        assert "由主办单位答复和办理" in request.last_to(1002).text, command
    assert rows(pstore, "SELECT count(*) FROM events WHERE action IN ('merge', 'link', 'codes')") == [(0,)]
    # A contact task of the lead unit: the co-handler reads it without the buttons to mark it told, and a
    # forged button is refused; the lead unit's officer gets the buttons.
    await pstore.cases.act(ADMIN, registered, Action.ACCEPT)
    task_id = await task_of(pstore, registered)
    await feed(application, cohandler.tap(cb.Lg.TASK.encode(task_id)))
    assert "告知任务" in request.last_to(1002).text and request.last_to(1002).buttons() == []
    await feed(application, cohandler.tap(cb.Lg.DONE.encode(task_id, "p")))
    assert "由主办单位答复和办理" in request.last_to(1002).text
    assert rows(pstore, "SELECT done_at FROM contact_tasks WHERE id = ?", task_id) == [(None,)]
    await feed(application, Updates(1001).tap(cb.Lg.TASK.encode(task_id)))
    assert any(data.startswith("lg:d:") for _, data in request.last_to(1001).buttons())
    # The card a co-handler sees offers notes and progress, nothing of the lead unit's.
    case = await pstore.cases.case_for(pstore.cases.actor(1002), lead)
    assert pstore.cases.offered(pstore.cases.actor(1002), case) <= {Action.NOTE, Action.PROGRESS}


async def test_a_follower_taps_rate_and_is_told_it_is_not_theirs(
    pstore: Services, papp: tuple[Application, OfflineRequest]
) -> None:
    application, request = papp
    main = (await pstore.cases.submit(petitioner(MAIN_USER), draft(unit="plant-1"), "m")).case.number
    dup = (await pstore.cases.submit(petitioner(DUP_USER), draft(unit="plant-1"), "d")).case.number
    await pstore.links.merge(ADMIN, main, dup, "同一事项")
    await pstore.cases.act(ADMIN, main, Action.ACCEPT)
    await pstore.cases.act(ADMIN, main, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="予以支持")
    await feed(application, Updates(DUP_USER).tap(cb.Rv.RATE.encode("s", main)))
    assert "评价、申请复查和获取文书仅限该事项的信访人本人" in request.last_to(DUP_USER).text
    await feed(application, Updates(DUP_USER).text(f"/document {main}"))
    assert "仅限该事项的信访人本人" in request.last_to(DUP_USER).text
    assert rows(pstore, "SELECT rating FROM cases WHERE number = ?", main) == [(None,)]


async def test_a_claim_asks_for_the_contact_and_refuses_someone_elses(
    pstore: Services, papp: tuple[Application, OfflineRequest]
) -> None:
    application, request = papp
    done = await pstore.ledger.register(OFFICER_P1, letter(pstore.context.today()))
    user = Updates(7001, "刘")
    await feed(application, user.contact("+8613800138000"))
    assert "没有待认领的信访事项" in request.last_to(7001).text
    await feed(application, user.text(f"/claim {done.codes[0].shown}"))
    prompt = request.last_to(7001)
    assert "分享您的 Telegram 手机号码" in prompt.text
    await feed(application, user.contact("+8613800138000", own=False))  # a forwarded card, not attested
    assert "不要转发他人的名片" in request.last_to(7001).text
    await feed(application, user.contact("+8613911112222"))
    assert "不一致" in request.last_to(7001).text
    assert rows(pstore, "SELECT telegram_hid FROM petitioners") == [(None,)]
    await feed(application, user.text(f"/claim {done.codes[0].shown}"))
    await feed(application, user.contact("+8613800138000"))
    assert "认领成功" in request.last_to(7001).text
    assert rows(pstore, "SELECT telegram_hid FROM petitioners") == [(pstore.context.claim_key(7001),)]


def test_the_declaration_names_every_act_and_the_cohandlers_read_note_and_progress_only() -> None:
    assert set(POLICY) == set(Act)
    cohandler = frozenset({R.COHANDLER})
    assert {act for act in Act if allows(act, cohandler) or allows(act, cohandler, True)} == {
        Act.READ, Act.NOTE, Act.PROGRESS, Act.DOCUMENT, Act.FILES}
    follower = frozenset({R.FOLLOWER})
    assert not any(allows(act, follower) for act in (Act.RATE, Act.REQUEST_REVIEW, Act.DOCUMENT, Act.WITHDRAW))



def test_docs_policy_holds_the_current_declaration() -> None:
    text = (Path(__file__).parents[1] / "docs" / "policy.md").read_text(encoding="utf-8")
    begin, end = "<!-- policy:begin -->\n", "<!-- policy:end -->"
    assert begin in text and end in text
    shown = text.split(begin, 1)[1].split(end, 1)[0]
    assert shown == markdown_table(), "docs/policy.md is out of date: python -m store.policy"


async def test_register_in_the_chat_for_a_unit_out_of_scope_is_refused_and_the_draft_kept(
    pstore: Services, papp: tuple[Application, OfflineRequest]
) -> None:
    application, request = papp
    staff = Updates(1001, "王干事")
    today = pstore.context.today()
    for step in (staff.text("/register"), staff.tap("rg:ch:call"), staff.tap(cb.Rg.TODAY.encode(today)),
                 staff.tap("rg:who:anon"), staff.tap("rg:cat:wages"), staff.tap("rg:unit:refinery"),
                 staff.text("匿名来电"), staff.text("匿名来电反映情况。"), staff.tap("rg:files"),
                 staff.tap("rg:sec:real")):
        await feed(application, step)
    submit = next(data for _, data in request.last_to(1001).buttons() if data.startswith("rg:submit:"))
    await feed(application, staff.tap(submit))
    texts = request.texts_to(1001)
    assert any("只能为本人负责范围内的单位登记" in text for text in texts[-3:])
    assert rows(pstore, "SELECT count(*) FROM cases") == [(0,)]
    assert await pstore.ledger.get_draft(1001) is not None  # kept, to change the unit
