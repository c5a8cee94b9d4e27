#!/usr/bin/env bash
# shellcheck disable=SC2154  # S_* variables are set by the helpers of lib/common.sh
# test/suites/bounds.sh: no unbounded work from one query.  A hostile server (lib/bomb_server.py)
# sends gzip bombs, endless bodies, a listing of 2,000,000 experiments, silence, over-long
# headers, broken gzip and absurd Retry-After values; a query names 150,000 keys; a session
# touches hundreds of servers; a wrapper without a validator carries a CR/LF in its key.  Each
# is a clean error (or the right rows) within bounded memory and time, and a cancel lands within
# a second.  Peak backend memory (VmHWM) and latencies are printed: they are the README's figures.
set -euo pipefail
# shellcheck source=test/suites/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
s_init bounds

KEY=$COMET_TEST_KEY
BOMB_LOG=$S_DIR/bomb.log
s_bg BOMB_PID python3 "$S_LIB_DIR/bomb_server.py" "$S_DIR/bomb.port" "$BOMB_LOG" \
  </dev/null >"$S_DIR/bomb.out" 2>&1
s_wait "bomb server" 60 test -s "$S_DIR/bomb.port" || { cat "$S_DIR/bomb.out"; exit 1; }
BURL="http://127.0.0.1:$(tr -dc '0-9' <"$S_DIR/bomb.port")/api/rest/v2"
s_start_fake main --seed 42 --api-key "$KEY"

s_createdb
s_create_try
s_psql -v url="$BURL" -v fake="$S_FAKE_URL_main" -v key="$KEY" >/dev/null <<'SQL'
\set ECHO none
CREATE SERVER bomb FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'url', cache_ttl_s '0', max_retries '3', timeout_ms '800');
CREATE USER MAPPING FOR CURRENT_USER SERVER bomb OPTIONS (api_key :'key');
CREATE SCHEMA b;
IMPORT FOREIGN SCHEMA comet LIMIT TO (raw_params, experiments, account) FROM SERVER bomb INTO b;
CREATE SERVER fake FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'fake', cache_ttl_s '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER fake OPTIONS (api_key :'key');
CREATE SCHEMA f;
IMPORT FOREIGN SCHEMA comet LIMIT TO (raw_params, account) FROM SERVER fake INTO f;
SQL

# run SQL in a fresh backend; prints "<ms> <VmHWM kB> <SQLSTATE> <message>" of the statement
# (the backend's peak memory, read after the statement, is the statement's peak: fresh backends
# start near 10 MB)
measure() {
  local sql=$1 pre=${2:-} t0 t1 line
  t0=$(s_now_ms)
  # a cancel is not caught by suite_try: then r keeps its "57014" default
  line=$(psql -X -q -At -d "$S_DB" -v ON_ERROR_STOP=0 -v q="$sql" <<SQL 2>/dev/null
$pre
\\set r '57014\\tcanceling statement due to statement timeout'
SELECT public.suite_try(:'q') AS r \\gset
RESET statement_timeout;
SELECT :'r' || E'\\t' || substring(pg_read_file('/proc/self/status') from 'VmHWM:\\s+(\\d+) kB');
SQL
) || true
  t1=$(s_now_ms)
  IFS=$'\t' read -r M_STATE M_MSG M_DETAIL M_HINT M_CONTEXT M_HWM <<<"$line" || true
  if [ "$M_STATE" = 00000 ]; then M_HWM=$M_DETAIL; M_DETAIL=; fi
  M_MS=$((t1 - t0))
  M_LINE=$line
}
mb() { echo $(( ${1:-0} / 1024 )); }

# ---- 1. a gzip bomb: 240 MB of {} in 0.4 MB --------------------------------------------------------
measure "SELECT count(*) FROM b.raw_params WHERE experiment_key = 'bomb'"
if [ "$M_STATE" = HV000 ] && [ "${M_HWM:-0}" -lt $((400 * 1024)) ]; then
  s_ok "gzip bomb (240 MB decoded): $M_STATE \"$M_MSG\", peak backend memory $(mb "$M_HWM") MB (< 400 MB), $M_MS ms"
