"""The auth cache (fcgi/authcache.h) across two worker processes.

The test starts two more wa-akg-fcgi of the stack's own binary and config
(one worker process each, their own sockets) and speaks FastCGI to each
directly, so it knows which process answers: worker A and worker B. Both
cache credentials; a change made through A is refused or seen by the very
next request through B (and the other way round), and a cached credential
is answered without a credential statement (MariaDB's Com_stmt_execute)."""

import time

import pytest

from conftest import login, sql
from fcgi_direct import start_workers


@pytest.fixture(scope="module")
def workers(state_dir, stack_config):
    """Two wa-akg-fcgi processes of the stack's build and config, each one
    worker process of two threads on its own socket, both caching."""
    yield from start_workers(state_dir, stack_config, [{}, {}])


def _warm(w, uri, status, **kw):
    """Two requests with the same credentials on w: the first may fill the
    cache, the second is answered from it."""
    for _ in range(2):
        st, body = w.request("GET", uri, **kw)
        assert st == status, (uri, st, body)


def test_key_revoked_through_a_is_refused_by_b(workers, make_user):
    a, b = workers
    u = make_user("OWNER")
    _warm(a, "/api/sessions", 200, key=u.key)
    _warm(b, "/api/sessions", 200, key=u.key)
    st, body = a.request("DELETE", "/api/user/api-key", key=u.key)
    assert st == 200, body
    st, body = b.request("GET", "/api/sessions", key=u.key)
    assert st == 401, body
    st, body = a.request("GET", "/api/sessions", key=u.key)
    assert st == 401, body


def test_new_key_replaces_the_cached_one_everywhere(workers, make_user):
    a, b = workers
    u = make_user("OWNER")
    _warm(b, "/api/sessions", 200, key=u.key)
    st, body = a.request("POST", "/api/user/api-key", key=u.key)
    assert st == 200, body
    new = body.get("data", body)["apiKey"]
    assert b.request("GET", "/api/sessions", key=u.key)[0] == 401
    assert b.request("GET", "/api/sessions", key=new)[0] == 200


def test_role_change_is_seen_by_the_next_request(workers, make_user, bootstrap):
    a, b = workers
    u = make_user("OWNER")
    _warm(b, "/api/users", 403, key=u.key)
    st, body = a.request("PATCH", "/api/users/%s" % u.id, body={"role": "SUPERADMIN"}, key=bootstrap["apiKey"])
    assert st == 200, body
    _warm(b, "/api/users", 200, key=u.key)
    st, body = b.request("PATCH", "/api/users/%s" % u.id, body={"role": "STAFF"}, key=bootstrap["apiKey"])
    assert st == 200, body
    st, body = a.request("GET", "/api/users", key=u.key)
    assert st == 403, body
    st, body = b.request("GET", "/api/users", key=u.key)
    assert st == 403, body


def test_withdrawn_grant_is_refused_by_the_next_request(workers, make_user, make_session):
    a, b = workers
    owner, staff = make_user("OWNER"), make_user("STAFF")
    slug = make_session(owner.api)["sessionId"]
    # no grant yet: 403 on both, cached
    _warm(b, "/api/sessions/%s" % slug, 403, key=staff.key)
    _warm(a, "/api/autoreplies/%s" % slug, 403, key=staff.key)
    st, body = a.request("POST", "/api/sessions/%s/access" % slug, body={"email": staff.email}, key=owner.key)
    assert st == 201, body
    # the grant given is seen at once too
    _warm(b, "/api/sessions/%s" % slug, 200, key=staff.key)
    _warm(b, "/api/autoreplies/%s" % slug, 200, key=staff.key)
    _warm(a, "/api/sessions/%s" % slug, 200, key=staff.key)
    st, body = a.request("DELETE", "/api/sessions/%s/access" % slug, body={"userId": staff.id}, key=owner.key)
    assert st == 200, body
    # what the access matrix expects of a stranger: 403 in the error shape
    for w in (b, a):
        for uri in ("/api/sessions/%s" % slug, "/api/autoreplies/%s" % slug):
            st, body = w.request("GET", uri, key=staff.key)
            assert st == 403, (uri, st, body)
            assert body["status"] is False and body["error"] == "forbidden", body
    st, body = b.request("GET", "/api/sessions", key=staff.key)
    assert st == 200 and slug not in [s["sessionId"] for s in body], body


def test_deleted_user_is_refused_by_the_next_request(workers, make_user, bootstrap):
    a, b = workers
    u = make_user("STAFF")
    _warm(b, "/api/sessions", 200, key=u.key)
    _warm(a, "/api/sessions", 200, key=u.key)
    st, body = a.request("DELETE", "/api/users/%s" % u.id, key=bootstrap["apiKey"])
    assert st == 200, body
    for w in (b, a):
        st, body = w.request("GET", "/api/sessions", key=u.key)
        assert st == 401, body


