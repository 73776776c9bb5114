"""Chats, contacts and the profile through the real engine, checked on the
phones' side through wa-sim's admin API: read receipts for exactly the ids
read (and the unread count gone), typing seen by the phone, the number
check, profile pictures, the own profile as contacts see it, and blocking."""
import base64
import io
import json
import struct
import zlib

from conftest import sql
from test_engine_messages import outbox_status, stored
from walib import EventSub, event_url, pair_by_qr, wait_for


def unread(stack_config, slug, chat):
    out = sql(stack_config, "SELECT c.unread_count FROM chats c JOIN wa_sessions s ON s.id = c.wa_session_id "
              "WHERE s.session_id = '%s' AND c.jid = '%s'" % (slug, chat)).strip()
    return int(out) if out else None


def phone_state(phone_sim, number):
    r = phone_sim.get("/admin/phones/%s/state" % number)
    assert r.status_code == 200, r.text
    return r.json()


def paired(admin, make_session, phone_sim, names=("Alice", "Bob")):
    slug = make_session(admin)["sessionId"]
    numbers = [phone_sim.phone(n) for n in names]
    pair_by_qr(admin, phone_sim, slug, numbers[0])
    return slug, numbers


def phone_sends(phone_sim, frm, to, texts):
    ids = []
    for t in texts:
        r = phone_sim.post("/admin/phones/%s/send" % frm, {"to": to, "text": t})
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    return ids


def test_reading_given_ids_sends_read_receipts_for_exactly_those(admin, make_session, phone_sim, stack_config):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    chat = bob + "@s.whatsapp.net"
    ids = phone_sends(phone_sim, bob, alice, ["one", "two", "three"])
    wait_for(lambda: len(stored(stack_config, slug, chat)) == 3, what="the three messages stored")
    wait_for(lambda: all(outbox_status(phone_sim, bob, i) == "delivered" for i in ids), what="delivered")
    assert unread(stack_config, slug, chat) == 3

    r = admin.put("/api/chat/%s/%s/read" % (slug, chat), json={"messageIds": ids[:2]})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["success"] is True and b["message"] == "Messages marked as read", b
    assert b["read"] == ids[:2] and b["receipt"] == "read", b
    wait_for(lambda: [outbox_status(phone_sim, bob, i) for i in ids[:2]] == ["read", "read"],
             what="Bob's phone to see the two read")
    assert outbox_status(phone_sim, bob, ids[2]) == "delivered"
    assert unread(stack_config, slug, chat) == 0


def test_reading_the_whole_chat_reads_what_is_unread(admin, make_session, phone_sim, stack_config):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    chat = bob + "@s.whatsapp.net"
    ids = phone_sends(phone_sim, bob, alice, ["a", "b"])
    wait_for(lambda: unread(stack_config, slug, chat) == 2, what="two unread")

    r = admin.put("/api/chat/%s/%s/read" % (slug, chat), json={})
    assert r.status_code == 200, r.text
    assert r.json()["read"] == ids, r.text
    wait_for(lambda: [outbox_status(phone_sim, bob, i) for i in ids] == ["read", "read"], what="both read")
    assert unread(stack_config, slug, chat) == 0

    # a later message is the only unread one; no body at all reads it
    later = phone_sends(phone_sim, bob, alice, ["c"])
    wait_for(lambda: unread(stack_config, slug, chat) == 1, what="one unread")
    r = admin.put("/api/chat/%s/%s/read" % (slug, chat))
    assert r.status_code == 200 and r.json()["read"] == later, r.text
    wait_for(lambda: outbox_status(phone_sim, bob, later[0]) == "read", what="the later one read")
    # nothing unread: nothing to send, still a success
    r = admin.put("/api/chat/%s/%s/read" % (slug, chat), json={"messageIds": []})
    assert r.status_code == 200 and r.json()["read"] == [], r.text


