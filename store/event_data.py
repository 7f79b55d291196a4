"""What each journal event records beside its body (``events.data``), one model per action.

The journal keeps, for every action on a case, who, when, the status after, the
body and a small record of what the action decided: the due date an acceptance
set, the reason of a decline, the unit a case went to. That record is written
by the service that takes the action and read by the notices, the timelines,
the documents and the Mini App; before these models it was a dict read by key.

Written: ``StoreContext.event`` takes the model ``DATA`` declares for the action
(any other is a ``TypeError``, an unknown key a ``ValidationError``) and stores
what was set (``exclude_unset``), so a record says what its writer said and no
default it did not. Read: ``data_of(event, Model)``. The stored JSON is never
rewritten (the journal's hash is over it, ``store/journal.py``): an older
version's key a model no longer has is left aside when read, and a field added
later has a default.

Days are ``date`` here and ISO text in the stored JSON, as before. A field an action began
to record after its first release has a default, so its older events still read.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from store.models import Channel, Decision, Event, Rating, ReviewOutcome, ServedHow
from store.opinion import OpinionParts
from store.org import Destination, LocalizedText
from store.workflow import Action


class EventData(BaseModel):
    """The record of an action that records nothing of its own (a reply, a note, a comment, 催办)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------- the case's own acts (store/cases.py)


class ActData(EventData):
    """An act ``CaseService.act`` takes; one an approver signed (签发, store/approvals.py) says who."""

    approved_by: int | None = None
    approver: str | None = None


class AcceptData(ActData):
    """受理: the answer's due date of that moment (a later extension moves the case's, not this)."""

    answer_due: date


class DeclineData(ActData):
    """不予受理: the reason from ``[[decline_reasons]]`` (its text as on the day) and any destination."""

    reason: str | None = None  # None (and no text): declined before reasons were recorded
    reason_text: LocalizedText | None = None  # as ``[[decline_reasons]]`` said it that day
    reason_is_note: bool = False  # 其他: the officer's note is the reason the notice gives
    destination: Destination | None = None  # the ``[[destinations]]`` entry as it was that day


class AssignData(ActData):
    assignee_id: int
    assignee: str


class ExtendData(ActData):
    """延期: the days added and the new answer due date."""

    days: int
    answer_due: date


class DecideData(ActData):
    """处理意见: the decision and the opinion's parts (Art. 32); the opinion's text is the event's body."""

    decision: Decision
    parts: OpinionParts | None = None  # None: decided before the parts were recorded


class TransferData(ActData):
    from_unit: str
    to_unit: str


class AddInfoData(ActData):
    """补充材料: how many files came with it; ``reply``: in answer to staff's question; ``key``: the
    self-service form's idempotency key (store/selfservice.py), so a resent form adds nothing twice."""

    attachments: int = 0
    reply: bool = False
    key: str | None = None


class SubmitData(EventData):
    """The petitioner's submission; a discipline-line report about a unit's leadership names that unit."""

    attachments: int = 0
    reported_unit: str | None = None
    about_leadership: bool = False


class RegisterData(EventData):
    """登记: a letter, visit, call or transferred matter staff registered (store/ledger.py)."""

    attachments: int = 0
    channel: Channel | None  # None: as the case, the chat
    external_ref: str | None = None
    named: int = 0  # people named in the registration
    names_kept: int | None = None  # of them, the names kept (a confidential matter keeps none)
    people: int | None = None  # a collective petition's number of people
    received_on: date
    registered_by: int | None = None


class RevealData(EventData):
    reason: str


# ---------------------------------------------------------------- after the opinion (store/review.py)


class RateData(EventData):
    rating: Rating


class CloseData(EventData):
    """办结: why (satisfied, the opinion accepted, a window lapsed ...)."""

    reason: str


class RequestData(EventData):
    """复查 / 复核 asked for: the reviewing body's due date."""

    due: date


class ServeData(EventData):
    """送达: the day, how (chat or paper), and the petitioner's window it opened."""

    on: date
    how: ServedHow
    due: date


class StudyData(EventData):
    """集体研究 before a review opinion: the day and the leaders who took part."""

    on: date
    by: list[int]


class ReviewOpinionData(EventData):
    """复查 / 复核 opinion: the outcome, its parts and the study; a 责令重办 sets a new answer due date."""

    decision: ReviewOutcome
    parts: OpinionParts | None = None  # None: given before the parts (and the study) were recorded
    study: StudyData | None = None
    answer_due: date | None = None
    final: bool = False  # 复核: 不再受理


class HearingData(EventData):
    """听证 scheduled: the review clock stops on ``stopped``."""

    on: date
    place: str
    level: int
    stopped: date


class HearingEndData(EventData):
    """The hearing held or cancelled: the days the clock stood, and the review's due date before and after."""

    how: Literal["held", "cancelled"]
    days: int
    due: date | None = None
    was: date | None = None
    hearing: int


class FlagData(EventData):
    """Something the system noticed: a collective petition (an alert), possible repeats, or a review
    the company cannot hold itself (the body to turn to)."""

    collective: int | None = None
    reason: str | None = None
    people: int | None = None
    candidates: list[str] | None = None
    review_external: int | None = None
    body: str | None = None


class AckAlertData(EventData):
    alert: int


class EscalateData(EventData):
    """A deadline passed (a stage's, or a supervision order's): who was told."""

    to: list[int]
    level: str
    due: date
    overdue: int
    stage: str | None = None
    supervision: int | None = None
    by: int | None = None


# ---------------------------------------------------------------- supervision (store/supervision.py)


class SuperviseData(EventData):
    """督办: the order and its day; one the sweep raised says why and how often."""

    supervision: int
    due: date
    by: int | None = None
    reason: Literal["transfers", "repeats"] | None = None
    count: int | None = None


