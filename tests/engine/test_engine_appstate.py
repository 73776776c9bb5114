"""Chat state through app-state sync (docs/protocol.md §11, docs/engine.md
"Chat state through app state") between the real engine and wa-sim, both
ways: archive, pin, mute and star made through the API are real app-state
mutations the phone verifies and shows (GET /admin/phones/{n}/appstate: the
phone's own decrypted, MAC-checked view), and what the phone changes shows
in the API. A local state that no longer verifies is dropped and fetched
again from a snapshot; a restarted engine goes on from the stored version."""
import json
import time

from conftest import assert_error_shape, sql
from test_engine_chat import paired, phone_sends
from test_engine_groups import pn
from test_engine_messages import stored
from walib import connected, wait_for


def phone_view(phone_sim, number):
    r = phone_sim.get("/admin/phones/%s/appstate" % number)
    assert r.status_code == 200, r.text
    return r.json()


def phone_entry(phone_sim, number, collection, index):
    """The phone's verified value of one index, or None."""
    coll = phone_view(phone_sim, number)[collection]
    assert coll["verified"], coll
    for e in coll["entries"]:
        if e["index"] == index:
            return e["value"]
    return None


def phone_writes(phone_sim, number, body):
    r = phone_sim.post("/admin/phones/%s/appstate" % number, body)
    assert r.status_code == 200, r.text


def chat_row(admin, slug, jid):
    r = admin.get("/api/chat/%s" % slug)
    assert r.status_code == 200, r.text
    rows = [c for c in r.json() if c["jid"] == jid]
    return rows[0] if rows else None


def stored_versions(stack_config, slug):
    out = sql(stack_config, "SELECT v.collection, v.version FROM wa_app_state_versions v JOIN wa_sessions s ON "
              "s.id = v.wa_session_id WHERE s.session_id = '%s'" % slug)
    return {line.split("\t")[0]: int(line.split("\t")[1]) for line in out.splitlines() if line}


def chat_events(stack_config, slug, jid):
    out = sql(stack_config, "SELECT o.payload FROM events_outbox o JOIN wa_sessions s ON s.id = o.wa_session_id "
              "WHERE s.session_id = '%s' AND o.event = 'chat.update' AND JSON_VALUE(o.payload, '$.jid') = '%s' "
              "ORDER BY o.id" % (slug, jid))
    return [json.loads(line) for line in out.splitlines() if line]


def keys_shared(stack_config, slug):
    wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM wa_app_state_keys k JOIN wa_sessions s ON "
                         "s.id = k.wa_session_id WHERE s.session_id = '%s'" % slug).strip() not in ("", "0"),
             what="the phone's app-state key share")


def ready_chat(admin, make_session, phone_sim, stack_config):
    slug, (alice, bob) = paired(admin, make_session, phone_sim)
    chat = pn(bob)
    phone_sends(phone_sim, bob, alice, ["hello"])
    wait_for(lambda: len(stored(stack_config, slug, chat)) == 1, what="the message stored")
    keys_shared(stack_config, slug)
    return slug, alice, bob, chat


