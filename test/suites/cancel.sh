#!/usr/bin/env bash
# shellcheck disable=SC2154  # S_FAKE_* are set by s_start_fake (printf -v)
# test/suites/cancel.sh: pg_cancel_backend, statement_timeout and Ctrl-C stop a query within one
# second whether it is connecting, waiting on a server that never answers, reading a slow body,
# sleeping before a retry, or running a concurrent fan-out; pg_terminate_backend ends the
# backend.  The backend stays usable for the next query and leaks no connection.
#
# One long-lived psql session ("session A", fed through a FIFO) is cancelled in every stage and
# must answer a normal foreign query (a fan-out) after each cancel, and then hold exactly the
# connections of that fan-out: none leaked by the cancel.  Ctrl-C is a real SIGINT to a psql
# process (psql sends a cancel request); pg_terminate_backend ends other sessions.
#
# Timing: the cancel instant is the server's clock_timestamp() right after pg_cancel_backend();
# the end instant is taken by session A (\! date) right after the statement returned.  Both
# are the same wall clock.  Bound: LIMIT_MS (1500 ms; the contract says one second).
set -euo pipefail
# shellcheck source=test/suites/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
s_init cancel
LOG_OFFSET=$(stat -c %s "$COMET_PG_LOG")

LIMIT_MS=${CANCEL_LIMIT_MS:-1500}
TIMEOUT_MS=1000                       # statement_timeout of the timeout stages
APP_A=comet_suite_cancel_a

# ---- fakes, blackhole, database ----------------------------------------------------------------
s_start_fake main --seed 42 --api-key "$COMET_TEST_KEY"
FPORT=$S_FAKE_PORT_main
s_bg BH_PID python3 "$S_LIB_DIR/blackhole.py" "$S_DIR/blackhole.port" </dev/null >"$S_DIR/blackhole.log" 2>&1
s_wait "blackhole listener" 10 test -s "$S_DIR/blackhole.port" || { cat "$S_DIR/blackhole.log"; exit 1; }
BHPORT=$(tr -dc '0-9' <"$S_DIR/blackhole.port")

read -r PROJ K1 < <(s_mnist main)

s_createdb
s_psql -v url="$S_FAKE_URL_main" -v key="$COMET_TEST_KEY" -v bh="http://127.0.0.1:$BHPORT/api/rest/v2" <<'SQL'
\set ECHO none
CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'url', cache_ttl_s '0', max_retries '3', timeout_ms '60000');
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'key');
CREATE SCHEMA comet;
IMPORT FOREIGN SCHEMA comet LIMIT TO (workspaces, experiments, tags, raw_params)
    FROM SERVER comet INTO comet;
-- nothing ever answers the SYN: connecting lasts until connect_timeout_ms
CREATE SERVER blackhole FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'bh', connect_timeout_ms '60000', timeout_ms '60000', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER blackhole OPTIONS (api_key :'key');
CREATE FOREIGN TABLE bh_workspaces (workspace_name text) SERVER blackhole OPTIONS (endpoint 'workspaces');
SQL

# the queries of the stages
Q_CONNECT="SELECT * FROM bh_workspaces"
Q_HANG="SELECT * FROM comet.workspaces"
Q_TAGS="SELECT * FROM comet.tags WHERE experiment_key = '$K1'"
Q_FANOUT="SELECT * FROM comet.raw_params WHERE project_id = '$PROJ'"
Q_AFTER="SELECT count(*) FROM comet.raw_params WHERE project_id = '$PROJ'"

s_fake main reset >/dev/null
EXPECTED_AFTER=$(s_psql -At -c "$Q_AFTER")
NEXP=$(s_fake main 'count?path=experiment/parameters')   # requests of one fan-out
if [ "${EXPECTED_AFTER:-0}" -gt 0 ] && [ "$NEXP" -ge 2 ]; then
  s_ok "baseline: the fan-out query answers ($EXPECTED_AFTER rows from $NEXP experiment/parameters requests)"
else
  s_fail "baseline: the fan-out query answers, with concurrent requests" "got '$EXPECTED_AFTER', $NEXP requests"
  s_done
  exit 1
fi

