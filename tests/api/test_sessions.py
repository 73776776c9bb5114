"""Sessions as stored data: create, list, details, settings, QR, actions, delete."""
import pytest

from conftest import (NOT_READY, assert_error_shape, assert_iso, assert_ok_shape, sql, stop_session,
                      unique)

COUNT_KEYS = {"contacts", "messages", "groups", "autoReplies", "scheduledMessages"}
# Fields of the reference's Session object every listing and detail carries.
SESSION_KEYS = {"id", "name", "sessionId", "status", "userId", "botConfig", "webhooks", "_count",
                "createdAt", "updatedAt"}


def assert_session(s, slug, name, user_id):
    assert SESSION_KEYS <= set(s), sorted(s)
    assert s["sessionId"] == slug and s["name"] == name, s
    assert isinstance(s["id"], str) and s["id"].isdigit(), s
    assert s["userId"] == user_id, s
    assert s["status"] in ("Connected", "Disconnected", "Connecting"), s
    assert set(s["_count"]) == COUNT_KEYS, s
    assert isinstance(s["botConfig"], dict) and s["botConfig"]["sessionId"] == s["id"], s
    assert isinstance(s["webhooks"], list), s
    assert_iso(s["createdAt"])
    assert_iso(s["updatedAt"])


def admin_id(admin):
    r = admin.get("/api/auth/session")
    assert r.status_code == 200, r.text[:200]
    return r.json()["user"]["id"]


def test_create_list_get_delete(admin, engine_running):
    slug = unique("s")
    uid = admin_id(admin)
    r = admin.post("/api/sessions", json={"name": "Marketing Bot", "sessionId": slug})
    assert r.status_code == 200, r.text
    s = r.json()
    assert_session(s, slug, "Marketing Bot", uid)
    # a new session has never been paired: nothing stored under it yet
    assert s["status"] == "Disconnected", s
    assert s["_count"] == dict.fromkeys(COUNT_KEYS, 0), s
    assert s["webhooks"] == [], s
    listed = [x for x in admin.get("/api/sessions").json() if x["sessionId"] == slug]
    assert len(listed) == 1, listed
    assert_session(listed[0], slug, "Marketing Bot", uid)
    assert listed[0]["id"] == s["id"]
    # details of a session that is not connected (stopped, so true with an engine too)
    stop_session(admin, slug, engine_running)
    r = admin.get("/api/sessions/%s" % slug)
    assert r.status_code == 200, r.text[:300]
    d = r.json()
    assert_session(d, slug, "Marketing Bot", uid)
    assert d["status"] == "Disconnected" and d["hasInstance"] is False, d
    assert d["uptime"] == 0 and d["messageCount"] == 0 and d["me"] is None, d
    # the internal id addresses the same session
    assert admin.get("/api/sessions/%s" % s["id"]).json()["sessionId"] == slug
    r = admin.delete("/api/sessions/%s/settings" % slug)
    assert assert_ok_shape(r, 200, "Session deleted") is None
    b = assert_error_shape(admin.get("/api/sessions/%s" % slug), 404)
    assert b["error"] == "session_not_found", b
    assert slug not in [x["sessionId"] for x in admin.get("/api/sessions").json()]


def test_generated_session_ids_are_unique(admin, make_session):
    a = make_session(admin, name="Same Name")
    b = make_session(admin, name="Same Name")
    assert a["sessionId"] != b["sessionId"]
    assert a["name"] == b["name"] == "Same Name"
    for s in (a, b):
        assert isinstance(s["sessionId"], str) and 0 < len(s["sessionId"]) <= 64, s


@pytest.mark.parametrize("body,field", [({}, "name"), ({"name": ""}, "name"), ({"name": 5}, "name"),
                                        ({"name": "x", "sessionId": "bad id!"}, "sessionId"),
                                        ({"name": "x", "sessionId": "a" * 65}, "sessionId"),
                                        ({"name": "x", "sessionId": 7}, "sessionId")])
def test_create_rejects_bad_input_and_changes_nothing(admin, body, field):
    before = admin.get("/api/sessions").json()
    r = admin.post("/api/sessions", json=body)
    b = assert_error_shape(r, 400)
    assert field.lower() in b["message"].lower() and b["error"] == "validation_error", b
    assert admin.get("/api/sessions").json() == before


