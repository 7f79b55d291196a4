"""Who is responsible for a case: pure functions over the organisation.

The rules follow the essay's principle 解决在基层 (resolve at the grassroots)
and 《信访工作条例》's 属地管理/谁主管谁负责: a case goes to the people nearest
to the unit where the matter arises, and moves up the unit tree only when
nobody suitable sits lower. Confidential reports (Art. 30) never reach anyone
recused from the unit they concern, whatever their role.

"Assigned at" a unit means the unit is listed in the person's own `units`;
"covers" a unit means the unit lies in the subtree of one of those units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from store import discipline
from store.org import CategoryKind, Organization, Role, Staff


def _is_report(org: Organization, category_id: str | None, confidential: bool = False) -> bool:
    """Confidential (Art. 30): a report, or any case its petitioner chose to keep confidential?

    Also fails loudly, with KeyError, on a category the file does not have.
    """
    if category_id is not None and org.category(category_id).kind is CategoryKind.REPORT:
        return True
    return confidential


def _may_see(org: Organization, staff: Staff, unit_id: str, report: bool) -> bool:
    """False only for a confidential report about a unit the person is recused from."""
    return not (report and org.recused(staff, unit_id))


def _nearest_first(
    org: Organization, unit_id: str, role: Role, fits: Callable[[Staff], bool]
) -> list[list[Staff]]:
    """From the case's unit up to its root: per unit, the people of `role` assigned there who fit; no empty levels."""
    levels: list[list[Staff]] = []
    for level in org.ancestors(unit_id):  # discipline staff work only on the discipline line (store/discipline.py)
        found = [s for s in org.staff if s.role is role and level.id in s.units and not s.discipline and fits(s)]
        if found:
            levels.append(found)
    return levels


def responsible_staff(
    org: Organization, unit_id: str, category_id: str, confidential: bool = False
) -> list[Staff]:
    """The officers who should take a new case, in file order; the admins if no officer fits.

    Officers assigned at the case's unit who take the category come first; if
    there are none, those assigned at the parent unit, and so on up to the
    root (an officer at a higher unit covers the case's unit too, but is
    called only when nobody nearer can take it). For confidential reports,
    people recused from the case's unit are skipped at every level, admins
    included, so the result may be empty: then nobody may see the report.
    A case filed as confidential under any category counts as a report here.
    """
    if discipline.on_line(org, category_id):  # 检举控告: the nearest discipline level above the unit
        line = discipline.tiers(org, unit_id)
        return line[0][1] if line else []
    report = _is_report(org, category_id, confidential)
    levels = _nearest_first(
        org, unit_id, Role.OFFICER, lambda s: s.takes_category(category_id) and _may_see(org, s, unit_id, report)
    )
    if levels:
        return levels[0]
    return [s for s in org.staff if s.role is Role.ADMIN and _may_see(org, s, unit_id, report)]


def _leader_tiers(
    org: Organization, unit_id: str, category_id: str | None, confidential: bool = False
) -> list[list[Staff]]:
    """Leaders grouped by the unit they are assigned at, nearest first; each leader only in their nearest tier.

    For a report on the discipline line: the discipline levels above the one that takes it.
    """
    if discipline.on_line(org, category_id):
        return [people for _, people in discipline.tiers(org, unit_id)[1:]]
    report = _is_report(org, category_id, confidential)
    seen: set[int] = set()
    tiers: list[list[Staff]] = []
    for tier in _nearest_first(org, unit_id, Role.LEADER, lambda s: _may_see(org, s, unit_id, report)):
        fresh = [s for s in tier if s.telegram_id not in seen]
        seen.update(s.telegram_id for s in fresh)
        if fresh:
            tiers.append(fresh)
    return tiers


def leaders_of(
    org: Organization, unit_id: str, category_id: str | None = None, confidential: bool = False
) -> list[Staff]:
    """Every leader covering the unit, nearest level first, each once.

    With the case's `category_id`, leaders recused from the unit are left out
    when the category is a confidential report or the case is confidential.
    """
    return [s for tier in _leader_tiers(org, unit_id, category_id, confidential) for s in tier]


