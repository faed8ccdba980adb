"""Sharing a notice: signed, expiring, revocable links that serve its PDF without an account.

A link is a row (its random id, the notice, when it expires, whether it was revoked) and a token
`<id>.<HMAC-SHA256 of the id under the secret key>`. The signature stops forged or altered
tokens before the database is asked; the row makes a link expire and be revoked. Every way a
token can fail — malformed, tampered, unknown, expired, revoked, notice not ready — answers the
same NotFound, so a token tells an outsider nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import User
from renewals.db.models.notices import Notice, NoticeLink
from renewals.domain.notices import rules
from renewals.domain.notices.schemas import LinkOut
from renewals.domain.notices.service import get_visible_notice
from renewals.errors import Conflict, NotFound

PUBLIC_PREFIX = "/n/"


def public_path(link: NoticeLink, secret: str) -> str:
    """The link's path on this service: `/n/<token>` (its reply page is that plus `/reply`)."""
    return PUBLIC_PREFIX + rules.link_token(secret, link.id)


def link_out(link: NoticeLink, secret: str) -> LinkOut:
    return LinkOut(
        id=link.id,
        notice_id=link.notice_id,
        url=public_path(link, secret),
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
    )


def create_link(session: Session, actor: User, notice_id: int, expires_in_days: int, at: datetime) -> NoticeLink:
    """Create a shareable link to a ready notice, valid for `expires_in_days` from `at`.

    Raises NotFound for a notice the actor may not see and Conflict while it is not ready.
    """
    notice = get_visible_notice(session, actor, notice_id)
    if notice.status != "ready":
        raise Conflict(
            f"notice {notice.id} is {notice.status}: only a ready notice can be shared", extra={"status": notice.status}
        )
    link = NoticeLink(
        id=secrets.token_urlsafe(rules.LINK_ID_BYTES),
        notice_id=notice.id,
        expires_at=at + timedelta(days=expires_in_days),
        created_by=actor.id,
        created_at=at,
    )
    session.add(link)
    session.flush()
    return link


def list_links(session: Session, actor: User, notice_id: int) -> list[NoticeLink]:
    """The links of a notice the actor may see, newest first."""
    notice = get_visible_notice(session, actor, notice_id)
    return list(
        session.scalars(
            select(NoticeLink).where(NoticeLink.notice_id == notice.id).order_by(NoticeLink.created_at.desc())
        )
    )


def revoke_link(session: Session, actor: User, notice_id: int, link_id: str, at: datetime) -> NoticeLink:
    """Revoke a link for good (revoking it again changes nothing). Raises NotFound for a link or
    notice the actor may not see."""
    notice = get_visible_notice(session, actor, notice_id)
    link = session.scalar(select(NoticeLink).where(NoticeLink.id == link_id, NoticeLink.notice_id == notice.id))
    if link is None:
        raise NotFound("link", link_id)
    if link.revoked_at is None:
        link.revoked_at = at
        session.flush()
    return link


def link_for_token(session: Session, token: str, secret: str, at: datetime) -> tuple[NoticeLink, Notice]:
    """The link a valid, unexpired, unrevoked token is, and its ready notice. Raises NotFound
    otherwise."""
    link_id = rules.link_id_of(secret, token)
    link = session.get(NoticeLink, link_id) if link_id is not None else None
    if link is None or link.revoked_at is not None or link.expires_at <= at:
        raise NotFound("link")
    notice = session.get(Notice, link.notice_id)
    if notice is None or notice.status != "ready":
        raise NotFound("link")
    return link, notice


def notice_for_token(session: Session, token: str, secret: str, at: datetime) -> Notice:
    """The ready notice a valid, unexpired, unrevoked token points at. Raises NotFound otherwise."""
    return link_for_token(session, token, secret, at)[1]
