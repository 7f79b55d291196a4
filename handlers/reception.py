"""Leader reception days (领导接访日) in chat: publishing, booking, the leader's list.

Employees: /reception lists upcoming sessions as buttons; booking asks for a
short topic, then offers to link one of their own petitions; they can look at
and cancel their bookings. Leaders and administrators: /reception_add
publishes a session step by step (buttons for leader, date, times, unit and
slots; typed text for the place), /reception_list shows their sessions with
bookings and topics, records outcomes and cancels sessions with a reason.

The booking is a form of the one form engine (``handlers/forms.py``,
``BOOKING``): 预约 begins it, the topic is typed, the employee's own cases are
offered to link (``rc:l``, kept for the buttons already in chats), and the
store books once per draft key. Its draft is ``BookingStep``, sealed in its
own row (``Conversation.RECEPTION_BOOKING``); one begun before the form (in
clear in the reception row) is adopted by the store when first read.

Publishing a session is a form too (``PUBLISH``): /reception_add begins it,
each question is a step of buttons (leader, date, times, place or unit, slots)
or of typed text (another date, the place), the store checks every answer as
it is given (``change_publish_draft``) and publishes once per draft key. It has
no « 返回; the buttons of the older ``rc:p…`` codes are its steps' buttons and
also entry points, for older messages. Its draft is the store's
``SessionDraft``, sealed in its own row (``Conversation.RECEPTION_PUBLISH``);
one begun before the form (in clear in the reception row, this module's state
beside it) is adopted at the step it stood at when first read.

Recording a booking's outcome (``OUTCOME_FORM``) and cancelling a session
with a reason (``SESSION_CANCEL_FORM``) are forms of one typed step each,
asked in a message of their own below the session's list; their drafts
(``OutcomeStep``, ``CancelSessionStep``) are sealed in rows of their own, and
one begun before them is adopted like the others.

Everything else is one persistent conversation (the other ``rc:`` buttons and
the two other commands are its entry points, so any of them can be used at any
time); it waits for typed text only where an older version left it waiting
(the topic, the place, the date, the outcome, the reason), and hands that text
to the form now asking it. The store (``store.reception``) decides what is
allowed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import (
    PRIVATE,
    PRIVATE_TEXT,
    Context,
    ConvHandler,
    Deps,
    Handler,
    answer_query,
    deps,
    hand_on,
    lang_of,
    send,
    show,
    user_conversation,
)
from handlers.forms import CHOICE, REVIEW, TEXT, Buttons, Form, Hint, Turn
from handlers.forms import Step as FormStep
from handlers.i18n import Html, t
from handlers.refusals import answers_refusals, unless_refused
from handlers.render import pack as pack_blocks
from handlers.render import unit_path
from store.conversations import Conversation
from store.errors import NoDraft, NotFound, Refused, StoreError
from store.models import Actor, OutboxItem
from store.org import RECEPTION_PLACE_MAX, Organization, Unit
from store.reception import (
    BOOKING_LINK,
    BOOKING_TOPIC,
    LEADER_LIST_DAYS,
    OUTCOME_MAX,
    REASON_MAX,
    TOPIC_MAX,
    Booking,
    BookingResult,
    BookingStatus,
    BookingStep,
    CancelSessionStep,
    LeaderBooking,
    OutcomeStep,
    PublishStep,
    Session,
    SessionDetail,
    SessionDraft,
    check_topic,
    hhmm,
    parse_hhmm,
)
from store.services import Services

# States: the steps that wait for typed text (the topic, the place and the date: only a booking or a session
# being published begun before they were forms, handed to their forms).
TOPIC = "topic"
PLACE = "place"
DATE = "date"
OUTCOME = "outcome"
REASON = "reason"

END = ConversationHandler.END
DATE_PAGE = 14
DATE_PAGES = 7
START_TIMES = [time(h, m) for h in range(8, 18) for m in (0, 30)]
END_STEPS = 8  # up to four hours, in half hours
SLOT_CHOICES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30)
LIST_CHUNK = 3500

Markup = InlineKeyboardMarkup | None
Notice = list[tuple[Html, Markup]]


def plain(lang: str, key: str, **params: object) -> str:
    """A text for a button label: Telegram shows labels as they are, so nothing is escaped."""
    return html.unescape(t(lang, key, **params))


# ------------------------------------------------------------------ rendering


def date_text(lang: str, day: date) -> Html:
    return t(lang, "reception.date", year=day.year, month=t(lang, f"reception.month.m{day.month}"),
             day=day.day, weekday=t(lang, f"reception.weekday.d{day.weekday()}"))


def short_date(lang: str, day: date) -> Html:
    return t(lang, "reception.day_button", month=t(lang, f"reception.month.m{day.month}"), day=day.day,
             weekday=t(lang, f"reception.weekday.d{day.weekday()}"))


def when_text(lang: str, session: Session) -> Html:
    return t(lang, "reception.when", date=date_text(lang, session.day), start=session.start, end=session.end)


def where_lines(lang: str, org: Organization, place: str | None, unit: str | None) -> Html:
    lines = []
    if unit:
        lines.append(t(lang, "reception.unit_line", unit=unit_path(org, unit, lang)))
    if place:
        lines.append(t(lang, "reception.place_line", place=place))
    return Html("\n".join(lines))


def session_card(lang: str, org: Organization, session: Session, *, slots: bool = False) -> Html:
    card = t(lang, "reception.card", when=when_text(lang, session),
             where=where_lines(lang, org, session.place, session.unit), leader=session.leader_name)
    if slots:
        card = Html(card + "\n" + t(lang, "reception.slots_line", slots=session.slots, free=session.free))
        if session.waiting:
            card = Html(card + "\n" + t(lang, "reception.waiting_line", waiting=session.waiting))
    return card


def booking_state(lang: str, booking: Booking) -> Html:
    if booking.status is BookingStatus.WAITING:
        return t(lang, "reception.state_waiting", position=booking.position or 1)
    return t(lang, "reception.state_booked")


def booking_lines(lang: str, booking: Booking) -> list[Html]:
    lines = [t(lang, "reception.topic_line", topic=booking.topic)]
    if booking.case_number:
        lines.append(t(lang, "reception.case_line", number=booking.case_number))
    return lines


def booking_message(lang: str, org: Organization, booking: Booking, session: Session, title: Html,
                    footer: Html | None = None) -> tuple[Html, Markup]:
    """A booking with its session: for confirmations, reminders and notices."""
    parts = [title, session_card(lang, org, session), *booking_lines(lang, booking)]
    if footer:
        parts.append(Html("\n" + footer))
    markup = None
    if booking.cancellable:
        cancel_data = cb.Rc.CANCEL_BOOKING.encode(booking.id)
        markup = kb.markup([[kb.button(plain(lang, "reception.cancel_booking"), cancel_data)]])
    return Html("\n".join(parts)), markup


def confirmation(lang: str, d: Deps, booking: Booking, session: Session) -> tuple[Html, Markup]:
    if booking.status is BookingStatus.WAITING:
        return booking_message(lang, d.org, booking, session,
                               t(lang, "reception.waitlisted_title", position=booking.position or 1),
                               t(lang, "reception.waitlisted_footer"))
    return booking_message(lang, d.org, booking, session, t(lang, "reception.booked_title"),
                           t(lang, "reception.booked_footer",
                             hours=d.org.reception_rules.cancel_hours_before))


def who_label(lang: str, booking: LeaderBooking) -> str:
    if booking.pseudonym:
        return t(lang, "field.pseudonym", code=booking.pseudonym)
    return booking.name or plain(lang, "reception.someone")


def leader_booking_block(lang: str, booking: LeaderBooking) -> Html:
    who = who_label(lang, booking)
    if booking.status is BookingStatus.WAITING:
        line = t(lang, "reception.booking_line_waiting", number=booking.number, who=who,
                 position=booking.position or 1, topic=booking.topic)
    else:
        line = t(lang, "reception.booking_line", number=booking.number, who=who, topic=booking.topic)
    lines = [line]
    if booking.case_number:
        lines.append(t(lang, "reception.booking_case", number=booking.case_number))
    elif booking.linked_hidden:
        lines.append(t(lang, "reception.booking_case_hidden"))
    if booking.outcome:
        lines.append(t(lang, "reception.booking_outcome", outcome=booking.outcome))
    return Html("\n".join(lines))


def pack(blocks: list[Html], limit: int = LIST_CHUNK) -> list[Html]:
    """Join blocks into as few messages as fit Telegram's limit (UTF-16 units); a block too long alone is cut."""
    return pack_blocks(blocks, limit)


