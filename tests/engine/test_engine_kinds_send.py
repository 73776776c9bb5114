"""Sending the kinds beyond text through the real engine, as a phone sees
them: location, contact cards (the reference's vCard form and the
fullName/phoneNumber convenience), polls (with the message secret votes
need), the /list text, reactions and their removal, edits and deletes for
everyone, forwards, and the background spam; each refused request changes
nothing on the phone or in the store."""
import time

from conftest import sql
from test_engine_messages import inbox, message_status
from walib import pair_by_qr, wait_for

VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:John Doe\nTEL;type=CELL;waid=628111:+628111\nEND:VCARD"


def got(phone_sim, number, msg_id, what):
    return wait_for(lambda: [m for m in inbox(phone_sim, number) if m["id"] == msg_id], what=what)[0]


def row(stack_config, slug, msg_id, cols):
    out = sql(stack_config, "SELECT %s FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
              "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (cols, slug, msg_id)).strip()
    return out.split("\t") if out else None


def count_rows(stack_config, slug):
    return int(sql(stack_config, "SELECT COUNT(*) FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
                   "WHERE s.session_id = '%s'" % slug).strip())


def paired(admin, make_session, phone_sim):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    return slug, alice, bob, bob + "@s.whatsapp.net"


def test_location_contacts_poll_and_list_reach_the_phone(admin, make_session, phone_sim, stack_config):
    slug, _, bob, chat = paired(admin, make_session, phone_sim)
    base = "/api/messages/%s/%s" % (slug, chat)

    r = admin.post(base + "/location", json={"latitude": -6.2088, "longitude": 106.8456, "name": "Central Park",
                                             "address": "Jakarta, Indonesia"})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    loc = r.json()["data"]["message"]["locationMessage"]
    assert loc["degreesLatitude"] == -6.2088 and loc["name"] == "Central Park", r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the location")
    assert m["type"] == "location" and abs(m["lat"] + 6.2088) < 1e-9 and abs(m["lng"] - 106.8456) < 1e-9, m
    assert m["text"] == "Central Park", m
    assert row(stack_config, slug, m["id"], "m.type, m.content") == ["LOCATION", "Central Park, Jakarta, Indonesia"]

    # the reference's vCard form, sent as given
    r = admin.post(base + "/contact", json={"contacts": [{"displayName": "John Doe", "vcard": VCARD}]})
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the contact card")
    assert m["type"] == "contact" and m["text"] == "John Doe" and m["vcard"] == VCARD, m
    assert m["stanzaType"] == "media", m
    # the convenience form builds the vCard; two contacts go as one array message
    r = admin.post(base + "/contact", json={"contacts": [{"fullName": "Ann Lee", "phoneNumber": "+62 811-222"},
                                                         {"displayName": "Bo", "vcard": VCARD}]})
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the two contacts")
    assert m["type"] == "contacts" and len(m["contacts"]) == 2, m
    assert m["contacts"][0]["displayName"] == "Ann Lee", m
    assert "FN:Ann Lee" in m["contacts"][0]["vcard"] and "waid=62811222:+62811222" in m["contacts"][0]["vcard"], m
    assert m["contacts"][1]["displayName"] == "Bo", m
    assert row(stack_config, slug, m["id"], "m.type, m.content") == ["CONTACT", "Ann Lee, Bo"]

    # a poll: one choice is a V3 poll; the phone keeps its secret (votes need it)
    r = admin.post(base + "/poll", json={"question": "Favourite?", "options": ["A", "B", "C"],
                                         "selectableCount": 1})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    pid = r.json()["data"]["key"]["id"]
    m = got(phone_sim, bob, pid, "the poll")
    assert m["type"] == "poll" and m["text"] == "Favourite?" and m["options"] == ["A", "B", "C"], m
    assert m["selectableCount"] == 1 and m["pollVersion"] == 3, m
    assert m["stanzaType"] == "poll" and m["polltype"] == "creation", m
    assert row(stack_config, slug, pid, "m.type, m.content, m.raw IS NOT NULL") == ["POLL", "Favourite?", "1"]
    r = admin.post(base + "/poll", json={"question": "Any?", "options": ["x", "y"]})
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the multi-choice poll")
    assert m["selectableCount"] == 0 and m["pollVersion"] == 1, m

    # /list is the formatted text the reference describes
    r = admin.post(base + "/list", json={"title": "Our Services", "options": ["Web Dev", "App Dev"],
                                         "footer": "Choose one"})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the list")
    assert m["type"] == "text" and m["text"] == "*Our Services*\n\n1. Web Dev\n2. App Dev\n\n_Choose one_", m

    # the same kinds in Baileys' content shape on /send
    r = admin.post(base + "/send", json={"message": {"location": {"degreesLatitude": 1.5, "degreesLongitude": 2.5}}})
    assert r.status_code == 200, r.text
    assert got(phone_sim, bob, r.json()["data"]["key"]["id"], "location by /send")["lat"] == 1.5
    r = admin.post(base + "/send", json={"message": {"poll": {"name": "Q", "values": ["1", "2"],
                                                              "selectableCount": 2}}})
    assert r.status_code == 200, r.text
    assert got(phone_sim, bob, r.json()["data"]["key"]["id"], "poll by /send")["options"] == ["1", "2"]


def test_bad_kinds_are_refused_and_change_nothing(admin, make_session, phone_sim, stack_config):
    slug, _, bob, chat = paired(admin, make_session, phone_sim)
    base = "/api/messages/%s/%s" % (slug, chat)
    before_phone, before_rows = len(inbox(phone_sim, bob)), count_rows(stack_config, slug)
    bad = [
        ("/contact", {"contacts": [{"displayName": "X", "vcard": "hello"}]}, "BEGIN:VCARD"),
        ("/contact", {"contacts": [{"displayName": "X", "vcard": "BEGIN:VCARD\nVERSION:3.0\nEND:VCARD"}]}, "FN"),
        ("/contact", {"contacts": [{"displayName": "X", "vcard": "BEGIN:VCARD\nFN:a\n"}]}, "END:VCARD"),
        ("/contact", {"contacts": [{"fullName": "A", "phoneNumber": "12"}]}, "digits"),
        ("/contact", {"contacts": [{"fullName": "A", "phoneNumber": "12345x"}]}, "phone"),
        ("/poll", {"question": "q", "options": ["a", "a"]}, "differ"),
        ("/poll", {"question": "q", "options": ["a", "b"], "selectableCount": 3}, "selectableCount"),
        ("/poll", {"question": "q", "options": ["a", ""]}, "option"),
        ("/send", {"message": {"location": {"degreesLatitude": 100, "degreesLongitude": 0}}}, "latitude"),
        ("/send", {"message": {"poll": {"name": "q", "values": ["a"]}}}, "options"),
        ("/send", {"message": {"unknownKind": {}}}, "text, location"),
    ]
    for path, body, word in bad:
        r = admin.post(base + path, json=body)
        assert r.status_code == 400 and r.json()["status"] is False, (path, body, r.text)
        assert word in r.json()["message"], (path, body, r.text)
    # actions on messages that are not stored, or not in this chat
    r = admin.post(base + "/3EB0000000000000DEAD/react", json={"emoji": "x"})
    assert r.status_code == 404, r.text
    r = admin.patch(base + "/3EB0000000000000DEAD", json={"text": "new"})
    assert r.status_code == 404, r.text
    r = admin.delete(base + "/3EB0000000000000DEAD")
    assert r.status_code == 404, r.text
    r = admin.post("/api/messages/%s/forward" % slug,
                   json={"fromJid": chat, "messageId": "3EB0000000000000DEAD", "toJids": [chat]})
    assert r.status_code == 404, r.text
    assert len(inbox(phone_sim, bob)) == before_phone
    assert count_rows(stack_config, slug) == before_rows


def test_reactions_edits_and_deletes_change_the_message_on_the_phone_and_here(
        admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = paired(admin, make_session, phone_sim)
    base = "/api/messages/%s/%s" % (slug, chat)
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "from Bob"})
    assert r.status_code == 200, r.text
    theirs = r.json()["id"]
    wait_for(lambda: row(stack_config, slug, theirs, "m.type"), what="Bob's message stored")
    r = admin.post(base + "/send", json={"message": {"text": "first version"}})
    assert r.status_code == 200, r.text
    mine = r.json()["data"]["key"]["id"]
    got(phone_sim, bob, mine, "our message")

    # a reaction to Bob's message, then its removal
    r = admin.post(base + "/%s/react" % theirs, json={"emoji": "👍"})
    assert r.status_code == 200 and r.json()["message"] == "Reaction sent", r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the reaction")
    assert m["type"] == "reaction" and m["text"] == "👍" and m["messageId"] == theirs, m
    assert m["stanzaType"] == "reaction", m
    # (HEX: the mariadb client's utf8mb3 connection cannot show the emoji)
    wait_for(lambda: row(stack_config, slug, theirs, "HEX(IFNULL(m.reaction, ''))") == ["👍".encode().hex().upper()],
             what="the reaction stored")
    r = admin.post(base + "/%s/react" % theirs, json={"emoji": ""})
    assert r.status_code == 200 and r.json()["message"] == "Reaction removed", r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the removal")
    assert m["text"] == "" and m["messageId"] == theirs, m
    wait_for(lambda: row(stack_config, slug, theirs, "IFNULL(HEX(m.reaction), '-')") == ["-"], what="the reaction gone")

    # Bob's message is not ours to edit; ours is
    r = admin.patch(base + "/" + theirs, json={"text": "not mine"})
    assert r.status_code == 403 and r.json()["status"] is False, r.text
    r = admin.patch(base + "/" + mine, json={"text": "second version"})
    assert r.status_code == 200 and r.json()["status"] is True, r.text
    assert r.json()["message"] == "Message edited successfully", r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the edit")
    assert m["type"] == "protocol" and m["protocolType"] == 14 and m["messageId"] == mine, m
    assert m["editedText"] == "second version" and m["edit"] == "1", m
    wait_for(lambda: row(stack_config, slug, mine, "m.content, m.edited") == ["second version", "1"],
             what="the edit stored")

    # delete for everyone: a 1:1 message of Bob's cannot be; ours is
    r = admin.delete(base + "/" + theirs)
    assert r.status_code == 403, r.text
    r = admin.delete(base + "/" + mine)
    assert r.status_code == 200 and r.json()["message"] == "Message deleted for everyone", r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the revoke")
    assert m["protocolType"] == 0 and m["messageId"] == mine and m["edit"] == "7", m
    wait_for(lambda: row(stack_config, slug, mine, "m.deleted, IFNULL(m.content, 'NULL')") == ["1", "NULL"],
             what="the delete stored")
    r = admin.patch(base + "/" + mine, json={"text": "too late"})
    assert r.status_code == 400 and "deleted" in r.json()["message"], r.text

    # a star is an app-state mutation, answered once stored (test_engine_appstate.py)
    r = admin.post(base + "/%s/star" % theirs, json={"star": True})
    assert r.status_code == 200 and r.json()["message"] == "Message starred", r.text
    assert row(stack_config, slug, theirs, "m.starred") == ["1"]
    r = admin.post(base + "/%s/star" % theirs, json={"star": False})
    assert r.status_code == 200 and row(stack_config, slug, theirs, "m.starred") == ["0"], r.text
    r = admin.post(base + "/3EB0000000000000DEAD/star", json={})
    assert r.status_code == 404, r.text


