"""Bot config, auto-replies, scheduler and webhooks as stored data."""
import datetime

import pytest

from conftest import assert_error_shape, data


def items(resp):
    """A list answer, bare or wrapped ({data: [...]}, {success, <name>: [...]})."""
    body = data(resp)
    if isinstance(body, list):
        return body
    for v in body.values():
        if isinstance(v, list):
            return v
    raise AssertionError("no list in %r" % body)


def obj(resp, *names):
    body = data(resp)
    for n in names:
        if isinstance(body, dict) and isinstance(body.get(n), dict):
            return body[n]
    return body


@pytest.fixture
def sess(admin, make_session):
    return make_session(admin)["sessionId"]


def test_bot_config_roundtrip(admin, sess):
    r = admin.get("/api/sessions/%s/bot-config" % sess)
    assert r.status_code == 200
    cfg = obj(r, "botConfig", "config")
    assert "botMode" in cfg and "enabled" in cfg
    r = admin.post("/api/sessions/%s/bot-config" % sess, json={
        "enabled": True, "botMode": "BLACKLIST", "botBlockedJids": ["628111@s.whatsapp.net"],
        "autoReplyMode": "SPECIFIC", "autoReplyAllowedJids": ["628222@s.whatsapp.net"],
        "botName": "My Assistant", "enableSticker": False, "maxStickerDuration": 7})
    assert r.status_code == 200, r.text
    cfg = obj(admin.get("/api/sessions/%s/bot-config" % sess), "botConfig", "config")
    assert cfg["botMode"] == "BLACKLIST" and cfg["botName"] == "My Assistant"
    assert cfg["botBlockedJids"] == ["628111@s.whatsapp.net"] and cfg["enableSticker"] is False
    assert cfg["maxStickerDuration"] == 7
    # shown in the session too
    assert admin.get("/api/sessions/%s" % sess).json()["botConfig"]["botName"] == "My Assistant"


@pytest.mark.parametrize("body", [{"botMode": "SOMETIMES"}, {"enabled": "yes"}, {"maxStickerDuration": "7"},
                                  {"botAllowedJids": "628@s.whatsapp.net"}])
def test_bot_config_validation(admin, sess, body):
    before = obj(admin.get("/api/sessions/%s/bot-config" % sess), "botConfig", "config")
    assert_error_shape(admin.post("/api/sessions/%s/bot-config" % sess, json=body), 400)
    after = obj(admin.get("/api/sessions/%s/bot-config" % sess), "botConfig", "config")
    assert before == after


def test_autoreply_crud(admin, sess):
    base = "/api/autoreplies/%s" % sess
    r = admin.post(base, json={"keyword": "hello", "response": "Hi!", "matchType": "CONTAINS", "triggerType": "ALL"})
    assert r.status_code == 200, r.text
    rule = obj(r, "rule", "autoReply")
    rid = str(rule["id"])
    lst = items(admin.get(base))
    assert [x["keyword"] for x in lst] == ["hello"] and lst[0]["matchType"] == "CONTAINS"
    r = admin.put("%s/%s" % (base, rid), json={"keyword": "hey", "response": "Yo"})
    assert r.status_code == 200
    assert items(admin.get(base))[0]["keyword"] == "hey"
    assert_error_shape(admin.put("%s/999999999" % base, json={"keyword": "a", "response": "b"}), 404)
    assert admin.delete("%s/%s" % (base, rid)).status_code == 200
    assert items(admin.get(base)) == []
    assert_error_shape(admin.delete("%s/%s" % (base, rid)), 404)
    admin.post(base, json={"keyword": "a", "response": "b"})
    admin.post(base, json={"keyword": "c", "response": "d"})
    assert admin.delete(base).status_code == 200
    assert items(admin.get(base)) == []


@pytest.mark.parametrize("body", [{"keyword": "a"}, {"response": "b"}, {"keyword": "a", "response": "b", "matchType": "FUZZY"},
                                  {"keyword": "a", "response": "b", "triggerType": "NOBODY"},
                                  {"keyword": "(", "response": "b", "matchType": "REGEX"}])
def test_autoreply_validation(admin, sess, body):
    assert_error_shape(admin.post("/api/autoreplies/%s" % sess, json=body), 400)
    assert items(admin.get("/api/autoreplies/%s" % sess)) == []


