"""Video through the real engine (engine/video.h, FFmpeg): the bot's
sticker command on a video or a GIF makes an animated 512x512 WebP sticker
(parsed here chunk by chunk after downloading it back), a video too long
for maxStickerDuration gets a text naming the limit, enableVideoSticker off
a text; POST /sticker takes an animated GIF or a short video; a sent video
carries a first-frame jpegThumbnail and its seconds / width / height; a
voice note its seconds and 64-byte waveform. The files are the committed
fixtures of tests/fixtures/media."""
import base64
import json
import os
import struct
import time

from test_engine_bot import answers, bot_config, media_of, reply_to, say, send_media, stored
from test_engine_media import got, png
from test_engine_messages import inbox
from walib import pair_by_qr, wait_for

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "media")


def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


def chunks(b):
    assert b[:4] == b"RIFF" and b[8:12] == b"WEBP", b[:16]
    assert struct.unpack("<I", b[4:8])[0] + 8 == len(b), "RIFF size"
    out, i = [], 12
    while i + 8 <= len(b):
        kind, size = b[i:i + 4], struct.unpack("<I", b[i + 4:i + 8])[0]
        out.append((kind, b[i + 8:i + 8 + size]))
        i += 8 + size + (size & 1)
    assert i == len(b), "chunks tile the file"
    return out


def check_animated(webp, pack, author, min_frames=5):
    """An animated WebP sticker: VP8X with the animation and EXIF flags and
    a 512x512 canvas, then ANIM, several ANMF frames inside the canvas, and
    the EXIF chunk with the pack."""
    cs = chunks(webp)
    kinds = [k for k, _ in cs]
    assert kinds[0] == b"VP8X" and kinds[1] == b"ANIM", kinds[:4]
    x = cs[0][1]
    assert x[0] & 0x02 and x[0] & 0x08, "VP8X flags %#x: animation and EXIF" % x[0]
    assert 1 + int.from_bytes(x[4:7], "little") == 512 and 1 + int.from_bytes(x[7:10], "little") == 512
    frames = [d for k, d in cs if k == b"ANMF"]
    assert len(frames) >= min_frames, len(frames)
    total = 0
    for f in frames:
        fx, fy = 2 * int.from_bytes(f[0:3], "little"), 2 * int.from_bytes(f[3:6], "little")
        fw, fh = 1 + int.from_bytes(f[6:9], "little"), 1 + int.from_bytes(f[9:12], "little")
        total += int.from_bytes(f[12:15], "little")
        assert fx + fw <= 512 and fy + fh <= 512, (fx, fy, fw, fh)
    assert total > 0
    exif = [d for k, d in cs if k == b"EXIF"]
    assert len(exif) == 1 and exif[0][:4] == b"II*\0", exif
    meta = json.loads(exif[0][22:])
    assert meta["sticker-pack-name"] == pack and meta["sticker-pack-publisher"] == author, meta
    assert len(webp) <= 500 * 1024, len(webp)
    return len(frames), total


def jpeg_size(b):
    """(width, height) from a JPEG's SOF marker."""
    assert b[:2] == b"\xff\xd8", b[:4]
    i = 2
    while i + 9 < len(b):
        assert b[i] == 0xff, "a marker at %d" % i
        m, ln = b[i + 1], struct.unpack(">H", b[i + 2:i + 4])[0]
        if 0xc0 <= m <= 0xc2:
            h, w = struct.unpack(">HH", b[i + 5:i + 9])
            return w, h
        i += 2 + ln
    raise AssertionError("no SOF marker")


def paired(admin, make_session, phone_sim):
    slug = make_session(admin)["sessionId"]
    alice, bob = phone_sim.phone("Alice"), phone_sim.phone("Bob")
    pair_by_qr(admin, phone_sim, slug, alice)
    return slug, alice, bob


