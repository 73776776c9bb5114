"""Deleting a session or a user leaves nothing behind: neither the Signal
key rows (which no foreign key reaches) nor the media files on disk."""
from conftest import assert_error_shape, media_files, sql, store_media


def upload(api, sid, stack_config):
    assert api.get("/api/sessions/%s" % sid).status_code == 200   # api may reach it
    store_media(stack_config, sid)


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
    upload(admin, s["sessionId"], stack_config)
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
    upload(u.api, s["sessionId"], stack_config)
    added = media_files(stack_config) - before
    sql(stack_config, "INSERT INTO signal_session (session_key, addr_name, addr_device, record) "
                      "VALUES ('%s', '628', 0, 'x')" % s["id"])
    assert admin.delete("/api/users/%s" % u.id).status_code == 200
    assert sql(stack_config, "SELECT COUNT(*) FROM signal_session WHERE session_key = '%s'" % s["id"]) == "0"
    assert sql(stack_config, "SELECT COUNT(*) FROM wa_sessions WHERE id = %s" % s["id"]) == "0"
    assert not (added & media_files(stack_config))
