"""Statuses ("stories", docs/protocol.md §7.8) through the real engine
against wa-sim: a status a phone posts (POST /admin/phones/{n}/status, a
sender-key message from status@broadcast) is stored under status@broadcast
with its sender, published as status.update and answered with a receipt;
a text status the session posts (POST /api/status/{sessionId}/update and
/api/status/update) reaches the phones of its contacts with its colour
(ARGB or "#RRGGBB") and font, an image status its media; bad input is a 400 in the error shape and sends nothing."""
import base64
import hashlib
import json

from conftest import assert_error_shape, sql
from test_engine_media import png
from test_engine_messages import events, inbox, outbox_status
from walib import pair_by_qr, wait_for

STATUS = "status@broadcast"


def pn(number):
    return number + "@s.whatsapp.net"


def stored_statuses(stack_config, slug):
    out = sql(stack_config, "SELECT m.message_id, m.sender_jid, m.content, m.from_me FROM messages m JOIN "
              "wa_sessions s ON s.id = m.wa_session_id WHERE s.session_id = '%s' AND m.remote_jid = '%s' "
              "ORDER BY m.id" % (slug, STATUS))
    return [line.split("\t") for line in out.splitlines() if line]


def status_event(stack_config, slug, msg_id):
    out = sql(stack_config, "SELECT o.payload FROM events_outbox o JOIN wa_sessions s ON s.id = o.wa_session_id "
              "WHERE s.session_id = '%s' AND o.event = 'status.update' AND JSON_VALUE(o.payload, '$.id') = '%s'"
              % (slug, msg_id))
    return [json.loads(line) for line in out.splitlines() if line]


def statuses_seen(phone_sim, number):
    return [m for m in inbox(phone_sim, number) if m["chat"] == STATUS]


def paired(admin, make_session, phone_sim):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    return slug, alice, bob


def paired_with_contact(admin, make_session, phone_sim, stack_config):
    """A session paired to Alice's phone, with Bob one of its contacts (he wrote)."""
    slug, alice, bob = paired(admin, make_session, phone_sim)
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "hi"})
    assert r.status_code == 200, r.text
    wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM contacts c JOIN wa_sessions s ON s.id = "
                         "c.wa_session_id WHERE s.session_id = '%s' AND c.jid = '%s'"
                         % (slug, pn(bob))).strip() == "1", what="Bob as a contact")
    return slug, alice, bob


def test_a_status_from_a_phone_is_stored_published_and_answered(admin, make_session, phone_sim, stack_config):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    r = phone_sim.post("/admin/phones/%s/status" % bob,
                       {"text": "on holiday", "backgroundArgb": 0xFF25D366, "font": 2, "audience": [alice]})
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    rows = wait_for(lambda: stored_statuses(stack_config, slug), what="the status in the database")
    assert rows == [[sid, pn(bob), "on holiday", "0"]], rows
    ev = wait_for(lambda: status_event(stack_config, slug, sid), what="the status.update event")
    assert len(ev) == 1, ev
    e = ev[0]
    assert e["id"] == sid and e["from"] == pn(bob) and e["text"] == "on holiday", e
    assert e["backgroundColor"] == "#25D366" and e["backgroundArgb"] == 0xFF25D366 and e["font"] == 2, e
    assert e["key"]["remoteJid"] == STATUS and e["pushName"] == "Bob", e
    # listed: the history of the chat status@broadcast is the list of statuses
    r = admin.get("/api/chat/%s/%s" % (slug, STATUS))
    assert r.status_code == 200, r.text
    assert [(m["keyId"], m["content"], m["senderJid"], m["fromMe"]) for m in r.json()] == \
        [(sid, "on holiday", pn(bob), False)], r.text
    # not a chat message: no message.received for it
    assert events(stack_config, slug, "message.received", msg_id=sid) == []
    # answered as WhatsApp clients answer a status: a receipt to status@broadcast
    wait_for(lambda: outbox_status(phone_sim, bob, sid) in ("delivered", "read"),
             what="the phone to see its status delivered")


