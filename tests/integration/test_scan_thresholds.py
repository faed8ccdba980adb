"""The scan's thresholds come from the settings: RENEWALS_RENEWAL_THRESHOLDS, _NOTICE_DEADLINE_DAYS,
_DUNNING_DAYS change what `renewals scan --sync` raises."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import select

from renewals.db.models import Alert, Invoice
from renewals.domain.notices.build import Sender
from renewals.domain.notices.kinds.payment_reminder import payment_reminder
from renewals.jobs.scan_command import run_sync
from tests.factories import make_client, make_contract, make_user
from tests.integration.alerts_arrange import invoice_due

DAY = date(2026, 3, 2)


def arrange(session):
    mina = make_user(session, role="account_manager")
    make_user(session, role="finance")
    client = make_client(session, owner=mina)
    make_contract(
        session, client=client, actor=mina, start_date=DAY - timedelta(days=30), end_date=DAY + timedelta(days=100)
    )
    make_contract(
        session,
        client=client,
        actor=mina,
        start_date=DAY - timedelta(days=30),
        end_date=DAY + timedelta(days=50),
        auto_renew=True,
        notice_period_days=30,  # opt-out deadline in 20 days
    )
    late = invoice_due(session, client=client, actor=mina, due=DAY - timedelta(days=12))
    session.commit()
    return late


def raised(session) -> list[tuple[str, int | None]]:
    rows = session.execute(select(Alert.kind, Alert.threshold).order_by(Alert.kind, Alert.threshold)).all()
    session.commit()
    return [tuple(r) for r in rows]


def test_default_thresholds(session, settings):
    late = arrange(session)

    run_sync(settings, DAY)

    assert raised(session) == [("invoice_overdue", 1), ("renewal_due", 60)]
    session.expire_all()
    assert session.get(Invoice, late.id).dunning_level == 1


def test_thresholds_from_the_settings_change_what_is_raised(session, settings):
    late = arrange(session)
    custom = replace(settings, renewal_thresholds=(120, 30), notice_deadline_days=21, dunning_days=(3, 10, 20, 40))

    run_sync(custom, DAY)

    assert raised(session) == [
        ("invoice_overdue", 2),
        ("notice_deadline", 21),
        ("renewal_due", 120),  # 100 days out: inside the 120 band (nothing by default)
        ("renewal_due", 120),  # 50 days out: still the 120 band (60 by default)
    ]
    session.expire_all()
    assert session.get(Invoice, late.id).dunning_level == 2


def test_a_payment_reminder_counts_levels_with_the_configured_dunning_days(session, settings):
    late = arrange(session)  # 12 days past due on DAY
    custom = replace(settings, dunning_days=(3, 10, 20, 40))

    default_letter = payment_reminder(session, late.client_id, DAY, Sender.from_settings(settings))
    custom_letter = payment_reminder(session, late.client_id, DAY, Sender.from_settings(custom))

    assert [i["level"] for i in default_letter["invoices"]] == [1]
    assert [i["level"] for i in custom_letter["invoices"]] == [2]