async def published_notice(item: OutboxItem, store: Services, lang: str) -> Notice:
    """``reception_published``: the session, to the leader it was published for."""
    session = await unless_refused(store.reception.reception_session(int(item.params.get("session_id", 0))))
    if session is None:
        return []
    return [(Html(session_card(lang, store.org, session) + "\n\n" + t(lang, "reception.published_for_you")), None)]


async def _booking(item: OutboxItem, store: Services, *, live: bool = False) -> tuple[Booking, Session] | None:
    """The row's booking and its session; with ``live``, only while still worth speaking of."""
    found = await store.reception.reception_notice(int(item.params.get("booking_id", 0)))
    if found is None:
        return None
    booking, session = found
    if live and (not session.is_open or booking.status is BookingStatus.CANCELLED):
        return None
    return found


async def session_cancelled_notice(item: OutboxItem, store: Services, lang: str) -> Notice:
    """``reception_session_cancelled``: to each petitioner booked, with the leader's reason."""
    found = await _booking(item, store)
    if found is None:
        return []
    _, session = found
    return [(t(lang, "reception.session_cancelled", when=when_text(lang, session),
               reason=session.cancel_reason or ""), None)]


async def outcome_notice(item: OutboxItem, store: Services, lang: str) -> Notice:
    """``reception_outcome``: what the leader recorded, and the case made of it if any."""
    found = await _booking(item, store)
    if found is None:
        return []
    booking, session = found
    text = t(lang, "reception.outcome_notice", date=date_text(lang, session.day), outcome=booking.outcome or "")
    if booking.case_number:
        text = Html(text + "\n\n" + t(lang, "reception.outcome_case", number=booking.case_number))
    return [(part, None) for part in pack([text])]


async def reminder_notice(item: OutboxItem, store: Services, lang: str) -> Notice:
    """``reception_reminder``: the day before, or hours before, to a petitioner still booked."""
    found = await _booking(item, store, live=True)
    if found is None or found[0].status is not BookingStatus.BOOKED:
        return []
    booking, session = found
    title = (t(lang, "reception.remind_hours", start=session.start) if item.params.get("which") == "hours"
             else t(lang, "reception.remind_day"))
    return [booking_message(lang, store.org, booking, session, title)]


async def promoted_notice(item: OutboxItem, store: Services, lang: str) -> Notice:
    """``reception_promoted``: from the waiting list to a slot, if still booked."""
    found = await _booking(item, store, live=True)
    if found is None or found[0].status is not BookingStatus.BOOKED:
        return []
    booking, session = found
    return [booking_message(lang, store.org, booking, session, t(lang, "reception.promoted"))]


async def changed_notice(item: OutboxItem, store: Services, lang: str) -> Notice:
    """``reception_changed``: the session booked has moved."""
    found = await _booking(item, store, live=True)
    if found is None:
        return []
    booking, session = found
    return [booking_message(lang, store.org, booking, session, t(lang, "reception.changed"))]


# ------------------------------------------------------------------ plumbing


def _actor(update: Update, context: Context) -> Actor:
    user = update.effective_user
    assert user is not None
    return deps(context).cases.actor(user.id, user.full_name)


# A leader's reception forms: publishing, an outcome, a session's cancellation.
LEADER_FORMS = (Conversation.RECEPTION_PUBLISH, Conversation.RECEPTION_OUTCOME, Conversation.RECEPTION_CANCEL)


async def _one_at_a_time(update: Update, context: Context, begun: Conversation) -> None:
    """One of the leader's reception forms begun: the others under way are dropped, as when they shared the
    reception row (and none of them, waiting for a button, takes the text typed for this one)."""
    user = update.effective_user
    assert user is not None
    for other in LEADER_FORMS:
        if other is not begun:
            await deps(context).forms.clear(other, user.id)


# ------------------------------------------------------------- employees


async def cmd_reception(update: Update, context: Context) -> int:
    await _sessions_list(update, context)
    return END


