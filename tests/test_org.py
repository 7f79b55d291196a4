"""The organisation file: the example, located errors, tree helpers, localized names."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from store.org import (
    Category,
    CategoryKind,
    LocalizedText,
    Organization,
    OrgError,
    OrgInfo,
    Role,
    Staff,
    Unit,
    example_org,
    load_org,
    parse_org,
    starter_toml,
)

BASE = """
[organization]
name = "测试公司"

[[units]]
id = "hq"
name = { zh = "总部", en = "Headquarters" }

[[units]]
id = "oilfield"
parent = "hq"
name = "油田公司"

[[units]]
id = "plant-1"
parent = "oilfield"
name = { zh = "第一采油厂", en = "Plant 1" }

[[categories]]
id = "wages"
name = { zh = "工资福利", en = "Wages" }
kind = "claim"

[[categories]]
id = "misconduct"
name = "违纪违法举报"
kind = "report"

[[staff]]
telegram_id = 1
name = "管理员"
role = "admin"

[[staff]]
telegram_id = 2
name = "赵科长"
role = "officer"
units = ["oilfield"]
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(OrgError) as info:
        parse_org(text)
    return info.value.errors


def with_staff(fields: str) -> str:
    """BASE plus a third staff entry, staff[2]."""
    return BASE + "\n[[staff]]\n" + fields


# --- the built-in example ---------------------------------------------------


def test_example_org_loads_with_the_expected_tree() -> None:
    org = example_org()
    assert org.organization.name == "延长石油（示例）"
    assert org.organization.case_prefix == "XF"
    assert [u.id for u in org.roots()] == ["hq"]
    assert [u.id for u in org.children("hq")] == ["oilfield", "refining", "sales", "gas", "chemical"]
    assert [u.id for u in org.children("oilfield")] == ["plant-1", "plant-2", "drilling"]
    assert [u.id for u in org.children("refining")] == ["refinery-1", "refinery-2"]
    assert (len(org.units), len(org.categories)) == (11, 9)


def test_example_org_has_the_nine_domain_categories() -> None:
    kinds = {c.id: (c.name.get("zh"), c.kind) for c in example_org().categories}
    assert kinds == {
        "wages": ("工资福利", CategoryKind.CLAIM),
        "insurance": ("社会保险与退休", CategoryKind.CLAIM),
        "labour": ("劳动关系与改制", CategoryKind.CLAIM),
        "safety": ("安全生产与职业健康", CategoryKind.CLAIM),
        "land": ("油地关系", CategoryKind.CLAIM),
        "housing": ("住房与后勤", CategoryKind.CLAIM),
        "misconduct": ("违纪违法举报", CategoryKind.REPORT),
        "suggestion": ("意见建议", CategoryKind.SUGGESTION),
        "other": ("其他", CategoryKind.CLAIM),
    }


def test_example_org_is_bilingual_and_staffed() -> None:
    org = example_org()
    assert all(u.name.zh and u.name.en for u in org.units)
    assert all(c.name.zh and c.name.en for c in org.categories)
    roles = {s.role for s in org.staff}
    assert roles == {Role.ADMIN, Role.LEADER, Role.OFFICER}
    leader_units = {u for s in org.staff if s.role is Role.LEADER for u in s.units}
    assert leader_units == {"hq", "oilfield"}
    assert all(s.telegram_id >= 100001 for s in org.staff)
    assert 2 <= len(org.canned_replies) <= 3


def test_starter_toml_is_commented_and_parses_to_the_example() -> None:
    text = starter_toml()
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) > 50
    assert parse_org(text) == example_org()


def test_defaults_for_optional_sections() -> None:
    org = parse_org(BASE)
    assert org.limits.submissions_per_day == 5
    assert org.limits.messages_per_minute == 20
    assert org.deadlines.accept_days == 15
    assert org.deadlines.handle_days == 60
    assert org.deadlines.max_extension_days == 30
    assert org.deadlines.rereview_days == 30
    assert org.organization.timezone == "Asia/Shanghai"
    assert org.organization.staff_chat_id is None
    assert org.canned_replies == ()


def test_time_zone_is_usable() -> None:
    org = parse_org(BASE.replace('name = "测试公司"', 'name = "测试公司"\ntimezone = "Asia/Urumqi"'))
    assert org.organization.tz.key == "Asia/Urumqi"


# --- tree helpers -------------------------------------------------------------


