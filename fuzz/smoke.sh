#!/usr/bin/env bash
# CI fuzz smoke: builds every cargo-fuzz target and runs each for a bounded time, failing on
# any crash, panic, leak or timeout libFuzzer reports.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   space-separated targets (default: every target `cargo fuzz list` reports)
#
# Runs on the stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
# New inputs go to a temporary directory; the committed seed corpus is only read.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-60}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
cargo fuzz build

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for target in $targets; do
    mkdir -p "$work/$target" "corpus/$target"
    echo "==> fuzz $target for ${seconds}s"
    # -timeout: one input taking 10 s is a hang (quadratic parsing, a loop that does not end).
    if ! cargo fuzz run "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        >"$work/$target.log" 2>&1; then
        echo "FAILED: $target (last lines of the log follow; the crashing input is under fuzz/artifacts/$target/)"
        tail -n 60 "$work/$target.log"
        failed+=("$target")
    else
        grep -E 'DONE|stat::number_of_executed_units' "$work/$target.log" || true
    fi
done
if ((${#failed[@]})); then
    echo "fuzz smoke failed: ${failed[*]}"
    exit 1
fi
echo "fuzz smoke passed:" $targets
