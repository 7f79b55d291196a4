"""Conversation names as a contract: one enum for the handlers, PTB persistence and the store's rows."""

from __future__ import annotations

from handlers import intake, opinion, prompts, reception, reception_leader, register, review_opinion, screening
from store.conversations import Conversation
from store.services import Services
from tests.conftest import draft, rows

LEADER = 2001


def test_each_conversation_is_registered_under_its_name() -> None:
    built = (intake.build(), prompts.build(), reception.build(), reception.build_booking(), reception_leader.build_publish(),
             reception_leader.build_outcome(), reception_leader.build_session_cancel(), screening.build(), register.build(), opinion.build(), review_opinion.build())
    assert {h.name for h in built} == set(Conversation)


def test_the_stored_names_never_change() -> None:
    assert {c.value for c in Conversation} == {"intake", "prompt", "reception", "screening", "register", "opinion",
                                                "review_opinion", "reception_booking", "reception_publish",
                                                "reception_outcome", "reception_cancel_session"}


async def test_the_store_keeps_each_draft_in_its_conversations_row(store: Services) -> None:
    await store.cases.save_draft(5001, "subject", draft())
    await store.cases.set_prompt(5002, "add", "X-2026-000001")
    publishing = await store.reception.begin_publish(store.cases.actor(LEADER))  # its form keeps it
    await store.forms.save(Conversation.RECEPTION_PUBLISH, LEADER, "day", publishing.model_dump(mode="json"))
    names = dict(rows(store, "SELECT key, name FROM conversations"))
    # keyed by the keyed hash of each person's id (store/vault.py), never the id itself
    key = store.context.conv_key
    assert names == {key(5001): Conversation.INTAKE, key(5002): Conversation.PROMPT, key(LEADER): Conversation.RECEPTION_PUBLISH}
