"""Deleting a session or a user leaves nothing behind: neither the Signal
key rows (which no foreign key reaches) nor the media files on disk."""
from conftest import (NOT_READY, assert_error_shape, assert_ok_shape, media_files, sql, stop_session,
                      store_media)


def upload(api, sid, stack_config):
    """A media file of session sid (its slug) as a received message leaves
    one; returns the new file name."""
    assert api.get("/api/sessions/%s" % sid).status_code == 200   # api may reach it
    before = media_files(stack_config)
    name = store_media(stack_config, sid)
    assert media_files(stack_config) - before == {name}
    return name


def count_media_rows(stack_config):
    return int(sql(stack_config, "SELECT COUNT(*) FROM media_files"))


def test_refused_uploads_leave_nothing(admin, make_session, stack_config, engine_running):
    """Bad input changes nothing: an upload refused by validation (400) or
    because the session is not connected (503; the session is stopped, so
    this holds with an engine too) leaves no file and no row."""
    s = make_session(admin)["sessionId"]
    stop_session(admin, s, engine_running)
    before, rows = media_files(stack_config), count_media_rows(stack_config)
    r = admin.post("/api/messages/%s/628123456789/media" % s,
                   files={"file": ("a.png", b"\x89PNG x", "image/png")}, data={"type": "hologram"})
    assert_error_shape(r, 400)
    for path, files, form in (("media", {"file": ("a.png", b"\x89PNG x", "image/png")}, {"type": "image"}),
                              ("sticker", {"file": ("s.webp", b"RIFF", "image/webp")}, None)):
        r = admin.post("/api/messages/%s/628123456789/%s" % (s, path), files=files, data=form)
        b = assert_error_shape(r, 503)
        assert b["message"] == NOT_READY and b["error"] == "session_not_ready", (path, b)
    assert media_files(stack_config) == before
    assert count_media_rows(stack_config) == rows


def signal_rows(stack_config, table, key):
    return sql(stack_config, "SELECT COUNT(*) FROM %s WHERE session_key = '%s'" % (table, key))


def test_session_delete_purges_keys_and_files(admin, stack_config):
    r = admin.post("/api/sessions", json={"name": "cleanup"})
    assert r.status_code == 200, r.text[:300]
    s = r.json()
    name = upload(admin, s["sessionId"], stack_config)
    sql(stack_config, "INSERT INTO signal_prekey (session_key, prekey_id, record) VALUES ('%s', 1, 'x')" % s["id"])
    assert signal_rows(stack_config, "signal_prekey", s["id"]) == "1"
    assert assert_ok_shape(admin.delete("/api/sessions/%s/settings" % s["sessionId"]), 200,
                           "Session deleted") is None
    assert signal_rows(stack_config, "signal_prekey", s["id"]) == "0"
    assert name not in media_files(stack_config)
    assert sql(stack_config, "SELECT COUNT(*) FROM media_files WHERE filename = '%s'" % name) == "0"
    assert_error_shape(admin.get("/api/sessions/%s" % s["sessionId"]), 404)


def test_delete_on_the_session_itself_is_the_same(admin, stack_config):
    """DELETE /api/sessions/{id} (beyond the reference, which has
    DELETE .../settings) removes the session and its keys the same way."""
    s = admin.post("/api/sessions", json={"name": "cleanup2"}).json()
    sql(stack_config, "INSERT INTO signal_prekey (session_key, prekey_id, record) VALUES ('%s', 1, 'x')" % s["id"])
    assert assert_ok_shape(admin.delete("/api/sessions/%s" % s["sessionId"]), 200, "Session deleted") is None
    assert signal_rows(stack_config, "signal_prekey", s["id"]) == "0"
    assert_error_shape(admin.get("/api/sessions/%s" % s["sessionId"]), 404)
    assert_error_shape(admin.delete("/api/sessions/%s" % s["sessionId"]), 404)


def test_user_delete_purges_their_sessions(admin, make_user, stack_config):
    u = make_user("OWNER")
    r = u.api.post("/api/sessions", json={"name": "doomed"})
    assert r.status_code == 200, r.text[:300]
    s = r.json()
    name = upload(u.api, s["sessionId"], stack_config)
    sql(stack_config, "INSERT INTO signal_session (session_key, addr_name, addr_device, record) "
                      "VALUES ('%s', '628', 0, 'x')" % s["id"])
    assert signal_rows(stack_config, "signal_session", s["id"]) == "1"
    r = admin.delete("/api/users/%s" % u.id)
    assert r.status_code == 200 and r.json() == {"success": True, "message": "User deleted"}, r.text
    assert signal_rows(stack_config, "signal_session", s["id"]) == "0"
    assert sql(stack_config, "SELECT COUNT(*) FROM wa_sessions WHERE id = %s" % s["id"]) == "0"
    assert name not in media_files(stack_config)
    assert sql(stack_config, "SELECT COUNT(*) FROM media_files WHERE filename = '%s'" % name) == "0"
