#!/usr/bin/env python3
"""test/fake_comet.py, tuned for benchmarking (Python 3 standard library only).

The fake builds every experiment's data in Python on first use and keeps only ~300,000 metric
points of it, so with the benchmark's dataset (1,000,000 points) almost every request would
regenerate a whole experiment (~60 ms of CPU under the GIL): the benchmark would measure the
fake, not comet_fdw.  This wrapper runs the very same server with two changes:

  * answers are memoized: the first healthy 200 answer to (method, path, query, and a POST
    read's body) is kept as bytes and served again verbatim (the API key is still checked on every request; faults,
    counts, the request log and --latency-ms work as before);
  * the fake's details cache holds the whole dataset;
  * TCP_NODELAY on every accepted connection (see setup() below).

It also counts the TCP connections it accepts (keep-alive evidence):
  /_fake/bench/connections   connections accepted since the last /_fake/reset (plain integer)
  /_fake/bench/memo          number of memoized answers and their bytes ("N BYTES")
  /_fake/bench/timeline      JSON [[start, end, path], ...] of the API requests since the last
                             /_fake/reset (time.monotonic() seconds, end = answer written)

Usage: python3 bench/fake_server.py [--no-memo] [fake_comet.py options...]
"""

import importlib.util
import json
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "test", "fake_comet.py")


def load_fake():
    spec = importlib.util.spec_from_file_location("fake_comet", FAKE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fake_comet"] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv):
    memo_on = True
    if "--no-memo" in argv:
        memo_on = False
        argv = [a for a in argv if a != "--no-memo"]
    fc = load_fake()
    args = fc.parse_args(argv)           # validates, and sizes the details cache
    points = max(args.metrics, 1) * max(args.points, 1) * max(args.experiments, 1) * \
        max(args.projects, 1) * max(args.workspaces, 1)
    fc.DETAILS_CACHE_POINTS = max(fc.DETAILS_CACHE_POINTS, int(points * 1.2) + 1000)

    lock = threading.Lock()
    memo = {}
    stats = {"conns": 0, "memo_bytes": 0}

    timeline = []                        # (start, end, path) of each API request, monotonic s

    H = fc.Handler
    orig_setup, orig_normal, orig_control, orig_api = H.setup, H._normal, H._control, H._api

    def _api(self, path, query, body, t0):
        try:
            orig_api(self, path, query, body, t0)
        finally:
            t1 = time.monotonic()
            with lock:
                timeline.append((t0, t1, path))

    def setup(self):
        with lock:
            stats["conns"] += 1
        # The fake writes the headers and the body of an answer separately: without
        # TCP_NODELAY, Nagle holds the body until the client ACKs the headers, and a client
        # delaying its ACK adds ~40 ms to every answer (on loopback too).
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        orig_setup(self)

    def _normal(self, path, query, body):
        st = self.state
        key = st.args.api_key
        authed = (self.headers.get("Authorization", "").strip() == key or
                  self.headers.get("Comet-Sdk-Api", "").strip() == key)
        # GETs and POST reads (project/query, multi-metric-chart); never a write
        if not memo_on or not authed or path.startswith("write/") or \
                self.command not in ("GET", "POST"):
            return orig_normal(self, path, query, body)
        mkey = (self.command, path, tuple(sorted(query.items())),
                body if self.command == "POST" else None)
        with lock:
            raw = memo.get(mkey)
        if raw is not None:
            return fc.Resp(200, raw=raw)
        r = orig_normal(self, path, query, body)
        if r.status == 200:
            raw = r.body()
            with lock:
                if mkey not in memo:
                    memo[mkey] = raw
                    stats["memo_bytes"] += len(raw)
            return fc.Resp(200, raw=raw)
        return r

    def _control(self, name, q):
        if name == "reset":
            with lock:
                stats["conns"] = 0
                del timeline[:]
        elif name == "bench/connections":
            with lock:
                n = stats["conns"]
            self._send_text(200, str(n))
            return
        elif name == "bench/timeline":
            with lock:
                items = [[round(a, 6), round(b, 6), p] for a, b, p in timeline]
            self._send(200, json.dumps(items).encode())
            return
        elif name == "bench/memo":
            with lock:
                text = "%d %d" % (len(memo), stats["memo_bytes"])
            self._send_text(200, text)
            return
        orig_control(self, name, q)

    H.setup, H._normal, H._control, H._api = setup, _normal, _control, _api
    return fc.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
