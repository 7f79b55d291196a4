"""``petition-bot`` command line: run, demo, check-config, init, verify-journal, rotate-key, report, import, roster, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import locale
import logging
import os
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.backup import plain
from bot.settings import ConfigMissing, Settings, load_organization
from handlers.i18n import t
from store.org import Organization, OrgError, missing_holiday_notice, starter_toml

if TYPE_CHECKING:  # the commands import what they use when they run: a fast --help
    from bot.tables import TableFileError

SQLITE_HEADER = b"SQLite format 3\x00"
ENVIRONMENT = """environment variables:
  PETITION_BOT_TOKEN     the bot's token from @BotFather (required)
  PETITION_CONFIG        the organisation file (default: petition-bot.toml; if that is
                         missing too, the built-in example organisation runs, with a warning)
  PETITION_DB            the SQLite database (default: petitions.db)
  PETITION_API_URL       the Bot API (default: https://api.telegram.org/bot)
  PETITION_API_FILE_URL  its file URL (default: derived from PETITION_API_URL)
  PETITION_LOG_LEVEL     DEBUG, INFO (default), WARNING or ERROR
  PETITION_LOG_FORMAT    text (default) or json (one object per line, for log shippers)
  PETITION_PROXY         http://, https:// or socks5:// proxy for every Bot API call
  PETITION_WEBHOOK_URL   receive updates at this https URL instead of long polling
  PETITION_WEBHOOK_LISTEN  where the webhook server listens (default: 127.0.0.1:8443)
  PETITION_WEBHOOK_SECRET  Telegram's secret token for the webhook (default: a new one each start)
  PETITION_WEBHOOK_PATH  the local path, when a reverse proxy rewrites it
  PETITION_METRICS_LISTEN  /healthz and /metrics (default: 127.0.0.1:9464; empty: off)
  PETITION_KEY_FILE      the vault's key file (default: beside the database, petitions.key;
                         created 0600 at first run or by init); keep a copy apart from backups
  PETITION_SECRET_KEY    the key itself instead of a file (the file's one line)
"""


def default_lang() -> str:
    """Chinese if the locale is Chinese (LC_ALL, LC_MESSAGES, LANG, as gettext reads them), else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    code = locale.getlocale()[0] or ""
    return "zh" if code.lower().startswith("zh") else "en"


def say(lang: str, key: str, **params: object) -> str:
    return plain(t(lang, f"cli.{key}", **params))


def fail(lang: str, key: str, **params: object) -> int:
    """One line on stderr; exit status 1."""
    print(say(lang, key, **params), file=sys.stderr)
    return 1


def _settings(lang: str = "en") -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors():
            field = "PETITION_" + "_".join(str(p) for p in problem["loc"]).upper()
            print(say(lang, "setting_invalid", name=field, error=problem["msg"]), file=sys.stderr)
        raise SystemExit(2) from error


def _organization(settings: Settings, lang: str) -> tuple[Organization, str] | int:
    """The organisation and where it came from, or the exit status after saying what is wrong."""
    try:
        org, _source = load_organization(settings)
    except ConfigMissing as error:
        return fail(lang, "config_missing", path=error.path)
    except OrgError as error:
        print(say(lang, "config_errors", path=settings.config), file=sys.stderr)
        for line in error.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    if not settings.config.is_file():
        logging.getLogger("petition-bot").warning(say(lang, "example_in_use", path=settings.config))
        return org, say(lang, "source_example", path=settings.config)
    return org, say(lang, "source_file", path=settings.config)


def _database_problem(target: str | Path, lang: str) -> str | None:
    """Why ``target`` cannot be opened as the bot's database, in one line; None if it can.

    A PostgreSQL URL is checked by connecting to it, when the command does.
    """
    from store.db import is_postgres_url

    if is_postgres_url(target):
        return None
    path = Path(target)
    if not path.is_file():
        return say(lang, "no_database", path=path)
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        return say(lang, "not_database", path=path, error=error.strerror or error)
    if header != SQLITE_HEADER:
        return say(lang, "not_database", path=path, error="file is not a database")
    return None


def _folder_problem(path: Path, lang: str) -> str | None:
    folder = path.parent
    if not folder.is_dir():
        return say(lang, "folder_missing", path=path, folder=folder)
    return None


async def check_token(token: str, api_url: str, lang: str, proxy: str | None = None) -> str | None:
    """Ask the Bot API who the token belongs to (getMe); a line saying what failed, or None."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.request import AiohttpRequest

    request = AiohttpRequest(1, connect_timeout=10.0, read_timeout=10.0, proxy=proxy)
    bot = Bot(token, base_url=api_url, request=request)
    try:
        async with bot:  # initialising a Bot asks getMe
            pass
    except InvalidToken:  # its message repeats the token: not for a terminal or a log
        return say(lang, "token_refused", api=api_url)
    except NetworkError as error:
        return say(lang, "api_unreachable", api=api_url, error=error.message.replace(token, "…"))
    except TelegramError:
        return say(lang, "token_refused", api=api_url)
    return None


def cmd_run(args: argparse.Namespace) -> int:
    lang = args.lang
    settings = _settings(lang)
    token = settings.bot_token.get_secret_value().strip() if settings.bot_token is not None else ""
    from bot.logs import setup as setup_logging
    from bot.webhook import log_secrets, serve_options

    # No person and no token in the log at any level (bot/logs.py).
    setup_logging(settings.log_level, secrets=[token, *log_secrets(settings)], fmt=settings.log_format)
    if not token:
        print(say(lang, "token_missing"), file=sys.stderr)
        return 2
    try:
        options = serve_options(settings, getattr(args, "webhook", None))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    found = _organization(settings, lang)
    if isinstance(found, int):
        return found
    org, source = found
    # The token before the store: a wrong token or no network creates no database.
    proxy = settings.proxy.get_secret_value().strip() if settings.proxy is not None else None
    problem = asyncio.run(check_token(token, settings.api_url, lang, proxy=proxy))
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    from bot.pgtools import display
    from store.db import is_postgres_url

    if not is_postgres_url(settings.db) and (problem := _folder_problem(Path(settings.db), lang)) is not None:
        print(problem, file=sys.stderr)
        return 1
    logging.getLogger("petition-bot").info(say(lang, "using", source=source, db=display(settings.db)))
    if (year := missing_holiday_notice(org, dt.datetime.now(org.organization.tz).date())) is not None:
        logging.getLogger("petition-bot").warning(plain(t(lang, "procedure.calendar_missing", year=year)))
    from telegram.error import InvalidToken

    from bot.app import serve
    from store.vault import VaultError

    try:
        asyncio.run(
            serve(
                token=token,
                db_path=settings.db,
                org=org,
                base_url=settings.api_url,
                base_file_url=settings.api_file_url or settings.api_url,
                load_org=_reload_source(settings),
                **options,
            )
        )
    except InvalidToken:
        # Refused after the check (revoked meanwhile). PTB's message quotes the token: one line instead.
        print(say(lang, "token_refused", api=settings.api_url), file=sys.stderr)
        return 1
    except VaultError as error:  # no key, or not this database's key: one line, no traceback
        print(str(error), file=sys.stderr)
        return 1
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from bot.orgcheck import check_config, config_warnings
    from store.org import load_org

    lang = args.lang
    path = Path(args.file) if args.file else _settings(lang).config
    if not path.is_file():
        return fail(lang, "no_such_file", path=path)
    ok, lines = check_config(path)
    if not ok:
        for line in lines:
            print(f"{path}: {line}", file=sys.stderr)
        return 1
    org = load_org(path)
    print(say(lang, "check_ok", units=len(org.units), categories=len(org.categories), staff=len(org.staff)))
    for warning in config_warnings(path):
        print(say(lang, "warning", text=f"{path}: {warning}"))
    if (year := missing_holiday_notice(org, dt.datetime.now(org.organization.tz).date())) is not None:
        print(say(lang, "warning", text=plain(t(lang, "procedure.calendar_missing", year=year))))
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    lang = args.lang
    path = Path(args.file)
    if (problem := _folder_problem(path, lang)) is not None:
        print(problem, file=sys.stderr)
        return 1
    if path.exists() and not args.force:
        return fail(lang, "exists_use_force", path=path)
    try:
        path.write_text(starter_toml(), encoding="utf-8")
    except OSError as error:
        return fail(lang, "cannot_write", path=path, error=error.strerror or error)
    print(say(lang, "wrote_starter", path=path))
    return _init_key(lang)


def _key_options(settings: Settings) -> dict[str, object]:
    return {
        "key_file": settings.key_file,
        "secret": settings.secret_key.get_secret_value() if settings.secret_key else None,
    }


def _init_key(lang: str) -> int:
    """``init`` also creates the vault's key file (0600) if there is none and no key in the environment."""
    from store.vault import VaultError, key_path, load_vault

    settings = _settings(lang)
    if settings.secret_key is not None:
        return 0
    path = key_path(settings.db, settings.key_file)
    if path is None or path.exists():
        return 0
    try:
        load_vault(settings.db, key_file=path)
    except (OSError, VaultError) as error:
        return fail(lang, "cannot_write", path=path, error=getattr(error, "strerror", None) or error)
    print(say(lang, "wrote_key", path=path))
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    """A new sealing key: every sealed value re-sealed in one transaction, then the key file replaced."""
    lang = args.lang
    settings = _settings(lang)
    db_path = _db_target(args)
    if (problem := _database_problem(db_path, lang)) is not None:
        print(problem, file=sys.stderr)
        return 1
    if settings.secret_key is not None:
        return fail(lang, "rotate_needs_file")
    from zoneinfo import ZoneInfo

    from store import vault_steps
    from store.db import open_database
    from store.files import write_private
    from store.vault import VaultError, key_path, load_vault

    path = key_path(db_path, settings.key_file)
    assert path is not None
    if not path.is_file():
        return fail(lang, "no_key_file", path=path)

    async def rotate() -> int:
        db = await open_database(db_path, ZoneInfo("UTC"))
        try:
            old = load_vault(db_path, key_file=path, create=False)
            await vault_steps.run(db, old)  # the key must open this database
            new = old.rotated()
            pending = path.with_name(path.name + ".new")
            write_private(pending, (new.key_text + "\n").encode("ascii"))  # kept if anything below fails
            count = await vault_steps.reseal(db, old, new)
            os.replace(pending, path)
        except VaultError as error:
            return fail(lang, "key_refused", path=path, error=error)
        finally:
            await db.close()
        print(say(lang, "key_rotated", path=path, count=count))
        return 0

    return asyncio.run(rotate())


def _db_errors() -> tuple[type[BaseException], ...]:
    """What opening or reading a database that is not (or no longer) usable raises, on either backend."""
    import sqlite3

    errors: tuple[type[BaseException], ...] = (sqlite3.DatabaseError, OSError)
    try:
        import psycopg
    except ImportError:
        return errors
    return (*errors, psycopg.Error)


def cmd_verify_journal(args: argparse.Namespace) -> int:
    lang = args.lang
    target = _db_target(args)
    if (problem := _database_problem(target, lang)) is not None:
        print(problem, file=sys.stderr)
        return 1
    from zoneinfo import ZoneInfo

    from bot.pgtools import display
    from store.db import open_database
    from store.incidents import verify_incident_journal
    from store.journal import verify
    from store.roster import verify_roster_journal
    from store.screening import verify_screening_journal
    from store.staffing import verify_staff_journal

    async def check() -> int:
        try:
            db = await open_database(target, ZoneInfo("UTC"))
        except _db_errors() as error:
            return fail(lang, "not_database", path=display(target), error=error)
        try:
            async with db.read() as conn:
                result = await verify(conn)
                incidents = await verify_incident_journal(conn)  # the group-incident plan's own chain
                screening = await verify_screening_journal(conn)  # the dispute screening register's
                roster = await verify_roster_journal(conn)  # the employee roster's and verifications'
                staffing = await verify_staff_journal(conn)  # staff changes made in chat
        except _db_errors() as error:
            return fail(lang, "not_database", path=display(target), error=error)
        finally:
            await db.close()
        if not result.ok:
            return fail(lang, "journal_broken", event=result.broken_event_id, reason=result.reason,
                        count=result.checked)
        if not incidents.ok:
            return fail(lang, "incident_journal_broken", event=incidents.broken_event_id, reason=incidents.reason,
                        count=incidents.checked)
        if not screening.ok:
            return fail(lang, "screening_journal_broken", event=screening.broken_event_id, reason=screening.reason,
                        count=screening.checked)
        if not roster.ok:
            return fail(lang, "roster_journal_broken", event=roster.broken_event_id, reason=roster.reason,
                        count=roster.checked)
        if not staffing.ok:
            return fail(lang, "staff_journal_broken", event=staffing.broken_event_id, reason=staffing.reason,
                        count=staffing.checked)
        print(say(lang, "journal_ok", count=result.checked))
        if incidents.checked:
            print(say(lang, "incident_journal_ok", count=incidents.checked))
        if screening.checked:
            print(say(lang, "screening_journal_ok", count=screening.checked))
        if roster.checked:
            print(say(lang, "roster_journal_ok", count=roster.checked))
        if staffing.checked:
            print(say(lang, "staff_journal_ok", count=staffing.checked))
        return 0

    return asyncio.run(check())


def cmd_demo(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR)
    # The loopback Bot API (botsim) is demo and test machinery, not part of the bot: imported here only.
    from bot.demo import main as demo

    return demo(args.lang)


def cmd_report(args: argparse.Namespace) -> int:
    """The indicators and the cases of a period, as /export sends them, into a file."""
    lang = args.lang
    settings = _settings(lang)
    db_path = _db_target(args)
    if (problem := _database_problem(db_path, lang)) is not None:
        print(problem, file=sys.stderr)
        return 1
    out = Path(args.out)
    if (problem := _folder_problem(out, lang)) is not None:
        print(problem, file=sys.stderr)
        return 1
    found = _organization(settings, lang)
    if isinstance(found, int):
        return found
    org = found[0]
    from handlers import reports
    from handlers.common import error_text
    from store.errors import StoreError
    from store.files import write_private
    from store.models import SYSTEM
    from store.services import Services

    async def build() -> int:
        services = await Services.open(db_path, org, **_key_options(settings))  # type: ignore[arg-type]
        try:
            data = await services.indicators.export_data(SYSTEM, args.unit, args.period)
            register = await services.screening.register_for_export(SYSTEM, data.report.period.end, args.unit)
        except StoreError as error:
            if error.code == "bad_period":
                return fail(lang, "bad_period", period=args.period)
            if error.code == "unknown_unit":
                return fail(lang, "unknown_unit", unit=args.unit)
            print(plain(error_text(lang, error)), file=sys.stderr)
            return 2
        finally:
            await services.close()
        try:
            if args.format == "xlsx":
                write_private(out, reports.xlsx_bytes(data, org, lang, services.tz, register))
                written = [out]
            else:
                indicators, cases = reports.csv_texts(data, org, lang, services.tz)
                cases_path = out.with_name(f"{out.stem}-cases{out.suffix or '.csv'}")
                write_private(out, indicators.encode("utf-8-sig"))
                write_private(cases_path, cases.encode("utf-8-sig"))
                written = [out, cases_path]
                if register is not None:
                    screening_path = out.with_name(f"{out.stem}-screening{out.suffix or '.csv'}")
                    write_private(screening_path, reports.screening_csv(register, org, lang).encode("utf-8-sig"))
                    written.append(screening_path)
        except OSError as error:
            return fail(lang, "cannot_write", path=out, error=error.strerror or error)
        print(say(lang, "report_written", label=data.report.period.label, cases=len(data.cases),
                  rows=len(data.report.rows), files=", ".join(str(p) for p in written)))
        return 0

    return asyncio.run(build())


def _file_command(args: argparse.Namespace, *, needs_file: bool) -> tuple[Settings, str, Path, Organization] | int:
    """What a command over a file and the store needs: settings, database, the file, the organisation (or exit 1)."""
    lang = args.lang
    settings = _settings(lang)
    db_path = _db_target(args)
    if Path(db_path).exists() and (problem := _database_problem(db_path, lang)) is not None:
        print(problem, file=sys.stderr)
        return 1
    path = Path(args.file)
    if needs_file and not path.is_file():
        return fail(lang, "no_such_file", path=path)
    found = _organization(settings, lang)
    if isinstance(found, int):
        return found
    return settings, db_path, path, found[0]


def _table_error(lang: str, area: str, path: Path, error: TableFileError) -> int:
    """A file that cannot be read as a table (bot/tables.py), in the command's own words; exit 1."""
    params = {k: ", ".join(v) if isinstance(v, list) else v for k, v in error.params.items()}
    print(plain(t(lang, f"{area}.file_{error.code}", path=path, **params)), file=sys.stderr)
    return 1


def cmd_import(args: argparse.Namespace) -> int:
    """Import the office's existing ledger (.xlsx or .csv): every bad row reported, the rest imported."""
    from bot.ledger_import import LedgerFileError, read_ledger, report_lines
    from handlers.common import error_text
    from store.errors import StoreError
    from store.models import SYSTEM
    from store.services import Services

    lang = args.lang
    prepared = _file_command(args, needs_file=True)
    if isinstance(prepared, int):
        return prepared
    settings, db_path, path, org = prepared
    staff = None
    if args.by:
        who = args.by.strip()
        staff = org.staff_member(int(who)) if who.isdigit() else next((s for s in org.staff if s.name == who), None)
        if staff is None:
            print(plain(t(lang, "import.not_staff", who=who)), file=sys.stderr)
            return 1
    try:
        headers, rows = read_ledger(path)
    except LedgerFileError as error:
        return _table_error(lang, "import", path, error)

    async def run() -> int:
        services = await Services.open(db_path, org, **_key_options(settings))  # type: ignore[arg-type]
        try:
            actor = services.context.actor(staff.telegram_id) if staff is not None else SYSTEM
            report = await services.ledger_import.run(rows, dry_run=args.dry_run, actor=actor)
        except StoreError as error:
            print(plain(t(lang, "import.failed", error=plain(error_text(lang, error)))), file=sys.stderr)
            return 1
        finally:
            await services.close()
        for line in report_lines(report, headers, path, lang):
            print(line)
        return 1 if report.bad else 0

    return asyncio.run(run())


def cmd_roster(args: argparse.Namespace) -> int:
    """``roster import FILE [--dry-run]`` (HR's whole list: all or nothing) and ``roster export FILE``."""
    from bot.roster_file import export_csv, read_roster, report_lines
    from bot.tables import TableFileError
    from store.files import write_private
    from store.services import Services

    lang = args.lang
    prepared = _file_command(args, needs_file=args.action == "import")
    if isinstance(prepared, int):
        return prepared
    settings, db_path, path, org = prepared
    if args.action == "import":
        try:
            headers, rows = read_roster(path)
        except TableFileError as error:
            return _table_error(lang, "roster", path, error)

    async def run() -> int:
        services = await Services.open(db_path, org, **_key_options(settings))  # type: ignore[arg-type]
        try:
            if args.action == "export":
                entries = await services.roster.entries()
                try:
                    write_private(path, export_csv(entries, lang).encode("utf-8-sig"))
                except OSError as error:
                    return fail(lang, "cannot_write", path=path, error=error.strerror or error)
                print(plain(t(lang, "roster.exported", count=len(entries), path=path)))
                return 0
            report = await services.roster.import_rows(rows, dry_run=args.dry_run)
        finally:
            await services.close()
        for line in report_lines(report, headers, path, lang):
            print(line)
        return 1 if report.bad else 0

    return asyncio.run(run())


def _reload_source(settings: Settings) -> Callable[[], Organization]:
    """The organisation file read again, for a running bot (bot/reload.py); a missing file is refused like a bad one."""

    def load() -> Organization:
        try:
            return load_organization(settings)[0]
        except ConfigMissing as error:
            raise OrgError([f"{error.path}: no such file"]) from None

    return load


def cmd_reload(args: argparse.Namespace) -> int:
    """Check the organisation file, then ask every running instance (standbys included) to read it again."""
    from store.services import Services

    lang = args.lang
    settings = _settings(lang)
    db_path = _db_target(args)
    if (problem := _database_problem(db_path, lang)) is not None:
        print(problem, file=sys.stderr)
        return 1
    found = _organization(settings, lang)  # a file that does not validate: its problems, and nothing asked
    if isinstance(found, int):
        return found

    async def ask() -> int:
        services = await Services.open(db_path, found[0], **_key_options(settings))  # type: ignore[arg-type]
        try:
            await services.staffing.request_reload()
        finally:
            await services.close()
        print(say(lang, "reload_requested", path=settings.config))
        return 0

    return asyncio.run(ask())


def cmd_staff(args: argparse.Namespace) -> int:
    """``staff export FILE``: the staff in effect (the file's and the chat's changes) as ``[[staff]]`` TOML."""
    from store.files import write_private
    from store.services import Services
    from store.staffing import staff_toml

    lang = args.lang
    settings = _settings(lang)
    db_path = _db_target(args)
    if (problem := _database_problem(db_path, lang)) is not None:
        print(problem, file=sys.stderr)
        return 1
    found = _organization(settings, lang)
    if isinstance(found, int):
        return found
    path = Path(args.file)

    async def export() -> int:
        services = await Services.open(db_path, found[0], **_key_options(settings))  # type: ignore[arg-type]
        try:
            staff = list(services.org.staff)
        finally:
            await services.close()
        try:
            write_private(path, staff_toml(staff).encode("utf-8"))
        except OSError as error:
            return fail(lang, "cannot_write", path=path, error=error.strerror or error)
        print(say(lang, "staff_exported", count=len(staff), path=path))
        return 0

    return asyncio.run(export())


def _db_target(args: argparse.Namespace) -> str:
    """``--db``, else ``PETITION_DB``: an SQLite file or a postgresql:// URL."""
    return str(args.db) if getattr(args, "db", None) else _settings(args.lang).db


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup
    from store.db import is_postgres_url

    target = _db_target(args)
    try:
        if is_postgres_url(target):
            return _pg_backup(args, target)
        summary = backup(Path(target), Path(args.file), force=args.force)
    except BackupError as error:
        print(error.text(args.lang), file=sys.stderr)
        return 1
    print(say(args.lang, "backed_up", what=summary.describe(args.lang)))
    return 0


def _pg_figures(url: str) -> tuple[int, int]:
    """(cases, journal events) of a PostgreSQL database, for what backup and restore say."""
    from zoneinfo import ZoneInfo

    from bot.pgtools import counts
    from store.db import open_database

    async def figures() -> tuple[int, int]:
        db = await open_database(url, ZoneInfo("UTC"))
        try:
            found = await counts(db)
        finally:
            await db.close()
        return found.cases, found.events

    return asyncio.run(figures())


def _pg_backup(args: argparse.Namespace, url: str) -> int:
    from bot.pgtools import display, pg_backup

    cases, events = _pg_figures(url)  # before the dump: the dump holds at least these
    pg_backup(url, Path(args.file), force=args.force)
    print(say(args.lang, "pg_backed_up", db=display(url), path=args.file, cases=cases, events=events))
    return 0


def _pg_restore(args: argparse.Namespace, url: str) -> int:
    from bot.pgtools import display, pg_restore

    if not args.force and (held := _pg_figures(url)[0]):
        return fail(args.lang, "migrate_not_empty", target=display(url), cases=held)
    pg_restore(Path(args.file), url)
    cases, events = _pg_figures(url)
    print(say(args.lang, "pg_restored", path=args.file, db=display(url), cases=cases, events=events))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Move an SQLite installation into an empty PostgreSQL database."""
    from bot.backup import BackupError
    from bot.pgtools import display, migrate
    from store.db import is_postgres_url

    lang = args.lang
    if is_postgres_url(args.source) or not is_postgres_url(args.to):
        return fail(lang, "migrate_same_kind")
    try:
        before, copied = asyncio.run(migrate(Path(args.source), args.to))
    except BackupError as error:
        print(error.text(lang), file=sys.stderr)
        return 1
    except _db_errors() as error:
        return fail(lang, "not_database", path=display(args.to), error=error)
    differ = sorted(t for t, n in before.tables.items() if copied.tables.get(t) != n)
    if differ:
        return fail(lang, "migrate_counts", tables=", ".join(differ))
    from store.vault import key_path

    key = key_path(args.source)
    print(say(lang, "migrated", cases=copied.cases, events=copied.events, source=args.source, target=display(args.to),
              key_file=key))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, restore

    try:
        target = _db_target(args)
        from store.db import is_postgres_url

        if is_postgres_url(target):
            return _pg_restore(args, target)
        summary = restore(Path(args.file), Path(target), force=args.force)
    except BackupError as error:
        print(error.text(args.lang), file=sys.stderr)
        return 1
    print(say(args.lang, "restored", what=summary.describe(args.lang)))
    return 0


def version() -> str:
    try:
        return metadata.version("petition-bot")
    except metadata.PackageNotFoundError:
        return "unknown"


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--lang", choices=("zh", "en"), default=argparse.SUPPRESS,
        help="language of messages (and of report headers and names); default: from the locale",
    )
    root = argparse.ArgumentParser(
        prog="petition-bot", description="Telegram petition (信访) bot for employees and petition officers.",
        epilog=ENVIRONMENT, formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common],
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = root.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, **kwargs: object) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common], **kwargs)  # type: ignore[arg-type]

    run = command("run", "run the bot (long polling, or a webhook with --webhook)", epilog=ENVIRONMENT,
                  formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument(
        "--webhook", metavar="URL",
        help="receive updates at this public https URL (default: $PETITION_WEBHOOK_URL; none: long polling)",
    )
    run.set_defaults(fn=cmd_run)
    check = command("check-config", "validate an organisation file: every error, then warnings")
    check.add_argument("file", nargs="?", help="default: $PETITION_CONFIG or petition-bot.toml")
    check.set_defaults(fn=cmd_check_config)
    init = command("init", "write a commented starter organisation file")
    init.add_argument("file", nargs="?", default="petition-bot.toml")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(fn=cmd_init)
    command(
        "demo", "play a whole case against a built-in loopback Bot API (no token, no network)"
    ).set_defaults(fn=cmd_demo)
    verify = command("verify-journal", "recompute the audit journal's hash chain")
    verify.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    verify.set_defaults(fn=cmd_verify_journal)
    rotate = command("rotate-key", "replace the vault's key: re-seal every identity in one transaction")
    rotate.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    rotate.set_defaults(fn=cmd_rotate_key)
    report = command("report", "indicators and cases of a period as .xlsx or .csv")
    report.add_argument("--period", help="2026-11 (month), 2026-Q4 (quarter) or 2026 (year); default: this month")
    report.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    report.add_argument(
        "--out", required=True, help="the file to write; csv also writes <name>-cases.csv beside it"
    )
    report.add_argument("--unit", help="a unit id or name (default: the whole organisation)")
    report.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    report.set_defaults(fn=cmd_report)
    load_ledger = command("import", "import the office's existing ledger (.xlsx or .csv); bad rows are reported, the rest imported")
    load_ledger.add_argument("file", help="the ledger: .xlsx (first sheet) or .csv, one header row (see docs/administrator.md)")
    load_ledger.add_argument("--dry-run", action="store_true", help="check every row and report; write nothing")
    load_ledger.add_argument(
        "--by", help="the staff member recorded as registering the cases (Telegram id or name; default: the system)"
    )
    load_ledger.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    load_ledger.set_defaults(fn=cmd_import)
    reload = command("reload", "check the organisation file, then have every running instance read it again")
    reload.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    reload.set_defaults(fn=cmd_reload)
    staff = command("staff", "export the staff in effect (the file's and those managed in chat) as [[staff]] TOML")
    staff.add_argument("action", choices=("export",))
    staff.add_argument("file", help="the .toml file to write")
    staff.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    staff.set_defaults(fn=cmd_staff)
    roster = command("roster", "the employee roster (HR's list): import replaces it (all or nothing), export writes it")
    roster.add_argument("action", choices=("import", "export"))
    roster.add_argument("file", help="import: .xlsx (first sheet) or .csv with one header row; export: a .csv to write")
    roster.add_argument("--dry-run", action="store_true", help="import: check every row and say what would change")
    roster.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    roster.set_defaults(fn=cmd_roster)
    save = command("backup", "copy the database consistently, also while the bot runs")
    save.add_argument("file", help="where to write the copy")
    save.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    save.add_argument("--force", action="store_true", help="overwrite an existing backup file")
    save.set_defaults(fn=cmd_backup)
    load = command("restore", "replace the database with a backup (stop the bot first)")
    load.add_argument("file", help="the backup to restore")
    load.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    load.add_argument("--force", action="store_true", help="overwrite an existing or running database")
    load.set_defaults(fn=cmd_restore)
    move = command("migrate", "copy an SQLite installation into an empty PostgreSQL database")
    move.add_argument("--from", dest="source", required=True, metavar="FILE", help="the SQLite database, e.g. petitions.db")
    move.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/db (empty, or just created)")
    move.set_defaults(fn=cmd_migrate)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.lang = getattr(args, "lang", None) or default_lang()
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
