#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing:
# redis-server (the Redis session store tests start their own instance), chromium (the
# browser tests drive Debian's /usr/bin/chromium with playwright-core; no browser build is
# downloaded) and nginx (the scale-out test runs deploy/nginx.conf in front of two
# gateways). Without root or apt-get it only says what is missing: those tests then skip,
# or fail in CI and under .ci/run (test/helpers/strict.ts).
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || need+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -eq 0 ]; then echo "system packages: all present"; exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: ${need[*]} (install them with your package manager; the tests that need them skip, and fail in CI)" >&2
  exit 0
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
