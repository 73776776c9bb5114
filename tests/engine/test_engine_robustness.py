"""The engine under stress and hostility, through the public API, the
engine's PUB socket and wa-sim's admin API (the phones and the server):

- every event a user's integration subscribes to arrives on the PUB socket
  with the topic and payload docs/engine.md documents, and is the one the
  outbox holds;
- an engine killed (SIGKILL) twice in the middle of a stream of 1,000
  inbound messages stores each exactly once, with one event each, and the
  session comes back without pairing again;
- malformed frames and hostile stanzas from the server cost at most the one
  connection they arrive on: the engine lives, the session reconnects by
  itself, and another session on the same engine goes on meanwhile;
- QR refs rotate on the configured lifetimes, and after the last one the
  session stops waiting and says so;
- a text that is not UTF-8 is stored repaired; forged retry receipts
  leave our Signal sessions alone; hostile commands on the engine's command
  socket are refused."""
import json
import os
import re
import signal
import socket
import struct
import time

import pytest

from conftest import assert_error_shape, assert_iso, assert_ok_shape, sql
from walib import (QR_PREFIX, EventSub, current_qr, details, engine_command, event_url, frame_hex, pair_by_qr,
                   pb_field, wait_for)


# ---- helpers ----

def stored(stack_config, slug, chat):
    out = sql(stack_config, "SELECT m.message_id, m.content FROM messages m JOIN wa_sessions s "
              "ON s.id = m.wa_session_id WHERE s.session_id = '%s' AND m.remote_jid = '%s' ORDER BY m.id"
              % (slug, chat))
    return [line.split("\t") for line in out.splitlines() if line]


def stored_count(stack_config, slug, chat):
    return int(sql(stack_config, "SELECT COUNT(*) FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
                   "WHERE s.session_id = '%s' AND m.remote_jid = '%s'" % (slug, chat)).strip())


def outbox_row(stack_config, outbox_id):
    """(session slug, event, payload as JSON) of one events_outbox row."""
    out = sql(stack_config, "SELECT s.session_id, o.event, HEX(o.payload) FROM events_outbox o JOIN wa_sessions s "
              "ON s.id = o.wa_session_id WHERE o.id = %d" % outbox_id)
    assert out, "no events_outbox row %d" % outbox_id
    slug, event, payload = out.split("\t", 2)
    return slug, event, json.loads(bytes.fromhex(payload))  # hex: the batch output escapes backslashes


def outbox_events(stack_config, slug, event):
    out = sql(stack_config, "SELECT HEX(o.payload) FROM events_outbox o JOIN wa_sessions s "
              "ON s.id = o.wa_session_id WHERE s.session_id = '%s' AND o.event = '%s' ORDER BY o.id" % (slug, event))
    return [json.loads(bytes.fromhex(line)) for line in out.splitlines() if line]


def phone_outbox(phone_sim, number):
    r = phone_sim.get("/admin/phones/%s/outbox" % number)
    assert r.status_code == 200, r.text
    return {m["id"]: m["status"] for m in r.json()["messages"]}


def phone_inbox(phone_sim, number):
    r = phone_sim.get("/admin/phones/%s/inbox" % number)
    assert r.status_code == 200, r.text
    return r.json()["messages"]


def assert_published_as_stored(stack_config, ev, slug, t0):
    """A PUB event: its topic, its waipc.Event fields, and the outbox row it
    names holding the same payload."""
    assert ev["topic"] == "%s.%s" % (slug, ev["event"]), ev["topic"]
    assert ev["session_id"] == slug and ev["data"]["sessionId"] == slug, ev
    assert t0 - 5000 <= ev["timestamp_ms"] <= time.time() * 1000 + 5000, ev
    assert ev.get("outbox_id"), "every event here is one webhooks deliver: it is in the outbox"
    assert outbox_row(stack_config, ev["outbox_id"]) == (slug, ev["event"], ev["data"]), ev


# ---- 1. events on the PUB socket ----

