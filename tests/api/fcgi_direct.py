"""Talking FastCGI directly to wa-akg-fcgi processes of our own, for tests
that must know which worker process answers (tests/api/test_auth_cache.py,
tests/api/test_session_cache.py).

start_workers() starts wa-akg-fcgi processes of the stack's own binary and
config (one worker process of two threads each, on their own sockets);
Worker.request() sends one FastCGI request on a new connection."""

import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import sql

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def record(rtype, content=b"", rid=1):
    out = b""
    while True:
        part, content = content[:65535], content[65535:]
        out += struct.pack("!BBHHBx", 1, rtype, rid, len(part), 0) + part
        if not content:
            return out


def nv(name, value):
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return ln(len(name)) + ln(len(value)) + name + value


def _read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise AssertionError("the worker closed the connection (%d of %d bytes)" % (len(buf), n))
        buf += chunk
    return buf


def read_stdout(s):
    """The FCGI_STDOUT bytes of one response on socket s, read up to its
    FCGI_END_REQUEST (the connection may take another request after it)."""
    out = b""
    while True:
        _, rtype, _, clen, plen = struct.unpack("!BBHHBx", _read_exact(s, 8))
        content = _read_exact(s, clen + plen)[:clen]
        if rtype == STDOUT:
            out += content
        elif rtype == END:
            return out


class Worker:
    """One wa-akg-fcgi of our own: request() sends one FastCGI request on a
    new connection and returns (status, parsed JSON body or None)."""

    def __init__(self, sock_path, proc):
        self.path, self.proc = sock_path, proc

    def request(self, method, uri, body=None, key=None, cookie=None, headers=None):
        raw = json.dumps(body).encode() if body is not None else b""
        params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "DOCUMENT_URI": uri.split("?")[0],
                  "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                  "CONTENT_LENGTH": str(len(raw)), "CONTENT_TYPE": "application/json"}
        if key:
            params["HTTP_X_API_KEY"] = key
        if cookie:
            params["HTTP_COOKIE"] = cookie
        params.update(headers or {})
        p = b"".join(nv(k, v) for k, v in params.items())
        msg = record(BEGIN, struct.pack("!HB5x", 1, 0)) + record(PARAMS, p) + record(PARAMS)
        if raw:
            msg += record(STDIN, raw)
        msg += record(STDIN)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        with s:
            s.connect(self.path)
            s.sendall(msg)
            out = read_stdout(s)
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("status:"):
                status = int(line.split()[1])
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, None


def _fcgi_binary(state_dir):
    with open(os.path.join(state_dir, "run", "fcgi.pid")) as f:
        pid = int(f.read().strip())
    exe = os.readlink("/proc/%d/exe" % pid)
    # rebuilt since the stack started: the same path holds the new binary
    return exe[:-len(" (deleted)")] if exe.endswith(" (deleted)") else exe


def start_workers(state_dir, stack_config, envs):
    """A generator yielding one Worker per dict of extra environment in
    envs, each a wa-akg-fcgi of the stack's build and config, once each
    holds an auth cache lease; stops them when resumed."""
    if not stack_config.get("db.socket") or not os.path.exists(stack_config["db.socket"]):
        pytest.skip("the stack's database socket is not reachable from the test")
    binary = _fcgi_binary(state_dir)
    tmp = tempfile.mkdtemp(prefix="wa-fcgi-")
    live = "SELECT pid FROM worker_leases WHERE lease_until > CURRENT_TIMESTAMP(3)"
    rows = sql(stack_config, live)
    before = {int(x) for x in rows.split()} if rows else set()
    out = []
    procs = []
    for i, extra in enumerate(envs):
        name = chr(ord("a") + i)
        path = os.path.join(tmp, name + ".sock")
        env = dict(os.environ, WA_AKG_FCGI_LISTEN="unix:" + path, WA_AKG_FCGI_WORKERS="1",
                   WA_AKG_FCGI_THREADS="2", WA_AKG_AUTH_CACHE="true")
        env.update(extra)
        log = open(os.path.join(tmp, name + ".log"), "w")
        p = subprocess.Popen([binary, "--config", os.path.join(state_dir, "wa-akg.conf")], env=env,
                             stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        out.append(Worker(path, p))
    try:
        for w in out:
            for _ in range(200):
                if os.path.exists(w.path):
                    break
                assert w.proc.poll() is None, "wa-akg-fcgi exited: see %s" % tmp
                time.sleep(0.05)
            assert os.path.exists(w.path), "no socket %s" % w.path
        # each holds a lease: a new row each in worker_leases
        pids = set()
        for _ in range(200):
            rows = sql(stack_config, live)
            pids = ({int(x) for x in rows.split()} if rows else set()) - before
            if len(pids) >= len(out):
                break
            time.sleep(0.05)
        assert len(pids) >= len(out), "the workers hold no lease: see %s" % tmp
        yield out
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
