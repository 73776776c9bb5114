"""Notifications, system settings, check-updates, media files, stored reads."""
import os

import pytest

from conftest import (Api, assert_error_shape, assert_iso, assert_ok_shape, sql, store_media,
                      unique)

SETTINGS_KEYS = {"id", "appName", "logoUrl", "faviconUrl", "timezone", "enableRegistration", "updatedAt"}


def test_settings_public_read_and_admin_write(anon, admin, make_user):
    r = anon.get("/api/settings/system")
    assert r.status_code == 200
    s = r.json()
    assert set(s) == SETTINGS_KEYS, s            # nothing else, in particular nothing secret
    assert s["id"] == "default" and isinstance(s["appName"], str) and s["appName"], s
    assert isinstance(s["enableRegistration"], bool), s
    assert_iso(s["updatedAt"])
    old = s["appName"]
    try:
        r = admin.post("/api/settings/system", json={"appName": "Gateway X", "timezone": "Europe/Berlin"})
        assert r.status_code == 200, r.text[:300]
        w = r.json()
        assert set(w) == SETTINGS_KEYS and w["appName"] == "Gateway X" and w["timezone"] == "Europe/Berlin", w
        assert w["logoUrl"] == s["logoUrl"] and w["enableRegistration"] == s["enableRegistration"], w
        got = anon.get("/api/settings/system").json()
        assert got["appName"] == "Gateway X" and got["timezone"] == "Europe/Berlin", got
        # invalid: 400 naming the field, nothing written (all or nothing)
        for body, field in (({"appName": 5}, "appName"), ({"timezone": "Mars/Olympus"}, "timezone"),
                            ({"appName": "Y", "enableRegistration": "no"}, "enableRegistration")):
            b = assert_error_shape(admin.post("/api/settings/system", json=body), 400)
            assert field in b["message"], b
        assert anon.get("/api/settings/system").json()["appName"] == "Gateway X"
        staff = make_user("STAFF")
        b = assert_error_shape(staff.api.post("/api/settings/system", json={"appName": "no"}), 403)
        assert b["error"] == "forbidden", b
        assert anon.get("/api/settings/system").json()["appName"] == "Gateway X"
    finally:
        r = admin.post("/api/settings/system", json={"appName": old, "timezone": s["timezone"]})
        assert r.status_code == 200 and r.json()["appName"] == old, r.text[:300]


def test_registration_can_be_switched_off(admin, base_url):
    r = admin.post("/api/settings/system", json={"enableRegistration": False})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["enableRegistration"] is False, r.text[:300]
    email = unique("r") + "@x.invalid"
    try:
        r = Api(base_url).post("/api/auth/register", json={"name": "n", "email": email, "password": "password123"})
        assert_error_shape(r, 403)
        assert email not in [u["email"] for u in admin.get("/api/users").json()]
    finally:
        r = admin.post("/api/settings/system", json={"enableRegistration": True})
        assert r.status_code == 200 and r.json()["enableRegistration"] is True, r.text[:300]


NOTIFICATION_KEYS = {"id", "userId", "title", "message", "type", "href", "read", "createdAt"}


def test_notifications(admin, make_user):
    u = make_user("OWNER")
    r = admin.post("/api/notifications", json={"title": "Hi", "message": "there", "targetUserId": str(u.id),
                                               "type": "WARNING", "href": "/settings"})
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "count": 1}, r.text
    lst = u.api.get("/api/notifications").json()
    assert len(lst) == 1, lst
    n = lst[0]
    assert set(n) == NOTIFICATION_KEYS, n
    assert (n["userId"], n["title"], n["message"], n["type"], n["href"], n["read"]) == \
        (u.id, "Hi", "there", "WARNING", "/settings", False), n
    assert isinstance(n["id"], str) and assert_iso(n["createdAt"])
    # the admin's own list does not show it
    assert n["id"] not in [x["id"] for x in admin.get("/api/notifications").json()]
    d = assert_ok_shape(u.api.patch("/api/notifications/read", json={"ids": [n["id"]]}))
    assert d == {"count": 1}, d
    assert u.api.get("/api/notifications").json()[0]["read"] is True
    b = assert_error_shape(u.api.delete("/api/notifications/delete"), 400)
    assert "id" in b["message"], b
    assert_ok_shape(u.api.delete("/api/notifications/delete?id=%s" % n["id"]))
    assert u.api.get("/api/notifications").json() == []
    assert_error_shape(admin.post("/api/notifications", json={"title": "x"}), 400)
    assert_error_shape(admin.post("/api/notifications", json={"title": "x", "message": "y", "type": "PANIC"}), 400)
    assert_error_shape(u.api.post("/api/notifications", json={"title": "x", "message": "y", "broadcast": True}), 403)
    assert u.api.get("/api/notifications").json() == []


