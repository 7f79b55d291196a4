"""Importing the office's existing ledger (台账): the column layout, row validation, the status map.

``petition-bot import FILE.xlsx|csv [--dry-run]`` (bot/cli.py, which reads the
file: bot/ledger_file.py) hands the rows here as text (or dates, from an .xlsx)
under their header names. This module maps the headers onto the layout below
(Chinese or English names, any case and spacing), validates every row with
``LedgerRow`` and says, for each bad row, its line and every reason (codes with
parameters; the CLI words them in its language).

The layout (one header row, then one matter per row; columns in any order,
others ignored):

=============  ===================================  =========  =====================================
column         header names accepted                 required   value
=============  ===================================  =========  =====================================
received       收到日期 收件日期 登记日期 日期          yes        2026-11-03, 2026/11/3, 2026年11月3日
                received / received date / date                  or a date cell; not in the future
channel        渠道 信访方式 来源 / channel             yes        来信 letter, 来访 visit, 来电 call,
                                                                  网上 online, 转交办 transfer
petitioner     信访人 姓名 / petitioner / name          no         empty or 匿名: an anonymous letter
phone          电话 联系电话 / phone                     no         digits, may start with +
unit           单位 责任单位 / unit                      yes        a unit's id or its name
category       类别 问题类别 / category                  yes        a category's id or its name
subject        标题 事由 / subject / title               yes        at most 100 characters
details        内容 主要内容 / details / content         no         at most 4,000 (empty: the subject)
status         状态 办理状态 / status                    no         see STATUS_WORDS (empty: 登记)
external       外部编号 台账编号 原编号 来文编号          yes        the ledger's own number, at most 64
                external number / reference
=============  ===================================  =========  =====================================

Idempotence: a row whose external number and received date are already in
the store (an earlier import) is not imported again; it is listed as already
there, with its case number. Two rows of one file with the same external
number and date: the second is a bad row.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from store.clock import iso
from store.context import Service, StoreContext, local_midnight
from store.errors import Refused
from store.event_data import ImportData
from store.ledger import EXTERNAL_REF_MAX, LedgerService, PersonIn, Registration
from store.ledger import NAME_MAX as LEDGER_NAME_MAX
from store.models import DETAILS_MAX, SUBJECT_MAX, SYSTEM, Actor, Channel, Status
from store.org import Organization
from store.safetext import clean
from store.workflow import Action

# Header names accepted for each column, compared after ``_key`` (case, spaces, punctuation ignored).
COLUMNS: dict[str, tuple[str, ...]] = {
    "received": ("收到日期", "收件日期", "登记日期", "来信来访日期", "日期", "received", "received date",
                 "date received", "date"),
    "channel": ("渠道", "信访方式", "来源", "方式", "channel", "source"),
    "petitioner": ("信访人", "信访人姓名", "姓名", "petitioner", "name"),
    "phone": ("电话", "联系电话", "手机", "phone", "telephone", "phone number"),
    "unit": ("单位", "责任单位", "所属单位", "unit"),
    "category": ("类别", "问题类别", "分类", "category"),
    "subject": ("标题", "事由", "主题", "subject", "title"),
    "details": ("内容", "主要内容", "详情", "信访内容", "details", "content"),
    "status": ("状态", "办理状态", "status"),
    "external": ("外部编号", "台账编号", "原编号", "来文编号", "编号", "external number", "external no",
                 "external", "reference", "ref", "ledger number"),
}
REQUIRED = ("received", "channel", "unit", "category", "subject", "external")

# The words of the channel column, for each channel.
CHANNEL_WORDS: dict[Channel, tuple[str, ...]] = {
    Channel.LETTER: ("来信", "信件", "书信", "letter", "mail"),
    Channel.VISIT: ("来访", "接访", "上访", "visit", "walk-in", "walkin"),
    Channel.CALL: ("来电", "电话", "call", "phone"),
    Channel.ONLINE: ("网上", "网上信访", "网络", "online", "web", "internet"),
    Channel.TRANSFER: ("转交办", "转办", "交办", "转交", "transfer", "transferred"),
}

# The status map: the ledger's words → the store's statuses. Dates the ledger does
# not hold are taken as the received date (accepted on it: the answer is due
# handle_days later; closed on it).
STATUS_WORDS: dict[Status, tuple[str, ...]] = {
    Status.SUBMITTED: ("登记", "已登记", "待受理", "未受理", "registered", "submitted", "new"),
    Status.ACCEPTED: ("受理", "已受理", "accepted"),
    Status.IN_PROGRESS: ("办理中", "在办", "正在办理", "in progress", "handling"),
    Status.DECLINED: ("不予受理", "不受理", "declined", "not accepted"),
    Status.CLOSED: ("已答复", "答复", "办结", "已办结", "结案", "已结案", "answered", "closed", "done"),
    Status.WITHDRAWN: ("撤回", "已撤回", "withdrawn"),
}
ANONYMOUS = ("匿名", "匿名来信", "无名", "anonymous")
NAME_MAX = LEDGER_NAME_MAX
EXTERNAL_MAX = EXTERNAL_REF_MAX
EARLIEST = date(1990, 1, 1)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_PHONE = re.compile(r"^\+?\d{5,20}$")


def header_key(text: Any) -> str:
    """A header or word as compared: NFKC, case-folded, without spaces, underscores or punctuation."""
    value = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return "".join(ch for ch in value if ch.isalnum())


_HEADERS = {header_key(name): column for column, names in COLUMNS.items() for name in names}
_CHANNELS = {header_key(word): channel for channel, words in CHANNEL_WORDS.items() for word in words}
_STATUSES = {header_key(word): status for status, words in STATUS_WORDS.items() for word in words}


class Headers(BaseModel):
    """The file's header row read against the layout."""

    columns: dict[int, str]  # position in the row → column of the layout
    missing: list[str]  # required columns not found
    repeated: list[str]  # columns found under two headers
    ignored: list[str]  # headers that are no column of the layout


