"""Sending beyond plain text, through the real engine: mentions, quoted
replies (both reply routes), one gateway session writing to another, and
group sends that do not ask the server for the group and its devices every
time (the session's caches), yet follow a change of the group."""
import json

from conftest import sql
from test_engine_messages import events, inbox, message_status, stored
from walib import pair_by_qr, wait_for


def row(stack_config, slug, msg_id, cols="m.quoted_id, IFNULL(m.mentions, '')"):
    out = sql(stack_config, "SELECT %s FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
              "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (cols, slug, msg_id)).strip()
    return out.split("\t") if out else None


def got(phone_sim, number, msg_id, what):
    return wait_for(lambda: [m for m in inbox(phone_sim, number) if m["id"] == msg_id], what=what)[0]


def device_iqs(phone_sim, number, device):
    for d in phone_sim.devices(number):
        if d["id"] == device:
            return d["iqs"]
    raise AssertionError("no device %d of %s" % (device, number))


def test_mentions_and_replies_reach_the_phone_as_whatsapp_shows_them(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    carol = phone_sim.phone("Carol")
    pair_by_qr(admin, phone_sim, slug, alice)
    chat = bob + "@s.whatsapp.net"
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "are you there?"})
    assert r.status_code == 200, r.text
    asked = r.json()["id"]
    wait_for(lambda: stored(stack_config, slug, chat), what="Bob's message in the database")

    # the reference's path form, with mentions beside the message
    r = admin.post("/api/messages/%s/%s/%s/reply" % (slug, chat, asked),
                   json={"message": {"text": "yes, and @Carol too"}, "mentions": [carol + "@s.whatsapp.net"]})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["success"] is True and b["status"] is True, b
    ext = b["data"]["message"]["extendedTextMessage"]
    assert ext["text"] == "yes, and @Carol too", b
    assert ext["contextInfo"]["stanzaId"] == asked and ext["contextInfo"]["participant"] == chat, b
    assert ext["contextInfo"]["mentionedJid"] == [carol + "@s.whatsapp.net"], b
    reply = b["data"]["key"]["id"]
    m = got(phone_sim, bob, reply, "Bob's phone to get the reply")
    assert m["quotedId"] == asked and m["quotedParticipant"] == chat and m["quotedText"] == "are you there?", m
    assert m["mentions"] == [carol + "@s.whatsapp.net"], m
    assert row(stack_config, slug, reply) == [asked, json.dumps([carol + "@s.whatsapp.net"], separators=(",", ":"))]
    sent = events(stack_config, slug, "message.sent", "$.quotedId", reply)
    assert sent == [asked], sent

    # the body form, quoting our own message: the participant is us
    r = admin.post("/api/messages/%s/%s/reply" % (slug, chat),
                   json={"messageId": reply, "message": {"text": "as I said"}})
    assert r.status_code == 200, r.text
    again = r.json()["data"]["key"]["id"]
    m = got(phone_sim, bob, again, "Bob's phone to get the second reply")
    assert m["quotedId"] == reply and m["quotedParticipant"] == alice + "@s.whatsapp.net", m
    assert m["quotedText"] == "yes, and @Carol too" and "mentions" not in m, m

    # mentions in the message object (Baileys' shape) on /send; the message as a bare string
    r = admin.post("/api/messages/%s/%s/send" % (slug, chat),
                   json={"message": {"text": "hi @Bob", "mentions": [bob + "@s.whatsapp.net"]}})
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the mention")
    assert m["mentions"] == [chat] and "quotedId" not in m, m
    r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": "plain string"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["message"] == {"conversation": "plain string"}, r.text
    got(phone_sim, bob, r.json()["data"]["key"]["id"], "the string message")


def test_bad_replies_and_mentions_are_refused_and_change_nothing(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    chat = bob + "@s.whatsapp.net"
    before = len(inbox(phone_sim, bob))

    r = admin.post("/api/messages/%s/%s/3EB0000000000000DEAD/reply" % (slug, chat),
                   json={"message": {"text": "to nothing"}})
    assert r.status_code == 404 and r.json()["status"] is False, r.text
    assert "reply" in r.json()["message"], r.text
    for body in ({"message": {"text": "x"}, "mentions": ["not a jid"]},
                 {"message": {"text": "x"}, "mentions": ["120363000000000001@g.us"]},
                 {"message": {"text": "x", "mentions": "x"}},
                 {"message": {"text": ""}},
                 {"message": {}}):
        r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json=body)
        assert r.status_code == 400 and r.json()["status"] is False, (body, r.text)
    assert stored(stack_config, slug, chat) == []
    assert len(inbox(phone_sim, bob)) == before


