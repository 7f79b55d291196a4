"""The petitioner's commands: greeting, help, language, their cases and status.

A case view offers what the state machine allows the petitioner now: add
information (the ``add`` prompt of :mod:`handlers.prompts`, which also takes
files) and withdraw, with a confirmation.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, filters

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import Context, Deps, Handler, answer_query, deps, lang_of, send, show, show_list
from handlers.fallback import stale_button, stale_button_message
from handlers.forms import visible
from handlers.i18n import Html, t
from handlers.media import attachment_of
from handlers.refusals import answers_in_prompt, answers_refusals
from handlers.render import case_view
from store.models import ATTACHMENT_BYTES_MAX, Actor, Case
from store.workflow import Action

PAGE = 5
TIMELINE_MAX = 30  # entries shown on a case view; the oldest are left out beyond that


async def start(update: Update, context: Context) -> None:
    d = deps(context)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    actor = d.cases.actor(user.id)
    org_name = d.org.organization.name
    if actor.is_staff:
        await send(update, context, t(lang, "start.staff_greeting", name=actor.name,
                                      org=org_name, role=t(lang, f"role.{actor.role.value}")))
        return
    markup = None
    if await d.roster.in_use() and await d.roster.verified(user.id) is None:
        markup = kb.markup([[kb.button(t(lang, "verify.start_button"), cb.Vf.START.encode())]])
    await send(update, context, t(lang, "start.greeting", name=user.first_name, org=org_name), markup)


async def my_id(update: Update, context: Context) -> None:
    """/myid: staff tell the administrator their Telegram id this way (it is never logged)."""
    user = update.effective_user
    assert user is not None
    await send(update, context, t(await lang_of(update, context), "employee.my_id", id=user.id))


async def help_command(update: Update, context: Context) -> None:
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    text = t(lang, "start.help")
    if deps(context).cases.actor(user.id).is_staff:
        text = Html(text + "\n\n" + t(lang, "start.staff_help"))
    await send(update, context, text)


async def language(update: Update, context: Context) -> None:
    await send(update, context, t(await lang_of(update, context), "language.choose"), kb.language_choice())


async def on_language(update: Update, context: Context, choice: str) -> None:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    d = deps(context)
    await d.cases.set_language(user.id, choice)
    d.chosen_languages[user.id] = choice
    await show(update, context, t(choice, "language.set"))


async def my_cases(update: Update, context: Context) -> None:
    await _list_page(update, context, 0)


async def on_page(update: Update, context: Context, page: int) -> None:
    await answer_query(update)
    await _list_page(update, context, page)


async def _list_page(update: Update, context: Context, page: int) -> None:
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    cases, total = await deps(context).cases.cases_of_petitioner(user.id, page * PAGE, PAGE)
    if total == 0:
        await show(update, context, t(lang, "cases.empty"))
        return
    lines = [t(lang, "cases.list_title", total=total)]
    lines += [
        t(lang, "cases.list_item", number=c.number, status=t(lang, f"status.{c.status.value}"),
          subject=c.subject)
        for c in cases
    ]
    rows = [[kb.button(t(lang, "cases.open_case", number=c.number), cb.My.OPEN.encode(c.number))] for c in cases]
    pager = []
    if page > 0:
        pager.append(kb.button(t(lang, "common.prev_page"), cb.My.PAGE.encode(page - 1)))
    if (page + 1) * PAGE < total:
        pager.append(kb.button(t(lang, "common.next_page"), cb.My.PAGE.encode(page + 1)))
    await show_list(update, context, lines, kb.markup([*rows, pager]))


@answers_refusals()
async def show_case(update: Update, context: Context, number: str, *, edit: bool = False) -> None:
    """The petitioner's view of their case, with the actions open to them now."""
    user = update.effective_user
    assert user is not None
    d = deps(context)
    lang = await lang_of(update, context)
    view = await d.self_service.petitioner_case(user.id, number)
    case, events = view.case, view.events
    text = case_view(case, events[-TIMELINE_MAX:], lang, d.tz)
    if len(events) > TIMELINE_MAX:
        text = Html(text + "\n" + t(lang, "employee.timeline_more", shown=TIMELINE_MAX, total=len(events)))
    actions = []
    if Action.ADD_INFO in view.actions:
        actions.append(kb.button(t(lang, "employee.add_info"), cb.Pr.ADD.encode(case.number)))
    if Action.WITHDRAW in view.actions:
        actions.append(kb.button(t(lang, "employee.withdraw"), cb.Em.WITHDRAW.encode(case.number)))
    if Action.REQUEST_REVIEW in view.actions:
        actions.append(kb.button(t(lang, "review.request_review"), cb.Pr.REVIEW_REQUEST.encode(case.number)))
    if Action.REQUEST_REREVIEW in view.actions:
        actions.append(kb.button(t(lang, "review.request_rereview"), cb.Pr.REREVIEW_REQUEST.encode(case.number)))
    markup = kb.markup([actions, [kb.button(t(lang, "employee.back_to_list"), cb.My.PAGE.encode(0))]])
    if edit:
        await show(update, context, text, markup)
    else:
        await send(update, context, text, markup)


