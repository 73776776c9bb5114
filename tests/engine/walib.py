"""What the engine tests share: waiting, wa-sim's admin API as a phone's
hands, a session's details through the API, and pairing by QR."""
import random
import time

import requests

from conftest import assert_ok_shape

QR_PREFIX = "https://wa.me/settings/linked_devices#"


def wait_for(pred, timeout=20.0, what="condition", every=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        assert time.monotonic() < deadline, "timed out waiting for %s" % what
        time.sleep(every)


class Sim:
    def __init__(self, info):
        self.url = info["admin_url"]

    def post(self, path, body=None):
        r = requests.post(self.url + path, json=body, timeout=10)
        return r

    def get(self, path):
        return requests.get(self.url + path, timeout=10)

    def phone(self, push_name="Phone"):
        for _ in range(5):
            number = "49" + "".join(random.choice("0123456789") for _ in range(10))
            r = self.post("/admin/phones", {"number": number, "pushName": push_name})
            if r.status_code in (200, 201):
                return number
        raise AssertionError("wa-sim made no phone: %s" % r.text)

    def devices(self, number):
        r = self.get("/admin/phones/%s" % number)
        assert r.status_code == 200, r.text
        return r.json()["devices"]

    def connections(self, jid_prefix):
        r = self.get("/admin/connections")
        assert r.status_code == 200, r.text
        return [c for c in r.json()["connections"] if (c.get("jid") or "").startswith(jid_prefix)]


def details(admin, slug):
    r = admin.get("/api/sessions/%s" % slug)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def connected(admin, slug):
    d = details(admin, slug)
    return d if d["status"] == "Connected" and d.get("me") else None


def current_qr(admin, slug):
    r = admin.get("/api/sessions/%s/qr" % slug)
    if r.status_code == 404:
        return None
    d = assert_ok_shape(r, 200, "QR code generated")
    return d


def pair_by_qr(admin, phone_sim, slug, number):
    qr = wait_for(lambda: current_qr(admin, slug), what="a QR for " + slug)
    assert qr["qr"].startswith(QR_PREFIX), qr["qr"][:80]
    r = phone_sim.post("/admin/phones/%s/scan" % number, {"qr": qr["qr"]})
    assert r.status_code == 200, r.text
    return wait_for(lambda: connected(admin, slug), what=slug + " to connect after the scan")
