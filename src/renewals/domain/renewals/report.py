"""The renewals report: pipeline by state and end month, renewal and churn rates, value at risk.

Three grouped queries, whatever the size of the book; currencies are never summed together.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Select, extract, func, select
from sqlalchemy.orm import Session

from renewals.db.models import Client, Contract, Renewal, User
from renewals.domain import money
from renewals.domain.access.rules import scope_clients
from renewals.domain.renewals.rules import PIPELINE, RenewalStatus
from renewals.domain.renewals.schemas import (
    CurrencyValue,
    MonthBucket,
    Rates,
    RenewalReport,
    StateBucket,
    ValueAtRisk,
)
from renewals.errors import ValidationFailed

MAX_MONTHS = 36
RISK_DAYS = 90
OPEN = tuple(state.value for state in PIPELINE)
RENEWED = (RenewalStatus.RENEWED.value, RenewalStatus.AUTO_RENEWED.value)
CHURNED = (RenewalStatus.LOST.value, RenewalStatus.LAPSED.value)


def _scoped(user: User, *columns: Any) -> Select[Any]:
    stmt = (
        select(*columns)
        .select_from(Renewal)
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
    )
    return scope_clients(stmt, user)


def _values(per_currency: dict[str, list[int]]) -> list[CurrencyValue]:
    out = []
    for currency in sorted(per_currency):
        count, monthly_minor = per_currency[currency]
        monthly = money.from_minor(monthly_minor, currency)
        out.append(CurrencyValue(currency=currency, count=count, monthly_value=monthly, annual_value=monthly * 12))
    return out


def _pct(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def renewal_report(session: Session, user: User, *, as_of: date, months: int = 6) -> RenewalReport:
    """Report the renewal pipeline the user may see (an account manager: their own clients).

    The pipeline covers renewals whose end date falls in `months` calendar months from the first
    day of `as_of`'s month, by state and by end month, with monthly and annual (× 12) contract
    value per currency. The rates look back: of the renewals decided in the `months` months up to
    `as_of`, the share renewed (`renewed` + `auto_renewed`) and the share churned (`lost` +
    `lapsed`), in percent. Value at risk is the annual value of open renewals ending by
    `as_of` + 90 days. Raises ValidationFailed naming `months`.
    """
    if isinstance(months, bool) or not 1 <= months <= MAX_MONTHS:
        raise ValidationFailed("months", f"must be from 1 to {MAX_MONTHS}", source="query")
    window_from = as_of.replace(day=1)
    window_to = window_from + relativedelta(months=months) - timedelta(days=1)

    year = extract("year", Renewal.end_date)
    month = extract("month", Renewal.end_date)
    pipeline = _scoped(
        user, year, month, Renewal.status, Contract.currency, func.count(), func.sum(Contract.monthly_value_minor)
    )
    pipeline = pipeline.where(Renewal.end_date.between(window_from, window_to)).group_by(
        year, month, Renewal.status, Contract.currency
    )
    by_state: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    by_month: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    month_states: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for y, m, status, currency, count, monthly_minor in session.execute(pipeline):
        key = f"{int(y):04d}-{int(m):02d}"
        for bucket in (by_state[status][currency], by_month[key][currency]):
            bucket[0] += int(count)
            bucket[1] += int(monthly_minor or 0)
        month_states[key][status] += int(count)

    states = [
        StateBucket(
            status=s.value, count=sum(v[0] for v in by_state[s.value].values()), values=_values(by_state[s.value])
        )
        for s in RenewalStatus
    ]
    months_out = []
    cursor = window_from
    while cursor <= window_to:
        key = f"{cursor.year:04d}-{cursor.month:02d}"
        months_out.append(
            MonthBucket(
                month=key,
                count=sum(month_states[key].values()),
                by_state={s.value: month_states[key].get(s.value, 0) for s in RenewalStatus},
                values=_values(by_month[key]),
            )
        )
        cursor += relativedelta(months=1)

    decided_from = as_of - relativedelta(months=months) + timedelta(days=1)
    decided = (
        _scoped(user, Renewal.status, func.count())
        .where(Renewal.decided_on.between(decided_from, as_of), Renewal.status.in_((*RENEWED, *CHURNED)))
        .group_by(Renewal.status)
    )
    counts = {status: int(n) for status, n in session.execute(decided)}
    total = sum(counts.values())
    renewed = sum(counts.get(s, 0) for s in RENEWED)
    churned = sum(counts.get(s, 0) for s in CHURNED)
    rates = Rates(
        decided_from=decided_from,
        decided_to=as_of,
        decided=total,
        renewed=counts.get(RenewalStatus.RENEWED.value, 0),
        auto_renewed=counts.get(RenewalStatus.AUTO_RENEWED.value, 0),
        lost=counts.get(RenewalStatus.LOST.value, 0),
        lapsed=counts.get(RenewalStatus.LAPSED.value, 0),
        renewal_rate=_pct(renewed, total),
        churn_rate=_pct(churned, total),
    )

    through = as_of + timedelta(days=RISK_DAYS)
    risk = (
        _scoped(user, Contract.currency, func.count(), func.sum(Contract.monthly_value_minor))
        .where(Renewal.status.in_(OPEN), Renewal.end_date <= through)
        .group_by(Contract.currency)
    )
    at_risk = {currency: [int(n), int(m or 0)] for currency, n, m in session.execute(risk)}
    value_at_risk = ValueAtRisk(
        days=RISK_DAYS, through=through, count=sum(v[0] for v in at_risk.values()), values=_values(at_risk)
    )

    return RenewalReport(
        as_of=as_of,
        months=months,
        window_from=window_from,
        window_to=window_to,
        pipeline_by_state=states,
        pipeline_by_month=months_out,
        rates=rates,
        value_at_risk=value_at_risk,
    )
