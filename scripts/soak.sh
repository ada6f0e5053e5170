#!/usr/bin/env bash
# `make soak`: a bounded soak of the release binary with mixed traffic and periodic faults,
# sampling the gateway's RSS and descriptor count into a CSV and stating whether they stayed flat.
# Not part of `make test` / CI.
#
#   SOAK_SECONDS   total traffic time (default 600)
#   SAMPLE_SECONDS sampling period (default 5)
#   FAULT_SECONDS  period of the fault cycle (default 15)
#   SOAK_DIR       where the CSV, logs and config go (default build/soak)
#   FLEXGATE_BIN   the binary (default build/flexgate)
#
# Traffic: wrk (scripts/install-deps.sh --bench installs it) on a stable route and on a route whose
# upstream is killed and restarted, plus curl loops (chunked, POST bodies, slow upstream answers,
# 5xx from the upstream). Faults, in rotation: the flaky upstream SIGKILLed and restarted on the same
# port, a slowloris and a slow-read burst (slowhttptest, bounded with -l, when installed), clients
# that disconnect mid-download and mid-upload, an upstream that never answers (SIGSTOP/SIGCONT).
#
# Flat means: after a warm-up of one full fault rotation (5 x FAULT_SECONDS: every fault has run
# once, so the allocator has reached the peak each one needs), the max of the last quarter of the
# samples is within 10% (RSS: plus 8 MiB; fds: plus 16) of the max of the first quarter, the
# gateway never exited, and once the traffic stops and the pools expire the descriptor count is
# back to the count before the traffic started.
set -uo pipefail

BIN=${FLEXGATE_BIN:-build/flexgate}
SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-5}
FAULT_SECONDS=${FAULT_SECONDS:-15}
DIR=${SOAK_DIR:-build/soak}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CSV="$DIR/soak.csv"
rm -f "$DIR/flaky.pid"  # a pid from an earlier run must never be signalled

