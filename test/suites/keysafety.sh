#!/usr/bin/env bash
# shellcheck disable=SC2154  # S_FAKE_* are set by s_start_fake (printf -v)
# test/suites/keysafety.sh: the API key never appears in error messages, hints, details, EXPLAIN
# (VERBOSE, ANALYZE), comet_fdw_stats(), debug_print_plan output or the server log at
# log_min_messages = debug5 -- not even a piece of it, not even when a hostile server echoes it
# back.  A non-superuser cannot set allow_key_file, cannot fall back to the key file without
# it, and cannot read or use another role's user-mapping options.  file://, ftp:// and other
# schemes are rejected.  A redirect is not followed, so it never carries the key to another host.
#
# A "leak" is any 12-character piece of a key (LEAK_WINDOW) in: the psql output of every session
# below, the server log written while the suite ran, the request logs of the fakes.  Leaking
# lines are printed with the key masked.
set -euo pipefail
# shellcheck source=test/suites/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
s_init keysafety

KEY=$COMET_TEST_KEY
WRONG=wrong-KEY-zz9-plural-z-alpha
export LEAK_KEYS="$KEY
$WRONG"
LEAK_WINDOW=${LEAK_WINDOW:-12}
ALICE=comet_suite_ks_alice
BOB=comet_suite_ks_bob
KEY_FILE=$COMET_KEY_HOME/.comet_rest_key
OUT=$S_DIR/out                          # every psql output we scan
mkdir -p "$OUT"

# ---- servers: the fake, a hostile echo server, recorders on 127.0.0.2, a blackhole ------------
s_start_fake main --seed 42 --api-key "$KEY"
FPORT=$S_FAKE_PORT_main
s_bg ECHO_PID python3 "$S_LIB_DIR/echo_server.py" 127.0.0.1 0 "$S_DIR/echo.port" "$S_DIR/echo.log" \
  </dev/null >"$S_DIR/echo.out" 2>&1
s_wait "echo server" 10 test -s "$S_DIR/echo.port" || { cat "$S_DIR/echo.out"; exit 1; }
EPORT=$(tr -dc '0-9' <"$S_DIR/echo.port")
# where the redirects point: same port, 127.0.0.2; nothing may ever connect there
s_bg REC1_PID python3 "$S_LIB_DIR/echo_server.py" 127.0.0.2 "$FPORT" "$S_DIR/rec1.port" "$S_DIR/rec-fake.log" \
  </dev/null >"$S_DIR/rec1.out" 2>&1
s_bg REC2_PID python3 "$S_LIB_DIR/echo_server.py" 127.0.0.2 "$EPORT" "$S_DIR/rec2.port" "$S_DIR/rec-echo.log" \
  </dev/null >"$S_DIR/rec2.out" 2>&1
s_bg BH_PID python3 "$S_LIB_DIR/blackhole.py" "$S_DIR/blackhole.port" </dev/null >"$S_DIR/blackhole.log" 2>&1
REC_OK=1
s_wait "recorder on 127.0.0.2:$FPORT" 10 test -s "$S_DIR/rec1.port" || REC_OK=0
s_wait "recorder on 127.0.0.2:$EPORT" 10 test -s "$S_DIR/rec2.port" || REC_OK=0
[ "$REC_OK" = 1 ] || s_log "cannot listen on 127.0.0.2 ($(cat "$S_DIR/rec1.out" "$S_DIR/rec2.out" | tail -n 2)); redirect targets are checked through the fakes' logs only"
s_wait "blackhole listener" 10 test -s "$S_DIR/blackhole.port" || { cat "$S_DIR/blackhole.log"; exit 1; }
BHPORT=$(tr -dc '0-9' <"$S_DIR/blackhole.port")

read -r PROJ K1 < <(s_mnist main)

# ---- roles, database, servers ------------------------------------------------------------------
drop_roles() {
  psql -X -q -d "$S_DB" -c "DROP OWNED BY $ALICE, $BOB CASCADE" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ALICE" -c "DROP ROLE IF EXISTS $BOB" >/dev/null 2>&1 || true
}
s_createdb
drop_roles
s_on_exit drop_roles
s_create_try
psql -X -q -d postgres -c "CREATE ROLE $ALICE LOGIN NOSUPERUSER" -c "CREATE ROLE $BOB LOGIN NOSUPERUSER"

