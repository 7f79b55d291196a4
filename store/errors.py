"""Refusals the store gives, each with a code the handlers turn into text."""

from __future__ import annotations

from typing import Any

from store.document_kinds import DocumentKind


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


class Forbidden(Refused):
    """Who asks may not do this at all (their role or relation to the case), as against "not now".

    The Mini App answers it 403 (``bot/webapp.py``), any other refusal 400.
    """

    code = "forbidden"


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


class NoDocument(Refused):
    """The case has no document of the ``kind`` asked (or, ``kind`` None, none at all) yet.

    ``/document`` words it by the kind (尚无受理告知书 / 尚未进入需要书面告知的环节), which the error carries typed.
    """

    code = "document_none"

    def __init__(self, *, number: str, kind: DocumentKind | None) -> None:
        super().__init__(number=number, kind=kind.value if kind else "")
        self.number = number
        self.kind = kind


class NoFile(Refused):
    """The case holds no file of that id (or not one the asker may fetch): a link that leads nowhere."""

    code = "file_none"

    def __init__(self, *, number: str) -> None:
        super().__init__(number=number)
        self.number = number


class OpinionIncomplete(Refused):
    """A written opinion that would reach the petitioner without a part Art. 32 requires.

    A 处理意见书 states the petitioner's request (信访人诉求), the facts found (查明事实) and the
    basis (处理依据), each said (not blank); without them the store issues no opinion, whoever
    asks (the chat's form, the Mini App, an approval). The code names the missing part
    (``opinion_request_required``, ``opinion_facts_required``, ``opinion_basis_required``), or
    ``opinion_parts_required`` when none was given at all.
    """

    code = "opinion_parts_required"


class ReviewIncomplete(OpinionIncomplete):
    """A 复查 / 复核 opinion that would reach the petitioner without its request, facts or basis.

    The reviewing body's opinion (《信访工作条例》 Art. 35 复查, Art. 36 复核) states what the
    petitioner asks it (信访请求), the facts it found (查明事实) and the basis (处理依据), beside the
    outcome and the collective study; without them the store issues no review opinion and keeps no
    draft of one, whoever asks. Codes ``review_request_required``, ``review_facts_required``,
    ``review_basis_required``, or ``review_parts_required`` when none was given (a draft written
    before the parts were asked, too).
    """

    code = "review_parts_required"
