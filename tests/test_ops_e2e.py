"""Operations end to end: webhook mode with its secret enforced, and /metrics moving with traffic."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.webhook import WebhookConfig
from store.org import Organization
from tests.e2e import running_bot
from tests.test_loop_e2e import submit_case

pytestmark = pytest.mark.slow

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def post_update(port: int, path: str, update: dict[str, Any], secret: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.post(f"http://127.0.0.1:{port}{path}", content=json.dumps(update), headers=headers)


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.get(url)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def user_rows(db: Path, hid: int) -> int:
    """Rows of the users table for one person (the table keeps the keyed hash of the id, store/vault.py)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM users WHERE telegram_id = ?", (hid,)).fetchone()[0]


async def test_webhook_with_secret_behind_a_proxy_path(org: Organization, tmp_path: Path) -> None:
    db = tmp_path / "hook.db"
    # Telegram calls the public URL; the reverse proxy forwards /tg/hook to 127.0.0.1:<port>/local/hook.
    config = WebhookConfig(
        url="https://bot.example.com/tg/hook", secret="right-Secret_42", host="127.0.0.1", port=free_port(),
        path="/local/hook",
    )
    async with running_bot(org, db, webhook_config=config) as bot:
        registered = bot.sim.calls_to("setWebhook")
        assert [(c["url"], c["secret_token"]) for c in registered] == [(config.url, "right-Secret_42")]
        assert bot.sim.webhook_url == config.url
        assert bot.sim.calls_to("getUpdates") == []  # no polling in webhook mode

        intruder = bot.sim.user(6002, first_name="Mallory", language_code="zh-hans")
        forged = await intruder.send("/start")
        assert (await post_update(config.port, "/local/hook", forged, None)).status_code == 403
        assert (await post_update(config.port, "/local/hook", forged, "wrong-secret")).status_code == 403
        forged_again = await intruder.send("/new")
        assert (await post_update(config.port, "/local/hook", forged_again, "")).status_code == 403
        # The right secret on a path the proxy does not forward to reaches no handler either.
        assert (await post_update(config.port, "/tg/hook", forged_again, config.secret)).status_code == 404

        employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        update = await employee.send("/start")
        assert (await post_update(config.port, "/local/hook", update, config.secret)).status_code == 200
        await employee.wait_for("信访服务")

        # Updates are handled one at a time, in order: the employee's answer came after any
        # refused update could have been handled; none was, and none reached the store.
        assert intruder.messages == []
        hid = bot.application.bot_data["deps"].cases.ctx.hid
        assert user_rows(db, hid(6002)) == 0 and user_rows(db, hid(5001)) == 1
        monitor = bot.application.bot_data["monitor"]
        assert samples(_exposition(monitor))[("petition_updates_total", (("type", "message"),))] == 1


def _exposition(monitor: Any) -> str:
    from prometheus_client import generate_latest

    return generate_latest(monitor.registry).decode()


async def test_metrics_move_with_traffic_and_health_is_ok(org: Organization, tmp_path: Path) -> None:
    db = tmp_path / "metrics.db"
    async with running_bot(org, db, metrics_listen="127.0.0.1:0") as bot:
        port = bot.application.bot_data["monitor"].port
        base = f"http://127.0.0.1:{port}"
        health = await get(base + "/healthz")
        assert (health.status_code, health.text) == (200, "ok\n")

        first = await get(base + "/metrics")
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/plain")
        before = samples(first.text)
        assert before[("petition_active", ())] == 1
        assert before.get(("petition_updates_total", (("type", "message"),)), 0) == 0
        assert before.get(("petition_cases", (("status", "submitted"),)), 0) == 0

        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        await officer.send("/start")
        await officer.wait_for("信访工作人员")
        employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        await employee.send("/start")
        await employee.wait_for("信访服务")
        number = await submit_case(employee, "十月加班费未发", "十月份加班费至今未发放。")
        await officer.wait_for(number)
        await bot.drained()

        after = samples((await get(base + "/metrics")).text)
        messages = after[("petition_updates_total", (("type", "message"),))]
        taps = after[("petition_updates_total", (("type", "callback_query"),))]
        assert messages == 5  # /start twice, /new, the subject, the details
        assert taps == 6  # category, company, plant, skip attachments, real name, submit
        assert after[("petition_update_handling_seconds_count", ())] == messages + taps
        assert after[("petition_cases", (("status", "submitted"),))] == 1
        assert after[("petition_cases_overdue", ())] == 0
        assert after[("petition_outbox_backlog", ())] == 0 and after[("petition_outbox_oldest_age_seconds", ())] == 0
        assert after[("petition_botapi_requests_total", (("code", "200"),))] > before[
            ("petition_botapi_requests_total", (("code", "200"),))
        ]
        assert after[("petition_botapi_429_total", ())] == 0
