#!/usr/bin/env python3
"""HTTP server for tests/unit/test_fetch: listens on ADDRESS (argv[1]) at a
free port, prints the port on stdout, serves until stdin closes.

  /file?n=N&type=T        N bytes (byte i is i % 251), Content-Length, type T
  /nocl?n=N               the same without Content-Length (body until close)
  /bigcl?n=N              announces Content-Length N, sends 10 bytes, stalls
  /slow?n=N&ms=M          N bytes, one every M ms, no Content-Length
  /redirect?to=U&code=C   a C (default 302) redirect to U, with a small body
  /hops?n=N               N redirects in a row (relative), then /file?n=10
  /status?code=C          answers C with a short body
  /count                  how many requests other than /count were served
  /png?w=W&h=H            a W x H RGB PNG (tests/unit/test_image)
"""
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
import zlib

served = 0
lock = threading.Lock()


PATTERN = bytes(range(251))


def body(n):
    return (PATTERN * (n // 251 + 1))[:n]


def png(w, h):
    raw = b"".join(b"\0" + bytes(v for x in range(w) for v in (x % 256, y % 256, 90)) for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        global served
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        n = int(q.get("n", "0"))
        if u.path == "/count":
            with lock:
                data = str(served).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        with lock:
            served += 1
        if u.path == "/file":
            data = body(n)
            self.send_response(200)
            self.send_header("Content-Type", q.get("type", "application/octet-stream"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif u.path == "/nocl":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.end_headers()
            data = body(n)
            for i in range(0, len(data), 8192):
                self.wfile.write(data[i:i + 8192])
        elif u.path == "/bigcl":
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self.wfile.write(body(10))
            self.wfile.flush()
            time.sleep(10)
        elif u.path == "/slow":
            self.send_response(200)
            self.end_headers()
            ms = int(q.get("ms", "100"))
            try:
                for b in body(n):
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(ms / 1000.0)
            except OSError:
                pass
        elif u.path == "/redirect":
            self.send_response(int(q.get("code", "302")))
            self.send_header("Location", q["to"])
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"redirect\n")
        elif u.path == "/hops":
            self.send_response(302)
            self.send_header("Location", "/hops?n=%d" % (n - 1) if n > 1 else "/file?n=10")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif u.path == "/png":
            data = png(int(q.get("w", "8")), int(q.get("h", "8")))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif u.path == "/status":
            self.send_response(int(q.get("code", "500")))
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"nope!\n")
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


def main():
    srv = ThreadingHTTPServer((sys.argv[1], 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(srv.server_address[1], flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
