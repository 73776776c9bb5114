"""Scheduled messages (POST /api/scheduler/{sessionId}) through the real
engine: sent once when due by the engine that holds the session, SENT with
the message id; recurring ones PENDING again at their next cron time; one
that cannot be sent FAILED with the reason; and across an engine crash in
the middle of a batch every message reaches the phone at most once, each
row ends SENT or is settled from what became of its message."""
import datetime
import signal

from conftest import sql
from test_engine_messages import inbox
from walib import pair_by_qr, wait_for


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def soon(seconds):
    return iso(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds))


def sched_row(stack_config, sid):
    out = sql(stack_config, "SELECT status, IFNULL(message_id, ''), IFNULL(last_error, ''), attempts, "
              "DATE_FORMAT(send_at, '%%Y-%%m-%%dT%%H:%%i:%%s'), sent_at IS NOT NULL "
              "FROM scheduled_messages WHERE id = %d" % int(sid))
    return out.split("\t")


def schedule(admin, slug, body):
    r = admin.post("/api/scheduler/%s" % slug, json=body)
    assert r.status_code == 200, r.text
    return r.json()["data"]["id"]


def texts(phone_sim, number, text):
    return [m for m in inbox(phone_sim, number) if m.get("text") == text]


def test_a_scheduled_message_is_sent_once_when_due(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    sid = schedule(admin, slug, {"jid": bob + "@s.whatsapp.net", "content": "reminder: meeting", "sendAt": soon(2)})
    assert sched_row(stack_config, sid)[0] == "PENDING"
    wait_for(lambda: texts(phone_sim, bob, "reminder: meeting"), timeout=30, what="the scheduled message")
    wait_for(lambda: sched_row(stack_config, sid)[0] == "SENT", what="the row SENT")
    status, msg_id, err, attempts, _, sent = sched_row(stack_config, sid)
    assert texts(phone_sim, bob, "reminder: meeting")[0]["id"] == msg_id and err == "" and attempts == "1", \
        sched_row(stack_config, sid)
    assert sent == "1"
    # the API shows it SENT with its message id
    r = admin.get("/api/scheduler/%s" % slug)
    assert r.status_code == 200, r.text
    mine = [x for x in r.json()["data"] if str(x["id"]) == str(sid)]
    assert mine and mine[0]["status"] == "SENT" and mine[0]["messageId"] == msg_id, r.text
    # and it stays sent once
    wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM engines WHERE heartbeat_at > NOW(3) - "
                         "INTERVAL 10 SECOND") != "0", what="a live engine")
    assert len(texts(phone_sim, bob, "reminder: meeting")) == 1


def test_a_recurring_message_comes_back_at_its_next_time(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    sid = schedule(admin, slug, {"jid": bob + "@s.whatsapp.net", "content": "every minute", "sendAt": soon(2),
                                 "cronExpression": "* * * * *"})
    wait_for(lambda: texts(phone_sim, bob, "every minute"), timeout=30, what="the first send")
    wait_for(lambda: sched_row(stack_config, sid)[5] == "1", what="its sent_at")
    status, msg_id, err, attempts, send_at, sent = sched_row(stack_config, sid)
    assert status == "PENDING" and attempts == "1" and msg_id == texts(phone_sim, bob, "every minute")[0]["id"]
    nxt = datetime.datetime.strptime(send_at, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert nxt.second == 0 and now < nxt <= now + datetime.timedelta(seconds=61), (send_at, now)


def test_a_message_that_cannot_be_sent_fails_with_the_reason(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    pair_by_qr(admin, phone_sim, slug, alice)
    # a number nobody registered with WhatsApp
    sid = schedule(admin, slug, {"jid": "999000111222@s.whatsapp.net", "content": "to nobody", "sendAt": soon(1)})
    wait_for(lambda: sched_row(stack_config, sid)[0] == "FAILED", timeout=30, what="the row FAILED")
    status, msg_id, err, attempts, _, sent = sched_row(stack_config, sid)
    assert err and msg_id == "" and sent == "0", sched_row(stack_config, sid)


def test_an_engine_crash_in_a_batch_sends_nothing_twice(admin, make_session, phone_sim, stack_config, engine):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    at = soon(2)
    ids = [schedule(admin, slug, {"jid": bob + "@s.whatsapp.net", "content": "batch %d" % i, "sendAt": at})
           for i in range(15)]
    wait_for(lambda: any(texts(phone_sim, bob, "batch %d" % i) for i in range(15)), timeout=30,
             what="the first of the batch")
    # a crash in the middle; the new engine settles what it finds SENDING
    # (and still PENDING as a message) after 3 s
    engine.restart(sig=signal.SIGKILL, env_change={"WA_AKG_SCHEDULER_SETTLE_MS": "3000"})
    try:
        engine.wait_registered(stack_config)

        def settled():
            rows = [sched_row(stack_config, i) for i in ids]
            return all(r[0] in ("SENT", "FAILED") for r in rows) and rows

        rows = wait_for(settled, timeout=90, what="every row SENT or settled")
        for i, r in zip(range(15), rows):
            got = texts(phone_sim, bob, "batch %d" % i)
            assert len(got) <= 1, ("sent twice", i, got)
            if r[0] == "SENT":
                assert len(got) == 1 and got[0]["id"] == r[1], (i, r, got)
            else:
                assert got == [] and ("not confirmed" in r[2] or "refused" in r[2]), (i, r, got)
        assert any(r[0] == "SENT" for r in rows), rows
    finally:
        engine.restart(sig=signal.SIGTERM, env_change={"WA_AKG_SCHEDULER_SETTLE_MS": None})
        engine.wait_registered(stack_config)
