"""Bot config, auto-replies, scheduler and webhooks as stored data.

Shapes (docs/api.md "Stored data"): the bot config is the reference's bare
object; auto-replies, scheduler and per-session webhooks answer in the
wrapped success shape {"status": true, "message", "data"}.
"""
import datetime

import pytest

from conftest import assert_error_shape, assert_iso, assert_ok_shape

U = "628123456789@s.whatsapp.net"


def items(resp):
    """The list of a wrapped list answer."""
    lst = assert_ok_shape(resp)
    assert isinstance(lst, list), lst
    return lst


@pytest.fixture
def session(admin, make_session):
    return make_session(admin)


@pytest.fixture
def sess(session):
    return session["sessionId"]


# Response fields of the reference's bot config.
BOT_KEYS = {"id", "sessionId", "enabled", "botMode", "botAllowedJids", "autoReplyMode", "autoReplyAllowedJids",
            "botName", "enableSticker", "enableVideoSticker", "maxStickerDuration", "enablePing", "enableUptime",
            "removeBgApiKey", "createdAt", "updatedAt"}


def bot_config(admin, sess):
    r = admin.get("/api/sessions/%s/bot-config" % sess)
    assert r.status_code == 200, r.text[:300]
    cfg = r.json()
    assert BOT_KEYS <= set(cfg), sorted(BOT_KEYS - set(cfg))
    return cfg


def test_bot_config_roundtrip(admin, session):
    sess = session["sessionId"]
    cfg = bot_config(admin, sess)
    assert cfg["sessionId"] == session["id"], cfg
    assert cfg["botMode"] in ("OWNER", "SPECIFIC", "BLACKLIST", "ALL") and isinstance(cfg["enabled"], bool), cfg
    assert_iso(cfg["createdAt"])
    change = {"enabled": True, "botMode": "BLACKLIST", "botBlockedJids": ["628111@s.whatsapp.net"],
              "autoReplyMode": "SPECIFIC", "autoReplyAllowedJids": ["628222@s.whatsapp.net"],
              "botName": "My Assistant", "enableSticker": False, "maxStickerDuration": 7}
    r = admin.post("/api/sessions/%s/bot-config" % sess, json=change)
    assert r.status_code == 200, r.text
    answered = r.json()
    assert BOT_KEYS <= set(answered), answered
    for k, v in change.items():
        assert answered[k] == v, (k, answered[k], v)
    # unchanged fields keep their values
    for k in ("enableVideoSticker", "enablePing", "enableUptime", "botAllowedJids", "removeBgApiKey"):
        assert answered[k] == cfg[k], (k, answered[k], cfg[k])
    stored = bot_config(admin, sess)
    assert stored == answered, (stored, answered)
    # shown in the session too
    assert admin.get("/api/sessions/%s" % sess).json()["botConfig"]["botName"] == "My Assistant"


def test_the_session_list_shows_the_same_bot_config_as_its_own_route(admin, make_session):
    """GET /api/sessions reads every session's botConfig with the session
    rows (one statement, fcgi/h_sessions.c BOT_COLS); it must answer what
    GET /api/sessions/{id}/bot-config answers, for a session with a stored
    config and for one with only the defaults."""
    custom = make_session(admin)["sessionId"]
    plain = make_session(admin)["sessionId"]
    r = admin.post("/api/sessions/%s/bot-config" % custom,
                   json={"botMode": "SPECIFIC", "botAllowedJids": ["628111@s.whatsapp.net"], "botName": "Listed",
                         "maxStickerDuration": 9, "enablePing": False})
    assert r.status_code == 200, r.text
    listed = {s["sessionId"]: s["botConfig"] for s in admin.get("/api/sessions").json()}
    for sid in (custom, plain):
        own = bot_config(admin, sid)
        assert listed[sid] == own, (sid, listed[sid], own)
        assert admin.get("/api/sessions/%s" % sid).json()["botConfig"] == own, sid


@pytest.mark.parametrize("body,field", [({"botMode": "SOMETIMES"}, "botMode"), ({"enabled": "yes"}, "enabled"),
                                        ({"maxStickerDuration": "7"}, "maxStickerDuration"),
                                        ({"botAllowedJids": "628@s.whatsapp.net"}, "botAllowedJids")])
def test_bot_config_validation(admin, sess, body, field):
    before = bot_config(admin, sess)
    b = assert_error_shape(admin.post("/api/sessions/%s/bot-config" % sess, json=body), 400)
    assert field in b["message"] and b["error"] == "validation_error", b
    assert bot_config(admin, sess) == before


