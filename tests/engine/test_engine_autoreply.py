"""Auto-replies through the real engine: a rule saved through
/api/autoreplies answers the messages it matches exactly once (queued with
the received message in one transaction, sent by the scheduler), refuses a
broken pattern when it is saved, survives a hostile one, follows the bot
config's auto-reply mode, and two gateways whose rules answer each other
stop at the per-chat bound instead of looping."""
import time

from conftest import sql
from test_engine_messages import inbox
from walib import pair_by_qr, wait_for


def rule(admin, slug, **body):
    r = admin.post("/api/autoreplies/%s" % slug, json=body)
    assert r.status_code == 200, r.text
    return r.json()["data"]["id"]


def texts(phone_sim, number, text):
    return [m for m in inbox(phone_sim, number) if m.get("text") == text]


def say(phone_sim, frm, to, text):
    r = phone_sim.post("/admin/phones/%s/send" % frm, {"to": to, "text": text})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def stored(stack_config, slug, msg_id):
    return sql(stack_config, "SELECT COUNT(*) FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
               "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, msg_id)) == "1"


def test_a_rule_answers_what_it_matches_once(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    rule(admin, slug, keyword="price", response="It costs 5", matchType="CONTAINS")
    rule(admin, slug, keyword="^order [0-9]+$", response="Order received", matchType="REGEX")
    rule(admin, slug, keyword="group only", response="no", matchType="EXACT", triggerType="GROUP")

    asked = say(phone_sim, bob, alice, "what is the PRICE?")
    wait_for(lambda: texts(phone_sim, bob, "It costs 5"), timeout=20, what="the auto-reply")
    say(phone_sim, bob, alice, "Order 42")
    wait_for(lambda: texts(phone_sim, bob, "Order received"), timeout=20, what="the REGEX auto-reply")
    quiet = say(phone_sim, bob, alice, "hello there")
    lone = say(phone_sim, bob, alice, "group only")
    wait_for(lambda: stored(stack_config, slug, quiet) and stored(stack_config, slug, lone), what="both stored")
    time.sleep(2)  # what would have been answered is answered within a scan
    assert len(texts(phone_sim, bob, "It costs 5")) == 1
    assert texts(phone_sim, bob, "no") == [], "a GROUP rule answered a private chat"
    # the answer is the gateway's own message: stored and linked to what it answers
    got = sql(stack_config, "SELECT m.status, m.origin, m.source_message_id FROM scheduled_messages m JOIN "
              "wa_sessions s ON s.id = m.wa_session_id WHERE s.session_id = '%s' AND m.content = 'It costs 5'"
              % slug).split("\t")
    assert got == ["SENT", "AUTO_REPLY", asked], got
    # and it is not one of the user's scheduled messages
    r = admin.get("/api/scheduler/%s" % slug)
    assert r.status_code == 200 and r.json()["data"] == [], r.text


def test_bad_and_hostile_patterns(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    r = admin.post("/api/autoreplies/%s" % slug, json={"keyword": "([a-z]+", "response": "x", "matchType": "REGEX"})
    assert r.status_code == 400 and "keyword" in r.json()["message"], r.text
    r = admin.get("/api/autoreplies/%s" % slug)
    assert r.json()["data"] == [], r.text
    # catastrophic backtracking on purpose: it gives up, the next rule still answers
    rule(admin, slug, keyword="^(a+)+$", response="never", matchType="REGEX")
    rule(admin, slug, keyword="a", response="still alive", matchType="CONTAINS")
    say(phone_sim, bob, alice, "a" * 30000 + "!")
    wait_for(lambda: texts(phone_sim, bob, "still alive"), timeout=30, what="the second rule's answer")
    assert texts(phone_sim, bob, "never") == []


def test_the_auto_reply_mode_picks_who_is_answered(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob, carol = phone_sim.phone("Alice"), phone_sim.phone("Bob"), phone_sim.phone("Carol")
    pair_by_qr(admin, phone_sim, slug, alice)
    rule(admin, slug, keyword="hi", response="hello!", matchType="EXACT")
    r = admin.post("/api/sessions/%s/bot-config" % slug,
                   json={"autoReplyMode": "BLACKLIST", "autoReplyBlockedJids": [bob + "@s.whatsapp.net"]})
    assert r.status_code == 200, r.text
    blocked = say(phone_sim, bob, alice, "hi")
    say(phone_sim, carol, alice, "HI")
    wait_for(lambda: texts(phone_sim, carol, "hello!"), timeout=20, what="Carol answered")
    wait_for(lambda: stored(stack_config, slug, blocked), what="Bob's message stored")
    time.sleep(2)
    assert texts(phone_sim, bob, "hello!") == [], "a blocked sender was answered"
    r = admin.post("/api/sessions/%s/bot-config" % slug,
                   json={"autoReplyMode": "SPECIFIC", "autoReplyAllowedJids": [bob]})
    assert r.status_code == 200, r.text
    say(phone_sim, bob, alice, "hi")
    wait_for(lambda: texts(phone_sim, bob, "hello!"), timeout=20, what="Bob allowed by number")


def test_two_gateways_answering_each_other_stop(admin, make_session, phone_sim, stack_config):
    a = make_session(admin)["sessionId"]
    b = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, a, alice)
    pair_by_qr(admin, phone_sim, b, bob)
    rule(admin, a, keyword="ping", response="ping from a", matchType="CONTAINS")
    rule(admin, b, keyword="ping", response="ping from b", matchType="CONTAINS")
    r = admin.post("/api/messages/%s/%s@s.whatsapp.net/send" % (a, bob), json={"message": "ping"})
    assert r.status_code == 200, r.text

    def count():
        return int(sql(stack_config, "SELECT COUNT(*) FROM scheduled_messages m JOIN wa_sessions s ON "
                       "s.id = m.wa_session_id WHERE s.session_id IN ('%s', '%s') AND m.origin = 'AUTO_REPLY'"
                       % (a, b)))
    wait_for(lambda: count() >= 10, timeout=60, what="the exchange to reach the bound")
    time.sleep(5)
    n = count()
    time.sleep(5)
    # five answers per chat and minute on each side, then silence
    assert count() == n == 10, (n, count())
