"""Every refusal the store can give has its words in both languages.

A code without a text would silently become the generic "not allowed"
(handlers.common.error_text), which tells a person nothing: this scans the
store for every ``Refused(...)``, ``NotFound(...)`` and ``StoreError(...)``
raised with a literal code, and for codes chosen through a table of literals
(``return "claim_wrong", None`` style refusals and the policy's REFUSAL map),
and asks the catalogs for each.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from handlers.i18n import LANGUAGES, has
from store import policy

STORE = Path(__file__).parent.parent / "store"
ERRORS = {"Refused", "NotFound", "StoreError", "TransitionError"}


def raised_codes() -> dict[str, str]:
    """code → where it is raised (file:line), for every literal code given to a store error."""
    found: dict[str, str] = {}
    for path in sorted(STORE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            first = node.args[0]
            if name in ERRORS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value, f"{path.name}:{node.lineno}")
    return found


def class_codes() -> dict[str, str]:
    """The default code of each error class (``code = "not_found"``): what ``NotFound()`` says."""
    found: dict[str, str] = {}
    for path in sorted(STORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if (isinstance(item, ast.Assign) and [getattr(t, "id", None) for t in item.targets] == ["code"]
                            and isinstance(item.value, ast.Constant) and isinstance(item.value.value, str)):
                        found.setdefault(item.value.value, f"{path.name}:{item.lineno}")
    return found


def returned_refusals() -> dict[str, str]:
    """Codes returned as the refusal half of ``(refusal, result)`` pairs and raised later as ``Refused(refusal)``."""
    found: dict[str, str] = {}
    for path in sorted(STORE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2
                    and isinstance(node.value.elts[0], ast.Constant) and isinstance(node.value.elts[0].value, str)
                    and isinstance(node.value.elts[1], ast.Constant) and node.value.elts[1].value is None):
                found.setdefault(node.value.elts[0].value, f"{path.name}:{node.lineno}")
    return found


CODES = {**class_codes(), **raised_codes(), **returned_refusals(), **{code: "policy.REFUSAL" for code in policy.REFUSAL.values()}}


def test_the_scan_still_finds_the_stores_refusals() -> None:
    assert len(CODES) > 80, sorted(CODES)
    assert {"not_found", "wrong_status", "claim_wrong", "staff_last_admin"} <= set(CODES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_refusal_has_its_text(lang: str) -> None:
    missing = sorted(f"{code} ({where})" for code, where in CODES.items() if not has(lang, f"errors.{code}"))
    assert missing == []
