"""Rate limits and revocation across worker processes.

Front A is the stack itself (its nginx and wa-akg-fcgi workers). Front B is a
second wa-akg-fcgi instance started here with the stack's config (same
database), one worker process, behind a second nginx rendered from the same
nginx/dev.conf.in (`deploy/dev nginx-conf`) with low limits, so the limits can
be reached without touching the stack's own:
  per credential and per address (nginx): 30 a minute, bursts of 20
  (deploy/dev's rule: ten seconds' worth, at least 20), Retry-After 2;
  failed sign-ins per address (workers): 30 a minute, bursts of 3;
  registrations per address (workers): 30 a minute, bursts of 2.

Per-address tests send from their own loopback address (127.x.y.z), so no
other test, nor a rerun within the minute, shares their budget.

Revocation: whatever one front changes (a key revoked, a user deleted, a role
changed, a grant withdrawn) the other front refuses on its very next request,
and so does the front that made the change: the workers' auth caches
(fcgi/authcache.h) let a change go before the request that made it answers
(tests/api/test_auth_cache.py has the same across two caching workers
spoken to directly)."""

import os
import random
import shutil
import signal
import socket
import subprocess
import time

import pytest
import requests
from requests.adapters import HTTPAdapter

from conftest import Api, assert_error_shape, data

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RATE = 30             # limits.rate_per_minute / address_rate_per_minute on front B
NGINX_BURST = 20      # what deploy/dev renders for RATE
RETRY_AFTER = "2"     # ceil(60 / RATE)
SIGNIN_BURST = 3
REGISTER_BURST = 2


class SourceAdapter(HTTPAdapter):
    """Connect from a given local address (any 127.0.0.0/8 address is ours)."""

    def __init__(self, addr):
        self.addr = addr
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.addr, 0)
        super().init_poolmanager(*args, **kwargs)


def fresh_address():
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255), random.randint(1, 254))


