"""Reception days (领导接访日), the leader's side: publishing a session, the leader's list, an outcome, a
session's cancellation.

Publishing a session is a form of the one form engine (``PUBLISH``): /reception_add begins it, each question
is a step of buttons (leader, date, times, place or unit, slots) or of typed text (another date, the place),
the store checks every answer as it is given (``change_publish_draft``) and publishes once per draft key. It
has no « 返回; the buttons of the older ``rc:p…`` codes are its steps' buttons and also entry points, for
older messages. Its draft is the store's ``SessionDraft``, sealed in its own row
(``Conversation.RECEPTION_PUBLISH``); one begun before the form (in clear in the reception row, this
module's state beside it) is adopted at the step it stood at when first read.

Recording a booking's outcome (``OUTCOME_FORM``) and cancelling a session with a reason
(``SESSION_CANCEL_FORM``) are forms of one typed step each, asked in a message of their own below the
session's list; their drafts (``OutcomeStep``, ``CancelSessionStep``) are sealed in rows of their own, and
one begun before them is adopted like the others. One of the three begun drops the others under way
(``one_at_a_time``).

/reception_list and its buttons show a leader's sessions with bookings and topics. The store
(``store.reception``) decides what is allowed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, Update
from telegram.ext import (
    CommandHandler,
    ConversationHandler,
)

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import (
    PRIVATE,
    Context,
    ConvHandler,
    answer_query,
    deps,
    lang_of,
    send,
    show,
)
from handlers.forms import CHOICE, REVIEW, TEXT, Buttons, Form, Hint, Turn
from handlers.forms import Step as FormStep
from handlers.i18n import Html, t
from handlers.reception_common import (
    Markup,
    acting,
    date_text,
    leader_booking_block,
    pack,
    plain,
    session_card,
    short_date,
    when_text,
    where_lines,
    who_label,
)
from handlers.refusals import answers_refusals
from handlers.render import unit_path
from store.conversations import Conversation
from store.errors import NoDraft, NotFound, Refused, StoreError
from store.org import RECEPTION_PLACE_MAX, Organization, Unit
from store.reception import (
    LEADER_LIST_DAYS,
    OUTCOME_MAX,
    REASON_MAX,
    BookingStatus,
    CancelSessionStep,
    OutcomeStep,
    PublishStep,
    Session,
    SessionDetail,
    SessionDraft,
    hhmm,
    parse_hhmm,
)

END = ConversationHandler.END
DATE_PAGE = 14
DATE_PAGES = 7
START_TIMES = [time(h, m) for h in range(8, 18) for m in (0, 30)]
END_STEPS = 8  # up to four hours, in half hours
SLOT_CHOICES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30)


# A leader's reception forms: publishing, an outcome, a session's cancellation.
LEADER_FORMS = (Conversation.RECEPTION_PUBLISH, Conversation.RECEPTION_OUTCOME, Conversation.RECEPTION_CANCEL)


async def one_at_a_time(update: Update, context: Context, begun: Conversation) -> None:
    """One of the leader's reception forms begun: the others under way are dropped, as when they shared the
    reception row (and none of them, waiting for a button, takes the text typed for this one)."""
    user = update.effective_user
    assert user is not None
    for other in LEADER_FORMS:
        if other is not begun:
            await deps(context).forms.clear(other, user.id)


# ----------------------------------------------------------- publishing (a form)

# The publishing form's steps, as stored with its draft (one adopted from the reception row is put at one of them).
P_LEADER, P_DAY, P_DATE, P_START, P_END, P_WHERE = "leader", "day", "date", "start", "end", "where"
P_PLACE, P_UNIT, P_VISIT, P_SLOTS, P_REVIEW = "place", "unit", "visit_place", "slots", "review"
DAYS_PAGE = "days_page"  # the page of days shown (the day step's own chat state)
BROWSING = "unit_browse"  # the unit whose subunits are listed (the unit step's own chat state)


def _change(turn: Turn[SessionDraft], **changes: object) -> None:
    """One answer, checked by the store as it is given (a refusal is said and the question asked again)."""
    turn.draft.data = turn.d.reception.change_publish_draft(acting(turn.update, turn.context), turn.data, **changes)


def _taken(turn: Turn[Any], changed: SessionDraft) -> None:
    """A typed answer's draft, as the store changed it."""
    turn.draft.data = changed


async def _headed(turn: Turn[Any], text: Html, params: Mapping[str, Any]) -> list[Html]:
    """A question under the form's title, as every question with buttons was asked."""
    return [Html(t(turn.lang, "reception.add_header") + "\n" + text)]