def test_bot_sticker_of_a_video_and_a_gif_is_animated(admin, make_session, phone_sim):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    bot_config(admin, slug, enabled=True, botMode="ALL", prefix="!", botName="Anim Bot")

    # the caption of a video
    cmd = send_media(phone_sim, bob, alice, "video", fixture("clip2s.mp4"), caption="!sticker", seconds=2)
    st = wait_for(lambda: reply_to(phone_sim, bob, cmd, "sticker"), timeout=90, what="the video sticker")[0]
    assert st["mediaOk"] is True and st["mimetype"] == "image/webp" and st["isAnimated"] is True, st
    assert st["webpWidth"] == 512 and st["webpHeight"] == 512 and st["width"] == 512, st
    assert json.loads(st["mediaExif"])["sticker-pack-name"] == "Anim Bot"
    n, ms = check_animated(media_of(admin, slug, st["id"]), "Anim Bot", "WA-AKG", min_frames=10)
    assert 1800 <= ms <= 2300, ms  # the clip's 2 s

    # a reply to a stored GIF (sent as an image)
    gif = send_media(phone_sim, bob, alice, "image", fixture("anim.gif"), mimetype="image/gif")
    r = phone_sim.post("/admin/phones/%s/send" % bob, {"to": alice, "text": "!sticker", "quotedId": gif})
    assert r.status_code == 200, r.text
    st = wait_for(lambda: reply_to(phone_sim, bob, r.json()["id"], "sticker"), timeout=90,
                  what="the GIF sticker")[0]
    assert st["isAnimated"] is True, st
    n, _ = check_animated(media_of(admin, slug, st["id"]), "Anim Bot", "WA-AKG")
    assert n == 8, n

    # a still image stays a still sticker
    cmd = send_media(phone_sim, bob, alice, "image", png(100, 50), caption="!sticker")
    st = wait_for(lambda: reply_to(phone_sim, bob, cmd, "sticker"), timeout=60, what="the still sticker")[0]
    assert st["isAnimated"] is False, st
    kinds = [k for k, _ in chunks(media_of(admin, slug, st["id"]))]
    assert b"ANIM" not in kinds and b"ANMF" not in kinds, kinds


def test_bot_video_too_long_or_turned_off_is_answered_with_text(admin, make_session, phone_sim, stack_config):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    bot_config(admin, slug, enabled=True, botMode="ALL", prefix="!", maxStickerDuration=10)

    long_cmd = send_media(phone_sim, bob, alice, "video", fixture("clip15s.mp4"), caption="!sticker", seconds=15)
    t = wait_for(lambda: answers(phone_sim, bob, "Could not make the sticker: the video is 15 s long; stickers are "
                                 "made of videos of at most 10 s"), timeout=90, what="the too-long answer")
    assert len(t) == 1 and t[0].get("quotedId") == long_cmd, t
    assert reply_to(phone_sim, bob, long_cmd, "sticker") == []

    # a higher limit takes it: its first 10 s
    bot_config(admin, slug, maxStickerDuration=20)
    cmd = send_media(phone_sim, bob, alice, "video", fixture("clip15s.mp4"), caption="!sticker", seconds=15)
    st = wait_for(lambda: reply_to(phone_sim, bob, cmd, "sticker"), timeout=120, what="the 15 s sticker")[0]
    _, ms = check_animated(media_of(admin, slug, st["id"]), "WA-AKG Bot", "WA-AKG")
    assert ms <= 10500, ms

    # enableVideoSticker false: a text, no sticker
    bot_config(admin, slug, enableVideoSticker=False)
    off = send_media(phone_sim, bob, alice, "video", fixture("clip2s.mp4"), caption="!sticker", seconds=2)
    wait_for(lambda: answers(phone_sim, bob, "Video stickers are turned off for this bot"), timeout=30,
             what="the turned-off answer")
    wait_for(lambda: stored(stack_config, slug, off), what="the video stored")
    # and a GIF image becomes a still sticker of its first frame
    gif = send_media(phone_sim, bob, alice, "image", fixture("anim.gif"), mimetype="image/gif", caption="!sticker")
    st = wait_for(lambda: reply_to(phone_sim, bob, gif, "sticker"), timeout=60, what="the still GIF sticker")[0]
    assert st["isAnimated"] is False, st
    kinds = [k for k, _ in chunks(media_of(admin, slug, st["id"]))]
    assert b"ANMF" not in kinds, kinds
    assert reply_to(phone_sim, bob, off, "sticker") == []
    assert reply_to(phone_sim, bob, long_cmd, "sticker") == []


