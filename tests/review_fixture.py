"""An organisation with leaders at three levels, for clocks, review and escalation tests.

    hq (leader 3001)
    ├── oilfield (leader 3002)
    │   ├── plant-1 (leader 3003; officer 1001)
    │   └── plant-2 (no leader; officer 1002)
    └── refinery (leader 3004; officer 1003)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram.ext import Application

from store.clock import FakeClock
from store.models import Actor, ActorRole, Decision
from store.opinion import OpinionParts
from store.org import Organization, parse_org
from store.review import serves
from store.services import Services
from store.workflow import Action
from tests.backends import fresh_database
from tests.conftest import OPINION_PARTS, REVIEW_PARTS, draft, petitioner
from tests.offline import Call, OfflineRequest, Updates, feed

ORG_TOML = """
[organization]
name = "测试石油"
timezone = "Asia/Shanghai"

[monitoring]

[[units]]
id = "hq"
name = { zh = "集团总部", en = "Headquarters" }
[[units]]
id = "oilfield"
parent = "hq"
name = { zh = "油田公司", en = "Oilfield Company" }
[[units]]
id = "plant-1"
parent = "oilfield"
name = { zh = "第一采油厂", en = "No. 1 Plant" }
[[units]]
id = "plant-2"
parent = "oilfield"
name = { zh = "第二采油厂", en = "No. 2 Plant" }
[[units]]
id = "refinery"
parent = "hq"
name = { zh = "炼化公司", en = "Refining Company" }

[[categories]]
id = "wages"
name = { zh = "工资福利", en = "Wages and benefits" }
kind = "claim"
[[categories]]
id = "housing"
name = { zh = "住房与后勤", en = "Housing" }
kind = "claim"
[[categories]]
id = "misconduct"
name = { zh = "违纪违法举报", en = "Misconduct report" }
kind = "report"

[[staff]]
telegram_id = 1001
name = "王干事"
role = "officer"
units = ["plant-1"]
[[staff]]
telegram_id = 1002
name = "李干事"
role = "officer"
units = ["plant-2"]
[[staff]]
telegram_id = 1003
name = "周干事"
role = "officer"
units = ["refinery"]
[[staff]]
telegram_id = 3001
name = "刘总"
role = "leader"
units = ["hq"]
[[staff]]
telegram_id = 3002
name = "陈经理"
role = "leader"
units = ["oilfield"]
[[staff]]
telegram_id = 3003
name = "张厂长"
role = "leader"
units = ["plant-1"]
[[staff]]
telegram_id = 3004
name = "吴经理"
role = "leader"
units = ["refinery"]
[[staff]]
telegram_id = 9001
name = "管理员"
role = "admin"

# Where a declined petitioner is told to turn (诉访分离, store/opinion.py).
[[destinations]]
id = "arbitration"
kind = "labour_arbitration"
name = { zh = "延安市劳动人事争议仲裁委员会", en = "Yan'an Labour Dispute Arbitration Commission" }
address = "延安市宝塔区百米大道12号"
phone = "0911-2345678"
[[destinations]]
id = "court"
kind = "court"
name = { zh = "延长县人民法院", en = "Yanchang County People's Court" }
address = "延长县七里村镇法院路1号"
"""

TZ = ZoneInfo("Asia/Shanghai")
OFFICER_P1 = Actor(id=1001, role=ActorRole.OFFICER)
OFFICER_P2 = Actor(id=1002, role=ActorRole.OFFICER)
OFFICER_REF = Actor(id=1003, role=ActorRole.OFFICER)
LEADER_HQ = Actor(id=3001, role=ActorRole.LEADER)
LEADER_OIL = Actor(id=3002, role=ActorRole.LEADER)
LEADER_P1 = Actor(id=3003, role=ActorRole.LEADER)
LEADER_REF = Actor(id=3004, role=ActorRole.LEADER)
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)


def ids(*actors: Actor) -> list[int]:
    """Staff actors' Telegram ids (e.g. who took part in a review's collective study)."""
    found = [a.id for a in actors]
    assert all(i is not None for i in found)
    return [i for i in found if i is not None]


def employee(user_id: int = 5001) -> Actor:
    return Actor(id=user_id, role=ActorRole.PETITIONER)


def at(day: date, hour: int = 9) -> datetime:
    """A local (Shanghai) moment as the UTC time the clock holds."""
    return datetime.combine(day, time(hour), tzinfo=TZ).astimezone(UTC)


def review_org(extra: str = "") -> Organization:
    return parse_org(ORG_TOML.replace("[monitoring]", "[monitoring]\n" + extra, 1))


@pytest.fixture
def rorg() -> Organization:
    return review_org()


@pytest.fixture
async def rstore(
    backend: str, tmp_path: Path, rorg: Organization, clock: FakeClock
) -> AsyncIterator[Services]:
    async with fresh_database(backend, tmp_path, "review.db", migrated=True) as target:
        s = await Services.open(target, rorg, clock)
        yield s
        await s.close()


async def decided_case(
    store: Services, clock: FakeClock, key: str = "k", user: int = 5001, unit: str = "plant-1",
    *, served: bool = True,
) -> str:
    """A case submitted, accepted and answered with a written opinion today (served in chat, unless not)."""
    officer = {"plant-1": OFFICER_P1, "plant-2": OFFICER_P2, "refinery": OFFICER_REF}[unit]
    number = (await store.cases.submit(petitioner(user), draft(unit=unit), key)).case.number
    await store.cases.act(officer, number, Action.ACCEPT)
    await store.cases.act(officer, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.REJECT, body="经核实，加班费已按规定发放。")
    if served:
        await deliver_opinion(store)
    return number


async def deliver_opinion(store: Services) -> None:
    """As the outbox does when Telegram accepts the petitioner's 处理意见书 (or 复查意见书): 送达."""
    for item in await store.outbox.pending_notifications():
        if serves(item):
            await store.review.delivered(item)


async def answer_review_form(
    application: Application, request: OfflineRequest, user: Updates, parts: OpinionParts = REVIEW_PARTS,
    opinion: str | None = None,
) -> Call:
    """Answer the 复查 / 复核 form an outcome opened (handlers/review_opinion.py) and tap its last button.

    The request is typed (``parts.request``), or kept when it is empty; the facts and the basis typed; the
    opinion typed, or kept when ``opinion`` is None (prefilled by ``/review <编号> <结论> <意见>``). Returns
    the screen that follows (who studied it, or a refusal).
    """
    chat = user.user_id
    await feed(application, user.tap("ro:k") if not parts.request else user.text(parts.request))
    await feed(application, user.text(parts.facts))
    await feed(application, user.text(parts.basis))
    await feed(application, user.tap("ro:k") if opinion is None else user.text(opinion))
    review = request.last_to(chat)
    submit = next(data for _, data in review.buttons() if data.startswith("ro:ok:"))
    await feed(application, user.tap(submit))
    return request.last_to(chat)
