#!/usr/bin/env bash
# test/suites/load.sh: concurrent load with faults switched on at a low rate.
#
#   bash test/suites/load.sh            short form (CI, test/run.sh): 8 sessions for 15 s
#   bash test/suites/load.sh --full     the issue's form: 16 sessions for 60 s  (or FULL=1)
#   LOAD_CLIENTS=N LOAD_SECONDS=S       override either
#   LOAD_FAULTS="kind=...&rate=... ..."  replaces the list of fault rules (see faults= below)
#
# Run by test/run.sh (on its cluster) or alone (starts a throwaway cluster; the extension must be
# installed); either way with a fake Comet of its own. Everything talks to 127.0.0.1 only and is bounded in time.
#
# How: pgbench drives the sessions with a custom script that calls load_step(q), a PL/pgSQL
# function that runs query q of a fixed list and compares a fingerprint of its result (row count +
# md5 of the sorted rows) with the one taken before the load, from a fault-free run. pgbench 15
# aborts a client on any error (it retries only serialization failures and deadlocks), so the
# function catches the FDW's errors itself and records every outcome in a table: OK, ERROR (a clean
# error: SQLSTATE class HV or 57014), UNCLEAN (any other SQLSTATE), WRONG (a result that differs),
# KEY_LEAK (the API key in an error text), CACHED_ERROR (an error although the statement sent no
# request and hit the response cache: a bad response was cached and served again). After every query it also stores its backend's
# comet_fdw_stats() (per-backend counters), so the sum over the sessions can be compared with the
# fake's own count of requests since its reset (every attempt, retries included, is one request
# on both sides).
#
# PASS when: no WRONG, UNCLEAN, KEY_LEAK or CACHED_ERROR outcome; no pgbench client aborted; some queries
# succeeded and some failed cleanly (the faults were felt); the FDW's request count equals the
# fake's; no backend crashed (server log). Also shown, not judged: the FDW's errors_by_status
# against the statuses the fake sent.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/reliability_lib.sh
. "$HERE/../../tools/reliability_lib.sh"
rl_init "$@"

if [ "$RL_FULL" = 1 ]; then
  CLIENTS=${LOAD_CLIENTS:-16}; SECONDS_RUN=${LOAD_SECONDS:-60}; FORM=full
else
  CLIENTS=${LOAD_CLIENTS:-8}; SECONDS_RUN=${LOAD_SECONDS:-15}; FORM=short
fi
THREADS=2
DB=comet_load_$$

