"""A SQLite database held locked by another writer: the API answers 503 with Retry-After, reads go on."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, func, select

from renewals.api.app import create_app
from renewals.db.models import Client
from renewals.settings import Settings
from tests.factories import make_user
from tests.integration.conftest import Api
from tests.threads import run_at_once

HANG_GUARD = 60.0


@pytest.fixture
def sqlite_api(settings: Settings, engine: Engine) -> Iterator[Api]:
    """The app with its own engine, as `renewals run` builds it (short lock timeout)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer lock")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Api(client)


@contextmanager
def held_lock_for(engine: Engine) -> Iterator[None]:
    """Another process's writer: a plain sqlite3 connection in BEGIN IMMEDIATE."""
    conn = sqlite3.connect(str(engine.url.database), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def in_thread(call: Any) -> Any:
    """Run an HTTP call with a hang guard; the answer must come long before it. A call that
    raised fails the test with its exception."""
    return run_at_once(call, n=1, timeout=HANG_GUARD)[0]


NEW_CLIENT = {
    "name": "Harbour Analytics",
    "legal_name": "Harbour Analytics Ltd (lock test)",
    "segment": "enterprise",
    "size": "small",
    "language": "en",
    "currency": "USD",
    "credit_limit": "1000",
}


def test_write_under_a_held_lock_answers_503_with_retry_after_and_writes_nothing(
    sqlite_api: Api, session: Any, engine: Engine
) -> None:
    manager = make_user(session, role="account_manager")
    session.commit()
    sqlite_api.token(manager)

    with held_lock_for(engine):
        response = in_thread(lambda: sqlite_api.post("/api/v1/clients", manager, json=NEW_CLIENT))

    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["status_code"] == 503
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Client)) == 0
    assert sqlite_api.post("/api/v1/clients", manager, json=NEW_CLIENT).status_code == 201


def test_reads_go_on_while_another_writer_holds_the_lock(sqlite_api: Api, session: Any, engine: Engine) -> None:
    manager = make_user(session, role="account_manager")
    session.commit()
    sqlite_api.token(manager)

    with held_lock_for(engine):
        response = in_thread(lambda: sqlite_api.get("/api/v1/clients", manager))

    assert response.status_code == 200
    assert response.json()["total"] == 0
