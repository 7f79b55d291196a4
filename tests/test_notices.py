"""Outbox kinds as a contract: one enum, one renderer per kind, unknown rows set aside."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.outbox import OutboxSender
from handlers.notifications import RENDERERS, UnknownNotice, render
from store.clock import iso
from store.models import OutboxItem
from store.notices import PARAMS, BookingParams, NoticeKind, ReminderParams, SessionParams, params_of
from store.services import Services
from tests.backends import execute
from tests.conftest import draft, petitioner, rows

STORE = Path(__file__).resolve().parent.parent / "store"
OFFICER = 1001


def queued_kinds() -> set[str]:
    """Every kind the store's source passes to ``outbox.queue``: ``NoticeKind.X`` (or either side of a conditional).

    A bare string, or anything else, is returned as ``"?<source>"`` so the test names it.
    """
    found: set[str] = set()
    for path in STORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        literals: dict[str, list[ast.expr]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                literals.setdefault(node.targets[0].id, []).append(node.value)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("queue", "queue_staff")):
                continue
            if len(node.args) < 3:
                continue
            kind = node.args[2]
            values = literals.get(kind.id, []) if isinstance(kind, ast.Name) else [kind]
            for value in values:
                for option in [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]:
                    if (isinstance(option, ast.Attribute) and isinstance(option.value, ast.Name)
                            and option.value.id == "NoticeKind"):
                        found.add(NoticeKind[option.attr].value)
                    else:
                        found.add("?" + ast.unparse(option))
    return found


def test_every_kind_has_exactly_one_renderer() -> None:
    assert set(RENDERERS) == set(NoticeKind)
    assert len(RENDERERS) == len(NoticeKind)


def test_every_kind_the_store_queues_is_a_notice_kind() -> None:
    queued = queued_kinds()
    assert len(queued) >= 16, queued  # the scan still finds the store's call sites
    assert queued <= {k.value for k in NoticeKind}, queued - {k.value for k in NoticeKind}


def test_the_stored_strings_never_change() -> None:
    # Rows written before an upgrade must still render after it.
    assert {k.value for k in NoticeKind} == {
        "case_card", "receipt", "group_new_case", "petitioner_event", "staff_event",
        "rv_rate", "rv_petitioner", "rv_staff", "rv_review_card", "rv_hearing", "rv_remind", "rv_escalate",
        "ld_alert", "ld_digest", "identity_revealed", "sv_warning", "sv_order", "sv_progress", "sv_urge", "sv_overdue",
        "sv_lead_event", "sc_ask", "sc_overdue",
        "ic_opened", "ic_raised", "ic_closed",
        "sv_cohandle", "lg_task", "lg_task_remind", "lg_claimed", "document",
        "lk_merged", "lk_joined", "lk_merge_staff", "st_returned", "ap_ask", "ap_returned",
        "reception_published", "reception_changed", "reception_promoted", "reception_outcome",
        "reception_session_cancelled", "reception_reminder",
    }


async def test_rendering_an_unknown_kind_raises_a_named_error(store: Services) -> None:
    item = OutboxItem(id=1, chat_id=OFFICER, kind="rv_from_the_future", case_id=None, event_id=None,
                      params={}, attempts=0, progress=0, created_at=store.clock.now(), due_at=store.clock.now())
    try:
        await render(item, store)
    except UnknownNotice as error:
        assert "rv_from_the_future" in str(error)
    else:
        raise AssertionError("an unknown kind rendered")


class RecordingBot:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
        self.sent.append((chat_id, text))
        return SimpleNamespace(message_id=len(self.sent))

    async def send_document(self, chat_id: int, document: Any, caption: str = "", **_: Any) -> Any:
        self.sent.append((chat_id, caption))  # a formal document (handlers/documents.py)
        return SimpleNamespace(message_id=len(self.sent))


async def test_an_unknown_kind_is_set_aside_at_once_and_the_chat_goes_on(store: Services) -> None:
    now = iso(store.clock.now())
    execute(store, "INSERT INTO outbox (chat_id, kind, created_at, due_at) VALUES (?, ?, ?, ?)",
            OFFICER, "rv_from_the_future", now, now)
    await store.cases.submit(petitioner(), draft(), "after-the-unknown")
    bot = RecordingBot()
    sender = OutboxSender(store, bot, chat_interval=0.0)  # type: ignore[arg-type]
    await sender.run_once()
    assert [chat for chat, _ in bot.sent].count(OFFICER) >= 1  # the card behind the unknown row arrived
    assert any("加班费未发放" in text for chat, text in bot.sent if chat == OFFICER)
    ((failed_at, error),) = rows(store, "SELECT failed_at, last_error FROM outbox WHERE kind = 'rv_from_the_future'")
    assert failed_at is not None and "rv_from_the_future" in error  # set aside with its reason, not retried
    assert await store.outbox.pending_notifications() == []


async def test_a_row_whose_params_do_not_read_is_set_aside_at_once(store: Services) -> None:
    """A corrupt row's params (a reminder without its booking) are never retried: set aside with the reason."""
    now = iso(store.clock.now())
    execute(store, "INSERT INTO outbox (chat_id, kind, params, created_at, due_at) VALUES (?, ?, ?, ?, ?)",
            OFFICER, "reception_reminder", json.dumps({"which": "day"}), now, now)
    sender = OutboxSender(store, RecordingBot(), chat_interval=0.0)  # type: ignore[arg-type]
    await sender.run_once()
    ((failed_at, attempts, error),) = rows(
        store, "SELECT failed_at, attempts, last_error FROM outbox WHERE kind = 'reception_reminder'")
    assert failed_at is not None and attempts == 1 and "unreadable params" in error  # its first try, not retried


# ------------------------------------------------------------------ typed params


async def test_a_kind_with_a_params_model_is_queued_with_that_model_and_read_back_typed(store: Services) -> None:
    """``store.notices.PARAMS``: checked when queued (a dict, or another kind's model, is refused and writes
    nothing), stored as the model's JSON, read back as the model (a key of an older version left aside)."""
    async with store.db.transaction() as conn:
        await store.outbox.queue(conn, 6001, NoticeKind.RECEPTION_REMINDER, None,
                                 params=ReminderParams(booking_id=7, which="hours"))
    for wrong in ({"session_id": 7}, SessionParams(session_id=7), None):  # another kind's, or nothing
        with pytest.raises((TypeError, ValueError)):
            async with store.db.transaction() as conn:
                await store.outbox.queue(conn, 6001, NoticeKind.RECEPTION_CHANGED, None, params=wrong)
    for stray in (BookingParams(booking_id=1), {"booking_id": 1}):  # a kind that declares no model carries nothing
        with pytest.raises(TypeError):
            async with store.db.transaction() as conn:
                await store.outbox.queue(conn, 6001, NoticeKind.CASE_CARD, None, params=stray)
    [(kind, stored)] = rows(store, "SELECT kind, params FROM outbox WHERE chat_id = 6001")
    assert (kind, json.loads(stored)) == ("reception_reminder", {"booking_id": 7, "which": "hours"})
    read = params_of(kind, {**json.loads(stored), "older": 1}, BookingParams)  # a reminder is a booking's notice
    assert isinstance(read, ReminderParams) and (read.booking_id, read.which) == (7, "hours")
    with pytest.raises(TypeError):
        params_of(kind, json.loads(stored), SessionParams)
    assert {k for k in NoticeKind if k.value.startswith("reception_")} <= set(PARAMS)
