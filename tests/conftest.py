"""Shared fixtures: real SQLite and (when TEST_DATABASE_URL is set) real PostgreSQL, a real Redis.

Every database test runs once per backend: the `db_backend` fixture is parametrised over
SQLite and, where configured, PostgreSQL. Each backend is migrated once per session with
Alembic (the same path as `renewals migrate`) and emptied before each test.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from renewals import embedded_redis
from renewals.db.engine import make_engine, make_sessionmaker
from renewals.db.migrate import upgrade
from renewals.db.models import Base
from renewals.settings import Settings, load

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])

# Hypothesis profiles, chosen with HYPOTHESIS_PROFILE (`.ci/run` sets `ci`; `dev` otherwise).
# Neither has a per-example deadline: on a shared 2-core machine a slow example is load, not a
# bug, and a deadline would fail the run at random. Tests that need fewer examples (the database
# property tests) say so with their own `settings`, which inherit the rest from the profile.
# `ci` is derandomized, so the same commit gets the same verdict and a failure replays exactly;
# `dev` draws new examples on every run and keeps failing ones in `.hypothesis/` to replay them.
hypothesis_settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile("dev", deadline=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _fresh_postgres(tmp_name: str) -> tuple[str, str]:
    """Create a throw-away database next to TEST_DATABASE_URL's; return (its URL, admin URL)."""
    admin_url = make_url(os.environ["TEST_DATABASE_URL"])
    engine = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{tmp_name}"'))
    engine.dispose()
    return admin_url.set(database=tmp_name).render_as_string(hide_password=False), admin_url.render_as_string(
        hide_password=False
    )


def _drop_postgres(admin_url: str, name: str) -> None:
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database URL for one backend, alive for the whole session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "renewals.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    name = f"renewals_test_{uuid.uuid4().hex[:10]}"
    url, admin = _fresh_postgres(name)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    _drop_postgres(admin, name)


@pytest.fixture(scope="session")
def _engines() -> Iterator[dict[str, Engine]]:
    cache: dict[str, Engine] = {}
    yield cache
    for engine in cache.values():
        engine.dispose()


@pytest.fixture
def engine(db_backend: str, _engines: dict[str, Engine]) -> Engine:
    """The backend's engine, with every table emptied before the test."""
    if db_backend not in _engines:
        _engines[db_backend] = make_engine(db_backend)
    eng = _engines[db_backend]
    truncate_all(eng)
    return eng


def truncate_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            has_seq = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first()
            if has_seq:
                conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and asserting; commit explicitly to make rows visible to the app."""
    with sessions() as s:
        yield s


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """TEST_REDIS_URL, or a private redis-server started the same way `renewals run` does."""
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        yield configured
        return
    port = embedded_redis.free_port()
    proc = embedded_redis.start(port, tmp_path_factory.mktemp("redis"), stdout=subprocess.DEVNULL)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def settings(tmp_path: Path, db_backend: str) -> Settings:
    os.environ.setdefault("RENEWALS_SECRET_KEY", "test-secret-key-not-for-production")
    base = load()
    return replace(
        base,
        data_dir=tmp_path,
        database_url=db_backend,
        redis_url=None,
        demo=False,
        secret_key="test-secret-key-not-for-production",
    )


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Hash test passwords with argon2's cheapest profile.

    The production cost (a fifth of a second per hash, on purpose) would otherwise dominate a
    suite that creates several users per test. Verification reads the cost from each hash, so
    production hashes still verify.
    """
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from renewals.domain.access import users

    patch = pytest.MonkeyPatch()
    patch.setattr(users, "_hasher", PasswordHasher.from_parameters(CHEAPEST))
    yield
    patch.undo()


# The jobs fixtures (a private queue namespace on the real Redis, real workers), defined once here
# so that the session-wide broker is one for every folder of tests.
from tests.integration.jobs_support import (  # noqa: E402, F401
    actor_runtime,
    job_settings,
    jobs_broker,
    queues,
    start_worker,
    worker_thread,
)
