#!/usr/bin/env bash
# `make bench`: FlexGate, nginx and HAProxy as equivalent keep-alive reverse proxies in front of
# the FlexGate echo upstream, measured with wrk on this machine; "direct" is the echo server alone.
# Prints a Markdown table and writes it to bench/results/latest.md (raw wrk output next to it, and a
# copy of the table per run in bench/results/runs/ for bench/runs.py).
#
# Builds nothing: FLEXGATE_BIN (default build/flexgate) must exist; it is also the echo server.
# Environment:
#   FLEXGATE_BIN   proxy binary (`run -c FILE`)             default build/flexgate
#   ECHO_BIN       echo upstream binary (`echo-server`)     default $FLEXGATE_BIN
#   WORKERS        worker threads/processes of every proxy  default 2
#   ECHO_WORKERS   echo upstream workers                    default 1
#   UPSTREAM_KEEPALIVE  idle upstream connections kept per worker (nginx, FlexGate)  default 256
#   DURATION       seconds per measured wrk run             default 5
#   WARMUP         seconds of unmeasured wrk before each    default 1
#   ROUNDS         rounds; every proxy runs once per round  default 5 (the median is reported)
#   QUICK=1        smoke test: 1 round of 2 s
#   TARGETS        subset of "direct flexgate nginx haproxy flexgate-policies flexgate-logged
#                  flexgate-rl-memory flexgate-rl-redis flexgate-headers" (the flexgate-* ones run
#                  the get-small-c64 scenario only: they measure what every everyday policy together
#                  (API key, rate limit, sampled access log, metrics), the access log alone, a
#                  rate-limit decision (memory table or Redis round trip) and five header operations
#                  cost per request)
#   COST=0         skip bench/cost.sh (instructions and syscalls per request, after the wrk runs)
#   SCENARIOS      subset of scenario names (see below)
#   KEEP_TMP=1     keep the temp dir with configs and logs
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
if [[ ${QUICK:-0} == 1 ]]; then
  ROUNDS=1
  DURATION=2
fi
read -r -a TARGETS <<<"${TARGETS:-direct flexgate nginx haproxy flexgate-policies flexgate-logged flexgate-rl-memory flexgate-rl-redis flexgate-headers}"
API_KEY_HEADER="X-API-Key: bench-key-0123456789"  # the key bench/flexgate-policies.yml.tmpl accepts
EXTRA_SCENARIO=get-small-c64

# name|path|connections|wrk script (relative to bench/)
ALL_SCENARIOS=(
  "get-small-c64|/|64|"
  "get-small-c256|/|256|"
  "bytes-4k|/bytes/4096|64|"
  "bytes-64k|/bytes/65536|64|"
  "post-16k|/|64|post16k.lua"
)
SCENARIO_LIST=()
for s in "${ALL_SCENARIOS[@]}"; do
  if [[ -z ${SCENARIOS:-} || " $SCENARIOS " == *" ${s%%|*} "* ]]; then SCENARIO_LIST+=("$s"); fi
done

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# --- tools -----------------------------------------------------------------------------------

APT_UPDATED=0
# install_tool COMMAND PACKAGE...: installs the first package that provides COMMAND, if absent.
install_tool() {
  local cmd=$1
  shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  local sudo=()
  [[ $EUID -eq 0 ]] || sudo=(sudo)
  if [[ $APT_UPDATED == 0 ]]; then
    "${sudo[@]}" apt-get update -qq || true
    APT_UPDATED=1
  fi
  local pkg
  for pkg in "$@"; do
    log "installing $pkg (for $cmd)"
    if "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; then
      command -v "$cmd" >/dev/null 2>&1 && return 0
    fi
  done
  die "cannot install $cmd (tried: $*)"
}
install_tool wrk wrk
install_tool nginx nginx-light nginx
install_tool haproxy haproxy
install_tool curl curl
if [[ " ${TARGETS[*]} " == *" flexgate-rl-redis "* ]]; then install_tool redis-server redis-server; fi
[[ -x /usr/bin/time ]] || install_tool /usr/bin/time time
command -v python3 >/dev/null || die "python3 is required"
[[ -x $ECHO_BIN ]] || die "echo server binary not found: $ECHO_BIN (build it first, or set FLEXGATE_BIN/ECHO_BIN)"

