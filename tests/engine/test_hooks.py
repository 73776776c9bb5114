"""wa-akg-hooks end to end: a phone's message reaches a local webhook
receiver as `message.received`, signed; a receiver that fails and then
recovers gets every event, in order, with stable event ids; a kill -9 of
the hooks process loses nothing; webhook URLs to private or metadata
addresses are refused (the dev stack allows loopback for the receiver:
hooks.allow_loopback, set by deploy/dev only); the engine's wake-up socket
cues wa-akg-hooks for every event of the outbox, and that cue alone gets a
message to its webhook."""
import hashlib
import hmac
import http.server
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import Daemon, sql
from walib import EventSub, event_url, pair_by_qr, wait_for


class Receiver:
    """A webhook receiver on 127.0.0.1 in a thread: records every POST
    (headers, raw body) and answers `status` (settable), after `delay` s."""

    def __init__(self):
        self.calls = []
        self.status = 200
        self.delay = 0.0
        self.lock = threading.Lock()
        rx = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rx.lock:
                    status = rx.status
                    rx.calls.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": body, "status": status})
                if rx.delay:
                    time.sleep(rx.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/hook" % self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def ok_calls(self):
        with self.lock:
            return [c for c in self.calls if c["status"] == 200]

    def all_calls(self):
        with self.lock:
            return list(self.calls)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Hooks(Daemon):
    """The stack's wa-akg-hooks (pid in STATE/run/hooks.pid). kill() stops
    it with SIGKILL (a crash), start() runs the killed command line again,
    as deploy/dev would."""

    def __init__(self, state_dir):
        super().__init__(state_dir, "hooks")
        self.saved = None

    def kill(self):
        pid = self.pid()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        self.saved = (argv, env)
        os.kill(pid, signal.SIGKILL)

        def gone():
            try:
                with open("/proc/%d/stat" % pid, encoding="ascii") as f:
                    return f.read().split(") ")[-1].startswith("Z")
            except OSError:
                return True
        wait_for(gone, what="wa-akg-hooks %d gone" % pid)

    def start(self, env_change=None):
        """Run the killed command line again; env_change sets environment
        variables of the new process (e.g. a WA_AKG_* config override)."""
        argv, env = self.saved
        env = dict(env, **(env_change or {}))
        with open(self.log, "ab") as log:
            p = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                                 start_new_session=True)
        with open(self.pidfile, "w", encoding="ascii") as f:
            f.write("%d\n" % p.pid)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hooks(state_dir):
    h = Hooks(state_dir)
    if not os.path.exists(h.pidfile) or not h.alive():
        pytest.fail("the stack runs wa-akg-hooks (deploy/dev up starts it)")
    return h


def paired(admin, make_session, phone_sim):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    pair_by_qr(admin, phone_sim, slug, alice)
    return slug, alice


def send(phone_sim, frm, to, text):
    r = phone_sim.post("/admin/phones/%s/send" % frm, {"to": to, "text": text})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def add_hook(admin, slug, url, events, secret=None, name=None):
    body = {"url": url, "events": events}
    if secret:
        body["secret"] = secret
    if name:
        body["name"] = name
    r = admin.post("/api/webhooks/%s" % slug, json=body)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def message_ids(calls):
    """(event id, message id) of each call, in arrival order."""
    return [(c["headers"]["x-wa-akg-event-id"], json.loads(c["body"])["data"]["id"]) for c in calls]


def first_seen(pairs):
    out = []
    for p in pairs:
        if p not in out:
            out.append(p)
    return out


