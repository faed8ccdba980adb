"""Background jobs as users see them (`GET /jobs/{id}`), and the chunks a scan fans out into."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from renewals.clock import now
from renewals.db.models.base import Base, BigId
from renewals.db.types import UTCDateTime

JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """One run of a background job. `dedupe_key` (e.g. `scan:2026-03-01` for the scheduler) makes
    a second request for the same run find the first instead of starting another."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    chunks_total: Mapped[int | None] = mapped_column(Integer)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)

    __table_args__ = (Index("ix_jobs_kind_created_at", "kind", "created_at"),)


class JobChunk(Base):
    """One id range of a fanned-out job. `done_at` is set once, by the message that did the work,
    so a redelivered chunk message finds it done and changes nothing."""

    __tablename__ = "job_chunks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    lo: Mapped[int] = mapped_column(BigId)
    hi: Mapped[int] = mapped_column(BigId)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("job_id", "kind", "lo"),)
