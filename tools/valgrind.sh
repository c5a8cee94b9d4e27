#!/usr/bin/env bash
# tools/valgrind.sh: the regression suite on a postmaster running under valgrind memcheck.
#
#   bash tools/valgrind.sh [TEST...]       all of the Makefile's REGRESS, or only the named tests
#   VALGRIND_OUT=DIR                       where the report and the logs with findings go
#                                          (default: a new /tmp/comet_valgrind.XXXXXX, kept)
#   VALGRIND_EXTRA="--track-origins=yes"   more valgrind options
#   KEEP_TMP=1                             keep the cluster's temp dir (every valgrind log)
#
# Uses the installed comet_fdw.so (build and install first: make && make install; PGXS builds with
# -g, so its frames have file:line). Starts a throwaway PostgreSQL 15 cluster through test/lib.sh,
# restarts its postmaster under valgrind (backends are forks of it, so valgrind follows them, one
# log per process), starts the two fake Comet servers test/run.sh starts, runs pg_regress with the
# environment test/run.sh gives it (results in the output dir, never in the source tree), stops
# everything, then reads every log.
#
# A finding is a valgrind error whose stack has a frame of comet_fdw (a function or a source file
# of src/): an invalid read/write/free, a use of uninitialised memory, a fatal signal, or a
# "definitely lost" block allocated under comet_fdw (json-c and libcurl mallocs are what matter:
# PostgreSQL's memory contexts make palloc'd memory invisible to leak checking). Errors with no
# comet_fdw frame are counted and shown apart, not judged. The last line is PASS or FAIL; the exit
# status is 1 when comet_fdw has any finding. Regression diffs are expected (timings under
# valgrind) and reported only.
#
# Slow: valgrind runs PostgreSQL 20-50 times slower; the whole suite takes minutes. Not part of
# test/run.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=test/lib.sh
. test/lib.sh

case "${1:-}" in -h|--help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
T0=$(date +%s)
VALGRIND=${VALGRIND:-valgrind}
command -v "$VALGRIND" >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 2; }
SUPP=$ROOT/tools/valgrind.supp
OUT=${VALGRIND_OUT:-$(mktemp -d /tmp/comet_valgrind.XXXXXX)}
mkdir -p "$OUT"

if [ "$#" -gt 0 ]; then
  tests=("$@")
else
  read -r -a tests < <(sed -n 's/^REGRESS *?*= *//p' Makefile | head -n 1)
fi
[ "${#tests[@]}" -gt 0 ] || { echo "no regression tests found in the Makefile" >&2; exit 2; }

_comet_pg_env
so=$("$COMET_PG_CONFIG" --pkglibdir)/comet_fdw.so
[ -f "$so" ] || { echo "$so is not installed: make && make install" >&2; exit 2; }
so_stamp=$(stat -c '%y' "$so" | cut -d. -f1)
echo "valgrind: $($VALGRIND --version) on $so ($so_stamp)"
echo "tests: ${tests[*]}"
echo "output: $OUT"