def test_signed_out_cookie_is_refused_by_the_next_request(workers, make_user, base_url):
    a, b = workers
    u = make_user("OWNER")
    web = login(base_url, u.email, u.password)
    cookie = "; ".join("%s=%s" % (c.name, c.value) for c in web.cookies)
    csrf = web.headers["X-CSRF-Token"]
    _warm(b, "/api/sessions", 200, cookie=cookie)
    _warm(a, "/api/sessions", 200, cookie=cookie)
    st, body = a.request("POST", "/api/auth/signout", body={"csrfToken": csrf}, cookie=cookie)
    assert st == 200, body
    for w in (b, a):
        st, body = w.request("GET", "/api/sessions", cookie=cookie)
        assert st == 401, body


def test_password_change_signs_out_other_web_sessions(workers, make_user, base_url, bootstrap):
    a, b = workers
    u = make_user("OWNER")
    web = login(base_url, u.email, u.password)
    cookie = "; ".join("%s=%s" % (c.name, c.value) for c in web.cookies)
    _warm(b, "/api/sessions", 200, cookie=cookie)
    st, body = a.request("PATCH", "/api/users/%s" % u.id, body={"password": "pw-new-" + u.id},
                         key=bootstrap["apiKey"])
    assert st == 200, body
    st, body = b.request("GET", "/api/sessions", cookie=cookie)
    assert st == 401, body


def test_sql_outside_the_api_is_seen_once_the_leases_acknowledge(workers, make_user, stack_config):
    """A change made by hand in SQL: the workers see it at their next
    renewal; here the test waits for every live lease to acknowledge the
    epoch (what an API request that revokes waits for) and then asks B."""
    a, b = workers
    u = make_user("OWNER")
    _warm(b, "/api/users", 403, key=u.key)
    sql(stack_config, "UPDATE users SET role = 'SUPERADMIN' WHERE id = %s" % u.id)
    lag = "1"
    while lag != "0":
        lag = sql(stack_config, "SELECT COUNT(*) FROM worker_leases WHERE lease_until > CURRENT_TIMESTAMP(3) "
                                "AND epoch_seen < (SELECT epoch FROM auth_epoch)")
    assert b.request("GET", "/api/users", key=u.key)[0] == 200
    sql(stack_config, "UPDATE users SET role = 'OWNER' WHERE id = %s" % u.id)


def _stmts(stack_config):
    return int(sql(stack_config, "SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'").split()[1])


def test_cached_credentials_cost_no_statement(workers, make_user, stack_config):
    """GET /api/user/api-key reads one statement of its own (the key's
    prefix); the credentials, once cached, none. N requests through B cost
    N statements and what runs anyway meanwhile (the leases' renewals, the
    engine's heartbeat: measured first, while idle), where looking the key
    up every time costs 2N."""
    _, b = workers
    u = make_user("OWNER")
    _warm(b, "/api/user/api-key", 200, key=u.key)
    t0, s0 = time.monotonic(), _stmts(stack_config)
    time.sleep(1)
    idle_rate = (_stmts(stack_config) - s0) / (time.monotonic() - t0)
    n = 300
    t0, before = time.monotonic(), _stmts(stack_config)
    for _ in range(n):
        st, _ = b.request("GET", "/api/user/api-key", key=u.key)
        assert st == 200
    spent = _stmts(stack_config) - before
    background = idle_rate * (time.monotonic() - t0)
    assert spent - background < 1.5 * n, (spent, background, n)


def test_a_worker_that_cannot_renew_stops_answering_from_its_cache(workers, make_user, stack_config):
    """Without its lease a worker asks the database. The test takes the
    leases away (worker_leases renamed: every renewal fails) and then makes
    a change that bumps no epoch (the users trigger dropped for the
    moment): only a worker that no longer answers from its cache can see
    it. (A healthy worker would keep the cached role: that is why every
    writer must bump the epoch.)"""
    _, b = workers
    u = make_user("OWNER")
    _warm(b, "/api/users", 403, key=u.key)
    trigger = ("CREATE TRIGGER IF NOT EXISTS trg_users_epoch_upd AFTER UPDATE ON users FOR EACH ROW "
               "UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1")
    sql(stack_config, "RENAME TABLE worker_leases TO worker_leases_off")
    try:
        sql(stack_config, "DROP TRIGGER trg_users_epoch_upd")
        try:
            sql(stack_config, "UPDATE users SET role = 'SUPERADMIN' WHERE id = %s" % u.id)
        finally:
            sql(stack_config, trigger)
        # the lease B renewed last runs out (auth.cache_lease_ms); until
        # then B may still answer from its cache
        codes = []
        for _ in range(200):
            codes.append(b.request("GET", "/api/users", key=u.key)[0])
            if codes[-1] != 403:
                break
            time.sleep(0.05)
        assert codes[-1] == 200, codes
    finally:
        sql(stack_config, "RENAME TABLE worker_leases_off TO worker_leases")
        sql(stack_config, "UPDATE users SET role = 'OWNER' WHERE id = %s" % u.id)
