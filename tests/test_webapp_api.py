"""The Mini App's API (bot/webapp.py) over HTTP on loopback, on both backends.

initData is signed with the test token exactly as Telegram signs it; the
numbers of the dashboard are compared with ``/stats``'s (the indicators
service called as the chat calls it) for the same leader, period and scope.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.initdata import InitDataError, sign, signed_for, verify
from bot.webapp import WebAppServer
from store.assessment import assess, score_unit
from store.clock import FakeClock
from store.desk import DeskQuery, DeskService
from store.document_kinds import DocumentKind
from store.org import Assessment, AssessmentItem, parse_org
from store.services import Services
from store.workflow import Action
from tests.conftest import draft, petitioner
from tests.review_fixture import ADMIN, LEADER_OIL, OFFICER_P1, ORG_TOML, rorg, rstore
from tests.test_indicators import build_fixture

__all__ = ["rorg", "rstore"]

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
async def api(rstore: Services) -> AsyncIterator[httpx.AsyncClient]:
    server = WebAppServer(rstore, TOKEN)
    assert await server.start("127.0.0.1:0")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
        yield client
    await server.stop()


def auth(user_id: int, lang: str = "zh", token: str = TOKEN, **kw: Any) -> dict[str, str]:
    return {"Authorization": "tma " + signed_for(user_id, token, language=lang, **kw)}


# ------------------------------------------------------------------ initData


def test_initdata_is_checked_as_telegram_signs_it() -> None:
    data = signed_for(3002, TOKEN, language="en", first_name="Chen")
    user = verify(data, TOKEN)
    assert (user.id, user.language_code, user.first_name) == (3002, "en", "Chen")
    # Telegram's own example of the algorithm, recomputed by hand.
    import hashlib
    import hmac
    from urllib.parse import parse_qsl

    fields = dict(parse_qsl(data))
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    assert fields["hash"] == hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()

    with pytest.raises(InitDataError):
        verify(data, "654321:OTHER-TOKEN")  # another bot's
    tampered = data.replace("3002", "3001")
    with pytest.raises(InitDataError):
        verify(tampered, TOKEN)
    old = signed_for(3002, TOKEN, auth_date=int(time.time()) - 3601)
    with pytest.raises(InitDataError, match="expired"):
        verify(old, TOKEN)
    with pytest.raises(InitDataError):
        verify(sign({"auth_date": str(int(time.time()))}, TOKEN), TOKEN)  # no user
    with pytest.raises(InitDataError):
        verify("", TOKEN)


async def test_forged_expired_or_missing_initdata_gets_401(api: httpx.AsyncClient) -> None:
    assert (await api.get("/app/api/me", headers=auth(3002))).status_code == 200
    forged = signed_for(3002, "654321:OTHER-TOKEN")
    expired = signed_for(3002, TOKEN, auth_date=int(time.time()) - 2 * 3600)
    for headers in ({}, {"Authorization": "tma " + forged}, {"Authorization": "tma " + expired},
                    {"Authorization": "Bearer " + signed_for(3002, TOKEN)}, {"Authorization": "tma garbage"}):
        for path in ("/app/api/me", "/app/api/dashboard", "/app/api/cases", "/app/api/case/XF-2026-000001"):
            answer = await api.get(path, headers=headers)
            assert answer.status_code == 401, (path, headers)
            assert answer.json() == {"error": "unauthorized"}
        answer = await api.post("/app/api/case/XF-2026-000001/accept", headers=headers, content=b"{}")
        assert answer.status_code == 401


# ---------------------------------------------------------------- dashboard


async def test_dashboard_numbers_are_those_of_stats(api: httpx.AsyncClient, rstore: Services, clock: FakeClock) -> None:
    numbers = await build_fixture(rstore, clock)
    answer = await api.get("/app/api/dashboard", params={"period": "2026-11"}, headers=auth(3002))
    assert answer.status_code == 200
    board = answer.json()
    stats = await rstore.indicators.indicators(LEADER_OIL, period="2026-11")  # what /stats shows
    assert board["period"] == "2026-11"
    assert [(r["unit"], r["depth"]) for r in board["rows"]] == [(r.unit, r.depth) for r in stats.rows]
    for got, want in zip(board["rows"], stats.rows, strict=True):
        for name in ("received", "decided", "within_time", "overdue_now", "notice_now", "warning_now",
                     "serious_now", "led", "repeats", "rated", "satisfied"):
            assert got[name] == getattr(want, name), name
        for name in ("accepted_on_time_pct", "answered_on_time_pct", "satisfaction_pct", "followup_pct", "repeat_pct"):
            value = getattr(want, name)
            assert got[name] == (None if value is None else round(value, 1)), name
    # The hand-computed figures of tests/test_indicators.py, as the page receives them.
    oil = board["rows"][0]
    assert (oil["received"], oil["decided"], oil["overdue_now"]) == (4, 3, 1)
    assert (oil["accepted_on_time_pct"], oil["satisfaction_pct"], oil["repeat_pct"]) == (50.0, 50.0, 25.0)
    trend = {p["label"]: p for p in board["trend"]["points"]}
    assert trend["2026-11"]["received"] == 4 and trend["2026-09"]["received"] == 1
    assert board["trend"]["chart"].startswith("<svg") and board["trend"]["chart"].count("<rect class=\"bar\"") == 12
    assert board["assessment"]["chart"].startswith("<svg")
    # Drill-down: the list behind "received" and "overdue" has exactly that many cases, from the leader's scope.
    listed = (await api.get("/app/api/cases", params={"metric": "received", "period": "2026-11", "state": "all"},
                            headers=auth(3002))).json()
    assert listed["total"] == 4
    assert {c["number"] for c in listed["cases"]} == {numbers[k] for k in "ABCD"}
    overdue = (await api.get("/app/api/cases", params={"metric": "overdue_now", "state": "all",
                                                       "unit": "plant-2"}, headers=auth(3002))).json()
    assert [c["number"] for c in overdue["cases"]] == [numbers["D"]]
    # English, from the leader's Telegram language.
    english = (await api.get("/app/api/dashboard", params={"period": "2026-11"}, headers=auth(3002, "en"))).json()
    assert english["rows"][0]["name"] == "Oilfield Company"
    # An officer gets no dashboard; the case card and record open from the list.
    assert (await api.get("/app/api/dashboard", headers=auth(1001))).status_code == 403
    card = (await api.get(f"/app/api/case/{numbers['A']}", headers=auth(3002))).json()
    assert card["number"] == numbers["A"] and card["unit_name"] == "第一采油厂"
    assert [e["what"] for e in card["timeline"]][:2] == ["提交信访事项", "受理"] or len(card["timeline"]) >= 3


async def test_a_refusal_is_answered_with_its_status_and_words_and_logged_as_no_fault(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Every refusal the store raises takes one path (``_Api.write_error``): 403 for who may not, 404, 400."""
    with caplog.at_level("WARNING"):
        forbidden = await api.get("/app/api/dashboard", headers=auth(1001))  # an officer: leaders only
        missing = await api.get("/app/api/case/XF-2026-999999", headers=auth(1001))
        bad = await api.get("/app/api/cases", params={"due_before": "someday"}, headers=auth(1001))
    assert (forbidden.status_code, forbidden.json()["error"]) == (403, "leaders_only")
    assert "领导" in forbidden.json()["message"]
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_filter")
    assert not [r for r in caplog.records if r.name.startswith("tornado.application")]  # no traceback logged


