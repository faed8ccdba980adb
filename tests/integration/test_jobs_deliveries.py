"""Alert deliveries through a real worker: a signed webhook received by a real HTTP server on
loopback, retried until accepted and never repeated; a daily digest received by a real SMTP
server (aiosmtpd) once per assignee and day."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from renewals import embedded_redis
from renewals.db.models import Alert
from renewals.db.models.deliveries import Delivery
from renewals.db.uow import unit_of_work
from renewals.domain.daily import scan
from renewals.domain.jobrecords import service as jobs
from renewals.jobs import runtime
from renewals.settings import Settings
from tests.integration.jobs_support import arrange_book, wait_for_job, wait_until

AS_OF = date(2026, 3, 2)
WEBHOOK_SECRET = "shared-with-the-receiver"


@dataclass
class Receiver:
    """An HTTP server on loopback that records each POST and answers with the queued statuses."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            rec.requests.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(rec.statuses.pop(0) if rec.statuses else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/renewals"
    yield rec
    server.shutdown()
    server.server_close()


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, str]]:
    box = Mailbox()
    port = embedded_redis.free_port()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"renewals", b"s3cret")
        return AuthResult(success=ok)

    # Plain SMTP with AUTH allowed on loopback; the sender must log in with the URL's credentials.
    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False, auth_required=True
    )
    controller.start()
    yield box, f"smtp://renewals:s3cret@127.0.0.1:{port}"
    controller.stop()


def deliver_to(job_settings: Settings, engine: Engine, **changes: Any) -> None:
    """The worker's settings from now on (it reads them for each message)."""
    runtime.configure(replace(job_settings, **changes), engine)


def scan_day(sessions: sessionmaker[Session]) -> list[int]:
    """Run the day's scan and commit: each new alert asks for its delivery after the commit."""
    with unit_of_work(sessions) as session:
        scan.run_day(session, AS_OF)
    with sessions() as session:
        return list(session.execute(select(Alert.id).order_by(Alert.id)).scalars())


def test_each_new_alert_is_posted_to_the_webhook_once_with_a_valid_signature(
    session: Session,
    sessions: sessionmaker[Session],
    engine: Engine,
    worker_thread: dramatiq.Worker,
    job_settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RENEWALS_WEBHOOK_SECRET", WEBHOOK_SECRET)
    deliver_to(job_settings, engine, webhook_url=receiver.url)
    arrange_book(session, AS_OF, clients=3)

    alert_ids = scan_day(sessions)
    wait_until(lambda: len(receiver.requests) >= 3, 20)
    worker_thread.join()

    assert len(alert_ids) == 3
    posted = sorted(json.loads(body)["alert"]["id"] for _, body in receiver.requests)
    assert posted == alert_ids
    for headers, body in receiver.requests:
        expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Renewals-Signature"] == expected
        assert headers["X-Renewals-Timestamp"] == json.loads(body)["sent_at"]
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body)["alert"]["kind"] == "renewal_due"
    with sessions() as s:
        rows = s.execute(select(Delivery.status, Delivery.attempts).where(Delivery.channel == "webhook")).all()
    assert sorted(rows) == [("delivered", 1)] * 3


def test_a_refused_webhook_is_retried_with_backoff_until_accepted_and_then_never_repeated(
    session: Session,
    sessions: sessionmaker[Session],
    engine: Engine,
    worker_thread: dramatiq.Worker,
    job_settings: Settings,
    receiver: Receiver,
) -> None:
    deliver_to(job_settings, engine, webhook_url=receiver.url)
    arrange_book(session, AS_OF, clients=1)
    receiver.statuses = [503]

    [alert_id] = scan_day(sessions)
    wait_until(lambda: len(receiver.requests) >= 2, 30)
    worker_thread.join()
    worker_thread.broker.get_actor("alerts.deliver").send(alert_id=alert_id)
    worker_thread.broker.join("deliveries", timeout=20_000)
    worker_thread.join()

    assert len(receiver.requests) == 2
    assert receiver.requests[0][1] != receiver.requests[1][1]  # each attempt is signed afresh (sent_at)
    with sessions() as s:
        delivery = s.execute(select(Delivery).where(Delivery.alert_id == alert_id)).scalar_one()
    assert delivery.status == "delivered"
    assert delivery.attempts == 2
    assert delivery.delivered_at is not None


def test_without_a_webhook_url_nothing_is_posted_or_recorded(
    session: Session,
    sessions: sessionmaker[Session],
    engine: Engine,
    worker_thread: dramatiq.Worker,
    job_settings: Settings,
    receiver: Receiver,
) -> None:
    deliver_to(job_settings, engine, webhook_url=None)
    arrange_book(session, AS_OF, clients=1)

    scan_day(sessions)
    worker_thread.broker.join("deliveries", timeout=20_000)
    worker_thread.join()

    assert receiver.requests == []
    with sessions() as s:
        assert s.execute(select(Delivery)).first() is None


def test_the_daily_digest_reaches_each_assignee_once_over_smtp(
    session: Session,
    sessions: sessionmaker[Session],
    engine: Engine,
    worker_thread: dramatiq.Worker,
    job_settings: Settings,
    mailbox: tuple[Mailbox, str],
) -> None:
    box, smtp_url = mailbox
    deliver_to(job_settings, engine, smtp_url=smtp_url, mail_from="alerts@renewals.test")
    book = arrange_book(session, AS_OF, clients=2)
    scan_day(sessions)

    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "digest", {"as_of": AS_OF.isoformat()}, dedupe_key="digest:2026-03-02")
    done = wait_for_job(sessions, job.id, timeout=20)
    wait_until(lambda: len(box.messages) >= 1, 20)
    with unit_of_work(sessions) as s:  # asked again the same day (another scheduler, say)
        again, _ = jobs.request(s, "digest", {"as_of": AS_OF.isoformat()})
    wait_for_job(sessions, again.id, timeout=20)
    worker_thread.broker.join("deliveries", timeout=20_000)
    worker_thread.join()

    assert done.result == {"as_of": "2026-03-02", "digests": 1, "smtp": True}
    assert len(box.messages) == 1
    recipients, message = box.messages[0]
    assert recipients == [book.account_manager.email]
    assert message["From"] == "alerts@renewals.test"
    assert message["Subject"] == "renewals: 2 open alerts on 2026-03-02"
    assert message.get_payload(decode=True).decode().count("renewal_due on contract") == 2
    with sessions() as s:
        delivery = s.execute(select(Delivery).where(Delivery.channel == "email")).scalar_one()
    assert (delivery.status, delivery.assignee_id, delivery.attempts) == ("delivered", book.account_manager.id, 1)
