#!/usr/bin/env bash
# shellcheck disable=SC2154  # S_FAKE_* are set by s_start_fake (printf -v)
# test/suites/debian.sh: the Debian package.  Builds postgresql-NN-comet-fdw with
# dpkg-buildpackage (debian/, pg_buildext) from a clean copy of the source (the files git knows,
# as they are in the work tree), checks what the .deb holds and declares, then runs a throwaway
# cluster on the package's files and queries a fake Comet through them.
#
# The package is never installed with dpkg: it would take over the files `make install` put into
# the system PostgreSQL, and removing it would delete them under the other suites.  Instead the
# .deb is unpacked with dpkg-deb -x over a private copy of /usr/lib/postgresql/NN and
# /usr/share/postgresql/NN (PostgreSQL finds its share and lib directories relative to its
# binaries), with the copies' comet_fdw files removed first, so only the package's can load.
set -euo pipefail
# shellcheck source=test/suites/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
s_init debian

# ---- build dependencies (Build-Depends of debian/control, and dpkg-dev to build) ----------------
need=()
for p in debhelper dpkg-dev postgresql-server-dev-all libcurl4-openssl-dev; do
  dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  s_log "installing ${need[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  apt_install() {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends \
      -o Dpkg::Use-Pty=0 "${need[@]}" >>"$S_DIR/apt.log" 2>&1
  }
  apt_install ||
    { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update >>"$S_DIR/apt.log" 2>&1 && apt_install; } ||
    { tail -n 30 "$S_DIR/apt.log"; echo "cannot install ${need[*]}" >&2; exit 1; }
fi

# ---- a clean copy of the source, and the build ---------------------------------------------------
SRC=$S_DIR/src/comet-fdw
mkdir -p "$SRC"
if git -C "$COMET_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$COMET_ROOT" && git ls-files -z --cached --others --exclude-standard |
     xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
     xargs -0 -r cp --parents -t "$SRC")
else
  cp -a "$COMET_ROOT/." "$SRC"
  find "$SRC" \( -name '*.o' -o -name '*.so' -o -name '*.bc' \) -delete
fi
s_check "source copied without build outputs" bash -c "! find '$SRC' -name '*.o' -o -name '*.so' | grep -q ."

t0=$(s_now_ms)
if (cd "$SRC" && dpkg-buildpackage -us -uc -b) >"$S_DIR/build.log" 2>&1; then
  s_ok "dpkg-buildpackage -us -uc -b ($(( ($(s_now_ms) - t0) / 1000 )) s)"
else
  s_fail "dpkg-buildpackage -us -uc -b" "$(tail -n 40 "$S_DIR/build.log")"
  s_done
  exit 1
fi

default=$(sed -nE "s/^default_version *= *'([^']+)'.*/\1/p" "$COMET_ROOT/comet_fdw.control")
debver=$(cd "$SRC" && dpkg-parsechangelog -S Version)
s_check "the package version ($debver) follows the extension's default_version ($default)" \
  bash -c "case '$debver' in '$default'|'$default'[-+~.]*) true ;; *) false ;; esac"
metaver=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' "$COMET_ROOT/META.json")
s_check "META.json's version ($metaver) follows default_version ($default)" \
  bash -c "case '$metaver' in '$default'|'$default'.*) true ;; *) false ;; esac"
python3 - "$COMET_ROOT/META.json" "$COMET_ROOT" <<'PY' >"$S_DIR/meta.check" 2>&1 && s_ok "META.json: the PGXN fields, its files exist" || s_fail "META.json" "$(cat "$S_DIR/meta.check")"
import json, os, sys
m = json.load(open(sys.argv[1]))
for k in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    assert k in m, "missing " + k
assert m["meta-spec"]["version"] == "1.0.0"
for name, p in m["provides"].items():
    for k in ("file", "version"):
        assert k in p, "%s: missing %s" % (name, k)
    for k in ("file", "docfile"):
        if k in p:
            assert os.path.exists(os.path.join(sys.argv[2], p[k])), p[k]
PY

versions=$(cd "$SRC" && pg_buildext supported-versions)
s_log "PostgreSQL versions packaged here: $(echo $versions)"
s_check "PostgreSQL 15 is among them" grep -qx 15 <<<"$versions"
arch=$(dpkg --print-architecture)
for v in $versions; do
  deb=$S_DIR/src/postgresql-$v-comet-fdw_${debver}_$arch.deb
  if [ ! -f "$deb" ]; then
    s_fail "$v: $(basename "$deb") built" "$(ls "$S_DIR/src")"
    continue
  fi
  s_ok "$v: $(basename "$deb") built ($(($(stat -c %s "$deb") / 1024)) kB)"
  dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$S_DIR/$v.files"
  for f in "/usr/lib/postgresql/$v/lib/comet_fdw.so" "/usr/share/postgresql/$v/extension/comet_fdw.control" \
           $(cd "$COMET_ROOT" && ls comet_fdw--*.sql | sed "s|^|/usr/share/postgresql/$v/extension/|"); do
    s_check "$v: the package has $f" grep -qxF "$f" "$S_DIR/$v.files"
  done
  n=$(grep -vcE "^/usr/(lib/postgresql/$v/lib/|share/postgresql/$v/extension/|share/doc/postgresql-$v-comet-fdw/)|/$" "$S_DIR/$v.files" || true)
  s_check "$v: nothing outside PostgreSQL's directories and the docs ($n)" test "$n" -eq 0
  deps=$(dpkg-deb -f "$deb" Depends)
  s_check "$v: depends on postgresql-$v and libcurl ($deps)" \
    bash -c "grep -qE '(^|, )postgresql-$v( |,|$)' <<<'$deps' && grep -q 'libcurl' <<<'$deps'"
