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

Each step is saved before it is asked (``store.opinion.OpinionService``), so a
restart resumes there; every step has « 返回 and 取消; 出具 goes through the same
store call as the act (``CaseService.act``), which checks every rule again and
holds it for a leader where ``[approvals]`` says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers import staff_work as menus
from handlers.common import (
    PRIVATE,
    PRIVATE_TEXT,
    Context,
    answer_query,
    deps,
    error_text,
    lang_of,
    send,
    show,
    staff_caller,
    user_conversation,
)
from handlers.documents import destination_line
from handlers.fallback import stale_button
from handlers.i18n import Html, t
from store.approvals import Draft as HeldDraft
from store.conversations import Conversation
from store.errors import StoreError
from store.models import Actor, Decision
from store.opinion import NOTE_MAX, PART_MAX, DeclineGrounds, OpinionParts
from store.org import Organization
from store.workflow import Action

REQUEST, FACTS, BASIS, OPINION, REVIEW = "request", "facts", "basis", "opinion", "review"
REASON, DEST, NOTE, D_REVIEW = "reason", "dest", "note", "d_review"
DECIDE_STEPS = (REQUEST, FACTS, BASIS, OPINION, REVIEW)
DECLINE_STEPS = (REASON, DEST, NOTE, D_REVIEW)
TEXT_STEPS = {REQUEST: PART_MAX, FACTS: PART_MAX, BASIS: PART_MAX, OPINION: PART_MAX, NOTE: NOTE_MAX}
#: The words /decide takes for each decision (the Chinese terms too).
DECISIONS = {
    "support": Decision.SUPPORT, "予以支持": Decision.SUPPORT, "支持": Decision.SUPPORT,
    "explain": Decision.EXPLAIN, "解释说明": Decision.EXPLAIN, "解释": Decision.EXPLAIN,
    "reject": Decision.REJECT, "不予支持": Decision.REJECT, "不支持": Decision.REJECT,
}

Draft = dict[str, Any]
StepFn = Callable[..., Awaitable[str | int]]


def _steps(draft: Draft) -> tuple[str, ...]:
    return DECIDE_STEPS if draft.get("mode") == "decide" else DECLINE_STEPS


def _step_label(lang: str, draft: Draft, step: str) -> Html:
    steps = _steps(draft)
    return t(lang, "opinion.step", n=steps.index(step) + 1, total=len(steps))


def _nav(lang: str, back: bool = True) -> list[InlineKeyboardButton]:
    return kb.nav_row(lang, back=cb.Op.BACK.encode() if back else None, cancel=cb.Op.CANCEL.encode())


def _destination(org: Organization, draft: Draft, lang: str) -> str:
    found = org.find_destination(str(draft.get("dest") or ""))
    if found is None:
        return str(t(lang, "opinion.none"))
    return destination_line({"name": found.name.model_dump(exclude_none=True), "address": found.address,
                             "phone": found.phone}, lang)


def _reason(org: Organization, draft: Draft, lang: str) -> str:
    found = org.find_decline_reason(str(draft.get("reason") or ""))
    return found.text.get(lang) if found is not None else str(t(lang, "opinion.none"))


def _decision(lang: str, draft: Draft) -> Html:
    return t(lang, f"decision.{draft['decision']}") if draft.get("decision") in {d.value for d in Decision} else \
        Html("")


