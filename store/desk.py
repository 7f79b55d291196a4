"""The officers' desk (the Mini App): cases in reading scope, filtered and searched.

Scope is the store's one rule (``StoreContext.read_scope``: the lead unit's
scope, co-handled cases too, recusal honoured); filters narrow it, never
widen it. Search looks for each word typed in the subject and the details:

- Chinese has no spaces between words, so a word is a substring, and a two-
  character word (食堂, 加班) must be found as well: each term is matched as
  ``lower(words(subject)) LIKE '%term%'`` or the same over the details, on both
  backends (PostgreSQL's ``lower`` folds Unicode, SQLite's ASCII; Chinese has no
  case; ``words()`` reads SQLite's compact form, store/words.py).
- No index can serve ``LIKE '%…%'`` in SQLite, and PostgreSQL's trigram index
  finds nothing for a query of two characters (it has no trigram); the scope
  and the other filters go first (their indexes: ``cases_by_status_unit``, unit,
  status), so the substring test runs on the rows of one person's scope, not
  on the table. ``bench/webapp.py`` measures it with 100,000 cases.

Drill-down from a dashboard figure (``metric``) lists the cases behind the
number: the same conditions as ``store.indicators`` for that figure, checked
against its counts by ``tests/test_webapp_api.py``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field

from store.clock import iso, local_date
from store.context import Service, local_midnight
from store.errors import Forbidden, Refused
from store.indicators import parse_period
from store.models import Actor, Case, Status, row_to_model
from store.review import CURRENT_DUE_SQL, OPEN_SQL
from store.sqltext import only_row
from store.supervision import level_sql

PAGE_MAX = 100
SEARCH_TERMS_MAX = 5
TERM_CHARS_MAX = 40

# A figure of the dashboard → the cases behind it (over ``cases``; :a, :b the period, :today).
_RECEIVED = "submitted_at >= :a AND submitted_at < :b"
_DECIDED = "decided_at >= :a AND decided_at < :b"
METRICS: dict[str, str] = {
    "received": _RECEIVED,
    "decided": _DECIDED,
    "rated": f"{_DECIDED} AND rating IN ('satisfied', 'basic', 'dissatisfied')",
    "satisfied": f"{_DECIDED} AND rating IN ('satisfied', 'basic')",
    "repeats": f"{_RECEIVED} AND repeat_count > 0",
    "led": f"{_RECEIVED} AND lead_id IS NOT NULL",
    "within_time": f"{_RECEIVED} AND {OPEN_SQL} AND {CURRENT_DUE_SQL} >= :today",
    "overdue_now": f"{OPEN_SQL} AND {CURRENT_DUE_SQL} < :today",
    "notice_now": f"{OPEN_SQL} AND {{rank}} = 1",
    "warning_now": f"{OPEN_SQL} AND {{rank}} = 2",
    "serious_now": f"{OPEN_SQL} AND {{rank}} = 3",
    "supervised": "id IN (SELECT s.case_id FROM supervisions s WHERE s.closed_at IS NULL)",
    "long_running": f"{OPEN_SQL} AND submitted_at < :long_before",
    "lead_open": f"{OPEN_SQL} AND lead_id IS NOT NULL",
}


class DeskQuery(BaseModel):
    """What the desk's filters ask for; every field optional."""

    state: str = "open"  # open | closed | all, or one status
    level: int | None = Field(default=None, ge=0, le=4)  # 0 normal … 3 严重警告, 4 超期
    category: str | None = None
    unit: str | None = None  # the unit and its subunits
    channel: str | None = None
    due_before: date | None = None  # the current deadline on or before
    q: str | None = None  # words searched in the subject and details
    metric: str | None = None  # a dashboard figure (METRICS)
    period: str | None = None  # the figure's period (default: this month)
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=30, ge=1, le=PAGE_MAX)


