"""Notice rendering (`notices.render.Renderer`): one-page notices per second per core in a warm
renderer, per language, and the worker's memory.

Runs in a child process of its own (``python -m bench.render --json``), so that its peak
resident memory is that of a rendering worker and nothing else:

* startup: constructing the Renderer (templates, stylesheet, core CJK fonts, warm-up);
* each language (en, zh-Hans, zh-Hant, ko): the sample renewal notice and payment reminder
  (`notices.samples`, one page each) rendered N times after one warm render; notices per
  second of wall time and per CPU-second — rendering is single-threaded, so a CPU-second is
  a core, and the CPU figure holds even while other work shares the machine;
* baseline: WeasyPrint rendering a minimal one-line HTML page to PDF, in the same process;
* worker memory: peak RSS (getrusage ru_maxrss) after the loop, and RSS after warm-up vs.
  after the loop (growth would be a leak).

Goal (issues 5 and 11): ≥ 25 one-page notices per second per core for Latin text; CJK no slower
than twice the Latin time; worker peak RSS ≤ 400 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from bench.common import Row, Section

NAME = "render"
TITLE = "Notice rendering"
BOOK = ""
WHAT = __doc__ or ""
LANGUAGES = ("en", "zh-Hans", "zh-Hant", "ko")
KINDS = ("renewal_notice", "payment_reminder")


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _loop(count: int, func: Any) -> tuple[float, float]:
    func()  # warm
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        func()
    return time.perf_counter() - wall, time.process_time() - cpu


def child(count: int) -> dict[str, Any]:
    """Measure in this process; return plain numbers."""
    from weasyprint import HTML

    from renewals.domain.notices.render import Renderer
    from renewals.domain.notices.samples import SAMPLE_LOGO, sample_context

    before = _rss_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    renderer = Renderer(allowed_files=[SAMPLE_LOGO])
    startup = (time.perf_counter() - wall, time.process_time() - cpu)
    baseline = _loop(count, lambda: HTML(string="<p>Renewal notice</p>").write_pdf())
    warm_rss = _rss_mib()
    results: list[dict[str, Any]] = []
    for kind in KINDS:
        for language in LANGUAGES:
            context = sample_context(kind, language)  # type: ignore[arg-type]
            pages = renderer.render(kind, language, context).pages
            spent = _loop(count, lambda: renderer.render(kind, language, context))  # noqa: B023
            results.append({"kind": kind, "language": language, "pages": pages, "wall": spent[0], "cpu": spent[1]})
    return {
        "count": count,
        "startup": startup,
        "baseline": baseline,
        "results": results,
        "rss_before_mib": before,
        "rss_warm_mib": warm_rss,
        "rss_after_mib": _rss_mib(),
        "peak_mib": _peak_mib(),
    }


def measure(section: Section, count: int) -> None:
    """Run the child process and turn its numbers into rows."""
    out = subprocess.run(  # our own module, fixed arguments
        [sys.executable, "-m", "bench.render", "--json", "--count", str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    base_wall, base_cpu = data["baseline"]
    section.add(Row(0, "minimal one-line page (baseline)", count, "PDFs", base_wall, base_cpu))
    latin: dict[str, float] = {}
    for r in data["results"]:
        row = section.add(
            Row(
                0,
                f"{r['kind']} {r['language']} ({r['pages']} page)",
                count,
                "notices",
                r["wall"],
                r["cpu"],
                "minimal one-line page",
                base_wall,
            )
        )
        per_cpu = count / row.cpu_seconds if row.cpu_seconds else 0.0
        if r["language"] == "en":
            latin[r["kind"]] = r["cpu"]
            section.note(f"{r['kind']} en: {per_cpu:.1f} notices per CPU-second (goal >= 25)")
        else:
            section.note(
                f"{r['kind']} {r['language']}: {per_cpu:.1f} notices per CPU-second, "
                f"{r['cpu'] / latin[r['kind']]:.2f}x the English CPU time (goal <= 2)"
            )
    section.note(f"startup (Renderer with warm-up): {data['startup'][0]:.2f} s wall, {data['startup'][1]:.2f} s CPU")
    section.note(
        f"worker memory: peak RSS {data['peak_mib']:.0f} MiB; RSS {data['rss_before_mib']:.0f} MiB "
        f"before the Renderer, {data['rss_warm_mib']:.0f} MiB warm, {data['rss_after_mib']:.0f} MiB after "
        f"{count * len(data['results']) + count:,} renders"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="measure in this process and print JSON")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(child(args.count)))
        return
    section = Section(NAME, TITLE, "-", WHAT)
    measure(section, args.count)


if __name__ == "__main__":
    main()
