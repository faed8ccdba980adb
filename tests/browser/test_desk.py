"""The people's work in the browser: an account manager's renewal and notice, finance's payment
and hold, a manager's write-off and pipeline chart, and the access rules and CSRF refusals."""

from __future__ import annotations

import re
import urllib.request
from datetime import timedelta
from decimal import Decimal
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from renewals import clock
from renewals.db.models import Client, Invoice, Payment, Renewal, User
from renewals.domain.money import to_minor
from tests.browser.conftest import Site

MINA = "mina@demo.renewals"
WEI = "wei@demo.renewals"
FINANCE = "finance@demo.renewals"
MANAGER = "manager@demo.renewals"


def amount(text: str) -> Decimal:
    """`$5,242.00` / `€1.234,50`-free English figures → Decimal."""
    return Decimal(re.sub(r"[^\d.\-]", "", text))


def scalar(site: Site, stmt: Any) -> Any:
    with site.sessions() as session:
        return session.scalar(stmt)


def first_bucket_link(page: Any, *, skip_current: bool = True) -> Any:
    """The first aging cell with money in it (past due unless told otherwise)."""
    for link in page.locator("a[href*='bucket=']").all():
        href = link.get_attribute("href") or ""
        if skip_current and "bucket=current" in href:
            continue
        if amount(link.inner_text()) > 0:
            return link
    raise AssertionError("no aging bucket holds any money")


