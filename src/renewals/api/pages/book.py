"""Renewals (worklist and one renewal), clients (list and one client) and one contract."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.orm import Session

from renewals.api.context import Req, state_of
from renewals.api.pages.web import Form, check_csrf, csv_download, done, parse, refused, render, signed_in, text
from renewals.db.models import User
from renewals.domain.access.rules import MANAGERS
from renewals.domain.access.users import names
from renewals.domain.alerts import service as alerts
from renewals.domain.audit_query import AuditOut, audit_out, list_audit
from renewals.domain.clients import service as clients
from renewals.domain.clients.schemas import ClientOut, ClientPatch
from renewals.domain.contracts import service as contracts
from renewals.domain.notices import service as notices
from renewals.domain.receivables import invoices, payments, reports
from renewals.domain.renewals import service as renewals
from renewals.domain.renewals.rules import OPEN_STATUSES, RenewalStatus
from renewals.domain.renewals.schemas import ActivityIn, RenewalOut, RenewalPatch, TransitionIn
from renewals.errors import RenewalsError

PAGE = 50
RENEWAL_STATES: tuple[str, ...] = tuple(s.value for s in RenewalStatus)
ACTIVITY_KINDS = ("call", "email", "meeting", "note")


def _query(**params: object) -> str:
    """The filters as a query string for the pager's links (empty ones left out)."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _history(session: Session, me: User, client_id: int) -> list[AuditOut] | None:
    """The client's audit rows, for the roles that may read the audit log (None for others)."""
    if me.role not in MANAGERS:
        return None
    rows, _ = list_audit(session, me, limit=30, offset=0, entity_type="client", entity_id=client_id)
    return [audit_out(r) for r in rows]


