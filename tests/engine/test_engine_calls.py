"""Call offers through the real engine: a phone calling the session is
stored and published as call.received; with the session setting
rejectCalls the engine rejects the call the way WhatsApp clients do (the
caller's phone shows it rejected) and sends the caller rejectCallsMessage
once; without it the call keeps ringing."""
import time

from conftest import sql
from test_engine_messages import events, inbox
from walib import pair_by_qr, wait_for


def call(phone_sim, frm, to, video=False):
    r = phone_sim.post("/admin/phones/%s/call" % frm, {"to": to, "video": video})
    assert r.status_code == 200 and r.json()["devices"] >= 1, r.text
    return r.json()["callId"]


def call_status(phone_sim, number, call_id):
    r = phone_sim.get("/admin/phones/%s/calls" % number)
    assert r.status_code == 200, r.text
    for c in r.json()["calls"]:
        if c["callId"] == call_id:
            return c["status"]
    return None


def stored_call(stack_config, slug, call_id):
    out = sql(stack_config, "SELECT c.status, c.from_jid, c.is_video FROM calls c JOIN wa_sessions s ON "
              "s.id = c.wa_session_id WHERE s.session_id = '%s' AND c.call_id = '%s'" % (slug, call_id))
    return out.split("\t") if out else None


def test_calls_are_stored_and_rejected_when_the_settings_say_so(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)

    ringing = call(phone_sim, bob, alice, video=True)
    wait_for(lambda: stored_call(stack_config, slug, ringing), what="the offer stored")
    assert stored_call(stack_config, slug, ringing) == ["OFFERED", bob + "@s.whatsapp.net", "1"]
    assert events(stack_config, slug, "call.received", "$.status") == ["OFFERED"]
    time.sleep(1)
    assert call_status(phone_sim, bob, ringing) == "ringing", "rejected without rejectCalls"

    r = admin.patch("/api/sessions/%s/settings" % slug,
                    json={"config": {"rejectCalls": True, "rejectCallsMessage": "Sorry, I cannot take calls."}})
    assert r.status_code == 200, r.text
    rejected = call(phone_sim, bob, alice)
    wait_for(lambda: call_status(phone_sim, bob, rejected) == "rejected", what="the caller to see it rejected")
    assert stored_call(stack_config, slug, rejected) == ["REJECTED", bob + "@s.whatsapp.net", "0"]
    wait_for(lambda: [m for m in inbox(phone_sim, bob) if m.get("text") == "Sorry, I cannot take calls."],
             what="the message to the caller")
    assert events(stack_config, slug, "call.received", "$.status") == ["OFFERED", "REJECTED"]

    # off again: rings
    r = admin.patch("/api/sessions/%s/settings" % slug, json={"config": {"rejectCalls": False}})
    assert r.status_code == 200, r.text
    again = call(phone_sim, bob, alice)
    wait_for(lambda: stored_call(stack_config, slug, again), what="the third offer stored")
    time.sleep(1)
    assert call_status(phone_sim, bob, again) == "ringing"
    assert len([m for m in inbox(phone_sim, bob) if m.get("text") == "Sorry, I cannot take calls."]) == 1
