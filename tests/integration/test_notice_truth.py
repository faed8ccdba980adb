"""A letter says only what is true on its date: built from the real database, rendered by the real
renderer and read back with pypdf."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from renewals.db.models import Client, User
from renewals.db.models.notices import Notice, NoticeDelivery
from renewals.domain.notices import Renderer
from renewals.domain.notices.build import Sender
from renewals.domain.notices.i18n import Formatter
from renewals.domain.notices.kinds import build_context
from renewals.domain.notices.samples import SAMPLE_LOGO
from renewals.settings import Settings
from tests.factories import make_client, make_contract, make_user
from tests.integration.receivables_arrange import invoice_due, pay

AS_OF = date(2026, 11, 27)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(allowed_files=[SAMPLE_LOGO])


def letter(
    session: Session, renderer: Renderer, settings: Settings, kind: str, client: Client, as_of: date, **kw: int
) -> str:
    ctx = build_context(
        session,
        kind,
        client.id,
        kw.get("contract_id"),
        {"as_of": as_of.isoformat()},
        Sender.from_settings(settings),
        None,
        "en",
    )
    pdf = renderer.render(kind, "en", ctx)
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages))


def owner_and_client(session: Session) -> tuple[User, Client]:
    """The account manager who owns the client, and the client (a finance user exists too)."""
    am = make_user(session, role="account_manager")
    make_user(session, role="finance", name="Fiona Finch", email="fiona.finch@example.test")
    return am, make_client(session, owner=am, legal_name="Northwind Hosting Ltd.")


@pytest.mark.parametrize(("notice_days", "asked"), [(60, False), (30, True)])
def test_a_renewal_notice_asks_for_an_opt_out_only_while_the_deadline_is_ahead(
    session: Session, renderer: Renderer, settings: Settings, notice_days: int, asked: bool
) -> None:
    am, client = owner_and_client(session)
    contract = make_contract(
        session,
        client=client,
        actor=am,
        start_date=date(2025, 1, 12),
        end_date=date(2027, 1, 11),  # the deadline: 12 November (60 days) or 12 December (30 days)
        auto_renew=True,
        notice_period_days=notice_days,
    )
    session.commit()
    deadline = Formatter("en").date(date(2027, 1, 11) - timedelta(days=notice_days))

    text = letter(session, renderer, settings, "renewal_notice", client, AS_OF, contract_id=contract.id)

    assert ("no later than" in text) is asked
    assert (deadline in text) is asked
    assert "renews automatically on January 12, 2027" in text


def test_a_final_reminder_with_no_delivered_reminder_speaks_of_none(
    session: Session, renderer: Renderer, settings: Settings
) -> None:
    am, client = owner_and_client(session)
    invoice_due(session, client=client, actor=am, due=AS_OF - timedelta(days=70))
    unsent = Notice(kind="payment_reminder", client_id=client.id, language="en", status="ready", params={})
    session.add(unsent)
    session.flush()  # a reminder was made and its e-mail failed: the client never got it
    session.add(NoticeDelivery(notice_id=unsent.id, to_addresses=["a@b.example"], subject="s", status="failed"))
    session.commit()

    text = letter(session, renderer, settings, "payment_reminder", client, AS_OF)

    assert "Final notice" in text
    assert "reminders" not in text
    assert "previous" not in text


def test_a_reminder_names_the_dates_earlier_reminders_were_delivered(
    session: Session, renderer: Renderer, settings: Settings
) -> None:
    am, client = owner_and_client(session)
    invoice_due(session, client=client, actor=am, due=AS_OF - timedelta(days=40))
    for sent in (datetime(2026, 10, 20, 9, tzinfo=UTC), datetime(2026, 11, 3, 16, tzinfo=UTC)):
        earlier = Notice(kind="payment_reminder", client_id=client.id, language="en", status="ready", params={})
        session.add(earlier)
        session.flush()
        session.add(
            NoticeDelivery(notice_id=earlier.id, to_addresses=["a@b.example"], subject="s", status="sent", sent_at=sent)
        )
    session.commit()

    text = letter(session, renderer, settings, "payment_reminder", client, AS_OF)
    before_both = letter(session, renderer, settings, "payment_reminder", client, date(2026, 10, 20))

    assert "Despite our reminders of October 20, 2026 and November 3, 2026" in text
    assert "reminders of" not in before_both


def test_a_reminder_issued_as_of_an_earlier_date_shows_that_dates_balances(
    session: Session, renderer: Renderer, settings: Settings
) -> None:
    am, client = owner_and_client(session)
    invoice_due(session, client=client, actor=am, due=date(2026, 9, 1), monthly="1000.00")  # 12,000.00
    finance = make_user(session, role="finance")
    pay(session, client=client, actor=finance, amount="5000.00", on=date(2026, 11, 2))
    session.commit()

    then = letter(session, renderer, settings, "payment_reminder", client, date(2026, 10, 15))
    now = letter(session, renderer, settings, "payment_reminder", client, AS_OF)

    assert "$12,000.00" in then
    assert "$7,000.00" not in then
    assert "$7,000.00" in now
    assert "October 15, 2026" in then


def test_reminders_name_a_real_person_to_contact_not_a_placeholder(
    session: Session, renderer: Renderer, settings: Settings
) -> None:
    am, client = owner_and_client(session)
    invoice_due(session, client=client, actor=am, due=AS_OF - timedelta(days=5))
    session.commit()

    text = letter(session, renderer, settings, "payment_reminder", client, AS_OF)

    assert "localhost" not in text
    assert "fiona.finch@example.test" in text
    assert "Bank transfer to the account shown on your invoice." in text
