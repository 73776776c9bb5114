"""Users (SUPERADMIN), the caller's API key, and session access grants."""
import pytest

from conftest import Api, assert_error_shape, data, login, unique


def test_user_crud(admin):
    email = unique("u") + "@test.invalid"
    r = admin.post("/api/users", json={"name": "U", "email": email, "password": "secret-123", "role": "STAFF"})
    assert r.status_code == 200, r.text
    u = r.json()
    assert u["email"] == email and u["role"] == "STAFF" and isinstance(u["id"], str) and "createdAt" in u
    assert "password" not in u and "passwordHash" not in u and "password_hash" not in u
    listed = admin.get("/api/users").json()
    mine = [x for x in listed if x["email"] == email]
    assert mine and "_count" in mine[0] and "sessions" in mine[0]["_count"]
    r = admin.patch("/api/users/%s" % u["id"], json={"name": "U2", "role": "OWNER"})
    assert r.status_code == 200 and r.json()["success"] is True
    assert r.json()["user"]["name"] == "U2" and r.json()["user"]["role"] == "OWNER"
    # the new password works
    r = admin.patch("/api/users/%s" % u["id"], json={"password": "another-123"})
    assert r.status_code == 200
    login(admin.base, email, "another-123")
    r = admin.delete("/api/users/%s" % u["id"])
    assert r.status_code == 200 and r.json()["success"] is True
    assert_error_shape(admin.delete("/api/users/%s" % u["id"]), 404)
    assert_error_shape(admin.patch("/api/users/%s" % u["id"], json={"name": "x"}), 404)


@pytest.mark.parametrize("body", [
    {"email": "a@b.c", "password": "secret-123"},
    {"name": "x", "email": "not-an-email", "password": "secret-123"},
    {"name": "x", "email": "a@b.c"},
    {"name": "x", "email": "a@b.c", "password": "secret-123", "role": "KING"},
    {"name": 3, "email": "a@b.c", "password": "secret-123"},
])
def test_user_create_validation(admin, body):
    n = len(admin.get("/api/users").json())
    assert_error_shape(admin.post("/api/users", json=body), 400)
    assert len(admin.get("/api/users").json()) == n


def test_duplicate_email(admin, make_user):
    u = make_user("OWNER")
    r = admin.post("/api/users", json={"name": "x", "email": u.email, "password": "secret-123"})
    assert r.status_code in (400, 409)
    assert_error_shape(r)


def test_patch_rejects_unknown_role(admin, make_user):
    u = make_user("OWNER")
    assert_error_shape(admin.patch("/api/users/%s" % u.id, json={"role": "KING"}), 400)


def test_api_key_lifecycle(make_user):
    u = make_user("OWNER")
    r = u.api.get("/api/user/api-key")
    assert r.status_code == 200
    shown = data(r)["apiKey"]
    # never shown in full again: masked, and not the key itself
    assert shown and shown != u.key and shown.startswith(u.key[:8])
    r = u.api.post("/api/user/api-key")
    assert r.status_code == 200
    new = data(r)["apiKey"]
    assert new != u.key
    assert_error_shape(u.api.get("/api/sessions"), 401)     # old key is gone
    fresh = Api(u.api.base, new)
    assert fresh.get("/api/sessions").status_code == 200
    r = fresh.delete("/api/user/api-key")
    assert r.status_code == 200 and r.json()["status"] is True
    assert_error_shape(fresh.get("/api/sessions"), 401)


def test_access_grant_list_revoke(make_user, make_session):
    owner, staff = make_user("OWNER"), make_user("STAFF")
    s = make_session(owner.api)
    sid = s["sessionId"]
    assert_error_shape(staff.api.get("/api/sessions/%s" % sid), 403)
    r = owner.api.post("/api/sessions/%s/access" % sid, json={"email": staff.email})
    assert r.status_code == 201, r.text
    assert staff.api.get("/api/sessions/%s" % sid).status_code == 200
    assert_error_shape(owner.api.post("/api/sessions/%s/access" % sid, json={"email": staff.email}), 409)
    lst = owner.api.get("/api/sessions/%s/access" % sid)
    assert lst.status_code == 200 and lst.json()["status"] is True
    entries = lst.json()["data"]
    assert [e["user"]["email"] for e in entries] == [staff.email]
    assert entries[0]["userId"] == str(staff.id)
    # grantee cannot manage access
    assert_error_shape(staff.api.get("/api/sessions/%s/access" % sid), 403)
    r = owner.api.delete("/api/sessions/%s/access" % sid, json={"userId": str(staff.id)})
    assert r.status_code == 200
    assert_error_shape(staff.api.get("/api/sessions/%s" % sid), 403)
    assert_error_shape(owner.api.delete("/api/sessions/%s/access" % sid, json={"userId": str(staff.id)}), 404)


def test_access_grant_rules(admin, make_user, make_session, bootstrap):
    owner = make_user("OWNER")
    sid = make_session(owner.api)["sessionId"]
    assert_error_shape(owner.api.post("/api/sessions/%s/access" % sid, json={"email": owner.email}), 400)
    assert_error_shape(owner.api.post("/api/sessions/%s/access" % sid, json={"email": bootstrap["email"]}), 400)
    assert_error_shape(owner.api.post("/api/sessions/%s/access" % sid, json={"email": "nobody@test.invalid"}), 404)
    assert_error_shape(owner.api.post("/api/sessions/%s/access" % sid, json={}), 400)
    assert_error_shape(owner.api.delete("/api/sessions/%s/access" % sid, json={}), 400)
