"""Files that hold petition data are readable by their owner only (mode 0600), whatever the umask.

The database, its ``-wal`` and ``-shm`` companions, backups and reports
carry names, Telegram ids and petition texts; another user of the machine
must not read them. SQLite creates ``-wal`` and ``-shm`` with the mode of
the database file itself, so a database created (or corrected) to 0600
brings its companions along.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE = 0o600
#: SQLite's companion files, created beside the database with its mode.
COMPANIONS = ("-wal", "-shm", "-journal")


def make_private(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist, else set its mode to 0600."""
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        os.chmod(target, PRIVATE)
    else:
        os.close(fd)  # the umask can only have narrowed 0600
    return target


def private_database(path: str | os.PathLike[str]) -> None:
    """Before SQLite opens ``path``: the file and any companions left from before are 0600."""
    if str(path) == ":memory:" or str(path).startswith("file:"):
        return
    try:
        make_private(path)
        for suffix in COMPANIONS:
            companion = Path(f"{path}{suffix}")
            if companion.exists():
                os.chmod(companion, PRIVATE)
    except PermissionError:
        pass  # another user's file, opened for reading: theirs to protect


def write_private(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` (replacing what was there), readable by the owner only."""
    target = make_private(path)
    fd = os.open(target, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    return target
