"""Notice shapes as the API carries them (pinned: id, kind, client_id, contract_id, language,
status, sha256, size, pages, error, created_at)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from renewals.domain.notices.context import Language
from renewals.domain.notices.kinds import Kind


class NoticeIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: Kind
    """One of the registered kinds (`kinds.REGISTRY`)."""
    client_id: int | None = None
    """Required unless a renewal notice names its contract (the contract's client is used)."""
    contract_id: int | None = None
    language: Language | None = None
    """The client's preferred language unless named here."""
    as_of: date | None = None
    """The issue date and the day overdue invoices are counted on (default: today)."""
    from_: date | None = msgspec.field(default=None, name="from")
    """Statements: the first day of the period (default: the first day of `to`'s month)."""
    to: date | None = None
    """Statements: the last day of the period (default: `as_of`)."""


class NoticeOut(msgspec.Struct):
    id: int
    kind: str
    client_id: int
    contract_id: int | None
    language: str
    status: str
    sha256: str | None
    size: int | None
    pages: int | None
    error: str | None
    created_at: datetime
    params: dict[str, Any]
    batch_id: int | None
    requested_by: int | None
    rendered_at: datetime | None


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    within_days: Annotated[int, msgspec.Meta(ge=1, le=730)]
    owner_id: int | None = None
    """The account manager whose contracts are noticed (default: the caller)."""
    as_of: date | None = None
    language: Language | None = None
    """One language for every notice; by default each client's own."""


class BatchOut(msgspec.Struct):
    id: int
    owner_id: int
    within_days: int
    as_of: date
    language: str | None
    status: str
    notice_ids: list[int]
    ready: int
    failed: int
    zip_sha256: str | None
    zip_size: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class LinkIn(msgspec.Struct, forbid_unknown_fields=True):
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30  # rules.LINK_DAYS


class LinkOut(msgspec.Struct):
    id: str
    notice_id: int
    url: str
    expires_at: datetime
    revoked_at: datetime | None = None


class DeliveryOut(msgspec.Struct):
    id: int
    notice_id: int
    to: list[str]
    subject: str
    status: str
    sent_at: datetime | None
    error: str | None
    created_at: datetime


class ReplyIn(msgspec.Struct, forbid_unknown_fields=True):
    """A client's answer to a letter (`POST /n/{token}/reply`, JSON or the page's form)."""

    choice: str
    """renew, call_me, not_renewing (renewal notices); promise, dispute, paid_already (reminders)."""
    promise_date: date | None = None
    """promise: the day the client will pay by, today to 30 days ahead."""
    invoice_ids: list[int] | None = None
    """promise, dispute: which of the letter's invoices (default: all of them still open)."""
    reason: str | None = None
    """not_renewing, dispute: why (required); any other choice: a message."""
    reference: str | None = None
    """paid_already: the payment's reference (or give it as `reason`)."""


class ReplyOut(msgspec.Struct):
    id: int
    notice_id: int
    choice: str
    promise_date: date | None
    invoice_ids: list[int]
    reason: str | None
    reference: str | None
    created_at: datetime
    replayed: bool = False
    """True when this exact form had been sent before: the first answer is returned, nothing new
    is recorded."""
