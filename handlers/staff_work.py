"""The menus behind the case card's buttons: assign, reply, extend, decide, transfer.

Its buttons are :class:`handlers.callbacks.Sf` (``sf:<verb>:<number>[:<choice>]``). A menu is checked with
the store before it is shown (a decided or out-of-scope case is refused
before the officer starts typing), and every final tap goes through one
store call that checks again. Texts an officer must type (a reason, a
written opinion) are asked by :mod:`handlers.prompts` (``pr:`` buttons).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import (
    Context,
    Handler,
    answer_query,
    deps,
    send,
    show,
    staff_caller,
)
from handlers.fallback import stale_button
from handlers.i18n import Html, t
from handlers.refusals import answers_refusals
from handlers.render import day, unit_path
from store.models import Actor, Case, Decision
from store.org import Organization
from store.workflow import Action

CANNED_LABEL_MAX = 32




def done_text(lang: str, org: Organization, actor: Actor, action: Action, case: Case) -> Html:
    """What the officer reads after an action succeeded."""
    number = case.number
    if action is Action.ACCEPT:
        return t(lang, "staff.accepted", number=number, due=day(case.answer_due or "", lang))
    if action is Action.DECLINE:
        return t(lang, "staff.declined", number=number)
    if action is Action.ASSIGN:
        if case.assignee_id == actor.id:
            return t(lang, "staff.assigned_to_you", number=number)
        member = org.staff_member(case.assignee_id) if case.assignee_id is not None else None
        return t(lang, "work.assigned", number=number, name=member.name if member else "")
    if action is Action.REPLY:
        return t(lang, "staff.replied", number=number)
    if action is Action.NOTE:
        return t(lang, "work.noted", number=number)
    if action is Action.EXTEND:
        return t(lang, "work.extended", number=number, days=case.extended_days, due=day(case.answer_due or "", lang))
    if action is Action.DECIDE:
        decision = t(lang, f"decision.{case.decision.value}") if case.decision else ""
        return t(lang, "work.decided", number=number, decision=decision)
    if action is Action.TRANSFER:
        return t(lang, "work.transferred", number=number, unit=unit_path(org, case.unit, lang))
    return t(lang, "common.done")


def _cancel_row(lang: str) -> list[InlineKeyboardButton]:
    return [kb.button(t(lang, "common.cancel"), cb.Sf.CANCEL.encode())]


async def _present(
    update: Update, context: Context, text: Html, markup: InlineKeyboardMarkup | None, edit: bool
) -> None:
    if edit:
        await show(update, context, text, markup)
    else:
        await send(update, context, text, markup)


@answers_refusals(None)
async def _checked(
    update: Update, context: Context, caller: tuple[Actor, str], number: str, action: Action
) -> Case | None:
    return await deps(context).staff_work.check_action(caller[0], number, action)


# -------------------------------------------------------------------- menus


@answers_refusals()
async def assign_menu(update: Update, context: Context, caller: tuple[Actor, str], number: str) -> None:
    """Everyone who may handle the case, as buttons; the current assignee ticked."""
    actor, lang = caller
    case, people = await deps(context).staff_work.assignable_staff(actor, number)
    if not people:
        await send(update, context, t(lang, "work.no_staff"))
        return
    buttons = [
        kb.button(
            t(lang, "work.current_assignee", name=s.name) if s.telegram_id == case.assignee_id else s.name,
            cb.Sf.ASSIGN_TO.encode(case.number, s.telegram_id),
        )
        for s in people
    ]
    markup = kb.markup([*kb.grid(buttons), _cancel_row(lang)])
    await send(update, context, t(lang, "work.choose_staff", number=case.number), markup)


async def reply_menu(
    update: Update, context: Context, caller: tuple[Actor, str], number: str, edit: bool = False
) -> None:
    """The organisation's canned replies, and "type a reply"."""
    _, lang = caller
    case = await _checked(update, context, caller, number, Action.REPLY)
    if case is None:
        return
    rows = [
        [kb.button(_short(c.text.get(lang)), cb.Sf.CANNED.encode(case.number, c.id))]
        for c in deps(context).org.canned_replies
    ]
    rows += [[kb.button(t(lang, "work.typed_reply"), cb.Pr.REPLY.encode(case.number))], _cancel_row(lang)]
    await _present(update, context, t(lang, "work.choose_reply", number=case.number), kb.markup(rows), edit)


def _short(text: str) -> str:
    return text if len(text) <= CANNED_LABEL_MAX else text[: CANNED_LABEL_MAX - 1] + "…"


@answers_refusals()
async def canned_preview(
    update: Update, context: Context, caller: tuple[Actor, str], number: str, canned_id: str
) -> None:
    """The canned reply as the petitioner will read it, with Send and Back."""
    actor, lang = caller
    case, text = await deps(context).staff_work.canned_text(actor, number, canned_id)
    markup = kb.markup([
        [kb.button(t(lang, "work.send"), cb.Sf.CANNED_SEND.encode(case.number, canned_id))],
        [kb.button(t(lang, "common.back"), cb.Sf.REPLY_BACK.encode(case.number)), *_cancel_row(lang)],
    ])
    await show(update, context, t(lang, "work.canned_preview", number=case.number, text=text), markup)


async def extend_menu(update: Update, context: Context, caller: tuple[Actor, str], number: str) -> None:
    """Days to extend by, up to the organisation's limit; the reason is asked next."""
    _, lang = caller
    case = await _checked(update, context, caller, number, Action.EXTEND)
    if case is None:
        return
    limit = deps(context).org.deadlines.max_extension_days
    options = sorted({days for days in (7, 15, limit) if 1 <= days <= limit})
    buttons = [kb.button(t(lang, "work.days", days=days), cb.Pr.EXTEND.encode(case.number, days)) for days in options]
    markup = kb.markup([buttons, _cancel_row(lang)])
    await send(update, context, t(lang, "work.choose_days", number=case.number, limit=limit), markup)


