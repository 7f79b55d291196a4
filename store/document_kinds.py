"""The formal documents by kind, and what each one's text may name: below the organisation file, which checks them.

``store.org`` validates the document texts an organisation file overrides
against :data:`FIELDS` and :data:`REQUIRED`; ``store.documents`` builds the
documents. Both import this module, which imports neither.
"""

from __future__ import annotations

from enum import StrEnum


class DocumentKind(StrEnum):
    """The documents, by the name the organisation file and ``/document`` use."""

    ACCEPTED = "accepted"  # 受理告知书 (Art. 22-23)
    DECLINED = "declined"  # 不予受理告知书: the reason and where else to turn
    EXTENDED = "extended"  # 延期告知书 (Art. 34)
    OPINION = "opinion"  # 信访处理意见书: the right to ask for review (Art. 35)
    REVIEW = "review"  # 复查意见书: the right to ask for re-review (Art. 36)
    REREVIEW = "rereview"  # 复核意见书
    FINAL = "final"  # 信访事项终结告知书: not accepted again (Art. 36)


# What a document's text may name ({placeholders} of its template), and what it must.
_COMMON = frozenset({"org", "number", "name", "subject", "unit", "category", "received", "issued"})
FIELDS: dict[DocumentKind, frozenset[str]] = {
    DocumentKind.ACCEPTED: _COMMON | {"due"},
    # {reason}: the [[decline_reasons]] text; {destination}: where to turn, with the address (诉访分离).
    DocumentKind.DECLINED: _COMMON | {"text", "reason", "destination"},
    # {approved}: "经批准，" where a leader approved the extension (签发, store/approvals.py), else nothing.
    DocumentKind.EXTENDED: _COMMON | {"due", "days", "text", "approved"},
    # {until}: "（<due>前）" once the opinion is served (送达), else nothing: the window counts from receipt.
    # {reviewer}: the body that reviews next (store.org.Organization.reviewing_unit, or the review_body).
    # {request}, {facts}, {basis}: 信访人诉求, 查明事实, 处理依据 (Art. 32).
    DocumentKind.OPINION: _COMMON | {"due", "until", "window", "decision", "text", "reviewer", "request", "facts",
                                     "basis"},
    # {request}, {facts}, {basis}: what the petitioner asks the reviewing body, the facts it found, the basis
    # (Art. 35 复查, Art. 36 复核).
    DocumentKind.REVIEW: _COMMON | {"due", "until", "window", "decision", "text", "reviewer", "request", "facts",
                                    "basis"},
    DocumentKind.REREVIEW: _COMMON | {"decision", "text", "request", "facts", "basis"},
    DocumentKind.FINAL: _COMMON,
}
#: A template without {text} would drop the reason or the opinion the officer wrote.
REQUIRED: dict[DocumentKind, frozenset[str]] = {
    kind: frozenset({"text"}) & fields for kind, fields in FIELDS.items()
}

__all__ = ["FIELDS", "REQUIRED", "DocumentKind"]
