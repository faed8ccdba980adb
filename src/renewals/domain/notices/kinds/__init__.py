"""The registry of notice kinds. Each kind is one module here (`renewal_notice`,
`payment_reminder`, `statement`) declaring its context and builder, its view, its template
(`templates/notices/<kind>.html`), whom it is addressed to, what a request for it names, the
e-mail that carries it, the answers its reader may give and what they do, and its sample.
Everything else (the request's schema, the services, the reply page, sending, the renderer, the
samples, the catalogs) reads the kinds from `REGISTRY`, never from a list of its own.

Adding a kind: its module here, listed in `_MODULES`, its template and its catalog entries (see
docs/architecture.md, "Adding a notice kind").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.orm import Session

from renewals.domain.notices import build
from renewals.domain.notices.context import NoticeContext
from renewals.domain.notices.kinds import payment_reminder, renewal_notice, statement
from renewals.domain.notices.kinds.base import N_, TEMPLATES_DIR, NoticeKind
from renewals.errors import ValidationFailed

if TYPE_CHECKING:
    from renewals.db.models import User

__all__ = ["KINDS", "N_", "REGISTRY", "REPLY_LINE", "TEMPLATES_DIR", "Kind", "NoticeKind"]

_MODULES = (renewal_notice, payment_reminder, statement)

REGISTRY: Mapping[str, NoticeKind] = {module.KIND.name: module.KIND for module in _MODULES}
KINDS: tuple[str, ...] = tuple(REGISTRY)
"""Every kind's name, in the registry's order."""

if TYPE_CHECKING:
    Kind = str
else:
    Kind = Literal[KINDS]
    """The kinds as a literal type: what the request schema accepts (and its OpenAPI enum)."""

# The sentence that carries the reply link in a letter's e-mail, per language.
REPLY_LINE: Mapping[str, str] = {
    "en": "\nYou can answer this letter online: {url}\n",
    "zh-Hans": "\n您可以通过以下链接在线回复本函：{url}\n",
    "zh-Hant": "\n您可以透過以下連結線上回覆本函：{url}\n",
    "ko": "\n아래 링크에서 본 안내문에 온라인으로 회신하실 수 있습니다: {url}\n",
}


def notice_kind(kind: str) -> NoticeKind:
    """The registered kind; ValidationFailed naming `kind` for anything else."""
    found = REGISTRY.get(kind)
    if found is None:
        raise ValidationFailed("kind", f"must be one of {', '.join(REGISTRY)}")
    return found


def reply_choices(kind: str) -> tuple[str, ...]:
    """What the reader of a letter of this kind may answer; none for an unknown kind."""
    found = REGISTRY.get(kind)
    return tuple(found.reply_choices) if found else ()


def build_context(
    session: Session,
    kind: str,
    client_id: int,
    contract_id: int | None,
    params: dict[str, Any],
    sender: build.Sender,
    user: User | None,
    language: str,
) -> NoticeContext:
    """Build the context of a notice of any kind from its stored params (`as_of`, and `from` /
    `to` for a period). Raises what the kind's builder raises, and ValidationFailed for an
    unknown kind."""
    request = build.BuildRequest.from_params(client_id, contract_id, params, sender, user, language)
    return notice_kind(kind).build(session, request)