class BookPages(Controller):
    include_in_schema = False

    # --- renewals ----------------------------------------------------------------------------

    @get("/renewals", sync_to_thread=True)
    def renewal_list(
        self,
        request: Req,
        window: FromQuery[int | None] = 180,
        status: FromQuery[str | None] = None,
        owner: FromQuery[int | None] = None,
        sort: FromQuery[str] = "end_date",
        offset: FromQuery[int] = 0,
        format: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The worklist: window (days ahead), state, owner, by end date or by risk; `format=csv`
        downloads every row."""
        state = state_of(request)
        # The worklist shows open renewals unless a state (or `all`) is asked for.
        statuses = [] if status == "all" else [status] if status else list(OPEN_STATUSES)
        filters: dict[str, Any] = {
            "as_of": state.today(),
            "owner_id": owner,
            "statuses": renewals.parse_statuses(statuses),
            "ending_within_days": window,
            "sort": sort,
        }
        if format == "csv":
            return csv_download(request, "renewals.csv", RenewalOut, renewals.list_renewals, **filters)
        with signed_in(request) as (session, me):
            rows, total = renewals.list_renewals(session, me, limit=PAGE, offset=offset, **filters)
            values = {
                "rows": rows,
                "page": {"total": total, "limit": PAGE, "offset": offset},
                "owners": names(session, ("account_manager", "manager")),
                "filters": {"window": window or "", "status": status or "", "owner": owner or "", "sort": sort},
                "states": RENEWAL_STATES,
                "query": _query(window=window, status=status, owner=owner, sort=sort),
            }
            return render(request, "renewals.html", me, values)

    @get("/renewals/{renewal_id:int}", sync_to_thread=True)
    def renewal(self, request: Req, renewal_id: FromPath[int]) -> Response[Any]:
        state = state_of(request)
        with signed_in(request) as (session, me):
            out = renewals.renewal_out(session, me, renewal_id, state.today())
            values = {
                "r": out,
                "users": names(session),
                "kinds": ACTIVITY_KINDS,
                "needs_override": out.dunning_level >= 3 and me.role not in MANAGERS,
            }
            return render(request, "renewal.html", me, values, title=out.contract_number)

    @post("/renewals/{renewal_id:int}/transition", sync_to_thread=True)
    def transition(self, request: Req, renewal_id: FromPath[int], data: Form) -> Redirect:
        """One of the allowed moves; a note or follow-up date is logged as an activity with it."""
        check_csrf(request, data)
        state = state_of(request)
        to = f"/renewals/{renewal_id}"
        try:
            target = text(data, "to") or ""
            fields: dict[str, Any] = {"to": target, "version": text(data, "version")}
            # Each move takes only its own fields; the form shows them all.
            if target == "lost":
                fields["reason"] = text(data, "reason")
            if target in ("awaiting_signature", "renewed"):
                fields["sent_for_signature_on"] = text(data, "sent_for_signature_on")
            if target == "renewed":
                for key in ("override_reason", "term_months", "uplift_pct", "signed_on", "signed_by"):
                    fields[key] = text(data, key)
                fields["seal_received"] = data.get("seal_received") == "yes"
            move = parse(TransitionIn, fields)
            note, follow_up = text(data, "note"), text(data, "next_follow_up_on")
            with signed_in(request) as (session, me):
                renewals.transition(
                    session,
                    me,
                    renewal_id,
                    move,
                    as_of=state.today(),
                    horizon_days=state.settings.renewal_horizon_days,
                    tier_thresholds=state.settings.tier_thresholds,
                )
                if note or follow_up:
                    kind = text(data, "kind") or "note"
                    activity = parse(ActivityIn, {"kind": kind, "text": note or target, "next_follow_up_on": follow_up})
                    renewals.add_activity(session, me, renewal_id, activity, as_of=state.today())
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, "moved")

    @post("/renewals/{renewal_id:int}/activity", sync_to_thread=True)
    def activity(self, request: Req, renewal_id: FromPath[int], data: Form) -> Redirect:
        check_csrf(request, data)
        to = f"/renewals/{renewal_id}"
        try:
            fields = {k: text(data, k) for k in ("kind", "text", "next_follow_up_on")}
            activity = parse(ActivityIn, fields)
            with signed_in(request) as (session, me):
                renewals.add_activity(session, me, renewal_id, activity, as_of=state_of(request).today())
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, "logged")

    @post("/renewals/{renewal_id:int}/paper", sync_to_thread=True)
    def paper(self, request: Req, renewal_id: FromPath[int], data: Form) -> Redirect:
        """The paper trail while awaiting signature, and the next action date."""
        check_csrf(request, data)
        to = f"/renewals/{renewal_id}"
        try:
            # An emptied date field clears it, so every shown field is sent (None included).
            fields: dict[str, Any] = {
                "version": text(data, "version"),
                "next_action_date": text(data, "next_action_date"),
            }
            if data.get("paper") == "yes":
                fields |= {key: text(data, key) for key in ("sent_for_signature_on", "signed_on", "signed_by")}
                fields["seal_received"] = data.get("seal_received") == "yes"
            patch = parse(RenewalPatch, {k: v for k, v in fields.items() if v is not None})
            cleared = {k: None for k, v in fields.items() if v is None}
            patch = msgspec.structs.replace(patch, **cleared)
            with signed_in(request) as (session, me):
                renewals.update_renewal(session, me, renewal_id, patch, as_of=state_of(request).today())
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, "saved")

    # --- clients -----------------------------------------------------------------------------

    @get("/clients", sync_to_thread=True)
    def client_list(
        self,
        request: Req,
        q: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        tier: FromQuery[str | None] = None,
        owner: FromQuery[int | None] = None,
        offset: FromQuery[int] = 0,
        format: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Clients by name; `status=churned` is the win-back list; `format=csv` downloads them."""
        filters: dict[str, Any] = {"owner_id": owner, "status": status or None, "tier": tier or None, "q": q or None}
        if format == "csv":
            return csv_download(request, "clients.csv", ClientOut, clients.list_clients, clients.client_out, **filters)
        with signed_in(request) as (session, me):
            rows, total = clients.list_clients(session, me, limit=PAGE, offset=offset, **filters)
            values = {
                "rows": [clients.client_out(c) for c in rows],
                "page": {"total": total, "limit": PAGE, "offset": offset},
                "owners": names(session, ("account_manager", "manager")),
                "filters": {"q": q or "", "status": status or "", "tier": tier or "", "owner": owner or ""},
                "query": _query(q=q, status=status, tier=tier, owner=owner),
            }
            return render(request, "clients.html", me, values)

    @get("/clients/{client_id:int}", sync_to_thread=True)
    def client(
        self,
        request: Req,
        client_id: FromPath[int],
        from_: FromQuery[date | None] = None,
        to: FromQuery[date | None] = None,
    ) -> Response[Any]:
        state = state_of(request)
        today = state.today()
        end = to or today
        start = from_ or end.replace(day=1)
        with signed_in(request) as (session, me):
            client = clients.get_visible(session, me, client_id)
            contact_rows, _ = clients.list_contacts(session, me, client_id, limit=200, offset=0)
            contract_rows, _ = contracts.list_contracts(session, me, limit=200, offset=0, client_id=client_id)
            invoice_rows, invoice_total = invoices.list_invoices(session, me, limit=PAGE, offset=0, client_id=client_id)
            notice_rows, _ = notices.list_notices(session, me, limit=20, offset=0, client_id=client_id)
            payment_rows, _ = payments.list_payments(session, me, limit=20, offset=0, client_id=client_id)
            alert_rows, _ = alerts.list_alerts(session, me, limit=20, offset=0, client_id=client_id, status=None)
            values = {
                "c": clients.client_out(client),
                "owner_name": names(session).get(client.owner_id, ""),
                "account_managers": names(session, ("account_manager",)) if me.role in MANAGERS else {},
                "contacts": [clients.contact_out(x) for x in contact_rows],
                "contracts": [contracts.contract_out(x) for x in contract_rows],
                "invoices": [invoices.invoice_out(x) for x in invoice_rows],
                "invoice_total": invoice_total,
                "payments": [payments.payment_out(p) for p in payment_rows],
                "currencies": sorted({client.currency} | {i.currency for i in invoice_rows}),
                "statement": reports.statement(session, me, client_id, start, end, state.settings.aging_buckets),
                "notices": [notices.notice_out(n) for n in notice_rows],
                "alerts": [alerts.alert_out(a) for a in alert_rows],
                "history": _history(session, me, client_id),
                "users": names(session),
                "period": {"from": start, "to": end},
                "form_nonce": secrets.token_hex(8),
            }
            return render(request, "client.html", me, values, title=client.name)

    @post("/clients/{client_id:int}/owner", sync_to_thread=True)
    def reassign(self, request: Req, client_id: FromPath[int], data: Form) -> Redirect:
        """Hand the client (and its open renewals) to another account manager (managers)."""
        check_csrf(request, data)
        to = f"/clients/{client_id}"
        try:
            patch = parse(ClientPatch, {"version": text(data, "version"), "owner_id": text(data, "owner_id")})
            with signed_in(request) as (session, me):
                clients.update_client(session, me, client_id, patch)
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, "saved")

    @get("/contracts/{contract_id:int}", sync_to_thread=True)
    def contract(self, request: Req, contract_id: FromPath[int]) -> Response[Any]:
        state = state_of(request)
        with signed_in(request) as (session, me):
            contract = contracts.contract_out(contracts.get_visible_contract(session, me, contract_id))
            chain: list[Any] = []
            previous = contract.predecessor_id
            while previous is not None and len(chain) < 20:
                earlier = contracts.contract_out(contracts.get_visible_contract(session, me, previous))
                chain.append(earlier)
                previous = earlier.predecessor_id
            renewal_rows, _ = renewals.list_renewals(
                session, me, as_of=state.today(), limit=500, client_id=contract.client_id
            )
            invoice_rows, _ = invoices.list_invoices(session, me, limit=200, offset=0, contract_id=contract_id)
            values = {
                "k": contract,
                "client": clients.client_out(clients.get_visible(session, me, contract.client_id)),
                "predecessors": chain,
                "renewal": next((r for r in renewal_rows if r.contract_id == contract_id), None),
                "invoices": [invoices.invoice_out(i) for i in invoice_rows],
            }
            return render(request, "contract.html", me, values, title=contract.number)
