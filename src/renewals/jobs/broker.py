"""The Dramatiq broker on Redis: one per process, made on first use, with the middleware and the
dead-worker recovery tuned so that a message held by a killed worker comes back within a minute.

Dramatiq 2.x's RedisBroker keeps each fetched message id in a per-worker "acks" set and records a
heartbeat (a timestamp in a sorted set) on every command a worker sends — an idle or busy worker
polls its delay queues at least once a second, so it heartbeats about once a second. Messages of a
worker whose heartbeat is older than `heartbeat_timeout` are pushed back onto their queue by
"maintenance", which runs inside a randomly chosen `maintenance_chance` out of a million commands.
The defaults (60 s, 1 in 1000) mean a SIGKILLed worker's messages wait a minute and then, with a
few idle workers polling about once a second, typically several more minutes. With the numbers
below recovery takes 15 s plus a few seconds (see docs/operations.md for the arithmetic).
`requeue_deadline` / `requeue_interval` of Dramatiq 1.x no longer exist in 2.x.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from renewals import settings as settings_mod
from renewals.db.uow import set_dispatcher

NAMESPACE_ENV = "RENEWALS_QUEUE_NAMESPACE"
DEFAULT_NAMESPACE = "renewals"
# A worker silent for this long is dead; live workers heartbeat about once a second.
HEARTBEAT_TIMEOUT_MS = 15_000
# Out of 1,000,000 commands: one fetch in four also requeues dead workers' messages for its queue.
MAINTENANCE_CHANCE = 250_000
# Retries: from 1 s up to 5 min between attempts unless an actor says otherwise.
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 300_000
DEFAULT_MAX_RETRIES = 5
# A message older than a day is stale (a scan for last week's day is requested anew, not replayed).
MAX_AGE_MS = 86_400_000
DEFAULT_TIME_LIMIT_MS = 600_000

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_broker: RedisBroker | None = None


class JobFailures(Middleware):
    """When a message carrying a `job_id` fails for good (retries exhausted or an error it must not
    retry), send `jobs.fail` so the job shows `failed` with the reason instead of `running` forever."""

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        job_id = message.kwargs.get("job_id")
        if exception is None or not message.failed or job_id is None or message.actor_name == "jobs.fail":
            return
        reason = f"{type(exception).__name__}: {exception}"
        broker.get_actor("jobs.fail").send(job_id=job_id, error=f"{message.actor_name} failed: {reason}")


def namespace_from_env() -> str:
    return os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE


def make_broker(url: str, namespace: str) -> RedisBroker:
    """A RedisBroker with the project's middleware and recovery tuning (no actors declared)."""
    middleware: list[Middleware] = [
        # "after" hooks run in reverse order: first in the list, JobFailures sees Retries' verdict.
        JobFailures(),
        AgeLimit(max_age=MAX_AGE_MS),
        TimeLimit(time_limit=DEFAULT_TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=DEFAULT_MAX_RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        CurrentMessage(),
    ]
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=url,
        namespace=namespace,
        middleware=middleware,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
    )


def install(url: str | None = None, namespace: str | None = None) -> RedisBroker:
    """Make this process's broker (once), declare the actors on it and send jobs requested inside
    committed transactions through it. Raise ValueError when no Redis is configured, or when the
    process already has a broker for another Redis or namespace."""
    global _broker
    with _lock:
        url = url or settings_mod.get().redis_url
        if not url:
            raise ValueError(
                "REDIS_URL is not set: start everything with `renewals run` (embedded Redis), "
                "or point REDIS_URL at a Redis server"
            )
        namespace = namespace or namespace_from_env()
        if _broker is not None:
            if (_broker.namespace, _url_of(_broker)) != (namespace, url):
                raise ValueError("this process already has a broker for another Redis or namespace")
            return _broker
        broker = make_broker(url, namespace)
        broker._renewals_url = url  # type: ignore[attr-defined]  # remembered for the check above
        dramatiq.set_broker(broker)
        _broker = broker
    from renewals.jobs import actors

    actors.declare(broker)
    set_dispatcher(_send)
    return broker


def get_broker() -> RedisBroker:
    """This process's broker, installed from REDIS_URL / RENEWALS_QUEUE_NAMESPACE when first needed."""
    return _broker if _broker is not None else install()


def _url_of(broker: RedisBroker) -> str | None:
    return getattr(broker, "_renewals_url", None)


def _send(actor_name: str, kwargs: dict[str, Any]) -> None:
    # Called after the commit: raising here would fail a unit of work whose changes are already
    # saved, so a send that fails is logged instead. A queued job whose message was lost is sent
    # again by the scheduler (daily runs) or by asking again.
    try:
        get_broker().get_actor(actor_name).send(**kwargs)
    except Exception:
        logger.exception("could not send %s(%s) after commit", actor_name, kwargs)
