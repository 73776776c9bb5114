"""Animated WebP as sticker input (engine/webp_anim.h, libwebpdemux: Debian
12's FFmpeg decodes no animated WebP): POST /sticker, /send's sticker part
and the bot's sticker command make an animated 512x512 WebP sticker of it
(ANIM / ANMF chunks, the pack / author EXIF, under 500 KiB) on the phone's
side, through the same pipeline as a video or a GIF; with video stickers
turned off the bot makes a still one of its first frame, and sent as an
image it gets its size and a thumbnail of that frame. The fixture is
tests/fixtures/media/anim.webp (1 s, 48 x 32, 10 frames)."""
import base64
import hashlib
import json

from test_engine_bot import bot_config, media_of, reply_to, send_media
from test_engine_media import got
from test_engine_video import check_animated, chunks, fixture, paired
from walib import wait_for


def test_sticker_route_makes_an_animated_sticker_of_an_animated_webp(admin, make_session, phone_sim):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    jid = bob + "@s.whatsapp.net"
    webp = fixture("anim.webp")

    r = admin.post("/api/messages/%s/%s/sticker" % (slug, jid),
                   files={"file": ("a.webp", webp, "image/webp")}, data={"pack": "Webp Pack", "author": "Anim"},
                   timeout=120)
    assert r.status_code == 200, r.text
    st = r.json()["data"]["message"]["stickerMessage"]
    assert st["isAnimated"] is True and st["width"] == 512 and st["height"] == 512, st
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the WebP sticker", timeout=60)
    assert m["isAnimated"] is True and m["mediaOk"] is True and m["mimetype"] == "image/webp", m
    assert m["webpWidth"] == 512 and m["webpHeight"] == 512, m
    assert json.loads(m["mediaExif"])["sticker-pack-name"] == "Webp Pack", m
    n, ms = check_animated(media_of(admin, slug, m["id"]), "Webp Pack", "Anim", min_frames=10)
    assert n == 10 and 900 <= ms <= 1100, (n, ms)

    # /send's sticker part, base64 (the same pipeline)
    r = admin.post("/api/messages/%s/%s/send" % (slug, jid),
                   json={"message": {"sticker": {"base64": base64.b64encode(webp).decode()},
                                     "pack": "P2", "author": "A2"}}, timeout=120)
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the /send WebP sticker", timeout=60)
    assert m["isAnimated"] is True, m
    check_animated(media_of(admin, slug, m["id"]), "P2", "A2", min_frames=10)

    # sent as an image it goes as it is, with the size and a thumbnail of
    # its first frame (GraphicsMagick reads no animated WebP)
    r = admin.post("/api/messages/%s/%s/send" % (slug, jid),
                   json={"message": {"image": {"base64": base64.b64encode(webp).decode()}}}, timeout=120)
    assert r.status_code == 200, r.text
    im = r.json()["data"]["message"]["imageMessage"]
    assert im["width"] == 48 and im["height"] == 32 and im["jpegThumbnail"] and im["mimetype"] == "image/webp", im
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the WebP image", timeout=60)
    assert m["mediaSha256"] == hashlib.sha256(webp).hexdigest() and m["width"] == 48, m


def test_bot_sticker_of_an_animated_webp(admin, make_session, phone_sim):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    bot_config(admin, slug, enabled=True, botMode="ALL", prefix="!", botName="Webp Bot")
    webp = fixture("anim.webp")

    cmd = send_media(phone_sim, bob, alice, "image", webp, mimetype="image/webp", caption="!sticker")
    st = wait_for(lambda: reply_to(phone_sim, bob, cmd, "sticker"), timeout=90, what="the WebP sticker")[0]
    assert st["mediaOk"] is True and st["isAnimated"] is True and st["webpWidth"] == 512, st
    n, _ = check_animated(media_of(admin, slug, st["id"]), "Webp Bot", "WA-AKG", min_frames=10)
    assert n == 10, n

    # video stickers off: a still sticker of its first frame
    bot_config(admin, slug, enableVideoSticker=False)
    cmd = send_media(phone_sim, bob, alice, "image", webp, mimetype="image/webp", caption="!sticker")
    st = wait_for(lambda: reply_to(phone_sim, bob, cmd, "sticker"), timeout=60, what="the still sticker")[0]
    assert st["isAnimated"] is False, st
    kinds = [k for k, _ in chunks(media_of(admin, slug, st["id"]))]
    assert b"ANIM" not in kinds and b"ANMF" not in kinds, kinds
