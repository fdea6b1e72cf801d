#!/usr/bin/env bash
# Debian packages the tests drive for real: Chromium (reports and the viewer, checked in a
# headless browser through Playwright with executable_path=/usr/bin/chromium; no browser
# download) and the PostgreSQL server (the Postgres checkpointer). Idempotent; needs root or
# sudo. Skipped when both are present.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Debian packages: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
