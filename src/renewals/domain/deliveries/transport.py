"""The wire: one HTTP POST, one SMTP session. No database, no retries (the jobs layer retries)."""

from __future__ import annotations

import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None = None


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST the body; any 2xx answer is a success, anything else (or no answer) a failure."""
    if urlsplit(url).scheme not in {"http", "https"}:
        return Outcome(False, f"webhook URL must be http or https, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 — scheme checked above
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return Outcome(False, f"HTTP {exc.code} from the webhook")
    except (urllib.error.URLError, OSError) as exc:
        return Outcome(False, f"webhook unreachable: {exc}")
    if 200 <= status < 300:
        return Outcome(True)
    return Outcome(False, f"HTTP {status} from the webhook")


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool
    user: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://user:pass@host:port` (plain, port 25 by default) or `smtps://…` (TLS, port 465).

    Raises ValueError for another scheme or a missing host."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError(f"RENEWALS_SMTP_URL must look like smtp://user:pass@host:port or smtps://…, not {url!r}")
    tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        tls=tls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def send_mail(url: str, message: EmailMessage, timeout: float) -> Outcome:
    """Send one message over SMTP; a refused recipient or a broken connection is a failure."""
    try:
        target = parse_smtp_url(url)
    except ValueError as exc:
        return Outcome(False, str(exc))
    try:
        smtp: smtplib.SMTP
        if target.tls:
            smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=timeout)
        with smtp:
            if target.user:
                smtp.login(target.user, target.password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, f"SMTP: {exc}")
    return Outcome(True)
