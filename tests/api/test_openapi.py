"""GET /api/docs: an OpenAPI 3 document generated from the route table, in
step with the API reference's route list."""
from test_access_matrix import ROUTES, concrete


def test_docs_is_openapi3_and_lists_every_reference_route(anon):
    r = anon.get("/api/docs")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    want = {(r["method"], r["path"]) for r in ROUTES}
    assert len(want) == 109
    missing = want - ops
    assert not missing, sorted(missing)
    # ours beyond the reference are only the documented sign-in/out additions
    assert ops - want == {("POST", "/api/auth/callback/credentials"), ("POST", "/api/auth/signout")}


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
    assert "ApiKeyAuth" in doc["components"]["securitySchemes"]


# Would log the caller out or replace its key midway through the loop.
SKIP = {("POST", "/api/user/api-key"), ("DELETE", "/api/user/api-key"), ("POST", "/api/auth/signout")}


def test_every_documented_route_is_served(make_user):
    """No operation in the document answers 'no such route' (404 from the
    router) or 405: the document and the router come from one table.
    Runs as a throwaway SUPERADMIN on ids that do not exist."""
    admin = make_user("SUPERADMIN").api
    doc = admin.get("/api/docs").json()
    for path, item in doc["paths"].items():
        for method in item:
            if (method.upper(), path) in SKIP:
                continue
            r = admin.request(method.upper(), concrete({"path": path, "method": method.upper()}, "no-such-sess"),
                              json={})
            assert r.status_code != 405, (method, path)
            if r.status_code == 404:
                assert "No API route" not in r.json().get("message", ""), (method, path, r.text[:200])