def test_an_image_status_from_a_phone_is_stored_with_its_media(admin, make_session, phone_sim, stack_config):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    img = png(24, 24)
    r = phone_sim.post("/admin/phones/%s/status" % bob,
                       {"image": {"data": base64.b64encode(img).decode(), "caption": "view", "mimetype": "image/png"},
                        "audience": [alice]})
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    rows = wait_for(lambda: stored_statuses(stack_config, slug), what="the image status in the database")
    assert rows == [[sid, pn(bob), "view", "0"]], rows
    e = wait_for(lambda: status_event(stack_config, slug, sid), what="its status.update")[0]
    assert e["type"] == "IMAGE" and e["caption"] == "view" and e["hasMedia"] is True, e
    assert e["mimetype"] == "image/png" and e["fileLength"] == len(img) and "backgroundColor" not in e, e
    # its media downloads like any message's
    r = admin.get("/api/messages/%s/download/%s/media" % (slug, sid))
    assert r.status_code == 200 and r.content == img, (r.status_code, r.text[:300])


def test_the_session_posts_a_text_status_to_its_contacts(admin, make_session, phone_sim, stack_config):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    carol = phone_sim.phone("Carol")
    # Bob is a contact (he wrote to us); Carol is not, and sees nothing
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "hi"})
    assert r.status_code == 200, r.text
    wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM contacts c JOIN wa_sessions s ON s.id = "
                         "c.wa_session_id WHERE s.session_id = '%s' AND c.jid = '%s'"
                         % (slug, pn(bob))).strip() == "1", what="Bob as a contact")

    r = admin.post("/api/status/%s/update" % slug,
                   json={"content": "new here", "type": "TEXT", "backgroundColor": 0xFF123456, "font": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] is True, body
    seen = wait_for(lambda: statuses_seen(phone_sim, bob), what="Bob's phone to get the status")
    assert len(seen) == 1, seen
    s = seen[0]
    assert s["text"] == "new here" and s["backgroundArgb"] == 0xFF123456 and s["font"] == 3, s
    assert s["from"].split("@")[0].split(":")[0] == alice, s
    assert statuses_seen(phone_sim, carol) == []
    # recorded as ours under status@broadcast
    rows = wait_for(lambda: [x for x in stored_statuses(stack_config, slug) if x[0] == s["id"]],
                    what="the sent status in the database")
    assert rows[0][2] == "new here" and rows[0][3] == "1", rows

    # the body form, colours as "#RRGGBB", mentions
    r = admin.post("/api/status/update",
                   json={"sessionId": slug, "content": "second", "font": 0, "backgroundColor": "#25d366",
                         "textColor": "#FFFFFF", "mentions": [pn(bob)]})
    assert r.status_code == 200, r.text
    seen = wait_for(lambda: [m for m in statuses_seen(phone_sim, bob) if m["text"] == "second"],
                    what="the second status")
    s = seen[0]
    assert s["font"] == 0 and s["backgroundArgb"] == 0xFF25D366 and s["textArgb"] == 0xFFFFFFFF, s
    assert s.get("mentions") == [pn(bob)], s


def test_an_image_status_by_url_reaches_the_contacts(admin, make_session, phone_sim, stack_config):
    slug, alice, bob = paired_with_contact(admin, make_session, phone_sim, stack_config)
    img = png(40, 30)
    url = "data:image/png;base64," + base64.b64encode(img).decode()
    r = admin.post("/api/status/%s/update" % slug, json={"content": "look", "type": "IMAGE", "mediaUrl": url})
    assert r.status_code == 200, r.text
    seen = wait_for(lambda: statuses_seen(phone_sim, bob), what="Bob's phone to get the image status")
    m = seen[0]
    assert m["type"] == "image" and m["caption"] == "look" and m["mediaOk"] is True, m
    assert m["mediaSha256"] == hashlib.sha256(img).hexdigest() and m["mediaSize"] == len(img), m


def test_an_image_status_uploaded_as_a_form_reaches_the_contacts(admin, make_session, phone_sim, stack_config):
    slug, alice, bob = paired_with_contact(admin, make_session, phone_sim, stack_config)
    img = png(36, 20)
    # multipart: the file, the caption as content, the type from the file
    r = admin.post("/api/status/%s/update" % slug, files={"file": ("s.png", img, "image/png")},
                   data={"content": "uploaded"})
    assert r.status_code == 200, r.text
    seen = wait_for(lambda: statuses_seen(phone_sim, bob), what="Bob's phone to get the uploaded status")
    m = seen[0]
    assert m["type"] == "image" and m["caption"] == "uploaded" and m["mediaOk"] is True, m
    assert m["mediaSha256"] == hashlib.sha256(img).hexdigest(), m
    # and the form refuses what it cannot send, storing nothing
    before = sql(stack_config, "SELECT COUNT(*) FROM media_files").strip()
    assert_error_shape(admin.post("/api/status/%s/update" % slug, files={"file": ("s.png", img, "image/png")},
                                  data={"type": "TEXT"}), 400)
    assert_error_shape(admin.post("/api/status/%s/update" % slug, data={"content": "no file"},
                                  files={"other": ("", b"", "text/plain")}), 400)
    assert sql(stack_config, "SELECT COUNT(*) FROM media_files").strip() == before


def test_a_status_from_another_gateway_session(admin, make_session, phone_sim, stack_config):
    """Our own send read by our own receive path: Alice's session posts,
    Bob's session (Alice one of its contacts) stores and publishes it."""
    slug_a, alice, bob = paired(admin, make_session, phone_sim)
    slug_b = make_session(admin)["sessionId"]
    pair_by_qr(admin, phone_sim, slug_b, bob)
    # each knows the other: a message both ways
    r = admin.post("/api/messages/%s/%s/send" % (slug_b, pn(alice)), json={"message": "hello Alice"})
    assert r.status_code == 200, r.text
    wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM contacts c JOIN wa_sessions s ON s.id = "
                         "c.wa_session_id WHERE s.session_id = '%s' AND c.jid = '%s'"
                         % (slug_a, pn(bob))).strip() == "1", what="Bob as Alice's contact")
    r = admin.post("/api/status/%s/update" % slug_a, json={"content": "from the gateway", "backgroundColor": "#112233",
                                                           "font": 1})
    assert r.status_code == 200, r.text
    sid = r.json()["data"]["key"]["id"]
    ev = wait_for(lambda: status_event(stack_config, slug_b, sid), what="Bob's session's status.update")
    e = ev[0]
    assert e["from"] == pn(alice) and e["text"] == "from the gateway", e
    assert e["backgroundColor"] == "#112233" and e["backgroundArgb"] == 0xFF112233 and e["font"] == 1, e
    assert [x for x in stored_statuses(stack_config, slug_b) if x[0] == sid] == \
        [[sid, pn(alice), "from the gateway", "0"]]


