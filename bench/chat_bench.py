#!/usr/bin/python3
"""bench/chat_bench.py: the chat and contact operations against a running
dev stack (deploy/dev) and its wa-sim, given by its state directory.

  check     C requests of POST /api/chat/{s}/check with 50 numbers each
            (half on WhatsApp), one after another: request latency p50 /
            p99 / max and numbers checked per second
  presence  P requests of POST .../presence {composing}, one after another:
            latency p50 / p99 / max (the answer comes once the chatstate is
            written to the connection)
  read      R rounds: a phone sends M texts, then PUT .../read for the whole
            chat; the time to the 200 (db read, M receipts grouped into one
            stanza, unread count 0) and to the phone seeing all M read

  bench/chat_bench.py [-c C] [-p P] [-r R] [-m M] [-o FILE] STATE

Only the Python standard library and requests. Summary on stdout (and in
FILE, default bench/results/chat-<UTC date>-<time>.txt)."""
import argparse
import json
import os
import statistics
import sys
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

    def request(self, method, path, **kw):
        return self.s.request(method, self.base + path, timeout=30, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def summary(name, ms):
    return "%-10s n=%d p50=%.1f ms p99=%.1f ms max=%.1f ms mean=%.1f ms" % (
        name, len(ms), pct(ms, 50), pct(ms, 99), max(ms), statistics.mean(ms))


def outbox(sim, number):
    return {m["id"]: m["status"] for m in sim.get("/admin/phones/%s/outbox" % number).json()["messages"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", type=int, default=200)
    ap.add_argument("-p", type=int, default=500)
    ap.add_argument("-r", type=int, default=30)
    ap.add_argument("-m", type=int, default=20)
    ap.add_argument("-o")
    ap.add_argument("state")
    a = ap.parse_args()
    st = os.path.abspath(a.state)
    conf = open(os.path.join(st, "wa-akg.conf"), encoding="utf-8").read()
    listen = [l.split("=", 1)[1].strip() for l in conf.splitlines() if l.strip().startswith("listen") and ":" in l
              and not l.strip().split("=", 1)[1].strip().startswith("unix")][0]
    api = Api("http://" + listen, json.load(open(os.path.join(st, "bootstrap.json")))["apiKey"])
    sim = Sim(json.load(open(os.path.join(st, "sim.json"))))
    r = api.post("/api/sessions", json={"name": "chat-bench"})
    assert r.status_code == 200, r.text
    slug = r.json()["sessionId"] if "sessionId" in r.json() else r.json()["data"]["sessionId"]
    lines = []
    try:
        alice, bob = sim.phone("Alice"), sim.phone("Bob")
        pair_by_qr(api, sim, slug, alice)
        chat = bob + "@s.whatsapp.net"
        known = [sim.phone("P%d" % i) for i in range(25)]
        numbers = known + ["1999555%04d" % i for i in range(25)]

        ms = []
        for _ in range(a.c):
            t0 = time.monotonic()
            r = api.post("/api/chat/%s/check" % slug, json={"numbers": numbers})
            ms.append((time.monotonic() - t0) * 1000)
            assert r.status_code == 200 and sum(x["exists"] for x in r.json()["results"]) == 25, r.text[:200]
        lines.append(summary("check", ms) + " numbers/s=%.0f" % (50 * len(ms) / (sum(ms) / 1000)))

        ms = []
        for _ in range(a.p):
            t0 = time.monotonic()
            r = api.post("/api/chat/%s/%s/presence" % (slug, chat), json={"presence": "composing"})
            ms.append((time.monotonic() - t0) * 1000)
            assert r.status_code == 200, r.text[:200]
        lines.append(summary("presence", ms))

        answered, seen = [], []
        for _ in range(a.r):
            r = sim.post("/admin/phones/%s/send" % bob, {"to": alice, "texts": ["t%d" % i for i in range(a.m)]})
            assert r.status_code == 200, r.text[:200]
            ids = r.json()["ids"]
            wait_for(lambda: all(outbox(sim, bob).get(i) == "delivered" for i in ids), timeout=60,
                     what="the texts delivered", every=0.02)
            t0 = time.monotonic()
            r = api.put("/api/chat/%s/%s/read" % (slug, chat), json={})
            answered.append((time.monotonic() - t0) * 1000)
            assert r.status_code == 200 and sorted(r.json()["read"]) == sorted(ids), r.text[:200]
            wait_for(lambda: all(outbox(sim, bob).get(i) == "read" for i in ids), timeout=60,
                     what="the phone to see them read", every=0.005)
            seen.append((time.monotonic() - t0) * 1000)
        lines.append(summary("read-200", answered) + " (%d ids each)" % a.m)
        lines.append(summary("read-seen", seen) + " (phone sees all read; 5 ms polling)")
    finally:
        api.delete("/api/sessions/%s/settings" % slug)
    head = "chat_bench %s c=%d p=%d r=%d m=%d" % (time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                                                  a.c, a.p, a.r, a.m)
    out = "\n".join([head] + lines) + "\n"
    sys.stdout.write(out)
    path = a.o or os.path.join(here, "results", "chat-%s.txt" % time.strftime("%Y%m%d-%H%M", time.gmtime()))
    with open(path, "w", encoding="utf-8") as f:
        f.write(out)


if __name__ == "__main__":
    main()
