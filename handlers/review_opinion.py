"""The 复查 / 复核 opinion as a short form in chat (《信访工作条例》 Art. 35 复查, Art. 36 复核).

The reviewer chooses the outcome (the review card's 维持 / 撤销 / 变更 / 责令重办, or
``/review <编号> <结论> [意见]``), then the form asks, one step at a time, for the
信访请求 (what the petitioner asks the reviewing body: the reason they gave when
asking for the review, offered to keep), the 查明事实, the 处理依据 and the opinion's
text (filled in when the command gave it), then shows them all with a button to
change each. Its last button keeps the opinion in the store
(``ReviewService.draft_opinion``, which refuses it without its parts) and asks who
took part in the collective study (集体研究, ``handlers/hearing.py``); 确认出具 there
issues it.

The steps are the written opinion's own (``handlers/opinion.py``: ``part_step``,
``parts_of``), declared for the form engine (``handlers/forms.py``), which saves
each before it is asked, so a restart resumes there, and gives every step
« 返回 and 取消.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler

from handlers import callbacks as cb
from handlers import hearing
from handlers.common import Context, ConvHandler, Handler, deps, lang_of, send
from handlers.fallback import stale_button
from handlers.forms import REVIEW, Buttons, Form, Step, Turn
from handlers.i18n import Html, t
from handlers.opinion import (
    BASIS,
    FACTS,
    OPINION,
    REQUEST,
    REVIEW_STEP,
    Draft,
    command_words,
    part_step,
    parts_of,
    shown_parts,
)
from store.conversations import Conversation
from store.errors import NotFound
from store.models import Actor, ReviewOutcome, new_key
from store.opinion import PART_MAX
from store.workflow import TransitionError

STEPS = (REQUEST, FACTS, BASIS, OPINION, REVIEW_STEP)
#: The review card's outcome buttons.
OUTCOME_BUTTONS = {
    ReviewOutcome.MAINTAIN: cb.Pr.OPINION_MAINTAIN, ReviewOutcome.REVOKE: cb.Pr.OPINION_REVOKE,
    ReviewOutcome.CHANGE: cb.Pr.OPINION_CHANGE, ReviewOutcome.REDO: cb.Pr.OPINION_REDO,
}
OUTCOME_CODES = {str(button.verb): outcome for outcome, button in OUTCOME_BUTTONS.items()}
#: The outcomes of a 复查 / 复核 opinion as reviewers type them (/review).
OUTCOME_WORDS = {
    "maintain": ReviewOutcome.MAINTAIN, "维持": ReviewOutcome.MAINTAIN,
    "revoke": ReviewOutcome.REVOKE, "撤销": ReviewOutcome.REVOKE,
    "change": ReviewOutcome.CHANGE, "变更": ReviewOutcome.CHANGE,
    "redo": ReviewOutcome.REDO, "责令重办": ReviewOutcome.REDO, "重办": ReviewOutcome.REDO,
}


def _stage(lang: str, draft: Draft) -> Html:
    return hearing.stage_name(lang, int(draft.get("level") or 1))


def _outcome(lang: str, draft: Draft) -> Html:
    return t(lang, f"decision.{draft['decision']}") if draft.get("decision") in {o.value for o in ReviewOutcome} \
        else Html("")


async def _part_params(turn: Turn[Draft]) -> Mapping[str, Any]:
    return {"number": turn.data["number"], "stage": _stage(turn.lang, turn.data),
            "decision": _outcome(turn.lang, turn.data)}


async def _review_params(turn: Turn[Draft]) -> Mapping[str, Any]:
    return {**shown_parts(turn.data), "stage": _stage(turn.lang, turn.data),
            "decision": _outcome(turn.lang, turn.data)}


async def _submit(turn: Turn[Draft]) -> str | int:
    """The opinion kept with its parts (the store checks each), then who studied it is asked.

    A part the store refuses keeps the review; the case gone or no longer under review ends the form.
    """
    d, draft = turn.d, turn.data
    actor = d.cases.actor(turn.user_id)
    kept = await d.review.draft_opinion(actor, draft["number"], ReviewOutcome(draft["decision"]),
                                        draft.get(OPINION, ""), parts=parts_of(draft))
    await turn.finish()
    await hearing.ask_participants(turn.update, turn.context, turn.lang, kept)
    return ConversationHandler.END


FORM: Form[Draft] = Form(
    Conversation.REVIEW_OPINION,
    texts="review_form",
    buttons=Buttons(back=cb.Ro.BACK, cancel=cb.Ro.CANCEL, submit=cb.Ro.SUBMIT, keep=cb.Ro.KEEP, edit=cb.Ro.EDIT),
    steps=[
        part_step(REQUEST, "review_form", _part_params), part_step(FACTS, "review_form", _part_params),
        part_step(BASIS, "review_form", _part_params), part_step(OPINION, "review_form", _part_params),
        Step(REVIEW_STEP, REVIEW, "review_form.review", params=_review_params, edits=(REQUEST, FACTS, BASIS, OPINION)),
    ],
    order=lambda draft: STEPS,
    submit=_submit,
    # Nothing left to give an opinion on: the case gone from the reviewer's sight, or no longer under review.
    ends_on=(NotFound, TransitionError),
)


# ------------------------------------------------------------------ entries


async def _open(update: Update, context: Context, actor: Actor, number: str, outcome: ReviewOutcome,
                text: str | None = None) -> str | int:
    """Check the reviewer may give the opinion now, then start the form, the petitioner's request offered."""
    opening = await deps(context).review.opinion_opening(actor, number)
    draft: Draft = {"number": opening.number, "level": opening.level, "decision": outcome.value,
                    "draft_id": new_key(), REQUEST: opening.request}
    if text and text.strip():
        draft[OPINION] = text.strip()[:PART_MAX]
    return await FORM.start(update, context, draft, REQUEST)