def test_a_message_reaches_the_webhook_signed(admin, make_session, phone_sim, stack_config, receiver, hooks):
    slug, alice = paired(admin, make_session, phone_sim)
    # no name: the n8n node sends none; it defaults to the URL's host
    hook = add_hook(admin, slug, receiver.url, ["message.received"], secret="s3cret")
    assert hook["name"] == "127.0.0.1", hook
    bob = phone_sim.phone("Bob")
    mid = send(phone_sim, bob, alice, "hello hook")
    wait_for(lambda: receiver.ok_calls(), what="the webhook called")
    # only the subscribed event (the pairing's connection.update is not sent)
    c = receiver.ok_calls()[0]
    h, raw = c["headers"], c["body"]
    body = json.loads(raw)
    assert body["event"] == "message.received" and body["sessionId"] == slug, body
    assert body["data"]["id"] == mid and body["data"]["content"] == "hello hook", body
    assert body["timestamp"].endswith("Z"), body
    assert h["content-type"] == "application/json" and h["x-wa-akg-event"] == "message.received", h
    outbox = sql(stack_config, "SELECT o.id FROM events_outbox o JOIN wa_sessions s ON s.id = o.wa_session_id "
                 "WHERE s.session_id = '%s' AND o.event = 'message.received' AND JSON_VALUE(o.payload, '$.id') = '%s'"
                 % (slug, mid))
    assert h["x-wa-akg-event-id"] == outbox, (h, outbox)
    ts = h["x-wa-akg-timestamp"]
    assert ts.isdigit(), h
    want = "sha256=" + hmac.new(b"s3cret", ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(h["x-wa-akg-signature"], want), (h, want)
    # a wrong secret does not verify
    assert h["x-wa-akg-signature"] != "sha256=" + hmac.new(b"other", ts.encode() + b"." + raw,
                                                          hashlib.sha256).hexdigest()
    # the delivery log
    wait_for(lambda: sql(stack_config, "SELECT state, status_code, attempt FROM webhook_deliveries "
                         "WHERE webhook_id = %s" % hook["id"]) == "DELIVERED\t200\t1", what="delivery logged")


def test_a_failing_receiver_gets_every_event_in_order_once_it_recovers(admin, make_session, phone_sim,
                                                                          stack_config, receiver, hooks):
    slug, alice = paired(admin, make_session, phone_sim)
    add_hook(admin, slug, receiver.url, ["message.received"], name="flaky")
    receiver.status = 500
    bob = phone_sim.phone("Bob")
    sent = [send(phone_sim, bob, alice, "m%d" % i) for i in range(5)]
    wait_for(lambda: len(receiver.all_calls()) >= 3, what="three failed attempts")
    failed = message_ids(receiver.all_calls())
    # while the first event fails, the later ones wait behind it
    assert set(m for _, m in failed) == {sent[0]}, failed
    receiver.status = 200
    wait_for(lambda: len(set(m for _, m in message_ids(receiver.ok_calls()))) == 5, timeout=30,
             what="every event delivered")
    ok = first_seen(message_ids(receiver.ok_calls()))
    assert [m for _, m in ok] == sent, ok
    # the event id of the retried event is the one of its failed attempts
    assert ok[0][0] == failed[0][0], (ok, failed)
    ids = [int(e) for e, _ in ok]
    assert ids == sorted(ids) and len(set(ids)) == 5, ids
    # the receiver records a call before it answers: the log follows the answer
    def log():
        return sql(stack_config, "SELECT d.state, d.attempt > 1, d.status_code FROM webhook_deliveries d "
                   "JOIN webhooks w ON w.id = d.webhook_id WHERE w.name = 'flaky' AND w.url = '%s' "
                   "ORDER BY d.outbox_id" % receiver.url).splitlines()
    rows = wait_for(lambda: (lambda x: x if all(r.startswith("DELIVERED\t") for r in x) else None)(log()),
                    what="every delivery logged DELIVERED")
    assert len(rows) == 5 and rows[0] == "DELIVERED\t1\t200", rows


def test_kill_9_of_the_hooks_process_loses_nothing(admin, make_session, phone_sim, stack_config, receiver, hooks):
    slug, alice = paired(admin, make_session, phone_sim)
    add_hook(admin, slug, receiver.url, ["message.received"])
    bob = phone_sim.phone("Bob")
    receiver.delay = 0.3
    sent = [send(phone_sim, bob, alice, "k%d" % i) for i in range(4)]
    try:
        # killed in the middle of the deliveries (one may be in flight)
        wait_for(lambda: len(receiver.ok_calls()) >= 1, what="the first delivery")
        hooks.kill()
        hooks.start()
        wait_for(lambda: len(receiver.ok_calls()) >= 2, what="deliveries resumed")
        # killed again, and events stored while it is down
        hooks.kill()
        more = [send(phone_sim, bob, alice, "d%d" % i) for i in range(3)]
        wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM events_outbox o JOIN wa_sessions s ON "
                             "s.id = o.wa_session_id WHERE s.session_id = '%s' AND o.event = 'message.received'"
                             % slug) == "7", what="the messages stored while hooks is down")
        receiver.delay = 0.0
    finally:
        if not hooks.alive():
            hooks.start()
    wait_for(lambda: len(set(m for _, m in message_ids(receiver.ok_calls()))) == 7, timeout=30,
             what="every event delivered")
    pairs = message_ids(receiver.ok_calls())
    assert [m for _, m in first_seen(pairs)] == sent + more, pairs
    # at least once: a repeat carries the same event id (and the same body)
    by_id = {}
    for c in receiver.ok_calls():
        by_id.setdefault(c["headers"]["x-wa-akg-event-id"], set()).add(c["body"])
    assert len(by_id) == 7 and all(len(b) == 1 for b in by_id.values()), by_id


