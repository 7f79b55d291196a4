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

from collections.abc import Callable, Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ConversationHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import (
    Context,
    ConvHandler,
    Handler,
    answer_query,
    deps,
    error_text,
    lang_of,
    send,
    show,
    staff_caller,
)
from handlers.forms import CHOICE, TEXT, Buttons, Form, Hint, Step, Turn
from handlers.forms import REVIEW as REVIEW_STEP
from handlers.i18n import Html, t
from handlers.refusals import answer_refusal, answers_refusals
from handlers.render import day, pack, unit_name
from store.conversations import Conversation
from store.errors import Refused, StoreError
from store.models import Actor, OutboxItem, new_key
from store.notices import ScreeningParams, params_of
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
STEPS = (TYPE, SUBJECT, PEOPLE, RISK, STATUS, RESPONSIBLE, NEXT, REVIEW)
U_STATUS, U_NOTE = "u_status", "u_note"
UPDATE_STEPS = (U_STATUS, U_NOTE)
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


async def _unit(turn: Turn[Draft]) -> Mapping[str, Any]:
    return {"unit": unit_name(turn.d.org, turn.data["unit"], turn.lang)}


async def _people_max(turn: Turn[Draft]) -> Mapping[str, Any]:
    return {"max": PEOPLE_MAX}


async def _dispute(turn: Turn[Draft]) -> Mapping[str, Any]:
    """The update's status question names the dispute as it stands."""
    d = turn.d
    dispute = await d.screening.dispute(d.cases.actor(turn.user_id), int(turn.data["dispute_id"]))
    return {"line": dispute_line(d.org, dispute, turn.lang), "next_step": dispute.next_step}


async def _status(turn: Turn[Draft]) -> Mapping[str, Any]:
    return {"status": status_name(turn.lang, turn.data["status"])}


async def _review(turn: Turn[Draft]) -> Mapping[str, Any]:
    org, draft, lang = turn.d.org, turn.data, turn.lang
    return {"unit": unit_name(org, draft["unit"], lang), "type": type_name(org, draft.get("type", ""), lang),
            "subject": draft.get("subject", ""), "people": draft.get("people", ""),
            "risk": risk_name(lang, draft.get("risk", "low")),
            "status": status_name(lang, draft.get("status", "screening")),
            "responsible": draft.get("responsible", ""), "next_step": draft.get("next_step", "")}


def _types(turn: Turn[Draft]) -> list[InlineKeyboardButton]:
    return [kb.button(x.name.get(turn.lang), cb.Sc.TYPE.encode(x.id)) for x in turn.d.org.screening.types]


def _risks(turn: Turn[Draft]) -> list[InlineKeyboardButton]:
    return [kb.button(risk_name(turn.lang, r.value), cb.Sc.RISK.encode(r.value)) for r in Risk]


def _statuses(turn: Turn[Draft]) -> list[InlineKeyboardButton]:
    return [kb.button(status_name(turn.lang, s.value), cb.Sc.STATUS.encode(s.value)) for s in DisputeStatus]


async def _pick_type(turn: Turn[Draft], type_id: str) -> None:
    if turn.d.org.screening.find_type(type_id) is None:
        raise Hint("screening.button_expected")
    turn.data["type"] = type_id


async def _pick_risk(turn: Turn[Draft], risk: str) -> None:
    turn.data["risk"] = risk


async def _pick_status(turn: Turn[Draft], status: str) -> None:
    turn.data["status"] = status


