"""The case state machine, as data.

Every action a person or the system can take on a case is a row here: from
which statuses it is allowed, the status it leads to, who may take it and
whether it appears on the petitioner's timeline. ``store.cases`` consults this
table before every change, so no handler decides what is legal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from store.errors import Refused
from store.models import ActorRole, Status

S = Status
STAFF = frozenset({ActorRole.OFFICER, ActorRole.LEADER, ActorRole.ADMIN})
PETITIONER = frozenset({ActorRole.PETITIONER})
SYSTEM = frozenset({ActorRole.SYSTEM})
LEADERS = frozenset({ActorRole.LEADER, ActorRole.ADMIN})
WORKING = frozenset({S.SUBMITTED, S.ACCEPTED, S.IN_PROGRESS})
HANDLING = frozenset({S.ACCEPTED, S.IN_PROGRESS})


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


@dataclass(frozen=True)
class Rule:
    allowed_from: frozenset[Status]
    to: Status | None  # None: the status stays as it is
    roles: frozenset[ActorRole]
    public: bool  # shown on the petitioner's timeline


RULES: dict[Action, Rule] = {
    Action.SUBMIT: Rule(frozenset(), S.SUBMITTED, PETITIONER, True),
    Action.ACCEPT: Rule(frozenset({S.SUBMITTED}), S.ACCEPTED, STAFF, True),
    Action.DECLINE: Rule(frozenset({S.SUBMITTED}), S.DECLINED, STAFF, True),
    Action.ASSIGN: Rule(WORKING, None, STAFF, False),
    Action.REPLY: Rule(WORKING, None, STAFF, True),
    Action.NOTE: Rule(frozenset(Status), None, STAFF, False),
    Action.EXTEND: Rule(HANDLING, None, STAFF, True),
    Action.DECIDE: Rule(HANDLING, S.DECIDED, STAFF, True),
    Action.TRANSFER: Rule(WORKING, S.SUBMITTED, STAFF, True),
    Action.WITHDRAW: Rule(WORKING, S.WITHDRAWN, PETITIONER, True),
    Action.ADD_INFO: Rule(WORKING, None, PETITIONER, True),
    Action.RECEPTION_NOTE: Rule(frozenset(Status), None, LEADERS, True),
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
    if action is Action.SUBMIT:
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
