"""Notice services: request a notice (checked at once, rendered by a worker), follow its status,
store its PDF by content, and request the reminders the daily scan's dunning calls for.

Rendering is split around the PDF work so that no database transaction stays open while
WeasyPrint runs: `begin_render` (claim the notice, build its context) → the renderer →
`store_pdf` (a file named by its sha256) → `finish_render` or `fail_render`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.orm import Session

from renewals.db.dialect import insert_one_ignoring_conflicts
from renewals.db.models import Alert, Client, Contract, Invoice, User
from renewals.db.models.notices import Notice
from renewals.db.uow import request_job
from renewals.domain.access.rules import scope_clients
from renewals.domain.alerts.rules import AlertKind
from renewals.domain.clients.service import get_visible
from renewals.domain.contracts.service import get_visible_contract
from renewals.domain.notices import build, rules
from renewals.domain.notices.context import LANGUAGES, NoticeContext
from renewals.domain.notices.kinds import KINDS, build_context, notice_kind, payment_reminder
from renewals.domain.notices.schemas import NoticeIn, NoticeOut
from renewals.domain.pagination import paginate
from renewals.domain.receivables.queries import chased
from renewals.errors import Conflict, NotFound, ValidationFailed

RENDER_ACTOR = "notices.render"
STATUSES = ("queued", "rendering", "ready", "failed")


def notice_out(notice: Notice) -> NoticeOut:
    return NoticeOut(
        id=notice.id,
        kind=notice.kind,
        client_id=notice.client_id,
        contract_id=notice.contract_id,
        language=notice.language,
        status=notice.status,
        sha256=notice.sha256,
        size=notice.size,
        pages=notice.pages,
        error=notice.error,
        created_at=notice.created_at,
        params=dict(notice.params or {}),
        batch_id=notice.batch_id,
        requested_by=notice.requested_by,
        rendered_at=notice.rendered_at,
    )


def language_for(client: Client, requested: str | None) -> str:
    """The notice's language: the one requested, else the client's own (English if unsupported)."""
    if requested is not None:
        if requested not in LANGUAGES:
            raise ValidationFailed("language", f"must be one of {', '.join(LANGUAGES)}")
        return requested
    return client.language if client.language in LANGUAGES else "en"


def _params(data: NoticeIn, as_of: date) -> dict[str, Any]:
    params: dict[str, Any] = {"as_of": as_of.isoformat()}
    if notice_kind(data.kind).covers_period:
        # As GET /statement: `to` defaults to the issue date, `from` to the first of `to`'s month.
        to = data.to or as_of
        start = data.from_ or to.replace(day=1)
        if to < start:
            raise ValidationFailed("to", "must not be before `from`")
        params.update({"from": start.isoformat(), "to": to.isoformat()})
    elif data.from_ is not None or data.to is not None:
        raise ValidationFailed("from", f"a {data.kind} covers no period")
    return params


def request_notice(session: Session, actor: User, data: NoticeIn, today: date, sender: build.Sender) -> Notice:
    """Record a notice and ask a worker to render it (sent after commit).

    The notice's context is built once here so that bad input answers now rather than as a
    failed notice later. Raises NotFound for a client or contract the actor may not see,
    ValidationFailed for a missing or inconsistent field, and Conflict when there is nothing to
    put in the notice (a contract that is not active, a client with no overdue invoice).
    """
    kind = notice_kind(data.kind)
    contract: Contract | None = None
    if data.contract_id is not None:
        contract = get_visible_contract(session, actor, data.contract_id)
    if kind.names_contract and contract is None:
        raise ValidationFailed("contract_id", f"a {data.kind} names its contract")
    if not kind.names_contract and contract is not None:
        raise ValidationFailed("contract_id", f"a {data.kind} covers the whole client, not one contract")
    client_id = data.client_id if data.client_id is not None else (contract.client_id if contract else None)
    if client_id is None:
        raise ValidationFailed("client_id", "name the client")
    client = get_visible(session, actor, client_id)
    if contract is not None and contract.client_id != client.id:
        raise ValidationFailed("contract_id", f"contract {contract.number} is not a contract of client {client.id}")
    params = _params(data, data.as_of or today)
    language = language_for(client, data.language)
    build_context(session, data.kind, client.id, data.contract_id, params, sender, actor, language)
    notice = Notice(
        kind=data.kind,
        client_id=client.id,
        contract_id=data.contract_id,
        language=language,
        status="queued",
        params=params,
        requested_by=actor.id,
    )
    session.add(notice)
    session.flush()
    request_job(session, RENDER_ACTOR, notice_id=notice.id)
    return notice


def _visible(user: User) -> Select[Any]:
    return scope_clients(select(Notice).join(Client, Client.id == Notice.client_id), user)


def get_visible_notice(session: Session, user: User, notice_id: int) -> Notice:
    """Load a notice of a client the user may see; anything else is NotFound."""
    notice: Notice | None = session.scalar(_visible(user).where(Notice.id == notice_id))
    if notice is None:
        raise NotFound("notice", notice_id)
    return notice


def list_notices(
    session: Session,
    user: User,
    *,
    limit: int,
    offset: int,
    kind: str | None = None,
    client_id: int | None = None,
    status: str | None = None,
) -> tuple[list[Notice], int]:
    """List the notices of the clients the user may see, newest first. Raises ValidationFailed
    for an unknown kind or status."""
    stmt = _visible(user)
    if kind is not None:
        if kind not in KINDS:
            raise ValidationFailed("kind", f"must be one of {', '.join(KINDS)}", source="query")
        stmt = stmt.where(Notice.kind == kind)
    if status is not None:
        if status not in STATUSES:
            raise ValidationFailed("status", f"must be one of {', '.join(STATUSES)}", source="query")
        stmt = stmt.where(Notice.status == status)
    if client_id is not None:
        stmt = stmt.where(Notice.client_id == client_id)
    return paginate(session, stmt.order_by(Notice.created_at.desc(), Notice.id.desc()), limit, offset)


# --- rendering (called by the worker) ---------------------------------------------------------


@dataclass(frozen=True)
class RenderTask:
    notice_id: int
    kind: str
    language: str
    context: NoticeContext


def begin_render(session: Session, notice_id: int, sender: build.Sender) -> RenderTask | None:
    """Claim a notice for rendering (queued → rendering) and build its context. Return None when
    there is nothing to do: the notice is gone, or already ready or failed (a redelivered
    message). A notice left `rendering` by a worker that died is claimed again.

    Raises what building raises (NotFound, Conflict, ValidationFailed): the caller records it.
    """
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Notice)
        .where(Notice.id == notice_id, Notice.status.in_(("queued", "rendering")))
        .values(status="rendering", error=None)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:
        return None
    notice = session.get_one(Notice, notice_id, populate_existing=True)
    # A statement is seen through the eyes of whoever asked for it; a notice the scan asked for
    # (a reminder) has no asker, and reminders do not depend on who looks.
    asker = session.get(User, notice.requested_by) if notice.requested_by is not None else None
    context = build_context(
        session, notice.kind, notice.client_id, notice.contract_id, dict(notice.params), sender, asker, notice.language
    )
    return RenderTask(notice.id, notice.kind, notice.language, context)


def store_pdf(data_dir: Path, sha256: str, data: bytes) -> str:
    """Write a PDF under the data directory by its sha256 (atomically; an existing file with that
    name already holds these bytes) and return its path relative to the data directory."""
    relative = rules.pdf_path(sha256)
    target = data_dir / relative
    if target.is_file() and target.stat().st_size == len(data):
        return relative
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return relative


def read_pdf(data_dir: Path, notice: Notice) -> bytes:
    """The stored PDF of a ready notice. Raises Conflict while it is not ready, NotFound when
    its file is missing from the data directory."""
    if notice.status != "ready" or notice.file_path is None:
        raise Conflict(
            f"notice {notice.id} is {notice.status}, not ready: its PDF does not exist yet",
            extra={"status": notice.status, "error": notice.error},
        )
    path = data_dir / notice.file_path
    if not path.is_file():
        raise NotFound("PDF file of notice", notice.id)
    return path.read_bytes()


def finish_render(
    session: Session, notice_id: int, *, sha256: str, size: int, pages: int, file_path: str, at: datetime
) -> None:
    """Mark a notice ready with its stored PDF's digest, size and page count."""
    session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status == "rendering")
        .values(status="ready", sha256=sha256, size=size, pages=pages, file_path=file_path, error=None, rendered_at=at)
        .execution_options(synchronize_session=False)
    )


