"""签发 in chat: a draft's card to its approvers with 批准 / 退回修改, and the officer told of a return.

The store holds the draft (``store.drafts``) and does the act once approved
(``store.approvals``); these are its words and buttons.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers import opinion
from handlers.common import Context, Handler, answer_query, deps, show, staff_caller
from handlers.fallback import stale_button
from handlers.i18n import Html, t
from handlers.refusals import answers_refusals, unless_refused
from store.approvals import Draft
from store.models import OutboxItem
from store.notices import DraftParams, params_of
from store.services import Services

Pairs = list[tuple[Html, InlineKeyboardMarkup | None]]


def _what(draft: Draft, lang: str) -> Html:
    """The drafted act in words: 处理意见（解释说明）, 延期 10 日, 不予受理."""
    if draft.action.value == "decide" and draft.decision:
        return t(lang, "approvals.act_decide", decision=t(lang, f"decision.{draft.decision}"))
    if draft.action.value == "extend":
        return t(lang, "approvals.act_extend", days=draft.days or "")
    return t(lang, f"approvals.act_{draft.action.value}")


async def asked_notice(item: OutboxItem, store: Services, lang: str) -> Pairs:
    """``ap_ask``: the draft with its buttons, to an approver, while it still waits."""
    draft = await unless_refused(store.approvals.draft(params_of(item.kind, item.params, DraftParams).draft))
    if draft is None:
        return []
    case = await store.cases.case_by_id(draft.case_id)
    if case is None or draft.outcome is not None:
        return []
    author = store.org.staff_member(draft.drafted_by)
    detail = opinion.held_detail(draft, store.org, lang)  # the opinion's parts, or the decline's grounds
    text = t(lang, "approvals.asked", number=case.number, subject=case.subject, author=author.name if author else "—",
             what=_what(draft, lang), body=detail if detail is not None else draft.body or "")
    buttons = kb.markup([
        [kb.button(t(lang, "approvals.approve"), cb.Ap.APPROVE.encode(draft.id)),
         kb.button(t(lang, "approvals.return"), cb.Ap.RETURN.encode(draft.id))],
        [kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(case.number))],
    ])
    return [(text, buttons)]


async def returned_notice(item: OutboxItem, store: Services, lang: str) -> Pairs:
    """``ap_returned``: to the officer who drafted it."""
    draft = await unless_refused(store.approvals.draft(params_of(item.kind, item.params, DraftParams).draft))
    if draft is None:
        return []
    case = await store.cases.case_by_id(draft.case_id)
    if case is None:
        return []
    return [(t(lang, "approvals.returned", number=case.number, what=_what(draft, lang)),
             kb.markup([[kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(case.number))]]))]


@answers_refusals(how="show")
async def on_approve(update: Update, context: Context, draft_id: int) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    case = await deps(context).approvals.approve(actor, draft_id)
    await answer_query(update, str(t(lang, "approvals.approved_short")))
    await show(update, context, t(lang, "approvals.approved", number=case.number))


@answers_refusals(how="show")
async def on_return(update: Update, context: Context, draft_id: int) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    draft = await deps(context).approvals.return_draft(actor, draft_id)
    author = deps(context).org.staff_member(draft.drafted_by)
    await answer_query(update)
    await show(update, context, t(lang, "approvals.returned_done", number=draft.number,
                                  author=author.name if author else "—"))


def handlers() -> list[Handler]:
    return [cb.Ap.APPROVE.handler(on_approve), cb.Ap.RETURN.handler(on_return), cb.Ap.area.stale_handler(stale_button)]
