#!/usr/bin/env bash
# shellcheck disable=SC2154  # S_FAKE_* are set by s_start_fake (printf -v)
# test/suites/demo.sh: the quick start as a new user meets it.  demo/demo.sh runs as the README
# says (its own cluster and fake; the build and install it does are no-ops after test/run.sh's),
# in a clean environment, against:
#   - the demo dataset, with DEMO_KEEP=1: exit 0, no compiler line, no psql noise, the tour's
#     steps, the closing "what next"; its psql line connects, its three queries answer, and its
#     stop script stops everything;
#   - an empty account (DEMO_DATASET=empty): exit 0 with the friendly message and the closing text;
#   - a "real" account (COMET_API_KEY and COMET_URL, here a fake): the key is never printed.
# And demo/tour.sql alone, on this run's cluster, against accounts with no workspace and with
# experiments that logged no metric, parameter or tag: exit 0, each step says what is missing.
# test/run.sh holds /tmp/comet-test.lock around all of this; nothing here takes it again.
set -euo pipefail
# shellcheck source=test/suites/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
s_init demo

# the environment of a new user's shell: none of test/run.sh's variables (PGHOST, COMET_TMP, ...)
demo_run() {
  local out=$1
  shift
  local t0 rc
  t0=$(s_now_ms)
  set +e
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="${HOME:-/root}" \
    LANG=C.UTF-8 COMET_TMPDIR="$S_DIR" TMPDIR="$S_DIR" "$@" bash "$COMET_ROOT/demo/demo.sh" \
    </dev/null >"$out" 2>&1
  rc=$?
  set -e
  DEMO_MS=$(($(s_now_ms) - t0))
  return "$rc"
}

has() { grep -qF -- "$2" "$1"; }
# readme_block TEXT: the README's first ```sql block whose text contains TEXT
readme_block() {
  awk -v want="$1" '$0 == "```sql" { inb = 1; buf = ""; next }
                    inb && $0 == "```" { if (index(buf, want)) { printf "%s", buf; exit } inb = 0; next }
                    inb { buf = buf $0 "\n" }' "$COMET_ROOT/README.md"
}
lacks() { ! grep -qE -- "$2" "$1"; }
# lines a build prints: compiler and linker calls, make's chatter
compiler_lines() { grep -cE '(^|[ /])(gcc|cc|clang(-[0-9]+)?|ld) |-Wall|-fPIC|-I/usr/include|^make(\[[0-9]+\])?:' "$1" || true; }

check_common() {
  local name=$1 out=$2 n
  n=$(compiler_lines "$out")
  s_check "$name: no compiler or make line ($n)" test "$n" -eq 0
  s_check "$name: no psql settings noise" lacks "$out" 'Null display|Pager usage|Output format|Border style'
  s_check "$name: no ERROR" lacks "$out" 'ERROR'
  s_check "$name: the build log is removed after success" bash -c "! ls '$S_DIR'/comet_fdw-demo.* >/dev/null 2>&1"
  n=$(awk 'length > 200' "$out" | wc -l)
  s_check "$name: no line over 200 characters ($n)" test "$n" -eq 0
  s_check "$name: ends with what to do next" has "$out" "== What next"
  s_check "$name: says how to tour a real account" has "$out" "COMET_API_KEY=your-key bash demo/demo.sh"
  n=$(sed -n '/^Three queries to try:/,/^Keep the cluster\|^The cluster is still running/p' "$out" | grep -c '^  SELECT' || true)
  s_check "$name: three queries to try ($n)" test "$n" -eq 3
}

