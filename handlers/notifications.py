"""Outbox rows rendered into messages, in the recipient's language.

The store records *that* someone must be told (a :class:`NoticeKind`, a
case, an event); this module decides *what* they read, with exactly one
renderer per kind in :data:`RENDERERS`. Rendering happens at send time, so a
recipient who switches language meanwhile reads the new one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from handlers import (
    approvals,
    documents,
    hearing,
    incidents,
    links,
    media,
    reception_common,
    review,
    screening,
    staffing,
    supervision,
)
from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.i18n import Html, language_for, t
from handlers.render import case_card, category_name, day, pack, split_text, unit_name
from store import discipline
from store.document_kinds import DocumentKind
from store.documents import STEPS
from store.event_data import (
    AcceptData,
    ActData,
    AddInfoData,
    DecideData,
    DeclineData,
    EventData,
    ExtendData,
    RedoData,
    ReviewOpinionData,
    TransferData,
    data_of,
)
from store.ledger import ContactTask, InformHow
from store.models import Attachment, Case, Event, OutboxItem
from store.notices import PARAMS, NoticeKind, NoticeParams, TaskParams, TaskReminderParams, params_of
from store.services import Services
from store.workflow import Action


@dataclass
class Outgoing:
    """One message to send: text with optional buttons, or a file to re-send.

    ``file_name`` set: the file is sent as a copy under that neutral name,
    images without their metadata (a confidential case: ``handlers.media``).
    ``upload`` set: a file the bot made (a formal document), sent as a
    document with ``text`` as its caption.
    """

    text: Html | None = None
    markup: InlineKeyboardMarkup | None = None
    attachment: Attachment | None = None
    file_name: str | None = None
    upload: documents.Upload | None = None


PETITIONER_TEXTS = {
    "accept": "notify.accepted",
    "decline": "notify.declined",
    "reply": "notify.reply",
    "extend": "notify.extended",
    "decide": "notify.decided",
    "transfer": "notify.transferred",
    "withdraw": "notify.withdrawn",
    "redo": "notify.redo",
}

#: A report's notices in the discipline wording (store/discipline.py).
DISCIPLINE_TEXTS = {"accept": "discipline.accepted", "decide": "discipline.feedback"}

HEADERS = {"submit": "staff.new_case", "transfer": "staff.transferred_case", "assign": "staff.assigned_case",
           "register": "ledger.new_registered_case"}


def _files(lang: str, case: Case, files: list[Attachment], every: list[Attachment]) -> list[Outgoing]:
    """Files re-sent by their Telegram file_id, each captioned with its case and place.

    A confidential case's named files (documents, videos, audio) go as copies
    named by their place among all the case's files (``every``): 材料-3.pdf.
    """
    place = {a.id: n for n, a in enumerate(every, start=1)}
    return [
        Outgoing(
            attachment=a,
            text=t(lang, "staff.attachment_caption", number=case.number, n=n, total=len(files)),
            file_name=media.neutral_name(lang, place.get(a.id, n), a)
            if media.needs_neutral_copy(case.confidential, a) else None,
        )
        for n, a in enumerate(files, start=1)
    ]


class UnknownNotice(ValueError):
    """An outbox row of a kind this version has no renderer for, or whose params its kind's model cannot read
    (a newer or a corrupt row).

    Retrying cannot help; the sender sets the row aside as failed and goes on.
    """


async def render(item: OutboxItem, store: Services) -> list[Outgoing]:
    """The messages that deliver ``item``; empty if there is nothing left to say.

    Raises :class:`UnknownNotice` when no renderer knows the row's kind, or its params do not read.
    """
    try:
        kind = NoticeKind(item.kind)
        renderer = RENDERERS[kind]
    except (ValueError, KeyError):
        raise UnknownNotice(f"no renderer for outbox kind {item.kind!r}") from None
    if kind in PARAMS:
        try:
            params_of(kind, item.params, NoticeParams)
        except ValueError as error:  # pydantic's ValidationError is one
            raise UnknownNotice(f"unreadable params of outbox kind {item.kind!r}") from error
    lang = language_for(await store.cases.user_language(item.chat_id))
    return await renderer(item, store, lang)


Renderer = Callable[[OutboxItem, Services, str], Awaitable[list[Outgoing]]]


Pairs = list[tuple[Html, InlineKeyboardMarkup | None]]


def _messages(render_pairs: Callable[[OutboxItem, Services, str], Awaitable[Pairs]]) -> Renderer:
    """A renderer of (text, buttons) pairs, as ``review`` and ``reception`` write them, as :class:`Outgoing`."""
    async def renderer(item: OutboxItem, store: Services, lang: str) -> list[Outgoing]:
        return [Outgoing(text=text, markup=markup) for text, markup in await render_pairs(item, store, lang)]
    renderer.__name__ = render_pairs.__name__
    return renderer


async def document_notice(item: OutboxItem, store: Services, lang: str) -> list[Outgoing]:
    """``document``: the step's formal documents as PDF files (``handlers.documents``)."""
    made = await documents.document_notice(item, store, lang)
    return [Outgoing(text=caption, upload=upload) for caption, upload in made]


