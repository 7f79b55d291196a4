"""Crash safety: the bot as a real process, killed with SIGKILL again and again while people use it.

``python -m bot run`` polls the loopback Bot API in this test's process.
Sixteen employees go through intake at once (twelve submit, four stop half
way), and an officer accepts every case card that reaches them, while the
process is killed and started again, twelve times.

The kill points are counted in events, not seconds, so a seed names the same
points on every run: a kill falls as the bot makes its k-th Bot API request
since it started (getUpdates not counted: empty long polls come with the
clock), k drawn from the seed; every other kill is aimed at Submit, falling
at the bot's acknowledgement of a Submit tap or one or two requests later
(the receipt, a notification), the moments where a lost answer tempts a
second submission. The simulator kills the process inside that request,
before answering it, so the bot never learns whether it went through.
(Which person's update the k-th request serves still depends on how the
people's timing interleaves; the bot's own sequence is what is pinned.)

Polling confirms updates to Telegram before they are handled, so a crash
loses some updates and redelivers others, and a reply may never be sent.
The simulated people therefore behave like people, not like scripts: they
act on the newest question the bot shows; when no answer comes in time,
they tap the same button again, which is harmless (a stale button is
refused, a repeated Submit returns the same receipt); after typing a text
they wait for the next question and, without it, do not type the text again
(it may have been taken, and would then land in the next field) but send
/new, which tells them where their draft stands, and continue from there.
A question for a text they already typed, arriving late from a process that
died, is likewise checked with /new rather than answered again.

Afterwards, with the bot running undisturbed:
- every receipt an employee saw names a case that exists, once, and is theirs;
- nobody has two cases for one submission, nobody who stopped has any;
- every unfinished draft resumes at the step where its owner stopped, with what they typed;
- every notification owed was delivered: a card per case to the officer, an
  "accepted" notice per accepted case to its petitioner; the outbox is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import random
import re
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from botsim import BotApiSimulator, SimMessage, SimUser

ROOT = Path(__file__).resolve().parent.parent
ORG_FILE = Path(__file__).with_name("org_fixture.toml")
TOKEN = "123456:CRASH"
SEED = int(os.environ.get("CRASH_SEED", "20261"))
KILLS = 12
GIVE_UP = 5.0  # seconds to wait for a kill point the bot may never reach (everyone has submitted)
OFFICER = 1001
NUMBER = re.compile(r"[A-Z]+-\d{4}-\d{6}")
STEP = re.compile(r"第 (\d)/7 步")
PATIENCE = 1.5  # seconds a person waits for an answer before trying again
SUBMIT = "✅ 提交"


class _WatchedCalls(list):
    def __init__(self, sim: WatchedSimulator) -> None:
        super().__init__()
        self.sim = sim

    def append(self, entry: tuple[str, dict, dict]) -> None:
        # Called as the simulator has handled a request and before it answers.
        super().append(entry)
        self.sim.observe(entry[0], entry[1])


@dataclass(frozen=True)
class KillPoint:
    """Where a kill falls: the k-th counted request since the bot started, or since a Submit's acknowledgement."""

    after_submit: bool
    requests: int  # 1: that very request (the acknowledgement itself, when aimed)

    def __str__(self) -> str:
        return (f"request {self.requests} counting from a Submit acknowledgement" if self.after_submit
                else f"request {self.requests} since start")


def kill_plan(rng: random.Random, kills: int) -> list[KillPoint]:
    return [KillPoint(True, rng.randint(1, 3)) if n % 2 else KillPoint(False, rng.randint(3, 40))
            for n in range(kills)]


