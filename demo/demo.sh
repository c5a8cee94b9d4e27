#!/usr/bin/env bash
# Quick start: bash demo/demo.sh
#
# Builds and installs comet_fdw into the system PostgreSQL 15 (Debian's packages, installed when
# missing), starts a throwaway cluster and runs demo/tour.sql against:
#   COMET_API_KEY set:  your real Comet account (COMET_URL, default https://www.comet.com/api/rest/v2).
#                       The key is never printed nor put on a command line.
#   otherwise:          a fake Comet (test/fake_comet.py) on 127.0.0.1 serving a small ML team's
#                       account; DEMO_DATASET=empty serves a new, empty account instead.
# DEMO_KEEP=1 leaves the cluster (and the fake) running and prints how to connect and stop.
# The build's output goes to a log, shown only when something fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=test/lib.sh
. test/lib.sh

LOG=$(mktemp "${TMPDIR:-/tmp}/comet_fdw-demo.XXXXXX.log")
T0=$(date +%s)
say() { printf '%s\n' "$*"; }
# step DESCRIPTION CMD...: CMD's output goes to the log; on failure the log is shown
step() {
  local what=$1
  shift
  if "$@" >>"$LOG" 2>&1; then
    return 0
  fi
  say "FAILED: $what. Its output ($LOG):"
  sed 's/^/  | /' "$LOG" | tail -n 60
  exit 1
}

comet_trap_cleanup
say "comet_fdw demo"
for p in "${COMET_DEPS[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii'; then
    say "  installing PostgreSQL 15 and the build tools from Debian's archive (a few minutes the first time)"
    break
  fi
done
step "installing the Debian packages" comet_install_deps
step "building comet_fdw (make)" comet_build
say "  built comet_fdw and installed it into PostgreSQL 15 ($("$COMET_PG_CONFIG" --pkglibdir)/comet_fdw.so)"
step "starting a throwaway PostgreSQL cluster" comet_start_cluster
say "  started a throwaway PostgreSQL 15 cluster on port $PGPORT"

if [ -n "${COMET_API_KEY:-}" ]; then
  COMET_DEMO_URL=${COMET_URL:-https://www.comet.com/api/rest/v2}
  COMET_DEMO_KEY=$COMET_API_KEY
  say "  using your Comet account at $COMET_DEMO_URL (API key from COMET_API_KEY)"
else
  dataset=${DEMO_DATASET:-demo}
  case $dataset in demo|empty) ;; *) say "DEMO_DATASET must be demo or empty, not '$dataset'"; exit 2 ;; esac
  step "starting the fake Comet" comet_start_fake demo --dataset "$dataset" --api-key "$COMET_TEST_KEY" --quiet
  # shellcheck disable=SC2154  # set by comet_start_fake
  COMET_DEMO_URL=$FAKE_URL_demo
  COMET_DEMO_KEY=$COMET_TEST_KEY
  if [ "$dataset" = empty ]; then
    say "  started a fake Comet serving a new, empty account (no COMET_API_KEY given)"
  else
    say "  started a fake Comet serving a small ML team's account (no COMET_API_KEY given)"
  fi
fi
rm -f "$LOG"
say "  ready in $(($(date +%s) - T0)) s"
say

NEXT=$COMET_TMP/next.sql
# url and key reach psql through its environment (read with \getenv), never its command line
set +e
COMET_DEMO_URL=$COMET_DEMO_URL COMET_DEMO_KEY=$COMET_DEMO_KEY COMET_DEMO_NEXT=$NEXT \
  psql -X -v ON_ERROR_STOP=1 -f demo/tour.sql
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  say
  say "The tour stopped at the error above (psql exit code $rc)."
  [ -n "${COMET_API_KEY:-}" ] && say "Check COMET_API_KEY and COMET_URL; the README's Troubleshooting section lists every error and its fix."
  exit "$rc"
fi

say
say "== What next"
say
say "Three queries to try:"
say
if [ -s "$NEXT" ]; then
  sed 's/^/  /' "$NEXT"
else
  say "  SELECT workspace_name FROM comet.workspaces;"
  say
  say "  SELECT project_name, num_experiments FROM comet.projects;"
  say
  say "  SELECT experiment_name, start_time FROM comet.experiments"
  say "   WHERE workspace_name = '...' AND project_name = '...';"
fi
say
if [ "${DEMO_KEEP:-0}" = 1 ]; then
  comet_write_stop_script "$COMET_TMP/stop.sh"
  trap - EXIT INT TERM
  say "The cluster is still running (DEMO_KEEP=1). Connect with:"
  say
  say "  $COMET_PG_BIN/psql \"host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE\""
  say
  if [ -z "${COMET_API_KEY:-}" ]; then
    say "  (server \"comet\" reads the fake Comet at $COMET_DEMO_URL, API key $COMET_DEMO_KEY)"
    say
  fi
  say "Stop it all (cluster, fake Comet, temp dir) with:  bash $COMET_TMP/stop.sh"
else
  say "Keep the cluster running to try them:  DEMO_KEEP=1 bash demo/demo.sh"
fi
if [ -z "${COMET_API_KEY:-}" ]; then
  say "Tour your own account (its key: Comet > your avatar > Account settings > API keys):"
  say "  COMET_API_KEY=your-key bash demo/demo.sh"
fi
say "Set it up in your own database: README.md, \"Using it\"."
