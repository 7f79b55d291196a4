"""What every handler needs: the services, the caller's language, safe replies."""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from collections.abc import Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, BaseHandler, ContextTypes, ConversationHandler, filters
from telegram.warnings import PTBUserWarning

from handlers.i18n import Html, language_for, t
from handlers.render import day, pack
from store.approvals import ApprovalService
from store.cases import CaseService
from store.clock import Clock
from store.conversations import Conversation
from store.documents import DocumentService
from store.errors import StoreError
from store.forms import FormDrafts
from store.incidents import IncidentService
from store.indicators import IndicatorService
from store.ledger import LedgerService
from store.links import LinkService
from store.models import Actor
from store.org import Organization
from store.reception import ReceptionService
from store.repeats import RepeatService
from store.review import ReviewService
from store.roster import RosterService
from store.screening import ScreeningService
from store.selfservice import SelfService
from store.services import Services
from store.staffing import StaffingService
from store.staffwork import StaffWork
from store.supervision import SupervisionService

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
#: PTB's generic types with this application's parameters, written once.
Handler: TypeAlias = BaseHandler[Any, Context, Any]
ConvHandler: TypeAlias = ConversationHandler[Context]
App: TypeAlias = Application[Any, Context, Any, Any, Any, Any]


class HandedOn:
    """The updates the update being handled hands on, to be handled again once it is done.

    The update processor (bot/updates.py) gives each update it runs one of these and, when the update's
    handling ends, handles what was handed on in that same turn of the chat: before any later update of
    the chat, and never beside one. Once it has (``closed``), or where no processor ran the update (a
    test calling ``process_update`` itself), an update handed on is handled in a task of its own.
    """

    __slots__ = ("waiting", "closed")

    def __init__(self) -> None:
        self.waiting: list[Coroutine[Any, Any, None]] = []
        self.closed = False


HANDED_ON: ContextVar[HandedOn | None] = ContextVar("handed_on", default=None)


def hand_on(update: Update, context: Context) -> None:
    """This update is not the handler's after all (its form or prompt ended): it is handled again, as if
    the form had not been there, right after this handler, in the chat's order."""
    again = context.application.process_update(update)
    turn = HANDED_ON.get()
    if turn is None or turn.closed:
        context.application.create_task(again, update=update)
    else:
        turn.waiting.append(again)


PRIVATE = filters.ChatType.PRIVATE
# Typed text (not a command, not an edit) in a private chat.
PRIVATE_TEXT = filters.TEXT & ~filters.COMMAND & PRIVATE & filters.UpdateType.MESSAGE
# A file the petitioner may attach, in a private chat.
PRIVATE_FILES = (
    filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.VIDEO | filters.AUDIO
    | filters.VIDEO_NOTE
) & PRIVATE & filters.UpdateType.MESSAGE


def user_conversation(name: Conversation, **handlers: Any) -> ConvHandler:
    """A persistent conversation per user: one at a time, whatever message a button is on.

    Per user on purpose: the buttons of any of the user's messages belong to
    their one conversation, so PTB's per_message hint does not apply.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        return ConversationHandler(
            name=name, persistent=True, allow_reentry=True, per_chat=False, per_user=True, **handlers
        )


@dataclass
class Deps:
    """Shared by all handlers through ``application.bot_data['deps']``.

    Each handler module uses the services it needs (``d.cases``,
    ``d.review``...), not the bundle.
    """

    cases: CaseService
    self_service: SelfService
    staff_work: StaffWork
    review: ReviewService
    reception: ReceptionService
    indicators: IndicatorService
    supervision: SupervisionService
    screening: ScreeningService
    incidents: IncidentService
    links: LinkService
    ledger: LedgerService
    documents: DocumentService
    roster: RosterService
    staffing: StaffingService
    approvals: ApprovalService
    repeats: RepeatService
    forms: FormDrafts
    clock: Clock
    tz: ZoneInfo
    # Telegram language codes already written to the d, to skip needless writes.
    seen_languages: dict[int, str | None] = field(default_factory=dict)
    # Languages chosen with /language (or read once from the d).
    chosen_languages: dict[int, str] = field(default_factory=dict)
    # The bundle, only to render a notice on demand (a contact task's text: handlers.ledger).
    services: Services | None = None

    @property
    def org(self) -> Organization:
        """The organisation as it is now (staff managed in chat, a reloaded file: store/staffing.py)."""
        assert self.services is not None
        return self.services.org

    @classmethod
    def of(cls, services: Services) -> Deps:
        return cls(
            cases=services.cases,
            self_service=services.self_service,
            staff_work=services.staff_work,
            review=services.review,
            reception=services.reception,
            indicators=services.indicators,
            supervision=services.supervision,
            screening=services.screening,
            incidents=services.incidents,
            links=services.links,
            ledger=services.ledger,
            documents=services.documents,
            roster=services.roster,
            staffing=services.staffing,
            approvals=services.approvals,
            repeats=services.repeats,
            forms=services.forms,
            clock=services.clock,
            tz=services.tz,
            services=services,
        )


def deps(context: Context) -> Deps:
    found: Deps = context.application.bot_data["deps"]
    return found


async def lang_of(update: Update, context: Context) -> str:
    """The caller's language: their /language choice, else Telegram's language_code."""
    user = update.effective_user
    if user is None:
        return "zh"
    d = deps(context)
    if user.id not in d.chosen_languages:
        stored = await d.cases.user_language(user.id)
        d.chosen_languages[user.id] = language_for(stored or user.language_code)
    return d.chosen_languages[user.id]


async def remember_user(update: Update, context: Context) -> None:
    """Keep the user's Telegram language in the store so notifications use it."""
    user = update.effective_user
    if user is None or user.is_bot:
        return
    d = deps(context)
    if d.seen_languages.get(user.id, "?") == user.language_code:
        return
    await d.cases.touch_user(
        user.id,
        tg_language=user.language_code,
        first_name=user.first_name,
        username=user.username,
    )
    d.seen_languages[user.id] = user.language_code
    d.chosen_languages.pop(user.id, None)  # recomputed from the store on next use