async def _case_and_event(item: OutboxItem, store: Services) -> tuple[Case | None, Event | None]:
    case = await store.cases.case_by_id(item.case_id) if item.case_id is not None else None
    event = await store.cases.event(item.event_id) if item.event_id is not None else None
    return case, event


async def case_card_notice(item: OutboxItem, store: Services, lang: str) -> list[Outgoing]:
    """``case_card``: the case with the buttons the recipient's role allows now (and, when new, its files)."""
    case, event = await _case_and_event(item, store)
    if case is None:
        return []
    org = store.org
    files = await store.cases.attachments(case.id)
    header = t(lang, HEADERS.get(event.action if event else "submit", "staff.new_case"))
    reader = store.cases.actor(item.chat_id)
    repeats = await store.repeats.candidates(reader, case)
    parts = case_card(case, org, lang, header=header, attachments=len(files),
                      warned=await store.supervision.card_state(case),
                      cohandler=store.cases.cohandles_only(reader, case), related=await store.links.related(reader, case),
                      repeats=repeats)
    out = [Outgoing(text=part) for part in parts]
    out[-1].markup = kb.staff_card(
        lang, case.number, store.cases.offered(reader, case), canned=bool(org.canned_replies), repeats=repeats
    )
    if event is not None and event.action in ("submit", "register"):
        out += _files(lang, case, files, files)
    return out


async def receipt_notice(item: OutboxItem, store: Services, lang: str) -> list[Outgoing]:
    """``receipt``: the case number, when the answer right after Submit could not be delivered."""
    case, _ = await _case_and_event(item, store)
    if case is None:
        return []
    return [Outgoing(text=t(lang, "intake.receipt", number=case.number, due=day(case.accept_due, lang)))]


async def group_notice(item: OutboxItem, store: Services, lang: str) -> list[Outgoing]:
    """``group_new_case``: one line to the unit's staff group, nothing confidential."""
    case, _ = await _case_and_event(item, store)
    if case is None:
        return []
    org = store.org
    return [Outgoing(text=t(lang, "staff.group_new_case", number=case.number,
                            category=category_name(org, case.category, lang),
                            unit=unit_name(org, case.unit, lang)))]


