"""The store's services keep to their own: shared helpers by public names only.

Each service is its own narrow interface (there is no one Protocol listing
everything). What they share is ``StoreContext`` and ``Outbox``, used through
public names; a service never calls another object's private helper, which is
what made the old mixins depend on each other's insides.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import store
from store.cases import CaseService
from store.context import Service
from store.indicators import IndicatorService
from store.reception import ReceptionService
from store.review import ReviewService
from store.selfservice import SelfService
from store.services import Services
from store.staffwork import StaffWork

STORE = Path(store.__file__).parent
SERVICES: dict[str, type[Service]] = {
    "cases": CaseService,
    "self_service": SelfService,
    "staff_work": StaffWork,
    "review": ReviewService,
    "reception": ReceptionService,
    "indicators": IndicatorService,
}


def test_no_module_of_the_store_touches_another_objects_private_names() -> None:
    found = []
    for path in sorted(STORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue  # its own private helpers
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert found == []


async def test_the_bundle_holds_each_service_once_over_one_database(store: Services) -> None:
    for name, cls in SERVICES.items():
        service = getattr(store, name)
        assert isinstance(service, cls)
        assert service.db is store.db and service.outbox is store.outbox and service.ctx is store.context


def test_the_services_share_no_public_name() -> None:
    """One operation, one home: a handler knows which service to ask."""
    owners: dict[str, list[str]] = {}
    for name, cls in SERVICES.items():
        for member, _ in inspect.getmembers(cls, callable):
            if not member.startswith("_"):
                owners.setdefault(member, []).append(name)
    assert {m: o for m, o in owners.items() if len(o) > 1} == {}
