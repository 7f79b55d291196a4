"""Actions that need a typed text: tap a button, the bot asks, the next text answers.

A tapped prompt button is remembered in the store before the question is
sent, so the answer is understood even after a restart. The conversation
state is the prompt's kind; its case number lives with it in the d.

Button data is ``pr:<kind>:<number>`` or, for prompts that take a choice
made on an earlier button (days of an extension, kind of decision, unit of
a transfer), ``pr:<kind>:<number>:<choice>``; such prompts have ``detail``,
which checks the choice and names it in the question.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import ForceReply, Update
from telegram.constants import ParseMode
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers import callbacks as cb
from handlers import employee
from handlers.common import (
    PRIVATE,
    PRIVATE_FILES,
    PRIVATE_TEXT,
    Context,
    ConvHandler,
    Deps,
    answer_query,
    deps,
    hand_on,
    lang_of,
    send,
    user_conversation,
)
from handlers.i18n import t
from handlers.refusals import answers_refusals, closes_prompt
from store.conversations import Conversation
from store.errors import StoreError
from store.models import Actor, ActorRole, Case
from store.org import Organization
from store.supervision import FOLLOW_UP_METHODS
from store.workflow import Action

# perform(d, actor, target, text): target is the number, or "number:choice" with ``detail``.
Perform = Callable[[Deps, Actor, str, str], Awaitable[object]]
# detail(lang, org, choice): extra parameters for the question, or None if the choice is invalid.
Detail = Callable[[str, Organization, str], "dict[str, Any] | None"]
# Handles one message (text or file) for case ``number``; True keeps the prompt open.
Receive = Callable[[Update, "Context", str], Awaitable[bool]]


@dataclass(frozen=True)
class Prompt:
    ask: str  # text key of the question
    done: str  # text key of the confirmation
    perform: Perform
    staff_only: bool  # False: a petitioner's prompt, acting on their own case
    detail: Detail | None = None  # set: the button carries a choice, checked and named here
    receive: Receive | None = None  # set: takes files as well as text, and answers itself
    hint: str = "intake.text_expected"  # text key for a message the prompt cannot use
    # False: its button opens something else now (a form); kept to answer a question asked before the upgrade.
    asks: bool = True


def _act(action: Action) -> Perform:
    async def perform(d: Deps, actor: Actor, number: str, text: str) -> Case:
        return await d.cases.act(actor, number, action, body=text)

    return perform


async def _extend(d: Deps, actor: Actor, target: str, text: str) -> Case:
    number, _, days = target.partition(":")
    return await d.cases.act(actor, number, Action.EXTEND, days=int(days), body=text)


def _extend_detail(lang: str, org: Organization, choice: str) -> dict[str, Any] | None:
    return {"days": int(choice)} if choice.isdigit() and len(choice) <= 3 else None


async def _transfer(d: Deps, actor: Actor, target: str, text: str) -> Case:
    number, _, unit = target.partition(":")
    return await d.cases.act(actor, number, Action.TRANSFER, unit=unit, body=text)


def _transfer_detail(lang: str, org: Organization, choice: str) -> dict[str, Any] | None:
    unit = org.find_unit(choice)
    return {"unit": org.unit_path(unit.id, lang)} if unit is not None else None


# Supervision from the card (store.supervision): the same store calls as the commands.
async def _progress(d: Deps, actor: Actor, number: str, text: str) -> Case:
    return await d.supervision.progress(actor, number, text)


async def _supervise(d: Deps, actor: Actor, target: str, text: str) -> object:
    number, _, days = target.partition(":")
    return await d.supervision.supervise(actor, number, int(days), text)


def _supervise_detail(lang: str, org: Organization, choice: str) -> dict[str, Any] | None:
    return {"days": int(choice)} if choice.isdigit() and len(choice) <= 3 else None


async def _follow_up(d: Deps, actor: Actor, target: str, text: str) -> Case:
    number, _, method = target.partition(":")
    return await d.supervision.follow_up(actor, number, method, text)


def _follow_up_detail(lang: str, org: Organization, choice: str) -> dict[str, Any] | None:
    return {"method": t(lang, f"supervision.followup_{choice}")} if choice in FOLLOW_UP_METHODS else None


async def _redo(d: Deps, actor: Actor, number: str, text: str) -> Case:
    return await d.supervision.redo(actor, number, text)


async def _cohandle(d: Deps, actor: Actor, target: str, text: str) -> object:
    number, _, unit = target.partition(":")
    return await d.supervision.cohandle(actor, number, unit, text)


def _cohandle_detail(lang: str, org: Organization, choice: str) -> dict[str, Any] | None:
    unit = org.find_unit(choice)
    return {"unit": unit.name.get(lang)} if unit is not None else None


PROMPTS: dict[str, Prompt] = {
    "rep": Prompt("staff.ask_reply", "staff.replied", _act(Action.REPLY), True),
    "nt": Prompt("work.ask_note", "work.noted", _act(Action.NOTE), True),
    "ext": Prompt("work.ask_extend_reason", "work.extended_short", _extend, True, _extend_detail),
    "tr": Prompt("work.ask_transfer_reason", "work.transferred_short", _transfer, True, _transfer_detail),
    "pg": Prompt("buttons.ask_progress", "supervision.progress_done", _progress, True),
    "svi": Prompt("buttons.ask_instruction", "buttons.supervised", _supervise, True, _supervise_detail),
    "fui": Prompt("buttons.ask_followup", "buttons.followed_up", _follow_up, True, _follow_up_detail),
    "rdo": Prompt("buttons.ask_redo", "buttons.redone", _redo, True),
    "chn": Prompt("cohandle.ask_note", "buttons.cohandled", _cohandle, True, _cohandle_detail),
    # The petitioner adds information to their case, or answers an officer's reply.
    "add": Prompt("employee.ask_add", "employee.add_finished", employee.perform_add, False,
                  receive=employee.receive_addition, hint="employee.add_hint"),
}


#: ``pr:`` buttons that open a form of their own (handlers.opinion, handlers.review_opinion), not a prompt.
FORMS = (cb.Pr.END, cb.Pr.DECLINE, cb.Pr.DECIDE, cb.Pr.OPINION_MAINTAIN, cb.Pr.OPINION_REVOKE, cb.Pr.OPINION_CHANGE,
         cb.Pr.OPINION_REDO)


def _actor(d: Deps, prompt: Prompt, user_id: int) -> Actor:
    """Staff prompts act in the staff role; the others as the petitioner of their own case."""
    return d.cases.actor(user_id) if prompt.staff_only else Actor(id=user_id, role=ActorRole.PETITIONER)


def _begin(kind: str) -> Callable[..., Awaitable[str | int]]:
    """The handler of one prompt's button (``pr:<kind>:<number>[:<choice>]``)."""
    async def tapped(update: Update, context: Context, number: str, choice: object = "") -> str | int:
        return await begin(update, context, kind, number, str(choice))
    tapped.__name__ = f"begin_{kind}"
    return tapped


