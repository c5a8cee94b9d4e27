# shellcheck shell=bash
# test/lib.sh: shared helpers for test/run.sh and demo/demo.sh (source it, don't run it).
#
# Functions (each returns non-zero on failure; all of them work under `set -euo pipefail`):
#   comet_install_deps          install the Debian packages needed to build and test (apt, sudo when not root)
#   comet_build [make args]     make -j2, then make install (sudo when not root)
#   comet_start_cluster         throwaway PostgreSQL 15 cluster; exports PGHOST PGPORT PGUSER PGDATABASE,
#                               COMET_TMP, COMET_PGDATA, COMET_PG_LOG, COMET_KEY_HOME
#   comet_start_fake NAME [args...]
#                               test/fake_comet.py in the background; sets FAKE_URL_<NAME> (REST base),
#                               FAKE_ROOT_<NAME> (control root), FAKE_PORT_<NAME>, FAKE_PID_<NAME>.
#                               Call it directly, never inside $(...): the pid must stay in this shell.
#   comet_stop_all              stop every fake and the cluster, remove $COMET_TMP (kept with KEEP_TMP=1)
#   comet_trap_cleanup          trap comet_stop_all on EXIT (and turn INT/TERM into an exit)
#
# The cluster runs as the `postgres` OS user when we are root (PostgreSQL refuses root), else as
# the calling user. The temp dir is made under /tmp (or $COMET_TMPDIR). Its postmaster gets a clean environment with HOME=$COMET_KEY_HOME, so the
# FDW's ~/.comet_rest_key fallback reads a file the tests control, never a real one.

COMET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMET_TEST_KEY=${COMET_TEST_KEY:-fake-KEY-5e3cret-0123456789}
export COMET_ROOT COMET_TEST_KEY

COMET_DEPS=(postgresql-15 postgresql-server-dev-15 libcurl4-openssl-dev libjson-c-dev
            make gcc libc6-dev pkg-config curl python3 ca-certificates openssl)

_COMET_FAKES=()          # names of the fakes started by comet_start_fake

_comet_log() { printf '==> %s\n' "$*" >&2; }
_comet_err() { printf 'ERROR: %s\n' "$*" >&2; }

_comet_is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root: directly when we are root, else through sudo.
_comet_sudo() {
  if _comet_is_root; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    _comet_err "need root for: $*  (run as root or install sudo)"
    return 1
  fi
}

comet_install_deps() {
  local p missing=() log
  if ! command -v dpkg-query >/dev/null 2>&1; then
    _comet_err "dpkg-query not found: these scripts expect Debian 12 (or install ${COMET_DEPS[*]} by hand)"
    return 1
  fi
  for p in "${COMET_DEPS[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    _comet_log "dependencies present"
    return 0
  fi
  _comet_log "installing: ${missing[*]}"
  log=$(mktemp)
  if ! _comet_sudo env DEBIAN_FRONTEND=noninteractive apt-get -q update >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    _comet_err "apt-get update failed"
    return 1
  fi
  if ! _comet_sudo env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends \
         -o Dpkg::Use-Pty=0 "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    _comet_err "apt-get install failed"
    return 1
  fi
  rm -f "$log"
}

# PG_CONFIG of PostgreSQL 15 (Debian keeps its binaries off PATH); puts its bindir first on PATH.
_comet_pg_env() {
  if [ -z "${COMET_PG_CONFIG:-}" ]; then
    if [ -n "${PG_CONFIG:-}" ]; then
      COMET_PG_CONFIG=$PG_CONFIG
    elif [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
      COMET_PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
    else
      COMET_PG_CONFIG=$(command -v pg_config) || { _comet_err "pg_config not found"; return 1; }
    fi
  fi
  COMET_PG_BIN=$("$COMET_PG_CONFIG" --bindir) || return 1
  case ":$PATH:" in *":$COMET_PG_BIN:"*) ;; *) PATH=$COMET_PG_BIN:$PATH ;; esac
  export COMET_PG_CONFIG COMET_PG_BIN PATH
}

# shellcheck disable=SC2120  # arguments are optional
comet_build() {
  local log
  _comet_pg_env || return 1
  _comet_log "building (make -j2 $*)"
  (cd "$COMET_ROOT" && make -j2 PG_CONFIG="$COMET_PG_CONFIG" "$@") || { _comet_err "make failed"; return 1; }
  _comet_log "installing the extension"
  log=$(mktemp)
  if ! (cd "$COMET_ROOT" && _comet_sudo make install PG_CONFIG="$COMET_PG_CONFIG" "$@") >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    _comet_err "make install failed"
    return 1
  fi
  rm -f "$log"
}

