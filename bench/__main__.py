"""Run the benchmarks and refresh docs/benchmarks.md.

    python -m bench [--scale N | --scales A,B] [--only billing,scan,...] [--database-url URL]
    python -m bench --scales 100000,1000000 --database-url postgresql+psycopg://user@host/db

Default: SQLite in a temporary folder at 10,000 and 100,000 contracts, plus the notice
rendering benchmark. With ``--database-url`` or ``BENCH_DATABASE_URL`` (a PostgreSQL server;
a throw-away database is created on it and dropped afterwards) the database benchmarks run on
PostgreSQL too. ``--scale N`` measures at N/10 and N contracts; ``--scales`` names them, e.g.
``--scales 1000000`` for a million contracts (≈ 7.3 M rows, a few minutes to generate per
database) or ``--scales 100000,1000000`` to have the growth from 100k to 1M in the same run.

Large scales stay bounded: a read-only measurement is repeated up to ``--repeat`` times but not
once its runs took ``--repeat-budget`` seconds together; one operation past ``--time-limit``
seconds is stopped and reported as "not measured (> limit)"; one benchmark past
``--part-limit`` seconds at one scale is stopped the same way, and an error in one benchmark
is reported and the run goes on. Each part (a book's generation, one benchmark at one scale) is
recorded with its wall time, this process's CPU, the PostgreSQL backends' CPU and the load
average before and after it; the machine (cores, memory, database version) heads each result.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from collections.abc import Callable
from functools import partial
from types import ModuleType

from bench import aging, api_load, billing, pages, render, scan, worklist
from bench.common import LIMITS, Database, Row, Section, TimeLimitExceeded, machine, time_limit, timed
from bench.generate import generate
from bench.report import save, write_doc

# api_load last: its payments change the book the others read.
DATABASE_BENCHES: tuple[ModuleType, ...] = (billing, worklist, aging, scan, pages, api_load)
ALL = [m.NAME for m in DATABASE_BENCHES] + [render.NAME, "generate"]
"""`generate` alone: only write both books at each scale (what their generation costs)."""
GENERATE_WHAT = (
    "Not a benchmark of the product: how long `bench.generate` takes to write each book (COPY on "
    "two connections on PostgreSQL, executemany in one transaction on SQLite, secondary indexes and "
    "foreign keys made after the rows), so a larger run can be planned; its part adds the `ANALYZE` "
    "after it. The parts table lists every part of the run (each book, then each benchmark at that scale) with the "
    "load average around it."
)


def _scales(args: argparse.Namespace) -> list[int]:
    if args.scales:
        return sorted({int(s.replace("_", "")) for s in args.scales.split(",")})
    return [max(1, args.scale // 10), args.scale]


def _seconds(value: str) -> float | None:
    """A limit in seconds; 0 or "none" for no limit."""
    seconds = None if value.lower() == "none" else float(value)
    return seconds if seconds else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100_000, help="largest number of contracts (default 100000)")
    parser.add_argument(
        "--scales", help="explicit comma-separated contract counts, e.g. 1000000 or 10000,100000,1000000"
    )
    parser.add_argument(
        "--only", help=f"comma-separated benchmarks: {', '.join(ALL)} (generate: both books, nothing measured on them)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL server URL (default: $BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--backends", help="comma-separated: sqlite, postgresql (default: sqlite, and postgresql when a URL is given)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each read-only measurement; the best counts")
    parser.add_argument(
        "--repeat-budget",
        type=float,
        default=LIMITS.repeat_budget,
        help=f"seconds after which a measurement is not repeated again (default {LIMITS.repeat_budget:.0f})",
    )
    parser.add_argument(
        "--time-limit",
        type=_seconds,
        default=LIMITS.operation,
        help=f"seconds one operation may take before it is stopped and reported as not measured "
        f"(default {LIMITS.operation:.0f}; 0: no limit)",
    )
    parser.add_argument(
        "--part-limit",
        type=_seconds,
        default=LIMITS.part,
        help=f"seconds one benchmark may take at one scale on one database (default {LIMITS.part:.0f}; 0: no limit)",
    )
    parser.add_argument("--render-count", type=int, default=30, help="notices per kind and language")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/ alone")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else set(ALL)
    unknown = only - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL)}")
    backends = args.backends.split(",") if args.backends else ["sqlite"] + (["postgresql"] if args.database_url else [])
    if "postgresql" in backends and not args.database_url:
        parser.error("postgresql needs --database-url or BENCH_DATABASE_URL")
    LIMITS.operation, LIMITS.part, LIMITS.repeat_budget = args.time_limit, args.part_limit, args.repeat_budget
    scales = _scales(args)
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    info = machine()
    descriptions = {m.NAME: (m.TITLE, m.WHAT) for m in (*DATABASE_BENCHES, render)}
    descriptions["generate"] = ("Data generation", GENERATE_WHAT)

    benches = [m for m in DATABASE_BENCHES if m.NAME in only]
    for kind in backends if benches or "generate" in only else []:
        _run_database(kind, args, benches, scales, command, info, books_only="generate" in only)

    if render.NAME in only:
        section = Section(render.NAME, render.TITLE, "-", render.WHAT)
        with section.part(0, "render"):
            _guarded(section, 0, render.NAME, lambda: render.measure(section, args.render_count))
        if not args.no_report:
            save(
                "render",
                {
                    "title": "Notice rendering",
                    "database": "no database",
                    "scales": [],
                    "machine": info,
                    "command": command,
                    "sections": [section.to_json()],
                },
            )
    if not args.no_report:
        print(f"report: {write_doc(descriptions)}")
    return 0


def _run_database(
    kind: str,
    args: argparse.Namespace,
    benches: list[ModuleType],
    scales: list[int],
    command: str,
    info: dict[str, object],
    *,
    books_only: bool = False,
) -> None:
    db = Database(kind, args.database_url)
    try:
        version = db.version()
        print(f"{version}: scales {', '.join(f'{s:,}' for s in scales)}", flush=True)
        sections = {m.NAME: Section(m.NAME, m.TITLE, version, m.WHAT) for m in benches}
        generated = Section("generate", "Data generation", version, GENERATE_WHAT)
        for scale in scales:
            for book in ("billing", "full"):
                wanted = [m for m in benches if book == m.BOOK]
                if not wanted and not books_only:
                    continue
                db.empty()
                with generated.part(scale, f"{book} book: generate, ANALYZE"):
                    with timed(f"{book} book", limit=LIMITS.part) as t:
                        counts = generate(db.engine, scale, book=book, seed=args.seed)
                    db.analyze()
                generated.add(
                    Row(
                        scale,
                        f"{book} book",
                        sum(counts.values()),
                        "rows",
                        t.wall,
                        t.cpu,
                        server_cpu_seconds=t.server_cpu,
                    )
                )
                for module in wanted:
                    section = sections[module.NAME]
                    with section.part(scale, module.NAME):
                        _guarded(section, scale, module.NAME, partial(module.measure, db, scale, section, args.repeat))
        if not args.no_report:
            path = save(
                f"{db.dialect}-{'-'.join(str(s) for s in scales)}",
                {
                    "title": f"{version}, {' / '.join(f'{s:,}' for s in scales)} contracts",
                    "database": version,
                    "scales": scales,
                    "machine": info,
                    "command": command,
                    "sections": [generated.to_json()] + [s.to_json() for s in sections.values()],
                },
            )
            print(f"results: {path}")
    finally:
        db.close()


def _guarded(section: Section, scale: int, name: str, run: Callable[[], object]) -> None:
    """Run one benchmark at one scale within the part limit; a stop or an error is recorded
    and the run goes on with the next benchmark."""
    try:
        with time_limit(LIMITS.part, f"{name} at {scale:,}"):
            run()
    except TimeLimitExceeded as stopped:
        section.not_measured(scale, stopped)
        section.note(f"{scale:,} contracts: stopped in {stopped.what} (> {stopped.seconds:g} s); the rest skipped")
    except Exception as error:  # one broken benchmark must not cost the others their run
        traceback.print_exc()
        section.add(Row(scale, f"{name}: failed", 0, "", 0.0, 0.0, not_measured="error"))
        section.note(f"{scale:,} contracts: {name} failed: {type(error).__name__}: {str(error)[:300]}")


if __name__ == "__main__":
    raise SystemExit(main())
