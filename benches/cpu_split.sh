#!/usr/bin/env bash
# A server's CPU per echo, split into user and system time, and optionally a CPU profile.
#
#   benches/cpu_split.sh SIZE CONNECTIONS PIPELINE -- SERVER_COMMAND...
#   PERF=1 benches/cpu_split.sh 1048576 4 2 -- target/release/ws serve 127.0.0.1:0 --echo --backend mio
#
# Starts SERVER_COMMAND on core 0 (it must print its 127.0.0.1:PORT address on standard output
# or standard error), runs `ws bench` on core 1 for 5 s after 1 s of warm-up, and prints
# messages/s and the server's user and system microseconds per echo, from /proc/PID/stat.
# With PERF=1, also records 3 s of the server with `perf record -e cpu-clock` and prints the
# top symbols (perf from Debian's linux-perf). Used for "Large messages without copies" in
# docs/performance.md. Build first: cargo build --release -p ws-cli.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 5 && $4 == -- ]] || { sed -n 2,12p "$0" >&2; exit 2; }
size=$1 conns=$2 pipeline=$3
shift 4
out="$(mktemp)"
taskset -c 0 "$@" >"$out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT
addr=""
for _ in $(seq 100); do
    addr="$(grep -o '127\.0\.0\.1:[0-9]*' "$out" | head -1 || true)"
    [[ -n $addr ]] && break
    sleep 0.1
done
[[ -n $addr ]] || { echo "the server printed no address" >&2; exit 1; }
ticks() { awk '{print $14, $15}' "/proc/$server/stat"; }
profiler=""
if [[ ${PERF:-0} == 1 ]]; then
    (sleep 2; timeout 3 perf record -e cpu-clock -F 2000 -g -p "$server" -o target/cpu_split.perf \
        >/dev/null 2>&1 || true) &
    profiler=$!
fi
read -r u0 s0 < <(ticks)
result="$(taskset -c 1 target/release/ws bench "ws://$addr/" --size "$size" \
    --connections "$conns" --pipeline "$pipeline" --duration 5 --warmup 1 --json 2>/dev/null | tail -1)"
read -r u1 s1 < <(ticks)
[[ -n $profiler ]] && wait "$profiler"
echoes="$(grep -o '"echoes_total":[0-9]*' <<<"$result" | cut -d: -f2)"
rate="$(grep -o '"messages_per_s":[0-9.]*' <<<"$result" | cut -d: -f2)"
hz="$(getconf CLK_TCK)"
awk -v r="$rate" -v e="$echoes" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" 'BEGIN {
    printf "msg/s %s  echoes %d  user us/echo %.1f  system us/echo %.1f\n",
        r, e, u * 1e6 / hz / e, s * 1e6 / hz / e }'
if [[ ${PERF:-0} == 1 ]]; then
    perf report -i target/cpu_split.perf --no-children --sort symbol -g none 2>/dev/null \
        | grep '%' | grep -v '^#' | head -12
fi
