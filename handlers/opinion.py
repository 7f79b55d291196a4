"""The written opinion (Art. 32) and the decline (Art. 21-22) as short forms in chat.

``/decide <编号>`` (or the card's 出具处理意见 and a decision) asks, one step at a
time, for 信访人诉求 (the case's desired outcome, else its subject, offered to
keep), 查明事实, 处理依据 and the 处理意见 text, then shows them all with a button
to change each and 出具. ``/decide <编号> <结果> <意见>`` opens the same form with
the decision and the opinion filled in: the 条例 wants the facts and the basis
in every written opinion, so the one-liner no longer issues one by itself.

``/decline <编号> [说明]`` (or the card's 不予受理) asks for the reason (buttons of
``[[decline_reasons]]``), then the body the petitioner should turn to (buttons
of ``[[destinations]]``; required when the reason sends the matter elsewhere,
诉访分离), then an optional note.

The steps are declared for the form engine (``handlers/forms.py``), which saves
each before it is asked, so a restart resumes there, and gives every step
« 返回 and 取消; 出具 goes through the same store call as the act
(``CaseService.act``), which checks every rule again and holds it for a leader
where ``[approvals]`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import CommandHandler, ConversationHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers import staff_work as menus
from handlers.common import Context, ConvHandler, Handler, answer_query, deps, send, show, staff_caller
from handlers.documents import destination_line
from handlers.fallback import stale_button
from handlers.forms import CHOICE, REVIEW, TEXT, Buttons, Form, Hint, Params, Step, Turn
from handlers.i18n import Html, t
from handlers.refusals import answers_refusals
from store.approvals import Draft as HeldDraft
from store.conversations import Conversation
from store.errors import AwaitingApproval, DraftWaiting, NotFound, StoreError
from store.models import Actor, Decision, new_key
from store.opinion import NOTE_MAX, PART_MAX, DeclineGrounds, OpinionParts
from store.org import Organization
from store.workflow import Action, TransitionError

REQUEST, FACTS, BASIS, OPINION, REVIEW_STEP = "request", "facts", "basis", "opinion", "review"
REASON, DEST, NOTE, D_REVIEW = "reason", "dest", "note", "d_review"
DECIDE_STEPS = (REQUEST, FACTS, BASIS, OPINION, REVIEW_STEP)
DECLINE_STEPS = (REASON, DEST, NOTE, D_REVIEW)
#: The words /decide takes for each decision (the Chinese terms too).
DECISIONS = {
    "support": Decision.SUPPORT, "予以支持": Decision.SUPPORT, "支持": Decision.SUPPORT,
    "explain": Decision.EXPLAIN, "解释说明": Decision.EXPLAIN, "解释": Decision.EXPLAIN,
    "reject": Decision.REJECT, "不予支持": Decision.REJECT, "不支持": Decision.REJECT,
}

Draft = dict[str, Any]


def _destination(org: Organization, draft: Draft, lang: str) -> str:
    found = org.find_destination(str(draft.get("dest") or ""))
    if found is None:
        return str(t(lang, "opinion.none"))
    return destination_line(found, lang)


def _reason(org: Organization, draft: Draft, lang: str) -> str:
    found = org.find_decline_reason(str(draft.get("reason") or ""))
    return found.text.get(lang) if found is not None else str(t(lang, "opinion.none"))


def _decision(lang: str, draft: Draft) -> Html:
    return t(lang, f"decision.{draft['decision']}") if draft.get("decision") in {d.value for d in Decision} else \
        Html("")


# ------------------------------------------------------------------ the steps


def _note_needed(turn: Turn[Draft]) -> bool:
    reason = turn.d.org.find_decline_reason(str(turn.data.get("reason") or ""))
    return reason is not None and reason.note


def _redirects(turn: Turn[Draft]) -> bool:
    reason = turn.d.org.find_decline_reason(str(turn.data.get("reason") or ""))
    return reason is None or reason.redirect


async def _part_params(turn: Turn[Draft]) -> Mapping[str, Any]:
    return {"number": turn.data["number"], "decision": _decision(turn.lang, turn.data), "max": PART_MAX}


def parts_of(draft: Draft) -> OpinionParts:
    """The request, facts and basis a draft holds, as the store takes them (it checks each)."""
    return OpinionParts(request=draft.get(REQUEST, ""), facts=draft.get(FACTS, ""), basis=draft.get(BASIS, ""))


def shown_parts(draft: Draft) -> dict[str, Any]:
    """The parts and the opinion's text of a draft, for a review step's text."""
    return {"number": draft["number"], "request": draft.get(REQUEST, ""), "facts": draft.get(FACTS, ""),
            "basis": draft.get(BASIS, ""), "text": draft.get(OPINION, "")}


async def _review_params(turn: Turn[Draft]) -> Mapping[str, Any]:
    return {**shown_parts(turn.data), "decision": _decision(turn.lang, turn.data)}


async def _number(turn: Turn[Draft]) -> Mapping[str, Any]:
    return {"number": turn.data["number"]}


async def _reason_param(turn: Turn[Draft]) -> Mapping[str, Any]:
    return {"reason": _reason(turn.d.org, turn.data, turn.lang)}


async def _decline_review_params(turn: Turn[Draft]) -> Mapping[str, Any]:
    org, draft, lang = turn.d.org, turn.data, turn.lang
    return {"number": draft["number"], "reason": _reason(org, draft, lang),
            "destination": _destination(org, draft, lang), "note": draft.get(NOTE) or t(lang, "opinion.none")}


def _reasons(turn: Turn[Draft]) -> list[InlineKeyboardButton]:
    return [kb.button(r.text.get(turn.lang), cb.Op.REASON.encode(r.id)) for r in turn.d.org.decline_reasons]


def _destinations(turn: Turn[Draft]) -> list[InlineKeyboardButton]:
    buttons = [kb.button(x.name.get(turn.lang), cb.Op.DEST.encode(x.id)) for x in turn.d.org.destinations]
    if not _redirects(turn):
        buttons.append(kb.button(t(turn.lang, "opinion.no_destination"), cb.Op.NO_DEST.encode()))
    return buttons


async def _pick_reason(turn: Turn[Draft], reason_id: str) -> None:
    org = turn.d.org
    reason = org.find_decline_reason(reason_id)
    if reason is None:  # an old or forged button
        raise Hint("opinion.button_expected")
    if reason.redirect and not org.destinations:
        raise Hint("opinion.no_destinations")
    turn.data["reason"] = reason.id
    turn.draft.editing = False  # a new reason asks the destination (and the note) again


async def _pick_destination(turn: Turn[Draft], destination: str) -> None:
    if turn.d.org.find_destination(destination) is None:
        raise Hint("opinion.button_expected")
    turn.data["dest"] = destination


async def _pick_no_destination(turn: Turn[Draft]) -> None:
    if turn.d.org.find_decline_reason(str(turn.data.get("reason") or "")) is None or _redirects(turn):
        raise Hint("opinion.button_expected")
    turn.data["dest"] = None


def part_step(name: str, texts: str = "opinion", params: Params = _part_params) -> Step:
    """One part of an opinion (request, facts, basis, the opinion's text): a text step asked as
    ``<texts>.ask_<name>``, up to ``PART_MAX``, offering to keep the text already there.

    The written opinion's form and the 复查 / 复核 opinion's (handlers/review_opinion.py) both take them.
    """
    return Step(name, TEXT, f"{texts}.ask_{name}", params=params, limit=PART_MAX, keep=True)



async def _submit(turn: Turn[Draft]) -> str | int:
    """出具: the one store call of the act, which checks every rule again (and may hold it for approval).

    A part to fix keeps the review; held for the leader or nothing left to issue ends the form (``ends_on``).
    """
    d, draft = turn.d, turn.data
    actor = d.cases.actor(turn.user_id)
    if draft["mode"] == "decide":
        action = Action.DECIDE
        case = await d.cases.act(actor, draft["number"], action, decision=Decision(draft["decision"]),
                                 body=draft.get(OPINION), parts=parts_of(draft))
    else:
        action = Action.DECLINE
        case = await d.cases.act(actor, draft["number"], action, body=draft.get(NOTE) or None,
                                 grounds=DeclineGrounds(reason=str(draft.get("reason") or ""),
                                                        destination=draft.get("dest")))
    await turn.finish()
    await show(turn.update, turn.context, menus.done_text(turn.lang, d.org, actor, action, case))
    return ConversationHandler.END


FORM: Form[Draft] = Form(
    Conversation.OPINION,
    texts="opinion",
    buttons=Buttons(back=cb.Op.BACK, cancel=cb.Op.CANCEL, submit=cb.Op.SUBMIT, keep=cb.Op.KEEP, edit=cb.Op.EDIT),
    steps=[
        part_step(REQUEST), part_step(FACTS), part_step(BASIS), part_step(OPINION),
        Step(REVIEW_STEP, REVIEW, "opinion.review", params=_review_params, edits=(REQUEST, FACTS, BASIS, OPINION)),
        Step(REASON, CHOICE, "opinion.decline_ask_reason", params=_number, options=_reasons, columns=1,
             choices={cb.Op.REASON: _pick_reason}),
        Step(DEST, CHOICE, lambda turn: "opinion.decline_ask_destination" if _redirects(turn)
             else "opinion.decline_ask_destination_optional", params=_reason_param, options=_destinations, columns=1,
             choices={cb.Op.DEST: _pick_destination, cb.Op.NO_DEST: _pick_no_destination}),
        Step(NOTE, TEXT, lambda turn: "opinion.decline_ask_note" if _note_needed(turn)
             else "opinion.decline_ask_note_optional", limit=NOTE_MAX, keep=True,
             skip=lambda turn: None if _note_needed(turn) else "opinion.skip_note"),
        Step(D_REVIEW, REVIEW, "opinion.decline_review", params=_decline_review_params, edits=(REASON, DEST, NOTE)),
    ],
    order=lambda draft: DECIDE_STEPS if draft.get("mode") == "decide" else DECLINE_STEPS,
    submit=_submit,
    # Held for the leader, or nothing left to issue (gone, its state moved on, a draft already waiting).
    ends_on=(AwaitingApproval, NotFound, TransitionError, DraftWaiting),
)


# ------------------------------------------------------------------ entries


async def _refused(update: Update, context: Context, error: StoreError) -> str | int:
    return await FORM.refused_entry(update, context, error)


@answers_refusals(on={StoreError: _refused})
async def _open(update: Update, context: Context, caller: tuple[Actor, str], number: str, action: Action,
                draft: Draft) -> str | int:
    """Check the act is possible now (scope, state), then start the form at its first step."""
    actor, _ = caller
    case = await deps(context).staff_work.check_action(actor, number, action)
    draft.update(number=case.number, draft_id=new_key())
    if action is Action.DECIDE:
        draft.setdefault(REQUEST, case.desired_outcome or case.subject)
        return await FORM.start(update, context, {"mode": "decide", **draft}, REQUEST)
    return await FORM.start(update, context, {"mode": "decline", **draft}, REASON)


def command_words(update: Update, count: int) -> list[str]:
    """The command's words after its name, the last holding the rest of the text."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    return text.split(maxsplit=count)[1:]


async def decide_command(update: Update, context: Context) -> str | int:
    """/decide <编号> [结果 意见]: the decision menu, or the form with the decision and the opinion filled in."""
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    words = command_words(update, 3)
    if len(words) == 1:
        await menus.decide_menu(update, context, caller, words[0][:40])
        return ConversationHandler.END
    decision = DECISIONS.get(words[1].lower()) if len(words) > 1 else None
    if len(words) < 3 or decision is None:
        await send(update, context, t(caller[1], "work.usage_decide"))
        return ConversationHandler.END
    return await _open(update, context, caller, words[0][:40], Action.DECIDE,
                       {"decision": decision.value, OPINION: words[2].strip()[:PART_MAX]})


async def decide_tapped(update: Update, context: Context, number: str, decision: str) -> str | int:
    """A decision chosen on the menu (``pr:dcs``): the form, that decision set."""
    await answer_query(update)
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    if decision not in {d.value for d in Decision}:
        await send(update, context, t(caller[1], "common.expired_button"))
        return ConversationHandler.END
    return await _open(update, context, caller, number, Action.DECIDE, {"decision": decision})


async def decline_command(update: Update, context: Context) -> str | int:
    """/decline <编号> [说明]: the reason, the destination and the note, step by step."""
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    words = command_words(update, 2)
    if not words:
        await send(update, context, t(caller[1], "staff.usage_decline"))
        return ConversationHandler.END
    draft = {NOTE: words[1].strip()[:NOTE_MAX]} if len(words) > 1 and words[1].strip() else {}
    return await _open(update, context, caller, words[0][:40], Action.DECLINE, draft)


async def decline_tapped(update: Update, context: Context, number: str) -> str | int:
    """The card's 不予受理 (``pr:dec``)."""
    await answer_query(update)
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    return await _open(update, context, caller, number, Action.DECLINE, {})


def build() -> ConvHandler:
    # Another command (/case to look something up) is handled as usual while the form waits.
    return FORM.build(entry_points=[
        CommandHandler("decide", decide_command), CommandHandler("decline", decline_command),
        cb.Pr.DECIDE.handler(decide_tapped), cb.Pr.DECLINE.handler(decline_tapped),
    ])


def stale_handler() -> Handler:
    """After the form: a button whose form is gone (or forged data) gets the polite "expired" answer."""
    return cb.Op.area.stale_handler(stale_button)


# ------------------------------------------------------------ for approvals


def held_detail(draft: HeldDraft, org: Organization, lang: str) -> Html | None:
    """A held draft's parts or grounds, for the approver's card (None: a draft without them)."""
    if draft.parts is not None:
        return t(lang, "opinion.draft_parts", request=draft.parts.request, facts=draft.parts.facts,
                 basis=draft.parts.basis, text=draft.body or "")
    if draft.grounds is not None:
        grounds = {"reason": draft.grounds.reason, "dest": draft.grounds.destination}
        return t(lang, "opinion.draft_grounds", reason=_reason(org, grounds, lang),
                 destination=_destination(org, grounds, lang), note=draft.body or t(lang, "opinion.none"))
    return None

