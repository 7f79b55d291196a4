"""The group-incident plan (群体性事件处置预案): opening, checklist, level, closing, drills, journal.

Organisation: tests/org_fixture.toml. hq ▸ oilfield (leader 赵总 2001; officer 李科长 1002,
recused from plant-2) ▸ plant-1 (officer 王主任 1001), plant-2; refinery; admin 9001.
Plan: level 1 ≥ 100 people → [9001]; level 2 ≥ 50 → ["leader@oilfield" = 2001, 1002]; level 3 ≥ 20 → [1001].
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.notifications import render
from store.clock import FakeClock, local_date
from store.errors import NotFound, Refused
from store.incidents import Incident
from store.ledger import PersonIn, Registration
from store.models import Actor, ActorRole, Channel
from store.org import Organization
from store.services import Services
from tests.backends import db_error, execute
from tests.conftest import draft, petitioner, rows
from tests.offline import buttons_of

OFFICER_P1 = Actor(id=1001, role=ActorRole.OFFICER)
OFFICER_OIL = Actor(id=1002, role=ActorRole.OFFICER)
LEADER = Actor(id=2001, role=ActorRole.LEADER)
ADMIN = Actor(id=9001, role=ActorRole.ADMIN)


async def notices(store: Services, kind: str) -> list[tuple[int, str, list[tuple[str, str]]]]:
    """(chat, first message's text, its buttons) of every pending notice of ``kind``, in order."""
    found = []
    for item in await store.outbox.pending_notifications(limit=1000):
        if item.kind == kind:
            first = (await render(item, store))[0]
            found.append((item.chat_id, str(first.text), buttons_of(first.markup)))
    return found


def journal(store: Services, incident_id: int) -> list[tuple[str, int | None, str, str | None, dict[str, object]]]:
    return [(action, actor, role, body, json.loads(data)) for action, actor, role, body, data in rows(
        store, "SELECT action, actor_id, actor_role, body, data FROM incident_events WHERE incident_id = ?"
        " ORDER BY id", incident_id)]


async def collective(store: Services, people: int = 52, user: int = 5001, unit: str = "plant-1") -> str:
    """A collective visit (集体访): ``people`` came, counted by the officer who registered it (store/ledger.py).

    Only a headcount staff confirmed opens a level of the plan by itself; one a
    petitioner typed asks a leader to judge it (tests/test_procedure.py).
    """
    visit = Registration(channel=Channel.VISIT, received_on=local_date(store.clock.now(), store.org.organization.tz),
                         people=[PersonIn(name=f"代表{user}", phone=f"1380013{user:04d}")], people_count=people,
                         category="wages", unit=unit, subject="加班费未发放", details="职工集体来访反映加班费未发放。")
    return (await store.ledger.register(ADMIN, visit)).case.number


async def only_incident(store: Services, actor: Actor = ADMIN) -> Incident:
    (incident,) = await store.incidents.open_incidents(actor)
    return incident


async def test_a_collective_petition_of_52_people_opens_level_2_with_its_checklist(store: Services) -> None:
    number = await collective(store, 52)
    assert rows(store, "SELECT reason, people FROM alerts") == [("visit", 52)]  # 集体访, counted by staff
    assert rows(store, "SELECT source_kind, source_ref, unit, level, people, is_drill, status, opened_by"
                       " FROM incidents") == [("case", number, "plant-1", 2, 52, 0, "open", None)]
    incident = await only_incident(store)
    # The level's response group (leader@oilfield, then 1002) gets the alert with the checklist as buttons.
    sent = await notices(store, "ic_opened")
    assert [chat for chat, _, _ in sent] == [2001, 1002]
    chat, text, buttons = sent[0]
    assert text.splitlines() == [
        "🚨 已启动群体性事件处置预案（二级（较大）），请您按清单处置。",
        "🚨 <b>群体性事件 · 二级（较大）</b>",
        f"事件 #{incident.id} · 信访事项 <code>{number}</code> · 第一采油厂 · 涉及 52 人",
        "处置清单（已完成 0/3，点按钮勾选已完成的步骤）：",
        "⬜ 1. 分管领导赶赴现场",
        "⬜ 2. 与群众代表对话",
        "⬜ 3. 落实稳控措施",
    ]
    assert buttons == [
        ("⬜ 1. 分管领导赶赴现场", f"ic:t:{incident.id}:2:1"),
        ("⬜ 2. 与群众代表对话", f"ic:t:{incident.id}:2:2"),
        ("⬜ 3. 落实稳控措施", f"ic:t:{incident.id}:2:3"),
        ("⬆️ 升级为一级（重大）", f"ic:up:{incident.id}:1"),  # the leader may raise it
        ("🔄 刷新", f"ic:v:{incident.id}"),
    ]
    officer_buttons = sent[1][2]
    assert [data for _, data in officer_buttons][-1] == f"ic:v:{incident.id}"
    assert not any(data.startswith("ic:up") for _, data in officer_buttons)  # an officer may not raise it
    assert journal(store, incident.id) == [
        ("open", None, "system", None, {"source": "case", "ref": number, "level": 2, "people": 52, "drill": False,
                                        "alert": rows(store, "SELECT id FROM alerts")[0][0]}),
    ]
    assert (await store.incidents.verify_journal()).ok


async def test_below_every_level_nothing_opens_but_a_leader_may_declare(store: Services) -> None:
    number = await collective(store, 12)
    assert rows(store, "SELECT count(*) FROM alerts") == [(1,)]  # a collective petition all the same
    assert rows(store, "SELECT count(*) FROM incidents") == [(0,)]
    incident = await store.incidents.declare(LEADER, number.lower(), 3)
    assert (incident.level, incident.people, incident.opened_by, incident.source_ref) == (3, 12, 2001, number)
    assert [chat for chat, _, _ in await notices(store, "ic_opened")] == [1001]
    with pytest.raises(Refused) as again:
        await store.incidents.declare(LEADER, number, 2)
    assert (again.value.code, again.value.params) == ("incident_exists", {"id": incident.id})
    with pytest.raises(Refused) as officer:
        await store.incidents.declare(OFFICER_P1, number, 2)
    assert officer.value.code == "incident_leaders_only"
    with pytest.raises(Refused) as unknown:
        await store.incidents.declare(ADMIN, number, 7)
    assert unknown.value.code == "incident_level_unknown"
    other = await collective(store, 3, user=5002, unit="refinery")
    with pytest.raises(NotFound):
        await store.incidents.declare(LEADER, other, 3)  # the refinery is outside the leader's units


async def test_one_incident_per_alert_and_more_people_raise_its_level(store: Services) -> None:
    number = await collective(store, 52)
    first = await only_incident(store)
    again = await store.incidents.open_for("case", number, 52)
    assert again is not None and again.id == first.id
    assert rows(store, "SELECT count(*) FROM incidents") == [(1,)]
    raised = await store.incidents.open_for("case", number, 130)  # more people: the level follows
    assert raised is not None and (raised.id, raised.level, raised.people) == (first.id, 1, 130)
    assert rows(store, "SELECT from_level, to_level, people, changed_by FROM incident_level_changes") == [
        (2, 1, 130, None)]
    assert [chat for chat, _, _ in await notices(store, "ic_raised")] == [9001]
    lower = await store.incidents.open_for("case", number, 60)  # fewer people never lower it by itself
    assert lower is not None and (lower.level, lower.people) == (1, 130)


async def test_ticks_and_level_changes_are_journaled(store: Services, clock: FakeClock) -> None:
    await collective(store, 52)
    incident = await only_incident(store)
    clock.advance(minutes=10)
    ticked, fresh = await store.incidents.tick(OFFICER_OIL, incident.id, 2, 1, "赵总已到现场")
    assert fresh and ticked.tick_of(2, 1) is not None
    _, twice = await store.incidents.tick(LEADER, incident.id, 2, 1)
    assert not twice  # a second tap changes nothing and journals nothing
    await store.incidents.tick(LEADER, incident.id, 2, 2)
    with pytest.raises(Refused) as step:
        await store.incidents.tick(LEADER, incident.id, 2, 9)
    assert step.value.code == "incident_step_unknown"
    with pytest.raises(Refused) as not_reached:
        await store.incidents.tick(LEADER, incident.id, 1, 1)  # level 1's list: not reached yet
    assert not_reached.value.code == "incident_step_unknown"
    raised = await store.incidents.set_level(LEADER, incident.id, 1)
    assert raised.level == 1 and raised.levels_reached == [2, 1]
    assert rows(store, "SELECT done_by, done_at, note, level, step, text FROM incident_ticks ORDER BY step") == [
        (1002, "2026-11-02T01:10:00Z", "赵总已到现场", 2, 1, "分管领导赶赴现场"),
        (2001, "2026-11-02T01:10:00Z", None, 2, 2, "与群众代表对话"),
    ]
    assert [entry[:4] for entry in journal(store, incident.id)] == [
        ("open", None, "system", None),
        ("tick", 1002, "officer", "赵总已到现场"),
        ("tick", 2001, "leader", None),
        ("level", 2001, "leader", None),
    ]
    assert [entry[4] for entry in journal(store, incident.id)][1:] == [
        {"level": 2, "step": 1, "text": "分管领导赶赴现场"},
        {"level": 2, "step": 2, "text": "与群众代表对话"},
        {"from": 2, "to": 1, "people": 52},
    ]
    assert rows(store, "SELECT at FROM incident_events WHERE action = 'tick' ORDER BY id") == [
        ("2026-11-02T01:10:00Z",), ("2026-11-02T01:10:00Z",)]
    # Raising tells the next group (level 1: the admin), not those already told.
    ((chat, text, buttons),) = await notices(store, "ic_raised")
    assert chat == 9001
    assert text.startswith("⬆️ 事件已升级为一级（重大），请您按清单处置。\n🚨 <b>群体性事件 · 一级（重大）</b>")
    assert "⬜ 1. 主要领导赶赴现场" in text
    assert buttons[0] == ("⬜ 1. 主要领导赶赴现场", f"ic:t:{incident.id}:1:1")
    with pytest.raises(Refused) as officer:
        await store.incidents.set_level(OFFICER_OIL, incident.id, 2)
    assert officer.value.code == "incident_leaders_only"
    with pytest.raises(Refused) as same:
        await store.incidents.set_level(LEADER, incident.id, 1)
    assert same.value.code == "incident_same_level"
    assert (await store.incidents.verify_journal()).ok


async def test_closing_needs_a_summary_and_tells_the_leaders_above(store: Services, clock: FakeClock) -> None:
    await collective(store, 52)
    incident = await only_incident(store)
    for empty in ("", "   "):
        with pytest.raises(Refused) as missing:
            await store.incidents.close(LEADER, incident.id, empty)
        assert missing.value.code == "incident_summary_required"
    with pytest.raises(Refused) as officer:
        await store.incidents.close(OFFICER_OIL, incident.id, "已平息")
    assert officer.value.code == "incident_leaders_only"
    clock.advance(hours=3)
    closed = await store.incidents.close(LEADER, incident.id, "群众代表已接受答复，人员已疏散")
    assert (closed.status, closed.closed_by, closed.summary) == ("closed", 2001, "群众代表已接受答复，人员已疏散")
    # The unit's leaders and those above (the closer himself excepted), and the admins.
    ((chat, text, _),) = await notices(store, "ic_closed")
    assert chat == 9001
    assert text.splitlines()[0] == f"🏁 <b>群体性事件处置结束</b>：事件 #{incident.id}（二级（较大））"
    assert text.splitlines()[2] == "由 赵总 于 2026-11-02 12:00 结束处置，清单完成 0/3。"
    assert text.splitlines()[3] == "处置情况：群众代表已接受答复，人员已疏散"
    assert journal(store, incident.id)[-1][:4] == ("close", 2001, "leader", "群众代表已接受答复，人员已疏散")
    with pytest.raises(Refused) as twice:
        await store.incidents.close(LEADER, incident.id, "再次")
    assert twice.value.code == "incident_closed"
    with pytest.raises(Refused) as tick:
        await store.incidents.tick(LEADER, incident.id, 2, 1)
    assert tick.value.code == "incident_closed"
    assert await store.incidents.open_incidents(ADMIN) == []


async def test_who_may_see_an_incident(store: Services) -> None:
    await collective(store, 52)
    incident = await only_incident(store)
    assert [i.id for i in await store.incidents.open_incidents(OFFICER_OIL)] == [incident.id]  # its group
    assert await store.incidents.open_incidents(OFFICER_P1) == []  # level 3's group: not told of level 2
    with pytest.raises(Refused) as hidden:
        await store.incidents.tick(OFFICER_P1, incident.id, 2, 1)
    assert hidden.value.code == "incident_not_found"
    with pytest.raises(Refused) as forged:
        await store.incidents.get(ADMIN, 987654)
    assert (forged.value.code, forged.value.params) == ("incident_not_found", {"id": 987654})
    with pytest.raises(Refused):
        await store.incidents.get(Actor(id=5001, role=ActorRole.PETITIONER), incident.id)


async def test_a_dispute_opens_through_the_store_entry_point(store: Services) -> None:
    assert await store.incidents.open_for("dispute", "PC-2026-11-003", 19, unit="plant-2") is None
    opened = await store.incidents.open_for("dispute", "PC-2026-11-003", 25, unit="plant-2")
    assert opened is not None and (opened.source_kind, opened.level, opened.unit) == ("dispute", 3, "plant-2")
    again = await store.incidents.open_for("dispute", "PC-2026-11-003", 25, unit="plant-2")
    assert again is not None and again.id == opened.id
    with pytest.raises(Refused) as no_unit:
        await store.incidents.open_for("dispute", "PC-1", 25)
    assert no_unit.value.code == "unknown_unit"
    with pytest.raises(Refused) as outside:
        await store.incidents.open_for("dispute", "PC-2", 25, LEADER, unit="refinery")
    assert outside.value.code == "incident_out_of_scope"
    assert journal(store, opened.id)[0][4]["source"] == "dispute"


async def test_a_drill_never_mixes_with_real_incidents(store: Services) -> None:
    await collective(store, 52)
    real = await only_incident(store)
    drill = await store.incidents.drill(LEADER, 2)
    assert (drill.is_drill, drill.source_kind, drill.source_ref, drill.level, drill.unit) == (
        True, "drill", None, 2, "oilfield")
    ((chat, text, _),) = [n for n in await notices(store, "ic_opened") if f"#{drill.id}" in n[1]]
    assert chat == 1002  # the leader who started it is answered directly
    assert text.startswith("🧪【演练】🚨 已启动群体性事件处置预案")
    assert "🧪 <b>【演练】群体性事件 · 二级（较大）</b>" in text
    assert journal(store, drill.id)[0][4]["drill"] is True
    listed = await store.incidents.open_incidents(LEADER)
    assert [(i.id, i.is_drill) for i in listed] == [(real.id, False), (drill.id, True)]
    # /stats, /export and `petition-bot report` count real incidents only.
    report = await store.indicators.indicators(LEADER)
    assert [(c.level, c.open, c.closed) for c in report.incidents] == [(2, 1, 0)]
    await store.incidents.close(LEADER, drill.id, "演练顺利")
    await store.incidents.close(LEADER, real.id, "已平息")
    report = await store.indicators.indicators(ADMIN)
    assert [(c.level, c.open, c.closed) for c in report.incidents] == [(2, 0, 1)]
    ((_, closed_text, _),) = [n for n in await notices(store, "ic_closed") if f"#{drill.id}" in n[1]]
    assert closed_text.startswith("🧪 <b>【演练】群体性事件演练结束</b>")


async def test_the_journal_is_append_only_and_verified(store: Services, backend: str) -> None:
    await collective(store, 52)
    incident = await only_incident(store)
    await store.incidents.tick(LEADER, incident.id, 2, 1)
    result = await store.incidents.verify_journal()
    assert (result.ok, result.checked) == (True, 2)
    with pytest.raises(db_error(backend), match="append-only"):
        execute(store, "UPDATE incident_events SET body = 'x'")
    with pytest.raises(db_error(backend), match="append-only"):
        execute(store, "DELETE FROM incident_events")
    if backend == "sqlite":
        execute(store, "DROP TRIGGER incident_events_append_only_update")
    else:
        execute(store, "DROP TRIGGER incident_events_append_only_update ON incident_events")
    execute(store, "UPDATE incident_events SET body = '未到场' WHERE id = 2")
    broken = await store.incidents.verify_journal()
    assert (broken.ok, broken.broken_event_id, broken.checked) == (False, 2, 1)


async def test_verify_journal_checks_the_incident_journal_too(
    store: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.cli import main as cli

    await collective(store, 52)
    incident = await only_incident(store)
    await store.incidents.tick(LEADER, incident.id, 2, 1, "到场")
    capsys.readouterr()
    assert await asyncio.to_thread(cli, ["--lang", "en", "verify-journal", "--db", store.db.path]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "OK: 2 group-incident events, hash chain intact"


async def test_a_cluster_alert_joins_the_incident_a_leader_declared(store: Services) -> None:
    numbers = [(await store.cases.submit(petitioner(u), draft(), f"c{u}")).case.number for u in range(5001, 5006)]
    (alert,) = rows(store, "SELECT id, case_id, people FROM alerts")
    assert alert[2] == 5 and rows(store, "SELECT count(*) FROM incidents") == [(0,)]  # 5 people: below level 3
    declared = await store.incidents.declare(LEADER, numbers[-1], 3)  # the case that raised the alert
    await store.cases.submit(petitioner(5006), draft(), "c5006")  # the group grows
    assert rows(store, "SELECT id, alert_id, people, level FROM incidents") == [(declared.id, alert[0], 6, 3)]


@pytest.mark.postgresql
async def test_migrate_copies_incidents_to_postgresql(
    tmp_path: Path, org: Organization, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from bot import cli
    from tests.backends import fresh_database, require_pg
    from tests.conftest import ORG_FILE

    require_pg()
    monkeypatch.setenv("PETITION_CONFIG", str(ORG_FILE))
    source = tmp_path / "petitions.db"
    lite = await Services.open(source, org, FakeClock())
    try:
        await collective(lite, 52)
        incident = await only_incident(lite)
        await lite.incidents.tick(LEADER, incident.id, 2, 1, "到场")
        await lite.incidents.set_level(LEADER, incident.id, 1)
        await lite.incidents.drill(LEADER, 3)
    finally:
        await lite.close()
    tables = ("incidents", "incident_ticks", "incident_level_changes", "incident_events")
    async with fresh_database("postgresql", tmp_path) as url:
        code = await asyncio.to_thread(cli.main, ["migrate", "--from", str(source), "--to", url, "--lang", "en"])
        assert code == 0, capsys.readouterr().err
        assert {t: rows(url, f"SELECT * FROM {t}") for t in tables} == {
            t: rows(source, f"SELECT * FROM {t}") for t in tables}
        moved = await Services.open(url, org, FakeClock(), key_file=tmp_path / "petitions.key")
        try:
            assert (await moved.incidents.verify_journal()).checked == 4  # open, tick, level; the drill's open
            nxt = await moved.incidents.drill(LEADER, 2)  # ids go on after the copied ones
            assert nxt.id == 3
        finally:
            await moved.close()


async def test_the_report_command_counts_real_incidents_only(
    store: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from openpyxl import load_workbook

    from bot.cli import main as cli
    from tests.conftest import ORG_FILE

    monkeypatch.setenv("PETITION_CONFIG", str(ORG_FILE))
    await collective(store, 52)
    real = await only_incident(store)
    await store.incidents.close(LEADER, real.id, "已平息")
    await store.incidents.drill(LEADER, 1)
    await store.incidents.drill(ADMIN, 2)
    out = tmp_path / "report.xlsx"
    assert await asyncio.to_thread(cli, ["report", "--period", "2026-11", "--format", "xlsx", "--out", str(out),
                                         "--db", store.db.path, "--lang", "en"]) == 0
    sheet = list(load_workbook(out)["Group incidents"].values)
    assert sheet == [("Period", "2026-11", None), ("Level", "Open", "Closed"), ("Level 1 (major)", 0, 0),
                     ("Level 2 (serious)", 0, 1), ("三级（一般）", 0, 0)]