# the key file of the server's OS user: keep what was there (other tests use it), restore on exit
if [ -e "$KEY_FILE" ]; then
  cp -p "$KEY_FILE" "$S_DIR/key_file.saved"
  s_on_exit "cp -p '$S_DIR/key_file.saved' '$KEY_FILE'"
else
  s_on_exit "rm -f '$KEY_FILE'"
fi
printf '%s\n' "$KEY" >"$KEY_FILE"
chmod 600 "$KEY_FILE"
[ "$(id -u)" -eq 0 ] && chown --reference="$COMET_KEY_HOME" "$KEY_FILE"

s_psql -v url="$S_FAKE_URL_main" -v key="$KEY" -v wrong="$WRONG" \
  -v echo_url="http://127.0.0.1:$EPORT/api/rest/v2" -v bh="http://127.0.0.1:$BHPORT/api/rest/v2" \
  -v alice="$ALICE" -v bob="$BOB" >"$OUT/setup.out" 2>&1 <<'SQL'
\set ECHO none
CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'url', cache_ttl_s '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'key');
CREATE SCHEMA comet;
IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;
-- a key Comet does not know
CREATE SERVER badkey FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'url', cache_ttl_s '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER badkey OPTIONS (api_key :'wrong');
CREATE FOREIGN TABLE bad_ws (workspace_name text) SERVER badkey OPTIONS (endpoint 'workspaces');
-- short timeouts
CREATE SERVER slow FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'url', cache_ttl_s '0', timeout_ms '400', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER slow OPTIONS (api_key :'key');
CREATE FOREIGN TABLE slow_ws (workspace_name text) SERVER slow OPTIONS (endpoint 'workspaces');
CREATE SERVER bh FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'bh', connect_timeout_ms '300', max_retries '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER bh OPTIONS (api_key :'key');
CREATE FOREIGN TABLE bh_ws (workspace_name text) SERVER bh OPTIONS (endpoint 'workspaces');
-- a hostile server that echoes the key into everything
CREATE SERVER hostile FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'echo_url', cache_ttl_s '0', max_retries '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER hostile OPTIONS (api_key :'key');
CREATE SCHEMA hostile;
IMPORT FOREIGN SCHEMA comet FROM SERVER hostile INTO hostile;
-- the key file: no mapping at all
CREATE SERVER ks_srv FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'url', cache_ttl_s '0');
CREATE FOREIGN TABLE ks_ws (workspace_name text) SERVER ks_srv OPTIONS (endpoint 'workspaces');
GRANT USAGE ON FOREIGN DATA WRAPPER comet_fdw TO :"alice";
GRANT USAGE ON FOREIGN SERVER ks_srv TO :"alice", :"bob";
GRANT SELECT ON ks_ws TO :"alice", :"bob";
GRANT USAGE ON SCHEMA public TO :"alice", :"bob";
GRANT CREATE ON SCHEMA public TO :"alice";
SQL
LOG_OFFSET=$(stat -c %s "$COMET_PG_LOG")