# ---- stage setup and "is it there yet" probes ---------------------------------------------------
# fault_<stage>: resets the fake (counts, log, rules) and arms the stage's fault
fault_connect() { s_fake main reset >/dev/null; }
fault_hang() { s_fake main reset >/dev/null; s_fake main 'fault?path=workspaces&kind=hang' >/dev/null; }
fault_slow() {
  s_fake main reset >/dev/null
  s_fake main 'fault?path=experiment/tags&kind=slow_body&latency_ms=20000&chunk_delay_ms=500' >/dev/null
}
fault_retry() {
  s_fake main reset >/dev/null
  s_fake main 'fault?path=experiment/tags&kind=status&status=503&retry_after=20' >/dev/null
}
fault_fanout() {
  s_fake main reset >/dev/null
  s_fake main 'fault?path=experiment/parameters&kind=latency&latency_ms=20000' >/dev/null
}

query_of() {
  case $1 in
    connect) echo "$Q_CONNECT" ;; hang) echo "$Q_HANG" ;; slow | retry) echo "$Q_TAGS" ;;
    fanout) echo "$Q_FANOUT" ;;
  esac
}

fake_count() { s_fake main "count?path=$1"; }
count_at_least() { [ "$(fake_count "$1")" -ge "$2" ]; }
# the backend sits in SYN_SENT towards the blackhole
syn_sent_by() { s_conns "$BHPORT" | awk -v p="$1" '$1 == p && $3 == "SYN_SENT" {f = 1} END {exit !f}'; }
# a request of the path was answered with this status
answered() {
  s_fake main requests | python3 -c '
import json, sys
sys.exit(0 if any(r["path"] == sys.argv[1] and r["status"] == int(sys.argv[2])
                  for r in json.load(sys.stdin)) else 1)' "$1" "$2"
}
in_extension_wait() {
  [ "$(psql -X -At -d postgres -c "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1")" = Extension ]
}

# reached_<stage> PID: polls until the backend PID is inside the stage (max 10 s)
reached() {
  local stage=$1 pid=$2
  case $stage in
    connect) s_wait "SYN_SENT to the blackhole" 10 syn_sent_by "$pid" ;;
    hang) s_wait "the request to arrive" 10 count_at_least workspaces 1 ;;
    slow) s_wait "the request to arrive" 10 count_at_least experiment/tags 1 && sleep 0.7 ;;  # a chunk or so in
    retry) s_wait "the 503" 10 answered experiment/tags 503 && sleep 0.3 ;;
    fanout) s_wait "$NEXP concurrent requests" 10 count_at_least experiment/parameters "$NEXP" ;;
  esac || return 1
  s_wait "wait_event Extension" 5 in_extension_wait "$pid" || true
}

# a request of the stage reached the server (connect: the backend tried to connect)
stage_touched() {
  case $1 in
    connect) return 0 ;;
    hang) count_at_least workspaces 1 ;;
    slow | retry) count_at_least experiment/tags 1 ;;
    fanout) count_at_least experiment/parameters 1 ;;
  esac
}

STAGES=(connect hang slow retry fanout)
declare -A STAGE_DESC=([connect]="connecting" [hang]="server never answers" [slow]="slow body"
                       [retry]="sleeping before a retry" [fanout]="concurrent fan-out")
SUMMARY=()

# ---- session A: one psql, fed through a FIFO -------------------------------------------------------
A_FIFO=$S_DIR/a.fifo
mkfifo "$A_FIFO"
exec 3<>"$A_FIFO"
s_on_exit "exec 3>&-"
PGAPPNAME=$APP_A s_bg A_PSQL psql -X -d "$S_DB" -f "$A_FIFO" >"$S_DIR/a.out" 2>"$S_DIR/a.err"
a_send() { printf '%s\n' "$@" >&3; }
a_send '\set VERBOSITY verbose' '\pset tuples_only on' '\pset format unaligned' \
       'SET comet_fdw.retry_max_wait_ms = 60000;' \
       "\\! touch $S_DIR/a.ready"