async def send(
    update: Update,
    context: Context,
    text: Html,
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None,
) -> Message:
    """Send a new message to the chat the update came from (a reply keyboard only in a new one)."""
    chat = update.effective_chat
    assert chat is not None
    return await context.bot.send_message(
        chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
    )


async def show(
    update: Update,
    context: Context,
    text: Html,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Answer in place when a button was tapped (one tidy message), else send anew."""
    query = update.callback_query
    if query is not None and query.message is not None and isinstance(query.message, Message):
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return
            log.info("could not edit message, sending a new one: %s", error)
    await send(update, context, text, markup)


async def send_list(
    update: Update,
    context: Context,
    blocks: list[Html],
    markup: InlineKeyboardMarkup | None = None,
    separator: str = "\n\n",
) -> None:
    """A message that lists things (a title, then one block per item), in as many messages as it needs.

    Every message stays within Telegram's 4,096 UTF-16 units (``render.pack``):
    an item is never cut unless it alone is too long, and then at a line
    break. The buttons go under the last message.
    """
    parts = pack(blocks, separator=separator)
    for n, part in enumerate(parts, start=1):
        await send(update, context, part, markup if n == len(parts) else None)


async def show_list(
    update: Update,
    context: Context,
    blocks: list[Html],
    markup: InlineKeyboardMarkup | None = None,
    separator: str = "\n\n",
) -> None:
    """``send_list`` for a list shown in place (a page turned by a button): the first part edits the message."""
    parts = pack(blocks, separator=separator)
    if len(parts) == 1:
        await show(update, context, parts[0], markup)
        return
    await show(update, context, parts[0])
    for n, part in enumerate(parts[1:], start=2):
        await send(update, context, part, markup if n == len(parts) else None)


#: The parameters of a refusal that are dates (``due``, ``date``): shown as ``2026年12月21日``.
DATE_PARAMS = frozenset({"due", "date"})


def error_text(lang: str, error: StoreError) -> Html:
    """The user's words for a store refusal; statuses are named, not coded."""
    params = dict(error.params)
    if "status" in params:
        params["status"] = t(lang, f"status.{params['status']}")
    for name in DATE_PARAMS & params.keys():  # the store gives dates as ISO strings: shown as people read them
        params[name] = day(str(params[name]), lang)
    key = f"errors.{error.code}"
    try:
        return t(lang, key, **params)
    except KeyError:
        return t(lang, "errors.refused")


#: The updates whose button tap was answered lately (by identity, oldest first; held, so an id is never
#: reused while listed): a refusal answers a tap only if nothing did before.
_ANSWERED: OrderedDict[int, Update] = OrderedDict()
_ANSWERED_KEPT = 256


def query_answered(update: Update) -> bool:
    """Whether this update's button tap was answered already (``answer_query``); False without a tap."""
    return update.callback_query is not None and _ANSWERED.get(id(update)) is update


async def answer_query(update: Update, text: str | None = None, alert: bool = False) -> None:
    """Stop the button's spinner; never let a stale query (or a Bot API fault) break the handler."""
    query = update.callback_query
    if query is None:
        return
    _ANSWERED[id(update)] = update
    while len(_ANSWERED) > _ANSWERED_KEPT:
        _ANSWERED.popitem(last=False)
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as error:  # the answer itself still follows
        log.debug("callback answer failed: %s", error)


async def staff_caller(update: Update, context: Context) -> tuple[Actor, str] | None:
    """The caller as staff in a private chat, or None after saying why not."""
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    actor = deps(context).cases.actor(user.id)
    if not actor.is_staff:
        await answer_query(update)
        await send(update, context, t(lang, "staff.not_staff"))
        return None
    chat = update.effective_chat
    if chat is not None and chat.type != "private":
        # Case work shows personal data: never in a group, not even the staff group.
        await answer_query(update)
        await send(update, context, t(lang, "common.private_only"))
        return None
    return actor, lang
