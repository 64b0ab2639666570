#!/usr/bin/env bash
# Checks the bootstrap.zip files `make package` built: each exists, and its binary needs no newer glibc
# than Lambda's provided.al2023 runtime has (2.34). Prints the size and the glibc each one needs.
#
#   scripts/check-glibc.sh LAMBDA_DIR FUNCTION...
set -euo pipefail

MAX_GLIBC="${MAX_GLIBC:-2.34}"
dir="$1"
shift
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for f in "$@"; do
    zip="$dir/$f/bootstrap.zip"
    if [ ! -f "$zip" ]; then
        echo "$f: $zip is missing" >&2
        status=1
        continue
    fi
    unzip -p "$zip" bootstrap >"$tmp/$f"
    need="$(readelf -V --wide "$tmp/$f" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)"
    size="$(stat -c %s "$zip")"
    if [ -z "$need" ]; then
        need="none"
    elif [ "$(printf '%s\n%s\n' "$need" "$MAX_GLIBC" | sort -V | tail -1)" != "$MAX_GLIBC" ]; then
        echo "$f: needs glibc $need, newer than provided.al2023's $MAX_GLIBC" >&2
        status=1
    fi
    printf '%-14s %8.2f MB zip   needs glibc %s (runtime has %s)\n' "$f" "$(awk -v s="$size" 'BEGIN { print s / 1048576 }')" "$need" "$MAX_GLIBC"
done
exit "$status"
