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

wait_port() { # PORT: until something listens on 127.0.0.1:PORT, ~60 s (a GET would be an invocation)
    for _ in $(seq 1 600); do
        if "$VENV/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $1), timeout=1).close()" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
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
trap "exit 130" INT TERM

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
# The emulator answers every GET next with `lambda-runtime-deadline-ms: 600000` (its 600 s timeout, not
# an epoch time); the fetcher reads such a value as a timeout from the start of the invocation
# (fetcher::Budget) and keeps a margin of min(10 s, a fifth of it). --timeout 600 makes the invoke
# request wait as long. --ignore-changes: other edits in the tree must not restart the function mid-run. Its stdin is a FIFO
# opened read-write, which never reaches end-of-file (watchexec stops when stdin closes).
mkfifo "$tmp/stdin"
cargo-lambda lambda watch --ignore-changes --timeout 600 -A 127.0.0.1 -P "$invoke_port" --env-file "$tmp/fetcher.env" \
    -p fetcher --bin fetcher <>"$tmp/stdin" >"$tmp/watch.log" 2>&1 &
pids+=($!)
wait_port "$invoke_port"
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
print(f"fetcher: {r['tracked']} categories tracked: {r['ok']} fetched, {r['not_due']} not due, {r['skipped']} skipped (deadline), "
      f"{r['forbidden']} forbidden, {r['no_list']} without a list, {r['failed']} failed; {r['snapshots_written']} snapshots written in {r['duration_ms']} ms")
calls = ", ".join(f"{k} {v}" for k, v in sorted(r.get("calls_by_endpoint", {}).items()))
print(f"API calls: {r['api_calls']} ({calls or 'none'})")
if r.get("entry_errors"):
    print("entry errors: " + ", ".join(f"{k} {v}" for k, v in sorted(r["entry_errors"].items())))
sys.exit(0 if r["snapshots_written"] > 0 and r["skipped"] == 0 else 1)
PY
# What the run stored, by item kind, sized as DynamoDB bills it (docs: "Item size calculations"):
# attribute names + values; a number takes 1 byte per two significant digits + 1; a list or map 3 bytes
# + 1 per element; writes cost one unit per started KB, eventually consistent reads half a unit per
# started 4 KB, storage the item + 100 bytes.
"$VENV/bin/python" - <<'PY'
import math, os, boto3
from collections import defaultdict
ddb = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
def number(x):
    digits = str(x).lstrip("-").replace(".", "").lstrip("0").split("e")[0].split("E")[0].rstrip("0")
    return (len(digits) + 1) // 2 + 1
def size(v):
    (t, x), = v.items()
    if t == "S": return len(x.encode())
    if t == "N": return number(x)
    if t == "B": return len(x)
    if t in ("BOOL", "NULL"): return 1
    if t == "SS": return sum(len(e.encode()) for e in x)
    if t == "NS": return sum(number(e) for e in x)
    if t == "BS": return sum(len(e) for e in x)
    if t == "L": return 3 + sum(1 + size(e) for e in x)
    if t == "M": return 3 + sum(1 + len(k.encode()) + size(e) for k, e in x.items())
    raise ValueError(t)
kinds = defaultdict(list)
for page in ddb.get_paginator("scan").paginate(TableName=os.environ.get("MELI_TABLE_NAME", "meli-radar")):
    for it in page["Items"]:
        pk, sk = it["pk"]["S"], it["sk"]["S"]
        if sk.startswith("SNAP#"): kind = "snapshot"
        elif pk.startswith("PROD#") and sk == "META": kind = "product"
        elif pk.startswith("PROD#"): kind = sk.split("#")[0].lower()
        else: kind = sk.split("#")[0].lower()
        kinds[kind].append(sum(len(k.encode()) + size(v) for k, v in it.items()))
print(f"{'stored':8} {'items':>6} {'mean':>9} {'max':>9} {'WRU/write':>10} {'RRU/read':>9} {'storage':>9}")
for k, v in sorted(kinds.items()):
    wru = sum(math.ceil(s / 1024) for s in v) / len(v)
    rru = sum(math.ceil(s / 4096) / 2 for s in v) / len(v)
    stored = sum(s + 100 for s in v)
    print(f"{k:8} {len(v):6} {sum(v) / len(v):7.0f} B {max(v):7.0f} B {wru:10.2f} {rru:9.2f} {stored / 1024:6.1f} KB")
PY
