"""`[[incident_levels]]` in the organisation file, and what check-config says of bad ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.orgcheck import check_config, config_warnings
from store.org import OrgError, example_org, load_org, parse_org

BASE = """
[organization]
name = "测试公司"

[[units]]
id = "hq"
name = "总部"
[[units]]
id = "plant-1"
parent = "hq"
name = { zh = "第一采油厂", en = "Plant 1" }

[[categories]]
id = "wages"
name = "工资福利"
kind = "claim"

[[staff]]
telegram_id = 1
name = "管理员"
role = "admin"
[[staff]]
telegram_id = 2
name = "赵总"
role = "leader"
units = ["hq"]
[[staff]]
telegram_id = 3
name = "钱干事"
role = "officer"
units = ["plant-1"]
"""


def level(number: object, people: object, notify: str = "[2]", steps: str = '["领导到场"]',
          name: str = '"一级"') -> str:
    return f"\n[[incident_levels]]\nlevel = {number}\nname = {name}\nmin_people = {people}\nnotify = {notify}\nsteps = {steps}\n"


def errors_of(text: str) -> list[str]:
    with pytest.raises(OrgError) as info:
        parse_org(text)
    return info.value.errors


def test_a_plan_loads_with_its_groups_and_the_level_for_a_number_of_people() -> None:
    org = parse_org(BASE + level(1, 100, '[1, "leader@hq"]', name='{ zh = "一级（重大）", en = "Level 1" }')
                    + level(2, 50, '["officer@plant-1"]', '["到场", { zh = "稳控", en = "Keep it stable" }]',
                            name='"二级"'))
    first, second = org.incident_levels
    # A plain string is Chinese, and English readers get it too when no "en" is given.
    assert (first.name.get("zh"), first.name.get("en"), second.name.get("en")) == ("一级（重大）", "Level 1", "二级")
    assert org.incident_group(first) == [1, 2] and org.incident_group(second) == [3]
    assert [s.get("en") for s in second.steps] == ["到场", "Keep it stable"]
    assert org.incident_level_for(49) is None
    assert org.incident_level_for(50) is second and org.incident_level_for(99) is second
    assert org.incident_level_for(100) is first and org.incident_level_for(5000) is first
    assert org.incident_level_above(2) is first and org.incident_level_above(1) is None
    assert org.incident_level(3) is None


def test_the_plan_is_optional_and_the_examples_have_one() -> None:
    assert parse_org(BASE).incident_levels == ()
    assert [entry.level for entry in example_org().incident_levels] == [1, 2, 3]
    fixture = load_org(Path(__file__).with_name("org_fixture.toml"))
    assert [(e.level, e.min_people) for e in fixture.incident_levels] == [(1, 100), (2, 50), (3, 20)]


def test_duplicate_levels() -> None:
    assert errors_of(BASE + level(1, 100) + level(1, 50)) == [
        "incident_levels[1].level: duplicate level 1 (first at incident_levels[0])"]


def test_min_people_must_fall_as_the_level_number_rises() -> None:
    assert errors_of(BASE + level(2, 100) + level(1, 50)) == [
        "incident_levels[0].min_people: level 2 needs fewer people than level 1 (50), not 100:"
        " level 1 is the most serious"]
    assert errors_of(BASE + level(1, 50) + level(3, 50)) == [
        "incident_levels[1].min_people: level 3 needs fewer people than level 1 (50), not 50:"
        " level 1 is the most serious"]


def test_notify_names_staff_of_the_file() -> None:
    assert errors_of(BASE + level(1, 100, "[2, 77]")) == [
        "incident_levels[0].notify[1]: unknown staff member 77 (not in [[staff]])"]
    assert errors_of(BASE + level(1, 100, '["leader@plant-9", "boss@hq", "somebody"]')) == [
        'incident_levels[0].notify[0]: unknown unit "plant-9"',
        'incident_levels[0].notify[1]: "boss@hq" is neither a telegram_id nor "leader@unit-id" / "officer@unit-id"',
        'incident_levels[0].notify[2]: "somebody" is neither a telegram_id nor "leader@unit-id" / "officer@unit-id"',
    ]
    assert errors_of(BASE + level(1, 100, "[]")) == [
        'incident_levels[0].notify: needs at least one person to notify (a staff telegram_id, or "leader@unit-id")']


def test_steps_are_a_short_non_empty_checklist() -> None:
    assert errors_of(BASE + level(1, 100, steps="[]")) == [
        "incident_levels[0].steps: needs at least one step (the checklist)"]
    assert errors_of(BASE + level(1, 100, steps='["' + "长" * 101 + '"]')) == [
        "incident_levels[0].steps[0]: a step is at most 100 characters (it is a button)"]
    assert errors_of(BASE + level(1, 100, steps=str([f"步骤{n}" for n in range(13)]).replace("'", '"'))) == [
        "incident_levels[0].steps: at most 12 steps, not 13"]
    assert errors_of(BASE + level(1, 100, steps='[""]')) == ["incident_levels[0].steps[0].zh: must not be empty"]


def test_bad_values_are_located() -> None:
    found = errors_of(BASE + level(0, -1) + level('"x"', 5))
    assert "incident_levels[0].level: Input should be greater than or equal to 1" in found
    assert "incident_levels[0].min_people: Input should be greater than or equal to 1" in found
    assert "incident_levels[1].level: Input should be a valid integer, unable to parse string as an integer" in found
    assert errors_of(BASE + level(1, 100) + "colour = 1\n") == [
        "incident_levels[0].colour: unknown key (check the spelling)"]


def test_check_config_reports_them_and_warns_of_an_empty_group(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE + level(1, 50) + level(2, 80, "[99]"), encoding="utf-8")
    ok, lines = check_config(bad)
    assert not ok and lines == [
        "incident_levels[1].notify[0]: unknown staff member 99 (not in [[staff]])",
        "incident_levels[1].min_people: level 2 needs fewer people than level 1 (50), not 80:"
        " level 1 is the most serious",
    ]
    good = tmp_path / "good.toml"
    good.write_text(BASE + level(1, 50, '[2, "leader@plant-1"]'), encoding="utf-8")
    assert check_config(good)[0]
    assert config_warnings(good, dt.date(2026, 11, 2)) == [
        'incident_levels[0].notify[1]: nobody is a leader assigned at "plant-1"',
        "destinations: none listed: no decline can give the reasons that send the petitioner elsewhere"
        " (legal_channel, not_ours); list the courts, arbitration and other bodies (诉访分离)"]
