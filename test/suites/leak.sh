#!/usr/bin/env bash
# test/suites/leak.sh: many queries in one backend must not make it grow.
#
#   bash test/suites/leak.sh            short form (CI, test/run.sh): 2,000 queries
#   bash test/suites/leak.sh --full     the issue's form: 10,000 queries  (or FULL=1)
#   LEAK_QUERIES=N LEAK_LIMIT_KB=K      override the number of queries / the allowed growth
#
# Run by test/run.sh (on its cluster) or alone (starts a throwaway cluster; the extension must be
# installed); either way with a fake Comet of its own. Everything talks to 127.0.0.1 only and is bounded in time.
#
# One psql, hence one backend, reads a generated script: a warm-up of every kind of query, a
# measurement, N queries, a measurement. The queries mix, in a fixed pseudo-random order:
#   ok      scans of many tables and views, joins (parameterized nested loops), fan-outs, LIMIT,
#           prepared statements with generic plans, EXPLAIN ANALYZE, ALTER SERVER (handle rebuild),
#           JSON values of the wrong kind (objects and numbers where strings are expected), a
#           300 kB answer
#   error   malformed JSON, 404, unknown experiment (400), 503 until the retries are spent, bodies
#           cut short, proxy HTML pages, invalid UTF-8, a 404 in the middle of a fan-out, a
#           response over max_response_bytes
#   cancel  statement_timeout during a slow answer, a server that never answers, a body that
#           trickles in
# Faults hit one experiment (K3) only (wrong kinds: K1), through the fake's per-request matching,
# so the outcome of every query is known; the script checks that it is what was expected.
#
# Memory is the backend's own: RssAnon from /proc/self/status (private, so shared buffers touched
# later do not count; VmRSS is shown too) and the total of pg_backend_memory_contexts, each taken
# after comet_fdw_cache_clear() with comet_fdw.cache_max_kb small, so the response cache (a budget,
# not a leak) is out of the figures. PASS when RssAnon grows by less than 5 MB over the N queries,
# every query had its expected outcome, and the backend survived.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/reliability_lib.sh
. "$HERE/../../tools/reliability_lib.sh"
rl_init "$@"

if [ "$RL_FULL" = 1 ]; then N=${LEAK_QUERIES:-10000}; FORM=full; else N=${LEAK_QUERIES:-2000}; FORM=short; fi
WARMUP=${LEAK_WARMUP:-300}
LIMIT_KB=${LEAK_LIMIT_KB:-5120}
DB=comet_leak_$$

rl_env
WORK=$(mktemp -d "${TMPDIR:-/tmp}/comet_leak.XXXXXX")
rl_on_exit "rm -rf $(printf %q "$WORK")"

echo "leak: $FORM form, $WARMUP warm-up + $N measured queries in one backend, database $DB"
rl_createdb "$DB"
export PGDATABASE=$DB

{
  rl_setup_fdw_sql comet comet "cache_ttl_s '0', timeout_ms '30000'"
  # a response cap of 300 bytes: the metric series are larger
  rl_setup_fdw_sql small small "cache_ttl_s '0', max_response_bytes '300'"
} >"$WORK/setup.sql"
rl_psql -f "$WORK/setup.sql" >/dev/null 2>&1 || { rl_psql -f "$WORK/setup.sql"; exit 1; }

# keys: K1, K2 good (project mnist), K3 the one every fault is aimed at (another project)
read -r K1 K2 K3 < <(rl_psql -F ' ' -c "
  SELECT (SELECT experiment_key FROM comet.experiments WHERE project_name = 'mnist' AND NOT archived
           ORDER BY experiment_key LIMIT 1),
         (SELECT experiment_key FROM comet.experiments WHERE project_name = 'mnist' AND NOT archived
           ORDER BY experiment_key DESC LIMIT 1),
         (SELECT experiment_key FROM comet.experiments WHERE project_name <> 'mnist' AND NOT archived
           ORDER BY experiment_key LIMIT 1)")
[ -n "$K3" ] || { rl_err "no experiments in the fake's dataset"; exit 1; }

rl_fake reset >/dev/null
faults=(
  "path=experiment/tags&experimentKey=$K3&kind=malformed"
  "path=experiment/parameters&experimentKey=$K3&kind=status&status=404"
  "path=experiment/log-other&experimentKey=$K3&kind=status&status=503&retry_after=0"
  "path=experiment/html&experimentKey=$K3&kind=truncated"
  "path=experiment/asset/list&experimentKey=$K3&kind=html_error&status=502"
  "path=experiment/system-details&experimentKey=$K1&kind=wrong_type"
  "path=experiment/metrics/summary&experimentKey=$K3&kind=invalid_utf8"
  "path=experiment/git/metadata&experimentKey=$K3&kind=latency&latency_ms=3000"
  "path=experiment/code&experimentKey=$K3&kind=hang&latency_ms=5000"
  "path=experiment/output&experimentKey=$K3&kind=slow_body&latency_ms=3000&chunk_delay_ms=20"
  # a valid answer of 300 kB (a padding field no column reads): bodies past malloc's mmap threshold
  "path=experiment/log-other&experimentKey=$K2&kind=oversize&bytes=300000"
)
for f in "${faults[@]}"; do
  [ "$(rl_fake "fault?$f")" = ok ] || { rl_err "could not add fault $f"; exit 1; }
done

# ---- the script -------------------------------------------------------------------------------
python3 - "$WORK/leak.sql" "$WARMUP" "$N" "$K1" "$K2" "$K3" <<'PY'
import random, sys

out, warmup, n, k1, k2, k3 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:7]
Q = lambda s: "'" + s.replace("'", "''") + "'"