# --- processes -------------------------------------------------------------------------------

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # 256 connections x 2 sockets per proxy
WORK=$(mktemp -d "${TMPDIR:-/tmp}/flexgate-bench.XXXXXX")
STARTED_PIDS=()

cleanup() {
  local pid
  # Every server runs in its own session (setsid), so its group id is its pid: signalling the
  # group also reaches nginx's workers.
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

read -r ECHO_PORT FLEXGATE_PORT NGINX_PORT HAPROXY_PORT RL_MEMORY_PORT RL_REDIS_PORT REDIS_PORT LOGGED_PORT \
  HEADERS_PORT POLICIES_PORT <<<"$(free_ports 10)"

# render TEMPLATE OUTPUT PORT: fills the {{NAME}} placeholders of a bench/ template.
render() {
  local user_directive=""
  [[ $EUID -eq 0 ]] && user_directive="user root;"  # workers must reach the temp dir (mode 700)
  sed -e "s|{{WORKERS}}|$WORKERS|g" -e "s|{{PORT}}|$3|g" -e "s|{{ECHO_PORT}}|$ECHO_PORT|g" \
    -e "s|{{KEEPALIVE}}|$UPSTREAM_KEEPALIVE|g" -e "s|{{WORK}}|$WORK|g" \
    -e "s|{{USER_DIRECTIVE}}|$user_directive|g" -e "s|{{REDIS_PORT}}|$REDIS_PORT|g" "$BENCH_DIR/$1" >"$2"
}

# start NAME COMMAND...: runs a server in its own session from the temp dir; sets STARTED_PID.
start() {
  local name=$1
  shift
  (cd "$WORK" && exec setsid "$@" >"$WORK/$name.out" 2>"$WORK/$name.err") &
  STARTED_PID=$!
  STARTED_PIDS+=("$STARTED_PID")
}

# wait_ready NAME PID PORT: true once GET / answers 200 through PORT (5 s at most).
wait_ready() {
  local name=$1 pid=$2 port=$3
  local header=()
  [[ $name == flexgate-policies ]] && header=(-H "$API_KEY_HEADER")
  wait_until_answers "$pid" "http://127.0.0.1:$port/" 50 "${header[@]}"
}

# stop PID: ends a server that failed its start (its whole group).
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

start echo "$ECHO_BIN" echo-server --listen "127.0.0.1:$ECHO_PORT" --workers "$ECHO_WORKERS"
ECHO_PID=$STARTED_PID
if ! wait_ready echo "$ECHO_PID" "$ECHO_PORT"; then
  sed 's/^/    /' "$WORK/echo.err" >&2 || true
  die "the echo upstream did not start ($ECHO_BIN echo-server)"
fi
log "echo upstream on :$ECHO_PORT (pid $ECHO_PID, $ECHO_WORKERS worker(s))"

ACTIVE=()
for target in "${TARGETS[@]}"; do
  case $target in
    direct)
      PORT_OF[direct]=$ECHO_PORT
      PID_OF[direct]=$ECHO_PID
      ACTIVE+=(direct)
      continue
      ;;
    flexgate)
      if [[ ! -x $FLEXGATE_BIN ]]; then
        skip flexgate "binary not found: $FLEXGATE_BIN"
        continue
      fi
      render flexgate.yml.tmpl "$WORK/flexgate.yml" "$FLEXGATE_PORT"
      PORT_OF[flexgate]=$FLEXGATE_PORT
      start flexgate "$FLEXGATE_BIN" run -c "$WORK/flexgate.yml"
      ;;
    flexgate-logged | flexgate-rl-memory | flexgate-rl-redis | flexgate-headers | flexgate-policies)
      if [[ ! -x $FLEXGATE_BIN ]]; then
        skip "$target" "binary not found: $FLEXGATE_BIN"
        continue
      fi
      if [[ $target == flexgate-rl-redis ]]; then
        start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no
        redis_up=0
        for _ in $(seq 50); do
          [[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && redis_up=1 && break
          sleep 0.1
        done
        if [[ $redis_up == 0 ]]; then
          skip "$target" "redis-server did not start"
          continue
        fi
        PORT_OF[$target]=$RL_REDIS_PORT
      elif [[ $target == flexgate-logged ]]; then
        PORT_OF[$target]=$LOGGED_PORT
      elif [[ $target == flexgate-headers ]]; then
        PORT_OF[$target]=$HEADERS_PORT
      elif [[ $target == flexgate-policies ]]; then
        PORT_OF[$target]=$POLICIES_PORT
      else
        PORT_OF[$target]=$RL_MEMORY_PORT
      fi
      render "$target.yml.tmpl" "$WORK/$target.yml" "${PORT_OF[$target]}"
      start "$target" "$FLEXGATE_BIN" run -c "$WORK/$target.yml"
      ;;
    nginx)
      render nginx.conf.tmpl "$WORK/nginx.conf" "$NGINX_PORT"
      PORT_OF[nginx]=$NGINX_PORT
      start nginx nginx -p "$WORK/" -e "$WORK/nginx.error.log" -c "$WORK/nginx.conf" -g "daemon off;"
      ;;
    haproxy)
      render haproxy.cfg.tmpl "$WORK/haproxy.cfg" "$HAPROXY_PORT"
      PORT_OF[haproxy]=$HAPROXY_PORT
      start haproxy haproxy -db -f "$WORK/haproxy.cfg"
      ;;
    *) die "unknown target: $target" ;;
  esac
  PID_OF[$target]=$STARTED_PID
  if wait_ready "$target" "$STARTED_PID" "${PORT_OF[$target]}"; then
    log "$target on :${PORT_OF[$target]} (pid $STARTED_PID)"
    ACTIVE+=("$target")
  else
    skip "$target" "did not start or did not answer GET / with 200 in 50 tries 0.1 s apart"
    stop "$STARTED_PID"
  fi
