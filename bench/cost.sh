#!/usr/bin/env bash
# The steady half of `make bench`: user-space instructions and syscalls per request for FlexGate and
# its peers, one worker each, `ab -k -c1` on a small GET after a warm-up (the *-h2c targets: HTTP/2
# with prior knowledge, `h2load -c4 -m10`, four connections of ten concurrent streams each,
# opened afresh for the measured window). Wall-clock req/s on a
# shared 2-core machine wobbles by 5-20%; these two counts move by a few percent at most.
#   instructions: the proxy runs under callgrind; counters are zeroed after the warm-up and dumped
#                 after COST_REQUESTS requests (every thread of the process is counted).
#   syscalls:     `strace -c -f` attached to every thread for the same number of requests.
# Writes a TSV (target, requests, instructions, syscalls, per-syscall counts) to $1 (default
# bench/results/latest-raw/cost.tsv); bench/report.py turns it into the README table.
# Environment: FLEXGATE_BIN, ECHO_BIN, COST_TARGETS (default "flexgate flexgate-policies
# flexgate-headers nginx haproxy flexgate-h2c nginx-h2c haproxy-h2c"),
# COST_REQUESTS (default 5000), COST_H2LOAD_ARGS (default "-c4 -m10"), KEEP_TMP=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
# shellcheck source=scripts/lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
export PATH=$PATH:/usr/sbin:/sbin
FLEXGATE_BIN=$(realpath -m "${FLEXGATE_BIN:-$ROOT/build/flexgate}")
ECHO_BIN=$(realpath -m "${ECHO_BIN:-$FLEXGATE_BIN}")
REQUESTS=${COST_REQUESTS:-5000}
WARMUP_REQUESTS=2000
read -r -a TARGETS <<<"${COST_TARGETS:-flexgate flexgate-policies flexgate-headers nginx haproxy flexgate-h2c nginx-h2c haproxy-h2c}"
OUT=${1:-$BENCH_DIR/results/latest-raw/cost.tsv}
API_KEY=bench-key-0123456789  # the key whose hash bench/flexgate-policies.yml.tmpl accepts

log() { printf '[cost] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
for tool in valgrind callgrind_control strace ab h2load nginx haproxy curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --bench installs it)"
done
[[ -x $FLEXGATE_BIN ]] || die "binary not found: $FLEXGATE_BIN"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flexgate-cost.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  if [[ ${KEEP_TMP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

read -r ECHO_PORT PROXY_PORT <<<"$(free_ports 2)"

render() {
  local user_directive=""
  [[ $EUID -eq 0 ]] && user_directive="user root;"
  sed -e "s|{{WORKERS}}|1|g" -e "s|{{PORT}}|$PROXY_PORT|g" -e "s|{{ECHO_PORT}}|$ECHO_PORT|g" \
    -e "s|{{KEEPALIVE}}|64|g" -e "s|{{WORK}}|$WORK|g" -e "s|{{USER_DIRECTIVE}}|$user_directive|g" \
    -e "s|{{NAME}}|${3:-cost}|g" \
    "$BENCH_DIR/$1" >"$2"
}

# start NAME COMMAND...: a server in its own session (its pid is its group id); sets STARTED_PID.
start() {
  local name=$1
  shift
  (cd "$WORK" && exec setsid "$@" >"$WORK/$name.out" 2>"$WORK/$name.err") &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}

# wait_ready PID PORT [HEADER] [h2c]: true once GET / answers 200 (60 s at most: valgrind starts
# slowly); with h2c, over HTTP/2 with prior knowledge.
wait_ready() {
  local options=()
  [[ -n ${3:-} ]] && options=(-H "$3")
  [[ ${4:-} == h2c ]] && options+=(--http2-prior-knowledge)
  wait_until_answers "$1" "http://127.0.0.1:$2/" 600 "${options[@]}"
}

stop_group() {
  kill -TERM -- "-$1" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$1" 2>/dev/null || true
}

# ab_run N [HEADER]: N keep-alive GETs of / from one connection; fails unless all N succeeded.
ab_run() {
  local header=()
  [[ -n ${2:-} ]] && header=(-H "$2")
  local report
  report=$(ab -q -k -c1 -n "$1" "${header[@]}" "http://127.0.0.1:$PROXY_PORT/" 2>&1) || {
    echo "$report" >&2
    return 1
  }
  local failed non2xx
  failed=$(awk '/^Failed requests:/ {print $3}' <<<"$report")
  non2xx=$(awk '/^Non-2xx responses:/ {print $3}' <<<"$report")
  if [[ ${failed:-0} != 0 || -n $non2xx ]]; then
    echo "$report" >&2
    return 1
  fi
}

# h2load_run N: N GETs of / over four h2c connections of ten concurrent streams each (or
# COST_H2LOAD_ARGS); fails unless all N succeeded.
h2load_run() {
  local report
  read -r -a shape <<<"${COST_H2LOAD_ARGS:--c4 -m10}"
  report=$(h2load -n "$1" "${shape[@]}" "http://127.0.0.1:$PROXY_PORT/" 2>&1) || {
    echo "$report" >&2
    return 1
  }
  if ! grep -q "requests: $1 total, $1 started, $1 done, $1 succeeded" <<<"$report"; then
    echo "$report" >&2
    return 1
  fi
}

# load TARGET N: the target's load for N requests (h2load for the *-h2c targets, ab otherwise).
load() {
  if [[ $1 == *-h2c ]]; then h2load_run "$2"; else ab_run "$2" "$key_header"; fi
}

# command_for TARGET: the server's command line, one worker, in the foreground.
command_for() {
  case $1 in
    flexgate) render flexgate.yml.tmpl "$WORK/flexgate.yml" && echo "$FLEXGATE_BIN run -c $WORK/flexgate.yml" ;;
    flexgate-policies)
      render flexgate-policies.yml.tmpl "$WORK/policies.yml" && echo "$FLEXGATE_BIN run -c $WORK/policies.yml"
      ;;
    flexgate-headers)
      render flexgate-headers.yml.tmpl "$WORK/headers.yml" && echo "$FLEXGATE_BIN run -c $WORK/headers.yml"
      ;;
    nginx)
      render nginx.conf.tmpl "$WORK/nginx.conf"
      echo "nginx -p $WORK/ -e $WORK/nginx.error.log -c $WORK/nginx.conf -g daemon_off_master_off"
      ;;
    haproxy) render haproxy.cfg.tmpl "$WORK/haproxy.cfg" && echo "haproxy -db -f $WORK/haproxy.cfg" ;;
    flexgate-h2c) render flexgate-h2c.yml.tmpl "$WORK/h2c.yml" && echo "$FLEXGATE_BIN run -c $WORK/h2c.yml" ;;
    nginx-h2c)
      render nginx-h2c.conf.tmpl "$WORK/nginx-h2c.conf" nginx-h2c
      echo "nginx -p $WORK/ -e $WORK/nginx.error.log -c $WORK/nginx-h2c.conf -g daemon_off_master_off"
      ;;
    haproxy-h2c) render haproxy-h2c.cfg.tmpl "$WORK/haproxy-h2c.cfg" && echo "haproxy -db -f $WORK/haproxy-h2c.cfg" ;;
    *) die "unknown target $1" ;;
  esac
}

