"""The written opinion's parts and a decline's grounds (《信访工作条例》 Art. 21-22, 32).

A 信访处理意见书 states the petitioner's request (信访人诉求), the facts found
(查明事实), the basis in law, regulation or policy (处理依据) and the outcome
(处理意见: the decision and its text, the event's body). :class:`OpinionParts`
holds the first three; ``CaseService.act`` records them in the decision's
event (journaled with it), a held draft keeps them for its approver
(store/drafts.py), and documents and the webapp read them back from the event.
A 复查 / 复核 opinion states the same three parts (the request being what the
petitioner asks the reviewing body, Art. 35-36): ``ReviewService`` records
them in its event too, checked with ``required_parts(parts, review=True)``.

A 不予受理 gives a reason from ``[[decline_reasons]]`` and, when the reason
sends the matter elsewhere (诉访分离), the body the petitioner should turn to
from ``[[destinations]]`` (:class:`DeclineGrounds`). The event keeps a copy of
the reason's text and the destination's name and address as they were on the
day, so a document made later says what was decided then, whatever the
organisation file says by then.

The chat forms (``/decide`` and ``/decline`` step by step, handlers/opinion.py)
keep their drafts through the form engine (store/forms.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from store.errors import OpinionIncomplete, Refused, ReviewIncomplete
from store.org import Organization
from store.safetext import SafeText

#: The longest request, facts or basis (the opinion text is the event's body, as before).
PART_MAX = 4000
#: The longest note under a decline's reason.
NOTE_MAX = 2000


class OpinionParts(BaseModel):
    """信访人诉求, 查明事实 and 处理依据 of a written opinion (Art. 32)."""

    request: SafeText
    facts: SafeText
    basis: SafeText

    def check(self, review: bool = False) -> OpinionParts:
        """Every part said (Refused naming the missing part), none too long.

        ``review``: the parts of a 复查 / 复核 opinion (``ReviewIncomplete``, its own words).
        """
        kind, prefix = (ReviewIncomplete, "review") if review else (OpinionIncomplete, "opinion")
        for value, part in ((self.request, "request"), (self.facts, "facts"), (self.basis, "basis")):
            if not value.strip():
                raise kind(f"{prefix}_{part}_required")
            if len(value) > PART_MAX:
                raise Refused("opinion_part_long", max=PART_MAX)
        return self


def required_parts(parts: OpinionParts | None, review: bool = False) -> OpinionParts:
    """The parts of an opinion about to be issued, each checked: a store rule, whoever the caller.

    ``OpinionIncomplete`` when none were given or one is blank after stripping (Art. 32);
    ``review``: a 复查 / 复核 opinion's (Art. 35-36), ``ReviewIncomplete``.
    """
    if parts is None:
        raise ReviewIncomplete() if review else OpinionIncomplete()
    return parts.check(review)


class DeclineGrounds(BaseModel):
    """Why a matter is not accepted (a ``[[decline_reasons]]`` id) and where to turn (a ``[[destinations]]`` id)."""

    reason: str
    destination: str | None = None


def decline_data(org: Organization, grounds: DeclineGrounds | None, note: str | None) -> dict[str, Any]:
    """What a 不予受理's event records (``store.event_data.DeclineData``'s fields), each rule checked (Refused otherwise).

    A reason from the list is required; a reason that sends the matter
    elsewhere needs a destination from the list; one that does not may name
    one; a reason that says nothing by itself (其他) needs the note.
    """
    if grounds is None or not grounds.reason:
        raise Refused("decline_reason_required")
    reason = org.find_decline_reason(grounds.reason)
    if reason is None:
        raise Refused("decline_reason_unknown")
    if reason.note and not (note and note.strip()):
        raise Refused("decline_note_required")
    if note is not None and len(note) > NOTE_MAX:
        raise Refused("decline_note_long", max=NOTE_MAX)
    data: dict[str, Any] = {"reason": reason.id, "reason_text": reason.text}
    if reason.note:
        data["reason_is_note"] = True  # 其他: the note is the reason the notice gives
    if grounds.destination is None:
        if reason.redirect:
            raise Refused("destination_required")
        return data
    destination = org.find_destination(grounds.destination)
    if destination is None:
        raise Refused("destination_unknown")
    data["destination"] = destination
    return data
