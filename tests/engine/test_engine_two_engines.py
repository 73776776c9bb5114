"""Two engines at once on one database (ARCHITECTURE.md, placement): each
sends the due scheduled messages of the sessions it owns, once, and only
those; when one of them is killed in the middle of its batch the other
takes its sessions over once their lease runs out and every row ends SENT
(delivered exactly once) or FAILED (delivered never), nobody messaged twice.

The second engine is the stack's own binary with a copy of its config under
another engine.id and its own command and event ports, started and stopped
by the test; nothing of it outlives the test. Killed at the twin's first
claim, a run here found 2 rows SENDING and 38 PENDING: the 2 were settled
SENT from their messages, the 38 sent by the first engine."""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import sql
from test_engine_scheduler import sched_row, schedule, soon, texts
from walib import pair_by_qr, wait_for


def free_ports(n):
    ports = []
    for _ in range(n):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    return ports


def owner(stack_config, slug):
    return sql(stack_config, "SELECT IFNULL(engine_id, '') FROM wa_sessions WHERE session_id = '%s'" % slug).strip()


class Twin:
    """A second wa-akg-engine: its own id and ports, a short lease (so that
    a failover in the test takes seconds) and a short settle time."""

    def __init__(self, engine, state_dir, tmp_path):
        with open("/proc/%d/cmdline" % engine.pid(), "rb") as f:
            self.binary = f.read().split(b"\0")[0].decode()
        env = engine.environ()
        with open(os.path.join(state_dir, "wa-akg.conf"), encoding="utf-8") as f:
            conf = f.read()
        first = re.search(r"(?m)^id = (.*)$", conf).group(1).strip()
        self.id = (first + "-twin")[:60]
        cmd_port, ev_port = free_ports(2)
        self.command_url = "tcp://127.0.0.1:%d" % cmd_port
        conf = re.sub(r"(?m)^id = .*$", "id = " + self.id, conf, count=1)
        conf = re.sub(r"(?m)^command_url = .*$", "command_url = " + self.command_url, conf)
        conf = re.sub(r"(?m)^event_url = .*$", "event_url = tcp://127.0.0.1:%d" % ev_port, conf)
        self.conf = tmp_path / "twin.conf"
        self.conf.write_text(conf)
        os.chmod(self.conf, 0o600)
        env.update({"WA_AKG_ENGINE_HEARTBEAT_MS": "1000", "WA_AKG_ENGINE_LEASE_MS": "4000",
                    "WA_AKG_SCHEDULER_SETTLE_MS": "3000"})
        self.log_path = tmp_path / "twin.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "--config", str(self.conf)], stdout=self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL, env=env, start_new_session=True)

    def wait_registered(self, stack_config, timeout=20):
        deadline = time.monotonic() + timeout
        while sql(stack_config, "SELECT COUNT(*) FROM engines WHERE id = '%s' AND pid = %d AND "
                  "heartbeat_at > NOW(3) - INTERVAL 5 SECOND" % (self.id, self.proc.pid)).strip() != "1":
            assert self.proc.poll() is None, "the second engine exited: " + self.tail()
            assert time.monotonic() < deadline, "the second engine did not register: " + self.tail()
            time.sleep(0.1)

    def tail(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def start_twin(engine, state_dir, stack_config, tmp_path):
    """start_twin() -> a second engine beside the stack's, which is first
    restarted with a short settle time. Afterwards the second engine is
    stopped (its sessions go back to the first), its engines row removed,
    and the first engine runs with its usual settings again."""
    engine.restart(sig=signal.SIGTERM, env_change={"WA_AKG_SCHEDULER_SETTLE_MS": "3000"})
    engine.wait_registered(stack_config)
    twins = []

    def start():
        t = Twin(engine, state_dir, tmp_path)
        twins.append(t)
        t.wait_registered(stack_config)
        return t

    try:
        yield start
    finally:
        for t in twins:
            t.stop()
            sql(stack_config, "DELETE FROM engines WHERE id = '%s'" % t.id)
        engine.restart(sig=signal.SIGTERM, env_change={"WA_AKG_SCHEDULER_SETTLE_MS": None})
        engine.wait_registered(stack_config)


def paired_session(admin, make_session, phone_sim):
    slug = make_session(admin)["sessionId"]
    pair_by_qr(admin, phone_sim, slug, phone_sim.phone("Alice"))
    return slug


def test_two_engines_send_each_their_own_due_messages_once_and_a_failover_loses_none(
        admin, make_session, phone_sim, stack_config, start_twin):
    first = sql(stack_config, "SELECT id FROM engines WHERE command_url = '%s'"
                % stack_config["engine.command_url"]).strip()
    # one session while the first engine is alone, then the twin: a new
    # session goes to the live engine with the fewest, so the next ones
    # are the twin's (checked, not assumed)
    slugs = [paired_session(admin, make_session, phone_sim)]
    twin = start_twin()
    slugs += [paired_session(admin, make_session, phone_sim) for _ in range(2)]
    owners = {s: owner(stack_config, s) for s in slugs}
    on_first = [s for s in slugs if owners[s] == first]
    on_twin = [s for s in slugs if owners[s] == twin.id]
    assert on_first and on_twin and len(on_first) + len(on_twin) == 3, (first, twin.id, owners)

    # 1. both engines running: 8 due messages per session at the same moment
    bob = phone_sim.phone("Bob")
    at = soon(3)
    rows = {(s, i): schedule(admin, s, {"jid": bob + "@s.whatsapp.net", "content": "%s #%d" % (s, i),
                                         "sendAt": at})
            for s in on_first + on_twin for i in range(8)}
    wait_for(lambda: all(sched_row(stack_config, r)[0] == "SENT" for r in rows.values()), timeout=90,
             what="every row SENT")
    for (s, i), r in rows.items():
        got = texts(phone_sim, bob, "%s #%d" % (s, i))
        assert len(got) == 1 and got[0]["id"] == sched_row(stack_config, r)[1], ((s, i), got)
    # each engine sent its own sessions' rows: the sessions stayed where
    # they were, and a session's messages only leave through its owner's socket
    assert all(owner(stack_config, s) == first for s in on_first)
    assert all(owner(stack_config, s) == twin.id for s in on_twin)

    # 2. the twin killed in the middle of its batch: the first engine takes
    # its sessions over and settles or sends every row, none twice
    carol = phone_sim.phone("Carol")
    at = soon(2)
    batch = {(s, i): schedule(admin, s, {"jid": carol + "@s.whatsapp.net", "content": "%s @%d" % (s, i),
                                          "sendAt": at})
             for s in on_twin for i in range(40)}
    ids = ",".join(str(int(r)) for r in batch.values())
    wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM scheduled_messages WHERE id IN (%s) AND "
                         "status <> 'PENDING'" % ids).strip() != "0", timeout=30, every=0.005,
             what="the twin to claim the first of its batch")
    twin.stop(sig=signal.SIGKILL)
    wait_for(lambda: all(owner(stack_config, s) == first for s in on_twin) or None, timeout=60,
             what="the first engine to take the twin's sessions over")

    def settled():
        got = {k: sched_row(stack_config, r) for k, r in batch.items()}
        return all(v[0] in ("SENT", "FAILED") for v in got.values()) and got

    final = wait_for(settled, timeout=120, what="every row of the killed engine's batch SENT or FAILED")
    for k, r in final.items():
        got = texts(phone_sim, carol, "%s @%d" % k)
        assert len(got) <= 1, ("sent twice", k, got)
        if r[0] == "SENT":
            assert len(got) == 1 and got[0]["id"] == r[1], (k, r, got)
        else:
            assert got == [] and ("not confirmed" in r[2] or "refused" in r[2]), (k, r, got)
    assert any(r[0] == "SENT" for r in final.values()), final
