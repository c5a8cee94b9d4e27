#!/usr/bin/env python3
"""Case (d) of the benchmark: a simple sequential client (Python 3 standard library only).

Replays a list of REST requests one at a time over ONE keep-alive connection, the way the
Python helpers (requests.Session) do: send, wait for the whole answer, json-decode it, next.

  python3 bench/seq_client.py --root http://127.0.0.1:PORT --key KEY --requests FILE \
      [--rows-path experiment/parameters]

FILE is the fake's /_fake/requests log (JSON list of {"method", "path", "query", "status"}).
Prints one JSON object: requests, wall_ms, http_ms, decode_ms, bytes, rows, statuses,
connections.  rows counts the list elements of the answers whose path is --rows-path.
"""

import argparse
import collections
import http.client
import json
import sys
import time
from urllib.parse import quote, urlsplit

API_PREFIX = "/api/rest/v2/"


def target(req):
    q = "&".join("%s=%s" % (quote(str(k), safe=""), quote(str(v), safe=""))
                 for k, v in req.get("query", {}).items())
    return API_PREFIX + req["path"] + ("?" + q if q else "")


def count_rows(doc):
    if isinstance(doc, dict):
        return sum(len(v) for v in doc.values() if isinstance(v, list))
    return len(doc) if isinstance(doc, list) else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="http://127.0.0.1:PORT (no path)")
    p.add_argument("--key", required=True)
    p.add_argument("--requests", required=True, help="JSON request log of the fake")
    p.add_argument("--rows-path", default=None)
    p.add_argument("--timeout", type=float, default=60.0)
    a = p.parse_args(argv)

    with open(a.requests, encoding="utf-8") as f:
        reqs = [r for r in json.load(f) if r.get("method", "GET") == "GET"]
    u = urlsplit(a.root)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("seq_client: loopback only, got %s" % a.root)
    headers = {"Authorization": a.key, "Accept": "application/json",
               "User-Agent": "comet_fdw-bench-seq/1.0"}

    conns = 0
    conn = None
    http_s = decode_s = 0.0
    nbytes = rows = 0
    statuses = collections.Counter()
    t0 = time.perf_counter()
    for r in reqs:
        for attempt in (1, 2):          # a keep-alive connection closed by the server: reopen once
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
                conns += 1
            t1 = time.perf_counter()
            try:
                conn.request("GET", target(r), headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                conn = None
                if attempt == 2:
                    raise
                continue
            http_s += time.perf_counter() - t1
            break
        statuses[resp.status] += 1
        nbytes += len(body)
        t2 = time.perf_counter()
        doc = json.loads(body)          # what response.json() does
        decode_s += time.perf_counter() - t2
        if a.rows_path is not None and r["path"] == a.rows_path:
            rows += count_rows(doc)
        if resp.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = None
    wall = time.perf_counter() - t0
    if conn is not None:
        conn.close()
    print(json.dumps({"requests": len(reqs), "wall_ms": wall * 1000, "http_ms": http_s * 1000,
                      "decode_ms": decode_s * 1000, "bytes": nbytes, "rows": rows,
                      "statuses": {str(k): v for k, v in statuses.items()},
                      "connections": conns}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
