"""A scan or billing run far ahead of today is refused unless an admin forces it; a dry run says
what a run would do and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from renewals import clock
from renewals.db.models import Alert, Contract, Invoice
from renewals.db.models.jobs import Job
from tests.factories import make_client, make_contract, make_user


@pytest.fixture
def book(session):
    today = clock.today("UTC")
    mina = make_user(session, role="account_manager")
    finance = make_user(session, role="finance")
    admin = make_user(session, role="admin")
    client = make_client(session, owner=mina)
    make_contract(
        session,
        client=client,
        actor=mina,
        start_date=today - timedelta(days=30),
        end_date=today + timedelta(days=200),
        auto_renew=True,
        renewal_term_months=12,
    )
    session.commit()
    return {"today": today, "finance": finance, "admin": admin}


def state(session) -> tuple[int, ...]:
    out = tuple(session.scalar(select(func.count()).select_from(m)) for m in (Contract, Invoice, Alert, Job))
    session.commit()
    return out


def test_a_scan_a_year_ahead_is_refused_naming_as_of_and_changes_nothing(api, session, book):
    far = (book["today"] + timedelta(days=400)).isoformat()
    before = state(session)

    refused = api.post("/api/v1/scans/run", book["finance"], {"as_of": far})
    forced_by_finance = api.post("/api/v1/scans/run", book["finance"], {"as_of": far, "force": True})

    assert refused.status_code == 422
    assert refused.json()["extra"][0]["key"] == "as_of"
    assert forced_by_finance.status_code == 403
    assert state(session) == before


def test_a_scan_within_a_month_needs_no_force(api, session, book):
    soon = (book["today"] + timedelta(days=31)).isoformat()

    assert api.post("/api/v1/scans/run", book["finance"], {"as_of": soon}).status_code == 202


def test_a_dry_run_scan_reports_the_auto_renewal_it_would_make_and_writes_nothing(api, session, book):
    far = (book["today"] + timedelta(days=400)).isoformat()
    before = state(session)

    rehearsal = api.post("/api/v1/scans/run", book["finance"], {"as_of": far, "dry_run": True})

    assert rehearsal.status_code == 200, rehearsal.text
    body = rehearsal.json()
    assert body["dry_run"] is True
    assert body["as_of"] == far
    assert sum(body["effects"].values()) > 0
    assert any(value == 1 for key, value in body["effects"].items() if "renew" in key), body["effects"]
    assert state(session) == before


def test_an_admin_may_force_a_scan_far_ahead(api, session, book):
    far = (book["today"] + timedelta(days=400)).isoformat()

    forced = api.post("/api/v1/scans/run", book["admin"], {"as_of": far, "force": True})

    assert forced.status_code == 202
    assert forced.json()["kind"] == "scan"


def test_billing_far_ahead_is_refused_but_a_dry_run_counts_what_it_would_issue(api, session, book):
    far = (book["today"] + timedelta(days=400)).isoformat()
    before = state(session)

    refused = api.post("/api/v1/billing/run", book["finance"], {"through": far})
    rehearsal = api.post("/api/v1/billing/run", book["finance"], {"through": far, "dry_run": True})

    assert refused.status_code == 422
    assert refused.json()["extra"][0]["key"] == "through"
    assert rehearsal.status_code == 200
    assert rehearsal.json()["dry_run"] is True
    assert rehearsal.json()["invoices_issued"] == 8  # monthly, from 30 days ago to the end date
    assert state(session) == before
    forced = api.post("/api/v1/billing/run", book["admin"], {"through": far, "force": True})
    assert forced.status_code == 200
    assert forced.json()["invoices_issued"] == 8


def test_the_command_line_refuses_a_far_day_without_force(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "RENEWALS_SECRET_KEY"}}
    env["RENEWALS_DATA_DIR"] = str(tmp_path / "var")
    cli = [sys.executable, "-m", "renewals.cli"]
    far = (clock.today("UTC") + timedelta(days=400)).isoformat()
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)

    refused = subprocess.run([*cli, "billing", "run", "--through", far], env=env, capture_output=True, text=True)
    forced = subprocess.run([*cli, "billing", "run", "--through", far, "--force"], env=env, capture_output=True)

    assert refused.returncode == 2
    assert "--through" in refused.stderr
    assert "force" in refused.stderr
    assert forced.returncode == 0
