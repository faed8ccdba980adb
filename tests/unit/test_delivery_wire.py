"""Webhook signatures and SMTP URLs: what a receiver and an operator rely on."""

from __future__ import annotations

import pytest

from renewals.domain.deliveries import signing
from renewals.domain.deliveries.transport import SmtpTarget, parse_smtp_url

FOX = b"The quick brown fox jumps over the lazy dog"


def test_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    # The well-known HMAC-SHA256 test vector for key "key".
    assert signing.signature("key", FOX) == "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"


def test_a_receiver_accepts_the_signed_body_and_rejects_a_changed_one_or_another_key() -> None:
    header = signing.signature("shared", FOX)

    assert signing.verify("shared", FOX, header)
    assert not signing.verify("shared", FOX + b".", header)
    assert not signing.verify("other", FOX, header)


def test_without_an_explicit_webhook_secret_a_stable_one_is_derived_never_the_app_key_itself() -> None:
    derived = signing.webhook_secret(None, "app-secret")

    assert derived == signing.webhook_secret(None, "app-secret")
    assert derived != "app-secret"
    assert signing.webhook_secret("explicit", "app-secret") == "explicit"


def test_smtp_urls_name_host_port_tls_and_credentials() -> None:
    assert parse_smtp_url("smtp://mail.example") == SmtpTarget("mail.example", 25, False, None, None)
    assert parse_smtp_url("smtps://ops%40corp:p%3Ass@mail.example") == SmtpTarget(
        "mail.example", 465, True, "ops@corp", "p:ss"
    )
    assert parse_smtp_url("smtp://u:p@127.0.0.1:2525").port == 2525


def test_an_smtp_url_of_another_scheme_is_refused_with_the_variable_named() -> None:
    with pytest.raises(ValueError, match="RENEWALS_SMTP_URL"):
        parse_smtp_url("http://mail.example")