def test_a_session_that_hides_read_receipts_reads_without_telling_the_sender(admin, make_session, phone_sim,
                                                                             stack_config):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    chat = bob + "@s.whatsapp.net"
    r = admin.patch("/api/sessions/%s/settings" % slug, json={"config": {"readReceipts": False}})
    assert r.status_code == 200, r.text
    ids = phone_sends(phone_sim, bob, alice, ["quiet"])
    wait_for(lambda: unread(stack_config, slug, chat) == 1, what="one unread")
    wait_for(lambda: outbox_status(phone_sim, bob, ids[0]) == "delivered", what="delivered")

    r = admin.put("/api/chat/%s/%s/read" % (slug, chat), json={"messageIds": ids})
    assert r.status_code == 200 and r.json()["receipt"] == "read-self", r.text
    assert unread(stack_config, slug, chat) == 0
    # our own phone learns it was read; Bob's phone keeps two grey ticks
    wait_for(lambda: any(m["id"] == ids[0] and m["status"] == "read"
                         for m in phone_sim.get("/admin/phones/%s/inbox" % alice).json()["messages"]),
             what="our own phone to see it read")
    assert outbox_status(phone_sim, bob, ids[0]) == "delivered"


def test_bad_read_requests_are_refused_and_change_nothing(admin, make_session, phone_sim, stack_config):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    chat = bob + "@s.whatsapp.net"
    ids = phone_sends(phone_sim, bob, alice, ["x"])
    wait_for(lambda: unread(stack_config, slug, chat) == 1, what="one unread")
    for body in ({"messageIds": "x"}, {"messageIds": [1]}, {"messageIds": [""]}, {"messageIds": ["a" * 200]}):
        r = admin.put("/api/chat/%s/%s/read" % (slug, chat), json=body)
        assert r.status_code == 400 and r.json()["status"] is False, (body, r.text)
    r = admin.put("/api/chat/%s/not-a-jid/read" % slug, json={})
    assert r.status_code == 400, r.text
    # ids that are not messages received in this chat
    r = admin.put("/api/chat/%s/%s/read" % (slug, chat), json={"messageIds": ["3EB0DEADBEEF00000000"]})
    assert r.status_code == 404, r.text
    assert unread(stack_config, slug, chat) == 1
    assert outbox_status(phone_sim, bob, ids[0]) == "delivered"


def test_typing_and_recording_reach_the_phone_and_presence_our_account(admin, make_session, phone_sim):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    chat = bob + "@s.whatsapp.net"
    for state in ("composing", "recording", "paused"):
        r = admin.post("/api/chat/%s/%s/presence" % (slug, chat), json={"presence": state})
        assert r.status_code == 200, r.text
        assert r.json() == {"success": True, "message": "Presence '%s' sent to %s" % (state, chat)}, r.text
    seen = wait_for(lambda: [h for h in phone_state(phone_sim, bob)["chatstates"] if h["from"] == alice][-3:]
                    if len([h for h in phone_state(phone_sim, bob)["chatstates"] if h["from"] == alice]) >= 3
                    else None, what="Bob's phone to see the typing")
    assert [h["state"] for h in seen] == ["composing", "recording", "paused"], seen
    assert all(h["chat"] == alice + "@s.whatsapp.net" for h in seen), seen

    # the n8n node's {type}; our own presence
    r = admin.post("/api/chat/%s/%s/presence" % (slug, chat), json={"type": "available"})
    assert r.status_code == 200, r.text
    wait_for(lambda: phone_state(phone_sim, alice)["available"] is True, what="our account available")
    r = admin.post("/api/chat/%s/%s/presence" % (slug, chat), json={"presence": "unavailable"})
    assert r.status_code == 200, r.text
    wait_for(lambda: phone_state(phone_sim, alice)["available"] is False, what="our account unavailable")

    before = len(phone_state(phone_sim, bob)["chatstates"])
    for body in ({"presence": "typing"}, {}, {"presence": 1}):
        r = admin.post("/api/chat/%s/%s/presence" % (slug, chat), json=body)
        assert r.status_code == 400 and r.json()["status"] is False, (body, r.text)
    assert len(phone_state(phone_sim, bob)["chatstates"]) == before


