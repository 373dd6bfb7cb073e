#!/usr/bin/env bash
# Server memory per connection with permessage-deflate, per preset and backend.
#
# For each backend (std, mio) and preset: starts `ws serve --echo --deflate PRESET --backend B`
# on a free loopback port, reads its RSS (VmRSS in /proc/PID/status) once it listens, connects
# N Python `websockets` clients with their default offer (as browsers make it), each of which
# sends one chat-like JSON text of about 2 KiB and reads the echo, then reads the server's RSS
# again with all N connections open. Prints (RSS after - RSS before) / N in KiB. The row "idle"
# connects N clients that send nothing (preset balanced; "idle-PRESET" with another preset).
# Every process started is stopped by its PID.
#
#   benches/deflate_memory.sh                      # N=1000, every preset, both backends
#   N=200 BACKENDS=mio PRESETS="balanced shared" benches/deflate_memory.sh
#
# Needs the interop venv (interop/setup.sh: python3 with websockets) and builds ws in release.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-1000}"
BACKENDS="${BACKENDS:-std mio}"
PRESETS="${PRESETS:-off shared balanced small-windows full idle}"

python="$("$here/interop/setup.sh" | tail -n 1)"
cargo build --release -q -p ws-cli --manifest-path "$here/Cargo.toml"
ws="${CARGO_TARGET_DIR:-$here/target}/release/ws"
client="$here/interop/python/deflate_memory_client.py"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

tmp="$(mktemp -d)"
server_pid=""
client_pid=""
cleanup() {
    [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

printf "%-8s %-14s %8s %12s %12s   %s\n" backend preset N "RSS KiB" "KiB/conn" "agreed"
for backend in $BACKENDS; do
    for preset in $PRESETS; do
        idle=""
        serve_preset="$preset"
        case "$preset" in
            idle) idle="--idle"; serve_preset=balanced ;;
            idle-*) idle="--idle"; serve_preset="${preset#idle-}" ;;
        esac
        # Both processes' output comes through FIFOs, so each wait below is a blocking read
        # of the line that says the process is ready (no polling, no sleeps).
        mkfifo "$tmp/server" "$tmp/client" "$tmp/stdin"
        limit=()
        [ "$backend" = mio ] && limit=(--max-connections 0)
        "$ws" serve 127.0.0.1:0 --echo --backend "$backend" --deflate "$serve_preset" \
            "${limit[@]}" >"$tmp/server" 2>"$tmp/server.err" &
        server_pid=$!
        exec 4<"$tmp/server"
        line=""
        read -r line <&4 || { cat "$tmp/server.err" >&2; exit 1; }
        url="${line#listening on }"
        before="$(rss_kib "$server_pid")"
        "$python" "$client" "$url" "$N" $idle <"$tmp/stdin" >"$tmp/client" &
        client_pid=$!
        exec 3>"$tmp/stdin" 5<"$tmp/client"
        # The client prints "ready N extensions: ..." once every connection has echoed.
        read -r line <&5 || { echo "the client failed" >&2; exit 1; }
        after="$(rss_kib "$server_pid")"
        agreed="${line#ready * extensions: }"
        exec 3>&-
        read -r line <&5 || true
        wait "$client_pid"
        client_pid=""
        kill "$server_pid"
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
        exec 4<&- 5<&-
        rm -f "$tmp/server" "$tmp/client" "$tmp/stdin"
        awk -v b="$backend" -v p="$preset" -v n="$N" -v before="$before" -v after="$after" \
            -v agreed="$agreed" 'BEGIN {
                printf "%-8s %-14s %8d %12d %12.1f   %s\n", b, p, n, after, (after - before) / n, agreed
            }'
    done
done
