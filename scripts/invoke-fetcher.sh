#!/usr/bin/env bash
# `make invoke-fetcher`: runs the fetcher Lambda once, locally, the way AWS would — against the sandbox
# marketplace and moto (table and secrets), through `cargo lambda watch` + `cargo lambda invoke`.
#
# Run through scripts/with-moto.sh (the Makefile does): it needs AWS_ENDPOINT_URL. Needs cargo-lambda
# on PATH (make venv-lambda). Everything listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
: "${AWS_ENDPOINT_URL:?run through scripts/with-moto.sh}"
CARGO="${CARGO:-cargo}"
VENV="${VENV:-/var/tmp/meli-radar-venv}"
CATEGORIES="${MELI_CATEGORIES:-MLB1055,MLB1002,MLA1055}"
EVENT="${EVENT:-events/fetcher/scheduled.json}"

free_port() { "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { # URL: until it answers (any HTTP status), ~60 s
    for _ in $(seq 1 600); do
        if "$VENV/bin/python" -c "import urllib.request, urllib.error, sys
try: urllib.request.urlopen('$1', timeout=1)
except urllib.error.HTTPError: pass" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers at $1" >&2
    return 1
}

pids=()
tmp="$(mktemp -d)"
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# 1. The sandbox marketplace.
$CARGO build -q -p meli-sandbox --bin meli-sandbox
sandbox_port="$(free_port)"
"${CARGO_TARGET_DIR:-target}/debug/meli-sandbox" --addr "127.0.0.1:$sandbox_port" --seed 42 --speed 60 >"$tmp/sandbox.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$sandbox_port/sites"

# 2. The table and the secrets on moto; the function's environment.
"$VENV/bin/python" scripts/moto-setup.py --name meli-radar --client-id sandbox-app --client-secret sandbox-secret >"$tmp/env"
{
    echo "MELI_CATEGORIES=$CATEGORIES"
    echo "MELI_API_BASE_URL=http://127.0.0.1:$sandbox_port"
    echo "MELI_RATE_LIMIT_RPS=50"
} >>"$tmp/env"
grep -v -e MELI_SLACK_SECRET_ID -e MELI_SNS_TOPIC_ARN "$tmp/env" >"$tmp/fetcher.env"
echo "environment:" >&2
sed 's/^/  /' "$tmp/fetcher.env" >&2

# 3. The Lambda emulator with the function, then one invocation with the scheduled event.
invoke_port="$(free_port)"
cargo-lambda lambda watch --quiet -A 127.0.0.1 -P "$invoke_port" --env-file "$tmp/fetcher.env" -p fetcher --bin fetcher >"$tmp/watch.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$invoke_port/"
echo "invoking fetcher with $EVENT" >&2
if ! cargo-lambda lambda invoke fetcher -A 127.0.0.1 -P "$invoke_port" --data-file "$EVENT" | tee "$tmp/response.json"; then
    echo "--- cargo lambda watch log ---" >&2
    tail -40 "$tmp/watch.log" >&2
    exit 1
fi
echo
"$VENV/bin/python" - "$tmp/response.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"fetcher: {r['ok']} of {r['tracked']} categories ok, {r['snapshots_written']} snapshots written, {r['api_calls']} API calls, {r['duration_ms']} ms")
sys.exit(0 if r["snapshots_written"] > 0 else 1)
PY
