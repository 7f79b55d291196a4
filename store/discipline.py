"""The discipline line (纪检监察) for reports of misconduct (检举控告): pure functions over the organisation.

《信访工作条例》 Art. 29-31 and the 《纪检监察机关处理检举控告工作规则》: a report is taken by
discipline-inspection staff (``[[staff]] discipline = true``) of a level ABOVE the unit reported
on, never by that unit's own staff or leaders, and it escalates along the discipline line, not the
unit's management line. A report about a unit's leadership goes one discipline level higher
(the intake asks; store/cases.py records it against the unit whose discipline body would otherwise
have taken it, so every rule below applies unchanged).

The line applies once the organisation names any discipline staff; check-config refuses a file
with report categories where a report could reach anyone else (``discipline_problems``).
"""

from __future__ import annotations

import datetime as dt

from store.org import CategoryKind, Organization, Role, Staff

#: 《纪检监察机关处理检举控告工作规则》: a real-name reporter is told of acceptance within 15 working days.
ACCEPT_WORKING_DAYS = 15


def has_line(org: Organization) -> bool:
    """Does the organisation name discipline staff (then reports go only along their line)?"""
    return any(s.discipline for s in org.staff)


def on_line(org: Organization, category_id: str | None) -> bool:
    """Is a case of this category a report taken along the discipline line?"""
    if category_id is None or not has_line(org):
        return False
    category = org.find_category(category_id)
    return category is not None and category.kind is CategoryKind.REPORT


def accept_due(org: Organization, category_id: str | None, start: dt.date) -> dt.date:
    """The acceptance limit counted from ``start``: 15 working days for a report on the line, else ``accept_days``."""
    if on_line(org, category_id):
        return org.workdays.due_date(start, ACCEPT_WORKING_DAYS, working=True)
    return org.due_date(start, "accept_days")


def tiers(org: Organization, unit_id: str) -> list[tuple[str, list[Staff]]]:
    """The discipline levels above ``unit_id``, nearest first: (unit, its discipline staff who may see it).

    Strictly above: the unit's own discipline staff are the unit's staff. Units
    without discipline staff are skipped; people recused from the unit are left out.
    """
    found: list[tuple[str, list[Staff]]] = []
    for unit in org.ancestors(unit_id)[1:]:
        people = [s for s in org.staff if s.discipline and unit.id in s.units and not org.recused(s, unit_id)]
        if people:
            found.append((unit.id, people))
    return found


def takes(org: Organization, staff: Staff, unit_id: str) -> bool:
    """May this person see and act on a report about ``unit_id``: discipline staff of a unit above it."""
    if not staff.discipline or org.recused(staff, unit_id):
        return False
    return any(unit.id in staff.units for unit in org.ancestors(unit_id)[1:])


def approvers(org: Organization, unit_id: str) -> list[Staff]:
    """Who approves (签发) an act on a report about ``unit_id``: the discipline leaders of the nearest level
    that has any (role leader, discipline = true), from the level that takes the report upward."""
    for _, people in tiers(org, unit_id):
        leaders = [s for s in people if s.role is Role.LEADER]
        if leaders:
            return leaders
    return []


def handling_unit(org: Organization, unit_id: str, leadership: bool = False) -> str | None:
    """The unit a report is recorded against so that the right discipline level takes it.

    Itself for an ordinary report; for one about the unit's leadership, the unit of
    the nearest discipline level above it (so the level above that takes it). None
    when no discipline level of the company is high enough: the report goes outside
    (``[organization.discipline_body]``).
    """
    levels = tiers(org, unit_id)
    if not leadership:
        return unit_id if levels else None
    return levels[0][0] if len(levels) >= 2 else None


def discipline_problems(org: Organization) -> list[str]:
    """Where a report could reach someone other than discipline staff above the unit: check-config refuses.

    With report categories, the organisation needs discipline staff, and every
    unit but the top one needs a discipline level above it (the top unit's, and
    leadership reports with no level high enough, go to ``discipline_body``).
    """
    reports = [c for c in org.categories if c.kind is CategoryKind.REPORT]
    if not reports:
        return []
    index = {c.id: i for i, c in enumerate(org.categories)}
    if not has_line(org):
        return [f"categories[{index[c.id]}]: a report category (检举控告) needs discipline-inspection staff"
                " ([[staff]] discipline = true) above the units reported on; without them reports would reach"
                " the units' own officers and leaders" for c in reports]
    problems: list[str] = []
    units = {u.id: i for i, u in enumerate(org.units)}
    for unit in org.units:
        if unit.parent is not None and not tiers(org, unit.id):
            problems.append(f"units[{units[unit.id]}]: a report about \"{unit.id}\" would reach no discipline staff"
                            " above it; assign discipline staff (discipline = true) at a unit above it")
    if org.organization.discipline_body is None:
        problems.append("organization.discipline_body: required with report categories: the discipline body above"
                        " the company (name, address, phone), for reports about the top unit or its leadership")
    if org.approvals.acts:  # 签发 configured: a report's acts need a discipline leader to approve them
        for unit in org.units:
            if tiers(org, unit.id) and not approvers(org, unit.id):
                problems.append(f"units[{units[unit.id]}]: [approvals] is set, but no discipline leader (role ="
                                f' "leader", discipline = true) stands above "{unit.id}" to approve the acts on'
                                " a report about it")
    for i, member in enumerate(org.staff):
        if member.discipline and member.role.value == "admin":
            problems.append(f"staff[{i}].discipline: an administrator runs the bot and takes no reports")
    return problems