def test_archive_pin_and_mute_through_the_api_reach_the_phone(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)

    r = admin.put("/api/chat/%s/%s/archive" % (slug, chat), json={"archive": True})
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "message": "Chat archived"}
    # answered once stored: the API reads it at once, the phone verified it
    assert chat_row(admin, slug, chat)["archived"] is True
    assert phone_entry(phone_sim, alice, "regular_low", ["archive", chat])["archived"] is True

    r = admin.put("/api/chat/%s/%s/pin" % (slug, chat), json={"pin": True})
    assert r.status_code == 200 and r.json()["message"] == "Chat pinned", r.text
    assert chat_row(admin, slug, chat)["pinned"] is True
    assert phone_entry(phone_sim, alice, "regular_low", ["pin_v1", chat])["pinned"] is True

    before = int(time.time())
    r = admin.put("/api/chat/%s/%s/mute" % (slug, chat), json={"mute": True, "duration": 3600})
    assert r.status_code == 200 and r.json()["message"] == "Chat muted", r.text
    v = phone_entry(phone_sim, alice, "regular_high", ["mute", chat])
    assert v["muted"] is True and before + 3600 <= v["muteEndTimestamp"] // 1000 <= int(time.time()) + 3600, v
    assert chat_row(admin, slug, chat)["mutedUntil"], chat_row(admin, slug, chat)

    # and back
    r = admin.put("/api/chat/%s/%s/archive" % (slug, chat), json={"archive": False})
    assert r.status_code == 200 and r.json()["message"] == "Chat unarchived", r.text
    assert chat_row(admin, slug, chat)["archived"] is False
    assert phone_entry(phone_sim, alice, "regular_low", ["archive", chat])["archived"] is False
    r = admin.put("/api/chat/%s/%s/mute" % (slug, chat), json={"mute": False})
    assert r.status_code == 200 and r.json()["message"] == "Chat unmuted", r.text
    assert chat_row(admin, slug, chat)["mutedUntil"] is None
    assert phone_entry(phone_sim, alice, "regular_high", ["mute", chat])["muted"] is False

    # every change published as chat.update, in order
    evs = [{k: e[k] for k in e if k in ("archived", "pinned", "muted")} for e in chat_events(stack_config, slug, chat)]
    assert {"archived": True} in evs and {"pinned": True} in evs and {"archived": False} in evs, evs
    assert evs.index({"archived": True}) < evs.index({"archived": False}), evs


