"""`petition-bot check-config [FILE]`: validate an organisation file without starting the bot."""

from __future__ import annotations

import datetime as dt
from os import PathLike

from store.org import OrgError, load_org, org_warnings


def check_config(path: str | PathLike[str]) -> tuple[bool, list[str]]:
    """(True, ["OK: <n> units, <n> categories, <n> staff"]) for a usable file, else (False, every error line)."""
    try:
        org = load_org(path)
    except OrgError as exc:
        return False, exc.errors
    return True, [f"OK: {len(org.units)} units, {len(org.categories)} categories, {len(org.staff)} staff"]


def config_warnings(path: str | PathLike[str], today: dt.date | None = None) -> list[str]:
    """What a usable file allows but is probably wrong (see :func:`store.org.org_warnings`)."""
    try:
        org = load_org(path)
    except OrgError:
        return []
    return org_warnings(org, today or dt.datetime.now(org.organization.tz).date())
