"""Work whose message was lost (Redis down at commit, a worker dead mid-job) is sent again by the
sweeper and then done by a real worker, exactly once."""

from __future__ import annotations

import json
from datetime import date, timedelta

import dramatiq
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from renewals import clock
from renewals.db.models.jobs import Job, JobChunk
from renewals.db.models.notices import Notice
from renewals.db.uow import unit_of_work
from renewals.domain.daily import scan_job
from renewals.domain.daily.sweep import sweep
from renewals.domain.jobrecords import service as jobs
from tests.factories import make_client, make_user
from tests.integration.jobs_support import alert_keys, arrange_book, expected_alert_keys, wait_for_job

AS_OF = date(2026, 3, 2)
LONG_AGO = timedelta(minutes=20)


def lose_every_message(broker: dramatiq.Broker) -> None:
    """What a Redis that crashed without its append-only file leaves: no message at all."""
    broker.flush_all()


def run_worker(broker: dramatiq.Broker) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    return worker


def test_a_scan_job_whose_message_was_lost_is_sent_again_and_done_once(
    session: Session, sessions: sessionmaker[Session], engine: Engine, queues: dramatiq.Broker, actor_runtime
) -> None:
    arrange_book(session, AS_OF, clients=3)
    expected = expected_alert_keys(sessions, AS_OF)
    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "scan", {"as_of": AS_OF.isoformat()})
    lose_every_message(queues)
    with unit_of_work(sessions) as s:
        s.execute(update(Job).where(Job.id == job.id).values(created_at=clock.now() - LONG_AGO))

    with unit_of_work(sessions) as s:
        swept = sweep(s, clock.now())
    worker = run_worker(queues)
    try:
        done = wait_for_job(sessions, job.id, timeout=120)
    finally:
        worker.stop(timeout=10_000)

    assert swept["jobs"] == 1
    assert done.status == "done"
    assert alert_keys(engine) == expected


def test_a_scan_stalled_with_chunks_undone_is_finished_by_resending_only_those_chunks(
    session: Session, sessions: sessionmaker[Session], engine: Engine, queues: dramatiq.Broker, actor_runtime
) -> None:
    arrange_book(session, AS_OF, clients=3)
    expected = expected_alert_keys(sessions, AS_OF)
    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "scan", {"as_of": AS_OF.isoformat()})
    with unit_of_work(sessions) as s:
        total = scan_job.begin(s, job.id, AS_OF, chunk_size=2, at=clock.now() - LONG_AGO)
    lose_every_message(queues)  # the chunk messages die with the broker
    with sessions() as s:
        undone = s.scalar(select(JobChunk.id).where(JobChunk.job_id == job.id).limit(1))

    with unit_of_work(sessions) as s:
        swept = sweep(s, clock.now())
    worker = run_worker(queues)
    try:
        done = wait_for_job(sessions, job.id, timeout=120)
    finally:
        worker.stop(timeout=10_000)

    assert total is not None
    assert total > 1
    assert undone is not None
    assert swept["chunks"] == total
    assert done.status == "done"
    assert done.chunks_done == total
    assert alert_keys(engine) == expected


def test_a_notice_left_queued_is_sent_to_the_pdf_queue_again(
    session: Session, sessions: sessionmaker[Session], queues: dramatiq.Broker, actor_runtime
) -> None:
    owner = make_user(session, role="account_manager")
    client = make_client(session, owner=owner)
    fresh = Notice(kind="statement", client_id=client.id, language="en", params={"as_of": AS_OF.isoformat()})
    notice = Notice(
        kind="statement",
        client_id=client.id,
        language="en",
        params={"as_of": AS_OF.isoformat()},
        created_at=clock.now() - LONG_AGO,  # its message went to a Redis that then lost it
    )
    session.add_all([fresh, notice])
    session.commit()
    lose_every_message(queues)

    with unit_of_work(sessions) as s:
        swept = sweep(s, clock.now())

    assert swept["notices"] == 1  # the fresh one is not (yet) thought lost
    sent = [json.loads(m) for m in queues.client.hvals(f"{queues.namespace}:pdf.msgs")]
    assert [(m["actor_name"], m["kwargs"]) for m in sent] == [("notices.render", {"notice_id": notice.id})]
