"""Callback data: one small codec per area, one :class:`Button` per action.

Telegram gives a button at most 64 bytes of ``callback_data`` and sends back
whatever the client holds, which may be a button from before an upgrade, or
forged. So every button is declared here once, as an area prefix, a verb and
typed fields (``rc:pd:20260105``); :meth:`Button.encode` writes it (checking
the 64 bytes), :meth:`Button.decode` reads it back into Python values or
None, and :meth:`Button.handler` registers one ``CallbackQueryHandler`` that
only ever sees data it can decode. What no button accepts falls through to
its area's catch-all, which answers that the button has expired.

The wire format is the one buttons already sent in chats carry, terse
because of the 64 bytes; the names here are what the codes mean. Verbs are
case-sensitive (``pd`` a day, ``pD`` a page of days): never reuse a verb,
only add new ones, so old buttons keep working or decode to nothing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from handlers.fallback import stale_button

#: Bot API: ``callback_data`` is 1-64 bytes.
MAX_BYTES = 64

T = TypeVar("T")


@dataclass(frozen=True)
class Field(Generic[T]):
    """One typed part of the data: the characters it may hold, and how to read and write it."""

    name: str
    regex: str
    max_len: int
    parse: Callable[[str], T]
    format: Callable[[T], str] = str

    def read(self, raw: str) -> T | None:
        if len(raw) > self.max_len or not re.fullmatch(self.regex, raw):
            return None
        try:
            return self.parse(raw)
        except ValueError:
            return None

    def write(self, value: T) -> str:
        raw = self.format(value)
        if self.read(raw) is None:
            raise ValueError(f"{value!r} does not fit a {self.name} field")
        return raw


def _day(raw: str) -> date:
    return datetime.strptime(raw, "%Y%m%d").date()


def choice(*words: str) -> Field[str]:
    """One of a few fixed words."""
    return Field("choice", "|".join(re.escape(w) for w in words), max(map(len, words)), str)


#: A database id (booking, session, alert, page, Telegram user, days).
INT: Field[int] = Field("int", r"[0-9]+", 15, int)
#: A case number as the button carries it (``XF-2026-000123``); the store decides whether it exists.
NUMBER: Field[str] = Field("number", r"[A-Za-z0-9_-]+", 24, str)
#: An id from the organisation file (unit, category, canned reply), checked to fit when loaded.
KEY: Field[str] = Field("key", r"[A-Za-z0-9_-]+", 32, str)
#: As :data:`KEY`, or empty (no unit: the top of the tree).
KEY_OR_EMPTY: Field[str] = Field("key_or_empty", r"[A-Za-z0-9_-]*", 32, str)
#: A calendar day, written ``YYYYMMDD``.
DAY: Field[date] = Field("day", r"[0-9]{8}", 8, _day, lambda d: f"{d:%Y%m%d}")
#: A time of day, written ``HHMM``, read as ``HH:MM`` (the store checks it is a real time).
HHMM: Field[str] = Field("hhmm", r"[0-9]{4}", 4, lambda raw: f"{raw[:2]}:{raw[2:]}",
                         lambda hm: hm.replace(":", ""))
#: A draft's id, so that a Submit or Publish acts on the draft it was shown with: 16 URL-safe
#: characters (``store.models.new_key``), or a uuid4 in hex as drafts made before migration 0035 carry.
TOKEN: Field[str] = Field("token", r"[A-Za-z0-9_-]{16}|[0-9a-f]{32}", 32, str)


#: What a button's handler is given: ``(update, context, *values)``.
Handler = Callable[..., Awaitable[Any]]
#: PTB's own callback type: ``(update, context)``.
Callback = Callable[[Update, Any], Coroutine[Any, Any, Any]]


@dataclass(frozen=True)
class Button:
    """One action a button asks for: ``area[:verb][:field...]``."""

    area: str
    verb: str | None
    fields: tuple[Field[Any], ...] = ()

    @property
    def head(self) -> str:
        return self.area if self.verb is None else f"{self.area}:{self.verb}"

    @property
    def max_bytes(self) -> int:
        return len(self.head.encode()) + sum(1 + f.max_len for f in self.fields)

    def encode(self, *values: Any) -> str:
        if len(values) != len(self.fields):
            raise TypeError(f"{self.head} takes {len(self.fields)} values, got {len(values)}")
        data = ":".join([self.head, *(f.write(v) for f, v in zip(self.fields, values, strict=True))])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data}")
        return data

    def decode(self, data: object) -> tuple[Any, ...] | None:
        """The values of ``data`` if it is this button, well formed; else None."""
        # Every button handler asks of every tap: another button's data is told apart by its head first.
        if not isinstance(data, str) or not data.startswith(self.head) or len(data.encode()) > MAX_BYTES:
            return None
        if data == self.head:
            raw: list[str] = []
        elif data.startswith(":", len(self.head)):
            raw = data[len(self.head) + 1:].split(":")
        else:
            return None
        if len(raw) != len(self.fields):
            return None
        values = tuple(f.read(r) for f, r in zip(self.fields, raw, strict=True))
        return None if any(v is None for v in values) else values

    def matches(self, data: object) -> bool:
        return self.decode(data) is not None

    def handler(
        self, callback: Handler, *, when: Callable[..., bool] | None = None
    ) -> CallbackQueryHandler[Any, Any]:
        """One handler for this action: ``callback(update, context, *values)``, only with data that decodes.

        ``when(*values)``, if given, narrows it further (a button accepted in one state but not another).
        """

        def pattern(data: object) -> bool:
            values = self.decode(data)
            return values is not None and (when is None or when(*values))

        async def on_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Any:
            query = update.callback_query
            values = self.decode(query.data if query else None)
            if values is None:  # PTB lets a query without data past any pattern
                await stale_button(update, context)
                return None
            return await callback(update, context, *values)

        on_query.__name__ = on_query.__qualname__ = f"{self.head}->{getattr(callback, '__name__', 'handler')}"
        return CallbackQueryHandler(on_query, pattern=pattern)


@dataclass
class Area:
    """The buttons of one part of the bot, sharing a prefix."""

    prefix: str
    buttons: list[Button] = field(default_factory=list)

    def button(self, verb: str | None, *fields: Field[Any]) -> Button:
        made = Button(self.prefix, verb, fields)
        assert all(b.head != made.head for b in self.buttons), f"{made.head} declared twice"
        assert made.max_bytes <= MAX_BYTES, f"{made.head} may not fit in {MAX_BYTES} bytes"
        self.buttons.append(made)
        return made

    def decode(self, data: object) -> tuple[Button, tuple[Any, ...]] | None:
        for b in self.buttons:
            values = b.decode(data)
            if values is not None:
                return b, values
        return None

    def owns(self, data: object) -> bool:
        """Data with this area's prefix, decodable or not (for the area's "expired" answer)."""
        return isinstance(data, str) and (data == self.prefix or data.startswith(self.prefix + ":"))

    def stale_handler(self, callback: Callback) -> CallbackQueryHandler[Any, Any]:
        """The area's catch-all, registered after its buttons: old or forged data gets a polite answer."""
        return CallbackQueryHandler(callback, pattern=self.owns)


