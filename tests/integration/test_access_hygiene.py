"""Sign-in and response hygiene seen from outside: throttling, one answer for every failure, headers."""

from __future__ import annotations

import jwt

from tests.factories import PASSWORD, make_user


def test_disabled_account_gets_the_same_answer_as_a_wrong_password(api, session):
    make_user(session, email="gone@example.test", active=False)
    make_user(session, email="here@example.test")
    session.commit()

    disabled = api.post("/api/v1/auth/token", json={"email": "gone@example.test", "password": PASSWORD})
    wrong = api.post("/api/v1/auth/token", json={"email": "here@example.test", "password": "not the password"})

    assert disabled.status_code == wrong.status_code == 401
    assert disabled.json() == wrong.json()


def test_repeated_failures_for_an_account_are_refused_with_429_and_retry_after(api, session):
    make_user(session, email="target@example.test")
    session.commit()
    for _ in range(5):
        r = api.post("/api/v1/auth/token", json={"email": "target@example.test", "password": "guess guess"})
        assert r.status_code == 401

    blocked = api.post("/api/v1/auth/token", json={"email": "target@example.test", "password": PASSWORD})

    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 15 * 60
    assert "access_token" not in blocked.json()
    other = make_user(session, email="other@example.test")
    session.commit()
    assert api.post("/api/v1/auth/token", json={"email": other.email, "password": PASSWORD}).status_code == 201


def test_token_whose_subject_is_not_a_user_id_is_401_not_500(api, settings, session):
    for subject in ["abc", "1e3", "99999999999999999999999", " 1"]:
        token = jwt.encode({"sub": subject, "exp": 4_102_444_800}, settings.secret_key, algorithm="HS256")

        r = api.client.get("/api/v1/clients", headers={"Authorization": f"Bearer {token}"})

        assert r.status_code == 401, subject


def test_api_answers_are_not_stored_by_caches_and_not_sniffed(api, session):
    user = make_user(session, email="h@example.test")
    session.commit()

    token = api.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    listing = api.get("/api/v1/clients", user)
    refused = api.client.get("/api/v1/clients")
    missing = api.get("/api/v1/clients/999999", user)

    for response in (token, listing, refused, missing):
        assert response.headers["cache-control"] == "no-store", response.request.url
        assert response.headers["x-content-type-options"] == "nosniff", response.request.url
    assert api.get("/health").headers["x-content-type-options"] == "nosniff"


def test_router_answers_carry_the_headers_too_and_405_says_what_is_allowed(api):
    wrong_method = api.client.delete("/api/v1/clients")
    no_route = api.client.get("/api/v1/nothing-here")

    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert no_route.status_code == 404
    for response in (wrong_method, no_route):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_who_is_calling_is_checked_before_what_they_sent(api):
    no_token = api.client.post("/api/v1/clients", json={"name": 12})
    forged = api.client.post("/api/v1/clients", json={"name": 12}, headers={"Authorization": "Bearer not.a.token"})

    assert no_token.status_code == 401
    assert forged.status_code == 401


def test_a_megabyte_password_is_refused_naming_the_field(api, session):
    admin = make_user(session, role="admin")
    session.commit()
    body = {"email": "long@example.test", "name": "Long", "role": "finance", "password": "x" * 1_000_000}

    created = api.post("/api/v1/users", admin, json=body)
    signin = api.post("/api/v1/auth/token", json={"email": admin.email, "password": "x" * 1_000_000})

    assert created.status_code == 422
    assert created.json()["extra"][0]["key"] == "password"
    assert signin.status_code == 422
    assert signin.json()["extra"][0]["key"] == "password"


def test_deactivating_a_user_ends_their_tokens_even_after_reactivation(api, session):
    admin = make_user(session, role="admin")
    leaver = make_user(session, role="finance", email="leaver@example.test")
    session.commit()
    old_token = api.token(leaver)
    assert api.get("/api/v1/invoices", leaver).status_code == 200

    off = api.patch(f"/api/v1/users/{leaver.id}", admin, json={"active": False})

    assert off.status_code == 200
    assert off.json()["active"] is False
    assert api.get("/api/v1/invoices", leaver).status_code == 401
    assert api.post("/api/v1/auth/token", json={"email": leaver.email, "password": PASSWORD}).status_code == 401
    assert api.patch(f"/api/v1/users/{leaver.id}", admin, json={"active": True}).status_code == 200
    stale = api.client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {old_token}"})
    assert stale.status_code == 401
    assert api.post("/api/v1/auth/token", json={"email": leaver.email, "password": PASSWORD}).status_code == 201


def test_only_admins_change_users_and_no_admin_locks_themselves_out(api, session):
    admin = make_user(session, role="admin")
    manager = make_user(session, role="manager")
    session.commit()

    assert api.patch(f"/api/v1/users/{admin.id}", manager, json={"active": False}).status_code == 403
    own = api.patch(f"/api/v1/users/{admin.id}", admin, json={"active": False})
    assert own.status_code == 409
    assert api.patch("/api/v1/users/999999", admin, json={"active": False}).status_code == 404
    assert api.patch(f"/api/v1/users/{manager.id}", admin, json={"role": "owner"}).status_code in {400, 422}
    assert api.get("/api/v1/invoices", admin).status_code == 200


def test_a_new_password_ends_the_tokens_issued_before(api, session):
    admin = make_user(session, role="admin")
    user = make_user(session, role="finance")
    session.commit()
    old_token = api.token(user)

    assert api.patch(f"/api/v1/users/{user.id}", admin, json={"password": "a brand new passphrase"}).status_code == 200

    assert api.client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    fresh = api.post("/api/v1/auth/token", json={"email": user.email, "password": "a brand new passphrase"})
    assert fresh.status_code == 201
