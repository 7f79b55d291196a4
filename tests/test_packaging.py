"""The bot runs without its test machinery: ``petition-bot run`` never loads the simulator.

The loopback Bot API (``botsim``) and aiohttp under it come only with the
``demo`` and ``test`` extras, so a production install lacks them; importing the
app or the CLI must not need them.  Checked in a fresh interpreter, since this
test process has imported both long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import bot.app, bot.cli, bot.outbox, bot.jobs
print(json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] in ("botsim", "aiohttp"))))
"""


@pytest.mark.slow
def test_app_and_cli_import_neither_simulator_nor_aiohttp() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.slow
def test_demo_without_the_simulator_says_which_extra_to_install() -> None:
    # A production install: the simulator's aiohttp is missing.  A None entry in
    # sys.modules makes its import fail as it would there.
    probe = (
        "import sys; sys.modules['aiohttp'] = None; sys.argv = ['petition-bot', 'demo']\n"
        "from bot.cli import main\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "pip install -e '.[demo]'" in lines[0]
