#!/usr/bin/env bash
# Makes sure the external programs the compatibility tests and bench:compare drive are installed:
# redis-server, redis-cli, redis-benchmark, memcached, libmemcached's tools and twemproxy (nutcracker),
# and Debian's chromium, which the dashboard test drives through playwright-core (no browser download).
# Idempotent: does nothing when everything is there. When something is missing it installs the
# Debian packages (as root, or through sudo when that works without a password); otherwise it prints
# what to install and exits non-zero.
set -euo pipefail

PACKAGES=(redis-server redis-tools memcached libmemcached-tools nutcracker chromium)

# one line per program: the names it may go by (Debian renames libmemcached's tools memc*)
PROGRAMS=(
  "redis-server"
  "redis-cli"
  "redis-benchmark"
  "memcached"
  "memccp memcp"
  "memccat memcat"
  "memcrm memrm"
  "memcflush memflush"
  "memcstat memstat"
  "nutcracker twemproxy"
  "chromium"
)

# nutcracker lives in /usr/sbin, which a non-root PATH may lack
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"

missing() {
  local out=() line name found
  for line in "${PROGRAMS[@]}"; do
    found=""
    for name in $line; do
      if command -v "$name" >/dev/null 2>&1; then found="$name"; break; fi
    done
    [ -n "$found" ] || out+=("${line%% *}")
  done
  echo "${out[@]:-}"
}

need="$(missing)"
if [ -z "$need" ]; then
  exit 0
fi

echo "test/tools.sh: missing programs: $need" >&2

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "test/tools.sh: not root and no password-less sudo; install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${PACKAGES[*]}" >&2
    exit 1
  fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "test/tools.sh: no apt-get here; install the equivalents of the Debian packages: ${PACKAGES[*]}" >&2
  exit 1
fi

echo "test/tools.sh: installing ${PACKAGES[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null

# the Debian packages start system services; the tests start their own on free ports
for svc in redis-server memcached nutcracker; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
done

need="$(missing)"
if [ -n "$need" ]; then
  echo "test/tools.sh: still missing after apt-get install: $need" >&2
  exit 1
fi
echo "test/tools.sh: all tools installed" >&2
