#!/usr/bin/env bash
# Suite: fuzz the JSON-to-row decoding for a bounded time (FUZZ_SECONDS,
# default 45 in CI); fails on any crash, leak or undefined behaviour.
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
dpkg-query -W -f='${db:Status-Abbrev}' libclang-rt-14-dev 2>/dev/null | grep -q '^ii' || need+=(libclang-rt-14-dev)
if [ "${#need[@]}" -gt 0 ]; then
    echo "fuzz: installing ${need[*]}"
    sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
        { $sudo_ apt-get update -qq && $sudo_ env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi
exec bash fuzz/run.sh "${FUZZ_SECONDS:-45}"