def _leaders(turn: Turn[SessionDraft]) -> list[InlineKeyboardButton]:
    leaders = turn.d.reception.reception_leaders(acting(turn.update, turn.context))
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
    return d.reception.change_publish_draft(acting(turn.update, turn.context), turn.data, day=day)


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
    return turn.d.reception.change_publish_draft(acting(turn.update, turn.context), turn.data, place=text)


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
    session, _ = await turn.d.reception.publish_session(acting(turn.update, turn.context), turn.data)
    await turn.finish()
    await show(turn.update, turn.context, published_text(turn.lang, turn.d.org, session))
    return END


async def _gone(update: Update, context: Context, error: StoreError) -> None:
    await answer_query(update, t(await lang_of(update, context), "common.expired_button"))


@answers_refusals(on={NoDraft: _gone})
async def _published_again(update: Update, context: Context, draft_id: str) -> None:
    """发布 tapped again once the form is over: the session it published, or "expired"."""
    session = await deps(context).reception.published_session(acting(update, context), draft_id)
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
    draft = await deps(context).reception.begin_publish(acting(update, context))
    await one_at_a_time(update, context, Conversation.RECEPTION_PUBLISH)
    return await PUBLISH.start(update, context, draft, P_LEADER if draft.leader_id is None else P_DAY)


_typed_answer = PUBLISH.text_answer()


async def old_place(update: Update, context: Context) -> int:
    """A place typed where PTB kept this conversation at the place of a session being published before publishing
    was a form: the publishing form takes it, from the draft it adopts (``adopt_reception_draft``)."""
    await _typed_answer(update, context)
    return END


async def old_date(update: Update, context: Context) -> int:
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
    await leader_list(update, context)
    return END


@answers_refusals()
async def leader_list(update: Update, context: Context) -> None:
    lang = await lang_of(update, context)
    sessions = await deps(context).reception.sessions_for(acting(update, context))
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
async def show_detail(update: Update, context: Context, session_id: int) -> None:
    lang = await lang_of(update, context)
    d = deps(context)
    detail = await d.reception.session_detail(acting(update, context), session_id)
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
    booking = await turn.d.reception.begin_outcome(acting(turn.update, turn.context), turn.data.booking_id)
    return {"number": booking.number, "who": who_label(turn.lang, booking)}


async def _record_outcome(turn: Turn[OutcomeStep]) -> int:
    """The store records the outcome (on the linked case's journal too), and the form is done."""
    booking = await turn.d.reception.record_outcome(acting(turn.update, turn.context), turn.data.booking_id,
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
    await deps(context).reception.begin_outcome(acting(update, context), booking_id)
    await one_at_a_time(update, context, Conversation.RECEPTION_OUTCOME)
    return await OUTCOME_FORM.start(update, context, OutcomeStep(booking_id=booking_id), OUTCOME_STEP)


async def _reason_params(turn: Turn[CancelSessionStep]) -> Mapping[str, Any]:
    session = await turn.d.reception.begin_session_cancel(acting(turn.update, turn.context), turn.data.session_id)
    return {"when": when_text(turn.lang, session)}


async def _cancel_session(turn: Turn[CancelSessionStep]) -> int:
    """The store cancels the session (everyone booked is told), and the form is done."""
    session, told = await turn.d.reception.cancel_session(acting(turn.update, turn.context), turn.data.session_id,
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
    await deps(context).reception.begin_session_cancel(acting(update, context), session_id)
    await one_at_a_time(update, context, Conversation.RECEPTION_CANCEL)
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


async def old_outcome(update: Update, context: Context) -> int:
    """An outcome typed where PTB kept this conversation at the outcome of an older version: the form's."""
    await _typed_outcome(update, context)
    return END


async def old_reason(update: Update, context: Context) -> int:
    """A reason typed where PTB kept this conversation at a cancellation's reason of an older version: the form's."""
    await _typed_reason(update, context)
    return END


def build_outcome() -> ConvHandler:
    """The outcome form: 记录结果 on a booking of a session's list."""
    return OUTCOME_FORM.build(entry_points=[cb.Rc.OUTCOME.handler(_begin_outcome)])


def build_session_cancel() -> ConvHandler:
    """The cancellation form: 取消本场接访 on a session's list."""
    return SESSION_CANCEL_FORM.build(entry_points=[cb.Rc.CANCEL_SESSION.handler(_begin_session_cancel)])

