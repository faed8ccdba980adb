"""Translatable names of the values the domain stores as codes (statuses, kinds, roles …).

Marked with `N_` so that extraction finds them; templates translate them with the `label` filter.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message


LABELS: dict[str, str] = {
    # renewal states
    "upcoming": N_("Upcoming"),
    "contacted": N_("Contacted"),
    "proposal_sent": N_("Proposal sent"),
    "awaiting_signature": N_("Awaiting signature"),
    "renewed": N_("Renewed"),
    "auto_renewed": N_("Auto-renewed"),
    "lost": N_("Lost"),
    "lapsed": N_("Lapsed"),
    # client and contract states
    "prospect": N_("Prospect"),
    "active": N_("Active"),
    "churned": N_("Churned"),
    "draft": N_("Draft"),
    "expired": N_("Expired"),
    "terminated": N_("Terminated"),
    # invoice states and holds
    "open": N_("Open"),
    "partially_paid": N_("Partly paid"),
    "paid": N_("Paid"),
    "void": N_("Void"),
    "written_off": N_("Written off"),
    "dispute": N_("Dispute"),
    "promise": N_("Promise to pay"),
    # alerts
    "acknowledged": N_("Acknowledged"),
    "resolved": N_("Resolved"),
    "renewal_due": N_("Renewal due"),
    "notice_deadline": N_("Notice deadline"),
    "renewal_lapsed": N_("Renewal lapsed"),
    "invoice_overdue": N_("Invoice overdue"),
    "credit_limit": N_("Credit limit exceeded"),
    "follow_up_due": N_("Follow-up due"),
    "client_response": N_("Client response"),
    "promise_broken": N_("Promise broken"),
    "info": N_("Info"),
    "warning": N_("Warning"),
    "critical": N_("Critical"),
    # notices
    "renewal_notice": N_("Renewal notice"),
    "payment_reminder": N_("Payment reminder"),
    "statement": N_("Statement"),
    "queued": N_("Queued"),
    "rendering": N_("Rendering"),
    "ready": N_("Ready"),
    "failed": N_("Failed"),
    # activities
    "call": N_("Call"),
    "email": N_("E-mail"),
    "meeting": N_("Meeting"),
    "note": N_("Note"),
    # roles
    "admin": N_("Administrator"),
    "manager": N_("Manager"),
    "account_manager": N_("Account manager"),
    "finance": N_("Finance"),
    # contract kinds and cycles
    "rental": N_("Rental"),
    "service": N_("Service"),
    "monthly": N_("Monthly"),
    "quarterly": N_("Quarterly"),
    "semiannual": N_("Half-yearly"),
    "annual": N_("Yearly"),
    # aging
    "current": N_("Not yet due"),
    # today's reasons
    "next_action_due": N_("Action due"),
    "ending_soon": N_("Ending soon"),
    # subjects
    "contract": N_("Contract"),
    "renewal": N_("Renewal"),
    "invoice": N_("Invoice"),
    "client": N_("Client"),
    # statement entries
    "payment": N_("Payment"),
    "credit_note": N_("Credit note"),
    "payment_reversal": N_("Payment reversed"),
    "write_off": N_("Write-off"),
    "invoice_void": N_("Invoice voided"),
    # payment methods
    "bank_transfer": N_("Bank transfer"),
    "card": N_("Card"),
    "cheque": N_("Cheque"),
    "cash": N_("Cash"),
    "other": N_("Other"),
}
