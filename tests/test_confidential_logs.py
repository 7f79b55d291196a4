"""Logs carry no Telegram id, name, username, phone, petition text or token, DEBUG included (issue 11, path 5)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import pytest

from bot import jobs
from bot.logs import LIBRARY_FLOORS, Redactor, setup
from botsim import BotApiSimulator
from tests.e2e import running_bot
from tests.petitioner import ORG_FILE, api_errors, org_with, rows, submit, to_subject

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7012345678:AAHk3x9Qp_Zr8vWm2LtYc5NbFd6GhJ4sE1o"


class TelegramUser(TypedDict):
    id: int
    first_name: str
    last_name: str
    username: str


REPORTER: TelegramUser = {"id": 734829156, "first_name": "Xiaoming", "last_name": "Ouyang", "username": "quiet_witness_42"}
PHONE = "+8613812345678"
SUBJECT = "Depot manager takes kickbacks"
EVIDENCE = "Xiaoming_Ouyang_staff_no_556677_evidence.pdf"
DETAILS = "The fuel depot manager asked the supplier Huaxin for cash on every delivery."


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The application's own logging set-up at DEBUG, writing into a buffer; undone afterwards."""
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in LIBRARY_FLOORS}
    buffer = io.StringIO()
    handler = setup("DEBUG", secrets=[TOKEN], stream=buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.slow
async def test_debug_log_of_a_confidential_report_names_nobody(
    tmp_path: Path, debug_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The deadline sweep's first run (5 s after start) would tell leaders who never opened the
    # bot their digest: one more undeliverable notification on a machine slow enough to get there.
    monkeypatch.setattr(jobs, "SWEEP_FIRST_SECONDS", 3600.0)
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db, token=TOKEN) as bot:
        officer = bot.sim.user(1002, first_name="李", language_code="zh-hans")
        await officer.send("/start")
        await officer.wait_for("信访工作人员")
        user = bot.sim.user(REPORTER["id"], first_name=REPORTER["first_name"], last_name=REPORTER["last_name"],
                            username=REPORTER["username"], language_code="en")
        await to_subject(user, "en", "report")
        await user.send(SUBJECT)
        await user.wait_for("Step 4 of 7")
        await user.send(DETAILS)
        await user.wait_for("Step 5 of 7")
        await user.send_document(EVIDENCE, content=b"%PDF-1.4\n")
        await user.wait_for("Received file 1")
        await user.tap("Done")
        await user.wait_for("Step 6 of 7")
        await user.tap("Real name with my phone number")  # the phone passes through an update ...
        await user.wait_for("phone number")
        await user.send_contact(PHONE)
        await user.wait_for("Step 7 of 7")
        await user.tap("Identity")  # ... and is dropped again: confidential
        await user.wait_for("Step 6 of 7")
        await user.tap("Confidential (code name)")
        await user.wait_for("Step 7 of 7")
        number = await submit(user, "en")
        card = await officer.wait_for(number)
        await officer.wait_for(predicate=lambda m: m.kind == "document")
        # The reporter blocks the bot: the acceptance notice cannot be delivered (a WARNING).
        user.blocked = True
        await officer.tap("受理", message=card)
        await officer.wait_for("已受理")
        await bot.drained()
        # The acceptance notice and its 受理告知书 (a document, after it) cannot be delivered.
        assert rows(db, "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL") == [(2,)]
        assert api_errors(bot.sim) == [("sendMessage", "Forbidden: bot was blocked by the user"),
                                       ("sendDocument", "Forbidden: bot was blocked by the user")]

    log = debug_log.getvalue()
    assert " DEBUG " in log and " WARNING " in log  # it did log, at every level
    unreachable = [line for line in log.splitlines() if "unreachable" in line]
    assert len(unreachable) == 2  # the notice and the document
    assert all("[redacted]" not in line for line in unreachable)  # the warning names the notification, not the chat
    secrets = [str(REPORTER["id"]), REPORTER["first_name"], REPORTER["last_name"], REPORTER["username"],
               PHONE, PHONE.lstrip("+"), "13812345678", SUBJECT, DETAILS, "kickbacks", "Huaxin",
               TOKEN, TOKEN.split(":")[1], EVIDENCE, "556677"]
    leaked = [secret for secret in secrets if secret in log]
    assert leaked == [], "\n".join(line for line in log.splitlines() if any(s in line for s in leaked))[:3000]


def test_redactor_masks_tokens_ids_and_quoted_input() -> None:
    redactor = Redactor(secrets=["s3cret-value"])
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "chat %s said %s via %s", (
        734829156, "input_value='my petition', input_type=str", "https://api.telegram.org/bot1234567:" + "A" * 35 + "/x"
    ), None)
    redactor.filter(record)
    text = record.getMessage()
    assert "734829156" not in text and "my petition" not in text and "AAAA" not in text
    group = logging.LogRecord("x", logging.ERROR, __file__, 1, "group %s, notification %s", (-1001234567890, 17), None)
    redactor.filter(group)
    assert group.getMessage() == "group -1001234567890, notification 17"  # groups stay readable


@pytest.mark.slow
async def test_a_rejected_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    async with BotApiSimulator(token=TOKEN) as sim:
        wrong = "7012345678:AAHwrongwrongwrongwrongwrongwrong1234"
        env = {**os.environ, "PETITION_BOT_TOKEN": wrong, "PETITION_API_URL": sim.base_url,
               "PETITION_DB": str(tmp_path / "bot.db"), "PETITION_CONFIG": str(ORG_FILE),
               "PETITION_LOG_LEVEL": "DEBUG"}
        env.pop("PETITION_API_FILE_URL", None)
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=60,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "Traceback" not in output and wrong not in output and wrong.split(":")[1] not in output
    assert [line for line in done.stderr.splitlines() if "refused the token" in line] == [
        f"the Bot API at {sim.base_url} refused the token in PETITION_BOT_TOKEN; copy it again from @BotFather"
    ]
