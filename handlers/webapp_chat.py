"""``/app`` in chat: the Mini App behind a button, for employees and staff alike.

The menu button opens the page too (``bot/webapp.py``'s ``set_menu_buttons``);
``/app`` answers with a Web App button to the same URL, which is known only
when ``PETITION_WEBAPP_URL`` is set (else it says that the cases are in chat:
``/mycases``). Buttons that open a Web App work in private chats only.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.ext import CommandHandler, filters

from handlers.common import Context, Handler, deps, lang_of, send
from handlers.i18n import t

#: Where ``bot/app.py`` puts the page's public URL (``PETITION_WEBAPP_URL``) in ``bot_data``.
URL_KEY = "webapp_url"


async def app_command(update: Update, context: Context) -> None:
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    url = context.bot_data.get(URL_KEY)
    if not url:
        await send(update, context, t(lang, "webapp_chat.not_set"))
        return
    staff = deps(context).cases.actor(user.id).is_staff
    button = InlineKeyboardButton(str(t(lang, "webapp_chat.button")), web_app=WebAppInfo(url=url))
    await send(update, context, t(lang, "webapp_chat.open_staff" if staff else "webapp_chat.open"),
               InlineKeyboardMarkup([[button]]))


def handlers() -> list[Handler]:
    return [CommandHandler("app", app_command, filters=filters.ChatType.PRIVATE)]