async def test_admin_dashboard_equals_stats_for_the_whole_group(
    api: httpx.AsyncClient, rstore: Services, clock: FakeClock
) -> None:
    await build_fixture(rstore, clock)
    board = (await api.get("/app/api/dashboard", params={"period": "2026-11"}, headers=auth(9001))).json()
    stats = await rstore.indicators.indicators(ADMIN, period="2026-11")
    assert [(r["unit"], r["received"], r["overdue_now"]) for r in board["rows"]] == [
        (r.unit, r.received, r.overdue_now) for r in stats.rows
    ]


# ---------------------------------------------------------------- assessment


def test_assessment_scores_equal_hand_computed_figures() -> None:
    """Three items, weights 50/30/20, the last a penalty.

    Unit X: 80 %, 60 %, repeat 10 % → 0.5·80 + 0.3·60 + 0.2·(100−10) = 40 + 18 + 18 = 76.
    Unit Y: 90 %, no satisfaction data, repeat 50 % → weights 50 + 20 = 70 renormalised:
            (50·90 + 20·50) / 70 = (4500 + 1000) / 70 = 78.571…
    Unit Z: nothing at all → no score, ranked last.
    """
    assessment = Assessment(items=(
        AssessmentItem(indicator="accepted_on_time_pct", weight=50),
        AssessmentItem(indicator="satisfaction_pct", weight=30),
        AssessmentItem(indicator="repeat_pct", weight=20),
    ))
    x, items = score_unit({"accepted_on_time_pct": 80.0, "satisfaction_pct": 60.0, "repeat_pct": 10.0}, assessment)
    assert x == pytest.approx(76.0)
    assert [i.contribution for i in items] == [pytest.approx(40.0), pytest.approx(18.0), pytest.approx(18.0)]
    y, items = score_unit({"accepted_on_time_pct": 90.0, "satisfaction_pct": None, "repeat_pct": 50.0}, assessment)
    assert y == pytest.approx(5500 / 70)
    assert [i.share for i in items] == [pytest.approx(500 / 7), None, pytest.approx(200 / 7)]
    z, _ = score_unit({"accepted_on_time_pct": None, "satisfaction_pct": None, "repeat_pct": None}, assessment)
    assert z is None


