"""Users (SUPERADMIN), the caller's API key, and session access grants."""
import re

import pytest

from conftest import Api, assert_error_shape, assert_iso, assert_ok_shape, data, login, unique

KEY_RE = re.compile(r"wak_[0-9a-f]{48}")


def test_user_crud(admin):
    email = unique("u") + "@test.invalid"
    r = admin.post("/api/users", json={"name": "U", "email": email, "password": "secret-123", "role": "STAFF"})
    assert r.status_code == 200, r.text
    u = r.json()
    # the reference's fields, and never a password or its hash
    assert set(u) == {"id", "name", "email", "role", "createdAt"}, u
    assert (u["name"], u["email"], u["role"]) == ("U", email, "STAFF"), u
    assert isinstance(u["id"], str) and u["id"].isdigit(), u
    assert_iso(u["createdAt"])
    listed = admin.get("/api/users").json()
    mine = [x for x in listed if x["email"] == email]
    assert mine == [dict(u, _count={"sessions": 0})], mine
    r = admin.patch("/api/users/%s" % u["id"], json={"name": "U2", "role": "OWNER"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True, body
    p = body["user"]
    assert set(p) == {"id", "email", "name", "role", "emailVerified", "image", "createdAt", "updatedAt"}, p
    assert (p["id"], p["email"], p["name"], p["role"], p["createdAt"]) == \
        (u["id"], email, "U2", "OWNER", u["createdAt"]), p
    assert_iso(p["updatedAt"])
    assert [x for x in admin.get("/api/users").json() if x["email"] == email][0]["role"] == "OWNER"
    # the new password works, the old one no longer does
    r = admin.patch("/api/users/%s" % u["id"], json={"password": "another-123"})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    login(admin.base, email, "another-123")
    with pytest.raises(AssertionError):
        login(admin.base, email, "secret-123")
    r = admin.delete("/api/users/%s" % u["id"])
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "message": "User deleted"}, r.text
    assert email not in [x["email"] for x in admin.get("/api/users").json()]
    assert_error_shape(admin.delete("/api/users/%s" % u["id"]), 404)
    assert_error_shape(admin.patch("/api/users/%s" % u["id"], json={"name": "x"}), 404)


def test_user_role_defaults_to_owner(admin):
    email = unique("d") + "@test.invalid"
    r = admin.post("/api/users", json={"name": "D", "email": email, "password": "secret-123"})
    assert r.status_code == 200, r.text
    try:
        assert r.json()["role"] == "OWNER", r.text
    finally:
        assert admin.delete("/api/users/%s" % r.json()["id"]).status_code == 200


@pytest.mark.parametrize("body,field", [
    ({"email": "a@b.c", "password": "secret-123"}, "name"),
    ({"name": "x", "email": "not-an-email", "password": "secret-123"}, "email"),
    ({"name": "x", "email": "a@b.c"}, "password"),
    ({"name": "x", "email": "a@b.c", "password": "secret-123", "role": "KING"}, "role"),
    ({"name": 3, "email": "a@b.c", "password": "secret-123"}, "name"),
])
def test_user_create_validation(admin, body, field):
    before = admin.get("/api/users").json()
    b = assert_error_shape(admin.post("/api/users", json=body), 400)
    assert field in b["message"] and b["error"] == "validation_error", b
    assert admin.get("/api/users").json() == before


def test_duplicate_email(admin, make_user):
    u = make_user("OWNER")
    before = admin.get("/api/users").json()
    r = admin.post("/api/users", json={"name": "x", "email": u.email, "password": "secret-123"})
    b = assert_error_shape(r, 409)
    assert b["error"] == "conflict", b
    assert admin.get("/api/users").json() == before


def test_patch_rejects_unknown_role(admin, make_user):
    u = make_user("OWNER")
    b = assert_error_shape(admin.patch("/api/users/%s" % u.id, json={"role": "KING"}), 400)
    assert "role" in b["message"], b
    assert [x["role"] for x in admin.get("/api/users").json() if x["id"] == u.id] == ["OWNER"]


def test_api_key_lifecycle(make_user):
    u = make_user("OWNER")
    assert KEY_RE.fullmatch(u.key), u.key
    r = u.api.get("/api/user/api-key")
    assert r.status_code == 200
    # never shown in full again: the prefix, then a mask
    assert r.json() == {"apiKey": u.key[:12] + "••••••••"}, r.text
    r = u.api.post("/api/user/api-key")
    assert r.status_code == 200
    new = r.json()["apiKey"]
    assert set(r.json()) == {"apiKey"} and KEY_RE.fullmatch(new) and new != u.key, r.text
    b = assert_error_shape(u.api.get("/api/sessions"), 401)     # old key is gone
    assert b["error"] == "unauthorized", b
    fresh = Api(u.api.base, new)
    r = fresh.get("/api/sessions")
    assert r.status_code == 200 and r.json() == [], r.text
    assert_ok_shape(fresh.delete("/api/user/api-key"))
    assert_error_shape(fresh.get("/api/sessions"), 401)
    # signed in with the password, the user sees that there is no key
    web = login(u.api.base, u.email, u.password)
    r = web.get("/api/user/api-key")
    assert r.status_code == 200 and r.json() == {"apiKey": None}, r.text


GRANT_KEYS = {"id", "sessionId", "userId", "createdAt", "user"}


def test_access_grant_list_revoke(make_user, make_session):
    owner, staff = make_user("OWNER"), make_user("STAFF")
    s = make_session(owner.api)
    sid = s["sessionId"]
    assert_error_shape(staff.api.get("/api/sessions/%s" % sid), 403)
    r = owner.api.post("/api/sessions/%s/access" % sid, json={"email": staff.email})
    assert r.status_code == 201, r.text
    granted = data(r)
    assert r.json()["status"] is True and granted["userId"] == staff.id, r.text
    r = staff.api.get("/api/sessions/%s" % sid)
    assert r.status_code == 200 and r.json()["sessionId"] == sid, r.text[:300]
    assert [x["sessionId"] for x in staff.api.get("/api/sessions").json()] == [sid]
    b = assert_error_shape(owner.api.post("/api/sessions/%s/access" % sid, json={"email": staff.email}), 409)
    assert b["error"] == "conflict", b
    entries = assert_ok_shape(owner.api.get("/api/sessions/%s/access" % sid))
    assert len(entries) == 1, entries
    e = entries[0]
    assert set(e) == GRANT_KEYS, e
    assert e["userId"] == staff.id and e["sessionId"] == s["id"], e
    assert e["user"] == {"id": staff.id, "name": staff.email.split("@")[0], "email": staff.email,
                         "role": "STAFF"}, e
    assert_iso(e["createdAt"])
    # grantee cannot manage access
    assert_error_shape(staff.api.get("/api/sessions/%s/access" % sid), 403)
    assert_ok_shape(owner.api.delete("/api/sessions/%s/access" % sid, json={"userId": str(staff.id)}))
    assert_error_shape(staff.api.get("/api/sessions/%s" % sid), 403)
    assert staff.api.get("/api/sessions").json() == []
    assert assert_ok_shape(owner.api.get("/api/sessions/%s/access" % sid)) == []
    assert_error_shape(owner.api.delete("/api/sessions/%s/access" % sid, json={"userId": str(staff.id)}), 404)


def test_access_grant_rules(admin, make_user, make_session, bootstrap):
    owner = make_user("OWNER")
    sid = make_session(owner.api)["sessionId"]
    url = "/api/sessions/%s/access" % sid
    assert_error_shape(owner.api.post(url, json={"email": owner.email}), 400)        # the owner
    assert_error_shape(owner.api.post(url, json={"email": bootstrap["email"]}), 400)  # a SUPERADMIN
    assert_error_shape(owner.api.post(url, json={"email": "nobody@test.invalid"}), 404)
    b = assert_error_shape(owner.api.post(url, json={}), 400)
    assert "email" in b["message"], b
    b = assert_error_shape(owner.api.delete(url, json={}), 400)
    assert "userId" in b["message"], b
    assert assert_ok_shape(owner.api.get(url)) == []