def test_malformed_json_is_400(admin):
    r = admin.post("/api/sessions", data="{\"name\":", headers={"Content-Type": "application/json"})
    body = assert_error_shape(r, 400)
    assert "JSON" in body["message"] and body["error"] == "invalid_json", body


def test_duplicate_session_id_is_409(admin, make_session):
    s = make_session(admin)
    b = assert_error_shape(admin.post("/api/sessions", json={"name": "x", "sessionId": s["sessionId"]}), 409)
    assert b["error"] == "conflict", b
    assert [x["sessionId"] for x in admin.get("/api/sessions").json()].count(s["sessionId"]) == 1


def test_staff_cannot_create_sessions(make_user):
    staff = make_user("STAFF")
    b = assert_error_shape(staff.api.post("/api/sessions", json={"name": "nope"}), 403)
    assert b["error"] == "forbidden", b
    assert staff.api.get("/api/sessions").json() == []


def test_owner_sees_only_own_and_shared(make_user, make_session):
    a, b = make_user("OWNER"), make_user("OWNER")
    sa = make_session(a.api)
    sb = make_session(b.api)
    assert sa["userId"] == a.id and sb["userId"] == b.id
    assert [x["sessionId"] for x in a.api.get("/api/sessions").json()] == [sa["sessionId"]]
    assert_error_shape(a.api.get("/api/sessions/%s" % sb["sessionId"]), 403)
    assert b.api.post("/api/sessions/%s/access" % sb["sessionId"], json={"email": a.email}).status_code == 201
    assert {x["sessionId"] for x in a.api.get("/api/sessions").json()} == {sa["sessionId"], sb["sessionId"]}
    # a shared session is listed with its real owner
    shared = [x for x in a.api.get("/api/sessions").json() if x["sessionId"] == sb["sessionId"]][0]
    assert shared["userId"] == b.id, shared


def test_settings_merge_config(admin, make_session):
    s = make_session(admin)
    url = "/api/sessions/%s/settings" % s["sessionId"]
    d = assert_ok_shape(admin.patch(url, json={"config": {"readReceipts": True}}), 200, "Settings updated")
    assert d == {"sessionId": s["sessionId"], "config": {"readReceipts": True}}, d
    d = assert_ok_shape(admin.patch(url, json={"config": {"rejectCalls": True}}), 200, "Settings updated")
    assert d["config"] == {"readReceipts": True, "rejectCalls": True}, d
    # JSON merge patch: null removes a key
    d = assert_ok_shape(admin.patch(url, json={"config": {"readReceipts": None}}), 200)
    assert d["config"] == {"rejectCalls": True}, d
    b = assert_error_shape(admin.patch(url, json={"config": 3}), 400)
    assert "config" in b["message"], b
    assert admin.get("/api/sessions/%s" % s["sessionId"]).json()["config"] == {"rejectCalls": True}


def test_qr_of_a_stopped_session_is_404(admin, make_session, engine_running):
    s = make_session(admin)
    stop_session(admin, s["sessionId"], engine_running)
    b = assert_error_shape(admin.get("/api/sessions/%s/qr" % s["sessionId"]), 404)
    assert b["error"] == "qr_not_available", b


def test_qr_stored_by_the_engine_is_served_with_a_png(admin, make_session, engine_running, stack_config):
    """The QR the engine stores (wa_sessions.qr) is served in the reference's
    shape; a connected session answers 400 instead. The rows are written
    directly, on a stopped session no engine touches."""
    s = make_session(admin)
    stop_session(admin, s["sessionId"], engine_running)
    qr = "2@test-ref==,JN6PL/dSFMsWh5UM5HvGer54W7oJ52LK7VK1+SGGoj8=,x,y,1"
    sql(stack_config, "UPDATE wa_sessions SET qr = '%s', qr_updated_at = CURRENT_TIMESTAMP(3) "
                      "WHERE session_id = '%s'" % (qr, s["sessionId"]))
    d = assert_ok_shape(admin.get("/api/sessions/%s/qr" % s["sessionId"]), 200, "QR code generated")
    assert d["success"] is True and d["qr"] == qr, d
    assert d["base64"].startswith("data:image/png;base64,iVBORw0KGgo"), d["base64"][:60]
    # an old QR (over 60 s) is not served
    sql(stack_config, "UPDATE wa_sessions SET qr_updated_at = CURRENT_TIMESTAMP(3) - INTERVAL 2 MINUTE "
                      "WHERE session_id = '%s'" % s["sessionId"])
    assert assert_error_shape(admin.get("/api/sessions/%s/qr" % s["sessionId"]), 404)["error"] == "qr_not_available"
    sql(stack_config, "UPDATE wa_sessions SET status = 'CONNECTED' WHERE session_id = '%s'" % s["sessionId"])
    b = assert_error_shape(admin.get("/api/sessions/%s/qr" % s["sessionId"]), 400)
    assert b["error"] == "already_connected", b