# ------------------------------------------------------------------ the areas


class Lang:
    """Choosing the language (handlers.employee)."""

    area = Area("lang")
    CHOOSE = area.button(None, choice("zh", "en"))


class My:
    """The petitioner's own cases (handlers.employee)."""

    area = Area("my")
    PAGE = area.button("page", INT)
    OPEN = area.button("open", NUMBER)


class Em:
    """The petitioner's case buttons (handlers.employee)."""

    area = Area("em")
    WITHDRAW = area.button("wd", NUMBER)
    WITHDRAW_CONFIRMED = area.button("wdy", NUMBER)


class St:
    """The case card (handlers.staff)."""

    area = Area("st")
    ACCEPT = area.button("acc", NUMBER)
    OPEN = area.button("open", NUMBER)
    ASSIGN_ME = area.button("me", NUMBER)


class Queue:
    """The staff queue's pages (handlers.staff)."""

    area = Area("q")
    PAGE = area.button(None, INT)


class Sf:
    """The staff menus that end in one store call (handlers.staff_work)."""

    area = Area("sf")
    CANCEL = area.button("x")
    ASSIGN = area.button("as", NUMBER)
    ASSIGN_TO = area.button("ap", NUMBER, INT)
    REPLY = area.button("rp", NUMBER)
    REPLY_BACK = area.button("rb", NUMBER)
    CANNED = area.button("cr", NUMBER, KEY)
    CANNED_SEND = area.button("cs", NUMBER, KEY)
    EXTEND = area.button("ex", NUMBER)
    DECIDE = area.button("dc", NUMBER)
    TRANSFER = area.button("tr", NUMBER)
    TRANSFER_UNIT = area.button("tu", NUMBER, KEY_OR_EMPTY)


