"""A client answers a letter through its shared link, without an account.

Renewal notices: `renew` (the renewal moves to awaiting_signature), `call_me` (a follow-up due
today for the owner), `not_renewing` (with a reason; the owner decides `lost`). Payment reminders:
`promise` (a promise-to-pay hold on the letter's invoices until a date at most 30 days ahead),
`dispute` (a dispute hold with the reason), `paid_already` (a payment reference for finance to
match). Every answer is a `NoticeReply` row, an activity or hold authored by the letter's
addressee, an audit row and a `client_response` alert to the owner (renewals) or finance
(reminders). A second answer is recorded too; the latest stands.

The link is the permission: what the answer may touch is the letter's own renewal or its own
invoices, nothing else of the client's, and nothing of any other client is ever shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewals.db.models import Alert, Client, Contact, Invoice, Renewal, User
from renewals.db.models.notices import Notice, NoticeLink, NoticeReply
from renewals.db.models.renewals import Activity
from renewals.db.uow import request_job
from renewals.domain.alerts.rules import AlertKind, Severity, SubjectType
from renewals.domain.alerts.store import DELIVER_ACTOR
from renewals.domain.audit import record
from renewals.domain.notices import rules
from renewals.domain.notices.build import addressee, reminder_invoices
from renewals.domain.notices.kinds import N_, notice_kind, reply_choices
from renewals.domain.notices.schemas import ReplyIn, ReplyOut
from renewals.domain.notices.sharing import link_for_token
from renewals.domain.receivables.invoices import snapshot as invoice_snapshot
from renewals.domain.receivables.ledger import OPEN_STATUSES
from renewals.domain.renewals import risk
from renewals.domain.renewals import rules as renewal_rules
from renewals.domain.renewals.records import open_renewal_for
from renewals.domain.renewals.records import snapshot as renewal_snapshot
from renewals.errors import Forbidden, NotFound, RenewalsError, ValidationFailed

# Answers that ask someone to act against the client's wish are warnings; the others are news.
_WARNING_CHOICES = frozenset({"not_renewing", "dispute"})
_MAX_TEXT = 2000
# What the reply page says, in the client's language, when an answer is refused.
FIELD_PROBLEMS: dict[str, str] = {
    "choice": N_("Please choose one of the answers."),
    "promise_date": N_("Please give the day you will pay by: from today up to 30 days ahead."),
    "invoice_ids": N_("Please tick one or more of the invoices in this letter."),
    "reason": N_("Please tell us the reason in the message box."),
    "reference": N_("Please give the reference of your payment."),
}
TOO_MANY_PROBLEM = N_("You have answered several times within the hour. Please try again later, or call us.")
FORM_PROBLEM = N_("This form could not be accepted. Please answer again below.")


class TooManyReplies(RenewalsError):
    """More answers through one link than REPLY_LIMIT within REPLY_WINDOW."""

    status_code = 429


@dataclass(frozen=True)
class LetterInvoice:
    id: int
    number: str
    due_date: date
    currency: str
    amount_due: Decimal


@dataclass(frozen=True)
class ReplyView:
    """What the reply page shows: the letter's own facts, nothing else of the client's."""

    link_id: str
    notice_id: int
    kind: str
    language: str
    client_name: str
    contact_name: str | None
    choices: tuple[str, ...]
    invoices: list[LetterInvoice]
    latest: NoticeReply | None
    today: date
    promise_until: date


def reply_out(reply: NoticeReply, *, replayed: bool = False) -> ReplyOut:
    return ReplyOut(
        id=reply.id,
        notice_id=reply.notice_id,
        choice=reply.choice,
        promise_date=reply.promise_date,
        invoice_ids=list(reply.invoice_ids or []),
        reason=reply.reason,
        reference=reply.reference,
        created_at=reply.created_at,
        replayed=replayed,
    )


def _open(session: Session, token: str, secret: str, at: datetime) -> tuple[NoticeLink, Notice, tuple[str, ...]]:
    link, notice = link_for_token(session, token, secret, at)
    choices = reply_choices(notice.kind)
    if not choices:  # a letter that asks nothing (a statement) has no reply page
        raise NotFound("link")
    return link, notice, choices


def _letter_invoices(session: Session, notice: Notice) -> list[LetterInvoice]:
    if notice.kind != "payment_reminder":
        return []
    issued = date.fromisoformat(str(notice.params["as_of"]))
    return [
        LetterInvoice(i, row["number"], row["due_date"], row["currency"], row["amount_due"])
        for i, row in reminder_invoices(session, notice.client_id, issued)
    ]


def _signatory(kind: str) -> bool:
    return notice_kind(kind).addressee == "signatory"


def _latest(session: Session, link_id: str) -> NoticeReply | None:
    return session.scalar(
        select(NoticeReply)
        .where(NoticeReply.link_id == link_id)
        .order_by(NoticeReply.created_at.desc(), NoticeReply.id.desc())
        .limit(1)
    )


def reply_view(session: Session, token: str, secret: str, *, at: datetime, today: date) -> ReplyView:
    """What the reply page of a link shows. Raises NotFound for a bad, expired or revoked link or
    a letter that asks for no answer."""
    link, notice, choices = _open(session, token, secret, at)
    client = session.get_one(Client, notice.client_id)
    contact = addressee(session, client.id, signatory=_signatory(notice.kind))
    return ReplyView(
        link_id=link.id,
        notice_id=notice.id,
        kind=notice.kind,
        language=notice.language,
        client_name=client.legal_name,
        contact_name=contact.name if contact else None,
        choices=choices,
        invoices=_letter_invoices(session, notice),
        latest=_latest(session, link.id),
        today=today,
        promise_until=today + timedelta(days=rules.PROMISE_MAX_DAYS),
    )


def _text(value: str | None, field: str, *, required: str | None = None, limit: int = _MAX_TEXT) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed(field, required)
        return None
    if len(text) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters")
    if "\x00" in text:
        raise ValidationFailed(field, "must not contain NUL characters")
    return text


def answer(
    session: Session,
    token: str,
    secret: str,
    data: ReplyIn,
    *,
    at: datetime,
    today: date,
    form_token: str | None = None,
) -> tuple[NoticeReply, bool]:
    """Record a client's answer to a letter and act on it; return the answer and whether it was a
    form sent again (then nothing new is recorded and the first answer is returned).

    `form_token` is the page form's anti-forgery value (None for JSON). Raises NotFound (bad,
    expired or revoked link, or a letter that asks nothing), Forbidden (a form token not made
    for this link), ValidationFailed (422 naming the field) and TooManyReplies (429).
    """
    link, notice, choices = _open(session, token, secret, at)
    nonce: str | None = None
    if form_token is not None:
        nonce = rules.reply_form_nonce(secret, link.id, form_token)
        if nonce is None:
            raise Forbidden("this form was not issued for this link: reload the page and answer again")
        sent = session.scalar(select(NoticeReply).where(NoticeReply.link_id == link.id, NoticeReply.nonce == nonce))
        if sent is not None:
            return sent, True
    if data.choice not in choices:
        raise ValidationFailed("choice", f"must be one of {', '.join(choices)}")
    recent = session.scalar(
        select(func.count())
        .select_from(NoticeReply)
        .where(NoticeReply.link_id == link.id, NoticeReply.created_at > at - rules.REPLY_WINDOW)
    )
    if (recent or 0) >= rules.REPLY_LIMIT:
        raise TooManyReplies(
            f"at most {rules.REPLY_LIMIT} answers an hour through one link: please try again later or call your contact"
        )
    client = session.get_one(Client, notice.client_id)
    contact = addressee(session, client.id, signatory=_signatory(notice.kind))
    reply = NoticeReply(
        notice_id=notice.id,
        link_id=link.id,
        contact_id=contact.id if contact else None,
        choice=data.choice,
        invoice_ids=[],
        nonce=nonce,
        created_at=at,
    )
    if notice.kind == "renewal_notice":
        effect = _renewal_answer(session, notice, reply, data, contact, at=at, today=today)
    else:
        effect = _reminder_answer(session, notice, reply, data, contact, today=today)
    session.add(reply)
    session.flush()
    who = {"contact_id": contact.id if contact else None, "contact": contact.name if contact else None}
    for entity_type, entity_id, action, before, after in effect.audit:
        record(session, None, action, entity_type, entity_id, before, after | who | {"reply_id": reply.id})
    record(session, None, "client_reply", "notice", notice.id, None, _reply_fields(reply) | who)
    _alert(session, notice, client, reply, contact, effect.message, today)
    return reply, False


@dataclass
class _Effect:
    message: str
    audit: list[tuple[str, int, str, dict[str, Any] | None, dict[str, Any]]]


def _reply_fields(reply: NoticeReply) -> dict[str, Any]:
    return {
        "choice": reply.choice,
        "promise_date": reply.promise_date,
        "invoice_ids": list(reply.invoice_ids or []),
        "reason": reply.reason,
        "reference": reply.reference,
    }


def _renewal_answer(
    session: Session,
    notice: Notice,
    reply: NoticeReply,
    data: ReplyIn,
    contact: Contact | None,
    *,
    at: datetime,
    today: date,
) -> _Effect:
    for field in ("promise_date", "invoice_ids", "reference"):
        if getattr(data, field) is not None:
            raise ValidationFailed(field, "applies only to an answer to a payment reminder")
    reason = _text(
        data.reason, "reason", required="say why you do not wish to renew" if data.choice == "not_renewing" else None
    )
    reply.reason = reason
    renewal = _renewal_of(session, notice, today)
    name = contact.name if contact else "the client"
    audit: list[tuple[str, int, str, dict[str, Any] | None, dict[str, Any]]] = []
    if data.choice == "renew":
        message = f"{name} wants to renew: send the renewal agreement for signature"
    elif data.choice == "call_me":
        message = f"{name} asks to be called about the renewal"
    else:
        message = f"{name} does not wish to renew: {reason}"
    if renewal is None:  # not yet within the renewal horizon, or already decided long ago
        return _Effect(message, audit)
    before = renewal_snapshot(renewal)
    status = renewal_rules.RenewalStatus(renewal.status)
    waiting = renewal_rules.RenewalStatus.AWAITING_SIGNATURE
    if data.choice == "renew" and status in renewal_rules.OPEN_STATES and status != waiting:
        renewal_rules.check_transition(renewal.status, waiting.value)
        renewal.status = waiting.value
        renewal.sent_for_signature_on = renewal.sent_for_signature_on or today
    follow_up = today if data.choice == "call_me" else None
    if follow_up is not None and status in renewal_rules.OPEN_STATES:
        renewal.next_action_date = today
    session.add(
        Activity(
            renewal_id=renewal.id,
            kind="note",
            author_id=None,
            author_contact_id=contact.id if contact else None,
            at=at,
            text=f"Answer to renewal notice #{notice.id}: {message}"
            + (f" — “{reason}”" if reason and data.choice != "not_renewing" else ""),
            next_follow_up_on=follow_up,
        )
    )
    session.flush()
    risk.refresh_renewal(session, renewal.id, today)
    after = renewal_snapshot(renewal)
    if after != before:
        audit.append(
            ("renewal", renewal.id, "transition" if after["status"] != before["status"] else "update", before, after)
        )
    return _Effect(message, audit)


def _renewal_of(session: Session, notice: Notice, today: date) -> Renewal | None:
    if notice.contract_id is None:
        return None
    found = session.scalar(
        select(Renewal).where(Renewal.contract_id == notice.contract_id).order_by(Renewal.id.desc()).limit(1)
    )
    if found is None and open_renewal_for(session, notice.contract_id, today):
        found = session.scalar(select(Renewal).where(Renewal.contract_id == notice.contract_id))
    return found


def _reminder_answer(
    session: Session, notice: Notice, reply: NoticeReply, data: ReplyIn, contact: Contact | None, *, today: date
) -> _Effect:
    name = contact.name if contact else "the client"
    if data.choice != "promise" and data.promise_date is not None:
        raise ValidationFailed("promise_date", "applies only to a promise to pay")
    letter = {invoice.id: invoice for invoice in _letter_invoices(session, notice)}
    if data.choice == "paid_already":
        if data.invoice_ids is not None:
            raise ValidationFailed("invoice_ids", "a payment is matched by finance; give its reference")
        reply.reference = _text(
            data.reference or data.reason, "reference", required="give the payment's reference", limit=100
        )
        reply.reason = _text(data.reason, "reason") if data.reference else None
        return _Effect(f"{name} says the invoices were paid already, reference {reply.reference}", [])
    if data.reference is not None:
        raise ValidationFailed("reference", "applies only to an answer that the invoices were paid already")
    wanted = list(dict.fromkeys(data.invoice_ids)) if data.invoice_ids is not None else list(letter)
    strangers = [i for i in wanted if i not in letter]
    if strangers or not wanted:
        raise ValidationFailed("invoice_ids", "name one or more of the invoices listed in this letter")
    if data.choice == "promise":
        if data.promise_date is None:
            raise ValidationFailed("promise_date", "say by which day you will pay")
        refused = rules.promise_date_error(data.promise_date, today)
        if refused:
            raise ValidationFailed("promise_date", refused)
        reply.promise_date = data.promise_date
        reply.reason = _text(data.reason, "reason")
    else:
        reply.reason = _text(data.reason, "reason", required="say what is wrong with the invoices")
    reply.invoice_ids = wanted
    audit: list[tuple[str, int, str, dict[str, Any] | None, dict[str, Any]]] = []
    held = []
    for invoice in session.scalars(select(Invoice).where(Invoice.id.in_(wanted)).order_by(Invoice.id)):
        if invoice.status not in OPEN_STATUSES:
            continue  # paid or closed since the letter: nothing to hold
        before = invoice_snapshot(invoice)
        invoice.hold_kind = data.choice
        invoice.hold_until = reply.promise_date
        invoice.hold_reason = f"{name} (client) via letter #{notice.id}" + (f": {reply.reason}" if reply.reason else "")
        invoice.held_on = today
        session.flush()
        audit.append(("invoice", invoice.id, "hold", before, invoice_snapshot(invoice)))
        held.append(letter[invoice.id].number)
    if data.choice == "promise":
        message = f"{name} promises to pay {', '.join(held)} by {reply.promise_date}"
    else:
        message = f"{name} disputes {', '.join(held)}: {reply.reason}"
    return _Effect(message, audit)


def _finance(session: Session) -> int | None:
    return session.scalar(select(func.min(User.id)).where(User.role == "finance", User.active.is_(True)))


def _alert(
    session: Session,
    notice: Notice,
    client: Client,
    reply: NoticeReply,
    contact: Contact | None,
    message: str,
    today: date,
) -> None:
    """A client_response alert for whoever acts on the answer: the owner for a renewal notice,
    finance (the owner informed) for a reminder. One per answer; delivered like every alert."""
    renewal_kind = notice.kind == "renewal_notice"
    assignee = client.owner_id if renewal_kind else (_finance(session) or client.owner_id)
    alert = Alert(
        kind=AlertKind.CLIENT_RESPONSE.value,
        subject_type=SubjectType.CLIENT.value,
        subject_id=client.id,
        threshold=None,
        severity=(Severity.WARNING if reply.choice in _WARNING_CHOICES else Severity.INFO).value,
        assignee_id=assignee,
        informed_id=None if renewal_kind else client.owner_id,
        client_id=client.id,
        status="open",
        raised_on=today,
        dedupe_key=f"{AlertKind.CLIENT_RESPONSE.value}:reply:{reply.id}",
        message=f"{client.name}: {message}",
        details={
            "notice_id": notice.id,
            "notice_kind": notice.kind,
            "reply_id": reply.id,
            "contact_id": contact.id if contact else None,
        }
        | {k: (v.isoformat() if isinstance(v, date) else v) for k, v in _reply_fields(reply).items()},
    )
    session.add(alert)
    session.flush()
    request_job(session, DELIVER_ACTOR, alert_id=alert.id)
