"""The pure notice rules: the dates printed on notices, where files go, and link tokens."""

from __future__ import annotations

from datetime import date

import pytest

from renewals.domain.notices import rules

SECRET = "test-secret-key-not-for-production"


def test_reply_by_is_two_weeks_after_issue_when_nothing_comes_sooner() -> None:
    assert rules.reply_by(date(2026, 3, 16), date(2026, 12, 31), date(2026, 10, 2)) == date(2026, 3, 30)


def test_reply_by_is_the_opt_out_deadline_when_it_comes_first() -> None:
    assert rules.reply_by(date(2026, 3, 16), date(2026, 4, 30), date(2026, 3, 25)) == date(2026, 3, 25)


def test_reply_by_is_the_end_date_for_a_contract_ending_within_two_weeks() -> None:
    assert rules.reply_by(date(2026, 3, 16), date(2026, 3, 20), None) == date(2026, 3, 20)


def test_reply_by_ignores_a_deadline_already_past_and_is_never_before_the_issue_date() -> None:
    assert rules.reply_by(date(2026, 3, 16), date(2026, 4, 30), date(2026, 3, 1)) == date(2026, 3, 30)
    assert rules.reply_by(date(2026, 3, 16), date(2026, 3, 16), date(2026, 2, 14)) == date(2026, 3, 16)


def test_reply_by_across_29_february() -> None:
    assert rules.reply_by(date(2028, 2, 20), date(2028, 12, 31), None) == date(2028, 3, 5)


def test_a_final_notice_asks_for_payment_sooner() -> None:
    assert rules.pay_by(date(2026, 12, 28), 3) == date(2027, 1, 7)
    assert rules.pay_by(date(2026, 12, 28), 4) == date(2027, 1, 4)


def test_references_depend_only_on_their_inputs() -> None:
    assert rules.renewal_reference("CT-2023-0733", date(2026, 3, 16)) == "RN-CT-2023-0733-20260316"
    assert rules.reminder_reference(42, date(2026, 3, 16)) == "PR-000042-20260316"
    assert rules.statement_reference(42, date(2026, 1, 1), date(2026, 3, 31)) == "ST-000042-20260101-20260331"


def test_a_pdf_is_stored_by_its_digest_and_nothing_else_makes_a_path() -> None:
    digest = "ab" + "0" * 62
    assert rules.pdf_path(digest) == f"notices/ab/{digest}.pdf"
    with pytest.raises(ValueError, match="sha256"):
        rules.pdf_path("../../etc/passwd")


def test_zip_entry_names_are_safe_file_names() -> None:
    assert rules.zip_entry_name("CT/2026 #7", "renewal_notice", "ko", 9) == "CT-2026-7-ko-9.pdf"
    assert rules.zip_entry_name(None, "statement", "en", 3) == "statement-en-3.pdf"


def test_a_link_token_carries_its_id_under_a_valid_signature() -> None:
    token = rules.link_token(SECRET, "abc123")
    assert rules.link_id_of(SECRET, token) == "abc123"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "abc124" + t[6:],  # id changed, signature kept
        lambda t: t.split(".")[0],  # signature removed
        lambda t: "." + t.split(".")[1],  # id removed
        lambda t: "",
    ],
)
def test_a_tampered_token_is_refused(tamper: object) -> None:
    token = rules.link_token(SECRET, "abc123")
    assert rules.link_id_of(SECRET, tamper(token)) is None  # type: ignore[operator]


def test_a_token_signed_with_another_key_is_refused() -> None:
    assert rules.link_id_of(SECRET, rules.link_token("another-key", "abc123")) is None
