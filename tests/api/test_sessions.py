"""Sessions as stored data: create, list, details, settings, QR, actions, delete."""
import pytest

from conftest import assert_error_shape, data, unique


def test_create_list_get_delete(admin, make_session):
    slug = unique("s")
    r = admin.post("/api/sessions", json={"name": "Marketing Bot", "sessionId": slug})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["sessionId"] == slug and s["name"] == "Marketing Bot"
    assert s["status"] in ("Connected", "Disconnected", "Connecting")
    assert isinstance(s["id"], str) and isinstance(s["userId"], str)
    assert set(s["_count"]) == {"contacts", "messages", "groups", "autoReplies", "scheduledMessages"}
    assert s["createdAt"].endswith("Z")
    listed = [x["sessionId"] for x in admin.get("/api/sessions").json()]
    assert slug in listed
    d = admin.get("/api/sessions/%s" % slug).json()
    for k in ("uptime", "messageCount", "hasInstance", "me"):
        assert k in d
    assert d["hasInstance"] is False
    # the internal id addresses the same session
    assert admin.get("/api/sessions/%s" % s["id"]).json()["sessionId"] == slug
    r = admin.delete("/api/sessions/%s/settings" % slug)
    assert r.status_code == 200 and r.json()["status"] is True
    assert_error_shape(admin.get("/api/sessions/%s" % slug), 404)


def test_generated_session_ids_are_unique(admin, make_session):
    a = make_session(admin, name="Same Name")
    b = make_session(admin, name="Same Name")
    assert a["sessionId"] != b["sessionId"]


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": 5}, {"name": "x", "sessionId": "bad id!"},
                                  {"name": "x", "sessionId": "a" * 65}, {"name": "x", "sessionId": 7}])
def test_create_rejects_bad_input_and_changes_nothing(admin, body):
    before = len(admin.get("/api/sessions").json())
    r = admin.post("/api/sessions", json=body)
    assert_error_shape(r, 400)
    assert len(admin.get("/api/sessions").json()) == before


def test_malformed_json_is_400(admin):
    r = admin.post("/api/sessions", data="{\"name\":", headers={"Content-Type": "application/json"})
    body = assert_error_shape(r, 400)
    assert "JSON" in body["message"]


def test_duplicate_session_id_is_409(admin, make_session):
    s = make_session(admin)
    assert_error_shape(admin.post("/api/sessions", json={"name": "x", "sessionId": s["sessionId"]}), 409)


def test_staff_cannot_create_sessions(make_user):
    staff = make_user("STAFF")
    assert_error_shape(staff.api.post("/api/sessions", json={"name": "nope"}), 403)


def test_owner_sees_only_own_and_shared(make_user, make_session):
    a, b = make_user("OWNER"), make_user("OWNER")
    sa = make_session(a.api)
    sb = make_session(b.api)
    ids = {x["sessionId"] for x in a.api.get("/api/sessions").json()}
    assert sa["sessionId"] in ids and sb["sessionId"] not in ids
    assert b.api.post("/api/sessions/%s/access" % sb["sessionId"], json={"email": a.email}).status_code == 201
    ids = {x["sessionId"] for x in a.api.get("/api/sessions").json()}
    assert sb["sessionId"] in ids


def test_settings_merge_config(admin, make_session):
    s = make_session(admin)
    r = admin.patch("/api/sessions/%s/settings" % s["sessionId"], json={"config": {"readReceipts": True}})
    assert r.status_code == 200 and data(r)["config"] == {"readReceipts": True}
    r = admin.patch("/api/sessions/%s/settings" % s["sessionId"], json={"config": {"rejectCalls": True}})
    assert data(r)["config"] == {"readReceipts": True, "rejectCalls": True}
    assert_error_shape(admin.patch("/api/sessions/%s/settings" % s["sessionId"], json={"config": 3}), 400)


def test_qr_not_available_without_engine(admin, make_session):
    s = make_session(admin)
    assert_error_shape(admin.get("/api/sessions/%s/qr" % s["sessionId"]), 404)


def test_actions(admin, make_session):
    s = make_session(admin)
    assert_error_shape(admin.post("/api/sessions/%s/explode" % s["sessionId"]), 400)
    # no engine runs in this suite: a real action answers 503 in the error shape
    r = admin.post("/api/sessions/%s/stop" % s["sessionId"])
    assert r.status_code in (200, 503), r.text
    if r.status_code == 503:
        assert_error_shape(r, 503)


def test_wrong_method_is_405_with_allow(admin):
    r = admin.put("/api/sessions")
    assert_error_shape(r, 405)
    assert set(x.strip() for x in r.headers["Allow"].split(",")) >= {"GET", "POST"}
