"""The store's records as pydantic models: what crosses the store's edge.

Handlers receive these and never see SQL rows, so a PostgreSQL store can hand
back the same objects.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from store.org import CategoryKind
from store.safetext import SafeText


class Status(StrEnum):
    SUBMITTED = "submitted"  # 登记
    ACCEPTED = "accepted"  # 受理
    DECLINED = "declined"  # 不予受理
    IN_PROGRESS = "in_progress"  # 办理中
    DECIDED = "decided"  # 已答复
    REVIEW = "review"  # 复查中
    REREVIEW = "rereview"  # 复核中
    CLOSED = "closed"  # 办结
    WITHDRAWN = "withdrawn"  # 撤回
    MERGED = "merged"  # 已合并: a duplicate closed into another case (store/links.py)


OPEN_STATUSES = frozenset(
    {Status.SUBMITTED, Status.ACCEPTED, Status.IN_PROGRESS, Status.REVIEW, Status.REREVIEW}
)


class Decision(StrEnum):
    SUPPORT = "support"  # 予以支持
    EXPLAIN = "explain"  # 解释说明
    REJECT = "reject"  # 不予支持


class ReviewOutcome(StrEnum):
    """The outcome of a 复查 or 复核 opinion on the opinion under review."""

    MAINTAIN = "maintain"  # 维持
    REVOKE = "revoke"  # 撤销
    CHANGE = "change"  # 变更
    REDO = "redo_ordered"  # 责令重办: the unit that decided handles it again


class ActorRole(StrEnum):
    PETITIONER = "petitioner"
    OFFICER = "officer"
    LEADER = "leader"
    ADMIN = "admin"
    SYSTEM = "system"


class Actor(BaseModel):
    """Who performs an action; staff roles come from the organisation file."""

    model_config = ConfigDict(frozen=True)

    id: int | None
    role: ActorRole
    name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in (ActorRole.OFFICER, ActorRole.LEADER, ActorRole.ADMIN)


SYSTEM = Actor(id=None, role=ActorRole.SYSTEM)


class FileKind(StrEnum):
    """What Telegram called a file (``attachments.kind``): how it is sent back, and how it is named."""

    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"
    VIDEO = "video"
    AUDIO = "audio"
    VIDEO_NOTE = "video_note"


class AttachmentIn(BaseModel):
    """A file the petitioner sent, as Telegram describes it."""

    kind: FileKind
    file_id: str
    file_unique_id: str | None = None
    file_name: SafeText | None = None
    mime_type: str | None = None
    size: int | None = None


class Attachment(AttachmentIn):
    id: int
    case_id: int
    event_id: int | None
    added_at: datetime


# Limits of what a petition may hold (Telegram lets bots download files up to 20 MB).
SUBJECT_MAX = 100
DETAILS_MAX = 4000
DESIRED_MAX = 500
ATTACHMENTS_MAX = 10
ATTACHMENT_BYTES_MAX = 20 * 1024 * 1024
PEOPLE_MAX = 10000


def new_key() -> str:
    """A draft's or a registration's key, which a case keeps as its submit key and a button carries.

    96 random bits in 16 URL-safe characters (a uuid4's hex, 32 characters, before migration
    0035): unique among any number of drafts an office will ever make, unguessable, and half the
    bytes in the case's row and in its unique index (docs/benchmarks.md, "Moments to the second").
    """
    return secrets.token_urlsafe(12)


class DraftData(BaseModel):
    """What the petitioner has entered so far; stored at every step."""

    # Identifies this draft's submission: a redelivered Submit carries it again.
    draft_id: str = Field(default_factory=new_key)
    category: str | None = None
    unit: str | None = None
    subject: SafeText | None = None
    details: SafeText | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)
    confidential: bool | None = None
    phone: SafeText | None = None
    people: int | None = None
    desired_outcome: SafeText | None = None
    # A report (检举控告) about the unit's leadership goes one discipline level higher (store/discipline.py).
    about_leadership: bool | None = None


class Draft(BaseModel):
    user_id: int
    step: str | None
    data: DraftData
    # The conversation's own state (what the chat shows, the last update applied):
    # kept next to the draft for the handler that wrote it, never read by the store.
    ui: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime


class Petitioner(BaseModel):
    """The submitting Telegram user, as far as the case needs to know."""

    id: int
    name: SafeText
    language: str | None = None
    username: str | None = None  # sealed with the identity of a confidential case, never stored in clear


class Rating(StrEnum):
    """The petitioner's rating of a written opinion (``cases.rating``)."""

    SATISFIED = "satisfied"  # 满意
    BASIC = "basic"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意
    NONE = "none"  # not rated within the window: closed by itself


class ServedHow(StrEnum):
    """How the latest written opinion reached the petitioner (送达, ``cases.served_how``)."""

    CHAT = "chat"  # read in the chat: served by itself
    IN_PERSON = "in_person"  # 当面送达
    POST = "post"  # 邮寄送达
    REFUSED = "refused"  # 拒收 (留置送达)