def test_check_says_which_numbers_are_on_whatsapp(admin, make_session, phone_sim):
    slug, (alice, bob, carol) = paired(admin, make_session, phone_sim, ("Alice", "Bob", "Carol"))
    unknown = "19995550123"
    numbers = ["+" + bob, unknown, carol + "@s.whatsapp.net", "not a number", bob]
    r = admin.post("/api/chat/%s/check" % slug, json={"numbers": numbers})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["success"] is True, b
    res = b["results"]
    assert [x["number"] for x in res] == numbers, res
    assert res[0] == {"number": "+" + bob, "exists": True, "jid": bob + "@s.whatsapp.net"}, res
    assert res[1] == {"number": unknown, "exists": False, "jid": None}, res
    assert res[2]["exists"] is True and res[2]["jid"] == carol + "@s.whatsapp.net", res
    assert res[3]["exists"] is False and res[3]["jid"] is None and res[3]["error"], res
    assert res[4]["exists"] is True and res[4]["jid"] == bob + "@s.whatsapp.net", res

    for body in ({"numbers": [bob] * 51}, {"numbers": []}, {"numbers": bob}, {}, {"numbers": [5]}):
        r = admin.post("/api/chat/%s/check" % slug, json=body)
        assert r.status_code == 400 and r.json()["status"] is False, (body, r.text)
    r = admin.post("/api/chat/%s/check" % slug, json={"numbers": [bob] * 50})
    assert r.status_code == 200 and len(r.json()["results"]) == 50, r.text