async def petitioner_notice(item: OutboxItem, store: Services, lang: str) -> list[Outgoing]:
    """``petitioner_event``: what happened to their case, to the petitioner."""
    case, event = await _case_and_event(item, store)
    if case is None or event is None:
        return []
    org = store.org
    key = PETITIONER_TEXTS.get(event.action)
    if key is not None and event.action in DISCIPLINE_TEXTS and discipline.on_line(org, case.category):
        key = DISCIPLINE_TEXTS[event.action]  # 检举控告: 受理 and 处理结果反馈 in the discipline wording
    if key is None:
        return [Outgoing(text=t(lang, "notify.generic", number=case.number, what=t(lang, f"event.{event.action}")))]
    body, *more = split_text(event.body or "")
    reason, where = body, t(lang, "notify.where_else")
    record = data_of(event, EventData)
    if isinstance(record, DeclineData) and record.reason_text is not None:
        # 诉访分离: the reason from the list, the officer's note, and where to turn with the address.
        said = body if record.reason_is_note else documents.reason_text(record.reason_text, lang)  # 其他: the note
        reason = t(lang, "opinion.notify_reason_note", reason=said, note=body) if body and said != body else said
        if record.destination is not None:
            where = t(lang, "opinion.notify_destination",
                      destination=documents.destination_line(record.destination, lang))
    due = record.answer_due if isinstance(record, AcceptData | ExtendData | RedoData | ReviewOpinionData) else None
    decision = record.decision if isinstance(record, DecideData | ReviewOpinionData) else None
    first = t(
        lang,
        key,
        number=case.number,
        due=day(due or case.answer_due or "", lang),
        reason=reason,
        text=body,
        where=where,
        days=record.days if isinstance(record, ExtendData) else "",
        decision=t(lang, f"decision.{decision.value}") if decision is not None else "",
        unit=unit_name(org, record.to_unit if isinstance(record, TransferData) else case.unit, lang),
    )
    if isinstance(record, ActData) and record.approved_by:  # 签发: only an approved act says so (store/approvals.py)
        first = Html(first + "\n" + t(lang, "approvals.approved_line"))
    out = [Outgoing(text=first), *_continued(lang, more)]
    if event.action == "reply":
        # An officer's reply may be a question: the petitioner answers by replying, or with one tap.
        out[-1].text = Html(f"{out[-1].text}\n\n" + t(lang, "relay.hint_petitioner"))
        out[-1].markup = kb.markup([[kb.button(t(lang, "employee.reply"), cb.Pr.ADD.encode(case.number))]])
    return out


async def staff_notice(item: OutboxItem, store: Services, lang: str) -> list[Outgoing]:
    """``staff_event``: what the petitioner added (text, files) or that they withdrew, to the staff."""
    case, event = await _case_and_event(item, store)
    if case is None or event is None:
        return []
    if event.action == "withdraw":
        return [Outgoing(text=t(lang, "staff.petitioner_withdrew", number=case.number))]
    every = await store.cases.attachments(case.id)
    files = [a for a in every if a.event_id == event.id]
    if event.body:
        parts = split_text(event.body)
        replied = event.action == Action.ADD_INFO and data_of(event, AddInfoData).reply
        key = "staff.petitioner_replied" if replied else "staff.petitioner_added"
        out = [Outgoing(text=t(lang, key, number=case.number, text=parts[0]))]
        out += [Outgoing(text=t(lang, "employee.staff_added_part", part=index, text=part))
                for index, part in enumerate(parts[1:], start=2)]
    else:
        out = [Outgoing(text=t(lang, "employee.staff_files_added", number=case.number, count=len(files)))]
    out[-1].text = Html(f"{out[-1].text}\n\n" + t(lang, "relay.hint_staff"))
    return out + _files(lang, case, files, every)


async def identity_revealed_notice(item: OutboxItem, store: Services, lang: str) -> list[Outgoing]:
    """``identity_revealed``: to the handling leaders, that (not to whom) a reporter's identity was revealed."""
    case, _ = await _case_and_event(item, store)
    if case is None:
        return []
    return [Outgoing(text=t(lang, "staff.reveal_notice", number=case.number))]


#: One renderer per outbox kind (a test checks that none is missing).
# ------------------------------------------------- contact tasks (store.ledger)
#
# A task's text is the notice the petitioner would have read in chat, rendered by
# that notice's own renderer: so the tasks' renderers live beside the table.

HOW_CODES = {"p": InformHow.PHONE, "l": InformHow.LETTER, "v": InformHow.IN_PERSON}
CODE_OF_HOW = {how: code for code, how in HOW_CODES.items()}