def test_every_event_is_published_with_its_documented_payload(admin, make_session, phone_sim, stack_config):
    t0 = time.time() * 1000
    with EventSub(event_url(stack_config)) as sub:
        slug = make_session(admin)["sessionId"]
        alice = phone_sim.phone("Alice")
        bob = phone_sim.phone("Bob")
        qr = wait_for(lambda: current_qr(admin, slug), what="a QR")["qr"]
        me = pair_by_qr(admin, phone_sim, slug, alice)["me"]
        chat = bob + "@s.whatsapp.net"

        # connection.update: the QR while it waits (the string /qr shows), then Connected with `me`
        ev = sub.wait(slug, "connection.update", lambda e: e["data"]["state"] == "SCAN_QR")
        assert_published_as_stored(stack_config, ev, slug, t0)
        assert ev["data"] == {"sessionId": slug, "status": "Connecting", "state": "SCAN_QR", "qr": qr}, ev["data"]
        ev = sub.wait(slug, "connection.update", lambda e: e["data"]["state"] == "CONNECTED")
        assert_published_as_stored(stack_config, ev, slug, t0)
        assert ev["data"] == {"sessionId": slug, "status": "Connected", "state": "CONNECTED",
                              "me": {k: v for k, v in me.items() if v is not None}}, (ev["data"], me)

        # message.received: exactly the documented fields
        r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "hello events"})
        assert r.status_code == 200, r.text
        mid = r.json()["id"]
        ev = sub.wait(slug, "message.received", lambda e: e["data"]["id"] == mid)
        assert_published_as_stored(stack_config, ev, slug, t0)
        d = dict(ev["data"])
        assert_iso(d.pop("timestamp"))
        ts = d.pop("messageTimestamp")
        assert isinstance(ts, int) and abs(ts - time.time()) < 3600, ts
        assert d == {"sessionId": slug, "key": {"remoteJid": chat, "fromMe": False, "id": mid}, "id": mid,
                     "remoteJid": chat, "fromMe": False, "sender": chat, "pushName": "Bob", "type": "TEXT",
                     "content": "hello events"}, d
        # a reply carries the quoted id
        r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "re", "quotedId": mid})
        reply = r.json()["id"]
        ev = sub.wait(slug, "message.received", lambda e: e["data"]["id"] == reply)
        assert ev["data"]["quotedId"] == mid and ev["data"]["content"] == "re", ev["data"]

        # message.sent and message.status: SENT on the server's ack, then the phone's receipts
        r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": {"text": "hi Bob"}})
        assert r.status_code == 200, r.text
        sid = r.json()["data"]["key"]["id"]
        ev = sub.wait(slug, "message.sent", lambda e: e["data"]["id"] == sid)
        assert_published_as_stored(stack_config, ev, slug, t0)
        d = dict(ev["data"])
        assert_iso(d.pop("timestamp"))
        assert isinstance(d.pop("messageTimestamp"), int)
        # ours: no sender and no push name
        assert d == {"sessionId": slug, "key": {"remoteJid": chat, "fromMe": True, "id": sid}, "id": sid,
                     "remoteJid": chat, "fromMe": True, "type": "TEXT", "content": "hi Bob"}, d
        sub.wait(slug, "message.status", lambda e: e["data"]["id"] == sid and e["data"]["status"] == "DELIVERED",
                 what="DELIVERED from Bob's phone")
        assert phone_sim.post("/admin/phones/%s/read" % bob, {"ids": [sid]}).status_code == 200
        sub.wait(slug, "message.status", lambda e: e["data"]["id"] == sid and e["data"]["status"] == "READ",
                 what="READ after Bob read it")
        statuses = [e for e in sub.of(slug, "message.status") if e["data"]["id"] == sid]
        assert [e["data"]["status"] for e in statuses] == ["SENT", "DELIVERED", "READ"], statuses
        for e in statuses:
            assert_published_as_stored(stack_config, e, slug, t0)
            d = dict(e["data"])
            assert isinstance(d.pop("timestamp"), int), d
            assert d == {"sessionId": slug, "id": sid, "remoteJid": chat, "status": e["data"]["status"]}, d

        # connection.update on stop and on start
        n0 = len(sub.of(slug, "connection.update"))
        assert_ok_shape(admin.post("/api/sessions/%s/stop" % slug), 200)
        ev = sub.wait(slug, "connection.update", lambda e: e["data"]["state"] == "STOPPED")
        assert_published_as_stored(stack_config, ev, slug, t0)
        assert ev["data"]["status"] == "Disconnected", ev["data"]
        assert_ok_shape(admin.post("/api/sessions/%s/start" % slug), 200)
        wait_for(lambda: [e for e in sub.of(slug, "connection.update")[n0:] if e["data"]["state"] == "CONNECTED"],
                 what="Connected again after start")
        later = [e["data"]["state"] for e in sub.of(slug, "connection.update")[n0:]]
        assert later[0] == "STOPPED" and "CONNECTING" in later and later[-1] == "CONNECTED", later
        assert "SCAN_QR" not in later, "started again from the stored credentials: %r" % later
        # nothing published for this session that is not in its outbox, in the same order
        for e in sub.of(slug):
            assert_published_as_stored(stack_config, e, slug, t0)
        published = [e["outbox_id"] for e in sub.of(slug)]
        assert published == sorted(published), published
        assert sub.error is None, sub.error


# ---- 2. a crash in the middle of 1,000 inbound messages ----

def test_an_engine_killed_twice_in_a_stream_of_1000_messages_stores_each_once(
        admin, make_session, phone_sim, stack_config, engine):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    me = pair_by_qr(admin, phone_sim, slug, alice)["me"]["id"]
    devices = phone_sim.devices(alice)
    chat = bob + "@s.whatsapp.net"
    texts = ["m%04d" % i for i in range(1000)]
    t0 = time.monotonic()

    ids, kills = [], []
    for half, at in ((texts[:500], 100), (texts[500:], 600)):
        r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "texts": half})
        assert r.status_code == 200, r.text
        ids += r.json()["ids"]
        # SIGKILL once part of the stream is stored and the rest is not
        kills.append(wait_for(lambda: (lambda n: n if n >= at else None)(stored_count(stack_config, slug, chat)),
                              timeout=60, every=0.02, what="%d messages stored" % at))
        engine.restart()
    assert len(set(ids)) == 1000
    rows = wait_for(lambda: (lambda x: x if len(x) >= 1000 else None)(stored(stack_config, slug, chat)),
                    timeout=120, what="all 1000 messages stored after two crashes")
    elapsed = time.monotonic() - t0
    assert kills[0] < 500 and kills[1] < 1000, "killed in the middle of the stream: %r" % kills
    assert sorted(r[0] for r in rows) == sorted(ids), "every message exactly once"
    assert sorted(r[1] for r in rows) == texts
    # and in the order they were sent: what was stored before a crash, then
    # the offline batch after it, oldest first (rows are in insertion order)
    assert [r[1] for r in rows] == texts, "stored out of order"
    events = sql(stack_config, "SELECT JSON_VALUE(o.payload, '$.id') FROM events_outbox o JOIN wa_sessions s "
                 "ON s.id = o.wa_session_id WHERE s.session_id = '%s' AND o.event = 'message.received'" % slug)
    assert sorted(events.split()) == sorted(ids), "exactly one message.received row per message"
    # answered, from the same device: no pairing again
    # answered: the server holds nothing more for the device (the phone's
    # outbox keeps only its last few hundred: those show delivered)
    dev = int(me.split(":")[1].split("@")[0])
    wait_for(lambda: [x for x in phone_sim.devices(alice) if x["id"] == dev and x["unanswered"] == 0
                      and x["queued"] == 0], timeout=60, what="every message answered")
    o = phone_outbox(phone_sim, bob)
    assert o and set(o) <= set(ids) and all(v in ("delivered", "read") for v in o.values()), o
    d = wait_for(lambda: (lambda x: x if x["status"] == "Connected" else None)(details(admin, slug)),
                 what="Connected after the crashes")
    assert d["me"]["id"] == me
    assert [x["id"] for x in phone_sim.devices(alice)] == [x["id"] for x in devices], "no new device"
    states = [p["state"] for p in outbox_events(stack_config, slug, "connection.update")]
    after = states[states.index("CONNECTED"):]
    assert "SCAN_QR" not in after and after.count("CONNECTED") >= 3, states
    print("1000 messages with two SIGKILLs (after %d and %d stored): %.1f s" % (kills[0], kills[1], elapsed))