else
  s_fail "gzip bomb: a clean error within 400 MB" "$M_LINE"
fi
BOMB1_HWM=$M_HWM
measure "SELECT count(*) FROM b.raw_params WHERE experiment_key IN ('bomb1','bomb2','bomb3','bomb4','bomb5','bomb6','bomb7','bomb8','bomb9','bomb10','bomb11','bomb12','bomb13','bomb14','bomb15','bomb16')"
if [ "$M_STATE" = HV000 ] && [ "${M_HWM:-0}" -lt $((400 * 1024)) ]; then
  s_ok "16 gzip bombs at once (max_concurrency 8): \"$M_MSG\", peak $(mb "$M_HWM") MB (< 400 MB), $M_MS ms"
else
  s_fail "16 gzip bombs at once: a clean error within 400 MB" "$M_LINE"
fi
BOMB16_HWM=$M_HWM
measure "SELECT count(*) FROM b.raw_params WHERE experiment_key = 'bomb'" \
  "ALTER SERVER bomb OPTIONS (ADD max_response_bytes '32MB');"
s_psql -c "ALTER SERVER bomb OPTIONS (DROP max_response_bytes)" >/dev/null
if [ "$M_STATE" = HV000 ] && [[ $M_MSG == *max_response_bytes* ]] && [ "${M_HWM:-0}" -lt $((100 * 1024)) ]; then
  s_ok "gzip bomb with max_response_bytes 32MB: \"$M_MSG\", peak $(mb "$M_HWM") MB (< 100 MB)"
else
  s_fail "gzip bomb with max_response_bytes 32MB: a clean error within 100 MB" "$M_LINE"
fi

# ---- 2. an endless body ----------------------------------------------------------------------------
measure "SELECT count(*) FROM b.raw_params WHERE experiment_key = 'endless'" \
  "ALTER SERVER bomb OPTIONS (ADD max_response_bytes '64MB');"
s_psql -c "ALTER SERVER bomb OPTIONS (DROP max_response_bytes)" >/dev/null
if [ "$M_STATE" = HV000 ] && [[ $M_MSG == *"larger than max_response_bytes"* ]] && [ "${M_HWM:-0}" -lt $((200 * 1024)) ]; then
  s_ok "endless body: \"$M_MSG\" after $M_MS ms, peak $(mb "$M_HWM") MB (< 200 MB)"
else
  s_fail "endless body: a clean error within 200 MB" "$M_LINE"
fi

# ---- 3. a listing of 2,000,000 experiments (100 MB) ------------------------------------------------
# with the default max_response_bytes (256 MB) its body and decoded form do not fit: a clean error
measure "SELECT count(*) FROM b.experiments WHERE project_id = 'big'"
if [ "$M_STATE" = HV000 ] && [[ $M_MSG == *max_response_bytes* ]] && [ "${M_HWM:-0}" -lt $((400 * 1024)) ]; then
  s_ok "a 100 MB listing of 2,000,000 experiments under the default max_response_bytes: \"$M_MSG\", peak $(mb "$M_HWM") MB"
else
  s_fail "a 100 MB listing under the default max_response_bytes: a clean error" "$M_LINE"
fi
s_psql -c "ALTER SERVER bomb OPTIONS (ADD max_response_bytes '1GB')" >/dev/null
measure "SELECT count(*) FROM (SELECT * FROM b.raw_params WHERE project_id = 'big' LIMIT 5) s"
reqs=$(grep -c 'REQ .*experiment/parameters' "$BOMB_LOG" || true)
if [ "$M_STATE" = 00000 ] && [ "${M_HWM:-0}" -lt $((600 * 1024)) ]; then
  s_ok "LIMIT over a 2,000,000-experiment listing: answered in $M_MS ms, peak $(mb "$M_HWM") MB (< 600 MB), $reqs child requests in all (children are expanded as the fan-out needs them)"
