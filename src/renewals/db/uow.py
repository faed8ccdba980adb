"""Unit of work: one owner of the commit, and work requested inside it sent only after it commits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

Dispatcher = Callable[[str, dict[str, Any]], None]
_dispatcher: Dispatcher | None = None
_PENDING = "renewals.pending_jobs"


def set_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Install the function that sends a job (the jobs layer does this at start-up)."""
    global _dispatcher
    _dispatcher = dispatcher


def request_job(session: Session, actor: str, **kwargs: Any) -> None:
    """Ask for a background job; it is sent when, and only if, the session's transaction commits."""
    session.info.setdefault(_PENDING, []).append((actor, kwargs))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if pending and _dispatcher is not None:
        for actor, kwargs in pending:
            _dispatcher(actor, kwargs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


C = TypeVar("C")
R = TypeVar("R")
T = TypeVar("T")


def rehearse(session: Session, work: Callable[[], T]) -> T:
    """Run `work` in a savepoint and roll it back: what it would do, with nothing written and
    no job it requested sent. Return what `work` returned."""
    pending = list(session.info.get(_PENDING, []))
    savepoint = session.begin_nested()
    try:
        return work()
    finally:
        savepoint.rollback()
        session.expire_all()
        session.info[_PENDING] = pending


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error. The only place that commits."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def claim_send_record(
    factory: sessionmaker[Session],
    claim: Callable[[Session], C | None],
    send: Callable[[C], R],
    record: Callable[[Session, C, R], T],
) -> tuple[C, R, T] | None:
    """Claim work in one transaction, do its slow outside part (SMTP, a webhook, WeasyPrint) with no
    transaction open, and record the outcome in a second one; None when there was nothing to claim.

    The one shape of every delivery and rendering: no database lock is held while the outside
    world answers, and a crash between the two transactions leaves a claim that is taken again.
    Raises what the three steps raise (a failed claim or record rolls back its own transaction).
    """
    with unit_of_work(factory) as session:
        claimed = claim(session)
    if claimed is None:
        return None
    outcome = send(claimed)
    with unit_of_work(factory) as session:
        recorded = record(session, claimed, outcome)
    return claimed, outcome, recorded
