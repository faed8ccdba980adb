"""The daily scan on demand (202 + job) and job status."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody

from renewals.api.context import Req, guard_run_day, state_of, unit
from renewals.db.uow import rehearse
from renewals.domain.access.rules import READ_ALL, require_role
from renewals.domain.daily import scan
from renewals.domain.jobrecords import service
from renewals.domain.jobrecords.schemas import JobOut, ScanIn, ScanRehearsal


class ScanController(Controller):
    path = "/scans"
    tags = ["jobs"]

    @post("/run", sync_to_thread=True, status_code=202)
    def run_scan(self, request: Req, data: JSONBody[ScanIn]) -> Response[JobOut | ScanRehearsal]:
        """Queue the daily scan for `as_of` (202; poll `GET /jobs/{id}`), or with `dry_run` answer
        what it would change (200). A day more than a month ahead needs an admin and `force`."""
        state = state_of(request)
        with unit(request) as (session, me):
            require_role(me, READ_ALL, "running the scan")
            guard_run_day(request, me, data.as_of, "as_of", force=data.force, dry_run=data.dry_run)
            if data.dry_run:
                effects = rehearse(
                    session,
                    lambda: scan.run_day(session, data.as_of, horizon_days=state.settings.renewal_horizon_days),
                )
                return Response(ScanRehearsal(data.as_of, True, effects), status_code=200)
            job, _ = service.request(session, "scan", {"as_of": data.as_of.isoformat()}, requested_by=me.id)
            return Response(service.job_out(job), status_code=202)


class JobController(Controller):
    path = "/jobs"
    tags = ["jobs"]

    @get("/{job_id:int}", sync_to_thread=True)
    def get_job(self, request: Req, job_id: FromPath[int]) -> JobOut:
        with unit(request) as (session, me):
            return service.job_out(service.get_visible_job(session, me, job_id))