else
  s_fail "LIMIT over a 2,000,000-experiment listing: answered within 600 MB" "$M_LINE"
fi
LISTING_HWM=$M_HWM
measure "SELECT count(*) FROM b.experiments WHERE project_id = 'big'"
if [ "$M_STATE" = 00000 ] && [ "$M_MSG" = ok ]; then
  s_ok "the 2,000,000 experiments themselves: counted in $M_MS ms, peak $(mb "$M_HWM") MB"
else
  s_fail "the 2,000,000 experiments themselves are counted" "$M_LINE"
fi
LISTING_ROWS_HWM=$M_HWM

# timeout_ms is wall time: a child request in flight while the backend parses the other
# side's 2,000,000-row listing (seconds on a busy machine) is not Comet being slow
s_psql -c "ALTER SERVER bomb OPTIONS (SET timeout_ms '10000')" >/dev/null
measure "SELECT count(*) FROM (SELECT e.experiment_key, p.name FROM b.experiments e JOIN b.raw_params p USING (experiment_key) WHERE e.project_id = 'big' LIMIT 5) s"
s_psql -c "ALTER SERVER bomb OPTIONS (SET timeout_ms '800')" >/dev/null
if [ "$M_STATE" = 00000 ] && [ "${M_HWM:-0}" -lt $((1400 * 1024)) ]; then
  s_ok "a Comet Join over the 2,000,000-experiment listing (LIMIT 5): answered in $M_MS ms, peak $(mb "$M_HWM") MB (< 1400 MB: both sides' parsed listings and one kept row per experiment, within max_response_bytes)"
else
  s_fail "a Comet Join over the big listing: answered within 1400 MB" "$M_LINE"
fi
JOIN_HWM=$M_HWM

# ---- 4. cancels during a long parse and a long expansion -------------------------------------------
measure "SELECT count(*) FROM b.raw_params WHERE project_id = 'big'" "SET statement_timeout = '1500ms';"
if [ "$M_STATE" = 57014 ] && [ "$M_MS" -lt 3000 ]; then
  s_ok "statement_timeout 1500 ms during the 2,000,000-experiment fan-out: canceled, statement ended after $M_MS ms (< 3000)"
else
  s_fail "statement_timeout during the big fan-out lands within a second" "$M_LINE" "$M_MS ms"
fi
CANCEL_EXPAND_MS=$M_MS
s_psql -c "ALTER SERVER bomb OPTIONS (SET max_response_bytes '4GB')" >/dev/null
measure "SELECT count(*) FROM b.raw_params WHERE experiment_key = 'wide'" \
  "SET statement_timeout = '500ms';"
s_psql -c "ALTER SERVER bomb OPTIONS (DROP max_response_bytes)" >/dev/null
if [ "$M_STATE" = 57014 ] && [ "$M_MS" -lt 2000 ]; then
  s_ok "statement_timeout 500 ms while a 240 MB body is received and parsed: statement ended after $M_MS ms (< 2000)"
else
  s_fail "statement_timeout during a long parse lands within a second" "$M_LINE" "$M_MS ms"
fi
CANCEL_PARSE_MS=$M_MS

# ---- 5. silence, long headers, broken gzip, absurd Retry-After ------------------------------------
measure "SELECT count(*) FROM b.raw_params WHERE experiment_key = 'silent'"
n=$(grep -c 'REQ .*experimentKey=silent' "$BOMB_LOG" || true)
if [ "$M_STATE" = HV000 ] && [[ $M_MSG == "Comet did not answer within timeout_ms (800 ms)" ]] &&
   [ "$M_MS" -lt 2500 ] && [ "$n" = 1 ]; then
  s_ok "a server that accepts and never answers: \"$M_MSG\" after $M_MS ms, asked once (not 1 + max_retries times)"
else
  s_fail "a server that never answers: said as such, asked once, within 2.5 s" "$M_LINE" "$M_MS ms, $n requests"
