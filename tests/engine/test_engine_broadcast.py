"""Broadcasts and spam as resumable jobs through the real engine: the
request answers at once with the job's id, the recipients get the message
one after the other with the pause between them, the history and detail
routes show the progress per recipient, a cancel stops the rest, and an
engine killed in the middle of a job resumes it with nobody messaged twice.

The stack's broadcast pause is the default 10-20 s; these tests restart the
engine with short pauses (WA_AKG_LIMITS_BROADCAST_DELAY_*), as the
robustness tests restart it with short QR lifetimes."""
import signal

import pytest

from test_engine_messages import inbox
from walib import pair_by_qr, wait_for

FAST = {"WA_AKG_LIMITS_BROADCAST_DELAY_MIN_MS": "300", "WA_AKG_LIMITS_BROADCAST_DELAY_MAX_MS": "600",
        "WA_AKG_SCHEDULER_SETTLE_MS": "3000"}
SLOW = {"WA_AKG_LIMITS_BROADCAST_DELAY_MIN_MS": "4000", "WA_AKG_LIMITS_BROADCAST_DELAY_MAX_MS": "4000",
        "WA_AKG_SCHEDULER_SETTLE_MS": "3000"}
DEFAULT = {k: None for k in FAST}


@pytest.fixture
def fast_engine(engine, stack_config):
    engine.restart(sig=signal.SIGTERM, env_change=FAST)
    engine.wait_registered(stack_config)
    yield engine
    engine.restart(sig=signal.SIGTERM, env_change=DEFAULT)
    engine.wait_registered(stack_config)


def texts(phone_sim, number, text):
    return [m for m in inbox(phone_sim, number) if m.get("text") == text]


def job(admin, slug, bid):
    r = admin.get("/api/messages/%s/broadcasts/%s" % (slug, bid))
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_a_broadcast_reaches_everyone_once_and_shows_its_progress(admin, make_session, phone_sim, fast_engine):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    pair_by_qr(admin, phone_sim, slug, alice)
    phones = [phone_sim.phone("R%d" % i) for i in range(4)]
    r = admin.post("/api/messages/%s/broadcast" % slug,
                   json={"recipients": [p + "@s.whatsapp.net" for p in phones] + [phones[0] + "@s.whatsapp.net"],
                         "message": "Flash Sale! 50% off", "delay": 0})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    assert r.json()["message"] == "Broadcast started in background", r.text
    bid = r.json()["data"]["id"]
    assert r.json()["data"]["recipients"] == 4, "a recipient named twice is messaged once"
    wait_for(lambda: job(admin, slug, bid)["status"] == "DONE", timeout=60, what="the broadcast DONE")
    j = job(admin, slug, bid)
    assert (j["total"], j["sent"], j["failed"]) == (4, 4, 0), j
    assert all(x["status"] == "SENT" and x["messageId"] for x in j["recipients"]), j
    for p, x in zip(phones, j["recipients"]):
        got = texts(phone_sim, p, "Flash Sale! 50% off")
        assert len(got) == 1 and got[0]["id"] == x["messageId"], (p, got, x)
    # one after the other, with the pause between them (at least 300 ms)
    times = sorted(x["sentAt"] for x in j["recipients"])
    assert len(set(times)) == 4, times
    r = admin.get("/api/messages/%s/broadcasts" % slug)
    assert r.status_code == 200 and r.json()["data"][0]["id"] == str(bid), r.text


def test_spam_is_a_job_too(admin, make_session, phone_sim, fast_engine):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    r = admin.post("/api/messages/%s/%s@s.whatsapp.net/spam" % (slug, bob),
                   json={"message": "again", "count": 3, "delay": 0})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    assert r.json()["data"]["count"] == 3 and r.json()["data"]["delayMs"] == 250, r.text
    bid = r.json()["data"]["id"]
    wait_for(lambda: job(admin, slug, bid)["status"] == "DONE", timeout=60, what="the spam DONE")
    j = job(admin, slug, bid)
    assert j["kind"] == "SPAM" and j["recipients"][0]["sentCount"] == 3 and j["sent"] == 3, j
    assert len(texts(phone_sim, bob, "again")) == 3


