"""The API under load (issue 10): `GET /api/v1/contracts/{id}` against a bare Litestar app doing
the same select on the same database, and `POST /api/v1/payments`, each at 16 connections.

    python -m bench.api_load [--contracts N] [--database-url URL] [--duration S]

Both apps are served the way `renewals run` serves the API (one uvicorn process, the command of
`renewals.supervisor.api_command`); the load comes from `wrk` (Debian's package, listed in
`system-packages.txt`) with a Lua script written for each run. The real app checks the bearer
token, the caller's access to the contract's client and answers the full `ContractOut`; the bare
app (`bare_app` below) takes no token and runs one select of the contract, its client's owner
and its lines on a plain engine, answering the row as JSON. Each contract request asks for a
random contract of the book as the manager; each payment (as finance) pays a random client
5 units of its currency with an Idempotency-Key of its own. Reported: requests per second,
p50 and p99 latency (wrk's), the server process's CPU seconds (user + system, from /proc), and
the load average. The contract reads run `repeat` times alternately on the two apps, the best
run of each counts; the payments run once (they change the book).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import Row as DbRow

from bench.common import Database, Row, Section, stop_process, timed
from bench.generate import generate
from renewals import clock, embedded_redis
from renewals.db.models import Client, Contract, ContractLine, User
from renewals.domain.access.users import issue_token
from renewals.supervisor import API_APP, api_command

NAME = "api_load"
TITLE = "API under load against a bare Litestar app"
BOOK = "full"
WHAT = __doc__ or ""
CONNECTIONS = 16
THREADS = 2
DURATION = 10.0  # seconds of each measured load
WARM_UP = 2.0  # seconds of load before measuring, once per app
MANAGER, FINANCE = 2, 3  # users of the generated book: sees every client / records payments
HOST = "127.0.0.1"
BARE_URL_ENV = "BENCH_BARE_DATABASE_URL"
CONTRACT_PATH = "/api/v1/contracts/"


# -- the bare app --------------------------------------------------------------------------------

_COLUMNS = list(Contract.__table__.c)
BARE_SELECT = (
    select(
        *_COLUMNS,
        Client.owner_id.label("owner_id"),
        ContractLine.description.label("line_description"),
        ContractLine.quantity.label("line_quantity"),
        ContractLine.monthly_unit_price_minor.label("line_price_minor"),
    )
    .join(Client, Client.id == Contract.client_id)
    .outerjoin(ContractLine, ContractLine.contract_id == Contract.id)
    .order_by(ContractLine.position)
)


def _bare_contract(rows: list[DbRow[Any]]) -> dict[str, Any]:
    first = rows[0]._mapping
    out = {c.name: first[c.name] for c in _COLUMNS} | {"owner_id": first["owner_id"]}
    out["lines"] = [
        {"description": r.line_description, "quantity": r.line_quantity, "monthly_unit_price_minor": r.line_price_minor}
        for r in rows
        if r.line_description is not None
    ]
    return out


def bare_app() -> Litestar:
    """What a bare Litestar app does for the same read: a route, one select, JSON. Served by
    uvicorn (`--factory bench.api_load:bare_app`) with the database URL in BENCH_BARE_DATABASE_URL."""
    engine: Engine = create_engine(os.environ[BARE_URL_ENV])

    @get(CONTRACT_PATH + "{contract_id:int}", sync_to_thread=True)
    def contract(contract_id: int) -> dict[str, Any]:
        with engine.connect() as conn:
            rows = list(conn.execute(BARE_SELECT.where(Contract.id == contract_id)))
        if not rows:
            raise NotFoundException()
        return _bare_contract(rows)

    return Litestar([contract], on_shutdown=[engine.dispose], debug=False)


# -- load and measurement ------------------------------------------------------------------------


@dataclass
class Load:
    """One wrk run against one server."""

    label: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_seconds: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.label}: {self.rps:,.0f} rps, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"{self.errors} errors, server CPU {self.cpu_seconds:.2f} s "
            f"({1000 * self.cpu_seconds / max(1, self.requests):.2f} ms a request), "
            f"load average {_load(self.load_before)} → {_load(self.load_after)}"
        )


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %.0f %.0f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def contract_script(token: str, contracts: int) -> str:
    """wrk: GET a random contract of the book."""
    return f"""
wrk.headers["Authorization"] = "Bearer {token}"
local n = {contracts}
request = function()
  return wrk.format("GET", "{CONTRACT_PATH}" .. math.random(n))
end
{_DONE}"""


def payment_script(token: str, clients: list[tuple[int, str]], tag: str) -> str:
    """wrk: POST a payment of 5 units for a random client, each with its own Idempotency-Key."""
    table = ",".join(f'{{{cid},"{cur}"}}' for cid, cur in clients)
    return f"""
