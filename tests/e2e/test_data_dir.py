"""The data directory (database, secret key, Redis file, PDFs) is private to the service's user."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def run_cli(data_dir: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "RENEWALS_SECRET_KEY"}}
    env["RENEWALS_DATA_DIR"] = str(data_dir)
    subprocess.run([sys.executable, "-m", "renewals.cli", *args], env=env, check=True, capture_output=True)


def test_first_migrate_creates_a_private_directory_database_and_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"

    run_cli(data_dir, "migrate")

    created = [data_dir, data_dir / "renewals.db", data_dir / "secret_key"]
    assert all(p.exists() for p in created)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) & 0o077 for p in created} == {p.name: 0 for p in created}


def test_an_existing_world_readable_directory_is_made_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    run_cli(data_dir, "migrate")
    data_dir.chmod(0o755)
    (data_dir / "renewals.db").chmod(0o644)

    run_cli(data_dir, "migrate")

    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "renewals.db").stat().st_mode) == 0o600