def test_a_text_that_is_not_utf8_is_stored_repaired_and_answered(admin, make_session, phone_sim, stack_config):
    """A broken or hostile client's text with bytes that are not UTF-8:
    JSON and MariaDB's utf8mb4 refuse them as they are, so the engine stores
    and publishes the text with U+FFFD for each bad byte and answers it,
    instead of leaving it for the server to offer again forever."""
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    chat = bob + "@s.whatsapp.net"
    with EventSub(event_url(stack_config)) as sub:
        r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "textHex": (b"\xff\xfe caf\xc3").hex()})
        assert r.status_code == 200, r.text
        mid = r.json()["id"]
        want = "\ufffd\ufffd caf\ufffd"
        rows = wait_for(lambda: stored(stack_config, slug, chat), what="the repaired text stored")
        assert rows == [[mid, want]], rows
        ev = sub.wait(slug, "message.received", lambda e: e["data"]["id"] == mid)
        assert ev["data"]["content"] == want, ev["data"]
    wait_for(lambda: phone_outbox(phone_sim, bob).get(mid) in ("delivered", "read"), what="the text answered")
    hist = admin.get("/api/chat/%s/%s" % (slug, chat)).json()
    assert [m["content"] for m in hist] == [want], hist


# ---- 3. hostile bytes from the server ----

class Pair:
    """Two sessions on the engine, each paired with its own phone, and a
    third phone (Carol) that writes to both: `target` gets the hostile
    bytes, `bystander` must not notice."""


@pytest.fixture(scope="module")
def two_sessions(base_url, bootstrap, sim, stack_config, engine_running):
    from conftest import Api, unique
    from walib import Sim
    assert engine_running
    api = Api(base_url, bootstrap["apiKey"])
    phones = Sim(sim)
    p = Pair()
    p.api, p.sim = api, phones
    p.slugs = []
    for role in ("target", "bystander"):
        r = api.post("/api/sessions", json={"name": unique(role)})
        assert r.status_code == 200, r.text
        slug = r.json()["sessionId"]
        p.slugs.append(slug)
        number = phones.phone(role.title())
        me = pair_by_qr(api, phones, slug, number)["me"]["id"]
        setattr(p, role, (slug, number, me))
    p.carol = phones.phone("Carol")
    yield p
    for slug in p.slugs:
        api.delete("/api/sessions/%s/settings" % slug)
    api.close()


def logged_in(phone_sim, jid):
    return [c for c in phone_sim.connections(jid) if c["state"] == "logged-in"]


def log_size(engine):
    return os.path.getsize(engine.log)


