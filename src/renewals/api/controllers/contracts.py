from __future__ import annotations

from datetime import date

from litestar import Controller, get, patch, post

from renewals.api.context import Req, state_of, unit
from renewals.domain.contracts import service
from renewals.domain.contracts.schemas import ContractIn, ContractOut, ContractPatch, TerminationIn
from renewals.domain.pagination import Page


class ContractController(Controller):
    path = "/contracts"
    tags = ["contracts"]

    @get("/", sync_to_thread=True)
    def list_contracts(
        self,
        request: Req,
        limit: int = 50,
        offset: int = 0,
        client_id: int | None = None,
        status: str | None = None,
        kind: str | None = None,
        billing_cycle: str | None = None,
        auto_renew: bool | None = None,
        end_from: date | None = None,
        end_to: date | None = None,
    ) -> Page[ContractOut]:
        """Contracts under clients the caller may see, by end date."""
        with unit(request) as (session, me):
            rows, total = service.list_contracts(
                session,
                me,
                limit=limit,
                offset=offset,
                client_id=client_id,
                status=status,
                kind=kind,
                billing_cycle=billing_cycle,
                auto_renew=auto_renew,
                end_from=end_from,
                end_to=end_to,
            )
            return Page([service.contract_out(c) for c in rows], total, limit, offset)

    @post("/", sync_to_thread=True)
    def create_contract(self, request: Req, data: ContractIn) -> ContractOut:
        state = state_of(request)
        with unit(request) as (session, me):
            contract = service.create_contract(
                session,
                me,
                data,
                state.settings.tier_thresholds,
                as_of=state.today(),
                horizon_days=state.settings.renewal_horizon_days,
            )
            return service.contract_out(contract)

    @get("/{contract_id:int}", sync_to_thread=True)
    def get_contract(self, request: Req, contract_id: int) -> ContractOut:
        with unit(request) as (session, me):
            return service.contract_out(service.get_visible_contract(session, me, contract_id))

    @patch("/{contract_id:int}", sync_to_thread=True)
    def update_contract(self, request: Req, contract_id: int, data: ContractPatch) -> ContractOut:
        state = state_of(request)
        with unit(request) as (session, me):
            contract = service.update_contract(
                session,
                me,
                contract_id,
                data,
                state.settings.tier_thresholds,
                as_of=state.today(),
                horizon_days=state.settings.renewal_horizon_days,
            )
            return service.contract_out(contract)

    @post("/{contract_id:int}/terminate", sync_to_thread=True, status_code=200)
    def terminate(self, request: Req, contract_id: int, data: TerminationIn) -> ContractOut:
        tiers = state_of(request).settings.tier_thresholds
        with unit(request) as (session, me):
            return service.contract_out(service.terminate_contract(session, me, contract_id, data, tiers))
