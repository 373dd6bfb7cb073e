#!/usr/bin/env bash
# The browser tests of the chat demo: `ws serve` with two pages in headless Chromium
# (tests/browser/chat.test.js), and two `ws serve --redis` processes on one redis-server with a
# page on each (tests/browser/redis.test.js; redis-server from $WS_REDIS_SERVER or PATH).
# Run by scripts/test.sh; on its own:
#
#   bash tests/browser/run.sh
#
# Installs what it needs (setup.sh), builds the `ws` binary (debug, or the one in $WS_BIN),
# makes a test certificate for the https/wss run (ws-cli's `test-certs` example, into
# $WS_BROWSER_OUT/certs), and runs the test with node's test runner. Screenshots go to target/browser/. The whole run
# is bounded: `timeout` stops the test and everything it started (its process group).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

chromium="$(bash "$here/setup.sh" | tail -n 1)"

if [[ -z ${WS_BIN:-} ]]; then
    (cd "$root" && cargo build --quiet -p ws-cli --bin ws)
    WS_BIN="$root/target/debug/ws"
fi

WS_BROWSER_OUT="${WS_BROWSER_OUT:-$root/target/browser}"
WS_TLS_DIR="$WS_BROWSER_OUT/certs"
(cd "$root" && cargo run --quiet -p ws-cli --example test-certs -- "$WS_TLS_DIR" >/dev/null)

export WS_BIN CHROMIUM="$chromium" WS_BROWSER_OUT WS_TLS_DIR
cd "$here"
timeout --kill-after=10 300 node --test --test-timeout=120000 chat.test.js redis.test.js
