"""Realistic sample notices, rendered to page-1 PNGs for people to look at.

    python -m renewals.domain.notices.samples docs/samples     (or `make samples`)

writes `<kind>-<lang>.png` for every kind and language (and, with `--pdf`, the PDFs). Each kind's
module (`kinds/`) declares its sample context, cut from `sample_data`; the same contexts feed the
rendering tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from renewals.domain.notices.context import LANGUAGES, Language, NoticeContext
from renewals.domain.notices.kinds import REGISTRY, notice_kind
from renewals.domain.notices.kinds import statement as statement_kind
from renewals.domain.notices.render import Renderer
from renewals.domain.notices.sample_data import SAMPLE_LOGO

__all__ = ["SAMPLE_LOGO", "main", "page_one_png", "sample_context", "statement"]


def sample_context(kind: str, language: Language) -> NoticeContext:
    """The sample context of a kind (its module's `sample`) in a language."""
    return notice_kind(kind).sample(language)


def statement(language: Language, months: int = 3) -> NoticeContext:
    """The sample statement; `months` > 3 repeats a quarter's pattern, for multi-page statements."""
    return statement_kind.sample(language, months)


def page_one_png(pdf: bytes, target: Path, dpi: int = 110) -> None:
    """Write page 1 of a PDF as a PNG with poppler's pdftoppm."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RuntimeError("pdftoppm not found: install poppler-utils (see system-packages.txt)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "notice.pdf"
        src.write_bytes(pdf)
        subprocess.run(  # noqa: S603 - fixed arguments, our own temporary files
            [pdftoppm, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(src), str(Path(tmp) / "page")],
            check=True,
        )
        shutil.move(Path(tmp) / "page.png", target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--pdf", action="store_true", help="also write the PDFs")
    args = parser.parse_args(argv)
    out: Path = args.directory
    out.mkdir(parents=True, exist_ok=True)
    renderer = Renderer(allowed_files=[SAMPLE_LOGO])
    for kind in REGISTRY:
        for language in LANGUAGES:
            started = time.perf_counter()
            pdf = renderer.render(kind, language, sample_context(kind, language))
            elapsed = time.perf_counter() - started
            name = f"{kind}-{language}"
            if args.pdf:
                (out / f"{name}.pdf").write_bytes(pdf.data)
            page_one_png(pdf.data, out / f"{name}.png")
            print(f"{name}: {pdf.pages} page(s), {pdf.size} bytes, {elapsed * 1000:.0f} ms", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
