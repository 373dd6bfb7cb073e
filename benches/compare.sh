#!/usr/bin/env bash
# Echo-server comparison: our servers (ws-std, ws-mio) against tungstenite, tokio-tungstenite,
# fastwebsockets and tokio-websockets, all driven by `ws bench` over 127.0.0.1.
#
#   benches/compare.sh            # build everything, run ROUNDS interleaved rounds, print medians
#
# Settings (environment variables):
#   ROUNDS=3         rounds; in each, every scenario runs once on every server, in turn
#   DURATION=5       seconds measured per run (after WARMUP=1 seconds of traffic)
#   SERVER_CPU=0     core the server is pinned to (taskset)
#   CLIENT_CPU=1     core the load generator is pinned to
#   SERVERS="..."    subset of: ws-std ws-mio tungstenite tokio-tungstenite fastwebsockets
#                    tokio-websockets
#   SCENARIOS="..."  subset of: small medium large idle
#   OUT=target/compare-results/<time>   where the raw JSON lines and the summary go
#   BEFORE=REV       also build `ws` at git revision REV (in a worktree under target/) and run
#                    its servers as ws-std@REV and ws-mio@REV in the same interleaved rounds:
#                    a before/after comparison of a change on the same machine in one run
#   BEFORE_WS=PATH   with BEFORE: use this `ws` binary (built at REV) instead of building it
#
# Scenarios (each a fresh server process):
#   small   16 B binary messages, 64 connections, 8 in flight on each
#   medium  16 KiB, 16 connections, 4 in flight
#   large   1 MiB, 4 connections, 2 in flight
#   idle    10,000 connections, 16 B messages at 10,000 msg/s in total (one per connection per
#           second): the server's resident memory (peak RSS, sampled during the run)
#
# Every run is bounded (`timeout`); a server that cannot hold a scenario (a thread per
# connection at 10,000 connections, say) is reported with what it managed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
WARMUP="${WARMUP:-1}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
SCENARIOS="${SCENARIOS:-small medium large idle}"
OUT="${OUT:-$ROOT/target/compare-results/$(date +%Y%m%d-%H%M%S)}"
COMPARE_TARGET="$ROOT/target/compare"

mkdir -p "$OUT"
RAW="$OUT/runs.jsonl"
: >"$RAW"

# Ten thousand connections need ten thousand descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10100 ]; then
    echo "warning: ulimit -n is $(ulimit -n); the idle scenario needs 10,100 descriptors" >&2
fi

echo "building ws (release) and the comparison servers..." >&2
(cd "$ROOT" && cargo build --release --quiet -p ws-cli)
# The other libraries' servers are built unless SERVERS names only ours.
OTHERS="tungstenite tokio-tungstenite fastwebsockets tokio-websockets"
need_others=1
if [ -n "${SERVERS:-}" ] && ! printf '%s\n' $SERVERS | grep -qvE '^ws-(std|mio)(@.*)?$'; then
    need_others=0
fi
if [ "$need_others" = 1 ]; then
    (cd "$ROOT/benches/compare" && CARGO_TARGET_DIR="$COMPARE_TARGET" cargo build --release --quiet)
fi
# Run copies, so that a rebuild in the meantime (another build in this tree) cannot change them.
BIN="$OUT/bin"
mkdir -p "$BIN"
cp "$ROOT/target/release/ws" "$BIN/"
if [ "$need_others" = 1 ]; then
    for server in $OTHERS; do
        cp "$COMPARE_TARGET/release/$server" "$BIN/"
    done
fi
WS="$BIN/ws"
if [ -n "${BEFORE:-}" ] && [ -n "${BEFORE_WS:-}" ]; then
    # A `ws` binary already built at that revision.
    cp "$BEFORE_WS" "$BIN/ws-before"
