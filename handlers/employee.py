"""The petitioner's commands: greeting, help, language, their cases and status."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from handlers import keyboards as kb
from handlers.common import Context, answer_query, deps, error_text, lang_of, send, show
from handlers.i18n import Html, t
from handlers.render import case_view
from store.errors import StoreError
from store.models import Actor, ActorRole

PAGE = 5


async def start(update: Update, context: Context) -> None:
    d = deps(context)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    actor = d.store.actor(user.id)
    org_name = d.org.organization.name
    if actor.is_staff:
        await send(update, context, t(lang, "start.staff_greeting", name=actor.name,
                                      org=org_name, role=t(lang, f"role.{actor.role.value}")))
        return
    await send(update, context, t(lang, "start.greeting", name=user.first_name, org=org_name))


async def help_command(update: Update, context: Context) -> None:
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    text = t(lang, "start.help")
    if deps(context).store.actor(user.id).is_staff:
        text = Html(text + "\n\n" + t(lang, "start.staff_help"))
    await send(update, context, text)


async def language(update: Update, context: Context) -> None:
    await send(update, context, t(await lang_of(update, context), "language.choose"), kb.language_choice())


async def on_language(update: Update, context: Context) -> None:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    choice = (update.callback_query.data or "").removeprefix("lang:")  # type: ignore[union-attr]
    if choice not in ("zh", "en"):
        return
    d = deps(context)
    await d.store.set_language(user.id, choice)
    d.chosen_languages[user.id] = choice
    await show(update, context, t(choice, "language.set"))


async def my_cases(update: Update, context: Context) -> None:
    await _list_page(update, context, 0)


async def on_page(update: Update, context: Context) -> None:
    await answer_query(update)
    raw = (update.callback_query.data or "").removeprefix("my:page:")  # type: ignore[union-attr]
    await _list_page(update, context, int(raw) if raw.isdigit() else 0)


async def _list_page(update: Update, context: Context, page: int) -> None:
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    cases, total = await deps(context).store.cases_of_petitioner(user.id, page * PAGE, PAGE)
    if total == 0:
        await show(update, context, t(lang, "cases.empty"))
        return
    lines = [t(lang, "cases.list_title", total=total)]
    lines += [
        t(lang, "cases.list_item", number=c.number, status=t(lang, f"status.{c.status.value}"),
          subject=c.subject)
        for c in cases
    ]
    rows = [[kb.button(t(lang, "cases.open_case", number=c.number), f"my:open:{c.number}")] for c in cases]
    pager = []
    if page > 0:
        pager.append(kb.button(t(lang, "common.prev_page"), f"my:page:{page - 1}"))
    if (page + 1) * PAGE < total:
        pager.append(kb.button(t(lang, "common.next_page"), f"my:page:{page + 1}"))
    await show(update, context, Html("\n\n".join(lines)), kb.markup([*rows, pager]))


async def show_case(update: Update, context: Context, number: str) -> None:
    user = update.effective_user
    assert user is not None
    d = deps(context)
    lang = await lang_of(update, context)
    try:
        case = await d.store.case_for(Actor(id=user.id, role=ActorRole.PETITIONER), number)
    except StoreError as error:
        await send(update, context, error_text(lang, error))
        return
    events = await d.store.timeline(case.id, public_only=True)
    await send(update, context, case_view(case, events, lang, d.tz))


async def status(update: Update, context: Context) -> None:
    lang = await lang_of(update, context)
    if not context.args:
        await send(update, context, t(lang, "cases.status_usage"))
        return
    await show_case(update, context, context.args[0][:40])


async def on_open(update: Update, context: Context) -> None:
    await answer_query(update)
    number = (update.callback_query.data or "").removeprefix("my:open:")  # type: ignore[union-attr]
    await show_case(update, context, number)


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private),
        CommandHandler("help", help_command),
        CommandHandler("language", language, filters=private),
        CommandHandler("mycases", my_cases, filters=private),
        CommandHandler("status", status, filters=private),
        CallbackQueryHandler(on_language, pattern=r"^lang:"),
        CallbackQueryHandler(on_page, pattern=r"^my:page:"),
        CallbackQueryHandler(on_open, pattern=r"^my:open:"),
    ]
