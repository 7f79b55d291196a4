"""Command menus: the petitioner's commands per language, each staff member's own.

At start-up the default menu is set in Chinese (for every language without
its own list) and in English (``language_code="en"``); every staff member
gets a chat-scoped menu of the staff commands in their language. Telegram
refuses a chat menu for someone who has never opened the bot, and a staff
member may switch language later, so :func:`on_update` sets a staff
member's menu again whenever their language differs from the one last set.
A menu that cannot be set is logged and retried later; it never stops the bot.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import TypeHandler

from handlers.common import App, Context, Handler, deps, lang_of
from handlers.i18n import LANGUAGES, language_for, t
from store.cases import CaseService
from store.org import Role, Staff

log = logging.getLogger(__name__)

PETITIONER_COMMANDS = (
    "start", "new", "mycases", "app", "status", "document", "reception", "claim", "verify", "language", "cancel",
    "help",
)
OFFICER_COMMANDS = (
    "queue", "case", "accept", "decline", "assign", "reply", "note", "extend", "decide", "transfer",
    "history", "review", "hearing", "progress", "followup", "document", "served", "cohandle", "register", "find", "codes",
    "link", "unlink", "merge", "repeat", "incident", "screening", "dispute", "language", "cancel", "help",
)
# Leaders and administrators also watch indicators and alerts, supervise and urge (督办, 催办),
# hold reception days, and run the group-incident plan (/incident for officers in a response group too).
LEADER_COMMANDS = (
    *OFFICER_COMMANDS[:-3], "supervise", "urge", "lead", "redo", "alerts", "stats", "export", "reception_add", "reception_list",
    "incident_close", "incident_drill",
    "language", "cancel", "help",
)


def staff_commands(role: Role, custodian: bool = False) -> tuple[str, ...]:
    """The menu of a role; the identity custodian's has /reveal too, an administrator's /staff."""
    names = OFFICER_COMMANDS if role is Role.OFFICER else LEADER_COMMANDS
    extra = (*(("reveal",) if custodian else ()), *(("staff",) if role is Role.ADMIN else ()))
    return (*names[:-3], *extra, *names[-3:])


def _menu_key(staff: Staff, lang: str) -> str:
    """What a menu set depends on: a change of role in chat (store/staffing.py) sets it again."""
    return f"{lang}:{staff.role.value}:{int(staff.custodian)}"
# Telegram language code of each catalog's default-scope menu (None: every other language).
MENU_LANGUAGE_CODES = {"zh": None, "en": "en"}
# staff telegram id → language of the menu last set for them (in bot_data).
STATE_KEY = "staff_menus"


def commands(lang: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(name, t(lang, f"menu.{name}")) for name in names]


async def set_default_menus(bot: Bot) -> bool:
    """The petitioner's menu in each language; False if Telegram refused one."""
    ok = True
    for lang in LANGUAGES:
        try:
            await bot.set_my_commands(
                commands(lang, PETITIONER_COMMANDS), language_code=MENU_LANGUAGE_CODES[lang]
            )
        except TelegramError as error:
            log.warning("could not set the %s command menu: %s", lang, error)
            ok = False
    return ok


async def set_staff_menu(
    bot: Bot, staff: Staff, lang: str, state: dict[int, str]
) -> bool:
    """The commands of ``staff``'s role in their chat, in ``lang``; remembered in ``state`` once set."""
    staff_id = staff.telegram_id
    try:
        await bot.set_my_commands(
            commands(lang, staff_commands(staff.role, staff.custodian)), scope=BotCommandScopeChat(staff_id)
        )
    except TelegramError as error:
        # Usually "chat not found": the person has not opened the bot yet.
        log.info("a staff command menu is not set yet: %s", error)  # no Telegram id in the log
        return False
    state[staff_id] = _menu_key(staff, lang)
    return True


async def setup(application: App, cases: CaseService) -> None:
    """All menus, at start-up. Never raises: a bot without menus still works."""
    state: dict[int, str] = application.bot_data.setdefault(STATE_KEY, {})
    try:
        await set_default_menus(application.bot)
        for member in cases.org.staff:
            lang = language_for(await cases.user_language(member.telegram_id))
            await set_staff_menu(application.bot, member, lang, state)
    except Exception:
        log.exception("could not set the command menus")


async def on_update(update: Update, context: Context) -> None:
    """A staff member whose menu is missing or in another language gets it (in the background)."""
    user = update.effective_user
    member = deps(context).org.staff_member(user.id) if user is not None and not user.is_bot else None
    if user is None or member is None:
        return
    state: dict[int, str] = context.bot_data.setdefault(STATE_KEY, {})
    lang = await lang_of(update, context)
    if state.get(user.id) == _menu_key(member, lang):
        return
    state[user.id] = _menu_key(member, lang)  # no second attempt while this one runs; undone on failure

    async def attempt() -> None:
        try:
            if not await set_staff_menu(context.bot, member, lang, state):
                state.pop(user.id, None)
        except Exception:
            state.pop(user.id, None)
            log.exception("could not set a staff command menu")

    if context.application.running:
        context.application.create_task(attempt(), update=update)
    else:  # driven update by update (offline tests): nothing runs in the background
        await attempt()


def handler() -> Handler:
    return TypeHandler(Update, on_update)