class WatchedSimulator(BotApiSimulator):
    """The loopback Bot API, killing the bot at an armed kill point inside the request that reaches it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submit_taps: set[str] = set()
        self.calls = _WatchedCalls(self)
        self.killed = asyncio.Event()
        self._victim: int | None = None
        self._point: KillPoint | None = None
        self._counted = 0
        self._aimed = False  # a Submit was acknowledged since the point was armed

    def arm(self, pid: int, point: KillPoint) -> None:
        """Kill ``pid`` at ``point``; counting starts now."""
        self._victim, self._point, self._counted, self._aimed = pid, point, 0, False
        self.killed.clear()

    def disarm(self) -> None:
        self._victim = self._point = None

    def observe(self, name: str, params: dict) -> None:
        point = self._point
        if point is None or self._victim is None or name in ("getUpdates", "<download>"):
            return
        if point.after_submit and not self._aimed:
            if name != "answerCallbackQuery" or params.get("callback_query_id") not in self.submit_taps:
                return
            self._aimed = True
        self._counted += 1
        if self._counted >= point.requests:
            os.kill(self._victim, signal.SIGKILL)  # before this request is answered
            self.disarm()
            self.killed.set()


def _die_with_parent() -> None:
    """Linux: the bot gets SIGKILL if the test process dies, so no bot outlives an interrupted run."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class BotProcess:
    """``python -m bot run`` against the simulator; killed with SIGKILL, started again."""

    def __init__(self, sim: BotApiSimulator, db: Path, log: Path) -> None:
        self.sim = sim
        self.db = db
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0

    async def start(self) -> None:
        env = {
            **os.environ,
            "PETITION_BOT_TOKEN": TOKEN,
            "PETITION_API_URL": self.sim.base_url,
            "PETITION_API_FILE_URL": self.sim.base_file_url,
            "PETITION_DB": str(self.db),
            "PETITION_CONFIG": str(ORG_FILE),
            "PETITION_LOG_LEVEL": "WARNING",
        }
        polls = len(self.sim.calls_to("deleteWebhook"))
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=out, stderr=out,
                preexec_fn=_die_with_parent,
            )
        self.starts += 1
        deadline = time.monotonic() + 20
        while len(self.sim.calls_to("deleteWebhook")) == polls:  # PTB deletes the webhook, then polls
            assert self.process.returncode is None, self.tail()
            assert time.monotonic() < deadline, "the bot did not start\n" + self.tail()
            await asyncio.sleep(0.02)

    async def kill(self) -> None:
        assert self.process is not None and self.process.returncode is None, self.tail()
        self.process.send_signal(signal.SIGKILL)
        await self.reap()

    async def reap(self) -> None:
        """Wait for a process killed with SIGKILL (by the simulator, or by kill())."""
        assert self.process is not None
        assert await self.process.wait() == -signal.SIGKILL, self.tail()
        self.kills += 1

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def state_of(message: SimMessage) -> tuple[str, int] | None:
    """What a message asks of the person: a numbered step, the draft question, or a receipt."""
    text = message.visible_text
    if "已登记" in text and NUMBER.search(text):
        return ("receipt", 0)
    if "继续填写" in message.button_texts:
        return ("draft", 0)
    step = STEP.search(text)
    if step and message.buttons:
        return ("step", int(step.group(1)))
    return None


def asks(message: SimMessage) -> bool:
    return state_of(message) is not None


