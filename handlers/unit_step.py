"""The unit step of a form: the organisation's tree browsed a level at a time, a unit chosen.

Shared by the employee's petition (``handlers/intake.py``) and the staff
registration (``handlers/register.py``); each lists its own buttons (the
employee's own unit first; only the units in the staff member's scope). The
unit being browsed is the step's own chat state (``BROWSING`` in the draft's
``ui``), dropped when the step is left; the chosen unit is the draft's ``unit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.forms import Hint, Turn, visible
from handlers.render import unit_path
from store.org import Organization

UNIT = "unit"
BROWSING = "unit_browse"  # the unit whose subunits are listed (the unit step's own chat state)


def tree_top(org: Organization) -> str | None:
    """Browsing starts inside the root when there is only one (the group headquarters)."""
    roots = org.roots()
    return roots[0].id if len(roots) == 1 else None


def browsed(turn: Turn[Any]) -> str | None:
    """The unit being browsed (the top when none)."""
    org = turn.d.org
    here = turn.draft.ui.get(BROWSING)
    return (here if here and org.find_unit(here) else None) or tree_top(org)


async def unit_params(turn: Turn[Any]) -> Mapping[str, Any]:
    here = browsed(turn)
    return {"path": unit_path(turn.d.org, here, turn.lang) if here else "—"}


async def pick_unit(turn: Turn[Any], unit_id: str, *, browse: bool = True) -> str | None:
    """A unit of the tree: opened when it has units under it, else chosen."""
    org = turn.d.org
    unit = org.find_unit(unit_id)
    if unit is None:
        return UNIT
    if browse and org.children(unit.id):
        turn.draft.ui[BROWSING] = unit.id
        return UNIT
    turn.data.unit = unit.id
    return None


async def pick_unit_here(turn: Turn[Any], unit_id: str) -> str | None:
    """"This unit itself", although it has units under it."""
    return await pick_unit(turn, unit_id, browse=False)


def unit_back(turn: Turn[Any]) -> str | None:
    """« 返回 while browsing: one unit up; at the top, the step before."""
    here = turn.draft.ui.get(BROWSING)
    if here and here != tree_top(turn.d.org):
        unit = turn.d.org.find_unit(here)
        turn.draft.ui[BROWSING] = unit.parent if unit else None
        return UNIT
    turn.draft.ui.pop(BROWSING, None)
    return None


def text_of(limit: int, too_long: str) -> Any:
    """A typed text step's parser: not blank, at most ``limit`` characters (``too_long`` says so)."""

    def parse(turn: Turn[Any], text: str) -> str:
        if not visible(text):
            raise Hint("intake.text_empty")
        if len(text) > limit:
            raise Hint(too_long, max=limit, length=len(text))
        return text

    return parse
