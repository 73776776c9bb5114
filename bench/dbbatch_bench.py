"""One round of bench/dbbatch.sh: pair a new session to a new simulated
phone, have another phone send it M texts (8 at a time through wa-sim's
admin API), and print how long until all M are stored; then delete the
session."""
import argparse
import json
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import requests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--port", required=True)
    ap.add_argument("-m", type=int, default=600)
    a = ap.parse_args()
    sim = json.load(open(a.state + "/sim.json"))["admin_url"]
    key = json.load(open(a.state + "/bootstrap.json"))["apiKey"]
    base, h = "http://127.0.0.1:%s" % a.port, {"X-API-Key": key}

    def phone(name):
        n = "49" + "".join(random.choice("0123456789") for _ in range(10))
        r = requests.post(sim + "/admin/phones", json={"number": n, "pushName": name}, timeout=10)
        assert r.status_code in (200, 201), r.text
        return n

    def wait(pred, what, timeout=60):
        end = time.monotonic() + timeout
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() > end:
                raise SystemExit("timed out waiting for " + what)
            time.sleep(0.2)

    def stored(slug):
        return int(subprocess.check_output(
            ["mysql", "-S", a.state + "/mysql/mysqld.sock", "-uroot", "-N", "wa_akg", "-e",
             "SELECT COUNT(*) FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
             "WHERE s.session_id = '%s'" % slug]).strip())

    slug = requests.post(base + "/api/sessions", json={"name": "dbbatch"}, headers=h, timeout=10).json()["sessionId"]
    try:
        alice, bob = phone("Bench A"), phone("Bench B")
        qr = wait(lambda: (lambda r: r.json()["data"]["qr"] if r.status_code == 200 else None)(
            requests.get(base + "/api/sessions/%s/qr" % slug, headers=h, timeout=10)), "a QR")
        requests.post(sim + "/admin/phones/%s/scan" % alice, json={"qr": qr}, timeout=10)
        wait(lambda: requests.get(base + "/api/sessions/%s" % slug, headers=h, timeout=10).json()["status"]
             == "Connected", "Connected")
        time.sleep(2)
        t = time.monotonic()
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda i: requests.post(sim + "/admin/phones/%s/send" % bob,
                                                json={"to": alice, "text": "m%d" % i}, timeout=30), range(a.m)))
        sent = time.monotonic() - t
        wait(lambda: stored(slug) >= a.m, "every message stored", 300)
        took = time.monotonic() - t
        print("%d sent by wa-sim in %.2f s, all stored after %.2f s: %.0f msg/s" % (a.m, sent, took, a.m / took))
    finally:
        requests.delete(base + "/api/sessions/%s" % slug, headers=h, timeout=30)


if __name__ == "__main__":
    main()
