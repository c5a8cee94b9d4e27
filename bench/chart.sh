#!/usr/bin/env bash
# The bulk-read benchmark: bash bench/chart.sh [--no-build] [--latency-ms N] [--experiments N]
#
# Issue 12's targets side by side in one run, against bench/run.sh's dataset (one project of
# --experiments (200) experiments, 5 metrics x 1,000 points, 20 parameters), --latency-ms (20)
# per request, max_concurrency 8, the cache off between statements:
#   every metric point of the project through metric_chart vs the metrics view
#     (targets: at least 20x fewer requests and 10x less time);
#   get_experiments_with_params with one matching experiment, with and without search
#     narrowing (target: at most 5 requests);
#   the two sources of metric names (project/column-names vs each experiment's summary).
# A benchmark, not a test: a missed target says MISS; the exit status is non-zero only when
# something broke.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=test/lib.sh
. test/lib.sh

build=1
LAT=${BENCH_LATENCY_MS:-20}
EXPS=${BENCH_EXPERIMENTS:-200}
while [ "$#" -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --latency-ms) LAT=$2; shift ;;
    --experiments) EXPS=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/chart.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

comet_trap_cleanup
comet_install_deps
if [ "$build" -eq 1 ]; then comet_build; else _comet_pg_env; fi
comet_start_cluster
COMET_FAKE_PROGRAM=$COMET_ROOT/bench/fake_server.py COMET_FAKE_WAIT_S=60 \
  comet_start_fake bench --seed 42 --api-key "$COMET_TEST_KEY" --quiet --workspaces 1 --projects 1 \
  --experiments "$EXPS" --params 20 --metrics 5 --points 1000 --latency-ms "$LAT"
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
python3 bench/chart.py
