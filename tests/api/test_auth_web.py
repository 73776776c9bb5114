"""Web login (NextAuth-compatible), CSRF, registration, API keys."""
import datetime
import re

from conftest import Api, assert_error_shape, assert_iso, assert_ok_shape, login, unique


def cookie(api, name):
    found = [c for c in api.cookies if c.name == name]
    assert len(found) == 1, [c.name for c in api.cookies]
    return found[0]


def test_csrf_session_signin_signout(base_url, bootstrap):
    s = Api(base_url)
    assert s.get("/api/auth/session").json() == {}
    r = s.get("/api/auth/csrf")
    assert r.status_code == 200 and set(r.json()) == {"csrfToken"}, r.text
    assert re.fullmatch(r"[0-9a-f]{64}", r.json()["csrfToken"]), r.text
    assert cookie(s, "next-auth.csrf-token").has_nonstandard_attr("HttpOnly")
    web = login(base_url, bootstrap["email"], bootstrap["password"])
    me = web.get("/api/auth/session").json()
    assert set(me) == {"user", "expires"}, me
    assert me["user"]["email"] == bootstrap["email"] and me["user"]["role"] == "SUPERADMIN", me
    assert not any("password" in k.lower() for k in me["user"]), me
    # auth.session_days (30 by default) from now
    expires = datetime.datetime.strptime(assert_iso(me["expires"]), "%Y-%m-%dT%H:%M:%S.%fZ")
    left = expires - datetime.datetime.utcnow()
    assert datetime.timedelta(hours=1) < left <= datetime.timedelta(days=366), me
    c = cookie(web, "next-auth.session-token")
    assert c.has_nonstandard_attr("HttpOnly")
    assert (c.get_nonstandard_attr("SameSite") or "").lower() == "lax", c.__dict__
    # cookie-authenticated writes need the CSRF token; refused ones change nothing
    before = [x["sessionId"] for x in web.get("/api/sessions").json()]
    b = assert_error_shape(web.post("/api/sessions", json={"name": "x"}, headers={"X-CSRF-Token": None}), 403)
    assert b["error"] == "csrf", b
    assert_error_shape(web.post("/api/sessions", json={"name": "x"}, headers={"X-CSRF-Token": "0" * 64}), 403)
    assert [x["sessionId"] for x in web.get("/api/sessions").json()] == before
    csrf = web.get("/api/auth/csrf").json()["csrfToken"]
    r = web.post("/api/auth/signout", data={"csrfToken": csrf})
    assert r.status_code == 200 and isinstance(r.json()["url"], str), r.text
    assert web.get("/api/auth/session").json() == {}
    assert_error_shape(web.get("/api/sessions"), 401)


def test_wrong_password_and_missing_csrf(base_url, bootstrap):
    s = Api(base_url)
    csrf = s.get("/api/auth/csrf").json()["csrfToken"]
    b = assert_error_shape(s.post("/api/auth/callback/credentials",
                                  data={"email": bootstrap["email"], "password": "nope", "csrfToken": csrf}), 401)
    assert b["error"] == "invalid_credentials", b
    assert not [c for c in s.cookies if c.name == "next-auth.session-token" and c.value]
    assert s.get("/api/auth/session").json() == {}
    # a token that belongs to no csrf cookie of this client
    fresh = Api(base_url)
    assert_error_shape(fresh.post("/api/auth/callback/credentials",
                                  data={"email": bootstrap["email"], "password": bootstrap["password"],
                                        "csrfToken": csrf}), 403)
    assert fresh.get("/api/auth/session").json() == {}


def test_register_then_login(base_url, admin):
    email = unique("reg") + "@test.invalid"
    r = Api(base_url).post("/api/auth/register", json={"name": "Reg", "email": email, "password": "password123"})
    u = assert_ok_shape(r, 200)
    try:
        assert set(u) == {"id", "name", "email", "role", "createdAt"}, u
        assert (u["name"], u["email"], u["role"]) == ("Reg", email, "OWNER"), u
        web = login(base_url, email, "password123")
        assert web.get("/api/auth/session").json()["user"]["email"] == email
        b = assert_error_shape(Api(base_url).post("/api/auth/register",
                                                  json={"name": "Reg", "email": email, "password": "password123"}), 409)
        assert b["error"] == "conflict", b
        b = assert_error_shape(Api(base_url).post("/api/auth/register",
                                                  json={"name": "Reg", "email": "not-an-email",
                                                        "password": "password123"}), 400)
        assert "email" in b["message"], b
        assert [x["email"] for x in admin.get("/api/users").json()].count(email) == 1
    finally:
        assert admin.delete("/api/users/%s" % u["id"]).status_code == 200


def test_bearer_token_and_bad_key(base_url, bootstrap, admin):
    r = Api(base_url).get("/api/sessions", headers={"Authorization": "Bearer " + bootstrap["apiKey"]})
    assert r.status_code == 200, r.text[:200]
    assert r.json() == admin.get("/api/sessions").json()
    b = assert_error_shape(Api(base_url, "wak_nope").get("/api/sessions"), 401)
    assert b["error"] == "unauthorized", b
    assert_error_shape(Api(base_url).get("/api/sessions", headers={"Authorization": "Bearer wak_nope"}), 401)
