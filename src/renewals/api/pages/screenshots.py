"""Screenshots of every page, in English and one CJK language, for docs/samples/pages/.

    python -m renewals.api.pages.screenshots docs/samples/pages [--language zh-Hant]

Builds a throw-away demo book (SQLite in a temporary folder), renders two notices in-process,
serves the app on a free loopback port and drives Debian's headless Chromium through
Playwright (a development dependency). Nothing is fetched from the internet.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from litestar import Litestar

from renewals import clock
from renewals.settings import Settings, load

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# (file stem, path, who signs in): the demo users of renewals.demo.
PAGES: list[tuple[str, str, str]] = [
    ("today", "/today", "mina@demo.renewals"),
    ("renewals", "/renewals?sort=risk", "mina@demo.renewals"),
    ("renewal", "first:/renewals?sort=risk:main a[href^='/renewals/']", "mina@demo.renewals"),
    ("clients", "/clients", "manager@demo.renewals"),
    ("client", "first:/clients:main a[href^='/clients/']", "mina@demo.renewals"),
    ("contract", "first:/clients/{client}:main a[href^='/contracts/']", "mina@demo.renewals"),
    ("receivables", "/receivables", "finance@demo.renewals"),
    ("receivables-bucket", "first:/receivables:main a[href*='bucket=31-60']", "finance@demo.renewals"),
    ("alerts", "/alerts", "finance@demo.renewals"),
    ("notices", "/notices", "mina@demo.renewals"),
    ("reports", "/reports", "manager@demo.renewals"),
    ("reports-forecast", "/reports#h-forecast", "finance@demo.renewals"),
    ("import", "/import", "manager@demo.renewals"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Litestar) -> Iterator[str]:
    """Serve the app with uvicorn in a thread on a free loopback port; yield its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="pages-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, with no network services of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def sign_in(page: Any, base: str, email: str, password: str | None = None) -> None:
    from renewals.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password or DEMO_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}/today")


def switch_language(page: Any, language: str) -> None:
    """Use the switch every page carries (select, then its button)."""
    if page.input_value("#language-switch") == language:
        return
    with page.expect_navigation():
        page.select_option("#language-switch", language)


def demo_site(data_dir: Path) -> tuple[Settings, Any]:
    """A migrated SQLite demo book in `data_dir` with a ready renewal notice and statement."""
    from renewals.db.engine import make_engine, make_sessionmaker
    from renewals.db.migrate import upgrade
    from renewals.db.uow import unit_of_work
    from renewals.demo import load as load_demo

    settings = replace(
        load(), data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'renewals.db'}", redis_url=None, demo=False
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    today = clock.today(settings.timezone)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        load_demo(session, settings, today)
    return settings, engine


def _resolve(page: Any, base: str, spec: str) -> str:
    """`first:<list page>:<selector>`: where the first link the selector finds on the list page leads."""
    if not spec.startswith("first:"):
        return spec
    _, listing, selector = spec.split(":", 2)
    if "{client}" in listing:
        listing = listing.replace("{client}", page.url.rsplit("/", 1)[-1])
    page.goto(base + listing)
    href = page.eval_on_selector(selector, "a => a.getAttribute('href')")
    return str(href)


def shoot(out: Path, language: str) -> list[Path]:
    """Save one PNG per page and language (1366 px wide), plus Today on a 390 px phone."""
    from renewals.api.app import create_app

    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings, engine = demo_site(Path(tmp))
        _request_notices(settings, engine)
        with serve(create_app(settings, engine)) as base, browser() as chromium:
            for lang in ("en", language):
                login = chromium.new_page(viewport={"width": 1366, "height": 860}, locale=lang)
                login.goto(f"{base}/login?lang={lang}")
                saved.append(_save(login, out / f"login-{lang}.png"))
                login.close()
                pages: dict[str, Any] = {}
                for stem, spec, email in PAGES:
                    if email not in pages:
                        pages[email] = chromium.new_context(viewport={"width": 1366, "height": 860}).new_page()
                        sign_in(pages[email], base, email)
                        switch_language(pages[email], lang)
                    page = pages[email]
                    page.goto(base + _resolve(page, base, spec))
                    saved.append(_save(page, out / f"{stem}-{lang}.png"))
                for page in pages.values():
                    page.context.close()
                phone = chromium.new_context(viewport={"width": 390, "height": 844})
                small = phone.new_page()
                sign_in(small, base, "mina@demo.renewals")
                switch_language(small, lang)
                small.goto(f"{base}/today")
                saved.append(_save(small, out / f"today-phone-{lang}.png"))
                phone.close()
        engine.dispose()
    return saved


def _request_notices(settings: Settings, engine: Any) -> None:
    """A renewal notice and a statement for the first client of the first account manager."""
    from sqlalchemy import select

    from renewals.db.engine import make_sessionmaker
    from renewals.db.models import Contract, User
    from renewals.db.uow import set_dispatcher, unit_of_work
    from renewals.domain.contracts.service import list_contracts
    from renewals.domain.notices import service
    from renewals.domain.notices.build import Sender
    from renewals.domain.notices.schemas import NoticeIn
    from renewals.jobs import runtime
    from renewals.jobs.notices import render_notice

    today = clock.today(settings.timezone)
    sessions = make_sessionmaker(engine)
    queued: list[int] = []
    # No worker here: requested notices are collected, then rendered in this process.
    set_dispatcher(lambda actor, kwargs: queued.append(kwargs["notice_id"]) if actor == "notices.render" else None)
    with unit_of_work(sessions) as session:
        mina = session.scalars(select(User).where(User.email == "mina@demo.renewals")).one()
        contracts, _ = list_contracts(session, mina, limit=50, offset=0, status="active")
        candidates: list[Contract] = sorted(contracts, key=lambda c: c.end_date)
        sender = Sender.from_settings(settings)
        for contract in candidates:
            try:
                with session.begin_nested():
                    data = NoticeIn(kind="renewal_notice", contract_id=contract.id)
                    service.request_notice(session, mina, data, today, sender)
                break
            except Exception:  # noqa: S112 — a contract whose opt-out has passed: try the next
                continue
        if candidates:
            statement = NoticeIn(kind="statement", client_id=candidates[0].client_id)
            service.request_notice(session, mina, statement, today, sender)
    rt = runtime.configure(settings, engine)
    for notice_id in queued:
        render_notice(rt, notice_id)
    set_dispatcher(None)


def _save(page: Any, path: Path) -> Path:
    page.wait_for_load_state("load")
    # A page opened at an anchor (a drill-down) is shot from there down.
    top = int(
        page.evaluate(
            "(() => { const e = location.hash && document.querySelector(location.hash);"
            " return e ? e.getBoundingClientRect().top + window.scrollY - 8 : 0; })()"
        )
    )
    height = min(int(page.evaluate("document.documentElement.scrollHeight")) - top, 1800)
    width = int(page.viewport_size["width"])
    page.screenshot(path=str(path), clip={"x": 0, "y": top, "width": width, "height": height}, full_page=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m renewals.api.pages.screenshots")
    parser.add_argument("out", type=Path, help="folder for the PNGs, e.g. docs/samples/pages")
    parser.add_argument("--language", default="zh-Hant", choices=["zh-Hans", "zh-Hant", "ko"])
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for path in shoot(args.out, args.language):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
