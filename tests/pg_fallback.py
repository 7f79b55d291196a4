"""Which PostgreSQL server the suite uses, decided once per run (the conftest, before any worker starts).

1. ``PETITION_TEST_PG`` set: that server, as CI and any developer who has one say.
2. Else something answers at 127.0.0.1:5432: that one (database ``test``, trust authentication).
3. Else a throwaway server from the ``pgserver`` wheel (a self-contained PostgreSQL, in the
   test extra): initialised in a temporary folder, listening on a Unix socket only, stopped and
   deleted when the run ends. As root it runs as the system user ``pgserver``, which it creates.

The choice is handed on in ``PETITION_TEST_PG`` (the xdist workers and the bot processes that
tests start inherit it), or, when no server could be had, the reason in
``PETITION_TEST_PG_PROBLEM``: the PostgreSQL half then fails saying so (tests/backends.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, MutableMapping
from pathlib import Path

from tests.backends import DEFAULT_PG, ENV, PROBLEM_ENV, THROWAWAY_ENV, default_server_answers

#: What stops the throwaway server, if this process started one.
Stop = Callable[[], None]


def start_throwaway_server() -> tuple[str, Path, Stop]:
    """A new PostgreSQL server from the ``pgserver`` wheel: its URL (database ``postgres``), its tools, its stop."""
    import pgserver  # type: ignore[import-untyped,unused-ignore]  # only where no server was given

    folder = Path(tempfile.mkdtemp(prefix="petition-test-pg-"))
    server = pgserver.get_server(folder, cleanup_mode="delete")
    bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return str(server.get_uri()), bin_dir, server.cleanup


def choose_server(
    environ: MutableMapping[str, str], *, probe: tuple[str, int] = ("127.0.0.1", 5432)
) -> Stop | None:
    """Set ``environ`` for the run's server (see the module's text); what stops a started one, or None."""
    if environ.get(ENV):
        return None
    if default_server_answers(*probe):
        environ[ENV] = DEFAULT_PG
        return None
    try:
        url, bin_dir, stop = start_throwaway_server()
    except Exception as error:  # noqa: BLE001  # any reason at all is told by the tests that need the server
        where = f"{probe[0]}:{probe[1]}"
        environ[PROBLEM_ENV] = (
            f"nothing answers at {where} and no throwaway server could be started "
            f"(pgserver: {type(error).__name__}: {error}); set {ENV}=postgresql://…"
        )
        return None
    environ[ENV] = url
    environ[THROWAWAY_ENV] = "1"
    # pg_dump/pg_restore of the server's own version first (backups in tests/test_pg_cli.py).
    environ["PATH"] = f"{bin_dir}{os.pathsep}{environ.get('PATH', '')}"
    return stop
