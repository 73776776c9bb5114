#!/usr/bin/python3
"""bench/groups_bench.py: group operations through a running dev stack
(deploy/dev) and its wa-sim, given by its state directory.

  API latency  K of each, one after another, of: GET details (one w:g2
               query), PUT subject (the change, then a metadata query and
               the wa_groups row written), PUT members promote/demote, PUT
               picture (a 1200 x 800 PNG converted by GraphicsMagick);
               p50, p90, max in ms, measured at the client
  phone -> API a phone renames the group K times; the time until the API's
               group list shows each name (notification -> query -> row)

  bench/groups_bench.py [-k K] [-o FILE] STATE

Only the Python standard library and requests. Summary on stdout (and in
FILE, default bench/results/groups-<UTC date>-<time>.txt)."""
import argparse
import io
import json
import os
import struct
import sys
import time
import zlib

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "api"))
sys.path.insert(0, os.path.join(here, "..", "tests", "engine"))
from hooks_bench import Api, pct  # noqa: E402
from walib import Sim, pair_by_qr, wait_for  # noqa: E402


def png(w, h):
    raw = b"".join(b"\0" + bytes(v for x in range(w) for v in (x % 256, y % 256, 90)) for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def timed(fn, k):
    out = []
    for i in range(k):
        t0 = time.monotonic()
        r = fn(i)
        out.append((time.monotonic() - t0) * 1000)
        assert r.status_code == 200, r.text
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", type=int, default=50)
    ap.add_argument("-o")
    ap.add_argument("state")
    a = ap.parse_args()
    st = os.path.abspath(a.state)
    conf = open(os.path.join(st, "wa-akg.conf"), encoding="utf-8").read()
    listen = [l.split("=", 1)[1].strip() for l in conf.splitlines() if l.strip().startswith("listen") and ":" in l
              and not l.strip().split("=", 1)[1].strip().startswith("unix")][0]
    api = Api("http://" + listen, json.load(open(os.path.join(st, "bootstrap.json")))["apiKey"])
    sim = Sim(json.load(open(os.path.join(st, "sim.json"))))
    r = api.post("/api/sessions", json={"name": "groups-bench"})
    assert r.status_code == 200, r.text
    slug = r.json()["sessionId"] if "sessionId" in r.json() else r.json()["data"]["sessionId"]
    lines = []
    try:
        alice, bob, carol = sim.phone("Alice"), sim.phone("Bob"), sim.phone("Carol")
        pair_by_qr(api, sim, slug, alice)
        r = api.post("/api/groups/%s/create" % slug, json={"subject": "bench", "participants": [bob, carol]})
        assert r.status_code == 200, r.text
        jid = r.json()["group"]["id"]
        base = "/api/groups/%s/%s" % (slug, jid)
        pic = png(1200, 800)
        cases = [
            ("GET details", lambda i: api.get(base)),
            ("PUT subject", lambda i: api.put(base + "/subject", json={"subject": "bench %d" % i})),
            ("PUT members", lambda i: api.put(base + "/members", json={
                "action": "promote" if i % 2 == 0 else "demote", "participants": [carol]})),
            ("PUT picture", lambda i: api.put(base + "/picture", files={
                "file": ("p.png", io.BytesIO(pic), "image/png")})),
        ]
        for name, fn in cases:
            fn(0)  # warm-up
            d = timed(fn, a.k)
            lines.append("%-12s %3d one at a time (ms): p50 %6.1f  p90 %6.1f  max %6.1f"
                         % (name, a.k, pct(d, 50), pct(d, 90), max(d)))

        def listed_subject():
            for g in api.get("/api/groups/%s" % slug).json():
                if g["id"] == jid:
                    return g["subject"]
            return None
        d = []
        for i in range(a.k):
            want = "phone %d" % i
            t0 = time.monotonic()
            r = sim.post("/admin/groups/%s" % jid, {"phone": bob, "action": "subject", "subject": want})
            assert r.status_code == 200, r.text
            wait_for(lambda: listed_subject() == want, every=0.005, what="the phone's subject in the list")
            d.append((time.monotonic() - t0) * 1000)
        lines.append("%-12s %3d one at a time (ms): p50 %6.1f  p90 %6.1f  max %6.1f  (phone rename -> GET list)"
                     % ("phone->API", a.k, pct(d, 50), pct(d, 90), max(d)))
    finally:
        api.delete("/api/sessions/%s" % slug)
    out = a.o or os.path.join(here, "results", time.strftime("groups-%Y%m%d-%H%M.txt", time.gmtime()))
    text = "groups_bench.py -k %d, %s UTC, dev stack %s\n%s\n" % (a.k, time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                                                              listen, "\n".join(lines))
    print(text, end="")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