def test_sticker_route_takes_an_animated_gif_and_a_short_video(admin, make_session, phone_sim):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    jid = bob + "@s.whatsapp.net"
    url = "/api/messages/%s/%s/sticker" % (slug, jid)

    r = admin.post(url, files={"file": ("a.gif", fixture("anim.gif"), "image/gif")},
                   data={"pack": "Gif Pack", "author": "Me"}, timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["message"]["stickerMessage"]["isAnimated"] is True, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the GIF sticker")
    assert m["isAnimated"] is True and m["mediaOk"] is True, m
    n, _ = check_animated(media_of(admin, slug, m["id"]), "Gif Pack", "Me")
    assert n == 8, n

    # a video by JSON data: URL (the n8n form)
    data = "data:video/mp4;base64," + base64.b64encode(fixture("clip2s.mp4")).decode()
    r = admin.post(url, json={"url": data, "pack": "Vid", "author": "Cam"}, timeout=120)
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the video sticker")
    assert m["isAnimated"] is True, m
    check_animated(media_of(admin, slug, m["id"]), "Vid", "Cam", min_frames=10)

    # longer than 10 s: refused, nothing sent
    before = len([x for x in inbox(phone_sim, bob) if x["type"] == "sticker"])
    r = admin.post(url, files={"file": ("l.mp4", fixture("clip15s.mp4"), "video/mp4")}, timeout=120)
    assert r.status_code == 400 and "at most 10 s" in r.text, r.text
    # not a video either
    r = admin.post(url, files={"file": ("x.bin", b"\0not a video" * 50, "application/octet-stream")}, timeout=60)
    assert r.status_code == 400, r.text
    # a still PNG stays still
    r = admin.post(url, files={"file": ("s.png", png(40, 40), "image/png")}, timeout=60)
    assert r.status_code == 200 and r.json()["data"]["message"]["stickerMessage"]["isAnimated"] is False, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the still sticker")
    assert m["isAnimated"] is False, m
    assert len([x for x in inbox(phone_sim, bob) if x["type"] == "sticker"]) == before + 1


def test_a_sent_video_has_a_thumbnail_seconds_and_size(admin, make_session, phone_sim):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    jid = bob + "@s.whatsapp.net"
    clip = fixture("clip2s.mp4")

    # the universal send route, base64
    r = admin.post("/api/messages/%s/%s/send" % (slug, jid),
                   json={"message": {"video": {"base64": base64.b64encode(clip).decode()}, "caption": "clip"}},
                   timeout=120)
    assert r.status_code == 200, r.text
    v = r.json()["data"]["message"]["videoMessage"]
    assert v["seconds"] == 2 and v["width"] == 64 and v["height"] == 48 and v["jpegThumbnail"], v
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the video")
    assert m["type"] == "video" and m["mediaOk"] is True and m["mediaSize"] == len(clip), m
    assert m["seconds"] == 2 and m["width"] == 64 and m["height"] == 48, m
    thumb = base64.b64decode(m["jpegThumbnail"])
    assert m["thumbnailSize"] == len(thumb) and jpeg_size(thumb) == (32, 24), jpeg_size(thumb)

    # the multipart /media route
    r = admin.post("/api/messages/%s/%s/media" % (slug, jid), files={"file": ("c.mp4", clip, "video/mp4")},
                   data={"type": "video"}, timeout=120)
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the uploaded video")
    assert m["seconds"] == 2 and m["width"] == 64 and m["height"] == 48, m
    assert jpeg_size(base64.b64decode(m["jpegThumbnail"])) == (32, 24)


def test_a_voice_note_has_seconds_and_a_waveform(admin, make_session, phone_sim):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    jid = bob + "@s.whatsapp.net"
    voice = fixture("voice3s.ogg")
    r = admin.post("/api/messages/%s/%s/send" % (slug, jid),
                   json={"message": {"audio": {"base64": base64.b64encode(voice).decode()}, "ptt": True}},
                   timeout=120)
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the voice note")
    assert m["type"] == "ptt" and m["mediaOk"] is True and m["seconds"] == 3, m
    wave = base64.b64decode(m["waveform"])
    assert len(wave) == 64 and max(wave) in (99, 100) and wave[0] < 5, list(wave)
    # the tone rises over the 3 s: so does the waveform
    assert wave[16] < wave[32] < wave[63], list(wave)
    # plain audio: seconds, no waveform
    r = admin.post("/api/messages/%s/%s/send" % (slug, jid),
                   json={"message": {"audio": {"base64": base64.b64encode(voice).decode()}}}, timeout=120)
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the audio")
    assert m["type"] == "audio" and m["seconds"] == 3 and "waveform" not in m, m