async def status(update: Update, context: Context) -> None:
    lang = await lang_of(update, context)
    if not context.args:
        await send(update, context, t(lang, "cases.status_usage"))
        return
    await show_case(update, context, context.args[0][:40])


async def on_open(update: Update, context: Context, number: str) -> None:
    await answer_query(update)
    await show_case(update, context, number, edit=True)


# ------------------------------------------------------------------ withdraw


async def on_withdraw(update: Update, context: Context, number: str) -> None:
    """Withdrawing asks to confirm first."""
    await _withdraw(update, context, number, confirmed=False)


async def on_withdraw_confirmed(update: Update, context: Context, number: str) -> None:
    await _withdraw(update, context, number, confirmed=True)


@answers_refusals()
async def _withdraw(update: Update, context: Context, number: str, *, confirmed: bool) -> None:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    d = deps(context)
    if not confirmed:
        view = await d.self_service.petitioner_case(user.id, number)
        if Action.WITHDRAW not in view.actions:
            await show_case(update, context, number, edit=True)
            return
        await show(update, context, t(lang, "employee.confirm_withdraw", number=view.case.number), kb.markup([[
            kb.button(t(lang, "employee.confirm_yes"), cb.Em.WITHDRAW_CONFIRMED.encode(view.case.number)),
            kb.button(t(lang, "employee.confirm_no"), cb.My.OPEN.encode(view.case.number)),
        ]]))
    else:
        case, withdrawn = await d.self_service.withdraw(user.id, number)
        key = "employee.withdrawn" if withdrawn else "employee.already_withdrawn"
        await show(update, context, t(lang, key, number=case.number),
                   kb.markup([[kb.button(t(lang, "employee.back_to_list"), cb.My.PAGE.encode(0))]]))


# ------------------------------------------------------- adding information


async def perform_add(d: Deps, actor: Actor, number: str, text: str) -> Case:
    """Text-only addition (the prompt's plain form; ``receive_addition`` is used instead)."""
    return await d.cases.add_info(actor, number, text)


@answers_in_prompt  # too long: the question stands, to be answered again; a case closed to additions ends it
async def receive_addition(update: Update, context: Context, number: str) -> bool:
    """One message for the ``add`` prompt: text ends it, files keep it open for more.

    Every message is appended at once (nothing waits in a buffer to be lost),
    keyed by its message id so that a redelivery adds nothing.
    """
    user = update.effective_user
    message = update.effective_message
    assert user is not None and message is not None
    lang = await lang_of(update, context)
    d = deps(context)
    attachment = None if message.text else attachment_of(message)
    if message.text is None and attachment is None:
        await send(update, context, t(lang, "employee.add_hint"))
        return True
    if attachment is not None and attachment.size is not None and attachment.size > ATTACHMENT_BYTES_MAX:
        await send(update, context, t(lang, "employee.file_too_big"))
        return True
    text = message.text if attachment is None else message.caption
    if attachment is None and not visible(text or ""):
        await send(update, context, t(lang, "errors.text_required"))
        return True
    added = await d.self_service.add_information(
        user.id,
        number,
        text=text,
        attachments=[attachment] if attachment else [],
        key=f"{message.chat_id}:{message.message_id}",
        end_prompt=attachment is None,
    )
    case = added.case
    if attachment is None:
        key = "employee.added_text" if added.created else "employee.added_again"
        await send(update, context, t(lang, key, number=case.number),
                   kb.markup([[kb.button(t(lang, "employee.add_more"), cb.Pr.ADD.encode(case.number))]]))
        return False
    key = "employee.added_file" if added.created else "employee.added_again"
    await send(update, context, t(lang, key, number=case.number),
               kb.markup([[kb.button(t(lang, "common.done"), cb.Pr.END.encode())]]))
    return True


def handlers() -> list[Handler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private),
        CommandHandler("help", help_command),
        CommandHandler("myid", my_id, filters=private),
        CommandHandler("language", language, filters=private),
        CommandHandler("mycases", my_cases, filters=private),
        CommandHandler("status", status, filters=private),
        cb.Lang.CHOOSE.handler(on_language),
        cb.My.PAGE.handler(on_page),
        cb.My.OPEN.handler(on_open),
        cb.Em.WITHDRAW.handler(on_withdraw),
        cb.Em.WITHDRAW_CONFIRMED.handler(on_withdraw_confirmed),
        cb.Lang.area.stale_handler(stale_button),
        cb.My.area.stale_handler(stale_button),
        cb.Em.area.stale_handler(stale_button_message),
    ]