VG_PID=
stop_valgrind_postmaster() {
  if [ -n "${COMET_PGDATA:-}" ] && [ -f "$COMET_PGDATA/postmaster.pid" ]; then
    _comet_as_pg pg_ctl -D "$COMET_PGDATA" -m fast -w -t 300 stop >/dev/null 2>&1 ||
      _comet_as_pg pg_ctl -D "$COMET_PGDATA" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
  fi
  if [ -n "$VG_PID" ]; then
    wait "$VG_PID" 2>/dev/null || true
    VG_PID=
  fi
}
cleanup() {
  set +e
  stop_valgrind_postmaster
  comet_stop_all
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- cluster: initdb + config by test/lib.sh, then the postmaster again under valgrind ------------
comet_start_cluster
cat >>"$COMET_PGDATA/postgresql.conf" <<CONF

# tools/valgrind.sh: fewer processes and less shared memory under valgrind
autovacuum = off
shared_buffers = 16MB
max_connections = 20
max_wal_senders = 0
max_worker_processes = 2
log_min_messages = warning
CONF
_comet_as_pg pg_ctl -D "$COMET_PGDATA" -m fast -w -t 60 stop >/dev/null
VGLOG=$COMET_TMP/vg
mkdir -p "$VGLOG"
_comet_is_root && chown postgres:postgres "$VGLOG"
# valgrind reads the suppressions as the postgres user
cp "$SUPP" "$COMET_TMP/valgrind.supp"
chmod a+r "$COMET_TMP/valgrind.supp"
vg_opts=(--tool=memcheck --trace-children=yes --leak-check=full --show-leak-kinds=definite
         --errors-for-leak-kinds=definite --num-callers=40 --error-limit=no
         --suppressions="$COMET_TMP/valgrind.supp" --gen-suppressions=all
         --log-file="$VGLOG/vg.%p.log")
# shellcheck disable=SC2206  # words on purpose
[ -n "${VALGRIND_EXTRA:-}" ] && vg_opts+=($VALGRIND_EXTRA)
echo "starting the postmaster under valgrind (port $PGPORT)"
_comet_as_pg "$(command -v "$VALGRIND")" "${vg_opts[@]}" "$COMET_PG_BIN/postgres" -D "$COMET_PGDATA" -p "$PGPORT" \
  >>"$COMET_PG_LOG" 2>&1 </dev/null &
VG_PID=$!
for ((i = 0; i < 900; i++)); do                      # up to 180 s
  pg_isready -q -h "$PGHOST" -p "$PGPORT" && break
  kill -0 "$VG_PID" 2>/dev/null || { tail -n 30 "$COMET_PG_LOG"; echo "valgrind: FAIL (the postmaster died)"; exit 1; }
  sleep 0.2
done
pg_isready -q -h "$PGHOST" -p "$PGPORT" || { tail -n 30 "$COMET_PG_LOG"; echo "valgrind: FAIL (no postmaster after 180 s)"; exit 1; }
echo "postmaster up after $(($(date +%s) - T0)) s"

# ---- the fakes and the environment of test/run.sh -------------------------------------------------
comet_start_fake main --seed 42 --api-key "$COMET_TEST_KEY" --quiet
comet_start_fake recorded --seed 42 --api-key "$COMET_TEST_KEY" --quiet --recorded "$ROOT/test/fixtures/recorded"
# shellcheck disable=SC2154  # set by comet_start_fake
export COMET_URL=$FAKE_URL_main COMET_FAKE=$FAKE_ROOT_main
# shellcheck disable=SC2154
export COMET_RECORDED_URL=$FAKE_URL_recorded COMET_RECORDED_FAKE=$FAKE_ROOT_recorded
export COMET_TEST_KEY COMET_PG_LOG COMET_KEY_HOME COMET_ROOT

# ---- pg_regress ----------------------------------------------------------------------------------
T1=$(date +%s)
pg_regress=$("$COMET_PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress
echo "==> pg_regress ${tests[*]}"
set +e
timeout -k 30 3600 "$pg_regress" --inputdir="$ROOT" --outputdir="$OUT" --bindir="$COMET_PG_BIN" \
  --dbname=contrib_regression "${tests[@]}" >"$OUT/pg_regress.out" 2>&1
regress_rc=$?
set -e
T2=$(date +%s)
grep -E '^(test| +[^ ]+ +\.\.\.)| tests (passed|failed)|^ *(All|[0-9]+ of)' "$OUT/pg_regress.out" || cat "$OUT/pg_regress.out"
n_ok=$(grep -cE '^ *(test +)?[^ ]+ +\.\.\. +ok' "$OUT/pg_regress.out" || true)
n_bad=$(grep -cE '^ *(test +)?[^ ]+ +\.\.\. +FAILED' "$OUT/pg_regress.out" || true)

# ---- stop, so every backend has exited and run its leak check ----------------------------------
echo "stopping the postmaster (every process writes its leak check)"
stop_valgrind_postmaster
T3=$(date +%s)
crashes=$(grep -E 'terminated by signal|PANIC' "$COMET_PG_LOG" || true)
cp "$COMET_PG_LOG" "$OUT/postgres.log" 2>/dev/null || true

# ---- read the logs -------------------------------------------------------------------------------
find "$ROOT/src" -maxdepth 1 \( -name "*.c" -o -name "*.h" \) -printf "%f\n" >"$OUT/our_files"
set +e
python3 - "$VGLOG" "$OUT" <<'PY'
import collections, glob, os, re, sys

vgdir, out = sys.argv[1], sys.argv[2]
ours_files = set(open(os.path.join(out, "our_files")).read().split())
frame_re = re.compile(r"^==\d+==\s+(?:at|by) 0x[0-9A-F]+: (.*)$")
head_re = re.compile(r"^==\d+== (\S.*)$")

def ours(frame):
    """A frame of comet_fdw: in comet_fdw.so, or a function/file of src/."""
    if "comet_fdw.so" in frame:
        return True
    m = re.search(r"\(([^():]+):\d+\)$", frame)
    if m and m.group(1) in ours_files:
        return True
    fn = frame.split(" ", 1)[0]
    return bool(re.match(r"(comet|chttp_|jsonrow_|cjr_)", fn))

def kind_of(head):
    if "definitely lost" in head: return "definitely lost"
    if "indirectly lost" in head: return "indirectly lost"
    for k in ("Invalid read", "Invalid write", "Invalid free", "Mismatched free",
              "Conditional jump", "Use of uninitialised", "Syscall param",
              "Source and destination overlap", "Process terminating", "Argument 'size'"):
        if head.startswith(k): return k
    return None

findings, others = [], collections.Counter()
other_examples = {}
lost_total = collections.Counter()
nlogs = 0
for path in sorted(glob.glob(os.path.join(vgdir, "vg.*.log"))):
    nlogs += 1
    lines = open(path, errors="replace").read().splitlines()
    i = 0
    while i < len(lines):
        m = head_re.match(lines[i])
        k = kind_of(m.group(1)) if m else None
        if not k:
            i += 1
            continue
        rec = [lines[i]]
        i += 1
        while i < len(lines) and not re.match(r"^==\d+== ?$", lines[i]):
            rec.append(lines[i]); i += 1
        # the stack(s) of the record, and any "Address ... was alloc'd by" stacks after it
        while i + 1 < len(lines) and re.match(r"^==\d+==  (Address|Block|Uninitialised)", lines[i + 1]):
            i += 1
            while i < len(lines) and not re.match(r"^==\d+== ?$", lines[i]):
                rec.append(lines[i]); i += 1
        frames = [fm.group(1) for fm in map(frame_re.match, rec) if fm]
        if k == "definitely lost":
            b = re.search(r"([\d,]+) bytes", rec[0])
            lost_total["ours" if any(map(ours, frames)) else "others"] += int(b.group(1).replace(",", "")) if b else 0
        if any(map(ours, frames)):
            findings.append((os.path.basename(path), k, rec))
        else:
            sig = k + ": " + " < ".join(f.split(" (")[0] for f in frames[:4])
            others[sig] += 1
            other_examples.setdefault(sig, (os.path.basename(path), rec))

with open(os.path.join(out, "findings.txt"), "w") as f:
    for log, k, rec in findings:
        f.write("### %s (%s)\n%s\n\n" % (k, log, "\n".join(rec)))
with open(os.path.join(out, "others.txt"), "w") as f:
    for sig, n in others.most_common():
        log, rec = other_examples[sig]
        f.write("### %d x %s (first in %s)\n%s\n\n" % (n, sig, log, "\n".join(rec)))

by_kind = collections.Counter(k for _, k, _ in findings)
print("valgrind logs: %d processes" % nlogs)
print("comet_fdw findings: %d %s" % (len(findings), dict(by_kind) if by_kind else ""))
print("  definitely lost under comet_fdw: %d bytes; elsewhere: %d bytes"
      % (lost_total["ours"], lost_total["others"]))
print("errors outside comet_fdw (not judged): %d in %d kinds%s"
      % (sum(others.values()), len(others), " (see others.txt)" if others else ""))
for sig, n in others.most_common(8):
    print("  %4d  %s" % (n, sig[:150]))
seen = set()
for log, k, rec in findings:
    key = (k, tuple(l.split(": ", 1)[-1] for l in rec[1:6]))
    if key in seen:
        continue
    seen.add(key)
    print("---- %s (%s)" % (k, log))
    for l in rec[:30]:
        if l.lstrip("=0123456789").strip().startswith("{"):
            break
        print("  " + re.sub(r"^==\d+== ", "", l))
    if len(seen) >= 10:
        print("  ... (all of them: findings.txt)")
        break
sys.exit(1 if findings else 0)
PY
scan_rc=$?
set -e
if [ "$scan_rc" -ne 0 ] && [ "$scan_rc" -ne 1 ]; then
  echo "valgrind: FAIL (could not read the logs)"
  exit 2
fi
# keep the logs that have comet_fdw findings
grep -o '^### [^(]*(vg\.[0-9]*\.log)' "$OUT/findings.txt" 2>/dev/null | grep -o 'vg\.[0-9]*\.log' | sort -u |
  while read -r l; do cp "$VGLOG/$l" "$OUT/"; done

echo "regression under valgrind: $n_ok ok, $n_bad failed (pg_regress exit $regress_rc; diffs: $OUT/regression.diffs)"
[ -z "$crashes" ] || { echo "server log:"; printf '%s\n' "$crashes" | head -n 5; }
echo "durations: startup $((T1 - T0)) s, regression $((T2 - T1)) s, shutdown $((T3 - T2)) s, total $(($(date +%s) - T0)) s"
echo "report: $OUT/findings.txt (comet_fdw), $OUT/others.txt (elsewhere)"
if [ "$(stat -c '%y' "$so" | cut -d. -f1)" != "$so_stamp" ]; then
  echo "WARNING: $so was reinstalled during the run: later backends loaded the new build"
fi
if [ "$scan_rc" -ne 0 ] || [ -n "$crashes" ]; then
  echo "valgrind: FAIL"
  exit 1
fi
echo "valgrind: PASS (no definite leak, invalid access or uninitialised use in comet_fdw)"