class Pr:
    """Buttons that ask for one typed answer (handlers.prompts); the verb is the prompt's kind."""

    area = Area("pr")
    END = area.button("end")
    DECLINE = area.button("dec", NUMBER)
    REPLY = area.button("rep", NUMBER)
    NOTE = area.button("nt", NUMBER)
    EXTEND = area.button("ext", NUMBER, INT)
    DECIDE = area.button("dcs", NUMBER, KEY)
    TRANSFER = area.button("tr", NUMBER, KEY)
    ADD = area.button("add", NUMBER)
    COMMENT = area.button("rvc", NUMBER)
    REVIEW_REQUEST = area.button("rvq", NUMBER)
    REREVIEW_REQUEST = area.button("rrq", NUMBER)
    # The 复查 / 复核 outcomes: 维持, 撤销, 变更, 责令重办.
    OPINION_MAINTAIN = area.button("rvm", NUMBER)
    OPINION_REVOKE = area.button("rvk", NUMBER)
    OPINION_CHANGE = area.button("rvg", NUMBER)
    OPINION_REDO = area.button("rvd", NUMBER)
    HEARING = area.button("hrs", NUMBER)  # 安排听证: the date, place and note are asked next
    # Supervision (handlers.supervision): progress, an instruction, a follow-up's result, a redo's reason,
    # a co-handling unit's note.
    PROGRESS = area.button("pg", NUMBER)
    SUPERVISE = area.button("svi", NUMBER, INT)
    FOLLOW_UP = area.button("fui", NUMBER, choice("phone", "visit", "chat"))
    REDO = area.button("rdo", NUMBER)
    COHANDLE = area.button("chn", NUMBER, KEY)


class Sv:
    """Supervision on the case card (handlers.supervision): one-tap actions and the menus before a prompt."""

    area = Area("sv")
    URGE = area.button("ur", NUMBER)  # 催办, without a text
    LEAD = area.button("ld", NUMBER)  # 领导包案: the caller takes charge
    SUPERVISE = area.button("sv", NUMBER)  # the days to report progress in; the instruction is asked next
    FOLLOW_UP = area.button("fu", NUMBER)  # the way of the follow-up; the result is asked next
    COHANDLE = area.button("ch", NUMBER)  # the unit tree, to choose a co-handling unit (协办)
    COHANDLE_UNIT = area.button("cu", NUMBER, KEY_OR_EMPTY)  # a unit of that tree opened
    COHANDLE_OFF = area.button("cx", NUMBER, KEY)  # a co-handling unit removed


class Rv:
    """The petitioner's review buttons (handlers.review), and the reviewers' study and hearing (handlers.hearing)."""

    area = Area("rv")
    RATE = area.button("rate", choice("s", "b", "d"), NUMBER)
    ACCEPT_OUTCOME = area.button("acc", NUMBER)
    # The reviewers' collective study (集体研究) of an opinion written in the chat (handlers.hearing).
    STUDY_TOGGLE = area.button("sp", NUMBER, INT)  # one of the reviewing unit's staff marked or unmarked
    STUDY_CONFIRM = area.button("so", NUMBER)  # issue the opinion with those marked
    STUDY_DROP = area.button("sx", NUMBER)  # discard the opinion
    # 听证 on the reviewer's card (handlers.hearing).
    HEARING_HELD = area.button("hh", NUMBER)
    HEARING_CANCEL = area.button("hc", NUMBER)


class Ld:
    """The leaders' buttons (handlers.review)."""

    area = Area("ld")
    ACK = area.button("ack", INT)


class In:
    """Filing a petition step by step (handlers.intake)."""

    area = Area("in")
    BACK = area.button("back")
    CANCEL = area.button("cancel")
    CONTINUE = area.button("cont")
    RESTART = area.button("restart")
    DONE = area.button("done")
    CATEGORY = area.button("cat", KEY)
    UNIT = area.button("unit", KEY)
    UNIT_HERE = area.button("here", KEY)
    IDENTITY = area.button("id", choice("real", "conf", "phone", "lead"))  # lead: a report about leadership
    EDIT = area.button("edit", KEY)  # the step to go back to; intake checks it is one that can be edited
    SUBMIT = area.button("submit", TOKEN)


