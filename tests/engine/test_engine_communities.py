"""Communities through the real engine against wa-sim (routes beyond the
reference, docs/api.md): a community is created with its announcement
group as WhatsApp makes them, groups are linked and unlinked with a result
per group, the sub-groups are listed, and what the server holds (wa-sim's
GET /admin/groups/{jid}, what every member's phone shows) matches what the
API says; a phone's link shows in the API from its notification; a
non-admin's link is refused with WhatsApp's reason and bad input changes
nothing."""
import pytest

from conftest import assert_error_shape
from test_engine_groups import create, group_events, listed, pn, sim_group, sim_roles
from test_engine_messages import events
from walib import pair_by_qr, wait_for


@pytest.fixture
def trio(admin, make_session, phone_sim):
    """A paired session (Alice's companion) and two more phones."""
    slug = make_session(admin)["sessionId"]
    alice, bob, carol = phone_sim.phone("Alice"), phone_sim.phone("Bob"), phone_sim.phone("Carol")
    pair_by_qr(admin, phone_sim, slug, alice)
    return slug, alice, bob, carol


def community_create(admin, slug, body):
    r = admin.post("/api/groups/%s/community/create" % slug, json=body)
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["success"] is True and b["communityJid"].endswith("@g.us"), b
    return b


def sub_groups(admin, slug, cj):
    r = admin.get("/api/groups/%s/%s/community/groups" % (slug, cj))
    assert r.status_code == 200, r.text
    assert r.json()["communityJid"] == cj, r.text
    return {g["id"]: g for g in r.json()["groups"]}


def link(admin, slug, cj, body, action="link"):
    r = admin.post("/api/groups/%s/%s/community/%s" % (slug, cj, action), json=body)
    assert r.status_code == 200, r.text
    assert r.json()["action"] == action and r.json()["communityJid"] == cj, r.text
    return {x["groupJid"]: x["status"] for x in r.json()["result"]}


def phone_group(phone_sim, creator, subject, members, community=False):
    body = {"phone": creator, "subject": subject, "participants": members}
    if community:
        body["community"] = True
    r = phone_sim.post("/admin/groups", body)
    assert r.status_code == 201, r.text
    return r.json()


def phone_act(phone_sim, phone, jid, body):
    r = phone_sim.post("/admin/groups/%s" % jid, dict(body, phone=phone))
    assert r.status_code == 200, r.text
    return r.json()


def metadata(admin, slug, jid):
    r = admin.get("/api/groups/%s/%s" % (slug, jid))
    assert r.status_code == 200, r.text
    return r.json()


def test_create_link_list_unlink_as_the_phones_see_it(admin, trio, phone_sim):
    slug, alice, bob, carol = trio
    b = community_create(admin, slug, {"subject": "Street", "description": "our street", "participants": [bob]})
    cj, ann = b["communityJid"], b["announcementGroupJid"]
    assert ann.endswith("@g.us") and ann != cj, b
    assert b["community"]["isCommunity"] is True and b["community"]["subject"] == "Street", b
    # the server (every member's phone) holds the community and its announcement group
    sc = sim_group(phone_sim, cj)
    assert sc["isCommunity"] is True and sc["description"] == "our street" and sc["subGroups"] == [ann], sc
    assert sim_roles(phone_sim, cj) == {alice: "superadmin", bob: None}
    sa = sim_group(phone_sim, ann)
    assert sa["isCommunityAnnounce"] is True and sa["linkedParent"] == cj and sa["announce"] is True, sa
    assert sim_roles(phone_sim, ann) == {alice: "superadmin", bob: None}
    # the API's list: the community flag, the announcement group linked to it
    assert listed(admin, slug, cj)["isCommunity"] is True
    la = listed(admin, slug, ann)
    assert la["linkedParentJid"] == cj and la["isCommunity"] is False, la
    subs = sub_groups(admin, slug, cj)
    assert list(subs) == [ann] and subs[ann]["isCommunityAnnounce"] is True and subs[ann]["subject"] == "Street"

    # a group made by a phone (Bob's), Alice made its admin: linked by her
    gj = phone_group(phone_sim, bob, "Bob's corner", [alice, carol])["jid"]
    phone_act(phone_sim, bob, gj, {"action": "promote", "participants": [alice]})
    wait_for(lambda: listed(admin, slug, gj), what="Bob's group in the list")
    assert link(admin, slug, cj, {"groupJid": gj}) == {gj: "200"}
    assert sim_group(phone_sim, gj)["linkedParent"] == cj
    assert set(sim_group(phone_sim, cj)["subGroups"]) == {gj, ann}
    subs = sub_groups(admin, slug, cj)
    assert set(subs) == {ann, gj} and subs[gj]["isCommunityAnnounce"] is False and subs[gj]["subject"] == "Bob's corner"
    # the linked group's metadata names its parent, in the details and in the list
    assert metadata(admin, slug, gj)["linkedParentJid"] == cj
    assert listed(admin, slug, gj)["linkedParentJid"] == cj
    # linked already: WhatsApp's 409 for that group, the rest as it was
    assert link(admin, slug, cj, {"groupJids": [gj]}) == {gj: "409"}
    assert sim_group(phone_sim, gj)["linkedParent"] == cj

    # unlink: the group stands alone again everywhere
    assert link(admin, slug, cj, {"groupJids": [gj]}, "unlink") == {gj: "200"}
    assert sim_group(phone_sim, gj)["linkedParent"] is None
    assert set(sim_group(phone_sim, cj)["subGroups"]) == {ann}
    assert list(sub_groups(admin, slug, cj)) == [ann]
    assert metadata(admin, slug, gj)["linkedParentJid"] is None
    assert listed(admin, slug, gj)["linkedParentJid"] is None
    # not in the community (any more): 404 for that group; the announcement group stays (400)
    assert link(admin, slug, cj, {"groupJids": [gj, ann]}, "unlink") == {gj: "404", ann: "400"}
    assert sim_group(phone_sim, ann)["linkedParent"] == cj


