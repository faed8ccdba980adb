"""`Accept: text/csv` on lists and reports: every row, the pinned field names, the same scoping."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from renewals.domain.pagination import MAX_LIMIT
from tests.factories import make_client, make_contract, make_user
from tests.integration.receivables_arrange import invoice_due
from tests.integration.renewals_arrange import contract_ending

CSV = {"Accept": "text/csv"}
CLIENT_FIELDS = [
    "id",
    "name",
    "legal_name",
    "segment",
    "size",
    "language",
    "currency",
    "credit_limit",
    "owner_id",
    "status",
    "tier",
    "version",
]


@pytest.fixture
def people(session):
    people = {
        "admin": make_user(session, role="admin"),
        "manager": make_user(session, role="manager"),
        "mina": make_user(session, role="account_manager"),
        "wei": make_user(session, role="account_manager"),
        "finance": make_user(session, role="finance"),
    }
    session.commit()
    return people


def read_csv(response):
    """Parse a CSV answer the way a spreadsheet would: BOM first, then rows."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    return rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_chinese_and_korean_names_survive_a_round_trip(api, people, session):
    names = ["北京云桥数据有限公司", "臺北雲端科技股份有限公司", "서울데이터센터 주식회사", "Northwind"]
    for name in names:
        make_client(session, owner=people["mina"], name=name, legal_name=f"{name} (legal)", currency="KRW")
    session.commit()
    header, rows = read_csv(api.get("/api/v1/clients", people["mina"], headers=CSV))
    assert header == CLIENT_FIELDS
    assert sorted(r["name"] for r in rows) == sorted(names)
    assert {r["legal_name"] for r in rows} == {f"{n} (legal)" for n in names}
    # Amounts are plain decimal strings in the currency's minor unit.
    assert {r["credit_limit"] for r in rows} == {"50000"}


def test_an_account_managers_csv_has_only_their_rows(api, people, session):
    mine = [make_client(session, owner=people["mina"], name=f"Mina {i}") for i in range(3)]
    theirs = make_client(session, owner=people["wei"], name="Wei 0")
    for client in [*mine, theirs]:
        make_contract(session, client=client, actor=people["admin"])
    session.commit()
    _, clients = read_csv(api.get("/api/v1/clients", people["mina"], headers=CSV))
    assert {int(r["id"]) for r in clients} == {c.id for c in mine}
    _, contracts = read_csv(api.get("/api/v1/contracts", people["mina"], headers=CSV))
    assert {int(r["client_id"]) for r in contracts} == {c.id for c in mine}
    # Naming another manager's client in a filter shows nothing, as in JSON.
    _, none = read_csv(api.get(f"/api/v1/contracts?client_id={theirs.id}", people["mina"], headers=CSV))
    assert none == []
    # Finance sees every client.
    _, everyone = read_csv(api.get("/api/v1/clients", people["finance"], headers=CSV))
    assert len(everyone) == 4


def test_every_row_is_present_beyond_the_page_limit(api, people, session):
    count = 2 * MAX_LIMIT + 3
    for i in range(count):
        make_client(session, owner=people["mina"], name=f"Client {i:04d}")
    session.commit()
    page = api.get("/api/v1/clients", people["mina"]).json()
    assert page["total"] == count
    assert len(page["items"]) == 50
    # limit and offset shape a JSON page; a CSV export is always the whole list.
    _, rows = read_csv(api.get("/api/v1/clients?limit=10&offset=5", people["mina"], headers=CSV))
    assert [r["name"] for r in rows] == [f"Client {i:04d}" for i in range(count)]


