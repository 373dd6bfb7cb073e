#!/usr/bin/env bash
# Runs every example against its server on 127.0.0.1 and checks what the clients print
# (scripts/test.sh runs this). Each server takes a free port and prints `listening on ADDR`
# first; the script waits for that line on a pipe, runs the client, then waits for the server
# to finish (each is told how many connections or ticks to serve) or stops it by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q -p ws-examples --examples
bin="${CARGO_TARGET_DIR:-target}/debug/examples"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME ARGS...: starts a server; sets $addr to the address it listens on.
start() {
    local name="$1"
    shift
    rm -f "$work/out"
    mkfifo "$work/out"
    "$bin/$name" "$@" >"$work/out" &
    server_pid=$!
    exec 3<"$work/out"
    local line
    read -r line <&3 || { echo "FAIL: $name did not start" >&2; exit 1; }
    addr="${line#listening on }"
}

# finish NAME: waits for the server to exit by itself (it was told when to): its output pipe
# then reaches its end. One that prints nothing for 10 s and is still running is a failure,
# and is stopped by its PID.
finish() {
    local name="$1" status=0
    while true; do
        read -r -t 10 _ <&3 || status=$?
        [ "$status" -eq 0 ] || break
    done
    if [ "$status" -gt 128 ]; then
        kill "$server_pid"
        echo "FAIL: $name did not finish" >&2
        exit 1
    fi
    wait "$server_pid"
    server_pid=""
    exec 3<&-
}

# expect NAME OUTPUT PATTERN: fails unless OUTPUT has a line matching PATTERN.
expect() {
    if ! grep -qE -- "$3" <<<"$2"; then
        printf 'FAIL: %s: no line matching %s in:\n%s\n' "$1" "$3" "$2" >&2
        exit 1
    fi
    echo "ok: $1: $3"
}

# Echo server and client, and the chat client reading stdin while it reads the socket.
start echo-server --connections 2
out="$("$bin/echo-client" "ws://$addr" --send hello --send "second message")"
expect echo-client "$out" '^received: hello$'
expect echo-client "$out" '^received: second message$'
out="$(printf 'one\ntwo\n' | "$bin/chat-client" "ws://$addr" 2>&1)"
expect chat-client "$out" '^one$'
expect chat-client "$out" '^two$'
expect chat-client "$out" '^closed: 1000$'
finish echo-server

# The live ticker (ws-mio timers, topics, broadcast, graceful shutdown).
start ticker --ticks 3 --interval-ms 50
out="$("$bin/echo-client" "ws://$addr" --send "hi all" --until-close)"
expect ticker "$out" '^received: hi all$'
expect ticker "$out" '^received: tick 3$'
expect ticker "$out" '^closed: 1001 ticker done$'
finish ticker

# TLS server and client, with a certificate authority the server makes at start.
start tls-server --connections 1 --ca-out "$work/ca.pem"
out="$("$bin/tls-client" "wss://localhost:${addr##*:}" --ca "$work/ca.pem" --send secure)"
expect tls-client "$out" '^received: secure$'
finish tls-server

# Origin and token policies: one refusal of each, then a client let through.
start policy-server --connections 3
url="ws://$addr"
out="$("$bin/echo-client" "$url" --origin https://app.example 2>&1 || true)"
expect "policy (no token)" "$out" '401'
out="$("$bin/echo-client" "$url" --origin https://evil.example --header 'Authorization: Bearer secret' 2>&1 || true)"
expect "policy (wrong origin)" "$out" '403'
out="$("$bin/echo-client" "$url?token=secret" --origin https://app.example --send "let in")"
expect "policy (admitted)" "$out" '^received: let in$'
finish policy-server

echo "examples: all passed"
