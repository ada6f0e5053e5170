#!/usr/bin/env bash
# `make overload`: a 10x overload of a gateway that limits requests in flight, on a `low` and a
# `critical` route at once, to show the shedding order and that memory stays bounded.
#
# The gateway (2 workers, maxInFlight 64: low shed from 44 in flight, critical only at 64) fronts
# the echo upstream, which answers /delay/50 after 50 ms. Two wrk runs of 320 connections each (640
# clients for 64 slots) hit the low and the critical route together for DURATION seconds. Printed:
# responses by status per route, the gateway's shed counters, and its peak RSS (VmHWM) against its
# RSS when idle.
# Environment: FLEXGATE_BIN (default build/flexgate), DURATION (default 10), CONNECTIONS (per route,
# default 320).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FLEXGATE_BIN=$(realpath -m "${FLEXGATE_BIN:-$ROOT/build/flexgate}")
# shellcheck source=scripts/lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-320}
[[ -x $FLEXGATE_BIN ]] || { echo "overload: build the gateway first ($FLEXGATE_BIN)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "overload: wrk is required (make bench installs it)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flexgate-overload.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

read -r ECHO_PORT GATEWAY_PORT <<<"$(free_ports 2)"

cat >"$WORK/overload.yml" <<YAML
proxy:
  host: 127.0.0.1
  port: $GATEWAY_PORT
  workers: 2
  maxConnections: 4096
  maxInFlight: 64
upstreams:
  - name: echo
    url: "http://127.0.0.1:$ECHO_PORT"
    pool: { maxIdle: 256 }
routes:
  - path: "/low/*"
    upstream: echo
    stripPrefix: true
    priority: low
  - path: "/critical/*"
    upstream: echo
    stripPrefix: true
    priority: critical
logging:
  level: error
  accessLog: false
YAML

"$FLEXGATE_BIN" echo-server --listen "127.0.0.1:$ECHO_PORT" --workers 1 >"$WORK/echo.log" 2>&1 &
PIDS+=($!)
"$FLEXGATE_BIN" run -c "$WORK/overload.yml" >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
wait_until_answers "$GATEWAY_PID" "http://127.0.0.1:$GATEWAY_PORT/critical/" 50 ||
  { echo "overload: the gateway did not start: $(cat "$WORK/gateway.log")" >&2; exit 1; }

rss_kb() { awk "/^$1:/ {print \$2}" "/proc/$GATEWAY_PID/status"; }
IDLE_RSS=$(rss_kb VmRSS)
echo 5 >"/proc/$GATEWAY_PID/clear_refs" 2>/dev/null || true

wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$ROOT/bench/status-count.lua" \
  "http://127.0.0.1:$GATEWAY_PORT/low/delay/50" >"$WORK/low.txt" 2>&1 &
LOW=$!
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$ROOT/bench/status-count.lua" \
  "http://127.0.0.1:$GATEWAY_PORT/critical/delay/50" >"$WORK/critical.txt" 2>&1 &
CRITICAL=$!
wait "$LOW" || true
wait "$CRITICAL" || true
PEAK_RSS=$(rss_kb VmHWM)
METRICS=$(curl -fsS "http://127.0.0.1:$GATEWAY_PORT/metrics")

echo "# Overload: $((2 * CONNECTIONS)) clients for maxInFlight 64 ($(date -u '+%Y-%m-%d'), $(nproc) CPUs, ${DURATION} s)"
echo
echo "| route | responses | 200 | 503 (shed) | other | req/s |"
echo "|---|---:|---:|---:|---:|---:|"
for route in low critical; do
  file=$WORK/$route.txt
  ok=$(awk '$1 == "status" && $2 == 200 {print $3}' "$file")
  shed=$(awk '$1 == "status" && $2 == 503 {print $3}' "$file")
  all=$(awk '$1 == "status" {n += $3} END {print n + 0}' "$file")
  rps=$(awk '/^Requests\/sec/ {print $2}' "$file")
  echo "| $route | $all | ${ok:-0} | ${shed:-0} | $((all - ${ok:-0} - ${shed:-0})) | $rps |"
done
echo
echo "Shed counters: $(echo "$METRICS" | grep '^flexgate_load_shed_total' | tr '\n' ' ')"
echo "Gateway RSS: ${IDLE_RSS} KiB idle, peak ${PEAK_RSS} KiB under overload."