# Requests to the fakes on loopback must never go through a proxy (curl, python, libcurl in the backend).
_comet_no_proxy() {
  local np=${no_proxy:-${NO_PROXY:-}}
  case ",$np," in *",127.0.0.1,"*) ;; *) np=${np:+$np,}127.0.0.1,localhost,::1 ;; esac
  export no_proxy=$np NO_PROXY=$np
}

# The temp dir shared by the cluster and the fakes: 755, owned by the cluster's OS user.
_comet_ensure_tmp() {
  [ -n "${COMET_TMP:-}" ] && [ -d "$COMET_TMP" ] && return 0
  # not $TMPDIR: it may sit where the postgres user cannot go, and socket paths must stay short
  COMET_TMP=$(mktemp -d "${COMET_TMPDIR:-/tmp}/comet_fdw.XXXXXX") || return 1
  chmod 755 "$COMET_TMP"
  mkdir -p "$COMET_TMP/home"
  chmod 755 "$COMET_TMP/home"
  if _comet_is_root; then
    chown -R postgres:postgres "$COMET_TMP" || return 1
  fi
  COMET_KEY_HOME=$COMET_TMP/home
  export COMET_TMP COMET_KEY_HOME
}

# Run a PostgreSQL server program as the cluster's OS user, in a clean environment.
_comet_as_pg() {
  local v envv=(env -i "PATH=$COMET_PG_BIN:/usr/local/bin:/usr/bin:/bin" "HOME=$COMET_KEY_HOME"
                "LANG=C" "LC_ALL=C")
  # what libcurl in the backend may legitimately need (real Comet behind a proxy, custom CAs, sanitizers)
  for v in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY \
           SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    [ -n "${!v:-}" ] && envv+=("$v=${!v}")
  done
  if _comet_is_root; then
    (cd "$COMET_TMP" && runuser -u postgres -- "${envv[@]}" "$@")
  else
    (cd "$COMET_TMP" && "${envv[@]}" "$@")
  fi
}

_comet_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

comet_start_cluster() {
  local port attempt started=0
  _comet_pg_env || return 1
  _comet_no_proxy
  _comet_ensure_tmp || return 1
  COMET_PGDATA=$COMET_TMP/data
  COMET_PG_LOG=$COMET_TMP/postgres.log
  export COMET_PGDATA COMET_PG_LOG
  _comet_log "initdb in $COMET_PGDATA"
  if ! _comet_as_pg initdb -D "$COMET_PGDATA" --auth=trust -U postgres --no-sync -E UTF8 --locale=C \
         >"$COMET_TMP/initdb.log" 2>&1; then
    cat "$COMET_TMP/initdb.log" >&2
    _comet_err "initdb failed"
    return 1
  fi
  cat >>"$COMET_PGDATA/postgresql.conf" <<CONF

# comet_fdw test cluster (test/lib.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$COMET_TMP'
fsync = off
synchronous_commit = off
full_page_writes = off
lc_messages = 'C'
CONF
  for attempt in 1 2 3; do
    port=$(_comet_free_port) || return 1
    if _comet_as_pg pg_ctl -D "$COMET_PGDATA" -l "$COMET_PG_LOG" -o "-p $port" -w -t 60 start \
         >"$COMET_TMP/pg_ctl.log" 2>&1; then
      started=1
      break
    fi
    # another process may have taken the port between our probe and the bind: try another one
    grep -q 'could not bind\|Address already in use\|could not create any TCP/IP sockets' "$COMET_PG_LOG" 2>/dev/null || break
    _comet_log "port $port taken, retrying ($attempt)"
  done
  if [ "$started" -ne 1 ]; then
    cat "$COMET_TMP/pg_ctl.log" >&2
    tail -n 30 "$COMET_PG_LOG" >&2 2>/dev/null || true
    _comet_err "could not start PostgreSQL"
    return 1
  fi
  chmod a+r "$COMET_PG_LOG" 2>/dev/null || true
  unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE PGPASSWORD PGPASSFILE
  export PGHOST=$COMET_TMP PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  _comet_log "PostgreSQL up: PGHOST=$PGHOST PGPORT=$PGPORT (log $COMET_PG_LOG)"
}

