#!/usr/bin/env bash
# fuzz/run.sh [seconds] — builds the libFuzzer target for comet_fdw's JSON
# decoding (src/jsonrow.c driven by src/endpoints.c) with AddressSanitizer and
# UndefinedBehaviorSanitizer, seeds a corpus from the recorded fixtures and
# from one response per endpoint of the fake Comet server, fuzzes for the
# given time (default 60 s) and prints executions and crashes.
# Exits non-zero when the fuzzer finds a crash, a leak or undefined behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${1:-${FUZZ_SECONDS:-60}}
out=fuzz/out
mkdir -p "$out" fuzz/corpus
# what an earlier run found is not this run's finding
rm -f "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*

command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)"; exit 1; }
PG_INC=$(pg_config --includedir-server)
clang -g -O1 -Wno-ignored-attributes -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$PG_INC" -Isrc $(pkg-config --cflags json-c) \
    fuzz/fuzz_jsonrow.c src/jsonrow.c src/endpoints.c \
    $(pkg-config --libs json-c) -o "$out/fuzz_jsonrow"

# numbers first: the fast paths of float_value() against strtod(), bit for bit
clang -O2 -Isrc fuzz/floatcheck.c -lm -o "$out/floatcheck"
"$out/floatcheck" 3000000

# seed corpus: the recorded responses ...
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"; [ -n "${fake_pid:-}" ] && kill "$fake_pid" 2>/dev/null || true' EXIT
rec=test/fixtures/recorded/api/rest/v2
printf 'workspaces\n' | cat - "$rec/workspaces.json" > "$corpus/rec-workspaces"
printf 'projects\n' | cat - "$rec/projects-dafb61.json" > "$corpus/rec-projects"
printf 'experiments\n' | cat - "$rec/experiments-1280bb.json" > "$corpus/rec-experiments"
printf 'project_columns\n' | cat - "$rec/project/column-names-1280bb.json" > "$corpus/rec-columns"
# ... and one response per endpoint from the fake server
portfile="$corpus/port"
python3 test/fake_comet.py --port 0 --port-file "$portfile" --seed 3 --api-key fuzz \
    --experiments 2 --points 5 --quiet >/dev/null 2>&1 &
fake_pid=$!
for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.1; done
base="http://127.0.0.1:$(cat "$portfile")"
get() { curl -sf -H 'Authorization: fuzz' "$base/api/rest/v2/$1"; }
ds=$(curl -sf "$base/_fake/dataset")
key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["experiments"][0]["experimentKey"])' <<<"$ds")
pid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["projects"][0]["projectId"])' <<<"$ds")
ws=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["workspaces"][0])' <<<"$ds")
while read -r name path; do
    { printf '%s\n' "$name"; get "$path"; } > "$corpus/fake-$name" || true
done <<EOF2
workspaces workspaces
projects projects?workspaceName=$ws
project project?projectId=$pid
experiments experiments?projectId=$pid
experiment_metadata experiment/metadata?experimentKey=$key
raw_metric_summaries experiment/metrics/summary?experimentKey=$key
raw_metrics experiment/metrics/get-metric?experimentKey=$key&metricName=loss
raw_params experiment/parameters?experimentKey=$key
raw_others experiment/log-other?experimentKey=$key
tags experiment/tags?experimentKey=$key
html experiment/html?experimentKey=$key
code experiment/code?experimentKey=$key
output experiment/output?experimentKey=$key
graph experiment/graph?experimentKey=$key
system_details experiment/system-details?experimentKey=$key
installed_packages experiment/system-details?experimentKey=$key
git_metadata experiment/git/metadata?experimentKey=$key
assets experiment/asset/list?experimentKey=$key
project_notes project/notes?projectId=$pid
project_columns project/column-names?projectId=$pid
account account-details
registry_models registry-model?workspaceName=$ws
EOF2
# a POST's answer: many experiments' series at once (parallel arrays)
{ printf 'metric_chart\n'
  curl -sf -X POST -H "Authorization: fuzz" -H 'Content-Type: application/json' \
      "$base/api/rest/v2/experiments/multi-metric-chart" \
      -d "{\"targetedExperiments\": [\"$key\"], \"metrics\": [\"loss\", \"acc\"], \"params\": [], \"independentMetrics\": true, \"fetchFull\": true}"
} > "$corpus/fake-metric_chart" || true
kill "$fake_pid" 2>/dev/null || true
fake_pid=
cp -n "$corpus"/rec-* "$corpus"/fake-* fuzz/corpus/ 2>/dev/null || true

echo "fuzz: $(ls fuzz/corpus | wc -l) seed inputs, ${secs}s"
set +e
"$out/fuzz_jsonrow" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/" -print_final_stats=1 "$corpus" fuzz/corpus >"$out/fuzz.log" 2>&1
rc=$?
set -e
execs=$(grep -a -m1 '^stat::number_of_executed_units' "$out/fuzz.log" | awk '{print $2}')
crashes=$(find "$out" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
echo "fuzz: ${execs:-0} executions in ${secs}s, $crashes crashes (exit $rc)"
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    tail -40 "$out/fuzz.log"
    exit 1
fi
