"""The Mini App (Telegram Web App): the page at ``/app/``, its data at ``/app/api/…``.

One more HTTP surface of the bot's own process, on ``PETITION_WEBAPP_LISTEN``
(default ``127.0.0.1:8090``), served by tornado like ``/healthz`` and the
webhook (bot/metrics.py says why tornado: it runs in the bot's asyncio loop,
so a request awaits the store directly, and it is already a dependency). In
production the reverse proxy that carries the webhook forwards
``https://…/app/`` here; ``PETITION_WEBAPP_URL`` is that public URL, which the
bot sets as the menu button of every staff member's chat.

Every ``/app/api`` request carries ``Authorization: tma <initData>``;
``bot/initdata.py`` checks it with the bot token (HMAC, ``auth_date`` within an
hour) and anything else is answered 401 before the store is asked anything.
The user is then exactly who Telegram said, with the role the organisation
file gives them, and every answer goes through the store's scope rules
(``handlers/webapp_api.py``).

The page (``bot/webapp_static/``) is plain HTML, CSS and JavaScript in the
package: nothing is fetched from the internet, not even Telegram's script
(the page reads ``#tgWebAppData`` and the theme from the URL fragment itself).
"""

from __future__ import annotations

import json
import logging
import re
import socket
from datetime import date
from importlib import resources
from typing import Any
from urllib.parse import quote

from telegram import Bot, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler, StaticFileHandler

from bot.initdata import InitDataError, WebAppUser, verify
from bot.network import split_listen
from bot.webapp_links import LinkError, check_link, link_token
from handlers import webapp_api
from handlers.common import error_text
from handlers.i18n import language_for, t
from handlers.webapp_api import plain
from store.desk import DeskQuery
from store.errors import Forbidden, NoDocument, NoFile, NotFound, StoreError
from store.models import Actor
from store.services import Services

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8090"
STATIC = resources.files("bot").joinpath("webapp_static")
BODY_MAX = 16 * 1024


class WebAppServer:
    """The page and its API over one open store, for one bot token."""

    def __init__(self, services: Services, token: str, bot: Bot | None = None) -> None:
        self.services = services
        self.token = token
        self.bot = bot  # fetches a case's files from Telegram for staff (None: files open in chat only)
        self._server: HTTPServer | None = None
        self.port: int | None = None

    def application(self) -> WebApplication:
        args = {"app": self}
        return WebApplication(
            [
                (r"/app/api/me", _Me, args),
                (r"/app/api/texts/(zh|en)", _Texts),
                (r"/app/api/dashboard", _Dashboard, args),
                (r"/app/api/cases", _Cases, args),
                (r"/app/api/mine", _Mine, args),
                (r"/app/api/case/([A-Za-z0-9-]{1,40})", _Case, args),
                (r"/app/api/case/([A-Za-z0-9-]{1,40})/documents", _Documents, args),
                (r"/app/api/case/([A-Za-z0-9-]{1,40})/documents/([a-z_]{1,20})", _DocumentPdf, args),
                (r"/app/api/case/([A-Za-z0-9-]{1,40})/files/([0-9]{1,12})", _CaseFile, args),
                (r"/app/api/case/([A-Za-z0-9-]{1,40})/([a-z_]{1,20})", _Act, args),
                (r"/app/api/.*", _NoSuchApi, args),
                (r"/app", _ToSlash),
                (r"/app/()", _Static, {"path": str(STATIC), "default_filename": "index.html"}),
                (r"/app/(app\.js|app\.css)", _Static, {"path": str(STATIC)}),
            ],
            log_function=_access_log,
        )

    async def start(self, listen: str) -> bool:
        """Listen on ``host:port`` (port 0: any free port, see ``port``); False if it cannot bind."""
        host, port = split_listen(listen)
        try:
            sockets = bind_sockets(port, host, family=socket.AF_UNSPEC)
        except OSError as error:
            log.error("Mini App NOT started: cannot listen on %s: %s", listen, error.strerror)
            return False
        self._server = HTTPServer(self.application(), xheaders=True, max_body_size=BODY_MAX)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        log.info("Mini App on http://%s:%s/app/", host, self.port)
        return True

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    async def language(self, user: WebAppUser) -> str:
        """The language the bot speaks with this user: the one chosen in chat, else Telegram's."""
        chosen = await self.services.cases.user_language(user.id)
        return language_for(chosen or user.language_code)

    def signed(self, user_id: int, number: str, item: str, path: str) -> str:
        """A download URL under ``/app/api/`` that works without the header for a few minutes (bot/webapp_links.py)."""
        return f"{path}?t={quote(link_token(self.token, user_id, number, item), safe='')}"


