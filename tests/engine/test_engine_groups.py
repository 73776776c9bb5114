"""Groups through the real engine against wa-sim: what the API does shows
on the phones (wa-sim's own state of the group, GET /admin/groups/{jid}),
what a phone does shows in the API (the group list read from wa_groups)
and as group.update / group.participant events, and bad input changes
nothing on either side."""
import io
import struct
import zlib

import pytest

from conftest import assert_error_shape, sql
from test_engine_messages import events
from walib import connected, frame_hex, pair_by_qr, wait_for


def pn(number):
    return number + "@s.whatsapp.net"


def sim_group(phone_sim, jid):
    r = phone_sim.get("/admin/groups/%s" % jid)
    assert r.status_code == 200, r.text
    return r.json()


def sim_roles(phone_sim, jid):
    return {p["number"]: p["admin"] for p in sim_group(phone_sim, jid)["participants"]}


def listed(admin, slug, jid):
    r = admin.get("/api/groups/%s" % slug)
    assert r.status_code == 200, r.text
    for g in r.json():
        if g["id"] == jid:
            return g
    return None


def roles(group):
    return {p["id"]: p["admin"] for p in group["participants"]}


def group_events(stack_config, slug, event, jid):
    return events(stack_config, slug, event, "$.id", jid)


@pytest.fixture
def trio(admin, make_session, phone_sim):
    """A paired session (Alice's companion) and two more phones."""
    slug = make_session(admin)["sessionId"]
    alice, bob, carol = phone_sim.phone("Alice"), phone_sim.phone("Bob"), phone_sim.phone("Carol")
    pair_by_qr(admin, phone_sim, slug, alice)
    return slug, alice, bob, carol


def create(admin, slug, subject, members):
    r = admin.post("/api/groups/%s/create" % slug, json={"subject": subject, "participants": members})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True, body
    return body["group"]


def test_create_subject_description_as_the_phones_see_them(admin, trio, phone_sim, stack_config):
    slug, alice, bob, carol = trio
    g = create(admin, slug, "Team ✓", [bob])   # a phone number, as the reference allows
    jid = g["id"]
    assert jid.endswith("@g.us") and g["subject"] == "Team ✓", g
    assert roles(g) == {pn(alice): "superadmin", pn(bob): None}, g
    assert g["owner"] == pn(alice) and g["size"] == 2, g
    s = sim_group(phone_sim, jid)
    assert s["subject"] == "Team ✓" and sim_roles(phone_sim, jid) == {alice: "superadmin", bob: None}, s
    # the API's list shows what was written, participants and roles
    lg = wait_for(lambda: listed(admin, slug, jid), what="the group in the list")
    assert lg["subject"] == "Team ✓" and roles(lg) == roles(g), lg

    # subject (100 characters, counted as characters), both route forms
    subj = "é" * 100
    r = admin.put("/api/groups/%s/%s/subject" % (slug, jid), json={"subject": subj})
    assert r.status_code == 200 and r.json()["subject"] == subj, r.text
    assert sim_group(phone_sim, jid)["subject"] == subj
    r = admin.put("/api/groups/%s/subject" % jid, json={"sessionId": slug, "subject": "Renamed"})
    assert r.status_code == 200, r.text
    assert sim_group(phone_sim, jid)["subject"] == "Renamed"
    assert listed(admin, slug, jid)["subject"] == "Renamed"
    # over 100: 400, nothing changed anywhere
    r = admin.put("/api/groups/%s/%s/subject" % (slug, jid), json={"subject": "x" * 101})
    assert_error_shape(r, 400)
    assert sim_group(phone_sim, jid)["subject"] == "Renamed" and listed(admin, slug, jid)["subject"] == "Renamed"

    # description set, then removed
    r = admin.put("/api/groups/%s/%s/description" % (slug, jid), json={"description": "our place"})
    assert r.status_code == 200 and r.json()["description"] == "our place", r.text
    assert sim_group(phone_sim, jid)["description"] == "our place"
    d = admin.get("/api/groups/%s/%s" % (slug, jid)).json()
    assert d["desc"] == "our place" and d["descId"] and d["subject"] == "Renamed", d
    assert listed(admin, slug, jid)["desc"] == "our place"
    r = admin.put("/api/groups/%s/%s/description" % (slug, jid), json={"description": ""})
    assert r.status_code == 200, r.text
    assert sim_group(phone_sim, jid).get("description") is None
    assert listed(admin, slug, jid)["desc"] is None


