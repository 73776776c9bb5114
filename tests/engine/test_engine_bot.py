"""The bot config acting through the real engine: prefix commands (ping with
its latency, uptime, the help menu) answered for who botMode allows, the
anti-spam bound, the welcome message on a person's first message, and
auto-read (the bot's autoRead, or the session setting readReceipts: true)."""
import re
import time

from conftest import sql
from test_engine_messages import inbox, outbox_status
from walib import pair_by_qr, wait_for


def say(phone_sim, frm, to, text):
    r = phone_sim.post("/admin/phones/%s/send" % frm, {"to": to, "text": text})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def answers(phone_sim, number, pattern):
    return [m for m in inbox(phone_sim, number) if m.get("text") and re.match(pattern, m["text"])]


def stored(stack_config, slug, msg_id):
    return sql(stack_config, "SELECT COUNT(*) FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
               "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, msg_id)) == "1"


def bot_config(admin, slug, **body):
    r = admin.post("/api/sessions/%s/bot-config" % slug, json=body)
    assert r.status_code == 200, r.text


def test_commands_for_whom_the_mode_allows(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    # the default mode is OWNER: a contact's command is not answered
    bot_config(admin, slug, enabled=True, botName="Helper")
    first = say(phone_sim, bob, alice, "#ping")
    wait_for(lambda: stored(stack_config, slug, first), what="the command stored")
    time.sleep(2)
    assert answers(phone_sim, bob, "Pong") == []

    bot_config(admin, slug, botMode="ALL", prefix="!")
    say(phone_sim, bob, alice, "!PING")
    got = wait_for(lambda: answers(phone_sim, bob, r"Pong! Latency: \d+ ms$"), timeout=20, what="the pong")
    assert len(got) == 1
    say(phone_sim, bob, alice, "!uptime")
    wait_for(lambda: answers(phone_sim, bob, r"Uptime: (\d+h )?\d+m \d+s$"), timeout=20, what="the uptime")
    say(phone_sim, bob, alice, "!help")
    menu = wait_for(lambda: answers(phone_sim, bob, r"\*Helper\*"), timeout=20, what="the menu")[0]["text"]
    assert "!ping" in menu and "!uptime" in menu and "!help" in menu, menu
    quiet = [say(phone_sim, bob, alice, t) for t in ("!nothing", "#ping", "ping", "!pingpong")]
    wait_for(lambda: all(stored(stack_config, slug, i) for i in quiet), what="the rest stored")
    time.sleep(2)
    assert len(answers(phone_sim, bob, "Pong")) == 1, "only the one ping was answered"

    bot_config(admin, slug, botMode="BLACKLIST", botBlockedJids=[bob + "@s.whatsapp.net"])
    blocked = say(phone_sim, bob, alice, "!ping")
    wait_for(lambda: stored(stack_config, slug, blocked), what="stored")
    time.sleep(2)
    assert len(answers(phone_sim, bob, "Pong")) == 1, "a blocked sender was answered"


def test_anti_spam_bounds_the_answers(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    bot_config(admin, slug, enabled=True, botMode="ALL", antiSpamEnabled=True, spamLimit=2, spamInterval=60,
               spamDelayMin=0, spamDelayMax=0)
    ids = [say(phone_sim, bob, alice, "#ping") for _ in range(4)]
    wait_for(lambda: all(stored(stack_config, slug, i) for i in ids), what="all stored")
    wait_for(lambda: len(answers(phone_sim, bob, "Pong")) == 2, timeout=20, what="two answers")
    time.sleep(2)
    assert len(answers(phone_sim, bob, "Pong")) == 2


def test_welcome_and_auto_read(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob, carol = phone_sim.phone("Alice"), phone_sim.phone("Bob"), phone_sim.phone("Carol")
    pair_by_qr(admin, phone_sim, slug, alice)
    bot_config(admin, slug, enabled=True, welcomeEnabled=True, welcomeMessage="Welcome! We answer within a day.",
               autoRead=True)
    first = say(phone_sim, bob, alice, "hello?")
    wait_for(lambda: answers(phone_sim, bob, "Welcome!"), timeout=20, what="the welcome")
    wait_for(lambda: outbox_status(phone_sim, bob, first) == "read", what="Bob's message read")
    second = say(phone_sim, bob, alice, "anyone?")
    wait_for(lambda: outbox_status(phone_sim, bob, second) == "read", what="the second read too")
    time.sleep(1)
    assert len(answers(phone_sim, bob, "Welcome!")) == 1, "welcomed once"

    # without autoRead, the session setting readReceipts: true reads what is stored
    bot_config(admin, slug, autoRead=False)
    r = admin.patch("/api/sessions/%s/settings" % slug, json={"config": {"readReceipts": True}})
    assert r.status_code == 200, r.text
    third = say(phone_sim, carol, alice, "hi")
    wait_for(lambda: outbox_status(phone_sim, carol, third) == "read", what="Carol's message read")
    r = admin.patch("/api/sessions/%s/settings" % slug, json={"config": {"readReceipts": False}})
    assert r.status_code == 200, r.text
    fourth = say(phone_sim, carol, alice, "still there?")
    wait_for(lambda: outbox_status(phone_sim, carol, fourth) == "delivered", what="delivered only")
    time.sleep(1)
    assert outbox_status(phone_sim, carol, fourth) == "delivered"
