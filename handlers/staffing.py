"""/staff: an administrator adds, changes and removes staff in chat (store/staffing.py).

Every tap is one whole change, carried by its button (the member and what
to set), so there is no draft to lose: the store checks it like the
organisation file and puts it in effect at once, or refuses with the reason.
A new person is picked with Telegram's user picker (``request_users``) or by
their employee number once they have verified their account (/verify).
"""

from __future__ import annotations

import re

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, MessageHandler, filters

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import (
    PRIVATE,
    Context,
    Handler,
    answer_query,
    deps,
    lang_of,
    send,
    send_list,
    show,
)
from handlers.common import show_list as show_listed
from handlers.fallback import stale_button
from handlers.i18n import LANGUAGES, Html, escape, t
from handlers.refusals import answer_refusal, answers_refusals
from handlers.render import unit_name
from store.errors import StoreError
from store.models import Actor, OutboxItem
from store.org import Organization, Role, Staff
from store.services import Services

PAGE = 8
PICK_REQUEST = 1  # request_id of the user picker's button
ROLES = {"officer": Role.OFFICER, "leader": Role.LEADER, "admin": Role.ADMIN}


async def _admin(update: Update, context: Context) -> tuple[Actor, str] | None:
    """The caller as an administrator in a private chat, or None after saying why not."""
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    actor = deps(context).cases.actor(user.id)
    member = deps(context).org.staff_member(user.id)
    chat = update.effective_chat
    if member is None or member.role is not Role.ADMIN:
        await answer_query(update)
        await send(update, context, t(lang, "errors.staff_admin_only"))
        return None
    if chat is not None and chat.type != "private":
        await answer_query(update)
        await send(update, context, t(lang, "common.private_only"))
        return None
    return actor, lang


def _units(org: Organization, member: Staff, lang: str) -> str:
    return "、".join(unit_name(org, u, lang) for u in member.units) if member.units else "—"


def _categories(org: Organization, member: Staff, lang: str) -> Html:
    if not member.categories:
        return t(lang, "staffing.all_categories")
    return Html("、".join(c.name.get(lang) for c in org.categories if c.id in member.categories))


def member_text(org: Organization, member: Staff, source: str, lang: str) -> Html:
    return t(lang, "staffing.card", name=member.name, id=member.telegram_id, role=t(lang, f"role.{member.role.value}"),
             units=_units(org, member, lang), categories=_categories(org, member, lang),
             source=t(lang, f"staffing.source_{source}"),
             custodian=(t(lang, "staffing.custodian") if member.custodian else "")
             + (t(lang, "discipline.staff_mark") if member.discipline else ""))


def member_buttons(member: Staff, lang: str) -> InlineKeyboardMarkup:
    sid = member.telegram_id
    roles = [kb.button(("✅ " if member.role is role else "") + t(lang, f"role.{role.value}"),
                       cb.Sm.ROLE.encode(sid, name)) for name, role in ROLES.items()]
    return kb.markup([
        roles,
        [kb.button(t(lang, "staffing.units_button"), cb.Sm.UNITS.encode(sid, "")),
         kb.button(t(lang, "staffing.categories_button"), cb.Sm.CATEGORIES.encode(sid))],
        [kb.button(t(lang, "staffing.remove_button"), cb.Sm.REMOVE.encode(sid))],
        [kb.button(t(lang, "staffing.back_to_list"), cb.Sm.LIST.encode(0))],
    ])


