"""Who may do what: one declaration, checked in one place.

Every action a person can take on a case or on the ledger (each command,
button and conversation submit) is an :class:`Act`. A person stands to a case
in one or more :class:`Relation` s (the handler, staff of the lead unit in
scope, staff of a co-handling unit, a leader above the case's unit, an
admin, the identity custodian, the case's own petitioner, a claimant, a
follower who joined by a merge ...). :data:`POLICY` says, for each act,
which relations allow it, for a real-name case and for a confidential one.

The store computes the relations once (``StoreContext.relations``, reusing
the scope rules of ``store.routing``) and asks :func:`allows` before every
write (``StoreContext.require``); handlers ask the same place which buttons
to offer (``StoreContext.offered``). The state machine (``store.workflow``)
still says what is legal in which status and for which role: the policy
says who, the state machine says when.

The set of relations is open: a later capability (a discipline line for
reports, a reviewing body, an approving leader) adds its relation here and
names it in the rows it allows. ``ENTRY_POINTS`` ties every command and
button of the application to the act it performs (or to ``None`` where it
acts on no case or ledger: navigation, one's own drafts, help);
``tests/test_policy_matrix.py`` fails on any command or button not listed,
and ``docs/policy.md`` is generated from this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from store import routing
from store.models import Case
from store.org import Organization, Role, Staff
from store.workflow import Action


class Act(StrEnum):
    """An action a person can take on a case or on the ledger."""

    # Staff on the case card and their commands.
    READ = "read"  # the card, /case, /history, /document for staff
    ACCEPT = "accept"
    DECLINE = "decline"
    ASSIGN = "assign"
    REPLY = "reply"
    NOTE = "note"
    EXTEND = "extend"
    DECIDE = "decide"
    TRANSFER = "transfer"
    REVEAL = "reveal"
    # Supervision, co-handling, leaders.
    SUPERVISE = "supervise"
    PROGRESS = "progress"
    URGE = "urge"
    FOLLOW_UP = "followup"
    LEAD = "lead"  # take charge (领导包案)
    REDO = "redo"
    COHANDLE = "cohandle"
    COHANDLE_OFF = "cohandle_off"
    REVIEW_OPINION = "review_opinion"
    HEARING = "hearing"  # 听证: schedule it, record it held or cancelled (the review clock stops meanwhile)
    INCIDENT = "incident"  # /incident <number> <level>
    # Linked and merged cases.
    LINK = "link"
    UNLINK = "unlink"
    MERGE = "merge"
    REPEAT = "repeat"  # 重复信访: confirm (or not) that a case repeats an earlier case's matter
    # The ledger.
    REGISTER = "register"  # for a unit (no case yet)
    CODES = "codes"
    TASK_DONE = "task_done"  # a contact task marked told
    CLAIM = "claim"
    REBIND = "rebind"  # unbind a case's people from their Telegram accounts (an admin's act)
    # The petitioner's side.
    VIEW_OWN = "view_own"  # the petitioner's card and timeline
    ADD_INFO = "add_info"
    WITHDRAW = "withdraw"
    RATE = "rate"
    COMMENT = "comment"
    ACCEPT_OUTCOME = "accept_outcome"
    REQUEST_REVIEW = "request_review"
    DOCUMENT = "document"  # /document: the formal documents, which name the petitioner
    FILES = "files"  # the files of a case, downloaded from the Mini App (staff; in chat they come with the card)
    SERVE = "serve"  # /served: the service (送达) of a printed opinion recorded
    APPROVE = "approve"  # 签发: approve or return an officer's draft (store/approvals.py)


class Relation(StrEnum):
    """How a person stands to a case (a person may stand in several at once)."""

    HANDLER = "handler"  # the case is assigned to them (and in their scope)
    LEAD_STAFF = "lead_staff"  # staff of the lead unit (主办) in scope: unit, categories, recusal
    COHANDLER = "cohandler"  # staff who see the case only as a co-handling unit's (协办)
    LEADER_ABOVE = "leader_above"  # a leader of a unit above the case's unit (not the unit itself), in scope
    ADMIN = "admin"
    CUSTODIAN = "custodian"  # the identity custodian (an organisation-wide role)
    PETITIONER = "petitioner"  # the case's own petitioner (who filed it in the chat)
    CLAIMANT = "claimant"  # bound by a claim code to a person the case names
    FOLLOWER = "follower"  # petitions in the case because their duplicate was merged into it
    STAFF_ELSEWHERE = "staff_elsewhere"  # staff who cannot see the case
    STRANGER = "stranger"  # anyone else


R = Relation
#: Staff who act for the lead unit.
LEAD = frozenset({R.HANDLER, R.LEAD_STAFF, R.LEADER_ABOVE, R.ADMIN})
#: The lead unit, and a co-handling unit: reading, internal notes, progress (README, 主办 / 协办).
LEAD_AND_COHANDLERS = LEAD | {R.COHANDLER}
#: The case's own petitioners: who filed it, or claimed it with a code given to them.
OWN = frozenset({R.PETITIONER, R.CLAIMANT})
#: Everyone who petitions in the case, followers who joined by a merge included.
PETITIONERS = OWN | {R.FOLLOWER}


@dataclass(frozen=True)
class Allowed:
    """The relations that allow an act on a real-name case, and on a confidential one."""

    real: frozenset[Relation]
    confidential: frozenset[Relation]
    why: str  # in plain words, for docs/policy.md

    def relations(self, confidential: bool) -> frozenset[Relation]:
        return self.confidential if confidential else self.real


def same(relations: frozenset[Relation], why: str) -> Allowed:
    return Allowed(relations, relations, why)


#: The declaration: who may do what. Role and status still come from ``store.workflow.RULES``.
POLICY: dict[Act, Allowed] = {
    Act.READ: same(LEAD_AND_COHANDLERS | PETITIONERS,
                   "the lead unit's staff in scope, a co-handling unit's, and everyone who petitions in it"),
    Act.ACCEPT: same(LEAD, "the lead unit"),
    Act.DECLINE: same(LEAD, "the lead unit"),
    Act.ASSIGN: same(LEAD, "the lead unit"),
    Act.REPLY: same(LEAD, "the lead unit"),
    Act.NOTE: same(LEAD_AND_COHANDLERS, "the lead unit and a co-handling unit (internal notes)"),
    Act.EXTEND: same(LEAD, "the lead unit"),
    Act.DECIDE: same(LEAD, "the lead unit"),
    Act.SERVE: same(LEAD, "the lead unit, which issued the opinion"),
    Act.APPROVE: same(frozenset({R.LEAD_STAFF, R.LEADER_ABOVE}),
                      "a leader of the handling unit or above it; of those, the nearest ones (store/drafts.py)"),
    Act.TRANSFER: same(LEAD, "the lead unit"),
    Act.REVEAL: Allowed(frozenset(), frozenset({R.CUSTODIAN}), "the identity custodian, for a confidential case"),
    Act.SUPERVISE: same(frozenset({R.LEADER_ABOVE, R.ADMIN}), "a leader above the case's unit, or an admin"),
    Act.PROGRESS: same(LEAD_AND_COHANDLERS, "the lead unit and a co-handling unit"),
    Act.URGE: same(LEAD, "a leader in scope of the lead unit"),
    Act.FOLLOW_UP: same(LEAD, "the lead unit"),
    Act.LEAD: same(LEAD, "a leader in scope of the lead unit"),
    Act.REDO: same(LEAD, "a leader in scope of the lead unit"),
    Act.COHANDLE: same(LEAD, "the lead unit"),
    Act.COHANDLE_OFF: same(LEAD, "the lead unit"),
    Act.REVIEW_OPINION: same(LEAD, "the lead unit's scope; of it, only the designated reviewers (the leaders of"
                                   " the reviewing unit, reviewed_by or the parent; never an admin; above the top"
                                   " unit the outside review_body: store/review.py)"),
    Act.HEARING: same(LEAD, "the lead unit's scope; of it, only the reviewing body's staff (officers and leaders of"
                            " the reviewing unit of the current 复查 / 复核; never an admin: store/review.py)"),
    Act.INCIDENT: same(LEAD, "a leader in scope of the lead unit"),
    Act.LINK: same(LEAD, "the lead unit of both cases"),
    Act.UNLINK: same(LEAD, "the lead unit of both cases"),
    Act.MERGE: same(LEAD, "the lead unit of both cases"),
    Act.REPEAT: same(LEAD, "the lead unit of the new case; the earlier case only one they may see, never a"
                           " confidential case or a report (store/repeats.py)"),
    Act.REGISTER: same(LEAD, "staff whose scope covers the unit"),
    Act.CODES: Allowed(LEAD, frozenset({R.CUSTODIAN}),
                       "the lead unit; for a confidential case the identity custodian in scope"),
    Act.TASK_DONE: same(LEAD, "the lead unit"),
    Act.CLAIM: same(PETITIONERS | {R.STRANGER, R.STAFF_ELSEWHERE},
                    "whoever holds the code and, where a phone was registered, that phone's Telegram account;"
                    " never staff who can see the case"),
    Act.REBIND: same(frozenset({R.ADMIN}), "an admin (journaled): the people may then claim again"),
    Act.VIEW_OWN: same(PETITIONERS, "everyone who petitions in the case, followers included"),
    Act.ADD_INFO: same(PETITIONERS, "everyone who petitions in the case, followers included"),
    Act.WITHDRAW: same(OWN, "the case's own petitioners"),
    Act.RATE: same(OWN, "the case's own petitioners, not a follower"),
    Act.COMMENT: same(OWN, "the case's own petitioners, not a follower"),
    Act.ACCEPT_OUTCOME: same(OWN, "the case's own petitioners, not a follower"),
    Act.REQUEST_REVIEW: same(OWN, "the case's own petitioners, not a follower"),
    Act.DOCUMENT: same(LEAD_AND_COHANDLERS | OWN,
                       "staff who read the case and its own petitioners; never a follower (the documents name"
                       " the main petitioner)"),
    Act.FILES: same(LEAD_AND_COHANDLERS,
                    "staff who read the case (a confidential case's files under neutral names, images without"
                    " their metadata); the petitioner has their own files in their chat"),
}

#: The state machine's actions as policy acts (for the checks and the card's buttons).
OF_ACTION: dict[Action, Act] = {
    Action.ACCEPT: Act.ACCEPT,
    Action.DECLINE: Act.DECLINE,
    Action.ASSIGN: Act.ASSIGN,
    Action.REPLY: Act.REPLY,
    Action.NOTE: Act.NOTE,
    Action.EXTEND: Act.EXTEND,
    Action.DECIDE: Act.DECIDE,
    Action.TRANSFER: Act.TRANSFER,
    Action.REVEAL: Act.REVEAL,
    Action.SUPERVISE: Act.SUPERVISE,
    Action.PROGRESS: Act.PROGRESS,
    Action.URGE: Act.URGE,
    Action.FOLLOW_UP: Act.FOLLOW_UP,
    Action.LEAD: Act.LEAD,
    Action.REDO: Act.REDO,
    Action.SERVE: Act.SERVE,
    Action.COHANDLE: Act.COHANDLE,
    Action.COHANDLE_OFF: Act.COHANDLE_OFF,
    Action.REVIEW_OPINION: Act.REVIEW_OPINION,
    Action.REREVIEW_OPINION: Act.REVIEW_OPINION,
    Action.HEARING: Act.HEARING,
    Action.HEARING_END: Act.HEARING,
    Action.INCIDENT_OPEN: Act.INCIDENT,
    Action.LINK: Act.LINK,
    Action.UNLINK: Act.UNLINK,
    Action.MERGE: Act.MERGE,
    Action.REPEAT: Act.REPEAT,
    Action.REGISTER: Act.REGISTER,
    Action.CODES: Act.CODES,
    Action.INFORM: Act.TASK_DONE,
    Action.CLAIM: Act.CLAIM,
    Action.REBIND: Act.REBIND,
    Action.ADD_INFO: Act.ADD_INFO,
    Action.WITHDRAW: Act.WITHDRAW,
    Action.RATE: Act.RATE,
    Action.COMMENT: Act.COMMENT,
    Action.CLOSE: Act.ACCEPT_OUTCOME,
    Action.REQUEST_REVIEW: Act.REQUEST_REVIEW,
    Action.REQUEST_REREVIEW: Act.REQUEST_REVIEW,
}

#: Every command and button of the application (``bot/app.py``'s handler table) and the act it performs;
#: None where it acts on no case or ledger (help, language, navigation, one's own drafts, schedules,
#: screening reports and incidents without a case, whose own services check their roles).
ENTRY_POINTS: dict[str, Act | None] = {
    # Commands.
    "/start": None, "/help": None, "/myid": None, "/language": None, "/new": None, "/cancel": None,
    "/mycases": Act.VIEW_OWN, "/status": Act.VIEW_OWN,
    "/accept": Act.ACCEPT, "/decline": Act.DECLINE, "/assign": Act.ASSIGN, "/reply": Act.REPLY,
    "/note": Act.NOTE, "/extend": Act.EXTEND, "/decide": Act.DECIDE, "/transfer": Act.TRANSFER,
    "/case": Act.READ, "/reveal": Act.REVEAL, "/queue": Act.READ,
    "/review": Act.REVIEW_OPINION, "/hearing": Act.HEARING, "/history": Act.READ, "/alerts": None, "/stats": None, "/export": None,
    "/supervise": Act.SUPERVISE, "/progress": Act.PROGRESS, "/urge": Act.URGE, "/followup": Act.FOLLOW_UP,
    "/lead": Act.LEAD, "/redo": Act.REDO, "/cohandle": Act.COHANDLE,
    "/link": Act.LINK, "/unlink": Act.UNLINK, "/merge": Act.MERGE, "/repeat": Act.REPEAT,
    "/screening": None, "/dispute": None,
    "/incident": Act.INCIDENT, "/incident_close": None, "/incident_drill": None,
    "/claim": Act.CLAIM, "/find": Act.READ, "/codes": Act.CODES, "/rebind": Act.REBIND,
    "/document": Act.DOCUMENT, "/app": None,
    "/register": Act.REGISTER,
    "/reception": None, "/reception_add": None, "/reception_list": None,
    # One's own verification, and staff managed in chat (store/staffing.py checks the administrator itself).
    "/verify": None, "/staff": None, "/served": Act.SERVE,
    # Buttons (area:verb of handlers/callbacks.py).
    "lang": None, "my:page": None, "my:open": Act.VIEW_OWN,
    "em:wd": Act.WITHDRAW, "em:wdy": Act.WITHDRAW,
    "st:acc": Act.ACCEPT, "st:open": Act.READ, "st:me": Act.ASSIGN, "q": Act.READ,
    "sf:x": None, "sf:as": Act.ASSIGN, "sf:ap": Act.ASSIGN, "sf:rp": Act.REPLY, "sf:rb": Act.REPLY,
    "sf:cr": Act.REPLY, "sf:cs": Act.REPLY, "sf:ex": Act.EXTEND, "sf:dc": Act.DECIDE, "sf:tr": Act.TRANSFER,
    "sf:tu": Act.TRANSFER,
    "pr:end": None, "pr:dec": Act.DECLINE, "pr:rep": Act.REPLY, "pr:nt": Act.NOTE, "pr:ext": Act.EXTEND,
    "pr:dcs": Act.DECIDE, "pr:tr": Act.TRANSFER, "pr:add": Act.ADD_INFO, "pr:rvc": Act.COMMENT,
    "pr:rvq": Act.REQUEST_REVIEW, "pr:rrq": Act.REQUEST_REVIEW, "pr:rvm": Act.REVIEW_OPINION,
    "pr:rvk": Act.REVIEW_OPINION, "pr:rvg": Act.REVIEW_OPINION, "pr:rvd": Act.REVIEW_OPINION, "pr:pg": Act.PROGRESS,
    "pr:svi": Act.SUPERVISE, "pr:fui": Act.FOLLOW_UP, "pr:rdo": Act.REDO, "pr:chn": Act.COHANDLE,
    "sv:ur": Act.URGE, "sv:ld": Act.LEAD, "sv:sv": Act.SUPERVISE, "sv:fu": Act.FOLLOW_UP,
    "sv:ch": Act.COHANDLE, "sv:cu": Act.COHANDLE, "sv:cx": Act.COHANDLE_OFF,
    "rv:rate": Act.RATE, "rv:acc": Act.ACCEPT_OUTCOME, "ld:ack": None,
    "rv:sp": Act.REVIEW_OPINION, "rv:so": Act.REVIEW_OPINION, "rv:sx": Act.REVIEW_OPINION,
    "pr:hrs": Act.HEARING, "rv:hh": Act.HEARING, "rv:hc": Act.HEARING,
    "in:back": None, "in:cancel": None, "in:cont": None, "in:restart": None, "in:done": None, "in:cat": None,
    "in:unit": None, "in:here": None, "in:id": None, "in:edit": None, "in:submit": None,
    "rc:ls": None, "rc:s": None, "rc:b": None, "rc:l": Act.VIEW_OWN, "rc:my": None, "rc:x": None, "rc:xy": None,
    "rc:lv": None, "rc:v": None, "rc:o": None, "rc:cx": None, "rc:pL": None, "rc:pd": None, "rc:pD": None,
    "rc:dt": None, "rc:ps": None, "rc:pe": None, "rc:pw": None, "rc:pb": None, "rc:pB": None, "rc:pu": None,
    "rc:pk": None, "rc:pn": None, "rc:pp": None, "rc:pc": None,
    # Recording an outcome and cancelling a session (forms of one typed step): 取消 and their never-shown Submit.
    "rc:oc": None, "rc:os": None, "rc:cxc": None, "rc:cxs": None,
    # The reception booking's form (handlers/reception.py): steps of one's own draft (its case buttons are rc:l).
    "rb:b": None, "rb:x": None, "rb:ok": None,
    "sc:u": None, "sc:f": None, "sc:n": None, "sc:ny": None, "sc:up": None, "sc:t": None, "sc:r": None,
    "sc:s": None, "sc:b": None, "sc:x": None, "sc:ok": None,
    "ic:t": None, "ic:up": None, "ic:v": None,
    "lg:t": Act.READ, "lg:d": Act.TASK_DONE,
    "rg:back": None, "rg:cancel": None, "rg:cont": None, "rg:restart": None, "rg:ch": None, "rg:today": None,
    "rg:who": None, "rg:skip": None, "rg:more": None, "rg:cnt": None, "rg:cat": None, "rg:unit": None,
    "rg:here": None, "rg:files": None, "rg:sec": None, "rg:edit": None, "rg:submit": Act.REGISTER,
    "vf:go": None,
    "ap:ok": Act.APPROVE, "ap:no": Act.APPROVE,
    "re:ok": Act.REPEAT, "re:no": Act.REPEAT,
    # The written opinion's and the decline's form (handlers/opinion.py): steps of one's own draft;
    # 出具 is the act (DECIDE or DECLINE, by the draft), checked by CaseService.act.
    "op:r": None, "op:d": None, "op:nd": None, "op:k": None, "op:e": None, "op:b": None, "op:x": None,
    "op:ok": None,
    # The 复查 / 复核 opinion's form (handlers/review_opinion.py): steps of one's own draft; its last button keeps
    # the opinion for the collective study (ReviewService.draft_opinion checks REVIEW_OPINION), rv:so issues it.
    "ro:k": None, "ro:e": None, "ro:b": None, "ro:x": None, "ro:ok": None,
    "sm:ls": None, "sm:add": None, "sm:o": None, "sm:r": None, "sm:ub": None, "sm:ut": None, "sm:cs": None,
    "sm:ct": None, "sm:ca": None, "sm:rm": None, "sm:ry": None, "sm:nr": None, "sm:nb": None, "sm:nu": None,
}


def allows(act: Act, relations: frozenset[Relation], confidential: bool = False) -> bool:
    """Does one of ``relations`` allow ``act`` (on a confidential case when ``confidential``)?"""
    return bool(POLICY[act].relations(confidential) & relations)


def staff_relations(org: Organization, staff: Staff, case: Case) -> frozenset[Relation]:
    """How a staff member stands to a case, by the scope rules of ``store.routing``."""
    found: set[Relation] = set()
    lead = routing.can_handle(org, staff, case.unit, case.category, case.confidential)
    if lead:
        found.add(R.LEAD_STAFF)
        if case.assignee_id == staff.telegram_id:
            found.add(R.HANDLER)
        if staff.role is Role.LEADER and any(
            u != case.unit and case.unit in org.subtree(u) for u in staff.units
        ):
            found.add(R.LEADER_ABOVE)
        if staff.role is Role.ADMIN:
            found.add(R.ADMIN)
    elif routing.can_cohandle(org, staff, case.unit, case.category, case.confidential, case.cohandlers):
        found.add(R.COHANDLER)
    else:
        found.add(R.STAFF_ELSEWHERE)
    if staff.custodian:  # the identity custodian's role is the organisation's, wherever their units are
        found.add(R.CUSTODIAN)
    return frozenset(found)


def unit_relations(org: Organization, staff: Staff | None, unit: str | None) -> frozenset[Relation]:
    """How a staff member stands to a unit they would register a matter for (no case yet)."""
    if staff is None:
        return frozenset({R.STRANGER})
    if unit is not None and org.find_unit(unit) is not None and org.covers(staff, unit):
        return frozenset({R.LEAD_STAFF} | ({R.ADMIN} if staff.role is Role.ADMIN else set()))
    return frozenset({R.STAFF_ELSEWHERE})


#: The refusal's code where an act has its own words for it (else the relation's, see StoreContext.refusal_code).
REFUSAL: dict[Act, str] = {
    Act.SUPERVISE: "supervise_above",
    Act.APPROVE: "approval_not_yours",
    Act.CLAIM: "claim_staff_sees",
    Act.REVEAL: "custodian_only",
}

#: Relations that see the case as staff (a claim by them is refused, whatever the code).
SEES = frozenset({R.HANDLER, R.LEAD_STAFF, R.COHANDLER, R.LEADER_ABOVE, R.ADMIN, R.CUSTODIAN})


# ------------------------------------------------------------------ documentation

#: How each relation reads in docs/policy.md.
RELATION_WORDS: dict[Relation, str] = {
    R.HANDLER: "handler (assigned)",
    R.LEAD_STAFF: "lead-unit staff in scope (主办)",
    R.COHANDLER: "co-handling unit's staff (协办)",
    R.LEADER_ABOVE: "leader above the unit",
    R.ADMIN: "admin",
    R.CUSTODIAN: "identity custodian",
    R.PETITIONER: "own petitioner",
    R.CLAIMANT: "claimant (bound by code)",
    R.FOLLOWER: "follower (joined by /merge)",
    R.STAFF_ELSEWHERE: "staff who cannot see it",
    R.STRANGER: "anyone else",
}


def markdown_table() -> str:
    """The declaration as a Markdown table (docs/policy.md holds it; a test checks it is current).

    ✓ allowed on both real-name and confidential cases; R real-name only; C confidential only; blank: refused.
    """
    relations = list(Relation)
    head = "| act | " + " | ".join(RELATION_WORDS[r] for r in relations) + " | who, in words |"
    rule = "|---|" + "---|" * len(relations) + "---|"
    lines = [head, rule]
    for act, allowed in POLICY.items():
        cells = []
        for r in relations:
            real, conf = r in allowed.real, r in allowed.confidential
            cells.append("✓" if real and conf else "R" if real else "C" if conf else "")
        lines.append(f"| `{act.value}` | " + " | ".join(cells) + f" | {allowed.why} |")
    commands: dict[Act, list[str]] = {}
    for name, entry in ENTRY_POINTS.items():
        if entry is not None:
            commands.setdefault(entry, []).append(f"`{name}`")
    lines += ["", "| act | commands and buttons (area:verb) |", "|---|---|"]
    lines += [f"| `{act.value}` | {', '.join(commands.get(act, [])) or '(a store call only)'} |" for act in POLICY]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m store.policy: the table for docs/policy.md
    print(markdown_table(), end="")