def _people(turn: Turn[Draft], text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= PEOPLE_MAX:
        raise Hint("screening.people_invalid", max=PEOPLE_MAX)
    return int(text)


async def _save_update(turn: Turn[Draft]) -> int:
    """The update's note typed: the new status and the note recorded at once."""
    d, draft = turn.d, turn.data
    dispute = await d.screening.update(d.cases.actor(turn.user_id), int(draft["dispute_id"]),
                                       DisputeStatus(draft["status"]), draft[U_NOTE])
    await turn.finish()
    await turn.say("screening.updated", line=dispute_line(d.org, dispute, turn.lang))
    return ConversationHandler.END


async def _file(turn: Turn[Draft]) -> int:
    d, draft = turn.d, turn.data
    entry = DisputeIn.model_validate({k: draft.get(k) for k in DisputeIn.model_fields})
    dispute = await d.screening.file(d.cases.actor(turn.user_id), draft["unit"], entry, submit_key=draft["draft_id"])
    await turn.finish()
    await show(turn.update, turn.context, t(turn.lang, "screening.filed", line=dispute_line(d.org, dispute, turn.lang),
                                            period=dispute.period))
    return ConversationHandler.END


def _text(name: str, limit: int) -> Step:
    return Step(name, TEXT, f"screening.ask_{name}", limit=limit)


FORM: Form[Draft] = Form(
    Conversation.SCREENING,
    texts="screening",
    buttons=Buttons(back=cb.Sc.BACK, cancel=cb.Sc.CANCEL, submit=cb.Sc.SUBMIT),
    steps=[
        Step(TYPE, CHOICE, "screening.ask_type", params=_unit, options=_types, columns=3,
             choices={cb.Sc.TYPE: _pick_type}),
        _text(SUBJECT, SUBJECT_MAX),
        Step(PEOPLE, TEXT, "screening.ask_people", params=_people_max, parse=_people),
        Step(RISK, CHOICE, "screening.ask_risk", options=_risks, columns=len(Risk), choices={cb.Sc.RISK: _pick_risk}),
        Step(STATUS, CHOICE, "screening.ask_status", options=_statuses, choices={cb.Sc.STATUS: _pick_status}),
        _text(RESPONSIBLE, RESPONSIBLE_MAX),
        _text(NEXT, NEXT_STEP_MAX),
        Step(REVIEW, REVIEW_STEP, "screening.review", params=_review),
        # Updating an open dispute: a new status, then the note, recorded as soon as it is typed.
        Step(U_STATUS, CHOICE, "screening.ask_new_status", params=_dispute, options=_statuses, into="status",
             choices={cb.Sc.STATUS: _pick_status}),
        Step(U_NOTE, TEXT, "screening.ask_note", params=_status, limit=NOTE_MAX, then=_save_update),
    ],
    order=lambda draft: UPDATE_STEPS if draft.get("mode") == "update" else STEPS,
    submit=_file,
    cancel_in_place=True,
    commands_wait=False,  # a command gets a hint: the filing is under way
)


@FORM.staff_entry
async def on_file(update: Update, context: Context, actor: Actor, unit: str) -> str | int:
    """填报: a new dispute for ``unit`` (from the request, the reminder or the menu)."""
    if unit not in deps(context).screening.filing_units(actor):
        raise Refused("screening_not_yours")
    return await FORM.start(update, context, {"mode": "file", "unit": unit, "draft_id": new_key()}, TYPE)


@FORM.staff_entry
async def on_update(update: Update, context: Context, actor: Actor, dispute_id: int) -> str | int:
    """A carried-over (or any open) dispute: a new status, then a note."""
    d = deps(context)
    dispute = await d.screening.dispute(actor, dispute_id)
    if dispute.unit not in d.screening.filing_units(actor):
        raise Refused("screening_not_yours")
    return await FORM.start(update, context, {"mode": "update", "unit": dispute.unit, "dispute_id": dispute.id},
                            U_STATUS)


async def on_stale(update: Update, context: Context) -> None:
    lang = await lang_of(update, context)
    await answer_query(update, t(lang, "common.expired_button"))


def build() -> ConvHandler:
    return FORM.build(entry_points=[cb.Sc.FILE.handler(on_file), cb.Sc.UPDATE.handler(on_update)])


def handlers() -> list[Handler]:
    """The commands and the menu's buttons (outside the conversation)."""
    return [
        CommandHandler("screening", screening),
        CommandHandler("dispute", dispute_command),
        cb.Sc.UNIT.handler(on_unit),
        cb.Sc.NIL.handler(on_nil),
        cb.Sc.NIL_CONFIRMED.handler(on_nil_confirmed),
    ]


def stale_handler() -> Handler:
    """After the conversation: a screening button whose step is gone (or forged data) gets a polite answer."""
    return cb.Sc.area.stale_handler(on_stale)


# ------------------------------------------------------------------ notices


async def ask_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sc_ask``: the period's request (then the reminder), with 填报 / 本期无矛盾纠纷."""
    p = params_of(item.kind, item.params, ScreeningParams)
    unit = p.unit
    if store.org.find_unit(unit) is None:
        return []
    key = "screening.remind_notice" if p.level == "remind" else "screening.request_notice"
    text = t(lang, key, unit=unit_name(store.org, unit, lang), period=p.period, day=day(p.request_day, lang),
             days=p.days)
    buttons = kb.markup([[kb.button(t(lang, "screening.file"), cb.Sc.FILE.encode(unit)),
                          kb.button(t(lang, "screening.nil"), cb.Sc.NIL.encode(unit))]])
    return [(text, buttons)]


async def overdue_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sc_overdue``: a unit has not reported, to its leaders."""
    p = params_of(item.kind, item.params, ScreeningParams)
    if store.org.find_unit(p.unit) is None:
        return []
    return [(t(lang, "screening.overdue_notice", unit=unit_name(store.org, p.unit, lang), period=p.period,
               day=day(p.request_day, lang), days=p.days), None)]
