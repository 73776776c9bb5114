"""Labels, chat labels and chats by label (stored data), in the
reference's shapes ({success, label(s)} and friends)."""
import pytest

from conftest import assert_error_shape, assert_ok_shape

JID = "628123456789@s.whatsapp.net"


@pytest.fixture
def sess(admin, make_session):
    return make_session(admin)["sessionId"]


def labels(admin, sess):
    r = admin.get("/api/labels/%s" % sess)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert set(body) == {"success", "labels"} and body["success"] is True, body
    return body["labels"]


def listed(admin, sess):
    """GET /api/labels lists each label with its chat count: {label: count}."""
    out = []
    for l in labels(admin, sess):
        l = dict(l)
        count = l.pop("count")
        assert isinstance(count, int), l
        out.append((l, count))
    return out


def chat_labels(admin, sess, jid=JID):
    r = admin.get("/api/labels/%s/chat/%s/labels" % (sess, jid))
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert set(body) == {"success", "labels"} and body["success"] is True, body
    return body["labels"]


def test_label_crud_and_chat_labels(admin, sess):
    base = "/api/labels/%s" % sess
    r = admin.post(base, json={"name": "Important", "color": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"success", "label"} and body["success"] is True, body
    label = body["label"]
    lid = label["id"]
    assert isinstance(lid, str) and lid, label
    assert label == {"id": lid, "name": "Important", "color": 3, "predefinedId": None}, label
    assert listed(admin, sess) == [(label, 0)]
    r = admin.put("%s/%s" % (base, lid), json={"name": "VIP", "color": 5})
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "label": {"id": lid, "name": "VIP", "color": 5, "predefinedId": None}}
    vip = r.json()["label"]
    # a partial update keeps the other field
    r = admin.put("%s/%s" % (base, lid), json={"color": 6})
    assert r.status_code == 200 and r.json()["label"] == dict(vip, color=6), r.text
    vip = r.json()["label"]
    assert listed(admin, sess) == [(vip, 0)]

    r = admin.put("/api/labels/%s/chat/%s/labels" % (sess, JID), json={"labelIds": [lid], "action": "add"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and isinstance(body["message"], str) and body["labels"] == [vip], body
    assert chat_labels(admin, sess) == [vip]
    assert listed(admin, sess) == [(vip, 1)]
    r = admin.get("/api/chats/%s/by-label/%s" % (sess, lid))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "label": vip, "chats": [JID], "count": 1}, r.text
    r = admin.get("/api/chats/by-label/%s" % lid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["labelId"] == lid and body["count"] == 1, body
    assert body["chats"] == [{"sessionId": sess, "jid": JID, "labelId": lid, "labelName": "VIP",
                              "labelColor": 6}], body
    r = admin.put("/api/labels/%s/chat/%s/labels" % (sess, JID), json={"labelIds": [lid], "action": "remove"})
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["labels"] == [], r.text
    assert chat_labels(admin, sess) == []
    assert listed(admin, sess) == [(vip, 0)]
    r = admin.get("/api/chats/%s/by-label/%s" % (sess, lid))
    assert r.status_code == 200 and r.json()["chats"] == [] and r.json()["count"] == 0, r.text
    assert assert_ok_shape(admin.delete("%s/%s" % (base, lid))) == {"id": lid}
    assert labels(admin, sess) == []
    b = assert_error_shape(admin.get("/api/chats/%s/by-label/%s" % (sess, lid)), 404)
    assert b["error"] == "not_found", b
    assert_error_shape(admin.delete("%s/%s" % (base, lid)), 404)


def test_labels_of_one_session_are_invisible_in_another(admin, make_session):
    a, b = make_session(admin)["sessionId"], make_session(admin)["sessionId"]
    lid = admin.post("/api/labels/%s" % a, json={"name": "A"}).json()["label"]["id"]
    assert labels(admin, b) == []
    assert_error_shape(admin.get("/api/chats/%s/by-label/%s" % (b, lid)), 404)
    assert_error_shape(admin.put("/api/labels/%s/%s" % (b, lid), json={"name": "x"}), 404)
    assert [x["name"] for x in labels(admin, a)] == ["A"]


@pytest.mark.parametrize("body,field", [({}, "name"), ({"name": ""}, "name"), ({"name": "x", "color": 20}, "color"),
                                        ({"name": "x", "color": "red"}, "color")])
def test_label_validation(admin, sess, body, field):
    b = assert_error_shape(admin.post("/api/labels/%s" % sess, json=body), 400)
    assert field in b["message"], b
    assert labels(admin, sess) == []


def test_chat_labels_validation(admin, sess):
    lid = admin.post("/api/labels/%s" % sess, json={"name": "A"}).json()["label"]["id"]
    url = "/api/labels/%s/chat/%s/labels" % (sess, JID)
    b = assert_error_shape(admin.put(url, json={"labelIds": [lid], "action": "toggle"}), 400)
    assert "action" in b["message"], b
    b = assert_error_shape(admin.put(url, json={"labelIds": "x", "action": "add"}), 400)
    assert "labelIds" in b["message"], b
    # an unknown label id: 404, and the known one in the same request is not added either
    b = assert_error_shape(admin.put(url, json={"labelIds": [lid, "no-such-label"], "action": "add"}), 404)
    assert "no-such-label" in b["message"], b
    b = assert_error_shape(admin.put("/api/labels/%s/chat/not-a-jid/labels" % sess,
                                     json={"labelIds": [lid], "action": "add"}), 400)
    assert "jid" in b["message"].lower(), b
    assert chat_labels(admin, sess) == []
