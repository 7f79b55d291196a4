"""The employee roster (store/roster.py) on both backends: import, re-import, verification by contact.

Organisation: tests/org_fixture.toml (units hq, oilfield, plant-1 第一采油厂, plant-2, refinery).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from bot.cli import main as cli
from store.errors import Refused
from store.ledger import PersonIn, Registration
from store.models import Actor, ActorRole, Case, Channel
from store.people import e164
from store.roster import RosterStatus
from store.services import Services
from tests.backends import db_error, execute, rows
from tests.conftest import ORG_FILE, draft, petitioner

ROSTER: list[tuple[int, dict[str, Any]]] = [
    (2, {"employee_no": "yc 1024", "name": "刘师傅", "unit": "第一采油厂", "phone": "138-0013-8000", "status": "在职"}),
    (3, {"employee_no": "YC1025", "name": "陈工", "unit": "plant-2", "phone": "13900139000", "status": None,
         "id_tail": "123x"}),
    (4, {"employee_no": "YC0001", "name": "王退休", "unit": "oilfield", "phone": "13700137000", "status": "退休"}),
]


def roster(*changes: tuple[int, dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    by_line = {line: dict(cells) for line, cells in ROSTER}
    for line, cells in changes:
        by_line[line] = {**by_line.get(line, {}), **cells}
    return sorted(by_line.items())


@pytest.mark.parametrize(("text", "number"), [
    ("+86 138-0013-8000", "+8613800138000"), ("8613800138000", "+8613800138000"),
    ("008613800138000", "+8613800138000"), ("13800138000", "+8613800138000"), ("12345", None), ("", None),
])
def test_phones_are_compared_in_e164_with_china_by_default(text: str, number: str | None) -> None:
    assert e164(text) == number


async def test_an_import_adds_everyone_sealing_phones_and_id_tails(store: Services) -> None:
    report = await store.roster.import_rows(ROSTER, dry_run=False)
    assert report.bad == [] and report.count("added") == 3
    entries = {e.employee_no: e for e in await store.roster.entries()}
    assert entries["YC1024"].unit == "plant-1" and entries["YC1024"].phone == "+8613800138000"
    assert entries["YC1025"].id_tail == "123X" and entries["YC0001"].status is RosterStatus.RETIRED
    stored = rows(store, "SELECT phone_sealed, id_tail_sealed, phone_tag FROM roster WHERE employee_no = 'YC1025'")[0]
    assert "13900139000" not in str(stored) and "123X" not in str(stored)
    assert (await store.roster.verify_journal()).ok


async def test_a_bad_roster_lists_every_problem_and_writes_nothing(store: Services) -> None:
    bad = roster(
        (3, {"unit": "第九采油厂"}), (4, {"phone": "12345", "status": "出差"}),
        (5, {"employee_no": "YC1024", "name": "又一个刘师傅", "unit": "plant-1"}),
        (6, {"employee_no": "", "name": "", "unit": "plant-1"}),
    )
    report = await store.roster.import_rows(bad, dry_run=False)
    problems = {b.line: sorted((r.column, r.code) for r in b.reasons) for b in report.bad}
    assert problems == {
        3: [("unit", "unknown_unit")],
        4: [("phone", "bad_phone"), ("status", "bad_status")],
        5: [("employee_no", "repeated_in_file")],
        6: [("employee_no", "required"), ("name", "required")],
    }
    assert not report.written and rows(store, "SELECT COUNT(*) FROM roster") == [(0,)]


async def test_a_reimport_updates_marks_the_missing_as_left_and_says_what_changed(store: Services) -> None:
    await store.roster.import_rows(ROSTER, dry_run=False)
    second = [(2, {**ROSTER[0][1], "unit": "plant-2"}), ROSTER[2]]  # 陈工 YC1025 is no longer in HR's file
    preview = await store.roster.import_rows(second, dry_run=True)
    assert {(c.employee_no, c.change) for c in preview.changes} == {("YC1024", "updated"), ("YC1025", "left")}
    assert rows(store, "SELECT unit FROM roster WHERE employee_no = 'YC1024'") == [("plant-1",)]
    report = await store.roster.import_rows(second, dry_run=False)
    assert (report.count("updated"), report.count("left"), report.unchanged) == (1, 1, 1)
    assert rows(store, "SELECT employee_no, unit, status FROM roster ORDER BY employee_no") == [
        ("YC0001", "oilfield", "retired"), ("YC1024", "plant-2", "active"), ("YC1025", "plant-2", "left")]
    again = await store.roster.import_rows(ROSTER, dry_run=False)
    assert {(c.employee_no, c.change) for c in again.changes} == {("YC1024", "updated"), ("YC1025", "back")}
    assert (await store.roster.verify_journal()).ok


async def test_an_employee_verifies_with_their_own_contact(store: Services) -> None:
    await store.roster.import_rows(ROSTER, dry_run=False)
    entry = await store.roster.verify(7001, 7001, "8613800138000")  # as Telegram gives a shared contact
    assert (entry.employee_no, entry.name, entry.unit) == ("YC1024", "刘师傅", "plant-1")
    assert (verified := await store.roster.verified(7001)) is not None and verified.employee_no == "YC1024"
    assert rows(store, "SELECT employee_no FROM verified_accounts") == [("YC1024",)]
    assert rows(store, "SELECT action, employee_no FROM roster_journal WHERE action = 'verify'") == [("verify", "YC1024")]


async def test_someone_elses_contact_or_an_unknown_number_does_not_verify(store: Services) -> None:
    await store.roster.import_rows(ROSTER, dry_run=False)
    with pytest.raises(Refused) as not_own:
        await store.roster.verify(7002, 7001, "8613800138000")  # 刘师傅's contact, forwarded by someone else
    assert not_own.value.code == "verify_not_own"
    with pytest.raises(Refused) as other_number:
        await store.roster.verify(7002, 7002, "8613811111111")  # a second account with a different number
    assert other_number.value.code == "verify_no_match"
    with pytest.raises(Refused) as retired:
        await store.roster.verify(7003, 7003, "8613700137000")  # in the roster, but not active
    assert retired.value.code == "verify_no_match"
    assert await store.roster.verified(7002) is None
    assert rows(store, "SELECT COUNT(*) FROM verified_accounts") == [(0,)]


async def test_a_new_phone_in_the_roster_ends_the_old_verification(store: Services) -> None:
    await store.roster.import_rows(ROSTER, dry_run=False)
    await store.roster.verify(7001, 7001, "8613800138000")
    await store.roster.import_rows(roster((2, {"phone": "13612345678"})), dry_run=False)
    assert await store.roster.verified(7001) is None
    await store.roster.import_rows(roster((2, {"status": "离职"})), dry_run=False)
    with pytest.raises(Refused):
        await store.roster.verify(7001, 7001, "8613612345678")


async def test_verifying_from_a_new_account_moves_the_link(store: Services) -> None:
    await store.roster.import_rows(ROSTER, dry_run=False)
    await store.roster.verify(7001, 7001, "8613800138000")
    await store.roster.verify(7009, 7009, "+86 13800138000")  # the same SIM in a new Telegram account
    assert await store.roster.verified(7001) is None
    assert (verified := await store.roster.verified(7009)) is not None and verified.employee_no == "YC1024"


async def test_the_roster_journal_is_append_only(store: Services, backend: str) -> None:
    await store.roster.import_rows(ROSTER, dry_run=False)
    with pytest.raises(db_error(backend)):
        execute(store, "DELETE FROM roster_journal")


async def test_the_command_imports_refuses_a_bad_file_and_exports_what_imports_back(
    store: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PETITION_CONFIG", str(ORG_FILE))
    db = store.db.path
    hr = tmp_path / "花名册.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["工号", "姓名", "所在单位", "手机号", "在职状态", "备注"])
    sheet.append(["YC1024", "刘师傅", "第一采油厂", 13800138000, "在职", "班长"])
    sheet.append(["YC1025", "陈工", "第二采油厂", "139 0013 9000", "", ""])
    book.save(hr)

    assert await asyncio.to_thread(cli, ["roster", "import", str(hr), "--dry-run", "--db", db, "--lang", "zh"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "试运行，未写入任何内容：将新增 2 人，变更 0 人，标记离职 0 人，重新在职 0 人，未变 0 人。")
    assert rows(db, "SELECT COUNT(*) FROM roster") == [(0,)]
    assert await asyncio.to_thread(cli, ["roster", "import", str(hr), "--db", db, "--lang", "zh"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["未使用的列：备注", "新增：YC1024 刘师傅", "新增：YC1025 陈工",
                       "花名册已更新：新增 2 人，变更 0 人，标记离职 0 人，重新在职 0 人，未变 0 人。"]

    bad = tmp_path / "roster.csv"
    bad.write_text("employee no,name,unit,phone\nYC1024,Liu,plant-9,138\nYC1024,Liu,plant-1,\n", encoding="utf-8")
    assert await asyncio.to_thread(cli, ["roster", "import", str(bad), "--db", db, "--lang", "en"]) == 1
    assert capsys.readouterr().out.splitlines()[1:] == [
        "Row 2: unit “plant-9” is not in the organisation; phone “138” is not a valid mobile number",
        "Row 3: employee no repeats row 2",
        "Rows with errors: 2. The roster was not changed; please correct them and import again.",
    ]
    assert rows(db, "SELECT name FROM roster ORDER BY employee_no") == [("刘师傅",), ("陈工",)]

    exported = tmp_path / "out.csv"
    assert await asyncio.to_thread(cli, ["roster", "export", str(exported), "--db", db, "--lang", "zh"]) == 0
    assert exported.read_text(encoding="utf-8-sig").splitlines() == [
        "工号,姓名,单位,手机,状态,身份证后四位", "YC1024,刘师傅,plant-1,13800138000,在职,", "YC1025,陈工,plant-2,13900139000,在职,"]
    assert oct(exported.stat().st_mode & 0o777) == "0o600"
    capsys.readouterr()
    assert await asyncio.to_thread(cli, ["roster", "import", str(exported), "--db", db, "--lang", "zh"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("未变 2 人。")
    assert await asyncio.to_thread(cli, ["verify-journal", "--db", db, "--lang", "en"]) == 0
    assert "roster journal entries, hash chain intact" in capsys.readouterr().out


async def test_a_letter_for_a_verified_employee_is_claimed_only_by_their_verified_account(store: Services) -> None:
    from datetime import timedelta

    from store.ledger import PersonIn, Registration
    from store.models import Actor, ActorRole, Channel

    await store.roster.import_rows(ROSTER, dry_run=False)
    await store.roster.verify(7001, 7001, "8613800138000")  # 刘师傅's own account
    officer = Actor(id=1001, role=ActorRole.OFFICER, name="王主任")
    done = await store.ledger.register(officer, Registration.model_validate({
        "channel": Channel.LETTER, "received_on": store.context.today() - timedelta(days=2),
        "people": [PersonIn(name="刘师傅", employee_no="yc1024")],  # no phone: a code alone would bind
        "category": "wages", "unit": "plant-1", "subject": "加班费未发放", "details": "来信反映加班费未发放。"}))
    [code] = done.codes
    with pytest.raises(Refused) as someone_else:
        await store.ledger.claim(7002, code.shown)
    assert someone_else.value.code == "claim_not_verified_person"
    assert rows(store, "SELECT used_at FROM claim_codes") == [(None,)]
    claimed = await store.ledger.claim(7001, code.shown)
    assert claimed.case.number == done.case.number


async def _a_letter_from_liu(store: Services, person: PersonIn) -> Case:
    """刘师傅 on the roster, his own account verified; a letter registered two days ago naming ``person``."""
    await store.roster.import_rows(ROSTER, dry_run=False)
    await store.roster.verify(7001, 7001, "8613800138000")  # 刘师傅's own account
    officer = Actor(id=1001, role=ActorRole.OFFICER, name="王主任")
    return (await store.ledger.register(officer, Registration.model_validate({
        "channel": Channel.LETTER, "received_on": store.context.today() - timedelta(days=2), "people": [person],
        "category": "wages", "unit": "plant-1", "subject": "加班费未发放", "details": "来信反映加班费未发放。"}))).case


async def test_a_verified_employees_filing_is_proposed_as_a_repeat_of_a_letter_under_their_roster_phone(
    store: Services,
) -> None:
    """The submission reads who the account is verified as once, and repeat detection goes on from it: a letter
    registered under the roster's phone (no Telegram account, no employee number) is the same person."""
    letter = await _a_letter_from_liu(store, PersonIn(name="刘师傅", phone="13800138000"))
    filed = (await store.cases.submit(petitioner(7001), draft(), "chat")).case
    assert filed.employee_no == "YC1024"
    flagged = rows(store, "SELECT data FROM events WHERE case_id = ? AND action = 'flag'", filed.id)
    assert len(flagged) == 1 and letter.number in flagged[0][0]
    # Someone else filing the same matter is nobody's repeat.
    other = (await store.cases.submit(petitioner(7002), draft(), "other")).case
    assert rows(store, "SELECT count(*) FROM events WHERE case_id = ? AND action = 'flag'", other.id) == [(0,)]


async def test_a_verified_employees_filing_is_proposed_as_a_repeat_of_a_letter_under_their_employee_number(
    store: Services,
) -> None:
    """A letter that names only the employee number (no phone on its case) is the same person through its
    register record, which the submission reads with the case's INSERT (``store.people.register_query``)."""
    letter = await _a_letter_from_liu(store, PersonIn(name="刘师傅", employee_no="yc 1024"))
    assert letter.petitioner_phone is None
    filed = (await store.cases.submit(petitioner(7001), draft(), "chat")).case
    flagged = rows(store, "SELECT data FROM events WHERE case_id = ? AND action = 'flag'", filed.id)
    assert len(flagged) == 1 and letter.number in flagged[0][0]