RULE_KEYS = {"id", "sessionId", "keyword", "response", "matchType", "isMedia", "mediaUrl", "triggerType",
             "createdAt", "updatedAt"}


def test_autoreply_crud(admin, session):
    sess = session["sessionId"]
    base = "/api/autoreplies/%s" % sess
    rule = assert_ok_shape(admin.post(base, json={"keyword": "hello", "response": "Hi!", "matchType": "CONTAINS",
                                                  "triggerType": "PRIVATE"}))
    assert RULE_KEYS <= set(rule), rule
    assert (rule["sessionId"], rule["keyword"], rule["response"], rule["matchType"], rule["triggerType"],
            rule["isMedia"], rule["mediaUrl"]) == (session["id"], "hello", "Hi!", "CONTAINS", "PRIVATE", False, None)
    rid = rule["id"]
    assert isinstance(rid, str), rule
    assert items(admin.get(base)) == [rule]
    upd = assert_ok_shape(admin.put("%s/%s" % (base, rid), json={"keyword": "hey", "response": "Yo"}))
    assert (upd["id"], upd["keyword"], upd["response"]) == (rid, "hey", "Yo"), upd
    assert items(admin.get(base)) == [upd]
    assert_error_shape(admin.put("%s/999999999" % base, json={"keyword": "a", "response": "b"}), 404)
    assert assert_ok_shape(admin.delete("%s/%s" % (base, rid))) == {"id": rid}
    assert items(admin.get(base)) == []
    assert_error_shape(admin.delete("%s/%s" % (base, rid)), 404)
    assert_ok_shape(admin.post(base, json={"keyword": "a", "response": "b"}))
    assert_ok_shape(admin.post(base, json={"keyword": "c", "response": "d"}))
    assert [x["keyword"] for x in items(admin.get(base))] == ["a", "c"]
    # defaults of the reference
    assert {(x["matchType"], x["triggerType"]) for x in items(admin.get(base))} == {("EXACT", "ALL")}
    assert assert_ok_shape(admin.delete(base)) == {"count": 2}
    assert items(admin.get(base)) == []


@pytest.mark.parametrize("body,field", [({"keyword": "a"}, "response"), ({"response": "b"}, "keyword"),
                                        ({"keyword": "a", "response": "b", "matchType": "FUZZY"}, "matchType"),
                                        ({"keyword": "a", "response": "b", "triggerType": "NOBODY"}, "triggerType"),
                                        ({"keyword": "(", "response": "b", "matchType": "REGEX"}, "keyword")])
def test_autoreply_validation(admin, sess, body, field):
    b = assert_error_shape(admin.post("/api/autoreplies/%s" % sess, json=body), 400)
    assert field in b["message"], b
    assert items(admin.get("/api/autoreplies/%s" % sess)) == []


