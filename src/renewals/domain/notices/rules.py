"""Pure decisions about notices: dates printed on them, references, where files go, link tokens.

No session, no clock, no I/O: `issue_date` and `now` are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import date, timedelta

# A renewal notice asks for an answer within two weeks, sooner when the contract's opt-out
# deadline or its end comes first.
REPLY_WITHIN_DAYS = 14
# A payment reminder asks for payment within ten days; the final notice (level 4) within seven.
PAY_WITHIN_DAYS = 10
FINAL_PAY_WITHIN_DAYS = 7
LINK_ID_BYTES = 16
# A shareable link lasts this long unless asked otherwise.
LINK_DAYS = 30
_LINK_PURPOSE = b"renewals.notice-link.v1:"
_FORM_PURPOSE = b"renewals.notice-reply-form.v1:"
# A client may answer a letter this many times per window through one link; more is refused (429).
REPLY_LIMIT = 5
REPLY_WINDOW = timedelta(hours=1)
# A promise to pay made through a letter's link may name a date at most this far ahead.
PROMISE_MAX_DAYS = 30
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def reply_by(issue_date: date, end_date: date, opt_out_deadline: date | None) -> date:
    """Return the date a renewal notice asks the client to answer by.

    Fourteen days after issue, or the opt-out deadline, or the contract's end date, whichever
    comes first; a deadline or end that has already passed is ignored, so the date is never
    before the issue date.
    """
    candidates = [issue_date + timedelta(days=REPLY_WITHIN_DAYS)]
    candidates += [day for day in (opt_out_deadline, end_date) if day is not None and day >= issue_date]
    return min(candidates)


def pay_by(issue_date: date, highest_level: int) -> date:
    """Return the date a payment reminder asks the client to pay by (sooner on a final notice)."""
    days = FINAL_PAY_WITHIN_DAYS if highest_level >= 4 else PAY_WITHIN_DAYS
    return issue_date + timedelta(days=days)


def renewal_reference(contract_number: str, issue_date: date) -> str:
    """The reference printed on a renewal notice: the same inputs always print the same one."""
    return f"RN-{contract_number}-{issue_date:%Y%m%d}"


def reminder_reference(client_id: int, issue_date: date) -> str:
    return f"PR-{client_id:06d}-{issue_date:%Y%m%d}"


def statement_reference(client_id: int, period_start: date, period_end: date) -> str:
    return f"ST-{client_id:06d}-{period_start:%Y%m%d}-{period_end:%Y%m%d}"


def pdf_path(sha256: str) -> str:
    """Where a rendered PDF is kept, relative to the data directory: by content, so the same
    notice rendered twice is one file."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return f"notices/{sha256[:2]}/{sha256}.pdf"


def batch_zip_path(batch_id: int) -> str:
    return f"notices/batches/batch-{batch_id}.zip"


def zip_entry_name(contract_number: str | None, kind: str, language: str, notice_id: int) -> str:
    """A file name inside a batch zip: readable, safe on every file system, unique by notice id."""
    stem = _UNSAFE.sub("-", contract_number or kind).strip("-.") or kind
    return f"{stem}-{language}-{notice_id}.pdf"


def _mac(secret: str, link_id: str) -> str:
    digest = hmac.new(secret.encode(), _LINK_PURPOSE + link_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def link_token(secret: str, link_id: str) -> str:
    """The token of a shareable link: its random id and an HMAC-SHA256 of it under the secret key."""
    return f"{link_id}.{_mac(secret, link_id)}"


def link_id_of(secret: str, token: str) -> str | None:
    """The link id a token carries when its signature is valid under the secret key, else None."""
    link_id, dot, mac = token.partition(".")
    if not dot or not link_id or len(link_id) > 32 or not mac:
        return None
    if not hmac.compare_digest(mac, _mac(secret, link_id)):
        return None
    return link_id


def reply_form_token(secret: str, link_id: str, nonce: str) -> str:
    """The reply form's anti-forgery value: a one-time nonce and its HMAC bound to the link, so a
    form is good for its own link only and sending it twice is recognised as one answer."""
    mac = hmac.new(secret.encode(), _FORM_PURPOSE + f"{link_id}:{nonce}".encode(), hashlib.sha256).digest()
    return f"{nonce}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def reply_form_nonce(secret: str, link_id: str, token: str) -> str | None:
    """The nonce of a reply form token when it was made for this link, else None."""
    nonce, dot, _mac = token.partition(".")
    if not dot or not nonce or len(nonce) > 40:
        return None
    return nonce if hmac.compare_digest(token, reply_form_token(secret, link_id, nonce)) else None


def promise_date_error(promise_date: date, today: date) -> str | None:
    """Why a promised payment date is refused, or None: from today to PROMISE_MAX_DAYS ahead."""
    if promise_date < today:
        return f"must not be in the past (today is {today.isoformat()})"
    if promise_date > today + timedelta(days=PROMISE_MAX_DAYS):
        return f"must be within {PROMISE_MAX_DAYS} days (by {(today + timedelta(days=PROMISE_MAX_DAYS)).isoformat()})"
    return None