async def _sessions_list(update: Update, context: Context) -> None:
    lang = await lang_of(update, context)
    d = deps(context)
    user = update.effective_user
    assert user is not None
    sessions = await d.reception.upcoming_sessions()
    mine = await d.reception.my_reception_bookings(user.id)
    parts: list[str] = [t(lang, "reception.title")]
    rows: list[list[InlineKeyboardButton]] = []
    if mine:
        parts.append(t(lang, "reception.my_title") + "\n" + "\n".join(
            t(lang, "reception.my_item", when=when_text(lang, s), leader=s.leader_name, state=booking_state(lang, b))
            for b, s in mine
        ))
        rows += [[kb.button(plain(lang, "reception.my_button", date=short_date(lang, s.day), start=s.start),
                            cb.Rc.MY_BOOKING.encode(b.id))] for b, s in mine]
    if sessions:
        parts.append(t(lang, "reception.intro"))
        for s in sessions:
            free = t(lang, "reception.free_slots", free=s.free) if s.free else t(lang, "reception.full")
            label = plain(lang, "reception.session_button", date=short_date(lang, s.day), start=s.start,
                          leader=s.leader_name, free=free)
            rows.append([kb.button(label, cb.Rc.SESSION.encode(s.id))])
    else:
        parts.append(t(lang, "reception.none_upcoming"))
    await show(update, context, Html("\n\n".join(parts)), kb.markup(rows) if rows else None)


@answers_refusals()
async def _session_view(update: Update, context: Context, session_id: int) -> None:
    lang = await lang_of(update, context)
    d = deps(context)
    user = update.effective_user
    assert user is not None
    session = await d.reception.reception_session(session_id)
    text = session_card(lang, d.org, session, slots=True)
    mine = [b for b, s in await d.reception.my_reception_bookings(user.id) if s.id == session.id]
    rows: list[list[InlineKeyboardButton]] = []
    if mine:
        text = Html(text + "\n\n" + t(lang, "reception.already_booked", state=booking_state(lang, mine[0])))
        rows.append([kb.button(plain(lang, "reception.cancel_booking"), cb.Rc.CANCEL_BOOKING.encode(mine[0].id))])
    elif session.bookable:
        label = "reception.book" if session.free else "reception.join_waitlist"
        rows.append([kb.button(plain(lang, label), cb.Rc.BOOK.encode(session.id))])
    rows.append([kb.button(plain(lang, "reception.back_to_list"), cb.Rc.LIST.encode())])
    await show(update, context, text, kb.markup(rows))


# ------------------------------------------------------------- booking (a form)


async def _booked(turn: Turn[BookingStep], result: BookingResult, *, fresh: bool) -> int:
    """Booked (or waitlisted): the draft goes, the confirmation is said."""
    await turn.finish()
    await (send if fresh else show)(turn.update, turn.context,
                                    *confirmation(turn.lang, turn.d, result.booking, result.session))
    return END


async def _topic_given(turn: Turn[BookingStep]) -> str | int:
    """Booked at once, or the employee's own cases offered to link."""
    actor = _actor(turn.update, turn.context)
    found = await turn.d.reception.submit_topic(actor, turn.data, name=actor.name)
    if found.result is None:
        return await turn.go(BOOKING_LINK)
    return await _booked(turn, found.result, fresh=True)


async def _case_rows(turn: Turn[BookingStep]) -> list[list[InlineKeyboardButton]]:
    cases = await turn.d.reception.linkable_cases(_actor(turn.update, turn.context))
    rows = [[kb.button(plain(turn.lang, "reception.link_case", number=c.number, subject=c.subject[:24]),
                       cb.Rc.LINK_CASE.encode(c.id))] for c in cases]
    rows.append([kb.button(plain(turn.lang, "reception.link_none"), cb.Rc.LINK_CASE.encode(0))])
    return rows


async def _pick_case(turn: Turn[BookingStep], case_id: int) -> None:
    turn.data.case_id = case_id or None  # the store checks it is the employee's own when booking


async def _book(turn: Turn[BookingStep]) -> int:
    actor = _actor(turn.update, turn.context)
    result = await turn.d.reception.finish_booking(actor, turn.data, name=actor.name)
    return await _booked(turn, result, fresh=False)


async def _adopt(context: Context, user_id: int) -> None:
    await deps(context).reception.adopt_booking_draft(user_id)


BOOKING_STEPS = [BOOKING_TOPIC, BOOKING_LINK]
BOOKING: Form[BookingStep] = Form(
    Conversation.RECEPTION_BOOKING,
    texts="reception",
    buttons=Buttons(back=cb.Rb.BACK, cancel=cb.Rb.CANCEL, submit=cb.Rb.SUBMIT),
    steps=[
        # The store's rule on the topic: one it cannot take is refused (BadInput), said, and the question stands.
        FormStep(BOOKING_TOPIC, TEXT, "reception.ask_topic", limit=TOPIC_MAX, parse=lambda turn, text: check_topic(text),
                 then=_topic_given, back=False),
        FormStep(BOOKING_LINK, CHOICE, "reception.ask_link", rows=_case_rows, choices={cb.Rc.LINK_CASE: _pick_case},
                 then=_book),
    ],
    order=lambda data: BOOKING_STEPS,
    submit=_book,
    model=BookingStep,
    key=lambda data: data.key,
    ends_on=(Refused,),  # the session cancelled or begun meanwhile, booked already: nothing left to book
    cancel_in_place=True,
    commands_leave=True,
    adopt=_adopt,
    keys={"cancelled": "reception.nothing"},
)


@BOOKING.entry
async def _begin_booking(update: Update, context: Context, _: None, session_id: int) -> str | int:
    draft = await deps(context).reception.begin_booking(_actor(update, context), session_id)
    return await BOOKING.start(update, context, draft, BOOKING_TOPIC)


_typed_topic = BOOKING.text_answer()


async def _old_topic(update: Update, context: Context) -> int:
    """A topic typed where PTB kept this conversation at the topic of a booking begun before the booking was a
    form: the booking form takes it, from the draft it adopts (``adopt_booking_draft``)."""
    await _typed_topic(update, context)
    return END


def build_booking() -> ConvHandler:
    """The booking form: 预约 on a session, and a case to link (also on an older message, or a draft adopted)."""
    return BOOKING.build(entry_points=[cb.Rc.BOOK.handler(_begin_booking), BOOKING.choice_entry(cb.Rc.LINK_CASE)])