def test_account_manager_moves_a_renewal_to_contacted_and_downloads_a_renewal_notice(browse, site):
    page = browse(MINA)
    expect(page.locator("h1")).to_contain_text("Today")
    page.goto(f"{site.base}/renewals?status=upcoming")
    # The latest-ending upcoming renewal: its opt-out deadline is still ahead, so a notice can ask.
    href = page.locator("main table tbody tr td:nth-child(2) a").last.get_attribute("href")
    renewal_id = int(href.rsplit("/", 1)[1])
    page.goto(site.base + href)
    follow_up = clock.today("UTC") + timedelta(days=7)

    page.select_option("#t-kind", "call")
    page.fill("#t-note", "Called the IT director; wants a quote for two more racks")
    page.fill("#t-follow", follow_up.isoformat())
    page.click("button[name=to][value=contacted]")

    expect(page.locator(".flash-ok")).to_contain_text("Renewal moved.")
    expect(page.locator("h1 .badge")).to_have_text("Contacted")
    expect(page.locator("main table")).to_contain_text("wants a quote for two more racks")
    with site.sessions() as session:
        renewal = session.get_one(Renewal, renewal_id)
        assert (renewal.status, renewal.next_action_date) == ("contacted", follow_up)

    contract_number = page.locator("dl.facts a[href^='/contracts/']").inner_text()
    page.click("dl.facts a[href^='/clients/']")
    page.select_option("#n-kind", "renewal_notice")
    page.select_option("#n-contract", label=contract_number)
    page.evaluate("window.stillTheSamePage = true")
    page.click("#notices form[action='/notices'] button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("Notice requested")

    page.evaluate("window.stillTheSamePage = true")
    row = page.locator("#notices tr[data-notice-id]").first
    expect(row).to_have_attribute("data-notice-status", "ready", timeout=90_000)
    assert page.evaluate("window.stillTheSamePage === true"), "the status should update without a reload"
    with page.expect_download() as download:
        row.get_by_role("link", name="Download").click()
    with open(download.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"

    # A share link opens the PDF with no account.
    page.locator("#notices tr[data-notice-id]").first.get_by_role("button", name="Share link").click()
    link = page.locator(".flash-ok a").get_attribute("href")
    assert "/n/" in link
    with urllib.request.urlopen(link, timeout=30) as shared:  # noqa: S310 — a loopback URL, no cookies
        assert shared.status == 200
        assert shared.read(5) == b"%PDF-"

    # This site has no mail server: sending is refused with the reason, on the same page.
    page.locator("#notices tr[data-notice-id]").first.get_by_role("button", name="Send by e-mail").click()
    expect(page.locator(".flash-error")).to_contain_text("Not done:")


def test_finance_drills_into_a_bucket_records_a_partial_payment_and_puts_an_invoice_on_hold(browse, site):
    page = browse(FINANCE)
    page.goto(f"{site.base}/receivables")
    link = first_bucket_link(page)
    bucket_href = link.get_attribute("href").split("#")[0]
    before = amount(link.inner_text())
    link.click()

    row = page.locator("#drill tbody tr").first
    invoice_id = int(row.get_attribute("id").split("-")[1])
    balance = amount(row.locator("[data-balance]").inner_text())
    part = (balance / 2).quantize(Decimal("1"))
    payments_before = scalar(site, select(func.count()).select_from(Payment))
    row.locator("summary", has_text="Record payment").click()
    form = row.locator("form[action$='/pay']")
    form.locator("input[name=amount]").fill(str(part))
    form_fields = {
        name: form.locator(f"input[name={name}]").input_value() for name in ("csrf_token", "idempotency_key", "amount")
    }
    form.locator("button[type=submit]").click()

    expect(page.locator(".flash-ok")).to_contain_text("Payment recorded.")
    after = amount(page.locator(f"a[href^='{bucket_href}']").first.inner_text())
    assert before - after == part
    with site.sessions() as session:
        invoice = session.get_one(Invoice, invoice_id)
        assert invoice.balance_minor == to_minor(balance - part, invoice.currency)
    assert scalar(site, select(func.count()).select_from(Payment)) == payments_before + 1

    # The same form posted again (a double click, a resubmit) records nothing new.
    again = page.request.post(f"{site.base}/invoices/{invoice_id}/pay", form=form_fields, max_redirects=0)
    assert again.status == 303
    assert scalar(site, select(func.count()).select_from(Payment)) == payments_before + 1

    held = page.locator(f"#invoice-{invoice_id}")
    held.locator("summary", has_text="Put on hold").click()
    hold_form = held.locator("form[action$='/hold']")
    hold_form.locator("select[name=kind]").select_option("dispute")
    hold_form.locator("input[name=reason]").fill("Client disputes the rack count")
    hold_form.locator("button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text("Invoice put on hold.")
    expect(page.locator(f"#invoice-{invoice_id}")).to_contain_text("Dispute")
    assert scalar(site, select(Invoice.hold_kind).where(Invoice.id == invoice_id)) == "dispute"


def test_manager_approves_a_write_off_and_reads_the_pipeline_chart(browse, site):
    page = browse(MANAGER)
    page.goto(f"{site.base}/receivables")
    first_bucket_link(page).click()
    row = page.locator("#drill tbody tr").first
    invoice_id = int(row.get_attribute("id").split("-")[1])
    row.locator("summary", has_text="Write off").click()
    row.locator("form[action$='/write-off'] input[name=reason]").fill("Client in liquidation")
    row.locator("form[action$='/write-off'] button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text("Invoice written off.")
    assert scalar(site, select(Invoice.status).where(Invoice.id == invoice_id)) == "written_off"

    page.goto(f"{site.base}/reports")
    chart = page.locator("svg.chart[aria-labelledby='chart-pipeline']")
    expect(chart).to_have_count(1)
    assert chart.locator("rect").count() > 0
    months = page.locator("#h-pipeline ~ .table-wrap tbody tr")
    totals = [int(t) for t in chart.locator("text.value").all_text_contents()]
    table_totals = [int(t) for t in months.locator("td.total").all_inner_texts()]
    assert totals == table_totals
    assert sum(totals) > 0
    forecast = page.locator("#h-forecast ~ svg.chart")
    assert forecast.count() >= 3  # one chart per currency the book bills in
    assert forecast.first.locator("rect").count() > 0
    weeks = page.locator("#h-forecast ~ .table-wrap").first.locator("tbody tr")
    expect(weeks).to_have_count(13)


def test_every_control_is_reached_by_keyboard_with_a_visible_focus(browse, site):
    page = browse(MINA)
    page.goto(f"{site.base}/today")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    seen = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement, s = getComputedStyle(e);"
            " return [e.tagName, e.getAttribute('href') || e.name || '', s.outlineStyle, s.outlineWidth]; })()"
        )
        assert focused[2] != "none", f"{focused[:2]} has no visible focus"
        seen.add(focused[1])
    assert {"/today", "/renewals", "/receivables", "language"} <= seen


def test_account_manager_gets_404_for_another_managers_client_everywhere(browse, site):
    with site.sessions() as session:
        wei = session.scalars(select(User).where(User.email == WEI)).one()
        foreign = session.scalars(select(Client).where(Client.owner_id == wei.id).order_by(Client.id)).first()
        foreign_renewal = session.scalar(
            select(Renewal.id).where(Renewal.owner_id == wei.id).order_by(Renewal.id).limit(1)
        )
    page = browse(MINA)
    response = page.goto(f"{site.base}/clients/{foreign.id}")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    assert foreign.name not in page.content()
    assert page.goto(f"{site.base}/renewals/{foreign_renewal}").status == 404
    page.goto(f"{site.base}/clients?q={foreign.name}")
    expect(page.locator(f"a[href='/clients/{foreign.id}']")).to_have_count(0)
    page.goto(f"{site.base}/today")
    expect(page.locator(f"a[href^='/clients/{foreign.id}']")).to_have_count(0)


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(browse, site):
    page = browse(MINA)
    page.goto(f"{site.base}/renewals?status=upcoming")
    href = page.locator("main table tbody tr td:nth-child(2) a").first.get_attribute("href")
    renewal_id = int(href.rsplit("/", 1)[1])
    version = scalar(site, select(Renewal.version).where(Renewal.id == renewal_id))

    missing = page.request.post(f"{site.base}{href}/transition", form={"to": "contacted"}, max_redirects=0)
    forged = page.request.post(
        f"{site.base}{href}/transition", form={"to": "contacted", "csrf_token": "0" * 64}, max_redirects=0
    )
    assert (missing.status, forged.status) == (403, 403)
    assert "Refused" in missing.text()
    with site.sessions() as session:
        renewal = session.get_one(Renewal, renewal_id)
        assert (renewal.status, renewal.version) == ("upcoming", version)
    # Signing out without the token is refused too: the session stays.
    assert page.request.post(f"{site.base}/logout", form={}, max_redirects=0).status == 403
    assert page.goto(f"{site.base}/today").url.endswith("/today")


def test_a_manager_dry_runs_an_import_and_reads_the_problems_row_by_row(browse, site):
    good = (
        "name,legal_name,segment,size,language,currency,credit_limit,owner_email\n"
        "Harbour Freight,Harbour Freight Ltd.,enterprise,medium,en,USD,50000,mina@demo.renewals\n"
    )
    bad = good + "Bad Row,Bad Row Ltd.,enterprise,medium,fr,USD,-5,nobody@example.test\n"
    page = browse(MANAGER)
    page.goto(f"{site.base}/import")
    page.select_option("#i-kind", "clients")
    page.set_input_files("#i-file", files=[{"name": "c.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    page.click("form[action='/import'] button[type=submit]")
    problems = page.locator("#h-problems ~ .table-wrap tbody tr")
    expect(problems.first).to_contain_text("3")
    assert {row.locator("td").nth(0).inner_text() for row in problems.all()} == {"3"}
    assert "owner_email" in " ".join(problems.all_inner_texts())

    page.set_input_files("#i-file", files=[{"name": "c.csv", "mimeType": "text/csv", "buffer": good.encode()}])
    page.click("form[action='/import'] button[type=submit]")
    expect(page.locator("#h-result")).to_have_text("Dry run passed")
    assert scalar(site, select(func.count()).select_from(Client).where(Client.name == "Harbour Freight")) == 0


def test_account_manager_requests_a_batch_and_downloads_its_zip_when_built(browse, site):
    page = browse(MINA)
    page.goto(f"{site.base}/notices")
    page.fill("#b-days", "30")
    page.click("form[action='/notices/batch'] button[type=submit]")
    expect(page.locator("#h-batch")).to_be_visible()
    link = page.get_by_role("link", name="Download all as a zip")
    expect(link).to_be_visible(timeout=120_000)
    with page.expect_download() as download:
        link.click()
    with open(download.value.path(), "rb") as fh:
        assert fh.read(2) == b"PK"