async def ask(update: Update, context: Context, step: str, draft: Draft) -> None:
    """The question of ``step`` with its buttons (« 返回 and 取消 on every step)."""
    lang = await lang_of(update, context)
    org = deps(context).org
    label = _step_label(lang, draft, step)
    number = draft["number"]
    first = step == _steps(draft)[0]
    if step in (REQUEST, FACTS, BASIS, OPINION):
        text = t(lang, f"opinion.ask_{step}", step=label, number=number, decision=_decision(lang, draft),
                 max=PART_MAX)
        rows = []
        if draft.get(step):
            text = Html(text + "\n" + t(lang, "opinion.current", text=draft[step]))
            rows.append([kb.button(t(lang, "opinion.keep"), cb.Op.KEEP.encode())])
        await show(update, context, text, kb.markup([*rows, _nav(lang, back=not first)]))
    elif step == REVIEW:
        text = t(lang, "opinion.review", step=label, number=number, request=draft.get(REQUEST, ""),
                 facts=draft.get(FACTS, ""), basis=draft.get(BASIS, ""), decision=_decision(lang, draft),
                 text=draft.get(OPINION, ""))
        edits = [kb.button(t(lang, f"opinion.edit_{s}"), cb.Op.EDIT.encode(s)) for s in (REQUEST, FACTS, BASIS,
                                                                                       OPINION)]
        await show(update, context, text, kb.markup([
            [kb.button(t(lang, "opinion.submit"), cb.Op.SUBMIT.encode(draft["draft_id"]))], *kb.grid(edits),
            _nav(lang)]))
    elif step == REASON:
        buttons = [kb.button(r.text.get(lang), cb.Op.REASON.encode(r.id)) for r in org.decline_reasons]
        await show(update, context, t(lang, "opinion.decline_ask_reason", step=label, number=number),
                   kb.markup([*kb.grid(buttons, 1), _nav(lang, back=False)]))
    elif step == DEST:
        reason = org.find_decline_reason(str(draft.get("reason") or ""))
        redirect = reason is None or reason.redirect
        buttons = [kb.button(x.name.get(lang), cb.Op.DEST.encode(x.id)) for x in org.destinations]
        if not redirect:
            buttons.append(kb.button(t(lang, "opinion.no_destination"), cb.Op.NO_DEST.encode()))
        key = "opinion.decline_ask_destination" if redirect else "opinion.decline_ask_destination_optional"
        await show(update, context, t(lang, key, step=label, reason=_reason(org, draft, lang)),
                   kb.markup([*kb.grid(buttons, 1), _nav(lang)]))
    elif step == NOTE:
        reason = org.find_decline_reason(str(draft.get("reason") or ""))
        needed = reason is not None and reason.note
        text = t(lang, "opinion.decline_ask_note" if needed else "opinion.decline_ask_note_optional",
                 step=label, max=NOTE_MAX)
        rows = []
        if draft.get(NOTE):
            text = Html(text + "\n" + t(lang, "opinion.current", text=draft[NOTE]))
            rows.append([kb.button(t(lang, "opinion.keep"), cb.Op.KEEP.encode())])
        elif not needed:
            rows.append([kb.button(t(lang, "opinion.skip_note"), cb.Op.KEEP.encode())])
        await show(update, context, text, kb.markup([*rows, _nav(lang)]))
    elif step == D_REVIEW:
        text = t(lang, "opinion.decline_review", step=label, number=number, reason=_reason(org, draft, lang),
                 destination=_destination(org, draft, lang), note=draft.get(NOTE) or t(lang, "opinion.none"))
        edits = [kb.button(t(lang, f"opinion.edit_{s}"), cb.Op.EDIT.encode(s)) for s in (REASON, DEST, NOTE)]
        await show(update, context, text, kb.markup([
            [kb.button(t(lang, "opinion.submit"), cb.Op.SUBMIT.encode(draft["draft_id"]))], *kb.grid(edits),
            _nav(lang)]))


async def go(update: Update, context: Context, draft: Draft, step: str) -> str:
    """Save the draft at ``step`` (with this update's id), then ask that step's question."""
    draft["last_update_id"] = update.update_id
    await deps(context).opinion.save_draft(update.effective_user.id, step, draft)  # type: ignore[union-attr]
    await ask(update, context, step, draft)
    return step


def _after(step: str, draft: Draft) -> str:
    """The next step; back to the review when changing one part from there."""
    steps = _steps(draft)
    if draft.get("editing"):
        return steps[-1]
    return steps[steps.index(step) + 1]


def with_draft(fn: StepFn) -> Callable[..., Coroutine[Any, Any, str | int]]:
    """Load the draft; re-ask for a redelivered update; refusals answered politely."""

    @wraps(fn)
    async def wrapper(update: Update, context: Context, *values: object) -> str | int:
        await answer_query(update)
        user = update.effective_user
        if user is None:
            return ConversationHandler.END
        lang = await lang_of(update, context)
        found = await deps(context).opinion.get_draft(user.id)
        if found is None:
            await send(update, context, t(lang, "common.expired_button"))
            return ConversationHandler.END
        step, draft = found
        if int(draft.get("last_update_id") or 0) >= update.update_id:
            await ask(update, context, step, draft)
            return step
        try:
            return await fn(update, context, step, draft, *values)
        except StoreError as error:
            await send(update, context, error_text(lang, error))
            return step

    return wrapper


