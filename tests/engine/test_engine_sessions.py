"""Session lifecycle through the public API against wa-sim, with the real
engine: pairing by QR and by phone-number code, login with the stored
credentials after an engine crash, reconnect after the server drops the
connection, logout from the phone and through the API. The phone side is
wa-sim's admin API (a simulated phone scans the QR or types the code)."""
import re
import time

from conftest import assert_error_shape, assert_ok_shape, sql
from walib import QR_PREFIX, connected, current_qr, details, pair_by_qr, wait_for

def creds_row(stack_config, slug):
    return sql(stack_config, "SELECT c.paired, c.phone, c.device FROM wa_device_creds c "
               "JOIN wa_sessions s ON s.id = c.wa_session_id WHERE s.session_id = '%s'" % slug).strip()


def signal_identity_rows(stack_config, slug):
    return int(sql(stack_config, "SELECT COUNT(*) FROM signal_identity_local l JOIN wa_sessions s "
                   "ON l.session_key = CAST(s.id AS CHAR) WHERE s.session_id = '%s'" % slug).strip())


def outbox_states(stack_config, slug):
    out = sql(stack_config, "SELECT JSON_VALUE(o.payload, '$.state') FROM events_outbox o JOIN wa_sessions s "
              "ON s.id = o.wa_session_id WHERE s.session_id = '%s' AND o.event = 'connection.update' "
              "ORDER BY o.id" % slug)
    return [line for line in out.splitlines() if line]


def test_qr_pairing_connects_stores_credentials_and_survives_an_engine_crash(
        admin, make_session, phone_sim, stack_config, engine):
    slug = make_session(admin)["sessionId"]
    number = phone_sim.phone("Alice")
    qr = wait_for(lambda: current_qr(admin, slug), what="a QR")
    # the QR string carries the ref, our noise key, identity key, adv secret and platform
    parts = qr["qr"][len(QR_PREFIX):].split(",")
    assert len(parts) == 5 and all(parts[:4]) and len(parts[4]) == 1, qr["qr"]
    assert qr["base64"].startswith("data:image/png;base64,")
    assert details(admin, slug)["status"] == "Connecting"

    d = pair_by_qr(admin, phone_sim, slug, number)
    assert d["me"]["id"].startswith(number + ":"), d["me"]
    assert d["me"]["lid"].endswith("@lid")
    assert d["hasInstance"] is True
    dev = int(d["me"]["id"].split(":")[1].split("@")[0])
    assert [x for x in phone_sim.devices(number) if x.get("id", x.get("device")) == dev] or \
        phone_sim.devices(number), "the phone lists the new device"
    assert creds_row(stack_config, slug) == "1\t%s\t%d" % (number, dev)
    states = outbox_states(stack_config, slug)
    assert "SCAN_QR" in states and states[-1] == "CONNECTED", states
    # a connected session has no QR to show
    assert_error_shape(admin.get("/api/sessions/%s/qr" % slug), 400)

    # crash: the engine comes back and logs in with what it stored, no new pairing
    engine.restart()
    time.sleep(0.5)
    d2 = wait_for(lambda: connected(admin, slug), timeout=30, what="reconnect after the crash")
    assert d2["me"]["id"] == d["me"]["id"]
    assert len(phone_sim.connections(number + ":%d@" % dev)) == 1


