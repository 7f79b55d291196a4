"""An organisation where every relation of store/policy.py has someone standing in it.

    hq (leader 3001)
    ├── oilfield (leader 3002: the leader above plant-1)
    │   ├── plant-1 (leader 3003; officers 1001 and 1005, the identity custodian): the lead unit
    │   └── plant-2 (leader 3005; officer 1002): the co-handling unit
    └── refinery (leader 3004; officer 1003): staff elsewhere
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from store.clock import FakeClock
from store.ledger import PersonIn, Registration
from store.models import Actor, ActorRole, Channel
from store.org import Organization, parse_org
from store.services import Services
from tests.backends import fresh_database
from tests.conftest import draft, petitioner
from tests.review_fixture import ORG_TOML

ORG = ORG_TOML + """
[[staff]]
telegram_id = 3005
name = "孟厂长"
role = "leader"
units = ["plant-2"]
[[staff]]
telegram_id = 1005
name = "韩干事"
role = "officer"
units = ["plant-1"]
custodian = true

[[incident_levels]]
level = 4
name = { zh = "一般", en = "General" }
min_people = 5
notify = ["leader@plant-1"]
steps = [{ zh = "核实人数", en = "Count the people" }]

[limits]
submissions_per_day = 1000  # the matrix files dozens of cases for the same people
messages_per_minute = 10000
"""

OFFICER_P1 = Actor(id=1001, role=ActorRole.OFFICER)
CUSTODIAN = Actor(id=1005, role=ActorRole.OFFICER)
OFFICER_P2 = Actor(id=1002, role=ActorRole.OFFICER)
LEADER_P2 = Actor(id=3005, role=ActorRole.LEADER)
LEADER_P1 = Actor(id=3003, role=ActorRole.LEADER)
LEADER_OIL = Actor(id=3002, role=ActorRole.LEADER)
OFFICER_REF = Actor(id=1003, role=ActorRole.OFFICER)
LEADER_REF = Actor(id=3004, role=ActorRole.LEADER)
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)
MAIN_USER, DUP_USER, CLAIMANT_USER, STRANGER_USER = 5001, 5002, 5003, 5999


def citizen(user_id: int) -> Actor:
    return Actor(id=user_id, role=ActorRole.PETITIONER)


@pytest.fixture
def porg() -> Organization:
    return parse_org(ORG)


@pytest.fixture
async def pstore(backend: str, tmp_path: Path, porg: Organization, clock: FakeClock) -> AsyncIterator[Services]:
    async with fresh_database(backend, tmp_path, "policy.db", migrated=True) as target:
        s = await Services.open(target, porg, clock)
        yield s
        await s.close()


async def chat_case(store: Services, user: int, key: str, *, confidential: bool = False) -> str:
    fields: dict[str, object] = {"unit": "plant-1"}
    if confidential:
        fields["confidential"] = True
    return (await store.cases.submit(petitioner(user, f"信访人{user}"), draft(**fields), key)).case.number


def letter(received_on: date, *, phone: str | None = "13800138000", unit: str = "plant-1", name: str = "刘师傅",
           confidential: bool = False) -> Registration:
    return Registration(
        channel=Channel.LETTER, received_on=received_on, people=[PersonIn(name=name, phone=phone)],
        category="wages", unit=unit, subject="加班费未发放", details="来信反映加班费未发放。",
        confidential=confidential,
    )
