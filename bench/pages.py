"""Pages' server time (`/today`, `/renewals`, `/receivables`) against the API call that reads the
same thing (`/api/v1/today`, `/api/v1/renewals`, `/api/v1/reports/aging?group_by=segment`).

Book: ``bench.generate`` "full". Each request goes through the whole app in this process
(Litestar's test client: routing, the session or token check, the services, JSON or the Jinja
page), so the time is the server's, without a network. p95 of ``SAMPLES`` requests per case.

Who asks: the manager (every client) and the first account manager (their clients only).
"""

from __future__ import annotations

import secrets
import statistics
import time
from dataclasses import replace
from typing import Any

from litestar.testing import TestClient

from bench.common import Database, Row, Section
from bench.generate import FIRST_ACCOUNT_MANAGER
from bench.worklist import score_book
from renewals import clock
from renewals.api.app import create_app
from renewals.api.pages.web import SESSION_COOKIE
from renewals.db.models import User
from renewals.domain.access import web
from renewals.domain.access.users import issue_token
from renewals.settings import load

NAME = "pages"
TITLE = "Pages against the same API call"
BOOK = "full"
WHAT = __doc__ or ""
SAMPLES = 20
MANAGER = 2
CASES = [
    ("Today", "/today", "/api/v1/today"),
    ("Renewals worklist", "/renewals", "/api/v1/renewals"),
    ("Receivables (aging by segment)", "/receivables", "/api/v1/reports/aging?group_by=segment"),
]


def measure(db: Database, scale: int, section: Section, repeat: int) -> None:
    del repeat  # p95 over SAMPLES requests instead of a best-of
    secret = secrets.token_urlsafe(48)  # a throw-away key for this run's sessions and tokens
    settings = replace(load(), database_url=db.url, redis_url=None, demo=False, secret_key=secret)
    app = create_app(settings, db.engine)
    score_book(db)  # as the day's scan leaves the book
    with db.unit() as session:
        people = {uid: session.get_one(User, uid) for uid in (MANAGER, FIRST_ACCOUNT_MANAGER)}
        cookies = {
            uid: web.open_session(session, u, at=clock.now(), ttl_hours=settings.token_ttl_hours)
            for uid, u in people.items()
        }
        tokens = {uid: issue_token(u, settings.secret_key, 1, clock.now()) for uid, u in people.items()}
    with TestClient(app) as client:
        for uid, who in ((MANAGER, "manager"), (FIRST_ACCOUNT_MANAGER, "account manager")):
            for label, page, api in CASES:
                page_p95, page_cpu = _p95(client, page, cookies={SESSION_COOKIE: cookies[uid]})
                api_p95, _ = _p95(client, api, headers={"Authorization": f"Bearer {tokens[uid]}"})
                section.add(
                    Row(
                        scale,
                        f"{label} page, {who}",
                        1,
                        f"request (p95 of {SAMPLES})",
                        page_p95,
                        page_cpu,
                        f"GET {api} (p95)",
                        api_p95,
                    )
                )


def _p95(client: TestClient[Any], path: str, **kwargs: Any) -> tuple[float, float]:
    """(p95 wall seconds, mean CPU seconds) of SAMPLES requests, after one warm-up."""
    client.cookies.clear()
    assert client.get(path, **kwargs).status_code == 200, path
    walls, cpus = [], []
    for _ in range(SAMPLES):
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.get(path, **kwargs)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert response.status_code == 200, path
    return statistics.quantiles(walls, n=20)[-1], statistics.fmean(cpus)
