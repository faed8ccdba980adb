"""A client answers a letter through its link, without an account (`/n/{token}/reply`): every
choice of both kinds through HTTP, with the renewal state, hold, activity, audit row and alert it
leaves; expired and revoked links; a form sent twice; a form of another link; too many answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from renewals import clock
from renewals.db.models import Activity, Alert, AuditEntry, Client, Contact, Contract, Invoice, Renewal, User
from renewals.db.models.notices import NoticeLink, NoticeReply
from renewals.domain.clients.schemas import ContactIn
from renewals.domain.clients.service import add_contact
from renewals.domain.notices.rules import REPLY_LIMIT
from renewals.jobs import runtime
from tests.factories import make_client, make_contract, make_user
from tests.integration.conftest import Api
from tests.integration.notices_support import render_queued, request
from tests.integration.receivables_arrange import invoice_due

TODAY = clock.today("UTC")


@dataclass
class Letter:
    am: User
    finance: User
    client: Client
    contact: Contact
    notice_id: int
    url: str
    invoices: list[Invoice]


def _people(session: Session, language: str) -> tuple[User, User, Client, Contact, Contact]:
    am = make_user(session, role="account_manager", name="James Thornton")
    finance = make_user(session, role="finance", name="Fiona Finch")
    client = make_client(session, owner=am, legal_name="Northwind Hosting Ltd.", name="Northwind", language=language)
    signatory = add_contact(
        session, am, client.id, ContactIn(name="Sarah Whitfield", email="s@nw.example", is_signatory=True)
    )
    billing = add_contact(session, am, client.id, ContactIn(name="Ravi Patel", email="ap@nw.example", is_billing=True))
    return am, finance, client, session.get_one(Contact, signatory.id), session.get_one(Contact, billing.id)


def _share(api: Api, user: User, notice_id: int) -> str:
    shown = api.get(f"/api/v1/notices/{notice_id}", user).json()
    assert shown["status"] == "ready", shown["error"]
    link = api.post(f"/api/v1/notices/{notice_id}/link", user, json={}).json()
    return str(link["url"])


def renewal_letter(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime, language: str = "en"
) -> Letter:
    am, finance, client, signatory, _billing = _people(session, language)
    contract = make_contract(
        session,
        client=client,
        actor=am,
        start_date=TODAY - timedelta(days=300),
        end_date=TODAY + timedelta(days=45),
        auto_renew=False,
        lines=[("42U rack, 8 kW", "4", "1450.00")],
    )
    session.commit()
    notice = request(api, am, kind="renewal_notice", contract_id=contract.id, as_of=TODAY.isoformat())
    render_queued(rt, sessions)
    return Letter(am, finance, client, signatory, notice["id"], _share(api, am, notice["id"]), [])


def reminder_letter(api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime) -> Letter:
    am, finance, client, _signatory, billing = _people(session, "en")
    invoices = [
        invoice_due(session, client=client, actor=am, due=TODAY - timedelta(days=40), monthly="700.00"),
        invoice_due(session, client=client, actor=am, due=TODAY - timedelta(days=10), monthly="90.00"),
    ]
    session.commit()
    notice = request(api, finance, kind="payment_reminder", client_id=client.id, as_of=TODAY.isoformat())
    render_queued(rt, sessions)
    return Letter(am, finance, client, billing, notice["id"], _share(api, finance, notice["id"]), invoices)


def reply_url(letter: Letter) -> str:
    return f"{letter.url}/reply"


def form_token(api: Api, letter: Letter) -> str:
    page = api.get(reply_url(letter))
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def post_form(api: Api, letter: Letter, fields: dict[str, Any], csrf: str | None = None) -> Any:
    body = {"csrf": csrf if csrf is not None else form_token(api, letter), **fields}
    return api.client.post(reply_url(letter), data=body)


def alerts(session: Session) -> list[Alert]:
    session.expire_all()
    return list(session.scalars(select(Alert).where(Alert.kind == "client_response").order_by(Alert.id)))


def audit(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def renewal_of(session: Session, letter: Letter) -> Renewal:
    session.expire_all()
    contract_id = session.scalar(select(Contract.id).where(Contract.client_id == letter.client.id))
    return session.scalars(select(Renewal).where(Renewal.contract_id == contract_id)).one()


def activities(session: Session, renewal: Renewal) -> list[Activity]:
    return list(session.scalars(select(Activity).where(Activity.renewal_id == renewal.id).order_by(Activity.id)))


def test_the_reply_page_is_in_the_letters_language_with_its_choices_and_the_pdf(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = renewal_letter(api, session, sessions, rt, language="ko")

    page = api.get(reply_url(letter))

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert 'lang="ko"' in page.text
    assert f'href="{letter.url}"' in page.text
    assert re.findall(r'name="choice" value="(\w+)"', page.text) == ["renew", "call_me", "not_renewing"]
    assert "갱신" in page.text
    assert "Sarah Whitfield" in page.text


def test_renew_moves_the_renewal_to_awaiting_signature_as_the_signatory(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = renewal_letter(api, session, sessions, rt)

    answered = post_form(api, letter, {"choice": "renew", "reason": "Please send the paper to our Leeds office."})

    assert answered.status_code == 200
    assert "Your answer has been recorded" in answered.text
    renewal = renewal_of(session, letter)
    assert renewal.status == "awaiting_signature"
    assert renewal.sent_for_signature_on == TODAY
    [activity] = activities(session, renewal)
    assert activity.author_id is None
    assert activity.author_contact_id == letter.contact.id
    assert "Leeds office" in activity.text
    [transition] = audit(session, "transition")
    assert transition.actor_id is None
    assert transition.after is not None
    assert transition.after["status"] == "awaiting_signature"
    assert transition.after["contact_id"] == letter.contact.id
    [reply_row] = audit(session, "client_reply")
    assert (reply_row.entity_type, reply_row.entity_id) == ("notice", letter.notice_id)
    [alert] = alerts(session)
    assert alert.assignee_id == letter.am.id
    assert alert.client_id == letter.client.id
    assert alert.severity == "info"
    assert "wants to renew" in alert.message


def test_call_me_leaves_a_follow_up_due_today_for_the_owner(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = renewal_letter(api, session, sessions, rt)

    answered = api.post(reply_url(letter), json={"choice": "call_me", "reason": "After 3 pm, please."})

    assert answered.status_code == 201, answered.text
    assert answered.json()["choice"] == "call_me"
    renewal = renewal_of(session, letter)
    assert renewal.status == "upcoming"
    assert renewal.next_action_date == TODAY
    [activity] = activities(session, renewal)
    assert activity.next_follow_up_on == TODAY
    assert activity.author_contact_id == letter.contact.id
    assert [a.assignee_id for a in alerts(session)] == [letter.am.id]
    assert len(audit(session, "client_reply")) == 1


def test_not_renewing_needs_a_reason_and_leaves_the_decision_to_the_owner(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = renewal_letter(api, session, sessions, rt)

    refused = api.post(reply_url(letter), json={"choice": "not_renewing"})
    answered = api.post(reply_url(letter), json={"choice": "not_renewing", "reason": "Moving to our own site."})

    assert refused.status_code == 422
    assert refused.json()["extra"][0]["key"] == "reason"
    assert answered.status_code == 201
    renewal = renewal_of(session, letter)
    assert renewal.status == "upcoming"  # the owner decides `lost`
    [activity] = activities(session, renewal)
    assert "Moving to our own site." in activity.text
    [alert] = alerts(session)
    assert (alert.assignee_id, alert.severity) == (letter.am.id, "warning")


def test_a_promise_holds_the_named_invoices_until_its_date(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = reminder_letter(api, session, sessions, rt)
    first, second = letter.invoices
    by = TODAY + timedelta(days=14)

    answered = post_form(api, letter, {"choice": "promise", "promise_date": by.isoformat(), "invoice_ids": [first.id]})

    assert answered.status_code == 200, answered.text
    session.expire_all()
    held, free = session.get_one(Invoice, first.id), session.get_one(Invoice, second.id)
    assert (held.hold_kind, held.hold_until, held.held_on) == ("promise", by, TODAY)
    assert "Ravi Patel" in (held.hold_reason or "")
    assert free.hold_kind is None
    [hold] = audit(session, "hold")
    assert (hold.entity_id, hold.actor_id) == (first.id, None)
    assert hold.after is not None
    assert hold.after["contact_id"] == letter.contact.id
    [alert] = alerts(session)
    assert (alert.assignee_id, alert.informed_id) == (letter.finance.id, letter.am.id)
    [reply] = session.scalars(select(NoticeReply)).all()
    assert (reply.promise_date, reply.invoice_ids) == (by, [first.id])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"choice": "promise", "promise_date": (TODAY + timedelta(days=31)).isoformat()}, "promise_date"),
        ({"choice": "promise", "promise_date": (TODAY - timedelta(days=1)).isoformat()}, "promise_date"),
        ({"choice": "promise"}, "promise_date"),
        ({"choice": "dispute"}, "reason"),
        ({"choice": "paid_already"}, "reference"),
        ({"choice": "paid_already", "reference": "x" * 101}, "reference"),
        ({"choice": "dispute", "reason": "bad\u0000byte"}, "reason"),
        ({"choice": "renew"}, "choice"),
        ({"choice": "promise", "promise_date": TODAY.isoformat(), "invoice_ids": "x"}, "invoice_ids"),
    ],
)
def test_a_reminder_answer_that_cannot_stand_is_422_naming_the_field_and_changes_nothing(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime, body: dict[str, Any], field: str
) -> None:
    letter = reminder_letter(api, session, sessions, rt)

    refused = api.post(reply_url(letter), json=body)

    assert refused.status_code == 422, refused.text
    assert refused.json()["extra"][0]["key"] == field
    assert alerts(session) == []
    assert session.scalars(select(Invoice).where(Invoice.hold_kind.is_not(None))).all() == []


def test_a_promise_may_name_only_the_letters_own_invoices(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = reminder_letter(api, session, sessions, rt)
    other = make_client(session, owner=letter.am)
    stranger = invoice_due(session, client=other, actor=letter.am, due=TODAY - timedelta(days=40))
    unlisted = invoice_due(session, client=letter.client, actor=letter.am, due=TODAY + timedelta(days=5))
    session.commit()
    by = (TODAY + timedelta(days=7)).isoformat()

    foreign = api.post(reply_url(letter), json={"choice": "promise", "promise_date": by, "invoice_ids": [stranger.id]})
    later = api.post(reply_url(letter), json={"choice": "promise", "promise_date": by, "invoice_ids": [unlisted.id]})
    page = api.get(reply_url(letter)).text

    assert foreign.status_code == later.status_code == 422
    assert stranger.number not in page
    assert unlisted.number not in page
    assert other.legal_name not in page
    assert all(invoice.number in page for invoice in letter.invoices)
    session.expire_all()
    assert session.get_one(Invoice, stranger.id).hold_kind is None


def test_a_dispute_holds_every_invoice_of_the_letter_with_the_reason(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = reminder_letter(api, session, sessions, rt)

    answered = api.post(reply_url(letter), json={"choice": "dispute", "reason": "Rack 4 was never delivered."})

    assert answered.status_code == 201
    assert answered.json()["invoice_ids"] == [i.id for i in letter.invoices]
    session.expire_all()
    for invoice in letter.invoices:
        held = session.get_one(Invoice, invoice.id)
        assert (held.hold_kind, held.hold_until) == ("dispute", None)
        assert "Rack 4 was never delivered." in (held.hold_reason or "")
    assert len(audit(session, "hold")) == 2
    [alert] = alerts(session)
    assert (alert.assignee_id, alert.severity) == (letter.finance.id, "warning")


def test_paid_already_gives_finance_the_reference_to_match_and_holds_nothing(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = reminder_letter(api, session, sessions, rt)

    answered = post_form(api, letter, {"choice": "paid_already", "reference": "BACS 2026-11-24 NW-8812"})

    assert answered.status_code == 200
    [reply] = session.scalars(select(NoticeReply)).all()
    assert (reply.choice, reply.reference, reply.contact_id) == (
        "paid_already",
        "BACS 2026-11-24 NW-8812",
        letter.contact.id,
    )
    assert session.scalars(select(Invoice).where(Invoice.hold_kind.is_not(None))).all() == []
    [alert] = alerts(session)
    assert alert.assignee_id == letter.finance.id
    assert "NW-8812" in alert.message
    assert len(audit(session, "client_reply")) == 1


def test_a_second_answer_is_recorded_too_and_the_latest_stands(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = renewal_letter(api, session, sessions, rt)

    first = post_form(api, letter, {"choice": "call_me"})
    second = post_form(api, letter, {"choice": "renew"})
    page = api.get(reply_url(letter)).text

    assert first.status_code == second.status_code == 200
    assert [r.choice for r in session.scalars(select(NoticeReply).order_by(NoticeReply.id))] == ["call_me", "renew"]
    assert len(alerts(session)) == 2
    assert renewal_of(session, letter).status == "awaiting_signature"
    assert "You answered on" in page
    assert "We wish to renew on the proposed terms" in page


def test_a_form_sent_twice_is_one_answer(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = reminder_letter(api, session, sessions, rt)
    csrf = form_token(api, letter)
    fields = {"choice": "dispute", "reason": "Wrong rate."}

    first = post_form(api, letter, fields, csrf)
    replayed = post_form(api, letter, fields, csrf)

    assert first.status_code == replayed.status_code == 200
    assert len(session.scalars(select(NoticeReply)).all()) == 1
    assert len(alerts(session)) == 1
    assert len(audit(session, "client_reply")) == 1


def test_a_form_made_for_another_link_or_none_is_refused(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = renewal_letter(api, session, sessions, rt)
    other_url = api.post(f"/api/v1/notices/{letter.notice_id}/link", letter.am, json={}).json()["url"]
    other = Letter(letter.am, letter.finance, letter.client, letter.contact, letter.notice_id, other_url, [])

    forged = post_form(api, letter, {"choice": "renew"}, csrf=form_token(api, other))
    bare = api.client.post(reply_url(letter), data={"choice": "renew"})
    plain = api.client.post(reply_url(letter), content=b"choice=renew", headers={"content-type": "text/plain"})

    assert forged.status_code == 403
    assert bare.status_code == 403
    assert plain.status_code == 415
    assert session.scalars(select(NoticeReply)).all() == []
    assert session.scalars(select(Renewal).where(Renewal.status == "awaiting_signature")).all() == []


def test_too_many_answers_through_one_link_are_429(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = renewal_letter(api, session, sessions, rt)

    answers = [api.post(reply_url(letter), json={"choice": "call_me"}).status_code for _ in range(REPLY_LIMIT + 1)]

    assert answers == [201] * REPLY_LIMIT + [429]
    assert len(alerts(session)) == REPLY_LIMIT


def test_a_revoked_or_expired_link_is_404_and_records_nothing(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime, engine: Engine
) -> None:
    revoked = renewal_letter(api, session, sessions, rt)
    link_id = api.get(f"/api/v1/notices/{revoked.notice_id}/links", revoked.am).json()[0]["id"]
    api.post(f"/api/v1/notices/{revoked.notice_id}/link/{link_id}/revoke", revoked.am)
    expired_url = api.post(f"/api/v1/notices/{revoked.notice_id}/link", revoked.am, json={}).json()["url"]
    with engine.begin() as conn:
        conn.execute(
            update(NoticeLink).where(NoticeLink.id != link_id).values(expires_at=clock.now() - timedelta(seconds=1))
        )
    expired = Letter(revoked.am, revoked.finance, revoked.client, revoked.contact, revoked.notice_id, expired_url, [])

    for letter in (revoked, expired):
        assert api.get(reply_url(letter)).status_code == 404
        assert api.post(reply_url(letter), json={"choice": "renew"}).status_code == 404
    assert api.get("/n/not-a-token/reply").status_code == 404
    assert session.scalars(select(NoticeReply)).all() == []


def test_a_statement_asks_nothing_and_has_no_reply_page(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    am, finance, client, _signatory, _billing = _people(session, "en")
    invoice_due(session, client=client, actor=am, due=TODAY - timedelta(days=10))
    session.commit()
    notice = request(api, finance, kind="statement", client_id=client.id, as_of=TODAY.isoformat())
    render_queued(rt, sessions)
    url = _share(api, finance, notice["id"])

    assert api.get(url).status_code == 200
    assert api.get(f"{url}/reply").status_code == 404
    assert api.post(f"{url}/reply", json={"choice": "dispute", "reason": "x"}).status_code == 404


def test_a_refused_form_says_why_on_the_page_in_the_letters_language(
    api: Api, session: Session, sessions: sessionmaker[Session], rt: runtime.Runtime
) -> None:
    letter = renewal_letter(api, session, sessions, rt, language="zh-Hant")

    refused = post_form(api, letter, {"choice": "not_renewing"})

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert "請於留言欄中說明原因" in refused.text
    assert session.scalars(select(NoticeReply)).all() == []
