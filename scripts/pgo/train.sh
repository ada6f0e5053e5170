#!/usr/bin/env bash
# The training run of the profile-guided build: drives an instrumented flexgate (FLEXGATE_PGO=generate)
# with everyday traffic, then stops it so it writes its profile (scripts/build-release.sh runs this).
#   usage: scripts/pgo/train.sh INSTRUMENTED_FLEXGATE
# The same binary is the echo upstream. Traffic (ab, keep-alive and not, 1 to 32 connections): small
# GETs on a plain route and on one with API-key auth, a rate limit, header operations and the access
# log; 4 KiB and 64 KiB responses; 16 KiB POST bodies; rejected requests (no key); /metrics.
set -euo pipefail

BIN=$(realpath "${1:?usage: train.sh INSTRUMENTED_FLEXGATE}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/servers.sh
source "$HERE/../lib/servers.sh"
KEY=pgo-training-key-0123456789

log() { printf '[pgo] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
for tool in ab curl python3 sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flexgate-pgo.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

read -r ECHO_PORT PORT <<<"$(free_ports 2)"
key_hash=$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)
sed -e "s|{{PORT}}|$PORT|g" -e "s|{{ECHO_PORT}}|$ECHO_PORT|g" -e "s|{{WORK}}|$WORK|g" \
  -e "s|{{KEY_HASH}}|$key_hash|g" "$HERE/gateway.yml.tmpl" >"$WORK/gateway.yml"
head -c 16384 /dev/zero | tr '\0' 'x' >"$WORK/post16k.body"

"$BIN" echo-server --listen "127.0.0.1:$ECHO_PORT" --workers 1 >"$WORK/echo.log" 2>&1 &
ECHO_PID=$!
PIDS+=("$ECHO_PID")
"$BIN" run -c "$WORK/gateway.yml" >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")

wait_until_answers "$ECHO_PID" "http://127.0.0.1:$ECHO_PORT/" 300 || die "echo upstream did not start: $(cat "$WORK/echo.log")"
wait_until_answers "$GATEWAY_PID" "http://127.0.0.1:$PORT/" 300 || die "gateway did not start: $(cat "$WORK/gateway.log")"

# drive N CONNECTIONS PATH [ab options...]: fails on connection errors; non-2xx are expected for
# the requests without a key.
drive() {
  local n=$1 c=$2 path=$3
  shift 3
  local report
  report=$(ab -q -n "$n" -c "$c" "$@" "http://127.0.0.1:$PORT$path" 2>&1) || die "ab $path: $report"
  log "$path ($n requests, $c connections${*:+, $*}): $(awk '/^Requests per second/ {print $4}' <<<"$report") req/s"
}
drive 20000 32 / -k
drive 3000 1 / -k
drive 2000 8 /
drive 10000 32 /keyed/orders -k -H "X-API-Key: $KEY"
drive 1000 8 /keyed/orders -k
drive 5000 16 /bytes/4096 -k
drive 1000 16 /bytes/65536 -k
drive 5000 16 / -k -p "$WORK/post16k.body" -T application/octet-stream
drive 100 1 /metrics

# SIGTERM: the gateway drains and returns from main, which writes the profile.
for pid in "$GATEWAY_PID" "$ECHO_PID"; do
  kill -TERM "$pid"
  wait "$pid" || die "flexgate (pid $pid) exited with status $? on SIGTERM: no profile"
done
PIDS=()
log "profile written"