def test_webhook_urls_to_private_or_metadata_addresses_are_refused(admin, make_session, phone_sim, stack_config,
                                                                     hooks):
    slug = make_session(admin)["sessionId"]
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/hook", "http://192.168.1.1/",
                "http://[fd00:ec2::254]/", "ftp://127.0.0.1/x", "http://0.0.0.0/"):
        r = admin.post("/api/webhooks/%s" % slug, json={"url": url, "events": ["*"]})
        assert r.status_code == 400, (url, r.status_code, r.text)
    # a row that bypassed the API (written before the rule, or by hand) is
    # refused by wa-akg-hooks at connect time: no request leaves
    slug, alice = paired(admin, make_session, phone_sim)
    sql(stack_config, "INSERT INTO webhooks (wa_session_id, user_id, name, url, events) SELECT id, user_id, "
        "'meta', 'http://169.254.169.254/latest/meta-data/', '[\"*\"]' FROM wa_sessions WHERE session_id = '%s'"
        % slug)
    send(phone_sim, phone_sim.phone("Bob"), alice, "to metadata?")
    got = lambda: sql(stack_config, "SELECT d.state, IFNULL(d.status_code, 'none'), d.error FROM webhook_deliveries d "
                      "JOIN webhooks w ON w.id = d.webhook_id JOIN wa_sessions s ON s.id = w.wa_session_id "
                      "WHERE s.session_id = '%s' AND d.attempt >= 1 ORDER BY d.id LIMIT 1" % slug)
    wait_for(lambda: got(), what="an attempt logged")
    state, code, err = got().split("\t")
    assert state == "PENDING" and code == "none" and "refused" in err and "metadata" in err, got()


