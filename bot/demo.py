"""``petition-bot demo``: a whole case played out, with no token and no network.

The real bot (``bot.app.serve``) runs against the built-in loopback Bot API
simulator with the built-in example organisation and a throw-away database.
Scripted people tap and type exactly as a person would, and everything each
of them sees is printed as a transcript.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.app import serve
from bot.backup import plain
from botsim import BotApiSimulator, SimMessage, SimUser
from handlers.i18n import t
from store.org import example_org

TOKEN = "100000:DEMO"
NUMBER = re.compile(r"[A-Z]+-\d{4}-\d{6}")
# How long a step waits for the bot: the answer usually comes in milliseconds; a loaded machine (a test run
# beside others) may take seconds, and waiting costs nothing when it comes at once.
WAIT = 30.0


class Transcript:
    """Prints what each person does and every message (new or edited) they see."""

    def __init__(self, out: TextIO, lang: str = "en") -> None:
        self.out = out
        self.lang = lang
        self.people: dict[int, str] = {}
        self.seen: dict[tuple[int, int], tuple[str, tuple[str, ...]]] = {}

    def add(self, user: SimUser, label: str) -> SimUser:
        self.people[user.id] = label
        return user

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def text(self, key: str, **params: object) -> str:
        """The narration in this run's one language (the bot's own messages are as each person sees them)."""
        return plain(t(self.lang, f"demo.{key}", **params))

    def scene(self, key: str) -> None:
        self.say("\n" + self.text(key))

    def act(self, user: SimUser, what: str) -> None:
        self.say(f"\n▶ {self.people[user.id]}: {what}")

    def show_new(self, user: SimUser) -> None:
        for message in user.messages:
            key = (user.id, message.message_id)
            state = (message.visible_text, tuple(message.button_texts))
            if self.seen.get(key) == state:
                continue
            self.seen[key] = state
            self._print(user, message)

    def _print(self, user: SimUser, message: SimMessage) -> None:
        body = message.visible_text or f"[{message.kind}] {message.plain_caption or ''}".rstrip()
        indent = "    "
        self.say(f"  ◀ bot → {self.people[user.id]}:")
        for line in body.splitlines() or [""]:
            self.say(indent + line)
        if message.button_texts:
            self.say(indent + " ".join(f"[{text}]" for text in message.button_texts))


class Demo:
    def __init__(self, sim: BotApiSimulator, transcript: Transcript) -> None:
        self.sim = sim
        self.t = transcript

    async def step(
        self,
        user: SimUser,
        what: str,
        action: Callable[[], Awaitable[object]],
        expect: str,
        *,
        watch: tuple[SimUser, ...] = (),
    ) -> SimMessage:
        """Do one thing as ``user``, wait for the answer, print what everyone saw."""
        self.t.act(user, what)
        await action()
        seen = await user.wait_for(expect, timeout=WAIT)
        if watch:
            await asyncio.sleep(0.3)  # let the notifications to the others arrive too
        for person in (user, *watch):
            self.t.show_new(person)
        return seen

    async def intake(
        self, user: SimUser, taps: list[str], subject: str, details: str, identity: str, *, english: bool = False
    ) -> str:
        """Walk the seven intake steps by tapping and typing; returns the case number."""

        def at(n: int) -> str:
            return f"Step {n} of 7" if english else f"第 {n}/7 步"

        first, *units = taps
        say = self.t.text
        await self.step(user, "/new", lambda: user.send("/new"), at(1))
        await self.step(user, say("tap", label=first), lambda: user.tap(first), at(2))
        for label in units:
            expect = at(3) if label == units[-1] else label
            await self.step(user, say("tap", label=label), functools.partial(user.tap, label), expect)
        await self.step(user, say("types", text=subject), lambda: user.send(subject), at(4))
        await self.step(user, say("types_details"), lambda: user.send(details), at(5))
        await self.step(user, say("sends_photo"), lambda: user.send_photo(), "1")
        done = user.messages[-1].button_texts[0]
        await self.step(user, say("tap", label=done), lambda: user.tap(done), at(6))
        await self.step(user, say("tap", label=identity), lambda: user.tap(identity), at(7))
        submit = next(text for text in user.messages[-1].button_texts if text.startswith("✅"))
        receipt = await self.step(user, say("tap", label=submit), lambda: user.tap(submit), "XF-")
        match = NUMBER.search(receipt.visible_text)
        assert match is not None
        return match.group(0)


async def play(out: TextIO = sys.stdout, lang: str = "en") -> None:
    org = example_org()
    transcript = Transcript(out, lang)
    async with BotApiSimulator(token=TOKEN, bot_username="petition_demo_bot") as sim:
        stop = asyncio.Event()
        ready = asyncio.Event()

        async def on_ready(_app: object) -> None:
            ready.set()

        with tempfile.TemporaryDirectory() as folder:
            task = asyncio.create_task(
                serve(
                    token=TOKEN,
                    db_path=str(Path(folder) / "demo.db"),
                    org=org,
                    base_url=sim.base_url,
                    base_file_url=sim.base_file_url,
                    stop=stop,
                    ready=on_ready,
                )
            )
            await asyncio.wait_for(ready.wait(), 15)
            try:
                await _script(Demo(sim, transcript), org.organization.name)
            finally:
                stop.set()
                await asyncio.wait_for(task, 15)


async def _script(demo: Demo, org_name: str) -> None:
    sim, t = demo.sim, demo.t
    say = t.text
    t.say(say("title", org=org_name))
    staff = {s.telegram_id: s for s in example_org().staff}
    zhang = t.add(sim.user(200001, first_name="张三", language_code="zh-hans"), say("employee", name="张三"))
    li = t.add(sim.user(200002, first_name="Li Si", language_code="en"), say("employee", name="Li Si"))
    # Labelled as the bot calls them (信访工作人员), with their name from the organisation file.
    officer = t.add(sim.user(100006, first_name="孙", language_code="zh-hans"),
                    say("staff", name=staff[100006].name))
    inspector_id = next(
        s.telegram_id for s in example_org().staff if s.role.value == "officer" and "misconduct" in s.categories
    )
    inspector = t.add(sim.user(inspector_id, first_name="纪检", language_code="zh-hans"),
                      say("staff", name=staff[inspector_id].name))

    t.scene("scene_open")
    for person in (officer, inspector):
        await demo.step(person, "/start", functools.partial(person.send, "/start"), "您好")

    t.scene("scene_submit")
    number = await demo.intake(
        zhang, ["工资福利", "油田公司", "第一采油厂"], "十月份加班费未发放",
        "2026年10月在第一采油厂作业区加班共36小时，加班费至今未发放，班组多人情况相同。", "实名反映",
    )
    card = await officer.wait_for(number, timeout=WAIT)
    await asyncio.sleep(0.3)
    t.show_new(officer)

    t.scene("scene_report")
    report = await demo.intake(
        li, ["Reports of misconduct", "Oilfield Company", "No. 2 Oil Production Plant"],
        "Fuel cards used privately", "A team leader at No. 2 plant uses company fuel cards for his own car.",
        "Confidential", english=True,
    )
    await inspector.wait_for(report, timeout=WAIT)
    await asyncio.sleep(0.3)
    t.show_new(inspector)

    t.scene("scene_accept")
    await demo.step(officer, say("tap", label="受理"), lambda: officer.tap("受理", message=card), "已受理",
                    watch=(zhang,))
    await demo.step(officer, say("tap", label="回复信访人"), lambda: officer.tap("回复信访人", message=card), "常用答复")
    await demo.step(officer, say("tap", label="✍️ 自行输入答复"), lambda: officer.tap("自行输入"), "请输入")
    await demo.step(officer, say("types_question"), lambda: officer.send("请问加班是否经班组长审批？请提供考勤记录。"),
                    "已将", watch=(zhang,))

    t.scene("scene_answer")
    question = await zhang.wait_for("考勤记录", timeout=WAIT)
    # A person reads before replying; the bot records which case a message belongs to once Telegram has
    # accepted it, a moment after it is shown, and a reply faster than that would be an ordinary message.
    await asyncio.sleep(1.0)
    await demo.step(zhang, say("replies"), lambda: zhang.reply_to(question, "加班经班组长批准，考勤表已拍照。"),
                    "", watch=(officer,))
    await officer.wait_for("考勤表", timeout=WAIT)
    t.show_new(officer)

    t.scene("scene_decide")
    await demo.step(
        officer, f"/decide {number} support …",
        lambda: officer.send(f"/decide {number} support 经核实，加班情况属实，财务部门将于12月10日前补发。"),
        "信访人诉求",
    )
    # The written opinion's parts (Art. 32): the request as the employee put it, the facts, the basis.
    await demo.step(officer, say("tap", label="沿用当前内容"), lambda: officer.tap("沿用当前内容"), "查明事实")
    await demo.step(officer, "经查，11月3日至5日加班12小时，经班组长批准，加班费漏发。",
                    lambda: officer.send("经查，11月3日至5日加班12小时，经班组长批准，加班费漏发。"), "处理依据")
    prefilled = await demo.step(officer, "《劳动法》第四十四条；公司薪酬管理制度。",
                                lambda: officer.send("《劳动法》第四十四条；公司薪酬管理制度。"), "当前内容")
    await demo.step(officer, say("tap", label="沿用当前内容"),
                    lambda: officer.tap("沿用当前内容", message=prefilled), "请核对")
    await demo.step(officer, say("tap", label="✅ 出具"), lambda: officer.tap("✅ 出具"), "已对", watch=(zhang,))
    await zhang.wait_for("处理意见", timeout=WAIT)
    # The 信访处理意见书 (a PDF, made as it is sent) comes next, then the question to rate.
    await zhang.wait_for(predicate=lambda m: "基本满意" in m.button_texts, timeout=WAIT)
    t.show_new(zhang)

    t.scene("scene_rate")
    await demo.step(zhang, say("tap", label="基本满意"), lambda: zhang.tap("基本满意"), "感谢您的评价", watch=(officer,))

    t.scene("scene_status")
    await demo.step(zhang, f"/status {number}", lambda: zhang.send(f"/status {number}"), "办理记录")

    t.scene("scene_inspector")
    report_card = next(m for m in reversed(inspector.messages) if report in m.visible_text and m.buttons)
    await demo.step(inspector, say("tap", label="受理"), lambda: inspector.tap("受理", message=report_card), "已受理",
                    watch=(li,))
    t.say("\n" + say("finished"))


def main(lang: str = "en") -> int:
    asyncio.run(play(lang=lang))
    return 0
