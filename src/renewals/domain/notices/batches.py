"""Batches: every renewal notice for one owner's contracts ending within N days, as one request,
rendered by one job and downloadable as one zip.

Completion: the batch job (`notices.batch`) renders the batch's notices one after another in
the same worker (each in its own units of work, skipping those already ready or failed, so a
redelivered job resumes), then builds the zip. The zip is built under a guarded update
(`rendering` → `ready`), so two deliveries of the same job produce one zip and one final status.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.orm import Session

from renewals.db.models import Client, Contract, User
from renewals.db.models.notices import Notice, NoticeBatch
from renewals.db.uow import request_job
from renewals.domain.access.rules import sees_everything
from renewals.domain.notices import rules
from renewals.domain.notices.kinds.renewal_notice import RENEWABLE_STATUSES
from renewals.domain.notices.schemas import BatchIn, BatchOut
from renewals.domain.notices.service import language_for
from renewals.errors import Conflict, NotFound, ValidationFailed

BATCH_ACTOR = "notices.batch"
# Fixed timestamps inside the zip: the same notices give the same zip bytes.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def batch_out(session: Session, batch: NoticeBatch) -> BatchOut:
    rows = session.execute(
        select(Notice.id, Notice.status).where(Notice.batch_id == batch.id).order_by(Notice.id)
    ).all()
    return BatchOut(
        id=batch.id,
        owner_id=batch.owner_id,
        within_days=batch.within_days,
        as_of=batch.as_of,
        language=batch.language,
        status=batch.status,
        notice_ids=[r[0] for r in rows],
        ready=sum(1 for r in rows if r[1] == "ready"),
        failed=sum(1 for r in rows if r[1] == "failed"),
        zip_sha256=batch.zip_sha256,
        zip_size=batch.zip_size,
        error=batch.error,
        created_at=batch.created_at,
        finished_at=batch.finished_at,
    )


def _owner(session: Session, actor: User, owner_id: int | None) -> User:
    if owner_id is None or owner_id == actor.id:
        return actor
    if not sees_everything(actor):
        raise ValidationFailed("owner_id", "an account manager batches only the contracts of their own clients")
    owner = session.get(User, owner_id)
    if owner is None:
        raise ValidationFailed("owner_id", f"no user {owner_id}")
    return owner


def request_batch(session: Session, actor: User, data: BatchIn, today: date) -> NoticeBatch:
    """Record a batch with one queued renewal notice per active contract of the owner's clients
    ending within `within_days` of `as_of` (inclusive), and ask a worker to render it.

    Raises ValidationFailed for an owner the actor may not batch for, Conflict when no contract
    ends in the window (an empty batch helps nobody).
    """
    owner = _owner(session, actor, data.owner_id)
    as_of = data.as_of or today
    contracts = session.execute(
        select(Contract.id, Contract.client_id, Client.language)
        .join(Client, Client.id == Contract.client_id)
        .where(
            Client.owner_id == owner.id,
            Contract.status.in_(RENEWABLE_STATUSES),
            Contract.end_date >= as_of,
            Contract.end_date <= as_of + timedelta(days=data.within_days),
        )
        .order_by(Contract.end_date, Contract.id)
    ).all()
    if not contracts:
        raise Conflict(
            f"{owner.name} has no active contract ending between {as_of.isoformat()} and "
            f"{(as_of + timedelta(days=data.within_days)).isoformat()}: no notices to make",
            extra={"owner_id": owner.id, "within_days": data.within_days},
        )
    batch = NoticeBatch(
        owner_id=owner.id,
        within_days=data.within_days,
        as_of=as_of,
        language=data.language,
        status="queued",
        requested_by=actor.id,
    )
    session.add(batch)
    session.flush()
    clients = {c.id: c for c in session.scalars(select(Client).where(Client.id.in_({c[1] for c in contracts})))}
    session.add_all(
        Notice(
            kind="renewal_notice",
            client_id=client_id,
            contract_id=contract_id,
            language=language_for(clients[client_id], data.language),
            status="queued",
            params={"as_of": as_of.isoformat()},
            requested_by=actor.id,
            batch_id=batch.id,
        )
        for contract_id, client_id, _language in contracts
    )
    session.flush()
    request_job(session, BATCH_ACTOR, batch_id=batch.id)
    return batch


def _visible(user: User) -> Select[Any]:
    stmt = select(NoticeBatch)
    return stmt if sees_everything(user) else stmt.where(NoticeBatch.owner_id == user.id)


def get_visible_batch(session: Session, user: User, batch_id: int) -> NoticeBatch:
    """Load a batch of the user's own contracts (anyone's for managers, finance, admins); else NotFound."""
    batch: NoticeBatch | None = session.scalar(_visible(user).where(NoticeBatch.id == batch_id))
    if batch is None:
        raise NotFound("notice batch", batch_id)
    return batch


def begin_batch(session: Session, batch_id: int) -> list[int] | None:
    """Move a batch to `rendering` and return the ids of its notices still to render, or None
    when the batch is gone or already finished (a redelivered message)."""
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(NoticeBatch)
        .where(NoticeBatch.id == batch_id, NoticeBatch.status.in_(("queued", "rendering")))
        .values(status="rendering")
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:
        return None
    return list(
        session.scalars(
            select(Notice.id)
            .where(Notice.batch_id == batch_id, Notice.status.in_(("queued", "rendering")))
            .order_by(Notice.id)
        )
    )


def finish_batch(session: Session, batch_id: int, data_dir: Path, at: datetime) -> NoticeBatch | None:
    """Zip the batch's ready notices and mark it ready (failed when none could be rendered; the
    failed ones are listed with their reasons on each notice). Return None when another delivery
    finished it first, or some notice is still being rendered."""
    pending = session.scalar(
        select(func.count())
        .select_from(Notice)
        .where(Notice.batch_id == batch_id, Notice.status.in_(("queued", "rendering")))
    )
    if pending:
        return None
    ready = session.execute(
        select(Notice.id, Notice.file_path, Notice.language, Notice.kind, Contract.number)
        .outerjoin(Contract, Contract.id == Notice.contract_id)
        .where(Notice.batch_id == batch_id, Notice.status == "ready")
        .order_by(Notice.id)
    ).all()
    failed = (
        session.scalar(
            select(func.count()).select_from(Notice).where(Notice.batch_id == batch_id, Notice.status == "failed")
        )
        or 0
    )
    values: dict[str, Any] = {"finished_at": at}
    if ready:
        relative = rules.batch_zip_path(batch_id)
        data = _zip(
            [
                (rules.zip_entry_name(number, kind, language, ident), data_dir / str(path))
                for ident, path, language, kind, number in ready
            ]
        )
        _write(data_dir / relative, data)
        values.update(
            status="ready",
            zip_path=relative,
            zip_sha256=hashlib.sha256(data).hexdigest(),
            zip_size=len(data),
            error=f"{failed} notice(s) failed; see each notice" if failed else None,
        )
    else:
        values.update(status="failed", error="every notice of the batch failed; see each notice")
    done: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(NoticeBatch)
        .where(NoticeBatch.id == batch_id, NoticeBatch.status == "rendering")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:
        return None
    return session.get_one(NoticeBatch, batch_id, populate_existing=True)


def _zip(entries: list[tuple[str, Path]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as archive:
        # PDFs are compressed already: stored, not deflated.
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buf.getvalue()


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_zip(session: Session, data_dir: Path, batch: NoticeBatch, reader: User) -> bytes:
    """The batch's zip, holding only the notices of clients the reader may see now: a client
    reassigned since the batch was made takes its notices with it. Raises Conflict until it is
    built."""
    if batch.status != "ready" or batch.zip_path is None:
        raise Conflict(
            f"notice batch {batch.id} is {batch.status}: its zip is not built yet",
            extra={"status": batch.status, "error": batch.error},
        )
    path = data_dir / batch.zip_path
    if not path.is_file():
        raise NotFound("zip file of notice batch", batch.id)
    if sees_everything(reader):
        return path.read_bytes()
    ready = session.execute(
        select(Notice.id, Notice.file_path, Notice.language, Notice.kind, Contract.number, Client.owner_id)
        .join(Client, Client.id == Notice.client_id)
        .outerjoin(Contract, Contract.id == Notice.contract_id)
        .where(Notice.batch_id == batch.id, Notice.status == "ready")
        .order_by(Notice.id)
    ).all()
    visible = [row for row in ready if row.owner_id == reader.id]
    if len(visible) == len(ready):
        return path.read_bytes()
    if not visible:
        raise NotFound("notice batch", batch.id)
    return _zip(
        [
            (rules.zip_entry_name(number, kind, language, ident), data_dir / str(file_path))
            for ident, file_path, language, kind, number, _ in visible
        ]
    )