@answers_refusals(on={StoreError: closes_prompt(ConversationHandler.END)})  # the case is not the caller's to act on
async def begin(update: Update, context: Context, kind: str, number: str, choice: str = "") -> str | int:
    """A prompt button: check the caller may act on the case, then ask for the text."""
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    prompt = PROMPTS.get(kind)
    d = deps(context)
    lang = await lang_of(update, context)
    detail = prompt.detail(lang, d.org, choice) if prompt is not None and prompt.detail else {}
    if prompt is None or detail is None:
        await d.cases.clear_prompt(user.id)  # the conversation ends: so does any earlier question
        await send(update, context, t(lang, "common.expired_button"))
        return ConversationHandler.END
    actor = _actor(d, prompt, user.id)
    if prompt.staff_only and not actor.is_staff:
        await d.cases.clear_prompt(user.id)  # the conversation ends: so does any earlier question
        await send(update, context, t(lang, "staff.not_staff"))
        return ConversationHandler.END
    await d.cases.case_for(actor, number)
    await d.cases.set_prompt(user.id, kind, f"{number}:{choice}" if prompt.detail else number)
    await context.bot.send_message(
        user.id,
        t(lang, prompt.ask, number=number, **detail),
        parse_mode=ParseMode.HTML,
        reply_markup=ForceReply(selective=True),
    )
    return kind


