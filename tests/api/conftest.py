"""Fixtures for the WA-AKG API suite (python3 -m pytest -q tests/api).

The suite runs against a live stack (nginx + wa-akg-fcgi + MariaDB), normally
the one deploy/test starts with deploy/dev:

  WA_AKG_TEST_BASE   base URL of nginx, e.g. http://127.0.0.1:18080
  WA_AKG_TEST_STATE  the stack's state directory; bootstrap.json there holds
                     the SUPERADMIN's email, password and apiKey

Defaults fit a plain `sudo deploy/dev up` (http://127.0.0.1:8080, <repo>/.state).

Fixtures:
  base_url, state_dir, stack_config   where the stack is and how it is set up
  bootstrap                           the SUPERADMIN credentials (skips if none,
                                      fails if WA_AKG_TEST_STATE names the stack)
  anon                                an Api without credentials
  admin                               an Api authenticated as the SUPERADMIN (X-API-Key)
  make_user(role)                     factory: a new OWNER/STAFF user with its own
                                      API key and cookie login; deleted afterwards
  make_session(api, name)             factory: a new WhatsApp session owned by api's
                                      user; deleted afterwards
  sim                                 wa-sim's {"chat_url", "admin_url", "root_key"}
                                      (STATE/sim.json; skips when wa-sim is not running)
  engine_running                      True when a protocol engine listens on
                                      engine.command_url (tests that depend on it
                                      assert the one answer that fits, never "either")
Helpers: Api (requests.Session with the base URL and optional key), data()
(unwraps {"status","message","data"}), assert_error_shape(), assert_ok_shape()
(the wrapped success shape), assert_iso(), stop_session() (a session that is
truly not connected), login().
"""
import json
import os
import re
import socket
import subprocess
import time
import uuid

import pytest
import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = float(os.environ.get("WA_AKG_TEST_TIMEOUT", "30"))


# ---- helpers ------------------------------------------------------------------

class Api(requests.Session):
    """A requests.Session bound to the stack's base URL.

    api.get("/api/sessions") and friends take paths; `key` (if given) is sent
    as X-API-Key on every request. Cookies set by the server (web login) are
    kept like in a browser. Every request has a timeout."""

    def __init__(self, base, key=None):
        super().__init__()
        self.base = base.rstrip("/")
        self.key = key
        if key:
            self.headers["X-API-Key"] = key
        self.headers["Accept"] = "application/json"

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base + url
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, *args, **kwargs)


def data(resp):
    """The payload of a JSON response: the "data" member when the API wrapped
    it as {"status": true, "message": ..., "data": ...}, else the whole body."""
    body = resp.json()
    if isinstance(body, dict) and "data" in body and "status" in body:
        return body["data"]
    return body


def assert_error_shape(resp, status=None):
    """An error answer: JSON {"status": false, "message": str, "error"?: str}."""
    if status is not None:
        assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert body.get("status") is False, body
    assert isinstance(body.get("message"), str) and body["message"], body
    if "error" in body:
        assert isinstance(body["error"], (str, type(None), dict, list)), body
    return body


def assert_ok_shape(resp, status=200, message=None):
    """The reference's wrapped success: {"status": true, "message": str,
    "data": ...}; returns data."""
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and body.get("status") is True, body
    assert isinstance(body.get("message"), str) and body["message"], body
    if message is not None:
        assert body["message"] == message, body
    assert "data" in body, body
    return body["data"]


ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def assert_iso(value):
    """A time as the API writes it: ISO-8601 UTC with milliseconds."""
    assert isinstance(value, str) and ISO_UTC.fullmatch(value), value
    return value


# The reference's 503 text for a WhatsApp operation on a session that is not
# connected (and, today, for any operation while no engine runs).
NOT_READY = "Session not connected or ready"


def stop_session(api, session_id, engine_running):
    """Make the session truly not connected, whether or not an engine runs:
    POST /stop clears auto_start (no engine picks it up later) and, with an
    engine, has the engine stop it. Asserts the one answer that fits the
    stack, then waits until the session reads Disconnected with no instance."""
    r = api.post("/api/sessions/%s/stop" % session_id)
    if engine_running:
        assert_ok_shape(r, 200, "Session stop requested")
    else:
        b = assert_error_shape(r, 503)
        assert b["message"] == NOT_READY and b["error"] == "engine_unavailable", b
    deadline = time.monotonic() + 15
    while True:
        r = api.get("/api/sessions/%s" % session_id)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        d = r.json()
        if d["status"] == "Disconnected" and d["hasInstance"] is False:
            return d
        assert time.monotonic() < deadline, "session %s still %s after stop" % (session_id, d["status"])
        time.sleep(0.2)


