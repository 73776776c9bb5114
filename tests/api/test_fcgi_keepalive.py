"""Kept FastCGI connections (nginx: fastcgi_keep_conn), spoken to the stack's
worker socket directly: several requests in turn on one connection, each
answered, whatever the one before left unread of its body (a 401 does not
read the body; the rest of it must not be taken for the next request)."""

import socket
import struct

import pytest

from fcgi_direct import BEGIN, PARAMS, STDIN, nv, read_stdout, record

RESPONDER, KEEP_CONN = 1, 1


def request(method, uri, body=b"", headers=None):
    params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "DOCUMENT_URI": uri.split("?")[0],
              "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
              "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json"}
    params.update(headers or {})
    p = b"".join(nv(k, v) for k, v in params.items())
    out = record(BEGIN, struct.pack("!HB5x", RESPONDER, KEEP_CONN)) + record(PARAMS, p) + record(PARAMS)
    if body:
        out += record(STDIN, body)
    return out + record(STDIN)


def response(s):
    """The status of one response, read up to its FCGI_END_REQUEST."""
    head = read_stdout(s).split(b"\r\n\r\n", 1)[0].decode()
    for line in head.split("\r\n"):
        if line.lower().startswith("status:"):
            return int(line.split()[1])
    return 200


@pytest.fixture
def worker(stack_config):
    listen = stack_config.get("fcgi.listen", "")
    if listen.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(listen[5:])
    else:
        host, _, port = listen.replace("tcp:", "").rpartition(":")
        s = socket.create_connection((host or "127.0.0.1", int(port)))
    s.settimeout(20)
    with s:
        yield s


@pytest.mark.parametrize("size", [0, 3000, 20000, 200000])
def test_unread_body_does_not_break_the_next_request(worker, size):
    body = b'{"name":"' + b"a" * size + b'"}'
    for _ in range(3):
        # no credentials: 401 before the body is read
        worker.sendall(request("POST", "/api/sessions", body))
        assert response(worker) == 401
        worker.sendall(request("GET", "/api/nonexistent"))
        assert response(worker) == 404
