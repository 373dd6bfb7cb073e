#!/usr/bin/env bash
# Sets up the browser test (tests/browser/chat.test.js) on a fresh machine.
#
# Contract: installs Debian's Chromium with apt when `chromium` is not on PATH (apt-get update
# first; non-interactive, as root or through sudo), installs tests/browser/package-lock.json
# into tests/browser/node_modules with `npm ci` (again only when the lock file changed), and
# prints the absolute path of the Chromium binary as the LAST line of stdout; everything else
# goes to stderr. So:
#
#   CHROMIUM="$(bash tests/browser/setup.sh | tail -n 1)"
#
# Needs node (>= 20) and npm; no stdin. Idempotent: a second run does no network access.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$here/node_modules/.installed-lock"

say() { printf 'tests/browser/setup.sh: %s\n' "$*" >&2; }

command -v node >/dev/null 2>&1 || { say "node is not installed"; exit 1; }
command -v npm >/dev/null 2>&1 || { say "npm is not installed"; exit 1; }

if ! command -v chromium >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo -n)
    else
        say "chromium is missing and installing it needs root: apt-get install chromium"
        exit 1
    fi
    say "installing Debian's chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 "${as_root[@]}" apt-get update -qq </dev/null >&2
    timeout 900 "${as_root[@]}" apt-get install -y -qq chromium </dev/null >&2
fi
chromium="$(command -v chromium)"

if ! cmp -s "$here/package-lock.json" "$stamp"; then
    (cd "$here" && timeout 600 npm ci --no-audit --no-fund --loglevel=error </dev/null >&2)
    cp "$here/package-lock.json" "$stamp"
fi

"$chromium" --version >&2
echo "$chromium"
