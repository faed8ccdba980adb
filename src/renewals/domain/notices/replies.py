"""A client answers a letter through its shared link, without an account.

Renewal notices: `renew` (the renewal moves to awaiting_signature), `call_me` (a follow-up due
today for the owner), `not_renewing` (with a reason; the owner decides `lost`). Payment reminders:
`promise` (a promise-to-pay hold on the letter's invoices until a date at most 30 days ahead),
`dispute` (a dispute hold with the reason), `paid_already` (a payment reference for finance to
match); each kind's module (`kinds/`) says what its answers do. Every answer is a `NoticeReply`
row, an activity or hold authored by the letter's addressee, an audit row and a `client_response`
alert to the owner (renewals) or finance (reminders). A second answer is recorded too; the latest stands.

The link is the permission: what the answer may touch is the letter's own renewal or its own
invoices, nothing else of the client's, and nothing of any other client is ever shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewals.db.models import Alert, Client, Contact, User
from renewals.db.models.notices import Notice, NoticeLink, NoticeReply
from renewals.db.uow import request_job
from renewals.domain.alerts.rules import AlertKind, Severity, SubjectType
from renewals.domain.alerts.store import DELIVER_ACTOR
from renewals.domain.audit import record
from renewals.domain.notices import rules
from renewals.domain.notices.build import addressee
from renewals.domain.notices.kinds import N_, notice_kind, reply_choices
from renewals.domain.notices.kinds.base import LetterInvoice
from renewals.domain.notices.schemas import ReplyIn, ReplyOut
from renewals.domain.notices.sharing import link_for_token
from renewals.errors import Forbidden, NotFound, RenewalsError, ValidationFailed

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
        invoices=notice_kind(notice.kind).letter_invoices(session, notice),
        latest=_latest(session, link.id),
        today=today,
        promise_until=today + timedelta(days=rules.PROMISE_MAX_DAYS),
    )


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
    act = notice_kind(notice.kind).answer
    if act is None:  # pragma: no cover - a letter without choices has no reply page (404 above)
        raise NotFound("link")
    effect = act(session, notice, reply, data, contact, at=at, today=today)
    session.add(reply)
    session.flush()
    who = {"contact_id": contact.id if contact else None, "contact": contact.name if contact else None}
    for entity_type, entity_id, action, before, after in effect.audit:
        record(session, None, action, entity_type, entity_id, before, after | who | {"reply_id": reply.id})
    record(session, None, "client_reply", "notice", notice.id, None, _reply_fields(reply) | who)
    _alert(session, notice, client, reply, contact, effect.message, today)
    return reply, False


def _reply_fields(reply: NoticeReply) -> dict[str, Any]:
    return {
        "choice": reply.choice,
        "promise_date": reply.promise_date,
        "invoice_ids": list(reply.invoice_ids or []),
        "reason": reply.reason,
        "reference": reply.reference,
    }


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
    to_owner = notice_kind(notice.kind).answered_by == "owner"
    assignee = client.owner_id if to_owner else (_finance(session) or client.owner_id)
    alert = Alert(
        kind=AlertKind.CLIENT_RESPONSE.value,
        subject_type=SubjectType.CLIENT.value,
        subject_id=client.id,
        threshold=None,
        severity=(
            Severity.WARNING if reply.choice in notice_kind(notice.kind).warning_choices else Severity.INFO
        ).value,
        assignee_id=assignee,
        informed_id=None if to_owner else client.owner_id,
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
