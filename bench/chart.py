#!/usr/bin/env python3
"""bench/chart.py: run by bench/chart.sh (which starts the cluster and the fake and exports
FAKE_ROOT, FAKE_URL, BENCH_LATENCY_MS, BENCH_EXPERIMENTS).  Each statement runs in a fresh
backend (psql), cold (cache_ttl_s 0), as EXPLAIN (ANALYZE, TIMING OFF): every column of every
row is built, none is sent to the client.  The time is the statement's Execution Time; the
requests are what the fake counted.  Median of RUNS runs, after one untimed pass that fills
the fake's memo of answers (bench/fake_server.py)."""
import json
import os
import re
import statistics
import subprocess
import sys
import urllib.request

ROOT = os.environ["FAKE_ROOT"]
LAT = int(os.environ.get("BENCH_LATENCY_MS", "20"))
RUNS = 3


def fake(path):
    with urllib.request.urlopen(ROOT + "/_fake/" + path, timeout=600) as r:
        return r.read().decode()


def psql(sql, settings=""):
    p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", settings + sql],
                       capture_output=True, text=True, timeout=1200)
    if p.returncode != 0:
        sys.exit("query failed: %s\n%s" % (sql, p.stderr))
    return p.stdout


def run(sql, settings=""):
    """(execution ms, rows, requests by path) of one statement."""
    fake("reset")
    out = psql("EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) " + sql, settings)
    ms = float(re.search(r"Execution Time: ([0-9.]+) ms", out).group(1))
    rows = int(re.search(r"\(actual rows=(\d+)", out).group(1))
    paths = {}
    for r in json.loads(fake("requests")):
        paths[r["path"]] = paths.get(r["path"], 0) + 1
    return ms, rows, paths


def measure(sql, settings=""):
    run(sql, settings)                       # fills the fake's memo
    rs = [run(sql, settings) for _ in range(RUNS)]
    return statistics.median(r[0] for r in rs), rs[-1][1], rs[-1][2]


def show(name, m):
    ms, rows, paths = m
    n = sum(paths.values())
    print("%-44s %9.0f %8d %9d  %s" % (name, ms, n, rows,
                                        ", ".join("%s %d" % kv for kv in sorted(paths.items()))))


def main():
    ds = json.loads(fake("dataset"))
    pid = [p for p in ds["projects"] if p["projectName"] == "mnist"][0]["projectId"]
    keys = sorted(e["experimentKey"] for e in ds["experiments"] if e["projectId"] == pid)
    # one experiment with a parameter value no other has: get_experiments_with_params' needle
    psql("INSERT INTO comet.raw_params (experiment_key, name, value_current) "
         "VALUES ('%s', 'lr', '0.0123')" % keys[len(keys) // 2])

    print("\nbulk-read benchmark: %d experiments, 5 metrics x 1,000 points, 20 params, "
          "%d ms per request, max_concurrency 8" % (len(keys), LAT))
    print("%-44s %9s %8s %9s  %s" % ("case", "ms", "requests", "rows", "requests by path"))
    metrics = measure("SELECT * FROM comet.metrics WHERE project_name = 'mnist'")
    show("(1) metrics view, whole project", metrics)
    chart = measure("SELECT * FROM comet.metric_chart WHERE project_name = 'mnist'")
    show("(2) metric_chart, whole project", chart)
    arr = "ARRAY[%s]" % ", ".join("'%s'" % k for k in keys)
    bykey = measure("SELECT * FROM comet.metric_chart WHERE experiment_key = ANY (%s)" % arr)
    show("(3) metric_chart, every key (summaries)", bykey)
    named = measure("SELECT * FROM comet.metric_chart WHERE project_name = 'mnist' "
                    "AND metric_name IN ('loss', 'acc', 'val loss', 'lr', 'sys.cpu.percent.01')")
    show("(4) metric_chart, names given", named)

    q = ("SELECT DISTINCT experiment_key FROM comet.params WHERE %s "
         "AND name = 'lr' AND value = '0.0123'")
    wp = "workspace_name = 'fake-user' AND project_name = 'mnist'"
    s_on = measure(q % wp)
    show("(5) with_params, workspace+project, narrowed", s_on)
    s_off = measure(q % wp, "SET comet_fdw.search_narrowing = off; ")
    show("(6) with_params, workspace+project, listed", s_off)
    p_on = measure(q % "project_name = 'mnist'")
    show("(7) with_params, project name only, narrowed", p_on)
    p_off = measure(q % "project_name = 'mnist'", "SET comet_fdw.search_narrowing = off; ")
    show("(8) with_params, project name only, listed", p_off)

    missed = 0
    req = lambda m: sum(m[2].values())
    rr = req(metrics) / max(req(chart), 1)
    tr = metrics[0] / max(chart[0], 0.001)
    print("\ntargets:")
    for text, ok in [
            ("metric_chart: %.1fx fewer requests than metrics (>= 20x)" % rr, rr >= 20),
            ("metric_chart: %.1fx less time than metrics (>= 10x)" % tr, tr >= 10),
            ("metric_chart returns every point metrics does (%d / %d rows)"
             % (chart[1], metrics[1]), chart[1] == metrics[1]),
            ("with_params narrowed: %d requests (<= 5; %d listed)" % (req(s_on), req(s_off)),
             req(s_on) <= 5),
            ("with_params, same rows narrowed and listed (%d / %d)" % (s_on[1], s_off[1]),
             s_on[1] == s_off[1] == 1)]:
        missed += not ok
        print("  %s %s" % ("PASS" if ok else "MISS", text))
    print("metric names: project/column-names (2) costs %d requests, %.0f ms; each experiment's "
          "summary (3) %d requests, %.0f ms" % (req(chart), chart[0], req(bykey), bykey[0]))
    print("\n%s" % ("all targets met" if missed == 0 else "%d target(s) missed" % missed))


if __name__ == "__main__":
    main()
