"""Signing in to the pages: the session cookie's flags, the wrong-password message, the slow-down
after repeated failures, signing out, and where `/` and `next` lead."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from renewals.api.app import create_app
from renewals.api.pages.web import local_path
from renewals.db.models import WebSession
from renewals.domain.access import users, web
from renewals.domain.access.throttle import ACCOUNT_LIMIT
from tests.factories import PASSWORD, make_user


def csrf(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert found, page.text
    return found.group(1)


@pytest.fixture
def person(session):
    user = make_user(session, role="account_manager", email="pat@example.test")
    session.commit()
    return user


@pytest.fixture
def client(settings, engine):
    with TestClient(create_app(settings, engine)) as c:
        yield c


def sign_in(client: TestClient, email: str = "pat@example.test", password: str = PASSWORD):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf(client)}, follow_redirects=False
    )


def test_signing_in_sets_an_http_only_lax_session_cookie_and_root_leads_to_today(client, person):
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/today"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("renewals_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    assert client.get("/", follow_redirects=False).headers["location"] == "/today"
    assert client.get("/today").status_code == 200


def test_the_session_cookie_is_secure_over_https(settings, engine, person):
    with TestClient(create_app(settings, engine), base_url="https://testserver.local") as client:
        response = sign_in(client)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("renewals_session="))
    assert "Secure" in cookie


def test_a_wrong_password_says_so_and_signs_nobody_in(client, person):
    response = sign_in(client, password="not the password")
    assert response.status_code == 401
    assert "Wrong e-mail or password" in response.text
    assert client.get("/today", follow_redirects=False).headers["location"].startswith("/login?next=")


def test_signing_out_ends_the_session_on_the_server(client, person, sessions):
    sign_in(client)
    token = client.cookies["renewals_session"]
    form_token = web.csrf_token("test-secret-key-not-for-production", token)
    assert client.post("/logout", data={"csrf_token": form_token}, follow_redirects=False).status_code == 303
    with sessions() as s:
        assert s.query(WebSession).count() == 0
    client.cookies.set("renewals_session", token)  # a copy of the old cookie opens nothing
    assert client.get("/today", follow_redirects=False).status_code == 303


def test_repeated_failures_slow_the_next_attempt_down_even_with_the_right_password(client, person):
    for _ in range(ACCOUNT_LIMIT):
        assert sign_in(client, password="not the password").status_code == 401
    response = sign_in(client)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text
    assert int(response.headers["retry-after"]) > 0
    assert "renewals_session=" not in response.headers.get("set-cookie", "")


def test_a_new_password_ends_the_browser_sessions_too(client, person, session):
    sign_in(client)
    assert client.get("/today").status_code == 200
    admin = make_user(session, role="admin")
    users.update_user(session, admin, person.id, users.UserPatch(password="another long password"))
    session.commit()
    assert client.get("/today", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/renewals?status=upcoming", "/renewals?status=upcoming"),
        ("//evil.example/today", "/today"),
        ("https://evil.example/", "/today"),
        ("/\\evil.example", "/today"),
        (None, "/today"),
    ],
)
def test_after_signing_in_only_a_path_on_this_site_is_followed(target, expected):
    assert local_path(target, "/today") == expected
