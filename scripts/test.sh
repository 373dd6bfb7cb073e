#!/usr/bin/env bash
# The project's test command (README "Test"): sets up what the tests need on a fresh machine,
# then runs every test in the workspace.
#
# - Python `websockets` for the interop tests, in a cached virtualenv (interop/setup.sh).
# - `cargo test --workspace`: unit, integration, property and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."

python="$(bash interop/setup.sh | tail -n 1)"
export WS_INTEROP_PYTHON="$python"

cargo test --workspace "$@"