def future(minutes=60):
    return (datetime.datetime.utcnow() + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


SCHEDULE_KEYS = {"id", "sessionId", "jid", "content", "sendAt", "status"}


def test_scheduler_crud(admin, session):
    sess = session["sessionId"]
    base = "/api/scheduler/%s" % sess
    when = future()
    m = assert_ok_shape(admin.post(base, json={"jid": U, "content": "Reminder", "sendAt": when}), 200,
                        "Message scheduled")
    assert SCHEDULE_KEYS <= set(m), m
    assert (m["sessionId"], m["jid"], m["content"], m["sendAt"], m["status"]) == \
        (session["id"], U, "Reminder", when, "PENDING"), m
    mid = m["id"]
    assert items(admin.get(base)) == [m]
    later = future(90)
    # a phone number is stored as its JID
    upd = assert_ok_shape(admin.put("%s/%s" % (base, mid), json={"jid": "628123456789", "content": "Updated",
                                                                 "sendAt": later}))
    assert (upd["id"], upd["jid"], upd["content"], upd["sendAt"], upd["status"]) == \
        (mid, U, "Updated", later, "PENDING"), upd
    assert items(admin.get(base)) == [upd]
    assert assert_ok_shape(admin.delete("%s/%s" % (base, mid))) == {"id": mid}
    assert_error_shape(admin.delete("%s/%s" % (base, mid)), 404)
    assert items(admin.get(base)) == []
    # body-addressed variant
    m2 = assert_ok_shape(admin.post("/api/scheduler", json={"sessionId": sess, "jid": "628123456789", "content": "x",
                                                            "sendAt": when}))
    assert (m2["sessionId"], m2["jid"], m2["content"]) == (session["id"], U, "x"), m2
    assert items(admin.get(base)) == [m2]
    assert assert_ok_shape(admin.delete(base)) == {"count": 1}
    assert items(admin.get(base)) == []


@pytest.mark.parametrize("body,field", [
    ({"jid": "628123456789", "content": "x"}, "sendAt"),
    ({"jid": "not a jid", "content": "x", "sendAt": future()}, "jid"),
    ({"jid": "628123456789", "content": "x", "sendAt": "tomorrow"}, "sendAt"),
    ({"jid": "628123456789", "content": "x", "sendAt": "2001-01-01T00:00:00.000Z"}, "sendAt"),
    ({"jid": "628123456789", "content": "x", "sendAt": future(), "mediaType": "hologram"}, "mediaType"),
])
def test_scheduler_validation(admin, sess, body, field):
    b = assert_error_shape(admin.post("/api/scheduler/%s" % sess, json=body), 400)
    assert field in b["message"], b
    assert items(admin.get("/api/scheduler/%s" % sess)) == []


WEBHOOK_KEYS = {"id", "sessionId", "url", "events", "secret", "name", "isActive"}


def test_webhook_crud(admin, session):
    sess = session["sessionId"]
    base = "/api/webhooks/%s" % sess
    h = assert_ok_shape(admin.post(base, json={"name": "hook", "url": "https://example.invalid/h", "secret": "s3",
                                               "events": ["message.received", "message.sent"]}))
    assert WEBHOOK_KEYS <= set(h), h
    assert (h["sessionId"], h["name"], h["url"], h["secret"], h["events"], h["isActive"]) == \
        (session["id"], "hook", "https://example.invalid/h", "s3", ["message.received", "message.sent"], True), h
    wid = h["id"]
    assert items(admin.get(base)) == [h]
    upd = assert_ok_shape(admin.put("%s/%s" % (base, wid), json={"isActive": False, "events": ["connection.update"]}))
    assert (upd["isActive"], upd["events"], upd["name"], upd["url"]) == \
        (False, ["connection.update"], "hook", "https://example.invalid/h"), upd
    assert items(admin.get(base)) == [upd]
    # shown in the session too
    assert [x["id"] for x in admin.get("/api/sessions/%s" % sess).json()["webhooks"]] == [wid]
    assert assert_ok_shape(admin.delete("%s/%s" % (base, wid))) == {"id": wid}
    assert items(admin.get(base)) == []
    assert_error_shape(admin.put("%s/%s" % (base, wid), json={"name": "x"}), 404)
    h2 = assert_ok_shape(admin.post(base, json={"name": "h2", "url": "http://127.0.0.1:9/x",
                                                "events": ["message.received"]}))
    r = admin.delete("/api/webhooks/%s" % h2["id"])
    assert r.status_code == 200 and r.json() == {"success": True}, r.text
    assert items(admin.get(base)) == []
    assert_error_shape(admin.delete("/api/webhooks/%s" % h2["id"]), 404)


@pytest.mark.parametrize("body,field", [
    ({"name": "h", "url": "ftp://x", "events": ["message.received"]}, "url"),
    ({"name": "h", "url": "not a url", "events": ["message.received"]}, "url"),
    ({"name": "h", "url": "https://x.invalid", "events": ["message.exploded"]}, "events"),
    ({"name": "h", "url": "https://x.invalid"}, "events"),
    ({"name": "h", "url": "http://169.254.169.254/latest/meta-data/", "events": ["*"]}, "url"),
    ({"name": "h", "url": "http://10.1.2.3/hook", "events": ["*"]}, "url"),
])
def test_webhook_validation(admin, sess, body, field):
    b = assert_error_shape(admin.post("/api/webhooks/%s" % sess, json=body), 400)
    assert field in b["message"], b
    assert items(admin.get("/api/webhooks/%s" % sess)) == []


def test_webhook_without_a_name_is_named_after_its_host(admin, sess):
    # the n8n trigger node creates its webhook without a name
    h = assert_ok_shape(admin.post("/api/webhooks/%s" % sess, json={"url": "https://n8n.example/webhook/abc",
                                                                  "events": ["*"]}))
    assert h["name"] == "n8n.example", h


def test_webhook_of_another_user_is_404(admin, make_user, make_session):
    u = make_user("OWNER")
    s = make_session(u.api)["sessionId"]
    h = assert_ok_shape(u.api.post("/api/webhooks/%s" % s, json={"name": "h", "url": "https://x.invalid",
                                                                 "events": ["message.received"]}))
    other = make_user("OWNER")
    assert_error_shape(other.api.delete("/api/webhooks/%s" % h["id"]), 404)
    assert items(u.api.get("/api/webhooks/%s" % s)) == [h]