@dataclass
class Employee:
    sim: WatchedSimulator
    user: SimUser
    stop_at: int | None  # the step (3-7) whose question they leave unanswered, or None: submit
    subject: str
    details: str
    receipts: set[str] = field(default_factory=set)
    done: bool = False
    stopped_at: int | None = None
    typed: set[int] = field(default_factory=set)  # steps whose text the person has typed
    trusted: bool = False  # the screen came from "continue": the bot says it still needs this
    unanswered: int = 0  # actions the bot never answered: the crashes hit this person

    def screen(self) -> SimMessage | None:
        """The newest bot message that asks something (edits count as new)."""
        asking = [m for m in self.user.messages if asks(m)]
        return max(asking, key=lambda m: m.seq) if asking else None

    def collect_receipts(self) -> None:
        for message in self.user.chat.all_messages:
            if not message.from_bot:
                continue
            texts = [message.visible_text, *(h.get("plain_text") or "" for h in message.history)]
            for text in texts:
                if "已登记" in text:
                    self.receipts.update(NUMBER.findall(text))

    async def tap(self, message: SimMessage, label: str) -> None:
        with contextlib.suppress(AssertionError):  # the message changed under the thumb: look again
            query_id = await self.user.tap(label, message=message)
            if label == SUBMIT:
                self.sim.submit_taps.add(query_id)

    async def act(self, lost: bool) -> tuple[Callable[[SimMessage], bool], bool]:
        """Do what the screen asks; returns what counts as the answer, and whether a text was typed."""
        screen = self.screen()
        state = state_of(screen) if screen else None
        if state is not None and state[0] == "step" and state[1] in self.typed and not self.trusted:
            lost = True  # asked again for a text already typed: a late or repeated question, not trusted
        # Lost? Ask where the draft stands, except on the review screen: there the
        # person taps Submit again, since the case may already exist and /new would start anew.
        if state is None or (lost and state != ("step", 7)):
            await self.user.send("/new")
            return asks, False
        kind, step = state
        assert screen is not None
        if kind == "receipt":
            self.done = True
        elif kind == "draft":
            await self.tap(screen, "继续填写")
        elif step == self.stop_at:
            self.done, self.stopped_at = True, step
        elif step in (3, 4):
            await self.user.send(self.subject if step == 3 else self.details)
            self.typed.add(step)
            # Only the next question answers a typed text; anything else is an answer to something earlier.
            return (lambda m: state_of(m) in (("step", step + 1), ("draft", 0), ("receipt", 0))), True
        else:
            label = {1: "工资福利", 5: "跳过", 6: "实名反映", 7: SUBMIT}.get(step)
            if step == 2:
                label = "第一采油厂" if "第一采油厂" in screen.button_texts else "油田公司"
            await self.tap(screen, label or "")
        return asks, False

    async def run(self, until: float) -> None:
        """Act, wait for an answer; without one, try again as described above.

        A tap without an answer is tried once more (the update may have been
        lost); a typed text without an answer, or a second unanswered tap,
        makes the person ask with /new where their draft stands.
        """
        typed_last, misses = False, 0
        while not self.done and time.monotonic() < until:
            screen = self.screen()
            from_offer = screen is not None and state_of(screen) == ("draft", 0)
            answer, typed = await self.act(lost=typed_last or misses >= 2)
            if self.done:
                break
            try:
                await self.user.wait_for(predicate=answer, timeout=PATIENCE)
                typed_last, misses = False, 0
                self.trusted = from_offer and not typed
                await asyncio.sleep(0.05)  # let a burst of answers (hint, then question) arrive
            except AssertionError:
                typed_last = typed or typed_last
                misses += 1
                self.unanswered += 1
        self.collect_receipts()


def accepted_or_refused(number: str) -> Callable[[SimMessage], bool]:
    """The officer's answer to accepting ``number``: accepted, or refused (someone was quicker)."""
    return lambda m: (number in m.visible_text and "已受理" in m.visible_text) or "不能进行此操作" in m.visible_text


async def officer_work(officer: SimUser, until: float, accepted: set[str], stop: asyncio.Event) -> None:
    """Accept every case card that arrives; a tap without an answer is tried again."""
    while time.monotonic() < until and not stop.is_set():
        cards = [(m, found.group(0)) for m in officer.messages
                 if "受理" in m.button_texts and (found := NUMBER.search(m.visible_text))]
        todo = [(m, number) for m, number in cards if number not in accepted]
        if not todo:
            await asyncio.sleep(0.1)
            continue
        card, number = todo[0]
        await officer.tap("受理", message=card)
        try:
            await officer.wait_for(predicate=accepted_or_refused(number), timeout=PATIENCE)
            accepted.add(number)
        except AssertionError:
            pass


async def killer(bot: BotProcess, sim: WatchedSimulator, plan: list[KillPoint]) -> list[str]:
    """Kill the bot at each point of ``plan`` in turn, starting it again at once; returns what happened.

    A point the bot never reaches (nobody left to submit, nobody left at all)
    is given up after a while and the kill falls at once: noted, so a failure
    shows where the plan and the run parted.
    """
    log = []
    for point in plan:
        sim.arm(bot.pid, point)
        try:
            await asyncio.wait_for(sim.killed.wait(), GIVE_UP)
            log.append(f"killed at {point}")
        except TimeoutError:
            sim.disarm()
            log.append(f"{point} never came: killed after {GIVE_UP} s")
            await bot.kill()
        else:
            await bot.reap()
        await bot.start()
    return log


def pending_outbox(db: Path) -> int:
    """Notifications still owed to someone who uses the bot.

    Rows set aside for a chat that never opened the bot (a leader told of a
    collective petition) wait for that person's first message; they are not owed yet.
    """
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
            " AND NOT (failed_at IS NOT NULL AND last_error LIKE 'unreachable%')"
        ).fetchone()[0]


