#!/usr/bin/env bash
# Autobahn|Testsuite conformance run for the ws crates.
#
#   autobahn/run.sh                      # every case, every testee
#   autobahn/run.sh --cases '1.*,2.*'    # a quick subset
#   autobahn/run.sh --only server        # server testees only (or: client)
#   autobahn/run.sh --agents ws-std-server-tls   # only the testees named
#   autobahn/run.sh --deflate-sample ws-mio-server,ws-mio-client
#                                        # those agents run a sample of 12.*, 13.*
#
# Steps: install wstest (Python 2.7) into autobahn/.venv (cached), build the
# testees in release mode, run wstest's fuzzingclient against every server
# testee and every client testee against wstest's fuzzingserver, then run
# autobahn/check.py on the reports and exit with its status.  The server
# testees and the client testees run at the same time, in two lanes (one per
# core; each lane runs its testees one after the other).
#
# Every server listens on 127.0.0.1 only; every process started here is
# stopped by its PID on exit.  See docs/conformance.md.
set -euo pipefail

AB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$AB_DIR/.." && pwd)"
VENV="$AB_DIR/.venv"
REPORTS="$AB_DIR/reports"
LOGS="$REPORTS/logs"
SPECS="$REPORTS/specs"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac

# ---------------------------------------------------------------------------
# Testees.  To add one, add a line here; nothing else needs to change.
#
# Server testees: "AGENT|extra arguments"; run as
#   target/release/ws serve 127.0.0.1:PORT --echo EXTRA...
# @TLS@ in the arguments stands for --tls-cert and --tls-key of a test
# certificate (made by ws-cli's test-certs example into reports/certs), and
# makes wstest connect with wss://.
SERVER_TESTEES=(
    "ws-std-server|--backend std"
    "ws-mio-server|--backend mio"
    "ws-tokio-server|--backend tokio"
    "ws-std-server-tls|--backend std @TLS@"
)
# Client testees: "AGENT|cargo package|example"; run as
#   target/release/examples/EXAMPLE ws://127.0.0.1:9001 AGENT
CLIENT_TESTEES=(
    "ws-std-client|ws-std|autobahn-client"
    "ws-mio-client|ws-mio|mio-autobahn-client"
    "ws-tokio-client|ws-tokio|tokio-autobahn-client"
)
# The cases of 12.* and 13.* (permessage-deflate) an agent named in
# --deflate-sample runs: in every group, the first case (16-byte messages), the
# 11th (8 KiB messages in 256-byte frames) and the 18th (128 KiB messages in
# 32 KiB frames).  Every other case it runs in full.
DEFLATE_SAMPLE_CASES="1,11,18"
# ---------------------------------------------------------------------------

SERVER_PORT_BASE="${AUTOBAHN_SERVER_PORT_BASE:-9101}" # one port per server testee
FUZZINGSERVER_PORT="${AUTOBAHN_FUZZINGSERVER_PORT:-9001}"  # clients connect here
RUN_TIMEOUT="${AUTOBAHN_TIMEOUT:-1800}"                 # seconds per wstest / client run
PORT_WAIT="${AUTOBAHN_PORT_WAIT:-60}"                   # seconds to wait for a listener

CASES="*"
ONLY="all"
AGENTS=""
SKIP_BUILD=0
DEFLATE_SAMPLE="${AUTOBAHN_DEFLATE_SAMPLE:-}"

usage() {
    cat <<EOF
usage: autobahn/run.sh [--cases LIST] [--only server|client] [--skip-build]
                       [--deflate-sample AGENTS]

  --cases LIST    comma-separated wstest case patterns (default '*'),
                  e.g. '1.*,2.*' or '7.7.*,7.9.*'
  --only WHICH    run only the server or only the client testees
  --agents LIST   comma-separated agents: run only those testees
  --skip-build    do not run cargo build (use the existing release binaries)
  --deflate-sample AGENTS
                  comma-separated agents that run only cases 1, 11 and 18 of
                  each 12.x and 13.x group (everything else in full); the
                  script prints what each agent ran.  For CI time: see
                  docs/conformance.md

environment: AUTOBAHN_PYTHON2 (a python2.7 to use), AUTOBAHN_TIMEOUT
(seconds per wstest/client run, default 1800), AUTOBAHN_SERVER_PORT_BASE
(default 9101), AUTOBAHN_FUZZINGSERVER_PORT (default 9001), AUTOBAHN_PORT_WAIT
(default 60), AUTOBAHN_DEFLATE_SAMPLE
(agents, as --deflate-sample), CARGO_TARGET_DIR.
EOF
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --cases) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; CASES="$2"; shift 2 ;;
        --cases=*) CASES="${1#*=}"; shift ;;
        --only) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; ONLY="$2"; shift 2 ;;
        --only=*) ONLY="${1#*=}"; shift ;;
        --agents) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; AGENTS="$2"; shift 2 ;;
        --agents=*) AGENTS="${1#*=}"; shift ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        --deflate-sample) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; DEFLATE_SAMPLE="$2"; shift 2 ;;
        --deflate-sample=*) DEFLATE_SAMPLE="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "autobahn: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$ONLY" in
    all|server|client) ;;
    *) echo "autobahn: --only must be 'server' or 'client', not '$ONLY'" >&2; exit 2 ;;
