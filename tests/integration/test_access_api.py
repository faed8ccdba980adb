from __future__ import annotations

from tests.factories import PASSWORD, make_user


def test_sign_in_returns_a_bearer_token(api, session):
    user = make_user(session, role="finance", email="farah@example.test")
    session.commit()
    r = api.post("/api/v1/auth/token", json={"email": "Farah@Example.test", "password": PASSWORD})
    assert r.status_code == 201
    assert r.json()["token_type"] == "bearer"
    me = api.client.get("/api/v1/clients", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.status_code == 200
    assert user.id


def test_wrong_password_and_unknown_user_look_the_same(api, session):
    make_user(session, email="a@example.test")
    session.commit()
    wrong = api.post("/api/v1/auth/token", json={"email": "a@example.test", "password": "nope-nope"})
    unknown = api.post("/api/v1/auth/token", json={"email": "b@example.test", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_disabled_user_cannot_sign_in(api, session):
    make_user(session, email="gone@example.test", active=False)
    session.commit()
    r = api.post("/api/v1/auth/token", json={"email": "gone@example.test", "password": PASSWORD})
    assert r.status_code == 401


def test_tampered_token_is_401(api, session):
    user = make_user(session)
    session.commit()
    token = api.token(user)
    bad = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert api.client.get("/api/v1/clients", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    assert api.client.get("/api/v1/clients").status_code == 401


def test_users_are_admin_only_and_passwords_never_returned(api, session):
    admin = make_user(session, role="admin")
    manager = make_user(session, role="manager")
    session.commit()
    body = {"email": "new@example.test", "name": "New Person", "role": "account_manager", "password": "long enough"}
    assert api.post("/api/v1/users", manager, body).status_code == 403
    r = api.post("/api/v1/users", admin, body)
    assert r.status_code == 201
    assert "password" not in r.json()
    listed = api.get("/api/v1/users", admin).json()
    assert listed["total"] == 3
    assert all("password" not in u and "password_hash" not in u for u in listed["items"])
    dup = api.post("/api/v1/users", admin, body)
    assert dup.status_code == 409
    short = api.post("/api/v1/users", admin, body | {"email": "x@example.test", "password": "short"})
    assert short.status_code == 422
    assert short.json()["extra"][0]["key"] == "password"