async def conveyed_text(task: ContactTask, store: Services) -> Html:
    """What the petitioner is to be told: the chat message they would have read, in Chinese, without buttons."""
    case = await store.cases.case_by_id(task.case_id)
    if case is None:
        return Html("")
    try:
        renderer = RENDERERS[NoticeKind(task.kind)]
    except (ValueError, KeyError):
        return Html("")
    plang = case.language or "zh"
    item = OutboxItem(id=0, chat_id=case.petitioner_id, kind=task.kind, case_id=task.case_id,
                      event_id=task.event_id, params=task.params, created_at=task.created_at,
                      due_at=task.created_at, attempts=0, progress=0)
    hint = str(t(plang, "relay.hint_petitioner"))
    texts = [str(o.text).replace(hint, "").strip() for o in await renderer(item, store, plang) if o.text]
    return Html("\n\n".join(text for text in texts if text))


async def _step_documents(task: ContactTask, store: Services) -> tuple[DocumentKind, ...]:
    """The formal documents the task's step issued: the officers have them to print, seal and mail."""
    if task.event_id is None:
        return ()
    event = await store.cases.event(task.event_id)
    if event is None:
        return ()
    try:
        return STEPS.get(Action(event.action), ())
    except ValueError:
        return ()


def how_buttons(lang: str, task: ContactTask) -> InlineKeyboardMarkup:
    return kb.markup([[
        kb.button(t(lang, f"ledger.done_{how.value}"), cb.Lg.DONE.encode(task.id, CODE_OF_HOW[how]))
        for how in InformHow
    ]])


def task_who(task: ContactTask, lang: str) -> Html:
    if task.confidential:
        return t(lang, "ledger.task_who_confidential")
    return t(lang, "ledger.task_who", name=task.name or "—", phone=task.phone or t(lang, "ledger.no_phone"))


async def task_text(
    task: ContactTask, store: Services, lang: str, *, header: str = "ledger.task_notice"
) -> list[Html]:
    """A contact task as blocks of a list (``listed``): what to tell (a reply may be long), papers, outcome."""
    blocks = [t(lang, header, number=task.number, who=task_who(task, lang), due=day(task.due_on, lang),
                text=await conveyed_text(task, store))]
    papers = await _step_documents(task, store)
    if papers:
        titles = str(t(lang, "ledger.task_documents_separator")).join(documents.title(kind, lang) for kind in papers)
        blocks.append(t(lang, "ledger.task_documents", titles=titles))
    if not task.is_open:
        how = t(lang, f"ledger.how_{task.done_how.value}") if task.done_how else ""
        key = "ledger.task_was_done" if task.done_at is not None else "ledger.task_was_superseded"
        blocks.append(t(lang, key, how=how))
    return blocks


def listed(blocks: list[Html], markup: InlineKeyboardMarkup | None = None) -> Pairs:
    """A notice that lists things, in as many messages as Telegram's limit needs (``render.pack``), buttons last."""
    parts = pack(blocks)
    return [(part, markup if n == len(parts) else None) for n, part in enumerate(parts, start=1)]


async def task_notice(item: OutboxItem, store: Services, lang: str) -> Pairs:
    """``lg_task``: a petitioner without Telegram is to be told this, to the staff handling the case."""
    task = await store.ledger.task_by_id(params_of(item.kind, item.params, TaskParams).task)
    if task is None:
        return []
    return listed(await task_text(task, store, lang), how_buttons(lang, task) if task.is_open else None)


async def task_reminder_notice(item: OutboxItem, store: Services, lang: str) -> Pairs:
    """``lg_task_remind``: an open contact task is due today, or overdue."""
    reminder = params_of(item.kind, item.params, TaskReminderParams)
    task = await store.ledger.task_by_id(reminder.task)
    if task is None or not task.is_open:
        return []
    header = "ledger.task_overdue" if reminder.level == "overdue" else "ledger.task_due"
    return listed(await task_text(task, store, lang, header=header), how_buttons(lang, task))


async def claim_by_code_notice(item: OutboxItem, store: Services, lang: str) -> Pairs:
    """``lg_claimed``: a case was claimed by its code alone (no phone was registered to confirm the person)."""
    if item.case_id is None:
        return []
    case = await store.cases.case_by_id(item.case_id)
    if case is None:
        return []
    return [(t(lang, "policy.claim_by_code_staff", number=case.number),
             kb.markup([[kb.button(case.number, cb.St.OPEN.encode(case.number))]]))]


