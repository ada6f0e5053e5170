#!/usr/bin/env bash
# `make bench-protocols`: FlexGate, nginx and HAProxy terminating TLS 1.3 and HTTP/2 in front of
# the FlexGate echo upstream (HTTP/1.1 keep-alive pools to it, as in bench/run.sh), measured on this
# machine. Writes a Markdown table to bench/results/protocols.md (raw tool output in
# bench/results/protocols-raw/).
#
# Scenarios (every proxy runs each once per round, the order rotating between rounds):
#   tls-get-small   wrk, 64 keep-alive HTTPS connections (HTTP/1.1; wrk sends no ALPN), small GET
#   tls-handshakes  wrk, 32 connections, `Connection: close` on every request: a new TCP connection
#                   and TLS handshake per request, so req/s = handshakes/s. wrk keeps the last TLS
#                   session of each connection and offers it again, so these are resumed handshakes
#                   (TLS 1.3 PSK with ECDHE: no certificate, no signature), as for returning clients.
#   tls-full-handshakes  32 `openssl s_time -new -www /` processes at once: every connection a full
#                   handshake (certificate, ECDSA signature, ECDHE) and one HTTP/1.0 GET; handshakes/s
#                   = connections completed by all of them / wall time.
#   h2-get-small    h2load over TLS with ALPN h2: H2_CLIENTS connections x H2_STREAMS concurrent
#                   streams, small GET
#   h2c-get-small   the same over plaintext HTTP/2 with prior knowledge (h2c)
# Each proxy runs twice: "<proxy>-tls" (TLS 1.3 only, h2 and http/1.1 offered by ALPN) and
# "<proxy>-h2c" (a plaintext port that speaks HTTP/2 with prior knowledge); the templates are
# bench/{flexgate,nginx,haproxy}-{tls,h2c}.*.tmpl. The certificate (EC P-256, SAN 127.0.0.1 and
# localhost, signed by a throwaway CA) is made with the openssl CLI in the temp dir at every run.
#
# Builds nothing: FLEXGATE_BIN (default build/flexgate) must exist; it is also the echo server.
# Environment:
#   FLEXGATE_BIN, ECHO_BIN, WORKERS (2), ECHO_WORKERS (1), UPSTREAM_KEEPALIVE (256): as in run.sh
#   DURATION       seconds per measured run              default 5
#   WARMUP         seconds of unmeasured load before each  default 1
#   ROUNDS         rounds (the median is reported)       default 5
#   QUICK=1        smoke test: 1 round of 2 s
#   TARGETS        subset of "flexgate nginx haproxy"
#   SCENARIOS      subset of "tls-get-small tls-handshakes tls-full-handshakes h2-get-small h2c-get-small"
#   H2_CLIENTS     h2load connections                    default 16
#   H2_STREAMS     h2load concurrent streams per connection  default 10
#   KEEP_TMP=1     keep the temp dir with certificates, configs and logs
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
# shellcheck source=scripts/lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
RESULTS_DIR=$BENCH_DIR/results
export PATH=$PATH:/usr/sbin:/sbin

FLEXGATE_BIN=$(realpath -m "${FLEXGATE_BIN:-$ROOT/build/flexgate}")
ECHO_BIN=$(realpath -m "${ECHO_BIN:-$FLEXGATE_BIN}")
WORKERS=${WORKERS:-2}
ECHO_WORKERS=${ECHO_WORKERS:-1}
UPSTREAM_KEEPALIVE=${UPSTREAM_KEEPALIVE:-256}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
ROUNDS=${ROUNDS:-5}
H2_CLIENTS=${H2_CLIENTS:-16}
H2_STREAMS=${H2_STREAMS:-10}
if [[ ${QUICK:-0} == 1 ]]; then
  ROUNDS=1
  DURATION=2
fi
read -r -a TARGETS <<<"${TARGETS:-flexgate nginx haproxy}"

# name|listener (tls or h2c)|tool|connections|close (a new connection for every request)
ALL_SCENARIOS=(
  "tls-get-small|tls|wrk|64|"
  "tls-handshakes|tls|wrk|32|close"
  "tls-full-handshakes|tls|s_time|32|"
  "h2-get-small|tls|h2load|$H2_CLIENTS|"
  "h2c-get-small|h2c|h2load|$H2_CLIENTS|"
)
SCENARIO_LIST=()
for s in "${ALL_SCENARIOS[@]}"; do
  if [[ -z ${SCENARIOS:-} || " $SCENARIOS " == *" ${s%%|*} "* ]]; then SCENARIO_LIST+=("$s"); fi
