"""The receiving side beyond plain messages, through the real engine and
wa-sim: edits and revokes update the stored message once (a redelivered
edit changes nothing twice and publishes nothing twice), only the sender
(or a group admin, for a revoke) may change a message, an edit that comes
before its original waits for it; every notification is answered; a
message that keeps failing to decrypt is asked for again with our keys."""
import os
import time

from conftest import sql
from walib import connected, pair_by_qr, wait_for


def row(stack_config, slug, msg_id):
    """(content, edited, deleted) of a stored message, or None."""
    out = sql(stack_config, "SELECT IFNULL(m.content, '<null>'), m.edited, m.deleted FROM messages m "
              "JOIN wa_sessions s ON s.id = m.wa_session_id WHERE s.session_id = '%s' AND m.message_id = '%s'"
              % (slug, msg_id)).strip()
    return tuple(out.split("\t")) if out else None


def events(stack_config, slug, event, target=None):
    """Payloads (JSON text) of the session's `event` rows in the outbox,
    oldest first; of one target message when given."""
    out = sql(stack_config, "SELECT o.payload FROM events_outbox o JOIN wa_sessions s ON s.id = o.wa_session_id "
              "WHERE s.session_id = '%s' AND o.event = '%s' %s ORDER BY o.id"
              % (slug, event, "" if target is None else "AND JSON_VALUE(o.payload, '$.id') = '%s'" % target))
    import json
    return [json.loads(line) for line in out.splitlines() if line]


def update_state(stack_config, slug, update_id):
    return sql(stack_config, "SELECT u.state FROM message_updates u JOIN wa_sessions s ON s.id = u.wa_session_id "
               "WHERE s.session_id = '%s' AND u.update_id = '%s'" % (slug, update_id)).strip()


def send(phone_sim, number, body, path="send"):
    r = phone_sim.post("/admin/phones/%s/%s" % (number, path), body)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def outbox_status(phone_sim, number, msg_id):
    for m in phone_sim.get("/admin/phones/%s/outbox" % number).json()["messages"]:
        if m["id"] == msg_id:
            return m["status"]
    return None


def delivered(phone_sim, number, msg_id):
    wait_for(lambda: outbox_status(phone_sim, number, msg_id) in ("delivered", "read"),
             what="message %s answered" % msg_id)


def settled(phone_sim, number):
    """Every device of the account has answered what it was given (the
    history sync and key share after pairing included)."""
    return all(d["unanswered"] == 0 and d["queued"] == 0 for d in phone_sim.devices(number))


def paired(admin, make_session, phone_sim):
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    pair_by_qr(admin, phone_sim, slug, alice)
    wait_for(lambda: settled(phone_sim, alice), what="the pairing's peer messages answered")
    return slug, alice


