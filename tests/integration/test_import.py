"""`renewals import`: CSV files through the services, all or nothing, every problem by line and column."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from renewals import cli
from renewals import settings as settings_mod
from renewals.db.models import AuditEntry, Client, Contact, Contract, User
from renewals.db.uow import unit_of_work
from renewals.domain.imports import ImportFailed, ImportResult, Kind, import_csv
from renewals.domain.renewals.service import list_renewals
from renewals.settings import Settings
from tests.factories import TIERS, make_client, make_contract, make_user

CLIENT_HEADER = "name,legal_name,segment,size,language,currency,credit_limit,owner_email\n"
CONTRACT_HEADER = (
    "client_legal_name,number,title,kind,start_date,end_date,billing_cycle,tax_rate,auto_renew,status,"
    "line_description,line_quantity,line_monthly_unit_price\n"
)
# The day the imports run: what the renewal horizon counts from.
AS_OF = date(2026, 1, 1)


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    people = {
        "admin": make_user(session, role="admin", email="admin@example.test"),
        "mina": make_user(session, role="account_manager", email="mina@example.test", name="Mina Park"),
        "wei": make_user(session, role="account_manager", email="wei@example.test", name="Chen Wei"),
        "finance": make_user(session, role="finance", email="finance@example.test"),
    }
    session.commit()
    return people


def run_import(
    sessions: sessionmaker[Session], actor: User, kind: Kind, text: str, *, bom: bool = False, dry_run: bool = False
) -> ImportResult:
    """The import in one unit of work, the way the command runs it."""
    data = ("\ufeff" + text if bom else text).encode("utf-8")
    with unit_of_work(sessions) as session:
        actor = session.get_one(User, actor.id)
        return import_csv(session, actor, kind, data, tier_thresholds=TIERS, as_of=AS_OF, dry_run=dry_run)


def failures(sessions: sessionmaker[Session], actor: User, kind: Kind, text: str, **kw: bool) -> list[str]:
    with pytest.raises(ImportFailed) as caught:
        run_import(sessions, actor, kind, text, **kw)
    return [str(p) for p in caught.value.problems]


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------------------------------------
# Clients


def test_clients_with_chinese_and_korean_names_and_a_bom_import_and_are_audited(sessions, engine, people):
    text = (
        CLIENT_HEADER + "华南数据,华南数据科技有限公司,enterprise,large,zh-Hans,CNY,500000.00,mina@example.test\n"
        "한빛클라우드,주식회사 한빛클라우드,channel,medium,ko,KRW,30000000,MINA@example.test\n"
        "臺灣雲端, 臺灣雲端股份有限公司 ,government,small,zh-Hant,TWD,,wei@example.test\n"
    )
    result = run_import(sessions, people["admin"], "clients", text, bom=True)
    assert str(result) == "imported 3 clients"
    with sessions() as s:
        clients = {c.name: c for c in s.scalars(select(Client))}
        assert set(clients) == {"华南数据", "한빛클라우드", "臺灣雲端"}
        assert clients["华南数据"].legal_name == "华南数据科技有限公司"
        assert clients["华南数据"].credit_limit_minor == 50_000_000
        assert clients["한빛클라우드"].credit_limit_minor == 30_000_000  # KRW has no minor unit
        assert clients["한빛클라우드"].owner_id == people["mina"].id
        assert clients["臺灣雲端"].legal_name == "臺灣雲端股份有限公司"  # trimmed
        assert clients["臺灣雲端"].owner_id == people["wei"].id
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "client")).all()
    assert len(audit) == 3
    assert {a.actor_id for a in audit} == {people["admin"].id}
    assert {a.after["legal_name"] for a in audit if a.after} >= {"주식회사 한빛클라우드"}


def test_two_bad_rows_are_both_reported_by_line_and_nothing_is_written(sessions, engine, people):
    text = (
        CLIENT_HEADER + "Northwind,Northwind Hosting Ltd.,channel,large,en,USD,25000,mina@example.test\n"
        "Contoso,Contoso GmbH,enterprise,large,de,EUR,lots,mina@example.test\n"  # line 3: two bad cells
        "Fabrikam,Fabrikam Inc.,enterprise,small,en,USD,1000,mina@example.test\n"
        "Globex,Globex Corp.,enterprise,small,en,ZZZ,1000,nobody@example.test\n"  # line 5
        "Initech,Initech LLC,enterprise,small,en,ZZZ,1000,mina@example.test\n"  # line 6: the service refuses it
    )
    assert failures(sessions, people["admin"], "clients", text) == [
        "line 3: language: must be one of: en, zh-Hans, zh-Hant, ko",
        "line 3: credit_limit: expected a number like 1234.50",
        "line 5: owner_email: no user with this e-mail",
        "line 6: currency: unknown currency 'ZZZ'; use an ISO 4217 code such as USD",
    ]
    assert count(engine, Client) == 0
    assert count(engine, AuditEntry) == 4  # the four users the fixture made, nothing more


def test_duplicate_legal_name_within_the_file_is_reported_and_nothing_written(sessions, engine, people):
    text = (
        CLIENT_HEADER + "Acme,Acme Ltd.,enterprise,large,en,USD,0,mina@example.test\n"
        "Other,Other Ltd.,enterprise,large,en,USD,0,mina@example.test\n"
        "Acme again,ＡＣＭＥ  ltd.,enterprise,large,en,USD,0,wei@example.test\n"  # full-width, other case
    )
    assert failures(sessions, people["admin"], "clients", text) == ["line 4: legal_name: the same legal name as line 2"]
    assert count(engine, Client) == 0


def test_duplicate_legal_name_against_the_database_names_the_owner_and_writes_nothing(
    sessions, session, engine, people
):
    make_client(session, owner=people["wei"], legal_name="Globex Corp.")
    session.commit()
    text = (
        CLIENT_HEADER + "New one,New One Ltd.,enterprise,large,en,USD,0,mina@example.test\n"
        "Globex,GLOBEX CORP.,enterprise,large,en,USD,0,mina@example.test\n"
    )
    problems = failures(sessions, people["admin"], "clients", text)
    assert problems == [
        "line 3: legal_name: a client with this legal name already exists, owned by Chen Wei (wei@example.test)"
    ]
    assert count(engine, Client) == 1


def test_an_account_manager_imports_only_clients_they_own(sessions, engine, people):
    text = (
        CLIENT_HEADER + "Mine,Mine Ltd.,enterprise,large,en,USD,0,\n"
        "Theirs,Theirs Ltd.,enterprise,large,en,USD,0,wei@example.test\n"
    )
    assert failures(sessions, people["mina"], "clients", text) == [
        "line 3: owner_email: an account manager can only create clients they own"
    ]


def test_dry_run_reports_what_would_be_created_and_writes_nothing(sessions, engine, people):
    text = (
        CLIENT_HEADER + "A,A Ltd.,enterprise,large,en,USD,0,mina@example.test\n"
        "B,B Ltd.,channel,small,ko,KRW,0,wei@example.test\n"
    )
    result = run_import(sessions, people["admin"], "clients", text, dry_run=True)
    assert str(result) == "dry run: would import 2 clients; nothing was written"
    assert count(engine, Client) == 0
    assert count(engine, AuditEntry) == 4


def test_unknown_or_misspelt_columns_are_refused_before_any_row(sessions, people):
    text = "name,legal_nmae,segment,size,language,currency\nA,A Ltd.,enterprise,large,en,USD\n"
    assert failures(sessions, people["admin"], "clients", text) == [
        "line 1: legal_nmae: unknown column",
        "line 1: legal_name: required column is missing",
    ]


def test_a_file_that_is_not_utf8_says_so(sessions, people):
    data = (CLIENT_HEADER + "Crème,Crème SA,enterprise,large,en,EUR,0,mina@example.test\n").encode("latin-1")
    with pytest.raises(ImportFailed) as caught, unit_of_work(sessions) as s:
        import_csv(s, s.get_one(User, people["admin"].id), "clients", data, tier_thresholds=TIERS, as_of=AS_OF)
    assert [str(p) for p in caught.value.problems] == ['line 2: (file): not UTF-8 text; save the sheet as "CSV UTF-8"']


# ---------------------------------------------------------------------------------------------
# Contacts


def test_contacts_attach_by_legal_name_or_id(sessions, session, engine, people):
    huanan = make_client(session, owner=people["mina"], legal_name="华南数据科技有限公司", currency="CNY")
    hanbit = make_client(session, owner=people["mina"], legal_name="주식회사 한빛클라우드", currency="KRW")
    session.commit()
    text = (
        "client_legal_name,client_id,name,email,phone,role,birthday,is_billing,is_signatory\n"
        "华南数据科技有限公司,,李娜,Li.Na@Huanan.example,+86 20 1234 5678,财务经理,1985-03-08,yes,no\n"
        f",{hanbit.id},김민준,minjun@hanbit.example,,대표이사,,FALSE,TRUE\n"
    )
    assert str(run_import(sessions, people["mina"], "contacts", text, bom=True)) == "imported 2 contacts"
    with sessions() as s:
        contacts = {c.name: c for c in s.scalars(select(Contact))}
    assert contacts["李娜"].client_id == huanan.id
    assert contacts["李娜"].email == "li.na@huanan.example"
    assert (contacts["李娜"].is_billing, contacts["李娜"].is_signatory) == (True, False)
    assert str(contacts["李娜"].birthday) == "1985-03-08"
    assert contacts["김민준"].client_id == hanbit.id
    assert (contacts["김민준"].is_billing, contacts["김민준"].is_signatory) == (False, True)


def test_contacts_of_another_managers_client_are_not_found_and_nothing_is_written(sessions, session, engine, people):
    make_client(session, owner=people["mina"], legal_name="Mine Ltd.")
    theirs = make_client(session, owner=people["wei"], legal_name="Theirs Ltd.")
    session.commit()
    text = (
        f"client_legal_name,client_id,name,birthday\nMine Ltd.,,Ann,1990-02-30\nTheirs Ltd.,,Bob,\n,{theirs.id},Cy,\n"
    )
    assert failures(sessions, people["mina"], "contacts", text) == [
        "line 2: birthday: expected a date like 2026-01-31",
        "line 3: client_legal_name: no client with this legal name",
        f"line 4: client_id: client {theirs.id} not found",
    ]
    assert count(engine, Contact) == 0


# ---------------------------------------------------------------------------------------------
# Contracts


def test_a_contract_with_three_line_rows_becomes_one_contract_with_lines_in_file_order(
    sessions, session, engine, people
):
    make_client(session, owner=people["mina"], legal_name="華南數據科技有限公司", currency="CNY")
    session.commit()
    text = (
        CONTRACT_HEADER + "華南數據科技有限公司,HN-2026-01,机柜租赁 2026,rental,2026-01-01,2026-12-31,monthly,6,"
        "yes,active,42U 机柜,4,8000.00\n"
        "華南數據科技有限公司,HN-2026-02,带宽,service,2026-02-01,2027-01-31,quarterly,6,no,draft,,,\n"
        ",HN-2026-01,,,,,,,,,电力 (kW),12.5,300\n"
        "華南數據科技有限公司,HN-2026-01,机柜租赁 2026,rental,2026-01-01,2026-12-31,monthly,6,yes,active,"
        "交叉连接,2,150.50\n"
    )
    result = run_import(sessions, people["mina"], "contracts", text, bom=True)
    assert str(result) == "imported 2 contracts with 3 lines"
    with sessions() as s:
        contract = s.scalars(select(Contract).where(Contract.number == "HN-2026-01")).one()
        lines = [(ln.description, ln.quantity, ln.monthly_unit_price_minor) for ln in contract.lines]
        assert (contract.title, contract.status, contract.auto_renew, contract.currency) == (
            "机柜租赁 2026",
            "active",
            True,
            "CNY",
        )
        assert contract.tax_rate == Decimal(6)
        draft = s.scalars(select(Contract).where(Contract.number == "HN-2026-02")).one()
        assert (draft.status, draft.billing_cycle, draft.lines) == ("draft", "quarterly", [])
        audited = s.scalars(select(AuditEntry.actor_id).where(AuditEntry.entity_type == "contract")).all()
    assert lines == [
        ("42U 机柜", Decimal(4), 800_000),
        ("电力 (kW)", Decimal("12.5"), 30_000),
        ("交叉连接", Decimal(2), 15_050),
    ]
    assert audited == [people["mina"].id, people["mina"].id]


def test_an_imported_contract_ending_within_the_horizon_is_on_its_owners_worklist_at_once(sessions, session, people):
    make_client(session, owner=people["mina"], legal_name="Acme Ltd.")
    session.commit()
    text = (
        CONTRACT_HEADER + "Acme Ltd.,AC-60,Racks,rental,2025-03-02,2026-03-01,monthly,0,no,active,Rack,1,100\n"
        "Acme Ltd.,AC-400,Racks,rental,2026-01-01,2027-02-04,monthly,0,no,active,Rack,1,100\n"
    )

    run_import(sessions, people["admin"], "contracts", text)

    with sessions() as s:
        worklist, total = list_renewals(s, s.get_one(User, people["mina"].id), as_of=AS_OF)
    assert total == 1
    assert [(r.contract_number, r.owner_id, r.status, r.days_left) for r in worklist] == [
        ("AC-60", people["mina"].id, "upcoming", 59)
    ]


def test_contract_problems_point_at_the_row_that_carries_them(sessions, session, engine, people):
    make_client(session, owner=people["mina"], legal_name="Acme Ltd.")
    old = make_client(session, owner=people["mina"], legal_name="Old Ltd.")
    make_contract(session, client=old, actor=people["mina"], number="OLD-1")
    session.commit()
    text = (
        CONTRACT_HEADER + "Acme Ltd.,AC-1,Racks,rental,2026-01-01,2026-12-31,monthly,0,no,active,Rack,1,100\n"
        ",AC-1,,,,,,,,,Power,lots,10\n"  # line 3: bad quantity cell
        ",AC-1,,,,,,,,,Cross-connect,1,-5\n"  # line 4: the service refuses a negative price
        "Acme Ltd.,AC-2,Bandwidth,cloud,2026-01-01,2025-12-31,weekly,0,no,draft,,,\n"  # line 5: two bad cells
        "Acme Ltd.,OLD-1,Taken,rental,2026-01-01,2026-12-31,monthly,0,no,draft,,,\n"  # line 6: number in use
        "Acme Ltd.,AC-3,Dates,rental,2026-06-01,2026-01-31,monthly,0,no,draft,,,\n"  # line 7: end before start
        "Acme Ltd.,AC-4,Empty,rental,2026-01-01,2026-12-31,monthly,0,no,active,,,\n"  # line 8: active, no lines
        "Acme Ltd.,AC-4,Other title,rental,2026-01-01,2026-12-31,monthly,0,no,active,,,\n"  # line 9: differs
    )
    assert failures(sessions, people["mina"], "contracts", text) == [
        "line 3: line_quantity: expected a number like 1234.50",
        "line 5: kind: must be one of: rental, service",
        "line 5: billing_cycle: must be one of: monthly, quarterly, semiannual, annual",
        "line 6: number: contract number OLD-1 is taken",
        "line 7: end_date: must be on or after start_date",
        "line 9: title: differs from line 8, where this contract starts",
    ]
    # With the quantity fixed, the service's objection to the negative price is placed on its row.
    text = text.replace("Power,lots,10", "Power,3,10")
    assert "line 4: line_monthly_unit_price: must not be negative" in failures(
        sessions, people["mina"], "contracts", text
    )
    assert count(engine, Contract) == 1


# ---------------------------------------------------------------------------------------------
# The command


@pytest.fixture
def renewals_cli(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """`renewals ...` in this process, against the test database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RENEWALS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RENEWALS_SECRET_KEY", settings.secret_key)
    settings_mod.get.cache_clear()

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    settings_mod.get.cache_clear()


