"""Callback data as a contract: declared once, at most 64 bytes, old buttons still understood, forged ones refused."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from handlers import callbacks as cb
from handlers import prompts, review
from handlers.callbacks import DAY, HHMM, INT, KEY, KEY_OR_EMPTY, NUMBER, TOKEN, Button, Field
from store.models import new_key

ALL = [b for area in cb.AREAS for b in area.buttons]


def longest(field: Field[Any]) -> Any:
    """The longest value a field takes."""
    if field is INT:
        return 10 ** INT.max_len - 1
    if field is DAY:
        return date(2026, 12, 31)
    if field is HHMM:
        return "23:59"
    if field is TOKEN:
        return "f" * 32
    if field in (NUMBER, KEY, KEY_OR_EMPTY):
        return "Z" * field.max_len
    words = field.regex.split("|")
    return max(words, key=len)


def samples(button: Button) -> list[tuple[Any, ...]]:
    ordinary = {INT: 7, NUMBER: "XF-2026-000123", KEY: "plant-1", KEY_OR_EMPTY: "", DAY: date(2026, 1, 5),
                HHMM: "09:30", TOKEN: new_key()}
    made_before = {TOKEN: "0123456789abcdef0123456789abcdef"}  # a draft of before 0035: a uuid4's hex
    return [tuple(longest(f) for f in button.fields),
            tuple(ordinary.get(f, f.regex.split("|")[0]) for f in button.fields),
            tuple(made_before.get(f, ordinary.get(f, f.regex.split("|")[0])) for f in button.fields)]


def test_the_areas_hold_every_button_once() -> None:
    heads = [b.head for b in ALL]
    assert len(heads) == len(set(heads))
    assert len([b for b in ALL if b.area == "rc"]) == 29  # the 25 reception codes once hand-parsed, then 4 more


@pytest.mark.parametrize("button", ALL, ids=lambda b: b.head)
def test_every_button_fits_telegram_and_reads_back_as_itself(button: Button) -> None:
    assert button.max_bytes <= cb.MAX_BYTES
    for values in samples(button):
        data = button.encode(*values)
        assert 1 <= len(data.encode()) <= cb.MAX_BYTES, data
        assert button.decode(data) == values
        assert cb.decode(data) == (button, values)  # and as no other button


# What buttons already sent in chats carry: they must keep working after an upgrade.
OLD_BUTTONS = [
    ("lang:en", cb.Lang.CHOOSE, ("en",)),
    ("my:page:2", cb.My.PAGE, (2,)),
    ("my:open:XF-2026-000001", cb.My.OPEN, ("XF-2026-000001",)),
    ("em:wdy:XF-2026-000001", cb.Em.WITHDRAW_CONFIRMED, ("XF-2026-000001",)),
    ("st:acc:XF-2026-000001", cb.St.ACCEPT, ("XF-2026-000001",)),
    ("q:3", cb.Queue.PAGE, (3,)),
    ("sf:ap:XF-2026-000001:1001", cb.Sf.ASSIGN_TO, ("XF-2026-000001", 1001)),
    ("sf:tu:XF-2026-000001:", cb.Sf.TRANSFER_UNIT, ("XF-2026-000001", "")),
    ("sf:x", cb.Sf.CANCEL, ()),
    ("pr:ext:XF-2026-000001:15", cb.Pr.EXTEND, ("XF-2026-000001", 15)),
    ("pr:dcs:XF-2026-000001:support", cb.Pr.DECIDE, ("XF-2026-000001", "support")),
    ("pr:end", cb.Pr.END, ()),
    ("pr:dec:XF-2026-000001", cb.Pr.DECLINE, ("XF-2026-000001",)),
    ("op:r:legal_channel", cb.Op.REASON, ("legal_channel",)),
    ("op:d:labour-arbitration", cb.Op.DEST, ("labour-arbitration",)),
    ("op:nd", cb.Op.NO_DEST, ()),
    ("op:e:facts", cb.Op.EDIT, ("facts",)),
    ("op:ok:" + "ab" * 16, cb.Op.SUBMIT, ("ab" * 16,)),
    ("pr:rvm:XF-2026-000001", cb.Pr.OPINION_MAINTAIN, ("XF-2026-000001",)),
    ("pr:rvd:XF-2026-000001", cb.Pr.OPINION_REDO, ("XF-2026-000001",)),
    ("ro:e:basis", cb.Ro.EDIT, ("basis",)),
    ("ro:k", cb.Ro.KEEP, ()),
    ("ro:ok:" + "ab" * 16, cb.Ro.SUBMIT, ("ab" * 16,)),
    ("rv:rate:d:XF-2026-000001", cb.Rv.RATE, ("d", "XF-2026-000001")),
    ("rv:sp:XF-2026-000001:3002", cb.Rv.STUDY_TOGGLE, ("XF-2026-000001", 3002)),
    ("rv:so:XF-2026-000001", cb.Rv.STUDY_CONFIRM, ("XF-2026-000001",)),
    ("rv:sx:XF-2026-000001", cb.Rv.STUDY_DROP, ("XF-2026-000001",)),
    ("rv:hh:XF-2026-000001", cb.Rv.HEARING_HELD, ("XF-2026-000001",)),
    ("rv:hc:XF-2026-000001", cb.Rv.HEARING_CANCEL, ("XF-2026-000001",)),
    ("pr:hrs:XF-2026-000001", cb.Pr.HEARING, ("XF-2026-000001",)),
    ("ld:ack:12", cb.Ld.ACK, (12,)),
    ("in:here:plant-1", cb.In.UNIT_HERE, ("plant-1",)),
    ("in:id:phone", cb.In.IDENTITY, ("phone",)),
    ("in:submit:" + "ab" * 16, cb.In.SUBMIT, ("ab" * 16,)),
    ("rc:pd:20261120", cb.Rc.PUBLISH_DAY, (date(2026, 11, 20),)),
    ("rc:pD:2", cb.Rc.PUBLISH_DAYS_PAGE, (2,)),
    ("rc:ps:0930", cb.Rc.PUBLISH_START, ("09:30",)),
    ("rc:pB", cb.Rc.PUBLISH_UNIT_UP, ()),
    ("rc:pb:oilfield", cb.Rc.PUBLISH_UNIT_OPEN, ("oilfield",)),
    ("rc:l:0", cb.Rc.LINK_CASE, (0,)),
    ("rc:pp:" + "0" * 32, cb.Rc.PUBLISH, ("0" * 32,)),
    # The publishing steps' buttons, answered by the publishing form since it is one (handlers/reception_leader.py).
    ("rc:pL:2001", cb.Rc.PUBLISH_LEADER, (2001,)),
    ("rc:dt", cb.Rc.PUBLISH_OTHER_DAY, ()),
    ("rc:pe:1100", cb.Rc.PUBLISH_END, ("11:00",)),
    ("rc:pw:unit", cb.Rc.PUBLISH_WHERE, ("unit",)),
    ("rc:pu:plant-1", cb.Rc.PUBLISH_UNIT, ("plant-1",)),
    ("rc:pk", cb.Rc.PUBLISH_NO_PLACE, ()),
    ("rc:pn:6", cb.Rc.PUBLISH_SLOTS, (6,)),
    ("rc:pc", cb.Rc.PUBLISH_CANCEL, ()),
    ("rc:o:5", cb.Rc.OUTCOME, (5,)),
    ("rc:cx:3", cb.Rc.CANCEL_SESSION, (3,)),
    ("re:ok:XF-2026-000002:XF-2026-000001", cb.Re.CONFIRM, ("XF-2026-000002", "XF-2026-000001")),
    ("re:no:XF-2026-000002", cb.Re.DISMISS, ("XF-2026-000002",)),
]


@pytest.mark.parametrize(("data", "button", "values"), OLD_BUTTONS, ids=[d for d, _, _ in OLD_BUTTONS])
def test_buttons_already_in_chats_keep_their_meaning(data: str, button: Button, values: tuple[Any, ...]) -> None:
    assert cb.decode(data) == (button, values)
    assert button.encode(*values) == data


FORGED = [
    None, 42, "", ":", "rc", "rc:", "rc:zz", "RC:ls", "rc:ls:extra", "rc:s:abc", "rc:s:-1", "rc:s:1.5",
    "rc:s:" + "9" * 20, "rc:pd:2026-11-20", "rc:pd:20261399", "rc:pD:20261120x", "rc:PD:2", "rc:ps:9",
    "rc:pw:roof", "rc:pp:short", "rc:pp:" + "F" * 32, "rc:b:1:2", "in:submit:", "in:id:x", "in:cat:<b>",
    "in:cat:a b", "st:open:" + "X" * 25, "st:open:XF:1", "sf:cs:XF-2026-000001", "pr:zzz:XF-2026-000001",
    "pr:ext:XF-2026-000001:many", "rv:rate:x:XF-2026-000001", "rv:rate", "ld:ack:abc", "lang:fr", "q:",
    "q:-1", "my:page:1:2", "zz:top", "re:ok:XF-2026-000002", "re:no:XF-2026-000002:XF-2026-000001", "rc:ls" + " " * 70, "in:cat:" + "é" * 30,
]


@pytest.mark.parametrize("data", FORGED, ids=repr)
def test_forged_or_malformed_data_decodes_to_nothing(data: object) -> None:
    assert cb.decode(data) is None
    assert not any(b.matches(data) for b in ALL)


def test_verbs_differing_only_by_case_are_different_buttons() -> None:
    assert cb.decode("rc:pd:20260105") == (cb.Rc.PUBLISH_DAY, (date(2026, 1, 5),))
    assert cb.decode("rc:pD:1") == (cb.Rc.PUBLISH_DAYS_PAGE, (1,))
    assert cb.decode("rc:pd:1") is None and cb.decode("rc:pD:20260105") == (cb.Rc.PUBLISH_DAYS_PAGE, (20260105,))


def test_encoding_refuses_what_would_not_read_back() -> None:
    with pytest.raises(ValueError):
        cb.St.OPEN.encode("XF:1")  # a separator inside a value
    with pytest.raises(ValueError):
        cb.St.OPEN.encode("X" * 25)  # longer than a case number can be
    with pytest.raises(ValueError):
        cb.In.SUBMIT.encode("not-a-draft-id")
    with pytest.raises(TypeError):
        cb.Rc.BOOK.encode()


def test_each_prompt_has_its_button_and_each_button_its_prompt() -> None:
    asking = {kind for kind, prompt in prompts.PROMPTS.items() if prompt.asks}
    assert set(prompts.buttons()) == asking
    # pr:dec and pr:dcs (不予受理, the decision chosen) open the written forms of handlers.opinion; the
    # 复查 / 复核 outcomes the form of handlers.review_opinion (their prompts only answer a question asked before).
    outcomes = {"rvm", "rvk", "rvg", "rvd"}
    assert {b.verb for b in cb.Pr.area.buttons} - {"end", "dec", "dcs"} - outcomes == asking
    assert outcomes <= set(prompts.PROMPTS) - asking
    assert {str(b.verb) for b in prompts.FORMS} >= outcomes


def test_rating_buttons_carry_the_codes_the_review_handler_reads() -> None:
    (code, _) = cb.Rv.RATE.fields
    assert set(code.regex.split("|")) == set(review.RATING_CODES)


def test_areas_do_not_overlap() -> None:
    prefixes = [a.prefix for a in cb.AREAS]
    assert len(prefixes) == len(set(prefixes))
    assert all(re.fullmatch(r"[a-z]+", p) for p in prefixes)


def test_a_draft_key_of_either_make_is_a_token_and_nothing_else_is() -> None:
    keys = {new_key() for _ in range(2000)}
    assert len(keys) == 2000 and {len(k) for k in keys} == {16}
    assert all(TOKEN.read(k) == k for k in keys)
    assert TOKEN.read("0123456789abcdef0123456789abcdef") is not None  # a draft made before 0035
    for forged in ("", "x" * 15, "x" * 17, "0123456789ABCDEF0123456789ABCDEF", "a:b" * 6, "键" * 16):
        assert TOKEN.read(forged) is None, forged