elif [ -n "${BEFORE:-}" ]; then
    before_tree="$ROOT/target/before-$BEFORE"
    if [ ! -d "$before_tree" ]; then
        git -C "$ROOT" worktree add --detach "$before_tree" "$BEFORE" >&2
    fi
    echo "building ws at $BEFORE..." >&2
    (cd "$before_tree" && CARGO_TARGET_DIR="$ROOT/target/before-build" \
        cargo build --release --quiet -p ws-cli)
    cp "$ROOT/target/before-build/release/ws" "$BIN/ws-before"
fi

if [ -z "${SERVERS:-}" ]; then
    SERVERS="ws-std"
    case "$("$WS" serve --help)" in
    *"- mio"*) SERVERS="$SERVERS ws-mio" ;;
    esac
    if [ -n "${BEFORE:-}" ]; then
        SERVERS="$SERVERS ws-std@$BEFORE ws-mio@$BEFORE"
    fi
    SERVERS="$SERVERS tungstenite tokio-tungstenite fastwebsockets tokio-websockets"
fi

# The command line of a server, listening on an ephemeral port of 127.0.0.1.
server_cmd() {
    case "$1" in
    ws-std) echo "$WS serve 127.0.0.1:0 --echo --backend std" ;;
    ws-mio) echo "$WS serve 127.0.0.1:0 --echo --backend mio" ;;
    ws-std@*) echo "$BIN/ws-before serve 127.0.0.1:0 --echo --backend std" ;;
    ws-mio@*) echo "$BIN/ws-before serve 127.0.0.1:0 --echo --backend mio" ;;
    *) echo "$BIN/$1 127.0.0.1:0" ;;
    esac
}

# bench arguments and the time limit of one run, per scenario.
scenario_args() {
    case "$1" in
    small) echo "--size 16 --connections 64 --pipeline 8" ;;
    medium) echo "--size 16384 --connections 16 --pipeline 4" ;;
    large) echo "--size 1048576 --connections 4 --pipeline 2" ;;
    idle) echo "--size 16 --connections 10000 --pipeline 1 --rate 10000 --connect-timeout 60" ;;
    esac
}

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        # Thread-per-connection servers with many threads take a moment to go.
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap stop_server EXIT

