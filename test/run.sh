#!/usr/bin/env bash
# The test command: bash test/run.sh [TEST...]
#
# Installs what is missing, builds with -Werror, starts a throwaway PostgreSQL 15 cluster and three
# fake Comet servers (generated, recorded, and one for the write tests), then runs: the fake's own
# unit tests (test/test_fake_comet.py), the pg_regress suite (make installcheck), and every
# test/suites/*.sh. The last line is
# "N passed, M failed"; the exit status is 0 only when nothing failed.
#
# With arguments, runs only those: a name with sql/NAME.sql is a regression test, a name with
# test/suites/NAME.sh a suite.  KEEP_TMP=1 keeps the temp dir (server log, fake logs).
# COMET_PG_CONFIG=/path/to/pg_config builds, installs and tests against another PostgreSQL
# (test/matrix.sh does this for 17 and 18); COMET_SKIP_SUITES="a b" leaves those suites out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=test/lib.sh
. test/lib.sh

passed=0
failed=0
failures=()

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); }

summary() {
  echo
  if [ "${#failures[@]}" -gt 0 ]; then
    echo "Failed: ${failures[*]}"
  fi
  echo "$passed passed, $failed failed"
}

# A setup step that fails ends the run, still with a summary line.
setup_failed() {
  fail "$1"
  summary
  exit 1
}

# ---- which tests -----------------------------------------------------------------------------
regress=()
suites=()
run_unit=1
if [ "$#" -gt 0 ]; then
  run_unit=0
  for t in "$@"; do
    if [ -f "sql/$t.sql" ]; then
      regress+=("$t")
    elif [ -f "test/suites/$t.sh" ]; then
      suites+=("test/suites/$t.sh")
    else
      echo "unknown test '$t': no sql/$t.sql nor test/suites/$t.sh" >&2
      exit 2
    fi
  done
else
  if [ -d test/suites ]; then
    for s in test/suites/*.sh; do
      # COMET_SKIP_SUITES: names left out of a whole run (test/matrix.sh skips fuzz)
      case " ${COMET_SKIP_SUITES:-} " in *" $(basename "$s" .sh) "*) continue ;; esac
      [ -f "$s" ] && suites+=("$s")
    done
  fi
fi
# run the regression suite when no argument was given, or when some argument named a regression test
run_regress=0
if [ "$#" -eq 0 ] || [ "${#regress[@]}" -gt 0 ]; then run_regress=1; fi

comet_trap_cleanup
comet_install_deps || setup_failed "install-deps"

# ---- the fake's own unit tests ---------------------------------------------------------------
if [ "$run_unit" -eq 1 ] && [ -f test/test_fake_comet.py ]; then
  echo "==> unit tests of the fake Comet (test/test_fake_comet.py)"
  if python3 -m unittest discover -s test -p 'test_fake_comet.py'; then
    pass
  else
    fail "test_fake_comet.py"
  fi
fi

# ---- build, cluster, fakes -------------------------------------------------------------------
comet_build WERROR=1 || setup_failed "build"
comet_start_cluster || setup_failed "cluster"
comet_start_fake main --seed 42 --api-key "$COMET_TEST_KEY" --quiet || setup_failed "fake-main"
if [ ! -d test/fixtures/recorded ]; then
  echo "test/fixtures/recorded is missing" >&2
  setup_failed "fake-recorded"
fi
comet_start_fake recorded --seed 42 --api-key "$COMET_TEST_KEY" --quiet \
  --recorded "$COMET_ROOT/test/fixtures/recorded" || setup_failed "fake-recorded"
# the write tests change their fake's dataset: never the one the read suites compare with
comet_start_fake write --seed 42 --api-key "$COMET_TEST_KEY" --quiet || setup_failed "fake-write"

# FAKE_* are set by comet_start_fake (declare -g)
# shellcheck disable=SC2154
export COMET_URL=$FAKE_URL_main COMET_FAKE=$FAKE_ROOT_main
# shellcheck disable=SC2154
export COMET_RECORDED_URL=$FAKE_URL_recorded COMET_RECORDED_FAKE=$FAKE_ROOT_recorded
# shellcheck disable=SC2154
export COMET_WRITE_URL=$FAKE_URL_write COMET_WRITE_FAKE=$FAKE_ROOT_write
export COMET_TEST_KEY COMET_PG_LOG COMET_KEY_HOME

# ---- pg_regress ------------------------------------------------------------------------------
if [ "$run_regress" -eq 1 ]; then
  out=$COMET_TMP/installcheck.out
  rm -f regression.diffs regression.out
  make_args=(installcheck PG_CONFIG="$COMET_PG_CONFIG")
  [ "${#regress[@]}" -gt 0 ] && make_args+=(REGRESS="${regress[*]}")
  echo "==> make ${make_args[*]}"
  set +e
  make "${make_args[@]}" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  set -e
  # pg_regress 15: "test NAME  ... ok  12 ms", "     NAME  ... FAILED  12 ms" (parallel groups),
  # "... failed (ignored)"; TAP lines ("ok 1 - NAME", "not ok 1 - NAME") from later versions.
  n_ok=$(grep -cE '^ *(test +)?[^ ]+ +\.\.\. +(ok|failed \(ignored\))( |$)|^ok [0-9]+ ' "$out" || true)
  n_bad=$(grep -cE '^ *(test +)?[^ ]+ +\.\.\. +FAILED( |$)|^not ok [0-9]+ ' "$out" || true)
  passed=$((passed + n_ok))
  failed=$((failed + n_bad))
  if [ "$n_bad" -gt 0 ]; then
    failures+=("$(grep -E '^ *(test +)?[^ ]+ +\.\.\. +FAILED|^not ok [0-9]+ ' "$out" |
                  sed -E 's/^ *(test +)?([^ ]+) +\.\.\..*/\2/; s/^not ok [0-9]+ +- +([^ ]+).*/\1/' | paste -sd' ')")
  fi
  if [ "$rc" -ne 0 ] && [ "$n_bad" -eq 0 ]; then
    fail "installcheck (make exited $rc)"
  elif [ "$rc" -eq 0 ] && [ $((n_ok + n_bad)) -eq 0 ]; then
    fail "installcheck (no regression test ran)"
  fi
  if [ "$rc" -ne 0 ]; then
    if [ -f regression.diffs ]; then
      total=$(wc -l <regression.diffs)
      echo
      echo "==> regression.diffs"
      head -n 400 regression.diffs
      if [ "$total" -gt 400 ]; then
        echo "... ($((total - 400)) more lines; full file: $PWD/regression.diffs)"
      fi
    fi
    echo
    echo "==> last lines of the server log ($COMET_PG_LOG)"
    tail -n 40 "$COMET_PG_LOG" || true
    [ "${KEEP_TMP:-0}" = 1 ] || echo "(KEEP_TMP=1 keeps $COMET_TMP: server log and fake logs)"
  fi
fi

# ---- optional suites -------------------------------------------------------------------------
for s in "${suites[@]}"; do
  name=$(basename "$s" .sh)
  echo "==> suite $name ($s)"
  if [ -x "$s" ]; then cmd=("$s"); else cmd=(bash "$s"); fi
  if "${cmd[@]}"; then
    echo "suite $name ... ok"
    pass
  else
    echo "suite $name ... FAILED"
    fail "suite:$name"
  fi
done

summary
[ "$failed" -eq 0 ]
