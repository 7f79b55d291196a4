"""One form engine for the guided conversations: steps declared as data, asked and answered by one piece of code.

Why it exists: every guided conversation (the written opinion, the screening
report, ...) needs the same machinery: ask a step, save the draft *before*
asking (so a restart resumes where the person was), recognise a redelivered
update, « 返回 / 取消 / keep the current text / change one part from the
review, a review with Submit, a polite hint for what a step cannot use (a
sticker, a file, a button of another step), refusals answered in the
person's words. Written once per form it drifted; here it is written once.

How to declare a form::

    FORM = Form(
        Conversation.SCREENING,            # the row its draft and step are kept in (store/conversations.py)
        texts="screening",                 # the catalog area: step, text_empty, too_long, ..., cancelled
        buttons=Buttons(back=cb.Sc.BACK, cancel=cb.Sc.CANCEL, submit=cb.Sc.SUBMIT),
        steps=[
            Step(TYPE, CHOICE, "screening.ask_type", back=False, options=type_buttons, choices={cb.Sc.TYPE: pick}),
            Step(SUBJECT, TEXT, "screening.ask_subject", limit=SUBJECT_MAX),
            Step(REVIEW, REVIEW_STEP, "screening.review", params=review_params),
        ],
        order=lambda data: STEPS,          # the steps in order for this draft (a counter "n/total" from it)
        submit=file_it,                    # (turn) -> the conversation's next state, usually END
    )
    FORM.build(entry_points=[...])         # the ConversationHandler, every step's handlers included

A step says what it asks (a text key, its placeholders from ``params``; the
counter comes as ``step``, the limit as ``max``), the kind of answer (text up
to ``limit`` characters or ``parse``d, buttons with a ``pick`` per button,
the review), and what it offers (« 返回 unless ``back=False``, 保留 with
``keep`` when a text is there, a skip with ``skip``, the review's ``edits``).
What stays in the conversation's module is its own: its steps, its
validators (a ``Hint`` raised says what is wrong; the question stands), its
entries (``Form.start``) and its submit. A refusal of the store is answered
by ``handlers/refusals.py``: the step stands, or, for the kinds in
``ends_on``, the form ends and its draft goes.

A form that branches declares that as data too (``handlers/register.py``):
``order(data)`` gives this draft's steps; a ``pick`` may return the step to
go to (one more representative: the name again); a sub-step is ``part_of``
its step (counted as it, gone through when that part is changed from the
review); ``back_to`` says where « 返回 goes otherwise than the step before;
``put`` stores a parsed answer elsewhere than ``into``; ``rows`` and
``pages`` give a step its own keyboard rows and a text over several
messages; a ``FILES`` step takes files through ``attach``; ``screen`` names
the step's own chat state, dropped when it is left. ``Form.open`` offers to
continue or restart a draft under way (``resume_entries``), and
``resubmitted`` answers a Submit whose draft is gone. A step may ask with a
reply keyboard (``reply``: the intake's phone number; its « 返回 and 取消
typed by the keyboard's buttons, the keyboard taken away when the step is
left, cancelled or started over) and take messages of another kind
(``takes``: a shared contact); ``says_what`` names what a step could not use
(a sticker, a location, a file out of place) before the hint. ``commands_leave``
ends the form on another command, which is then handled as usual (the
reception booking); ``adopt`` lets the store move a draft an older version
kept elsewhere into the form's row when it is first read, and
``choice_entry`` makes a step's button an entry point too (a button on an
older message, a draft PTB's state does not know). A form may go without
« 返回 (``Buttons(back=None)``: publishing a reception session, whose questions
stand until answered), and ``asks_after_refusal`` asks the step's question again
after the store refused an answer (a choice it would not take: the same buttons);
``new_message`` asks a step in a message of its own, the tapped one left as it
was (an outcome asked for from a session's list of bookings). A message to a
form whose draft is gone (dropped meanwhile, another form begun instead) ends
it and is handled as if the form had not been there; a button of it answers
"expired".

The draft is kept by the store (``store/forms.py``): the answers in ``data``
(sealed), the step in ``state``, and the chat's own state in ``ui`` (whether
one part is being changed from the review, the last update applied, and
anything the form keeps in ``Draft.ui``). Every form's step is the store's
(``Conversation.step_kept_by_store``), never PTB's late write-back.
"""

from __future__ import annotations

import functools
import inspect
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from telegram import InlineKeyboardButton, KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers import media
from handlers.common import (
    PRIVATE,
    PRIVATE_FILES,
    PRIVATE_TEXT,
    Context,
    ConvHandler,
    Deps,
    Handler,
    answer_query,
    deps,
    hand_on,
    lang_of,
    send,
    show,
    staff_caller,
)
from handlers.common import user_conversation as conversation_of
from handlers.i18n import LANGUAGES, Html, t
from handlers.refusals import answer_refusal, answers_refusals
from store.conversations import Conversation
from store.errors import BadInput, StoreError

