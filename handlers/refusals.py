"""One path from a store refusal to the user's answer.

The store refuses by raising a ``StoreError`` (``store/errors.py``); its code
keys the text (``errors.<code>`` in both catalogs) and its params fill it. A
handler does not catch it: it is decorated, and the decorator words the
refusal in the caller's language, stops the button's spinner, and returns what
the handler returns on a refusal (a conversation's state, ``None``, ``False``)::

    @answers_refusals(TOPIC)              # stay on the question
    async def on_topic(update, context) -> str | int: ...

    @answers_refusals(lambda error: TOPIC if isinstance(error, BadInput) else END)

    @answers_refusals(on={NoDraft: expired})   # a kind of refusal answered its own way

    @answers_in_prompt                    # a prompt's answer: BadInput asks again, the rest closes it

Where a refusal is answered differently from its text (the form is gone: the
"expired" toast; a claim needs the person's contact: the contact button), the
error is a typed subclass (``NoDraft``, ``ContactNeeded``, ``BadInput``) and
the handler names it in ``on=``, never by branching on a code string.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.common import Context, answer_query, deps, error_text, lang_of, query_answered, send, show
from store.errors import BadInput, StoreError

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

#: How the refusal reaches the user: a new message, the tapped message edited, or an alert on the button.
How = Literal["send", "show", "alert"]
#: A refusal answered its own way: ``(update, context, error)`` → what the handler returns.
Special = Callable[[Update, Context, Any], Awaitable[Any]]


async def answer_refusal(update: Update, context: Context, error: StoreError, how: How = "send") -> None:
    """The refusal in the caller's words; a tapped button stops spinning (unless it was answered already)."""
    text = error_text(await lang_of(update, context), error)
    if how == "alert":
        await answer_query(update, text, alert=True)
        return
    if not query_answered(update):
        await answer_query(update)
    if how == "show":
        await show(update, context, text)
    else:
        await send(update, context, text)


def answers_refusals(
    result: Any = None,
    *,
    how: How = "send",
    stop: bool = False,
    on: Mapping[type[StoreError], Special] | None = None,
) -> Callable[[Callable[Concatenate[Update, Context, P], Awaitable[R]]],
              Callable[Concatenate[Update, Context, P], Coroutine[Any, Any, R]]]:
    """A handler (or a helper taking ``update, context`` first) whose store refusals are answered here.

    ``result``: what the handler returns after a refusal (a conversation's
    state keeps it or ends it as the handler did before), or a function of the
    error choosing it. ``how``: see ``How``. ``stop``: raise
    ``ApplicationHandlerStop`` after answering (the update goes no further).
    ``on``: error classes answered their own way, the first ``isinstance``
    match in order; the special answer's return is the handler's.
    """

    def decorate(
        fn: Callable[Concatenate[Update, Context, P], Awaitable[R]],
    ) -> Callable[Concatenate[Update, Context, P], Coroutine[Any, Any, R]]:
        async def answered(update: Update, context: Context, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await fn(update, context, *args, **kwargs)
            except StoreError as error:
                for kind, special in (on or {}).items():
                    if isinstance(error, kind):
                        outcome: R = await special(update, context, error)
                        return outcome
                await answer_refusal(update, context, error, how)
                if stop:
                    raise ApplicationHandlerStop from None
                chosen: R = result(error) if callable(result) else result
                return chosen

        functools.update_wrapper(answered, fn)  # the handler's name and docstring, its type kept as declared
        return answered

    return decorate


def closes_prompt(result: Any) -> Special:
    """A refusal that closes the caller's pending prompt (``handlers/prompts.py``): answered, the prompt cleared.

    ``result`` is what the handler returns then (``ConversationHandler.END``
    for a prompt's button or answer, ``False`` for a ``Receive``). Kept in
    the store, a prompt left open would take the caller's next text as its
    answer, even after a restart.
    """

    async def closed(update: Update, context: Context, error: StoreError) -> Any:
        await answer_refusal(update, context, error)
        user = update.effective_user
        if user is not None:
            await deps(context).cases.clear_prompt(user.id)
        return result

    return closed


async def _question_stands(update: Update, context: Context, error: BadInput) -> bool:
    await answer_refusal(update, context, error)
    return True


def answers_in_prompt(
    fn: Callable[Concatenate[Update, Context, P], Awaitable[bool]],
) -> Callable[Concatenate[Update, Context, P], Coroutine[Any, Any, bool]]:
    """A prompt's receiver (``handlers.prompts.Receive``: True keeps the question open) whose refusals are answered here.

    What was sent cannot be taken as it is (``BadInput``: too long, no
    place): the refusal says why and the question stands (True), to be
    answered again. Any other refusal closes it (``closes_prompt``: False).
    """
    return answers_refusals(on={BadInput: _question_stands, StoreError: closes_prompt(False)})(fn)


async def unless_refused(call: Awaitable[T]) -> T | None:
    """The call's result, or None where the store refuses: for a notice about a thing that may be gone.

    A notice is rendered at send time; the session or draft it names may have
    been removed or become invisible since. There is nobody to answer then:
    the notice is simply not sent.
    """
    try:
        return await call
    except StoreError:
        return None
