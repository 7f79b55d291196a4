"""The bot's Bot API client (bot/request.py) against servers on loopback: what PTB's HTTPX request gave.

A plain aiohttp server stands for the Bot API (the simulator, tests/e2e.py, drives the whole bot
through the same class in every end-to-end test); a small SOCKS5 server stands for a company proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.network import bot_requests
from bot.request import NOT_SENT, AiohttpRequest, tls_context

Seen = list[dict[str, Any]]


@contextlib.asynccontextmanager
async def api(delay: float = 0.0) -> AsyncIterator[tuple[str, Seen]]:
    """A Bot API stand-in on 127.0.0.1: notes each request's method, content type and form, answers ok."""
    seen: Seen = []

    async def answer(request: web.Request) -> web.Response:
        form = await request.post()
        fields: dict[str, Any] = {}
        for name, value in form.items():
            if isinstance(value, web.FileField):
                fields[name] = {"filename": value.filename, "type": value.content_type, "bytes": value.file.read()}
            else:
                fields[name] = value
        seen.append({"method": request.method, "path": request.path, "type": request.content_type,
                     "agent": request.headers.get("User-Agent", ""), "fields": fields})
        await asyncio.sleep(delay)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def started(request: AiohttpRequest) -> AsyncIterator[AiohttpRequest]:
    await request.initialize()
    try:
        yield request
    finally:
        await request.shutdown()


def form(**values: object) -> RequestData:
    return RequestData([RequestParameter.from_input(name, value) for name, value in values.items()])


async def test_a_call_sends_its_parameters_as_a_form_and_returns_the_answer() -> None:
    async with api() as (url, seen), started(AiohttpRequest(4)) as request:
        status, body = await request.do_request(f"{url}/bot1:x/sendMessage", "POST",
                                                form(chat_id=5001, text="您好 & <b>", reply_markup={"a": [1]}))
    assert (status, json.loads(body)) == (200, {"ok": True, "result": True})
    [call] = seen
    assert call["type"] == "application/x-www-form-urlencoded"
    assert call["fields"] == {"chat_id": "5001", "text": "您好 & <b>", "reply_markup": '{"a": [1]}'}
    assert call["agent"].startswith("python-telegram-bot")


async def test_a_file_goes_as_a_multipart_form_with_its_name_and_type() -> None:
    data = RequestData([RequestParameter.from_input("chat_id", 5001),
                        RequestParameter.from_input("document", InputFile(b"%PDF-1.4 x", filename="告知书 XF-1.pdf"))])
    assert data.contains_files
    async with api() as (url, seen), started(AiohttpRequest(4)) as request:
        status, _ = await request.do_request(f"{url}/bot1:x/sendDocument", "POST", data)
    assert status == 200
    [call] = seen
    assert call["type"] == "multipart/form-data"
    assert call["fields"]["chat_id"] == "5001"
    document = call["fields"]["document"]
    assert (document["filename"], document["type"], document["bytes"]) == ("告知书 XF-1.pdf", "application/pdf",
                                                                        b"%PDF-1.4 x")


async def test_a_download_is_a_get() -> None:
    async with api() as (url, seen), started(AiohttpRequest(4)) as request:
        assert await request.retrieve(f"{url}/file/bot1:x/photos/a.jpg") == b'{"ok": true, "result": true}'
    assert [(c["method"], c["path"]) for c in seen] == [("GET", "/file/bot1:x/photos/a.jpg")]


async def test_a_slow_answer_is_a_time_out_and_a_closed_port_a_network_error() -> None:
    async with api(delay=2) as (url, _), started(AiohttpRequest(4, read_timeout=0.2)) as request:
        with pytest.raises(TimedOut):
            await request.do_request(f"{url}/bot1:x/getMe", "POST")
        # A long poll waits longer than the default: the bot passes its own read time-out.
        status, _ = await request.do_request(f"{url}/bot1:x/getUpdates", "POST", read_timeout=5)
        assert status == 200
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # nothing listens once it is closed
    async with started(AiohttpRequest(4)) as request:
        with pytest.raises(NetworkError) as error:
            await request.do_request(f"http://127.0.0.1:{port}/bot1:x/getMe", "POST")
        assert not isinstance(error.value, TimedOut) and "aiohttp.ClientConnectorError" in error.value.message


