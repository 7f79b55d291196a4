"""The loopback Bot API server must fool a real PTB Application and refuse what Telegram refuses."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from botsim import (
    ApiError,
    BotApiSimulator,
    Faults,
    SimMessage,
    load_method_specs,
    parse_html,
)


@pytest.fixture
async def sim() -> AsyncIterator[BotApiSimulator]:
    async with BotApiSimulator(token="123:TEST", bot_username="petition_test_bot") as simulator:
        yield simulator


def build_app(sim: BotApiSimulator) -> Application:
    return (
        ApplicationBuilder()
        .token(sim.token)
        .base_url(sim.base_url)
        .base_file_url(sim.base_file_url)
        .build()
    )


@contextlib.asynccontextmanager
async def running(sim: BotApiSimulator, *handlers: Any) -> AsyncIterator[Application]:
    """A polling PTB Application; handler exceptions fail the test instead of vanishing in logs."""
    app = build_app(sim)
    errors: list[BaseException] = []

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error or RuntimeError("an error without an exception"))

    for handler in handlers:
        app.add_handler(handler)
    app.add_error_handler(on_error)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert not errors, errors


@contextlib.asynccontextmanager
async def bare_bot(sim: BotApiSimulator) -> AsyncIterator[Any]:
    """An initialised Bot without polling, for direct API calls."""
    app = build_app(sim)
    await app.initialize()
    try:
        yield app.bot
    finally:
        await app.shutdown()


async def polling(sim: BotApiSimulator, polls: int) -> None:
    """Wait until the simulator has begun ``polls`` getUpdates calls (a long poll is waiting)."""
    deadline = asyncio.get_running_loop().time() + 10
    while sim.polls < polls:
        assert asyncio.get_running_loop().time() < deadline, "the getUpdates call never began"
        await asyncio.sleep(0.001)


async def raw(
    sim: BotApiSimulator,
    method: str,
    *,
    token: str | None = None,
    data: dict[str, str] | None = None,
    json_body: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    url = f"{sim.base_url}{token or sim.token}/{method}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, json=json_body, params=query) as response,
    ):
        return response.status, await response.json()


# --------------------------------------------------------------------------- PTB end to end


async def test_command_reply_lands_with_html_parsed(sim: BotApiSimulator) -> None:
    async def new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user is not None and update.message is not None
        name = update.effective_user.first_name
        await update.message.reply_html(
            f"<b>新信访</b> from {name}: &lt;标题&gt; &amp; <i>内容</i>\n",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("确认提交", callback_data="submit")]]
            ),
        )

    user = sim.user(1001, first_name="王", language_code="zh-hans")
    async with running(sim, CommandHandler("new", new)):
        update = await user.send("/new@petition_test_bot")
        reply = await user.wait_for(text_contains="新信访")

    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 22}]
    assert reply.plain_text == "新信访 from 王: <标题> & 内容"
    assert (reply.text or "").startswith("<b>新信访</b>")
    assert reply.parse_mode == "HTML"
    assert reply.kind == "text"
    assert {"type": "bold", "offset": 0, "length": 3} in reply.entities
    assert reply.button_texts == ["确认提交"]
    assert user.messages == [reply]
    # The user's own message shares the chat's id counter with the bot's reply.
    assert reply.message_id == update["message"]["message_id"] + 1


async def test_inline_button_tap_reaches_callback_handler(sim: BotApiSimulator) -> None:
    seen: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = [
            [
                InlineKeyboardButton("同意", callback_data="vote:yes"),
                InlineKeyboardButton("反对", callback_data="vote:no"),
            ]
        ]
        assert update.message is not None
        await update.message.reply_text("请表决", reply_markup=InlineKeyboardMarkup(keyboard))

    async def vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and isinstance(query.data, str)
        seen.append(query.data)
        await query.answer("已记录", show_alert=True)
        await query.edit_message_text(f"结果: {query.data}")

    user = sim.user(1002)
    async with running(sim, CommandHandler("start", start), CallbackQueryHandler(vote)):
        await user.send("/start")
        ballot = await user.wait_for(text_contains="请表决")
        query_id = await user.tap("反对")
        edited = await user.wait_for(text_contains="结果")
        assert edited.plain_text == "结果: vote:no"

        with pytest.raises(AssertionError, match="visible buttons"):
            await user.tap("弃权")

        await user.tap_data(ballot, "forged:data")
        await user.wait_for(text_contains="forged")

    assert seen == ["vote:no", "forged:data"]
    assert edited is ballot
    assert [h["plain_text"] for h in edited.history] == ["请表决", "结果: vote:no"]
    assert edited.buttons == []  # an edit that does not repeat the keyboard removes it
    assert user.callback_answers[0] == {
        "callback_query_id": query_id,
        "text": "已记录",
        "show_alert": True,
    }


async def test_user_photo_is_downloadable_through_getfile(sim: BotApiSimulator) -> None:
    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        file = await update.message.photo[-1].get_file()
        data = await file.download_as_bytearray()
        is_png = bytes(data[:4]) == b"\x89PNG"
        await update.message.reply_text(f"got {len(data)} bytes, png={is_png}")

    user = sim.user(1003)
    async with running(sim, MessageHandler(filters.PHOTO, photo)):
        await user.send_photo(caption="证据")
        reply = await user.wait_for(text_contains="got")

    assert reply.visible_text.endswith("png=True")
    assert any(name == "<download>" for name, _, _ in sim.calls)


async def test_user_edit_reply_and_other_content(sim: BotApiSimulator) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        replied = message.reply_to_message.text if message.reply_to_message else None
        kind = "edited" if update.edited_message else "new"
        await context.bot.send_message(message.chat_id, f"{kind}:{message.text}:{replied}")

    async def other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        assert message is not None
        what = "contact" if message.contact else "document" if message.document else "other"
        await message.reply_text(f"kind={what}")

    user = sim.user(1004)
    group = sim.group(-100123, title="信访工作群")
    in_group = user.in_chat(group)
    async with running(
        sim, MessageHandler(filters.TEXT, echo), MessageHandler(~filters.TEXT, other)
    ):
        update = await user.send("first")
        first = await user.wait_for(text_contains="new:first")
        await user.edit(update["message"]["message_id"], "changed")
        await user.wait_for(text_contains="edited:changed")
        await user.reply_to(first, "answer")
        await user.wait_for(text_contains="new:answer:new:first:None")
        await user.send_contact()
        await user.wait_for(text_contains="kind=contact")
        await in_group.send_document(file_name="材料.pdf", size=2048)
        await in_group.wait_for(text_contains="kind=document")

    assert group.members == {1004: "member"}
    assert [m.plain_text for m in group.messages] == ["kind=document"]


# --------------------------------------------------------------------------- refusals


async def test_ptb_gets_bad_request_for_what_telegram_refuses(sim: BotApiSimulator) -> None:
    user = sim.user(1005)
    async with bare_bot(sim) as bot:
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(user.id, "<b>unclosed", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(user.id, "1 < 2", parse_mode="HTML")
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(user.id, "长" * 4097)
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(user.id, "<b> </b>", parse_mode="HTML")
        too_long_data = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(user.id, "hi", reply_markup=too_long_data)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(999, "hi")
        with pytest.raises(BadRequest, match="Text is required"), pytest.warns(PTBUserWarning):
            await bot.do_api_request("sendMessage", api_kwargs={"chat_id": user.id})
        with pytest.raises(EndPointNotFound):  # PTB's reading of Telegram's 404
            await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": user.id})

        sent = await bot.send_message(user.id, "长" * 4096)  # exactly the limit is fine
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("长" * 4096, chat_id=user.id, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", chat_id=user.id, message_id=12345)
        await bot.delete_message(user.id, sent.message_id)
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(user.id, sent.message_id)

        user.blocked = True
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(user.id, "hi")

    assert user.messages == []


async def test_raw_http_validation_and_parameter_decoding(sim: BotApiSimulator) -> None:
    user = sim.user(1006)

    assert await raw(sim, "getMe", token="999:WRONG") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    status, body = await raw(sim, "sendTelepathy", data={"chat_id": "1"})
    assert (status, body["description"]) == (404, "Not Found: method not found")
    status, body = await raw(sim, "sendMessage", data={"text": "hi"})
    assert (status, body["description"]) == (400, "Bad Request: chat_id is required")
    status, body = await raw(
        sim, "sendMessage", data={"chat_id": str(user.id), "text": "x", "colour": "red"}
    )
    assert (status, body["description"]) == (400, "Bad Request: unknown parameter colour")
    status, body = await raw(
        sim, "sendMessage", data={"chat_id": str(user.id), "text": "<i>x", "parse_mode": "HTML"}
    )
    assert status == 400 and body["description"].startswith("Bad Request: can't parse entities:")
    markup = '{"inline_keyboard": [[{"text": "x", "callback_data": "%s"}]]}' % ("d" * 65)
    status, body = await raw(
        sim, "sendMessage", data={"chat_id": str(user.id), "text": "x", "reply_markup": markup}
    )
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    status, body = await raw(sim, "sendMessage", data={"chat_id": str(user.id), "text": "x" * 4097})
    assert (status, body["description"]) == (400, "Bad Request: message is too long")

    # A String field keeps "123" a string, chat_id and booleans are decoded,
    # and method names are case-insensitive.
    status, body = await raw(
        sim,
        "SENDMESSAGE",
        data={"chat_id": str(user.id), "text": "123", "disable_notification": "true"},
    )
    assert status == 200 and body["result"]["text"] == "123"
    assert sim.calls_to("sendMessage")[-1] == {
        "chat_id": user.id,
        "text": "123",
        "disable_notification": True,
    }
    status, body = await raw(sim, "sendMessage", json_body={"chat_id": user.id, "text": "json"})
    assert status == 200 and body["result"]["chat"] == {
        "id": user.id,
        "type": "private",
        "first_name": "Tester",
    }
    status, body = await raw(sim, "getChat", query={"chat_id": str(user.id)})
    assert status == 200 and body["result"]["id"] == user.id
    # Methods the simulator does not model still answer after validation.
    status, body = await raw(sim, "setMyDescription", data={"description": "信访"})
    assert (status, body) == (200, {"ok": True, "result": True})
    assert [m.plain_text for m in user.messages] == ["123", "json"]
    assert sim.stats.errors == 7


async def test_spec_is_packaged_and_complete() -> None:
    specs = load_method_specs()
    assert len(specs) >= 150
    assert specs["sendMessage"]["text"] == {"types": ["String"], "required": True}
    assert specs["sendMessage"]["chat_id"]["types"] == ["Integer", "String"]
    assert specs["getMe"] == {}


def test_html_parser_follows_telegram_rules() -> None:
    plain, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre> <a href="https://t.me">😀链接</a>'
        ' <span class="tg-spoiler">s</span> <blockquote expandable>q</blockquote> &#60;&quot;'
    )
    assert plain == 'x = 1 😀链接 s q <"'
    assert entities[0] == {"type": "pre", "language": "python", "offset": 0, "length": 5}
    assert entities[1] == {"type": "text_link", "url": "https://t.me", "offset": 6, "length": 4}
    assert [e["type"] for e in entities[2:]] == ["spoiler", "expandable_blockquote"]
    for bad in (
        "a & b",
        "&nbsp;",
        "<br>",
        "<b>x</i>",
        "<b>x",
        "x</b>",
        "<span>x</span>",
        "</>",
        "&amp",
    ):
        with pytest.raises(ApiError, match=r"(?i)can't parse entities"):
            parse_html(bad)


# --------------------------------------------------------------------------- bot features


async def test_media_commands_and_chat_methods_parse_in_ptb(sim: BotApiSimulator) -> None:
    user = sim.user(1007, first_name="李")
    group = sim.group(-100456, title="工作群")
    group.members[user.id] = "administrator"
    async with bare_bot(sim) as bot:
        photo = await bot.send_photo(
            user.id, b"\x89PNG fake", caption="<b>图</b>", parse_mode="HTML"
        )
        document = await bot.send_document(user.id, b"%PDF", filename="回执.pdf")
        voice = await bot.send_voice(user.id, b"OggS", duration=4)
        video = await bot.send_video(user.id, b"mp4", caption="v")
        audio = await bot.send_audio(user.id, b"mp3")
        animation = await bot.send_animation(user.id, b"gif")
        album = await bot.send_media_group(
            user.id, [InputMediaPhoto(b"a"), InputMediaPhoto(photo.photo[-1].file_id)]
        )
        copied = await bot.copy_message(group.id, user.id, document.message_id, caption="转")
        forwarded = await bot.forward_message(group.id, user.id, photo.message_id)
        await bot.send_message(user.id, "选择", reply_markup=ReplyKeyboardMarkup([["是", "否"]]))
        assert await bot.send_chat_action(user.id, "typing")
        chat = await bot.get_chat(group.id)
        member = await bot.get_chat_member(group.id, user.id)
        downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()

        scope = BotCommandScopeChat(user.id)
        await bot.set_my_commands([BotCommand("new", "提交信访")], scope=scope, language_code="zh")
        await bot.set_my_commands([BotCommand("help", "Help")])
        commands = await bot.get_my_commands(scope=scope, language_code="zh")
        await bot.set_chat_menu_button(user.id, MenuButtonCommands())
        await bot.delete_my_commands()

    assert photo.caption == "图" and photo.caption_entities[0].type == "bold"
    assert document.document.file_name == "回执.pdf" and bytes(downloaded) == b"%PDF"
    assert voice.voice.mime_type == "audio/ogg"
    assert sim.calls_to("sendVoice")[0]["duration"] == 4
    assert video.video and audio.audio and animation.animation
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    assert album[1].photo[-1].file_id == photo.photo[-1].file_id
    assert forwarded.forward_origin.sender_user.id == sim.bot_user["id"]
    assert chat.title == "工作群" and member.status == "administrator"
    assert [c.command for c in commands] == ["new"]
    assert sim.commands(scope, "zh") == sim.commands({"type": "chat", "chat_id": user.id}, "zh")
    assert sim.commands(scope, "zh") == [{"command": "new", "description": "提交信访"}]
    assert sim.commands() == []
    assert sim.menu_buttons[user.id] == {"type": "commands"}
    assert [m.kind for m in user.messages] == [
        "photo",
        "document",
        "voice",
        "video",
        "audio",
        "animation",
        "photo",
        "photo",
        "text",
    ]
    assert user.reply_keyboard == [["是", "否"]]
    assert user.chat.actions == ["typing"]
    assert copied.message_id == 1 and [m.plain_caption for m in group.messages] == ["转", "图"]


async def test_caption_and_markup_edits_are_tracked(sim: BotApiSimulator) -> None:
    user = sim.user(1012)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("办理", callback_data="handle")]])
    async with bare_bot(sim) as bot:
        photo = await bot.send_photo(user.id, b"img", caption="待办", reply_markup=keyboard)
        await bot.edit_message_caption(
            user.id,
            photo.message_id,
            caption="<i>办理中</i>",
            parse_mode="HTML",
            reply_markup=keyboard,
        )
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(user.id, photo.message_id, reply_markup=keyboard)
        await bot.edit_message_reply_markup(user.id, photo.message_id, reply_markup=None)
        with pytest.raises(BadRequest, match="There is no text in the message to edit"):
            await bot.edit_message_text("x", chat_id=user.id, message_id=photo.message_id)

    [stored] = user.messages
    assert (stored.caption, stored.plain_caption, stored.buttons) == ("<i>办理中</i>", "办理中", [])
    assert [h["plain_caption"] for h in stored.history] == ["待办", "办理中"]


async def test_get_updates_long_polling_semantics(sim: BotApiSimulator) -> None:
    user = sim.user(1008)

    started = time.monotonic()
    poll = asyncio.create_task(raw(sim, "getUpdates", data={"timeout": "5"}))
    await polling(sim, 1)
    await user.send("wake up")
    status, body = await poll
    assert status == 200 and time.monotonic() - started < 2
    first_id = body["result"][0]["update_id"]

    await user.send("second")
    await user.send("third")
    _, body = await raw(sim, "getUpdates", data={"offset": str(first_id + 1), "limit": "1"})
    assert [u["message"]["text"] for u in body["result"]] == ["second"]
    _, body = await raw(sim, "getUpdates", data={"offset": str(first_id + 2)})
    assert [u["message"]["text"] for u in body["result"]] == ["third"]

    # A redelivered update comes again with its original id, even though it was confirmed.
    await sim.redeliver(first_id)
    _, body = await raw(sim, "getUpdates", data={"offset": str(first_id + 3)})
    assert [u["update_id"] for u in body["result"]] == [first_id]

    # allowed_updates filters (and drops) what the bot did not ask for.
    sent = await raw(sim, "sendMessage", data={"chat_id": str(user.id), "text": "menu"})
    await user.send("text")
    await user.tap_data(sent[1]["result"]["message_id"], "cb")
    _, body = await raw(
        sim,
        "getUpdates",
        data={"offset": str(first_id + 3), "allowed_updates": '["callback_query"]'},
    )
    assert [next(k for k in u if k != "update_id") for u in body["result"]] == ["callback_query"]

    # A second poller terminates the first one, as Telegram does.
    waiting = asyncio.create_task(
        raw(sim, "getUpdates", data={"timeout": "5", "offset": str(first_id + 1000)})
    )
    await polling(sim, sim.polls + 1)
    await raw(sim, "getUpdates", data={"timeout": "0", "offset": str(first_id + 1000)})
    status, body = await waiting
    assert status == 409 and "terminated by other getUpdates" in body["description"]


async def test_wait_for_timeout_shows_the_conversation(sim: BotApiSimulator) -> None:
    user = sim.user(1009)
    await raw(sim, "sendMessage", data={"chat_id": str(user.id), "text": "只有这条"})
    with pytest.raises(AssertionError, match="只有这条"):
        await user.wait_for(text_contains="不存在", timeout=0.1)
    found = await user.wait_for(predicate=lambda m: m.plain_text == "只有这条", after=0)
    assert isinstance(found, SimMessage)


# --------------------------------------------------------------------------- faults


@pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
async def test_faults_answer_429_with_retry_after(sim: BotApiSimulator) -> None:
    user = sim.user(1010)
    sim.faults = Faults(rate=1.0, kinds=("429",), methods={"sendMessage"}, retry_after=7, seed=1)
    status, body = await raw(sim, "sendMessage", data={"chat_id": str(user.id), "text": "x"})
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    async with bare_bot(sim) as bot:  # getMe is not a faulty method
        with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
            await bot.send_message(user.id, "x")
        sim.faults = Faults(rate=1.0, kinds=("500",))
        with pytest.raises(NetworkError):
            await bot.send_message(user.id, "x")
        sim.faults = Faults(rate=1.0, kinds=("timeout",), hang_seconds=0.5)
        with pytest.raises(TimedOut):
            await bot.send_message(user.id, "x", read_timeout=0.1)
        sim.faults = None
        await bot.send_message(user.id, "recovered")
    assert sim.stats.faults_429 == 2 and sim.stats.faults_500 == 1 and sim.stats.faults_timeout == 1
    assert [m.plain_text for m in user.messages] == ["recovered"]


def test_partial_fault_rate_is_reproducible() -> None:
    outcomes = []
    for _ in range(2):
        faults = Faults(rate=0.3, kinds=("429", "500"), seed=42)
        outcomes.append([faults.pick("sendMessage") for _ in range(50)])
    assert outcomes[0] == outcomes[1]
    assert 5 <= sum(o is not None for o in outcomes[0]) <= 25


async def test_rate_limits_per_private_chat() -> None:
    async with BotApiSimulator(enforce_rate_limits=True) as sim:
        user = sim.user(1011)
        assert (await raw(sim, "sendMessage", data={"chat_id": str(user.id), "text": "1"}))[
            0
        ] == 200
        status, body = await raw(sim, "sendMessage", data={"chat_id": str(user.id), "text": "2"})
        assert status == 429 and body["parameters"]["retry_after"] == 1
        assert sim.stats.rate_limited == 1 and sim.stats.too_many_requests == 1
