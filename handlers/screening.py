"""Dispute screening (矛盾纠纷排查) in Telegram: the officers' filing, the leaders' roll-up, the notices.

``/dispute`` (and ``/screening`` for an officer) opens the screening menu of
the caller's unit: file a dispute, make the nil report (本期未发现矛盾纠纷)
with one tap and a confirmation, or update an open dispute (carried-over ones
included) with a new status and a note. Filing is a guided conversation, one
dispute at a time: type → subject → people → risk → status → person
responsible → next step → review, with a step counter, « 返回 and 取消 on
every step, and Submit once (the store keys it by the draft's id).

``/screening [period] [unit]`` for leaders and administrators: the units that
reported and those that did not, the disputes by type, risk and status, and
the high-risk list. The rules (who files for what, who reads what, carry-over)
are the store's (``store.screening``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from handlers import callbacks as cb
from handlers import keyboards as kb
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
from handlers.i18n import Html, t
from handlers.intake import visible
from handlers.refusals import answer_refusal, answers_refusals
from handlers.render import day, pack, unit_name
from store.conversations import Conversation
from store.errors import StoreError
from store.models import Actor, OutboxItem
from store.org import Organization, Role
from store.screening import (
    NEXT_STEP_MAX,
    NOTE_MAX,
    PEOPLE_MAX,
    RESPONSIBLE_MAX,
    SUBJECT_MAX,
    Dispute,
    DisputeIn,
    DisputeStatus,
    Register,
    ReportState,
    Risk,
    parse_period,
)
from store.services import Services

Rendered = list[tuple[Html, InlineKeyboardMarkup | None]]

# The filing conversation's steps, in order; then the update's two.
TYPE, SUBJECT, PEOPLE, RISK, STATUS, RESPONSIBLE, NEXT, REVIEW = (
    "type", "subject", "people", "risk", "status", "responsible", "next_step", "review")
STEPS = [TYPE, SUBJECT, PEOPLE, RISK, STATUS, RESPONSIBLE, NEXT, REVIEW]
U_STATUS, U_NOTE = "u_status", "u_note"
TEXT_LIMITS = {SUBJECT: SUBJECT_MAX, RESPONSIBLE: RESPONSIBLE_MAX, NEXT: NEXT_STEP_MAX, U_NOTE: NOTE_MAX}
OPEN_LISTED = 20  # open disputes offered for update in the menu
HIGH_LISTED = 15  # high-risk disputes listed in the roll-up


def type_name(org: Organization, type_id: str, lang: str) -> str:
    found = org.screening.find_type(type_id)
    return found.name.get(lang) if found else type_id


def risk_name(lang: str, risk: str) -> str:
    return str(t(lang, f"screening.risk_{risk}"))


def status_name(lang: str, status: str) -> str:
    return str(t(lang, f"screening.status_{status}"))


def dispute_line(org: Organization, dispute: Dispute, lang: str) -> Html:
    return t(lang, "screening.dispute_line", id=dispute.id, unit=unit_name(org, dispute.unit, lang),
             type=type_name(org, dispute.type, lang), subject=dispute.subject, people=dispute.people,
             risk=risk_name(lang, dispute.risk), status=status_name(lang, dispute.status))


# ------------------------------------------------------------- the roll-up


def _counts(lang: str, counts: dict[str, int], names: Callable[[str], str], order: list[str]) -> str:
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return str(t(lang, "screening.count_sep")).join(
        str(t(lang, "screening.count_item", name=names(k), count=counts[k])) for k in keys
    ) or str(t(lang, "common.none"))


def register_text(register: Register, org: Organization, lang: str) -> list[Html]:
    """/screening: short blocks, phone-sized; long lists are cut with a count of the rest."""
    sep = str(t(lang, "screening.name_sep"))
    reported = []
    for item in register.reported():
        name = unit_name(org, item.unit, lang)
        reported.append(str(t(lang, "screening.nil_mark", unit=name)) if item.state is ReportState.NIL else name)
    missing = [unit_name(org, item.unit, lang) for item in register.missing()]
    none = str(t(lang, "common.none"))
    carried = sum(1 for d in register.disputes if register.carried_over(d))
    blocks = [
        t(lang, "screening.rollup_title", period=register.period.label, units=len(register.units)),
        t(lang, "screening.rollup_units", reported=len(reported), reported_names=sep.join(reported) or none,
          missing=len(missing), missing_names=sep.join(missing) or none),
        t(lang, "screening.rollup_counts", total=len(register.disputes), carried=carried,
          by_type=_counts(lang, register.count_by("type"), lambda k: type_name(org, k, lang),
                          [x.id for x in org.screening.types]),
          by_risk=_counts(lang, register.count_by("risk"), lambda k: risk_name(lang, k), [r.value for r in Risk][::-1]),
          by_status=_counts(lang, register.count_by("status"), lambda k: status_name(lang, k),
                            [s.value for s in DisputeStatus])),
    ]
    high = register.high_risk()
    if high:
        lines = [t(lang, "screening.rollup_high", count=len(high))]
        lines += [dispute_line(org, d, lang) for d in high[:HIGH_LISTED]]
        if len(high) > HIGH_LISTED:
            lines.append(t(lang, "screening.more", count=len(high) - HIGH_LISTED))
        blocks.append(Html("\n".join(lines)))
    else:
        blocks.append(t(lang, "screening.rollup_no_high"))
    return pack(blocks)


def _period_and_unit(org: Organization, args: list[str]) -> tuple[str | None, str | None]:
    period = None
    words: list[str] = []
    for arg in args[:8]:
        if period is None and parse_period(org, arg) is not None:
            period = arg
        else:
            words.append(arg)
    return period, (" ".join(words)[:64] or None)


async def _register_refused(update: Update, context: Context, error: StoreError) -> None:
    """A roll-up refused (a period or unit it cannot take): the reason, then how to ask."""
    await answer_refusal(update, context, error)
    await send(update, context, t(await lang_of(update, context), "screening.usage",
                                  example=deps(context).screening.current_period().label))


@answers_refusals(on={StoreError: _register_refused})
async def screening(update: Update, context: Context) -> None:
    """/screening [period] [unit]: the roll-up for leaders and admins; an officer's screening menu."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    staff = d.org.staff_member(actor.id or 0)
    if staff is not None and staff.role is Role.OFFICER:
        await menu(update, context, actor, lang)
        return
    args = context.args or []
    period, unit = _period_and_unit(d.org, args)
    register = await d.screening.register(actor, period, unit)
    for message in register_text(register, d.org, lang):
        await send(update, context, message)


