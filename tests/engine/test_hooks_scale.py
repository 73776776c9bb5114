"""wa-akg-hooks beyond one receiver and one process: a slow receiver holds
up only its own events (attempts run in parallel, hooks.parallel); two
hooks processes on one database deliver every event exactly once (each
attempt claims its row); old delivery-log and outbox rows are pruned
(hooks.keep_days), but never an event a delivery still waits for."""
import os
import subprocess

from conftest import sql
from test_hooks import Receiver, add_hook, hooks, message_ids, paired, receiver, send  # noqa: F401
from walib import wait_for


def test_a_slow_receiver_holds_up_only_its_own_events(admin, make_session, phone_sim, stack_config,
                                                       receiver, hooks):
    slow = Receiver()
    try:
        slug, alice = paired(admin, make_session, phone_sim)
        add_hook(admin, slug, slow.url, ["message.received"], name="slow")
        add_hook(admin, slug, receiver.url, ["message.received"], name="fast")
        slow.delay = 6.0  # below the stack's hooks.timeout_ms (10 s): a slow success, not a failure
        bob = phone_sim.phone("Bob")
        first = send(phone_sim, bob, alice, "s0")
        wait_for(lambda: slow.all_calls(), what="the slow receiver's first call")
        rest = [send(phone_sim, bob, alice, "s%d" % i) for i in (1, 2)]
        # while the slow receiver still sits on its first event, the fast
        # one gets all three (one after another would have waited for it)
        wait_for(lambda: len(receiver.ok_calls()) >= 3, timeout=20, what="the fast receiver's three events")
        assert len(slow.all_calls()) == 1, "the slow receiver's second event came before the fast one's third"
        assert [m for _, m in message_ids(receiver.ok_calls())] == [first] + rest
        # and the slow one still gets all three, in order
        slow.delay = 0.0
        wait_for(lambda: len(slow.ok_calls()) >= 3, timeout=40, what="the slow receiver's three events")
        assert [m for _, m in message_ids(slow.ok_calls())] == [first] + rest
    finally:
        slow.close()


def test_two_hooks_processes_deliver_each_event_exactly_once(admin, make_session, phone_sim, stack_config,
                                                            receiver, hooks, tmp_path):
    pid = hooks.pid()
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        argv = [a.decode() for a in f.read().split(b"\0") if a]
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
    log = open(tmp_path / "hooks2.log", "ab")
    second = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                              start_new_session=True)
    try:
        wait_for(lambda: b"started" in (tmp_path / "hooks2.log").read_bytes(), what="the second hooks process")
        slug, alice = paired(admin, make_session, phone_sim)
        hook = add_hook(admin, slug, receiver.url, ["message.received"])
        receiver.delay = 0.05  # attempts overlap the other process's passes
        bob = phone_sim.phone("Bob")
        sent = [send(phone_sim, bob, alice, "x%d" % i) for i in range(12)]
        wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = %s AND "
                             "state = 'DELIVERED'" % hook["id"]) == "12", timeout=60, what="12 deliveries")
        assert second.poll() is None, (tmp_path / "hooks2.log").read_text()
        pairs = message_ids(receiver.ok_calls())
        # once each (the claim), and in order per session and webhook
        assert [m for _, m in pairs] == sent, pairs
        assert len(set(e for e, _ in pairs)) == 12, pairs
    finally:
        second.terminate()
        second.wait(timeout=20)
        log.close()


def test_old_log_and_outbox_rows_are_pruned_but_not_what_a_delivery_waits_for(
        admin, make_session, stack_config, receiver, hooks):
    slug = make_session(admin)["sessionId"]
    hook = add_hook(admin, slug, receiver.url, ["message.received"])
    sess = sql(stack_config, "SELECT id FROM wa_sessions WHERE session_id = '%s'" % slug).strip()
    old = "NOW(3) - INTERVAL 8 DAY"

    def outbox(age):
        sql(stack_config, "INSERT INTO events_outbox (wa_session_id, event, payload, created_at, published_at) "
            "VALUES (%s, 'message.received', '{\"t\":1}', %s, %s)" % (sess, age, age))
        return sql(stack_config, "SELECT MAX(id) FROM events_outbox WHERE wa_session_id = %s" % sess).strip()

    def delivery(ev, state, age):
        sql(stack_config, "INSERT INTO webhook_deliveries (webhook_id, outbox_id, event, payload, state, created_at, "
            "next_attempt_at) VALUES (%s, %s, 'message.received', '{}', '%s', %s, %s)"
            % (hook["id"], ev, state, age, "NOW(3) + INTERVAL 1 DAY" if state == "PENDING" else "NULL"))

    old_done, old_waiting, recent = outbox(old), outbox(old), outbox("NOW(3)")
    delivery(old_done, "DELIVERED", old)
    delivery(old_waiting, "PENDING", old)  # due tomorrow: not attempted by this test
    delivery(recent, "DELIVERED", "NOW(3)")
    # pruning runs at the start of wa-akg-hooks (then hourly)
    hooks.kill()
    hooks.start()
    wait_for(lambda: sql(stack_config, "SELECT COUNT(*) FROM events_outbox WHERE id = %s" % old_done) == "0",
             timeout=30, what="the old delivered event pruned")
    assert sql(stack_config, "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = %s AND outbox_id = %s"
               % (hook["id"], old_done)) == "0"
    # the old event a delivery still waits for, and the recent ones, stay
    assert sql(stack_config, "SELECT COUNT(*) FROM events_outbox WHERE id IN (%s, %s)" % (old_waiting, recent)) == "2"
    assert sql(stack_config, "SELECT state FROM webhook_deliveries WHERE webhook_id = %s AND outbox_id = %s"
               % (hook["id"], old_waiting)) == "PENDING"
    assert sql(stack_config, "SELECT state FROM webhook_deliveries WHERE webhook_id = %s AND outbox_id = %s"
               % (hook["id"], recent)) == "DELIVERED"