@FORM.staff_entry
async def review_command(update: Update, context: Context, actor: Actor) -> str | int:
    """/review <编号> <结论> [意见]: the form, the outcome set (and the opinion's text, when given)."""
    found = command_words(update, 3)
    outcome = OUTCOME_WORDS.get(found[1].lower()) if len(found) > 1 else None
    if outcome is None:
        await send(update, context, t(await lang_of(update, context), "review.usage_review"))
        return await FORM.step_of(update, context)
    return await _open(update, context, actor, found[0][:40], outcome, found[2] if len(found) > 2 else None)


def _tapped(outcome: ReviewOutcome) -> Callable[..., Coroutine[Any, Any, str | int]]:
    """The review card's outcome button (``pr:rvm`` …): the form, that outcome set."""

    async def begin(update: Update, context: Context, actor: Actor, number: str) -> str | int:
        return await _open(update, context, actor, number, outcome)

    begin.__name__ = f"tapped_{outcome.value}"
    return FORM.staff_entry(begin)


async def asked_before(update: Update, context: Context, number: str) -> bool:
    """The answer to an outcome's question asked before this form existed (a prompt waiting at the upgrade).

    The opinion now needs its request, facts and basis: the reviewer is told to choose the outcome again.
    """
    user = update.effective_user
    if user is not None:
        await deps(context).cases.clear_prompt(user.id)
    await send(update, context, t(await lang_of(update, context), "review_form.asked_before", number=number))
    return False


def build() -> ConvHandler:
    # Another command (/case to look something up) is handled as usual while the form waits.
    return FORM.build(entry_points=[
        CommandHandler("review", review_command),
        *(button.handler(_tapped(outcome)) for outcome, button in OUTCOME_BUTTONS.items()),
    ])


def stale_handler() -> Handler:
    """After the form: a button whose form is gone (or forged data) gets the polite "expired" answer."""
    return cb.Ro.area.stale_handler(stale_button)
