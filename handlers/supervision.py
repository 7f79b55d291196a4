"""Supervision (督办) in Telegram: graded-warning notices and the warned cases of /alerts.

The levels and who is told are the store's (``store.supervision``); this
module only words them in the reader's language.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from handlers import callbacks as cb
from handlers import keyboards as kb
from handlers.i18n import Html, t
from handlers.render import category_name, unit_name, warning_mark
from store.models import OutboxItem
from store.org import Organization
from store.review import current_deadline
from store.services import Services
from store.supervision import WarnedCase, WarningLevel

Rendered = list[tuple[Html, InlineKeyboardMarkup | None]]

NOTICE_TEXTS = {
    WarningLevel.WARNING: "warning.notify_warning",
    WarningLevel.SERIOUS: "warning.notify_serious",
    WarningLevel.OVERDUE: "warning.notify_overdue",
}


async def warning_notice(item: OutboxItem, store: Services, lang: str) -> Rendered:
    """``sv_warning``: a case entered 警告, 严重警告 or 超期, with the case to open."""
    case = await store.cases.case_by_id(item.case_id) if item.case_id is not None else None
    if case is None:
        return []
    p = item.params
    try:
        level = WarningLevel(str(p.get("level")))
    except ValueError:
        level = WarningLevel.WARNING
    text = t(lang, NOTICE_TEXTS.get(level, "warning.notify_warning"), number=case.number,
             unit=unit_name(store.org, case.unit, lang), category=category_name(store.org, case.category, lang),
             stage=t(lang, f"review.stage_{p.get('stage', 'answer')}"), used=p.get("used") or 0,
             due=p.get("due", ""), days=p.get("overdue", 0))
    markup = kb.markup([[kb.button(t(lang, "review.open_case"), cb.St.OPEN.encode(case.number))]])
    return [(text, markup)]


def warned_list(warned: list[WarnedCase], total: int, org: Organization, lang: str) -> Html:
    """/alerts: the cases under warning, one line each."""
    lines = [t(lang, "warning.alerts_title", count=total)]
    for item in warned:
        current = current_deadline(item.case)
        stage = t(lang, f"review.stage_{current[0].value}") if current else ""
        lines.append(t(lang, "warning.alerts_item", level=warning_mark(item.level, lang), number=item.case.number,
                       unit=unit_name(org, item.case.unit, lang), stage=stage,
                       due=current[1].isoformat() if current else ""))
    if total > len(warned):
        lines.append(t(lang, "warning.alerts_more", count=total - len(warned)))
    return Html("\n".join(lines))
