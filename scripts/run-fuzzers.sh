#!/usr/bin/env bash
# Runs libFuzzer targets in build-fuzz/fuzz for a bounded time each, one after another
# (`make fuzz`: 60 s each; `make fuzz-ci`: 30 s each).
#   scripts/run-fuzzers.sh [TARGET...]   default: every built *_fuzz target
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_BUILD    build directory (default build-fuzz)
# Each target starts from its checked-in seed corpus (fuzz/corpus/<name>/, copied so the repo is
# not modified) plus what earlier runs found (build-fuzz/corpus/<target>/), with the HTTP
# dictionary where it helps. A crash, leak or timeout fails the run; the reproducer is left in
# build-fuzz/crashes/ for minimizing (-minimize_crash=1) into a regression unit test.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${FUZZ_BUILD:-$ROOT/build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
mkdir -p "$BUILD/crashes" "$BUILD/corpus"

# Target name -> seed corpus folder.
declare -A CORPUS=([request_parser_fuzz]=request [response_parser_fuzz]=response [chunked_fuzz]=chunked
                   [router_fuzz]=router [config_fuzz]=config [cidr_host_fuzz]=cidr_host
                   [proxy_replay_fuzz]=proxy_replay [http_differential_fuzz]=differential
                   [http2_session_fuzz]=http2_session [http2_client_fuzz]=http2_client)
# Per-input time limit (s): the replay target does real socket I/O with timeouts up to 3 s.
declare -A TIMEOUT=([proxy_replay_fuzz]=30)
# Largest input (bytes): keeps one execution short.
declare -A MAX_LEN=([proxy_replay_fuzz]=8192 [config_fuzz]=8192)

if [[ $# -gt 0 ]]; then
  targets=()
  for name in "$@"; do targets+=("$BUILD/fuzz/$name"); done
else
  targets=("$BUILD"/fuzz/*_fuzz)
fi

status=0
for target in "${targets[@]}"; do
  name=$(basename "$target")
  if [[ ! -x $target ]]; then
    echo "!! $name is not built (cmake --build $BUILD --target fuzzers)"
    status=1
    continue
  fi
  seeds=${CORPUS[$name]:-${name%_fuzz}}
  work="$BUILD/corpus/$name"
  mkdir -p "$work"
  [[ -d "$ROOT/fuzz/corpus/$seeds" ]] && cp -n "$ROOT/fuzz/corpus/$seeds"/* "$work"/ 2>/dev/null || true
  options=(-max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -timeout="${TIMEOUT[$name]:-10}"
           -rss_limit_mb=2048 -artifact_prefix="$BUILD/crashes/$name-")
  [[ -n ${MAX_LEN[$name]:-} ]] && options+=(-max_len="${MAX_LEN[$name]}")
  [[ $name != config_fuzz ]] && options+=(-dict="$ROOT/fuzz/http.dict")
  echo "== $name: ${SECONDS_PER_TARGET}s"
  if ! "$target" "${options[@]}" "$work" >"$BUILD/$name.out" 2>"$BUILD/$name.log"; then
    echo "!! $name found a crash (see $BUILD/$name.log and $BUILD/crashes/)"
    grep -E '^==[0-9]+==|^SUMMARY|proxy_replay_fuzz:|differential:' "$BUILD/$name.log" | head -5 || true
    status=1
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$BUILD/$name.log" || true
  grep -E '^#[0-9]+ +DONE' "$BUILD/$name.log" | tail -1 || true
done
exit $status