async def show_list(update: Update, context: Context, lang: str, page: int = 0) -> None:
    entries = deps(context).staffing.entries()
    pages = max(1, (len(entries) + PAGE - 1) // PAGE)
    page = min(max(page, 0), pages - 1)
    org = deps(context).org
    rows = [[kb.button(t(lang, "staffing.list_item", name=e.member.name, role=t(lang, f"role.{e.member.role.value}"),
                         units=_units(org, e.member, lang)), cb.Sm.OPEN.encode(e.member.telegram_id))]
            for e in entries[page * PAGE:(page + 1) * PAGE]]
    nav = []
    if page > 0:
        nav.append(kb.button(t(lang, "common.prev_page"), cb.Sm.LIST.encode(page - 1)))
    if page + 1 < pages:
        nav.append(kb.button(t(lang, "common.next_page"), cb.Sm.LIST.encode(page + 1)))
    rows += [nav, [kb.button(t(lang, "staffing.add_button"), cb.Sm.ADD.encode())]]
    await show(update, context, t(lang, "staffing.list", count=len(entries), page=page + 1, pages=pages),
               kb.markup(rows))


async def staff_command(update: Update, context: Context) -> None:
    """/staff (the list), /staff add (the user picker), /staff add <employee number> (a verified employee)."""
    caller = await _admin(update, context)
    if caller is None:
        return
    _actor, lang = caller
    args = context.args or []
    if not args:
        await show_list(update, context, lang)
        return
    if args[0].lower() in ("add", "添加") and len(args) == 1:
        await _ask_pick(update, context, lang)
        return
    if args[0].lower() in ("add", "添加"):
        await _add_by_number(update, context, caller, args[1])
        return
    await send(update, context, t(lang, "staffing.usage"))


async def _ask_pick(update: Update, context: Context, lang: str) -> None:
    picker = KeyboardButtonRequestUsers(request_id=PICK_REQUEST, user_is_bot=False, max_quantity=1, request_name=True)
    keyboard = ReplyKeyboardMarkup([[KeyboardButton(t(lang, "staffing.pick"), request_users=picker)],
                                    [KeyboardButton(t(lang, "staffing.pick_cancel"))]],
                                   resize_keyboard=True, one_time_keyboard=True)
    chat = update.effective_chat
    assert chat is not None
    await answer_query(update)
    await context.bot.send_message(chat.id, t(lang, "staffing.ask_pick", button=t(lang, "staffing.pick")),
                                   parse_mode=ParseMode.HTML, reply_markup=keyboard)


async def on_add(update: Update, context: Context) -> None:
    caller = await _admin(update, context)
    if caller is not None:
        await _ask_pick(update, context, caller[1])


@answers_refusals()
async def _add_by_number(update: Update, context: Context, caller: tuple[Actor, str], number: str) -> None:
    actor, lang = caller
    entry, account = await deps(context).roster.account_of(number[:40])
    if account is None:
        await send(update, context, t(lang, "errors.staff_not_verified", employee_no=entry.employee_no))
        return
    await deps(context).staffing.candidate(actor, account, entry.name)
    await _offer_roles(update, context, lang, account, entry.name)


@answers_refusals()
async def on_users_shared(update: Update, context: Context) -> None:
    """The user picker's answer: the person becomes a candidate, and the role is asked."""
    caller = await _admin(update, context)
    message = update.effective_message
    if caller is None or message is None or message.users_shared is None:
        return
    actor, lang = caller
    shared = message.users_shared.users[0] if message.users_shared.users else None
    if shared is None:
        return
    name = " ".join(p for p in (shared.first_name, shared.last_name) if p) or str(shared.user_id)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, t(lang, "staffing.picked", name=name), parse_mode=ParseMode.HTML,
                                   reply_markup=ReplyKeyboardRemove())
    existing = deps(context).org.staff_member(shared.user_id)
    if existing is not None:
        await _show_member(update, context, lang, shared.user_id)
        return
    await deps(context).staffing.candidate(actor, shared.user_id, name)
    await _offer_roles(update, context, lang, shared.user_id, name)


async def _offer_roles(update: Update, context: Context, lang: str, telegram_id: int, name: str) -> None:
    buttons = [kb.button(t(lang, f"role.{role.value}"), cb.Sm.NEW_ROLE.encode(telegram_id, code))
               for code, role in ROLES.items()]
    await send(update, context, t(lang, "staffing.ask_role", name=name), kb.markup([buttons]))


async def pick_cancelled(update: Update, context: Context) -> None:
    lang = await lang_of(update, context)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, t(lang, "staffing.pick_cancelled"), parse_mode=ParseMode.HTML,
                                   reply_markup=ReplyKeyboardRemove())


