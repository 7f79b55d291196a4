"""The kinds of outbox row: what someone must be told, named once.

The store queues a row of one of these kinds in the same transaction as the
change that causes it; ``handlers.notifications`` has exactly one renderer
per kind. The values are the strings already stored in ``outbox.kind``, so
they must never change: rows queued before an upgrade still render after it.
A kind that is no longer queued stays here until no database can hold it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict


class NoticeKind(StrEnum):
    # Cases (store.cases)
    CASE_CARD = "case_card"  # the case card with its buttons, to the staff responsible
    RECEIPT = "receipt"  # the case number, when the answer to Submit could not be delivered
    GROUP_NEW_CASE = "group_new_case"  # a one-line "new case" to the unit's staff group
    PETITIONER_EVENT = "petitioner_event"  # what happened to their case, to the petitioner
    STAFF_EVENT = "staff_event"  # what the petitioner added or did, to the staff

    # Review and the leaders' overview (store.review)
    RATING_ASKED = "rv_rate"  # rate the written opinion, to the petitioner
    REVIEW_PETITIONER = "rv_petitioner"  # review opinion or closing, to the petitioner
    REVIEW_STAFF = "rv_staff"  # a rating, comment or review opinion, to the staff
    REVIEW_CARD = "rv_review_card"  # a review request, to the reviewers
    HEARING = "rv_hearing"  # a 听证 scheduled, held or cancelled by the reviewing body, to the petitioner
    REMINDER = "rv_remind"  # a deadline comes or has passed, to the staff
    ESCALATION = "rv_escalate"  # a deadline long passed, to the level above
    LEADER_ALERT = "ld_alert"  # a collective petition, to the leaders
    LEADER_DIGEST = "ld_digest"  # the weekly figures, to the leaders
    IDENTITY_REVEALED = "identity_revealed"  # a confidential reporter's identity was revealed, to the handling leaders

    # Supervision (store.supervision)
    WARNING_LEVEL = "sv_warning"  # a case entered 警告, 严重警告 or 超期, to its officer (and leaders)
    SUPERVISION_ORDER = "sv_order"  # 督办: to the handling officer and the unit's leaders
    SUPERVISION_PROGRESS = "sv_progress"  # the handler's progress report, to the supervising leader
    SUPERVISION_URGE = "sv_urge"  # 催办, to the handler
    SUPERVISION_OVERDUE = "sv_overdue"  # no progress by the day: the handler, then the next level up
    LEAD_EVENT = "sv_lead_event"  # 领导包案: every event of the case, to the leader in charge
    COHANDLE = "sv_cohandle"  # 协办: a unit co-handles a case, to its officers (and the lead unit's handler)

    # Dispute screening (store.screening)
    SCREENING_ASK = "sc_ask"  # file the period's screening (the request, then the reminder), to the unit's officers
    SCREENING_OVERDUE = "sc_overdue"  # a unit has not reported, to its leaders
    # The group-incident plan (store.incidents); params name the incident, never a case row
    INCIDENT_OPENED = "ic_opened"  # an incident opened: its level's response group, with the checklist
    INCIDENT_RAISED = "ic_raised"  # its level went up: the new level's group, with the checklist
    INCIDENT_CLOSED = "ic_closed"  # closed with a summary: the leaders above and the admins

    # Linked and merged cases (store.links)
    MERGED_PETITIONER = "lk_merged"  # your matter was merged into another case, to the duplicate's petitioner
    JOINED_PETITIONER = "lk_joined"  # a related submission was joined to your matter, to the main's petitioner
    MERGE_STAFF = "lk_merge_staff"  # a case was merged into another, to the staff handling either
    # One ledger (store.ledger)
    CONTACT_TASK = "lg_task"  # a petitioner without Telegram is to be told this, to the staff handling the case
    CONTACT_TASK_REMINDER = "lg_task_remind"  # such a task is due or overdue, to the same staff
    CLAIM_BY_CODE = "lg_claimed"  # a case claimed by code alone (no phone registered), to its handler and leaders

    # Staff managed in chat (store.staffing)
    STAFF_RETURNED = "st_returned"  # a case went back to the unit's queue (its officer left or lost the unit), to its leaders

    # Approvals (store.drafts, store.approvals)
    APPROVAL_ASKED = "ap_ask"  # an officer's draft (不予受理, 延期, 处理意见) waits for approval (签发), to its approvers
    APPROVAL_RETURNED = "ap_returned"  # the approver sent the draft back for changes, to the officer who drafted it

    # Formal documents (store.documents): the step's PDF, to the petitioner and the handling officers
    DOCUMENT = "document"

    # Leader reception days (store.reception)
    RECEPTION_PUBLISHED = "reception_published"  # a session for the leader it was published for
    RECEPTION_CHANGED = "reception_changed"  # a booked session moved
    RECEPTION_PROMOTED = "reception_promoted"  # from the waiting list to a booked slot
    RECEPTION_OUTCOME = "reception_outcome"  # what the leader recorded
    RECEPTION_SESSION_CANCELLED = "reception_session_cancelled"
    RECEPTION_REMINDER = "reception_reminder"  # the day before, and hours before


#: Kinds told to a case's petitioner (``case.petitioner_id``): the ledger tells everyone who petitions
#: in the case (``store.ledger``: representatives, a merged duplicate's petitioners, people without Telegram).
PETITIONER_KINDS = frozenset({
    NoticeKind.RECEIPT, NoticeKind.PETITIONER_EVENT, NoticeKind.RATING_ASKED, NoticeKind.REVIEW_PETITIONER,
    NoticeKind.HEARING,
    # store.links: a merge told to everyone who petitions in the duplicate, and in the main case.
    NoticeKind.MERGED_PETITIONER, NoticeKind.JOINED_PETITIONER,
})

#: Kinds whose messages are about one case, so a private-chat reply to them
#: can be relayed to the other side of that case (``handlers.relay``).
REPLYABLE = frozenset({NoticeKind.CASE_CARD, NoticeKind.STAFF_EVENT, NoticeKind.PETITIONER_EVENT})


# ---------------------------------------------------------------- what a notice carries


class NoticeParams(BaseModel):
    """What a notice carries beside its chat, case and event (``outbox.params``).

    Checked when it is queued (``Outbox.queue`` takes the model its kind declares in ``PARAMS``, or params
    stored once that it validates) and typed when it is read (``params_of``). A row queued by an older
    version reads the same: the stored JSON is the model's. A row whose params do not read is set aside
    by the sender at once (``handlers.notifications.UnknownNotice``), as a row of an unknown kind is.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