def test_ancestors_subtree_and_paths() -> None:
    org = example_org()
    assert [u.id for u in org.ancestors("plant-1")] == ["plant-1", "oilfield", "hq"]
    assert [u.id for u in org.ancestors("hq")] == ["hq"]
    assert org.subtree("oilfield") == {"oilfield", "plant-1", "plant-2", "drilling"}
    assert org.subtree("sales") == {"sales"}
    assert org.children("plant-1") == []
    assert org.unit_path("plant-1", "zh") == "集团总部 › 油田公司 › 第一采油厂"
    assert org.unit_path("plant-1", "en") == "Group Headquarters › Oilfield Company › No. 1 Oil Production Plant"


def test_covers_uses_the_subtree_and_admins_cover_everything() -> None:
    org = example_org()
    oilfield_officer = org.staff_member(100005)
    plant_officer = org.staff_member(100006)
    admin = org.staff_member(100001)
    assert oilfield_officer is not None and plant_officer is not None and admin is not None
    assert org.covers(oilfield_officer, "plant-2")
    assert org.covers(oilfield_officer, "oilfield")
    assert not org.covers(oilfield_officer, "hq")
    assert not org.covers(oilfield_officer, "refinery-1")
    assert org.covers(plant_officer, "plant-1")
    assert not org.covers(plant_officer, "plant-2")
    assert admin.units == () and org.covers(admin, "refinery-2")


def test_lookups() -> None:
    org = example_org()
    assert org.unit("drilling").name.get("en") == "Drilling Company"
    assert org.category("misconduct").kind is CategoryKind.REPORT
    assert org.staff_member(999) is None
    with pytest.raises(KeyError):
        org.unit("plant-9")
    with pytest.raises(KeyError):
        org.category("nope")


def test_units_and_categories_as_people_type_them() -> None:
    org = example_org()
    assert [u.id for u in org.units_named("drilling")] == ["drilling"]
    assert org.find_unit_named(" drilling company ") is org.unit("drilling")  # the English name, any case
    assert org.find_unit_named(str(org.unit("drilling").name.zh)) is org.unit("drilling")
    assert org.find_unit_named("钻井") is None and org.units_named("nowhere") == []
    assert org.find_category_named("REPORTS OF MISCONDUCT") is org.category("misconduct")
    assert org.find_category_named(str(org.category("misconduct").name.zh)) is org.category("misconduct")
    twins = parse_org(BASE + '\n[[units]]\nid = "hq2"\nname = { zh = "总部", en = "Head office" }\n')
    assert [u.id for u in twins.units_named("总部")] == ["hq", "hq2"] and twins.find_unit_named("总部") is None


def test_multiple_roots_in_file_order() -> None:
    org = parse_org(BASE + '\n[[units]]\nid = "retirees"\nname = "离退休中心"\n')
    assert [u.id for u in org.roots()] == ["hq", "retirees"]


def test_organization_built_in_python_is_checked_and_indexed() -> None:
    hq = Unit(id="hq", name=LocalizedText(zh="总部"))
    plant = Unit(id="plant", parent="hq", name=LocalizedText(zh="采油厂"))
    wages = Category(id="wages", name=LocalizedText(zh="工资"), kind=CategoryKind.CLAIM)
    officer = Staff(telegram_id=7, name="王", role=Role.OFFICER, units=("hq",))
    org = Organization(organization=OrgInfo(name="x"), units=(hq, plant), categories=(wages,), staff=(officer,))
    assert org.subtree("hq") == {"hq", "plant"}
    assert org.covers(officer, "plant")
    orphan = Unit(id="orphan", parent="nowhere", name=LocalizedText(zh="孤"))
    with pytest.raises(ValidationError, match='units\\[2\\].parent: unknown unit "nowhere"'):
        Organization(organization=OrgInfo(name="x"), units=(hq, plant, orphan), categories=(wages,))


def test_organization_is_read_only() -> None:
    org = example_org()
    with pytest.raises(ValidationError):
        org.units = ()  # type: ignore[misc]


# --- localized text -----------------------------------------------------------


def test_localized_text_from_string_means_chinese() -> None:
    text = LocalizedText.model_validate("集团总部")
    assert (text.zh, text.en) == ("集团总部", None)
    assert text.get("en") == "集团总部"
    assert str(text) == "集团总部"


def test_localized_text_picks_language_with_fallbacks() -> None:
    both = LocalizedText(zh="工资福利", en="Wages")
    assert both.get("en") == "Wages"
    assert both.get("en-US") == "Wages"
    assert both.get("zh-hans") == "工资福利"
    assert both.get("ru") == "工资福利"
    assert both.get("") == "工资福利"
    assert LocalizedText(en="Wages").get("zh") == "Wages"


def test_unit_names_are_localized() -> None:
    org = parse_org(BASE)
    assert org.unit("plant-1").name.get("en") == "Plant 1"
    assert org.unit("oilfield").name.get("en") == "油田公司"
    assert org.unit_path("plant-1", "en") == "Headquarters › 油田公司 › Plant 1"