esac
# Every testee's agent name (before --agents keeps some).
ALL_AGENTS=" "
for entry in "${SERVER_TESTEES[@]}" "${CLIENT_TESTEES[@]}"; do ALL_AGENTS+="${entry%%|*} "; done
# --agents: keep the testees named (each name must be one).
if [[ -n $AGENTS ]]; then
    IFS=',' read -r -a wanted <<<"$AGENTS"
    for agent in "${wanted[@]}"; do
        [[ $ALL_AGENTS == *" $agent "* ]] || { echo "autobahn: --agents: no testee is named '$agent' (testees:$ALL_AGENTS)" >&2; exit 2; }
    done
    keep_named() { # entries...: those whose agent is in --agents
        local entry
        for entry in "$@"; do
            [[ ",$AGENTS," == *",${entry%%|*},"* ]] && printf '%s\n' "$entry"
        done
        return 0
    }
    mapfile -t SERVER_TESTEES < <(keep_named "${SERVER_TESTEES[@]}")
    mapfile -t CLIENT_TESTEES < <(keep_named "${CLIENT_TESTEES[@]}")
fi
RUN_SERVERS=0; RUN_CLIENTS=0
[[ $ONLY != client ]] && RUN_SERVERS=1
[[ $ONLY != server ]] && RUN_CLIENTS=1

log() { echo "autobahn: $*"; }
die() { echo "autobahn: error: $*" >&2; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
TIMINGS=()
record_time() { # label start
    local t; t="$(elapsed "$2")"
    TIMINGS+=("$(printf '%-32s %s' "$1" "$t")")
    log "$1 took $t"
}

command -v python3 >/dev/null 2>&1 || die "python3 is required (for the spec files and check.py)"
command -v cargo >/dev/null 2>&1 || die "cargo is required"
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) is required"