# ---- 1. every kind of outcome, at debug5, with debug_print_plan --------------------------------
F=$S_FAKE_ROOT_main
fault() { printf '\\! curl -sS --max-time 10 "%s/_fake/%s" >/dev/null\n' "$F" "$1"; }
{
  cat <<SQL
\\set VERBOSITY verbose
\\set SHOW_CONTEXT always
SET log_min_messages = debug5;
SET client_min_messages = debug5;
SET log_error_verbosity = verbose;
SET log_min_error_statement = debug5;
SET debug_print_plan = on;
SET debug_print_rewritten = on;
SET debug_print_parse = on;
SET comet_fdw.retry_base_ms = 10;
-- answers
SELECT count(*) FROM comet.workspaces;
SELECT count(*) FROM comet.projects;
SELECT count(*) FROM comet.experiments WHERE project_id = '$PROJ';
SELECT * FROM comet.raw_params WHERE experiment_key = '$K1';
SELECT count(*) FROM comet.raw_params WHERE project_id = '$PROJ';
SELECT count(*) FROM comet.raw_metrics WHERE experiment_key = '$K1';
SELECT * FROM comet.tags WHERE experiment_key = '$K1';
SELECT count(*) FROM comet.system_details WHERE experiment_key = '$K1';
EXPLAIN (VERBOSE, ANALYZE, BUFFERS, SETTINGS) SELECT * FROM comet.raw_params WHERE project_id = '$PROJ';
EXPLAIN (VERBOSE, ANALYZE, FORMAT JSON) SELECT * FROM comet.experiments WHERE experiment_key = '$K1';
EXPLAIN (VERBOSE, ANALYZE, FORMAT YAML) SELECT * FROM comet.raw_metrics WHERE experiment_key = '$K1' LIMIT 3;
EXPLAIN VERBOSE SELECT * FROM comet.raw_params;
PREPARE p(text) AS SELECT * FROM comet.tags WHERE experiment_key = \$1;
SET plan_cache_mode = force_generic_plan;
EXECUTE p('$K1');
EXPLAIN (VERBOSE, ANALYZE) EXECUTE p('$K1');
RESET plan_cache_mode;
-- 401, 400, 404
SELECT * FROM bad_ws;
EXPLAIN (VERBOSE, ANALYZE) SELECT * FROM bad_ws;
SELECT * FROM comet.projects WHERE workspace_name = 'no-such-ws';
SELECT * FROM comet.experiments WHERE project_id = '00000000000000000000000000000000';
SELECT * FROM comet.raw_params WHERE experiment_key = 'ffffffffffffffffffffffffffffffff';
-- bad bodies and statuses
$(fault 'fault?path=experiment/tags&kind=malformed')
SELECT * FROM comet.tags WHERE experiment_key = '$K1';
$(fault 'faults/clear')
$(fault 'fault?path=experiment/tags&kind=truncated')
SELECT * FROM comet.tags WHERE experiment_key = '$K1';
$(fault 'faults/clear')
$(fault 'fault?path=experiment/tags&kind=oversize&bytes=300000')
ALTER SERVER comet OPTIONS (ADD max_response_bytes '100kB');
SELECT * FROM comet.tags WHERE experiment_key = '$K1';
ALTER SERVER comet OPTIONS (DROP max_response_bytes);
$(fault 'faults/clear')
$(fault 'fault?path=experiment/tags&kind=html_error&status=403')
SELECT * FROM comet.tags WHERE experiment_key = '$K1';
$(fault 'faults/clear')
$(fault 'fault?path=experiment/tags&kind=status&status=503&retry_after=0')
SELECT * FROM comet.tags WHERE experiment_key = '$K1';
$(fault 'faults/clear')
$(fault 'fault?path=experiment/tags&kind=status&status=429&retry_after=3600')
SELECT * FROM comet.tags WHERE experiment_key = '$K1';
$(fault 'faults/clear')
$(fault 'fault?path=experiment/parameters&kind=wrong_type')
SELECT * FROM comet.raw_params WHERE experiment_key = '$K1';
$(fault 'faults/clear')
$(fault 'fault?path=experiment/parameters&kind=invalid_utf8')
SELECT * FROM comet.raw_params WHERE experiment_key = '$K1';
$(fault 'faults/clear')
$(fault 'fault?path=experiment/parameters&kind=close')
SELECT * FROM comet.raw_params WHERE experiment_key = '$K1';
$(fault 'faults/clear')
-- timeouts: the whole request, and connecting
$(fault 'fault?path=workspaces&kind=hang')
SELECT * FROM slow_ws;
$(fault 'faults/clear')
SELECT * FROM bh_ws;
-- statement_timeout
$(fault 'fault?path=workspaces&kind=hang')
SET statement_timeout = '300ms';
SELECT * FROM comet.workspaces;
RESET statement_timeout;
$(fault 'faults/clear')
-- a redirect of the fake (to 127.0.0.2, same port)
$(fault 'reset')
$(fault 'fault?path=experiment/tags&kind=redirect')
SELECT * FROM comet.tags WHERE experiment_key = '$K1';
\\! curl -sS --max-time 10 "$F/_fake/count?path=experiment/tags" > $S_DIR/redirect.count
$(fault 'faults/clear')
-- the hostile server echoes the key into every answer
SELECT * FROM hostile.workspaces;
SELECT * FROM hostile.projects WHERE workspace_name = 'x';
SELECT * FROM hostile.experiments WHERE project_id = 'x';
SELECT * FROM hostile.tags WHERE experiment_key = 'x';
SELECT * FROM hostile.raw_params WHERE experiment_key = 'x';
SELECT * FROM hostile.raw_others WHERE experiment_key = 'x';
SELECT * FROM hostile.raw_metric_summaries WHERE experiment_key = 'x';
SELECT * FROM hostile.system_details WHERE experiment_key = 'x';
SELECT * FROM hostile.git_metadata WHERE experiment_key = 'x';
EXPLAIN (VERBOSE, ANALYZE) SELECT * FROM hostile.raw_params WHERE experiment_key = 'x';
-- counters and versions
SELECT 'stats_row' AS tag, * FROM comet_fdw_stats();
SELECT comet_fdw_version();
SQL
} >"$S_DIR/debug.sql"
t0=$(s_now_ms)
psql -X -d "$S_DB" -f "$S_DIR/debug.sql" >"$OUT/debug.out" 2>&1 || true
s_log "debug5 session: $(grep -c ': ERROR:  ' "$OUT/debug.out" || true) errors, $(wc -l <"$OUT/debug.out") lines of output, $(( ($(s_now_ms) - t0) / 1000 )) s"

