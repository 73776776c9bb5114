"""Chats addressed by LID (WhatsApp's hidden user id, "<digits>@lid"),
through the real engine and wa-sim.

A user's LID and phone number name the same devices, and each device keeps
one Signal session with us: the engine names it by the number whenever it
knows it (engine/store/lidmap.h). wa-sim delivers a LID-addressed message as
WhatsApp does (from the sender's LID device, addressing_mode="lid",
sender_pn), and answers a usync query by LID with the number (pn_jid)."""
from conftest import sql
from test_engine_messages import events, inbox, message_status, stored
from walib import pair_by_qr, wait_for


def lid_of(phone_sim, number):
    r = phone_sim.get("/admin/phones/%s" % number)
    assert r.status_code == 200, r.text
    lid = r.json()["lid"]
    return lid if lid.endswith("@lid") else lid + "@lid"


def got(phone_sim, number, msg_id, what):
    return wait_for(lambda: [m for m in inbox(phone_sim, number) if m["id"] == msg_id], what=what)[0]


def send(admin, slug, jid, text):
    r = admin.post("/api/messages/%s/%s/send" % (slug, jid), json={"message": {"text": text}})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["status"] is True and b["data"]["key"]["remoteJid"] == jid, b
    return b["data"]["key"]["id"]


def retries(phone_sim, number, msg_id):
    """How often the gateway asked the phone for its message again: 0 when
    it decrypted it at once (one session per device), more when it could
    not (a second session under the other name)."""
    r = phone_sim.get("/admin/phones/%s/outbox" % number)
    assert r.status_code == 200, r.text
    return [m for m in r.json()["messages"] if m["id"] == msg_id][0]["retries"]


def lid_map(stack_config, slug):
    out = sql(stack_config, "SELECT l.lid, l.pn FROM lid_map l JOIN wa_sessions s ON s.id = l.wa_session_id "
              "WHERE s.session_id = '%s' ORDER BY l.lid" % slug)
    return [line.split("\t") for line in out.splitlines() if line]


def test_a_chat_by_lid_continues_the_chat_by_number(admin, make_session, phone_sim, stack_config):
    """A text to the LID of someone we already wrote to by number goes over
    the same sessions (the phone decrypts it), is stored under the LID chat
    and follows the receipts; the phone's answer to our LID comes back from
    its LID, is decrypted with the same session and stored under that chat."""
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    bob_lid, alice_lid = lid_of(phone_sim, bob), lid_of(phone_sim, alice)

    first = send(admin, slug, bob + "@s.whatsapp.net", "by number")
    got(phone_sim, bob, first, "Bob's phone to get the text by number")
    mid = send(admin, slug, bob_lid, "by LID")
    m = got(phone_sim, bob, mid, "Bob's phone to get the text by LID")
    assert m["text"] == "by LID" and m["fromMe"] is False, m
    # our own phone gets its copy, for the LID chat
    mine = wait_for(lambda: [x for x in inbox(phone_sim, alice) if x["id"] == mid], what="Alice's copy")[0]
    assert mine["fromMe"] is True and mine["chat"].startswith(bob_lid.split("@")[0]), mine
    assert stored(stack_config, slug, bob_lid) == [[mid, "by LID", "", "1", "TEXT"]]
    wait_for(lambda: message_status(stack_config, slug, mid) == "DELIVERED", what="DELIVERED by Bob's receipt")
    assert lid_map(stack_config, slug) == [[bob_lid.split("@")[0], bob]]

    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice_lid, "text": "answer to your LID"})
    assert r.status_code == 200, r.text
    answer = r.json()["id"]
    rows = wait_for(lambda: [x for x in stored(stack_config, slug, bob_lid) if x[0] == answer],
                    what="Bob's answer stored under his LID chat")
    assert rows == [[answer, "answer to your LID", "Bob", "0", "TEXT"]], rows
    assert events(stack_config, slug, "message.received", msg_id=answer) == [answer]
    assert events(stack_config, slug, "message.received", "$.senderPn", answer) == [bob + "@s.whatsapp.net"]
    assert retries(phone_sim, bob, answer) == 0
    # the contact list shows what the session learnt of the LID
    contacts = {c["jid"]: c for c in admin.get("/api/contacts/%s" % slug).json()}
    assert contacts[bob_lid]["phoneNumber"] == bob + "@s.whatsapp.net", contacts
    # and by number the chat goes on over the same session, both ways
    again = send(admin, slug, bob + "@s.whatsapp.net", "by number again")
    got(phone_sim, bob, again, "the text by number after the LID chat")
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "and by number"})
    assert r.status_code == 200, r.text
    wait_for(lambda: [x for x in stored(stack_config, slug, bob + "@s.whatsapp.net") if x[1] == "and by number"],
             what="Bob's text by number")
    assert retries(phone_sim, bob, r.json()["id"]) == 0
    contacts = {c["jid"]: c for c in admin.get("/api/contacts/%s" % slug).json()}
    assert contacts[bob + "@s.whatsapp.net"]["lid"] == bob_lid, contacts
    assert contacts[bob + "@s.whatsapp.net"]["phoneNumber"] is None, contacts


def test_a_first_contact_by_lid_builds_the_one_session(admin, make_session, phone_sim, stack_config):
    """Nothing was ever sent by number: the first text to the LID builds the
    session from fetched keys, and Bob's later text by number decrypts with
    it (two sessions for one device would fail here)."""
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    bob_lid = lid_of(phone_sim, bob)

    mid = send(admin, slug, bob_lid, "first, by LID")
    assert got(phone_sim, bob, mid, "Bob's phone to get it")["text"] == "first, by LID"
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "answer by number"})
    assert r.status_code == 200, r.text
    answer = r.json()["id"]
    wait_for(lambda: [x for x in stored(stack_config, slug, bob + "@s.whatsapp.net") if x[0] == answer],
             what="Bob's answer by number stored")
    assert events(stack_config, slug, "message.received", msg_id=answer) == [answer]
    assert retries(phone_sim, bob, answer) == 0


def test_gateway_to_gateway_by_lid(admin, make_session, phone_sim, stack_config):
    """One gateway session writes to another's LID (its `me.lid`); the other
    stores it under the first's LID chat and answers it there."""
    a, b = make_session(admin)["sessionId"], make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, a, alice)
    pair_by_qr(admin, phone_sim, b, bob)
    b_lid = admin.get("/api/sessions/%s" % b).json()["me"]["lid"]
    a_lid = admin.get("/api/sessions/%s" % a).json()["me"]["lid"]
    b_lid, a_lid = b_lid.split(":")[0].split("@")[0] + "@lid", a_lid.split(":")[0].split("@")[0] + "@lid"

    mid = send(admin, a, b_lid, "gateway to gateway by LID")
    wait_for(lambda: [x for x in stored(stack_config, b, a_lid) if x[0] == mid], what="B to store it")
    back = send(admin, b, a_lid, "and back")
    wait_for(lambda: [x for x in stored(stack_config, a, b_lid) if x[0] == back], what="A to store the answer")
    wait_for(lambda: message_status(stack_config, a, mid) in ("DELIVERED", "READ"), what="A's message delivered")


def test_a_lid_nobody_has_is_not_found(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    pair_by_qr(admin, phone_sim, slug, phone_sim.phone("Alice"))
    r = admin.post("/api/messages/%s/999999999999999@lid/send" % slug, json={"message": {"text": "x"}})
    assert r.status_code == 404, r.text
    assert r.json()["status"] is False
    assert stored(stack_config, slug, "999999999999999@lid") == []