@answers_refusals()
async def _my_booking(update: Update, context: Context, booking_id: int) -> None:
    lang = await lang_of(update, context)
    d = deps(context)
    booking, session = await d.reception.booking_of(_actor(update, context), booking_id)
    title = t(lang, "reception.booking_view_title", state=booking_state(lang, booking))
    if booking.status is BookingStatus.CANCELLED:
        title = t(lang, "errors.reception_booking_cancelled")
    footer = None
    if booking.status is BookingStatus.BOOKED and not booking.cancellable and session.is_open:
        footer = t(lang, "reception.cannot_cancel_now", hours=d.org.reception_rules.cancel_hours_before)
    await show(update, context, *booking_message(lang, d.org, booking, session, title, footer))


@answers_refusals()
async def _confirm_cancel(update: Update, context: Context, booking_id: int) -> None:
    lang = await lang_of(update, context)
    booking, session = await deps(context).reception.booking_of(_actor(update, context), booking_id)
    if not booking.cancellable:
        await _my_booking(update, context, booking_id)
        return
    await show(update, context, t(lang, "reception.confirm_cancel", when=when_text(lang, session)), kb.markup([[
        kb.button(plain(lang, "reception.confirm_yes"), cb.Rc.CANCEL_BOOKING_CONFIRMED.encode(booking.id)),
        kb.button(plain(lang, "reception.confirm_no"), cb.Rc.MY_BOOKING.encode(booking.id)),
    ]]))


@answers_refusals()
async def _cancel_booking(update: Update, context: Context, booking_id: int) -> None:
    lang = await lang_of(update, context)
    await deps(context).reception.cancel_booking(_actor(update, context), booking_id)
    await show(update, context, t(lang, "reception.booking_cancelled"))


# ----------------------------------------------------------- publishing (a form)

# The publishing form's steps, as stored with its draft (one adopted from the reception row is put at one of them).
P_LEADER, P_DAY, P_DATE, P_START, P_END, P_WHERE = "leader", "day", "date", "start", "end", "where"
P_PLACE, P_UNIT, P_VISIT, P_SLOTS, P_REVIEW = "place", "unit", "visit_place", "slots", "review"
DAYS_PAGE = "days_page"  # the page of days shown (the day step's own chat state)
BROWSING = "unit_browse"  # the unit whose subunits are listed (the unit step's own chat state)


def _change(turn: Turn[SessionDraft], **changes: object) -> None:
    """One answer, checked by the store as it is given (a refusal is said and the question asked again)."""
    turn.draft.data = turn.d.reception.change_publish_draft(_actor(turn.update, turn.context), turn.data, **changes)


def _taken(turn: Turn[Any], changed: SessionDraft) -> None:
    """A typed answer's draft, as the store changed it."""
    turn.draft.data = changed


async def _headed(turn: Turn[Any], text: Html, params: Mapping[str, Any]) -> list[Html]:
    """A question under the form's title, as every question with buttons was asked."""
    return [Html(t(turn.lang, "reception.add_header") + "\n" + text)]


def _leaders(turn: Turn[SessionDraft]) -> list[InlineKeyboardButton]:
    leaders = turn.d.reception.reception_leaders(_actor(turn.update, turn.context))
    return [kb.button(s.name, cb.Rc.PUBLISH_LEADER.encode(s.telegram_id)) for s in leaders]


async def _pick_leader(turn: Turn[SessionDraft], leader_id: int) -> None:
    _change(turn, leader_id=leader_id)


def _day_rows(turn: Turn[SessionDraft]) -> list[list[InlineKeyboardButton]]:
    lang, d = turn.lang, turn.d
    page = int(turn.draft.ui.get(DAYS_PAGE) or 0)
    first = d.clock.now().astimezone(d.tz).date() + timedelta(days=page * DATE_PAGE)
    days = [first + timedelta(days=i) for i in range(DATE_PAGE)]
    rows = kb.grid((kb.button(html.unescape(short_date(lang, day)), cb.Rc.PUBLISH_DAY.encode(day)) for day in days), 3)
    pager = []
    if page > 0:
        pager.append(kb.button(plain(lang, "reception.earlier"), cb.Rc.PUBLISH_DAYS_PAGE.encode(page - 1)))
    if page + 1 < DATE_PAGES:
        pager.append(kb.button(plain(lang, "reception.later"), cb.Rc.PUBLISH_DAYS_PAGE.encode(page + 1)))
    return [*rows, pager, [kb.button(plain(lang, "reception.other_date"), cb.Rc.PUBLISH_OTHER_DAY.encode())]]


async def _pick_day(turn: Turn[SessionDraft], day: date) -> str:
    _change(turn, day=day)
    return P_START


async def _day_page(turn: Turn[SessionDraft], page: int) -> str:
    turn.draft.ui[DAYS_PAGE] = max(0, min(page, DATE_PAGES - 1))
    return P_DAY


async def _other_day(turn: Turn[SessionDraft]) -> str:
    return P_DATE


def _typed_day(turn: Turn[SessionDraft], text: str) -> SessionDraft:
    d = turn.d
    day = parse_day(text, d.clock.now().astimezone(d.tz).date())
    if day is None:
        raise Hint("reception.bad_date_input")
    return d.reception.change_publish_draft(_actor(turn.update, turn.context), turn.data, day=day)


async def _day_typed(turn: Turn[SessionDraft]) -> str:
    return await turn.go(P_START)


async def _day_params(turn: Turn[SessionDraft]) -> Mapping[str, Any]:
    data = turn.data
    assert data.day is not None
    when = t(turn.lang, "reception.when", date=date_text(turn.lang, data.day), start=data.start, end=data.end)
    return {"date": date_text(turn.lang, data.day), "start": data.start, "when": when}


def _starts(turn: Turn[SessionDraft]) -> list[InlineKeyboardButton]:
    return [kb.button(hhmm(s), cb.Rc.PUBLISH_START.encode(hhmm(s))) for s in START_TIMES]


async def _pick_start(turn: Turn[SessionDraft], start: str) -> None:
    _change(turn, start=start)


def _ends(turn: Turn[SessionDraft]) -> list[InlineKeyboardButton]:
    day = turn.data.day
    assert day is not None
    begin = datetime.combine(day, parse_hhmm(turn.data.start or "") or time(0))
    ends = [begin + timedelta(minutes=30 * i) for i in range(1, END_STEPS + 1)]
    return [kb.button(f"{e:%H:%M}", cb.Rc.PUBLISH_END.encode(f"{e:%H:%M}")) for e in ends if e.date() == day]


async def _pick_end(turn: Turn[SessionDraft], end: str) -> None:
    _change(turn, end=end)


