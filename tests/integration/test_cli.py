"""The `renewals` console script's commands on a real database: migrate, admin create, demo load
and billing run. `migrate` runs the installed script in a process of its own; the others run its
`main` in this process (see cli_support) and the database is checked afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from renewals.db.engine import make_engine
from renewals.db.migrate import alembic_config
from renewals.db.models import Base, Client, Contract, Invoice, User
from renewals.domain.access.users import authenticate
from tests.factories import make_client, make_contract, make_user
from tests.integration.cli_support import CliRun


def console_script() -> str:
    """The `renewals` script installed beside this interpreter (what the README runs)."""
    found = shutil.which("renewals", path=str(Path(sys.executable).parent))
    assert found, "the renewals console script is not installed in this environment"
    return found


def test_renewals_migrate_brings_a_new_database_to_the_latest_migration_and_can_run_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'renewals.db'}"
    env = {**os.environ, "DATABASE_URL": url, "RENEWALS_DATA_DIR": str(tmp_path / "data")}

    runs = [subprocess.run([console_script(), "migrate"], env=env, capture_output=True, text=True) for _ in range(2)]

    assert [(r.returncode, r.stdout.strip()) for r in runs] == [(0, "database is at the latest migration")] * 2
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            version = conn.scalar(text("SELECT version_num FROM alembic_version"))
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert version == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert set(Base.metadata.tables) <= tables


def test_admin_create_adds_an_admin_who_can_sign_in(run_cli: Callable[..., CliRun], session: Session) -> None:
    ran = run_cli("admin", "create", "--email", "Ops@Example.test", "--password", "a-long-passphrase")

    assert ran.code == 0, ran.err
    user = authenticate(session, "ops@example.test", "a-long-passphrase")
    assert (user.role, user.active, user.name) == ("admin", True, "Ops")
    assert f"admin {user.email} created (id {user.id})" in ran.out


def test_admin_create_refuses_a_taken_email_and_a_short_password_saying_why(
    run_cli: Callable[..., CliRun], session: Session
) -> None:
    make_user(session, role="finance", email="ops@example.test")
    session.commit()

    taken = run_cli("admin", "create", "--email", "ops@example.test", "--password", "a-long-passphrase")
    short = run_cli("admin", "create", "--email", "new@example.test", "--password", "short")

    assert (taken.code, short.code) == (2, 2)
    assert "a user with e-mail ops@example.test exists" in taken.err
    assert "password" in short.err
    assert session.scalars(select(User.email)).all() == ["ops@example.test"]


def count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_load_fills_an_empty_database_once(run_cli: Callable[..., CliRun], session: Session) -> None:
    first = run_cli("demo", "load")
    loaded = (count(session, User), count(session, Client), count(session, Contract), count(session, Invoice))
    roles = set(session.scalars(select(User.role)))
    originals = session.scalar(select(func.count()).where(Contract.predecessor_id.is_(None)))
    session.rollback()  # end the read before the CLI writes (SQLite)
    second = run_cli("demo", "load")

    assert (first.code, second.code) == (0, 0)
    assert "renewals-demo" in first.out
    assert "mina@demo.renewals" in first.out
    assert f"Demo book loaded: {loaded[1]} clients, {loaded[2]} contracts." in first.out
    assert (loaded[1], originals) == (40, 120)  # as the README says; the morning scan adds renewed terms
    assert loaded[3] > 0
    assert roles == {"admin", "manager", "account_manager", "finance"}
    assert "not empty" in second.out
    assert (count(session, User), count(session, Client), count(session, Contract), count(session, Invoice)) == loaded


def test_billing_run_through_a_date_issues_each_period_once(
    run_cli: Callable[..., CliRun], session: Session, engine: Engine
) -> None:
    owner = make_user(session)
    contract = make_contract(
        session, client=make_client(session, owner=owner), actor=owner, start_date=date(2026, 1, 31)
    )
    session.commit()

    first = run_cli("billing", "run", "--through", "2026-03-31")
    again = run_cli("billing", "run", "--through", "2026-03-31")

    assert (first.code, again.code) == (0, 0)
    assert (json.loads(first.out)["invoices_issued"], json.loads(again.out)["invoices_issued"]) == (3, 0)
    starts = session.scalars(select(Invoice.period_start).where(Invoice.contract_id == contract.id)).all()
    assert sorted(starts) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]


def test_billing_run_with_an_impossible_date_names_the_option_and_changes_nothing(
    run_cli: Callable[..., CliRun], session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_cli("billing", "run", "--through", "2026-02-30")

    assert exit_.value.code == 2
    assert "--through" in capsys.readouterr().err
    assert count(session, Invoice) == 0