def test_notification_of_another_user_cannot_be_read_or_deleted(admin, make_user):
    a, b = make_user("OWNER"), make_user("OWNER")
    assert admin.post("/api/notifications", json={"title": "T", "message": "m",
                                                  "targetUserId": a.id}).json() == {"success": True, "count": 1}
    nid = a.api.get("/api/notifications").json()[0]["id"]
    b.api.patch("/api/notifications/read", json={"ids": [nid]})
    b.api.delete("/api/notifications/delete?id=%s" % nid)
    lst = a.api.get("/api/notifications").json()
    assert [(x["id"], x["read"]) for x in lst] == [(nid, False)], lst


def test_broadcast_reaches_every_user(admin, make_user):
    u = make_user("STAFF")
    users = admin.get("/api/users").json()
    r = admin.post("/api/notifications", json={"title": "Maintenance", "message": "soon", "broadcast": True})
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "count": len(users)}, (r.text, len(users))
    assert [x["title"] for x in u.api.get("/api/notifications").json()] == ["Maintenance"]


def test_check_updates_answers_in_one_of_the_two_documented_shapes(admin):
    """docs/api.md: 200 {success: true, message, version} when the release
    feed (updates.feed_url) can be read, else 500 in the error shape with
    success false, version null and "could not check for updates: ..."."""
    r = admin.post("/api/system/check-updates")
    body = r.json()
    if r.status_code == 200:
        assert body["success"] is True and isinstance(body["message"], str) and body["message"], body
        assert isinstance(body["version"], str) and body["version"], body
    else:
        assert_error_shape(r, 500)
        assert body["success"] is False and body["version"] is None, body
        assert body["error"] == "update_check_failed", body
        assert body["message"].startswith("could not check for updates: "), body
        assert len(body["message"]) > len("could not check for updates: "), body


def test_media_is_served_to_who_may_see_it(admin, anon, make_session, make_user, stack_config):
    """GET /api/media/{filename}: the bytes (sent by nginx through
    X-Accel-Redirect) for the session's owner and the SUPERADMIN; 404 for a
    user without access (nothing says the file exists); 401 without a key."""
    u = make_user("OWNER")
    s = make_session(u.api)["sessionId"]
    payload = os.urandom(1000)
    name = store_media(stack_config, s, payload)
    for api in (u.api, admin):
        r = api.get("/api/media/%s" % name)
        assert r.status_code == 200, r.text[:200]
        assert r.content == payload
        assert r.headers.get("Content-Type", "").startswith("image/png")
        assert "X-Accel-Redirect" not in r.headers          # nginx consumed it
    other = make_user("OWNER")
    r = other.api.get("/api/media/%s" % name)
    assert payload not in r.content
    b = assert_error_shape(r, 404)
    # the same answer as for a file that does not exist
    assert b == assert_error_shape(other.api.get("/api/media/nope-%s" % name), 404), b
    assert_error_shape(anon.get("/api/media/%s" % name), 401)


@pytest.mark.parametrize("name,status", [("nope.png", 404), (".hidden", 400), ("a..b", 400),
                                         ("%2e%2e", 400)])
def test_media_rejects_traversal_and_unknown(admin, name, status):
    b = assert_error_shape(admin.get("/api/media/%s" % name), status)
    assert b["error"] == ("not_found" if status == 404 else "validation_error"), b


def test_media_traversal_with_encoded_slashes_is_refused_in_the_error_shape(admin):
    # nginx resolves ../ before routing: such a request never reaches a file,
    # and the refusal is JSON like every other /api/ answer
    r = admin.get("/api/media/..%2F..%2F..%2Fetc%2Fpasswd")
    assert "root:" not in r.text
    assert_error_shape(r, 400)


def test_stored_reads_are_empty_for_a_new_session(admin, make_session):
    s = make_session(admin)["sessionId"]
    for path in ("/api/chat/%s" % s, "/api/chat/%s/628123456789@s.whatsapp.net" % s, "/api/groups/%s" % s):
        r = admin.get(path)
        assert r.status_code == 200 and r.json() == [], (path, r.status_code, r.text[:200])
    r = admin.get("/api/messages/%s/search?q=hello" % s)
    assert r.status_code == 200
    assert r.json() == {"success": True, "data": [],
                        "pagination": {"total": 0, "page": 1, "limit": 20, "pages": 0}}, r.text
    b = assert_error_shape(admin.get("/api/messages/%s/search" % s), 400)
    assert b["message"] == "q or jid is required", b
    b = assert_error_shape(admin.get("/api/messages/%s/download/NOPE/media" % s), 404)
    assert b["error"] == "not_found", b