async def decide_menu(update: Update, context: Context, caller: tuple[Actor, str], number: str) -> None:
    """予以支持 / 解释说明 / 不予支持; the written opinion is asked next."""
    _, lang = caller
    case = await _checked(update, context, caller, number, Action.DECIDE)
    if case is None:
        return
    buttons = [kb.button(t(lang, f"decision.{d.value}"), cb.Pr.DECIDE.encode(case.number, d.value)) for d in Decision]
    markup = kb.markup([buttons, _cancel_row(lang)])
    await send(update, context, t(lang, "work.choose_decision", number=case.number), markup)


async def transfer_menu(
    update: Update,
    context: Context,
    caller: tuple[Actor, str],
    number: str,
    node: str | None = None,
    edit: bool = False,
) -> None:
    """The unit tree to browse: open a unit with "›", choose it with "Transfer to …"; the reason is asked next."""
    _, lang = caller
    case = await _checked(update, context, caller, number, Action.TRANSFER)
    if case is None:
        return
    org = deps(context).org
    roots = org.roots()
    if node is None and len(roots) == 1:
        node = roots[0].id
    unit = org.find_unit(node) if node else None
    if node and unit is None:
        await answer_query(update, t(lang, "common.expired_button"))
        return
    rows: list[list[InlineKeyboardButton]] = []
    if unit is not None and unit.id != case.unit:
        rows.append([kb.button(t(lang, "work.pick_unit", unit=unit.name.get(lang)),
                               cb.Pr.TRANSFER.encode(case.number, unit.id))])
    children = org.children(unit.id) if unit is not None else roots
    buttons = []
    for child in children:
        name = child.name.get(lang)
        if org.children(child.id):
            buttons.append(kb.button(t(lang, "work.open_unit", unit=name),
                                     cb.Sf.TRANSFER_UNIT.encode(case.number, child.id)))
        elif child.id != case.unit:
            buttons.append(kb.button(name, cb.Pr.TRANSFER.encode(case.number, child.id)))
    rows += kb.grid(buttons)
    back = []
    if unit is not None and (unit.parent is not None or len(roots) > 1):
        back.append(kb.button(t(lang, "work.up"), cb.Sf.TRANSFER_UNIT.encode(case.number, unit.parent or "")))
    rows.append([*back, *_cancel_row(lang)])
    text = t(lang, "work.choose_unit", number=case.number, unit=unit_path(org, case.unit, lang))
    await _present(update, context, text, kb.markup(rows), edit)


# ------------------------------------------------------------------- taps

Menu = Callable[..., Awaitable[None]]


def _menu(step: Menu) -> Menu:
    """A staff menu button: only staff get past it; ``step(update, context, caller, *values)``."""
    async def tapped(update: Update, context: Context, *values: object) -> None:
        caller = await staff_caller(update, context)
        if caller is None:
            return
        await answer_query(update)
        await step(update, context, caller, *values)
    tapped.__name__ = step.__name__
    return tapped


async def _cancel(update: Update, context: Context, caller: tuple[Actor, str]) -> None:
    await show(update, context, t(caller[1], "common.cancelled"))


async def _assign_to(update: Update, context: Context, caller: tuple[Actor, str], number: str, staff_id: int) -> None:
    d = deps(context)
    await _finish(update, context, caller, Action.ASSIGN,
                  d.cases.act(caller[0], number, Action.ASSIGN, assignee_id=staff_id))


async def _reply_back(update: Update, context: Context, caller: tuple[Actor, str], number: str) -> None:
    await reply_menu(update, context, caller, number, edit=True)


async def _canned_send(update: Update, context: Context, caller: tuple[Actor, str], number: str, canned: str) -> None:
    await _finish(update, context, caller, Action.REPLY, deps(context).staff_work.reply_canned(caller[0], number, canned))


async def _transfer_unit(update: Update, context: Context, caller: tuple[Actor, str], number: str, node: str) -> None:
    await transfer_menu(update, context, caller, number, node=node or None, edit=True)


@answers_refusals()
async def _finish(
    update: Update, context: Context, caller: tuple[Actor, str], action: Action, call: object
) -> None:
    """The menu's last tap: one store call; the menu message becomes the outcome."""
    actor, lang = caller
    case = await call  # type: ignore[misc]
    await show(update, context, done_text(lang, deps(context).org, actor, action, case))


def handlers() -> list[Handler]:
    """One handler per ``sf:`` button, then the area's catch-all for old or forged data."""
    return [
        cb.Sf.CANCEL.handler(_menu(_cancel)),
        cb.Sf.ASSIGN.handler(_menu(assign_menu)),
        cb.Sf.ASSIGN_TO.handler(_menu(_assign_to)),
        cb.Sf.REPLY.handler(_menu(reply_menu)),
        cb.Sf.REPLY_BACK.handler(_menu(_reply_back)),
        cb.Sf.CANNED.handler(_menu(canned_preview)),
        cb.Sf.CANNED_SEND.handler(_menu(_canned_send)),
        cb.Sf.EXTEND.handler(_menu(extend_menu)),
        cb.Sf.DECIDE.handler(_menu(decide_menu)),
        cb.Sf.TRANSFER.handler(_menu(transfer_menu)),
        cb.Sf.TRANSFER_UNIT.handler(_menu(_transfer_unit)),
        cb.Sf.area.stale_handler(stale_button),
    ]
