"""GET /api/docs: an OpenAPI 3 document generated from the route table, in
step with the API reference's route list."""
from conftest import assert_error_shape
from test_access_matrix import ROUTES, concrete


def test_docs_is_openapi3_and_lists_every_reference_route(anon):
    r = anon.get("/api/docs")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "WA-AKG API" and doc["info"]["version"], doc["info"]
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    want = {(r["method"], r["path"]) for r in ROUTES}
    assert len(want) == 109
    missing = want - ops
    assert not missing, sorted(missing)
    # ours beyond the reference: the documented sign-in/out additions and
    # pairing by phone-number code, DELETE on the session itself, a webhook's
    # delivery log and test event (docs/api.md, docs/webhooks.md), the
    # broadcast jobs (docs/engine.md), the blocklist, POST on archive and
    # chats by ?labelId= (the n8n node's forms), communities (docs/api.md)
    assert ops - want == {("POST", "/api/groups/{sessionId}/community/create"),
                          ("GET", "/api/groups/{sessionId}/{jid}/community/groups"),
                          ("POST", "/api/groups/{sessionId}/{jid}/community/link"),
                          ("POST", "/api/groups/{sessionId}/{jid}/community/unlink"),
                          ("POST", "/api/auth/callback/credentials"), ("POST", "/api/auth/signout"),
                          ("POST", "/api/sessions/{id}/pair"), ("DELETE", "/api/sessions/{id}"),
                          ("GET", "/api/webhooks/{sessionId}/{id}/deliveries"),
                          ("POST", "/api/webhooks/{sessionId}/{id}/test"),
                          ("GET", "/api/messages/{sessionId}/broadcasts"),
                          ("GET", "/api/messages/{sessionId}/broadcasts/{broadcastId}"),
                          ("POST", "/api/messages/{sessionId}/broadcasts/{broadcastId}/cancel"),
                          ("GET", "/api/contacts/{sessionId}/blocklist"),
                          ("POST", "/api/chat/{sessionId}/{jid}/archive"),
                          ("GET", "/api/labels/{sessionId}/chats"),
                          ("GET", "/api/contacts/{sessionId}"), ("GET", "/api/media"), ("DELETE", "/api/media")}
    pair = doc["paths"]["/api/sessions/{id}/pair"]["post"]
    assert "phoneNumber" in str(pair.get("requestBody")), pair


def test_docs_operations_are_well_formed(anon):
    doc = anon.get("/api/docs").json()
    ids = set()
    for path, item in doc["paths"].items():
        params = {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}
        for method, op in item.items():
            assert op["summary"] and op["tags"] and op["responses"], (method, path)
            assert op["operationId"] not in ids
            ids.add(op["operationId"])
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == params, (method, path, declared, params)
    scheme = doc["components"]["securitySchemes"]["ApiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key"), scheme



def test_docs_name_gif_playback(anon):
    """A GIF sent as a video: /send's message and /media's form say
    gifPlayback (docs/engine.md "Sending media")."""
    doc = anon.get("/api/docs").json()
    send = doc["paths"]["/api/messages/{sessionId}/{jid}/send"]["post"]["requestBody"]
    msg = send["content"]["application/json"]["schema"]["properties"]["message"]
    assert "gifPlayback" in msg["description"], msg
    media = doc["paths"]["/api/messages/{sessionId}/{jid}/media"]["post"]["requestBody"]
    form = media["content"]["multipart/form-data"]["schema"]["properties"]
    assert form["gifPlayback"]["type"] == "boolean", form


# Would log the caller out or replace its key midway through the loop.
SKIP = {("POST", "/api/user/api-key"), ("DELETE", "/api/user/api-key"), ("POST", "/api/auth/signout")}


def test_every_documented_route_is_served(make_user):
    """No operation in the document answers 'no such route' (404 from the
    router) or 405: the document and the router come from one table.
    Runs as a throwaway SUPERADMIN on ids that do not exist: every session
    route answers 404 session_not_found, every answer is JSON, errors are
    in the error shape, and nothing fails with a 5xx (except the documented
    500 of check-updates when the release feed cannot be read)."""
    admin = make_user("SUPERADMIN").api
    doc = admin.get("/api/docs").json()
    for path, item in doc["paths"].items():
        for method in item:
            if (method.upper(), path) in SKIP:
                continue
            r = admin.request(method.upper(), concrete({"path": path, "method": method.upper()}, "no-such-sess"),
                              json={})
            assert r.status_code != 405, (method, path)
            where = (method, path, r.status_code, r.text[:200])
            assert r.headers.get("Content-Type", "").startswith("application/json"), where
            if r.status_code >= 400:
                b = assert_error_shape(r)
                assert "No API route" not in b["message"], where
                if "{sessionId}" in path or path.startswith("/api/sessions/{id}"):
                    assert r.status_code == 404 and b["error"] == "session_not_found", where
                if r.status_code >= 500:
                    assert (method, path, r.status_code, b["error"]) == \
                        ("post", "/api/system/check-updates", 500, "update_check_failed"), where