# --- process bookkeeping: everything started here is stopped by PID ---------
PIDS=()
forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}
stop_pid() {
    local pid=$1 i
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    local pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$pid"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_bg LOGFILE CMD... : start CMD in the background, PID in $BG_PID
start_bg() {
    local logfile=$1; shift
    "$@" </dev/null >"$logfile" 2>&1 &
    BG_PID=$!
    PIDS+=("$BG_PID")
}
# run_logged LOGFILE CMD... : run CMD (bounded by RUN_TIMEOUT) and wait for it
# in an interruptible way; its exit status is in $RUN_RC.
run_logged() {
    local logfile=$1; shift
    start_bg "$logfile" timeout --kill-after=10 "$RUN_TIMEOUT" "$@"
    local pid=$BG_PID
    RUN_RC=0
    wait "$pid" || RUN_RC=$?
    forget_pid "$pid"
    if [[ $RUN_RC -eq 124 ]]; then
        log "timed out after ${RUN_TIMEOUT}s: $*"
    fi
}

port_listening() {
    if command -v ss >/dev/null 2>&1; then
        [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}
# wait_for_port PID PORT WHAT LOGFILE
wait_for_port() {
    local pid=$1 port=$2 what=$3 logfile=$4
    local deadline=$((SECONDS + PORT_WAIT))
    until port_listening "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$what exited before listening on 127.0.0.1:$port; its log ($logfile):"
            tail -n 40 "$logfile" | sed 's/^/    /'
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "$what did not listen on 127.0.0.1:$port within ${PORT_WAIT}s; its log ($logfile):"
            tail -n 40 "$logfile" | sed 's/^/    /'
            return 1
        fi
        sleep 0.1
    done
}
require_free_port() {
    if port_listening "$1"; then
        die "port $1 is already in use by another process; stop it first"
    fi
}

# --- 1. install the suite -----------------------------------------------------
find_python2() {
    local candidates=() c root
    [[ -n ${AUTOBAHN_PYTHON2:-} ]] && candidates+=("$AUTOBAHN_PYTHON2")
    if command -v pyenv >/dev/null 2>&1 && root="$(pyenv root 2>/dev/null)"; then
        for c in "$root"/versions/2.7*/bin/python; do candidates+=("$c"); done
    fi
    for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/2.7*/bin/python; do candidates+=("$c"); done
    for c in python2.7 python2; do
        command -v "$c" >/dev/null 2>&1 && candidates+=("$(command -v "$c")")
    done
    for c in "${candidates[@]+"${candidates[@]}"}"; do
        if [[ -x $c ]] && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' >/dev/null 2>&1; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

install_suite() {
    local py2 stamp want
    py2="$(find_python2)" || die "Python 2.7 not found. Autobahn|Testsuite 0.8.2 (wstest) runs only on
Python 2.7: install it (e.g. 'pyenv install 2.7.18') or set AUTOBAHN_PYTHON2=/path/to/python2.7."
    stamp="$VENV/.autobahn-installed"
    want="$(sha256sum "$AB_DIR/requirements-py2.txt" | cut -d' ' -f1) $py2"
    if [[ -f $stamp && "$(cat "$stamp")" == "$want" && -x $VENV/bin/python ]] &&
        "$VENV/bin/python" -c 'import autobahntestsuite, twisted' >/dev/null 2>&1; then
        log "wstest already installed in $VENV"
        return 0
    fi
    log "installing Autobahn|Testsuite into $VENV (python: $py2)"
    rm -rf "$VENV"
    if ! "$py2" -m virtualenv --version >/dev/null 2>&1; then
        if ! "$py2" -m pip --version >/dev/null 2>&1; then
            "$py2" -m ensurepip --user || die "pip is missing for $py2 and ensurepip failed"
        fi
        "$py2" -m pip install --user --disable-pip-version-check --no-input -q 'virtualenv<20.22' ||
            die "could not install virtualenv for $py2"
    fi
    "$py2" -m virtualenv -q "$VENV" || die "could not create the venv $VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        -r "$AB_DIR/requirements-py2.txt" || die "installing autobahn/requirements-py2.txt failed"
    "$VENV/bin/python" -c 'import autobahntestsuite, twisted' || die "wstest does not import after installing"
    echo "$want" >"$stamp"
}

# silence cryptography's "Python 2 is no longer supported" on every wstest start
export PYTHONWARNINGS=ignore
t0="$(now)"
install_suite
record_time "install wstest" "$t0"

# --- 2. build the testees ---------------------------------------------------------
if [[ $SKIP_BUILD -eq 0 ]]; then
    t0="$(now)"
    cd "$ROOT"
    if [[ $RUN_SERVERS -eq 1 && ${#SERVER_TESTEES[@]} -gt 0 ]]; then
        log "cargo build --release -p ws-cli --bin ws"
        cargo build --release -p ws-cli --bin ws || die "building the server testee (ws-cli, bin ws) failed"
        if [[ " ${SERVER_TESTEES[*]} " == *"@TLS@"* ]]; then
            # Debug: it runs once, and shares the tests' build of rcgen.
            log "cargo build -p ws-cli --example test-certs"
            cargo build -p ws-cli --example test-certs || die "building ws-cli's test-certs example failed"
        fi
    fi
    if [[ $RUN_CLIENTS -eq 1 ]]; then
        built=" "
        for entry in "${CLIENT_TESTEES[@]}"; do
            IFS='|' read -r _agent pkg example <<<"$entry"
            [[ $built == *" $pkg/$example "* ]] && continue
            log "cargo build --release -p $pkg --example $example"
            cargo build --release -p "$pkg" --example "$example" ||
                die "building the client testee ($pkg, example $example) failed"
            built+="$pkg/$example "
        done
    fi
    record_time "build testees" "$t0"
fi

# --- 3. run -------------------------------------------------------------------------
mkdir -p "$LOGS" "$SPECS"
cases_json="$(python3 -c 'import json, sys
cases = [c.strip() for c in sys.argv[1].split(",") if c.strip()]
if not cases:
    sys.exit("autobahn: --cases is empty")
print(json.dumps(cases))' "$CASES")"
# The case ids wstest will run, resolved by wstest's own code; check.py fails
# an agent whose report lacks any of them (wstest's fuzzingclient stops early,
# and still writes a report, when a server testee stops accepting connections).
EXPECTED_CASES="$SPECS/expected-cases.json"
"$VENV/bin/python" - "$cases_json" >"$EXPECTED_CASES" <<'EOF'
import json, sys
from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories, CaseBasename, CaseSetname
from autobahntestsuite.caseset import CaseSet
case_set = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
print(json.dumps(case_set.parseSpecCases({"cases": json.loads(sys.argv[1]), "exclude-cases": []})))
EOF
case_count="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$EXPECTED_CASES")"
[[ $case_count -gt 0 ]] || die "--cases '$CASES' matches no wstest case"

# The cases of a --deflate-sample agent: the same, with 12.* and 13.* thinned to
# DEFLATE_SAMPLE_CASES.
SAMPLE_CASES="$SPECS/expected-cases-deflate-sample.json"
python3 - "$EXPECTED_CASES" "$DEFLATE_SAMPLE_CASES" >"$SAMPLE_CASES" <<'EOF'
import json, sys
keep = set(sys.argv[2].split(","))
cases = json.load(open(sys.argv[1]))
print(json.dumps([c for c in cases if c.split(".")[0] not in ("12", "13") or c.split(".")[-1] in keep]))
EOF
sample_count="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$SAMPLE_CASES")"

IFS=',' read -r -a sample_agents <<<"$DEFLATE_SAMPLE"
for agent in "${sample_agents[@]+"${sample_agents[@]}"}"; do
    [[ $ALL_AGENTS == *" $agent "* ]] || die "--deflate-sample: no testee is named '$agent' (testees:$ALL_AGENTS)"
done
is_sampled() { [[ ",$DEFLATE_SAMPLE," == *",$1,"* ]]; }
# agent_cases AGENT: the file listing the case ids AGENT runs.
agent_cases() { if is_sampled "$1"; then echo "$SAMPLE_CASES"; else echo "$EXPECTED_CASES"; fi; }

# write_spec CASES_FILE FILE OUTDIR [URL AGENT] : fuzzingclient spec when
# URL/AGENT given, fuzzingserver spec otherwise.
write_spec() {
    python3 - "$@" "$FUZZINGSERVER_PORT" <<'EOF'
import json, sys
args = sys.argv[1:]
cases = json.load(open(args.pop(0)))
path, outdir = args[0], args[1]
port = args[-1]
spec = {"outdir": outdir, "cases": cases, "exclude-cases": [], "exclude-agent-cases": {}}
if len(args) == 5:
    spec["servers"] = [{"agent": args[3], "url": args[2]}]
else:
    spec["url"] = "ws://127.0.0.1:%s" % port
with open(path, "w") as fh:
    json.dump(spec, fh, indent=2)
    fh.write("\n")
EOF
}

HARNESS_ERRORS=()

# The TLS testees' certificate (wstest does not check it: see docs/conformance.md).
CERTS="$REPORTS/certs"
if [[ $RUN_SERVERS -eq 1 && " ${SERVER_TESTEES[*]} " == *"@TLS@"* ]]; then
    certs_bin="$TARGET_DIR/debug/examples/test-certs"
    [[ -x $certs_bin ]] || die "$certs_bin not found (build failed or --skip-build without a build?)"
    "$certs_bin" "$CERTS" >/dev/null || die "making the test certificate failed"
fi

run_server_testee() { # index entry
    local idx=$1 agent extra port outdir spec t0 testee_log wstest_log scheme=ws
    IFS='|' read -r agent extra <<<"$2"
    if [[ $extra == *"@TLS@"* ]]; then
        extra="${extra//@TLS@/--tls-cert $CERTS/cert.pem --tls-key $CERTS/key.pem}"
        scheme=wss
    fi
    local -a extra_args=()
    read -r -a extra_args <<<"$extra"
    port=$((SERVER_PORT_BASE + idx))
    outdir="$REPORTS/servers/$agent"
    spec="$SPECS/fuzzingclient-$agent.json"
    testee_log="$LOGS/$agent.testee.log"
    wstest_log="$LOGS/$agent.wstest.log"
    rm -rf "$outdir"
    mkdir -p "$outdir"
    write_spec "$(agent_cases "$agent")" "$spec" "$outdir" "$scheme://127.0.0.1:$port" "$agent"

    t0="$(now)"
    local cmd=("$TARGET_DIR/release/ws" serve "127.0.0.1:$port" --echo "${extra_args[@]+"${extra_args[@]}"}")
    log "server testee $agent: ${cmd[*]}"
    [[ -x ${cmd[0]} ]] || die "${cmd[0]} not found (build failed or --skip-build without a build?)"
    require_free_port "$port"
    start_bg "$testee_log" "${cmd[@]}"
    local testee_pid=$BG_PID
    if ! wait_for_port "$testee_pid" "$port" "server testee $agent" "$testee_log"; then
        HARNESS_ERRORS+=("$agent: testee did not start")
        stop_pid "$testee_pid"
        record_time "server $agent" "$t0"
        return 0
    fi
    log "wstest -m fuzzingclient -s $spec (log: $wstest_log)"
    run_logged "$wstest_log" "$VENV/bin/python" "$AB_DIR/wstest_local.py" -m fuzzingclient -s "$spec"
    tail -n 3 "$wstest_log" | sed 's/^/    /'
    if [[ $RUN_RC -ne 0 ]]; then
        HARNESS_ERRORS+=("$agent: wstest fuzzingclient exited with status $RUN_RC (log: $wstest_log)")
    fi
    if ! kill -0 "$testee_pid" 2>/dev/null; then
        HARNESS_ERRORS+=("$agent: server testee exited during the run (log: $testee_log)")
        tail -n 20 "$testee_log" | sed 's/^/    /'
    fi
    stop_pid "$testee_pid"
    record_time "server $agent" "$t0"
}

run_client_testee() { # entry
    local agent pkg example outdir spec t0 server_log client_log bin
    IFS='|' read -r agent pkg example <<<"$1"
    outdir="$REPORTS/clients/$agent"
    spec="$SPECS/fuzzingserver-$agent.json"
    server_log="$LOGS/$agent.fuzzingserver.log"
    client_log="$LOGS/$agent.testee.log"
    bin="$TARGET_DIR/release/examples/$example"
    rm -rf "$outdir"
    mkdir -p "$outdir"
    write_spec "$(agent_cases "$agent")" "$spec" "$outdir"

    t0="$(now)"
    [[ -x $bin ]] || die "$bin not found (build failed or --skip-build without a build?)"
    require_free_port "$FUZZINGSERVER_PORT"
    log "wstest -m fuzzingserver -s $spec on 127.0.0.1:$FUZZINGSERVER_PORT (log: $server_log)"
    start_bg "$server_log" "$VENV/bin/python" "$AB_DIR/wstest_local.py" -m fuzzingserver -s "$spec" --webport 0
    local server_pid=$BG_PID
    if ! wait_for_port "$server_pid" "$FUZZINGSERVER_PORT" "wstest fuzzingserver" "$server_log"; then
        HARNESS_ERRORS+=("$agent: wstest fuzzingserver did not start")
        stop_pid "$server_pid"
        record_time "client $agent" "$t0"
        return 0
    fi
    log "client testee $agent: $bin ws://127.0.0.1:$FUZZINGSERVER_PORT $agent (log: $client_log)"
    run_logged "$client_log" "$bin" "ws://127.0.0.1:$FUZZINGSERVER_PORT" "$agent"
    tail -n 3 "$client_log" | sed 's/^/    /'
    if [[ $RUN_RC -ne 0 ]]; then
        HARNESS_ERRORS+=("$agent: client testee exited with status $RUN_RC (log: $client_log)")
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        HARNESS_ERRORS+=("$agent: wstest fuzzingserver exited during the run (log: $server_log)")
    fi
    stop_pid "$server_pid"
    record_time "client $agent" "$t0"
}

log "cases: $cases_json ($case_count cases)"
# What each agent runs, and the agents and reports check.py reads, per case set.
FULL_AGENTS=()
FULL_DIRS=()
SAMPLE_AGENTS=()
SAMPLE_DIRS=()
note_agent() { # agent outdir
    if is_sampled "$1"; then
        log "agent $1: $sample_count cases (12.* and 13.* sampled: cases $DEFLATE_SAMPLE_CASES of each group)"
        SAMPLE_AGENTS+=(--expect-agent "$1")
        SAMPLE_DIRS+=("$2")
    else
        log "agent $1: $case_count cases"
        FULL_AGENTS+=(--expect-agent "$1")
        FULL_DIRS+=("$2")
    fi
}
if [[ $RUN_SERVERS -eq 1 ]]; then
    for entry in "${SERVER_TESTEES[@]}"; do note_agent "${entry%%|*}" "$REPORTS/servers/${entry%%|*}"; done
fi
if [[ $RUN_CLIENTS -eq 1 ]]; then
    for entry in "${CLIENT_TESTEES[@]}"; do note_agent "${entry%%|*}" "$REPORTS/clients/${entry%%|*}"; done
fi

# run_lane ROLE: every testee of ROLE (server or client), one after the other;
# its harness errors and timings go to files in $LANES.
LANES="$REPORTS/lanes"
rm -rf "$LANES"
mkdir -p "$LANES"
run_lane() {
    local role=$1 i entry
    if [[ $role == server ]]; then
        for i in "${!SERVER_TESTEES[@]}"; do
            run_server_testee "$i" "${SERVER_TESTEES[$i]}"
        done
    else
        for entry in "${CLIENT_TESTEES[@]}"; do
            run_client_testee "$entry"
        done
    fi
    printf '%s\n' "${HARNESS_ERRORS[@]+"${HARNESS_ERRORS[@]}"}" >"$LANES/$role.errors"
    printf '%s\n' "${TIMINGS[@]+"${TIMINGS[@]}"}" >"$LANES/$role.timings"
}
roles=()
[[ $RUN_SERVERS -eq 1 && ${#SERVER_TESTEES[@]} -gt 0 ]] && roles+=(server)
[[ $RUN_CLIENTS -eq 1 && ${#CLIENT_TESTEES[@]} -gt 0 ]] && roles+=(client)
t0="$(now)"
if [[ ${#roles[@]} -eq 2 ]]; then
    # Two lanes at once, one per core, each in a subshell that stops its own
    # processes when it ends or is stopped.
    log "running the server testees and the client testees in parallel"
    lane_pids=()
    for role in "${roles[@]}"; do
        (
            PIDS=()
            HARNESS_ERRORS=()
            TIMINGS=()
            trap cleanup EXIT
            trap 'exit 143' TERM
            trap 'exit 130' INT
            run_lane "$role"
        ) &
        lane_pids+=("$!")
        PIDS+=("$!")
    done
    for pid in "${lane_pids[@]}"; do
        lane_rc=0
        wait "$pid" || lane_rc=$?
        [[ $lane_rc -eq 0 ]] || HARNESS_ERRORS+=("a lane of testees exited with status $lane_rc")
        forget_pid "$pid"
    done
else
    for role in "${roles[@]+"${roles[@]}"}"; do run_lane "$role"; done
fi
# The lanes' own records (a lane run here wrote its arrays to the files too).
HARNESS_ERRORS_LANES=()
for role in "${roles[@]+"${roles[@]}"}"; do
    while IFS= read -r line; do [[ -n $line ]] && HARNESS_ERRORS_LANES+=("$line"); done <"$LANES/$role.errors"
    if [[ ${#roles[@]} -eq 2 ]]; then
        while IFS= read -r line; do [[ -n $line ]] && TIMINGS+=("$line"); done <"$LANES/$role.timings"
    fi
done
if [[ ${#roles[@]} -eq 2 ]]; then
    HARNESS_ERRORS+=("${HARNESS_ERRORS_LANES[@]+"${HARNESS_ERRORS_LANES[@]}"}")
fi
record_time "testees (wall, all lanes)" "$t0"

# --- 4. check -----------------------------------------------------------------------
# Every case must be OK (or INFORMATIONAL), permessage-deflate (12.*, 13.*)
# included: UNIMPLEMENTED fails too.
t0="$(now)"
check_rc=0
if [[ ${#FULL_DIRS[@]} -gt 0 ]]; then
    python3 "$AB_DIR/check.py" --expect-cases "$EXPECTED_CASES" "${FULL_AGENTS[@]}" \
        "${FULL_DIRS[@]}" || check_rc=$?
fi
if [[ ${#SAMPLE_DIRS[@]} -gt 0 ]]; then
    echo
    log "agents with 12.* and 13.* sampled (--deflate-sample $DEFLATE_SAMPLE):"
    python3 "$AB_DIR/check.py" --expect-cases "$SAMPLE_CASES" "${SAMPLE_AGENTS[@]}" \
        "${SAMPLE_DIRS[@]}" || check_rc=$?
fi
record_time "check" "$t0"

echo
log "wall time per part:"
for line in "${TIMINGS[@]}"; do echo "    $line"; done
log "reports: $REPORTS (open servers/*/index.html, clients/*/index.html)"
if [[ ${#HARNESS_ERRORS[@]} -gt 0 ]]; then
    for e in "${HARNESS_ERRORS[@]}"; do echo "autobahn: harness error: $e" >&2; done
    [[ $check_rc -ne 0 ]] || check_rc=1
fi
exit "$check_rc"