U = "628123456789@s.whatsapp.net"
G = "120363000000000001@g.us"
MESSAGE_KEYS = {"id", "remoteJid", "fromMe", "keyId", "pushName", "type", "content", "status", "timestamp",
                "quoteId", "mediaUrl"}


def test_stored_reads_show_what_the_engine_stored(admin, make_session, stack_config):
    """Rows as the engine writes them (contacts, messages, wa_groups) come
    back in the reference's shapes with their values."""
    sess = make_session(admin)
    s, sid = sess["sessionId"], sess["id"]
    media = store_media(stack_config, s, b"\x89PNG stored", "png")
    sql(stack_config, "INSERT INTO contacts (wa_session_id, jid, name, notify) VALUES (%s, '%s', 'John Doe', 'Johnny')"
        % (sid, U))
    sql(stack_config, "INSERT INTO messages (wa_session_id, remote_jid, message_id, from_me, push_name, type, content, "
                      "status, timestamp) VALUES (%s, '%s', '3EB0AA01', 0, 'Johnny', 'TEXT', 'invoice attached', "
                      "'DELIVERED', '2026-01-15 08:00:00.000')" % (sid, U))
    sql(stack_config, "INSERT INTO messages (wa_session_id, remote_jid, message_id, from_me, type, caption, status, "
                      "media_path, media_mime, timestamp) VALUES (%s, '%s', '3EB0AA02', 1, 'IMAGE', 'look', 'READ', "
                      "'%s', 'image/png', '2026-01-15 08:01:00.000')" % (sid, U, media))
    sql(stack_config, "INSERT INTO wa_groups (wa_session_id, jid, subject, description, owner_jid, participants) "
                      "VALUES (%s, '%s', 'Team', 'about', '%s', '[{\"id\":\"%s\",\"admin\":\"superadmin\"}]')"
        % (sid, G, U, U))

    chats = admin.get("/api/chat/%s" % s).json()
    assert [c["jid"] for c in chats] == [U], chats
    c = chats[0]
    assert (c["name"], c["notify"], c["profilePic"]) == ("John Doe", "Johnny", None), c
    assert c["lastMessage"]["keyId"] == "3EB0AA02" and c["lastMessage"]["fromMe"] is True, c

    hist = admin.get("/api/chat/%s/%s" % (s, U)).json()
    assert sorted(m["keyId"] for m in hist) == ["3EB0AA01", "3EB0AA02"], hist
    for m in hist:
        assert MESSAGE_KEYS <= set(m), sorted(m)
        assert_iso(m["timestamp"])
    text = [m for m in hist if m["keyId"] == "3EB0AA01"][0]
    assert (text["remoteJid"], text["fromMe"], text["pushName"], text["type"], text["content"], text["status"],
            text["timestamp"], text["quoteId"], text["mediaUrl"]) == \
        (U, False, "Johnny", "TEXT", "invoice attached", "DELIVERED", "2026-01-15T08:00:00.000Z", None, None), text
    img = [m for m in hist if m["keyId"] == "3EB0AA02"][0]
    assert img["mediaUrl"] == "/api/messages/%s/download/3EB0AA02/media" % s, img
    r = admin.get(img["mediaUrl"])
    assert r.status_code == 200 and r.content == b"\x89PNG stored", (r.status_code, r.text[:200])
    assert r.headers["Content-Type"].startswith("image/png")
    b = assert_error_shape(admin.get("/api/messages/%s/download/3EB0AA01/media" % s), 404)
    assert b["error"] == "no_media", b

    r = admin.get("/api/messages/%s/search?q=invoice" % s)
    assert r.status_code == 200
    found = r.json()
    assert found["success"] is True and [m["keyId"] for m in found["data"]] == ["3EB0AA01"], found
    assert found["data"][0] == text, found
    assert found["pagination"] == {"total": 1, "page": 1, "limit": 20, "pages": 1}, found

    groups = admin.get("/api/groups/%s" % s).json()
    assert len(groups) == 1, groups
    g = groups[0]
    assert (g["id"], g["subject"], g["desc"], g["owner"], g["size"], g["isCommunity"], g["linkedParentJid"]) == \
        (G, "Team", "about", U, 1, False, None), g
    assert g["participants"] == [{"id": U, "admin": "superadmin"}], g

    d = admin.get("/api/sessions/%s" % s).json()
    assert d["_count"]["contacts"] == 1 and d["_count"]["messages"] == 2 and d["_count"]["groups"] == 1, d
    assert d["messageCount"] == 2, d
