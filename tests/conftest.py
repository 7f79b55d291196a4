"""Shared fixtures and helpers: the test organisation, a store on a fresh file, a fake clock, raw rows."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.clock import FakeClock
from store.models import DraftData, Petitioner
from store.org import Organization, load_org
from store.services import Services

ORG_FILE = Path(__file__).with_name("org_fixture.toml")


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """What the database file holds, read past the store (its own connection, committed rows only)."""
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


@pytest.fixture
def org() -> Organization:
    return load_org(ORG_FILE)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path, org: Organization, clock: FakeClock) -> AsyncIterator[Services]:
    s = await Services.open(tmp_path / "cases.db", org, clock)
    yield s
    await s.close()


def draft(**overrides: object) -> DraftData:
    values: dict[str, object] = {
        "category": "wages",
        "unit": "plant-1",
        "subject": "加班费未发放",
        "details": "2026年10月的加班费至今未发放。",
    }
    values.update(overrides)
    return DraftData.model_validate(values)


def petitioner(user_id: int = 5001, name: str = "张三") -> Petitioner:
    return Petitioner(id=user_id, name=name, language="zh")


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """Commands run in-process set up logging for a whole process (bot/logs.py); undo it after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
