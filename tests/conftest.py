"""Shared fixtures: the test organisation, a store on a fresh file, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from store.clock import FakeClock
from store.models import DraftData, Petitioner
from store.org import Organization, load_org
from store.services import Services

ORG_FILE = Path(__file__).with_name("org_fixture.toml")


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
