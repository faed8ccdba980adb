"""The renewal worklist (`GET /renewals`, `renewals.reads.list_renewals`): a page of 50 with
each renewal's receivables figures, risk score and last activity, and the total count.

Book: ``bench.generate`` "full" (renewal records for contracts ending within 180 days).

* a manager's first page by end date, a page 1,000 rows in, and the next 30 days only;
* one account manager's first page (their clients only) by end date and by risk;
* a manager's first page by risk, and one owner's (the stored score, `renewals.risk`);
* the daily scan's refresh of every stored risk score (`risk.refresh_all`, one UPDATE … FROM),
  against a plain UPDATE of the same rows; the book is scored this way before the pages are read;
* baseline: a plain ``SELECT … FROM renewals ORDER BY end_date, id LIMIT 50`` (for the account
  manager's cases with ``WHERE owner_id = ?``, which the (owner_id, end_date) index serves).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import func, select, update

from bench.common import AS_OF, Database, Row, Section, Timing, best_of
from bench.generate import FIRST_ACCOUNT_MANAGER
from renewals.db.models import Renewal, User
from renewals.domain.renewals import risk
from renewals.domain.renewals.reads import list_renewals
from renewals.domain.renewals.rules import OPEN_STATUSES

NAME = "worklist"
TITLE = "Renewal worklist page"
BOOK = "full"
WHAT = __doc__ or ""


def measure(db: Database, scale: int, section: Section, repeat: int) -> None:
    with db.engine.connect() as conn:
        renewals = int(conn.scalar(select(func.count()).select_from(Renewal)) or 0)
        mine = int(
            conn.scalar(select(func.count()).select_from(Renewal).where(Renewal.owner_id == FIRST_ACCOUNT_MANAGER)) or 0
        )
    score_book(db, scale, section, repeat)
    everyone, _ = best_of(repeat, lambda: _plain_page(db, None))
    own, _ = best_of(repeat, lambda: _plain_page(db, FIRST_ACCOUNT_MANAGER))
    cases: list[tuple[str, int, dict[str, Any], Timing, int]] = [
        ("manager, first page", 2, {}, everyone, renewals),
        ("manager, page at offset 1,000", 2, {"offset": 1000}, everyone, renewals),
        ("manager, ending within 30 days", 2, {"ending_within_days": 30}, everyone, renewals),
        ("manager, first page by risk", 2, {"sort": "risk"}, everyone, renewals),
        ("manager, one owner's first page by risk", 2, {"sort": "risk", "owner_id": FIRST_ACCOUNT_MANAGER}, own, mine),
        ("account manager, first page", FIRST_ACCOUNT_MANAGER, {}, own, mine),
        ("account manager, first page by risk", FIRST_ACCOUNT_MANAGER, {"sort": "risk"}, own, mine),
    ]
    for label, user_id, options, floor, visible in cases:
        with db.sessions() as session:
            user = session.get(User, user_id)
            assert user is not None
            page = partial(list_renewals, session, user, as_of=AS_OF, limit=50, **options)
            timing, (items, total) = best_of(repeat, page)
            session.rollback()
        section.add(
            Row(
                scale,
                label,
                visible,
                "visible renewals",
                timing.wall,
                timing.cpu,
                "plain indexed ORDER BY end_date LIMIT 50",
                floor.wall,
            )
        )
        if not items:
            section.note(f"{scale:,} contracts, {label}: EMPTY PAGE (total {total})")
    section.note(f"{scale:,} contracts: {renewals:,} renewals, {mine:,} of them the account manager's")


def _plain_page(db: Database, owner_id: int | None) -> None:
    stmt = select(Renewal).order_by(Renewal.end_date, Renewal.id).limit(50)
    if owner_id is not None:
        stmt = stmt.where(Renewal.owner_id == owner_id)
    with db.sessions() as session:
        session.scalars(stmt).all()


def score_book(db: Database, scale: int | None = None, section: Section | None = None, repeat: int = 1) -> None:
    """Score every renewal as the day's scan does (committed); with a section, time the refresh
    (rolled back) against a plain UPDATE of the same rows first."""
    if section is not None and scale is not None:
        refresh, changed = best_of(repeat, lambda: _rolled_back(db, lambda s: risk.refresh_all(s, AS_OF)))
        plain, rows = best_of(repeat, lambda: _rolled_back(db, _plain_update))
        section.add(
            Row(
                scale,
                "scan's refresh of every risk score",
                rows,
                "open renewals",
                refresh.wall,
                refresh.cpu,
                "plain UPDATE of the same rows",
                plain.wall,
            )
        )
        section.note(f"{scale:,} contracts: the refresh changed {changed:,} scores")
    with db.unit() as session:
        risk.refresh_all(session, AS_OF)


def _rolled_back(db: Database, work: Any) -> int:
    with db.sessions() as session:
        count = int(work(session))
        session.rollback()
    return count


def _plain_update(session: Any) -> int:
    result = session.execute(
        update(Renewal).where(Renewal.status.in_(OPEN_STATUSES)).values(risk_score=Renewal.risk_score + 1)
    )
    return int(result.rowcount or 0)