pids=()
cleanup() {
  [[ -f "$DIR/flaky.pid" ]] && flaky_pid=$(cat "$DIR/flaky.pid")
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  [[ -n "${flaky_pid:-}" ]] && kill -CONT "$flaky_pid" 2>/dev/null && kill "$flaky_pid" 2>/dev/null
  [[ -n "${gateway_pid:-}" ]] && kill "$gateway_pid" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT

# Waits for a "listening" line in $1 and prints its port.
port_from() {
  local file=$1
  for _ in $(seq 1 100); do
    local port
    port=$(grep -m1 '"listening"' "$file" 2>/dev/null | grep -o '"port":"\?[0-9]*' | grep -o '[0-9]*$')
    if [[ -n "$port" ]]; then echo "$port"; return 0; fi
    sleep 0.1
  done
  echo "no listening line in $file" >&2
  return 1
}

start_echo() {  # $1 name, $2 listen address
  "$BIN" echo-server --listen "$2" --workers 1 >"$DIR/$1.out" 2>&1 &
  echo $!
}

stable_pid=$(start_echo stable 127.0.0.1:0); pids+=("$stable_pid")
stable_port=$(port_from "$DIR/stable.out") || exit 1
flaky_pid=$(start_echo flaky 127.0.0.1:0)
flaky_port=$(port_from "$DIR/flaky.out") || exit 1
echo "$flaky_pid" >"$DIR/flaky.pid"

cat >"$DIR/soak.yml" <<EOF
proxy:
  host: 127.0.0.1
  port: 0
  workers: 2
  headerTimeout: 2s
  idleTimeout: 5s
  timeout: 10s
  maxBodySize: 100mb
upstreams:
  - name: stable
    url: "http://127.0.0.1:$stable_port"
    pool:
      idleTimeout: 2s
  - name: flaky
    url: "http://127.0.0.1:$flaky_port"
    timeout: 1s
    pool:
      idleTimeout: 2s
routes:
  - path: "/flaky/*"
    upstream: flaky
    rewrite: "/bytes"
  - path: "/*"
    upstream: stable
logging:
  level: info
  accessLog: false
EOF

"$BIN" run -c "$DIR/soak.yml" >"$DIR/gateway.log" 2>&1 &
gateway_pid=$!
port=$(port_from "$DIR/gateway.log") || exit 1
base="http://127.0.0.1:$port"
echo "soak: gateway pid $gateway_pid on :$port, ${SOAK_SECONDS}s of traffic, samples every ${SAMPLE_SECONDS}s -> $CSV"

fds() { ls "/proc/$gateway_pid/fd" 2>/dev/null | wc -l; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$gateway_pid/status" 2>/dev/null; }
curl -s -o /dev/null "$base/warmup"
sleep 3  # pooled warm-up connections expire (pool idleTimeout 2s)
idle_fds_before=$(fds)
idle_rss_before=$(rss)

echo "elapsed_s,rss_kib,fds" >"$CSV"
start=$(date +%s)
deadline=$((start + SOAK_SECONDS))

# ── traffic ──
if command -v wrk >/dev/null; then
  wrk -t1 -c32 -d"${SOAK_SECONDS}s" "$base/bytes/2000" >"$DIR/wrk-stable.txt" 2>&1 &
  pids+=($!)
  wrk -t1 -c8 -d"${SOAK_SECONDS}s" "$base/flaky/4096" >"$DIR/wrk-flaky.txt" 2>&1 &
  pids+=($!)
else
  echo "soak: wrk not installed (scripts/install-deps.sh --bench); curl loops only"
fi
(
  while (($(date +%s) < deadline)); do
    curl -s -o /dev/null "$base/chunked/50000"
    curl -s -o /dev/null -X POST --data-binary "@$BIN" "$base/upload" -m 5
    curl -s -o /dev/null "$base/delay/200"
    curl -s -o /dev/null "$base/status/503"
    curl -s -o /dev/null -H 'Connection: close' "$base/bytes/100"
  done
) &
pids+=($!)

# ── faults ──
(
  cycle=0
  while (($(date +%s) + FAULT_SECONDS < deadline)); do
    sleep "$FAULT_SECONDS"
    case $((cycle % 5)) in
      0)  # the flaky upstream dies and comes back on the same port
        kill -9 "$flaky_pid" 2>/dev/null; wait "$flaky_pid" 2>/dev/null
        sleep 2
        "$BIN" echo-server --listen "127.0.0.1:$flaky_port" --workers 1 >>"$DIR/flaky.out" 2>&1 &
        flaky_pid=$!
        echo "$flaky_pid" >"$DIR/flaky.pid"
        ;;
      1)  # slowloris
        if command -v slowhttptest >/dev/null; then
          slowhttptest -H -c 200 -r 100 -i 1 -x 10 -l 5 -u "$base/" >/dev/null 2>&1
        else
          burst=()
          for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'GET / HTTP/1.1\r\nHost: a\r\n' >&3; sleep 4) & burst+=($!); done
          wait "${burst[@]}"
        fi
        ;;
      2)  # slow readers
        if command -v slowhttptest >/dev/null; then
          slowhttptest -X -c 100 -r 50 -k 1 -n 2 -w 1 -y 1 -z 1 -l 5 -u "$base/bytes/2000000" >/dev/null 2>&1
        else
          burst=()
          for _ in $(seq 20); do curl -s -o /dev/null --limit-rate 2k -m 5 "$base/bytes/2000000" & burst+=($!); done
          wait "${burst[@]}"
        fi
        ;;
      3)  # clients that disconnect mid-download and mid-upload
        # (wait for these jobs only: the restarted upstream is a child of this shell too)
        burst=()
        for _ in $(seq 10); do
          curl -s -o /dev/null -m 0.5 "$base/bytes/500000000" & burst+=($!)
          head -c 50000000 /dev/zero | curl -s -o /dev/null -m 0.5 -X POST --data-binary @- "$base/upload" & burst+=($!)
        done
        wait "${burst[@]}"
        ;;
      4)  # the flaky upstream hangs (accepts, never answers) for a while: 504s
        flaky_pid=$(cat "$DIR/flaky.pid" 2>/dev/null || echo "$flaky_pid")
        kill -STOP "$flaky_pid" 2>/dev/null; sleep 4; kill -CONT "$flaky_pid" 2>/dev/null
        ;;
    esac
    [[ -f "$DIR/flaky.pid" ]] && flaky_pid=$(cat "$DIR/flaky.pid")
    cycle=$((cycle + 1))
  done
) &
faults_pid=$!
pids+=("$faults_pid")