# --- located errors -----------------------------------------------------------


def test_unknown_unit_of_staff() -> None:
    text = with_staff('telegram_id = 3\nname = "王"\nrole = "officer"\nunits = ["plant-9"]\n')
    assert errors_of(text) == ['staff[2].units[0]: unknown unit "plant-9"']


def test_unknown_category_and_recused_unit_of_staff() -> None:
    text = with_staff(
        'telegram_id = 3\nname = "王"\nrole = "officer"\nunits = ["hq"]\n'
        'categories = ["wages", "bonus"]\nrecuse_units = ["nowhere"]\n'
    )
    assert errors_of(text) == [
        'staff[2].recuse_units[0]: unknown unit "nowhere"',
        'staff[2].categories[1]: unknown category "bonus"',
    ]


def test_unknown_time_zone() -> None:
    text = BASE.replace('name = "测试公司"', 'name = "测试公司"\ntimezone = "Mars/Base"')
    assert errors_of(text) == ['organization.timezone: unknown time zone "Mars/Base"']


def test_bad_case_prefix() -> None:
    text = BASE.replace('name = "测试公司"', 'name = "测试公司"\ncase_prefix = "xf-1"')
    assert errors_of(text) == ['organization.case_prefix: must be 1-8 capital Latin letters, not "xf-1"']


def test_unknown_parent() -> None:
    text = BASE + '\n[[units]]\nid = "plant-2"\nparent = "olifield"\nname = "第二采油厂"\n'
    assert errors_of(text) == ['units[3].parent: unknown unit "olifield"']


def test_cycle_in_the_tree_is_reported_once() -> None:
    text = BASE + (
        '\n[[units]]\nid = "a"\nparent = "b"\nname = "A"\n'
        '\n[[units]]\nid = "b"\nparent = "a"\nname = "B"\n'
        '\n[[units]]\nid = "c"\nparent = "a"\nname = "C"\n'
    )
    assert errors_of(text) == ["units[3].parent: cycle in the unit tree: a › b › a"]


def test_unit_that_is_its_own_parent() -> None:
    text = BASE + '\n[[units]]\nid = "x"\nparent = "x"\nname = "X"\n'
    assert errors_of(text) == ["units[3].parent: cycle in the unit tree: x › x"]


def test_duplicate_ids() -> None:
    text = (
        BASE
        + '\n[[units]]\nid = "oilfield"\nname = "又一个"\n'
        + '\n[[categories]]\nid = "wages"\nname = "重复"\nkind = "claim"\n'
        + '\n[[staff]]\ntelegram_id = 2\nname = "重复"\nrole = "admin"\n'
        + '\n[[canned_replies]]\nid = "ok"\ntext = "好"\n\n[[canned_replies]]\nid = "ok"\ntext = "好的"\n'
    )
    assert errors_of(text) == [
        'units[3].id: duplicate unit id "oilfield" (first at units[1])',
        'categories[2].id: duplicate category id "wages" (first at categories[0])',
        "staff[2].telegram_id: duplicate telegram_id 2 (first at staff[1])",
        'canned_replies[1].id: duplicate canned reply id "ok" (first at canned_replies[0])',
    ]


def test_officers_and_leaders_need_a_unit_admins_do_not() -> None:
    text = (
        BASE
        + '\n[[staff]]\ntelegram_id = 3\nname = "甲"\nrole = "officer"\n'
        + '\n[[staff]]\ntelegram_id = 4\nname = "乙"\nrole = "leader"\nunits = []\n'
        + '\n[[staff]]\ntelegram_id = 5\nname = "丙"\nrole = "admin"\n'
    )
    assert errors_of(text) == [
        "staff[2].units: an officer needs at least one unit",
        "staff[3].units: a leader needs at least one unit",
    ]


def test_typo_in_a_key_is_an_error() -> None:
    text = with_staff('telegram_id = 3\nname = "王"\nrole = "officer"\nunit = ["hq"]\n')
    assert errors_of(text) == [
        "staff[2].unit: unknown key (check the spelling)",
        "staff[2].units: an officer needs at least one unit",
    ]


def test_bad_values_are_located() -> None:
    text = with_staff('telegram_id = 3\nname = "王"\nrole = "boss"\nunits = "hq"\n')
    assert errors_of(text) == [
        "staff[2].role: Input should be 'officer', 'leader' or 'admin'",
        "staff[2].units: must be an array",
    ]


def test_bad_localized_text() -> None:
    text = BASE.replace('name = "油田公司"', "name = 7").replace(
        'name = "违纪违法举报"', 'name = { zh = "举报", fr = "signalement" }'
    )
    assert errors_of(text) == [
        'units[1].name: must be a string or a table {zh = "...", en = "..."}',
        "categories[1].name.fr: unknown key (check the spelling)",
    ]


