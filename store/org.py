"""The organisation file: units, categories, staff and time limits.

One TOML file describes the company the bot serves. It is read once at start,
validated completely (every problem is reported with its place, so an
administrator can fix the whole file in one go) and then used read-only, with
the unit tree indexed up front so routing questions are cheap.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import tomllib
from collections.abc import Iterable
from enum import StrEnum
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from store.document_kinds import FIELDS, REQUIRED, DocumentKind
from store.workdays import WorkCalendar

EXAMPLE_FILE = "example_org.toml"
PATH_SEPARATOR = " › "

_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CASE_PREFIX_PATTERN = re.compile(r"^[A-Z]{1,8}$")
_TOML_POSITION = re.compile(r"^(?P<msg>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$")
_REFERENCES_ERROR = "org_references"

Loc = tuple[str | int, ...]


class OrgError(Exception):
    """The organisation file cannot be used; `errors` lists every problem, one located line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _check_id(value: str) -> str:
    """Ids travel in Telegram button data (64 bytes at most), so keep them short and plain."""
    if not _ID_PATTERN.fullmatch(value):
        raise PydanticCustomError(
            "org_id", 'invalid id "{value}": use 1-32 letters, digits, "-" or "_"', {"value": value}
        )
    return value


Id = Annotated[str, AfterValidator(_check_id)]


