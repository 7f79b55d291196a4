"""Cases, timelines and drafts rendered as Telegram HTML messages.

User text enters a message only through :func:`handlers.i18n.t`, which
escapes it; long user text is split before escaping so that no message
exceeds Telegram's 4,096 characters and no entity is cut in half.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from handlers.i18n import Html, escape, t
from store.event_data import AddInfoData, data_of
from store.links import RelatedCases
from store.models import Case, Channel, DraftData, Event
from store.org import Organization
from store.repeats import Candidate
from store.review import Stage, current_deadline, petitioner_window
from store.supervision import WarnedCase, WarningLevel
from store.workflow import Action

# Telegram allows 4,096 characters after entity parsing; leave room for a header.
CHUNK = 3500


def event_label(event: Event) -> str:
    """The catalog key naming an event: a petitioner's answer to staff is not "additional material"."""
    if event.action == Action.ADD_INFO and data_of(event, AddInfoData).reply:
        return "event.add_info_reply"
    return f"event.{event.action}"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji often counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(line: str, limit: int) -> int:
    """How many characters of ``line`` fit into ``limit`` UTF-16 units (at least 1)."""
    if utf16_len(line) <= limit:
        return len(line)
    used = 0
    for index, char in enumerate(line):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return max(index, 1)
    return len(line)


def split_text(text: str, limit: int = CHUNK, first: int | None = None) -> list[str]:
    """Split plain text at line breaks (or hard, when a line is too long).

    Sizes are counted in UTF-16 units, as Telegram counts them. ``first`` is
    a smaller limit for the first part, which shares its message with a header.
    """
    parts: list[str] = []
    current = ""

    def room() -> int:
        return first if first is not None and not parts else limit

    for line in text.splitlines(keepends=True):
        while utf16_len(current) + utf16_len(line) > room():
            if current:
                parts.append(current)
                current = ""
                continue
            cut = _cut(line, room())
            parts.append(line[:cut])
            line = line[cut:]
        current += line
    if current or not parts:
        parts.append(current)
    return parts


#: Telegram HTML as tokens: a tag, an entity, a line break, or one character of text.
_HTML_TOKEN = re.compile(r"<[^>]*>|&[#\w]+;|\n|[^<&\n]|[<&]")
_TAG_NAME = re.compile(r"</?\s*([\w-]+)")


