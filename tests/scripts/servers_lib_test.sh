#!/usr/bin/env bash
# scripts/lib/servers.sh, which the bench scripts and the profile-guided build's training run use
# to pick ports and wait for their servers.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib/servers.sh"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
PIDS=()
trap 'for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT

read -r -a ports <<<"$(free_ports 3)"
[[ ${#ports[@]} == 3 ]] || fail "free_ports 3 gave ${#ports[@]} ports"
[[ $(printf '%s\n' "${ports[@]}" | sort -u | wc -l) == 3 ]] || fail "free_ports repeated a port: ${ports[*]}"

# A server that starts listening only after several tries have failed: the loop must keep
# trying (it once stopped after the first sleep, reading its counter from bash's $_).
(sleep 0.5 && exec python3 -m http.server "${ports[0]}" --bind 127.0.0.1 >/dev/null 2>&1) &
PIDS+=($!)
wait_until_answers "$!" "http://127.0.0.1:${ports[0]}/" 100 || fail "a server that starts late was not waited for"

# A process that exits: false at once, not after every try.
sleep 30 &
PIDS+=($!)
kill "$!"
wait "$!" 2>/dev/null || true
SECONDS=0
wait_until_answers "$!" "http://127.0.0.1:${ports[1]}/" 1000 && fail "a process that is gone counted as ready"
((SECONDS < 5)) || fail "a process that is gone was tried until the end"

# A live process whose port never answers: false after the tries.
sleep 30 &
PIDS+=($!)
wait_until_answers "$!" "http://127.0.0.1:${ports[2]}/" 3 && fail "a port that never answers counted as ready"
echo "ok"
