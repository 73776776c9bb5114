"""Labels, chat labels and chats by label (stored data)."""
import pytest

from conftest import assert_error_shape


@pytest.fixture
def sess(admin, make_session):
    return make_session(admin)["sessionId"]


def test_label_crud_and_chat_labels(admin, sess):
    base = "/api/labels/%s" % sess
    r = admin.post(base, json={"name": "Important", "color": 3})
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    label = r.json()["label"]
    lid = label["id"]
    assert label["name"] == "Important" and label["color"] == 3
    r = admin.get(base)
    assert r.json()["success"] is True and [l["name"] for l in r.json()["labels"]] == ["Important"]
    r = admin.put("%s/%s" % (base, lid), json={"name": "VIP", "color": 5})
    assert r.status_code == 200 and r.json()["label"]["name"] == "VIP"
    jid = "628123456789@s.whatsapp.net"
    r = admin.put("/api/labels/%s/chat/%s/labels" % (sess, jid), json={"labelIds": [lid], "action": "add"})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    r = admin.get("/api/labels/%s/chat/%s/labels" % (sess, jid))
    assert [l["id"] for l in r.json()["labels"]] == [lid]
    r = admin.get("/api/chats/%s/by-label/%s" % (sess, lid))
    assert r.status_code == 200 and r.json()["chats"] == [jid] and r.json()["count"] == 1
    r = admin.get("/api/chats/by-label/%s" % lid)
    assert r.status_code == 200 and jid in str(r.json())
    r = admin.put("/api/labels/%s/chat/%s/labels" % (sess, jid), json={"labelIds": [lid], "action": "remove"})
    assert r.status_code == 200
    assert admin.get("/api/labels/%s/chat/%s/labels" % (sess, jid)).json()["labels"] == []
    r = admin.delete("%s/%s" % (base, lid))
    assert r.status_code == 200 and r.json()["status"] is True
    assert admin.get(base).json()["labels"] == []
    assert_error_shape(admin.get("/api/chats/%s/by-label/%s" % (sess, lid)), 404)


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x", "color": 20}, {"name": "x", "color": "red"}])
def test_label_validation(admin, sess, body):
    assert_error_shape(admin.post("/api/labels/%s" % sess, json=body), 400)
    assert admin.get("/api/labels/%s" % sess).json()["labels"] == []


def test_chat_labels_validation(admin, sess):
    jid = "628123456789@s.whatsapp.net"
    lid = admin.post("/api/labels/%s" % sess, json={"name": "A"}).json()["label"]["id"]
    url = "/api/labels/%s/chat/%s/labels" % (sess, jid)
    assert_error_shape(admin.put(url, json={"labelIds": [lid], "action": "toggle"}), 400)
    assert_error_shape(admin.put(url, json={"labelIds": "x", "action": "add"}), 400)
    r = admin.put(url, json={"labelIds": ["no-such-label"], "action": "add"})
    assert r.status_code in (400, 404)
    assert_error_shape(r)
    assert_error_shape(admin.put("/api/labels/%s/chat/not-a-jid/labels" % sess, json={"labelIds": [lid], "action": "add"}), 400)
    assert admin.get(url).json()["labels"] == []
