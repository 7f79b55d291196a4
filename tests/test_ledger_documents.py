"""Formal documents for cases registered by staff: the letter's date, the named petitioner, who gets the PDF.

A petitioner without Telegram gets the step's notice through the officer's contact task, and the officer
gets the step's documents to print, seal and mail: one task per step, which names the documents, and no
second task for the documents themselves. A representative who claimed the case gets them in chat.
Organisation: tests/org_fixture.toml; officer 王主任 1001 (plant-1, wages). Clock: 2026-11-02.
"""

from __future__ import annotations

from datetime import date, timedelta

from handlers.documents import render_pdf
from handlers.notifications import task_text
from store.document_kinds import DocumentKind
from store.ledger import PersonIn, PersonRole, Registration
from store.models import Actor, ActorRole, Channel
from store.services import Services
from store.workflow import Action
from tests.conftest import rows
from tests.test_documents import pdf_text

OFFICER = Actor(id=1001, role=ActorRole.OFFICER, name="王主任")
TODAY = date(2026, 11, 2)


def letter(people: list[PersonIn]) -> Registration:
    return Registration.model_validate({
        "channel": Channel.LETTER, "received_on": TODAY - timedelta(days=10), "people": people,
        "category": "wages", "unit": "plant-1", "subject": "加班费未发放", "details": "来信反映9月加班费未发放。",
    })


async def test_a_letters_acceptance_notice_names_the_writer_and_the_day_it_came(store: Services) -> None:
    done = await store.ledger.register(OFFICER, letter([PersonIn(name="刘师傅", phone="13800138000")]))
    number = done.case.number
    await store.cases.act(OFFICER, number, Action.ACCEPT)

    # One task for the step (the acceptance notice), none for the document; the officer has the PDF.
    assert rows(store, "SELECT kind FROM contact_tasks ORDER BY id") == [("petitioner_event",)]
    officer_copies = rows(store, "SELECT chat_id, params FROM outbox WHERE kind = 'document'")
    assert [chat for chat, _ in officer_copies] == [1001] and '"officer"' in officer_copies[0][1]

    [task], total = await store.ledger.open_tasks(OFFICER)
    assert total == 1
    text = "\n\n".join(await task_text(task, store, "zh"))
    assert "随附书面告知：受理告知书" in text and "请打印、盖章后寄送" in text
    assert "With it: Notice of Acceptance." in "\n\n".join(await task_text(task, store, "en"))

    case, [doc] = await store.documents.for_event(done.case.id, _accept_event(store), [DocumentKind.ACCEPTED])
    pdf = pdf_text(await render_pdf(doc, store.org))
    assert number in pdf and "刘师傅" in pdf and "受理告知书" in pdf
    assert "收到日期：2026年10月23日" in pdf  # the day the letter came, not the day it was registered


async def test_a_representative_who_claimed_gets_the_documents_in_chat(store: Services) -> None:
    people = [PersonIn(name=name, phone=phone, role=PersonRole.REPRESENTATIVE)
              for name, phone in (("张一", "13900000001"), ("张二", "13900000002"))]
    done = await store.ledger.register(OFFICER, letter(people))
    await store.ledger.claim(7001, done.codes[0].code, "13900000001", 7001)
    await store.cases.act(OFFICER, done.case.number, Action.ACCEPT)

    documents = rows(store, "SELECT chat_id FROM outbox WHERE kind = 'document' ORDER BY chat_id")
    # The officer's copy, and the claimant's (outbox rows name a claimant by their keyed chat id).
    assert sorted(chat for (chat,) in documents) == sorted([1001, store.context.claim_key(7001)])
    # The one who has not claimed: a task for the acceptance notice only.
    assert rows(store, "SELECT kind FROM contact_tasks WHERE superseded_at IS NULL AND done_at IS NULL") == [
        ("petitioner_event",)]


def _accept_event(store: Services) -> int:
    [(event_id,)] = rows(store, "SELECT id FROM events WHERE action = 'accept'")
    return int(event_id)
