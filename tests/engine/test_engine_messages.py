"""Incoming 1:1 text through the real engine: a simulated phone writes to
the account a session is paired with; the engine decrypts, stores and
publishes it, and only then answers (the phone sees it delivered). An
engine killed while messages arrive loses none and stores none twice:
test_engine_robustness.py, with 1,000 messages."""

from conftest import sql
from walib import pair_by_qr, wait_for


def stored(stack_config, slug, chat):
    out = sql(stack_config, "SELECT m.message_id, m.content, IFNULL(m.push_name, ''), m.from_me, m.type "
              "FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
              "WHERE s.session_id = '%s' AND m.remote_jid = '%s' ORDER BY m.id" % (slug, chat))
    return [line.split("\t") for line in out.splitlines() if line]


def events(stack_config, slug, event, field="$.id", msg_id=None):
    """The outbox's `event` rows of the session (of one message when msg_id
    is given), oldest first: the payload's `field` of each."""
    out = sql(stack_config, "SELECT JSON_VALUE(o.payload, '%s') FROM events_outbox o JOIN wa_sessions s "
              "ON s.id = o.wa_session_id WHERE s.session_id = '%s' AND o.event = '%s' %s ORDER BY o.id"
              % (field, slug, event, "" if msg_id is None else "AND JSON_VALUE(o.payload, '$.id') = '%s'" % msg_id))
    return [line for line in out.splitlines() if line]


def received_events(stack_config, slug):
    return events(stack_config, slug, "message.received")


