#!/usr/bin/python3
"""bench/media_recv_bench.py: received media, first download through the API.

    /usr/bin/python3 bench/media_recv_bench.py [-s SIZES_MB] [-k CONCURRENT] [-o FILE] STATE

One session is paired to a wa-sim phone of the stack in STATE (a dev stack
of your own, as for bench/engine.sh); a second phone sends it media of each
size (random bytes, as a document: wa-sim encrypts and stores it on its
media host); then GET /api/messages/{sid}/download/{id}/media is timed for
the first request (the engine fetches, decrypts and stores the file, nginx
serves it) and for a second one (served from media.dir). Then K messages of
the largest size are downloaded at once, with the engine's VmHWM and
RssAnon before and after (the peak memory a download costs: the stream is
decrypted 64 KiB at a time, so it should not grow with the file size).
Each download is checked byte for byte. Results: bench/results/media-recv-
<UTC date>-<time>.txt. wa-sim's media host keeps at most 16 MiB per file.
"""
import argparse
import base64
import hashlib
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import Stack, mem  # noqa: E402


def pair(st, slug, number):
    for _ in range(40):
        r = st.api("GET", "/api/sessions/%s/qr" % slug)
        qr = (r.json().get("data") or {}).get("qr") if r.status_code == 200 else None
        if qr and st.admin("POST", "/admin/phones/%s/scan" % number, {"qr": qr}).status_code == 200:
            for _ in range(600):
                if st.api("GET", "/api/sessions/%s" % slug).json().get("status") == "Connected":
                    return
                time.sleep(0.05)
        time.sleep(0.5)
    raise RuntimeError("session %s did not pair" % slug)


def phone(st, name):
    number = "49" + os.urandom(5).hex()[:10].translate(str.maketrans("abcdef", "123456"))
    r = st.admin("POST", "/admin/phones", {"number": number, "pushName": name})
    if r.status_code not in (200, 201):
        raise RuntimeError(r.text)
    return number


def stored(st, sid, mid):
    return st.sql1("SELECT COUNT(*) FROM messages WHERE wa_session_id = %d AND message_id = '%s'" % (sid, mid)) == "1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state")
    ap.add_argument("-s", "--sizes", default="1,4,15", help="sizes in MiB, comma separated (at most 15)")
    ap.add_argument("-k", "--concurrent", type=int, default=4)
    ap.add_argument("-o", "--out")
    a = ap.parse_args()
    st = Stack(a.state)
    lines = []

    def out(s=""):
        print(s, flush=True)
        lines.append(s)

    r = st.api("POST", "/api/sessions", json={"name": "media-bench"})
    slug = r.json().get("data", r.json()).get("sessionId")
    sid = int(st.sql1("SELECT id FROM wa_sessions WHERE session_id = '%s'" % slug))
    me, bob = phone(st, "Me"), phone(st, "Sender")
    pair(st, slug, me)
    time.sleep(2)
    commit = os.popen("git -C %s rev-parse --short HEAD 2>/dev/null" % os.path.dirname(__file__)).read().strip()
    out("media-recv bench  %s UTC  commit %s  nproc %d  load %s" % (
        time.strftime("%Y-%m-%d %H:%M", time.gmtime()), commit, os.cpu_count(), open("/proc/loadavg").read().split()[0]))
    out("%8s %10s %12s %10s %12s" % ("MiB", "first s", "first MB/s", "again s", "again MB/s"))

    def send(data):
        r = st.admin("POST", "/admin/phones/%s/send" % bob,
                     {"to": me, "document": {"data": base64.b64encode(data).decode(), "fileName": "b.bin",
                                             "mimetype": "application/octet-stream"}}, timeout=120)
        if r.status_code != 200:
            raise RuntimeError(r.text)
        mid = r.json()["id"]
        t = time.monotonic()
        while not stored(st, sid, mid):
            if time.monotonic() - t > 60:
                raise RuntimeError("not stored: %s" % mid)
            time.sleep(0.05)
        return mid

    def get(mid, want):
        t = time.monotonic()
        r = st.api("GET", "/api/messages/%s/download/%s/media" % (slug, mid), timeout=300)
        dt = time.monotonic() - t
        if r.status_code != 200 or hashlib.sha256(r.content).digest() != hashlib.sha256(want).digest():
            raise RuntimeError("download %s: %s %s" % (mid, r.status_code, r.text[:200]))
        return dt

    sizes = [float(x) for x in a.sizes.split(",")]
    for mb in sizes:
        data = os.urandom(int(mb * 1024 * 1024))
        mid = send(data)
        t1 = get(mid, data)
        t2 = get(mid, data)
        out("%8.1f %10.3f %12.1f %10.3f %12.1f" % (mb, t1, len(data) / t1 / 1e6, t2, len(data) / t2 / 1e6))

    big = max(sizes)
    data = os.urandom(int(big * 1024 * 1024))
    mids = [send(data) for _ in range(a.concurrent)]
    pid = st.engine_pid()
    before = mem(pid)
    errs = []

    def one(m):
        try:
            get(m, data)
        except Exception as e:  # noqa: BLE001 (reported below)
            errs.append(str(e))

    t = time.monotonic()
    ths = [threading.Thread(target=one, args=(m,)) for m in mids]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    dt = time.monotonic() - t
    after = mem(pid)
    out()
    out("%d concurrent first downloads of %.1f MiB: %.3f s, %.1f MB/s in all%s" % (
        a.concurrent, big, dt, a.concurrent * len(data) / dt / 1e6, "; ERRORS: %s" % errs if errs else ""))
    out("engine VmHWM %d -> %d KiB, RssAnon %d -> %d KiB (peak growth %d KiB for %d x %.1f MiB)" % (
        before["VmHWM"], after["VmHWM"], before["RssAnon"], after["RssAnon"], after["VmHWM"] - before["VmHWM"],
        a.concurrent, big))
    st.api("DELETE", "/api/sessions/%s" % slug)
    path = a.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                 "media-recv-%s.txt" % time.strftime("%Y%m%d-%H%M", time.gmtime()))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("results in", path)


if __name__ == "__main__":
    main()