def test_filters_apply_to_the_csv(api, people, session):
    client = make_client(session, owner=people["mina"])
    make_contract(session, client=client, actor=people["mina"], auto_renew=True)
    make_contract(session, client=client, actor=people["mina"], auto_renew=False)
    make_contract(session, client=client, actor=people["mina"], status="draft")
    session.commit()
    _, rows = read_csv(api.get("/api/v1/contracts?auto_renew=true", people["mina"], headers=CSV))
    assert [r["auto_renew"] for r in rows] == ["true"]
    _, rows = read_csv(api.get("/api/v1/contracts?status=draft", people["mina"], headers=CSV))
    assert [r["status"] for r in rows] == ["draft"]
    # An unknown parameter is refused for CSV as for JSON.
    assert api.get("/api/v1/contracts?state=draft", people["mina"], headers=CSV).status_code == 400


def test_nested_lines_are_left_out_and_nested_objects_become_columns(api, people, session):
    client = make_client(session, owner=people["mina"])
    make_contract(session, client=client, actor=people["mina"])
    issued = invoice_due(session, client=client, actor=people["admin"], due=date(2026, 3, 1))
    session.commit()
    header, rows = read_csv(api.get("/api/v1/contracts", people["mina"], headers=CSV))
    assert "lines" not in header
    assert header[:3] == ["id", "client_id", "number"]
    assert rows[0]["tax_rate"] == "0"
    hold = api.post(
        f"/api/v1/invoices/{issued.id}/hold",
        people["finance"],
        {"kind": "dispute", "reason": "rack 7 was down for a week"},
    )
    assert hold.status_code == 200, hold.text
    header, rows = read_csv(api.get(f"/api/v1/invoices?client_id={client.id}", people["finance"], headers=CSV))
    assert {"hold.kind", "hold.until", "hold.reason"} <= set(header)
    held = next(r for r in rows if int(r["id"]) == issued.id)
    assert (held["hold.kind"], held["hold.until"], held["total"]) == ("dispute", "", "1200.00")
    assert held["hold.reason"] == "rack 7 was down for a week"
    assert Decimal(held["balance"]) == Decimal("1200.00")


def test_text_a_spreadsheet_would_run_as_a_formula_is_defused(api, people, session):
    make_client(session, owner=people["mina"], name='=HYPERLINK("http://x")', legal_name="Formula Ltd.")
    session.commit()
    _, rows = read_csv(api.get("/api/v1/clients", people["mina"], headers=CSV))
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'


def test_json_stays_the_default(api, people, session):
    make_client(session, owner=people["mina"])
    session.commit()
    for accept in ("application/json", "*/*", "text/csv;q=0.5, application/json"):
        r = api.get("/api/v1/clients", people["mina"], headers={"Accept": accept})
        assert r.headers["content-type"].startswith("application/json"), accept
        assert r.json()["total"] == 1


def test_the_aging_report_is_one_row_per_group_with_a_column_per_bucket(api, people, session):
    north = make_client(session, owner=people["mina"], name="Northwind")
    seoul = make_client(session, owner=people["wei"], name="서울데이터센터")
    invoice_due(session, client=north, actor=people["admin"], due=date(2026, 5, 20))
    invoice_due(session, client=seoul, actor=people["admin"], due=date(2026, 6, 25))
    session.commit()
    header, rows = read_csv(api.get("/api/v1/reports/aging?as_of=2026-06-30", people["finance"], headers=CSV))
    assert header == [
        "as_of",
        "currency",
        "key",
        "name",
        "current",
        "1-30",
        "31-60",
        "61-90",
        "91-180",
        "180+",
        "total",
    ]
    by_name = {r["name"]: r for r in rows}
    assert by_name["Northwind"]["31-60"] == "1200.00"
    assert by_name["서울데이터센터"]["1-30"] == "1200.00"
    assert by_name["Northwind"]["as_of"] == "2026-06-30"
    # The account manager's report has only her client.
    _, mine = read_csv(api.get("/api/v1/reports/aging?as_of=2026-06-30", people["mina"], headers=CSV))
    assert [r["name"] for r in mine] == ["Northwind"]


