#!/usr/bin/python3
"""bench/media_bench.py: sending media by URL through a running dev stack
(deploy/dev) and its wa-sim, given by its state directory.

For each size (MiB) a local HTTP server serves a file of random bytes; C
sessions (each paired to its own phone) send it as a video at the same time
(POST /send {"video": {"url": ...}}). Measured:
  - the time from the requests to the last answer (fetch, encryption and
    upload to wa-sim's media host, then the message) and the MB/s that makes
    (C x size / time);
  - the engine's resident memory (VmRSS of /proc/<engine>/status, sampled
    every 10 ms) before and at its peak during the sends: the pipeline
    streams through 64 KiB buffers and temporary files, so the peak should
    not grow with the file size;
  - every phone's decrypted copy has the file's SHA-256.

With -b the file goes as base64 inside the JSON body instead
({"video": "<base64>"}): that form arrives whole in the command, so the
engine's memory then grows with the file (the figure to compare).

  bench/media_bench.py [-s 1,16,64] [-c 1] [-b] [-o FILE] STATE

Only the Python standard library and requests. Summary on stdout (and in
FILE, default bench/results/media-<UTC date>-<time>.txt)."""
import argparse
import base64
import hashlib
import http.server
import json
import os
import socketserver
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

    def post(self, path, **kw):
        kw.setdefault("timeout", 600)
        kw.setdefault("headers", self.s.headers)
        return requests.post(self.base + path, **kw)

    def get(self, path, **kw):
        return self.s.get(self.base + path, timeout=30, **kw)

    def delete(self, path, **kw):
        return self.s.delete(self.base + path, timeout=30, **kw)


FILES = {}


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        path = FILES.get(self.path)
        if not path:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.end_headers()
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                self.wfile.write(b)


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid, encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", default="1,16,64")
    ap.add_argument("-c", type=int, default=1)
    ap.add_argument("-b", action="store_true", help="send as base64 in the JSON body")
    ap.add_argument("-o")
    ap.add_argument("state")
    a = ap.parse_args()
    st = os.path.abspath(a.state)
    conf = open(os.path.join(st, "wa-akg.conf"), encoding="utf-8").read()
    listen = [l.split("=", 1)[1].strip() for l in conf.splitlines() if l.strip().startswith("listen") and ":" in l
              and not l.strip().split("=", 1)[1].strip().startswith("unix")][0]
    api = Api("http://" + listen, json.load(open(os.path.join(st, "bootstrap.json")))["apiKey"])
    sim = Sim(json.load(open(os.path.join(st, "sim.json"))))
    epid = int(open(os.path.join(st, "run", "engine.pid")).read().strip())
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    lines = ["engine pid %d, %d session(s) sending at once, %s; engine.media_threads as configured"
             % (epid, a.c, "as base64 in the JSON body" if a.b else "by URL")]
    slugs, pairs, tmp = [], [], []
    try:
        for i in range(a.c):
            r = api.post("/api/sessions", json={"name": "media-bench-%d" % i}, timeout=30)
            assert r.status_code == 200, r.text
            slug = r.json()["sessionId"] if "sessionId" in r.json() else r.json()["data"]["sessionId"]
            slugs.append(slug)
            me, peer = sim.phone("Bench %d" % i), sim.phone("Peer %d" % i)
            pair_by_qr(api, sim, slug, me)
            pairs.append((slug, peer))
        for mib in [int(x) for x in a.s.split(",")]:
            path = "/tmp/media-bench-%d-%d.bin" % (os.getpid(), mib)
            tmp.append(path)
            h = hashlib.sha256()
            with open(path, "wb") as f:
                for _ in range(mib):
                    b = os.urandom(1 << 20)
                    h.update(b)
                    f.write(b)
            digest = h.hexdigest()
            FILES["/%d.mp4" % mib] = path
            time.sleep(1)
            before = rss_kib(epid)
            peak = [before]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_kib(epid))
                    time.sleep(0.01)
            threading.Thread(target=sample, daemon=True).start()
            answers = [None] * a.c
            if a.b:
                with open(path, "rb") as f:
                    body = json.dumps({"message": {"video": base64.b64encode(f.read()).decode(),
                                                   "mimetype": "video/mp4"}}).encode()

            def one(k):
                slug, peer = pairs[k]
                url = "/api/messages/%s/%s@s.whatsapp.net/send" % (slug, peer)
                if a.b:
                    answers[k] = api.post(url, data=body, headers=dict(api.s.headers,
                                                                       **{"Content-Type": "application/json"}))
                else:
                    answers[k] = api.post(url, json={"message": {"video": {"url": "%s/%d.mp4" % (base, mib)}}})
            t0 = time.monotonic()
            ts = [threading.Thread(target=one, args=(k,)) for k in range(a.c)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            dt = time.monotonic() - t0
            stop.set()
            for k, r in enumerate(answers):
                assert r.status_code == 200, r.text
                mid = r.json()["data"]["key"]["id"]
                peer = pairs[k][1]
                m = wait_for(lambda: [x for x in sim.get("/admin/phones/%s/inbox" % peer).json()["messages"]
                                      if x["id"] == mid], timeout=120, what="the video on the phone")[0]
                assert m.get("mediaOk") and m["mediaSha256"] == digest, m
            lines.append("%3d MiB x %d: %6.2f s  %6.1f MB/s  engine RSS %6.1f MiB before, peak %6.1f MiB "
                         "(+%.1f MiB)  phones' copies identical"
                         % (mib, a.c, dt, a.c * mib * 1.048576 / dt, before / 1024, peak[0] / 1024,
                            (peak[0] - before) / 1024))
            print(lines[-1], flush=True)
            os.unlink(path)
            tmp.remove(path)
    finally:
        for p in tmp:
            os.unlink(p)
        for slug in slugs:
            api.delete("/api/sessions/%s/settings" % slug)
        srv.shutdown()
    lines.append("engine VmHWM (peak RSS since start) %.1f MiB" % (rss_kib(epid, "VmHWM") / 1024))
    out = a.o or os.path.join(here, "results", time.strftime("media-%Y%m%d-%H%M.txt", time.gmtime()))
    with open(out, "w", encoding="utf-8") as f:
        f.write("bench/media_bench.py -s %s -c %d%s, %s UTC\n" % (a.s, a.c, " -b" if a.b else "",
                                                                 time.strftime("%Y-%m-%d %H:%M", time.gmtime())))
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("written to", out)


if __name__ == "__main__":
    main()
