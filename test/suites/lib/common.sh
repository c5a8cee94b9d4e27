# shellcheck shell=bash
# test/suites/lib/common.sh: helpers shared by test/suites/{cancel,tls,keysafety}.sh (source it).
#
# The suites run under test/run.sh, which exports PGHOST PGPORT PGUSER, COMET_TMP, COMET_PG_LOG,
# COMET_KEY_HOME, COMET_TEST_KEY, COMET_ROOT ...  Each suite works in its own database and its
# own temp dir, starts its own fakes (so fault rules never leak into other tests), and stops
# everything it started on exit, on success as on failure.
#
#   s_init NAME                 checks the environment, makes $S_DIR, database name $S_DB, traps
#   s_ok MSG / s_fail MSG [DETAIL...] / s_check MSG CMD...
#   s_done                      prints the tally; returns non-zero when a check failed
#   s_bg PIDVAR CMD...          runs CMD in the background; its pid is stopped on exit
#   s_on_exit CMD               a cleanup command (run before the database is dropped)
#   s_createdb                  (re)creates $S_DB with the extension
#   s_psql ARGS...              psql -X -q on $S_DB, ON_ERROR_STOP
#   s_start_fake NAME ARGS...   test/fake_comet.py on 127.0.0.1 (TLS when ARGS has --tls-cert);
#                               sets S_FAKE_PORT_<NAME> S_FAKE_ROOT_<NAME> S_FAKE_URL_<NAME>
#   s_fake NAME CONTROL         curl the fake's control API, e.g. s_fake main 'fault?path=x&kind=hang'
#   s_wait DESC SECONDS CMD...  polls CMD every 50 ms until it succeeds; fails after SECONDS
#   s_now_ms                    wall clock in ms (same clock as the server's clock_timestamp())
#   s_conns PORT...             "pid comm state lport rport" of sockets to PORT owned by a process

S_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S_PASS=0
S_FAIL=0
S_FAILED=()
S_PIDS=()
S_EXIT_CMDS=()
S_FAKES=()

s_log() { printf '   %s\n' "$*"; }

s_ok() {
  S_PASS=$((S_PASS + 1))
  printf 'ok   - %s\n' "$1"
}

s_fail() {
  S_FAIL=$((S_FAIL + 1))
  S_FAILED+=("$1")
  printf 'FAIL - %s\n' "$1"
  shift
  local l
  for l in "$@"; do
    printf '%s\n' "$l" | sed 's/^/       | /'
  done
}

# s_check MSG CMD...: ok when CMD succeeds
s_check() {
  local msg=$1
  shift
  if "$@"; then s_ok "$msg"; else s_fail "$msg"; fi
}

s_now_ms() { date +%s%3N; }

s_init() {
  S_NAME=${1:?s_init NAME}
  local v
  for v in PGHOST PGPORT PGUSER COMET_TMP COMET_TEST_KEY COMET_PG_LOG COMET_KEY_HOME; do
    if [ -z "${!v:-}" ]; then
      echo "suite $S_NAME: \$$v is not set; run it through test/run.sh $S_NAME" >&2
      exit 2
    fi
  done
  COMET_ROOT=${COMET_ROOT:-$(cd "$S_LIB_DIR/../../.." && pwd)}
  if [ -x /usr/lib/postgresql/15/bin/psql ]; then
    case ":$PATH:" in *:/usr/lib/postgresql/15/bin:*) ;; *) PATH=/usr/lib/postgresql/15/bin:$PATH ;; esac
  fi
  # loopback only, never through a proxy
  export no_proxy=127.0.0.1,127.0.0.2,localhost,::1 NO_PROXY=127.0.0.1,127.0.0.2,localhost,::1
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
  S_DIR=$(mktemp -d "$COMET_TMP/suite-$S_NAME.XXXXXX")
  chmod 755 "$S_DIR"
  S_DB=comet_suite_$S_NAME
  S_T0=$(s_now_ms)
  trap s_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

s_bg() {
  local _s_bg_var=$1 _s_bg_pid
  shift
  "$@" &
  _s_bg_pid=$!
  S_PIDS+=("$_s_bg_pid")
  printf -v "$_s_bg_var" '%s' "$_s_bg_pid"
}

s_on_exit() { S_EXIT_CMDS+=("$1"); }

s_stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

