"""Every benchmark still runs: each one at its smoke size (``--smoke``), in a subprocess.

The figures at this size mean nothing and none is asserted; what fails here
is a benchmark that no longer starts or finishes against today's code (a
renamed parameter, a changed store call), which otherwise goes unseen until
someone needs the figures.  Where a benchmark counts answers that were not
what a person should see, those must still be none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends import empty_pg_database, pg_url, require_pg

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    "burst_intake": "burst intake:",
    "client": "client:",
    "fanout": "fan-out:",
    "faults": "faults:",
    "memory": "memory:",
    "priority": "priority (",
    "store_scale": "store at scale:",
    "webapp": "webapp:",
}


def test_every_benchmark_is_listed() -> None:
    helpers = {"__init__", "harness", "botproc", "sqltrace", "index_usage"}  # the last two: tests/test_compact_journal.py
    found = {p.stem for p in (ROOT / "bench").glob("*.py")} - helpers
    assert found == set(BENCHMARKS)


def _wrong_answers(figures: object) -> list[int]:
    if isinstance(figures, dict):
        own = [figures["wrong_answers"]] if "wrong_answers" in figures else []
        return own + [n for value in figures.values() for n in _wrong_answers(value)]
    return []


#: Stands for this test process's PostgreSQL database (tests/backends.py's server), asked for when the test runs.
PG = "<postgresql>"
#: Stands for a new, empty PostgreSQL database (the store's copy at scale goes there).
EMPTY_PG = "<empty postgresql>"
#: Every benchmark in its default mode.
DEFAULTS: list[tuple[str, list[str]]] = [(name, []) for name in sorted(BENCHMARKS)]
#: Every other mode of a benchmark, each run once more at smoke size.
MODES: list[tuple[str, list[str]]] = [
    ("burst_intake", ["--pg", PG]),
    ("store_scale", ["--pg", EMPTY_PG]),
    ("fanout", ["--chat-burst"]),
    ("fanout", ["--ptb-defaults"]),
    ("priority", ["--fifo"]),
]


@pytest.mark.parametrize(("name", "extra"), DEFAULTS + MODES,
                         ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_benchmark_runs_at_smoke_size(name: str, extra: list[str]) -> None:
    if PG in extra:
        require_pg()
        extra = [pg_url() if part == PG else part for part in extra]
    if EMPTY_PG in extra:
        empty = empty_pg_database()
        extra = [empty if part == EMPTY_PG else part for part in extra]
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--smoke", *extra],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    # report(): the figures as one JSON document, then a one-line summary.
    body, _, summary = done.stdout.rstrip("\n").rpartition("\n")
    assert summary.startswith(BENCHMARKS[name]), done.stdout[-2000:]
    figures = json.loads(body)
    assert figures["benchmark"] == name
    assert all(n == 0 for n in _wrong_answers(figures)), figures
