"""What actors need from their process: the settings and one engine's sessions, made on first use.

A worker process reads them from the environment; an in-process worker (tests) configures them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from renewals import settings as settings_mod
from renewals.db.engine import make_engine, make_sessionmaker
from renewals.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


_lock = threading.Lock()
_runtime: Runtime | None = None


def configure(settings: Settings, engine: Engine | None = None) -> Runtime:
    """Use these settings (and engine) for every actor run in this process."""
    global _runtime
    with _lock:
        engine = engine or make_engine(settings.database_url)
        _runtime = Runtime(settings, engine, make_sessionmaker(engine))
        return _runtime


def current() -> Runtime:
    """This process's runtime, from the environment unless configured."""
    if _runtime is None:
        return configure(settings_mod.get())
    return _runtime


def dispose() -> None:
    global _runtime
    with _lock:
        if _runtime is not None:
            _runtime.engine.dispose()
        _runtime = None