# ── sampling ──
alive=1
while (($(date +%s) < deadline)); do
  if ! kill -0 "$gateway_pid" 2>/dev/null; then alive=0; echo "soak: the gateway exited"; break; fi
  echo "$(($(date +%s) - start)),$(rss),$(fds)" >>"$CSV"
  sleep "$SAMPLE_SECONDS"
done
wait "$faults_pid" 2>/dev/null
[[ -f "$DIR/flaky.pid" ]] && flaky_pid=$(cat "$DIR/flaky.pid")
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
wait "${pids[@]}" 2>/dev/null

# Quiet: client connections close, pooled upstream connections expire (idleTimeout 2s).
idle_fds_after=""
for _ in $(seq 1 100); do
  idle_fds_after=$(fds)
  [[ "$idle_fds_after" == "$idle_fds_before" ]] && break
  sleep 0.2
done
idle_rss_after=$(rss)
kill -0 "$gateway_pid" 2>/dev/null || alive=0

echo
python3 - "$CSV" "$alive" "$idle_fds_before" "$idle_fds_after" "$idle_rss_before" "$idle_rss_after" "$DIR" "$FAULT_SECONDS" <<'PY'
import csv, sys, os, re
path, alive, fb, fa, rb, ra, d = sys.argv[1:8]
fault_seconds = int(sys.argv[8])
rows = [(int(r['elapsed_s']), int(r['rss_kib'] or 0), int(r['fds'] or 0)) for r in csv.DictReader(open(path)) if r['rss_kib']]
if len(rows) < 4:
    print("soak: too few samples"); sys.exit(1)
# Warm-up: the first full fault rotation (every fault once: the allocator reaches the peak each
# fault needs) when that leaves enough samples, else nothing. Then the first quarter of the rest
# is compared with its last quarter.
rotation = 5 * fault_seconds
steady = [r for r in rows if r[0] >= rotation]
if len(steady) < 8: steady = rows
q = max(1, len(steady) // 4)
first, last = steady[:q], steady[-q:]
def flat(col, pct, slack):
    a = max(r[col] for r in first); b = max(r[col] for r in last)
    return a, b, b <= a * (1 + pct) + slack
ra1, ra2, rss_flat = flat(1, 0.10, 8192)
fd1, fd2, fd_flat = flat(2, 0.10, 16)
print(f"samples: {len(rows)} over {rows[-1][0]}s; compared after the first fault rotation ({rotation}s): {len(steady)} samples, quarters of {q}")
print(f"RSS KiB: start {rows[0][1]}, first-quarter max {ra1}, last-quarter max {ra2}, overall max {max(r[1] for r in rows)} -> {'flat' if rss_flat else 'GROWING'}")
print(f"fds:     start {rows[0][2]}, first-quarter max {fd1}, last-quarter max {fd2}, overall max {max(r[2] for r in rows)} -> {'flat' if fd_flat else 'GROWING'}")
print(f"idle before traffic: {fb} fds, {rb} KiB RSS; idle after: {fa} fds, {ra} KiB RSS -> fds {'back to baseline' if fa == fb else 'NOT back to baseline'}")
for name in ("wrk-stable.txt", "wrk-flaky.txt"):
    p = os.path.join(d, name)
    if os.path.exists(p):
        text = open(p).read()
        reqs = re.search(r"(\d+) requests in", text); non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        errs = re.search(r"Socket errors: (.*)", text)
        print(f"{name}: {reqs.group(1) if reqs else '?'} requests, non-2xx {non2.group(1) if non2 else 0}, socket errors: {errs.group(1) if errs else 'none'}")
ok = alive == "1" and rss_flat and fd_flat and fa == fb
print("gateway alive throughout: " + ("yes" if alive == "1" else "NO"))
print("SOAK " + ("PASSED: RSS and fds flat" if ok else "FAILED"))
sys.exit(0 if ok else 1)
PY
