"""The bot config acting through the real engine: prefix commands (ping with
its latency, uptime, the help menu) answered for who botMode allows, the
anti-spam bound, the welcome message on a person's first message,
auto-read (the bot's autoRead, or the session setting readReceipts: true),
and the media commands: sticker (a 512x512 still WebP of an image; of a
video: test_engine_video.py) and
removebg (through a local fake of remove.bg's API)."""
import base64
import hashlib
import http.server
import json
import os
import re
import socketserver
import struct
import threading
import time

import pytest

from conftest import sql
from test_engine_media import png
from test_engine_messages import inbox, outbox_status
from walib import connected, pair_by_qr, wait_for


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


def test_always_online_says_available_at_login(admin, make_session, phone_sim):
    from test_engine_chat import phone_state
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    pair_by_qr(admin, phone_sim, slug, alice)
    assert phone_state(phone_sim, alice)["available"] is not True, "available without alwaysOnline"
    bot_config(admin, slug, enabled=True, alwaysOnline=True)
    r = admin.post("/api/sessions/%s/restart" % slug)
    assert r.status_code == 200, r.text
    wait_for(lambda: phone_state(phone_sim, alice)["available"] is True, timeout=30,
             what="the account available after the login")


# ---- the media commands: sticker and removebg of an image ----

def send_media(phone_sim, frm, to, kind, data, **extra):
    body = {"to": to, kind: dict({"data": base64.b64encode(data).decode()}, **extra)}
    r = phone_sim.post("/admin/phones/%s/send" % frm, body)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def reply_to(phone_sim, number, msg_id, kind):
    return [m for m in inbox(phone_sim, number) if m.get("quotedId") == msg_id and m["type"] == kind]


def webp_info(b):
    """(width, height, frames) of a WebP file, from its RIFF chunks."""
    assert b[:4] == b"RIFF" and b[8:12] == b"WEBP", b[:16]
    assert struct.unpack("<I", b[4:8])[0] + 8 == len(b), "RIFF size"
    w = h = None
    frames = 0
    i = 12
    while i + 8 <= len(b):
        kind, size = b[i:i + 4], struct.unpack("<I", b[i + 4:i + 8])[0]
        data = b[i + 8:i + 8 + size]
        if kind == b"VP8X":
            assert not data[0] & 0x02, "the animation flag is set"
            w = 1 + int.from_bytes(data[4:7], "little")
            h = 1 + int.from_bytes(data[7:10], "little")
        elif kind == b"VP8 ":
            assert data[3:6] == b"\x9d\x01\x2a", "VP8 key frame start code"
            fw, fh = struct.unpack("<HH", data[6:10])
            w, h = w or fw & 0x3fff, h or fh & 0x3fff
            frames += 1
        elif kind == b"VP8L":
            assert data[0] == 0x2f, "VP8L signature"
            bits = int.from_bytes(data[1:5], "little")
            w, h = w or (bits & 0x3fff) + 1, h or ((bits >> 14) & 0x3fff) + 1
            frames += 1
        elif kind in (b"ANIM", b"ANMF"):
            frames += 100
        i += 8 + size + (size & 1)
    return w, h, frames


def media_of(admin, slug, msg_id):
    d = admin.get("/api/messages/%s/download/%s/media" % (slug, msg_id), timeout=60)
    assert d.status_code == 200, (d.status_code, d.text[:200])
    return d.content


def check_sticker(admin, slug, m, pack):
    assert m["mediaOk"] is True and m["mimetype"] == "image/webp", m
    assert m["webpWidth"] == 512 and m["webpHeight"] == 512, m
    meta = json.loads(m["mediaExif"])
    assert meta["sticker-pack-name"] == pack and meta["sticker-pack-publisher"] == "WA-AKG", meta
    # the file itself, downloaded back from the media host: a still 512x512 WebP
    assert webp_info(media_of(admin, slug, m["id"])) == (512, 512, 1)