def search_terms(text: str | None) -> list[str]:
    """The words of a search, lower-cased, at most a few, each cut to a sane length."""
    if not text:
        return []
    words = [w[:TERM_CHARS_MAX].lower() for w in text.split() if w.strip()]
    return list(dict.fromkeys(words))[:SEARCH_TERMS_MAX]


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class DeskService(Service):
    """The Mini App's case lists for staff."""

    def _where(self, actor: Actor, query: DeskQuery, today: date) -> tuple[str, dict[str, Any]]:
        if not actor.is_staff:
            raise Forbidden("staff_only")
        scope, args = self.ctx.read_scope(actor)
        clauses: list[str] = []
        params: dict[str, Any] = {}
        # The scope's "?" become named parameters, so that the rest can be named too.
        parts = scope.split("?")
        named_scope = parts[0]
        for index, part in enumerate(parts[1:]):
            params[f"s{index}"] = args[index]
            named_scope += f":s{index}" + part
        clauses.append(f"({named_scope})")
        rank = level_sql(self.org, today, self.db.dialect)
        if query.state == "open":
            clauses.append(OPEN_SQL)
        elif query.state == "closed":
            clauses.append(f"NOT {OPEN_SQL}")
        elif query.state != "all":
            if query.state not in {s.value for s in Status}:
                raise Refused("bad_filter")
            clauses.append("status = :status")
            params["status"] = query.state
        if query.level is not None:
            clauses.append(f"{OPEN_SQL} AND {rank} = :level")
            params["level"] = query.level
        if query.category:
            clauses.append("category = :category")
            params["category"] = query.category
        if query.unit:
            units = sorted(self.org.subtree(query.unit)) if self.org.find_unit(query.unit) else []
            if not units:
                raise Refused("unknown_unit")
            clauses.append("unit IN (" + ", ".join(f":u{i}" for i in range(len(units))) + ")")
            params.update({f"u{i}": u for i, u in enumerate(units)})
        if query.channel:
            clauses.append("channel = :channel")
            params["channel"] = query.channel
        if query.due_before is not None:
            clauses.append(f"{CURRENT_DUE_SQL} <= :due_before")
            params["due_before"] = query.due_before.isoformat()
        for index, term in enumerate(search_terms(query.q)):
            clauses.append(
                f"(lower(words(subject)) LIKE :q{index} ESCAPE '\\' OR lower(words(details)) LIKE :q{index} ESCAPE '\\')"
            )
            params[f"q{index}"] = _like(term)
        if query.metric:
            condition = METRICS.get(query.metric)
            if condition is None:
                raise Refused("bad_filter")
            period = parse_period(query.period, today)
            clauses.append(f"({condition.format(rank=rank)})")
            clauses.append(f"status <> '{Status.MERGED.value}'")
            params.update(
                a=iso(local_midnight(period.start, self.tz)), b=iso(local_midnight(period.end, self.tz)),
                today=today.isoformat(),
                long_before=iso(self.clock.now() - timedelta(days=self.org.monitoring.long_running_days)),
            )
        return " AND ".join(clauses), params

    async def cases(self, actor: Actor, query: DeskQuery) -> tuple[list[Case], int]:
        """One page of the cases ``actor`` may see that match ``query``, and how many match in all.

        Highest warning level first, then the nearest deadline (the queue's order).
        """
        today = local_date(self.clock.now(), self.tz)
        where, params = self._where(actor, query, today)
        rank = level_sql(self.org, today, self.db.dialect)
        async with self.db.read() as conn:
            async with conn.execute(f"SELECT count(*) FROM cases WHERE {where}", params) as cur:
                total = (await only_row(cur))[0]
            async with conn.execute(
                f"SELECT * FROM cases WHERE {where} ORDER BY {rank} DESC, {CURRENT_DUE_SQL}, id DESC"
                " LIMIT :limit OFFSET :offset",
                {**params, "limit": query.limit, "offset": query.offset},
            ) as cur:
                found = [row_to_model(Case, row) async for row in cur]
        return found, total