s_wait "session A" 20 test -e "$S_DIR/a.ready" || { cat "$S_DIR/a.err"; exit 1; }
A_PID=$(psql -X -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$APP_A'")
[ -n "$A_PID" ] || { echo "session A has no backend" >&2; exit 1; }
s_log "session A: backend pid $A_PID; fake port $FPORT, blackhole port $BHPORT"

# conns_of PID PORT: sockets of the backend to the port
conns_of() { s_conns "$2" | awk -v p="$1" '$1 == p' | wc -l; }
# every backend socket to the fake or the blackhole: "pid state" lines
backend_conns() { s_conns "$FPORT" "$BHPORT" | awk '$2 == "postgres" {print $1, $3, $5}'; }

# a_run TAG SQL [PRE] [POST]: runs SQL in session A; files $S_DIR/TAG.{start,end,res}
a_run() {
  local tag=$1 sql=$2 pre=${3:-} post=${4:-}
  rm -f "$S_DIR/$tag".*
  [ -n "$pre" ] && a_send "$pre"
  a_send "\\! date +%s%3N > $S_DIR/$tag.start" \
         "$sql;" \
         "\\! date +%s%3N > $S_DIR/$tag.end" \
         "\\o $S_DIR/$tag.res" '\qecho :SQLSTATE' '\qecho :LAST_ERROR_MESSAGE' '\o'
  [ -n "$post" ] && a_send "$post"
  a_send "\\! touch $S_DIR/$tag.done"
}
a_wait_done() { s_wait "session A to finish $1" "${2:-30}" test -e "$S_DIR/$1.done"; }

# after each stage: the same session runs a normal fan-out query, then its sockets are counted.
# The fan-out's requests are held 300 ms so that all NEXP of them are in flight at once: the
# session then holds exactly NEXP kept-alive connections, whatever the stage left (without the
# hold, a fast answer frees a connection for the next request, and the count varied 2..NEXP).
A_CONNS=()
a_after() {
  local stage_name=$1 tag=after_$2 got n bh
  s_fake main reset >/dev/null
  s_fake main 'fault?path=experiment/parameters&kind=latency&latency_ms=300' >/dev/null
  rm -f "$S_DIR/$tag".*
  a_send "\\o $S_DIR/$tag.out" "$Q_AFTER;" '\o' "\\o $S_DIR/$tag.res" '\qecho :SQLSTATE' '\o' \
         "\\! touch $S_DIR/$tag.done"
  if ! a_wait_done "$tag" 30; then
    s_fail "$stage_name: session A answers the next query" "$(tail -n 5 "$S_DIR/a.err")"
    return
  fi
  got=$(tr -dc '0-9' <"$S_DIR/$tag.out")
  if [ "$(head -n1 "$S_DIR/$tag.res")" = 00000 ] && [ "$got" = "$EXPECTED_AFTER" ]; then
    s_ok "$stage_name: the same session then answers a fan-out query ($got rows)"
  else
    s_fail "$stage_name: the same session then answers a fan-out query" \
      "sqlstate $(head -n1 "$S_DIR/$tag.res"), count '$got', expected $EXPECTED_AFTER" "$(tail -n 5 "$S_DIR/a.err")"
  fi
  n=$(conns_of "$A_PID" "$FPORT")
  bh=$(conns_of "$A_PID" "$BHPORT")
  A_CONNS+=("$n")
  s_log "session A holds $n connection(s) to the fake, $bh to the blackhole"
  if [ "$bh" -ne 0 ]; then
    s_fail "$stage_name: no socket left towards the blackhole" "$(s_conns "$BHPORT")"
  fi
}

# check_cancel STAGE_NAME TAG T_CANCEL EXPECT_MSG: the statement failed with 57014 in time
check_cancel() {
  local name=$1 tag=$2 t_cancel=$3 want=$4 state msg t_end lat
  if ! a_wait_done "$tag" 20; then
    s_fail "$name: the statement returned" "session A did not come back within 20 s" \
      "$(tail -n 5 "$S_DIR/a.err")"
    return 1
  fi
  state=$(sed -n 1p "$S_DIR/$tag.res")
  msg=$(sed -n 2p "$S_DIR/$tag.res")
  t_end=$(cat "$S_DIR/$tag.end")
  lat=$((t_end - t_cancel))
  SUMMARY+=("$(printf '%-44s %5d ms' "$name" "$lat")")
  if [ "$state" = 57014 ] && [ "$msg" = "$want" ]; then
    s_ok "$name: SQLSTATE 57014, \"$msg\""
  else
    s_fail "$name: SQLSTATE 57014, \"$want\"" "got $state: $msg"
  fi
  if [ "$lat" -lt "$LIMIT_MS" ]; then
    s_ok "$name: stopped $lat ms after the cancel (< $LIMIT_MS ms)"
  else
    s_fail "$name: stopped $lat ms after the cancel (< $LIMIT_MS ms)"
  fi
}

# ---- 1. pg_cancel_backend, every stage, session A ---------------------------------------------------
for st in "${STAGES[@]}"; do
  name="cancel/${STAGE_DESC[$st]}"
  "fault_$st"
  a_run "c_$st" "$(query_of "$st")"
  if ! reached "$st" "$A_PID"; then
    s_fail "$name: the query reached the stage"
  fi
  # sockets of session A during the stage, and how many carry a transfer in flight
  case $st in
    connect) port=$BHPORT inflight=1 ;; hang | slow) port=$FPORT inflight=1 ;;
    retry) port=$FPORT inflight=0 ;; fanout) port=$FPORT inflight=$NEXP ;;
  esac
  during=$(conns_of "$A_PID" "$port")
  hangs_before=$(grep -c 'fault=hang' "$S_DIR/fake-main.requests" || true)
  t_cancel=$(psql -X -At -d postgres -c \
    "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM (SELECT pg_cancel_backend($A_PID)) c")
  if check_cancel "$name" "c_$st" "$t_cancel" "canceling statement due to user request"; then
    # the connections of the cancelled transfers are closed, the idle kept-alive ones may stay
    if s_wait "the cancelled transfers' sockets to close" 1 \
         test "$(conns_of "$A_PID" "$port")" -le $((during - inflight)); then
      s_ok "$name: the connection(s) of the $inflight transfer(s) in flight are closed ($during socket(s) during the stage, $(conns_of "$A_PID" "$port") after)"
    else
      s_fail "$name: the connection(s) of the $inflight transfer(s) in flight are closed" \
        "$during sockets during the stage, $(conns_of "$A_PID" "$port") after the cancel" "$(s_conns "$port")"
    fi
    if [ "$st" = hang ]; then
      # the fake ends a hung request when its client closes the connection, and logs it then
      if s_wait "the fake to see the hung connection close" 3 \
           test "$(grep -c 'fault=hang' "$S_DIR/fake-main.requests")" -gt "$hangs_before"; then
        s_ok "$name: the fake saw the hung request's connection close"
      else
        s_fail "$name: the fake saw the hung request's connection close"
      fi
    fi
  fi
  a_after "$name" "c_$st"