def login(base, email, password):
    """Sign in like the dashboard (NextAuth-style credentials flow) and return
    an Api that carries the session cookie and sends the CSRF token as
    X-CSRF-Token (cookie-authenticated changes need it), or raise AssertionError."""
    s = Api(base)
    r = s.get("/api/auth/csrf")
    assert r.status_code == 200, (r.status_code, r.text[:300])
    token = data(r).get("csrfToken", "")
    r = s.post("/api/auth/callback/credentials",
               data={"email": email, "password": password, "csrfToken": token, "json": "true"})
    # json=true asks for NextAuth's JSON answer ({url}), not a redirect
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert isinstance(r.json().get("url"), str), r.text[:300]
    assert any("session-token" in c.name for c in s.cookies), \
        "login set no session cookie: %r" % [c.name for c in s.cookies]
    s.headers["X-CSRF-Token"] = token
    return s


def parse_size(text):
    """'64m' -> bytes (k/m/g are powers of 1024, like wa_config_get_size)."""
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)\s*", text)
    if not m:
        raise ValueError("bad size %r" % text)
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]


def read_ini(path):
    """The stack's wa-akg.conf as {"section.key": value} (environment aside)."""
    out, sect = {}, ""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line[0] in "#;":
                    continue
                if line.startswith("[") and line.endswith("]"):
                    sect = line[1:-1].strip()
                elif "=" in line:
                    k, v = line.split("=", 1)
                    out[sect + "." + k.strip()] = v.strip()
    except FileNotFoundError:
        pass
    return out


