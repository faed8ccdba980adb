"""The pages in a real browser: Debian's headless Chromium driven by Playwright, against the app
`renewals run` serves (uvicorn on a loopback port), a real Dramatiq worker rendering notices on
the real Redis, and the demo book on SQLite (and PostgreSQL when TEST_DATABASE_URL is set).

One browser for the whole run and one seeded database per backend, shared by every test here:
each test signs in with a fresh browser context (its own cookies).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from renewals import clock
from renewals.api.app import create_app
from renewals.api.pages import screenshots
from renewals.db.engine import make_engine, make_sessionmaker
from renewals.db.uow import unit_of_work
from renewals.demo import load as load_demo
from renewals.jobs import runtime
from renewals.settings import load
from tests.conftest import truncate_all
from tests.integration.jobs_support import SECRET

pytestmark = pytest.mark.browser


@dataclass
class Site:
    base: str
    engine: Engine
    sessions: sessionmaker[Session]


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One browser for this folder's tests; closed after them, since Playwright's sync API allows
    one running instance per thread and other folders start their own."""
    if not Path(screenshots.CHROMIUM).exists():
        pytest.fail(f"{screenshots.CHROMIUM} is missing: install the `chromium` Debian package (system-packages.txt)")
    with screenshots.browser() as browser:
        yield browser


@pytest.fixture(scope="package")
def site(
    request: pytest.FixtureRequest, db_backend: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The demo book served by the app on a free port, with a worker rendering notices."""
    broker: dramatiq.Broker = request.getfixturevalue("jobs_broker")
    os.environ.setdefault("RENEWALS_SECRET_KEY", SECRET)
    settings = replace(
        load(),
        data_dir=tmp_path_factory.mktemp("pages"),
        database_url=db_backend,
        redis_url=redis_url,
        demo=False,
        secret_key=SECRET,
    )
    engine = make_engine(db_backend)
    truncate_all(engine)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        load_demo(session, settings, clock.today(settings.timezone))
    runtime.configure(settings, engine)
    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        with screenshots.serve(create_app(settings, engine)) as base:
            yield Site(base, engine, sessions)
    finally:
        worker.stop(timeout=10_000)
        runtime._runtime = None
        engine.dispose()


@pytest.fixture
def browse(chromium: Any, site: Site) -> Iterator[Any]:
    """A function that opens a signed-in page (a fresh context each call) at 1366 px."""
    contexts: list[Any] = []

    def open_as(email: str, width: int = 1366) -> Any:
        context = chromium.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        screenshots.sign_in(page, site.base, email)
        return page

    yield open_as
    for context in contexts:
        context.close()