def _where_rows(turn: Turn[SessionDraft]) -> list[list[InlineKeyboardButton]]:
    return [[kb.button(plain(turn.lang, "reception.where_place"), cb.Rc.PUBLISH_WHERE.encode("place"))],
            [kb.button(plain(turn.lang, "reception.where_unit"), cb.Rc.PUBLISH_WHERE.encode("unit"))]]


async def _pick_where(turn: Turn[SessionDraft], where: str) -> None:
    _change(turn, where=where)


def _typed_place(turn: Turn[SessionDraft], text: str) -> SessionDraft:
    return turn.d.reception.change_publish_draft(_actor(turn.update, turn.context), turn.data, place=text)


def _browsed(turn: Turn[SessionDraft]) -> Unit | None:
    here = turn.draft.ui.get(BROWSING)
    return turn.d.org.find_unit(here) if here else None


async def _unit_params(turn: Turn[SessionDraft]) -> Mapping[str, Any]:
    here = _browsed(turn)
    return {"path": unit_path(turn.d.org, here.id, turn.lang) if here is not None else "—"}


def _unit_rows(turn: Turn[SessionDraft]) -> list[list[InlineKeyboardButton]]:
    lang, org = turn.lang, turn.d.org
    here = _browsed(turn)
    rows: list[list[InlineKeyboardButton]] = []
    if here is None:
        choices = [org.unit(u) for u in turn.d.reception.reception_units(turn.data.leader_id or 0)]
    else:
        rows.append([kb.button(plain(lang, "reception.unit_here", name=here.name.get(lang)),
                               cb.Rc.PUBLISH_UNIT.encode(here.id))])
        choices = org.children(here.id)
    rows += kb.grid([kb.button(u.name.get(lang),
                               (cb.Rc.PUBLISH_UNIT_OPEN if org.children(u.id) else cb.Rc.PUBLISH_UNIT).encode(u.id))
                     for u in choices], 2)
    if here is not None:
        rows.append([kb.button(plain(lang, "reception.unit_up"), cb.Rc.PUBLISH_UNIT_UP.encode())])
    return rows


async def _open_unit(turn: Turn[SessionDraft], unit: str) -> str:
    turn.d.reception.check_visit_unit(turn.data.leader_id, unit)
    turn.draft.ui[BROWSING] = unit
    return P_UNIT


async def _unit_up(turn: Turn[SessionDraft]) -> str:
    here = _browsed(turn)
    roots = turn.d.reception.reception_units(turn.data.leader_id or 0)
    parent = here.parent if here is not None and here.id not in roots else None
    if parent is not None:
        turn.d.reception.check_visit_unit(turn.data.leader_id, parent)
    turn.draft.ui[BROWSING] = parent
    return P_UNIT


async def _pick_unit(turn: Turn[SessionDraft], unit: str) -> None:
    _change(turn, unit=unit)


def _skip_row(turn: Turn[SessionDraft]) -> list[list[InlineKeyboardButton]]:
    return [[kb.button(plain(turn.lang, "common.skip"), cb.Rc.PUBLISH_NO_PLACE.encode())]]


async def _no_place(turn: Turn[SessionDraft]) -> None:
    """跳过: a visit needs no place of its own."""


def _slot_choices(turn: Turn[SessionDraft]) -> list[InlineKeyboardButton]:
    return [kb.button(str(n), cb.Rc.PUBLISH_SLOTS.encode(n)) for n in SLOT_CHOICES]


async def _pick_slots(turn: Turn[SessionDraft], slots: int) -> None:
    _change(turn, slots=slots)


async def _review_pages(turn: Turn[SessionDraft], text: Html, params: Mapping[str, Any]) -> list[Html]:
    lang, org, data = turn.lang, turn.d.org, turn.data
    assert data.day is not None and data.leader_id is not None
    leader = org.staff_member(data.leader_id)
    when = t(lang, "reception.when", date=date_text(lang, data.day), start=data.start, end=data.end)
    card = t(lang, "reception.card", when=when, where=where_lines(lang, org, data.place, data.unit),
             leader=leader.name if leader else str(data.leader_id))
    slots = t(lang, "reception.slots_line", slots=data.slots, free=data.slots)
    return [Html(f"{t(lang, 'reception.add_header')}\n{text}\n\n{card}\n{slots}")]


def published_text(lang: str, org: Organization, session: Session) -> Html:
    return Html(t(lang, "reception.published") + "\n\n" + session_card(lang, org, session))


async def _publish(turn: Turn[SessionDraft]) -> int:
    """发布: the store publishes the draft once (its key), and the form is done."""
    session, _ = await turn.d.reception.publish_session(_actor(turn.update, turn.context), turn.data)
    await turn.finish()
    await show(turn.update, turn.context, published_text(turn.lang, turn.d.org, session))
    return END


async def _gone(update: Update, context: Context, error: StoreError) -> None:
    await answer_query(update, t(await lang_of(update, context), "common.expired_button"))


@answers_refusals(on={NoDraft: _gone})
async def _published_again(update: Update, context: Context, draft_id: str) -> None:
    """发布 tapped again once the form is over: the session it published, or "expired"."""
    session = await deps(context).reception.published_session(_actor(update, context), draft_id)
    await show(update, context, published_text(await lang_of(update, context), deps(context).org, session))


def _publish_order(data: SessionDraft) -> list[str]:
    where = [P_PLACE] if data.where == "place" else [P_UNIT, P_VISIT] if data.where == "unit" else []
    return [P_LEADER, P_DAY, P_START, P_END, P_WHERE, *where, P_SLOTS, P_REVIEW]


def _old_step(draft: SessionDraft, ui: Mapping[str, Any], *, typing_day: bool) -> str:
    """Where a draft kept before publishing was a form stands: the first thing it lacks, as that code asked it."""
    if draft.leader_id is None:
        return P_LEADER
    if draft.day is None:
        return P_DATE if typing_day else P_DAY
    for step, missing in ((P_START, draft.start is None), (P_END, draft.end is None), (P_WHERE, draft.where is None),
                          (P_PLACE, draft.where == "place" and draft.place is None),
                          (P_UNIT, draft.where == "unit" and draft.unit is None),
                          (P_VISIT, draft.where == "unit" and draft.place is None and not ui.get("place_done")),
                          (P_SLOTS, draft.slots is None)):
        if missing:
            return step
    return P_REVIEW


