"""Sending media through the real engine to wa-sim's phones: by URL (a
local HTTP server this module starts), by base64 and data: URL, by the
multipart /media route, stickers from a PNG; the phone downloads the file
from wa-sim's media host, decrypts it with the keys of its kind and shows
the plaintext's SHA-256, so every test checks the exact bytes. Refused
sources answer 400 and leave nothing stored and nothing sent."""
import base64
import hashlib
import http.server
import json
import os
import socketserver
import struct
import threading
import time
import zlib

import pytest

from conftest import assert_error_shape, sql
from test_engine_messages import inbox
from walib import pair_by_qr, wait_for


def png(width, height, rgba=(200, 30, 30, 255)):
    """A valid RGBA PNG of one colour."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    row = b"\0" + bytes(rgba) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def textured_png(width, height):
    """A valid opaque RGBA PNG of a smooth pattern (lossy quality shows in its size)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    rows = b"".join(b"\0" + b"".join(bytes(((x * 7 + y * 3) % 256, (x * y) % 256, (x ^ y) % 256, 255))
                                      for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def pdf(pages):
    objs = ["<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join("%d 0 R" % (3 + i) for i in range(pages)), pages)]
    objs += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"] * pages
    body = b"%PDF-1.4\n"
    for i, o in enumerate(objs):
        body += b"%d 0 obj %s endobj\n" % (i + 1, o.encode())
    return body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


def ogg_opus(seconds, pad=2000):
    """An Ogg stream with an OpusHead page and a last page whose granule
    position says `seconds` (48 kHz, pre-skip 312); not playable audio, but
    what a reader of the duration looks at."""
    def page(granule, seq, packet, flags=0):
        segs = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
        return (b"OggS\0" + bytes([flags]) + struct.pack("<QIII", granule, 1, seq, 0) + bytes([len(segs)]) +
                segs + packet)
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    return page(0, 0, head, 2) + page(0, 1, os.urandom(pad)) + page(48000 * seconds + 312, 2, os.urandom(200), 4)


class Files(http.server.BaseHTTPRequestHandler):
    files = {}      # path -> (bytes, content type)
    lying = set()   # paths answered with a Content-Length far over the cap
    hits = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        Files.hits.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/inside.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path in Files.lying:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(100 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"\0" * 1024)
            return
        if self.path.startswith("/slow/"):
            # the body trickles for longer than engine.timeout_ms
            data, secs = Files.files["/slow"][0], float(self.path.split("/")[2])
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            half = len(data) // 2
            self.wfile.write(data[:half])
            self.wfile.flush()
            time.sleep(secs)
            self.wfile.write(data[half:])
            return
        f = Files.files.get(self.path)
        if not f:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", f[1])
        self.send_header("Content-Length", str(len(f[0])))
        self.end_headers()
        for i in range(0, len(f[0]), 1 << 20):
            self.wfile.write(f[0][i:i + (1 << 20)])


@pytest.fixture(scope="module")
def files():
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Files)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]

    def put(path, data, ctype):
        Files.files[path] = (data, ctype)
        return base + path
    put.base = base
    yield put
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def chat(admin, make_session, phone_sim):
    """A paired session and the phone it writes to."""
    slug = make_session(admin)["sessionId"]
    alice = phone_sim.phone("Alice")
    bob = phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    return {"slug": slug, "alice": alice, "bob": bob, "jid": bob + "@s.whatsapp.net"}


def got(phone_sim, number, msg_id, what, timeout=30):
    return wait_for(lambda: [m for m in inbox(phone_sim, number) if m["id"] == msg_id], timeout=timeout,
                    what=what)[0]


def send(admin, c, message, **extra):
    body = {"message": message}
    body.update(extra)
    return admin.post("/api/messages/%s/%s/send" % (c["slug"], c["jid"]), json=body, timeout=120)


def row(stack_config, slug, msg_id):
    out = sql(stack_config, "SELECT m.type, IFNULL(m.caption, ''), IFNULL(m.media_mime, ''), "
              "IFNULL(m.media_size, 0), m.status FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
              "WHERE s.session_id = '%s' AND m.message_id = '%s'" % (slug, msg_id)).strip()
    return out.split("\t") if out else None


def count(stack_config, slug):
    return int(sql(stack_config, "SELECT COUNT(*) FROM messages m JOIN wa_sessions s ON s.id = m.wa_session_id "
                   "WHERE s.session_id = '%s'" % slug).strip())


def sha(b):
    return hashlib.sha256(b).hexdigest()


def test_an_image_by_url_base64_and_data_url_reaches_the_phone_byte_for_byte(admin, chat, phone_sim, stack_config,
                                                                              files):
    img = png(120, 60)
    url = files("/pic.png", img, "image/png")

    r = send(admin, chat, {"image": {"url": url}, "caption": "by URL"})
    assert r.status_code == 200, r.text
    b = r.json()
    im = b["data"]["message"]["imageMessage"]
    assert im["mimetype"] == "image/png" and im["caption"] == "by URL", im
    assert im["directPath"].startswith("/") and im["fileLength"] == str(len(img)), im
    assert base64.b64decode(im["fileSha256"]) == hashlib.sha256(img).digest(), im
    assert im["width"] == 120 and im["height"] == 60 and im["jpegThumbnail"], im
    m = got(phone_sim, chat["bob"], b["data"]["key"]["id"], "the image on Bob's phone")
    assert m["type"] == "image" and m["caption"] == "by URL", m
    assert m["mediaOk"] is True and m["mediaSha256"] == sha(img) and m["mediaSize"] == len(img), m
    assert m["width"] == 120 and m["height"] == 60 and m["thumbnailSize"] > 0, m
    assert row(stack_config, chat["slug"], b["data"]["key"]["id"])[:4] == ["IMAGE", "by URL", "image/png",
                                                                           str(len(img))]

    # base64 as a bare string (the mimetype from the bytes), and a data: URL inside the object
    img2 = png(33, 77, (0, 0, 255, 128))
    r = send(admin, chat, {"image": base64.b64encode(img2).decode()})
    assert r.status_code == 200, r.text
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the base64 image")
    assert m["mediaOk"] is True and m["mediaSha256"] == sha(img2) and m["mimetype"] == "image/png", m
    assert m["width"] == 33 and m["height"] == 77, m
    r = send(admin, chat, {"image": {"url": "data:image/png;base64," + base64.b64encode(img2).decode(),
                                     "caption": "inside"}})
    assert r.status_code == 200, r.text
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the data: URL image")
    assert m["mediaOk"] is True and m["mediaSha256"] == sha(img2) and m["caption"] == "inside", m
    # one media_conn for the three uploads (kept until its ttl)
    companion = [d for d in phone_sim.devices(chat["alice"]) if d["id"] != 0][-1]
    assert companion["iqs"]["media"] == 1, companion


def test_media_as_a_reply_with_mentions_carries_the_context(admin, chat, phone_sim, stack_config, files):
    r = phone_sim.post("/admin/phones/%s/send" % chat["bob"], {"to": chat["alice"], "text": "send me the file"})
    assert r.status_code == 200, r.text
    asked = r.json()["id"]
    wait_for(lambda: row(stack_config, chat["slug"], asked), what="Bob's message stored")
    doc = pdf(2)
    r = admin.post("/api/messages/%s/%s/reply" % (chat["slug"], chat["jid"]),
                   json={"messageId": asked, "message": {"document": {"url": files("/r.pdf", doc, "application/pdf")},
                                                         "fileName": "report.pdf", "caption": "here"},
                         "mentions": [chat["bob"] + "@s.whatsapp.net"]}, timeout=120)
    assert r.status_code == 200, r.text
    d = r.json()["data"]["message"]["documentMessage"]
    assert d["contextInfo"]["stanzaId"] == asked and d["fileName"] == "report.pdf" and d["pageCount"] == 2, d
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the document reply")
    assert m["type"] == "document" and m["fileName"] == "report.pdf" and m["pageCount"] == 2, m
    assert m["quotedId"] == asked and m["mentions"] == [chat["jid"]], m
    assert m["mediaOk"] is True and m["mediaSha256"] == sha(doc) and m["mimetype"] == "application/pdf", m


def test_multipart_uploads_document_voice_and_audio(admin, chat, phone_sim, stack_config):
    url = "/api/messages/%s/%s/media" % (chat["slug"], chat["jid"])
    doc = os.urandom(50000)
    r = admin.post(url, files={"file": ("notes.bin", doc, "application/octet-stream")},
                   data={"type": "document", "caption": "the notes"}, timeout=120)
    assert r.status_code == 200, r.text
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the uploaded document")
    assert m["type"] == "document" and m["fileName"] == "notes.bin" and m["caption"] == "the notes", m
    assert m["mimetype"] == "application/octet-stream", "not a PDF: no PDF type made up: %r" % m
    # what we sent downloads back through the API, byte for byte (from the media host, by its protobuf)
    d = admin.get("/api/messages/%s/download/%s/media" % (chat["slug"], m["id"]), timeout=60)
    assert d.status_code == 200 and d.content == doc, (d.status_code, d.headers)
    assert m["mediaOk"] is True and m["mediaSha256"] == sha(doc), m

    voice = ogg_opus(7)
    r = admin.post(url, files={"file": ("v.ogg", voice, "audio/ogg; codecs=opus")}, data={"type": "voice"},
                   timeout=120)
    assert r.status_code == 200, r.text
    a = r.json()["data"]["message"]["audioMessage"]
    assert a["ptt"] is True and a["seconds"] == 7, a
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the voice note")
    assert m["type"] == "ptt" and m["seconds"] == 7 and m["mimetype"] == "audio/ogg; codecs=opus", m
    assert m["mediaOk"] is True and m["mediaSha256"] == sha(voice), m
    assert row(stack_config, chat["slug"], m["id"])[0] == "AUDIO"

    # audio by base64 with the mimetype beside it (the n8n node's shape), and ptt on /send
    mp3 = b"ID3\3\0\0\0\0\0\0" + os.urandom(3000)
    r = send(admin, chat, {"audio": base64.b64encode(mp3).decode(), "mimetype": "audio/mpeg"})
    assert r.status_code == 200, r.text
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the audio")
    assert m["type"] == "audio" and m["mimetype"] == "audio/mpeg" and m["mediaSha256"] == sha(mp3), m
    r = send(admin, chat, {"audio": {"url": "data:audio/ogg;base64," + base64.b64encode(voice).decode()},
                           "ptt": True})
    assert r.status_code == 200, r.text
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the ptt by /send")
    assert m["type"] == "ptt" and m["mediaSha256"] == sha(voice), m


def test_an_image_to_a_group_reaches_every_member(admin, make_session, phone_sim, files):
    slug = make_session(admin)["sessionId"]
    alice, bob, carol = phone_sim.phone("Alice"), phone_sim.phone("Bob"), phone_sim.phone("Carol")
    pair_by_qr(admin, phone_sim, slug, alice)
    r = phone_sim.post("/admin/groups", {"phone": bob, "subject": "Pics", "participants": [alice, carol]})
    assert r.status_code == 201, r.text
    group = r.json()["jid"]
    img = png(50, 50, (1, 2, 3, 255))
    r = admin.post("/api/messages/%s/%s/send" % (slug, group),
                   json={"message": {"image": {"url": files("/g.png", img, "image/png")}, "caption": "all"}},
                   timeout=120)
    assert r.status_code == 200, r.text
    mid = r.json()["data"]["key"]["id"]
    for who in (bob, carol):
        m = got(phone_sim, who, mid, "%s to get the group image" % who)
        assert m["type"] == "image" and m["caption"] == "all" and m["mediaSha256"] == sha(img), m


def riff_chunks(b):
    assert b[:4] == b"RIFF" and b[8:12] == b"WEBP"
    out, off = {}, 12
    while off + 8 <= len(b):
        n = struct.unpack("<I", b[off + 4:off + 8])[0]
        out[b[off:off + 4]] = b[off + 8:off + 8 + n]
        off += 8 + n + (n & 1)
    return out


def test_the_references_sticker_type_and_quality(admin, chat, phone_sim):
    """type full | crop | circle and quality 1-100 (the reference's
    fields; the pixels of each shape: tests/unit/test_media.c)."""
    img = textured_png(300, 150)
    sizes = {}
    for typ, q in (("full", "95"), ("crop", "95"), ("circle", "95"), ("crop", "5")):
        r = admin.post("/api/messages/%s/%s/sticker" % (chat["slug"], chat["jid"]),
                       files={"file": ("s.png", img, "image/png")}, data={"type": typ, "quality": q}, timeout=120)
        assert r.status_code == 200, (typ, q, r.text)
        m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the %s sticker" % typ)
        assert m["mediaOk"] is True and m["webpWidth"] == 512 and m["webpHeight"] == 512, m
        sizes[(typ, q)] = (m["mediaSha256"], m["mediaSize"])
    # three different pictures, and the low quality one is the smallest
    assert len({sizes[(t, "95")][0] for t in ("full", "crop", "circle")}) == 3, sizes
    assert sizes[("crop", "5")][1] < sizes[("crop", "95")][1], sizes
    for data in ({"type": "oval"}, {"quality": "101"}, {"quality": "high"}):
        r = admin.post("/api/messages/%s/%s/sticker" % (chat["slug"], chat["jid"]),
                       files={"file": ("s.png", img, "image/png")}, data=data, timeout=60)
        assert_error_shape(r, 400)


def test_a_sticker_from_a_png_is_a_512_webp_with_its_pack(admin, chat, phone_sim, files):
    r = admin.post("/api/messages/%s/%s/sticker" % (chat["slug"], chat["jid"]),
                   files={"file": ("s.png", png(300, 150, (10, 200, 10, 255)), "image/png")},
                   data={"pack": "My Pack", "author": "Me"}, timeout=120)
    assert r.status_code == 200, r.text
    st = r.json()["data"]["message"]["stickerMessage"]
    assert st["mimetype"] == "image/webp" and st["width"] == 512 and st["height"] == 512, st
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the sticker")
    assert m["type"] == "sticker" and m["mediaOk"] is True and m["mimetype"] == "image/webp", m
    assert m["mediaHead"][:8] == b"RIFF".hex() and m["webpWidth"] == 512 and m["webpHeight"] == 512, m
    meta = json.loads(m["mediaExif"])
    assert meta["sticker-pack-name"] == "My Pack" and meta["sticker-pack-publisher"] == "Me", meta
    assert meta["sticker-pack-id"], meta

    # by URL through /send, default pack and author
    r = send(admin, chat, {"sticker": {"url": files("/st.png", png(64, 64), "image/png")}})
    assert r.status_code == 200, r.text
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the sticker by URL")
    meta = json.loads(m["mediaExif"])
    assert m["webpWidth"] == 512 and meta["sticker-pack-name"] == "WA-AKG", m

    # /sticker as JSON {url, pack, author} (the n8n node's form)
    r = admin.post("/api/messages/%s/%s/sticker" % (chat["slug"], chat["jid"]),
                   json={"url": files("/st2.png", png(20, 90), "image/png"), "pack": "N8n", "author": "Bot"},
                   timeout=120)
    assert r.status_code == 200, r.text
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the JSON sticker")
    meta = json.loads(m["mediaExif"])
    assert m["webpHeight"] == 512 and meta["sticker-pack-name"] == "N8n" and meta["sticker-pack-publisher"] == "Bot"
    r = admin.post("/api/messages/%s/%s/sticker" % (chat["slug"], chat["jid"]), json={"pack": "x"})
    assert r.status_code == 400, r.text


def mp4(payload, seconds, width, height):
    """ftyp, mdat (the payload), then moov with mvhd (timescale 600) and a
    video track's tkhd: what a reader of the duration and size looks at."""
    def box(kind, body):
        return struct.pack(">I", 8 + len(body)) + kind + body
    mvhd = bytes(12) + struct.pack(">II", 600, 600 * seconds) + bytes(80)
    tkhd = bytes(76) + struct.pack(">II", width << 16, height << 16)
    return (box(b"ftyp", b"isom\0\0\0\0") + box(b"mdat", payload) +
            box(b"moov", box(b"mvhd", mvhd) + box(b"trak", box(b"tkhd", tkhd))))


def test_a_20_mb_video_by_url_arrives_whole(admin, chat, phone_sim, files):
    video = mp4(os.urandom(20 * 1024 * 1024), 42, 1280, 720)
    r = send(admin, chat, {"video": {"url": files("/v.mp4", video, "video/mp4")}, "caption": "big"})
    assert r.status_code == 200, r.text
    v = r.json()["data"]["message"]["videoMessage"]
    assert v["fileLength"] == str(len(video)) and v["mimetype"] == "video/mp4", v
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the video", timeout=120)
    assert m["type"] == "video" and m["caption"] == "big", m
    assert m["seconds"] == 42 and m["width"] == 1280 and m["height"] == 720, m
    assert m["mediaOk"] is True and m["mediaSize"] == len(video) and m["mediaSha256"] == sha(video), m


def test_a_slow_fetch_is_waited_for_past_the_command_timeout(admin, chat, phone_sim, stack_config, files):
    """A media send may take longer than engine.timeout_ms: the worker waits
    engine.media_timeout_ms for it."""
    tmo = int(stack_config.get("engine.timeout_ms", "15000"))
    img = png(10, 10)
    files("/slow", img, "image/png")
    t0 = time.monotonic()
    r = send(admin, chat, {"image": {"url": "%s/slow/%.1f" % (files.base, tmo / 1000 + 1)}})
    assert r.status_code == 200, r.text
    assert time.monotonic() - t0 > tmo / 1000, "the fetch took longer than engine.timeout_ms"
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the slowly fetched image")
    assert m["mediaSha256"] == sha(img), m


def test_an_upload_refused_with_a_kept_media_conn_is_tried_again_with_a_new_one(
        admin, chat, phone_sim, files):
    img = png(12, 12)
    url = files("/again.png", img, "image/png")
    r = send(admin, chat, {"image": {"url": url}})
    assert r.status_code == 200, r.text
    # the media host takes a new upload auth (as after a server restart):
    # the media_conn the engine keeps (ttl 300 s) names one it refuses
    r = phone_sim.post("/admin/media/rotate-auth")
    assert r.status_code == 200, r.text
    before = [d for d in phone_sim.devices(chat["alice"]) if d["id"] != 0][-1]["iqs"]["media"]
    r = send(admin, chat, {"image": {"url": url}, "caption": "again"})
    assert r.status_code == 200, r.text
    m = got(phone_sim, chat["bob"], r.json()["data"]["key"]["id"], "the image after the new auth")
    assert m["mediaOk"] is True and m["mediaSha256"] == sha(img), m
    after = [d for d in phone_sim.devices(chat["alice"]) if d["id"] != 0][-1]["iqs"]["media"]
    assert after - before == 1, "one new media_conn: %d -> %d" % (before, after)


def refused(admin, c, stack_config, phone_sim, message, why_part):
    before, seen = count(stack_config, c["slug"]), len(inbox(phone_sim, c["bob"]))
    r = send(admin, c, message)
    assert r.status_code == 400, r.text
    b = r.json()
    assert b["status"] is False and why_part in b["message"], b
    assert count(stack_config, c["slug"]) == before, "nothing stored"
    assert len(inbox(phone_sim, c["bob"])) == seen, "nothing sent"
    return b


def test_refused_sources_answer_400_and_store_and_send_nothing(admin, chat, phone_sim, stack_config, files):
    Files.lying.add("/huge.mp4")
    refused(admin, chat, stack_config, phone_sim, {"image": {"url": "ftp://example.com/a.png"}}, "scheme")
    refused(admin, chat, stack_config, phone_sim, {"image": {"url": "http://10.0.0.1/a.png"}}, "private")
    refused(admin, chat, stack_config, phone_sim, {"image": {"url": "http://169.254.169.254/latest"}}, "metadata")
    refused(admin, chat, stack_config, phone_sim, {"video": {"url": files.base + "/huge.mp4"}}, "larger than")
    refused(admin, chat, stack_config, phone_sim, {"image": {"url": files.base + "/redirect"}},
            "redirect refused: 10.0.0.1 is a private address")
    refused(admin, chat, stack_config, phone_sim, {"document": {"url": files.base + "/missing.pdf"}}, "404")
    refused(admin, chat, stack_config, phone_sim, {"document": "bm90*YmFzZTY0"}, "base64")
    refused(admin, chat, stack_config, phone_sim, {"image": {"url": files("/t.txt", b"hello", "text/plain")}},
            "not an image")
    refused(admin, chat, stack_config, phone_sim, {"image": {"url": files.base + "/pic.png"},
                                                   "video": {"url": files.base + "/v.mp4"}}, "One media part")
    refused(admin, chat, stack_config, phone_sim, {"image": {}}, "needs a source")
    refused(admin, chat, stack_config, phone_sim, {"document": {"url": files("/d.pdf", pdf(1), "application/pdf")},
                                                   "fileName": "../etc/passwd"}, "fileName")
    r = admin.post("/api/messages/%s/%s/send" % (chat["slug"], chat["jid"]),
                   json={"message": {"document": {"file": {"path": "/etc/passwd"}}}})
    assert r.status_code == 400, "a path is never a source on /send: %s" % r.text
    # temporary files are gone
    media_dir = stack_config.get("media.dir")
    if media_dir and os.path.isdir(media_dir):
        assert not [f for f in os.listdir(media_dir) if f.startswith(".wa-")], os.listdir(media_dir)


def test_loopback_urls_are_refused_unless_the_config_allows_them(admin, make_session, phone_sim, stack_config,
                                                                 files, engine):
    """The dev stack allows loopback (media.fetch_allow_loopback); with the
    default (not allowed) the engine refuses the test server's URL."""
    url = files("/lo.png", png(8, 8), "image/png")
    orig = engine.environ()
    engine.restart(sig=15, env_change={"WA_AKG_MEDIA_FETCH_ALLOW_LOOPBACK": "false"})
    engine.wait_registered(stack_config)
    try:
        slug = make_session(admin)["sessionId"]
        alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
        pair_by_qr(admin, phone_sim, slug, alice)
        c = {"slug": slug, "alice": alice, "bob": bob, "jid": bob + "@s.whatsapp.net"}
        hits = len(Files.hits)
        refused(admin, c, stack_config, phone_sim, {"image": {"url": url}}, "loopback")
        assert len(Files.hits) == hits, "no connection was made"
    finally:
        engine.restart(sig=15, env_change={"WA_AKG_MEDIA_FETCH_ALLOW_LOOPBACK":
                                           orig.get("WA_AKG_MEDIA_FETCH_ALLOW_LOOPBACK")})
        engine.wait_registered(stack_config)
