#!/usr/bin/env bash
# The project's test command (README "Test"): sets up what the tests need on a fresh machine,
# then runs every test in the workspace.
#
# - Python `websockets` for the interop tests, in a cached virtualenv (interop/setup.sh).
# - The Node `ws` package for the interop tests, from interop/node/package-lock.json
#   (interop/node/setup.sh; node and npm come with the machine image).
# - `cargo test --workspace`: unit, integration, property and doc tests; then ws-std's and
#   ws-mio's TLS tests and doc examples, with their `tls` features, and ws-std's wss:// refusal
#   without it.
# - redis-server (Debian's package) for the `ws serve --redis` and ws-redis tests, which start
#   it on a free loopback port and stop it by PID: installed with apt when missing
#   (scripts/redis-setup.sh), and passed to them as $WS_REDIS_SERVER.
# - The examples run against their servers on 127.0.0.1, their output checked (examples/run.sh).
# - The chat demo in a real browser (tests/browser/run.sh): installs Debian's chromium with apt
#   and playwright-core from tests/browser/package-lock.json when missing, then two pages chat
#   through `ws serve`, over http/ws and over https/wss; screenshots in target/browser/.
set -euo pipefail
cd "$(dirname "$0")/.."

python="$(bash interop/setup.sh | tail -n 1)"
export WS_INTEROP_PYTHON="$python"
node="$(bash interop/node/setup.sh | tail -n 1)"
export WS_INTEROP_NODE="$node"
WS_REDIS_SERVER="$(bash scripts/redis-setup.sh | tail -n 1)"
export WS_REDIS_SERVER

cargo test --workspace "$@"
# The TLS tests need the crates' `tls` features; run each crate's on its own, so they do not
# depend on which features other workspace members happen to turn on.
cargo test -p ws-std --features tls --test tls "$@"
cargo test -p ws-std --features tls --doc "$@"
cargo test -p ws-mio --features tls --test tls "$@"
cargo test -p ws-mio --features tls --doc "$@"
cargo test -p ws-tokio --features tls --test tls "$@"
cargo test -p ws-tokio --features tls --doc "$@"
# And without it (the workspace build turns it on through ws-cli): wss:// is refused, naming
# the feature.
cargo test -p ws-std --test loopback client_url_errors "$@"

bash examples/run.sh

bash tests/browser/run.sh
