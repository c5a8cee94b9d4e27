#!/usr/bin/env python3
"""The measuring part of bench/run.sh (Python 3 standard library only).

run.sh starts the cluster and the fake Comet, then runs `python3 bench/bench.py run`, which
talks to PostgreSQL through psql (PGHOST/PGPORT/... from the environment) and to the fake's
control API, and prints the table.  `bench.py snapshot NAME` is called by the psql sessions
(`\\!`) to record the fake's counters at a point inside a session.

Environment (set by run.sh): FAKE_ROOT, FAKE_URL, FAKE_PID, COMET_TEST_KEY, BENCH_WORK (a
scratch dir), BENCH_LATENCY_MS, BENCH_CONCURRENCY, BENCH_EXPERIMENTS, BENCH_METRICS,
BENCH_POINTS, BENCH_PARAMS, BENCH_WARM_RUNS, BENCH_FAKE_KIND, BENCH_OUT (results file).
"""

import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PSQL_TIMEOUT_S = 900
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def env(name, default=None):
    v = os.environ.get(name)
    return v if v not in (None, "") else default


def log(msg):
    print("==> %s" % msg, file=sys.stderr, flush=True)


# --- fake control API ---------------------------------------------------------------------------

def fake_get(path, timeout=120):
    with NO_PROXY.open(env("FAKE_ROOT") + path, timeout=timeout) as r:
        return r.read()


def proc_cpu_ticks(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])        # utime + stime
    except (OSError, ValueError, IndexError):
        return None


def snapshot(name):
    """Fake counters now, into BENCH_WORK/NAME.json (requests log, count, connections, cpu)."""
    reqs = json.loads(fake_get("/_fake/requests"))
    try:
        conns = int(fake_get("/_fake/bench/connections"))
    except Exception:                      # the plain fake has no connection counter
        conns = None
    try:
        timeline = json.loads(fake_get("/_fake/bench/timeline"))
    except Exception:
        timeline = None
    snap = {"count": int(fake_get("/_fake/count")), "connections": conns, "timeline": timeline,
            "fake_cpu_ticks": proc_cpu_ticks(env("FAKE_PID", "0")), "requests": reqs,
            "time": time.time()}
    with open(os.path.join(env("BENCH_WORK"), name + ".json"), "w") as f:
        json.dump(snap, f)


def concurrency(timeline):
    """What the fake saw: span, average and peak requests in flight, and the same per path
    (each path over its own window, first arrival to last answer)."""
    if not timeline:
        return None
    t0 = min(a for a, _, _ in timeline)
    t1 = max(b for _, b, _ in timeline)
    events = sorted([(a, 1) for a, _, _ in timeline] + [(b, -1) for _, b, _ in timeline],
                    key=lambda e: (e[0], e[1]))
    cur = peak = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    span = max(t1 - t0, 1e-9)
    phases = []
    for path in dict.fromkeys(p for _, _, p in sorted(timeline)):
        items = [(a, b) for a, b, p in timeline if p == path]
        a0, b1 = min(a for a, _ in items), max(b for _, b in items)
        busy = sum(b - a for a, b in items)
        phases.append((path, len(items), (a0 - t0) * 1000, (b1 - t0) * 1000,
                       busy / max(b1 - a0, 1e-9)))
    return {"span_ms": span * 1000, "avg": sum(b - a for a, b, _ in timeline) / span,
            "peak": peak, "phases": phases}


def load_snapshot(name):
    with open(os.path.join(env("BENCH_WORK"), name + ".json")) as f:
        return json.load(f)


def fake_reset():
    if fake_get("/_fake/reset").strip() != b"ok":
        raise RuntimeError("fake reset failed")


# --- psql --------------------------------------------------------------------------------------

