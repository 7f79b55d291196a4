"""The bot runs without its test machinery: ``petition-bot run`` never loads the simulator.

The loopback Bot API (``botsim``) is demo and test machinery: importing the app
or the CLI must not load it (``petition-bot demo`` imports it when it runs).
Checked in a fresh interpreter, since this test process has imported it long ago.
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
print(json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] == "botsim")))
"""


@pytest.mark.slow
def test_app_and_cli_do_not_import_the_simulator() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
