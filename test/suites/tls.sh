#!/usr/bin/env bash
# shellcheck disable=SC2154  # S_FAKE_* are set by s_start_fake (printf -v)
# test/suites/tls.sh: TLS verification is on.  An https fake Comet with a self-signed certificate
# is refused unless the server option ca_file names its certificate; a certificate for another
# host name is refused even when its issuer is trusted; a private CA works through ca_file.
# A refused server never sees a request (so never the key).  Changing ca_file takes effect at
# once in a session that already holds a verified connection.
set -euo pipefail
# shellcheck source=test/suites/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
s_init tls

if ! command -v openssl >/dev/null 2>&1; then
  echo "   installing openssl"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends openssl \
    >"$S_DIR/apt.log" 2>&1 ||
    { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update >>"$S_DIR/apt.log" 2>&1 &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends openssl \
        >>"$S_DIR/apt.log" 2>&1; } || { cat "$S_DIR/apt.log"; echo "cannot install openssl" >&2; exit 1; }
fi

# ---- certificates (readable by the postgres OS user: the backend opens ca_file) -----------------
C=$S_DIR/certs
mkdir -p "$C"
chmod 755 "$C"
ossl() { openssl "$@" >>"$C/openssl.log" 2>&1 || { cat "$C/openssl.log"; echo "openssl $1 failed" >&2; exit 1; }; }
# 1. self-signed, for 127.0.0.1 and localhost
ossl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -keyout "$C/self.key" -out "$C/self.crt" \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
# 2. self-signed, for another host only
ossl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -keyout "$C/other.key" -out "$C/other.crt" \
  -subj "/CN=example.com" -addext "subjectAltName=DNS:example.com"
# 3. a private CA and a server certificate it signed, for 127.0.0.1
ossl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -keyout "$C/ca.key" -out "$C/ca.crt" \
  -subj "/CN=comet_fdw test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
ossl req -new -newkey rsa:2048 -nodes -sha256 -keyout "$C/leaf.key" -out "$C/leaf.csr" -subj "/CN=127.0.0.1"
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$C/leaf.ext"
ossl x509 -req -in "$C/leaf.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial -days 2 -sha256 \
  -extfile "$C/leaf.ext" -out "$C/leaf.crt"