def test_a_webhook_failing_for_long_is_paused_and_its_owner_told(admin, make_session, phone_sim, stack_config,
                                                                  receiver, hooks):
    slug, alice = paired(admin, make_session, phone_sim)
    hook = add_hook(admin, slug, receiver.url, ["message.received"], name="dying")
    receiver.status = 503
    bob = phone_sim.phone("Bob")
    send(phone_sim, bob, alice, "p0")
    wait_for(lambda: receiver.all_calls(), what="a failed attempt")
    # the event has been failing for 25 hours (hooks.pause_after_hours: 24)
    sql(stack_config, "UPDATE webhook_deliveries SET created_at = NOW(3) - INTERVAL 25 HOUR "
        "WHERE webhook_id = %s" % hook["id"])
    wait_for(lambda: sql(stack_config, "SELECT is_active FROM webhooks WHERE id = %s" % hook["id"]) == "0",
             what="the webhook paused")
    note = sql(stack_config, "SELECT n.title, n.type FROM notifications n JOIN webhooks w ON w.user_id = n.user_id "
               "WHERE w.id = %s AND n.message LIKE 'Webhook %s %%'" % (hook["id"], hook["id"]))
    assert note == "Webhook paused\tWARNING", note
    r = admin.get("/api/webhooks/%s" % slug)
    assert [h["isActive"] for h in r.json()["data"] if h["id"] == hook["id"]] == [False], r.text
    # paused: nothing more is attempted
    n = len(receiver.all_calls())
    send(phone_sim, bob, alice, "p1")
    wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM events_outbox o JOIN wa_sessions s ON s.id = "
                         "o.wa_session_id WHERE s.session_id = '%s' AND o.event = 'message.received' AND "
                         "o.published_at IS NOT NULL" % slug) == "2", what="the second event fanned out")
    assert len(receiver.all_calls()) == n
    # past hooks.give_up_hours (72) the event is given up once the webhook is
    # resumed and fails again; the receiver recovered, the next one goes
    sql(stack_config, "UPDATE webhook_deliveries SET created_at = NOW(3) - INTERVAL 73 HOUR "
        "WHERE webhook_id = %s" % hook["id"])
    r = admin.put("/api/webhooks/%s/%s" % (slug, hook["id"]), json={"isActive": True})
    assert r.status_code == 200, r.text
    wait_for(lambda: sql(stack_config, "SELECT state FROM webhook_deliveries WHERE webhook_id = %s"
                         % hook["id"]) == "FAILED", what="the old event given up")
    receiver.status = 200
    m = send(phone_sim, bob, alice, "p2")
    wait_for(lambda: [x for _, x in message_ids(receiver.ok_calls())] == [m], what="the next event delivered")


def test_a_test_event_is_delivered_and_logged(admin, make_session, stack_config, receiver, hooks):
    slug = make_session(admin)["sessionId"]
    hook = add_hook(admin, slug, receiver.url, ["message.received"], secret="k")
    other = add_hook(admin, slug, receiver.url + "?other", ["*"])
    r = admin.post("/api/webhooks/%s/%s/test" % (slug, hook["id"]))
    assert r.status_code == 200, r.text
    ev = r.json()["data"]["eventId"]
    def test_calls():
        return [x for x in receiver.ok_calls() if json.loads(x["body"])["event"] == "webhook.test"]
    c = wait_for(test_calls, what="the test event")[0]
    body = json.loads(c["body"])
    assert (body["event"], body["sessionId"], body["data"]["webhookId"]) == ("webhook.test", slug, hook["id"]), body
    assert c["headers"]["x-wa-akg-event-id"] == ev, c["headers"]
    want = "sha256=" + hmac.new(b"k", c["headers"]["x-wa-akg-timestamp"].encode() + b"." + c["body"],
                                hashlib.sha256).hexdigest()
    assert c["headers"]["x-wa-akg-signature"] == want
    log = wait_for(lambda: [d for d in admin.get("/api/webhooks/%s/%s/deliveries" % (slug, hook["id"])).json()["data"]
                            if d["state"] == "DELIVERED"], what="the delivery in the log")
    d = log[0]
    assert (d["eventId"], d["event"], d["statusCode"], d["attempts"], d["error"]) == (ev, "webhook.test", 200, 1, None), d
    assert isinstance(d["durationMs"], int) and d["deliveredAt"].endswith("Z"), d
    # only the webhook it was sent to (the other one, on "*", may get the
    # new session's own connection.update events)
    assert [d for d in admin.get("/api/webhooks/%s/%s/deliveries" % (slug, other["id"])).json()["data"]
            if d["event"] == "webhook.test"] == []
    assert test_calls() == [c]
    # another session's webhook id is 404 on both routes
    s2 = make_session(admin)["sessionId"]
    assert admin.get("/api/webhooks/%s/%s/deliveries" % (s2, hook["id"])).status_code == 404
    assert admin.post("/api/webhooks/%s/%s/test" % (s2, hook["id"])).status_code == 404
    assert admin.get("/api/webhooks/%s/%s/deliveries?limit=0" % (slug, hook["id"])).status_code == 400