class Rc:
    """Leader reception days (handlers.reception)."""

    area = Area("rc")
    # Petitioners: the list, a session, booking, their booking, cancelling it.
    LIST = area.button("ls")
    SESSION = area.button("s", INT)
    BOOK = area.button("b", INT)
    LINK_CASE = area.button("l", INT)  # 0: no case
    MY_BOOKING = area.button("my", INT)
    CANCEL_BOOKING = area.button("x", INT)
    CANCEL_BOOKING_CONFIRMED = area.button("xy", INT)
    # Leaders: their list, a session's detail, outcomes, cancelling a session.
    LEADER_LIST = area.button("lv")
    DETAIL = area.button("v", INT)
    OUTCOME = area.button("o", INT)
    CANCEL_SESSION = area.button("cx", INT)
    # Publishing a session, step by step.
    PUBLISH_LEADER = area.button("pL", INT)
    PUBLISH_DAY = area.button("pd", DAY)
    PUBLISH_DAYS_PAGE = area.button("pD", INT)
    PUBLISH_OTHER_DAY = area.button("dt")
    PUBLISH_START = area.button("ps", HHMM)
    PUBLISH_END = area.button("pe", HHMM)
    PUBLISH_WHERE = area.button("pw", choice("place", "unit"))
    PUBLISH_UNIT_OPEN = area.button("pb", KEY)
    PUBLISH_UNIT_UP = area.button("pB")
    PUBLISH_UNIT = area.button("pu", KEY)
    PUBLISH_NO_PLACE = area.button("pk")
    PUBLISH_SLOTS = area.button("pn", INT)
    PUBLISH = area.button("pp", TOKEN)
    PUBLISH_CANCEL = area.button("pc")
    # Recording an outcome and cancelling a session, each a form of one typed step: 取消, and the engine's
    # Submit (never shown: neither has a review).
    OUTCOME_CANCEL = area.button("oc")
    OUTCOME_SUBMIT = area.button("os", TOKEN)
    SESSION_CANCEL_CANCEL = area.button("cxc")
    SESSION_CANCEL_SUBMIT = area.button("cxs", TOKEN)


class Rb:
    """An employee's reception booking, step by step (handlers.reception; its cases to link are ``Rc.LINK_CASE``)."""

    area = Area("rb")
    BACK = area.button("b")
    CANCEL = area.button("x")
    SUBMIT = area.button("ok", TOKEN)  # the engine's part: the booking has no review, so it is never shown


class Sc:
    """Dispute screening (handlers.screening): a unit's menu, the nil report, filing and updating a dispute."""

    area = Area("sc")
    UNIT = area.button("u", KEY)  # the unit's screening menu
    FILE = area.button("f", KEY)  # 填报: a new dispute for the unit
    NIL = area.button("n", KEY)  # 本期无矛盾纠纷: asks to confirm
    NIL_CONFIRMED = area.button("ny", KEY)
    UPDATE = area.button("up", INT)  # a new status and a note on a dispute
    TYPE = area.button("t", KEY)
    RISK = area.button("r", choice("low", "medium", "high"))
    STATUS = area.button("s", choice("screening", "mediating", "resolved", "stable"))
    BACK = area.button("b")
    CANCEL = area.button("x")
    SUBMIT = area.button("ok", TOKEN)


class Ic:
    """The group-incident plan's checklist (handlers.incidents): incident id, level, step."""

    area = Area("ic")
    TICK = area.button("t", INT, INT, INT)
    RAISE = area.button("up", INT, INT)  # the incident, the level it is raised to
    VIEW = area.button("v", INT)


class Lg:
    """Contact tasks for petitioners without Telegram (handlers.ledger)."""

    area = Area("lg")
    TASK = area.button("t", INT)
    DONE = area.button("d", INT, choice("p", "l", "v"))  # told by phone, letter, in person


