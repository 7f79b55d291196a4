"""Routing on a realistic tree: nearest level first, walk-up, admin fallback, recusal for reports."""

import pytest

from store.org import Organization, Staff, example_org, parse_org
from store.routing import (
    can_handle,
    leaders_at_level,
    leaders_of,
    responsible_staff,
    staff_in_scope_for,
)

# hq
# ├── oilfield
# │   ├── plant-1
# │   │   └── team-1a
# │   ├── plant-2
# │   └── drilling
# ├── refining
# │   └── refinery-1
# └── sales
TREE = """
[organization]
name = "测试集团"

[[units]]
id = "hq"
name = { zh = "集团总部", en = "Headquarters" }
[[units]]
id = "oilfield"
parent = "hq"
name = { zh = "油田公司", en = "Oilfield" }
[[units]]
id = "plant-1"
parent = "oilfield"
name = "第一采油厂"
[[units]]
id = "team-1a"
parent = "plant-1"
name = "第一作业区"
[[units]]
id = "plant-2"
parent = "oilfield"
name = "第二采油厂"
[[units]]
id = "drilling"
parent = "oilfield"
name = "钻探公司"
[[units]]
id = "refining"
parent = "hq"
name = "炼化公司"
[[units]]
id = "refinery-1"
parent = "refining"
name = "第一炼油厂"
[[units]]
id = "sales"
parent = "hq"
name = "销售公司"

[[categories]]
id = "wages"
name = "工资福利"
kind = "claim"
[[categories]]
id = "safety"
name = "安全生产"
kind = "claim"
[[categories]]
id = "housing"
name = "住房与后勤"
kind = "claim"
[[categories]]
id = "misconduct"
name = "违纪违法举报"
kind = "report"

[[staff]]
telegram_id = 1
name = "admin"
role = "admin"
[[staff]]
telegram_id = 2
name = "admin recused from plant-1"
role = "admin"
recuse_units = ["plant-1"]

[[staff]]
telegram_id = 10
name = "leader hq"
role = "leader"
units = ["hq"]
[[staff]]
telegram_id = 11
name = "leader oilfield"
role = "leader"
units = ["oilfield"]
[[staff]]
telegram_id = 12
name = "leader plant-1"
role = "leader"
units = ["plant-1"]
[[staff]]
telegram_id = 13
name = "leader oilfield and hq"
role = "leader"
units = ["hq", "oilfield"]
[[staff]]
telegram_id = 14
name = "leader refining, recused from refinery-1"
role = "leader"
units = ["refining"]
recuse_units = ["refinery-1"]

[[staff]]
telegram_id = 20
name = "officer hq, wages and safety"
role = "officer"
units = ["hq"]
categories = ["wages", "safety"]
[[staff]]
telegram_id = 21
name = "officer oilfield, every category, recused from plant-1"
role = "officer"
units = ["oilfield"]
recuse_units = ["plant-1"]
[[staff]]
telegram_id = 22
name = "officer plant-1, wages"
role = "officer"
units = ["plant-1"]
categories = ["wages"]
[[staff]]
telegram_id = 23
name = "officer plant-1, wages and housing"
role = "officer"
units = ["plant-1"]
categories = ["wages", "housing"]
[[staff]]
telegram_id = 24
name = "officer refining, wages"
role = "officer"
units = ["refining"]
categories = ["wages"]
[[staff]]
telegram_id = 25
name = "discipline hq, recused from oilfield"
role = "officer"
units = ["hq"]
categories = ["misconduct"]
recuse_units = ["oilfield"]
[[staff]]
telegram_id = 26
name = "discipline oilfield, recused from plant-1"
role = "officer"
units = ["oilfield"]
categories = ["misconduct"]
recuse_units = ["plant-1"]
"""

ORG = parse_org(TREE)


def ids(staff: list[Staff]) -> list[int]:
    return [s.telegram_id for s in staff]


def member(telegram_id: int, org: Organization = ORG) -> Staff:
    found = org.staff_member(telegram_id)
    assert found is not None
    return found


# --- responsible_staff --------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "category", "expected"),
    [
        ("plant-1", "wages", [22, 23]),  # officers at the plant itself, not those above
        ("plant-1", "housing", [23]),  # category filter at the same level
        ("team-1a", "wages", [22, 23]),  # walk up one level to the plant
        ("plant-1", "safety", [21]),  # nobody at the plant takes safety: the oilfield officer
        ("plant-2", "wages", [21]),  # oilfield officer covers its subtree
        ("oilfield", "housing", [21]),
        ("refinery-1", "wages", [24]),
        ("refinery-1", "safety", [20]),  # walk up two levels to hq
        ("sales", "housing", [1, 2]),  # nobody anywhere takes it: the admins
        ("hq", "safety", [20]),
    ],
)
def test_responsible_staff_nearest_level_first(unit: str, category: str, expected: list[int]) -> None:
    assert ids(responsible_staff(ORG, unit, category)) == expected


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("plant-2", [21, 26]),  # nobody recused
        ("drilling", [21, 26]),
        ("refinery-1", [25]),  # discipline at hq, not recused from refining
        ("sales", [25]),
        ("plant-1", [1]),  # 21 and 26 recused, 25 recused via oilfield; admin 2 recused too
        ("team-1a", [1]),  # recusal covers the subtree
    ],
)
def test_reports_skip_recused_staff_and_walk_up(unit: str, expected: list[int]) -> None:
    assert ids(responsible_staff(ORG, unit, "misconduct")) == expected