def test_one_gateway_session_writes_to_another(admin, make_session, phone_sim, stack_config):
    a = make_session(admin)["sessionId"]
    b = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, a, alice)
    pair_by_qr(admin, phone_sim, b, bob)
    to_b, to_a = bob + "@s.whatsapp.net", alice + "@s.whatsapp.net"

    r = admin.post("/api/messages/%s/%s/send" % (a, to_b), json={"message": {"text": "hello other gateway"}})
    assert r.status_code == 200, r.text
    first = r.json()["data"]["key"]["id"]
    rows = wait_for(lambda: stored(stack_config, b, to_a), what="session b to store it")
    assert rows == [[first, "hello other gateway", "Alice", "0", "TEXT"]], rows
    assert events(stack_config, b, "message.received", msg_id=first) == [first]
    # b's engine answered only after storing: a sees it delivered
    wait_for(lambda: message_status(stack_config, a, first) == "DELIVERED", what="DELIVERED at session a")
    # Bob's phone also has it (the companion's peer phone is a device of the account)
    got(phone_sim, bob, first, "Bob's phone to get the message")

    # b answers quoting it; a stores the quote
    r = admin.post("/api/messages/%s/%s/%s/reply" % (b, to_a, first), json={"message": {"text": "got it"}})
    assert r.status_code == 200, r.text
    back = r.json()["data"]["key"]["id"]
    wait_for(lambda: len(stored(stack_config, a, to_b)) == 2, what="session a to store the reply")
    assert row(stack_config, a, back, "m.content, m.quoted_id, m.from_me") == ["got it", first, "0"]
    assert events(stack_config, a, "message.received", "$.quotedId", back) == [first]


def test_group_sends_use_the_cached_group_and_follow_its_changes(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    carol = phone_sim.phone("Carol")
    dave = phone_sim.phone("Dave")
    pair_by_qr(admin, phone_sim, slug, alice)
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Team", "participants": [alice, carol]})
    assert r.status_code == 201, r.text
    group = r.json()["jid"]
    companion = [d for d in phone_sim.devices(alice) if d["id"] != 0][-1]["id"]
    start = device_iqs(phone_sim, alice, companion)

    ids = []
    for n in range(4):
        r = admin.post("/api/messages/%s/%s/send" % (slug, group), json={"message": {"text": "team %d" % n}})
        assert r.status_code == 200, r.text
        ids.append(r.json()["data"]["key"]["id"])
    for who in (bob, carol):
        for n, mid in enumerate(ids):
            assert got(phone_sim, who, mid, "%s to get message %d" % (who, n))["text"] == "team %d" % n
    now = device_iqs(phone_sim, alice, companion)
    # one group query and one device query for four messages
    assert now["groups"] - start["groups"] == 1, (start, now)
    assert now["usync"] - start["usync"] == 1, (start, now)

    # Dave joins: the group the engine knows is old; the server's participant
    # hash (or the group notification) makes it ask again, and Dave gets the messages after
    r = phone_sim.post("/admin/groups/%s" % group, {"phone": bob, "action": "add", "participants": [dave]})
    assert r.status_code == 200, r.text
    later = []
    for n in range(2):
        r = admin.post("/api/messages/%s/%s/send" % (slug, group), json={"message": {"text": "with Dave %d" % n}})
        assert r.status_code == 200, r.text
        later.append(r.json()["data"]["key"]["id"])
    assert got(phone_sim, dave, later[1], "Dave to get the second message")["text"] == "with Dave 1"
    for who in (bob, carol):
        for mid in later:
            got(phone_sim, who, mid, "%s to get the messages after the change" % who)
    after = device_iqs(phone_sim, alice, companion)
    assert after["groups"] > now["groups"], (now, after)
    assert [r[1] for r in stored(stack_config, slug, group)] == \
        ["team 0", "team 1", "team 2", "team 3", "with Dave 0", "with Dave 1"]
