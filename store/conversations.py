"""The names of the persistent conversations, once.

A name keys the rows of the ``conversations`` table: PTB's persistence keeps
each conversation's step there (``bot.persistence``), ``ConversationHandler``
is registered under it (``handlers``), and the store keeps the draft or the
pending prompt that goes with the step in the same row. The values are what
existing databases hold, so they must never change.

The store is the lowest layer that needs them, hence they live here.
"""

from __future__ import annotations

from enum import StrEnum


class Conversation(StrEnum):
    INTAKE = "intake"  # a new petition, step by step (handlers.intake)
    PROMPT = "prompt"  # one typed answer to a button: a reply, a note, added text (handlers.prompts)
    RECEPTION = "reception"  # reception days: the lists; the typed steps of older versions (handlers.reception)
    SCREENING = "screening"  # filing and updating a screening dispute (handlers.screening)
    REGISTER = "register"  # staff register a letter, visit or call, step by step (handlers.register)
    OPINION = "opinion"  # a written opinion's parts or a decline's grounds, step by step (handlers.opinion)
    REVIEW_OPINION = "review_opinion"  # a 复查 / 复核 opinion's parts, step by step (handlers.review_opinion)
    RECEPTION_BOOKING = "reception_booking"  # an employee books a reception session, step by step (handlers.reception)
    RECEPTION_PUBLISH = "reception_publish"  # a leader publishes a reception session, step by step (handlers.reception)
    RECEPTION_OUTCOME = "reception_outcome"  # a leader records what came of a booking (handlers.reception)
    RECEPTION_CANCEL = "reception_cancel_session"  # a leader cancels a session with a reason (handlers.reception)

    @property
    def step_kept_by_store(self) -> bool:
        """Whether the handlers write this conversation's step with its draft, through the store.

        For these, PTB's periodic persistence must not write the step: it runs
        beside update handling and writes a snapshot taken earlier, which would
        overwrite the step a handler has just stored with its draft (the next
        answer would then be filed under the previous question). Every form is
        of this kind (the reception booking, publishing, outcome and cancellation too); reception keeps
        only the typed steps of older versions, handed to those forms, and lets PTB keep the step.
        """
        return self is not Conversation.RECEPTION
