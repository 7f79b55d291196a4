"""The group-incident plan (群体性事件处置预案) in Telegram: /incident, /incident_close, /incident_drill.

Who may open, tick, change the level or close, and who is told, are the
store's (``store.incidents``); this module parses the commands, draws the
checklist with its buttons (one per step not yet done) and words the notices.
A drill (演练) is marked as one in every message that shows it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.common import Context, Handler, answer_query, deps, send, send_list, show, staff_caller
from handlers.fallback import stale_button
from handlers.i18n import Html, t
from handlers.refusals import answers_refusals
from handlers.render import moment, split_text, unit_name
from store.incidents import Incident, IncidentService
from store.models import OutboxItem
from store.notices import IncidentParams, params_of
from store.org import Organization
from store.services import Services

Rendered = list[tuple[Html, InlineKeyboardMarkup | None]]
LIST_BUTTONS = 10
ID_DIGITS = 12
NOTE_SHOWN = 200  # a note as the checklist shows it (12 steps must fit one message)


def level_name(org: Organization, level: int, lang: str) -> str:
    entry = org.incident_level(level)
    return entry.name.get(lang) if entry is not None else t(lang, "incident.level_number", level=level)


def _staff_name(org: Organization, staff_id: int | None) -> str:
    staff = org.staff_member(staff_id) if staff_id is not None else None
    return staff.name if staff is not None else "—"


def _source(incident: Incident, org: Organization, lang: str) -> Html:
    unit = unit_name(org, incident.unit, lang) if incident.unit and org.find_unit(incident.unit) else "—"
    if incident.is_drill:
        return t(lang, "incident.source_drill", id=incident.id, unit=unit, people=incident.people)
    key = "incident.source_case" if incident.source_kind == "case" else "incident.source_dispute"
    return t(lang, key, id=incident.id, ref=incident.source_ref or "", unit=unit, people=incident.people)


def _title(incident: Incident, org: Organization, lang: str) -> Html:
    key = "incident.title_drill" if incident.is_drill else "incident.title"
    return t(lang, key, level=level_name(org, incident.level, lang))


def checklist(incident: Incident, org: Organization, lang: str, tz: ZoneInfo, head: Html | None = None) -> Html:
    """The incident and its current level's checklist: ✅ with who and when, ⬜ still to do."""
    lines = [head] if head else []
    lines += [_title(incident, org, lang), _source(incident, org, lang)]
    entry = org.incident_level(incident.level)
    steps = entry.steps if entry is not None else ()
    done = sum(1 for n in range(1, len(steps) + 1) if incident.tick_of(incident.level, n))
    lines.append(t(lang, "incident.steps_head", done=done, total=len(steps)))
    for n, step in enumerate(steps, start=1):
        tick = incident.tick_of(incident.level, n)
        if tick is None:
            lines.append(t(lang, "incident.step_open", n=n, text=step.get(lang)))
            continue
        line = t(lang, "incident.step_done", n=n, text=step.get(lang), name=_staff_name(org, tick.done_by),
                 when=moment(tick.done_at, tz))
        if tick.note:
            line = t(lang, "incident.step_note", line=line, note=tick.note[:NOTE_SHOWN])
        lines.append(line)
    if not incident.is_open:
        lines.append(t(lang, "incident.closed_line", name=_staff_name(org, incident.closed_by),
                       when=moment(incident.closed_at, tz) if incident.closed_at else "",
                       summary=split_text(incident.summary or "")[0][:1500]))
    elif done == len(steps):
        lines.append(t(lang, "incident.all_done", id=incident.id))
    return Html("\n".join(lines))


def checklist_markup(
    incident: Incident, incidents: IncidentService, lang: str, viewer: int
) -> InlineKeyboardMarkup | None:
    """A button per step still to do; the raise button for whom the store lets raise; refresh. None once closed."""
    if not incident.is_open:
        return None
    org = incidents.org
    entry = org.incident_level(incident.level)
    rows: list[list[InlineKeyboardButton]] = []
    for n, step in enumerate(entry.steps if entry is not None else (), start=1):
        if incident.tick_of(incident.level, n) is None:
            label = t(lang, "incident.tick_button", n=n, text=step.get(lang))
            rows.append([kb.button(label, cb.Ic.TICK.encode(incident.id, incident.level, n))])
    above = org.incident_level_above(incident.level)
    last: list[InlineKeyboardButton] = []
    if above is not None and incidents.may_raise(viewer, incident):
        last.append(kb.button(t(lang, "incident.raise_button", level=above.name.get(lang)),
                              cb.Ic.RAISE.encode(incident.id, above.level)))
    last.append(kb.button(t(lang, "incident.refresh_button"), cb.Ic.VIEW.encode(incident.id)))
    rows.append(last)
    return kb.markup(rows)