# ---- 1. the demo dataset, kept running ---------------------------------------------------------
OUT=$S_DIR/demo.out
if demo_run "$OUT" DEMO_KEEP=1; then s_ok "demo: exit 0 (${DEMO_MS} ms)"; else s_fail "demo: exit $?" "$(tail -n 30 "$OUT")"; fi
STOP=$(sed -nE 's/^Stop it all .*: +bash (.*stop\.sh)$/\1/p' "$OUT")
[ -n "$STOP" ] && s_on_exit "bash '$STOP'"
check_common demo "$OUT"
for step in "== 1." "== 2." "== 3." "== 4." "== 5." "== 6." "== 7." "== 8." "== 9." "== 10."; do
  s_check "demo: tour step '$step'" has "$OUT" "$step"
done
s_check "demo: the demo data (best experiment of product-images, its tag)" \
  grep -qE '^ resnet50-adamw-mixup +\| .*\| best +\|' "$OUT"
sed -n '/^== 10\./,$p' "$OUT" >"$S_DIR/stats.out"
s_check "demo: the stats are rounded" lacks "$S_DIR/stats.out" '[0-9]\.[0-9]{4,}'
s_check "demo: the stats show requests made" grep -qE '^ +[1-9][0-9]* +\| +[0-9]+ +\| +0 +\| +0 +\|' "$S_DIR/stats.out"
s_check "demo: the versions one per line" grep -qE '^ libcurl +\| [0-9.]+ *$' "$OUT"
CONN=$(sed -nE 's/^  .*psql "(host=[^"]*)"$/\1/p' "$OUT")
s_check "demo: prints a psql line for the kept cluster" test -n "$CONN"
s_check "demo: prints the fake's url and key" grep -qE "reads the fake Comet at http://127\.0\.0\.1:[0-9]+/api/rest/v2, API key $COMET_TEST_KEY" "$OUT"
if [ -n "$CONN" ]; then
  n=$(psql -X -At "$CONN" -c 'SELECT count(*) FROM comet.projects' 2>&1 || true)
  s_check "demo: the psql line connects to the kept cluster (projects: $n)" test "$n" = 3
  sed -n '/^Three queries to try:/,/^Keep the cluster\|^The cluster is still running/p' "$OUT" |
    sed -n 's/^  //p' | grep -v '^psql\|^/' >"$S_DIR/next.sql"
  i=0
  while IFS= read -r -d ';' qry; do
    [ -n "$(tr -d '[:space:]' <<<"$qry")" ] || continue
    i=$((i + 1))
    rows=$(psql -X -At -v ON_ERROR_STOP=1 "$CONN" -c "$qry" 2>&1 | wc -l) || rows=error
    s_check "demo: query to try $i answers with rows ($rows)" test "$rows" != error -a "$rows" != 0
  done <"$S_DIR/next.sql"
  # the README's queries, on the demo's data: its first example, and the Grafana panel and the
  # Metabase question with their variables filled in as those tools fill them
  first=$(readme_block 'SELECT "time", experiment_key')
  keys=$(grep -oE "'[0-9a-f]{32}'" <<<"$first" | paste -sd, -)
  n=$(psql -X -At -v ON_ERROR_STOP=1 "$CONN" -c "$first" 2>&1 | wc -l)
  s_check "README: the first example answers on the demo data ($n rows)" test "$n" -eq 40
  panel=$(readme_block '-- Grafana panel:')
  panel=${panel//'$experiment'/$keys}
  panel=${panel//'$__timeFilter("time")'/\"time\" BETWEEN \'2024-03-01T00:00:00Z\' AND \'2024-04-01T00:00:00Z\'}
  n=$(psql -X -At -v ON_ERROR_STOP=1 "$CONN" -c "$panel" 2>&1 | wc -l)
  s_check "README: the Grafana panel query answers ($n rows)" test "$n" -eq 40
  question=$(readme_block '-- Metabase question:')
  question=${question//'{{workspace}}'/\$1}
  question=${question//'{{project}}'/\$2}
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" -c 'SET plan_cache_mode = force_generic_plan' \
          -c "PREPARE q(text, text) AS $question" -c "EXECUTE q('acme-ml', 'product-images')" 2>&1 || true)
  s_check "README: the Metabase question answers, as a generic plan ($(wc -l <<<"$out") rows)" \
    test "$(wc -l <<<"$out")" -eq 6 -a "$(head -n 1 <<<"$out" | cut -d'|' -f1)" = resnet50-adamw-mixup
fi
if [ -n "$STOP" ]; then
  bash "$STOP" >/dev/null 2>&1 || true
  s_check "demo: the stop script stops the cluster" bash -c "! psql -X -At '$CONN' -c 'SELECT 1' >/dev/null 2>&1"
  s_check "demo: the stop script removes the temp dir" test ! -e "$(dirname "$STOP")"
else
  s_fail "demo: prints a stop script"
fi

# ---- 2. an empty account -----------------------------------------------------------------------
OUT=$S_DIR/empty.out
if demo_run "$OUT" DEMO_DATASET=empty; then s_ok "empty account: exit 0 (${DEMO_MS} ms)"; else s_fail "empty account: exit $?" "$(tail -n 30 "$OUT")"; fi
check_common "empty account" "$OUT"
s_check "empty account: the friendly message" has "$OUT" "No project with experiments yet in 1 workspace(s): nothing more to show."
s_check "empty account: nothing left running" bash -c "! ls -d '$S_DIR'/comet_fdw.* >/dev/null 2>&1"

# ---- 3. a "real" account: the key given in COMET_API_KEY is never printed ------------------------
SECRET=real-KEY-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
s_start_fake real --dataset demo --api-key "$SECRET"
OUT=$S_DIR/real.out
if demo_run "$OUT" COMET_API_KEY="$SECRET" COMET_URL="$S_FAKE_URL_real"; then
  s_ok "COMET_API_KEY: exit 0 (${DEMO_MS} ms)"
else
  s_fail "COMET_API_KEY: exit $?" "$(tail -n 30 "$OUT")"
fi
s_check "COMET_API_KEY: tours the given url" has "$OUT" "using your Comet account at $S_FAKE_URL_real"
s_check "COMET_API_KEY: the key is never printed" bash -c "! grep -qF '${SECRET:9}' '$OUT'"
s_check "COMET_API_KEY: the tour ran" has "$OUT" "== 10."

# ---- 4. demo/tour.sql against thinner accounts, on this run's cluster ----------------------------
tour() {
  local name=$1 out=$2
  shift 2
  s_start_fake "$name" --api-key "$COMET_TEST_KEY" "$@"
  local db=${S_DB}_$name url=S_FAKE_URL_$name
  s_on_exit "psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS $db WITH (FORCE)'"
  psql -X -q -d postgres -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  COMET_DEMO_URL=${!url} COMET_DEMO_KEY=$COMET_TEST_KEY COMET_DEMO_NEXT=$S_DIR/$name.next \
    psql -X -d "$db" -v ON_ERROR_STOP=1 -f "$COMET_ROOT/demo/tour.sql" >"$out" 2>&1
}
OUT=$S_DIR/nows.out
if tour nows "$OUT" --workspaces 0; then s_ok "no workspace: exit 0"; else s_fail "no workspace: exit $?" "$(tail -n 10 "$OUT")"; fi
s_check "no workspace: says so" has "$OUT" "This API key sees no workspace"
OUT=$S_DIR/bare.out
if tour bare "$OUT" --metrics 0 --params 0 --tags 0; then s_ok "no metric, parameter or tag: exit 0"; else s_fail "no metric, parameter or tag: exit $?" "$(tail -n 10 "$OUT")"; fi
s_check "no parameter: says so" has "$OUT" "(this experiment logged no parameters)"
s_check "no metric: says so" has "$OUT" "(this experiment logged no metrics)"
s_check "no metric: the chart and comparison are skipped" has "$OUT" "== 6. and 7. (skipped"
s_check "no metric: the tour goes on to the end" has "$OUT" "== 10."
s_check "no metric: still three queries to try" test "$(grep -c '^SELECT' "$S_DIR/bare.next")" -eq 3

s_done