# the session really did what it should: answers, errors of each kind, debug output
expect_in() {   # expect_in DESC REGEX FILE
  if grep -qE -- "$2" "$3"; then s_ok "$1"; else s_fail "$1" "no /$2/ in $(basename "$3")"; fi
}
D=$OUT/debug.out
expect_in "debug5 session: plans were printed (debug_print_plan)" 'DETAIL:  +\{PLANNEDSTMT' "$D"
expect_in "debug5 session: DEBUG messages reached the client" ': DEBUG:  ' "$D"
expect_in "debug5 session: EXPLAIN ANALYZE ran" 'Foreign Scan on comet\.raw_params' "$D"
expect_in "debug5 session: 401 reported" 'HV00N: Comet rejected the API key \(HTTP 401\)' "$D"
expect_in "debug5 session: malformed JSON reported" 'malformed JSON in Comet response' "$D"
expect_in "debug5 session: a server that never answers is reported as such" 'HV000: Comet did not answer within timeout_ms \(400 ms\)' "$D"
expect_in "debug5 session: a connect timeout is reported as unreachable" 'HV00N: could not reach Comet' "$D"
expect_in "debug5 session: statement_timeout" '57014: canceling statement due to statement timeout' "$D"
expect_in "debug5 session: the redirect reported, not followed" 'redirect \(HTTP 302\)' "$D"
expect_in "debug5 session: comet_fdw_stats() answered" '^ stats_row ' "$D"
expect_in "the hostile server's messages reach the user (scrubbed)" 'Comet says' "$D"

# ---- 2. a redirect does not carry the key to another host ---------------------------------------
n=$(cat "$S_DIR/redirect.count" 2>/dev/null || echo '?')
if [ "$n" = 1 ]; then
  s_ok "redirect: the fake saw exactly one request for the redirected path (not followed)"
else
  s_fail "redirect: the fake saw exactly one request for the redirected path" "it saw $n"
fi
if [ "$REC_OK" = 1 ]; then
  if [ ! -s "$S_DIR/rec-fake.log" ] && [ ! -s "$S_DIR/rec-echo.log" ]; then
    s_ok "redirect: nothing ever connected to the redirect targets 127.0.0.2:$FPORT and 127.0.0.2:$EPORT"
  else
    s_fail "redirect: nothing ever connected to the redirect targets on 127.0.0.2" \
      "$(cat "$S_DIR/rec-fake.log" "$S_DIR/rec-echo.log" | head -n 10)"
  fi
fi
# the key never travels in a URL (URLs show up in error details and proxy logs)
if [ -s "$S_DIR/fake-main.requests" ] && [ -s "$S_DIR/echo.log" ]; then
  s_ok "the fakes logged the request lines they got (checked for the key below)"
fi

