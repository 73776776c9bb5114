"""The stack itself: nginx in front of the FastCGI workers (nginx/dev.conf.in)."""
import os

import pytest

from conftest import Api, assert_error_shape, parse_size


def test_docs_is_json(anon):
    r = anon.get("/api/docs")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["openapi"].startswith("3.") and r.json()["paths"], r.text[:300]


def test_unknown_api_path_is_404_in_error_shape(base_url, state_dir):
    # authenticated when we can, so a 401 cannot stand in for the 404
    key = None
    path = os.path.join(state_dir, "bootstrap.json")
    if os.path.exists(path):
        import json
        with open(path, encoding="utf-8") as f:
            key = json.load(f).get("apiKey")
    assert key, "no API key in %s" % path
    with Api(base_url, key) as api:
        r = api.get("/api/no-such-route/at-all")
        b = assert_error_shape(r, 404)
        assert b["error"] == "not_found" and "/api/no-such-route/at-all" in b["message"], b


def test_body_over_max_body_gets_413_json_from_nginx(anon, stack_config):
    limit = parse_size(stack_config["http.max_body"])
    if limit > (256 << 20):
        pytest.skip("http.max_body is %s; too large to send in a test" % stack_config["http.max_body"])
    body = b"\0" * (limit + 1)
    r = anon.post("/api/sessions", data=body, headers={"Content-Type": "application/octet-stream"})
    body = assert_error_shape(r, 413)
    assert "large" in body["message"].lower()
    assert body["error"] == "payload_too_large", body


def test_body_under_max_body_reaches_the_workers(anon):
    # a body under the limit passes nginx: the worker answers (401, in its
    # error shape, since no key is sent), not nginx with 413/502/504
    r = anon.post("/api/sessions", data=b'{"name": "%s"}' % (b"x" * (512 << 10)),
                  headers={"Content-Type": "application/json"})
    b = assert_error_shape(r, 401)
    assert b["error"] == "unauthorized", b


def test_media_location_is_internal(anon, stack_config):
    prefix = stack_config["media.accel_prefix"]
    r = anon.get(prefix + "x")
    assert_error_shape(r, 404)


def test_media_location_hides_real_files(anon, stack_config, state_dir):
    media = stack_config.get("media.dir")
    if not media or not os.path.isdir(media) or not os.access(media, os.W_OK):
        pytest.skip("media.dir not writable from the test")
    name = "stack-test-%d.txt" % os.getpid()
    path = os.path.join(media, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write("secret")
    try:
        r = anon.get(stack_config["media.accel_prefix"] + name)
        assert "secret" not in r.text
        assert_error_shape(r, 404)
    finally:
        os.unlink(path)


def test_dashboard_is_served(anon):
    r = anon.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "WA-AKG" in r.text
    assert "/api/auth/csrf" in r.text and "/api/sessions" in r.text


def test_api_errors_carry_no_html(anon):
    # nothing under /api/ answers with nginx's HTML error pages
    for path in ("/api/no-such-route", "/api/v1/also/not/a/route"):
        r = anon.get(path)
        assert "<html" not in r.text.lower(), (path, r.status_code, r.text[:200])
        b = assert_error_shape(r, 404)
        assert b["error"] == "not_found", (path, b)