done

log() { printf '[protocols] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

for tool in wrk h2load openssl curl nginx haproxy python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --bench installs it)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (package time)"
[[ -x $ECHO_BIN ]] || die "echo server binary not found: $ECHO_BIN (build it first, or set FLEXGATE_BIN/ECHO_BIN)"

# --- processes (as in bench/run.sh) ----------------------------------------------------------

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
WORK=$(mktemp -d "${TMPDIR:-/tmp}/flexgate-protocols.XXXXXX")
STARTED_PIDS=()

cleanup() {
  local pid
  # Every server runs in its own session (setsid): its group id is its pid.
  for pid in "${STARTED_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 20); do
    local alive=0
    for pid in "${STARTED_PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in "${STARTED_PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  if [[ ${KEEP_TMP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- certificate -----------------------------------------------------------------------------

# A throwaway CA and a server certificate it signs: EC P-256, SAN 127.0.0.1 and localhost.
CERTS=$WORK/certs
mkdir -p "$CERTS"
make_certs() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=FlexGate bench CA" -keyout "$CERTS/ca.key" -out "$CERTS/ca.pem"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout "$CERTS/server.key" -out "$CERTS/server.csr"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
    >"$CERTS/server.ext"
  openssl x509 -req -in "$CERTS/server.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "$CERTS/server.ext" -out "$CERTS/server.pem"
  cat "$CERTS/server.pem" "$CERTS/server.key" >"$CERTS/server-with-key.pem"  # HAProxy's `crt`
  chmod 644 "$CERTS"/*
}
make_certs >"$WORK/openssl.log" 2>&1 || {
  cat "$WORK/openssl.log" >&2
  die "openssl could not make the certificates"
}

# The echo upstream's port first, then two per proxy (its TLS and its h2c listener).
read -r -a FREE_PORTS <<<"$(free_ports $((1 + 2 * ${#TARGETS[@]})))"
ECHO_PORT=${FREE_PORTS[0]}

# render TEMPLATE OUTPUT PORT NAME: fills the {{NAME}} placeholders of a bench/ template.
render() {
  local user_directive=""
  [[ $EUID -eq 0 ]] && user_directive="user root;"  # nginx workers must reach the temp dir (mode 700)
  sed -e "s|{{WORKERS}}|$WORKERS|g" -e "s|{{PORT}}|$3|g" -e "s|{{ECHO_PORT}}|$ECHO_PORT|g" \
    -e "s|{{KEEPALIVE}}|$UPSTREAM_KEEPALIVE|g" -e "s|{{WORK}}|$WORK|g" -e "s|{{NAME}}|$4|g" \
    -e "s|{{USER_DIRECTIVE}}|$user_directive|g" -e "s|{{CERT}}|$CERTS/server.pem|g" \
    -e "s|{{KEY}}|$CERTS/server.key|g" -e "s|{{PEM}}|$CERTS/server-with-key.pem|g" "$BENCH_DIR/$1" >"$2"
}

# start NAME COMMAND...: runs a server in its own session from the temp dir; sets STARTED_PID.
start() {
  local name=$1
  shift
  (cd "$WORK" && exec setsid "$@" >"$WORK/$name.out" 2>"$WORK/$name.err") &
  STARTED_PID=$!
  STARTED_PIDS+=("$STARTED_PID")
}

# url_of SERVER: the base URL of a started server ("<proxy>-tls" or "<proxy>-h2c"; echo).
url_of() {
  case $1 in
    *-tls) echo "https://127.0.0.1:${PORT_OF[$1]}/" ;;
    *) echo "http://127.0.0.1:${PORT_OF[$1]}/" ;;
  esac
}

# wait_ready SERVER PID: true once GET / answers 200 (HTTPS, h2c prior knowledge or plain HTTP).
wait_ready() {
  local server=$1 pid=$2
  local args=()
  case $server in
    *-tls) args=(--cacert "$CERTS/ca.pem") ;;
    *-h2c) args=(--http2-prior-knowledge) ;;
  esac
  wait_until_answers "$pid" "$(url_of "$server")" 50 "${args[@]}"
}

stop() {
  kill -TERM -- "-$1" 2>/dev/null || true
  sleep 0.2
  kill -KILL -- "-$1" 2>/dev/null || true
}

declare -A PORT_OF PID_OF
SKIPPED=()
skip() {
  local name=$1 reason=$2 file
  log "SKIP $name: $reason"
  for file in "$WORK/$name.err" "$WORK/$name.out" "$WORK/$name.error.log"; do
    [[ -s $file ]] && tail -n 5 "$file" | sed 's/^/    /' >&2
  done
  SKIPPED+=("$name: $reason")
}

PORT_OF[echo]=$ECHO_PORT
start echo "$ECHO_BIN" echo-server --listen "127.0.0.1:$ECHO_PORT" --workers "$ECHO_WORKERS"
ECHO_PID=$STARTED_PID
wait_ready echo "$ECHO_PID" || die "the echo upstream did not start ($ECHO_BIN echo-server)"
log "echo upstream on :$ECHO_PORT (pid $ECHO_PID, $ECHO_WORKERS worker(s))"

ACTIVE=()  # servers that answered: flexgate-tls, flexgate-h2c, nginx-tls, ...
next_port=1
for target in "${TARGETS[@]}"; do
  for listener in tls h2c; do
    server=$target-$listener
    PORT_OF[$server]=${FREE_PORTS[$next_port]}
    next_port=$((next_port + 1))
    case $target in
      flexgate)
        render "flexgate-$listener.yml.tmpl" "$WORK/$server.yml" "${PORT_OF[$server]}" "$server"
        start "$server" "$FLEXGATE_BIN" run -c "$WORK/$server.yml"
        ;;
      nginx)
        render "nginx-$listener.conf.tmpl" "$WORK/$server.conf" "${PORT_OF[$server]}" "$server"
        start "$server" nginx -p "$WORK/" -e "$WORK/$server.error.log" -c "$WORK/$server.conf" -g "daemon off;"
        ;;
      haproxy)
        render "haproxy-$listener.cfg.tmpl" "$WORK/$server.cfg" "${PORT_OF[$server]}" "$server"
        start "$server" haproxy -db -f "$WORK/$server.cfg"
        ;;
      *) die "unknown target: $target" ;;
    esac
    PID_OF[$server]=$STARTED_PID
    if wait_ready "$server" "$STARTED_PID"; then
      log "$server on :${PORT_OF[$server]} (pid $STARTED_PID)"
      ACTIVE+=("$server")
    else
      skip "$server" "did not start or did not answer GET / with 200 in 50 tries 0.1 s apart"
      stop "$STARTED_PID"
    fi
  done
done
[[ ${#ACTIVE[@]} -gt 0 ]] || die "nothing to measure"

RAW_DIR=$WORK/raw
mkdir -p "$RAW_DIR"

# What each TLS listener negotiates, to show the configs are equivalent: protocol version, cipher
# suite, key exchange group and ALPN for a client offering h2 and http/1.1, and whether a second
# connection resumes the first one's session (the ticket is read after a request, as TLS 1.3 sends
# it after the handshake).
probe_tls() {
  python3 - "$CERTS/ca.pem" "$@" <<'EOF'
import socket, ssl, subprocess, sys
ca = sys.argv[1]
for arg in sys.argv[2:]:
    name, port = arg.split("=")
    port = int(port)
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    plain = ssl.create_default_context(cafile=ca)  # http/1.1 only, for the resumption check
    plain.set_alpn_protocols(["http/1.1"])
    try:
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=3), server_hostname="localhost") as s:
            version, alpn, cipher = s.version(), s.selected_alpn_protocol(), s.cipher()[0]
        session, resumed = None, []
        for attempt in range(3):
            with plain.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=3),
                                   server_hostname="localhost", session=session) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
                if attempt:
                    resumed.append(s.session_reused)
                session = s.session
        group = "?"
        out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
                              "-CAfile", ca, "-brief"], input=b"", capture_output=True, timeout=5)
        for line in out.stderr.decode(errors="replace").splitlines() + out.stdout.decode(errors="replace").splitlines():
            if "Server Temp Key" in line or "Negotiated TLS1.3 group" in line:
                group = line.split(":", 1)[1].strip()
        print("tls_%s=%s, %s, %s, ALPN %s, resumed %d/%d" % (name, version, cipher, group, alpn, sum(resumed), len(resumed)))
    except Exception as e:  # noqa: BLE001 -- a probe failure is reported, never fatal
        print("tls_%s=probe failed: %s" % (name, e))
EOF
}
probe_args=()
for server in "${ACTIVE[@]}"; do [[ $server == *-tls ]] && probe_args+=("${server%-tls}=${PORT_OF[$server]}"); done
TLS_PROBE=$(probe_tls "${probe_args[@]}" || true)
[[ -n $TLS_PROBE ]] && printf '%s\n' "$TLS_PROBE" | sed 's/^tls_/[protocols] TLS: /' >&2

# --- measurement (helpers as in bench/run.sh) ------------------------------------------------

group_pids() { pgrep -g "$1" || true; }

# Sum of utime+stime (clock ticks) over the given processes, threads included.
cpu_ticks() {
  local total=0 pid line
  local -a f
  for pid in "$@"; do
    line=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<<"${line##*) }"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
reset_peak_rss() {
  local pid
  for pid in "$@"; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
}
peak_rss_kb() {
  local total=0 pid kb
  for pid in "$@"; do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

# `bash $S_TIME_BATCH SECONDS PROCESSES HOST:PORT DIR`: PROCESSES `openssl s_time -new` at once
# for SECONDS; prints the first one's output and a summary line (full handshakes, wall time, rate,
# failed processes, bytes read per connection).
S_TIME_BATCH=$WORK/s_time_batch.sh
cat >"$S_TIME_BATCH" <<'EOF'
seconds=$1 procs=$2 hostport=$3 dir=$4
start=$(date +%s.%N)
pids=()
for ((i = 0; i < procs; i++)); do
  openssl s_time -connect "$hostport" -new -www / -time "$seconds" >"$dir/$i.txt" 2>&1 &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
end=$(date +%s.%N)
cat "$dir/0.txt"
cat "$dir"/*.txt | awk -v start="$start" -v end="$end" -v procs="$procs" -v failed="$failed" '
  / connections in .* real seconds/ { n += $1; bytes += $1 * $7 }
  END { printf "full handshakes: %d in %.2f s wall, %.2f/s (%d processes, %d failed, %.0f bytes read per connection)\n",
        n, end - start, n / (end - start), procs, failed, n ? bytes / n : 0 }'
EOF

# load TOOL SECONDS CONNECTIONS URL [extra args...]: one wrk (1 thread), h2load (1 thread) or
# s_time batch. With TIME_FILE set, the tool's "elapsed user system" seconds go there; with H2_LOG
# set, h2load writes one line per request there (for the latency percentiles).
load() {
  local tool=$1 seconds=$2 connections=$3 url=$4
  shift 4
  local timer=()
  [[ -n ${TIME_FILE:-} ]] && timer=(/usr/bin/time -o "$TIME_FILE" -f "%e %U %S")
  if [[ $tool == wrk ]]; then
    timeout $((seconds + 15)) "${timer[@]}" wrk -t1 "-c$connections" "-d${seconds}s" --latency "$@" "$url"
  elif [[ $tool == s_time ]]; then
    local hostport=${url#https://}
    local dir
    dir=$(mktemp -d "$WORK/s_time.XXXXXX")
    timeout $((seconds + 15)) "${timer[@]}" bash "$S_TIME_BATCH" "$seconds" "$connections" "${hostport%/}" "$dir"
    rm -rf "$dir"
  else
    local log_args=()
    [[ -n ${H2_LOG:-} ]] && log_args=("--log-file=$H2_LOG")
    timeout $((seconds + 15)) "${timer[@]}" h2load -t1 "-c$connections" "-m$H2_STREAMS" "-D$seconds" \
      "${log_args[@]}" "$@" "$url"
  fi
}

# h2load's per-request log (start µs, status, duration µs) -> "latency p50 X ms p99 Y ms".
h2_percentiles() {
  python3 - "$1" <<'EOF'
import sys
d = sorted(int(line.split()[2]) for line in open(sys.argv[1]) if len(line.split()) >= 3)
if d:
    pick = lambda q: d[min(len(d) - 1, int(q * len(d)))] / 1000.0
    print("latency p50 %.3f ms p99 %.3f ms (from %d requests)" % (pick(0.50), pick(0.99), len(d)))
EOF
}

INDEX=$RAW_DIR/index.tsv
printf 'scenario\ttarget\tround\tcpu_ticks\tpeak_rss_kb\twrk_output\twrk_status\techo_ticks\tmachine_ticks\ttool\n' \
  >"$INDEX"

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
total_runs=0
for scenario in "${SCENARIO_LIST[@]}"; do
  IFS='|' read -r _ listener _ <<<"$scenario"
  for server in "${ACTIVE[@]}"; do [[ $server == *-"$listener" ]] && total_runs=$((total_runs + 1)); done
done
total_runs=$((total_runs * ROUNDS))
log "$total_runs runs of ${DURATION}s (+${WARMUP}s warm-up): about $((total_runs * (DURATION + WARMUP + 1) / 60 + 1)) min"
run=0
for ((round = 1; round <= ROUNDS; round++)); do
  for scenario in "${SCENARIO_LIST[@]}"; do
    IFS='|' read -r name listener tool connections close <<<"$scenario"
    extra_args=()
    [[ $close == close ]] && extra_args=(-H "Connection: close")
    servers=()
    for server in "${ACTIVE[@]}"; do [[ $server == *-"$listener" ]] && servers+=("$server"); done
    count=${#servers[@]}
    for ((i = 0; i < count; i++)); do
      server=${servers[$(((i + round - 1) % count))]}  # rotate the order every round
      target=${server%-"$listener"}
      run=$((run + 1))
      if ! kill -0 "${PID_OF[$server]}" 2>/dev/null; then
        log "[$run/$total_runs] $name $target: process is gone, skipped"
        continue
      fi
      url=$(url_of "$server")
      if [[ $WARMUP -gt 0 ]]; then
        load "$tool" "$WARMUP" "$connections" "$url" "${extra_args[@]}" >/dev/null 2>&1 || true
      fi
      mapfile -t pids < <(group_pids "${PID_OF[$server]}")
      reset_peak_rss "${pids[@]}"
      mapfile -t echo_pids < <(group_pids "$ECHO_PID")
      out=$name.$target.$round.txt
      h2_log=""
      [[ $tool == h2load ]] && h2_log=$WORK/h2load-requests.log && rm -f "$h2_log"
      echo_before=$(cpu_ticks "${echo_pids[@]}")
      machine_before=$(machine_busy_ticks)
      before=$(cpu_ticks "${pids[@]}")
      status=0
      TIME_FILE=$RAW_DIR/$out.time H2_LOG=$h2_log load "$tool" "$DURATION" "$connections" "$url" \
        "${extra_args[@]}" >"$RAW_DIR/$out" 2>&1 || status=$?
      after=$(cpu_ticks "${pids[@]}")
      machine_after=$(machine_busy_ticks)
      echo_after=$(cpu_ticks "${echo_pids[@]}")
      rss=$(peak_rss_kb "${pids[@]}")
      if [[ -n $h2_log && -s $h2_log ]]; then
        h2_percentiles "$h2_log" >>"$RAW_DIR/$out"
        rm -f "$h2_log"
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$target" "$round" "$((after - before))" "$rss" \
        "$out" "$status" "$((echo_after - echo_before))" "$((machine_after - machine_before))" "$tool" >>"$INDEX"
      rate=$(awk '/^Requests\/sec/ {print $2 " req/s"} /^finished in/ {print $4 " req/s"}
        /^full handshakes:/ {sub("/s", "", $8); print $8 " handshakes/s"}' "$RAW_DIR/$out")
      log "[$run/$total_runs] $name $target: ${rate:-no result (status $status)}"
    done
  done
done

# --- report ----------------------------------------------------------------------------------

version_of() { "$@" 2>&1 | head -1 || true; }
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -sr)"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "workers=$WORKERS"
  echo "echo_workers=$ECHO_WORKERS"
  echo "keepalive=$UPSTREAM_KEEPALIVE"
  echo "duration=$DURATION"
  echo "warmup=$WARMUP"
  echo "rounds=$ROUNDS"
  echo "h2_clients=$H2_CLIENTS"
  echo "h2_streams=$H2_STREAMS"
  echo "clk_tck=$(getconf CLK_TCK)"
  echo "loadavg_start=$LOADAVG_START"
  echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "flexgate=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "nginx=$(version_of nginx -v)"
  echo "haproxy=$(version_of haproxy -v)"
  echo "wrk=$(version_of wrk -v)"
  echo "h2load=$(version_of h2load --version)"
  echo "openssl=$(version_of openssl version)"
  [[ -n $TLS_PROBE ]] && printf '%s\n' "$TLS_PROBE"
  for s in "${SKIPPED[@]}"; do echo "skipped=$s"; done
} >"$RAW_DIR/meta.txt"

mkdir -p "$RESULTS_DIR"
rm -rf "$RESULTS_DIR/protocols-raw"
cp -r "$RAW_DIR" "$RESULTS_DIR/protocols-raw"  # first, so a report bug loses no data
python3 "$BENCH_DIR/report.py" --protocols "$RESULTS_DIR/protocols-raw" --out "$RESULTS_DIR/protocols.md"
log "wrote $RESULTS_DIR/protocols.md (raw output in $RESULTS_DIR/protocols-raw/)"