# ------------------------------------------------------------------ entries


async def _open(update: Update, context: Context, caller: tuple[Actor, str], number: str, action: Action,
                draft: Draft) -> str | int:
    """Check the act is possible now (scope, state), then start the form at its first step."""
    actor, lang = caller
    try:
        case = await deps(context).staff_work.check_action(actor, number, action)
    except StoreError as error:
        await send(update, context, error_text(lang, error))
        return ConversationHandler.END
    draft.update(number=case.number, draft_id=uuid.uuid4().hex)
    if action is Action.DECIDE:
        draft.setdefault(REQUEST, case.desired_outcome or case.subject)
        return await go(update, context, {"mode": "decide", **draft}, REQUEST)
    return await go(update, context, {"mode": "decline", **draft}, REASON)


def _words(update: Update, count: int) -> list[str]:
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    return text.split(maxsplit=count)[1:]


async def decide_command(update: Update, context: Context) -> str | int:
    """/decide <编号> [结果 意见]: the decision menu, or the form with the decision and the opinion filled in."""
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    words = _words(update, 3)
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
    words = _words(update, 2)
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


# -------------------------------------------------------------------- steps


@with_draft
async def on_text(update: Update, context: Context, step: str, draft: Draft) -> str | int:
    lang = await lang_of(update, context)
    text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    if step not in TEXT_STEPS:
        await send(update, context, t(lang, "opinion.button_expected"))
        await ask(update, context, step, draft)
        return step
    if not text:
        await send(update, context, t(lang, "opinion.text_empty"))
        return step
    if len(text) > TEXT_STEPS[step]:
        await send(update, context, t(lang, "opinion.too_long", max=TEXT_STEPS[step], length=len(text)))
        return step
    draft[step] = text
    return await go(update, context, draft, _after(step, draft))


@with_draft
async def on_keep(update: Update, context: Context, step: str, draft: Draft) -> str:
    """Keep the text shown (or, for an optional note, none)."""
    reason = deps(context).org.find_decline_reason(str(draft.get("reason") or ""))
    if step not in TEXT_STEPS or (not draft.get(step) and (step != NOTE or (reason is not None and reason.note))):
        return await go(update, context, draft, step)
    return await go(update, context, draft, _after(step, draft))


@with_draft
async def on_reason(update: Update, context: Context, step: str, draft: Draft, reason_id: str) -> str:
    org = deps(context).org
    reason = org.find_decline_reason(reason_id)
    if step != REASON or reason is None:  # an old or forged button: ask again
        await send(update, context, t(await lang_of(update, context), "opinion.button_expected"))
        return await go(update, context, draft, step)
    if reason.redirect and not org.destinations:
        await send(update, context, t(await lang_of(update, context), "opinion.no_destinations"))
        return await go(update, context, draft, step)
    draft["reason"] = reason.id
    draft.pop("editing", None)  # a new reason asks the destination (and the note) again
    return await go(update, context, draft, DEST)


@with_draft
async def on_destination(update: Update, context: Context, step: str, draft: Draft, destination: str) -> str:
    if step != DEST or deps(context).org.find_destination(destination) is None:
        await send(update, context, t(await lang_of(update, context), "opinion.button_expected"))
        return await go(update, context, draft, step)
    draft["dest"] = destination
    return await go(update, context, draft, _after(step, draft))


@with_draft
async def on_no_destination(update: Update, context: Context, step: str, draft: Draft) -> str:
    reason = deps(context).org.find_decline_reason(str(draft.get("reason") or ""))
    if step != DEST or reason is None or reason.redirect:
        await send(update, context, t(await lang_of(update, context), "opinion.button_expected"))
        return await go(update, context, draft, step)
    draft["dest"] = None
    return await go(update, context, draft, _after(step, draft))


@with_draft
async def on_edit(update: Update, context: Context, step: str, draft: Draft, part: str) -> str:
    if step not in (REVIEW, D_REVIEW) or part not in _steps(draft):
        return await go(update, context, draft, step)
    draft["editing"] = True
    return await go(update, context, draft, part)