done

# ---- 2. statement_timeout, every stage, session A --------------------------------------------------
for st in "${STAGES[@]}"; do
  name="statement_timeout/${STAGE_DESC[$st]}"
  "fault_$st"
  a_run "t_$st" "$(query_of "$st")" "SET statement_timeout = '${TIMEOUT_MS}ms';" 'RESET statement_timeout;'
  if a_wait_done "t_$st" 20; then
    t_start=$(cat "$S_DIR/t_$st.start")
    check_cancel "$name" "t_$st" $((t_start + TIMEOUT_MS)) "canceling statement due to statement timeout" || true
    if [ "$st" = connect ]; then
      :
    elif stage_touched "$st"; then
      s_ok "$name: the request had reached the fake before the timeout"
    else
      s_fail "$name: the request had reached the fake before the timeout"
    fi
  else
    s_fail "$name: the statement returned" "$(tail -n 5 "$S_DIR/a.err")"
  fi
  a_after "$name" "t_$st"
done

# ---- 3. the cancels leaked no connection --------------------------------------------------------
# A socket a cancel failed to close, or a connection not given back to the pool, would add to
# the NEXP that the fan-out after each stage leaves; a pool not reused would too.
s_log "session A's connections to the fake after each of the ${#A_CONNS[@]} cancels: ${A_CONNS[*]}"
if ! printf '%s\n' "${A_CONNS[@]}" | grep -qvx "$NEXP"; then
  s_ok "no connection leaked: after each of the ${#A_CONNS[@]} cancels the session holds the $NEXP connections of its last fan-out"
else
  s_fail "no connection leaked: after each cancel the session holds the $NEXP connections of its last fan-out" \
    "counts: ${A_CONNS[*]}" "$(s_conns "$FPORT" "$BHPORT")"
fi

