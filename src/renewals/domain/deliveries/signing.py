"""Webhook signatures. Pure: no I/O, no clock.

A receiver checks a delivery by computing HMAC-SHA256 over the raw request body with the shared
webhook secret and comparing it, in constant time, with the `X-Renewals-Signature` header
(`sha256=<hex>`). The body carries `sent_at`, and the `X-Renewals-Timestamp` header repeats it,
so a receiver can refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Renewals-Signature"
TIMESTAMP_HEADER = "X-Renewals-Timestamp"
DELIVERY_HEADER = "X-Renewals-Delivery"
EVENT_HEADER = "X-Renewals-Event"


def webhook_secret(explicit: str | None, app_secret: str) -> str:
    """RENEWALS_WEBHOOK_SECRET when set; else a key derived from the app's secret key, so the key
    that signs sign-in tokens is never handed to a webhook receiver."""
    if explicit:
        return explicit
    return hmac.new(app_secret.encode(), b"renewals-webhook", hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes) -> str:
    """The header value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether a signature header matches the body (constant-time comparison)."""
    return hmac.compare_digest(signature(secret, body), header.strip())
