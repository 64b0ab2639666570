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

# A free port: bind 0, read it back, release it (moto binds it again right after).
port="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
log="$(mktemp -t moto.XXXXXX.log)"

"$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
stop_moto() {
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
    rm -f "$log"
}
trap stop_moto EXIT

# Ready when it answers HTTP (moto's health path); give up after ~20 s.
for _ in $(seq 1 200); do
    if "$VENV/bin/python" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
        ready=1
        break
    fi
    if ! kill -0 "$moto_pid" 2>/dev/null; then
        echo "moto_server exited:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "${ready:-}" ]; then
    echo "moto_server did not answer on 127.0.0.1:$port" >&2
    cat "$log" >&2
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
