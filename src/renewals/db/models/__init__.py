"""All models, imported so that Base.metadata is complete (Alembic reads it)."""

from renewals.db.models.alerts import Alert
from renewals.db.models.audit import AuditEntry
from renewals.db.models.base import Base
from renewals.db.models.clients import Client, Contact
from renewals.db.models.contracts import Contract, ContractLine
from renewals.db.models.deliveries import Delivery
from renewals.db.models.jobs import Job, JobChunk
from renewals.db.models.ledger import ReceivableChange, ReceivableSale, ReceivableTotal
from renewals.db.models.notices import Notice, NoticeBatch, NoticeDelivery, NoticeLink, NoticeReply
from renewals.db.models.receivables import (
    Allocation,
    BillingRun,
    CreditNote,
    Invoice,
    InvoiceLine,
    Payment,
    WriteOff,
)
from renewals.db.models.renewals import Activity, Renewal
from renewals.db.models.users import User
from renewals.db.models.web import WebSession

__all__ = [
    "Activity",
    "Alert",
    "Allocation",
    "AuditEntry",
    "Base",
    "BillingRun",
    "Client",
    "Contact",
    "Contract",
    "ContractLine",
    "CreditNote",
    "Delivery",
    "Invoice",
    "InvoiceLine",
    "Job",
    "JobChunk",
    "Notice",
    "NoticeBatch",
    "NoticeDelivery",
    "NoticeLink",
    "NoticeReply",
    "Payment",
    "ReceivableChange",
    "ReceivableSale",
    "ReceivableTotal",
    "Renewal",
    "User",
    "WebSession",
    "WriteOff",
]