def test_forward_and_spam(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = paired(admin, make_session, phone_sim)
    carol = phone_sim.phone("Carol")
    dave = phone_sim.phone("Dave")
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "pass this on"})
    assert r.status_code == 200, r.text
    theirs = r.json()["id"]
    wait_for(lambda: row(stack_config, slug, theirs, "m.type"), what="Bob's message stored")

    r = admin.post("/api/messages/%s/forward" % slug,
                   json={"fromJid": chat, "messageId": theirs,
                         "toJids": [carol + "@s.whatsapp.net", dave + "@s.whatsapp.net"]})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    results = r.json()["data"]["results"]
    assert [x["status"] for x in results] == ["SENT", "SENT"], results
    for number, res in ((carol, results[0]), (dave, results[1])):
        m = got(phone_sim, number, res["id"], "the forward")
        assert m["text"] == "pass this on" and m["forwarded"] is True and m["forwardingScore"] == 1, m
    # the wrong source chat names no message
    r = admin.post("/api/messages/%s/forward" % slug,
                   json={"fromJid": carol + "@s.whatsapp.net", "messageId": theirs, "toJids": [chat]})
    assert r.status_code == 404, r.text

    # spam: answered at once, then sent one after the other (a job:
    # test_engine_broadcast.py)
    before = len([m for m in inbox(phone_sim, bob) if m.get("text") == "again"])
    r = admin.post("/api/messages/%s/%s/spam" % (slug, chat), json={"message": "again", "count": 3, "delay": 0})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    assert r.json()["data"]["count"] == 3 and r.json()["data"]["delayMs"] == 250, r.text
    wait_for(lambda: len([m for m in inbox(phone_sim, bob) if m.get("text") == "again"]) == before + 3,
             what="three messages on Bob's phone")
    ids = sql(stack_config, "SELECT m.message_id FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
              "WHERE s.session_id = '%s' AND m.content = 'again'" % slug).split()
    assert len(set(ids)) == 3
    for i in ids:
        wait_for(lambda: message_status(stack_config, slug, i) in ("SENT", "DELIVERED"), what="each SENT")
    time.sleep(1)  # nothing more comes after the count
    assert len([m for m in inbox(phone_sim, bob) if m.get("text") == "again"]) == before + 3


