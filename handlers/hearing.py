"""The reviewers' collective study (集体研究) and hearings (听证) in 复查 / 复核.

An opinion written in the chat (an outcome button or ``/review``, then the
form of ``handlers/review_opinion.py``: its request, facts, basis and text)
is kept by the store while its reviewer marks, with toggle buttons, the
reviewing unit's staff who studied it (at least one leader), then confirms:
the opinion is issued with them.

``/hearing`` and the review card's buttons schedule a hearing (date, place,
note), record it held, or cancel it; the review clock stands still meanwhile
and the petitioner is told (the ``rv_hearing`` notice, rendered here).

Who may, what the clock does and every check are the store's
(``store.review``); this module parses, calls one store method and words
the outcome in the caller's language.
"""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import Context, Deps, Handler, answer_query, deps, send, show, staff_caller
from handlers.i18n import Html, t
from handlers.prompts import PROMPTS, Prompt
from handlers.refusals import answers_in_prompt, answers_refusals
from handlers.render import day
from store.errors import Refused
from store.event_data import HearingData, HearingEndData, data_of
from store.models import Actor, Case, OutboxItem
from store.review import Hearing, OpinionDraft
from store.services import Services
from store.workflow import Action

Rendered = list[tuple[Html, InlineKeyboardMarkup | None]]

HELD_WORDS = {"held", "已举行", "举行"}
CANCEL_WORDS = {"cancel", "cancelled", "取消"}
OPINION_SHOWN = 600  # characters of the opinion repeated above the participants' buttons


def stage_name(lang: str, level: int) -> Html:
    return t(lang, "review.stage_rereview" if level >= 2 else "review.stage_review")


# ------------------------------------------------------------ collective study

def study_text(lang: str, draft: OpinionDraft) -> Html:
    names = [m.name for m in draft.candidates if m.id in draft.participants]
    text = draft.text if len(draft.text) <= OPINION_SHOWN else draft.text[:OPINION_SHOWN] + "…"
    shown = t(lang, "hearing.study_title", number=draft.number, stage=stage_name(lang, draft.level),
              decision=t(lang, f"decision.{draft.decision.value}"), text=text,
              chosen="、".join(names) if names else t(lang, "hearing.study_none_chosen"))
    if draft.parts is None:  # kept before the request, facts and basis were asked (migration 0024)
        shown = Html(shown + "\n\n" + t(lang, "hearing.study_parts_missing", number=draft.number))
    return shown


def study_markup(lang: str, draft: OpinionDraft) -> InlineKeyboardMarkup:
    """One toggle per member of the reviewing unit (✓ when marked), then confirm and discard."""
    rows = [
        [kb.button(("✓ " if m.id in draft.participants else "") + m.name
                   + (str(t(lang, "hearing.study_leader")) if m.leader else ""),
                   cb.Rv.STUDY_TOGGLE.encode(draft.number, m.id))]
        for m in draft.candidates
    ]
    rows.append([kb.button(t(lang, "hearing.study_confirm"), cb.Rv.STUDY_CONFIRM.encode(draft.number)),
                 kb.button(t(lang, "hearing.study_drop"), cb.Rv.STUDY_DROP.encode(draft.number))])
    return kb.markup(rows)


async def ask_participants(update: Update, context: Context, lang: str, draft: OpinionDraft) -> None:
    """After the opinion's text: who studied it (the reviewer is marked already when they are one)."""
    if not draft.candidates:
        await send(update, context, t(lang, "hearing.study_no_candidates"))
        return
    await send(update, context, study_text(lang, draft), study_markup(lang, draft))


@answers_refusals()
async def on_study_toggle(update: Update, context: Context, number: str, staff_id: int) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    await answer_query(update)
    draft = await deps(context).review.toggle_participant(actor, number, staff_id)
    await show(update, context, study_text(lang, draft), study_markup(lang, draft))


@answers_refusals()
async def on_study_confirm(update: Update, context: Context, number: str) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    await answer_query(update)
    case = await deps(context).review.confirm_opinion(actor, number)
    await show(update, context, t(lang, "review.opinion_done", number=case.number))


@answers_refusals()
async def on_study_drop(update: Update, context: Context, number: str) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    await answer_query(update)
    await deps(context).review.drop_opinion_draft(actor, number)
    await show(update, context, t(lang, "hearing.study_dropped"))


# ---------------------------------------------------------------- hearings

def hearing_row(lang: str, number: str, pending: bool) -> list[InlineKeyboardButton]:
    """The review card's hearing buttons: schedule one, or (while one is pending) held / cancel."""
    if pending:
        return [kb.button(t(lang, "hearing.held"), cb.Rv.HEARING_HELD.encode(number)),
                kb.button(t(lang, "hearing.cancel"), cb.Rv.HEARING_CANCEL.encode(number))]
    return [kb.button(t(lang, "hearing.schedule"), cb.Pr.HEARING.encode(number))]


def _day_of(word: str) -> date | None:
    try:
        return date.fromisoformat(word) if len(word) == 10 else None
    except ValueError:
        return None


def ended_text(lang: str, case: Case, hearing: Hearing) -> Html:
    key = "hearing.ended_held" if hearing.ended == "held" else "hearing.ended_cancelled"
    return t(lang, key, number=case.number, days=hearing.days or 0, stage=stage_name(lang, hearing.level),
             due=day(hearing.due_after, lang) if hearing.due_after else "-")