async def _adopt_publish(context: Context, user_id: int, *, typing_day: bool = False) -> None:
    """A session being published before publishing was a form (``edit_publish_draft`` kept it in the reception row,
    this module's state in its ``ui``): the store moves it into the form's row, at the step it stood at."""
    d = deps(context)
    old = await d.reception.reception_draft(user_id)
    if not isinstance(old, PublishStep):
        return
    ui = await d.reception.reception_ui(user_id)
    step = _old_step(old.draft, ui, typing_day=typing_day)
    own = {BROWSING: ui["unit_browse"]} if step == P_UNIT and ui.get("unit_browse") else {}
    await d.reception.adopt_reception_draft(user_id, old, step, own)


PUBLISH: Form[SessionDraft] = Form(
    Conversation.RECEPTION_PUBLISH,
    texts="reception",
    # No « 返回: each question stands until answered (a choice made again is a button of that step); 取消 leaves.
    buttons=Buttons(back=None, cancel=cb.Rc.PUBLISH_CANCEL, submit=cb.Rc.PUBLISH),
    steps=[
        FormStep(P_LEADER, CHOICE, "reception.choose_leader", options=_leaders, pages=_headed,
                 choices={cb.Rc.PUBLISH_LEADER: _pick_leader}),
        FormStep(P_DAY, CHOICE, "reception.choose_date", rows=_day_rows, pages=_headed, screen=(DAYS_PAGE,),
                 choices={cb.Rc.PUBLISH_DAY: _pick_day, cb.Rc.PUBLISH_DAYS_PAGE: _day_page,
                          cb.Rc.PUBLISH_OTHER_DAY: _other_day}),
        FormStep(P_DATE, TEXT, "reception.ask_date", part_of=P_DAY, parse=_typed_day, put=_taken, then=_day_typed,
                 choices={cb.Rc.PUBLISH_DAY: _pick_day, cb.Rc.PUBLISH_DAYS_PAGE: _day_page,
                          cb.Rc.PUBLISH_OTHER_DAY: _other_day}),
        FormStep(P_START, CHOICE, "reception.choose_start", params=_day_params, options=_starts, columns=4,
                 pages=_headed, choices={cb.Rc.PUBLISH_START: _pick_start}),
        FormStep(P_END, CHOICE, "reception.choose_end", params=_day_params, options=_ends, columns=4, pages=_headed,
                 choices={cb.Rc.PUBLISH_END: _pick_end}),
        FormStep(P_WHERE, CHOICE, "reception.choose_where", params=_day_params, rows=_where_rows, pages=_headed,
                 choices={cb.Rc.PUBLISH_WHERE: _pick_where}),
        # The store's rule on the place: one it cannot take is refused (BadInput), said, and the question stands.
        FormStep(P_PLACE, TEXT, "reception.ask_place", limit=RECEPTION_PLACE_MAX, parse=_typed_place, put=_taken),
        FormStep(P_UNIT, CHOICE, "reception.choose_unit", params=_unit_params, rows=_unit_rows, pages=_headed,
                 screen=(BROWSING,), choices={cb.Rc.PUBLISH_UNIT_OPEN: _open_unit, cb.Rc.PUBLISH_UNIT_UP: _unit_up,
                                              cb.Rc.PUBLISH_UNIT: _pick_unit}),
        FormStep(P_VISIT, TEXT, "reception.ask_visit_place", limit=RECEPTION_PLACE_MAX, parse=_typed_place,
                 put=_taken, rows=_skip_row, choices={cb.Rc.PUBLISH_NO_PLACE: _no_place}),
        FormStep(P_SLOTS, CHOICE, "reception.choose_slots", options=_slot_choices, columns=4, pages=_headed,
                 choices={cb.Rc.PUBLISH_SLOTS: _pick_slots}),
        FormStep(P_REVIEW, REVIEW, "reception.review", pages=_review_pages),
    ],
    order=_publish_order,
    submit=_publish,
    model=SessionDraft,
    ends_on=(NoDraft,),  # no longer a leader: the draft is no longer theirs
    cancel_in_place=True,
    asks_after_refusal=True,  # a choice the store refused: the reason, then the same question again
    adopt=_adopt_publish,
    resubmitted=_published_again,
    keys={"cancelled": "reception.add_cancelled", "submit": "reception.publish"},
)


@answers_refusals(on={StoreError: PUBLISH.refused_entry})
async def cmd_add(update: Update, context: Context) -> str | int:
    draft = await deps(context).reception.begin_publish(_actor(update, context))
    await _one_at_a_time(update, context, Conversation.RECEPTION_PUBLISH)
    return await PUBLISH.start(update, context, draft, P_LEADER if draft.leader_id is None else P_DAY)


_typed_answer = PUBLISH.text_answer()


async def _old_place(update: Update, context: Context) -> int:
    """A place typed where PTB kept this conversation at the place of a session being published before publishing
    was a form: the publishing form takes it, from the draft it adopts (``adopt_reception_draft``)."""
    await _typed_answer(update, context)
    return END


async def _old_date(update: Update, context: Context) -> int:
    """A date typed where PTB kept this conversation at the typed date of such a session: the same, at the date."""
    user = update.effective_user
    assert user is not None
    await _adopt_publish(context, user.id, typing_day=True)
    await _typed_answer(update, context)
    return END


def build_publish() -> ConvHandler:
    """The publishing form: /reception_add, and each step's buttons (also on an older message, or a draft adopted)."""
    steps = [cb.Rc.PUBLISH_LEADER, cb.Rc.PUBLISH_DAY, cb.Rc.PUBLISH_DAYS_PAGE, cb.Rc.PUBLISH_OTHER_DAY,
             cb.Rc.PUBLISH_START, cb.Rc.PUBLISH_END, cb.Rc.PUBLISH_WHERE, cb.Rc.PUBLISH_UNIT_OPEN,
             cb.Rc.PUBLISH_UNIT_UP, cb.Rc.PUBLISH_UNIT, cb.Rc.PUBLISH_NO_PLACE, cb.Rc.PUBLISH_SLOTS]
    return PUBLISH.build(entry_points=[
        CommandHandler("reception_add", cmd_add, filters=PRIVATE),
        *(PUBLISH.choice_entry(button) for button in steps),
        cb.Rc.PUBLISH_CANCEL.handler(PUBLISH.cancel),  # 取消 on a draft adopted from an older version
    ])


_DATE_FORMS = (
    re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?$"),
)