SETUP_SQL = r"""
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS comet_fdw;
DROP SCHEMA IF EXISTS comet CASCADE;
DROP SERVER IF EXISTS bench_comet CASCADE;
CREATE SERVER bench_comet FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'url', max_concurrency :'conc', cache_ttl_s '3600');
CREATE USER MAPPING FOR CURRENT_USER SERVER bench_comet OPTIONS (api_key :'key');
CREATE SCHEMA comet;
IMPORT FOREIGN SCHEMA comet FROM SERVER bench_comet INTO comet;
SELECT comet_fdw_create_views('comet');

-- helpers of the benchmark (superuser: pg_read_file of /proc/self)
CREATE OR REPLACE FUNCTION bench_mem() RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object(
    'pid', pg_backend_pid(),
    'hwm_kb', (substring(st FROM 'VmHWM:\s+(\d+) kB'))::bigint,
    'rss_kb', (substring(st FROM 'VmRSS:\s+(\d+) kB'))::bigint)
  FROM pg_read_file('/proc/self/status') AS st $$;
-- cpu time of this backend in ns: /proc/self/schedstat where the kernel has it, else utime +
-- stime from /proc/self/stat (clock ticks of 1/100 s: USER_HZ).  The short sleep schedules the
-- backend out, which brings the kernel's count of a running task up to date.
CREATE OR REPLACE FUNCTION bench_cpu() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_sleep(0.001);
  IF (pg_stat_file('/proc/self/schedstat', true)).modification IS NOT NULL THEN
    RETURN split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
  END IF;
  RETURN (SELECT (split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint) * 10000000
          FROM (SELECT split_part(pg_read_file('/proc/self/stat'), ') ', 2) AS s) x);
END $$;
-- runs q under EXPLAIN (ANALYZE, TIMING OFF): the whole plan executes (every column of every
-- row is built) but no row travels to the client; returns wall time, plan, counters, memory
CREATE OR REPLACE FUNCTION bench_run(q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  s0 jsonb; s1 jsonb; c0 bigint; c1 bigint; t0 timestamptz; t1 timestamptz; plan json;
BEGIN
  SELECT to_jsonb(s) INTO s0 FROM comet_fdw_stats() s;
  c0 := bench_cpu();
  t0 := clock_timestamp();
  EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || q INTO plan;
  t1 := clock_timestamp();
  c1 := bench_cpu();
  SELECT to_jsonb(s) INTO s1 FROM comet_fdw_stats() s;
  RETURN jsonb_build_object('wall_ms', extract(epoch FROM t1 - t0) * 1000,
                            'plan', plan -> 0, 'stats0', s0, 'stats1', s1,
                            'cpu0', c0, 'cpu1', c1, 'mem', bench_mem());
END $$;
"""


def psql(script, variables=None, timeout=PSQL_TIMEOUT_S):
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    for k, v in (variables or {}).items():
        cmd += ["-v", "%s=%s" % (k, v)]
    cmd += ["-f", "-"]
    p = subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-3000:])
        raise RuntimeError("psql failed (exit %d)" % p.returncode)
    return p.stdout


RAW = []


def results(out):
    """The 'R <json>' lines of a session, in order (all kept for the raw dump)."""
    res = [json.loads(line[2:]) for line in out.splitlines() if line.startswith("R ")]
    RAW.append(res)
    return res


def sql_lit(s):
    return "'" + s.replace("'", "''") + "'"


def session(body, gucs=()):
    """A psql session: statement_timeout, GUCs, the extension loaded, a baseline of memory."""
    head = ["SET statement_timeout = '10min';"]
    head += ["SET %s = %s;" % (k, sql_lit(str(v))) for k, v in gucs]
    head += ["SELECT count(*) FROM comet_fdw_stats();",        # loads comet_fdw.so
             "SELECT 'R ' || jsonb_build_object('baseline', bench_mem())::text;"]
    return "\n".join(head + body) + "\n"


def run_q(q, tag):
    return "SELECT 'R ' || (bench_run(%s) || jsonb_build_object('tag', %s))::text;" % (
        sql_lit(q), sql_lit(tag))


def snap_cmd(name):
    return "\\! %s %s snapshot %s" % (sys.executable, os.path.join(HERE, "bench.py"), name)


# --- measurement -------------------------------------------------------------------------------

class Run:
    """One measured statement."""

    def __init__(self, r):
        self.wall_ms = r["wall_ms"]
        self.plan = r["plan"]
        self.rows = self.plan["Plan"].get("Actual Rows", 0)
        s0, s1 = r["stats0"], r["stats1"]
        self.requests = s1["requests"] - s0["requests"]
        self.cache_hits = s1["cache_hits"] - s0["cache_hits"]
        self.bytes = s1["bytes_received"] - s0["bytes_received"]
        self.retries = s1["retries"] - s0["retries"]
        self.errors = s1["errors"] - s0["errors"]
        self.http_ms = s1["http_ms"] - s0["http_ms"]
        self.cache_bytes = s1.get("cache_bytes")
        self.cpu_ms = (r["cpu1"] - r["cpu0"]) / 1e6                 # ns
        self.hwm_kb = r["mem"]["hwm_kb"]
        self.exec_ms = r["plan"].get("Execution Time")