async def _schedule(d: Deps, actor: Actor, lang: str, number: str, on: date, place: str, note: str | None) -> Html:
    case = await d.review.schedule_hearing(actor, number, on, place, note)
    return t(lang, "hearing.scheduled", number=case.number, date=day(on, lang), place=place)


async def _end(d: Deps, actor: Actor, lang: str, number: str, held: bool) -> Html:
    case, hearing = await d.review.end_hearing(actor, number, held=held)
    return ended_text(lang, case, hearing)


@answers_refusals()
async def hearing_command(update: Update, context: Context) -> None:
    """/hearing <number> <date> <place> [note] | <number> 已举行 | <number> 取消."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    message = update.effective_message
    # /hearing <number> <date> <place> [note]: the place is one word, the note the rest.
    words = (message.text or "").split(None, 4)[1:] if message is not None else []
    number = words[0][:40] if words else ""
    if len(words) == 2 and words[1].lower() in HELD_WORDS | CANCEL_WORDS:
        reply = await _end(d, actor, lang, number, words[1].lower() in HELD_WORDS)
    elif len(words) >= 3 and (on := _day_of(words[1])) is not None:
        note = words[3].strip() if len(words) > 3 else None
        reply = await _schedule(d, actor, lang, number, on, words[2], note or None)
        await send(update, context, reply, kb.markup([hearing_row(lang, number.upper(), True)]))
        return
    else:
        await send(update, context, t(lang, "hearing.usage"))
        return
    await send(update, context, reply)


@answers_in_prompt  # a date past, no place, too long: asked again; any other refusal ends the question
async def receive_schedule(update: Update, context: Context, number: str) -> bool:
    """The answer to 安排听证: date on the first line, place on the second, an optional note after."""
    caller = await staff_caller(update, context)
    if caller is None:
        return False
    actor, lang = caller
    message = update.effective_message
    lines = [line.strip() for line in ((message.text or "") if message is not None else "").split("\n")]
    lines = [line for line in lines if line]
    on = _day_of(lines[0]) if lines else None
    if on is None or len(lines) < 2:
        await send(update, context, t(lang, "hearing.schedule_format"))
        return True  # the question stays
    d = deps(context)
    reply = await _schedule(d, actor, lang, number, on, lines[1], "\n".join(lines[2:]) or None)
    await d.cases.clear_prompt(actor.id or 0)
    # Held or cancelled, later: the buttons come with the confirmation.
    await send(update, context, reply, kb.markup([hearing_row(lang, number, True)]))
    return False


async def _schedule_unused(d: Deps, actor: Actor, number: str, text: str) -> object:
    raise Refused("refused")  # the prompt answers through receive_schedule


@answers_refusals()
async def _end_button(update: Update, context: Context, number: str, held: bool) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    await answer_query(update)
    reply = await _end(deps(context), actor, lang, number, held)
    await send(update, context, reply)


async def on_held(update: Update, context: Context, number: str) -> None:
    await _end_button(update, context, number, True)


async def on_cancel(update: Update, context: Context, number: str) -> None:
    await _end_button(update, context, number, False)


PROMPTS["hrs"] = Prompt("hearing.ask_schedule", "hearing.scheduled", _schedule_unused, True,
                        receive=receive_schedule, hint="hearing.schedule_format")


def handlers() -> list[Handler]:
    """Registered before ``review.handlers()``, whose area catch-all answers stale ``rv:`` buttons."""
    return [
        CommandHandler("hearing", hearing_command),
        cb.Rv.STUDY_TOGGLE.handler(on_study_toggle),
        cb.Rv.STUDY_CONFIRM.handler(on_study_confirm),
        cb.Rv.STUDY_DROP.handler(on_study_drop),
        cb.Rv.HEARING_HELD.handler(on_held),
        cb.Rv.HEARING_CANCEL.handler(on_cancel),
    ]


# ------------------------------------------------------------- notifications

async def hearing_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``rv_hearing``: a hearing scheduled, held or cancelled, to the petitioner."""
    case = await store.cases.case_by_id(item.case_id) if item.case_id is not None else None
    event = await store.cases.event(item.event_id) if item.event_id is not None and case else None
    if case is None or event is None:
        return []
    level = 2 if case.review_level >= 2 else 1
    if event.action == Action.HEARING:
        scheduled = data_of(event, HearingData)
        return [(t(lang, "hearing.petitioner_scheduled", number=case.number, stage=stage_name(lang, scheduled.level),
                   date=day(scheduled.on, lang), place=scheduled.place), None)]
    if event.action != Action.HEARING_END:
        return []
    ended = data_of(event, HearingEndData)
    stage = stage_name(lang, level)
    due = day(ended.due, lang) if ended.due else "-"
    if ended.how == "held":
        return [(t(lang, "hearing.petitioner_held", number=case.number, stage=stage, due=due), None)]
    held_on = next((h.held_on for h in await store.review.hearings(case.id) if h.id == ended.hearing), None)
    return [(t(lang, "hearing.petitioner_cancelled", number=case.number, stage=stage, due=due,
               date=day(held_on, lang) if held_on else "-"), None)]