def parse_day(text: str, today: date) -> date | None:
    """A typed date: 2026-11-20, 2026/11/20, 2026年11月20日, or 11-20 / 11月20日 (the next such day)."""
    value = text.strip().replace(" ", "")
    for form in _DATE_FORMS:
        match = form.match(value)
        if match is None:
            continue
        try:
            if match.groupdict().get("y"):
                return date(int(match["y"]), int(match["m"]), int(match["d"]))
            day = date(today.year, int(match["m"]), int(match["d"]))
            return day if day >= today else date(today.year + 1, day.month, day.day)
        except ValueError:
            return None
    return None


# ------------------------------------------------------------- the leader's list


async def cmd_list(update: Update, context: Context) -> int:
    await _leader_list(update, context)
    return END


@answers_refusals()
async def _leader_list(update: Update, context: Context) -> None:
    lang = await lang_of(update, context)
    sessions = await deps(context).reception.sessions_for(_actor(update, context))
    if not sessions:
        await show(update, context, t(lang, "reception.list_empty"))
        return
    blocks = [t(lang, "reception.list_title", days=LEADER_LIST_DAYS)] + [
        t(lang, "reception.list_item", when=when_text(lang, s), leader=s.leader_name, booked=s.booked,
          slots=s.slots, waiting=s.waiting)
        for s in sessions
    ]
    rows = [[kb.button(plain(lang, "reception.list_button", date=short_date(lang, s.day), start=s.start,
                             leader=s.leader_name), cb.Rc.DETAIL.encode(s.id))] for s in sessions[:40]]
    await _send_blocks(update, context, blocks, kb.markup(rows))


async def _send_blocks(update: Update, context: Context, blocks: list[Html], markup: Markup) -> None:
    messages = pack(blocks)
    if len(messages) == 1:
        await show(update, context, messages[0], markup)
        return
    for index, message in enumerate(messages):
        await send(update, context, message, markup if index == len(messages) - 1 else None)


@answers_refusals()
async def _detail(update: Update, context: Context, session_id: int) -> None:
    lang = await lang_of(update, context)
    d = deps(context)
    detail = await d.reception.session_detail(_actor(update, context), session_id)
    await _send_blocks(update, context, *_detail_view(lang, d.org, detail))


def _detail_view(lang: str, org: Organization, detail: SessionDetail) -> tuple[list[Html], Markup]:
    session = detail.session
    blocks = [session_card(lang, org, session, slots=True),
              t(lang, "reception.bookings_title", booked=session.booked, slots=session.slots)]
    if not detail.bookings:
        blocks[-1] = Html(blocks[-1] + "\n" + t(lang, "reception.bookings_empty"))
    blocks += [leader_booking_block(lang, b) for b in detail.bookings]
    rows: list[list[InlineKeyboardButton]] = []
    if detail.started:
        buttons = [kb.button(plain(lang, "reception.record_outcome", number=b.number), cb.Rc.OUTCOME.encode(b.id))
                   for b in detail.bookings if b.status is BookingStatus.BOOKED and b.outcome is None]
        rows += kb.grid(buttons, 2)
    if detail.cancellable:
        rows.append([kb.button(plain(lang, "reception.cancel_session"), cb.Rc.CANCEL_SESSION.encode(session.id))])
    rows.append([kb.button(plain(lang, "reception.back_to_list"), cb.Rc.LEADER_LIST.encode())])
    return blocks, kb.markup(rows)


# ------------------------------------------- an outcome and a session's cancellation (forms of one typed step)

OUTCOME_STEP, REASON_STEP = "outcome", "reason"  # as stored with their drafts (the states they were before)
Typed = TypeVar("Typed", OutcomeStep, CancelSessionStep)  # the draft of a form of one typed step


def _as_typed(turn: Turn[Any], text: str) -> str:
    """The text as typed: the store's rule takes it or refuses it (BadInput: said, and the question stands)."""
    return text


async def _outcome_params(turn: Turn[OutcomeStep]) -> Mapping[str, Any]:
    booking = await turn.d.reception.begin_outcome(_actor(turn.update, turn.context), turn.data.booking_id)
    return {"number": booking.number, "who": who_label(turn.lang, booking)}


async def _record_outcome(turn: Turn[OutcomeStep]) -> int:
    """The store records the outcome (on the linked case's journal too), and the form is done."""
    booking = await turn.d.reception.record_outcome(_actor(turn.update, turn.context), turn.data.booking_id,
                                                    turn.data.outcome or "")
    await turn.finish()
    linked = booking.case_number is not None or booking.linked_hidden
    await turn.say("reception.outcome_recorded_linked" if linked else "reception.outcome_recorded",
                   number=booking.number)
    return END


def _one_typed_step(
    name: Conversation, cancel: cb.Button, submit: cb.Button, model: type[Typed], step: str, ask: str,
    params: Callable[[Turn[Typed]], Awaitable[Mapping[str, Any]]], limit: int,
    then: Callable[[Turn[Typed]], Awaitable[int]], ends_on: tuple[type[StoreError], ...],
) -> Form[Typed]:
    """A form of one typed step, asked in a new message below the session's list (so the list keeps its
    buttons): the answer goes ``into`` the field of the step's name; another command ends it, as
    reception's typed steps always did; a draft an older version kept in the reception row is adopted."""
    return Form(
        name,
        texts="reception",
        buttons=Buttons(back=None, cancel=cancel, submit=submit),
        steps=[FormStep(step, TEXT, ask, params=params, limit=limit, parse=_as_typed, into=step, then=then,
                        new_message=True)],
        order=lambda data: [step],
        submit=then,
        model=model,
        ends_on=ends_on,
        cancel_in_place=True,
        commands_leave=True,
        adopt=lambda context, user_id: _adopt_step(context, user_id, model, step),
        keys={"cancelled": "reception.nothing"},
    )


OUTCOME_FORM = _one_typed_step(
    Conversation.RECEPTION_OUTCOME, cb.Rc.OUTCOME_CANCEL, cb.Rc.OUTCOME_SUBMIT, OutcomeStep, OUTCOME_STEP,
    "reception.ask_outcome", _outcome_params, OUTCOME_MAX, _record_outcome,
    ends_on=(Refused, NotFound),  # recorded meanwhile, or no longer theirs: nothing left to record
)


