"""The access matrix for every route of the API reference (routes.tsv).

For every session-scoped route: no key and a bad key get 401; a STAFF user
without a grant and an OWNER of another user's session get 403; the owner,
a SUPERADMIN and (except for owner-only routes) a granted STAFF user pass
the access check: what the route then says is the same for the three of
them (same status and error code), in the API's shapes, never 401/403, never
"session not found" and never a server error other than 503 (a WhatsApp
operation on a session that is not connected).
SUPERADMIN-only routes refuse OWNER and STAFF with 403.
Access is checked before the body is validated, so the requests here carry
bodies that would otherwise be invalid: nothing is changed by them.
"""
import csv
import os

import pytest

from conftest import Api, assert_error_shape, login, stop_session, unique

SPEC = os.environ.get("WA_AKG_SPEC_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "spec")
ROUTES_TSV = os.path.join(SPEC, "routes.tsv")
# Our copy, used when ../shared is not beside the repo.
LOCAL_TSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "routes.tsv")


def load_routes():
    path = ROUTES_TSV if os.path.exists(ROUTES_TSV) else LOCAL_TSV
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for r in rows:
        if not r["path"].startswith("/api"):
            r["path"] = "/api" + r["path"]
    return rows


ROUTES = load_routes()
GROUP_JID = "120363000000000001@g.us"
USER_JID = "628123456789@s.whatsapp.net"

# Routes naming the session in the body instead of the path.
BODY_SESSION = {("PUT", "/api/groups/{jid}/subject"), ("POST", "/api/groups/{jid}/leave"),
                ("POST", "/api/status/update"), ("POST", "/api/scheduler")}
# Only the session's owner or a SUPERADMIN (grantees get 403).
OWNER_ONLY = {("GET", "/api/sessions/{sessionId}/access"), ("POST", "/api/sessions/{sessionId}/access"),
              ("DELETE", "/api/sessions/{sessionId}/access"), ("DELETE", "/api/sessions/{id}/settings")}
SUPERADMIN_ONLY = {("POST", "/api/users"), ("GET", "/api/users"), ("DELETE", "/api/users/{id}"),
                   ("PATCH", "/api/users/{id}")}
# Would destroy the shared target session when they succeed.
DESTRUCTIVE = {("DELETE", "/api/sessions/{id}/settings")}


def session_scoped(r):
    p = r["path"]
    return "{sessionId}" in p or p.startswith("/api/sessions/{id}") or (r["method"], p) in BODY_SESSION


SESSION_ROUTES = [r for r in ROUTES if session_scoped(r)]


def concrete(route, slug):
    p = route["path"]
    jid = GROUP_JID if "/groups/" in p else USER_JID
    # ids that exist nowhere (0), so a request that passes every check still changes nothing
    p = p.replace("{sessionId}", slug).replace("{id}", slug if p.startswith("/api/sessions/") else "0")
    p = p.replace("{jid}", jid).replace("{action}", "stop")   # stop: keeps the session not connected
    for name in ("messageId", "replyId", "scheduleId", "labelId", "filename"):
        p = p.replace("{%s}" % name, "0")
    return p


def send(api, route, slug):
    body = {}
    if (route["method"], route["path"]) in BODY_SESSION:
        body = {"sessionId": slug}
    return api.request(route["method"], concrete(route, slug), json=body)


