"""The Mini App at scale: the dashboard and the desk over HTTP with 100,000 cases in the store.

Run from the repository root::

    .venv/bin/python -m bench.webapp [--cases 100000] [--runs 60] [--db /tmp/webapp.db] [--reuse]

The database is filled like ``bench.store_scale`` (five years of cases of the
example organisation, their events and outbox rows, by direct SQL), then the
Mini App's server (bot/webapp.py) runs on loopback in this process, as in the
bot, and each request is timed from the client: signed ``initData`` checked,
the store queried, the JSON and the SVG charts made.

- ``dashboard_top_leader``: the group's leader (every unit), the current month:
  ``/stats``'s indicators for each root and subunit, twelve trend months, the
  assessment, the warned, supervised and led lists, alerts, incidents;
- ``dashboard_oilfield_leader``: the same for one company's subtree;
- ``dashboard_*_again``: each opened again after a recent case changed (its months counted again,
  the earlier trend months remembered: store/trend_memo.py); the two above are first views;
- ``desk_open_officer``: an officer's first page of open cases;
- ``desk_search_2chars``: a two-character word searched over subject and
  details in the officer's whole scope (``state=all``);
- ``case_card``: one case's card and record.

Reported: p50/p99 per request. The target for the dashboard is 300 ms at p99.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import parse_args, percentile, report
from bench.store_scale import BIG, NOW, generate
from bot.initdata import signed_for
from bot.webapp import WebAppServer
from store.clock import FakeClock
from store.db import Database
from store.org import example_org
from store.services import Services
from store.trend_memo import TrendMemo

TOKEN = "123456:BENCH-TOKEN"
TARGET_P99_MS = 300.0


async def measure(path: Path, runs: int) -> dict[str, Any]:
    org = example_org()
    services = await Services.open(path, org, FakeClock(NOW))
    server = WebAppServer(services, TOKEN)
    assert await server.start("127.0.0.1:0")
    rng = random.Random(11)
    timings: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}

    def auth(user_id: int) -> dict[str, str]:
        return {"Authorization": "tma " + signed_for(user_id, TOKEN)}

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=120) as client:

            async def timed(name: str, path: str, user: int, **params: Any) -> Any:
                began = time.perf_counter()
                answer = await client.get(path, params=params, headers=auth(user))
                timings.setdefault(name, []).append(time.perf_counter() - began)
                assert answer.status_code == 200, answer.text[:500]
                return answer.json()

            numbers = []
            for i in range(runs + 1):  # the first round warms the caches and is not counted
                services.indicators.trend_memo = TrendMemo()  # a first view: no trend month remembered
                await timed("dashboard_top_leader", "/app/api/dashboard", 100002)
                await timed("dashboard_oilfield_leader", "/app/api/dashboard", 100003)
                # Opened again after a recent case changed: its months counted again, the earlier remembered.
                async with services.db.transaction() as conn:
                    await conn.execute("UPDATE cases SET rating = CASE WHEN rating IS NULL THEN 'satisfied' END"
                                       " WHERE id = (SELECT max(id) FROM cases)")
                await timed("dashboard_top_leader_again", "/app/api/dashboard", 100002)
                await timed("dashboard_oilfield_leader_again", "/app/api/dashboard", 100003)
                found = await timed("desk_open_officer", "/app/api/cases", 100005)
                sizes["desk_open_officer"] = found["total"]
                numbers += [c["number"] for c in found["cases"]]
                start = rng.randrange(0, len(BIG) - 2)
                word = BIG[start:start + 2]
                found = await timed("desk_search_2chars", "/app/api/cases", 100005, q=word, state="all")
                sizes.setdefault("desk_search_2chars", 0)
                sizes["desk_search_2chars"] = max(sizes["desk_search_2chars"], found["total"])
                if numbers:
                    await timed("case_card", f"/app/api/case/{rng.choice(numbers)}", 100005)
                if i == 0:
                    timings.clear()
    finally:
        await server.stop()
        await services.close()
    return {
        name: {"p50_ms": round(percentile(values, 50) * 1000, 1), "p99_ms": round(percentile(values, 99) * 1000, 1),
               "runs": len(values), **({"rows": sizes[name]} if name in sizes else {})}
        for name, values in timings.items()
    }


async def main(args: argparse.Namespace) -> None:
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp(prefix="webapp-bench-")) / "webapp.db"
    if not (args.reuse and path.exists()):
        if path.exists():
            path.unlink()
        db = await Database.open(path)
        await db.close()
        generate(path, args.cases)
    figures = await measure(path, args.runs)
    if not args.keep and not args.reuse:
        path.unlink()
    top = figures["dashboard_top_leader"]["p99_ms"]
    report("webapp", {"cases": args.cases, "target_dashboard_p99_ms": TARGET_P99_MS, "requests": figures},
           f"webapp: {args.cases} cases, dashboard p99 {top} ms (top leader), "
           f"{figures['dashboard_oilfield_leader']['p99_ms']} ms (one company), search p99 "
           f"{figures['desk_search_2chars']['p99_ms']} ms; target {TARGET_P99_MS:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--db", default=None)
    parser.add_argument("--reuse", action="store_true", help="use --db as it is if it exists")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    asyncio.run(main(parse_args(parser, cases=300, runs=2)))
