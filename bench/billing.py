"""Time the billing run over N generated contracts on SQLite or PostgreSQL.

    python -m bench.billing --contracts 20000 [--database-url URL] [--through 2026-12-31]

The book is generated directly with bulk inserts (not through the services, which would
dominate the time): one account manager, one client per 20 contracts, monthly, quarterly and
annual contracts of one to three lines starting during 2026, so a run through the end of 2026
issues about six invoices per contract. The database is migrated and emptied first; with no
URL a fresh SQLite file under a temporary directory is used. The first run issues everything,
the second must issue nothing (and shows what an idempotent re-run costs).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from renewals.db.engine import make_engine, make_sessionmaker
from renewals.db.migrate import upgrade
from renewals.db.models import Base, Client, Contract, ContractLine, Invoice, InvoiceLine, User
from renewals.db.uow import unit_of_work
from renewals.domain.receivables.billing import run_billing

CYCLES = ["monthly", "monthly", "quarterly", "annual"]


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


def generate(engine: Engine, contracts: int, seed: int = 1) -> None:
    """Insert one user, contracts/20 clients and `contracts` active contracts with lines."""
    rng = random.Random(seed)  # noqa: S311 — reproducible data, not security
    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}
    with engine.begin() as conn:
        conn.execute(insert(User), [{"id": 1, "email": "bench@example.test", "name": "Bench", "role": "manager",
                                     "password_hash": "x", "active": True, **stamps}])
        n_clients = max(1, contracts // 20)
        conn.execute(insert(Client), [
            {"id": i, "name": f"Client {i}", "legal_name": f"Client {i} Ltd.", "legal_name_key": f"client{i}ltd.",
             "segment": "enterprise", "size": "medium", "language": "en", "currency": "USD",
             "credit_limit_minor": 0, "owner_id": 1, "status": "active", "tier": "B", "version": 1, **stamps}
            for i in range(1, n_clients + 1)])
        batch = 5000
        line_id = 0
        for low in range(1, contracts + 1, batch):
            rows: list[dict[str, Any]] = []
            lines: list[dict[str, Any]] = []
            for cid in range(low, min(low + batch, contracts + 1)):
                start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 180))
                rows.append({
                    "id": cid, "client_id": 1 + (cid - 1) % n_clients, "number": f"B-{cid:07d}",
                    "title": f"Bench {cid}", "kind": "rental", "start_date": start,
                    "end_date": start.replace(year=start.year + rng.randint(1, 3)) - timedelta(days=1),
                    "billing_cycle": rng.choice(CYCLES), "currency": "USD", "tax_rate": 6,
                    "payment_terms_days": 30, "notice_period_days": 90, "auto_renew": False,
                    "renewal_term_months": 12, "renewal_uplift_pct": 0, "status": "active",
                    "monthly_value_minor": 0, "version": 1, **stamps})
                for pos in range(rng.randint(1, 3)):
                    line_id += 1
                    lines.append({"id": line_id, "contract_id": cid, "position": pos, "description": f"Item {pos}",
                                  "quantity": rng.randint(1, 4), "monthly_unit_price_minor": rng.randint(100, 500000)})
            conn.execute(insert(Contract), rows)
            conn.execute(insert(ContractLine), lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=20000)
    parser.add_argument("--database-url")
    parser.add_argument("--through", type=date.fromisoformat, default=date(2026, 12, 31))
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    _empty(engine)
    started = time.perf_counter()
    generate(engine, args.contracts)
    print(f"{engine.dialect.name}: generated {args.contracts} contracts in {time.perf_counter() - started:.1f} s")
    sessions = make_sessionmaker(engine)
    for attempt in ("first run", "second run"):
        started = time.perf_counter()
        with unit_of_work(sessions) as session:
            summary = run_billing(session, args.through, None)
        elapsed = time.perf_counter() - started
        print(f"{engine.dialect.name}: {attempt}: {summary.contracts_scanned} contracts scanned, "
              f"{summary.invoices_issued} invoices issued in {elapsed:.1f} s")
    with engine.connect() as conn:
        invoices = conn.scalar(select(func.count()).select_from(Invoice))
        lines = conn.scalar(select(func.count()).select_from(InvoiceLine))
    print(f"{engine.dialect.name}: {invoices} invoices, {lines} invoice lines in the database")
    engine.dispose()


if __name__ == "__main__":
    main()