def _access_log(handler: RequestHandler) -> None:
    """Tornado's access line without the query string: a download link's token names its user."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    request = handler.request
    logging.getLogger("tornado.access").log(level, "%d %s %s (%s) %.2fms", status, request.method, request.path,
                                            request.remote_ip, 1000.0 * request.request_time())


#: A content type as Telegram reports the sender's file (anything else is handed out as bytes).
_MIME = re.compile(r"^[A-Za-z0-9.+-]{1,64}/[A-Za-z0-9.+-]{1,100}$")


class _Texts(RequestHandler):
    """The page's texts, before anyone is known (the page must say "open me from Telegram" in a language)."""

    def get(self, lang: str) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(webapp_api.page_texts(lang), ensure_ascii=False))


class _ToSlash(RequestHandler):
    def get(self) -> None:
        self.redirect("/app/", permanent=False)


class _Static(StaticFileHandler):
    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Content-Type-Options", "nosniff")
        # Nothing from anywhere else: no CDN, no inline script.
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors *",
        )


class _Api(RequestHandler):
    """Checks ``initData`` before anything; answers JSON."""

    def initialize(self, app: WebAppServer) -> None:
        self.app = app
        self.actor: Actor | None = None
        self.lang = "zh"

    async def prepare(self) -> None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, data = header.partition(" ")
        try:
            if scheme.lower() != "tma":
                raise InitDataError("no tma authorization")
            user = verify(data.strip(), self.app.token)
        except InitDataError as error:
            log.info("Mini App: refused a request (%s)", error)
            self.set_status(401)
            self.set_header("WWW-Authenticate", "tma")
            self._json({"error": "unauthorized"})
            return
        self.actor = self.app.services.context.actor(user.id, user.first_name)
        self.lang = await self.app.language(user)

    def _json(self, payload: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload, ensure_ascii=False))

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, StoreError):
            return  # a refusal is an answer (write_error gives it), not a fault
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The one path from a refusal the store raised to its answer: the status and the chat's words."""
        error = kwargs["exc_info"][1] if "exc_info" in kwargs else None
        if isinstance(error, StoreError):
            self.refuse(error)
            return
        super().write_error(status_code, **kwargs)

    def refuse(self, error: StoreError) -> None:
        if isinstance(error, NotFound | NoDocument | NoFile):
            self.set_status(404)
        else:
            self.set_status(403 if isinstance(error, Forbidden) else 400)
        # The chat's words for the refusal (dates as people read them), as plain text.
        self._json({"error": error.code, "message": plain(error_text(self.lang, error))})

    @property
    def who(self) -> Actor:
        assert self.actor is not None
        return self.actor


class _NoSuchApi(_Api):
    def get(self) -> None:
        self.set_status(404)
        self._json({"error": "no_such_api"})


class _Me(_Api):
    def get(self) -> None:
        self._json(webapp_api.me(self.app.services, self.who, self.lang))


class _Dashboard(_Api):
    async def get(self) -> None:
        payload = await webapp_api.dashboard(
            self.app.services, self.who, self.lang,
            period=self.get_query_argument("period", None) or None,
            unit=self.get_query_argument("unit", None) or None,
        )
        self._json(payload)


class _Cases(_Api):
    async def get(self) -> None:
        def arg(name: str) -> str | None:
            value = self.get_query_argument(name, None)
            return value.strip() if value and value.strip() else None

        try:
            level = arg("level")
            due = arg("due_before")
            query = DeskQuery(
                state=arg("state") or "open",
                level=int(level) if level and level.isdigit() else None,
                category=arg("category"),
                unit=arg("unit"),
                channel=arg("channel"),
                due_before=date.fromisoformat(due) if due else None,
                q=arg("q"),
                metric=arg("metric"),
                period=arg("period"),
                offset=int(arg("offset") or 0),
                limit=int(arg("limit") or 30),
            )
        except ValueError:
            raise StoreError("bad_filter") from None
        payload = await webapp_api.case_list(self.app.services, self.who, query, self.lang)
        self._json(payload)


class _Case(_Api):
    async def get(self, number: str) -> None:
        payload = await webapp_api.case_detail(self.app.services, self.who, number, self.lang)
        self._json(payload)


