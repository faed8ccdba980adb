from __future__ import annotations

from datetime import date

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from renewals.api.context import Req, state_of, unit
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, listing
from renewals.domain.contracts import service
from renewals.domain.contracts.schemas import ContractIn, ContractOut, ContractPatch, TerminationIn
from renewals.domain.pagination import Page


class ContractController(Controller):
    path = "/contracts"
    tags = ["contracts"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_contracts(
        self,
        request: Req,
        limit: Limit = 50,
        offset: Offset = 0,
        client_id: FromQuery[int | None] = None,
        status: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        billing_cycle: FromQuery[str | None] = None,
        auto_renew: FromQuery[bool | None] = None,
        end_from: FromQuery[date | None] = None,
        end_to: FromQuery[date | None] = None,
    ) -> Page[ContractOut]:
        """Contracts under clients the caller may see, by end date."""
        return listing(
            request,
            ContractOut,
            service.list_contracts,
            service.contract_out,
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

    @post("/", sync_to_thread=True)
    def create_contract(self, request: Req, data: JSONBody[ContractIn]) -> ContractOut:
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
    def get_contract(self, request: Req, contract_id: FromPath[int]) -> ContractOut:
        with unit(request) as (session, me):
            return service.contract_view(session, me, contract_id)

    @patch("/{contract_id:int}", sync_to_thread=True)
    def update_contract(self, request: Req, contract_id: FromPath[int], data: JSONBody[ContractPatch]) -> ContractOut:
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
    def terminate(self, request: Req, contract_id: FromPath[int], data: JSONBody[TerminationIn]) -> ContractOut:
        tiers = state_of(request).settings.tier_thresholds
        with unit(request) as (session, me):
            return service.contract_out(service.terminate_contract(session, me, contract_id, data, tiers))
