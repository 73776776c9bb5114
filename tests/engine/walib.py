"""What the engine tests share: waiting, wa-sim's admin API as a phone's
hands, a session's details through the API, and pairing by QR."""
import json
import random
import socket
import struct
import threading
import time

import requests

from conftest import assert_ok_shape

QR_PREFIX = "https://wa.me/settings/linked_devices#"


def wait_for(pred, timeout=20.0, what="condition", every=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        assert time.monotonic() < deadline, "timed out waiting for %s" % what
        time.sleep(every)


class Sim:
    def __init__(self, info):
        self.url = info["admin_url"]

    def post(self, path, body=None):
        r = requests.post(self.url + path, json=body, timeout=10)
        return r

    def get(self, path):
        return requests.get(self.url + path, timeout=10)

    def phone(self, push_name="Phone"):
        for _ in range(5):
            number = "49" + "".join(random.choice("0123456789") for _ in range(10))
            r = self.post("/admin/phones", {"number": number, "pushName": push_name})
            if r.status_code in (200, 201):
                return number
        raise AssertionError("wa-sim made no phone: %s" % r.text)

    def devices(self, number):
        r = self.get("/admin/phones/%s" % number)
        assert r.status_code == 200, r.text
        return r.json()["devices"]

    def connections(self, jid_prefix):
        r = self.get("/admin/connections")
        assert r.status_code == 200, r.text
        return [c for c in r.json()["connections"] if (c.get("jid") or "").startswith(jid_prefix)]


def details(admin, slug):
    r = admin.get("/api/sessions/%s" % slug)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def connected(admin, slug):
    d = details(admin, slug)
    return d if d["status"] == "Connected" and d.get("me") else None


def current_qr(admin, slug):
    r = admin.get("/api/sessions/%s/qr" % slug)
    if r.status_code == 404:
        return None
    d = assert_ok_shape(r, 200, "QR code generated")
    return d


def pair_by_qr(admin, phone_sim, slug, number):
    qr = wait_for(lambda: current_qr(admin, slug), what="a QR for " + slug)
    assert qr["qr"].startswith(QR_PREFIX), qr["qr"][:80]
    r = phone_sim.post("/admin/phones/%s/scan" % number, {"qr": qr["qr"]})
    assert r.status_code == 200, r.text
    return wait_for(lambda: connected(admin, slug), what=slug + " to connect after the scan")


# ---- the engine's event socket (nng PUB, docs/engine.md "The process") ----

def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def decode_event(body):
    """One PUB message: "<sessionId>.<event>" NUL, then a packed waipc.Event
    (proto/wa_ipc.proto). Returns {"topic", "session_id", "event", "data"
    (the JSON payload, decoded), "outbox_id", "timestamp_ms"}."""
    topic, sep, pb = body.partition(b"\0")
    assert sep, "no NUL after the topic: %r" % body[:80]
    out, i = {"topic": topic.decode()}, 0
    names = {1: "session_id", 2: "event", 3: "data", 4: "outbox_id", 5: "timestamp_ms"}
    while i < len(pb):
        key, i = _varint(pb, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(pb, i)
        elif wire == 2:
            n, i = _varint(pb, i)
            v, i = pb[i:i + n], i + n
            assert i <= len(pb), "a length past the end of the Event"
        else:
            raise AssertionError("waipc.Event field %d has wire type %d" % (field, wire))
        if field in names:
            out[names[field]] = v
    out["session_id"] = out["session_id"].decode()
    out["event"] = out["event"].decode()
    out["data"] = json.loads(out["data"])
    return out


class EventSub:
    """A SUB peer of the engine's PUB socket, speaking nng's SP over TCP
    itself (the 8-byte handshake \\0 S P \\0 <protocol, 16-bit BE> \\0 \\0,
    SUB 0x21 to PUB 0x20, then messages as a 64-bit big-endian length and
    the body). SUB filtering is the subscriber's job: every message is
    read, decoded and kept (a thread reads all the time, so the engine's
    PUB never has to drop for us). decode turns a message's body into
    what is kept (the engine's wake-up socket sends no waipc.Event). Use
    as a context manager."""

    def __init__(self, url, decode=None):
        self.decode = decode or decode_event
        assert url.startswith("tcp://"), "event_url %r is not tcp://" % url
        host, port = url[6:].rsplit(":", 1)
        self.sock = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        self.sock.sendall(b"\0SP\0\0\x21\0\0")
        hdr = self._read(8)
        assert hdr == b"\0SP\0\0\x20\0\0", "not an nng PUB at %s: %r" % (url, hdr)
        self.sock.settimeout(None)
        self.events = []
        self.lock = threading.Lock()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("the PUB socket closed")
            buf += chunk
        return buf

    def _run(self):
        try:
            while True:
                n = struct.unpack(">Q", self._read(8))[0]
                ev = self.decode(self._read(n))
                with self.lock:
                    self.events.append(ev)
        except (OSError, EOFError) as e:
            self.error = e
        except Exception as e:  # a message that does not decode fails the test that reads
            self.error = e

    def all(self):
        """Everything received so far, oldest first."""
        assert not isinstance(self.error, AssertionError), self.error
        with self.lock:
            return list(self.events)

    def of(self, session_id, event=None):
        """The events of one session so far (of one kind when given), oldest first."""
        assert not isinstance(self.error, AssertionError), self.error
        with self.lock:
            return [e for e in self.events if e["session_id"] == session_id and
                    (event is None or e["event"] == event)]

    def wait(self, session_id, event, pred=lambda e: True, timeout=20.0, what=None):
        """The first event of that kind for which pred holds (waits)."""
        return wait_for(lambda: next((e for e in self.of(session_id, event) if pred(e)), None), timeout=timeout,
                        what=what or "%s.%s on the PUB socket" % (session_id, event), every=0.05)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def event_url(stack_config):
    """The engine's event address as the engines table has it (the
    config's engine.event_url if the row is not there)."""
    from conftest import sql
    row = sql(stack_config, "SELECT event_url FROM engines WHERE heartbeat_at > NOW(3) - INTERVAL 60 SECOND "
              "ORDER BY heartbeat_at DESC LIMIT 1").strip()
    return row or stack_config.get("engine.event_url", "tcp://127.0.0.1:7702")


# ---- binary nodes for wa-sim's send-raw (docs/protocol.md §3) ----

def _bin_str(s):
    """A string or bytes as raw bytes (BINARY_8 / BINARY_20 / BINARY_32):
    valid for tags, attribute keys and values alike; no token needed."""
    b = s.encode() if isinstance(s, str) else bytes(s)
    if len(b) < 256:
        return bytes([252, len(b)]) + b
    if len(b) < 1 << 20:
        return bytes([253, (len(b) >> 16) & 0x0F, (len(b) >> 8) & 0xFF, len(b) & 0xFF]) + b
    return bytes([254]) + struct.pack(">I", len(b)) + b


def _list_header(n):
    if n == 0:
        return b"\0"
    if n < 256:
        return bytes([248, n])
    return bytes([249]) + struct.pack(">H", n)


def encode_node(tag, attrs=None, content=None):
    """One node: (tag, {key: value}, None | bytes | [child, ...]) where a
    child is a (tag, attrs, content) tuple."""
    attrs = attrs or {}
    out = _list_header(1 + 2 * len(attrs) + (content is not None)) + _bin_str(tag)
    for k, v in attrs.items():
        out += _bin_str(k) + _bin_str(v)
    if isinstance(content, (bytes, bytearray)):
        out += _bin_str(content)
    elif content is not None:
        out += _list_header(len(content)) + b"".join(encode_node(*c) for c in content)
    return out


def frame_hex(tag, attrs=None, content=None):
    """The plaintext of one transport frame (flag byte 0 + the node), as
    send-raw takes it."""
    return ("00" + encode_node(tag, attrs, content).hex())


# ---- the engine's command socket (nng REQ/REP over SP/TCP) ----

def pb_field(num, value):
    """One protobuf field: bytes/str as length-delimited, int as varint."""
    def varint(n):
        out = b""
        while True:
            b, n = n & 0x7F, n >> 7
            if n:
                out += bytes([b | 0x80])
            else:
                return out + bytes([b])
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def engine_command(url, body, timeout=10):
    """Send body as one request on the engine's REP socket, as an nng REQ
    peer (handshake 0x30 -> 0x31; a request is a 32-bit id with its top
    bit set, then the body). Returns (status, JSON body) of the waipc.Reply."""
    host, port = url[6:].rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as s:
        s.sendall(b"\0SP\0\0\x30\0\0")
        hdr = b""
        while len(hdr) < 8:
            chunk = s.recv(8 - len(hdr))
            assert chunk, "the command socket closed during the handshake"
            hdr += chunk
        assert hdr == b"\0SP\0\0\x31\0\0", hdr
        msg = struct.pack(">I", 0x80000001) + body
        s.sendall(struct.pack(">Q", len(msg)) + msg)
        n = b""
        while len(n) < 8:
            chunk = s.recv(8 - len(n))
            assert chunk, "no reply: the engine closed the connection"
            n += chunk
        want, rep = struct.unpack(">Q", n)[0], b""
        while len(rep) < want:
            chunk = s.recv(want - len(rep))
            assert chunk, "the reply was cut"
            rep += chunk
    assert rep[:4] == struct.pack(">I", 0x80000001), rep[:8]
    status, out, i, pb = None, b"", 0, rep[4:]
    while i < len(pb):
        key, i = _varint(pb, i)
        if key & 7 == 0:
            v, i = _varint(pb, i)
        else:
            n2, i = _varint(pb, i)
            v, i = pb[i:i + n2], i + n2
        if key >> 3 == 1:
            status = v
        elif key >> 3 == 2:
            out = v
    return status, json.loads(out) if out else None
