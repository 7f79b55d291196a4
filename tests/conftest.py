"""Shared fixtures and helpers: the test organisation, a store on a fresh file, a fake clock, raw rows."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from telegram.ext import Application

from bench import sqltrace
from store.clock import FakeClock
from store.db import SqliteThread
from store.models import Actor, DraftData, Petitioner
from store.opinion import OpinionParts
from store.org import Organization, load_org
from store.services import Services
from tests import pg_fallback
from tests.backends import BACKENDS, drop_own_databases, fresh_database, rows
from tests.offline import OfflineRequest, offline_app

__all__ = ["rows"]  # helpers other tests import from here

ORG_FILE = Path(__file__).with_name("org_fixture.toml")

_stop_server: pg_fallback.Stop | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Once per run, before any xdist worker starts: which PostgreSQL server (tests/pg_fallback.py).

    And the bot processes tests start serve /healthz and /metrics, and the Mini App, on a free port,
    not on the default one, where two of them at once (two workers) would meet.
    """
    global _stop_server
    if not hasattr(config, "workerinput"):  # the workers inherit the choice in the environment
        _stop_server = pg_fallback.choose_server(os.environ)
        os.environ.setdefault("PETITION_METRICS_LISTEN", "127.0.0.1:0")
        os.environ.setdefault("PETITION_WEBAPP_LISTEN", "127.0.0.1:0")  # the Mini App's server, likewise
        # A run starts many Python processes (the workers, bot processes, benchmarks): each would
        # compile the project and rewrite the tests again where PYTHONDONTWRITEBYTECODE is set
        # (seconds of CPU apiece). Compiled files go to __pycache__, which git ignores.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        sys.dont_write_bytecode = False
        # The bot follows the environment's proxy when it has none of its own (bot/request.py): a
        # developer's HTTP_PROXY must not carry the tests' loopback traffic anywhere else.
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = "*"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by the marks added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: the workers take them while the many short ones fill in around them.
    (A stable sort, the same on every worker, as xdist requires.)

    Then the PostgreSQL half of every test that takes ``backend`` is marked ``postgresql``, and
    every ``postgresql`` test (those that need the server of their own accord too) ``slow``: it costs about as much as the rest of the quick tests together (a server
    beside the tests, each statement a round trip), so the developer's loop (``-m "not slow"``)
    leaves it to the full run, and ``-m postgresql`` runs it alone.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.postgresql)
        if item.get_closest_marker("postgresql") is not None:
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_own_databases()  # each process its own, before the run's throwaway server (if any) stops


def pytest_unconfigure(config: pytest.Config) -> None:
    if _stop_server is not None:
        _stop_server()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that takes a store runs on SQLite and on PostgreSQL (tests/backends.py)."""
    return str(request.param)


@pytest.fixture
def org() -> Organization:
    return load_org(ORG_FILE)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(backend: str, tmp_path: Path, org: Organization, clock: FakeClock) -> AsyncIterator[Services]:
    async with fresh_database(backend, tmp_path, migrated=True) as target:
        s = await Services.open(target, org, clock)
        yield s
        await s.close()


@pytest.fixture
async def app(store: Services) -> AsyncIterator[tuple[Application, OfflineRequest]]:
    """The bot's Application on ``store``, answering through PTB's offline request pattern (tests/offline.py).

    Tests on the review fixture's store (``rstore``) define their own, on that store.
    """
    async with offline_app(store) as running:
        yield running


#: A written opinion's request, facts and basis (Art. 32): the store issues no opinion without them.
OPINION_PARTS = OpinionParts(request="要求补发加班费。", facts="经核查考勤记录，加班情况属实。",
                             basis="《中华人民共和国劳动法》第四十四条。")
#: A 复查 / 复核 opinion's request to the reviewing body, facts found and basis (Art. 35-36).
REVIEW_PARTS = OpinionParts(request="请求撤销原处理意见，补发十月加班费。", facts="经复查工资条和考勤记录，十月加班两天未计发加班费。",
                            basis="《工资支付暂行规定》第十三条。")


def draft(**overrides: object) -> DraftData:
    values: dict[str, object] = {
        "category": "wages",
        "unit": "plant-1",
        "subject": "加班费未发放",
        "details": "2026年10月的加班费至今未发放。",
    }
    values.update(overrides)
    return DraftData.model_validate(values)


def uid(actor: Actor) -> int:
    """A person's Telegram id: every actor has one but the system (``Actor.id`` is optional for it alone)."""
    assert actor.id is not None, actor
    return actor.id


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


def trace_sql(monkeypatch: pytest.MonkeyPatch, trace: Path) -> None:
    """Every distinct statement the store's SQLite connections opened from now on run, into ``trace``
    (bench/sqltrace.py, one JSON string a line), for a test that reads their plans."""
    monkeypatch.setattr(sqltrace, "_OUT", str(trace))
    monkeypatch.setattr(sqltrace, "_seen", set())
    monkeypatch.setattr(SqliteThread, "connect", classmethod(sqltrace._traced))