def test_a_phones_link_shows_in_the_api_from_its_notification(admin, trio, phone_sim, stack_config):
    slug, alice, bob, carol = trio
    c = phone_group(phone_sim, bob, "Bob's community", [alice], community=True)
    cj, ann = c["jid"], c["announcementGroup"]
    # both come to Alice's session in their create notifications
    assert wait_for(lambda: listed(admin, slug, cj), what="the community in the list")["isCommunity"]
    assert wait_for(lambda: listed(admin, slug, ann), what="the announcement group")["linkedParentJid"] == cj
    gj = phone_group(phone_sim, bob, "Bob's group", [alice])["jid"]
    wait_for(lambda: listed(admin, slug, gj), what="Bob's group in the list")
    r = phone_act(phone_sim, bob, cj, {"action": "link", "groups": [gj]})
    assert r["results"] == {gj: 200}, r
    wait_for(lambda: (listed(admin, slug, gj) or {}).get("linkedParentJid") == cj, what="the link in the list")
    assert wait_for(lambda: "link" in events(stack_config, slug, "group.update", "$.action", gj),
                    what="a group.update for the link")
    assert cj in events(stack_config, slug, "group.update", "$.communityJid", gj)
    r = phone_act(phone_sim, bob, cj, {"action": "unlink", "groups": [gj]})
    assert r["results"] == {gj: 200}, r
    wait_for(lambda: (listed(admin, slug, gj) or {}).get("linkedParentJid") is None and
             "unlink" in events(stack_config, slug, "group.update", "$.action", gj), what="the unlink")
    assert group_events(stack_config, slug, "group.update", gj)


def test_non_admin_link_is_refused_and_nothing_changes(admin, trio, phone_sim):
    slug, alice, bob, carol = trio
    c = phone_group(phone_sim, bob, "Bob rules", [alice], community=True)
    cj, ann = c["jid"], c["announcementGroup"]
    wait_for(lambda: listed(admin, slug, cj), what="the community in the list")
    mine = create(admin, slug, "Alice's", [carol])["id"]
    # Alice is a member of the community, not its admin: WhatsApp's 403
    for action in ("link", "unlink"):
        r = admin.post("/api/groups/%s/%s/community/%s" % (slug, cj, action), json={"groupJid": mine})
        b = assert_error_shape(r, 403)
        assert "403" in b["message"], b
    assert sim_group(phone_sim, mine)["linkedParent"] is None
    assert sim_group(phone_sim, cj)["subGroups"] == [ann]
    assert list(sub_groups(admin, slug, cj)) == [ann]
    assert listed(admin, slug, mine)["linkedParentJid"] is None
    # her own community, but a group she does not admin: refused for that group only
    own = community_create(admin, slug, {"subject": "Alice's community"})["communityJid"]
    bobs = phone_group(phone_sim, bob, "Bob's other", [alice])["jid"]
    assert link(admin, slug, own, {"groupJids": [bobs, mine]}) == {bobs: "403", mine: "200"}
    assert sim_group(phone_sim, bobs)["linkedParent"] is None and sim_group(phone_sim, mine)["linkedParent"] == own
    # a group is not a community: WhatsApp's 400 for the whole request
    r = admin.post("/api/groups/%s/%s/community/link" % (slug, mine), json={"groupJid": bobs})
    assert_error_shape(r, 400)
    assert_error_shape(admin.get("/api/groups/%s/%s/community/groups" % (slug, mine)), 400)


def test_bad_input_is_400_and_changes_nothing(admin, trio, phone_sim):
    slug, alice, bob, carol = trio
    cj = community_create(admin, slug, {"subject": "Checked"})["communityJid"]
    gj = create(admin, slug, "Plain", [bob])["id"]
    before = [g["id"] for g in admin.get("/api/groups/%s" % slug).json()]
    for body in ({}, {"subject": ""}, {"subject": "x" * 101}, {"subject": "ok", "participants": ["not a jid"]},
                 {"subject": "ok", "description": 5}):
        assert_error_shape(admin.post("/api/groups/%s/community/create" % slug, json=body), 400)
    for action in ("link", "unlink"):
        for body in ({}, {"groupJid": "not a jid"}, {"groupJid": pn(bob)}, {"groupJids": []},
                     {"groupJids": [gj, "nope"]}, {"groupJid": cj},
                     {"groupJids": ["1203630000000%05d@g.us" % i for i in range(51)]}):
            r = admin.post("/api/groups/%s/%s/community/%s" % (slug, cj, action), json=body)
            assert_error_shape(r, 400)
    # a community that is not a group JID
    assert_error_shape(admin.get("/api/groups/%s/%s/community/groups" % (slug, pn(bob))), 400)
    assert_error_shape(admin.post("/api/groups/%s/%s/community/link" % (slug, pn(bob)), json={"groupJid": gj}), 400)
    # nothing changed on either side
    assert sim_group(phone_sim, gj)["linkedParent"] is None
    assert len(sim_group(phone_sim, cj)["subGroups"]) == 1
    assert [g["id"] for g in admin.get("/api/groups/%s" % slug).json()] == before
