#!/usr/bin/env bash
# Makes sure redis-server is installed (Debian/Ubuntu: apt-get), for the Redis session
# store tests, which start their own redis-server on a free port. Safe to run twice.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  echo "redis-server: $(redis-server --version | head -n1)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is missing and apt-get is not available: install redis-server with your package manager" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else echo "redis-server is missing: run this script as root (apt-get install redis-server)" >&2; exit 1; fi
fi
echo "installing redis-server (apt-get)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# Only the binary is needed: the tests start their own server; the package's service is not used.
redis-server --version | head -n1