def test_missing_sections() -> None:
    assert errors_of('[[units]]\nid = "hq"\nname = "总部"\n') == [
        "organization: required",
        "categories: at least one [[categories]] entry is required",
    ]


def test_invalid_id() -> None:
    text = BASE.replace('id = "wages"', 'id = "工资 福利"')
    assert errors_of(text) == ['categories[0].id: invalid id "工资 福利": use 1-32 letters, digits, "-" or "_"']


def test_all_errors_are_collected_across_sections() -> None:
    text = with_staff('telegram_id = 3\nname = "王"\nrole = "leader"\nunits = ["plant-9"]\n').replace(
        'name = "测试公司"', 'name = "测试公司"\ntimezone = "Mars/Base"\n\n[limits]\nsubmissions_per_day = 0'
    ) + '\n[[units]]\nid = "x"\nparent = "y"\nname = "X"\n'
    assert errors_of(text) == [
        'organization.timezone: unknown time zone "Mars/Base"',
        "limits.submissions_per_day: Input should be greater than 0",
        'units[3].parent: unknown unit "y"',
        'staff[2].units[0]: unknown unit "plant-9"',
    ]


def test_references_are_checked_inside_invalid_entries() -> None:
    text = with_staff('telegram_id = 3\nname = "王"\nrole = "officer"\nunits = ["plant-9"]\nnmae = "x"\n')
    assert errors_of(text) == [
        "staff[2].nmae: unknown key (check the spelling)",
        'staff[2].units[0]: unknown unit "plant-9"',
    ]


def test_a_cycle_through_an_invalid_unit_is_found() -> None:
    text = BASE.replace('parent = "hq"\nname = "油田公司"', 'parent = "plant-1"\nname = 7')
    assert errors_of(text) == [
        "units[1].name: must be a string or a table {zh = \"...\", en = \"...\"}",
        "units[1].parent: cycle in the unit tree: oilfield › plant-1 › oilfield",
    ]


def test_an_invalid_unit_still_counts_as_declared_for_references() -> None:
    text = BASE.replace('name = "油田公司"', "name = 7")
    assert errors_of(text) == ['units[1].name: must be a string or a table {zh = "...", en = "..."}']


def test_toml_syntax_error_reports_the_line() -> None:
    text = '[organization]\nname = "x"\n\ncase_prefix = XF\n'
    assert errors_of(text) == ["line 4: Invalid value (column 15)"]


def test_toml_error_at_end_of_file() -> None:
    assert errors_of('[organization]\nname = "x"\nunits = [1,\n') == [
        "line 3: Invalid value (at end of file)"
    ]


def test_error_message_joins_all_lines() -> None:
    with pytest.raises(OrgError) as info:
        parse_org(BASE.replace('kind = "claim"', 'kind = "complaint"').replace("telegram_id = 2", "telegram_id = -2"))
    assert str(info.value).splitlines() == [
        "categories[0].kind: Input should be 'suggestion', 'report' or 'claim'",
        "staff[1].telegram_id: Input should be greater than 0",
    ]


# --- files ----------------------------------------------------------------------


def test_load_org_reads_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text(BASE, encoding="utf-8")
    assert load_org(path).unit("plant-1").name.get("zh") == "第一采油厂"


def test_load_org_reports_missing_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(OrgError) as info:
        load_org(missing)
    assert info.value.errors == [f'cannot read "{missing}": No such file or directory']
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(BASE.encode("gbk"))
    with pytest.raises(OrgError) as info:
        load_org(gbk)
    assert info.value.errors[0].startswith(f'"{gbk}" is not UTF-8 text')


def test_warning_thresholds_default_and_must_rise() -> None:
    defaults = parse_org(BASE).monitoring
    assert (defaults.warn_notice_pct, defaults.warn_warning_pct, defaults.warn_serious_pct) == (50, 75, 90)
    rising = BASE + "\n[monitoring]\nwarn_notice_pct = 60\nwarn_warning_pct = 80\nwarn_serious_pct = 95\n"
    assert parse_org(rising).monitoring.warn_serious_pct == 95
    falling = BASE + "\n[monitoring]\nwarn_notice_pct = 80\nwarn_warning_pct = 75\n"
    assert errors_of(falling) == [
        "monitoring: warn_notice_pct < warn_warning_pct < warn_serious_pct is required (50, 75, 90 by default)"
    ]
    assert errors_of(BASE + "\n[monitoring]\nwarn_serious_pct = 101\n") == [
        "monitoring.warn_serious_pct: Input should be less than or equal to 100"
    ]
