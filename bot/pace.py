"""One bot-wide pace with answers first, and bounded retries for answers.

Every Bot API request goes through PTB's rate limiter (``AIORateLimiter``),
subclassed here for three things PTB's own does not do:

* **Priority.** Telegram allows a bot about 30 messages a second in all. An
  answer to a person's own tap or text takes the next free slot of that pace;
  the outbox (whose sends carry ``rate_limit_args=BULK``) takes a slot only
  when no answer is waiting, so a burst of reminders or a digest never holds up
  an employee's next intake step. PTB's overall limiter is a single FIFO
  bucket, so it is switched off and :class:`Pace` does the bot-wide pace.
* **Bounded retries for answers.** A person is waiting, and the outbox's
  persistent retries do not apply to an answer. After a 429 the answer is
  tried again once Telegram's retry_after has passed; after a 5xx or a
  dropped connection it is tried again after a backoff (0.25 s, doubling up
  to 2 s); after a time-out, which Telegram may have delivered, twice more
  only; all within ``answer_budget`` seconds (about 10). PTB's
  ``max_retries`` covers only the 429 and has no time bound, and
  ``rate_limit_args=0`` cannot ask it for none, so the loop lives here, once,
  instead of in every handler. Only when it is exhausted does the error reach
  the handler (and the user read 系统繁忙).
* **Flood pause, per chat first.** A 429 does not say whether it is the
  chat's limit or the bot's. A 429 on a request to one chat is taken as that
  chat's own: nothing more leaves for that chat until retry_after has passed,
  while every other chat goes on. Only when 429s come for
  :data:`FLOOD_CHATS` different chats within :data:`FLOOD_WINDOW_SECONDS`,
  and for at least :data:`FLOOD_SHARE` of the requests sent in that window
  (the bot's limit refuses nearly everything; chats' own limits a few), or for
  a request that names no chat, is it the bot-wide limit, and then
  nothing leaves until retry_after has passed (with ``max_retries=0`` PTB's
  limiter would let queued requests out at once and prolong the ban). A 5xx
  retried for one chat's answer waits in that chat's own update only: the
  updates of other chats run beside it (bot/updates.py).

Outbox sends are never retried here: the outbox persists its own retries.
A send retried after a time-out may arrive twice if Telegram did deliver the
first; the Bot API has no idempotency key, and a person shown a question twice
is better off than one shown none.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

#: ``rate_limit_args`` of a bulk send (the outbox): lowest priority, no retries here.
BULK = "bulk"
#: Telegram allows about 30 messages a second; 28 leaves a margin.
DEFAULT_PER_SECOND = 28.0
#: Groups: 20 messages per minute. A leaky bucket of 5 that drains one every
#: 4 s lets a few notices out at once and never more than 5 + 15 in any minute.
GROUP_BURST = 5
GROUP_INTERVAL_SECONDS = 4.0
#: An answer to a waiting person: all its attempts within this many seconds.
ANSWER_BUDGET_SECONDS = 10.0
#: After a 5xx or a dropped connection (the message did not go): this many more attempts, after
#: 0.25 s, 0.5 s, 1 s, then 2 s each (7.75 s in all, within the answer's budget). Three 5xx in a row
#: are rare but not at a 10 % fault rate: two retries told a person "system busy" (bench.faults).
SERVER_RETRIES = 6
SERVER_BACKOFF_SECONDS = 0.25
SERVER_BACKOFF_MAX_SECONDS = 2.0
#: After a time-out, which Telegram may have delivered (a retry may show it twice): two more only.
TIMEOUT_RETRIES = 2
#: 429s for this many different chats within the window below, and for at least this share
#: of the requests sent in it, are the bot-wide limit: it refuses nearly everything. Ten busy
#: chats each meeting its own limit now and then are not, even when most of them met it within
#: the window. Counted by chats, as before, ten chats at 15 % random 429s still met "eight of
#: ten" now and then and the whole bot paused a second (bench.faults); by requests, such chats
#: are refused about one request in six, the bot's limit nearly all.
FLOOD_CHATS = 3
FLOOD_SHARE = 0.8
FLOOD_WINDOW_SECONDS = 2.0
#: Methods whose success means the person got an answer.
ANSWERING = ("send", "edit", "copyMessage", "forwardMessage")


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asked to wait (PTB 22 warns that the attribute becomes a timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        delay: Any = error.retry_after
    return delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)


class Pace:
    """``per_second`` messages a second bot-wide, answers first.

    One slot every 1/``per_second`` s with a capacity of one, so no sliding
    second holds more than ``per_second`` sends. An urgent request takes the
    next free slot; a bulk request takes one only while no urgent request is
    waiting for it.
    """

    def __init__(self, per_second: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.interval = 1.0 / per_second
        self._monotonic = monotonic
        self._next = 0.0
        self._urgent = 0
        self._last_answer: asyncio.Future[None] | None = None  # settled when the latest answer has gone

    @property
    def urgent_waiting(self) -> int:
        return self._urgent

    async def acquire(self, urgent: bool) -> None:
        if urgent:
            # An answer reserves the next free slot at once and sleeps until it: one wake-up each,
            # however many answers wait (they used to wake together at every slot, one taking it).
            # And answers go in the order they came: one whose slot had already passed when it
            # came (the loop was busy) waits for the answer before it, which was woken late.
            now = self._monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
            loop = asyncio.get_running_loop()
            before, mine = self._last_answer, loop.create_future()
            self._last_answer = mine
            self._urgent += 1
            try:
                if slot > now:
                    await asyncio.sleep(slot - now)
                if before is not None and not before.done() and before.get_loop() is loop:
                    await before
            finally:
                self._urgent -= 1
                if not mine.done():
                    mine.set_result(None)
            return
        while True:
            now = self._monotonic()
            if self._urgent == 0:
                wait = self._next - now
                if wait <= 0:
                    self._next = max(self._next, now) + self.interval
                    return
            else:
                wait = max(self._next - now, self.interval)  # look again after the answers' slots
            await asyncio.sleep(wait)


class HandledFloods(logging.Filter):
    """Drops PTB's ERROR "Rate limit hit after maximum of 0 retries" (with its traceback): with
    ``max_retries=0`` every 429 reaches :class:`PacedRateLimiter`, which retries an answer and logs
    it at INFO, or hands it to the outbox, which retries it; an administrator should not read an
    error for either."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == "Rate limit hit after maximum of %d retries" and record.args == (0,))