fi
measure "SELECT count(*) FROM b.raw_params WHERE experiment_key = 'longheader'"
if [ "$M_STATE" = HV000 ] && [[ $M_MSG == "Comet's response could not be read" ]]; then
  s_ok "a 256 kB response header: \"$M_MSG\" ($M_DETAIL)"
else
  s_fail "a 256 kB response header: said as such (not \"could not reach\")" "$M_LINE"
fi
measure "SELECT count(*) FROM b.raw_params WHERE experiment_key = 'badgzip'"
if [ "$M_STATE" = HV000 ] && [[ $M_MSG == *"could not be decoded"* ]]; then
  s_ok "a broken gzip body: \"$M_MSG\""
else
  s_fail "a broken gzip body: said as such" "$M_LINE"
fi
for k in retry-huge retry-max; do
  measure "SELECT count(*) FROM b.raw_params WHERE experiment_key = '$k'"
  n=$(grep -c "REQ .*experimentKey=$k" "$BOMB_LOG" || true)
  if [ "$M_STATE" = HV000 ] && [[ $M_MSG == *"longer than comet_fdw.retry_max_wait_ms"* ]] &&
     [ "$M_MS" -lt 2000 ] && [ "$n" = 1 ]; then
    s_ok "Retry-After $k: \"$M_MSG\" at once ($M_MS ms, one request)"
  else
    s_fail "Retry-After $k: refused at once, one request" "$M_LINE" "$M_MS ms, $n requests"
  fi
done

# ---- 6. 150,000 keys ---------------------------------------------------------------------------------
KEYS="ARRAY(SELECT md5(i::text) FROM generate_series(1, 150000) i)"
measure "SELECT count(*) FROM f.raw_params WHERE experiment_key = ANY ($KEYS)"
if [ "$M_STATE" = 54000 ] && [[ $M_DETAIL == *"max_keys allows 10000"* ]] && [ "$M_MS" -lt 5000 ]; then
  s_ok "150,000 keys: \"$M_MSG\" ($M_DETAIL) after $M_MS ms, no request"
else
  s_fail "150,000 keys: an error naming max_keys" "$M_LINE" "$M_MS ms"
fi
# linear work: two disjoint sets of 150,000 keys, intersected, give no key and no request
s_fake main reset >/dev/null
measure "SELECT count(*) FROM f.raw_params WHERE experiment_key = ANY ($KEYS) AND experiment_key = ANY (ARRAY(SELECT md5((-i)::text) FROM generate_series(1, 150000) i))" \
  "ALTER SERVER fake OPTIONS (ADD max_keys '200000');"
n=$(s_fake main count)
if [ "$M_STATE" = 00000 ] && [ "$n" = 0 ] && [ "$M_MS" -lt 5000 ]; then
  s_ok "two sets of 150,000 keys intersected in $M_MS ms (linear, < 5 s), no request"
else
  s_fail "two sets of 150,000 keys are intersected in linear time" "$M_LINE" "$M_MS ms, $n requests"
fi
measure "SELECT count(*) FROM f.raw_params WHERE experiment_key = ANY ($KEYS) AND experiment_key = ANY (ARRAY(SELECT md5((-i)::text) FROM generate_series(1, 150000) i))" \
  "SET statement_timeout = '30ms';"
if [ "$M_STATE" = 57014 ] || [ "$M_STATE" = 00000 ]; then
  s_ok "the same under statement_timeout 30 ms: $M_STATE after $M_MS ms (interrupts are checked while keys are read)"
else
  s_fail "the key sets can be canceled" "$M_LINE"
fi
s_psql -c "ALTER SERVER fake OPTIONS (DROP max_keys)" >/dev/null

# ---- 7. hundreds of servers in one backend ---------------------------------------------------------
s_psql >/dev/null <<SQL
DO \$\$
BEGIN
  FOR i IN 1..600 LOOP
    EXECUTE format('CREATE SERVER many_%s FOREIGN DATA WRAPPER comet_fdw OPTIONS (url %L)', i, '$BURL');
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER many_%s OPTIONS (api_key %L)', i, '$KEY');
    EXECUTE format('CREATE FOREIGN TABLE many_%s (user_name text) SERVER many_%s OPTIONS (endpoint %L)', i, i, 'account');
  END LOOP;