@pytest.mark.slow
@pytest.mark.xdist_group("sigkill")
async def test_sigkill_at_seeded_kill_points_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    db = tmp_path / "crash.db"
    sim = WatchedSimulator(token=TOKEN)
    await sim.start()
    bot = BotProcess(sim, db, tmp_path / "bot.log")
    officer = sim.user(OFFICER, first_name="王", language_code="zh-hans")
    stops = [3, 4, 5, 6, 7, None, None, None, None, None, None, None, None, None, None, None]
    people = [
        Employee(sim, sim.user(5200 + i, first_name=f"员工{i}", language_code="zh-hans"), stop_at,
                 subject=f"加班费未发-{i}", details=f"十月加班费至今未发放，工号 {5200 + i}。")
        for i, stop_at in enumerate(stops)
    ]
    accepted: set[str] = set()
    try:
        await bot.start()
        chaos = time.monotonic() + 60
        officer_stop = asyncio.Event()
        officer_task = asyncio.create_task(officer_work(officer, chaos + 60, accepted, officer_stop))
        people_tasks = [asyncio.create_task(p.run(chaos + 30)) for p in people]
        plan = kill_plan(rng, KILLS)
        kills = await killer(bot, sim, plan)
        assert bot.kills == KILLS, kills

        # Undisturbed from here: everybody finishes, the officer catches up, the outbox drains.
        await asyncio.gather(*people_tasks)
        submitted = [p for p in people if p.stop_at is None]
        unfinished = [p for p in submitted if not p.receipts]
        assert not unfinished, "submitted but never got a receipt:\n" + "\n".join(
            f"{p.user.id}:\n" + "\n".join(m.describe() for m in p.user.chat.all_messages[-6:]) for p in unfinished)
        # Thirty seconds without progress fails (the officer's chat drains at one message a second, and a
        # loaded machine stretches that: progress, not a fixed time, is what tells a stall from a backlog).
        deadline, progress = time.monotonic() + 30, (len(accepted), pending_outbox(db))
        while len(accepted) < len(submitted) or pending_outbox(db):
            if (now := (len(accepted), pending_outbox(db))) != progress:
                deadline, progress = time.monotonic() + 30, now
            assert time.monotonic() < deadline, (
                f"notifications owed were not delivered: the officer could accept {len(accepted)} of"
                f" {len(submitted)} cases, {pending_outbox(db)} notifications are still unsent\n{bot.tail()}")
            await asyncio.sleep(0.1)
        officer_stop.set()
        await officer_task

        # Every unfinished draft resumes at its step, after one more restart.
        await bot.kill()
        await bot.start()
        for person in (p for p in people if p.stop_at is not None):
            assert person.stopped_at == person.stop_at, (person.user.id, person.stopped_at)
            await person.user.send("/new")
            offer = await person.user.wait_for("草稿", timeout=5)
            assert f"第 {person.stop_at}/7 步" in offer.visible_text, offer.visible_text
            await person.user.tap("继续填写", message=offer)
            question = await person.user.wait_for(f"第 {person.stop_at}/7 步", timeout=5)
            assert question.buttons
    finally:
        await bot.stop()
        await sim.stop()

    from store.context import conv_where
    from store.vault import is_sealed, load_vault

    vault = load_vault(db, create=False)  # people are stored by the keyed hash of their id, drafts sealed
    with sqlite3.connect(db, detect_types=sqlite3.PARSE_DECLTYPES) as conn:  # words as text (store/words.py)
        cases = conn.execute("SELECT number, petitioner_id, subject, details, status FROM cases").fetchall()
        drafts = dict(conn.execute("SELECT key, state FROM conversations WHERE name = 'intake'").fetchall())
        draft_data = {
            key: str(vault.open(data, conv_where("intake", key, "data"))) if is_sealed(data) else data
            for key, data in conn.execute("SELECT key, data FROM conversations WHERE name = 'intake'").fetchall()
        }
        users = {hid for (hid,) in conn.execute("SELECT telegram_id FROM users")}
        rows_ = conn.execute("SELECT chat_id, sent_at, failed_at FROM outbox").fetchall()
    owed = [(sent, failed) for chat, sent, failed in rows_ if chat in users or vault.hid(chat) in users]
    outbox = (len(owed), sum(1 for sent, _ in owed if sent), sum(1 for _, failed in owed if failed))
    by_number = {number: (owner, subject, details, status) for number, owner, subject, details, status in cases}
    assert len(by_number) == len(cases)

    for person in people:
        mine = [c for c in cases if c[1] == person.user.id]
        if person.stop_at is None:
            # One submission, one case, with what the person typed; every receipt names it.
            assert len(mine) == 1, (person.user.id, mine)
            assert mine[0][2] == person.subject and mine[0][3] == person.details, (mine, "\n".join(
                m.describe() + f" seq={m.seq} hist={[h.get('plain_text', '')[:30] for h in m.history]}"
                for m in person.user.chat.all_messages))
            assert person.receipts == {mine[0][0]}, (person.receipts, mine)
        else:
            assert mine == [] and not person.receipts, (person.user.id, mine)
            # The draft is where its owner left it, with what they typed before.
            key = str(vault.hid(person.user.id))
            steps = {3: "subject", 4: "details", 5: "attachments", 6: "identity", 7: "review"}
            assert drafts.get(key) == steps[person.stop_at], (key, drafts.get(key))
            if person.stop_at > 3:
                assert person.subject in draft_data[key]
            if person.stop_at > 4:
                assert person.details in draft_data[key]

    # Every notification owed to someone using the bot reached them (at least once:
    # a crash after sending and before recording it sends again); nothing is left.
    assert outbox[0] == outbox[1] and outbox[2] == 0, outbox
    officer_saw = " ".join(m.visible_text for m in officer.messages)
    for number, (owner, _, _, status) in by_number.items():
        assert number in officer_saw, number
        assert status == "accepted", (number, status)
        notices = [m for m in sim.user(owner).messages if number in m.visible_text and "已受理" in m.visible_text]
        assert notices, (number, owner)
    assert bot.kills >= KILLS
    # The crashes did hit people mid-conversation (else this test proves little).
    assert sum(p.unanswered for p in people) >= 5, ([p.unanswered for p in people], kills)


