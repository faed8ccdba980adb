"""The reply page in a real browser (Chromium through Playwright) against the app served by
uvicorn on loopback: a client opens the letter's link, answers with the page's own form and
sees the confirmation in the letter's language."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from renewals import embedded_redis
from renewals.api.app import create_app
from renewals.db.models import Invoice, NoticeReply
from renewals.jobs import runtime
from renewals.settings import Settings
from tests.integration.conftest import Api
from tests.integration.test_notice_replies import TODAY, reminder_letter, reply_url

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (see system-packages.txt)")


@pytest.fixture
def served(settings: Settings, engine: Engine) -> Iterator[str]:
    """The app on a free loopback port, the way `renewals run` serves it."""
    port = embedded_redis.free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_a_client_promises_to_pay_with_the_pages_own_form(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime, served: str
) -> None:
    letter = reminder_letter(api, session, sessions, rt)
    first, second = letter.invoices
    by = TODAY + timedelta(days=10)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(locale="en-GB")
            page.goto(served + reply_url(letter))
            page.get_by_label("We will pay by a date").check()
            page.locator(f"#invoice-{second.id}").uncheck()
            page.locator("input[name=promise_date]").fill(by.isoformat())
            page.locator("textarea[name=reason]").fill("Paying from our new account.")
            page.get_by_role("button", name="Send answer").click()
            page.wait_for_selector("[role=status]")
            confirmation = page.inner_text("[role=status]")
            pdf = page.request.get(served + (page.get_attribute("a[href^='/n/']", "href") or ""))
        finally:
            browser.close()

    assert "Your answer has been recorded" in confirmation
    assert pdf.headers["content-type"] == "application/pdf"
    session.expire_all()
    [reply] = session.scalars(select(NoticeReply)).all()
    assert (reply.choice, reply.promise_date, reply.invoice_ids) == ("promise", by, [first.id])
    assert session.get_one(Invoice, first.id).hold_kind == "promise"
    assert session.get_one(Invoice, second.id).hold_kind is None