local clients = {{{table}}}
local next_thread = 1
setup = function(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end
local counter = 0
init = function(args)
  math.randomseed(tid)
end
request = function()
  counter = counter + 1
  local c = clients[math.random(#clients)]
  local body = '{{"client_id":' .. c[1] .. ',"amount":"5","currency":"' .. c[2] .. '","method":"bench"}}'
  local headers = {{
    ["Authorization"] = "Bearer {token}",
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "{tag}-" .. tid .. "-" .. counter,
  }}
  return wrk.format("POST", "/api/v1/payments", headers, body)
end
{_DONE}"""


def run_wrk(label: str, port: int, pid: int, script: Path, seconds: float) -> Load:
    """Load the server at CONNECTIONS connections for `seconds`; its figures."""
    argv = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://{HOST}:{port}/",
    ]
    load_before, cpu_before = os.getloadavg(), cpu_seconds(pid)
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu_before
    result = next(line for line in out.splitlines() if line.startswith("RESULT "))
    requests, micros, errors, p50, p99 = (float(x) for x in result.split()[1:])
    return Load(
        label, int(requests), micros / 1e6, int(errors), p50 / 1000, p99 / 1000, cpu, load_before, os.getloadavg()
    )


@contextmanager
def served(app: str, env: dict[str, str], log: Path) -> Iterator[tuple[int, int]]:
    """Serve an app factory with the API's own command; yield (port, pid)."""
    port = embedded_redis.free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(api_command(HOST, port, app), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        embedded_redis.wait_for_port(port, timeout=60, host=HOST)
        yield port, proc.pid
    finally:
        stop_process(proc, 15)


def measure(db: Database, scale: int, section: Section, repeat: int, duration: float = DURATION) -> list[Load]:
    """Run the loads against the real and the bare app on `db` (a generated "full" book)."""
    if shutil.which("wrk") is None:
        section.note("skipped: `wrk` is not installed (`make system` as root installs it)")
        return []
    secret = secrets.token_urlsafe(48)  # a throw-away key for this run's tokens
    with db.unit() as session:
        tokens = {uid: issue_token(session.get_one(User, uid), secret, 2, clock.now()) for uid in (MANAGER, FINANCE)}
        clients = [(r.id, r.currency) for r in session.execute(select(Client.id, Client.currency).order_by(Client.id))]
    sample = random.Random(scale).sample(clients, min(len(clients), 2000))  # reproducible, not security
    with tempfile.TemporaryDirectory(prefix="renewals-api-load-") as tmp:
        folder = Path(tmp)
        env = os.environ.copy()
        for name in ("REDIS_URL", "RENEWALS_DEMO"):
            env.pop(name, None)
        env |= {
            "DATABASE_URL": db.url,
            "RENEWALS_SECRET_KEY": secret,
            "RENEWALS_DATA_DIR": str(folder / "data"),
            BARE_URL_ENV: db.url,
        }
        reads = folder / "contracts.lua"
        reads.write_text(contract_script(tokens[MANAGER], scale))
        pays = folder / "payments.lua"
        pays.write_text(payment_script(tokens[FINANCE], sample, secrets.token_hex(4)))
        with (
            served(API_APP, env, folder / "app.log") as (app_port, app_pid),
            served("bench.api_load:bare_app", env, folder / "bare.log") as (bare_port, bare_pid),
        ):
            run_wrk("warm-up", bare_port, bare_pid, reads, WARM_UP)
            run_wrk("warm-up", app_port, app_pid, reads, WARM_UP)
            bare: list[Load] = []
            real: list[Load] = []
            for _ in range(max(1, repeat)):
                bare.append(run_wrk("bare Litestar, same select", bare_port, bare_pid, reads, duration))
                real.append(run_wrk("GET /api/v1/contracts/{id}", app_port, app_pid, reads, duration))
            payments = run_wrk("POST /api/v1/payments", app_port, app_pid, pays, duration)
        best_bare, best_real = max(bare, key=lambda x: x.rps), max(real, key=lambda x: x.rps)
    for load in (*bare, *real, payments):
        section.note(load.line())
    _row(section, scale, best_bare)
    _row(section, scale, best_real, best_bare)
    _row(section, scale, payments)
    ratio = best_real.rps / best_bare.rps if best_bare.rps else 0.0
    section.note(
        f"@ {scale:,}: GET contract at {ratio:.2f}× the bare app's throughput (goal ≥ 0.80), "
        f"p99 {best_real.p99_ms:.1f} ms (goal ≤ 25); payments {payments.rps:,.0f} rps (goal ≥ 500), "
        f"p99 {payments.p99_ms:.1f} ms (goal ≤ 50), "
        f"{1000 * payments.cpu_seconds / max(1, payments.requests):.2f} ms server CPU each (goal ≤ 2)"
    )
    return [*bare, *real, payments]


def _row(section: Section, scale: int, load: Load, baseline: Load | None = None) -> None:
    section.add(
        Row(
            scale,
            f"{load.label}, {CONNECTIONS} connections (p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms)",
            load.requests,
            "requests",
            load.seconds,
            load.cpu_seconds,
            baseline.label if baseline else "",
            load.requests / baseline.rps if baseline and baseline.rps else None,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL server to create a throw-away database on (default: $BENCH_DATABASE_URL; none: SQLite)",
    )
    parser.add_argument("--duration", type=float, default=DURATION, help="seconds of each measured load")
    parser.add_argument("--repeat", type=int, default=1, help="contract-read runs on each app; the best counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    db = Database("postgresql" if args.database_url else "sqlite", args.database_url)
    try:
        section = Section(NAME, TITLE, db.version(), WHAT)
        with timed() as t:
            generate(db.engine, args.contracts, book=BOOK, seed=args.seed)
        db.analyze()
        print(f"{db.version()}: {args.contracts:,} contracts generated in {t.wall:.1f} s", flush=True)
        loads = measure(db, args.contracts, section, args.repeat, args.duration)
        if args.json:
            args.json.write_text(json.dumps([{**vars(x), "rps": x.rps} for x in loads], indent=1) + "\n")
    finally:
        db.close()


if __name__ == "__main__":
    main()
