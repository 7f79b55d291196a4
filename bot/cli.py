"""``petition-bot`` command line: run, demo, check-config, init, verify-journal, report, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import re
import sys
from pathlib import Path

from pydantic import ValidationError

from bot.settings import Settings, load_organization
from store.org import OrgError, starter_toml

TOKEN_HELP = (
    "PETITION_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram "
    "(send /newbot), then run: PETITION_BOT_TOKEN=<token> petition-bot run"
)

TOKEN_REJECTED = (
    "PETITION_BOT_TOKEN was rejected by Telegram (Unauthorized): check it with @BotFather (/token)"
)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors():
            field = "PETITION_" + "_".join(str(p) for p in problem["loc"]).upper()
            print(f"{field}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from error


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    token = settings.bot_token.get_secret_value().strip() if settings.bot_token is not None else ""
    from bot.logs import setup as setup_logging
    from bot.webhook import log_secrets, serve_options

    # No person and no token in the log at any level (bot/logs.py).
    setup_logging(settings.log_level, secrets=[token, *log_secrets(settings)], fmt=settings.log_format)
    if not token:
        print(TOKEN_HELP, file=sys.stderr)
        return 2
    try:
        options = serve_options(settings, getattr(args, "webhook", None))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        org, source = load_organization(settings)
    except OrgError as error:
        print(f"{settings.config}: the organisation file has errors:", file=sys.stderr)
        for line in error.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    logging.getLogger("petition-bot").info("using %s; database %s", source, settings.db)
    from telegram.error import InvalidToken

    from bot.app import serve

    try:
        asyncio.run(
            serve(
                token=token,
                db_path=str(settings.db),
                org=org,
                base_url=settings.api_url,
                base_file_url=settings.api_file_url or settings.api_url,
                **options,
            )
        )
    except InvalidToken:
        # PTB's message quotes the token: one line naming the problem instead, no traceback.
        print(TOKEN_REJECTED, file=sys.stderr)
        return 2
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from bot.orgcheck import check_config

    path = Path(args.file) if args.file else _settings().config
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 1
    ok, lines = check_config(path)
    stream = sys.stdout if ok else sys.stderr
    for line in lines:
        print(line if ok else f"{path}: {line}", file=stream)
    return 0 if ok else 1


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.exists() and not args.force:
        print(f"{path} already exists; use --force to overwrite it", file=sys.stderr)
        return 1
    path.write_text(starter_toml(), encoding="utf-8")
    print(f"wrote {path}; edit it, then check it with: petition-bot check-config {path}")
    return 0


def cmd_verify_journal(args: argparse.Namespace) -> int:
    settings = _settings()
    db_path = Path(args.db) if args.db else settings.db
    if not db_path.is_file():
        print(f"{db_path}: no such database", file=sys.stderr)
        return 1
    from store.db import Database
    from store.journal import verify

    async def check() -> int:
        db = await Database.open(db_path)
        try:
            async with db.read() as conn:
                result = await verify(conn)
        finally:
            await db.close()
        if result.ok:
            print(f"OK: {result.checked} events, hash chain intact")
            return 0
        print(
            f"BROKEN at event {result.broken_event_id}: {result.reason}"
            f" ({result.checked} events before it are intact)",
            file=sys.stderr,
        )
        return 1

    return asyncio.run(check())


def cmd_demo(_args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR)
    from bot.demo import main as demo

    return demo()


def cmd_report(args: argparse.Namespace) -> int:
    """The indicators and the cases of a period, as /export sends them, into a file."""
    settings = _settings()
    db_path = Path(args.db) if args.db else settings.db
    if not db_path.is_file():
        print(f"{db_path}: no such database", file=sys.stderr)
        return 1
    try:
        org, _source = load_organization(settings)
    except OrgError as error:
        print(f"{settings.config}: the organisation file has errors:", file=sys.stderr)
        for line in error.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    from handlers import reports
    from handlers.common import error_text
    from store.errors import StoreError
    from store.files import write_private
    from store.models import SYSTEM
    from store.service import SqliteStore

    out = Path(args.out)

    async def build() -> int:
        store = await SqliteStore.open(db_path, org)
        try:
            data = await store.export_data(SYSTEM, args.unit, args.period)
        except StoreError as error:
            text = re.sub(r"<[^>]+>", "", error_text(args.lang, error))
            print(html.unescape(text), file=sys.stderr)
            return 2
        finally:
            await store.close()
        if args.format == "xlsx":
            write_private(out, reports.xlsx_bytes(data, org, args.lang, store.tz))
            written = [out]
        else:
            indicators, cases = reports.csv_texts(data, org, args.lang, store.tz)
            cases_path = out.with_name(f"{out.stem}-cases{out.suffix or '.csv'}")
            write_private(out, indicators.encode("utf-8-sig"))
            write_private(cases_path, cases.encode("utf-8-sig"))
            written = [out, cases_path]
        print(
            f"{data.report.period.label}: {len(data.cases)} cases, {len(data.report.rows)} unit rows;"
            f" wrote {', '.join(str(p) for p in written)}"
        )
        return 0

    return asyncio.run(build())


def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if args.db else _settings().db


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

    try:
        summary = backup(_db_path(args), Path(args.file), force=args.force)
    except BackupError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"backed up to {summary.describe()}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, restore

    try:
        summary = restore(Path(args.file), _db_path(args), force=args.force)
    except BackupError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"restored {summary.describe()}; (re)start the bot now")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="petition-bot", description="Telegram petition (信访) bot for employees and petition officers."
    )
    sub = root.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot (long polling, or a webhook with --webhook)")
    run.add_argument(
        "--webhook", metavar="URL",
        help="receive updates at this public https URL (default: $PETITION_WEBHOOK_URL; none: long polling)",
    )
    run.set_defaults(fn=cmd_run)
    check = sub.add_parser("check-config", help="validate an organisation file")
    check.add_argument("file", nargs="?", help="default: $PETITION_CONFIG or petition-bot.toml")
    check.set_defaults(fn=cmd_check_config)
    init = sub.add_parser("init", help="write a commented starter organisation file")
    init.add_argument("file", nargs="?", default="petition-bot.toml")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(fn=cmd_init)
    sub.add_parser(
        "demo", help="play a whole case against a built-in loopback Bot API (no token, no network)"
    ).set_defaults(fn=cmd_demo)
    verify = sub.add_parser("verify-journal", help="recompute the audit journal's hash chain")
    verify.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    verify.set_defaults(fn=cmd_verify_journal)
    report = sub.add_parser("report", help="indicators and cases of a period as .xlsx or .csv")
    report.add_argument("--period", help="2026-11 (month), 2026-Q4 (quarter) or 2026 (year); default: this month")
    report.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    report.add_argument(
        "--out", required=True, help="the file to write; csv also writes <name>-cases.csv beside it"
    )
    report.add_argument("--unit", help="a unit id or name (default: the whole organisation)")
    report.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of headers and names")
    report.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    report.set_defaults(fn=cmd_report)
    save = sub.add_parser("backup", help="copy the database consistently, also while the bot runs")
    save.add_argument("file", help="where to write the copy")
    save.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    save.add_argument("--force", action="store_true", help="overwrite an existing backup file")
    save.set_defaults(fn=cmd_backup)
    load = sub.add_parser("restore", help="replace the database with a backup (stop the bot first)")
    load.add_argument("file", help="the backup to restore")
    load.add_argument("--db", help="default: $PETITION_DB or petitions.db")
    load.add_argument("--force", action="store_true", help="overwrite an existing or running database")
    load.set_defaults(fn=cmd_restore)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
