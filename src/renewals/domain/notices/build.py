"""What every kind's builder (`kinds/<kind>.py`) builds from: the sender, the request's params, the
client as addressed. Builders do every query, and what comes out is plain values matching their
TypedDicts (the renderer never sees a session).

The sender's details (letterhead, the accounts-receivable contact, the aging buckets) come from
settings through `Sender`; the dates come from the notice's params, never from the clock, so
building the same notice twice over the same data gives the same context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import Client, Contact, User
from renewals.domain.alerts.rules import DUNNING_THRESHOLDS
from renewals.domain.notices.context import LANGUAGES, Letterhead, Recipient
from renewals.domain.notices.context import Contact as ContactCtx
from renewals.domain.notices.i18n import load_translations
from renewals.domain.receivables.aging import DEFAULT_BOUNDS
from renewals.errors import NotFound, ValidationFailed

if TYPE_CHECKING:  # the values only, read by the edges; building never reads the environment
    from renewals.settings import Settings

# Only an active contract is offered a renewal; a draft has not started, the others are over.
RENEWABLE_STATUSES = ("active",)


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is used."""
    return message


DEFAULT_PAYMENT_INSTRUCTIONS = (N_("Bank transfer to the account shown on your invoice."),)
DEFAULT_AR_NAME = N_("Accounts receivable")


@dataclass(frozen=True)
class Sender:
    """Who the notices come from (settings), per language, passed in so that building stays free
    of settings. A language without its own value uses the installation's; the payment
    instructions default to a translated line. With no accounts-receivable contact configured,
    reminders and statements name the first active finance user, else the client's account
    manager: a real person who answers, never a placeholder address."""

    letterheads: Mapping[str, Letterhead]
    receivables_contacts: Mapping[str, ContactCtx | None]
    aging_bounds: tuple[int, ...] = DEFAULT_BOUNDS
    timezone: str = "UTC"
    dunning_days: tuple[int, ...] = DUNNING_THRESHOLDS

    @classmethod
    def from_settings(cls, settings: Settings) -> Sender:
        """The letterhead and receivables contact configured for this installation, per language."""
        letterheads: dict[str, Letterhead] = {}
        contacts: dict[str, ContactCtx | None] = {}
        for language in LANGUAGES:
            own = settings.notice_texts.get(language, {})
            gettext = load_translations(language).gettext

            def lines(name: str, default: tuple[str, ...], own: dict[str, str] = own) -> list[str]:
                raw = own.get(name)
                return [p.strip() for p in raw.split("|") if p.strip()] if raw else list(default)

            payment = (
                tuple(settings.payment_instructions)
                if settings.payment_instructions is not None
                else tuple(gettext(line) for line in DEFAULT_PAYMENT_INSTRUCTIONS)
            )
            letterheads[language] = {
                "company_name": own.get("company_name", settings.company_name),
                "address_lines": lines("company_address", settings.company_address),
                "contact_lines": lines("company_contact", settings.company_contact),
                "logo_path": str(settings.logo_path) if settings.logo_path else None,
                "payment_instructions": lines("payment_instructions", payment),
            }
            email = own.get("ar_email", settings.ar_email)
            contacts[language] = (
                {
                    "name": own.get("ar_name", settings.ar_name or gettext(DEFAULT_AR_NAME)),
                    "email": email,
                    "phone": own.get("ar_phone", settings.ar_phone),
                }
                if email
                else None
            )
        return cls(letterheads, contacts, settings.aging_buckets, settings.timezone, settings.dunning_days)

    def letterhead(self, language: str) -> Letterhead:
        return self.letterheads.get(language) or self.letterheads["en"]


def receivables_contact(session: Session, sender: Sender, language: str, client: Client) -> ContactCtx:
    """The configured accounts-receivable contact, else the first active finance user, else the
    client's account manager."""
    configured = sender.receivables_contacts.get(language)
    if configured is not None:
        return configured
    person = session.scalar(
        select(User).where(User.role == "finance", User.active.is_(True)).order_by(User.id).limit(1)
    ) or session.get_one(User, client.owner_id)
    return {"name": person.name, "email": person.email, "phone": None}


def addressee(session: Session, client_id: int, *, signatory: bool) -> Contact | None:
    """The contact a letter is for: the client's first signatory (renewal notices) or first
    billing contact (reminders, statements), if it has one. An answer through the letter's link
    is theirs."""
    flag = Contact.is_signatory if signatory else Contact.is_billing
    return session.scalar(
        select(Contact).where(Contact.client_id == client_id, flag.is_(True)).order_by(Contact.id).limit(1)
    )


def recipient(session: Session, client: Client, *, signatory: bool) -> Recipient:
    """The client as the letter is addressed, for the attention of its addressee."""
    person = addressee(session, client.id, signatory=signatory)
    return {"name": client.legal_name, "attention": person.name if person else None, "address_lines": []}


def client_of(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("client", client_id)
    return client


def _day(params: dict[str, Any], key: str) -> date:
    raw = params.get(key)
    if not isinstance(raw, str):
        raise ValidationFailed(key, "is required")
    return date.fromisoformat(raw)


@dataclass(frozen=True)
class BuildRequest:
    """What a notice's context is built from: its stored params, read, and who asked for it (a
    statement is seen through their eyes; a notice the scan asked for has nobody)."""

    client_id: int
    contract_id: int | None
    as_of: date
    period_start: date | None
    period_end: date | None
    sender: Sender
    user: User | None
    language: str

    @classmethod
    def from_params(
        cls,
        client_id: int,
        contract_id: int | None,
        params: dict[str, Any],
        sender: Sender,
        user: User | None,
        language: str,
    ) -> BuildRequest:
        """Read a notice's stored params (`as_of`, and `from` / `to` for a period)."""
        period = "from" in params or "to" in params
        return cls(
            client_id,
            contract_id,
            _day(params, "as_of"),
            _day(params, "from") if period else None,
            _day(params, "to") if period else None,
            sender,
            user,
            language,
        )