chmod 644 "$C"/*.crt
chmod 600 "$C"/*.key
s_ok "certificates generated ($(openssl version | cut -d' ' -f1-2))"

# ---- fakes -----------------------------------------------------------------------------------
s_start_fake self --seed 42 --api-key "$COMET_TEST_KEY" --tls-cert "$C/self.crt" --tls-key "$C/self.key"
s_start_fake other --seed 42 --api-key "$COMET_TEST_KEY" --tls-cert "$C/other.crt" --tls-key "$C/other.key"
s_start_fake chain --seed 42 --api-key "$COMET_TEST_KEY" --tls-cert "$C/leaf.crt" --tls-key "$C/leaf.key"
case $S_FAKE_URL_self in https://*) ;; *) echo "the fake did not start with TLS" >&2; exit 1 ;; esac

s_createdb
s_create_try
s_psql -v key="$COMET_TEST_KEY" -v self="$S_FAKE_URL_self" -v other="$S_FAKE_URL_other" \
  -v chain="$S_FAKE_URL_chain" -v c="$C" <<'SQL'
\set ECHO none
\set self_crt :c '/self.crt'
\set other_crt :c '/other.crt'
\set ca_crt :c '/ca.crt'
-- no ca_file: the system's CAs, which do not know our certificates
CREATE SERVER t_noca FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'self', cache_ttl_s '0', max_retries '0');
-- ca_file names the self-signed certificate
CREATE SERVER t_self FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'self', cache_ttl_s '0', max_retries '0', ca_file :'self_crt');
-- ca_file names a CA that did not sign the server's certificate
CREATE SERVER t_wrongca FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'self', cache_ttl_s '0', max_retries '0', ca_file :'ca_crt');
-- a certificate for example.com, trusted, served at 127.0.0.1
CREATE SERVER t_other FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'other', cache_ttl_s '0', max_retries '0', ca_file :'other_crt');
-- a server certificate signed by a private CA
CREATE SERVER t_chain FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'chain', cache_ttl_s '0', max_retries '0', ca_file :'ca_crt');
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (api_key %L);
               CREATE FOREIGN TABLE %I (workspace_name text) SERVER %I OPTIONS (endpoint %L);',
              s, :'key', s || '_ws', s, 'workspaces')
  FROM unnest(ARRAY['t_noca', 't_self', 't_wrongca', 't_other', 't_chain']) s \gexec
SQL

fake_requests() { s_fake "$1" count; }

# expect_refused NAME FAKE SERVER WHY_REGEX: the query fails with HV00N, says why, no request sent
expect_refused() {
  local desc=$1 fake=$2 srv=$3 why=$4 n
  s_fake "$fake" reset >/dev/null
  s_try "SELECT * FROM ${srv}_ws"
  if [ "$TRY_STATE" = HV00N ] && printf '%s %s' "$TRY_MSG" "$TRY_DETAIL" | grep -qiE "$why"; then
    s_ok "$desc: refused, HV00N: $TRY_MSG / $(printf '%s' "$TRY_DETAIL" | sed -E 's/127\.0\.0\.1:[0-9]+/127.0.0.1:PORT/g')"
  else
    s_fail "$desc: refused with HV00N and a certificate error (/$why/)" "got: $TRY_LINE"
  fi
  n=$(fake_requests "$fake")
  if [ "$n" = 0 ]; then
    s_ok "$desc: the untrusted server received no request (so never the key)"
  else
    s_fail "$desc: the untrusted server received no request" "it received $n"
  fi
  if printf '%s' "$TRY_LINE" | grep -qF -- "$COMET_TEST_KEY"; then
    s_fail "$desc: the error does not show the key"
  fi
}

# expect_works NAME FAKE SERVER
expect_works() {
  local desc=$1 fake=$2 srv=$3 rows n
  s_fake "$fake" reset >/dev/null
  rows=$(s_psql -At -c "SELECT count(*) FROM ${srv}_ws" 2>&1) || true
  n=$(fake_requests "$fake")
  if [[ $rows =~ ^[0-9]+$ ]] && [ "$rows" -gt 0 ] && [ "$n" -ge 1 ]; then
    s_ok "$desc: works ($rows workspaces over https)"
  else
    s_fail "$desc: works" "got: $rows (requests seen by the fake: $n)"
  fi
}

CERT_RE='certificate|SSL|TLS'
expect_refused "self-signed certificate, no ca_file" self t_noca "$CERT_RE"
expect_works "self-signed certificate, ca_file names it" self t_self
expect_refused "self-signed certificate, ca_file names an unrelated CA" self t_wrongca "$CERT_RE"
expect_refused "certificate for example.com at 127.0.0.1, ca_file names it" other t_other \
  "name|host|subject|match"
expect_works "certificate signed by a private CA, ca_file names the CA" chain t_chain

# ---- a changed ca_file applies to a session that holds a verified connection -----------------
out=$(s_psql -At -v ON_ERROR_STOP=0 -v c="$C" 2>&1 <<'SQL'
\set VERBOSITY verbose
\set self_crt :c '/self.crt'
\set other_crt :c '/other.crt'
SELECT 'first', count(*) FROM t_self_ws;
ALTER SERVER t_self OPTIONS (DROP ca_file);
SELECT 'after_drop', count(*) FROM t_self_ws;
\echo after_drop_sqlstate :SQLSTATE
ALTER SERVER t_self OPTIONS (ADD ca_file :'self_crt');
SELECT 'after_add', count(*) FROM t_self_ws;
ALTER SERVER t_self OPTIONS (SET ca_file :'other_crt');
SELECT 'other_ca', count(*) FROM t_self_ws;
\echo other_ca_sqlstate :SQLSTATE
SQL
) || true
if grep -q '^first|[1-9]' <<<"$out" && grep -q '^after_drop_sqlstate HV00N' <<<"$out" &&
   grep -q '^after_add|[1-9]' <<<"$out" && grep -q '^other_ca_sqlstate HV00N' <<<"$out"; then
  s_ok "in one session: works, ca_file dropped -> refused (no reuse of the verified connection), added back -> works, another CA -> refused"
else
  s_fail "in one session, ALTER SERVER ... ca_file takes effect at once" "$out"
fi

# ---- the file named by ca_file must be a readable PEM file -------------------------------------
s_psql -c "ALTER SERVER t_self OPTIONS (SET ca_file '$C/does-not-exist.pem')"
s_try "SELECT * FROM t_self_ws"
if [ "$TRY_STATE" != 00000 ]; then
  s_ok "ca_file naming a missing file: an error ($TRY_STATE: $TRY_MSG), never an unverified connection"
else
  s_fail "ca_file naming a missing file: an error" "the query succeeded"
fi
printf 'not a certificate\n' >"$C/garbage.pem"
chmod 644 "$C/garbage.pem"
s_psql -c "ALTER SERVER t_self OPTIONS (SET ca_file '$C/garbage.pem')"
s_try "SELECT * FROM t_self_ws"
if [ "$TRY_STATE" != 00000 ]; then
  s_ok "ca_file naming a file without certificates: an error ($TRY_STATE: $TRY_MSG)"
else
  s_fail "ca_file naming a file without certificates: an error" "the query succeeded"
fi

s_done
