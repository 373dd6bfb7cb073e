#!/usr/bin/env bash
# Sets up the Node peer for the interop tests (crates/ws-std/tests/interop_deflate.rs).
#
# Contract: installs interop/node/package-lock.json into interop/node/node_modules with
# `npm ci` (again only when the lock file changed), and prints the absolute path of `node` as
# the LAST line of stdout; everything else goes to stderr. So:
#
#   export WS_INTEROP_NODE="$(interop/node/setup.sh | tail -n 1)"
#
# Needs node (>= 18) and npm with access to the npm registry on the first run; no stdin.
# Idempotent: a second run does no network access.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$here/node_modules/.installed-lock"

command -v node >/dev/null 2>&1 || { echo "interop/node/setup.sh: node is not installed" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "interop/node/setup.sh: npm is not installed" >&2; exit 1; }

if ! cmp -s "$here/package-lock.json" "$stamp"; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error </dev/null >&2)
    cp "$here/package-lock.json" "$stamp"
fi

command -v node