# (kind, expected outcome, SQL); "ok" queries print one line starting with ok|
OK = [
    ("tags", f"SELECT 'ok', count(*) FROM comet.tags WHERE experiment_key = {Q(k1)};"),
    ("params", f"SELECT 'ok', count(*) FROM comet.raw_params WHERE experiment_key = {Q(k2)};"),
    ("metric", f"SELECT 'ok', count(*), sum(value) FROM comet.metrics WHERE experiment_key = {Q(k1)} AND metric_name = 'loss';"),
    ("all_metrics", f"SELECT 'ok', count(*) FROM comet.raw_metrics WHERE experiment_key = {Q(k2)};"),
    ("fanout", "SELECT 'ok', count(*) FROM comet.raw_params WHERE project_name = 'mnist';"),
    ("join", "SELECT 'ok', count(*) FROM comet.experiments e JOIN comet.tags t USING (experiment_key) WHERE e.project_name = 'mnist';"),
    ("projects", "SELECT 'ok', count(*) FROM comet.projects;"),
    ("sysdetails", f"SELECT 'ok', count(*), max(d.hostname), max(i.package) FROM comet.system_details d JOIN comet.installed_packages i USING (experiment_key) WHERE d.experiment_key = {Q(k1)};"),
    ("assets", f"SELECT 'ok', count(*) FROM comet.assets WHERE experiment_key IN ({Q(k1)}, {Q(k2)});"),
    ("summaries", f"SELECT 'ok', count(*) FROM comet.metric_summaries WHERE experiment_key = {Q(k2)};"),
    ("exp_params", f"SELECT 'ok', count(*) FROM comet.experiment_params WHERE experiment_key = ANY (ARRAY[{Q(k1)}, {Q(k2)}]);"),
    ("limit", "SELECT 'ok', count(*) FROM (SELECT * FROM comet.raw_metrics WHERE project_name = 'mnist' LIMIT 5) s;"),
    ("prepared", f"EXECUTE p_params({Q(k1)});"),
    ("explain", f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM comet.tags WHERE experiment_key = {Q(k2)};"),
    ("wrong_type", f"SELECT 'ok', count(*), max(d.total_ram), max(d.command::text) FROM comet.system_details d WHERE experiment_key = {Q(k1)};"),
    ("big_body", f"SELECT 'ok', count(*), max(name), max(value_current) FROM comet.raw_others WHERE experiment_key = {Q(k2)};"),
    ("git_ok", f"SELECT 'ok', count(*) FROM comet.git_metadata WHERE experiment_key = {Q(k1)};"),
]
ERR = [
    ("malformed", f"SELECT 'ok', count(*) FROM comet.tags WHERE experiment_key = {Q(k3)};"),
    ("http404", f"SELECT 'ok', count(*) FROM comet.raw_params WHERE experiment_key = {Q(k3)};"),
    ("unknown_exp", "SELECT 'ok', count(*) FROM comet.raw_params WHERE experiment_key = 'ffffffffffffffffffffffffffffffff';"),
    ("retries_spent", f"SELECT 'ok', count(*) FROM comet.raw_others WHERE experiment_key = {Q(k3)};"),
    ("truncated", f"SELECT 'ok', count(*) FROM comet.html WHERE experiment_key = {Q(k3)};"),
    ("html_502", f"SELECT 'ok', count(*) FROM comet.assets WHERE experiment_key = {Q(k3)};"),
    ("invalid_utf8", f"SELECT 'ok', count(*), max(metric_name) FROM comet.raw_metric_summaries WHERE experiment_key = {Q(k3)};"),
    ("fanout_404", f"SELECT 'ok', count(*) FROM comet.raw_params WHERE experiment_key IN ({Q(k1)}, {Q(k2)}, {Q(k3)});"),
    ("too_large", f"SELECT 'ok', count(*) FROM small.raw_metrics WHERE experiment_key = {Q(k1)};"),
    ("prepared_err", f"EXECUTE p_params({Q(k3)});"),
]
CANCEL = [
    ("slow_headers", f"SELECT 'ok', count(*) FROM comet.git_metadata WHERE experiment_key = {Q(k3)};"),
    ("hang", f"SELECT 'ok', count(*) FROM comet.code WHERE experiment_key = {Q(k3)};"),
    ("slow_body", f"SELECT 'ok', count(*) FROM comet.output WHERE experiment_key = {Q(k3)};"),
]

rng = random.Random(20240615)
lines = [
    r"\set VERBOSITY terse",
    "SET comet_fdw.retry_base_ms = 1;",
    "SET comet_fdw.cache_max_kb = 64;",
    "SET plan_cache_mode = force_generic_plan;",
    "PREPARE p_params(text) AS SELECT 'ok', count(*) FROM comet.raw_params WHERE experiment_key = $1;",
]

def mem(label):
    lines.append("SELECT comet_fdw_cache_clear() IS NOT NULL AS cleared \\gset")
    lines.append(
        "SELECT 'MEM', %s, " % Q(label) +
        "(SELECT (regexp_match(s, 'RssAnon:\\s+(\\d+)'))[1] FROM pg_read_file('/proc/self/status') s), "
        "(SELECT (regexp_match(s, 'VmRSS:\\s+(\\d+)'))[1] FROM pg_read_file('/proc/self/status') s), "
        "(SELECT (sum(total_bytes) / 1024)::bigint FROM pg_backend_memory_contexts), "
        "pg_backend_pid(), s.requests, s.cache_entries, s.cache_bytes FROM comet_fdw_stats() s;")

alter = [0]
def emit(exp, kind, sql, phase):
    """Appends one query (with what it needs around it); records its script line."""
    if exp == "cancel":
        lines.append("SET statement_timeout = '50ms';")
    lines.append(sql)
    expected.append((phase, exp, kind, len(lines)))
    if exp == "cancel":
        lines.append("RESET statement_timeout;")
    elif kind in ("explain", "alter_server"):
        lines.append("SELECT 'ok', %s;" % Q(kind))   # these print no ok| line of their own

def one(phase):
    r = rng.random()
    if r < 0.01:
        # ALTER SERVER: the backend's curl handles for it are invalidated and rebuilt
        alter[0] += 1
        emit("ok", "alter_server", "ALTER SERVER comet OPTIONS (SET timeout_ms %s);"
             % Q(str(30000 + alter[0] % 2)), phase)
        return
    if r < 0.55:
        kind, sql = rng.choice(OK); exp = "ok"
    elif r < 0.87:
        kind, sql = rng.choice(ERR); exp = "error"
    else:
        kind, sql = rng.choice(CANCEL); exp = "cancel"
    emit(exp, kind, sql, phase)

expected = []
# warm-up: every kind once, then random ones
for group, exp in ((OK, "ok"), (ERR, "error"), (CANCEL, "cancel")):
    for kind, sql in group:
        emit(exp, kind, sql, "warmup")
while len(expected) < warmup:
    one("warmup")
mem("before")
step = max(1, n // 10)
for i in range(n):
    one("measured")
    if (i + 1) % step == 0 and i + 1 < n:
        mem("after %d" % (i + 1))
mem("after")
lines.append("SELECT 'END';")
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
with open(out + ".expected", "w") as f:
    for phase, exp, kind, line in expected:
        f.write("%s %s %s %d\n" % (phase, exp, kind, line))
PY

echo "script: $(grep -c . "$WORK/leak.sql") lines; expected outcomes:" \
  "$(awk '$1 == "measured" { n[$2]++ } END { printf "ok %d, error %d, cancel %d", n["ok"], n["error"], n["cancel"] }' "$WORK/leak.sql.expected")"

# ---- run it in one backend --------------------------------------------------------------------
log_lines_before=$(wc -l <"${COMET_PG_LOG:-/dev/null}" 2>/dev/null || echo 0)
set +e
timeout -k 10 $((120 + N / 10)) psql -X -At -F '|' -f "$WORK/leak.sql" >"$WORK/out" 2>"$WORK/err"
psql_rc=$?
set -e

# ---- outcomes ---------------------------------------------------------------------------------
# stdout: ok|... per successful query, MEM|... measurements, END; stderr: one line per error
# (VERBOSITY terse: "psql:FILE:LINE: ERROR:  message"). Pair them with the expected list in order.
python3 - "$WORK" <<'PY' >"$WORK/outcomes"
import re, sys
w = sys.argv[1]
err_by_line = {}
for l in open(w + "/err", errors="replace"):
    m = re.match(r"psql:[^:]*:(\d+): ERROR:\s+(.*)", l)
    if m:
        err_by_line[int(m.group(1))] = m.group(2).strip()
    elif re.search(r"FATAL|server closed the connection|connection to server was lost", l):
        print("LOST\t" + l.strip())
for l in open(w + "/leak.sql.expected"):
    phase, exp, kind, no = l.split()
    e = err_by_line.get(int(no))
    got = "ok" if e is None else "cancel" if "canceling statement due to statement timeout" in e else "error"
    print("\t".join((phase, exp, got, kind, (e or "-")[:160])))
PY
outs=$(cat "$WORK/outcomes")
lost=$(grep -c '^LOST' <<<"$outs" || true)
mism=$(awk -F'\t' '$1 != "LOST" && $2 != $3' <<<"$outs" | wc -l)
echo "outcomes (measured part), expected -> got:"
awk -F'\t' '$1 == "measured" { n[$2 " -> " $3]++ } END { for (k in n) printf "  %-18s %6d\n", k, n[k] }' <<<"$outs" | sort
echo "errors by message (measured part):"
awk -F'\t' '$1 == "measured" && $3 != "ok" { m = $5; sub(/ at byte [0-9]+.*| after [0-9]+ attempts.*|: .*/, "", m); n[$3 ": " m]++ }
     END { for (k in n) printf "  %6d  %s\n", n[k], k }' <<<"$outs" | sort -rn | head -n 20
if [ "$mism" -gt 0 ]; then
  echo "unexpected outcomes (first 10 of $mism):"
  awk -F'\t' '$1 != "LOST" && $2 != $3' <<<"$outs" | head -n 10 | sed 's/^/  /'
fi

# ---- memory -----------------------------------------------------------------------------------
echo "memory (RssAnon / VmRSS / memory contexts, kB; response cache cleared first):"
grep '^MEM|' "$WORK/out" | awk -F'|' '{ printf "  %-12s RssAnon %7d  VmRSS %7d  contexts %7d  (pid %s, requests %s)\n", $2, $3, $4, $5, $6, $7 }'
read -r anon0 rss0 ctx0 < <(grep '^MEM|before|' "$WORK/out" | awk -F'|' '{ print $3, $4, $5 }') || true
read -r anon1 rss1 ctx1 < <(grep '^MEM|after|' "$WORK/out" | awk -F'|' '{ print $3, $4, $5 }') || true
pids=$(grep '^MEM|' "$WORK/out" | cut -d'|' -f6 | sort -u | wc -l)

fail=()
[ "$psql_rc" -eq 0 ] || fail+=("psql exited $psql_rc")
grep -qx 'END' "$WORK/out" || fail+=("the script did not run to its end")
[ "$lost" -eq 0 ] || fail+=("the backend was lost")
[ "$pids" -le 1 ] || fail+=("the measurements come from $pids backends")
[ "$mism" -eq 0 ] || fail+=("$mism queries had another outcome than expected")
if [ -z "${anon0:-}" ] || [ -z "${anon1:-}" ]; then
  fail+=("no memory figures")
else
  growth=$((anon1 - anon0))
  echo "growth over $N queries: RssAnon $growth kB, VmRSS $((rss1 - rss0)) kB, contexts $((ctx1 - ctx0)) kB (limit $LIMIT_KB kB)"
  [ "$growth" -lt "$LIMIT_KB" ] || fail+=("RssAnon grew by $growth kB, limit $LIMIT_KB kB")
  [ $((ctx1 - ctx0)) -lt "$LIMIT_KB" ] || fail+=("memory contexts grew by $((ctx1 - ctx0)) kB")
fi
if [ -n "${COMET_PG_LOG:-}" ] && [ -r "$COMET_PG_LOG" ]; then
  crashes=$(tail -n +"$((log_lines_before + 1))" "$COMET_PG_LOG" |
            grep -E 'terminated by signal|PANIC|server process .* exited with exit code [^0]' || true)
  [ -z "$crashes" ] || { printf '%s\n' "$crashes" | head -n 5; fail+=("a backend crashed (server log)"); }
fi
echo "duration: $(rl_secs) s"
if [ "${#fail[@]}" -gt 0 ]; then
  msg=$(printf '%s; ' "${fail[@]}")
  echo "leak: FAIL: ${msg%; }"
  exit 1
fi
echo "leak: PASS ($N queries, RssAnon +$growth kB < $LIMIT_KB kB)"