def sql(stack_config, query):
    """Run one query on the stack's database (as its user, over its socket);
    the tab-separated rows. Skips when the socket is not reachable."""
    sock = stack_config.get("db.socket")
    if not sock or not os.path.exists(sock):
        pytest.skip("the stack's database socket is not reachable from the test")
    out = subprocess.run(["mariadb", "-S", sock, "-u", stack_config["db.user"],
                          "-p" + stack_config.get("db.password", ""), "-N", "-B",
                          stack_config.get("db.name", "wa_akg"), "-e", query],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def media_files(stack_config):
    """The file names in the stack's media.dir (skips when not visible)."""
    d = stack_config.get("media.dir")
    if not d or not os.path.isdir(d):
        pytest.skip("media.dir not visible from the test")
    return set(os.listdir(d))


def store_media(stack_config, session_id, payload=b"\x89PNG fake", ext="png", mime="image/png"):
    """A media file of session session_id (its slug) as a sent or received
    message leaves one: a file in media.dir and its media_files row, written
    directly (with no engine, an API upload is refused and leaves nothing).
    Returns the file name."""
    media_files(stack_config)
    name = "up-%s.%s" % (os.urandom(6).hex(), ext)
    with open(os.path.join(stack_config["media.dir"], name), "wb") as f:
        f.write(payload)
    sql(stack_config, "INSERT INTO media_files (wa_session_id, user_id, filename, mime, size) "
                      "SELECT id, user_id, '%s', '%s', %d FROM wa_sessions WHERE session_id = '%s'"
        % (name, mime, len(payload), session_id))
    return name


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


# ---- fixtures -----------------------------------------------------------------

@pytest.fixture(scope="session")
def base_url():
    return os.environ.get("WA_AKG_TEST_BASE", "http://127.0.0.1:8080").rstrip("/")


@pytest.fixture(scope="session")
def state_dir():
    return os.environ.get("WA_AKG_TEST_STATE", os.path.join(REPO, ".state"))


@pytest.fixture(scope="session")
def stack_config(state_dir):
    """Keys of the stack's config file with the built-in defaults under them."""
    cfg = {"http.max_body": "64m", "media.accel_prefix": "/_wa_media/",
           "limits.rate_per_minute": "600", "engine.command_url": "tcp://127.0.0.1:7701"}
    cfg.update(read_ini(os.path.join(state_dir, "wa-akg.conf")))
    return cfg


@pytest.fixture(scope="session")
def bootstrap(state_dir):
    """{"email", "password", "apiKey"} of the SUPERADMIN that deploy/dev created."""
    path = os.path.join(state_dir, "bootstrap.json")
    if not os.path.exists(path):
        # deploy/test and deploy/dev always bootstrap: when the stack was
        # named explicitly, a missing file is a broken stack, not a skip
        if os.environ.get("WA_AKG_TEST_STATE"):
            pytest.fail("no %s although WA_AKG_TEST_STATE names this stack "
                        "(wa-akg-admin bootstrap did not run)" % path)
        pytest.skip("no %s (wa-akg-admin bootstrap has not run)" % path)
    with open(path, encoding="utf-8") as f:
        creds = json.load(f)
    assert creds.get("apiKey") and creds.get("email") and creds.get("password"), creds
    return creds


@pytest.fixture(scope="session")
def sim(state_dir):
    """wa-sim as deploy/dev started it: chat_url, admin_url, root_key."""
    path = os.path.join(state_dir, "sim.json")
    if not os.path.exists(path):
        pytest.skip("wa-sim is not part of this stack (no %s)" % path)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def engine_running(stack_config):
    """Whether a protocol engine accepts connections on engine.command_url
    (an ipc:// or tcp:// nng address)."""
    url = stack_config.get("engine.command_url", "")
    if url.startswith("ipc://"):
        family, addr = socket.AF_UNIX, url[len("ipc://"):]
        if not os.path.exists(addr):
            return False
    elif url.startswith("tcp://") and ":" in url[6:]:
        host, port = url[6:].rsplit(":", 1)
        family, addr = socket.AF_INET, (host.strip("[]") or "127.0.0.1", int(port))
    else:
        pytest.fail("cannot tell whether an engine runs: engine.command_url is %r" % url)
    # A full SP handshake as a REQ peer (0x30), answered by a REP (0x31):
    # proof that an engine, not just anything, listens there.
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        try:
            s.connect(addr)
            s.sendall(b"\0SP\0\0\x30\0\0")
            hdr = b""
            while len(hdr) < 8:
                chunk = s.recv(8 - len(hdr))
                if not chunk:
                    return False
                hdr += chunk
        except OSError:
            return False
    return hdr == b"\0SP\0\0\x31\0\0"


@pytest.fixture
def anon(base_url):
    with Api(base_url) as s:
        yield s


@pytest.fixture
def admin(base_url, bootstrap):
    """The SUPERADMIN's Api. A test may legitimately rotate the admin's key
    (POST /api/user/api-key); then sign in with the password, take a new key
    and keep it in `bootstrap` for every later test."""
    s = Api(base_url, bootstrap["apiKey"])
    if s.get("/api/user/api-key").status_code == 401:
        s.close()
        web = login(base_url, bootstrap["email"], bootstrap["password"])
        r = web.post("/api/user/api-key")
        assert r.status_code == 200, (r.status_code, r.text[:300])
        bootstrap["apiKey"] = data(r)["apiKey"]
        web.close()
        s = Api(base_url, bootstrap["apiKey"])
    with s:
        yield s


class User:
    """A user created for a test: id, email, password, role, key and
    `api` (an Api authenticated with its own X-API-Key)."""

    def __init__(self, base, id_, email, password, role, key):
        self.id, self.email, self.password, self.role, self.key = id_, email, password, role, key
        self.api = Api(base, key)


@pytest.fixture
def make_user(base_url, admin):
    """make_user(role="OWNER", name=None) -> User. The SUPERADMIN creates the
    user (POST /api/users); the user signs in with its password and generates
    its own API key (POST /api/user/api-key). Users are deleted afterwards."""
    created = []

    def make(role="OWNER", name=None):
        email = unique(role.lower()) + "@test.invalid"
        password = "pw-" + uuid.uuid4().hex
        r = admin.post("/api/users", json={"name": name or email.split("@")[0], "email": email,
                                           "password": password, "role": role})
        assert r.status_code == 200, (r.status_code, r.text[:500])
        uid = r.json().get("id")
        assert isinstance(uid, str) and uid, r.text[:500]
        created.append(uid)
        web = login(base_url, email, password)
        csrf = web.get("/api/auth/csrf").json()["csrfToken"]
        r = web.post("/api/user/api-key", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, (r.status_code, r.text[:500])
        key = data(r).get("apiKey")
        assert key, r.text[:500]
        web.close()
        return User(base_url, uid, email, password, role, key)

    yield make
    for uid in reversed(created):
        try:
            admin.delete("/api/users/%s" % uid)
        except requests.RequestException:
            pass


@pytest.fixture
def make_session():
    """make_session(api, name=None, session_id=None) -> the created session
    object (data of POST /api/sessions). Deleted afterwards with
    DELETE /api/sessions/{id}/settings by the same api."""
    created = []

    def make(api, name=None, session_id=None):
        body = {"name": name or unique("test")}
        if session_id:
            body["sessionId"] = session_id
        r = api.post("/api/sessions", json=body)
        assert r.status_code == 200, (r.status_code, r.text[:500])
        sess = r.json()
        sid = sess.get("sessionId")
        assert isinstance(sid, str) and sid, r.text[:500]
        created.append((api, sid))
        return sess

    yield make
    for api, sid in reversed(created):
        try:
            api.delete("/api/sessions/%s/settings" % sid)
        except requests.RequestException:
            pass
