"""Notices as a product: requested over the API, rendered for real (WeasyPrint, system fonts) by
the worker's code, stored by sha256, downloaded, batched into a zip, shared by signed links and
e-mailed to a real SMTP server on loopback. PDFs are read back with pypdf."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dramatiq
import pytest
from litestar.testing import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from renewals import clock
from renewals.api.app import create_app
from renewals.db.models import Client, Contract, Invoice, User
from renewals.db.models.notices import Notice, NoticeDelivery, NoticeLink
from renewals.db.uow import unit_of_work
from renewals.domain import money
from renewals.domain.clients.schemas import ContactIn
from renewals.domain.clients.service import add_contact
from renewals.domain.daily import scan as scan_module
from renewals.domain.notices.i18n import Formatter
from renewals.domain.notices.render import Renderer
from renewals.domain.notices.samples import SAMPLE_LOGO
from renewals.domain.receivables.payments import record_payment
from renewals.domain.receivables.schemas import AllocationIn, PaymentIn
from renewals.jobs import notices as notice_jobs
from renewals.jobs import runtime
from renewals.settings import Settings
from tests.factories import make_client, make_contract, make_user
from tests.integration.alerts_arrange import hold
from tests.integration.conftest import Api
from tests.integration.jobs_support import wait_until
from tests.integration.notices_support import render_queued, request
from tests.integration.receivables_arrange import invoice_due, pay
from tests.integration.test_jobs_deliveries import Mailbox, mailbox  # noqa: F401

AS_OF = date(2026, 3, 16)


@pytest.fixture
def api_with(api: Api, engine: Engine) -> Iterator[Callable[[Settings], Api]]:
    """The same database behind an app with other settings (SMTP configured), signed in alike."""
    clients: list[TestClient[Any]] = []

    def make(settings: Settings) -> Api:
        client = TestClient(create_app(settings, engine), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        other = Api(client)
        other.tokens = api.tokens
        return other

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@dataclass
class Book:
    manager: User
    am: User
    other_am: User
    finance: User
    client: Client
    contract: Contract


def arrange(
    session: Session,
    *,
    language: str = "ko",
    currency: str = "KRW",
    name: str = "주식회사 한빛클라우드",
    contacts: bool = True,
) -> Book:
    """A client in `language` with a billing contact and a signatory, and an auto-renewing
    contract ending 45 days after AS_OF with a 3.5 % uplift (starting after every invoice the
    tests issue, so the billing runs they make never bill it)."""
    manager = make_user(session, role="manager")
    am = make_user(session, role="account_manager", name="박서연")
    other_am = make_user(session, role="account_manager")
    finance = make_user(session, role="finance")
    client = make_client(session, owner=am, legal_name=name, name=name, language=language, currency=currency)
    if contacts:
        add_contact(
            session, am, client.id, ContactIn(name="김민준", email="minjun.kim@hanbit.example", is_signatory=True)
        )
        add_contact(session, am, client.id, ContactIn(name="이지은", email="billing@hanbit.example", is_billing=True))
    contract = make_contract(
        session,
        client=client,
        actor=am,
        number="CT-2023-0733",
        start_date=date(2026, 3, 1),
        end_date=AS_OF + timedelta(days=45),
        auto_renew=True,
        notice_period_days=30,
        renewal_uplift_pct=Decimal("3.5"),
        lines=[("전용 서버 (2소켓, 512GB 메모리)", "8", "1850000")],
    )
    session.commit()
    return Book(manager, am, other_am, finance, client, contract)


def pay_invoice(session: Session, invoice: Invoice, actor: User, *, on: date) -> None:
    """Pay one invoice in full, allocated to it by name."""
    amount = str(money.from_minor(invoice.total_minor, invoice.currency))
    record_payment(
        session,
        actor,
        PaymentIn(
            client_id=invoice.client_id,
            amount=amount,
            currency=invoice.currency,
            received_on=on,
            allocations=[AllocationIn(invoice_id=invoice.id, amount=amount)],
        ),
        None,
        on,
    )
    session.commit()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(data: bytes) -> str:
    return squash("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def embedded_font_names(data: bytes) -> list[str]:
    names = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                names.append(str(font["/BaseFont"]).split("+", 1)[-1])
    return names


def test_a_korean_renewal_notice_is_rendered_by_a_real_worker_and_reads_right(
    api: Api,
    session: Session,
    worker_thread: dramatiq.Worker,
    renderer: Renderer,
) -> None:
    book = arrange(session)

    accepted = request(api, book.am, kind="renewal_notice", contract_id=book.contract.id, as_of="2026-03-16")
    assert accepted["status"] == "queued"
    assert accepted["language"] == "ko"
    ready = wait_until(
        lambda: (
            (n := api.get(f"/api/v1/notices/{accepted['id']}", book.am).json())["status"] in {"ready", "failed"} and n
        ),
        60,
    )
    pdf = api.get(f"/api/v1/notices/{accepted['id']}/pdf", book.am)

    assert ready["status"] == "ready", ready["error"]
    assert pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == ready["sha256"]
    assert ready["size"] == len(pdf.content)
    assert ready["pages"] >= 1
    text = pdf_text(pdf.content)
    fmt = Formatter("ko")
    for expected in (
        "주식회사한빛클라우드",
        "CT-2023-0733",
        "김민준",
        "박서연",
        "₩1,850,000",
        "₩1,914,750",
        fmt.date(book.contract.end_date),
        fmt.date(AS_OF + timedelta(days=14)),
    ):
        assert squash(expected) in text, expected
    assert any("CJK" in name or "Nanum" in name or "Core-KR" in name for name in embedded_font_names(pdf.content))


def test_the_same_request_twice_gives_the_same_pdf(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
) -> None:
    book = arrange(session)
    body = {"kind": "renewal_notice", "contract_id": book.contract.id, "as_of": "2026-03-16", "language": "en"}

    first, second = request(api, book.am, **body), request(api, book.am, **body)
    render_queued(rt, sessions)

    one = api.get(f"/api/v1/notices/{first['id']}", book.am).json()
    two = api.get(f"/api/v1/notices/{second['id']}", book.am).json()
    assert one["status"] == two["status"] == "ready"
    assert one["id"] != two["id"]
    assert one["sha256"] == two["sha256"]
    stored = rt.settings.data_dir / "notices" / one["sha256"][:2] / f"{one['sha256']}.pdf"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == one["sha256"]


def test_a_payment_reminder_lists_every_open_overdue_invoice_but_never_a_paid_or_held_one(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
) -> None:
    book = arrange(session, language="zh-Hans", currency="CNY", name="上海云启科技有限公司")
    late = invoice_due(session, client=book.client, actor=book.am, due=date(2026, 1, 10), monthly="6800.00")
    later = invoice_due(session, client=book.client, actor=book.am, due=date(2026, 2, 20), monthly="950.00")
    disputed = invoice_due(session, client=book.client, actor=book.am, due=date(2026, 2, 1), monthly="120.00")
    paid = invoice_due(session, client=book.client, actor=book.am, due=date(2026, 2, 5), monthly="77.00")
    hold(session, disputed, "dispute", on=date(2026, 2, 10))
    session.commit()
    pay_invoice(session, paid, book.finance, on=date(2026, 2, 6))
    numbers = {i.id: i.number for i in (late, later, disputed, paid)}

    notice = request(api, book.finance, kind="payment_reminder", client_id=book.client.id, as_of="2026-03-16")
    render_queued(rt, sessions)
    text = pdf_text(api.get(f"/api/v1/notices/{notice['id']}/pdf", book.finance).content)

    assert notice["language"] == "zh-Hans"
    assert numbers[late.id] in text
    assert numbers[later.id] in text
    assert numbers[disputed.id] not in text
    assert numbers[paid.id] not in text
    assert "¥81,600.00" in text  # 12 × 6,800.00 still due
    assert "上海云启科技有限公司" in text
    assert "65" in text


def test_a_client_with_nothing_overdue_gets_409_and_no_notice(api: Api, session: Session) -> None:
    book = arrange(session)

    refused = api.post(
        "/api/v1/notices",
        book.finance,
        json={"kind": "payment_reminder", "client_id": book.client.id, "as_of": "2026-03-16"},
    )

    assert refused.status_code == 409
    assert "nothing to remind" in refused.json()["detail"]
    assert session.scalar(select(Notice.id)) is None


def test_bad_requests_name_the_field(api: Api, session: Session) -> None:
    book = arrange(session)

    no_contract = api.post("/api/v1/notices", book.am, json={"kind": "renewal_notice", "client_id": book.client.id})
    wrong_contract = api.post(
        "/api/v1/notices",
        book.am,
        json={"kind": "payment_reminder", "client_id": book.client.id, "contract_id": book.contract.id},
    )
    backwards = api.post(
        "/api/v1/notices",
        book.am,
        json={"kind": "statement", "client_id": book.client.id, "from": "2026-03-01", "to": "2026-02-01"},
    )

    assert no_contract.status_code == 422
    assert no_contract.json()["extra"][0]["key"] == "contract_id"
    assert wrong_contract.status_code == 422
    assert wrong_contract.json()["extra"][0]["key"] == "contract_id"
    assert backwards.status_code == 422
    assert backwards.json()["extra"][0]["key"] == "to"


def test_a_statement_in_traditional_chinese_shows_the_period_and_the_aging(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
) -> None:
    book = arrange(session, language="zh-Hant", currency="TWD", name="台灣數據服務股份有限公司")
    first = invoice_due(session, client=book.client, actor=book.am, due=date(2026, 1, 31), monthly="38000")
    pay(session, client=book.client, actor=book.finance, amount="100000", on=date(2026, 2, 10), currency="TWD")
    session.commit()

    notice = request(
        api,
        book.finance,
        kind="statement",
        client_id=book.client.id,
        **{"from": "2026-01-01"},
        to="2026-03-31",
        as_of="2026-03-31",
    )
    render_queued(rt, sessions)
    shown = api.get(f"/api/v1/notices/{notice['id']}", book.finance).json()
    text = pdf_text(api.get(f"/api/v1/notices/{notice['id']}/pdf", book.finance).content)

    assert shown["status"] == "ready", shown["error"]
    assert shown["params"] == {"as_of": "2026-03-31", "from": "2026-01-01", "to": "2026-03-31"}
    assert "台灣數據服務股份有限公司" in text
    assert str(first.number) in text
    assert "$456,000.00" in text  # the invoice: 12 × 38,000, in zh-Hant's own dollars
    assert "$356,000.00" in text  # closing balance after the payment


def test_a_missing_font_fails_the_notice_with_the_reason(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
    warm_renderer: Renderer,
) -> None:
    book = arrange(session)
    without_hangul = Renderer(allowed_files=[SAMPLE_LOGO], core_fonts=False, warm=False)
    without_hangul.font_coverage = {**without_hangul.font_coverage, "ko": []}
    notice_jobs.use_renderer(without_hangul)

    notice = request(api, book.am, kind="renewal_notice", contract_id=book.contract.id, as_of="2026-03-16")
    render_queued(rt, sessions)
    shown = api.get(f"/api/v1/notices/{notice['id']}", book.am).json()
    pdf = api.get(f"/api/v1/notices/{notice['id']}/pdf", book.am)

    assert shown["status"] == "failed"
    assert shown["sha256"] is None
    assert "no installed font covers the ko text" in shown["error"]
    assert "fonts-nanum" in shown["error"]
    assert pdf.status_code == 409


def test_a_reminder_whose_invoices_were_paid_before_rendering_fails_with_the_reason(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
) -> None:
    book = arrange(session, language="en", currency="USD", name="Northwind Hosting Ltd.")
    late = invoice_due(session, client=book.client, actor=book.am, due=date(2026, 2, 1))
    session.commit()
    notice = request(api, book.finance, kind="payment_reminder", client_id=book.client.id, as_of="2026-03-16")
    pay_invoice(session, late, book.finance, on=date(2026, 3, 16))

    render_queued(rt, sessions)

    shown = api.get(f"/api/v1/notices/{notice['id']}", book.finance).json()
    assert shown["status"] == "failed"
    assert "nothing to remind" in shown["error"]


def test_a_batch_zips_one_renewal_notice_per_contract_ending_in_the_window(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
) -> None:
    book = arrange(session, language="en", currency="USD", name="Northwind Hosting Ltd.")
    soon = make_contract(
        session,
        client=book.client,
        actor=book.am,
        number="CT-SOON",
        start_date=date(2025, 4, 1),
        end_date=AS_OF + timedelta(days=20),
    )
    make_contract(
        session,
        client=book.client,
        actor=book.am,
        number="CT-LATER",
        start_date=date(2025, 10, 1),
        end_date=AS_OF + timedelta(days=200),
    )
    theirs = make_client(session, owner=book.other_am)
    make_contract(
        session,
        client=theirs,
        actor=book.other_am,
        number="CT-THEIRS",
        start_date=date(2025, 4, 1),
        end_date=AS_OF + timedelta(days=10),
    )
    session.commit()

    accepted = api.post("/api/v1/notices/batch", book.am, json={"within_days": 60, "as_of": "2026-03-16"})
    assert accepted.status_code == 202, accepted.text
    batch = accepted.json()
    early = api.get(f"/api/v1/notices/batch/{batch['id']}/zip", book.am)
    notice_jobs.notices_batch(batch_id=batch["id"])
    done = api.get(f"/api/v1/notices/batch/{batch['id']}", book.am).json()
    archive = zipfile.ZipFile(io.BytesIO(api.get(f"/api/v1/notices/batch/{batch['id']}/zip", book.am).content))

    assert early.status_code == 409
    assert done["status"] == "ready"
    assert done["ready"] == 2
    assert done["failed"] == 0
    names = sorted(archive.namelist())
    assert [n.split("-en-")[0] for n in names] == ["CT-2023-0733", "CT-SOON"]
    with sessions() as s:
        shas = {n.contract_id: n.sha256 for n in s.scalars(select(Notice).where(Notice.batch_id == batch["id"]))}
    assert set(shas) == {book.contract.id, soon.id}
    assert {hashlib.sha256(archive.read(n)).hexdigest() for n in names} == set(shas.values())
    assert "CT-SOON" in pdf_text(archive.read(next(n for n in names if n.startswith("CT-SOON"))))


def test_a_batch_with_no_contract_in_the_window_is_refused(api: Api, session: Session) -> None:
    book = arrange(session)

    refused = api.post("/api/v1/notices/batch", book.am, json={"within_days": 7, "as_of": "2026-03-16"})

    assert refused.status_code == 409
    assert "no active contract" in refused.json()["detail"]


def ready_notice(
    api: Api, book: Book, rt: runtime.Runtime, sessions: sessionmaker[Session], **body: Any
) -> dict[str, Any]:
    notice = request(
        api, book.am, **{"kind": "renewal_notice", "contract_id": book.contract.id, "as_of": "2026-03-16", **body}
    )
    render_queued(rt, sessions)
    shown: dict[str, Any] = api.get(f"/api/v1/notices/{notice['id']}", book.am).json()
    assert shown["status"] == "ready", shown["error"]
    return shown


def test_a_shared_link_serves_the_pdf_without_an_account_until_revoked(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
) -> None:
    book = arrange(session)
    notice = ready_notice(api, book, rt, sessions)

    link = api.post(f"/api/v1/notices/{notice['id']}/link", book.am, json={}).json()
    shared = api.get(link["url"])
    token = link["url"].removeprefix("/n/")
    tampered = api.get("/n/" + token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    other_id = api.get("/n/" + ("x" if token[0] != "x" else "y") + token[1:])
    gone = api.client.delete(
        f"/api/v1/notices/{notice['id']}/link/{link['id']}", headers={"Authorization": f"Bearer {api.token(book.am)}"}
    )
    after = api.get(link["url"])

    assert link["url"].startswith("/n/")
    created = datetime.fromisoformat(link["expires_at"]) - timedelta(days=30)
    assert abs(created - clock.now()) < timedelta(minutes=5)  # 30 days from now by default
    assert shared.status_code == 200
    assert shared.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(shared.content).hexdigest() == notice["sha256"]
    assert tampered.status_code == 404
    assert other_id.status_code == 404
    assert gone.status_code == 200
    assert gone.json()["revoked_at"] is not None
    assert after.status_code == 404


def test_an_expired_link_answers_404(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
    engine: Engine,
) -> None:
    book = arrange(session)
    notice = ready_notice(api, book, rt, sessions)
    link = api.post(f"/api/v1/notices/{notice['id']}/link", book.am, json={"expires_in_days": 1}).json()
    assert api.get(link["url"]).status_code == 200

    with engine.begin() as conn:  # as if its day had passed
        conn.execute(update(NoticeLink).values(expires_at=clock.now() - timedelta(seconds=1)))

    assert api.get(link["url"]).status_code == 404


def test_sending_mails_the_pdf_to_the_billing_contacts_and_records_the_delivery(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
    engine: Engine,
    settings: Settings,
    mailbox: tuple[Mailbox, str],  # noqa: F811
    api_with: Callable[[Settings], Api],
) -> None:
    box, smtp_url = mailbox
    book = arrange(session, language="en", currency="USD", name="Northwind Hosting Ltd.")
    invoice_due(session, client=book.client, actor=book.am, due=date(2026, 2, 1))
    session.commit()
    notice = request(api, book.finance, kind="payment_reminder", client_id=book.client.id, as_of="2026-03-16")
    render_queued(rt, sessions)
    shown = api.get(f"/api/v1/notices/{notice['id']}", book.finance).json()
    mailing = api_with(replace(settings, smtp_url=smtp_url))

    sent = mailing.post(f"/api/v1/notices/{notice['id']}/send", book.finance)

    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    assert sent.json()["to"] == ["billing@hanbit.example"]
    wait_until(lambda: box.messages, 10)
    recipients, message = box.messages[0]
    assert recipients == ["billing@hanbit.example"]
    assert message["Subject"].startswith("Payment reminder")
    body = (
        next(part for part in message.walk() if part.get_content_type() == "text/plain")
        .get_payload(decode=True)
        .decode()
    )
    reply_link = re.search(r"(http://\S+/n/(\S+))/reply", body)
    assert reply_link is not None, body  # the client answers through the letter's link
    assert reply_link.group(1).startswith(settings.public_url)
    assert api.get(f"/n/{reply_link.group(2)}/reply").status_code == 200
    attachment = next(part for part in message.walk() if part.get_content_type() == "application/pdf")
    assert hashlib.sha256(attachment.get_payload(decode=True)).hexdigest() == shown["sha256"]
    with sessions() as s:
        assert [d.status for d in s.scalars(select(NoticeDelivery))] == ["sent"]


def test_sending_to_a_client_without_a_signatory_contact_is_a_clear_409(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
    settings: Settings,
    api_with: Callable[[Settings], Api],
) -> None:
    book = arrange(session, contacts=False)
    notice = ready_notice(api, book, rt, sessions)
    mailing = api_with(replace(settings, smtp_url="smtp://127.0.0.1:9"))

    refused = mailing.post(f"/api/v1/notices/{notice['id']}/send", book.am)
    unconfigured = api.post(f"/api/v1/notices/{notice['id']}/send", book.am)

    assert refused.status_code == 409
    assert "no signatory contact with an e-mail" in refused.json()["detail"]
    assert unconfigured.status_code == 503
    assert "RENEWALS_SMTP_URL" in unconfigured.json()["detail"]
    with sessions() as s:
        assert s.scalar(select(NoticeDelivery.id)) is None


def test_an_account_manager_gets_404_for_another_managers_notices(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
) -> None:
    book = arrange(session)
    notice = ready_notice(api, book, rt, sessions)
    path = f"/api/v1/notices/{notice['id']}"

    answers = [
        api.get(path, book.other_am),
        api.get(f"{path}/pdf", book.other_am),
        api.post(f"{path}/link", book.other_am, json={}),
        api.post(f"{path}/send", book.other_am),
    ]
    listed = api.get("/api/v1/notices", book.other_am).json()
    asked = api.post("/api/v1/notices", book.other_am, json={"kind": "renewal_notice", "contract_id": book.contract.id})
    own = api.get("/api/v1/notices", book.am, params={"kind": "renewal_notice"}).json()

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert listed["items"] == []
    assert listed["total"] == 0
    assert asked.status_code == 404
    assert [n["id"] for n in own["items"]] == [notice["id"]]


def test_the_pdf_is_409_while_the_notice_is_queued(api: Api, session: Session) -> None:
    book = arrange(session)
    notice = request(api, book.am, kind="renewal_notice", contract_id=book.contract.id, as_of="2026-03-16")

    early = api.get(f"/api/v1/notices/{notice['id']}/pdf", book.am)
    link = api.post(f"/api/v1/notices/{notice['id']}/link", book.am, json={})

    assert early.status_code == 409
    assert "queued" in early.json()["detail"]
    assert link.status_code == 409


def scan(sessions: sessionmaker[Session], *, auto_reminders: bool) -> dict[str, int]:
    with unit_of_work(sessions) as session:
        return scan_module.run_day(session, AS_OF, auto_reminders=auto_reminders)


def test_the_daily_scan_requests_one_reminder_per_client_with_new_overdue_alerts_when_asked(
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
    api: Api,
) -> None:
    book = arrange(session, language="en", currency="USD", name="Northwind Hosting Ltd.")
    first = invoice_due(session, client=book.client, actor=book.am, due=date(2026, 2, 1))
    second = invoice_due(session, client=book.client, actor=book.am, due=date(2026, 3, 1))
    disputing = make_client(session, owner=book.am, name="Disputing Ltd.")
    disputed = invoice_due(session, client=disputing, actor=book.am, due=date(2026, 2, 1))
    hold(session, disputed, "dispute", on=date(2026, 2, 20))
    paying = make_client(session, owner=book.am, name="Paying Ltd.")
    paid = invoice_due(session, client=paying, actor=book.am, due=date(2026, 2, 1))
    session.commit()
    pay_invoice(session, paid, book.finance, on=date(2026, 2, 10))

    counts = scan(sessions, auto_reminders=True)
    again = scan(sessions, auto_reminders=True)
    render_queued(rt, sessions)

    with sessions() as s:
        notices = list(s.scalars(select(Notice)))
    assert counts["reminders_requested"] == 1
    assert again["reminders_requested"] == 0
    assert [(n.kind, n.client_id, n.status) for n in notices] == [("payment_reminder", book.client.id, "ready")]
    text = pdf_text(api.get(f"/api/v1/notices/{notices[0].id}/pdf", book.finance).content)
    assert str(first.number) in text
    assert str(second.number) in text
    assert str(disputed.number) not in text
    assert str(paid.number) not in text


def test_the_daily_scan_requests_no_reminder_by_default(session: Session, sessions: sessionmaker[Session]) -> None:
    book = arrange(session, language="en", currency="USD", name="Northwind Hosting Ltd.")
    invoice_due(session, client=book.client, actor=book.am, due=date(2026, 2, 1))
    session.commit()

    counts = scan(sessions, auto_reminders=False)

    assert "reminders_requested" not in counts
    assert counts["raised"] >= 1
    assert session.scalar(select(Notice.id)) is None


def test_a_batch_zip_loses_the_notices_of_a_client_reassigned_since(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    rt: runtime.Runtime,
) -> None:
    book = arrange(session, language="en", currency="USD", name="Northwind Hosting Ltd.")
    moving = make_client(session, owner=book.am, name="Harbour Analytics", legal_name="Harbour Analytics Ltd.")
    make_contract(
        session,
        client=moving,
        actor=book.am,
        number="CT-MOVING",
        start_date=date(2025, 4, 1),
        end_date=AS_OF + timedelta(days=20),
    )
    session.commit()
    batch = api.post("/api/v1/notices/batch", book.am, json={"within_days": 60, "as_of": "2026-03-16"}).json()
    notice_jobs.notices_batch(batch_id=batch["id"])
    before = zipfile.ZipFile(io.BytesIO(api.get(f"/api/v1/notices/batch/{batch['id']}/zip", book.am).content))
    version = api.get(f"/api/v1/clients/{moving.id}", book.manager).json()["version"]

    moved = api.patch(
        f"/api/v1/clients/{moving.id}", book.manager, json={"owner_id": book.other_am.id, "version": version}
    )
    after = zipfile.ZipFile(io.BytesIO(api.get(f"/api/v1/notices/batch/{batch['id']}/zip", book.am).content))
    whole = zipfile.ZipFile(io.BytesIO(api.get(f"/api/v1/notices/batch/{batch['id']}/zip", book.manager).content))

    assert moved.status_code == 200, moved.text
    assert sorted(n.split("-en-")[0] for n in before.namelist()) == ["CT-2023-0733", "CT-MOVING"]
    assert [n.split("-en-")[0] for n in after.namelist()] == ["CT-2023-0733"]
    assert len(whole.namelist()) == 2
    assert api.get(f"/api/v1/notices/batch/{batch['id']}/zip", book.other_am).status_code == 404