async def _show_member(update: Update, context: Context, lang: str, telegram_id: int) -> None:
    entries = {e.member.telegram_id: e for e in deps(context).staffing.entries()}
    entry = entries.get(telegram_id)
    if entry is None:
        await show_list(update, context, lang)
        return
    await show(update, context, member_text(deps(context).org, entry.member, entry.source, lang),
               member_buttons(entry.member, lang))


async def _put_refused(update: Update, context: Context, error: StoreError) -> bool:
    """A change refused: "not saved" on the button, and the reason as a message."""
    await answer_query(update, str(t(await lang_of(update, context), "staffing.refused")), alert=False)
    await answer_refusal(update, context, error)
    return False


@answers_refusals(on={StoreError: _put_refused})
async def _put(update: Update, context: Context, caller: tuple[Actor, str], member: Staff) -> bool:
    """One change through the store; the refusal, with its reason, as an alert and a message."""
    actor, lang = caller
    returned = await deps(context).staffing.put(actor, member)
    await answer_query(update, str(t(lang, "staffing.saved")))
    if returned.numbers:  # a list: one number a line, in as many messages as it takes
        await send_list(update, context, [t(lang, "staffing.returned", numbers=""), *_numbers(returned.numbers)],
                        separator="\n")
    return True


def _numbers(numbers: list[str]) -> list[Html]:
    """Case numbers as the items of a list (``send_list``): one a line."""
    return [escape(n) for n in numbers]


def _member_or_none(context: Context, telegram_id: int) -> Staff | None:
    return deps(context).org.staff_member(telegram_id)


async def on_list(update: Update, context: Context, page: int) -> None:
    caller = await _admin(update, context)
    if caller is not None:
        await answer_query(update)
        await show_list(update, context, caller[1], page)


async def on_open(update: Update, context: Context, telegram_id: int) -> None:
    caller = await _admin(update, context)
    if caller is not None:
        await answer_query(update)
        await _show_member(update, context, caller[1], telegram_id)


async def on_role(update: Update, context: Context, telegram_id: int, code: str) -> None:
    caller = await _admin(update, context)
    member = _member_or_none(context, telegram_id) if caller else None
    if caller is None or member is None:
        return await _gone(update, context, caller)
    changed = member.model_copy(update={"role": ROLES[code]})
    await _put(update, context, caller, changed)
    await _show_member(update, context, caller[1], telegram_id)


async def _gone(update: Update, context: Context, caller: tuple[Actor, str] | None) -> None:
    if caller is not None:
        await answer_query(update)
        await show_list(update, context, caller[1])


def _unit_rows(org: Organization, here: str, lang: str, chosen: tuple[str, ...],
               toggle: cb.Button, browse: cb.Button, *head: object) -> list[list[InlineKeyboardButton]]:
    children = org.children(here) if here else org.roots()
    rows = []
    for unit in children:
        label = ("✅ " if unit.id in chosen else "") + unit.name.get(lang)
        row = [kb.button(label, toggle.encode(*head, unit.id))]
        if org.children(unit.id):
            row.append(kb.button("›", browse.encode(*head, unit.id)))
        rows.append(row)
    if here:
        parent = org.unit(here).parent or ""
        rows.append([kb.button(t(lang, "staffing.up"), browse.encode(*head, parent))])
    return rows


async def on_units(update: Update, context: Context, telegram_id: int, here: str) -> None:
    caller = await _admin(update, context)
    member = _member_or_none(context, telegram_id) if caller else None
    org = deps(context).org
    if caller is None or member is None or (here and org.find_unit(here) is None):
        return await _gone(update, context, caller)
    lang = caller[1]
    await answer_query(update)
    rows = _unit_rows(org, here, lang, member.units, cb.Sm.UNIT, cb.Sm.UNITS, telegram_id)
    rows.append([kb.button(t(lang, "common.done"), cb.Sm.OPEN.encode(telegram_id))])
    await show(update, context, t(lang, "staffing.ask_units", name=member.name, units=_units(org, member, lang)),
               kb.markup(rows))


