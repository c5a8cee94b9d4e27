# shellcheck shell=bash disable=SC2034
# (SC2034: RL_FULL is read by the suites that source this file)
# tools/reliability_lib.sh: shared by the long-run reliability suites (test/suites/load.sh,
# test/suites/leak.sh). Source it, don't run it.
#
#   rl_init "$@"     parses --full / --short (or FULL=1): sets RL_FULL=1 for the full form of the
#                    issue, 0 for the short CI form (the default, and what test/run.sh runs)
#   rl_env           uses the cluster of test/run.sh when its environment is there (PGHOST,
#                    COMET_TMP), otherwise starts a throwaway one through test/lib.sh (the extension
#                    must be installed: make && make install); always starts a fake Comet of its
#                    own (COMET_URL, COMET_FAKE), stopped at exit, so fault rules and request
#                    counts never mix with another test's
#   rl_on_exit CMD   runs CMD (a string, eval'd) at exit, before the cluster we started stops
#   rl_fake PATH     GET $COMET_FAKE/_fake/PATH (control API of the fake), prints the answer
#   rl_psql ...      psql -X -At -v ON_ERROR_STOP=1 with the given arguments
#   rl_createdb NAME a database of our own, dropped at exit
#   rl_secs          seconds since rl_init, with one decimal

RL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RL_FULL=0        # read by the suites that source this file
RL_OWN_ENV=0
_RL_EXIT=()

rl_log() { printf '%s\n' "$*"; }
rl_err() { printf 'ERROR: %s\n' "$*" >&2; }

rl_init() {
  local a
  case "${FULL:-0}" in 1|true|yes) RL_FULL=1 ;; esac
  for a in "$@"; do
    case "$a" in
      --full) RL_FULL=1 ;;
      --short) RL_FULL=0 ;;
      -h|--help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      *) rl_err "unknown argument: $a (use --full or --short)"; exit 2 ;;
    esac
  done
  _RL_T0=$(date +%s.%N)
  trap _rl_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

rl_secs() { awk -v a="$_RL_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

rl_on_exit() { _RL_EXIT+=("$1"); }

_rl_exit() {
  local rc=$? i
  set +e
  # after a backend crash the cluster recovers (pg_isready: 1 = rejecting connections): let it,
  # so that our cleanup works and the next test finds it up
  for ((i = 0; i < 150; i++)); do
    pg_isready -q >/dev/null 2>&1
    [ $? -eq 1 ] || break
    sleep 0.2
  done
  for ((i = ${#_RL_EXIT[@]} - 1; i >= 0; i--)); do
    eval "${_RL_EXIT[$i]}" >/dev/null 2>&1
  done
  if [ "$RL_OWN_ENV" = 1 ]; then
    comet_stop_all
  fi
  exit "$rc"
}

rl_env() {
  # PostgreSQL 15's programs (pgbench, psql) first on PATH
  local bindir name
  bindir=${COMET_PG_BIN:-}
  if [ -z "$bindir" ]; then
    if [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
      bindir=$(/usr/lib/postgresql/15/bin/pg_config --bindir)
    elif command -v pg_config >/dev/null 2>&1; then
      bindir=$(pg_config --bindir)
    fi
  fi
  [ -n "$bindir" ] && PATH=$bindir:$PATH
  export PATH
  # test/lib.sh only defines functions and defaults (COMET_ROOT, COMET_TEST_KEY)
  # shellcheck source=test/lib.sh
  . "$RL_ROOT/test/lib.sh"
  if [ -z "${PGHOST:-}" ] || [ -z "${COMET_TMP:-}" ] || ! psql -X -Atq -c 'SELECT 1' postgres >/dev/null 2>&1; then
    # standalone: our own throwaway cluster (stopped and removed at exit)
    RL_OWN_ENV=1
    comet_start_cluster || exit 1
  fi
  # our own fake Comet, so its fault rules and request counts are ours alone
  name=rl$$
  rl_on_exit "_rl_stop_fake $name"
  comet_start_fake "$name" --seed 42 --api-key "$COMET_TEST_KEY" --quiet || exit 1
  local urlvar=FAKE_URL_$name rootvar=FAKE_ROOT_$name
  export COMET_URL=${!urlvar} COMET_FAKE=${!rootvar}
  export COMET_TEST_KEY
  # the backends' libcurl and our curl talk to the fake directly
  local np=${no_proxy:-${NO_PROXY:-}}
  case ",$np," in *",127.0.0.1,"*) ;; *) np=${np:+$np,}127.0.0.1,localhost ;; esac
  export no_proxy=$np NO_PROXY=$np
}

_rl_stop_fake() {
  local pidvar=FAKE_PID_$1 i pid
  pid=${!pidvar:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "$pidvar"
  rm -f "$COMET_TMP/fake-$1.port" "$COMET_TMP/fake-$1.log"
}

rl_fake() {
  curl -sS --max-time 30 "$COMET_FAKE/_fake/$1"
}

rl_psql() {
  psql -X -At -q -v ON_ERROR_STOP=1 "$@"
}

rl_createdb() {
  local db=$1
  dropdb --if-exists --force "$db" >/dev/null 2>&1 || true
  createdb "$db" || { rl_err "createdb $db failed"; exit 1; }
  rl_on_exit "dropdb --if-exists --force $(printf %q "$db")"
}

# The server, user mapping and foreign tables of sql/setup.sql, in schema SCHEMA, on server
# SERVER with extra OPTIONS (a string like "cache_ttl_s '0'").
rl_setup_fdw_sql() {
  local server=$1 schema=$2 options=$3
  cat <<SQL
CREATE EXTENSION IF NOT EXISTS comet_fdw;
\\getenv comet_url COMET_URL
\\getenv comet_key COMET_TEST_KEY
CREATE SERVER $server FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'comet_url'${options:+, $options});
CREATE USER MAPPING FOR CURRENT_USER SERVER $server OPTIONS (api_key :'comet_key');
CREATE SCHEMA $schema;
IMPORT FOREIGN SCHEMA comet FROM SERVER $server INTO $schema;
SELECT comet_fdw_create_views('$schema');
SQL
}