def test_code_pairing_gives_a_code_the_phone_accepts(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    number = phone_sim.phone("Bob")
    # bad numbers are refused before anything is asked of WhatsApp
    for bad in ({}, {"phoneNumber": ""}, {"phoneNumber": "12"}, {"phoneNumber": "+49 abc"}):
        b = assert_error_shape(admin.post("/api/sessions/%s/pair" % slug, json=bad), 400)
        assert b["error"] == "validation_error", b
    r = admin.post("/api/sessions/%s/pair" % slug, json={"phoneNumber": "+" + number})
    code = assert_ok_shape(r, 200)["pairingCode"]
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
    # a wrong code typed on the phone pairs nothing; a new request gives a new code that works
    wrong = "AAAA-AAAA" if code != "AAAA-AAAA" else "BBBB-BBBB"
    assert phone_sim.post("/admin/phones/%s/link-code" % number, {"code": wrong}).status_code == 200
    time.sleep(1.0)
    assert connected(admin, slug) is None and creds_row(stack_config, slug).startswith("0")
    r = admin.post("/api/sessions/%s/pair" % slug, json={"phoneNumber": number})
    code2 = assert_ok_shape(r, 200)["pairingCode"]
    assert code2 != code
    r = phone_sim.post("/admin/phones/%s/link-code" % number, {"code": code2})
    assert r.status_code == 200, r.text
    d = wait_for(lambda: connected(admin, slug), what=slug + " to connect after the code")
    assert d["me"]["id"].startswith(number + ":")
    assert creds_row(stack_config, slug).startswith("1\t" + number)
    b = assert_error_shape(admin.post("/api/sessions/%s/pair" % slug, json={"phoneNumber": number}), 400)
    assert b["error"] == "already_connected", b


def test_dropped_connection_comes_back_by_itself(admin, make_session, phone_sim):
    slug = make_session(admin)["sessionId"]
    number = phone_sim.phone()
    d = pair_by_qr(admin, phone_sim, slug, number)
    jid = d["me"]["id"]
    before = phone_sim.connections(jid)
    assert len(before) == 1, before
    r = phone_sim.post("/admin/connections/drop", {"jid": jid})
    assert r.status_code == 200 and r.json()["dropped"] == 1, r.text

    def back():
        now = phone_sim.connections(jid)
        return now if now and now[0]["id"] != before[0]["id"] and now[0]["state"] == "logged-in" else None
    wait_for(back, timeout=20, what="a new connection after the drop")
    assert wait_for(lambda: connected(admin, slug), what="Connected again")["me"]["id"] == jid


def test_a_server_that_goes_silent_is_left_by_the_keep_alive_and_the_session_comes_back(admin, make_session, phone_sim):
    """A link that stays open but carries nothing back (the server's frames
    held for 60 s): only the keep-alive can see it. The engine pings every
    20-30 s and gives a ping 10 s (docs/protocol.md 12.5), then drops the
    connection and connects again by itself."""
    slug = make_session(admin)["sessionId"]
    number = phone_sim.phone()
    d = pair_by_qr(admin, phone_sim, slug, number)
    jid = d["me"]["id"]
    before = phone_sim.connections(jid)
    assert len(before) == 1, before
    r = phone_sim.post("/admin/connections/delay", {"ms": 60000, "jid": jid})
    assert r.status_code == 200 and r.json()["delayed"] == 1, r.text

    def back():
        now = [c for c in phone_sim.connections(jid) if c["id"] != before[0]["id"]]
        return now if now and now[0]["state"] == "logged-in" else None
    wait_for(back, timeout=60, what="a new connection after the unanswered ping")
    assert wait_for(lambda: connected(admin, slug), what="Connected again")["me"]["id"] == jid


def test_logout_from_the_phone_forgets_the_device(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    number = phone_sim.phone()
    d = pair_by_qr(admin, phone_sim, slug, number)
    dev = d["me"]["id"].split(":")[1].split("@")[0]
    r = phone_sim.post("/admin/phones/%s/devices/%s/remove" % (number, dev))
    assert r.status_code == 200, r.text
    wait_for(lambda: details(admin, slug)["status"] == "Disconnected", what="logged out")
    wait_for(lambda: creds_row(stack_config, slug) == "", what="credentials deleted")
    assert signal_identity_rows(stack_config, slug) == 0
    assert sql(stack_config, "SELECT status, auto_start, IFNULL(me_jid, '-') FROM wa_sessions "
               "WHERE session_id = '%s'" % slug).strip() == "LOGGED_OUT\t0\t-"
    assert outbox_states(stack_config, slug)[-1] == "LOGGED_OUT"


def test_logout_through_the_api_unlinks_the_device(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    number = phone_sim.phone()
    d = pair_by_qr(admin, phone_sim, slug, number)
    dev = int(d["me"]["id"].split(":")[1].split("@")[0])
    assert_ok_shape(admin.post("/api/sessions/%s/logout" % slug), 200, "Session logout requested")
    assert sql(stack_config, "SELECT status FROM wa_sessions WHERE session_id = '%s'" % slug).strip() == \
        "LOGGED_OUT"
    assert creds_row(stack_config, slug) == ""
    wait_for(lambda: not [x for x in phone_sim.devices(number) if x.get("id", x.get("device")) == dev],
             what="the phone to forget the device")
    # and the session can be paired anew: start shows a fresh QR
    assert_ok_shape(admin.post("/api/sessions/%s/start" % slug), 200)
    wait_for(lambda: current_qr(admin, slug), what="a new QR after the logout")


def test_restart_required_reconnects_and_replaced_stops_without_a_reconnect_loop(
        admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    number = phone_sim.phone()
    jid = pair_by_qr(admin, phone_sim, slug, number)["me"]["id"]
    first = phone_sim.connections(jid)[0]["id"]

    # 515: the server wants a new connection; the session makes one at once
    r = phone_sim.post("/admin/connections/stream-error", {"jid": jid, "code": "515"})
    assert r.status_code == 200 and r.json()["ended"] == 1, r.text
    again = wait_for(lambda: [c for c in phone_sim.connections(jid)
                              if c["id"] != first and c["state"] == "logged-in"], what="a new connection after 515")
    wait_for(lambda: connected(admin, slug), what="Connected after 515")

    # replaced: another client of this device took over; the session stops and says why
    r = phone_sim.post("/admin/connections/stream-error", {"jid": jid, "conflict": "replaced"})
    assert r.status_code == 200, r.text
    wait_for(lambda: details(admin, slug)["status"] == "Disconnected", what="stopped after replaced")
    row = sql(stack_config, "SELECT status, auto_start, IFNULL(last_error, '') FROM wa_sessions "
              "WHERE session_id = '%s'" % slug).strip().split("\t")
    assert row[0] == "STOPPED" and row[1] == "0" and "replaced" in row[2], row
    assert outbox_states(stack_config, slug)[-1] == "STOPPED"
    # no fight over the device: two heartbeats later it has not come back
    time.sleep(4.5)
    assert [c for c in phone_sim.connections(jid) if c["id"] != again[0]["id"]] == [], phone_sim.connections(jid)
    assert details(admin, slug)["status"] == "Disconnected"
    # the credentials are kept: start logs in again without pairing
    assert creds_row(stack_config, slug).startswith("1\t")
    assert_ok_shape(admin.post("/api/sessions/%s/start" % slug), 200)
    assert wait_for(lambda: connected(admin, slug), what="Connected after start")["me"]["id"] == jid