class _Frozen(BaseModel):
    """Base for every section: unknown keys are errors (typos must not pass silently) and values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryKind(StrEnum):
    """The three kinds of petition matter of 《信访工作条例》 Art. 29-31."""

    SUGGESTION = "suggestion"  # 建议意见
    REPORT = "report"  # 检举控告: confidential, never shown to the unit reported on
    CLAIM = "claim"  # 申诉求决


class Role(StrEnum):
    """What a staff member may do: officers handle cases, leaders oversee and are escalated to, admins run the bot."""

    OFFICER = "officer"
    LEADER = "leader"
    ADMIN = "admin"


class LocalizedText(_Frozen):
    """A text in Chinese and/or English; a plain string in the file means Chinese."""

    zh: str | None = Field(default=None, min_length=1)
    en: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"zh": value}
        if not isinstance(value, dict):
            raise PydanticCustomError("localized_text", 'must be a string or a table {zh = "...", en = "..."}')
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.zh is None and self.en is None:
            raise PydanticCustomError("localized_text", "needs zh or en")
        return self

    def get(self, lang: str) -> str:
        """The text in `lang` (a Telegram language code: "en-US", "zh-hans"), else Chinese, else whatever exists."""
        wanted = {"zh": self.zh, "en": self.en}.get(lang.split("-")[0].lower())
        return wanted or self.zh or self.en or ""

    def __str__(self) -> str:
        return self.get("zh")


class ExternalBody(_Frozen):
    """A body outside the company, named in notices: ``[organization.review_body]`` and the like."""

    name: LocalizedText
    address: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, min_length=1, max_length=50)


class DestinationKind(StrEnum):
    """Where a declined petitioner is sent (诉访分离, Art. 21-22): the kinds of body a destination may be."""

    COURT = "court"  # 人民法院 (诉讼)
    LABOUR_ARBITRATION = "labour_arbitration"  # 劳动人事争议仲裁委员会
    ADMINISTRATIVE_REVIEW = "administrative_review"  # 行政复议机关
    PARTY_APPEAL = "party_appeal"  # 党员申诉 (the Party organisation or discipline body)
    OTHER_ORGAN = "other_organ"  # 其他有权处理的机关、单位


class Destination(_Frozen):
    """A ``[[destinations]]`` entry: a body a 不予受理告知书 may send the petitioner to, with its address."""

    id: Id
    kind: DestinationKind
    name: LocalizedText
    address: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, min_length=1, max_length=50)


class DeclineReason(_Frozen):
    """A ``[[decline_reasons]]`` entry: why a matter is not accepted (Art. 21-22).

    ``redirect``: the matter belongs elsewhere, so the notice must name a destination.
    ``note``: the officer must add a note (为 "其他" reasons, which say nothing by themselves).
    """

    id: Id
    text: LocalizedText
    redirect: bool = False
    note: bool = False


#: The reasons every organisation has unless its file lists its own (《信访工作条例》 Art. 21-22, 36).
DECLINE_REASONS = (
    DeclineReason(id="legal_channel", redirect=True, text=LocalizedText(
        zh="已经或者依法应当通过诉讼、仲裁、行政复议等法定途径解决",
        en="it has been or should be resolved through litigation, arbitration, administrative review"
           " or another legal channel")),
    DeclineReason(id="not_ours", redirect=True, text=LocalizedText(
        zh="不属于本单位职责范围", en="it is not within this unit's responsibilities")),
    DeclineReason(id="repeat", text=LocalizedText(
        zh="以同一事实和理由重复提出且已办结", en="it repeats a matter already concluded on the same facts and grounds")),
    DeclineReason(id="other", note=True, text=LocalizedText(zh="其他", en="other")),
)


class OrgInfo(_Frozen):
    """The `[organization]` table."""

    name: str = Field(min_length=1)
    case_prefix: str = "XF"
    timezone: str = "Asia/Shanghai"
    staff_chat_id: int | None = None
    # How people reach the petition office (a phone, a room): told when something cannot be done in the chat.
    contact: str | None = Field(default=None, max_length=200)
    # The bodies outside the company: who reviews (复查/复核) the top unit's decisions
    # (《信访工作条例》 Art. 35-36: the 上一级), and the discipline body above the top
    # unit, for reports no discipline staff of the company may take (store/discipline.py).
    review_body: ExternalBody | None = None
    discipline_body: ExternalBody | None = None

    @field_validator("case_prefix")
    @classmethod
    def _check_case_prefix(cls, value: str) -> str:
        if not _CASE_PREFIX_PATTERN.fullmatch(value):
            raise PydanticCustomError(
                "case_prefix", 'must be 1-8 capital Latin letters, not "{value}"', {"value": value}
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError("time_zone", 'unknown time zone "{value}"', {"value": value}) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        """Deadlines are counted in calendar days of this zone."""
        return ZoneInfo(self.timezone)


class Limits(_Frozen):
    """Protection against flooding (the essay's 铁心: firm on order)."""

    submissions_per_day: int = Field(default=5, gt=0)
    messages_per_minute: int = Field(default=20, gt=0)
    # The bot-wide pace of sends; Telegram allows about 30 a second (more for some bots).
    bot_messages_per_second: float = Field(default=28, gt=0, le=1000)


class Deadlines(_Frozen):
    """Time limits in calendar days; defaults are those of 《信访工作条例》 (2022)."""

    accept_days: int = Field(default=15, gt=0)  # Art. 22-23
    handle_days: int = Field(default=60, gt=0)  # Art. 34
    max_extension_days: int = Field(default=30, ge=0)  # Art. 34; 0 allows no extension
    review_request_days: int = Field(default=30, gt=0)  # Art. 35
    review_days: int = Field(default=30, gt=0)  # Art. 35
    rereview_request_days: int = Field(default=30, gt=0)  # Art. 36
    rereview_days: int = Field(default=30, gt=0)  # Art. 36
    rating_days: int = Field(default=30, gt=0)
    redo_days: int = Field(default=30, gt=0)  # 重办: the new handling time after /redo
    # The limits above counted in working days instead (e.g. ["accept_days"]); the others
    # are calendar days, and one that ends on a rest day ends on the next working day.
    working_days: tuple[str, ...] = ()

    @field_validator("working_days")
    @classmethod
    def _check_working_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in DAY_LIMITS:
                raise PydanticCustomError(
                    "working_days", 'unknown limit "{name}"; one of {known}',
                    {"name": name, "known": ", ".join(DAY_LIMITS)},
                )
        return value


#: The limits of ``[deadlines]`` that are a number of days.
DAY_LIMITS = (
    "accept_days", "handle_days", "max_extension_days", "review_request_days", "review_days",
    "rereview_request_days", "rereview_days", "rating_days", "redo_days",
)


class Holiday(_Frozen):
    """One holiday of the State Council's notice: its rest days and the make-up working days."""

    name: str = Field(min_length=1)
    first: dt.date  # the first rest day
    last: dt.date  # the last rest day
    work: tuple[dt.date, ...] = ()  # weekend days worked instead (调休上班)

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if self.last < self.first:
            raise PydanticCustomError("holiday_order", "the last rest day is before the first", {})
        if (self.last - self.first).days > 31:
            raise PydanticCustomError("holiday_long", "a holiday of more than a month", {})
        return self

    def rest_days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _h(name: str, first: str, last: str, *work: str) -> Holiday:
    return Holiday(name=name, first=dt.date.fromisoformat(first), last=dt.date.fromisoformat(last),
                   work=tuple(dt.date.fromisoformat(w) for w in work))


#: The State Council's notice on the 2026 holidays (国办发明电, 2025-11-04).
HOLIDAYS_2026 = (
    _h("元旦", "2026-01-01", "2026-01-03", "2026-01-04"),
    _h("春节", "2026-02-15", "2026-02-23", "2026-02-14", "2026-02-28"),
    _h("清明节", "2026-04-04", "2026-04-06"),
    _h("劳动节", "2026-05-01", "2026-05-05", "2026-05-09"),
    _h("端午节", "2026-06-19", "2026-06-21"),
    _h("中秋节", "2026-09-25", "2026-09-27"),
    _h("国庆节", "2026-10-01", "2026-10-07", "2026-09-20", "2026-10-10"),
)


APPROVABLE = ("decline", "extend", "decide")


class Approvals(_Frozen):
    """The `[approvals]` table: the acts an officer drafts and a leader approves (签发) before they go out.

    ``acts`` names them: ``decline`` (不予受理), ``extend`` (延期), ``decide`` (处理意见书). The
    approver is the nearest leader up the unit tree from the handling unit. 复查 / 复核 opinions
    are given by the reviewing leaders themselves, who sign them. Default: none; the starter
    file (``petition-bot init``) asks for all three.
    """

    acts: tuple[Literal["decline", "extend", "decide"], ...] = ()


class Channels(_Frozen):
    """The `[channels]` table: what the chat itself is called where cases are counted by channel.

    ``telegram``: the name of this bot's channel in lists, cards, ``/stats``, the exports and the
    Mini App (default: the catalog's 网上（本平台）). Name it as the outside system you report to
    does (for example 网上信访（企业平台）), so the figures per channel reconcile with it. The other
    channels (来信, 来访, 来电, 网上, 转交办) keep the names of the 条例.
    """

    telegram: LocalizedText | None = None


class Calendar(_Frozen):
    """The `[calendar]` table: the holiday notices, as data (see store/workdays.py).

    The years the calendar covers are those of its holidays; outside them
    only Saturdays and Sundays are rest days.
    """

    holidays: tuple[Holiday, ...] = HOLIDAYS_2026

    def years(self) -> frozenset[int]:
        return frozenset(h.first.year for h in self.holidays)

    def work_calendar(self) -> WorkCalendar:
        return WorkCalendar.of(
            rest=(day for h in self.holidays for day in h.rest_days()),
            work=(day for h in self.holidays for day in h.work),
            years=self.years(),
        )


class Retention(_Frozen):
    """How long the store keeps what a case's record does not need (the `[retention]` table, docs/retention.md)."""

    sent_notices_days: int = Field(default=90, gt=0)  # sent outbox rows are deleted after this many days


class Monitoring(_Frozen):
    """Reminders, escalation, repeat and collective petitions, digest (the `[monitoring]` table).

    Optional; the defaults follow the regulations and common practice: a
    collective petition is one of 5 or more people (Art. 20 lets at most 5
    representatives speak for one).
    """

    remind_before_days: int = Field(default=3, ge=0)  # officers are reminded this many days before a deadline
    escalate_again_days: int = Field(default=5, gt=0)  # overdue: unit's leaders at once, next level this much later
    repeat_days: int = Field(default=180, gt=0)  # same petitioner, category and unit within: a repeat petition
    collective_people: int = Field(default=5, ge=2)  # distinct petitioners (or declared people): collective
    collective_hours: int = Field(default=72, gt=0)  # the window in which collective filings are counted
    long_running_days: int = Field(default=90, gt=0)  # open longer than this: listed in /alerts
    digest_weekday: int = Field(default=1, ge=1, le=7)  # weekly digest to leaders: 1 = Monday ... 7 = Sunday
    digest_hour: int = Field(default=9, ge=0, le=23)  # local hour of the weekly digest
    # Graded warnings: the share (%) of a case's current time limit used at which it
    # enters 预警, 警告 and 严重警告 (past the deadline it is 超期).
    warn_notice_pct: int = Field(default=50, gt=0, le=100)
    warn_warning_pct: int = Field(default=75, gt=0, le=100)
    warn_serious_pct: int = Field(default=90, gt=0, le=100)
    # 提级督办: a case transferred this many times, or the petitioner's repeat petition number
    # this many on the same matter, comes under supervision of the next level up (0: never).
    lift_transfers: int = Field(default=3, ge=0)
    lift_repeats: int = Field(default=3, ge=0)
    lift_days: int = Field(default=15, gt=0)  # progress on a lifted case is due this many days later

    @model_validator(mode="after")
    def _warning_thresholds_rise(self) -> Self:
        if not self.warn_notice_pct < self.warn_warning_pct < self.warn_serious_pct:
            raise PydanticCustomError(
                "warning_thresholds",
                "warn_notice_pct < warn_warning_pct < warn_serious_pct is required (50, 75, 90 by default)",
            )
        return self


class Unit(_Frozen):
    """A node of the unit tree; units without a parent are roots."""

    id: Id
    name: LocalizedText
    parent: str | None = None
    # Takes part in the dispute screening (矛盾纠纷排查). When no unit is so marked,
    # every unit with officers assigned to it takes part.
    screening: bool = False
    # The unit whose leaders review this unit's decisions (复查, Art. 35): a unit above it;
    # default the parent. The top unit's are reviewed by [organization.review_body].
    reviewed_by: str | None = None
    # How its formal documents name it and how a petitioner reaches it (store/documents.py): the formal
    # name (default: its name), the 文号's prefix (延油信字 → 延油信字〔2026〕15号; default: the first two
    # characters of its Chinese name and 信字), an address, a contact person and a phone.
    formal_name: str | None = Field(default=None, max_length=60)
    doc_prefix: str | None = Field(default=None, max_length=12)
    address: str | None = Field(default=None, max_length=120)
    contact: str | None = Field(default=None, max_length=30)
    phone: str | None = Field(default=None, max_length=30)

    @property
    def issuer(self) -> str:
        """The name its documents are issued under."""
        return self.formal_name or self.name.get("zh")

    @property
    def prefix(self) -> str:
        """The 文号's prefix (机关代字)."""
        return self.doc_prefix or f"{self.name.get('zh')[:2]}信字"


class Category(_Frozen):
    """What a petition is about; its kind decides confidentiality and the outcomes offered."""

    id: Id
    name: LocalizedText
    kind: CategoryKind


class Staff(_Frozen):
    """A person who works on petitions; units cover their whole subtrees."""

    telegram_id: int = Field(gt=0)
    name: str = Field(min_length=1)
    role: Role
    units: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    recuse_units: tuple[str, ...] = ()
    # The identity custodian: may /reveal a confidential reporter's identity,
    # journaled, with a reason. Nobody else, administrators included, can.
    custodian: bool = False
    # Discipline-inspection staff (纪检监察): the only people who take reports (检举控告) of
    # units below their own (store/discipline.py). Set in the file only, like the custodian.
    discipline: bool = False

    def takes_category(self, category_id: str) -> bool:
        """An empty category list means every category."""
        return not self.categories or category_id in self.categories


class CannedReply(_Frozen):
    """A ready answer offered to officers as a button."""

    id: Id
    text: LocalizedText


DOCUMENT_TEXT_MAX = 4000


def _check_document_text(value: str | None, info: ValidationInfo) -> str | None:
    """A document's text from the organisation file: only the placeholders its document has, and {text} where needed."""
    if value is None:
        return None
    kind = DocumentKind(str(info.field_name))
    try:
        named = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError:
        raise PydanticCustomError(
            "document_text", "unbalanced braces: write {pair} for a brace", {"pair": "{{ and }}"}
        ) from None
    unknown = sorted(named - FIELDS[kind])
    if unknown:
        raise PydanticCustomError(
            "document_text", "unknown placeholder {unknown}; this document has {known}",
            {"unknown": ", ".join(f"{{{n}}}" for n in unknown),
             "known": ", ".join(f"{{{n}}}" for n in sorted(FIELDS[kind]))},
        )
    missing = sorted(REQUIRED[kind] - named)
    if missing:
        raise PydanticCustomError(
            "document_text", "must contain {missing} (the reason or opinion recorded with the step)",
            {"missing": ", ".join(f"{{{n}}}" for n in missing)},
        )
    return value


DocumentText = Annotated[str, Field(min_length=1, max_length=DOCUMENT_TEXT_MAX)]


class DocumentTemplates(_Frozen):
    """The texts of the formal documents in one language (``[documents.zh]``), replacing the built-in ones.

    One key per document (``store.documents.DocumentKind``); a test checks they agree.
    """

    accepted: DocumentText | None = None
    declined: DocumentText | None = None
    extended: DocumentText | None = None
    opinion: DocumentText | None = None
    review: DocumentText | None = None
    rereview: DocumentText | None = None
    final: DocumentText | None = None

    _check = field_validator("*")(_check_document_text)

    def get(self, kind: str) -> str | None:
        value = getattr(self, kind, None)
        return value if isinstance(value, str) else None


class DocumentOverrides(_Frozen):
    """The optional ``[documents.zh]`` and ``[documents.en]`` tables."""

    zh: DocumentTemplates = DocumentTemplates()
    en: DocumentTemplates = DocumentTemplates()

    def text(self, lang: str, kind: str) -> str | None:
        """The organisation's own text of ``kind`` in ``lang``, if it has one."""
        return (self.en if lang == "en" else self.zh).get(kind)


class ReceptionRules(_Frozen):
    """The optional `[reception_rules]` table: how leader reception days (领导接访日) are booked."""

    cancel_hours_before: int = Field(default=2, ge=0)  # employees may cancel until this many hours before the start


RECEPTION_SLOTS_MAX = 200
RECEPTION_PLACE_MAX = 200


class ReceptionSession(_Frozen):
    """A `[[reception]]` entry: a leader receives employees (接访), at a place or visiting a unit (下访)."""

    id: Id
    leader: int = Field(gt=0)  # telegram_id of a leader or admin in [[staff]]
    date: dt.date
    start: dt.time
    end: dt.time
    place: str | None = Field(default=None, min_length=1, max_length=RECEPTION_PLACE_MAX)
    unit: str | None = None  # the unit visited (下访)
    slots: int = Field(gt=0, le=RECEPTION_SLOTS_MAX)

    @field_validator("start", "end")
    @classmethod
    def _whole_minutes(cls, value: dt.time) -> dt.time:
        if value.second or value.microsecond or value.tzinfo is not None:
            raise PydanticCustomError("reception_time", "use a local time in whole minutes, like 09:30")
        return value

    # "end must be after start" and "needs a place or a unit" are checked on the
    # file's data (``_reception_errors``), so they are reported with every other
    # problem in one pass, not only once this entry's fields are all valid.


class DisputeType(_Frozen):
    """A type of dispute in the screening register (劳资, 安全, 征地...)."""

    id: Id
    name: LocalizedText


DEFAULT_DISPUTE_TYPES = (
    DisputeType(id="labour", name=LocalizedText(zh="劳资", en="Wages and labour")),
    DisputeType(id="safety", name=LocalizedText(zh="安全", en="Safety")),
    DisputeType(id="land", name=LocalizedText(zh="征地", en="Land")),
    DisputeType(id="environment", name=LocalizedText(zh="环保", en="Environment")),
    DisputeType(id="restructuring", name=LocalizedText(zh="改制", en="Restructuring")),
    DisputeType(id="other", name=LocalizedText(zh="其他", en="Other")),
)


class ScreeningPeriod(StrEnum):
    MONTHLY = "monthly"
    WEEKLY = "weekly"


class Screening(_Frozen):
    """The optional `[screening]` table: the regular dispute screening (矛盾纠纷排查).

    Each period the officers of every taking-part unit are asked, on
    ``request_day`` (the day of the month, 1-28, or of the week, 1 = Monday ...
    7 = Sunday), to file the disputes found or a nil report; ``reminder_days``
    later without a report they are reminded, ``escalate_days`` after that the
    unit's leaders are told.
    """

    period: ScreeningPeriod = ScreeningPeriod.MONTHLY
    request_day: int = Field(default=1, ge=1, le=28)
    types: tuple[DisputeType, ...] = DEFAULT_DISPUTE_TYPES
    reminder_days: int = Field(default=3, gt=0, le=60)
    escalate_days: int = Field(default=3, gt=0, le=60)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.period is ScreeningPeriod.WEEKLY and self.request_day > 7:
            raise PydanticCustomError(
                "screening_day", "with period = \"weekly\", request_day is a weekday: 1 (Monday) to 7 (Sunday)"
            )
        if not self.types:
            raise PydanticCustomError("screening_types", "at least one [[screening.types]] entry is required")
        seen: set[str] = set()
        for item in self.types:
            if item.id in seen:
                raise PydanticCustomError("screening_types", 'duplicate type id "{id}"', {"id": item.id})
            seen.add(item.id)
        return self

    def find_type(self, type_id: str) -> DisputeType | None:
        return next((item for item in self.types if item.id == type_id), None)
INCIDENT_STEPS_MAX = 12
INCIDENT_STEP_CHARS = 100
INCIDENT_ROLES = ("officer", "leader")
_NOTIFY_ROLE = re.compile(r"^(?P<role>[a-z]+)@(?P<unit>.*)$")


class IncidentLevel(_Frozen):
    """An `[[incident_levels]]` entry: one level of the group-incident plan (群体性事件处置预案).

    Level 1 is the most serious and needs the most people; an incident takes
    the most serious level whose ``min_people`` its number of people reaches.
    ``notify`` is the level's response group: staff Telegram ids, or
    ``"leader@unit-id"`` / ``"officer@unit-id"`` for the people of that role
    assigned at that unit. ``steps`` is the checklist, each a text.
    """

    level: int = Field(ge=1, le=9)
    name: LocalizedText
    min_people: int = Field(ge=1)
    notify: tuple[int | str, ...] = ()
    steps: tuple[LocalizedText, ...] = ()


# Unit assessment (考核, store/assessment.py): the indicators an item may weigh, each with its direction.
# True: a penalty (the lower the rate, the better the score: 100 - rate); False: the rate itself.
ASSESSMENT_INDICATORS: dict[str, bool] = {
    "accepted_on_time_pct": False,  # 及时受理率
    "answered_on_time_pct": False,  # 按期答复率
    "satisfaction_pct": False,  # 满意率
    "participation_pct": False,  # 参评率
    "followup_pct": False,  # 回访率
    "repeat_pct": True,  # 重复信访率
    "redo_pct": True,  # 重办率
}

# The counts of what staff record that an item may weigh against a target (store/assessment_counts.py):
# work every unit taking part is expected to do in the period, so a zero is a zero, not "no data".
# True: the target is per unit taking part (a row covering several such units has the target of each);
# False: the target is per row, whatever its subunits.
ASSESSMENT_COUNTS: dict[str, bool] = {
    "screening_reports": True,  # 矛盾纠纷排查: reports filed (nil reports included), per unit taking part
    "receptions": False,  # 领导接访日: reception sessions held at the unit
}
ASSESSMENT_TARGET_MAX = 10_000


class AssessmentItem(_Frozen):
    """An ``[[assessment.items]]`` entry: an indicator of ``/stats``, or a count against a target; its weight.

    ``kind = "indicator"`` (the default) names ``indicator``; ``kind = "count"``
    names ``source`` (ASSESSMENT_COUNTS) and ``target``, the count that scores
    full marks in the assessment's period.
    """

    kind: Literal["indicator", "count"] = "indicator"
    indicator: str | None = None
    source: str | None = None
    target: float | None = Field(default=None, gt=0, le=ASSESSMENT_TARGET_MAX)
    weight: float = Field(gt=0, le=100)

    @field_validator("indicator")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in ASSESSMENT_INDICATORS:
            raise PydanticCustomError(
                "assessment_indicator", 'unknown indicator "{value}"; one of: {known}',
                {"value": value, "known": ", ".join(ASSESSMENT_INDICATORS)},
            )
        return value

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str | None) -> str | None:
        if value is not None and value not in ASSESSMENT_COUNTS:
            raise PydanticCustomError(
                "assessment_source", 'unknown count source "{value}"; one of: {known}',
                {"value": value, "known": ", ".join(ASSESSMENT_COUNTS)},
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.kind == "count":
            if self.source is None or self.target is None:
                raise PydanticCustomError("assessment_count", 'a kind = "count" item needs a source and a target')
            if self.indicator is not None:
                raise PydanticCustomError("assessment_count", 'a kind = "count" item has no indicator')
        else:
            if self.source is not None or self.target is not None:
                raise PydanticCustomError(
                    "assessment_count", 'source and target belong to a kind = "count" item'
                )
            if self.indicator is None:
                raise PydanticCustomError(
                    "assessment_indicator", 'an item needs an indicator, or kind = "count" with a source and a target'
                )
        return self

    @property
    def key(self) -> str:
        """The indicator's name, or the count's source: what the item weighs (each once in an assessment)."""
        return self.indicator if self.kind == "indicator" and self.indicator else str(self.source)

    @property
    def counts(self) -> bool:
        return self.kind == "count"


DEFAULT_ASSESSMENT_ITEMS = (
    AssessmentItem(indicator="accepted_on_time_pct", weight=25),
    AssessmentItem(indicator="answered_on_time_pct", weight=25),
    AssessmentItem(indicator="satisfaction_pct", weight=25),
    AssessmentItem(indicator="followup_pct", weight=15),
    AssessmentItem(indicator="repeat_pct", weight=10),
)


class Assessment(_Frozen):
    """The optional ``[assessment]`` table: the weighted items of the unit assessment (考核) and its period.

    The weights add up to 100; each indicator or count source appears once.
    ``period`` is the assessment's default period (``month``, ``quarter`` or
    ``year``, the one that contains today); a count item's ``target`` is for
    such a period.
    """

    period: str = "month"
    items: tuple[AssessmentItem, ...] = DEFAULT_ASSESSMENT_ITEMS

    @property
    def months(self) -> int:
        """The months of the assessment's period (a count item's target is for that many months)."""
        return {"month": 1, "quarter": 3, "year": 12}.get(self.period, 1)

    @property
    def count_sources(self) -> list[str]:
        """The count sources its items weigh (store/assessment_counts.py counts only those)."""
        return [str(item.source) for item in self.items if item.counts]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.period not in ("month", "quarter", "year"):
            raise PydanticCustomError("assessment_period", 'period is "month", "quarter" or "year"')
        if not self.items:
            raise PydanticCustomError("assessment_items", "at least one [[assessment.items]] entry is required")
        names = [item.key for item in self.items]
        for name in names:
            if names.count(name) > 1:
                raise PydanticCustomError("assessment_items", '"{name}" appears twice', {"name": name})
        total = sum(item.weight for item in self.items)
        if abs(total - 100) > 1e-6:
            raise PydanticCustomError(
                "assessment_weights", "the weights add up to {total}, not 100", {"total": f"{total:g}"}
            )
        return self


class Organization(_Frozen):
    """The whole organisation file, checked for consistency and indexed for fast look-ups."""

    organization: OrgInfo
    limits: Limits = Limits()
    deadlines: Deadlines = Deadlines()
    monitoring: Monitoring = Monitoring()
    retention: Retention = Retention()
    units: tuple[Unit, ...] = ()
    categories: tuple[Category, ...] = ()
    staff: tuple[Staff, ...] = ()
    canned_replies: tuple[CannedReply, ...] = ()
    reception_rules: ReceptionRules = ReceptionRules()
    reception: tuple[ReceptionSession, ...] = ()
    screening: Screening = Screening()
    incident_levels: tuple[IncidentLevel, ...] = ()
    documents: DocumentOverrides = DocumentOverrides()
    calendar: Calendar = Calendar()
    approvals: Approvals = Approvals()
    channels: Channels = Channels()
    assessment: Assessment = Assessment()
    decline_reasons: tuple[DeclineReason, ...] = Field(default=DECLINE_REASONS, min_length=1)
    destinations: tuple[Destination, ...] = ()

    _workdays: WorkCalendar = PrivateAttr(default_factory=WorkCalendar)
    _units: dict[str, Unit] = PrivateAttr(default_factory=dict)
    _categories: dict[str, Category] = PrivateAttr(default_factory=dict)
    _staff: dict[int, Staff] = PrivateAttr(default_factory=dict)
    _children: dict[str | None, tuple[Unit, ...]] = PrivateAttr(default_factory=dict)
    _ancestors: dict[str, tuple[Unit, ...]] = PrivateAttr(default_factory=dict)
    _subtrees: dict[str, frozenset[str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_and_index(self) -> Self:
        """Indexes are built only once the references are known to be sound (a cycle would never end)."""
        errors = _reference_errors(self.model_dump())
        if errors:
            details = "\n".join(_format(loc, msg) for loc, msg in errors)
            raise PydanticCustomError(_REFERENCES_ERROR, "{details}", {"details": details})
        self._build_indexes()
        return self

    def _build_indexes(self) -> None:
        self._workdays = self.calendar.work_calendar()
        self._units = {u.id: u for u in self.units}
        self._categories = {c.id: c for c in self.categories}
        self._staff = {s.telegram_id: s for s in self.staff}
        children: dict[str | None, list[Unit]] = {None: [], **{u.id: [] for u in self.units}}
        for unit in self.units:
            children[unit.parent].append(unit)
        self._children = {key: tuple(value) for key, value in children.items()}
        self._ancestors = {u.id: self._walk_up(u) for u in self.units}
        subtrees: dict[str, set[str]] = {u.id: set() for u in self.units}
        for unit_id, chain in self._ancestors.items():
            for ancestor in chain:
                subtrees[ancestor.id].add(unit_id)
        self._subtrees = {key: frozenset(value) for key, value in subtrees.items()}

    def _walk_up(self, unit: Unit) -> tuple[Unit, ...]:
        chain = [unit]
        while chain[-1].parent is not None:
            chain.append(self._units[chain[-1].parent])
        return tuple(chain)

    @property
    def workdays(self) -> WorkCalendar:
        """The working-day calendar of ``[calendar]``."""
        return self._workdays

    def due_date(self, start: dt.date, limit: str, days: int | None = None) -> dt.date:
        """The due date of the ``[deadlines]`` limit ``limit`` counted from ``start``: the one rule.

        ``days`` replaces the configured number (an extension, a redo's own
        limit), counted the same way as ``limit`` (calendar or working days).
        """
        count = int(getattr(self.deadlines, limit)) if days is None else days
        return self._workdays.due_date(start, count, working=limit in self.deadlines.working_days)

    def resumed_due(self, due: dt.date, limit: str, stopped: dt.date, resumed: dt.date) -> tuple[dt.date, int]:
        """The due date of ``limit`` after its clock stood still from ``stopped`` to ``resumed`` (听证).

        The days stopped are counted as ``limit`` counts (calendar or working
        days, ``[deadlines] working_days``): the new date and that number.
        """
        return self._workdays.resumed(due, stopped, resumed, working=limit in self.deadlines.working_days)

    def unit(self, unit_id: str) -> Unit:
        """The unit with this id; KeyError if the file has none (a stored case outlived its unit)."""
        return self._units[unit_id]

    def category(self, category_id: str) -> Category:
        """The category with this id; KeyError if the file has none."""
        return self._categories[category_id]

    def find_unit(self, unit_id: str) -> Unit | None:
        """The unit, or None: for ids that come from outside (button data, commands)."""
        return self._units.get(unit_id)

    def find_decline_reason(self, reason_id: str) -> DeclineReason | None:
        """A ``[[decline_reasons]]`` entry, or None: for ids that come from outside (button data, drafts)."""
        return next((r for r in self.decline_reasons if r.id == reason_id), None)

    def find_destination(self, destination_id: str) -> Destination | None:
        """A ``[[destinations]]`` entry, or None: for ids that come from outside (button data, drafts)."""
        return next((x for x in self.destinations if x.id == destination_id), None)

    def find_category(self, category_id: str) -> Category | None:
        """The category, or None: for ids that come from outside (button data, commands)."""
        return self._categories.get(category_id)

    def units_named(self, text: str) -> list[Unit]:
        """The units ``text`` means, as people type it: an id, or a Chinese or English name (any case)."""
        text = text.strip()
        unit = self.find_unit(text)
        if unit is not None:
            return [unit]
        wanted = text.casefold()
        return [u for u in self.units if wanted in {(u.name.zh or "").casefold(), (u.name.en or "").casefold()}]

    def find_unit_named(self, text: str) -> Unit | None:
        """The one unit ``text`` means (see :meth:`units_named`); None when unknown or ambiguous."""
        found = self.units_named(text)
        return found[0] if len(found) == 1 else None

    def find_category_named(self, text: str) -> Category | None:
        """A category by id, or by its Chinese or English name (any case); None when unknown or ambiguous."""
        text = text.strip()
        category = self.find_category(text)
        if category is not None:
            return category
        wanted = text.casefold()
        found = [c for c in self.categories if wanted in {(c.name.zh or "").casefold(), (c.name.en or "").casefold()}]
        return found[0] if len(found) == 1 else None

    def staff_member(self, telegram_id: int) -> Staff | None:
        """The staff entry of a Telegram user, or None for petitioners."""
        return self._staff.get(telegram_id)

    def children(self, unit_id: str) -> list[Unit]:
        """Direct subunits, in file order (the order menus show them)."""
        return list(self._children[unit_id])

    def roots(self) -> list[Unit]:
        """Units without a parent, in file order."""
        return list(self._children[None])

    def ancestors(self, unit_id: str) -> list[Unit]:
        """The unit itself first, then its parent, and so on up to its root."""
        return list(self._ancestors[unit_id])

    def subtree(self, unit_id: str) -> frozenset[str]:
        """Ids of the unit and every unit below it."""
        return self._subtrees[unit_id]

    def covers(self, staff: Staff, unit_id: str) -> bool:
        """True if the unit lies in the subtree of one of the staff member's units; admins cover everything."""
        chain = self._ancestors[unit_id]
        return staff.role is Role.ADMIN or any(u.id in staff.units for u in chain)

    def recused(self, staff: Staff, unit_id: str) -> bool:
        """True if the staff member must not see confidential reports about this unit (Art. 30)."""
        return any(u.id in staff.recuse_units for u in self._ancestors[unit_id])

    def reviewing_unit(self, unit_id: str, level: int = 1) -> str | None:
        """The unit whose leaders give the review (level 1, 复查) or re-review (level 2, 复核) of a decision
        taken at ``unit_id``; None when it is the body outside the company (``[organization.review_body]``).

        Each unit's decisions are reviewed by its ``reviewed_by`` unit, else its parent;
        the re-review by the reviewing unit's own reviewing unit (Art. 35-36).
        """
        found: str | None = unit_id
        for _ in range(level):
            if found is None:
                return None
            unit = self._units[found]
            found = unit.reviewed_by or unit.parent
        return found

    def screening_units(self) -> list[Unit]:
        """The units that take part in the dispute screening, in file order.

        Those marked ``screening = true``; when none is, every unit with an
        officer assigned to it.
        """
        marked = [u for u in self.units if u.screening]
        if marked:
            return marked
        assigned = {u for s in self.staff if s.role is Role.OFFICER for u in s.units}
        return [u for u in self.units if u.id in assigned]
    def incident_level(self, level: int) -> IncidentLevel | None:
        """The `[[incident_levels]]` entry of this level number, or None."""
        return next((entry for entry in self.incident_levels if entry.level == level), None)

    def incident_level_for(self, people: int) -> IncidentLevel | None:
        """The most serious level (lowest number) whose ``min_people`` ``people`` reaches; None below every level."""
        reached = [entry for entry in self.incident_levels if people >= entry.min_people]
        return min(reached, key=lambda entry: entry.level) if reached else None

    def incident_level_above(self, level: int) -> IncidentLevel | None:
        """The next more serious level than ``level`` (the nearest lower number), or None at the top."""
        above = [entry for entry in self.incident_levels if entry.level < level]
        return max(above, key=lambda entry: entry.level) if above else None

    def incident_group(self, level: IncidentLevel) -> list[int]:
        """The Telegram ids of a level's response group, in the file's order, each once."""
        found: list[int] = []
        for entry in level.notify:
            if isinstance(entry, int):
                found.append(entry)
                continue
            match = _NOTIFY_ROLE.fullmatch(entry)
            if match is None:
                continue
            found += [s.telegram_id for s in self.staff
                      if s.role.value == match["role"] and match["unit"] in s.units]
        return [i for i in dict.fromkeys(found) if i in self._staff]

    def unit_path(self, unit_id: str, lang: str) -> str:
        """The unit's place in the tree, root first: "集团总部 › 油田公司 › 第一采油厂"."""
        return PATH_SEPARATOR.join(u.name.get(lang) for u in reversed(self._ancestors[unit_id]))


# --- cross-reference checks -------------------------------------------------
#
# These run on plain data (the parsed TOML, or a valid model dumped), reading
# only values of the right type. So they still work on entries that failed
# validation elsewhere: a typo in one key of a staff entry does not hide an
# unknown unit in the same entry, and one bad unit does not turn every
# reference to it into an "unknown unit" error.

Problem = tuple[Loc, str]


def _entries(data: dict[str, Any], section: str) -> list[dict[str, Any]] | None:
    """The section's entries (non-tables as empty ones, to keep indexes); None if the section is not an array."""
    raw = data.get(section, [])
    if not isinstance(raw, list | tuple):
        return None
    return [entry if isinstance(entry, dict) else {} for entry in raw]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: Any) -> list[tuple[int, str]]:
    """The strings of an array with their indexes; other items are pydantic's to report."""
    items = value if isinstance(value, list | tuple) else []
    return [(i, v) for i, v in enumerate(items) if isinstance(v, str)]


def _reference_errors(data: dict[str, Any]) -> list[Problem]:
    units = _entries(data, "units")
    categories = _entries(data, "categories")
    unit_ids = {i for e in units or [] if (i := _text(e.get("id"))) is not None}
    category_ids = {i for e in categories or [] if (i := _text(e.get("id"))) is not None}
    canned = [(i, _text(e.get("id"))) for i, e in enumerate(_entries(data, "canned_replies") or [])]
    return [
        *_unit_errors(units, unit_ids),
        *_category_errors(categories),
        *_staff_errors(_entries(data, "staff") or [], unit_ids, category_ids),
        *_duplicates("canned_replies", "id", "canned reply id", canned),
        *_reception_errors(_entries(data, "reception") or [], _entries(data, "staff") or [], units),
        *_incident_errors(_entries(data, "incident_levels") or [], _entries(data, "staff") or [], unit_ids),
        *_approval_errors(data.get("approvals"), units or [], _entries(data, "staff") or []),
        *_duplicates("decline_reasons", "id", "decline reason id",
                     ((i, _text(e.get("id"))) for i, e in enumerate(_entries(data, "decline_reasons") or []))),
        *_duplicates("destinations", "id", "destination id",
                     ((i, _text(e.get("id"))) for i, e in enumerate(_entries(data, "destinations") or []))),
    ]


def _approval_errors(approvals: Any, units: list[dict[str, Any]], staff: list[dict[str, Any]]) -> list[Problem]:
    """Where acts need a leader's approval (签发), every unit has a leader at it or above it to give it."""
    acts = approvals.get("acts") if isinstance(approvals, dict) else None
    if not acts:
        return []
    parent = {_text(u.get("id")): _text(u.get("parent")) for u in units}
    led = {unit for member in staff if member.get("role") == Role.LEADER for _, unit in _texts(member.get("units"))}
    errors: list[Problem] = []
    for index, unit in enumerate(units):
        chain, at = [], _text(unit.get("id"))
        while at is not None and at not in chain:
            chain.append(at)
            at = parent.get(at)
        if not any(u in led for u in chain):
            errors.append((("units", index), f'no leader at "{chain[0]}" or above it to approve (签发) the acts '
                                             f"[approvals] names"))
    return errors


def _duplicates(section: str, field: str, what: str, keys: Iterable[tuple[int, Any]]) -> list[Problem]:
    """A located error for every entry repeating an earlier entry's key."""
    first: dict[Any, int] = {}
    errors: list[Problem] = []
    for index, key in keys:
        if key is None:
            continue
        if key in first:
            shown = f'"{key}"' if isinstance(key, str) else str(key)
            errors.append(((section, index, field), f"duplicate {what} {shown} (first at {section}[{first[key]}])"))
        else:
            first[key] = index
    return errors


def _unit_errors(units: list[dict[str, Any]] | None, unit_ids: set[str]) -> list[Problem]:
    if units is None:
        return []
    if not units:
        return [(("units",), "at least one [[units]] entry is required")]
    errors = _duplicates("units", "id", "unit id", [(i, _text(u.get("id"))) for i, u in enumerate(units)])
    for index, unit in enumerate(units):
        parent = _text(unit.get("parent"))
        if parent is not None and parent not in unit_ids:
            errors.append((("units", index, "parent"), f'unknown unit "{parent}"'))
    cycles = _cycle_errors(units)
    if not cycles:
        parent_of = {_text(u.get("id")): _text(u.get("parent")) for u in units}
        for index, unit in enumerate(units):
            reviewer, unit_id = _text(unit.get("reviewed_by")), _text(unit.get("id"))
            if reviewer is None or unit_id is None:
                continue
            if reviewer not in unit_ids:
                errors.append((("units", index, "reviewed_by"), f'unknown unit "{reviewer}"'))
            elif reviewer not in _chain(parent_of, unit_id)[1:]:  # type: ignore[arg-type]
                errors.append((("units", index, "reviewed_by"),
                               f'"{reviewer}" is not above "{unit_id}": the 复查 is the 上一级\'s (Art. 35)'))
    return errors + cycles


def _cycle_errors(units: list[dict[str, Any]]) -> list[Problem]:
    """One error per cycle, placed at the cycle's first unit in the file."""
    parent_of = {_text(u.get("id")): _text(u.get("parent")) for u in units}
    reported: set[str] = set()
    errors: list[Problem] = []
    for index, unit in enumerate(units):
        unit_id = _text(unit.get("id"))
        if unit_id is None or unit_id in reported:
            continue
        chain = [unit_id]
        while (parent := parent_of.get(chain[-1])) is not None and parent not in chain:
            chain.append(parent)
        if parent == unit_id:
            reported.update(chain)
            path = PATH_SEPARATOR.join([*chain, unit_id])
            errors.append((("units", index, "parent"), f"cycle in the unit tree: {path}"))
    return errors


def _category_errors(categories: list[dict[str, Any]] | None) -> list[Problem]:
    if categories is None:
        return []
    if not categories:
        return [(("categories",), "at least one [[categories]] entry is required")]
    return _duplicates("categories", "id", "category id", [(i, _text(c.get("id"))) for i, c in enumerate(categories)])


def _staff_errors(staff: list[dict[str, Any]], unit_ids: set[str], category_ids: set[str]) -> list[Problem]:
    telegram_ids = [(i, s.get("telegram_id")) for i, s in enumerate(staff)]
    errors = _duplicates("staff", "telegram_id", "telegram_id", [(i, t) for i, t in telegram_ids if type(t) is int])
    for index, member in enumerate(staff):
        errors += _member_errors(index, member, unit_ids, category_ids)
    return errors


def _member_errors(index: int, member: dict[str, Any], unit_ids: set[str], category_ids: set[str]) -> list[Problem]:
    errors: list[Problem] = []
    role = member.get("role")
    if role in (Role.OFFICER, Role.LEADER) and member.get("units") in (None, [], ()):
        article = "an" if role == Role.OFFICER else "a"
        errors.append((("staff", index, "units"), f"{article} {role} needs at least one unit"))
    lists = (
        ("units", "unit", unit_ids),
        ("recuse_units", "unit", unit_ids),
        ("categories", "category", category_ids),
    )
    for field, what, known in lists:
        errors += [
            (("staff", index, field, i), f'unknown {what} "{value}"')
            for i, value in _texts(member.get(field))
            if value not in known
        ]
    return errors


def _reception_errors(
    sessions: list[dict[str, Any]], staff: list[dict[str, Any]], units: list[dict[str, Any]] | None
) -> list[Problem]:
    """Reception sessions are held by a leader or admin of the file, at units that exist and that leader covers."""
    errors = _duplicates("reception", "id", "reception id", [(i, _text(s.get("id"))) for i, s in enumerate(sessions)])
    parent_of = {i: _text(u.get("parent")) for u in units or [] if (i := _text(u.get("id"))) is not None}
    members = {m.get("telegram_id"): m for m in staff if type(m.get("telegram_id")) is int}
    for index, session in enumerate(sessions):
        start, end = _as_time(session.get("start")), _as_time(session.get("end"))
        if start is not None and end is not None and end <= start:
            errors.append((("reception", index), "end must be after start"))
        if session.get("place") is None and session.get("unit") is None:
            errors.append((("reception", index), "needs a place or a unit (下访), or both"))
        leader = session.get("leader")
        member = members.get(leader) if type(leader) is int else None
        if type(leader) is int and member is None:
            errors.append((("reception", index, "leader"), f"unknown staff member {leader} (not in [[staff]])"))
        elif member is not None and member.get("role") not in (Role.LEADER, Role.ADMIN):
            errors.append((("reception", index, "leader"), f"{leader} is not a leader or admin"))
            member = None
        unit = _text(session.get("unit"))
        if unit is None:
            continue
        if unit not in parent_of:
            errors.append((("reception", index, "unit"), f'unknown unit "{unit}"'))
        elif member is not None and member.get("role") == Role.LEADER:
            own = {value for _, value in _texts(member.get("units"))}
            if not own & set(_chain(parent_of, unit)):
                errors.append((("reception", index, "unit"), f'"{unit}" is outside the units of leader {leader}'))
    return errors


def _incident_errors(
    levels: list[dict[str, Any]], staff: list[dict[str, Any]], unit_ids: set[str]
) -> list[Problem]:
    """The plan's levels: unique numbers, fewer people the less serious, a response group of staff, a checklist."""
    section = "incident_levels"
    numbers = [(i, e.get("level")) for i, e in enumerate(levels)]
    errors = _duplicates(section, "level", "level", [(i, n) for i, n in numbers if type(n) is int])
    known = {m.get("telegram_id") for m in staff if type(m.get("telegram_id")) is int}
    for index, entry in enumerate(levels):
        notify = entry.get("notify")
        if notify in (None, [], ()):
            errors.append(((section, index, "notify"), "needs at least one person to notify"
                           ' (a staff telegram_id, or "leader@unit-id")'))
        for i, value in enumerate(notify if isinstance(notify, list | tuple) else []):
            if type(value) is int and value not in known:
                errors.append(((section, index, "notify", i), f"unknown staff member {value} (not in [[staff]])"))
            elif isinstance(value, str):
                match = _NOTIFY_ROLE.fullmatch(value)
                if match is None or match["role"] not in INCIDENT_ROLES:
                    errors.append(((section, index, "notify", i),
                                   f'"{value}" is neither a telegram_id nor "leader@unit-id" / "officer@unit-id"'))
                elif match["unit"] not in unit_ids:
                    errors.append(((section, index, "notify", i), f'unknown unit "{match["unit"]}"'))
        steps = entry.get("steps")
        if steps in (None, [], ()):
            errors.append(((section, index, "steps"), "needs at least one step (the checklist)"))
        elif isinstance(steps, list | tuple):
            if len(steps) > INCIDENT_STEPS_MAX:
                errors.append(((section, index, "steps"), f"at most {INCIDENT_STEPS_MAX} steps, not {len(steps)}"))
            for i, step in enumerate(steps):
                texts = [step] if isinstance(step, str) else list(step.values()) if isinstance(step, dict) else []
                if any(isinstance(text, str) and len(text) > INCIDENT_STEP_CHARS for text in texts):
                    errors.append(((section, index, "steps", i),
                                   f"a step is at most {INCIDENT_STEP_CHARS} characters (it is a button)"))
    ordered: list[tuple[int, int, int]] = sorted(
        (level, people, i) for i, e in enumerate(levels)
        if type(level := e.get("level")) is int and type(people := e.get("min_people")) is int
    )
    for (level, people, _), (next_level, next_people, index) in zip(ordered, ordered[1:], strict=False):
        if next_level != level and next_people >= people:
            errors.append(((section, index, "min_people"),
                           f"level {next_level} needs fewer people than level {level} ({people}),"
                           f" not {next_people}: level 1 is the most serious"))
    return errors


def _as_time(value: Any) -> dt.time | None:
    """A local time as the file gives it (09:30:00 or "09:30"); None if it is not one (reported elsewhere)."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            return None
    return None


def _chain(parent_of: dict[str, str | None], unit_id: str) -> list[str]:
    """The unit and its ancestors in plain data (stops at a cycle, which is reported elsewhere)."""
    chain = [unit_id]
    while (parent := parent_of.get(chain[-1])) is not None and parent not in chain:
        chain.append(parent)
    return chain


# --- reading files ------------------------------------------------------------

_FRIENDLY_MESSAGES = {
    "missing": "required",
    "string_too_short": "must not be empty",
    "extra_forbidden": "unknown key (check the spelling)",
    "tuple_type": "must be an array",
    "list_type": "must be an array",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
}


def _format(loc: Loc, msg: str) -> str:
    """Render a location the way a reader finds it in the file: staff[2].units[0]."""
    place = ""
    for part in loc:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    return f"{place}: {msg}" if place else msg


def _pydantic_problems(errors: list[ErrorDetails]) -> list[Problem]:
    return [
        (tuple(e["loc"]), _FRIENDLY_MESSAGES.get(e["type"], e["msg"]))
        for e in errors
        if e["type"] != _REFERENCES_ERROR
    ]


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    """Sort by section and entry so that all problems of one entry stand together; stable otherwise."""
    sections = list(Organization.model_fields)

    def key(problem: Problem) -> tuple[int, int]:
        loc = problem[0]
        rank = sections.index(loc[0]) if loc and loc[0] in sections else -1
        entry = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1
        return rank, entry

    return sorted(problems, key=key)


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        if match is None:
            raise OrgError([str(exc)]) from None
        line = match["line"] or str(max(len(text.splitlines()), 1))
        column = f" (column {match['col']})" if match["col"] else " (at end of file)"
        raise OrgError([f"line {line}: {match['msg']}{column}"]) from None


def parse_org(text: str) -> Organization:
    """Parse and check an organisation file; OrgError lists every problem found, each with its place."""
    data = _parse_toml(text)
    try:
        return Organization.model_validate(data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc.errors()) + _reference_errors(data)
    raise OrgError([_format(loc, msg) for loc, msg in _in_file_order(problems)])


def with_staff(org: Organization, staff: Iterable[Staff]) -> Organization:
    """``org`` with another staff list, checked by the same rules as the file (OrgError lists every problem).

    Staff managed in chat (store/staffing.py) go through this, so no change
    made there can give an organisation the file itself could not.
    """
    staff = list(staff)
    if staff == list(org.staff):
        return org  # the same list (as at every start once the database holds the file's staff): checked already
    data = org.model_dump(mode="python")
    data["staff"] = [s.model_dump(mode="python") for s in staff]
    try:
        return Organization.model_validate(data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc.errors()) + _reference_errors(data)
    raise OrgError([_format(loc, msg) for loc, msg in _in_file_order(problems)])


def load_org(path: str | PathLike[str]) -> Organization:
    """Read an organisation file (UTF-8); unreadable files are reported as OrgError too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise OrgError([f'cannot read "{path}": {exc.strerror or exc}']) from None
    except UnicodeDecodeError as exc:
        raise OrgError([f'"{path}" is not UTF-8 text: {exc.reason} at byte {exc.start}']) from None
    return parse_org(text)


#: The longest time limits 《信访工作条例》 (2022) allows, in calendar days.
REGULATION_DAYS = {
    "accept_days": (15, "Art. 22-23"),
    "handle_days": (60, "Art. 34"),
    "max_extension_days": (30, "Art. 34"),
    "review_days": (30, "Art. 35"),
    "rereview_days": (30, "Art. 36"),
}
#: Above this, Telegram refuses a bot's messages unless it has allowed that bot more.
TELEGRAM_MESSAGES_PER_SECOND = 30


def org_warnings(org: Organization, today: dt.date) -> list[str]:
    """What is allowed but probably wrong: each a located line, like the errors.

    Deadlines longer than the Regulations allow, reception sessions already
    past, staff ids still those of the starter file, a pace above Telegram's.
    """
    warnings: list[str] = []
    for field, (days, article) in REGULATION_DAYS.items():
        value = getattr(org.deadlines, field)
        if value > days:
            warnings.append(_format(("deadlines", field), f"{value} days is longer than the {days} that"
                                    f" 《信访工作条例》 {article} allows"))
    if org.limits.bot_messages_per_second > TELEGRAM_MESSAGES_PER_SECOND:
        warnings.append(_format(("limits", "bot_messages_per_second"),
                                f"{org.limits.bot_messages_per_second:g} is more than the"
                                f" {TELEGRAM_MESSAGES_PER_SECOND} a second Telegram allows most bots"))
    for index, session in enumerate(org.reception):
        if session.date < today:
            warnings.append(_format(("reception", index, "date"),
                                    f"{session.date.isoformat()} is in the past; nobody can book it"))
    for index, level in enumerate(org.incident_levels):
        for i, entry in enumerate(level.notify):
            if isinstance(entry, str) and (match := _NOTIFY_ROLE.fullmatch(entry)) is not None and not any(
                s.role.value == match["role"] and match["unit"] in s.units for s in org.staff
            ):
                warnings.append(_format(("incident_levels", index, "notify", i),
                                        f'nobody is a {match["role"]} assigned at "{match["unit"]}"'))
    redirecting = [reason.id for reason in org.decline_reasons if reason.redirect]
    if redirecting and not org.destinations:
        warnings.append(_format(("destinations",), "none listed: no decline can give the reasons that send the"
                                f" petitioner elsewhere ({', '.join(redirecting)}); list the courts, arbitration"
                                " and other bodies (诉访分离)"))
    starter = {member.telegram_id for member in example_org().staff}
    for index, member in enumerate(org.staff):
        if member.telegram_id in starter:
            warnings.append(_format(("staff", index, "telegram_id"),
                                    f"{member.telegram_id} is an example id from the starter file;"
                                    " put this person's own Telegram id"))
    return warnings


def review_problems(org: Organization) -> list[str]:
    """Where an administrator would review (复查/复核): check-config refuses these.

    Each unit's decisions are reviewed by the leaders assigned at its reviewing
    unit (``reviewed_by``, else the parent), and re-reviewed one reviewing
    level higher; above the top unit, by ``[organization.review_body]``. An
    administrator runs the bot and never reviews (Art. 35-36).
    """
    problems: list[str] = []
    index = {unit.id: i for i, unit in enumerate(org.units)}
    for unit in org.units:
        for level, word in ((1, "复查"), (2, "复核")):
            reviewer = org.reviewing_unit(unit.id, level)
            if reviewer is None:
                continue
            if not any(s.role is Role.LEADER and reviewer in s.units for s in org.staff):
                problems.append(_format(("units", index[unit.id]),
                                        f'the {word} of decisions at "{unit.id}" falls to "{reviewer}", which has no'
                                        " leader: an administrator would review. Assign a leader at"
                                        f' "{reviewer}" or name another unit above with reviewed_by'))
    return problems


def missing_holiday_notice(org: Organization, today: dt.date) -> int | None:
    """The first of this year and the next whose holiday notice ``[calendar]`` lacks, if any.

    Without it only Saturdays and Sundays are rest days that year, so time
    limits ending on a public holiday are not moved (check-config and the
    bot's start-up say so, once).
    """
    for year in (today.year, today.year + 1):
        if not org.workdays.covers(year):
            return year
    return None


def starter_toml() -> str:
    """A commented, valid organisation file to copy and adapt (the built-in example)."""
    return resources.files(__package__).joinpath(EXAMPLE_FILE).read_text(encoding="utf-8")


def example_org() -> Organization:
    """The built-in example organisation, used when no file is configured."""
    return parse_org(starter_toml())
