"""WhatsApp operations (the routes the worker forwards to the engine).

Two separate things are checked here, both true with or without an engine:

1. The worker checks before any engine is involved: a request without
   credentials is 401, a caller without access to the session 403, an
   unknown session 404, bad input 400 naming the field, all in the error
   shape, in that order (access before validation), and none of them
   reaches an engine (each answer is the same whether one runs or not).
2. A session that is not connected answers a valid operation with 503
   "Session not connected or ready" (error "session_not_ready"). The
   session used is truly not connected: it was stopped (auto_start cleared,
   the engine told to stop it) and reads Disconnected with no instance,
   so this holds once the engine exists and connects other sessions.
"""
import pytest

from conftest import NOT_READY, Api, assert_error_shape, stop_session, unique

U = "628123456789@s.whatsapp.net"
G = "120363000000000001@g.us"

VALID = [
    ("POST", "/api/messages/{s}/%s/send" % U, {"message": {"text": "hi"}}),
    ("POST", "/api/messages/{s}/628123456789/send", {"message": "hi"}),
    ("POST", "/api/messages/{s}/broadcast", {"recipients": [U], "message": "hi"}),
    ("POST", "/api/messages/{s}/%s/poll" % U, {"question": "q", "options": ["a", "b"]}),
    ("POST", "/api/messages/{s}/%s/location" % U, {"latitude": 1.5, "longitude": 2.5}),
    ("POST", "/api/messages/{s}/%s/contact" % U, {"contacts": [{"fullName": "A", "phoneNumber": "+628123"}]}),
    ("POST", "/api/messages/{s}/%s/contact" % U,
     {"contacts": [{"displayName": "John Doe", "vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:John Doe\nEND:VCARD"}]}),
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
    ("POST", "/api/messages/{s}/not-a-jid/send", {"message": {"text": "hi"}}, "jid", "invalid_jid"),
    ("POST", "/api/messages/{s}/%s/send" % U, {}, "message", "validation_error"),
    ("POST", "/api/messages/{s}/%s/send" % U, {"message": 5}, "message", "validation_error"),
    ("POST", "/api/messages/{s}/broadcast", {"recipients": ["x"], "message": "hi"}, "recipients", "invalid_jid"),
    ("POST", "/api/messages/{s}/%s/poll" % U, {"question": "q", "options": ["only"]}, "options", "validation_error"),
    ("POST", "/api/messages/{s}/%s/location" % U, {"latitude": 91, "longitude": 0}, "latitude", "validation_error"),
    ("POST", "/api/messages/{s}/%s/spam" % U, {"message": "x", "count": 100000}, "count", "validation_error"),
    ("PUT", "/api/chat/{s}/%s/mute" % U, {"mute": "yes"}, "mute", "validation_error"),
    ("POST", "/api/chat/{s}/%s/presence" % U, {"presence": "dancing"}, "presence", "validation_error"),
    ("PUT", "/api/groups/{s}/%s/subject" % U, {"subject": "x"}, "group", "invalid_jid"),
    ("PUT", "/api/groups/{s}/%s/settings" % G, {"setting": "weird"}, "setting", "validation_error"),
    ("PUT", "/api/groups/{s}/%s/ephemeral" % G, {"expiration": 5}, "expiration", "validation_error"),
    ("PUT", "/api/groups/{s}/%s/members" % G, {"action": "kick", "participants": [U]}, "action", "validation_error"),
    ("POST", "/api/messages/{s}/forward", {"fromJid": U, "messageId": "A", "toJids": []}, "toJids", "validation_error"),
    ("POST", "/api/messages/{s}/%s/media" % U, {"type": "image"}, "multipart", "invalid_body"),
    ("POST", "/api/chat/{s}/check", {"numbers": ["628123456789"] * 51}, "numbers", "validation_error"),
    ("POST", "/api/chat/{s}/check", {"numbers": []}, "numbers", "validation_error"),
    ("PUT", "/api/chat/{s}/%s/read" % U, {"messageIds": [1]}, "messageIds", "validation_error"),
    ("POST", "/api/chat/{s}/%s/presence" % U, {}, "presence", "validation_error"),
    ("PUT", "/api/profile/{s}/name", {"name": "n" * 26}, "name", "validation_error"),
    ("PUT", "/api/profile/{s}/status", {"status": "s" * 140}, "status", "validation_error"),
    ("PUT", "/api/profile/{s}/picture", {"url": "ftp://example.com/a.jpg"}, "url", "validation_error"),
    ("POST", "/api/contacts/{s}/%s/block" % G, {}, "jid", "invalid_jid"),
]


