"""GIFs sent as videos, as WhatsApp's clients send them (engine/video.h's
wa_video_to_mp4): a GIF given as a `video` (with or without gifPlayback)
goes out as an MP4 (H.264, yuv420p, even sides, no audio, moov first) in a
videoMessage with gifPlayback true, with its thumbnail, seconds, width and
height; an MP4 with gifPlayback goes as it is; what is no GIF or video, a
GIF longer than 60 s and a gifPlayback that is no boolean answer 400 and
send nothing. The phone's inbox (wa-sim decrypts the file) and the bytes
downloaded back are checked. Fixtures: tests/fixtures/media."""
import base64
import hashlib
import json
import shutil
import struct
import subprocess
import tempfile

from test_engine_bot import media_of
from test_engine_media import got, png
from test_engine_messages import inbox
from test_engine_video import fixture, jpeg_size, paired


def boxes(b):
    """The top-level ISO BMFF boxes: [(type, payload)], tiling the file."""
    out, i = [], 0
    while i + 8 <= len(b):
        size, kind = struct.unpack(">I4s", b[i:i + 8])
        hdr = 8
        if size == 1:
            size, hdr = struct.unpack(">Q", b[i + 8:i + 16])[0], 16
        assert size >= hdr and i + size <= len(b), (kind, size, i, len(b))
        out.append((kind, b[i + hdr:i + size]))
        i += size
    assert i == len(b), "boxes tile the file"
    return out


def check_mp4(mp4, width, height):
    """An MP4 as WhatsApp sends a GIF: ftyp, then moov before mdat
    (faststart), one H.264 (avc1) video track, no sound track; ffprobe's
    view of it too when the tool is there."""
    bx = boxes(mp4)
    kinds = [k for k, _ in bx]
    assert kinds[0] == b"ftyp", kinds
    assert b"moov" in kinds and b"mdat" in kinds and kinds.index(b"moov") < kinds.index(b"mdat"), kinds
    moov = dict(bx)[b"moov"]
    assert moov.count(b"trak") == 1 and b"avc1" in moov and b"avcC" in moov, "one H.264 track"
    assert b"soun" not in moov and b"vide" in moov, "video only"
    # tkhd's width and height (16.16 fixed point) at the end of the box
    t = moov.index(b"tkhd")
    tkhd = moov[t + 4:t - 4 + struct.unpack(">I", moov[t - 4:t])[0]]
    w, h = struct.unpack(">II", tkhd[-8:])
    assert (w >> 16, h >> 16) == (width, height), (w >> 16, h >> 16)
    if shutil.which("ffprobe"):
        with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
            f.write(mp4)
            f.flush()
            out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", f.name],
                                 capture_output=True, check=True, timeout=60).stdout
        streams = json.loads(out)["streams"]
        assert len(streams) == 1, streams
        s = streams[0]
        assert s["codec_name"] == "h264" and s["pix_fmt"] == "yuv420p", s
        assert (s["width"], s["height"]) == (width, height), s


def videos(phone_sim, number):
    return [m for m in inbox(phone_sim, number) if m["type"] == "video"]


def test_a_gif_goes_as_an_mp4_with_gif_playback(admin, make_session, phone_sim):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    jid = bob + "@s.whatsapp.net"

    # the universal send route, the Baileys form: gifPlayback beside the video
    r = admin.post("/api/messages/%s/%s/send" % (slug, jid),
                   json={"message": {"video": {"base64": base64.b64encode(fixture("anim.gif")).decode()},
                                     "gifPlayback": True, "caption": "a gif"}}, timeout=120)
    assert r.status_code == 200, r.text
    v = r.json()["data"]["message"]["videoMessage"]
    assert v["gifPlayback"] is True and v["mimetype"] == "video/mp4", v
    assert v["width"] == 40 and v["height"] == 40 and v["seconds"] == 1 and v["jpegThumbnail"], v
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the GIF", timeout=60)
    assert m["type"] == "video" and m["gifPlayback"] is True and m["mimetype"] == "video/mp4", m
    assert m["mediaOk"] is True and bytes.fromhex(m["mediaHead"])[4:8] == b"ftyp", m
    assert m["text"] == "a gif" and m["width"] == 40 and m["height"] == 40 and m["seconds"] == 1, m
    assert jpeg_size(base64.b64decode(m["jpegThumbnail"])) == (32, 32)
    mp4 = media_of(admin, slug, m["id"])
    assert hashlib.sha256(mp4).hexdigest() == m["mediaSha256"]
    check_mp4(mp4, 40, 40)

    # a GIF file uploaded as a video, no gifPlayback asked: sent as one all
    # the same; 41 x 31 becomes 40 x 30 (yuv420p wants even sides)
    r = admin.post("/api/messages/%s/%s/media" % (slug, jid),
                   files={"file": ("odd.gif", fixture("anim_odd.gif"), "image/gif")}, data={"type": "video"},
                   timeout=120)
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the uploaded GIF", timeout=60)
    assert m["gifPlayback"] is True and m["mimetype"] == "video/mp4" and m["mediaOk"] is True, m
    assert m["width"] == 40 and m["height"] == 30 and m["seconds"] == 2, m
    check_mp4(media_of(admin, slug, m["id"]), 40, 30)

    # an MP4 with gifPlayback (inside the video object) goes as it is
    clip = fixture("clip2s.mp4")
    r = admin.post("/api/messages/%s/%s/send" % (slug, jid),
                   json={"message": {"video": {"base64": base64.b64encode(clip).decode(), "gifPlayback": True}}},
                   timeout=120)
    assert r.status_code == 200, r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the MP4 GIF", timeout=60)
    assert m["gifPlayback"] is True and m["mediaSha256"] == hashlib.sha256(clip).hexdigest(), m
    assert m["seconds"] == 2 and m["width"] == 64 and m["height"] == 48, m

    # a plain video stays a plain video
    r = admin.post("/api/messages/%s/%s/send" % (slug, jid),
                   json={"message": {"video": {"base64": base64.b64encode(clip).decode()}}}, timeout=120)
    assert r.status_code == 200, r.text
    assert "gifPlayback" not in r.json()["data"]["message"]["videoMessage"], r.text
    m = got(phone_sim, bob, r.json()["data"]["key"]["id"], "the plain video", timeout=60)
    assert not m.get("gifPlayback"), m


def test_bad_gifs_are_refused_and_nothing_is_sent(admin, make_session, phone_sim):
    slug, alice, bob = paired(admin, make_session, phone_sim)
    url = "/api/messages/%s/%s/send" % (slug, bob + "@s.whatsapp.net")

    def send(data, **extra):
        msg = {"video": {"base64": base64.b64encode(data).decode()}, "gifPlayback": True}
        msg.update(extra)
        return admin.post(url, json={"message": msg}, timeout=120)

    for data, extra, why in [
            (png(30, 20), {}, "not a GIF or a video"),
            (b"\0not a video at all" * 40, {}, "not a GIF or a video"),
            (fixture("long.gif"), {}, "it is 80 s long; GIFs are sent of at most 60 s"),
            (fixture("anim.gif"), {"gifPlayback": "yes"}, "'gifPlayback' must be true or false")]:
        r = send(data, **extra)
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["status"] is False and why in body["message"], body
    # nothing reached the phone
    assert videos(phone_sim, bob) == []
