"""Web login (NextAuth-compatible), CSRF, registration, API keys."""
from conftest import Api, assert_error_shape, login, unique


def test_csrf_session_signin_signout(base_url, bootstrap):
    s = Api(base_url)
    assert s.get("/api/auth/session").json() == {}
    web = login(base_url, bootstrap["email"], bootstrap["password"])
    me = web.get("/api/auth/session").json()
    assert me["user"]["email"] == bootstrap["email"] and me["expires"]
    cookie = [c for c in web.cookies if c.name == "next-auth.session-token"][0]
    assert cookie.has_nonstandard_attr("HttpOnly")
    # cookie-authenticated writes need the CSRF token
    assert_error_shape(web.post("/api/sessions", json={"name": "x"}, headers={"X-CSRF-Token": None}), 403)
    assert_error_shape(web.post("/api/sessions", json={"name": "x"}, headers={"X-CSRF-Token": "0" * 64}), 403)
    csrf = web.get("/api/auth/csrf").json()["csrfToken"]
    r = web.post("/api/auth/signout", data={"csrfToken": csrf})
    assert r.status_code == 200
    assert web.get("/api/auth/session").json() == {}
    assert_error_shape(web.get("/api/sessions"), 401)


def test_wrong_password_and_missing_csrf(base_url, bootstrap):
    s = Api(base_url)
    csrf = s.get("/api/auth/csrf").json()["csrfToken"]
    assert_error_shape(s.post("/api/auth/callback/credentials",
                              data={"email": bootstrap["email"], "password": "nope", "csrfToken": csrf}), 401)
    fresh = Api(base_url)
    assert_error_shape(fresh.post("/api/auth/callback/credentials",
                                  data={"email": bootstrap["email"], "password": bootstrap["password"],
                                        "csrfToken": csrf}), 403)


def test_register_then_login_and_switch_off(base_url, admin):
    email = unique("reg") + "@test.invalid"
    r = Api(base_url).post("/api/auth/register", json={"name": "Reg", "email": email, "password": "password123"})
    assert r.status_code == 200, r.text
    uid = r.json()["data"]["id"]
    login(base_url, email, "password123")
    assert_error_shape(Api(base_url).post("/api/auth/register",
                                          json={"name": "Reg", "email": email, "password": "password123"}), 409)
    assert_error_shape(Api(base_url).post("/api/auth/register",
                                          json={"name": "Reg", "email": "not-an-email", "password": "password123"}), 400)
    admin.delete("/api/users/%s" % uid)


def test_bearer_token_and_bad_key(base_url, bootstrap):
    assert Api(base_url).get("/api/sessions", headers={"Authorization": "Bearer " + bootstrap["apiKey"]}).status_code == 200
    assert_error_shape(Api(base_url, "wak_nope").get("/api/sessions"), 401)