def auto_start(stack_config, slug):
    return sql(stack_config, "SELECT auto_start FROM wa_sessions WHERE session_id = '%s'" % slug)


def test_unknown_action_is_400(admin, make_session):
    s = make_session(admin)
    b = assert_error_shape(admin.post("/api/sessions/%s/explode" % s["sessionId"]), 400)
    assert b["error"] == "invalid_action" and "explode" in b["message"], b


def test_stop_and_start_record_auto_start_and_answer_for_the_stack(admin, make_session, engine_running,
                                                                   stack_config):
    """stop/start record whether the session should run (auto_start, which
    an engine reads when it takes sessions over) in every case. The answer
    is the one that fits this stack: with an engine, 200 in the success
    shape; without, 503 in the error shape, start saying that the session
    starts when an engine does."""
    s = make_session(admin)
    slug = s["sessionId"]
    assert auto_start(stack_config, slug) == "1"      # created to be started
    r = admin.post("/api/sessions/%s/stop" % slug)
    if engine_running:
        assert_ok_shape(r, 200, "Session stop requested")
    else:
        b = assert_error_shape(r, 503)
        assert b["message"] == NOT_READY and b["error"] == "engine_unavailable", b
    assert auto_start(stack_config, slug) == "0"
    r = admin.post("/api/sessions/%s/start" % slug)
    if engine_running:
        assert_ok_shape(r, 200, "Session start requested")
    else:
        b = assert_error_shape(r, 503)
        assert b["message"] == "No WhatsApp engine is running; the session starts when one does", b
        assert b["error"] == "engine_unavailable", b
    assert auto_start(stack_config, slug) == "1"
    stop_session(admin, slug, engine_running)
    assert auto_start(stack_config, slug) == "0"


def test_wrong_method_is_405_with_allow(admin):
    r = admin.put("/api/sessions")
    b = assert_error_shape(r, 405)
    assert b["error"] == "method_not_allowed", b
    assert set(x.strip() for x in r.headers["Allow"].split(",")) == {"GET", "POST"}