@answers_refusals(on={StoreError: closes_prompt(ConversationHandler.END)})  # refused, even too long: asked no more
async def answer(update: Update, context: Context) -> str | int:
    user = update.effective_user
    assert user is not None
    d = deps(context)
    lang = await lang_of(update, context)
    pending = await d.cases.get_prompt(user.id)
    if pending is None:  # answered or cancelled meanwhile (another device, a redelivery)
        await send(update, context, t(lang, "common.not_understood"))
        return ConversationHandler.END
    kind, target = pending
    number = target.partition(":")[0]
    receive = PROMPTS[kind].receive
    if receive is not None:
        return kind if await receive(update, context, number) else ConversationHandler.END
    text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    if not text:
        await send(update, context, t(lang, "errors.text_required"))
        return kind
    await PROMPTS[kind].perform(d, _actor(d, PROMPTS[kind], user.id), target, text)
    await send(update, context, t(lang, PROMPTS[kind].done, number=number))
    await d.cases.clear_prompt(user.id)
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> int:
    user = update.effective_user
    assert user is not None
    await deps(context).cases.clear_prompt(user.id)
    await send(update, context, t(await lang_of(update, context), "common.cancelled"))
    return ConversationHandler.END


async def leave_for_command(update: Update, context: Context) -> int:
    """Another command ends the prompt; the command is then handled as usual."""
    user = update.effective_user
    assert user is not None
    await deps(context).cases.clear_prompt(user.id)
    hand_on(update, context)
    return ConversationHandler.END


async def finish(update: Update, context: Context) -> int:
    """The "Done" button of a prompt that stays open for several messages."""
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    d = deps(context)
    pending = await d.cases.get_prompt(user.id)
    await d.cases.clear_prompt(user.id)
    if pending is not None and pending[0] in PROMPTS:
        kind, number = pending[0], pending[1].partition(":")[0]
        await send(update, context, t(await lang_of(update, context), PROMPTS[kind].done, number=number))
    return ConversationHandler.END


async def not_text(update: Update, context: Context) -> None:
    user = update.effective_user
    pending = await deps(context).cases.get_prompt(user.id) if user else None
    prompt = PROMPTS.get(pending[0]) if pending else None
    hint = prompt.hint if prompt else "intake.text_expected"
    await send(update, context, t(await lang_of(update, context), hint))


async def expired(update: Update, context: Context) -> int:
    """A ``pr:`` button no prompt accepts (old, forged, malformed): the conversation ends, as does any question."""
    user = update.effective_user
    assert user is not None
    await answer_query(update)
    await deps(context).cases.clear_prompt(user.id)
    await send(update, context, t(await lang_of(update, context), "common.expired_button"))
    return ConversationHandler.END


def buttons() -> dict[str, cb.Button]:
    """Each prompt's button, by kind (the kind is the button's verb, and the conversation's state)."""
    found = {b.verb: b for b in cb.Pr.area.buttons if b.verb in PROMPTS and PROMPTS[b.verb].asks}
    missing = {kind for kind, prompt in PROMPTS.items() if prompt.asks} - set(found)
    assert not missing, f"prompts without a button in handlers.callbacks.Pr: {missing}"
    return found


def build() -> ConvHandler:
    private, text = PRIVATE, PRIVATE_TEXT
    files = PRIVATE_FILES
    return user_conversation(
        Conversation.PROMPT,
        entry_points=[
            *(button.handler(_begin(kind)) for kind, button in buttons().items()),
            # pr:dec and pr:dcs open the written forms of handlers.opinion, the outcomes of a 复查 / 复核 the
            # form of handlers.review_opinion (registered after this one).
            CallbackQueryHandler(expired, pattern=lambda data: cb.Pr.area.owns(data) and not any(
                b.matches(data) for b in FORMS)),
        ],
        states={
            kind: [MessageHandler(text | files if prompt.receive else text, answer)]
            for kind, prompt in PROMPTS.items()
        },
        fallbacks=[
            cb.Pr.END.handler(finish),
            CommandHandler("cancel", cancel),
            MessageHandler(filters.COMMAND & private, leave_for_command),
            MessageHandler(private & filters.UpdateType.MESSAGE, not_text),
        ],
    )