def test_bad_status_input_is_refused_and_nothing_is_sent(admin, make_session, phone_sim, stack_config):
    slug, alice, bob = paired_with_contact(admin, make_session, phone_sim, stack_config)
    bad = [
        {},                                            # no content
        {"content": ""},                               # empty content
        {"content": "x", "backgroundColor": "green"},  # not a colour
        {"content": "x", "backgroundColor": "#12345"},
        {"content": "x", "backgroundColor": ""},
        {"content": "x", "textColor": "#GGGGGG"},
        {"content": "x", "backgroundColor": -1},       # not ARGB
        {"content": "x", "backgroundColor": 0x100000000},
        {"content": "x", "font": 11},                  # no such font
        {"content": "x", "type": "AUDIO"},
        {"content": "x", "type": "IMAGE"},             # IMAGE needs mediaUrl
        {"content": "x", "mentions": ["not a jid"]},
    ]
    for b in bad:
        r = admin.post("/api/status/%s/update" % slug, json=b)
        assert_error_shape(r, 400)
    r = admin.post("/api/status/update", json={"content": "x"})   # no sessionId
    assert r.status_code in (400, 404), r.text
    assert_error_shape(r)
    assert statuses_seen(phone_sim, bob) == []
    assert [x for x in stored_statuses(stack_config, slug) if x[3] == "1"] == []