# ---- 3. the key file and allow_key_file -----------------------------------------------------------
as_alice() { s_try -U "$ALICE" "$1"; }
as_bob() { s_try -U "$BOB" "$1"; }
note() { printf '%s\n' "$TRY_LINE" >>"$OUT/roles.out"; }

s_try "SELECT count(*) FROM ks_ws"; note
if [ "$TRY_STATE" = 00000 ]; then
  s_ok "a superuser without a user mapping falls back to ~/.comet_rest_key"
else
  s_fail "a superuser without a user mapping falls back to ~/.comet_rest_key" "$TRY_LINE"
fi

# no_key_for ROLE DESC: the role's query fails for want of a key, and nothing reached the fake
no_key_for() {
  local who=$1 desc=$2 sql=$3 n
  s_fake main reset >/dev/null
  s_try -U "$who" "$sql"; note
  n=$(s_fake main count)
  if [ "$TRY_STATE" = HV00N ] && [[ $TRY_MSG == "no Comet API key for role"* ]] &&
     [[ $TRY_HINT == *"CREATE USER MAPPING"* ]] && [ "$n" = 0 ]; then
    s_ok "$desc: \"$TRY_MSG\", hint shows CREATE USER MAPPING, no request sent"
  else
    s_fail "$desc: fails with no key (HV00N), no request sent" "$TRY_LINE" "requests seen by the fake: $n"
  fi
}
no_key_for "$ALICE" "a non-superuser without a mapping cannot use the key file" "SELECT * FROM ks_ws"

as_alice "CREATE SERVER alice_srv FOREIGN DATA WRAPPER comet_fdw OPTIONS (url '$S_FAKE_URL_main', allow_key_file 'true')"; note
if [ "$TRY_STATE" != 00000 ] && [[ $TRY_MSG == *allow_key_file* ]]; then
  s_ok "a non-superuser cannot CREATE SERVER ... allow_key_file: $TRY_STATE \"$TRY_MSG\""
else
  s_fail "a non-superuser cannot CREATE SERVER ... allow_key_file" "$TRY_LINE"
fi
as_alice "CREATE SERVER alice_srv FOREIGN DATA WRAPPER comet_fdw OPTIONS (url '$S_FAKE_URL_main', cache_ttl_s '0')"; note
[ "$TRY_STATE" = 00000 ] || s_fail "a non-superuser with USAGE on the wrapper creates a server" "$TRY_LINE"
as_alice "ALTER SERVER alice_srv OPTIONS (ADD allow_key_file 'true')"; note
if [ "$TRY_STATE" != 00000 ] && [[ $TRY_MSG == *allow_key_file* ]]; then
  s_ok "a non-superuser cannot ALTER SERVER (her own) ... allow_key_file: $TRY_STATE \"$TRY_MSG\""
else
  s_fail "a non-superuser cannot ALTER SERVER ... allow_key_file" "$TRY_LINE"
fi
as_alice "CREATE FOREIGN TABLE alice_ws (workspace_name text) SERVER alice_srv OPTIONS (endpoint 'workspaces')"; note
no_key_for "$ALICE" "a non-superuser on her own server cannot use the key file" "SELECT * FROM alice_ws"

s_psql -c "ALTER SERVER ks_srv OPTIONS (ADD allow_key_file 'true')"
s_try -U "$ALICE" "SELECT count(*) FROM ks_ws"; note
if [ "$TRY_STATE" = 00000 ]; then
  s_ok "with allow_key_file set by a superuser, the non-superuser uses the key file"
else
  s_fail "with allow_key_file set by a superuser, the non-superuser uses the key file" "$TRY_LINE"
fi
s_psql -c "ALTER SERVER ks_srv OPTIONS (DROP allow_key_file)"
no_key_for "$ALICE" "allow_key_file dropped: the non-superuser is refused again" "SELECT * FROM ks_ws"