async def test_assessment_of_the_fixture_units(api: httpx.AsyncClient, rstore: Services, clock: FakeClock) -> None:
    """The default items on tests/test_indicators.py's November, by hand.

    Default weights: accepted 25, answered 25, satisfaction 25, follow-up 15, repeat 10 (penalty).
    plant-1: accepted 1/2 = 50, answered 2/3, satisfaction 1/2 = 50, follow-up 1/3, repeat 0 → 100:
             (25·50 + 25·66.667 + 25·50 + 15·33.333 + 10·100) / 100 = 1250+1666.67+1250+500+1000 = 56.667
    plant-2: accepted 1/2 = 50 (C on time, D late), nothing decided, repeat 1/2 = 50 → weights 25 + 10:
             (25·50 + 10·50) / 35 = 50.0
    """
    await build_fixture(rstore, clock)
    report = await rstore.indicators.indicators(LEADER_OIL, period="2026-11")
    scores = {s.unit: s for s in assess(report, rstore.org.assessment).scores}
    assert scores["plant-1"].score == pytest.approx(5666.67 / 100, abs=0.01)
    assert scores["plant-2"].score == pytest.approx(50.0)
    board = (await api.get("/app/api/dashboard", params={"period": "2026-11"}, headers=auth(3002))).json()
    ranked = [(u["unit"], u["score"], u["rank"]) for u in board["assessment"]["units"]]
    assert ("plant-1", 56.7, 1) in ranked and ("plant-2", 50.0, 3) in ranked


def test_check_config_refuses_weights_that_do_not_add_up() -> None:
    text = ORG_TOML + '\n[assessment]\n[[assessment.items]]\nindicator = "satisfaction_pct"\nweight = 60\n'
    from store.org import OrgError

    with pytest.raises(OrgError, match="add up to 60"):
        parse_org(text)
    with pytest.raises(OrgError, match="unknown indicator"):
        parse_org(text.replace("satisfaction_pct", "happiness").replace("60", "100"))
    assert parse_org(text.replace("60", "100")).assessment.items[0].weight == 100


# -------------------------------------------------------------------- desk