def test_the_n8n_node_variants(admin, make_session, phone_sim, stack_config):
    """The community n8n node's forms of /list, /spam, the contact list and
    the media list / delete (docs/api.md)."""
    slug, alice, bob, chat = paired(admin, make_session, phone_sim)
    base = "/api/messages/%s/%s" % (slug, chat)
    r = admin.post(base + "/list", json={"title": "Menu", "description": "Pick one", "buttonText": "Open",
                                         "sections": [{"title": "Food", "rows": [
                                             {"title": "Pizza", "description": "with cheese", "rowId": "p"},
                                             {"title": "Soup", "rowId": "s"}]},
                                             {"title": "Drinks", "rows": [{"title": "Tea", "rowId": "t"}]}]})
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the sections list")
    assert m["text"] == "*Menu*\nPick one\n\n*Food*\n1. Pizza - with cheese\n2. Soup\n\n*Drinks*\n3. Tea", m
    r = admin.post(base + "/list", json={"title": "Menu"})
    assert r.status_code == 400 and "sections" in r.json()["message"], r.text

    # /spam with no body: the documented default text, the default count 10
    r = admin.post(base + "/spam", json={"count": 2})
    assert r.status_code == 200 and r.json()["data"]["count"] == 2, r.text
    wait_for(lambda: len([x for x in inbox(phone_sim, bob) if x.get("text") == "Hello from WA-AKG!"]) == 2,
             timeout=30, what="two default messages")

    # the contacts the session knows, as a bare array
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "hi, I am Bob"})
    assert r.status_code == 200, r.text
    wait_for(lambda: [c for c in admin.get("/api/contacts/%s" % slug).json() if c["jid"] == chat],
             what="Bob among the contacts")
    c = [c for c in admin.get("/api/contacts/%s" % slug).json() if c["jid"] == chat][0]
    assert c["notify"] == "Bob" and c["blocked"] is False, c

    # uploads: listed, then deleted by name (another name is reported, not an error)
    r = admin.post(base + "/media", files={"file": ("note.txt", b"hello file", "text/plain")},
                   data={"type": "document"})
    assert r.status_code == 200, r.text
    mine = admin.get("/api/media").json()["data"]
    names = [x["filename"] for x in mine if x["originalName"] == "note.txt"]
    assert names, mine
    r = admin.delete("/api/media", json={"filenames": [names[0], "nothere.bin"]})
    assert r.status_code == 200 and r.json()["deleted"] == [names[0]] and r.json()["notFound"] == ["nothere.bin"], \
        r.text
    assert names[0] not in [x["filename"] for x in admin.get("/api/media").json()["data"]]
    r = admin.delete("/api/media", json={"filenames": ["../etc/passwd"]})
    assert r.status_code == 400, r.text
