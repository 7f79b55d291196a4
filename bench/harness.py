"""Shared pieces of the benchmarks: a loopback Bot API, bots in their own process, figures.

The simulated employees and the Bot API simulator share this process; the
bot under test runs in a child process (``python -m bench.botproc``), so it
has a core of its own as it would beside Telegram. Replies are matched to
actions through a hook on the simulator (one future per chat), not by
scanning chats, so the harness costs the same for every bot it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botsim import BotApiSimulator, SimMessage

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH"


class BenchSimulator(BotApiSimulator):
    """The loopback Bot API, telling waiters the moment a chat changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("token", TOKEN)
        super().__init__(*args, **kwargs)
        self._waiters: dict[int, asyncio.Future[SimMessage]] = {}

    def _touch(self, message: SimMessage) -> None:
        super()._touch(message)
        waiter = self._waiters.pop(message.chat_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    def expect(self, chat_id: int) -> asyncio.Future[SimMessage]:
        """A future for the next bot message (new or edited) in ``chat_id``."""
        future: asyncio.Future[SimMessage] = asyncio.get_running_loop().create_future()
        self._waiters[chat_id] = future
        return future


def settle_harness() -> None:
    """Collect the harness's garbage and freeze what it holds, before a phase is measured.

    The simulator and the simulated people run in this process: after a burst of 500 people its heap
    is large, and a full collection of it (about 100 ms) stopped the loopback Bot API in the middle of
    the next phase, counted as the bot's latency (the paced phase's p99 50–65 ms, then 20–35 with this).
    The bot's own process does the same once started (``bot.app.settle_heap``).
    """
    gc.collect()
    gc.freeze()


class BotProcess:
    """A bot under test in its own Python process."""

    def __init__(self, sim: BotApiSimulator, mode: str, db: Path | str | None = None, *extra: str) -> None:
        self.sim = sim
        self.args = ["--mode", mode, "--api-url", sim.base_url, "--token", sim.token]
        if db is not None:
            self.args += ["--db", str(db)]
        self.args += list(extra)
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> BotProcess:
        polls = len(self.sim.calls_to("deleteWebhook"))
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.botproc", *self.args, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.monotonic() + 30
        while len(self.sim.calls_to("deleteWebhook")) == polls:
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError("the bot under test did not start")
            await asyncio.sleep(0.02)
        settle_harness()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) used so far by a process (Linux), this one by default."""
    stat = Path(f"/proc/{pid or os.getpid()}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        # Other work on the machine skews figures: the load when the run ended.
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
    }


def report(name: str, figures: dict[str, Any], summary: str) -> None:
    """Print the figures as one JSON document, then a one-line summary."""
    print(json.dumps({"benchmark": name, "machine": machine(), **figures}, ensure_ascii=False, indent=2))
    print(summary)


SMOKE_HELP = ("smoke size: a few seconds at tiny counts, to show the benchmark still runs "
              "(its figures mean nothing); the tests run every benchmark this way")


def parse_args(parser: argparse.ArgumentParser, **smoke: Any) -> argparse.Namespace:
    """The command line, with ``--smoke`` setting each of ``smoke``'s options to its tiny value."""
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args()
    if args.smoke:
        for name, value in smoke.items():
            setattr(args, name, value)
    return args


@contextmanager
def fresh_target(pg: str | None, sqlite_path: Path) -> Iterator[str]:
    """The bot's database for one phase: ``sqlite_path``, or a new schema on the PostgreSQL server ``pg``."""
    if pg is None:
        yield str(sqlite_path)
        return
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    # A PostgreSQL database has no file beside it for its vault key (store/vault.py): the bot
    # process (it inherits this environment) gets a key file of its own, next to the SQLite path.
    own_key = not os.environ.get("PETITION_KEY_FILE") and not os.environ.get("PETITION_SECRET_KEY")
    if own_key:
        os.environ["PETITION_KEY_FILE"] = str(sqlite_path.with_name(f"{schema}.key"))
    try:
        yield f"{pg}{'&' if '?' in pg else '?'}options={quote(f'-csearch_path={schema}')}"
    finally:
        if own_key:
            os.environ.pop("PETITION_KEY_FILE", None)
        with psycopg.connect(pg, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