def test_sticker_of_an_image_by_caption_or_reply(admin, make_session, phone_sim, stack_config):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    bot_config(admin, slug, enabled=True, botMode="ALL", prefix="!", botName="Sticker Bot")

    cmd = send_media(phone_sim, bob, alice, "image", png(300, 200), caption="!sticker")
    st = wait_for(lambda: reply_to(phone_sim, bob, cmd, "sticker"), timeout=60, what="the sticker")[0]
    check_sticker(admin, slug, st, "Sticker Bot")

    # a text command replying to an image (no caption)
    img = send_media(phone_sim, bob, alice, "image", png(64, 128, (10, 200, 10, 128)))
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "!Sticker", "quotedId": img})
    assert r.status_code == 200, r.text
    st = wait_for(lambda: reply_to(phone_sim, bob, r.json()["id"], "sticker"), timeout=60,
                  what="the sticker of the quoted image")[0]
    check_sticker(admin, slug, st, "Sticker Bot")

    # a "video" that does not decode (animated stickers of real videos:
    # test_engine_video.py); nothing to make it of: how to use it
    send_media(phone_sim, bob, alice, "video", os.urandom(2000), caption="!sticker", seconds=3)
    wait_for(lambda: answers(phone_sim, bob, "Could not make the sticker: the file is not an image or a video"),
             timeout=30, what="the video answer")
    say(phone_sim, bob, alice, "!sticker")
    wait_for(lambda: answers(phone_sim, bob,
                             "Send !sticker as the caption of an image or a video, or as a reply to one"),
             timeout=20, what="the usage answer")
    assert len([m for m in inbox(phone_sim, bob) if m["type"] == "sticker"]) == 2
    say(phone_sim, bob, alice, "!help")
    menu = wait_for(lambda: answers(phone_sim, bob, r"\*Sticker Bot\*"), timeout=20, what="the menu")[0]["text"]
    assert "!sticker" in menu and "!removebg" not in menu, menu

    # the anti-spam bound holds for the media commands: the texts above filled it
    bot_config(admin, slug, antiSpamEnabled=True, spamLimit=2, spamInterval=300, spamDelayMin=0, spamDelayMax=0)
    spam = send_media(phone_sim, bob, alice, "image", png(32, 32), caption="!sticker")
    # enableSticker false: not answered
    bot_config(admin, slug, antiSpamEnabled=False, enableSticker=False)
    off = send_media(phone_sim, bob, alice, "image", png(32, 32), caption="!sticker")
    wait_for(lambda: stored(stack_config, slug, spam) and stored(stack_config, slug, off), what="the images stored")
    time.sleep(3)
    assert len([m for m in inbox(phone_sim, bob) if m["type"] == "sticker"]) == 2


class FakeRemoveBg(http.server.BaseHTTPRequestHandler):
    """remove.bg's POST /v1.0/removebg: X-Api-Key checked, the multipart
    image_file kept, a PNG answered (or its JSON error)."""
    key = "rb-test-key"
    answer = None
    images = []
    calls = 0

    def log_message(self, *a):
        pass

    def do_POST(self):
        FakeRemoveBg.calls += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ctype = self.headers.get("Content-Type", "")
        if self.headers.get("X-Api-Key") != self.key:
            return self.reply(403, b'{"errors":[{"title":"API Key invalid","code":"auth_failed"}]}',
                              "application/json")
        assert ctype.startswith("multipart/form-data; boundary="), ctype
        boundary = ctype.split("boundary=", 1)[1].encode()
        parts = {}
        for p in body.split(b"--" + boundary)[1:-1]:
            head, _, data = p.partition(b"\r\n\r\n")
            name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
            parts[name] = data[:-2]
        if "image_file" not in parts or parts.get("size") != b"auto":
            return self.reply(400, b'{"errors":[{"title":"No image given"}]}', "application/json")
        FakeRemoveBg.images.append(parts["image_file"])
        self.reply(200, FakeRemoveBg.answer, "image/png")

    def reply(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def removebg(engine, stack_config):
    """The fake on a loopback port, and the engine restarted with
    bot.removebg_url pointing at it (WA_AKG_BOT_REMOVEBG_URL)."""
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeRemoveBg)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    orig = engine.environ().get("WA_AKG_BOT_REMOVEBG_URL")
    engine.restart(sig=15, env_change={"WA_AKG_BOT_REMOVEBG_URL":
                                       "http://127.0.0.1:%d/v1.0/removebg" % srv.server_address[1]})
    engine.wait_registered(stack_config)
    try:
        yield FakeRemoveBg
    finally:
        engine.restart(sig=15, env_change={"WA_AKG_BOT_REMOVEBG_URL": orig})
        engine.wait_registered(stack_config)
        srv.shutdown()
        srv.server_close()