s_cleanup() {
  local rc=$? pid i
  trap - EXIT
  set +e
  for ((i = ${#S_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
    eval "${S_EXIT_CMDS[$i]}" >/dev/null 2>&1
  done
  for pid in "${S_PIDS[@]}"; do
    s_stop_pid "$pid"
  done
  if [ -n "${S_DB:-}" ]; then
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $S_DB WITH (FORCE)" >/dev/null 2>&1
  fi
  if [ -n "${S_DIR:-}" ] && [ -d "$S_DIR" ]; then
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "   (kept $S_DIR)"; else rm -rf "$S_DIR"; fi
  fi
  exit "$rc"
}

s_done() {
  local secs=$(( ($(s_now_ms) - S_T0) / 1000 ))
  echo "suite $S_NAME: $S_PASS checks passed, $S_FAIL failed (${secs} s)"
  if [ "$S_FAIL" -gt 0 ]; then
    printf '  failed: %s\n' "${S_FAILED[@]}"
    return 1
  fi
  return 0
}

s_psql() { psql -X -q -v ON_ERROR_STOP=1 -d "$S_DB" "$@"; }

s_createdb() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $S_DB WITH (FORCE)" >/dev/null 2>&1
  psql -X -q -d postgres -c "CREATE DATABASE $S_DB"
  s_psql -c 'CREATE EXTENSION comet_fdw'
}

# s_start_fake NAME [fake_comet.py args]
s_start_fake() {
  local name=$1 portfile pid i port scheme=http curlopts="" cert="" a prev=""
  shift
  for a in "$@"; do
    [ "$prev" = --tls-cert ] && cert=$a
    prev=$a
  done
  # the control API of a TLS fake is our own channel, not what is under test: -k
  if [ -n "$cert" ]; then scheme=https; curlopts="-k"; fi
  portfile=$S_DIR/fake-$name.port
  rm -f "$portfile"
  s_bg pid python3 "$COMET_ROOT/test/fake_comet.py" --port 0 --port-file "$portfile" \
    --log "$S_DIR/fake-$name.requests" --quiet "$@" </dev/null >"$S_DIR/fake-$name.log" 2>&1
  for ((i = 0; i < 200; i++)); do
    [ -s "$portfile" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -s "$portfile" ]; then
    cat "$S_DIR/fake-$name.log" >&2
    echo "suite $S_NAME: fake '$name' did not start" >&2
    return 1
  fi
  port=$(tr -dc '0-9' <"$portfile")
  S_FAKES+=("$name")
  printf -v "S_FAKE_PORT_$name" '%s' "$port"
  printf -v "S_FAKE_ROOT_$name" '%s' "$scheme://127.0.0.1:$port"
  printf -v "S_FAKE_URL_$name" '%s' "$scheme://127.0.0.1:$port/api/rest/v2"
  printf -v "S_FAKE_CURL_$name" '%s' "$curlopts"
  [ "$(s_fake "$name" reset)" = ok ] || { echo "fake '$name' does not answer" >&2; return 1; }
}

# s_fake NAME CONTROL_PATH_AND_QUERY: the fake's answer on stdout
s_fake() {
  local root=S_FAKE_ROOT_$1 opts=S_FAKE_CURL_$1
  # shellcheck disable=SC2086
  curl -sS --max-time 10 ${!opts} "${!root}/_fake/$2"
}

# "<project id> <first experiment key>" of the fake's mnist project
s_mnist() {
  s_fake "$1" dataset | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = [p for p in d["projects"] if p["projectName"] == "mnist"][0]["projectId"]
ex = sorted((e for e in d["experiments"] if e["projectId"] == p), key=lambda e: e["startTimeMillis"])
print(p, ex[0]["experimentKey"])'
}

s_wait() {
  local desc=$1 secs=$2 i n
  shift 2
  n=$((secs * 20))
  for ((i = 0; i < n; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  s_log "timed out after ${secs} s waiting for: $desc"
  return 1
}

s_conns() { python3 "$S_LIB_DIR/conns.py" "$@"; }

# s_create_try: creates public.suite_try(q text) in $S_DB: runs q, returns one line
# "SQLSTATE<TAB>message<TAB>detail<TAB>hint<TAB>context" ("00000<TAB>ok" when q succeeded).
# Callable by every role (it runs as the caller).
s_create_try() {
  s_psql <<'SQL'
CREATE FUNCTION public.suite_try(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; m text; d text; h text; c text;
BEGIN
    EXECUTE q;
    RETURN '00000' || E'\tok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT,
        d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
    RETURN concat_ws(E'\t', st, translate(m, E'\t\n', '  '), translate(coalesce(d, ''), E'\t\n', '  '),
                     translate(coalesce(h, ''), E'\t\n', '  '), translate(coalesce(c, ''), E'\t\n', '  '));
END
$$;
GRANT EXECUTE ON FUNCTION public.suite_try(text) TO PUBLIC;
SQL
}

# s_try [psql args...] -- SQL: sets TRY_STATE TRY_MSG TRY_DETAIL TRY_HINT TRY_CONTEXT
s_try() {
  local sql=${!#} line
  local args=("${@:1:$#-1}")
  line=$(echo "SELECT public.suite_try(:'q');" | s_psql -At "${args[@]}" -v q="$sql" 2>&1) || true
  # shellcheck disable=SC2034  # read by the suites
  IFS=$'\t' read -r TRY_STATE TRY_MSG TRY_DETAIL TRY_HINT TRY_CONTEXT <<<"$line" || true
  # shellcheck disable=SC2034
  TRY_LINE=$line
}