def api_from(base, addr, key=None):
    s = Api(base, key)
    s.mount("http://", SourceAdapter(addr))
    return s


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what, secs=20):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def tcp_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def front_b(state_dir, tmp_path_factory):
    """Base URL of front B (see the module's docstring)."""
    try:
        pid = int(open(os.path.join(state_dir, "run", "fcgi.pid")).read())
        exe = os.readlink("/proc/%d/exe" % pid)
        environ = open("/proc/%d/environ" % pid, "rb").read().split(b"\0")
    except (OSError, ValueError) as e:
        pytest.fail("cannot read the stack's wa-akg-fcgi (%s): %s" % (state_dir, e))
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed")
    tmp = str(tmp_path_factory.mktemp("front-b"))
    port = free_port()
    # the stack's own overrides (database, engine ...), then ours
    env = {k: v for k, v in os.environ.items() if not k.startswith("WA_AKG_")}
    for item in environ:
        k, _, v = item.decode(errors="replace").partition("=")
        if k.startswith("WA_AKG_"):
            env[k] = v
    env.update({
        "WA_AKG_FCGI_LISTEN": "unix:%s/fcgi.sock" % tmp, "WA_AKG_FCGI_WORKERS": "1",
        "WA_AKG_FCGI_THREADS": "2", "WA_AKG_HTTP_LISTEN": "127.0.0.1:%d" % port,
        "WA_AKG_LIMITS_RATE_PER_MINUTE": str(RATE), "WA_AKG_LIMITS_ADDRESS_RATE_PER_MINUTE": str(RATE),
        "WA_AKG_LIMITS_SIGNIN_FAILURES_PER_MINUTE": "30", "WA_AKG_LIMITS_SIGNIN_BURST": str(SIGNIN_BURST),
        "WA_AKG_LIMITS_REGISTER_PER_MINUTE": "30", "WA_AKG_LIMITS_REGISTER_BURST": str(REGISTER_BURST),
        "WA_AKG_BUILD": os.path.dirname(exe),
    })
    bstate = os.path.join(tmp, "state")
    os.makedirs(bstate)
    shutil.copy(os.path.join(state_dir, "wa-akg.conf"), os.path.join(bstate, "wa-akg.conf"))
    log = open(os.path.join(tmp, "fcgi.log"), "wb")
    fcgi = subprocess.Popen([exe, "--config", os.path.join(bstate, "wa-akg.conf")], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    nginx_pid = os.path.join(bstate, "run", "nginx.pid")
    try:
        wait_until(lambda: os.path.exists(os.path.join(tmp, "fcgi.sock")) or fcgi.poll() is not None,
                   "front B's wa-akg-fcgi")
        assert fcgi.poll() is None, open(os.path.join(tmp, "fcgi.log")).read()[-2000:]
        out = subprocess.run([os.path.join(REPO, "deploy", "dev"), "--state", bstate, "nginx-conf"], env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        conf = out.stdout.strip().splitlines()[-1]
        r = subprocess.run(["nginx", "-p", os.path.join(bstate, "nginx") + "/", "-e",
                            os.path.join(bstate, "log", "nginx-error.log"), "-c", conf],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        wait_until(lambda: tcp_open(port), "front B's nginx")
        yield "http://127.0.0.1:%d" % port
    finally:
        try:
            os.kill(int(open(nginx_pid).read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        fcgi.send_signal(signal.SIGTERM)
        try:
            fcgi.wait(10)
        except subprocess.TimeoutExpired:
            fcgi.kill()
        log.close()


def assert_429(resp):
    """429 in the error shape, with Retry-After in whole seconds."""
    body = assert_error_shape(resp, 429)
    assert body["error"] == "rate_limited", body
    ra = resp.headers.get("Retry-After", "")
    assert ra.isdigit() and int(ra) >= 1, resp.headers
    assert resp.headers.get("X-Request-Id"), resp.headers
    return int(ra)


def until_limited(api, path, most=200, **kw):
    """GET path until nginx answers 429 (at most `most` times); the answers."""
    got = []
    while len(got) < most:
        got.append(api.get(path, **kw))
        if got[-1].status_code == 429:
            break
    return got


# ---- nginx: per credential, per address ------------------------------------

def test_each_api_key_has_its_own_budget(front_b, make_user):
    a, b = make_user(), make_user()
    addr = fresh_address()
    with api_from(front_b, addr, a.key) as s:
        got = until_limited(s, "/api/sessions")
    codes = [r.status_code for r in got]
    # the burst passes at once, then the key is limited
    assert len(codes) > NGINX_BURST + 1 and set(codes[:-1]) == {200}, codes
    assert assert_429(got[-1]) == int(RETRY_AFTER)
    # the same address with another key is not limited by the first key:
    # it gets its whole burst
    with api_from(front_b, addr, b.key) as s:
        assert [r.status_code for r in (s.get("/api/sessions") for _ in range(NGINX_BURST))] == \
            [200] * NGINX_BURST
    # the first key as a Bearer token, from another address, is the same
    # budget: at most one request's worth came back meanwhile
    with api_from(front_b, fresh_address()) as s:
        codes = [s.get("/api/sessions", headers={"Authorization": "Bearer " + a.key}).status_code
                 for _ in range(3)]
    assert 429 in codes, codes


def test_each_login_cookie_has_its_own_budget(front_b, make_user):
    """A dashboard signed in by cookie is limited per web session, like a
    key: one cookie's budget used up from an address leaves another
    cookie's whole burst from the same address."""
    cookies = []
    for u in (make_user(), make_user()):
        with api_from(front_b, fresh_address()) as s:
            r = signin(s, u.email, u.password)
            assert r.status_code == 200, (r.status_code, r.text[:300])
            tok = [c.value for c in s.cookies if c.name.endswith("next-auth.session-token")]
        assert tok, "no session cookie"
        cookies.append("next-auth.session-token=" + tok[0])
    addr = fresh_address()
    with api_from(front_b, addr) as s:
        got = until_limited(s, "/api/sessions", headers={"Cookie": cookies[0]})
    codes = [r.status_code for r in got]
    assert len(codes) > NGINX_BURST + 1 and set(codes[:-1]) == {200}, codes
    assert assert_429(got[-1]) == int(RETRY_AFTER)
    with api_from(front_b, addr) as s:
        assert [s.get("/api/sessions", headers={"Cookie": cookies[1]}).status_code
                for _ in range(NGINX_BURST)] == [200] * NGINX_BURST


def test_requests_without_credentials_are_limited_per_address(front_b, make_user):
    u = make_user()
    addr = fresh_address()
    with api_from(front_b, addr) as s:
        got = until_limited(s, "/api/nonexistent")
    codes = [r.status_code for r in got]
    assert len(codes) > NGINX_BURST + 1 and set(codes[:-1]) == {404}, codes
    assert assert_429(got[-1]) == int(RETRY_AFTER)
    # another address has its own budget
    with api_from(front_b, fresh_address()) as s:
        assert s.get("/api/nonexistent").status_code == 404
    # a request with a key from the limited address counts against the key
    with api_from(front_b, addr, u.key) as s:
        assert s.get("/api/sessions").status_code == 200


# ---- workers: sign-in failures and registrations per address ----------------

def signin(api, email, password):
    tok = data(api.get("/api/auth/csrf"))["csrfToken"]
    return api.post("/api/auth/callback/credentials",
                    data={"email": email, "password": password, "csrfToken": tok, "json": "true"})


def test_failed_sign_ins_lock_the_address_not_the_account(front_b, make_user):
    u = make_user()
    addr = fresh_address()
    with api_from(front_b, addr) as s:
        for _ in range(SIGNIN_BURST):
            assert_error_shape(signin(s, u.email, "wrong-" + u.password), 401)
        secs = assert_429(signin(s, u.email, "wrong-" + u.password))
        assert secs <= 4, secs   # what is left of a 3-failure burst at 30 a minute
        # the right password does not get through from this address either
        assert_429(signin(s, u.email, u.password))
    # from another address the account signs in
    with api_from(front_b, fresh_address()) as s:
        r = signin(s, u.email, u.password)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        assert any("session-token" in c.name for c in s.cookies)


def test_successful_sign_ins_are_not_counted(front_b, make_user):
    u = make_user()
    with api_from(front_b, fresh_address()) as s:
        for _ in range(SIGNIN_BURST + 2):
            r = signin(s, u.email, u.password)
            assert r.status_code == 200, (r.status_code, r.text[:300])


def test_registrations_are_limited_per_address(front_b):
    addr = fresh_address()
    with api_from(front_b, addr) as s:
        # every attempt counts, valid or not (these create nobody)
        for _ in range(REGISTER_BURST):
            assert_error_shape(s.post("/api/auth/register", json={}), 400)
        assert_429(s.post("/api/auth/register", json={}))
    with api_from(front_b, fresh_address()) as s:
        assert_error_shape(s.post("/api/auth/register", json={}), 400)


# ---- revocation across worker processes ------------------------------------

def status_everywhere(fronts, key, path, n=3):
    """Status codes of n requests on new connections, on every front."""
    codes = []
    for base in fronts:
        for _ in range(n):
            with Api(base, key) as s:
                codes.append(s.get(path).status_code)
    return codes


def test_revoked_key_is_refused_by_every_worker(base_url, front_b, make_user):
    u = make_user()
    fronts = [base_url, front_b]
    assert set(status_everywhere(fronts, u.key, "/api/sessions")) == {200}
    with Api(front_b, u.key) as s:
        assert s.delete("/api/user/api-key").status_code == 200
    assert set(status_everywhere(fronts, u.key, "/api/sessions")) == {401}


def test_deleted_user_is_refused_by_every_worker(base_url, front_b, admin, make_user):
    u = make_user()
    fronts = [base_url, front_b]
    assert set(status_everywhere(fronts, u.key, "/api/sessions")) == {200}
    assert admin.delete("/api/users/%s" % u.id).status_code == 200
    assert set(status_everywhere(fronts, u.key, "/api/sessions")) == {401}


def test_changed_role_applies_on_every_worker(base_url, front_b, bootstrap, make_user):
    u = make_user("SUPERADMIN")
    fronts = [base_url, front_b]
    assert set(status_everywhere(fronts, u.key, "/api/users")) == {200}
    with Api(front_b, bootstrap["apiKey"]) as adm:
        r = adm.patch("/api/users/%s" % u.id, json={"role": "OWNER"})
        assert r.status_code == 200, (r.status_code, r.text[:300])
    assert set(status_everywhere(fronts, u.key, "/api/users")) == {403}


def test_withdrawn_grant_is_refused_by_every_worker(base_url, front_b, make_user, make_session):
    owner, staff = make_user("OWNER"), make_user("STAFF")
    sid = make_session(owner.api)["sessionId"]
    r = owner.api.post("/api/sessions/%s/access" % sid, json={"email": staff.email})
    assert r.status_code == 201, (r.status_code, r.text[:300])
    fronts = [base_url, front_b]
    path = "/api/sessions/%s" % sid
    assert set(status_everywhere(fronts, staff.key, path)) == {200}
    r = owner.api.delete("/api/sessions/%s/access" % sid, json={"userId": staff.id})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert set(status_everywhere(fronts, staff.key, path)) == {403}