# Options of test/fake_comet.py, to pass optional knobs only where the fake has them.
comet_fake_has_option() {
  python3 "$COMET_ROOT/test/fake_comet.py" --help 2>/dev/null | grep -q -- "$1\b"
}

# COMET_FAKE_PROGRAM (default test/fake_comet.py) and COMET_FAKE_WAIT_S (default 20) let the
# benchmark start its wrapper of the fake, which takes longer to generate a big dataset.
comet_start_fake() {
  local name=${1:?comet_start_fake NAME [args...]} pid port portfile fakelog root answer i
  local program=${COMET_FAKE_PROGRAM:-$COMET_ROOT/test/fake_comet.py} wait_s=${COMET_FAKE_WAIT_S:-20}
  shift
  case "$name" in *[!A-Za-z0-9_]*|'') _comet_err "bad fake name: $name"; return 1 ;; esac
  if [ ! -f "$program" ]; then
    _comet_err "$program not found"
    return 1
  fi
  _comet_no_proxy
  _comet_ensure_tmp || return 1
  portfile=$COMET_TMP/fake-$name.port
  fakelog=$COMET_TMP/fake-$name.log
  rm -f "$portfile"
  python3 "$program" --port 0 --port-file "$portfile" "$@" \
    </dev/null >"$fakelog" 2>&1 &
  pid=$!
  _COMET_FAKES+=("$name")
  declare -g "FAKE_PID_$name=$pid"
  for ((i = 0; i < wait_s * 10; i++)); do
    [ -s "$portfile" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$fakelog" >&2
      _comet_err "fake '$name' exited before it was ready"
      return 1
    fi
    sleep 0.1
  done
  if [ ! -s "$portfile" ]; then
    cat "$fakelog" >&2
    _comet_err "fake '$name' wrote no port file within $wait_s s"
    return 1
  fi
  port=$(tr -dc '0-9' <"$portfile")
  root=http://127.0.0.1:$port
  answer=$(curl -sS --max-time 5 "$root/_fake/reset" 2>&1) || true
  if [ "$(printf '%s' "$answer" | tr -d '[:space:]')" != ok ]; then
    cat "$fakelog" >&2
    _comet_err "fake '$name': $root/_fake/reset answered '$answer', expected 'ok'"
    return 1
  fi
  declare -g "FAKE_PORT_$name=$port" "FAKE_ROOT_$name=$root" "FAKE_URL_$name=$root/api/rest/v2"
  _comet_log "fake Comet '$name' up: $root/api/rest/v2 (pid $pid, log $fakelog)"
}

comet_stop_all() {
  local name pidvar pid i
  for name in "${_COMET_FAKES[@]}"; do
    pidvar=FAKE_PID_$name
    pid=${!pidvar:-}
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    unset "$pidvar"
  done
  _COMET_FAKES=()
  if [ -n "${COMET_PGDATA:-}" ] && [ -f "$COMET_PGDATA/postmaster.pid" ]; then
    _comet_as_pg pg_ctl -D "$COMET_PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      _comet_as_pg pg_ctl -D "$COMET_PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
      _comet_err "could not stop PostgreSQL in $COMET_PGDATA"
  fi
  if [ -n "${COMET_TMP:-}" ] && [ -d "$COMET_TMP" ]; then
    if [ "${KEEP_TMP:-0}" = 1 ]; then
      _comet_log "kept $COMET_TMP (KEEP_TMP=1)"
    else
      rm -rf "$COMET_TMP"
    fi
  fi
  unset COMET_TMP COMET_PGDATA
  return 0
}

comet_trap_cleanup() {
  trap comet_stop_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# A script that stops what this shell started, for when the caller leaves things running on purpose.
comet_write_stop_script() {
  local file=${1:?comet_write_stop_script FILE} name pidvar pgrun
  if _comet_is_root; then pgrun="runuser -u postgres --"; else pgrun=""; fi
  {
    echo '#!/usr/bin/env bash'
    echo '# stops the comet_fdw demo cluster and fake Comet, then removes their temp dir'
    for name in "${_COMET_FAKES[@]}"; do
      pidvar=FAKE_PID_$name
      printf 'kill %q 2>/dev/null || true\n' "${!pidvar}"
    done
    printf 'cd / && %s %q -D %q -m fast -w stop || true\n' "$pgrun" "$COMET_PG_BIN/pg_ctl" "$COMET_PGDATA"
    printf 'rm -rf %q\n' "$COMET_TMP"
  } >"$file"
  chmod 755 "$file"
}
