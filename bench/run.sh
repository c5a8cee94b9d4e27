#!/usr/bin/env bash
# The comet_fdw benchmark: bash bench/run.sh [--quick] [--no-build] [options]
#
# Starts a throwaway PostgreSQL 15 cluster and a fake Comet server with an added latency per
# request, then measures side by side (see bench/README.md):
#   (a) SELECT * FROM comet.params WHERE project_name = ...        cold
#   (b) every metric point of that project from comet.metrics      cold
#   (c) (a) again, warm cache
#   (d) the same requests made one at a time by a sequential Python client
#   (e) the ideal: ceil(requests / max_concurrency) x latency
# and prints a table (also written to bench/out/results-<date>.txt), the decoding rate, the
# backend's peak memory, and each target with PASS/MISS.  It is a benchmark, not a test: a
# missed target does not fail the run; the exit status is non-zero only when something broke.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash bench/run.sh [options]

  --quick              small dataset (40 experiments x 5 metrics x 250 points), < 1 minute
  --no-build           use the installed comet_fdw as is (no make / make install)
  --latency-ms N       added latency per request of the fake            (BENCH_LATENCY_MS, 20)
  --experiments N      experiments in the project                        (BENCH_EXPERIMENTS, 200)
  --metrics N          metrics per experiment                            (BENCH_METRICS, 5)
  --points N           points per metric                                 (BENCH_POINTS, 1000)
  --params N           parameters per experiment                         (BENCH_PARAMS, 20)
  --concurrency N      the server's max_concurrency                      (BENCH_CONCURRENCY, 8)
  --warm-runs N        repetitions of the warm-cache measurements        (BENCH_WARM_RUNS, 5)
  --cold-runs N        repetitions of (a) cold, each in a fresh backend  (BENCH_COLD_RUNS, 3)
  --plain-fake         serve with test/fake_comet.py itself (no answer memo, no TCP_NODELAY):
                       mostly measures the fake (BENCH_PLAIN_FAKE=1)
  --keep               keep the temp dir (server log, fake log, request lists) (KEEP_TMP=1)
EOF
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=test/lib.sh
. test/lib.sh

build=1
quick=0
LAT=${BENCH_LATENCY_MS:-}
EXPS=${BENCH_EXPERIMENTS:-}
METRICS=${BENCH_METRICS:-}
POINTS=${BENCH_POINTS:-}
PARAMS=${BENCH_PARAMS:-}
CONC=${BENCH_CONCURRENCY:-8}
WARM=${BENCH_WARM_RUNS:-5}
COLD=${BENCH_COLD_RUNS:-3}
PLAIN=${BENCH_PLAIN_FAKE:-0}

need_num() {
  case "${2:-}" in ''|*[!0-9]*) echo "bench/run.sh: $1 needs a number" >&2; exit 2 ;; esac
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --latency-ms) need_num "$1" "${2:-}"; LAT=$2; shift ;;
    --experiments) need_num "$1" "${2:-}"; EXPS=$2; shift ;;
    --metrics) need_num "$1" "${2:-}"; METRICS=$2; shift ;;
    --points) need_num "$1" "${2:-}"; POINTS=$2; shift ;;
    --params) need_num "$1" "${2:-}"; PARAMS=$2; shift ;;
    --concurrency) need_num "$1" "${2:-}"; CONC=$2; shift ;;
    --warm-runs) need_num "$1" "${2:-}"; WARM=$2; shift ;;
    --cold-runs) need_num "$1" "${2:-}"; COLD=$2; shift ;;
    --plain-fake) PLAIN=1 ;;
    --keep) export KEEP_TMP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

if [ "$quick" -eq 1 ]; then
  : "${LAT:=20}" "${EXPS:=40}" "${METRICS:=5}" "${POINTS:=250}" "${PARAMS:=20}"
  [ "$WARM" -gt 3 ] && WARM=3
else
  : "${LAT:=20}" "${EXPS:=200}" "${METRICS:=5}" "${POINTS:=1000}" "${PARAMS:=20}"
fi
for v in LAT EXPS METRICS POINTS PARAMS CONC WARM COLD; do need_num "$v" "${!v}"; done
[ "$CONC" -ge 1 ] || { echo "bench/run.sh: --concurrency must be >= 1" >&2; exit 2; }
[ "$EXPS" -ge 1 ] || { echo "bench/run.sh: --experiments must be >= 1" >&2; exit 2; }

# bench/fake_server.py in the background, through test/lib.sh (so comet_stop_all stops it);
# big datasets take a while to generate
bench_start_fake() {
  COMET_FAKE_PROGRAM=$COMET_ROOT/bench/fake_server.py COMET_FAKE_WAIT_S=60 comet_start_fake "$@"
}

started=$(date +%s)
comet_trap_cleanup
comet_install_deps
if [ "$build" -eq 1 ]; then
  comet_build || { _comet_err "build failed (bash bench/run.sh --no-build uses the installed comet_fdw)"; exit 1; }
else
  _comet_pg_env
  [ -f "$("$COMET_PG_CONFIG" --sharedir)/extension/comet_fdw.control" ] ||
    { _comet_err "comet_fdw is not installed: run without --no-build"; exit 1; }
fi
comet_start_cluster

fake_args=(--seed 42 --api-key "$COMET_TEST_KEY" --quiet --workspaces 1 --projects 1
           --experiments "$EXPS" --params "$PARAMS" --metrics "$METRICS" --points "$POINTS"
           --latency-ms "$LAT")
if [ "$PLAIN" = 1 ]; then
  comet_start_fake bench "${fake_args[@]}"
  BENCH_FAKE_KIND="test/fake_comet.py (plain)"
else
  bench_start_fake bench "${fake_args[@]}"
  BENCH_FAKE_KIND="bench/fake_server.py (memoized answers, TCP_NODELAY)"
fi

suffix=""
[ "$quick" -eq 1 ] && suffix=-quick
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p "$COMET_TMP/bench" bench/out
chmod 777 "$COMET_TMP/bench"
# shellcheck disable=SC2154  # set by comet_start_fake / bench_start_fake
export FAKE_ROOT=$FAKE_ROOT_bench FAKE_URL=$FAKE_URL_bench FAKE_PID=$FAKE_PID_bench \
       BENCH_WORK=$COMET_TMP/bench BENCH_LATENCY_MS=$LAT BENCH_CONCURRENCY=$CONC \
       BENCH_EXPERIMENTS=$EXPS BENCH_METRICS=$METRICS BENCH_POINTS=$POINTS BENCH_PARAMS=$PARAMS \
       BENCH_WARM_RUNS=$WARM BENCH_COLD_RUNS=$COLD BENCH_FAKE_KIND \
       BENCH_OUT=$PWD/bench/out/results-$stamp$suffix.txt
echo
python3 bench/bench.py run
_comet_log "done in $(( $(date +%s) - started )) s (cluster, fake and measurements)"