class DraftParams(NoticeParams):
    """A draft waiting for approval (签发), or sent back."""

    draft: int


class TaskParams(NoticeParams):
    """A contact task (a petitioner without Telegram is to be told something)."""

    task: int


class TaskReminderParams(TaskParams):
    """An open contact task due today, or overdue."""

    level: Literal["due", "overdue"]


class AlertParams(NoticeParams):
    """A collective-petition alert, to a leader."""

    alert: int


class DocumentParams(NoticeParams):
    """The step's formal documents, to the petitioner or to the handling officers (to print and serve)."""

    kinds: list[str]  # DocumentKind values (a newer version's kind is left out when read: store.documents)
    to: Literal["petitioner", "officer"]


class ByParams(NoticeParams):
    """Who did it (a leader's 催办, a handler's progress report)."""

    by: int | None = None


class OrderParams(ByParams):
    """A supervision order (督办): its due day; one the sweep raised, why (transfers, repeats) and how often."""

    due: str
    reason: Literal["transfers", "repeats"] | None = None
    count: int | None = None


class OrderOverdueParams(ByParams):
    """An order without progress by its day: a reminder to the handler, then the level up."""

    level: Literal["remind", "escalate"]
    due: str
    overdue: int


class CohandleParams(ByParams):
    """A co-handling unit (协办) named: to its officers, or to the lead unit's handler."""

    unit: str
    role: Literal["cohandler", "lead"]


class LeadEventParams(NoticeParams):
    """An event of a case under a leader's charge; ``replaced``: the leader was replaced by another."""

    replaced: bool = False


class WarningParams(NoticeParams):
    """A case entered 警告, 严重警告 or 超期 (``store.supervision.WarningLevel``) for a stage's deadline."""

    level: Literal["notice", "warning", "serious", "overdue"]  # a store.supervision.WarningLevel above normal
    stage: str
    due: str
    used: int | None = None  # percent of the time limit used
    overdue: int = 0


class DeadlineParams(NoticeParams):
    """A deadline near or passed (``store.review.Level``: before, due, escalate0, escalate1) for a stage."""

    stage: str
    level: Literal["before", "due", "escalate0", "escalate1"]
    due: str
    overdue: int


class DigestParams(NoticeParams):
    """The week's figures in a leader's scope (Monday's digest)."""

    week: str
    received: int = 0
    decided: int = 0
    closed: int = 0
    overdue: int = 0
    long_running: int = 0
    repeats: int = 0
    alerts: int = 0


class MergedParams(NoticeParams):
    """A duplicate merged (并案): the main case it went into."""

    main: str


class MergeStaffParams(MergedParams):
    """A merge, to the staff of either case: the duplicate too, and who merged."""

    duplicate: str
    by: int | None = None


