"""/verify in the chat, update by update with an offline Bot API: an employee verified by their own contact.

Roster: 刘师傅 YC1024 of 第一采油厂 (plant-1), phone 138 0013 8000. The org: tests/org_fixture.toml.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from telegram.ext import Application

from handlers.i18n import Html
from handlers.render import case_card
from store.ledger import PersonIn, Registration
from store.models import Actor, ActorRole, Channel
from store.services import Services
from tests.backends import rows
from tests.conftest import draft, petitioner
from tests.offline import OfflineRequest, Updates, feed

EMPLOYEE = 7001
ROSTER = [(2, {"employee_no": "YC1024", "name": "刘师傅", "unit": "第一采油厂", "phone": "13800138000"})]


def reply_keyboard(request: OfflineRequest, chat: int) -> list[dict[str, Any]]:
    markup = request.last_to(chat).params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b for row in markup.get("keyboard", []) for b in row]


async def test_an_employee_verifies_from_the_start_button_with_their_own_contact(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    await store.roster.import_rows(ROSTER, dry_run=False)
    me = Updates(EMPLOYEE, "老刘")
    await feed(application, me.text("/start"))
    assert ("核验员工身份", "vf:go") in request.last_to(EMPLOYEE).buttons()

    await feed(application, me.tap("vf:go"))
    assert "核验员工身份" in request.last_to(EMPLOYEE).text
    keyboard = reply_keyboard(request, EMPLOYEE)
    assert keyboard[0] == {"text": "📱 分享我的手机号", "request_contact": True}

    await feed(application, me.contact("8613800138000"))
    assert request.last_to(EMPLOYEE).text == "✅ 核验成功：刘师傅（工号 YC1024，第一采油厂）。"
    assert rows(store, "SELECT employee_no FROM verified_accounts") == [("YC1024",)]

    await feed(application, me.text("/start"))
    assert ("核验员工身份", "vf:go") not in request.last_to(EMPLOYEE).buttons()
    await feed(application, me.text("/verify"))
    assert request.last_to(EMPLOYEE).text == "您已核验为 刘师傅（工号 YC1024，第一采油厂）。"


async def test_a_forwarded_contact_or_an_unknown_number_is_refused_politely(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    await store.roster.import_rows(ROSTER, dry_run=False)
    other = Updates(7002, "Someone", language_code="en")
    await feed(application, other.text("/verify"))
    await feed(application, other.contact("8613800138000", user_id=EMPLOYEE))  # 刘师傅's contact card
    assert request.last_to(7002).text.startswith("Only your own number can be shared.")
    await feed(application, other.contact("8613911111111"))
    assert request.last_to(7002).text.startswith("No active employee in the roster has this phone number")
    assert rows(store, "SELECT COUNT(*) FROM verified_accounts") == [(0,)]
    await feed(application, other.text("Not now"))
    assert request.last_to(7002).text == "All right, not now. Send /verify whenever you wish."


async def test_without_a_roster_start_offers_no_verification(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    await feed(application, Updates(EMPLOYEE).text("/start"))
    assert request.last_to(EMPLOYEE).buttons() == []
    await feed(application, Updates(EMPLOYEE).tap("vf:forged:1"))
    assert "核验员工身份" in request.last_to(EMPLOYEE).text


async def test_a_verified_employee_files_under_the_roster_and_meets_their_registered_letter(
    app: tuple[Application, OfflineRequest], store: Services
) -> None:
    application, request = app
    await store.roster.import_rows(ROSTER, dry_run=False)
    me = Updates(EMPLOYEE, "老刘")
    await feed(application, me.contact("8613800138000"))  # shared on its own: verifies
    assert rows(store, "SELECT employee_no FROM verified_accounts") == [("YC1024",)]

    # The intake offers the employee's own unit first.
    await feed(application, me.text("/new"))
    await feed(application, me.tap("in:cat:wages"))
    assert ("👤 本人单位：第一采油厂", "in:here:plant-1") in request.last_to(EMPLOYEE).buttons()

    # A letter from the same person (same phone), registered before, on the same matter.
    officer = Actor(id=1001, role=ActorRole.OFFICER, name="王主任")
    letter = await store.ledger.register(officer, Registration.model_validate({
        "channel": Channel.LETTER, "received_on": date(2026, 10, 30),
        "people": [PersonIn(name="刘师傅", phone="138-0013-8000")], "category": "wages", "unit": "plant-1",
        "subject": "加班费未发放", "details": "来信反映加班费未发放。"}))
    case = (await store.cases.submit(petitioner(EMPLOYEE, "老刘"), draft(), "verified-1")).case
    assert (case.petitioner_name, case.employee_no, case.employee_unit) == ("刘师傅", "YC1024", "plant-1")
    # Proposed as a repeat of the letter (the same person by the roster's phone), not marked by itself.
    assert [c.number for c in await store.repeats.candidates(officer, case)] == [letter.case.number]
    assert rows(store, "SELECT repeat_of FROM cases WHERE id = ?", case.id) == [(None,)]
    card = "\n".join(case_card(case, store.org, "zh", header=Html(""), attachments=0))
    assert "身份：已核验（工号 YC1024，第一采油厂）" in card

    # Someone unverified files: the card says so; a confidential report says nothing of anyone.
    other = (await store.cases.submit(petitioner(7002, "张三"), draft(subject="别的事"), "plain-1")).case
    assert "身份：未核验" in "\n".join(case_card(other, store.org, "zh", header=Html(""), attachments=0))
    secret = (await store.cases.submit(petitioner(EMPLOYEE, "老刘"), draft(confidential=True), "secret-1")).case
    secret_card = "\n".join(case_card(secret, store.org, "zh", header=Html(""), attachments=0))
    assert secret.employee_no is None and "核验" not in secret_card and "YC1024" not in secret_card
