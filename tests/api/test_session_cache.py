"""The session cache (fcgi/sesscache.h) across worker processes.

Three more wa-akg-fcgi of the stack's build and config, spoken to directly
over FastCGI (tests/api/fcgi_direct.py): A and B keep sessions' botConfig
and webhooks in memory, C does not (fcgi.session_cache = false). A change
made through A, or by SQL, is in the very next answer of B; B's answers are
the bytes C reads from the database; and B does answer from memory (shown
by taking away, for a moment, the trigger that keeps it exact)."""

import time

import pytest

from conftest import sql, stop_session
from fcgi_direct import start_workers


@pytest.fixture(scope="module")
def workers(state_dir, stack_config):
    yield from start_workers(state_dir, stack_config,
                             [{}, {}, {"WA_AKG_FCGI_SESSION_CACHE": "false"}])


def _get(w, uri, key):
    st, body = w.request("GET", uri, key=key)
    assert st == 200, (uri, st, body)
    return body


def _one(w, slug, key):
    return _get(w, "/api/sessions/%s" % slug, key)


def _listed(w, slug, key):
    return next(s for s in _get(w, "/api/sessions", key) if s["sessionId"] == slug)


def _warm(w, slug, key):
    for _ in range(2):
        _one(w, slug, key)
        _listed(w, slug, key)


def _hook(w, slug, key, name, url="https://hooks.example.com/in"):
    st, body = w.request("POST", "/api/webhooks/%s" % slug, key=key,
                         body={"name": name, "url": url, "events": ["message.received"]})
    assert st in (200, 201), body
    return body["data"]


def _stable(s):
    """A session answer without what moves with the clock."""
    return {k: v for k, v in s.items() if k != "uptime"}


def test_webhooks_changed_through_a_are_in_bs_next_answer(workers, make_user, make_session):
    a, b, _ = workers
    u = make_user("OWNER")
    slug = make_session(u.api)["sessionId"]
    _warm(b, slug, u.key)
    assert _one(b, slug, u.key)["webhooks"] == []
    h = _hook(a, slug, u.key, "first")
    for s in (_one(b, slug, u.key), _listed(b, slug, u.key)):
        assert [w["name"] for w in s["webhooks"]] == ["first"], s
    st, body = a.request("PUT", "/api/webhooks/%s/%s" % (slug, h["id"]), key=u.key,
                         body={"name": "renamed", "isActive": False})
    assert st == 200, body
    for s in (_one(b, slug, u.key), _listed(b, slug, u.key)):
        assert [(w["name"], w["isActive"]) for w in s["webhooks"]] == [("renamed", False)], s
    second = _hook(a, slug, u.key, "second")
    assert [w["id"] for w in _one(b, slug, u.key)["webhooks"]] == [h["id"], second["id"]]
    st, body = a.request("DELETE", "/api/webhooks/%s/%s" % (slug, h["id"]), key=u.key)
    assert st == 200, body
    for s in (_one(b, slug, u.key), _listed(b, slug, u.key)):
        assert [w["id"] for w in s["webhooks"]] == [second["id"]], s


def test_bot_config_changed_through_a_is_in_bs_next_answer(workers, make_user, make_session):
    a, b, _ = workers
    u = make_user("OWNER")
    slug = make_session(u.api)["sessionId"]
    _warm(b, slug, u.key)
    assert _one(b, slug, u.key)["botConfig"]["prefix"] == "#"
    st, body = a.request("POST", "/api/sessions/%s/bot-config" % slug, key=u.key,
                         body={"prefix": "!", "botName": "Cached?", "botAllowedJids": ["628111@s.whatsapp.net"]})
    assert st == 200, body
    for s in (_one(b, slug, u.key), _listed(b, slug, u.key)):
        bc = s["botConfig"]
        assert (bc["prefix"], bc["botName"], bc["botAllowedJids"]) == ("!", "Cached?", ["628111@s.whatsapp.net"]), bc


def test_sql_writes_are_in_the_next_answer(workers, make_user, make_session, stack_config, engine_running):
    """Writers outside the API: the triggers bump the version in their
    transaction, and the counts and status are read every time. (The
    session is stopped first, so that no engine writes its status.)"""
    _, b, _ = workers
    u = make_user("OWNER")
    sess = make_session(u.api)
    slug = sess["sessionId"]
    stop_session(u.api, slug, engine_running)
    sid = _one(b, slug, u.key)["id"]
    _hook(b, slug, u.key, "by-api")
    _warm(b, slug, u.key)
    sql(stack_config, "UPDATE webhooks SET name = 'by-sql' WHERE wa_session_id = %s" % sid)
    sql(stack_config, "UPDATE bot_configs SET bot_name = 'SQL bot' WHERE wa_session_id = %s" % sid)
    sql(stack_config, "INSERT INTO contacts (wa_session_id, jid, name) VALUES (%s, '628777@s.whatsapp.net', 'x')"
        % sid)
    sql(stack_config, "UPDATE wa_sessions SET status = 'CONNECTED', connected_at = CURRENT_TIMESTAMP(3) "
        "WHERE id = %s" % sid)
    for s in (_one(b, slug, u.key), _listed(b, slug, u.key)):
        assert [w["name"] for w in s["webhooks"]] == ["by-sql"], s
        assert s["botConfig"]["botName"] == "SQL bot", s
        assert s["_count"]["contacts"] == 1, s
        assert s["status"] == "Connected", s
    sql(stack_config, "DELETE FROM bot_configs WHERE wa_session_id = %s" % sid)
    sql(stack_config, "DELETE FROM webhooks WHERE wa_session_id = %s" % sid)
    sql(stack_config, "UPDATE wa_sessions SET status = 'STOPPED', connected_at = NULL WHERE id = %s" % sid)
    for s in (_one(b, slug, u.key), _listed(b, slug, u.key)):
        assert s["botConfig"] is None and s["webhooks"] == [], s