async def test_a_late_flush_of_conversation_states_does_not_put_back_an_older_step(tmp_path: Path) -> None:
    """PTB flushes a snapshot of conversation states taken before its turn at the database.

    Found by the crash test: the flush wrote "subject" over the "details" step a
    handler had just saved with the draft; after a SIGKILL the petitioner's
    details were stored as the subject.
    """
    from bot.persistence import StorePersistence
    from store.org import load_org
    from store.services import Services
    from tests.conftest import draft

    store = await Services.open(tmp_path / "flush.db", load_org(ORG_FILE))
    persistence = StorePersistence(store.cases)
    try:
        await store.cases.save_draft(5001, "details", draft(details=None), {"last_update_id": 7})
        await persistence.update_conversation("intake", (5001,), "subject")  # the stale snapshot
        await persistence.update_conversation("intake", (5001,), None)
        assert await persistence.get_conversations("intake") == {(5001,): "details"}
        saved = await store.cases.get_draft(5001)
        assert saved is not None and saved.step == "details"
    finally:
        await store.close()


async def test_a_late_flush_does_not_put_back_an_older_step_of_the_opinion_form(tmp_path: Path) -> None:
    """The written opinion's form keeps its step with its draft, like intake.

    Found by the demo: the flush wrote "facts" over the "basis" step the form had
    just saved, so the officer's 处理依据 was filed as the 查明事实 and the
    basis asked again.
    """
    from bot.persistence import StorePersistence
    from store.conversations import Conversation
    from store.org import load_org
    from store.services import Services

    store = await Services.open(tmp_path / "flush.db", load_org(ORG_FILE))
    persistence = StorePersistence(store.cases)
    try:
        await store.forms.save(Conversation.OPINION, 5002, "basis", {"facts": "经查属实"}, {"last_update_id": 9})
        await persistence.update_conversation(Conversation.OPINION, (5002,), "facts")  # the stale snapshot
        saved = await store.forms.get(Conversation.OPINION, 5002)
        assert saved is not None and (saved.step, saved.data, saved.ui) == ("basis", {"facts": "经查属实"},
                                                                            {"last_update_id": 9})
    finally:
        await store.close()


def test_only_reception_leaves_its_step_to_ptb() -> None:
    """A new form is safe by default: its step is the store's, written with its draft."""
    from store.conversations import Conversation

    assert [c for c in Conversation if not c.step_kept_by_store] == [Conversation.RECEPTION]