class IncidentParams(NoticeParams):
    """A group incident (群体性事件) of the plan."""

    incident: int


class IncidentLevelParams(IncidentParams):
    """An incident opened at, or raised to, a level: told to that level's response group."""

    level: int


class ScreeningParams(NoticeParams):
    """A unit's dispute screening (矛盾纠纷排查) of a period: its request, reminder or escalation."""

    period: str
    unit: str
    level: Literal["request", "remind", "escalate"]
    request_day: str
    days: int


class SessionParams(NoticeParams):
    """A reception session (published for a leader)."""

    session_id: int


class BookingParams(NoticeParams):
    """A reception booking (moved, promoted, its outcome, its session cancelled)."""

    booking_id: int


class ReminderParams(BookingParams):
    """A reminder of a booking: the day before, or hours before."""

    which: Literal["day", "hours"]


#: The kinds whose params are typed, and their model (stored without the fields left None, as before).
#: A kind missing here carries nothing (``stored_params`` refuses anything else).
PARAMS: dict[NoticeKind, type[NoticeParams]] = {
    NoticeKind.APPROVAL_ASKED: DraftParams,
    NoticeKind.APPROVAL_RETURNED: DraftParams,
    NoticeKind.CONTACT_TASK: TaskParams,
    NoticeKind.CONTACT_TASK_REMINDER: TaskReminderParams,
    NoticeKind.LEADER_ALERT: AlertParams,
    NoticeKind.SCREENING_ASK: ScreeningParams,
    NoticeKind.SCREENING_OVERDUE: ScreeningParams,
    NoticeKind.INCIDENT_OPENED: IncidentLevelParams,
    NoticeKind.INCIDENT_RAISED: IncidentLevelParams,
    NoticeKind.INCIDENT_CLOSED: IncidentParams,
    NoticeKind.MERGED_PETITIONER: MergedParams,
    NoticeKind.MERGE_STAFF: MergeStaffParams,
    NoticeKind.REMINDER: DeadlineParams,
    NoticeKind.ESCALATION: DeadlineParams,
    NoticeKind.LEADER_DIGEST: DigestParams,
    NoticeKind.SUPERVISION_ORDER: OrderParams,
    NoticeKind.SUPERVISION_PROGRESS: ByParams,
    NoticeKind.SUPERVISION_URGE: ByParams,
    NoticeKind.SUPERVISION_OVERDUE: OrderOverdueParams,
    NoticeKind.COHANDLE: CohandleParams,
    NoticeKind.LEAD_EVENT: LeadEventParams,
    NoticeKind.WARNING_LEVEL: WarningParams,
    NoticeKind.DOCUMENT: DocumentParams,
    NoticeKind.RECEPTION_PUBLISHED: SessionParams,
    NoticeKind.RECEPTION_CHANGED: BookingParams,
    NoticeKind.RECEPTION_PROMOTED: BookingParams,
    NoticeKind.RECEPTION_OUTCOME: BookingParams,
    NoticeKind.RECEPTION_SESSION_CANCELLED: BookingParams,
    NoticeKind.RECEPTION_REMINDER: ReminderParams,
}

P = TypeVar("P", bound=NoticeParams)


def stored_params(kind: NoticeKind, params: NoticeParams | dict[str, Any] | None) -> dict[str, Any]:
    """What ``outbox.params`` holds for a notice of ``kind``: its declared model's JSON; nothing for a kind
    that declares none (anything given is refused)."""
    declared = PARAMS.get(kind)
    if declared is None:
        if params:  # a kind that carries something declares what
            raise TypeError(f"{kind.value} declares no params model, yet was given {params!r}")
        return {}
    if isinstance(params, NoticeParams):
        if type(params) is not declared:
            raise TypeError(f"{kind.value} carries {declared.__name__}, not {type(params).__name__}")
        return params.model_dump(mode="json", exclude_none=True)
    # Params already stored once (a notice to a case's petitioner, passed on by the ledger): checked again.
    return declared.model_validate(params or {}).model_dump(mode="json", exclude_none=True)


def params_of(kind: str, stored: dict[str, Any], model: type[P]) -> P:
    """A notice's params, read by the model its kind declares, as ``model`` (that model or one it extends)."""
    declared = PARAMS.get(NoticeKind(kind))
    if declared is None or not issubclass(declared, model):
        raise TypeError(f"{kind} carries {declared.__name__ if declared else 'a plain dict'}, not {model.__name__}")
    # A key the model no longer has (an older version's) is left aside: it was never read.
    read = declared.model_validate({key: value for key, value in stored.items() if key in declared.model_fields})
    assert isinstance(read, model)
    return read
