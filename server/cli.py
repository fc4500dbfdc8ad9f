"""The `enterprise-desk` command line: serve, worker, migrate, demo, createadmin, import,
backup, check."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from tortoise import Tortoise

from models.db.config import migrate_database, tortoise_config
from server.settings import Settings, SettingsError, load_settings

T = TypeVar("T")


def _with_db(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        await migrate_database(settings.database_url)
        await Tortoise.init(config=tortoise_config(settings.database_url))
        try:
            return await work()
        finally:
            await Tortoise.close_connections()

    return asyncio.run(run())


def _ensure_data_dir(settings: Settings) -> None:
    if settings.embedded_db:
        settings.data_dir.mkdir(parents=True, exist_ok=True)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    _ensure_data_dir(settings)
    if not args.no_migrate:
        asyncio.run(migrate_database(settings.database_url))
    if args.no_dispatcher:
        os.environ["PUSH_DISPATCHER"] = "off"  # read by create_app in every uvicorn worker
    if args.no_jobs:
        os.environ["PERIODIC_JOBS"] = "off"
    print(f"enterprise-desk ({settings.environment}) on http://{args.host}:{args.port}/graphql")
    from server.http_protocol import http_protocol
    from server.live_socket import MAX_MESSAGE_BYTES

    uvicorn.run(
        "server.app:create_app",
        factory=True,
        # The settings' request timeouts and per-address bound (server.http_protocol).
        http=http_protocol(settings),
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        proxy_headers=args.proxy_headers,
        # A line per request costs a formatted log record and a write to stdout (strace: one
        # of a request's two write calls); behind nginx its access log is the one kept.
        access_log=not args.no_access_log,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ws_max_size=MAX_MESSAGE_BYTES,  # uvicorn's default is 16 MiB
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """The push dispatcher and the periodic jobs, no HTTP, until SIGTERM or SIGINT."""
    import dataclasses
    import signal

    from schema.live import Broker
    from server.app import push_delivery
    from server.jobs import periodic_jobs
    from server.live import live_inbox

    _ensure_data_dir(settings)
    worker_settings = dataclasses.replace(settings, push_dispatcher=True)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if not args.no_migrate:
            await migrate_database(settings.database_url)
        await Tortoise.init(config=tortoise_config(settings.database_url))
        try:
            # live_inbox with no subscribers: on PostgreSQL it hears other processes' calendar
            # edits, which the jobs' working hours and deadlines count with.
            async with (
                live_inbox(settings.database_url, Broker()),
                periodic_jobs(unlinked_grace=settings.unlinked_upload_grace),
                push_delivery(worker_settings),
            ):
                print(
                    f"enterprise-desk worker ({settings.environment}): push via "
                    f"{', '.join(settings.push.providers)}",
                    flush=True,
                )
                await stop.wait()
        finally:
            await Tortoise.close_connections()
        print("enterprise-desk worker stopped", flush=True)

    asyncio.run(run())
    return 0


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    """Read-only: no migration, so it may run against any copy of the database."""
    from server.check import as_json, as_text, run_check

    try:
        report = run_check(settings.database_url)
    except Exception as err:  # unreachable database, missing tables: not a finding
        print(f"check: cannot read the database: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    print(as_json(report, args.lang) if args.json else as_text(report, args.lang))
    return 0 if report.ok else 1


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from server.backup import BackupError, backup

    dest = Path(args.dest)
    try:
        size = backup(settings.database_url, dest)
    except BackupError as err:
        print(f"backup: {err}", file=sys.stderr)
        return 1
    print(f"backed up the database to {dest} ({size:,} bytes)")
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from models.ops.policy import ensure_default_categories

    _ensure_data_dir(settings)
    created = _with_db(settings, ensure_default_categories)
    print(f"database is up to date ({created} default demand categories added)")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from models.demo.county import DEMO_PASSWORD, DEMO_USERNAMES, load_demo

    if settings.production:
        print("refusing to load demo data in production", file=sys.stderr)
        return 2
    _ensure_data_dir(settings)
    if args.enterprises is not None or args.demands is not None or args.users is not None:
        return _scale_demo(settings, args)
    summary = _with_db(settings, load_demo)
    print(summary)
    print(f"demo accounts (password {DEMO_PASSWORD}): {', '.join(DEMO_USERNAMES)}")
    return 0


def _scale_demo(settings: Settings, args: argparse.Namespace) -> int:
    from models.demo.county import DEMO_PASSWORD, DEMO_USERNAMES
    from models.demo.scale import ScaleDataPresent, load_scale_demo

    enterprises, demands = args.enterprises or 1000, args.demands or 0
    if enterprises < 1 or demands < 0 or (args.users is not None and args.users < 1):
        print(
            "--enterprises and --users must be at least 1 and --demands not negative",
            file=sys.stderr,
        )
        return 2
    try:
        summary = _with_db(
            settings,
            lambda: load_scale_demo(
                enterprises,
                demands,
                progress=lambda m: print(m, flush=True),
                users=args.users,
            ),
        )
    except ScaleDataPresent:
        print("synthetic demo data is already loaded; use an empty database", file=sys.stderr)
        return 1
    print(summary)
    print(f"demo accounts (password {DEMO_PASSWORD}): {', '.join(DEMO_USERNAMES)}")
    if args.users is None:
        print("each synthetic enterprise's first contact signs in as qy<enterprise id>")
    else:
        print(
            "synthetic accounts: cadre00001…, handler00001…, dispatcher00001…, supervisor00001…, "
            "agent00001… and qy<enterprise id> for the enterprises with an app account"
        )
    return 0


def cmd_createadmin(settings: Settings, args: argparse.Namespace) -> int:
    from models.errors import DomainError
    from models.messages import message
    from models.ops.org import create_system_admin

    password = os.environ.get("ENTERPRISE_DESK_ADMIN_PASSWORD") or ""
    if not password:
        if not sys.stdin.isatty():
            print("set ENTERPRISE_DESK_ADMIN_PASSWORD or run in a terminal", file=sys.stderr)
            return 2
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            print("passwords differ", file=sys.stderr)
            return 2
    _ensure_data_dir(settings)
    try:
        user = _with_db(
            settings,
            lambda: create_system_admin(args.username, password, display_name=args.name),
        )
    except DomainError as err:
        for p in err.problems:
            print(f"{p.code}: {message(p.code, 'en', p.field, **p.params)}", file=sys.stderr)
        return 1
    print(f"system administrator {user.username} created")
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from models.access import load_actor, system_actor
    from models.errors import DomainError
    from models.messages import message
    from models.ops.enterprise_import import import_enterprises
    from models.tables.org import User

    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2

    async def run() -> Any:
        if args.as_user:
            user = await User.get_or_none(username=args.as_user)
            if user is None:
                raise DomainError("NOT_FOUND", "as")
            actor = await load_actor(user.id)
        else:
            actor = system_actor()
        return await import_enterprises(actor, path, locale=args.lang)

    _ensure_data_dir(settings)
    try:
        report = _with_db(settings, run)
    except DomainError as err:
        p = err.problems[0]
        print(message(p.code, args.lang, p.field, **p.params), file=sys.stderr)
        return 1
    print(report.summary(args.lang))
    for s in report.skipped:
        print(f"  row {s.row_number}: [{s.code}] {s.field or ''} {s.message}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="enterprise-desk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate (unless --no-migrate) and serve the API")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true")
    serve.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-For")
    serve.add_argument(
        "--no-dispatcher", action="store_true", help="leave the push outbox to `worker` processes"
    )
    serve.add_argument(
        "--no-jobs", action="store_true", help="leave the periodic jobs to `worker` processes"
    )
    serve.add_argument(
        "--no-access-log",
        action="store_true",
        help="no line per request on stdout (the reverse proxy keeps the access log)",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run the push dispatcher and periodic jobs, no HTTP")
    worker.add_argument("--no-migrate", action="store_true")
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    chk = sub.add_parser(
        "check",
        help="check the data's consistency (timelines, inbox and outbox); exit 1 if broken",
    )
    chk.add_argument("--json", action="store_true", help="a machine-readable report")
    chk.add_argument("--lang", choices=("zh", "en"), default="zh")
    chk.set_defaults(func=cmd_check)
    bak = sub.add_parser(
        "backup",
        help="copy the running database to DEST (SQLite: online backup; PostgreSQL: pg_dump -Fc)",
    )
    bak.add_argument("dest", help="a new file (an existing one is never overwritten)")
    bak.set_defaults(func=cmd_backup)
    demo = sub.add_parser("demo", help="load the demo county")
    demo.add_argument(
        "--enterprises",
        type=int,
        help="add this many synthetic enterprises (with --demands: a large data set)",
    )
    demo.add_argument("--demands", type=int, help="add this many synthetic demands")
    demo.add_argument(
        "--users",
        type=int,
        help="with the synthetic data: this many accounts of every role (cadres with assigned "
        "enterprises and visits, handlers, dispatchers, supervisors, agents, enterprise "
        "contacts) instead of one per enterprise",
    )
    demo.set_defaults(func=cmd_demo)

    admin = sub.add_parser("createadmin", help="create a system administrator")
    admin.add_argument("--username", default="admin")
    admin.add_argument("--name", default="系统管理员")
    admin.set_defaults(func=cmd_createadmin)

    imp = sub.add_parser("import", help="import data from a file")
    what = imp.add_subparsers(dest="what", required=True)
    ents = what.add_parser("enterprises", help="enterprises from .xlsx or .csv (upsert)")
    ents.add_argument("file")
    ents.add_argument("--as", dest="as_user", help="import as this admin (default: system)")
    ents.add_argument("--lang", choices=("zh", "en"), default="zh")
    ents.set_defaults(func=cmd_import)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    raise SystemExit(args.func(settings, args))