def test_removebg_through_the_configured_endpoint(admin, make_session, phone_sim, removebg):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    bot_config(admin, slug, enabled=True, botMode="ALL", prefix="!")
    picture = png(120, 80, (250, 250, 250, 255))

    # no key: said so
    cmd = send_media(phone_sim, bob, alice, "image", picture, caption="!removebg")
    wait_for(lambda: answers(phone_sim, bob, "remove.bg is not configured"), timeout=20, what="not configured")

    removebg.answer = png(120, 80, (0, 0, 0, 0))
    removebg.images.clear()
    removebg.calls = 0
    bot_config(admin, slug, removeBgApiKey=removebg.key)
    cmd = send_media(phone_sim, bob, alice, "image", picture, caption="!removebg")
    out = wait_for(lambda: reply_to(phone_sim, bob, cmd, "image"), timeout=60, what="the image back")[0]
    assert removebg.images == [picture], "remove.bg got the image as the phone sent it"
    assert out["mediaOk"] is True and out["mediaSha256"] == hashlib.sha256(removebg.answer).hexdigest(), out
    assert out["mimetype"] == "image/png", out

    # remote error: its title answered
    bot_config(admin, slug, removeBgApiKey="not-the-key")
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "!removebg", "quotedId": cmd})
    assert r.status_code == 200, r.text
    wait_for(lambda: answers(phone_sim, bob, "remove.bg: API Key invalid$"), timeout=30, what="the error title")
    assert len(removebg.images) == 1 and removebg.calls == 2, "one call to remove.bg per command"


def bot_rows(stack_config, slug, source):
    out = sql(stack_config, "SELECT m.media_type, m.status FROM scheduled_messages m JOIN wa_sessions s ON "
              "s.id = m.wa_session_id WHERE s.session_id = '%s' AND m.origin = 'BOT' AND m.source_message_id = '%s'"
              % (slug, source))
    return [line.split("\t") for line in out.splitlines() if line]


def test_a_sticker_answer_survives_an_engine_crash(admin, make_session, phone_sim, stack_config, engine):
    """The answer is a row queued with the command: an engine killed before
    it is made makes it after the restart, once."""
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    # the anti-spam delay holds the answer back long enough to kill the engine
    bot_config(admin, slug, enabled=True, botMode="ALL", prefix="!", botName="Crash Bot", antiSpamEnabled=True,
               spamLimit=10, spamInterval=60, spamDelayMin=4000, spamDelayMax=4000)
    cmd = send_media(phone_sim, bob, alice, "image", png(120, 80), caption="!sticker")
    wait_for(lambda: bot_rows(stack_config, slug, cmd) == [["BOT_STICKER", "PENDING"]], what="the answer's row")
    engine.restart()
    wait_for(lambda: connected(admin, slug), timeout=60, what="the session back")
    st = wait_for(lambda: reply_to(phone_sim, bob, cmd, "sticker"), timeout=60, what="the sticker after the crash")
    check_sticker(admin, slug, st[0], "Crash Bot")
    wait_for(lambda: bot_rows(stack_config, slug, cmd) == [["BOT_STICKER", "SENT"]], what="the row SENT")
    time.sleep(2)
    assert len(reply_to(phone_sim, bob, cmd, "sticker")) == 1
