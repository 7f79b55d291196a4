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
from functools import cache
from pathlib import Path

import pytest

from handlers.i18n import LANGUAGES, catalog, has, placeholders
from store import errors, policy, services  # noqa: F401  (services: every store module, every error class)

STORE = Path(__file__).parent.parent / "store"


@cache
def trees() -> list[tuple[Path, ast.Module]]:
    """Each store module's syntax tree, parsed once for every scan here (and only when a test asks)."""
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(STORE.glob("*.py"))]


def _family(kind: type[errors.StoreError]) -> list[type[errors.StoreError]]:
    """The class and all its subclasses."""
    found = [kind]
    for direct in kind.__subclasses__():
        found += _family(direct)
    return found


# Every error class a store raises (StoreError and each subclass); the typed ones are answered their own way.
CLASSES = {kind.__name__: kind for kind in _family(errors.StoreError)}
ERRORS = set(CLASSES)


def raised_codes() -> dict[str, str]:
    """code → where it is raised (file:line), for every literal code given to a store error."""
    found: dict[str, str] = {}
    for path, tree in trees():
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
    for path, tree in trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if (isinstance(item, ast.Assign) and [getattr(t, "id", None) for t in item.targets] == ["code"]
                            and isinstance(item.value, ast.Constant) and isinstance(item.value.value, str)):
                        found.setdefault(item.value.value, f"{path.name}:{item.lineno}")
    return found


def returned_refusals() -> dict[str, str]:
    """Codes returned as the refusal half of ``(refusal, result)`` pairs and raised later as ``Refused(refusal)``."""
    found: dict[str, str] = {}
    for path, tree in trees():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2
                    and isinstance(node.value.elts[0], ast.Constant) and isinstance(node.value.elts[0].value, str)
                    and isinstance(node.value.elts[1], ast.Constant) and node.value.elts[1].value is None):
                found.setdefault(node.value.elts[0].value, f"{path.name}:{node.lineno}")
    return found


@cache
def codes() -> dict[str, str]:
    """Every refusal code the store gives (code → where), found when a test first asks, not at collection."""
    return {**class_codes(), **raised_codes(), **returned_refusals(),
            **{code: "policy.REFUSAL" for code in policy.REFUSAL.values()}}


def test_the_scan_still_finds_the_stores_refusals() -> None:
    assert len(codes()) > 80, sorted(codes())
    assert {"not_found", "wrong_status", "claim_wrong", "staff_last_admin"} <= set(codes())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_refusal_has_its_text(lang: str) -> None:
    missing = sorted(f"{code} ({where})" for code, where in codes().items() if not has(lang, f"errors.{code}"))
    assert missing == []


def raised_params() -> list[tuple[str, set[str], str]]:
    """(code, the keyword names given, where) for each error raised with a literal code (or its class's) and no ``**``."""
    defaults = {name: kind.code for name, kind in CLASSES.items()}
    found: list[tuple[str, set[str], str]] = []
    for path, tree in trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in ERRORS or any(k.arg is None for k in node.keywords):
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                code = first.value
            elif first is None and name in defaults:
                code = defaults[name]
            else:
                continue
            found.append((code, {k.arg for k in node.keywords if k.arg}, f"{path.name}:{node.lineno}"))
    return found


def test_the_typed_errors_are_raised_and_scanned() -> None:
    """The typed refusals handlers answer their own way exist in the store, each with its default code's text."""
    typed = {errors.BadInput, errors.NoDraft, errors.ContactNeeded, errors.NotOwnContact, errors.NoDocument}
    assert typed <= set(CLASSES.values())
    scanned = {code for code, _, _ in raised_params()}
    for kind in typed:
        assert issubclass(kind, errors.Refused)
        assert kind.code in codes() and kind.code in scanned, kind


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_error_class_has_its_text(lang: str) -> None:
    """Each class's default code (what ``NotFound()`` or ``NoDocument(...)`` says) has its words in both languages."""
    missing = sorted(f"{name}: errors.{kind.code}" for name, kind in CLASSES.items() if not has(lang, f"errors.{kind.code}"))
    assert missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_refusal_gives_what_its_text_needs(lang: str) -> None:
    """Each raise gives every ``{placeholder}`` of its text (``status`` is named by error_text), else the text fails."""
    missing = sorted(
        f"{code} ({where}): {sorted(needed)}"
        for code, given, where in raised_params()
        if has(lang, f"errors.{code}")
        and (needed := placeholders(catalog(lang)[f"errors.{code}"]) - given)
    )
    assert missing == []
