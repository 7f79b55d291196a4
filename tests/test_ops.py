"""Operations: /healthz answers, scrape-time gauges, Bot API accounting, the proxy, settings, JSON logs."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from telegram.error import RetryAfter
from telegram.ext import Application
from telegram.request import BaseRequest

from bot.app import build_application
from bot.logs import LIBRARY_FLOORS, setup
from bot.metrics import Monitor, WatchedRequest
from bot.request import AiohttpRequest
from bot.settings import Settings
from bot.webhook import WebhookConfig, log_secrets, serve_options
from store.clock import FakeClock
from store.org import Organization
from store.services import Services
from tests.conftest import draft, petitioner, rows
from tests.e2e import BotApiSimulator, running_bot
from tests.test_ops_e2e import samples

TOKEN = "7012345678:AAHk3x9Qp_Zr8vWm2LtYc5NbFd6GhJ4sE1o"


class Ticker:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def serving(monitor: Monitor) -> AsyncIterator[str]:
    assert await monitor.start_http("127.0.0.1:0")
    try:
        yield f"http://127.0.0.1:{monitor.port}"
    finally:
        await monitor.stop_http()


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.get(url)


# ------------------------------------------------------------------ /healthz


async def test_healthz_needs_the_store_and_a_recent_bot_api_answer(store: Services) -> None:
    ticker = Ticker()
    monitor = Monitor(clock=ticker, max_api_silence=60)
    monitor.attach(store)
    async with serving(monitor) as base:
        silent = await get(base + "/healthz")
        assert (silent.status_code, silent.text) == (503, "Bot API: no answer yet\n")

        monitor.api_answered(200)
        ok = await get(base + "/healthz")
        assert (ok.status_code, ok.text) == (200, "ok\n")

        ticker.now += 61
        stale = await get(base + "/healthz")
        assert stale.status_code == 503 and "Bot API: no answer for 61 s" in stale.text

        monitor.api_answered(400)  # a refusal is an answer: the Bot API is there
        assert (await get(base + "/healthz")).status_code == 200
        ticker.now += 61
        monitor.api_answered(502)  # a gateway's error is not
        assert (await get(base + "/healthz")).status_code == 503
        monitor.api_answered(200)

        await store.close()
        closed = await get(base + "/healthz")
        assert closed.status_code == 503 and closed.text == "database unreachable\n"  # never the driver's text
        # The scrape still answers (the gauges keep their last values); /healthz says what is wrong.
        assert (await get(base + "/metrics")).status_code == 200


async def test_healthz_of_a_running_bot_fails_when_the_bot_api_goes_quiet(org: Organization, tmp_path: Path) -> None:
    async with running_bot(org, tmp_path / "quiet.db", metrics_listen="127.0.0.1:0") as bot:
        monitor: Monitor = bot.application.bot_data["monitor"]
        base = f"http://127.0.0.1:{monitor.port}"
        assert (await get(base + "/healthz")).status_code == 200
        monitor.max_api_silence = -1.0  # as if the last answer were older than allowed
        quiet = await get(base + "/healthz")
        assert quiet.status_code == 503 and quiet.text.startswith("Bot API: no answer for")


async def test_an_address_in_use_leaves_the_bot_running_without_metrics(caplog: pytest.LogCaptureFixture) -> None:
    first, second = Monitor(), Monitor()
    async with serving(first):
        with caplog.at_level(logging.ERROR, logger="bot.metrics"):
            assert not await second.start_http(f"127.0.0.1:{first.port}")
        assert "NOT started" in caplog.text
        await second.stop_http()


# ------------------------------------------------------------------ gauges


async def test_gauges_read_the_outbox_and_the_cases_at_scrape_time(store: Services, clock: FakeClock) -> None:
    monitor = Monitor()
    monitor.attach(store)
    cases = store.cases
    await cases.submit(petitioner(), draft(), "k1")
    await cases.submit(petitioner(5002), draft(), "k2")
    clock.advance(seconds=90)
    ((pending,),) = rows(store, "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
    assert pending > 0
    figures = samples((await monitor.exposition()).decode())
    assert figures[("petition_outbox_backlog", ())] == pending
    assert figures[("petition_outbox_oldest_age_seconds", ())] == 90
    assert figures[("petition_cases", (("status", "submitted"),))] == 2
    assert figures[("petition_cases_overdue", ())] == 0

    clock.advance(days=store.org.deadlines.accept_days + 1)
    figures = samples((await monitor.exposition()).decode())
    assert figures[("petition_cases_overdue", ())] == 2

    monitor.set_active(False)  # the lease's hook
    assert samples((await monitor.exposition()).decode())[("petition_active", ())] == 0


# ------------------------------------------------------------------ Bot API accounting


class Answers(BaseRequest):
    """A Bot API that answers each call with the next (status, body)."""

    def __init__(self, *answers: tuple[int, dict]) -> None:
        self.answers = list(answers)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, *args: object, **kwargs: object) -> tuple[int, bytes]:
        code, body = self.answers.pop(0)
        return code, json.dumps(body).encode()


async def test_429s_are_counted_and_answers_remembered() -> None:
    ticker = Ticker()
    monitor = Monitor(clock=ticker)
    flood = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
             "parameters": {"retry_after": 3}}
    request = WatchedRequest(Answers((429, flood), (200, {"ok": True, "result": True})), monitor)
    with pytest.raises(RetryAfter):
        await request.post("http://127.0.0.1:1/bot1:x/sendMessage")
    assert monitor.api_429._value.get() == 1 and monitor.api_answered_at == 1000.0
    ticker.now += 5
    assert await request.post("http://127.0.0.1:1/bot1:x/sendMessage") is True
    assert monitor.api_answered_at == 1005.0
    figures = samples(_text(monitor))
    assert figures[("petition_botapi_429_total", ())] == 1
    assert figures[("petition_botapi_requests_total", (("code", "429"),))] == 1


def _text(monitor: Monitor) -> str:
    from prometheus_client import generate_latest

    return generate_latest(monitor.registry).decode()


# ------------------------------------------------------------------ proxy


def inner_requests(application: Application) -> list[BaseRequest]:
    bot = application.bot
    watched = [bot._request[0], bot._request[1]]  # (getUpdates, everything else): PTB's order
    assert all(isinstance(r, WatchedRequest) for r in watched)
    return [r.inner for r in watched]


@pytest.mark.parametrize("proxy", ["socks5://127.0.0.1:1080", "socks5h://127.0.0.1:1080", "http://127.0.0.1:3128", None])
async def test_the_proxy_reaches_both_request_objects(store: Services, proxy: str | None) -> None:
    application = build_application(store, TOKEN, base_url="http://127.0.0.1:1/bot",
                                     base_file_url="http://127.0.0.1:1/file/bot", proxy=proxy)
    requests = inner_requests(application)
    assert all(isinstance(r, AiohttpRequest) and r.proxy == proxy for r in requests), requests
    assert requests[0] is not requests[1]  # two clients: polls never wait behind answers
    # What each proxy does with the calls: tests/test_request.py (SOCKS5) and below (HTTP).


class LoopbackProxy:
    """A forward HTTP proxy on 127.0.0.1 that notes each request line and passes the bytes on."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.server: asyncio.base_events.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:  # Server.close_clients() is Python 3.13
            writer.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await reader.readline()
        target = httpx.URL(first.split()[1].decode())
        assert target.host == "127.0.0.1", target  # never anywhere else
        up_reader, up_writer = await asyncio.open_connection(target.host, target.port)
        self.writers += [writer, up_writer]
        up_writer.write(first)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, note: bool) -> None:
            try:
                while data := await src.read(65536):
                    if note:
                        self.lines.extend(line for line in data.decode("latin-1").split("\r\n")
                                          if line.startswith(("GET http", "POST http")))
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        self.lines.append(first.decode("latin-1").strip())
        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