def tiny_png(w, h, rgb=(200, 30, 30)):
    """A w x h PNG of one colour (no imaging library needed)."""
    raw = b"".join(b"\0" + bytes(rgb) * w for _ in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker."""
    assert data[:2] == b"\xff\xd8", data[:4]
    i = 2
    while i < len(data):
        assert data[i] == 0xFF, "bad marker at %d" % i
        m = data[i + 1]
        ln = struct.unpack(">H", data[i + 2:i + 4])[0]
        if m in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + ln
    raise AssertionError("no SOF in the JPEG")


def test_profile_picture_url_or_null(admin, make_session, phone_sim):
    slug, (alice, bob, carol) = paired(admin, make_session, phone_sim, ("Alice", "Bob", "Carol"))
    r = phone_sim.post("/admin/phones/%s/picture" % bob, {"data": base64.b64encode(b"\xff\xd8\xff\xe0bob").decode()})
    assert r.status_code == 200, r.text
    r = admin.post("/api/chat/%s/%s/profile-picture" % (slug, bob + "@s.whatsapp.net"))
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["success"] is True and b["jid"] == bob + "@s.whatsapp.net", b
    assert b["profilePicUrl"].startswith("https://"), b
    r = admin.post("/api/chat/%s/%s/profile-picture" % (slug, carol + "@s.whatsapp.net"))
    assert r.status_code == 200, r.text
    assert r.json()["profilePicUrl"] is None and r.json()["message"] == "No profile picture found", r.text
    # hidden from us (Bob blocked our account): null as well
    r = phone_sim.post("/admin/phones/%s/block" % bob, {"jid": alice, "block": True})
    assert r.status_code == 200, r.text
    r = admin.post("/api/chat/%s/%s/profile-picture" % (slug, bob))
    assert r.status_code == 200 and r.json()["profilePicUrl"] is None, r.text


def test_the_own_profile_and_its_changes_as_contacts_see_them(admin, make_session, phone_sim, stack_config):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    me = alice + "@s.whatsapp.net"
    r = phone_sim.post("/admin/phones/%s/about" % alice, {"about": "at the phone"})
    assert r.status_code == 200, r.text
    r = admin.get("/api/profile/%s" % slug)
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["success"] is True and b["jid"] == me and b["status"] == {"text": "at the phone"}, b
    assert b["profilePicUrl"] is None, b

    # push name (25 characters, counted as characters): the contacts see it
    name = "Zoë's shop ☕ open 9-17"
    r = admin.put("/api/profile/%s/name" % slug, json={"name": name})
    assert r.status_code == 200, r.text
    assert r.json()["status"] is True and r.json()["data"] == {"name": name}, r.text
    wait_for(lambda: phone_state(phone_sim, alice)["pushName"] == name, what="the account's new push name")
    r = admin.post("/api/messages/%s/%s/send" % (slug, bob + "@s.whatsapp.net"), json={"message": {"text": "hi"}})
    assert r.status_code == 200, r.text
    assert admin.get("/api/profile/%s" % slug).json()["name"] == name

    # about (139 characters)
    about = "é" * 139
    r = admin.put("/api/profile/%s/status" % slug, json={"status": about})
    assert r.status_code == 200 and r.json()["data"] == {"status": about}, r.text
    assert phone_state(phone_sim, alice)["about"] == about
    assert admin.get("/api/profile/%s" % slug).json()["status"] == {"text": about}

    # bad input: 400, nothing changes on either side
    for path, body in (("name", {"name": "x" * 26}), ("name", {"name": ""}), ("name", {"name": "a\nb"}),
                       ("name", {}), ("status", {"status": "y" * 140}), ("status", {"status": 5}), ("status", {})):
        r = admin.put("/api/profile/%s/%s" % (slug, path), json=body)
        assert r.status_code == 400 and r.json()["status"] is False, (path, body, r.text)
    st = phone_state(phone_sim, alice)
    assert st["pushName"] == name and st["about"] == about, st


def media_get(sim, url):
    import requests
    return requests.get(url, verify=sim["media_ca"], timeout=10)


def test_profile_picture_set_from_an_upload_or_a_url_and_removed(admin, make_session, phone_sim, sim):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    other, _ = paired(admin, make_session, phone_sim, ("Carol",))
    me = alice + "@s.whatsapp.net"

    r = admin.put("/api/profile/%s/picture" % slug, files={"file": ("me.png", tiny_png(900, 600), "image/png")})
    assert r.status_code == 200, r.text
    assert r.json()["status"] is True and r.json()["data"]["pictureId"], r.text
    st = phone_state(phone_sim, alice)
    assert st["picture"] is True, st
    # what a contact gets: a square JPEG of at most 640 px
    url = admin.post("/api/chat/%s/%s/profile-picture" % (other, me)).json()["profilePicUrl"]
    assert url, "no picture URL for the contact"
    got = media_get(sim, url)
    assert got.status_code == 200 and jpeg_size(got.content) == (600, 600), got.status_code
    assert admin.get("/api/profile/%s" % slug).json()["profilePicUrl"]

    # a big one comes down to 640 x 640; by URL (the n8n node's JSON form)
    r = admin.put("/api/profile/%s/picture" % slug, files={"file": ("big.png", tiny_png(700, 1400), "image/png")})
    assert r.status_code == 200, r.text
    url = admin.post("/api/chat/%s/%s/profile-picture" % (other, me)).json()["profilePicUrl"]
    assert jpeg_size(media_get(sim, url).content) == (640, 640)
    first_id = phone_state(phone_sim, alice)["pictureId"]
    r = admin.put("/api/profile/%s/picture" % slug, json={"url": url.replace("https://", "http://")})
    assert r.status_code == 200, r.text
    assert phone_state(phone_sim, alice)["pictureId"] != first_id

    # not an image, no file, a refused URL: 400, the picture stays
    now_id = phone_state(phone_sim, alice)["pictureId"]
    for kw in ({"files": {"file": ("x.png", b"not an image at all", "image/png")}},
               {"files": {"other": ("", b"", "text/plain")}},
               {"json": {"url": "ftp://example.com/a.jpg"}}, {"json": {"url": "http://169.254.169.254/a.jpg"}},
               {"json": {}}):
        r = admin.put("/api/profile/%s/picture" % slug, **kw)
        assert r.status_code == 400 and r.json()["status"] is False, (kw, r.text)
    assert phone_state(phone_sim, alice)["pictureId"] == now_id

    r = admin.delete("/api/profile/%s/picture" % slug)
    assert r.status_code == 200 and r.json()["status"] is True, r.text
    assert phone_state(phone_sim, alice)["picture"] is False
    assert admin.post("/api/chat/%s/%s/profile-picture" % (other, me)).json()["profilePicUrl"] is None


def test_a_blocked_contact_cannot_write_to_us_until_unblocked(admin, make_session, phone_sim, stack_config):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    chat = bob + "@s.whatsapp.net"
    r = admin.post("/api/contacts/%s/%s/block" % (slug, chat))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "message": "Contact blocked", "jid": chat}, r.text
    assert phone_state(phone_sim, alice)["blocked"] == [bob]
    row = sql(stack_config, "SELECT c.blocked FROM contacts c JOIN wa_sessions s ON s.id = c.wa_session_id "
              "WHERE s.session_id = '%s' AND c.jid = '%s'" % (slug, chat)).strip()
    assert row == "1", row
    ev = sql(stack_config, "SELECT o.payload FROM events_outbox o JOIN wa_sessions s ON s.id = o.wa_session_id "
             "WHERE s.session_id = '%s' AND o.event = 'contact.update' ORDER BY o.id" % slug).splitlines()
    assert [json.loads(e) for e in ev] == [{"sessionId": slug, "jid": chat, "blocked": True}], ev

    # WhatsApp refuses a blocked sender's message (its ack says 403): it never reaches us
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "let me in"})
    assert r.status_code == 400 and r.json() == {"error": "403"}, r.text
    r = admin.post("/api/contacts/%s/%s/unblock" % (slug, bob))
    assert r.status_code == 200 and r.json()["message"] == "Contact unblocked", r.text
    assert phone_state(phone_sim, alice)["blocked"] == []
    later = phone_sends(phone_sim, bob, alice, ["now?"])
    rows = wait_for(lambda: stored(stack_config, slug, chat), what="the message after the unblock")
    assert [x[0] for x in rows] == later and [x[1] for x in rows] == ["now?"], rows
    assert sql(stack_config, "SELECT c.blocked FROM contacts c JOIN wa_sessions s ON s.id = c.wa_session_id "
               "WHERE s.session_id = '%s' AND c.jid = '%s'" % (slug, chat)).strip() == "0"

    for path in ("not-a-jid/block", "120363000000000001@g.us/block"):
        r = admin.post("/api/contacts/%s/%s" % (slug, path))
        assert r.status_code == 400, (path, r.text)
    assert phone_state(phone_sim, alice)["blocked"] == []


def contact_updates(stack_config, slug):
    out = sql(stack_config, "SELECT o.payload FROM events_outbox o JOIN wa_sessions s ON s.id = o.wa_session_id "
              "WHERE s.session_id = '%s' AND o.event = 'contact.update' ORDER BY o.id" % slug)
    return [json.loads(line) for line in out.splitlines() if line]


def test_blocks_made_on_the_phone_show_in_the_api_and_the_blocklist(admin, make_session, phone_sim, stack_config):
    slug, (alice, bob, carol) = paired(admin, make_session, phone_sim, ("Alice", "Bob", "Carol"))
    r = admin.get("/api/contacts/%s/blocklist" % slug)
    assert r.status_code == 200 and r.json() == {"success": True, "blocklist": []}, r.text
    with EventSub(event_url(stack_config)) as sub:
        # the person blocks Carol on the phone: the companion is told (account_sync)
        r = phone_sim.post("/admin/phones/%s/block" % alice, {"jid": carol, "block": True})
        assert r.status_code == 200, r.text
        ev = sub.wait(slug, "contact.update", what="contact.update for the phone's block")
    assert ev["data"] == {"sessionId": slug, "jid": carol + "@s.whatsapp.net", "blocked": True}, ev
    assert contact_updates(stack_config, slug) == [ev["data"]]
    assert sql(stack_config, "SELECT c.blocked FROM contacts c JOIN wa_sessions s ON s.id = c.wa_session_id "
               "WHERE s.session_id = '%s' AND c.jid = '%s@s.whatsapp.net'" % (slug, carol)).strip() == "1"
    r = admin.post("/api/contacts/%s/%s/block" % (slug, bob))
    assert r.status_code == 200, r.text
    r = admin.get("/api/contacts/%s/blocklist" % slug)
    assert sorted(r.json()["blocklist"]) == sorted([carol + "@s.whatsapp.net", bob + "@s.whatsapp.net"]), r.text


def test_a_contact_who_changes_its_push_name_is_a_contact_update(admin, make_session, phone_sim, stack_config):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    chat = bob + "@s.whatsapp.net"
    phone_sends(phone_sim, bob, alice, ["first"])
    wait_for(lambda: len(stored(stack_config, slug, chat)) == 1, what="the first message")
    phone_sends(phone_sim, bob, alice, ["same name"])
    wait_for(lambda: len(stored(stack_config, slug, chat)) == 2, what="the second message")
    assert contact_updates(stack_config, slug) == []
    r = phone_sim.post("/admin/phones/%s/appstate" % bob, {"action": "pushName", "name": "Robert"})
    assert r.status_code == 200, r.text
    with EventSub(event_url(stack_config)) as sub:
        phone_sends(phone_sim, bob, alice, ["new name"])
        ev = sub.wait(slug, "contact.update", what="contact.update for the new push name")
    assert ev["data"] == {"sessionId": slug, "jid": chat, "notify": "Robert", "previous": "Bob"}, ev
    assert contact_updates(stack_config, slug) == [ev["data"]]
    assert [x[2] for x in stored(stack_config, slug, chat)] == ["Bob", "Bob", "Robert"]


def test_reading_a_group_tells_each_sender_and_typing_reaches_every_member(admin, make_session, phone_sim,
                                                                          stack_config):
    slug, (alice, bob, carol) = paired(admin, make_session, phone_sim, ("Alice", "Bob", "Carol"))
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Team", "participants": [alice, carol]})
    assert r.status_code == 201, r.text
    group = r.json()["jid"]
    b1 = phone_sends(phone_sim, bob, group, ["from bob"])[0]
    c1, c2 = phone_sends(phone_sim, carol, group, ["from carol", "carol again"])
    b2 = phone_sends(phone_sim, bob, group, ["bob again"])[0]
    wait_for(lambda: unread(stack_config, slug, group) == 4, what="four unread in the group")

    r = admin.put("/api/chat/%s/%s/read" % (slug, group), json={})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["read"]) == sorted([b1, c1, c2, b2]), r.text
    wait_for(lambda: [outbox_status(phone_sim, bob, i) for i in (b1, b2)] == ["read", "read"],
             what="Bob's phone to see his two read")
    wait_for(lambda: [outbox_status(phone_sim, carol, i) for i in (c1, c2)] == ["read", "read"],
             what="Carol's phone to see hers read")
    assert unread(stack_config, slug, group) == 0

    r = admin.post("/api/chat/%s/%s/presence" % (slug, group), json={"presence": "composing"})
    assert r.status_code == 200, r.text
    for who in (bob, carol):
        wait_for(lambda: any(h["from"] == alice and h["chat"] == group and h["state"] == "composing"
                             for h in phone_state(phone_sim, who)["chatstates"]),
                 what="%s's phone to see us typing in the group" % who)