class _Mine(_Api):
    """The employee's own cases (``/mycases``): anyone may ask, each gets their own."""

    async def get(self) -> None:
        offset = self.get_query_argument("offset", "0")
        assert self.who.id is not None
        self._json(await webapp_api.my_cases(self.app.services, self.who.id, self.lang,
                                             int(offset) if offset.isdigit() else 0))


class _Documents(_Api):
    """The case's written notices and (for staff) its files, each with a short-lived download link."""

    async def get(self, number: str) -> None:
        payload = await webapp_api.documents(self.app.services, self.who, number, self.lang)
        assert self.who.id is not None
        payload["files_in_chat"] = self.app.bot is None and bool(payload["files"])
        for entry in payload["documents"] + payload["files"]:
            item, path = entry.pop("item"), entry.pop("path")
            # Without a bot the files cannot be fetched from Telegram: they are listed, and opened in chat.
            offered = self.app.bot is not None or item.startswith("doc:")
            entry["url"] = self.app.signed(self.who.id, payload["number"], item, path) if offered else ""
        self._json(payload)


class _Download(_Api):
    """A file: authenticated by the header's initData, or by a link token for this case and item (``?t=``)."""

    def item(self) -> tuple[str, str]:
        raise NotImplementedError

    async def prepare(self) -> None:
        value = self.get_query_argument("t", None)
        if value is None:
            await super().prepare()
            return
        number, item = self.item()
        try:
            user_id = check_link(value, self.app.token, number, item)
        except LinkError as error:
            log.info("Mini App: refused a download link (%s)", error)
            self.set_status(401)
            self._json({"error": "unauthorized"})
            return
        self.actor = self.app.services.context.actor(user_id)
        self.lang = language_for(await self.app.services.cases.user_language(user_id))

    def send_file(self, name: str, content_type: str, data: bytes) -> None:
        self.set_header("Content-Type", content_type if _MIME.match(content_type) else "application/octet-stream")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "sandbox")  # a file is never a page of this origin
        ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
        self.set_header("Content-Disposition", f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}")
        self.finish(data)


class _DocumentPdf(_Download):
    def item(self) -> tuple[str, str]:
        number, kind = self.path_args
        return number, f"doc:{kind}"

    async def get(self, number: str, kind: str) -> None:
        name, data = await webapp_api.document_pdf(self.app.services, self.who, number, kind)
        self.send_file(name, "application/pdf", data)


class _CaseFile(_Download):
    def item(self) -> tuple[str, str]:
        number, file_id = self.path_args
        return number, f"file:{file_id}"

    async def get(self, number: str, file_id: str) -> None:
        case, attachment, name = await webapp_api.case_file(
            self.app.services, self.who, number, int(file_id), self.lang)
        if self.app.bot is None:
            self.set_status(404)
            self._json({"error": "files_in_chat"})
            return
        try:
            found = await self.app.bot.get_file(attachment.file_id)
            data = bytes(await found.download_as_bytearray())
        except TelegramError as error:
            log.warning("Mini App: a case file could not be fetched from Telegram: %s", error)
            self.set_status(502)
            self._json({"error": "file_unavailable", "message": plain(t(self.lang, "webapp.file_unavailable"))})
            return
        self.send_file(name, attachment.mime_type or "application/octet-stream",
                       webapp_api.file_bytes_for(case, attachment, data))


class _Act(_Api):
    async def post(self, number: str, action: str) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise StoreError("bad_filter")
        payload = await webapp_api.act(self.app.services, self.who, number, action, body, self.lang)
        self._json(payload)


async def set_menu_buttons(bot: Bot, services: Services, url: str) -> int:
    """The Mini App as the menu button: every chat's default (employees: their own cases), then each staff
    member's chat in their language; how many were set. Never raises."""
    done = 0
    try:
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(text=plain(t("zh", "webapp.menu_button_mine")), web_app=WebAppInfo(url=url)))
        done += 1
    except TelegramError as error:
        log.warning("the Mini App is not the default menu button: %s", error)
    for member in services.org.staff:
        lang = language_for(await services.cases.user_language(member.telegram_id))
        try:
            await bot.set_chat_menu_button(
                chat_id=member.telegram_id,
                menu_button=MenuButtonWebApp(text=plain(t(lang, "webapp.menu_button")), web_app=WebAppInfo(url=url)),
            )
            done += 1
        except TelegramError as error:  # usually: this person has not opened the bot yet
            log.info("a Mini App menu button is not set yet: %s", error)
    return done