async def test_every_bot_api_call_goes_through_the_proxy(org: Organization, tmp_path: Path) -> None:
    proxy = LoopbackProxy()
    port = await proxy.start()
    try:
        async with running_bot(org, tmp_path / "proxied.db", proxy=f"http://127.0.0.1:{port}") as bot:
            employee = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
            await employee.send("/start")
            await employee.wait_for("信访服务")
    finally:
        await proxy.stop()
    methods = {line.split()[1].rsplit("/", 1)[-1] for line in proxy.lines}
    assert {"getMe", "getUpdates", "sendMessage"} <= methods, proxy.lines
    assert all(f"/bot{bot.sim.token}/" in line for line in proxy.lines)


async def test_without_a_proxy_of_its_own_the_environments_proxy_and_no_proxy_apply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = LoopbackProxy()
    port = await proxy.start()
    sim = BotApiSimulator()
    await sim.start()
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    through, past = AiohttpRequest(4), AiohttpRequest(4)
    try:
        await through.initialize()
        for _ in range(2):
            status, _ = await through.do_request(f"{sim.base_url}{sim.token}/getMe", "POST")
            assert status == 200
        assert len(proxy.lines) == 2 and all(line.endswith("/getMe HTTP/1.1") for line in proxy.lines), proxy.lines
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # read once per host: a client started after it
        await past.initialize()
        status, _ = await past.do_request(f"{sim.base_url}{sim.token}/getMe", "POST")
        assert status == 200 and len(proxy.lines) == 2  # straight to the Bot API
    finally:
        await through.shutdown()
        await past.shutdown()
        await proxy.stop()
        await sim.stop()


