"""The case state machine, as data.

Every action a person or the system can take on a case is a row here: from
which statuses it is allowed, the status it leads to, who may take it and
whether it appears on the petitioner's timeline. Every service consults it
(``next_status``) before every change, so no handler decides what is legal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from store.errors import Refused
from store.models import OPEN_STATUSES, ActorRole, Status

S = Status
STAFF = frozenset({ActorRole.OFFICER, ActorRole.LEADER, ActorRole.ADMIN})
PETITIONER = frozenset({ActorRole.PETITIONER})
SYSTEM = frozenset({ActorRole.SYSTEM})
LEADERS = frozenset({ActorRole.LEADER, ActorRole.ADMIN})
WORKING = frozenset({S.SUBMITTED, S.ACCEPTED, S.IN_PROGRESS})
HANDLING = frozenset({S.ACCEPTED, S.IN_PROGRESS})
# While staff work against a deadline (store.review.DEADLINE_OF): supervision applies.
SUPERVISED = WORKING | {S.REVIEW, S.REREVIEW}
# After a written opinion (回访 follows it): decided, under review or re-review, closed.
ANSWERED = frozenset({S.DECIDED, S.REVIEW, S.REREVIEW, S.CLOSED})


class Action(StrEnum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    DECLINE = "decline"
    ASSIGN = "assign"
    REPLY = "reply"  # staff → petitioner (answer or question)
    NOTE = "note"  # internal, never shown to the petitioner
    EXTEND = "extend"
    DECIDE = "decide"
    TRANSFER = "transfer"
    WITHDRAW = "withdraw"
    ADD_INFO = "add_info"  # petitioner → staff
    RECEPTION_NOTE = "reception_note"  # a leader's record of meeting the petitioner (领导接访)
    # After the written opinion (store/review.py): rating, review (复查), re-review (复核).
    RATE = "rate"  # 满意 / 基本满意 / 不满意
    COMMENT = "comment"  # the petitioner's words on the handling, once
    CLOSE = "close"  # 办结: satisfied, opinion accepted, or a window lapsed
    REQUEST_REVIEW = "request_review"  # Art. 35
    SERVE = "serve"  # 送达: the written opinion reached the petitioner (chat), or an officer recorded it (paper)
    REVIEW_OPINION = "review_opinion"  # leaders of the parent unit
    REQUEST_REREVIEW = "request_rereview"  # Art. 36
    REREVIEW_OPINION = "rereview_opinion"  # one level higher; then final (不再受理)
    HEARING = "hearing"  # 听证 scheduled by the reviewing body: the review clock stops (store/review.py)
    HEARING_END = "hearing_end"  # the hearing held or cancelled: the clock runs again, the due date moved
    ESCALATE = "escalate"  # overdue: the sweep tells the leaders
    FLAG = "flag"  # repeat or collective petition detected at submission
    ACK_ALERT = "ack_alert"  # a leader acknowledges a collective-petition alert
    REVEAL = "reveal"  # the identity custodian reads a confidential reporter's identity (journaled)
    # Supervision (store/supervision.py).
    SUPERVISE = "supervise"  # 督办: a leader above the unit orders progress by a day, with an instruction
    PROGRESS = "progress"  # the handler reports progress to the supervising leader
    URGE = "urge"  # 催办: a recorded nudge to the handler
    FOLLOW_UP = "followup"  # 回访: staff handling the case call, visit or talk with the petitioner
    LEAD = "lead"  # 领导包案: a leader takes (or is given) personal charge of the case
    REDO = "redo"  # 重办: after 不满意 and before any review request, the case returns to handling
    # The group-incident plan (store/incidents.py): an incident opened from the case, and its closing.
    INCIDENT_OPEN = "incident_open"
    INCIDENT_CLOSE = "incident_close"
    COHANDLE = "cohandle"  # 协办: a unit co-handles the case with its lead unit (主办)
    COHANDLE_OFF = "cohandle_off"  # a co-handling unit no longer co-handles the case
    # Linked and merged cases (store/links.py).
    LINK = "link"  # 关联: two related matters, shown on both cards
    UNLINK = "unlink"
    MERGE = "merge"  # the duplicate is closed as merged into the main case
    JOIN = "join"  # on the main case: a duplicate was merged into it
    IMPORT = "import"  # petition-bot import: a row of the office's ledger became this case (store/ledger_import.py)
    # One ledger (store/ledger.py).
    REGISTER = "register"  # staff register a letter, visit, call or transferred matter (登记)
    CLAIM = "claim"  # a petitioner binds their Telegram account with a claim code (认领)
    INFORM = "inform"  # staff told a petitioner without Telegram (phone, letter, in person)
    CODES = "codes"  # staff issued new claim codes (the old unused ones stop binding)
    # Staff managed in chat (store/staffing.py).
    # Approvals (store/approvals.py).
    DRAFT = "draft"  # an act named in [approvals] drafted by an officer, waiting for a leader's approval (签发)
    DRAFT_RETURNED = "draft_returned"  # the leader sent the draft back for changes
    UNASSIGN = "unassign"  # the assignee (or leader in charge) left or lost the case's unit: back to the queue
    REBIND = "rebind"  # an admin unbound the case's people from their Telegram accounts (store/policy.py)
    REPEAT = "repeat"  # staff confirmed a repeat petition of an earlier case's matter, or that it is not one


@dataclass(frozen=True)
class Rule:
    allowed_from: frozenset[Status]
    to: Status | None  # None: the status stays as it is
    roles: frozenset[ActorRole]
    public: bool  # shown on the petitioner's timeline


#: The actions that make a case (in the chat, or registered by staff): there was no case before them.
OPENING = frozenset({Action.SUBMIT, Action.REGISTER})
#: A case's answer (受理, 不予受理, 处理意见): the first one's moment is the case's ``first_answer_at``, which
#: 及时受理率 compares with the acceptance deadline (store/indicators.py; set by StoreContext.event).
FIRST_ANSWER = (Action.ACCEPT, Action.DECLINE, Action.DECIDE)

RULES: dict[Action, Rule] = {
    Action.SUBMIT: Rule(frozenset(), S.SUBMITTED, PETITIONER, True),
    Action.ACCEPT: Rule(frozenset({S.SUBMITTED}), S.ACCEPTED, STAFF, True),
    Action.DECLINE: Rule(frozenset({S.SUBMITTED}), S.DECLINED, STAFF, True),
    Action.ASSIGN: Rule(WORKING, None, STAFF, False),
    Action.REPLY: Rule(WORKING, None, STAFF, True),
    Action.NOTE: Rule(frozenset(Status), None, STAFF, False),
    Action.EXTEND: Rule(HANDLING, None, STAFF, True),
    Action.DECIDE: Rule(HANDLING, S.DECIDED, STAFF, True),
    # The clocks go with the case: accepted stays accepted, and no deadline restarts (docs/procedure.md).
    Action.TRANSFER: Rule(WORKING, None, STAFF, True),
    Action.WITHDRAW: Rule(WORKING, S.WITHDRAWN, PETITIONER, True),
    Action.ADD_INFO: Rule(WORKING, None, PETITIONER, True),
    Action.RECEPTION_NOTE: Rule(frozenset(Status), None, LEADERS, True),
    Action.RATE: Rule(frozenset({S.DECIDED}), None, PETITIONER, True),
    Action.COMMENT: Rule(frozenset({S.DECIDED, S.CLOSED}), None, PETITIONER, True),
    Action.CLOSE: Rule(frozenset({S.DECIDED}), S.CLOSED, SYSTEM | PETITIONER, True),
    Action.REQUEST_REVIEW: Rule(frozenset({S.DECIDED}), S.REVIEW, PETITIONER, True),
    Action.SERVE: Rule(frozenset({S.DECIDED}), None, STAFF | SYSTEM, True),
    Action.REVIEW_OPINION: Rule(frozenset({S.REVIEW}), S.DECIDED, LEADERS, True),
    Action.REQUEST_REREVIEW: Rule(frozenset({S.DECIDED}), S.REREVIEW, PETITIONER, True),
    Action.REREVIEW_OPINION: Rule(frozenset({S.REREVIEW}), S.CLOSED, LEADERS, True),
    Action.ESCALATE: Rule(frozenset(OPEN_STATUSES), None, SYSTEM, False),
    Action.FLAG: Rule(frozenset(Status), None, SYSTEM, False),
    Action.ACK_ALERT: Rule(frozenset(Status), None, LEADERS, False),
    Action.REVEAL: Rule(frozenset(Status), None, STAFF, False),
    Action.SUPERVISE: Rule(SUPERVISED, None, LEADERS, False),
    Action.PROGRESS: Rule(SUPERVISED, None, STAFF, False),
    Action.URGE: Rule(SUPERVISED, None, LEADERS, False),
    Action.FOLLOW_UP: Rule(ANSWERED, None, STAFF, False),
    Action.LEAD: Rule(SUPERVISED | {S.DECIDED}, None, LEADERS, False),
    Action.REDO: Rule(frozenset({S.DECIDED}), S.IN_PROGRESS, LEADERS, True),
    Action.INCIDENT_OPEN: Rule(frozenset(Status), None, SYSTEM | LEADERS, False),
    Action.INCIDENT_CLOSE: Rule(frozenset(Status), None, LEADERS, False),
    # Never public: the petitioner sees only the lead unit.
    Action.COHANDLE: Rule(WORKING, None, STAFF, False),
    Action.COHANDLE_OFF: Rule(frozenset(OPEN_STATUSES), None, STAFF, False),
    Action.LINK: Rule(frozenset(Status) - {S.MERGED}, None, STAFF, False),
    Action.UNLINK: Rule(frozenset(Status), None, STAFF, False),
    Action.MERGE: Rule(WORKING, S.MERGED, STAFF, True),
    Action.IMPORT: Rule(frozenset(), None, STAFF | SYSTEM, False),  # a record, never a button
    Action.JOIN: Rule(frozenset(Status) - {S.MERGED, S.WITHDRAWN, S.DECLINED}, None, STAFF, True),
    Action.REGISTER: Rule(frozenset(), S.SUBMITTED, STAFF, True),
    # Records of the ledger (store/ledger.py), in any status, never a button: no status is listed.
    Action.CLAIM: Rule(frozenset(), None, PETITIONER, False),
    Action.INFORM: Rule(frozenset(), None, STAFF, False),
    Action.CODES: Rule(frozenset(), None, STAFF, False),
    Action.UNASSIGN: Rule(frozenset(), None, STAFF, False),
    Action.DRAFT: Rule(frozenset(), None, STAFF, False),
    Action.DRAFT_RETURNED: Rule(frozenset(), None, STAFF, False),
    Action.REBIND: Rule(frozenset(), None, STAFF, False),
    # 重复信访 (store/repeats.py): the officer's word on the proposed earlier cases, internal.
    Action.REPEAT: Rule(frozenset(Status) - {S.MERGED}, None, STAFF, False),
    # 听证: the reviewing body's record in 复查 / 复核 (store/review.py checks the status), never a card button.
    Action.HEARING: Rule(frozenset(), None, STAFF, True),
    Action.HEARING_END: Rule(frozenset(), None, STAFF, True),
}

# A reply to the petitioner moves an accepted case into handling.
REPLY_MOVES = {S.ACCEPTED: S.IN_PROGRESS}


class TransitionError(Refused):
    """An action that the state machine refuses in the case's current status."""


def next_status(current: Status | None, action: Action, role: ActorRole) -> Status:
    """The status after ``action``, or TransitionError saying why not."""
    rule = RULES[action]
    if role not in rule.roles:
        raise TransitionError("forbidden")
    if action in OPENING:
        return S.SUBMITTED
    assert current is not None
    if current not in rule.allowed_from:
        raise TransitionError("wrong_status", status=current.value)
    if action is Action.REPLY:
        return REPLY_MOVES.get(current, current)
    return rule.to if rule.to is not None else current


def available_actions(current: Status, role: ActorRole) -> frozenset[Action]:
    """The actions ``role`` may take on a case in status ``current`` (for offering buttons)."""
    return frozenset(
        action
        for action, rule in RULES.items()
        if role in rule.roles and current in rule.allowed_from
    )
