"""Deleting a session or a user leaves nothing behind: neither the Signal
key rows (which no foreign key reaches) nor the media files on disk."""
import os
import subprocess

import pytest

from conftest import assert_error_shape


def sql(stack_config, query):
    sock = stack_config.get("db.socket")
    if not sock or not os.path.exists(sock):
        pytest.skip("the stack's database socket is not reachable from the test")
    out = subprocess.run(["mariadb", "-S", sock, "-u", stack_config["db.user"],
                          "-p" + stack_config.get("db.password", ""), "-N", "-B",
                          stack_config.get("db.name", "wa_akg"), "-e", query],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def media_files(stack_config):
    d = stack_config.get("media.dir")
    if not d or not os.path.isdir(d):
        pytest.skip("media.dir not visible from the test")
    return set(os.listdir(d))


def upload(api, sid):
    """A media file of session sid, as a sent or received message leaves one:
    a file in media.dir and its media_files row (written directly: with no
    engine running, an API upload is refused and leaves nothing, see
    test_refused_uploads_leave_nothing)."""
    assert api.get("/api/sessions/%s" % sid).status_code == 200   # api may reach it
    d = stack_config_ref["media.dir"]
    name = "up-%s.png" % os.urandom(6).hex()
    with open(os.path.join(d, name), "wb") as f:
        f.write(b"\x89PNG fake")
    sql(stack_config_ref, "INSERT INTO media_files (wa_session_id, user_id, filename, mime, size) "
                          "SELECT id, user_id, '%s', 'image/png', 9 FROM wa_sessions WHERE session_id = '%s'"
        % (name, sid))


@pytest.fixture(autouse=True)
def _cfg(stack_config):
    global stack_config_ref
    stack_config_ref = stack_config


stack_config_ref = None


def count_media_rows(stack_config):
    return int(sql(stack_config, "SELECT COUNT(*) FROM media_files"))


def test_refused_uploads_leave_nothing(admin, make_session, stack_config):
    """Bad input changes nothing: an upload refused by validation (400) or
    because the session is not connected (503) leaves no file and no row."""
    s = make_session(admin)["sessionId"]
    before, rows = media_files(stack_config), count_media_rows(stack_config)
    r = admin.post("/api/messages/%s/628123456789/media" % s,
                   files={"file": ("a.png", b"\x89PNG x", "image/png")}, data={"type": "hologram"})
    assert_error_shape(r, 400)
    r = admin.post("/api/messages/%s/628123456789/media" % s,
                   files={"file": ("a.png", b"\x89PNG x", "image/png")}, data={"type": "image"})
    assert_error_shape(r, 503)
    r = admin.post("/api/messages/%s/628123456789/sticker" % s, files={"file": ("s.webp", b"RIFF", "image/webp")})
    assert_error_shape(r, 503)
    assert media_files(stack_config) == before
    assert count_media_rows(stack_config) == rows


def test_session_delete_purges_keys_and_files(admin, stack_config):
    r = admin.post("/api/sessions", json={"name": "cleanup"})
    s = r.json()
    before = media_files(stack_config)
    upload(admin, s["sessionId"])
    added = media_files(stack_config) - before
    assert len(added) == 1
    sql(stack_config, "INSERT INTO signal_prekey (session_key, prekey_id, record) VALUES ('%s', 1, 'x')" % s["id"])
    assert sql(stack_config, "SELECT COUNT(*) FROM signal_prekey WHERE session_key = '%s'" % s["id"]) == "1"
    assert admin.delete("/api/sessions/%s/settings" % s["sessionId"]).status_code == 200
    assert sql(stack_config, "SELECT COUNT(*) FROM signal_prekey WHERE session_key = '%s'" % s["id"]) == "0"
    assert not (added & media_files(stack_config))
    assert_error_shape(admin.get("/api/sessions/%s" % s["sessionId"]), 404)


def test_user_delete_purges_their_sessions(admin, make_user, stack_config):
    u = make_user("OWNER")
    s = u.api.post("/api/sessions", json={"name": "doomed"}).json()
    before = media_files(stack_config)
    upload(u.api, s["sessionId"])
    added = media_files(stack_config) - before
    sql(stack_config, "INSERT INTO signal_session (session_key, addr_name, addr_device, record) "
                      "VALUES ('%s', '628', 0, 'x')" % s["id"])
    assert admin.delete("/api/users/%s" % u.id).status_code == 200
    assert sql(stack_config, "SELECT COUNT(*) FROM signal_session WHERE session_key = '%s'" % s["id"]) == "0"
    assert sql(stack_config, "SELECT COUNT(*) FROM wa_sessions WHERE id = %s" % s["id"]) == "0"
    assert not (added & media_files(stack_config))
