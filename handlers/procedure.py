"""Procedure (#24) in Telegram: /served records the 送达 of a printed opinion (docs/procedure.md).

A notice delivered in chat is served when Telegram accepts it (bot/outbox.py
calls ``ReviewService.delivered``); a printed one on the date an officer
records from its 送达回证: ``/served <number> <date> <当面|邮寄|拒收>``.
"""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import CommandHandler

from handlers.common import Context, Handler, deps, send, staff_caller
from handlers.i18n import t
from handlers.refusals import answers_refusals
from handlers.render import day
from store.models import ServedHow

# The ways of service as officers type them (Chinese or English), and the stored word.
HOW_WORDS = {
    "当面": ServedHow.IN_PERSON, "当面送达": ServedHow.IN_PERSON, "in-person": ServedHow.IN_PERSON,
    "in_person": ServedHow.IN_PERSON,
    "邮寄": ServedHow.POST, "邮寄送达": ServedHow.POST, "post": ServedHow.POST, "mail": ServedHow.POST,
    "拒收": ServedHow.REFUSED, "refused": ServedHow.REFUSED,
}


def parse_served(words: list[str]) -> tuple[str, date, ServedHow] | None:
    """(number, date, how) from the words after /served, or None (the usage is shown)."""
    if len(words) != 3:
        return None
    number, when, how = words
    try:
        served_on = date.fromisoformat(when.strip())
    except ValueError:
        return None
    found = HOW_WORDS.get(how.strip().lower())
    return (number[:40], served_on, found) if found is not None else None


@answers_refusals()
async def served(update: Update, context: Context) -> None:
    """/served <number> <date> <how>: an officer records the service of a printed opinion."""
    caller = await staff_caller(update, context)
    if caller is None:
        return
    actor, lang = caller
    parsed = parse_served(list(context.args or []))
    if parsed is None:
        await send(update, context, t(lang, "procedure.served.usage"))
        return
    number, served_on, how = parsed
    case = await deps(context).review.serve(actor, number, served_on, how)
    due = case.review_request_due if case.review_level == 0 else case.rereview_request_due
    await send(update, context, t(lang, "procedure.served.done", number=case.number, date=day(served_on, lang),
                                  how=t(lang, f"procedure.served.{how.value}"), due=day(due, lang) if due else ""))


def handlers() -> list[Handler]:
    return [CommandHandler("served", served)]