#: The ways an officer records a paper service (``/served``).
PAPER_SERVICE = (ServedHow.IN_PERSON, ServedHow.POST, ServedHow.REFUSED)


class Channel(StrEnum):
    """How a case came in (``cases.channel``): the chat, or a matter registered in the ledger (store/ledger.py)."""

    TELEGRAM = "telegram"  # submitted in the chat (every case before the ledger)
    LETTER = "letter"  # 来信
    VISIT = "visit"  # 来访
    CALL = "call"  # 来电
    ONLINE = "online"  # 网上: another online platform
    TRANSFER = "transfer"  # 转交办: transferred by another body, with its reference number


class Case(BaseModel):
    id: int
    number: str
    petitioner_id: int
    petitioner_name: str | None
    petitioner_phone: str | None
    confidential: bool
    pseudonym: str
    category: str
    kind: CategoryKind
    unit: str
    subject: str
    details: str
    people: int | None
    desired_outcome: str | None
    status: Status
    assignee_id: int | None
    decision: Decision | None
    rating: Rating | None
    submitted_at: datetime
    accepted_at: datetime | None
    decided_at: datetime | None
    closed_at: datetime | None
    accept_due: date
    answer_due: date | None
    extended_days: int
    language: str | None
    updated_at: datetime
    lead_id: int | None = None  # 领导包案: the leader in charge (store/supervision.py)
    # 协办: the co-handling units (store/supervision.py); the lead unit (主办) is ``unit``.
    cohandlers: list[str] = Field(default_factory=list)
    handle_limit: int | None = None  # the handling limit in days after a redo (重办); None: handle_days
    # After the written opinion: rating, review (复查) and re-review (复核).
    rating_due: date | None = None
    # 送达 of the latest opinion (store/review.py): the windows count from this day.
    served_on: date | None = None
    served_how: ServedHow | None = None
    rated_at: datetime | None = None
    review_request_due: date | None = None
    review_due: date | None = None
    reviewed_at: datetime | None = None
    review_decision: ReviewOutcome | Decision | None = None  # Decision: stored before 复查 outcomes
    rereview_request_due: date | None = None
    rereview_due: date | None = None
    rereviewed_at: datetime | None = None
    rereview_decision: ReviewOutcome | Decision | None = None
    review_level: int = 0
    final: bool = False
    # 听证 (store/review.py): the day a hearing was scheduled; the review clock stands still while set.
    clock_stopped_on: date | None = None
    # Repeat and collective petitions.
    repeat_of: str | None = None
    repeat_count: int = 0
    collective_alert: int | None = None
    # /merge (store/links.py): the case this duplicate was merged into (its id).
    merged_into: int | None = None
    # One ledger (store/ledger.py): how the case came in, and who registered it.
    channel: Channel = Channel.TELEGRAM
    external_ref: str | None = None  # 转交办: the transferring body's reference number
    received_on: date | None = None  # deadlines count from it (None: received when submitted)
    registered_by: int | None = None  # the staff member who registered it
    # The roster (store/roster.py): the employee the petitioner was verified as when filing (never if confidential).
    employee_no: str | None = None
    employee_unit: str | None = None  # their unit in the roster then

    @field_validator("cohandlers", mode="before")
    @classmethod
    def _units_from_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def identity_protected(self) -> bool:
        """Is the petitioner never to be identifiable by those handling it: a confidential case, or any
        report (检举控告), whatever the reporter chose (docs/confidentiality.md)?"""
        return self.confidential or self.kind is CategoryKind.REPORT


class Event(BaseModel):
    id: int
    case_id: int
    at: datetime
    actor_id: int | None
    actor_role: ActorRole
    action: str
    status_after: Status
    body: str | None
    data: dict[str, Any]  # as stored (the journal's hash covers it): read it with ``store.event_data.data_of``
    public: bool


class OutboxItem(BaseModel):
    id: int
    chat_id: int
    kind: str
    case_id: int | None
    event_id: int | None
    params: dict[str, Any]
    created_at: datetime
    due_at: datetime
    attempts: int
    progress: int


class Identity(BaseModel):
    """A confidential reporter's identity, as sealed at submission: for the identity custodian alone."""

    number: str
    telegram_id: int
    name: str | None = None
    username: str | None = None
    phone: str | None = None


class SubmitResult(BaseModel):
    case: Case
    created: bool  # False when the same submission was seen before


M = TypeVar("M", bound=BaseModel)


def row_to_model(model: type[M], row: Any) -> M:
    """Build a model from a sqlite3.Row, decoding JSON columns named in the model."""
    values = dict(row)
    for key in ("data", "params"):
        if key in values and isinstance(values[key], str):
            values[key] = json.loads(values[key])
    return model.model_validate(values)
