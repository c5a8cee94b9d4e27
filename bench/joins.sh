#!/usr/bin/env bash
# The join benchmark: bash bench/joins.sh [--no-build] [--latency-ms N] [--experiments N]
#
# Natural SQL against its direct form, side by side in one run: a fake Comet with --latency-ms
# (50) per request, one project of --experiments (64) experiments, max_concurrency 8, the cache
# off between statements.  Each query runs in a fresh backend; the table gives wall time and
# the requests the fake counted, for the natural form and for its direct form, and the targets
# of issue 9: within 1.5x the time and 2 requests of the direct form, and no request outside the
# project the query names.  A benchmark, not a test: a missed target says MISS; the exit status
# is non-zero only when something broke.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=test/lib.sh
. test/lib.sh

build=1
LAT=${BENCH_LATENCY_MS:-50}
EXPS=${BENCH_EXPERIMENTS:-64}
while [ "$#" -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --latency-ms) LAT=$2; shift ;;
    --experiments) EXPS=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/joins.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

comet_trap_cleanup
comet_install_deps
if [ "$build" -eq 1 ]; then comet_build; else _comet_pg_env; fi
comet_start_cluster
# one project of EXPS experiments (the one the queries name), and a second project the queries
# must never touch
comet_start_fake bench --seed 42 --api-key "$COMET_TEST_KEY" --quiet --workspaces 1 --projects 2 \
  --experiments "$EXPS" --params 8 --metrics 3 --points 20 --latency-ms "$LAT"
# shellcheck disable=SC2154
export FAKE_ROOT=$FAKE_ROOT_bench FAKE_URL=$FAKE_URL_bench BENCH_LATENCY_MS=$LAT BENCH_EXPERIMENTS=$EXPS
psql -X -q -v ON_ERROR_STOP=1 -v url="$FAKE_URL" -v key="$COMET_TEST_KEY" >/dev/null <<'SQL'
CREATE EXTENSION comet_fdw;
CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'url', cache_ttl_s '0', max_concurrency '8');
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'key');
CREATE SCHEMA comet;
IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;
SELECT comet_fdw_create_views('comet');
SQL
python3 bench/joins.py