def test_members_with_a_result_per_participant(admin, trio, phone_sim):
    slug, alice, bob, carol = trio
    jid = create(admin, slug, "Members", [pn(bob)])["id"]
    nobody = "4915550000001"   # a number no phone of wa-sim has
    r = admin.put("/api/groups/%s/%s/members" % (slug, jid),
                  json={"action": "add", "participants": [pn(carol), pn(bob), nobody]})
    assert r.status_code == 200, r.text
    res = {x["jid"]: x["status"] for x in r.json()["result"]}
    assert res == {pn(carol): "200", pn(bob): "409", pn(nobody): "404"}, r.text
    assert sim_roles(phone_sim, jid) == {alice: "superadmin", bob: None, carol: None}

    r = admin.put("/api/groups/%s/%s/members" % (slug, jid), json={"action": "promote", "participants": [carol]})
    assert r.status_code == 200 and r.json()["result"] == [{"jid": pn(carol), "status": "200"}], r.text
    assert sim_roles(phone_sim, jid)[carol] == "admin"
    assert roles(listed(admin, slug, jid))[pn(carol)] == "admin"
    r = admin.put("/api/groups/%s/%s/members" % (slug, jid), json={"action": "demote", "participants": [carol]})
    assert r.status_code == 200, r.text
    assert sim_roles(phone_sim, jid)[carol] is None and roles(listed(admin, slug, jid))[pn(carol)] is None

    r = admin.put("/api/groups/%s/%s/members" % (slug, jid), json={"action": "remove", "participants": [bob]})
    assert r.status_code == 200 and r.json()["result"] == [{"jid": pn(bob), "status": "200"}], r.text
    assert bob not in sim_roles(phone_sim, jid)
    assert set(roles(listed(admin, slug, jid))) == {pn(alice), pn(carol)}

    # not a JID, an unknown action: 400, nobody changed
    before = sim_roles(phone_sim, jid)
    for body in ({"action": "add", "participants": ["not a jid"]}, {"action": "kick", "participants": [bob]},
                 {"action": "add", "participants": []}):
        assert_error_shape(admin.put("/api/groups/%s/%s/members" % (slug, jid), json=body), 400)
    assert sim_roles(phone_sim, jid) == before


def test_non_admin_actions_answer_403_with_whatsapps_reason(admin, trio, phone_sim):
    slug, alice, bob, carol = trio
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Bob's", "participants": [alice, carol]})
    assert r.status_code == 201, r.text
    jid = r.json()["jid"]
    d = admin.get("/api/groups/%s/%s" % (slug, jid))
    assert d.status_code == 200 and d.json()["owner"] == pn(bob), d.text
    r = admin.put("/api/groups/%s/%s/members" % (slug, jid), json={"action": "remove", "participants": [carol]})
    b = assert_error_shape(r, 403)
    assert "403" in b["message"] and "forbidden" in b["message"], b
    r = admin.put("/api/groups/%s/%s/settings" % (slug, jid), json={"setting": "locked"})
    assert_error_shape(r, 403)
    r = admin.get("/api/groups/%s/%s/invite" % (slug, jid))
    b = assert_error_shape(r, 403)
    assert "401" in b["message"], b   # WhatsApp says not-authorized to a member who is no admin
    assert carol in sim_roles(phone_sim, jid) and sim_group(phone_sim, jid)["locked"] is False
    # a group that does not exist
    assert_error_shape(admin.get("/api/groups/%s/120363999999999999@g.us" % slug), 404)


