"""Run the benchmarks and refresh docs/benchmarks.md.

    python -m bench [--scale N | --scales A,B] [--only billing,scan,...] [--database-url URL]

Default: SQLite in a temporary folder at 10,000 and 100,000 contracts, plus the notice
rendering benchmark. With ``--database-url`` or ``BENCH_DATABASE_URL`` (a PostgreSQL server;
a throw-away database is created on it and dropped afterwards) the database benchmarks run on
PostgreSQL too. ``--scale N`` measures at N/10 and N contracts.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from types import ModuleType

from bench import aging, api_load, billing, pages, render, scan, worklist
from bench.common import Database, Row, Section, machine, timed
from bench.generate import generate
from bench.report import save, write_doc

# api_load last: its payments change the book the others read.
DATABASE_BENCHES: tuple[ModuleType, ...] = (billing, worklist, aging, scan, pages, api_load)
ALL = [m.NAME for m in DATABASE_BENCHES] + [render.NAME]
GENERATE_WHAT = (
    "Not a benchmark of the product: how long `bench.generate` takes to write each book (all tables, "
    "one transaction, COPY on PostgreSQL, executemany on SQLite), so a larger run can be planned."
)


def _scales(args: argparse.Namespace) -> list[int]:
    if args.scales:
        return sorted({int(s.replace("_", "")) for s in args.scales.split(",")})
    return [max(1, args.scale // 10), args.scale]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100_000, help="largest number of contracts (default 100000)")
    parser.add_argument("--scales", help="explicit comma-separated contract counts, e.g. 10000,100000,1000000")
    parser.add_argument("--only", help=f"comma-separated benchmarks: {', '.join(ALL)}")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL server URL (default: $BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--backends", help="comma-separated: sqlite, postgresql (default: sqlite, and postgresql when a URL is given)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each read-only measurement; the best counts")
    parser.add_argument("--render-count", type=int, default=30, help="notices per kind and language")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args(argv)

    only = set(args.only.split(",")) if args.only else set(ALL)
    unknown = only - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL)}")
    backends = args.backends.split(",") if args.backends else ["sqlite"] + (["postgresql"] if args.database_url else [])
    if "postgresql" in backends and not args.database_url:
        parser.error("postgresql needs --database-url or BENCH_DATABASE_URL")
    scales = _scales(args)
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    info = machine()
    descriptions = {m.NAME: (m.TITLE, m.WHAT) for m in (*DATABASE_BENCHES, render)}
    descriptions["generate"] = ("Data generation", GENERATE_WHAT)

    benches = [m for m in DATABASE_BENCHES if m.NAME in only]
    for kind in backends if benches else []:
        db = Database(kind, args.database_url)
        try:
            version = db.version()
            print(f"{version}: scales {', '.join(f'{s:,}' for s in scales)}", flush=True)
            sections = {m.NAME: Section(m.NAME, m.TITLE, version, m.WHAT) for m in benches}
            generated = Section("generate", "Data generation", version, GENERATE_WHAT)
            for scale in scales:
                for book in ("billing", "full"):
                    wanted = [m for m in benches if book == m.BOOK]
                    if not wanted:
                        continue
                    db.empty()
                    with timed() as t:
                        counts = generate(db.engine, scale, book=book, seed=args.seed)
                    db.analyze()
                    generated.add(Row(scale, f"{book} book", sum(counts.values()), "rows", t.wall, t.cpu))
                    for module in wanted:
                        module.measure(db, scale, sections[module.NAME], args.repeat)
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

    if render.NAME in only:
        section = Section(render.NAME, render.TITLE, "-", render.WHAT)
        render.measure(section, args.render_count)
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


if __name__ == "__main__":
    raise SystemExit(main())