def incident_list(
    incidents: list[Incident], org: Organization, lang: str
) -> tuple[list[Html], InlineKeyboardMarkup | None]:
    """/incident: real incidents first (most serious first), then the drills under their own heading."""
    real = [i for i in incidents if not i.is_drill]
    drills = [i for i in incidents if i.is_drill]
    if not incidents:
        return [t(lang, "incident.list_empty")], None
    lines = [t(lang, "incident.list_title", count=len(real))]
    if not real:
        lines.append(t(lang, "incident.list_none_real"))

    def item(incident: Incident) -> Html:
        entry = org.incident_level(incident.level)
        total = len(entry.steps) if entry is not None else 0
        done = sum(1 for n in range(1, total + 1) if incident.tick_of(incident.level, n))
        return t(lang, "incident.list_item", level=level_name(org, incident.level, lang),
                 source=_source(incident, org, lang), done=done, total=total)

    lines += [item(i) for i in real]
    if drills:
        lines.append(t(lang, "incident.list_drills", count=len(drills)))
        lines += [item(i) for i in drills]
    shown = (real + drills)[:LIST_BUTTONS]
    buttons = [kb.button(t(lang, "incident.open_button_drill" if i.is_drill else "incident.open_button", id=i.id),
                         cb.Ic.VIEW.encode(i.id)) for i in shown]
    return lines, kb.markup(kb.grid(buttons, 3))


# ------------------------------------------------------------- commands


def _words(update: Update) -> list[str]:
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    return text.split(maxsplit=4)[1:]


def _number(word: str) -> int | None:
    word = word.removeprefix("#")
    return int(word) if word.isdigit() and len(word) <= ID_DIGITS else None


def _level(word: str) -> int | None:
    word = word.removesuffix("级")
    return int(word) if word.isdigit() and len(word) <= 2 else None


@answers_refusals()
async def incident(update: Update, context: Context) -> None:
    """/incident [<id> [level <n> | step <n> [note]] | <case number> <level>]."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    words = _words(update)
    if not words:
        blocks, markup = incident_list(await d.incidents.open_incidents(actor), d.org, lang)
        await send_list(update, context, blocks, markup, separator="\n")
        return
    incident_id = _number(words[0])
    if incident_id is not None:
        if len(words) == 1:
            found = await d.incidents.get(actor, incident_id)
            await send(update, context, checklist(found, d.org, lang, d.tz),
                       checklist_markup(found, d.incidents, lang, actor.id or 0))
            return
        verb = words[1].lower()
        number = _level(words[2]) if len(words) > 2 else None
        if verb in ("level", "级别", "升级") and number is not None and len(words) == 3:
            found = await d.incidents.set_level(actor, incident_id, number)
            head = t(lang, "incident.level_done", id=found.id, level=level_name(d.org, found.level, lang))
            await send(update, context, checklist(found, d.org, lang, d.tz, head),
                       checklist_markup(found, d.incidents, lang, actor.id or 0))
            return
        if verb in ("step", "步骤") and number is not None and len(words) > 2:
            note = words[3] if len(words) > 3 else None
            current = await d.incidents.get(actor, incident_id)
            found, fresh = await d.incidents.tick(actor, incident_id, current.level, number, note)
            head = t(lang, "incident.ticked" if fresh else "incident.already_ticked", n=number)
            await send(update, context, checklist(found, d.org, lang, d.tz, head),
                       checklist_markup(found, d.incidents, lang, actor.id or 0))
            return
    elif len(words) == 2 and (level := _level(words[1])) is not None:
        found = await d.incidents.declare(actor, words[0][:40], level)
        head = t(lang, "incident.declared", id=found.id)
        await send(update, context, checklist(found, d.org, lang, d.tz, head),
                   checklist_markup(found, d.incidents, lang, actor.id or 0))
        return
    await send(update, context, t(lang, "incident.usage"))


@answers_refusals()
async def incident_close(update: Update, context: Context) -> None:
    """/incident_close <id> <summary>: closing needs the summary; the leaders above receive it."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    message = update.effective_message
    words = ((message.text or "") if message is not None else "").split(maxsplit=2)[1:]
    incident_id = _number(words[0]) if words else None
    if incident_id is None or len(words) < 2 or not words[1].strip():
        await send(update, context, t(lang, "incident.usage_close"))
        return
    found = await d.incidents.close(actor, incident_id, words[1])
    await send(update, context, t(lang, "incident.close_done_drill" if found.is_drill else "incident.close_done",
                                  id=found.id))


