# shellcheck shell=bash
# Shell helpers for the scripts that start servers on loopback (bench/*.sh, scripts/pgo/train.sh):
# picking free ports and waiting until a server answers. Source it; it defines functions only.

# free_ports N: prints N free loopback TCP ports, all different (held open together while picking).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
}

# wait_until_answers PID URL TRIES [CURL_OPTION...]: true once GET URL answers 2xx, trying every
# 0.1 s at most TRIES times; false as soon as process PID is gone (a server that failed its start).
wait_until_answers() {
  local pid=$1 url=$2 tries=$3
  shift 3
  local try  # not `_`: bash sets $_ to each command's last argument (sleep's 0.1)
  for ((try = 0; try < tries; try++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
