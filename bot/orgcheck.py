"""`petition-bot check-config [FILE]`: validate an organisation file without starting the bot."""

from __future__ import annotations

from os import PathLike

from store.org import OrgError, load_org


def check_config(path: str | PathLike[str]) -> tuple[bool, list[str]]:
    """(True, ["OK: <n> units, <n> categories, <n> staff"]) for a usable file, else (False, every error line)."""
    try:
        org = load_org(path)
    except OrgError as exc:
        return False, exc.errors
    return True, [f"OK: {len(org.units)} units, {len(org.categories)} categories, {len(org.staff)} staff"]
