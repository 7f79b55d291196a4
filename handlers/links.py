"""Linked and merged cases in Telegram: /link, /unlink, /merge, the card's lines and their notices.

Who may link or merge what, and who is told, is the store's (``store.links``);
this module parses the commands and words the outcomes in the reader's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import Context, Deps, Handler, deps, send, staff_caller
from handlers.i18n import Html, t
from handlers.refusals import answers_refusals
from handlers.render import split_text
from store.models import Actor, Case, Event, OutboxItem
from store.notices import MergedParams, MergeStaffParams, params_of
from store.services import Services

NUMBER_MAX = 40

Rendered = list[tuple[Html, InlineKeyboardMarkup | None]]


# ------------------------------------------------------------- commands


def _words(update: Update, count: int) -> list[str]:
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    return text.split(maxsplit=count)[1:]


Act = Callable[..., Awaitable[Html]]


@answers_refusals()
async def _command(update: Update, context: Context, count: int, usage: str, act: Act) -> None:
    """Staff only; the usage for too few words; a refusal in the caller's words."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    words = _words(update, count)
    if len(words) < count:
        await send(update, context, t(lang, usage))
        return
    numbers = [w.split()[0][:NUMBER_MAX] for w in words[:2]]  # /link A B: anything after B is not a number
    await send(update, context, await act(deps(context), actor, lang, *numbers, *words[2:]))


async def link(update: Update, context: Context) -> None:
    """/link <number> <number>: two related matters, shown on both cards."""

    async def act(d: Deps, actor: Actor, lang: str, first: str, second: str, *_: Any) -> Html:
        one, other = await d.links.link(actor, first, second)
        return t(lang, "links.linked", first=one.number, second=other.number)

    await _command(update, context, 2, "links.usage_link", act)


async def unlink(update: Update, context: Context) -> None:
    """/unlink <number> <number>: the link is removed."""

    async def act(d: Deps, actor: Actor, lang: str, first: str, second: str, *_: Any) -> Html:
        one, other = await d.links.unlink(actor, first, second)
        return t(lang, "links.unlinked", first=one.number, second=other.number)

    await _command(update, context, 2, "links.usage_unlink", act)


async def merge(update: Update, context: Context) -> None:
    """/merge <main> <duplicate> <reason>: the duplicate is closed as merged into the main case."""

    async def act(d: Deps, actor: Actor, lang: str, main: str, duplicate: str, reason: str) -> Html:
        main_case, duplicate_case = await d.links.merge(actor, main, duplicate, reason)
        return t(lang, "links.merged", main=main_case.number, duplicate=duplicate_case.number)

    await _command(update, context, 3, "links.usage_merge", act)


def handlers() -> list[Handler]:
    return [
        CommandHandler("link", link),
        CommandHandler("unlink", unlink),
        CommandHandler("merge", merge),
    ]


# ------------------------------------------------------------ notices


async def _about(item: OutboxItem, store: Services) -> tuple[Case | None, Event | None]:
    case = await store.cases.case_by_id(item.case_id) if item.case_id is not None else None
    event = await store.cases.event(item.event_id) if item.event_id is not None else None
    return case, event


async def merged_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``lk_merged``: to the duplicate's petitioner, that it is merged into the main case, with the reason."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    text = t(lang, "links.merged_notice", number=case.number, main=params_of(item.kind, item.params, MergedParams).main,
             reason=split_text(event.body or "")[0])
    return [(text, None)]


async def joined_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``lk_joined``: to the main case's petitioner, that a related submission was joined (not whose)."""
    case, _event = await _about(item, store)
    if case is None:
        return []
    return [(t(lang, "links.joined_notice", number=case.number), None)]


async def merge_staff_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``lk_merge_staff``: to the staff handling either case."""
    case, event = await _about(item, store)
    if case is None or event is None:
        return []
    p = params_of(item.kind, item.params, MergeStaffParams)
    staff = store.org.staff_member(p.by) if p.by is not None else None
    main = p.main
    text = t(lang, "links.staff_notice", name=staff.name if staff else "—", main=main,
             duplicate=p.duplicate, reason=split_text(event.body or "")[0])
    button = kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(main or case.number))
    return [(text, kb.markup([[button]]))]
