"""The officers' commands and case-card buttons.

Handlers check only that the caller is staff; whether the case is in their
scope and whether the action is legal now is the store's decision, and a
case outside one's scope answers exactly like a case that does not exist.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers import keyboards as kb
from handlers.common import Context, answer_query, deps, error_text, lang_of, send, show
from handlers.i18n import Html, t
from handlers.render import case_card, status_name, timeline
from store.errors import StoreError
from store.models import Actor
from store.workflow import Action


async def _staff(update: Update, context: Context) -> tuple[Actor, str] | None:
    """The caller as staff, or None after telling a non-staff caller so."""
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    actor = deps(context).store.actor(user.id)
    if not actor.is_staff:
        await answer_query(update)
        await send(update, context, t(lang, "staff.not_staff"))
        return None
    return actor, lang


async def _act(update: Update, context: Context, number: str, action: Action, **kwargs: object) -> None:
    """Run one store action and tell the caller the outcome in their language."""
    caller = await _staff(update, context)
    if caller is None:
        return
    actor, lang = caller
    await answer_query(update)
    try:
        case = await deps(context).store.act(actor, number, action, **kwargs)  # type: ignore[arg-type]
    except StoreError as error:
        await send(update, context, error_text(lang, error))
        return
    if action is Action.ACCEPT:
        await send(update, context, t(lang, "staff.accepted", number=case.number, due=str(case.answer_due)))
    elif action is Action.DECLINE:
        await send(update, context, t(lang, "staff.declined", number=case.number))
    elif action is Action.ASSIGN:
        await send(update, context, t(lang, "staff.assigned_to_you", number=case.number))


async def on_card_button(update: Update, context: Context) -> None:
    data = update.callback_query.data or ""  # type: ignore[union-attr]
    _, verb, number = (data.split(":", 2) + ["", ""])[:3]
    if verb == "acc":
        await _act(update, context, number, Action.ACCEPT)
    elif verb == "open":
        await answer_query(update)
        await _show_card(update, context, number)
    elif verb == "me":
        user = update.effective_user
        assert user is not None
        await _act(update, context, number, Action.ASSIGN, assignee_id=user.id)
    else:
        await answer_query(update, t(await lang_of(update, context), "common.expired_button"))


async def accept(update: Update, context: Context) -> None:
    if not context.args:
        await send(update, context, t(await lang_of(update, context), "staff.usage_accept"))
        return
    await _act(update, context, context.args[0][:40], Action.ACCEPT)


async def decline(update: Update, context: Context) -> None:
    if not context.args or len(context.args) < 2:
        await send(update, context, t(await lang_of(update, context), "staff.usage_decline"))
        return
    reason = " ".join(context.args[1:])
    await _act(update, context, context.args[0][:40], Action.DECLINE, body=reason)


async def case_command(update: Update, context: Context) -> None:
    if not context.args:
        await send(update, context, t(await lang_of(update, context), "staff.usage_case"))
        return
    await _show_card(update, context, context.args[0][:40])


async def _show_card(update: Update, context: Context, number: str) -> None:
    caller = await _staff(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    try:
        case = await d.store.case_for(actor, number)
    except StoreError as error:
        await send(update, context, error_text(lang, error))
        return
    files = await d.store.attachments(case.id)
    parts = case_card(case, d.org, lang, header=t(lang, "staff.card_header"), attachments=len(files))
    for index, part in enumerate(parts):
        markup = kb.staff_card(lang, case.number) if index == len(parts) - 1 else None
        await send(update, context, part, markup)
    events = await d.store.timeline(case.id, public_only=False)
    await send(update, context, timeline(events, lang, d.tz))


QUEUE_PAGE = 8


async def queue(update: Update, context: Context) -> None:
    await _queue_page(update, context, 0)


async def on_queue_page(update: Update, context: Context) -> None:
    await answer_query(update)
    raw = (update.callback_query.data or "").removeprefix("q:")  # type: ignore[union-attr]
    await _queue_page(update, context, int(raw) if raw.isdigit() else 0)


async def _queue_page(update: Update, context: Context, page: int) -> None:
    """Open cases in the caller's scope, nearest deadline first, with a button each."""
    caller = await _staff(update, context)
    if caller is None:
        return
    actor, lang = caller
    cases, total = await deps(context).store.open_cases_for(actor, page * QUEUE_PAGE, QUEUE_PAGE)
    if total == 0:
        await show(update, context, t(lang, "staff.queue_empty"))
        return
    lines = [t(lang, "staff.queue_title", total=total)]
    lines += [
        t(lang, "staff.queue_item", number=c.number, status=status_name(c.status.value, lang),
          due=str(c.answer_due or c.accept_due), subject=c.subject)
        for c in cases
    ]
    rows = [[kb.button(c.number, f"st:open:{c.number}")] for c in cases]
    pager = []
    if page > 0:
        pager.append(kb.button(t(lang, "common.prev_page"), f"q:{page - 1}"))
    if (page + 1) * QUEUE_PAGE < total:
        pager.append(kb.button(t(lang, "common.next_page"), f"q:{page + 1}"))
    await show(update, context, Html("\n\n".join(lines)), kb.markup([*rows, pager]))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("accept", accept),
        CommandHandler("decline", decline),
        CommandHandler("case", case_command),
        CommandHandler("queue", queue),
        CallbackQueryHandler(on_queue_page, pattern=r"^q:\d+$"),
        CallbackQueryHandler(on_card_button, pattern=r"^st:"),
    ]
