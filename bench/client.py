"""The Bot API client: CPU per call of PTB's HTTPX request and of the bot's own (bot/request.py, aiohttp).

Run from the repository root::

    .venv/bin/python -m bench.client [--calls 3000]

A loopback server in the same process answers every call as the Bot API answers
``sendMessage`` (a message of 200 characters); each client makes the calls one at a
time, then 64 at a time (the bot handles chats side by side, so it holds dozens of
connections). CPU is the process's, server included: the server's share is the same
for both clients, so the difference between them is the clients'.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from typing import Any

from aiohttp import web
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bench.harness import parse_args, report
from bot.request import AiohttpRequest

ANSWER = {"ok": True, "result": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "您好" * 100}}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def answer(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response(ANSWER)


async def measure(client: BaseRequest, url: str, calls: int, at_once: int) -> dict[str, float]:
    data = RequestData([RequestParameter.from_input("chat_id", 5001),
                        RequestParameter.from_input("text", "第 2/7 步　请选择单位：")])

    async def worker(count: int) -> None:
        for _ in range(count):
            status, _ = await client.do_request(url, "POST", data)
            assert status == 200

    await asyncio.gather(*(worker(max(1, calls // 20 // at_once)) for _ in range(at_once)))  # connections made
    began, cpu = time.perf_counter(), cpu_seconds()
    await asyncio.gather(*(worker(calls // at_once) for _ in range(at_once)))
    seconds, cpu = time.perf_counter() - began, cpu_seconds() - cpu
    done = calls // at_once * at_once
    return {"calls": done, "cpu_ms_per_call": round(cpu / done * 1000, 3), "calls_per_second": round(done / seconds)}


async def main(args: argparse.Namespace) -> None:
    app = web.Application()
    app.router.add_post("/bot1:x/sendMessage", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/bot1:x/sendMessage"
    figures: dict[str, Any] = {}
    try:
        for name, make in (("httpx (PTB's HTTPXRequest)", lambda: HTTPXRequest(256)),
                           ("aiohttp (bot/request.py)", lambda: AiohttpRequest(256))):
            client = make()
            await client.initialize()
            try:
                figures[name] = {f"{n} at a time": await measure(client, url, args.calls, n) for n in (1, 64)}
            finally:
                await client.shutdown()
    finally:
        await runner.cleanup()
    httpx_cost = figures["httpx (PTB's HTTPXRequest)"]["64 at a time"]["cpu_ms_per_call"]
    own_cost = figures["aiohttp (bot/request.py)"]["64 at a time"]["cpu_ms_per_call"]
    report("client", figures, f"client: CPU per call, 64 at a time: httpx {httpx_cost} ms, aiohttp {own_cost} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    asyncio.run(main(parse_args(parser, calls=128)))