async def test_officer_never_gets_a_case_outside_scope(api: httpx.AsyncClient, rstore: Services) -> None:
    mine = (await rstore.cases.submit(petitioner(5001), draft(unit="plant-1", subject="食堂饭菜质量差",
                                                              details="食堂的饭菜长期质量不好。"), "a")).case
    other = (await rstore.cases.submit(petitioner(5002), draft(unit="refinery", subject="食堂收费",
                                                               details="炼化食堂收费过高。"), "b")).case
    secret = (await rstore.cases.submit(petitioner(5003, "李四"), draft(unit="plant-1", category="misconduct",
                                                                      subject="食堂采购有问题",
                                                                      details="举报食堂采购吃回扣。"), "c")).case
    everything = (await api.get("/app/api/cases", params={"state": "all"}, headers=auth(1001))).json()
    numbers = {c["number"] for c in everything["cases"]}
    assert mine.number in numbers and other.number not in numbers
    # The search finds a two-character Chinese word in subject or details, within scope only.
    found = (await api.get("/app/api/cases", params={"q": "食堂"}, headers=auth(1001))).json()
    assert other.number not in {c["number"] for c in found["cases"]}
    assert mine.number in {c["number"] for c in found["cases"]}
    by_details = (await api.get("/app/api/cases", params={"q": "回扣"}, headers=auth(3001))).json()
    assert [c["number"] for c in by_details["cases"]] == [secret.number]
    assert (await api.get(f"/app/api/case/{other.number}", headers=auth(1001))).status_code == 404
    assert (await api.post(f"/app/api/case/{other.number}/accept", headers=auth(1001), content=b"{}")).status_code == 404
    # Filters only narrow the scope: asking for the refinery's unit gives nothing of it.
    narrowed = (await api.get("/app/api/cases", params={"unit": "refinery"}, headers=auth(1001))).json()
    assert narrowed["cases"] == []
    # The desk's store query agrees with the scope rule for every filter combination tried.
    desk = DeskService(rstore.context)
    for query in (DeskQuery(state="all"), DeskQuery(q="食堂"), DeskQuery(level=0), DeskQuery(category="wages")):
        cases, _ = await desk.cases(OFFICER_P1, query)
        assert all(rstore.context.may_see(OFFICER_P1, c) for c in cases)
    # A petitioner has no desk.
    assert (await api.get("/app/api/cases", headers=auth(5001))).status_code == 403


