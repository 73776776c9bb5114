"""Placement of sessions on engines, through the API and the database:
the engine registers in `engines` with its addresses and a heartbeat, takes
up sessions that want to run (owner + lease on the session row), renews the
leases, and gives a session back when its user stops it. Workers send a
session's commands to the owner found in those rows."""
import os
import time

import pytest

# Run with the API suite once the stack starts the engine:
#   pytest --rootdir tests/api -p no:cacheprovider tests/api tests/engine
from conftest import NOT_READY, assert_error_shape, assert_ok_shape, sql, unique


def wait_for(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.2)


def engine_rows(stack_config):
    out = sql(stack_config, "SELECT id, command_url, event_url, pid, "
              "TIMESTAMPDIFF(MICROSECOND, heartbeat_at, NOW(3)) FROM engines")
    return [line.split("\t") for line in out.splitlines() if line]


def session_row(stack_config, slug):
    """(owner, microseconds its lease has left (-1 none), auto_start): a
    session's lease is its engine's (engines.lease_until)."""
    out = sql(stack_config, "SELECT IFNULL(s.engine_id, '-'), "
              "IFNULL(TIMESTAMPDIFF(MICROSECOND, NOW(3), e.lease_until), -1), s.auto_start "
              "FROM wa_sessions s LEFT JOIN engines e ON e.id = s.engine_id WHERE s.session_id = '%s'" % slug)
    eng, lease_us, auto = out.split("\t")
    return ("" if eng == "-" else eng), int(lease_us), int(auto)


@pytest.fixture
def engine_id(stack_config, engine_running):
    assert engine_running, "the stack runs wa-akg-engine; its command socket must accept connections"
    rows = engine_rows(stack_config)
    mine = [r for r in rows if r[1] == stack_config["engine.command_url"]]
    assert len(mine) == 1, rows
    return mine[0][0]


def test_engine_registers_with_its_addresses_and_a_fresh_heartbeat(stack_config, engine_id):
    row = [r for r in engine_rows(stack_config) if r[0] == engine_id][0]
    assert row[2] == stack_config["engine.event_url"]
    assert int(row[3]) > 0
    first = int(row[4])
    # the heartbeat is refreshed: never older than a few heartbeats
    assert first < 10_000_000, "heartbeat %d us old" % first
    time.sleep(2.5)
    row = [r for r in engine_rows(stack_config) if r[0] == engine_id][0]
    assert int(row[4]) < 10_000_000


def test_created_session_is_taken_up_and_its_lease_renewed(admin, stack_config, engine_id):
    slug = unique("place")
    r = admin.post("/api/sessions", json={"name": "Placement", "sessionId": slug})
    assert r.status_code == 200, r.text[:300]
    try:
        eng, lease, auto = wait_for(lambda: (lambda t: t if t[0] else None)(session_row(stack_config, slug)),
                                    what="the engine to take up " + slug)
        assert eng == engine_id and auto == 1 and lease > 0
        assert admin.get("/api/sessions/%s" % slug).json()["hasInstance"] is True
        # renewed: the lease end moves forward with the heartbeats
        first_end = time.time() + lease / 1e6
        time.sleep(2.5)
        eng2, lease2, _ = session_row(stack_config, slug)
        assert eng2 == engine_id and time.time() + lease2 / 1e6 > first_end + 1.0
        # a WhatsApp operation reaches the owner, which says what it knows
        r = admin.post("/api/messages/%s/15550001111@s.whatsapp.net/send" % slug,
                       json={"message": {"text": "hello"}})
        b = assert_error_shape(r, 503)
        assert b["message"] == NOT_READY and b["error"] == "session_not_ready", b
    finally:
        admin.delete("/api/sessions/%s" % slug)


def test_stopped_session_is_given_back_and_not_taken_again(admin, stack_config, engine_id):
    slug = unique("place")
    assert admin.post("/api/sessions", json={"name": "Stop me", "sessionId": slug}).status_code == 200
    try:
        wait_for(lambda: session_row(stack_config, slug)[0], what="take-up")
        assert_ok_shape(admin.post("/api/sessions/%s/stop" % slug), 200, "Session stop requested")
        eng, lease, auto = wait_for(lambda: (lambda t: t if not t[0] else None)(session_row(stack_config, slug)),
                                    what="release")
        assert auto == 0 and lease == -1
        assert admin.get("/api/sessions/%s" % slug).json()["hasInstance"] is False
        # two heartbeats later it is still free: a stopped session stays stopped
        time.sleep(4.5)
        assert session_row(stack_config, slug)[0] == ""
        # start: taken up again
        assert_ok_shape(admin.post("/api/sessions/%s/start" % slug), 200, "Session start requested")
        eng, _, auto = wait_for(lambda: (lambda t: t if t[0] else None)(session_row(stack_config, slug)),
                                what="take-up after start")
        assert eng == engine_id and auto == 1
    finally:
        admin.delete("/api/sessions/%s" % slug)


def test_a_second_engine_with_the_same_id_refuses_to_run(stack_config, state_dir, engine, engine_id, tmp_path):
    """Two engines under one engine.id would renew each other's leases: the
    second one (own ports, same id) stops at once with a clear error, and
    the first keeps its sessions."""
    import re
    import socket
    import subprocess

    with open("/proc/%d/cmdline" % engine.pid(), "rb") as f:
        binary = f.read().split(b"\0")[0].decode()
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    with open(os.path.join(state_dir, "wa-akg.conf"), encoding="utf-8") as f:
        conf = f.read()
    conf = re.sub(r"(?m)^command_url = .*$", "command_url = tcp://127.0.0.1:%d" % ports[0], conf)
    conf = re.sub(r"(?m)^event_url = .*$", "event_url = tcp://127.0.0.1:%d" % ports[1], conf)
    path = tmp_path / "twin.conf"
    path.write_text(conf)
    os.chmod(path, 0o600)
    before = sql(stack_config, "SELECT COUNT(*) FROM wa_sessions WHERE engine_id = '%s'" % engine_id).strip()
    p = subprocess.run([binary, "--config", str(path)], capture_output=True, text=True, timeout=30)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out[-2000:]
    assert "another engine runs with the id '%s'" % engine_id in out, out[-2000:]
    assert engine.alive()
    assert sql(stack_config, "SELECT COUNT(*) FROM wa_sessions WHERE engine_id = '%s'" % engine_id).strip() == before
    row = [r for r in engine_rows(stack_config) if r[0] == engine_id][0]
    assert row[1] == stack_config["engine.command_url"], "the first engine's row is left as it was"
