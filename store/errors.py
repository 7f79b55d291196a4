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


class DraftWaiting(Refused):
    """A draft of the case already waits for approval (签发): no second one until it is decided."""

    code = "draft_waiting"


class BadInput(Refused):
    """What was typed cannot be taken as it is (empty, too long: ``max`` and ``length`` say by how much).

    Nothing changed and the question stands: a form or a prompt asks it again,
    where any other refusal ends it.
    """

    code = "text_required"


class NoDraft(Refused):
    """The form being answered is gone: finished, cancelled, begun on another device, or no longer the caller's.

    A button of it answers "expired" rather than a refusal; a typed answer ends the conversation.
    """

    code = "reception_no_draft"


class ContactNeeded(Refused):
    """A claim the registered person's phone must confirm: the handler asks for the contact Telegram attests."""

    code = "claim_contact_needed"


class NotOwnContact(Refused):
    """A contact shared that is not the sender's own account's: only Telegram's attestation of one's own counts."""

    code = "verify_not_own"
