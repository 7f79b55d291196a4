"""Inline keyboards. Buttons carry a short action and an id, never user text.

Callback data is at most 64 bytes (Bot API): ``prefix:verb[:argument]``.
Organisation ids are checked to fit when the organisation file is loaded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import t
from store.workflow import Action


def button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode()) <= 64, data
    return InlineKeyboardButton(text, callback_data=data)


def grid(buttons: Iterable[InlineKeyboardButton], columns: int = 2) -> list[list[InlineKeyboardButton]]:
    items = list(buttons)
    return [items[i : i + columns] for i in range(0, len(items), columns)]


def markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])


def nav_row(lang: str, *, back: str | None = "in:back", cancel: str = "in:cancel") -> list[InlineKeyboardButton]:
    row = []
    if back:
        row.append(button(t(lang, "common.back"), back))
    row.append(button(t(lang, "common.cancel"), cancel))
    return row


def language_choice() -> InlineKeyboardMarkup:
    return markup([[button("中文", "lang:zh"), button("English", "lang:en")]])


def staff_card(
    lang: str, number: str, actions: Collection[Action], *, canned: bool = False
) -> InlineKeyboardMarkup | None:
    """The case card's buttons: only the actions the state machine allows now.

    ``canned``: the organisation has canned replies, so Reply first offers them.
    """
    offered = [
        (Action.ACCEPT, "staff.accept", f"st:acc:{number}"),
        (Action.DECLINE, "staff.decline", f"pr:dec:{number}"),
        (Action.ASSIGN, "staff.assign_me", f"st:me:{number}"),
        (Action.ASSIGN, "work.assign", f"sf:as:{number}"),
        (Action.REPLY, "staff.reply", f"sf:rp:{number}" if canned else f"pr:rep:{number}"),
        (Action.NOTE, "work.note", f"pr:nt:{number}"),
        (Action.EXTEND, "work.extend", f"sf:ex:{number}"),
        (Action.DECIDE, "work.decide", f"sf:dc:{number}"),
        (Action.TRANSFER, "work.transfer", f"sf:tr:{number}"),
    ]
    buttons = [button(t(lang, key), data) for action, key, data in offered if action in actions]
    return markup(grid(buttons)) if buttons else None