@pytest.fixture(scope="module")
def world(base_url, bootstrap, engine_running):
    """owner A with a session, owner B, a STAFF with a grant, a STAFF without.
    The session is stopped, so no engine connects it while the answers of
    different callers are compared."""
    admin = Api(base_url, bootstrap["apiKey"])
    made_users = []

    def user(role):
        email = unique(role.lower()) + "@matrix.invalid"
        r = admin.post("/api/users", json={"name": email, "email": email, "password": "pw-123456789", "role": role})
        assert r.status_code == 200, r.text[:300]
        uid = r.json()["id"]
        assert isinstance(uid, str) and r.json()["role"] == role, r.text[:300]
        made_users.append(uid)
        # a key of its own, through the web login
        web = login(base_url, email, "pw-123456789")
        csrf = web.get("/api/auth/csrf").json()["csrfToken"]
        r = web.post("/api/user/api-key", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text[:300]
        return uid, email, Api(base_url, r.json()["apiKey"])

    a_id, a_email, owner_a = user("OWNER")
    _, _, owner_b = user("OWNER")
    _, g_email, staff_granted = user("STAFF")
    _, _, staff_plain = user("STAFF")
    slug = unique("matrix")
    r = owner_a.post("/api/sessions", json={"name": "matrix", "sessionId": slug})
    assert r.status_code == 200, r.text[:300]
    r = owner_a.post("/api/sessions/%s/access" % slug, json={"email": g_email})
    assert r.status_code == 201, r.text[:300]
    stop_session(owner_a, slug, engine_running)
    yield {"slug": slug, "admin": admin, "owner": owner_a, "other_owner": owner_b,
           "staff_granted": staff_granted, "staff": staff_plain, "anon": Api(base_url),
           "badkey": Api(base_url, "wak_" + "0" * 48)}
    admin.delete("/api/sessions/%s/settings" % slug)
    for uid in made_users:
        admin.delete("/api/users/%s" % uid)


def rid(r):
    return "%s %s" % (r["method"], r["path"])


@pytest.mark.parametrize("route", SESSION_ROUTES, ids=rid)
def test_session_route_without_credentials_is_401(world, route):
    for who in ("anon", "badkey"):
        b = assert_error_shape(send(world[who], route, world["slug"]), 401)
        assert b["error"] == "unauthorized", (who, b)


@pytest.mark.parametrize("route", SESSION_ROUTES, ids=rid)
def test_session_route_refuses_strangers_with_403(world, route):
    for who in ("staff", "other_owner"):
        b = assert_error_shape(send(world[who], route, world["slug"]), 403)
        assert b["error"] == "forbidden", (who, b)


def outcome(r):
    """(status, error code) of an answer past the access check, after
    checking that it is in one of the API's shapes."""
    assert r.headers.get("Content-Type", "").startswith("application/json"), (r.status_code, r.headers)
    if r.status_code >= 400:
        b = assert_error_shape(r)
        assert r.status_code not in (401, 403), (r.status_code, b)
        assert b["error"] != "session_not_found", b
        if r.status_code >= 500:
            # only a WhatsApp operation on a session that is not connected
            assert (r.status_code, b["error"]) in {(503, "session_not_ready"), (503, "engine_unavailable")}, \
                (r.status_code, b)
        return r.status_code, b["error"]
    r.json()
    return r.status_code, None


@pytest.mark.parametrize("route", [r for r in SESSION_ROUTES if (r["method"], r["path"]) not in DESTRUCTIVE], ids=rid)
def test_session_route_admits_owner_superadmin_and_grantee(world, route):
    key = (route["method"], route["path"])
    seen = {who: outcome(send(world[who], route, world["slug"])) for who in ("owner", "admin")}
    r = send(world["staff_granted"], route, world["slug"])
    if key in OWNER_ONLY:
        b = assert_error_shape(r, 403)
        assert b["error"] == "forbidden", b
    else:
        seen["staff_granted"] = outcome(r)
    assert len(set(seen.values())) == 1, seen


@pytest.mark.parametrize("route", [r for r in SESSION_ROUTES], ids=rid)
def test_unknown_session_is_404(world, route):
    slug = "no-such-session-" + world["slug"]
    b = assert_error_shape(send(world["admin"], route, slug), 404)
    assert b["error"] == "session_not_found" and slug in b["message"], b


@pytest.mark.parametrize("route", [r for r in ROUTES if (r["method"], r["path"]) in SUPERADMIN_ONLY], ids=rid)
def test_superadmin_only_routes(world, route):
    for who in ("owner", "staff"):
        b = assert_error_shape(send(world[who], route, world["slug"]), 403)
        assert b["error"] == "forbidden", (who, b)
    assert_error_shape(send(world["anon"], route, world["slug"]), 401)


def test_system_settings_write_is_for_superadmin_and_owner(world):
    # the reference: "Update global system configuration (Superadmin/Owner only)"
    before = world["anon"].get("/api/settings/system").json()
    assert_error_shape(world["staff"].post("/api/settings/system", json={"appName": "x"}), 403)
    assert_error_shape(world["anon"].post("/api/settings/system", json={"appName": "x"}), 401)
    for who in ("owner", "admin"):
        r = world[who].post("/api/settings/system", json={"appName": 5})  # invalid: changes nothing
        b = assert_error_shape(r, 400)
        assert "appName" in b["message"], (who, b)
    assert world["anon"].get("/api/settings/system").json() == before


def test_every_other_route_needs_credentials(world):
    public = {("GET", "/api/docs"), ("POST", "/api/auth/register"), ("GET", "/api/auth/session"),
              ("GET", "/api/auth/csrf"), ("GET", "/api/settings/system")}
    for route in ROUTES:
        key = (route["method"], route["path"])
        if session_scoped(route) or key in public:
            continue
        r = send(world["anon"], route, world["slug"])
        assert r.status_code == 401, (key, r.status_code, r.text[:200])
        assert assert_error_shape(r)["error"] == "unauthorized", (key, r.text[:200])