async def on_unit(update: Update, context: Context, telegram_id: int, unit_id: str) -> None:
    caller = await _admin(update, context)
    member = _member_or_none(context, telegram_id) if caller else None
    org = deps(context).org
    unit = org.find_unit(unit_id)
    if caller is None or member is None or unit is None:
        return await _gone(update, context, caller)
    units = tuple(u for u in member.units if u != unit_id) if unit_id in member.units else (*member.units, unit_id)
    await _put(update, context, caller, member.model_copy(update={"units": units}))
    await on_units(update, context, telegram_id, unit.parent or "")


async def on_categories(update: Update, context: Context, telegram_id: int) -> None:
    caller = await _admin(update, context)
    member = _member_or_none(context, telegram_id) if caller else None
    if caller is None or member is None:
        return await _gone(update, context, caller)
    lang = caller[1]
    await answer_query(update)
    org = deps(context).org
    rows = [[kb.button(("✅ " if c.id in member.categories else "") + c.name.get(lang),
                       cb.Sm.CATEGORY.encode(telegram_id, c.id))] for c in org.categories]
    rows.append([kb.button(("✅ " if not member.categories else "") + t(lang, "staffing.all_categories"),
                           cb.Sm.ALL_CATEGORIES.encode(telegram_id))])
    rows.append([kb.button(t(lang, "common.done"), cb.Sm.OPEN.encode(telegram_id))])
    await show(update, context, t(lang, "staffing.ask_categories", name=member.name,
                                  categories=_categories(org, member, lang)), kb.markup(rows))


async def on_category(update: Update, context: Context, telegram_id: int, category_id: str) -> None:
    caller = await _admin(update, context)
    member = _member_or_none(context, telegram_id) if caller else None
    if caller is None or member is None or deps(context).org.find_category(category_id) is None:
        return await _gone(update, context, caller)
    chosen = member.categories
    categories = tuple(c for c in chosen if c != category_id) if category_id in chosen else (*chosen, category_id)
    await _put(update, context, caller, member.model_copy(update={"categories": categories}))
    await on_categories(update, context, telegram_id)


async def on_all_categories(update: Update, context: Context, telegram_id: int) -> None:
    caller = await _admin(update, context)
    member = _member_or_none(context, telegram_id) if caller else None
    if caller is None or member is None:
        return await _gone(update, context, caller)
    await _put(update, context, caller, member.model_copy(update={"categories": ()}))
    await on_categories(update, context, telegram_id)


async def on_remove(update: Update, context: Context, telegram_id: int) -> None:
    caller = await _admin(update, context)
    member = _member_or_none(context, telegram_id) if caller else None
    if caller is None or member is None:
        return await _gone(update, context, caller)
    lang = caller[1]
    await answer_query(update)
    await show(update, context, t(lang, "staffing.confirm_remove", name=member.name), kb.markup([
        [kb.button(t(lang, "staffing.remove_yes"), cb.Sm.REMOVE_YES.encode(telegram_id)),
         kb.button(t(lang, "common.cancel"), cb.Sm.OPEN.encode(telegram_id))]]))


@answers_refusals()
async def on_remove_yes(update: Update, context: Context, telegram_id: int) -> None:
    caller = await _admin(update, context)
    if caller is None:
        return
    actor, lang = caller
    member = _member_or_none(context, telegram_id)
    returned = await deps(context).staffing.remove(actor, telegram_id)
    await answer_query(update, str(t(lang, "staffing.saved")))
    key = "staffing.removed_returned" if returned.numbers else "staffing.removed"
    await show_listed(update, context, [t(lang, key, name=member.name if member else telegram_id, numbers=""),
                                      *_numbers(returned.numbers)],
                    kb.markup([[kb.button(t(lang, "staffing.back_to_list"), cb.Sm.LIST.encode(0))]]), separator="\n")