# ---- 3b. the key file goes only to a url a superuser chose ----------------------------------------
# alice (USAGE on the wrapper) points a server of hers at a listener she controls (the echo server,
# which logs every connection) and waits for a superuser to read her table -- directly, or through
# pg_dump --include-foreign-data.  The superuser has no user mapping there, only the key file.
echo_conns() { grep -c '^connection' "$S_DIR/echo.log" 2>/dev/null || true; }
as_alice "CREATE SERVER alice_trap FOREIGN DATA WRAPPER comet_fdw OPTIONS (url 'http://127.0.0.1:$EPORT/api/rest/v2')"; note
as_alice "CREATE FOREIGN TABLE public.alice_trap_ws (workspace_name text) SERVER alice_trap OPTIONS (endpoint 'workspaces')"; note
as_alice "GRANT SELECT ON public.alice_trap_ws TO PUBLIC"; note
before=$(echo_conns)
s_try "SELECT * FROM public.alice_trap_ws"; note
after=$(echo_conns)
if [ "$TRY_STATE" = HV00N ] && [[ $TRY_DETAIL == *"only on servers owned by a superuser"* ]] && [ "$before" = "$after" ]; then
  s_ok "a superuser reading a non-superuser's server: no key file (\"$TRY_DETAIL\"), the listener saw no connection"
else
  s_fail "a superuser reading a non-superuser's server gets no key file, the listener no connection" \
    "$TRY_LINE" "listener connections before/after: $before/$after"
fi
before=$(echo_conns)
# pg_dump --include-foreign-data reads the table with COPY (SELECT ...) TO stdout; a pg_dump of
# another major version than the server's refuses to run, so then the same COPY is run by hand
server_major=$(s_psql -At -c "SELECT current_setting('server_version_num')::int / 10000")
dump_major=$(pg_dump --version | awk '{print $3}' | cut -d. -f1)
if [ "$server_major" = "$dump_major" ]; then
  how="pg_dump --include-foreign-data"
  pg_dump -d "$S_DB" --data-only --include-foreign-data=alice_trap -t public.alice_trap_ws \
    >"$OUT/pg_dump-trap.out" 2>&1 && dumped=0 || dumped=$?
else
  how="COPY (SELECT * FROM the table) TO stdout, as pg_dump --include-foreign-data does (pg_dump $dump_major cannot dump a $server_major server)"
  s_psql -c "COPY (SELECT * FROM public.alice_trap_ws) TO STDOUT" >"$OUT/pg_dump-trap.out" 2>&1 && dumped=0 || dumped=$?
fi
after=$(echo_conns)
if [ "$dumped" != 0 ] && grep -q 'no Comet API key' "$OUT/pg_dump-trap.out" && [ "$before" = "$after" ]; then
  s_ok "$how of the non-superuser's server fails without sending the key file"
else
  s_fail "$how of the non-superuser's server sends nothing" \
    "exit $dumped: $(head -c 300 "$OUT/pg_dump-trap.out")" "listener connections before/after: $before/$after"
fi
# a superuser's server handed over to alice: she may now change its url, so no key file either
s_psql -c "CREATE SERVER given FOREIGN DATA WRAPPER comet_fdw OPTIONS (url '$S_FAKE_URL_main', cache_ttl_s '0')" \
  -c "CREATE FOREIGN TABLE given_ws (workspace_name text) SERVER given OPTIONS (endpoint 'workspaces')"
s_try "SELECT count(*) FROM given_ws"; note
[ "$TRY_STATE" = 00000 ] || s_fail "the superuser's own server uses the key file" "$TRY_LINE"
s_psql -c "ALTER SERVER given OWNER TO $ALICE"
as_alice "ALTER SERVER given OPTIONS (SET url 'http://127.0.0.1:$EPORT/api/rest/v2')"; note
before=$(echo_conns)
s_try "SELECT count(*) FROM given_ws"; note
after=$(echo_conns)
if [ "$TRY_STATE" = HV00N ] && [ "$before" = "$after" ]; then
  s_ok "a server given to a non-superuser (who repointed it) no longer gets the key file"
else
  s_fail "a server given to a non-superuser no longer gets the key file" "$TRY_LINE" "listener connections before/after: $before/$after"
fi

# ---- 4. another role's user-mapping options ------------------------------------------------------
# alice stores her key (in a session of her own, not logged), then bob looks everywhere
printf "CREATE USER MAPPING FOR CURRENT_USER SERVER ks_srv OPTIONS (api_key :'key');\n" |
  s_psql -U "$ALICE" -v key="$KEY" >"$OUT/alice-mapping.out" 2>&1