# app_pid APP: the backend pid of the session with that application_name (fails when none)
app_pid() {
  local p
  p=$(psql -X -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'")
  [ -n "$p" ] && echo "$p"
}

# ---- 4. Ctrl-C: SIGINT to psql, which sends a cancel request -----------------------------------------
ctrl_c() {
  local st=$1 name="Ctrl-C/${STAGE_DESC[$1]}" pid bpid t0 rc lat app=comet_suite_cancel_c_$1 err
  err=$S_DIR/ctrlc_$st.err
  "fault_$st"
  PGAPPNAME=$app s_bg pid psql -X -d "$S_DB" -v VERBOSITY=verbose \
    -c 'SET comet_fdw.retry_max_wait_ms = 60000' -c "$(query_of "$st")" >/dev/null 2>"$err"
  s_wait "the session" 10 app_pid "$app" || true
  bpid=$(app_pid "$app")
  reached "$st" "${bpid:-0}" || s_fail "$name: the query reached the stage"
  t0=$(s_now_ms)
  kill -INT "$pid"
  rc=0
  wait "$pid" || rc=$?
  lat=$(($(s_now_ms) - t0))
  SUMMARY+=("$(printf '%-44s %5d ms' "$name" "$lat")")
  if [ "$rc" -eq 1 ] && grep -q '57014: canceling statement due to user request' "$err"; then
    s_ok "$name: psql reports 57014 \"canceling statement due to user request\""
  else
    s_fail "$name: psql reports 57014" "exit $rc" "$(cat "$err")"
  fi
  if [ "$lat" -lt "$LIMIT_MS" ]; then
    s_ok "$name: psql returned $lat ms after SIGINT (< $LIMIT_MS ms)"
  else
    s_fail "$name: psql returned $lat ms after SIGINT (< $LIMIT_MS ms)"
  fi
}
ctrl_c hang
ctrl_c fanout

# ---- 5. pg_terminate_backend ends the backend -------------------------------------------------------
backend_gone() {
  [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $1")" = 0 ] &&
    ! kill -0 "$1" 2>/dev/null
}
terminate() {
  local st=$1 name="terminate/${STAGE_DESC[$1]}" pid bpid t_kill rc lat app=comet_suite_cancel_t_$1 err
  err=$S_DIR/term_$st.err
  "fault_$st"
  PGAPPNAME=$app s_bg pid psql -X -d "$S_DB" -v VERBOSITY=verbose \
    -c 'SET comet_fdw.retry_max_wait_ms = 60000' -c "$(query_of "$st")" >/dev/null 2>"$err"
  s_wait "the session" 10 app_pid "$app" || true
  bpid=$(app_pid "$app")
  reached "$st" "${bpid:-0}" || s_fail "$name: the query reached the stage"
  t_kill=$(psql -X -At -d postgres -c \
    "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM (SELECT pg_terminate_backend($bpid)) c")
  rc=0
  wait "$pid" || rc=$?
  lat=$(($(s_now_ms) - t_kill))
  SUMMARY+=("$(printf '%-44s %5d ms' "$name" "$lat")")
  if grep -q '57P01: terminating connection due to administrator command' "$err"; then
    s_ok "$name: the session ends with 57P01 \"terminating connection due to administrator command\""
  else
    s_fail "$name: the session ends with 57P01" "psql exit $rc" "$(cat "$err")"
  fi
  if [ "$lat" -lt "$LIMIT_MS" ]; then
    s_ok "$name: psql returned $lat ms after pg_terminate_backend (< $LIMIT_MS ms)"
  else
    s_fail "$name: psql returned $lat ms after pg_terminate_backend (< $LIMIT_MS ms)"
  fi
  if s_wait "backend $bpid to exit" 5 backend_gone "$bpid"; then
    s_ok "$name: backend $bpid is gone"
  else
    s_fail "$name: backend $bpid is gone" "$(ps -o pid,stat,etime,cmd -p "$bpid" || true)"
  fi
}
terminate hang
terminate retry

# a new session works
if [ "$(s_psql -At -c "$Q_AFTER" 2>&1)" = "$EXPECTED_AFTER" ]; then
  s_ok "a new session answers the fan-out query after the terminations"
else
  s_fail "a new session answers the fan-out query after the terminations"
fi

# ---- 6. nothing left behind ---------------------------------------------------------------------
only_a() { [ -z "$(backend_conns | awk -v a="$A_PID" '$1 != a')" ]; }
if s_wait "backends other than session A to close their sockets" 5 only_a; then
  s_ok "no backend but session A holds a connection to the fake or the blackhole"
else
  s_fail "no backend but session A holds a connection to the fake or the blackhole" "$(backend_conns)"
fi
s_fake main reset >/dev/null
a_send '\q'
s_wait "session A to quit" 10 bash -c "! kill -0 $A_PSQL 2>/dev/null" || true
if s_wait "every backend socket to close" 5 bash -c "[ -z \"\$(python3 '$S_LIB_DIR/conns.py' $FPORT $BHPORT | awk '\$2 == \"postgres\"')\" ]"; then
  s_ok "after session A quits, no backend holds a connection to the fake or the blackhole"
else
  s_fail "after session A quits, no backend holds a connection" "$(backend_conns)"
fi
crash=$(tail -c +$((LOG_OFFSET + 1)) "$COMET_PG_LOG" | grep -iE 'PANIC|was terminated by signal|TRAP:' || true)
if [ -n "$crash" ]; then
  s_fail "the server log shows no crash" "$(printf '%s\n' "$crash" | tail -n 5)"
else
  s_ok "the server log shows no crash"
fi

echo "   cancel latencies (time from cancel/timeout/SIGINT/terminate to the statement's end):"
printf '     %s\n' "${SUMMARY[@]}"
s_done