# --------------------------------------------------------------- the menu


@answers_refusals()
async def dispute_command(update: Update, context: Context) -> None:
    """/dispute: the caller's screening menu; /dispute <no.> <case number>: link the dispute to that petition."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    args = context.args or []
    if not args:
        await menu(update, context, actor, lang)
        return
    number = args[0].removeprefix("#")
    if len(args) != 2 or not number.isdigit() or len(number) > 12:
        await send(update, context, t(lang, "screening.usage_dispute"))
        return
    d = deps(context)
    dispute = await d.screening.link_case(actor, int(number), args[1][:40])
    await send(update, context, t(lang, "screening.linked", line=dispute_line(d.org, dispute, lang),
                                  number=dispute.case_number or ""))


async def menu(update: Update, context: Context, actor: Actor, lang: str, unit: str | None = None) -> None:
    d = deps(context)
    units = d.screening.filing_units(actor)
    if not units:
        await send(update, context, t(lang, "screening.no_units"))
        return
    if unit is None and len(units) > 1:
        buttons = [kb.button(unit_name(d.org, u, lang), cb.Sc.UNIT.encode(u)) for u in units]
        await show(update, context, t(lang, "screening.choose_unit", period=d.screening.current_period().label),
                   kb.markup(kb.grid(buttons)))
        return
    unit = unit or units[0]
    if unit not in units:
        await send(update, context, error_text(lang, StoreError("screening_not_yours")))
        return
    state = await d.screening.report_state(unit)
    disputes = await d.screening.open_disputes(actor, unit)
    lines = [t(lang, "screening.menu", unit=unit_name(d.org, unit, lang),
               period=d.screening.current_period().label, state=t(lang, f"screening.state_{state.value}"))]
    lines.append(t(lang, "screening.menu_open", count=len(disputes)) if disputes else t(lang, "screening.menu_none"))
    rows: list[list[InlineKeyboardButton]] = [[kb.button(t(lang, "screening.file"), cb.Sc.FILE.encode(unit))]]
    if state is ReportState.MISSING:
        rows[0].append(kb.button(t(lang, "screening.nil"), cb.Sc.NIL.encode(unit)))
    for dispute in disputes[:OPEN_LISTED]:
        label = t(lang, "screening.update_button", id=dispute.id, subject=dispute.subject[:18],
                  status=status_name(lang, dispute.status))
        rows.append([kb.button(label, cb.Sc.UPDATE.encode(dispute.id))])
    await show(update, context, Html("\n".join(lines)), kb.markup(rows))


async def on_unit(update: Update, context: Context, unit: str) -> None:
    await answer_query(update)
    caller = await staff_caller(update, context)
    if caller is not None:
        await menu(update, context, caller[0], caller[1], unit)


async def on_nil(update: Update, context: Context, unit: str) -> None:
    """本期无矛盾纠纷: one tap, then a confirmation."""
    await answer_query(update)
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    if unit not in d.screening.filing_units(actor):
        await send(update, context, error_text(lang, StoreError("screening_not_yours")))
        return
    await show(update, context, t(lang, "screening.nil_confirm", unit=unit_name(d.org, unit, lang),
                                  period=d.screening.current_period().label),
               kb.markup([[kb.button(t(lang, "common.yes"), cb.Sc.NIL_CONFIRMED.encode(unit)),
                           kb.button(t(lang, "common.back"), cb.Sc.UNIT.encode(unit))]]))


@answers_refusals()
async def on_nil_confirmed(update: Update, context: Context, unit: str) -> None:
    await answer_query(update)
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    fresh = await d.screening.nil_report(actor, unit)
    key = "screening.nil_done" if fresh else "screening.nil_already"
    await show(update, context, t(lang, key, unit=unit_name(d.org, unit, lang),
                                  period=d.screening.current_period().label))


# ------------------------------------------------------- the conversation


Draft = dict[str, Any]
StepFn = Callable[..., Awaitable[str | int]]


def step_label(lang: str, step: str) -> Html:
    return t(lang, "screening.step", n=STEPS.index(step) + 1, total=len(STEPS))


def _nav(lang: str, back: bool = True) -> list[InlineKeyboardButton]:
    return kb.nav_row(lang, back=cb.Sc.BACK.encode() if back else None, cancel=cb.Sc.CANCEL.encode())


def _review_text(org: Organization, draft: Draft, lang: str) -> Html:
    return t(lang, "screening.review", step=step_label(lang, REVIEW), unit=unit_name(org, draft["unit"], lang),
             type=type_name(org, draft.get("type", ""), lang), subject=draft.get("subject", ""),
             people=draft.get("people", ""), risk=risk_name(lang, draft.get("risk", "low")),
             status=status_name(lang, draft.get("status", "screening")), responsible=draft.get("responsible", ""),
             next_step=draft.get("next_step", ""))


async def ask(update: Update, context: Context, step: str, draft: Draft) -> None:
    """Ask the question of ``step``, with « 返回 and 取消."""
    lang = await lang_of(update, context)
    org = deps(context).org
    if step == TYPE:
        buttons = [kb.button(x.name.get(lang), cb.Sc.TYPE.encode(x.id)) for x in org.screening.types]
        await show(update, context, t(lang, "screening.ask_type", step=step_label(lang, step),
                                      unit=unit_name(org, draft["unit"], lang)),
                   kb.markup([*kb.grid(buttons, 3), _nav(lang, back=False)]))
    elif step in (SUBJECT, PEOPLE, RESPONSIBLE, NEXT):
        await show(update, context, t(lang, f"screening.ask_{step}", step=step_label(lang, step),
                                      max=TEXT_LIMITS.get(step, PEOPLE_MAX)), kb.markup([_nav(lang)]))
    elif step == RISK:
        buttons = [kb.button(risk_name(lang, r.value), cb.Sc.RISK.encode(r.value)) for r in Risk]
        await show(update, context, t(lang, "screening.ask_risk", step=step_label(lang, step)),
                   kb.markup([buttons, _nav(lang)]))
    elif step in (STATUS, U_STATUS):
        buttons = [kb.button(status_name(lang, s.value), cb.Sc.STATUS.encode(s.value)) for s in DisputeStatus]
        if step == STATUS:
            text = t(lang, "screening.ask_status", step=step_label(lang, step))
        else:
            dispute = await deps(context).screening.dispute(deps(context).cases.actor(update.effective_user.id),  # type: ignore[union-attr]
                                                            int(draft["dispute_id"]))
            text = t(lang, "screening.ask_new_status", line=dispute_line(org, dispute, lang),
                     next_step=dispute.next_step)
        await show(update, context, text, kb.markup([*kb.grid(buttons), _nav(lang, back=step == STATUS)]))
    elif step == U_NOTE:
        await show(update, context, t(lang, "screening.ask_note", status=status_name(lang, draft["status"]),
                                      max=NOTE_MAX), kb.markup([_nav(lang)]))
    elif step == REVIEW:
        await show(update, context, _review_text(org, draft, lang),
                   kb.markup([[kb.button(t(lang, "screening.submit"), cb.Sc.SUBMIT.encode(draft["draft_id"]))],
                              _nav(lang)]))


async def go(update: Update, context: Context, draft: Draft, step: str) -> str:
    """Save the draft at ``step`` (with this update's id), then ask that step's question."""
    draft["last_update_id"] = update.update_id
    await deps(context).screening.save_draft(update.effective_user.id, step, draft)  # type: ignore[union-attr]
    await ask(update, context, step, draft)
    return step


def with_draft(fn: StepFn) -> Callable[..., Coroutine[Any, Any, str | int]]:
    """Load the draft; re-ask for a redelivered update; refusals answered politely."""

    @wraps(fn)
    async def wrapper(update: Update, context: Context, *values: object) -> str | int:
        await answer_query(update)
        user = update.effective_user
        if user is None:
            return ConversationHandler.END
        lang = await lang_of(update, context)
        found = await deps(context).screening.get_draft(user.id)
        if found is None:
            await send(update, context, t(lang, "common.expired_button"))
            return ConversationHandler.END
        step, draft = found
        if int(draft.get("last_update_id") or 0) >= update.update_id:
            await ask(update, context, step, draft)
            return step
        moved = await _run_step(update, context, fn, step, draft, *values)
        return step if moved is None else moved  # refused: the step stands

    return wrapper


@answers_refusals(None)
async def _run_step(update: Update, context: Context, fn: StepFn, step: str, draft: Draft,
                    *values: object) -> str | int | None:
    """The step's work; None after its refusal was answered."""
    return await fn(update, context, step, draft, *values)


async def _stay(update: Update, context: Context) -> str | int:
    """After a refused entry: the step of a filing already under way (kept as it is), else none."""
    found = await deps(context).screening.get_draft(update.effective_user.id)  # type: ignore[union-attr]
    return found[0] if found is not None else ConversationHandler.END


async def _refused_stay(update: Update, context: Context, error: StoreError) -> str | int:
    """A refused entry: the refusal, and the filing already under way stays where it was."""
    await answer_refusal(update, context, error)
    return await _stay(update, context)


async def _start(update: Update, context: Context, draft: Draft, step: str) -> str | int:
    return await go(update, context, draft, step)


async def on_file(update: Update, context: Context, unit: str) -> str | int:
    """填报: a new dispute for ``unit`` (from the request, the reminder or the menu)."""
    await answer_query(update)
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    actor, lang = caller
    d = deps(context)
    if unit not in d.screening.filing_units(actor):
        await send(update, context, error_text(lang, StoreError("screening_not_yours")))
        return await _stay(update, context)
    return await _start(update, context, {"mode": "file", "unit": unit, "draft_id": uuid.uuid4().hex}, TYPE)


@answers_refusals(on={StoreError: _refused_stay})
async def on_update(update: Update, context: Context, dispute_id: int) -> str | int:
    """A carried-over (or any open) dispute: a new status, then a note."""
    await answer_query(update)
    caller = await staff_caller(update, context)
    if caller is None:
        return ConversationHandler.END
    actor, lang = caller
    d = deps(context)
    dispute = await d.screening.dispute(actor, dispute_id)
    if dispute.unit not in d.screening.filing_units(actor):
        await send(update, context, error_text(lang, StoreError("screening_not_yours")))
        return await _stay(update, context)
    return await _start(update, context, {"mode": "update", "unit": dispute.unit, "dispute_id": dispute.id},
                        U_STATUS)


@with_draft
async def on_type(update: Update, context: Context, step: str, draft: Draft, type_id: str) -> str:
    if step != TYPE or deps(context).org.screening.find_type(type_id) is None:
        return await go(update, context, draft, step)
    draft["type"] = type_id
    return await go(update, context, draft, _after(TYPE, draft))


@with_draft
async def on_risk(update: Update, context: Context, step: str, draft: Draft, risk: str) -> str:
    if step != RISK:
        return await go(update, context, draft, step)
    draft["risk"] = risk
    return await go(update, context, draft, _after(RISK, draft))


@with_draft
async def on_status(update: Update, context: Context, step: str, draft: Draft, status: str) -> str:
    if step not in (STATUS, U_STATUS):
        return await go(update, context, draft, step)
    draft["status"] = status
    return await go(update, context, draft, U_NOTE if step == U_STATUS else _after(STATUS, draft))


def _after(step: str, draft: Draft) -> str:
    """The next step; back to the review when changing one field from there."""
    if draft.get("editing"):
        return REVIEW
    return STEPS[STEPS.index(step) + 1]


@with_draft
async def on_text(update: Update, context: Context, step: str, draft: Draft) -> str | int:
    lang = await lang_of(update, context)
    text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    if step == PEOPLE:
        if not text.isdigit() or not 1 <= int(text) <= PEOPLE_MAX:
            await send(update, context, t(lang, "screening.people_invalid", max=PEOPLE_MAX))
            return step
        draft["people"] = int(text)
        return await go(update, context, draft, _after(step, draft))
    if step not in TEXT_LIMITS:
        await send(update, context, t(lang, "screening.button_expected"))
        await ask(update, context, step, draft)
        return step
    if not visible(text):
        await send(update, context, t(lang, "screening.text_empty"))
        return step
    if len(text) > TEXT_LIMITS[step]:
        await send(update, context, t(lang, "screening.too_long", max=TEXT_LIMITS[step], length=len(text)))
        return step
    if step == U_NOTE:
        return await _save_update(update, context, draft, text, lang)
    draft[step] = text
    return await go(update, context, draft, _after(step, draft))


async def _save_update(update: Update, context: Context, draft: Draft, note: str, lang: str) -> int:
    d = deps(context)
    user = update.effective_user
    assert user is not None
    dispute = await d.screening.update(d.cases.actor(user.id), int(draft["dispute_id"]),
                                       DisputeStatus(draft["status"]), note)
    await d.screening.clear_draft(user.id)
    await send(update, context, t(lang, "screening.updated", line=dispute_line(d.org, dispute, lang)))
    return ConversationHandler.END


@with_draft
async def on_back(update: Update, context: Context, step: str, draft: Draft) -> str:
    draft.pop("editing", None)
    if step == U_NOTE:
        return await go(update, context, draft, U_STATUS)
    if step in STEPS and step != TYPE:
        return await go(update, context, draft, STEPS[STEPS.index(step) - 1])
    return await go(update, context, draft, step)


@with_draft
async def on_submit(update: Update, context: Context, step: str, draft: Draft, key: str) -> str | int:
    lang = await lang_of(update, context)
    if step != REVIEW or key != draft.get("draft_id"):
        await send(update, context, t(lang, "common.expired_button"))
        return await go(update, context, draft, step)
    d = deps(context)
    user = update.effective_user
    assert user is not None
    entry = DisputeIn.model_validate({k: draft.get(k) for k in DisputeIn.model_fields})
    dispute = await d.screening.file(d.cases.actor(user.id), draft["unit"], entry, submit_key=draft["draft_id"])
    await d.screening.clear_draft(user.id)
    await show(update, context, t(lang, "screening.filed", line=dispute_line(d.org, dispute, lang),
                                  period=dispute.period))
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> int:
    await answer_query(update)
    user = update.effective_user
    assert user is not None
    lang = await lang_of(update, context)
    await deps(context).screening.clear_draft(user.id)
    await show(update, context, t(lang, "screening.cancelled"))
    return ConversationHandler.END


@with_draft
async def on_unexpected(update: Update, context: Context, step: str, draft: Draft) -> str:
    """A sticker, a file, a command the step cannot use: a hint, and the question again."""
    lang = await lang_of(update, context)
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        await send(update, context, t(lang, "screening.command_in_step"))
    elif step in TEXT_LIMITS or step == PEOPLE:
        await send(update, context, t(lang, "screening.text_expected"))
    else:
        await send(update, context, t(lang, "screening.button_expected"))
    await ask(update, context, step, draft)
    return step


async def on_stale(update: Update, context: Context) -> None:
    lang = await lang_of(update, context)
    await answer_query(update, t(lang, "common.expired_button"))


def build() -> ConversationHandler:
    text = MessageHandler(PRIVATE_TEXT, on_text)
    back = cb.Sc.BACK.handler(on_back)
    return user_conversation(
        Conversation.SCREENING,
        entry_points=[cb.Sc.FILE.handler(on_file), cb.Sc.UPDATE.handler(on_update)],
        states={
            TYPE: [cb.Sc.TYPE.handler(on_type)],
            SUBJECT: [text, back],
            PEOPLE: [text, back],
            RISK: [cb.Sc.RISK.handler(on_risk), back],
            STATUS: [cb.Sc.STATUS.handler(on_status), back],
            RESPONSIBLE: [text, back],
            NEXT: [text, back],
            REVIEW: [cb.Sc.SUBMIT.handler(on_submit), back],
            U_STATUS: [cb.Sc.STATUS.handler(on_status)],
            U_NOTE: [text, back],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            cb.Sc.CANCEL.handler(cancel),
            cb.Sc.FILE.handler(on_file),
            cb.Sc.UPDATE.handler(on_update),
            MessageHandler(filters.ALL & PRIVATE & ~filters.UpdateType.EDITED, on_unexpected),
        ],
    )


def handlers() -> list[BaseHandler]:
    """The commands and the menu's buttons (outside the conversation)."""
    return [
        CommandHandler("screening", screening),
        CommandHandler("dispute", dispute_command),
        cb.Sc.UNIT.handler(on_unit),
        cb.Sc.NIL.handler(on_nil),
        cb.Sc.NIL_CONFIRMED.handler(on_nil_confirmed),
    ]


def stale_handler() -> BaseHandler:
    """After the conversation: a screening button whose step is gone (or forged data) gets a polite answer."""
    return cb.Sc.area.stale_handler(on_stale)


# ------------------------------------------------------------------ notices


async def ask_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sc_ask``: the period's request (then the reminder), with 填报 / 本期无矛盾纠纷."""
    p = item.params
    unit = str(p.get("unit", ""))
    if store.org.find_unit(unit) is None:
        return []
    key = "screening.remind_notice" if p.get("level") == "remind" else "screening.request_notice"
    text = t(lang, key, unit=unit_name(store.org, unit, lang), period=p.get("period", ""),
             day=day(str(p.get("request_day", "")), lang), days=p.get("days", 0))
    buttons = kb.markup([[kb.button(t(lang, "screening.file"), cb.Sc.FILE.encode(unit)),
                          kb.button(t(lang, "screening.nil"), cb.Sc.NIL.encode(unit))]])
    return [(text, buttons)]


async def overdue_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sc_overdue``: a unit has not reported, to its leaders."""
    p = item.params
    unit = str(p.get("unit", ""))
    if store.org.find_unit(unit) is None:
        return []
    return [(t(lang, "screening.overdue_notice", unit=unit_name(store.org, unit, lang), period=p.get("period", ""),
               day=day(str(p.get("request_day", "")), lang), days=p.get("days", 0)), None)]