@OUTCOME_FORM.entry
async def _begin_outcome(update: Update, context: Context, _: None, booking_id: int) -> str | int:
    await deps(context).reception.begin_outcome(_actor(update, context), booking_id)
    await _one_at_a_time(update, context, Conversation.RECEPTION_OUTCOME)
    return await OUTCOME_FORM.start(update, context, OutcomeStep(booking_id=booking_id), OUTCOME_STEP)


async def _reason_params(turn: Turn[CancelSessionStep]) -> Mapping[str, Any]:
    session = await turn.d.reception.begin_session_cancel(_actor(turn.update, turn.context), turn.data.session_id)
    return {"when": when_text(turn.lang, session)}


async def _cancel_session(turn: Turn[CancelSessionStep]) -> int:
    """The store cancels the session (everyone booked is told), and the form is done."""
    session, told = await turn.d.reception.cancel_session(_actor(turn.update, turn.context), turn.data.session_id,
                                                          turn.data.reason or "")
    await turn.finish()
    await turn.say("reception.session_cancelled_done", when=when_text(turn.lang, session), count=told)
    return END


SESSION_CANCEL_FORM = _one_typed_step(
    Conversation.RECEPTION_CANCEL, cb.Rc.SESSION_CANCEL_CANCEL, cb.Rc.SESSION_CANCEL_SUBMIT, CancelSessionStep,
    REASON_STEP, "reception.ask_cancel_reason", _reason_params, REASON_MAX, _cancel_session,
    ends_on=(Refused, NotFound),  # cancelled or over meanwhile: nothing left to cancel
)


@SESSION_CANCEL_FORM.entry
async def _begin_session_cancel(update: Update, context: Context, _: None, session_id: int) -> str | int:
    await deps(context).reception.begin_session_cancel(_actor(update, context), session_id)
    await _one_at_a_time(update, context, Conversation.RECEPTION_CANCEL)
    return await SESSION_CANCEL_FORM.start(update, context, CancelSessionStep(session_id=session_id), REASON_STEP)


async def _adopt_step(context: Context, user_id: int, kind: type[Typed], step: str) -> None:
    """An outcome or a cancellation begun before it was a form (its step in the reception row, in clear): the store
    moves it into the form's row, at its one step."""
    d = deps(context)
    old = await d.reception.reception_draft(user_id)
    if isinstance(old, kind):
        await d.reception.adopt_reception_draft(user_id, old, step)


_typed_outcome = OUTCOME_FORM.text_answer()
_typed_reason = SESSION_CANCEL_FORM.text_answer()


async def _old_outcome(update: Update, context: Context) -> int:
    """An outcome typed where PTB kept this conversation at the outcome of an older version: the form's."""
    await _typed_outcome(update, context)
    return END


async def _old_reason(update: Update, context: Context) -> int:
    """A reason typed where PTB kept this conversation at a cancellation's reason of an older version: the form's."""
    await _typed_reason(update, context)
    return END


def build_outcome() -> ConvHandler:
    """The outcome form: 记录结果 on a booking of a session's list."""
    return OUTCOME_FORM.build(entry_points=[cb.Rc.OUTCOME.handler(_begin_outcome)])


def build_session_cancel() -> ConvHandler:
    """The cancellation form: 取消本场接访 on a session's list."""
    return SESSION_CANCEL_FORM.build(entry_points=[cb.Rc.CANCEL_SESSION.handler(_begin_session_cancel)])


# ------------------------------------------------------------------ buttons


Step = Callable[..., Awaitable[str | int]]
Show = Callable[..., Awaitable[None]]


def _view(show_: Show) -> Step:
    """A button that shows something and waits for nothing typed."""
    async def tapped(update: Update, context: Context, *values: object) -> str | int:
        await answer_query(update)
        await show_(update, context, *values)
        return END
    tapped.__name__ = show_.__name__
    return tapped


def buttons() -> list[Handler]:
    """One handler per ``rc:`` button, then the area's catch-all for old or forged data."""
    return [
        cb.Rc.LIST.handler(_view(_sessions_list)),
        cb.Rc.SESSION.handler(_view(_session_view)),
        cb.Rc.MY_BOOKING.handler(_view(_my_booking)),
        cb.Rc.CANCEL_BOOKING.handler(_view(_confirm_cancel)),
        cb.Rc.CANCEL_BOOKING_CONFIRMED.handler(_view(_cancel_booking)),
        cb.Rc.LEADER_LIST.handler(_view(_leader_list)),
        cb.Rc.DETAIL.handler(_view(_detail)),
        *PUBLISH.after_end(),  # 发布 tapped again once the publishing form is over
        cb.Rc.area.stale_handler(_stale),
        cb.Rb.area.stale_handler(_stale),  # the booking form's buttons once it is over
    ]


async def _stale(update: Update, context: Context) -> int:
    await answer_query(update, t(await lang_of(update, context), "common.expired_button"))
    return END


# ------------------------------------------------------------------ leaving


async def cancel(update: Update, context: Context) -> int:
    user = update.effective_user
    assert user is not None
    await deps(context).reception.clear_reception_draft(user.id)
    await send(update, context, t(await lang_of(update, context), "reception.nothing"))
    return END


async def leave_for_command(update: Update, context: Context) -> int:
    """Another command ends the typed step; the command is then handled as usual."""
    hand_on(update, context)
    return END


async def not_text(update: Update, context: Context) -> None:
    await send(update, context, t(await lang_of(update, context), "reception.text_expected"))


def build() -> ConvHandler:
    private, text = PRIVATE, PRIVATE_TEXT
    return user_conversation(
        Conversation.RECEPTION,
        entry_points=[
            CommandHandler("reception", cmd_reception, filters=private),
            CommandHandler("reception_list", cmd_list, filters=private),
            *buttons(),
        ],
        states={
            TOPIC: [MessageHandler(text, _old_topic)],  # a booking begun before the booking form
            PLACE: [MessageHandler(text, _old_place)],  # a session being published before it was a form
            DATE: [MessageHandler(text, _old_date)],
            OUTCOME: [MessageHandler(text, _old_outcome)],
            REASON: [MessageHandler(text, _old_reason)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            MessageHandler(filters.COMMAND & private & filters.UpdateType.MESSAGE, leave_for_command),
            MessageHandler(private & filters.UpdateType.MESSAGE, not_text),
        ],
    )


__all__ = [
    "build", "build_booking", "build_outcome", "build_publish", "build_session_cancel", "buttons", "changed_notice", "outcome_notice", "pack", "parse_day", "promoted_notice",
    "published_notice", "reminder_notice", "session_cancelled_notice",
]