# ------------------------------------------------------------------ settings


def test_operations_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_LISTEN", "WEBHOOK_PATH", "METRICS_LISTEN", "PROXY",
                 "WEBAPP_LISTEN"):
        monkeypatch.delenv(f"PETITION_{name}", raising=False)
    options = serve_options(Settings())
    assert options == {"webhook_config": None, "metrics_listen": "127.0.0.1:9464", "proxy": None,
                       "webapp_listen": "127.0.0.1:8090", "webapp_url": None}

    monkeypatch.setenv("PETITION_WEBHOOK_URL", "https://bot.example.com/telegram/hook")
    monkeypatch.setenv("PETITION_WEBHOOK_SECRET", "s3cret_value-1")
    monkeypatch.setenv("PETITION_METRICS_LISTEN", "")
    monkeypatch.setenv("PETITION_PROXY", "socks5://user:pa55word@127.0.0.1:1080")
    settings = Settings()
    options = serve_options(settings)
    assert options["webhook_config"] == WebhookConfig(
        url="https://bot.example.com/telegram/hook", secret="s3cret_value-1", host="127.0.0.1", port=8443,
        path="/telegram/hook",
    )
    assert options["metrics_listen"] == "" and options["proxy"] == "socks5://user:pa55word@127.0.0.1:1080"
    assert "pa55word" not in repr(settings)
    assert sorted(log_secrets(settings)) == ["pa55word", "s3cret_value-1"]
    # --webhook wins over the environment; a proxy that rewrites paths sets the local one.
    monkeypatch.setenv("PETITION_WEBHOOK_PATH", "/hook")
    monkeypatch.setenv("PETITION_WEBHOOK_LISTEN", "127.0.0.1:8080")
    config = serve_options(Settings(), "https://other.example.com/x")["webhook_config"]
    assert (config.url, config.host, config.port, config.local_path) == (
        "https://other.example.com/x", "127.0.0.1", 8080, "hook")