def test_the_statement_reads_as_a_ledger(api, people, session):
    client = make_client(session, owner=people["mina"])
    invoice_due(session, client=client, actor=people["admin"], due=date(2026, 3, 1))
    session.commit()
    url = f"/api/v1/clients/{client.id}/statement?from=2026-01-01&to=2026-03-31"
    header, rows = read_csv(api.get(url, people["mina"], headers=CSV))
    assert header[:4] == ["client_id", "client_name", "currency", "date"]
    assert [r["kind"] for r in rows] == ["opening_balance", "invoice", "closing_balance"]
    assert (rows[0]["balance"], rows[1]["amount"], rows[2]["balance"]) == ("0.00", "1200.00", "1200.00")


def test_the_renewal_report_is_one_row_per_figure(api, people, session):
    client = make_client(session, owner=people["mina"])
    make_contract(session, client=client, actor=people["mina"], end_date=date(2026, 7, 31))
    session.commit()
    header, rows = read_csv(api.get("/api/v1/reports/renewals?as_of=2026-06-30", people["manager"], headers=CSV))
    assert header == ["section", "key", "currency", "count", "monthly_value", "annual_value", "value"]
    sections = {r["section"] for r in rows}
    assert sections == {"pipeline_by_state", "pipeline_by_month", "value_at_risk", "rates"}
    assert {r["key"] for r in rows if r["section"] == "rates"} >= {"renewal_rate", "churn_rate"}


def test_the_users_csv_is_for_admins_only(api, people):
    header, rows = read_csv(api.get("/api/v1/users", people["admin"], headers=CSV))
    assert header == ["id", "email", "name", "role", "active"]
    assert len(rows) == 5
    assert "password" not in header
    assert api.get("/api/v1/users", people["mina"], headers=CSV).status_code == 403


def test_the_worklist_csv_has_every_renewal_in_risk_order_without_the_activity_log(api, people, session):
    mine = make_client(session, owner=people["mina"], name="한빛클라우드")
    theirs = make_client(session, owner=people["wei"])
    # More than one chunk: the worklist is read page by page, not from one cursor.
    ends = [date(2026, 7, 1) + timedelta(days=i % 90) for i in range(MAX_LIMIT + 10)]
    for end in ends:
        contract_ending(session, client=mine, actor=people["mina"], end=end)
    contract_ending(session, client=theirs, actor=people["wei"], end=date(2026, 7, 15))
    session.commit()
    url = "/api/v1/renewals?as_of=2026-06-01&sort=risk&status=upcoming"
    page = api.get(url, people["mina"]).json()
    header, rows = read_csv(api.get(url + "&limit=5", people["mina"], headers=CSV))
    assert "activities" not in header
    assert "allowed_transitions" in header
    assert len({r["id"] for r in rows}) == len(rows) == page["total"] == len(ends)
    assert [int(r["id"]) for r in rows[:50]] == [item["id"] for item in page["items"]]
    assert {r["client_name"] for r in rows} == {"한빛클라우드"}
    assert rows[0]["allowed_transitions"] == "; ".join(page["items"][0]["allowed_transitions"])


def _resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_operation_offering_csv_answers_it_and_every_list_offers_it(api, people, session):
    client = make_client(session, owner=people["mina"])
    session.commit()
    notice = api.post(
        "/api/v1/notices", people["mina"], {"kind": "statement", "client_id": client.id, "from": "2026-01-01"}
    )
    assert notice.status_code == 202, notice.text
    ids = {"client_id": client.id, "notice_id": notice.json()["id"]}
    document = api.get("/schema/openapi.json").json()
    offered = set()
    for path, operations in document["paths"].items():
        answer = operations.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        json_schema = _resolve(document, answer.get("application/json", {}).get("schema", {}))
        if {"items", "total", "limit", "offset"} <= set(json_schema.get("properties", {})):
            assert "text/csv" in answer, f"{path} is a list without CSV"
        if "text/csv" in answer:
            offered.add(path)
            r = api.get(path.format(**ids), people["admin"], headers=CSV)
            header, _ = read_csv(r)
            assert header, path
    assert len(offered) == 15
