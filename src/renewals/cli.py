"""The `renewals` console script. Reads the clock and the environment; everything else is a service call."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from renewals import clock
from renewals import settings as settings_mod
from renewals.db.engine import make_engine, make_sessionmaker
from renewals.db.migrate import upgrade
from renewals.db.uow import unit_of_work
from renewals.domain.daily.guard import check_run_day
from renewals.errors import RenewalsError
from renewals.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from None


def migrate(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def load_demo(settings: Settings, *, only_if_empty: bool) -> str | None:
    from renewals import demo

    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            if only_if_empty and not demo.is_empty(session):
                return None
            result = demo.load(session, settings, clock.today(settings.timezone))
    finally:
        engine.dispose()
    return demo.sign_in_help(result, f"http://{settings.host}:{settings.port}")


@command("migrate")
def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings)
    print("database is at the latest migration")
    return 0


@command("run")
def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from renewals import supervisor

    def prepare() -> None:
        migrate(settings)
        if settings.demo:
            message = load_demo(settings, only_if_empty=True)
            if message:
                print(message, flush=True)
            else:
                print("Sign in with your account (demo users use password 'renewals-demo').", flush=True)

    return supervisor.run(settings, prepare)


@command("admin create")
def cmd_admin_create(args: argparse.Namespace, settings: Settings) -> int:
    from renewals.domain.access.users import UserIn, create_user

    password = args.password or getpass.getpass("password: ")
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            user = create_user(
                session,
                UserIn(email=args.email, name=args.name or args.email.split("@")[0], role="admin", password=password),
            )
            print(f"admin {user.email} created (id {user.id})")
    finally:
        engine.dispose()
    return 0


@command("demo load")
def cmd_demo_load(args: argparse.Namespace, settings: Settings) -> int:
    message = load_demo(settings, only_if_empty=not args.force)
    print(message or "the database is not empty; demo not loaded (use --force to add it anyway)")
    return 0


@command("worker")
def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from renewals.jobs import config, worker

    queues = {q.strip() for q in args.queues.split(",") if q.strip()} if args.queues else None
    return worker.run(args.threads or config.load().worker_threads, queues)


@command("scheduler")
def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from renewals.jobs import scheduler

    return scheduler.run(args.tick)


@command("scan")
def cmd_scan(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from renewals.jobs import scan_command

    as_of = args.as_of or clock.today(settings.timezone)
    check_run_day(
        as_of,
        clock.today(settings.timezone),
        None,
        field="--as-of",
        force=args.force,
        max_days_ahead=settings.max_days_ahead,
    )
    if args.sync:
        result = scan_command.run_sync(settings, as_of)
    else:
        result = scan_command.run_queued(settings, as_of, timeout=args.timeout)
    print(json.dumps(result, indent=2, default=str))
    return 0 if result.get("status", "done") == "done" else 1


@command("billing run")
def cmd_billing_run(args: argparse.Namespace, settings: Settings) -> int:
    import json

    import msgspec

    from renewals.domain.receivables.billing import run_billing_in_slices

    through = args.through or clock.today(settings.timezone)
    check_run_day(
        through,
        clock.today(settings.timezone),
        None,
        field="--through",
        force=args.force,
        max_days_ahead=settings.max_days_ahead,
    )
    engine = make_engine(settings.database_url)
    try:
        summary = run_billing_in_slices(make_sessionmaker(engine), through, None)
    finally:
        engine.dispose()
    print(json.dumps(msgspec.to_builtins(summary), indent=2))
    return 0


@command("import clients")
@command("import contacts")
@command("import contracts")
def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from renewals.domain import imports

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"renewals: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            actor = imports.acting_user(session, args.actor)
            result = imports.import_csv(
                session,
                actor,
                args.sub,
                data,
                tier_thresholds=settings.tier_thresholds,
                as_of=clock.today(settings.timezone),
                horizon_days=settings.renewal_horizon_days,
                dry_run=args.dry_run,
            )
    except imports.ImportFailed as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"renewals: {args.file}: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(result)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="renewals", description="Contract renewal and receivables tracking.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate and run Redis (embedded), API, worker and scheduler in the foreground")
    sub.add_parser("migrate", help="bring the database to the latest migration")
    admin = sub.add_parser("admin", help="user administration").add_subparsers(dest="sub", required=True)
    create = admin.add_parser("create", help="create an admin user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--name")
    demo = sub.add_parser("demo", help="the demo book").add_subparsers(dest="sub", required=True)
    demo.add_parser("load", help="load the demo book").add_argument(
        "--force", action="store_true", help="load even if the database has users"
    )
    worker = sub.add_parser("worker", help="run a Dramatiq worker for the background jobs (stops on SIGTERM)")
    worker.add_argument("--threads", type=int, help="worker threads (default RENEWALS_WORKER_THREADS or 4)")
    worker.add_argument("--queues", help="comma-separated queues to consume (default: all)")
    sched = sub.add_parser("scheduler", help="send the daily billing run, scan and digest at their local times")
    sched.add_argument("--tick", type=float, default=20.0, help="seconds between checks (default 20)")
    scan = sub.add_parser("scan", help="run the daily scan for a date: queued on the workers, or --sync")
    scan.add_argument("--as-of", type=_date, help="the day to scan (default: today in RENEWALS_TIMEZONE)")
    scan.add_argument("--sync", action="store_true", help="run in this process, in one transaction")
    scan.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the job (default 600)")
    scan.add_argument("--force", action="store_true", help="allow a day more than RENEWALS_MAX_DAYS_AHEAD ahead")
    billing = sub.add_parser("billing", help="receivables billing").add_subparsers(dest="sub", required=True)
    bill = billing.add_parser("run", help="issue every invoice whose period starts on or before --through")
    bill.add_argument("--through", type=_date, help="last period start to bill (default: today in RENEWALS_TIMEZONE)")
    bill.add_argument("--force", action="store_true", help="allow a day more than RENEWALS_MAX_DAYS_AHEAD ahead")
    imp = sub.add_parser("import", help="bring an existing book in from CSV, all or nothing")
    kinds = imp.add_subparsers(dest="sub", required=True)
    for kind in ("clients", "contacts", "contracts"):
        one = kinds.add_parser(kind, help=f"import {kind} from a CSV file whose header names the pinned fields")
        one.add_argument("file", help="UTF-8 CSV (a BOM, as Excel writes, is fine)")
        one.add_argument("--as", dest="actor", required=True, metavar="EMAIL", help="the user the import runs as")
        one.add_argument("--dry-run", action="store_true", help="check the file and report; write nothing")
    return parser


def make_private(data_dir: Path) -> None:
    """Create the data directory, or take group and other access away from an existing one."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in [data_dir, *data_dir.iterdir()]:
        mode = path.stat().st_mode
        if mode & 0o077:
            path.chmod(mode & 0o700)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = args.command + (f" {args.sub}" if getattr(args, "sub", None) else "")
    # The database, the secret key, Redis's file and the PDFs are for this user alone, in this
    # process and every child it starts.
    os.umask(0o077)
    try:
        settings = settings_mod.get()
        make_private(settings.data_dir)
        return COMMANDS[name](args, settings)
    except RenewalsError as exc:
        print(f"renewals: {exc.detail}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"renewals: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
