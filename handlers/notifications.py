"""Outbox rows rendered into messages, in the recipient's language.

The store records *that* someone must be told (kind, case, event); this
module decides *what* they read. Rendering happens at send time, so a
recipient who switches language meanwhile reads the new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from handlers import keyboards as kb
from handlers import reception, review
from handlers.i18n import Html, language_for, t
from handlers.render import case_card, category_name, split_text, unit_name
from store.models import Attachment, OutboxItem
from store.base import Store
from store.workflow import available_actions


@dataclass
class Outgoing:
    """One message to send: text with optional buttons, or a file to re-send."""

    text: Html | None = None
    markup: InlineKeyboardMarkup | None = None
    attachment: Attachment | None = None


PETITIONER_TEXTS = {
    "accept": "notify.accepted",
    "decline": "notify.declined",
    "reply": "notify.reply",
    "extend": "notify.extended",
    "decide": "notify.decided",
    "transfer": "notify.transferred",
    "withdraw": "notify.withdrawn",
}

HEADERS = {"submit": "staff.new_case", "transfer": "staff.transferred_case", "assign": "staff.assigned_case"}


def _files(lang: str, number: str, files: list[Attachment]) -> list[Outgoing]:
    """Files re-sent by their Telegram file_id, each captioned with its case and place."""
    return [
        Outgoing(attachment=a, text=t(lang, "staff.attachment_caption", number=number, n=n, total=len(files)))
        for n, a in enumerate(files, start=1)
    ]


async def render(item: OutboxItem, store: Store) -> list[Outgoing]:
    """The messages that deliver ``item``; empty if there is nothing left to say."""
    if item.kind.startswith(("rv_", "ld_")):
        return [Outgoing(text=text, markup=markup) for text, markup in await review.render(item, store)]
    lang = language_for(await store.user_language(item.chat_id))
    if item.kind.startswith("reception_"):
        return [Outgoing(text=text, markup=markup) for text, markup in await reception.notice(item, store, lang)]
    case = await store.case_by_id(item.case_id) if item.case_id is not None else None
    event = await store.event(item.event_id) if item.event_id is not None else None
    if case is None:
        return []
    org = store.org
    if item.kind == "case_card":
        files = await store.attachments(case.id)
        header = t(lang, HEADERS.get(event.action if event else "submit", "staff.new_case"))
        parts = case_card(case, org, lang, header=header, attachments=len(files))
        out = [Outgoing(text=part) for part in parts]
        role = store.actor(item.chat_id).role
        out[-1].markup = kb.staff_card(
            lang, case.number, available_actions(case.status, role), canned=bool(org.canned_replies)
        )
        if event is not None and event.action == "submit":
            out += _files(lang, case.number, files)
        return out
    if item.kind == "receipt":  # the answer to Submit failed: the receipt comes this way
        return [Outgoing(text=t(lang, "intake.receipt", number=case.number, due=case.accept_due.isoformat()))]
    if item.kind == "group_new_case":
        return [Outgoing(text=t(lang, "staff.group_new_case", number=case.number,
                                category=category_name(org, case.category, lang),
                                unit=unit_name(org, case.unit, lang)))]
    if event is None:
        return []
    if item.kind == "petitioner_event":
        key = PETITIONER_TEXTS.get(event.action)
        if key is None:
            return [Outgoing(text=t(lang, "notify.generic", number=case.number, what=t(lang, f"event.{event.action}")))]
        body, *more = split_text(event.body or "")
        first = t(
            lang,
            key,
            number=case.number,
            due=str(event.data.get("answer_due") or case.answer_due or ""),
            reason=body,
            text=body,
            where=t(lang, "notify.where_else"),
            days=event.data.get("days", ""),
            decision=t(lang, f"decision.{event.data['decision']}") if "decision" in event.data else "",
            unit=unit_name(org, event.data.get("to_unit", case.unit), lang),
        )
        out = [Outgoing(text=first), *_continued(lang, more)]
        if event.action == "reply":
            # An officer's reply may be a question: the petitioner answers by replying, or with one tap.
            out[-1].text = Html(f"{out[-1].text}\n\n" + t(lang, "relay.hint_petitioner"))
            out[-1].markup = kb.markup([[kb.button(t(lang, "employee.reply"), f"pr:add:{case.number}")]])
        return out
    if item.kind == "staff_event":
        if event.action == "withdraw":
            return [Outgoing(text=t(lang, "staff.petitioner_withdrew", number=case.number))]
        files = [a for a in await store.attachments(case.id) if a.event_id == event.id]
        if event.body:
            parts = split_text(event.body)
            key = "staff.petitioner_replied" if event.data.get("reply") else "staff.petitioner_added"
            out = [Outgoing(text=t(lang, key, number=case.number, text=parts[0]))]
            out += [Outgoing(text=t(lang, "employee.staff_added_part", part=index, text=part))
                    for index, part in enumerate(parts[1:], start=2)]
        else:
            out = [Outgoing(text=t(lang, "employee.staff_files_added", number=case.number, count=len(files)))]
        out[-1].text = Html(f"{out[-1].text}\n\n" + t(lang, "relay.hint_staff"))
        return out + _files(lang, case.number, files)
    return []


def _continued(lang: str, parts: list[str]) -> list[Outgoing]:
    """The rest of a long text, one message per part (Telegram: 4,096 characters each)."""
    return [Outgoing(text=t(lang, "relay.continued", part=i, text=p)) for i, p in enumerate(parts, start=2)]
