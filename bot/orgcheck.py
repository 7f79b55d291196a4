"""`petition-bot check-config [FILE]`: validate an organisation file without starting the bot."""

from __future__ import annotations

import datetime as dt
from os import PathLike

from store.discipline import discipline_problems
from store.org import Organization, OrgError, Role, load_org, org_warnings, review_problems


def check_config(path: str | PathLike[str]) -> tuple[bool, list[str]]:
    """(True, ["OK: <n> units, <n> categories, <n> staff"]) for a usable file, else (False, every error line)."""
    try:
        org = load_org(path)
    except OrgError as exc:
        return False, exc.errors
    problems = [*review_problems(org), *discipline_problems(org)]
    if problems:
        return False, problems
    return True, [f"OK: {len(org.units)} units, {len(org.categories)} categories, {len(org.staff)} staff"]


def config_warnings(path: str | PathLike[str], today: dt.date | None = None) -> list[str]:
    """What a usable file allows but is probably wrong (see :func:`store.org.org_warnings`)."""
    try:
        org = load_org(path)
    except OrgError:
        return []
    return [*org_warnings(org, today or dt.datetime.now(org.organization.tz).date()), *screening_warnings(org)]


def screening_warnings(org: Organization) -> list[str]:
    """The dispute screening (``[screening]``): units taking part that no officer or leader covers.

    Allowed (the administrators are asked, or told, instead) but probably not meant.
    """
    warnings: list[str] = []
    index = {unit.id: i for i, unit in enumerate(org.units)}
    for unit in org.screening_units():
        chain = {u.id for u in org.ancestors(unit.id)}
        if not any(s.role is Role.OFFICER and not s.discipline and chain & set(s.units) for s in org.staff):
            warnings.append(f"units[{index[unit.id]}].screening: no officer covers {unit.id}; the administrators"
                            " will be asked to file its dispute screening")
        if not any(s.role is Role.LEADER and chain & set(s.units) for s in org.staff):
            warnings.append(f"units[{index[unit.id]}].screening: no leader covers {unit.id}; the administrators"
                            " will be told when it does not report")
    return warnings
