"""Each journal event's record has its model (store/event_data.py): written by it, read by it."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from store.event_data import (
    DATA,
    AcceptData,
    ActData,
    ClaimData,
    DecideData,
    EventData,
    ExtendData,
    RateData,
    SubmitData,
    data_of,
    record_of,
    stored_data,
)
from store.events import Journaled
from store.models import Actor, ActorRole, Decision, Event, Rating, Status
from store.services import Services
from store.workflow import Action
from tests.backends import rows
from tests.conftest import OPINION_PARTS, draft, petitioner

ROOT = Path(__file__).resolve().parent.parent
OFFICER = Actor(id=1001, role=ActorRole.OFFICER)


def event(action: str, data: dict[str, object]) -> Event:
    return Event(id=1, case_id=1, at=datetime(2026, 12, 1, tzinfo=UTC), actor_id=None,
                 actor_role=ActorRole.SYSTEM, action=action, status_after=Status.ACCEPTED, body=None, data=data,
                 public=False)


def test_every_action_declares_its_record() -> None:
    assert set(DATA) == set(Action)


def test_a_record_is_stored_as_its_writer_set_it_and_nothing_else() -> None:
    assert stored_data(Action.SUBMIT, SubmitData(attachments=2)) == {"attachments": 2}  # no defaults added
    assert stored_data(Action.ACCEPT, AcceptData(answer_due=date(2027, 2, 1))) == {"answer_due": "2027-02-01"}
    assert stored_data(Action.NOTE, ActData()) == {}


def test_a_record_of_another_action_or_with_an_unknown_key_is_refused() -> None:
    with pytest.raises(TypeError, match="accept records AcceptData, not RateData"):
        stored_data(Action.ACCEPT, RateData(rating=Rating.SATISFIED))
    with pytest.raises(TypeError):
        stored_data(Action.ACCEPT, ActData())  # the act's base is not its record
    with pytest.raises(ValidationError):
        AcceptData(answer_due=date(2027, 2, 1), answer_dew="2027-02-01")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        ExtendData(days="many", answer_due=date(2027, 2, 1))


def test_an_older_record_reads_its_missing_fields_by_default_and_leaves_unknown_keys_aside() -> None:
    older = data_of(event("decide", {"decision": "support"}), DecideData)  # before the parts were recorded
    assert older.decision is Decision.SUPPORT and older.parts is None and older.approved_by is None
    claimed = data_of(event("claim", {"petitioner": 7, "superseded": 0, "gone": True}), ClaimData)
    assert claimed.petitioner == 7 and claimed.confirmed is None


def test_a_reader_names_the_record_it_expects() -> None:
    accepted = event("accept", {"answer_due": "2027-02-01"})
    assert data_of(accepted, ActData).approved_by is None  # an act's common fields, from any act
    assert data_of(accepted, EventData) == AcceptData(answer_due=date(2027, 2, 1))  # the declared model itself
    with pytest.raises(TypeError, match="accept records AcceptData, not DecideData"):
        data_of(accepted, DecideData)
    with pytest.raises(TypeError, match="unknown action"):
        record_of("from_a_newer_version", {}, EventData)


async def test_the_store_journals_typed_records_that_read_back(store: Services) -> None:
    case = (await store.cases.submit(petitioner(), draft(), "k1")).case
    await store.cases.act(OFFICER, case.number, Action.ACCEPT)
    await store.cases.act(OFFICER, case.number, Action.EXTEND, days=10, body="需要调查。")
    case = await store.cases.act(OFFICER, case.number, Action.DECIDE, parts=OPINION_PARTS,
                                 decision=Decision.EXPLAIN, body="经核实，已按规定发放。")
    stored = {action: json.loads(data) for action, data in
              rows(store, "SELECT action, data FROM events WHERE case_id = ?", case.id)}
    assert case.answer_due is not None
    assert stored["submit"] == {"attachments": 0}
    assert stored["extend"] == {"days": 10, "answer_due": case.answer_due.isoformat()}
    assert stored["decide"]["decision"] == "explain" and set(stored["decide"]["parts"]) == {"request", "facts", "basis"}
    events = {e.action: e for e in await store.cases.timeline(case.id, public_only=False)}
    extended = data_of(events["extend"], ExtendData)
    assert extended.days == 10 and extended.answer_due == case.answer_due
    decided = data_of(events["decide"], DecideData)
    assert decided.decision is Decision.EXPLAIN and decided.parts == OPINION_PARTS


async def test_journaling_publishes_what_was_journaled_and_does_nothing_else_itself(store: Services) -> None:
    """``StoreContext.event`` appends and publishes ``Journaled``: whoever reacts (the leader in charge) subscribes."""
    heard: list[Journaled] = []

    async def listen(conn: object, journaled: Journaled) -> None:
        heard.append(journaled)

    store.context.events.subscribe(Journaled, listen)
    case = (await store.cases.submit(petitioner(), draft(), "k1")).case
    await store.cases.act(OFFICER, case.number, Action.ACCEPT)
    ids = [event_id for (event_id,) in rows(store, "SELECT id FROM events WHERE case_id = ? ORDER BY id", case.id)]
    assert heard == [Journaled(case.id, ids[0], Action.SUBMIT, 5001, inserted=True),  # in the case's own transaction
                     Journaled(case.id, ids[1], Action.ACCEPT, 1001)]


def test_no_module_reads_an_events_data_by_key() -> None:
    """Records are read by ``data_of`` only: ``event.data`` by key is what the models replaced."""
    by_key = re.compile(r"\b(?:event|e|ev|last)\.data\b")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("bot", "handlers", "store")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "event_data.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if by_key.search(line)
    ]
    assert found == []
