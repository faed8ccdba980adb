"""Run the `renewals` console script's `main` in this process against the test database, with the
environment a user would set, and capture what it prints.

The `run_cli` fixture is registered in tests/integration/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from renewals import cli
from renewals import settings as settings_mod

SECRET = "test-secret-key-not-for-production"


@dataclass
class CliRun:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_backend: str, tmp_path: Path
) -> Iterator[Callable[..., CliRun]]:
    """`run_cli("billing", "run", RENEWALS_TIMEZONE="Asia/Seoul")`: set the extra environment,
    read the settings afresh (the process caches them) and run the command."""
    monkeypatch.setenv("DATABASE_URL", db_backend)
    monkeypatch.setenv("RENEWALS_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("RENEWALS_SECRET_KEY", SECRET)
    for name in ("REDIS_URL", "RENEWALS_TIMEZONE", "RENEWALS_DEMO"):
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str, **env: str) -> CliRun:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings_mod.get.cache_clear()
        capsys.readouterr()
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return CliRun(code, out, err)

    yield run
    settings_mod.get.cache_clear()
