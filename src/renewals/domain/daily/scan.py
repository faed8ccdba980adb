"""The daily scan: day-level renewal steps, id-range chunks of alerts, and a closing step.

The jobs layer fans the scan out like this (any number of workers, any number of times; see
`scan_job`):

    prepare(session, as_of)                  one message: the renewal steps in order
    for chunk in plan(session, as_of):       one message per id range of contracts, invoices,
        run_chunk(session, as_of, chunk)     renewals and clients
    finish(session, as_of)                   one message: churn, then automatic reminders

`run_day` does all of it in one transaction (tests, `renewals scan --sync`, the demo book).

A chunk is a handful of set-based statements over its id range (per alert rule one INSERT …
SELECT, UPDATEs for dunning, lifted holds and resolutions; see `alerts/raising.py`,
`alerts/dunning.py`, `alerts/resolving.py`), so its cost hardly depends on its size and the
ranges are large. Every run evaluates every subject again: nothing is skipped because the day ran.

Every step is idempotent and safe to run concurrently: alerts are inserted with ON CONFLICT DO
NOTHING on their unique dedupe key, dunning levels only climb, a lifted hold is lifted under a
guard that a second run no longer matches, and resolution only touches alerts not resolved yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewals.db.dialect import plan_each_statement
from renewals.db.models import Client, Contract, Invoice, Renewal, User
from renewals.domain.alerts import dunning, raising
from renewals.domain.alerts.lifecycle import id_ranges
from renewals.domain.alerts.rules import DEFAULT_THRESHOLDS, Thresholds
from renewals.domain.notices.service import request_auto_reminders
from renewals.domain.renewals import records, risk, steps
from renewals.domain.renewals.rules import DEFAULT_HORIZON_DAYS
from renewals.settings import Settings

# Ids per chunk: each chunk is a handful of set-based statements, so a chunk costs about the same
# whatever its size and a large one amortises it; bounded so that one chunk's transaction holds
# SQLite's write lock for well under a second at 100,000 contracts (docs/benchmarks.md).
DEFAULT_CHUNK_SIZE = 20_000
CHUNK_KINDS: tuple[str, ...] = ("contract", "invoice", "renewal", "client")
_MODELS: dict[str, Any] = {"contract": Contract, "invoice": Invoice, "renewal": Renewal, "client": Client}


@dataclass(frozen=True, slots=True)
class Chunk:
    """One unit of the scan: the rows of `kind` whose ids lie in [lo, hi]."""

    kind: str
    lo: int
    hi: int


def plan(session: Session, as_of: date, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[Chunk]:
    """List the chunks of the scan: ranges of `chunk_size` ids over each table, from min to max id.

    Raises ValueError for a chunk size below 1.
    """
    del as_of  # every row may carry an alert to resolve, so the ranges span whole tables
    chunks: list[Chunk] = []
    for kind in CHUNK_KINDS:
        model = _MODELS[kind]
        lowest, highest = session.execute(select(func.min(model.id), func.max(model.id))).one()
        chunks.extend(Chunk(kind, lo, hi) for lo, hi in id_ranges(lowest, highest, chunk_size))
    return chunks


def prepare(
    session: Session, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS, actor: User | None = None
) -> dict[str, int]:
    """Do the day-level renewal work before the chunks; return what each step changed. Idempotent.

    Order matters: end dates are synced and records opened first, so that every ended contract
    has a renewal to decide; auto-renewal runs before the lapse, so an auto-renew contract never
    lapses.
    """
    return {
        "end_dates_synced": records.sync_end_dates(session),
        "renewals_opened": records.open_renewals(session, as_of, horizon_days),
        "auto_renewed": steps.auto_renew_due(session, as_of, actor, horizon_days=horizon_days),
        "lapsed": steps.lapse_due(session, as_of, actor),
    }


def thresholds_of(settings: Settings) -> Thresholds:
    """The scan's thresholds from RENEWALS_RENEWAL_THRESHOLDS, _NOTICE_DEADLINE_DAYS and _DUNNING_DAYS."""
    return Thresholds(settings.renewal_thresholds, settings.notice_deadline_days, settings.dunning_days)


def run_chunk(
    session: Session, as_of: date, chunk: Chunk, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> dict[str, int]:
    """Raise and resolve the alerts of one chunk; return counts. Idempotent, safe concurrently.

    Raises ValueError for an unknown chunk kind.
    """
    plan_each_statement(session)
    if chunk.kind == "contract":
        return raising.scan_contracts(session, as_of, chunk.lo, chunk.hi, thresholds)
    if chunk.kind == "invoice":
        return dunning.scan_invoices(session, as_of, chunk.lo, chunk.hi, thresholds)
    if chunk.kind == "renewal":
        return raising.scan_renewals(session, as_of, chunk.lo, chunk.hi)
    if chunk.kind == "client":
        return raising.scan_clients(session, as_of, chunk.lo, chunk.hi)
    raise ValueError(f"unknown chunk kind {chunk.kind!r}; one of {', '.join(CHUNK_KINDS)}")


def finish(session: Session, as_of: date, *, auto_reminders: bool = False, actor: User | None = None) -> dict[str, int]:
    """Close the day after every chunk ran: move clients left with no live contract to churned
    (last, once contracts have expired). With `auto_reminders` (RENEWALS_AUTO_REMINDERS), also
    request one payment reminder per client whose invoice_overdue alerts were raised today
    (idempotent per client and day)."""
    counts = {"churned": steps.mark_churned(session, as_of, actor)}
    counts["risk_scores_changed"] = risk.refresh_all(session, as_of)
    if auto_reminders:
        counts["reminders_requested"] = request_auto_reminders(session, as_of)
    return counts


def run_day(
    session: Session,
    as_of: date,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    auto_reminders: bool = False,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> dict[str, int]:
    """Run the whole scan for `as_of` in the caller's transaction and return the summed counts."""
    totals: dict[str, int] = dict(prepare(session, as_of, horizon_days))
    session.flush()
    for chunk in plan(session, as_of, chunk_size):
        for key, value in run_chunk(session, as_of, chunk, thresholds).items():
            totals[key] = totals.get(key, 0) + value
    totals.update(finish(session, as_of, auto_reminders=auto_reminders))
    session.flush()
    return totals


def run_renewal_scan(
    session: Session, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS, actor: User | None = None
) -> dict[str, int]:
    """Run only the renewal steps of the day, in the scan's order (no alerts); return what each
    step changed."""
    return prepare(session, as_of, horizon_days, actor) | {"churned": steps.mark_churned(session, as_of, actor)}