END = ConversationHandler.END
D = TypeVar("D")


class Kind(Enum):
    TEXT = "text"  # a typed answer
    CHOICE = "choice"  # one of the step's buttons
    REVIEW = "review"  # everything shown, Submit and a change button per part
    FILES = "files"  # files sent one by one (``attach``), then one of the step's buttons


TEXT, CHOICE, REVIEW, FILES = Kind.TEXT, Kind.CHOICE, Kind.REVIEW, Kind.FILES


class Hint(Exception):
    """An answer the step cannot take: the hint's text key and its params. Nothing changes; the question stands."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
        self.text: Html | None = None

    @classmethod
    def said(cls, text: Html) -> Hint:
        """A hint already worded (by a shared rule that words its own refusal)."""
        hint = cls("")
        hint.text = text
        return hint


@dataclass
class Draft(Generic[D]):
    """A form in progress: its step, the answers (``data``) and the chat's own state."""

    step: str
    data: D
    editing: bool = False  # one part being changed from the review: back there after it
    last_update_id: int = 0
    ui: dict[str, Any] = field(default_factory=dict)  # the form's own chat state (kept in clear)


@dataclass
class Turn(Generic[D]):
    """One update's work on a form: who, in which language, on which draft."""

    form: Form[D]
    update: Update
    context: Context
    lang: str
    user_id: int
    draft: Draft[D]
    closed: bool = False  # the step's reply keyboard taken away already (``close``)

    @property
    def d(self) -> Deps:
        return deps(self.context)

    @property
    def data(self) -> D:
        return self.draft.data

    def text(self, key: str, **params: Any) -> Html:
        return t(self.lang, key, **params)

    async def say(self, key: str, **params: Any) -> None:
        await send(self.update, self.context, t(self.lang, key, **params))

    async def hint(self, hint: Hint) -> None:
        await send(self.update, self.context, hint.text if hint.text is not None else t(self.lang, hint.key,
                                                                                        **hint.params))

    async def go(self, step: str) -> str:
        """Save the draft at ``step`` (with this update's id), then ask that step's question."""
        return await self.form.go(self, step)

    async def close(self, text: Html) -> None:
        """Say ``text`` and take the step's reply keyboard away (only a new message can)."""
        await send(self.update, self.context, text, ReplyKeyboardRemove())
        self.closed = True

    async def finish(self) -> None:
        """The form is done: its draft goes."""
        await self.d.forms.clear(self.form.name, self.user_id)


Params = Callable[[Turn[Any]], Awaitable[Mapping[str, Any]]]
# (turn, *the button's values): store the answer, or raise Hint; a step's name returned: go there instead.
Pick = Callable[..., Awaitable[str | None]]
Options = Callable[[Turn[Any]], Sequence[InlineKeyboardButton]]
ButtonRows = Sequence[Sequence[InlineKeyboardButton]]
Rows = Callable[[Turn[Any]], ButtonRows | Awaitable[ButtonRows]]  # may read the store
ReplyRows = Callable[[Turn[Any]], Sequence[Sequence[KeyboardButton]]]
Takes = Callable[[Turn[Any]], Awaitable[str | int]]  # (turn): a message of another kind the step takes
# (turn, the question's text, its params) -> the messages shown; the buttons go under the last one.
Pages = Callable[[Turn[Any], Html, Mapping[str, Any]], Awaitable[Sequence[Html]]]
Attach = Callable[[Turn[Any], Any], Awaitable[Html]]  # (turn, the message): store its file and say so, or raise Hint


@dataclass(frozen=True)
class Step:
    """One question of a form, as data."""

    name: str
    kind: Kind
    question: str | Callable[[Turn[Any]], str]  # the text key (or which key, by the draft)
    params: Params | None = None  # the question's placeholders besides ``step`` (the counter) and ``max``
    into: str | None = None  # where the answer goes in the data (default: the step's name)
    limit: int | None = None  # text: the longest answer
    parse: Callable[[Turn[Any], str], Any] | None = None  # text → the value (raises Hint), instead of the checks
    keep: bool = False  # text: offer to keep the text already there
    skip: Callable[[Turn[Any]], str | None] | None = None  # text: the skip button's label key, when optional now
    options: Options | None = None  # choice: its buttons
    columns: int = 2
    choices: Mapping[cb.Button, Pick] = field(default_factory=dict)  # choice: what each of its buttons does
    back: bool = True  # « 返回 (never on the first step)
    edits: Sequence[str] = ()  # review: the steps changed from here, each a button ``<texts>.edit_<step>``
    then: Callable[[Turn[Any]], Awaitable[str | int]] | None = None  # after the answer: instead of the next step
    part_of: str | None = None  # a sub-step: counted as that step, and gone through when changing it from the review
    put: Callable[[Turn[Any], Any], None] | None = None  # text: store the parsed answer (default: ``into``)
    rows: Rows | None = None  # any kind: its buttons as rows (after ``options``)
    pages: Pages | None = None  # the question as one or more messages (the review of a long text)
    back_to: Callable[[Turn[Any]], str | None] | None = None  # « 返回 goes there (None: the usual way)
    expected: str | Callable[[Turn[Any]], Html] | None = None  # the hint for what the step cannot use (by kind)
    attach: Attach | None = None  # files: take one file of a message
    screen: tuple[str, ...] = ()  # the step's own keys in ``Draft.ui``, dropped when the step is left
    edit_columns: int = 2  # review: the change buttons per row
    reply: ReplyRows | None = None  # text: a reply keyboard's rows (« 返回 / 取消 added), closed when left
    takes: Sequence[tuple[filters.BaseFilter, Takes]] = ()  # messages of other kinds it takes (a shared contact)
    new_message: bool = False  # asked as a new message, the tapped one left as it was (the list its button is on)

    @property
    def where(self) -> str:
        return self.into or self.name