def _closers(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def split_html(text: str, limit: int = CHUNK) -> list[Html]:
    """Cut Telegram HTML into parts of at most ``limit`` UTF-16 units, each valid on its own.

    Cuts at a line break where one falls in the part, else between two
    characters; never inside a tag or an entity. Tags open at a cut are
    closed at the end of the part and opened again at the start of the next.
    The length counted is the HTML source's, an upper bound of what
    Telegram counts once it has parsed the entities.
    """
    if utf16_len(text) <= limit:
        return [Html(text)]
    parts: list[str] = []
    tokens: list[str] = []
    size = 0
    base = 0  # tokens at the start of the part that only reopen tags
    stack: list[tuple[str, str]] = []
    # After the last line break in ``tokens``: (index, open tags then).
    last_break: tuple[int, list[tuple[str, str]]] | None = None

    def emit(upto: int, open_tags: list[tuple[str, str]]) -> None:
        nonlocal tokens, size, base, last_break
        part = "".join(tokens[:upto]).rstrip("\n") + _closers(open_tags)
        if re.sub(r"<[^>]*>", "", part).strip():
            parts.append(part)
        rest = tokens[upto:]
        while rest and rest[0] == "\n":
            rest = rest[1:]
        tokens = [tag for _, tag in open_tags] + rest
        base = len(open_tags)
        size = sum(utf16_len(tok) for tok in tokens)
        last_break = None

    for token in _HTML_TOKEN.findall(text):
        after = list(stack)
        if token.startswith("<"):
            match = _TAG_NAME.match(token)
            name = match.group(1).lower() if match else ""
            if token.startswith("</"):
                for index in range(len(after) - 1, -1, -1):
                    if after[index][0] == name:
                        del after[index]
                        break
            elif name:
                after.append((name, token))
        width = utf16_len(token)
        while size + width + utf16_len(_closers(after)) > limit:
            if last_break is not None and last_break[0] > base:
                emit(*last_break)
            elif len(tokens) > base:
                emit(len(tokens), list(stack))
            else:
                break  # the open tags alone fill the part: nothing better can be done
        tokens.append(token)
        size += width
        stack = after
        if token == "\n":
            last_break = (len(tokens), list(stack))
    if tokens:
        emit(len(tokens), list(stack))
    return [Html(part) for part in parts] or [Html(text[:0])]


def pack(blocks: list[Html], limit: int = CHUNK, separator: str = "\n\n") -> list[Html]:
    """Join blocks into as few messages as fit ``limit`` UTF-16 units; a block too long alone is cut."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in split_html(block, limit):
            if current and utf16_len(current) + utf16_len(separator) + utf16_len(piece) > limit:
                messages.append(current)
                current = ""
            current = f"{current}{separator}{piece}" if current else piece
    if current or not messages:
        messages.append(current)
    return [Html(m) for m in messages]


def day(value: date | str, lang: str) -> str:
    """A date as people read it: ``2026年12月21日``, ``21 December 2026`` (the one formatter of dates shown to people).

    Chat texts, cards, notices, receipts, documents and the Mini App's texts all take it;
    data for machines (JSON fields, exports, callback data) keeps ISO dates. An ISO string
    (a date kept in an event's data) is read first; anything else is shown as it is.
    """
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    return str(t(lang, "date.long", y=value.year, d=value.day,
                 month=t(lang, f"date.month.m{value.month}")))


def moment(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def unit_name(org: Organization, unit_id: str, lang: str) -> str:
    unit = org.find_unit(unit_id)
    return unit.name.get(lang) if unit else unit_id


def item_name(lang: str, indicator: str | None, source: str | None) -> Html:
    """An assessment item's name (考核项目): its indicator's, or its count's (store/assessment.py)."""
    return t(lang, f"webapp.ind_{indicator}") if indicator else t(lang, f"webapp.count_{source}")


def unit_path(org: Organization, unit_id: str, lang: str) -> str:
    return org.unit_path(unit_id, lang) if org.find_unit(unit_id) else unit_id


def category_name(org: Organization, category_id: str, lang: str) -> str:
    category = org.find_category(category_id)
    return category.name.get(lang) if category else category_id


def channel_name(org: Organization, channel: str, lang: str) -> str:
    """A channel's name: the chat's own as ``[channels] telegram`` names it, else the catalog's (网上（本平台）, 来信 ...)."""
    if channel == "telegram" and org.channels.telegram is not None:
        return org.channels.telegram.get(lang)
    return str(t(lang, f"ledger.channel_{channel}"))


def status_name(status: str, lang: str) -> Html:
    return t(lang, f"status.{status}")


def petitioner_label(case: Case, lang: str) -> str:
    """The petitioner as staff may see them: a code name when confidential."""
    if case.confidential or not case.petitioner_name:
        return t(lang, "field.pseudonym", code=case.pseudonym)
    return case.petitioner_name


# Text of each deadline a case runs against (which one applies is the store's rule).
DEADLINE_TEXTS = {
    Stage.ACCEPT: "cases.accept_due",
    Stage.ANSWER: "cases.answer_due",
    Stage.REVIEW: "review.line_review_due",
    Stage.REREVIEW: "review.line_rereview_due",
}


def deadline_line(case: Case, lang: str) -> Html:
    """The deadline in plain words: the staff's, else the petitioner's window after an opinion."""
    current = current_deadline(case)
    if current is not None:
        stage, due = current
        return t(lang, DEADLINE_TEXTS[stage], date=day(due, lang))
    window = petitioner_window(case)
    if window is not None and case.review_level == 0:
        if case.rating is None and case.rating_due is not None:
            return t(lang, "review.line_rate_by", date=day(case.rating_due, lang), review=day(window, lang))
        return t(lang, "review.line_review_request_by", date=day(window, lang))
    if window is not None:
        return t(lang, "review.line_rereview_request_by", date=day(window, lang))
    if case.final:
        return t(lang, "review.line_final")
    return Html("")


def case_flags(case: Case, lang: str) -> Html:
    """Repeat and collective petition marks for the staff's card."""
    lines = []
    if case.repeat_of:
        lines.append(t(lang, "review.flag_repeat", count=case.repeat_count, number=case.repeat_of,
                       current=case.number))
    elif case.repeat_count:  # a confidential case: counted, never linked to the other cases
        lines.append(t(lang, "review.flag_repeat_count", count=case.repeat_count))
    if case.collective_alert is not None:
        lines.append(t(lang, "review.flag_collective", alert=case.collective_alert))
    return Html("\n".join(lines))


#: How much of a proposed case's subject its card line shows.
REPEAT_SUBJECT_MAX = 60


def repeat_lines(repeats: Sequence[Candidate], lang: str) -> Html:
    """可能为重复信访：XF-…（标题）, a line per proposed earlier case (empty when none)."""
    lines = []
    for c in repeats:
        subject = c.subject if len(c.subject) <= REPEAT_SUBJECT_MAX else c.subject[:REPEAT_SUBJECT_MAX] + "…"
        lines.append(t(lang, "repeat.card_candidate", number=c.number, subject=subject))
    return Html("\n".join(lines))


def warning_mark(level: WarningLevel, lang: str) -> Html:
    """The marker and word of a warning level (🟠 警告); empty when normal."""
    return Html("") if level is WarningLevel.NORMAL else t(lang, f"warning.{level.value}")


def warning_prefix(level: WarningLevel, lang: str) -> str:
    """Before a case's line in a list: "🟠 警告 · ", nothing when normal."""
    return "" if level is WarningLevel.NORMAL else str(t(lang, "warning.list_mark", level=warning_mark(level, lang)))


def warning_line(warned: WarnedCase, lang: str) -> Html:
    """The card's line on the graded warning (store.supervision), empty when normal."""
    if warned.level is WarningLevel.NORMAL:
        return Html("")
    current = current_deadline(warned.case)
    if current is None:
        return Html("")
    level = warning_mark(warned.level, lang)
    if warned.level is WarningLevel.OVERDUE:
        return t(lang, "warning.card_line_overdue", level=level, due=day(current[1], lang))
    stage = t(lang, f"review.stage_{current[0].value}")
    return t(lang, "warning.card_line", level=level, stage=stage, used=warned.used or 0)


def cohandler_line(case: Case, org: Organization, lang: str) -> Html:
    """The card's line naming the co-handling units (协办); empty without them. Staff only, never the petitioner."""
    if not case.cohandlers:
        return Html("")
    names = str(t(lang, "cohandle.separator")).join(unit_name(org, u, lang) for u in case.cohandlers)
    return t(lang, "cohandle.card_line", units=names)


def related_lines(related: RelatedCases | None, lang: str) -> Html:
    """The card's lines on related cases: links, merged into, merged from (empty when none)."""
    if related is None or related.empty:
        return Html("")

    def numbers(found: list[str]) -> str:
        return str(t(lang, "links.separator")).join(str(t(lang, "links.number", number=n)) for n in found)

    lines: list[str] = []
    if related.merged_into is not None:
        lines.append(t(lang, "links.card_merged_into", number=related.merged_into))
    if related.merged_from:
        lines.append(t(lang, "links.card_merged_from", numbers=Html(numbers(related.merged_from))))
    if related.links:
        lines.append(t(lang, "links.card_links", numbers=Html(numbers(related.links))))
    return Html("\n".join(lines))


def channel_line(case: Case, lang: str) -> Html:
    """The card's line on how a registered case came in (empty for a case from the chat)."""
    if case.channel is Channel.TELEGRAM:
        return Html("")
    received = day(case.received_on, lang) if case.received_on else ""
    line = t(lang, "ledger.card_channel", channel=t(lang, f"ledger.channel_{case.channel}"), date=received)
    if case.external_ref:  # a transfer's reference number, else the number of an imported ledger's row
        key = "ledger.card_external_ref" if case.channel is Channel.TRANSFER else "channels.card_ledger_ref"
        line = Html(line + t(lang, key, ref=case.external_ref))
    return line


def registered_by_line(case: Case, org: Organization, lang: str) -> Html:
    """The card's line naming the staff member who registered the case (empty for a case from the chat)."""
    if case.registered_by is None:
        return Html("")
    staff = org.staff_member(case.registered_by)
    return t(lang, "ledger.card_registered_by", name=staff.name if staff else "—")


def case_card(
    case: Case, org: Organization, lang: str, *, header: Html, attachments: int,
    warned: WarnedCase | None = None, cohandler: bool = False, related: RelatedCases | None = None,
    repeats: Sequence[Candidate] = (),
) -> list[Html]:
    """The staff's case card: header and facts, then the details in as many parts as needed.

    ``cohandler``: the reader sees the case as a co-handling unit's staff (协办), and is told so.
    ``repeats``: earlier cases the system proposes as the same matter (store/repeats.py), undecided.
    """
    facts = t(
        lang,
        "staff.card",
        category=category_name(org, case.category, lang),
        unit=unit_path(org, case.unit, lang),
        petitioner=petitioner_label(case, lang),
        subject=case.subject,
        status=status_name(case.status.value, lang),
        deadline=deadline_line(case, lang),
        attachments=t(lang, "field.attachments_count", count=attachments),
    )
    if not case.confidential and case.petitioner_phone:
        facts = Html(facts + "\n" + t(lang, "staff.phone", phone=case.petitioner_phone))
    if not case.confidential and case.channel is Channel.TELEGRAM:  # checked against the roster when filed
        facts = Html(facts + "\n" + (
            t(lang, "verify.card_verified", employee_no=case.employee_no,
              unit=unit_name(org, case.employee_unit or "", lang)) if case.employee_no
            else t(lang, "verify.card_unverified")))
    # How a registered case came in, and who registered it (store/ledger.py).
    if case.channel is not Channel.TELEGRAM:
        facts = Html(facts + "\n" + channel_line(case, lang) + "\n" + registered_by_line(case, org, lang))
    # The optional fields of the intake (collective petitions, the outcome asked for).
    if case.people:
        facts = Html(facts + "\n" + t(lang, "field.row", label=t(lang, "field.people"), value=case.people))
    if case.desired_outcome:
        facts = Html(facts + "\n" + t(lang, "field.row", label=t(lang, "field.desired"), value=case.desired_outcome))
    flags = case_flags(case, lang)
    if flags:
        facts = Html(facts + "\n" + flags)
    proposed = repeat_lines(repeats, lang)
    if proposed:
        facts = Html(facts + "\n" + proposed)
    warning = warning_line(warned, lang) if warned is not None else Html("")
    if warning:
        facts = Html(facts + "\n" + warning)
    if warned is not None and warned.order is not None:
        order = warned.order
        leader = org.staff_member(order.leader_id)
        name = leader.name if leader else "—"
        if order.reason is not None:
            line = t(lang, "supervision.card_line_lifted", name=name, due=day(order.due, lang),
                     reason=t(lang, f"supervision.card_reason_{order.reason}"))
        else:
            key = "supervision.card_line_reported" if order.progress_at is not None else "supervision.card_line"
            line = t(lang, key, name=name, due=day(order.due, lang), instruction=order.instruction)
        facts = Html(facts + "\n" + line)
    if case.lead_id is not None:
        leader = org.staff_member(case.lead_id)
        facts = Html(facts + "\n" + t(lang, "supervision.card_lead", name=leader.name if leader else "—"))
    if case.cohandlers:
        facts = Html(facts + "\n" + cohandler_line(case, org, lang))
    if cohandler:
        facts = Html(facts + "\n" + t(lang, "cohandle.card_mark", lead=unit_name(org, case.unit, lang)))
    relations = related_lines(related, lang)
    if relations:
        facts = Html(facts + "\n" + relations)
    title = t(lang, "staff.card_title", number=case.number)
    head = Html(f"{header}\n{title}\n{facts}\n\n")
    parts = split_text(case.details, first=max(CHUNK - utf16_len(head), 500))
    first = Html(head + t(lang, "staff.card_details", details=parts[0]))
    rest = [
        t(lang, "staff.card_details_part", part=index, details=part)
        for index, part in enumerate(parts[1:], start=2)
    ]
    return [first, *rest]


def timeline(events: list[Event], lang: str, tz: ZoneInfo) -> Html:
    lines = [t(lang, "cases.timeline_title")]
    for event in events:
        lines.append(
            t(lang, "cases.timeline_item", date=moment(event.at, tz), what=t(lang, event_label(event)))
        )
    return Html("\n".join(lines))


def case_view(case: Case, events: list[Event], lang: str, tz: ZoneInfo) -> Html:
    """What the petitioner sees of their own case: status, deadline, dated record."""
    head = t(
        lang,
        "cases.view",
        number=case.number,
        subject=case.subject,
        status=status_name(case.status.value, lang),
        deadline=deadline_line(case, lang),
    )
    return Html(head.rstrip() + "\n\n" + timeline(events, lang, tz))


def draft_summary(
    draft: DraftData, org: Organization, lang: str, *, name: str, pseudonym: str
) -> list[Html]:
    """The review screen: every field the petitioner entered, escaped, in parts."""
    if draft.confidential:
        identity = t(lang, "field.confidential", pseudonym=t(lang, "field.pseudonym", code=pseudonym))
    elif draft.phone:
        identity = t(lang, "intake.real_name_phone", name=name, phone=draft.phone)
    else:
        identity = t(lang, "field.real_name", name=name)
    rows = [
        (t(lang, "field.category"), category_name(org, draft.category or "", lang)),
        (t(lang, "field.unit"), unit_path(org, draft.unit or "", lang)),
        (t(lang, "field.subject"), draft.subject or ""),
        (t(lang, "field.attachments"), t(lang, "field.attachments_count", count=len(draft.attachments))),
        (t(lang, "field.identity"), identity),
    ]
    if draft.people:
        rows.append((t(lang, "field.people"), str(draft.people)))
    if draft.desired_outcome:
        rows.append((t(lang, "field.desired"), draft.desired_outcome))
    facts = "\n".join(t(lang, "field.row", label=label, value=value) for label, value in rows)
    # The facts share the first message with the details: leave them their room
    # (their escaped length is an upper bound of what Telegram counts).
    parts = split_text(draft.details or "", first=max(CHUNK - utf16_len(facts), 500))
    first = Html(f"{facts}\n" + t(lang, "field.details_block", details=parts[0]))
    return [first, *(escape(part) for part in parts[1:])]