async def test_no_confidential_identity_in_any_answer(api: httpx.AsyncClient, rstore: Services) -> None:
    reporter = petitioner(5077, "钱七")
    case = (await rstore.cases.submit(reporter, draft(unit="plant-1", category="misconduct", subject="采购回扣",
                                                      details="举报采购环节吃回扣。", phone="13900001234"),
                                      "conf")).case
    assert case.confidential
    await rstore.cases.act(ADMIN, case.number, Action.ACCEPT)
    answers = [
        await api.get("/app/api/cases", params={"state": "all"}, headers=auth(3001)),
        await api.get("/app/api/cases", params={"q": "回扣"}, headers=auth(9001)),
        await api.get(f"/app/api/case/{case.number}", headers=auth(3001)),
        await api.get(f"/app/api/case/{case.number}", headers=auth(9001)),
        await api.get("/app/api/dashboard", headers=auth(3001)),
        await api.post(f"/app/api/case/{case.number}/note", headers=auth(9001),
                       content=json.dumps({"text": "已核查"}).encode()),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        text = answer.text
        for secret in ("钱七", "5077", "13900001234", str(rstore.context.hid(5077))):
            assert secret not in text
    card = answers[2].json()
    assert card["petitioner"] == f"代号 {case.pseudonym}" or case.pseudonym in card["petitioner"]


async def test_an_action_on_the_page_is_the_chats_action(api: httpx.AsyncClient, rstore: Services) -> None:
    case = (await rstore.cases.submit(petitioner(5001), draft(unit="plant-1"), "act")).case
    card = (await api.get(f"/app/api/case/{case.number}", headers=auth(1001))).json()
    assert "accept" in card["actions"] and "decide" not in card["actions"]
    answer = await api.post(f"/app/api/case/{case.number}/accept", headers=auth(1001), content=b"{}")
    assert answer.status_code == 200, answer.text
    assert case.number in answer.json()["message"]
    assert answer.json()["case"]["status"] == "accepted"
    stored = await rstore.cases.case_for(OFFICER_P1, case.number)
    assert stored.status.value == "accepted" and stored.assignee_id == 1001
    # The petitioner's notice is in the outbox, as after /accept in chat.
    async with rstore.db.read() as conn:
        async with conn.execute("SELECT kind FROM outbox WHERE case_id = ? AND chat_id = ?",
                                (case.id, case.petitioner_id)) as cur:
            kinds = [r["kind"] async for r in cur]
    assert kinds.count("petitioner_event") == 1  # "您的信访事项已受理", as after /accept in chat
    # A reply reaches the petitioner's outbox too; an empty one is refused with the chat's words.
    empty = await api.post(f"/app/api/case/{case.number}/reply", headers=auth(1001), content=b'{"text": " "}')
    assert empty.status_code == 400 and empty.json()["error"] == "text_required"
    sent = await api.post(f"/app/api/case/{case.number}/reply", headers=auth(1001),
                          content=json.dumps({"text": "请补充加班记录。"}).encode())
    assert sent.status_code == 200
    async with rstore.db.read() as conn:
        async with conn.execute("SELECT e.action FROM outbox o JOIN events e ON e.id = o.event_id"
                                " WHERE o.case_id = ? AND o.chat_id = ? AND o.kind = 'petitioner_event'"
                                " ORDER BY o.id", (case.id, case.petitioner_id)) as cur:
            assert [r["action"] async for r in cur] == ["accept", "reply"]
    # Accepting twice is refused by the state machine, as in chat.
    again = await api.post(f"/app/api/case/{case.number}/accept", headers=auth(1001), content=b"{}")
    assert again.status_code == 400


async def test_the_page_issues_no_opinion_without_its_parts_and_no_decline_without_its_grounds(
    api: httpx.AsyncClient, rstore: Services,
) -> None:
    """The page's written opinion and decline go through the store's rules (Art. 32; Art. 21-22), answered in words."""
    case = (await rstore.cases.submit(petitioner(5001), draft(unit="plant-1"), "parts")).case
    await rstore.cases.act(OFFICER_P1, case.number, Action.ACCEPT)
    card = (await api.get(f"/app/api/case/{case.number}", headers=auth(1001))).json()
    assert "decide" in card["actions"] and card["request"] == case.subject  # the request offered from the case
    url = f"/app/api/case/{case.number}/decide"

    async def post(body: dict[str, Any], lang: str = "zh") -> httpx.Response:
        return await api.post(url, headers=auth(1001, lang), content=json.dumps(body).encode())

    bare = await post({"decision": "support", "text": "予以补发。"})  # an old page, or another client
    assert bare.status_code == 400 and bare.json()["error"] == "opinion_parts_required"
    assert "查明事实" in bare.json()["message"] and "第三十二条" in bare.json()["message"]
    blank = await post({"decision": "support", "text": "予以补发。", "request": "补发加班费", "facts": "  ",
                        "basis": "劳动法第四十四条"}, lang="en")
    assert blank.status_code == 400 and blank.json()["error"] == "opinion_facts_required"
    assert blank.json()["message"] == "A written opinion must state the facts found."
    assert (await rstore.cases.case_for(OFFICER_P1, case.number)).status.value == "accepted"
    done = await post({"decision": "support", "text": "予以补发。", "request": "补发加班费",
                       "facts": "经核查考勤记录，加班属实。", "basis": "劳动法第四十四条"})
    assert done.status_code == 200, done.text
    assert done.json()["case"]["status"] == "decided"
    (opinion,) = await rstore.documents.documents(OFFICER_P1, case.number, DocumentKind.OPINION)
    assert opinion.parts is not None and opinion.parts.facts == "经核查考勤记录，加班属实。"

    other = (await rstore.cases.submit(petitioner(5001), draft(unit="plant-1"), "grounds")).case
    card = (await api.get(f"/app/api/case/{other.number}", headers=auth(1001))).json()
    assert {r["id"] for r in card["decline_reasons"]} >= {"legal_channel", "other"}
    assert {x["id"] for x in card["destinations"]} == {"court", "arbitration"}
    decline = f"/app/api/case/{other.number}/decline"
    for body, code in (({"text": "不属于受理范围"}, "decline_reason_required"),
                       ({"reason": "legal_channel"}, "destination_required"),
                       ({"reason": "legal_channel", "destination": "nowhere"}, "destination_unknown")):
        refused = await api.post(decline, headers=auth(1001), content=json.dumps(body).encode())
        assert refused.status_code == 400 and refused.json()["error"] == code, refused.text
    declined = await api.post(decline, headers=auth(1001),
                              content=json.dumps({"reason": "legal_channel", "destination": "court"}).encode())
    assert declined.status_code == 200 and declined.json()["case"]["status"] == "declined"


def test_the_page_is_packaged_and_fetches_nothing_from_the_internet() -> None:
    import tomllib
    from importlib import resources
    from pathlib import Path

    folder = resources.files("bot").joinpath("webapp_static")
    names = {entry.name for entry in folder.iterdir()}
    assert {"index.html", "app.js", "app.css"} <= names
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert "webapp_static/*" in pyproject["tool"]["setuptools"]["package-data"]["bot"]
    for name in ("index.html", "app.js", "app.css"):
        text = folder.joinpath(name).read_text("utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name


async def test_drill_down_lists_match_the_counts(api: httpx.AsyncClient, rstore: Services, clock: FakeClock) -> None:
    await build_fixture(rstore, clock)
    board = (await api.get("/app/api/dashboard", params={"period": "2026-11"}, headers=auth(3002))).json()
    for row in board["rows"]:
        for metric in ("received", "decided", "within_time", "overdue_now", "led", "repeats", "rated", "satisfied"):
            listed = (await api.get("/app/api/cases", headers=auth(3002), params={
                "metric": metric, "period": "2026-11", "state": "all", "unit": row["unit"], "limit": 100})).json()
            assert listed["total"] == row[metric], (row["unit"], metric)
    for level in board["levels"]:
        listed = (await api.get("/app/api/cases", headers=auth(3002),
                                params={"metric": level["metric"], "state": "all"})).json()
        assert listed["total"] == level["count"], level


async def test_export_carries_the_assessment_table(rstore: Services, clock: FakeClock) -> None:
    """/export and ``petition-bot report`` (the same workbook) have the ranking the dashboard shows."""
    import io

    from openpyxl import load_workbook

    from handlers.reports import xlsx_bytes

    await build_fixture(rstore, clock)
    data = await rstore.indicators.export_data(LEADER_OIL, period="2026-11")
    book = load_workbook(io.BytesIO(xlsx_bytes(data, rstore.org, "zh", rstore.tz)))
    sheet = book["单位考核"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["统计期间", "2026-11"] or rows[0][1] == "2026-11"
    body = {r[1]: r for r in rows[2:]}
    assert body["第一采油厂"][0] == 1 and body["第一采油厂"][2] == pytest.approx(56.7)
    assert body["第二采油厂"][2] == pytest.approx(50.0)


def test_webapp_settings_are_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    monkeypatch.delenv("PETITION_WEBAPP_LISTEN", raising=False)  # the conftest's free port for bot processes
    assert (Settings().webapp_listen, Settings().webapp_url) == ("127.0.0.1:8090", None)
    monkeypatch.setenv("PETITION_WEBAPP_URL", "http://bot.example.com/app/")
    with pytest.raises(ValidationError, match="https"):
        Settings()
    monkeypatch.setenv("PETITION_WEBAPP_URL", "https://bot.example.com/app/")
    monkeypatch.setenv("PETITION_WEBAPP_LISTEN", "")
    settings = Settings()
    assert (settings.webapp_url, settings.webapp_listen) == ("https://bot.example.com/app/", "")
    monkeypatch.setenv("PETITION_WEBAPP_LISTEN", "nonsense")
    with pytest.raises(ValidationError):
        Settings()