def message_status(stack_config, slug, msg_id):
    return sql(stack_config, "SELECT m.status FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
               "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, msg_id)).strip()


def outbox_status(phone_sim, number, msg_id):
    r = phone_sim.get("/admin/phones/%s/outbox" % number)
    assert r.status_code == 200, r.text
    for m in r.json()["messages"]:
        if m["id"] == msg_id:
            return m["status"]
    return None


def test_a_text_from_a_phone_is_stored_published_and_answered(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    chat = bob + "@s.whatsapp.net"

    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "hello gateway"})
    assert r.status_code == 200, r.text
    first = r.json()["id"]
    rows = wait_for(lambda: stored(stack_config, slug, chat), what="the message in the database")
    assert rows == [[first, "hello gateway", "Bob", "0", "TEXT"]], rows
    assert received_events(stack_config, slug) == [first]
    # answered only now: the phone's copy turns delivered
    wait_for(lambda: outbox_status(phone_sim, bob, first) in ("delivered", "read"),
             what="the phone to see it delivered")

    # the API shows it, in the chat list and the history
    chats = admin.get("/api/chat/%s" % slug).json()
    c = [x for x in chats if x["jid"] == chat]
    assert c and c[0]["unreadCount"] == 1 and c[0]["lastMessage"]["keyId"] == first, chats
    hist = admin.get("/api/chat/%s/%s" % (slug, chat)).json()
    assert [(m["keyId"], m["content"], m["fromMe"], m["pushName"]) for m in hist] == \
        [(first, "hello gateway", False, "Bob")], hist

    # a reply quoting it (extendedTextMessage) keeps the quoted id
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "and again", "quotedId": first})
    assert r.status_code == 200, r.text
    second = r.json()["id"]
    wait_for(lambda: len(stored(stack_config, slug, chat)) == 2, what="the reply")
    q = sql(stack_config, "SELECT quoted_id FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
            "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, second)).strip()
    assert q == first


def inbox(phone_sim, number):
    r = phone_sim.get("/admin/phones/%s/inbox" % number)
    assert r.status_code == 200, r.text
    return r.json()["messages"]


def test_a_text_sent_through_the_api_reaches_the_phone_and_our_own_phone(
        admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    chat = bob + "@s.whatsapp.net"

    r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": {"text": "hi Bob"}})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["status"] is True and b["message"] == "Message sent successfully", b
    key = b["data"]["key"]
    assert key["remoteJid"] == chat and key["fromMe"] is True and key["id"].startswith("3EB0"), b
    assert b["data"]["message"] == {"conversation": "hi Bob"} and b["data"]["messageTimestamp"].isdigit(), b
    got = wait_for(lambda: [m for m in inbox(phone_sim, bob) if m["id"] == key["id"]], what="Bob's phone to get it")
    assert got[0]["text"] == "hi Bob" and got[0]["fromMe"] is False, got
    # our own phone gets the copy (deviceSentMessage), as with any companion
    mine = wait_for(lambda: [m for m in inbox(phone_sim, alice) if m["id"] == key["id"]],
                    what="Alice's phone to get the copy")
    assert mine[0]["fromMe"] is True and mine[0]["chat"].startswith(bob), mine
    # recorded before it was sent, SENT once the server acked, with its event
    assert stored(stack_config, slug, chat) == [[key["id"], "hi Bob", "", "1", "TEXT"]]
    st = message_status(stack_config, slug, key["id"])
    assert st in ("SENT", "DELIVERED", "READ"), st
    assert len(events(stack_config, slug, "message.sent", msg_id=key["id"])) == 1
    # every status change is a message.status event: SENT (the ack), then DELIVERED and READ (receipts)
    wait_for(lambda: message_status(stack_config, slug, key["id"]) == "DELIVERED",
             what="DELIVERED from Bob's receipt")
    assert phone_sim.post("/admin/phones/%s/read" % bob, {"ids": [key["id"]]}).status_code == 200
    wait_for(lambda: message_status(stack_config, slug, key["id"]) == "READ", what="READ from Bob's read receipt")
    out = events(stack_config, slug, "message.status", "$.status", key["id"])
    assert out == ["SENT", "DELIVERED", "READ"], out
    # a second message goes over the sessions the first one built
    r = admin.post("/api/messages/%s/%s/send" % (slug, bob), json={"message": {"text": "again"}})
    assert r.status_code == 200, r.text
    wait_for(lambda: [m for m in inbox(phone_sim, bob) if m.get("text") == "again"], what="the second message")


def test_sending_to_a_number_not_on_whatsapp_stores_nothing(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    pair_by_qr(admin, phone_sim, slug, alice)
    r = admin.post("/api/messages/%s/19990000001@s.whatsapp.net/send" % slug, json={"message": {"text": "x"}})
    assert r.status_code == 404, r.text
    assert r.json()["status"] is False
    assert stored(stack_config, slug, "19990000001@s.whatsapp.net") == []


def test_group_text_and_what_our_own_phone_sends_are_stored(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Team", "participants": [alice]})
    assert r.status_code == 201, r.text
    group = r.json()["jid"]

    # Bob writes in the group: sender keys come with it (SKDM in a pkmsg, then skmsg)
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": group, "text": "hello team"})
    assert r.status_code == 200, r.text
    gid = r.json()["id"]
    rows = wait_for(lambda: stored(stack_config, slug, group), what="the group message")
    assert rows == [[gid, "hello team", "Bob", "0", "TEXT"]], rows
    sender = sql(stack_config, "SELECT m.sender_jid FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
                 "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, gid)).strip()
    assert sender == bob + "@s.whatsapp.net"
    # the second message of the group reuses the stored sender key
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": group, "text": "second"})
    assert r.status_code == 200, r.text
    wait_for(lambda: len(stored(stack_config, slug, group)) == 2, what="the second group message")
    hist = admin.get("/api/chat/%s/%s" % (slug, group)).json()
    assert [m["content"] for m in hist] == ["hello team", "second"], hist

    # Alice types on her phone: the companion gets the copy, stored as ours, in Bob's chat
    r = phone_sim.post("/admin/phones/%s/send" % alice, {"to": bob, "text": "typed on the phone"})
    assert r.status_code == 200, r.text
    pid = r.json()["id"]
    chat = bob + "@s.whatsapp.net"
    rows = wait_for(lambda: stored(stack_config, slug, chat), what="our phone's message")
    assert rows == [[pid, "typed on the phone", "Alice", "1", "TEXT"]], rows
    assert len(events(stack_config, slug, "message.sent", msg_id=pid)) == 1


def test_a_text_sent_to_a_group_reaches_every_member(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    carol = phone_sim.phone("Carol")
    pair_by_qr(admin, phone_sim, slug, alice)
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Team", "participants": [alice, carol]})
    assert r.status_code == 201, r.text
    group = r.json()["jid"]

    for n, text in enumerate(("to the team", "and once more")):
        r = admin.post("/api/messages/%s/%s/send" % (slug, group), json={"message": {"text": text}})
        assert r.status_code == 200, r.text
        key = r.json()["data"]["key"]
        assert key["remoteJid"] == group and key["fromMe"] is True
        for who in (bob, carol, alice):  # Alice: our own phone gets it too
            got = wait_for(lambda: [m for m in inbox(phone_sim, who) if m["id"] == key["id"]],
                           what="%s to get the group message" % who)
            assert got[0]["text"] == text and got[0]["chat"] == group, got
    assert [r[1] for r in stored(stack_config, slug, group)] == ["to the team", "and once more"]

    # not a member: WhatsApp's refusal, nothing stored
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Other", "participants": [carol]})
    other = r.json()["jid"]
    r = admin.post("/api/messages/%s/%s/send" % (slug, other), json={"message": {"text": "x"}})
    assert r.status_code in (403, 404) and r.json()["status"] is False, r.text
    assert stored(stack_config, slug, other) == []


def test_a_message_that_does_not_decrypt_is_asked_for_again(admin, make_session, phone_sim, stack_config):
    """Our Signal session with the sender is lost (here: deleted): the next
    message does not decrypt, the engine sends a retry receipt, the phone
    sends it again over a new session, and it is stored once."""
    sess = make_session(admin)
    slug = sess["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    chat = bob + "@s.whatsapp.net"
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "first"})
    assert r.status_code == 200, r.text
    wait_for(lambda: stored(stack_config, slug, chat), what="the first message")
    sql(stack_config, "DELETE FROM signal_session WHERE session_key = '%s'" % sess["id"])
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "second"})
    assert r.status_code == 200, r.text
    second = r.json()["id"]
    rows = wait_for(lambda: (lambda x: x if len(x) == 2 else None)(stored(stack_config, slug, chat)),
                    what="the second message after the retry")
    assert rows[1][:2] == [second, "second"], rows
    assert received_events(stack_config, slug).count(second) == 1


def test_garbage_from_the_server_does_not_stop_the_session(admin, make_session, phone_sim, stack_config, engine):
    """Frames that do not decode (inside Noise, and raw WebSocket bytes
    outside it): the engine drops that connection at worst, comes back by
    itself, and the next message is stored."""
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    d = pair_by_qr(admin, phone_sim, slug, alice)
    jid = d["me"]["id"]
    def send_raw(body):
        # The connection listed may be the one the previous garbage made
        # the engine drop, closed by the time send-raw names it (404):
        # then wait for the next logged-in one.
        for c in phone_sim.connections(jid):
            if c["state"] == "logged-in":
                r = phone_sim.post("/admin/connections/send-raw", dict(body, id=c["id"]))
                if r.status_code != 404:
                    return [r]  # (a Response of 409 is false)
        return None

    for body in ({"hex": "00f802"}, {"hex": ""}, {"hex": "02" + "ff" * 64}, {"hex": "00f8ff" + "00" * 300},
                 {"hex": "00000a00112233445566778899", "encrypted": False}):
        r = wait_for(lambda: send_raw(body), what="garbage sent to a logged-in connection")[0]
        assert r.status_code in (200, 409), r.text
        assert engine.alive(), "the engine died on %r" % body
    wait_for(lambda: [c for c in phone_sim.connections(jid) if c["state"] == "logged-in"], timeout=30,
             what="the session back on line")
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "still here?"})
    assert r.status_code == 200, r.text
    rows = wait_for(lambda: stored(stack_config, slug, bob + "@s.whatsapp.net"), timeout=30,
                    what="a message after the garbage")
    assert rows[0][1] == "still here?"
    assert engine.alive()


def test_the_phones_history_arrives_after_pairing(admin, make_session, phone_sim, stack_config):
    """What the phone said before the gateway was linked comes as a history
    sync (a blob on the media host): chats, messages and push names land in
    the database, so the API shows them, without message events."""
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    ids = []
    for text in ("before one", "before two"):
        r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": text})
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    r = phone_sim.post("/admin/phones/%s/send" % alice, {"to": bob, "text": "my answer"})
    assert r.status_code == 200, r.text
    ids.append(r.json()["id"])
    pair_by_qr(admin, phone_sim, slug, alice)
    chat = bob + "@s.whatsapp.net"
    rows = wait_for(lambda: (lambda x: x if len(x) >= 3 else None)(stored(stack_config, slug, chat)),
                    what="the history in the database")
    assert sorted(r[0] for r in rows) == sorted(ids), rows
    mine = [r for r in rows if r[0] == ids[2]][0]
    assert mine[1] == "my answer" and mine[3] == "1", rows
    chats = admin.get("/api/chat/%s" % slug).json()
    c = [x for x in chats if x["jid"] == chat]
    assert c and c[0]["notify"] == "Bob", chats
    assert received_events(stack_config, slug) == [], "history is not replayed as events"
    # both history chunks (hist_sync receipts) and the app-state key share
    # (stored, peer_msg receipt) answered: the server keeps nothing for us
    dev = int(admin.get("/api/sessions/%s" % slug).json()["me"]["id"].split(":")[1].split("@")[0])
    wait_for(lambda: [d for d in phone_sim.devices(alice) if d.get("id") == dev and d.get("unanswered") == 0]
             or None, what="the history notifications and the key share answered")
    keys = sql(stack_config, "SELECT COUNT(*) FROM wa_app_state_keys k JOIN wa_sessions s "
               "ON s.id = k.wa_session_id WHERE s.session_id = '%s'" % slug).strip()
    assert int(keys) >= 1, keys


def test_a_message_the_recipient_cannot_decrypt_is_sent_again(admin, make_session, phone_sim, stack_config):
    """Bob's phone loses its session with our device (as after a
    reinstall): our next message fails there, the phone sends a retry
    receipt with fresh keys, the engine sends the message again over a new
    session, and Bob reads it."""
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    me = pair_by_qr(admin, phone_sim, slug, alice)["me"]["id"]
    chat = bob + "@s.whatsapp.net"
    r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": {"text": "one"}})
    assert r.status_code == 200, r.text
    first = r.json()["data"]["key"]["id"]
    wait_for(lambda: [m for m in inbox(phone_sim, bob) if m["id"] == first], what="the first message")
    r = phone_sim.post("/admin/phones/%s/forget-session" % bob, {"jid": me})
    assert r.status_code == 200 and r.json()["forgotten"] is True, r.text
    r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": {"text": "two"}})
    assert r.status_code == 200, r.text
    second = r.json()["data"]["key"]["id"]
    got = wait_for(lambda: [m for m in inbox(phone_sim, bob) if m["id"] == second and m.get("text") == "two"],
                   what="the message read after the retry")
    assert len(got) == 1, got
    assert [r[0] for r in stored(stack_config, slug, chat)] == [first, second], "stored once each"


def test_a_contact_who_reinstalled_whatsapp_is_read_and_written_again(admin, make_session, phone_sim, stack_config,
                                                                      engine):
    """A reinstall gives the phone a new identity key: its next message is a
    pkmsg under a key the engine has not seen. The engine takes the new key
    (as WhatsApp clients do, "security code changed"), stores the message,
    and what it sends afterwards reaches the phone."""
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    chat = bob + "@s.whatsapp.net"
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "before"})
    assert r.status_code == 200, r.text
    wait_for(lambda: len(stored(stack_config, slug, chat)) == 1, what="the first message")
    r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": {"text": "to the old phone"}})
    assert r.status_code == 200, r.text

    r = phone_sim.post("/admin/phones/%s/reinstall" % bob)
    assert r.status_code == 200 and r.json()["reinstalled"] is True, r.text
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "after the reinstall"})
    assert r.status_code == 200, r.text
    after = r.json()["id"]
    rows = wait_for(lambda: [x for x in stored(stack_config, slug, chat) if x[0] == after],
                    what="the message under the new identity")
    assert rows[0][1] == "after the reinstall"
    with open(engine.log, encoding="utf-8", errors="replace") as f:
        assert "identity key of %s" % bob in f.read()
    # and the way back works over the session the new key made
    r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": {"text": "welcome back"}})
    assert r.status_code == 200, r.text
    mid = r.json()["data"]["key"]["id"]
    got = wait_for(lambda: [m for m in inbox(phone_sim, bob) if m["id"] == mid], what="Bob to read it")
    assert got[0]["text"] == "welcome back"


def test_a_message_to_a_contact_who_reinstalled_reaches_the_new_phone(admin, make_session, phone_sim, stack_config):
    """We write first after the reinstall: the phone cannot decrypt the copy
    made for its old identity and asks again with its new keys (a retry
    receipt); the engine takes the new identity and sends it again."""
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    carol = phone_sim.phone("Carol")
    pair_by_qr(admin, phone_sim, slug, alice)
    chat = carol + "@s.whatsapp.net"
    r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": {"text": "first"}})
    assert r.status_code == 200, r.text
    first = r.json()["data"]["key"]["id"]
    wait_for(lambda: [m for m in inbox(phone_sim, carol) if m["id"] == first], what="Carol to read the first")
    assert phone_sim.post("/admin/phones/%s/reinstall" % carol).status_code == 200
    r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": {"text": "after you reinstalled"}})
    assert r.status_code == 200, r.text
    mid = r.json()["data"]["key"]["id"]
    got = wait_for(lambda: [m for m in inbox(phone_sim, carol) if m["id"] == mid and m.get("text")],
                   timeout=30, what="Carol's new phone to read it")
    assert got[0]["text"] == "after you reinstalled"