rl_env
command -v pgbench >/dev/null || { rl_err "pgbench not found (postgresql-client-15)"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/comet_load.XXXXXX")
rl_on_exit "rm -rf $(printf %q "$WORK")"

echo "load: $FORM form, $CLIENTS sessions for $SECONDS_RUN s, database $DB, fake $COMET_FAKE"
rl_createdb "$DB"
export PGDATABASE=$DB
log_lines_before=$(wc -l <"${COMET_PG_LOG:-/dev/null}" 2>/dev/null || echo 0)

# ---- objects ----------------------------------------------------------------------------------
{
  rl_setup_fdw_sql comet comet "cache_ttl_s '0'"
  # a second server whose responses are reused for 5 s: cached answers must be right as well
  rl_setup_fdw_sql comet_c comet_c "cache_ttl_s '5'"
  cat <<'SQL'
CREATE TABLE load_secret AS SELECT :'comet_key'::text AS k;
CREATE TABLE load_queries (id int PRIMARY KEY, label text NOT NULL, sql text NOT NULL,
                           expected text);
CREATE UNLOGGED TABLE load_log (id bigserial, at timestamptz DEFAULT clock_timestamp(),
    pid int, qid int, outcome text, sqlstate text, message text, detail text, ms double precision,
    requests bigint, cache_hits bigint);
CREATE UNLOGGED TABLE load_stats (pid int PRIMARY KEY, requests bigint, retries bigint,
    cache_hits bigint, errors bigint, errors_by_status jsonb, steps bigint);

-- order-independent fingerprint of a query's result: "rows:md5"
CREATE FUNCTION load_fp(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE format($f$SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '-')
                       FROM (%s) t$f$, q) INTO r;
    RETURN r;
END $$;

-- one step of a session: run query qid, judge and record the outcome, store this backend's stats
CREATE FUNCTION load_step(qid int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    q load_queries;
    got text; outcome text; st text; msg text; det text; hnt text; ctx text;
    t0 timestamptz := clock_timestamp();
    s0 record; s1 record;
BEGIN
    SELECT * INTO STRICT q FROM load_queries WHERE id = qid;
    SELECT * INTO s0 FROM comet_fdw_stats();
    BEGIN
        got := load_fp(q.sql);
        IF got IS NOT DISTINCT FROM q.expected THEN
            outcome := 'OK'; st := '00000';
        ELSE
            outcome := 'WRONG'; st := '00000';
            msg := format('got %s, expected %s', got, q.expected);
        END IF;
    EXCEPTION
        WHEN query_canceled THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
            outcome := 'ERROR';
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
            outcome := CASE WHEN st LIKE 'HV%' THEN 'ERROR' ELSE 'UNCLEAN' END;
            IF coalesce(msg, '') = '' THEN outcome := 'UNCLEAN'; END IF;
            IF EXISTS (SELECT 1 FROM load_secret
                        WHERE strpos(concat_ws(' ', msg, det, hnt, ctx), k) > 0) THEN
                outcome := 'KEY_LEAK';
            END IF;
    END;
    SELECT * INTO s1 FROM comet_fdw_stats();
    -- an error although the statement sent no request: it came out of the response cache,
    -- i.e. a bad response was kept and served again
    IF outcome = 'ERROR' AND s1.requests = s0.requests AND s1.cache_hits > s0.cache_hits THEN
        outcome := 'CACHED_ERROR';
    END IF;
    INSERT INTO load_log (pid, qid, outcome, sqlstate, message, detail, ms, requests, cache_hits)
    VALUES (pg_backend_pid(), qid, outcome, st, msg, det,
            extract(epoch FROM clock_timestamp() - t0) * 1000,
            s1.requests - s0.requests, s1.cache_hits - s0.cache_hits);
    INSERT INTO load_stats AS s
    SELECT pg_backend_pid(), c.requests, c.retries, c.cache_hits, c.errors, c.errors_by_status, 1
      FROM comet_fdw_stats() c
    ON CONFLICT (pid) DO UPDATE
       SET requests = excluded.requests, retries = excluded.retries,
           cache_hits = excluded.cache_hits, errors = excluded.errors,
           errors_by_status = excluded.errors_by_status, steps = s.steps + 1;
    RETURN outcome;
END $$;
SQL
} >"$WORK/setup.sql"
rl_psql -f "$WORK/setup.sql" >/dev/null

# ---- the queries, on keys of the dataset ------------------------------------------------------
rl_psql -f - >/dev/null <<'SQL'
SELECT experiment_key AS k1 FROM comet.experiments
 WHERE project_name = 'mnist' AND NOT archived ORDER BY experiment_key LIMIT 1 \gset
SELECT experiment_key AS k2 FROM comet.experiments
 WHERE project_name = 'mnist' AND NOT archived ORDER BY experiment_key DESC LIMIT 1 \gset
SELECT experiment_key AS k3 FROM comet.experiments
 WHERE project_name <> 'mnist' ORDER BY experiment_key LIMIT 1 \gset
SELECT project_id AS p1 FROM comet.projects WHERE workspace_name = 'fake-user'
 ORDER BY project_id LIMIT 1 \gset
INSERT INTO load_queries (id, label, sql) VALUES
 (1,  'params of one experiment',      format('SELECT * FROM comet.raw_params WHERE experiment_key = %L', :'k1')),
 (2,  'experiments of a project name', $$SELECT experiment_key, experiment_name, project_id, start_time, end_time, running, archived, CASE WHEN NOT running THEN duration_ms END AS finished_ms FROM comet.experiments WHERE project_name = 'mnist'$$),
 (3,  'join experiments-params',       $$SELECT e.experiment_key, e.experiment_name, p.name, p.value_current
                                          FROM comet.experiments e JOIN comet.raw_params p USING (experiment_key)
                                         WHERE e.project_name = 'mnist'$$),
 (4,  'metric series (view)',          format($$SELECT * FROM comet.metrics WHERE experiment_key = %L AND metric_name = 'loss'$$, :'k1')),
 (5,  'all metrics of an experiment',  format('SELECT * FROM comet.raw_metrics WHERE experiment_key = %L', :'k2')),
 (6,  'tags of three experiments',     format('SELECT * FROM comet.tags WHERE experiment_key IN (%L, %L, %L)', :'k1', :'k2', :'k3')),
 (7,  'summaries, project fan-out',    $$SELECT * FROM comet.raw_metric_summaries WHERE project_name = 'mnist'$$),
 (8,  'all projects',                  'SELECT * FROM comet.projects'),
 (9,  'experiment_params view',        format('SELECT * FROM comet.experiment_params WHERE experiment_key = ANY (ARRAY[%L, %L])', :'k1', :'k3')),
 (10, 'LIMIT over a fan-out',          $$SELECT count(*) FROM (SELECT 1 FROM comet.raw_params WHERE project_name = 'mnist' LIMIT 3) s$$),
 (11, 'system details + packages',     format('SELECT d.hostname, d.os, d.pid, d.gpus, i.package FROM comet.system_details d JOIN comet.installed_packages i USING (experiment_key) WHERE d.experiment_key = %L', :'k1')),
 (12, 'assets of a project id',        format('SELECT * FROM comet.assets WHERE project_id = %L', :'p1')),
 (13, 'cached: params fan-out',        $$SELECT * FROM comet_c.raw_params WHERE project_name = 'mnist'$$),
 (14, 'cached: one metric',            format($$SELECT * FROM comet_c.raw_metrics WHERE experiment_key = %L AND metric_name = 'acc'$$, :'k2')),
 (15, 'cached: experiments + notes',   format('SELECT e.experiment_key, e.experiment_name, e.end_time, e.archived, n.* FROM comet_c.experiments e, comet_c.project_notes n WHERE n.project_id = %L AND e.project_id = n.project_id', :'p1'));
SQL
NQ=$(rl_psql -c 'SELECT count(*) FROM load_queries')

# expected fingerprints: fault-free, taken twice (a query whose answer changes is no test)
rl_fake reset >/dev/null
rl_psql -c 'UPDATE load_queries SET expected = load_fp(sql)'
unstable=$(rl_psql -c 'SELECT string_agg(id::text, $$,$$) FROM load_queries WHERE load_fp(sql) IS DISTINCT FROM expected')
if [ -n "$unstable" ]; then
  rl_err "queries $unstable give different answers without faults"
  echo "load: FAIL (unstable expected results)"
  exit 1
fi
echo "queries ($NQ), expected rows:md5 from a fault-free run:"
rl_psql -F $'\t' -c "SELECT id, label, split_part(expected, ':', 1) || ' rows' FROM load_queries ORDER BY id" |
  awk -F'\t' '{ printf "  %2d  %-32s %s\n", $1, $2, $3 }'

# ---- faults, at low rates (the fake draws each rule's rate in turn; first hit wins) ------------
rl_fake reset >/dev/null
faults=(
  "kind=status&status=503&rate=0.03"                   # retried
  "kind=status&status=429&retry_after=0&rate=0.02"     # retried
  "kind=status&status=500&rate=0.01"                   # retried
  "kind=truncated&rate=0.01"                           # retried (partial body)
  "kind=close&rate=0.005"                              # retried (nothing received)
  "kind=malformed&rate=0.004"                          # an error: bad JSON
  "kind=status&status=404&rate=0.002"                  # an error: Comet has no such object
  "kind=latency&latency_ms=150&rate=0.03"              # slow, fine
)
if [ -n "${LOAD_FAULTS:-}" ]; then read -r -a faults <<<"$LOAD_FAULTS"; fi
for f in "${faults[@]}"; do
  [ "$(rl_fake "fault?$f")" = ok ] || { rl_err "could not add fault $f"; exit 1; }
done
echo "faults: ${faults[*]}"

# ---- the load ---------------------------------------------------------------------------------
cat >"$WORK/step.pgbench" <<PGB
\\set q random(1, $NQ)
SELECT load_step(:q);
PGB
# retries wait 10-20 ms instead of 250+ ms; a query that hangs ends as an error after 60 s
export PGOPTIONS="-c comet_fdw.retry_base_ms=10 -c statement_timeout=60s"
echo "pgbench -n -c $CLIENTS -j $THREADS -T $SECONDS_RUN -f step.pgbench"
set +e
timeout -k 10 $((SECONDS_RUN + 180)) \
  pgbench -n -c "$CLIENTS" -j "$THREADS" -T "$SECONDS_RUN" -P 5 -f "$WORK/step.pgbench" \
  >"$WORK/pgbench.out" 2>"$WORK/pgbench.err"
pgbench_rc=$?
set -e
unset PGOPTIONS
sleep 1   # requests of aborted transfers may still be on their way to the fake
fake_requests=$(rl_fake count)
rl_fake "faults/clear" >/dev/null
rl_fake requests >"$WORK/fake_requests.json"

grep -E '^(number of (transactions|failed)|latency average|tps)' "$WORK/pgbench.out" | sed 's/^/  pgbench: /' || true
aborted=$(grep -c 'aborted' "$WORK/pgbench.err" || true)
if [ "$pgbench_rc" -ne 0 ] || [ "$aborted" -gt 0 ]; then
  echo "pgbench exited $pgbench_rc; stderr:"
  tail -n 20 "$WORK/pgbench.err"
fi

# ---- figures ----------------------------------------------------------------------------------
echo "outcomes:"
rl_psql -F $'\t' -c "SELECT outcome, sqlstate, count(*) FROM load_log GROUP BY 1, 2 ORDER BY 1, 2" |
  awk -F'\t' '{ printf "  %-9s %-6s %7d\n", $1, $2, $3 }'
echo "outcomes by query (ok/error/other):"
rl_psql -F $'\t' -c "SELECT q.id, q.label, count(*) FILTER (WHERE outcome = 'OK'),
                           count(*) FILTER (WHERE outcome = 'ERROR'),
                           count(*) FILTER (WHERE outcome NOT IN ('OK', 'ERROR')),
                           round(avg(ms) FILTER (WHERE outcome = 'OK'))
                      FROM load_queries q LEFT JOIN load_log l ON l.qid = q.id GROUP BY 1, 2 ORDER BY 1" |
  awk -F'\t' '{ printf "  %2d  %-32s ok %5d  error %4d  other %3d  avg %s ms\n", $1, $2, $3, $4, $5, $6 }'
echo "clean errors, by message:"
rl_psql -F $'\t' -c "SELECT count(*), sqlstate, regexp_replace(message, '\d+', 'N', 'g')
                      FROM load_log WHERE outcome = 'ERROR' GROUP BY 2, 3 ORDER BY 1 DESC LIMIT 15" |
  awk -F'\t' '{ printf "  %6d  %s  %s\n", $1, $2, $3 }'
bad=$(rl_psql -c "SELECT count(*) FROM load_log WHERE outcome NOT IN ('OK', 'ERROR')")
if [ "$bad" -gt 0 ]; then
  echo "WRONG / UNCLEAN / KEY_LEAK / CACHED_ERROR outcomes (first 10):"
  rl_psql -F ' | ' -c "SELECT outcome, qid, sqlstate, message, detail, requests, cache_hits FROM load_log
                        WHERE outcome NOT IN ('OK', 'ERROR') ORDER BY id LIMIT 10" | sed 's/^/  /'
fi

IFS=$'\t' read -r n_total n_ok n_err n_wrong n_unclean n_leak n_cached < <(rl_psql -F $'\t' -c "
  SELECT count(*), count(*) FILTER (WHERE outcome = 'OK'), count(*) FILTER (WHERE outcome = 'ERROR'),
         count(*) FILTER (WHERE outcome = 'WRONG'), count(*) FILTER (WHERE outcome = 'UNCLEAN'),
         count(*) FILTER (WHERE outcome = 'KEY_LEAK'), count(*) FILTER (WHERE outcome = 'CACHED_ERROR')
    FROM load_log")
IFS=$'\t' read -r sessions fdw_requests fdw_retries fdw_errors fdw_hits < <(rl_psql -F $'\t' -c "
  SELECT count(*), coalesce(sum(requests), 0), coalesce(sum(retries), 0), coalesce(sum(errors), 0),
         coalesce(sum(cache_hits), 0) FROM load_stats")
fdw_by_status=$(rl_psql -c "SELECT coalesce(jsonb_object_agg(k, n ORDER BY k), '{}') FROM (
  SELECT k, sum(v::bigint) n FROM load_stats, jsonb_each_text(errors_by_status) e(k, v) GROUP BY k) s")
fake_by_status=$(python3 - "$WORK/fake_requests.json" <<'PY'
import collections, json, sys
reqs = json.load(open(sys.argv[1]))
c = collections.Counter(str(r["status"]) for r in reqs)
print(json.dumps(dict(sorted(c.items()))))
PY
)

echo "queries:          $n_total in $SECONDS_RUN s by $sessions sessions ($CLIENTS clients)"
echo "  ok:             $n_ok"
echo "  clean errors:   $n_err"
echo "  wrong results:  $n_wrong"
echo "  unclean errors: $n_unclean"
echo "  key in error:   $n_leak"
echo "  cached errors:  $n_cached"
echo "HTTP requests:    comet_fdw_stats() sum $fdw_requests, fake count $fake_requests"
echo "  retries $fdw_retries, errors $fdw_errors, cache hits $fdw_hits"
echo "  FDW errors_by_status (each failed attempt): $fdw_by_status"
echo "  fake statuses sent (None = nothing sent):    $fake_by_status"

# ---- verdict ----------------------------------------------------------------------------------
fail=()
[ "$pgbench_rc" -eq 0 ] || fail+=("pgbench exited $pgbench_rc")
[ "$aborted" -eq 0 ] || fail+=("$aborted pgbench client(s) aborted")
[ "$n_wrong" -eq 0 ] || fail+=("$n_wrong wrong results")
[ "$n_unclean" -eq 0 ] || fail+=("$n_unclean errors that are not clean")
[ "$n_leak" -eq 0 ] || fail+=("$n_leak errors show the API key")
[ "$n_cached" -eq 0 ] || fail+=("$n_cached errors served from the response cache (a bad response was cached)")
[ "$n_ok" -gt 0 ] || fail+=("no query succeeded")
[ "$n_err" -gt 0 ] || fail+=("no clean error at all: were the faults on?")
[ "$sessions" -eq "$CLIENTS" ] || fail+=("$sessions sessions reported stats, expected $CLIENTS")
[ "$fdw_requests" = "$fake_requests" ] || fail+=("FDW counted $fdw_requests requests, the fake $fake_requests")
if [ -n "${COMET_PG_LOG:-}" ] && [ -r "$COMET_PG_LOG" ]; then
  crashes=$(tail -n +"$((log_lines_before + 1))" "$COMET_PG_LOG" |
            grep -E 'terminated by signal|PANIC|was terminated|server process .* exited with exit code [^0]' || true)
  if [ -n "$crashes" ]; then
    printf '%s\n' "$crashes" | head -n 5
    fail+=("a backend crashed (server log)")
  fi
fi
echo "duration: $(rl_secs) s"
if [ "${#fail[@]}" -gt 0 ]; then
  msg=$(printf '%s; ' "${fail[@]}")
  echo "load: FAIL: ${msg%; }"
  exit 1
fi
echo "load: PASS ($n_total queries, $n_ok ok, $n_err clean errors, 0 wrong, requests $fdw_requests = $fake_requests)"