class Rg:
    """Registering a letter, visit or call, step by step (handlers.register)."""

    area = Area("rg")
    BACK = area.button("back")
    CANCEL = area.button("cancel")
    CONTINUE = area.button("cont")
    RESTART = area.button("restart")
    CHANNEL = area.button("ch", choice("letter", "visit", "call", "online", "transfer"))
    TODAY = area.button("today", DAY)
    WHO = area.button("who", choice("named", "anon"))
    SKIP = area.button("skip")
    MORE = area.button("more", choice("add", "done"))
    COUNT_NAMED = area.button("cnt")  # the number of people is the people named
    CATEGORY = area.button("cat", KEY)
    UNIT = area.button("unit", KEY)
    UNIT_HERE = area.button("here", KEY)
    FILES_DONE = area.button("files")
    SECRECY = area.button("sec", choice("real", "conf"))
    EDIT = area.button("edit", KEY)  # the step to go back to; the conversation checks it can be edited
    SUBMIT = area.button("submit", TOKEN)


class Vf:
    """Verifying an account against the employee roster (handlers.verify)."""

    area = Area("vf")
    START = area.button("go")


class Sm:
    """Staff managed in chat by an administrator (handlers.staffing). Each button is one whole change."""

    area = Area("sm")
    LIST = area.button("ls", INT)  # a page of the staff list
    ADD = area.button("add")  # the user picker
    OPEN = area.button("o", INT)  # a member's card
    ROLE = area.button("r", INT, choice("officer", "leader", "admin"))
    UNITS = area.button("ub", INT, KEY_OR_EMPTY)  # the units under a unit (empty: the top), to toggle
    UNIT = area.button("ut", INT, KEY)  # toggle one unit
    CATEGORIES = area.button("cs", INT)
    CATEGORY = area.button("ct", INT, KEY)  # toggle one category
    ALL_CATEGORIES = area.button("ca", INT)
    REMOVE = area.button("rm", INT)
    REMOVE_YES = area.button("ry", INT)
    NEW_ROLE = area.button("nr", INT, choice("officer", "leader", "admin"))  # a picked person's role
    NEW_BROWSE = area.button("nb", INT, choice("officer", "leader"), KEY_OR_EMPTY)
    NEW_UNIT = area.button("nu", INT, choice("officer", "leader"), KEY)  # their first unit: added


class Ap:
    """签发: a leader approves or returns an officer's draft (handlers.approvals)."""

    area = Area("ap")
    APPROVE = area.button("ok", INT)
    RETURN = area.button("no", INT)


class Re:
    """重复信访 on the case card (handlers.repeats): the officer's word on a proposed earlier case."""

    area = Area("re")
    CONFIRM = area.button("ok", NUMBER, NUMBER)  # the new case, the earlier case of the same matter
    DISMISS = area.button("no", NUMBER)  # 不是同一事项: none of the proposed cases


class Op:
    """The written opinion's parts and a decline's grounds, step by step (handlers.opinion)."""

    area = Area("op")
    REASON = area.button("r", KEY)  # a [[decline_reasons]] id
    DEST = area.button("d", KEY)  # a [[destinations]] id
    NO_DEST = area.button("nd")  # 不指明去向 (a reason that does not redirect)
    KEEP = area.button("k")  # keep the text shown (the request's default, a prefilled opinion), or no note
    EDIT = area.button("e", choice("request", "facts", "basis", "opinion", "reason", "dest", "note"))
    BACK = area.button("b")
    CANCEL = area.button("x")
    SUBMIT = area.button("ok", TOKEN)


class Ro:
    """A 复查 / 复核 opinion's request, facts, basis and text, step by step (handlers.review_opinion)."""

    area = Area("ro")
    KEEP = area.button("k")  # keep the text shown (the petitioner's request, a prefilled opinion)
    EDIT = area.button("e", choice("request", "facts", "basis", "opinion"))
    BACK = area.button("b")
    CANCEL = area.button("x")
    SUBMIT = area.button("ok", TOKEN)


AREAS: tuple[Area, ...] = (Lang.area, My.area, Em.area, St.area, Queue.area, Sf.area, Pr.area, Sv.area,
                           Rv.area, Ld.area, In.area, Rc.area, Rb.area, Sc.area, Ic.area, Lg.area, Rg.area, Vf.area, Sm.area, Ap.area,
                           Re.area, Op.area, Ro.area)


def decode(data: object) -> tuple[Button, tuple[Any, ...]] | None:
    """Any button of any area, or None for data no button accepts (old, forged, malformed)."""
    for area in AREAS:
        if area.owns(data):
            return area.decode(data)
    return None
