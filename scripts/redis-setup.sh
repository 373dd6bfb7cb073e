#!/usr/bin/env bash
# Makes sure redis-server is installed (Debian's package, with apt when missing) and prints its
# path on the last line. The tests start it themselves, on a free loopback port, without
# persistence, and stop it by PID; the service the package may start is not used.
set -euo pipefail
if [[ -n ${WS_REDIS_SERVER:-} && -x ${WS_REDIS_SERVER} ]]; then
    echo "$WS_REDIS_SERVER"
    exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server with apt" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
fi
command -v redis-server