done
[[ ${#ACTIVE[@]} -gt 0 ]] || die "nothing to measure"

# --- measurement -----------------------------------------------------------------------------

# Every process of a server (nginx: master and workers); its session's group id is its pid.
group_pids() { pgrep -g "$1" || true; }

# Sum of utime+stime (clock ticks) over the given processes, threads included.
cpu_ticks() {
  local total=0 pid line
  local -a f
  for pid in "$@"; do
    line=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<<"${line##*) }"  # fields after "(comm)": f[0] is field 3, state
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

# Busy clock ticks of the whole machine (user+nice+system+irq+softirq+steal over all CPUs).
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

# Resets the peak RSS (VmHWM) of each process to its current RSS (Linux clear_refs 5).
reset_peak_rss() {
  local pid
  for pid in "$@"; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
}

# Sum of VmHWM (KiB) over the given processes.
peak_rss_kb() {
  local total=0 pid kb
  for pid in "$@"; do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

RAW_DIR=$WORK/raw
mkdir -p "$RAW_DIR"
INDEX=$RAW_DIR/index.tsv
printf 'scenario\ttarget\tround\tcpu_ticks\tpeak_rss_kb\twrk_output\twrk_status\techo_ticks\tmachine_ticks\n' \
  >"$INDEX"

# run_wrk SECONDS CONNECTIONS SCRIPT URL [extra wrk args...]; TIME_FILE set: wrk's own
# "elapsed user system" seconds go there (to tell the machine's other load from ours).
run_wrk() {
  local seconds=$1 connections=$2 script=$3 url=$4
  shift 4
  local args=(-t1 "-c$connections" "-d${seconds}s" "$@")
  [[ -n $script ]] && args+=(-s "$BENCH_DIR/$script")
  local timer=()
  [[ -n ${TIME_FILE:-} ]] && timer=(/usr/bin/time -o "$TIME_FILE" -f "%e %U %S")
  timeout $((seconds + 15)) "${timer[@]}" wrk "${args[@]}" "$url"
}

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
extra_targets=0
for target in "${ACTIVE[@]}"; do [[ $target == flexgate-?* ]] && extra_targets=$((extra_targets + 1)); done
extra_scenarios=0
for scenario in "${SCENARIO_LIST[@]}"; do [[ ${scenario%%|*} == "$EXTRA_SCENARIO" ]] && extra_scenarios=1; done
total_runs=$((ROUNDS * (${#SCENARIO_LIST[@]} * (${#ACTIVE[@]} - extra_targets) + extra_scenarios * extra_targets)))
log "$total_runs runs of ${DURATION}s (+${WARMUP}s warm-up): about $((total_runs * (DURATION + WARMUP) / 60 + 1)) min"
run=0
for ((round = 1; round <= ROUNDS; round++)); do
  for scenario in "${SCENARIO_LIST[@]}"; do
    IFS='|' read -r name path connections script <<<"$scenario"
    # Rotate the order each round so no proxy always runs first (or right after the same peer).
    count=${#ACTIVE[@]}
    for ((i = 0; i < count; i++)); do
      target=${ACTIVE[$(((i + round - 1) % count))]}
      [[ $target == flexgate-?* && $target != flexgate && $name != "$EXTRA_SCENARIO" ]] && continue
      run=$((run + 1))
      url="http://127.0.0.1:${PORT_OF[$target]}$path"
      if ! kill -0 "${PID_OF[$target]}" 2>/dev/null; then
        log "[$run/$total_runs] $name $target: process is gone, skipped"
        continue
      fi
      auth=()
      [[ $target == flexgate-policies ]] && auth=(-H "$API_KEY_HEADER")
      run_wrk "$WARMUP" "$connections" "$script" "$url" "${auth[@]}" >/dev/null 2>&1 || true
      mapfile -t pids < <(group_pids "${PID_OF[$target]}")
      reset_peak_rss "${pids[@]}"
      mapfile -t echo_pids < <(group_pids "$ECHO_PID")
      out=$name.$target.$round.txt
      echo_before=$(cpu_ticks "${echo_pids[@]}")
      machine_before=$(machine_busy_ticks)
      before=$(cpu_ticks "${pids[@]}")
      status=0
      TIME_FILE=$RAW_DIR/$out.time run_wrk "$DURATION" "$connections" "$script" "$url" --latency "${auth[@]}" \
        >"$RAW_DIR/$out" 2>&1 || status=$?
      after=$(cpu_ticks "${pids[@]}")
      machine_after=$(machine_busy_ticks)
      echo_after=$(cpu_ticks "${echo_pids[@]}")
      rss=$(peak_rss_kb "${pids[@]}")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$target" "$round" "$((after - before))" "$rss" \
        "$out" "$status" "$((echo_after - echo_before))" "$((machine_after - machine_before))" >>"$INDEX"
      log "[$run/$total_runs] $name $target: $(awk '/^Requests\/sec/ {print $2 " req/s"}' "$RAW_DIR/$out")"
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
  echo "clk_tck=$(getconf CLK_TCK)"
  echo "loadavg_start=$LOADAVG_START"
  echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "flexgate=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "nginx=$(version_of nginx -v)"
  echo "haproxy=$(version_of haproxy -v)"
  echo "wrk=$(version_of wrk -v)"
  for s in "${SKIPPED[@]}"; do echo "skipped=$s"; done
} >"$RAW_DIR/meta.txt"

# The steady counts: instructions and syscalls per request (one worker each, its own processes).
if [[ ${COST:-1} != 0 ]]; then
  for pid in "${STARTED_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done  # a quiet machine
  FLEXGATE_BIN=$FLEXGATE_BIN ECHO_BIN=$ECHO_BIN bash "$BENCH_DIR/cost.sh" "$RAW_DIR/cost.tsv" ||
    log "cost.sh failed: no instruction/syscall figures this time"
fi

mkdir -p "$RESULTS_DIR"
rm -rf "$RESULTS_DIR/latest-raw"
cp -r "$RAW_DIR" "$RESULTS_DIR/latest-raw"  # first, so a report bug loses no data
# A copy per run too: one run on a shared machine says little, bench/runs.py puts them side by side.
python3 "$BENCH_DIR/report.py" "$RESULTS_DIR/latest-raw" --out "$RESULTS_DIR/latest.md" --keep-in "$RESULTS_DIR/runs"
log "wrote $RESULTS_DIR/latest.md (raw wrk output in $RESULTS_DIR/latest-raw/)"
