#!/usr/bin/env bash
# Runs a command with a moto server (DynamoDB, DynamoDB Streams, SNS, Secrets Manager) on 127.0.0.1.
#
#   scripts/with-moto.sh CMD [ARGS...]
#
# Installs moto into the shared virtualenv (`make venv-moto`, requirements/moto.txt) if needed, starts
# `moto_server` on a free port, exports the standard AWS variables that point the SDK at it, runs the
# command, and stops the server on exit whatever happens. The command's exit status is the script's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-/var/tmp/meli-radar-venv}"

if [ "$#" -eq 0 ]; then
    echo "usage: scripts/with-moto.sh CMD [ARGS...]" >&2
    exit 2
fi

make -s -C "$here" venv-moto VENV="$VENV" >&2

log="$(mktemp -t moto.XXXXXX.log)"
moto_pid=""
stop_moto() {
    if [ -n "$moto_pid" ]; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    rm -f "$log"
}
trap stop_moto EXIT

# A free port: bind 0, read it back, release it; moto binds it again right after. Another process
# can take it in between, and moto then exits: up to 5 ports are tried.
for attempt in 1 2 3 4 5; do
    port="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    moto_pid=$!
    # Ready when it answers HTTP (moto's health path); give up after ~20 s.
    ready=""
    for _ in $(seq 1 200); do
        if "$VENV/bin/python" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
            ready=1
            break
        fi
        if ! kill -0 "$moto_pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    if [ -n "$ready" ]; then
        break
    fi
    if kill -0 "$moto_pid" 2>/dev/null; then
        echo "moto_server did not answer on 127.0.0.1:$port" >&2
        cat "$log" >&2
        exit 1
    fi
    wait "$moto_pid" 2>/dev/null || true
    moto_pid=""
    echo "moto_server exited (attempt $attempt, port $port):" >&2
    cat "$log" >&2
done
if [ -z "$ready" ]; then
    echo "moto_server did not start on any of 5 ports" >&2
    exit 1
fi

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export MELI_MOTO=1
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "moto: $AWS_ENDPOINT_URL (pid $moto_pid)" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