def wake_url(stack_config):
    """The engine's wake-up address as its engines row has it."""
    return sql(stack_config, "SELECT COALESCE(wake_url, '') FROM engines WHERE heartbeat_at > NOW(3) - "
               "INTERVAL 60 SECOND ORDER BY heartbeat_at DESC LIMIT 1").strip()


def cue_count(body):
    """A wake-up message: "outbox", a NUL, the engine's count of outbox events so far."""
    name, sep, n = body.partition(b"\0")
    assert name == b"outbox" and sep and n.isdigit(), body
    return int(n)


def settled(read, every=0.3, what="no more traffic"):
    """read() once it gives the same answer twice, every s apart."""
    last = [None]

    def same():
        now = read()
        if now == last[0]:
            return now
        last[0] = now
        time.sleep(every)
        return None
    return wait_for(same, what=what)


def test_the_engine_cues_hooks_for_every_outbox_event(admin, make_session, phone_sim, stack_config):
    ev_url, wk = event_url(stack_config), wake_url(stack_config)
    # a socket of its own on the engine's host: the event socket would carry
    # every event to wa-akg-hooks
    assert wk.startswith("tcp://127.0.0.1:") and wk != ev_url, (wk, ev_url)
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    with EventSub(ev_url) as events, EventSub(wk, decode=cue_count) as cues:
        def outboxed():
            return len([e for e in events.all() if e.get("outbox_id")])

        send(phone_sim, bob, alice, "cue 0")
        events.wait(slug, "message.received")
        wait_for(lambda: cues.all(), what="a cue on the wake-up socket")
        c0, e0 = settled(lambda: (cues.all()[-1], outboxed()))
        ids = [send(phone_sim, bob, alice, "cue %d" % i) for i in range(1, 11)]
        wait_for(lambda: len(events.of(slug, "message.received")) == 11, what="ten more messages published")
        # the last cue counts every outbox event the engine published (of
        # any session) since the first: none is left uncued
        c1, e1 = settled(lambda: (cues.all()[-1], outboxed()))
        assert e1 - e0 >= 10, (e0, e1)
        assert c1 - c0 == e1 - e0, (c0, c1, e0, e1)
        counts = cues.all()
        assert counts == sorted(counts), counts
        got = [e["data"]["id"] for e in events.of(slug, "message.received")][1:]
        assert got == ids, got


def test_the_cue_alone_brings_a_message_to_its_webhook(admin, make_session, phone_sim, stack_config, receiver,
                                                       hooks):
    wk = wake_url(stack_config)
    slug, alice = paired(admin, make_session, phone_sim)
    add_hook(admin, slug, receiver.url, ["message.received"])
    with open(hooks.log, "rb") as f:
        f.seek(0, os.SEEK_END)
        log_from = f.tell()
    hooks.kill()
    as_started = hooks.saved
    try:
        # it looks at the outbox by itself only every 10 minutes now
        hooks.start({"WA_AKG_HOOKS_POLL_MS": "600000"})

        def subscribed():
            with open(hooks.log, "rb") as f:
                f.seek(log_from)
                return ("subscribed to engine wake-ups at %s" % wk).encode() in f.read()
        wait_for(subscribed, what="wa-akg-hooks subscribed to the wake-up socket")
        time.sleep(0.5)  # its first look at the outbox (at start) is over
        bob = phone_sim.phone("Bob")
        mid = send(phone_sim, bob, alice, "cued")
        wait_for(lambda: receiver.ok_calls(), timeout=30, what="the webhook called (only the cue can do it)")
        assert json.loads(receiver.ok_calls()[0]["body"])["data"]["id"] == mid
    finally:
        # back as the stack started it (kill() took this process's settings)
        hooks.kill()
        hooks.saved = as_started
        hooks.start()
    with open("/proc/%d/environ" % hooks.pid(), "rb") as f:
        assert b"WA_AKG_HOOKS_POLL_MS=600000" not in f.read().split(b"\0")
