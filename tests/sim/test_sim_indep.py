#!/usr/bin/env python3
"""test_sim_indep: wa-sim checked by a second, independent client.

waclient and wa-sim share the C protocol library, so a mistake in that
library could be invisible to test_sim_pairing. This client shares nothing
with them: it is written from docs/protocol.md alone, in Python, with its own
WebSocket framing, Noise XX initiator, certificate-chain check, XEdDSA,
protobuf and binary-node codecs (only the token tables are read from
wa/tokens.c, which is data). It registers, pairs through the admin
API (whatsmeow-style payloads), logs in and pings (both keepalive styles).
wa-sim runs with --compress-min 1, so every server stanza is zlib-compressed.

Starts ./wa-sim (or $WA_SIM_BIN) on free loopback ports; TAP output.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:
    print("1..0 # SKIP python3-cryptography not installed")
    sys.exit(0)

N = 0
FAILED = 0
COMPRESSED = 0


def ok(cond, name):
    global N, FAILED
    N += 1
    print("%sok %d - %s" % ("" if cond else "not ", N, name))
    if not cond:
        FAILED += 1
    sys.stdout.flush()
    return cond


# ------------------------------------------------------------ crypto helpers

def x_pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def x_dh(priv, pub):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))


def new_priv():
    k = bytearray(os.urandom(32))
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    return bytes(k)


def hkdf(ikm, salt, n=64, info=b""):
    if not salt:
        salt = b"\x00" * 32
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


# Edwards25519 for XEdDSA (libsignal curve25519_sign / verify)
P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
BY = 4 * pow(5, P - 2, P) % P


def _recover_x(y, sign):
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    if x & 1 != sign:
        x = P - x
    return x


BPT = (_recover_x(BY, 0), BY, 1, _recover_x(BY, 0) * BY % P)


def _add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(k, p):
    r = (0, 1, 1, 0)
    while k:
        if k & 1:
            r = _add(r, p)
        p = _add(p, p)
        k >>= 1
    return r


def _enc(p):
    zi = pow(p[2], P - 2, P)
    x, y = p[0] * zi % P, p[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def xeddsa_sign(priv, msg):
    a = int.from_bytes(priv, "little")
    A = _enc(_mul(a, BPT))
    r = int.from_bytes(hashlib.sha512(b"\xfe" + b"\xff" * 31 + priv + msg + os.urandom(64)).digest(),
                       "little") % L
    R = _enc(_mul(r, BPT))
    h = int.from_bytes(hashlib.sha512(R + A + msg).digest(), "little") % L
    sig = bytearray(R + ((r + h * a) % L).to_bytes(32, "little"))
    sig[63] = (sig[63] & 0x7F) | (A[31] & 0x80)
    return bytes(sig)


def xeddsa_verify(mont_pub, msg, sig):
    if len(sig) != 64 or len(mont_pub) != 32:
        return False
    u = int.from_bytes(mont_pub, "little") % P
    y = (u - 1) * pow(u + 1, P - 2, P) % P
    ed = bytearray(y.to_bytes(32, "little"))
    ed[31] = (ed[31] & 0x7F) | (sig[63] & 0x80)
    s = bytearray(sig)
    s[63] &= 0x7F
    try:
        Ed25519PublicKey.from_public_bytes(bytes(ed)).verify(bytes(s), msg)
        return True
    except Exception:
        return False


# ------------------------------------------------------------ protobuf

def pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_u(f, n):
    return pb_varint(f << 3) + pb_varint(n)


def pb_b(f, data):
    if isinstance(data, str):
        data = data.encode()
    return pb_varint(f << 3 | 2) + pb_varint(len(data)) + data


def pb_parse(buf):
    """field number -> list of values (int for varint, bytes for length-delimited)"""
    out, i = {}, 0
    while i < len(buf):
        key, shift = 0, 0
        while True:
            b = buf[i]; i += 1
            key |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                break
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, shift = 0, 0
            while True:
                b = buf[i]; i += 1
                v |= (b & 0x7F) << shift; shift += 7
                if not b & 0x80:
                    break
        elif wt == 2:
            n, shift = 0, 0
            while True:
                b = buf[i]; i += 1
                n |= (b & 0x7F) << shift; shift += 7
                if not b & 0x80:
                    break
            v = bytes(buf[i:i + n]); i += n
        elif wt == 5:
            v = buf[i:i + 4]; i += 4
        elif wt == 1:
            v = buf[i:i + 8]; i += 8
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(f, []).append(v)
    return out


def pb1(msg, f, default=None):
    return msg.get(f, [default])[0]


# ------------------------------------------------------------ binary nodes (§3)

SINGLE, DOUBLE = [], []


def load_tokens(top):
    """The dictionaries from tests/vectors/tokens/ (one token a line, line N =
    index N), the independently compiled tables, not our wa/tokens.c."""
    d = os.path.join(top, "tests", "vectors", "tokens")
    with open(os.path.join(d, "tokens-single.txt"), encoding="utf-8") as f:
        SINGLE.extend(f.read().split("\n")[:236])
    for k in range(4):
        with open(os.path.join(d, "tokens-double-%d.txt" % k), encoding="utf-8") as f:
            DOUBLE.append(f.read().split("\n")[:256])
    return len(SINGLE) == 236 and all(len(x) == 256 for x in DOUBLE)


class Jid(str):
    """A string attribute that is written as a JID."""


class Node:
    def __init__(self, tag, attrs=None, content=None):
        self.tag, self.attrs, self.content = tag, dict(attrs or {}), content

    def child(self, tag):
        if isinstance(self.content, list):
            for c in self.content:
                if c.tag == tag:
                    return c
        return None

    def __repr__(self):
        return "<%s %s %r>" % (self.tag, self.attrs, self.content if not isinstance(self.content, bytes)
                               else "%d bytes" % len(self.content))


def _w_bytes(out, b):
    n = len(b)
    if n < 256:
        out += bytes([252, n])
    elif n < 1 << 20:
        out += bytes([253, (n >> 16) & 0x0F, (n >> 8) & 0xFF, n & 0xFF])
    else:
        out += bytes([254]) + struct.pack(">I", n)
    out += b


def _w_packed(out, s, tag, code):
    out.append(tag)
    out.append((len(s) + 1) // 2 | (0x80 if len(s) % 2 else 0))
    for i in range(0, len(s), 2):
        hi = code(s[i])
        lo = code(s[i + 1]) if i + 1 < len(s) else 15
        out.append(hi << 4 | lo)


def _w_str(out, s):
    if s != "" and s in SINGLE[1:]:
        out.append(SINGLE.index(s))
        return
    for k in range(4):
        if s in DOUBLE[k]:
            out += bytes([236 + k, DOUBLE[k].index(s)])
            return
    if len(s) <= 127 and all(c in "0123456789-." for c in s):
        _w_packed(out, s, 255, lambda c: "0123456789-.".index(c))
    elif 0 < len(s) <= 127 and all(c in "0123456789ABCDEF" for c in s):
        _w_packed(out, s, 251, lambda c: "0123456789ABCDEF".index(c))
    else:
        _w_bytes(out, s.encode())


def _w_jid(out, j):
    user, _, server = j.rpartition("@")
    if ":" in user and server in ("s.whatsapp.net", "lid"):
        u, dev = user.split(":")
        out += bytes([247, 1 if server == "lid" else 0, int(dev)])
        _w_str(out, u)
    else:
        out.append(250)
        if user:
            _w_str(out, user)
        else:
            out.append(0)
        _w_str(out, server)


def _w_list(out, n):
    if n == 0:
        out.append(0)
    elif n < 256:
        out += bytes([248, n])
    else:
        out += bytes([249, n >> 8, n & 0xFF])


def _w_node(out, n):
    attrs = [(k, v) for k, v in n.attrs.items() if v is not None and v != ""]
    _w_list(out, 1 + 2 * len(attrs) + (1 if n.content is not None else 0))
    _w_str(out, n.tag)
    for k, v in attrs:
        _w_str(out, k)
        if isinstance(v, Jid):
            _w_jid(out, v)
        else:
            _w_str(out, v)
    if isinstance(n.content, list):
        _w_list(out, len(n.content))
        for c in n.content:
            _w_node(out, c)
    elif isinstance(n.content, (bytes, bytearray)):
        _w_bytes(out, bytes(n.content))
    elif isinstance(n.content, str):
        _w_str(out, n.content)


def encode(n):
    out = bytearray([0])
    _w_node(out, n)
    return bytes(out)


class Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def byte(self):
        v = self.b[self.i]
        self.i += 1
        return v

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError("truncated")
        v = self.b[self.i:self.i + n]
        self.i += n
        return bytes(v)

    def list_size(self, t):
        if t == 0:
            return 0
        if t == 248:
            return self.byte()
        if t == 249:
            return self.byte() << 8 | self.byte()
        raise ValueError("bad list tag %d" % t)

    def packed(self, alphabet):
        b0 = self.byte()
        s = ""
        for x in self.take(b0 & 0x7F):
            s += alphabet[x >> 4] + alphabet[x & 15]
        return s[:-1] if b0 & 0x80 else s

    def string(self, t):
        if 1 <= t <= 235:
            return SINGLE[t]
        if 236 <= t <= 239:
            return DOUBLE[t - 236][self.byte()]
        if t == 0:
            return ""
        if t == 252:
            return self.take(self.byte()).decode()
        if t == 253:
            return self.take((self.byte() & 15) << 16 | self.byte() << 8 | self.byte()).decode()
        if t == 254:
            return self.take(struct.unpack(">I", self.take(4))[0]).decode()
        if t == 250:
            u = self.string(self.byte())
            srv = self.string(self.byte())
            return Jid("%s@%s" % (u, srv) if u else srv)
        if t == 247:
            dom, dev = self.byte(), self.byte()
            u = self.string(self.byte())
            srv = {1: "lid", 128: "hosted", 129: "hosted.lid"}.get(dom, "s.whatsapp.net")
            return Jid("%s:%d@%s" % (u, dev, srv))
        if t == 255:
            return self.packed("0123456789-.\0\0\0\0")
        if t == 251:
            return self.packed("0123456789ABCDEF")
        raise ValueError("bad string tag %d" % t)

    def node(self):
        size = self.list_size(self.byte())
        tag = self.string(self.byte())
        if size == 0 or tag == "":
            raise ValueError("empty node")
        attrs = {}
        for _ in range((size - 1) >> 1):
            k = self.string(self.byte())
            attrs[k] = self.string(self.byte())
        content = None
        if size % 2 == 0:
            t = self.byte()
            if t in (0, 248, 249):
                content = [self.node() for _ in range(self.list_size(t))]
            elif t == 252:
                content = self.take(self.byte())
            elif t == 253:
                content = self.take((self.byte() & 15) << 16 | self.byte() << 8 | self.byte())
            elif t == 254:
                content = self.take(struct.unpack(">I", self.take(4))[0])
            else:
                content = self.string(t)
        return Node(tag, attrs, content)


def decode(frame):
    import zlib
    if frame[0] & 2:
        frame = b"\0" + zlib.decompress(frame[1:])
    r = Reader(frame[1:])
    n = r.node()
    if r.i != len(r.b):
        raise ValueError("trailing bytes")
    return n


# ------------------------------------------------------------ WebSocket + Noise client

PROTO_NAME = b"Noise_XX_25519_AESGCM_SHA256\x00\x00\x00\x00"
INTRO = b"WA\x06\x03"


def iv(n):
    return b"\x00" * 8 + struct.pack(">I", n)


class Client:
    def __init__(self, port, root_pub):
        self.port, self.root_pub = port, root_pub
        self.sock, self.buf, self.frames = None, b"", []

    # WebSocket (RFC 6455), client side: masked frames out, unmasked in
    def ws_connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /ws/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                           "Origin: https://web.whatsapp.com\r\n\r\n" % key).encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise IOError("closed during upgrade")
            resp += chunk
        head, self.buf = resp.split(b"\r\n\r\n", 1)
        want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                                .digest()).decode()
        if b" 101 " not in head.split(b"\r\n")[0] or want.encode() not in head:
            raise IOError("bad upgrade answer")

    def ws_send(self, data):
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x82])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(data)))

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk

    def ws_recv(self):
        """one complete binary message (continuations joined); EOFError on close"""
        msg = b""
        while True:
            self._need(2)
            b0, b1 = self.buf[0], self.buf[1]
            n, off = b1 & 0x7F, 2
            if n == 126:
                self._need(4)
                n, off = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                self._need(10)
                n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
            self._need(off + n)
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            op = b0 & 0x0F
            if op == 8:
                raise EOFError("close frame")
            if op in (9, 10):
                continue
            msg += payload
            if b0 & 0x80:
                return msg

    def read_frame(self):
        """one 3-byte-length protocol frame (several may share a message)"""
        while True:
            if len(self.frames) >= 3:
                n = int.from_bytes(bytes(self.frames[:3]), "big")
                if len(self.frames) >= 3 + n:
                    f = bytes(self.frames[3:3 + n])
                    self.frames = self.frames[3 + n:]
                    return f
            self.frames = (self.frames if isinstance(self.frames, bytes) else bytes(self.frames)) + self.ws_recv()

    # Noise XX initiator (§1.4); routing: Baileys' "ED" intro (§1.2)
    def handshake(self, noise_priv, payload, routing=None):
        self.frames = b""
        h = ck = PROTO_NAME
        sha = lambda x: hashlib.sha256(x).digest()
        h = sha(h + INTRO)
        e_priv = new_priv()
        e_pub = x_pub(e_priv)
        h = sha(h + e_pub)
        hello = pb_b(2, pb_b(1, e_pub))
        intro = INTRO
        if routing:
            intro = b"ED\x00\x01" + len(routing).to_bytes(3, "big") + routing + INTRO
        self.ws_send(intro + len(hello).to_bytes(3, "big") + hello)
        sh = pb_parse(pb1(pb_parse(self.read_frame()), 3))
        re_pub, enc_static, enc_cert = pb1(sh, 1), pb1(sh, 2), pb1(sh, 3)
        h = sha(h + re_pub)
        okm = hkdf(x_dh(e_priv, re_pub), ck)
        ck, k = okm[:32], okm[32:]
        rs = AESGCM(k).decrypt(iv(0), enc_static, h)
        h = sha(h + enc_static)
        okm = hkdf(x_dh(e_priv, rs), ck)
        ck, k = okm[:32], okm[32:]
        cert = AESGCM(k).decrypt(iv(0), enc_cert, h)
        h = sha(h + enc_cert)
        self.check_chain(cert, rs)
        enc_s = AESGCM(k).encrypt(iv(1), x_pub(noise_priv), h)
        h = sha(h + enc_s)
        okm = hkdf(x_dh(noise_priv, re_pub), ck)
        ck, k = okm[:32], okm[32:]
        enc_p = AESGCM(k).encrypt(iv(0), payload, h)
        fin = pb_b(4, pb_b(1, enc_s) + pb_b(2, enc_p))
        self.ws_send(len(fin).to_bytes(3, "big") + fin)
        okm = hkdf(b"", ck)
        self.wkey, self.rkey, self.wn, self.rn = okm[:32], okm[32:], 0, 0

    def check_chain(self, cert, rs):
        chain = pb_parse(cert)
        leaf, inter = pb_parse(pb1(chain, 1)), pb_parse(pb1(chain, 2))
        idet, isig = pb1(inter, 1), pb1(inter, 2)
        ldet, lsig = pb1(leaf, 1), pb1(leaf, 2)
        if not xeddsa_verify(self.root_pub, idet, isig):
            raise ValueError("intermediate not signed by the root")
        i, l = pb_parse(idet), pb_parse(ldet)
        now = time.time()
        if pb1(i, 2, 0) != 0 or len(pb1(i, 3, b"")) != 32:
            raise ValueError("intermediate issuer serial / key")
        if not xeddsa_verify(pb1(i, 3), ldet, lsig):
            raise ValueError("leaf not signed by the intermediate")
        if pb1(l, 2) != pb1(i, 1) or pb1(l, 3) != rs:
            raise ValueError("leaf issuer serial / key")
        for d in (i, l):
            if not pb1(d, 4, 0) <= now <= pb1(d, 5, 0):
                raise ValueError("outside the validity window")

    def send(self, node):
        pt = encode(node)
        ct = AESGCM(self.wkey).encrypt(iv(self.wn), pt, None)
        self.wn += 1
        self.ws_send(len(ct).to_bytes(3, "big") + ct)

    def recv(self):
        global COMPRESSED
        ct = self.read_frame()
        pt = AESGCM(self.rkey).decrypt(iv(self.rn), ct, None)
        self.rn += 1
        COMPRESSED += pt[0] & 2 and 1
        return decode(pt)

    def recv_until(self, pred, limit=50):
        for _ in range(limit):
            n = self.recv()
            if pred(n):
                return n
        raise ValueError("not received")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def user_agent():
    ver = pb_u(1, 2) + pb_u(2, 3000) + pb_u(3, 1045649367)
    return pb_b(5, pb_u(1, 14) + pb_b(2, ver) + pb_b(3, "000") + pb_b(4, "000") + pb_b(5, "0.1") +
                pb_b(6, "") + pb_b(7, "Desktop") + pb_b(8, "0.1") + pb_u(10, 0) + pb_b(11, "en") +
                pb_b(12, "US"))


def registration_payload(keys):
    props = pb_b(1, "indep-client") + pb_b(2, pb_u(1, 0) + pb_u(2, 1) + pb_u(3, 0)) + pb_u(3, 0) + pb_u(4, 0)
    pairing = (pb_b(1, struct.pack(">I", keys["regid"])) + pb_b(2, b"\x05") + pb_b(3, keys["id_pub"]) +
               pb_b(4, (1).to_bytes(3, "big")) + pb_b(5, keys["spk_pub"]) + pb_b(6, keys["spk_sig"]) +
               pb_b(7, hashlib.md5(b"2.3000.1045649367").digest()) + pb_b(8, props))
    return (pb_u(3, 0) + user_agent() + pb_b(6, pb_u(4, 0)) + pb_u(12, 1) + pb_u(13, 1) +
            pb_b(19, pairing) + pb_u(33, 0))


def login_payload(user, device, baileys=False):
    if baileys:  # §2.4 / §14: lidDbMigrated false, no lc, a push name
        return (pb_u(1, int(user)) + pb_u(3, 1) + user_agent() + pb_b(6, pb_u(4, 0)) + pb_b(7, "Indep") +
                pb_u(12, 1) + pb_u(13, 1) + pb_u(18, device) + pb_u(33, 1) + pb_u(41, 0))
    return (pb_u(1, int(user)) + pb_u(3, 1) + user_agent() + pb_b(6, pb_u(4, 0)) + pb_u(12, 1) +
            pb_u(13, 1) + pb_u(18, device) + pb_u(24, 1) + pb_u(33, 1) + pb_u(41, 1))


# ------------------------------------------------------------ link code (§4.5)

LC_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"


def lc_code(five):
    v = int.from_bytes(five, "big")
    return "".join(LC_ALPHABET[(v >> (35 - 5 * i)) & 31] for i in range(8))


def lc_ctr(code, salt, iv16, data):
    key = hashlib.pbkdf2_hmac("sha256", code.encode(), salt, 2 << 16, 32)
    enc = Cipher(algorithms.AES(key), modes.CTR(iv16)).encryptor()
    return enc.update(data) + enc.finalize()


def pair_by_code(wsp, adp, root, phone):
    """whatsmeow's PairPhone + handleCodePairNotification, then pair-success"""
    noise_priv, id_priv, spk_priv = new_priv(), new_priv(), new_priv()
    keys = {"regid": 4242, "id_pub": x_pub(id_priv), "spk_pub": x_pub(spk_priv)}
    keys["spk_sig"] = xeddsa_sign(id_priv, b"\x05" + keys["spk_pub"])
    c = Client(wsp, root)
    c.ws_connect()
    c.handshake(noise_priv, registration_payload(keys))
    pd = c.recv_until(lambda n: n.tag == "iq" and n.child("pair-device") is not None)
    c.send(Node("iq", {"to": Jid("s.whatsapp.net"), "id": pd.attrs["id"], "type": "result"}))
    eph_priv = new_priv()
    code = lc_code(os.urandom(5))
    salt, iv16 = os.urandom(32), os.urandom(16)
    wrapped = salt + iv16 + lc_ctr(code, salt, iv16, x_pub(eph_priv))
    c.send(Node("iq", {"id": "lc1", "xmlns": "md", "type": "set", "to": Jid("s.whatsapp.net")},
                [Node("link_code_companion_reg", {"jid": Jid(phone + "@s.whatsapp.net"), "stage": "companion_hello",
                                                  "should_show_push_notification": "true"},
                      [Node("link_code_pairing_wrapped_companion_ephemeral_pub", {}, wrapped),
                       Node("companion_server_auth_key_pub", {}, x_pub(noise_priv)),
                       Node("companion_platform_id", {}, "1"),
                       Node("companion_platform_display", {}, "Chrome (Linux)"),
                       Node("link_code_pairing_nonce", {}, b"\x00")])]))
    r = c.recv_until(lambda n: n.tag == "iq" and n.attrs.get("id") == "lc1")
    ref = r.child("link_code_companion_reg").child("link_code_pairing_ref").content
    ok(r.attrs.get("type") == "result" and isinstance(ref, bytes) and len(ref) > 0,
       "link code: companion_hello answered with a pairing ref")
    st, _ = http(adp, "POST", "/admin/phones/%s/link-code" % phone, code[:4] + "-" + code[4:], "text/plain")
    ok(st == 200, "link code: the phone's user types the code")
    n = c.recv_until(lambda n: n.tag == "notification" and n.attrs.get("type") == "link_code_companion_reg")
    c.send(Node("ack", {"id": n.attrs["id"], "class": "notification", "type": "link_code_companion_reg",
                        "to": n.attrs.get("from")}))
    reg = n.child("link_code_companion_reg")
    wp = reg.child("link_code_pairing_wrapped_primary_ephemeral_pub").content
    primary_id = reg.child("primary_identity_pub").content
    ok(reg.child("link_code_pairing_ref").content == ref and len(wp) >= 80 and len(primary_id) == 32,
       "link code: notification with ref, wrapped primary ephemeral, primary identity")
    shared = x_dh(eph_priv, lc_ctr(code, wp[0:32], wp[32:48], wp[48:80]))
    adv_random, bsalt, nonce = os.urandom(32), os.urandom(32), os.urandom(12)
    bkey = hkdf(shared, bsalt, 32, b"link_code_pairing_key_bundle_encryption_key")
    bundle = bsalt + nonce + AESGCM(bkey).encrypt(nonce, keys["id_pub"] + primary_id + adv_random, None)
    adv_secret = hkdf(shared + x_dh(id_priv, primary_id) + adv_random, None, 32, b"adv_secret")
    c.send(Node("iq", {"id": "lc2", "xmlns": "md", "type": "set", "to": Jid("s.whatsapp.net")},
                [Node("link_code_companion_reg", {"jid": Jid(phone + "@s.whatsapp.net"), "stage": "companion_finish"},
                      [Node("link_code_pairing_wrapped_key_bundle", {}, bundle),
                       Node("companion_identity_public", {}, keys["id_pub"]),
                       Node("link_code_pairing_ref", {}, ref)])]))
    r = c.recv_until(lambda n: n.tag == "iq" and n.attrs.get("id") == "lc2")
    ok(r.attrs.get("type") == "result", "link code: companion_finish accepted")
    ps = c.recv_until(lambda n: n.tag == "iq" and n.child("pair-success") is not None)
    hm = pb_parse(ps.child("pair-success").child("device-identity").content)
    ok(hmac.new(adv_secret, pb1(hm, 1), hashlib.sha256).digest() == pb1(hm, 2),
       "link code: pair-success HMAC with the derived adv secret")
    sdi = pb_parse(pb1(hm, 1))
    ok(pb1(sdi, 2) == primary_id and
       xeddsa_verify(primary_id, b"\x06\x00" + pb1(sdi, 1) + keys["id_pub"], pb1(sdi, 3)),
       "link code: account signature by the announced primary identity")
    c.close()