def write_csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "book.csv"
    path.write_bytes(("\ufeff" + text).encode("utf-8"))  # as Excel's "CSV UTF-8" writes it
    return str(path)


def test_command_imports_a_file_and_prints_the_count(renewals_cli, tmp_path, engine, people):
    path = write_csv(
        tmp_path, CLIENT_HEADER + "华南数据,华南数据科技有限公司,enterprise,large,zh-Hans,CNY,0,mina@example.test\n"
    )
    code, out, err = renewals_cli("import", "clients", path, "--as", "admin@example.test", "--dry-run")
    assert (code, out.strip(), err) == (0, "dry run: would import 1 client; nothing was written", "")
    assert count(engine, Client) == 0
    code, out, err = renewals_cli("import", "clients", path, "--as", "admin@example.test")
    assert (code, out.strip(), err) == (0, "imported 1 client", "")
    with engine.connect() as conn:
        assert conn.scalar(select(Client.name)) == "华南数据"


def test_command_lists_every_problem_and_exits_1(renewals_cli, tmp_path, engine, people):
    path = write_csv(
        tmp_path,
        CLIENT_HEADER + "A,A Ltd.,enterprise,large,fr,USD,0,mina@example.test\n"
        "B,B Ltd.,enterprise,large,en,USD,0,mina@example.test\n"
        "C,a  ltd.,enterprise,large,en,USD,0,mina@example.test\n",
    )
    code, out, err = renewals_cli("import", "clients", path, "--as", "admin@example.test")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "line 2: language: must be one of: en, zh-Hans, zh-Hant, ko",
        "line 4: legal_name: the same legal name as line 2",
        f"renewals: {path}: 2 problems found; nothing was imported",
    ]
    assert count(engine, Client) == 0


@pytest.mark.parametrize("email", ["nobody@example.test", "retired@example.test"])
def test_command_refuses_an_unknown_or_disabled_acting_user(renewals_cli, tmp_path, session, engine, people, email):
    make_user(session, role="admin", email="retired@example.test", active=False)
    session.commit()
    path = write_csv(tmp_path, CLIENT_HEADER + "A,A Ltd.,enterprise,large,en,USD,0,mina@example.test\n")
    code, _, err = renewals_cli("import", "clients", path, "--as", email)
    assert code == 2
    assert err.strip() == (f"renewals: no active user with e-mail {email} (--as names the user the import runs as)")
    assert count(engine, Client) == 0


def test_command_refuses_a_role_that_may_not_write_clients(renewals_cli, tmp_path, engine, people):
    path = write_csv(tmp_path, CLIENT_HEADER + "A,A Ltd.,enterprise,large,en,USD,0,mina@example.test\n")
    code, _, err = renewals_cli("import", "clients", path, "--as", "finance@example.test")
    assert code == 2
    assert "importing clients needs one of the roles" in err
    assert count(engine, Client) == 0