def map_headers(header: list[Any]) -> Headers:
    return map_layout(header, COLUMNS, REQUIRED)


def map_layout(header: list[Any], layout: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> Headers:
    """A header row read against a layout (column → header names accepted): the ledger's, the roster's."""
    names = _HEADERS if layout is COLUMNS else {header_key(name): column for column, ns in layout.items() for name in ns}
    columns: dict[int, str] = {}
    repeated: list[str] = []
    ignored: list[str] = []
    for index, name in enumerate(header):
        if name is None or not str(name).strip():
            continue
        column = names.get(header_key(name))
        if column is None:
            ignored.append(str(name).strip())
        elif column in columns.values():
            repeated.append(column)
        else:
            columns[index] = column
    missing = [c for c in required if c not in columns.values()]
    return Headers(columns=columns, missing=missing, repeated=repeated, ignored=ignored)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number cell (an external number, a phone) read as 12345.0
    return clean(str(value)).strip()


def _date_of(value: Any) -> date:
    """A date cell, or text such as 2026-11-03, 2026/11/3, 2026.11.03 or 2026年11月3日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value).split(" ")[0].split("T")[0]
    if not text:
        raise _bad("required")
    found = _DATE.match(unicodedata.normalize("NFKC", text))
    if found is not None:
        try:
            return date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            pass
    raise _bad("bad_date", value=text[:40])


def _bad(code: str, **params: Any) -> PydanticCustomError:
    return PydanticCustomError(code, code, params)


class LedgerRow(BaseModel):
    """One matter of the ledger, validated. ``model_validate(cells, context={"org": org, "today": day})``."""

    received: date
    channel: Channel
    petitioner: str | None = None  # None: anonymous (匿名来信)
    phone: str | None = None
    unit: str  # the unit's id
    category: str  # the category's id
    subject: str
    details: str = ""
    status: Status = Status.SUBMITTED
    external: str

    @field_validator("received", mode="before")
    @classmethod
    def _received(cls, value: Any, info: ValidationInfo) -> date:
        day = _date_of(value)
        today: date = (info.context or {}).get("today", date.max)
        if day > today:
            raise _bad("future_date", value=day.isoformat())
        if day < EARLIEST:
            raise _bad("bad_date", value=day.isoformat())
        return day

    @field_validator("channel", mode="before")
    @classmethod
    def _channel(cls, value: Any) -> Channel:
        text = cell_text(value)
        if not text:
            raise _bad("required")
        channel = _CHANNELS.get(header_key(text))
        if channel is None:
            raise _bad("bad_channel", value=text[:40])
        return channel

    @field_validator("petitioner", mode="before")
    @classmethod
    def _petitioner(cls, value: Any) -> str | None:
        text = cell_text(value)
        if not text or header_key(text) in {header_key(a) for a in ANONYMOUS}:
            return None
        if len(text) > NAME_MAX:
            raise _bad("too_long", max=NAME_MAX, length=len(text))
        return text

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> str | None:
        text = cell_text(value)
        if not text:
            return None
        digits = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", text))
        if not _PHONE.match(digits):
            raise _bad("bad_phone", value=text[:40])
        return digits

    @field_validator("unit", mode="before")
    @classmethod
    def _unit(cls, value: Any, info: ValidationInfo) -> str:
        text = cell_text(value)
        if not text:
            raise _bad("required")
        org: Organization | None = (info.context or {}).get("org")
        if org is not None:
            found = org.find_unit_named(text)
            if found is None:
                raise _bad("unknown_unit", value=text[:60])
            return found.id
        return text

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: Any, info: ValidationInfo) -> str:
        text = cell_text(value)
        if not text:
            raise _bad("required")
        org: Organization | None = (info.context or {}).get("org")
        if org is not None:
            found = org.find_category_named(text)
            if found is None:
                raise _bad("unknown_category", value=text[:60])
            return found.id
        return text

    @field_validator("subject", mode="before")
    @classmethod
    def _subject(cls, value: Any) -> str:
        text = cell_text(value)
        if not text:
            raise _bad("required")
        if len(text) > SUBJECT_MAX:
            raise _bad("too_long", max=SUBJECT_MAX, length=len(text))
        return text

    @field_validator("details", mode="before")
    @classmethod
    def _details(cls, value: Any) -> str:
        text = cell_text(value)
        if len(text) > DETAILS_MAX:
            raise _bad("too_long", max=DETAILS_MAX, length=len(text))
        return text

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> Status:
        text = cell_text(value)
        if not text:
            return Status.SUBMITTED
        status = _STATUSES.get(header_key(text))
        if status is None:
            raise _bad("bad_status", value=text[:40])
        return status

    @field_validator("external", mode="before")
    @classmethod
    def _external(cls, value: Any) -> str:
        text = cell_text(value)
        if not text:
            raise _bad("required")
        if len(text) > EXTERNAL_MAX:
            raise _bad("too_long", max=EXTERNAL_MAX, length=len(text))
        return text

    @property
    def text(self) -> str:
        """The details, or the subject when the ledger has none."""
        return self.details or self.subject


class Reason(BaseModel):
    """Why a row is bad: the column (None: the row as a whole), a code and its parameters."""

    column: str | None
    code: str
    params: dict[str, Any] = {}


class BadRow(BaseModel):
    line: int
    reasons: list[Reason]


class ImportedRow(BaseModel):
    line: int
    external: str
    number: str


class ImportReport(BaseModel):
    """What an import did (or, with ``dry_run``, would do)."""

    dry_run: bool
    rows: int = 0  # data rows read (blank rows not counted)
    imported: list[ImportedRow] = []  # with --dry-run: the rows that would be imported (number "")
    present: list[ImportedRow] = []  # already in the store from an earlier import
    bad: list[BadRow] = []


def reasons_of(error: ValidationError) -> list[Reason]:
    """A row's validation errors as reasons: the column, a code and its parameters (the ledger's, the roster's)."""
    reasons = []
    for problem in error.errors():
        column = str(problem["loc"][0]) if problem["loc"] else None
        code = problem["type"] if problem["type"] != "missing" else "required"
        params = {k: v for k, v in (problem.get("ctx") or {}).items() if k != "error"}
        reasons.append(Reason(column=column, code=code, params=params))
    return reasons


def validate_rows(
    rows: list[tuple[int, dict[str, Any]]], org: Organization, today: date
) -> tuple[list[tuple[int, LedgerRow]], list[BadRow]]:
    """Every row validated: the good ones (line, row) and the bad ones with every reason.

    Two rows with the same external number and received date: the later one is bad.
    """

    good: list[tuple[int, LedgerRow]] = []
    bad: list[BadRow] = []
    seen: dict[tuple[str, date], int] = {}
    for line, cells in rows:
        try:
            row = LedgerRow.model_validate(cells, context={"org": org, "today": today})
        except ValidationError as error:
            bad.append(BadRow(line=line, reasons=reasons_of(error)))
            continue
        key = (row.external, row.received)
        if key in seen:
            bad.append(BadRow(line=line, reasons=[Reason(column="external", code="repeated_in_file",
                                                         params={"line": seen[key]})]))
            continue
        seen[key] = line
        good.append((line, row))
    return good, bad


# What each status of the map changes beyond 登记 (dates the ledger lacks are the received date's).
ACCEPTED_LIKE = (Status.ACCEPTED, Status.IN_PROGRESS)
CLOSED_LIKE = (Status.DECLINED, Status.CLOSED, Status.WITHDRAWN)


def registration_of(row: LedgerRow) -> Registration:
    """The ledger's registration for a row; its id makes a second import of the row find the first."""
    return Registration(
        registration_id=f"import:{row.received.isoformat()}:{row.external}",
        channel=row.channel,
        external_ref=row.external,
        received_on=row.received,
        anonymous=row.petitioner is None,
        people=[PersonIn(name=row.petitioner, phone=row.phone)] if row.petitioner else [],
        category=row.category,
        unit=row.unit,
        subject=row.subject,
        details=row.text,
    )


class ImportService(Service):
    """``petition-bot import``: the rows of a ledger file into cases, in one transaction.

    Every row is validated first (``validate_rows``, then the ledger's own
    check); a bad row is reported with its line and reasons and left out.
    Then, unless ``dry_run``, the good rows are written in ONE transaction:
    each through the ledger's ``register`` (channel, external number, the
    received date as its submission moment and the start of its deadlines,
    the petitioner into the register of petitioners, no case cards), its
    status set by the status map, an ``import`` event journaled. Either every
    good row is in, or (a failure mid-way) none. A row whose external number
    and received date are in the store already is listed as present, not
    imported again.
    """

    def __init__(self, ctx: StoreContext, ledger: LedgerService) -> None:
        super().__init__(ctx)
        self.ledger = ledger

    async def _present(self, conn: Any, row: LedgerRow) -> str | None:
        async with conn.execute(
            "SELECT number FROM cases WHERE (external_ref = ? AND received_on = ?) OR submit_key = ?"
            " ORDER BY id LIMIT 1",
            (row.external, row.received.isoformat(), registration_of(row).registration_id),
        ) as cur:
            found = await cur.fetchone()
        return None if found is None else str(found[0])

    async def run(
        self, rows: list[tuple[int, dict[str, Any]]], *, dry_run: bool, actor: Actor = SYSTEM
    ) -> ImportReport:
        today = self.ctx.today()
        good, bad = validate_rows(rows, self.org, today)
        ready: list[tuple[int, LedgerRow]] = []
        for line, row in good:
            try:
                self.ledger.check(registration_of(row), back_days=None)
            except Refused as error:
                bad.append(BadRow(line=line, reasons=[Reason(column=None, code="refused",
                                                             params={"code": error.code, **error.params})]))
                continue
            ready.append((line, row))
        bad.sort(key=lambda b: b.line)
        report = ImportReport(dry_run=dry_run, rows=len(rows), bad=bad)
        if dry_run:
            async with self.db.read() as conn:
                for line, row in ready:
                    number = await self._present(conn, row)
                    listed = report.present if number else report.imported
                    listed.append(ImportedRow(line=line, external=row.external, number=number or ""))
            return report
        async with self.db.transaction() as conn:
            for line, row in ready:
                number = await self._present(conn, row)
                if number is not None:
                    report.present.append(ImportedRow(line=line, external=row.external, number=number))
                    continue
                done = await self.ledger.register(
                    actor, registration_of(row), back_days=None, notify=False, within=conn,
                    submitted_at=local_midnight(row.received, self.tz), scoped=False,
                )
                case = done.case
                changes: dict[str, Any] = {"imported": True}
                received = iso(local_midnight(row.received, self.tz))
                if row.status in ACCEPTED_LIKE:
                    due = self.org.due_date(row.received, "handle_days")
                    changes.update(status=row.status.value, accepted_at=received, answer_due=due.isoformat())
                elif row.status in CLOSED_LIKE:
                    changes.update(status=row.status.value, closed_at=self.ctx.now())
                case = await self.ctx.update_case(conn, case.id, changes)
                await self.ctx.event(conn, case.id, actor, Action.IMPORT, case.status, None,
                                     ImportData(line=line, external=row.external, status=row.status.value))
                report.imported.append(ImportedRow(line=line, external=row.external, number=case.number))
        self.outbox.kick()
        return report
