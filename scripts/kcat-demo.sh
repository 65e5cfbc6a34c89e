#!/usr/bin/env bash
# Demo without the streams samples: start eddy-broker on a free port, produce a few
# keyed records with kcat, read them back, stop the broker.
set -euo pipefail
build=${1:-build}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
"$build/broker/eddy-broker" --listen 127.0.0.1:0 --data-dir "$dir/data" >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q listening "$dir/log" && break; sleep 0.1; done
addr=$(grep -o '127.0.0.1:[0-9]*' "$dir/log" | head -1)
echo "eddy-broker running at $addr"
printf 'alice:hello\nbob:exactly once\ncarol:world\n' | kcat -b "$addr" -t demo -P -K:
kcat -b "$addr" -t demo -C -e -f 'offset %o  key %k  value %s\n'
