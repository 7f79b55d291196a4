"""A bot under test, run by the benchmarks in its own process.

``--mode petition`` is the production Application (``bot.app.build_application``
with the built-in example organisation); ``--no-rate-limit`` leaves out PTB's
rate limiter, which otherwise caps every bot at Telegram's ~30 messages/s.
``--mode echo`` is the baseline: a bare PTB bot that answers every text with
a message and every button with an answer and an edit, the same Bot API work
per update as the intake, and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None and update.effective_message is not None
    await context.bot.send_message(update.effective_chat.id, f"echo {update.update_id}: {update.effective_message.text}")


async def echo_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"echo {update.update_id}: {query.data}")


def echo_application(token: str, api_url: str) -> Application:
    application = ApplicationBuilder().token(token).base_url(api_url).base_file_url(api_url).build()
    application.add_handler(MessageHandler(filters.ALL, echo_text))
    application.add_handler(CallbackQueryHandler(echo_tap))
    return application


async def run(args: argparse.Namespace) -> None:
    store = None
    if args.mode == "echo":
        application = echo_application(args.token, args.api_url)
    else:
        from bot.app import build_application, settle_heap
        from store.org import example_org
        from store.services import Services

        store = await Services.open(args.db, example_org())
        application = build_application(store, args.token, base_url=args.api_url, base_file_url=args.api_url,
                                        paced=not args.no_rate_limit)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        await application.start()
        assert application.updater is not None
        if store is not None:  # as bot.app.serve does, once started and before the first update
            settle_heap()
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        await stop.wait()
        if "outbox" in application.bot_data:
            application.bot_data["outbox"].close()
        await application.updater.stop()
        await application.stop()
    if store is not None:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["petition", "echo"], required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--db")
    parser.add_argument("--no-rate-limit", action="store_true")
    parser.add_argument("--profile", help="write a cProfile of the bot process to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.profile:  # where the bot's time goes: python -m pstats FILE
        import cProfile

        cProfile.runctx("asyncio.run(run(args))", globals(), {"args": args}, args.profile)
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
