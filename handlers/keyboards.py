"""Inline keyboards. Buttons carry a short action and an id, never user text.

Callback data is at most 64 bytes (Bot API) and is always written by a
:class:`handlers.callbacks.Button` (``prefix:verb[:argument]``), which checks
it. Organisation ids are checked to fit when the organisation file is loaded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers import callbacks as cb
from handlers.i18n import t
from store.repeats import Candidate
from store.workflow import Action


def button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode()) <= 64, data
    return InlineKeyboardButton(text, callback_data=data)


def grid(buttons: Iterable[InlineKeyboardButton], columns: int = 2) -> list[list[InlineKeyboardButton]]:
    items = list(buttons)
    return [items[i : i + columns] for i in range(0, len(items), columns)]


def markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])


def nav_row(
    lang: str, *, back: str | None = cb.In.BACK.encode(), cancel: str = cb.In.CANCEL.encode()
) -> list[InlineKeyboardButton]:
    row = []
    if back:
        row.append(button(t(lang, "common.back"), back))
    row.append(button(t(lang, "common.cancel"), cancel))
    return row


def language_choice() -> InlineKeyboardMarkup:
    return markup([[button("中文", cb.Lang.CHOOSE.encode("zh")), button("English", cb.Lang.CHOOSE.encode("en"))]])


def staff_card(
    lang: str, number: str, actions: Collection[Action], *, canned: bool = False, repeats: Sequence[Candidate] = (),
) -> InlineKeyboardMarkup | None:
    """The case card's buttons: only the actions the state machine allows now.

    ``canned``: the organisation has canned replies, so Reply first offers them.
    ``repeats``: the earlier cases proposed as the same matter (store/repeats.py): 确认为重复信访
    (one per case when several) and 不是同一事项, to staff who may decide it.
    """
    offered = [
        (Action.ACCEPT, "staff.accept", cb.St.ACCEPT.encode(number)),
        (Action.DECLINE, "staff.decline", cb.Pr.DECLINE.encode(number)),
        (Action.ASSIGN, "staff.assign_me", cb.St.ASSIGN_ME.encode(number)),
        (Action.ASSIGN, "work.assign", cb.Sf.ASSIGN.encode(number)),
        (Action.REPLY, "staff.reply", cb.Sf.REPLY.encode(number) if canned else cb.Pr.REPLY.encode(number)),
        (Action.NOTE, "work.note", cb.Pr.NOTE.encode(number)),
        (Action.EXTEND, "work.extend", cb.Sf.EXTEND.encode(number)),
        (Action.DECIDE, "work.decide", cb.Sf.DECIDE.encode(number)),
        (Action.TRANSFER, "work.transfer", cb.Sf.TRANSFER.encode(number)),
        # Supervision (handlers.supervision): a tap, a menu, or a prompt for the text.
        (Action.PROGRESS, "buttons.progress", cb.Pr.PROGRESS.encode(number)),
        (Action.COHANDLE, "cohandle.button", cb.Sv.COHANDLE.encode(number)),
        (Action.FOLLOW_UP, "buttons.followup", cb.Sv.FOLLOW_UP.encode(number)),
        (Action.SUPERVISE, "buttons.supervise", cb.Sv.SUPERVISE.encode(number)),
        (Action.URGE, "buttons.urge", cb.Sv.URGE.encode(number)),
        (Action.LEAD, "buttons.lead", cb.Sv.LEAD.encode(number)),
        (Action.REDO, "buttons.redo", cb.Pr.REDO.encode(number)),
    ]
    buttons = [button(t(lang, key), data) for action, key, data in offered if action in actions]
    rows = grid(buttons) + (repeat_buttons(lang, number, repeats) if Action.REPEAT in actions else [])
    return markup(rows) if rows else None


def repeat_buttons(lang: str, number: str, repeats: Sequence[Candidate]) -> list[list[InlineKeyboardButton]]:
    """确认为重复信访 (one per proposed case when several) and 不是同一事项; nothing without a proposal."""
    if not repeats:
        return []
    if len(repeats) == 1:
        confirm = [button(t(lang, "repeat.confirm"), cb.Re.CONFIRM.encode(number, repeats[0].number))]
    else:
        confirm = [button(t(lang, "repeat.confirm_of", number=c.number), cb.Re.CONFIRM.encode(number, c.number))
                   for c in repeats]
    return [*([b] for b in confirm), [button(t(lang, "repeat.dismiss"), cb.Re.DISMISS.encode(number))]]