RENDERERS: dict[NoticeKind, Renderer] = {
    NoticeKind.CASE_CARD: case_card_notice,
    NoticeKind.RECEIPT: receipt_notice,
    NoticeKind.GROUP_NEW_CASE: group_notice,
    NoticeKind.PETITIONER_EVENT: petitioner_notice,
    NoticeKind.STAFF_EVENT: staff_notice,
    NoticeKind.RATING_ASKED: _messages(review.rating_notice),
    NoticeKind.REVIEW_PETITIONER: _messages(review.petitioner_review_notice),
    NoticeKind.REVIEW_STAFF: _messages(review.staff_review_notice),
    NoticeKind.REVIEW_CARD: _messages(review.review_card_notice),
    NoticeKind.HEARING: _messages(hearing.hearing_notice),
    NoticeKind.REMINDER: _messages(review.reminder_notice),
    NoticeKind.ESCALATION: _messages(review.reminder_notice),
    NoticeKind.LEADER_ALERT: _messages(review.alert_notice),
    NoticeKind.LEADER_DIGEST: _messages(review.digest_notice),
    NoticeKind.IDENTITY_REVEALED: identity_revealed_notice,
    NoticeKind.WARNING_LEVEL: _messages(supervision.warning_notice),
    NoticeKind.SUPERVISION_ORDER: _messages(supervision.order_notice),
    NoticeKind.SUPERVISION_PROGRESS: _messages(supervision.progress_notice),
    NoticeKind.SUPERVISION_URGE: _messages(supervision.urge_notice),
    NoticeKind.SUPERVISION_OVERDUE: _messages(supervision.overdue_notice),
    NoticeKind.LEAD_EVENT: _messages(supervision.lead_event_notice),
    NoticeKind.SCREENING_ASK: _messages(screening.ask_notice),
    NoticeKind.SCREENING_OVERDUE: _messages(screening.overdue_notice),
    NoticeKind.INCIDENT_OPENED: _messages(incidents.opened_notice),
    NoticeKind.INCIDENT_RAISED: _messages(incidents.raised_notice),
    NoticeKind.INCIDENT_CLOSED: _messages(incidents.closed_notice),
    NoticeKind.COHANDLE: _messages(supervision.cohandle_notice),
    NoticeKind.MERGED_PETITIONER: _messages(links.merged_notice),
    NoticeKind.JOINED_PETITIONER: _messages(links.joined_notice),
    NoticeKind.MERGE_STAFF: _messages(links.merge_staff_notice),
    NoticeKind.CONTACT_TASK: _messages(task_notice),
    NoticeKind.CONTACT_TASK_REMINDER: _messages(task_reminder_notice),
    NoticeKind.CLAIM_BY_CODE: _messages(claim_by_code_notice),
    NoticeKind.DOCUMENT: document_notice,
    NoticeKind.APPROVAL_ASKED: _messages(approvals.asked_notice),
    NoticeKind.APPROVAL_RETURNED: _messages(approvals.returned_notice),
    NoticeKind.STAFF_RETURNED: _messages(staffing.returned_notice),
    NoticeKind.RECEPTION_PUBLISHED: _messages(reception_common.published_notice),
    NoticeKind.RECEPTION_CHANGED: _messages(reception_common.changed_notice),
    NoticeKind.RECEPTION_PROMOTED: _messages(reception_common.promoted_notice),
    NoticeKind.RECEPTION_OUTCOME: _messages(reception_common.outcome_notice),
    NoticeKind.RECEPTION_SESSION_CANCELLED: _messages(reception_common.session_cancelled_notice),
    NoticeKind.RECEPTION_REMINDER: _messages(reception_common.reminder_notice),
}


def _continued(lang: str, parts: list[str]) -> list[Outgoing]:
    """The rest of a long text, one message per part (Telegram: 4,096 characters each)."""
    return [Outgoing(text=t(lang, "relay.continued", part=i, text=p)) for i, p in enumerate(parts, start=2)]