async def on_new_role(update: Update, context: Context, telegram_id: int, code: str) -> None:
    """A candidate's role: an administrator is added at once; an officer or leader first picks a unit."""
    caller = await _admin(update, context)
    if caller is None:
        return
    lang = caller[1]
    if deps(context).org.staff_member(telegram_id) is not None:  # added meanwhile (a second tap)
        await answer_query(update)
        return await _show_member(update, context, lang, telegram_id)
    if code == "admin":
        return await _create(update, context, caller, telegram_id, code, ())
    await on_new_browse(update, context, telegram_id, code, "")


async def on_new_browse(update: Update, context: Context, telegram_id: int, code: str, here: str) -> None:
    caller = await _admin(update, context)
    org = deps(context).org
    if caller is None or (here and org.find_unit(here) is None):
        return await _gone(update, context, caller)
    lang = caller[1]
    await answer_query(update)
    name = await deps(context).staffing.candidate_name(telegram_id) or str(telegram_id)
    rows = _unit_rows(org, here, lang, (), cb.Sm.NEW_UNIT, cb.Sm.NEW_BROWSE, telegram_id, code)
    await show(update, context, t(lang, "staffing.ask_first_unit", name=name, role=t(lang, f"role.{code}")),
               kb.markup(rows))


async def on_new_unit(update: Update, context: Context, telegram_id: int, code: str, unit_id: str) -> None:
    caller = await _admin(update, context)
    if caller is None or deps(context).org.find_unit(unit_id) is None:
        return await _gone(update, context, caller)
    await _create(update, context, caller, telegram_id, code, (unit_id,))


async def _create(update: Update, context: Context, caller: tuple[Actor, str], telegram_id: int, code: str,
                  units: tuple[str, ...]) -> None:
    lang = caller[1]
    name = await deps(context).staffing.candidate_name(telegram_id)
    if name is None:  # the candidate was added (or dropped) meanwhile
        await answer_query(update)
        return await _show_member(update, context, lang, telegram_id)
    member = Staff(telegram_id=telegram_id, name=name, role=ROLES[code], units=units)
    if await _put(update, context, caller, member):
        await _show_member(update, context, lang, telegram_id)


async def returned_notice(item: OutboxItem, store: Services, lang: str) -> list[tuple[Html, InlineKeyboardMarkup | None]]:
    """``st_returned``: a case went back to the unit's queue, to the unit's leaders."""
    case = await store.cases.case_by_id(item.case_id) if item.case_id is not None else None
    if case is None:
        return []
    button = kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(case.number))
    return [(t(lang, "staffing.returned_notice", number=case.number, subject=case.subject), kb.markup([[button]]))]


def handlers() -> list[Handler]:
    cancel_words = "|".join(re.escape(str(t(lang, "staffing.pick_cancel"))) for lang in LANGUAGES)
    return [
        CommandHandler("staff", staff_command),
        MessageHandler(filters.StatusUpdate.USERS_SHARED & PRIVATE, on_users_shared),
        MessageHandler(filters.Regex(f"^(?:{cancel_words})$") & PRIVATE & filters.UpdateType.MESSAGE, pick_cancelled),
        cb.Sm.LIST.handler(on_list),
        cb.Sm.ADD.handler(on_add),
        cb.Sm.OPEN.handler(on_open),
        cb.Sm.ROLE.handler(on_role),
        cb.Sm.UNITS.handler(on_units),
        cb.Sm.UNIT.handler(on_unit),
        cb.Sm.CATEGORIES.handler(on_categories),
        cb.Sm.CATEGORY.handler(on_category),
        cb.Sm.ALL_CATEGORIES.handler(on_all_categories),
        cb.Sm.REMOVE.handler(on_remove),
        cb.Sm.REMOVE_YES.handler(on_remove_yes),
        cb.Sm.NEW_ROLE.handler(on_new_role),
        cb.Sm.NEW_BROWSE.handler(on_new_browse),
        cb.Sm.NEW_UNIT.handler(on_new_unit),
        cb.Sm.area.stale_handler(stale_button),
    ]

