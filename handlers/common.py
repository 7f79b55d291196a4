"""What every handler needs: the store, the caller's language, safe replies."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from handlers.i18n import Html, language_for, t
from store.errors import StoreError
from store.org import Organization
from store.base import Store

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE


@dataclass
class Deps:
    """Shared by all handlers through ``application.bot_data['deps']``."""

    store: Store
    org: Organization
    # Telegram language codes already written to the store, to skip needless writes.
    seen_languages: dict[int, str | None] = field(default_factory=dict)
    # Languages chosen with /language (or read once from the store).
    chosen_languages: dict[int, str] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return self.store.tz


def deps(context: Context) -> Deps:
    return context.application.bot_data["deps"]


async def lang_of(update: Update, context: Context) -> str:
    """The caller's language: their /language choice, else Telegram's language_code."""
    user = update.effective_user
    if user is None:
        return "zh"
    d = deps(context)
    if user.id not in d.chosen_languages:
        stored = await d.store.user_language(user.id)
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
    await d.store.touch_user(
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
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Send a new message to the chat the update came from."""
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


def error_text(lang: str, error: StoreError) -> Html:
    """The user's words for a store refusal; statuses are named, not coded."""
    params = dict(error.params)
    if "status" in params:
        params["status"] = t(lang, f"status.{params['status']}")
    key = f"errors.{error.code}"
    try:
        return t(lang, key, **params)
    except KeyError:
        return t(lang, "errors.refused")


async def answer_query(update: Update, text: str | None = None, alert: bool = False) -> None:
    """Stop the button's spinner; never let a stale query break the handler."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as error:
        log.debug("callback answer failed: %s", error)