# Starts server $1 pinned to SERVER_CPU; sets SERVER_PID and URL.
start_server() {
    # A fresh log per server: reading a previous server's URL would connect to a closed port.
    local log="$OUT/server-$1-$RANDOM.log"
    : >"$log"
    # shellcheck disable=SC2046
    taskset -c "$SERVER_CPU" $(server_cmd "$1") >"$log" 2>>"$OUT/server-errors.log" &
    SERVER_PID=$!
    URL=""
    for _ in $(seq 100); do
        URL="$(grep -o 'ws://[0-9.]*:[0-9]*/' "$log" 2>/dev/null | head -1 || true)"
        [ -n "$URL" ] && return 0
        sleep 0.05
    done
    echo "error: $1 did not start" >&2
    return 1
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# User plus system CPU time of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat,
# counted after the command name, which is in parentheses and may contain spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }
CLK_TCK="$(getconf CLK_TCK)"

run_one() {
    local server="$1" scenario="$2" round="$3"
    start_server "$server" || return 0
    local base_rss base_cpu
    base_rss="$(rss_kib "$SERVER_PID")"
    base_cpu="$(cpu_ticks "$SERVER_PID")"
    # Opening 10,000 connections may take up to the 60 s connect timeout of the idle scenario.
    local limit=$((DURATION + WARMUP + 30))
    [ "$scenario" = idle ] && limit=$((limit + 60))
    local json="$OUT/last.json"
    # shellcheck disable=SC2046
    timeout "$limit" taskset -c "$CLIENT_CPU" "$WS" bench "$URL" $(scenario_args "$scenario") \
        --duration "$DURATION" --warmup "$WARMUP" --json >"$json" 2>"$OUT/bench-stderr.log" &
    local started=$SECONDS
    local bench_pid=$!
    local peak=0 rss
    while kill -0 "$bench_pid" 2>/dev/null; do
        if [ "$scenario" = idle ]; then
            rss="$(rss_kib "$SERVER_PID")"
            [ "${rss:-0}" -gt "$peak" ] && peak="$rss"
        fi
        sleep 0.2
    done
    local status=0
    wait "$bench_pid" || status=$?
    local threads cpu
    threads="$(awk '/^Threads:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)"
    # The server's CPU time during the run, in microseconds: unlike the rates, it does not
    # depend on how often the server was scheduled, so CPU per echo compares servers even on a
    # busy machine.
    cpu=$((($(cpu_ticks "$SERVER_PID") - base_cpu) * 1000000 / CLK_TCK))
    stop_server
    local result
    result="$(tail -1 "$json" 2>/dev/null || true)"
    if [ -z "$result" ]; then
        result="{\"error\":\"bench exited with status $status after $((SECONDS - started)) s: $(tr '\n"' '  ' <"$OUT/bench-stderr.log" | cut -c1-200)\"}"
    fi
    {
        echo "== $server $scenario round $round"
        cat "$OUT/bench-stderr.log"
    } >>"$OUT/bench-errors.log"
    # Prepend what the script knows to the generator's JSON object.
    echo "{\"server\":\"$server\",\"scenario\":\"$scenario\",\"round\":$round,\"base_rss_kib\":$base_rss,\"peak_rss_kib\":$peak,\"server_threads\":${threads:-0},\"server_cpu_us\":$cpu,${result#\{}" >>"$RAW"
    printf '  %-18s %-7s round %s: %s\n' "$server" "$scenario" "$round" \
        "$(echo "$result" | grep -o '"messages_per_s":[0-9.]*\|"open":[0-9]*\|"error":"[^"]*"' | tr '\n' ' ')" >&2
}

# Medians over rounds, and ratios against the best of the other libraries.
summarize() {
    awk -v servers="$SERVERS" -v scenarios="$SCENARIOS" '
    function field(line, key,    m) {
        if (match(line, "\"" key "\":[-0-9.e+]+")) {
            m = substr(line, RSTART, RLENGTH); sub(/^[^:]*:/, "", m); return m + 0
        }
        return -1
    }
    function sval(line, key,    m) {
        if (match(line, "\"" key "\":\"[^\"]*\"")) {
            m = substr(line, RSTART, RLENGTH); sub(/^[^:]*:"/, "", m); sub(/"$/, "", m); return m
        }
        return ""
    }
    function median(list,    n, a, i, j, t) {
        n = split(list, a, " ")
        if (n == 0) return -1
        for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function add(key, v) { if (v >= 0) vals[key] = vals[key] " " v }
    {
        s = sval($0, "server"); c = sval($0, "scenario")
        add(s SUBSEP c SUBSEP "rate", field($0, "messages_per_s"))
        add(s SUBSEP c SUBSEP "mb", field($0, "mb_per_s"))
        add(s SUBSEP c SUBSEP "p50", field($0, "p50_us"))
        add(s SUBSEP c SUBSEP "p99", field($0, "p99_us"))
        add(s SUBSEP c SUBSEP "p999", field($0, "p999_us"))
        add(s SUBSEP c SUBSEP "open", field($0, "open"))
        add(s SUBSEP c SUBSEP "peak", field($0, "peak_rss_kib"))
        add(s SUBSEP c SUBSEP "base", field($0, "base_rss_kib"))
        echoes = field($0, "echoes_total"); cpu = field($0, "server_cpu_us")
        if (echoes > 0 && cpu >= 0) add(s SUBSEP c SUBSEP "cpu", cpu / echoes)
        e = sval($0, "error"); if (e != "") err[s SUBSEP c] = e
    }
    END {
        ns = split(servers, S, " "); nc = split(scenarios, C, " ")
        for (ci = 1; ci <= nc; ci++) {
            c = C[ci]
            if (c == "idle") {
                best = -1
                for (si = 1; si <= ns; si++) {
                    s = S[si]; peak[s] = median(vals[s SUBSEP c SUBSEP "peak"]); open[s] = median(vals[s SUBSEP c SUBSEP "open"])
                    base[s] = median(vals[s SUBSEP c SUBSEP "base"])
                    if (s !~ /^ws-/ && open[s] >= 10000 && peak[s] > 0 && (best < 0 || peak[s] < best)) best = peak[s]
                }
                printf "\nidle: 10,000 connections, 1 message/s each; server peak RSS (median of rounds)\n"
                printf "%-18s %10s %12s %14s %14s\n", "server", "open", "RSS MiB", "KiB/conn", "vs best other"
                for (si = 1; si <= ns; si++) {
                    s = S[si]
                    per = (open[s] > 0) ? (peak[s] - base[s]) / open[s] : 0
                    ratio = (best > 0 && peak[s] > 0) ? sprintf("%.2fx", peak[s] / best) : "-"
                    printf "%-18s %10d %12.1f %14.1f %14s%s\n", s, open[s], peak[s] / 1024, per, ratio, \
                        (open[s] < 10000 && (s SUBSEP c) in err) ? "  (" err[s SUBSEP c] ")" : ""
                }
                continue
            }
            best = -1; bestcpu = -1
            for (si = 1; si <= ns; si++) {
                s = S[si]; r[s] = median(vals[s SUBSEP c SUBSEP "rate"]); u[s] = median(vals[s SUBSEP c SUBSEP "cpu"])
                if (s !~ /^ws-/ && r[s] > best) best = r[s]
                if (s !~ /^ws-/ && u[s] > 0 && (bestcpu < 0 || u[s] < bestcpu)) bestcpu = u[s]
            }
            printf "\n%s (medians of rounds; CPU: server CPU time per echo, lower is better)\n", c
            printf "%-18s %10s %9s %9s %9s %10s %9s %9s %9s\n", "server", "msg/s", "MB/s", "p50 us", "p99 us", "p99.9 us", "vs best", "CPU us", "vs best"
            for (si = 1; si <= ns; si++) {
                s = S[si]
                ratio = (best > 0 && r[s] >= 0) ? sprintf("%.2fx", r[s] / best) : "-"
                cratio = (bestcpu > 0 && u[s] > 0) ? sprintf("%.2fx", u[s] / bestcpu) : "-"
                printf "%-18s %10.0f %9.2f %9.1f %9.1f %10.1f %9s %9.2f %9s\n", s, r[s], median(vals[s SUBSEP c SUBSEP "mb"]), \
                    median(vals[s SUBSEP c SUBSEP "p50"]), median(vals[s SUBSEP c SUBSEP "p99"]), \
                    median(vals[s SUBSEP c SUBSEP "p999"]), ratio, u[s], cratio
            }
        }
    }' "$RAW"
}

main() {
    {
        echo "machine: $(lscpu | awk -F': +' '/^Model name/ { print $2 }'), $(nproc) CPUs, $(uname -sr)"
        echo "rustc: $(rustc --version)"
        echo "server CPU $SERVER_CPU, generator CPU $CLIENT_CPU, $ROUNDS rounds of ${DURATION}s (+${WARMUP}s warm-up)"
    } | tee "$OUT/summary.txt" >&2

    for round in $(seq "$ROUNDS"); do
        echo "round $round/$ROUNDS" >&2
        for scenario in $SCENARIOS; do
            for server in $SERVERS; do
                run_one "$server" "$scenario" "$round"
            done
        done
    done

    summarize | tee -a "$OUT/summary.txt"
    echo >&2
    echo "raw results: $RAW; summary: $OUT/summary.txt" >&2
}

# The run is one function, read in full before it starts (and `exit` is on the same line), so
# that editing this file during a run does not change the run.
main; exit