@with_draft
async def on_back(update: Update, context: Context, step: str, draft: Draft) -> str:
    draft.pop("editing", None)
    steps = _steps(draft)
    if step in steps and step != steps[0]:
        return await go(update, context, draft, steps[steps.index(step) - 1])
    return await go(update, context, draft, step)


@with_draft
async def on_submit(update: Update, context: Context, step: str, draft: Draft, key: str) -> str | int:
    """出具: the one store call of the act, which checks every rule again (and may hold it for approval)."""
    lang = await lang_of(update, context)
    if step not in (REVIEW, D_REVIEW) or key != draft.get("draft_id"):
        await send(update, context, t(lang, "common.expired_button"))
        return await go(update, context, draft, step)
    d = deps(context)
    user = update.effective_user
    assert user is not None
    actor = d.cases.actor(user.id)
    if draft["mode"] == "decide":
        action = Action.DECIDE
        call = d.cases.act(actor, draft["number"], action, decision=Decision(draft["decision"]),
                           body=draft.get(OPINION), parts=OpinionParts(request=draft.get(REQUEST, ""),
                                                                       facts=draft.get(FACTS, ""),
                                                                       basis=draft.get(BASIS, "")))
    else:
        action = Action.DECLINE
        call = d.cases.act(actor, draft["number"], action, body=draft.get(NOTE) or None,
                           grounds=DeclineGrounds(reason=str(draft.get("reason") or ""), destination=draft.get("dest")))
    try:
        case = await call
    except StoreError as error:
        await send(update, context, error_text(lang, error))
        if error.code == "awaiting_approval" or error.code in ("not_found", "wrong_status", "draft_waiting"):
            await d.opinion.clear_draft(user.id)  # held for the leader, or nothing left to issue: the form ends
            return ConversationHandler.END
        return step  # a part to fix: the review stays, with its buttons
    await d.opinion.clear_draft(user.id)
    await show(update, context, menus.done_text(lang, d.org, actor, action, case))
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> int:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    await deps(context).opinion.clear_draft(user.id)
    await send(update, context, t(await lang_of(update, context), "opinion.cancelled"))
    return ConversationHandler.END


@with_draft
async def on_unexpected(update: Update, context: Context, step: str, draft: Draft) -> str:
    """A sticker, a file, a button of another step: a hint, and the question again."""
    lang = await lang_of(update, context)
    key = "opinion.text_expected" if step in TEXT_STEPS else "opinion.button_expected"
    await send(update, context, t(lang, key))
    await ask(update, context, step, draft)
    return step


def build() -> ConversationHandler:
    text = MessageHandler(PRIVATE_TEXT, on_text)
    back = cb.Op.BACK.handler(on_back)
    keep = cb.Op.KEEP.handler(on_keep)
    review = [cb.Op.SUBMIT.handler(on_submit), cb.Op.EDIT.handler(on_edit), back]
    entries: list[BaseHandler] = [
        CommandHandler("decide", decide_command), CommandHandler("decline", decline_command),
        cb.Pr.DECIDE.handler(decide_tapped), cb.Pr.DECLINE.handler(decline_tapped),
    ]
    return user_conversation(
        Conversation.OPINION,
        entry_points=entries,
        states={
            REQUEST: [text, keep, back], FACTS: [text, keep, back], BASIS: [text, keep, back],
            OPINION: [text, keep, back], REVIEW: review,
            REASON: [cb.Op.REASON.handler(on_reason), back],
            DEST: [cb.Op.DEST.handler(on_destination), cb.Op.NO_DEST.handler(on_no_destination), back],
            NOTE: [text, keep, back], D_REVIEW: review,
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            cb.Op.CANCEL.handler(cancel),
            *entries,
            # Another command (/case to look something up) is handled as usual; the form waits.
            MessageHandler(PRIVATE & ~filters.COMMAND & ~filters.UpdateType.EDITED, on_unexpected),
            cb.Op.area.stale_handler(on_stale_in_form),
        ],
    )


async def on_stale_in_form(update: Update, context: Context) -> str | int:
    """A form button of another step or a forged one, while the form is open: a hint, the question again."""
    return await on_unexpected(update, context)


def stale_handler() -> BaseHandler:
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