def fail_render(session: Session, notice_id: int, reason: str, at: datetime) -> None:
    """Mark a notice that is not ready as failed, with the reason."""
    session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status.in_(("queued", "rendering")))
        .values(status="failed", error=reason[:2000], rendered_at=at)
        .execution_options(synchronize_session=False)
    )


# --- reminders the daily scan asks for -------------------------------------------------------


def request_auto_reminders(session: Session, as_of: date) -> int:
    """Request one payment reminder for `as_of` for every client with an invoice_overdue alert
    raised that day and an unheld unpaid invoice overdue then; return how many were requested now.

    Idempotent: each has the unique key `auto-reminder:<client id>:<day>`, so running the step
    again (or on two workers) requests nothing twice. The reminder lists the client's open
    overdue invoices as `kinds.payment_reminder` finds them, never a paid or held one.
    """
    client_ids: list[int] = [
        client_id
        for client_id in session.execute(
            select(Alert.client_id)
            .distinct()
            .join(Invoice, Invoice.client_id == Alert.client_id)
            .where(
                Alert.kind == AlertKind.INVOICE_OVERDUE,
                Alert.raised_on == as_of,
                Alert.client_id.is_not(None),
                chased(as_of),
            )
            .order_by(Alert.client_id)
        )
        .scalars()
        .all()
        if client_id is not None
    ]
    if not client_ids:
        return 0
    languages: dict[int, str] = {
        client_id: language
        for client_id, language in session.execute(select(Client.id, Client.language).where(Client.id.in_(client_ids)))
    }
    requested = 0
    for client_id in client_ids:
        language = languages[client_id] if languages[client_id] in set(LANGUAGES) else "en"
        notice_id = insert_one_ignoring_conflicts(
            session,
            Notice.__table__,
            {
                "kind": payment_reminder.KIND.name,
                "client_id": client_id,
                "contract_id": None,
                "language": language,
                "status": "queued",
                "params": {"as_of": as_of.isoformat(), "auto": True},
                "requested_by": None,
                "dedupe_key": f"auto-reminder:{client_id}:{as_of.isoformat()}",
            },
        )
        if notice_id is not None:
            requested += 1
            request_job(session, RENDER_ACTOR, notice_id=notice_id)
    return requested
