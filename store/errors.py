"""Refusals the store gives, each with a code the handlers turn into text."""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """A refused request. ``code`` keys the user-facing text; ``params`` fill it."""

    code = "error"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        self.code = code or self.code
        self.params = params
        super().__init__(self.code, params)


class NotFound(StoreError):
    """No such case, or one the caller may not see: the two answer alike."""

    code = "not_found"


class Refused(StoreError):
    """The case exists and is visible, but this action is not allowed now."""

    code = "refused"


class AwaitingApproval(StoreError):
    """The act was drafted, not done: it waits for a leader's approval (签发) and goes out once approved."""

    code = "awaiting_approval"
