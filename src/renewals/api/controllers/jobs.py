"""The daily scan on demand (202 + job) and job status."""

from __future__ import annotations

from litestar import Controller, get, post

from renewals.api.context import Req, unit
from renewals.domain.access.rules import READ_ALL, require_role
from renewals.domain.jobrecords import service
from renewals.domain.jobrecords.schemas import JobOut, ScanIn


class ScanController(Controller):
    path = "/scans"
    tags = ["jobs"]

    @post("/run", sync_to_thread=True, status_code=202)
    def run_scan(self, request: Req, data: ScanIn) -> JobOut:
        """Queue the daily scan for `as_of`; poll `GET /jobs/{id}` for its progress and result."""
        with unit(request) as (session, me):
            require_role(me, READ_ALL, "running the scan")
            job, _ = service.request(session, "scan", {"as_of": data.as_of.isoformat()}, requested_by=me.id)
            return service.job_out(job)


class JobController(Controller):
    path = "/jobs"
    tags = ["jobs"]

    @get("/{job_id:int}", sync_to_thread=True)
    def get_job(self, request: Req, job_id: int) -> JobOut:
        with unit(request) as (session, me):
            return service.job_out(service.get_visible_job(session, me, job_id))