def log_since(engine, offset):
    with open(engine.log, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def roundtrip(p, stack_config, who, text):
    """Carol writes to `who`'s account and it is stored; `who` answers
    through the API and Carol's phone gets it."""
    slug, number, _ = who
    carol = p.carol + "@s.whatsapp.net"
    r = p.sim.post("/admin/phones/%s/send" % p.carol, {"to": number, "text": text})
    assert r.status_code == 200, r.text
    mid = r.json()["id"]
    wait_for(lambda: [m for m in stored(stack_config, slug, carol) if m[0] == mid], timeout=30,
             what="%s to store %r" % (slug, text))
    r = p.api.post("/api/messages/%s/%s/send" % (slug, carol), json={"message": {"text": "re " + text}})
    assert r.status_code == 200, r.text
    sid = r.json()["data"]["key"]["id"]
    wait_for(lambda: [m for m in phone_inbox(p.sim, p.carol) if m["id"] == sid], timeout=30,
             what="Carol to get %s's answer" % slug)


BOB = "4915550000099@s.whatsapp.net"  # a sender the engine has no session with


def _raw(text):
    """A BINARY_8 string, as hex."""
    return (bytes([252, len(text)]) + text.encode()).hex()


def deep(levels):
    node = ("x", {}, None)
    for _ in range(levels - 1):
        node = ("x", {}, [node])
    return node


# (name, send-raw body without the connection id, what the engine must do):
# "close" = that connection is dropped with a logged reason; "keep" = the
# stanza is ignored (or answered) and the connection stays.
HOSTILE = [
    # malformed frames
    ("bad noise ciphertext", {"hex": "00000a00112233445566778899", "encrypted": False}, "close"),
    ("a frame shorter than its tag", {"hex": "00000101", "encrypted": False}, "close"),
    ("empty frame", {"hex": ""}, "close"),
    ("truncated list", {"hex": "00f802"}, "close"),
    ("truncated attribute string", {"hex": "00f803" + _raw("message") + _raw("from") + "fc20" + b"abc".hex()},
     "close"),
    # every DICTIONARY_0..3 index names a token; 240-244 are no tag at all
    ("unassigned token as the tag", {"hex": "00f801f0"}, "close"),
    ("unassigned token as an attribute value", {"hex": "00f803" + _raw("iq") + _raw("id") + "f3"}, "close"),
    ("dictionary tag without its index", {"hex": "00f801ef"}, "close"),
    ("huge list size", {"hex": "00f9ffff" + "00" * 8}, "close"),
    ("huge binary length", {"hex": "00f801feffffffff"}, "close"),
    ("bad zlib", {"hex": "02" + "78da" + "ff" * 20}, "close"),
    ("trailing bytes", {"hex": frame_hex("iq", {"id": "1", "type": "result"}) + "00"}, "close"),
    ("nesting past the decoder's cap", {"hex": frame_hex(*deep(80))}, "close"),
    # well-formed, hostile
    ("message with garbage enc", {"hex": frame_hex("message", {"from": BOB, "id": "3EB0BAD0000000000001",
                                                               "type": "text", "t": "1764745200"},
                                                   [("enc", {"v": "2", "type": "msg"}, os.urandom(64))])},
     "keep"),
    ("message with garbage pkmsg", {"hex": frame_hex("message", {"from": BOB, "id": "3EB0BAD0000000000002",
                                                                 "type": "text", "t": "1764745200"},
                                                     [("enc", {"v": "2", "type": "pkmsg"}, os.urandom(200))])},
     "keep"),
    ("message with an unknown enc type", {"hex": frame_hex("message", {"from": BOB, "id": "3EB0BAD0000000000003",
                                                                       "type": "text", "t": "1764745200"},
                                                           [("enc", {"v": "2", "type": "frob"}, b"\x01\x02")])},
     "keep"),
    ("message without id or from", {"hex": frame_hex("message", {"type": "text"},
                                                     [("enc", {"v": "2", "type": "msg"}, b"\x33")])}, "keep"),
    ("group skmsg from nowhere", {"hex": frame_hex("message", {"from": "120363999999999999@g.us",
                                                               "participant": BOB, "id": "3EB0BAD0000000000004",
                                                               "type": "text", "t": "1764745200"},
                                                   [("enc", {"v": "2", "type": "skmsg"}, os.urandom(90))])},
     "keep"),
    ("receipt for an unknown id", {"hex": frame_hex("receipt", {"from": BOB, "id": "3EB0NOSUCHID0000",
                                                                "t": "1764745200"})}, "keep"),
    ("read receipt with a list of unknown ids", {"hex": frame_hex("receipt", {
        "from": BOB, "id": "3EB0NOSUCHID0001", "type": "read", "t": "1764745200"},
        [("list", {}, [("item", {"id": "3EB0NOSUCH%04d" % i}, None) for i in range(300)])])}, "keep"),
    ("retry receipt with garbage keys", {"hex": frame_hex("receipt", {
        "from": BOB, "id": "3EB0NOSUCHID0002", "type": "retry", "t": "1764745200"},
        [("retry", {"count": "1", "id": "3EB0NOSUCHID0002", "t": "1764745200", "v": "1"}, None),
         ("registration", {}, b"\xff\xff"), ("keys", {}, [("type", {}, b"\x05"), ("identity", {}, b"x")])])},
     "keep"),
    ("iq result with an unknown id", {"hex": frame_hex("iq", {"id": "no-such-iq", "type": "result",
                                                              "from": "s.whatsapp.net"})}, "keep"),
    ("iq error with an unknown id", {"hex": frame_hex("iq", {"id": "no-such-iq-2", "type": "error",
                                                             "from": "s.whatsapp.net"},
                                                      [("error", {"code": "500"}, None)])}, "keep"),
    ("ack for an unknown id", {"hex": frame_hex("ack", {"class": "message", "id": "3EB0NOSUCHID0003",
                                                        "from": BOB})}, "keep"),
    ("unknown top-level tag", {"hex": frame_hex("frobnicate", {"a": "b"}, [("c", {}, b"d")])}, "keep"),
    ("notification of an unknown type", {"hex": frame_hex("notification", {"from": "s.whatsapp.net",
                                                                            "id": "n-1", "type": "zz-unknown"},
                                                          [("zz", {}, None)])}, "keep"),
    ("very long attribute values", {"hex": frame_hex("message", {"from": BOB, "id": "A" * 12000, "type": "text",
                                                                 "t": "9" * 3000},
                                                     [("enc", {"v": "2", "type": "msg"}, b"\x00")])}, "keep"),
    ("a long attribute on an unknown tag", {"hex": frame_hex("zz", {"k" * 500: "v" * 14000})}, "keep"),
    ("deep nesting within the cap", {"hex": frame_hex(*deep(60))}, "keep"),
    ("message with enc children instead of bytes", {"hex": frame_hex("message", {
        "from": BOB, "id": "3EB0BAD0000000000006", "type": "text", "t": "1764745200"},
        [("enc", {"v": "2", "type": "msg"}, [("enc", {"v": "2", "type": "msg"}, b"\x01")])])}, "keep"),
    ("message with 200 encs", {"hex": frame_hex("message", {
        "from": BOB, "id": "3EB0BAD0000000000007", "type": "text", "t": "1764745200"},
        [("enc", {"v": "2", "type": ("msg", "pkmsg", "skmsg")[i % 3]}, os.urandom(40)) for i in range(200)])},
     "keep"),
    ("message without enc", {"hex": frame_hex("message", {"from": BOB, "id": "3EB0BAD0000000000008",
                                                          "type": "text", "t": "1764745200"})}, "keep"),
    ("message from a device number past 32 bits", {"hex": frame_hex("message", {
        "from": "4915550000099:4294967297@s.whatsapp.net", "id": "3EB0BAD0000000000009", "type": "text",
        "t": "-5"}, [("enc", {"v": "2", "type": "msg"}, b"\x33" * 40)])}, "keep"),
    ("message from an unknown server", {"hex": frame_hex("message", {
        "from": "4915550000099@frob.example", "id": "3EB0BAD000000000000A", "type": "text", "t": "x"},
        [("enc", {"v": "2", "type": "msg"}, b"\x33")])}, "keep"),
    ("message from a malformed JID", {"hex": frame_hex("message", {
        "from": "a:b:c@@s.whatsapp.net", "participant": "@", "id": "3EB0BAD000000000000B", "type": "text"},
        [("enc", {"v": "2", "type": "msg"}, b"\x33")])}, "keep"),
    ("status broadcast with garbage", {"hex": frame_hex("message", {
        "from": "status@broadcast", "participant": BOB, "id": "3EB0BAD000000000000C", "type": "text"},
        [("enc", {"v": "2", "type": "skmsg"}, os.urandom(30))])}, "keep"),
    ("our own phone's message with a bad recipient", lambda me: {"hex": frame_hex("message", {
        "from": me.split(":")[0] + "@s.whatsapp.net", "recipient": "::@@", "id": "3EB0BAD000000000000D",
        "type": "text", "t": "1764745200"}, [("enc", {"v": "2", "type": "msg"}, os.urandom(50))])}, "keep"),
    ("a peer message from a stranger", {"hex": frame_hex("message", {
        "from": BOB, "category": "peer", "id": "3EB0BAD000000000000E", "type": "text", "t": "1764745200"},
        [("enc", {"v": "2", "type": "msg"}, os.urandom(50))])}, "keep"),
    ("receipt without from or id", {"hex": frame_hex("receipt", {"type": "read"})}, "keep"),
    ("retry receipt without its retry node", {"hex": frame_hex("receipt", {
        "from": BOB, "id": "3EB0NOSUCHID0004", "type": "retry"})}, "keep"),
    ("a second success while logged in", {"hex": frame_hex("success", {"t": "1764745200", "lid": "1@lid"})},
     "keep"),
    ("pair-device while logged in", {"hex": frame_hex("iq", {"id": "pd-1", "type": "set", "from": "s.whatsapp.net",
                                                             "xmlns": "md"},
                                                      [("pair-device", {}, [("ref", {}, b"2@x")])])}, "keep"),
    ("pair-success while logged in", {"hex": frame_hex("iq", {"id": "ps-1", "type": "set", "from": "s.whatsapp.net",
                                                              "xmlns": "md"},
                                                       [("pair-success", {}, [("device-identity", {}, b"\x00")])])},
     "keep"),
    ("encrypt notification with a negative count", {"hex": frame_hex("notification", {
        "from": "s.whatsapp.net", "id": "n-2", "type": "encrypt"}, [("count", {"value": "-99"}, None)])}, "keep"),
    ("a server ping", {"hex": frame_hex("iq", {"id": "ping-1", "type": "get", "xmlns": "urn:xmpp:ping",
                                               "from": "s.whatsapp.net"})}, "keep"),
    ("stream error with an unknown code", {"hex": frame_hex("stream:error", {"code": "999"})}, "close"),
    ("end of stream", {"hex": frame_hex("xmlstreamend")}, "close"),
    ("temporary failure", {"hex": frame_hex("failure", {"reason": "503"})}, "close"),
    ("deep nesting inside a message", {"hex": frame_hex("message", {"from": BOB, "id": "3EB0BAD0000000000005",
                                                                    "type": "text", "t": "1764745200"},
                                                        [deep(60)])}, "keep"),
]


# what the engine log must show for a stanza it took in and refused
LOGGED = {
    "message with garbage enc": "message 3EB0BAD0000000000001 from %s does not decrypt" % BOB,
    "message with garbage pkmsg": "message 3EB0BAD0000000000002 from %s does not decrypt" % BOB,
    "message with an unknown enc type": "message 3EB0BAD0000000000003 from %s does not decrypt" % BOB,
    "group skmsg from nowhere": "message 3EB0BAD0000000000004 from 120363999999999999@g.us does not decrypt",
    "deep nesting inside a message": "message 3EB0BAD0000000000005 from %s does not decrypt" % BOB,
}


@pytest.mark.parametrize("name,body,expect", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_server_bytes_cost_at_most_the_one_connection(two_sessions, stack_config, engine, name, body,
                                                              expect):
    p = two_sessions
    slug, _, jid = p.target
    bystander_conn = wait_for(lambda: logged_in(p.sim, p.bystander[2]), what="the bystander logged in")[0]["id"]
    before = wait_for(lambda: logged_in(p.sim, jid), timeout=30, what="the target logged in")[0]["id"]
    offset = log_size(engine)
    if callable(body):
        body = body(jid)
    r = p.sim.post("/admin/connections/send-raw", dict(body, id=before))
    assert r.status_code == 200, r.text
    assert engine.alive(), "the engine died on %s" % name
    # the other session goes on meanwhile, on its own connection
    roundtrip(p, stack_config, p.bystander, "bystander after " + name)
    # the target works again (on the same connection, or a new one it made by itself)
    roundtrip(p, stack_config, p.target, "target after " + name)
    assert engine.alive(), "the engine died on %s" % name
    after = logged_in(p.sim, jid)[0]["id"]
    log = log_since(engine, offset)
    if expect == "close":
        assert after != before, "%s: the connection was kept" % name
        assert re.search(r"(WARN|ERROR) .*session %s: disconnected: " % re.escape(slug), log), log[-2000:]
    else:
        assert after == before, "%s: the connection was dropped:\n%s" % (name, log[-2000:])
    if name in LOGGED:
        assert "session %s: %s" % (slug, LOGGED[name]) in log, log[-2000:]
    assert not re.search(r"session %s: disconnected" % re.escape(p.bystander[0]), log), log[-2000:]
    assert logged_in(p.sim, p.bystander[2])[0]["id"] == bystander_conn
    # nothing hostile was stored as a message or an event (the hostile ids
    # in full: a generated id starts with 3EB0BAD one time in 4096)
    assert sql(stack_config, "SELECT COUNT(*) FROM messages WHERE message_id LIKE '3EB0BAD000000000000%%' "
               "OR message_id LIKE 'AAAAAAAA%%' OR remote_jid = '%s'" % BOB).strip() == "0"


def test_hostile_bytes_while_a_session_waits_for_its_scan(admin, make_session, phone_sim, stack_config, engine):
    """On the registration connection: a pair-success that does not verify
    is refused and the QR stays valid; a second pair-device is ignored; an
    undecodable frame costs the connection, and the next one shows a new
    QR. Each time the phone can still pair by scanning what /qr shows."""
    def pairing_ids():
        r = phone_sim.get("/admin/connections")
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["connections"] if c["state"] == "pairing"}

    old = pairing_ids()
    slug = make_session(admin)["sessionId"]
    qr = wait_for(lambda: current_qr(admin, slug), what="a QR")["qr"]
    conn = wait_for(lambda: pairing_ids() - old, what="the pairing connection")
    assert len(conn) == 1, conn
    conn = conn.pop()
    offset = log_size(engine)
    forged = frame_hex("iq", {"id": "ps-forged", "type": "set", "from": "s.whatsapp.net", "xmlns": "md"},
                       [("pair-success", {}, [("device-identity", {}, os.urandom(120)),
                                              ("device", {"jid": "4915550000099:7@s.whatsapp.net",
                                                          "lid": "1234:7@lid"}, None),
                                              ("platform", {"name": "android"}, None)])])
    other_refs = frame_hex("iq", {"id": "pd-2", "type": "set", "from": "s.whatsapp.net", "xmlns": "md"},
                           [("pair-device", {}, [("ref", {}, b"2@other-ref-%d" % i) for i in range(6)])])
    for body in (forged, other_refs):
        r = phone_sim.post("/admin/connections/send-raw", {"id": conn, "hex": body})
        assert r.status_code == 200, r.text
    wait_for(lambda: "session %s: pair-success does not verify" % slug in log_since(engine, offset),
             what="the forged pair-success refused in the log")
    assert engine.alive()
    assert current_qr(admin, slug)["qr"] == qr, "the QR did not change"
    assert conn in pairing_ids(), "the registration connection stays"
    assert sql(stack_config, "SELECT c.paired FROM wa_device_creds c JOIN wa_sessions s ON s.id = c.wa_session_id "
               "WHERE s.session_id = '%s'" % slug).strip() == "0"
    # an undecodable frame: a new connection, a new QR, and that one pairs
    r = phone_sim.post("/admin/connections/send-raw", {"id": conn, "hex": "00f802"})
    assert r.status_code == 200, r.text
    fresh = wait_for(lambda: (lambda q: q["qr"] if q and q["qr"] != qr else None)(current_qr(admin, slug)),
                     timeout=30, what="a new QR on a new connection")
    assert fresh[len(QR_PREFIX):].split(",")[1:] == qr[len(QR_PREFIX):].split(",")[1:], "same keys"
    assert re.search(r"WARN .*session %s: disconnected: " % re.escape(slug), log_since(engine, offset))
    number = phone_sim.phone("Late")
    r = phone_sim.post("/admin/phones/%s/scan" % number, {"qr": fresh})
    assert r.status_code == 200, r.text
    d = wait_for(lambda: (lambda x: x if x["status"] == "Connected" else None)(details(admin, slug)),
                 what="paired after the hostile bytes")
    assert d["me"]["id"].startswith(number + ":")
    assert engine.alive()


def retry_receipt(frm, mid, count="1", keys=True, sizes=(32, 32, 32, 64), extra=()):
    ident, pre, spk, sig = sizes
    kids = [("retry", {"count": count, "id": mid, "t": "1764745200", "v": "1"}, None),
            ("registration", {}, os.urandom(4))]
    if keys:
        kids.append(("keys", {}, [("type", {}, b"\x05"), ("identity", {}, os.urandom(ident)),
                                  ("key", {}, [("id", {}, os.urandom(3)), ("value", {}, os.urandom(pre))]),
                                  ("skey", {}, [("id", {}, os.urandom(3)), ("value", {}, os.urandom(spk)),
                                                ("signature", {}, os.urandom(sig))]),
                                  ("device-identity", {}, os.urandom(90))] + list(extra)))
    return frame_hex("receipt", {"from": frm, "id": mid, "type": "retry", "t": "1764745200"}, kids)


RETRIES = [
    ("well-sized keys that do not verify", {}),
    ("keys of the wrong sizes", {"sizes": (5, 0, 200, 3)}),
    ("no keys", {"keys": False}),
    ("a negative count", {"count": "-7"}),
    ("a count past 64 bits", {"count": "99999999999999999999999"}),
    ("a count past the resend cap", {"count": "6"}),
]


@pytest.mark.parametrize("name,kw", RETRIES, ids=[r[0] for r in RETRIES])
def test_a_forged_retry_receipt_for_a_sent_message_costs_nothing(two_sessions, stack_config, engine, name, kw):
    """A retry receipt names a message we sent and carries keys to encrypt
    it again with: forged keys, sizes or counts are refused or answered,
    and the session goes on."""
    p = two_sessions
    slug, _, jid = p.target
    carol = p.carol + "@s.whatsapp.net"
    r = p.api.post("/api/messages/%s/%s/send" % (slug, carol), json={"message": {"text": "to be retried"}})
    assert r.status_code == 200, r.text
    mid = r.json()["data"]["key"]["id"]
    before = wait_for(lambda: logged_in(p.sim, jid), what="the target logged in")[0]["id"]
    offset = log_size(engine)
    r = p.sim.post("/admin/connections/send-raw", {"id": before, "hex": retry_receipt(carol, mid, **kw)})
    assert r.status_code == 200, r.text
    roundtrip(p, stack_config, p.target, "target after a retry receipt with " + name)
    assert engine.alive()
    # our Signal session with Carol is the one we had: her next message decrypts at once
    log = log_since(engine, offset)
    assert not re.search(r"session %s: message \S+ from %s does not decrypt" % (re.escape(slug), carol), log), log
    assert logged_in(p.sim, jid)[0]["id"] == before, "the connection stays"
    # the message stays as it was: SENT or further, never FAILED by a forged receipt
    st = sql(stack_config, "SELECT m.status FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
             "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, mid)).strip()
    assert st in ("SENT", "DELIVERED", "READ"), st


def command_url(stack_config):
    row = sql(stack_config, "SELECT command_url FROM engines WHERE heartbeat_at > NOW(3) - INTERVAL 60 SECOND "
              "ORDER BY heartbeat_at DESC LIMIT 1").strip()
    return row or stack_config["engine.command_url"]


def command(request_id, session, op, body=None, deadline=None):
    out = pb_field(1, request_id) + pb_field(2, session) + pb_field(3, op)
    if body is not None:
        out += pb_field(4, body)
    if deadline is not None:
        out += pb_field(5, deadline)
    return out


BAD_COMMAND = {"message": "Malformed engine command", "error": "bad_command"}
NOT_AN_OBJECT = {"message": "Engine command arguments must be a JSON object", "error": "bad_command"}
TOO_LONG = {"message": "Engine command session id or op too long", "error": "bad_command"}
HOSTILE_COMMANDS = [
    ("empty", b"", 400, BAD_COMMAND),
    ("not protobuf", b"\xff" * 20, 400, BAD_COMMAND),
    ("no op", pb_field(1, "r") + pb_field(2, "s"), 400, BAD_COMMAND),
    ("arguments not JSON", command("r", "nosuch", "session.start", b"{not json"), 400, NOT_AN_OBJECT),
    ("arguments an array", command("r", "nosuch", "session.start", b"[1]"), 400, NOT_AN_OBJECT),
    ("arguments not UTF-8", command("r", "nosuch", "session.start", b'{"a": "\xff"}'), 400, NOT_AN_OBJECT),
    # a slug is at most 64 characters: a longer one cut would name another session
    ("session id past 64 characters", command("r", "x" * 64 + "y", "session.stop"), 400, TOO_LONG),
    ("op past its size", command("r", "nosuch", "session.stop" + "x" * 100), 400, TOO_LONG),
    ("unknown op", command("r", "nosuch", "frob.nicate"), 501,
     {"message": "Operation not supported by this engine", "error": "unknown_op"}),
    ("send for a session the engine does not hold", command("r", "nosuch", "message.send", b"{}"), 503,
     {"message": "Session not connected or ready", "error": "not_owner"}),
    ("the longest deadline", command("r", "nosuch", "session.stop", deadline=0xFFFFFFFF), 200,
     {"sessionId": "nosuch"}),
]


def test_hostile_commands_are_refused_and_the_engine_goes_on(admin, make_session, stack_config, engine):
    """Whatever reaches the command socket (it listens on loopback; workers
    are its only rightful peers): malformed envelopes and arguments are
    answered 400, nothing is cut to mean something else, and broken SP
    connections cost nothing."""
    url = command_url(stack_config)
    for name, body, status, answer in HOSTILE_COMMANDS:
        assert engine_command(url, body) == (status, answer), name
    host, port = url[6:].rsplit(":", 1)
    for raw in (b"\0SP", b"\0SP\0\0\x30\0\0" + struct.pack(">Q", 1 << 40) + b"x" * 100,
                b"\0SP\0\0\x21\0\0", b"GET / HTTP/1.1\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(raw)
            s.settimeout(2)
            try:
                s.recv(64)
            except OSError:
                pass
    assert engine.alive()
    # a real command through the API still gets its answer
    slug = make_session(admin)["sessionId"]
    assert wait_for(lambda: current_qr(admin, slug), what="a QR: the engine took the session")
    assert_ok_shape(admin.post("/api/sessions/%s/stop" % slug), 200, "Session stop requested")
    status, body = engine_command(url, command("r", slug, "session.stop"))
    assert status == 200 and body["sessionId"] == slug, (status, body)


# ---- 4. QR refs rotate, and the last one ends the wait ----

QR_ENV = {"WA_AKG_WHATSAPP_QR_FIRST_TIMEOUT_MS": "2500", "WA_AKG_WHATSAPP_QR_NEXT_TIMEOUT_MS": "1000"}


@pytest.fixture
def short_qr(engine, stack_config):
    """The engine restarted (cleanly) with short QR lifetimes through the
    environment (whatsapp.qr_first_timeout_ms / qr_next_timeout_ms), and
    afterwards restarted as it was."""
    orig = engine.environ()
    engine.restart(sig=signal.SIGTERM, env_change=QR_ENV)
    engine.wait_registered(stack_config)
    try:
        yield {k: int(v) for k, v in QR_ENV.items()}
    finally:
        engine.restart(sig=signal.SIGTERM, env_change={k: orig.get(k) for k in QR_ENV})
        engine.wait_registered(stack_config)
        assert all(engine.environ().get(k) == orig.get(k) for k in QR_ENV)


def test_qr_refs_rotate_and_the_last_one_stops_the_session(admin, make_session, phone_sim, stack_config,
                                                           short_qr, engine):
    t0 = time.time() * 1000
    with EventSub(event_url(stack_config)) as sub:
        slug = make_session(admin)["sessionId"]
        first = wait_for(lambda: current_qr(admin, slug), what="a QR")["qr"]
        # the next ref after the first lifetime: a new QR string with the same keys
        second = wait_for(lambda: (lambda q: q["qr"] if q and q["qr"] != first else None)(current_qr(admin, slug)),
                          timeout=15, every=0.1, what="the QR to change after the first ref's lifetime")
        a, b = (q[len(QR_PREFIX):].split(",") for q in (first, second))
        assert a[0] != b[0] and a[1:] == b[1:], (first, second)
        # after the last ref: Disconnected, nothing to scan, not waiting any more
        wait_for(lambda: details(admin, slug)["status"] == "Disconnected", timeout=30, every=0.1,
                 what="the session to stop waiting after its last QR")
        d = details(admin, slug)
        assert d["hasInstance"] is False, d
        b = assert_error_shape(admin.get("/api/sessions/%s/qr" % slug), 404)
        assert b["error"] == "qr_not_available", b
        row = sql(stack_config, "SELECT status, auto_start, IFNULL(engine_id, '-'), IFNULL(qr, '-'), last_error "
                  "FROM wa_sessions WHERE session_id = '%s'" % slug).split("\t")
        assert row[:4] == ["STOPPED", "0", "-", "-"] and "not scanned in time" in row[4], row
        ev = sub.wait(slug, "connection.update", lambda e: e["data"]["state"] == "STOPPED")
        assert_published_as_stored(stack_config, ev, slug, t0)
        assert ev["data"]["status"] == "Disconnected" and "not scanned in time" in ev["data"]["reason"], ev
        # every ref the server gave was shown once, in turn (wa-sim sends 6)
        shown = [e["data"]["qr"] for e in sub.of(slug, "connection.update") if e["data"]["state"] == "SCAN_QR"]
        assert len(shown) == 6 and len(set(shown)) == 6 and shown[:2] == [first, second], shown
        # the expired QR pairs nothing
        r = phone_sim.post("/admin/phones/%s/scan" % phone_sim.phone("Late"), {"qr": second})
        assert r.status_code in (404, 410), r.text
        # start gives a new list
        assert_ok_shape(admin.post("/api/sessions/%s/start" % slug), 200)
        fresh = wait_for(lambda: current_qr(admin, slug), what="a new QR after start")["qr"]
        assert fresh[len(QR_PREFIX):].split(",")[0] not in [q[len(QR_PREFIX):].split(",")[0] for q in shown]
        assert_ok_shape(admin.post("/api/sessions/%s/stop" % slug), 200)


# ---- 6. a stalled database delays database work only ----

def companion_of(phone_sim, number):
    return [d for d in phone_sim.devices(number) if d["id"] != 0][-1]


def test_a_stalled_database_delays_only_database_work(admin, make_session, phone_sim, stack_config, state_dir):
    """MariaDB stopped (SIGSTOP) under a connected session: the event loop
    goes on (commands answered, the WhatsApp connection kept), a message
    that arrives meanwhile waits unanswered for its commit, and once the
    database is back it is stored once and answered, with no reconnect."""
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    jid = pair_by_qr(admin, phone_sim, slug, alice)["me"]["id"]
    conn = phone_sim.connections(jid)[0]["id"]
    url = command_url(stack_config)
    with open(os.path.join(state_dir, "run", "mariadb.pid"), encoding="ascii") as f:
        db_pid = int(f.read().strip())
    os.kill(db_pid, signal.SIGSTOP)
    try:
        status, body = engine_command(url, command("stall", "-", "engine.ping"), timeout=10)
        assert status == 200 and body["connected"] >= 1, (status, body)
        r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "while the database sleeps"})
        assert r.status_code == 200, r.text
        mid = r.json()["id"]
        wait_for(lambda: companion_of(phone_sim, alice)["unanswered"] >= 1, what="the message at the companion")
        # still unanswered two seconds on: nothing is acked before it is committed
        time.sleep(2)
        assert companion_of(phone_sim, alice)["unanswered"] >= 1
        status, _ = engine_command(url, command("stall2", "-", "engine.ping"), timeout=10)
        assert status == 200
    finally:
        os.kill(db_pid, signal.SIGCONT)
    rows = wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM messages m JOIN wa_sessions s ON "
                                "s.id = m.wa_session_id WHERE s.session_id = '%s' AND m.message_id = '%s'"
                                % (slug, mid)).strip() == "1", timeout=60, what="the message stored after the stall")
    assert rows
    wait_for(lambda: companion_of(phone_sim, alice)["unanswered"] == 0, timeout=30, what="the message answered")
    assert [c["id"] for c in phone_sim.connections(jid)] == [conn], "the connection stayed"