class ProgressData(EventData):
    supervision: int | None = None


class FollowUpData(EventData):
    method: str


class LeadData(EventData):
    """领导包案: the leader in charge now, and before."""

    leader: int
    before: int | None = None


class RedoData(EventData):
    answer_due: date


class UnitData(EventData):
    """协办 named or ended: the co-handling unit."""

    unit: str


# ---------------------------------------------------------------- the rest


class IncidentData(EventData):
    incident: int
    level: int
    people: int | None = None


class CaseRefData(EventData):
    """关联 / 取消关联: the other case."""

    case: str


class MergeData(EventData):
    into: str


class JoinData(EventData):
    duplicate: str


class ImportData(EventData):
    line: int
    external: str
    status: str


class ClaimData(EventData):
    """认领: the petitioner's key, how many older codes it superseded, and what confirmed it."""

    petitioner: int
    superseded: int
    confirmed: Literal["code", "phone"] | None = None  # None: claimed before this was recorded


class InformData(EventData):
    """A petitioner without Telegram told by staff: the contact task, how, what."""

    task: int
    how: str
    notice: str
    petitioner: int


class CodesData(EventData):
    codes: int


class DraftData(EventData):
    """签发: a draft held for approval, or sent back; ``act`` is the action it holds."""

    draft: int
    act: str


class UnassignData(EventData):
    staff: int
    fields: list[str]


class RebindData(EventData):
    people: list[int]


class RepeatData(EventData):
    """重复信访 confirmed (the earlier case, how many, the later cases moved) or ruled out (``repeat_of`` None)."""

    repeat_of: str | None
    candidates: list[str] = []
    earlier: str | None = None
    count: int | None = None
    moved: list[str] = []
    was: str | None = None


class ReceptionNoteData(EventData):
    """领导接访: the session and booking, the day and the leader."""

    session_id: int
    booking_id: int
    day: date
    leader: str


#: The model of each action's record: a new action adds its line (tests/test_event_data.py holds every action to one).
DATA: dict[Action, type[EventData]] = {
    Action.SUBMIT: SubmitData,
    Action.ACCEPT: AcceptData,
    Action.DECLINE: DeclineData,
    Action.ASSIGN: AssignData,
    Action.REPLY: ActData,
    Action.NOTE: ActData,
    Action.EXTEND: ExtendData,
    Action.DECIDE: DecideData,
    Action.TRANSFER: TransferData,
    Action.WITHDRAW: ActData,
    Action.ADD_INFO: AddInfoData,
    Action.RECEPTION_NOTE: ReceptionNoteData,
    Action.RATE: RateData,
    Action.COMMENT: EventData,
    Action.CLOSE: CloseData,
    Action.REQUEST_REVIEW: RequestData,
    Action.SERVE: ServeData,
    Action.REVIEW_OPINION: ReviewOpinionData,
    Action.REQUEST_REREVIEW: RequestData,
    Action.REREVIEW_OPINION: ReviewOpinionData,
    Action.HEARING: HearingData,
    Action.HEARING_END: HearingEndData,
    Action.ESCALATE: EscalateData,
    Action.FLAG: FlagData,
    Action.ACK_ALERT: AckAlertData,
    Action.REVEAL: RevealData,
    Action.SUPERVISE: SuperviseData,
    Action.PROGRESS: ProgressData,
    Action.URGE: EventData,
    Action.FOLLOW_UP: FollowUpData,
    Action.LEAD: LeadData,
    Action.REDO: RedoData,
    Action.INCIDENT_OPEN: IncidentData,
    Action.INCIDENT_CLOSE: IncidentData,
    Action.COHANDLE: UnitData,
    Action.COHANDLE_OFF: UnitData,
    Action.LINK: CaseRefData,
    Action.UNLINK: CaseRefData,
    Action.MERGE: MergeData,
    Action.JOIN: JoinData,
    Action.IMPORT: ImportData,
    Action.REGISTER: RegisterData,
    Action.CLAIM: ClaimData,
    Action.INFORM: InformData,
    Action.CODES: CodesData,
    Action.DRAFT: DraftData,
    Action.DRAFT_RETURNED: DraftData,
    Action.UNASSIGN: UnassignData,
    Action.REBIND: RebindData,
    Action.REPEAT: RepeatData,
}

D = TypeVar("D", bound=EventData)


def stored_data(action: Action, data: EventData) -> dict[str, Any]:
    """What ``events.data`` holds for ``action``: the declared model's JSON, as its writer set it."""
    declared = DATA[action]
    if type(data) is not declared:
        raise TypeError(f"{action.value} records {declared.__name__}, not {type(data).__name__}")
    stored = data.model_dump(mode="json", exclude_unset=True)
    declared.model_validate(stored)  # what is journaled reads back, or it is not journaled
    return stored


def data_of(event: Event, model: type[D]) -> D:
    """An event's record, read by the model its action declares, as ``model`` (that model or one it extends).

    An event of an action this version does not know, or asked for as the wrong model, is a
    ``TypeError``: a reader names the record it expects.
    """
    return record_of(event.action, event.data, model)


def record_of(action: str, stored: dict[str, Any], model: type[D]) -> D:
    """``data_of`` for a row read by SQL: its ``action`` and its ``data`` parsed."""
    try:
        declared = DATA[Action(action)]
    except ValueError:
        raise TypeError(f"an event of an unknown action {action!r}") from None
    if not issubclass(declared, model):
        raise TypeError(f"{action} records {declared.__name__}, not {model.__name__}")
    # A key the model no longer has (an older version's) is left aside: nothing reads it.
    read = declared.model_validate({key: value for key, value in stored.items() if key in declared.model_fields})
    assert isinstance(read, model)
    return read
