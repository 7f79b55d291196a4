"""Handlers answer store refusals through one path (handlers/refusals.py), never with a catch of their own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from telegram.ext import Application

from handlers import callbacks as cb
from handlers.documents import title
from handlers.i18n import t
from store import services  # noqa: F401  (every store module, so every refusal class is defined)
from store.document_kinds import DocumentKind
from store.errors import StoreError
from store.services import Services
from tests.conftest import draft, petitioner
from tests.offline import OfflineRequest, Updates, feed

HANDLERS = Path(__file__).parent.parent / "handlers"


def _family(kind: type[StoreError]) -> list[type[StoreError]]:
    """The class and all its subclasses."""
    found = [kind]
    for direct in kind.__subclasses__():
        found += _family(direct)
    return found


# Every refusal class: StoreError and its subclasses, in store/errors.py or beside the rule that raises it.
REFUSALS = {kind.__name__ for kind in _family(StoreError)}


# The known remainder: modules still catching StoreError inline, to be moved onto
# ``answers_refusals`` (they were being changed elsewhere when the rest moved).
# Remove a module from here once it is converted; the test then holds it.
NOT_YET: set[str] = set()  # every form is on the form engine (handlers/forms.py) now
# The one place that catches: the decorator and its helper for notices.
THE_PATH = {"refusals.py"}


def catches(path: Path) -> list[int]:
    """Lines of ``except StoreError`` (alone, in a tuple, or any subclass of it)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            kinds = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            if any((k.id if isinstance(k, ast.Name) else getattr(k, "attr", None)) in REFUSALS for k in kinds):
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
    assert {"StoreError", "Refused", "NotFound", "BadInput", "NoDraft", "NoDocument", "TransitionError"} <= REFUSALS


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


# ------------------------------------------- each converted module, once, in the caller's language

OFFICER, EMPLOYEE = 1001, 5001  # tests/org_fixture.toml; the employee is anyone
NONE = "2099-999999"  # no such case
LANGUAGES = [("zh-hans", "zh"), ("en", "en")]


async def answered_once(application: Application, request: OfflineRequest, user: int, language_code: str,
                        raw: str, expected: str) -> None:
    """``raw`` (a command, or ``tap:<data>``) from ``user``: one message, ``expected``; a tap answered once."""
    updates = Updates(user, language_code=language_code)
    before, taps = len(request.texts_to(user)), len([c for c in request.calls if c.method == "answerCallbackQuery"])
    tap = raw.removeprefix("tap:") if raw.startswith("tap:") else None
    await feed(application, updates.tap(tap) if tap is not None else updates.text(raw))
    assert request.texts_to(user)[before:] == [expected]
    answers = [c for c in request.calls if c.method == "answerCallbackQuery"][taps:]
    assert len(answers) == (1 if tap is not None else 0)


# A case the caller cannot see, from each converted module: a command, and a button where the module has one.
UNKNOWN_CASE = {
    "review": [(EMPLOYEE, "tap:" + cb.Rv.RATE.encode("d", NONE)), (LEADER, f"/history {NONE}")],
    "staff": [(OFFICER, f"/case {NONE}"), (OFFICER, "tap:" + cb.St.ACCEPT.encode(NONE))],
    "procedure": [(OFFICER, f"/served {NONE} 2026-11-01 当面")],
    "hearing": [(LEADER, f"/hearing {NONE} 已举行"), (LEADER, "tap:" + cb.Rv.HEARING_HELD.encode(NONE))],
}


@pytest.mark.parametrize("module", sorted(UNKNOWN_CASE))
@pytest.mark.parametrize(("language_code", "lang"), LANGUAGES)
async def test_each_module_answers_a_refusal_once(app: tuple[Application, OfflineRequest], module: str,
                                                  language_code: str, lang: str) -> None:
    """handlers/<module>.py: an unknown number is refused once, in the caller's words (the hearing's prompt:
    tests/test_hearing.py)."""
    application, request = app
    for user, raw in UNKNOWN_CASE[module]:
        await answered_once(application, request, user, language_code, raw, t(lang, "errors.not_found", number=NONE))


@pytest.mark.parametrize(("language_code", "lang"), LANGUAGES)
async def test_a_prompt_answers_a_refusal_once_and_asks_no_more(
    app: tuple[Application, OfflineRequest], store: Services, language_code: str, lang: str
) -> None:
    """handlers/prompts.py: 回复 tapped on a case the caller cannot act on: said why, and no question is left open."""
    application, request = app
    await store.cases.set_prompt(OFFICER, "nt", NONE)  # an earlier question, still open
    gone = t(lang, "errors.not_found", number=NONE)
    await answered_once(application, request, OFFICER, language_code, "tap:" + cb.Pr.REPLY.encode(NONE), gone)
    assert await store.cases.get_prompt(OFFICER) is None


@pytest.mark.parametrize(("language_code", "lang"), LANGUAGES)
async def test_documents_answer_a_refusal_once(
    app: tuple[Application, OfflineRequest], store: Services, language_code: str, lang: str
) -> None:
    """handlers/documents.py: an unknown number; a case with no document yet, named by the kind asked (NoDocument)."""
    application, request = app
    number = (await store.cases.submit(petitioner(EMPLOYEE), draft(), "d")).case.number
    await answered_once(application, request, EMPLOYEE, language_code, f"/document {NONE}",
                        t(lang, "errors.not_found", number=NONE))
    await answered_once(application, request, EMPLOYEE, language_code, f"/document {number}",
                        t(lang, "document.none_any", number=number))
    await answered_once(application, request, EMPLOYEE, language_code, f"/document {number} 受理告知书",
                        t(lang, "document.none_kind", number=number, title=title(DocumentKind.ACCEPTED, lang)))