def leaders_at_level(
    org: Organization, unit_id: str, levels_up: int, category_id: str | None = None, confidential: bool = False
) -> list[Staff]:
    """The leaders to escalate to at step `levels_up` of an overdue case's escalation.

    Levels count units that have leaders, not raw tree levels: 0 gives the
    leaders assigned at the nearest unit, walking up from the case's unit,
    that has any; 1 the leaders at the next unit above that one with any;
    and so on. Empty once the root is passed, which tells the caller that
    escalation has reached the top. Units without leaders are skipped, so
    each step really reaches someone new. Recusal as in `leaders_of`.
    """
    if levels_up < 0:
        raise ValueError(f"levels_up must be 0 or more, not {levels_up}")
    tiers = _leader_tiers(org, unit_id, category_id, confidential)
    return tiers[levels_up] if levels_up < len(tiers) else []


def can_handle(
    org: Organization, staff: Staff, unit_id: str, category_id: str, confidential: bool = False
) -> bool:
    """May this person act on a case of this unit and category?

    Officers need to cover the unit and take the category; leaders need to
    cover the unit; admins may act on anything. Nobody may act on a
    confidential report about a unit they are recused from, nor on any case
    filed as confidential (保密) under another category (the SQL form is
    ``store.context.scope_sql``).
    """
    if discipline.on_line(org, category_id):  # 检举控告: only discipline staff of a unit above it
        return discipline.takes(org, staff, unit_id)
    if staff.discipline:  # discipline staff take reports only
        return False
    if not _may_see(org, staff, unit_id, _is_report(org, category_id, confidential)):
        return False
    if staff.role is Role.OFFICER:
        return org.covers(staff, unit_id) and staff.takes_category(category_id)
    return org.covers(staff, unit_id)


def can_cohandle(
    org: Organization,
    staff: Staff,
    unit_id: str,
    category_id: str,
    confidential: bool,
    cohandlers: Iterable[str],
) -> bool:
    """May this person read a case as staff of one of its co-handling units (协办)?

    Staff whose units cover a co-handling unit, whatever categories they take
    (the co-handling unit is asked for its own part of the work), unless the
    case is confidential and they are recused from the case's unit or from
    that co-handling unit. Reading, notes and progress only: acting on the
    case is ``can_handle``'s (the lead unit, 主办). The SQL form is
    ``store.context.read_scope_sql``.
    """
    if discipline.on_line(org, category_id) or staff.discipline:  # reports are never co-handled
        return False
    report = _is_report(org, category_id, confidential)
    if not _may_see(org, staff, unit_id, report):
        return False
    return any(
        org.find_unit(unit) is not None and org.covers(staff, unit) and _may_see(org, staff, unit, report)
        for unit in cohandlers
    )


def can_read(
    org: Organization,
    staff: Staff,
    unit_id: str,
    category_id: str,
    confidential: bool,
    cohandlers: Iterable[str],
) -> bool:
    """May this person see the case: in scope of its lead unit, or of a co-handling unit."""
    return can_handle(org, staff, unit_id, category_id, confidential) or can_cohandle(
        org, staff, unit_id, category_id, confidential, cohandlers
    )


def cohandling_officers(
    org: Organization, unit_id: str, category_id: str, confidential: bool, cohandler: str
) -> list[Staff]:
    """Who is told for one co-handling unit: its officers (nearest level up that has any who may see it).

    Officers of the co-handling unit whatever categories they take; if it has
    none, those nearest above it; if no officer fits, the leaders nearest it.
    """
    if org.find_unit(cohandler) is None:
        return []

    def fits(s: Staff) -> bool:
        return can_cohandle(org, s, unit_id, category_id, confidential, [cohandler])

    levels = _nearest_first(org, cohandler, Role.OFFICER, fits) or _nearest_first(org, cohandler, Role.LEADER, fits)
    return levels[0] if levels else []


def staff_in_scope_for(
    org: Organization, unit_id: str, category_id: str, confidential: bool = False
) -> list[Staff]:
    """Everyone who may act on such a case, in file order: the choices when assigning or reassigning it."""
    return [s for s in org.staff if can_handle(org, s, unit_id, category_id, confidential)]
