"""What both sides of reception days (领导接访日) share: the cards and lists as people read them, the notices the
outbox sends about sessions and bookings, and the person acting.

Employees' side: ``handlers/reception.py``; the leader's: ``handlers/reception_leader.py``.
"""

from __future__ import annotations

import html
from datetime import date

from telegram import InlineKeyboardMarkup, Update

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import (
    Context,
    Deps,
    deps,
)
from handlers.i18n import Html, t
from handlers.refusals import unless_refused
from handlers.render import pack as pack_blocks
from handlers.render import unit_path
from store.models import Actor, OutboxItem
from store.notices import BookingParams, ReminderParams, SessionParams, params_of
from store.org import Organization
from store.reception import (
    Booking,
    BookingStatus,
    LeaderBooking,
    Session,
)
from store.services import Services

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
    params = params_of(item.kind, item.params, SessionParams)
    session = await unless_refused(store.reception.reception_session(params.session_id))
    if session is None:
        return []
    return [(Html(session_card(lang, store.org, session) + "\n\n" + t(lang, "reception.published_for_you")), None)]


async def _booking(item: OutboxItem, store: Services, *, live: bool = False) -> tuple[Booking, Session] | None:
    """The row's booking and its session; with ``live``, only while still worth speaking of."""
    found = await store.reception.reception_notice(params_of(item.kind, item.params, BookingParams).booking_id)
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
    which = params_of(item.kind, item.params, ReminderParams).which
    title = (t(lang, "reception.remind_hours", start=session.start) if which == "hours"
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


# ------------------------------------------------------------------ the person acting


def acting(update: Update, context: Context) -> Actor:
    user = update.effective_user
    assert user is not None
    return deps(context).cases.actor(user.id, user.full_name)


