#!/usr/bin/env python3
"""A hostile "Comet" for the bounds suite: answers that try to exhaust a client's memory, time or
file descriptors.  Python 3 standard library only; listens on 127.0.0.1; stops by itself.

usage: bomb_server.py PORT_FILE LOG_FILE [--listing N] [--bomb-mb M] [--max-seconds S]

Answers by path (after /api/rest/v2/) and experimentKey (or projectId):
  account-details, workspaces      small valid answers (for "many servers" checks)
  experiments?projectId=big        a listing of N experiments (default 2,000,000) in one body,
                                   {"experimentKey": "k0000001", "projectId": "big"} each
                                   (archived=true: none)
  experiment/parameters, key ...
    k<digits>                      one parameter (the children of the big listing)
    bomb                           gzip bomb: ~M MB (default 240) of {"values": [{},{},...]}
                                   sent as about 0.2 % of that, Content-Encoding: gzip
    bombN (bomb1, bomb2, ...)      the same bomb
    endless                        a chunked body that never ends ({"values": [{"name": "x"}, ...)
    wide                           M MB of {"values": [{"name": "a"}, ...]}, valid, streamed
    silent                         the request is read, nothing is ever answered
    longheader                     a 256 kB response header line
    badgzip                        Content-Encoding: gzip with a body that is not gzip
    retry-huge                     429, Retry-After: 10000000000000000
    retry-max                      429, Retry-After: 9223372036854775807
  anything else                    404 {"msg": "no such thing"}
Logs one line per connection and per request ("REQ path?query auth=<present|absent>") to
LOG_FILE, and every header line received that is not a standard one ("HDR name").
"""
import argparse
import gzip
import os
import signal
import socket
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

STANDARD = {"host", "user-agent", "accept", "accept-encoding", "authorization", "connection",
            "content-length", "content-type"}


class Bombs:
    def __init__(self, listing, bomb_mb):
        self.listing_n = listing
        self.bomb_mb = bomb_mb
        self.lock = threading.Lock()
        self._bomb = None
        self._listing = None

    def bomb(self):
        with self.lock:
            if self._bomb is None:
                z = zlib.compressobj(9, zlib.DEFLATED, 31)   # gzip framing
                out = [z.compress(b'{"values": [{}')]
                chunk = b",{}" * (1 << 20)                    # 3 MB
                for _ in range(max(1, self.bomb_mb // 3)):
                    out.append(z.compress(chunk))
                out.append(z.compress(b"]}"))
                out.append(z.flush())
                self._bomb = b"".join(out)
            return self._bomb

    def listing(self):
        with self.lock:
            if self._listing is None:
                rows = b",".join(b'{"experimentKey": "k%07d", "projectId": "big"}' % i
                                 for i in range(self.listing_n))
                self._listing = b'{"experiments": [' + rows + b"]}"
            return self._listing



class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        self.server.log("connection from %s:%d" % self.client_address)

    def _send(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlsplit(self.path)
        q = dict(parse_qsl(u.query, keep_blank_values=True))
        for name in self.headers.keys():
            if name.lower() not in STANDARD:
                self.server.log("HDR %s" % name)
        self.server.log("REQ %s%s auth=%s" % (u.path, "?" + u.query if u.query else "",
                                                "present" if self.headers.get("Authorization") else "absent"))
        if u.path.startswith("/_fake/reset"):
            return self._send(200, b"ok")
        path = u.path.split("/api/rest/v2/", 1)[-1]
        key = q.get("experimentKey", "")
        b = self.server.bombs
        try:
            if path == "account-details":
                return self._send(200, b'{"userName": "bomb", "defaultWorkspaceName": "bomb"}')
            if path == "workspaces":
                return self._send(200, b'{"workspaceNames": ["bomb"]}')
            if path == "experiments" and q.get("projectId") == "big":
                if q.get("archived") == "true":
                    return self._send(200, b'{"experiments": []}')
                return self._send(200, b.listing())
            if path == "experiment/parameters":
                if key.startswith("k") and key[1:].isdigit():
                    return self._send(200, b'{"values": [{"name": "p", "valueCurrent": "1"}]}')
                if key.startswith("bomb"):
                    return self._send(200, b.bomb(), [("Content-Encoding", "gzip")])
                if key == "wide":
                    return self._wide()
                if key == "endless":
                    return self._endless()
                if key == "silent":
                    return self._silent()
                if key == "longheader":
                    return self._send(200, b'{"values": []}', [("X-Long", "a" * (256 * 1024))])
                if key == "badgzip":
                    return self._send(200, b"this is not gzip at all" * 10,
                                      [("Content-Encoding", "gzip")])
                if key == "retry-huge":
                    return self._send(429, b'{"msg": "slow down"}',
                                      [("Retry-After", "10000000000000000")])
                if key == "retry-max":
                    return self._send(429, b'{"msg": "slow down"}',
                                      [("Retry-After", "9223372036854775807")])
            return self._send(404, b'{"msg": "no such thing", "code": 404}')
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _wide(self):
        # valid JSON, built as it is sent (never held whole): M MB of small objects
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b'{"name": "a"},' * 65536
        self._chunk(b'{"values": [')
        for _ in range(self.server.bombs.bomb_mb * (1 << 20) // len(piece)):
            self._chunk(piece)
        self._chunk(b'{"name": "a"}]}')
        self._chunk(b"")

    def _endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b'{"name": "x"},' * 4096
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        head = b'{"values": ['
        self.wfile.write(b"%x\r\n%s\r\n" % (len(head), head))
        deadline = time.time() + 120
        while time.time() < deadline:
            self.wfile.write(frame)

    def _silent(self):
        deadline = time.time() + 120
        self.connection.settimeout(0.5)
        while time.time() < deadline:
            try:
                if self.connection.recv(1) == b"":
                    return       # the client gave up
            except socket.timeout:
                continue
            except OSError:
                return
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, bombs, logfile):
        super().__init__(addr, Handler)
        self.bombs = bombs
        self._log = open(logfile, "a", buffering=1)
        self._log_lock = threading.Lock()

    def log(self, line):
        with self._log_lock:
            self._log.write(line + "\n")

    def handle_error(self, request, client_address):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("log_file")
    ap.add_argument("--listing", type=int, default=2000000)
    ap.add_argument("--bomb-mb", type=int, default=240)
    ap.add_argument("--max-seconds", type=int, default=900)
    a = ap.parse_args()
    bombs = Bombs(a.listing, a.bomb_mb)
    srv = Server(("127.0.0.1", 0), bombs, a.log_file)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Timer(a.max_seconds, lambda: os._exit(0)).start()
    # the big answers are built before the port is announced: requests never wait on them
    bombs.bomb()
    bombs.listing()
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
