"""The signed-in user behind a bearer token, kept for a few seconds instead of a query a request.

Every API request names its user in its token (id and token generation); loading that user
was a query per request, a quarter of a contract read's time under load. `Callers` (one per app)
keeps a copy of each user recently seen for at most `TTL` seconds and answers from it while the
token's generation still matches the copy's; the copy joins the request's session without a
query (`Session.merge(load=False)`), so services see an ordinary loaded user.

What ends a token still ends it at once: every commit in this process that changed a `users`
row — deactivation and a new password move the token generation on; a role or a name changes
what the caller may do — drops that user's copy from every app's cache (an ORM event, so any
code path counts, the API's, the pages', the CLI's or a test's). A copy loaded while such a
commit happened is not kept. A change committed by another process (a second API process, the
CLI against the same database) is seen here after at most `TTL` seconds.

`Tokens` keeps what each verified token says until it expires, so a token sent again is not
verified again; whether its user may still use it is `Callers`' question, asked every time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from itertools import chain
from typing import Any
from weakref import WeakSet

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached

from renewals.db.models import User
from renewals.domain.access.users import token_claims, token_still_valid, token_user

TTL = 5.0  # seconds a user is answered from memory at most
MAX_USERS = 10_000  # copies kept at most; past that the cache starts afresh
_CHANGED = "renewals.changed_users"
_caches: WeakSet[Callers] = WeakSet()
_caches_lock = threading.Lock()


class Callers:
    """Users by id, each copy good for `ttl` seconds (see the module's docstring)."""

    def __init__(self, ttl: float = TTL, max_users: int = MAX_USERS) -> None:
        self.ttl = ttl
        self.max_users = max_users
        self._users: dict[int, tuple[float, User]] = {}
        self._epoch = 0  # moves on with every forget: a load that overlapped one is not kept
        self._lock = threading.Lock()
        with _caches_lock:
            _caches.add(self)

    def user(self, session: Session, user_id: int, generation: int) -> User:
        """The active user a token of this generation signs in, in `session`; NotAuthenticated
        when the user is unknown, inactive or has moved its token generation on."""
        now = time.monotonic()
        kept = self._users.get(user_id)
        if kept is not None and now < kept[0] and token_still_valid(kept[1], generation):
            return session.merge(kept[1], load=False)
        epoch = self._epoch
        user = token_user(session, user_id, generation)
        copy = _detached_copy(user)
        with self._lock:
            if epoch == self._epoch:
                if len(self._users) >= self.max_users:
                    self._users.clear()
                self._users[user_id] = (now + self.ttl, copy)
        return user

    def forget(self, user_ids: Iterable[int]) -> None:
        """Drop these users' copies; a load running meanwhile keeps nothing."""
        with self._lock:
            self._epoch += 1
            for user_id in user_ids:
                self._users.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._users)


class Tokens:
    """Bearer tokens already verified, with what they say, until they expire: a token sent again
    is not verified again (its signature check is the dearest part of reading it). Only a token
    that verified is kept, under its exact text, so a forged or altered one is never matched."""

    def __init__(self, max_tokens: int = MAX_USERS) -> None:
        self.max_tokens = max_tokens
        self._tokens: dict[str, tuple[int, int, int]] = {}

    def subject(self, token: str, secret: str) -> tuple[int, int]:
        """(user id, token generation); NotAuthenticated when forged, expired or malformed."""
        kept = self._tokens.get(token)
        if kept is None or time.time() >= kept[2]:
            kept = token_claims(token, secret)
            if len(self._tokens) >= self.max_tokens:
                self._tokens.clear()
            self._tokens[token] = kept
        return kept[0], kept[1]


def _detached_copy(user: User) -> User:
    """A copy of a loaded user that belongs to no session, to be merged into later ones."""
    copy = User(**{attr.key: getattr(user, attr.key) for attr in inspect(User).column_attrs})
    make_transient_to_detached(copy)
    return copy


@event.listens_for(Session, "after_flush")
def _note_changed_users(session: Session, _context: Any) -> None:
    changed = {obj.id for obj in chain(session.new, session.dirty, session.deleted) if isinstance(obj, User)}
    if changed:
        session.info.setdefault(_CHANGED, set()).update(changed)


@event.listens_for(Session, "after_commit")
def _forget_changed_users(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        with _caches_lock:
            caches = list(_caches)
        for cache in caches:
            cache.forget(changed)


@event.listens_for(Session, "after_soft_rollback")
def _keep_nothing_rolled_back(session: Session, previous: SessionTransaction) -> None:
    # Only the whole transaction's rollback undoes the changes; a savepoint's leaves earlier ones.
    if previous.parent is None:
        session.info.pop(_CHANGED, None)