@answers_refusals()
async def incident_drill(update: Update, context: Context) -> None:
    """/incident_drill <level>: run the plan without a real case; marked 演练 everywhere."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    words = _words(update)
    level = _level(words[0]) if len(words) == 1 else None
    if level is None:
        await send(update, context, t(lang, "incident.usage_drill"))
        return
    found = await d.incidents.drill(actor, level, f"u{update.update_id}")  # a redelivery: the same drill
    head = t(lang, "incident.drill_started", id=found.id)
    await send(update, context, checklist(found, d.org, lang, d.tz, head),
               checklist_markup(found, d.incidents, lang, actor.id or 0))


# ------------------------------------------------------------- buttons


@answers_refusals(how="alert")
async def _on_button(update: Update, context: Context, incident_id: int, act: str, *values: int) -> None:
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    d = deps(context)
    toast: str | None = None
    if act == "tick":
        found, fresh = await d.incidents.tick(actor, incident_id, values[0], values[1])
        toast = t(lang, "incident.ticked" if fresh else "incident.already_ticked", n=values[1])
    elif act == "raise":
        found = await d.incidents.set_level(actor, incident_id, values[0])
        toast = t(lang, "incident.level_done", id=found.id, level=level_name(d.org, found.level, lang))
    else:
        found = await d.incidents.get(actor, incident_id)
    await answer_query(update, toast)
    await show(update, context, checklist(found, d.org, lang, d.tz),
               checklist_markup(found, d.incidents, lang, actor.id or 0))


async def tick_button(update: Update, context: Context, incident_id: int, level: int, step: int) -> None:
    await _on_button(update, context, incident_id, "tick", level, step)


async def raise_button(update: Update, context: Context, incident_id: int, level: int) -> None:
    await _on_button(update, context, incident_id, "raise", level)


async def view_button(update: Update, context: Context, incident_id: int) -> None:
    await _on_button(update, context, incident_id, "view")


def handlers() -> list[Handler]:
    return [
        CommandHandler("incident", incident),
        CommandHandler("incident_close", incident_close),
        CommandHandler("incident_drill", incident_drill),
        cb.Ic.TICK.handler(tick_button),
        cb.Ic.RAISE.handler(raise_button),
        cb.Ic.VIEW.handler(view_button),
        cb.Ic.area.stale_handler(stale_button),
    ]


# ------------------------------------------------------------ notices


async def _notice(item: OutboxItem, store: Services, lang: str, head_key: str) -> Rendered:
    found = await store.incidents.incident_by_id(params_of(item.kind, item.params, IncidentParams).incident)
    if found is None:
        return []
    head = t(lang, head_key, level=level_name(store.org, found.level, lang))
    if found.is_drill:
        head = t(lang, "incident.drill_mark", text=head)
    return [(checklist(found, store.org, lang, store.tz, head), checklist_markup(found, store.incidents, lang, item.chat_id))]


async def opened_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``ic_opened``: an incident opened, to its level's response group, with the checklist as buttons."""
    return await _notice(item, store, lang, "incident.opened_head")


async def raised_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``ic_raised``: the incident's level went up, to the new level's group, with its checklist."""
    return await _notice(item, store, lang, "incident.raised_head")


async def closed_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``ic_closed``: closed with its summary, to the leaders above and the admins."""
    found = await store.incidents.incident_by_id(params_of(item.kind, item.params, IncidentParams).incident)
    if found is None or found.closed_at is None:
        return []
    entry = store.org.incident_level(found.level)
    total = len(entry.steps) if entry is not None else 0
    done = sum(1 for n in range(1, total + 1) if found.tick_of(found.level, n))
    text = t(lang, "incident.closed_notice_drill" if found.is_drill else "incident.closed_notice",
             id=found.id, level=level_name(store.org, found.level, lang), source=_source(found, store.org, lang),
             name=_staff_name(store.org, found.closed_by), when=moment(found.closed_at, store.tz),
             done=done, total=total, summary=split_text(found.summary or "")[0][:3000])
    return [(text, kb.markup([[kb.button(t(lang, "incident.open_button", id=found.id), cb.Ic.VIEW.encode(found.id))]]))]