s_try -U "$ALICE" "SELECT count(*) FROM ks_ws"; note
[ "$TRY_STATE" = 00000 ] || s_fail "alice's own mapping works" "$TRY_LINE"
alice_sees=$(s_psql -U "$ALICE" -At -c "SELECT umoptions FROM pg_user_mappings WHERE srvname = 'ks_srv' AND usename = current_user")
if [[ $alice_sees == *"api_key=$KEY"* ]]; then
  s_ok "alice reads her own mapping's api_key (so the checks of bob are meaningful)"
else
  s_fail "alice reads her own mapping's api_key" "got something else"
fi
s_psql -U "$BOB" -At >"$OUT/bob.out" 2>&1 <<SQL || true
\\set VERBOSITY verbose
SELECT 'pg_user_mappings', srvname, usename, umoptions FROM pg_user_mappings;
SELECT 'information_schema', * FROM information_schema.user_mapping_options;
SELECT 'info_schema_um', * FROM information_schema.user_mappings;
SELECT 'catalog', * FROM pg_catalog.pg_user_mapping;
\\deu+
\\des+
SQL
if grep -q "^pg_user_mappings|ks_srv|$ALICE|\$" "$OUT/bob.out"; then
  s_ok "pg_user_mappings, as another role: alice's mapping is listed without options"
else
  s_fail "pg_user_mappings, as another role: alice's mapping is listed without options" "$(grep '^pg_user_mappings' "$OUT/bob.out")"
fi
if grep -q '42501: permission denied for table pg_user_mapping' "$OUT/bob.out"; then
  s_ok "pg_catalog.pg_user_mapping, as another role: permission denied"
else
  s_fail "pg_catalog.pg_user_mapping, as another role: permission denied" "$(grep -i 'pg_user_mapping' "$OUT/bob.out" | head -n 3)"
fi
no_key_for "$BOB" "another role cannot use alice's mapping (no key for bob)" "SELECT * FROM ks_ws"
as_bob "ALTER USER MAPPING FOR $ALICE SERVER ks_srv OPTIONS (SET api_key 'stolen')"; note
if [ "$TRY_STATE" = 42501 ]; then
  s_ok "another role cannot alter alice's mapping: 42501 \"$TRY_MSG\""
else
  s_fail "another role cannot alter alice's mapping" "$TRY_LINE"
fi

# ---- 5. the key stays out of servers, wrappers and tables --------------------------------------
# (no log line carries the statement: log_min_error_statement = panic in these sessions)
for target in "SERVER:CREATE SERVER ks_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (api_key :'key')" \
              "WRAPPER:ALTER FOREIGN DATA WRAPPER comet_fdw OPTIONS (ADD api_key :'key')" \
              "TABLE:CREATE FOREIGN TABLE ks_bad_t (x text) SERVER ks_srv OPTIONS (endpoint 'workspaces', api_key :'key')" \
              "COLUMN:CREATE FOREIGN TABLE ks_bad_c (x text OPTIONS (api_key :'key')) SERVER ks_srv OPTIONS (endpoint 'workspaces')"; do
  what=${target%%:*}
  printf "SET log_min_error_statement = panic;\n%s;\n" "${target#*:}" |
    s_psql -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -v key="$KEY" >"$OUT/apikey-$what.out" 2>&1 || true
  if grep -qE '^ERROR:  HV00[CD]:' "$OUT/apikey-$what.out"; then
    s_ok "api_key is rejected on a $what: $(grep -m1 '^ERROR' "$OUT/apikey-$what.out" | cut -c9-)"
  else
    out=$(cat "$OUT/apikey-$what.out")
    s_fail "api_key is rejected on a $what (HV00C/HV00D)" "${out//"$KEY"/<KEY>}"
  fi
done
if [ "$(s_psql -At -c "SELECT count(*) FROM pg_foreign_server WHERE array_to_string(srvoptions, ',') LIKE '%api_key%'")" = 0 ] &&
   [ "$(s_psql -At -c "SELECT count(*) FROM pg_foreign_data_wrapper WHERE array_to_string(fdwoptions, ',') LIKE '%api_key%'")" = 0 ]; then
  s_ok "no server or wrapper holds an api_key option (their options are world-readable)"
