"""Scope is checked when a notice is queued and again when it is sent (issue 11, path 2).

An officer recused from the case's unit after the case was filed (the
organisation file changed, the bot restarted) gets nothing more about it:
rows queued before are skipped at send time with a reason, and nothing new
is queued for them.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bot.outbox import OutboxSender
from store.clock import FakeClock
from store.models import Actor, ActorRole, Decision, Rating
from store.org import Organization
from store.services import Services
from store.workflow import Action
from tests.conftest import OPINION_PARTS, draft, petitioner, rows

OFFICER = Actor(id=1001, role=ActorRole.OFFICER)  # plant-1, wages
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)
REPORTER = Actor(id=5001, role=ActorRole.PETITIONER)


class RecordingBot:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
        self.sent.append((chat_id, text))
        return SimpleNamespace(message_id=len(self.sent))

    async def send_document(self, chat_id: int, document: Any, caption: str = "", **_: Any) -> Any:
        self.sent.append((chat_id, caption))  # a formal document (handlers/documents.py)
        return SimpleNamespace(message_id=len(self.sent))


def recused_later(org: Organization) -> Organization:
    staff = [
        {**s.model_dump(), "recuse_units": ["plant-1"]} if s.telegram_id == 1001 else s.model_dump()
        for s in org.staff
    ]
    return Organization.model_validate({**org.model_dump(), "staff": staff})


async def test_an_officer_recused_after_filing_gets_no_more_additions_or_ratings(
    tmp_path: Path, org: Organization, clock: FakeClock
) -> None:
    path = tmp_path / "cases.db"
    before = await Services.open(path, org, clock)
    case = (await before.cases.submit(petitioner(5001), draft(confidential=True), "c")).case
    await before.cases.act(OFFICER, case.number, Action.ACCEPT)
    await before.cases.add_info(REPORTER, case.number, "补充一：工资条")  # queued to 1001, the assignee
    queued = rows(path, "SELECT count(*) FROM outbox WHERE chat_id = 1001 AND kind = 'staff_event'")
    assert queued == [(1,)]
    await before.close()

    after = await Services.open(path, recused_later(org), clock)
    try:
        await after.cases.add_info(REPORTER, case.number, "补充二：银行流水")
        await after.cases.act(ADMIN, case.number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.SUPPORT, body="予以支持")
        await after.review.rate(REPORTER, case.number, Rating.DISSATISFIED)
        bot = RecordingBot()
        await OutboxSender(after, bot, chat_interval=0.0).run_once()  # type: ignore[arg-type]
    finally:
        await after.close()

    assert all(chat != 1001 for chat, _ in bot.sent)
    assert not any("补充" in text for chat, text in bot.sent if chat == 1001)
    assert any("补充二" in text for chat, text in bot.sent if chat == 1002)  # the officer still in scope
    # nothing new was queued for 1001 after the recusal; what was queued before was skipped, with the reason
    assert rows(path, "SELECT kind, sent_at IS NULL, skip_reason FROM outbox WHERE chat_id = 1001 AND id >"
                " (SELECT min(id) FROM outbox WHERE kind = 'staff_event')") == []
    assert rows(path, "SELECT sent_at, skip_reason FROM outbox WHERE chat_id = 1001 AND kind = 'staff_event'") == [
        (None, "out_of_scope")
    ]


async def test_may_receive_says_why(store: Services, org: Organization) -> None:
    case = (await store.cases.submit(petitioner(5001), draft(unit="plant-2", confidential=True), "c")).case
    # a notice the submission queued about this case: what decides is its case
    item = next(p for p in await store.outbox.pending_notifications() if p.case_id == case.id)
    assert await store.may_receive(5001, item) is None  # the petitioner
    assert await store.may_receive(9001, item) is None  # the admin, in scope
    assert await store.may_receive(1002, item) == "out_of_scope"  # recused from plant-2
    assert await store.may_receive(4242, item) == "not_staff"