@pytest.fixture(scope="module")
def idle(base_url, bootstrap, engine_running):
    """A session of the SUPERADMIN that is stopped: not connected, not
    going to be started by any engine."""
    api = Api(base_url, bootstrap["apiKey"])
    slug = unique("eng")
    r = api.post("/api/sessions", json={"name": "eng", "sessionId": slug})
    assert r.status_code == 200, r.text[:300]
    stop_session(api, slug, engine_running)
    yield slug
    api.delete("/api/sessions/%s/settings" % slug)
    api.close()


@pytest.fixture(scope="module")
def stranger(base_url, bootstrap):
    """An OWNER with its own key and no access to `idle`."""
    from conftest import login
    admin = Api(base_url, bootstrap["apiKey"])
    email = unique("stranger") + "@engine.invalid"
    r = admin.post("/api/users", json={"name": "s", "email": email, "password": "pw-123456789", "role": "OWNER"})
    assert r.status_code == 200, r.text[:300]
    uid = r.json()["id"]
    web = login(base_url, email, "pw-123456789")
    r = web.post("/api/user/api-key")
    assert r.status_code == 200, r.text[:300]
    yield Api(base_url, r.json()["apiKey"])
    admin.delete("/api/users/%s" % uid)


# ---- 1. checks made before any engine contact ---------------------------------

@pytest.mark.parametrize("method,path,body,field,code", INVALID, ids=[v[1] + ":" + v[3] for v in INVALID])
def test_bad_input_is_400_naming_the_field_before_any_engine(admin, idle, method, path, body, field, code):
    r = admin.request(method, path.replace("{s}", idle), json=body)
    b = assert_error_shape(r, 400)
    assert field.lower() in b["message"].lower(), b
    assert b["error"] == code, b


@pytest.mark.parametrize("method,path,body", VALID, ids=[v[1] for v in VALID])
def test_no_credentials_is_401_before_any_engine(anon, idle, method, path, body):
    b = assert_error_shape(anon.request(method, path.replace("{s}", idle), json=body), 401)
    assert b["error"] == "unauthorized", b
    # an invalid body changes nothing: credentials come first
    b = assert_error_shape(anon.request(method, path.replace("{s}", idle), json={"bogus": 1}), 401)
    assert b["error"] == "unauthorized", b


@pytest.mark.parametrize("method,path,body", VALID, ids=[v[1] for v in VALID])
def test_other_owner_is_403_before_validation_and_engine(stranger, idle, method, path, body):
    b = assert_error_shape(stranger.request(method, path.replace("{s}", idle), json=body), 403)
    assert b["error"] == "forbidden", b
    # access is checked before the body: an invalid body gets the same 403
    b = assert_error_shape(stranger.request(method, path.replace("{s}", idle), json={"bogus": 1}), 403)
    assert b["error"] == "forbidden", b


@pytest.mark.parametrize("method,path,body", VALID, ids=[v[1] for v in VALID])
def test_unknown_session_is_404_before_any_engine(admin, idle, method, path, body):
    r = admin.request(method, path.replace("{s}", "no-such-" + idle), json=body)
    b = assert_error_shape(r, 404)
    assert b["error"] == "session_not_found" and ("no-such-" + idle) in b["message"], b


def test_upload_is_validated_before_any_engine(admin, idle):
    r = admin.post("/api/messages/%s/%s/media" % (idle, U), files={"file": ("a.png", b"x", "image/png")},
                   data={"type": "hologram"})
    b = assert_error_shape(r, 400)
    assert "type" in b["message"].lower(), b


def test_a_profile_picture_that_is_no_image_is_400_before_any_engine(admin, idle):
    r = admin.put("/api/profile/%s/picture" % idle, files={"file": ("a.png", b"\x89PNG but not", "image/png")})
    b = assert_error_shape(r, 400)
    assert b["error"] == "invalid_image", b


# ---- 2. a session that is not connected ----------------------------------------

@pytest.mark.parametrize("method,path,body", VALID, ids=[v[1] for v in VALID])
def test_session_not_connected_answers_503_not_ready(admin, idle, method, path, body):
    r = admin.request(method, path.replace("{s}", idle), json=body)
    b = assert_error_shape(r, 503)
    assert b["message"] == NOT_READY and b["error"] == "session_not_ready", b


def test_upload_to_a_session_not_connected_answers_503_not_ready(admin, idle):
    r = admin.post("/api/messages/%s/%s/media" % (idle, U), files={"file": ("a.png", b"\x89PNG....", "image/png")},
                   data={"type": "image", "caption": "c"})
    b = assert_error_shape(r, 503)
    assert b["message"] == NOT_READY and b["error"] == "session_not_ready", b
