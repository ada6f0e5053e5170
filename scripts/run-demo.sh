#!/usr/bin/env bash
# `make run`: the demo upstream on 127.0.0.1:8080 and FlexGate on :3000 with config/proxy.yml.
set -euo pipefail
BIN=${FLEXGATE_BIN:-build/flexgate}
CONFIG=${CONFIG:-config/proxy.yml}

"$BIN" validate "$CONFIG" >/dev/null
"$BIN" echo-server --listen 127.0.0.1:8080 --workers 1 >/dev/null &
echo_pid=$!
trap 'kill "$echo_pid" 2>/dev/null || true' EXIT
echo "demo upstream (echo server) on 127.0.0.1:8080; FlexGate on :3000 — try: curl localhost:3000/api/anything"
"$BIN" run -c "$CONFIG"