def test_the_n8n_forms_post_archive_and_mute_without_a_body(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    r = admin.post("/api/chat/%s/%s/archive" % (slug, chat), json={"archive": True})
    assert r.status_code == 200, r.text
    assert phone_entry(phone_sim, alice, "regular_low", ["archive", chat])["archived"] is True
    before = int(time.time())
    r = admin.put("/api/chat/%s/%s/mute" % (slug, chat))
    assert r.status_code == 200 and r.json()["message"] == "Chat muted", r.text
    v = phone_entry(phone_sim, alice, "regular_high", ["mute", chat])
    # the reference's default: eight hours
    assert v["muted"] is True and before + 8 * 3600 <= v["muteEndTimestamp"] // 1000 <= time.time() + 8 * 3600, v


def test_bad_input_changes_nothing(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    before = phone_view(phone_sim, alice)
    for path, body in (("archive", {"archive": "yes"}), ("pin", {}), ("mute", {"mute": True, "duration": -5}),
                       ("mute", {"mute": True, "duration": "long"})):
        r = admin.put("/api/chat/%s/%s/%s" % (slug, chat, path), json=body)
        assert_error_shape(r, 400)
    r = admin.post("/api/messages/%s/%s/no-such-message/star" % (slug, chat), json={"star": True})
    assert_error_shape(r, 404)
    assert phone_view(phone_sim, alice) == before


def test_what_the_phone_changes_shows_in_the_api(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    phone_writes(phone_sim, alice, {"action": "archive", "jid": chat, "value": True})
    wait_for(lambda: chat_row(admin, slug, chat)["archived"] is True, what="the chat archived in the API")
    phone_writes(phone_sim, alice, {"action": "pin", "jid": chat, "value": True})
    wait_for(lambda: chat_row(admin, slug, chat)["pinned"] is True, what="the chat pinned in the API")
    phone_writes(phone_sim, alice, {"action": "mute", "jid": chat, "value": True})
    # muted for ever: the latest time there is
    wait_for(lambda: (chat_row(admin, slug, chat)["mutedUntil"] or "").startswith("9999-12-31"),
             what="the chat muted in the API")
    phone_writes(phone_sim, alice, {"action": "markRead", "jid": chat, "value": False})
    wait_for(lambda: chat_row(admin, slug, chat)["unreadCount"] >= 1, what="the chat marked unread")
    phone_writes(phone_sim, alice, {"action": "archive", "jid": chat, "value": False})
    wait_for(lambda: chat_row(admin, slug, chat)["archived"] is False, what="the chat unarchived in the API")
    evs = chat_events(stack_config, slug, chat)
    assert [e.get("archived") for e in evs if "archived" in e] == [True, False], evs
    assert all(e["source"] == "app_state" and e["sessionId"] == slug for e in evs), evs
    # the engine holds what the server holds
    server = phone_view(phone_sim, alice)
    wait_for(lambda: stored_versions(stack_config, slug).get("regular_low") == server["regular_low"]["version"],
             what="the stored version to match the server's")


def test_stars_both_ways(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    mid = stored(stack_config, slug, chat)[0][0]
    r = admin.post("/api/messages/%s/%s/%s/star" % (slug, chat, mid), json={"star": True})
    assert r.status_code == 200 and r.json()["message"] == "Message starred", r.text
    # WhatsApp Web's index: chat, id, fromMe, sender ("0" in a 1:1 chat)
    assert phone_entry(phone_sim, alice, "regular_high", ["star", chat, mid, "0", "0"])["starred"] is True
    hist = admin.get("/api/chat/%s/%s" % (slug, chat)).json()
    assert [m["starred"] for m in hist if m["keyId"] == mid] == [True], hist

    # a star the phone sets on another message
    mid2 = phone_sends(phone_sim, bob, alice, ["second"])[0]
    wait_for(lambda: len(stored(stack_config, slug, chat)) == 2, what="the second message stored")
    phone_writes(phone_sim, alice, {"action": "star", "jid": chat, "messageId": mid2, "value": True})
    wait_for(lambda: [m["starred"] for m in admin.get("/api/chat/%s/%s" % (slug, chat)).json()
                      if m["keyId"] == mid2] == [True], what="the phone's star in the API")
    phone_writes(phone_sim, alice, {"action": "star", "jid": chat, "messageId": mid, "value": False})
    wait_for(lambda: [m["starred"] for m in admin.get("/api/chat/%s/%s" % (slug, chat)).json()
                      if m["keyId"] == mid] == [False], what="the phone's unstar in the API")


def test_a_state_that_does_not_verify_is_fetched_again(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    r = admin.put("/api/chat/%s/%s/pin" % (slug, chat), json={"pin": True})
    assert r.status_code == 200, r.text
    # our copy of regular_low diverges (a wrong LT-hash)
    sql(stack_config, "UPDATE wa_app_state_versions v JOIN wa_sessions s ON s.id = v.wa_session_id SET "
        "v.hash = REPEAT(X'01', 128) WHERE s.session_id = '%s' AND v.collection = 'regular_low'" % slug)
    # the next patch from the phone does not verify on top of it: the engine
    # drops the collection, fetches a snapshot, and ends up right
    phone_writes(phone_sim, alice, {"action": "archive", "jid": chat, "value": True})
    wait_for(lambda: chat_row(admin, slug, chat)["archived"] is True, what="the archive applied after the resync")
    assert chat_row(admin, slug, chat)["pinned"] is True
    # the rebuilt state verifies: a further change through the API is taken by the phone
    r = admin.put("/api/chat/%s/%s/pin" % (slug, chat), json={"pin": False})
    assert r.status_code == 200, r.text
    assert phone_view(phone_sim, alice)["regular_low"]["verified"] is True
    assert phone_entry(phone_sim, alice, "regular_low", ["pin_v1", chat])["pinned"] is False
    assert chat_row(admin, slug, chat)["pinned"] is False


def test_a_restarted_engine_goes_on_from_the_stored_state(admin, make_session, phone_sim, stack_config, engine):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    r = admin.put("/api/chat/%s/%s/archive" % (slug, chat), json={"archive": True})
    assert r.status_code == 200, r.text
    v1 = stored_versions(stack_config, slug)["regular_low"]
    engine.restart()
    wait_for(lambda: connected(admin, slug), timeout=60, what="the session back")
    # the phone changes something while we were away and after
    phone_writes(phone_sim, alice, {"action": "archive", "jid": chat, "value": False})
    wait_for(lambda: chat_row(admin, slug, chat)["archived"] is False, what="the unarchive applied")
    assert stored_versions(stack_config, slug)["regular_low"] == v1 + 1
    r = admin.put("/api/chat/%s/%s/pin" % (slug, chat), json={"pin": True})
    assert r.status_code == 200, r.text
    assert phone_entry(phone_sim, alice, "regular_low", ["pin_v1", chat])["pinned"] is True


def test_reading_a_chat_and_a_new_push_name_reach_the_phones_app_state(admin, make_session, phone_sim,
                                                                      stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    r = admin.put("/api/chat/%s/%s/read" % (slug, chat), json={})
    assert r.status_code == 200, r.text
    # the phone's chat list learns the chat is read (markChatAsRead)
    wait_for(lambda: (phone_entry(phone_sim, alice, "regular_low", ["markChatAsRead", chat]) or {}).get("read")
             is True, what="markChatAsRead on the phone")
    r = admin.put("/api/profile/%s/name" % slug, json={"name": "Sales desk"})
    assert r.status_code == 200, r.text
    wait_for(lambda: (phone_entry(phone_sim, alice, "critical_block", ["setting_pushName"]) or {}).get("pushName")
             == "Sales desk", what="setting_pushName on the phone")


def labels(admin, slug):
    r = admin.get("/api/labels/%s" % slug)
    assert r.status_code == 200, r.text
    return {l["id"]: l for l in r.json()["labels"]}


def chat_label_ids(admin, slug, chat):
    r = admin.get("/api/labels/%s/chat/%s/labels" % (slug, chat))
    assert r.status_code == 200, r.text
    return sorted(l["id"] for l in r.json()["labels"])


def label_queue(stack_config, slug):
    return int(sql(stack_config, "SELECT COUNT(*) FROM label_sync_queue q JOIN wa_sessions s ON "
                   "s.id = q.wa_session_id WHERE s.session_id = '%s'" % slug).strip())


def test_labels_made_in_the_api_reach_the_phone(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    r = admin.post("/api/labels/%s" % slug, json={"name": "Customers", "color": 3})
    assert r.status_code == 200, r.text
    lid = r.json()["label"]["id"]
    wait_for(lambda: (phone_entry(phone_sim, alice, "regular", ["label_edit", lid]) or {}).get("labelName")
             == "Customers", what="the label on the phone")
    r = admin.put("/api/labels/%s/%s" % (slug, lid), json={"name": "VIP"})
    assert r.status_code == 200, r.text
    wait_for(lambda: phone_entry(phone_sim, alice, "regular", ["label_edit", lid])["labelName"] == "VIP",
             what="the renamed label on the phone")
    r = admin.put("/api/labels/%s/chat/%s/labels" % (slug, chat), json={"labelIds": [lid], "action": "add"})
    assert r.status_code == 200, r.text
    wait_for(lambda: (phone_entry(phone_sim, alice, "regular", ["label_jid", lid, chat]) or {}).get("labeled")
             is True, what="the chat labelled on the phone")
    # the n8n form: no action sets exactly these labels ([] removes all)
    r = admin.put("/api/labels/%s/chat/%s/labels" % (slug, chat), json={"labelIds": []})
    assert r.status_code == 200 and r.json()["labels"] == [], r.text
    wait_for(lambda: phone_entry(phone_sim, alice, "regular", ["label_jid", lid, chat])["labeled"] is False,
             what="the label taken off the chat on the phone")
    r = admin.delete("/api/labels/%s/%s" % (slug, lid))
    assert r.status_code == 200, r.text
    wait_for(lambda: phone_entry(phone_sim, alice, "regular", ["label_edit", lid])["deleted"] is True,
             what="the label deleted on the phone")
    # everything written: the queue is empty, the phone's state verifies
    wait_for(lambda: label_queue(stack_config, slug) == 0, what="the label queue drained")
    assert phone_view(phone_sim, alice)["regular"]["verified"] is True
    assert lid not in labels(admin, slug)


def test_labels_made_on_the_phone_show_in_the_api(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    phone_writes(phone_sim, alice, {"action": "labelEdit", "label": "7", "name": "Leads"})
    wait_for(lambda: labels(admin, slug).get("7", {}).get("name") == "Leads", what="the phone's label in the API")
    phone_writes(phone_sim, alice, {"action": "label", "label": "7", "jid": chat})
    wait_for(lambda: chat_label_ids(admin, slug, chat) == ["7"], what="the chat's label in the API")
    # the n8n query form of chats by label
    r = admin.get("/api/labels/%s/chats?labelId=7" % slug)
    assert r.status_code == 200 and r.json()["chats"] == [chat], r.text
    assert_error_shape(admin.get("/api/labels/%s/chats" % slug), 400)
    phone_writes(phone_sim, alice, {"action": "label", "label": "7", "jid": chat, "value": False})
    wait_for(lambda: chat_label_ids(admin, slug, chat) == [], what="the label off the chat in the API")


def test_a_label_change_the_api_has_not_pushed_yet_wins_over_a_fetched_one(admin, make_session, phone_sim,
                                                                            stack_config):
    # the race this stands for: the API labels a chat, the engine pushes
    # it, the API takes the label off again, and only then does the fetch
    # bring back the echo of the first push; the chat must stay unlabelled
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    phone_writes(phone_sim, alice, {"action": "labelEdit", "label": "8", "name": "Hot"})
    wait_for(lambda: labels(admin, slug).get("8", {}).get("name") == "Hot", what="the phone's label in the API")
    # a change of the API's not pushed yet (queued the way the API queues
    # it, without waking the engine)
    sql(stack_config, "INSERT INTO label_sync_queue (wa_session_id, label_id, chat_jid, labeled) SELECT id, '8', "
        "'%s', 0 FROM wa_sessions WHERE session_id = '%s'" % (chat, slug))
    phone_writes(phone_sim, alice, {"action": "label", "label": "8", "jid": chat})
    version = phone_view(phone_sim, alice)["regular"]["version"]
    wait_for(lambda: stored_versions(stack_config, slug).get("regular", 0) >= version,
             what="the phone's patch fetched and stored")
    assert chat_label_ids(admin, slug, chat) == []
    # nothing queued: the next change from the phone is applied as ever
    sql(stack_config, "DELETE q FROM label_sync_queue q JOIN wa_sessions s ON s.id = q.wa_session_id "
        "WHERE s.session_id = '%s'" % slug)
    phone_writes(phone_sim, alice, {"action": "label", "label": "8", "jid": chat, "value": False})
    phone_writes(phone_sim, alice, {"action": "label", "label": "8", "jid": chat})
    wait_for(lambda: chat_label_ids(admin, slug, chat) == ["8"], what="the phone's label on the chat in the API")


def test_label_changes_made_while_disconnected_are_written_at_the_next_login(admin, make_session, phone_sim,
                                                                            stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    r = admin.post("/api/sessions/%s/stop" % slug)
    assert r.status_code == 200, r.text
    r = admin.post("/api/labels/%s" % slug, json={"name": "Offline"})
    assert r.status_code == 200, r.text
    lid = r.json()["label"]["id"]
    assert label_queue(stack_config, slug) == 1
    assert phone_entry(phone_sim, alice, "regular", ["label_edit", lid]) is None
    r = admin.post("/api/sessions/%s/start" % slug)
    assert r.status_code == 200, r.text
    wait_for(lambda: connected(admin, slug), timeout=60, what="connected again")
    wait_for(lambda: (phone_entry(phone_sim, alice, "regular", ["label_edit", lid]) or {}).get("labelName")
             == "Offline", what="the label on the phone after the login")
    wait_for(lambda: label_queue(stack_config, slug) == 0, what="the label queue drained")


def test_a_key_we_lack_is_asked_for(admin, make_session, phone_sim, stack_config):
    slug, alice, bob, chat = ready_chat(admin, make_session, phone_sim, stack_config)
    keys = lambda: int(sql(stack_config, "SELECT COUNT(*) FROM wa_app_state_keys k JOIN wa_sessions s ON "
                           "s.id = k.wa_session_id WHERE s.session_id = '%s'" % slug).strip())
    assert keys() == 1
    # the phone takes a new key and writes with it: the session cannot
    # verify the patch, asks the phone for the key, gets it and applies
    phone_writes(phone_sim, alice, {"action": "rotateKey"})
    phone_writes(phone_sim, alice, {"action": "archive", "jid": chat, "value": True})
    wait_for(lambda: chat_row(admin, slug, chat)["archived"] is True, what="the archive applied with the new key")
    assert keys() == 2
    # and our own changes now go out with the newest key, which the phone verifies
    r = admin.put("/api/chat/%s/%s/pin" % (slug, chat), json={"pin": True})
    assert r.status_code == 200, r.text
    assert phone_entry(phone_sim, alice, "regular_low", ["pin_v1", chat])["pinned"] is True
