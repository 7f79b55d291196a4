"""Flood protection: at most N messages per user in a sliding window.

In memory, per process: chat traffic control, not a record, so it lives
with the handler that uses it (``handlers/limits.py``), not in the store.

Pure and synchronous: the caller passes the time, so it is tested without
sleeping and works with any clock. Refused messages do not count against
the window, so a user who pauses gets through again as soon as their older
messages have left it. The first refusal in a row says so once; further
refusals until a message is allowed again are silent, so a flood is not
answered with a flood.
"""

from __future__ import annotations

from collections import deque
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    REFUSE_AND_TELL = "refuse_and_tell"  # the first refused message: answer politely
    REFUSE_SILENTLY = "refuse_silently"  # already told; drop without answering


class MessageLimiter:
    """At most ``limit`` messages per ``window`` seconds for each key (a Telegram user id)."""

    def __init__(self, limit: int, window: float = 60.0, *, sweep_every: int = 1000) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self._hits: dict[int, deque[float]] = {}
        self._told: set[int] = set()
        self._sweep_every = sweep_every
        self._calls = 0

    def check(self, key: int, now: float) -> Verdict:
        """Count a message from ``key`` at time ``now`` (seconds) if it is allowed."""
        self._calls += 1
        if self._calls % self._sweep_every == 0:
            self.sweep(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            self._told.discard(key)
            return Verdict.ALLOW
        if key in self._told:
            return Verdict.REFUSE_SILENTLY
        self._told.add(key)
        return Verdict.REFUSE_AND_TELL

    def sweep(self, now: float) -> None:
        """Forget users with no message inside the window (keeps memory bounded)."""
        stale = [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]
        for key in stale:
            del self._hits[key]
            self._told.discard(key)

    def __len__(self) -> int:
        return len(self._hits)