# ------------------------------------------------------------ the test

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(port, method, path, body=None, ctype="application/json"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=body.encode() if body is not None else None,
                                 headers={"Content-Type": ctype} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def main():
    top = os.environ.get("top_srcdir", ".")
    binary = os.environ.get("WA_SIM_BIN", "./wa-sim")
    if not os.access(binary, os.X_OK):
        print("Bail out! no wa-sim binary at %s (make builds it; WA_SIM_BIN names another)" % binary)
        return 1
    if not load_tokens(top):
        print("Bail out! cannot read the token tables from wa/tokens.c")
        return 1
    # the client itself against docs/protocol.md vectors (§3.7, §15.2, §15.3)
    ping = Node("iq", {"id": "1.2-1", "to": Jid("s.whatsapp.net"), "type": "get", "xmlns": "w:p"})
    ok(encode(ping).hex() == "00f8091908ff831b2a1f11fa000304291657", "own encoder: ping vector")
    msg = encode(Node("message", {"id": "3EB0A1B2C3D4E5F6A7B8C9", "to": Jid("15551234567@s.whatsapp.net"),
                                  "type": "text"},
                      [Node("participants", {}, [Node("to", {"jid": Jid("15551234567:2@s.whatsapp.net")},
                                                      [Node("enc", {"v": "2", "type": "pkmsg"}, b"\x33\x0a\x01")])]),
                       Node("device-identity", {}, b"\x0a\x00")]))
    ok(msg.hex() == "00f8081308fb0b3eb0a1b2c3d4e5f6a7b8c911faff8615551234567f030438f802f8026bf801f804110cf7"
       "0002ff8615551234567ff801f8061d51450453fc03330a01f802e6fc020a00", "own encoder: message vector")
    sv = decode(bytes.fromhex("00f8054c1aff05170000000076faff88123456789012345f76"))
    ok(sv.tag == "success" and sv.attrs == {"t": "1700000000", "lid": "123456789012345@lid"},
       "own decoder: success vector")
    zc = decode(bytes.fromhex("02789cfbc125c9f1bf4dc8243abd4b5fec348ba6e02f06e61f8c3f181d01749e08b9"))
    ok(zc.tag == "iq" and zc.child("count") is not None, "own decoder: zlib vector")
    salt32 = bytes(range(32))
    ok(lc_code(bytes.fromhex("0123456789")) == "15JMBSWA" and
       (salt32 + bytes(range(16)) + lc_ctr("15JMBSWA", salt32, bytes(range(16)), bytes.fromhex(
           "a73a872bf1c390435717255da6799f9288fa6f869b1a0ec169c1e4d9ab03af44"))).hex()[96:] ==
       "b8a08e0e748bfbce007a7206ceaa0931c6387ca4ac8c7d9d397d94a237e2e4c3", "own link-code wrap: vector")
    ok(xeddsa_verify(bytes.fromhex("f4e719f55e8353303f8ae3b2ac818e2b8ec0a34a66ce1657fb6685feca26580c"),
                     b"WhatsApp XEdDSA test vector",
                     bytes.fromhex("7fe937bec6ab36adff62155312661d8a8dde21b5f4a7518b60ba03ab2d4b273a"
                                   "bda29e7097301022685f9edebefbedcd83c682b165ad56f60acf1ca91c299b03")),
       "own XEdDSA verify: vector")

    state = tempfile.mkdtemp(prefix="wa-sim-indep-")
    wsp, adp = free_port(), free_port()
    log = open(os.path.join(state, "wa-sim.log"), "w")
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:%d" % wsp, "--admin", "127.0.0.1:%d" % adp,
                             "--state", state, "--compress-min", "1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        root = None
        for _ in range(100):
            try:
                st, j = http(adp, "GET", "/admin/root-key")
                if st == 200:
                    root = bytes.fromhex(j["publicKey"])
                    break
            except OSError:
                pass
            time.sleep(0.05)
        if not ok(root is not None and len(root) == 32, "wa-sim up, root key read"):
            return 1
        ok(http(adp, "POST", "/admin/phones", json.dumps({"number": "4915112345678", "pushName": "P"}))[0] == 201,
           "phone created")

        # keys as whatsmeow makes them (§2.3)
        noise_priv, id_priv, spk_priv = new_priv(), new_priv(), new_priv()
        keys = {"regid": int.from_bytes(os.urandom(4), "big"), "id_pub": x_pub(id_priv),
                "spk_pub": x_pub(spk_priv)}
        keys["spk_sig"] = xeddsa_sign(id_priv, b"\x05" + keys["spk_pub"])
        ok(xeddsa_verify(keys["id_pub"], b"\x05" + keys["spk_pub"], keys["spk_sig"]),
           "own XEdDSA signs and verifies")
        adv_secret = os.urandom(32)

        c = Client(wsp, root)
        try:
            c.ws_connect()
            upgraded = True
        except (IOError, OSError) as e:
            print("# upgrade: %s" % e)
            upgraded = False
        ok(upgraded, "WebSocket upgrade on /ws/chat without a subprotocol (101, Sec-WebSocket-Accept right)")
        if not upgraded:
            print("Bail out! no WebSocket connection to wa-sim")
            sys.exit(1)
        try:
            c.handshake(noise_priv, registration_payload(keys))
            hs = True
        except Exception as e:
            print("# handshake: %s" % e)
            hs = False
        ok(hs, "Noise XX handshake, certificate chain verified against the root")
        pd = c.recv()
        ok(pd.tag == "iq" and pd.attrs.get("type") == "set" and pd.attrs.get("from") == "s.whatsapp.net"
           and isinstance(pd.content, list) and len(pd.content) == 1 and pd.content[0].tag == "pair-device",
           "pair-device IQ as whatsmeow requires it (from server, one child)")
        refs = [r.content for r in pd.content[0].content if r.tag == "ref"]
        ok(len(refs) == 6 and all(isinstance(r, bytes) for r in refs), "six refs as bytes")
        c.send(Node("iq", {"to": Jid("s.whatsapp.net"), "id": pd.attrs["id"], "type": "result"}))
        qr = "https://wa.me/settings/linked_devices#%s,%s,%s,%s,9" % (
            refs[0].decode(), base64.b64encode(x_pub(noise_priv)).decode(),
            base64.b64encode(keys["id_pub"]).decode(), base64.b64encode(adv_secret).decode())
        st, _ = http(adp, "POST", "/admin/phones/4915112345678/scan", qr, "text/plain")
        ok(st == 200, "phone scans the independent client's QR")

        ps = c.recv_until(lambda n: n.tag == "iq" and n.child("pair-success") is not None)
        succ = ps.child("pair-success")
        hm = pb_parse(succ.child("device-identity").content)
        details, mac = pb1(hm, 1), pb1(hm, 2)
        ok(hmac.new(adv_secret, details, hashlib.sha256).digest() == mac, "pair-success HMAC with the adv secret")
        sdi = pb_parse(details)
        dev_details, acc_key, acc_sig = pb1(sdi, 1), pb1(sdi, 2), pb1(sdi, 3)
        ok(xeddsa_verify(acc_key, b"\x06\x00" + dev_details + keys["id_pub"], acc_sig),
           "account signature verifies (06 00 || details || identity)")
        di = pb_parse(dev_details)
        dev_sig = xeddsa_sign(id_priv, b"\x06\x01" + dev_details + keys["id_pub"] + acc_key)
        djid = succ.child("device").attrs.get("jid", "")
        ok(re.fullmatch(r"4915112345678:\d+@s\.whatsapp\.net", djid) is not None and
           succ.child("device").attrs.get("lid", "").endswith("@lid"), "device jid and lid")
        reply = pb_b(1, dev_details) + pb_b(3, acc_sig) + pb_b(4, dev_sig)
        c.send(Node("iq", {"to": Jid("s.whatsapp.net"), "type": "result", "id": ps.attrs["id"]},
                    [Node("pair-device-sign", {}, [Node("device-identity",
                                                        {"key-index": str(pb1(di, 3, 0))}, reply)])]))
        se = c.recv_until(lambda n: n.tag == "stream:error")
        ok(se.attrs.get("code") == "515", "515 after pair-device-sign")
        c.close()

        # login (§2.4)
        device = int(djid.split(":")[1].split("@")[0])
        c = Client(wsp, root)
        c.ws_connect()
        c.handshake(noise_priv, login_payload("4915112345678", device))
        s = c.recv()
        ok(s.tag == "success" and s.attrs.get("t", "").isdigit() and s.attrs.get("lid", "").endswith("@lid"),
           "login gives <success t lid>")
        c.send(Node("iq", {"id": "w1", "type": "get", "xmlns": "w:p", "to": Jid("s.whatsapp.net")}))
        r = c.recv_until(lambda n: n.tag == "iq" and n.attrs.get("id") == "w1")
        ok(r.attrs.get("type") == "result", "whatsmeow keepalive (no child) answered")
        c.send(Node("iq", {"id": "b1", "type": "get", "xmlns": "w:p", "to": Jid("s.whatsapp.net")},
                    [Node("ping")]))
        r = c.recv_until(lambda n: n.tag == "iq" and n.attrs.get("id") == "b1")
        ok(r.attrs.get("type") == "result", "Baileys keepalive (<ping/>) answered")
        c.send(Node("iq", {"id": "p1", "type": "set", "xmlns": "passive", "to": Jid("s.whatsapp.net")},
                    [Node("active")]))
        r = c.recv_until(lambda n: n.tag == "iq" and n.attrs.get("id") == "p1")
        ok(r.attrs.get("type") == "result", "passive/active answered")
        c.close()

        # Baileys style: "ED" routing intro and its login payload
        c = Client(wsp, root)
        c.ws_connect()
        c.handshake(noise_priv, login_payload("4915112345678", device, baileys=True), routing=b"\x08\x01\x10\x02")
        s = c.recv()
        ok(s.tag == "success", "Baileys-style login with an ED routing intro gets <success>")
        raw = bytearray(encode(Node("iq", {"id": "e1", "type": "get", "xmlns": "w:p",
                                           "to": Jid("s.whatsapp.net")}, [Node("ping")])))
        ct = AESGCM(c.wkey).encrypt(iv(c.wn), bytes(raw), None)
        c.wn += 1
        c.ws_send(len(ct).to_bytes(3, "big") + ct)
        r = c.recv_until(lambda n: n.tag == "iq" and n.attrs.get("id") == "e1")
        ok(r.attrs.get("type") == "result", "ping after the ED intro answered")
        c.close()

        # a login with another noise key is refused
        c = Client(wsp, root)
        c.ws_connect()
        c.handshake(new_priv(), login_payload("4915112345678", device))
        f = c.recv()
        ok(f.tag == "failure" and f.attrs.get("reason") == "401", "foreign noise key -> <failure reason=401/>")
        c.close()

        pair_by_code(wsp, adp, root, "4915112345678")
        ok(COMPRESSED > 5, "server stanzas arrived zlib-compressed (--compress-min 1) and decoded")

        # a client trusting another root refuses the chain
        c = Client(wsp, x_pub(new_priv()))
        c.ws_connect()
        try:
            c.handshake(noise_priv, login_payload("4915112345678", device))
            refused = False
        except ValueError:
            refused = True
        ok(refused, "chain rejected under a different root")
        c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -1
        ok(rc == 0, "wa-sim exits cleanly")
        log.close()
        if FAILED:
            print("# wa-sim state and log kept in %s" % state)
        else:
            shutil.rmtree(state, ignore_errors=True)
        print("1..%d" % N)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