async def test_no_free_connection_within_the_pool_time_out_is_a_time_out_that_sent_nothing() -> None:
    async with api(delay=1) as (url, seen), started(AiohttpRequest(1, pool_timeout=0.1)) as request:
        first = asyncio.create_task(request.do_request(f"{url}/bot1:x/sendMessage", "POST", form(text="1")))
        await asyncio.sleep(0.2)  # the one connection is taken
        with pytest.raises(TimedOut) as error:
            await request.do_request(f"{url}/bot1:x/sendMessage", "POST", form(text="2"))
        assert error.value.message == NOT_SENT
        assert (await first)[0] == 200
    assert [c["fields"]["text"] for c in seen] == ["1"]


async def test_both_request_objects_check_certificates_with_one_context() -> None:
    calls, updates = bot_requests()
    assert isinstance(calls, AiohttpRequest) and isinstance(updates, AiohttpRequest)
    async with started(calls), started(updates):
        contexts = [r._session_now().connector._ssl for r in (calls, updates)]  # type: ignore[union-attr]
    assert contexts[0] is contexts[1] is tls_context()
    assert tls_context().verify_mode is ssl.CERT_REQUIRED and tls_context().check_hostname


# ------------------------------------------------------------------ SOCKS5


class Socks5:
    """A SOCKS5 server on 127.0.0.1 (RFC 1928, with RFC 1929's user and password) that notes where each
    connection asked to go and relays it, only ever to 127.0.0.1."""

    def __init__(self, user: str, password: str) -> None:
        self.credentials = (user.encode(), password.encode())
        self.targets: list[tuple[str, int]] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        _, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        assert 2 in methods, methods  # user and password offered
        writer.write(b"\x05\x02")
        _, size = await reader.readexactly(2)
        user = await reader.readexactly(size)
        size = (await reader.readexactly(1))[0]
        password = await reader.readexactly(size)
        self.logins.append((user, password))
        if (user, password) != self.credentials:
            writer.write(b"\x01\x01")
            writer.close()
            return
        writer.write(b"\x01\x00")
        _, command, _, kind = await reader.readexactly(4)
        assert command == 1  # CONNECT
        if kind == 1:
            host = socket.inet_ntoa(await reader.readexactly(4))
        else:
            assert kind == 3, kind  # a name, for the proxy to resolve
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        self.targets.append((host, port))
        assert host in ("127.0.0.1", "localhost"), host  # never anywhere else
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        self.writers.append(up_writer)
        writer.write(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", port))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.mark.parametrize(("scheme", "sent"), [("socks5", "127.0.0.1"), ("socks5h", "localhost")])
async def test_a_socks5_proxy_carries_the_calls_and_resolves_names_for_socks5h(scheme: str, sent: str) -> None:
    proxy = Socks5("bot", "pa:55")
    proxy_port = await proxy.start()
    try:
        async with api() as (url, seen), started(AiohttpRequest(
                4, proxy=f"{scheme}://bot:pa%3A55@127.0.0.1:{proxy_port}")) as request:
            local = url.replace("127.0.0.1", "localhost")
            status, _ = await request.do_request(f"{local}/bot1:x/sendMessage", "POST", form(text="经代理"))
    finally:
        await proxy.stop()
    assert status == 200 and [c["fields"]["text"] for c in seen] == ["经代理"]
    assert proxy.logins == [(b"bot", b"pa:55")]
    assert proxy.targets == [(sent, int(url.rsplit(":", 1)[1]))]


async def test_a_socks5_proxy_that_refuses_the_password_is_a_network_error() -> None:
    proxy = Socks5("bot", "right")
    proxy_port = await proxy.start()
    try:
        async with api() as (url, seen), started(AiohttpRequest(
                4, proxy=f"socks5://bot:wrong@127.0.0.1:{proxy_port}")) as request:
            with pytest.raises(NetworkError) as error:
                await request.do_request(f"{url}/bot1:x/getMe", "POST")
    finally:
        await proxy.stop()
    assert seen == [] and "wrong" not in str(error.value)
