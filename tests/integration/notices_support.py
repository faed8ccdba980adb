"""Notices in the integration tests: one warm Renderer for the run, the worker's runtime on the
test database, and requesting and rendering notices the way the API and the pdf worker do. The
fixtures are registered in conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from renewals.db.models import User
from renewals.db.models.notices import Notice
from renewals.domain.notices.render import Renderer
from renewals.domain.notices.samples import SAMPLE_LOGO
from renewals.jobs import notices as notice_jobs
from renewals.jobs import runtime
from renewals.settings import Settings
from tests.integration.conftest import Api


@pytest.fixture(scope="session")
def warm_renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """One Renderer for the whole run, as one worker process keeps it."""
    return Renderer(allowed_files=[SAMPLE_LOGO], font_cache_dir=tmp_path_factory.mktemp("fonts"))


@pytest.fixture
def renderer(warm_renderer: Renderer) -> Iterator[Renderer]:
    notice_jobs.use_renderer(warm_renderer)
    yield warm_renderer
    notice_jobs.use_renderer(warm_renderer)


@pytest.fixture
def rt(job_settings: Settings, engine: Engine, renderer: Renderer) -> Iterator[runtime.Runtime]:
    """The worker's runtime on the test database (what `notices.render` runs in)."""
    configured = runtime.configure(job_settings, engine)
    yield configured
    runtime._runtime = None


def render_queued(rt: runtime.Runtime, sessions: sessionmaker[Session]) -> None:
    """Do what the pdf worker does for every queued notice."""
    with sessions() as session:
        ids = list(session.scalars(select(Notice.id).where(Notice.status == "queued").order_by(Notice.id)))
    for notice_id in ids:
        notice_jobs.notices_render(notice_id=notice_id)


def request(api: Api, user: User, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/notices", user, json=body)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]