else
  s_fail "no server or wrapper holds an api_key option"
fi

# ---- 6. only http and https ---------------------------------------------------------------------
bad_urls=("file:///etc/passwd" "FILE:///etc/passwd" "File://localhost/etc/passwd" "ftp://127.0.0.1/api/rest/v2"
          "ftps://127.0.0.1/" "sftp://127.0.0.1/" "scp://127.0.0.1/x" "gopher://127.0.0.1:$FPORT/_x"
          "dict://127.0.0.1:$FPORT/x" "ldap://127.0.0.1/" "tftp://127.0.0.1/x" "telnet://127.0.0.1:$FPORT"
          "smb://127.0.0.1/x" "smtp://127.0.0.1/" "imap://127.0.0.1/" "pop3://127.0.0.1/" "rtsp://127.0.0.1/"
          "mqtt://127.0.0.1/" "ws://127.0.0.1:$FPORT/" "wss://127.0.0.1/" "javascript:alert(1)"
          "data:text/plain,x" "127.0.0.1:$FPORT/api/rest/v2" "//127.0.0.1:$FPORT/api/rest/v2")
rejected=0
accepted=()
for u in "${bad_urls[@]}"; do
  s_try "CREATE SERVER ks_scheme FOREIGN DATA WRAPPER comet_fdw OPTIONS (url '$u')"; note
  if [ "$TRY_STATE" != 00000 ]; then
    rejected=$((rejected + 1))
  else
    accepted+=("$u")
    s_psql -c "DROP SERVER ks_scheme CASCADE" >/dev/null 2>&1 || true
  fi
  s_try "ALTER SERVER ks_srv OPTIONS (SET url '$u')"; note
  if [ "$TRY_STATE" = 00000 ]; then
    accepted+=("ALTER SERVER ... SET url '$u'")
    s_psql -c "ALTER SERVER ks_srv OPTIONS (SET url '$S_FAKE_URL_main')" >/dev/null
  fi
done
if [ "${#accepted[@]}" -eq 0 ]; then
  s_ok "${#bad_urls[@]} non-http(s) URLs rejected by CREATE SERVER and ALTER SERVER (file://, ftp://, gopher://, dict://, ...)"
else
  s_fail "non-http(s) URLs are rejected" "accepted: ${accepted[*]}"
fi
for u in "HTTP://127.0.0.1:$FPORT/api/rest/v2" "https://127.0.0.1:1/api/rest/v2"; do
  s_try "CREATE SERVER ks_scheme_ok FOREIGN DATA WRAPPER comet_fdw OPTIONS (url '$u')"; note
  if [ "$TRY_STATE" = 00000 ]; then
    s_psql -c "DROP SERVER ks_scheme_ok" >/dev/null
  else
    s_log "note: url '$u' is rejected ($TRY_MSG)"
  fi
done

# ---- 7. no key anywhere ----------------------------------------------------------------------------
sleep 0.3    # the log collector's last lines
scan=("$OUT"/*.out "$S_DIR/fake-main.requests" "$S_DIR/echo.log" "$S_DIR/rec-fake.log" "$S_DIR/rec-echo.log")
if leaks=$(python3 "$S_LIB_DIR/leakscan.py" --window "$LEAK_WINDOW" "${scan[@]}" 2>&1); then
  s_ok "no piece of a key ($LEAK_WINDOW characters) in any psql output: messages, details, hints, contexts, EXPLAIN, stats, debug_print_plan, pg_user_mappings ($(cat "${scan[@]}" 2>/dev/null | wc -l) lines)"
else
  s_fail "no piece of a key in the psql output or the fakes' request logs" "$leaks"
fi
if leaks=$(python3 "$S_LIB_DIR/leakscan.py" --window "$LEAK_WINDOW" --offset "$COMET_PG_LOG:$LOG_OFFSET" "$COMET_PG_LOG" 2>&1); then
  s_ok "no piece of a key in the server log at debug5 ($(tail -c +$((LOG_OFFSET + 1)) "$COMET_PG_LOG" | wc -l) lines written while the suite ran)"
else
  s_fail "no piece of a key in the server log at debug5" "$leaks"
fi

s_done