def fmt_ms(ms):
    if ms is None:
        return "-"
    if ms < 10:
        return "%.2f" % ms
    if ms < 1000:
        return "%.1f" % ms
    return "%.0f" % ms


def fmt_int(n):
    return "-" if n is None else "{:,}".format(int(n))


def fmt_mb(kb):
    return "%.1f MB" % (kb / 1024.0)


def main_run():
    lat = int(env("BENCH_LATENCY_MS", "20"))
    conc = int(env("BENCH_CONCURRENCY", "8"))
    warm_runs = max(1, int(env("BENCH_WARM_RUNS", "5")))
    cold_runs = max(1, int(env("BENCH_COLD_RUNS", "3")))
    key = env("COMET_TEST_KEY")
    work = env("BENCH_WORK")
    sizes = {k: int(env("BENCH_" + k.upper(), d)) for k, d in
             (("experiments", "200"), ("metrics", "5"), ("points", "1000"), ("params", "20"))}
    t_start = time.monotonic()

    log("creating the extension, server (max_concurrency %d, cache_ttl_s 3600) and views" % conc)
    psql(SETUP_SQL, {"url": env("FAKE_URL"), "conc": conc, "key": key})
    proj = psql("SELECT project_name FROM comet.projects ORDER BY project_name LIMIT 1;").strip()
    pgver = psql("SHOW server_version;").strip()
    cache_default = psql("SELECT count(*) FROM comet_fdw_stats();\n"
                         "SHOW comet_fdw.cache_max_kb;").split()[-1]
    if not proj:
        raise RuntimeError("the fake has no project")
    qa = "SELECT * FROM comet.params WHERE project_name = %s" % sql_lit(proj)
    qb = "SELECT * FROM comet.metrics WHERE project_name = %s" % sql_lit(proj)
    qb_raw = "SELECT * FROM comet.raw_metrics WHERE project_name = %s" % sql_lit(proj)

    # The fake renders an answer the first time it is asked (seconds of Python for big
    # datasets); bench/fake_server.py then serves it from memory.  One untimed pass first.
    log("warming up the fake (first rendering of every answer; not measured)")
    t = time.monotonic()
    psql(session([run_q(qa, "warm-a"), run_q(qb, "warm-b")], [("comet_fdw.cache_max_kb", 0)]))
    warmup_s = time.monotonic() - t
    try:
        memo = fake_get("/_fake/bench/memo").decode().split()
    except Exception:
        memo = None

    # (a) cold, then (c) = (a) again in the same backend (warm cache), warm_runs times.  (a) is
    # cheap: it is repeated in fresh backends (cold_runs) and the median is reported.
    log("(a) params of project %r, cold, %d fresh backends; (c) the same, warm cache, %d runs"
        % (proj, cold_runs, warm_runs))
    ras, snaps_a = [], []
    for i in range(cold_runs):
        fake_reset()
        cpu0 = proc_cpu_ticks(env("FAKE_PID", "0"))
        body = [run_q(qa, "a"), snap_cmd("a%d" % i)]
        if i == 0:
            body += [run_q(qa, "c") for _ in range(warm_runs)]
            body += [snap_cmd("c")]
        out = results(psql(session(body)))
        if i == 0:
            rcs = [Run(r) for r in out[2:]]
        ras.append(Run(out[1]))
        snaps_a.append(load_snapshot("a%d" % i))
        snaps_a[-1]["fake_cpu0"] = cpu0
    snap_c = load_snapshot("c")
    mid = sorted(range(cold_runs), key=lambda i: ras[i].wall_ms)[cold_runs // 2]
    ra, snap_a = ras[mid], snaps_a[mid]
    c_fake = snap_c["count"] - snaps_a[0]["count"]
    fake_cpu0_a = snap_a["fake_cpu0"]

    # (b) every metric point, cold, default cache budget
    log("(b) every metric point of the project, cold (default cache budget)")
    fake_reset()
    fake_cpu0_b = proc_cpu_ticks(env("FAKE_PID", "0"))
    out = results(psql(session([run_q(qb, "b"), snap_cmd("b")])))
    base_b, rb = out[0]["baseline"], Run(out[1])
    snap_b = load_snapshot("b")

    # (b) with no response cache at all
    log("(b) again, comet_fdw.cache_max_kb = 0 (no response cache)")
    fake_reset()
    out = results(psql(session([run_q(qb, "b0")], [("comet_fdw.cache_max_kb", 0)])))
    base_b0, rb0 = out[0]["baseline"], Run(out[1])

    # decoding: everything cached in this backend, no network
    log("decoding rate: (b) cold with a big cache, then %d warm runs in the same backend"
        % warm_runs)
    fake_reset()
    body = [run_q(qb, "bbig")] + [run_q(qb, "bwarm") for _ in range(warm_runs)]
    body += [run_q(qb_raw, "rawwarm") for _ in range(max(1, warm_runs // 2))]
    out = results(psql(session(body, [("comet_fdw.cache_max_kb", 2000000)])))
    base_big, rbig = out[0]["baseline"], Run(out[1])
    rwarm = [Run(r) for r in out[2:2 + warm_runs]]
    rraw = [Run(r) for r in out[2 + warm_runs:]]
    big_fake_count = int(fake_get("/_fake/count"))

    # (d) the same requests, one at a time
    seq = {}
    for name, snap, rows_path in (("a", snap_a, "experiment/parameters"),
                                  ("b", snap_b, "experiment/metrics/get-metric")):
        reqs = [r for r in snap["requests"]]
        path = os.path.join(work, "requests-%s.json" % name)
        with open(path, "w") as f:
            json.dump(reqs, f)
        log("(d) sequential client: the %d requests of (%s), one at a time" % (len(reqs), name))
        fake_reset()
        p = subprocess.run([sys.executable, os.path.join(HERE, "seq_client.py"),
                            "--root", env("FAKE_ROOT"), "--key", key, "--requests", path,
                            "--rows-path", rows_path],
                           capture_output=True, text=True, timeout=PSQL_TIMEOUT_S)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            raise RuntimeError("seq_client failed")
        seq[name] = json.loads(p.stdout)
        seq[name]["fake_count"] = int(fake_get("/_fake/count"))

    total_s = time.monotonic() - t_start
    report(locals())
    return 0


def median_run(runs):
    return sorted(runs, key=lambda r: r.wall_ms)[len(runs) // 2]


def report(v):
    lat, conc, proj, sizes = v["lat"], v["conc"], v["proj"], v["sizes"]
    ra, rb, rcs, seq = v["ra"], v["rb"], v["rcs"], v["seq"]
    snap_a, snap_b, snap_c = v["snap_a"], v["snap_b"], v["snap_c"]
    rc = median_run(rcs)
    points_total = sizes["experiments"] * sizes["metrics"] * sizes["points"]

    def ideal(n):
        return math.ceil(n / conc) * lat

    def chain_ideal(reqs):
        """(e) with the fan-out's dependent steps: each listing level (workspaces, projects,
        experiments) is one round trip that must end before the next starts."""
        listing = [r for r in reqs if r["path"] in ("workspaces", "projects", "experiments")]
        levels = len({r["path"] for r in listing})
        return levels * lat + math.ceil((len(reqs) - len(listing)) / conc) * lat, levels

    def fake_cpu(snap, t0):
        if t0 is None or snap.get("fake_cpu_ticks") is None:
            return "?"
        return fmt_ms((snap["fake_cpu_ticks"] - t0) * 1000.0 / CLK_TCK)

    e_a, e_b = ideal(snap_a["count"]), ideal(snap_b["count"])
    d_a, d_b = seq["a"]["wall_ms"], seq["b"]["wall_ms"]
    lines = []
    p = lines.append

    p("comet_fdw benchmark  %s  (%s, %d CPUs, PostgreSQL %s)" % (
        datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"), platform.node(),
        os.cpu_count() or 0, v.get("pgver", "15")))
    p("fake Comet: %s; latency %d ms per request; project %r: %d experiments, %d params, "
      "%d metrics x %d points (%s points)" % (
          env("BENCH_FAKE_KIND", "bench/fake_server.py"), lat, proj, sizes["experiments"],
          sizes["params"], sizes["metrics"], sizes["points"], fmt_int(points_total)))
    p("load average at the end: %s (other processes on this machine skew the figures)" %
      " ".join("%.2f" % x for x in os.getloadavg()))
    p("server options: max_concurrency %d, cache_ttl_s 3600; timings are EXPLAIN (ANALYZE, "
      "TIMING OFF) of the statement, server side: every row built, none sent to the client" % conc)
    p("")

    def ratio_d(w, d):
        return "%.1fx faster" % (d / w) if w > 0 else "-"

    def ratio_e(w, e):
        return "%.2fx" % (w / e) if e > 0 else "-"

    def rps(rows, ms):
        return fmt_int(rows / (ms / 1000.0)) if ms and ms > 0 else "-"

    hdr = ["case", "requests fake/fdw", "wall ms", "vs (d)", "vs (e)", "rows", "rows/s", "notes"]
    rows = []
    rows.append(["(a) params, cold", "%d/%d" % (snap_a["count"], ra.requests), fmt_ms(ra.wall_ms),
                 ratio_d(ra.wall_ms, d_a), ratio_e(ra.wall_ms, e_a), fmt_int(ra.rows),
                 rps(ra.rows, ra.wall_ms),
                 "median of %d fresh backends (%s ms); %s bytes, %s conns, backend cpu %s ms, "
                 "fake cpu %s ms, http sum %s ms = %.1f in flight on average" % (
                     len(v["ras"]), "/".join(fmt_ms(r.wall_ms) for r in v["ras"]),
                     fmt_int(ra.bytes), fmt_int(snap_a["connections"]), fmt_ms(ra.cpu_ms),
                     fake_cpu(snap_a, v["fake_cpu0_a"]), fmt_ms(ra.http_ms),
                     ra.http_ms / ra.wall_ms if ra.wall_ms else 0)])
    rows.append(["(b) metrics, cold", "%d/%d" % (snap_b["count"], rb.requests), fmt_ms(rb.wall_ms),
                 ratio_d(rb.wall_ms, d_b), ratio_e(rb.wall_ms, e_b), fmt_int(rb.rows),
                 rps(rb.rows, rb.wall_ms),
                 "%s bytes, %s conns, backend cpu %s ms, fake cpu %s ms, http sum %s ms = %.1f "
                 "in flight on average; other cold runs: %s ms (no cache), %s ms (big cache)" % (
                     fmt_int(rb.bytes), fmt_int(snap_b["connections"]), fmt_ms(rb.cpu_ms),
                     fake_cpu(snap_b, v["fake_cpu0_b"]), fmt_ms(rb.http_ms),
                     rb.http_ms / rb.wall_ms if rb.wall_ms else 0,
                     fmt_ms(v["rb0"].wall_ms), fmt_ms(v["rbig"].wall_ms))])
    c_fake = v["c_fake"]
    rows.append(["(c) (a) warm cache", "%d/%d" % (c_fake, rc.requests), fmt_ms(rc.wall_ms),
                 ratio_d(rc.wall_ms, d_a), "-", fmt_int(rc.rows), rps(rc.rows, rc.wall_ms),
                 "median of %d; min %s max %s ms; %d cache hits; backend cpu %s ms" % (
                     len(rcs), fmt_ms(min(r.wall_ms for r in rcs)),
                     fmt_ms(max(r.wall_ms for r in rcs)), rc.cache_hits, fmt_ms(rc.cpu_ms))])
    for name, label in (("a", "(d) sequential, (a)"), ("b", "(d) sequential, (b)")):
        s = seq[name]
        e = e_a if name == "a" else e_b
        rows.append([label, "%d/-" % s["fake_count"], fmt_ms(s["wall_ms"]), "1.0x",
                     ratio_e(s["wall_ms"], e), fmt_int(s["rows"]), rps(s["rows"], s["wall_ms"]),
                     "http %s ms + json.loads %s ms; %s bytes; %d conn; statuses %s" % (
                         fmt_ms(s["http_ms"]), fmt_ms(s["decode_ms"]), fmt_int(s["bytes"]),
                         s["connections"], s["statuses"])])
    ch, lv = chain_ideal(snap_a["requests"])
    rows.append(["(e) ideal, (a)", "%d" % snap_a["count"], fmt_ms(e_a), ratio_d(e_a, d_a), "1.00x",
                 "-", "-", "ceil(%d / %d) x %d ms; with the %d dependent listing steps: %s ms"
                 % (snap_a["count"], conc, lat, lv, fmt_ms(ch))])
    ch, lv = chain_ideal(snap_b["requests"])
    rows.append(["(e) ideal, (b)", "%d" % snap_b["count"], fmt_ms(e_b), ratio_d(e_b, d_b), "1.00x",
                 "-", "-", "ceil(%d / %d) x %d ms; with the %d dependent listing steps: %s ms"
                 % (snap_b["count"], conc, lat, lv, fmt_ms(ch))])
    widths = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
    right = {1, 2, 3, 4, 5, 6}

    def line(r):
        return " | ".join(str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
                          for i, c in enumerate(r)).rstrip()

    p(line(hdr))
    p("-+-".join("-" * w for w in widths))
    for r in rows:
        p(line(r))
    p("")

    # what the fake saw
    for label, snap in (("(a)", snap_a), ("(b)", snap_b)):
        c = concurrency(snap.get("timeline"))
        if c is None:
            continue
        p("fake side, %s: %d requests over %s ms, %.1f in flight on average (peak %d of %d); "
          "by path (own window): %s" % (
              label, len(snap["timeline"]), fmt_ms(c["span_ms"]), c["avg"], c["peak"], conc,
              "; ".join("%s x%d %.1f in flight (%s-%s ms)" % (
                  path, n, avg, fmt_ms(a), fmt_ms(b)) for path, n, a, b, avg in c["phases"])))
    p("")

    # decoding
    rwarm, rraw, rbig = v["rwarm"], v["rraw"], v["rbig"]
    w = median_run(rwarm)
    dec_rate = w.rows / (w.wall_ms / 1000.0) if w.wall_ms > 0 else 0
    raw = median_run(rraw)
    raw_rate = raw.rows / (raw.wall_ms / 1000.0) if raw.wall_ms > 0 else 0
    cold_cpu_rate = rb.rows / (rb.cpu_ms / 1000.0) if rb.cpu_ms > 0 else 0
    p("decoding (one backend = one core, no network):")
    p("  warm (b), all %d answers in this backend's cache: %s rows in %s ms (median of %d) = "
      "%s points/s; backend cpu %s ms; %d requests, %d cache hits" % (
          w.cache_hits, fmt_int(w.rows), fmt_ms(w.wall_ms), len(rwarm), fmt_int(dec_rate),
          fmt_ms(w.cpu_ms), w.requests, w.cache_hits))
    p("  the fake saw %s requests in that session: the cold run's %d, none from the warm runs" % (
        fmt_int(v["big_fake_count"]), rbig.requests) if v["big_fake_count"] == rbig.requests
      else "  NOTE: the fake saw %s requests in that session, the cold run made %d: the warm runs "
           "were not all served from the cache" % (fmt_int(v["big_fake_count"]), rbig.requests))
    p("  warm raw_metrics (no float8 view conversion): %s rows in %s ms = %s points/s" % (
        fmt_int(raw.rows), fmt_ms(raw.wall_ms), fmt_int(raw_rate)))
    p("  cold (b): backend cpu %s ms for %s rows = %s points per cpu-second (HTTP + decoding); "
      "the cold-with-big-cache run: %s ms wall" % (
          fmt_ms(rb.cpu_ms), fmt_int(rb.rows), fmt_int(cold_cpu_rate), fmt_ms(rbig.wall_ms)))
    p("")

    # memory
    p("backend peak memory (VmHWM of the query's backend minus VmHWM of the same backend idle "
      "with comet_fdw loaded):")
    mem = []
    for label, base, r in (("default cache budget (cache_max_kb %s)" % v.get("cache_default", "65536"),
                            v["base_b"], rb),
                           ("cache_max_kb = 0 (no response cache)", v["base_b0"], v["rb0"]),
                           ("cache_max_kb = 2000000 (all answers kept)", v["base_big"], rbig)):
        peak_kb = r.hwm_kb - base["hwm_kb"]
        ratio = (peak_kb * 1024.0) / r.bytes if r.bytes else float("nan")
        mem.append((label, peak_kb, ratio, r))
        p("  (b) %-42s peak %10s over a %s baseline; JSON received %s; peak / JSON = %.2fx; "
          "cache holds %s" % (label + ":", fmt_mb(peak_kb), fmt_mb(base["hwm_kb"]),
                              fmt_mb(r.bytes / 1024.0), ratio,
                              fmt_mb((r.cache_bytes or 0) / 1024.0)))
    p("")

    # targets
    def verdict(ok):
        return "PASS" if ok else "MISS"

    p("targets:")
    tg = [
        ("(a) within 1.5x of (e)", ra.wall_ms <= 1.5 * e_a,
         "%.2fx (%s vs %s ms)" % (ra.wall_ms / e_a, fmt_ms(ra.wall_ms), fmt_ms(e_a))),
        ("(a) at least 8x faster than (d)", d_a >= 8 * ra.wall_ms,
         "%.1fx (%s vs %s ms)" % (d_a / ra.wall_ms, fmt_ms(ra.wall_ms), fmt_ms(d_a))),
        ("(b) within 1.5x of (e)", rb.wall_ms <= 1.5 * e_b,
         "%.2fx (%s vs %s ms)" % (rb.wall_ms / e_b, fmt_ms(rb.wall_ms), fmt_ms(e_b))),
        ("(b) at least 8x faster than (d)", d_b >= 8 * rb.wall_ms,
         "%.1fx (%s vs %s ms)" % (d_b / rb.wall_ms, fmt_ms(rb.wall_ms), fmt_ms(d_b))),
        ("(c) under 5 ms", rc.wall_ms < 5, "%s ms (median)" % fmt_ms(rc.wall_ms)),
        ("decoding >= 1,000,000 points/s on one core", dec_rate >= 1e6,
         "%s points/s" % fmt_int(dec_rate)),
        ("peak memory for 1,000,000 points < 3x JSON bytes", mem[0][2] < 3,
         "%.2fx with the default cache budget (%.2fx without cache, %.2fx with all cached)%s" % (
             mem[0][2], mem[1][2], mem[2][2],
             "" if points_total == 1000000 else "; NOTE: %s points here, the target is for "
             "1,000,000" % fmt_int(points_total))),
    ]
    wt = max(len(t[0]) for t in tg)
    for name, ok, detail in tg:
        p("  %s  %s  %s" % (verdict(ok), name.ljust(wt), detail))
    if conc * 1.0 <= 8:
        p("  note: with max_concurrency %d, (e) itself is (d)/%d at best, so '8x faster than (d)' "
          "asks for (e) or better" % (conc, conc))
    p("")
    memo = v.get("memo")
    p("run: %.0f s in all; fake warm-up %.0f s (%s)" % (
        v["total_s"], v["warmup_s"],
        "%s answers, %s memoized" % (fmt_int(int(memo[0])), fmt_mb(int(memo[1]) / 1024.0))
        if memo else "plain fake, nothing memoized"))

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    out = env("BENCH_OUT")
    if out:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write(text)
        raw = out[:-4] + ".raw.json" if out.endswith(".txt") else out + ".raw.json"
        with open(raw, "w") as f:
            json.dump({"sessions": RAW, "seq": v["seq"]}, f)
        print("(written to %s; every measurement in %s)" % (
            os.path.relpath(out, os.path.join(HERE, "..")),
            os.path.relpath(raw, os.path.join(HERE, ".."))))


def main(argv):
    if len(argv) >= 2 and argv[0] == "snapshot":
        snapshot(argv[1])
        return 0
    if argv == ["run"]:
        try:
            return main_run()
        except (RuntimeError, OSError, ValueError, KeyError,
                subprocess.TimeoutExpired) as e:
            print("\nbench: FAILED: %s: %s" % (type(e).__name__, e), file=sys.stderr)
            pglog = env("COMET_PG_LOG")
            time.sleep(1)                  # the postmaster logs a crash after psql sees it
            if pglog and os.path.exists(pglog):
                with open(pglog, errors="replace") as f:
                    bad = [l.rstrip() for l in f
                           if "terminated by signal" in l or "PANIC" in l or "TRAP" in l]
                for l in bad[-5:]:
                    print("  server log: %s" % l, file=sys.stderr)
            print("  (bash bench/run.sh --keep keeps the server log and the fake's log)",
                  file=sys.stderr)
            return 1
    print("usage: bench.py run | bench.py snapshot NAME (see bench/run.sh)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