END
\$\$;
SQL
out=$(s_psql -At <<'SQL' 2>&1
SET client_min_messages = warning;
CREATE TEMP TABLE answers (i int, n bigint);
DO $$
DECLARE n bigint;
BEGIN
  FOR i IN 1..600 LOOP
    EXECUTE format('SELECT count(*) FROM many_%s', i) INTO n;
    INSERT INTO answers VALUES (i, n);
  END LOOP;
END
$$;
SELECT count(*) FILTER (WHERE n = 1) FROM answers;
SELECT count(*) FROM pg_ls_dir('/proc/' || pg_backend_pid() || '/fd');
SQL
) || true
answered=$(sed -n 1p <<<"$out")
fds=$(sed -n 2p <<<"$out")
if [ "$answered" = 600 ] && [ -n "$fds" ] && [ "$fds" -lt 100 ]; then
  s_ok "600 servers queried from one backend: all answered, $fds file descriptors open at the end (idle handles are closed)"
else
  s_fail "600 servers from one backend: all answer, file descriptors stay bounded" "$out"
fi

# ---- 8. defence in depth: CR/LF in a header, a password in the url --------------------------------
before=$(grep -c '^HDR ' "$BOMB_LOG" || true)
s_psql -v url="$BURL" >/dev/null <<'SQL'
CREATE FOREIGN DATA WRAPPER comet_novalidator HANDLER comet_fdw_handler;
CREATE SERVER crlf FOREIGN DATA WRAPPER comet_novalidator OPTIONS (url :'url', cache_ttl_s '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER crlf
    OPTIONS (api_key E'abc\r\nX-Injected: yes');
CREATE FOREIGN TABLE crlf_ws (workspace_name text) SERVER crlf OPTIONS (endpoint 'workspaces');
SQL
s_try "SELECT * FROM crlf_ws"
after=$(grep -c '^HDR ' "$BOMB_LOG" || true)
if [ "$TRY_STATE" = HV000 ] && [[ $TRY_DETAIL == *"control character"* ]] && [ "$before" = "$after" ]; then
  s_ok "a key with CR/LF (wrapper without validator): refused by the HTTP layer (\"$TRY_DETAIL\"), no header reached the server"
else
  s_fail "a key with CR/LF is refused by the HTTP layer" "$TRY_LINE" "foreign headers before/after: $before/$after"
fi
LOG_OFFSET=$(stat -c %s "$COMET_PG_LOG")
s_psql >/dev/null <<'SQL'
CREATE SERVER pw FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url 'http://someone:s3cr3t-pw@127.0.0.1:9/api/rest/v2', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER pw OPTIONS (api_key 'k');
CREATE FOREIGN TABLE pw_ws (workspace_name text) SERVER pw OPTIONS (endpoint 'workspaces');
SQL
s_try "SELECT * FROM pw_ws"
sleep 0.3
if [ "$TRY_STATE" = HV00N ] && [[ $TRY_LINE != *s3cr3t* ]] &&
   ! tail -c +$((LOG_OFFSET + 1)) "$COMET_PG_LOG" | grep -q s3cr3t; then
  s_ok "a url with user:password@: \"$TRY_MSG\" (no password in the error or the server log)"
else
  s_fail "a url's password never shows" "$TRY_LINE"
fi

s_log "figures: gzip bomb peak $(mb "$BOMB1_HWM") MB; 16 bombs peak $(mb "$BOMB16_HWM") MB; 2,000,000-experiment listing: LIMIT 5 peak $(mb "$LISTING_HWM") MB, all rows peak $(mb "$LISTING_ROWS_HWM") MB; a Comet Join over it, LIMIT 5, peak $(mb "$JOIN_HWM") MB; cancel latency: during the fan-out $CANCEL_EXPAND_MS ms for a 1500 ms timeout, during a parse $CANCEL_PARSE_MS ms for a 500 ms timeout"
s_done
