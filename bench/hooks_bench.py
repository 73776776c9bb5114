#!/usr/bin/python3
"""bench/hooks_bench.py: wa-akg-hooks against a running dev stack (deploy/dev)
and its wa-sim, given by its state directory.

  latency     a phone sends K texts one after another; for each, the time from
              the wa-sim admin call that sends it to its POST arriving at a
              local receiver (phone -> wa-sim -> engine -> outbox -> hooks ->
              receiver); p50, p90, p99, max
  throughput  the receiver answers 500 while M texts are sent, so they queue
              behind the first (order per session and webhook); then it
              answers 200 and the backlog drains: deliveries per second from
              the first 2xx to the last
  slow        W more webhooks on the session, each to its own receiver that
              takes D ms to answer; N texts sent at once: deliveries per
              second over all W queues, from the first send to the last
              arrival (hooks.parallel attempts at once; one after another
              this is at most 1000/D per second)

  bench/hooks_bench.py [-k K] [-m M] [-w W] [-n N] [-d D] [-o FILE] STATE

Only the Python standard library and requests. Summary on stdout (and in
FILE, default bench/results/hooks-<UTC date>-<time>.txt)."""
import argparse
import http.server
import json
import os
import statistics
import sys
import threading
import time

import requests

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "api"))
sys.path.insert(0, os.path.join(here, "..", "tests", "engine"))
from walib import Sim, pair_by_qr, wait_for  # noqa: E402


class Api:
    def __init__(self, base, key):
        self.base, self.s = base, requests.Session()
        self.s.headers["X-API-Key"] = key

    def get(self, path, **kw):
        return self.s.get(self.base + path, timeout=30, **kw)

    def post(self, path, **kw):
        return self.s.post(self.base + path, timeout=30, **kw)

    def put(self, path, **kw):
        return self.s.put(self.base + path, timeout=30, **kw)

    def delete(self, path, **kw):
        return self.s.delete(self.base + path, timeout=30, **kw)


class Receiver:
    def __init__(self):
        self.arrived = {}      # message id -> monotonic time of its first 2xx
        self.status = 200
        self.delay = 0.0
        self.cv = threading.Condition()
        rx = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = rx.status
                if status == 200 and rx.delay:
                    time.sleep(rx.delay)
                now = time.monotonic()
                if status == 200:
                    mid = json.loads(body)["data"].get("id")
                    with rx.cv:
                        rx.arrived.setdefault(mid, now)
                        rx.cv.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/bench" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wait(self, mid, timeout=30):
        with self.cv:
            ok = self.cv.wait_for(lambda: mid in self.arrived, timeout)
        assert ok, "message %s not delivered" % mid
        return self.arrived[mid]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", type=int, default=100)
    ap.add_argument("-m", type=int, default=300)
    ap.add_argument("-w", type=int, default=8)
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("-d", type=int, default=50)
    ap.add_argument("-o")
    ap.add_argument("state")
    a = ap.parse_args()
    st = os.path.abspath(a.state)
    conf = open(os.path.join(st, "wa-akg.conf"), encoding="utf-8").read()
    listen = [l.split("=", 1)[1].strip() for l in conf.splitlines() if l.strip().startswith("listen") and ":" in l
              and not l.strip().split("=", 1)[1].strip().startswith("unix")][0]
    api = Api("http://" + listen, json.load(open(os.path.join(st, "bootstrap.json")))["apiKey"])
    sim = Sim(json.load(open(os.path.join(st, "sim.json"))))
    rx = Receiver()
    slow = [Receiver() for _ in range(a.w)]
    r = api.post("/api/sessions", json={"name": "hooks-bench"})
    assert r.status_code == 200, r.text
    slug = r.json()["sessionId"] if "sessionId" in r.json() else r.json()["data"]["sessionId"]
    lines = []
    try:
        alice, bob = sim.phone("Alice"), sim.phone("Bob")
        pair_by_qr(api, sim, slug, alice)
        r = api.post("/api/webhooks/%s" % slug, json={"url": rx.url, "events": ["message.received"],
                                                       "secret": "bench"})
        assert r.status_code == 200, r.text
        hook = r.json()["data"]["id"]

        def send(text):
            r = sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": text})
            assert r.status_code == 200, r.text
            return r.json()["id"]

        send("warm-up")
        time.sleep(1)
        delays = []
        for i in range(a.k):
            t0 = time.monotonic()
            mid = send("lat %d" % i)
            delays.append((rx.wait(mid) - t0) * 1000)
        lines.append("latency   phone -> webhook, %d texts one at a time (ms): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f"
                     % (a.k, pct(delays, 50), pct(delays, 90), pct(delays, 99), max(delays)))

        rx.status = 500
        ids = [send("tp %d" % i) for i in range(a.m)]
        wait_for(lambda: api.get("/api/webhooks/%s/%s/deliveries?limit=500" % (slug, hook)).json()["data"]
                 and len([d for d in api.get("/api/webhooks/%s/%s/deliveries?limit=500" % (slug, hook)).json()
                          ["data"] if d["state"] == "PENDING"]) >= a.m, timeout=120, what="the backlog queued")
        rx.status = 200
        first = rx.wait(ids[0], timeout=60)
        last = max(rx.wait(m, timeout=120) for m in ids)
        secs = last - first
        lines.append("throughput  a backlog of %d deliveries to one receiver (one session, in order): "
                     "%.2f s, %.0f deliveries/s" % (a.m, secs, (a.m - 1) / secs if secs > 0 else float("inf")))

        api.delete("/api/webhooks/%s/%s" % (slug, hook))
        hooks = []
        for x in slow:
            x.delay = a.d / 1000.0
            r = api.post("/api/webhooks/%s" % slug, json={"url": x.url, "events": ["message.received"]})
            assert r.status_code == 200, r.text
        t0 = time.monotonic()
        ids = [send("slow %d" % i) for i in range(a.n)]
        last = max(x.wait(m, timeout=300) for x in slow for m in ids)
        secs = last - t0
        lines.append("slow      %d webhooks x %d deliveries, each answer after %d ms: %.2f s, %.0f deliveries/s "
                     "(one at a time would be at most %.0f/s)" % (a.w, a.n, a.d, secs, a.w * a.n / secs,
                                                                 1000.0 / a.d))
    finally:
        api.delete("/api/sessions/%s/settings" % slug)
        rx.srv.shutdown()
        for x in slow:
            x.srv.shutdown()
    out = "\n".join(["# bench/hooks_bench.py %s, K=%d M=%d W=%d N=%d D=%d%s"
                     % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), a.k, a.m, a.w, a.n, a.d,
                        ", " + os.environ["HOOKS_BENCH_LABEL"] if os.environ.get("HOOKS_BENCH_LABEL") else "")]
                    + lines) + "\n"
    sys.stdout.write(out)
    path = a.o or os.path.join(here, "results", "hooks-%s.txt" % time.strftime("%Y%m%d-%H%M%S", time.gmtime()))
    with open(path, "w", encoding="utf-8") as f:
        f.write(out)


if __name__ == "__main__":
    main()