@dataclass(frozen=True)
class Buttons:
    """The form's own buttons (``handlers/callbacks.py``): the engine's part of its area."""

    back: cb.Button | None  # None: a form without « 返回 (each step stands until answered; 取消 leaves)
    cancel: cb.Button
    submit: cb.Button  # one TOKEN field: the draft's key, so only this draft's Submit counts
    keep: cb.Button | None = None
    edit: cb.Button | None = None  # one field: the step to change
    resume: cb.Button | None = None  # continue the draft under way (``Form.open``)
    restart: cb.Button | None = None  # drop it and begin again


def visible(text: str) -> bool:
    """Whether ``text`` shows anything: zero-width and direction marks alone are empty."""
    return any(unicodedata.category(char)[0] not in "CZ" for char in text)


def labels(key: str) -> set[str]:
    """A reply keyboard button's label in every language (the person may have switched meanwhile)."""
    return {str(t(lang, key)) for lang in LANGUAGES}


def value_of(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else getattr(data, name, None)


def put(data: Any, name: str, value: Any) -> None:
    if isinstance(data, dict):
        data[name] = value
    else:
        setattr(data, name, value)


class Form(Generic[D]):
    """A guided conversation declared as steps; see the module's docstring."""

    def __init__(
        self,
        name: Conversation,
        *,
        texts: str,
        buttons: Buttons,
        steps: Sequence[Step],
        order: Callable[[D], Sequence[str]],
        submit: Callable[[Turn[D]], Awaitable[str | int]],
        model: type[BaseModel] | None = None,
        key: Callable[[D], str | None] = lambda data: value_of(data, "draft_id"),
        ends_on: tuple[type[StoreError], ...] = (),
        cancel_in_place: bool = False,
        commands_wait: bool = True,
        counted: Callable[[D], Sequence[str]] | None = None,
        keys: Mapping[str, str] | None = None,
        staff_only: bool = False,
        back_to_review: bool = False,
        answer_edits: bool = False,
        ask_after_command: bool = True,
        resubmitted: Callable[[Update, Context, str], Awaitable[None]] | None = None,
        says_what: bool = False,
        commands_leave: bool = False,
        adopt: Callable[[Context, int], Awaitable[object]] | None = None,
        asks_after_refusal: bool = False,
    ) -> None:
        """``order``: the steps of this draft in order. ``model``: the answers' pydantic model (else a dict).
        ``key``: the draft's Submit key. ``ends_on``: refusals after which the form ends (its draft dropped).
        ``cancel_in_place``: 取消 edits the tapped message. ``commands_wait``: another command is handled as
        usual while the form waits (else it gets a hint; ``ask_after_command``: and the question again).
        ``counted``: the steps the counter counts (default ``order``; a sub-step counts as its ``part_of``).
        ``keys``: the engine's text keys taken from another area (``{"text_expected": "intake.text_expected"}``).
        ``staff_only``: every answer checked to come from staff. ``back_to_review``: « 返回 on a part being
        changed from the review goes back to the review. ``answer_edits``: an edited message is answered
        (``edited``). ``resubmitted``: the answer to a Submit (its key) whose draft is gone. ``says_what``: a
        message a step cannot use is named before the hint (``odd_sticker``, ``odd_location``, ``odd_poll``,
        ``odd_contact``, ``odd_media``, ``odd_other``). ``commands_leave``: another command ends the form (its
        draft dropped) and is then handled as usual. ``adopt(context, user_id)``: when the form has no draft,
        the store moves one an older version kept elsewhere into the form's row (read as the form's own).
        ``asks_after_refusal``: a refusal of the store (not a ``BadInput``) is followed by the step's question
        again, on the draft as it stands (a choice the store would not take: the same buttons once more)."""
        assert name.step_kept_by_store, f"{name}: a form's step is kept by the store with its draft"
        self.name = name
        self.texts = texts
        self.buttons = buttons
        self.steps = {s.name: s for s in steps}
        self.order = order
        self.submit = submit
        self.model = model
        self.key = key
        self.ends_on = ends_on
        self.cancel_in_place = cancel_in_place
        self.commands_wait = commands_wait
        self.counted = counted
        self.keys = dict(keys or {})
        self.staff_only = staff_only
        self.back_to_review = back_to_review
        self.answer_edits = answer_edits
        self.ask_after_command = ask_after_command
        self.resubmitted = resubmitted
        self.says_what = says_what
        self.commands_leave = commands_leave
        self.adopt = adopt
        self.asks_after_refusal = asks_after_refusal

    def key_of(self, name: str) -> str:
        """The catalog key of one of the engine's texts: the form's area, unless ``keys`` says otherwise."""
        return self.keys.get(name, f"{self.texts}.{name}")

    # ----------------------------------------------------------- the draft

    async def load(self, context: Context, user_id: int) -> Draft[D] | None:
        found = await deps(context).forms.get(self.name, user_id)
        if found is None and self.adopt is not None:
            await self.adopt(context, user_id)
            found = await deps(context).forms.get(self.name, user_id)
        if found is None or found.step is None or found.step not in self.steps:
            return None
        data: Any = found.data
        ui = dict(found.ui)
        if not isinstance(data, dict):
            return None
        # Drafts saved before the engine kept the chat state inside the answers.
        for moved in ("editing", "last_update_id"):
            if moved in data:
                ui.setdefault(moved, data.pop(moved))
        if self.model is not None:
            data = self.model.model_validate(data)
        return Draft(step=found.step, data=data, editing=bool(ui.pop("editing", False)),
                     last_update_id=int(ui.pop("last_update_id", None) or 0), ui=ui)

    async def save(self, user_id: int, context: Context, draft: Draft[D]) -> None:
        data: Any = draft.data
        stored = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        ui = {"editing": draft.editing, "last_update_id": draft.last_update_id, **draft.ui}
        await deps(context).forms.save(self.name, user_id, draft.step, stored, ui)

    async def go(self, turn: Turn[D], step: str) -> str:
        draft = turn.draft
        if self.steps[step].kind is REVIEW:
            draft.editing = False
        if step != draft.step and draft.step in self.steps:
            for own in self.steps[draft.step].screen:
                draft.ui.pop(own, None)
            if self.steps[draft.step].reply is not None and not turn.closed:
                await turn.close(t(turn.lang, self.key_of("keyboard_closed")))
        draft.step = step
        draft.last_update_id = turn.update.update_id
        await self.save(turn.user_id, turn.context, draft)
        await self.ask(turn)
        return step

    async def start(self, update: Update, context: Context, data: D, step: str, **ui: Any) -> str:
        """Begin the form at ``step`` with ``data`` (an entry's work): saved, then asked."""
        user = update.effective_user
        assert user is not None
        turn = Turn(self, update, context, await lang_of(update, context), user.id, Draft(step, data, ui=ui))
        return await self.go(turn, step)

    async def open(self, update: Update, context: Context, data: D, step: str,
                   first: Callable[[Update, Context], Awaitable[bool]] | None = None) -> str | int:
        """An entry that may find a draft under way: offer to continue it or begin again, else ``start``.

        ``first``: asked when there is no draft, before one is begun; True when it answered the
        person itself (nothing is begun, the conversation stays ended).
        """
        user = update.effective_user
        assert user is not None
        existing = await self.load(context, user.id)
        if existing is None and first is not None and await first(update, context):
            return END
        if existing is None or self.buttons.resume is None or self.buttons.restart is None:
            return await self.start(update, context, data, step)
        lang = await lang_of(update, context)
        turn = Turn(self, update, context, lang, user.id, existing)
        if update.update_id <= existing.last_update_id:  # redelivered: already answered
            await self.ask(turn)
            return existing.step
        n, total = self.position(existing.data, existing.step)
        await send(update, context, t(lang, self.key_of("draft_exists"), step=t(lang, self.key_of("step"), n=n,
                                                                               total=total)),
                   kb.markup([[kb.button(t(lang, self.key_of("continue")), self.buttons.resume.encode()),
                               kb.button(t(lang, self.key_of("restart")), self.buttons.restart.encode())]]))
        return existing.step

    def resume_entries(self, new: Callable[[], D], step: str,
                       first: Callable[[Update, Context], Awaitable[bool]] | None = None) -> list[Handler]:
        """The buttons ``open`` offers: continue the draft (asked afresh below), or begin again at ``step``.

        Continue on an offer whose draft is gone (submitted since, say) begins anew as ``open`` does,
        ``first`` asked first: a receipt lost with a stopped process must not make the person fill in
        the same matter again from an old offer.
        """
        assert self.buttons.resume is not None and self.buttons.restart is not None

        async def resume(update: Update, context: Context, actor: Any) -> str | int:
            user = update.effective_user
            assert user is not None
            draft = await self.load(context, user.id)
            if draft is None:
                if first is not None and await first(update, context):
                    return END
                return await self.start(update, context, new(), step)
            lang = await lang_of(update, context)
            await show(update, context, t(lang, self.key_of("resumed")))
            await self.ask(Turn(self, update, context, lang, user.id, draft), fresh=True)
            return draft.step

        async def restart(update: Update, context: Context, actor: Any) -> str | int:
            user = update.effective_user
            assert user is not None
            existing = await self.load(context, user.id)
            if existing is not None and self.steps[existing.step].reply is not None:
                await send(update, context, t(await lang_of(update, context), self.key_of("keyboard_closed")),
                           ReplyKeyboardRemove())
            return await self.start(update, context, new(), step)

        return [self.buttons.resume.handler(self.staff_entry(resume) if self.staff_only else self.entry(resume)),
                self.buttons.restart.handler(self.staff_entry(restart) if self.staff_only else self.entry(restart))]

    def entry(self, begin: Callable[..., Awaitable[str | int]]) -> Callable[..., Coroutine[Any, Any, str | int]]:
        """An entry for anyone: the spinner stopped, ``begin(update, context, None, *values)``, refusals answered."""

        @answers_refusals(on={StoreError: self.refused_entry})
        @functools.wraps(begin)
        async def entry(update: Update, context: Context, *values: Any) -> str | int:
            await answer_query(update)
            return await begin(update, context, None, *values)

        return entry

    async def step_of(self, update: Update, context: Context) -> str | int:
        """The step of a form under way (after a refused entry it stays as it was), else END."""
        user = update.effective_user
        found = await self.load(context, user.id) if user is not None else None
        return found.step if found is not None else END

    async def refused_entry(self, update: Update, context: Context, error: StoreError) -> str | int:
        """An entry refused: the refusal, and a form under way stays where it was."""
        await answer_refusal(update, context, error)
        return await self.step_of(update, context)

    def staff_entry(self, begin: Callable[..., Awaitable[str | int]]) -> Callable[..., Coroutine[Any, Any, str | int]]:
        """An entry for staff: the spinner stopped, the caller checked, ``begin(update, context, actor, *values)``.

        A refusal is answered and a form already under way stays where it was.
        """

        @answers_refusals(on={StoreError: self.refused_entry})
        @functools.wraps(begin)
        async def entry(update: Update, context: Context, *values: Any) -> str | int:
            await answer_query(update)
            caller = await staff_caller(update, context)
            if caller is None:
                return END
            return await begin(update, context, caller[0], *values)

        return entry

    # ----------------------------------------------------------- the order

    def part(self, step: str) -> str:
        """The step a sub-step belongs to (itself, for a step of its own)."""
        found = self.steps.get(step)
        return (found.part_of or step) if found is not None else step

    def position(self, data: D, step: str) -> tuple[int, int]:
        counted = list(self.counted(data) if self.counted is not None else self.order(data))
        step = self.part(step)
        return (counted.index(step) + 1 if step in counted else 0), len(counted)

    def after(self, turn: Turn[D], step: str) -> str:
        """The next step; back to the review when changing one part from there (once its sub-steps are done)."""
        order = list(self.order(turn.data))
        following = order[order.index(step) + 1]
        if turn.draft.editing and self.part(following) != self.part(step):
            return order[-1]
        return following

    def before(self, turn: Turn[D], step: str) -> str:
        """The step before (the first step stays)."""
        order = list(self.order(turn.data))
        return order[order.index(step) - 1] if step in order and order.index(step) > 0 else step

    def review_of(self, data: D) -> Step:
        return self.steps[list(self.order(data))[-1]]

    # ----------------------------------------------------------- the asking

    async def ask(self, turn: Turn[D], *, fresh: bool = False) -> None:
        """The question of the draft's step with its buttons: the one renderer of every form.

        ``fresh``: as new messages (else the tapped message is edited).
        """
        step = self.steps[turn.draft.step]
        fresh = fresh or step.new_message
        lang, data, texts, buttons = turn.lang, turn.data, self.texts, self.buttons
        n, total = self.position(data, step.name)
        params: dict[str, Any] = {"step": t(lang, self.key_of("step"), n=n, total=total)}
        if step.limit is not None:
            params["max"] = step.limit
        if step.params is not None:
            params.update(await step.params(turn))
        key = step.question if isinstance(step.question, str) else step.question(turn)
        text = t(lang, key, **params)
        rows: list[list[InlineKeyboardButton]] = []
        if step.kind is TEXT:
            current = value_of(data, step.where)
            skip = step.skip(turn) if step.skip is not None else None
            if step.keep and current and buttons.keep is not None:
                text = Html(text + "\n" + t(lang, self.key_of("current"), text=current))
                rows.append([kb.button(t(lang, self.key_of("keep")), buttons.keep.encode())])
            elif skip is not None and buttons.keep is not None:
                rows.append([kb.button(t(lang, skip), buttons.keep.encode())])
        if step.options is not None:
            rows += kb.grid(step.options(turn), step.columns)
        if step.rows is not None:
            own = step.rows(turn)
            rows += [list(row) for row in (await own if inspect.isawaitable(own) else own)]
        if step.kind is REVIEW:
            rows.append([kb.button(t(lang, self.key_of("submit")), buttons.submit.encode(self.key(data)))])
            if buttons.edit is not None:
                rows += kb.grid([kb.button(t(lang, f"{texts}.edit_{s}"), buttons.edit.encode(s)) for s in step.edits
                                 if s in self.order(data)], step.edit_columns)
        changing = turn.draft.editing and self.back_to_review
        back = buttons.back.encode() if buttons.back is not None and step.back and (n > 1 or changing) else None
        pages = list(await step.pages(turn, text, params)) if step.pages is not None else [text]
        if step.reply is not None:  # a reply keyboard: a new message, « 返回 and 取消 typed by its buttons
            nav = [KeyboardButton(t(lang, "common.back"))] if back else []
            keyboard = [list(row) for row in step.reply(turn)] + [[*nav, KeyboardButton(t(lang, "common.cancel"))]]
            for page in pages[:-1]:
                await send(turn.update, turn.context, page)
            await send(turn.update, turn.context, pages[-1], ReplyKeyboardMarkup(keyboard, resize_keyboard=True))
            return
        rows.append(kb.nav_row(lang, back=back, cancel=buttons.cancel.encode()))
        await (send if fresh else show)(turn.update, turn.context, pages[0],
                                        kb.markup(rows) if len(pages) == 1 else None)
        for page in pages[1:-1]:
            await send(turn.update, turn.context, page)
        if len(pages) > 1:
            await send(turn.update, turn.context, pages[-1], kb.markup(rows))

    # ----------------------------------------------------------- the answers

    def on_step(self, work: Callable[..., Awaitable[str | int]]) -> Callable[..., Coroutine[Any, Any, str | int]]:
        """A step's handler: the draft loaded, a redelivered update asked again, refusals answered.

        ``work(turn, *values)``; a refusal keeps the step as stored, one of ``ends_on`` ends the form.
        """

        async def ended(update: Update, context: Context, error: StoreError) -> int:
            await answer_refusal(update, context, error)
            user = update.effective_user
            assert user is not None
            await deps(context).forms.clear(self.name, user.id)
            return END

        async def refused(update: Update, context: Context, error: StoreError) -> str | int:
            await answer_refusal(update, context, error)
            user = update.effective_user
            draft = await self.load(context, user.id) if user is not None else None
            if draft is None:
                return END
            if self.asks_after_refusal:
                assert user is not None
                await self.ask(Turn(self, update, context, await lang_of(update, context), user.id, draft))
            return draft.step

        # What was typed cannot be taken (BadInput): the question stands, whatever ends the form otherwise.
        @answers_refusals(on={BadInput: self.refused_entry, **{kind: ended for kind in self.ends_on},
                              StoreError: refused})
        async def handler(update: Update, context: Context, *values: Any) -> str | int:
            await answer_query(update)
            user = update.effective_user
            if user is None:
                return END
            lang = await lang_of(update, context)
            if self.staff_only and not deps(context).cases.actor(user.id).is_staff:
                await send(update, context, t(lang, "staff.not_staff"))
                return END
            draft = await self.load(context, user.id)
            if draft is None and update.callback_query is None and update.message is not None:
                # A message to a form that is gone (dropped meanwhile: another form begun instead): the
                # conversation ends, and the message is handled as if the form had not been there.
                hand_on(update, context)
                return END
            if draft is None:
                submitted = self.buttons.submit.decode(update.callback_query.data or "") \
                    if update.callback_query is not None else None
                if submitted is not None and self.resubmitted is not None:
                    await self.resubmitted(update, context, *submitted)
                    return END
                await send(update, context, t(lang, "common.expired_button"))
                return END
            turn = Turn(self, update, context, lang, user.id, draft)
            if draft.last_update_id >= update.update_id:  # redelivered: already applied
                await self.ask(turn)
                return draft.step
            return await work(turn, *values)

        handler.__name__ = handler.__qualname__ = f"{self.name}:{getattr(work, '__name__', 'step')}"
        return handler

    async def _answered(self, turn: Turn[D], step: Step) -> str | int:
        return await step.then(turn) if step.then is not None else await turn.go(self.after(turn, step.name))

    def expected(self, turn: Turn[D], step: Step) -> Html:
        """The hint for what ``step`` cannot use."""
        if callable(step.expected):
            return step.expected(turn)
        return turn.text(step.expected if step.expected is not None
                         else self.key_of("text_expected" if step.kind is TEXT else "button_expected"))

    def what_was_sent(self, turn: Turn[D], message: Message | None) -> Html | None:
        """A word on the kind of message a step cannot use, when it is not text (``says_what``)."""
        if not self.says_what or message is None or message.text:
            return None
        if message.sticker:
            kind = "odd_sticker"
        elif message.location or message.venue:
            kind = "odd_location"
        elif message.poll:
            kind = "odd_poll"
        elif message.contact:
            kind = "odd_contact"
        elif media.attachment_of(message) is not None:
            kind = "odd_media"
        else:
            kind = "odd_other"
        return turn.text(self.key_of(kind))

    async def _text(self, turn: Turn[D]) -> str | int:
        step = self.steps[turn.draft.step]
        message = turn.update.effective_message
        text = ((message.text if message is not None else None) or "").strip()
        if step.reply is not None and text in labels("common.back"):
            return await self._back(turn)
        if step.reply is not None and text in labels("common.cancel"):
            return await self.cancel(turn.update, turn.context)
        if step.kind is not TEXT:
            await send(turn.update, turn.context, self.expected(turn, step))
            await self.ask(turn)
            return step.name
        try:
            if step.parse is not None:
                value: Any = step.parse(turn, text)
            elif not visible(text):
                raise Hint(self.key_of("text_empty"))
            elif step.limit is not None and len(text) > step.limit:
                raise Hint(self.key_of("too_long"), max=step.limit, length=len(text))
            else:
                value = text
        except Hint as hint:
            await turn.hint(hint)
            return step.name
        if step.put is not None:
            step.put(turn, value)
        else:
            put(turn.data, step.where, value)
        return await self._answered(turn, step)

    async def _file(self, turn: Turn[D]) -> str | int:
        """A file for a files step: taken (the draft saved, the step's buttons under the word), or a hint."""
        step = self.steps[turn.draft.step]
        if step.kind is not FILES or step.attach is None:
            return await self._unexpected(turn)
        try:
            said = await step.attach(turn, turn.update.effective_message)
        except Hint as hint:
            await turn.hint(hint)
            return step.name
        turn.draft.last_update_id = turn.update.update_id
        await self.save(turn.user_id, turn.context, turn.draft)
        rows = kb.grid(step.options(turn), step.columns) if step.options is not None else []
        await send(turn.update, turn.context, said, kb.markup(rows) if rows else None)
        return step.name

    def _choice(self, button: cb.Button) -> Callable[..., Awaitable[str | int]]:
        async def chosen(turn: Turn[D], *values: Any) -> str | int:
            step = self.steps[turn.draft.step]
            pick = step.choices.get(button)
            try:
                if pick is None:
                    raise Hint(self.key_of("button_expected"))
                elsewhere = await pick(turn, *values)
            except Hint as hint:
                await turn.hint(hint)
                return await turn.go(step.name)
            if elsewhere is not None:
                return await turn.go(elsewhere)
            return await self._answered(turn, step)

        chosen.__name__ = f"on_{button.head}"
        return chosen

    async def _keep(self, turn: Turn[D]) -> str | int:
        """保留 the text shown, or skip an optional one; else the question again."""
        step = self.steps[turn.draft.step]
        if step.kind is TEXT and ((step.keep and value_of(turn.data, step.where))
                                  or (not value_of(turn.data, step.where) and step.skip is not None
                                      and step.skip(turn) is not None)):
            return await self._answered(turn, step)
        return await turn.go(step.name)

    async def _back(self, turn: Turn[D]) -> str | int:
        step = self.steps[turn.draft.step]
        if not step.back:
            return await turn.go(step.name)
        target = step.back_to(turn) if step.back_to is not None else None
        if not self.back_to_review:
            turn.draft.editing = False
        elif target is None and turn.draft.editing and step.name in self.review_of(turn.data).edits:
            return await turn.go(list(self.order(turn.data))[-1])  # changing this part: back to the review
        return await turn.go(target if target is not None else self.before(turn, step.name))

    async def _edit(self, turn: Turn[D], part: str) -> str | int:
        step = self.steps[turn.draft.step]
        if step.kind is not REVIEW or part not in step.edits or part not in self.order(turn.data):
            return await turn.go(step.name)
        turn.draft.editing = True
        return await turn.go(part)

    async def _submit(self, turn: Turn[D], key: str) -> str | int:
        step = self.steps[turn.draft.step]
        if step.kind is not REVIEW or key != self.key(turn.data):
            await turn.say("common.expired_button")
            return await turn.go(step.name)
        return await self.submit(turn)

    async def _unexpected(self, turn: Turn[D]) -> str | int:
        """A sticker, a file, a command, a button of another step: a hint, and the question again."""
        step = self.steps[turn.draft.step]
        message = turn.update.effective_message
        if self.answer_edits and turn.update.edited_message is not None:
            await turn.say(self.key_of("edited"))
            return step.name
        if not self.commands_wait and message is not None and message.text and message.text.startswith("/"):
            await turn.say(self.key_of("command_in_step"))
            if not self.ask_after_command:
                return step.name
        else:
            what = self.what_was_sent(turn, message)
            expected = self.expected(turn, step)
            await send(turn.update, turn.context, Html(f"{what}\n{expected}") if what else expected)
        await self.ask(turn)
        return step.name

    async def cancel(self, update: Update, context: Context) -> int:
        """取消: the draft goes (a reply keyboard shown with it too)."""
        await answer_query(update)
        user = update.effective_user
        assert user is not None
        draft = await self.load(context, user.id)
        await deps(context).forms.clear(self.name, user.id)
        text = t(await lang_of(update, context), self.key_of("cancelled"))
        if draft is not None and self.steps[draft.step].reply is not None:
            await send(update, context, text, ReplyKeyboardRemove())
        else:
            await (show if self.cancel_in_place else send)(update, context, text)
        return END

    async def leave(self, update: Update, context: Context) -> int:
        """Another command (``commands_leave``): the form ends, its draft goes, and the command is handled as usual."""
        user = update.effective_user
        assert user is not None
        await deps(context).forms.clear(self.name, user.id)
        hand_on(update, context)
        return END

    # ----------------------------------------------------------- the handlers

    def choice_entry(self, button: cb.Button) -> Handler:
        """A step's button as an entry point too: answered by the draft's step even when PTB's state has lost it
        (a draft adopted from an older version, a button on an older message)."""
        return button.handler(self.on_step(self._choice(button)))

    def text_answer(self) -> Callable[..., Coroutine[Any, Any, str | int]]:
        """The handler of a typed answer, for another conversation's state that hands one over to the form."""
        return self.on_step(self._text)

    def after_end(self) -> list[Handler]:
        """Outside the conversation: a Submit tapped again once its draft is gone (``resubmitted``)."""
        if self.resubmitted is None:
            return []
        resubmitted = self.resubmitted

        async def again(update: Update, context: Context, key: str) -> int:
            await answer_query(update)
            await resubmitted(update, context, key)
            return END

        return [self.buttons.submit.handler(again)]

    def own_buttons(self) -> list[cb.Button]:
        b = self.buttons
        mine = [b.cancel, b.submit, *(x for x in (b.back, b.keep, b.edit, b.resume, b.restart) if x is not None)]
        return mine + [button for s in self.steps.values() for button in s.choices]

    def build(self, entry_points: Sequence[Handler]) -> ConvHandler:
        """The ConversationHandler: each step's handlers, then 取消, the entries again and the hints."""
        b = self.buttons
        text: Handler = MessageHandler(PRIVATE_TEXT, self.on_step(self._text))
        back = [b.back.handler(self.on_step(self._back))] if b.back is not None else []
        keep = b.keep.handler(self.on_step(self._keep)) if b.keep is not None else None
        choices = {button: button.handler(self.on_step(self._choice(button)))
                   for s in self.steps.values() for button in s.choices}
        files = MessageHandler(PRIVATE_FILES, self.on_step(self._file))
        states: dict[object, list[Handler]] = {}
        for step in self.steps.values():
            handlers: list[Handler] = [choices[button] for button in step.choices]
            handlers += [MessageHandler(kind, self.on_step(takes)) for kind, takes in step.takes]
            if step.kind is TEXT:
                handlers += [text, *([keep] if keep is not None and (step.keep or step.skip) else [])]
            elif step.kind is FILES:
                handlers.append(files)
            elif step.kind is REVIEW:
                handlers.append(b.submit.handler(self.on_step(self._submit)))
                if b.edit is not None:
                    handlers.append(b.edit.handler(self.on_step(self._edit)))
            states[step.name] = [*handlers, *back]
        mine = self.own_buttons()
        area = mine[0].area

        def another_step(data: object) -> bool:
            """A button of this form not taken by the step, or data of its area no button reads (forged)."""
            decoded = cb.decode(data)
            return decoded[0] in mine if decoded is not None else isinstance(data, str) and (
                data == area or data.startswith(area + ":"))

        unexpected = self.on_step(self._unexpected)
        edits = filters.ALL if self.answer_edits else ~filters.UpdateType.EDITED
        others = PRIVATE & edits & (~filters.COMMAND if self.commands_wait else filters.ALL)
        return conversation_of(
            self.name,
            entry_points=list(entry_points),
            states=states,
            fallbacks=[
                CommandHandler("cancel", self.cancel),
                b.cancel.handler(self.cancel),
                *entry_points,
                *([MessageHandler(filters.COMMAND & PRIVATE & filters.UpdateType.MESSAGE, self.leave)]
                  if self.commands_leave else []),
                MessageHandler(others, unexpected),
                CallbackQueryHandler(unexpected, pattern=another_step),
            ],
        )
