"""Which PostgreSQL the suite uses (tests/pg_fallback.py): the one given, the one on 5432, else one it starts."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests import pg_fallback
from tests.backends import DEFAULT_PG, ENV, PROBLEM_ENV, one_row, with_database


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (one the kernel just handed out and took back)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_a_given_server_is_used_as_it_is(closed_port: int) -> None:
    environ = {ENV: "postgresql://db.invalid:5432/ci"}
    assert pg_fallback.choose_server(environ, probe=("127.0.0.1", closed_port)) is None
    assert environ == {ENV: "postgresql://db.invalid:5432/ci"}


def test_a_server_on_the_default_port_is_used(listening_port: int) -> None:
    environ: dict[str, str] = {}
    assert pg_fallback.choose_server(environ, probe=("127.0.0.1", listening_port)) is None
    assert environ == {ENV: DEFAULT_PG}


def test_without_any_server_the_reason_is_handed_on(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    def broken() -> None:
        raise RuntimeError("initdb failed")

    monkeypatch.setattr(pg_fallback, "start_throwaway_server", broken)
    environ: dict[str, str] = {}
    assert pg_fallback.choose_server(environ, probe=("127.0.0.1", closed_port)) is None
    assert ENV not in environ
    assert f"nothing answers at 127.0.0.1:{closed_port}" in environ[PROBLEM_ENV]
    assert "RuntimeError: initdb failed" in environ[PROBLEM_ENV] and ENV in environ[PROBLEM_ENV]


@pytest.mark.slow
def test_without_a_server_a_throwaway_one_is_started_and_stopped(closed_port: int) -> None:
    environ = {"PATH": os.environ.get("PATH", "")}
    stop = pg_fallback.choose_server(environ, probe=("127.0.0.1", closed_port))
    assert stop is not None
    url = environ[ENV]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            assert one_row(conn, "SHOW server_version_num")[0] >= "160000"
            conn.execute("CREATE DATABASE fallback_check")
        with psycopg.connect(with_database(url, "fallback_check")) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("fallback_check",)
        # Its own pg_dump comes first on PATH (a backup of a 16 server needs a 16 pg_dump).
        first = environ["PATH"].split(os.pathsep)[0]
        assert (Path(first) / "pg_dump").is_file()
    finally:
        stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)
