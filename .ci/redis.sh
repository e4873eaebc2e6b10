#!/usr/bin/env bash
# The shared-budget tests (tests/redis_server.py) start their own redis-server on a free
# loopback port and FAIL without one, so CI installs the system package when it is missing.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  echo "== install redis-server (apt-get)"
  sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq redis-server >/dev/null
fi
echo "-- $(redis-server --version)"
