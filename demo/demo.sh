#!/usr/bin/env bash
# Quick start: bash demo/demo.sh
#
# Builds and installs comet_fdw, starts a throwaway PostgreSQL 15 cluster and runs demo/tour.sql.
#   COMET_API_KEY set:  the tour reads your real Comet workspace (COMET_URL, default
#                       https://www.comet.com/api/rest/v2). The key is never printed.
#   otherwise:          a fake Comet (test/fake_comet.py) on 127.0.0.1 with a small sample dataset.
# DEMO_KEEP=1 leaves the cluster (and fake) running and prints how to connect and how to stop.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=test/lib.sh
. test/lib.sh

comet_trap_cleanup
comet_install_deps
comet_build
comet_start_cluster

if [ -n "${COMET_API_KEY:-}" ]; then
  COMET_DEMO_URL=${COMET_URL:-https://www.comet.com/api/rest/v2}
  COMET_DEMO_KEY=$COMET_API_KEY
  echo "==> using Comet at $COMET_DEMO_URL (API key from COMET_API_KEY)"
else
  knobs=()
  for kv in workspaces=2 projects=2 experiments=5 metrics=3 points=20; do
    if comet_fake_has_option "--${kv%%=*}"; then knobs+=("--${kv%%=*}" "${kv#*=}"); fi
  done
  comet_start_fake demo --seed 7 --api-key "$COMET_TEST_KEY" --quiet "${knobs[@]}"
  # shellcheck disable=SC2154  # set by comet_start_fake
  COMET_DEMO_URL=$FAKE_URL_demo
  COMET_DEMO_KEY=$COMET_TEST_KEY
  echo "==> no COMET_API_KEY: using a fake Comet with sample data at $COMET_DEMO_URL"
fi

echo
# url and key reach psql through its environment (read with \getenv), never its command line
COMET_DEMO_URL=$COMET_DEMO_URL COMET_DEMO_KEY=$COMET_DEMO_KEY \
  psql -X -v ON_ERROR_STOP=1 -P pager=off -f demo/tour.sql
unset COMET_DEMO_KEY

if [ "${DEMO_KEEP:-0}" = 1 ]; then
  comet_write_stop_script "$COMET_TMP/stop.sh"
  trap - EXIT INT TERM
  cat <<TXT

The demo cluster is still running (DEMO_KEEP=1). Connect with:
  PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER PGDATABASE=$PGDATABASE $COMET_PG_BIN/psql
  and try: SELECT * FROM comet.experiments LIMIT 5;
Stop everything (cluster, fake Comet, temp dir) with:
  bash $COMET_TMP/stop.sh
TXT
fi
