"""WhatsApp operations with no engine running: validation and access come
first (400/401/403/404), then 503 'Session not connected or ready'."""
import pytest

from conftest import assert_error_shape

U = "628123456789@s.whatsapp.net"
G = "120363000000000001@g.us"

VALID = [
    ("POST", "/api/messages/{s}/%s/send" % U, {"message": {"text": "hi"}}),
    ("POST", "/api/messages/{s}/628123456789/send", {"message": "hi"}),
    ("POST", "/api/messages/{s}/broadcast", {"recipients": [U], "message": "hi"}),
    ("POST", "/api/messages/{s}/%s/poll" % U, {"question": "q", "options": ["a", "b"]}),
    ("POST", "/api/messages/{s}/%s/location" % U, {"latitude": 1.5, "longitude": 2.5}),
    ("POST", "/api/messages/{s}/%s/contact" % U, {"contacts": [{"fullName": "A", "phoneNumber": "+628123"}]}),
    ("POST", "/api/messages/{s}/%s/ABC/react" % U, {"emoji": "👍"}),
    ("PATCH", "/api/messages/{s}/%s/ABC" % U, {"text": "edited"}),
    ("DELETE", "/api/messages/{s}/%s/ABC" % U, {}),
    ("PUT", "/api/chat/{s}/%s/archive" % U, {"archive": True}),
    ("POST", "/api/chat/{s}/%s/presence" % U, {"presence": "composing"}),
    ("POST", "/api/chat/{s}/check", {"numbers": ["628123456789"]}),
    ("POST", "/api/groups/{s}/create", {"subject": "g", "participants": [U]}),
    ("PUT", "/api/groups/{s}/%s/members" % G, {"action": "add", "participants": [U]}),
    ("PUT", "/api/groups/{s}/%s/ephemeral" % G, {"expiration": 86400}),
    ("GET", "/api/profile/{s}", None),
    ("POST", "/api/status/{s}/update", {"content": "hello"}),
    ("POST", "/api/contacts/{s}/%s/block" % U, {}),
]

INVALID = [
    ("POST", "/api/messages/{s}/not-a-jid/send", {"message": {"text": "hi"}}, "jid"),
    ("POST", "/api/messages/{s}/%s/send" % U, {}, "message"),
    ("POST", "/api/messages/{s}/%s/send" % U, {"message": 5}, "message"),
    ("POST", "/api/messages/{s}/broadcast", {"recipients": ["x"], "message": "hi"}, "recipients"),
    ("POST", "/api/messages/{s}/%s/poll" % U, {"question": "q", "options": ["only"]}, "options"),
    ("POST", "/api/messages/{s}/%s/location" % U, {"latitude": 91, "longitude": 0}, "latitude"),
    ("POST", "/api/messages/{s}/%s/spam" % U, {"message": "x", "count": 100000}, "count"),
    ("PUT", "/api/chat/{s}/%s/mute" % U, {"mute": "yes"}, "mute"),
    ("POST", "/api/chat/{s}/%s/presence" % U, {"presence": "dancing"}, "presence"),
    ("PUT", "/api/groups/{s}/%s/subject" % U, {"subject": "x"}, "group"),
    ("PUT", "/api/groups/{s}/%s/settings" % G, {"setting": "weird"}, "setting"),
    ("PUT", "/api/groups/{s}/%s/ephemeral" % G, {"expiration": 5}, "expiration"),
    ("PUT", "/api/groups/{s}/%s/members" % G, {"action": "kick", "participants": [U]}, "action"),
    ("POST", "/api/messages/{s}/forward", {"fromJid": U, "messageId": "A", "toJids": []}, "toJids"),
    ("POST", "/api/messages/{s}/%s/media" % U, {"type": "image"}, "multipart"),
]


@pytest.fixture(scope="module")
def sess(base_url, bootstrap):
    from conftest import Api, unique
    api = Api(base_url, bootstrap["apiKey"])
    slug = unique("eng")
    assert api.post("/api/sessions", json={"name": "eng", "sessionId": slug}).status_code == 200
    yield slug
    api.delete("/api/sessions/%s/settings" % slug)


@pytest.mark.parametrize("method,path,body", VALID, ids=[v[1] for v in VALID])
def test_valid_request_without_engine_is_503(admin, sess, method, path, body):
    r = admin.request(method, path.replace("{s}", sess), json=body)
    b = assert_error_shape(r, 503)
    assert b["message"] in ("Session not connected or ready",)


@pytest.mark.parametrize("method,path,body,field", INVALID, ids=[v[1] + ":" + v[3] for v in INVALID])
def test_invalid_request_is_400_naming_the_field(admin, sess, method, path, body, field):
    r = admin.request(method, path.replace("{s}", sess), json=body)
    b = assert_error_shape(r, 400)
    assert field.lower() in b["message"].lower(), b


def test_upload_route_takes_multipart(admin, sess):
    r = admin.post("/api/messages/%s/%s/media" % (sess, U), files={"file": ("a.png", b"\x89PNG....", "image/png")},
                   data={"type": "image", "caption": "c"})
    # stored and validated, then the engine is absent
    assert_error_shape(r, 503)
    r = admin.post("/api/messages/%s/%s/media" % (sess, U), files={"file": ("a.png", b"x", "image/png")},
                   data={"type": "hologram"})
    assert_error_shape(r, 400)
