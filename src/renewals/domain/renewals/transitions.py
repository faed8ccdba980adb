"""Renewal transitions: move a renewal through the state machine, renew into a successor,
update its next action or paper trail, log activities. Each change writes one audit row.

Decisions come from `rules` (pure); this module loads, persists and audits. Nothing here reads
the clock or commits: `as_of` comes from the edge, and the caller's unit of work commits.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
from sqlalchemy.orm import Session

from renewals.db.models import Activity, Renewal, User
from renewals.domain.access.rules import WRITE_CLIENTS, require_role
from renewals.domain.alerts.instant import resolve_for_contract
from renewals.domain.audit import record
from renewals.domain.clients.service import refresh_tier_and_status
from renewals.domain.contracts.service import snapshot as contract_snapshot
from renewals.domain.receivables.queries import dunning_level_of
from renewals.domain.renewals import risk, rules
from renewals.domain.renewals.reads import get_visible_renewal
from renewals.domain.renewals.records import activity_out, new_activity, open_renewals, snapshot
from renewals.domain.renewals.rules import DEFAULT_HORIZON_DAYS, OPEN_STATUSES, RenewalStatus
from renewals.domain.renewals.schemas import ActivityIn, RenewalPatch, TransitionIn
from renewals.domain.renewals.successors import new_successor, successor_numbers, successor_terms
from renewals.errors import Conflict, StaleVersion, ValidationFailed

_SIGNATURE_FIELDS = ("sent_for_signature_on", "signed_on", "signed_by", "seal_received")
_TERM_FIELDS = ("end_date", "term_months", "uplift_pct", "lines")


def _check_paper_dates(sent: date | None, signed: date | None, as_of: date) -> None:
    if sent is not None and sent > as_of:
        raise ValidationFailed("sent_for_signature_on", "must not be in the future")
    if signed is not None and signed > as_of:
        raise ValidationFailed("signed_on", "must not be in the future")
    if sent is not None and signed is not None and signed < sent:
        raise ValidationFailed("signed_on", "must be on or after sent_for_signature_on")


def transition(
    session: Session,
    actor: User,
    renewal_id: int,
    data: TransitionIn,
    *,
    as_of: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    tier_thresholds: dict[str, tuple[Decimal, Decimal]] | None = None,
) -> Renewal:
    """Move a renewal to `data.to`, writing one activity and one audit row for it.

    `awaiting_signature` records the date sent for signature; `renewed` checks the dunning rule,
    creates the successor contract (new terms, or the contract's renewal term and uplift) and
    marks the old contract `renewed` in this transaction; `lost` needs a reason.

    Raises NotFound (not visible), Forbidden (role, or dunning level ≥ 3 without a manager or an
    override reason), StaleVersion (409), IllegalTransition (409 with the allowed targets),
    Conflict (renewing a terminated contract) and ValidationFailed (422 naming the field).
    """
    require_role(actor, WRITE_CLIENTS, "changing a renewal")
    renewal, contract, client = get_visible_renewal(session, actor, renewal_id, for_update=True)
    if data.version is not None and data.version != renewal.version:
        raise StaleVersion("renewal", renewal.version)
    target = rules.check_transition(renewal.status, data.to)
    paper = target in {RenewalStatus.AWAITING_SIGNATURE, RenewalStatus.RENEWED}
    for field in _SIGNATURE_FIELDS:
        if not paper and getattr(data, field) is not None:
            raise ValidationFailed(field, "the paper trail is recorded moving to awaiting_signature or renewed")
    if target != RenewalStatus.RENEWED:
        for field in (*_TERM_FIELDS, "override_reason"):
            if getattr(data, field) is not None:
                raise ValidationFailed(field, "applies only when `to` is renewed")
    if target != RenewalStatus.LOST and data.reason is not None:
        raise ValidationFailed("reason", "applies only when `to` is lost")
    before = snapshot(renewal)
    previous = renewal.status
    audit_extra: dict[str, object] = {}

    if target == RenewalStatus.LOST:
        if data.reason is None or not data.reason.strip():
            raise ValidationFailed("reason", "say why the renewal was lost")
        renewal.lost_reason = data.reason.strip()
    if paper:
        sent = data.sent_for_signature_on or renewal.sent_for_signature_on
        if target == RenewalStatus.AWAITING_SIGNATURE and sent is None:
            sent = as_of
        signed = data.signed_on if data.signed_on is not None else renewal.signed_on
        _check_paper_dates(sent, signed, as_of)
        renewal.sent_for_signature_on, renewal.signed_on = sent, signed
        if data.signed_by is not None:
            renewal.signed_by = data.signed_by.strip() or None
        if data.seal_received is not None:
            renewal.seal_received = data.seal_received
    if target == RenewalStatus.RENEWED:
        if contract.status != "active":
            raise Conflict(
                f"the contract is {contract.status}; only an active contract can be renewed",
                extra={"to": f"contract is {contract.status}", "allowed": ["lost"]},
            )
        level = dunning_level_of(session, client.id)
        if rules.check_renewal_permission(level, actor.role, data.override_reason):
            renewal.override_reason = (data.override_reason or "").strip()
            audit_extra = {"override": {"dunning_level": level, "reason": renewal.override_reason}}
        terms = successor_terms(contract, data)
        contract_before = contract_snapshot(contract)
        successor = new_successor(contract, terms, successor_numbers(session, [contract])[contract.id])
        session.add(successor)
        contract.status = "renewed"
        session.flush()
        renewal.successor_contract_id = successor.id
        record(session, actor, "create", "contract", successor.id, None, contract_snapshot(successor))
        record(session, actor, "renew", "contract", contract.id, contract_before, contract_snapshot(contract))
        if tier_thresholds is not None:
            refresh_tier_and_status(session, client, tier_thresholds)
        open_renewals(session, as_of, horizon_days, contract_ids=[successor.id])

    renewal.status = target.value
    if target in rules.CLOSED_STATES:
        renewal.decided_on = as_of
        renewal.next_action_date = None
    session.flush()
    text = f"{previous} → {target.value}"
    if data.note and data.note.strip():
        text = f"{text}: {data.note.strip()}"
    new_activity(session, renewal, actor, "note", text)
    record(session, actor, "transition", "renewal", renewal.id, before, snapshot(renewal) | audit_extra)
    session.flush()
    # Decided scores 0; a successor's new record is scored with the rest of the client's.
    risk.refresh_client(session, client.id, as_of)
    if target in rules.CLOSED_STATES:
        # A decided renewal's warnings and follow-ups are moot from this moment.
        resolve_for_contract(session, contract.id, as_of)
    return renewal


def update_renewal(session: Session, actor: User, renewal_id: int, patch: RenewalPatch, *, as_of: date) -> Renewal:
    """Update the next action date of an open renewal, or the paper trail while awaiting signature.

    Raises NotFound, Forbidden (role), StaleVersion, Conflict (closed renewal, or paper trail
    outside awaiting_signature) and ValidationFailed.
    """
    require_role(actor, WRITE_CLIENTS, "changing a renewal")
    renewal, _, _ = get_visible_renewal(session, actor, renewal_id, for_update=True)
    if patch.version != renewal.version:
        raise StaleVersion("renewal", renewal.version)
    if renewal.status not in OPEN_STATUSES:
        raise Conflict(
            f"renewal is {renewal.status}, a closed state; it cannot change any more", extra={"status": renewal.status}
        )
    before = snapshot(renewal)
    touched_paper = [f for f in _SIGNATURE_FIELDS if getattr(patch, f) is not msgspec.UNSET]
    if touched_paper and renewal.status != RenewalStatus.AWAITING_SIGNATURE:
        raise Conflict(
            "the paper trail is updated while the renewal is awaiting_signature",
            extra={touched_paper[0]: f"renewal is {renewal.status}"},
        )
    if patch.next_action_date is not msgspec.UNSET:
        renewal.next_action_date = patch.next_action_date
    sent = (
        renewal.sent_for_signature_on if patch.sent_for_signature_on is msgspec.UNSET else patch.sent_for_signature_on
    )
    signed = renewal.signed_on if patch.signed_on is msgspec.UNSET else patch.signed_on
    _check_paper_dates(sent, signed, as_of)
    renewal.sent_for_signature_on, renewal.signed_on = sent, signed
    if patch.signed_by is not msgspec.UNSET:
        renewal.signed_by = patch.signed_by.strip() if patch.signed_by and patch.signed_by.strip() else None
    if patch.seal_received is not msgspec.UNSET:
        renewal.seal_received = patch.seal_received
    session.flush()
    after = snapshot(renewal)
    if after != before:
        record(session, actor, "update", "renewal", renewal.id, before, after)
    return renewal


def add_activity(session: Session, actor: User, renewal_id: int, data: ActivityIn, *, as_of: date) -> Activity:
    """Log a call, e-mail, meeting or note; a follow-up date becomes the renewal's next action date.

    Raises NotFound, Forbidden (role) and ValidationFailed (`at` without a time zone, a follow-up
    in the past).
    """
    require_role(actor, WRITE_CLIENTS, "logging an activity")
    renewal, _, _ = get_visible_renewal(session, actor, renewal_id, for_update=True)
    if data.at is not None and data.at.tzinfo is None:
        raise ValidationFailed("at", "give a time zone, e.g. 2026-03-01T09:30:00+09:00")
    if data.next_follow_up_on is not None and data.next_follow_up_on < as_of:
        raise ValidationFailed("next_follow_up_on", f"must be {as_of.isoformat()} or later")
    before = snapshot(renewal)
    activity = new_activity(session, renewal, actor, data.kind, data.text.strip(), data.next_follow_up_on, data.at)
    if data.next_follow_up_on is not None:
        renewal.next_action_date = data.next_follow_up_on
    session.flush()
    risk.refresh_renewal(session, renewal.id, as_of)
    record(
        session,
        actor,
        "activity",
        "renewal",
        renewal.id,
        before,
        snapshot(renewal) | {"activity": msgspec.structs.asdict(activity_out(activity))},
    )
    return activity