def test_counts_follow_every_writer(admin, make_session, stack_config):
    """_count is kept in step with the rows whoever writes them (the API's
    auto-replies and scheduler, the engine's rows written straight into the
    database): inserts, deletes, a group left and joined again; one
    session's rows never count for another."""
    sess, other = make_session(admin), make_session(admin)
    s, sid = sess["sessionId"], sess["id"]
    jid = "628111000111@s.whatsapp.net"

    def counts(slug=s):
        d = admin.get("/api/sessions/%s" % slug).json()
        listed = [x for x in admin.get("/api/sessions").json() if x["sessionId"] == slug]
        assert listed and listed[0]["_count"] == d["_count"], (listed, d)
        assert d["messageCount"] == d["_count"]["messages"], d
        return d["_count"]

    for i in range(3):
        sql(stack_config, "INSERT INTO messages (wa_session_id, remote_jid, message_id, type, content) "
                          "VALUES (%s, '%s', 'CNT%d', 'TEXT', 'x')" % (sid, jid, i))
    sql(stack_config, "INSERT INTO contacts (wa_session_id, jid) VALUES (%s, '%s')" % (sid, jid))
    sql(stack_config, "INSERT INTO wa_groups (wa_session_id, jid) VALUES (%s, '1203630001@g.us'), "
                      "(%s, '1203630002@g.us')" % (sid, sid))
    sql(stack_config, "INSERT INTO wa_groups (wa_session_id, jid, left_at) VALUES (%s, '1203630003@g.us', NOW())"
        % sid)
    rule = assert_ok_shape(admin.post("/api/autoreplies/%s" % s, json={"keyword": "a", "response": "b"}))
    assert_ok_shape(admin.post("/api/autoreplies/%s" % s, json={"keyword": "c", "response": "d"}))
    assert_ok_shape(admin.post("/api/scheduler/%s" % s, json={"jid": jid, "content": "later",
                                                              "sendAt": "2099-01-01T00:00:00.000Z"}))
    assert counts() == {"contacts": 1, "messages": 3, "groups": 2, "autoReplies": 2, "scheduledMessages": 1}
    assert counts(other["sessionId"]) == dict.fromkeys(COUNT_KEYS, 0)

    sql(stack_config, "DELETE FROM messages WHERE wa_session_id = %s AND message_id = 'CNT0'" % sid)
    sql(stack_config, "UPDATE wa_groups SET left_at = NOW() WHERE wa_session_id = %s AND jid = '1203630001@g.us'"
        % sid)
    sql(stack_config, "UPDATE wa_groups SET left_at = NULL WHERE wa_session_id = %s AND jid = '1203630003@g.us'"
        % sid)
    sql(stack_config, "UPDATE wa_groups SET subject = 'renamed' WHERE wa_session_id = %s" % sid)
    sql(stack_config, "DELETE FROM wa_groups WHERE wa_session_id = %s AND jid = '1203630002@g.us'" % sid)
    assert assert_ok_shape(admin.delete("/api/autoreplies/%s/%s" % (s, rule["id"]))) == {"id": rule["id"]}
    assert assert_ok_shape(admin.delete("/api/scheduler/%s" % s)) == {"count": 1}
    assert counts() == {"contacts": 1, "messages": 2, "groups": 1, "autoReplies": 1, "scheduledMessages": 0}
    # what the session list counts is what the rows are
    assert sql(stack_config, "SELECT (SELECT COUNT(*) FROM messages WHERE wa_session_id = %s), "
                             "(SELECT COUNT(*) FROM wa_groups WHERE wa_session_id = %s AND left_at IS NULL)"
               % (sid, sid)) == "2\t1"


def test_list_and_details_carry_each_sessions_webhooks(admin, make_session):
    """Every session of the list and its details carry exactly the API's
    members, and each its own webhooks, in created order, as
    /api/webhooks/{sessionId} shows them (read in one statement with the
    sessions: none, one and two webhooks side by side)."""
    none, one, two = make_session(admin), make_session(admin), make_session(admin)
    made = {}
    for sess, n in ((none, 0), (one, 1), (two, 2)):
        s = sess["sessionId"]
        for i in range(n):
            assert_ok_shape(admin.post("/api/webhooks/%s" % s, json={
                "name": "h%d" % i, "url": "https://example.invalid/%s/%d" % (s, i), "secret": "k\"\\%d" % i,
                "events": ["message.received"] if i else ["*"]}))
        made[s] = assert_ok_shape(admin.get("/api/webhooks/%s" % s))
        assert len(made[s]) == n, made[s]
    assert_ok_shape(admin.patch("/api/sessions/%s/settings" % two["sessionId"], json={"config": {"a": [1, "x"]}}))
    listed = {x["sessionId"]: x for x in admin.get("/api/sessions").json()}
    for s, hooks in made.items():
        assert set(listed[s]) == SESSION_KEYS, sorted(listed[s])
        assert listed[s]["webhooks"] == hooks, (listed[s]["webhooks"], hooks)
        d = admin.get("/api/sessions/%s" % s).json()
        extra = {"uptime", "messageCount", "hasInstance", "me"} | ({"config"} if s == two["sessionId"] else set())
        assert set(d) == SESSION_KEYS | extra, sorted(d)
        assert d["webhooks"] == hooks and d["botConfig"] == listed[s]["botConfig"], d
        assert {k: d[k] for k in SESSION_KEYS} == listed[s]
    assert admin.get("/api/sessions/%s" % two["sessionId"]).json()["config"] == {"a": [1, "x"]}
