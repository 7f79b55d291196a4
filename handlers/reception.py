"""Reception days (领导接访日) in chat, the employees' side, and the one conversation both sides share.

Employees: /reception lists upcoming sessions as buttons; booking asks for a short topic, then offers to link
one of their own petitions; they can look at and cancel their bookings. The leader's side (publishing, the
leader's list, outcomes, cancellations) is ``handlers/reception_leader.py``; the cards and notices both show,
``handlers/reception_common.py``.

The booking is a form of the one form engine (``handlers/forms.py``, ``BOOKING``): 预约 begins it, the
topic is typed, the employee's own cases are offered to link (``rc:l``, kept for the buttons already in
chats), and the store books once per draft key. Its draft is ``BookingStep``, sealed in its own row
(``Conversation.RECEPTION_BOOKING``); one begun before the form (in clear in the reception row) is adopted
by the store when first read.

Everything else is one persistent conversation (the other ``rc:`` buttons and the two list commands are its
entry points, so any of them can be used at any time); it waits for typed text only where an older version
left it waiting (the topic, the place, the date, the outcome, the reason), and hands that text to the form now
asking it. The store (``store.reception``) decides what is allowed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, Update
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
    Handler,
    answer_query,
    deps,
    hand_on,
    lang_of,
    send,
    show,
    user_conversation,
)
from handlers.forms import CHOICE, TEXT, Buttons, Form, Turn
from handlers.forms import Step as FormStep
from handlers.i18n import Html, t
from handlers.reception_common import (
    acting,
    booking_message,
    booking_state,
    confirmation,
    plain,
    session_card,
    short_date,
    when_text,
)
from handlers.reception_leader import (
    PUBLISH,
    cmd_list,
    leader_list,
    old_date,
    old_outcome,
    old_place,
    old_reason,
    show_detail,
)
from handlers.refusals import answers_refusals
from store.conversations import Conversation
from store.errors import Refused
from store.reception import (
    BOOKING_LINK,
    BOOKING_TOPIC,
    TOPIC_MAX,
    BookingResult,
    BookingStatus,
    BookingStep,
    check_topic,
)

# States: the steps that wait for typed text (the topic, the place and the date: only a booking or a session
# being published begun before they were forms, handed to their forms).
TOPIC = "topic"
PLACE = "place"
DATE = "date"
OUTCOME = "outcome"
REASON = "reason"

END = ConversationHandler.END


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
    actor = acting(turn.update, turn.context)
    found = await turn.d.reception.submit_topic(actor, turn.data, name=actor.name)
    if found.result is None:
        return await turn.go(BOOKING_LINK)
    return await _booked(turn, found.result, fresh=True)


async def _case_rows(turn: Turn[BookingStep]) -> list[list[InlineKeyboardButton]]:
    cases = await turn.d.reception.linkable_cases(acting(turn.update, turn.context))
    rows = [[kb.button(plain(turn.lang, "reception.link_case", number=c.number, subject=c.subject[:24]),
                       cb.Rc.LINK_CASE.encode(c.id))] for c in cases]
    rows.append([kb.button(plain(turn.lang, "reception.link_none"), cb.Rc.LINK_CASE.encode(0))])
    return rows


async def _pick_case(turn: Turn[BookingStep], case_id: int) -> None:
    turn.data.case_id = case_id or None  # the store checks it is the employee's own when booking


async def _book(turn: Turn[BookingStep]) -> int:
    actor = acting(turn.update, turn.context)
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
    draft = await deps(context).reception.begin_booking(acting(update, context), session_id)
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
    booking, session = await d.reception.booking_of(acting(update, context), booking_id)
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
    booking, session = await deps(context).reception.booking_of(acting(update, context), booking_id)
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
    await deps(context).reception.cancel_booking(acting(update, context), booking_id)
    await show(update, context, t(lang, "reception.booking_cancelled"))


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
        cb.Rc.LEADER_LIST.handler(_view(leader_list)),
        cb.Rc.DETAIL.handler(_view(show_detail)),
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
            PLACE: [MessageHandler(text, old_place)],  # a session being published before it was a form
            DATE: [MessageHandler(text, old_date)],
            OUTCOME: [MessageHandler(text, old_outcome)],
            REASON: [MessageHandler(text, old_reason)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            MessageHandler(filters.COMMAND & private & filters.UpdateType.MESSAGE, leave_for_command),
            MessageHandler(private & filters.UpdateType.MESSAGE, not_text),
        ],
    )


