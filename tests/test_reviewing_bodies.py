"""Reviewing bodies declared (#24): who reviews (复查) and re-reviews (复核) a unit's decisions.

Each unit's decisions are reviewed by the leaders of its ``reviewed_by`` unit (default: its parent);
above the top unit the 上一级 is outside the company, named in ``[organization.review_body]``: the
petitioner is told where to go, that is recorded, and no staff here act as reviewer. An administrator
never reviews, and check-config refuses a file where one would have to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.orgcheck import check_config
from handlers.common import error_text
from handlers.documents import page
from store.clock import FakeClock
from store.document_kinds import DocumentKind
from store.errors import Refused
from store.models import Decision, ReviewOutcome
from store.org import OrgError, parse_org, review_problems
from store.services import Services
from store.workflow import Action
from tests.backends import execute, fresh_database
from tests.conftest import OPINION_PARTS, REVIEW_PARTS, draft, petitioner, rows
from tests.review_fixture import ADMIN, LEADER_HQ, ORG_TOML, employee, ids

BODY = """
[organization.review_body]
name = { zh = "陕西省国资委信访处", en = "Shaanxi SASAC Petition Office" }
address = "西安市新城区新城大院"
phone = "029-12345678"
"""


def body_org(toml: str = ORG_TOML) -> str:
    return toml.replace('timezone = "Asia/Shanghai"\n', 'timezone = "Asia/Shanghai"\n' + BODY, 1)


@pytest.fixture
async def bstore(backend: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    async with fresh_database(backend, tmp_path, "bodies.db", migrated=True) as target:
        s = await Services.open(target, parse_org(body_org()), clock)
        yield s
        await s.close()


async def decided_at(store: Services, unit: str, key: str = "k") -> str:
    """A case of ``unit`` answered with a written opinion (by a leader in scope)."""
    number = (await store.cases.submit(petitioner(), draft(unit=unit), key)).case.number
    await store.cases.act(LEADER_HQ, number, Action.ACCEPT)
    await store.cases.act(LEADER_HQ, number, Action.DECIDE, parts=OPINION_PARTS, decision=Decision.REJECT, body="经核实，不予支持。")
    return number


async def test_a_top_unit_case_is_reviewed_outside_the_petitioner_is_told_where_and_nobody_here_reviews(
    bstore: Services,
) -> None:
    number = await decided_at(bstore, "hq")
    with pytest.raises(Refused) as refused:
        await bstore.review.request_review(employee(), number, "不服处理意见")
    assert refused.value.code == "review_external"
    shown = error_text("zh", refused.value)
    assert "陕西省国资委信访处" in shown and "西安市新城区新城大院" in shown and "029-12345678" in shown
    assert "Shaanxi SASAC" not in error_text("zh", refused.value)
    assert "029-12345678" in error_text("en", refused.value)
    # The store: the case stays decided at this level, the telling is recorded, no reviewer was given the case.
    assert rows(bstore, "SELECT status, review_level FROM cases WHERE number = ?", number) == [("decided", 0)]
    told = rows(bstore, "SELECT e.action, e.data FROM events e JOIN cases c ON c.id = e.case_id"
                " WHERE c.number = ? AND words(e.data) LIKE '%review_external%'", number)
    assert len(told) == 1 and told[0][0] == "flag" and "陕西省国资委信访处" in told[0][1]
    assert rows(bstore, "SELECT chat_id FROM outbox WHERE kind = 'rv_review_card'") == []
    # No staff may give a review opinion, the administrator least of all.
    for who in (ADMIN, LEADER_HQ):
        with pytest.raises(Refused):
            await bstore.review.review_opinion(who, number, ReviewOutcome.MAINTAIN, "维持", participants=ids(who), parts=REVIEW_PARTS)


async def test_the_rereview_of_a_second_level_unit_goes_outside_and_never_to_the_administrator(
    bstore: Services,
) -> None:
    number = await decided_at(bstore, "oilfield")
    await bstore.review.request_review(employee(), number, "不服")
    # The 复查 goes to the leader of the top unit, the oilfield's parent: the administrator is never told.
    assert rows(bstore, "SELECT chat_id FROM outbox WHERE kind = 'rv_review_card'") == [(LEADER_HQ.id,)]
    assert [s.telegram_id for s in bstore.review.reviewers(
        (await bstore.cases.case_for(LEADER_HQ, number)), 2)] == []
    # After the review opinion (set past the store), the 复核 is the outside body's.
    execute(bstore, "UPDATE cases SET status = 'decided', review_level = 1, rereview_request_due = NULL"
            " WHERE number = ?", number)
    with pytest.raises(Refused) as refused:
        await bstore.review.request_review(employee(), number, "仍不服")
    assert refused.value.code == "review_external"
    assert rows(bstore, "SELECT status, review_level FROM cases WHERE number = ?", number) == [("decided", 1)]
    assert rows(bstore, "SELECT count(*) FROM outbox WHERE chat_id = ? AND kind LIKE 'rv_%'", ADMIN.id) == [(0,)]


async def test_reviewed_by_names_the_unit_whose_leaders_review(backend: str, tmp_path: Path,
                                                               clock: FakeClock) -> None:
    toml = body_org().replace('id = "plant-1"\nparent = "oilfield"\n',
                              'id = "plant-1"\nparent = "oilfield"\nreviewed_by = "hq"\n', 1)
    org = parse_org(toml)
    assert org.reviewing_unit("plant-1") == "hq" and org.reviewing_unit("plant-1", 2) is None
    assert org.reviewing_unit("plant-2") == "oilfield" and org.reviewing_unit("plant-2", 2) == "hq"
    async with fresh_database(backend, tmp_path, "rb.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        try:
            number = await decided_at(store, "plant-1")
            await store.review.request_review(employee(), number, "不服")
            assert rows(store, "SELECT chat_id FROM outbox WHERE kind = 'rv_review_card'") == [(LEADER_HQ.id,)]
        finally:
            await store.close()


def test_reviewed_by_must_be_a_unit_above() -> None:
    toml = body_org().replace('id = "plant-1"\nparent = "oilfield"\n',
                              'id = "plant-1"\nparent = "oilfield"\nreviewed_by = "refinery"\n', 1)
    with pytest.raises(OrgError) as error:
        parse_org(toml)
    assert any("reviewed_by" in line and '"refinery" is not above "plant-1"' in line for line in error.value.errors)
    with pytest.raises(OrgError) as error:
        parse_org(toml.replace('reviewed_by = "refinery"', 'reviewed_by = "plant-9"'))
    assert any('unknown unit "plant-9"' in line for line in error.value.errors)


def test_check_config_refuses_a_file_where_an_administrator_would_review(tmp_path: Path) -> None:
    # Without the top unit's leader, the oilfield's 复查 would fall to nobody but the administrator.
    without_hq_leader = body_org().replace('telegram_id = 3001\nname = "刘总"\nrole = "leader"\nunits = ["hq"]\n',
                                           'telegram_id = 3001\nname = "刘总"\nrole = "officer"\nunits = ["hq"]\n')
    path = tmp_path / "org.toml"
    path.write_text(without_hq_leader, encoding="utf-8")
    ok, lines = check_config(path)
    assert not ok
    assert any('decisions at "oilfield" falls to "hq", which has no leader: an administrator would review' in line
               for line in lines), lines
    assert review_problems(parse_org(body_org())) == []


async def test_the_opinion_names_the_body_that_reviews(bstore: Services) -> None:
    top = await decided_at(bstore, "hq", "top")
    (doc,) = await bstore.documents.documents(LEADER_HQ, top, DocumentKind.OPINION)
    words = "".join(page(doc, bstore.org, "zh").paragraphs)
    assert "请求陕西省国资委信访处（地址：西安市新城区新城大院；电话：029-12345678）" in words
    assert "Shaanxi SASAC Petition Office (address:" in "".join(page(doc, bstore.org, "en").paragraphs)
    lower = await decided_at(bstore, "oilfield", "lower")
    (doc,) = await bstore.documents.documents(LEADER_HQ, lower, DocumentKind.OPINION)
    assert "请求测试石油集团总部（原办理机关、单位的上一级机关、单位）复查" in "".join(page(doc, bstore.org, "zh").paragraphs)