done

if command -v lintian >/dev/null 2>&1; then
  lintian --no-tag-display-limit "$S_DIR"/src/*.changes >"$S_DIR/lintian.log" 2>&1 || true
  s_log "lintian: $(grep -c '^E:' "$S_DIR/lintian.log" || true) errors, $(grep -c '^W:' "$S_DIR/lintian.log" || true) warnings (not asserted)"
fi

# ---- a cluster on the package's files ---------------------------------------------------------
V=15
deb=$S_DIR/src/postgresql-$V-comet-fdw_${debver}_$arch.deb
[ -f "$deb" ] || { s_done; exit 1; }
ROOT=$S_DIR/root
mkdir -p "$ROOT/usr/lib/postgresql" "$ROOT/usr/share/postgresql"
cp -a "/usr/lib/postgresql/$V" "$ROOT/usr/lib/postgresql/"
cp -a "/usr/share/postgresql/$V" "$ROOT/usr/share/postgresql/"
rm -rf "$ROOT/usr/lib/postgresql/$V/lib/comet_fdw.so" "$ROOT/usr/lib/postgresql/$V/lib/bitcode/comet_fdw"* \
       "$ROOT/usr/share/postgresql/$V/extension/comet_fdw"*
dpkg-deb -x "$deb" "$ROOT"
B=$ROOT/usr/lib/postgresql/$V/bin
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$S_DIR" && runuser -u postgres -- env -i PATH="$B:/usr/bin:/bin" HOME="$S_DIR" LANG=C "$@")
  else
    (cd "$S_DIR" && env -i PATH="$B:/usr/bin:/bin" HOME="$S_DIR" LANG=C "$@")
  fi
}
[ "$(id -u)" -eq 0 ] && chown postgres "$S_DIR"
as_pg "$B/initdb" -D "$S_DIR/pgdata" --auth=trust -U postgres --no-sync -E UTF8 --locale=C >"$S_DIR/initdb.log" 2>&1 ||
  { cat "$S_DIR/initdb.log"; exit 1; }
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf "listen_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\nlc_messages = 'C'\n" "$S_DIR" \
  >>"$S_DIR/pgdata/postgresql.conf"
s_on_exit "as_pg '$B/pg_ctl' -D '$S_DIR/pgdata' -m immediate -w stop"
as_pg "$B/pg_ctl" -D "$S_DIR/pgdata" -l "$S_DIR/pg.log" -o "-p $PORT" -w -t 60 start >/dev/null ||
  { tail -n 20 "$S_DIR/pg.log"; exit 1; }
s_ok "a cluster runs from the private copy with the package unpacked in it (port $PORT)"

s_start_fake deb --seed 42 --api-key "$COMET_TEST_KEY"
read -r PID KEY1 < <(s_mnist deb)
pq() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$S_DIR" -p "$PORT" -U postgres -d postgres "$@"; }
s_check "its pkglibdir is the private copy's" \
  test "$(pq -c "SELECT setting FROM pg_config() WHERE name = 'PKGLIBDIR'")" = "$ROOT/usr/lib/postgresql/$V/lib"
pq -c 'CREATE EXTENSION comet_fdw'
s_check "CREATE EXTENSION comet_fdw makes version $default" \
  test "$(pq -c "SELECT extversion FROM pg_extension WHERE extname = 'comet_fdw'")" = "$default"
out=$(pq -v url="$S_FAKE_URL_deb" -v key="$COMET_TEST_KEY" -v pid="$PID" -v k="$KEY1" -v root="$ROOT" 2>&1 <<'SQL'
\set QUIET on
CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'url');
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'key');
CREATE SCHEMA comet;
IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;
SELECT comet_fdw_create_views('comet') \g /dev/null
SELECT 'experiments=' || count(*) FROM comet.experiments WHERE project_id = :'pid';
SELECT 'params=' || count(*) FROM comet.params WHERE experiment_key = :'k';
SELECT 'loaded=' || (pg_read_file('/proc/self/maps') LIKE '%' || :'root' || '/usr/lib/postgresql/15/lib/comet_fdw.so%');
SQL
) || true
n_exp=$(python3 -c '
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "/_fake/dataset"))
print(sum(1 for e in d["experiments"] if e["projectId"] == sys.argv[2]))' "$S_FAKE_ROOT_deb" "$PID")
s_check "smoke query: the experiments of a project ($n_exp expected)" grep -qx "experiments=$n_exp" <<<"$out"
s_check "smoke query: a view (params) answers" grep -qE '^params=[1-9]' <<<"$out"
s_check "the backend loaded the package's comet_fdw.so" grep -qx 'loaded=true' <<<"$out"
[ "$(grep -c '=' <<<"$out")" -eq 3 ] || s_log "psql said: $out"

s_done