def test_an_edit_from_the_sender_changes_the_message_once(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    chat = bob + "@s.whatsapp.net"
    first = send(phone_sim, bob, {"to": alice, "text": "helo"})
    wait_for(lambda: row(stack_config, slug, first), what="the original stored")

    # whatsmeow's / WhatsApp's shape: editedMessage{protocolMessage{MESSAGE_EDIT}}
    edit = send(phone_sim, bob, {"to": alice, "id": first, "text": "hello"}, "edit")
    wait_for(lambda: row(stack_config, slug, first) == ("hello", "1", "0"), what="the edit applied")
    delivered(phone_sim, bob, edit)
    ev = events(stack_config, slug, "message.edited", first)
    assert len(ev) == 1, ev
    e = ev[0]
    assert (e["id"], e["remoteJid"], e["fromMe"], e["sender"], e["content"], e["editId"]) == \
        (first, chat, False, chat, "hello", edit), e
    assert e["key"] == {"remoteJid": chat, "fromMe": False, "id": first}, e

    # the same stanza again (the sender sends it once more, as after a
    # retry receipt): answered, nothing changes, no second event
    r = phone_sim.post("/admin/phones/%s/resend" % bob, {"id": edit})
    assert r.status_code == 200 and r.json()["resent"] >= 1, r.text
    # a later message proves the resent stanza went through the engine first (one session, in order)
    later = send(phone_sim, bob, {"to": alice, "text": "after"})
    wait_for(lambda: row(stack_config, slug, later), what="the next message")
    assert len(events(stack_config, slug, "message.edited", first)) == 1
    assert row(stack_config, slug, first) == ("hello", "1", "0")

    # Baileys' shape: protocolMessage at the top level; a second real edit applies
    send(phone_sim, bob, {"to": alice, "id": first, "text": "hello!", "bare": True}, "edit")
    wait_for(lambda: row(stack_config, slug, first) == ("hello!", "1", "0"), what="the bare edit applied")
    assert [x["content"] for x in events(stack_config, slug, "message.edited", first)] == ["hello", "hello!"]
    # the chat history shows the new text
    hist = admin.get("/api/chat/%s/%s" % (slug, chat)).json()
    assert [m["content"] for m in hist if m["keyId"] == first] == ["hello!"], hist


def test_only_the_sender_may_edit_or_revoke(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    carol = phone_sim.phone("Carol")
    first = send(phone_sim, bob, {"to": alice, "text": "bob's words"})
    wait_for(lambda: row(stack_config, slug, first), what="the original stored")
    # Carol names Bob's message: answered, refused, nothing changes
    bad = send(phone_sim, carol, {"to": alice, "id": first, "text": "carol's words"}, "edit")
    bad2 = send(phone_sim, carol, {"to": alice, "id": first}, "revoke")
    delivered(phone_sim, carol, bad)
    delivered(phone_sim, carol, bad2)
    assert update_state(stack_config, slug, bad) == "2" and update_state(stack_config, slug, bad2) == "2"
    assert row(stack_config, slug, first) == ("bob's words", "0", "0")
    assert events(stack_config, slug, "message.edited") == [] and events(stack_config, slug, "message.deleted") == []


def test_a_revoke_deletes_the_message_once(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    chat = bob + "@s.whatsapp.net"
    first = send(phone_sim, bob, {"to": alice, "text": "oops"})
    wait_for(lambda: row(stack_config, slug, first), what="the original stored")
    rev = send(phone_sim, bob, {"to": alice, "id": first}, "revoke")
    wait_for(lambda: row(stack_config, slug, first) == ("<null>", "0", "1"), what="the revoke applied")
    delivered(phone_sim, bob, rev)
    ev = events(stack_config, slug, "message.deleted", first)
    assert len(ev) == 1, ev
    assert (ev[0]["remoteJid"], ev[0]["fromMe"], ev[0]["deleteId"], ev[0]["deletedBy"], ev[0]["byAdmin"]) == \
        (chat, False, rev, chat, False), ev
    # redelivered, then an edit of the deleted message: nothing changes
    assert phone_sim.post("/admin/phones/%s/resend" % bob, {"id": rev}).status_code == 200
    late = send(phone_sim, bob, {"to": alice, "id": first, "text": "back"}, "edit")
    delivered(phone_sim, bob, late)
    assert update_state(stack_config, slug, late) == "3"
    assert row(stack_config, slug, first) == ("<null>", "0", "1")
    assert len(events(stack_config, slug, "message.deleted", first)) == 1
    assert events(stack_config, slug, "message.edited", first) == []


def test_our_phone_edits_and_revokes_what_the_gateway_sent(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    chat = bob + "@s.whatsapp.net"
    r = admin.post("/api/messages/%s/%s/send" % (slug, chat), json={"message": {"text": "from the gateway"}})
    assert r.status_code == 200, r.text
    gid = r.json()["data"]["key"]["id"]
    wait_for(lambda: [m for m in phone_sim.get("/admin/phones/%s/inbox" % alice).json()["messages"]
                      if m["id"] == gid], what="our phone to have the copy")
    # the phone (same account) edits it: a deviceSentMessage to the gateway
    send(phone_sim, alice, {"to": bob, "id": gid, "text": "edited on the phone"}, "edit")
    wait_for(lambda: row(stack_config, slug, gid) == ("edited on the phone", "1", "0"), what="our edit applied")
    ev = events(stack_config, slug, "message.edited", gid)
    assert len(ev) == 1 and ev[0]["fromMe"] is True and "sender" not in ev[0], ev
    # and the phone's own message, typed there, then revoked there
    own = send(phone_sim, alice, {"to": bob, "text": "typed on the phone"})
    wait_for(lambda: row(stack_config, slug, own), what="the phone's message stored")
    send(phone_sim, alice, {"to": bob, "id": own}, "revoke")
    wait_for(lambda: row(stack_config, slug, own) == ("<null>", "0", "1"), what="our revoke applied")
    ev = events(stack_config, slug, "message.deleted", own)
    assert len(ev) == 1 and ev[0]["fromMe"] is True and ev[0]["byAdmin"] is False, ev


def test_a_group_admin_revokes_a_members_message(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    carol = phone_sim.phone("Carol")
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "team", "participants": [alice, carol]})
    assert r.status_code == 201, r.text
    group = r.json()["jid"]
    said = send(phone_sim, carol, {"to": group, "text": "carol in the group"})
    wait_for(lambda: row(stack_config, slug, said), what="Carol's group message stored")
    # Carol is no admin: the server refuses her revoke of Bob's message (edit="8")
    bobs = send(phone_sim, bob, {"to": group, "text": "bob in the group"})
    wait_for(lambda: row(stack_config, slug, bobs), what="Bob's group message stored")
    assert phone_sim.post("/admin/phones/%s/revoke" % carol, {"to": group, "id": bobs}).status_code == 403
    # Carol may not edit... Bob (not the sender) may not edit either, but as the admin he may revoke
    bad = send(phone_sim, bob, {"to": group, "id": said, "text": "bob's version"}, "edit")
    wait_for(lambda: update_state(stack_config, slug, bad) == "2", what="the edit refused")
    rev = send(phone_sim, bob, {"to": group, "id": said}, "revoke")
    wait_for(lambda: row(stack_config, slug, said) == ("<null>", "0", "1"), what="the admin's revoke applied")
    ev = events(stack_config, slug, "message.deleted", said)
    assert len(ev) == 1, ev
    assert (ev[0]["remoteJid"], ev[0]["sender"], ev[0]["deletedBy"], ev[0]["byAdmin"], ev[0]["deleteId"]) == \
        (group, carol + "@s.whatsapp.net", bob + "@s.whatsapp.net", True, rev), ev


def test_an_edit_that_comes_before_its_original_waits_for_it(admin, make_session, phone_sim, stack_config):
    slug, alice = paired(admin, make_session, phone_sim)
    bob = phone_sim.phone("Bob")
    # the original is lost on the way (the server acks Bob, the gateway never gets it)
    # (only Bob's: a peer message of the pairing still on its way must not use up a drop)
    assert phone_sim.post("/admin/faults", {"number": alice, "dropMessages": 2, "from": bob}).status_code == 200
    first = send(phone_sim, bob, {"to": alice, "text": "first try"})
    assert phone_sim.post("/admin/faults", {"number": alice, "dropMessages": 0}).status_code == 200
    edit = send(phone_sim, bob, {"to": alice, "id": first, "text": "second thought"}, "edit")
    wait_for(lambda: update_state(stack_config, slug, edit) == "0", what="the edit kept")
    delivered(phone_sim, bob, edit)
    assert row(stack_config, slug, first) is None
    # the original comes again (the sender re-sends it): stored with the edit applied
    assert phone_sim.post("/admin/phones/%s/resend" % bob, {"id": first}).json()["resent"] >= 1
    wait_for(lambda: row(stack_config, slug, first) == ("second thought", "1", "0"), what="original + edit")
    assert update_state(stack_config, slug, edit) == "1"
    assert len(events(stack_config, slug, "message.received", first)) == 1
    assert [e["content"] for e in events(stack_config, slug, "message.edited", first)] == ["second thought"]


def device_of(phone_sim, number, slug_me):
    dev = int(slug_me.split(":")[1].split("@")[0])
    return [d for d in phone_sim.devices(number) if d["id"] == dev][0]


def test_every_notification_is_answered(admin, make_session, phone_sim, stack_config):
    """Notifications of every kind wa-sim sends reach a stopped session
    through the offline queue (group changes, a new device of our own
    account, app-state and account changes of the phone); once it is
    started again it answers every one: nothing stays for the server to
    give again at the next login."""
    slug, alice = paired(admin, make_session, phone_sim)
    me = wait_for(lambda: connected(admin, slug), what="connected")["me"]["id"]
    bob = phone_sim.phone("Bob")
    carol = phone_sim.phone("Carol")
    r = admin.post("/api/sessions/%s/stop" % slug)
    assert r.status_code == 200, r.text
    wait_for(lambda: not device_of(phone_sim, alice, me)["online"], what="the session offline")

    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "team", "participants": [alice]})
    assert r.status_code == 201, r.text
    group = r.json()["jid"]
    for body in ({"phone": bob, "action": "subject", "subject": "team 2"},
                 {"phone": bob, "action": "add", "participants": [carol]},
                 {"phone": bob, "action": "promote", "participants": [alice]}):
        r = phone_sim.post("/admin/groups/%s" % group, body)
        assert r.status_code == 200, r.text
    assert phone_sim.post("/admin/phones/%s/appstate" % alice,
                          {"action": "archive", "jid": bob + "@s.whatsapp.net"}).status_code == 200
    assert phone_sim.post("/admin/phones/%s/block" % alice, {"jid": carol}).status_code == 200
    # a second session on the same phone: our device list changes
    other = make_session(admin)["sessionId"]
    pair_by_qr(admin, phone_sim, other, alice)
    queued = device_of(phone_sim, alice, me)["queued"]
    assert queued >= 7, "the stopped session's queue: %d" % queued

    r = admin.post("/api/sessions/%s/start" % slug)
    assert r.status_code == 200, r.text
    wait_for(lambda: connected(admin, slug), what="connected again")
    wait_for(lambda: (lambda d: d["online"] and d["queued"] == 0 and d["unanswered"] == 0)(
        device_of(phone_sim, alice, me)), what="every notification answered")
    # and the connection the sim lists for the device agrees
    conns = phone_sim.connections(me.split("@")[0] + "@")
    assert conns and all(c["unanswered"] == 0 for c in conns), conns


def test_the_second_retry_receipt_carries_our_keys(admin, make_session, phone_sim, stack_config):
    """Our session with the sender and our one-time pre-keys are lost: the
    first retry receipt (no keys) makes the phone build a session from a
    pre-key the server hands out, which we no longer have, so that copy
    fails too; the second retry receipt carries our identity, a fresh
    pre-key made for it, the signed pre-key and our device identity, and
    the copy built from those is stored, once."""
    sess = make_session(admin)
    slug = sess["sessionId"]
    alice = phone_sim.phone("Alice")
    pair_by_qr(admin, phone_sim, slug, alice)
    wait_for(lambda: settled(phone_sim, alice), what="the pairing's peer messages answered")
    bob = phone_sim.phone("Bob")
    first = send(phone_sim, bob, {"to": alice, "text": "first"})
    wait_for(lambda: row(stack_config, slug, first), what="the first message")
    counters = "SELECT next_prekey_id, prekeys_uploaded FROM wa_device_creds WHERE wa_session_id = %s" % sess["id"]

    def uploaded():
        # the pairing's pre-key upload is over (it moves both counters):
        # the same answer twice, a moment apart, with keys uploaded
        a = sql(stack_config, counters).split()
        time.sleep(0.3)
        b = sql(stack_config, counters).split()
        return a if a == b and len(a) == 2 and a[1] not in ("0", "NULL") else None
    before = wait_for(uploaded, what="the pairing's pre-keys uploaded")
    sql(stack_config, "DELETE FROM signal_session WHERE session_key = '%s'" % sess["id"])
    sql(stack_config, "DELETE FROM signal_prekey WHERE session_key = '%s'" % sess["id"])
    second = send(phone_sim, bob, {"to": alice, "text": "second"})
    wait_for(lambda: row(stack_config, slug, second) == ("second", "0", "0"), what="the second message after two retries")
    delivered(phone_sim, bob, second)
    assert len(events(stack_config, slug, "message.received", second)) == 1
    # one pre-key was made for the receipt: the counter moved by one, no upload
    after = sql(stack_config, counters).split()
    assert (int(after[0]), after[1]) == (int(before[0]) + 1, before[1]), (before, after)


def test_a_history_blob_that_is_gone_is_given_up_after_a_few_tries(admin, make_session, phone_sim, stack_config,
                                                                   engine):
    """The phone's history sync names blobs the media host answers 404 for:
    each delivery is left unanswered (the server offers it again at the
    next login) with a warning, and the third is acked and dropped, so it
    does not come back forever."""
    slug, alice = paired(admin, make_session, phone_sim)
    me = wait_for(lambda: connected(admin, slug), what="connected")["me"]["id"]
    dev = int(me.split(":")[1].split("@")[0])
    start = os.path.getsize(engine.log)

    def lines(what):
        with open(engine.log, "rb") as f:
            f.seek(start)
            return [x for x in f.read().decode("utf-8", "replace").splitlines()
                    if "session %s: history sync" % slug in x and what in x]

    r = phone_sim.post("/admin/phones/%s/history-sync" % alice, {"device": dev, "missingBlob": True})
    assert r.status_code == 200, r.text
    for k in (1, 2):
        # both chunks (bootstrap and push names) failed this time, and stay with the server
        wait_for(lambda: len(lines("(try %d of 3)" % k)) == 2, what="try %d of both chunks" % k)
        assert device_of(phone_sim, alice, me)["unanswered"] == 2
        assert phone_sim.post("/admin/connections/drop", {"jid": me}).status_code == 200
    wait_for(lambda: len(lines("after 3 tries: acked and dropped")) == 2, timeout=30, what="both given up")
    wait_for(lambda: settled(phone_sim, alice), what="nothing left unanswered")
    assert lines("(try 3 of 3)") == []
