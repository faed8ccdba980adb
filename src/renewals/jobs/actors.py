"""Actors: thin, named `feature.verb`, keyword-only ids, one unit of work per message, the body one
service call. Arguments are JSON values (dates as ISO strings); the services take real dates.

They are plain functions declared on the process's broker by `declare` (see jobs.broker), so the
same function can be called directly where a worker is not wanted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import dramatiq

from renewals import clock
from renewals.db.uow import claim_send_record, unit_of_work
from renewals.domain.daily import billing_job, scan, scan_job
from renewals.domain.deliveries import service as deliveries
from renewals.domain.deliveries import signing, transport
from renewals.domain.jobrecords import service as jobs
from renewals.jobs import config, runtime
from renewals.jobs import notices as notice_actors


def scans_run(*, job_id: int, as_of: str) -> None:
    """Start a scan job: prepare the day and fan out one message per id-range chunk."""
    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        scan_job.begin(
            session,
            job_id,
            date.fromisoformat(as_of),
            config.load().scan_chunk_size,
            rt.settings.renewal_horizon_days,
            at=clock.now(),
            auto_reminders=rt.settings.auto_reminders,
        )


def scans_chunk(*, job_id: int, as_of: str, kind: str, lo: int, hi: int) -> None:
    """Scan one id range; the last chunk of the job finishes the day and marks the job done."""
    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        scan_job.run_chunk(
            session,
            job_id,
            date.fromisoformat(as_of),
            kind,
            lo,
            hi,
            at=clock.now(),
            auto_reminders=rt.settings.auto_reminders,
            thresholds=scan.thresholds_of(rt.settings),
        )


def billing_run(*, job_id: int, through: str) -> None:
    """Issue the invoices due through a date as one job, committed slice by slice."""
    billing_job.run(runtime.current().sessions, job_id, date.fromisoformat(through), clock.now)


def jobs_fail(*, job_id: int, error: str) -> None:
    """Record that a job failed for good (sent by the JobFailures middleware)."""
    with unit_of_work(runtime.current().sessions) as session:
        jobs.fail(session, job_id, error, clock.now())


def alerts_deliver(*, alert_id: int) -> None:
    """POST one new alert to RENEWALS_WEBHOOK_URL, signed; raise (and so retry) until it is accepted."""
    rt = runtime.current()
    url = rt.settings.webhook_url
    if not url:
        return
    cfg = config.load()
    secret = signing.webhook_secret(cfg.webhook_secret, rt.settings.secret_key)
    done = claim_send_record(
        rt.sessions,
        lambda session: deliveries.claim_webhook(session, alert_id, url, secret, clock.now()),
        lambda claim: transport.post_json(claim.url, claim.body, claim.headers, cfg.delivery_timeout_s),
        lambda session, claim, outcome: deliveries.record(session, claim.delivery_id, outcome, clock.now()),
    )
    if done is not None and not done[1].ok:
        raise deliveries.DeliveryFailed(f"alert {alert_id}: {done[1].error}")


def alerts_deliver_batch(*, alert_ids: list[int]) -> None:
    """Deliver several new alerts; those already delivered are skipped when the batch is retried."""
    failures = []
    for alert_id in alert_ids:
        try:
            alerts_deliver(alert_id=alert_id)
        except (deliveries.DeliveryFailed, deliveries.DeliveryBusy) as exc:
            failures.append(exc.detail)
    if failures:
        raise deliveries.DeliveryFailed("; ".join(failures))


def digests_send(*, as_of: str, job_id: int | None = None) -> None:
    """Record the day's e-mail digests, one per assignee, and send each as its own message."""
    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        enabled = bool(rt.settings.smtp_url)
        deliveries.digest_job(session, job_id, date.fromisoformat(as_of), clock.now(), enabled=enabled)


def digests_deliver(*, delivery_id: int) -> None:
    """Send one recorded digest over RENEWALS_SMTP_URL; raise (and so retry) until it is accepted."""
    rt = runtime.current()
    url = rt.settings.smtp_url
    if not url:
        return
    done = claim_send_record(
        rt.sessions,
        lambda session: deliveries.claim_digest(session, delivery_id, rt.settings.mail_from, clock.now()),
        lambda claim: transport.send_mail(url, claim.message, config.load().delivery_timeout_s),
        lambda session, claim, outcome: deliveries.record(session, claim.delivery_id, outcome, clock.now()),
    )
    if done is not None and not done[1].ok:
        raise deliveries.DeliveryFailed(f"digest {delivery_id}: {done[1].error}")


# Deliveries retry for about a day: 5 s, 10 s, … capped at an hour between attempts.
_DELIVERY = {"time_limit": 120_000, "max_retries": 30, "min_backoff": 5_000, "max_backoff": 3_600_000}

# name → (function, queue, options). Time limits are in ms; retries back off from broker defaults.
ACTORS: dict[str, tuple[Callable[..., Any], str, dict[str, Any]]] = {
    "scans.run": (scans_run, "scans", {"time_limit": 600_000, "max_retries": 5}),
    "scans.chunk": (scans_chunk, "scans", {"time_limit": 600_000, "max_retries": 5}),
    "billing.run": (billing_run, "billing", {"time_limit": 1_800_000, "max_retries": 3}),
    "jobs.fail": (jobs_fail, "jobs", {"max_retries": 10}),
    "alerts.deliver": (alerts_deliver, "deliveries", _DELIVERY),
    "alerts.deliver_batch": (alerts_deliver_batch, "deliveries", _DELIVERY),
    "digests.send": (digests_send, "deliveries", {"time_limit": 600_000, "max_retries": 5}),
    "digests.deliver": (digests_deliver, "deliveries", _DELIVERY),
    # Notice PDFs on their own `pdf` queue, with explicit time limits (see jobs.notices).
    **notice_actors.ACTORS,
}


def declare(broker: dramatiq.Broker) -> None:
    """Declare every actor on the broker (once per process)."""
    for name, (fn, queue, options) in ACTORS.items():
        if name not in broker.actors:
            dramatiq.actor(actor_name=name, queue_name=queue, broker=broker, **options)(fn)
