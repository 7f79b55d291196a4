"""The one interface through which handlers and the bot reach the case store.

``Store`` names every public operation; ``store.service.SqliteStore`` is the
embedded implementation (SQLite, one process). A PostgreSQL implementation
for several bot instances implements the same Protocol; handlers and the bot
shell depend only on this, never on SQL. ``tests/test_store_interface.py``
keeps the two in step.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from store.clock import Clock
    from store.indicators import ExportData, StatsReport
    from store.journal import VerifyResult
    from store.models import (
        Actor,
        Attachment,
        AttachmentIn,
        Case,
        Decision,
        Draft,
        DraftData,
        Event,
        OutboxItem,
        Petitioner,
        SubmitResult,
    )
    from store.org import Organization, Staff, Unit
    from store.reception import (
        Booking,
        BookingResult,
        CancelResult,
        LeaderBooking,
        Session,
        SessionDetail,
        SessionDraft,
        TopicStep,
    )
    from store.review import Alert, AlertsView, Rating, SweepReport
    from store.selfservice import Addition, PetitionerView
    from store.staffwork import Relayed
    from store.workflow import Action


class Store(Protocol):
    """Cases, journal, outbox, drafts, preferences, reception days, indicators."""

    org: Organization
    clock: Clock
    tz: tzinfo
    # Called after a commit that queued notifications (the sender wakes up).
    on_queued: Callable[[], None] | None

    async def accept_outcome(self, actor: Actor, number: str) -> Case:
        """The petitioner accepts the (review) opinion instead of asking further: the case closes."""
        ...

    async def acknowledge_alert(self, actor: Actor, alert_id: int) -> Alert: ...

    async def act(
        self,
        actor: Actor,
        number: str,
        action: Action,
        *,
        body: str | None = None,
        decision: Decision | None = None,
        days: int | None = None,
        unit: str | None = None,
        assignee_id: int | None = None,
    ) -> Case:
        """Take ``action`` on a case: check who, check the state machine, write it all."""
        ...

    def actor(self, user_id: int, name: str = "") -> Actor:
        """The caller as the organisation file sees them: staff role or petitioner."""
        ...

    async def add_info(
        self,
        actor: Actor,
        number: str,
        text: str | None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> Case:
        """The petitioner adds text and/or files to an open case."""
        ...

    async def add_information(
        self,
        user_id: int,
        number: str,
        *,
        text: str | None,
        attachments: list[AttachmentIn] | None = None,
        key: str,
        end_prompt: bool = False,
    ) -> Addition:
        """Append text and/or files from one message of the petitioner to their case."""
        ...

    async def alert_by_id(self, alert_id: int) -> Alert | None:
        """An alert for rendering its notification (the recipients were chosen by scope)."""
        ...

    async def alerts_for(self, actor: Actor) -> AlertsView:
        """Unacknowledged collective-petition alerts and long-running cases in the leader's scope."""
        ...

    async def assign_to(self, actor: Actor, number: str, who: str) -> Case:
        """/assign: the staff member by id or name, then the ASSIGN action."""
        ...

    async def assignable_staff(self, actor: Actor, number: str) -> tuple[Case, list[Staff]]:
        """Who the case may be assigned to (everyone in scope for it)."""
        ...

    async def attachments(self, case_id: int) -> list[Attachment]: ...

    async def begin_booking(self, actor: Actor, session_id: int) -> Session:
        """Check the session can be booked by the caller, and remember that they are booking it."""
        ...

    async def begin_outcome(self, actor: Actor, booking_id: int) -> LeaderBooking:
        """Check the caller may record this booking's outcome now, and remember they are doing so."""
        ...

    async def begin_publish(self, actor: Actor) -> SessionDraft:
        """Start publishing a session; a leader publishes for themselves."""
        ...

    async def begin_session_cancel(self, actor: Actor, session_id: int) -> Session: ...

    async def book(
        self,
        actor: Actor,
        session_id: int,
        topic: str,
        *,
        case_id: int | None = None,
        name: str = "",
        key: str | None = None,
    ) -> BookingResult:
        """Take a slot, or a place on the waitlist when the session is full."""
        ...

    async def booking_of(self, actor: Actor, booking_id: int) -> tuple[Booking, Session]:
        """One of the caller's own bookings; NotFound for anyone else's."""
        ...

    async def cancel_booking(self, actor: Actor, booking_id: int) -> CancelResult:
        """The employee cancels their booking; the first on the waitlist moves up and is told."""
        ...

    async def cancel_session(
        self, actor: Actor, session_id: int, reason: str
    ) -> tuple[Session, int]:
        """Cancel a session with a reason; everyone booked or waiting is told. Returns (session, how many told)."""
        ...

    async def canned_text(self, actor: Actor, number: str, canned_id: str) -> tuple[Case, str]:
        """A canned reply as the petitioner will read it (in their language)."""
        ...

    async def case_by_id(self, case_id: int) -> Case | None: ...

    async def queue_receipt(self, case_id: int) -> None:
        """Queue the petitioner's receipt for the outbox (once per case)."""
        ...

    async def case_by_submit_key(self, user_id: int, submit_key: str) -> Case | None:
        """The case a draft became, for answering a redelivered Submit."""
        ...

    async def case_for(self, viewer: Actor, number: str) -> Case:
        """The case by number if the viewer may see it; NotFound either way otherwise."""
        ...

    async def case_history(self, actor: Actor, number: str) -> list[Case]:
        """Every case of the same petitioner that the viewer may see, newest first."""
        ...

    async def case_id_for_message(self, chat_id: int, message_id: int) -> int | None:
        """The case a message of the bot belongs to, if it was recorded."""
        ...

    async def cases_of_petitioner(
        self, user_id: int, offset: int = 0, limit: int = 10
    ) -> tuple[list[Case], int]: ...

    async def check_action(self, actor: Actor, number: str, action: Action) -> Case:
        """The case, if ``actor`` may take ``action`` on it now; else why not."""
        ...

    async def clear_prompt(self, user_id: int) -> None: ...

    async def clear_reception_draft(self, user_id: int) -> None: ...

    async def close(self) -> None: ...

    async def comment_rating(self, actor: Actor, number: str, text: str) -> Case:
        """The petitioner's optional words on the handling, once, after rating."""
        ...

    async def discard_draft(self, user_id: int) -> None: ...

    async def edit_publish_draft(self, actor: Actor, **changes: Any) -> SessionDraft:
        """Set some fields of the session being published; each value is checked as it is given."""
        ...

    async def event(self, event_id: int) -> Event | None: ...

    async def export_data(
        self, actor: Actor, unit: str | None = None, period: str | None = None
    ) -> ExportData:
        """/export and ``petition-bot report``: the indicators and the cases received in the period."""
        ...

    def find_staff(self, query: str) -> list[Staff]:
        """Staff meant by ``query``: a Telegram id, or a name (exact, any case)."""
        ...

    def find_units(self, query: str) -> list[Unit]:
        """Units meant by ``query``: an id, or a Chinese or English name (any case)."""
        ...

    async def finish_booking(
        self, actor: Actor, case_id: int | None, name: str = ""
    ) -> BookingResult:
        """Book with the topic already given, linking one of the employee's cases (or none)."""
        ...

    async def get_draft(self, user_id: int) -> Draft | None: ...

    async def get_prompt(self, user_id: int) -> tuple[str, str] | None: ...

    async def indicators(
        self, actor: Actor, unit: str | None = None, period: str | None = None
    ) -> StatsReport:
        """/stats: a row per chosen unit (its subtree) and per subunit, plus the monthly trend."""
        ...

    async def load_conversations(self, name: str) -> dict[str, str]: ...

    async def mark_failed(self, item_id: int, error: str) -> None: ...

    async def mark_progress(self, item_id: int, progress: int) -> None:
        """Record how many messages of a multi-message item are out, so a retry skips them."""
        ...

    async def mark_retry(self, item_id: int, delay_seconds: float, error: str) -> None: ...

    async def mark_sent(self, item_id: int) -> None: ...

    async def my_reception_bookings(self, user_id: int) -> list[tuple[Booking, Session]]:
        """The employee's active bookings for sessions that have not ended."""
        ...

    async def open_cases_for(
        self, actor: Actor, offset: int = 0, limit: int = 10
    ) -> tuple[list[Case], int]:
        """An officer's queue: open cases in scope, nearest deadline first."""
        ...

    async def pending_notifications(
        self, limit: int = 100, per_chat: int | None = None
    ) -> list[OutboxItem]:
        """Unsent notifications in order, at most ``per_chat`` of each chat; the sender keeps per-chat order."""
        ...

    async def petitioner_case(self, user_id: int, number: str) -> PetitionerView:
        """The petitioner's own case by number; anyone else's answers NotFound."""
        ...

    async def pseudonym(self, user_id: int) -> str: ...

    async def publish_draft(self, actor: Actor) -> SessionDraft: ...

    async def publish_session(self, actor: Actor, draft_id: str) -> tuple[Session, bool]:
        """Publish the drafted session, once per draft: (session, created)."""
        ...

    async def queue_due_reminders(self) -> int:
        """Queue the reminders that are due now: the day before, and two hours before."""
        ...

    async def rate(self, actor: Actor, number: str, rating: Rating) -> Case:
        """The petitioner rates the written opinion; satisfied (or basically) closes the case."""
        ...

    async def reception_draft(self, user_id: int) -> dict[str, Any] | None:
        """The user's unfinished reception step (publishing, booking, outcome, cancelling)."""
        ...

    def reception_leaders(self, actor: Actor) -> list[Staff]:
        """For whom the caller may publish: a leader for themselves, an administrator for any leader or themselves."""
        ...

    async def reception_notice(self, booking_id: int) -> tuple[Booking, Session] | None:
        """A booking and its session for rendering a notification to its employee."""
        ...

    async def reception_session(self, session_id: int) -> Session: ...

    def reception_units(self, leader_id: int) -> list[str]:
        """Where browsing for a unit to visit starts: the leader's own units (all roots for an administrator)."""
        ...

    async def record_outcome(self, actor: Actor, booking_id: int, outcome: str) -> LeaderBooking:
        """Record what came of the meeting; on a linked case it becomes a journal event, in the same transaction."""
        ...

    async def relay_reply(
        self,
        user_id: int,
        chat_id: int,
        reply_to_id: int,
        message_id: int,
        text: str | None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> Relayed | None:
        """Pass a Telegram reply to a case message on to the other side of the case."""
        ...

    async def remember_messages(self, chat_id: int, message_ids: list[int], case_id: int) -> None:
        """Record that these messages of the bot in ``chat_id`` are about ``case_id``."""
        ...

    async def reply_canned(self, actor: Actor, number: str, canned_id: str) -> Case:
        """Send a canned reply to the petitioner: a REPLY whose text is the canned one."""
        ...

    async def request_review(self, actor: Actor, number: str, reason: str) -> Case:
        """Ask for review (复查) after the written opinion, or re-review (复核) after the review opinion."""
        ...

    async def requeue_failed(self, chat_id: int) -> int:
        """Give undeliverable notifications another chance once the user is reachable."""
        ...

    async def review_opinion(
        self, actor: Actor, number: str, decision: Decision, text: str
    ) -> Case:
        """The review (复查) or re-review (复核) opinion, by the designated leaders."""
        ...

    def reviewers(self, case: Case, level: int) -> list[Staff]:
        """Who gives the review (level 1) or re-review (level 2) opinion."""
        ...

    async def save_conversation(self, name: str, key: str, state: str | None) -> None:
        """Conversation state for PTB; ending a conversation keeps any draft data."""
        ...

    async def save_draft(
        self, user_id: int, step: str, data: DraftData, update_id: int | None = None
    ) -> None:
        """Write the draft and the step it is at, before the next question is asked."""
        ...

    async def session_detail(self, actor: Actor, session_id: int) -> SessionDetail:
        """A session with its bookings and topics, for its leader or an administrator."""
        ...

    async def sessions_for(self, actor: Actor) -> list[Session]:
        """The caller's sessions (all of them for an administrator): upcoming and recently held."""
        ...

    async def set_language(self, user_id: int, language: str) -> None: ...

    async def set_prompt(self, user_id: int, kind: str, number: str) -> None:
        """Remember that the user's next text answers ``kind`` for case ``number``."""
        ...

    def split_unit(self, text: str) -> tuple[list[Unit], str]:
        """A unit at the start of ``text`` (the longest run of words naming one) and the rest."""
        ...

    async def submit(
        self, petitioner: Petitioner, draft: DraftData, submit_key: str
    ) -> SubmitResult:
        """Store a complete draft as a new case, once per ``submit_key``."""
        ...

    async def submit_topic(self, actor: Actor, topic: str, name: str = "") -> TopicStep:
        """The topic of the booking being made: book now, or offer the employee's cases to link."""
        ...

    async def sweep(self) -> SweepReport:
        """Reminders, escalations, lapsed windows and the weekly digest, as of the store clock."""
        ...

    async def sync_reception_config(self) -> int:
        """Bring the organisation file's [[reception]] sessions into the store; returns how many changed."""
        ...

    async def timeline(self, case_id: int, *, public_only: bool) -> list[Event]: ...

    async def touch_user(
        self,
        user_id: int,
        *,
        tg_language: str | None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> None: ...

    async def transfer_to(self, actor: Actor, number: str, where_and_reason: str) -> Case:
        """/transfer: the unit (id or name) at the start of the text, the reason after it."""
        ...

    async def unreachable_chats(self) -> list[int]:
        """Chats whose notifications were set aside because Telegram could not reach them."""
        ...

    async def upcoming_sessions(self, limit: int = 20) -> list[Session]:
        """Open sessions that have not started, soonest first."""
        ...

    async def user_language(self, user_id: int) -> str | None:
        """The chosen language, else the last one Telegram reported, else None."""
        ...

    async def verify_journal(self) -> VerifyResult: ...

    async def withdraw(self, user_id: int, number: str) -> tuple[Case, bool]:
        """Withdraw the petitioner's case (撤回); a repeated request is a no-op."""
        ...
