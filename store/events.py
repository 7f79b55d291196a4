"""Domain events: how one capability reacts to another without holding a reference to it.

A service publishes an event inside its own transaction; the subscribers,
registered once where the services are built (``store.services``, in one
visible order), run in that same transaction on the same connection. What
they write commits or rolls back with the change that caused it, and the
publisher never imports them: the ledger follows the deadline sweep, the
incident plan follows the dispute screening, without either knowing the
other.

Events are plain frozen values. The one exception is :class:`PetitionerNotice`,
which a subscriber may take over (``taken``): the outbox then writes no row of
its own, because the subscriber told everyone in the case another way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from store.db import Connection
from store.models import Case
from store.notices import NoticeKind
from store.workflow import Action


class SweepReport(BaseModel):
    """What one deadline sweep did (``ReviewService.sweep``), counted by every part that swept."""

    reminders: int = 0
    escalations: int = 0
    closed: int = 0
    digests: int = 0
    warnings: int = 0  # graded-warning levels told (store.supervision)


@dataclass(frozen=True)
class SweepDue:
    """The deadline sweep runs: each capability with clocks of its own sweeps them in the same transaction."""

    today: date
    report: SweepReport


@dataclass(frozen=True)
class CaseChanged:
    """A case row or its journal changed: whatever is stored from it (the queue's rank) is brought up to date.

    ``inserted``: the row of a case inserted in this transaction, as its INSERT returned it (nothing stored
    from it yet), so that a subscriber need not read it back.
    """

    case_id: int
    today: date
    inserted: Case | None = None


@dataclass(frozen=True)
class Journaled:
    """An event was appended to a case's journal (``StoreContext.event``): whoever follows the case
    beyond its handlers hears of it (the leader in charge, ``store.supervision.tell_leader_in_charge``)."""

    case_id: int
    event_id: int
    action: Action
    actor_id: int | None
    inserted: bool = False  # the case was inserted in this transaction (``StoreContext.event``'s ``inserted``)


@dataclass(frozen=True)
class DisputeHighRisk:
    """A screened dispute became high-risk (or was filed so): the incident plan decides whether to open."""

    ref: str  # the dispute's reference, "#<id>"
    people: int
    unit: str


@dataclass
class PetitionerNotice:
    """A notice is about to be queued for a case's petitioner: someone may tell the case's people instead."""

    chat_id: int
    kind: NoticeKind
    case_id: int
    event_id: int | None
    params: dict[str, Any]
    taken: bool = field(default=False)


E = TypeVar("E")
Subscriber = Callable[[Connection, E], Awaitable[None]]


class EventBus:
    """Subscribers by event type, called in order of subscription, inside the publisher's transaction."""

    def __init__(self) -> None:
        self._subscribers: dict[type, list[Callable[[Connection, Any], Awaitable[None]]]] = {}

    def subscribe(self, kind: type[E], subscriber: Subscriber[E]) -> None:
        self._subscribers.setdefault(kind, []).append(subscriber)

    def has_subscribers(self, kind: type) -> bool:
        return bool(self._subscribers.get(kind))

    async def publish(self, conn: Connection, event: object) -> None:
        for subscriber in self._subscribers.get(type(event), []):
            await subscriber(conn, event)
