"""The renewal steps of the daily scan (open, auto-renew, lapse, churn) and the renewals report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from renewals.db.models import Activity, AuditEntry, Client, Contract, Renewal
from renewals.db.uow import unit_of_work
from renewals.domain.contracts.schemas import TerminationIn
from renewals.domain.contracts.service import terminate_contract
from renewals.domain.daily.scan import run_renewal_scan
from renewals.domain.renewals.records import open_renewals
from renewals.domain.renewals.schemas import TransitionIn
from renewals.domain.renewals.service import list_renewals, transition
from renewals.domain.renewals.steps import auto_renew_due, lapse_due, mark_churned
from tests.factories import TIERS, make_client, make_contract, make_user
from tests.integration.renewals_arrange import contract_ending
from tests.threads import run_at_once


@pytest.fixture
def book(session):
    mina = make_user(session, role="account_manager", name="Mina")
    wei = make_user(session, role="account_manager", name="Wei")
    manager = make_user(session, role="manager")
    acme = make_client(session, owner=mina, name="Acme")
    session.commit()
    return {"mina": mina, "wei": wei, "manager": manager, "acme": acme}


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def renewal_of(session, contract):
    return session.execute(
        select(Renewal).where(Renewal.contract_id == contract.id).execution_options(populate_existing=True)
    ).scalar_one()


def run_in_threads(sessions, work, n=2):
    """Run `work(session)` in `n` threads at once, each in its own unit of work; return the results."""

    def in_own_unit():
        with unit_of_work(sessions) as s:
            return work(s)

    return run_at_once(in_own_unit, n)


# --------------------------------------------------------------------------------------------
# Opening records
# --------------------------------------------------------------------------------------------


def test_records_open_for_active_contracts_inside_the_horizon_once(session, book):
    as_of = date(2026, 6, 1)
    mina, acme = book["mina"], book["acme"]
    inside = make_contract(session, client=acme, actor=mina, start_date=date(2025, 12, 1), end_date=date(2026, 9, 1))
    edge = make_contract(session, client=acme, actor=mina, start_date=date(2026, 1, 1), end_date=date(2026, 11, 28))
    beyond = make_contract(session, client=acme, actor=mina, start_date=date(2026, 1, 1), end_date=date(2026, 11, 29))
    ended = make_contract(session, client=acme, actor=mina, start_date=date(2025, 6, 1), end_date=date(2026, 5, 31))
    make_contract(session, client=acme, actor=mina, status="draft", end_date=date(2026, 7, 1))
    session.commit()

    first = open_renewals(session, as_of, 180)
    again = open_renewals(session, as_of, 180)
    session.commit()

    assert (first, again) == (3, 0)
    opened = session.execute(
        select(Renewal.contract_id, Renewal.status, Renewal.end_date, Renewal.owner_id).order_by(Renewal.contract_id)
    ).all()
    assert opened == [(c.id, "upcoming", c.end_date, mina.id) for c in (inside, edge, ended)]
    assert beyond.id not in {row[0] for row in opened}


def test_two_scans_opening_records_at_the_same_time_open_each_once(session, sessions, book):
    for month in range(1, 13):
        make_contract(
            session,
            client=book["acme"],
            actor=book["mina"],
            start_date=date(2026, month, 1),
            end_date=date(2026, month, 28),
        )
    session.commit()

    results = run_in_threads(sessions, lambda s: open_renewals(s, date(2026, 6, 1), 365))

    assert sum(results) == 12
    assert count(session, Renewal) == 12


# --------------------------------------------------------------------------------------------
# Auto-renewal
# --------------------------------------------------------------------------------------------


def test_auto_renew_contract_is_renewed_the_day_after_its_end_exactly_once(session, book):
    old, renewal = contract_ending(
        session,
        client=book["acme"],
        actor=book["mina"],
        end=date(2026, 6, 30),
        number="DC-77",
        auto_renew=True,
        renewal_term_months=12,
        renewal_uplift_pct=Decimal(4),
        lines=[("42U rack", "3", "1199.99")],
    )
    session.commit()

    on_end_date = auto_renew_due(session, date(2026, 6, 30))
    day_after = auto_renew_due(session, date(2026, 7, 1))
    again = auto_renew_due(session, date(2026, 7, 1))
    next_day = auto_renew_due(session, date(2026, 7, 2))
    session.commit()

    assert (on_end_date, day_after, again, next_day) == (0, 1, 0, 0)
    successor = session.execute(select(Contract).where(Contract.predecessor_id == old.id)).scalar_one()
    assert successor.number == "DC-77-R1"
    assert (successor.start_date, successor.end_date, successor.status) == (
        date(2026, 7, 1),
        date(2027, 6, 30),
        "active",
    )
    assert [(ln.quantity, ln.monthly_unit_price_minor) for ln in successor.lines] == [(Decimal(3), 124799)]  # 1247.99
    assert successor.auto_renew is True
    decided = renewal_of(session, old)
    assert (decided.status, decided.decided_on, decided.successor_contract_id) == (
        "auto_renewed",
        date(2026, 7, 1),
        successor.id,
    )
    assert session.get(Contract, old.id, populate_existing=True).status == "renewed"
    assert count(session, AuditEntry, AuditEntry.entity_type == "renewal", AuditEntry.entity_id == renewal.id) == 1
    assert session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "contract", AuditEntry.action != "create")
    ).all() == ["renew"]
    assert session.scalars(select(Activity.text).where(Activity.renewal_id == renewal.id)).all() == [
        "upcoming → auto_renewed: renewed as DC-77-R1 from 2026-07-01 to 2027-06-30"
    ]


def test_auto_renewal_run_concurrently_renews_each_contract_once(session, sessions, book):
    contracts = [
        contract_ending(
            session,
            client=book["acme"],
            actor=book["mina"],
            end=date(2026, 6, 30),
            auto_renew=True,
            renewal_term_months=6,
        )[0]
        for _ in range(23)
    ]
    session.commit()

    results = run_in_threads(sessions, lambda s: auto_renew_due(s, date(2026, 7, 1), chunk=5), n=3)

    assert sum(results) == 23
    per_contract = dict(
        session.execute(
            select(Contract.predecessor_id, func.count())
            .where(Contract.predecessor_id.is_not(None))
            .group_by(Contract.predecessor_id)
        ).all()
    )
    assert per_contract == {c.id: 1 for c in contracts}
    assert count(session, Renewal, Renewal.status == "auto_renewed") == 23
    assert count(session, AuditEntry, AuditEntry.entity_type == "renewal") == 23


def test_lost_and_terminated_auto_renew_contracts_are_never_renewed(session, book):
    lost, lost_renewal = contract_ending(
        session, client=book["acme"], actor=book["mina"], end=date(2026, 6, 30), auto_renew=True
    )
    ended_early, _ = contract_ending(
        session, client=book["acme"], actor=book["mina"], end=date(2026, 6, 30), auto_renew=True
    )
    transition(
        session,
        book["mina"],
        lost_renewal.id,
        TransitionIn(to="lost", reason="Consolidating vendors"),
        as_of=date(2026, 6, 10),
    )
    terminate_contract(
        session,
        book["mina"],
        ended_early.id,
        TerminationIn(effective_date=date(2026, 5, 31), reason="Site closed"),
        TIERS,
    )
    session.commit()

    renewed = auto_renew_due(session, date(2026, 7, 1))
    lapsed = lapse_due(session, date(2026, 7, 1))
    session.commit()

    assert (renewed, lapsed) == (0, 1)
    assert count(session, Contract, Contract.predecessor_id.is_not(None)) == 0
    assert session.get(Contract, lost.id, populate_existing=True).status == "expired"
    assert renewal_of(session, lost).status == "lost"
    assert session.get(Contract, ended_early.id, populate_existing=True).status == "terminated"
    assert renewal_of(session, ended_early).status == "lapsed"


# --------------------------------------------------------------------------------------------
# Lapse and churn
# --------------------------------------------------------------------------------------------


def test_undecided_contract_lapses_and_expires_the_day_after_its_end(session, book):
    contract, _ = contract_ending(session, client=book["acme"], actor=book["mina"], end=date(2026, 6, 30))
    session.commit()

    on_end_date = lapse_due(session, date(2026, 6, 30))
    day_after = lapse_due(session, date(2026, 7, 1))
    again = lapse_due(session, date(2026, 7, 2))
    session.commit()

    assert (on_end_date, day_after, again) == (0, 1, 0)
    lapsed = renewal_of(session, contract)
    assert (lapsed.status, lapsed.decided_on) == ("lapsed", date(2026, 7, 1))
    assert session.get(Contract, contract.id, populate_existing=True).status == "expired"
    assert session.scalars(
        select(AuditEntry.action).where(AuditEntry.action != "create").order_by(AuditEntry.id)
    ).all() == ["transition", "expire"]


def test_client_whose_last_contract_ended_without_renewal_is_churned(session, book, api):
    mina = book["mina"]
    gone = book["acme"]
    staying = make_client(session, owner=mina, name="Staying")
    leaving_later = make_client(session, owner=mina, name="Leaving later")
    contract_ending(session, client=gone, actor=mina, end=date(2026, 6, 30))
    contract_ending(session, client=staying, actor=mina, end=date(2026, 6, 30))
    make_contract(session, client=staying, actor=mina, start_date=date(2026, 1, 1), end_date=date(2027, 12, 31))
    notice = make_contract(
        session, client=leaving_later, actor=mina, start_date=date(2026, 1, 1), end_date=date(2027, 12, 31)
    )
    terminate_contract(
        session, mina, notice.id, TerminationIn(effective_date=date(2026, 7, 31), reason="Moving"), TIERS
    )
    session.commit()

    lapse_due(session, date(2026, 7, 1))
    first = mark_churned(session, date(2026, 7, 1))
    again = mark_churned(session, date(2026, 7, 1))
    after_notice = mark_churned(session, date(2026, 8, 1))
    session.commit()

    assert (first, again, after_notice) == (1, 0, 1)
    statuses = dict(session.execute(select(Client.name, Client.status)).all())
    assert statuses == {"Acme": "churned", "Staying": "active", "Leaving later": "churned"}
    session.commit()  # end the read before the API writes (SQLite has one writer at a time)
    win_back = api.get("/api/v1/clients?status=churned", mina).json()
    assert sorted(c["name"] for c in win_back["items"]) == ["Acme", "Leaving later"]


def test_the_scan_steps_run_in_order_and_a_second_run_changes_nothing(session, book):
    mina, acme = book["mina"], book["acme"]
    make_contract(
        session, client=acme, actor=mina, start_date=date(2025, 7, 1), end_date=date(2026, 6, 30), auto_renew=True
    )
    other = make_client(session, owner=mina, name="Other")
    make_contract(session, client=other, actor=mina, start_date=date(2025, 7, 1), end_date=date(2026, 6, 30))
    session.commit()

    first = run_renewal_scan(session, date(2026, 7, 1))
    second = run_renewal_scan(session, date(2026, 7, 1))
    session.commit()

    assert first == {"end_dates_synced": 0, "renewals_opened": 2, "auto_renewed": 1, "lapsed": 1, "churned": 1}
    assert second == dict.fromkeys(first, 0)
    assert dict(session.execute(select(Client.name, Client.status)).all()) == {"Acme": "active", "Other": "churned"}


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def test_renewals_report_on_a_small_fixed_book(session, book, api):
    mina, wei, manager = book["mina"], book["wei"], book["manager"]
    acme = book["acme"]
    hanbit = make_client(session, owner=wei, name="한빛클라우드", currency="KRW", language="ko")

    def ending(end, monthly, client=acme, owner=mina, **terms):
        return contract_ending(
            session, client=client, actor=owner, end=end, lines=[("Capacity", "1", monthly)], **terms
        )[1]

    ending(date(2026, 6, 20), "2000.00")
    july = ending(date(2026, 7, 10), "1000.00")
    ending(date(2026, 8, 5), "1000000", client=hanbit, owner=wei)
    july_lost = ending(date(2026, 7, 31), "500.00")
    renewed_early = ending(date(2026, 9, 30), "3000.00")
    ending(date(2026, 4, 30), "700.00", auto_renew=True)
    ending(date(2026, 3, 31), "800.00")
    lost_long_ago = ending(date(2026, 5, 31), "900.00")
    session.commit()
    transition(session, mina, lost_long_ago.id, TransitionIn(to="lost", reason="Price"), as_of=date(2026, 2, 1))
    lapse_due(session, date(2026, 4, 1))
    auto_renew_due(session, date(2026, 5, 1))
    transition(session, mina, renewed_early.id, TransitionIn(to="renewed"), as_of=date(2026, 5, 1))
    transition(session, mina, july.id, TransitionIn(to="contacted"), as_of=date(2026, 6, 5))
    transition(session, mina, july_lost.id, TransitionIn(to="lost", reason="Budget"), as_of=date(2026, 6, 10))
    session.commit()

    r = api.get("/api/v1/reports/renewals?as_of=2026-06-15&months=3", manager)

    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["window_from"], report["window_to"]) == ("2026-06-01", "2026-08-31")
    states = {s["status"]: s for s in report["pipeline_by_state"]}
    assert {k: v["count"] for k, v in states.items() if v["count"]} == {"upcoming": 2, "contacted": 1, "lost": 1}
    assert states["upcoming"]["values"] == [
        {"currency": "KRW", "count": 1, "monthly_value": "1000000", "annual_value": "12000000"},
        {"currency": "USD", "count": 1, "monthly_value": "2000.00", "annual_value": "24000.00"},
    ]
    assert [(m["month"], m["count"], m["values"]) for m in report["pipeline_by_month"]] == [
        ("2026-06", 1, [{"currency": "USD", "count": 1, "monthly_value": "2000.00", "annual_value": "24000.00"}]),
        ("2026-07", 2, [{"currency": "USD", "count": 2, "monthly_value": "1500.00", "annual_value": "18000.00"}]),
        ("2026-08", 1, [{"currency": "KRW", "count": 1, "monthly_value": "1000000", "annual_value": "12000000"}]),
    ]
    assert report["pipeline_by_month"][1]["by_state"]["lost"] == 1
    rates = report["rates"]
    assert (rates["decided_from"], rates["decided_to"]) == ("2026-03-16", "2026-06-15")
    assert (rates["decided"], rates["renewed"], rates["auto_renewed"], rates["lost"], rates["lapsed"]) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert (rates["renewal_rate"], rates["churn_rate"]) == ("50.00", "50.00")
    risk = report["value_at_risk"]
    assert (risk["through"], risk["count"]) == ("2026-09-13", 3)
    assert risk["values"] == [
        {"currency": "KRW", "count": 1, "monthly_value": "1000000", "annual_value": "12000000"},
        {"currency": "USD", "count": 2, "monthly_value": "3000.00", "annual_value": "36000.00"},
    ]

    own = api.get("/api/v1/reports/renewals?as_of=2026-06-15&months=3", mina).json()
    assert [v["currency"] for v in own["value_at_risk"]["values"]] == ["USD"]
    assert sum(s["count"] for s in own["pipeline_by_state"]) == 3
    bad = api.get("/api/v1/reports/renewals?as_of=2026-06-15&months=0", manager)
    assert bad.status_code == 422
    assert bad.json()["extra"][0]["key"] == "months"


def test_demo_book_has_renewals_in_every_state_with_follow_ups_due(session, settings):
    from renewals import demo

    as_of = date(2026, 11, 20)
    demo.load(session, settings, as_of)
    session.flush()

    statuses = set(session.scalars(select(Renewal.status).distinct()))
    assert statuses == {
        "upcoming",
        "contacted",
        "proposal_sent",
        "awaiting_signature",
        "renewed",
        "lost",
        "auto_renewed",
        "lapsed",
    }
    assert count(session, Renewal, Renewal.next_action_date == as_of) > 0
    assert count(session, Renewal, Renewal.status == "awaiting_signature", Renewal.seal_received.is_(False)) > 0


class StatementCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        self.count += 1


@pytest.mark.parametrize("step", ["auto_renew", "lapse", "worklist"])
def test_scan_steps_and_worklist_issue_the_same_statements_for_4_rows_as_for_40(engine, sessions, book, step):
    """No per-row queries: the statement count does not grow with the number of contracts."""

    def statements(n, client_name):
        with sessions() as s:
            mina = s.get(type(book["mina"]), book["mina"].id)
            client = make_client(s, owner=mina, name=client_name)
            for _ in range(n):
                contract_ending(s, client=client, actor=mina, end=date(2026, 6, 30), auto_renew=step == "auto_renew")
            s.commit()
            with StatementCounter(engine) as counter:
                if step == "auto_renew":
                    assert auto_renew_due(s, date(2026, 7, 1)) == n
                elif step == "lapse":
                    assert lapse_due(s, date(2026, 7, 1)) == n
                else:
                    items, _ = list_renewals(s, mina, as_of=date(2026, 6, 1), client_id=client.id, sort="risk")
                    assert len(items) == n
            s.commit()
        return counter.count

    assert statements(4, "Small") == statements(40, "Large")
