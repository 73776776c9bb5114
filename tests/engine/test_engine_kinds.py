"""Every message kind a phone sends, through the real engine and wa-sim:
stored with its type, text or caption, media metadata, quoted message,
mentions, its kind's own fields (meta) and its protobuf (raw), published
once; media downloaded on first request, byte-identical to what the phone
sent; reactions (and their removal) on their target; poll votes decrypted
and tallied on a phone's poll in a group; a kind the engine does not know
stored rather than lost; a redelivery stores nothing twice."""
import base64
import binascii
import hashlib
import json
import os
import threading

import requests

from conftest import sql
from walib import pair_by_qr, pb_field, wait_for


def row(stack_config, slug, msg_id):
    """The stored message as a dict, or None."""
    out = sql(stack_config, "SELECT HEX(JSON_OBJECT('type', m.type, 'content', m.content, 'caption', m.caption, "
              "'mime', m.media_mime, 'size', m.media_size, 'quoted', m.quoted_id, 'mentions', m.mentions, "
              "'meta', m.meta, 'reaction', m.reaction, 'raw', m.raw IS NOT NULL, 'fromMe', m.from_me, "
              "'path', m.media_path)) FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
              "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, msg_id))
    if not out:
        return None
    r = json.loads(binascii.unhexlify(out).decode())
    r["meta"] = json.loads(r["meta"]) if r["meta"] else None
    r["mentions"] = json.loads(r["mentions"]) if r["mentions"] else None
    return r


def count(stack_config, slug, msg_id):
    return int(sql(stack_config, "SELECT COUNT(*) FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
                   "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, msg_id)))


def events(stack_config, slug, event, key="id", value=None):
    out = sql(stack_config, "SELECT HEX(o.payload) FROM events_outbox o JOIN wa_sessions s ON s.id = o.wa_session_id "
              "WHERE s.session_id = '%s' AND o.event = '%s' ORDER BY o.id" % (slug, event))
    evs = [json.loads(binascii.unhexlify(x).decode()) for x in out.splitlines() if x]
    return [e for e in evs if value is None or e.get(key) == value]


def send(phone_sim, number, body):
    r = phone_sim.post("/admin/phones/%s/send" % number, body)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def outbox_status(phone_sim, number, msg_id):
    for m in phone_sim.get("/admin/phones/%s/outbox" % number).json()["messages"]:
        if m["id"] == msg_id:
            return m["status"]
    return None


def settled(phone_sim, number):
    return all(d["unanswered"] == 0 and d["queued"] == 0 for d in phone_sim.devices(number))


def paired(admin, make_session, phone_sim):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    pair_by_qr(admin, phone_sim, slug, alice)
    wait_for(lambda: settled(phone_sim, alice), what="the pairing's peer messages answered")
    return slug, alice


def b64(data):
    return base64.b64encode(data).decode()


VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:John Doe\nTEL;type=CELL;waid=15550001111:+1 555 000 1111\nEND:VCARD"


def test_every_media_kind_is_stored_with_its_metadata_and_event(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    first = send(phone_sim, bob, {"to": alice, "text": "look at these"})
    wait_for(lambda: row(stack_config, slug, first), what="the first message")
    img, vid, aud = os.urandom(3000), os.urandom(5000), os.urandom(700)
    cases = [
        ({"image": {"data": b64(img), "caption": "a picture"}, "quotedId": first,
          "mentions": [alice + "@s.whatsapp.net"]},
         dict(type="IMAGE", content="a picture", caption="a picture", mime="image/jpeg", size=len(img),
              quoted=first, mentions=[alice + "@s.whatsapp.net"])),
        ({"video": {"data": b64(vid), "caption": "a film", "seconds": 3}, "wrap": "ephemeral"},
         dict(type="VIDEO", content="a film", caption="a film", mime="video/mp4", size=len(vid))),
        ({"audio": {"data": b64(aud), "seconds": 2}},
         dict(type="AUDIO", content=None, caption=None, mime="audio/ogg; codecs=opus", size=len(aud))),
        ({"ptt": {"data": b64(aud), "seconds": 2}},
         dict(type="AUDIO", content=None, mime="audio/ogg; codecs=opus", size=len(aud))),
        ({"document": {"data": b64(b"%PDF-1.4 x"), "fileName": "report.pdf", "caption": "the report"},
          "wrap": "documentWithCaption"},
         dict(type="DOCUMENT", content="the report", caption="the report", mime="application/pdf", size=10)),
        ({"document": {"data": b64(b"plain"), "fileName": "notes.txt", "mimetype": "text/plain"}},
         dict(type="DOCUMENT", content="notes.txt", caption=None, mime="text/plain", size=5)),
        ({"sticker": {"data": b64(b"RIFF....WEBP")}},
         dict(type="STICKER", mime="image/webp", size=12)),
        ({"image": {"data": b64(img), "caption": "once"}, "wrap": "viewOnceV2"},
         dict(type="IMAGE", caption="once", size=len(img))),
    ]
    ids = [send(phone_sim, bob, dict(body, to=alice)) for body, _ in cases]
    for (body, want), mid in zip(cases, ids):
        got = wait_for(lambda: row(stack_config, slug, mid), what="kind %s stored" % list(body)[0])
        for k, v in want.items():
            assert got[k] == v, (body.keys(), k, got)
        assert got["raw"] == 1 and got["fromMe"] == 0, got
        ev = wait_for(lambda: events(stack_config, slug, "message.received", "id", mid), what="its event")
        assert len(ev) == 1, ev
        assert ev[0]["type"] == want["type"] and ev[0]["hasMedia"] is True, ev
        assert ev[0]["mimetype"] == got["mime"] and ev[0]["fileLength"] == got["size"], ev
    meta = {mid: row(stack_config, slug, mid)["meta"] for mid in ids}
    assert meta[ids[1]]["seconds"] == 3, meta[ids[1]]
    assert meta[ids[2]]["ptt"] is False and meta[ids[3]]["ptt"] is True, meta
    assert meta[ids[4]]["fileName"] == "report.pdf" and meta[ids[5]]["fileName"] == "notes.txt", meta
    assert meta[ids[7]]["viewOnce"] is True, meta[ids[7]]
    ev = events(stack_config, slug, "message.received", "id", ids[0])[0]
    assert ev["quotedId"] == first and ev["mentions"] == [alice + "@s.whatsapp.net"], ev


def test_locations_contacts_polls_and_link_previews_are_stored(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    loc = send(phone_sim, bob, {"to": alice, "location": {"lat": -6.2088, "lng": 106.8456, "name": "Central Park",
                                                          "address": "Jakarta"}})
    live = send(phone_sim, bob, {"to": alice, "location": {"lat": 1.5, "lng": 2.5, "name": "on my way",
                                                           "live": True}})
    card = send(phone_sim, bob, {"to": alice, "contact": {"displayName": "John Doe", "vcard": VCARD}})
    cards = send(phone_sim, bob, {"to": alice, "contacts": {"displayName": "2 contacts", "contacts": [
        {"displayName": "John Doe", "vcard": VCARD}, {"displayName": "Jane", "vcard": VCARD.replace("John", "Jane")}]}})
    poll = send(phone_sim, bob, {"to": alice, "poll": {"name": "Lunch?", "options": ["Pizza", "Sushi"],
                                                       "selectableCount": 1, "version": 3}})
    link = send(phone_sim, bob, {"to": alice, "text": "see https://example.com/a",
                                 "linkPreview": {"url": "https://example.com/a", "title": "Example",
                                                 "description": "An example page"}})

    r = wait_for(lambda: row(stack_config, slug, loc), what="the location")
    assert r["type"] == "LOCATION" and r["content"] == "Central Park", r
    assert r["meta"]["location"] == {"degreesLatitude": -6.2088, "degreesLongitude": 106.8456,
                                     "name": "Central Park", "address": "Jakarta", "live": False}, r
    r = wait_for(lambda: row(stack_config, slug, live), what="the live location")
    assert r["type"] == "LOCATION" and r["meta"]["location"]["live"] is True, r
    assert r["meta"]["location"]["degreesLatitude"] == 1.5, r
    r = wait_for(lambda: row(stack_config, slug, card), what="the contact")
    assert r["type"] == "CONTACT" and r["content"] == "John Doe", r
    assert r["meta"]["contacts"] == [{"displayName": "John Doe", "vcard": VCARD}], r
    r = wait_for(lambda: row(stack_config, slug, cards), what="the contacts")
    assert r["type"] == "CONTACT" and [c["displayName"] for c in r["meta"]["contacts"]] == ["John Doe", "Jane"], r
    r = wait_for(lambda: row(stack_config, slug, poll), what="the poll")
    assert r["type"] == "POLL" and r["content"] == "Lunch?" and r["raw"] == 1, r
    assert r["meta"]["poll"]["options"] == ["Pizza", "Sushi"] and r["meta"]["poll"]["selectableCount"] == 1, r
    r = wait_for(lambda: row(stack_config, slug, link), what="the link preview")
    assert r["type"] == "TEXT" and r["meta"]["linkPreview"]["title"] == "Example", r

    ev = wait_for(lambda: events(stack_config, slug, "message.received", "id", poll), what="the poll's event")
    assert ev[0]["type"] == "POLL" and ev[0]["meta"]["poll"]["options"] == ["Pizza", "Sushi"], ev

    # the history route carries meta; search filters by the new types
    h = admin.get("/api/chat/%s/%s@s.whatsapp.net" % (slug, bob)).json()
    rows = h["data"] if isinstance(h, dict) and "data" in h else h
    rows = rows.get("messages", rows) if isinstance(rows, dict) else rows
    byid = {m["keyId"]: m for m in rows}
    assert byid[loc]["meta"]["location"]["name"] == "Central Park", byid[loc]
    s = admin.get("/api/messages/%s/search" % slug, params={"jid": bob + "@s.whatsapp.net", "type": "POLL"})
    assert s.status_code == 200, s.text
    assert [m["keyId"] for m in s.json()["data"]] == [poll], s.text


def test_a_reaction_lands_on_its_target_and_its_removal_takes_it_off(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    target = send(phone_sim, bob, {"to": alice, "text": "react to me"})
    wait_for(lambda: row(stack_config, slug, target), what="the target")
    react = send(phone_sim, bob, {"to": alice, "reaction": {"messageId": target, "emoji": "\U0001F44D"}})
    wait_for(lambda: row(stack_config, slug, target)["reaction"] == "\U0001F44D", what="the reaction on the target")
    ev = wait_for(lambda: events(stack_config, slug, "message.reaction", "targetId", target), what="its event")
    assert ev[0]["emoji"] == "\U0001F44D" and ev[0]["removed"] is False and ev[0]["id"] == react, ev
    assert count(stack_config, slug, react) == 0  # a reaction is no message row of its own
    wait_for(lambda: outbox_status(phone_sim, bob, react) in ("delivered", "read"), what="the reaction answered")

    # redelivered: nothing changes, no second event
    assert phone_sim.post("/admin/phones/%s/resend" % bob, {"id": react}).status_code == 200
    send(phone_sim, bob, {"to": alice, "text": "after the redelivery"})
    wait_for(lambda: events(stack_config, slug, "message.received", "content", "after the redelivery"),
             what="the next message")
    assert len(events(stack_config, slug, "message.reaction", "targetId", target)) == 1

    send(phone_sim, bob, {"to": alice, "reaction": {"messageId": target, "emoji": ""}})
    wait_for(lambda: row(stack_config, slug, target)["reaction"] is None, what="the reaction removed")
    ev = wait_for(lambda: [e for e in events(stack_config, slug, "message.reaction", "targetId", target)
                           if e["removed"]], what="the removal's event")
    assert ev[0]["emoji"] == "", ev


def test_a_phones_poll_in_a_group_is_tallied_from_two_voters(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    carol = phone_sim.phone("Carol")
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "lunch", "participants": [alice, carol]})
    assert r.status_code == 201, r.text
    group = r.json()["jid"]
    poll = send(phone_sim, bob, {"to": group, "poll": {"name": "Where?", "options": ["Pizza", "Sushi", "Tacos"],
                                                       "selectableCount": 2}})
    wait_for(lambda: row(stack_config, slug, poll), what="the poll stored")
    # carol must have it too before she can vote
    wait_for(lambda: any(m["id"] == poll for m in phone_sim.get("/admin/phones/%s/inbox" % carol).json()["messages"]),
             what="carol has the poll")
    send(phone_sim, carol, {"to": group, "pollVote": {"messageId": poll, "options": ["Sushi", "Tacos"]}})
    v2 = send(phone_sim, bob, {"to": group, "pollVote": {"messageId": poll, "options": ["Pizza"]}})
    want = {"Pizza": 1, "Sushi": 1, "Tacos": 1}
    wait_for(lambda: row(stack_config, slug, poll)["meta"]["poll"]["votes"] == want, what="both votes tallied")
    voters = row(stack_config, slug, poll)["meta"]["poll"]["voters"]
    assert voters == {bob + "@s.whatsapp.net": ["Pizza"], carol + "@s.whatsapp.net": ["Sushi", "Tacos"]}, voters
    ev = events(stack_config, slug, "poll.vote", "pollId", poll)
    assert len(ev) == 2 and ev[-1]["id"] == v2 and ev[-1]["selectedOptions"] == ["Pizza"], ev
    assert ev[-1]["votes"] == want, ev

    # bob changes his mind: his last vote wins
    send(phone_sim, bob, {"to": group, "pollVote": {"messageId": poll, "options": ["Sushi"]}})
    want = {"Pizza": 0, "Sushi": 2, "Tacos": 1}
    wait_for(lambda: row(stack_config, slug, poll)["meta"]["poll"]["votes"] == want, what="the changed vote")
    # and the API's history row of the poll carries the tally
    h = admin.get("/api/chat/%s/%s" % (slug, group)).json()
    rows = h["data"] if isinstance(h, dict) and "data" in h else h
    rows = rows.get("messages", rows) if isinstance(rows, dict) else rows
    assert [m["meta"]["poll"]["votes"] for m in rows if m["keyId"] == poll] == [want], rows


def test_a_kind_the_engine_does_not_know_is_stored_not_lost(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    # field 9999 of Message: nothing WhatsApp has sent so far
    raw = pb_field(9999, b"\x08\x01future")
    mid = send(phone_sim, bob, {"to": alice, "raw": raw.hex()})
    r = wait_for(lambda: row(stack_config, slug, mid), what="the unknown kind stored")
    assert r["type"] == "UNKNOWN" and r["raw"] == 1, r
    kept = sql(stack_config, "SELECT HEX(m.raw) FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
               "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, mid))
    assert kept.lower() == raw.hex(), kept
    ev = wait_for(lambda: events(stack_config, slug, "message.received", "id", mid), what="its event")
    assert ev[0]["type"] == "UNKNOWN", ev
    wait_for(lambda: outbox_status(phone_sim, bob, mid) in ("delivered", "read"), what="answered")

    # redelivered: stored once, published once
    assert phone_sim.post("/admin/phones/%s/resend" % bob, {"id": mid}).status_code == 200
    send(phone_sim, bob, {"to": alice, "text": "next"})
    wait_for(lambda: events(stack_config, slug, "message.received", "content", "next"), what="the next message")
    assert count(stack_config, slug, mid) == 1
    assert len(events(stack_config, slug, "message.received", "id", mid)) == 1


def download(admin, slug, mid):
    return admin.get("/api/messages/%s/download/%s/media" % (slug, mid))


def test_media_downloads_on_first_request_byte_identical(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    img, doc, voice = os.urandom(40000), os.urandom(1234), os.urandom(999)
    sent = {
        send(phone_sim, bob, {"to": alice, "image": {"data": b64(img), "caption": "pic"}}): (img, "image/jpeg", None),
        send(phone_sim, bob, {"to": alice, "document": {"data": b64(doc), "fileName": "report.pdf"}}):
            (doc, "application/pdf", "report.pdf"),
        send(phone_sim, bob, {"to": alice, "ptt": {"data": b64(voice), "seconds": 1}}):
            (voice, "audio/ogg; codecs=opus", None),
    }
    for mid, (data, mime, name) in sent.items():
        wait_for(lambda: row(stack_config, slug, mid), what="stored")
        assert row(stack_config, slug, mid)["path"] is None  # nothing fetched before it is asked for
        r = download(admin, slug, mid)
        assert r.status_code == 200, r.text
        assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(data).hexdigest()
        assert r.headers["Content-Type"].startswith(mime.split(";")[0]), r.headers
        if name:
            assert name in r.headers.get("Content-Disposition", ""), r.headers
        got = row(stack_config, slug, mid)
        assert got["path"] and got["size"] == len(data), got
        # the second time it is the kept file
        r = download(admin, slug, mid)
        assert r.status_code == 200 and r.content == data

    # the history row now points at it
    h = admin.get("/api/chat/%s/%s@s.whatsapp.net" % (slug, bob)).json()
    urls = [m["mediaUrl"] for m in h if m["keyId"] in sent]
    assert len(urls) == 3 and all(u and u.endswith("/media") for u in urls), h

    # no media: 404; not a message of this session: 404
    text = send(phone_sim, bob, {"to": alice, "text": "no media here"})
    wait_for(lambda: row(stack_config, slug, text), what="the text")
    r = download(admin, slug, text)
    assert r.status_code == 404 and r.json()["status"] is False, r.text
    assert download(admin, slug, "3EB0NOSUCHMESSAGE000").status_code == 404


def test_concurrent_first_downloads_get_the_whole_file(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    video = os.urandom(3 * 1024 * 1024 + 17)
    mid = send(phone_sim, bob, {"to": alice, "video": {"data": b64(video), "seconds": 9}})
    wait_for(lambda: row(stack_config, slug, mid), what="the video stored")
    results = [None] * 4

    def get(i):
        results[i] = download(admin, slug, mid)

    threads = [threading.Thread(target=get, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert r.status_code == 200, r.text
        assert hashlib.sha256(r.content).digest() == hashlib.sha256(video).digest()
    media_dir = stack_config.get("media.dir")
    if media_dir:
        leftovers = [f for f in os.listdir(media_dir) if f.startswith(".dl-")]
        assert leftovers == [], leftovers
    assert download(admin, slug, mid).content == video


def test_media_the_server_no_longer_has_answers_410(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    mid = send(phone_sim, bob, {"to": alice, "image": {"data": b64(os.urandom(500))}})
    wait_for(lambda: row(stack_config, slug, mid), what="stored")
    assert requests.delete(phone_sim.url + "/admin/media", timeout=10).status_code == 200
    r = download(admin, slug, mid)
    assert r.status_code == 410, r.text
    assert r.json()["status"] is False and "no longer" in r.json()["message"], r.text
    assert row(stack_config, slug, mid)["path"] is None


def test_our_phones_own_media_and_poll_are_stored_as_sent_and_tallied(admin, make_session, phone_sim, stack_config):
    """What is typed on our own phone reaches the gateway as its
    deviceSentMessage copy: stored fromMe (message.sent), and a poll of
    ours is tallied with our own JID as the poll's creator."""
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    pic = os.urandom(2222)
    img = send(phone_sim, alice, {"to": bob, "image": {"data": b64(pic), "caption": "from my phone"}})
    r = wait_for(lambda: row(stack_config, slug, img), what="our phone's image")
    assert r["fromMe"] == 1 and r["type"] == "IMAGE" and r["caption"] == "from my phone", r
    ev = wait_for(lambda: events(stack_config, slug, "message.sent", "id", img), what="message.sent")
    assert ev[0]["fromMe"] is True and ev[0]["type"] == "IMAGE", ev
    assert download(admin, slug, img).content == pic

    r = phone_sim.post("/admin/groups", {"phone": alice, "subject": "ours", "participants": [bob]})
    assert r.status_code == 201, r.text
    group = r.json()["jid"]
    poll = send(phone_sim, alice, {"to": group, "poll": {"name": "Ship it?", "options": ["yes", "no"]}})
    wait_for(lambda: row(stack_config, slug, poll), what="our poll stored")
    wait_for(lambda: any(m["id"] == poll for m in phone_sim.get("/admin/phones/%s/inbox" % bob).json()["messages"]),
             what="bob has the poll")
    send(phone_sim, bob, {"to": group, "pollVote": {"messageId": poll, "options": ["yes"]}})
    wait_for(lambda: row(stack_config, slug, poll)["meta"]["poll"]["votes"] == {"yes": 1, "no": 0},
             what="bob's vote on our poll")


def test_a_vote_that_comes_before_its_poll_is_counted_when_the_poll_arrives(admin, make_session, phone_sim,
                                                                            stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    # the poll is lost on the way to Alice's devices (her phone and us) ...
    r = phone_sim.post("/admin/faults", {"number": alice, "dropMessages": 2, "from": bob})
    assert r.status_code == 200, r.text
    poll = send(phone_sim, bob, {"to": alice, "poll": {"name": "Tea?", "options": ["green", "black"]}})
    assert phone_sim.post("/admin/faults", {"number": alice, "dropMessages": 0}).status_code == 200
    # ... while Bob's vote on it arrives: kept encrypted, nothing tallied, answered
    vote = send(phone_sim, bob, {"to": alice, "pollVote": {"messageId": poll, "options": ["black"]}})
    wait_for(lambda: outbox_status(phone_sim, bob, vote) in ("delivered", "read"), what="the vote answered")
    waiting = sql(stack_config, "SELECT COUNT(*) FROM poll_votes v JOIN wa_sessions s ON s.id = v.wa_session_id "
                  "WHERE s.session_id = '%s' AND v.poll_id = '%s' AND v.selected IS NULL "
                  "AND v.enc_payload IS NOT NULL" % (slug, poll))
    assert waiting == "1", waiting
    assert row(stack_config, slug, poll) is None
    # the poll comes again: the waiting vote is counted
    assert phone_sim.post("/admin/phones/%s/resend" % bob, {"id": poll}).status_code == 200
    wait_for(lambda: row(stack_config, slug, poll) and
             row(stack_config, slug, poll)["meta"]["poll"]["votes"] == {"green": 0, "black": 1},
             what="the waiting vote counted")


def test_a_reaction_that_comes_before_its_target_lands_when_the_target_does(admin, make_session, phone_sim,
                                                                            stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    assert phone_sim.post("/admin/faults", {"number": alice, "dropMessages": 2, "from": bob}).status_code == 200
    target = send(phone_sim, bob, {"to": alice, "text": "lost on the way"})
    assert phone_sim.post("/admin/faults", {"number": alice, "dropMessages": 0}).status_code == 200
    react = send(phone_sim, bob, {"to": alice, "reaction": {"messageId": target, "emoji": "\u2764"}})
    wait_for(lambda: outbox_status(phone_sim, bob, react) in ("delivered", "read"), what="the reaction answered")
    assert row(stack_config, slug, target) is None
    assert phone_sim.post("/admin/phones/%s/resend" % bob, {"id": target}).status_code == 200
    wait_for(lambda: row(stack_config, slug, target) and row(stack_config, slug, target)["reaction"] == "\u2764",
             what="the waiting reaction on its target")


def test_an_edited_caption_changes_the_media_messages_caption(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    img = send(phone_sim, bob, {"to": alice, "image": {"data": b64(os.urandom(300)), "caption": "helo"}})
    wait_for(lambda: row(stack_config, slug, img), what="the image")
    r = phone_sim.post("/admin/phones/%s/edit" % bob, {"to": alice, "id": img, "text": "hello"})
    assert r.status_code == 200, r.text
    got = wait_for(lambda: (lambda x: x if x["caption"] == "hello" else None)(row(stack_config, slug, img)),
                   what="the caption edited")
    assert got["content"] == "hello" and got["type"] == "IMAGE", got


def test_a_reaction_or_vote_naming_a_message_of_another_chat_changes_nothing(admin, make_session, phone_sim,
                                                                           stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob, carol = phone_sim.phone("Bob"), phone_sim.phone("Carol")
    target = send(phone_sim, bob, {"to": alice, "text": "mine"})
    wait_for(lambda: row(stack_config, slug, target), what="bob's message")
    # Carol, in her own chat with Alice, names Bob's message
    react = send(phone_sim, carol, {"to": alice, "reaction": {"messageId": target, "emoji": "\U0001F4A9"}})
    wait_for(lambda: outbox_status(phone_sim, carol, react) in ("delivered", "read"), what="answered")
    assert row(stack_config, slug, target)["reaction"] is None
    assert events(stack_config, slug, "message.reaction", "targetId", target) == []
    # Bob's own reaction still lands
    send(phone_sim, bob, {"to": alice, "reaction": {"messageId": target, "emoji": "\U0001F44D"}})
    wait_for(lambda: row(stack_config, slug, target)["reaction"] == "\U0001F44D", what="bob's reaction")


def raw_of(stack_config, slug, mid):
    return binascii.unhexlify(sql(stack_config, "SELECT HEX(m.raw) FROM messages m JOIN wa_sessions s ON "
                                                "s.id = m.wa_session_id WHERE s.session_id = '%s' AND "
                                                "m.message_id = '%s'" % (slug, mid)))


def test_media_that_does_not_verify_is_refused_and_a_lost_file_comes_again(admin, make_session, phone_sim,
                                                                         stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    data = os.urandom(4321)
    mid = send(phone_sim, bob, {"to": alice, "image": {"data": b64(data)}})
    wait_for(lambda: row(stack_config, slug, mid), what="stored")
    raw = raw_of(stack_config, slug, mid)
    # the same file under another media key (imageMessage.mediaKey, field 8): its MAC fails
    at = raw.find(b"\x42\x20")
    assert at > 0, raw.hex()
    forged = raw[:at + 2] + bytes(32) + raw[at + 34:]
    bad = send(phone_sim, bob, {"to": alice, "raw": forged.hex()})
    got = wait_for(lambda: row(stack_config, slug, bad), what="the forged copy stored")
    assert got["type"] == "IMAGE" and got["size"] == len(data), got
    r = download(admin, slug, bad)
    assert r.status_code == 502 and r.json()["status"] is False, r.text
    assert row(stack_config, slug, bad)["path"] is None
    media_dir = stack_config.get("media.dir")
    if media_dir:
        assert [f for f in os.listdir(media_dir) if f.startswith(".dl-")] == []

    # the good one downloads; its file lost from media.dir, it is fetched again
    assert download(admin, slug, mid).content == data
    if media_dir:
        os.unlink(os.path.join(media_dir, row(stack_config, slug, mid)["path"]))
        r = download(admin, slug, mid)
        assert r.status_code == 200 and r.content == data, r.text


def test_a_poll_sent_through_the_api_is_tallied_from_the_phones_votes(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    r = admin.post("/api/messages/%s/%s@s.whatsapp.net/poll" % (slug, bob),
                   json={"question": "Coffee?", "options": ["yes", "no"], "selectableCount": 1})
    assert r.status_code == 200, r.text
    poll = r.json()["data"]["key"]["id"]
    wait_for(lambda: any(m["id"] == poll for m in phone_sim.get("/admin/phones/%s/inbox" % bob).json()["messages"]),
             what="bob has our poll")
    vote = send(phone_sim, bob, {"to": alice, "pollVote": {"messageId": poll, "options": ["no"]}})
    got = wait_for(lambda: (lambda m: m if m and m.get("poll", {}).get("votes") == {"yes": 0, "no": 1} else None)(
        row(stack_config, slug, poll)["meta"]), what="bob's vote on our poll")
    assert got["poll"]["options"] == ["yes", "no"] and got["poll"]["name"] == "Coffee?", got
    ev = events(stack_config, slug, "poll.vote", "pollId", poll)
    assert [e["id"] for e in ev] == [vote] and ev[0]["selectedOptions"] == ["no"], ev