#: PTB's limiter's own logger (telegram/ext/_aioratelimiter.py).
PTB_LIMITER_LOGGER = "telegram.ext.AIORateLimiter"


class PacedRateLimiter(AIORateLimiter):
    """PTB's limiter (group pace) plus the priority :class:`Pace`, flood pause and answer retries."""

    def __init__(
        self,
        per_second: float = DEFAULT_PER_SECOND,
        *,
        answer_budget: float = ANSWER_BUDGET_SECONDS,
        server_retries: int = SERVER_RETRIES,
        server_backoff: float = SERVER_BACKOFF_SECONDS,
        timeout_retries: int = TIMEOUT_RETRIES,
    ) -> None:
        super().__init__(
            overall_max_rate=0,  # the bot-wide pace is :class:`Pace`, which knows priorities
            overall_time_period=0,
            group_max_rate=GROUP_BURST,
            group_time_period=GROUP_BURST * GROUP_INTERVAL_SECONDS,
            max_retries=0,
        )
        ptb_log = logging.getLogger(PTB_LIMITER_LOGGER)
        if not any(isinstance(f, HandledFloods) for f in ptb_log.filters):
            ptb_log.addFilter(HandledFloods())
        self.pace = Pace(per_second)
        self.answer_budget = answer_budget
        self.server_retries = server_retries
        self.server_backoff = server_backoff
        self.timeout_retries = timeout_retries
        self._resume_at = 0.0  # bot-wide
        self._chat_resume: dict[Any, float] = {}  # per chat, after its own 429
        self._recent_429: dict[Any, float] = {}  # chat -> when its last 429 came
        self._sends: deque[float] = deque()  # when each request to a chat left, within the window
        self._floods: deque[float] = deque()  # when each 429 for a chat came, within the window
        #: Called with the chat id after an answer reached a private chat.
        self.on_answered: Callable[[int], None] | None = None

    @property
    def paused_for(self) -> float:
        """Seconds left of a bot-wide pause."""
        return max(0.0, self._resume_at - time.monotonic())

    def chat_paused_for(self, chat_id: Any) -> float:
        """Seconds left before ``chat_id`` may be sent to (its own pause or the bot's)."""
        return max(0.0, self._resume(chat_id) - time.monotonic())

    def _resume(self, chat_id: Any) -> float:
        if chat_id is None:
            return self._resume_at
        return max(self._resume_at, self._chat_resume.get(chat_id, 0.0))

    def _sent(self) -> None:
        now = time.monotonic()
        self._sends.append(now)
        while self._sends[0] <= now - FLOOD_WINDOW_SECONDS:
            self._sends.popleft()

    def flooded(self, chat_id: Any, seconds: float) -> None:
        """Telegram answered 429 for a request to ``chat_id`` (None: a request to no chat)."""
        now = time.monotonic()
        until = now + seconds
        if chat_id is None:
            self._resume_at = max(self._resume_at, until)
            return
        self._chat_resume = {c: t for c, t in self._chat_resume.items() if t > now}
        self._chat_resume[chat_id] = max(self._chat_resume.get(chat_id, 0.0), until)
        since = now - FLOOD_WINDOW_SECONDS
        self._recent_429 = {c: t for c, t in self._recent_429.items() if t > since}
        self._recent_429[chat_id] = now
        for times in (self._sends, self._floods):
            while times and times[0] <= since:
                times.popleft()
        self._floods.append(now)
        sent = max(len(self._sends), len(self._floods))  # at least the requests refused
        if len(self._recent_429) >= FLOOD_CHATS and len(self._floods) >= FLOOD_SHARE * sent:
            if self._resume_at < until:
                log.warning("429 for %d chats within %.0fs: every send waits %.1fs", len(self._recent_429),
                            FLOOD_WINDOW_SECONDS, seconds)
            self._resume_at = max(self._resume_at, until)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Any:
        bulk = rate_limit_args == BULK
        chat_id = data.get("chat_id")
        paced = chat_id is not None

        async def after_pause(*a: Any, **kw: Any) -> Any:
            while True:
                while (wait := self._resume(chat_id) - time.monotonic()) > 0:  # noqa: ASYNC110  # until a known moment (a 429 may move it)
                    await asyncio.sleep(wait)
                if paced:
                    await self.pace.acquire(urgent=not bulk)
                if self._resume(chat_id) <= time.monotonic():  # no 429 came while it waited for its slot
                    if paced:
                        self._sent()
                    return await callback(*a, **kw)

        async def attempt() -> Any:
            try:
                return await super(PacedRateLimiter, self).process_request(
                    after_pause, args, kwargs, endpoint, data, None
                )
            except RetryAfter as error:
                self.flooded(chat_id, retry_after_seconds(error))
                raise

        if bulk:
            return await attempt()
        started = time.monotonic()
        server_failures = 0
        while True:
            try:
                result = await attempt()
            except RetryAfter as error:
                wait = retry_after_seconds(error)
                if time.monotonic() - started + wait > self.answer_budget:
                    raise
                log.info("%s: 429, answer tried again in %.1fs", endpoint, wait)
                continue  # after_pause waits until retry_after has passed
            except BadRequest:
                raise
            except NetworkError as error:  # 5xx, a time-out, a dropped connection
                server_failures += 1
                wait = min(self.server_backoff * 2 ** (server_failures - 1), SERVER_BACKOFF_MAX_SECONDS)
                retries = self.timeout_retries if isinstance(error, TimedOut) else self.server_retries
                if server_failures > retries or (
                    time.monotonic() - started + wait > self.answer_budget
                ):
                    raise
                log.info("%s failed (%s), answer tried again in %.1fs", endpoint, error, wait)
                await asyncio.sleep(wait)
                continue
            self._answered(endpoint, data)
            return result

    def _answered(self, endpoint: str, data: dict[str, Any]) -> None:
        if self.on_answered is None or not endpoint.startswith(ANSWERING) or endpoint == "sendChatAction":
            return
        try:
            chat_id = int(data.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        if chat_id > 0:
            self.on_answered(chat_id)