def test_cancel_stops_the_rest(admin, make_session, phone_sim, engine, stack_config):
    engine.restart(sig=signal.SIGTERM, env_change=SLOW)
    engine.wait_registered(stack_config)
    try:
        slug = make_session(admin)["sessionId"]
        alice = phone_sim.phone("Alice")
        pair_by_qr(admin, phone_sim, slug, alice)
        phones = [phone_sim.phone("C%d" % i) for i in range(3)]
        r = admin.post("/api/messages/%s/broadcast" % slug,
                       json={"recipients": [p + "@s.whatsapp.net" for p in phones], "message": "cancel me"})
        assert r.status_code == 200, r.text
        bid = r.json()["data"]["id"]
        wait_for(lambda: texts(phone_sim, phones[0], "cancel me"), timeout=30, what="the first recipient")
        r = admin.post("/api/messages/%s/broadcasts/%s/cancel" % (slug, bid))
        assert r.status_code == 200 and r.json()["data"]["status"] == "CANCELLED", r.text
        r = admin.post("/api/messages/%s/broadcasts/%s/cancel" % (slug, bid))
        assert r.status_code == 409, r.text
        r = admin.post("/api/messages/%s/broadcasts/999999999/cancel" % slug)
        assert r.status_code == 404, r.text
        wait_for(lambda: job(admin, slug, bid)["recipients"][0]["status"] == "SENT", what="the first one SENT")
        j = job(admin, slug, bid)
        assert [x["status"] for x in j["recipients"][1:]] == ["SKIPPED", "SKIPPED"], j
        import time
        time.sleep(5)  # longer than the pause: nothing more goes out
        assert texts(phone_sim, phones[1], "cancel me") == [] and texts(phone_sim, phones[2], "cancel me") == []
    finally:
        engine.restart(sig=signal.SIGTERM, env_change=DEFAULT)
        engine.wait_registered(stack_config)


def test_an_engine_killed_mid_broadcast_resumes_it(admin, make_session, phone_sim, engine, stack_config):
    engine.restart(sig=signal.SIGTERM, env_change=FAST)
    engine.wait_registered(stack_config)
    try:
        slug = make_session(admin)["sessionId"]
        alice = phone_sim.phone("Alice")
        pair_by_qr(admin, phone_sim, slug, alice)
        phones = [phone_sim.phone("K%d" % i) for i in range(8)]
        r = admin.post("/api/messages/%s/broadcast" % slug,
                       json={"recipients": [p + "@s.whatsapp.net" for p in phones], "message": "resume me"})
        assert r.status_code == 200, r.text
        bid = r.json()["data"]["id"]
        wait_for(lambda: sum(1 for p in phones if texts(phone_sim, p, "resume me")) >= 3, timeout=30,
                 what="three recipients")
        engine.restart(sig=signal.SIGKILL, env_change=FAST)
        engine.wait_registered(stack_config)
        wait_for(lambda: job(admin, slug, bid)["status"] == "DONE", timeout=90, what="the broadcast DONE again")
        j = job(admin, slug, bid)
        for p, x in zip(phones, j["recipients"]):
            got = texts(phone_sim, p, "resume me")
            assert len(got) <= 1, ("messaged twice", p, got)
            if x["status"] == "SENT":
                assert len(got) == 1 and got[0]["id"] == x["messageId"], (p, x, got)
            else:
                assert x["status"] == "FAILED" and got == [] and "not confirmed" in (x["error"] or ""), (p, x, got)
        assert j["sent"] + j["failed"] == 8 and j["sent"] >= 7, j
    finally:
        engine.restart(sig=signal.SIGTERM, env_change=DEFAULT)
        engine.wait_registered(stack_config)