def test_recusal_does_not_apply_to_claims() -> None:
    assert ids(responsible_staff(ORG, "plant-1", "safety")) == [21]


def test_nobody_when_every_admin_is_recused() -> None:
    admin = 'name = "admin"\nrole = "admin"\n'
    text = TREE.replace(admin, admin + 'recuse_units = ["oilfield"]\n')
    org = parse_org(text)
    assert member(1, org).recuse_units == ("oilfield",)
    assert responsible_staff(org, "plant-1", "misconduct") == []
    assert ids(responsible_staff(org, "plant-1", "housing")) == [23]


def test_example_org_routing() -> None:
    org = example_org()
    assert ids(responsible_staff(org, "plant-1", "wages")) == [100006]
    assert ids(responsible_staff(org, "plant-1", "safety")) == [100005]
    assert ids(responsible_staff(org, "drilling", "land")) == [100005]
    assert ids(responsible_staff(org, "sales", "wages")) == [100004]
    assert ids(responsible_staff(org, "refinery-2", "housing")) == [100007]
    assert ids(responsible_staff(org, "plant-2", "misconduct")) == [100008, 100009]
    assert ids(responsible_staff(org, "refinery-1", "misconduct")) == [100009]


# --- leaders ------------------------------------------------------------------


def test_leaders_of_nearest_first_each_once() -> None:
    assert ids(leaders_of(ORG, "team-1a")) == [12, 11, 13, 10]
    assert ids(leaders_of(ORG, "plant-2")) == [11, 13, 10]
    assert ids(leaders_of(ORG, "sales")) == [10, 13]
    assert ids(leaders_of(ORG, "refinery-1")) == [14, 10, 13]


def test_leaders_of_a_report_leaves_out_recused_leaders() -> None:
    assert ids(leaders_of(ORG, "refinery-1", "misconduct")) == [10, 13]
    assert ids(leaders_of(ORG, "refinery-1", "wages")) == [14, 10, 13]


@pytest.mark.parametrize(
    ("unit", "levels_up", "expected"),
    [
        ("team-1a", 0, [12]),  # the team has no leader: the plant's
        ("team-1a", 1, [11, 13]),
        ("team-1a", 2, [10]),  # 13 was already reached at the oilfield
        ("team-1a", 3, []),  # above the root: escalation is exhausted
        ("plant-2", 0, [11, 13]),
        ("plant-2", 1, [10]),
        ("plant-2", 2, []),
        ("hq", 0, [10, 13]),
    ],
)
def test_leaders_at_level_counts_units_that_have_leaders(unit: str, levels_up: int, expected: list[int]) -> None:
    assert ids(leaders_at_level(ORG, unit, levels_up)) == expected


def test_leaders_at_level_for_a_report() -> None:
    assert ids(leaders_at_level(ORG, "refinery-1", 0, "misconduct")) == [10, 13]
    assert ids(leaders_at_level(ORG, "refinery-1", 0)) == [14]


def test_leaders_at_level_rejects_negative_levels() -> None:
    with pytest.raises(ValueError, match="levels_up"):
        leaders_at_level(ORG, "plant-1", -1)


def test_example_org_escalation() -> None:
    org = example_org()
    assert ids(leaders_at_level(org, "plant-1", 0)) == [100003]
    assert ids(leaders_at_level(org, "plant-1", 1)) == [100002]
    assert ids(leaders_at_level(org, "sales", 0)) == [100002]
    assert leaders_at_level(org, "sales", 1) == []


# --- can_handle and scope -------------------------------------------------------


@pytest.mark.parametrize(
    ("telegram_id", "unit", "category", "expected"),
    [
        (22, "plant-1", "wages", True),
        (22, "team-1a", "wages", True),  # subtree
        (22, "plant-2", "wages", False),  # outside the subtree
        (22, "plant-1", "housing", False),  # category not taken
        (21, "plant-1", "wages", True),  # empty categories: all
        (21, "plant-1", "misconduct", False),  # recused for reports
        (21, "plant-2", "misconduct", True),
        (20, "refinery-1", "safety", True),
        (11, "team-1a", "housing", True),  # leaders: any category in their units
        (11, "refinery-1", "wages", False),
        (14, "refinery-1", "misconduct", False),  # leaders are recused too
        (1, "sales", "housing", True),  # admins: anything
        (2, "plant-1", "wages", True),
        (2, "team-1a", "misconduct", False),  # except reports they are recused from
    ],
)
def test_can_handle(telegram_id: int, unit: str, category: str, expected: bool) -> None:
    assert can_handle(ORG, member(telegram_id), unit, category) is expected


def test_staff_in_scope_for_lists_everyone_who_may_act() -> None:
    assert ids(staff_in_scope_for(ORG, "plant-1", "wages")) == [1, 2, 10, 11, 12, 13, 20, 21, 22, 23]
    assert ids(staff_in_scope_for(ORG, "plant-1", "misconduct")) == [1, 10, 11, 12, 13]
    assert ids(staff_in_scope_for(ORG, "refinery-1", "misconduct")) == [1, 2, 10, 13, 25]


def test_unknown_unit_or_category_is_an_error() -> None:
    with pytest.raises(KeyError):
        responsible_staff(ORG, "plant-9", "wages")
    with pytest.raises(KeyError):
        responsible_staff(ORG, "plant-1", "bonus")
    with pytest.raises(KeyError):
        staff_in_scope_for(ORG, "plant-9", "wages")
    with pytest.raises(KeyError):
        leaders_of(ORG, "plant-1", "bonus")