def test_invite_code_get_revoke_and_accept_by_either_field(admin, trio, make_session, phone_sim):
    slug, alice, bob, carol = trio
    jid = create(admin, slug, "Invites", [bob])["id"]
    r = admin.get("/api/groups/%s/%s/invite" % (slug, jid))
    assert r.status_code == 200, r.text
    code = r.json()["inviteCode"]
    assert r.json()["inviteUrl"] == "https://chat.whatsapp.com/" + code
    assert sim_group(phone_sim, jid)["inviteCode"] == code
    r = admin.put("/api/groups/%s/%s/invite" % (slug, jid))
    assert r.status_code == 200, r.text
    new = r.json()["newInviteCode"]
    assert new != code and r.json()["inviteUrl"] == "https://chat.whatsapp.com/" + new, r.text
    assert sim_group(phone_sim, jid)["inviteCode"] == new

    # a second session (Dave's) joins: the revoked code is refused, then {code}, as the n8n node sends it
    slug2 = make_session(admin)["sessionId"]
    dave = phone_sim.phone("Dave")
    pair_by_qr(admin, phone_sim, slug2, dave)
    r = admin.post("/api/groups/%s/invite/accept" % slug2, json={"inviteCode": code})
    assert_error_shape(r, 400)
    assert dave not in sim_roles(phone_sim, jid)
    assert_error_shape(admin.post("/api/groups/%s/invite/accept" % slug2, json={}), 400)
    b = assert_error_shape(admin.post("/api/groups/%s/invite/accept" % slug2, json={"code": "NoSuchCode123"}), 400)
    assert b["error"] == "invalid_invite", b
    r = admin.post("/api/groups/%s/invite/accept" % slug2, json={"code": new})
    assert r.status_code == 200 and r.json()["groupJid"] == jid, r.text
    assert dave in sim_roles(phone_sim, jid)
    assert roles(wait_for(lambda: listed(admin, slug2, jid), what="the joined group"))[pn(dave)] is None
    # leave (the body form), then join again by {inviteCode} (an invite URL works too) and leave by the path form
    r = admin.post("/api/groups/%s/leave" % jid, json={"sessionId": slug2})
    assert r.status_code == 200, r.text
    assert dave not in sim_roles(phone_sim, jid) and listed(admin, slug2, jid) is None
    r = admin.post("/api/groups/%s/invite/accept" % slug2, json={"inviteCode": "https://chat.whatsapp.com/" + new})
    assert r.status_code == 200, r.text
    assert dave in sim_roles(phone_sim, jid) and listed(admin, slug2, jid) is not None
    r = admin.post("/api/groups/%s/%s/leave" % (slug2, jid))
    assert r.status_code == 200, r.text
    assert dave not in sim_roles(phone_sim, jid) and listed(admin, slug2, jid) is None
    # no longer a member: WhatsApp's 403, and the list stays without it
    assert_error_shape(admin.get("/api/groups/%s/%s" % (slug2, jid)), 403)
    assert listed(admin, slug2, jid) is None and listed(admin, slug, jid) is not None


def test_settings_and_ephemeral_in_the_metadata(admin, trio, phone_sim):
    slug, alice, bob, carol = trio
    jid = create(admin, slug, "Settings", [bob])["id"]
    for setting, key, val in (("announcement", "announce", True), ("locked", "restrict", True),
                              ("not_announcement", "announce", False), ("unlocked", "restrict", False),
                              ("announcement", "announce", True)):
        r = admin.put("/api/groups/%s/%s/settings" % (slug, jid), json={"setting": setting, "value": True})
        assert r.status_code == 200, r.text
        assert admin.get("/api/groups/%s/%s" % (slug, jid)).json()[key] is val
        assert listed(admin, slug, jid)[key] is val
    s = sim_group(phone_sim, jid)
    assert s["announce"] is True and s["locked"] is False, s
    for e in (604800, 7776000, 86400, 0):
        r = admin.put("/api/groups/%s/%s/ephemeral" % (slug, jid), json={"expiration": e})
        assert r.status_code == 200 and r.json()["expiration"] == e, r.text
        assert sim_group(phone_sim, jid)["ephemeral"] == e
        assert listed(admin, slug, jid)["ephemeralDuration"] == e
    # not in the list, not a setting: 400 and nothing changed
    for path, body in (("ephemeral", {"expiration": 3600}), ("ephemeral", {"expiration": "86400"}),
                       ("settings", {"setting": "closed"})):
        assert_error_shape(admin.put("/api/groups/%s/%s/%s" % (slug, jid, path), json=body), 400)
    s = sim_group(phone_sim, jid)
    assert s["ephemeral"] == 0 and s["announce"] is True, s