def future(minutes=60):
    return (datetime.datetime.utcnow() + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_scheduler_crud(admin, sess):
    base = "/api/scheduler/%s" % sess
    r = admin.post(base, json={"jid": "628123456789@s.whatsapp.net", "content": "Reminder", "sendAt": future()})
    assert r.status_code == 200, r.text
    m = obj(r, "scheduledMessage", "message", "schedule")
    mid = str(m["id"])
    lst = items(admin.get(base))
    assert len(lst) == 1 and lst[0]["content"] == "Reminder"
    r = admin.put("%s/%s" % (base, mid), json={"jid": "628123456789", "content": "Updated", "sendAt": future(90)})
    assert r.status_code == 200, r.text
    assert items(admin.get(base))[0]["content"] == "Updated"
    assert admin.delete("%s/%s" % (base, mid)).status_code == 200
    assert_error_shape(admin.delete("%s/%s" % (base, mid)), 404)
    # body-addressed variant
    r = admin.post("/api/scheduler", json={"sessionId": sess, "jid": "628123456789", "content": "x", "sendAt": future()})
    assert r.status_code == 200, r.text
    assert len(items(admin.get(base))) == 1
    assert admin.delete(base).status_code == 200
    assert items(admin.get(base)) == []


@pytest.mark.parametrize("body", [
    {"jid": "628123456789", "content": "x"},
    {"jid": "not a jid", "content": "x", "sendAt": future()},
    {"jid": "628123456789", "content": "x", "sendAt": "tomorrow"},
    {"jid": "628123456789", "content": "x", "sendAt": "2001-01-01T00:00:00.000Z"},
    {"jid": "628123456789", "content": "x", "sendAt": future(), "mediaType": "hologram"},
])
def test_scheduler_validation(admin, sess, body):
    assert_error_shape(admin.post("/api/scheduler/%s" % sess, json=body), 400)
    assert items(admin.get("/api/scheduler/%s" % sess)) == []


def test_webhook_crud(admin, sess):
    base = "/api/webhooks/%s" % sess
    r = admin.post(base, json={"name": "hook", "url": "https://example.invalid/h", "secret": "s3",
                               "events": ["message.received", "message.sent"]})
    assert r.status_code == 200, r.text
    wid = str(obj(r, "webhook")["id"])
    lst = items(admin.get(base))
    assert len(lst) == 1 and lst[0]["events"] == ["message.received", "message.sent"]
    r = admin.put("%s/%s" % (base, wid), json={"isActive": False, "events": ["connection.update"]})
    assert r.status_code == 200
    h = items(admin.get(base))[0]
    assert h["isActive"] is False and h["events"] == ["connection.update"]
    # shown in the session too
    assert len(admin.get("/api/sessions/%s" % sess).json()["webhooks"]) == 1
    assert admin.delete("%s/%s" % (base, wid)).status_code == 200
    assert_error_shape(admin.put("%s/%s" % (base, wid), json={"name": "x"}), 404)
    r = admin.post(base, json={"name": "h2", "url": "http://127.0.0.1:9/x", "events": ["message.received"]})
    wid = str(obj(r, "webhook")["id"])
    r = admin.delete("/api/webhooks/%s" % wid)
    assert r.status_code == 200 and r.json().get("success") is True, r.text
    assert_error_shape(admin.delete("/api/webhooks/%s" % wid), 404)


@pytest.mark.parametrize("body", [
    {"name": "h", "url": "ftp://x", "events": ["message.received"]},
    {"name": "h", "url": "not a url", "events": ["message.received"]},
    {"name": "h", "url": "https://x.invalid", "events": ["message.exploded"]},
    {"name": "h", "url": "https://x.invalid"},
    {"url": "https://x.invalid", "events": ["message.received"]},
])
def test_webhook_validation(admin, sess, body):
    assert_error_shape(admin.post("/api/webhooks/%s" % sess, json=body), 400)
    assert items(admin.get("/api/webhooks/%s" % sess)) == []


def test_webhook_of_another_user_is_404(admin, make_user, make_session):
    u = make_user("OWNER")
    s = make_session(u.api)["sessionId"]
    r = u.api.post("/api/webhooks/%s" % s, json={"name": "h", "url": "https://x.invalid", "events": ["message.received"]})
    wid = str(obj(r, "webhook")["id"])
    other = make_user("OWNER")
    assert_error_shape(other.api.delete("/api/webhooks/%s" % wid), 404)
    assert len(items(u.api.get("/api/webhooks/%s" % s))) == 1