def test_a_deleted_users_webhook_leaves_every_answer(workers, make_user, make_session, admin):
    """A user's deletion takes their webhooks by an FK cascade, which fires
    no trigger: the users trigger bumps the sessions they were on."""
    a, b, _ = workers
    owner, staff = make_user("OWNER"), make_user("STAFF")
    slug = make_session(owner.api)["sessionId"]
    st, body = a.request("POST", "/api/sessions/%s/access" % slug, body={"email": staff.email}, key=owner.key)
    assert st == 201, body
    _hook(a, slug, staff.key, "staff's")
    _warm(b, slug, owner.key)
    assert [w["name"] for w in _one(b, slug, owner.key)["webhooks"]] == ["staff's"]
    assert admin.delete("/api/users/%s" % staff.id).status_code == 200
    for s in (_one(b, slug, owner.key), _listed(b, slug, owner.key)):
        assert s["webhooks"] == [], s


def test_cached_answers_are_the_databases(workers, make_user, make_session):
    """B (cached, warm) and C (no cache) answer the same, for sessions with
    and without webhooks and with a bot config changed."""
    a, b, c = workers
    u = make_user("OWNER")
    slugs = [make_session(u.api)["sessionId"] for _ in range(3)]
    _hook(a, slugs[0], u.key, "one")
    _hook(a, slugs[0], u.key, "two")
    _hook(a, slugs[2], u.key, "three")
    st, body = a.request("POST", "/api/sessions/%s/bot-config" % slugs[1], key=u.key, body={"welcomeEnabled": True})
    assert st == 200, body
    for slug in slugs:
        _warm(b, slug, u.key)
        assert _stable(_one(b, slug, u.key)) == _stable(_one(c, slug, u.key))
    assert _get(b, "/api/sessions", u.key) == _get(c, "/api/sessions", u.key)


def test_b_answers_from_memory(workers, make_user, make_session, stack_config):
    """With the bot_configs INSERT trigger taken away for a moment, a bot
    config inserted by SQL does not bump the version: C (no cache) sees it,
    B still answers what it keeps -- so B does keep it, and the trigger is
    what makes that exact. Put back, the next change is seen by both."""
    _, b, c = workers
    u = make_user("OWNER")
    slug = make_session(u.api)["sessionId"]
    sid = _one(b, slug, u.key)["id"]
    sql(stack_config, "DELETE FROM bot_configs WHERE wa_session_id = %s" % sid)
    _warm(b, slug, u.key)
    assert _one(b, slug, u.key)["botConfig"] is None
    trigger = sql(stack_config, "SELECT ACTION_STATEMENT FROM information_schema.TRIGGERS "
                  "WHERE TRIGGER_NAME = 'trg_bot_configs_ver_ins' AND TRIGGER_SCHEMA = DATABASE()")
    assert trigger and ";" not in trigger, trigger
    sql(stack_config, "DROP TRIGGER trg_bot_configs_ver_ins")
    try:
        sql(stack_config, "INSERT INTO bot_configs (wa_session_id, bot_name) VALUES (%s, 'unseen')" % sid)
    finally:
        sql(stack_config, "CREATE TRIGGER trg_bot_configs_ver_ins AFTER INSERT ON bot_configs FOR EACH ROW "
            + trigger.replace("\\n", "\n").replace("\\t", "\t"))
    assert _one(c, slug, u.key)["botConfig"]["botName"] == "unseen"
    assert _one(b, slug, u.key)["botConfig"] is None
    assert _listed(b, slug, u.key)["botConfig"] is None
    sql(stack_config, "UPDATE bot_configs SET bot_name = 'seen' WHERE wa_session_id = %s" % sid)
    for w in (b, c):
        assert _one(w, slug, u.key)["botConfig"]["botName"] == "seen"
        assert _listed(w, slug, u.key)["botConfig"]["botName"] == "seen"


def _bytes_sent(stack_config):
    return int(sql(stack_config, "SHOW GLOBAL STATUS LIKE 'Bytes_sent'").split()[1])


def test_a_cached_answer_reads_less_of_the_database(workers, make_user, make_session, stack_config):
    """What the cache saves: the bot config and webhook columns are not read
    again. MariaDB sends B (warm) less than half of what it sends C per
    details request of a session with two webhooks."""
    a, b, c = workers
    u = make_user("OWNER")
    slug = make_session(u.api)["sessionId"]
    _hook(a, slug, u.key, "one")
    _hook(a, slug, u.key, "two")
    _warm(b, slug, u.key)
    _warm(c, slug, u.key)
    n = 50
    per = {}
    for name, w in (("b", b), ("c", c)):
        t0, before = time.monotonic(), _bytes_sent(stack_config)
        for _ in range(n):
            _one(w, slug, u.key)
        per[name] = (_bytes_sent(stack_config) - before) / n
        per[name + "_s"] = time.monotonic() - t0
    assert per["b"] < 0.5 * per["c"], per
