"""E-mailing a notice's PDF to the client: billing contacts get reminders and statements,
signatories get renewal notices. Every attempt is recorded as a NoticeDelivery.

The SMTP conversation happens between two transactions (like alert deliveries), so a slow mail
server holds no database lock: `prepare_send` records the attempt and builds the message,
the caller sends it, and `record_send` records the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from renewals.db.models import Client, Contact, Contract, User
from renewals.db.models.notices import NoticeDelivery
from renewals.domain.deliveries.transport import Outcome
from renewals.domain.notices import rules
from renewals.domain.notices.kinds import REPLY_LINE, notice_kind
from renewals.domain.notices.schemas import DeliveryOut
from renewals.domain.notices.service import get_visible_notice, read_pdf
from renewals.domain.notices.sharing import create_link, public_path
from renewals.errors import Conflict, RenewalsError


class MailNotConfigured(RenewalsError):
    """RENEWALS_SMTP_URL is not set: notices cannot be e-mailed."""

    status_code = 503


class NoticeNotSent(RenewalsError):
    """The mail server did not accept the message; the failed delivery is recorded."""

    status_code = 502


@dataclass(frozen=True)
class SendClaim:
    delivery_id: int
    message: EmailMessage


def delivery_out(delivery: NoticeDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        notice_id=delivery.notice_id,
        to=list(delivery.to_addresses),
        subject=delivery.subject,
        status=delivery.status,
        sent_at=delivery.sent_at,
        error=delivery.error,
        created_at=delivery.created_at,
    )


def _recipients(session: Session, client: Client, kind: str) -> list[tuple[str, str]]:
    signatory = notice_kind(kind).addressee == "signatory"
    flag = Contact.is_signatory if signatory else Contact.is_billing
    rows = session.execute(
        select(Contact.name, Contact.email).where(Contact.client_id == client.id, flag.is_(True)).order_by(Contact.id)
    ).all()
    found = [(name, email.strip()) for name, email in rows if email and email.strip()]
    if not found:
        role = "signatory" if signatory else "billing"
        raise Conflict(
            f"client {client.name} has no {role} contact with an e-mail address: mark a contact "
            f"{'is_signatory' if signatory else 'is_billing'} and give it an e-mail, then send again",
            extra={"client_id": client.id, "contact_role": role},
        )
    return found


def prepare_send(
    session: Session,
    actor: User,
    notice_id: int,
    *,
    data_dir: Path,
    mail_from: str,
    company: str,
    smtp_configured: bool,
    at: datetime,
    public_url: str = "",
    secret: str = "",
) -> SendClaim:
    """Record an attempt to e-mail a notice's PDF and build the message. A letter that asks for
    an answer carries a new link (30 days) to its reply page, `public_url` + `/n/<token>/reply`.

    Raises NotFound for a notice the actor may not see, MailNotConfigured (503) when SMTP is not
    configured, Conflict while the notice is not ready or when the client has no contact of the
    right kind with an e-mail address.
    """
    notice = get_visible_notice(session, actor, notice_id)
    if not smtp_configured:
        raise MailNotConfigured(
            "e-mail is not configured: set RENEWALS_SMTP_URL (smtp://user:pass@host:port) "
            "and restart, or download the PDF and send it yourself"
        )
    pdf = read_pdf(data_dir, notice)
    client = session.get_one(Client, notice.client_id)
    recipients = _recipients(session, client, notice.kind)
    number = (
        session.scalar(select(Contract.number).where(Contract.id == notice.contract_id))
        if notice.contract_id is not None
        else None
    )
    kind = notice_kind(notice.kind)
    language = notice.language if notice.language in kind.mail else "en"
    subject_t, body_t = kind.mail[language]
    reference = number or f"{client.name} {notice.params.get('as_of', '')}".strip()
    subject = subject_t.format(reference=reference, company=company)
    reply = ""
    if kind.reply_choices and secret:
        link = create_link(session, actor, notice.id, rules.LINK_DAYS, at)
        url = f"{public_url.rstrip('/')}{public_path(link, secret)}/reply"
        reply = REPLY_LINE[language].format(url=url)
    message = EmailMessage()
    message["From"] = formataddr((company, mail_from))
    message["To"] = ", ".join(formataddr((name, email)) for name, email in recipients)
    message["Subject"] = subject
    message.set_content(body_t.format(reference=reference, company=company, reply=reply))
    message.add_attachment(
        pdf,
        maintype="application",
        subtype="pdf",
        filename=rules.zip_entry_name(number, notice.kind, notice.language, notice.id),
    )
    delivery = NoticeDelivery(
        notice_id=notice.id,
        to_addresses=[email for _, email in recipients],
        subject=subject[:300],
        status="sending",
        created_by=actor.id,
        created_at=at,
    )
    session.add(delivery)
    session.flush()
    message["X-Renewals-Notice-Delivery"] = str(delivery.id)
    return SendClaim(delivery.id, message)


def record_send(session: Session, delivery_id: int, outcome: Outcome, at: datetime) -> NoticeDelivery:
    """Record how an attempt ended: sent, or failed with the mail server's reason."""
    values = (
        {"status": "sent", "sent_at": at, "error": None}
        if outcome.ok
        else {"status": "failed", "error": (outcome.error or "failed")[:2000]}
    )
    session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.id == delivery_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return session.get_one(NoticeDelivery, delivery_id, populate_existing=True)


def list_deliveries(session: Session, actor: User, notice_id: int) -> list[NoticeDelivery]:
    """Every e-mail attempt of a notice the actor may see, newest first."""
    notice = get_visible_notice(session, actor, notice_id)
    return list(
        session.scalars(
            select(NoticeDelivery)
            .where(NoticeDelivery.notice_id == notice.id)
            .order_by(NoticeDelivery.created_at.desc(), NoticeDelivery.id.desc())
        )
    )