def png(w, h):
    """A small RGB PNG, w x h."""
    raw = b"".join(b"\0" + bytes(v for x in range(w) for v in (x % 256, y % 256, 90)) for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_picture_upload_converted_and_removed(admin, trio, phone_sim):
    slug, alice, bob, carol = trio
    jid = create(admin, slug, "Pictures", [bob])["id"]
    r = admin.put("/api/groups/%s/%s/picture" % (slug, jid),
                  files={"file": ("big.png", io.BytesIO(png(900, 700)), "image/png")})
    assert r.status_code == 200, r.text
    assert r.json()["pictureId"], r.text
    pic = sim_group(phone_sim, jid)["picture"]
    assert pic["width"] == 640 and pic["height"] == 640, pic   # a JPEG, square, 640 at most
    # a small one stays small
    r = admin.put("/api/groups/%s/%s/picture" % (slug, jid),
                  files={"file": ("s.png", io.BytesIO(png(100, 60)), "image/png")})
    assert r.status_code == 200, r.text
    pic = sim_group(phone_sim, jid)["picture"]
    assert pic["width"] == 60 and pic["height"] == 60, pic
    # not an image: 400, the picture stays
    r = admin.put("/api/groups/%s/%s/picture" % (slug, jid),
                  files={"file": ("x.png", io.BytesIO(b"this is not a picture" * 10), "image/png")})
    assert_error_shape(r, 400)
    assert sim_group(phone_sim, jid)["picture"] == pic
    # a URL the fetch rule refuses: 400, nothing changed
    r = admin.put("/api/groups/%s/%s/picture" % (slug, jid), json={"url": "http://169.254.169.254/x.png"})
    assert_error_shape(r, 400)
    assert sim_group(phone_sim, jid)["picture"] == pic
    r = admin.delete("/api/groups/%s/%s/picture" % (slug, jid))
    assert r.status_code == 200, r.text
    assert "picture" not in sim_group(phone_sim, jid)


def test_a_phone_changing_the_group_shows_in_the_api_and_as_events(admin, trio, phone_sim, stack_config):
    slug, alice, bob, carol = trio
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Phone made", "participants": [alice]})
    assert r.status_code == 201, r.text
    jid = r.json()["jid"]
    # added by a phone: the group appears with its members (the create notification)
    g = wait_for(lambda: listed(admin, slug, jid), what="the phone's group in the API")
    assert g["subject"] == "Phone made" and roles(g) == {pn(bob): "superadmin", pn(alice): None}, g
    wait_for(lambda: group_events(stack_config, slug, "group.update", jid), what="a group.update for the create")

    base = "/admin/groups/%s" % jid
    assert phone_sim.post(base, {"phone": bob, "action": "subject", "subject": "Renamed by Bob"}).status_code == 200
    wait_for(lambda: (listed(admin, slug, jid) or {}).get("subject") == "Renamed by Bob", what="the new subject")
    subj = wait_for(lambda: [s for s in events(stack_config, slug, "group.update", "$.subject", jid) if s],
                    what="the subject event")
    assert subj[-1] == "Renamed by Bob", subj

    assert phone_sim.post(base, {"phone": bob, "action": "add", "participants": [carol]}).status_code == 200
    wait_for(lambda: pn(carol) in roles(listed(admin, slug, jid)), what="Carol in the API's group")
    acts = wait_for(lambda: events(stack_config, slug, "group.participant", "$.action", jid),
                    what="the group.participant event")
    assert acts == ["add"], acts
    who = sql(stack_config, "SELECT JSON_VALUE(o.payload, '$.participants[0]'), JSON_VALUE(o.payload, '$.author') "
              "FROM events_outbox o JOIN wa_sessions s ON s.id = o.wa_session_id WHERE s.session_id = '%s' "
              "AND o.event = 'group.participant'" % slug).split()
    assert who == [pn(carol), pn(bob)], who

    assert phone_sim.post(base, {"phone": bob, "action": "promote", "participants": [alice]}).status_code == 200
    wait_for(lambda: roles(listed(admin, slug, jid))[pn(alice)] == "admin", what="Alice an admin in the API")
    assert phone_sim.post(base, {"phone": bob, "action": "announcement"}).status_code == 200
    wait_for(lambda: listed(admin, slug, jid)["announce"] is True, what="announcement mode in the API")
    assert phone_sim.post(base, {"phone": bob, "action": "ephemeral", "expiration": 86400}).status_code == 200
    wait_for(lambda: listed(admin, slug, jid)["ephemeralDuration"] == 86400, what="the timer in the API")

    # Bob removes us: the group leaves the list, and the event says so
    assert phone_sim.post(base, {"phone": bob, "action": "remove", "participants": [alice]}).status_code == 200
    wait_for(lambda: listed(admin, slug, jid) is None, what="the group gone from the list")
    acts = wait_for(lambda: [a for a in events(stack_config, slug, "group.participant", "$.action", jid)
                             if a == "remove"], what="the removal event")
    assert acts == ["remove"], acts


def test_changes_while_the_session_was_stopped_arrive_after_the_start(admin, trio, phone_sim, stack_config):
    slug, alice, bob, carol = trio
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Before", "participants": [alice]})
    assert r.status_code == 201, r.text
    jid = r.json()["jid"]
    wait_for(lambda: listed(admin, slug, jid), what="the group in the list")
    assert admin.post("/api/sessions/%s/stop" % slug).status_code == 200
    wait_for(lambda: not connected(admin, slug), what="the session to stop")
    base = "/admin/groups/%s" % jid
    assert phone_sim.post(base, {"phone": bob, "action": "subject", "subject": "While away"}).status_code == 200
    assert phone_sim.post(base, {"phone": bob, "action": "add", "participants": [carol]}).status_code == 200
    assert listed(admin, slug, jid)["subject"] == "Before"
    assert admin.post("/api/sessions/%s/start" % slug).status_code == 200
    wait_for(lambda: connected(admin, slug), timeout=30, what="the session back")
    g = wait_for(lambda: (lambda g: g if g and g["subject"] == "While away" and pn(carol) in roles(g) else None)(
        listed(admin, slug, jid)), what="the changes in the list")
    assert roles(g) == {pn(bob): "superadmin", pn(alice): None, pn(carol): None}, g
    # and as events, from the notifications the server kept
    wait_for(lambda: "While away" in events(stack_config, slug, "group.update", "$.subject", jid),
             what="the subject event")
    wait_for(lambda: "add" in events(stack_config, slug, "group.participant", "$.action", jid), what="the add event")


def test_a_notification_offered_again_publishes_no_second_event(admin, trio, phone_sim, stack_config):
    slug, alice, bob, carol = trio
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Raw", "participants": [alice]})
    assert r.status_code == 201, r.text
    jid = r.json()["jid"]
    wait_for(lambda: listed(admin, slug, jid), what="the group in the list")
    conn = [c for c in phone_sim.connections(alice + ":") if c["state"] == "logged-in"][0]["id"]

    def notif(nid, subject):
        return frame_hex("notification", {"from": jid, "type": "w:gp2", "id": nid, "t": "1700000000",
                                          "participant": pn(bob)},
                         [("subject", {"subject": subject, "s_t": "1700000000", "s_o": pn(bob)}, None)])
    # the same notification twice (as after a lost ack), then another one
    for body in (notif("dup-1", "First"), notif("dup-1", "First"), notif("dup-2", "Second")):
        assert phone_sim.post("/admin/connections/send-raw", {"id": conn, "hex": body}).status_code == 200
    wait_for(lambda: "Second" in events(stack_config, slug, "group.update", "$.subject", jid), what="the last event")
    subjects = [x for x in events(stack_config, slug, "group.update", "$.subject", jid) if x in ("First", "Second")]
    assert subjects == ["First", "Second"], subjects


def test_groups_from_before_the_pairing_are_listed(admin, make_session, phone_sim):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Old group", "participants": [alice]})
    assert r.status_code == 201, r.text
    jid = r.json()["jid"]
    assert phone_sim.post("/admin/groups/%s" % jid, {"phone": bob, "action": "locked"}).status_code == 200
    pair_by_qr(admin, phone_sim, slug, alice)
    g = wait_for(lambda: listed(admin, slug, jid), what="the group Alice was in before pairing")
    assert g["subject"] == "Old group" and g["restrict"] is True, g
    assert roles(g) == {pn(bob): "superadmin", pn(alice): None}, g


def test_bad_create_and_description_change_nothing(admin, trio, phone_sim):
    slug, alice, bob, carol = trio
    before = admin.get("/api/groups/%s" % slug).json()
    for body in ({"subject": "x" * 101, "participants": [bob]}, {"subject": "", "participants": [bob]},
                 {"subject": "ok", "participants": ["not a jid"]}, {"subject": "ok", "participants": []},
                 {"subject": "ok"}, {"participants": [bob]}):
        assert_error_shape(admin.post("/api/groups/%s/create" % slug, json=body), 400)
    assert admin.get("/api/groups/%s" % slug).json() == before
    jid = create(admin, slug, "Desc", [bob])["id"]
    for body in ({"description": 5}, {"description": ["x"]}):
        assert_error_shape(admin.put("/api/groups/%s/%s/description" % (slug, jid), json=body), 400)
    assert sim_group(phone_sim, jid).get("description") is None
    # a group JID is needed where the route names one
    assert_error_shape(admin.put("/api/groups/%s/%s/subject" % (slug, pn(bob)), json={"subject": "x"}), 400)


def test_groups_need_a_connected_session_and_a_group_jid(admin, make_session):
    slug = make_session(admin)["sessionId"]
    r = admin.post("/api/groups/%s/create" % slug, json={"subject": "x", "participants": ["4915550000002"]})
    assert_error_shape(r, 503)
    r = admin.put("/api/groups/%s/4915550000002@s.whatsapp.net/subject" % slug, json={"subject": "x"})
    assert_error_shape(r, 400)
