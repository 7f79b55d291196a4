"""Handlers answer store refusals through one path (handlers/refusals.py), never with a catch of their own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from telegram.ext import Application

from handlers import callbacks as cb
from handlers.i18n import t
from tests.offline import OfflineRequest, Updates, feed

HANDLERS = Path(__file__).parent.parent / "handlers"

# The known remainder: modules still catching StoreError inline, to be moved onto
# ``answers_refusals`` (they were being changed elsewhere when the rest moved).
# Remove a module from here once it is converted; the test then holds it.
NOT_YET = {"review.py", "staff.py", "prompts.py", "documents.py", "procedure.py", "intake.py", "register.py",
           "hearing.py"}  # merged the same day as the path: study and hearing
# The one place that catches: the decorator and its helper for notices.
THE_PATH = {"refusals.py"}


def catches(path: Path) -> list[int]:
    """Lines of ``except StoreError`` (alone, in a tuple, or a subclass of it named in store/errors.py)."""
    names = {"StoreError", "Refused", "NotFound", "BadInput", "NoDraft", "ContactNeeded", "NotOwnContact", "AwaitingApproval"}
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            kinds = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            if any((k.id if isinstance(k, ast.Name) else getattr(k, "attr", None)) in names for k in kinds):
                lines.append(node.lineno)
    return lines


def test_no_handler_catches_a_refusal_of_its_own() -> None:
    found = {p.name: lines for p in sorted(HANDLERS.glob("*.py"))
             if p.name not in NOT_YET | THE_PATH and (lines := catches(p))}
    assert found == {}, "answer refusals with handlers.refusals.answers_refusals"


def test_the_known_remainder_still_exists() -> None:
    """A converted module leaves NOT_YET, so the first test covers it from then on."""
    converted = sorted(name for name in NOT_YET if not catches(HANDLERS / name))
    assert converted == [], "remove these from NOT_YET"


def test_the_scan_sees_a_catch() -> None:
    assert catches(HANDLERS / "refusals.py")


# ----------------------------------------------------------- the answer itself

LEADER = 2001  # tests/org_fixture.toml


@pytest.mark.parametrize("language_code", ["zh-hans", "en"])
async def test_a_refused_tap_is_answered_once_in_the_callers_language(
    app: tuple[Application, OfflineRequest], language_code: str
) -> None:
    """签发 of a draft that no longer exists: the spinner stops (one answer) and the tapped message says why."""
    application, request = app
    await feed(application, Updates(LEADER, language_code=language_code).tap(cb.Ap.APPROVE.encode(999)))
    lang = "en" if language_code == "en" else "zh"
    assert [c.params.get("text") for c in request.calls if c.method == "answerCallbackQuery"] == [None]
    assert request.last_to(LEADER).text == t(lang, "errors.draft_gone")


async def test_a_refused_command_answers_and_a_button_answered_before_is_not_answered_again(
    app: tuple[Application, OfflineRequest],
) -> None:
    application, request = app
    await feed(application, Updates(LEADER).text("/urge 2099-999999"))  # no such case
    assert request.last_to(LEADER).text == t("zh", "errors.not_found", number="2099-999999")
    await feed(application, Updates(LEADER).tap(cb.Sv.URGE.encode("2099-999999")))  # answered first, then refused
    assert len([c for c in request.calls if c.method == "answerCallbackQuery"]) == 1
    assert request.last_to(LEADER).text == t("zh", "errors.not_found", number="2099-999999")