def test_a_missing_webhook_secret_is_generated_and_said(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot.webhook"):
        one = WebhookConfig.from_settings("https://bot.example.com/hook")
        two = WebhookConfig.from_settings("https://bot.example.com/hook")
    assert one.secret != two.secret and len(one.secret) >= 32
    assert "generated a random webhook secret" in caplog.text and one.secret not in caplog.text


@pytest.mark.parametrize(
    ("name", "value"),
    [("PETITION_PROXY", "ftp://127.0.0.1:21"), ("PETITION_METRICS_LISTEN", "9464"),
     ("PETITION_WEBHOOK_LISTEN", "0.0.0.0:http"), ("PETITION_LOG_FORMAT", "xml")],
)
def test_bad_operations_settings_fail_at_start(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name.removeprefix("PETITION_").lower()):
        Settings()


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [("http://bot.example.com/hook", None, "https"), ("https://bot.example.com/hook", "has space", "SECRET")],
)
def test_bad_webhook_values_are_refused(url: str, secret: str | None, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        WebhookConfig.from_settings(url, secret=secret)


# ------------------------------------------------------------------ JSON logs


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in LIBRARY_FLOORS}
    buffer = io.StringIO()
    handler = setup("DEBUG", secrets=[TOKEN], stream=buffer, fmt="json")
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


def test_json_lines_carry_no_id_and_no_token(json_log: io.StringIO) -> None:
    log = logging.getLogger("petition-bot.test")
    log.info("chat %s wrote via https://api.telegram.org/bot%s/getMe", 734829156, TOKEN)
    try:
        raise RuntimeError(f"sending to 734829156 failed with token {TOKEN}")
    except RuntimeError:
        log.exception("notification %s: unreachable", 17)
    text = json_log.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(e["level"], e["logger"]) for e in lines] == [("INFO", "petition-bot.test"), ("ERROR", "petition-bot.test")]
    assert set(lines[0]) == {"time", "level", "logger", "message"} and lines[0]["time"].endswith("+00:00")
    assert lines[0]["message"] == "chat [redacted] wrote via https://api.telegram.org/bot[redacted]/getMe"
    assert lines[1]["message"] == "notification 17: unreachable"
    assert lines[1]["exception"].startswith("Traceback") and "RuntimeError: sending to [redacted]" in lines[1]["exception"]
    assert "734829156" not in text and TOKEN not in text and TOKEN.split(":")[1] not in text


# ------------------------------------------------------------------ the command line


ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PETITION_")}
    return subprocess.run([sys.executable, "-m", "bot", "run", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={**base, "PETITION_METRICS_LISTEN": "", **env})


async def test_run_logs_json_lines_without_the_token(tmp_path: Path) -> None:
    async with BotApiSimulator(token=TOKEN) as sim:
        wrong = "7012345678:AAHwrongwrongwrongwrongwrongwrong1234"
        done = await asyncio.to_thread(
            run_cli, cwd=tmp_path,  # no organisation file there: the example one, announced at WARNING
            PETITION_BOT_TOKEN=wrong, PETITION_API_URL=sim.base_url, PETITION_DB=str(tmp_path / "bot.db"),
            PETITION_LOG_FORMAT="json", PETITION_LOG_LEVEL="DEBUG", LANG="en_US.UTF-8",
        )
    assert done.returncode == 1  # the token was refused
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(e["logger"] == "petition-bot" and e["level"] == "WARNING" and "EXAMPLE organisation" in e["message"]
               for e in logged), done.stderr
    assert wrong not in done.stderr + done.stdout and wrong.split(":")[1] not in done.stderr + done.stdout


def test_run_refuses_a_webhook_url_that_is_not_https(tmp_path: Path) -> None:
    done = run_cli("--webhook", "http://bot.example.com/hook", PETITION_BOT_TOKEN="123:TEST",
                   PETITION_DB=str(tmp_path / "bot.db"))
    assert done.returncode == 2 and "must be https://" in done.stderr
    assert not (tmp_path / "bot.db").exists()  # refused before anything started


async def test_a_quiet_bot_asks_the_bot_api_and_a_talkative_one_does_not() -> None:
    class Bot:
        asked = 0

        async def get_me(self) -> None:
            self.asked += 1

    ticker = Ticker()
    monitor = Monitor(clock=ticker, max_api_silence=180)
    bot = Bot()
    await monitor.keep_fresh(bot)  # never answered yet: ask
    monitor.api_answered(200)
    ticker.now += 59
    await monitor.keep_fresh(bot)  # answered within the last minute: do not
    ticker.now += 2
    await monitor.keep_fresh(bot)
    assert bot.asked == 2
