"""A simulated year: a fixed book, the daily scan every day for 400 days, the exact alert history.

The book (client C1's renewals, C2 and C3's invoices) and what a person expects of it:

    A   ends 2027-06-30, no auto-renew: 90/60/30/7-day warnings, each superseding the one before,
        then on 1 July the lapse (told to the manager too)
    B   enters on 2027-09-10 ending 20 days later: only the 30-day warning, then 7; renewed by
        hand on 25 September, which resolves its warning
    C   auto-renews on 2027-10-31 (notice 30 days): the opt-out warning 14 days before 1 October,
        the renewal on 1 November exactly once
    F   ends 2027-12-31: a follow-up planned for 12 October, done on the 14th; lapses on New Year
    H   ends on 29 February 2028, auto-renews (notice 45 days): bands counted across the leap day,
        renewed on 1 March 2028 exactly once
    I1  paid before it was due: never an alert
    I2  never paid: dunning levels 1 → 4
    I3  paid ten days late: level 1, resolved on payment; with I2 it took C2 over its credit limit
    I4  a promise to pay broken: the hold is lifted, the level it skipped is raised, paid later
    I5  disputed the day after its first reminder: stays at level 1
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from renewals.db.models import Alert, Client, Contract, Invoice, Renewal
from renewals.domain.daily import scan
from renewals.domain.renewals import service as renewals
from renewals.domain.renewals.schemas import ActivityIn, TransitionIn
from tests.factories import make_client, make_contract, make_user
from tests.integration.alerts_arrange import hold, invoice_due, settle

START = date(2027, 2, 1)
DAYS = 400


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_a_year_of_daily_scans_raises_and_resolves_exactly_the_expected_alerts(session: Session):
    manager = make_user(session, role="manager")
    finance = make_user(session, role="finance")
    mina = make_user(session, role="account_manager")
    c1 = make_client(session, owner=mina, name="C1")
    c2 = make_client(session, owner=mina, name="C2", credit_limit=Decimal("2000"))
    c3 = make_client(session, owner=mina, name="C3")
    # Invoices first, each from a five-year contract billed once, so that no renewal falls in the year.
    inv = {
        "I1": invoice_due(session, client=c3, actor=mina, due=d("2027-03-15"), years=5),
        "I2": invoice_due(session, client=c2, actor=mina, due=d("2027-04-30"), years=5),
        "I3": invoice_due(session, client=c2, actor=mina, due=d("2027-06-10"), years=5),
        "I4": invoice_due(session, client=c3, actor=mina, due=d("2027-08-01"), years=5),
        "I5": invoice_due(session, client=c3, actor=mina, due=d("2027-12-20"), years=5),
    }
    early = START - timedelta(days=200)
    con = {
        "A": make_contract(session, client=c1, actor=mina, start_date=early, end_date=d("2027-06-30")),
        "C": make_contract(
            session,
            client=c1,
            actor=mina,
            start_date=early,
            end_date=d("2027-10-31"),
            auto_renew=True,
            notice_period_days=30,
            renewal_term_months=12,
            renewal_uplift_pct=Decimal("5"),
        ),
        "F": make_contract(session, client=c1, actor=mina, start_date=early, end_date=d("2027-12-31")),
        "H": make_contract(
            session,
            client=c1,
            actor=mina,
            start_date=early,
            end_date=d("2028-02-29"),
            auto_renew=True,
            notice_period_days=45,
            renewal_term_months=12,
        ),
    }
    session.commit()

    def renewal_of(name: str) -> Renewal:
        return session.scalars(select(Renewal).where(Renewal.contract_id == con[name].id)).one()

    def enter_b(day: date) -> None:
        con["B"] = make_contract(
            session, client=c1, actor=mina, start_date=day - timedelta(days=365), end_date=d("2027-09-30")
        )

    def renew_b(day: date) -> None:
        renewals.transition(session, mina, renewal_of("B").id, TransitionIn(to="renewed", term_months=12), as_of=day)

    def plan_call(day: date) -> None:
        renewals.add_activity(
            session,
            mina,
            renewal_of("F").id,
            ActivityIn(kind="call", text="Budget not ready; call again", next_follow_up_on=d("2027-10-12")),
            as_of=day,
        )

    def log_call(day: date) -> None:
        renewals.add_activity(
            session, mina, renewal_of("F").id, ActivityIn(kind="call", text="Proposal wanted"), as_of=day
        )

    events: dict[date, Callable[[date], None]] = {
        d("2027-03-10"): lambda day: settle(session, inv["I1"]),
        d("2027-06-20"): lambda day: settle(session, inv["I3"]),
        d("2027-08-05"): lambda day: hold(session, inv["I4"], "promise", until=d("2027-08-20"), on=day),
        d("2027-09-01"): lambda day: settle(session, inv["I4"]),
        d("2027-09-10"): enter_b,
        d("2027-09-25"): renew_b,
        d("2027-10-05"): plan_call,
        d("2027-10-14"): log_call,
        d("2027-12-22"): lambda day: hold(session, inv["I5"], "dispute", on=day),
    }

    history: list[tuple[str, str, str, str, int | None]] = []
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        if day in events:
            events[day](day)
        scan.run_day(session, day)
        session.commit()
        names = _names(session, con, inv, c2)
        for a in session.scalars(
            select(Alert).where(or_(Alert.raised_on == day, Alert.resolved_on == day)).order_by(Alert.id)
        ):
            if a.raised_on == day:
                history.append((day.isoformat(), "raised", a.kind, names[(a.subject_type, a.subject_id)], a.threshold))
        for a in session.scalars(select(Alert).where(Alert.resolved_on == day).order_by(Alert.id)):
            history.append((day.isoformat(), "resolved", a.kind, names[(a.subject_type, a.subject_id)], a.threshold))

    history.sort(key=lambda event: (event[0], event[1] != "raised", event[2], event[3]))
    assert history == EXPECTED

    who = {(a.kind, a.assignee_id, a.informed_id) for a in session.scalars(select(Alert))}
    assert who == {
        ("renewal_due", mina.id, None),
        ("notice_deadline", mina.id, None),
        ("follow_up_due", mina.id, None),
        ("renewal_lapsed", mina.id, manager.id),
        ("invoice_overdue", finance.id, mina.id),
        ("promise_broken", finance.id, mina.id),
        ("credit_limit", finance.id, mina.id),
    }

    session.expire_all()
    successors = session.scalars(
        select(Contract).where(Contract.predecessor_id.is_not(None)).order_by(Contract.id)
    ).all()
    assert sorted((s.predecessor_id, s.start_date, s.end_date) for s in successors) == sorted(
        [
            (con["C"].id, d("2027-11-01"), d("2028-10-31")),
            (con["B"].id, d("2027-10-01"), d("2028-09-30")),
            (con["H"].id, d("2028-03-01"), d("2029-02-28")),
        ]
    )
    assert [r.status for r in map(renewal_of, "ABCFH")] == [
        "lapsed",
        "renewed",
        "auto_renewed",
        "lapsed",
        "auto_renewed",
    ]
    assert session.get(Invoice, inv["I2"].id).dunning_level == 4
    assert session.get(Invoice, inv["I5"].id).dunning_level == 1
    assert (
        session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(Alert.subject_type == "invoice", Alert.subject_id == inv["I1"].id)
        )
        == 0
    )


def _names(
    session: Session, con: dict[str, Contract], inv: dict[str, Invoice], c2: Client
) -> dict[tuple[str, int], str]:
    names = {("contract", c.id): name for name, c in con.items()}
    names |= {("invoice", i.id): name for name, i in inv.items()}
    names[("client", c2.id)] = "C2"
    for renewal in session.scalars(select(Renewal)):
        for name, c in con.items():
            if renewal.contract_id == c.id:
                names[("renewal", renewal.id)] = f"renewal {name}"
    return names


EXPECTED: list[tuple[str, str, str, str, int | None]] = [
    ("2027-04-01", "raised", "renewal_due", "A", 90),
    ("2027-05-01", "raised", "invoice_overdue", "I2", 1),
    ("2027-05-01", "raised", "renewal_due", "A", 60),
    ("2027-05-01", "resolved", "renewal_due", "A", 90),
    ("2027-05-11", "raised", "credit_limit", "C2", 200000),
    ("2027-05-15", "raised", "invoice_overdue", "I2", 2),
    ("2027-05-15", "resolved", "invoice_overdue", "I2", 1),
    ("2027-05-30", "raised", "invoice_overdue", "I2", 3),
    ("2027-05-30", "resolved", "invoice_overdue", "I2", 2),
    ("2027-05-31", "raised", "renewal_due", "A", 30),
    ("2027-05-31", "resolved", "renewal_due", "A", 60),
    ("2027-06-11", "raised", "invoice_overdue", "I3", 1),
    ("2027-06-20", "resolved", "credit_limit", "C2", 200000),
    ("2027-06-20", "resolved", "invoice_overdue", "I3", 1),
    ("2027-06-23", "raised", "renewal_due", "A", 7),
    ("2027-06-23", "resolved", "renewal_due", "A", 30),
    ("2027-06-29", "raised", "invoice_overdue", "I2", 4),
    ("2027-06-29", "resolved", "invoice_overdue", "I2", 3),
    ("2027-07-01", "raised", "renewal_lapsed", "renewal A", None),
    ("2027-07-01", "resolved", "renewal_due", "A", 7),
    ("2027-08-02", "raised", "invoice_overdue", "I4", 1),
    ("2027-08-02", "raised", "renewal_due", "C", 90),
    ("2027-08-21", "raised", "invoice_overdue", "I4", 2),
    ("2027-08-21", "raised", "promise_broken", "I4", 20270820),
    ("2027-08-21", "resolved", "invoice_overdue", "I4", 1),
    ("2027-08-31", "raised", "invoice_overdue", "I4", 3),
    ("2027-08-31", "resolved", "invoice_overdue", "I4", 2),
    ("2027-09-01", "raised", "renewal_due", "C", 60),
    ("2027-09-01", "resolved", "invoice_overdue", "I4", 3),
    ("2027-09-01", "resolved", "promise_broken", "I4", 20270820),
    ("2027-09-01", "resolved", "renewal_due", "C", 90),
    ("2027-09-10", "raised", "renewal_due", "B", 30),
    ("2027-09-17", "raised", "notice_deadline", "C", 14),
    ("2027-09-23", "raised", "renewal_due", "B", 7),
    ("2027-09-23", "resolved", "renewal_due", "B", 30),
    ("2027-09-25", "resolved", "renewal_due", "B", 7),
    ("2027-10-01", "raised", "renewal_due", "C", 30),
    ("2027-10-01", "resolved", "renewal_due", "C", 60),
    ("2027-10-02", "raised", "renewal_due", "F", 90),
    ("2027-10-02", "resolved", "notice_deadline", "C", 14),
    ("2027-10-12", "raised", "follow_up_due", "renewal F", 20271012),
    ("2027-10-14", "resolved", "follow_up_due", "renewal F", 20271012),
    ("2027-10-24", "raised", "renewal_due", "C", 7),
    ("2027-10-24", "resolved", "renewal_due", "C", 30),
    ("2027-11-01", "raised", "renewal_due", "F", 60),
    ("2027-11-01", "resolved", "renewal_due", "C", 7),
    ("2027-11-01", "resolved", "renewal_due", "F", 90),
    ("2027-12-01", "raised", "renewal_due", "F", 30),
    ("2027-12-01", "raised", "renewal_due", "H", 90),
    ("2027-12-01", "resolved", "renewal_due", "F", 60),
    ("2027-12-21", "raised", "invoice_overdue", "I5", 1),
    ("2027-12-24", "raised", "renewal_due", "F", 7),
    ("2027-12-24", "resolved", "renewal_due", "F", 30),
    ("2027-12-31", "raised", "renewal_due", "H", 60),
    ("2027-12-31", "resolved", "renewal_due", "H", 90),
    ("2028-01-01", "raised", "notice_deadline", "H", 14),
    ("2028-01-01", "raised", "renewal_lapsed", "renewal F", None),
    ("2028-01-01", "resolved", "renewal_due", "F", 7),
    ("2028-01-16", "resolved", "notice_deadline", "H", 14),
    ("2028-01-30", "raised", "renewal_due", "H", 30),
    ("2028-01-30", "resolved", "renewal_due", "H", 60),
    ("2028-02-22", "raised", "renewal_due", "H", 7),
    ("2028-02-22", "resolved", "renewal_due", "H", 30),
    ("2028-03-01", "resolved", "renewal_due", "H", 7),
]