# split_command LINE: the argument array (the nginx -g value holds spaces, so it is spelled out).
split_command() {
  read -r -a CMD <<<"$1"
  local i
  for i in "${!CMD[@]}"; do
    if [[ ${CMD[$i]} == daemon_off_master_off ]]; then CMD[$i]="daemon off; master_process off;"; fi
  done
}

start echo "$ECHO_BIN" echo-server --listen "127.0.0.1:$ECHO_PORT" --workers 1
ECHO_PID=$STARTED_PID
wait_ready "$ECHO_PID" "$ECHO_PORT" || die "the echo upstream did not start"

printf 'target\trequests\tinstructions\tsyscalls\tsyscall_mix\n' >"$OUT"
for target in "${TARGETS[@]}"; do
  key_header=""
  [[ $target == flexgate-policies ]] && key_header="X-API-Key: $API_KEY"
  protocol=""
  [[ $target == *-h2c ]] && protocol=h2c
  split_command "$(command_for "$target")"

  # Instructions: callgrind, counters zeroed after the warm-up.
  start "$target-cg" valgrind --tool=callgrind ${CALLGRIND_ARGS:-} --callgrind-out-file="$WORK/$target.cg" "${CMD[@]}"
  pid=$STARTED_PID
  if ! wait_ready "$pid" "$PROXY_PORT" "$key_header" "$protocol"; then
    tail -5 "$WORK/$target-cg.err" >&2
    log "SKIP $target: did not start under valgrind"
    stop_group "$pid"
    continue
  fi
  load "$target" "$WARMUP_REQUESTS" || die "$target: warm-up failed"
  callgrind_control -z "$pid" >/dev/null 2>&1
  load "$target" "$REQUESTS" || die "$target: measured run failed"
  callgrind_control -d "$pid" >/dev/null 2>&1
  stop_group "$pid"
  # `-d` wrote the measured window to $target.cg.1 (the exit dump, $target.cg, is the shutdown).
  instructions=$(awk '/^summary:/ {print $2; exit}' "$WORK/$target.cg.1" 2>/dev/null || true)
  instructions=${instructions:-0}

  # Syscalls: strace -c on every thread, attached after the warm-up.
  start "$target" "${CMD[@]}"
  pid=$STARTED_PID
  wait_ready "$pid" "$PROXY_PORT" "$key_header" "$protocol" || die "$target did not start"
  load "$target" "$WARMUP_REQUESTS" || die "$target: warm-up failed"
  mapfile -t tids < <(for p in $(pgrep -g "$pid"); do ls "/proc/$p/task"; done)
  attach=()
  for tid in "${tids[@]}"; do attach+=(-p "$tid"); done
  strace -c -f -o "$WORK/$target.strace" "${attach[@]}" 2>"$WORK/$target.strace.err" &
  strace_pid=$!
  for _ in $(seq 100); do  # strace says "Process N attached" once per thread
    [[ $(grep -c attached "$WORK/$target.strace.err" 2>/dev/null || true) -ge ${#tids[@]} ]] && break
    sleep 0.05
  done
  load "$target" "$REQUESTS" || die "$target: measured run failed"
  kill -INT "$strace_pid"
  wait "$strace_pid" || true
  stop_group "$pid"
  syscalls=$(awk '$NF == "total" {print $4}' "$WORK/$target.strace")
  mix=$(awk -v n="$REQUESTS" '$1 ~ /^[0-9.]+$/ && $NF != "total" && NF >= 5 {
           printf "%s%s=%.2f", sep, $NF, $4 / n; sep = ","}' "$WORK/$target.strace")
  printf '%s\t%s\t%s\t%s\t%s\n' "$target" "$REQUESTS" "$instructions" "${syscalls:-0}" "$mix" >>"$OUT"
  log "$target: $((instructions / REQUESTS)) instructions/request, $(awk -v s="${syscalls:-0}" -v n="$REQUESTS" 'BEGIN {printf "%.2f", s / n}') syscalls/request ($mix)"
done
